/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Size-versioned structs (opts, events, stats): a caller built against an
 * older header passes a smaller sz and gets defaults for what it lacks; one
 * built against a newer header may pass a larger sz only if everything past
 * what this library knows is zero.
 */
#ifndef PROCCACHE_OPTS_H
#define PROCCACHE_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

/* True if every byte of [from, to) is zero. */
static inline bool pc_bytes_zero(const void *p, size_t from, size_t to)
{
	const unsigned char *b = p;

	for (size_t i = from; i < to; i++)
		if (b[i])
			return false;
	return true;
}

/* Validate a caller's struct of type @known_sz bytes whose first member is
 * size_t sz. NULL is valid (defaults). */
static inline bool pc_opts_valid(const void *opts, size_t known_sz,
				 const char *what)
{
	size_t sz;

	if (!opts)
		return true;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t)) {
		pc_warn("%s: sz %zu is smaller than its own field", what, sz);
		return false;
	}
	if (sz > known_sz && !pc_bytes_zero(opts, known_sz, sz)) {
		pc_warn("%s: unknown non-zero fields past byte %zu", what,
			known_sz);
		return false;
	}
	return true;
}

/* Does the caller's struct (its sz) cover @field? */
#define PC_OPTS_HAS(opts, field)                                               \
	((opts) && offsetof(__typeof__(*(opts)), field) +                      \
				   sizeof((opts)->field) <=                    \
			   (opts)->sz)
#define PC_OPTS_GET(opts, field, fallback)                                     \
	(PC_OPTS_HAS(opts, field) ? (opts)->field : (fallback))

#endif
