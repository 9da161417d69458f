/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What an exec keeps of the image it replaces, part of ingest: the groups
 * of fields its sensor did not read (proccache_event.unknown), or all of
 * them when its image vanished before it could be read.
 */
#include <string.h>

#include "cache.h"
#include "context.h"
#include "ingest_fields.h"
#include "labels.h"

void pc_exec_take_fields(struct proccache_event *ev, const struct pc_image *old,
			 uint32_t groups)
{
	const struct pc_attrs *a = old ? old->attrs : NULL;
	struct proccache_creds creds;
	uint32_t auid = ev->creds.auid;

	if (a)
		creds = a->creds;
	else
		memset(&creds, 0xff, sizeof(creds));
	if (groups & PROCCACHE_FIELD_CREDS) {
		ev->creds = creds;
		ev->creds.auid = auid;
		ev->caps = a ? a->caps : (struct proccache_caps){ 0 };
	}
	if (groups & PROCCACHE_FIELD_AUID)
		ev->creds.auid = creds.auid;
	if (groups & PROCCACHE_FIELD_CWD)
		ev->cwd = old ? old->strs + old->cwd_off : NULL;
	if (groups & PROCCACHE_FIELD_NS)
		ev->ns = a ? a->ns : (struct proccache_ns){ 0 };
	if (groups & PROCCACHE_FIELD_CGROUP) {
		ev->cgroup_id = a ? a->cgroup_id : 0;
		ev->container_id = old ? old->strs + old->cid_off : NULL;
	}
}

/* An exec whose image could not be read keeps what survives an exec of the
 * image it replaced: creds, caps, namespaces, cgroup, cwd, container. */
struct pc_image *pc_exec_inherited_image(struct proccache *pc,
					 const struct proccache_event *ev,
					 struct pc_node *prev)
{
	const struct pc_image *old = pc_node_snapshot(prev)->image;
	struct proccache_event merged = *ev;

	pc_exec_take_fields(&merged, old, PROCCACHE_FIELD_ALL);
	pc_ctx_facts_from(&merged, old);
	return pc_image_new(&merged,
			    pc_attrs_get(pc, &merged,
					 pc_labels_exec(pc, pc_node_snapshot(prev)),
					 NULL));
}
