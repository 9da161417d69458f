/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a sensor backend is to the sensor runner (sensor.c): a pollable fd,
 * a consume call that turns pending kernel records into ingest events, and
 * the few properties the runner needs (when to be called again without
 * news on the fd, whether records may gather). Backends (sensor_bpf.c,
 * sensor_netlink.c) embed struct pc_backend first and share the helpers
 * below: one ingest wrapper, one seeding scan, one set of counters.
 *
 * Layer: backends. Backends translate kernel facts into events and never
 * read the cache; they know nothing of the runner or of reconciliation.
 *
 * Concurrency: everything but the counters belongs to the ingest thread.
 * The counters are written by the ingest thread and read by any thread.
 */
#ifndef PROCCACHE_SENSOR_BACKEND_H
#define PROCCACHE_SENSOR_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proccache/proccache.h"
#include "clock.h"
#include "procfs.h"

/* The validated proccache_sensor_opts, defaults applied. The strings are
 * the runner's copies: valid as long as the backend. */
struct pc_sensor_cfg {
	enum proccache_backend backend;
	size_t ring_size;
	size_t args_max;
	const char *proc_prefix; /* never NULL */
	const char *pin_path;    /* NULL: no pin */
	uint64_t reconcile_interval_ns; /* 0: no periodic reconciliation */
	size_t netlink_rcvbuf;   /* 0: PC_NL_RCVBUF_DEFAULT */
	uint64_t wakeup_ns;      /* 0: PC_WAKE_NS (bpf/events.h) */
	uint32_t netlink_skip;   /* enum proccache_field not read at an exec */
	size_t env_max;          /* the cache's proccache_opts.env_max; 0: none */
};

#define PC_SENSOR_RING_DEFAULT ((size_t)16 << 20)
#define PC_SENSOR_ARGS_DEFAULT ((size_t)32 << 10)
#define PC_SENSOR_ARGS_LIMIT ((size_t)256 << 10)

struct pc_backend;

struct pc_backend_ops {
	/* readable when records are pending; a plain fd the runner adds to
	 * its one epoll set (never an epoll set itself) */
	int (*fd)(const struct pc_backend *b);
	/* ingest every pending record; records handled or negative */
	int (*consume)(struct pc_backend *b);
	/* optional: CLOCK_MONOTONIC ns at which consume must run although
	 * the fd stayed quiet (records held back to settle); 0 = never */
	uint64_t (*wake_at)(const struct pc_backend *b);
	/* optional: ingest what is held back, waiting out the settle time;
	 * count or negative. Reconciliation calls it before reading /proc. */
	int (*flush)(struct pc_backend *b);
	/* -ENODEV when the backend has no exec map */
	int (*exec_map_fd)(const struct pc_backend *b);
	/* stop producing records (pending ones stay consumable; consume
	 * decides everything it holds from now on) */
	void (*detach)(struct pc_backend *b);
	/* free everything */
	void (*destroy)(struct pc_backend *b);
	/* records may gather for a few ms before a consume under a storm
	 * (one wake-up per batch); false for a backend whose consume reads
	 * /proc and must run as soon as records arrive */
	bool batches;
};

struct pc_backend_counters {
	_Atomic uint64_t records, malformed, lost, scanned;
	/* netlink: messages not from the kernel; execs whose image was gone */
	_Atomic uint64_t foreign, vanished;
	/* netlink: /proc reads for events, and the ns they took */
	_Atomic uint64_t procfs_reads, procfs_ns;
};

struct pc_backend {
	const struct pc_backend_ops *ops;
	struct proccache *pc;
	struct pc_backend_counters stats;
	/* enum proccache_bpf_variant the backend runs (NONE on netlink) */
	uint32_t bpf_variant;
};

/* Counters: the ingest thread is the only one that adds. */
static inline void pc_counter_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter,
			      atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* A /proc read for an event, begun at @t0 (CLOCK_MONOTONIC), is over:
 * count it. Returns the time it ended. */
static inline uint64_t pc_backend_read_done(struct pc_backend *b, uint64_t t0)
{
	uint64_t t1 = pc_clock_ns(CLOCK_MONOTONIC);

	pc_counter_add(&b->stats.procfs_reads, 1);
	pc_counter_add(&b->stats.procfs_ns, t1 > t0 ? t1 - t0 : 0);
	return t1;
}

static inline uint64_t pc_counter_get(const _Atomic uint64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

/* Initialise the common part; @ops and @pc are borrowed. */
void pc_backend_init(struct pc_backend *b, const struct pc_backend_ops *ops,
		     struct proccache *pc);

/*
 * Ingest a decoded event. A full cache or an event the core refuses
 * (counted as malformed here, and by the core) is no reason to stop
 * feeding it: 0. A subscriber's error or a lack of memory stops
 * consumption: negative.
 */
int pc_backend_ingest(struct pc_backend *b, const struct proccache_event *ev);

/*
 * Seed the cache from a parents-first scan of cfg->proc_prefix: every
 * process that started before @since (CLOCK_BOOTTIME; later ones are the
 * events' business) is passed to @also (may be NULL; for the backend's own
 * bookkeeping, its negative return skips the process) and ingested, and
 * counted as scanned. 0 or negative errno (logged).
 */
int pc_backend_seed(struct pc_backend *b, const struct pc_sensor_cfg *cfg,
		    uint64_t since,
		    int (*also)(struct pc_backend *b, const struct pc_proc_info *info));

#endif
