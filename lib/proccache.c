/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The facade: a cache and the parts that hang off it are created and freed
 * here, in one order. Teardown runs top down: the sensor (which still
 * ingests what the kernel reported up to its stop, calling subscribers),
 * then the subscriptions (destroy callbacks), then the cache itself. No
 * part frees another.
 */
#include <errno.h>
#include <stdlib.h>

#include "cache.h"
#include "sensor.h"

PROCCACHE_API struct proccache *proccache__new(const struct proccache_opts *opts)
{
	struct proccache *pc = calloc(1, sizeof(*pc));
	int err;

	if (!pc)
		return NULL;
	err = pc_cache_init(pc, opts);
	if (err) {
		free(pc);
		errno = -err;
		return NULL;
	}
	return pc;
}

PROCCACHE_API void proccache__free(struct proccache *pc)
{
	if (!pc)
		return;
	pc_sensor_free(pc);
	pc_subs_free_all(pc);
	pc_cache_fini(pc);
	free(pc);
}
