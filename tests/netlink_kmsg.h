/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Proc connector datagrams as the kernel sends them, for the tests of the
 * decoder (test_netlink_wire.c) and of the running netlink sensor
 * (test_sensor_netlink.c).
 */
#ifndef TESTS_NETLINK_KMSG_H
#define TESTS_NETLINK_KMSG_H

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <string.h>

/* struct cn_msg without its flexible array, to embed. */
struct cn_head {
	struct cb_id id;
	__u32 seq, ack;
	__u16 len, flags;
};

_Static_assert(sizeof(struct cn_head) == sizeof(struct cn_msg), "cn_msg's header");

/* A datagram as the kernel sends it. */
struct kmsg {
	struct nlmsghdr nlh;
	struct cn_head cn;
	struct proc_event ev;
} __attribute__((packed));

static inline struct kmsg kmsg(uint32_t what)
{
	struct kmsg m;

	memset(&m, 0, sizeof(m));
	m.nlh.nlmsg_len = sizeof(m);
	m.nlh.nlmsg_type = NLMSG_DONE;
	m.cn.id.idx = CN_IDX_PROC;
	m.cn.id.val = CN_VAL_PROC;
	m.cn.len = sizeof(m.ev);
	m.ev.what = what;
	m.ev.timestamp_ns = 123456789;
	return m;
}

#endif
