/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF sensor against the running kernel: real process trees, checked
 * through the cache and the callbacks. Needs root (or CAP_BPF + CAP_PERFMON
 * + CAP_SYS_ADMIN for the pid and mount tricks); without, every kernel test
 * skips and says so. The decoder tests feed hand-made records and need no
 * privilege.
 *
 * Linked with the static library for the decoder (a private interface).
 * Criterion runs each test in its own process, so each one starts its own
 * sensor; run them one at a time (--jobs 1): they count processes.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proccache/proccache.h"
#include "sensor_bpf.h"

extern char **environ;

#define WAIT_MS 10000
#define NOBODY 65534

/* ---- what the callbacks saw --------------------------------------------- */

struct seen {
	uint32_t type, pid, tid;
	struct proccache_key key, parent;
	int32_t code, sig;
	uint32_t flags;
	uint64_t lost;
	uint64_t exit_time;
	uint64_t arrived; /* CLOCK_BOOTTIME when the callback ran */
};

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen *seen;
static size_t nseen, capseen;
static char logbuf[1 << 16];
static size_t loglen;
static struct proccache *pc;

static void log_sink(enum proccache_log_level level, const char *msg,
		     void *userdata)
{
	size_t n = strlen(msg);

	(void)userdata;
	if (getenv("PC_TEST_LOG"))
		fprintf(stderr, "[%d] %s\n", level, msg);
	if (level > PROCCACHE_LOG_INFO)
		return;
	pthread_mutex_lock(&seen_lock);
	if (loglen + n + 2 < sizeof(logbuf)) {
		memcpy(logbuf + loglen, msg, n);
		loglen += n;
		logbuf[loglen++] = '\n';
		logbuf[loglen] = '\0';
	}
	pthread_mutex_unlock(&seen_lock);
}

static int on_event(struct proccache *cache, const struct proccache_event *ev,
		    const struct proccache_process *p,
		    const struct proccache_process *parent, void *userdata)
{
	struct seen s = { .type = ev->type, .lost = ev->lost };
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	s.arrived = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	(void)cache;
	(void)parent;
	(void)userdata;
	if (p) {
		s.pid = proccache_process__pid(p);
		s.tid = proccache_process__tid(p);
		s.key = proccache_process__key(p);
		s.parent = proccache_process__parent_key(p);
		s.code = proccache_process__exit_code(p);
		s.sig = proccache_process__exit_signal(p);
		s.flags = proccache_process__flags(p);
		s.exit_time = proccache_process__exit_time(p);
	}
	pthread_mutex_lock(&seen_lock);
	if (nseen == capseen) {
		capseen = capseen ? capseen * 2 : 1024;
		seen = realloc(seen, capseen * sizeof(*seen));
	}
	seen[nseen++] = s;
	pthread_mutex_unlock(&seen_lock);
	return 0;
}

static size_t seen_mark(void)
{
	size_t n;

	pthread_mutex_lock(&seen_lock);
	n = nseen;
	pthread_mutex_unlock(&seen_lock);
	return n;
}

/* Events of @type (a mask) for @pid since @from; copies the @nth one. */
static size_t count_seen(uint32_t type, uint32_t pid, size_t from,
			 size_t nth, struct seen *ret)
{
	size_t count = 0;

	pthread_mutex_lock(&seen_lock);
	for (size_t i = from; i < nseen; i++) {
		if (!(seen[i].type & type) || (pid && seen[i].pid != pid))
			continue;
		if (count++ == nth && ret)
			*ret = seen[i];
	}
	pthread_mutex_unlock(&seen_lock);
	return count;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Feed the cache until @n events of @type for @pid arrived since @from. */
static void pump_until(uint32_t type, uint32_t pid, size_t from, size_t n)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (count_seen(type, pid, from, 0, NULL) < n) {
		int r = proccache__sensor_poll(pc, 50);

		cr_assert_geq(r, 0, "sensor_poll: %s", strerror(-r));
		cr_assert_lt(now_ms(), deadline,
			     "timed out waiting for event %#x of pid %u", type, pid);
	}
}

/* Anything still in flight, e.g. a duplicate that must not be there. */
static void pump_idle(void)
{
	for (int i = 0; i < 5; i++)
		proccache__sensor_poll(pc, 20);
}

/* ---- privileges and set-up ----------------------------------------------- */

static bool has_caps(bool need_sys_admin)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {};
	bool admin, bpf;

	if (syscall(SYS_capget, &hdr, d))
		return false;
	admin = d[0].effective & (1u << CAP_SYS_ADMIN);
	bpf = (d[1].effective & (1u << (39 - 32))) && /* CAP_BPF */
	      (d[1].effective & (1u << (38 - 32)));   /* CAP_PERFMON */
	return admin || (!need_sys_admin && bpf);
}

#define SKIP_UNLESS(cond, why)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "SKIPPED %s: %s\n", __func__, why);    \
			cr_skip_test("%s", why);                               \
		}                                                              \
	} while (0)

#define NEED_BPF()                                                             \
	SKIP_UNLESS(has_caps(false), "needs root or CAP_BPF+CAP_PERFMON to load BPF programs")
#define NEED_ADMIN()                                                           \
	SKIP_UNLESS(geteuid() == 0 && has_caps(true), "needs root (CAP_SYS_ADMIN, set-id changes)")

static void new_cache(void)
{
	/* Keep exited entries around for the whole test. */
	PROCCACHE_OPTS(proccache_opts, o, .grace_ns = 600ull * 1000000000ull);

	proccache_set_log(log_sink, NULL);
	pc = proccache__new(&o);
	cr_assert_not_null(pc);
	cr_assert_not_null(proccache__subscribe(pc, 0xf, on_event, NULL, NULL));
}

static void start_with(const struct proccache_sensor_opts *opts)
{
	int err;

	new_cache();
	err = proccache__sensor_start(pc, opts);
	cr_assert_eq(err, 0, "sensor_start: %s\n%s", strerror(-err), logbuf);
	cr_assert_str_eq(proccache__sensor_backend(pc), "bpf");
}

static void start(void)
{
	PROCCACHE_OPTS(proccache_sensor_opts, o, .backend = PROCCACHE_BACKEND_BPF);

	start_with(&o);
}

static void fini(void)
{
	proccache__free(pc);
	pc = NULL;
}

TestSuite(sensor_bpf, .fini = fini);

/* ---- processes ----------------------------------------------------------- */

static pid_t spawn_in(const char *cwd, const char *path, char *const argv[])
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		if (cwd && chdir(cwd))
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

static pid_t spawn(const char *path, char *const argv[])
{
	return spawn_in(NULL, path, argv);
}

static int reap(pid_t pid)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static struct proccache_key self_key(void)
{
	struct proccache_process *p = proccache__lookup_pid(pc, getpid());
	struct proccache_key k;

	cr_assert_not_null(p, "the test process is not cached");
	k = proccache_process__key(p);
	proccache_process__unref(p);
	return k;
}

static bool key_eq(struct proccache_key a, struct proccache_key b)
{
	return a.pid == b.pid && a.ktime == b.ktime;
}

static struct proccache_process *lookup(struct proccache_key k)
{
	struct proccache_process *p = proccache__lookup(pc, &k);

	cr_assert_not_null(p, "key %u/%llu is not cached", k.pid,
			   (unsigned long long)k.ktime);
	return p;
}

/* Raw args of @argv as the kernel lays them out. */
static size_t join_args(char *const argv[], char *buf, size_t len)
{
	size_t n = 0;

	for (; *argv; argv++) {
		size_t l = strlen(*argv) + 1;

		cr_assert_leq(n + l, len);
		memcpy(buf + n, *argv, l);
		n += l;
	}
	return n;
}

static bool args_eq(const struct proccache_process *p, const char *want,
		    size_t want_len)
{
	size_t len;
	const char *args = proccache_process__args(p, &len);

	return len == want_len && memcmp(args, want, len) == 0;
}

/* The one exec of @pid since @from, which must exist. */
static struct seen the_exec(pid_t pid, size_t from)
{
	struct seen s;

	pump_until(PROCCACHE_EVENT_EXEC, pid, from, 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXEC, pid, from, 0, &s), 1);
	return s;
}

/* Spawn @argv, wait for it and its exit event; return its exec. */
static struct seen run(char *const argv[], int want_status)
{
	size_t mark = seen_mark();
	pid_t pid = spawn(argv[0], argv);

	cr_assert_eq(reap(pid), want_status);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	return the_exec(pid, mark);
}

static struct pc_exec_value map_entry(pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	struct pc_exec_value v;

	cr_assert_eq(bpf_map_lookup_elem(proccache__sensor_exec_map_fd(pc), &key, &v), 0,
		     "pid %d is not in the exec map", pid);
	return v;
}

static struct proccache_key map_key(struct pc_key k)
{
	return (struct proccache_key){ .ktime = k.ktime, .pid = k.pid };
}

/* ---- lineage ------------------------------------------------------------- */

/* Each level forks and execs the next, 64 deep; argv[1] is the level. */
#define CHAIN "if [ \"$1\" -gt 0 ]; then /bin/sh -c \"$0\" \"$0\" \"$(($1 - 1))\"; fi; exit $? # pc-chain"

static size_t chain_args(int level, char *buf, size_t len)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", level);
	return join_args((char *[]){ level == 64 ? "sh" : "/bin/sh", "-c", CHAIN,
				     CHAIN, n, NULL },
			 buf, len);
}

Test(sensor_bpf, chain_64_deep_full_ancestry)
{
	struct proccache_process *anc[128], *leaf = NULL;
	struct proccache_key leaf_key = { 0 };
	char want[1024];
	size_t mark, want_len;
	pid_t pid;
	int n;

	NEED_BPF();
	start();
	mark = seen_mark();
	pid = spawn("/bin/sh", (char *[]){ "sh", "-c", CHAIN, CHAIN, "64", NULL });
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);

	want_len = chain_args(0, want, sizeof(want));
	for (size_t i = 0; !leaf; i++) {
		struct seen s;

		cr_assert(count_seen(PROCCACHE_EVENT_EXEC, 0, mark, i, &s) > i,
			  "no exec of the chain's leaf");
		leaf = proccache__lookup(pc, &s.key);
		if (leaf && !args_eq(leaf, want, want_len)) {
			proccache_process__unref(leaf);
			leaf = NULL;
		}
	}
	leaf_key = proccache_process__key(leaf);
	proccache_process__unref(leaf);

	n = proccache__ancestors(pc, &leaf_key, NULL, 0, PROCCACHE_ANCESTORS_FULL);
	cr_assert_geq(n, 65, "chain of %d", n);
	n = proccache__ancestors(pc, &leaf_key, anc, 128, 0);
	cr_assert_geq(n, 65);
	for (int i = 0; i < 64; i++) {
		want_len = chain_args(i + 1, want, sizeof(want));
		cr_expect(args_eq(anc[i], want, want_len),
			  "ancestor %d is not level %d", i, i + 1);
		cr_expect(proccache_process__flags(anc[i]) & PROCCACHE_F_EXECVE);
	}
	cr_expect_eq(proccache_process__pid(anc[63]), (uint32_t)pid);
	cr_expect(key_eq(proccache_process__key(anc[64]), self_key()),
		  "the chain does not end at the test process");
	for (int i = 0; i < n; i++)
		proccache_process__unref(anc[i]);
}

Test(sensor_bpf, reexec_keeps_pid_new_key)
{
	struct seen first, second, exit_ev;
	struct proccache_process *p;
	struct pc_exec_value v;
	size_t mark;
	pid_t pid;
	int hold[2];

	NEED_BPF();
	start();
	cr_assert_eq(pipe(hold), 0);
	mark = seen_mark();
	pid = fork();
	if (pid == 0) {
		close(hold[1]);
		dup2(hold[0], STDIN_FILENO);
		execl("/bin/sh", "sh", "-c",
		      "exec /bin/sh -c 'read x; exit 4' pc-reexec", (char *)NULL);
		_exit(127);
	}
	close(hold[0]);
	pump_until(PROCCACHE_EVENT_EXEC, pid, mark, 2);
	count_seen(PROCCACHE_EVENT_EXEC, pid, mark, 0, &first);
	count_seen(PROCCACHE_EVENT_EXEC, pid, mark, 1, &second);
	cr_assert(!key_eq(first.key, second.key));
	cr_assert_lt(first.key.ktime, second.key.ktime);
	cr_expect(key_eq(second.parent, first.key), "a re-exec's parent is its previous image");
	cr_expect(key_eq(first.parent, self_key()));
	v = map_entry(pid);
	cr_expect(key_eq(map_key(v.key), second.key));
	cr_expect(key_eq(map_key(v.parent), first.key), "the map agrees with the cache");

	cr_assert_eq(write(hold[1], "\n", 1), 1);
	cr_assert_eq(WEXITSTATUS(reap(pid)), 4);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXEC, pid, mark, 0, NULL), 2);
	p = lookup(first.key);
	cr_expect_eq(proccache_process__state(p), PROCCACHE_STATE_RETIRED);
	proccache_process__unref(p);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, &exit_ev), 1);
	cr_expect(key_eq(exit_ev.key, second.key));
	cr_expect_eq(exit_ev.code, 4);
}

Test(sensor_bpf, clone_without_exec)
{
	struct seen clone, exit_ev;
	struct proccache_process *p, *self;
	size_t mark;
	pid_t pid;

	NEED_BPF();
	start();
	mark = seen_mark();
	pid = fork();
	if (pid == 0)
		_exit(3);
	cr_assert_eq(WEXITSTATUS(reap(pid)), 3);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);

	cr_assert_eq(count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, &clone), 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXEC, pid, mark, 0, NULL), 0);
	cr_expect_eq(clone.tid, (uint32_t)pid);
	cr_expect(clone.flags & PROCCACHE_F_CLONE);
	cr_expect(key_eq(clone.parent, self_key()));
	count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, &exit_ev);
	cr_expect(key_eq(exit_ev.key, clone.key));
	cr_expect_eq(exit_ev.code, 3);

	/* A clone shares its parent's image. */
	p = lookup(clone.key);
	self = proccache__lookup_pid(pc, getpid());
	cr_expect_str_eq(proccache_process__binary(p), proccache_process__binary(self));
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

Test(sensor_bpf, exec_from_non_leader_thread)
{
	char want[64];
	size_t mark, want_len;
	struct seen ex;
	struct proccache_process *p;
	pid_t pid;

	NEED_BPF();
	start();
	mark = seen_mark();
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
	cr_expect(args_eq(p, want, want_len));
	cr_expect_eq(proccache_process__tid(p), (uint32_t)pid);
	proccache_process__unref(p);
	pump_idle();
	cr_expect_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, NULL), 1);
	cr_expect_eq(count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, NULL), 1,
		     "the thread is not a process");
}

Test(sensor_bpf, orphan_lineage_follows_creator)
{
	struct seen a_clone, b_exec;
	struct pc_exec_value v;
	size_t mark;
	pid_t a, b;
	int fds[2], hold[2];

	NEED_BPF();
	start();
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(pipe(hold), 0);
	mark = seen_mark();
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
	cr_assert_eq(read(fds[0], &b, sizeof(b)), (ssize_t)sizeof(b));
	cr_assert_eq(reap(a), 0);
	pump_until(PROCCACHE_EVENT_EXEC, b, mark, 1);

	cr_assert_eq(count_seen(PROCCACHE_EVENT_CLONE, a, mark, 0, &a_clone), 1);
	b_exec = the_exec(b, mark);
	cr_expect(key_eq(b_exec.parent, a_clone.key),
		  "the orphan's parent is its creator %u, not its new parent",
		  (unsigned)a);
	/* The kernel's map says the same, for host BPF programs. */
	v = map_entry(b);
	cr_expect(key_eq(map_key(v.key), b_exec.key));
	cr_expect(key_eq(map_key(v.parent), a_clone.key));

	cr_assert_eq(write(hold[1], "\n", 1), 1);
	cr_assert_eq(reap(b), 0, "the orphan was reparented to us");
	pump_until(PROCCACHE_EVENT_EXIT, b, mark, 1);
}

Test(sensor_bpf, child_of_process_started_before_sensor)
{
	char hid[PROCCACHE_EXEC_ID_MAX], cid[PROCCACHE_EXEC_ID_MAX];
	struct proccache_process *h, *c;
	struct seen ex = { 0 };
	char want[128];
	size_t mark, want_len, i;
	pid_t pid;
	int fds[2];

	NEED_BPF();
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
	/* Let it exec before the sensor starts. */
	for (i = 0; i < 200; i++) {
		char exe[PATH_MAX] = "", link[64];

		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		if (readlink(link, exe, sizeof(exe) - 1) > 0 && !strstr(exe, "test_sensor"))
			break;
		usleep(5000);
	}
	start();
	h = proccache__lookup_pid(pc, pid);
	cr_assert_not_null(h, "the scan missed the pre-existing process");
	cr_expect(proccache_process__flags(h) & PROCCACHE_F_PROCFS);
	mark = seen_mark();
	cr_assert_eq(write(fds[1], "go\n", 3), 3);
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);

	want_len = join_args((char *[]){ "/bin/true", "pc-preexisting-child", NULL },
			     want, sizeof(want));
	for (i = 0;; i++) {
		cr_assert(count_seen(PROCCACHE_EVENT_EXEC, 0, mark, i, &ex) > i,
			  "no exec of the child");
		c = proccache__lookup(pc, &ex.key);
		if (c && args_eq(c, want, want_len))
			break;
		proccache_process__unref(c);
	}
	cr_assert_gt(proccache_process__exec_id(h, hid, sizeof(hid)), 0);
	cr_assert_gt(proccache_process__parent_exec_id(c, cid, sizeof(cid)), 0);
	cr_expect_str_eq(cid, hid);
	proccache_process__unref(c);
	proccache_process__unref(h);
}

/* ---- exits ---------------------------------------------------------------- */

static struct seen exit_of(pid_t pid, size_t mark)
{
	struct seen s;

	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, &s), 1);
	return s;
}

static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

Test(sensor_bpf, exit_codes_and_signals)
{
	struct seen s, ex;
	size_t mark;
	pid_t pid;
	int st;

	NEED_BPF();
	start();

	mark = seen_mark();
	pid = fork();
	if (pid == 0)
		_exit(42);
	cr_assert_eq(WEXITSTATUS(reap(pid)), 42);
	s = exit_of(pid, mark);
	cr_expect_eq(s.code, 42);
	cr_expect_eq(s.sig, 0);

	for (int sig = SIGTERM; sig; sig = sig == SIGTERM ? SIGKILL : 0) {
		mark = seen_mark();
		pid = sleeper();
		kill(pid, sig);
		st = reap(pid);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == sig);
		s = exit_of(pid, mark);
		cr_expect_eq(s.sig, sig);
		cr_expect_eq(s.code, 0);
	}

	mark = seen_mark();
	pid = spawn("/bin/sh", (char *[]){ "sh", "-c", "exit 200", NULL });
	cr_assert_eq(WEXITSTATUS(reap(pid)), 200);
	s = exit_of(pid, mark);
	ex = the_exec(pid, mark);
	cr_expect(key_eq(s.key, ex.key));
	cr_expect_eq(s.code, 200);
}

/* Thread @arg (1..4) ends alone after @arg * 10 ms; the fourth is the last
 * thread of the process and leaves with status 5. */
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

Test(sensor_bpf, multithreaded_process_exits_once)
{
	struct seen s, clone;
	uint64_t dups;
	size_t mark;
	pid_t pid;
	int st;

	NEED_BPF();
	start();
	dups = duplicates();

	/* exit_group with 8 live threads. */
	mark = seen_mark();
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

	/* The leader leaves first, then each thread alone: what wait(2)
	 * reports (the leader's status) is what the exit says. */
	mark = seen_mark();
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
	cr_expect_eq(s.sig, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_expect_eq(s.code, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, &clone), 1);
	cr_expect_geq(s.exit_time - clone.key.ktime, 40000000ull,
		      "the exit came from a thread that was not the last");
	cr_expect_eq(duplicates(), dups, "a thread's exit was reported as the process's");
}

/* ---- payload -------------------------------------------------------------- */

Test(sensor_bpf, args_exact_bytes)
{
	static char big[5001];
	char *argv[] = { "/bin/true", "with space", "quo\"te's", "new\nline",
			 "tab\there", "", "\xff\xfe\x80 invalid", big, "", NULL };
	static char want[8192];
	struct proccache_process *p;
	struct seen ex;
	size_t want_len;

	NEED_BPF();
	start();
	memset(big, 'x', sizeof(big) - 1);
	want_len = join_args(argv, want, sizeof(want));
	ex = run(argv, 0);
	p = lookup(ex.key);
	cr_expect(args_eq(p, want, want_len), "args differ");
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_ARGS_TRUNCATED);
	cr_expect_str_eq(proccache_process__binary(p), "/usr/bin/true");
	proccache_process__unref(p);
}

static void check_big_argv(size_t args_max, size_t each, size_t count)
{
	PROCCACHE_OPTS(proccache_sensor_opts, o, .backend = PROCCACHE_BACKEND_BPF,
		       .args_max = args_max);
	char *argv[8] = { "/bin/true" }, *want;
	struct proccache_process *p;
	size_t want_len, len, cap = args_max ? args_max : 32768;
	const char *args;
	struct seen ex;

	start_with(&o);
	for (size_t i = 1; i <= count; i++) {
		argv[i] = malloc(each + 1);
		memset(argv[i], 'a' + (int)i, each);
		argv[i][each] = '\0';
	}
	want = malloc(count * (each + 1) + 16);
	want_len = join_args(argv, want, count * (each + 1) + 16);
	ex = run(argv, 0);
	p = lookup(ex.key);
	args = proccache_process__args(p, &len);
	if (want_len > cap) {
		cr_expect_eq(len, cap);
		cr_expect(proccache_process__flags(p) & PROCCACHE_F_ARGS_TRUNCATED);
	} else {
		cr_expect_eq(len, want_len);
		cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_ARGS_TRUNCATED);
	}
	cr_expect(memcmp(args, want, len) == 0, "args differ");
	proccache_process__unref(p);
	free(want);
	for (size_t i = 1; i <= count; i++)
		free(argv[i]);
}

Test(sensor_bpf, argv_300k_truncated_at_default)
{
	NEED_BPF();
	check_big_argv(0, 100000, 3);
}

Test(sensor_bpf, argv_300k_truncated_at_256k)
{
	NEED_BPF();
	check_big_argv(256 * 1024, 100000, 3);
}

Test(sensor_bpf, argv_200k_whole_under_256k)
{
	NEED_BPF();
	check_big_argv(256 * 1024, 100000, 2);
}

Test(sensor_bpf, cwd_25_deep_spaces_non_ascii)
{
	char base[] = "/tmp/pc-cwd.XXXXXX", *dir, path[PATH_MAX];
	struct proccache_process *p;
	struct seen ex;
	size_t mark;
	pid_t pid;

	NEED_BPF();
	start();
	cr_assert_not_null(mkdtemp(base));
	dir = realpath(base, NULL);
	snprintf(path, sizeof(path), "%s", dir);
	for (int i = 0; i < 25; i++) {
		size_t l = strlen(path);

		snprintf(path + l, sizeof(path) - l, "/lvl %02d é 日本 \"q\"", i);
		cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	}
	mark = seen_mark();
	pid = spawn_in(path, "/bin/true", (char *[]){ "true", NULL });
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	ex = the_exec(pid, mark);
	p = lookup(ex.key);
	cr_expect_str_eq(proccache_process__cwd(p), path);
	cr_expect_not(proccache_process__flags(p) &
		      (PROCCACHE_F_CWD_ERROR | PROCCACHE_F_CWD_TRUNCATED));
	proccache_process__unref(p);
	for (int i = 0; i < 26; i++) {
		rmdir(path);
		*strrchr(path, '/') = '\0';
	}
	free(dir);
}

Test(sensor_bpf, exec_from_memfd_is_unlinked)
{
	struct proccache_process *p;
	struct stat st;
	struct seen ex;
	size_t mark;
	pid_t pid;
	int fd, src;

	NEED_BPF();
	start();
	fd = memfd_create("pc-memfd-true", 0);
	src = open("/bin/true", O_RDONLY);
	cr_assert(fd >= 0 && src >= 0);
	cr_assert_eq(fstat(src, &st), 0);
	cr_assert_eq(sendfile(fd, src, NULL, (size_t)st.st_size), st.st_size);
	close(src);
	mark = seen_mark();
	pid = fork();
	if (pid == 0) {
		fexecve(fd, (char *[]){ "memfd-true", NULL }, environ);
		_exit(127);
	}
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	ex = the_exec(pid, mark);
	p = lookup(ex.key);
	cr_expect(proccache_process__flags(p) & PROCCACHE_F_UNLINKED);
	cr_expect_eq(proccache_process__binary_nlink(p), 0);
	cr_expect_not_null(strstr(proccache_process__binary(p), "memfd:pc-memfd-true"),
			   "binary %s", proccache_process__binary(p));
	proccache_process__unref(p);
	close(fd);
}

/* A copy of id(1), set-uid root, in a directory nobody may enter, on a
 * file system that honours set-id bits. */
static void make_setuid_copy(char *dir, size_t dirlen, char *bin, size_t binlen)
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
	SKIP_UNLESS(!(vfs.f_flag & ST_NOSUID), "temporary directory is mounted nosuid");
	snprintf(bin, binlen, "%s/pc-id", dir);
	in = open("/usr/bin/id", O_RDONLY);
	out = open(bin, O_WRONLY | O_CREAT | O_EXCL, 0755);
	cr_assert(in >= 0 && out >= 0);
	cr_assert_eq(fstat(in, &st), 0);
	cr_assert_eq(sendfile(out, in, NULL, (size_t)st.st_size), st.st_size);
	close(in);
	close(out);
	cr_assert_eq(chown(bin, 0, 0), 0);
	cr_assert_eq(chmod(bin, 04755), 0);
}

Test(sensor_bpf, setuid_binary_run_by_unprivileged_user)
{
	char dir[64], bin[96];
	struct proccache_process *p;
	struct seen ex;
	size_t mark;
	pid_t pid;

	NEED_BPF();
	NEED_ADMIN();
	start();
	make_setuid_copy(dir, sizeof(dir), bin, sizeof(bin));
	mark = seen_mark();
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
	cr_expect(proccache_process__flags(p) & PROCCACHE_F_SETUID);
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_SETGID);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), NOBODY);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), 0);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_SUID), 0);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_GID), NOBODY);
	cr_expect_str_eq(proccache_process__binary(p), bin);
	proccache_process__unref(p);

	/* Root running it gains nothing. */
	ex = run((char *[]){ bin, "-u", NULL }, 0);
	p = lookup(ex.key);
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_SETUID);
	proccache_process__unref(p);
	unlink(bin);
	rmdir(dir);
}

Test(sensor_bpf, creds_caps_namespaces_cgroup)
{
	struct proccache_process *p;
	char link[64], target[64];
	unsigned long ino;
	struct seen ex;
	struct stat st;

	NEED_BPF();
	start();
	ex = run((char *[]){ "/bin/true", NULL }, 0);
	p = lookup(ex.key);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), geteuid());
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_FSGID), getegid());
	cr_expect_eq(proccache_process__caps(p, PROCCACHE_CAP_PERMITTED) != 0,
		     geteuid() == 0);
	snprintf(link, sizeof(link), "/proc/self/ns/mnt");
	cr_assert_gt(readlink(link, target, sizeof(target) - 1), 0);
	cr_assert_eq(sscanf(target, "mnt:[%lu]", &ino), 1);
	cr_expect_eq(proccache_process__ns(p, PROCCACHE_NS_MNT), ino);
	cr_expect_neq(proccache_process__ns(p, PROCCACHE_NS_PID), 0);
	cr_expect_neq(proccache_process__ns(p, PROCCACHE_NS_USER), 0);
	cr_expect_neq(proccache_process__ns(p, PROCCACHE_NS_NET), 0);
	cr_expect_neq(proccache_process__cgroup_id(p), 0);
	cr_assert_eq(stat("/usr/bin/true", &st), 0);
	cr_expect_eq(proccache_process__binary_inode(p), st.st_ino);
	cr_expect_eq(proccache_process__binary_nlink(p), st.st_nlink);
	cr_expect_eq(proccache_process__nspid(p), proccache_process__pid(p));
	proccache_process__unref(p);
}

/* ---- pid reuse ------------------------------------------------------------- */

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

Test(sensor_bpf, host_pid_reuse_gives_distinct_exec_ids)
{
	char ida[PROCCACHE_EXEC_ID_MAX], idb[PROCCACHE_EXEC_ID_MAX];
	struct proccache_process *pa, *pb;
	struct seen a_exec, b_exec;
	size_t mark = 0;
	pid_t a = 0, b = -1;

	NEED_BPF();
	NEED_ADMIN();
	start();
	for (int attempt = 0; attempt < 50 && b != a; attempt++) {
		mark = seen_mark();
		a = spawn("/bin/true", (char *[]){ "/bin/true", "pc-reuse-a", NULL });
		cr_assert_eq(reap(a), 0);
		b = fork_after(a - 1);
		cr_assert_eq(reap(b), 0);
	}
	cr_assert_eq(b, a, "could not get pid %d again", a);
	pump_until(PROCCACHE_EVENT_EXIT, a, mark, 2);

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

/* ---- loss, threads, maps, errors ------------------------------------------ */

Test(sensor_bpf, ring_overflow_reports_lost)
{
	PROCCACHE_OPTS(proccache_sensor_opts, o, .backend = PROCCACHE_BACKEND_BPF,
		       .ring_size = 4096);
	struct proccache_sensor_stats st = { .sz = sizeof(st) };
	struct proccache_stats cs = { .sz = sizeof(cs) };
	uint64_t lost_events = 0;
	size_t mark;
	struct seen s;

	NEED_BPF();
	start_with(&o);
	mark = seen_mark();
	/* Nothing consumes meanwhile: 4 KiB hold a handful of execs. */
	for (int i = 0; i < 40; i++)
		reap(spawn("/bin/true", (char *[]){ "/bin/true", "pc-lost", NULL }));
	pump_until(PROCCACHE_EVENT_LOST, 0, mark, 1);
	for (size_t i = 0; count_seen(PROCCACHE_EVENT_LOST, 0, mark, i, &s) > i; i++)
		lost_events += s.lost;
	cr_assert_eq(proccache__sensor_stats(pc, &st), 0);
	cr_expect_gt(st.lost, 0);
	cr_expect_eq(st.lost, lost_events);
	cr_assert_eq(proccache__stats(pc, &cs), 0);
	cr_expect_eq(cs.lost, lost_events);
}

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

Test(sensor_bpf, library_thread_drives_the_sensor)
{
	uint64_t deadline;
	pid_t pid;

	NEED_BPF();
	start();
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

/* ---- wake-ups: a host's epoll loop with no timer of its own ------------- */

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Consume only when epoll says the ring is readable, until @n events of
 * @type for @pid arrived since @mark. Fails if the fd stays silent for
 * longer than the programs' wake-up bound (plus slack for a loaded
 * machine): a record committed without a wake-up must not wait for the
 * next event. Returns ms from @t0 to delivery.
 */
static double host_wait(int ep, uint32_t type, pid_t pid, size_t mark, size_t n,
			const struct timespec *t0)
{
	int bound_ms = (int)(PC_WAKE_NS / 1000000) + 500;
	struct epoll_event e;

	while (count_seen(type, (uint32_t)pid, mark, 0, NULL) < n) {
		int r = epoll_wait(ep, &e, 1, bound_ms);

		cr_assert_eq(r, 1, "the sensor fd stayed silent for %d ms with events pending",
			     bound_ms);
		cr_assert_geq(proccache__sensor_consume(pc), 0);
	}
	return elapsed_ms(t0);
}

static int host_epoll(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);

	cr_assert_geq(ep, 0);
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, proccache__sensor_fd(pc),
			       &(struct epoll_event){ .events = EPOLLIN }), 0);
	return ep;
}

/* The programs hold wake-ups back under load; a lone exec after a quiet
 * spell must still wake the host at once, not after the deferred
 * wake-up. Best of 8: other activity on the machine may make a spell
 * less than quiet. */
Test(sensor_bpf, lone_exec_wakes_host_epoll_at_once)
{
	double best = 1e9;
	int ep;

	NEED_BPF();
	start();
	ep = host_epoll();
	for (int i = 0; i < 8 && best > 10; i++) {
		struct timespec t0;
		size_t mark;
		pid_t pid;
		double ms;

		usleep((useconds_t)(2 * PC_WAKE_NS / 1000));
		while (proccache__sensor_consume(pc) > 0)
			;
		mark = seen_mark();
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid = spawn("/bin/true", (char *[]){ "true", NULL });
		ms = host_wait(ep, PROCCACHE_EVENT_EXEC, pid, mark, 1, &t0);
		best = ms < best ? ms : best;
		reap(pid);
	}
	cr_expect_leq(best, 10, "a lone exec took %.1f ms to reach the host (deferred wake-up is %llu ms)",
		      best, (unsigned long long)(PC_WAKE_NS / 1000000));
	close(ep);
}

/* The end of a burst is committed without wake-ups; the deferred wake-up
 * must bring it to a host that only ever waits on the fd. */
Test(sensor_bpf, burst_tail_reaches_host_epoll_within_bound)
{
	struct timespec t0;
	pid_t pids[40];
	size_t mark;
	double ms;
	int ep;

	NEED_BPF();
	start();
	ep = host_epoll();
	mark = seen_mark();
	for (size_t i = 0; i < 40; i++) {
		pids[i] = spawn("/bin/true", (char *[]){ "true", NULL });
		reap(pids[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < 40; i++)
		host_wait(ep, PROCCACHE_EVENT_EXIT, pids[i], mark, 1, &t0);
	ms = elapsed_ms(&t0);
	cr_expect_leq(ms, PC_WAKE_NS / 1e6 + 250,
		      "the burst's tail arrived %.1f ms after it ended", ms);
	close(ep);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* proccache_sensor_opts.wakeup_ns bounds how long records wait under a
 * steady load (the default, 50 ms, puts the 90th percentile near 50 ms). */
Test(sensor_bpf, wakeup_option_bounds_latency_under_load)
{
	PROCCACHE_OPTS(proccache_sensor_opts, o, .backend = PROCCACHE_BACKEND_BPF,
		       .wakeup_ns = 5000000);
	enum { N = 300 };
	uint64_t lat[N];
	pid_t pids[N];
	size_t mark, n = 0;
	struct seen s;

	NEED_BPF();
	start_with(&o);
	cr_assert_eq(proccache__sensor_thread_start(pc), 0);
	mark = seen_mark();
	for (size_t i = 0; i < N; i++) {
		pids[i] = spawn("/bin/true", (char *[]){ "true", NULL });
		reap(pids[i]);
	}
	for (uint64_t deadline = now_ms() + WAIT_MS; now_ms() < deadline;) {
		if (count_seen(PROCCACHE_EVENT_EXIT, (uint32_t)pids[N - 1], mark,
			       0, NULL))
			break;
		usleep(1000);
	}
	cr_assert_eq(proccache__sensor_thread_stop(pc), 0);
	for (size_t i = 0; i < N; i++)
		if (count_seen(PROCCACHE_EVENT_EXIT, (uint32_t)pids[i], mark, 0, &s))
			lat[n++] = s.arrived - s.exit_time;
	cr_assert_eq(n, N, "%zu of %d exits seen", n, N);
	qsort(lat, n, sizeof(lat[0]), cmp_u64);
	cr_log_info("exit to callback with wakeup_ns 5 ms: p50 %.1f ms, p90 %.1f ms",
		    lat[n / 2] / 1e6, lat[n * 9 / 10] / 1e6);
	cr_expect_lt(lat[n * 9 / 10], 30000000,
		     "p90 %.1f ms: the 5 ms wake-up period was not applied",
		     lat[n * 9 / 10] / 1e6);
}

Test(sensor_bpf, exec_map_holds_keys)
{
	struct pc_exec_value v;
	struct seen clone, ex;
	uint32_t key;
	int fd, go[2], hold[2];
	pid_t pid;
	size_t mark;
	char c;

	NEED_BPF();
	start();
	fd = proccache__sensor_exec_map_fd(pc);
	cr_assert_geq(fd, 0);
	v = map_entry(getpid());
	cr_expect(key_eq(map_key(v.key), self_key()), "the scan seeds the map");
	cr_expect(v.flags & PC_EXEC_VALUE_PROCFS);

	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(hold), 0);
	mark = seen_mark();
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(hold[1]);
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		dup2(hold[0], STDIN_FILENO);
		execl("/bin/sh", "sh", "-c", "read x # pc-map", (char *)NULL);
		_exit(127);
	}
	close(hold[0]);
	pump_until(PROCCACHE_EVENT_CLONE, pid, mark, 1);
	count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, &clone);
	v = map_entry(pid);
	cr_expect(key_eq(map_key(v.key), clone.key));
	cr_expect(key_eq(map_key(v.parent), self_key()));
	cr_expect(v.flags & PC_EXEC_VALUE_CLONE);

	cr_assert_eq(write(go[1], "g", 1), 1);
	ex = the_exec(pid, mark);
	v = map_entry(pid);
	cr_expect(key_eq(map_key(v.key), ex.key));
	cr_expect(key_eq(map_key(v.parent), self_key()),
		  "an exec after a clone keeps the clone's parent");
	cr_expect(v.flags & PC_EXEC_VALUE_EXEC);

	cr_assert_eq(write(hold[1], "\n", 1), 1);
	cr_assert_eq(reap(pid), 0);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	key = (uint32_t)pid;
	cr_expect_neq(bpf_map_lookup_elem(fd, &key, &v), 0, "exit removes the entry");
}

/* bpffs on a private mount of our own, so nothing outside this test sees it. */
Test(sensor_bpf, exec_map_pinned_and_unpinned)
{
	char dir[] = "/tmp/pc-bpffs.XXXXXX", pin[64];
	struct bpf_map_info a = { 0 }, b = { 0 };
	uint32_t la = sizeof(a), lb = sizeof(b);
	int fd;

	NEED_BPF();
	NEED_ADMIN();
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(unshare(CLONE_NEWNS), 0);
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount("bpffs", dir, "bpf", 0, NULL), 0, "%s", strerror(errno));
	snprintf(pin, sizeof(pin), "%s/execs", dir);
	{
		PROCCACHE_OPTS(proccache_sensor_opts, o,
			       .backend = PROCCACHE_BACKEND_BPF, .pin_path = pin);

		start_with(&o);
	}
	fd = bpf_obj_get(pin);
	cr_assert_geq(fd, 0, "pinned map: %s", strerror(errno));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &a, &la), 0);
	cr_assert_eq(bpf_obj_get_info_by_fd(proccache__sensor_exec_map_fd(pc), &b, &lb), 0);
	cr_expect_eq(a.id, b.id);
	close(fd);
	proccache__sensor_stop(pc);
	cr_expect_neq(access(pin, F_OK), 0, "stop removes the pin");
	umount(dir);
	rmdir(dir);
}

Test(sensor_bpf, classic_tracepoint_fallback)
{
	struct seen ex, cl, xt;
	size_t mark;
	pid_t pid;

	NEED_BPF();
	NEED_ADMIN();
	/* Classic tracepoints are found through tracefs: mount one privately
	 * when the host has none. */
	if (access("/sys/kernel/tracing/events/sched", F_OK) &&
	    access("/sys/kernel/debug/tracing/events/sched", F_OK)) {
		cr_assert_eq(unshare(CLONE_NEWNS), 0);
		cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
		cr_assert_eq(mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL), 0,
			     "%s", strerror(errno));
	}
	pc_sensor_bpf_force_classic = true;
	start();
	cr_expect_not_null(strstr(logbuf, "classic tracepoints"), "%s", logbuf);
	mark = seen_mark();
	pid = spawn("/bin/sh", (char *[]){ "sh", "-c", "exit 6", NULL });
	cr_assert_eq(WEXITSTATUS(reap(pid)), 6);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, &cl), 1);
	cr_expect(key_eq(cl.parent, self_key()));
	ex = the_exec(pid, mark);
	cr_expect(key_eq(ex.parent, self_key()));
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, &xt), 1);
	cr_expect_eq(xt.code, 6);
	cr_expect(key_eq(xt.key, ex.key));
}

Test(sensor_bpf, counters)
{
	struct proccache_sensor_stats st = { .sz = sizeof(st) };

	NEED_BPF();
	start();
	run((char *[]){ "/bin/true", NULL }, 0);
	cr_assert_eq(proccache__sensor_stats(pc, &st), 0);
	cr_expect_gt(st.scanned, 1);
	cr_expect_geq(st.records, 3);
	cr_expect_eq(st.malformed, 0);
	cr_expect_eq(st.lost, 0);
}

Test(sensor_bpf, errors_without_sensor_and_bad_opts)
{
	struct proccache_sensor_stats st = { .sz = sizeof(st) };

	new_cache();
	cr_expect_eq(proccache__sensor_fd(pc), -ENODEV);
	cr_expect_eq(proccache__sensor_consume(pc), -ENODEV);
	cr_expect_eq(proccache__sensor_poll(pc, 0), -ENODEV);
	cr_expect_eq(proccache__sensor_exec_map_fd(pc), -ENODEV);
	cr_expect_eq(proccache__sensor_stats(pc, &st), -ENODEV);
	cr_expect_null(proccache__sensor_backend(pc));
	cr_expect_eq(proccache__sensor_thread_start(pc), -ENODEV);
	proccache__sensor_stop(pc);
	cr_expect_eq(proccache__sensor_start(NULL, NULL), -EINVAL);
	{
		PROCCACHE_OPTS(proccache_sensor_opts, o, .ring_size = 12345);

		cr_expect_eq(proccache__sensor_start(pc, &o), -EINVAL);
	}
	{
		PROCCACHE_OPTS(proccache_sensor_opts, o, .args_max = 256 * 1024 + 1);

		cr_expect_eq(proccache__sensor_start(pc, &o), -EINVAL);
	}
	{
		PROCCACHE_OPTS(proccache_sensor_opts, o, .backend = 7);

		cr_expect_eq(proccache__sensor_start(pc, &o), -EINVAL);
	}
	cr_expect_null(proccache__sensor_backend(pc));
}

Test(sensor_bpf, start_twice_is_ealready)
{
	NEED_BPF();
	start();
	cr_expect_eq(proccache__sensor_start(pc, NULL), -EALREADY);
}

Test(sensor_bpf, unprivileged_start_fails_with_eperm)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int err;

		/* Dropping to nobody drops every capability. */
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		     setresuid(NOBODY, NOBODY, NOBODY)))
			_exit(2);
		if (has_caps(false))
			_exit(3);
		PROCCACHE_OPTS(proccache_sensor_opts, o,
			       .backend = PROCCACHE_BACKEND_BPF);

		proccache_set_log(log_sink, NULL);
		pc = proccache__new(NULL);
		err = proccache__sensor_start(pc, &o);
		if (err != -EPERM)
			_exit(4);
		if (!strstr(logbuf, "CAP_BPF") || !strstr(logbuf, "CAP_SYS_ADMIN"))
			_exit(5);
		proccache__free(pc);
		_exit(0);
	}
	st = reap(pid);
	cr_expect_eq(WEXITSTATUS(st), 0, "child step %d failed", WEXITSTATUS(st));
}

/* ---- the decoder ---------------------------------------------------------- */

#define ARGS_MAX 64

static union {
	struct pc_rec_exec rec;
	char bytes[4096];
} rb;

/* A well-formed exec record: /usr/bin/true in /tmp, args "true\0x\0". */
static size_t good_exec(void)
{
	static const char bin[] = "true\0bin\0usr";
	static const char cwd[] = "tmp";
	static const char cg[] = "docker-0123456789ab0123456789ab0123456789ab0123456789ab01234567.scope";
	static const char args[] = "true\0x";
	char *d = (char *)(&rb.rec + 1);

	memset(&rb, 0, sizeof(rb));
	rb.rec.hdr.type = PC_REC_EXEC;
	rb.rec.hdr.version = PC_REC_VERSION;
	rb.rec.pid = rb.rec.tid = 1234;
	rb.rec.ktime = 5000;
	rb.rec.parent = (struct pc_key){ .ktime = 4000, .pid = 1 };
	rb.rec.nlink = 1;
	rb.rec.binary_len = sizeof(bin);
	rb.rec.cwd_len = sizeof(cwd);
	rb.rec.cgroup_len = sizeof(cg);
	rb.rec.args_len = rb.rec.args_size = sizeof(args);
	memcpy(d, bin, sizeof(bin));
	d += sizeof(bin);
	memcpy(d, cwd, sizeof(cwd));
	d += sizeof(cwd);
	memcpy(d, cg, sizeof(cg));
	d += sizeof(cg);
	memcpy(d, args, sizeof(args));
	rb.rec.hdr.size = sizeof(rb.rec) + sizeof(bin) + sizeof(cwd) + sizeof(cg) +
			  sizeof(args);
	return rb.rec.hdr.size;
}

static struct pc_bpf_decoder dec = { .args_max = ARGS_MAX };

static int decode(size_t size)
{
	struct proccache_event ev;

	return pc_bpf_decode(&dec, &rb, size, &ev);
}

Test(decoder, good_exec_record)
{
	struct proccache_event ev;
	size_t size = good_exec();

	cr_assert_eq(pc_bpf_decode(&dec, &rb, size, &ev), 0);
	cr_expect_eq(ev.type, PROCCACHE_EVENT_EXEC);
	cr_expect_eq(ev.pid, 1234);
	cr_expect_str_eq(ev.binary, "/usr/bin/true");
	cr_expect_str_eq(ev.cwd, "/tmp");
	cr_expect_str_eq(ev.container_id,
			 "0123456789ab0123456789ab0123456789ab0123456789ab01234567");
	cr_expect_eq(ev.args_len, 7);
	cr_expect(memcmp(ev.args, "true\0x", 7) == 0);
	cr_expect_eq(ev.parent.ktime, 4000);
	cr_expect(ev.flags & PROCCACHE_F_EXECVE);
	cr_expect_not(ev.flags & PROCCACHE_F_UNLINKED);
}

Test(decoder, root_cwd_and_truncated_paths)
{
	struct proccache_event ev;
	char *d = (char *)(&rb.rec + 1);

	memset(&rb, 0, sizeof(rb));
	rb.rec.hdr = (struct pc_rec_hdr){ PC_REC_EXEC, PC_REC_VERSION, 0 };
	rb.rec.pid = rb.rec.tid = 7;
	rb.rec.ktime = 1;
	rb.rec.flags = PC_EXEC_F_BINARY_TRUNC;
	memcpy(d, "c\0b", 4);
	rb.rec.binary_len = 4;
	rb.rec.hdr.size = sizeof(rb.rec) + 4;
	cr_assert_eq(pc_bpf_decode(&dec, &rb, rb.rec.hdr.size, &ev), 0);
	cr_expect_str_eq(ev.binary, "b/c", "a cut walk has no leading slash");
	cr_expect_str_eq(ev.cwd, "/");
	cr_expect(ev.flags & PROCCACHE_F_BINARY_TRUNCATED);
	cr_expect(ev.flags & PROCCACHE_F_UNLINKED); /* nlink 0 */
}

Test(decoder, malformed_records_are_rejected)
{
	size_t size = good_exec();
	struct pc_rec_exec saved = rb.rec;

#define BAD(what, ...)                                                         \
	do {                                                                   \
		good_exec();                                                   \
		__VA_ARGS__;                                                   \
		cr_expect_eq(decode(size), -EBADMSG, what);                    \
	} while (0)

	cr_expect_eq(decode(size), 0);
	cr_expect_eq(decode(size - 1), -EBADMSG, "truncated record");
	cr_expect_eq(decode(sizeof(rb.rec) - 8), -EBADMSG, "shorter than its fixed part");
	cr_expect_eq(decode(4), -EBADMSG, "shorter than a header");
	cr_expect_eq(decode(0), -EBADMSG, "empty");
	BAD("size field too big", rb.rec.hdr.size++);
	BAD("size field too small", rb.rec.hdr.size--);
	BAD("other version", rb.rec.hdr.version = 2);
	BAD("unknown type", rb.rec.hdr.type = 9);
	BAD("lengths do not add up", rb.rec.cwd_len++);
	BAD("args beyond the limit", rb.rec.args_len = ARGS_MAX + 1);
	BAD("args longer than the process had", rb.rec.args_size = 3);
	BAD("cut args without the flag", rb.rec.args_size = ARGS_MAX + 10);
	BAD("flag without cut args", rb.rec.flags |= PC_EXEC_F_ARGS_TRUNC);
	BAD("args despite a read error", rb.rec.flags |= PC_EXEC_F_ARGS_ERR);
	BAD("unknown flag", rb.rec.flags |= 1u << 20);
	BAD("pid 0", rb.rec.pid = rb.rec.tid = 0);
	BAD("tid is not the pid", rb.rec.tid = 99);
	BAD("ktime 0", rb.rec.ktime = 0);
	BAD("key padding", rb.rec.parent.pad = 1);
	BAD("padding", rb.rec.pad = 1);
	BAD("path not terminated", ((char *)(&rb.rec + 1))[rb.rec.binary_len - 1] = 'x');
	BAD("empty path component", ((char *)(&rb.rec + 1))[0] = '\0');
	BAD("two strings as the cgroup name",
	    ((char *)(&rb.rec + 1))[rb.rec.binary_len + rb.rec.cwd_len + 3] = '\0');
	(void)saved;
	good_exec();
	rb.rec.binary_len = PC_PATH_MAX + 1;
	rb.rec.hdr.size += PC_PATH_MAX + 1 - 13;
	cr_expect_eq(decode(rb.rec.hdr.size), -EBADMSG, "binary longer than a path");
#undef BAD
}

Test(decoder, clone_and_exit_records)
{
	struct proccache_event ev;
	struct pc_rec_clone c = {
		.hdr = { PC_REC_CLONE, PC_REC_VERSION, sizeof(c) },
		.pid = 10, .tid = 10, .ktime = 99,
		.parent = { .ktime = 50, .pid = 9 },
	};
	struct pc_rec_exit x = {
		.hdr = { PC_REC_EXIT, PC_REC_VERSION, sizeof(x) },
		.pid = 10, .tid = 11, .ktime = 99, .time = 123, .status = 9,
	};

	cr_assert_eq(pc_bpf_decode(&dec, &c, sizeof(c), &ev), 0);
	cr_expect_eq(ev.type, PROCCACHE_EVENT_CLONE);
	cr_expect_eq(ev.parent.pid, 9);
	cr_expect_eq(pc_bpf_decode(&dec, &c, sizeof(c) - 1, &ev), -EBADMSG);
	c.tid = 11;
	cr_expect_eq(pc_bpf_decode(&dec, &c, sizeof(c), &ev), -EBADMSG, "clone of a thread");
	c.tid = 10;
	c.hdr.size = sizeof(c) + 8;
	cr_expect_eq(pc_bpf_decode(&dec, &c, sizeof(c), &ev), -EBADMSG);

	cr_assert_eq(pc_bpf_decode(&dec, &x, sizeof(x), &ev), 0);
	cr_expect_eq(ev.type, PROCCACHE_EVENT_EXIT);
	cr_expect_eq(ev.exit_signal, 9);
	cr_expect_eq(ev.exit_code, 0);
	x.status = 3 << 8;
	cr_assert_eq(pc_bpf_decode(&dec, &x, sizeof(x), &ev), 0);
	cr_expect_eq(ev.exit_code, 3);
	cr_expect_eq(ev.exit_signal, 0);
	x.status = 0x10000;
	cr_expect_eq(pc_bpf_decode(&dec, &x, sizeof(x), &ev), -EBADMSG);
	x.status = 0;
	x.pad = 1;
	cr_expect_eq(pc_bpf_decode(&dec, &x, sizeof(x), &ev), -EBADMSG);
	x.pad = 0;
	x.hdr.type = PC_REC_CLONE;
	cr_expect_eq(pc_bpf_decode(&dec, &x, sizeof(x), &ev), -EBADMSG,
		     "an exit record typed as a clone");
}
