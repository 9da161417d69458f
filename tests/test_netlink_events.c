// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The netlink sensor's events (lib/netlink_events.c) against a real cache,
 * with hand-made FIFO items and no socket: what the sensor knows goes into
 * the event, and ingest decides the rest (issue 9, "one owner of lineage"):
 *  - the parent named by pid and /proc start time is the parent's entry;
 *  - an exec whose process started at another time than the pid's live
 *    entry ends that entry as a stranger whose exit was lost;
 *  - an exec without its image keeps the replaced image's attributes;
 *  - a uid change that /proc could not complete keeps the creds it does
 *    not know.
 * No privileges. Linked with the static library: the headers are private.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/cn_proc.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "netlink_events.h"

#define TICK 10000000ull /* /proc start times are cut to 10 ms here */
#define PARENT 300u
#define CHILD 301u
#define P_START (100 * TICK)
#define C_START (200 * TICK + 1234) /* exact, as the BPF sensor has it */

static struct proccache *cache;
static struct pc_backend b;

static void setup(void)
{
	cache = proccache__new(NULL);
	cr_assert_not_null(cache);
	b = (struct pc_backend){ .pc = cache };
}

static void teardown(void)
{
	proccache__free(cache);
}

TestSuite(nl_events, .init = setup, .fini = teardown);

/* A process the cache knows: exec'd at @ktime, started at @start. */
static void known(uint32_t pid, uint64_t ktime, uint64_t start, uint32_t ppid,
		  uint32_t uid, const char *cwd)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = pid, .ktime = ktime, .start_time = start,
		       .parent = { .pid = ppid }, .binary = "/bin/old",
		       .cwd = cwd, .cgroup_id = 77, .nspid = 5,
		       .creds = { .uid = uid, .gid = 1, .euid = uid, .egid = 1,
				  .suid = uid, .sgid = 1, .fsuid = uid,
				  .fsgid = 1, .auid = 1000 },
		       .caps = { .permitted = 0x3, .effective = 0x1 },
		       .ns = { .mnt = 4026531841u });

	cr_assert_eq(proccache__ingest(cache, &ev), 0);
}

static struct pc_nl_item *item(enum pc_nl_kind kind, uint32_t pid,
			       uint64_t boot_ts)
{
	struct pc_nl_item *it = pc_nl_item_new(kind);

	cr_assert_not_null(it);
	it->e.pid = it->e.tgid = pid;
	it->boot_ts = boot_ts;
	return it;
}

/* An exec whose /proc read (when @read) showed @binary, the process
 * started at @start, child of (@ppid, @pstart). */
static struct pc_nl_item *exec_item(uint32_t pid, uint64_t at, bool read,
				    const char *binary, uint64_t start,
				    uint32_t ppid, uint64_t pstart)
{
	struct pc_nl_item *it = item(PC_NL_EXEC, pid, at);
	struct proccache_event *ev = &it->info.ev;

	if (!read) {
		it->read_err = -ENOENT;
		return it;
	}
	it->info.binary = strdup(binary);
	it->info.args = strdup(binary);
	it->info.args_len = strlen(binary) + 1;
	it->info.cwd = strdup("/read");
	it->info.container_id = strdup("");
	ev->sz = sizeof(*ev);
	ev->type = PROCCACHE_EVENT_EXEC;
	ev->pid = ev->tid = pid;
	ev->ktime = ev->start_time = start;
	ev->parent = (struct proccache_key){ .pid = ppid, .ktime = pstart };
	ev->flags = PROCCACHE_F_PROCFS | PROCCACHE_F_EXECVE;
	ev->binary = it->info.binary;
	ev->args = it->info.args;
	ev->args_len = it->info.args_len;
	ev->cwd = it->info.cwd;
	ev->container_id = it->info.container_id;
	ev->creds.uid = 42;
	return it;
}

static void feed(struct pc_nl_item *it, enum pc_nl_verdict v)
{
	cr_assert_eq(pc_nl_ingest_item(&b, it, v), 0);
	pc_nl_item_free(it);
}

static struct proccache_process *live(uint32_t pid)
{
	struct proccache_process *p = proccache__lookup_pid(cache, pid);

	cr_assert_not_null(p, "pid %u has no live entry", pid);
	return p;
}

Test(nl_events, an_exec_names_its_parent_by_start_time)
{
	struct proccache_process *p;

	/* the parent exec'd after it started: its key is not its start */
	known(PARENT, P_START + 5 * TICK, P_START + 3, 1, 0, "/");
	feed(exec_item(CHILD, 300 * TICK, true, "/bin/new", C_START - C_START % TICK,
		       PARENT, P_START),
	     PC_NL_IMAGE);
	p = live(CHILD);
	cr_expect_str_eq(proccache_process__binary(p), "/bin/new");
	cr_expect_eq(proccache_process__ktime(p), 300 * TICK, "keyed by the exec");
	cr_expect_eq(proccache_process__parent_key(p).pid, PARENT);
	cr_expect_eq(proccache_process__parent_key(p).ktime, P_START + 5 * TICK,
		     "the parent's live entry, found by its start time");
	cr_expect(proccache_process__flags(p) & PROCCACHE_F_EXECVE);
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_PROCFS);
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_PARENT_UNKNOWN);
	proccache_process__unref(p);
}

Test(nl_events, an_exec_of_another_process_ends_the_stranger)
{
	struct proccache_key stranger = { .pid = CHILD, .ktime = 150 * TICK };
	struct proccache_process *p;

	known(PARENT, P_START, P_START, 1, 0, "/");
	/* pid CHILD held by a process that started at 150 ticks... */
	known(CHILD, 150 * TICK, 150 * TICK, 1, 0, "/");
	/* ...and now exec'ing in a process that started at 200 */
	feed(exec_item(CHILD, 300 * TICK, true, "/bin/new", 200 * TICK, PARENT,
		       P_START),
	     PC_NL_IMAGE);
	p = proccache__lookup(cache, &stranger);
	cr_assert_not_null(p);
	cr_expect_eq(proccache_process__state(p), PROCCACHE_STATE_EXITED,
		     "the stranger was taken for the process's old image");
	cr_expect(proccache_process__flags(p) & PROCCACHE_F_EXIT_INFERRED);
	proccache_process__unref(p);
	p = live(CHILD);
	cr_expect_eq(proccache_process__parent_key(p).pid, PARENT,
		     "the parent is the one /proc named, not the stranger's");
	cr_expect(pc_same_start(proccache_process__start_time(p), 200 * TICK));
	proccache_process__unref(p);
}

Test(nl_events, an_exec_of_the_same_process_replaces_its_image)
{
	struct proccache_key old = { .pid = CHILD, .ktime = 150 * TICK };
	struct proccache_process *p;

	known(CHILD, 150 * TICK, 150 * TICK + 77, 1, 0, "/");
	feed(exec_item(CHILD, 300 * TICK, true, "/bin/new", 150 * TICK, 1, 0),
	     PC_NL_IMAGE);
	p = proccache__lookup(cache, &old);
	cr_assert_not_null(p);
	cr_expect_eq(proccache_process__state(p), PROCCACHE_STATE_RETIRED);
	proccache_process__unref(p);
}

Test(nl_events, an_exec_without_its_image_keeps_the_replaced_ones)
{
	struct proccache_process *p;
	size_t len;

	known(CHILD, 150 * TICK, 150 * TICK, 1, 1000, "/home/u");
	/* the read was the next image's: only the process's facts are used */
	feed(exec_item(CHILD, 300 * TICK, true, "/bin/later", 150 * TICK, 1, 0),
	     PC_NL_NO_IMAGE);
	p = live(CHILD);
	cr_expect(proccache_process__flags(p) & PROCCACHE_F_VANISHED);
	cr_expect_eq(proccache_process__ktime(p), 300 * TICK);
	cr_expect_str_eq(proccache_process__binary(p), "", "another image's binary");
	proccache_process__args(p, &len);
	cr_expect_eq(len, 0, "another image's args");
	cr_expect_str_eq(proccache_process__cwd(p), "/home/u");
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), 1000);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_AUID), 1000);
	cr_expect_eq(proccache_process__caps(p, PROCCACHE_CAP_PERMITTED), 0x3);
	cr_expect_eq(proccache_process__ns(p, PROCCACHE_NS_MNT), 4026531841u);
	cr_expect_eq(proccache_process__cgroup_id(p), 77);
	cr_expect_eq(proccache_process__nspid(p), 5);
	proccache_process__unref(p);
}

Test(nl_events, a_uid_change_without_proc_keeps_what_it_does_not_know)
{
	struct pc_nl_item *it;
	struct proccache_process *p;

	known(CHILD, 150 * TICK, 150 * TICK, 1, 1000, "/");
	it = item(PC_NL_CREDS, CHILD, 400 * TICK);
	it->e.what = PROC_EVENT_UID;
	it->e.id_real = 0;
	it->e.id_eff = 0;
	it->read_err = -ENOENT;
	feed(it, PC_NL_IMAGE);
	p = live(CHILD);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), 0);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), 0);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_FSUID), 0,
		     "the fs id follows the effective one");
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_SUID), 1000,
		     "unknown: kept");
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_GID), 1);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_AUID), 1000);
	proccache_process__unref(p);
}

Test(nl_events, a_gid_change_read_from_proc_is_whole)
{
	struct pc_nl_item *it;
	struct proccache_process *p;

	known(CHILD, 150 * TICK, 150 * TICK, 1, 1000, "/");
	it = item(PC_NL_CREDS, CHILD, 400 * TICK);
	it->e.what = PROC_EVENT_GID;
	it->e.id_real = 50;
	it->e.id_eff = 51;
	it->info.ev.creds = (struct proccache_creds){
		.uid = 1000, .euid = 1000, .suid = 1000, .fsuid = 1000,
		.gid = 9, .egid = 9, .sgid = 52, .fsgid = 53, .auid = 1000 };
	feed(it, PC_NL_IMAGE);
	p = live(CHILD);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_GID), 50,
		     "the event's ids win over a read made later");
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EGID), 51);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_SGID), 52);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_FSGID), 53);
	proccache_process__unref(p);
}

Test(nl_events, a_fork_names_the_forker_as_it_is_now)
{
	struct pc_nl_item *it;
	struct proccache_process *p;

	known(PARENT, P_START + 5 * TICK, P_START, 1, 0, "/cwd");
	it = item(PC_NL_CLONE, CHILD, 200 * TICK);
	it->e.ptgid = it->e.ppid = PARENT;
	it->start_ns = 200 * TICK;
	feed(it, PC_NL_IMAGE);
	p = live(CHILD);
	cr_expect_eq(proccache_process__ktime(p), 200 * TICK);
	cr_expect_eq(proccache_process__parent_key(p).ktime, P_START + 5 * TICK);
	cr_expect(proccache_process__flags(p) & PROCCACHE_F_CLONE);
	cr_expect_str_eq(proccache_process__cwd(p), "/cwd");
	proccache_process__unref(p);
}

Test(nl_events, exit_status_and_signal_from_the_wait_status)
{
	struct pc_nl_item *it;
	struct proccache_process *p;
	struct proccache_key k = { .pid = CHILD, .ktime = 150 * TICK };

	known(CHILD, 150 * TICK, 150 * TICK, 1, 0, "/");
	it = item(PC_NL_EXIT, CHILD, 500 * TICK);
	it->e.exit_code = 3 << 8;
	feed(it, PC_NL_IMAGE);
	p = proccache__lookup(cache, &k);
	cr_assert_not_null(p);
	cr_expect_eq(proccache_process__exit_code(p), 3);
	cr_expect_eq(proccache_process__exit_signal(p), 0);
	cr_expect_eq(proccache_process__exit_time(p), 500 * TICK);
	proccache_process__unref(p);

	known(PARENT, 160 * TICK, 160 * TICK, 1, 0, "/");
	it = item(PC_NL_EXIT, PARENT, 500 * TICK);
	it->e.exit_code = 9;
	feed(it, PC_NL_IMAGE);
	k = (struct proccache_key){ .pid = PARENT, .ktime = 160 * TICK };
	p = proccache__lookup(cache, &k);
	cr_assert_not_null(p);
	cr_expect_eq(proccache_process__exit_signal(p), 9);
	proccache_process__unref(p);
}

Test(nl_events, lost_events_are_counted_by_the_cache)
{
	struct proccache_stats st = { .sz = sizeof(st) };
	struct pc_nl_item *it = item(PC_NL_LOST, 0, 0);

	it->lost = 17;
	feed(it, PC_NL_IMAGE);
	cr_assert_eq(proccache__stats(cache, &st), 0);
	cr_expect_eq(st.lost, 17);
}
