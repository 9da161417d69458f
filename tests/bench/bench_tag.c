/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_tag: what a log collector does per record, from 2 reader threads,
 * with no writer and with a writer ingesting fork/exec/exit churn paced at
 * PROCCACHE_BENCH_RATE events/s (default 200 000); the cache against the
 * rwlock table baseline (bench_lookup's workload and tables), same run.
 *
 *  - tag by pid: the LoongCollector tags of a live process and its parent
 *    as JSON members. The cache: proccache__tags_pid_json(), borrowed.
 *    The table: both records found under one read lock with a reference
 *    each, the same JSON written from them, both released. Both write the
 *    same bytes: checked before measuring.
 *  - lookup by exec ID, read the binary: the cache borrowed
 *    (proccache__with_exec_id()), the table with a counted reference.
 *
 * A third scenario is the control: the same paced writer ingesting into
 * another cache of the same design. The readers then share the cores and
 * the memory with a writer but none of their data, so what they lose there
 * is the machine's (CPU time slices, caches, scheduler wake-ups), not the
 * design's.
 *
 * PROCCACHE_BENCH_SECONDS (default 2) per measurement,
 * PROCCACHE_BENCH_ROUNDS (default 5; the median is shown),
 * PROCCACHE_BENCH_WS (default 10000 live processes).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "rwtable.h"

#define N_READERS 2
#define GRACE_NS (10ull * 1000 * 1000)
#define MAX_ROUNDS 15
#define TAG_BUF 8192

enum op { TAG_PID, EXEC_ID, N_OPS };
/* ELSEWHERE, the control: the same paced writer ingesting into another
 * cache of the same design, so that the readers share the cores, the
 * memory and the scheduler with it, but not a byte of their data. */
enum scenario { NO_WRITER, PACED, ELSEWHERE, N_SCENARIOS };
enum { CACHE, RWLOCK, RWLOCK_WF, N_DESIGNS };

static const struct design *const designs[N_DESIGNS] = {
	&design_proccache, &design_rwlock, &design_rwlock_writer,
};

/* ------------------------------------------------------------------------ */
/* The table's tag writer: the same JSON the library writes                  */
/* ------------------------------------------------------------------------ */

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->cap)
		memcpy(o->buf + o->len, s, n < o->cap - o->len ? n : o->cap - o->len);
	o->len += n;
}

static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static void put_string(struct out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	put(o, "\"", 1);
	while (i < n) {
		size_t run = i, u;
		char esc[8];

		while (run < n && s[run] >= 0x20 && s[run] < 0x80 &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		put(o, str + i, run - i);
		i = run;
		if (i == n)
			break;
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i++];
			put(o, esc, 2);
		} else if (s[i] < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i++]);
			put(o, esc, 6);
		} else if ((u = utf8_len(s + i, n - i))) {
			put(o, str + i, u);
			i += u;
		} else {
			put(o, "\\ufffd", 6);
			i++;
		}
	}
	put(o, "\"", 1);
}

/* The same techniques as the library's writer (lib/tags.c), so that the
 * designs differ only in how they find the records: keys and values that
 * need no escaping are copied, numbers written without printf, the
 * capability names of the last few sets remembered per thread. */
static void key(struct out *o, const char *k)
{
	put(o, o->len ? ",\"" : "\"", o->len ? 2 : 1);
	put(o, k, strlen(k));
	put(o, "\":", 2);
}

static void member(struct out *o, const char *k, const char *val, size_t n)
{
	key(o, k);
	put_string(o, val, n);
}

static void member_plain(struct out *o, const char *k, const char *val,
			 size_t n)
{
	key(o, k);
	put(o, "\"", 1);
	put(o, val, n);
	put(o, "\"", 1);
}

static void member_u64(struct out *o, const char *k, uint64_t v)
{
	char num[24], *p = num + sizeof(num);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	member_plain(o, k, p, (size_t)(num + sizeof(num) - p));
}

static __thread struct {
	uint64_t caps;
	int len;
	char text[64 * 24];
} caps_memo[4];
static __thread unsigned int caps_next;

static void member_caps(struct out *o, const char *k, uint64_t caps)
{
	int i;

	for (i = 0; i < 4; i++)
		if (caps_memo[i].len > 0 && caps_memo[i].caps == caps)
			break;
	if (i == 4) {
		i = (int)(caps_next++ % 4);
		caps_memo[i].caps = caps;
		caps_memo[i].len = 1 + proccache_caps_format(
					       caps, caps_memo[i].text,
					       sizeof(caps_memo[i].text));
	}
	member_plain(o, k, caps_memo[i].text, (size_t)caps_memo[i].len - 1);
}

/* LoongCollector's keys for one record, or its parent's. */
static void rec_tags(struct out *o, const char *node, const struct rwt_view *v,
		     bool parent)
{
	static const char *const keys[2][8] = {
		{ "exec_id", "pid", "uid", "binary", "arguments", "cwd",
		  "ktime", "container.id" },
		{ "parent.exec_id", "parent.pid", "parent.uid", "parent.binary",
		  "parent.arguments", "parent.cwd", "parent.ktime",
		  "parent.container.id" },
	};
	const char *const *k = keys[parent];
	char buf[4096];
	int n;

	n = proccache_exec_id_format(node, &v->key, buf, sizeof(buf));
	member_plain(o, k[0], buf, (size_t)n);
	member_u64(o, k[1], v->key.pid);
	member_u64(o, k[2], v->creds.uid);
	member(o, k[3], v->binary, strlen(v->binary));
	n = proccache_args_decode(v->args, v->args_len, 1, buf, sizeof(buf));
	member(o, k[4], buf, (size_t)n);
	member(o, k[5], v->cwd, strlen(v->cwd));
	member_u64(o, k[6], v->key.ktime);
	if (!parent) {
		member_caps(o, "cap.permitted", v->caps.permitted);
		member_caps(o, "cap.effective", v->caps.effective);
		member_caps(o, "cap.inheritable", v->caps.inheritable);
	}
	if (*v->container_id)
		member(o, k[7], v->container_id, strlen(v->container_id));
}

static int rwt_tags_json(struct rwt *t, struct rwt_rec *r, struct rwt_rec *parent,
			 char *buf, size_t len)
{
	struct out o = { .buf = buf, .cap = len };
	struct rwt_view v;

	rwt_rec_view(r, &v);
	rec_tags(&o, rwt_node(t), &v, false);
	if (parent) {
		rwt_rec_view(parent, &v);
		rec_tags(&o, rwt_node(t), &v, true);
	}
	if (len)
		buf[o.len < len ? o.len : len - 1] = '\0';
	return (int)o.len;
}

/* ------------------------------------------------------------------------ */
/* The operations                                                            */
/* ------------------------------------------------------------------------ */

/* One tag by pid; the tags' length, or -1 for a miss. */
static int tag_pid(int design, void *d, uint32_t pid, char *buf)
{
	struct rwt_rec *r, *parent;
	int n;

	if (design == CACHE) {
		n = proccache__tags_pid_json(d, pid, 0, NULL, buf, TAG_BUF);
		return n < 0 ? -1 : n;
	}
	r = rwt_lookup_pid(d, pid, &parent);
	if (!r)
		return -1;
	n = rwt_tags_json(d, r, parent, buf, TAG_BUF);
	rwt_rec_unref(parent);
	rwt_rec_unref(r);
	return n;
}

static int first_byte(const struct proccache_process *p,
		      const struct proccache_process *parent, void *userdata)
{
	(void)parent;
	(void)userdata;
	return (unsigned char)proccache_process__binary(p)[0];
}

static int exec_id_binary(int design, void *d, const char *id)
{
	struct rwt_rec *r;
	int c;

	if (design == CACHE) {
		c = proccache__with_exec_id(d, id, first_byte, NULL);
		return c < 0 ? -1 : c;
	}
	r = rwt_lookup_exec_id(d, id);
	if (!r)
		return -1;
	c = (unsigned char)rwt_rec_binary(r)[0];
	rwt_rec_unref(r);
	return c;
}

/* ------------------------------------------------------------------------ */
/* Measuring (bench_lookup's scheme: interleaved rounds, paced writer)       */
/* ------------------------------------------------------------------------ */

struct run {
	int design;
	enum op op;
	double rate;
	void *d;
	const char *ids;
	const uint32_t *pids;
	uint64_t n_ids;
	struct workload wl;
	void *wd; /* ELSEWHERE: the writer's own cache, and its workload */
	struct workload wwl;
	pthread_barrier_t start;
	_Atomic uint64_t cur;
	_Atomic bool stop, exhausted;
	uint64_t writer_events, writer_cpu_ns;
};

struct reader {
	struct run *run;
	pthread_t thread;
	uint64_t seed, ops, misses, cpu_ns, sink;
};

static void *reader_main(void *arg)
{
	struct reader *res = arg;
	struct run *run = res->run;
	char *buf = malloc(TAG_BUF);
	uint64_t ws = run->wl.ws, cpu0, sink = 0;

	pthread_barrier_wait(&run->start);
	cpu0 = bench_thread_cpu_ns();
	while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
		uint64_t cur = atomic_load_explicit(&run->cur,
						    memory_order_acquire);

		for (int k = 0; k < 64; k++) {
			uint64_t i = cur - 1 - bench_rand_below(&res->seed, ws);
			int n = run->op == TAG_PID
					? tag_pid(run->design, run->d,
						  run->pids[i], buf)
					: exec_id_binary(run->design, run->d,
							 run->ids + i * BENCH_ID_LEN);

			if (n < 0)
				res->misses++;
			else
				sink += (uint64_t)n + (unsigned char)buf[0];
		}
		res->ops += 64;
	}
	res->cpu_ns = bench_thread_cpu_ns() - cpu0;
	res->sink = sink;
	free(buf);
	return NULL;
}

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
	void *d = run->wd ? run->wd : run->d;
	struct workload *wl = run->wd ? &run->wwl : &run->wl;
	uint64_t t0, cpu0;

	pthread_barrier_wait(&run->start);
	t0 = bench_now_ns();
	cpu0 = bench_thread_cpu_ns();
	while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
		if (run->writer_events % 192 == 0)
			pace(run, t0, run->writer_events);
		if (wl->next >= run->n_ids) {
			atomic_store(&run->exhausted, true);
			break;
		}
		if (wl_cycle(wl, designs[run->design], d) < 0) {
			fprintf(stderr, "%s: ingest failed\n",
				designs[run->design]->name);
			exit(2);
		}
		run->writer_events += WL_EVENTS_PER_CYCLE;
		if (!run->wd)
			atomic_store_explicit(&run->cur, wl->next,
					      memory_order_release);
	}
	run->writer_cpu_ns = bench_thread_cpu_ns() - cpu0;
	return NULL;
}

struct result {
	double per_s, per_cpu_s, writer_per_s, writer_cores, misses;
};

static struct result measure(struct run *proto, enum scenario sc,
			     double seconds)
{
	const struct design *ds = designs[proto->design];
	struct reader readers[N_READERS] = { 0 };
	struct run *run = proto;
	uint64_t t0, t1, ops = 0, misses = 0, cpu = 0;
	pthread_t writer;
	struct result r;

	run->wl = (struct workload){ .ws = proto->wl.ws };
	run->writer_events = 0;
	run->writer_cpu_ns = 0;
	atomic_store(&run->stop, false);
	atomic_store(&run->exhausted, false);
	run->d = ds->create(4 * run->wl.ws + (1u << 16), GRACE_NS);
	if (!run->d || wl_prefill(&run->wl, ds, run->d) < 0) {
		fprintf(stderr, "%s: setup failed\n", ds->name);
		exit(2);
	}
	run->wd = NULL;
	if (sc == ELSEWHERE) {
		run->wwl = (struct workload){ .ws = proto->wl.ws };
		run->wd = ds->create(4 * run->wl.ws + (1u << 16), GRACE_NS);
		if (!run->wd || wl_prefill(&run->wwl, ds, run->wd) < 0) {
			fprintf(stderr, "%s: setup failed\n", ds->name);
			exit(2);
		}
	}
	atomic_store(&run->cur, run->wl.next);
	pthread_barrier_init(&run->start, NULL, N_READERS + 1 + (sc != NO_WRITER));
	for (int i = 0; i < N_READERS; i++) {
		readers[i].run = run;
		readers[i].seed = 0x5eed + (uint64_t)i;
		pthread_create(&readers[i].thread, NULL, reader_main,
			       &readers[i]);
	}
	if (sc != NO_WRITER)
		pthread_create(&writer, NULL, writer_main, run);
	pthread_barrier_wait(&run->start);
	t0 = bench_now_ns();
	while (bench_now_ns() - t0 < (uint64_t)(seconds * 1e9) &&
	       !atomic_load(&run->exhausted)) {
		struct timespec pause = { 0, 5 * 1000 * 1000 };

		nanosleep(&pause, NULL);
	}
	atomic_store(&run->stop, true);
	t1 = bench_now_ns();
	for (int i = 0; i < N_READERS; i++) {
		pthread_join(readers[i].thread, NULL);
		ops += readers[i].ops;
		misses += readers[i].misses;
		cpu += readers[i].cpu_ns;
	}
	if (sc != NO_WRITER)
		pthread_join(writer, NULL);
	ds->destroy(run->d);
	if (run->wd)
		ds->destroy(run->wd);
	pthread_barrier_destroy(&run->start);
	r.per_s = (double)ops / ((double)(t1 - t0) / 1e9);
	r.per_cpu_s = (double)ops / ((double)cpu / 1e9) * N_READERS;
	r.writer_per_s = sc != NO_WRITER ? (double)run->writer_events /
					       ((double)(t1 - t0) / 1e9)
				     : 0;
	r.writer_cores = (double)run->writer_cpu_ns / (double)(t1 - t0);
	r.misses = ops ? (double)misses / (double)ops : 0;
	return r;
}

/* Both designs write the same tags for the same process: the comparison
 * is of the same work. */
static void check_same_output(uint32_t ws)
{
	struct workload wc = { .ws = ws }, wr = { .ws = ws };
	void *c = design_proccache.create(4 * ws + (1u << 16), GRACE_NS);
	void *t = design_rwlock_writer.create(4 * ws + (1u << 16), GRACE_NS);
	char *a = malloc(TAG_BUF), *b = malloc(TAG_BUF);

	if (!c || !t || !a || !b || wl_prefill(&wc, &design_proccache, c) < 0 ||
	    wl_prefill(&wr, &design_rwlock_writer, t) < 0) {
		fprintf(stderr, "bench_tag: setup failed\n");
		exit(2);
	}
	for (uint64_t i = 0; i < ws; i += ws / 16 + 1) {
		uint32_t pid = wl_exec_key(&wc, i).pid;
		int n = tag_pid(CACHE, c, pid, a), m = tag_pid(RWLOCK_WF, t, pid, b);

		if (n < 0 || n != m || memcmp(a, b, (size_t)n)) {
			fprintf(stderr, "bench_tag: the designs tag pid %u "
				"differently:\n%s\n%s\n", pid, a, b);
			exit(2);
		}
	}
	printf("same tags from both designs: checked; %d bytes for a process "
	       "and its parent\n", tag_pid(CACHE, c, wl_exec_key(&wc, 1).pid, a));
	design_proccache.destroy(c);
	design_rwlock_writer.destroy(t);
	free(a);
	free(b);
}

static const char *const op_names[N_OPS] = { "tag by pid", "exec ID lookup" };
static const char *const sc_names[N_SCENARIOS] = { "no writer", "paced writer",
						   "writer elsewhere" };

int main(void)
{
	double seconds = bench_env("PROCCACHE_BENCH_SECONDS", 2);
	double rate = bench_env("PROCCACHE_BENCH_RATE", 200000);
	int rounds = (int)bench_env("PROCCACHE_BENCH_ROUNDS", 5);
	uint32_t ws = (uint32_t)bench_env("PROCCACHE_BENCH_WS", 10000);
	uint64_t n_ids = ws + (uint64_t)(seconds * rate * 2 / WL_EVENTS_PER_CYCLE);
	static double v[N_OPS][N_DESIGNS][N_SCENARIOS][4][MAX_ROUNDS];
	struct result med[N_OPS][N_DESIGNS][N_SCENARIOS];
	struct workload wl = { .ws = ws };
	uint32_t *pids;
	char *ids;

	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	ids = wl_exec_ids(&wl, n_ids);
	pids = malloc(n_ids * sizeof(*pids));
	if (!ids || !pids)
		return 2;
	for (uint64_t i = 0; i < n_ids; i++)
		pids[i] = wl_exec_key(&wl, i).pid;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench_tag: %d reader threads, %u live processes; writer: "
	       "fork/exec/exit churn paced at %.0f events/s;\n%.1f s per "
	       "measurement, median of %d rounds\n", N_READERS, ws, rate,
	       seconds, rounds);
	bench_print_machine();
	check_same_output(ws);

	for (int round = 0; round < rounds; round++)
		for (int op = 0; op < N_OPS; op++)
			for (int d = 0; d < N_DESIGNS; d++)
				for (int sc = 0; sc < N_SCENARIOS; sc++) {
					struct run run = {
						.design = d, .op = op,
						.rate = rate, .ids = ids,
						.pids = pids, .n_ids = n_ids,
						.wl = { .ws = ws },
					};
					struct result r = measure(&run, sc,
								  seconds);

					v[op][d][sc][0][round] = r.per_s;
					v[op][d][sc][1][round] = r.per_cpu_s;
					v[op][d][sc][2][round] = r.writer_per_s;
					v[op][d][sc][3][round] = r.writer_cores;
					med[op][d][sc].misses = r.misses;
				}
	for (int op = 0; op < N_OPS; op++)
		for (int d = 0; d < N_DESIGNS; d++)
			for (int sc = 0; sc < N_SCENARIOS; sc++) {
				struct result *m = &med[op][d][sc];

				m->per_s = bench_median(v[op][d][sc][0], rounds);
				m->per_cpu_s = bench_median(v[op][d][sc][1], rounds);
				m->writer_per_s = bench_median(v[op][d][sc][2], rounds);
				m->writer_cores = bench_median(v[op][d][sc][3], rounds);
			}

	for (int op = 0; op < N_OPS; op++) {
		printf("\n%s: operations/s of the %d readers together (wall "
		       "clock) [events/s the writer ingested]; per reader CPU "
		       "second\n", op_names[op], N_READERS);
		printf("%-28s | %12s | %12s %10s | %10s | %10s | %10s\n",
		       "design", sc_names[0], sc_names[1], "", "/CPU s, no",
		       "/CPU s, w", "/CPU s, el");
		for (int d = 0; d < N_DESIGNS; d++) {
			struct result *m = med[op][d];

			printf("%-28s | %12.0f | %12.0f [%8.0f] | %10.0f | %10.0f"
			       " | %10.0f\n",
			       designs[d]->name, m[NO_WRITER].per_s,
			       m[PACED].per_s, m[PACED].writer_per_s,
			       m[NO_WRITER].per_cpu_s / N_READERS,
			       m[PACED].per_cpu_s / N_READERS,
			       m[ELSEWHERE].per_cpu_s / N_READERS);
			if (m[NO_WRITER].misses > 0.001 || m[PACED].misses > 0.001)
				printf("  (misses: %.2f%% no writer, %.2f%% paced)\n",
				       100 * m[NO_WRITER].misses,
				       100 * m[PACED].misses);
		}
	}

	printf("\n%-58s %7s  %s\n", "targets", "value", "verdict");
	for (int op = 0; op < N_OPS; op++) {
		for (int d = RWLOCK; d < N_DESIGNS; d++) {
			char what[96];
			double ratio = med[op][CACHE][PACED].per_s /
				       med[op][d][PACED].per_s;

			snprintf(what, sizeof(what), "%s: lock-free / %s, paced",
				 op_names[op], designs[d]->name);
			if (d == RWLOCK_WF)
				printf("%-58s %6.2fx  >= 3x: %s\n", what, ratio,
				       bench_verdict(ratio >= 3));
			else
				printf("%-58s %6.2fx  (its writer got %.0f ev/s)\n",
				       what, ratio,
				       med[op][d][PACED].writer_per_s);
		}
	}
	for (int op = 0; op < N_OPS; op++) {
		double wall = med[op][CACHE][PACED].per_s /
			      med[op][CACHE][NO_WRITER].per_s;
		double cpu = med[op][CACHE][PACED].per_cpu_s /
			     med[op][CACHE][NO_WRITER].per_cpu_s;
		double else_cpu;
		char what[96];

		/* Readers that never wait share the cores with the writer:
		 * what it takes, they cannot have. */
		double cores = (double)sysconf(_SC_NPROCESSORS_ONLN);
		double bound = (cores - med[op][CACHE][PACED].writer_cores) /
			       cores;

		snprintf(what, sizeof(what), "%s: readers keep, wall clock",
			 op_names[op]);
		printf("%-58s %6.1f%%  >= 90%%: %s\n", what, 100 * wall,
		       bench_verdict(wall >= 0.9));
		printf("  (the writer used %.0f%% of a core: on %.0f cores the "
		       "readers keep at most %.1f%% of the wall clock)\n",
		       100 * med[op][CACHE][PACED].writer_cores, cores,
		       100 * bound);
		snprintf(what, sizeof(what), "%s: readers keep, per CPU second",
			 op_names[op]);
		printf("%-58s %6.1f%%  >= 90%%: %s\n", what, 100 * cpu,
		       bench_verdict(cpu >= 0.9));
		/* The control: what a writer costs the readers on this
		 * machine when it shares nothing with them. */
		else_cpu = med[op][CACHE][ELSEWHERE].per_cpu_s /
			   med[op][CACHE][NO_WRITER].per_cpu_s;
		printf("  (beside the same writer on another cache, sharing no "
		       "data, the readers keep %.1f%%\n   per CPU second: the "
		       "cache's own share of the loss is %.1f%% of the rate)\n",
		       100 * else_cpu, 100 * (else_cpu - cpu));
	}
	free(pids);
	free(ids);
	return 0;
}
