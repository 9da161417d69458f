/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file sensor.h
 * @brief Kernel sensors that feed a proccache: BPF tracepoints or the netlink
 * proc connector. Included by proccache/proccache.h.
 *
 * A started sensor makes the thread that drives it the cache's ingest
 * thread: either the host's own loop (proccache__sensor_fd() in its epoll set
 * plus proccache__sensor_consume()), or a thread the library owns
 * (proccache__sensor_thread_start()). Nothing process-wide (rlimits, signals,
 * libbpf's global print callback outside library calls) is changed.
 */
#ifndef PROCCACHE_SENSOR_H
#define PROCCACHE_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef PROCCACHE_API
#define PROCCACHE_API __attribute__((visibility("default")))
#endif

struct proccache;

/** @brief Which sensor feeds the cache. */
enum proccache_backend {
	PROCCACHE_BACKEND_AUTO = 0,    /**< BPF if it loads, else netlink */
	PROCCACHE_BACKEND_BPF = 1,     /**< BPF tracepoints; fail if not possible */
	PROCCACHE_BACKEND_NETLINK = 2, /**< proc connector; fail if not possible */
};

/**
 * @brief Which BPF program set the BPF backend loaded: the loader probes the
 * running kernel and takes the first set it supports (docs/sensor-bpf.md).
 */
enum proccache_bpf_variant {
	PROCCACHE_BPF_VARIANT_NONE = 0,       /**< not the BPF backend */
	PROCCACHE_BPF_VARIANT_TP_BTF_TIMER = 1, /**< tp_btf, deferred wake-ups (BPF timers, 5.15+) */
	PROCCACHE_BPF_VARIANT_TP_BTF = 2,     /**< tp_btf, the kernel's wake-up per record */
	PROCCACHE_BPF_VARIANT_TRACEPOINT = 3, /**< classic tracepoints, wake-up per record */
};

/** @brief Options of proccache__sensor_start(). Fields only appended. */
struct proccache_sensor_opts {
	size_t sz;
	/** enum proccache_backend */
	uint32_t backend;
	uint32_t pad0;
	/** BPF ring buffer bytes (power of two, multiple of the page size);
	 *  0 = default (16 MiB). */
	size_t ring_size;
	/** Bytes of args captured per exec; 0 = 32 KiB; at most 256 KiB. */
	size_t args_max;
	/** Host /proc mount, for agents in containers; NULL = "/proc". */
	const char *proc_prefix;
	/** If set, pin the tgid -> exec key map at this bpffs path. */
	const char *pin_path;
	/** Compare the cache with /proc every this many ns and repair it (a
	 *  light pass: processes gone or new); 0 = never (default). Loss
	 *  always triggers a full pass at once, whatever this says. */
	uint64_t reconcile_interval_ns;
	/** Netlink backend: socket receive buffer bytes; 0 = 8 MiB. Beyond
	 *  net.core.rmem_max only with CAP_NET_ADMIN. */
	size_t netlink_rcvbuf;
	/** BPF backend: under load, records are handed to the consumer in
	 *  batches at most this many ns apart (a lone event after a quiet
	 *  spell is handed over at once); 0 = 50 ms. Lower bounds the
	 *  event-to-callback latency tighter and costs more CPU per event,
	 *  each wake-up being a context switch (docs/sensor-bpf.md). */
	uint64_t wakeup_ns;
	/** Netlink backend, since 1.4: groups of exec fields (enum
	 *  proccache_field) not read from /proc at an exec, each group
	 *  sparing system calls (docs/sensor-netlink.md, "Reading less"). Such
	 *  an exec keeps the values of the image it replaces: exact unless
	 *  they changed in a way the connector does not report (chdir, setns,
	 *  unshare, a cgroup move; for caps, any change). 0 = read everything
	 *  (default). The BPF backend ignores it. */
	uint32_t netlink_skip;
	uint32_t pad1;
	size_t : 0;
};

/**
 * @brief Load and attach the sensor, then scan /proc and seed the kernel
 * state, so that no process started during start-up is missed. The calling
 * thread becomes the ingest thread until the sensor stops or is handed to
 * a library thread.
 * @return 0; -EALREADY if a sensor runs; -EPERM (missing CAP_BPF /
 * CAP_SYS_ADMIN / CAP_NET_ADMIN), -EOPNOTSUPP (no BTF, no proc connector),
 * -EINVAL (bad opts) or another negative errno; the log says which.
 */
PROCCACHE_API int proccache__sensor_start(struct proccache *pc,
					  const struct proccache_sensor_opts *opts);

/** @brief Stop and unload the sensor after draining what is pending. */
PROCCACHE_API void proccache__sensor_stop(struct proccache *pc);

/** @brief The sensor's pollable fd for the host's epoll set; -ENODEV if none. */
PROCCACHE_API int proccache__sensor_fd(struct proccache *pc);

/**
 * @brief Ingest every pending record without blocking. Ingest thread.
 * @return records handled (>= 0), or a negative errno / subscriber value.
 */
PROCCACHE_API int proccache__sensor_consume(struct proccache *pc);

/**
 * @brief Wait up to @p timeout_ms (-1: forever) for records, then consume.
 * @return as proccache__sensor_consume().
 */
PROCCACHE_API int proccache__sensor_poll(struct proccache *pc, int timeout_ms);

/**
 * @brief Hand the sensor to a thread the library owns; that thread becomes
 * the ingest thread and callbacks run on it.
 * @return 0 or negative errno.
 */
PROCCACHE_API int proccache__sensor_thread_start(struct proccache *pc);

/** @brief Stop the library's thread after draining; the caller is the ingest
 *  thread again. @return 0, or the first error the thread met. */
PROCCACHE_API int proccache__sensor_thread_stop(struct proccache *pc);

/** @brief Name of the active backend ("bpf", "netlink") or NULL if none. */
PROCCACHE_API const char *proccache__sensor_backend(const struct proccache *pc);

/**
 * @brief Fd of the kernel map from tgid to exec keys (BPF backend), for a
 * host's own BPF programs. Owned by the library. -ENODEV if none.
 */
PROCCACHE_API int proccache__sensor_exec_map_fd(const struct proccache *pc);

/** @brief Sensor counters; set @c sz before calling. */
struct proccache_sensor_stats {
	size_t sz;
	uint64_t records;   /**< records decoded and ingested */
	uint64_t malformed; /**< records rejected by the decoder */
	uint64_t lost;      /**< records the kernel side could not deliver */
	uint64_t scanned;   /**< processes learned from /proc */
	/** enum proccache_backend that runs (never AUTO) */
	uint32_t backend;
	/** With PROCCACHE_BACKEND_AUTO on netlink: why BPF was not used, as
	 *  a negative errno (the log has the details); 0 otherwise. */
	int32_t fallback_errno;
	/** Netlink: messages not sent by the kernel, dropped. */
	uint64_t foreign;
	/** Netlink: execs whose image was gone (exited, or exec'd again)
	 *  before /proc could be read; flagged PROCCACHE_F_VANISHED. */
	uint64_t vanished;
	/** Passes that compared the cache with /proc (after loss, periodic). */
	uint64_t reconciliations;
	/** Live entries those passes found gone and marked exited. */
	uint64_t reconcile_exited;
	/** Processes those passes found missing and added. */
	uint64_t reconcile_added;
	/** Processes those passes found on another image (a lost exec). */
	uint64_t reconcile_execs;
	/** Duration of the last pass, ns. */
	uint64_t reconcile_ns;
	/** /proc entries rejected as malformed since the sensor started (a
	 *  pid directory or stat unreadable, over-long, or naming another
	 *  pid): skipped, never guessed at, each logged with what was wrong.
	 *  Counted per process: two sensors in one process see each other's. */
	uint64_t proc_rejected;
	/** BPF: enum proccache_bpf_variant, the program set that runs;
	 *  PROCCACHE_BPF_VARIANT_NONE on netlink. */
	uint32_t variant;
	uint32_t pad0;
	/** Netlink, since 1.5: /proc reads made to describe events (an
	 *  exec's image; the start time of a fork, of a parent, of an exec
	 *  overtaken by the next; the creds at a uid or gid change). 0 on
	 *  BPF. Neither this nor procfs_ns counts the start-up scan or
	 *  reconciliation (reconcile_ns). */
	uint64_t procfs_reads;
	/** Netlink, since 1.5: wall-clock ns those reads took
	 *  (CLOCK_MONOTONIC, preemption included): what reading /proc costs
	 *  the sensor (docs/sensor-netlink.md, "Where the CPU goes"). */
	uint64_t procfs_ns;
	size_t : 0;
};

/** @brief Copy the sensor counters. Any thread. @return 0, -EINVAL, -ENODEV. */
PROCCACHE_API int proccache__sensor_stats(const struct proccache *pc,
					  struct proccache_sensor_stats *ret);

#ifdef __cplusplus
}
#endif

#endif /* PROCCACHE_SENSOR_H */
