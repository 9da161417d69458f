/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sensors: what every backend shares (the public proccache__sensor_* API,
 * backend selection, counters and the library-owned thread). A backend
 * embeds struct pc_sensor first and fills in its ops.
 *
 * Concurrency: everything but the counters belongs to the ingest thread
 * (the host's, or the library thread while it runs). The counters are
 * written by the ingest thread and read by any thread.
 */
#ifndef PROCCACHE_SENSOR_PRIV_H
#define PROCCACHE_SENSOR_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proccache/proccache.h"

/* The validated proccache_sensor_opts, defaults applied. */
struct pc_sensor_cfg {
	enum proccache_backend backend;
	size_t ring_size;
	size_t args_max;
	const char *proc_prefix; /* never NULL */
	const char *pin_path;    /* NULL: no pin */
	uint64_t reconcile_interval_ns; /* 0: no periodic reconciliation */
	size_t netlink_rcvbuf;   /* 0: PC_NL_RCVBUF_DEFAULT */
	uint64_t wakeup_ns;      /* 0: PC_WAKE_NS (bpf/events.h) */
};

#define PC_SENSOR_RING_DEFAULT ((size_t)16 << 20)
#define PC_SENSOR_ARGS_DEFAULT ((size_t)32 << 10)
#define PC_SENSOR_ARGS_LIMIT ((size_t)256 << 10)

struct pc_sensor;

struct pc_sensor_ops {
	const char *name; /* proccache__sensor_backend() */
	/* pollable fd: readable when records are pending */
	int (*fd)(struct pc_sensor *s);
	/* ingest every pending record; records handled or negative */
	int (*consume)(struct pc_sensor *s);
	/* -ENODEV when the backend has no exec map */
	int (*exec_map_fd)(const struct pc_sensor *s);
	/* stop producing records (pending ones stay consumable) */
	void (*detach)(struct pc_sensor *s);
	/* free everything */
	void (*destroy)(struct pc_sensor *s);
	/* optional: ingest what the backend decoded but holds back (the
	 * netlink sensor's settle window); count or negative */
	int (*flush)(struct pc_sensor *s);
};

struct pc_sensor_counters {
	_Atomic uint64_t records, malformed, lost, scanned;
	/* netlink: messages not from the kernel; execs whose image was gone */
	_Atomic uint64_t foreign, vanished;
	/* reconcile.c */
	_Atomic uint64_t reconciliations, reconcile_exited, reconcile_added,
		reconcile_execs, reconcile_ns;
};

struct pc_sensor {
	const struct pc_sensor_ops *ops;
	struct proccache *pc;
	struct pc_sensor_counters stats;
	enum proccache_backend backend; /* the one running, set by sensor.c */
	int fallback_errno; /* auto: why BPF was not used (negative errno) */
	uint32_t bpf_variant; /* enum proccache_bpf_variant, set by the backend */

	/* the library thread, see proccache__sensor_thread_start() */
	pthread_t thread;
	bool thread_running;
	int stop_fd;    /* eventfd that wakes the thread to stop */
	int thread_err; /* first error it met; read after join */
};

/* Counters: the ingest thread is the only one that adds. */
static inline void pc_sensor_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter,
			      atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Initialise the common part; @ops and @pc are borrowed. */
void pc_sensor_init(struct pc_sensor *s, const struct pc_sensor_ops *ops,
		    struct proccache *pc);

/* Sensor teardown from proccache__free(); a no-op without a sensor. */
void pc_sensor_free(struct proccache *pc);

#endif
