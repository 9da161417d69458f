/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The user and group name cache under concurrency, without Criterion (whose
 * arena cannot start under TSan): reader threads look names up while the
 * resolver thread evicts and rewrites slots under them, with a capacity far
 * below the ids asked for and a test clock that keeps expiring entries.
 * Every name answered must be the whole, right one. Exit 0 on success.
 * The same check runs as a Criterion case in tests/test_users.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <proccache/proccache.h>

#define READERS 4
#define IDS 256
#define RUN_MS 3000

static atomic_uint_least64_t test_now = 1;
static atomic_uint resolves;
static atomic_bool stop;

static uint64_t test_clock(void *userdata)
{
	return atomic_load(&test_now);
}

static int resolve(enum proccache_users_kind kind, uint32_t id, char *buf,
		   size_t len, void *userdata)
{
	atomic_fetch_add(&resolves, 1);
	if (id % 17 == 0)
		return -ENOENT;
	return snprintf(buf, len, "%s-%u-%.*s", kind ? "group" : "user", id,
			(int)(id % 40), "abcdefghijklmnopqrstuvwxyz0123456789ABCD");
}

struct reader {
	struct proccache_users *u;
	unsigned long names, negative, pending, bad;
};

static void *reader_main(void *p)
{
	struct reader *r = p;
	char name[PROCCACHE_USERS_NAME_MAX + 1], want[128];
	uint32_t id = (uint32_t)(uintptr_t)p;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int kind = id & 1, ret;

		id = id * 1103515245u + 12345u;
		ret = (kind ? proccache_users__group_name : proccache_users__user_name)(
			r->u, (id >> 8) % IDS, name, sizeof(name));
		if (ret == -EAGAIN) {
			r->pending++;
			continue;
		}
		resolve(kind, (id >> 8) % IDS, want, sizeof(want), NULL);
		atomic_fetch_sub(&resolves, 1); /* that call was not the resolver's */
		if (ret == -ENOENT && ((id >> 8) % IDS) % 17 == 0)
			r->negative++;
		else if (ret >= 0 && !strcmp(name, want) && ret == (int)strlen(want))
			r->names++;
		else
			r->bad++;
	}
	return NULL;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(void)
{
	PROCCACHE_OPTS(proccache_users_opts, o, .capacity = 32, .ttl_ns = 1000,
		       .negative_ttl_ns = 300, .resolve = resolve,
		       .clock = test_clock);
	struct proccache_users *u = proccache_users__new(&o);
	struct reader readers[READERS] = { 0 };
	pthread_t threads[READERS];
	unsigned long names = 0, negative = 0, bad = 0;
	uint64_t end;
	int i;

	if (!u) {
		fprintf(stderr, "stress_users: new: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < READERS; i++) {
		readers[i].u = u;
		if (pthread_create(&threads[i], NULL, reader_main, &readers[i])) {
			fprintf(stderr, "stress_users: pthread_create failed\n");
			return 1;
		}
	}
	for (end = mono_ms() + RUN_MS; mono_ms() < end;) {
		atomic_fetch_add(&test_now, 100);
		usleep(100);
	}
	atomic_store(&stop, true);
	for (i = 0; i < READERS; i++) {
		pthread_join(threads[i], NULL);
		names += readers[i].names;
		negative += readers[i].negative;
		bad += readers[i].bad;
	}
	proccache_users__free(u);
	printf("stress_users: %lu names, %lu negative, %lu wrong, %u resolver calls\n",
	       names, negative, bad, atomic_load(&resolves));
	return bad == 0 && names > 0 && negative > 0 && atomic_load(&resolves) > IDS
		       ? 0 : 1;
}
