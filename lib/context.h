/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The process context (docs/process-model.md, "Sessions and entry
 * leaders"): the sensors put the facts into the event (comm, pgid, sid,
 * tty, nspid); ingest derives the session leader and the entry leader here,
 * from the entry's own facts and its parent's context. Writer only; the
 * accessors read the immutable image from any thread.
 */
#ifndef PROCCACHE_CONTEXT_H
#define PROCCACHE_CONTEXT_H

#include "cache.h"

/* A new exec entry @snap (parent key set, image owned by the caller
 * alone): derive its leaders in place. @parent is its lineage parent node
 * (the image it replaces for a re-exec), NULL when unknown. 0 or -ENOMEM
 * (@snap unchanged). */
int pc_ctx_exec(struct proccache *pc, struct proccache_process *snap,
		 struct pc_node *parent);

/* A new clone entry @snap: with @parent it shares the parent's image, and
 * gets one of its own only if it starts an entry (a new pid namespace's
 * init); without, its image is its own and is filled in place.
 * 0 or -ENOMEM (@snap unchanged). */
int pc_ctx_clone(struct proccache *pc, struct proccache_process *snap,
		 struct pc_node *parent);

/* @snap, an unpublished copy of an entry that waited for its parent, has
 * just been linked to @parent: derive again what the missing parent left
 * unknown (a clone without facts takes its parent's). A failed allocation
 * leaves the context as it was (logged). */
void pc_ctx_adopt(struct proccache *pc, struct proccache_process *snap,
		  struct pc_node *parent);

/* The context an exec with event @ev and lineage parent @parent most
 * likely ends with: its facts and the parent's leaders. Interned with the
 * image, it spares pc_ctx_exec() a second interning when the exec starts
 * nothing of its own (most execs). */
void pc_ctx_guess(struct pc_ctx *ret, const struct proccache_event *ev,
		  struct pc_node *parent);

/* An exec without context facts whose image could not be read takes the
 * facts of the image it replaces. */
void pc_ctx_facts_from(struct proccache_event *ev, const struct pc_image *old);

#endif
