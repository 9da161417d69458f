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
#include <stdbool.h>
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

/* Where a memo's text is completed per call: at @at, the capability
 * names @str (@len bytes, shared, never freed); or, for @hole, the parent
 * pid member with key @str, as @hole_type, instead of the @skip bytes
 * there. */
struct pc_tag_splice {
	const char *str;
	uint32_t at, len;
	uint16_t skip;
	uint8_t hole, hole_type;
};
#define PC_TAG_SPLICES 4

/* A snapshot's tags, formatted once for the log records that name it
 * (lib/tags_json.c): one malloc'd block, read by any thread, freed with
 * the snapshot. Its bytes are counted in pc_tag_memo_bytes. */
struct pc_tag_memo {
	size_t bytes; /* of the block */
	const struct proccache_users *users;
	uint32_t vocab;
	/* text[0, self_len): the JSON members of the snapshot's own tags,
	 * written as if it had no parent given, with the splices that
	 * complete it. Then parent_len bytes: the tags of the parent it was
	 * given, whose key, start and image (referenced, so that no other
	 * image can take its address) they are valid for. */
	uint32_t self_len, parent_len;
	uint32_t n_splices;
	struct pc_tag_splice splice[PC_TAG_SPLICES];
	uint32_t parent_pid;
	uint64_t parent_ktime, parent_start;
	struct pc_image *parent_image; /* NULL: no parent's tags */
	char text[];
};

/* Bytes of all snapshots' tag memos in this process, and their bound. */
extern _Atomic size_t pc_tag_memo_bytes;
extern _Atomic uint64_t pc_tag_memo_refused; /* memos not made: the bound */
#define PC_TAG_MEMO_MAX (32u << 20)
#define PC_TAG_MEMO_ONE_MAX (16u << 10) /* one snapshot's */

/* Packed to 72 bytes (an 80-byte malloc chunk): the keys are stored
 * without their padding, and the exit time shares its word with the tag
 * memo, which only snapshots that are not EXITED have. */
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
	union {
		uint64_t exit_time; /* EXITED: read with pc_process_exit_time() */
		_Atomic(struct pc_tag_memo *) tag_memo; /* any other state */
	};
	int32_t exit_code;
	int16_t exit_signal;
	uint8_t state;
	struct pc_image *image;
};
_Static_assert(sizeof(struct proccache_process) == 72,
	       "a snapshot is an 80-byte malloc chunk");

/* The exit time; 0 unless EXITED (the word is the tag memo's then). */
static inline uint64_t pc_process_exit_time(const struct proccache_process *p)
{
	return p->state == PROCCACHE_STATE_EXITED ? p->exit_time : 0;
}

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
/* Free a tag memo (NULL: nothing) and uncount its bytes. */
void pc_tag_memo_free(struct pc_tag_memo *m);
/* A copy of @p with one reference and its own image reference. */
struct proccache_process *pc_process_dup(const struct proccache_process *p);

/*
 * Writer-side recycling. The ingest thread makes and frees snapshots and
 * nodes by the hundred thousand a second, mostly in batches (a reclaim, an
 * epoch's retired snapshots) that overflow malloc's per-thread cache. A
 * cache keeps up to PC_RECYCLE_MAX of those freed on a list and takes new
 * ones from there. Only the thread inside that cache's proccache__ingest()
 * touches its list: pc_recycler names it for the call, and a record freed
 * on any other thread (or outside ingest) goes to free().
 * proccache__free() empties it. Compiled out under AddressSanitizer, whose
 * use-after-free checks need every free.
 */
#if defined(__SANITIZE_ADDRESS__)
#define PC_RECYCLE_MAX 0u
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PC_RECYCLE_MAX 0u
#endif
#endif
#ifndef PC_RECYCLE_MAX
#define PC_RECYCLE_MAX 256u
#endif

/* Snapshots and nodes (lib/cache.h) are kept on a list each, at their own
 * sizes (80- and 64-byte malloc chunks): one shared size would add 16 bytes
 * to every cached node. */
enum pc_recycle_kind { PC_RECYCLE_SNAPSHOT, PC_RECYCLE_NODE, PC_RECYCLE_KINDS };

struct pc_recycler {
	void *head[PC_RECYCLE_KINDS]; /* a record's first word links the next */
	uint32_t count[PC_RECYCLE_KINDS];
};

/* The recycler of the cache this thread is ingesting into, or NULL. */
extern __thread struct pc_recycler *pc_recycler
	__attribute__((tls_model("initial-exec")));

static inline void *pc_recycle_take(struct pc_recycler *l,
				    enum pc_recycle_kind k)
{
	void *p = l->head[k];

	if (p) {
		memcpy(&l->head[k], p, sizeof(void *));
		l->count[k]--;
	}
	return p;
}

/* Keep @p (at least pointer-sized) for reuse; false: free it yourself. */
static inline bool pc_recycle_put(struct pc_recycler *l,
				  enum pc_recycle_kind k, void *p)
{
	if (l->count[k] >= PC_RECYCLE_MAX)
		return false;
	memcpy(p, &l->head[k], sizeof(void *));
	l->head[k] = p;
	l->count[k]++;
	return true;
}

/* Free what @r keeps. */
void pc_recycler_drain(struct pc_recycler *r);

#endif
