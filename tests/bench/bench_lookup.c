/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_lookup: lookups by exec ID string (lookup + read the binary +
 * unref) from 2 reader threads over a working set of live processes, with
 * no writer and with one writer ingesting fork/exec/exit churn at full
 * speed; the cache against the rwlock table baseline, same workload, same
 * run. Reports wall-clock rates and rates per second of reader CPU time:
 * on a machine with fewer cores than threads, the writer takes CPU time
 * from the readers whatever the design, and only the second rate shows the
 * interference of the design itself.
 *
 * Three scenarios: no writer; a writer paced at the same rate for every
 * design (the same workload: PROCCACHE_BENCH_RATE events/s, default
 * 200000); a writer at full speed (each design's writer then ingests at
 * its own pace, which the table shows).
 *
 * PROCCACHE_BENCH_SECONDS (default 2) per measurement,
 * PROCCACHE_BENCH_ROUNDS (default 5; the median is shown),
 * PROCCACHE_BENCH_WS (default 10000 live processes).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define N_READERS 2
#define GRACE_NS (10ull * 1000 * 1000) /* 10 ms of real time */
#define MAX_ROUNDS 15

enum scenario { NO_WRITER, PACED, FULL_SPEED, N_SCENARIOS };

struct run {
	const struct design *ds;
	double rate; /* events/s for PACED, 0 for full speed */
	void *d;
	const char *ids;
	uint64_t n_ids;
	struct workload wl;
	pthread_barrier_t start;
	_Atomic uint64_t cur; /* processes created */
	_Atomic bool stop, exhausted;
	uint64_t writer_events, writer_cpu_ns;
};

struct reader_result {
	struct run *run;
	pthread_t thread;
	uint64_t seed, ops, misses, cpu_ns;
	unsigned int sink;
};

struct result {
	double lookups_per_s, lookups_per_cpu_s, writer_events_per_s, misses;
};

static void *reader_main(void *arg)
{
	struct reader_result *res = arg;
	struct run *run = res->run;
	uint64_t ws = run->wl.ws, cpu0;
	unsigned int sink = 0;

	pthread_barrier_wait(&run->start);
	cpu0 = bench_thread_cpu_ns();
	while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
		/* Once a batch: the writer writes this line on every cycle,
		 * and reading it on every lookup would add a miss to every
		 * design alike. */
		uint64_t cur = atomic_load_explicit(&run->cur,
						    memory_order_acquire);

		for (int k = 0; k < 64; k++) {
			uint64_t i = cur - 1 - bench_rand_below(&res->seed, ws);
			void *rec = run->ds->lookup_exec_id(
				run->d, run->ids + i * BENCH_ID_LEN);

			if (rec) {
				sink += (unsigned char)run->ds->binary(rec)[0];
				run->ds->unref(rec);
			} else {
				res->misses++;
			}
		}
		res->ops += 64;
	}
	res->cpu_ns = bench_thread_cpu_ns() - cpu0;
	res->sink = sink; /* per thread: a shared sink would be a shared line */
	return NULL;
}

/* Sleep until the paced writer's schedule allows @events. */
static void pace(const struct run *run, uint64_t t0, uint64_t events)
{
	uint64_t due = t0 + (uint64_t)((double)events / run->rate * 1e9);
	uint64_t now = bench_now_ns();

	if (due > now) {
		struct timespec ts = { (time_t)((due - now) / 1000000000u),
				       (long)((due - now) % 1000000000u) };

		nanosleep(&ts, NULL);
	}
}

static void *writer_main(void *arg)
{
	struct run *run = arg;
	uint64_t cpu0, t0;

	pthread_barrier_wait(&run->start);
	cpu0 = bench_thread_cpu_ns();
	t0 = bench_now_ns();
	while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
		/* Paced in batches: a sleep per cycle would cost more than
		 * the cycle. */
		if (run->rate && run->writer_events % 192 == 0)
			pace(run, t0, run->writer_events);
		if (run->wl.next >= run->n_ids) {
			atomic_store(&run->exhausted, true);
			break;
		}
		if (wl_cycle(&run->wl, run->ds, run->d) < 0) {
			fprintf(stderr, "%s: ingest failed\n", run->ds->name);
			exit(2);
		}
		run->writer_events += WL_EVENTS_PER_CYCLE;
		atomic_store_explicit(&run->cur, run->wl.next,
				      memory_order_release);
	}
	run->writer_cpu_ns = bench_thread_cpu_ns() - cpu0;
	return NULL;
}

static struct result measure(const struct design *ds, enum scenario sc,
			     double rate, const char *ids, uint64_t n_ids,
			     uint32_t ws, double seconds)
{
	struct reader_result readers[N_READERS] = { 0 };
	struct run run = { .ds = ds, .ids = ids, .n_ids = n_ids,
			   .wl = { .ws = ws }, .rate = sc == PACED ? rate : 0 };
	bool with_writer = sc != NO_WRITER;
	uint64_t t0, t1, ops = 0, misses = 0, cpu = 0;
	pthread_t writer;
	struct result r;

	run.d = ds->create(4 * ws + (1u << 16), GRACE_NS);
	if (!run.d || wl_prefill(&run.wl, ds, run.d) < 0) {
		fprintf(stderr, "%s: setup failed\n", ds->name);
		exit(2);
	}
	atomic_store(&run.cur, run.wl.next);
	pthread_barrier_init(&run.start, NULL, N_READERS + 1 + with_writer);
	for (int i = 0; i < N_READERS; i++) {
		readers[i].run = &run;
		readers[i].seed = 0x1234567u + (uint64_t)i;
		pthread_create(&readers[i].thread, NULL, reader_main,
			       &readers[i]);
	}
	if (with_writer)
		pthread_create(&writer, NULL, writer_main, &run);
	pthread_barrier_wait(&run.start);
	t0 = bench_now_ns();
	while (bench_now_ns() - t0 < (uint64_t)(seconds * 1e9) &&
	       !atomic_load(&run.exhausted)) {
		struct timespec pause = { 0, 5 * 1000 * 1000 };

		nanosleep(&pause, NULL);
	}
	atomic_store(&run.stop, true);
	t1 = bench_now_ns();
	for (int i = 0; i < N_READERS; i++) {
		pthread_join(readers[i].thread, NULL);
		ops += readers[i].ops;
		misses += readers[i].misses;
		cpu += readers[i].cpu_ns;
	}
	if (with_writer)
		pthread_join(writer, NULL);
	if (atomic_load(&run.exhausted))
		fprintf(stderr, "%s: the writer used every precomputed exec ID "
			"after %.2f s\n", ds->name, (double)(t1 - t0) / 1e9);
	ds->destroy(run.d);
	pthread_barrier_destroy(&run.start);

	r.lookups_per_s = (double)ops / ((double)(t1 - t0) / 1e9);
	r.lookups_per_cpu_s = (double)ops / ((double)cpu / 1e9) * N_READERS;
	r.writer_events_per_s = with_writer ? (double)run.writer_events /
						      ((double)(t1 - t0) / 1e9)
					    : 0;
	r.misses = ops ? (double)misses / (double)ops : 0;
	return r;
}

#define N_DESIGNS 6
#define FLOOR 3 /* designs[FLOOR] and after run without a writer only */
#define N_VALUES 4

static const char *const scenario_names[N_SCENARIOS] = {
	"no writer", "paced writer", "full-speed writer",
};

int main(void)
{
	static const struct design *designs[N_DESIGNS] = {
		&design_proccache, &design_rwlock, &design_rwlock_writer,
		&design_floor, &design_floor_epoch, &design_floor_epoch_ref,
	};
	double seconds = bench_env("PROCCACHE_BENCH_SECONDS", 2);
	double rate = bench_env("PROCCACHE_BENCH_RATE", 200000);
	int rounds = (int)bench_env("PROCCACHE_BENCH_ROUNDS", 5);
	uint32_t ws = (uint32_t)bench_env("PROCCACHE_BENCH_WS", 10000);
	/* For profiling one design or scenario: bit d is design d, bit
	 * 4 + s is scenario s; the others print as 0. */
	unsigned int only = (unsigned int)bench_env("PROCCACHE_BENCH_ONLY", 0);
	/* Enough exec IDs for a writer doing 4 M events/s. */
	uint64_t n_ids = ws + (uint64_t)(seconds * 4e6 / WL_EVENTS_PER_CYCLE);
	static double v[N_DESIGNS][N_SCENARIOS][N_VALUES][MAX_ROUNDS];
	struct result med[N_DESIGNS][N_SCENARIOS];
	struct workload wl = { .ws = ws };
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	double keep_cpu, keep_paced, bound;
	char *ids;

	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	ids = wl_exec_ids(&wl, n_ids);
	if (!ids)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench_lookup: %d reader threads, lookup by exec ID + read + "
	       "unref, %u live processes;\nwriter: fork/exec/exit churn, "
	       "paced at %.0f events/s or at full speed;\n%.1f s per "
	       "measurement, median of %d rounds\n", N_READERS, ws, rate,
	       seconds, rounds);
	bench_print_machine();

	/* Rounds interleave the designs, so drift hits them alike. */
	for (int round = 0; round < rounds; round++) {
		for (int d = 0; d < N_DESIGNS; d++) {
			for (int sc = 0; sc < N_SCENARIOS; sc++) {
				struct result r = { 0 };

				if (d >= FLOOR && sc != NO_WRITER)
					;
				else if (!only || ((only & 1u << d) &&
						   (only & 1u << (4 + sc))))
					r = measure(designs[d], sc, rate, ids,
						    n_ids, ws, seconds);
				v[d][sc][0][round] = r.lookups_per_s;
				v[d][sc][1][round] = r.lookups_per_cpu_s;
				v[d][sc][2][round] = r.writer_events_per_s;
				v[d][sc][3][round] = r.misses;
			}
		}
	}
	for (int d = 0; d < N_DESIGNS; d++) {
		for (int sc = 0; sc < N_SCENARIOS; sc++) {
			struct result *m = &med[d][sc];

			m->lookups_per_s = bench_median(v[d][sc][0], rounds);
			m->lookups_per_cpu_s = bench_median(v[d][sc][1], rounds);
			m->writer_events_per_s =
				bench_median(v[d][sc][2], rounds);
			m->misses = bench_median(v[d][sc][3], rounds);
		}
	}

	printf("\nlookups/s of the %d readers together (wall clock); "
	       "[events/s the writer ingested]\n", N_READERS);
	printf("%-28s", "design");
	for (int sc = 0; sc < N_SCENARIOS; sc++)
		printf(" | %-23s", scenario_names[sc]);
	printf("\n");
	for (int d = 0; d < N_DESIGNS; d++) {
		printf("%-28s | %12.0f %10s", designs[d]->name,
		       med[d][NO_WRITER].lookups_per_s, "");
		for (int sc = PACED; sc < N_SCENARIOS && d < FLOOR; sc++)
			printf(" | %12.0f [%8.0f]", med[d][sc].lookups_per_s,
			       med[d][sc].writer_events_per_s);
		printf("\n");
	}
	for (int d = 0; d < N_DESIGNS; d++) {
		bool shown = false;

		for (int sc = 0; sc < N_SCENARIOS; sc++) {
			if (med[d][sc].misses < 0.001)
				continue;
			printf("%s%s: %.2f%% misses %s", shown ? ", " : "",
			       designs[d]->name, 100 * med[d][sc].misses,
			       scenario_names[sc]);
			shown = true;
		}
		if (shown)
			printf("\n");
	}
	printf("\nlookups per second of one reader's CPU time\n");
	for (int d = 0; d < N_DESIGNS; d++) {
		printf("%-28s", designs[d]->name);
		for (int sc = 0; sc < (d >= FLOOR ? 1 : N_SCENARIOS); sc++)
			printf(" | %12.0f %10s",
			       med[d][sc].lookups_per_cpu_s / N_READERS, "");
		printf("\n");
	}

	printf("\n%-58s %7s  %s\n", "targets", "value", "verdict");
	for (int d = 1; d < FLOOR; d++) {
		for (int sc = PACED; sc < N_SCENARIOS; sc++) {
			char what[96];
			double ratio = med[0][sc].lookups_per_s /
				       med[d][sc].lookups_per_s;

			snprintf(what, sizeof(what), "lock-free / %s, %s",
				 designs[d]->name, scenario_names[sc]);
			printf("%-58s %6.2fx  >= 3x: %s\n", what, ratio,
			       bench_verdict(ratio >= 3));
		}
	}
	keep_cpu = med[0][FULL_SPEED].lookups_per_cpu_s /
		   med[0][NO_WRITER].lookups_per_cpu_s;
	keep_paced = med[0][PACED].lookups_per_s /
		     med[0][NO_WRITER].lookups_per_s;
	printf("%-58s %6.1f%%  >= 80%%: %s\n",
	       "lock-free readers keep, full-speed writer, per CPU second",
	       100 * keep_cpu, bench_verdict(keep_cpu >= 0.8));
	printf("%-58s %6.1f%%  >= 80%%: %s\n",
	       "lock-free readers keep, paced writer, wall clock",
	       100 * keep_paced, bench_verdict(keep_paced >= 0.8));
	printf("%-58s %6.1f%%  (%ld cores, 3 busy threads: CPU sharing "
	       "alone caps it near %.0f%%)\n",
	       "lock-free readers keep, full-speed writer, wall clock",
	       100 * med[0][FULL_SPEED].lookups_per_s /
		       med[0][NO_WRITER].lookups_per_s,
	       cores, cores >= 3 ? 100.0 : 100.0 * (double)cores / 3);

	/*
	 * What no design can beat on this machine: a floor's rate per CPU
	 * second, given the reader CPU time the lock-free readers got beside
	 * their full-speed writer. The bare floor bounds any design; the floor
	 * with an epoch section and a counted reference bounds a design built,
	 * as the cache must be, on ck_epoch and references that outlive it.
	 */
	printf("\nbounds at full speed: a floor's lookups per CPU second x the "
	       "reader CPU the lock-free\nreaders got beside their writer; "
	       "ratios to the rwlock tables' full-speed rates, and how much\n"
	       "faster than the lock-free readers the floor is, no writer, per "
	       "CPU second\n");
	printf("%-30s %12s %9s %9s %9s\n", "floor", "lookups/s", "/ rwlock",
	       "/ wr-first", "/ l-free");
	for (int d = FLOOR; d < N_DESIGNS; d++) {
		bound = med[d][NO_WRITER].lookups_per_cpu_s *
			med[0][FULL_SPEED].lookups_per_s /
			med[0][FULL_SPEED].lookups_per_cpu_s;
		printf("%-30s %12.0f %8.2fx %8.2fx %8.2fx\n", designs[d]->name,
		       bound, bound / med[1][FULL_SPEED].lookups_per_s,
		       bound / med[2][FULL_SPEED].lookups_per_s,
		       med[d][NO_WRITER].lookups_per_cpu_s /
			       med[0][NO_WRITER].lookups_per_cpu_s);
	}
	free(ids);
	return 0;
}
