/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What procfs_read.c shares with procfs_scan.c: the prefix applied in one
 * place, the directory fd of one process, its stat, and the read of one
 * process under a prepared context. The public face of both is procfs.h.
 * Layer: leaves. Thread-safe.
 */
#ifndef PROCCACHE_PROCFS_READ_H
#define PROCCACHE_PROCFS_READ_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procfs.h"
#include "procfs_parse.h"

/* Large enough for stat, status and cgroup of any process we care about;
 * what does not fit is cut and only the lines we parse matter. */
#define TEXT_MAX 16384

struct pc_procfs_ctx {
	char prefix[PATH_MAX];
	char cgroot[PATH_MAX]; /* cgroup2 mount for cgroup ids; "" if none */
};


/* Normalise @prefix (NULL or "" = "/proc"); find the cgroup2 mount for
 * cgroup ids when @cgroups. 0 or -ENAMETOOLONG. */
int pc_procfs_ctx_init(struct pc_procfs_ctx *ctx, const char *prefix,
		       bool cgroups);

/* The one place the prefix is applied: "<prefix>" when @sub is "", else
 * "<prefix>/<sub>". 0 or -ENAMETOOLONG. */
int pc_procfs_path(const struct pc_procfs_ctx *ctx, const char *sub, char *buf,
		   size_t len);

/* A directory fd of /proc/<pid>, bound to that process; -ENOENT if gone. */
int pc_procfs_open_pid(const struct pc_procfs_ctx *ctx, uint32_t pid);

/* Does a read's -errno say that the process exited? */
bool pc_procfs_gone(int err);

/* Read and parse stat of the process behind @dirfd; -ENOENT once gone,
 * -EINVAL if malformed (pc_procfs_stat_problem() says why). */
int pc_procfs_read_stat(int dirfd, uint32_t pid, struct pc_proc_stat *st);

/* What was wrong with the last stat this thread found malformed. */
const char *pc_procfs_stat_problem(void);

/* An entry that lies is skipped, never guessed at: counted in
 * pc_procfs_rejected() and logged with @why. */
void pc_procfs_reject(const struct pc_procfs_ctx *ctx, uint32_t pid,
		      const char *why);

/* pc_procfs_read_env() under a prepared context. */
int pc_procfs_read_at(const struct pc_procfs_ctx *ctx, uint32_t pid,
		      const struct pc_procfs_caps *caps, struct pc_proc_info *ret);

#endif
