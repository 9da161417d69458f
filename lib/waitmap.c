/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "waitmap.h"

#define INITIAL_BUCKETS 64u

struct pc_wait_item {
	struct pc_wait_item *next;
	void *ptr;
	uint32_t pid;
};

static uint32_t bucket_of(const struct pc_waitmap *m, uint32_t pid)
{
	return (pid * 2654435761u) & m->mask;
}

/* Double the buckets once items outnumber them; on ENOMEM the chains just
 * stay longer. Chains keep their order: oldest first. */
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
			struct pc_wait_item **tail = &b[bucket_of(&grown, it->pid)];

			next = it->next;
			while (*tail)
				tail = &(*tail)->next;
			it->next = NULL;
			*tail = it;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->mask = n - 1;
}

int pc_waitmap_add(struct pc_waitmap *m, uint32_t pid, void *ptr)
{
	struct pc_wait_item *it, **tail;

	if (!m->buckets || m->count > m->mask)
		grow(m);
	if (!m->buckets)
		return -ENOMEM;
	it = malloc(sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->next = NULL;
	it->ptr = ptr;
	it->pid = pid;
	for (tail = &m->buckets[bucket_of(m, pid)]; *tail; tail = &(*tail)->next)
		;
	*tail = it;
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

void pc_waitmap_take(struct pc_waitmap *m, uint32_t pid,
		     bool (*fn)(void *ptr, void *userdata), void *userdata)
{
	struct pc_wait_item **pp;

	if (!m->buckets)
		return;
	pp = &m->buckets[bucket_of(m, pid)];
	while (*pp) {
		struct pc_wait_item *it = *pp;

		if (it->pid == pid && fn(it->ptr, userdata)) {
			*pp = it->next;
			free(it);
			m->count--;
		} else {
			pp = &it->next;
		}
	}
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
