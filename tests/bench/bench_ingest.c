/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_ingest: single-thread costs of the cache against the rwlock table
 * baseline, in the same run.
 *  1. ingest: events/s of fork/exec/exit churn over 10 000 live processes;
 *  2. latency of ancestors(depth 8) including the unref of the 8 returned
 *     references, and of one lookup by key and by exec ID, with the working
 *     set cached;
 *  1b. the cost of the process context: the same churn on the cache with
 *     and without comm, pgid, sid and tty in the exec events (wl_context),
 *     interleaved in the same rounds;
 *  3. memory: bytes per cached process, strings excluded, at 100 k and
 *     1 M exec'd processes, from mallinfo2() deltas, beside what the
 *     structures' sizes predict.
 *
 * Only the public API drives the cache; the private headers are included
 * for sizeof() alone. PROCCACHE_BENCH_ROUNDS (default 5; median shown).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "rwtable.h"

#include "cache.h"
#include "process.h"

#define WS 10000u
#define GRACE_NS (10ull * 1000 * 1000)
#define INGEST_CYCLES 500000u
#define CHAIN 16
#define LAT_CALLS 2000000u
#define MAX_ROUNDS 15
#define KT_MEM 5000000000ull

static const struct design *designs[] = { &design_proccache, &design_rwlock };
#define N_DESIGNS 2

static volatile char sink;

static void *setup(const struct design *ds, struct workload *wl,
		   uint32_t max_entries)
{
	void *d = ds->create(max_entries, GRACE_NS);

	wl->ws = WS;
	if (!d || wl_prefill(wl, ds, d) < 0) {
		fprintf(stderr, "%s: setup failed\n", ds->name);
		exit(2);
	}
	return d;
}

/* ------------------------------------------------------------------------ */
/* 1. Ingest rate                                                            */
/* ------------------------------------------------------------------------ */

static double ingest_rate(const struct design *ds)
{
	struct workload wl;
	void *d = setup(ds, &wl, 1u << 20);
	uint64_t t0 = bench_now_ns(), t;

	for (uint32_t c = 0; c < INGEST_CYCLES; c++) {
		if (wl_cycle(&wl, ds, d) < 0) {
			fprintf(stderr, "%s: ingest failed\n", ds->name);
			exit(2);
		}
	}
	t = bench_now_ns() - t0;
	ds->destroy(d);
	return (double)INGEST_CYCLES * WL_EVENTS_PER_CYCLE / ((double)t / 1e9);
}

/* ------------------------------------------------------------------------ */
/* 2. Latencies                                                              */
/* ------------------------------------------------------------------------ */

struct latencies {
	double ancestors, lookup, lookup_exec_id;
};

/* A chain of CHAIN exec'd processes under init, beside the working set. */
static struct proccache_key build_chain(const struct design *ds, void *d)
{
	struct proccache_key parent = wl_init_key(), key = { 0 };

	for (uint32_t k = 0; k < CHAIN; k++) {
		struct proccache_event ev;

		key = (struct proccache_key){ .pid = 900000 + k,
					      .ktime = KT_MEM + k };
		wl_exec_event(&ev, key.pid, key.ktime, parent);
		if (ds->ingest(d, &ev) != 0) {
			fprintf(stderr, "%s: chain ingest failed\n", ds->name);
			exit(2);
		}
		parent = key;
	}
	return key;
}

static struct latencies latency(const struct design *ds)
{
	struct workload wl;
	void *d = setup(ds, &wl, 1u << 20), *anc[8], *rec;
	struct proccache_key leaf = build_chain(ds, d);
	char id[BENCH_ID_LEN];
	uint64_t seed = 42, t0;
	struct proccache_key *keys;
	struct latencies l;
	int n;

	n = ds->ancestors(d, &leaf, anc, 8);
	if (n != 8) {
		fprintf(stderr, "%s: ancestors gave %d, want 8\n", ds->name, n);
		exit(2);
	}
	for (int j = 0; j < n; j++)
		ds->unref(anc[j]);

	t0 = bench_now_ns();
	for (uint32_t c = 0; c < LAT_CALLS; c++) {
		n = ds->ancestors(d, &leaf, anc, 8);
		for (int j = 0; j < n; j++)
			ds->unref(anc[j]);
	}
	l.ancestors = (double)(bench_now_ns() - t0) / LAT_CALLS;

	/* Random keys of the working set: not all in the CPU cache. */
	keys = malloc(sizeof(*keys) * 4096);
	if (!keys)
		exit(2);
	for (int i = 0; i < 4096; i++)
		keys[i] = wl_exec_key(&wl, wl.next - 1 -
					       bench_rand(&seed) % WS);
	t0 = bench_now_ns();
	for (uint32_t c = 0; c < LAT_CALLS; c++) {
		rec = ds->lookup(d, &keys[c % 4096]);
		sink = ds->binary(rec)[0];
		ds->unref(rec);
	}
	l.lookup = (double)(bench_now_ns() - t0) / LAT_CALLS;

	proccache_exec_id_format(BENCH_NODE, &keys[0], id, sizeof(id));
	t0 = bench_now_ns();
	for (uint32_t c = 0; c < LAT_CALLS / 4; c++) {
		rec = ds->lookup_exec_id(d, id);
		sink = ds->binary(rec)[0];
		ds->unref(rec);
	}
	l.lookup_exec_id = (double)(bench_now_ns() - t0) / (LAT_CALLS / 4);
	free(keys);
	ds->destroy(d);
	return l;
}

/* ------------------------------------------------------------------------ */
/* 3. Memory                                                                 */
/* ------------------------------------------------------------------------ */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Bytes per process after N exec'd processes under init, strings out. */
static double bytes_per_process(const struct design *ds, uint32_t n)
{
	struct proccache_key init = { .pid = 1, .ktime = KT_MEM - 1 };
	struct proccache_event ev;
	size_t before, after;
	void *d;

	malloc_trim(0);
	before = heap_in_use();
	d = ds->create(n + 16, GRACE_NS);
	wl_exec_event(&ev, init.pid, init.ktime, (struct proccache_key){ 0 });
	if (!d || ds->ingest(d, &ev) != 0)
		exit(2);
	for (uint32_t i = 0; i < n; i++) {
		wl_exec_event(&ev, 2 + i, KT_MEM + i, init);
		if (ds->ingest(d, &ev) != 0) {
			fprintf(stderr, "%s: insert %u failed\n", ds->name, i);
			exit(2);
		}
	}
	/* Let the epoch free the hash maps replaced while growing. */
	if (ds == &design_proccache)
		for (int i = 0; i < 8; i++)
			proccache__tick(d);
	after = heap_in_use();
	ds->destroy(d);
	return ((double)(after - before) -
		(double)(n + 1) * (double)wl_exec_string_bytes()) /
	       (double)(n + 1);
}

/* glibc's chunk for a request: 8 bytes of header, 16-byte steps. */
static size_t chunk(size_t request)
{
	size_t c = (request + 8 + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
}

/* ck_hs doubles when more than half full; 8-byte slot + 1-byte bound. */
static double hs_bytes(uint32_t n)
{
	size_t cap = 1024;

	while ((size_t)n * 2 > cap)
		cap <<= 1;
	return (double)cap * 9 / n;
}

static void print_memory(uint32_t n, double measured, double baseline)
{
	size_t strings = wl_exec_string_bytes();
	/* +NUL, cid "", comm "" */
	size_t img_req = PC_IMAGE_SIZE(strings + 3);
	size_t rw_img = rwt_image_size() + strings + 2;
	double theory = (double)(chunk(sizeof(struct pc_node)) +
				 chunk(sizeof(struct proccache_process)) +
				 chunk(img_req) - strings) +
			2 * hs_bytes(n);
	double rw_theory = (double)(chunk(rwt_rec_size()) + chunk(rw_img) -
				    strings) +
			   2.0 * 8 * (double)(1u << (32 - __builtin_clz(2 * n - 1))) /
				   n;

	printf("%9u  %-26s %8.1f  %8.1f   %s\n", n, "proccache (lock-free)",
	       measured, theory, bench_verdict(measured <= 256));
	printf("%9s  %-26s %8.1f  %8.1f\n", "", "rwlock table", baseline,
	       rw_theory);
}

static void print_sizes(void)
{
	size_t strings = wl_exec_string_bytes();

	printf("structure sizes (bytes: sizeof / glibc chunk):\n");
	printf("  proccache: node %zu/%zu, snapshot %zu/%zu, image %zu + "
	       "strings/%zu, hash sets 2 x (8 + 1) per slot at <= 50%% load\n",
	       sizeof(struct pc_node), chunk(sizeof(struct pc_node)),
	       sizeof(struct proccache_process),
	       chunk(sizeof(struct proccache_process)), PC_IMAGE_SIZE(0),
	       chunk(PC_IMAGE_SIZE(strings + 3)));
	printf("  rwlock table: record %zu/%zu, image %zu + strings/%zu, "
	       "2 x 8-byte bucket heads per 2 entries\n",
	       rwt_rec_size(), chunk(rwt_rec_size()), rwt_image_size(),
	       chunk(rwt_image_size() + strings + 2));
}

/* "min-max" of @n rates, in millions. */
static const char *spread(const double *v, int n, char *buf)
{
	double lo = v[0], hi = v[0];

	for (int i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	snprintf(buf, 32, "%.2f-%.2f", lo / 1e6, hi / 1e6);
	return buf;
}

int main(void)
{
	int rounds = (int)bench_env("PROCCACHE_BENCH_ROUNDS", 5);
	double rate[N_DESIGNS][MAX_ROUNDS], anc[N_DESIGNS][MAX_ROUNDS],
		lk[N_DESIGNS][MAX_ROUNDS], lkid[N_DESIGNS][MAX_ROUNDS];
	double ctx_rate[2][MAX_ROUNDS], c_off, c_on;
	double r_pc, r_rw, a_pc, a_rw, mem[2][2];
	char buf[2][32];
	static const uint32_t sizes[2] = { 100000, 1000000 };

	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench_ingest: single thread, median of %d rounds\n", rounds);
	bench_print_machine();

	/* Each round alternates which design goes first. */
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < N_DESIGNS; i++) {
			int d = (i + round) % N_DESIGNS;

			rate[d][round] = ingest_rate(designs[d]);
		}
	}
	/* The context's cost, with and without in alternating order. */
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < 2; i++) {
			int on = (i + round) % 2;

			wl_context = on;
			ctx_rate[on][round] = ingest_rate(&design_proccache);
		}
	}
	wl_context = false;
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < N_DESIGNS; i++) {
			int d = (i + round) % N_DESIGNS;
			struct latencies l = latency(designs[d]);

			anc[d][round] = l.ancestors;
			lk[d][round] = l.lookup;
			lkid[d][round] = l.lookup_exec_id;
		}
	}
	r_pc = bench_median(rate[0], rounds);
	r_rw = bench_median(rate[1], rounds);
	a_pc = bench_median(anc[0], rounds);
	a_rw = bench_median(anc[1], rounds);

	printf("\n%-44s %14s %14s %7s  %s\n", "measure", "proccache",
	       "rwlock table", "ratio", "target");
	printf("%-44s %14.0f %14.0f %6.2fx  >= 1 M/s: %s\n",
	       "ingest, events/s (fork/exec/exit, 10 k live)", r_pc, r_rw,
	       r_pc / r_rw, bench_verdict(r_pc >= 1e6));
	printf("%-44s %14s %14s\n", "  spread over the rounds (min-max), M/s",
	       spread(rate[0], rounds, buf[0]), spread(rate[1], rounds, buf[1]));
	printf("%-44s %14.1f %14.1f %6.2fx  <= 300 ns: %s\n",
	       "ancestors(depth 8) + 8 unrefs, ns/call", a_pc, a_rw,
	       a_rw / a_pc, bench_verdict(a_pc <= 300));
	printf("%-44s %14.1f %14.1f %6.2fx\n", "lookup by key + unref, ns/call",
	       bench_median(lk[0], rounds), bench_median(lk[1], rounds),
	       bench_median(lk[1], rounds) / bench_median(lk[0], rounds));
	printf("%-44s %14.1f %14.1f %6.2fx\n",
	       "lookup by exec ID + unref, ns/call",
	       bench_median(lkid[0], rounds), bench_median(lkid[1], rounds),
	       bench_median(lkid[1], rounds) / bench_median(lkid[0], rounds));
	printf("(ratio: how many times better the cache is; the rwlock "
	       "table is uncontended here)\n");

	c_off = bench_median(ctx_rate[0], rounds);
	c_on = bench_median(ctx_rate[1], rounds);
	printf("\nprocess context: the same churn, exec events without and "
	       "with comm/pgid/sid/tty\n");
	printf("%-44s %14s %14s %7s\n", "measure", "without", "with",
	       "ratio");
	printf("%-44s %14.0f %14.0f %6.3fx\n", "ingest, events/s", c_off, c_on,
	       c_on / c_off);
	printf("%-44s %14.1f %14.1f %6.3fx\n", "ingest, ns/event", 1e9 / c_off,
	       1e9 / c_on, c_off / c_on);
	printf("%-44s %14s %14s\n", "  spread over the rounds (min-max), M/s",
	       spread(ctx_rate[0], rounds, buf[0]),
	       spread(ctx_rate[1], rounds, buf[1]));
	printf("(ratio: with / without for events/s, without / with for ns; "
	       "below 1 means the context costs)\n");

	for (int s = 0; s < 2; s++) {
		mem[s][0] = bytes_per_process(&design_proccache, sizes[s]);
		mem[s][1] = bytes_per_process(&design_rwlock, sizes[s]);
	}
	printf("\nbytes per cached process, strings excluded (%zu B of strings "
	       "passed per process):\n", wl_exec_string_bytes());
	printf("%9s  %-26s %8s  %8s   %s\n", "processes", "design", "measured",
	       "expected", "target <= 256 B");
	for (int s = 0; s < 2; s++)
		print_memory(sizes[s], mem[s][0], mem[s][1]);
	print_sizes();
	return 0;
}
