// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The proc connector decoder (lib/netlink_wire.c): what the kernel sends
 * decodes, nothing else does. No privileges. Linked with the static
 * library: netlink_wire.h is private. The filter and the socket are tested
 * on the running sensor (test_sensor_netlink.c).
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "netlink_kmsg.h"
#include "netlink_wire.h"

Test(decoder, kernel_messages_decode)
{
	struct kmsg m = kmsg(PROC_EVENT_FORK);
	struct pc_nl_event e;

	_Static_assert(sizeof(struct kmsg) == 76, "the kernel's datagram size");
	m.ev.event_data.fork.parent_pid = 10;
	m.ev.event_data.fork.parent_tgid = 10;
	m.ev.event_data.fork.child_pid = 11;
	m.ev.event_data.fork.child_tgid = 11;
	cr_assert_eq(pc_nl_decode(&m, sizeof(m), 0, &e), 0);
	cr_expect_eq(e.what, PROC_EVENT_FORK);
	cr_expect_eq(e.pid, 11);
	cr_expect_eq(e.ptgid, 10);
	cr_expect_eq(e.ts, 123456789);

	m = kmsg(PROC_EVENT_EXIT);
	m.ev.event_data.exit.process_pid = 12;
	m.ev.event_data.exit.process_tgid = 12;
	m.ev.event_data.exit.exit_code = 3 << 8;
	m.ev.event_data.exit.exit_signal = 17;
	cr_assert_eq(pc_nl_decode(&m, sizeof(m), 0, &e), 0);
	cr_expect_eq(e.exit_code, 3 << 8);

	m = kmsg(PROC_EVENT_UID);
	m.ev.event_data.id.process_pid = 13;
	m.ev.event_data.id.process_tgid = 13;
	m.ev.event_data.id.r.ruid = 1000;
	m.ev.event_data.id.e.euid = 0;
	cr_assert_eq(pc_nl_decode(&m, sizeof(m), 0, &e), 0);
	cr_expect_eq(e.id_real, 1000);
	cr_expect_eq(e.id_eff, 0);

	m = kmsg(PROC_EVENT_NONE);
	m.cn.ack = 77;
	cr_assert_eq(pc_nl_decode(&m, sizeof(m), 0, &e), 0);
	cr_expect_eq(e.ack, 77);
}

Test(decoder, only_the_kernel_is_heard)
{
	struct kmsg m = kmsg(PROC_EVENT_EXEC);
	struct pc_nl_event e = { .pid = 99 };

	m.ev.event_data.exec.process_pid = 5;
	m.ev.event_data.exec.process_tgid = 5;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 1234, &e), -EPERM);
	cr_expect_eq(e.pid, 99, "untouched on failure");
}

Test(decoder, insane_sizes_and_fields_are_rejected)
{
	struct kmsg good = kmsg(PROC_EVENT_EXEC), m;
	char two[2 * sizeof(struct kmsg)];
	struct pc_nl_event e;

	good.ev.event_data.exec.process_pid = 5;
	good.ev.event_data.exec.process_tgid = 5;
	cr_assert_eq(pc_nl_decode(&good, sizeof(good), 0, &e), 0);

	/* datagram shorter than the headers say, or longer */
	cr_expect_eq(pc_nl_decode(&good, sizeof(good) - 1, 0, &e), -EBADMSG);
	cr_expect_eq(pc_nl_decode(&good, 10, 0, &e), -EBADMSG);
	memcpy(two, &good, sizeof(good));
	memcpy(two + sizeof(good), &good, sizeof(good));
	cr_expect_eq(pc_nl_decode(two, sizeof(two), 0, &e), -EBADMSG,
		     "a second message hidden behind the first");
	m = good;
	m.nlh.nlmsg_len = sizeof(m) + 8;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	/* connector length disagreeing with the netlink one */
	m = good;
	m.cn.len = sizeof(m.ev) - 4;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	/* too short for the event it claims */
	m = good;
	m.ev.what = PROC_EVENT_FORK;
	m.cn.len = 16 + 8;
	m.nlh.nlmsg_len = NLMSG_HDRLEN + sizeof(m.cn) + m.cn.len;
	cr_expect_eq(pc_nl_decode(&m, m.nlh.nlmsg_len, 0, &e), -EBADMSG);
	/* other connectors, other message types, a sender pid in the header */
	m = good;
	m.cn.id.idx = CN_IDX_PROC + 1;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	m = good;
	m.cn.id.val = 2;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	m = good;
	m.nlh.nlmsg_type = NLMSG_ERROR;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	m = good;
	m.nlh.nlmsg_pid = 4242;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	/* pids out of range, exit status out of range */
	m = good;
	m.ev.event_data.exec.process_tgid = 0;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	m = good;
	m.ev.event_data.exec.process_pid = -5;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	m = good;
	m.ev.event_data.exec.process_pid = (int)PC_NL_PID_LIMIT;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
	m = kmsg(PROC_EVENT_EXIT);
	m.ev.event_data.exit.process_pid = 5;
	m.ev.event_data.exit.process_tgid = 5;
	m.ev.event_data.exit.exit_code = 0x10000;
	cr_expect_eq(pc_nl_decode(&m, sizeof(m), 0, &e), -EBADMSG);
}
