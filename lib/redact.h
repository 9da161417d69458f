/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Redaction of secrets in arguments and environment values
 * (docs/redaction.md): the host's patterns
 * are compiled once at creation and applied by ingest to an event's
 * arguments before anything is stored or dispatched. A leaf: it knows
 * nothing of the cache.
 */
#ifndef PROCCACHE_REDACT_H
#define PROCCACHE_REDACT_H

#include <stddef.h>

#include "proccache/proccache.h"

struct pc_env;

/* What replaces a secret. */
#define PC_REDACTED "***"
/* Limits on the patterns one cache takes. */
#define PC_REDACT_MAX 64
#define PC_REDACT_LEN_MAX 255

struct pc_redact;

/* Compile the NULL terminated @patterns (copied) into *@ret (NULL when
 * there is none). 0, -EINVAL for a bad pattern (logged with its index), or
 * -ENOMEM. */
int pc_redact_new(const char *const *patterns, struct pc_redact **ret);
void pc_redact_free(struct pc_redact *r);

/* Apply @r to the NUL separated @args of @len bytes (the last argument may
 * lack its NUL). 0 when nothing matched; 1 with *@ret_args (malloc'd, the
 * caller frees it) and *@ret_len set to the redacted copy; -ENOMEM. */
int pc_redact_args(const struct pc_redact *r, const char *args, size_t len,
		   char **ret_args, size_t *ret_len);

/* The same for an environment (NUL separated "NAME=value" strings): only
 * the "PREFIX*" patterns apply. */
int pc_redact_env(const struct pc_redact *r, const char *env, size_t len,
		  char **ret_env, size_t *ret_len);

/* Redact the environment of @ev as pc_redact_event() its args; a change
 * sets PROCCACHE_F_ENV_REDACTED. */
int pc_redact_event_env(const struct pc_redact *r, struct proccache_event *ev,
			char **ret_buf);

/* Redact the args of @ev (an exec or clone) in place: on a match @ev points
 * to a copy, *@ret_buf, which the caller frees after the event, and carries
 * PROCCACHE_F_ARGS_REDACTED. 0 or -ENOMEM. @r may be NULL (no patterns). */
int pc_redact_event(const struct pc_redact *r, struct proccache_event *ev,
		    char **ret_buf);

/* The copies pc_event_prepare() may make; freed after the event. */
struct pc_event_copies {
	char *env_kept, *env_redacted, *args_redacted;
};

/*
 * Make @ev what the cache may store: its environment as @e keeps it
 * (pc_env_event()), then redacted, and its args redacted. On success the
 * caller frees @c with pc_event_copies_free() after the event; on error
 * (-ENOMEM) nothing is left to free and the event must be refused rather
 * than stored unredacted or beyond what the host asked to keep.
 */
int pc_event_prepare(const struct pc_env *e, const struct pc_redact *r,
		     struct proccache_event *ev, struct pc_event_copies *c);
void pc_event_copies_free(struct pc_event_copies *c);

#endif
