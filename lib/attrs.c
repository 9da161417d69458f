/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Interned attributes (credentials, capabilities, namespaces, cgroup,
 * labels, session context): the writer keeps one copy per distinct set,
 * shared by the images that have it, and frees the unreferenced ones in
 * a sweep. A part of the cache, split from cache.c for size.
 */
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define ATTRS_INITIAL 64
#define ATTRS_SWEEP_MIN 64

/* Interned attributes compare and hash as the bytes after the count; they
 * are zeroed before filling, padding included. */
#define ATTRS_OFF offsetof(struct pc_attrs, creds)
_Static_assert((sizeof(struct pc_attrs) - ATTRS_OFF) % 8 == 0,
	       "attributes hash as whole words");

/* Hashed on every exec and clone: one multiply and a rotation per word,
 * one full mix at the end (a full mix per word was 40% of interning an
 * exec's attributes). */
static unsigned long hash_attrs(const void *obj, unsigned long seed)
{
	const uint64_t *w = (const void *)((const char *)obj + ATTRS_OFF);
	uint64_t h = seed;

	for (size_t i = 0; i < (sizeof(struct pc_attrs) - ATTRS_OFF) / 8; i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
		h = h << 31 | h >> 33;
	}
	return pc_mix64(h);
}

static bool same_attrs(const void *a, const void *b)
{
	return memcmp((const char *)a + ATTRS_OFF, (const char *)b + ATTRS_OFF,
		      sizeof(struct pc_attrs) - ATTRS_OFF) == 0;
}

bool pc_attrs_init(struct proccache *pc, unsigned long seed)
{
	pc->attrs_sweep_at = ATTRS_SWEEP_MIN;
	return ck_hs_init(&pc->attrs, PC_HS_MODE, hash_attrs, same_attrs,
			  &pc->hs_alloc, ATTRS_INITIAL, seed);
}

/* After the epoch barrier of proccache__free(): no reader is left. */
void pc_attrs_destroy(struct proccache *pc)
{
	ck_hs_iterator_t it = CK_HS_ITERATOR_INITIALIZER;
	void *obj;

	while (ck_hs_next(&pc->attrs, &it, &obj))
		free(obj);
	ck_hs_destroy(&pc->attrs);
}

struct pc_attrs *pc_attrs_get(struct proccache *pc,
			      const struct proccache_event *ev,
			      uint64_t labels, const struct pc_ctx *ctx)
{
	struct pc_attrs probe, *a;
	unsigned long h;

	memset(&probe, 0, sizeof(probe));
	probe.env_kept = pc->env != NULL;
	probe.node_name = pc->node_name;
	probe.creds = ev->creds;
	probe.caps = ev->caps;
	probe.ns = ev->ns;
	probe.cgroup_id = ev->cgroup_id;
	probe.labels = labels;
	if (ctx) {
		probe.ctx = *ctx;
	} else if (ev->comm[0]) {
		probe.ctx.known = 1;
		probe.ctx.sid = ev->sid;
		probe.ctx.tty = ev->tty;
	}
	h = CK_HS_HASH(&pc->attrs, hash_attrs, &probe);
	a = ck_hs_get(&pc->attrs, h, &probe);
	if (a) {
		/* Only the writer raises a count, so one at zero stays valid
		 * until the writer's own sweep. */
		atomic_fetch_add_explicit(&a->ref, 1, memory_order_relaxed);
		return a;
	}
	a = malloc(sizeof(*a));
	if (!a)
		return NULL;
	memcpy(a, &probe, sizeof(*a));
	atomic_init(&a->ref, 1);
	if (!ck_hs_put(&pc->attrs, h, a)) {
		free(a);
		return NULL;
	}
	return a;
}

struct pc_attrs *pc_attrs_with_ctx(struct proccache *pc,
				   const struct pc_attrs *a,
				   const struct pc_ctx *ctx)
{
	struct proccache_event ev = {
		.creds = a->creds,
		.caps = a->caps,
		.ns = a->ns,
		.cgroup_id = a->cgroup_id,
	};

	return pc_attrs_get(pc, &ev, a->labels, ctx);
}

/* Free the interned attributes nobody refers to any more, once the table
 * has doubled since the last sweep. */
void pc_attrs_sweep(struct proccache *pc)
{
	ck_hs_iterator_t it = CK_HS_ITERATOR_INITIALIZER;
	unsigned long count = ck_hs_count(&pc->attrs), n = 0;
	struct pc_attrs **dead;
	void *obj;

	if (count < pc->attrs_sweep_at)
		return;
	dead = malloc(count * sizeof(*dead));
	if (!dead)
		return;
	while (ck_hs_next(&pc->attrs, &it, &obj))
		if (atomic_load_explicit(&((struct pc_attrs *)obj)->ref,
					 memory_order_acquire) == 0)
			dead[n++] = obj;
	for (unsigned long i = 0; i < n; i++) {
		ck_hs_remove(&pc->attrs,
			     CK_HS_HASH(&pc->attrs, hash_attrs, dead[i]),
			     dead[i]);
		free(dead[i]);
	}
	free(dead);
	pc->attrs_sweep_at = 2 * (count - n) + ATTRS_SWEEP_MIN;
}
