/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What of an exec's environment a cache keeps (docs/environment.md): the
 * cap (proccache_opts.env_max) and the allow-list of variable names
 * (proccache_opts.env_vars), compiled once at creation and applied by
 * ingest before redaction and before anything is stored. A leaf: it knows
 * nothing of the cache.
 */
#ifndef PROCCACHE_ENV_H
#define PROCCACHE_ENV_H

#include <stddef.h>

#include "proccache/proccache.h"

/* Limits on the allow-list. */
#define PC_ENV_VARS_MAX 64
#define PC_ENV_NAME_MAX 255

struct pc_env;

/* Compile the capture rules into *@ret: NULL when @env_max is 0 (nothing
 * is kept). 0; -EINVAL for a cap above PROCCACHE_ENV_MAX_LIMIT, an empty
 * name, one holding '=' or too many (logged); -ENOMEM. */
int pc_env_new(size_t env_max, const char *const *vars, struct pc_env **ret);
void pc_env_free(struct pc_env *e);

/* Bytes a sensor should read per exec: 0 when @e is NULL. */
size_t pc_env_max(const struct pc_env *e);

/*
 * Apply @e to the environment of @ev (an exec or clone) in place: with no
 * rules the environment is dropped; one longer than the cap is cut there
 * and flagged PROCCACHE_F_ENV_TRUNC; with an allow-list only the variables
 * named stay, copied into *@ret_buf which the caller frees after the event
 * (NULL when no copy was needed). 0 or -ENOMEM.
 */
/* What a cache without environments keeps of an exec's or clone's: none. */
static inline void pc_env_drop(struct proccache_event *ev)
{
	ev->env = NULL;
	ev->env_len = 0;
	ev->flags &= ~(uint32_t)(PROCCACHE_F_ENV_TRUNC | PROCCACHE_F_ENV_REDACTED);
}

int pc_env_event(const struct pc_env *e, struct proccache_event *ev,
		 char **ret_buf);

#endif
