/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The settle FIFO of the netlink sensor (netlink_settle.h). The rules and
 * why they hold: docs/sensor-netlink.md, "Args never go to the wrong
 * image". Pure: the caller passes the time.
 */
#include <stdlib.h>

#include "netlink_settle.h"

struct pc_nl_item *pc_nl_item_new(enum pc_nl_kind kind)
{
	struct pc_nl_item *it = calloc(1, sizeof(*it));

	if (it)
		it->kind = kind;
	return it;
}

void pc_nl_item_free(struct pc_nl_item *it)
{
	if (!it)
		return;
	pc_proc_info_release(&it->info);
	free(it);
}

/*
 * The latest queued exec of @pid, unless the pid was born again since (a
 * queued fork of it): then a later exec is another process's. An exit
 * does not end the search: an exec from a thread other than the main one
 * reports the main thread's exit first.
 */
static struct pc_nl_item *queued_exec(struct pc_nl_fifo *q, uint32_t pid)
{
	struct pc_nl_item *it, *found = NULL;

	for (it = q->head; it; it = it->next) {
		if (it->e.tgid != pid)
			continue;
		if (it->kind == PC_NL_EXEC)
			found = it;
		else if (it->kind == PC_NL_CLONE)
			found = NULL;
	}
	return found;
}

void pc_nl_fifo_push(struct pc_nl_fifo *q, struct pc_nl_item *it)
{
	struct pc_nl_item *earlier;

	if (it->kind == PC_NL_EXEC) {
		earlier = queued_exec(q, it->e.tgid);
		if (earlier)
			earlier->later_exec = it;
	}
	it->next = NULL;
	it->seqno = q->next_seqno++;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
}

void pc_nl_fifo_seen(struct pc_nl_fifo *q, uint64_t t)
{
	if (t > q->seen_until)
		q->seen_until = t;
}

static struct pc_nl_item *pop(struct pc_nl_fifo *q)
{
	struct pc_nl_item *it = q->head;

	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	it->next = NULL;
	return it;
}

void pc_nl_fifo_clear(struct pc_nl_fifo *q)
{
	while (q->head)
		pc_nl_item_free(pop(q));
}

/*
 * Is this main-thread exit followed by an exec of the same process? Then
 * the main thread died because another thread exec'd (de_thread() kills
 * it and gives its pid to the exec'ing thread): the process lives on.
 */
static bool exit_for_exec(const struct pc_nl_item *x)
{
	const struct pc_nl_item *it;

	for (it = x->next; it; it = it->next) {
		if (it->e.tgid != x->e.tgid)
			continue;
		if (it->kind == PC_NL_EXEC)
			return true;
		if (it->kind == PC_NL_CLONE)
			return false;
	}
	return false;
}

/* A read that saw a whole image: not of a process already exiting. */
static bool read_whole(const struct pc_nl_item *it)
{
	return !it->read_err && !(it->info.ev.flags & PROCCACHE_F_VANISHED);
}

/*
 * Does @x's /proc read describe @x's image? The kernel reports an exec a
 * little after installing the image, so a read may already show the next
 * one. With Y the next exec of the process and W the settle time:
 *  - no Y, and everything sent until W after the read received: yes
 *    (Y's image came after the read);
 *  - Y reported before the read began: no;
 *  - Y's read shows the same image: no (ours was Y's, or Y's own cannot
 *    be told from it);
 *  - Y reported W or more after the read ended: yes;
 *  - otherwise the read is one of x's or Y's images: yes if Y's read is
 *    Y's image (asked the same way).
 * A comparison that cannot be made (Y exited before its read was whole)
 * answers no. @ret_wake: when to ask again.
 */
static enum pc_nl_verdict decide(const struct pc_nl_item *x, uint64_t seen_until,
				 bool force, uint64_t *ret_wake)
{
	const struct pc_nl_item *y;

	for (;; x = y) {
		if (x->read_err || x->overtaken)
			return PC_NL_NO_IMAGE;
		y = x->later_exec;
		if (!y) {
			if (force || seen_until >= x->read_end + PC_NL_SETTLE_NS)
				return PC_NL_IMAGE;
			*ret_wake = x->read_end + PC_NL_SETTLE_NS;
			return PC_NL_WAIT;
		}
		if (y->e.ts < x->read_start)
			return PC_NL_NO_IMAGE;
		if (read_whole(y) && pc_proc_info_same_image(&x->info, &y->info))
			return PC_NL_NO_IMAGE;
		if (y->e.ts >= x->read_end + PC_NL_SETTLE_NS)
			return PC_NL_IMAGE;
		if (!read_whole(y))
			return PC_NL_NO_IMAGE;
	}
}

/* A chain of re-execs may not hold everything else back for long. */
static enum pc_nl_verdict decide_head(const struct pc_nl_fifo *q,
				      const struct pc_nl_item *x, uint64_t now,
				      bool force, uint64_t *ret_wake)
{
	enum pc_nl_verdict v = decide(x, q->seen_until, force, ret_wake);

	if (v == PC_NL_WAIT && now >= x->read_end + PC_NL_HOLD_MAX_NS)
		return PC_NL_NO_IMAGE;
	if (v == PC_NL_WAIT && *ret_wake > x->read_end + PC_NL_HOLD_MAX_NS)
		*ret_wake = x->read_end + PC_NL_HOLD_MAX_NS;
	return v;
}

struct pc_nl_item *pc_nl_fifo_next(struct pc_nl_fifo *q, uint64_t now,
				   bool force, uint64_t upto,
				   enum pc_nl_verdict *ret_verdict,
				   uint64_t *ret_wake)
{
	struct pc_nl_item *it;

	*ret_wake = 0;
	while ((it = q->head) && it->seqno <= upto) {
		*ret_verdict = PC_NL_IMAGE;
		if (it->kind == PC_NL_EXEC) {
			*ret_verdict = decide_head(q, it, now, force, ret_wake);
			if (*ret_verdict == PC_NL_WAIT)
				return NULL;
		} else if (it->kind == PC_NL_EXIT) {
			/* the exec it may precede is reported a little later */
			if (!force && q->seen_until < it->e.ts + PC_NL_SETTLE_NS &&
			    now < it->e.ts + PC_NL_HOLD_MAX_NS) {
				*ret_wake = it->e.ts + PC_NL_SETTLE_NS;
				return NULL;
			}
			if (exit_for_exec(it)) {
				pc_nl_item_free(pop(q));
				continue;
			}
		}
		return pop(q);
	}
	return NULL;
}
