/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The past of a pid: which cached node held it at a given time (the pid
 * history behind proccache__with_pid()'s at_ns). Writer side called by
 * cache.c when a node takes or loses its pid's slot or is reclaimed; reader
 * side inside an epoch section.
 */
#include <stdlib.h>

#include "cache.h"
#include "log.h"

/*
 * A pid's images are found in three places. Its slot in by_pid holds its
 * newest node, live or not (cache.c), so the common fork, exec, exit costs
 * nothing here. A process's first image, replaced by an exec that names it
 * exactly (the exec's start_time is its key), is found through the image
 * that replaced it. The others (a node that lost the slot to a reused pid,
 * an image replaced by a second exec) are in the past set: the one such
 * node itself, or an immutable list of them, newest key first, replaced
 * (copy on write) when one is added or reclaimed and freed through the
 * epoch. A node costs no byte more. Both kinds of object start with a
 * struct proccache_key, compared and hashed as a pid; a list's key has pad
 * PAST_LIST, a node's pad is 0. A first image outliving the image that
 * replaced it (pinned by children forked before the exec) is no longer
 * found by time, only by key.
 */
#define PAST_LIST 1u

struct pc_pid_past {
	struct proccache_key key; /* pid, pad = PAST_LIST */
	uint32_t n;
	uint32_t pad;
	struct pc_node *nodes[];
};

bool pc_past_init(struct proccache *pc, unsigned long seed)
{
	return pc_pid_set_init(pc, &pc->past, seed);
}

/* After the epoch barrier of proccache__free(): no reader is left. */
void pc_past_destroy(struct proccache *pc)
{
	ck_hs_iterator_t it = CK_HS_ITERATOR_INITIALIZER;
	void *obj;

	while (ck_hs_next(&pc->past, &it, &obj))
		if (((struct proccache_key *)obj)->pad == PAST_LIST)
			free(obj);
	ck_hs_destroy(&pc->past);
}

static unsigned long past_hash(struct proccache *pc, uint32_t pid)
{
	return pc_pid_hash(&pc->past, pid);
}

/* @pid's past as it is published: a node, a list, or NULL. */
static struct proccache_key *past_get(struct proccache *pc, uint32_t pid)
{
	struct proccache_key probe = { .pid = pid };
	struct proccache_key *k = ck_hs_get(&pc->past, past_hash(pc, pid),
					    &probe);

	pc_tsan_acquire(k);
	return k;
}

/* The nodes of a published past, newest first, into @ret[2] or the list
 * itself; their count. */
static uint32_t past_nodes(struct proccache_key *k, struct pc_node ***ret,
			   struct pc_node **one)
{
	if (!k)
		return 0;
	if (k->pad == PAST_LIST) {
		*ret = ((struct pc_pid_past *)k)->nodes;
		return ((struct pc_pid_past *)k)->n;
	}
	*one = (struct pc_node *)k;
	*ret = one;
	return 1;
}

/* Writer: publish @next (a node or a list; NULL: nothing) as @pid's past
 * in place of @prev. A replaced list is freed after the epoch. False when
 * there was no memory: the pid then has no past at all (rather than one
 * that misses a node). */
static bool past_set(struct proccache *pc, uint32_t pid,
		     struct proccache_key *prev, struct proccache_key *next)
{
	struct proccache_key probe = { .pid = pid };
	unsigned long h = past_hash(pc, pid);
	void *old = NULL;
	bool ok = true;

	if (next) {
		pc_tsan_release(next);
		ok = pc_hs_set(pc, &pc->past, h, next, &old);
	}
	if (!ok) {
		pc_warn("cache: no memory for pid %u's past", pid);
		if (next->pad == PAST_LIST)
			free(next);
	}
	if (prev && (!next || !ok)) {
		/* Whatever @prev listed is in no past any more. */
		struct pc_node **nodes, *one;
		uint32_t count = past_nodes(prev, &nodes, &one);

		pc_hs_remove(pc, &pc->past, h, &probe, &pc->past_removed,
			  &pc->past_peak);
		for (uint32_t i = 0; i < count; i++)
			nodes[i]->past &= (uint8_t)~PC_PAST_SET;
	}
	if (prev && prev->pad == PAST_LIST)
		pc_defer(pc, free, prev);
	return ok;
}

static struct pc_pid_past *past_list(uint32_t pid, uint32_t n)
{
	struct pc_pid_past *l = malloc(sizeof(*l) + n * sizeof(l->nodes[0]));

	if (l) {
		l->key = (struct proccache_key){ .pid = pid, .pad = PAST_LIST };
		l->n = n;
		l->pad = 0;
	}
	return l;
}

/* Writer: @n, cached, is no longer in its pid's slot: add it to the past. */
static void past_add(struct proccache *pc, struct pc_node *n)
{
	struct proccache_key *prev = past_get(pc, n->key.pid);
	struct pc_node **nodes, *one;
	uint32_t count = past_nodes(prev, &nodes, &one), i = 0, j = 0;
	struct pc_pid_past *l;

	if (!count) {
		if (past_set(pc, n->key.pid, NULL, &n->key))
			n->past |= PC_PAST_SET;
		return;
	}
	l = past_list(n->key.pid, count + 1);
	if (!l) {
		past_set(pc, n->key.pid, prev, NULL);
		pc_warn("cache: no memory for pid %u's past", n->key.pid);
		return;
	}
	while (i < count && nodes[i]->key.ktime > n->key.ktime)
		l->nodes[j++] = nodes[i++];
	l->nodes[j++] = n;
	while (i < count)
		l->nodes[j++] = nodes[i++];
	if (past_set(pc, n->key.pid, prev, &l->key))
		n->past |= PC_PAST_SET;
}

/* Writer: take @n out of its pid's past. */
static void past_remove(struct proccache *pc, struct pc_node *n)
{
	struct proccache_key *prev = past_get(pc, n->key.pid), *next = NULL;
	struct pc_node **nodes, *one;
	uint32_t count = past_nodes(prev, &nodes, &one), j = 0;

	n->past &= (uint8_t)~PC_PAST_SET;
	if (count == 2) {
		next = &(nodes[0] == n ? nodes[1] : nodes[0])->key;
	} else if (count > 2) {
		struct pc_pid_past *l = past_list(n->key.pid, count - 1);

		if (l) {
			for (uint32_t i = 0; i < count; i++)
				if (nodes[i] != n && j < l->n)
					l->nodes[j++] = nodes[i];
			next = &l->key;
		}
		/* Without memory the list cannot shrink: the pid's past is
		 * dropped (past_set() with NULL) rather than keep @n. */
		else
			for (uint32_t i = 0; i < count; i++)
				nodes[i]->past &= (uint8_t)~PC_PAST_SET;
	}
	if (count)
		past_set(pc, n->key.pid, prev, next);
}

void pc_past_enter_slot(struct proccache *pc, struct pc_node *n)
{
	if (n->past & PC_PAST_SET)
		past_remove(pc, n);
	n->past &= (uint8_t)~PC_PAST_NEXT;
}

void pc_past_left_slot(struct proccache *pc, struct pc_node *n)
{
	if (!(n->past & (PC_PAST_SET | PC_PAST_NEXT)))
		past_add(pc, n);
}

void pc_past_via_successor(struct pc_node *n,
			   const struct proccache_process *next)
{
	if (next->start_time == n->key.ktime && next->ktime > n->key.ktime &&
	    next->pid == n->key.pid)
		n->past |= PC_PAST_NEXT;
}

void pc_past_reclaim(struct proccache *pc, struct pc_node *n)
{
	if (n->past & PC_PAST_SET)
		past_remove(pc, n);
}

/* Whether @n's image held its pid at @at: it started by then (the caller
 * checked), and had not exited before. An image replaced by an exec held
 * the pid until the next image's start, which the choice of the newest
 * image started by @at already says. */
static bool held_at(struct pc_node *n, uint64_t at)
{
	const struct proccache_process *p = pc_node_snapshot(n);

	return !(p->state == PROCCACHE_STATE_EXITED && p->exit_time &&
		 p->exit_time < at);
}

/* Make @c the answer if it is newer than @best and started by @at. */
static struct pc_node *newer_by(struct pc_node *best, struct pc_node *c,
				uint64_t at)
{
	return c && c->key.ktime <= at &&
			       (!best || c->key.ktime > best->key.ktime)
		       ? c
		       : best;
}

/* @x started after @at; the first image of its process, if that started by
 * @at and is still cached (PC_PAST_NEXT: it is in no past set). */
static struct pc_node *first_image(struct proccache *pc, struct pc_node *x,
				   uint64_t at)
{
	const struct proccache_process *s = pc_node_snapshot(x);
	struct proccache_key k = { .pid = x->key.pid, .ktime = s->start_time };

	if (!k.ktime || k.ktime >= x->key.ktime || k.ktime > at)
		return NULL;
	return pc_find_key(pc, &k);
}

struct pc_node *pc_find_pid_at(struct proccache *pc, uint32_t pid,
			       uint64_t at)
{
	struct pc_node *slot, *best = NULL, **nodes, *one;
	uint32_t count;

	if (!at)
		return pc_find_pid(pc, pid);
	slot = pc_find_pid_slot(pc, pid);
	if (slot)
		best = slot->key.ktime <= at ? slot : first_image(pc, slot, at);
	count = past_nodes(past_get(pc, pid), &nodes, &one);
	for (uint32_t i = 0; i < count; i++) {
		if (nodes[i]->key.ktime <= at) {
			best = newer_by(best, nodes[i], at);
			break;
		}
		best = newer_by(best, first_image(pc, nodes[i], at), at);
	}
	return best && held_at(best, at) ? best : NULL;
}
