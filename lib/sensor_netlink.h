/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor: the kernel's process events connector (CN_IDX_PROC),
 * for hosts that cannot load BPF. The kernel tells us that a fork, exec,
 * exit or uid/gid change happened; everything else comes from /proc through
 * lib/procfs.h. Ingest thread only, except the counters (sensor.h).
 * See docs/sensor-netlink.md.
 */
#ifndef PROCCACHE_SENSOR_NETLINK_H
#define PROCCACHE_SENSOR_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proccache/proccache.h"
#include "sensor.h"

/* Socket receive buffer when proccache_sensor_opts.netlink_rcvbuf is 0. */
#define PC_NL_RCVBUF_DEFAULT ((size_t)8 << 20)

/*
 * An exec's /proc read is attributed to it only once this long has passed
 * after the read without news of a later exec of the same process (the
 * kernel installs a new image a little before it reports the exec). See
 * docs/sensor-netlink.md, "Args never go to the wrong image".
 */
#define PC_NL_SETTLE_NS (2ull * 1000 * 1000)
/* An exec waiting on a chain of quick re-execs is decided (conservatively)
 * after this long at the latest. */
#define PC_NL_HOLD_MAX_NS (100ull * 1000 * 1000)

/* Largest pid the kernel hands out (PID_MAX_LIMIT on 64-bit). */
#define PC_NL_PID_LIMIT (1u << 22)

/*
 * Open, filter and bind the connector socket, subscribe and wait for the
 * kernel's acknowledgement, scan /proc, then ingest what arrived meanwhile.
 * 0 and *@ret set, or negative errno (logged): -EPERM without the privilege
 * to listen, -EOPNOTSUPP without a proc connector.
 */
int pc_sensor_netlink_start(struct proccache *pc, const struct pc_sensor_cfg *cfg,
			    struct pc_sensor **ret);

/* One proc connector event, validated, with the fields we use. */
struct pc_nl_event {
	uint32_t what;        /* PROC_EVENT_* */
	uint32_t seq, ack;    /* of the connector message */
	uint64_t ts;          /* timestamp_ns: CLOCK_MONOTONIC of the kernel */
	uint32_t pid, tgid;   /* the task concerned (fork: the child) */
	uint32_t ppid, ptgid; /* fork and exit: the (real) parent */
	uint32_t id_real, id_eff; /* uid or gid events */
	uint32_t exit_code, exit_signal;
	uint32_t err;         /* acknowledgement */
};

/*
 * Validate one datagram of @len bytes that came from netlink port
 * @sender_port and decode the proc event it carries. Accepted: exactly one
 * NLMSG_DONE message from the kernel (port 0) carrying one connector
 * message of the proc connector whose lengths agree with each other and
 * with @len, and sane pids for the events we use.
 * Returns 0 and fills @ret; -EPERM if not from the kernel; -EBADMSG if
 * malformed (@ret is then untouched).
 */
int pc_nl_decode(const void *buf, size_t len, uint32_t sender_port,
		 struct pc_nl_event *ret);

/* For tests: do not attach the in-kernel socket filter, so that thread
 * events reach user space. Set before pc_sensor_netlink_start(). */
extern bool pc_sensor_netlink_no_filter;

/* For tests: the connector socket of a running netlink sensor. */
int pc_sensor_netlink_socket(const struct pc_sensor *s);

/* For tests: events that reached user space although the in-kernel filter
 * drops them (thread forks and exits, event types we do not use). */
uint64_t pc_sensor_netlink_unfiltered(const struct pc_sensor *s);

#endif
