/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session and entry leaders (docs/process-model.md). The rules, in order,
 * for an entry E with facts (comm, pgid, sid, tty) and parent P:
 *
 *  session leader: E itself when sid == pid; else P's session leader when
 *  P is in the same session; else the live entry of pid == sid if it is in
 *  that session; unknown otherwise. Without facts: P's.
 *
 *  entry leader: E itself, typed, when E is pid 1 (init), kthreadd (pid 2;
 *  its children are kernel threads led by it), the init of a pid namespace
 *  (nspid 1: container), or a session leader forked by sshd (sshd),
 *  ssm-session-worker (ssm) or holding a tty (terminal; console for a
 *  virtual console or serial line). A re-exec of a leader stays the
 *  leader. Otherwise P's entry leader; unknown without P (derived again
 *  when P arrives and adopts E).
 *
 * Storage: comm and pgid in the image; sid, tty and the leaders in the
 * interned struct pc_attrs (a changed context interns another set).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "log.h"

/* Pids with a fixed role in the initial pid namespace. */
#define INIT_PID 1u
#define KTHREADD_PID 2u

static const struct pc_ctx *ctx_of(struct pc_node *n)
{
	return n ? &pc_node_snapshot(n)->image->attrs->ctx : NULL;
}

static const char *comm_of(struct pc_node *n)
{
	return pc_image_comm(pc_node_snapshot(n)->image);
}

static void set_session(struct pc_ctx *c, struct proccache_key k)
{
	c->session_pid = k.pid;
	c->session_ktime = k.ktime;
}

static void set_entry(struct pc_ctx *c, struct proccache_key k, uint8_t type)
{
	c->entry_pid = k.pid;
	c->entry_ktime = k.ktime;
	c->entry_type = type;
}

static void copy_entry(struct pc_ctx *c, const struct pc_ctx *from)
{
	c->entry_pid = from->entry_pid;
	c->entry_ktime = from->entry_ktime;
	c->entry_type = from->entry_type;
}

/* The nearest ancestor of another process: a re-exec's lineage parent is
 * the image it replaced. */
static struct pc_node *forker_of(struct pc_node *n, uint32_t pid)
{
	while (n && n->key.pid == pid)
		n = pc_node_parent(n);
	return n;
}

static bool is_console(uint32_t tty)
{
	uint32_t major = PROCCACHE_TTY_MAJOR(tty), minor = PROCCACHE_TTY_MINOR(tty);

	/* tty1..63 and ttyS* (major 4), /dev/console (5:1), ARM serial
	 * ttyAMA (204) and hvc (229). */
	return major == 4 || (major == 5 && minor == 1) || major == 204 ||
	       major == 229;
}

/* The type of entry a session leader with facts @c forked by @forker
 * starts; UNKNOWN when it starts none. */
static uint8_t session_entry_type(const struct pc_ctx *c, struct pc_node *forker)
{
	const char *f = forker ? comm_of(forker) : "";

	if (!strcmp(f, "sshd") || !strcmp(f, "sshd-session"))
		return PROCCACHE_ENTRY_SSHD;
	if (!strcmp(f, "ssm-session-worker"))
		return PROCCACHE_ENTRY_SSM;
	if (!c->tty)
		return PROCCACHE_ENTRY_UNKNOWN;
	return is_console(c->tty) ? PROCCACHE_ENTRY_CONSOLE
				  : PROCCACHE_ENTRY_TERMINAL;
}

static void derive_session(struct proccache *pc, struct pc_ctx *c,
			   const struct proccache_process *self,
			   const struct pc_ctx *pctx)
{
	struct pc_node *n;

	set_session(c, (struct proccache_key){ 0 });
	if (!c->known) {
		if (pctx && pctx->session_pid == self->pid)
			set_session(c, pc_process_key(self)); /* a leader re-exec'd */
		else if (pctx)
			set_session(c, (struct proccache_key){
					       .pid = pctx->session_pid,
					       .ktime = pctx->session_ktime });
		return;
	}
	if (c->sid == self->pid) {
		set_session(c, pc_process_key(self));
	} else if (pctx && pctx->known && pctx->sid == c->sid) {
		set_session(c, (struct proccache_key){
				       .pid = pctx->session_pid,
				       .ktime = pctx->session_ktime });
	} else if (c->sid && (n = pc_find_pid(pc, c->sid)) &&
		   ctx_of(n)->known && ctx_of(n)->sid == c->sid) {
		set_session(c, n->key);
	}
}

static void derive_entry(struct pc_ctx *c, const struct proccache_process *self,
			 struct pc_node *parent)
{
	const struct pc_ctx *pctx = ctx_of(parent);
	struct proccache_key me = pc_process_key(self);
	uint8_t type;

	set_entry(c, (struct proccache_key){ 0 }, PROCCACHE_ENTRY_UNKNOWN);
	if (self->pid == INIT_PID) {
		set_entry(c, me, PROCCACHE_ENTRY_INIT);
	} else if (self->pid == KTHREADD_PID) {
		set_entry(c, me, PROCCACHE_ENTRY_KTHREAD);
	} else if (self->parent_pid == KTHREADD_PID) {
		set_entry(c, (struct proccache_key){ .pid = KTHREADD_PID,
						     .ktime = self->parent_ktime },
			  PROCCACHE_ENTRY_KTHREAD);
	} else if (self->nspid == 1) {
		set_entry(c, me, PROCCACHE_ENTRY_CONTAINER);
	} else if (c->known && c->sid == self->pid &&
		   (type = session_entry_type(c, forker_of(parent, self->pid)))) {
		set_entry(c, me, type);
	} else if (pctx && parent->key.pid == self->pid &&
		   pctx->entry_pid == self->pid) {
		set_entry(c, me, pctx->entry_type); /* a leader re-exec'd */
	} else if (pctx) {
		copy_entry(c, pctx);
	}
}

static void derive(struct proccache *pc, struct pc_ctx *c,
		   const struct proccache_process *self, struct pc_node *parent)
{
	derive_session(pc, c, self, ctx_of(parent));
	derive_entry(c, self, parent);
}

void pc_ctx_guess(struct pc_ctx *ret, const struct proccache_event *ev,
		  struct pc_node *parent)
{
	const struct pc_ctx *pctx = ctx_of(parent);

	memset(ret, 0, sizeof(*ret));
	if (pctx) {
		ret->session_pid = pctx->session_pid;
		ret->session_ktime = pctx->session_ktime;
		copy_entry(ret, pctx);
	}
	if (ev->comm[0]) {
		ret->known = 1;
		ret->sid = ev->sid;
		ret->tty = ev->tty;
	}
}

/*
 * Give @snap the context @c, unless it has it: interned attributes with
 * @c, put in place when @snap's image is its own and unpublished
 * (@owned), else in a copy of the image. 0 or -ENOMEM (@snap unchanged).
 */
static int put_ctx(struct proccache *pc, struct proccache_process *snap,
		   const struct pc_ctx *c, bool owned)
{
	struct pc_image *img = snap->image;
	struct pc_attrs *a;

	if (!memcmp(c, &img->attrs->ctx, sizeof(*c)))
		return 0;
	a = pc_attrs_with_ctx(pc, img->attrs, c);
	if (!a)
		return -ENOMEM;
	if (owned) {
		pc_attrs_unref(img->attrs);
		img->attrs = a;
		return 0;
	}
	img = pc_image_with_attrs(img, a);
	if (!img)
		return -ENOMEM;
	pc_image_unref(snap->image);
	snap->image = img;
	return 0;
}

int pc_ctx_exec(struct proccache *pc, struct proccache_process *snap,
		struct pc_node *parent)
{
	struct pc_ctx c = snap->image->attrs->ctx;

	derive(pc, &c, snap, parent);
	return put_ctx(pc, snap, &c, true);
}

int pc_ctx_clone(struct proccache *pc, struct proccache_process *snap,
		 struct pc_node *parent)
{
	struct pc_ctx c = snap->image->attrs->ctx; /* the parent's, if any */

	derive(pc, &c, snap, parent);
	return put_ctx(pc, snap, &c, !parent);
}

/* A clone that carried no facts takes its parent's, as its fork did. */
static int take_parent_facts(struct proccache *pc,
			     struct proccache_process *snap,
			     struct pc_node *parent)
{
	const struct pc_image *pimg = pc_node_snapshot(parent)->image;
	struct pc_ctx c = snap->image->attrs->ctx;
	struct pc_image *img;

	c.known = 1;
	c.sid = pimg->attrs->ctx.sid;
	c.tty = pimg->attrs->ctx.tty;
	img = pc_image_with_facts(snap->image,
				  pc_attrs_with_ctx(pc, snap->image->attrs, &c),
				  pc_image_comm(pimg), pimg->pgid);
	if (!img)
		return -ENOMEM;
	pc_image_unref(snap->image);
	snap->image = img;
	return 0;
}

void pc_ctx_adopt(struct proccache *pc, struct proccache_process *snap,
		  struct pc_node *parent)
{
	struct pc_ctx c;
	int err = 0;

	if ((snap->flags & PROCCACHE_F_CLONE) && !snap->image->attrs->ctx.known &&
	    ctx_of(parent)->known)
		err = take_parent_facts(pc, snap, parent);
	if (!err) {
		c = snap->image->attrs->ctx;
		derive(pc, &c, snap, parent);
		err = put_ctx(pc, snap, &c, false);
	}
	if (err)
		pc_warn("context: no memory to give adopted pid %u its leaders",
			snap->pid);
}

void pc_ctx_facts_from(struct proccache_event *ev, const struct pc_image *old)
{
	const char *comm = pc_image_comm(old);

	if (ev->comm[0] || !old->attrs->ctx.known)
		return;
	memcpy(ev->comm, comm, strnlen(comm, sizeof(ev->comm) - 1));
	ev->pgid = old->pgid;
	ev->sid = old->attrs->ctx.sid;
	ev->tty = old->attrs->ctx.tty;
}

/* ---- accessors: any thread ---------------------------------------------- */

PROCCACHE_API const char *proccache_process__comm(const struct proccache_process *p)
{
	return p ? pc_image_comm(p->image) : "";
}

PROCCACHE_API uint32_t proccache_process__pgid(const struct proccache_process *p)
{
	return p ? p->image->pgid : 0;
}

PROCCACHE_API uint32_t proccache_process__sid(const struct proccache_process *p)
{
	return p ? p->image->attrs->ctx.sid : 0;
}

PROCCACHE_API uint32_t proccache_process__tty(const struct proccache_process *p)
{
	return p ? p->image->attrs->ctx.tty : 0;
}

PROCCACHE_API struct proccache_key
proccache_process__session_leader(const struct proccache_process *p)
{
	if (!p)
		return (struct proccache_key){ 0 };
	return (struct proccache_key){ .pid = p->image->attrs->ctx.session_pid,
				       .ktime = p->image->attrs->ctx.session_ktime };
}

PROCCACHE_API struct proccache_key
proccache_process__entry_leader(const struct proccache_process *p)
{
	if (!p)
		return (struct proccache_key){ 0 };
	return (struct proccache_key){ .pid = p->image->attrs->ctx.entry_pid,
				       .ktime = p->image->attrs->ctx.entry_ktime };
}

PROCCACHE_API enum proccache_entry_type
proccache_process__entry_type(const struct proccache_process *p)
{
	return p ? (enum proccache_entry_type)p->image->attrs->ctx.entry_type
		 : PROCCACHE_ENTRY_UNKNOWN;
}

PROCCACHE_API const char *proccache_entry_type_name(enum proccache_entry_type t)
{
	static const char *const names[] = {
		[PROCCACHE_ENTRY_UNKNOWN] = "unknown",
		[PROCCACHE_ENTRY_INIT] = "init",
		[PROCCACHE_ENTRY_KTHREAD] = "kthread",
		[PROCCACHE_ENTRY_SSHD] = "sshd",
		[PROCCACHE_ENTRY_SSM] = "ssm",
		[PROCCACHE_ENTRY_CONTAINER] = "container",
		[PROCCACHE_ENTRY_TERMINAL] = "terminal",
		[PROCCACHE_ENTRY_CONSOLE] = "console",
	};

	if ((unsigned int)t >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[t];
}

PROCCACHE_API int proccache_tty_name(uint32_t tty, char *buf, size_t len)
{
	uint32_t major = PROCCACHE_TTY_MAJOR(tty), minor = PROCCACHE_TTY_MINOR(tty);

	if (!tty || (!buf && len))
		return -EINVAL;
	/* Unix98 pseudo terminals: majors 136..143, 256 minors each. */
	if (major >= 136 && major <= 143)
		return snprintf(buf, len, "pts/%u", (major - 136) * 256 + minor);
	if (major == 4 && minor < 64)
		return snprintf(buf, len, "tty%u", minor);
	if (major == 4)
		return snprintf(buf, len, "ttyS%u", minor - 64);
	if (major == 5 && minor == 0)
		return snprintf(buf, len, "tty");
	if (major == 5 && minor == 1)
		return snprintf(buf, len, "console");
	return snprintf(buf, len, "%u:%u", major, minor);
}
