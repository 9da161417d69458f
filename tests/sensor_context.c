/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The process context of real processes (docs/process-model.md, "Sessions
 * and entry leaders"), in the shared scenario table: a new session
 * (setsid), a terminal session (script, a pseudo terminal), and a new pid
 * namespace (unshare --pid --fork). Each runs "/bin/sh -c '...; true TAG'"
 * that lives long enough for every backend to read it (consumed while it
 * runs), then checks the
 * newest entry whose args hold TAG: the innermost process.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sensor_harness.h"
#include "sensor_scenarios.h"

static void start_on(const struct sc_backend *b)
{
	PROCCACHE_OPTS(proccache_sensor_opts, so, .backend = b->backend);

	NEED_ROOT();
	start_sensor(&so, b->name);
}

struct tagged {
	const char *tag;
	struct proccache_key key;
};

static int newest_tagged(const struct proccache_process *p, void *userdata)
{
	struct tagged *t = userdata;
	size_t len;
	const char *args = proccache_process__args(p, &len);

	if (len && memmem(args, len, t->tag, strlen(t->tag)) &&
	    !(proccache_process__flags(p) & PROCCACHE_F_CLONE) &&
	    proccache_process__ktime(p) > t->key.ktime)
		t->key = proccache_process__key(p);
	return 0;
}

/* Run @argv to its end; the newest entry whose args hold @tag. */
static struct proccache_process *run_tagged(char *const argv[], const char *tag)
{
	struct tagged t = { .tag = tag };
	size_t mark = mark_now();
	pid_t pid = spawn(argv[0], argv);
	int status;

	/* Consume while it runs: the netlink sensor reads /proc then. */
	while (waitpid(pid, &status, WNOHANG) == 0)
		pump_for(pc, 20);
	cr_assert_eq(status, 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	cr_assert_eq(proccache__iterate(pc, newest_tagged, &t), 0);
	cr_assert_neq(t.key.pid, 0, "no entry with %s in its args", tag);
	cr_log_info("%s: pid %u, entry %u/%llu", tag, (unsigned)pid, t.key.pid,
		    (unsigned long long)t.key.ktime);
	return lookup(t.key);
}

static bool same_key(struct proccache_key a, struct proccache_key b)
{
	return a.pid == b.pid && a.ktime == b.ktime;
}

/* The test process, known from the start-up /proc scan: its facts are
 * the kernel's. */
static struct proccache_process *self_checked(void)
{
	struct proccache_process *self = lookup(self_key());

	cr_expect_eq(proccache_process__sid(self), (uint32_t)getsid(0));
	cr_expect_eq(proccache_process__pgid(self), (uint32_t)getpgrp());
	cr_expect_neq(proccache_process__comm(self)[0], '\0');
	cr_expect_neq(proccache_process__entry_type(self), PROCCACHE_ENTRY_UNKNOWN,
		      "the scan found the test process's entry leader");
	return self;
}

void sc_context_setsid_new_session(const struct sc_backend *b)
{
	char *argv[] = { "/usr/bin/setsid", "/bin/sh", "-c",
			 "sleep 0.3; true pc-ctx-setsid", NULL };
	struct proccache_process *p, *self;
	uint32_t pid;

	start_on(b);
	self = self_checked();
	p = run_tagged(argv, "pc-ctx-setsid");
	pid = proccache_process__pid(p);
	cr_expect_str_eq(proccache_process__comm(p), "sh");
	cr_expect_eq(proccache_process__sid(p), pid, "setsid made a session");
	cr_expect_eq(proccache_process__pgid(p), pid);
	cr_expect_eq(proccache_process__tty(p), 0, "a new session has no tty");
	cr_expect(same_key(proccache_process__session_leader(p),
			   proccache_process__key(p)),
		  "a session leader leads its own session");
	cr_expect(same_key(proccache_process__entry_leader(p),
			   proccache_process__entry_leader(self)),
		  "a session without a tty starts no entry");
	cr_expect_eq(proccache_process__entry_type(p),
		     proccache_process__entry_type(self));
	proccache_process__unref(p);
	proccache_process__unref(self);
}

void sc_context_script_terminal_leader(const struct sc_backend *b)
{
	char *argv[] = { "/usr/bin/script", "-qec",
			 "/bin/sh -c 'sleep 0.3; true pc-ctx-script'",
			 "/dev/null", NULL };
	struct proccache_process *p, *leader;
	uint32_t tty, sid;

	SKIP_UNLESS(access("/dev/ptmx", R_OK | W_OK) == 0, "no /dev/ptmx");
	start_on(b);
	p = run_tagged(argv, "pc-ctx-script");
	tty = proccache_process__tty(p);
	sid = proccache_process__sid(p);
	cr_expect(PROCCACHE_TTY_MAJOR(tty) >= 136 && PROCCACHE_TTY_MAJOR(tty) <= 143,
		  "tty %u:%u is a pseudo terminal", PROCCACHE_TTY_MAJOR(tty),
		  PROCCACHE_TTY_MINOR(tty));
	cr_expect_eq(proccache_process__entry_type(p), PROCCACHE_ENTRY_TERMINAL,
		     "entry type %s",
		     proccache_entry_type_name(proccache_process__entry_type(p)));
	cr_expect_eq(proccache_process__session_leader(p).pid, sid);
	cr_expect_eq(proccache_process__entry_leader(p).pid, sid,
		     "script's session leader leads the terminal entry");
	leader = lookup(proccache_process__session_leader(p));
	cr_expect_eq(proccache_process__sid(leader), sid);
	cr_expect_eq(proccache_process__tty(leader), tty);
	cr_expect_eq(proccache_process__entry_type(leader),
		     PROCCACHE_ENTRY_TERMINAL);
	proccache_process__unref(leader);
	proccache_process__unref(p);
}

void sc_context_unshare_container_leader(const struct sc_backend *b)
{
	char *argv[] = { "/usr/bin/unshare", "--pid", "--fork", "--mount-proc",
			 "/bin/sh", "-c", "sleep 0.3; true pc-ctx-unshare",
			 NULL };
	struct proccache_process *p, *self;

	start_on(b);
	self = self_checked();
	p = run_tagged(argv, "pc-ctx-unshare");
	cr_expect_eq(proccache_process__nspid(p), 1);
	cr_expect_eq(proccache_process__entry_type(p), PROCCACHE_ENTRY_CONTAINER,
		     "entry type %s",
		     proccache_entry_type_name(proccache_process__entry_type(p)));
	cr_expect(same_key(proccache_process__entry_leader(p),
			   proccache_process__key(p)),
		  "the namespace's init leads its entry");
	cr_expect_eq(proccache_process__sid(p), (uint32_t)getsid(0),
		     "unshare keeps the session");
	cr_expect(same_key(proccache_process__session_leader(p),
			   proccache_process__session_leader(self)));
	proccache_process__unref(p);
	proccache_process__unref(self);
}
