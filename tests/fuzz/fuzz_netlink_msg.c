/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor's datagram decoder (pc_nl_decode,
 * lib/netlink_wire.c): the input is one datagram as recv() returns it.
 * An accepted one carries sane pids for the events the sensor uses.
 */
#include <linux/cn_proc.h>
#include <string.h>

#include "fuzz.h"
#include "netlink_wire.h"

static int pid_ok(uint32_t pid)
{
	return pid > 0 && pid < PC_NL_PID_LIMIT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct pc_nl_event e, untouched;

	memcpy(buf, data, size);
	memset(&e, 0x5a, sizeof(e));
	untouched = e;
	/* Only port 0 (the kernel) is believed. */
	FUZZ_CHECK(pc_nl_decode(buf, size, 4242, &e) == -EPERM);
	FUZZ_CHECK(!memcmp(&e, &untouched, sizeof(e)));
	if (pc_nl_decode(buf, size, 0, &e) == 0) {
		switch (e.what) {
		case PROC_EVENT_FORK:
			FUZZ_CHECK(pid_ok(e.pid) && pid_ok(e.tgid));
			FUZZ_CHECK(e.ppid < PC_NL_PID_LIMIT &&
				   e.ptgid < PC_NL_PID_LIMIT);
			break;
		case PROC_EVENT_EXEC:
		case PROC_EVENT_UID:
		case PROC_EVENT_GID:
			FUZZ_CHECK(pid_ok(e.pid) && pid_ok(e.tgid));
			break;
		case PROC_EVENT_EXIT:
			FUZZ_CHECK(pid_ok(e.pid) && pid_ok(e.tgid));
			FUZZ_CHECK(e.exit_code <= 0xffff);
			break;
		default:
			break;
		}
	} else {
		FUZZ_CHECK(!memcmp(&e, &untouched, sizeof(e)));
	}
	free(buf);
	return 0;
}
