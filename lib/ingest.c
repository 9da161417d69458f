/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The single writer and the one owner of lineage (docs/process-model.md):
 * which entry is the parent, which image an exec replaces, and what to do
 * with events that arrive early, late or twice. Every change to the cache
 * goes through proccache__ingest(). Sensors only say what they know.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "clock.h"
#include "context.h"
#include "labels.h"
#include "opts.h"
#include "ingest_creds.h"
#include "ingest_fields.h"
#include "pending.h"
#include "redact.h"

/* Event payloads beyond this are refused rather than copied. */
#define MAX_ARGS_LEN (16u << 20)
/* Deferred frees are polled for every this many events. */
#define POLL_EVERY 32

static bool key_eq(const struct proccache_key *a, const struct proccache_key *b)
{
	return a->pid == b->pid && a->ktime == b->ktime;
}

static bool is_clone_entry(struct pc_node *n)
{
	return pc_node_snapshot(n)->flags & PROCCACHE_F_CLONE;
}

static struct pc_node *parent_of(struct pc_node *n)
{
	return pc_node_parent(n);
}

/* The live entry of @pid, if it is the process that started at @start (a
 * time from /proc, so equal to the tick). */
static struct pc_node *live_started_at(struct proccache *pc, uint32_t pid,
				       uint64_t start)
{
	struct pc_node *n = pc_find_pid(pc, pid);

	if (n && pc_same_start(pc_node_snapshot(n)->start_time, start))
		return n;
	return NULL;
}

/*
 * The parent named by a sensor. pid 0 means "none" (pid 1, kthreadd); a key
 * with ktime 0 means "the live process holding that pid". A full key is
 * looked up as such; a sensor reading /proc names a parent by its start time,
 * which is the key only if the parent has not exec'd since, so the live
 * process with that pid and start time is the parent too. A pid that may
 * have been reused is not guessed at: the child waits for its parent.
 */
static struct pc_node *resolve_parent(struct proccache *pc,
				      const struct proccache_key *k,
				      bool *ret_unknown)
{
	struct pc_node *n;

	*ret_unknown = false;
	if (k->pid == 0)
		return NULL;
	if (!k->ktime)
		n = pc_find_pid(pc, k->pid);
	else if (!(n = pc_find_key(pc, k)))
		n = live_started_at(pc, k->pid, k->ktime);
	if (!n) {
		*ret_unknown = true;
		pc_stat_inc(pc, parent_unknown);
	}
	return n;
}

/* Publish @snap, a finished copy of @n's snapshot, as @n's last state:
 * @n leaves the pid index and waits for reclaim once unreferenced. */
static void publish_end(struct proccache *pc, struct pc_node *n,
			struct proccache_process *snap)
{
	pc_node_publish(pc, n, snap);
	pc_node_set_live(pc, n, false);
	pc_node_release_check(pc, n);
}

/* The snapshot that retires @n's image, replaced by an exec of the same
 * pid; made before anything changes, so that no memory is missing after.
 * A retired image has no exit, even if one was wrongly given to it before
 * the exec arrived. */
static struct proccache_process *retired_snapshot(struct pc_node *n)
{
	struct proccache_process *snap = pc_process_dup(pc_node_snapshot(n));

	if (snap) {
		snap->state = PROCCACHE_STATE_RETIRED;
		snap->exit_code = 0;
		snap->exit_signal = 0;
		snap->exit_time = 0;
	}
	return snap;
}

/* A live entry whose exit we never saw holds a pid now used by another
 * process: it exited, at an unknown time, with an unknown status. */
static int infer_exit(struct proccache *pc, struct pc_node *n)
{
	struct proccache_process *snap = pc_process_dup(pc_node_snapshot(n));

	if (!snap)
		return -ENOMEM;
	snap->state = PROCCACHE_STATE_EXITED;
	snap->flags |= PROCCACHE_F_EXIT_INFERRED;
	snap->exit_time = pc->now;
	publish_end(pc, n, snap);
	pc_recent_exit_note(pc, n, snap->exit_time);
	pc_stat_inc(pc, pid_reuse);
	return 0;
}

/* End @n with the exit @ev and tell the subscribers. */
static int end_with_exit(struct proccache *pc, struct pc_node *n,
			 const struct proccache_event *ev)
{
	struct proccache_process *snap = pc_process_dup(pc_node_snapshot(n));

	if (!snap)
		return -ENOMEM;
	snap->state = PROCCACHE_STATE_EXITED;
	snap->exit_code = ev->exit_code;
	snap->exit_signal = (int16_t)ev->exit_signal;
	snap->exit_time = ev->time ? ev->time : pc->now;
	snap->flags |= ev->flags & PROCCACHE_F_EXIT_INFERRED;
	publish_end(pc, n, snap);
	pc_recent_exit_note(pc, n, snap->exit_time);
	return pc_dispatch(pc, ev, snap, pc_node_parent_snapshot(n));
}

/* An exit of @n's pid that was held for @n: apply it now. */
static int apply_held_exit(struct proccache *pc, struct pc_node *n)
{
	struct pc_held *h = pc_held_take_for(pc, n);
	int err;

	if (!h)
		return 0;
	pc_stat_inc(pc, pending_applied);
	err = end_with_exit(pc, n, &h->ev);
	free(h);
	return err;
}

/* Is @n @ancestor or one of its descendants? (Only a host's own events
 * could make a parent descend from its child; a cycle must never form.) */
static bool descends_from(struct pc_node *n, struct pc_node *ancestor)
{
	for (; n; n = parent_of(n))
		if (n == ancestor)
			return true;
	return false;
}

/*
 * A parent that arrived after @child: take it if it is the one the child
 * named (its key, its start, or for a parent named by pid alone, the first
 * entry of that pid that started no later than the child).
 */
static bool adopt(struct proccache *pc, struct pc_node *child,
		  struct pc_node *parent)
{
	struct proccache_process *cs = pc_node_snapshot(child), *snap;
	const struct proccache_process *ps = pc_node_snapshot(parent);
	uint64_t named = cs->parent_ktime;

	if (parent_of(child) || descends_from(parent, child))
		return false;
	if (named ? named != parent->key.ktime &&
			    !pc_same_start(ps->start_time, named)
		  : ps->start_time > cs->start_time)
		return false;
	snap = pc_process_dup(cs);
	if (!snap)
		return false; /* it keeps waiting */
	snap->flags &= ~(uint32_t)PROCCACHE_F_PARENT_UNKNOWN;
	snap->parent_pid = parent->key.pid;
	snap->parent_ktime = parent->key.ktime;
	pc_labels_adopt(pc, snap, ps);
	pc_ctx_adopt(pc, snap, parent);
	pc_node_adopt(child, parent);
	pc_node_publish(pc, child, snap);
	pc_stat_inc(pc, adopted);
	return true;
}

/* Children of an unknown parent wait for it; on ENOMEM they stay unknown. */
static void wait_for_parent(struct proccache *pc, struct pc_node *n)
{
	const struct proccache_process *s = pc_node_snapshot(n);

	if ((s->flags & PROCCACHE_F_PARENT_UNKNOWN) && s->parent_pid &&
	    pc_orphan_add(pc, n))
		pc_warn("ingest: no memory to wait for pid %u's parent %u",
			n->key.pid, s->parent_pid);
}

/*
 * Insert a new live node for @snap, retire the image it replaces (if any,
 * only once the insert succeeded: on failure the cache stays as it was),
 * give it the children that waited for it, tell the subscribers, then apply
 * an exit that arrived before it, even if a subscriber stopped the dispatch
 * (its return is passed back; the cache is updated all the same).
 */
static int add_live(struct proccache *pc, const struct proccache_event *ev,
		    struct pc_node *parent, struct proccache_process *snap,
		    struct pc_node *replaced, struct pc_node **ret)
{
	struct proccache_key key = pc_process_key(snap);
	struct proccache_process *retired = NULL;
	struct pc_node *n = NULL;
	int err = -ENOMEM, held;

	if (replaced && replaced->live && !(retired = retired_snapshot(replaced)))
		goto fail;
	n = pc_node_new(&key, parent, snap);
	if (!n)
		goto fail;
	err = pc_node_insert(pc, n);
	if (err)
		goto fail;
	if (retired) {
		pc_past_via_successor(replaced, snap);
		publish_end(pc, replaced, retired);
	}
	pc_node_set_live(pc, n, true);
	wait_for_parent(pc, n);
	pc_orphans_adopt(pc, n, adopt);
	if (ret)
		*ret = n;
	err = pc_dispatch(pc, ev, snap, parent ? pc_node_snapshot(parent) : NULL);
	held = apply_held_exit(pc, n);
	return err ? err : held;

fail:
	proccache_process__unref(retired);
	proccache_process__unref(snap);
	pc_node_free_now(n);
	return err;
}

static struct proccache_process *new_snapshot(const struct proccache_event *ev,
					      struct pc_image *img)
{
	struct proccache_process *snap;

	if (!img)
		return NULL;
	snap = pc_process_new(img);
	if (!snap) {
		pc_image_unref(img);
		return NULL;
	}
	snap->pid = ev->pid;
	snap->ktime = ev->ktime;
	snap->tid = ev->tid ? ev->tid : ev->pid;
	snap->nspid = ev->nspid;
	snap->state = PROCCACHE_STATE_LIVE;
	return snap;
}

static void set_parent_key(struct proccache_process *snap,
			   const struct pc_node *parent,
			   const struct proccache_key *named)
{
	/* A named parent unknown to us is still worth showing, even by pid
	 * alone. */
	const struct proccache_key *k = parent ? &parent->key
				       : named->pid ? named : NULL;

	if (k) {
		snap->parent_pid = k->pid;
		snap->parent_ktime = k->ktime;
	}
}

/* With no live entry and no word from the sensor: the entry of the pid that
 * exited after this exec began, if it is the same process. */
static struct pc_node *recent_exit_of(struct proccache *pc,
				      const struct proccache_event *ev)
{
	struct pc_node *n = pc_recent_exit_find(pc, ev->pid, ev->ktime);

	if (n && ev->start_time &&
	    !pc_same_start(pc_node_snapshot(n)->start_time, ev->start_time))
		return NULL;
	return n;
}

/*
 * The entry an exec replaces: the live entry of the pid, unless the sensor
 * says otherwise: a different previous image (ev->prev), or a different
 * process start (ev->start_time), means the live entry is a process whose
 * exit was lost and the pid was reused. With no live entry, the entry that
 * exited after this exec started is the process the exec belonged to.
 * *@ret holds the live entry of the pid on entry.
 */
static int exec_predecessor(struct proccache *pc,
			    const struct proccache_event *ev,
			    struct pc_node **ret)
{
	struct pc_node *cur = *ret;
	bool stranger;
	int err;

	if (ev->prev.ktime)
		stranger = cur && !key_eq(&cur->key, &ev->prev);
	else
		stranger = cur && ev->start_time &&
			   pc_node_snapshot(cur)->start_time &&
			   !pc_same_start(pc_node_snapshot(cur)->start_time,
					  ev->start_time);
	if (stranger) {
		err = infer_exit(pc, cur);
		if (err)
			return err;
		cur = NULL;
	}
	if (ev->prev.ktime) {
		*ret = cur ? cur : pc_find_key(pc, &ev->prev);
		return 0;
	}
	if (!cur && !stranger)
		cur = recent_exit_of(pc, ev);
	*ret = cur;
	return 0;
}

/* An exec's labels come from the image it replaces, else from its parent. */
static uint64_t exec_labels(struct proccache *pc, struct pc_node *prev,
			    struct pc_node *parent)
{
	struct pc_node *from = prev ? prev : parent;

	return from ? pc_labels_exec(pc, pc_node_snapshot(from)) : 0;
}

/* Did the process end in @prev's image after the exec at @ktime began? */
static bool ended_after(struct pc_node *prev, uint64_t ktime)
{
	const struct proccache_process *ps = pc_node_snapshot(prev);

	return !prev->live && ps->state == PROCCACHE_STATE_EXITED &&
	       ps->exit_time >= ktime;
}

/*
 * An exec that arrives after its process's exit was applied to the image
 * it replaced: the exec's image is the one that exited. It is recorded as
 * such, the earlier image becomes retired, and the subscribers see the
 * exec and then the exit.
 */
static int end_late_exec(struct proccache *pc, struct pc_node *n,
			 struct pc_node *prev,
			 const struct proccache_process *exited)
{
	struct proccache_event ev = {
		.sz = sizeof(ev),
		.type = PROCCACHE_EVENT_EXIT,
		.pid = n->key.pid,
		.tid = exited->tid,
		.ktime = n->key.ktime,
		.exit_code = exited->exit_code,
		.exit_signal = exited->exit_signal,
		.time = pc_process_exit_time(exited),
		.flags = exited->flags & PROCCACHE_F_EXIT_INFERRED,
	};

	struct proccache_process *retired = retired_snapshot(prev);

	pc_stat_inc(pc, out_of_order);
	if (retired)
		publish_end(pc, prev, retired);
	else
		pc_warn("ingest: no memory to retire pid %u's old image",
			prev->key.pid);
	return end_with_exit(pc, n, &ev);
}

static int ingest_exec(struct proccache *pc, const struct proccache_event *ev)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct proccache_process *snap, *exited = NULL;
	struct pc_node *prev, *parent, *n = NULL;
	struct proccache_event known;
	struct pc_image *img;
	struct pc_ctx guess;
	bool unknown = false;
	int err;

	pc_stat_inc(pc, events_exec);
	if (pc_find_key(pc, &key)) {
		pc_stat_inc(pc, duplicates);
		return PROCCACHE_INGEST_DUPLICATE;
	}
	prev = pc_find_pid(pc, ev->pid);
	if (prev && prev->key.ktime > ev->ktime) {
		/* A stale exec: the newer image stays, history is not
		 * rewritten behind it. */
		pc_stat_inc(pc, out_of_order);
		return PROCCACHE_INGEST_IGNORED;
	}
	if (!pc_make_room(pc)) {
		pc_stat_inc(pc, refused_full);
		return -ENOSPC;
	}
	err = exec_predecessor(pc, ev, &prev);
	if (err)
		return err;
	if (prev) {
		parent = is_clone_entry(prev) ? parent_of(prev) : prev;
		/* a clone's unknown parent stays unknown after its exec, and
		 * so does one only the exec names */
		unknown = !parent && ((pc_node_snapshot(prev)->flags &
				       PROCCACHE_F_PARENT_UNKNOWN) ||
				      ev->parent.pid);
	} else {
		parent = resolve_parent(pc, &ev->parent, &unknown);
	}

	if (ev->unknown && !(ev->flags & PROCCACHE_F_VANISHED && prev)) {
		/* not read: the replaced image's, else what the process had
		 * from its parent at the fork (an exec before its clone) */
		struct pc_node *from = prev ? prev : parent;

		known = *ev;
		pc_exec_take_fields(&known,
				    from ? pc_node_snapshot(from)->image : NULL,
				    ev->unknown);
		/* status gives the nspid too: 0 takes the replaced one's */
		if (ev->unknown & PROCCACHE_FIELD_CREDS)
			known.nspid = 0;
		ev = &known;
	}
	pc_ctx_guess(&guess, ev, parent);
	if ((ev->flags & PROCCACHE_F_VANISHED) && prev)
		img = pc_exec_inherited_image(pc, ev, prev);
	else
		img = pc_image_new(ev, pc_attrs_get(pc, ev,
						    exec_labels(pc, prev, parent),
						    &guess));
	snap = new_snapshot(ev, img);
	if (!snap)
		return -ENOMEM;
	snap->tid = ev->pid; /* the exec'ing thread is the leader now */
	snap->flags = ev->flags & ~(uint32_t)(PROCCACHE_F_CLONE |
					      PROCCACHE_F_EXIT_INFERRED |
					      PROCCACHE_F_PARENT_UNKNOWN |
					      PROCCACHE_F_EXEC_AFTER_CLONE);
	if (!(ev->flags & PROCCACHE_F_PROCFS))
		snap->flags |= PROCCACHE_F_EXECVE;
	if ((prev && is_clone_entry(prev)) ||
	    (!prev && ev->prev.ktime && ev->prev.ktime == ev->start_time))
		snap->flags |= PROCCACHE_F_EXEC_AFTER_CLONE;
	snap->start_time = ev->start_time;
	if (prev) {
		const struct proccache_process *ps = pc_node_snapshot(prev);

		if (!snap->start_time)
			snap->start_time = ps->start_time;
		if (!snap->nspid)
			snap->nspid = ps->nspid;
		if (!parent && (ps->flags & PROCCACHE_F_PARENT_UNKNOWN)) {
			/* The clone's parent is still awaited: so is ours. */
			snap->flags |= PROCCACHE_F_PARENT_UNKNOWN;
			snap->parent_pid = ps->parent_pid;
			snap->parent_ktime = ps->parent_ktime;
		}
		if (ended_after(prev, ev->ktime))
			exited = proccache_process__ref(
				(struct proccache_process *)ps);
	}
	if (unknown)
		snap->flags |= PROCCACHE_F_PARENT_UNKNOWN;
	if (!snap->start_time)
		snap->start_time = ev->ktime;
	set_parent_key(snap, parent, &ev->parent);
	if (pc_ctx_exec(pc, snap, parent)) {
		proccache_process__unref(snap);
		proccache_process__unref(exited);
		return -ENOMEM;
	}

	err = add_live(pc, ev, parent, snap, prev, &n);
	if (exited) {
		/* n is set once inserted: a subscriber's stop does not keep
		 * the exit from it. */
		if (n) {
			int ended = end_late_exec(pc, n, prev, exited);

			if (!err)
				err = ended;
		}
		proccache_process__unref(exited);
	}
	return err;
}

/*
 * A clone that arrives after the child's own exec: the exec's entry is the
 * process, so the clone adds no entry. It still tells who forked the child
 * and that the exec was the first after a fork.
 */
static int link_late_clone(struct proccache *pc,
			   const struct proccache_event *ev,
			   struct pc_node *cur)
{
	const struct proccache_process *cs = pc_node_snapshot(cur);
	struct proccache_process *snap;
	struct pc_node *parent = NULL;
	bool unknown, first_exec;

	pc_stat_inc(pc, out_of_order);
	if (!pc_same_start(cs->start_time, ev->ktime))
		return PROCCACHE_INGEST_IGNORED; /* an older process's clone */
	if (!parent_of(cur)) {
		parent = resolve_parent(pc, &ev->parent, &unknown);
		if (parent && descends_from(parent, cur))
			parent = NULL;
	}
	first_exec = !(cs->flags & (PROCCACHE_F_CLONE |
				    PROCCACHE_F_EXEC_AFTER_CLONE)) &&
		     (!parent_of(cur) || parent_of(cur)->key.pid != cur->key.pid);
	if (!parent && !first_exec)
		return PROCCACHE_INGEST_DUPLICATE;
	snap = pc_process_dup(cs);
	if (!snap)
		return -ENOMEM;
	if (first_exec)
		snap->flags |= PROCCACHE_F_EXEC_AFTER_CLONE;
	if (parent) {
		cur->orphan = false;
		snap->flags &= ~(uint32_t)PROCCACHE_F_PARENT_UNKNOWN;
		snap->parent_pid = parent->key.pid;
		snap->parent_ktime = parent->key.ktime;
		pc_labels_adopt(pc, snap, pc_node_snapshot(parent));
		pc_ctx_adopt(pc, snap, parent);
		pc_node_adopt(cur, parent);
		pc_stat_inc(pc, adopted);
	}
	pc_node_publish(pc, cur, snap);
	return PROCCACHE_INGEST_APPLIED;
}

static int ingest_clone(struct proccache *pc, const struct proccache_event *ev)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct proccache_process *snap;
	struct pc_node *cur, *parent;
	struct pc_image *img;
	bool unknown;
	int err;

	pc_stat_inc(pc, events_clone);
	if (pc_find_key(pc, &key)) {
		pc_stat_inc(pc, duplicates);
		return PROCCACHE_INGEST_DUPLICATE;
	}
	cur = pc_find_pid(pc, ev->pid);
	if (cur && cur->key.ktime >= ev->ktime)
		return link_late_clone(pc, ev, cur);
	if (!pc_make_room(pc)) {
		pc_stat_inc(pc, refused_full);
		return -ENOSPC;
	}
	if (cur) {
		err = infer_exit(pc, cur);
		if (err)
			return err;
	}
	parent = resolve_parent(pc, &ev->parent, &unknown);
	img = parent ? pc_image_ref(pc_node_snapshot(parent)->image)
		     : pc_image_new(ev, pc_attrs_get(pc, ev, 0, NULL));
	snap = new_snapshot(ev, img);
	if (!snap)
		return -ENOMEM;
	snap->flags = PROCCACHE_F_CLONE |
		      ((parent ? pc_node_snapshot(parent)->flags : ev->flags) &
		       PC_IMAGE_FLAGS);
	if (unknown)
		snap->flags |= PROCCACHE_F_PARENT_UNKNOWN;
	snap->start_time = ev->ktime;
	set_parent_key(snap, parent, &ev->parent);
	if (pc_ctx_clone(pc, snap, parent)) {
		proccache_process__unref(snap);
		return -ENOMEM;
	}
	return add_live(pc, ev, parent, snap, NULL, NULL);
}

/*
 * Which entry an exit ends. An exit may name the key of an older image of
 * the process (e.g. the clone's), or none: the process is then the live
 * entry of the pid. An exit whose entry is not cached yet is held for it.
 * Returns the entry, or NULL with *ret_result saying what became of it.
 */
static struct pc_node *exit_target(struct proccache *pc,
				   const struct proccache_event *ev,
				   int *ret_result)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct pc_node *live = pc_find_pid(pc, ev->pid);
	/* keys are unique: a live entry of that key is the one by key */
	struct pc_node *n = !ev->ktime ? NULL
			    : live && key_eq(&live->key, &key) ? live
							       : pc_find_key(pc, &key);

	*ret_result = PROCCACHE_INGEST_APPLIED;
	if (!ev->ktime && live)
		return live;
	if (n && n->live)
		return n;
	if (n && live && live->key.ktime > ev->ktime &&
	    pc_node_snapshot(n)->state == PROCCACHE_STATE_RETIRED)
		return live;
	if (n || (!ev->ktime && pc_recent_exit_at(pc, ev->pid, ev->time))) {
		pc_stat_inc(pc, duplicates);
		*ret_result = PROCCACHE_INGEST_DUPLICATE;
		return NULL;
	}
	if (live && pc_same_start(pc_node_snapshot(live)->start_time, ev->ktime))
		return live; /* named by the process start: its clone key */
	if (live && live->key.ktime > ev->ktime) {
		/* A process older than the one holding the pid now. */
		pc_stat_inc(pc, out_of_order);
		*ret_result = PROCCACHE_INGEST_IGNORED;
		return NULL;
	}
	/* Its exec or clone has not arrived (or, with an older live entry,
	 * its exec was lost: decided when the hold expires). */
	*ret_result = PROCCACHE_INGEST_HELD;
	return NULL;
}

static int ingest_exit(struct proccache *pc, const struct proccache_event *ev)
{
	struct pc_node *n;
	int result, err;

	pc_stat_inc(pc, events_exit);
	n = exit_target(pc, ev, &result);
	if (n)
		return end_with_exit(pc, n, ev);
	if (result != PROCCACHE_INGEST_HELD)
		return result;
	err = pc_held_add(pc, ev);
	return err ? err : PROCCACHE_INGEST_HELD;
}

/*
 * Held exits whose hold ended: one whose exec never came ends the older
 * live image of its pid (the exec was lost); any other is dropped.
 * Subscribers' returns are not passed on: the event they are about is not
 * the caller's.
 */
static void expire_held(struct proccache *pc)
{
	struct pc_held *h;

	while ((h = pc_held_take_expired(pc))) {
		struct pc_node *live = pc_find_pid(pc, h->ev.pid);

		if (h->ev.ktime && live && live->key.ktime < h->ev.ktime) {
			pc_stat_inc(pc, pending_applied);
			(void)end_with_exit(pc, live, &h->ev);
		} else {
			pc_stat_inc(pc, pending_expired);
			pc_stat_inc(pc, exit_unknown);
		}
		free(h);
	}
}

static int ingest_lost(struct proccache *pc, const struct proccache_event *ev)
{
	pc_stat_inc(pc, events_lost);
	pc_stat_add(pc, lost, ev->lost);
	return pc_dispatch(pc, ev, NULL, NULL);
}

static bool event_valid(const struct proccache_event *ev)
{
	if (ev->type == PROCCACHE_EVENT_LOST)
		return true;
	if (ev->type != PROCCACHE_EVENT_EXEC &&
	    ev->type != PROCCACHE_EVENT_CLONE &&
	    ev->type != PROCCACHE_EVENT_EXIT &&
	    ev->type != PROCCACHE_EVENT_CREDS)
		return false;
	if (ev->pid == 0 || ev->prev.pad || ev->parent.pad)
		return false;
	if ((ev->type == PROCCACHE_EVENT_EXEC ||
	     ev->type == PROCCACHE_EVENT_CLONE) && ev->ktime == 0)
		return false;
	if (ev->creds_mask >> (PROCCACHE_CRED_AUID + 1))
		return false;
	if (ev->unknown & ~(uint32_t)PROCCACHE_FIELD_ALL)
		return false;
	if ((ev->args_len && !ev->args) || (ev->env_len && !ev->env))
		return false;
	return ev->args_len <= MAX_ARGS_LEN && ev->env_len <= MAX_ARGS_LEN;
}

/* Reclaim and expiry, after every event and at every tick. */
static int housekeep(struct proccache *pc)
{
	int count;

	expire_held(pc);
	count = pc_reclaim_expired(pc);
	if (++pc->since_poll % POLL_EVERY == 0)
		pc_housekeeping(pc);
	return count;
}

PROCCACHE_API int proccache__ingest(struct proccache *pc,
				    const struct proccache_event *in)
{
	struct proccache_event ev;
	struct pc_event_copies copies;
	struct pc_recycler *outer;
	size_t n;
	int ret;

	if (!pc)
		return -EINVAL;
	if (!in || !pc_opts_valid(in, sizeof(ev), "proccache_event")) {
		pc_stat_inc(pc, invalid);
		return -EINVAL;
	}
	/* Work on a full-size copy: fields past the caller's sz are zero. */
	n = in->sz < sizeof(ev) ? in->sz : sizeof(ev);
	memcpy(&ev, in, n);
	if (n < sizeof(ev))
		memset((char *)&ev + n, 0, sizeof(ev) - n);
	ev.sz = sizeof(ev);
	pc->now = pc_now(pc);
	if (!event_valid(&ev)) {
		pc_stat_inc(pc, invalid);
		return -EINVAL;
	}
	ret = pc_event_prepare(pc->env, pc->redact, &ev, &copies);
	if (ret)
		return ret;
	outer = pc_recycler;
	pc_recycler = &pc->recycler;
	switch (ev.type) {
	case PROCCACHE_EVENT_EXEC:
		ret = ingest_exec(pc, &ev);
		break;
	case PROCCACHE_EVENT_CLONE:
		ret = ingest_clone(pc, &ev);
		break;
	case PROCCACHE_EVENT_EXIT:
		ret = ingest_exit(pc, &ev);
		break;
	case PROCCACHE_EVENT_CREDS:
		ret = pc_ingest_creds(pc, &ev);
		break;
	default:
		ret = ingest_lost(pc, &ev);
		break;
	}
	pc_event_copies_free(&copies);
	housekeep(pc);
	pc_recycler = outer;
	return ret;
}

PROCCACHE_API int proccache__tick(struct proccache *pc)
{
	if (!pc)
		return -EINVAL;
	pc->now = pc_now(pc);
	pc->since_poll = POLL_EVERY - 1; /* poll the epoch now */
	return housekeep(pc);
}
