/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * User and group names for any thread, resolved off the caller's path.
 *
 * Readers (any thread, lock-free, never blocking): hash the key, read the
 * slots of its probe window through their seqlocks, and answer from a
 * fresh entry. On a miss or an expired entry they drop the key into the
 * request set (one CAS) and poke the resolver's eventfd, then say -EAGAIN.
 *
 * The resolver thread (the only writer): waits on the eventfd, takes the
 * requested keys, asks NSS (or the host's resolver) and publishes each
 * answer into a slot. Only it blocks on NSS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "opts.h"
#include "users.h"

#define DEFAULT_CAPACITY 1024u
#define MAX_CAPACITY (1u << 20)
#define DEFAULT_TTL_NS (60ull * 1000000000ull)
#define DEFAULT_NEGATIVE_TTL_NS (5ull * 1000000000ull)
/* Reads of a slot retried while the resolver writes it, before giving up. */
#define SEQ_RETRIES 4
/* Buffer the resolver gets: room to see that a name is too long. */
#define RESOLVE_BUF 256
/* Most memory the default resolver gives getpwuid_r() on ERANGE. */
#define NSS_BUF_MAX (1u << 20)
/* log2(PC_USERS_REQUESTS) */
#define REQUEST_BITS 6

_Static_assert(PC_USERS_REQUESTS == 1 << REQUEST_BITS, "REQUEST_BITS");

struct proccache_users {
	struct pc_users_slot *slots;
	uint32_t mask; /* slots - 1 */
	uint32_t bits; /* log2(slots) */
	uint64_t ttl_ns, negative_ttl_ns;
	proccache_users_resolve_fn resolve;
	void *resolve_userdata;
	proccache_clock_fn clock;
	void *clock_userdata;
	atomic_uint_least64_t requests[PC_USERS_REQUESTS];
	atomic_bool stop;
	int wake_fd;
	pthread_t thread;
};

static uint64_t coarse_clock(void *userdata)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(const struct proccache_users *u)
{
	return u->clock(u->clock_userdata);
}

/* Fibonacci hashing: the top @bits bits of key * 2^64 / phi. */
static uint32_t fib_hash(uint64_t key, uint32_t bits)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static uint32_t home_slot(const struct proccache_users *u, uint64_t key)
{
	return fib_hash(key, u->bits);
}

/* ------------------------------------------------------------------------ */
/* Readers                                                                   */
/* ------------------------------------------------------------------------ */

struct entry {
	uint64_t key;
	uint64_t expires_ns;
	uint32_t meta;
	uint64_t name[PC_USERS_NAME_WORDS];
};

/* A consistent copy of @s; false if the writer kept changing it. */
static bool slot_read(const struct pc_users_slot *s, struct entry *e)
{
	int try, i;

	for (try = 0; try < SEQ_RETRIES; try++) {
		unsigned int before = atomic_load_explicit(&s->seq, memory_order_acquire);

		if (before & 1)
			continue;
		e->key = atomic_load_explicit(&s->key, memory_order_relaxed);
		e->expires_ns = atomic_load_explicit(&s->expires_ns,
						     memory_order_relaxed);
		e->meta = atomic_load_explicit(&s->meta, memory_order_relaxed);
		for (i = 0; i < PC_USERS_NAME_WORDS; i++)
			e->name[i] = atomic_load_explicit(&s->name[i],
							  memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == before)
			return true;
	}
	return false;
}

/* Queue @key for the resolver unless it is queued already. Never blocks:
 * with the set full around the key's place, the next lookup asks again. */
static void request(struct proccache_users *u, uint64_t key)
{
	uint32_t home = fib_hash(key, REQUEST_BITS);
	uint64_t one = 1;
	int i;

	for (i = 0; i < PC_USERS_PROBE; i++) {
		atomic_uint_least64_t *r =
			&u->requests[(home + i) & (PC_USERS_REQUESTS - 1)];
		uint64_t cur = atomic_load_explicit(r, memory_order_relaxed);

		if (cur == key)
			return;
		if (cur == 0 && atomic_compare_exchange_strong_explicit(
					r, &cur, key, memory_order_release,
					memory_order_relaxed)) {
			/* A non-blocking eventfd: this write never waits. */
			if (write(u->wake_fd, &one, sizeof(one)) < 0)
				pc_debug("users: waking the resolver: %s",
					 strerror(errno));
			return;
		}
		if (cur == key)
			return;
	}
}

/* The answer of a fresh entry, or -EAGAIN (the key is then requested). */
static int lookup(struct proccache_users *u, enum proccache_users_kind kind,
		  uint32_t id, char *buf, size_t len)
{
	uint64_t key = pc_users_key(kind, id);
	struct entry e;
	uint32_t home;
	int i;

	if (!u || !buf || !len)
		return -EINVAL;
	home = home_slot(u, key);
	for (i = 0; i < PC_USERS_PROBE; i++) {
		if (!slot_read(&u->slots[(home + i) & u->mask], &e))
			return -EAGAIN; /* being rewritten: ask again later */
		if (e.key == 0)
			break; /* never used: the key is not further on */
		if (e.key != key)
			continue;
		if (now_ns(u) >= e.expires_ns)
			break;
		if ((e.meta & 0xff) == PC_USERS_NEGATIVE)
			return -(int)((e.meta >> 8) & 0xff);
		if ((size_t)(e.meta >> 16) + 1 > len)
			return -ENOSPC;
		memcpy(buf, e.name, e.meta >> 16);
		buf[e.meta >> 16] = '\0';
		return (int)(e.meta >> 16);
	}
	request(u, key);
	return -EAGAIN;
}

PROCCACHE_API int proccache_users__user_name(struct proccache_users *u,
					     uint32_t uid, char *buf,
					     size_t len)
{
	return lookup(u, PROCCACHE_USERS_USER, uid, buf, len);
}

PROCCACHE_API int proccache_users__group_name(struct proccache_users *u,
					      uint32_t gid, char *buf,
					      size_t len)
{
	return lookup(u, PROCCACHE_USERS_GROUP, gid, buf, len);
}

/* ------------------------------------------------------------------------ */
/* The resolver thread                                                       */
/* ------------------------------------------------------------------------ */

/* The slot for @key: its own, else the first never used, else the one
 * that expires first (evicted). */
static struct pc_users_slot *slot_for(struct proccache_users *u, uint64_t key)
{
	uint32_t home = home_slot(u, key);
	struct pc_users_slot *victim = NULL;
	uint64_t victim_expires = UINT64_MAX;
	int i;

	for (i = 0; i < PC_USERS_PROBE; i++) {
		struct pc_users_slot *s = &u->slots[(home + i) & u->mask];
		/* Only this thread writes slots: plain relaxed reads suffice. */
		uint64_t k = atomic_load_explicit(&s->key, memory_order_relaxed);
		uint64_t exp;

		if (k == key || k == 0)
			return s;
		exp = atomic_load_explicit(&s->expires_ns, memory_order_relaxed);
		if (exp < victim_expires) {
			victim = s;
			victim_expires = exp;
		}
	}
	return victim;
}

static void publish(struct proccache_users *u, uint64_t key, uint32_t meta,
		    const char *name, size_t name_len, uint64_t expires_ns)
{
	struct pc_users_slot *s = slot_for(u, key);
	uint64_t words[PC_USERS_NAME_WORDS] = { 0 };
	unsigned int seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	int i;

	memcpy(words, name, name_len);
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->key, key, memory_order_relaxed);
	atomic_store_explicit(&s->meta, meta, memory_order_relaxed);
	atomic_store_explicit(&s->expires_ns, expires_ns, memory_order_relaxed);
	for (i = 0; i < PC_USERS_NAME_WORDS; i++)
		atomic_store_explicit(&s->name[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* "Not found" as getpwuid_r(3) may spell it. */
static bool nss_not_found(int err)
{
	return err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
	       err == EPERM;
}

static int nss_copy(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, name, n + 1);
	return (int)n;
}

/* getpwuid_r() or getgrgid_r(), growing the buffer on ERANGE. */
static int nss_resolve(enum proccache_users_kind kind, uint32_t id, char *buf,
		       size_t len, void *userdata)
{
	size_t size;

	for (size = 1024;; size *= 2) {
		char *mem = malloc(size);
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		int err, ret;

		if (!mem)
			return -ENOMEM;
		if (kind == PROCCACHE_USERS_USER)
			err = getpwuid_r(id, &pw, mem, size, &pwp);
		else
			err = getgrgid_r(id, &gr, mem, size, &grp);
		if (pwp)
			ret = nss_copy(pw.pw_name, buf, len);
		else if (grp)
			ret = nss_copy(gr.gr_name, buf, len);
		else if (err == ERANGE && size < NSS_BUF_MAX)
			ret = -ERANGE;
		else
			ret = nss_not_found(err) ? -ENOENT : -err;
		free(mem);
		if (ret != -ERANGE || pwp || grp)
			return ret;
	}
}

static void resolve_one(struct proccache_users *u, uint64_t key)
{
	enum proccache_users_kind kind = (enum proccache_users_kind)((key >> 32) - 1);
	char name[RESOLVE_BUF];
	int ret = u->resolve(kind, (uint32_t)key, name, sizeof(name),
			     u->resolve_userdata);
	uint64_t now = now_ns(u);

	if (ret > PROCCACHE_USERS_NAME_MAX || ret >= (int)sizeof(name))
		ret = -ENAMETOOLONG;
	if (ret >= 0) {
		publish(u, key, PC_USERS_NAME | (uint32_t)ret << 16, name,
			(size_t)ret, now + u->ttl_ns);
		return;
	}
	if (-ret > 0xff)
		ret = -EIO;
	publish(u, key, PC_USERS_NEGATIVE | (uint32_t)-ret << 8, "", 0,
		now + u->negative_ttl_ns);
}

/* A key can be requested by many readers before the first answer lands:
 * resolve it only if it is still not fresh. */
static bool fresh(struct proccache_users *u, uint64_t key)
{
	uint32_t home = home_slot(u, key);
	int i;

	for (i = 0; i < PC_USERS_PROBE; i++) {
		struct pc_users_slot *s = &u->slots[(home + i) & u->mask];

		if (atomic_load_explicit(&s->key, memory_order_relaxed) == key)
			return now_ns(u) < atomic_load_explicit(&s->expires_ns,
								memory_order_relaxed);
	}
	return false;
}

static void *resolver_main(void *arg)
{
	struct proccache_users *u = arg;
	struct pollfd pfd = { .fd = u->wake_fd, .events = POLLIN };
	uint64_t count;
	int i;

	while (!atomic_load_explicit(&u->stop, memory_order_acquire)) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			break;
		/* Read before taking requests: a later one wakes us again. */
		if (read(u->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			break;
		for (i = 0; i < PC_USERS_REQUESTS; i++) {
			uint64_t key;

			if (atomic_load_explicit(&u->stop, memory_order_acquire))
				break;
			key = atomic_exchange_explicit(&u->requests[i], 0,
						       memory_order_acquire);
			if (key && !fresh(u, key))
				resolve_one(u, key);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

static uint32_t round_pow2(uint32_t n)
{
	uint32_t p = PC_USERS_PROBE;

	while (p < n)
		p <<= 1;
	return p;
}

static uint32_t log2_u32(uint32_t n)
{
	uint32_t l = 0;

	while (n >>= 1)
		l++;
	return l;
}

/* The thread must not take the host's signals: start it with all blocked. */
static int start_thread(struct proccache_users *u)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&u->thread, NULL, resolver_main, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

PROCCACHE_API struct proccache_users *
proccache_users__new(const struct proccache_users_opts *opts)
{
	struct proccache_users *u;
	uint32_t capacity, slots;
	int err;

	if (!pc_opts_valid(opts, sizeof(*opts), "proccache_users_opts")) {
		errno = EINVAL;
		return NULL;
	}
	capacity = PC_OPTS_GET(opts, capacity, 0);
	if (capacity > MAX_CAPACITY) {
		pc_warn("users: capacity %u is above %u", capacity, MAX_CAPACITY);
		errno = EINVAL;
		return NULL;
	}
	slots = round_pow2(capacity ? capacity : DEFAULT_CAPACITY);
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->slots = calloc(slots, sizeof(*u->slots));
	if (!u->slots)
		goto fail;
	u->mask = slots - 1;
	u->bits = log2_u32(slots);
	u->ttl_ns = PC_OPTS_GET(opts, ttl_ns, 0);
	if (!u->ttl_ns)
		u->ttl_ns = DEFAULT_TTL_NS;
	u->negative_ttl_ns = PC_OPTS_GET(opts, negative_ttl_ns, 0);
	if (!u->negative_ttl_ns)
		u->negative_ttl_ns = DEFAULT_NEGATIVE_TTL_NS;
	u->resolve = PC_OPTS_GET(opts, resolve, NULL);
	u->resolve_userdata = PC_OPTS_GET(opts, resolve_userdata, NULL);
	if (!u->resolve)
		u->resolve = nss_resolve;
	u->clock = PC_OPTS_GET(opts, clock, NULL);
	u->clock_userdata = PC_OPTS_GET(opts, clock_userdata, NULL);
	if (!u->clock)
		u->clock = coarse_clock;
	u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->wake_fd < 0)
		goto fail;
	err = start_thread(u);
	if (err < 0) {
		close(u->wake_fd);
		errno = -err;
		goto fail;
	}
	return u;
fail:
	err = errno;
	free(u->slots);
	free(u);
	errno = err;
	return NULL;
}

PROCCACHE_API void proccache_users__free(struct proccache_users *u)
{
	uint64_t one = 1;

	if (!u)
		return;
	atomic_store_explicit(&u->stop, true, memory_order_release);
	if (write(u->wake_fd, &one, sizeof(one)) < 0)
		pc_warn("users: stopping the resolver: %s", strerror(errno));
	pthread_join(u->thread, NULL);
	close(u->wake_fd);
	free(u->slots);
	free(u);
}
