/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The /proc clock tick, defined once. /proc counts process start times in
 * clock ticks (USER_HZ); the cache keys them in ns of CLOCK_BOOTTIME, exact
 * from the BPF sensor and cut to a tick from /proc.
 */
#ifndef PROCCACHE_CLOCK_H
#define PROCCACHE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Length of the clock tick /proc start times are counted in, in ns. */
uint64_t pc_tick_ns(void);

/* @ticks of /proc in ns. */
uint64_t pc_ticks_to_ns(uint64_t ticks);

/*
 * Do two process start times (ns, exact or cut to a tick) name the same
 * start? 0 is unknown and never the same.
 */
bool pc_same_start(uint64_t a, uint64_t b);

#endif
