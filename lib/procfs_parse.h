/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of /proc text, pure and thread-safe: what procfs_read.c reads
 * goes through here. Layer: leaves.
 */
#ifndef PROCCACHE_PROCFS_PARSE_H
#define PROCCACHE_PROCFS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proccache/proccache.h"

/* Task flags from include/linux/sched.h, as stat field 9 shows them. */
#define PF_EXITING 0x00000004u
#define PF_FORKNOEXEC 0x00000040u
#define PF_KTHREAD 0x00200000u


/* The fields of /proc/<pid>/stat we use. */
struct pc_proc_stat {
	uint32_t pid, ppid, flags;
	uint32_t pgrp, session, tty_nr; /* in the /proc mount's pid namespace */
	char state;
	uint64_t starttime; /* clock ticks since boot */
	/* Addresses of the current mm: they change on every exec (ASLR, and
	 * arg_end - arg_start is the args size), so they fingerprint the
	 * image. 0 when hidden from us or when the mm is gone. */
	uint64_t startcode, endcode, startstack, arg_start, arg_end, env_end;
	int nfields; /* fields present: older kernels print fewer */
	char comm[64];
};


/* Strict decimal field [s, end) to a number. */
bool pc_parse_u32(const char *s, const char *end, uint32_t *ret);

/*
 * "pid (comm) state ppid ...": one /proc/<pid>/stat line into @st. comm
 * ends at the LAST ')'. Fields past 22 are optional. 0 or -EINVAL.
 */
int pc_parse_stat(const char *line, struct pc_proc_stat *st);

/* Creds, caps and nspid from status text into @ev. -ESRCH if @pid is not
 * the thread-group leader. */
int pc_parse_status(const char *text, uint32_t pid, struct proccache_event *ev);

/* The path of one "id:controllers:path" cgroup line, or NULL. */
const char *pc_cgroup_line_path(const char *line);

/* Does @path climb out of our cgroup namespace ("..")? Then it cannot be
 * resolved in our cgroup mount. */
bool pc_cgroup_path_escapes(const char *path);

#endif
