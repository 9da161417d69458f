// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The netlink sensor's settle FIFO (lib/netlink_settle.c) on a fake clock:
 * every rule of "does an exec's /proc read describe its image" and of the
 * exits an exec explains, with the times set by hand, so that each case
 * names the rule it checks. The real-process side of the same rules is in
 * tests/sensor_scenarios.c.
 *
 * Linked with the static library: netlink_settle.h is private.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "netlink_settle.h"

#define W PC_NL_SETTLE_NS
#define HOLD PC_NL_HOLD_MAX_NS
#define MS (1000ull * 1000)
#define NEVER UINT64_MAX

static struct pc_nl_fifo q;

static void fifo_fini(void)
{
	pc_nl_fifo_clear(&q);
	cr_assert_null(q.head);
}

TestSuite(settle, .fini = fifo_fini);

static struct pc_nl_item *item(enum pc_nl_kind kind, uint32_t tgid, uint64_t ts)
{
	struct pc_nl_item *it = pc_nl_item_new(kind);

	cr_assert_not_null(it);
	it->e.tgid = it->e.pid = tgid;
	it->e.ts = ts;
	pc_nl_fifo_push(&q, it);
	return it;
}

/* An exec of @tgid reported at @ts whose /proc read ran [@r0, @r1] and
 * showed @binary (inode @ino); @err: the read failed. */
static struct pc_nl_item *exec_at(uint32_t tgid, uint64_t ts, uint64_t r0,
				  uint64_t r1, const char *binary, uint64_t ino,
				  int err)
{
	struct pc_nl_item *it = item(PC_NL_EXEC, tgid, ts);

	it->read_start = r0;
	it->read_end = r1;
	it->read_err = err;
	if (!err) {
		it->info.binary = strdup(binary);
		it->info.args = strdup(binary);
		it->info.args_len = strlen(binary) + 1;
		it->info.ev.binary_inode = ino;
	}
	return it;
}

/* The next decided item at @now; NULL if the head waits. */
static struct pc_nl_item *next(uint64_t now, bool force,
			       enum pc_nl_verdict *v, uint64_t *wake)
{
	return pc_nl_fifo_next(&q, now, force, NEVER, v, wake);
}

/* Pop the head, which must be decided at @now, and return its verdict. */
static enum pc_nl_verdict verdict_of(struct pc_nl_item *want, uint64_t now)
{
	enum pc_nl_verdict v;
	uint64_t wake;
	struct pc_nl_item *it = next(now, false, &v, &wake);

	cr_assert_eq(it, want, "the head is not decided at %llu",
		     (unsigned long long)now);
	pc_nl_item_free(it);
	return v;
}

Test(settle, a_lone_exec_waits_for_the_settle_time_after_its_read)
{
	struct pc_nl_item *x = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);
	enum pc_nl_verdict v;
	uint64_t wake;

	pc_nl_fifo_seen(&q, 102 * MS + W - 1);
	cr_expect_null(next(103 * MS, false, &v, &wake));
	cr_expect_eq(wake, 102 * MS + W, "wake at read end + settle time");
	pc_nl_fifo_seen(&q, 102 * MS + W);
	cr_expect_eq(verdict_of(x, 103 * MS), PC_NL_IMAGE);
}

Test(settle, a_later_exec_reported_before_the_read_began_takes_the_image)
{
	struct pc_nl_item *x = exec_at(7, 100 * MS, 105 * MS, 106 * MS, "/b", 2, 0);

	exec_at(7, 104 * MS, 107 * MS, 108 * MS, "/c", 3, 0);
	cr_expect_eq(verdict_of(x, 107 * MS), PC_NL_NO_IMAGE);
}

Test(settle, a_later_exec_whose_read_shows_the_same_image_takes_it)
{
	struct pc_nl_item *x = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/b", 2, 0);

	exec_at(7, 103 * MS, 104 * MS, 105 * MS, "/b", 2, 0);
	cr_expect_eq(verdict_of(x, 106 * MS), PC_NL_NO_IMAGE);
}

Test(settle, a_later_exec_reported_a_settle_time_after_the_read_leaves_it)
{
	struct pc_nl_item *x = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);

	exec_at(7, 102 * MS + W, 102 * MS + W, 103 * MS + W, "/b", 2, 0);
	cr_expect_eq(verdict_of(x, 103 * MS), PC_NL_IMAGE);
}

Test(settle, a_close_later_exec_decides_through_its_own_read)
{
	struct pc_nl_item *x = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);
	struct pc_nl_item *y = exec_at(7, 102 * MS, 103 * MS, 104 * MS, "/b", 2, 0);
	enum pc_nl_verdict v;
	uint64_t wake;

	/* Y's own read is not settled yet: neither is x's. */
	cr_expect_null(next(105 * MS, false, &v, &wake));
	cr_expect_eq(wake, 104 * MS + W);
	pc_nl_fifo_seen(&q, 104 * MS + W);
	cr_expect_eq(verdict_of(x, 105 * MS), PC_NL_IMAGE);
	cr_expect_eq(verdict_of(y, 105 * MS), PC_NL_IMAGE);
}

Test(settle, a_close_later_exec_that_vanished_leaves_the_read_unproven)
{
	struct pc_nl_item *x = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);
	struct pc_nl_item *y = exec_at(7, 102 * MS, 103 * MS, 104 * MS, NULL, 0,
				       -ENOENT);

	cr_expect_eq(verdict_of(x, 105 * MS), PC_NL_NO_IMAGE);
	cr_expect_eq(verdict_of(y, 105 * MS), PC_NL_NO_IMAGE, "a failed read");
}

/* An exec the sensor saw overtaken by the next exec of its process before
 * reading it: only its stat was read, the info says VANISHED. */
static struct pc_nl_item *overtaken_at(uint32_t tgid, uint64_t ts, uint64_t r)
{
	struct pc_nl_item *it = item(PC_NL_EXEC, tgid, ts);

	it->overtaken = true;
	it->read_start = it->read_end = r;
	it->info.ev.flags = PROCCACHE_F_VANISHED;
	it->info.ev.start_time = 42;
	return it;
}

Test(settle, an_overtaken_exec_has_no_image_even_when_forced)
{
	struct pc_nl_item *x = overtaken_at(7, 100 * MS, 103 * MS);
	enum pc_nl_verdict v;
	uint64_t wake;

	/* alone (its later exec not queued) and forced: still no image */
	struct pc_nl_item *it = pc_nl_fifo_next(&q, 200 * MS, true, NEVER, &v,
						&wake);

	cr_assert_eq(it, x);
	cr_expect_eq(v, PC_NL_NO_IMAGE);
	pc_nl_item_free(it);
}

/* The exec before an overtaken one gets the verdict a full read of the
 * overtaken one would have given it: the overtaken read is never whole. */
Test(settle, an_exec_before_an_overtaken_one_is_decided_as_with_a_full_read)
{
	struct pc_nl_item *w = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);
	struct pc_nl_item *x = overtaken_at(7, 102 * MS, 104 * MS);

	exec_at(7, 103 * MS, 104 * MS, 105 * MS, "/c", 3, 0);
	cr_expect_eq(verdict_of(w, 106 * MS), PC_NL_NO_IMAGE);
	cr_expect_eq(verdict_of(x, 106 * MS), PC_NL_NO_IMAGE);
}

Test(settle, an_exec_long_before_an_overtaken_one_keeps_its_image)
{
	struct pc_nl_item *w = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);

	overtaken_at(7, 102 * MS + W, 110 * MS);
	exec_at(7, 109 * MS, 110 * MS, 111 * MS, "/c", 3, 0);
	cr_expect_eq(verdict_of(w, 112 * MS), PC_NL_IMAGE);
}

Test(settle, a_clone_between_two_execs_makes_the_second_another_process)
{
	struct pc_nl_item *x = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);

	item(PC_NL_CLONE, 7, 103 * MS);
	exec_at(7, 103 * MS, 104 * MS, 105 * MS, "/a", 1, 0);
	cr_expect_null(x->later_exec, "linked across a rebirth of the pid");
	pc_nl_fifo_seen(&q, 102 * MS + W);
	cr_expect_eq(verdict_of(x, 106 * MS), PC_NL_IMAGE);
}

Test(settle, a_chain_of_re_execs_holds_the_queue_no_longer_than_the_limit)
{
	struct pc_nl_item *x = exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);
	enum pc_nl_verdict v;
	uint64_t wake;

	/* Each exec follows the previous read closely, each read differs. */
	exec_at(7, 102 * MS, 103 * MS, 104 * MS, "/b", 2, 0);
	exec_at(7, 104 * MS, 105 * MS, 106 * MS, "/c", 3, 0);
	cr_expect_null(next(107 * MS, false, &v, &wake));
	cr_expect_eq(wake, 106 * MS + W);
	/* Far later, with nothing received meanwhile (seen_until stuck). */
	cr_expect_eq(verdict_of(x, 102 * MS + HOLD), PC_NL_NO_IMAGE);
}

Test(settle, the_wake_up_never_lies_past_the_hold_limit)
{
	enum pc_nl_verdict v;
	uint64_t wake;

	exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);
	/* A later exec whose read ends long after: its settle time is
	 * beyond x's hold limit. */
	exec_at(7, 102 * MS, 103 * MS, 102 * MS + 2 * HOLD, "/b", 2, 0);
	cr_expect_null(next(103 * MS, false, &v, &wake));
	cr_expect_eq(wake, 102 * MS + HOLD);
}

Test(settle, an_exit_waits_for_the_exec_that_may_explain_it)
{
	struct pc_nl_item *x = item(PC_NL_EXIT, 9, 100 * MS);
	enum pc_nl_verdict v;
	uint64_t wake;

	cr_expect_null(next(100 * MS, false, &v, &wake));
	cr_expect_eq(wake, 100 * MS + W);
	pc_nl_fifo_seen(&q, 100 * MS + W);
	cr_expect_eq(verdict_of(x, 101 * MS), PC_NL_IMAGE);
}

Test(settle, a_main_thread_exit_before_an_exec_of_its_process_is_dropped)
{
	struct pc_nl_item *y;
	enum pc_nl_verdict v;
	uint64_t wake;

	item(PC_NL_EXIT, 9, 100 * MS);
	y = exec_at(9, 100 * MS + 1, 101 * MS, 102 * MS, "/a", 1, 0);
	pc_nl_fifo_seen(&q, 102 * MS + W);
	cr_expect_eq(next(103 * MS, false, &v, &wake), y,
		     "the exit the exec explains is dropped, the exec comes next");
	pc_nl_item_free(y);
	cr_expect_null(q.head);
}

Test(settle, an_exit_before_a_rebirth_and_an_exec_stays)
{
	struct pc_nl_item *x = item(PC_NL_EXIT, 9, 100 * MS);

	item(PC_NL_CLONE, 9, 101 * MS);
	exec_at(9, 102 * MS, 103 * MS, 104 * MS, "/a", 1, 0);
	pc_nl_fifo_seen(&q, 104 * MS + W);
	cr_expect_eq(verdict_of(x, 105 * MS), PC_NL_IMAGE);
}

Test(settle, force_decides_everything_at_once)
{
	enum pc_nl_verdict v;
	uint64_t wake;
	struct pc_nl_item *it;
	int n = 0;

	exec_at(7, 100 * MS, 101 * MS, 102 * MS, "/a", 1, 0);
	item(PC_NL_EXIT, 8, 100 * MS);
	item(PC_NL_CREDS, 8, 100 * MS);
	while ((it = next(100 * MS, true, &v, &wake))) {
		if (it->kind == PC_NL_EXEC)
			cr_expect_eq(v, PC_NL_IMAGE, "nothing later: its image");
		pc_nl_item_free(it);
		n++;
	}
	cr_expect_eq(n, 3);
}

Test(settle, upto_stops_at_the_numbered_item)
{
	struct pc_nl_item *a = item(PC_NL_CREDS, 5, 100 * MS);
	uint64_t upto = a->seqno, wake;
	enum pc_nl_verdict v;

	item(PC_NL_CREDS, 6, 100 * MS);
	cr_expect_eq(pc_nl_fifo_next(&q, 100 * MS, false, upto, &v, &wake), a);
	pc_nl_item_free(a);
	cr_expect_null(pc_nl_fifo_next(&q, 100 * MS, false, upto, &v, &wake));
	cr_expect_eq(wake, 0, "nothing to wait for: the rest is past upto");
}
