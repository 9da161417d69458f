/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public queries that take counted references: by key, exec ID and
 * pid, the ancestor walk and iteration. Any thread, lock-free: each runs
 * inside an epoch section (cache.c's readers).
 */
#include <errno.h>
#include <string.h>

#include "cache.h"
#include "execid.h"

/* Look up with @find inside an epoch section and return a reference. */
static struct proccache_process *
lookup_with(struct proccache *pc, const struct proccache_key *key,
	    bool by_pid)
{
	struct proccache_process *p = NULL;
	struct pc_reader *r = pc_reader_enter(pc);
	struct pc_node *n;

	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	n = by_pid ? pc_find_pid(pc, key->pid) : pc_find_key(pc, key);
	if (n)
		p = pc_node_snapshot_ref(n);
	pc_reader_counted(r, p != NULL);
	pc_reader_exit(r);
	if (!p)
		errno = ENOENT;
	return p;
}

PROCCACHE_API struct proccache_process *
proccache__lookup(struct proccache *pc, const struct proccache_key *key)
{
	if (!pc || !key) {
		errno = EINVAL;
		return NULL;
	}
	return lookup_with(pc, key, false);
}

PROCCACHE_API struct proccache_process *
proccache__lookup_pid(struct proccache *pc, uint32_t pid)
{
	struct proccache_key key = { .pid = pid };

	if (!pc) {
		errno = EINVAL;
		return NULL;
	}
	return lookup_with(pc, &key, true);
}

PROCCACHE_API struct proccache_process *
proccache__lookup_exec_id(struct proccache *pc, const char *exec_id)
{
	struct proccache_key key;
	int err;

	if (!pc || !exec_id) {
		errno = EINVAL;
		return NULL;
	}
	err = pc_exec_id_key_on(exec_id, pc->node_name, &key);
	if (err) {
		errno = -err;
		return NULL;
	}
	return lookup_with(pc, &key, false);
}

static size_t chain_length(struct pc_node *n)
{
	size_t len = 0;

	while ((n = pc_node_linked_parent(n, pc_node_snapshot(n))))
		len++;
	return len;
}

PROCCACHE_API int proccache__ancestors(struct proccache *pc,
				       const struct proccache_key *key,
				       struct proccache_process **ret,
				       size_t max, unsigned int flags)
{
	const struct proccache_process *snap;
	struct pc_reader *r;
	struct pc_node *n;
	size_t count = 0;
	int err = 0;

	if (!pc || !key || (max && !ret) || (flags & ~PROCCACHE_ANCESTORS_FULL))
		return -EINVAL;
	r = pc_reader_enter(pc);
	if (!r)
		return -ENOMEM;
	n = pc_find_key(pc, key);
	pc_reader_counted(r, n != NULL);
	if (!n) {
		err = -ENOENT;
		goto out;
	}
	if (flags & PROCCACHE_ANCESTORS_FULL) {
		size_t len = chain_length(n);

		if (max == 0) {
			err = len > INT32_MAX ? -EOVERFLOW : (int)len;
			goto out;
		}
		if (len > max) {
			err = -ENOSPC;
			goto out;
		}
	}
	/* each step follows the parent the snapshot just taken names */
	snap = pc_node_snapshot(n);
	while (count < max && (n = pc_node_linked_parent(n, snap)))
		snap = ret[count++] = pc_node_snapshot_ref(n);
	err = (int)count;
out:
	pc_reader_exit(r);
	return err;
}

PROCCACHE_API int proccache__iterate(struct proccache *pc, proccache_iter_fn fn,
				     void *userdata)
{
	ck_hs_iterator_t it = CK_HS_ITERATOR_INITIALIZER;
	struct pc_reader *r;
	void *obj;
	int err = 0;

	if (!pc || !fn)
		return -EINVAL;
	r = pc_reader_enter(pc);
	if (!r)
		return -ENOMEM;
	while (ck_hs_next_spmc(&pc->by_key, &it, &obj)) {
		pc_tsan_acquire(obj);
		err = fn(pc_node_snapshot(obj), userdata);
		if (err < 0)
			break;
		err = 0;
	}
	pc_reader_exit(r);
	return err;
}
