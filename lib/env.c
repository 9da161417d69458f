/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Environment capture rules (docs/environment.md): a byte cap, and an
 * optional allow-list of variable names matched exactly against what
 * precedes the first '=' of each "NAME=value" string.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "log.h"

struct pc_env {
	size_t max;
	size_t count; /* 0: every variable */
	char *names[];
};

void pc_env_free(struct pc_env *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->count; i++)
		free(e->names[i]);
	free(e);
}

static bool name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= PC_ENV_NAME_MAX && !strchr(s, '=');
}

int pc_env_new(size_t env_max, const char *const *vars, struct pc_env **ret)
{
	struct pc_env *e;
	size_t count = 0;

	*ret = NULL;
	if (env_max > PROCCACHE_ENV_MAX_LIMIT) {
		pc_warn("proccache_opts: env_max %zu is above the limit of %u",
			env_max, PROCCACHE_ENV_MAX_LIMIT);
		return -EINVAL;
	}
	for (; vars && vars[count]; count++) {
		if (count == PC_ENV_VARS_MAX) {
			pc_warn("proccache_opts: more than %d env_vars",
				PC_ENV_VARS_MAX);
			return -EINVAL;
		}
		if (!name_valid(vars[count])) {
			pc_warn("proccache_opts: env_vars %zu is not a variable name",
				count);
			return -EINVAL;
		}
	}
	if (!env_max)
		return 0;
	e = calloc(1, sizeof(*e) + count * sizeof(e->names[0]));
	if (!e)
		return -ENOMEM;
	e->max = env_max;
	for (; e->count < count; e->count++) {
		e->names[e->count] = strdup(vars[e->count]);
		if (!e->names[e->count]) {
			pc_env_free(e);
			return -ENOMEM;
		}
	}
	*ret = e;
	return 0;
}

size_t pc_env_max(const struct pc_env *e)
{
	return e ? e->max : 0;
}

static bool allowed(const struct pc_env *e, const char *var, size_t len)
{
	const char *eq = memchr(var, '=', len);
	size_t n = eq ? (size_t)(eq - var) : len;

	for (size_t i = 0; i < e->count; i++)
		if (strlen(e->names[i]) == n && !memcmp(e->names[i], var, n))
			return true;
	return false;
}

/* Copy the allowed variables of @env (@len bytes) to @out; its length. */
static size_t filter(const struct pc_env *e, const char *env, size_t len,
		     char *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		const char *end = memchr(env + i, '\0', len - i);
		size_t vlen = end ? (size_t)(end - (env + i)) : len - i;
		size_t n = vlen + (end ? 1 : 0);

		if (allowed(e, env + i, vlen)) {
			memcpy(out + o, env + i, n);
			o += n;
		}
		i += n;
	}
	return o;
}

int pc_env_event(const struct pc_env *e, struct proccache_event *ev,
		 char **ret_buf)
{
	char *out;

	*ret_buf = NULL;
	if (ev->type != PROCCACHE_EVENT_EXEC && ev->type != PROCCACHE_EVENT_CLONE)
		return 0;
	if (!e || !ev->env_len) {
		pc_env_drop(ev);
		return 0;
	}
	if (ev->env_len > e->max) {
		ev->env_len = e->max;
		ev->flags |= PROCCACHE_F_ENV_TRUNC;
	}
	if (!e->count)
		return 0;
	out = malloc(ev->env_len);
	if (!out)
		return -ENOMEM;
	ev->env_len = filter(e, ev->env, ev->env_len, out);
	ev->env = out;
	*ret_buf = out;
	return 0;
}
