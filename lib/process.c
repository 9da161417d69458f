/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 1;
}

static uint32_t put_str(struct pc_image *img, uint32_t off, const char *s)
{
	size_t n = str_size(s);

	if (s)
		memcpy(img->strs + off, s, n);
	else
		img->strs[off] = '\0';
	return off + (uint32_t)n;
}

/* The event's comm, bounded: "" when the event carries no context. */
static size_t event_comm_len(const struct proccache_event *ev)
{
	return strnlen(ev->comm, sizeof(ev->comm) - 1);
}

struct pc_image *pc_image_new(const struct proccache_event *ev,
			      struct pc_attrs *attrs)
{
	size_t args_len = ev->args ? ev->args_len : 0;
	size_t comm_len = event_comm_len(ev);
	size_t env_len = ev->env ? ev->env_len : 0;
	size_t total = str_size(ev->binary) + args_len + 1 + str_size(ev->cwd) +
		       str_size(ev->container_id) + comm_len + 1 +
		       (attrs && attrs->env_kept ? sizeof(uint32_t) + env_len + 1
						 : 0);
	struct pc_image *img;
	uint32_t off;

	if (!attrs)
		return NULL;
	img = total <= UINT32_MAX ? malloc(PC_IMAGE_SIZE(total)) : NULL;
	if (!img) {
		pc_attrs_unref(attrs);
		return NULL;
	}
	atomic_init(&img->ref, 1);
	img->binary_nlink = ev->binary_nlink;
	img->binary_inode = ev->binary_inode;
	img->attrs = attrs;
	img->pgid = comm_len ? ev->pgid : 0;

	off = put_str(img, 0, ev->binary);
	img->args_off = off;
	img->args_len = (uint32_t)args_len;
	if (args_len)
		memcpy(img->strs + off, ev->args, args_len);
	img->strs[off + args_len] = '\0'; /* a reader may treat it as a C string */
	off += (uint32_t)args_len + 1;
	img->cwd_off = off;
	off = put_str(img, off, ev->cwd);
	img->cid_off = off;
	off = put_str(img, off, ev->container_id);
	memcpy(img->strs + off, ev->comm, comm_len);
	img->strs[off + comm_len] = '\0';
	off += (uint32_t)comm_len + 1;
	if (attrs->env_kept) {
		uint32_t len = (uint32_t)env_len;

		memcpy(img->strs + off, &len, sizeof(len));
		off += sizeof(len);
		if (env_len)
			memcpy(img->strs + off, ev->env, env_len);
		img->strs[off + env_len] = '\0';
	}
	return img;
}

void pc_attrs_unref(struct pc_attrs *a)
{
	/* Never freed here: the writer's sweep frees what nobody holds. */
	if (a)
		atomic_fetch_sub_explicit(&a->ref, 1, memory_order_release);
}

struct pc_image *pc_image_with_facts(const struct pc_image *img,
				     struct pc_attrs *attrs, const char *comm,
				     uint32_t pgid)
{
	size_t comm_size = strlen(comm) + 1;
	uint32_t comm_off = pc_image_comm_off(img);
	const char *env = NULL;
	size_t env_size = 0;
	struct pc_image *copy;

	if (!attrs)
		return NULL;
	/* one cache's attributes all keep environments or none do */
	if (attrs->env_kept != img->attrs->env_kept) {
		pc_attrs_unref(attrs);
		return NULL;
	}
	if (img->attrs->env_kept) {
		/* the block as it is: length, bytes and NUL */
		env = pc_image_env(img, &env_size) - sizeof(uint32_t);
		env_size += sizeof(uint32_t) + 1;
	}
	copy = malloc(PC_IMAGE_SIZE(comm_off + comm_size + env_size));
	if (!copy) {
		pc_attrs_unref(attrs);
		return NULL;
	}
	/* all but the count, which readers keeping tags may be changing */
	memcpy((char *)copy + offsetof(struct pc_image, binary_nlink),
	       (const char *)img + offsetof(struct pc_image, binary_nlink),
	       PC_IMAGE_SIZE(comm_off) - offsetof(struct pc_image, binary_nlink));
	memcpy(copy->strs + comm_off, comm, comm_size);
	if (env_size)
		memcpy(copy->strs + comm_off + comm_size, env, env_size);
	atomic_init(&copy->ref, 1);
	copy->attrs = attrs;
	copy->pgid = pgid;
	return copy;
}

struct pc_image *pc_image_with_attrs(const struct pc_image *img,
				     struct pc_attrs *attrs)
{
	return pc_image_with_facts(img, attrs, pc_image_comm(img), img->pgid);
}

struct pc_image *pc_image_ref(struct pc_image *img)
{
	atomic_fetch_add_explicit(&img->ref, 1, memory_order_relaxed);
	return img;
}

void pc_image_unref(struct pc_image *img)
{
	if (img && atomic_fetch_sub_explicit(&img->ref, 1,
					     memory_order_acq_rel) == 1) {
		pc_attrs_unref(img->attrs);
		free(img);
	}
}

_Atomic size_t pc_tag_memo_bytes;
_Atomic uint64_t pc_tag_memo_refused;

void pc_tag_memo_free(struct pc_tag_memo *m)
{
	if (m) {
		atomic_fetch_sub_explicit(&pc_tag_memo_bytes, m->bytes,
					  memory_order_relaxed);
		pc_image_unref(m->parent_image);
		free(m);
	}
}

__thread struct pc_recycler *pc_recycler
	__attribute__((tls_model("initial-exec")));

void pc_recycler_drain(struct pc_recycler *r)
{
	void *p;

	for (int k = 0; k < PC_RECYCLE_KINDS; k++)
		while ((p = pc_recycle_take(r, k)))
			free(p);
}

/* Raw room for a snapshot: a recycled one when this thread is ingesting. */
static struct proccache_process *snapshot_alloc(void)
{
	struct pc_recycler *r = pc_recycler;
	struct proccache_process *p =
		r ? pc_recycle_take(r, PC_RECYCLE_SNAPSHOT) : NULL;

	return p ? p : malloc(sizeof(*p));
}

struct proccache_process *pc_process_new(struct pc_image *img)
{
	struct proccache_process *p = snapshot_alloc();

	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	atomic_init(&p->ref, 1);
	p->image = img;
	return p;
}

struct proccache_process *pc_process_dup(const struct proccache_process *p)
{
	struct proccache_process *q = snapshot_alloc();

	if (!q)
		return NULL;
	/* Field by field: readers may be changing p->ref right now. */
	*q = (struct proccache_process){
		.ktime = p->ktime, .pid = p->pid, .tid = p->tid,
		.parent_ktime = p->parent_ktime, .parent_pid = p->parent_pid,
		.nspid = p->nspid, .flags = p->flags,
		.start_time = p->start_time,
		.exit_time = pc_process_exit_time(p), /* no tag memo: see there */
		.exit_code = p->exit_code, .exit_signal = p->exit_signal,
		.state = p->state, .image = p->image,
	};
	atomic_init(&q->ref, 1);
	pc_image_ref(q->image);
	return q;
}

PROCCACHE_API struct proccache_process *
proccache_process__ref(struct proccache_process *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->ref, 1, memory_order_relaxed);
	return p;
}

PROCCACHE_API void proccache_process__unref(struct proccache_process *p)
{
	struct pc_recycler *r;

	if (!p || atomic_fetch_sub_explicit(&p->ref, 1,
					    memory_order_acq_rel) != 1)
		return;
	if (p->state != PROCCACHE_STATE_EXITED)
		pc_tag_memo_free(atomic_load_explicit(&p->tag_memo,
						      memory_order_acquire));
	pc_image_unref(p->image);
	r = pc_recycler;
	if (!r || !pc_recycle_put(r, PC_RECYCLE_SNAPSHOT, p))
		free(p);
}

PROCCACHE_API struct proccache_key
proccache_process__key(const struct proccache_process *p)
{
	return pc_process_key(p);
}

PROCCACHE_API struct proccache_key
proccache_process__parent_key(const struct proccache_process *p)
{
	return pc_process_parent_key(p);
}

PROCCACHE_API uint32_t proccache_process__pid(const struct proccache_process *p)
{
	return p->pid;
}

PROCCACHE_API uint32_t proccache_process__tid(const struct proccache_process *p)
{
	return p->tid;
}

PROCCACHE_API uint32_t
proccache_process__nspid(const struct proccache_process *p)
{
	return p->nspid;
}

PROCCACHE_API uint64_t
proccache_process__ktime(const struct proccache_process *p)
{
	return p->ktime;
}

PROCCACHE_API uint64_t
proccache_process__start_time(const struct proccache_process *p)
{
	return p->start_time;
}

PROCCACHE_API int proccache_process__exec_id(const struct proccache_process *p,
					     char *buf, size_t len)
{
	struct proccache_key key;

	if (!p)
		return -EINVAL;
	key = pc_process_key(p);
	return proccache_exec_id_format(p->image->attrs->node_name, &key, buf,
					len);
}

PROCCACHE_API int
proccache_process__parent_exec_id(const struct proccache_process *p, char *buf,
				  size_t len)
{
	struct proccache_key key;

	if (!p)
		return -EINVAL;
	if (p->parent_pid == 0 && p->parent_ktime == 0)
		return -ENOENT;
	key = pc_process_parent_key(p);
	return proccache_exec_id_format(p->image->attrs->node_name, &key, buf,
					len);
}

PROCCACHE_API const char *
proccache_process__binary(const struct proccache_process *p)
{
	return p->image->strs;
}

PROCCACHE_API const char *
proccache_process__args(const struct proccache_process *p, size_t *ret_len)
{
	if (ret_len)
		*ret_len = p->image->args_len;
	return p->image->strs + p->image->args_off;
}

PROCCACHE_API const char *
proccache_process__env(const struct proccache_process *p, size_t *ret_len)
{
	size_t len;
	const char *env = pc_image_env(p->image, &len);

	if (ret_len)
		*ret_len = len;
	return env;
}

PROCCACHE_API const char *
proccache_process__cwd(const struct proccache_process *p)
{
	return p->image->strs + p->image->cwd_off;
}

PROCCACHE_API uint32_t proccache_process__cred(const struct proccache_process *p,
					       enum proccache_cred which)
{
	const struct proccache_creds *c = &p->image->attrs->creds;

	switch (which) {
	case PROCCACHE_CRED_UID: return c->uid;
	case PROCCACHE_CRED_GID: return c->gid;
	case PROCCACHE_CRED_EUID: return c->euid;
	case PROCCACHE_CRED_EGID: return c->egid;
	case PROCCACHE_CRED_SUID: return c->suid;
	case PROCCACHE_CRED_SGID: return c->sgid;
	case PROCCACHE_CRED_FSUID: return c->fsuid;
	case PROCCACHE_CRED_FSGID: return c->fsgid;
	case PROCCACHE_CRED_AUID: return c->auid;
	}
	return UINT32_MAX;
}

PROCCACHE_API uint64_t proccache_process__caps(const struct proccache_process *p,
					       enum proccache_cap_set which)
{
	const struct proccache_caps *c = &p->image->attrs->caps;

	switch (which) {
	case PROCCACHE_CAP_PERMITTED: return c->permitted;
	case PROCCACHE_CAP_EFFECTIVE: return c->effective;
	case PROCCACHE_CAP_INHERITABLE: return c->inheritable;
	}
	return 0;
}

PROCCACHE_API uint32_t proccache_process__ns(const struct proccache_process *p,
					     enum proccache_ns_type which)
{
	const struct proccache_ns *ns = &p->image->attrs->ns;

	switch (which) {
	case PROCCACHE_NS_UTS: return ns->uts;
	case PROCCACHE_NS_IPC: return ns->ipc;
	case PROCCACHE_NS_MNT: return ns->mnt;
	case PROCCACHE_NS_PID: return ns->pid;
	case PROCCACHE_NS_PID_FOR_CHILDREN: return ns->pid_for_children;
	case PROCCACHE_NS_NET: return ns->net;
	case PROCCACHE_NS_TIME: return ns->time;
	case PROCCACHE_NS_TIME_FOR_CHILDREN: return ns->time_for_children;
	case PROCCACHE_NS_CGROUP: return ns->cgroup;
	case PROCCACHE_NS_USER: return ns->user;
	}
	return 0;
}

PROCCACHE_API uint64_t
proccache_process__cgroup_id(const struct proccache_process *p)
{
	return p->image->attrs->cgroup_id;
}

PROCCACHE_API const char *
proccache_process__container_id(const struct proccache_process *p)
{
	return p->image->strs + p->image->cid_off;
}

PROCCACHE_API uint64_t
proccache_process__binary_inode(const struct proccache_process *p)
{
	return p->image->binary_inode;
}

PROCCACHE_API uint32_t
proccache_process__binary_nlink(const struct proccache_process *p)
{
	return p->image->binary_nlink;
}

PROCCACHE_API uint32_t proccache_process__flags(const struct proccache_process *p)
{
	return p->flags;
}

PROCCACHE_API enum proccache_state
proccache_process__state(const struct proccache_process *p)
{
	return (enum proccache_state)p->state;
}

PROCCACHE_API int proccache_process__exit_code(const struct proccache_process *p)
{
	return p->exit_code;
}

PROCCACHE_API int
proccache_process__exit_signal(const struct proccache_process *p)
{
	return p->exit_signal;
}

PROCCACHE_API uint64_t
proccache_process__exit_time(const struct proccache_process *p)
{
	return pc_process_exit_time(p);
}
