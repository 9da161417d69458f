/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor's settle logic: decoded events wait in a FIFO so that
 * an exec's /proc read is attributed to it only when it provably
 * describes its image, and a main-thread exit that a later exec of the
 * same process explains is dropped. Pure: no clock, no I/O; the caller
 * passes the time. Ingest thread only. See docs/sensor-netlink.md, "Args
 * never go to the wrong image".
 */
#ifndef PROCCACHE_NETLINK_SETTLE_H
#define PROCCACHE_NETLINK_SETTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "netlink_wire.h"
#include "procfs.h"

/*
 * An exec's /proc read is attributed to it only once this long has passed
 * after the read without news of a later exec of the same process (the
 * kernel installs a new image a little before it reports the exec).
 */
#define PC_NL_SETTLE_NS (2ull * 1000 * 1000)
/* An exec waiting on a chain of quick re-execs is decided (conservatively)
 * after this long at the latest. */
#define PC_NL_HOLD_MAX_NS (100ull * 1000 * 1000)

enum pc_nl_kind { PC_NL_CLONE, PC_NL_EXEC, PC_NL_EXIT, PC_NL_CREDS, PC_NL_LOST };

/* One event waiting in the FIFO, with what /proc said when it arrived.
 * Times are CLOCK_MONOTONIC ns unless named otherwise. */
struct pc_nl_item {
	struct pc_nl_item *next;       /* FIFO order */
	struct pc_nl_item *later_exec; /* exec: the next exec of the same pid */
	uint64_t seqno;                /* FIFO position */
	enum pc_nl_kind kind;
	struct pc_nl_event e;
	uint64_t boot_ts;     /* e.ts as CLOCK_BOOTTIME */
	uint64_t start_ns;    /* clone: the child's start time (BOOTTIME) */
	uint64_t read_start;  /* exec: around the /proc read */
	uint64_t read_end;
	int read_err;         /* exec, creds: 0 or the read's -errno */
	/* exec: a later exec of the process was received before the read,
	 * so only its start time and parent were read (info flagged
	 * VANISHED); its verdict is PC_NL_NO_IMAGE */
	bool overtaken;
	uint64_t lost;        /* lost: how many */
	struct pc_proc_info info; /* exec, creds: the read */
};

/* Does an exec's read describe its image? */
enum pc_nl_verdict { PC_NL_WAIT, PC_NL_IMAGE, PC_NL_NO_IMAGE };

struct pc_nl_fifo {
	struct pc_nl_item *head, *tail;
	uint64_t next_seqno;
	/* up to which time every event sent has been received, or nearly:
	 * see pc_nl_fifo_seen() */
	uint64_t seen_until;
};

/* A zeroed item of @kind; NULL on ENOMEM. */
struct pc_nl_item *pc_nl_item_new(enum pc_nl_kind kind);
void pc_nl_item_free(struct pc_nl_item *it);

/* Queue @it, linking an exec to the previous queued exec of its process
 * (unless the pid was born again in between). */
void pc_nl_fifo_push(struct pc_nl_fifo *q, struct pc_nl_item *it);

/* Everything sent up to @t has been received: the kernel stamp of an event
 * just taken, or the start of a receive that emptied the socket. */
void pc_nl_fifo_seen(struct pc_nl_fifo *q, uint64_t t);

/*
 * The FIFO head, popped, if it is decided at @now (@force: decide
 * everything at once, as when the sensor stops) and numbered at most
 * @upto; its verdict in *@ret_verdict (an exec's; PC_NL_IMAGE for other
 * kinds). Main-thread exits that a later exec explains are dropped on the
 * way. NULL when the head must wait: *@ret_wake is then when to ask again
 * (0: when news arrives).
 */
struct pc_nl_item *pc_nl_fifo_next(struct pc_nl_fifo *q, uint64_t now,
				   bool force, uint64_t upto,
				   enum pc_nl_verdict *ret_verdict,
				   uint64_t *ret_wake);

/* Free everything queued. */
void pc_nl_fifo_clear(struct pc_nl_fifo *q);

#endif
