/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The single writer: lineage rules (docs/process-model.md). Every change to
 * the cache goes through proccache__ingest().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "opts.h"

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

/* /proc reports start times in USER_HZ ticks, always 100 per second. */
#define PROC_TICK_NS 10000000ull

/* The live entry of @pid, if it is the process that started at @start (a
 * time from /proc, so equal to the tick). */
static struct pc_node *live_started_at(struct proccache *pc, uint32_t pid,
				       uint64_t start)
{
	struct pc_node *n = pc_find_pid(pc, pid);

	if (n && pc_node_snapshot(n)->start_time / PROC_TICK_NS ==
			 start / PROC_TICK_NS)
		return n;
	return NULL;
}

/*
 * The parent named by a sensor. pid 0 means "none" (pid 1, kthreadd); a key
 * with ktime 0 means "the live process holding that pid". A full key is
 * looked up as such; a sensor reading /proc names a parent by its start time,
 * which is the key only if the parent has not exec'd since, so the live
 * process with that pid and start time is the parent too. A pid that may
 * have been reused is not guessed at.
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

static struct pc_node *node_new(const struct proccache_key *key,
				struct pc_node *parent,
				struct proccache_process *snap)
{
	struct pc_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->key = *key;
	n->parent = parent;
	atomic_init(&n->cur, snap);
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
 * pid; made before anything changes, so that no memory is missing after. */
static struct proccache_process *retired_snapshot(struct pc_node *n)
{
	struct proccache_process *snap = pc_process_dup(pc_node_snapshot(n));

	if (snap)
		snap->state = PROCCACHE_STATE_RETIRED;
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
	pc_stat_inc(pc, pid_reuse);
	return 0;
}

/*
 * Insert a new live node for @snap, retire the image it replaces (if any,
 * only once the insert succeeded: on failure the cache stays as it was) and
 * tell the subscribers.
 */
static int add_live(struct proccache *pc, const struct proccache_event *ev,
		    struct pc_node *parent, struct proccache_process *snap,
		    struct pc_node *replaced)
{
	struct proccache_key key = pc_process_key(snap);
	struct proccache_process *retired = NULL;
	struct pc_node *n = NULL;
	int err = -ENOMEM;

	if (replaced && replaced->live && !(retired = retired_snapshot(replaced)))
		goto fail;
	n = node_new(&key, parent, snap);
	if (!n)
		goto fail;
	err = pc_node_insert(pc, n);
	if (err)
		goto fail;
	if (retired)
		publish_end(pc, replaced, retired);
	pc_node_set_live(pc, n, true);
	return pc_dispatch(pc, ev, snap, parent ? pc_node_snapshot(parent) : NULL);

fail:
	proccache_process__unref(retired);
	proccache_process__unref(snap);
	free(n);
	return err;
}

static struct proccache_process *new_snapshot(struct proccache *pc,
					      const struct proccache_event *ev,
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
	/* A named parent unknown to us is still worth showing. */
	const struct proccache_key *k = parent ? &parent->key
				       : named->ktime ? named : NULL;

	if (k) {
		snap->parent_pid = k->pid;
		snap->parent_ktime = k->ktime;
	}
}

/*
 * The entry an exec replaces: the live entry of the pid, unless the sensor
 * names a different previous image, in which case the live entry is a
 * process whose exit was lost and the pid was reused.
 */
static int exec_predecessor(struct proccache *pc,
			    const struct proccache_event *ev,
			    struct pc_node **ret)
{
	struct pc_node *cur = pc_find_pid(pc, ev->pid);
	int err;

	*ret = cur;
	if (!ev->prev.ktime || (cur && key_eq(&cur->key, &ev->prev)))
		return 0;
	if (cur) {
		err = infer_exit(pc, cur);
		if (err)
			return err;
	}
	*ret = pc_find_key(pc, &ev->prev);
	return 0;
}

static int ingest_exec(struct proccache *pc, const struct proccache_event *ev)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct proccache_process *snap;
	struct pc_node *prev, *parent;
	bool unknown = false;
	int err;

	pc_stat_inc(pc, events_exec);
	if (pc_find_key(pc, &key)) {
		pc_stat_inc(pc, duplicates);
		return 1;
	}
	prev = pc_find_pid(pc, ev->pid);
	if (prev && prev->key.ktime > ev->ktime) {
		pc_stat_inc(pc, out_of_order);
		return 1;
	}
	if (!pc_make_room(pc)) {
		pc_stat_inc(pc, refused_full);
		return -ENOSPC;
	}
	err = exec_predecessor(pc, ev, &prev);
	if (err)
		return err;
	if (prev) {
		parent = is_clone_entry(prev) ? prev->parent : prev;
		/* a clone's unknown parent stays unknown after its exec, and
		 * so does one only the exec names */
		unknown = !parent && ((pc_node_snapshot(prev)->flags &
				       PROCCACHE_F_PARENT_UNKNOWN) ||
				      ev->parent.pid);
	} else {
		parent = resolve_parent(pc, &ev->parent, &unknown);
	}

	snap = new_snapshot(pc, ev, pc_image_new(ev, pc_attrs_get(pc, ev)));
	if (!snap)
		return -ENOMEM;
	snap->flags = ev->flags & ~(PROCCACHE_F_CLONE | PROCCACHE_F_EXIT_INFERRED);
	if (!(ev->flags & PROCCACHE_F_PROCFS))
		snap->flags |= PROCCACHE_F_EXECVE;
	if (unknown)
		snap->flags |= PROCCACHE_F_PARENT_UNKNOWN;
	snap->start_time = ev->start_time;
	if (prev) {
		const struct proccache_process *ps = pc_node_snapshot(prev);

		if (!snap->start_time)
			snap->start_time = ps->start_time;
		if (!snap->nspid)
			snap->nspid = ps->nspid;
	}
	if (!snap->start_time)
		snap->start_time = ev->ktime;
	set_parent_key(snap, parent, &ev->parent);

	return add_live(pc, ev, parent, snap, prev);
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
		return 1;
	}
	cur = pc_find_pid(pc, ev->pid);
	if (cur && cur->key.ktime >= ev->ktime) {
		/* The child's own later events are in already. */
		pc_stat_inc(pc, out_of_order);
		return 1;
	}
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
		     : pc_image_new(ev, pc_attrs_get(pc, ev));
	snap = new_snapshot(pc, ev, img);
	if (!snap)
		return -ENOMEM;
	snap->flags = PROCCACHE_F_CLONE |
		      ((parent ? pc_node_snapshot(parent)->flags : ev->flags) &
		       PC_IMAGE_FLAGS);
	if (unknown)
		snap->flags |= PROCCACHE_F_PARENT_UNKNOWN;
	snap->start_time = ev->ktime;
	set_parent_key(snap, parent, &ev->parent);
	return add_live(pc, ev, parent, snap, NULL);
}

/*
 * Which entry an exit is about. An exit may name the key of an older image
 * of the process (e.g. the clone's), or none: the process is the live entry
 * of the pid either way, unless the key says the exit is older than it.
 */
static struct pc_node *exit_target(struct proccache *pc,
				   const struct proccache_event *ev)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct pc_node *live = pc_find_pid(pc, ev->pid);
	struct pc_node *n;

	if (!ev->ktime) {
		if (!live)
			pc_stat_inc(pc, exit_unknown);
		return live;
	}
	n = pc_find_key(pc, &key);
	if (n && n->live)
		return n;
	if (n && live && live->key.ktime > ev->ktime &&
	    pc_node_snapshot(n)->state == PROCCACHE_STATE_RETIRED)
		return live;
	if (n) {
		pc_stat_inc(pc, duplicates);
		return NULL;
	}
	if (live && live->key.ktime <= ev->ktime)
		return live; /* an exec of it was missed */
	if (live)
		pc_stat_inc(pc, out_of_order);
	else
		pc_stat_inc(pc, exit_unknown);
	return NULL;
}

static int ingest_exit(struct proccache *pc, const struct proccache_event *ev)
{
	struct proccache_process *snap;
	struct pc_node *n;

	pc_stat_inc(pc, events_exit);
	n = exit_target(pc, ev);
	if (!n)
		return 1;
	snap = pc_process_dup(pc_node_snapshot(n));
	if (!snap)
		return -ENOMEM;
	snap->state = PROCCACHE_STATE_EXITED;
	snap->exit_code = ev->exit_code;
	snap->exit_signal = (int16_t)ev->exit_signal;
	snap->exit_time = ev->time ? ev->time : pc->now;
	snap->flags |= ev->flags & PROCCACHE_F_EXIT_INFERRED;
	publish_end(pc, n, snap);
	return pc_dispatch(pc, ev, snap,
			   n->parent ? pc_node_snapshot(n->parent) : NULL);
}

/*
 * A live process changed credentials (setuid(2) and friends, seen by the
 * netlink sensor): its snapshot is replaced by one whose image differs only
 * in the creds. Caps, namespaces and cgroup stay as they were.
 */
static int ingest_creds(struct proccache *pc, const struct proccache_event *ev)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct pc_node *n = ev->ktime ? pc_find_key(pc, &key)
				      : pc_find_pid(pc, ev->pid);
	struct proccache_process *old, *snap;
	struct proccache_event merged;
	struct pc_image *img;

	pc_stat_inc(pc, events_creds);
	if (!n || !n->live) {
		pc_stat_inc(pc, exit_unknown);
		return 1;
	}
	old = pc_node_snapshot(n);
	if (!memcmp(&old->image->attrs->creds, &ev->creds, sizeof(ev->creds))) {
		pc_stat_inc(pc, duplicates);
		return 1;
	}
	memset(&merged, 0, sizeof(merged));
	merged.creds = ev->creds;
	merged.caps = old->image->attrs->caps;
	merged.ns = old->image->attrs->ns;
	merged.cgroup_id = old->image->attrs->cgroup_id;
	img = pc_image_with_attrs(old->image, pc_attrs_get(pc, &merged));
	if (!img)
		return -ENOMEM;
	snap = pc_process_dup(old);
	if (!snap) {
		pc_image_unref(img);
		return -ENOMEM;
	}
	pc_image_unref(snap->image);
	snap->image = img;
	pc_node_publish(pc, n, snap);
	return pc_dispatch(pc, ev, snap,
			   n->parent ? pc_node_snapshot(n->parent) : NULL);
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
	if (ev->args_len && !ev->args)
		return false;
	return ev->args_len <= MAX_ARGS_LEN;
}

PROCCACHE_API int proccache__ingest(struct proccache *pc,
				    const struct proccache_event *in)
{
	struct proccache_event ev;
	int ret;

	if (!pc)
		return -EINVAL;
	if (!in || !pc_opts_valid(in, sizeof(ev), "proccache_event")) {
		pc_stat_inc(pc, invalid);
		return -EINVAL;
	}
	/* Work on a full-size copy: fields past the caller's sz are zero. */
	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, in, in->sz < sizeof(ev) ? in->sz : sizeof(ev));
	ev.sz = sizeof(ev);
	pc->now = pc_now(pc);
	if (!event_valid(&ev)) {
		pc_stat_inc(pc, invalid);
		return -EINVAL;
	}
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
		ret = ingest_creds(pc, &ev);
		break;
	default:
		ret = ingest_lost(pc, &ev);
		break;
	}
	pc_reclaim_expired(pc);
	if (++pc->since_poll % POLL_EVERY == 0)
		pc_housekeeping(pc);
	return ret;
}
