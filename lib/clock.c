/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdatomic.h>
#include <unistd.h>

#include "clock.h"

static uint64_t ticks_per_second(void)
{
	static _Atomic uint64_t hz;
	uint64_t v = atomic_load_explicit(&hz, memory_order_relaxed);

	if (!v) {
		long sys = sysconf(_SC_CLK_TCK);

		v = sys > 0 ? (uint64_t)sys : 100;
		atomic_store_explicit(&hz, v, memory_order_relaxed);
	}
	return v;
}

uint64_t pc_tick_ns(void)
{
	return 1000000000ull / ticks_per_second();
}

uint64_t pc_ticks_to_ns(uint64_t ticks)
{
	uint64_t hz = ticks_per_second();

	return ticks / hz * 1000000000ull + ticks % hz * 1000000000ull / hz;
}

bool pc_same_start(uint64_t a, uint64_t b)
{
	uint64_t tick = pc_tick_ns();

	return a && b && a / tick == b / tick;
}
