/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The benchmarks' baseline: the locked design of the peers (one
 * pthread_rwlock around a hash table of reference-counted records). It
 * applies the same events with the same lineage rules as far as the
 * benchmarks exercise them (clone shares the parent's image, exec retires
 * the clone or previous image, exit marks in place, grace queue, reclaim),
 * and its readers parse exec IDs with the same function as the cache's.
 */
#ifndef BENCH_RWTABLE_H
#define BENCH_RWTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <proccache/proccache.h>

struct rwt;
struct rwt_rec;

/* @buckets is rounded up to a power of two; @writer_first picks
 * PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP over glibc's default. */
struct rwt *rwt_new(const char *node, size_t buckets, uint64_t grace_ns,
		    bool writer_first);
void rwt_free(struct rwt *t);

/* Writer. Returns 0, 1 (duplicate, ignored) or -ENOMEM. */
int rwt_ingest(struct rwt *t, const struct proccache_event *ev);

/* Readers, any thread: a counted reference or NULL. */
struct rwt_rec *rwt_lookup(struct rwt *t, const struct proccache_key *key);
struct rwt_rec *rwt_lookup_exec_id(struct rwt *t, const char *exec_id);
/* Lookup without the lock, with or without a reference: only while
 * nothing writes. */
struct rwt_rec *rwt_peek_exec_id(struct rwt *t, const char *exec_id,
				 bool take_ref);
int rwt_ancestors(struct rwt *t, const struct proccache_key *key,
		  struct rwt_rec **ret, size_t max);
const char *rwt_rec_binary(const struct rwt_rec *r);

/* Tagging (bench_tag): the live record of @pid and its parent, each with a
 * reference, found under one read lock; NULL when @pid is not live. */
struct rwt_rec *rwt_lookup_pid(struct rwt *t, uint32_t pid,
			       struct rwt_rec **ret_parent);
/* What a tag writer reads from a record, valid while it is referenced. */
struct rwt_view {
	struct proccache_key key;
	const char *binary, *args, *cwd, *container_id;
	size_t args_len;
	struct proccache_creds creds;
	struct proccache_caps caps;
};
void rwt_rec_view(const struct rwt_rec *r, struct rwt_view *ret);
const char *rwt_node(const struct rwt *t);
void rwt_rec_unref(struct rwt_rec *r);

/* Record and image sizes, for the memory table. */
size_t rwt_rec_size(void);
size_t rwt_image_size(void);

#endif
