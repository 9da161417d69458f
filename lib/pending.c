/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pending.h"

/* ---- exits held for their entry ----------------------------------------- */

static void held_unlink(struct proccache *pc, struct pc_held *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		pc->held_head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		pc->held_tail = h->prev;
	pc_waitmap_remove(&pc->held, h->ev.pid, h);
	pc_stat_dec(pc, pending);
}

int pc_held_add(struct proccache *pc, const struct proccache_event *ev)
{
	struct pc_held *h = malloc(sizeof(*h));

	if (!h)
		return -ENOMEM;
	if (pc_waitmap_add(&pc->held, ev->pid, h)) {
		free(h);
		return -ENOMEM;
	}
	h->ev = *ev;
	h->ev.args = h->ev.binary = h->ev.cwd = h->ev.container_id = NULL;
	h->ev.args_len = 0;
	if (!h->ev.time)
		h->ev.time = pc->now;
	h->deadline = pc->now + pc->hold_ns;
	h->next = NULL;
	h->prev = pc->held_tail;
	if (pc->held_tail)
		pc->held_tail->next = h;
	else
		pc->held_head = h;
	pc->held_tail = h;
	pc_stat_inc(pc, pending);
	return 0;
}

bool pc_held_matches(const struct pc_held *h, uint64_t ktime, uint64_t start)
{
	uint64_t k = h->ev.ktime;

	if (ktime > h->ev.time)
		return false; /* started after the exit: another process */
	if (!k || k == ktime)
		return true;
	/* A later image of the process whose earlier one the exit names. */
	return k < ktime && pc_same_start(start, k);
}

struct held_match {
	uint64_t ktime, start;
	struct pc_held *found;
};

static bool held_match_one(void *ptr, const struct proccache_key *key,
			   void *userdata)
{
	struct held_match *m = userdata;

	(void)key;
	if (m->found || !pc_held_matches(ptr, m->ktime, m->start))
		return false;
	m->found = ptr;
	return false; /* held_unlink() removes it from the map */
}

struct pc_held *pc_held_take_for(struct proccache *pc, struct pc_node *n)
{
	struct held_match m = {
		.ktime = n->key.ktime,
		.start = pc_node_snapshot(n)->start_time,
	};

	if (!pc->held.count)
		return NULL;
	pc_waitmap_take(&pc->held, n->key.pid, held_match_one, &m);
	if (m.found)
		held_unlink(pc, m.found);
	return m.found;
}

struct pc_held *pc_held_take_expired(struct proccache *pc)
{
	struct pc_held *h = pc->held_head;

	if (!h || (h->deadline > pc->now && pc->held.count <= PC_HELD_MAX))
		return NULL;
	held_unlink(pc, h);
	return h;
}

/* ---- recent exits --------------------------------------------------------- */

struct pc_recent_exit {
	struct proccache_key key;
	uint64_t time;
};

static struct pc_recent_exit *recent_slot(struct proccache *pc, uint32_t pid)
{
	if (!pc->recent) {
		pc->recent = calloc(PC_RECENT_EXITS, sizeof(*pc->recent));
		if (!pc->recent)
			return NULL;
	}
	return &pc->recent[(pid * 2654435761u) % PC_RECENT_EXITS];
}

void pc_recent_exit_note(struct proccache *pc, const struct pc_node *n,
			 uint64_t time)
{
	struct pc_recent_exit *r = recent_slot(pc, n->key.pid);

	if (r) {
		r->key = n->key;
		r->time = time;
	}
}

bool pc_recent_exit_at(struct proccache *pc, uint32_t pid, uint64_t time)
{
	struct pc_recent_exit *r = pc->recent ? recent_slot(pc, pid) : NULL;

	return r && time && r->key.pid == pid && r->time == time;
}

struct pc_node *pc_recent_exit_find(struct proccache *pc, uint32_t pid,
				    uint64_t ktime)
{
	struct pc_recent_exit *r = pc->recent ? recent_slot(pc, pid) : NULL;
	struct pc_node *n;

	if (!r || r->key.pid != pid || r->key.ktime >= ktime || r->time < ktime)
		return NULL;
	n = pc_find_key(pc, &r->key);
	if (!n || n->live ||
	    pc_node_snapshot(n)->state != PROCCACHE_STATE_EXITED)
		return NULL;
	return n;
}

/* ---- children waiting for their parent ------------------------------------ */

/* The waiting child an item names, or NULL when it no longer waits (it was
 * reclaimed, or got its parent another way): such an item is dropped. */
static struct pc_node *waiting_child(struct proccache *pc,
				     const struct proccache_key *key)
{
	struct pc_node *child = pc_find_key(pc, key);

	return child && !pc_node_parent(child) ? child : NULL;
}

static bool no_longer_waits(void *ptr, const struct proccache_key *key,
			    void *userdata)
{
	(void)ptr;
	return !waiting_child(userdata, key);
}

/*
 * Children wait by key, pushed in O(1): a reclaimed child leaves a stale
 * item, dropped when its parent's pid comes or, once the items have
 * doubled since the last sweep, by a sweep (O(1) per item over time).
 */
int pc_orphan_add(struct proccache *pc, struct pc_node *child)
{
	int err;

	if (child->orphan)
		return 0;
	if (pc->orphans.count >= pc->orphans_sweep_at) {
		pc_waitmap_sweep(&pc->orphans, no_longer_waits, pc);
		pc->orphans_sweep_at = 2 * pc->orphans.count + PC_ORPHANS_SWEEP_MIN;
	}
	err = pc_waitmap_push(&pc->orphans,
			      pc_node_snapshot(child)->parent_pid, &child->key);
	if (!err)
		child->orphan = true;
	return err;
}

struct adopt_ctx {
	struct proccache *pc;
	struct pc_node *parent;
	bool (*adopt)(struct proccache *, struct pc_node *, struct pc_node *);
	unsigned int count;
};

static bool adopt_one(void *ptr, const struct proccache_key *key,
		      void *userdata)
{
	struct adopt_ctx *a = userdata;
	struct pc_node *child = waiting_child(a->pc, key);

	(void)ptr;
	if (!child)
		return true;
	if (!a->adopt(a->pc, child, a->parent))
		return false;
	child->orphan = false;
	a->count++;
	return true;
}

unsigned int pc_orphans_adopt(struct proccache *pc, struct pc_node *n,
			      bool (*adopt)(struct proccache *pc,
					    struct pc_node *child,
					    struct pc_node *parent))
{
	struct adopt_ctx a = { .pc = pc, .parent = n, .adopt = adopt };

	if (pc->orphans.count)
		pc_waitmap_take(&pc->orphans, n->key.pid, adopt_one, &a);
	return a.count;
}
