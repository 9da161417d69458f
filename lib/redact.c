/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Redaction patterns (docs/redaction.md), for arguments and for
 * environment values. Two forms:
 *   "PREFIX*"   an argument that starts with PREFIX keeps it; the rest of
 *               the argument is replaced ("--password=*", "TOKEN=*");
 *               also applied to each "NAME=value" of an environment;
 *   "NAME *"    the argument after one equal to NAME is replaced ("-p *");
 *               arguments only.
 * PREFIX and NAME are literal, not empty, and hold no '*'; NAME holds no
 * space. Nothing else is accepted, so a typo fails at creation instead of
 * silently letting a secret through.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "log.h"
#include "redact.h"

struct pc_pattern {
	char *text;    /* PREFIX or NAME */
	size_t len;
	bool next_arg; /* "NAME *": the following argument is the secret */
};

struct pc_redact {
	size_t count;
	struct pc_pattern pat[];
};

static int compile(const char *s, struct pc_pattern *ret)
{
	size_t n = s ? strlen(s) : 0;
	bool next_arg;

	if (n < 2 || n > PC_REDACT_LEN_MAX || s[n - 1] != '*' ||
	    memchr(s, '*', n - 1))
		return -EINVAL;
	next_arg = s[n - 2] == ' ';
	n -= next_arg ? 2 : 1;
	if (n == 0 || (next_arg && memchr(s, ' ', n)))
		return -EINVAL;
	ret->text = strndup(s, n);
	if (!ret->text)
		return -ENOMEM;
	ret->len = n;
	ret->next_arg = next_arg;
	return 0;
}

int pc_redact_new(const char *const *patterns, struct pc_redact **ret)
{
	struct pc_redact *r;
	size_t count = 0;
	int err;

	*ret = NULL;
	while (patterns && patterns[count])
		if (++count > PC_REDACT_MAX) {
			pc_warn("proccache_opts: more than %d redact patterns",
				PC_REDACT_MAX);
			return -EINVAL;
		}
	if (!count)
		return 0;
	r = calloc(1, sizeof(*r) + count * sizeof(r->pat[0]));
	if (!r)
		return -ENOMEM;
	for (; r->count < count; r->count++) {
		err = compile(patterns[r->count], &r->pat[r->count]);
		if (err) {
			if (err == -EINVAL)
				pc_warn("proccache_opts: redact pattern %zu is "
					"not \"PREFIX*\" or \"NAME *\"",
					r->count);
			pc_redact_free(r);
			return err;
		}
	}
	*ret = r;
	return 0;
}

void pc_redact_free(struct pc_redact *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		free(r->pat[i].text);
	free(r);
}

/* How many bytes of @arg (of @len) to keep, or -1 to keep it all. @secret
 * says the previous argument named this one a secret. */
static long keep_of(const struct pc_redact *r, const char *arg, size_t len,
		    bool secret)
{
	if (secret)
		return 0;
	for (size_t i = 0; i < r->count; i++) {
		const struct pc_pattern *p = &r->pat[i];

		if (!p->next_arg && len > p->len &&
		    !memcmp(arg, p->text, p->len))
			return (long)p->len;
	}
	return -1;
}

static bool names_secret(const struct pc_redact *r, const char *arg, size_t len)
{
	for (size_t i = 0; i < r->count; i++) {
		const struct pc_pattern *p = &r->pat[i];

		if (p->next_arg && len == p->len && !memcmp(arg, p->text, len))
			return true;
	}
	return false;
}

/* Copy @args into @out (when not NULL) with the secrets replaced; returns
 * the length of the result and counts the replaced arguments in *@hits.
 * For an environment (@env) only the "PREFIX*" form applies: no variable
 * names the next one. */
static size_t walk(const struct pc_redact *r, const char *args, size_t len,
		   bool env, char *out, size_t *hits)
{
	const size_t mark = sizeof(PC_REDACTED) - 1;
	size_t o = 0, i = 0;
	bool secret = false;

	*hits = 0;
	while (i < len) {
		const char *end = memchr(args + i, '\0', len - i);
		size_t alen = end ? (size_t)(end - (args + i)) : len - i;
		long keep = keep_of(r, args + i, alen, secret);
		/* An empty secret hides nothing. */
		bool hide = keep >= 0 && (size_t)keep < alen;
		size_t n = hide ? (size_t)keep : alen;

		if (out) {
			memcpy(out + o, args + i, n);
			if (hide)
				memcpy(out + o + n, PC_REDACTED, mark);
		}
		o += n + (hide ? mark : 0);
		if (end) {
			if (out)
				out[o] = '\0';
			o++;
		}
		*hits += hide;
		secret = !env && names_secret(r, args + i, alen);
		i += alen + (end ? 1 : 0);
	}
	return o;
}

static int redact(const struct pc_redact *r, const char *args, size_t len,
		  bool env, char **ret_args, size_t *ret_len)
{
	size_t hits, n = walk(r, args, len, env, NULL, &hits);
	char *out;

	if (!hits)
		return 0;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	walk(r, args, len, env, out, &hits);
	out[n] = '\0';
	*ret_args = out;
	*ret_len = n;
	return 1;
}

int pc_redact_args(const struct pc_redact *r, const char *args, size_t len,
		   char **ret_args, size_t *ret_len)
{
	return redact(r, args, len, false, ret_args, ret_len);
}

int pc_redact_env(const struct pc_redact *r, const char *env, size_t len,
		  char **ret_env, size_t *ret_len)
{
	return redact(r, env, len, true, ret_env, ret_len);
}

int pc_redact_event_env(const struct pc_redact *r, struct proccache_event *ev,
			char **ret_buf)
{
	int ret;

	if (!r || !ev->env_len ||
	    (ev->type != PROCCACHE_EVENT_EXEC &&
	     ev->type != PROCCACHE_EVENT_CLONE))
		return 0;
	ret = pc_redact_env(r, ev->env, ev->env_len, ret_buf, &ev->env_len);
	if (ret > 0) {
		ev->env = *ret_buf;
		ev->flags |= PROCCACHE_F_ENV_REDACTED;
	}
	return ret < 0 ? ret : 0;
}

int pc_redact_event(const struct pc_redact *r, struct proccache_event *ev,
		    char **ret_buf)
{
	int ret;

	if (!r || !ev->args_len ||
	    (ev->type != PROCCACHE_EVENT_EXEC &&
	     ev->type != PROCCACHE_EVENT_CLONE))
		return 0;
	ret = pc_redact_args(r, ev->args, ev->args_len, ret_buf, &ev->args_len);
	if (ret > 0) {
		ev->args = *ret_buf;
		ev->flags |= PROCCACHE_F_ARGS_REDACTED;
	}
	return ret < 0 ? ret : 0;
}

int pc_event_prepare(const struct pc_env *e, const struct pc_redact *r,
		     struct proccache_event *ev, struct pc_event_copies *c)
{
	int err;

	memset(c, 0, sizeof(*c));
	if (!e && !r) {
		/* The common case, without a call: no environment kept,
		 * nothing to redact (as pc_env_event() with no rules). */
		if (ev->type == PROCCACHE_EVENT_EXEC ||
		    ev->type == PROCCACHE_EVENT_CLONE)
			pc_env_drop(ev);
		return 0;
	}
	err = pc_env_event(e, ev, &c->env_kept);
	if (!err)
		err = pc_redact_event_env(r, ev, &c->env_redacted);
	if (!err)
		err = pc_redact_event(r, ev, &c->args_redacted);
	if (err)
		pc_event_copies_free(c);
	return err;
}

void pc_event_copies_free(struct pc_event_copies *c)
{
	if (!c->args_redacted && !c->env_redacted && !c->env_kept)
		return;
	free(c->args_redacted);
	free(c->env_redacted);
	free(c->env_kept);
	memset(c, 0, sizeof(*c));
}
