/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The immutable process snapshot and the image it shares with its clones.
 *
 * An image holds what a clone copies from its parent (binary, args, cwd,
 * creds, caps, namespaces, cgroup): a clone takes a reference instead of a
 * copy. A snapshot is never modified after publication except for its
 * reference count; a change of state publishes a new snapshot.
 */
#ifndef PROCCACHE_PROCESS_H
#define PROCCACHE_PROCESS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proccache/proccache.h"

/*
 * The process context (lib/context.c) but for comm and pgid, which the
 * image holds: the session and tty the sensor read and the leaders ingest
 * derived. It is interned with the attributes below, so the processes of
 * one session share it; a clone shares its parent's image and so its
 * context, as a fork copies it.
 */
struct pc_ctx {
	uint32_t sid, tty;
	uint32_t session_pid, entry_pid;
	uint64_t session_ktime, entry_ktime;
	uint8_t entry_type; /* enum proccache_entry_type */
	uint8_t known;      /* the event carried comm, pgid, sid and tty */
	uint8_t pad[6];
};

/*
 * Credentials, capabilities, namespaces and cgroup: the same few sets are
 * shared by most processes of a host, so they are interned by the writer
 * (pc_attrs_get) and referenced. Only the writer takes references or frees
 * them (a sweep of unreferenced ones); any thread may drop a reference.
 */
struct pc_attrs {
	atomic_uint ref;
	/* the cache keeps environments: its images carry an environment
	 * block. The same for all of a cache's attributes, so not hashed. */
	uint32_t env_kept;
	const char *node_name; /* the cache's, for exec IDs; see lifetimes */
	struct proccache_creds creds;
	struct proccache_caps caps;
	struct proccache_ns ns;
	uint64_t cgroup_id;
	/* Inherited labels (lib/labels.c): interned with the rest, so they
	 * cost no byte per process and a clone shares them with its image.
	 * 8 bytes here, without a chunk of their own. */
	uint64_t labels;
	struct pc_ctx ctx; /* the whole struct: 176 bytes, a 192-byte chunk */
};

struct pc_image {
	atomic_uint ref;
	uint32_t binary_nlink;
	uint64_t binary_inode;
	struct pc_attrs *attrs;
	/* strings, NUL terminated, in strs[]: binary at 0, then args, cwd,
	 * container id and comm (no offsets of their own: after the
	 * container id); when the cache keeps environments (attrs->env_kept),
	 * the environment block ends them: its length (4 bytes, unaligned),
	 * its bytes and a NUL. An image costs nothing for environments a
	 * cache does not keep. */
	uint32_t args_off, args_len, cwd_off, cid_off;
	uint32_t pgid; /* process group (context); 0 if unknown */
	char strs[];   /* allocated from here: the 4 bytes after pgid that
			* sizeof() pads with hold strings, not padding */
};

/* Bytes of an image with @strings bytes of strings. */
#define PC_IMAGE_SIZE(strings) (offsetof(struct pc_image, strs) + (strings))

static inline uint32_t pc_image_comm_off(const struct pc_image *img)
{
	return img->cid_off + (uint32_t)strlen(img->strs + img->cid_off) + 1;
}

static inline const char *pc_image_comm(const struct pc_image *img)
{
	return img->strs + pc_image_comm_off(img);
}

/* Offset of the environment block (attrs->env_kept only). */
static inline uint32_t pc_image_env_off(const struct pc_image *img)
{
	uint32_t c = pc_image_comm_off(img);

	return c + (uint32_t)strlen(img->strs + c) + 1;
}

/* The environment, NUL separated, *@ret_len bytes; "" when not kept. */
static inline const char *pc_image_env(const struct pc_image *img,
				       size_t *ret_len)
{
	const char *b;
	uint32_t len;

	if (!img->attrs->env_kept) {
		*ret_len = 0;
		return "";
	}
	b = img->strs + pc_image_env_off(img);
	memcpy(&len, b, sizeof(len));
	*ret_len = len;
	return b + sizeof(len);
}

/* Packed to 72 bytes (an 80-byte malloc chunk): the keys are stored
 * without their padding. */
struct proccache_process {
	uint64_t ktime;
	uint32_t pid;
	uint32_t tid;
	uint64_t parent_ktime;
	uint32_t parent_pid;
	uint32_t nspid;
	atomic_uint ref;
	uint32_t flags;
	uint64_t start_time;
	uint64_t exit_time;
	int32_t exit_code;
	int16_t exit_signal;
	uint8_t state;
	struct pc_image *image;
};

static inline struct proccache_key pc_process_key(const struct proccache_process *p)
{
	return (struct proccache_key){ .pid = p->pid, .ktime = p->ktime };
}

static inline struct proccache_key
pc_process_parent_key(const struct proccache_process *p)
{
	return (struct proccache_key){ .pid = p->parent_pid,
				       .ktime = p->parent_ktime };
}

/* Flags that describe the image and so follow it into clones. */
#define PC_IMAGE_FLAGS                                                         \
	(PROCCACHE_F_ARGS_TRUNCATED | PROCCACHE_F_UNLINKED |                   \
	 PROCCACHE_F_SETUID | PROCCACHE_F_SETGID | PROCCACHE_F_CWD_ERROR |     \
	 PROCCACHE_F_CWD_TRUNCATED | PROCCACHE_F_BINARY_TRUNCATED |          \
	 PROCCACHE_F_ARGS_REDACTED | PROCCACHE_F_ENV_TRUNC |                  \
	 PROCCACHE_F_ENV_REDACTED)

/* A new image from an event's payload (strings copied), taking over the
 * caller's reference on @attrs; NULL on ENOMEM (the reference is dropped). */
struct pc_image *pc_image_new(const struct proccache_event *ev,
			      struct pc_attrs *attrs);
void pc_attrs_unref(struct pc_attrs *a);
/* A copy of @img (strings included) with @attrs instead of its own, taking
 * over the caller's reference on @attrs; NULL on ENOMEM (reference dropped). */
struct pc_image *pc_image_with_attrs(const struct pc_image *img,
				     struct pc_attrs *attrs);
/* A copy of @img with @attrs (the caller's reference, taken over), comm
 * @comm and process group @pgid; NULL on ENOMEM (reference dropped). */
struct pc_image *pc_image_with_facts(const struct pc_image *img,
				     struct pc_attrs *attrs, const char *comm,
				     uint32_t pgid);
struct pc_image *pc_image_ref(struct pc_image *img);
void pc_image_unref(struct pc_image *img);

/* A new snapshot with one reference (the caller's), owning @img's ref. */
struct proccache_process *pc_process_new(struct pc_image *img);
/* A copy of @p with one reference and its own image reference. */
struct proccache_process *pc_process_dup(const struct proccache_process *p);

#endif
