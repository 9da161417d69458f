/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inherited labels (docs/labels.md). They live in struct pc_attrs, which is
 * interned: a label set costs no byte per process, a clone shares it with
 * its image, and a reader reaches it through two immutable pointers.
 * Changing an entry's labels publishes a new snapshot with a new image,
 * like any other change.
 */
#include <errno.h>

#include "labels.h"
#include "log.h"

int pc_labels_put(struct proccache *pc, struct proccache_process *snap,
		  uint64_t labels)
{
	const struct pc_attrs *a = snap->image->attrs;
	struct proccache_event ev = {
		.creds = a->creds,
		.caps = a->caps,
		.ns = a->ns,
		.cgroup_id = a->cgroup_id,
	};
	struct pc_image *img;

	if (labels == a->labels)
		return 0;
	img = pc_image_with_attrs(snap->image, pc_attrs_get(pc, &ev, labels, &a->ctx));
	if (!img)
		return -ENOMEM;
	pc_image_unref(snap->image);
	snap->image = img;
	return 0;
}

void pc_labels_adopt(struct proccache *pc, struct proccache_process *snap,
		     const struct proccache_process *parent)
{
	uint64_t from = snap->flags & PROCCACHE_F_CLONE
				? pc_labels_of(parent)
				: pc_labels_exec(pc, parent);

	if (pc_labels_put(pc, snap, pc_labels_of(snap) | from))
		pc_warn("labels: no memory to pass labels to adopted pid %u",
			snap->pid);
}

PROCCACHE_API int proccache__set_labels(struct proccache *pc,
					const struct proccache_key *key,
					uint64_t set_mask, uint64_t clear_mask)
{
	struct proccache_process *old, *snap;
	struct pc_node *n;
	int err;

	if (!pc || !key || !key->pid || key->pad)
		return -EINVAL;
	n = key->ktime ? pc_find_key(pc, key) : pc_find_pid(pc, key->pid);
	if (!n)
		return -ENOENT;
	old = pc_node_snapshot(n);
	if (((pc_labels_of(old) & ~clear_mask) | set_mask) == pc_labels_of(old))
		return 0;
	snap = pc_process_dup(old);
	if (!snap)
		return -ENOMEM;
	err = pc_labels_put(pc, snap,
			    (pc_labels_of(old) & ~clear_mask) | set_mask);
	if (err) {
		proccache_process__unref(snap);
		return err;
	}
	pc_node_publish(pc, n, snap);
	return 0;
}

PROCCACHE_API uint64_t
proccache_process__labels(const struct proccache_process *p)
{
	return pc_labels_of(p);
}
