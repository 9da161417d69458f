/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rules file parser and the matcher (docs/proccache-edr.md). The
 * parser works line by line on tokens that remember their column, so every
 * error says where it is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define TOKENS_MAX 128
#define DEPTH_MAX 64

struct token {
	char *text; /* unquoted, NUL terminated */
	unsigned int col;
};

struct line {
	struct token tok[TOKENS_MAX];
	size_t n, i;
	unsigned int no, end_col;
	struct rules_error *err;
};

static const struct {
	const char *name;
	uint32_t flags;
} flag_names[] = {
	{ "memfd", 0 },
	{ "unlinked", PROCCACHE_F_UNLINKED },
	{ "setuid", PROCCACHE_F_SETUID },
	{ "setgid", PROCCACHE_F_SETGID },
	{ "procfs", PROCCACHE_F_PROCFS },
	{ "exec_after_clone", PROCCACHE_F_EXEC_AFTER_CLONE },
	{ "parent_unknown", PROCCACHE_F_PARENT_UNKNOWN },
	{ "args_truncated", PROCCACHE_F_ARGS_TRUNCATED },
	{ "args_redacted", PROCCACHE_F_ARGS_REDACTED },
};

static int fail(struct line *l, unsigned int col, const char *fmt, ...)
{
	va_list ap;

	l->err->line = l->no;
	l->err->col = col;
	va_start(ap, fmt);
	vsnprintf(l->err->msg, sizeof(l->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Split @s (one line, modified in place) into tokens: bare words, or
 * "quoted strings" with \" and \\ escapes; '#' outside one ends the line. */
static int tokenize(struct line *l, char *s)
{
	char *p = s;

	l->n = l->i = 0;
	for (;;) {
		char *out;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#') {
			l->end_col = (unsigned int)(p - s) + 1;
			return 0;
		}
		if (l->n == TOKENS_MAX)
			return fail(l, (unsigned int)(p - s) + 1,
				    "more than %d words on a line", TOKENS_MAX);
		l->tok[l->n].col = (unsigned int)(p - s) + 1;
		if (*p != '"') {
			l->tok[l->n++].text = p;
			p += strcspn(p, " \t\r");
			if (*p)
				*p++ = '\0';
			continue;
		}
		out = ++p;
		l->tok[l->n].text = out;
		while (*p && *p != '"') {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*out++ = *p++;
		}
		if (!*p)
			return fail(l, l->tok[l->n].col, "unterminated string");
		p++;
		if (*p && *p != ' ' && *p != '\t' && *p != '\r')
			return fail(l, (unsigned int)(p - s) + 1,
				    "expected a space after a string");
		*out = '\0';
		l->n++;
	}
}

static struct token *next(struct line *l)
{
	return l->i < l->n ? &l->tok[l->i++] : NULL;
}

static unsigned int here(const struct line *l)
{
	return l->i < l->n ? l->tok[l->i].col : l->end_col;
}

static bool accept(struct line *l, const char *word)
{
	if (l->i < l->n && !strcmp(l->tok[l->i].text, word)) {
		l->i++;
		return true;
	}
	return false;
}

static int expect_word(struct line *l, const char *what, struct token **ret)
{
	unsigned int col = here(l);

	*ret = next(l);
	if (!*ret)
		return fail(l, col, "expected %s", what);
	return 0;
}

static int number(struct line *l, uint32_t min, uint32_t max, uint32_t *ret)
{
	unsigned int col = here(l);
	struct token *t = next(l);
	unsigned long v;
	char *end;

	if (!t || t->text[0] < '0' || t->text[0] > '9')
		return fail(l, col, "expected a number from %u to %u", min, max);
	errno = 0;
	v = strtoul(t->text, &end, 10);
	if (errno || *end || v < min || v > max)
		return fail(l, col, "expected a number from %u to %u", min, max);
	*ret = (uint32_t)v;
	return 0;
}

/* Globs without fnmatch(3) where their shape allows. */
static void classify(struct cond *c)
{
	const char *g = c->glob;
	size_t n = strlen(g);
	const char *meta = "*?[\\";

	c->glob_kind = GLOB_FNMATCH;
	if (!strpbrk(g, meta)) {
		c->glob_kind = GLOB_EXACT;
	} else if (n > 1 && g[0] == '*' && !strpbrk(g + 1, meta)) {
		c->glob_kind = GLOB_SUFFIX;
		c->lit = g + 1;
		c->lit_len = n - 1;
	} else if (n > 1 && g[n - 1] == '*' && strcspn(g, meta) == n - 1) {
		c->glob_kind = GLOB_PREFIX;
		c->lit = g;
		c->lit_len = n - 1;
	}
}

static int glob(struct line *l, struct cond *c)
{
	struct token *t;
	int err = expect_word(l, "a pattern", &t);

	if (err)
		return err;
	c->glob = strdup(t->text);
	if (!c->glob)
		return -ENOMEM;
	classify(c);
	return 0;
}

static int flag(struct line *l, uint32_t *ret)
{
	unsigned int col = here(l);
	struct token *t = next(l);

	for (size_t i = 0; t && i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (!strcmp(t->text, flag_names[i].name)) {
			*ret = flag_names[i].flags;
			return 0;
		}
	return fail(l, col, t ? "unknown flag '%s'" : "expected a flag%s",
		    t ? t->text : "");
}

static int cond(struct line *l, struct cond *c, uint32_t *max_depth)
{
	unsigned int col;
	struct token *t;
	int err;

	c->negate = accept(l, "not");
	col = here(l);
	err = expect_word(l, "a condition", &t);
	if (err)
		return err;
	if (!strcmp(t->text, "binary")) {
		c->kind = COND_BINARY;
		return glob(l, c);
	}
	if (!strcmp(t->text, "arg")) {
		c->kind = COND_ARG;
		return glob(l, c);
	}
	if (!strcmp(t->text, "env")) {
		c->kind = COND_ENV;
		return glob(l, c);
	}
	if (!strcmp(t->text, "uid") || !strcmp(t->text, "euid")) {
		c->kind = t->text[0] == 'u' ? COND_UID : COND_EUID;
		return number(l, 0, UINT32_MAX - 1, &c->num);
	}
	if (!strcmp(t->text, "flag")) {
		c->kind = COND_FLAG;
		return flag(l, &c->flags);
	}
	if (!strcmp(t->text, "label")) {
		c->kind = COND_LABEL;
		return number(l, 0, 63, &c->num);
	}
	if (!strcmp(t->text, "ancestor")) {
		c->kind = COND_ANCESTOR;
		err = number(l, 1, DEPTH_MAX, &c->num);
		if (err)
			return err;
		if (!accept(l, "binary"))
			return fail(l, here(l), "expected 'binary'");
		if (c->num > *max_depth)
			*max_depth = c->num;
		return glob(l, c);
	}
	return fail(l, col, "unknown condition '%s'", t->text);
}

static int action(struct line *l, struct rule *r)
{
	unsigned int col = here(l);
	uint32_t bit;
	int err;

	if (accept(l, "alert")) {
		r->alert = true;
		return 0;
	}
	if (accept(l, "label")) {
		err = number(l, 0, 63, &bit);
		if (!err)
			r->add_labels |= 1ull << bit;
		return err;
	}
	return fail(l, col, l->i < l->n ? "unknown action '%s'"
					: "expected an action%s",
		    l->i < l->n ? l->tok[l->i].text : "");
}

static int cost(const struct cond *c)
{
	switch (c->kind) {
	case COND_BINARY:
		return 1;
	case COND_ARG:
	case COND_ENV:
		return 2;
	case COND_ANCESTOR:
		return 3;
	default:
		return 0;
	}
}

static int by_cost(const void *a, const void *b)
{
	return cost(a) - cost(b);
}

static int rule(struct line *l, struct rule *r, uint32_t *max_depth)
{
	struct token *name;
	int err;

	if (!accept(l, "rule"))
		return fail(l, here(l), "expected 'rule'");
	err = expect_word(l, "a rule name", &name);
	if (err)
		return err;
	r->name = strdup(name->text);
	if (!r->name)
		return -ENOMEM;
	if (accept(l, "when")) {
		do {
			struct cond *c = realloc(r->conds, (r->n_conds + 1) *
							   sizeof(*c));

			if (!c)
				return -ENOMEM;
			r->conds = c;
			memset(&c[r->n_conds], 0, sizeof(*c));
			err = cond(l, &c[r->n_conds++], max_depth);
			if (err)
				return err;
		} while (accept(l, "and"));
	}
	if (!accept(l, "then"))
		return fail(l, here(l), r->n_conds ? "expected 'and' or 'then'"
						    : "expected 'when' or 'then'");
	do {
		err = action(l, r);
		if (err)
			return err;
	} while (accept(l, "and"));
	if (l->i < l->n)
		return fail(l, here(l), "expected 'and' or the end of the line");
	if (r->n_conds > 1)
		qsort(r->conds, r->n_conds, sizeof(*r->conds), by_cost);
	return 0;
}

static void rule_free(struct rule *r)
{
	for (size_t i = 0; i < r->n_conds; i++)
		free(r->conds[i].glob);
	free(r->conds);
	free(r->name);
}

void rules_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_rules; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	free(rs);
}

static int add_line(struct ruleset *rs, struct line *l, char *text)
{
	struct rule *rules, r = { 0 };
	int err = tokenize(l, text);

	if (err || l->n == 0)
		return err;
	err = rule(l, &r, &rs->max_depth);
	for (size_t i = 0; !err && i < rs->n_rules; i++)
		if (!strcmp(rs->rules[i].name, r.name))
			err = fail(l, l->tok[1].col, "rule '%s' is defined twice",
				   r.name);
	if (!err) {
		rules = realloc(rs->rules, (rs->n_rules + 1) * sizeof(r));
		if (rules) {
			rs->rules = rules;
			rs->rules[rs->n_rules++] = r;
			return 0;
		}
		err = -ENOMEM;
	}
	rule_free(&r);
	return err;
}

int rules_parse(const char *text, struct ruleset **ret,
		struct rules_error *err)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));
	struct line *l = calloc(1, sizeof(*l));
	char *copy = strdup(text), *p, *nl;
	int e = 0;

	memset(err, 0, sizeof(*err));
	if (!rs || !l || !copy) {
		e = -ENOMEM;
		goto out;
	}
	l->err = err;
	for (p = copy; p && !e; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		l->no++;
		e = add_line(rs, l, p);
	}
out:
	free(copy);
	free(l);
	if (e) {
		if (e == -ENOMEM)
			snprintf(err->msg, sizeof(err->msg), "out of memory");
		rules_free(rs);
		return e;
	}
	*ret = rs;
	return 0;
}

int rules_load(const char *path, struct ruleset **ret, struct rules_error *err)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;
	int e;

	memset(err, 0, sizeof(*err));
	if (!f || !(text = malloc(1 << 20))) {
		e = f ? -ENOMEM : -errno;
		goto fail;
	}
	len = fread(text, 1, (1 << 20) - 1, f);
	if (ferror(f)) {
		e = -EIO;
		goto fail;
	}
	if (!feof(f)) {
		e = -EFBIG;
		goto fail;
	}
	fclose(f);
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		free(text);
		snprintf(err->msg, sizeof(err->msg), "a NUL byte in the file");
		return -EINVAL;
	}
	e = rules_parse(text, ret, err);
	free(text);
	return e;
fail:
	snprintf(err->msg, sizeof(err->msg), "%s", strerror(-e));
	free(text);
	if (f)
		fclose(f);
	return e;
}

/* ------------------------------------------------------------------------ */
/* Matching                                                                  */
/* ------------------------------------------------------------------------ */

static bool glob_match(const struct cond *c, const char *s, size_t len)
{
	switch (c->glob_kind) {
	case GLOB_EXACT:
		return !strcmp(c->glob, s);
	case GLOB_SUFFIX:
		return len >= c->lit_len &&
		       !memcmp(s + len - c->lit_len, c->lit, c->lit_len);
	case GLOB_PREFIX:
		return len >= c->lit_len && !memcmp(s, c->lit, c->lit_len);
	default:
		return fnmatch(c->glob, s, 0) == 0;
	}
}

static bool binary_match(const struct cond *c,
			 const struct proccache_process *p)
{
	const char *b = proccache_process__binary(p);

	return glob_match(c, b, strlen(b));
}

static bool any_arg(const struct proccache_process *p, const struct cond *c)
{
	size_t len, i;
	const char *args = proccache_process__args(p, &len);

	/* argv[0] is skipped: "arg" is about what the program was told. The
	 * library keeps a NUL after the last argument even when cut. */
	i = strnlen(args, len) + 1;
	while (i < len) {
		size_t alen = strnlen(args + i, len - i);

		if (glob_match(c, args + i, alen))
			return true;
		i += alen + 1;
	}
	return false;
}

/* The environment is there only with --env-max (proccache_opts.env_max). */
static bool any_env(const struct proccache_process *p, const struct cond *c)
{
	size_t len, i = 0;
	const char *env = proccache_process__env(p, &len);

	while (i < len) {
		size_t vlen = strnlen(env + i, len - i);

		/* fnmatch() needs a C string: a cut last variable is one, the
		 * library keeps a NUL after the environment. */
		if (glob_match(c, env + i, vlen))
			return true;
		i += vlen + 1;
	}
	return false;
}

static bool is_memfd(const struct proccache_process *p)
{
	const char *b = proccache_process__binary(p);

	return !strncmp(b, "/memfd:", 7) || !strncmp(b, "memfd:", 6);
}

void subject_load_lineage(struct subject *s)
{
	struct proccache_key key;
	int n;

	if (s->anc_loaded)
		return;
	s->anc_loaded = true;
	key = proccache_process__key(s->p);
	n = proccache__ancestors(s->pc, &key, s->anc, s->max_anc, 0);
	s->n_anc = n > 0 ? (size_t)n : 0;
}

void subject_done(struct subject *s)
{
	for (size_t i = 0; i < s->n_anc; i++)
		proccache_process__unref(s->anc[i]);
	s->n_anc = 0;
	s->anc_loaded = false;
}

static bool holds(const struct cond *c, struct subject *s)
{
	const struct proccache_process *p = s->p;

	switch (c->kind) {
	case COND_BINARY:
		return binary_match(c, p);
	case COND_ARG:
		return any_arg(p, c);
	case COND_ENV:
		return any_env(p, c);
	case COND_UID:
		return proccache_process__cred(p, PROCCACHE_CRED_UID) == c->num;
	case COND_EUID:
		return proccache_process__cred(p, PROCCACHE_CRED_EUID) == c->num;
	case COND_FLAG:
		return c->flags ? (proccache_process__flags(p) & c->flags) != 0
				: is_memfd(p);
	case COND_LABEL:
		return (s->labels >> c->num) & 1;
	case COND_ANCESTOR:
		subject_load_lineage(s);
		for (size_t i = 0; i < s->n_anc && i < c->num; i++)
			if (binary_match(c, s->anc[i]))
				return true;
		return false;
	}
	return false;
}

bool rule_matches(const struct rule *r, struct subject *s)
{
	for (size_t i = 0; i < r->n_conds; i++)
		if (holds(&r->conds[i], s) == r->conds[i].negate)
			return false;
	return true;
}
