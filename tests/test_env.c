/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Environment capture (docs/environment.md) through the ingest API: off by
 * default, kept up to proccache_opts.env_max and flagged when cut, filtered
 * by proccache_opts.env_vars, and redacted by proccache_opts.redact before
 * the cache stores it or a subscriber sees it. Real execs under each sensor
 * are in test_sensor_bpf.c, test_sensor_netlink.c and test_procfs.c.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include <proccache/proccache.h>

/* '|' separated to NUL separated, with the final NUL unless @cut. */
static size_t to_env(const char *s, int cut, char *out)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] == '|' ? '\0' : s[i];
	out[n] = '\0';
	return cut ? n : n + 1;
}

static char seen[512];
static size_t seen_len;
static uint32_t seen_flags;

static int record_env(struct proccache *pc, const struct proccache_event *ev,
		      const struct proccache_process *p,
		      const struct proccache_process *parent, void *userdata)
{
	(void)pc, (void)p, (void)parent, (void)userdata;
	seen_len = ev->env_len < sizeof(seen) ? ev->env_len : sizeof(seen);
	if (seen_len)
		memcpy(seen, ev->env, seen_len);
	seen_flags = ev->flags;
	return 0;
}

struct row {
	const char *name;
	size_t env_max;
	const char *const *vars;
	const char *const *redact;
	const char *env;  /* '|' separated, NUL terminated */
	const char *want; /* what is stored */
	int want_cut;     /* the stored text lacks its final NUL */
	uint32_t want_flags;
};

static const char *const token[] = { "TOKEN=*", "AWS_SECRET_ACCESS_KEY=*",
				     "-p *", NULL };
static const char *const edr_vars[] = { "LD_PRELOAD", "PATH", "TOKEN", NULL };

static const struct row rows[] = {
	{ "off by default: nothing stored", 0, NULL, NULL, "A=1|B=2", "", 0, 0 },
	{ "kept whole under the cap", 64, NULL, NULL, "A=1|B=2", "A=1|B=2", 0,
	  0 },
	{ "exactly the cap", 8, NULL, NULL, "A=1|B=2", "A=1|B=2", 0, 0 },
	{ "cut at the cap", 6, NULL, NULL, "A=1|B=234", "A=1|B=", 1,
	  PROCCACHE_F_ENV_TRUNC },
	{ "TOKEN value redacted", 128, NULL, token,
	  "HOME=/root|TOKEN=s3cret|MYTOKEN=x",
	  "HOME=/root|TOKEN=***|MYTOKEN=x", 0, PROCCACHE_F_ENV_REDACTED },
	{ "several secrets", 128, NULL, token,
	  "TOKEN=a|AWS_SECRET_ACCESS_KEY=b|X=c",
	  "TOKEN=***|AWS_SECRET_ACCESS_KEY=***|X=c", 0,
	  PROCCACHE_F_ENV_REDACTED },
	{ "a NAME * pattern does not apply", 128, NULL, token, "-p|SECRET=x",
	  "-p|SECRET=x", 0, 0 },
	{ "empty value left alone", 128, NULL, token, "TOKEN=|A=1",
	  "TOKEN=|A=1", 0, 0 },
	{ "cut secret still redacted", 10, NULL, token, "TOKEN=s3cretvalue",
	  "TOKEN=***", 1, PROCCACHE_F_ENV_TRUNC | PROCCACHE_F_ENV_REDACTED },
	/* fuzz_ingest: redaction after the cut may lengthen a short value */
	{ "a value cut short is redacted past the cap", 12, NULL, token,
	  "A=1|TOKEN=s3cret", "A=1|TOKEN=***", 1,
	  PROCCACHE_F_ENV_TRUNC | PROCCACHE_F_ENV_REDACTED },
	{ "allow-list keeps the names given", 128, edr_vars, NULL,
	  "HOME=/root|LD_PRELOAD=/x.so|PATHX=1|PATH=/bin|TERM=xterm",
	  "LD_PRELOAD=/x.so|PATH=/bin", 0, 0 },
	{ "allow-list then redaction", 128, edr_vars, token,
	  "TOKEN=abc|HOME=/", "TOKEN=***", 0, PROCCACHE_F_ENV_REDACTED },
	{ "allow-list applies after the cut: a cut name is dropped", 12,
	  edr_vars, NULL, "PATH=/bin|LD_PRELOAD=/x.so", "PATH=/bin", 0,
	  PROCCACHE_F_ENV_TRUNC },
	{ "allow-list keeps a cut value", 16, edr_vars, NULL,
	  "LD_PRELOAD=/lib/evil.so", "LD_PRELOAD=/lib/", 1,
	  PROCCACHE_F_ENV_TRUNC },
	{ "allow-list with nothing kept", 128, edr_vars, NULL, "A=1", "", 0,
	  0 },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

ParameterizedTestParameters(env, ingest)
{
	static size_t idx[N_ROWS];

	for (size_t i = 0; i < N_ROWS; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, N_ROWS);
}

ParameterizedTest(size_t *i, env, ingest)
{
	const struct row *r = &rows[*i];
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t",
		       .env_max = r->env_max, .env_vars = r->vars,
		       .redact = r->redact);
	char in[256], want[256];
	size_t in_len = to_env(r->env, 0, in);
	size_t want_len = *r->want ? to_env(r->want, r->want_cut, want) : 0;
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 10, .ktime = 5, .binary = "/bin/x", .env = in,
		       .env_len = in_len);
	const uint32_t env_flags = PROCCACHE_F_ENV_TRUNC |
				   PROCCACHE_F_ENV_REDACTED;
	struct proccache *pc = proccache__new(&opts);
	struct proccache_process *p;
	const char *env;
	size_t len = 99;

	cr_log_info("row %s", r->name);
	cr_assert_not_null(pc);
	cr_assert_not_null(proccache__subscribe(pc, PROCCACHE_EVENT_EXEC,
						record_env, NULL, NULL));
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	p = proccache__lookup_pid(pc, 10);
	cr_assert_not_null(p);
	env = proccache_process__env(p, &len);
	cr_assert_not_null(env);
	cr_expect(len == want_len && !memcmp(env, want, len),
		  "%s: cached env differs (len %zu, want %zu)", r->name, len,
		  want_len);
	cr_expect_eq(env[len], '\0', "%s: not terminated", r->name);
	cr_expect(seen_len == want_len && !memcmp(seen, want, want_len),
		  "%s: the subscriber saw another env", r->name);
	cr_expect_eq(proccache_process__flags(p) & env_flags, r->want_flags,
		     "%s: flags %#x", r->name,
		     proccache_process__flags(p) & env_flags);
	cr_expect_eq(seen_flags & env_flags, r->want_flags);
	/* The caller's buffer is not written to. */
	cr_expect_eq(memcmp(in, r->env, 2), 0);
	proccache_process__unref(p);
	proccache__free(pc);
}

/* A clone shares its parent's image: the same environment, no copy. */
Test(env, clone_shares_it)
{
	static const char env[] = "A=1\0TOKEN=x";
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t", .env_max = 64,
		       .redact = token);
	PROCCACHE_OPTS(proccache_event, ex, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 10, .ktime = 5, .binary = "/bin/x", .env = env,
		       .env_len = sizeof(env));
	PROCCACHE_OPTS(proccache_event, cl, .type = PROCCACHE_EVENT_CLONE,
		       .pid = 11, .ktime = 6, .parent = { .pid = 10, .ktime = 5 });
	struct proccache *pc = proccache__new(&opts);
	struct proccache_process *a, *b;
	size_t la, lb;

	cr_assert_not_null(pc);
	cr_assert_eq(proccache__ingest(pc, &ex), 0);
	cr_assert_eq(proccache__ingest(pc, &cl), 0);
	a = proccache__lookup_pid(pc, 10);
	b = proccache__lookup_pid(pc, 11);
	cr_assert(a && b);
	cr_expect_eq(proccache_process__env(a, &la),
		     proccache_process__env(b, &lb));
	cr_expect_eq(la, sizeof("A=1\0TOKEN=***"));
	cr_expect_eq(lb, la);
	cr_expect(proccache_process__flags(b) & PROCCACHE_F_ENV_REDACTED);
	proccache_process__unref(a);
	proccache_process__unref(b);
	proccache__free(pc);
}

/* A labelled image copied with new attributes keeps its environment. */
Test(env, survives_label_change)
{
	static const char env[] = "PATH=/bin";
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t", .env_max = 64);
	PROCCACHE_OPTS(proccache_event, ex, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 10, .ktime = 5, .binary = "/bin/x", .env = env,
		       .env_len = sizeof(env));
	struct proccache_key key = { .pid = 10, .ktime = 5 };
	struct proccache *pc = proccache__new(&opts);
	struct proccache_process *p;
	const char *e;
	size_t len;

	cr_assert_not_null(pc);
	cr_assert_eq(proccache__ingest(pc, &ex), 0);
	cr_assert_geq(proccache__set_labels(pc, &key, 0x4, 0), 0);
	p = proccache__lookup_pid(pc, 10);
	cr_assert_not_null(p);
	cr_expect_eq(proccache_process__labels(p), 0x4);
	e = proccache_process__env(p, &len);
	cr_expect_eq(len, sizeof(env));
	cr_expect_str_eq(e, "PATH=/bin");
	proccache_process__unref(p);
	proccache__free(pc);
}

/* Bad options fail creation with EINVAL. */
Test(env, bad_options)
{
	static const char *const empty[] = { "", NULL };
	static const char *const eq[] = { "A=B", NULL };
	struct {
		size_t max;
		const char *const *vars;
	} bad[] = {
		{ PROCCACHE_ENV_MAX_LIMIT + 1, NULL },
		{ 64, empty },
		{ 64, eq },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		PROCCACHE_OPTS(proccache_opts, opts, .env_max = bad[i].max,
			       .env_vars = bad[i].vars);

		errno = 0;
		cr_expect_null(proccache__new(&opts), "case %zu", i);
		cr_expect_eq(errno, EINVAL, "case %zu", i);
	}
}

/* An event claiming env bytes without a pointer is malformed. */
Test(env, env_len_without_env)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t", .env_max = 64);
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 10, .ktime = 5, .env_len = 4);
	struct proccache *pc = proccache__new(&opts);

	cr_assert_not_null(pc);
	cr_expect_eq(proccache__ingest(pc, &ev), -EINVAL);
	proccache__free(pc);
}

/* A caller built against the 1.1 header (smaller sz) gets no environment. */
Test(env, old_opts_size)
{
	static const char env[] = "A=1";
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t", .env_max = 64);
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 10, .ktime = 5, .env = env, .env_len = 4);
	struct proccache *pc;
	struct proccache_process *p;
	size_t len = 99;

	opts.sz = offsetof(struct proccache_opts, env_max);
	pc = proccache__new(&opts);
	cr_assert_not_null(pc);
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	p = proccache__lookup_pid(pc, 10);
	cr_assert_not_null(p);
	proccache_process__env(p, &len);
	cr_expect_eq(len, 0);
	proccache_process__unref(p);
	proccache__free(pc);
}
