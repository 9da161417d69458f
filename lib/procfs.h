/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one /proc reader: turns /proc/<pid> into an EXEC event flagged
 * PROCCACHE_F_PROCFS, and scans every process parents-first. Used by the
 * sensors' start-up scan and by reconciliation. Race rules: docs/procfs.md.
 *
 * Thread-safe: no shared state; each call works on its own buffers.
 */
#ifndef PROCCACHE_PROCFS_H
#define PROCCACHE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proccache/proccache.h"

/* args_max used when a caller passes 0, as in proccache_sensor_opts. */
#define PC_PROCFS_ARGS_DEFAULT (32u * 1024)

/* Extra reads of a process seen re-exec'ing mid-read before giving up with
 * -EAGAIN. */
#define PC_PROCFS_READ_RETRIES 3

/* A process read from /proc, ready to ingest as an EXEC event with
 * PROCCACHE_F_PROCFS. */
struct pc_proc_info {
	/* type EXEC, sz set; flags include PROCFS, EXECVE unless the process
	 * never exec'd (PF_FORKNOEXEC); binary/args/cwd/container_id point at
	 * the owned strings below */
	struct proccache_event ev;
	/* also in ev.parent.pid; ev.parent.ktime is the parent's start time
	 * in ns when it could be read and is plausible, else 0 */
	uint32_t ppid;
	/* owned, never NULL after a successful read ("" when unknown); a
	 * consumer may steal one by setting it to NULL */
	char *binary, *args, *cwd, *container_id;
	size_t args_len;
	/* comm from stat, for logs and diagnostics */
	char comm[64];
	/* owned; NULL unless the environment was asked for, then "" when it
	 * could not be read; NUL terminated past env_len */
	char *env;
	size_t env_len;
};

/* What one read captures: args (0 = PC_PROCFS_ARGS_DEFAULT) and
 * environment (0 = none: environ is not even opened) bytes. */
struct pc_procfs_caps {
	size_t args_max;
	size_t env_max;
	/* enum proccache_field groups not read; they go into ev.unknown */
	uint32_t skip;
};

/*
 * Read /proc/<pid> under @prefix (NULL = "/proc"); @args_max caps the
 * captured args (0 = PC_PROCFS_ARGS_DEFAULT).
 * Returns 0 and fills @ret; -ENOENT if the process is gone (or its pid was
 * reused while reading); -ESRCH if @pid is a thread, not a thread-group
 * leader; -EAGAIN if it kept re-exec'ing; other -errno. @ret is untouched
 * on failure. Fields that vanish mid-read are left empty and the event is
 * flagged PROCCACHE_F_VANISHED.
 */
int pc_procfs_read(const char *prefix, uint32_t pid, size_t args_max,
		   struct pc_proc_info *ret);

/* pc_procfs_read() that also reads /proc/<pid>/environ, inside the same
 * race-checked read, at most @env_max bytes (0: not read); a cut sets
 * PROCCACHE_F_ENV_TRUNC. An environ the reader may not see is left
 * empty. */
int pc_procfs_read_env(const char *prefix, uint32_t pid, size_t args_max,
		       size_t env_max, struct pc_proc_info *ret);

/* Free the owned strings and zero @info. NULL is a no-op. */
void pc_proc_info_release(struct pc_proc_info *info);

/* Do two reads show the same image content: binary, its inode, args? */
bool pc_proc_info_same_image(const struct pc_proc_info *a,
			     const struct pc_proc_info *b);

/* pc_procfs_read() flag: leave ev.parent.ktime 0, the caller finds the
 * parent's start time itself (pc_procfs_reader_start_time()). */
#define PC_PROCFS_READ_NO_PARENT 1u

/*
 * A reader for many reads under one prefix (the netlink sensor's, one read
 * per event): the prefix opened once, every pid directory opened relative
 * to it, the cgroup2 mount found once. Reads are those of pc_procfs_read()
 * and pc_procfs_start_time(). One thread at a time.
 */
struct pc_procfs_reader;

/* 0 and *@ret set; -ENOMEM, -ENAMETOOLONG, or open()'s -errno. */
int pc_procfs_reader_new(const char *prefix, struct pc_procfs_reader **ret);
void pc_procfs_reader_free(struct pc_procfs_reader *r);

/* pc_procfs_read_env() through @r, capturing what @caps says (NULL: args
 * at the default cap, no environment); @flags: PC_PROCFS_READ_*. */
int pc_procfs_reader_read(struct pc_procfs_reader *r, uint32_t pid,
			  const struct pc_procfs_caps *caps, unsigned int flags,
			  struct pc_proc_info *ret);

/* pc_procfs_start_time() through @r: one open, one read, one close; the
 * parent's pid too in *@ret_ppid unless NULL. */
int pc_procfs_reader_start_time(struct pc_procfs_reader *r, uint32_t pid,
				uint64_t *ret_ns, uint32_t *ret_ppid);

/*
 * Scan callback. @info is valid for the call only and released after it
 * returns (steal strings by setting them to NULL). A negative return stops
 * the scan and is returned by pc_procfs_scan().
 */
typedef int (*pc_procfs_scan_fn)(struct pc_proc_info *info, void *userdata);

/*
 * Call @fn for every process (thread-group leaders only) under @prefix,
 * parents before children: ordered by start time, then pid, with a parent
 * moved before its child when both started in the same clock tick; a pid
 * reused during the scan comes last (docs/procfs.md). Processes that
 * vanish meanwhile are skipped.
 * Returns the number of processes passed to @fn, @fn's negative return,
 * -ENOMEM, or -errno if @prefix cannot be listed.
 */
int pc_procfs_scan(const char *prefix, size_t args_max, pc_procfs_scan_fn fn,
		   void *userdata);

/* pc_procfs_scan() reading each environment too, as pc_procfs_read_env(). */
int pc_procfs_scan_env(const char *prefix, size_t args_max, size_t env_max,
		       pc_procfs_scan_fn fn, void *userdata);

/*
 * Start time of @pid in ns of CLOCK_BOOTTIME, from stat field 22 (clock
 * ticks since boot). 0 and *@ret_ns set; -ENOENT if gone; other -errno.
 */
int pc_procfs_start_time(const char *prefix, uint32_t pid, uint64_t *ret_ns);

/* Is the process (@pid, @start_ns) still running: listed with that start
 * time (tick-equal) and neither a zombie nor dying? One open, one read,
 * one close; false also when stat cannot be read (a malformed one is
 * counted and logged as a rejection). */
bool pc_procfs_running(const char *prefix, uint32_t pid, uint64_t start_ns);

/* Every process under @prefix (NULL = "/proc") with its start time in ns of
 * CLOCK_BOOTTIME, in directory order, without reading anything else; a
 * process that vanishes meanwhile is left out. @fn's negative return stops
 * and is returned. 0 or -errno. */
typedef int (*pc_procfs_list_fn)(uint32_t pid, uint64_t start_ns,
				 void *userdata);
int pc_procfs_list(const char *prefix, pc_procfs_list_fn fn, void *userdata);

/*
 * /proc entries rejected so far by this process's reads, all prefixes and
 * threads together: a pid directory or stat that cannot be opened or
 * parsed, is over-long, holds a NUL or names another pid. Each rejection
 * is logged (warning) with the path and what was wrong; the entry is
 * skipped, never guessed at. Vanished processes, threads (-ESRCH) and
 * processes that kept re-exec'ing (-EAGAIN) are not rejections.
 */
uint64_t pc_procfs_rejected(void);

/*
 * Container id from a cgroup path: the deepest path component that is 64
 * lower-case hex digits, or the longest run of 12 to 64 of them in a
 * docker-, cri-containerd-, crio- or libpod- scope name
 * (conmon scopes excluded). Writes it NUL terminated ("" if none).
 * Returns its length; -EINVAL on bad arguments; -ENOSPC if @len is too
 * small for it.
 */
int pc_container_id_from_cgroup(const char *cgroup_path, char *buf, size_t len);

#endif
