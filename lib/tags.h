/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tag writer's parts: tags.c turns snapshots into tags (the
 * vocabularies), tags_json.c writes them as JSON and keeps each
 * snapshot's formatted tags for the next record that names it.
 */
#ifndef PC_TAGS_H
#define PC_TAGS_H

#include <stdbool.h>

#include "proccache/proccache.h"

/* A tag as pc_tags_emit_all() passes it: with whether its value is known
 * to need no JSON escaping (exec IDs, numbers, dates, capability names),
 * whether it is the parent pid of the process tagged (the one tag of a
 * process that depends on the parent it is given), and which capability
 * set it names, if it does. */
struct tag_out {
	struct proccache_tag tag;
	bool plain;
	bool parent_pid;
	bool caps_set; /* a set of capability names: the set, in caps */
	uint64_t caps;
};

/* Decimal digits of @v at the end of @buf[24]; returns the first. */
char *pc_tags_decimal(int64_t v, char *buf);

/* The vocabulary and user-name cache @opts names; -EINVAL if bad. */
int pc_tags_opts(const struct proccache_tags_opts *opts, uint32_t *ret_vocab,
		 struct proccache_users **ret_users);

/*
 * proccache_tags_emit() with its options read: @fn gets struct tag_out
 * pointers. *@ret_incomplete (if given) tells whether a value was left out
 * or cut that a later call could show: a user name not resolved yet, a
 * value cut for want of memory.
 */
int pc_tags_emit_all(const struct proccache_process *p,
		     const struct proccache_process *parent, uint32_t vocab,
		     struct proccache_users *users, proccache_tag_fn fn,
		     void *userdata, bool *ret_incomplete);

#endif
