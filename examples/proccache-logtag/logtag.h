/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proccache-logtag: what the receive loop (main.c) and the record queue
 * and writer (records.c) share.
 */
#ifndef LOGTAG_H
#define LOGTAG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <proccache/proccache.h>

#include "../proccache-snoop/jsonw.h"

/* One datagram as received, with what the kernel said about it. */
struct record {
	uint64_t at;       /* kernel receive time, ns of CLOCK_BOOTTIME */
	uint64_t wall_ns;  /* the same, ns of CLOCK_REALTIME */
	uint64_t seen;     /* when this program read it, CLOCK_BOOTTIME */
	pid_t pid;         /* SCM_CREDENTIALS; 0 when absent */
	uid_t uid;
	gid_t gid;
	bool creds, truncated;
	bool waited; /* its sender was not found at the first look */
	size_t len;
	char data[];
};

struct counters {
	uint64_t received, written, malformed, truncated, untagged, late,
		dropped, kernel_drops;
};

struct logtag {
	struct proccache *pc;
	struct proccache_users *users; /* user names for the tags */
	struct proccache_tags_opts tags;
	FILE *out;
	/* A record waits this long after it was read for the sensor to
	 * deliver what the kernel said before it was sent. */
	uint64_t lag_ns;
	uint64_t wait_ns; /* and this long for a sender the cache lacks */
	/* FIFO of records not written yet, oldest first */
	struct record **q;
	size_t q_cap, q_head, q_len;
	char *tagbuf;
	size_t tagbuf_cap;
	struct jw jw;
	struct counters n;
};

int lt_init(struct logtag *lt, size_t max_pending);
void lt_fini(struct logtag *lt);
/* Queue @r (taking it); when the queue is full its oldest record is
 * written first, tagged or not. */
void lt_push(struct logtag *lt, struct record *r);
/* Write the records whose time has come: tagged once the lag passed, or
 * untagged once the wait for their sender ran out (all of them when
 * @flush). Returns the ns until the next is due, or 0 when none waits. */
uint64_t lt_process(struct logtag *lt, uint64_t now, bool flush);

uint64_t lt_boottime_ns(void);

#endif
