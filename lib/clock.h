/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Time, once: the clock reader, the /proc clock tick and what "the same
 * start" means, and the timerfd arming every timer of the library uses.
 * A leaf: includes nothing of the library. Thread-safe.
 */
#ifndef PROCCACHE_CLOCK_H
#define PROCCACHE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define PC_NS_PER_SEC 1000000000ull

/* @id read in ns. */
uint64_t pc_clock_ns(clockid_t id);

/*
 * CLOCK_REALTIME - CLOCK_BOOTTIME in ns, to show boot times as dates. The
 * same value for every caller until the wall clock is set or slews 10 ms
 * away from it: each fresh reading differs by the time between its two
 * clock reads, and a date written from it would otherwise change its last
 * digit from one record to the next.
 */
int64_t pc_wall_minus_boot_ns(void);

/* Length of the clock tick /proc start times are counted in, in ns. */
uint64_t pc_tick_ns(void);

/* /proc clock ticks since boot as ns of CLOCK_BOOTTIME. */
uint64_t pc_ticks_to_ns(uint64_t ticks);

/*
 * Do two process start times (ns of CLOCK_BOOTTIME, exact as the BPF sensor
 * has them or cut to a clock tick as /proc has them) name the same start?
 * 0 is unknown and never the same.
 */
bool pc_same_start(uint64_t a, uint64_t b);

/* Arm the timerfd @fd (a CLOCK_MONOTONIC one) to fire at @when_ns, an
 * absolute time; 0 disarms it, a time in the past fires at once. 0 or
 * -errno. */
int pc_timerfd_arm(int fd, uint64_t when_ns);

/* Take the expirations of the non-blocking timerfd @fd: whether it had
 * fired (it is not readable any more then). */
bool pc_timerfd_take(int fd);

#endif
