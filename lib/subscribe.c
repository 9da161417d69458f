/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Subscriptions and dispatch, on the ingest thread. A callback may subscribe
 * and unsubscribe (itself or others) while a dispatch walks the list: an
 * unsubscribed entry is only marked dead until the outermost dispatch ends,
 * and a new one is armed only then, so it sees the next event.
 */
#include <errno.h>
#include <stdlib.h>

#include "cache.h"
#include "opts.h"

#define EVENT_MASK                                                             \
	(PROCCACHE_EVENT_EXEC | PROCCACHE_EVENT_CLONE | PROCCACHE_EVENT_EXIT | \
	 PROCCACHE_EVENT_LOST | PROCCACHE_EVENT_CREDS)

struct proccache_sub {
	struct proccache *pc;
	uint32_t mask;
	bool armed;
	bool dead;
	proccache_event_fn fn;
	proccache_destroy_fn destroy;
	void *userdata;
	struct proccache_sub *next;
};

PROCCACHE_API struct proccache_sub *
proccache__subscribe(struct proccache *pc, uint32_t mask, proccache_event_fn fn,
		     void *userdata, const struct proccache_subscribe_opts *opts)
{
	struct proccache_sub *s;

	if (!pc || !fn || !mask || (mask & ~EVENT_MASK) ||
	    !pc_opts_valid(opts, sizeof(*opts), "proccache_subscribe_opts")) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pc = pc;
	s->mask = mask;
	s->fn = fn;
	s->userdata = userdata;
	s->destroy = PC_OPTS_GET(opts, destroy, NULL);
	s->armed = pc->dispatch_depth == 0;
	pc->subs_dirty |= !s->armed;
	if (pc->subs_tail)
		pc->subs_tail->next = s;
	else
		pc->subs = s;
	pc->subs_tail = s;
	return s;
}

static void sub_destroy(struct proccache_sub *s)
{
	if (s->destroy)
		s->destroy(s->userdata);
	free(s);
}

/* Drop dead entries and arm new ones; only outside any dispatch. */
static void subs_settle(struct proccache *pc)
{
	struct proccache_sub **link = &pc->subs, *s;

	pc->subs_tail = NULL;
	while ((s = *link)) {
		if (s->dead) {
			*link = s->next;
			sub_destroy(s);
			continue;
		}
		s->armed = true;
		pc->subs_tail = s;
		link = &s->next;
	}
	pc->subs_dirty = false;
}

PROCCACHE_API void proccache_sub__unsubscribe(struct proccache_sub *sub)
{
	struct proccache *pc;

	if (!sub || sub->dead)
		return;
	pc = sub->pc;
	sub->dead = true;
	pc->subs_dirty = true;
	if (pc->dispatch_depth == 0)
		subs_settle(pc);
}

PROCCACHE_API void *proccache_sub__userdata(const struct proccache_sub *sub)
{
	return sub ? sub->userdata : NULL;
}

int pc_dispatch(struct proccache *pc, const struct proccache_event *ev,
		const struct proccache_process *proc,
		const struct proccache_process *parent)
{
	int ret = 0;

	pc->dispatch_depth++;
	for (struct proccache_sub *s = pc->subs; s; s = s->next) {
		if (s->dead || !s->armed || !(s->mask & ev->type))
			continue;
		ret = s->fn(pc, ev, proc, parent, s->userdata);
		if (ret < 0)
			break;
		ret = 0;
	}
	if (--pc->dispatch_depth == 0 && pc->subs_dirty)
		subs_settle(pc);
	return ret;
}

void pc_subs_free_all(struct proccache *pc)
{
	for (struct proccache_sub *s = pc->subs; s; s = s->next)
		s->dead = true;
	subs_settle(pc);
}
