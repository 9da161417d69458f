/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor: the shared real-process scenarios (on netlink, and on
 * BPF from the same table), what only the proc connector has (its message
 * checks, the socket filter, forged senders), backend selection, and exec
 * args under a storm. The kernel tests need root and skip, saying so,
 * without it; the decoder tests need nothing.
 *
 * Linked with the static library for the decoder and the sensor's socket
 * (private interfaces). Run one at a time (--jobs 1): they count processes.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "netlink_kmsg.h"
#include "netlink_wire.h"
#include "sensor.h"
#include "sensor_netlink.h"
#include "sensor_harness.h"
#include "sensor_scenarios.h"

/* ---- the shared scenarios, on both backends ----------------------------- */

TestSuite(scenarios_netlink, .fini = sc_fini);
TestSuite(scenarios_bpf, .fini = sc_fini);

#define ON_NETLINK(name)                                                       \
	Test(scenarios_netlink, name, .timeout = 120) { sc_##name(&sc_netlink); }
#define ON_BPF(name)                                                           \
	Test(scenarios_bpf, name, .timeout = 120) { sc_##name(&sc_bpf); }
SC_SCENARIOS(ON_NETLINK)
SC_SCENARIOS(ON_BPF)

/* ---- helpers ------------------------------------------------------------- */

static struct proccache *start_netlink(void)
{
	int err;
	struct proccache *nl = other_started(PROCCACHE_BACKEND_NETLINK, &err);

	cr_assert_eq(err, 0, "netlink start: %s\n%s", strerror(-err), logbuf);
	return nl;
}

/* ---- what only the proc connector has ------------------------------------- */

static uint32_t sensor_port(struct proccache *cache)
{
	struct sockaddr_nl addr;
	socklen_t len = sizeof(addr);
	int sock = pc_sensor_netlink_socket(pc_sensor_backend(cache));

	cr_assert_geq(sock, 0);
	cr_assert_eq(getsockname(sock, (struct sockaddr *)&addr, &len), 0);
	return addr.nl_pid;
}

static void send_to(int sock, uint32_t port, const void *buf, size_t len)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = port };

	cr_assert_eq(sendto(sock, buf, len, 0, (struct sockaddr *)&to, sizeof(to)),
		     (ssize_t)len, "sendto: %s", strerror(errno));
}

Test(netlink, forged_messages_are_rejected_and_counted, .timeout = 60)
{
	struct proccache_sensor_stats before, after;
	struct proccache_process *p;
	struct proccache_key key;
	struct kmsg m;
	char junk[600];
	uint32_t port;
	pid_t victim;
	int go, sock, sent = 0;

	NEED_ROOT();
	struct proccache *cache = start_netlink();

	victim = held_sh("pc-forge-victim", &go);
	p = wait_live(cache, victim, PROCCACHE_F_EXECVE);
	key = proccache_process__key(p);
	proccache_process__unref(p);
	pump_for(cache, 50);
	before = stats_of(cache);
	port = sensor_port(cache);

	/* Any local process may unicast to our port. */
	sock = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR);
	cr_assert_geq(sock, 0, "socket: %s", strerror(errno));
	m = kmsg(PROC_EVENT_EXIT); /* word for word what the kernel would say */
	m.ev.event_data.exit.process_pid = victim;
	m.ev.event_data.exit.process_tgid = victim;
	m.ev.event_data.exit.exit_code = 9;
	send_to(sock, port, &m, sizeof(m)), sent++;
	m = kmsg(PROC_EVENT_EXEC);
	m.ev.event_data.exec.process_pid = victim;
	m.ev.event_data.exec.process_tgid = victim;
	send_to(sock, port, &m, sizeof(m)), sent++;
	m = kmsg(PROC_EVENT_FORK);
	m.ev.event_data.fork.child_pid = 1;
	m.ev.event_data.fork.child_tgid = 1;
	send_to(sock, port, &m, sizeof(m)), sent++;
	memset(junk, 0xa5, sizeof(junk));
	send_to(sock, port, junk, 3), sent++;
	send_to(sock, port, junk, sizeof(junk)), sent++;
	close(sock);

	pump_for(cache, 200);
	after = stats_of(cache);
	cr_expect_eq(after.foreign - before.foreign, (uint64_t)sent,
		     "forged messages counted: %llu of %d",
		     (unsigned long long)(after.foreign - before.foreign), sent);
	p = proccache__lookup_pid(cache, (uint32_t)victim);
	cr_assert_not_null(p, "a forged exit ended the victim");
	cr_expect(proccache_process__key(p).ktime == key.ktime,
		  "a forged exec replaced the victim's image");
	proccache_process__unref(p);
	release(victim, go);
	proccache__free(cache);
}

static void *thread_noop(void *arg)
{
	return arg;
}

/* A process that starts and joins @n threads, then exits. */
static void thread_storm(int n)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < n; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, thread_noop, NULL) ||
			    pthread_join(t, NULL))
				_exit(1);
		}
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(status, 0);
}

Test(netlink, thread_events_are_dropped_in_the_kernel, .timeout = 60)
{
	NEED_ROOT();
	struct proccache *cache = start_netlink();

	thread_storm(300);
	pump_for(cache, 200);
	cr_expect_eq(pc_sensor_netlink_unfiltered(pc_sensor_backend(cache)), 0,
		     "thread events reached user space despite the socket filter");
	proccache__free(cache);
}

Test(netlink, without_the_filter_thread_events_reach_user_space, .timeout = 60)
{
	NEED_ROOT();
	pc_sensor_netlink_no_filter = true;
	struct proccache *cache = start_netlink();

	thread_storm(300);
	pump_for(cache, 200);
	/* the control: proves the test above can fail */
	cr_expect_geq(pc_sensor_netlink_unfiltered(pc_sensor_backend(cache)), 600,
		      "300 thread forks and exits, %llu seen",
		      (unsigned long long)pc_sensor_netlink_unfiltered(pc_sensor_backend(cache)));
	proccache__free(cache);
}

/* Same process, both sensors at once: keys of the same form. */
Test(netlink, keys_match_the_bpf_sensor, .timeout = 60)
{
	struct proccache_process *pn, *pb, *cn, *cb;
	struct proccache_key kn, kb;
	struct proccache *nl, *bpf;
	uint64_t tick = pc_tick_ns();
	pid_t pid;
	int go, err;
	size_t ln, lb;
	const char *an, *ab;

	NEED_ROOT();
	nl = start_netlink();
	bpf = other_started(PROCCACHE_BACKEND_BPF, &err);
	cr_assert_eq(err, 0, "bpf start: %s", strerror(-err));
	pid = held_sh("pc-both-sensors", &go);
	pn = wait_live(nl, pid, PROCCACHE_F_EXECVE);
	pb = wait_live(bpf, pid, PROCCACHE_F_EXECVE);
	kn = proccache_process__key(pn);
	kb = proccache_process__key(pb);
	cr_expect_eq(kn.pid, kb.pid);
	/* the connector's stamp is taken a few microseconds after the
	 * tracepoint's, and converted from CLOCK_MONOTONIC; 2 ms, scaled as
	 * the other time limits are: an emulated guest (the kernel matrix)
	 * was seen 6.1 ms apart */
	cr_expect_lt(kn.ktime > kb.ktime ? kn.ktime - kb.ktime : kb.ktime - kn.ktime,
		     SCALED_MS(2) * 1000000ull, "exec times %llu and %llu",
		     (unsigned long long)kn.ktime, (unsigned long long)kb.ktime);
	an = proccache_process__args(pn, &ln);
	ab = proccache_process__args(pb, &lb);
	cr_expect(ln == lb && !memcmp(an, ab, ln), "args differ");
	cr_expect_str_eq(proccache_process__binary(pn), proccache_process__binary(pb));
	cr_expect_str_eq(proccache_process__cwd(pn), proccache_process__cwd(pb));
	for (int c = PROCCACHE_CRED_UID; c <= PROCCACHE_CRED_AUID; c++)
		cr_expect_eq(proccache_process__cred(pn, c), proccache_process__cred(pb, c));
	for (int i = PROCCACHE_NS_UTS; i <= PROCCACHE_NS_USER; i++)
		cr_expect_eq(proccache_process__ns(pn, i), proccache_process__ns(pb, i));
	cr_expect_eq(proccache_process__cgroup_id(pn), proccache_process__cgroup_id(pb));
	cr_expect_eq(proccache_process__binary_inode(pn),
		     proccache_process__binary_inode(pb));
	/* clone keys: /proc's start time is the exact one cut to a tick */
	kn = proccache_process__parent_key(pn);
	kb = proccache_process__parent_key(pb);
	cn = proccache__lookup(nl, &kn);
	cb = proccache__lookup(bpf, &kb);
	cr_assert(cn && cb);
	cr_expect_eq(proccache_process__start_time(pn),
		     proccache_process__start_time(pb) / tick * tick);
	cr_expect_eq(proccache_process__pid(cn), proccache_process__pid(cb));
	proccache_process__unref(cn);
	proccache_process__unref(cb);
	proccache_process__unref(pn);
	proccache_process__unref(pb);
	release(pid, go);
	proccache__free(bpf);
	proccache__free(nl);
}

/* ---- selection --------------------------------------------------------------- */

/* Make bpf(2) fail as a seccomp profile of a container would. */
static void forbid_bpf(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = code };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

Test(selection, auto_falls_back_to_netlink_and_says_why, .timeout = 60)
{
	struct proccache_sensor_stats st;
	struct proccache *cache;
	pid_t pid;
	int go, err;

	NEED_ROOT();
	forbid_bpf();
	cache = other_started(PROCCACHE_BACKEND_AUTO, &err);
	cr_assert_eq(err, 0, "auto start: %s\n%s", strerror(-err), logbuf);
	cr_expect_str_eq(proccache__sensor_backend(cache), "netlink");
	st = stats_of(cache);
	cr_expect_eq(st.backend, PROCCACHE_BACKEND_NETLINK);
	cr_expect_eq(st.fallback_errno, -EPERM);
	cr_expect_eq(st.variant, PROCCACHE_BPF_VARIANT_NONE);
	cr_expect_not_null(strstr(logbuf, "falling back to the netlink"), "%s", logbuf);
	pid = held_sh("pc-fallback", &go);
	proccache_process__unref(wait_live(cache, pid, PROCCACHE_F_EXECVE));
	release(pid, go);
	proccache__free(cache);
}

Test(selection, explicit_bpf_fails_instead_of_falling_back, .timeout = 60)
{
	struct proccache *cache;
	int err;

	NEED_ROOT();
	forbid_bpf();
	cache = other_started(PROCCACHE_BACKEND_BPF, &err);
	cr_expect_eq(err, -EPERM, "%s", strerror(-err));
	cr_expect_null(proccache__sensor_backend(cache));
	cr_expect_null(strstr(logbuf, "netlink"), "no fallback: %s", logbuf);
	proccache__free(cache);
}

Test(selection, auto_prefers_bpf, .timeout = 60)
{
	struct proccache_sensor_stats st;
	struct proccache *cache;
	int err;

	NEED_ROOT();
	cache = other_started(PROCCACHE_BACKEND_AUTO, &err);
	cr_assert_eq(err, 0, "%s", strerror(-err));
	cr_expect_str_eq(proccache__sensor_backend(cache), "bpf");
	st = stats_of(cache);
	cr_expect_eq(st.backend, PROCCACHE_BACKEND_BPF);
	cr_expect_eq(st.fallback_errno, 0);
	cr_expect_neq(st.variant, PROCCACHE_BPF_VARIANT_NONE);
	cr_expect_eq(proccache__sensor_exec_map_fd(cache) >= 0, true);
	proccache__free(cache);
}

Test(selection, explicit_netlink, .timeout = 60)
{
	struct proccache_sensor_stats st;
	struct proccache *cache;

	NEED_ROOT();
	cache = start_netlink();
	st = stats_of(cache);
	cr_expect_eq(st.backend, PROCCACHE_BACKEND_NETLINK);
	cr_expect_eq(st.fallback_errno, 0);
	cr_expect_eq(st.variant, PROCCACHE_BPF_VARIANT_NONE);
	cr_expect_eq(proccache__sensor_exec_map_fd(cache), -ENODEV);
	cr_expect_geq(proccache__sensor_fd(cache), 0);
	cr_expect_eq(proccache__sensor_start(cache, NULL), -EALREADY);
	proccache__sensor_stop(cache);
	cr_expect_null(proccache__sensor_backend(cache));
	proccache__free(cache);
}

struct exec_watch {
	uint32_t pid;
	bool seen;
};

static int note_exec(struct proccache *c, const struct proccache_event *ev,
		     const struct proccache_process *process,
		     const struct proccache_process *parent, void *userdata)
{
	struct exec_watch *w = userdata;

	if (ev->pid == w->pid)
		w->seen = true;
	return 0;
}

/*
 * The runner's timer (lib/sensor.c): a lone exec waits out the settle time
 * and is ingested when the timer fires, nothing else arriving; then the fd
 * goes quiet. A timer that fired and was not taken would leave the fd
 * readable and a host's loop spinning.
 */
Test(netlink, the_timer_releases_a_lone_exec_then_goes_quiet, .timeout = 60)
{
	struct proccache *cache = start_netlink();
	struct pollfd pfd = { .fd = proccache__sensor_fd(cache),
			      .events = POLLIN };
	struct exec_watch w = { 0 };
	unsigned int wakeups = 0;
	uint64_t until;
	pid_t pid;
	int go;

	cr_assert_not_null(proccache__subscribe(cache, PROCCACHE_EVENT_EXEC,
						note_exec, &w, NULL));
	proccache__sensor_consume(cache);
	/* it execs and waits: its exec is the last event for a while */
	pid = held_sh("pc-lone-exec", &go);
	cr_assert_gt(pid, 0);
	w.pid = (uint32_t)pid;
	/* Only the host's own loop runs: poll, then consume. */
	until = now_ms() + (uint64_t)(5000 * time_scale());
	while (!w.seen && now_ms() < until)
		if (poll(&pfd, 1, 100) > 0)
			cr_assert_geq(proccache__sensor_consume(cache), 0);
	cr_assert(w.seen, "the exec of %d never left the settle FIFO", pid);
	/* Quiet: a spinning fd would wake thousands of times in 500 ms. */
	until = now_ms() + 500;
	while (now_ms() < until) {
		if (poll(&pfd, 1, 50) > 0) {
			wakeups++;
			cr_assert_geq(proccache__sensor_consume(cache), 0);
		}
	}
	cr_expect_lt(wakeups, 100, "%u wake-ups in 500 ms of a quiet host",
		     wakeups);
	cr_log_info("%u wake-ups in 500 ms after the exec", wakeups);
	release(pid, go);
	proccache__free(cache);
}

/*
 * procfs_reads and procfs_ns: a child's fork and exec are each read (its
 * start time, then its image), and what the reads took lies within the
 * time the test waited for them. Other processes' events may add reads,
 * never time outside that span: the reads run in this thread's consume.
 */
Test(netlink, proc_reads_are_counted_with_their_time, .timeout = 60)
{
	struct proccache *cache = start_netlink();
	struct proccache_sensor_stats before, after;
	struct exec_watch w = { 0 };
	uint64_t t0, until, span_ns;
	pid_t pid;
	int go;

	cr_assert_not_null(proccache__subscribe(cache, PROCCACHE_EVENT_EXEC,
						note_exec, &w, NULL));
	proccache__sensor_consume(cache);
	before = stats_of(cache);
	cr_expect_eq(before.procfs_ns == 0, before.procfs_reads == 0);
	t0 = now_ms();
	pid = held_sh("pc-read-count", &go);
	cr_assert_gt(pid, 0);
	w.pid = (uint32_t)pid;
	until = now_ms() + (uint64_t)(5000 * time_scale());
	while (!w.seen && now_ms() < until)
		cr_assert_geq(proccache__sensor_poll(cache, 100), 0);
	cr_assert(w.seen, "the exec of %d was not seen", pid);
	after = stats_of(cache);
	span_ns = (now_ms() - t0 + 1) * 1000000u;
	cr_expect_geq(after.procfs_reads - before.procfs_reads, 2,
		      "%llu reads for a fork and an exec",
		      (unsigned long long)(after.procfs_reads - before.procfs_reads));
	cr_expect_gt(after.procfs_ns, before.procfs_ns);
	cr_expect_leq(after.procfs_ns - before.procfs_ns, span_ns,
		      "%llu ns of reads in %llu ns",
		      (unsigned long long)(after.procfs_ns - before.procfs_ns),
		      (unsigned long long)span_ns);
	/* A 1.4 caller's struct ends before them: nothing is written past. */
	memset(&before, 0xa5, sizeof(before));
	before.sz = offsetof(struct proccache_sensor_stats, procfs_reads);
	cr_assert_eq(proccache__sensor_stats(cache, &before), 0);
	cr_expect_geq(before.records, after.records);
	cr_expect_eq(before.procfs_reads, 0xa5a5a5a5a5a5a5a5ull);
	cr_expect_eq(before.procfs_ns, 0xa5a5a5a5a5a5a5a5ull);
	release(pid, go);
	proccache__free(cache);
}

/* Without privileges the kernel decides: 6.6 and later let anyone listen;
 * older ones refuse, and the error must say what is missing. */
Test(selection, unprivileged_netlink_works_or_says_why, .timeout = 60)
{
	int status;
	pid_t pid;

	NEED_ROOT();
	pid = fork();
	if (pid == 0) {
		struct proccache *cache;
		int err;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(2);
		cache = other_started(PROCCACHE_BACKEND_NETLINK, &err);
		if (err == -EPERM)
			_exit(strstr(logbuf, "CAP_NET_ADMIN") ? 0 : 3);
		if (err)
			_exit(4);
		proccache__free(cache);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect_eq(WEXITSTATUS(status), 0, "step %d", WEXITSTATUS(status));
}

/* ---- reading less: proccache_sensor_opts.netlink_skip ------------------------ */

static void start_skipping(uint32_t skip)
{
	PROCCACHE_OPTS(proccache_sensor_opts, so,
		       .backend = PROCCACHE_BACKEND_NETLINK,
		       .netlink_skip = skip);

	NEED_ROOT();
	start_sensor(&so, "netlink");
}

/* "sh -c 'cd / && exec sleep 30'" started in a new directory: the cached
 * entry of sleep's image, whose cwd is "/" while sh's was that directory.
 * Read while it lives (the sensor reads at the event), then ended. */
static struct proccache_process *cd_then_exec(void)
{
	static char *const argv[] = { "/bin/sh", "-c",
				      "cd / && exec /bin/sleep 30", NULL };
	char dir[] = "/tmp/pc-skip.XXXXXX";
	struct seen ex;
	size_t mark;
	pid_t pid;

	cr_assert_not_null(mkdtemp(dir));
	mark = mark_now();
	pid = spawn_full(dir, -1, argv[0], argv);
	pump_until(PROCCACHE_EVENT_EXEC, pid, mark, 2);
	kill(pid, SIGKILL);
	reap(pid);
	rmdir(dir);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXEC, pid, mark, 1, &ex), 2);
	return lookup(ex.key);
}

/* The control of the next test: read, the cwd is the new one. */
Test(netlink, a_full_read_sees_a_cwd_changed_before_exec, .fini = harness_fini,
     .timeout = 60)
{
	struct proccache_process *p;

	start_skipping(0);
	p = cd_then_exec();
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_VANISHED);
	cr_expect_str_eq(proccache_process__cwd(p), "/");
	proccache_process__unref(p);
}

/*
 * Every group skipped: binary and args are still read and right; the
 * skipped fields are the replaced image's, as documented, down from this
 * process (the fork's image): its cwd, not the one the shell changed to.
 */
Test(netlink, skipped_fields_are_the_replaced_images, .fini = harness_fini,
     .timeout = 60)
{
	static const char args[] = "/bin/sleep\0" "30";
	struct proccache_process *p, *self;
	char cwd[] = "/tmp/pc-skip-self.XXXXXX", target[64];
	unsigned long mnt;

	/* ours, as the start-up scan reads it */
	cr_assert_not_null(mkdtemp(cwd));
	cr_assert_eq(chdir(cwd), 0);
	start_skipping(PROCCACHE_FIELD_ALL);
	p = cd_then_exec();
	cr_assert_eq(chdir("/"), 0);
	rmdir(cwd);
	self = lookup(self_key());
	cr_expect_not(proccache_process__flags(p) & PROCCACHE_F_VANISHED);
	cr_expect(args_eq(p, args, sizeof(args)));
	cr_expect_str_eq(proccache_process__binary(p), "/usr/bin/sleep");
	cr_expect_str_eq(proccache_process__cwd(p), cwd,
			 "a skipped cwd is the forking process's");
	cr_assert_gt(readlink("/proc/self/ns/mnt", target, sizeof(target) - 1), 0);
	cr_assert_eq(sscanf(target, "mnt:[%lu]", &mnt), 1);
	cr_expect_eq(proccache_process__ns(p, PROCCACHE_NS_MNT), mnt);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), geteuid());
	cr_expect_eq(proccache_process__cgroup_id(p),
		     proccache_process__cgroup_id(self));
	cr_expect_neq(proccache_process__cgroup_id(p), 0);
	proccache_process__unref(self);
	proccache_process__unref(p);
}

/* Run "@bin 30" (a sleep) as nobody: its exec's entry, read while it
 * lives; then it is ended. */
static struct proccache_process *run_as_nobody(const char *bin)
{
	struct seen ex;
	size_t mark = mark_now();
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(125);
		execl(bin, "sleep", "30", (char *)NULL);
		_exit(127);
	}
	pump_until(PROCCACHE_EVENT_EXEC, pid, mark, 1);
	kill(pid, SIGKILL);
	reap(pid);
	ex = the_exec(pid, mark);
	return lookup(ex.key);
}

/*
 * The creds skipped: an exec keeps those the process had, and the kernel
 * reports every uid and gid change (commit_creds()): setresuid() before the
 * exec, and a set-user-ID binary's own change at its exec, so the ids stay
 * right. (The caps do not: docs/sensor-netlink.md, "Reading less".)
 */
Test(netlink, skipped_creds_follow_the_kernels_id_events,
     .fini = harness_fini, .timeout = 60)
{
	char dir[64], bin[96];
	struct proccache_process *p;

	NEED_ADMIN();
	start_skipping(PROCCACHE_FIELD_ALL);
	p = run_as_nobody("/bin/sleep");
	cr_expect_str_eq(proccache_process__binary(p), "/usr/bin/sleep");
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), NOBODY);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), NOBODY);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_GID), NOBODY);
	proccache_process__unref(p);

	if (!sc_make_setuid_copy("/bin/sleep", dir, sizeof(dir), bin,
				 sizeof(bin))) {
		rmdir(dir);
		cr_skip_test("the temporary directory is mounted nosuid");
	}
	p = run_as_nobody(bin);
	cr_expect_str_eq(proccache_process__binary(p), bin);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_UID), NOBODY);
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_EUID), 0,
		     "a set-user-ID exec's euid");
	cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_SUID), 0);
	proccache_process__unref(p);
	unlink(bin);
	rmdir(dir);
}

/* A group the library does not know fails start, saying so. */
Test(netlink, an_unknown_skip_group_fails_start, .fini = harness_fini,
     .timeout = 60)
{
	PROCCACHE_OPTS(proccache_sensor_opts, so,
		       .backend = PROCCACHE_BACKEND_NETLINK,
		       .netlink_skip = PROCCACHE_FIELD_ALL + 1);

	new_cache();
	cr_expect_eq(proccache__sensor_start(pc, &so), -EINVAL);
	cr_expect_null(proccache__sensor_backend(pc));
	cr_expect(strstr(logbuf, "netlink_skip"), "log: %s", logbuf);
}

/* ---- args under an exec storm ------------------------------------------------ */

struct storm_seen {
	uint32_t pid;
	bool vanished;
	int k; /* the process's k-th exec since its fork */
	char args[64];
};

static struct storm_seen *storm;
static size_t nstorm, capstorm;
static uint8_t execs_since_fork[PC_NL_PID_LIMIT];

static int on_storm_exec(struct proccache *cache, const struct proccache_event *ev,
			 const struct proccache_process *p,
			 const struct proccache_process *parent, void *userdata)
{
	size_t len;
	const char *args;

	(void)cache;
	(void)parent;
	(void)userdata;
	if (ev->type == PROCCACHE_EVENT_CLONE) {
		execs_since_fork[ev->pid] = 0;
		return 0;
	}
	if (!p || (proccache_process__flags(p) & PROCCACHE_F_PROCFS))
		return 0;
	if (nstorm == capstorm) {
		capstorm = capstorm ? capstorm * 2 : 4096;
		storm = realloc(storm, capstorm * sizeof(*storm));
	}
	args = proccache_process__args(p, &len);
	storm[nstorm].pid = ev->pid;
	storm[nstorm].vanished = proccache_process__flags(p) & PROCCACHE_F_VANISHED;
	storm[nstorm].k = execs_since_fork[ev->pid]++;
	proccache_args_decode(args, len, 1, storm[nstorm].args,
			      sizeof(storm[nstorm].args));
	nstorm++;
	return 0;
}

struct storm_result {
	size_t ok, none, wrong;
};

/*
 * Chains of storm-exec images, each with its own args, each image living
 * @usec before the next exec, while the sensor thread reads /proc. The
 * k-th exec since a fork must show "TAG CHAIN-k", or nothing (vanished).
 */
static struct storm_result exec_storm(int iters, const char *usec)
{
	const char *exe = getenv("PC_STORM_EXEC");
	const int workers = 2, chain = 3;
	struct storm_result r = { 0 };
	struct proccache *cache;

	NEED_ROOT();
	if (!exe || access(exe, X_OK))
		cr_skip_test("PC_STORM_EXEC is not set (meson test sets it)");
	cache = start_netlink();
	cr_assert_not_null(proccache__subscribe(cache, PROCCACHE_EVENT_EXEC |
							    PROCCACHE_EVENT_CLONE,
						on_storm_exec, NULL, NULL));
	cr_assert_eq(proccache__sensor_thread_start(cache), 0);
	for (int w = 0; w < workers; w++) {
		if (fork() == 0) {
			for (int i = 0; i < iters; i++) {
				char tag[32];
				pid_t pid = fork();

				snprintf(tag, sizeof(tag), "t%d.%d", w, i);
				if (pid == 0) {
					execl(exe, "storm-exec", tag, "3", usec, (char *)NULL);
					_exit(127);
				}
				waitpid(pid, NULL, 0);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < workers; w++)
		wait(NULL);
	usleep(500000);
	cr_assert_eq(proccache__sensor_thread_stop(cache), 0);

	for (size_t i = 0; i < nstorm; i++) {
		char tag[32];
		int n;

		if (storm[i].vanished && !storm[i].args[0]) {
			r.none++;
			continue;
		}
		if (sscanf(storm[i].args, "%31s %d", tag, &n) != 2 || tag[0] != 't')
			continue;
		if (n == chain - storm[i].k)
			r.ok++;
		else
			r.wrong++;
	}
	cr_log_info("storm, images living %s us: %zu execs with their own args, %zu without (vanished), %zu wrong",
		    usec, r.ok, r.none, r.wrong);
	proccache__free(cache);
	return r;
}

/* The worst case: every image execs again at once, the last one exits at
 * once. Many execs stay without args; none may get another's. */
Test(netlink, args_never_go_to_a_later_image, .timeout = 300)
{
	struct storm_result r = exec_storm(300, "0");

	cr_expect_eq(r.wrong, 0, "%zu execs got a later image's args", r.wrong);
}

/* Images that live 20 ms, as short commands do: attributed. */
Test(netlink, args_of_short_lived_commands, .timeout = 300)
{
	struct storm_result r = exec_storm(60, "20000");

	cr_expect_eq(r.wrong, 0, "%zu execs got a later image's args", r.wrong);
	/* 2 workers x 60 chains of 4 execs */
	cr_expect_geq(r.ok, 9 * 480 / 10, "only %zu of 480 execs attributed", r.ok);
}
