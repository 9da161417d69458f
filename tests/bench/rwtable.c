/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rwtable.h"

/* What a clone shares with its parent. */
struct rwt_image {
	atomic_uint ref;
	uint32_t binary_nlink;
	uint64_t binary_inode, cgroup_id;
	struct proccache_creds creds;
	struct proccache_caps caps;
	struct proccache_ns ns;
	uint32_t args_off, args_len, cwd_off, cid_off;
	char strs[];
};

struct rwt_rec {
	struct proccache_key key, parent;
	atomic_uint ref;
	uint32_t state, flags;
	int32_t exit_code, exit_signal;
	bool live, queued;
	uint64_t start_time, exit_time, deadline;
	struct rwt_image *img;
	struct rwt_rec *next_key, *next_pid, *qnext;
};

struct rwt {
	pthread_rwlock_t lock;
	struct rwt_rec **by_key, **by_pid;
	size_t mask;
	struct rwt_rec *qhead, *qtail;
	uint64_t grace_ns;
	char node[PROCCACHE_NODE_NAME_MAX + 1];
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static size_t key_bucket(const struct rwt *t, const struct proccache_key *k)
{
	return mix64(mix64(k->ktime) ^ k->pid) & t->mask;
}

static size_t pid_bucket(const struct rwt *t, uint32_t pid)
{
	return mix64(pid) & t->mask;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct rwt *rwt_new(const char *node, size_t buckets, uint64_t grace_ns,
		    bool writer_first)
{
	struct rwt *t = calloc(1, sizeof(*t));
	pthread_rwlockattr_t attr;
	size_t n = 16;

	if (!t)
		return NULL;
	while (n < buckets)
		n <<= 1;
	t->mask = n - 1;
	t->by_key = calloc(n, sizeof(*t->by_key));
	t->by_pid = calloc(n, sizeof(*t->by_pid));
	if (!t->by_key || !t->by_pid) {
		free(t->by_key);
		free(t->by_pid);
		free(t);
		return NULL;
	}
	t->grace_ns = grace_ns;
	strncpy(t->node, node, sizeof(t->node) - 1);
	pthread_rwlockattr_init(&attr);
	if (writer_first)
		pthread_rwlockattr_setkind_np(
			&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	return t;
}

static void image_unref(struct rwt_image *img)
{
	if (atomic_fetch_sub_explicit(&img->ref, 1, memory_order_acq_rel) == 1)
		free(img);
}

void rwt_rec_unref(struct rwt_rec *r)
{
	if (!r || atomic_fetch_sub_explicit(&r->ref, 1,
					    memory_order_acq_rel) != 1)
		return;
	image_unref(r->img);
	free(r);
}

void rwt_free(struct rwt *t)
{
	for (size_t b = 0; b <= t->mask; b++) {
		struct rwt_rec *r = t->by_key[b], *next;

		for (; r; r = next) {
			next = r->next_key;
			rwt_rec_unref(r);
		}
	}
	pthread_rwlock_destroy(&t->lock);
	free(t->by_key);
	free(t->by_pid);
	free(t);
}

/* ------------------------------------------------------------------------ */
/* Under either lock                                                         */
/* ------------------------------------------------------------------------ */

static struct rwt_rec *find_key(const struct rwt *t,
				const struct proccache_key *k)
{
	struct rwt_rec *r = t->by_key[key_bucket(t, k)];

	while (r && (r->key.pid != k->pid || r->key.ktime != k->ktime))
		r = r->next_key;
	return r;
}

static struct rwt_rec *find_pid(const struct rwt *t, uint32_t pid)
{
	struct rwt_rec *r = t->by_pid[pid_bucket(t, pid)];

	while (r && r->key.pid != pid)
		r = r->next_pid;
	return r;
}

/* ------------------------------------------------------------------------ */
/* Writer, under the write lock                                              */
/* ------------------------------------------------------------------------ */

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 1;
}

static uint32_t put_str(struct rwt_image *img, uint32_t off, const char *s)
{
	size_t n = str_size(s);

	if (s)
		memcpy(img->strs + off, s, n);
	else
		img->strs[off] = '\0';
	return off + (uint32_t)n;
}

static struct rwt_image *image_new(const struct proccache_event *ev)
{
	size_t args_len = ev->args ? ev->args_len : 0;
	size_t total = str_size(ev->binary) + args_len + 1 + str_size(ev->cwd) +
		       str_size(ev->container_id);
	struct rwt_image *img = malloc(sizeof(*img) + total);
	uint32_t off;

	if (!img)
		return NULL;
	atomic_init(&img->ref, 1);
	img->binary_nlink = ev->binary_nlink;
	img->binary_inode = ev->binary_inode;
	img->cgroup_id = ev->cgroup_id;
	img->creds = ev->creds;
	img->caps = ev->caps;
	img->ns = ev->ns;
	off = put_str(img, 0, ev->binary);
	img->args_off = off;
	img->args_len = (uint32_t)args_len;
	if (args_len)
		memcpy(img->strs + off, ev->args, args_len);
	img->strs[off + args_len] = '\0';
	off += (uint32_t)args_len + 1;
	img->cwd_off = off;
	off = put_str(img, off, ev->cwd);
	img->cid_off = off;
	put_str(img, off, ev->container_id);
	return img;
}

static void pid_unlink(struct rwt *t, struct rwt_rec *r)
{
	struct rwt_rec **link = &t->by_pid[pid_bucket(t, r->key.pid)];

	while (*link && *link != r)
		link = &(*link)->next_pid;
	if (*link)
		*link = r->next_pid;
	r->live = false;
}

static void key_unlink(struct rwt *t, struct rwt_rec *r)
{
	struct rwt_rec **link = &t->by_key[key_bucket(t, &r->key)];

	while (*link && *link != r)
		link = &(*link)->next_key;
	if (*link)
		*link = r->next_key;
}

static void enqueue(struct rwt *t, struct rwt_rec *r, uint64_t now)
{
	r->deadline = now + t->grace_ns;
	r->qnext = NULL;
	r->queued = true;
	if (t->qtail)
		t->qtail->qnext = r;
	else
		t->qhead = r;
	t->qtail = r;
}

/* The record stops being live: in place, the lock keeps readers out. */
static void end_life(struct rwt *t, struct rwt_rec *r, uint32_t state,
		     uint64_t now)
{
	r->state = state;
	pid_unlink(t, r);
	enqueue(t, r, now);
}

static void insert(struct rwt *t, struct rwt_rec *r)
{
	size_t kb = key_bucket(t, &r->key), pb = pid_bucket(t, r->key.pid);

	r->next_key = t->by_key[kb];
	t->by_key[kb] = r;
	r->next_pid = t->by_pid[pb];
	t->by_pid[pb] = r;
	r->live = true;
}

static struct rwt_rec *rec_new(const struct proccache_event *ev,
			       struct rwt_image *img)
{
	struct rwt_rec *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	atomic_init(&r->ref, 1);
	r->key = (struct proccache_key){ .pid = ev->pid, .ktime = ev->ktime };
	r->img = img;
	r->start_time = ev->start_time ? ev->start_time : ev->ktime;
	return r;
}

static void reclaim_expired(struct rwt *t, uint64_t now)
{
	while (t->qhead && t->qhead->deadline <= now) {
		struct rwt_rec *r = t->qhead;

		t->qhead = r->qnext;
		if (!t->qhead)
			t->qtail = NULL;
		key_unlink(t, r);
		rwt_rec_unref(r);
	}
}

static int ingest_exec(struct rwt *t, const struct proccache_event *ev,
		       uint64_t now)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct rwt_rec *prev, *r;
	struct rwt_image *img;

	if (find_key(t, &key))
		return 1;
	prev = find_pid(t, ev->pid);
	img = image_new(ev);
	if (!img)
		return -ENOMEM;
	r = rec_new(ev, img);
	if (!r) {
		image_unref(img);
		return -ENOMEM;
	}
	r->flags = ev->flags | PROCCACHE_F_EXECVE;
	if (prev) {
		r->parent = prev->flags & PROCCACHE_F_CLONE ? prev->parent
							    : prev->key;
		end_life(t, prev, PROCCACHE_STATE_RETIRED, now);
	} else {
		r->parent = ev->parent;
	}
	insert(t, r);
	return 0;
}

static int ingest_clone(struct rwt *t, const struct proccache_event *ev,
			uint64_t now)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct rwt_rec *cur, *parent, *r;
	struct rwt_image *img;

	if (find_key(t, &key))
		return 1;
	cur = find_pid(t, ev->pid);
	if (cur)
		end_life(t, cur, PROCCACHE_STATE_EXITED, now);
	parent = ev->parent.ktime ? find_key(t, &ev->parent)
				  : find_pid(t, ev->parent.pid);
	if (parent) {
		img = parent->img;
		atomic_fetch_add_explicit(&img->ref, 1, memory_order_relaxed);
	} else {
		img = image_new(ev);
		if (!img)
			return -ENOMEM;
	}
	r = rec_new(ev, img);
	if (!r) {
		image_unref(img);
		return -ENOMEM;
	}
	r->flags = PROCCACHE_F_CLONE;
	r->parent = parent ? parent->key : ev->parent;
	insert(t, r);
	return 0;
}

static int ingest_exit(struct rwt *t, const struct proccache_event *ev,
		       uint64_t now)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct rwt_rec *r = ev->ktime ? find_key(t, &key) : NULL;

	if (!r || !r->live)
		r = find_pid(t, ev->pid);
	if (!r)
		return 1;
	r->exit_code = ev->exit_code;
	r->exit_signal = ev->exit_signal;
	r->exit_time = ev->time ? ev->time : now;
	end_life(t, r, PROCCACHE_STATE_EXITED, now);
	return 0;
}

int rwt_ingest(struct rwt *t, const struct proccache_event *ev)
{
	uint64_t now = now_ns();
	int ret;

	pthread_rwlock_wrlock(&t->lock);
	switch (ev->type) {
	case PROCCACHE_EVENT_EXEC:
		ret = ingest_exec(t, ev, now);
		break;
	case PROCCACHE_EVENT_CLONE:
		ret = ingest_clone(t, ev, now);
		break;
	case PROCCACHE_EVENT_EXIT:
		ret = ingest_exit(t, ev, now);
		break;
	default:
		ret = 0;
		break;
	}
	reclaim_expired(t, now);
	pthread_rwlock_unlock(&t->lock);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Readers, under the read lock                                              */
/* ------------------------------------------------------------------------ */

static struct rwt_rec *ref(struct rwt_rec *r)
{
	if (r)
		atomic_fetch_add_explicit(&r->ref, 1, memory_order_relaxed);
	return r;
}

struct rwt_rec *rwt_lookup(struct rwt *t, const struct proccache_key *key)
{
	struct rwt_rec *r;

	pthread_rwlock_rdlock(&t->lock);
	r = ref(find_key(t, key));
	pthread_rwlock_unlock(&t->lock);
	return r;
}

/* The key an exec ID of this table's node names; false for any other. */
static bool exec_id_key(const struct rwt *t, const char *exec_id,
			struct proccache_key *key)
{
	char node[PROCCACHE_NODE_NAME_MAX + 1];

	return proccache_exec_id_parse(exec_id, node, sizeof(node), key) == 0 &&
	       strcmp(node, t->node) == 0;
}

struct rwt_rec *rwt_lookup_exec_id(struct rwt *t, const char *exec_id)
{
	struct proccache_key key;

	return exec_id_key(t, exec_id, &key) ? rwt_lookup(t, &key) : NULL;
}

/* The floor: the same parse and table walk with no lock, and a reference
 * only if asked. Only correct while nothing writes. */
struct rwt_rec *rwt_peek_exec_id(struct rwt *t, const char *exec_id,
				 bool take_ref)
{
	struct proccache_key key;
	struct rwt_rec *r;

	if (!exec_id_key(t, exec_id, &key))
		return NULL;
	r = find_key(t, &key);
	return take_ref ? ref(r) : r;
}

/* Parents are found by key: a reclaimed one ends the chain. */
int rwt_ancestors(struct rwt *t, const struct proccache_key *key,
		  struct rwt_rec **ret, size_t max)
{
	struct rwt_rec *r;
	size_t n = 0;

	pthread_rwlock_rdlock(&t->lock);
	r = find_key(t, key);
	if (!r) {
		pthread_rwlock_unlock(&t->lock);
		return -ENOENT;
	}
	while (n < max && r->parent.pid && (r = find_key(t, &r->parent)))
		ret[n++] = ref(r);
	pthread_rwlock_unlock(&t->lock);
	return (int)n;
}

struct rwt_rec *rwt_lookup_pid(struct rwt *t, uint32_t pid,
			       struct rwt_rec **ret_parent)
{
	struct rwt_rec *r;

	pthread_rwlock_rdlock(&t->lock);
	r = ref(find_pid(t, pid));
	*ret_parent = r && r->parent.pid ? ref(find_key(t, &r->parent)) : NULL;
	pthread_rwlock_unlock(&t->lock);
	return r;
}

void rwt_rec_view(const struct rwt_rec *r, struct rwt_view *ret)
{
	const struct rwt_image *img = r->img;

	ret->key = r->key;
	ret->binary = img->strs;
	ret->args = img->strs + img->args_off;
	ret->args_len = img->args_len;
	ret->cwd = img->strs + img->cwd_off;
	ret->container_id = img->strs + img->cid_off;
	ret->creds = img->creds;
	ret->caps = img->caps;
}

const char *rwt_node(const struct rwt *t)
{
	return t->node;
}

const char *rwt_rec_binary(const struct rwt_rec *r)
{
	return r->img->strs;
}

size_t rwt_rec_size(void)
{
	return sizeof(struct rwt_rec);
}

size_t rwt_image_size(void)
{
	return sizeof(struct rwt_image);
}
