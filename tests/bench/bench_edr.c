/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_edr: what the EDR building blocks cost, each against the same run
 * without them (one process, one thread, the public API only).
 *
 *  1. ingest cost of labels and redaction: fork/exec/exit churn under a
 *     chain of 8 live ancestors, ns per cycle (3 events), with
 *       - nothing (the baseline),
 *       - labels: the chain's root is labelled, every process inherits,
 *         and an exec-clear mask is set,
 *       - redaction patterns ("--password=*", "-p *", "TOKEN=*") on args
 *         with no secret, then on args with three secrets;
 *  2. examples/proccache-edr's rule evaluation with 100 rules per exec
 *     (globs on binary and args, ancestors within 8 levels, labels, uid
 *     and flags; one rule matches and alerts, output off), against the
 *     same churn without the subscriber.
 *
 * Memory: bytes in use (mallinfo2) per cached process at the end of the
 * run, cache structures and strings included, beside the baseline's.
 *
 * Times are the thread's CPU time (the machine is shared); variants run
 * interleaved in each round so they share its noise; the median of
 * PROCCACHE_BENCH_ROUNDS rounds (default 5) is shown.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <proccache/proccache.h>

#include "edr.h"

#define CHAIN 8
#define CYCLES 200000u
#define WS 1000u
#define MAX_ROUNDS 15
#define N_RULES 100

enum variant { BASE, LABELS, REDACT_MISS, REDACT_HIT, RULES, N_VARIANTS };

static const char *const names[N_VARIANTS] = {
	"baseline (no labels, no patterns)",
	"labels inherited (root labelled)",
	"redaction, args without secrets",
	"redaction, 3 secrets per exec",
	"100 rules per exec (proccache-edr)",
};

static const char *const patterns[] = { "--password=*", "-p *", "TOKEN=*",
					NULL };
static const char args_plain[] = "worker\0--verbose\0-x\0/srv/data\0--port=8080";
static const char args_secret[] =
	"worker\0--password=hunter2\0-p\0s3cret\0TOKEN=abc123";

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void must(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "bench_edr: %s: %s\n", what, strerror(-ret));
		exit(2);
	}
}

struct run {
	struct proccache *pc;
	struct proccache_key parent; /* the chain's tip */
	const char *args;
	size_t args_len;
	uint64_t kt;
};

static void exec_event(struct run *r, uint32_t pid, struct proccache_key parent,
		       const char *binary)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = pid, .ktime = ++r->kt, .parent = parent,
		       .binary = binary, .args = r->args,
		       .args_len = r->args_len, .cwd = "/srv");

	must(proccache__ingest(r->pc, &ev), "exec");
}

/* init <- nginx <- 6 shells: the chain every worker descends from. */
static void make_chain(struct run *r, bool label)
{
	struct proccache_key parent = { 0 };

	for (uint32_t i = 0; i < CHAIN; i++) {
		exec_event(r, 10 + i, parent,
			   i == 0 ? "/sbin/init"
			   : i == 1 ? "/usr/sbin/nginx"
				    : "/usr/bin/dash");
		parent = (struct proccache_key){ .pid = 10 + i, .ktime = r->kt };
		if (label && i == 1)
			must(proccache__set_labels(r->pc, &parent, 0x21, 0),
			     "set_labels");
	}
	r->parent = parent;
}

/* Clone, exec, and the exit of the worker WS cycles older. */
static void cycle(struct run *r, uint64_t i)
{
	uint32_t pid = 1000 + (uint32_t)(i % (2 * WS));
	uint32_t old = 1000 + (uint32_t)((i + WS) % (2 * WS));
	PROCCACHE_OPTS(proccache_event, clone, .type = PROCCACHE_EVENT_CLONE,
		       .pid = pid, .ktime = ++r->kt, .parent = r->parent);
	PROCCACHE_OPTS(proccache_event, ex, .type = PROCCACHE_EVENT_EXIT,
		       .pid = old);

	must(proccache__ingest(r->pc, &clone), "clone");
	exec_event(r, pid, r->parent, "/usr/bin/worker");
	if (i >= WS)
		must(proccache__ingest(r->pc, &ex), "exit");
}

/* 99 rules that do not match (each kind of condition), then one that
 * does; the format is docs/proccache-edr.md's. */
static struct ruleset *hundred_rules(void)
{
	struct rules_error err;
	struct ruleset *rs;
	char *text = malloc(N_RULES * 160), *p = text;

	if (!text)
		exit(2);
	for (int i = 0; i < N_RULES - 1; i++) {
		switch (i % 5) {
		case 0:
			p += sprintf(p, "rule r%d when binary \"*/tool%d\" then alert\n", i, i);
			break;
		case 1:
			p += sprintf(p, "rule r%d when arg \"--opt%d=*\" then alert\n", i, i);
			break;
		case 2:
			p += sprintf(p, "rule r%d when ancestor 8 binary \"*/svc%d\" and "
					"binary \"*/worker\" then alert\n", i, i);
			break;
		case 3:
			p += sprintf(p, "rule r%d when label %d and binary \"*/x%d\" then "
					"label 40\n", i, i % 64, i);
			break;
		default:
			p += sprintf(p, "rule r%d when not uid 0 and flag setuid then "
					"alert\n", i);
			break;
		}
	}
	sprintf(p, "rule hit when binary \"*/worker\" and ancestor 8 binary "
		   "\"*/nginx\" then alert\n");
	if (rules_parse(text, &rs, &err)) {
		fprintf(stderr, "bench_edr: rules: %u:%u: %s\n", err.line,
			err.col, err.msg);
		exit(2);
	}
	free(text);
	return rs;
}

static size_t in_use(void)
{
	return mallinfo2().uordblks;
}

static double run_variant(enum variant v, struct ruleset *rules,
			  uint64_t *ret_alerts, double *ret_bytes)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "bench",
		       .grace_ns = PROCCACHE_GRACE_NONE,
		       .max_entries = 4 * WS,
		       .exec_clear_labels = v == LABELS ? 0x1 : 0,
		       .redact = v == REDACT_MISS || v == REDACT_HIT ? patterns
								    : NULL);
	struct edr e = { .rules = rules };
	struct run r = { .args = v == REDACT_HIT ? args_secret : args_plain };
	struct proccache_stats st = { .sz = sizeof(st) };
	size_t mem0 = in_use();
	double t0, t1;

	r.args_len = v == REDACT_HIT ? sizeof(args_secret) : sizeof(args_plain);
	r.pc = proccache__new(&opts);
	if (!r.pc)
		exit(2);
	e.pc = r.pc;
	if (v == RULES &&
	    !proccache__subscribe(r.pc, PROCCACHE_EVENT_EXEC, edr_on_exec, &e,
				  NULL))
		exit(2);
	make_chain(&r, v == LABELS);
	for (uint64_t i = 0; i < WS; i++)
		cycle(&r, i);
	e.alerts = 0;
	t0 = now_ns();
	for (uint64_t i = WS; i < WS + CYCLES; i++)
		cycle(&r, i);
	t1 = now_ns();
	if (ret_alerts)
		*ret_alerts = e.alerts;
	if (v == LABELS) {
		struct proccache_process *p = proccache__lookup_pid(r.pc, 1000);

		/* 0x21 minus the exec-clear 0x1: the workers carry 0x20. */
		if (!p || proccache_process__labels(p) != 0x20) {
			fprintf(stderr, "bench_edr: labels did not pass\n");
			exit(2);
		}
		proccache_process__unref(p);
	}
	proccache__stats(r.pc, &st);
	*ret_bytes = (double)(in_use() - mem0) /
		     (double)(st.entries_live + st.entries_exited);
	proccache__free(r.pc);
	return (t1 - t0) / CYCLES;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	const char *env = getenv("PROCCACHE_BENCH_ROUNDS");
	int rounds = env ? atoi(env) : 5;
	double t[N_VARIANTS][MAX_ROUNDS], med[N_VARIANTS], bytes[N_VARIANTS];
	struct ruleset *rules = hundred_rules();
	uint64_t alerts = 0;

	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 5;
	for (int k = 0; k < rounds; k++)
		for (int v = 0; v < N_VARIANTS; v++)
			t[v][k] = run_variant((enum variant)v, rules,
					      v == RULES ? &alerts : NULL,
					      &bytes[v]);
	for (int v = 0; v < N_VARIANTS; v++) {
		qsort(t[v], (size_t)rounds, sizeof(double), cmp_double);
		med[v] = t[v][rounds / 2];
	}
	printf("bench_edr: single thread, %u fork/exec/exit cycles under a "
	       "chain of %d, median of %d rounds\n\n", CYCLES, CHAIN, rounds);
	printf("%-36s %10s %10s %7s %11s\n", "variant", "ns/cycle",
	       "+ns/exec", "ratio", "B/process");
	for (int v = 0; v < N_VARIANTS; v++)
		printf("%-36s %10.1f %10.1f %6.2fx %11.1f\n", names[v], med[v],
		       med[v] - med[BASE], med[v] / med[BASE], bytes[v]);
	printf("\n(one cycle = clone + exec + exit; ratio: time over the "
	       "baseline of the same run; %llu alerts per round in the rules "
	       "run, one per exec;\n B/process: malloc'd bytes in use per cached entry at the end, strings and\n hash sets included)\n", (unsigned long long)alerts);
	if (alerts != CYCLES) {
		fprintf(stderr, "bench_edr: %llu alerts, want %u\n",
			(unsigned long long)alerts, CYCLES);
		return 1;
	}
	rules_free(rules);
	return 0;
}
