/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cache's public API: queries, subscriptions, stats and misuse. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proccache/proccache.h>

static struct proccache *cache(void)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "node-a");
	struct proccache *pc = proccache__new(&opts);

	cr_assert_not_null(pc);
	return pc;
}

static int exec_ev(struct proccache *pc, uint32_t pid, uint64_t kt,
		   uint32_t ppid, const char *binary)
{
	static const char args[] = "prog\0with space\0";
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = pid, .ktime = kt, .parent = { .pid = ppid },
		       .binary = binary, .args = args, .args_len = sizeof(args) - 1,
		       .cwd = "/tmp", .container_id = "abc",
		       .creds = { 1, 2, 3, 4, 5, 6, 7, 8, 9 },
		       .caps = { .permitted = 1, .effective = 2, .inheritable = 4 },
		       .ns = { .mnt = 4026531840u, .net = 4026531993u },
		       .cgroup_id = 77, .binary_inode = 1234, .binary_nlink = 1);
	return proccache__ingest(pc, &ev);
}

static int exit_ev(struct proccache *pc, uint32_t pid)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXIT,
		       .pid = pid);
	return proccache__ingest(pc, &ev);
}

/* A chain 1 <- 2 <- ... <- n, each an exec with the previous as parent. */
static void chain(struct proccache *pc, uint32_t n)
{
	for (uint32_t pid = 1; pid <= n; pid++)
		cr_assert_eq(exec_ev(pc, pid, 1000 + pid, pid - 1, "/bin/x"), 0);
}

Test(cache, accessors_return_what_was_ingested)
{
	struct proccache *pc = cache();
	struct proccache_process *p;
	char id[PROCCACHE_EXEC_ID_MAX];
	size_t len;
	const char *args;

	cr_assert_eq(exec_ev(pc, 42, 5000, 0, "/usr/bin/prog"), 0);
	p = proccache__lookup_pid(pc, 42);
	cr_assert_not_null(p);
	cr_expect_str_eq(proccache_process__binary(p), "/usr/bin/prog");
	args = proccache_process__args(p, &len);
	cr_expect_eq(len, 16);
	cr_expect_eq(memcmp(args, "prog\0with space\0", 16), 0);
	cr_expect_str_eq(proccache_process__cwd(p), "/tmp");
	cr_expect_str_eq(proccache_process__container_id(p), "abc");
	for (int c = PROCCACHE_CRED_UID; c <= PROCCACHE_CRED_AUID; c++)
		cr_expect_eq(proccache_process__cred(p, c), (uint32_t)c + 1);
	cr_expect_eq(proccache_process__cred(p, 99), UINT32_MAX);
	cr_expect_eq(proccache_process__caps(p, PROCCACHE_CAP_PERMITTED), 1);
	cr_expect_eq(proccache_process__caps(p, PROCCACHE_CAP_EFFECTIVE), 2);
	cr_expect_eq(proccache_process__caps(p, PROCCACHE_CAP_INHERITABLE), 4);
	cr_expect_eq(proccache_process__ns(p, PROCCACHE_NS_MNT), 4026531840u);
	cr_expect_eq(proccache_process__ns(p, PROCCACHE_NS_NET), 4026531993u);
	cr_expect_eq(proccache_process__ns(p, PROCCACHE_NS_USER), 0);
	cr_expect_eq(proccache_process__cgroup_id(p), 77);
	cr_expect_eq(proccache_process__binary_inode(p), 1234);
	cr_expect_eq(proccache_process__binary_nlink(p), 1);
	cr_expect_eq(proccache_process__pid(p), 42);
	cr_expect_eq(proccache_process__tid(p), 42);
	cr_expect_eq(proccache_process__ktime(p), 5000);
	cr_expect_eq(proccache_process__start_time(p), 5000);
	cr_expect_eq(proccache_process__parent_exec_id(p, id, sizeof(id)), -ENOENT);
	cr_expect_gt(proccache_process__exec_id(p, id, sizeof(id)), 0);
	/* base64("node-a:5000:42"), computed with: printf node-a:5000:42 | base64 */
	cr_expect_str_eq(id, "bm9kZS1hOjUwMDA6NDI=");
	proccache_process__unref(p);
	proccache__free(pc);
}

Test(cache, lookup_by_exec_id)
{
	struct proccache *pc = cache();
	struct proccache_process *p, *q;
	char id[PROCCACHE_EXEC_ID_MAX];

	chain(pc, 3);
	p = proccache__lookup_pid(pc, 3);
	cr_assert_not_null(p);
	cr_assert_gt(proccache_process__exec_id(p, id, sizeof(id)), 0);
	q = proccache__lookup_exec_id(pc, id);
	cr_expect_eq(q, p);
	proccache_process__unref(q);
	cr_assert_gt(proccache_process__parent_exec_id(p, id, sizeof(id)), 0);
	q = proccache__lookup_exec_id(pc, id);
	cr_assert_not_null(q);
	cr_expect_eq(proccache_process__pid(q), 2);
	proccache_process__unref(q);
	/* base64("node-b:1003:3"): another node's process is not ours. */
	cr_expect_null(proccache__lookup_exec_id(pc, "bm9kZS1iOjEwMDM6Mw=="));
	cr_expect_eq(errno, ENOENT);
	cr_expect_null(proccache__lookup_exec_id(pc, "not base64!"));
	cr_expect_eq(errno, EINVAL);
	proccache_process__unref(p);
	proccache__free(pc);
}

Test(cache, ancestors_nearest_first_and_full)
{
	struct proccache *pc = cache();
	struct proccache_process *anc[16];
	struct proccache_key k = { .pid = 10, .ktime = 1010 };
	int n;

	chain(pc, 10);
	n = proccache__ancestors(pc, &k, anc, 16, 0);
	cr_assert_eq(n, 9);
	for (int i = 0; i < n; i++) {
		cr_expect_eq(proccache_process__pid(anc[i]), (uint32_t)(9 - i));
		proccache_process__unref(anc[i]);
	}
	cr_expect_eq(proccache__ancestors(pc, &k, anc, 3, 0), 3);
	for (int i = 0; i < 3; i++)
		proccache_process__unref(anc[i]);
	cr_expect_eq(proccache__ancestors(pc, &k, anc, 3,
					  PROCCACHE_ANCESTORS_FULL), -ENOSPC);
	cr_expect_eq(proccache__ancestors(pc, &k, NULL, 0,
					  PROCCACHE_ANCESTORS_FULL), 9);
	cr_expect_eq(proccache__ancestors(pc, &k, anc, 9,
					  PROCCACHE_ANCESTORS_FULL), 9);
	for (int i = 0; i < 9; i++)
		proccache_process__unref(anc[i]);
	k.ktime = 1;
	cr_expect_eq(proccache__ancestors(pc, &k, anc, 16, 0), -ENOENT);
	cr_expect_eq(proccache__ancestors(pc, &k, NULL, 4, 0), -EINVAL);
	cr_expect_eq(proccache__ancestors(pc, &k, anc, 4, 0x80), -EINVAL);
	proccache__free(pc);
}

static int count_pids(const struct proccache_process *p, void *userdata)
{
	uint64_t *mask = userdata;

	*mask |= 1ull << proccache_process__pid(p);
	return 0;
}

static int stop_at_first(const struct proccache_process *p, void *userdata)
{
	(void)p;
	(*(int *)userdata)++;
	return -42;
}

Test(cache, iterate_sees_every_entry_and_stops_on_request)
{
	struct proccache *pc = cache();
	uint64_t mask = 0;
	int calls = 0;

	chain(pc, 20);
	cr_assert_eq(exit_ev(pc, 5), 0);
	cr_assert_eq(proccache__iterate(pc, count_pids, &mask), 0);
	cr_expect_eq(mask, ((1ull << 21) - 1) & ~1ull);
	cr_expect_eq(proccache__iterate(pc, stop_at_first, &calls), -42);
	cr_expect_eq(calls, 1);
	proccache__free(pc);
}

/* ---------------------------------------------------------------------- */

struct seen {
	int calls;
	uint32_t types;
	uint32_t last_pid;
	uint32_t last_parent_pid;
	int last_state;
	int destroyed;
	struct proccache_sub *self;
	struct proccache_sub *other;
	struct proccache_sub *added;
	struct seen *added_seen;
	int ret;
	int query_ok;
};

static int on_event(struct proccache *pc, const struct proccache_event *ev,
		    const struct proccache_process *proc,
		    const struct proccache_process *parent, void *userdata)
{
	struct seen *s = userdata;

	s->calls++;
	s->types |= ev->type;
	s->last_pid = proc ? proccache_process__pid(proc) : 0;
	s->last_parent_pid = parent ? proccache_process__pid(parent) : 0;
	s->last_state = proc ? (int)proccache_process__state(proc) : -1;
	if (proc && ev->type != PROCCACHE_EVENT_LOST) {
		/* The cache already reflects the event. */
		struct proccache_key k = proccache_process__key(proc);
		struct proccache_process *q = proccache__lookup(pc, &k);

		s->query_ok += q && proccache_process__state(q) ==
					    proccache_process__state(proc);
		proccache_process__unref(q);
	}
	return s->ret;
}

static void destroy(void *userdata)
{
	((struct seen *)userdata)->destroyed++;
}

static struct proccache_sub *sub(struct proccache *pc, uint32_t mask,
				 struct seen *s)
{
	PROCCACHE_OPTS(proccache_subscribe_opts, o, .destroy = destroy);
	struct proccache_sub *h = proccache__subscribe(pc, mask, on_event, s, &o);

	cr_assert_not_null(h);
	cr_assert_eq(proccache_sub__userdata(h), s);
	return h;
}

Test(subscribe, callbacks_see_process_and_parent_after_update)
{
	struct proccache *pc = cache();
	struct seen all = { 0 }, exits = { 0 };
	PROCCACHE_OPTS(proccache_event, lost, .type = PROCCACHE_EVENT_LOST,
		       .lost = 3);

	sub(pc, PROCCACHE_EVENT_EXEC | PROCCACHE_EVENT_CLONE |
			PROCCACHE_EVENT_EXIT | PROCCACHE_EVENT_LOST,
	    &all);
	sub(pc, PROCCACHE_EVENT_EXIT, &exits);
	chain(pc, 2);
	cr_expect_eq(all.calls, 2);
	cr_expect_eq(all.last_pid, 2);
	cr_expect_eq(all.last_parent_pid, 1);
	cr_expect_eq(exits.calls, 0);
	cr_assert_eq(exit_ev(pc, 2), 0);
	cr_expect_eq(exits.calls, 1);
	cr_expect_eq(exits.last_state, PROCCACHE_STATE_EXITED);
	cr_expect_eq(exits.last_parent_pid, 1);
	cr_expect_eq(all.query_ok, 3);
	cr_assert_eq(proccache__ingest(pc, &lost), 0);
	cr_expect(all.types & PROCCACHE_EVENT_LOST);
	cr_expect_eq(all.last_pid, 0);
	proccache__free(pc);
	cr_expect_eq(all.destroyed, 1);
	cr_expect_eq(exits.destroyed, 1);
}

Test(subscribe, negative_return_stops_dispatch_and_is_returned)
{
	struct proccache *pc = cache();
	struct seen first = { .ret = -7 }, second = { 0 };
	struct proccache_process *p;

	sub(pc, PROCCACHE_EVENT_EXEC, &first);
	sub(pc, PROCCACHE_EVENT_EXEC, &second);
	cr_expect_eq(exec_ev(pc, 1, 10, 0, "/sbin/init"), -7);
	cr_expect_eq(first.calls, 1);
	cr_expect_eq(second.calls, 0);
	/* The cache was still updated. */
	p = proccache__lookup_pid(pc, 1);
	cr_expect_not_null(p);
	proccache_process__unref(p);
	proccache__free(pc);
}

static int unsubscribe_in_callback(struct proccache *pc,
				   const struct proccache_event *ev,
				   const struct proccache_process *proc,
				   const struct proccache_process *parent,
				   void *userdata)
{
	struct seen *s = userdata;

	on_event(pc, ev, proc, parent, userdata);
	if (s->self) {
		proccache_sub__unsubscribe(s->self);
		s->self = NULL;
	}
	if (s->other) {
		proccache_sub__unsubscribe(s->other);
		s->other = NULL;
	}
	if (s->added_seen && !s->added) {
		PROCCACHE_OPTS(proccache_subscribe_opts, o, .destroy = destroy);

		s->added = proccache__subscribe(pc, PROCCACHE_EVENT_EXEC,
						on_event, s->added_seen, &o);
	}
	return 0;
}

Test(subscribe, callbacks_may_unsubscribe_and_subscribe)
{
	struct proccache *pc = cache();
	struct seen a = { 0 }, b = { 0 }, late = { 0 };
	PROCCACHE_OPTS(proccache_subscribe_opts, o, .destroy = destroy);
	struct proccache_sub *ha, *hb;

	ha = proccache__subscribe(pc, PROCCACHE_EVENT_EXEC,
				  unsubscribe_in_callback, &a, &o);
	hb = sub(pc, PROCCACHE_EVENT_EXEC, &b);
	a.self = ha;
	a.other = hb;
	a.added_seen = &late;
	cr_assert_eq(exec_ev(pc, 1, 10, 0, "/sbin/init"), 0);
	cr_expect_eq(a.calls, 1);
	cr_expect_eq(b.calls, 0, "unsubscribed before its turn, yet called");
	cr_expect_eq(late.calls, 0, "subscribed during dispatch, saw it");
	cr_expect_eq(a.destroyed, 1);
	cr_expect_eq(b.destroyed, 1);
	cr_assert_eq(exec_ev(pc, 2, 20, 1, "/bin/sh"), 0);
	cr_expect_eq(a.calls, 1);
	cr_expect_eq(late.calls, 1);
	proccache_sub__unsubscribe(a.added);
	cr_expect_eq(late.destroyed, 1);
	proccache__free(pc);
	cr_expect_eq(late.destroyed, 1, "destroy called twice");
}

/* ---------------------------------------------------------------------- */

Test(stats, counters_and_prometheus_text)
{
	struct proccache *pc = cache();
	struct proccache_stats st = { .sz = sizeof(st) };
	struct proccache_process *p;
	char small[16], *text;
	int n;

	chain(pc, 4);
	cr_assert_eq(exit_ev(pc, 4), 0);
	p = proccache__lookup_pid(pc, 3);
	proccache_process__unref(p);
	cr_assert_null(proccache__lookup_pid(pc, 999));
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_expect_eq(st.sz, sizeof(st));
	cr_expect_eq(st.entries_live, 3);
	cr_expect_eq(st.entries_exited, 1);
	cr_expect_eq(st.inserts, 4);
	cr_expect_eq(st.events_exec, 4);
	cr_expect_eq(st.events_exit, 1);
	cr_expect_eq(st.lookups, 2);
	cr_expect_eq(st.lookup_misses, 1);

	n = proccache__stats_prometheus(pc, NULL, 0);
	cr_assert_gt(n, 0);
	text = malloc((size_t)n + 1);
	cr_assert_eq(proccache__stats_prometheus(pc, text, (size_t)n + 1), n);
	cr_expect_eq(strlen(text), (size_t)n);
	cr_expect_not_null(strstr(text, "# TYPE proccache_entries gauge\n"));
	cr_expect_not_null(strstr(text, "proccache_entries{state=\"live\"} 3\n"));
	cr_expect_not_null(strstr(text, "proccache_events{type=\"exec\"} 4\n"));
	cr_expect_not_null(strstr(text, "proccache_lookup_misses 1\n"));
	cr_expect_eq(proccache__stats_prometheus(pc, small, sizeof(small)), n);
	cr_expect_eq(strlen(small), sizeof(small) - 1);
	free(text);
	proccache__free(pc);
}

Test(stats, old_callers_get_only_what_their_sz_covers)
{
	struct proccache *pc = cache();
	struct {
		struct proccache_stats st;
		uint64_t guard;
	} s;

	chain(pc, 2);
	memset(&s, 0xa5, sizeof(s));
	s.st.sz = offsetof(struct proccache_stats, entries_exited);
	cr_assert_eq(proccache__stats(pc, &s.st), 0);
	cr_expect_eq(s.st.entries_live, 2);
	cr_expect_eq(s.st.entries_exited, 0xa5a5a5a5a5a5a5a5ull, "wrote past sz");
	s.st.sz = 3;
	cr_expect_eq(proccache__stats(pc, &s.st), -EINVAL);
	proccache__free(pc);
}

/* ---------------------------------------------------------------------- */

Test(misuse, null_arguments)
{
	struct proccache *pc = cache();
	struct proccache_key k = { .pid = 1, .ktime = 1 };

	cr_expect_null(proccache__lookup(NULL, &k));
	cr_expect_eq(errno, EINVAL);
	cr_expect_null(proccache__lookup(pc, NULL));
	cr_expect_eq(errno, EINVAL);
	cr_expect_null(proccache__lookup_pid(NULL, 1));
	cr_expect_null(proccache__lookup_exec_id(pc, NULL));
	cr_expect_null(proccache__lookup_exec_id(NULL, "x"));
	cr_expect_eq(proccache__ancestors(NULL, &k, NULL, 0, 0), -EINVAL);
	cr_expect_eq(proccache__ancestors(pc, NULL, NULL, 0, 0), -EINVAL);
	cr_expect_eq(proccache__iterate(pc, NULL, NULL), -EINVAL);
	cr_expect_eq(proccache__iterate(NULL, count_pids, NULL), -EINVAL);
	cr_expect_eq(proccache__ingest(pc, NULL), -EINVAL);
	cr_expect_eq(proccache__ingest(NULL, NULL), -EINVAL);
	cr_expect_eq(proccache__stats(pc, NULL), -EINVAL);
	cr_expect_eq(proccache__stats_prometheus(pc, NULL, 10), -EINVAL);
	cr_expect_eq(proccache__tick(NULL), -EINVAL);
	cr_expect_null(proccache__subscribe(pc, PROCCACHE_EVENT_EXEC, NULL,
					    NULL, NULL));
	cr_expect_null(proccache__subscribe(NULL, PROCCACHE_EVENT_EXEC,
					    on_event, NULL, NULL));
	cr_expect_null(proccache__subscribe(pc, 0, on_event, NULL, NULL));
	cr_expect_null(proccache__subscribe(pc, 1u << 20, on_event, NULL, NULL));
	cr_expect_eq(errno, EINVAL);
	proccache_sub__unsubscribe(NULL);
	proccache_process__unref(NULL);
	cr_expect_null(proccache_process__ref(NULL));
	proccache__free(NULL);
	proccache__free(pc);
}

Test(misuse, opts_sizes)
{
	struct {
		struct proccache_opts o;
		char tail[16];
	} big;
	struct proccache *pc;

	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	pc = proccache__new(&big.o);
	cr_expect_not_null(pc, "a zero tail from a newer caller is fine");
	proccache__free(pc);

	big.tail[3] = 1;
	cr_expect_null(proccache__new(&big.o));
	cr_expect_eq(errno, EINVAL);

	big.o.sz = 2;
	cr_expect_null(proccache__new(&big.o));
	cr_expect_eq(errno, EINVAL);

	/* An older caller: only sz and node_name. */
	memset(&big, 0, sizeof(big));
	big.o.sz = offsetof(struct proccache_opts, max_entries);
	big.o.node_name = "old";
	big.o.max_entries = 1; /* past its sz: must be ignored */
	pc = proccache__new(&big.o);
	cr_assert_not_null(pc);
	cr_expect_str_eq(proccache__node_name(pc), "old");
	chain(pc, 3); /* max_entries 1 would refuse the second */
	proccache__free(pc);
}

Test(misuse, bad_node_names)
{
	char longname[300];
	PROCCACHE_OPTS(proccache_opts, o, .node_name = "");

	cr_expect_null(proccache__new(&o));
	cr_expect_eq(errno, EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	o.node_name = longname;
	cr_expect_null(proccache__new(&o));
	cr_expect_eq(errno, EINVAL);
}

Test(misuse, malformed_events_are_refused_and_counted)
{
	struct proccache *pc = cache();
	struct proccache_stats st = { .sz = sizeof(st) };
	struct {
		struct proccache_event ev;
		char tail[8];
	} big;
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 1, .ktime = 1);

	ev.type = 0;
	cr_expect_eq(proccache__ingest(pc, &ev), -EINVAL);
	ev.type = PROCCACHE_EVENT_EXEC | PROCCACHE_EVENT_EXIT;
	cr_expect_eq(proccache__ingest(pc, &ev), -EINVAL);
	ev.type = PROCCACHE_EVENT_EXEC;
	ev.pid = 0;
	cr_expect_eq(proccache__ingest(pc, &ev), -EINVAL);
	ev.pid = 1;
	ev.ktime = 0;
	cr_expect_eq(proccache__ingest(pc, &ev), -EINVAL);
	ev.ktime = 1;
	ev.args_len = 5;
	cr_expect_eq(proccache__ingest(pc, &ev), -EINVAL);
	ev.args_len = 0;
	ev.sz = 4;
	cr_expect_eq(proccache__ingest(pc, &ev), -EINVAL);
	ev.sz = sizeof(ev);
	memset(&big, 0, sizeof(big));
	big.ev = ev;
	big.ev.sz = sizeof(big);
	big.tail[0] = 1;
	cr_expect_eq(proccache__ingest(pc, &big.ev), -EINVAL);
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_expect_eq(st.invalid, 7);
	cr_expect_eq(st.inserts, 0);
	/* A valid one still goes in afterwards. */
	cr_expect_eq(proccache__ingest(pc, &ev), 0);
	proccache__free(pc);
}

Test(misuse, old_event_struct_is_accepted)
{
	struct proccache *pc = cache();
	struct proccache_process *p;
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 9, .ktime = 99, .binary = "/bin/old");

	/* A caller whose struct ends before the exit fields. */
	ev.sz = offsetof(struct proccache_event, exit_code);
	ev.time = 12345; /* beyond its sz: must not be read */
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	p = proccache__lookup_pid(pc, 9);
	cr_assert_not_null(p);
	cr_expect_str_eq(proccache_process__binary(p), "/bin/old");
	proccache_process__unref(p);
	proccache__free(pc);
}

struct log_seen {
	int calls;
	char last[256];
};

static void on_log(enum proccache_log_level level, const char *msg, void *ud)
{
	struct log_seen *l = ud;

	(void)level;
	l->calls++;
	snprintf(l->last, sizeof(l->last), "%s", msg);
}

Test(log, messages_go_to_the_host_callback_only)
{
	struct log_seen seen = { 0 };
	struct {
		struct proccache_opts o;
		char tail[8];
	} big;

	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.tail[0] = 1;
	proccache_set_log(on_log, &seen);
	cr_expect_null(proccache__new(&big.o));
	proccache_set_log(NULL, NULL);
	cr_expect_eq(seen.calls, 1);
	cr_expect_not_null(strstr(seen.last, "proccache_opts"), "log said: %s",
			   seen.last);
	/* With no callback, nothing is called. */
	cr_expect_null(proccache__new(&big.o));
	cr_expect_eq(seen.calls, 1);
}

/* ---------------------------------------------------------------------- */

#include <malloc.h>

static uint64_t churn_now;

static uint64_t churn_clock(void *userdata)
{
	(void)userdata;
	return churn_now;
}

/* fork + exec + exit cycles, the uid varying so interned credentials come
 * and go too; returns the heap in use afterwards. */
static size_t churn(struct proccache *pc, uint32_t *next_pid, int cycles)
{
	for (int i = 0; i < cycles; i++) {
		uint32_t pid = (*next_pid)++ % 30000 + 2;
		uint64_t kt = ++churn_now;
		PROCCACHE_OPTS(proccache_event, c, .type = PROCCACHE_EVENT_CLONE,
			       .pid = pid, .ktime = kt, .parent = { .pid = 1 });
		PROCCACHE_OPTS(proccache_event, e, .type = PROCCACHE_EVENT_EXEC,
			       .pid = pid, .ktime = ++churn_now,
			       .binary = "/usr/bin/true", .args = "true",
			       .args_len = 5,
			       .creds = { .uid = (uint32_t)i % 5000 });
		PROCCACHE_OPTS(proccache_event, x, .type = PROCCACHE_EVENT_EXIT,
			       .pid = pid);

		cr_assert_eq(proccache__ingest(pc, &c), 0);
		cr_assert_eq(proccache__ingest(pc, &e), 0);
		churn_now += 10;
		cr_assert_eq(proccache__ingest(pc, &x), 0);
	}
	proccache__tick(pc);
	return mallinfo2().uordblks;
}

Test(cache, memory_plateaus_under_churn)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "n",
		       .max_entries = 4096, .grace_ns = 1000,
		       .clock = churn_clock);
	struct proccache *pc = proccache__new(&opts);
	struct proccache_stats st = { .sz = sizeof(st) };
	uint32_t next = 0;
	size_t warm, later;

	cr_assert_not_null(pc);
	cr_assert_eq(exec_ev(pc, 1, 1, 0, "/sbin/init"), 0);
	warm = churn(pc, &next, 50000);
	later = churn(pc, &next, 150000);
	cr_log_info("heap after warm-up %zu, after 3x more churn %zu", warm, later);
	cr_expect_leq(later, warm + warm / 10,
		      "heap grew from %zu to %zu bytes under steady churn", warm,
		      later);
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_expect_leq(st.entries_live + st.entries_exited, 4096);
	cr_expect_eq(st.entries_live, 1);
	cr_expect_gt(st.reclaims, 390000);
	proccache__free(pc);
}

/*
 * The 256-byte budget of a cached process (docs/benchmarks.md, bench_ingest's
 * "bytes per cached process"), strings excluded. Recycling once gave nodes
 * the snapshot's size, 16 bytes more each: 264 bytes at this count.
 */
Test(cache, a_cached_process_fits_its_budget)
{
	enum { N = 100000 };
	static const size_t strings = sizeof("/b") + 2 + sizeof("/");
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "n",
		       .max_entries = N + 16, .clock = churn_clock);
	struct proccache *pc;
	size_t before, after;
	double per;

	malloc_trim(0);
	before = mallinfo2().uordblks + mallinfo2().hblkhd;
	pc = proccache__new(&opts);
	cr_assert_not_null(pc);
	cr_assert_eq(exec_ev(pc, 1, 1, 0, "/sbin/init"), 0);
	for (uint32_t i = 0; i < N; i++) {
		PROCCACHE_OPTS(proccache_event, e, .type = PROCCACHE_EVENT_EXEC,
			       .pid = 2 + i, .ktime = 100 + i,
			       .parent = { .pid = 1, .ktime = 1 },
			       .binary = "/b", .args = "a", .args_len = 2,
			       .cwd = "/");

		cr_assert_eq(proccache__ingest(pc, &e), 0);
	}
	for (int i = 0; i < 8; i++) /* the maps replaced while growing */
		proccache__tick(pc);
	after = mallinfo2().uordblks + mallinfo2().hblkhd;
	per = ((double)(after - before) - (double)(N + 1) * (double)strings) /
	      (N + 1);
	cr_log_info("%.1f bytes per cached process, strings excluded", per);
	cr_expect_leq(per, 256.0, "%.1f bytes per cached process", per);
	proccache__free(pc);
}

Test(cache, creds_change_publishes_a_new_snapshot)
{
	struct proccache *pc = cache();
	struct proccache_process *before, *after, *child;
	struct seen s = { 0 };
	struct proccache_stats st = { .sz = sizeof(st) };
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_CREDS,
		       .pid = 2, .creds = { .uid = 1000, .euid = 1000,
					    .suid = 1000, .fsuid = 1000 });
	PROCCACHE_OPTS(proccache_event, clone, .type = PROCCACHE_EVENT_CLONE,
		       .pid = 3, .ktime = 5000, .parent = { .pid = 2 });

	chain(pc, 2);
	sub(pc, PROCCACHE_EVENT_CREDS, &s);
	before = proccache__lookup_pid(pc, 2);
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	cr_expect_eq(s.calls, 1);
	cr_expect_eq(s.last_parent_pid, 1);
	after = proccache__lookup_pid(pc, 2);
	cr_assert_not_null(after);
	cr_expect_neq(before, after);
	cr_expect_eq(proccache_process__cred(before, PROCCACHE_CRED_UID), 1,
		     "a held snapshot changed");
	cr_expect_eq(proccache_process__cred(after, PROCCACHE_CRED_UID), 1000);
	cr_expect_eq(proccache_process__cred(after, PROCCACHE_CRED_EUID), 1000);
	cr_expect_eq(proccache_process__caps(after, PROCCACHE_CAP_EFFECTIVE), 2,
		     "caps must stay");
	cr_expect_str_eq(proccache_process__binary(after), "/bin/x");
	cr_expect_eq(proccache_process__ktime(after), 1002, "same entry");
	/* A clone after the change copies the new creds. */
	cr_assert_eq(proccache__ingest(pc, &clone), 0);
	child = proccache__lookup_pid(pc, 3);
	cr_expect_eq(proccache_process__cred(child, PROCCACHE_CRED_UID), 1000);
	/* The same creds again, and creds of an unknown pid, are ignored. */
	cr_expect_eq(proccache__ingest(pc, &ev), PROCCACHE_INGEST_DUPLICATE);
	ev.pid = 99;
	cr_expect_eq(proccache__ingest(pc, &ev), PROCCACHE_INGEST_IGNORED);
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_expect_eq(st.events_creds, 3);
	cr_expect_eq(st.duplicates, 1);
	cr_expect_eq(st.exit_unknown, 1);
	proccache_process__unref(before);
	proccache_process__unref(after);
	proccache_process__unref(child);
	proccache__free(pc);
}

/* A sensor that knows only some ids (the netlink connector's real and
 * effective uid) says which: the others keep the entry's values. */
Test(cache, creds_mask_merges_the_unknown_ids)
{
	struct proccache *pc = cache();
	struct proccache_process *p;
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_CREDS,
		       .pid = 2, .creds = { .uid = 1000, .euid = 1001,
					    .suid = 77, .fsuid = 77 },
		       .creds_mask = 1u << PROCCACHE_CRED_UID |
				     1u << PROCCACHE_CRED_EUID);

	chain(pc, 2);
	cr_assert_eq(proccache__ingest(pc, &ev), PROCCACHE_INGEST_APPLIED);
	p = proccache__lookup_pid(pc, 2);
	cr_assert_not_null(p);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), 1000);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), 1001);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_SUID), 5,
		     "an id outside the mask was overwritten");
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_FSUID), 7);
	proccache_process__unref(p);
	/* The same known ids again change nothing. */
	cr_expect_eq(proccache__ingest(pc, &ev), PROCCACHE_INGEST_DUPLICATE);
	/* A mask with bits past the last credential is malformed. */
	ev.creds_mask = 1u << (PROCCACHE_CRED_AUID + 1);
	cr_expect_eq(proccache__ingest(pc, &ev), -EINVAL);
	proccache__free(pc);
}
