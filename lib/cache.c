/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "env.h"
#include "opts.h"
#include "redact.h"

#define DEFAULT_MAX_ENTRIES 65536u
#define DEFAULT_GRACE_NS (30ull * 1000000000ull)
#define HS_INITIAL 1024

#define container_of(ptr, type, member)                                        \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Readers release it when they leave an epoch section, deferred frees
 * acquire it: the happens-before edge the epoch provides, told to TSan. */
char pc_epoch_sync;

/* ck_hs frees a replaced map with defer=true from inside put/set/remove,
 * which only the writer calls; this names the cache it belongs to. Set
 * around every change of a hash set: initial-exec, so that it costs a
 * store rather than a call (__tls_get_addr) in a shared library. */
static __thread struct proccache *hs_writer
	__attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------------------------ */
/* Deferred frees: every one goes through here.                              */
/* ------------------------------------------------------------------------ */

struct pc_deferred {
	ck_epoch_entry_t entry;
	void (*fn)(void *);
	void *ptr;
};

static void deferred_run(ck_epoch_entry_t *e)
{
	struct pc_deferred *d = container_of(e, struct pc_deferred, entry);

	pc_tsan_acquire(&pc_epoch_sync);
	d->fn(d->ptr);
	free(d);
}

/* Call fn(ptr) once no reader can still see ptr. Writer only. */
void pc_defer(struct proccache *pc, void (*fn)(void *), void *ptr)
{
	struct pc_deferred *d = malloc(sizeof(*d));

	if (!d) {
		/* No memory for the note: wait the readers out instead. */
		ck_epoch_synchronize(pc->writer);
		pc_tsan_acquire(&pc_epoch_sync);
		fn(ptr);
		return;
	}
	d->fn = fn;
	d->ptr = ptr;
	ck_epoch_call(pc->writer, &d->entry, deferred_run);
}

/*
 * Replaced snapshots are retired in batches: one allocation and one epoch
 * entry for up to RETIRE_BATCH of them instead of one each. A batch is
 * handed to the epoch when full and at every housekeeping.
 */
#define RETIRE_BATCH 64

struct pc_retired {
	ck_epoch_entry_t entry;
	unsigned int count;
	struct proccache_process *snap[RETIRE_BATCH];
};

static void retired_run(ck_epoch_entry_t *e)
{
	struct pc_retired *b = container_of(e, struct pc_retired, entry);

	pc_tsan_acquire(&pc_epoch_sync);
	for (unsigned int i = 0; i < b->count; i++)
		proccache_process__unref(b->snap[i]);
	free(b);
}

static void retire_flush(struct proccache *pc)
{
	if (!pc->retiring)
		return;
	ck_epoch_call(pc->writer, &pc->retiring->entry, retired_run);
	pc->retiring = NULL;
}

static void retire_snapshot(struct proccache *pc, struct proccache_process *p)
{
	if (!pc->retiring) {
		pc->retiring = malloc(sizeof(*pc->retiring));
		if (!pc->retiring) {
			/* No memory for the batch: wait the readers out. */
			ck_epoch_synchronize(pc->writer);
			pc_tsan_acquire(&pc_epoch_sync);
			proccache_process__unref(p);
			return;
		}
		pc->retiring->count = 0;
	}
	pc->retiring->snap[pc->retiring->count++] = p;
	if (pc->retiring->count == RETIRE_BATCH)
		retire_flush(pc);
}

static void node_free(ck_epoch_entry_t *e)
{
	struct pc_node *n = container_of(e, struct pc_node, epoch_entry);

	pc_tsan_acquire(&pc_epoch_sync);
	proccache_process__unref(atomic_load_explicit(&n->cur,
						      memory_order_relaxed));
	pc_node_free_now(n);
}

struct pc_node *pc_node_new(const struct proccache_key *key,
			    struct pc_node *parent,
			    struct proccache_process *snap)
{
	struct pc_recycler *r = pc_recycler;
	struct pc_node *n = r ? pc_recycle_take(r, PC_RECYCLE_NODE) : NULL;

	if (!n && !(n = malloc(sizeof(*n))))
		return NULL;
	memset(n, 0, sizeof(*n));
	n->key = *key;
	atomic_init(&n->parent, parent);
	atomic_init(&n->cur, snap);
	return n;
}

void pc_node_free_now(struct pc_node *n)
{
	struct pc_recycler *r = pc_recycler;

	if (n && (!r || !pc_recycle_put(r, PC_RECYCLE_NODE, n)))
		free(n);
}

/* ------------------------------------------------------------------------ */
/* Hash sets                                                                 */
/* ------------------------------------------------------------------------ */

/* Objects in both sets start with a struct proccache_key, and so do the
 * probes: a bare key is a valid lookup argument. */
static unsigned long hash_key(const void *obj, unsigned long seed)
{
	const struct proccache_key *k = obj;

	return pc_mix64(pc_mix64(k->ktime ^ seed) ^ k->pid);
}

static bool same_key(const void *a, const void *b)
{
	const struct proccache_key *x = a, *y = b;

	pc_tsan_acquire(a); /* a stored node, read inside ck_hs_get() */
	return x->pid == y->pid && x->ktime == y->ktime;
}

static unsigned long hash_pid(const void *obj, unsigned long seed)
{
	const struct proccache_key *k = obj;

	return pc_mix64(k->pid ^ seed);
}

static bool same_pid(const void *a, const void *b)
{
	pc_tsan_acquire(a);
	return ((const struct proccache_key *)a)->pid ==
	       ((const struct proccache_key *)b)->pid;
}

static void *hs_malloc(size_t n)
{
	return malloc(n);
}

static void hs_free(void *p, size_t n, bool defer)
{
	(void)n;
	if (defer && hs_writer)
		pc_defer(hs_writer, free, p);
	else
		free(p);
}

/*
 * ck_hs leaves a tombstone for every removal and only ever lengthens its
 * probe bounds, so a set under churn gets slower for readers and writer
 * alike. Rebuild one once it has had as many removals as the most entries
 * it held since the last rebuild: the O(capacity) rebuild is then O(1) per
 * removal. ck_hs_rebuild() is safe with concurrent readers.
 */
#define REBUILD_MIN 256

void pc_hs_remove(struct proccache *pc, ck_hs_t *hs, unsigned long hash,
		      const void *key, unsigned long *removed,
		      unsigned long *peak)
{
	unsigned long count = ck_hs_count(hs);

	if (count > *peak)
		*peak = count;
	hs_writer = pc;
	ck_hs_remove(hs, hash, key);
	if (++*removed > (*peak > REBUILD_MIN ? *peak : REBUILD_MIN)) {
		/* On ENOMEM the set just stays slower until the next try. */
		if (ck_hs_rebuild(hs)) {
			*removed = 0;
			*peak = count;
		}
	}
	hs_writer = NULL;
}

static unsigned long key_hash_of(ck_hs_t *hs, const struct proccache_key *k)
{
	return CK_HS_HASH(hs, hash_key, k);
}

static unsigned long pid_hash_of(ck_hs_t *hs, const struct proccache_key *k)
{
	return CK_HS_HASH(hs, hash_pid, k);
}

unsigned long pc_pid_hash(ck_hs_t *hs, uint32_t pid)
{
	struct proccache_key probe = { .pid = pid };

	return pid_hash_of(hs, &probe);
}

bool pc_pid_set_init(struct proccache *pc, ck_hs_t *hs, unsigned long seed)
{
	return ck_hs_init(hs, PC_HS_MODE, hash_pid, same_pid, &pc->hs_alloc,
			  HS_INITIAL, seed);
}

bool pc_hs_set(struct proccache *pc, ck_hs_t *hs, unsigned long hash,
	       void *obj, void **ret_old)
{
	bool ok;

	hs_writer = pc;
	ok = ck_hs_set(hs, hash, obj, ret_old);
	hs_writer = NULL;
	return ok;
}

/* ------------------------------------------------------------------------ */
/* Readers                                                                   */
/* ------------------------------------------------------------------------ */

static void reader_thread_exit(void *arg)
{
	struct pc_reader *r = arg;

	/* Free for the next thread: ck_epoch_recycle() hands it out. */
	pc_tsan_release(r);
	ck_epoch_unregister(&r->rec);
}

struct pc_reader *pc_reader_new(struct proccache *pc)
{
	ck_epoch_record_t *rec = ck_epoch_recycle(&pc->epoch, NULL);
	struct pc_reader *r;

	if (rec) {
		r = container_of(rec, struct pc_reader, rec);
		pc_tsan_acquire(r);
	} else {
		size_t sz = (sizeof(*r) + 63) & ~(size_t)63;

		r = aligned_alloc(64, sz);
		if (!r)
			return NULL;
		memset(r, 0, sizeof(*r));
		ck_epoch_register(&pc->epoch, &r->rec, NULL);
		r->next = atomic_load(&pc->readers);
		while (!atomic_compare_exchange_weak(&pc->readers, &r->next, r))
			;
	}
	if (pthread_setspecific(pc->reader_key, r)) {
		ck_epoch_unregister(&r->rec);
		return NULL;
	}
	return r;
}

void pc_reader_totals(struct proccache *pc, uint64_t *ret_lookups,
		      uint64_t *ret_misses)
{
	uint64_t l = 0, m = 0;

	for (struct pc_reader *r = atomic_load(&pc->readers); r; r = r->next) {
		l += atomic_load_explicit(&r->lookups, memory_order_relaxed);
		m += atomic_load_explicit(&r->misses, memory_order_relaxed);
	}
	*ret_lookups = l;
	*ret_misses = m;
}

struct pc_node *pc_find_key(struct proccache *pc, const struct proccache_key *key)
{
	struct pc_node *n = ck_hs_get(&pc->by_key, key_hash_of(&pc->by_key, key),
				      key);

	pc_tsan_acquire(n);
	return n;
}

struct pc_node *pc_find_pid_slot(struct proccache *pc, uint32_t pid)
{
	struct proccache_key probe = { .pid = pid };
	struct pc_node *n = ck_hs_get(&pc->by_pid,
				      pid_hash_of(&pc->by_pid, &probe), &probe);

	pc_tsan_acquire(n);
	return n;
}

/* The slot's node if live. Readers cannot read n->live (the writer's); the
 * snapshot says the same: a node's snapshot is LIVE exactly while it is
 * live, as an ending is published before the node stops being live. */
struct pc_node *pc_find_pid(struct proccache *pc, uint32_t pid)
{
	struct pc_node *n = pc_find_pid_slot(pc, pid);

	return n && pc_node_snapshot(n)->state == PROCCACHE_STATE_LIVE ? n
									 : NULL;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

static uint64_t boottime_ns(void *userdata)
{
	(void)userdata;
	return pc_clock_ns(CLOCK_BOOTTIME);
}

uint64_t pc_now(const struct proccache *pc)
{
	return pc->clock(pc->clock_userdata);
}

static int set_node_name(struct proccache *pc, const char *name)
{
	size_t n;

	if (!name) {
		if (gethostname(pc->node_name, sizeof(pc->node_name) - 1) < 0)
			return -errno;
		pc->node_name[sizeof(pc->node_name) - 1] = '\0';
		return 0;
	}
	n = strlen(name);
	if (n == 0 || n > PROCCACHE_NODE_NAME_MAX) {
		pc_warn("proccache_opts: node_name must be 1 to %d bytes",
			PROCCACHE_NODE_NAME_MAX);
		return -EINVAL;
	}
	memcpy(pc->node_name, name, n + 1);
	return 0;
}

int pc_cache_init(struct proccache *pc, const struct proccache_opts *opts)
{
	unsigned long seed = (unsigned long)pc_mix64((uint64_t)(uintptr_t)pc ^
						  boottime_ns(NULL));
	int err;

	if (!pc_opts_valid(opts, sizeof(*opts), "proccache_opts"))
		return -EINVAL;
	err = set_node_name(pc, PC_OPTS_GET(opts, node_name, NULL));
	if (err)
		return err;
	pc->max_entries = PC_OPTS_GET(opts, max_entries, 0);
	if (!pc->max_entries)
		pc->max_entries = DEFAULT_MAX_ENTRIES;
	pc->grace_ns = PC_OPTS_GET(opts, grace_ns, 0);
	if (!pc->grace_ns)
		pc->grace_ns = DEFAULT_GRACE_NS;
	pc->hold_ns = PC_OPTS_GET(opts, hold_ns, 0);
	if (!pc->hold_ns)
		pc->hold_ns = PC_HOLD_NS_DEFAULT;
	pc->clock = PC_OPTS_GET(opts, clock, NULL);
	pc->clock_userdata = PC_OPTS_GET(opts, clock_userdata, NULL);
	if (!pc->clock)
		pc->clock = boottime_ns;
	pc->exec_clear_labels = PC_OPTS_GET(opts, exec_clear_labels, 0);
	err = pc_redact_new(PC_OPTS_GET(opts, redact, NULL), &pc->redact);
	if (err)
		return err;
	err = pc_env_new(PC_OPTS_GET(opts, env_max, 0),
			 PC_OPTS_GET(opts, env_vars, NULL), &pc->env);
	if (err) {
		pc_redact_free(pc->redact);
		return err;
	}

	pc->hs_alloc.malloc = hs_malloc;
	pc->hs_alloc.free = hs_free;
	if (!ck_hs_init(&pc->by_key, PC_HS_MODE, hash_key, same_key,
			&pc->hs_alloc, HS_INITIAL, seed)) {
		pc_redact_free(pc->redact);
		pc_env_free(pc->env);
		return -ENOMEM;
	}
	if (!ck_hs_init(&pc->by_pid, PC_HS_MODE, hash_pid, same_pid,
			&pc->hs_alloc, HS_INITIAL, seed)) {
		ck_hs_destroy(&pc->by_key);
		pc_redact_free(pc->redact);
		pc_env_free(pc->env);
		return -ENOMEM;
	}
	if (!pc_attrs_init(pc, seed)) {
		ck_hs_destroy(&pc->by_pid);
		ck_hs_destroy(&pc->by_key);
		pc_redact_free(pc->redact);
		pc_env_free(pc->env);
		return -ENOMEM;
	}
	if (!pc_past_init(pc, seed)) {
		ck_hs_destroy(&pc->attrs);
		ck_hs_destroy(&pc->by_pid);
		ck_hs_destroy(&pc->by_key);
		return -ENOMEM;
	}
	ck_epoch_init(&pc->epoch);
	pc->writer = aligned_alloc(64, (sizeof(*pc->writer) + 63) & ~(size_t)63);
	if (!pc->writer)
		goto nomem;
	ck_epoch_register(&pc->epoch, pc->writer, NULL);
	if (pthread_key_create(&pc->reader_key, reader_thread_exit))
		goto nomem;
	return 0;
nomem:
	free(pc->writer);
	pc_past_destroy(pc);
	ck_hs_destroy(&pc->attrs);
	ck_hs_destroy(&pc->by_pid);
	ck_hs_destroy(&pc->by_key);
	pc_redact_free(pc->redact);
	pc_env_free(pc->env);
	return -ENOMEM;
}

size_t pc_cache_env_max(const struct proccache *pc)
{
	return pc_env_max(pc->env);
}

void pc_cache_fini(struct proccache *pc)
{
	ck_hs_iterator_t it = CK_HS_ITERATOR_INITIALIZER;
	struct pc_reader *r, *next;
	void *obj;

	pc_waitmap_free(&pc->held, free);
	pc_waitmap_free(&pc->orphans, NULL);
	free(pc->recent);
	/* Run every deferred free; no reader may be inside the cache now. */
	retire_flush(pc);
	ck_epoch_barrier(pc->writer);
	pc_past_destroy(pc); /* reads the nodes it lists: before they go */
	while (ck_hs_next(&pc->by_key, &it, &obj)) {
		struct pc_node *n = obj;

		proccache_process__unref(atomic_load(&n->cur));
		free(n);
	}
	pc_recycler_drain(&pc->recycler);
	pc_attrs_destroy(pc);
	ck_hs_destroy(&pc->by_pid);
	ck_hs_destroy(&pc->by_key);
	pc_redact_free(pc->redact);
	pc_env_free(pc->env);
	pthread_key_delete(pc->reader_key);
	for (r = atomic_load(&pc->readers); r; r = next) {
		next = r->next;
		free(r);
	}
	free(pc->writer);
}

PROCCACHE_API const char *proccache__node_name(const struct proccache *pc)
{
	return pc ? pc->node_name : NULL;
}

/* ------------------------------------------------------------------------ */
/* Writer: insertion, state changes, reclamation                             */
/* ------------------------------------------------------------------------ */

int pc_node_insert(struct proccache *pc, struct pc_node *n)
{
	bool ok;

	pc_tsan_release(n);
	hs_writer = pc;
	ok = ck_hs_put(&pc->by_key, key_hash_of(&pc->by_key, &n->key), n);
	hs_writer = NULL;
	if (!ok)
		return -ENOMEM;
	pc->nodes++;
	if (pc_node_parent(n))
		pc_node_parent(n)->children++;
	pc_stat_inc(pc, inserts);
	pc_stat_inc(pc, entries_exited);
	return 0;
}

void pc_node_publish(struct proccache *pc, struct pc_node *n,
		     struct proccache_process *snap)
{
	struct proccache_process *old =
		atomic_exchange_explicit(&n->cur, snap, memory_order_acq_rel);

	retire_snapshot(pc, old);
}

/*
 * A pid's slot in by_pid holds its newest node: live, or no longer live
 * until another node of the pid takes the slot or the node is reclaimed.
 * So the common exit costs no index operation, and pc_find_pid_at() finds
 * a pid's last image without a past set entry.
 */
void pc_node_set_live(struct proccache *pc, struct pc_node *n, bool live)
{
	void *prev = NULL;

	if (n->live == live)
		return;
	if (live) {
		pc_past_enter_slot(pc, n);
		hs_writer = pc;
		/* Without memory the node is live but not found by pid: it
		 * must not believe it holds the slot. */
		if (ck_hs_set(&pc->by_pid, pid_hash_of(&pc->by_pid, &n->key), n,
			      &prev))
			n->past |= PC_PAST_SLOT;
		hs_writer = NULL;
	}
	n->live = live;
	if (live) {
		pc_stat_inc(pc, entries_live);
		pc_stat_dec(pc, entries_exited);
	} else {
		pc_stat_dec(pc, entries_live);
		pc_stat_inc(pc, entries_exited);
	}
	if (prev && prev != n) {
		struct pc_node *displaced = prev;

		displaced->past &= (uint8_t)~PC_PAST_SLOT;
		if (displaced->live) {
			/* Ingest ends a pid's live entry before it makes
			 * another live; should that ever be missed, the
			 * displaced node must not go on believing it is
			 * indexed. */
			pc_warn("cache: pid %u had two live entries", n->key.pid);
			displaced->live = false;
			pc_stat_dec(pc, entries_live);
			pc_stat_inc(pc, entries_exited);
			pc_node_release_check(pc, displaced);
		}
		pc_past_left_slot(pc, displaced);
	}
}

static void enqueue(struct proccache *pc, struct pc_node *n)
{
	uint64_t now = pc->now;

	n->deadline = pc->grace_ns == PROCCACHE_GRACE_NONE ||
				      now > UINT64_MAX - pc->grace_ns
			      ? now
			      : now + pc->grace_ns;
	n->qnext = NULL;
	n->queued = true;
	if (pc->qtail)
		pc->qtail->qnext = n;
	else
		pc->qhead = n;
	pc->qtail = n;
}

void pc_node_release_check(struct proccache *pc, struct pc_node *n)
{
	if (!n->live && n->children == 0 && !n->queued)
		enqueue(pc, n);
}

static struct pc_node *dequeue(struct proccache *pc)
{
	struct pc_node *n = pc->qhead;

	pc->qhead = n->qnext;
	if (!pc->qhead)
		pc->qtail = NULL;
	n->queued = false;
	return n;
}

void pc_node_adopt(struct pc_node *child, struct pc_node *parent)
{
	parent->children++;
	atomic_store_explicit(&child->parent, parent, memory_order_release);
}

static void reclaim(struct proccache *pc, struct pc_node *n)
{
	struct pc_node *parent = pc_node_parent(n);

	if (n->past & PC_PAST_SLOT)
		pc_hs_remove(pc, &pc->by_pid, pid_hash_of(&pc->by_pid, &n->key),
			  &n->key, &pc->pid_removed, &pc->pid_peak);
	pc_past_reclaim(pc, n);
	pc_hs_remove(pc, &pc->by_key, key_hash_of(&pc->by_key, &n->key), &n->key,
		  &pc->key_removed, &pc->key_peak);
	pc->nodes--;
	pc_stat_dec(pc, entries_exited);
	ck_epoch_call(pc->writer, &n->epoch_entry, node_free);
	if (parent) {
		parent->children--;
		pc_node_release_check(pc, parent);
	}
}

/* The node at the head may have been pinned again (a late child) or made
 * live since it was queued: such a node just leaves the queue. */
static bool reclaimable(const struct pc_node *n)
{
	return !n->live && n->children == 0;
}

bool pc_make_room(struct proccache *pc)
{
	while (pc->nodes >= pc->max_entries) {
		struct pc_node *n;

		if (!pc->qhead)
			return false;
		n = dequeue(pc);
		if (!reclaimable(n))
			continue;
		reclaim(pc, n);
		pc_stat_inc(pc, evictions_full);
	}
	return true;
}

int pc_reclaim_expired(struct proccache *pc)
{
	uint64_t now = pc->now;
	int count = 0;

	while (pc->qhead && pc->qhead->deadline <= now) {
		struct pc_node *n = dequeue(pc);

		if (!reclaimable(n))
			continue;
		reclaim(pc, n);
		pc_stat_inc(pc, reclaims);
		count++;
	}
	return count;
}

void pc_housekeeping(struct proccache *pc)
{
	retire_flush(pc);
	ck_epoch_poll(pc->writer);
	pc_attrs_sweep(pc);
}

