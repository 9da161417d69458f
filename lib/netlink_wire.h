/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The proc connector's messages: decoding one datagram strictly, and the
 * in-kernel socket filter. Pure (no state); thread-safe. See
 * docs/sensor-netlink.md.
 */
#ifndef PROCCACHE_NETLINK_WIRE_H
#define PROCCACHE_NETLINK_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Largest pid the kernel hands out (PID_MAX_LIMIT on 64-bit). */
#define PC_NL_PID_LIMIT (1u << 22)

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

/*
 * Attach the classic BPF filter that drops, in the kernel, thread forks,
 * thread exits, uid/gid changes of single threads and the event types we
 * do not use; what does not look like a proc event passes, to be counted.
 * 0 or -errno.
 */
int pc_nl_attach_filter(int sock);

#endif
