/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Borrowed reads and the pid history: which image held a pid at a time. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <proccache/proccache.h>

#define NODE "node-b"

static uint64_t test_now = 1;

static uint64_t test_clock(void *userdata)
{
	(void)userdata;
	return test_now;
}

static struct proccache *cache(uint64_t grace_ns)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = NODE,
		       .grace_ns = grace_ns, .clock = test_clock);
	struct proccache *pc = proccache__new(&opts);

	cr_assert_not_null(pc);
	return pc;
}

static void exec_ev(struct proccache *pc, uint32_t pid, uint64_t kt,
		    uint32_t ppid, const char *binary)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = pid, .ktime = kt, .parent = { .pid = ppid },
		       .binary = binary);
	cr_assert_eq(proccache__ingest(pc, &ev), 0, "exec %u@%llu", pid,
		     (unsigned long long)kt);
}

static void clone_ev(struct proccache *pc, uint32_t pid, uint64_t kt,
		     uint32_t ppid)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_CLONE,
		       .pid = pid, .ktime = kt, .parent = { .pid = ppid });
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
}

static void exit_ev(struct proccache *pc, uint32_t pid, uint64_t when)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXIT,
		       .pid = pid, .time = when);
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
}

/* What a borrowed callback saw, copied out while it was valid. */
struct seen {
	int calls;
	char binary[64], parent_binary[64];
	uint64_t ktime;
	uint32_t parent_pid;
	enum proccache_state state;
};

static int record(const struct proccache_process *p,
		  const struct proccache_process *parent, void *userdata)
{
	struct seen *s = userdata;

	s->calls++;
	snprintf(s->binary, sizeof(s->binary), "%s", proccache_process__binary(p));
	s->ktime = proccache_process__ktime(p);
	s->state = proccache_process__state(p);
	s->parent_pid = parent ? proccache_process__pid(parent) : 0;
	snprintf(s->parent_binary, sizeof(s->parent_binary), "%s",
		 parent ? proccache_process__binary(parent) : "-");
	return 7;
}

/* The binary the image holding @pid at @at runs, or "ENOENT". */
static const char *binary_at(struct proccache *pc, uint32_t pid, uint64_t at)
{
	static struct seen s;
	int ret;

	memset(&s, 0, sizeof(s));
	ret = proccache__with_pid(pc, pid, at, record, &s);
	if (ret == -ENOENT) {
		cr_assert_eq(s.calls, 0);
		return "ENOENT";
	}
	cr_assert_eq(ret, 7, "the callback's return is passed back");
	cr_assert_eq(s.calls, 1);
	return s.binary;
}

Test(borrow, now_is_the_live_entry_with_its_parent)
{
	struct proccache *pc = cache(0);
	struct seen s = { 0 };

	exec_ev(pc, 1, 10, 0, "/sbin/init");
	exec_ev(pc, 50, 100, 1, "/bin/sh");
	cr_assert_eq(proccache__with_pid(pc, 50, 0, record, &s), 7);
	cr_expect_str_eq(s.binary, "/bin/sh");
	cr_expect_eq(s.parent_pid, 1);
	cr_expect_str_eq(s.parent_binary, "/sbin/init");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(proccache__with_pid(pc, 1, 0, record, &s), 7);
	cr_expect_str_eq(s.parent_binary, "-", "no parent: NULL");
	cr_expect_eq(proccache__with_pid(pc, 77, 0, record, &s), -ENOENT);
	proccache__free(pc);
}

/* One pid through clone, exec, re-exec and exit; then reused. */
struct at_case {
	uint64_t at;
	char binary[24]; /* no pointer: each case runs in a new process */
};

ParameterizedTestParameters(borrow, history_of_one_pid)
{
	static struct at_case cases[] = {
		{ 50, "ENOENT" },        /* before the first image we know */
		{ 100, "/bin/sh" },      /* the clone, at its start: the parent's image */
		{ 150, "/bin/sh" },      /* still the clone */
		{ 200, "/usr/bin/env" }, /* the exec, from its ktime on */
		{ 299, "/usr/bin/env" },
		{ 300, "/usr/bin/app" }, /* re-exec: the previous image retired */
		{ 400, "/usr/bin/app" }, /* exit time: still held */
		{ 401, "ENOENT" },       /* exited, the pid free */
		{ 499, "ENOENT" },
		{ 500, "/bin/reused" },  /* the pid reused by a new process */
		{ 10000, "/bin/reused" },
		{ 0, "/bin/reused" },    /* now */
	};

	return cr_make_param_array(struct at_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct at_case *c, borrow, history_of_one_pid)
{
	struct proccache *pc = cache(0);

	exec_ev(pc, 1, 10, 0, "/bin/sh");
	clone_ev(pc, 60, 100, 1);
	exec_ev(pc, 60, 200, 0, "/usr/bin/env");
	exec_ev(pc, 60, 300, 0, "/usr/bin/app");
	exit_ev(pc, 60, 400);
	exec_ev(pc, 60, 500, 1, "/bin/reused");
	cr_expect_str_eq(binary_at(pc, 60, c->at), c->binary, "at %llu",
			 (unsigned long long)c->at);
	proccache__free(pc);
}

Test(borrow, a_late_image_is_placed_by_its_start)
{
	struct proccache *pc = cache(0);

	/* The newer process is seen first, then an exec of the older one
	 * arrives late (the cache has no live entry to order it against). */
	exec_ev(pc, 70, 500, 0, "/bin/new");
	exit_ev(pc, 70, 600);
	exec_ev(pc, 70, 100, 0, "/bin/old");
	exit_ev(pc, 70, 200);
	cr_expect_str_eq(binary_at(pc, 70, 150), "/bin/old");
	cr_expect_str_eq(binary_at(pc, 70, 550), "/bin/new");
	cr_expect_str_eq(binary_at(pc, 70, 650), "ENOENT");
	proccache__free(pc);
}

/* A process's first image, replaced by an exec that names its start, is
 * found through the image that replaced it: live, exited or itself replaced
 * again. */
Test(borrow, a_first_image_is_found_through_its_successor)
{
	struct proccache *pc = cache(0);

	exec_ev(pc, 1, 10, 0, "/bin/sh");
	clone_ev(pc, 60, 100, 1);
	exec_ev(pc, 60, 200, 0, "/usr/bin/env");
	cr_expect_str_eq(binary_at(pc, 60, 150), "/bin/sh", "successor live");
	cr_expect_str_eq(binary_at(pc, 60, 250), "/usr/bin/env");
	exit_ev(pc, 60, 300);
	cr_expect_str_eq(binary_at(pc, 60, 150), "/bin/sh", "successor exited");
	cr_expect_str_eq(binary_at(pc, 60, 99), "ENOENT");
	exec_ev(pc, 60, 400, 1, "/bin/reused");
	cr_expect_str_eq(binary_at(pc, 60, 150), "/bin/sh", "pid reused");
	cr_expect_str_eq(binary_at(pc, 60, 250), "/usr/bin/env");
	cr_expect_str_eq(binary_at(pc, 60, 350), "ENOENT");
	proccache__free(pc);
}

/* The documented limit: a first image that outlives the image that replaced
 * it (pinned by a child forked before the exec) is still cached, by key,
 * but no longer found by time. */
Test(borrow, a_first_image_outliving_its_successor_is_found_by_key_only)
{
	struct proccache *pc = cache(1000);
	struct proccache_key first = { .pid = 60, .ktime = 100 };
	struct seen s = { 0 };

	test_now = 1;
	exec_ev(pc, 1, 10, 0, "/bin/sh");
	clone_ev(pc, 60, 100, 1);
	clone_ev(pc, 61, 150, 60); /* forked before the exec: pins 60@100 */
	exec_ev(pc, 60, 200, 0, "/usr/bin/env");
	exit_ev(pc, 60, 300);
	cr_expect_str_eq(binary_at(pc, 60, 120), "/bin/sh");
	test_now = 5000; /* 60@200's grace is over; 60@100 is pinned */
	cr_assert_geq(proccache__tick(pc), 1);
	cr_expect_str_eq(binary_at(pc, 60, 250), "ENOENT");
	cr_expect_str_eq(binary_at(pc, 60, 120), "ENOENT");
	cr_assert_eq(proccache__with_key(pc, &first, record, &s), 7);
	cr_expect_str_eq(s.binary, "/bin/sh");
	proccache__free(pc);
	test_now = 1;
}

Test(borrow, a_reclaimed_image_is_no_longer_known)
{
	struct proccache *pc = cache(1000);

	test_now = 1;
	exec_ev(pc, 1, 10, 0, "/sbin/init");
	/* A: pinned by a live child; B: exits and nothing pins it; C: live. */
	exec_ev(pc, 80, 100, 1, "/bin/a");
	clone_ev(pc, 81, 120, 80);
	exit_ev(pc, 80, 150);
	exec_ev(pc, 80, 200, 1, "/bin/b");
	exit_ev(pc, 80, 250);
	exec_ev(pc, 80, 300, 1, "/bin/c");
	cr_expect_str_eq(binary_at(pc, 80, 220), "/bin/b");

	test_now = 5000; /* B's grace is over: reclaimed from the middle */
	cr_assert_geq(proccache__tick(pc), 1);
	cr_expect_str_eq(binary_at(pc, 80, 220), "ENOENT");
	cr_expect_str_eq(binary_at(pc, 80, 120), "/bin/a");
	cr_expect_str_eq(binary_at(pc, 80, 350), "/bin/c");

	exit_ev(pc, 81, 0); /* A's last child goes: A, then its grace */
	exit_ev(pc, 80, 0);
	test_now = 10000;
	proccache__tick(pc);
	test_now = 20000;
	proccache__tick(pc);
	cr_expect_str_eq(binary_at(pc, 80, 120), "ENOENT");
	cr_expect_str_eq(binary_at(pc, 80, 350), "ENOENT");
	cr_expect_str_eq(binary_at(pc, 1, 350), "/sbin/init");
	proccache__free(pc);
	test_now = 1;
}

Test(borrow, by_key_and_by_exec_id)
{
	struct proccache *pc = cache(0);
	struct proccache_key key = { .pid = 90, .ktime = 900 };
	char id[PROCCACHE_EXEC_ID_MAX];
	struct seen s = { 0 };

	exec_ev(pc, 1, 10, 0, "/sbin/init");
	exec_ev(pc, 90, 900, 1, "/bin/k");
	cr_assert_eq(proccache__with_key(pc, &key, record, &s), 7);
	cr_expect_str_eq(s.binary, "/bin/k");
	cr_expect_str_eq(s.parent_binary, "/sbin/init");

	cr_assert_gt(proccache_exec_id_format(NODE, &key, id, sizeof(id)), 0);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(proccache__with_exec_id(pc, id, record, &s), 7);
	cr_expect_str_eq(s.binary, "/bin/k");
	cr_expect_eq(s.ktime, 900);

	cr_assert_gt(proccache_exec_id_format("other", &key, id, sizeof(id)), 0);
	cr_expect_eq(proccache__with_exec_id(pc, id, record, &s), -ENOENT);
	cr_expect_eq(proccache__with_exec_id(pc, "not base64!", record, &s),
		     -EINVAL);
	key.ktime = 901;
	cr_expect_eq(proccache__with_key(pc, &key, record, &s), -ENOENT);
	cr_expect_eq(s.calls, 1, "never called on a miss");
	proccache__free(pc);
}

struct walk {
	unsigned int calls, stop_at;
	uint32_t pids[16];
	unsigned int depths[16];
};

static int walk_step(const struct proccache_process *p, unsigned int depth,
		     void *userdata)
{
	struct walk *w = userdata;

	w->pids[w->calls] = proccache_process__pid(p);
	w->depths[w->calls++] = depth;
	return depth == w->stop_at ? -42 : 0;
}

Test(borrow, ancestor_walk_nearest_first_and_stops_on_request)
{
	struct proccache *pc = cache(0);
	struct proccache_key key = { .pid = 5, .ktime = 1005 };
	struct walk w = { 0 };

	for (uint32_t pid = 1; pid <= 5; pid++)
		exec_ev(pc, pid, 1000 + pid, pid - 1, "/bin/x");
	cr_assert_eq(proccache__with_ancestors(pc, &key, walk_step, &w), 0);
	cr_assert_eq(w.calls, 4);
	for (unsigned int i = 0; i < 4; i++) {
		cr_expect_eq(w.pids[i], 4 - i);
		cr_expect_eq(w.depths[i], i + 1);
	}
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	cr_expect_eq(proccache__with_ancestors(pc, &key, walk_step, &w), -42);
	cr_expect_eq(w.calls, 2);
	key.pid = 6;
	cr_expect_eq(proccache__with_ancestors(pc, &key, walk_step, &w), -ENOENT);
	proccache__free(pc);
}

Test(borrow, bad_arguments_and_lookups_counted)
{
	struct proccache *pc = cache(0);
	struct proccache_key key = { .pid = 1, .ktime = 10 };
	PROCCACHE_OPTS(proccache_stats, st);
	struct seen s = { 0 };

	exec_ev(pc, 1, 10, 0, "/sbin/init");
	cr_expect_eq(proccache__with_pid(NULL, 1, 0, record, &s), -EINVAL);
	cr_expect_eq(proccache__with_pid(pc, 1, 0, NULL, &s), -EINVAL);
	cr_expect_eq(proccache__with_key(pc, NULL, record, &s), -EINVAL);
	cr_expect_eq(proccache__with_exec_id(pc, NULL, record, &s), -EINVAL);
	cr_expect_eq(proccache__with_ancestors(pc, &key, NULL, &s), -EINVAL);
	cr_assert_eq(proccache__with_pid(pc, 1, 0, record, &s), 7);
	cr_assert_eq(proccache__with_pid(pc, 2, 0, record, &s), -ENOENT);
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_expect_eq(st.lookups, 2);
	cr_expect_eq(st.lookup_misses, 1);
	proccache__free(pc);
}

/* An exec without a fork makes the previous image the parent entry; the
 * borrowed parent is the parent process, the one that forked. */
Test(borrow, the_parent_is_the_parent_process_across_re_execs)
{
	struct proccache *pc = cache(0);
	struct proccache_key key = { .pid = 300, .ktime = 3000 };
	struct seen s = { 0 };
	struct walk w = { 0 };

	exec_ev(pc, 1, 10, 0, "/sbin/init");
	exec_ev(pc, 300, 1000, 1, "/bin/sh");
	exec_ev(pc, 300, 2000, 0, "/usr/bin/env");
	exec_ev(pc, 300, 3000, 0, "/usr/bin/app");
	cr_assert_eq(proccache__with_pid(pc, 300, 0, record, &s), 7);
	cr_expect_str_eq(s.binary, "/usr/bin/app");
	cr_expect_eq(s.parent_pid, 1);
	cr_expect_str_eq(s.parent_binary, "/sbin/init");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(proccache__with_pid(pc, 300, 2500, record, &s), 7);
	cr_expect_str_eq(s.binary, "/usr/bin/env");
	cr_expect_str_eq(s.parent_binary, "/sbin/init");
	/* The walk shows every image. */
	cr_assert_eq(proccache__with_ancestors(pc, &key, walk_step, &w), 0);
	cr_assert_eq(w.calls, 3);
	cr_expect(w.pids[0] == 300 && w.pids[1] == 300 && w.pids[2] == 1);
	proccache__free(pc);
}

/* Base64 of @n raw bytes, for exec IDs no formatter would write. */
static void b64(const char *raw, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)raw[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)raw[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

static int key_of(const struct proccache_process *p,
		  const struct proccache_process *parent, void *userdata)
{
	(void)parent;
	*(struct proccache_key *)userdata = proccache_process__key(p);
	return 0;
}

/* Lookups by exec ID check an ID of their own node in place; whatever the
 * ID, they must answer as parsing it and comparing its node would. */
Test(borrow, exec_id_lookups_answer_as_the_parser)
{
	static const char *const raws[] = {
		"a:b:5:7", "a:b:7:9", "a:b:0:7", "a:5:7", "a:b:05:7",
		"a:b:5:07", "a:b:5:7:", "a:b::7", "a:b:5:", "a:b:5:4294967296",
		"a:b:18446744073709551616:7", "a:b:5:7x", "x:a:b:5:7", "a:b",
		"a:bc:5:7", "a:b:5 :7", ":5:7", "a:b:5:7\n", "a:b:5:0",
		"a:b:1:7:9", "a:b:18446744073709551615:4294967295",
	};
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "a:b");
	struct proccache *pc = proccache__new(&opts);
	char id[PROCCACHE_EXEC_ID_MAX * 2], node[PROCCACHE_NODE_NAME_MAX + 1];

	cr_assert_not_null(pc);
	exec_ev(pc, 7, 5, 0, "/x");
	exec_ev(pc, 9, 7, 7, "/y");
	exec_ev(pc, UINT32_MAX, UINT64_MAX, 7, "/z");
	for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
		struct proccache_key want, got = { 0 };
		struct proccache_process *p;
		int err, ret;

		b64(raws[i], strlen(raws[i]), id);
		err = proccache_exec_id_parse(id, node, sizeof(node), &want);
		if (!err && strcmp(node, "a:b"))
			err = -ENOENT;
		if (!err && proccache__with_key(pc, &want, key_of, &got) != 0)
			err = -ENOENT; /* well formed, ours, not cached */
		ret = proccache__with_exec_id(pc, id, key_of, &got);
		cr_expect_eq(ret, err, "%s: %d, want %d", raws[i], ret, err);
		p = proccache__lookup_exec_id(pc, id);
		cr_expect_eq(p ? 0 : -errno, err, "%s: lookup", raws[i]);
		if (!err)
			cr_expect(p && proccache_process__key(p).pid == want.pid &&
					  proccache_process__key(p).ktime ==
						  want.ktime,
				  "%s", raws[i]);
		proccache_process__unref(p);
	}
	proccache__free(pc);
}
