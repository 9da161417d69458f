/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reconciliation: bring the cache back in line with /proc after a sensor
 * lost events (at once) and, if the host asks, periodically. Also the
 * rules that relate what /proc says to the cache's keys, shared with the
 * netlink sensor. Ingest thread only. See docs/reconcile.md.
 */
#ifndef PROCCACHE_RECONCILE_H
#define PROCCACHE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "proccache/proccache.h"
#include "procfs.h"
#include "sensor.h"

/* Reconciliations after loss start at most this often. */
#define PC_RECONCILE_MIN_GAP_NS (250ull * 1000 * 1000)

/* ---- /proc times and the cache's keys ------------------------------------ */

/*
 * The live entry of @pid with a reference (NULL if none), for the ingest
 * thread: not counted as a host lookup.
 */
struct proccache_process *pc_live_ref(struct proccache *pc, uint32_t pid);

/*
 * A process read from /proc names its parent by pid and start time; the
 * cache keys the parent's current image by its exec time. Point
 * @ev->parent at the parent's live entry when that is the same process.
 */
void pc_resolve_parent(struct proccache *pc, struct proccache_event *ev);

/* Do two reads show the same image content: binary, its inode, args? */
bool pc_same_image(const struct pc_proc_info *a, const struct pc_proc_info *b);

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

/* ---- the sensor hook ------------------------------------------------------ */

/*
 * Put reconciliation around a started sensor: its ops are replaced by ones
 * that call the backend's and then reconcile after loss (a full pass, at
 * most every PC_RECONCILE_MIN_GAP_NS) and every cfg->reconcile_interval_ns
 * (a light pass). The sensor's fd becomes an epoll set of the backend's fd
 * and a timer, so a host loop wakes for both. Undone by the sensor's
 * destroy. 0 or negative errno.
 */
int pc_reconcile_wrap(struct pc_sensor *s, const struct pc_sensor_cfg *cfg);

#endif
