/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Allocation failure on the ingest paths. This test binary defines malloc,
 * calloc, realloc, aligned_alloc and free itself (on glibc's __libc_*), so
 * every allocation the library makes, the static library's and libc's own
 * (strdup...) included, can be made to fail: the Nth one from a point on.
 * For every N until a run sees no failure:
 *  - the call that met the failure returns -ENOMEM (or NULL with errno
 *    ENOMEM for proccache__new and subscribe), nothing else;
 *  - the cache stays consistent (the public queries agree with each other)
 *    and, the same event retried with memory back, ends in exactly the
 *    state of a run that never failed;
 *  - nothing leaks: every allocation made from proccache__new() on is
 *    freed by proccache__free().
 * Not built under sanitizers (their runtimes own malloc).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proccache/proccache.h>

/* ---- the allocator ------------------------------------------------------- */

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

/* Allocations counted down to the failing one (0: never fail), and the
 * live allocations made while tracking, in an open-addressed set. */
static long fail_countdown;
static bool failed, tracking;
static long live, made; /* allocations now live, and made, while tracking */
#define TRACK_SLOTS (1u << 16)
static void *tracked[TRACK_SLOTS];

static bool should_fail(void)
{
	if (fail_countdown <= 0)
		return false;
	if (--fail_countdown)
		return false;
	failed = true;
	errno = ENOMEM; /* as malloc(3) does */
	return true;
}

static size_t slot_of(const void *p)
{
	return ((uintptr_t)p >> 4) * 2654435761u % TRACK_SLOTS;
}

static void track(void *p)
{
	size_t i;

	if (!p || !tracking)
		return;
	for (i = slot_of(p); tracked[i]; i = (i + 1) % TRACK_SLOTS)
		;
	tracked[i] = p;
	live++;
	made++;
}

/* Backward-shift deletion keeps every probe chain whole. */
static void untrack(void *p)
{
	size_t i, j, home;

	if (!p)
		return;
	for (i = slot_of(p); tracked[i] && tracked[i] != p;
	     i = (i + 1) % TRACK_SLOTS)
		;
	if (!tracked[i])
		return;
	live--;
	tracked[i] = NULL;
	for (j = (i + 1) % TRACK_SLOTS; tracked[j]; j = (j + 1) % TRACK_SLOTS) {
		home = slot_of(tracked[j]);
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			tracked[i] = tracked[j];
			tracked[j] = NULL;
			i = j;
		}
	}
}

void *malloc(size_t n)
{
	void *p = should_fail() ? NULL : __libc_malloc(n);

	track(p);
	return p;
}

void *calloc(size_t n, size_t m)
{
	void *p = should_fail() ? NULL : __libc_calloc(n, m);

	track(p);
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p;

	if (!old)
		return malloc(n);
	if (should_fail())
		return NULL;
	p = __libc_realloc(old, n);
	if (p) {
		untrack(old);
		track(p);
	}
	return p;
}

void *aligned_alloc(size_t align, size_t n)
{
	void *p = should_fail() ? NULL : __libc_memalign(align, n);

	track(p);
	return p;
}

void free(void *p)
{
	untrack(p);
	__libc_free(p);
}

/* ---- the scenario ---------------------------------------------------------- */

static uint64_t now_ns = 1000000000ull;

static uint64_t test_clock(void *userdata)
{
	return now_ns;
}

enum { TICK = 100 };

struct step {
	uint32_t type; /* an event type, or TICK */
	uint32_t pid;
	uint64_t kt;
	uint32_t ppid;
	uint64_t pkt;
	uint64_t prev; /* exec: ktime of the replaced image */
};

static const char args[] = "cc\0-O2\0-c\0a file.c\0";

/* Every ingest path: new exec, clone sharing its parent's image, exec of
 * a clone, re-exec, creds, exits (the parent's last child first), loss,
 * an unknown parent, a pid reused behind a lost exit, a full cache that
 * evicts, and grace reclaim. */
static const struct step steps[] = {
	{ PROCCACHE_EVENT_EXEC, 100, 10, 0, 0, 0 },
	{ PROCCACHE_EVENT_CLONE, 101, 20, 100, 10, 0 },
	{ PROCCACHE_EVENT_EXEC, 101, 30, 0, 0, 20 },
	{ PROCCACHE_EVENT_CREDS, 101, 30, 0, 0, 0 },
	{ PROCCACHE_EVENT_CLONE, 102, 40, 101, 30, 0 },
	{ PROCCACHE_EVENT_EXEC, 102, 50, 0, 0, 40 },
	{ PROCCACHE_EVENT_EXEC, 102, 60, 0, 0, 50 },
	{ PROCCACHE_EVENT_EXIT, 102, 0, 0, 0, 0 },
	{ PROCCACHE_EVENT_LOST, 0, 0, 0, 0, 0 },
	{ PROCCACHE_EVENT_CLONE, 103, 70, 99, 5, 0 },
	{ PROCCACHE_EVENT_EXEC, 103, 80, 0, 0, 70 },
	{ PROCCACHE_EVENT_EXEC, 101, 90, 100, 10, 0 },
	{ PROCCACHE_EVENT_CLONE, 104, 100, 100, 10, 0 },
	{ PROCCACHE_EVENT_CLONE, 105, 110, 100, 10, 0 },
	{ PROCCACHE_EVENT_EXIT, 104, 100, 0, 0, 0 },
	{ PROCCACHE_EVENT_EXIT, 105, 0, 0, 0, 0 },
	{ TICK, 0, 0, 0, 0, 0 },
	{ PROCCACHE_EVENT_CLONE, 106, 120, 101, 90, 0 },
	{ PROCCACHE_EVENT_CLONE, 107, 130, 101, 90, 0 },
	{ PROCCACHE_EVENT_EXIT, 101, 0, 0, 0, 0 },
	{ PROCCACHE_EVENT_EXIT, 106, 0, 0, 0, 0 },
	{ PROCCACHE_EVENT_EXIT, 107, 0, 0, 0, 0 },
	{ TICK, 0, 0, 0, 0, 0 },
};

#define MAX_ENTRIES 8
#define GRACE_NS 1000

static int count_event(struct proccache *pc, const struct proccache_event *ev,
		       const struct proccache_process *process,
		       const struct proccache_process *parent, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

static int apply(struct proccache *pc, const struct step *s)
{
	PROCCACHE_OPTS(proccache_event, ev);

	if (s->type == TICK) {
		now_ns += 10 * GRACE_NS;
		return proccache__tick(pc) < 0 ? -EIO : 0;
	}
	ev.type = s->type;
	ev.pid = ev.tid = s->pid;
	ev.ktime = s->kt * 1000;
	ev.parent = (struct proccache_key){ .pid = s->ppid,
					    .ktime = s->pkt * 1000 };
	if (s->prev)
		ev.prev = (struct proccache_key){ .pid = s->pid,
						  .ktime = s->prev * 1000 };
	ev.binary = "/usr/bin/cc";
	ev.args = args;
	ev.args_len = sizeof(args);
	ev.cwd = "/src";
	ev.container_id = "0123456789ab";
	ev.creds.uid = s->type == PROCCACHE_EVENT_CREDS ? 1000 : 0;
	ev.lost = 3;
	ev.exit_code = 1;
	now_ns += 100;
	return proccache__ingest(pc, &ev);
}

/* ---- consistency ------------------------------------------------------------ */

struct fingerprint {
	char text[8192];
	size_t len;
	int n, live;
};

static int print_entry(const struct proccache_process *p, void *userdata)
{
	struct fingerprint *f = userdata;
	struct proccache_key k = proccache_process__key(p);
	struct proccache_key pk = proccache_process__parent_key(p);
	size_t alen;

	proccache_process__args(p, &alen);
	f->len += (size_t)snprintf(f->text + f->len, sizeof(f->text) - f->len,
		"%u:%llu<%u:%llu s%d f%#x %s %s %zu u%u x%d\n", k.pid,
		(unsigned long long)k.ktime, pk.pid,
		(unsigned long long)pk.ktime, proccache_process__state(p),
		proccache_process__flags(p), proccache_process__binary(p),
		proccache_process__container_id(p), alen,
		proccache_process__cred(p, PROCCACHE_CRED_UID),
		proccache_process__exit_code(p));
	cr_assert_lt(f->len, sizeof(f->text));
	f->n++;
	f->live += proccache_process__state(p) == PROCCACHE_STATE_LIVE;
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries, one line each, sorted; and the queries cross-checked. */
static void fingerprint(struct proccache *pc, struct fingerprint *f)
{
	struct proccache_stats st = { .sz = sizeof(st) };
	char *lines[64], sorted[8192], *save, *line;
	size_t off = 0;
	int i, n = 0;

	memset(f, 0, sizeof(*f));
	cr_assert_eq(proccache__iterate(pc, print_entry, f), 0);
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_assert_eq(st.entries_live, (uint64_t)f->live,
		     "stats: %llu live, iteration: %d\n%s",
		     (unsigned long long)st.entries_live, f->live, f->text);
	cr_assert_eq(st.entries_live + st.entries_exited, (uint64_t)f->n,
		     "stats: %llu entries, iteration: %d\n%s",
		     (unsigned long long)(st.entries_live + st.entries_exited),
		     f->n, f->text);
	for (line = strtok_r(f->text, "\n", &save); line && n < 64;
	     line = strtok_r(NULL, "\n", &save))
		lines[n++] = line;
	qsort(lines, (size_t)n, sizeof(lines[0]), cmp_line);
	for (i = 0; i < n; i++) {
		struct proccache_key k = { 0 };
		unsigned long long kt;
		struct proccache_process *p;

		cr_assert_eq(sscanf(lines[i], "%u:%llu", &k.pid, &kt), 2);
		k.ktime = kt;
		p = proccache__lookup(pc, &k);
		cr_assert_not_null(p, "%s not found by key", lines[i]);
		cr_assert_geq(proccache__ancestors(pc, &k, NULL, 0,
						   PROCCACHE_ANCESTORS_FULL), 0);
		proccache_process__unref(p);
		off += (size_t)snprintf(sorted + off, sizeof(sorted) - off,
					"%s\n", lines[i]);
	}
	memcpy(f->text, sorted, off + 1);
	f->len = off;
}

/* Run the scenario; the @nth allocation after the cache is made fails
 * (0: none). Returns whether a failure was injected; *@ret gets the final
 * state. */
static bool run(long nth, struct fingerprint *ret, int *ret_events)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "alloc",
		       .max_entries = MAX_ENTRIES, .grace_ns = GRACE_NS,
		       .clock = test_clock);
	struct proccache *pc;
	struct fingerprint mid;
	bool injected;
	size_t i;
	int r;

	now_ns = 1000000000ull;
	*ret_events = 0;
	live = 0;
	failed = false;
	tracking = true;
	pc = proccache__new(&opts);
	cr_assert_not_null(pc);
	cr_assert_not_null(proccache__subscribe(pc, 0x1f, count_event,
						ret_events, NULL));
	fail_countdown = nth;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bool before = failed;

		r = apply(pc, &steps[i]);
		if (failed && !before) {
			cr_assert(r == -ENOMEM || r >= 0,
				  "allocation %ld failed in step %zu: got %d",
				  nth, i, r);
			fail_countdown = 0;
			fingerprint(pc, &mid);
			if (r == -ENOMEM)
				r = apply(pc, &steps[i]);
		}
		cr_assert(r >= 0 || r == -ENOSPC, "step %zu: %d", i, r);
	}
	injected = failed;
	fail_countdown = 0;
	fingerprint(pc, ret);
	proccache__free(pc);
	tracking = false;
	cr_assert_eq(live, 0, "allocation %ld failed: %ld allocations leaked",
		     nth, live);
	return injected;
}

Test(alloc_fail, every_ingest_allocation, .timeout = 120)
{
	struct fingerprint clean, got;
	int clean_events, events;
	long nth;

	cr_assert_not(run(0, &clean, &clean_events));
	cr_assert_gt(clean.n, 0);
	for (nth = 1; run(nth, &got, &events); nth++) {
		cr_assert_str_eq(got.text, clean.text,
				 "allocation %ld failed: state differs", nth);
		cr_assert_eq(events, clean_events,
			     "allocation %ld failed: %d events dispatched, "
			     "%d without failure", nth, events, clean_events);
	}
	cr_log_info("%ld allocation points on the ingest paths", nth - 1);
	cr_assert_gt(nth, 10);
}

Test(alloc_fail, new_and_subscribe)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "alloc");
	struct proccache *pc;
	struct proccache_sub *sub;
	long nth;
	int events = 0;

	for (nth = 1;; nth++) {
		live = 0;
		failed = false;
		tracking = true;
		fail_countdown = nth;
		pc = proccache__new(&opts);
		fail_countdown = 0;
		if (!failed) {
			cr_assert_not_null(pc);
			proccache__free(pc);
			cr_assert_eq(live, 0);
			break;
		}
		cr_assert_null(pc, "allocation %ld failed, yet a cache", nth);
		cr_assert_eq(errno, ENOMEM, "new: allocation %ld: errno %d",
			     nth, errno);
		tracking = false;
		cr_assert_eq(live, 0, "new: allocation %ld: %ld leaked", nth,
			     live);
	}
	live = 0;
	tracking = true;
	pc = proccache__new(&opts);
	cr_assert_not_null(pc);
	failed = false;
	fail_countdown = 1;
	sub = proccache__subscribe(pc, PROCCACHE_EVENT_EXEC, count_event,
				   &events, NULL);
	fail_countdown = 0;
	cr_assert(failed);
	cr_assert_null(sub);
	cr_assert_eq(errno, ENOMEM);
	proccache__free(pc);
	tracking = false;
	cr_assert_eq(live, 0);
}

/* ---- records kept for reuse ------------------------------------------------ */

static struct proccache_process *to_release;

/* A subscriber of another cache drops the last reference to a snapshot
 * of the first: it is freed while that other cache ingests. */
static int release_held(struct proccache *pc, const struct proccache_event *ev,
			const struct proccache_process *process,
			const struct proccache_process *parent, void *userdata)
{
	proccache_process__unref(to_release);
	to_release = NULL;
	return 0;
}

static int ingest_one(struct proccache *pc, uint32_t type, uint32_t pid,
		      uint64_t ktime, uint64_t prev)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = type, .pid = pid,
		       .tid = pid, .ktime = ktime, .binary = "/bin/true",
		       .args = "true", .args_len = 5, .cwd = "/");

	if (prev)
		ev.prev = (struct proccache_key){ .pid = pid, .ktime = prev };
	return proccache__ingest(pc, &ev);
}

/*
 * Snapshots and nodes freed while a cache ingests are kept for its next
 * ones (lib/process.h, "Writer-side recycling"): a steady churn stops
 * asking malloc for them, which is what makes it cheaper. What is kept,
 * even a record of one cache freed while another was ingesting, is freed
 * with the cache that kept it.
 */
Test(alloc_fail, records_kept_for_reuse)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "reuse",
		       .grace_ns = PROCCACHE_GRACE_NONE, .clock = test_clock);
	struct proccache *a, *b;
	long warm = 0, per_cycle_x100;
	uint32_t i;

	live = 0;
	failed = false;
	tracking = true;
	a = proccache__new(&opts);
	b = proccache__new(&opts);
	cr_assert(a && b);
	cr_assert_not_null(proccache__subscribe(b, PROCCACHE_EVENT_EXEC,
						release_held, NULL, NULL));
	/* fork, exec, exit: 1000 to warm up, then 1000 counted */
	for (i = 0; i < 2000; i++) {
		uint32_t pid = 1000 + i;
		uint64_t kt = 1000000ull * (i + 1);

		if (i == 1000)
			warm = made;
		now_ns += 1000;
		cr_assert_geq(ingest_one(a, PROCCACHE_EVENT_CLONE, pid, kt, 0), 0);
		cr_assert_geq(ingest_one(a, PROCCACHE_EVENT_EXEC, pid, kt + 10, kt), 0);
		cr_assert_geq(ingest_one(a, PROCCACHE_EVENT_EXIT, pid, kt + 10, 0), 0);
	}
	per_cycle_x100 = (made - warm) / 10;
	tracking = false; /* the log's own allocations are not the cache's */
	cr_log_info("%ld.%02ld allocations per fork/exec/exit", per_cycle_x100 / 100,
		    per_cycle_x100 % 100);
	tracking = true;
	/* Each cycle makes 4 snapshots and 2 nodes; malloc still gives the
	 * image, its context and the batches of deferred frees. */
	cr_assert_lt(per_cycle_x100, 400, "%ld.%02ld allocations per cycle",
		     per_cycle_x100 / 100, per_cycle_x100 % 100);

	/* The last reference to one of a's snapshots goes in b's ingest. */
	cr_assert_geq(ingest_one(a, PROCCACHE_EVENT_EXEC, 5000, 1ull << 40, 0), 0);
	to_release = proccache__lookup_pid(a, 5000);
	cr_assert_not_null(to_release);
	cr_assert_geq(ingest_one(a, PROCCACHE_EVENT_EXIT, 5000, 1ull << 40, 0), 0);
	now_ns += 1000;
	proccache__tick(a);
	cr_assert_geq(ingest_one(b, PROCCACHE_EVENT_EXEC, 7000, 1ull << 40, 0), 0);
	cr_assert_null(to_release);
	proccache__free(a);
	proccache__free(b);
	tracking = false;
	cr_assert_eq(live, 0, "%ld allocations leaked", live);
}
