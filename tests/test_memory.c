/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory stays flat under churn: one million processes fork, exec and exit
 * through the public ingest API with the default grace and cap, on a test
 * clock that advances 1 ms per process (so a process's entries outlive
 * their grace 30 000 processes later), while resident memory is sampled.
 * The highest sample of the second half must stay within 5% of the first
 * half's: the cache plateaus once grace reclaims as fast as processes come.
 * PROCCACHE_MEMORY_PROCS scales the run; the curve is printed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proccache/proccache.h>

#define SAMPLES 50
#define STEP_NS 1000000ull /* clock advance per process */

static uint64_t now_ns;

static uint64_t test_clock(void *userdata)
{
	(void)userdata;
	return now_ns;
}

static uint64_t rss_kib(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* xorshift: args of varied sizes, so the allocator sees real churn */
static uint32_t rng = 2463534242u;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void ingest_ok(struct proccache *pc, struct proccache_event *ev)
{
	int r = proccache__ingest(pc, ev);

	cr_assert_eq(r, 0, "ingest type %u pid %u: %d", ev->type, ev->pid, r);
}

/* A shell forks @pid, which execs a binary with args and exits. */
static void one_process(struct proccache *pc, struct proccache_key shell,
			uint32_t pid, char *args)
{
	PROCCACHE_OPTS(proccache_event, ev);
	uint64_t start = now_ns;
	size_t len = 16 + next_rand() % 480;

	memset(args, 'a' + (int)(pid % 26), len);
	args[len - 1] = '\0';
	ev.type = PROCCACHE_EVENT_CLONE;
	ev.pid = ev.tid = pid;
	ev.ktime = start;
	ev.parent = shell;
	ingest_ok(pc, &ev);

	ev.type = PROCCACHE_EVENT_EXEC;
	ev.ktime = start + 1000;
	ev.prev = (struct proccache_key){ .pid = pid, .ktime = start };
	ev.start_time = start;
	ev.parent = (struct proccache_key){ 0 };
	ev.binary = pid & 1 ? "/usr/bin/make" : "/usr/lib/gcc/cc1";
	ev.args = args;
	ev.args_len = len;
	ev.cwd = "/build/tree";
	ingest_ok(pc, &ev);

	memset(&ev, 0, sizeof(ev));
	ev.sz = sizeof(ev);
	ev.type = PROCCACHE_EVENT_EXIT;
	ev.pid = ev.tid = pid;
	ev.time = start + 2000;
	ingest_ok(pc, &ev);
}

Test(memory, flat_under_a_million_processes, .timeout = 300)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "mem",
		       .clock = test_clock);
	PROCCACHE_OPTS(proccache_event, ev);
	struct proccache_stats st = { .sz = sizeof(st) };
	const char *env = getenv("PROCCACHE_MEMORY_PROCS");
	uint64_t procs = env ? strtoull(env, NULL, 10) : 1000000;
	uint64_t rss[SAMPLES], first = 0, second = 0, i, every;
	struct proccache_key shell = { .pid = 1000 };
	struct proccache *pc;
	char args[512];
	int s = 0;

	cr_assert_geq(procs, SAMPLES * 1000);
	every = procs / SAMPLES;
	now_ns = 1000000000ull;
	pc = proccache__new(&opts);
	cr_assert_not_null(pc);
	ev.type = PROCCACHE_EVENT_EXEC;
	ev.pid = ev.tid = shell.pid;
	ev.ktime = shell.ktime = now_ns;
	ev.binary = "/bin/bash";
	ingest_ok(pc, &ev);

	for (i = 0; i < procs; i++) {
		now_ns += STEP_NS;
		/* pids cycle through the kernel's range, as on a busy host */
		one_process(pc, shell, 1001 + (uint32_t)(i % 4000000), args);
		if ((i + 1) % every == 0 && s < SAMPLES)
			rss[s++] = rss_kib();
	}
	cr_assert_eq(proccache__stats(pc, &st), 0);
	fprintf(stderr, "memory: %llu processes, %llu entries cached, "
		"%llu reclaimed, %llu evicted\nmemory: RSS KiB every %llu "
		"processes:",
		(unsigned long long)procs,
		(unsigned long long)(st.entries_live + st.entries_exited),
		(unsigned long long)st.reclaims,
		(unsigned long long)st.evictions_full,
		(unsigned long long)every);
	for (s = 0; s < SAMPLES; s++) {
		fprintf(stderr, "%s%llu", s % 10 ? " " : "\n  ",
			(unsigned long long)rss[s]);
		if (s < SAMPLES / 2)
			first = rss[s] > first ? rss[s] : first;
		else
			second = rss[s] > second ? rss[s] : second;
	}
	fprintf(stderr, "\nmemory: max first half %llu KiB, second half "
		"%llu KiB (%+.2f%%)\n", (unsigned long long)first,
		(unsigned long long)second,
		100.0 * ((double)second - (double)first) / (double)first);
	/* Grace reclaimed, so what is cached is ~30 s of processes, not all. */
	cr_assert_lt(st.entries_live + st.entries_exited, 2 * 30000 + 16);
	cr_assert_geq(st.reclaims, 2 * (procs - 30000));
	cr_assert_leq(second * 100, first * 105,
		      "RSS grew: first half max %llu KiB, second %llu KiB",
		      (unsigned long long)first, (unsigned long long)second);
	proccache__free(pc);
}
