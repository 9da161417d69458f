/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inherited labels (docs/labels.md): a 64-bit set per entry, held in the
 * entry's interned attributes. A clone shares its parent's image and so its
 * labels; an exec takes the labels of the image it replaces minus the
 * cache's exec-clear mask; a child adopted by a late parent takes the
 * parent's labels in. Writer only, except pc_labels_of().
 */
#ifndef PROCCACHE_LABELS_H
#define PROCCACHE_LABELS_H

#include "cache.h"

static inline uint64_t pc_labels_of(const struct proccache_process *p)
{
	return p ? p->image->attrs->labels : 0;
}

/* The labels an exec whose image replaces @from's (or whose forker is
 * @from) starts with. */
static inline uint64_t pc_labels_exec(const struct proccache *pc,
				      const struct proccache_process *from)
{
	return pc_labels_of(from) & ~pc->exec_clear_labels;
}

/* Give @snap, not published yet, the labels @labels (a new image when they
 * differ). 0 or -ENOMEM (@snap unchanged). */
int pc_labels_put(struct proccache *pc, struct proccache_process *snap,
		  uint64_t labels);

/* @snap (not published yet) was adopted by @parent: it takes @parent's
 * labels in, as its clone would have, minus the exec-clear mask if it is an
 * exec's entry. */
void pc_labels_adopt(struct proccache *pc, struct proccache_process *snap,
		     const struct proccache_process *parent);

#endif
