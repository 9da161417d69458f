/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reconciliation with /proc. A pass compares the cache's live entries with
 * the processes /proc lists, ingests inferred exits and the processes the
 * cache lacks, and leaves everything newer than itself to the events. The
 * schedule asks for a full pass promptly after loss and, optionally, a
 * light one periodically; the sensor runner runs it. It reads the cache
 * through the public queries only and names parents as /proc does: ingest
 * decides lineage. docs/reconcile.md has the algorithm and its races.
 * Ingest thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "clock.h"
#include "log.h"
#include "procfs.h"
#include "reconcile.h"

/* ---- what /proc lists ------------------------------------------------------ */

struct seen {
	uint32_t pid;
	bool dead;     /* zombie or exiting: full pass only */
	bool has_info; /* full pass: the read below */
	uint64_t start;
	struct pc_proc_info info;
};

struct seen_list {
	struct seen *v;
	size_t n, cap;
	struct seen **by_pid; /* sorted view */
};

static struct seen *seen_push(struct seen_list *l)
{
	struct seen *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 256;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

static void seen_free(struct seen_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		pc_proc_info_release(&l->v[i].info);
	free(l->v);
	free(l->by_pid);
}

static int collect_full_one(struct pc_proc_info *info, void *userdata)
{
	struct seen *s = seen_push(userdata);

	if (!s)
		return -ENOMEM;
	s->pid = info->ev.pid;
	s->start = info->ev.start_time;
	s->dead = info->ev.flags & PROCCACHE_F_VANISHED;
	s->has_info = true;
	/* take the strings over; ev keeps pointing at them */
	s->info = *info;
	info->binary = info->args = info->cwd = info->container_id = NULL;
	return 0;
}

static int collect_one(uint32_t pid, uint64_t start, void *userdata)
{
	struct seen *s = seen_push(userdata);

	if (!s)
		return -ENOMEM;
	s->pid = pid;
	s->start = start;
	return 0;
}

/* The pids under @prefix and their start times; a pid that vanishes
 * meanwhile is not listed. */
static int collect_light(const char *prefix, struct seen_list *l)
{
	return pc_procfs_list(prefix, collect_one, l);
}

static int cmp_seen(const void *pa, const void *pb)
{
	const struct seen *a = *(struct seen *const *)pa;
	const struct seen *b = *(struct seen *const *)pb;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int index_seen(struct seen_list *l)
{
	l->by_pid = malloc((l->n ? l->n : 1) * sizeof(*l->by_pid));
	if (!l->by_pid)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		l->by_pid[i] = &l->v[i];
	qsort(l->by_pid, l->n, sizeof(*l->by_pid), cmp_seen);
	return 0;
}

/* The listed process holding @pid: a pid is listed once. */
static struct seen *seen_find(const struct seen_list *l, uint32_t pid)
{
	struct seen probe = { .pid = pid }, *pp = &probe, **found;

	found = bsearch(&pp, l->by_pid, l->n, sizeof(*l->by_pid), cmp_seen);
	return found ? *found : NULL;
}

/* ---- what the cache holds --------------------------------------------------- */

struct entry {
	uint32_t pid;
	bool live;
	uint64_t ktime, start;
};

struct entry_list {
	struct entry *v;
	size_t n, cap;
};

static int collect_entry(const struct proccache_process *p, void *userdata)
{
	struct entry_list *l = userdata;
	struct entry *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 1024;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct entry){
		.pid = proccache_process__pid(p),
		.live = proccache_process__state(p) == PROCCACHE_STATE_LIVE,
		.ktime = proccache_process__ktime(p),
		.start = proccache_process__start_time(p),
	};
	return 0;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* Has the process (@pid, @start) an entry that is no longer live: it
 * ended after /proc was read? */
static bool ended_in_cache(const struct entry_list *l, uint32_t pid,
			   uint64_t start)
{
	struct entry probe = { .pid = pid };
	const struct entry *e;

	/* bsearch() of NULL, even of none, is undefined */
	if (!l->n)
		return false;
	e = bsearch(&probe, l->v, l->n, sizeof(*l->v), cmp_entry);
	if (!e)
		return false;
	while (e > l->v && e[-1].pid == pid)
		e--;
	for (; e < l->v + l->n && e->pid == pid; e++)
		if (!e->live && pc_same_start(e->start, start))
			return true;
	return false;
}

/* ---- the pass ------------------------------------------------------------- */

struct pass {
	struct proccache *pc;
	const char *prefix;
	size_t args_max;
	size_t env_max; /* the cache's: environments read only if it keeps them */
	enum pc_reconcile_mode mode;
	uint64_t t0; /* CLOCK_BOOTTIME when /proc reading began */
	struct seen_list seen;
	struct entry_list entries;
	struct pc_reconcile_result res;
};

/* Ingest and treat what the core refuses or finds stale as done: only a
 * subscriber's error or a lack of memory stops the pass. */
static int ingest(struct pass *p, const struct proccache_event *ev)
{
	int ret = proccache__ingest(p->pc, ev);

	if (ret == -ENOSPC || ret == -EINVAL) {
		pc_debug("reconcile: the cache refused pid %u: %s", ev->pid,
			 strerror(-ret));
		return 1;
	}
	return ret;
}

/* Is the live entry @e's process still there, as far as /proc says? */
static bool still_there(const struct pass *p, const struct entry *e)
{
	const struct seen *s = seen_find(&p->seen, e->pid);
	uint64_t start;

	if (s)
		return !s->dead && pc_same_start(s->start, e->start);
	/* Not listed, perhaps only unreadable (a read that kept racing an
	 * exec): ask once more before declaring it gone. */
	return !pc_procfs_start_time(p->prefix, e->pid, &start) &&
	       pc_same_start(start, e->start);
}

static int infer_exits(struct pass *p)
{
	struct proccache_event ev;
	int ret;

	for (size_t i = 0; i < p->entries.n; i++) {
		const struct entry *e = &p->entries.v[i];

		/* an entry born during the pass is the events' business */
		if (!e->live || e->ktime >= p->t0 || still_there(p, e))
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.sz = sizeof(ev);
		ev.type = PROCCACHE_EVENT_EXIT;
		ev.pid = e->pid;
		ev.ktime = e->ktime;
		ev.flags = PROCCACHE_F_EXIT_INFERRED;
		ret = ingest(p, &ev);
		if (ret < 0)
			return ret;
		if (!ret)
			p->res.exited++;
	}
	return 0;
}

/* A live entry of the listed process that shows another image: a clone
 * that has exec'd, or another executable. */
static bool image_changed(const struct proccache_process *live,
			  const struct seen *s)
{
	uint64_t ino = proccache_process__binary_inode(live);

	if (!s->has_info)
		return false;
	if ((proccache_process__flags(live) & PROCCACHE_F_CLONE) &&
	    (s->info.ev.flags & PROCCACHE_F_EXECVE))
		return true;
	return ino && s->info.ev.binary_inode && ino != s->info.ev.binary_inode;
}

/*
 * The exec we missed happened at an unknown time before the pass; the
 * pass's start stands in for it, which keeps the key unique and after the
 * image it replaces.
 */
static int ingest_missed_exec(struct pass *p, struct seen *s,
			      const struct proccache_process *live)
{
	struct proccache_event ev = s->info.ev;

	ev.ktime = p->t0;
	ev.prev = proccache_process__key(live);
	return ingest(p, &ev);
}

/* Read a process the light listing found, for adding it; false if it is
 * not the one listed any more, or is dying. A full pass read it before the
 * second drain: it must still run, for an exit drained meanwhile of a
 * process the cache never had ended no entry (it is held for an exec that
 * will not come), and only that hold's expiry would end the one added. */
static bool read_for_add(struct pass *p, struct seen *s)
{
	if (s->has_info)
		return pc_procfs_running(p->prefix, s->pid, s->start);
	if (pc_procfs_read_env(p->prefix, s->pid, p->args_max, p->env_max,
			       &s->info))
		return false;
	s->has_info = true;
	return pc_same_start(s->info.ev.start_time, s->start) &&
	       !(s->info.ev.flags & PROCCACHE_F_VANISHED);
}

static int add_or_update(struct pass *p, struct seen *s)
{
	struct proccache_process *live = proccache__lookup_pid(p->pc, s->pid);
	bool same = live && pc_same_start(proccache_process__start_time(live),
					  s->start);
	int ret = 1;

	if (same && p->mode == PC_RECONCILE_FULL &&
	    proccache_process__ktime(live) < p->t0 && image_changed(live, s)) {
		ret = ingest_missed_exec(p, s, live);
		if (!ret)
			p->res.execs++;
	}
	proccache_process__unref(live);
	/* A live entry of another process is newer than the pass: older ones
	 * were ended above. */
	if (live || s->start > p->t0 ||
	    ended_in_cache(&p->entries, s->pid, s->start))
		return ret < 0 ? ret : 0;
	if (!read_for_add(p, s))
		return 0;
	ret = ingest(p, &s->info.ev);
	if (!ret)
		p->res.added++;
	return ret < 0 ? ret : 0;
}

static int add_missing(struct pass *p)
{
	int ret;

	/* in listing order: the full scan lists parents first */
	for (size_t i = 0; i < p->seen.n; i++) {
		if (p->seen.v[i].dead)
			continue;
		ret = add_or_update(p, &p->seen.v[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int read_proc(struct pass *p)
{
	int err;

	if (p->mode == PC_RECONCILE_FULL) {
		err = pc_procfs_scan_env(p->prefix, p->args_max, p->env_max,
					 collect_full_one, &p->seen);
		if (err < 0)
			return err;
	} else {
		err = collect_light(p->prefix, &p->seen);
		if (err)
			return err;
	}
	return index_seen(&p->seen);
}

int pc_reconcile_pass(struct proccache *pc, const char *prefix, size_t args_max,
		      enum pc_reconcile_mode mode, int (*drain)(void *),
		      void *drain_userdata, struct pc_reconcile_result *ret)
{
	struct pass p = {
		.pc = pc,
		.prefix = prefix && *prefix ? prefix : "/proc",
		.args_max = args_max,
		.env_max = pc ? pc_cache_env_max(pc) : 0,
		.mode = mode,
	};
	int err = 0;

	if (!pc || !ret)
		return -EINVAL;
	if (drain)
		err = drain(drain_userdata);
	p.t0 = pc_clock_ns(CLOCK_BOOTTIME);
	if (err >= 0)
		err = read_proc(&p);
	/* What was reported while we read: the cache must not look behind. */
	if (err >= 0 && drain)
		err = drain(drain_userdata);
	if (err >= 0)
		err = proccache__iterate(pc, collect_entry, &p.entries);
	if (err >= 0) {
		/* qsort() of NULL, even of none, is undefined */
		if (p.entries.n)
			qsort(p.entries.v, p.entries.n, sizeof(*p.entries.v),
			      cmp_entry);
		err = infer_exits(&p);
	}
	if (err >= 0)
		err = add_missing(&p);
	seen_free(&p.seen);
	free(p.entries.v);
	*ret = p.res;
	return err < 0 ? err : 0;
}

/* ---- the schedule ---------------------------------------------------------- */

void pc_reconcile_init(struct pc_reconcile *r, const char *prefix,
		       size_t args_max, uint64_t interval_ns, uint64_t lost,
		       uint64_t now)
{
	*r = (struct pc_reconcile){
		.prefix = prefix,
		.args_max = args_max,
		.interval_ns = interval_ns,
		.lost_seen = lost,
		.next_periodic = interval_ns ? now + interval_ns : 0,
	};
}

void pc_reconcile_note_loss(struct pc_reconcile *r, uint64_t lost, uint64_t now)
{
	if (lost == r->lost_seen)
		return;
	r->lost_seen = lost;
	if (!r->pending) {
		r->pending = true;
		r->loss_seen_at = now;
	}
}

uint64_t pc_reconcile_due_at(const struct pc_reconcile *r)
{
	uint64_t next = 0;

	if (r->pending)
		next = r->last_end + PC_RECONCILE_MIN_GAP_NS;
	if (r->followup_at && (!next || r->followup_at < next))
		next = r->followup_at;
	if (r->next_periodic && (!next || r->next_periodic < next))
		next = r->next_periodic;
	return next;
}

static void log_pass(const struct pc_reconcile *r, enum pc_reconcile_mode mode,
		     bool after_loss, uint64_t end,
		     const struct pc_reconcile_report *rep, int err)
{
	const struct pc_reconcile_result *res = &rep->res;

	if (after_loss)
		pc_info("reconcile: after lost events, /proc matched %.1f ms after the loss was seen (pass %.1f ms): %u exited, %u added, %u on a new image",
			(double)(end - r->loss_seen_at) / 1e6,
			(double)rep->ns / 1e6, res->exited, res->added,
			res->execs);
	else
		pc_debug("reconcile: %s pass in %.1f ms: %u exited, %u added, %u on a new image",
			 mode == PC_RECONCILE_FULL ? "full" : "light",
			 (double)rep->ns / 1e6, res->exited, res->added,
			 res->execs);
	if (err < 0)
		pc_warn("reconcile: pass stopped: %s", strerror(-err));
}

int pc_reconcile_run_due(struct pc_reconcile *r, struct proccache *pc,
			 uint64_t now, int (*drain)(void *), void *drain_userdata,
			 struct pc_reconcile_report *ret)
{
	enum pc_reconcile_mode mode;
	bool after_loss = false;
	uint64_t end;
	int err;

	if (r->pending && now >= r->last_end + PC_RECONCILE_MIN_GAP_NS) {
		mode = PC_RECONCILE_FULL;
		after_loss = true;
		r->pending = false;
	} else if (r->followup_at && now >= r->followup_at) {
		mode = PC_RECONCILE_FULL;
		r->followup_at = 0;
	} else if (r->next_periodic && now >= r->next_periodic) {
		mode = PC_RECONCILE_LIGHT;
	} else {
		return 0;
	}
	memset(ret, 0, sizeof(*ret));
	err = pc_reconcile_pass(pc, r->prefix, r->args_max, mode, drain,
				drain_userdata, &ret->res);
	end = pc_clock_ns(CLOCK_MONOTONIC);
	ret->ns = end - now;
	r->last_end = end;
	if (after_loss)
		r->followup_at = end + PC_RECONCILE_FOLLOWUP_NS;
	if (r->interval_ns)
		r->next_periodic = end + r->interval_ns;
	log_pass(r, mode, after_loss, end, ret, err);
	return err < 0 ? err : 1;
}
