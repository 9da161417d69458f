/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reconciliation: bring the cache back in line with /proc after a sensor
 * lost events (at once) and, if the host asks, periodically. A producer of
 * ordinary events like the backends: it reads the cache only through the
 * public queries (proccache__iterate, proccache__lookup_pid) and leaves
 * lineage to ingest. The sensor runner asks it when it is due and runs it.
 * Ingest thread only. See docs/reconcile.md.
 */
#ifndef PROCCACHE_RECONCILE_H
#define PROCCACHE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proccache/proccache.h"

/* Reconciliations after loss start at most this often. */
#define PC_RECONCILE_MIN_GAP_NS (250ull * 1000 * 1000)

/* A pass after loss is followed by one more this long after it ends, for
 * what raced with it: a process it added from /proc that exits with the key
 * of its lost exec has that exit held until the hold expires (5 s by
 * default), and a process it read just before a change is compared only
 * at the next pass, which otherwise waits for the next loss. */
#define PC_RECONCILE_FOLLOWUP_NS (1000ull * 1000 * 1000)

/* ---- one pass ------------------------------------------------------------ */

enum pc_reconcile_mode {
	/* pid list and start times: finds processes gone or new */
	PC_RECONCILE_LIGHT,
	/* every process read in full: also zombies and lost execs */
	PC_RECONCILE_FULL,
};

struct pc_reconcile_result {
	uint32_t exited; /* live entries with no process left: marked exited */
	uint32_t added;  /* processes the cache lacked: added */
	uint32_t execs;  /* processes on another image than cached: re-read */
};

/*
 * Make the cache match /proc under @prefix. @drain (may be NULL) is called
 * before and after reading /proc so that events already reported are in
 * the cache and are not taken for differences; entries or processes newer
 * than the pass are left to the events. Exits are ingested first (flag
 * PROCCACHE_F_EXIT_INFERRED), then additions parents first (flag
 * PROCCACHE_F_PROCFS). Returns 0 and fills @ret, or a negative errno or
 * subscriber value (@ret then counts what was done).
 */
int pc_reconcile_pass(struct proccache *pc, const char *prefix, size_t args_max,
		      enum pc_reconcile_mode mode, int (*drain)(void *),
		      void *drain_userdata, struct pc_reconcile_result *ret);

/* ---- when to run ----------------------------------------------------------- */

/* The schedule: a full pass promptly after loss (at most every
 * PC_RECONCILE_MIN_GAP_NS) and one more PC_RECONCILE_FOLLOWUP_NS after it,
 * a light one every interval_ns if set. Times are CLOCK_MONOTONIC ns. */
struct pc_reconcile {
	const char *prefix; /* borrowed, outlives the schedule */
	size_t args_max;
	uint64_t interval_ns; /* 0: no periodic pass */
	bool pending;         /* a full pass is due: events were lost */
	uint64_t lost_seen;   /* the loss counter when last looked */
	uint64_t loss_seen_at;  /* pending since */
	uint64_t last_end;      /* end of the last pass */
	uint64_t followup_at;   /* 0: none; the full pass after a loss's */
	uint64_t next_periodic; /* 0: off */
};

/* What one pass did, for the caller's counters. */
struct pc_reconcile_report {
	struct pc_reconcile_result res;
	uint64_t ns; /* how long it took */
};

/* Start the schedule at @now with the loss counter at @lost. */
void pc_reconcile_init(struct pc_reconcile *r, const char *prefix,
		       size_t args_max, uint64_t interval_ns, uint64_t lost,
		       uint64_t now);

/* The loss counter is @lost at @now: a loss newer than the last look
 * makes a full pass due. */
void pc_reconcile_note_loss(struct pc_reconcile *r, uint64_t lost, uint64_t now);

/* When the next pass is due; 0 if none is. */
uint64_t pc_reconcile_due_at(const struct pc_reconcile *r);

/*
 * Run the pass due at @now on @pc, if any (@drain as in
 * pc_reconcile_pass()). Returns 0 when none was due, 1 when one ran and
 * fills @ret, or a negative errno or subscriber value (@ret filled too).
 * Losses counted meanwhile are not known here: call
 * pc_reconcile_note_loss() again after it.
 */
int pc_reconcile_run_due(struct pc_reconcile *r, struct proccache *pc,
			 uint64_t now, int (*drain)(void *), void *drain_userdata,
			 struct pc_reconcile_report *ret);

#endif
