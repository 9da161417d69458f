/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Redaction (docs/redaction.md) through the public API: the patterns given
 * at creation replace secrets in an exec's (or an unparented clone's)
 * arguments before the cache stores them or a subscriber sees them.
 * Tetragon's redaction filters are the model (secrets in "--password=..."
 * style arguments). The "TOKEN=..." form is tested here as an argument (as
 * `env TOKEN=... cmd` has it); environment values are in test_env.c.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include <proccache/proccache.h>

static const char *const patterns[] = { "--password=*", "-p *", "TOKEN=*",
					NULL };

struct row {
	const char *name;
	const char *args; /* arguments separated by '|' */
	const char *want; /* the same after redaction */
	int truncated;    /* the last argument has no NUL */
};

static const struct row rows[] = {
	{ "long option", "mysql|--password=hunter2|-u|root",
	  "mysql|--password=***|-u|root", 0 },
	{ "next argument", "mysql|-u|root|-p|s3cret|db", "mysql|-u|root|-p|***|db",
	  0 },
	{ "environment value form", "env|TOKEN=abc123|curl",
	  "env|TOKEN=***|curl", 0 },
	{ "several secrets", "x|-p|a|--password=b|TOKEN=c",
	  "x|-p|***|--password=***|TOKEN=***", 0 },
	{ "-p twice in a row", "x|-p|-p|y", "x|-p|***|***", 0 },
	{ "empty value is kept", "x|--password=|-p||z", "x|--password=|-p||z",
	  0 },
	{ "-p last: nothing follows", "x|-p", "x|-p", 0 },
	{ "prefix only at the start", "x|a--password=b|MYTOKEN=c|-pq",
	  "x|a--password=b|MYTOKEN=c|-pq", 0 },
	{ "nothing to redact", "ls|-l|/tmp", "ls|-l|/tmp", 0 },
	{ "truncated last argument", "x|--password=hunt", "x|--password=***",
	  1 },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* '|' separated to NUL separated, with the final NUL unless truncated. */
static size_t to_args(const char *s, int truncated, char *out)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] == '|' ? '\0' : s[i];
	out[n] = '\0';
	return truncated ? n : n + 1;
}

static char seen[256];
static size_t seen_len;

static int record_args(struct proccache *pc, const struct proccache_event *ev,
		       const struct proccache_process *p,
		       const struct proccache_process *parent, void *userdata)
{
	(void)pc, (void)p, (void)parent, (void)userdata;
	seen_len = ev->args_len < sizeof(seen) ? ev->args_len : sizeof(seen);
	memcpy(seen, ev->args, seen_len);
	return 0;
}

ParameterizedTestParameters(redact, args)
{
	static size_t idx[N_ROWS];

	for (size_t i = 0; i < N_ROWS; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, N_ROWS);
}

ParameterizedTest(size_t *i, redact, args)
{
	const struct row *r = &rows[*i];
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t",
		       .redact = patterns);
	char in[256], want[256];
	size_t in_len = to_args(r->args, r->truncated, in);
	size_t want_len = to_args(r->want, r->truncated, want);
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 10, .ktime = 5, .binary = "/bin/x", .args = in,
		       .args_len = in_len,
		       .flags = r->truncated ? PROCCACHE_F_ARGS_TRUNCATED : 0);
	struct proccache *pc = proccache__new(&opts);
	struct proccache_process *p;
	const char *args;
	size_t len;

	cr_log_info("row %s", r->name);
	cr_assert_not_null(pc);
	cr_assert_not_null(proccache__subscribe(pc, PROCCACHE_EVENT_EXEC,
						record_args, NULL, NULL));
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	p = proccache__lookup_pid(pc, 10);
	cr_assert_not_null(p);
	args = proccache_process__args(p, &len);
	cr_expect(len == want_len && !memcmp(args, want, len),
		  "%s: cached args differ (len %zu, want %zu)", r->name, len,
		  want_len);
	cr_expect(seen_len == want_len && !memcmp(seen, want, want_len),
		  "%s: the subscriber saw other args", r->name);
	cr_expect_eq(!!(proccache_process__flags(p) & PROCCACHE_F_ARGS_REDACTED),
		     strcmp(r->args, r->want) != 0, "%s: redacted flag", r->name);
	/* The caller's buffer is not written to. */
	cr_expect_eq(memcmp(in, r->args, 1), 0);
	proccache_process__unref(p);
	proccache__free(pc);
}

/* A clone whose parent is unknown carries its own args: redacted too; its
 * clones share the redacted image. */
Test(redact, clone_payload)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t",
		       .redact = patterns);
	char in[] = "sh\0-p\0pw\0";
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_CLONE,
		       .pid = 20, .ktime = 5, .parent = { .pid = 19 },
		       .binary = "/bin/sh", .args = in, .args_len = sizeof(in) - 1);
	PROCCACHE_OPTS(proccache_event, child, .type = PROCCACHE_EVENT_CLONE,
		       .pid = 21, .ktime = 6, .parent = { .pid = 20 });
	struct proccache *pc = proccache__new(&opts);
	struct proccache_process *p;
	size_t len;

	cr_assert_not_null(pc);
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	cr_assert_eq(proccache__ingest(pc, &child), 0);
	p = proccache__lookup_pid(pc, 21);
	cr_assert_not_null(p);
	cr_expect_eq(memcmp(proccache_process__args(p, &len), "sh\0-p\0***\0",
			    10), 0);
	cr_expect_eq(len, 10);
	cr_expect(proccache_process__flags(p) & PROCCACHE_F_ARGS_REDACTED);
	proccache_process__unref(p);
	proccache__free(pc);
}

Test(redact, bad_patterns)
{
	static const char *const bad[][3] = {
		{ "--password=", NULL }, /* no '*' */
		{ "*", NULL },           /* empty prefix */
		{ " *", NULL },          /* empty name */
		{ "a*b*", NULL },        /* '*' inside */
		{ "-p x *", NULL },      /* space in a name */
		{ "ok=*", "", NULL },    /* empty second */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		PROCCACHE_OPTS(proccache_opts, opts, .redact = bad[i]);

		errno = 0;
		cr_expect_null(proccache__new(&opts), "pattern set %zu", i);
		cr_expect_eq(errno, EINVAL, "pattern set %zu", i);
	}
}

Test(redact, no_patterns_no_copy)
{
	static const char *const none[] = { NULL };
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t", .redact = none);
	char in[] = "x\0--password=y\0";
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 10, .ktime = 5, .args = in,
		       .args_len = sizeof(in) - 1);
	struct proccache *pc = proccache__new(&opts);
	struct proccache_process *p;
	size_t len;

	cr_assert_not_null(pc);
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	p = proccache__lookup_pid(pc, 10);
	cr_assert_not_null(p);
	cr_expect_eq(memcmp(proccache_process__args(p, &len), in, sizeof(in) - 1),
		     0);
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_ARGS_REDACTED);
	proccache_process__unref(p);
	proccache__free(pc);
}
