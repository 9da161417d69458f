/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tetragon's `refcnt`: the references its process cache holds on an entry.
 * Here, counted from the events the snoop sees: one while the entry is the
 * live image of its process, plus one for each entry naming it as parent
 * while that one is live. An entry stops being live when it exits, when an
 * exec replaces it, or when a new entry takes its pid (an exit not seen).
 * Entries whose count falls to 0 are forgotten, so the table holds about
 * as many entries as processes run. Ingest thread only.
 */
#include <stdlib.h>

#include "snoop.h"

#define BUCKETS (1u << 16)

struct rc_node {
	struct proccache_key key, parent;
	uint32_t refs;
	bool live;
	bool counted_in_parent;
	struct rc_node *next;     /* by key */
	struct rc_node *pid_next; /* by pid, live ones only */
};

struct snoop_refcnt {
	struct rc_node *by_key[BUCKETS];
	struct rc_node *by_pid[BUCKETS];
};

static uint32_t hash_key(struct proccache_key k)
{
	return (uint32_t)(((k.ktime ^ ((uint64_t)k.pid << 40)) *
			   0x9e3779b97f4a7c15ull) >> 48);
}

static bool key_eq(struct proccache_key a, struct proccache_key b)
{
	return a.pid == b.pid && a.ktime == b.ktime;
}

struct snoop_refcnt *snoop_refcnt_new(void)
{
	return calloc(1, sizeof(struct snoop_refcnt));
}

void snoop_refcnt_free(struct snoop_refcnt *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < BUCKETS; i++) {
		while (r->by_key[i]) {
			struct rc_node *n = r->by_key[i];

			r->by_key[i] = n->next;
			free(n);
		}
	}
	free(r);
}

static struct rc_node **find_slot(struct snoop_refcnt *r, struct proccache_key k)
{
	struct rc_node **pp = &r->by_key[hash_key(k)];

	while (*pp && !key_eq((*pp)->key, k))
		pp = &(*pp)->next;
	return pp;
}

static struct rc_node **pid_slot(struct snoop_refcnt *r, uint32_t pid)
{
	struct rc_node **pp = &r->by_pid[pid % BUCKETS];

	while (*pp && (*pp)->key.pid != pid)
		pp = &(*pp)->pid_next;
	return pp;
}

static void forget_if_unused(struct snoop_refcnt *r, struct rc_node *n)
{
	struct rc_node **pp;

	if (n->live || n->refs)
		return;
	pp = find_slot(r, n->key);
	*pp = n->next;
	free(n);
}

static void stop_live(struct snoop_refcnt *r, struct rc_node *n)
{
	struct rc_node **pp = pid_slot(r, n->key.pid);

	if (*pp == n)
		*pp = n->pid_next;
	n->live = false;
	n->refs--;
	if (n->counted_in_parent) {
		struct rc_node *parent = *find_slot(r, n->parent);

		if (parent) {
			parent->refs--;
			forget_if_unused(r, parent);
		}
	}
	forget_if_unused(r, n);
}

/* The new entry is counted in its parent before the image it replaces
 * stops being live: for an exec without a clone that image is the parent. */
static void start_live(struct snoop_refcnt *r, const struct proccache_process *p)
{
	struct proccache_key k = proccache_process__key(p);
	struct rc_node **slot = find_slot(r, k), **pid, *n, *parent;

	if (*slot)
		return; /* seen already */
	n = calloc(1, sizeof(*n));
	if (!n)
		return; /* the count is then missing, never wrong elsewhere */
	n->key = k;
	n->parent = proccache_process__parent_key(p);
	n->live = true;
	n->refs = 1;
	parent = *find_slot(r, n->parent);
	if (parent) {
		parent->refs++;
		n->counted_in_parent = true;
	}
	*slot = n;
	pid = pid_slot(r, k.pid);
	if (*pid)
		stop_live(r, *pid); /* replaced by an exec, or its exit was lost */
	pid = pid_slot(r, k.pid);
	n->pid_next = *pid;
	*pid = n;
}

void snoop_refcnt_event(struct snoop_refcnt *r, const struct proccache_event *ev,
			const struct proccache_process *p)
{
	struct rc_node *n;

	if (!r || !p)
		return;
	if (ev->type == PROCCACHE_EVENT_EXEC || ev->type == PROCCACHE_EVENT_CLONE) {
		start_live(r, p);
	} else if (ev->type == PROCCACHE_EVENT_EXIT) {
		n = *find_slot(r, proccache_process__key(p));
		if (n && n->live)
			stop_live(r, n);
	}
}

uint32_t snoop_refcnt_get(const struct snoop_refcnt *r,
			  const struct proccache_process *p)
{
	struct rc_node *n;

	if (!r)
		return 0;
	n = *find_slot((struct snoop_refcnt *)r, proccache_process__key(p));
	return n ? n->refs : 0;
}
