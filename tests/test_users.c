/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The user and group name cache (lib/users.c) on the public API: a real
 * lookup of root through NSS, then a fake user database injected as the
 * resolver, with a test clock for the lifetimes. The last suite hammers it
 * from several threads while the resolver rewrites slots; it runs in the
 * stress suite too, so under ASan+UBSan and TSan (tests/run-all.sh).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <proccache/proccache.h>

#define WAIT_MS 5000

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

typedef int (*lookup_fn)(struct proccache_users *, uint32_t, char *, size_t);

/* Ask until the answer is not -EAGAIN any more (or WAIT_MS passed). */
static int lookup_settled(struct proccache_users *u, lookup_fn fn, uint32_t id,
			  char *buf, size_t len)
{
	uint64_t end = mono_ms() + WAIT_MS;
	int ret;

	while ((ret = fn(u, id, buf, len)) == -EAGAIN && mono_ms() < end)
		usleep(1000);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* The real user database                                                    */
/* ------------------------------------------------------------------------ */

Test(users_nss, root_is_uid_and_gid_0)
{
	struct proccache_users *u = proccache_users__new(NULL);
	char name[64];

	cr_assert_not_null(u, "new: %s", strerror(errno));
	/* Nothing is cached yet: the first answer cannot be the name. */
	cr_assert_eq(proccache_users__user_name(u, 0, name, sizeof(name)), -EAGAIN);
	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 0, name,
				    sizeof(name)), 4);
	cr_assert_str_eq(name, "root");
	cr_assert_eq(lookup_settled(u, proccache_users__group_name, 0, name,
				    sizeof(name)), 4);
	cr_assert_str_eq(name, "root");
	proccache_users__free(u);
}

/* A uid no passwd file on a test machine has: NSS says "no such user". */
Test(users_nss, unknown_uid_is_enoent)
{
	struct proccache_users *u = proccache_users__new(NULL);
	char name[64];

	cr_assert_not_null(u);
	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 3999999999u,
				    name, sizeof(name)), -ENOENT);
	proccache_users__free(u);
}

/* ------------------------------------------------------------------------ */
/* A fake user database                                                      */
/* ------------------------------------------------------------------------ */

struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool hold;                /* the resolver waits while set */
	bool holding;             /* ... and says so here */
	const char *suffix;       /* appended to names: a changed database */
	atomic_uint calls;
	atomic_uint_least64_t now; /* the test clock */
};

static uint64_t fake_clock(void *userdata)
{
	struct fake *f = userdata;

	return atomic_load(&f->now);
}

/*
 * uid N < 1000 is "uN", group N is "gN"; 4242 does not exist; 5000 is
 * longer than the cache keeps; 6000 fails with EIO.
 */
static int fake_resolve(enum proccache_users_kind kind, uint32_t id, char *buf,
			size_t len, void *userdata)
{
	struct fake *f = userdata;
	const char *suffix;

	atomic_fetch_add(&f->calls, 1);
	pthread_mutex_lock(&f->lock);
	f->holding = f->hold;
	pthread_cond_broadcast(&f->cond);
	while (f->hold)
		pthread_cond_wait(&f->cond, &f->lock);
	f->holding = false;
	suffix = f->suffix ? f->suffix : "";
	pthread_mutex_unlock(&f->lock);
	if (id == 4242)
		return -ENOENT;
	if (id == 6000)
		return -EIO;
	if (id == 5000) {
		memset(buf, 'x', 100);
		buf[100] = '\0';
		return 100;
	}
	return snprintf(buf, len, "%c%u%s", kind == PROCCACHE_USERS_USER ? 'u' : 'g',
			id, suffix);
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	cr_assert_not_null(f);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	atomic_store(&f->now, 1000);
	return f;
}

static void fake_free(struct fake *f)
{
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

static struct proccache_users *users_fake(struct fake *f, uint32_t capacity)
{
	PROCCACHE_OPTS(proccache_users_opts, o, .capacity = capacity,
		       .ttl_ns = 1000, .negative_ttl_ns = 100,
		       .resolve = fake_resolve, .resolve_userdata = f,
		       .clock = fake_clock, .clock_userdata = f);
	struct proccache_users *u = proccache_users__new(&o);

	cr_assert_not_null(u, "new: %s", strerror(errno));
	return u;
}

Test(users_fake, users_and_groups_are_told_apart)
{
	struct fake *f = fake_new();
	struct proccache_users *u = users_fake(f, 0);
	char name[64];

	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 7, name,
				    sizeof(name)), 2);
	cr_assert_str_eq(name, "u7");
	cr_assert_eq(lookup_settled(u, proccache_users__group_name, 7, name,
				    sizeof(name)), 2);
	cr_assert_str_eq(name, "g7");
	/* Cached: answered again without asking the resolver. */
	cr_assert_eq(proccache_users__user_name(u, 7, name, sizeof(name)), 2);
	cr_assert_eq(atomic_load(&f->calls), 2);
	proccache_users__free(u);
	fake_free(f);
}

Test(users_fake, negative_answers)
{
	struct fake *f = fake_new();
	struct proccache_users *u = users_fake(f, 0);
	char name[64];

	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 4242, name,
				    sizeof(name)), -ENOENT);
	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 6000, name,
				    sizeof(name)), -EIO);
	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 5000, name,
				    sizeof(name)), -ENAMETOOLONG);
	cr_assert_eq(atomic_load(&f->calls), 3);
	/* Kept for the negative lifetime (100 ns of the test clock). */
	cr_assert_eq(proccache_users__user_name(u, 4242, name, sizeof(name)), -ENOENT);
	cr_assert_eq(atomic_load(&f->calls), 3);
	atomic_fetch_add(&f->now, 100);
	cr_assert_eq(proccache_users__user_name(u, 4242, name, sizeof(name)), -EAGAIN);
	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 4242, name,
				    sizeof(name)), -ENOENT);
	cr_assert_eq(atomic_load(&f->calls), 4);
	proccache_users__free(u);
	fake_free(f);
}

Test(users_fake, a_name_lives_for_its_ttl_then_is_resolved_again)
{
	struct fake *f = fake_new();
	struct proccache_users *u = users_fake(f, 0);
	char name[64];

	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 1, name,
				    sizeof(name)), 2);
	pthread_mutex_lock(&f->lock);
	f->suffix = "-renamed";
	pthread_mutex_unlock(&f->lock);
	atomic_fetch_add(&f->now, 999);
	cr_assert_eq(proccache_users__user_name(u, 1, name, sizeof(name)), 2,
		     "expired before its ttl");
	cr_assert_str_eq(name, "u1");
	atomic_fetch_add(&f->now, 1);
	cr_assert_eq(proccache_users__user_name(u, 1, name, sizeof(name)), -EAGAIN);
	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 1, name,
				    sizeof(name)), 10);
	cr_assert_str_eq(name, "u1-renamed");
	proccache_users__free(u);
	fake_free(f);
}

/* The resolver is stuck in the database: lookups keep answering at once. */
Test(users_fake, lookups_never_wait_for_the_resolver)
{
	struct fake *f = fake_new();
	struct proccache_users *u = users_fake(f, 0);
	char name[64];
	uint64_t start;
	int i;

	pthread_mutex_lock(&f->lock);
	f->hold = true;
	pthread_mutex_unlock(&f->lock);
	cr_assert_eq(proccache_users__user_name(u, 1, name, sizeof(name)), -EAGAIN);
	pthread_mutex_lock(&f->lock);
	while (!f->holding)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);

	start = mono_ms();
	for (i = 0; i < 100000; i++)
		cr_assert_eq(proccache_users__user_name(u, (uint32_t)i % 50, name,
							sizeof(name)), -EAGAIN);
	cr_assert_lt(mono_ms() - start, 2000, "lookups waited for the resolver");

	pthread_mutex_lock(&f->lock);
	f->hold = false;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 1, name,
				    sizeof(name)), 2);
	proccache_users__free(u);
	fake_free(f);
}

/* Capacity 8: after 200 names, at most 8 are still answered from the cache. */
Test(users_fake, capacity_bounds_the_names_kept)
{
	struct fake *f = fake_new();
	struct proccache_users *u = users_fake(f, 8);
	char name[64];
	uint32_t id;
	int hits = 0;

	for (id = 0; id < 200; id++) {
		int ret = lookup_settled(u, proccache_users__user_name, id, name,
					 sizeof(name));

		cr_assert(ret > 0 && ret == (int)strlen(name), "uid %u: %d", id, ret);
	}
	/* Newest first: each miss below queues a resolution that may evict
	 * a name not yet checked, so the names last resolved (the ones a
	 * bounded cache keeps) are checked before any miss. Only names kept
	 * from the loop above can hit: each id is asked once. */
	cr_assert_gt(proccache_users__user_name(u, 199, name, sizeof(name)), 0,
		     "the name resolved last is kept");
	hits = 1;
	for (id = 199; id-- > 0;)
		hits += proccache_users__user_name(u, id, name, sizeof(name)) > 0;
	cr_assert_leq(hits, 8, "%d names kept with capacity 8", hits);
	proccache_users__free(u);
	fake_free(f);
}

Test(users_fake, bad_arguments)
{
	struct fake *f = fake_new();
	struct proccache_users *u = users_fake(f, 0);
	char name[64];

	cr_assert_eq(proccache_users__user_name(NULL, 0, name, sizeof(name)), -EINVAL);
	cr_assert_eq(proccache_users__user_name(u, 0, NULL, 10), -EINVAL);
	cr_assert_eq(proccache_users__group_name(u, 0, name, 0), -EINVAL);
	cr_assert_eq(lookup_settled(u, proccache_users__user_name, 123, name,
				    sizeof(name)), 4);
	/* "u123" needs 5 bytes with its NUL; the buffer is left alone. */
	strcpy(name, "keep");
	cr_assert_eq(proccache_users__user_name(u, 123, name, 4), -ENOSPC);
	cr_assert_str_eq(name, "keep");
	cr_assert_eq(proccache_users__user_name(u, 123, name, 5), 4);
	proccache_users__free(u);
	proccache_users__free(NULL);
	fake_free(f);
}

Test(users_fake, bad_options)
{
	struct {
		struct proccache_users_opts o;
		uint64_t tail;
	} big = { .o = { .sz = sizeof(big) }, .tail = 1 };
	PROCCACHE_OPTS(proccache_users_opts, o, .capacity = (1u << 20) + 1);

	errno = 0;
	cr_assert_null(proccache_users__new(&o));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(proccache_users__new(&big.o));
	cr_assert_eq(errno, EINVAL);
	big.tail = 0;
	proccache_users__free(proccache_users__new(&big.o));
}

/* ------------------------------------------------------------------------ */
/* Many readers while the resolver rewrites                                  */
/* ------------------------------------------------------------------------ */

#define READERS 4
#define IDS 64

struct reader_arg {
	struct proccache_users *u;
	atomic_bool *stop;
	unsigned long answers;
	int bad;
};

/* Every name answered must be the one of that id, whole. */
static void *reader_main(void *p)
{
	struct reader_arg *a = p;
	char name[64], want[64];
	uint32_t id = 0;

	while (!atomic_load(a->stop)) {
		int ret;

		id = (id * 7 + 3) % IDS;
		ret = proccache_users__user_name(a->u, id, name, sizeof(name));
		if (ret == -EAGAIN)
			continue;
		snprintf(want, sizeof(want), "u%u", id);
		if (ret != (int)strlen(want) || strcmp(name, want) != 0)
			a->bad++;
		a->answers++;
	}
	return NULL;
}

/* Capacity 16 for 64 ids and a clock that moves: slots are evicted and
 * rewritten all the time under the readers. */
Test(users_stress, readers_see_whole_names_while_slots_are_rewritten,
     .timeout = 120)
{
	struct fake *f = fake_new();
	struct proccache_users *u = users_fake(f, 16);
	struct reader_arg args[READERS];
	pthread_t threads[READERS];
	atomic_bool stop = false;
	unsigned long answers = 0;
	uint64_t end = mono_ms() + 1500;
	int i;

	for (i = 0; i < READERS; i++) {
		args[i] = (struct reader_arg){ .u = u, .stop = &stop };
		cr_assert_eq(pthread_create(&threads[i], NULL, reader_main, &args[i]), 0);
	}
	while (mono_ms() < end) {
		atomic_fetch_add(&f->now, 500);
		usleep(200);
	}
	atomic_store(&stop, true);
	for (i = 0; i < READERS; i++) {
		pthread_join(threads[i], NULL);
		cr_assert_eq(args[i].bad, 0, "reader %d saw %d wrong names", i,
			     args[i].bad);
		answers += args[i].answers;
	}
	cr_assert_gt(answers, 0, "no lookup was ever answered");
	cr_assert_gt(atomic_load(&f->calls), IDS, "the resolver did not rewrite");
	proccache_users__free(u);
	fake_free(f);
}
