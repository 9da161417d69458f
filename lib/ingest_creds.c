/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Credential changes of live processes (PROCCACHE_EVENT_CREDS), part of
 * ingest: the single writer.
 */
#include <errno.h>
#include <string.h>

#include "cache.h"
#include "ingest_creds.h"
#include "labels.h"

/* The creds of @old with the ones @ev knows (its creds_mask) put in. */
static struct proccache_creds merged_creds(const struct proccache_creds *old,
					   const struct proccache_event *ev)
{
	struct proccache_creds c = *old;
	const uint32_t *from = (const uint32_t *)&ev->creds;
	uint32_t *to = (uint32_t *)&c;

	for (unsigned int i = 0; i <= PROCCACHE_CRED_AUID; i++)
		if (!ev->creds_mask || (ev->creds_mask & (1u << i)))
			to[i] = from[i];
	return c;
}

/*
 * A live process changed credentials (setuid(2) and friends, seen by the
 * netlink sensor): its snapshot is replaced by one whose image differs only
 * in the creds. Caps, namespaces and cgroup stay as they were.
 */
int pc_ingest_creds(struct proccache *pc, const struct proccache_event *ev)
{
	struct proccache_key key = { .pid = ev->pid, .ktime = ev->ktime };
	struct pc_node *n = ev->ktime ? pc_find_key(pc, &key)
				      : pc_find_pid(pc, ev->pid);
	struct proccache_process *old, *snap;
	struct proccache_event merged;
	struct pc_image *img;

	pc_stat_inc(pc, events_creds);
	if (!n || !n->live) {
		pc_stat_inc(pc, exit_unknown);
		return PROCCACHE_INGEST_IGNORED;
	}
	old = pc_node_snapshot(n);
	memset(&merged, 0, sizeof(merged));
	merged.creds = merged_creds(&old->image->attrs->creds, ev);
	if (!memcmp(&old->image->attrs->creds, &merged.creds,
		    sizeof(merged.creds))) {
		pc_stat_inc(pc, duplicates);
		return PROCCACHE_INGEST_DUPLICATE;
	}
	merged.caps = old->image->attrs->caps;
	merged.ns = old->image->attrs->ns;
	merged.cgroup_id = old->image->attrs->cgroup_id;
	img = pc_image_with_attrs(old->image,
				  pc_attrs_get(pc, &merged, pc_labels_of(old),
					       &old->image->attrs->ctx));
	if (!img)
		return -ENOMEM;
	snap = pc_process_dup(old);
	if (!snap) {
		pc_image_unref(img);
		return -ENOMEM;
	}
	pc_image_unref(snap->image);
	snap->image = img;
	pc_node_publish(pc, n, snap);
	return pc_dispatch(pc, ev, snap, pc_node_parent_snapshot(n));
}
