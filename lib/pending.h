/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What waits for an entry that is not cached yet (docs/process-model.md,
 * "Events out of order"): exits held until their exec or clone arrives,
 * children waiting for their parent, and a memory of recent exits so that
 * an exec that arrives after its process's exit is recognised. Ingest
 * thread only; the decisions stay in ingest.c, this module keeps the books.
 */
#ifndef PROCCACHE_PENDING_H
#define PROCCACHE_PENDING_H

#include <stdbool.h>
#include <stdint.h>

#include "cache.h"

/* An exit held for the entry it ends. */
struct pc_held {
	struct pc_held *next, *prev; /* oldest first */
	uint64_t deadline;
	struct proccache_event ev; /* an exit: no strings; time always set */
};

/* Hold @ev (an exit whose entry is not cached yet) until pc->now plus the
 * hold time. The oldest held exit expires early when PC_HELD_MAX are held.
 * 0 or -ENOMEM. */
int pc_held_add(struct proccache *pc, const struct proccache_event *ev);

/* Take the held exit that ends entry @n (pid, key, start time), if any.
 * The caller owns it and frees it with free(). */
struct pc_held *pc_held_take_for(struct proccache *pc, struct pc_node *n);

/* Take the oldest held exit whose deadline passed (or that was pushed out
 * by the cap), or NULL. The caller owns it. */
struct pc_held *pc_held_take_expired(struct proccache *pc);

/* Does held exit @h end an entry with key ktime @ktime and process start
 * @start? Exported for the rule's unit test through ingest. */
bool pc_held_matches(const struct pc_held *h, uint64_t ktime, uint64_t start);

/* Remember that @n, an entry of its pid, exited at @time. */
void pc_recent_exit_note(struct proccache *pc, const struct pc_node *n,
			 uint64_t time);

/* Did an entry of @pid exit at @time (not 0) lately? */
bool pc_recent_exit_at(struct proccache *pc, uint32_t pid, uint64_t time);

/* The entry of @pid that exited at or after @ktime, started before it, and
 * is still cached: the process an exec at @ktime belonged to. */
struct pc_node *pc_recent_exit_find(struct proccache *pc, uint32_t pid,
				    uint64_t ktime);

/* @child names a parent that is not cached: wait for it. 0 or -ENOMEM. */
int pc_orphan_add(struct proccache *pc, struct pc_node *child);

/* @n was just inserted: give it the children that wait for it, as
 * @adopt(pc, child, n) decides. Returns how many were adopted. */
unsigned int pc_orphans_adopt(struct proccache *pc, struct pc_node *n,
			      bool (*adopt)(struct proccache *pc,
					    struct pc_node *child,
					    struct pc_node *parent));

#endif
