/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor: the kernel's process events connector (CN_IDX_PROC),
 * for hosts that cannot load BPF. The kernel tells us that a fork, exec,
 * exit or uid/gid change happened; everything else comes from /proc through
 * lib/procfs.h. Decoding: netlink_wire.h; settling: netlink_settle.h.
 * Ingest thread only, except the counters. See docs/sensor-netlink.md.
 */
#ifndef PROCCACHE_SENSOR_NETLINK_H
#define PROCCACHE_SENSOR_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "proccache/proccache.h"
#include "sensor_backend.h"

/* Socket receive buffer when proccache_sensor_opts.netlink_rcvbuf is 0. */
#define PC_NL_RCVBUF_DEFAULT ((size_t)8 << 20)

/*
 * Open, filter and bind the connector socket, subscribe and wait for the
 * kernel's acknowledgement, scan /proc, then ingest what arrived meanwhile.
 * @cfg must outlive the backend. 0 and *@ret set, or negative errno
 * (logged): -EPERM without the privilege to listen, -EOPNOTSUPP without a
 * proc connector.
 */
int pc_sensor_netlink_start(struct proccache *pc, const struct pc_sensor_cfg *cfg,
			    struct pc_backend **ret);

/* For tests: do not attach the in-kernel socket filter, so that thread
 * events reach user space. Set before pc_sensor_netlink_start(). */
extern bool pc_sensor_netlink_no_filter;

/* For tests: the connector socket of a running netlink backend; -ENODEV
 * for another backend. */
int pc_sensor_netlink_socket(const struct pc_backend *b);

/* For tests: events that reached user space although the in-kernel filter
 * drops them (thread forks and exits, event types we do not use). */
uint64_t pc_sensor_netlink_unfiltered(const struct pc_backend *b);

#endif
