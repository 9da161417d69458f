/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tags of a process and its parent in the three vocabularies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <proccache/proccache.h>

#define NODE "node-t"

static struct proccache *cache(void)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = NODE);
	struct proccache *pc = proccache__new(&opts);

	cr_assert_not_null(pc);
	return pc;
}

static void exec_ev(struct proccache *pc, uint32_t pid, uint64_t kt,
		    uint32_t ppid, const char *binary, const char *args,
		    size_t args_len, const char *cid)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = pid, .ktime = kt, .parent = { .pid = ppid },
		       .start_time = kt, .binary = binary, .args = args,
		       .args_len = args_len, .cwd = "/srv", .container_id = cid,
		       .creds = { 1000, 100, 1001, 101, 1002, 102, 1001, 101, 7 },
		       .caps = { .permitted = 0x3, .effective = 0x1,
				 .inheritable = 0 });
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
}

/* init (pid 1) and a shell (pid 200) it started. */
static struct proccache *two(void)
{
	static const char init_args[] = "/sbin/init\0splash\0";
	static const char sh_args[] = "sh\0-c\0echo hi\0";
	struct proccache *pc = cache();

	exec_ev(pc, 1, 1000, 0, "/sbin/init", init_args, sizeof(init_args) - 1,
		"");
	exec_ev(pc, 200, 5000, 1, "/bin/sh", sh_args, sizeof(sh_args) - 1,
		"c0ffee");
	return pc;
}

static char *tags_of(struct proccache *pc, uint32_t pid, uint32_t vocab)
{
	PROCCACHE_OPTS(proccache_tags_opts, opts, .vocab = vocab);
	static char buf[8192];
	int n = proccache__tags_pid_json(pc, pid, 0, &opts, buf, sizeof(buf));

	cr_assert_gt(n, 0, "tags of %u: %d", pid, n);
	cr_assert_lt(n, (int)sizeof(buf));
	cr_assert_eq(strlen(buf), (size_t)n);
	return buf;
}

Test(tags, loongcollector_keys_and_values)
{
	struct proccache *pc = two();
	struct proccache_key k = { .pid = 200, .ktime = 5000 };
	struct proccache_key pk = { .pid = 1, .ktime = 1000 };
	char id[128], pid_[128], want[2048];

	cr_assert_gt(proccache_exec_id_format(NODE, &k, id, sizeof(id)), 0);
	cr_assert_gt(proccache_exec_id_format(NODE, &pk, pid_, sizeof(pid_)), 0);
	/* FinalizeProcessTags' order; arguments without argv[0], quoted as
	 * DecodeArgs() does; capability names space separated. */
	snprintf(want, sizeof(want),
		 "\"exec_id\":\"%s\",\"pid\":\"200\",\"uid\":\"1000\","
		 "\"binary\":\"/bin/sh\",\"arguments\":\"-c \\\"echo hi\\\"\","
		 "\"cwd\":\"/srv\",\"ktime\":\"5000\","
		 "\"cap.permitted\":\"CAP_CHOWN CAP_DAC_OVERRIDE\","
		 "\"cap.effective\":\"CAP_CHOWN\",\"cap.inheritable\":\"\","
		 "\"container.id\":\"c0ffee\","
		 "\"parent.exec_id\":\"%s\",\"parent.pid\":\"1\","
		 "\"parent.uid\":\"1000\",\"parent.binary\":\"/sbin/init\","
		 "\"parent.arguments\":\"splash\",\"parent.cwd\":\"/srv\","
		 "\"parent.ktime\":\"1000\"",
		 id, pid_);
	cr_expect_str_eq(tags_of(pc, 200, PROCCACHE_TAGS_LOONGCOLLECTOR), want);
	proccache__free(pc);
}

/* Collects the tags of one call. */
struct got {
	int n;
	char key[64][48];
	struct proccache_tag tag[64];
	char str[64][256];
};

static int collect(const struct proccache_tag *t, void *userdata)
{
	struct got *g = userdata;

	cr_assert_lt(g->n, 64);
	snprintf(g->key[g->n], sizeof(g->key[0]), "%s", t->key);
	g->tag[g->n] = *t;
	if (t->type != PROCCACHE_TAG_INT) {
		cr_assert_lt(t->len, sizeof(g->str[0]));
		memcpy(g->str[g->n], t->str, t->len);
		if (t->type == PROCCACHE_TAG_STRING)
			cr_assert_eq(t->str[t->len], '\0', "NUL terminated");
	}
	g->n++;
	return 0;
}

static const struct proccache_tag *find(struct got *g, const char *key,
					const char **ret_str)
{
	for (int i = 0; i < g->n; i++)
		if (!strcmp(g->key[i], key)) {
			*ret_str = g->str[i];
			return &g->tag[i];
		}
	return NULL;
}

Test(tags, otel_types_and_parent_pid)
{
	struct proccache *pc = two();
	PROCCACHE_OPTS(proccache_tags_opts, opts, .vocab = PROCCACHE_TAGS_OTEL);
	struct got g = { 0 };
	const struct proccache_tag *t;
	const char *s;
	int n;

	n = proccache__tags_pid(pc, 200, 0, &opts, collect, &g);
	cr_assert_eq(n, g.n);
	t = find(&g, "process.pid", &s);
	cr_assert(t && t->type == PROCCACHE_TAG_INT && t->num == 200);
	t = find(&g, "process.parent_pid", &s);
	cr_assert(t && t->type == PROCCACHE_TAG_INT && t->num == 1);
	t = find(&g, "process.command_args", &s);
	cr_assert(t && t->type == PROCCACHE_TAG_STRINGS);
	cr_expect_eq(t->len, 14);
	cr_expect_eq(memcmp(s, "sh\0-c\0echo hi\0", 14), 0);
	t = find(&g, "process.args_count", &s);
	cr_assert(t && t->num == 3);
	t = find(&g, "process.command", &s);
	cr_assert(t);
	cr_expect_str_eq(s, "sh");
	t = find(&g, "process.executable.name", &s);
	cr_assert(t);
	cr_expect_str_eq(s, "sh");
	t = find(&g, "process.user.id", &s);
	cr_assert(t && t->type == PROCCACHE_TAG_INT && t->num == 1001, "euid");
	t = find(&g, "process.real_user.id", &s);
	cr_assert(t && t->num == 1000);
	t = find(&g, "process.creation.time", &s);
	cr_assert(t && t->len == 24 && s[10] == 'T' && s[23] == 'Z', "%s", s);
	cr_expect_null(find(&g, "process.exit.code", &s), "still running");
	cr_expect_null(find(&g, "process.parent.pid", &s), "not in OTel");
	proccache__free(pc);
}

Test(tags, ecs_parent_caps_and_exit)
{
	struct proccache *pc = two();
	PROCCACHE_OPTS(proccache_tags_opts, opts, .vocab = PROCCACHE_TAGS_ECS);
	PROCCACHE_OPTS(proccache_event, ex, .type = PROCCACHE_EVENT_EXIT,
		       .pid = 200, .exit_code = 3, .time = 9000);
	struct got g = { 0 };
	const struct proccache_tag *t;
	const char *s;

	cr_assert_eq(proccache__ingest(pc, &ex), 0);
	cr_assert_gt(proccache__tags_pid(pc, 200, 8000, &opts, collect, &g), 0);
	t = find(&g, "process.user.id", &s);
	cr_assert(t && t->type == PROCCACHE_TAG_STRING);
	cr_expect_str_eq(s, "1001", "ECS ids are keywords");
	t = find(&g, "process.thread.capabilities.permitted", &s);
	cr_assert(t && t->type == PROCCACHE_TAG_STRINGS);
	cr_expect_eq(t->len, sizeof("CAP_CHOWN\0CAP_DAC_OVERRIDE"));
	cr_expect_eq(memcmp(s, "CAP_CHOWN\0CAP_DAC_OVERRIDE", t->len), 0);
	t = find(&g, "process.exit_code", &s);
	cr_assert(t && t->num == 3);
	cr_expect_not_null(find(&g, "process.end", &s));
	t = find(&g, "process.parent.executable", &s);
	cr_assert(t);
	cr_expect_str_eq(s, "/sbin/init");
	t = find(&g, "process.parent.args", &s);
	cr_assert(t && t->len == sizeof("/sbin/init\0splash"));
	t = find(&g, "process.command_line", &s);
	cr_assert(t);
	cr_expect_str_eq(s, "sh -c \"echo hi\"");
	cr_expect_eq(proccache__tags_pid(pc, 200, 9001, &opts, collect, &g),
		     -ENOENT, "exited before");
	proccache__free(pc);
}

/* Python checks what the JSON says; argv[1] is the file. */
static const char checker[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1]))\n"
	"want_bin = '/tmp/we\"ird\\n\\x01name'\n"
	"want_argv = ['x', '\"q\"\\\\', 'tab\\there', '\\ufffd\\ufffd', 'caf\\u00e9']\n"
	"b = [v for k, v in d.items() if k in ('binary', 'process.executable',\n"
	"     'process.executable.path')]\n"
	"assert b == [want_bin], b\n"
	"a = [v for k, v in d.items() if k in ('process.command_args', 'process.args')]\n"
	"assert not a or a[0] == want_argv, a\n";

/* Each vocabulary's JSON members, in braces, parse as JSON and hold what
 * was ingested, escapes and bad UTF-8 included. */
Test(tags, json_is_valid_with_hostile_strings)
{
	static const char args[] = "x\0\"q\"\\\0tab\there\0\xff\xfe\0caf\xc3\xa9\0";
	struct proccache *pc = cache();
	char json_path[64], py_path[64], cmd[256], *json;
	FILE *f;

	snprintf(json_path, sizeof(json_path), "/tmp/tags-%d.json", getpid());
	snprintf(py_path, sizeof(py_path), "/tmp/tags-%d.py", getpid());
	f = fopen(py_path, "w");
	cr_assert_not_null(f);
	fputs(checker, f);
	fclose(f);
	exec_ev(pc, 1, 1000, 0, "/sbin/init", "init", 5, "");
	exec_ev(pc, 300, 5000, 1, "/tmp/we\"ird\n\x01name", args,
		sizeof(args) - 1, "");
	for (uint32_t v = 0; v < 3; v++) {
		json = tags_of(pc, 300, v);
		f = fopen(json_path, "w");
		cr_assert_not_null(f);
		fprintf(f, "{%s}", json);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "python3 %s %s", py_path, json_path);
		cr_expect_eq(system(cmd), 0, "vocabulary %u: {%s}", v, json);
	}
	unlink(json_path);
	unlink(py_path);
	proccache__free(pc);
}

Test(tags, buffer_cut_like_snprintf_and_long_arguments)
{
	struct proccache *pc = cache();
	size_t big = 10000;
	char *args = malloc(big), small[32], *full;
	int n, m;

	cr_assert_not_null(args);
	memset(args, 'a', big);
	args[0] = 'p';
	args[1] = '\0';
	args[big - 1] = '\0';
	exec_ev(pc, 400, 5000, 0, "/bin/long", args, big, "");
	n = proccache__tags_pid_json(pc, 400, 0, NULL, NULL, 0);
	cr_assert_gt(n, (int)big, "the whole argument line is counted");
	full = malloc((size_t)n + 1);
	cr_assert_eq(proccache__tags_pid_json(pc, 400, 0, NULL, full, n + 1), n);
	cr_expect_not_null(strstr(full, "\"arguments\":\"aaaa"));
	cr_expect_eq(strlen(full), (size_t)n);
	m = proccache__tags_pid_json(pc, 400, 0, NULL, small, sizeof(small));
	cr_expect_eq(m, n);
	cr_expect_eq(strlen(small), sizeof(small) - 1);
	cr_expect_eq(memcmp(small, full, sizeof(small) - 1), 0);
	free(full);
	free(args);
	proccache__free(pc);
}

static int stop_third(const struct proccache_tag *t, void *userdata)
{
	int *calls = userdata;

	(void)t;
	return ++*calls == 3 ? -ECANCELED : 0;
}

Test(tags, callback_stops_and_bad_arguments)
{
	struct proccache *pc = two();
	PROCCACHE_OPTS(proccache_tags_opts, bad, .vocab = 3);
	int calls = 0;
	char buf[64];

	cr_expect_eq(proccache__tags_pid(pc, 200, 0, NULL, stop_third, &calls),
		     -ECANCELED);
	cr_expect_eq(calls, 3);
	cr_expect_eq(proccache__tags_pid(pc, 200, 0, &bad, stop_third, &calls),
		     -EINVAL);
	cr_expect_eq(proccache__tags_pid(pc, 200, 0, NULL, NULL, NULL), -EINVAL);
	cr_expect_eq(proccache_tags_emit(NULL, NULL, NULL, stop_third, &calls),
		     -EINVAL);
	cr_expect_eq(proccache__tags_pid_json(pc, 999, 0, NULL, buf, sizeof(buf)),
		     -ENOENT);
	proccache__free(pc);
}

/* Capability names are remembered per thread for a few sets: more sets
 * than that, in turn and again, each still gets its own names. */
Test(tags, many_capability_sets_each_get_their_names)
{
	struct proccache *pc = cache();
	char want[2048], got[4096];

	for (uint32_t i = 0; i < 12; i++) {
		PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
			       .pid = 500 + i, .ktime = 100 + i,
			       .binary = "/bin/c",
			       .caps = { .permitted = (1ull << i) | (1ull << 40),
					 .effective = 1ull << (i + 1) });
		cr_assert_eq(proccache__ingest(pc, &ev), 0);
	}
	for (int round = 0; round < 2; round++)
		for (uint32_t i = 0; i < 12; i++) {
			char *at;

			cr_assert_gt(proccache__tags_pid_json(pc, 500 + i, 0, NULL,
							      got, sizeof(got)), 0);
			proccache_caps_format((1ull << i) | (1ull << 40), want,
					      sizeof(want));
			at = strstr(got, "\"cap.permitted\":\"");
			cr_assert_not_null(at);
			at += strlen("\"cap.permitted\":\"");
			cr_expect_eq(strncmp(at, want, strlen(want)), 0, "%s", got);
			cr_expect_eq(at[strlen(want)], '"');
			proccache_caps_format(1ull << (i + 1), want, sizeof(want));
			at = strstr(got, "\"cap.effective\":\"") +
			     strlen("\"cap.effective\":\"");
			cr_expect_eq(strncmp(at, want, strlen(want)), 0, "%s", got);
			cr_expect_eq(at[strlen(want)], '"');
		}
	proccache__free(pc);
}

/* A user database of the test's own: uid 1000 is "alice", 1001 "bob". */
static int fake_users(enum proccache_users_kind kind, uint32_t id, char *buf,
		      size_t len, void *userdata)
{
	const char *name = id == 1000 ? "alice" : id == 1001 ? "bob" : NULL;

	(void)userdata;
	if (kind != PROCCACHE_USERS_USER || !name)
		return -ENOENT;
	return snprintf(buf, len, "%s", name);
}

/* fake_users once the test opens the gate: until then the resolver
 * thread waits, so that a name cannot be resolved before the test says. */
static atomic_bool gate_open;

static int gated_users(enum proccache_users_kind kind, uint32_t id, char *buf,
		       size_t len, void *userdata)
{
	while (!atomic_load(&gate_open))
		usleep(200);
	return fake_users(kind, id, buf, len, userdata);
}

/* Ask until the cache has resolved @uid (the resolver is a thread). */
static void resolved(struct proccache_users *u, uint32_t uid)
{
	char name[64];

	for (int i = 0; i < 2000; i++) {
		if (proccache_users__user_name(u, uid, name, sizeof(name)) != -EAGAIN)
			return;
		usleep(1000);
	}
	cr_assert_fail("uid %u never resolved", uid);
}

Test(tags, user_names_from_the_user_cache_never_waited_for)
{
	PROCCACHE_OPTS(proccache_users_opts, uopts, .resolve = gated_users);
	struct proccache_users *u = proccache_users__new(&uopts);
	struct proccache *pc = two();
	PROCCACHE_OPTS(proccache_tags_opts, lc, .users = u);
	PROCCACHE_OPTS(proccache_tags_opts, otel, .vocab = PROCCACHE_TAGS_OTEL,
		       .users = u);
	PROCCACHE_OPTS(proccache_tags_opts, ecs, .vocab = PROCCACHE_TAGS_ECS,
		       .users = u);
	char buf[8192];

	cr_assert_not_null(u);
	/* Not resolved yet (the resolver is held): left out, and the call
	 * did not wait. The tags it could not complete are not kept. */
	cr_assert_gt(proccache__tags_pid_json(pc, 200, 0, &lc, buf, sizeof(buf)), 0);
	cr_expect_null(strstr(buf, "\"user\""), "%s", buf);
	atomic_store(&gate_open, true);
	resolved(u, 1000);
	resolved(u, 1001);
	cr_assert_gt(proccache__tags_pid_json(pc, 200, 0, &lc, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, "\"uid\":\"1000\",\"user\":\"alice\","), "%s", buf);
	cr_expect_not_null(strstr(buf, "\"parent.user\":\"alice\""), "%s", buf);
	cr_assert_gt(proccache__tags_pid_json(pc, 200, 0, &otel, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, "\"process.owner\":\"alice\""), "%s", buf);
	cr_expect_not_null(strstr(buf, "\"process.user.name\":\"bob\""), "%s", buf);
	cr_assert_gt(proccache__tags_pid_json(pc, 200, 0, &ecs, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, "\"process.user.name\":\"bob\""), "%s", buf);
	cr_expect_not_null(strstr(buf, "\"process.real_user.name\":\"alice\""), "%s", buf);
	cr_expect_not_null(strstr(buf, "\"process.parent.user.name\":\"bob\""), "%s", buf);
	proccache__free(pc);
	proccache_users__free(u);
}

static int start_tag(const struct proccache_tag *t, void *userdata)
{
	if (!strcmp(t->key, "process.creation.time"))
		snprintf(userdata, 64, "%.*s", (int)t->len, t->str);
	return 0;
}

static int64_t wall_minus_boot_once(void)
{
	struct timespec b, r;

	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - b.tv_sec) * 1000000000 +
	       (r.tv_nsec - b.tv_nsec);
}

static int by_value(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * A date is written from boot time plus the wall clock's offset. Read
 * afresh per record, the offset differs by the time between its two clock
 * reads, and a start that falls near a millisecond boundary was written as
 * two dates, a millisecond apart, from one record to the next (found by
 * fuzz_ingest, whose check compares records of one process). The start is
 * put on the boundary as this machine reads the offset, so that the jitter
 * falls on both sides of it.
 */
Test(tags, a_date_is_the_same_in_every_record)
{
	PROCCACHE_OPTS(proccache_tags_opts, opts, .vocab = PROCCACHE_TAGS_OTEL);
	int64_t offsets[101], off;
	struct proccache *pc = cache();
	struct proccache_process *p;
	char first[64] = "", cur[64];
	uint64_t start;
	int changed = 0;

	for (int i = 0; i < 101; i++)
		offsets[i] = wall_minus_boot_once();
	qsort(offsets, 101, sizeof(offsets[0]), by_value);
	off = offsets[50];
	/* a boot time whose date is exactly on a millisecond, ~1 s after boot */
	start = (uint64_t)(1000000000 + 1000000 - (off % 1000000));
	exec_ev(pc, 300, start, 1, "/bin/true", "true", 5, "");
	p = proccache__lookup_pid(pc, 300);
	cr_assert_not_null(p);
	for (int i = 0; i < 20000; i++) {
		cur[0] = '\0';
		cr_assert_gt(proccache_tags_emit(p, NULL, &opts, start_tag, cur), 0);
		cr_assert_neq(cur[0], '\0');
		if (!first[0])
			memcpy(first, cur, sizeof(cur));
		changed += strcmp(first, cur) != 0;
	}
	cr_expect_eq(changed, 0, "%d of 20000 records dated %s otherwise",
		     changed, first);
	proccache_process__unref(p);
	proccache__free(pc);
}
