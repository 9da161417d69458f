/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "waitmap.h"

#define INITIAL_BUCKETS 64u

struct pc_wait_item {
	struct pc_wait_item *next;
	void *ptr;
	struct proccache_key key;
	uint32_t pid;
};

static uint32_t bucket_of(const struct pc_waitmap *m, uint32_t pid)
{
	return (pid * 2654435761u) & m->mask;
}

/* Double the buckets once items outnumber them; on ENOMEM the chains just
 * stay longer. Chains keep their order: moved to the heads of the new
 * chains in order, then each new chain is reversed (O(items)). */
static void grow(struct pc_waitmap *m)
{
	uint32_t n = m->buckets ? (m->mask + 1) * 2 : INITIAL_BUCKETS;
	struct pc_wait_item **b = calloc(n, sizeof(*b));
	struct pc_waitmap grown = { .buckets = b, .mask = n - 1 };

	if (!b)
		return;
	for (uint32_t i = 0; m->buckets && i <= m->mask; i++) {
		struct pc_wait_item *it = m->buckets[i], *next;

		for (; it; it = next) {
			struct pc_wait_item **head = &b[bucket_of(&grown, it->pid)];

			next = it->next;
			it->next = *head;
			*head = it;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct pc_wait_item *it = b[i], *prev = NULL, *next;

		for (; it; it = next) {
			next = it->next;
			it->next = prev;
			prev = it;
		}
		b[i] = prev;
	}
	free(m->buckets);
	m->buckets = b;
	m->mask = n - 1;
}

static struct pc_wait_item *item_new(struct pc_waitmap *m, uint32_t pid)
{
	struct pc_wait_item *it;

	if (!m->buckets || m->count > m->mask)
		grow(m);
	if (!m->buckets)
		return NULL;
	it = calloc(1, sizeof(*it));
	if (it)
		it->pid = pid;
	return it;
}

int pc_waitmap_add(struct pc_waitmap *m, uint32_t pid, void *ptr)
{
	struct pc_wait_item *it = item_new(m, pid), **tail;

	if (!it)
		return -ENOMEM;
	it->ptr = ptr;
	for (tail = &m->buckets[bucket_of(m, pid)]; *tail; tail = &(*tail)->next)
		;
	*tail = it;
	m->count++;
	return 0;
}

int pc_waitmap_push(struct pc_waitmap *m, uint32_t pid,
		    const struct proccache_key *key)
{
	struct pc_wait_item *it = item_new(m, pid), **head;

	if (!it)
		return -ENOMEM;
	it->key = *key;
	head = &m->buckets[bucket_of(m, pid)];
	it->next = *head;
	*head = it;
	m->count++;
	return 0;
}

bool pc_waitmap_remove(struct pc_waitmap *m, uint32_t pid, void *ptr)
{
	struct pc_wait_item **pp;

	if (!m->buckets)
		return false;
	for (pp = &m->buckets[bucket_of(m, pid)]; *pp; pp = &(*pp)->next) {
		struct pc_wait_item *it = *pp;

		if (it->pid == pid && it->ptr == ptr) {
			*pp = it->next;
			free(it);
			m->count--;
			return true;
		}
	}
	return false;
}

/* Run @fn on the items of one chain (only those of @pid unless @all). */
static void chain_take(struct pc_waitmap *m, struct pc_wait_item **pp,
		       uint32_t pid, bool all, pc_waitmap_fn fn, void *userdata)
{
	while (*pp) {
		struct pc_wait_item *it = *pp;

		if ((all || it->pid == pid) &&
		    fn(it->ptr, it->ptr ? NULL : &it->key, userdata)) {
			*pp = it->next;
			free(it);
			m->count--;
		} else {
			pp = &it->next;
		}
	}
}

void pc_waitmap_take(struct pc_waitmap *m, uint32_t pid, pc_waitmap_fn fn,
		     void *userdata)
{
	if (m->buckets)
		chain_take(m, &m->buckets[bucket_of(m, pid)], pid, false, fn,
			   userdata);
}

void pc_waitmap_sweep(struct pc_waitmap *m, pc_waitmap_fn fn, void *userdata)
{
	for (uint32_t i = 0; m->buckets && i <= m->mask; i++)
		chain_take(m, &m->buckets[i], 0, true, fn, userdata);
}

void pc_waitmap_free(struct pc_waitmap *m, void (*fn)(void *ptr))
{
	for (uint32_t i = 0; m->buckets && i <= m->mask; i++) {
		struct pc_wait_item *it = m->buckets[i], *next;

		for (; it; it = next) {
			next = it->next;
			if (fn)
				fn(it->ptr);
			free(it);
		}
	}
	free(m->buckets);
	*m = (struct pc_waitmap){ 0 };
}
