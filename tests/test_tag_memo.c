/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A snapshot's tags are formatted once and copied for the records after
 * (docs/tagging.md, "Cost"). Every call here is checked against the same
 * tags written from proccache_tags_emit(), which never copies: the copy
 * must be the tags of the snapshot and parent of that call, whatever
 * changed since the first.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proccache/proccache.h>

#define NODE "node-m"
#define BUF 65536

static struct proccache *cache(void)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = NODE);
	struct proccache *pc = proccache__new(&opts);

	cr_assert_not_null(pc);
	return pc;
}

static void ingest(struct proccache *pc, struct proccache_event *ev)
{
	cr_assert_eq(proccache__ingest(pc, ev), PROCCACHE_INGEST_APPLIED,
		     "event %u of %u", ev->type, ev->pid);
}

static void exec_ev(struct proccache *pc, uint32_t pid, uint64_t kt,
		    uint32_t ppid, uint64_t pkt, const char *binary,
		    const char *args, size_t args_len)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = pid, .ktime = kt,
		       .parent = { .pid = ppid, .ktime = pkt },
		       .start_time = kt, .binary = binary, .args = args,
		       .args_len = args_len, .cwd = "/srv \"q\"",
		       .container_id = "c0ffee",
		       .creds = { 1000, 100, 1001, 101, 1002, 102, 1001, 101, 7 },
		       .caps = { .permitted = 0x3, .effective = 0x1 });
	ingest(pc, &ev);
}

static void creds_ev(struct proccache *pc, uint32_t pid, uint32_t uid)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_CREDS,
		       .pid = pid, .creds = { .uid = uid, .euid = uid,
					      .suid = uid, .fsuid = uid });
	ingest(pc, &ev);
}

static void exit_ev(struct proccache *pc, uint32_t pid, uint64_t kt, int code)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXIT,
		       .pid = pid, .ktime = kt, .exit_code = code,
		       .time = kt + 777);
	ingest(pc, &ev);
}

/* ------------------------------------------------------------------------ */
/* The reference: JSON members written from proccache_tags_emit()            */
/* ------------------------------------------------------------------------ */

struct ref {
	char *buf;
	size_t len;
};

static void ref_put(struct ref *r, const char *s, size_t n)
{
	cr_assert_lt(r->len + n, BUF);
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

/* The test data is ASCII: quotes, backslashes and controls are escaped. */
static void ref_string(struct ref *r, const char *s, size_t n)
{
	char esc[8];

	ref_put(r, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		cr_assert_lt(c, 0x80, "the test data is ASCII");
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ref_put(r, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			ref_put(r, esc, 6);
		} else {
			ref_put(r, s + i, 1);
		}
	}
	ref_put(r, "\"", 1);
}

static int ref_tag(const struct proccache_tag *t, void *userdata)
{
	struct ref *r = userdata;
	char num[32];

	if (r->len)
		ref_put(r, ",", 1);
	ref_string(r, t->key, strlen(t->key));
	ref_put(r, ":", 1);
	switch (t->type) {
	case PROCCACHE_TAG_INT:
		ref_put(r, num, (size_t)snprintf(num, sizeof(num), "%lld",
						 (long long)t->num));
		break;
	case PROCCACHE_TAG_STRINGS:
		ref_put(r, "[", 1);
		for (size_t off = 0; off < t->len;) {
			size_t n = strnlen(t->str + off, t->len - off);

			if (off)
				ref_put(r, ",", 1);
			ref_string(r, t->str + off, n);
			off += n + 1;
		}
		ref_put(r, "]", 1);
		break;
	default:
		ref_string(r, t->str, t->len);
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Tags by pid, each call checked                                            */
/* ------------------------------------------------------------------------ */

struct call {
	const struct proccache_tags_opts *opts;
	char *got, *want;
	int n;
	uint32_t parent_pid; /* 0: none given */
};

static int check_cb(const struct proccache_process *p,
		    const struct proccache_process *parent, void *userdata)
{
	struct call *c = userdata;
	struct ref r = { .buf = c->want };

	c->parent_pid = parent ? proccache_process__pid(parent) : 0;
	c->n = proccache_tags_json(p, parent, c->opts, c->got, BUF);
	cr_assert_geq(proccache_tags_emit(p, parent, c->opts, ref_tag, &r), 0);
	r.buf[r.len] = '\0';
	cr_assert_eq(c->n, (int)r.len, "length: %d, want %zu\n%s\n%s", c->n,
		     r.len, c->got, c->want);
	cr_assert_str_eq(c->got, c->want);
	return 0;
}

/* The tags of @pid in @vocab, @times calls, each checked; the last
 * call's JSON (static). */
static const char *tags(struct proccache *pc, uint32_t pid, uint32_t vocab,
			int times, uint32_t *ret_parent)
{
	PROCCACHE_OPTS(proccache_tags_opts, opts, .vocab = vocab);
	static char got[BUF], want[BUF];
	struct call c = { .opts = &opts, .got = got, .want = want };

	for (int i = 0; i < times; i++)
		cr_assert_eq(proccache__with_pid(pc, pid, 0, check_cb, &c), 0,
			     "pid %u", pid);
	if (ret_parent)
		*ret_parent = c.parent_pid;
	return got;
}

/* The same by exec key: an image that exited is no pid's now. */
static const char *tags_key(struct proccache *pc, uint32_t pid, uint64_t kt,
			    uint32_t vocab, int times)
{
	PROCCACHE_OPTS(proccache_tags_opts, opts, .vocab = vocab);
	static char got[BUF], want[BUF];
	struct call c = { .opts = &opts, .got = got, .want = want };
	struct proccache_key k = { .pid = pid, .ktime = kt };

	for (int i = 0; i < times; i++)
		cr_assert_eq(proccache__with_key(pc, &k, check_cb, &c), 0,
			     "key %u", pid);
	return got;
}

static const char sh_args[] = "sh\0-c\0echo \"hi\"\0";

/* init (1), a daemon (100) it started, a shell (200) the daemon started. */
static struct proccache *three(void)
{
	struct proccache *pc = cache();

	exec_ev(pc, 1, 1000, 0, 0, "/sbin/init", "init\0", 5);
	exec_ev(pc, 100, 2000, 1, 1000, "/usr/sbin/d", "d\0--fg\0", 7);
	exec_ev(pc, 200, 3000, 100, 2000, "/bin/sh", sh_args,
		sizeof(sh_args) - 1);
	return pc;
}

static const uint32_t vocabs[] = { PROCCACHE_TAGS_LOONGCOLLECTOR,
				   PROCCACHE_TAGS_OTEL, PROCCACHE_TAGS_ECS };

Test(tag_memo, every_vocabulary_copies_what_it_would_write)
{
	struct proccache *pc = three();
	uint32_t parent;

	/* The first vocabulary asked for is the one kept; the others are
	 * written per call, and the kept one still copied after them. */
	for (int round = 0; round < 2; round++)
		for (size_t v = 0; v < 3; v++) {
			tags(pc, 200, vocabs[v], 3, &parent);
			cr_expect_eq(parent, 100);
			tags(pc, 1, vocabs[v], 3, &parent);
			cr_expect_eq(parent, 0, "init has no parent");
		}
	proccache__free(pc);
}

Test(tag_memo, each_vocabulary_first)
{
	for (size_t v = 0; v < 3; v++) {
		struct proccache *pc = three();

		tags(pc, 200, vocabs[v], 2, NULL);
		tags(pc, 100, vocabs[v], 2, NULL);
		for (size_t w = 0; w < 3; w++)
			tags(pc, 200, vocabs[w], 2, NULL);
		proccache__free(pc);
	}
}

Test(tag_memo, a_parent_whose_credentials_change)
{
	struct proccache *pc = three();

	for (size_t v = 0; v < 3; v++) {
		const char *s = tags(pc, 200, vocabs[v], 2, NULL);

		if (v == 0)
			cr_expect_not_null(strstr(s, "\"parent.uid\":\"1000\""),
					   "%s", s);
	}
	creds_ev(pc, 100, 4242);
	for (size_t v = 0; v < 3; v++) {
		const char *s = tags(pc, 200, vocabs[v], 2, NULL);

		if (v == 0)
			cr_expect_not_null(strstr(s, "\"parent.uid\":\"4242\""),
					   "the parent's new uid: %s", s);
		if (v == 2)
			cr_expect_not_null(
				strstr(s, "\"process.parent.user.id\":\"4242\""),
				"%s", s);
	}
	proccache__free(pc);
}

Test(tag_memo, its_own_credentials_change)
{
	struct proccache *pc = three();
	const char *s;

	tags(pc, 200, PROCCACHE_TAGS_LOONGCOLLECTOR, 2, NULL);
	creds_ev(pc, 200, 31337);
	s = tags(pc, 200, PROCCACHE_TAGS_LOONGCOLLECTOR, 2, NULL);
	cr_expect_not_null(strstr(s, "\"uid\":\"31337\""), "%s", s);
	proccache__free(pc);
}

Test(tag_memo, the_parent_exits_then_the_process)
{
	struct proccache *pc = three();
	const char *s;
	uint32_t parent;

	for (size_t v = 0; v < 3; v++)
		tags(pc, 200, vocabs[v], 2, NULL);
	exit_ev(pc, 100, 2000, 0);
	for (size_t v = 0; v < 3; v++) {
		tags(pc, 200, vocabs[v], 2, &parent);
		cr_expect_eq(parent, 100, "an exited parent is still the parent");
	}
	exit_ev(pc, 200, 3000, 3);
	s = tags_key(pc, 200, 3000, PROCCACHE_TAGS_OTEL, 2);
	cr_expect_not_null(strstr(s, "\"process.exit.code\":3"), "%s", s);
	s = tags_key(pc, 200, 3000, PROCCACHE_TAGS_ECS, 2);
	cr_expect_not_null(strstr(s, "\"process.exit_code\":3"), "%s", s);
	proccache__free(pc);
}

/* The child's exec arrives first: tagged without a parent, then the
 * parent arrives and adopts it. */
Test(tag_memo, a_parent_that_arrives_after_the_first_record)
{
	struct proccache *pc = cache();
	const char *s;
	uint32_t parent;

	exec_ev(pc, 1, 1000, 0, 0, "/sbin/init", "init\0", 5);
	exec_ev(pc, 200, 3000, 100, 2000, "/bin/sh", sh_args,
		sizeof(sh_args) - 1);
	for (size_t v = 0; v < 3; v++) {
		tags(pc, 200, vocabs[v], 2, &parent);
		cr_expect_eq(parent, 0);
	}
	s = tags(pc, 200, PROCCACHE_TAGS_OTEL, 1, NULL);
	cr_expect_not_null(strstr(s, "\"process.parent_pid\":100"),
			   "the parent key's pid: %s", s);
	exec_ev(pc, 100, 2000, 1, 1000, "/usr/sbin/d", "d\0--fg\0", 7);
	for (size_t v = 0; v < 3; v++) {
		tags(pc, 200, vocabs[v], 2, &parent);
		cr_expect_eq(parent, 100, "adopted");
	}
	s = tags(pc, 200, PROCCACHE_TAGS_LOONGCOLLECTOR, 1, NULL);
	cr_expect_not_null(strstr(s, "\"parent.binary\":\"/usr/sbin/d\""),
			   "%s", s);
	proccache__free(pc);
}

/* An exec without a fork: the parent process is the one before the
 * previous image, whose pid is not the parent key's. */
Test(tag_memo, a_re_exec_names_the_process_that_started_it)
{
	struct proccache *pc = three();
	const char *s;
	uint32_t parent;

	tags(pc, 200, PROCCACHE_TAGS_OTEL, 2, NULL);
	exec_ev(pc, 200, 4000, 200, 3000, "/bin/true", "true\0", 5);
	/* OpenTelemetry first: the vocabulary kept, whose parent pid is
	 * written per call */
	s = tags(pc, 200, PROCCACHE_TAGS_OTEL, 2, &parent);
	cr_expect_eq(parent, 100);
	cr_expect_not_null(strstr(s, "\"process.parent_pid\":100"), "%s", s);
	for (size_t v = 0; v < 3; v++) {
		tags(pc, 200, vocabs[v], 2, &parent);
		cr_expect_eq(parent, 100);
	}
	proccache__free(pc);
}

/* A snapshot without a memo yet, through proccache_tags_json() with a
 * counted reference rather than a borrowed read. */
Test(tag_memo, counted_snapshots_and_a_cut_buffer)
{
	struct proccache *pc = three();
	struct proccache_process *p = proccache__lookup_pid(pc, 200);
	struct proccache_process *parent = proccache__lookup_pid(pc, 100);
	static char full[BUF], small[64], again[BUF];
	int n, m;

	cr_assert(p && parent);
	n = proccache_tags_json(p, parent, NULL, full, sizeof(full));
	cr_assert_gt(n, 64);
	m = proccache_tags_json(p, parent, NULL, small, sizeof(small));
	cr_expect_eq(m, n, "the length, as snprintf");
	cr_expect_eq(strlen(small), sizeof(small) - 1);
	cr_expect_eq(memcmp(small, full, sizeof(small) - 1), 0);
	cr_expect_eq(proccache_tags_json(p, parent, NULL, NULL, 0), n);
	cr_expect_eq(proccache_tags_json(p, parent, NULL, again, sizeof(again)),
		     n);
	cr_expect_str_eq(again, full);
	/* Without the parent: the process's own tags only. */
	n = proccache_tags_json(p, NULL, NULL, again, sizeof(again));
	cr_expect_null(strstr(again, "parent."), "%s", again);
	proccache_process__unref(p);
	proccache_process__unref(parent);
	proccache__free(pc);
}

/* Tags kept are bounded in all (32 MiB): 4000 processes with 6 KiB of
 * arguments (12.5 KiB of ECS tags: the list and the command line) would
 * keep about 50 MiB. The ones past the bound are written per call, and
 * are still right. */
Test(tag_memo, what_is_kept_is_bounded)
{
	struct proccache *pc = cache();
	size_t args_len = 6 * 1024;
	char *args = malloc(args_len);
	struct proccache_stats st = { .sz = sizeof(st) };
	static char prom[16384];
	size_t before, after;

	cr_assert_not_null(args);
	for (size_t i = 0; i < args_len; i++)
		args[i] = (i % 64 == 63) ? '\0' : (char)('a' + i % 26);
	args[args_len - 1] = '\0';
	exec_ev(pc, 1, 1000, 0, 0, "/sbin/init", "init\0", 5);
	for (uint32_t pid = 2; pid < 4002; pid++)
		exec_ev(pc, pid, 1000 + pid, 1, 1000, "/bin/big", args,
			args_len);
	before = mallinfo2().uordblks;
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_expect_eq(st.tags_kept_bytes, 0);
	cr_expect_eq(st.tags_not_kept, 0);
	for (uint32_t pid = 2; pid < 4002; pid++)
		tags(pc, pid, PROCCACHE_TAGS_ECS, pid % 500 == 0 ? 3 : 1, NULL);
	after = mallinfo2().uordblks;
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_expect_leq(st.tags_kept_bytes, (uint64_t)32 << 20);
	cr_expect_gt(st.tags_kept_bytes, (uint64_t)30 << 20, "%" PRIu64,
		     st.tags_kept_bytes);
	cr_expect_geq(st.tags_not_kept, 1000, "%" PRIu64, st.tags_not_kept);
	cr_expect_leq(st.tags_kept_bytes, after - before);
	cr_assert_gt(proccache__stats_prometheus(pc, prom, sizeof(prom)), 0);
	cr_expect_not_null(strstr(prom, "proccache_tags_not_kept "), "%s", prom);
	cr_expect_lt(after - before, (size_t)34 << 20,
		     "%zu bytes kept for tags", after - before);
	cr_expect_gt(after - before, (size_t)16 << 20,
		     "%zu bytes kept: the bound is not the only thing kept",
		     after - before);
	proccache__free(pc);
	free(args);
	/* Freed with the snapshots: nothing is kept once the cache is. */
	pc = cache();
	cr_assert_eq(proccache__stats(pc, &st), 0);
	cr_expect_eq(st.tags_kept_bytes, 0, "%" PRIu64, st.tags_kept_bytes);
	proccache__free(pc);
}

/* Capability names are kept once per set for all memos, up to 64 sets;
 * past that, a memo holds its own. Either way each call is checked. */
Test(tag_memo, more_capability_sets_than_are_shared)
{
	struct proccache *pc = cache();

	exec_ev(pc, 1, 1000, 0, 0, "/sbin/init", "init\0", 5);
	for (uint32_t pid = 2; pid < 202; pid++) {
		PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
			       .pid = pid, .ktime = 1000 + pid,
			       .parent = { .pid = 1, .ktime = 1000 },
			       .start_time = 1000 + pid, .binary = "/bin/c",
			       .args = "c\0", .args_len = 2, .cwd = "/",
			       .caps = { .permitted = ((uint64_t)pid << 20) | 0x3,
					 .effective = pid,
					 .inheritable = (uint64_t)pid << 30 });

		ingest(pc, &ev);
	}
	for (uint32_t pid = 2; pid < 202; pid++)
		tags(pc, pid, pid % 2 ? PROCCACHE_TAGS_LOONGCOLLECTOR
				      : PROCCACHE_TAGS_ECS, 2, NULL);
	for (uint32_t pid = 2; pid < 202; pid++)
		tags(pc, pid, pid % 2 ? PROCCACHE_TAGS_LOONGCOLLECTOR
				      : PROCCACHE_TAGS_ECS, 1, NULL);
	proccache__free(pc);
}
