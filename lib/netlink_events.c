/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A decided proc connector event, with what /proc said, as an ingest
 * event (netlink_events.h). What the sensor knows goes into the event; the
 * cache is never read here: ingest decides the parent, the image an exec
 * replaces, what a vanished image inherits and the creds left unknown.
 */
#include <linux/cn_proc.h>
#include <string.h>

#include "netlink_events.h"

static void event_init(struct proccache_event *ev, uint32_t type, uint32_t pid)
{
	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = type;
	ev->pid = pid;
}

static int ingest_clone(struct pc_backend *b, const struct pc_nl_item *it)
{
	struct proccache_event ev;

	event_init(&ev, PROCCACHE_EVENT_CLONE, it->e.tgid);
	ev.tid = it->e.pid;
	ev.ktime = it->start_ns;
	/* The forker as it is now (parent.ktime 0): its exec, if any, is in
	 * already. */
	ev.parent.pid = it->e.ptgid;
	ev.flags = PROCCACHE_F_CLONE;
	return pc_backend_ingest(b, &ev);
}

static int ingest_exit(struct pc_backend *b, const struct pc_nl_item *it)
{
	struct proccache_event ev;
	uint32_t code = it->e.exit_code;

	event_init(&ev, PROCCACHE_EVENT_EXIT, it->e.tgid);
	ev.tid = it->e.pid;
	ev.time = it->boot_ts;
	/* exit_code is the wait status; exit_signal is the signal the parent
	 * gets (SIGCHLD), not the one that killed the process. */
	if (code & 0x7f)
		ev.exit_signal = (int32_t)(code & 0x7f);
	else
		ev.exit_code = (int32_t)((code >> 8) & 0xff);
	return pc_backend_ingest(b, &ev);
}

/*
 * An exec: what /proc said when its read describes the image, else only
 * that it happened (PROCCACHE_F_VANISHED, no image; ingest keeps what the
 * process had). Either way the process's start time and its parent as
 * /proc names them (pid and start time) go in when the read got them, and
 * prev stays unknown: with the start time, ingest tells the process's own
 * earlier image from a stranger that held the pid before.
 */
static int ingest_exec(struct pc_backend *b, const struct pc_nl_item *it,
		       enum pc_nl_verdict v)
{
	struct proccache_event ev;

	if (v == PC_NL_IMAGE) {
		ev = it->info.ev;
		ev.flags &= ~(uint32_t)PROCCACHE_F_PROCFS;
		ev.flags |= PROCCACHE_F_EXECVE;
	} else {
		event_init(&ev, PROCCACHE_EVENT_EXEC, it->e.tgid);
		ev.flags = PROCCACHE_F_EXECVE | PROCCACHE_F_VANISHED;
		if (!it->read_err) {
			/* the process's own facts hold; its image was another */
			ev.start_time = it->info.ev.start_time;
			ev.nspid = it->info.ev.nspid;
			ev.parent = it->info.ev.parent;
		}
	}
	if (ev.flags & PROCCACHE_F_VANISHED)
		pc_counter_add(&b->stats.vanished, 1);
	ev.pid = it->e.tgid;
	ev.tid = it->e.pid;
	ev.ktime = it->boot_ts;
	ev.prev = (struct proccache_key){ 0 };
	return pc_backend_ingest(b, &ev);
}

/* Bits of proccache_event.creds_mask. */
#define CRED_BIT(c) (1u << PROCCACHE_CRED_##c)

/*
 * A uid or gid change: the event carries the real and effective ids, which
 * are exact; the rest comes from /proc when it could be read. Without it,
 * the filesystem id follows the effective one (every call that reports the
 * change sets them so) and the others are unknown: ingest keeps the
 * process's.
 */
static int ingest_creds(struct pc_backend *b, const struct pc_nl_item *it)
{
	bool uid = it->e.what == PROC_EVENT_UID;
	struct proccache_event ev;
	struct proccache_creds *c = &ev.creds;

	event_init(&ev, PROCCACHE_EVENT_CREDS, it->e.tgid);
	if (!it->read_err)
		*c = it->info.ev.creds;
	if (uid) {
		c->uid = it->e.id_real;
		c->euid = it->e.id_eff;
		if (it->read_err) {
			c->fsuid = c->euid;
			ev.creds_mask = CRED_BIT(UID) | CRED_BIT(EUID) |
					CRED_BIT(FSUID);
		}
	} else {
		c->gid = it->e.id_real;
		c->egid = it->e.id_eff;
		if (it->read_err) {
			c->fsgid = c->egid;
			ev.creds_mask = CRED_BIT(GID) | CRED_BIT(EGID) |
					CRED_BIT(FSGID);
		}
	}
	return pc_backend_ingest(b, &ev);
}

static int ingest_lost(struct pc_backend *b, const struct pc_nl_item *it)
{
	struct proccache_event ev;

	event_init(&ev, PROCCACHE_EVENT_LOST, 0);
	ev.lost = it->lost;
	return pc_backend_ingest(b, &ev);
}

int pc_nl_ingest_item(struct pc_backend *b, const struct pc_nl_item *it,
		      enum pc_nl_verdict v)
{
	switch (it->kind) {
	case PC_NL_CLONE:
		return ingest_clone(b, it);
	case PC_NL_EXEC:
		return ingest_exec(b, it, v);
	case PC_NL_EXIT:
		return ingest_exit(b, it);
	case PC_NL_CREDS:
		return ingest_creds(b, it);
	default:
		return ingest_lost(b, it);
	}
}
