/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What only the BPF sensor has, against the running kernel: ring overflow,
 * host epoll wake-ups, the exec map, classic tracepoints, errors; and its
 * record decoder. The real-process scenarios it shares with the netlink
 * sensor run from one table (sensor_scenarios.c, suite scenarios_bpf of
 * test_sensor_netlink), on the same harness (sensor_harness.c). Needs root (or CAP_BPF + CAP_PERFMON
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
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proccache/proccache.h"
#include "sensor_bpf.h"
#include "sensor_harness.h"

static void start_with(const struct proccache_sensor_opts *opts)
{
	start_sensor(opts, "bpf");
}

static void start(void)
{
	PROCCACHE_OPTS(proccache_sensor_opts, o, .backend = PROCCACHE_BACKEND_BPF);

	start_with(&o);
}

TestSuite(sensor_bpf, .fini = harness_fini);

/* The real-process scenarios (lineage, exits, args, cwd, memfd, set-id,
 * creds, pid reuse, the library thread, counters) run on this sensor from
 * the shared table: suite scenarios_bpf of test_sensor_netlink
 * (sensor_scenarios.c). Here: what only the BPF sensor has. */

/* ---- loss, maps, errors ---------------------------------------------------- */

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
	mark = mark_now();
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
	int bound_ms = (int)(PC_WAKE_NS * time_scale() / 1000000 + SCALED_MS(500));
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
 * less than quiet. Under a time scale both the deferred wake-up and the
 * bound stretch, so "at once" still means well before the deferred one. */
Test(sensor_bpf, lone_exec_wakes_host_epoll_at_once)
{
	uint64_t wake_ns = (uint64_t)(PC_WAKE_NS * time_scale());
	PROCCACHE_OPTS(proccache_sensor_opts, o, .backend = PROCCACHE_BACKEND_BPF,
		       .wakeup_ns = wake_ns);
	double best = 1e9, bound = (double)SCALED_MS(10);
	int ep;

	NEED_BPF();
	start_with(&o);
	ep = host_epoll();
	for (int i = 0; i < 8 && best > bound; i++) {
		struct timespec t0;
		size_t mark;
		pid_t pid;
		double ms;

		usleep((useconds_t)(2 * wake_ns / 1000));
		while (proccache__sensor_consume(pc) > 0)
			;
		mark = mark_now();
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid = spawn("/bin/true", (char *[]){ "true", NULL });
		ms = host_wait(ep, PROCCACHE_EVENT_EXEC, pid, mark, 1, &t0);
		best = ms < best ? ms : best;
		reap(pid);
	}
	cr_expect_leq(best, bound, "a lone exec took %.1f ms to reach the host (deferred wake-up is %llu ms)",
		      best, (unsigned long long)(wake_ns / 1000000));
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
	mark = mark_now();
	for (size_t i = 0; i < 40; i++) {
		pids[i] = spawn("/bin/true", (char *[]){ "true", NULL });
		reap(pids[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < 40; i++)
		host_wait(ep, PROCCACHE_EVENT_EXIT, pids[i], mark, 1, &t0);
	ms = elapsed_ms(&t0);
	cr_expect_leq(ms, PC_WAKE_NS / 1e6 + (double)SCALED_MS(250),
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
	mark = mark_now();
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
	mark = mark_now();
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

/* Does this kernel have bpf_timer? Asked of the kernel directly, as the
 * loader does, to know which set it must pick. */
static bool kernel_has_timer(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_timer_init,
				       NULL) > 0;
}

static uint32_t running_variant(void)
{
	struct proccache_sensor_stats st = { .sz = sizeof(st) };

	cr_assert_eq(proccache__sensor_stats(pc, &st), 0);
	return st.variant;
}

/* One program set, forced: it loads, says so, and a child's clone, exec
 * (with its args) and exit arrive with the right keys and status. */
static void check_variant(uint32_t variant, const char *name)
{
	char args[] = "sh\0-c\0exit 6";
	struct seen cl, ex, xt;
	struct proccache_process *p;
	size_t mark;
	pid_t pid;

	pc_sensor_bpf_force_variant = variant;
	start();
	cr_expect_not_null(strstr(logbuf, name), "%s", logbuf);
	cr_expect_eq(running_variant(), variant);
	mark = mark_now();
	pid = spawn("/bin/sh", (char *[]){ "sh", "-c", "exit 6", NULL });
	cr_assert_eq(WEXITSTATUS(reap(pid)), 6);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_CLONE, pid, mark, 0, &cl), 1);
	cr_expect(key_eq(cl.parent, self_key()));
	ex = the_exec(pid, mark);
	cr_expect(key_eq(ex.parent, self_key()));
	p = lookup(ex.key);
	cr_expect(args_eq(p, args, sizeof(args)), "args of the exec");
	cr_expect_str_eq(proccache_process__binary(p), "/usr/bin/dash");
	proccache_process__unref(p);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, mark, 0, &xt), 1);
	cr_expect_eq(xt.code, 6);
	cr_expect(key_eq(xt.key, ex.key));
}

Test(sensor_bpf, classic_tracepoint_fallback)
{
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
	check_variant(PROCCACHE_BPF_VARIANT_TRACEPOINT, "classic tracepoints");
}

/* The set for kernels without bpf_timer (5.8 to 5.14) works on any. */
Test(sensor_bpf, tp_btf_without_timer)
{
	NEED_BPF();
	check_variant(PROCCACHE_BPF_VARIANT_TP_BTF, "tp_btf, a wake-up per record");
}

Test(sensor_bpf, tp_btf_with_timer)
{
	NEED_BPF();
	SKIP_UNLESS(kernel_has_timer(), "this kernel has no bpf_timer (Linux 5.15+)");
	check_variant(PROCCACHE_BPF_VARIANT_TP_BTF_TIMER, "tp_btf, timer wake-ups");
}

/* Without forcing, the loader picks the timer set exactly where the
 * kernel has bpf_timer, and the stats say which set runs. The line on
 * stderr tells the kernel matrix's reader. */
Test(sensor_bpf, probed_variant_is_reported)
{
	uint32_t want;
	struct utsname u;

	NEED_BPF();
	start();
	want = kernel_has_timer() ? PROCCACHE_BPF_VARIANT_TP_BTF_TIMER :
				    PROCCACHE_BPF_VARIANT_TP_BTF;
	cr_expect_eq(running_variant(), want, "%s", logbuf);
	uname(&u);
	fprintf(stderr, "sensor_bpf: kernel %s runs BPF variant %u\n", u.release,
		running_variant());
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
	BAD("other version", rb.rec.hdr.version = PC_REC_VERSION + 1);
	BAD("env without env_max", rb.rec.env_size = 4);
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

/* good_exec() with @env (its @env_size bytes in the process, @len in the
 * record) after the args, decoded with an env_max of 16. */
static size_t with_env(const char *env, uint32_t env_size, uint32_t len,
		       uint32_t flags)
{
	size_t size = good_exec();

	memcpy((char *)&rb + size, env, len);
	rb.rec.env_size = env_size;
	rb.rec.env_len = len;
	rb.rec.flags |= flags;
	rb.rec.hdr.size = (uint32_t)(size + len);
	return rb.rec.hdr.size;
}

Test(decoder, environment)
{
	struct pc_bpf_decoder d = { .args_max = ARGS_MAX, .env_max = 16 };
	struct proccache_event ev;
	size_t size;

	size = with_env("A=1\0TOKEN=x", 12, 12, 0);
	cr_assert_eq(pc_bpf_decode(&d, &rb, size, &ev), 0);
	cr_expect_eq(ev.env_len, 12);
	cr_expect(memcmp(ev.env, "A=1\0TOKEN=x", 12) == 0);
	cr_expect_eq(ev.args_len, 7, "the args end where the env begins");
	cr_expect_not(ev.flags & PROCCACHE_F_ENV_TRUNC);

	size = with_env("A=1\0LONG=xxxxxxx", 40, 16, PC_EXEC_F_ENV_TRUNC);
	cr_assert_eq(pc_bpf_decode(&d, &rb, size, &ev), 0);
	cr_expect_eq(ev.env_len, 16);
	cr_expect(ev.flags & PROCCACHE_F_ENV_TRUNC);

	size = with_env("", 40, 0, PC_EXEC_F_ENV_ERR);
	cr_assert_eq(pc_bpf_decode(&d, &rb, size, &ev), 0);
	cr_expect_eq(ev.env_len, 0);
	cr_expect_null(ev.env);

	/* Claims the programs cannot make. */
	size = with_env("A=1", 40, 4, PC_EXEC_F_ENV_TRUNC);
	cr_expect_eq(pc_bpf_decode(&d, &rb, size, &ev), -EBADMSG, "cut short of the cap");
	size = with_env("A=1", 40, 4, 0);
	cr_expect_eq(pc_bpf_decode(&d, &rb, size, &ev), -EBADMSG, "cut without the flag");
	size = with_env("A=1", 4, 4, PC_EXEC_F_ENV_TRUNC);
	cr_expect_eq(pc_bpf_decode(&d, &rb, size, &ev), -EBADMSG, "flag without a cut");
	size = with_env("A=1", 4, 4, PC_EXEC_F_ENV_ERR);
	cr_expect_eq(pc_bpf_decode(&d, &rb, size, &ev), -EBADMSG, "env despite a read error");
	size = with_env("A=1", 4, 4, 0);
	cr_expect_eq(pc_bpf_decode(&d, &rb, size - 1, &ev), -EBADMSG, "record cut short");
	cr_expect_eq(pc_bpf_decode(&dec, &rb, size, &ev), -EBADMSG,
		     "env from programs loaded without it");
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
