/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cache: two SPMC hash sets of nodes (by exec key, and live nodes by
 * pid), the epoch that protects readers, and the one place that retires and
 * reclaims memory.
 *
 * A node is the stable identity of one exec key. Readers reach it through
 * the hash sets and read two things from it: the pointer to its current
 * immutable snapshot (struct proccache_process, atomically replaced by the
 * writer) and its parent node pointer (set before publication, or later
 * once, from NULL, when a parent that arrived after its child adopts it;
 * never changed after that). Everything else in a node is the writer's
 * bookkeeping.
 *
 * A node is kept while any cached child points to it (children > 0) and for
 * the grace period after that; the parent pointer of a child is therefore
 * always valid.
 */
#ifndef PROCCACHE_CACHE_H
#define PROCCACHE_CACHE_H

#include <ck_epoch.h>
#include <ck_hs.h>
#include <ck_malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "process.h"
#include "proccache/proccache.h"
#include "waitmap.h"

/* ThreadSanitizer cannot see the ordering CK's epoch and hash set give
 * (uninstrumented library, inline asm): state it where it matters. */
#if defined(__SANITIZE_THREAD__)
#define PC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PC_TSAN 1
#endif
#endif
#ifdef PC_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define pc_tsan_acquire(p) __tsan_acquire((void *)(p))
#define pc_tsan_release(p) __tsan_release((void *)(p))
#else
#define pc_tsan_acquire(p) ((void)(p))
#define pc_tsan_release(p) ((void)(p))
#endif

/* Where pc_find_pid_at() finds a node (bits of pc_node.past). */
enum pc_past_state {
	PC_PAST_SLOT = 1u << 0, /* its pid's slot in by_pid: live or newest */
	PC_PAST_SET = 1u << 1,  /* its pid's past set */
	PC_PAST_NEXT = 1u << 2, /* through the image that replaced it */
};

struct pc_node {
	struct proccache_key key; /* first: the hash sets compare keys */
	_Atomic(struct proccache_process *) cur;
	/* counted in parent->children; read with pc_node_parent() */
	_Atomic(struct pc_node *) parent;
	union {
		struct {                  /* while waiting for reclaim */
			struct pc_node *qnext;
			uint64_t deadline;
		};
		ck_epoch_entry_t epoch_entry; /* once retired */
	};
	uint32_t children;
	bool live;   /* in the pid index */
	bool queued; /* in the reclaim queue */
	bool orphan; /* was put in pc->orphans to wait for its parent */
	uint8_t past; /* enum pc_past_state bits; writer's */
};

/* Per (thread, cache) epoch record, found through a pthread key, so query
 * threads need no setup call. Its counters are written by its thread only. */
struct pc_reader {
	ck_epoch_record_t rec;
	_Atomic uint64_t lookups;
	_Atomic uint64_t misses;
	struct pc_reader *next; /* all readers of the cache, for stats */
};

/* Writer counters; readers load them for stats. */
struct pc_counters {
	_Atomic uint64_t entries_live, entries_exited, inserts, reclaims,
		evictions_full, refused_full, events_exec, events_clone,
		events_exit, events_lost, lost, parent_unknown, exit_unknown,
		duplicates, out_of_order, invalid, pid_reuse, events_creds,
		pending, pending_applied, pending_expired, adopted;
};

/* Exits held for their entry at most (the oldest expires early beyond). */
#define PC_HELD_MAX 4096u
/* Default of proccache_opts.hold_ns. */
#define PC_HOLD_NS_DEFAULT (5ull * 1000000000ull)
/* Slots of the direct-mapped memory of recent exits. */
#define PC_RECENT_EXITS 1024u
/* Waiting children swept of stale items at the latest past this many. */
#define PC_ORPHANS_SWEEP_MIN 64u

struct pc_sensor;
struct pc_redact;
struct pc_env;
struct pc_retired;
struct pc_held;
struct pc_recent_exit;
struct proccache_sub;

struct proccache {
	ck_hs_t by_key;
	ck_hs_t by_pid;
	ck_hs_t attrs; /* interned struct pc_attrs; writer only */
	unsigned long attrs_sweep_at;
	struct ck_malloc hs_alloc;
	ck_epoch_t epoch;
	ck_epoch_record_t *writer; /* records deferred frees, polls */
	pthread_key_t reader_key;
	_Atomic(struct pc_reader *) readers;

	char node_name[PROCCACHE_NODE_NAME_MAX + 1];
	uint32_t max_entries;
	uint64_t grace_ns;
	proccache_clock_fn clock;
	void *clock_userdata;

	uint32_t nodes; /* writer's count of cached nodes */
	unsigned int since_poll; /* events since the last epoch poll */
	uint64_t now; /* the clock, read once per writer call */
	struct pc_retired *retiring; /* snapshots waiting for the epoch */
	/* removals since the last rebuild, and the most entries since */
	unsigned long key_removed, key_peak, pid_removed, pid_peak;
	struct pc_node *qhead, *qtail; /* reclaim queue, oldest first */

	/* pending.c: what waits for an entry that is not cached yet */
	uint64_t hold_ns;
	struct pc_waitmap orphans; /* children by their named parent's pid */
	uint32_t orphans_sweep_at; /* sweep stale orphans at this many */
	struct pc_waitmap held;    /* held exits by pid */
	struct pc_held *held_head, *held_tail; /* oldest first */
	struct pc_recent_exit *recent;

	uint64_t exec_clear_labels; /* labels.c: what an exec drops */
	struct pc_redact *redact;   /* redact.c; NULL: no patterns */
	struct pc_env *env;         /* env.c; NULL: environments not kept */

	struct proccache_sub *subs; /* subscribe.c */
	struct proccache_sub *subs_tail;
	unsigned int dispatch_depth;
	bool subs_dirty;

	struct pc_counters stats;
	/* The sensor runner's (sensor.c), NULL when none runs: the facade
	 * stops it before the cache goes; the cache never looks at it. */
	struct pc_sensor *sensor;

	/* The pids' past: per pid with cached nodes that are not live, an
	 * immutable struct pc_pid_past listing them (end of cache.c).
	 * Writer-maintained like by_pid. */
	ck_hs_t past;
	unsigned long past_removed, past_peak;

	struct pc_recycler recycler; /* freed records kept for reuse */
};

/* Stats: the writer is the only one that adds. */
#define pc_stat_add(pc, field, n)                                             \
	atomic_store_explicit(&(pc)->stats.field,                              \
			      atomic_load_explicit(&(pc)->stats.field,         \
						   memory_order_relaxed) + (n), \
			      memory_order_relaxed)
#define pc_stat_inc(pc, field) pc_stat_add(pc, field, 1)
#define pc_stat_dec(pc, field) pc_stat_add(pc, field, (uint64_t)-1)

uint64_t pc_now(const struct proccache *pc);

/* Reader side, any thread. */
struct pc_reader *pc_reader_new(struct proccache *pc);
struct pc_node *pc_find_key(struct proccache *pc, const struct proccache_key *key);
struct pc_node *pc_find_pid(struct proccache *pc, uint32_t pid);
/* The node in @pid's slot, live or not (pc_find_pid_at()). */
struct pc_node *pc_find_pid_slot(struct proccache *pc, uint32_t pid);
void pc_reader_totals(struct proccache *pc, uint64_t *ret_lookups,
		      uint64_t *ret_misses);
static inline struct proccache_process *pc_node_snapshot(struct pc_node *n)
{
	return atomic_load_explicit(&n->cur, memory_order_acquire);
}

/*
 * The reader's side, inline: every query runs these, and a call into
 * cache.c for each (they were static there while the queries were too)
 * cost a lookup by key 7% of its time.
 */

/* Readers release it when they leave an epoch section, deferred frees
 * acquire it: the happens-before edge the epoch provides, told to TSan. */
extern char pc_epoch_sync;

/* Enter the calling thread's epoch section of @pc (its record made on
 * first use); NULL without memory. */
static inline struct pc_reader *pc_reader_enter(struct proccache *pc)
{
	struct pc_reader *r = pthread_getspecific(pc->reader_key);

	if (!r && !(r = pc_reader_new(pc)))
		return NULL;
	ck_epoch_begin(&r->rec, NULL);
	return r;
}

static inline void pc_reader_exit(struct pc_reader *r)
{
	pc_tsan_release(&pc_epoch_sync);
	ck_epoch_end(&r->rec, NULL);
}

/* Count one lookup of reader @r, a hit or a miss: its own counters, plain
 * stores (stats sum them). */
static inline void pc_reader_counted(struct pc_reader *r, bool hit)
{
	atomic_store_explicit(&r->lookups,
			      atomic_load_explicit(&r->lookups,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (!hit)
		atomic_store_explicit(
			&r->misses,
			atomic_load_explicit(&r->misses, memory_order_relaxed) + 1,
			memory_order_relaxed);
}

/* Inside an epoch section: the node's snapshot cannot be freed before the
 * section ends, so taking a reference is safe. */
static inline struct proccache_process *pc_node_snapshot_ref(struct pc_node *n)
{
	struct proccache_process *p = pc_node_snapshot(n);

	/* proccache_process__ref(), inline: once per lookup and ancestor */
	atomic_fetch_add_explicit(&p->ref, 1, memory_order_relaxed);
	return p;
}
static inline struct pc_node *pc_node_parent(struct pc_node *n)
{
	return atomic_load_explicit(&n->parent, memory_order_acquire);
}
/*
 * @n's parent as @s, a snapshot of @n read before this call, names it; NULL
 * if none. An adoption sets the parent pointer, then publishes the
 * snapshot that names the parent: a reader between the two sees a parent
 * that its snapshot does not name yet, and is given none, so that a walk
 * sees the chain as it was before the adoption and every link matches.
 */
static inline struct pc_node *pc_node_linked_parent(struct pc_node *n,
						    const struct proccache_process *s)
{
	struct pc_node *p = pc_node_parent(n);

	return p && p->key.pid == s->parent_pid &&
			       p->key.ktime == s->parent_ktime
		       ? p
		       : NULL;
}

static inline struct proccache_process *pc_node_parent_snapshot(struct pc_node *n)
{
	struct pc_node *p = pc_node_parent(n);

	return p ? pc_node_snapshot(p) : NULL;
}

/* Writer side, ingest thread only. */
int pc_node_insert(struct proccache *pc, struct pc_node *n);
void pc_node_publish(struct proccache *pc, struct pc_node *n,
		     struct proccache_process *snap);
void pc_node_set_live(struct proccache *pc, struct pc_node *n, bool live);
void pc_node_release_check(struct proccache *pc, struct pc_node *n);
/* Give @child, cached without its parent, the parent @parent. */
void pc_node_adopt(struct pc_node *child, struct pc_node *parent);

bool pc_make_room(struct proccache *pc);
/* Reclaim the entries whose grace ended by pc->now. */
int pc_reclaim_expired(struct proccache *pc);
/* Advance the epoch (running deferred frees) and sweep unused attrs. */
void pc_housekeeping(struct proccache *pc);

/* History of a pid (end of cache.c). Reader, inside an epoch section: the
 * node that held @pid at @at (ns of CLOCK_BOOTTIME; 0 = the live node now),
 * live, exited or retired; NULL when no cached node did (see
 * docs/tagging.md). */
struct pc_node *pc_find_pid_at(struct proccache *pc, uint32_t pid,
			       uint64_t at);
/* Writer: helpers for the hash sets of other modules (past.c): a set of
 * objects that start with a struct proccache_key compared as a pid, put
 * and remove with the deferred frees ck_hs needs, and a free deferred
 * until no reader can see @ptr. */
bool pc_pid_set_init(struct proccache *pc, ck_hs_t *hs, unsigned long seed);
unsigned long pc_pid_hash(ck_hs_t *hs, uint32_t pid);
bool pc_hs_set(struct proccache *pc, ck_hs_t *hs, unsigned long hash,
	       void *obj, void **ret_old);
void pc_hs_remove(struct proccache *pc, ck_hs_t *hs, unsigned long hash,
		  const void *key, unsigned long *removed, unsigned long *peak);
void pc_defer(struct proccache *pc, void (*fn)(void *), void *ptr);
/* A node of @key (not inserted yet) with @parent and @snap (the caller's
 * reference, taken over on success); NULL on ENOMEM. */
struct pc_node *pc_node_new(const struct proccache_key *key,
			    struct pc_node *parent,
			    struct proccache_process *snap);
/* Free @n (no reader can see it any more), or keep it for reuse while this
 * thread is ingesting (pc_recycler, lib/process.h). */
void pc_node_free_now(struct pc_node *n);
/* Writer: set up and tear down the past index; note that a node stopped
 * or started being live, or is about to be reclaimed. */
bool pc_past_init(struct proccache *pc, unsigned long seed);
void pc_past_destroy(struct proccache *pc);
/* Writer: @n is about to take its pid's slot (made live). */
void pc_past_enter_slot(struct proccache *pc, struct pc_node *n);
/* Writer: @n, not live, lost its pid's slot to a newer node. */
void pc_past_left_slot(struct proccache *pc, struct pc_node *n);
void pc_past_reclaim(struct proccache *pc, struct pc_node *n);
/* Writer: @n's image, the first of its process, is being replaced by
 * @next's exec, which started it at @n's key: readers reach @n through
 * @next (its snapshot's start_time), so @n needs no place in the past. */
void pc_past_via_successor(struct pc_node *n,
			   const struct proccache_process *next);

/* Interned attributes of an event's image with @labels and context @ctx
 * (NULL: the event's facts, no leaders), with a reference; NULL on ENOMEM.
 * Writer only. */
struct pc_attrs *pc_attrs_get(struct proccache *pc,
			      const struct proccache_event *ev,
			      uint64_t labels, const struct pc_ctx *ctx);
/* @a's attributes with context @ctx instead, as pc_attrs_get(). */
struct pc_attrs *pc_attrs_with_ctx(struct proccache *pc,
				   const struct pc_attrs *a,
				   const struct pc_ctx *ctx);
/* The interned set (attrs.c): made at creation, freed after the last
 * epoch barrier, swept of unreferenced attributes at housekeeping. */
bool pc_attrs_init(struct proccache *pc, unsigned long seed);
void pc_attrs_destroy(struct proccache *pc);
void pc_attrs_sweep(struct proccache *pc);

/* The cache's hash sets' mode and mixing function. */
#define PC_HS_MODE (CK_HS_MODE_SPMC | CK_HS_MODE_OBJECT | CK_HS_MODE_DELETE)

static inline uint64_t pc_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Set up the zeroed @pc from @opts (NULL: defaults); 0 or negative errno,
 * with nothing left to free on failure. proccache.c owns the memory. */
int pc_cache_init(struct proccache *pc, const struct proccache_opts *opts);

/* Free everything pc_cache_init() set up and every entry; no reader may be
 * inside the cache, the subscriptions are gone already. */
void pc_cache_fini(struct proccache *pc);

/* Subscriptions, subscribe.c. */
int pc_dispatch(struct proccache *pc, const struct proccache_event *ev,
		const struct proccache_process *proc,
		const struct proccache_process *parent);
void pc_subs_free_all(struct proccache *pc);

/* Bytes of environment a sensor reads per exec (proccache_opts.env_max);
 * 0 when environments are not kept. Any thread: set at creation. */
size_t pc_cache_env_max(const struct proccache *pc);

#endif
