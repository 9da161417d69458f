/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shared real-process scenarios (sensor_scenarios.h). Each one starts
 * its own cache and sensor on the backend it is given, runs real processes
 * and checks what the cache and the callbacks say, field by field, exact
 * or best-effort as the backend declares.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sensor_harness.h"
#include "sensor_scenarios.h"

extern char **environ;

const struct sc_backend sc_bpf = {
	.name = "bpf",
	.backend = PROCCACHE_BACKEND_BPF,
	.short_lived_image = SC_EXACT,
	.setid_flags = SC_EXACT,
	.exit_time_threads = SC_EXACT,
	.creds_change = SC_NOT_TRACKED,
	.exec_map = true,
};

const struct sc_backend sc_netlink = {
	.name = "netlink",
	.backend = PROCCACHE_BACKEND_NETLINK,
	.short_lived_image = SC_BEST_EFFORT,
	.setid_flags = SC_NOT_TRACKED,
	.exit_time_threads = SC_BEST_EFFORT,
	.creds_change = SC_EXACT,
	.exec_map = false,
};

/* ---- set-up ---------------------------------------------------------------- */

static void start_with(const struct sc_backend *b, size_t args_max)
{
	PROCCACHE_OPTS(proccache_sensor_opts, so, .backend = b->backend,
		       .args_max = args_max);

	NEED_ROOT();
	start_sensor(&so, b->name);
}

static void start(const struct sc_backend *b)
{
	start_with(b, 0);
}

void sc_fini(void)
{
	harness_fini();
}

/* ---- processes ------------------------------------------------------------- */

/* A process kept alive on a pipe: "/bin/sh -c 'read x' ARGS..." or any
 * @argv that reads stdin. Writing a line (let_go) ends it. */
struct held {
	pid_t pid;
	int go;
	size_t mark;
};

static struct held hold_full(const char *cwd, const char *path, char *const argv[])
{
	struct held h;
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	h.mark = mark_now();
	h.pid = spawn_full(cwd, fds[0], path, argv);
	close(fds[0]);
	h.go = fds[1];
	return h;
}

/* Its exec, once the sensor has it; the process is still alive. */
static struct seen held_exec(const struct held *h)
{
	return the_exec(h->pid, h->mark);
}

static void let_go(struct held *h, int want_status)
{
	cr_assert_eq(write(h->go, "\n", 1), 1);
	close(h->go);
	cr_assert_eq(reap(h->pid), want_status);
	pump_until(PROCCACHE_EVENT_EXIT, h->pid, h->mark, 1);
}

/* ---- exact or best-effort ---------------------------------------------------- */

/*
 * May the image fields of @p be checked exactly? An image that lived long
 * enough (@short_lived false) must be exact on every backend; a
 * short-lived one only where the backend says so. Otherwise the fallback
 * is checked: flagged vanished, no binary, no args. Logs which was seen.
 */
static bool image_exact(const struct sc_backend *b,
			const struct proccache_process *p, bool short_lived,
			const char *what)
{
	size_t len;

	if (!short_lived || b->short_lived_image == SC_EXACT)
		return true;
	if (!(proccache_process__flags(p) & PROCCACHE_F_VANISHED)) {
		cr_log_info("%s: best-effort %s of a short-lived image: read in time, checked exactly",
			    b->name, what);
		return true;
	}
	proccache_process__args(p, &len);
	cr_expect_eq(len, 0, "%s: a vanished image must carry no args", b->name);
	cr_expect_str_eq(proccache_process__binary(p), "",
			 "%s: a vanished image must carry no binary", b->name);
	cr_log_info("%s: best-effort %s of a short-lived image: gone before /proc could be read, flagged vanished (documented)",
		    b->name, what);
	return false;
}

/* ---- lineage ------------------------------------------------------------------ */

/* Each level forks and execs the next, 64 deep; argv[1] is the level. The
 * leaf waits on stdin, so that every level is alive until released. The
 * script ends with the test process's pid: Criterion runs tests in
 * parallel, and the sensors see every process on the host, so the chain of
 * the other backend's run of this scenario would otherwise match too. */
#define CHAIN "if [ \"$1\" -gt 0 ]; then /bin/sh -c \"$0\" \"$0\" \"$(($1 - 1))\"; else read x; fi; exit $? # pc-chain "

static const char *chain_script(void)
{
	static char script[sizeof(CHAIN) + 16];

	snprintf(script, sizeof(script), CHAIN "%d", (int)getpid());
	return script;
}

static size_t chain_args(int level, char *buf, size_t len)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", level);
	return join_args((char *[]){ level == 64 ? "sh" : "/bin/sh", "-c",
				     (char *)chain_script(),
				     (char *)chain_script(), n, NULL },
			 buf, len);
}

/* The cached exec since @mark whose args are @want, with a reference. */
static struct proccache_process *exec_with_args(size_t mark, const char *want,
						size_t want_len)
{
	struct proccache_process *p;
	struct seen s;

	for (size_t i = 0; count_seen(PROCCACHE_EVENT_EXEC, 0, mark, i, &s) > i; i++) {
		p = proccache__lookup(pc, &s.key);
		if (p && args_eq(p, want, want_len))
			return p;
		proccache_process__unref(p);
	}
	return NULL;
}

/* The exec since @mark whose parent is @parent. */
static bool exec_of_parent(size_t mark, struct proccache_key parent,
			   struct seen *ret)
{
	for (size_t i = 0; count_seen(PROCCACHE_EVENT_EXEC, 0, mark, i, ret) > i; i++)
		if (key_eq(ret->parent, parent))
			return true;
	return false;
}

/* The leaf's 64 ancestors are the chain's levels, then the test process. */
static void check_chain(struct proccache_key leaf_key, pid_t top, const char *when)
{
	struct proccache_process *anc[128];
	char want[1024];
	size_t want_len;
	int n;

	n = proccache__ancestors(pc, &leaf_key, NULL, 0, PROCCACHE_ANCESTORS_FULL);
	cr_assert_geq(n, 65, "%s: chain of %d", when, n);
	n = proccache__ancestors(pc, &leaf_key, anc, 128, 0);
	cr_assert_geq(n, 65, "%s", when);
	for (int i = 0; i < 64; i++) {
		want_len = chain_args(i + 1, want, sizeof(want));
		cr_expect(args_eq(anc[i], want, want_len),
			  "%s: ancestor %d is not level %d", when, i, i + 1);
		cr_expect(proccache_process__flags(anc[i]) & PROCCACHE_F_EXECVE);
	}
	cr_expect_eq(proccache_process__pid(anc[63]), (uint32_t)top);
	cr_expect(key_eq(proccache_process__key(anc[64]), self_key()),
		  "%s: the chain does not end at the test process", when);
	for (int i = 0; i < n; i++)
		proccache_process__unref(anc[i]);
}

/* The ancestry holds while the chain lives and once it has exited. */
void sc_chain_64_deep_full_ancestry(const struct sc_backend *b)
{
	struct proccache_process *leaf = NULL;
	struct proccache_key leaf_key;
	uint64_t deadline;
	char want[1024];
	size_t want_len;
	struct held h;

	start(b);
	h = hold_full(NULL, "/bin/sh", (char *[]){ "sh", "-c", (char *)chain_script(),
						   (char *)chain_script(), "64", NULL });
	want_len = chain_args(0, want, sizeof(want));
	for (deadline = now_ms() + WAIT_MS; !leaf; proccache__sensor_poll(pc, 20)) {
		cr_assert_lt(now_ms(), deadline, "no exec of the chain's leaf");
		leaf = exec_with_args(h.mark, want, want_len);
	}
	leaf_key = proccache_process__key(leaf);
	proccache_process__unref(leaf);
	check_chain(leaf_key, h.pid, "alive");
	let_go(&h, 0);
	check_chain(leaf_key, h.pid, "exited");
}

void sc_reexec_keeps_pid_new_key(const struct sc_backend *b)
{
	struct seen first, second, exit_ev;
	struct proccache_process *p;
	char want[128];
	size_t want_len;
	struct held h;

	start(b);
	h = hold_full(NULL, "/bin/sh", (char *[]){ "sh", "-c",
		"exec /bin/sh -c 'read x; exit 4' pc-reexec", NULL });
	pump_until(PROCCACHE_EVENT_EXEC, h.pid, h.mark, 2);
	count_seen(PROCCACHE_EVENT_EXEC, h.pid, h.mark, 0, &first);
	count_seen(PROCCACHE_EVENT_EXEC, h.pid, h.mark, 1, &second);
	cr_assert(!key_eq(first.key, second.key));
	cr_assert_lt(first.key.ktime, second.key.ktime);
	cr_expect(key_eq(second.parent, first.key), "a re-exec's parent is its previous image");
	cr_expect(key_eq(first.parent, self_key()));
	if (b->exec_map) {
		struct pc_exec_value v = map_entry(h.pid);

		cr_expect(key_eq(map_key(v.key), second.key));
		cr_expect(key_eq(map_key(v.parent), first.key), "the map agrees with the cache");
	}
	/* The second image waits: exact. The first re-execs at once. */
	p = lookup(second.key);
	want_len = join_args((char *[]){ "/bin/sh", "-c", "read x; exit 4",
					  "pc-reexec", NULL }, want, sizeof(want));
	cr_expect(args_eq(p, want, want_len), "the waiting image's args differ");
	proccache_process__unref(p);
	p = lookup(first.key);
	want_len = join_args((char *[]){ "sh", "-c",
		"exec /bin/sh -c 'read x; exit 4' pc-reexec", NULL }, want, sizeof(want));
	if (image_exact(b, p, true, "args"))
		cr_expect(args_eq(p, want, want_len), "the first image's args differ");
	proccache_process__unref(p);

	let_go(&h, 4 << 8);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXEC, h.pid, h.mark, 0, NULL), 2);
	p = lookup(first.key);
	cr_expect_eq(proccache_process__state(p), PROCCACHE_STATE_RETIRED);
	proccache_process__unref(p);
	exit_ev = exit_of(h.pid, h.mark);
	cr_expect(key_eq(exit_ev.key, second.key));
	cr_expect_eq(exit_ev.code, 4);
}

void sc_clone_without_exec(const struct sc_backend *b)
{
	struct proccache_process *p, *self;
	struct seen clone, exit_ev;
	size_t mark;
	pid_t pid;

	start(b);
	mark = mark_now();
	pid = fork();
	if (pid == 0)
		_exit(3);
	cr_assert_eq(WEXITSTATUS(reap(pid)), 3);
	exit_ev = exit_of(pid, mark);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, &clone), 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXEC, pid, mark, 0, NULL), 0);
	cr_expect_eq(clone.tid, (uint32_t)pid);
	cr_expect(clone.flags & PROCCACHE_F_CLONE);
	cr_expect(key_eq(clone.parent, self_key()));
	cr_expect(key_eq(exit_ev.key, clone.key));
	cr_expect_eq(exit_ev.code, 3);
	p = lookup(clone.key);
	self = proccache__lookup_pid(pc, getpid());
	cr_expect_str_eq(proccache_process__binary(p), proccache_process__binary(self),
			 "a clone shares its parent's image");
	cr_expect_eq(proccache_process__state(p), PROCCACHE_STATE_EXITED);
	proccache_process__unref(self);
	proccache_process__unref(p);
}

static void *exec_from_thread(void *arg)
{
	(void)arg;
	execl("/bin/true", "true", "pc-thread-exec", (char *)NULL);
	_exit(126);
}

void sc_exec_from_non_leader_thread(const struct sc_backend *b)
{
	struct proccache_process *p;
	char want[64];
	size_t mark, want_len;
	struct seen ex;
	pid_t pid;

	start(b);
	mark = mark_now();
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, exec_from_thread, NULL))
			_exit(125);
		for (;;)
			pause();
	}
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	ex = the_exec(pid, mark);
	cr_expect_eq(ex.tid, (uint32_t)pid, "after exec the tid is the pid");
	cr_expect(key_eq(ex.parent, self_key()));
	p = lookup(ex.key);
	want_len = join_args((char *[]){ "true", "pc-thread-exec", NULL }, want,
			     sizeof(want));
	if (image_exact(b, p, true, "args"))
		cr_expect(args_eq(p, want, want_len));
	cr_expect_eq(proccache_process__tid(p), (uint32_t)pid);
	proccache_process__unref(p);
	pump_idle();
	cr_expect_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, NULL), 1);
	cr_expect_eq(count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, NULL), 1,
		     "the thread is not a process");
}

void sc_orphan_lineage_follows_creator(const struct sc_backend *b)
{
	struct seen a_clone, b_exec;
	size_t mark;
	pid_t a, orphan;
	int fds[2], hold[2];

	start(b);
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(pipe(hold), 0);
	mark = mark_now();
	a = fork();
	if (a == 0) {
		pid_t me = getpid(), child = fork();

		if (child == 0) {
			uint64_t until = now_ms() + WAIT_MS;

			while (getppid() == me && now_ms() < until)
				usleep(1000);
			dup2(hold[0], STDIN_FILENO);
			execl("/bin/sh", "sh", "-c", "read x # pc-orphan", (char *)NULL);
			_exit(126);
		}
		if (write(fds[1], &child, sizeof(child)) != sizeof(child))
			_exit(124);
		_exit(0);
	}
	close(fds[1]);
	close(hold[0]);
	cr_assert_eq(read(fds[0], &orphan, sizeof(orphan)), (ssize_t)sizeof(orphan));
	cr_assert_eq(reap(a), 0);
	pump_until(PROCCACHE_EVENT_EXEC, orphan, mark, 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_CLONE, a, mark, 0, &a_clone), 1);
	b_exec = the_exec(orphan, mark);
	cr_expect(key_eq(b_exec.parent, a_clone.key),
		  "the orphan's parent is its creator %u, not its new parent",
		  (unsigned)a);
	if (b->exec_map) {
		/* The kernel's map says the same, for host BPF programs. */
		struct pc_exec_value v = map_entry(orphan);

		cr_expect(key_eq(map_key(v.key), b_exec.key));
		cr_expect(key_eq(map_key(v.parent), a_clone.key));
	}
	cr_assert_eq(write(hold[1], "\n", 1), 1);
	cr_assert_eq(reap(orphan), 0, "the orphan was reparented to us");
	pump_until(PROCCACHE_EVENT_EXIT, orphan, mark, 1);
}

void sc_child_of_process_started_before_sensor(const struct sc_backend *b)
{
	char hid[PROCCACHE_EXEC_ID_MAX], cid[PROCCACHE_EXEC_ID_MAX], want[128];
	struct proccache_process *h, *c;
	struct seen ex;
	size_t mark, want_len, i;
	pid_t pid;
	int fds[2];

	NEED_ROOT();
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		dup2(fds[0], STDIN_FILENO);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c",
		      "read x; /bin/true pc-preexisting-child; exit 0", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	for (i = 0; i < 200; i++) {
		char exe[PATH_MAX] = "", link[64];

		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		if (readlink(link, exe, sizeof(exe) - 1) > 0 && !strstr(exe, "test_sensor"))
			break;
		usleep(5000);
	}
	start(b);
	h = proccache__lookup_pid(pc, pid);
	cr_assert_not_null(h, "the scan missed the pre-existing process");
	cr_expect(proccache_process__flags(h) & PROCCACHE_F_PROCFS);
	mark = mark_now();
	cr_assert_eq(write(fds[1], "go\n", 3), 3);
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	pump_idle();

	cr_assert(exec_of_parent(mark, proccache_process__key(h), &ex),
		  "no exec of the child under the scanned process");
	c = lookup(ex.key);
	want_len = join_args((char *[]){ "/bin/true", "pc-preexisting-child", NULL },
			     want, sizeof(want));
	if (image_exact(b, c, true, "args"))
		cr_expect(args_eq(c, want, want_len));
	cr_assert_gt(proccache_process__exec_id(h, hid, sizeof(hid)), 0);
	cr_assert_gt(proccache_process__parent_exec_id(c, cid, sizeof(cid)), 0);
	cr_expect_str_eq(cid, hid);
	proccache_process__unref(c);
	proccache_process__unref(h);
}

/* ---- exits ------------------------------------------------------------------- */

static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

void sc_exit_codes_and_signals(const struct sc_backend *b)
{
	struct seen s, ex;
	size_t mark;
	pid_t pid;
	int st;

	start(b);
	mark = mark_now();
	pid = fork();
	if (pid == 0)
		_exit(42);
	cr_assert_eq(WEXITSTATUS(reap(pid)), 42);
	s = exit_of(pid, mark);
	cr_expect_eq(s.code, 42);
	cr_expect_eq(s.sig, 0);

	for (int sig = SIGTERM; sig; sig = sig == SIGTERM ? SIGKILL : 0) {
		mark = mark_now();
		pid = sleeper();
		pump_until(PROCCACHE_EVENT_CLONE, pid, mark, 1);
		kill(pid, sig);
		st = reap(pid);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == sig);
		s = exit_of(pid, mark);
		cr_expect_eq(s.sig, sig);
		cr_expect_eq(s.code, 0);
	}

	mark = mark_now();
	pid = spawn("/bin/sh", (char *[]){ "sh", "-c", "exit 200", NULL });
	cr_assert_eq(WEXITSTATUS(reap(pid)), 200);
	s = exit_of(pid, mark);
	ex = the_exec(pid, mark);
	cr_expect(key_eq(s.key, ex.key));
	cr_expect_eq(s.code, 200);
}

static void *exit_alone(void *arg)
{
	long i = (long)arg;

	usleep((useconds_t)i * 10000);
	syscall(SYS_exit, i == 4 ? 5 : 0);
	return NULL;
}

static void *sleep_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static uint64_t duplicates(void)
{
	struct proccache_stats cs = { .sz = sizeof(cs) };

	cr_assert_eq(proccache__stats(pc, &cs), 0);
	return cs.duplicates + cs.out_of_order + cs.exit_unknown;
}

void sc_multithreaded_process_exits_once(const struct sc_backend *b)
{
	struct seen s, clone;
	uint64_t dups;
	size_t mark;
	pid_t pid;
	int st;

	start(b);
	dups = duplicates();
	mark = mark_now();
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		for (int i = 0; i < 8; i++)
			pthread_create(&t, NULL, sleep_forever, NULL);
		usleep(20000);
		exit(7);
	}
	cr_assert_eq(WEXITSTATUS(reap(pid)), 7);
	s = exit_of(pid, mark);
	cr_expect_eq(s.code, 7);
	pump_idle();
	cr_expect_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, NULL), 1);

	/* The main thread leaves first, then each thread alone. */
	mark = mark_now();
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		for (long i = 1; i <= 4; i++)
			pthread_create(&t, NULL, exit_alone, (void *)i);
		pthread_exit(NULL);
	}
	st = reap(pid);
	s = exit_of(pid, mark);
	pump_idle();
	cr_expect_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, NULL), 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, &clone), 1);
	if (b->exit_time_threads == SC_EXACT) {
		cr_expect_eq(s.sig, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		cr_expect_eq(s.code, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		cr_expect_geq(s.exit_time - clone.key.ktime, 40000000ull,
			      "the exit came from a thread that was not the last");
	} else {
		/* the main thread's own exit: pthread_exit(), status 0 */
		cr_expect_eq(s.sig, 0);
		cr_expect_eq(s.code, 0);
		cr_log_info("%s: best-effort exit: a process whose main thread leaves first is reported exited then (%.1f ms after its start, status %d), not when its last thread leaves (wait status %d) (documented)",
			    b->name, (double)(s.exit_time - clone.key.ktime) / 1e6,
			    s.code, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	cr_expect_eq(duplicates(), dups, "a thread's exit was reported as the process's");
}

/* ---- payload ------------------------------------------------------------------ */

static char big5k[5001];
static char *weird_argv[] = { "/bin/true", "with space", "quo\"te's", "new\nline",
			      "tab\there", "", "\xff\xfe\x80 invalid", big5k, "", NULL };

void sc_args_exact_bytes(const struct sc_backend *b)
{
	static char want[8192];
	struct proccache_process *p;
	size_t want_len;
	struct seen ex;

	start(b);
	memset(big5k, 'x', sizeof(big5k) - 1);
	want_len = join_args(weird_argv, want, sizeof(want));
	ex = run(weird_argv, 0);
	p = lookup(ex.key);
	if (image_exact(b, p, true, "args and binary")) {
		cr_expect(args_eq(p, want, want_len), "args differ");
		cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_ARGS_TRUNCATED);
		cr_expect_str_eq(proccache_process__binary(p), "/usr/bin/true");
	}
	proccache_process__unref(p);
}

void sc_args_exact_bytes_alive(const struct sc_backend *b)
{
	static char want[8192];
	char *argv[12] = { "/bin/sh", "-c", "read x" };
	struct proccache_process *p;
	size_t want_len;
	struct held h;
	struct seen ex;

	start(b);
	memset(big5k, 'x', sizeof(big5k) - 1);
	for (int i = 1; weird_argv[i]; i++)
		argv[i + 2] = weird_argv[i];
	want_len = join_args(argv, want, sizeof(want));
	h = hold_full(NULL, "/bin/sh", argv);
	ex = held_exec(&h);
	p = lookup(ex.key);
	cr_expect(image_exact(b, p, false, "args"));
	cr_expect(args_eq(p, want, want_len), "args differ");
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_ARGS_TRUNCATED);
	cr_expect_str_eq(proccache_process__binary(p), "/usr/bin/dash");
	proccache_process__unref(p);
	let_go(&h, 0);
}

static void check_big_argv(const struct sc_backend *b, size_t args_max,
			   size_t each, size_t count, bool alive)
{
	char *argv[8] = { alive ? "/bin/sh" : "/bin/true" }, *want;
	size_t first = alive ? 3 : 1, want_len, len;
	size_t cap = args_max ? args_max : 32768;
	struct proccache_process *p;
	const char *args;
	struct held h;
	struct seen ex;

	start_with(b, args_max);
	if (alive) {
		argv[1] = "-c";
		argv[2] = "read x";
	}
	for (size_t i = first; i < first + count; i++) {
		argv[i] = malloc(each + 1);
		memset(argv[i], 'a' + (int)i, each);
		argv[i][each] = '\0';
	}
	want = malloc(count * (each + 1) + 64);
	want_len = join_args(argv, want, count * (each + 1) + 64);
	if (alive) {
		h = hold_full(NULL, argv[0], argv);
		ex = held_exec(&h);
	} else {
		ex = run(argv, 0);
	}
	p = lookup(ex.key);
	if (image_exact(b, p, !alive, "args")) {
		args = proccache_process__args(p, &len);
		if (want_len > cap) {
			cr_expect_eq(len, cap);
			cr_expect(proccache_process__flags(p) & PROCCACHE_F_ARGS_TRUNCATED);
		} else {
			cr_expect_eq(len, want_len);
			cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_ARGS_TRUNCATED);
		}
		cr_expect(memcmp(args, want, len) == 0, "args differ");
	}
	proccache_process__unref(p);
	if (alive)
		let_go(&h, 0);
	free(want);
	for (size_t i = first; i < first + count; i++)
		free(argv[i]);
}

void sc_argv_300k_truncated_at_default(const struct sc_backend *b)
{
	check_big_argv(b, 0, 100000, 3, false);
}

void sc_argv_300k_truncated_at_default_alive(const struct sc_backend *b)
{
	check_big_argv(b, 0, 100000, 3, true);
}

void sc_argv_300k_truncated_at_256k(const struct sc_backend *b)
{
	check_big_argv(b, 256 * 1024, 100000, 3, false);
}

void sc_argv_200k_whole_under_256k(const struct sc_backend *b)
{
	check_big_argv(b, 256 * 1024, 100000, 2, false);
}

void sc_argv_200k_whole_under_256k_alive(const struct sc_backend *b)
{
	check_big_argv(b, 256 * 1024, 100000, 2, true);
}

static char *deep_dir(char *path, size_t len)
{
	char base[] = "/tmp/pc-cwd.XXXXXX", *dir;

	cr_assert_not_null(mkdtemp(base));
	dir = realpath(base, NULL);
	snprintf(path, len, "%s", dir);
	free(dir);
	for (int i = 0; i < 25; i++) {
		size_t l = strlen(path);

		snprintf(path + l, len - l, "/lvl %02d é 日本 \"q\"", i);
		cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	}
	return path;
}

static void rm_deep_dir(char *path)
{
	for (int i = 0; i < 26; i++) {
		rmdir(path);
		*strrchr(path, '/') = '\0';
	}
}

static void check_cwd(const struct sc_backend *b, bool alive)
{
	char path[PATH_MAX];
	struct proccache_process *p;
	struct held h;
	struct seen ex;
	size_t mark;
	pid_t pid;

	start(b);
	deep_dir(path, sizeof(path));
	if (alive) {
		h = hold_full(path, "/bin/sh", (char *[]){ "sh", "-c", "read x", NULL });
		ex = held_exec(&h);
	} else {
		mark = mark_now();
		pid = spawn_full(path, -1, "/bin/true", (char *[]){ "true", NULL });
		cr_assert_eq(reap(pid), 0);
		pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
		ex = the_exec(pid, mark);
	}
	p = lookup(ex.key);
	if (image_exact(b, p, !alive, "cwd")) {
		cr_expect_str_eq(proccache_process__cwd(p), path);
		cr_expect_not(proccache_process__flags(p) &
			      (PROCCACHE_F_CWD_ERROR | PROCCACHE_F_CWD_TRUNCATED));
	}
	proccache_process__unref(p);
	if (alive)
		let_go(&h, 0);
	rm_deep_dir(path);
}

void sc_cwd_25_deep_spaces_non_ascii(const struct sc_backend *b)
{
	check_cwd(b, false);
}

void sc_cwd_25_deep_spaces_non_ascii_alive(const struct sc_backend *b)
{
	check_cwd(b, true);
}

static void check_memfd(const struct sc_backend *b, bool alive)
{
	const char *src_path = alive ? "/bin/sh" : "/bin/true";
	struct proccache_process *p;
	struct stat st;
	struct seen ex;
	size_t mark;
	pid_t pid;
	int fd, src, hold[2], failed[2], err;

	start(b);
	fd = memfd_create("pc-memfd-bin", 0);
	src = open(src_path, O_RDONLY);
	cr_assert(fd >= 0 && src >= 0);
	cr_assert_eq(fstat(src, &st), 0);
	cr_assert_eq(sendfile(fd, src, NULL, (size_t)st.st_size), st.st_size);
	close(src);
	cr_assert_eq(pipe(hold), 0);
	cr_assert_eq(pipe2(failed, O_CLOEXEC), 0);
	mark = mark_now();
	pid = fork();
	if (pid == 0) {
		dup2(hold[0], STDIN_FILENO);
		close(hold[1]);
		fexecve(fd, alive ? (char *[]){ "memfd-sh", "-c", "read x", NULL } :
				    (char *[]){ "memfd-true", NULL },
			environ);
		err = errno;
		(void)!write(failed[1], &err, sizeof(err));
		_exit(127);
	}
	close(hold[0]);
	close(failed[1]);
	/* EOF: the exec happened (the pipe closed with it). Debian's 5.10
	 * under the kernel matrix answers ENOENT to any execveat() with
	 * AT_EMPTY_PATH: nothing to observe then, which is not the sensor's
	 * doing. */
	if (read(failed[0], &err, sizeof(err)) == sizeof(err)) {
		reap(pid);
		fprintf(stderr, "SKIPPED %s: fexecve() of a memfd fails on this kernel: %s\n",
			__func__, strerror(err));
		cr_skip_test("fexecve() of a memfd fails on this kernel: %s", strerror(err));
	}
	close(failed[0]);
	ex = the_exec(pid, mark);
	p = lookup(ex.key);
	if (image_exact(b, p, !alive, "binary")) {
		cr_expect(proccache_process__flags(p) & PROCCACHE_F_UNLINKED);
		cr_expect_eq(proccache_process__binary_nlink(p), 0);
		cr_expect_not_null(strstr(proccache_process__binary(p), "memfd:pc-memfd-bin"),
				   "binary %s", proccache_process__binary(p));
	}
	proccache_process__unref(p);
	if (alive)
		cr_assert_eq(write(hold[1], "\n", 1), 1);
	close(hold[1]);
	cr_assert_eq(reap(pid), 0);
	close(fd);
}

void sc_exec_from_memfd_is_unlinked(const struct sc_backend *b)
{
	check_memfd(b, false);
}

void sc_exec_from_memfd_is_unlinked_alive(const struct sc_backend *b)
{
	check_memfd(b, true);
}

bool sc_make_setuid_copy(const char *src, char *dir, size_t dirlen, char *bin,
			 size_t binlen)
{
	struct statvfs vfs;
	struct stat st;
	int in, out;

	snprintf(dir, dirlen, "/var/tmp/pc-suid.XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(dir, dirlen, "/tmp/pc-suid.XXXXXX");
		cr_assert_not_null(mkdtemp(dir));
	}
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(statvfs(dir, &vfs), 0);
	if (vfs.f_flag & ST_NOSUID)
		return false;
	snprintf(bin, binlen, "%s/pc-id", dir);
	in = open(src, O_RDONLY);
	out = open(bin, O_WRONLY | O_CREAT | O_EXCL, 0755);
	cr_assert(in >= 0 && out >= 0);
	cr_assert_eq(fstat(in, &st), 0);
	cr_assert_eq(sendfile(out, in, NULL, (size_t)st.st_size), st.st_size);
	close(in);
	close(out);
	cr_assert_eq(chown(bin, 0, 0), 0);
	cr_assert_eq(chmod(bin, 04755), 0);
	return true;
}

void sc_setuid_binary_run_by_unprivileged_user(const struct sc_backend *b)
{
	char dir[64], bin[96];
	struct proccache_process *p;
	struct seen ex;
	size_t mark;
	pid_t pid;

	start(b);
	if (!sc_make_setuid_copy("/usr/bin/id", dir, sizeof(dir), bin, sizeof(bin))) {
		rmdir(dir);
		cr_skip_test("the temporary directory is mounted nosuid");
	}
	mark = mark_now();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(125);
		execl(bin, "pc-id", "-u", (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	ex = the_exec(pid, mark);
	p = lookup(ex.key);
	if (b->setid_flags == SC_EXACT) {
		cr_expect(proccache_process__flags(p) & PROCCACHE_F_SETUID);
		cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_SETGID);
	} else {
		cr_expect_not(proccache_process__flags(p) &
			      (PROCCACHE_F_SETUID | PROCCACHE_F_SETGID));
		cr_log_info("%s: set-id flags are not tracked (documented)", b->name);
	}
	if (image_exact(b, p, true, "creds and binary")) {
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), NOBODY);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), 0);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_SUID), 0);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_GID), NOBODY);
		cr_expect_str_eq(proccache_process__binary(p), bin);
	}
	proccache_process__unref(p);

	/* Root running it gains nothing. */
	ex = run((char *[]){ bin, "-u", NULL }, 0);
	p = lookup(ex.key);
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_SETUID);
	proccache_process__unref(p);
	unlink(bin);
	rmdir(dir);
}

static void check_attrs(const struct proccache_process *p, const char *binary)
{
	char target[64];
	unsigned long ino;
	struct stat st;

	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), geteuid());
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_FSGID), getegid());
	cr_expect_eq(proccache_process__caps(p, PROCCACHE_CAP_PERMITTED) != 0,
		     geteuid() == 0);
	cr_assert_gt(readlink("/proc/self/ns/mnt", target, sizeof(target) - 1), 0);
	cr_assert_eq(sscanf(target, "mnt:[%lu]", &ino), 1);
	cr_expect_eq(proccache_process__ns(p, PROCCACHE_NS_MNT), ino);
	cr_expect_neq(proccache_process__ns(p, PROCCACHE_NS_PID), 0);
	cr_expect_neq(proccache_process__ns(p, PROCCACHE_NS_USER), 0);
	cr_expect_neq(proccache_process__ns(p, PROCCACHE_NS_NET), 0);
	cr_expect_neq(proccache_process__cgroup_id(p), 0);
	cr_assert_eq(stat(binary, &st), 0);
	cr_expect_eq(proccache_process__binary_inode(p), st.st_ino);
	cr_expect_eq(proccache_process__binary_nlink(p), st.st_nlink);
	cr_expect_eq(proccache_process__nspid(p), proccache_process__pid(p));
}

void sc_creds_caps_namespaces_cgroup(const struct sc_backend *b)
{
	struct proccache_process *p;
	struct seen ex;

	start(b);
	ex = run((char *[]){ "/bin/true", NULL }, 0);
	p = lookup(ex.key);
	if (image_exact(b, p, true, "creds, caps, namespaces, cgroup"))
		check_attrs(p, "/usr/bin/true");
	proccache_process__unref(p);
}

void sc_creds_caps_namespaces_cgroup_alive(const struct sc_backend *b)
{
	struct proccache_process *p;
	struct held h;
	struct seen ex;

	start(b);
	h = hold_full(NULL, "/bin/sh", (char *[]){ "sh", "-c", "read x", NULL });
	ex = held_exec(&h);
	p = lookup(ex.key);
	check_attrs(p, "/usr/bin/dash");
	proccache_process__unref(p);
	let_go(&h, 0);
}

/* A live process changes uid and gid; the cache follows if the backend
 * sees such changes. */
void sc_creds_change_of_live_process(const struct sc_backend *b)
{
	struct proccache_process *p;
	struct seen clone;
	size_t mark;
	pid_t pid;
	int go[2], done[2];
	char c;

	start(b);
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(done), 0);
	mark = mark_now();
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(done[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		if (setresgid(1234, 1235, 1236) || setresuid(4321, 4322, 4323))
			_exit(2);
		if (write(done[1], "d", 1) != 1)
			_exit(3);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	close(done[1]);
	pump_until(PROCCACHE_EVENT_CLONE, pid, mark, 1);
	count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, &clone);
	cr_assert_eq(write(go[1], "g", 1), 1);
	cr_assert_eq(read(done[0], &c, 1), 1);
	if (b->creds_change == SC_EXACT) {
		/* one CREDS event or two: the first may carry both changes */
		pump_until(PROCCACHE_EVENT_CREDS, pid, mark, 1);
		for (uint64_t until = now_ms() + WAIT_MS;; proccache__sensor_poll(pc, 20)) {
			p = lookup(clone.key);
			if (proccache_process__cred(p, PROCCACHE_CRED_UID) == 4321 &&
			    proccache_process__cred(p, PROCCACHE_CRED_GID) == 1234)
				break;
			proccache_process__unref(p);
			cr_assert_lt(now_ms(), until, "the creds never changed");
		}
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), 4321);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), 4322);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_SUID), 4323);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_FSUID), 4322);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_GID), 1234);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EGID), 1235);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_SGID), 1236);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_FSGID), 1235);
		cr_expect_eq(proccache_process__state(p), PROCCACHE_STATE_LIVE);
	} else {
		pump_idle();
		cr_expect_eq(count_seen(PROCCACHE_EVENT_CREDS, pid, mark, 0, NULL), 0);
		p = lookup(clone.key);
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), getuid(),
			     "creds stay as at clone or exec");
		cr_log_info("%s: credential changes of a live process are not tracked (documented)",
			    b->name);
	}
	proccache_process__unref(p);
	close(go[1]);
	cr_assert_eq(reap(pid), 0);
}

/* ---- pid reuse ----------------------------------------------------------------- */

static pid_t fork_after(pid_t last)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
	int len = snprintf(buf, sizeof(buf), "%d", last);

	cr_assert_geq(fd, 0, "ns_last_pid: %s", strerror(errno));
	cr_assert_eq(write(fd, buf, (size_t)len), len);
	close(fd);
	return spawn("/bin/true", (char *[]){ "/bin/true", "pc-reuse-b", NULL });
}

void sc_host_pid_reuse_gives_distinct_exec_ids(const struct sc_backend *b)
{
	char ida[PROCCACHE_EXEC_ID_MAX], idb[PROCCACHE_EXEC_ID_MAX];
	struct proccache_process *pa, *pb;
	struct seen a_exec, b_exec;
	size_t mark = 0;
	pid_t a = 0, again = -1;

	start(b);
	for (int attempt = 0; attempt < 50 && again != a; attempt++) {
		mark = mark_now();
		a = spawn("/bin/true", (char *[]){ "/bin/true", "pc-reuse-a", NULL });
		cr_assert_eq(reap(a), 0);
		again = fork_after(a - 1);
		cr_assert_eq(reap(again), 0);
	}
	cr_assert_eq(again, a, "could not get pid %d again", a);
	pump_until(PROCCACHE_EVENT_EXIT, a, mark, 2);
	pump_until(PROCCACHE_EVENT_EXEC, a, mark, 2);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXEC, a, mark, 0, NULL), 2);
	count_seen(PROCCACHE_EVENT_EXEC, a, mark, 0, &a_exec);
	count_seen(PROCCACHE_EVENT_EXEC, a, mark, 1, &b_exec);
	cr_assert(!key_eq(a_exec.key, b_exec.key));
	pa = lookup(a_exec.key);
	pb = lookup(b_exec.key);
	cr_assert_gt(proccache_process__exec_id(pa, ida, sizeof(ida)), 0);
	cr_assert_gt(proccache_process__exec_id(pb, idb, sizeof(idb)), 0);
	cr_expect_str_neq(ida, idb);
	cr_expect_eq(proccache_process__state(pa), PROCCACHE_STATE_EXITED);
	cr_expect_eq(proccache_process__state(pb), PROCCACHE_STATE_EXITED);
	cr_expect_not(proccache_process__flags(pa) & PROCCACHE_F_EXIT_INFERRED);
	proccache_process__unref(pa);
	proccache_process__unref(pb);
}

/* ---- driving ---------------------------------------------------------------------- */

static _Atomic pid_t thread_target;
static _Atomic int thread_saw_exit;

static int on_exit_in_thread(struct proccache *cache, const struct proccache_event *ev,
			     const struct proccache_process *p,
			     const struct proccache_process *parent, void *userdata)
{
	(void)cache;
	(void)parent;
	(void)userdata;
	if (ev->type == PROCCACHE_EVENT_EXIT &&
	    proccache_process__pid(p) == (uint32_t)thread_target)
		thread_saw_exit = 1;
	return 0;
}

void sc_library_thread_drives_the_sensor(const struct sc_backend *b)
{
	uint64_t deadline;
	pid_t pid;

	start(b);
	cr_assert_not_null(proccache__subscribe(pc, PROCCACHE_EVENT_EXIT,
						on_exit_in_thread, NULL, NULL));
	cr_assert_eq(proccache__sensor_thread_start(pc), 0);
	cr_expect_eq(proccache__sensor_thread_start(pc), -EALREADY);
	cr_expect_eq(proccache__sensor_consume(pc), -EBUSY);
	cr_expect_eq(proccache__sensor_poll(pc, 0), -EBUSY);
	pid = fork();
	if (pid == 0) {
		usleep(50000);
		_exit(9);
	}
	thread_target = pid;
	cr_assert_eq(WEXITSTATUS(reap(pid)), 9);
	deadline = now_ms() + WAIT_MS;
	while (!thread_saw_exit && now_ms() < deadline)
		usleep(1000);
	cr_expect(thread_saw_exit, "the library thread did not deliver the exit");
	cr_assert_eq(proccache__sensor_thread_stop(pc), 0);
	cr_expect_geq(proccache__sensor_consume(pc), 0);
}

/*
 * The host may free its options, strings included, once the sensor
 * started. The netlink sensor used to keep the host's proc_prefix and read
 * /proc through it on every exec: with the string overwritten, its execs
 * came out without an image.
 */
void sc_options_may_be_freed_after_start(const struct sc_backend *b)
{
	char *prefix = strdup("/proc");
	char *argv[] = { "/bin/sh", "-c", "read x", "options-freed", NULL };
	struct proccache_process *p;
	struct held h;
	struct seen ex;

	NEED_ROOT();
	cr_assert_not_null(prefix);
	{
		PROCCACHE_OPTS(proccache_sensor_opts, so, .backend = b->backend,
			       .proc_prefix = prefix);

		start_sensor(&so, b->name);
	}
	/* what a host reusing its buffer would leave there */
	strcpy(prefix, "/none");
	free(prefix);
	h = hold_full(NULL, "/bin/sh", argv);
	ex = held_exec(&h);
	p = lookup(ex.key);
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_VANISHED,
		      "the exec of a live process lost its image");
	cr_expect_str_eq(proccache_process__binary(p), "/usr/bin/dash");
	proccache_process__unref(p);
	let_go(&h, 0);
}

/* What /proc/self/fd/@fd points at ("anon_inode:[eventpoll]", ...). */
static void fd_target(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	cr_assert_gt(n, 0, "fd %d: %s", fd, strerror(errno));
	buf[n] = '\0';
}

/*
 * proccache__sensor_fd() is the runner's one epoll set: exactly two fds,
 * the backend's own (the ring map, or the socket) and one timer, neither of
 * them an epoll set. An event wakes the host through one level. (It was an
 * epoll set of an epoll set: reconciliation's around netlink's or libbpf's.)
 */
void sc_sensor_fd_is_one_flat_epoll_set(const struct sc_backend *b)
{
	char path[64], line[256], target[128];
	int fd, watched = 0, timers = 0;
	FILE *f;

	start(b);
	fd = proccache__sensor_fd(pc);
	cr_assert_geq(fd, 0);
	fd_target(fd, target, sizeof(target));
	cr_assert_str_eq(target, "anon_inode:[eventpoll]");
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		int tfd;

		if (sscanf(line, "tfd: %d", &tfd) != 1)
			continue;
		watched++;
		fd_target(tfd, target, sizeof(target));
		cr_expect_str_neq(target, "anon_inode:[eventpoll]",
				  "fd %d in the sensor's epoll set is an epoll set", tfd);
		timers += !strcmp(target, "anon_inode:[timerfd]");
	}
	fclose(f);
	cr_expect_eq(watched, 2, "%d fds in the sensor's epoll set", watched);
	cr_expect_eq(timers, 1, "%d timers in the sensor's epoll set", timers);
}

void sc_counters(const struct sc_backend *b)
{
	struct proccache_sensor_stats st = { .sz = sizeof(st) };

	start(b);
	run((char *[]){ "/bin/true", NULL }, 0);
	cr_assert_eq(proccache__sensor_stats(pc, &st), 0);
	cr_expect_gt(st.scanned, 1);
	cr_expect_geq(st.records, 3);
	cr_expect_eq(st.malformed, 0);
	cr_expect_eq(st.lost, 0);
	cr_expect_eq(st.backend, b->backend);
	cr_expect_eq(st.fallback_errno, 0, "an explicit backend is not a fallback");
	cr_expect_eq(st.foreign, 0);
}

/* ---- environment (docs/environment.md) ------------------------------------------ */

static char *const env_known[] = { "A=1", "TOKEN=s3cret", "PC_ENV_TEST=yes",
				   NULL };
static const char env_stored[] = "A=1\0TOKEN=***\0PC_ENV_TEST=yes";

static void start_env(const struct sc_backend *b, size_t env_max)
{
	static const char *const patterns[] = { "TOKEN=*", NULL };
	PROCCACHE_OPTS(proccache_opts, co, .env_max = env_max,
		       .redact = patterns);
	PROCCACHE_OPTS(proccache_sensor_opts, so, .backend = b->backend);

	NEED_ROOT();
	start_sensor_with(&co, &so, b->name);
}

/* "sh -c 'read x'" with @envp, held until let_go(). */
static struct held hold_env(char *const envp[])
{
	static char *const argv[] = { "/bin/sh", "-c", "read x", NULL };
	struct held h;
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	h.mark = mark_now();
	h.pid = spawn_env(NULL, fds[0], argv[0], argv, envp);
	close(fds[0]);
	h.go = fds[1];
	return h;
}

static void expect_env(const struct proccache_process *p, const char *want,
		       size_t want_len, uint32_t want_flags)
{
	const uint32_t env_flags = PROCCACHE_F_ENV_TRUNC | PROCCACHE_F_ENV_REDACTED;
	size_t len;
	const char *env = proccache_process__env(p, &len);

	cr_expect_eq(len, want_len, "env of %zu bytes, want %zu", len, want_len);
	cr_expect(len == want_len && !memcmp(env, want, len), "env differs");
	cr_expect_eq(env[len], '\0');
	cr_expect_eq(proccache_process__flags(p) & env_flags, want_flags,
		     "env flags %#x, want %#x",
		     proccache_process__flags(p) & env_flags, want_flags);
}

/* A cache that did not ask keeps nothing, whatever the process has. */
void sc_environment_off_by_default(const struct sc_backend *b)
{
	struct proccache_process *p;
	struct held h;
	size_t len = 1;

	start(b);
	h = hold_env(env_known);
	p = lookup(held_exec(&h).key);
	proccache_process__env(p, &len);
	cr_expect_eq(len, 0);
	cr_expect_not(proccache_process__flags(p) &
		      (PROCCACHE_F_ENV_TRUNC | PROCCACHE_F_ENV_REDACTED));
	proccache_process__unref(p);
	let_go(&h, 0);
}

/* The exact environment of a short-lived exec, TOKEN's value redacted. */
void sc_environment_captured_and_redacted(const struct sc_backend *b)
{
	static char *const argv[] = { "/bin/true", NULL };
	struct proccache_process *p;
	size_t mark;
	pid_t pid;

	start_env(b, 4096);
	mark = mark_now();
	pid = spawn_env(NULL, -1, argv[0], argv, env_known);
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	p = lookup(the_exec(pid, mark).key);
	if (image_exact(b, p, true, "environment"))
		expect_env(p, env_stored, sizeof(env_stored),
			   PROCCACHE_F_ENV_REDACTED);
	proccache_process__unref(p);
}

void sc_environment_captured_and_redacted_alive(const struct sc_backend *b)
{
	struct proccache_process *p;
	struct held h;

	start_env(b, 4096);
	h = hold_env(env_known);
	p = lookup(held_exec(&h).key);
	expect_env(p, env_stored, sizeof(env_stored), PROCCACHE_F_ENV_REDACTED);
	proccache_process__unref(p);
	let_go(&h, 0);
}

/* An environment larger than the cap: cut there, flagged. */
void sc_environment_cut_at_the_cap_alive(const struct sc_backend *b)
{
	static char big[8192] = "BIG=";
	char *envp[] = { "A=1", big, NULL };
	struct proccache_process *p;
	struct held h;
	char want[1000];

	memset(big + 4, 'x', sizeof(big) - 5);
	memcpy(want, "A=1", 4);
	memcpy(want + 4, big, sizeof(want) - 4);
	start_env(b, sizeof(want));
	h = hold_env(envp);
	p = lookup(held_exec(&h).key);
	expect_env(p, want, sizeof(want), PROCCACHE_F_ENV_TRUNC);
	proccache_process__unref(p);
	let_go(&h, 0);
}
