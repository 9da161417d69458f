/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proccache-snoop: shared state of the monitor and its two output formats.
 * Everything here runs on the one thread that drives the sensor (the cache's
 * ingest thread), so nothing is locked.
 */
#ifndef SNOOP_SNOOP_H
#define SNOOP_SNOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <proccache/proccache.h>

#include "jsonw.h"

/** Number of namespace kinds in enum proccache_ns_type. */
#define SNOOP_NS_COUNT (PROCCACHE_NS_USER + 1)

struct snoop {
	struct proccache *pc;
	FILE *out;
	bool json;
	bool ancestors;
	const char *proc_prefix;
	/** CLOCK_REALTIME - CLOCK_BOOTTIME in ns, measured once at start. */
	int64_t boot_to_wall_ns;
	/** Namespace inodes of pid 1; 0 while unknown. */
	uint32_t host_ns[SNOOP_NS_COUNT];
	/** host_ns was completed from the cache and is final. */
	bool host_ns_final;
	bool table_header_done;
	struct jw jw;
};

/* common.c ---------------------------------------------------------------- */

/** Measure the boot-to-wall offset and read pid 1's namespaces from /proc. */
void snoop_init(struct snoop *s);
void snoop_fini(struct snoop *s);
/** Now, in ns of CLOCK_BOOTTIME. */
uint64_t snoop_boot_now(void);
/** RFC 3339 UTC with nanoseconds of a CLOCK_BOOTTIME instant. */
#define SNOOP_TIME_MAX 40
void snoop_format_time(const struct snoop *s, uint64_t boot_ns, char *buf,
		       size_t len);
/** Local wall clock "HH:MM:SS.mmm" of a CLOCK_BOOTTIME instant. */
void snoop_format_clock(const struct snoop *s, uint64_t boot_ns, char *buf,
			size_t len);
/** Tetragon's names of @flags, space separated ("" if none). */
#define SNOOP_FLAGS_MAX 96
void snoop_format_flags(uint32_t flags, char *buf, size_t len);
/** "SIGKILL", "SIGRTMIN+3", "SIG<n>"; "" for 0. */
#define SNOOP_SIGNAL_MAX 24
void snoop_format_signal(int sig, char *buf, size_t len);
/** The sensor runs and its /proc scan is cached: settle pid 1's namespaces. */
void snoop_started(struct snoop *s);
/** Whether @inum is pid 1's namespace of kind @type. */
bool snoop_ns_is_host(struct snoop *s, enum proccache_ns_type type,
		      uint32_t inum);
/** Name of a namespace kind as Tetragon spells it ("pid_for_children"). */
const char *snoop_ns_name(enum proccache_ns_type type);

/**
 * The full chain of ancestors of @p, nearest (the parent) first, as counted
 * references in a malloc'ed array stored in @ret (NULL when empty).
 * @return the count, or a negative errno.
 */
int snoop_ancestors(struct snoop *s, const struct proccache_process *p,
		    struct proccache_process ***ret);
void snoop_ancestors_put(struct proccache_process **a, int n);

/**
 * Decode the args of @p after argv[0] into one line (proccache_args_decode).
 * @return a malloc'ed string, or NULL on ENOMEM.
 */
char *snoop_arguments(const struct proccache_process *p);

/* json.c, table.c: one line per event; a negative errno on failure -------- */

int snoop_json_event(struct snoop *s, const struct proccache_event *ev,
		     const struct proccache_process *p,
		     const struct proccache_process *parent);
int snoop_table_event(struct snoop *s, const struct proccache_event *ev,
		      const struct proccache_process *p,
		      const struct proccache_process *parent);

#endif /* SNOOP_SNOOP_H */
