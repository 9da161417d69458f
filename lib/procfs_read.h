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
#include <sys/types.h>
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
	uint64_t cgroot_ino; /* its inode when known (a reader's), else 0 */
	int procfd; /* the prefix opened once (a reader's), or -1: by path */
	/* the prefix is a procfs: a read shorter than asked is the end of
	 * the file, and a pread at 0 makes the file anew. A hand-made tree
	 * is read to EOF, and a file is opened again to read it again. */
	bool real;
};


/* Normalise @prefix (NULL or "" = "/proc"); find the cgroup2 mount for
 * cgroup ids when @cgroups. procfd is -1. 0 or -ENAMETOOLONG. */
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

/* The one-file reads (procfs_file.c). */

/* Read the file behind @fd from @off into @buf, cut at @len bytes; on a
 * procfs (@real) a short read is the end, pread is used and a read at 0
 * makes the file anew; else read to EOF from where @fd stands. The length
 * or -errno. */
ssize_t pc_procfs_read_fd(int fd, char *buf, size_t len, bool real,
			  size_t off);

/* Read @name under @dirfd into @buf, NUL terminated, cut at @len - 1. The
 * length or -errno. */
ssize_t pc_procfs_read_text(const struct pc_procfs_ctx *ctx, int dirfd,
			    const char *name, char *buf, size_t len);

/* readlinkat() into @buf, NUL terminated; *@truncated when the target may
 * have been cut. The length or -errno. */
ssize_t pc_procfs_read_link(int dirfd, const char *name, char *buf,
			    size_t len, bool *truncated);

/* stat under @dirfd opened, parsed from an open fd, and parsed again at
 * the end of a read (through the same fd on a procfs, else opened anew):
 * as pc_procfs_read_stat(). */
int pc_procfs_open_stat(int dirfd);
int pc_procfs_stat_from_fd(int fd, uint32_t pid, bool real,
			   struct pc_proc_stat *st);
int pc_procfs_restat(const struct pc_procfs_ctx *ctx, int dirfd, int statfd,
		     uint32_t pid, struct pc_proc_stat *st);

/* The start time (ns) and parent of @pid from "<pid>/stat" opened by
 * name: one open, one read, one close. -EINVAL (not logged) if malformed;
 * @ret_ppid may be NULL. */
int pc_procfs_start_time_at(const struct pc_procfs_ctx *ctx, uint32_t pid,
			    uint64_t *ret_ns, uint32_t *ret_ppid);

struct pc_procfs_reader {
	struct pc_procfs_ctx ctx;
};

/* pc_procfs_read_env() under a prepared context. */
int pc_procfs_read_at(const struct pc_procfs_ctx *ctx, uint32_t pid,
		      const struct pc_procfs_caps *caps, struct pc_proc_info *ret);

#endif
