/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A writer-only multimap from a pid to the things waiting for it: children
 * whose parent is not cached yet, exits held for their exec or clone. Few
 * items ever wait at once, so a chained table that grows is enough. Not
 * for readers: nothing here is published.
 */
#ifndef PROCCACHE_WAITMAP_H
#define PROCCACHE_WAITMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "proccache/proccache.h"

struct pc_wait_item;

struct pc_waitmap {
	struct pc_wait_item **buckets;
	uint32_t mask;  /* bucket count - 1; 0 with no buckets yet */
	uint32_t count; /* items */
};

/* Add @ptr under @pid after those there (the same pair may be added
 * twice). 0 or -ENOMEM. */
int pc_waitmap_add(struct pc_waitmap *m, uint32_t pid, void *ptr);

/* Add @key under @pid before those there, in O(1) however many wait for
 * @pid (an item named by key needs no removal when what it names goes:
 * take and sweep drop it). 0 or -ENOMEM. */
int pc_waitmap_push(struct pc_waitmap *m, uint32_t pid,
		    const struct proccache_key *key);

/* Remove one @ptr under @pid; false if it was not there. */
bool pc_waitmap_remove(struct pc_waitmap *m, uint32_t pid, void *ptr);

/* Called on an item: its pointer, or NULL and its key. True removes it. */
typedef bool (*pc_waitmap_fn)(void *ptr, const struct proccache_key *key,
			      void *userdata);

/*
 * Call @fn for every item under @pid, in chain order (added ones oldest
 * first, pushed ones newest first). @fn must not change the map.
 */
void pc_waitmap_take(struct pc_waitmap *m, uint32_t pid, pc_waitmap_fn fn,
		     void *userdata);

/* Call @fn for every item of the map, as pc_waitmap_take() does. */
void pc_waitmap_sweep(struct pc_waitmap *m, pc_waitmap_fn fn, void *userdata);

/* Free the map, calling @fn (may be NULL) on every item's pointer. */
void pc_waitmap_free(struct pc_waitmap *m, void (*fn)(void *ptr));

#endif
