/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library's clocks and timers (clock.h). */
#include <errno.h>
#include <stdatomic.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"

uint64_t pc_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * PC_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Moves of the wall clock against boot time smaller than this are taken
 * for the jitter of reading two clocks, and do not change the offset. */
#define PC_WALL_STEP_NS (10ull * 1000 * 1000)

int64_t pc_wall_minus_boot_ns(void)
{
	static _Atomic int64_t kept;
	int64_t seen = atomic_load_explicit(&kept, memory_order_relaxed);
	uint64_t b0 = pc_clock_ns(CLOCK_BOOTTIME);
	uint64_t r = pc_clock_ns(CLOCK_REALTIME);
	uint64_t b1 = pc_clock_ns(CLOCK_BOOTTIME);
	int64_t now = (int64_t)r - (int64_t)(b0 + (b1 - b0) / 2);

	if (seen && now - seen < (int64_t)PC_WALL_STEP_NS &&
	    seen - now < (int64_t)PC_WALL_STEP_NS)
		return seen;
	atomic_store_explicit(&kept, now, memory_order_relaxed);
	return now;
}

/* USER_HZ, which the kernel has fixed at 100 on every architecture for
 * decades; asked once anyway. */
static uint64_t ticks_per_sec(void)
{
	static _Atomic uint64_t hz;
	uint64_t v = atomic_load_explicit(&hz, memory_order_relaxed);
	long got;

	if (!v) {
		got = sysconf(_SC_CLK_TCK);
		v = got > 0 ? (uint64_t)got : 100;
		atomic_store_explicit(&hz, v, memory_order_relaxed);
	}
	return v;
}

uint64_t pc_tick_ns(void)
{
	return PC_NS_PER_SEC / ticks_per_sec();
}

uint64_t pc_ticks_to_ns(uint64_t ticks)
{
	uint64_t hz = ticks_per_sec();

	return ticks / hz * PC_NS_PER_SEC + ticks % hz * PC_NS_PER_SEC / hz;
}

bool pc_same_start(uint64_t a, uint64_t b)
{
	uint64_t tick = pc_tick_ns();

	return a && b && a / tick == b / tick;
}

int pc_timerfd_arm(int fd, uint64_t when_ns)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)(when_ns / PC_NS_PER_SEC);
	its.it_value.tv_nsec = (long)(when_ns % PC_NS_PER_SEC);
	/* an all-zero it_value would disarm */
	if (when_ns && !its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) ? -errno : 0;
}

bool pc_timerfd_take(int fd)
{
	uint64_t ticks;

	/* EAGAIN: it had not fired; nothing else can happen to a timerfd */
	return read(fd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks);
}
