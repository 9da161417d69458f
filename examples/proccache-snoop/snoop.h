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

enum snoop_format {
	SNOOP_FORMAT_TABLE,
	SNOOP_FORMAT_TETRAGON, /* strict GetEventsResponse; --json */
	SNOOP_FORMAT_ECS,      /* Elastic Common Schema documents */
};

/** What ECS's host.* says, read once at start (ecs.c). */
struct snoop_host {
	char hostname[256];
	char kernel[80];
	char arch[80];
	char boot_id[64];
	char os_name[128];
	char os_platform[64];
	char os_version[64];
	char os_family[64];
};

struct snoop_refcnt;

struct snoop {
	struct proccache *pc;
	FILE *out;
	enum snoop_format format;
	/** --extensions: Tetragon output plus what Tetragon lacks. */
	bool extensions;
	bool ancestors;
	const char *proc_prefix;
	/** User and group names; NULL if it could not start (names omitted). */
	struct proccache_users *users;
	/** Tetragon's refcnt of the entries (refcnt.c). */
	struct snoop_refcnt *refcnt;
	struct snoop_host host;
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
/** The same as protobuf's JSON mapping writes a Timestamp: 0, 3, 6 or 9
 * fractional digits, as few as hold the value. */
void snoop_format_proto_time(const struct snoop *s, uint64_t boot_ns,
			     char *buf, size_t len);
/** Local wall clock "HH:MM:SS.mmm" of a CLOCK_BOOTTIME instant. */
void snoop_format_clock(const struct snoop *s, uint64_t boot_ns, char *buf,
			size_t len);
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
/** Each argument of @p in turn (argv[0] first when @from_argv0), split on
 * the NULs; a last one cut at the capture limit ends at the buffer's end.
 * Returns false when there is none left. Start with *off = 0. */
bool snoop_next_arg(const struct proccache_process *p, bool from_argv0,
		    size_t *off, const char **arg, size_t *len);
/** Each "NAME=value" of @p's captured environment in turn, as
 * snoop_next_arg(); none unless the cache keeps environments (--env-max). */
bool snoop_next_env(const struct proccache_process *p, size_t *off,
		    const char **var, size_t *len);
/** The name of user @uid (group @gid) into @buf; false when not known
 * (yet): the caller leaves it out. Never blocks. */
bool snoop_user_name(struct snoop *s, uint32_t uid, char *buf, size_t len);
bool snoop_group_name(struct snoop *s, uint32_t gid, char *buf, size_t len);
/** The event's time: the exit time, the entry's ktime, else now. */
uint64_t snoop_event_time(const struct proccache_event *ev,
			  const struct proccache_process *p);

/* refcnt.c: Tetragon's refcnt, kept from the events the snoop sees --------- */

struct snoop_refcnt *snoop_refcnt_new(void);
void snoop_refcnt_free(struct snoop_refcnt *r);
/** Count the event in (call for every exec, clone and exit, in order). */
void snoop_refcnt_event(struct snoop_refcnt *r, const struct proccache_event *ev,
			const struct proccache_process *p);
/** The references Tetragon's process cache would hold on @p. */
uint32_t snoop_refcnt_get(const struct snoop_refcnt *r,
			  const struct proccache_process *p);

/* tetragon.c, ecs.c, table.c: one line per event; negative errno on failure */

int snoop_tetragon_event(struct snoop *s, const struct proccache_event *ev,
			 const struct proccache_process *p,
			 const struct proccache_process *parent);
/** Read host.* for ECS (uname, os-release, boot id). */
void snoop_ecs_init(struct snoop *s);
int snoop_ecs_event(struct snoop *s, const struct proccache_event *ev,
		    const struct proccache_process *p,
		    const struct proccache_process *parent);
int snoop_table_event(struct snoop *s, const struct proccache_event *ev,
		      const struct proccache_process *p,
		      const struct proccache_process *parent);

#endif /* SNOOP_SNOOP_H */
