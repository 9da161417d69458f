/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Borrowed reads: the caller's function runs on a node's current snapshot
 * (and its parent's) inside the reader's epoch section, with no reference
 * taken. What a reference costs (two full-barrier atomics on a shared line)
 * is what a log collector tagging every record cannot pay; the epoch
 * section alone keeps the snapshots alive for the call.
 */
#include <errno.h>
#include <string.h>

#include "cache.h"
#include "execid.h"

/* The snapshot of @n's parent process, or NULL: the nearest ancestor of
 * another pid. An exec without a fork makes the previous image of the same
 * process the parent entry; a log record's "parent" is the process that
 * started it. */
static const struct proccache_process *
parent_snapshot(struct pc_node *n, const struct proccache_process *s)
{
	struct pc_node *parent = pc_node_linked_parent(n, s);
	const struct proccache_process *ps = NULL;

	while (parent) {
		ps = pc_node_snapshot(parent);
		if (parent->key.pid != n->key.pid)
			return ps;
		parent = pc_node_linked_parent(parent, ps);
	}
	return NULL;
}

/* Find a node with @find inside an epoch section and run @fn on it. */
enum find_by { BY_KEY, BY_PID_AT };

static int with_node(struct proccache *pc, enum find_by by,
		     const struct proccache_key *key, uint64_t at,
		     proccache_borrow_fn fn, void *userdata)
{
	struct pc_reader *r = pc_reader_enter(pc);
	const struct proccache_process *s;
	struct pc_node *n;
	int ret = -ENOENT;

	if (!r)
		return -ENOMEM;
	n = by == BY_KEY ? pc_find_key(pc, key)
			 : pc_find_pid_at(pc, key->pid, at);
	pc_reader_counted(r, n != NULL);
	if (n) {
		s = pc_node_snapshot(n); /* before its parent: see there */
		ret = fn(s, parent_snapshot(n, s), userdata);
	}
	pc_reader_exit(r);
	return ret;
}

PROCCACHE_API int proccache__with_pid(struct proccache *pc, uint32_t pid,
				      uint64_t at_ns, proccache_borrow_fn fn,
				      void *userdata)
{
	struct proccache_key key = { .pid = pid };

	if (!pc || !fn)
		return -EINVAL;
	return with_node(pc, BY_PID_AT, &key, at_ns, fn, userdata);
}

PROCCACHE_API int proccache__with_key(struct proccache *pc,
				      const struct proccache_key *key,
				      proccache_borrow_fn fn, void *userdata)
{
	if (!pc || !key || !fn)
		return -EINVAL;
	return with_node(pc, BY_KEY, key, 0, fn, userdata);
}

PROCCACHE_API int proccache__with_exec_id(struct proccache *pc,
					  const char *exec_id,
					  proccache_borrow_fn fn,
					  void *userdata)
{
	struct proccache_key key;
	int err;

	if (!pc || !exec_id || !fn)
		return -EINVAL;
	err = pc_exec_id_key_on(exec_id, pc->node_name, &key);
	if (err)
		return err;
	return with_node(pc, BY_KEY, &key, 0, fn, userdata);
}

PROCCACHE_API int proccache__with_ancestors(struct proccache *pc,
					    const struct proccache_key *key,
					    proccache_ancestor_fn fn,
					    void *userdata)
{
	const struct proccache_process *s = NULL;
	struct pc_reader *r;
	struct pc_node *n;
	unsigned int depth = 0;
	int ret = 0;

	if (!pc || !key || !fn)
		return -EINVAL;
	r = pc_reader_enter(pc);
	if (!r)
		return -ENOMEM;
	n = pc_find_key(pc, key);
	pc_reader_counted(r, n != NULL);
	if (n)
		s = pc_node_snapshot(n);
	else
		ret = -ENOENT;
	/* each step follows the parent the snapshot just given names */
	while (n && !ret && (n = pc_node_linked_parent(n, s))) {
		s = pc_node_snapshot(n);
		ret = fn(s, ++depth, userdata);
	}
	pc_reader_exit(r);
	return ret;
}
