/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF sensor's cost on an exec storm, beside Debian's execsnoop
 * (libbpf-tools) and forkstat in the same run:
 *
 *   - BPF ns per exec, fork and exit run of each monitor's programs, from
 *     kernel.bpf_stats_enabled (set for the run, restored after it, also
 *     when the benchmark fails or is killed by a signal it can catch);
 *   - CPU of the consuming process per event it handled;
 *   - events lost;
 *   - event-to-callback latency: the event's kernel time (the exec key's
 *     ktime, the clone's start time: CLOCK_BOOTTIME) against
 *     CLOCK_BOOTTIME in the callback;
 *   - the bare cost of each BPF step on this machine (tests/bench/
 *     bench_probe.bpf.c), to judge what any program here can reach.
 *
 * The storm: 2 workers fork and exec /bin/true, PROCCACHE_BENCH_EXECS
 * (default 6000) execs in all. Every monitor runs alone, in its own
 * process, during its own storm; the sensor is driven once by the
 * library's thread (proccache__sensor_thread_start()) and once by a host
 * epoll loop on proccache__sensor_fd() that consumes as soon as it is
 * woken. Monitors are interleaved over PROCCACHE_BENCH_ROUNDS rounds
 * (default 3); the tables show medians. Needs root; skips otherwise.
 *
 * "proccache, env capture" is the library thread again with
 * proccache_opts.env_max = PROCCACHE_BENCH_ENV_MAX (default 4096): the cost
 * of reading each exec's environment (the storm's, the benchmark's own
 * environment, whose size is printed) against the same run without it.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proccache/proccache.h>

#include "bench.h"
#include "bench_probe.skel.h"

#define STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"
#define EXECSNOOP "/usr/sbin/execsnoop"
#define FORKSTAT "/usr/bin/forkstat"
#define MAX_ROUNDS 15
#define MAX_PROGS 64
/* After the storm, before the monitor is stopped: every consumer here
 * takes its records well within this. */
#define SETTLE_MS 300

/* Targets of issue 3. */
#define TARGET_EXEC_NS 5000.0
#define TARGET_FORK_NS 1000.0
#define TARGET_EXIT_NS 1000.0
#define TARGET_CPU_NS 5000.0

static char tmpdir[] = "/tmp/bench-sensor-bpf-XXXXXX";

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rusage_ns(const struct rusage *ru)
{
	return (uint64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000u;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- kernel.bpf_stats_enabled, restored whatever happens --------------- */

static char stats_saved[8];
static pid_t bench_pid;

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Async-signal-safe: put the value back, pass the signal on to the run. */
static void on_fatal_signal(int sig)
{
	write_sysctl(STATS_SYSCTL, stats_saved);
	if (bench_pid > 0)
		kill(bench_pid, sig);
}

/* ---- the programs of a process, and their bpf_stats ---------------------- */

struct prog_stat {
	uint32_t id;
	char name[BPF_OBJ_NAME_LEN];
	uint64_t run_ns, run_cnt;
};

struct progs {
	size_t n;
	struct prog_stat p[MAX_PROGS];
};

static void progs_add(struct progs *ps, uint32_t id)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->p[i].id == id)
			return;
	if (ps->n < MAX_PROGS)
		ps->p[ps->n++] = (struct prog_stat){ .id = id };
}

/* Every id in "KEY:\t<id>" lines of /proc/PID/fdinfo/ * (programs and
 * links name the program they hold; maps their map id). */
static void fdinfo_ids(pid_t pid, const char *key, void (*add)(void *, uint32_t),
		       void *ctx)
{
	char path[64], file[600], line[256];
	size_t klen = strlen(key);
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		f = fopen(file, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, key, klen) && line[klen] == ':')
				add(ctx, (uint32_t)strtoul(line + klen + 1, NULL, 10));
		fclose(f);
	}
	closedir(d);
}

static void add_prog(void *ctx, uint32_t id)
{
	progs_add(ctx, id);
}

static void progs_of(pid_t pid, struct progs *ret)
{
	ret->n = 0;
	fdinfo_ids(pid, "prog_id", add_prog, ret);
}

static int prog_info(int fd, struct prog_stat *ret)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	ret->id = info.id;
	memcpy(ret->name, info.name, sizeof(ret->name));
	ret->run_ns = info.run_time_ns;
	ret->run_cnt = info.run_cnt;
	return 0;
}

static void progs_read(struct progs *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		int fd = bpf_prog_get_fd_by_id(ps->p[i].id);

		if (fd < 0)
			continue;
		prog_info(fd, &ps->p[i]);
		close(fd);
	}
}

/* Runs and run time of the programs named @name (a prefix) between two
 * readings. */
static void progs_delta(const struct progs *a, const struct progs *b,
			const char *name, uint64_t *ret_ns, uint64_t *ret_cnt)
{
	*ret_ns = *ret_cnt = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (strncmp(b->p[i].name, name, strlen(name)))
			continue;
		for (size_t j = 0; j < a->n; j++) {
			if (a->p[j].id != b->p[i].id)
				continue;
			*ret_ns += b->p[i].run_ns - a->p[j].run_ns;
			*ret_cnt += b->p[i].run_cnt - a->p[j].run_cnt;
		}
	}
}

static double per_run(const struct progs *a, const struct progs *b,
		      const char *name)
{
	uint64_t ns, cnt;

	progs_delta(a, b, name, &ns, &cnt);
	return cnt ? (double)ns / (double)cnt : -1;
}

/* ---- counters in the sensor's .bss, found by their BTF names ------------ */

struct bss_counters {
	uint64_t wakeups;       /* wake-ups the programs asked for */
	uint64_t timer_wakeups; /* wake-ups the deferred-wake timer made */
	uint64_t timer_ns;      /* time the timer callback ran */
	bool found;
};

static void add_map(void *ctx, uint32_t id)
{
	struct progs *ps = ctx; /* reused as a list of ids */

	progs_add(ps, id);
}

/* A u64 global named @var in the datasec of a .bss map value. */
static bool read_var(const struct btf *btf, uint32_t sec_id, const char *value,
		     const char *var, uint64_t *ret)
{
	const struct btf_type *sec = btf__type_by_id(btf, sec_id);
	const struct btf_var_secinfo *vs;

	if (!sec || !btf_is_datasec(sec))
		return false;
	vs = btf_var_secinfos(sec);
	for (unsigned int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);

		if (v && !strcmp(btf__name_by_offset(btf, v->name_off), var) &&
		    vs->size == sizeof(*ret)) {
			memcpy(ret, value + vs->offset, sizeof(*ret));
			return true;
		}
	}
	return false;
}

static void bss_read(pid_t pid, struct bss_counters *ret)
{
	struct progs ids = { 0 };

	memset(ret, 0, sizeof(*ret));
	fdinfo_ids(pid, "map_id", add_map, &ids);
	for (size_t i = 0; i < ids.n && !ret->found; i++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info), zero = 0;
		struct btf *btf;
		char *value;
		int fd = bpf_map_get_fd_by_id(ids.p[i].id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    strcmp(info.name, "proccach.bss") || !info.btf_id) {
			close(fd);
			continue;
		}
		value = calloc(1, info.value_size);
		btf = btf__load_from_kernel_by_id(info.btf_id);
		if (value && btf && !bpf_map_lookup_elem(fd, &zero, value)) {
			ret->found = read_var(btf, info.btf_value_type_id, value,
					      "pc_wakeups", &ret->wakeups);
			read_var(btf, info.btf_value_type_id, value,
				 "pc_timer_wakeups", &ret->timer_wakeups);
			read_var(btf, info.btf_value_type_id, value,
				 "pc_timer_ns", &ret->timer_ns);
		}
		btf__free(btf);
		free(value);
		close(fd);
	}
}

/* ---- CPU of another process ---------------------------------------------- */

/* ns on CPU of every thread of @pid (schedstat's first field: the sum
 * that getrusage() splits into user and system time). */
static uint64_t process_cpu_ns(pid_t pid)
{
	char path[64], file[600];
	unsigned long long ns;
	uint64_t sum = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/schedstat", path, de->d_name);
		f = fopen(file, "r");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

/* ---- a monitor built on the library (child process) ---------------------- */

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void samples_add(struct samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16384;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return (a > b) - (a < b);
}

static double percentile(struct samples *s, double p)
{
	size_t i;

	if (!s->n)
		return -1;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	i = (size_t)(p * (double)(s->n - 1) + 0.5);
	return (double)s->v[i];
}

struct lib_monitor {
	struct samples exec, clone;
	bool recording;
};

static int on_event(struct proccache *pc, const struct proccache_event *ev,
		    const struct proccache_process *p,
		    const struct proccache_process *parent, void *userdata)
{
	struct lib_monitor *m = userdata;
	uint64_t now = boottime_ns();

	(void)pc;
	(void)p;
	(void)parent;
	if (!m->recording || !ev->ktime)
		return 0;
	samples_add(ev->type == PROCCACHE_EVENT_EXEC ? &m->exec : &m->clone,
		    now > ev->ktime ? now - ev->ktime : 0);
	return 0;
}

enum drive { DRIVE_THREAD, DRIVE_LOOP };

/* The host's own loop: epoll on the sensor fd, consume when woken. */
static uint64_t host_loop(struct proccache *pc, int stop_fd)
{
	struct epoll_event ev[2];
	uint64_t wakeups = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	epoll_ctl(ep, EPOLL_CTL_ADD, proccache__sensor_fd(pc),
		  &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 });
	epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd,
		  &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 1 });
	for (;;) {
		int n = epoll_wait(ep, ev, 2, -1);
		bool stop = false;

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			stop |= ev[i].data.u32 == 1;
		if (stop)
			break;
		wakeups++;
		if (proccache__sensor_consume(pc) < 0)
			break;
	}
	while (proccache__sensor_consume(pc) > 0)
		;
	close(ep);
	return wakeups;
}

/* Runs the sensor until SIGTERM, then writes one result line to @path:
 * events lost cpu_ns wakeups exec_p50 exec_p99 clone_p50 clone_p99. */
static int lib_monitor_main(enum drive drive, size_t env_max, int ready_fd,
			    const char *path)
{
	PROCCACHE_OPTS(proccache_sensor_opts, opts, .backend = PROCCACHE_BACKEND_BPF);
	PROCCACHE_OPTS(proccache_opts, copts, .env_max = env_max);
	PROCCACHE_OPTS(proccache_sensor_stats, st0);
	PROCCACHE_OPTS(proccache_sensor_stats, st1);
	struct lib_monitor m = { 0 };
	struct rusage r0, r1;
	struct proccache *pc;
	uint64_t wakeups = 0;
	sigset_t term;
	FILE *out;
	int err, stop_fd;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	stop_fd = signalfd(-1, &term, SFD_CLOEXEC);
	pc = proccache__new(&copts);
	if (!pc || stop_fd < 0)
		return 1;
	err = proccache__sensor_start(pc, &opts);
	if (err) {
		fprintf(stderr, "sensor start: %s\n", strerror(-err));
		return 1;
	}
	proccache__subscribe(pc, PROCCACHE_EVENT_EXEC | PROCCACHE_EVENT_CLONE,
			     on_event, &m, NULL);
	/* The latency arrays are grown before the clock runs. */
	samples_add(&m.exec, 0);
	samples_add(&m.clone, 0);
	m.exec.n = m.clone.n = 0;
	while (proccache__sensor_consume(pc) > 0)
		;
	if (drive == DRIVE_THREAD && proccache__sensor_thread_start(pc))
		return 1;
	m.recording = true;
	proccache__sensor_stats(pc, &st0);
	getrusage(RUSAGE_SELF, &r0);
	if (write(ready_fd, "r", 1) != 1)
		return 1;
	close(ready_fd);

	if (drive == DRIVE_THREAD) {
		struct signalfd_siginfo si;

		while (read(stop_fd, &si, sizeof(si)) < 0 && errno == EINTR)
			;
		proccache__sensor_thread_stop(pc);
	} else {
		wakeups = host_loop(pc, stop_fd);
	}
	getrusage(RUSAGE_SELF, &r1);
	proccache__sensor_stats(pc, &st1);

	out = fopen(path, "w");
	if (!out)
		return 1;
	fprintf(out, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %.0f %.0f %.0f %.0f\n",
		st1.records - st0.records, st1.lost - st0.lost,
		rusage_ns(&r1) - rusage_ns(&r0), wakeups,
		percentile(&m.exec, 0.5), percentile(&m.exec, 0.99),
		percentile(&m.clone, 0.5), percentile(&m.clone, 0.99));
	fclose(out);
	proccache__sensor_stop(pc);
	proccache__free(pc);
	return 0;
}

/* ---- results ------------------------------------------------------------ */

enum monitor_kind { MON_NONE, MON_PROBE, MON_THREAD, MON_LOOP, MON_ENV,
		    MON_EXECSNOOP, MON_FORKSTAT, MON_COUNT };

/* The library's own monitors. */
static bool is_lib(enum monitor_kind k)
{
	return k == MON_THREAD || k == MON_LOOP || k == MON_ENV;
}

static const char *const mon_names[MON_COUNT] = {
	[MON_NONE] = "no monitor",
	[MON_PROBE] = "bare steps",
	[MON_THREAD] = "proccache, library thread",
	[MON_LOOP] = "proccache, host epoll loop",
	[MON_ENV] = "proccache, env capture",
	[MON_EXECSNOOP] = "execsnoop (libbpf-tools)",
	[MON_FORKSTAT] = "forkstat (netlink)",
};

struct result {
	bool ran;
	double storm_s;
	/* BPF ns per run; -1: none */
	double exec_ns, fork_ns, exit_ns;
	/* consumer */
	double events, lost, cpu_ns, wakeups;
	double lat_exec50, lat_exec99, lat_clone50, lat_clone99;
	/* the sensor's wake-up counters (.bss); -1 when absent */
	double bpf_wakeups, timer_wakeups, timer_ns;
	/* probe programs, ns per run */
	double probe[24];
};

static const char *const probe_names[] = {
	"pb_empty_fork", "pb_empty_exec", "pb_empty_exit", "pb_core_reads",
	"pb_ktime", "pb_hash_lookup", "pb_hash_update", "pb_hash_delete",
	"pb_hash_upd_np", "pb_hash_del_np", "pb_hash_inplace", "pb_task_create", "pb_task_get", "pb_ring_nowake", "pb_ring_wake",
	"pb_ring_query",
};
#define NPROBES (sizeof(probe_names) / sizeof(probe_names[0]))

/* The hook each probe program is on. */
static const char *const hook_of[] = {
	"fork", "exec", "exit", "fork", "fork", "fork", "fork", "exit", "fork",
	"exit", "exec", "fork", "exec", "fork", "fork", "fork",
};
_Static_assert(sizeof(hook_of) == sizeof(probe_names), "one hook per probe");

static struct result results[MON_COUNT][MAX_ROUNDS];
static char why_not[MON_COUNT][160];

/* ---- the storm ---------------------------------------------------------- */

static void die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static int storm_worker(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	return 0;
}

/* Seconds the 2 workers took for @execs execs. */
static double storm(uint32_t execs)
{
	uint64_t t0 = bench_now_ns();
	pid_t w[2];

	for (int i = 0; i < 2; i++) {
		w[i] = fork();
		if (w[i] == 0) {
			die_with_parent();
			_exit(storm_worker(execs / 2 + (i == 0 ? execs % 2 : 0)));
		}
	}
	for (int i = 0; i < 2; i++)
		if (w[i] > 0)
			waitpid(w[i], NULL, 0);
	return (double)(bench_now_ns() - t0) / 1e9;
}

/* ---- starting and stopping monitors --------------------------------------- */

struct running {
	pid_t pid;
	char out[300];
	struct progs before;
	uint64_t cpu0;
};

static int start_lib(enum drive drive, size_t env_max, struct running *r)
{
	int ready[2];
	char c;

	snprintf(r->out, sizeof(r->out), "%s/lib.out", tmpdir);
	unlink(r->out);
	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (r->pid == 0) {
		die_with_parent();
		close(ready[0]);
		_exit(lib_monitor_main(drive, env_max, ready[1], r->out));
	}
	close(ready[1]);
	/* a failed start closes the pipe without a byte */
	c = 0;
	if (read(ready[0], &c, 1) != 1)
		c = 0;
	close(ready[0]);
	return c == 'r' ? 0 : -EIO;
}

static bool file_nonempty(const char *path)
{
	struct stat st;

	return !stat(path, &st) && st.st_size > 0;
}

/* A tool with its stdout in a file; ready when its BPF programs are
 * attached (execsnoop) or its header is out (forkstat, line-buffered). */
static int start_tool(const char *exe, char *const argv[], bool bpf,
		      struct running *r)
{
	struct progs ps;

	snprintf(r->out, sizeof(r->out), "%s/tool.out", tmpdir);
	unlink(r->out);
	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (r->pid == 0) {
		die_with_parent();
		if (!freopen(r->out, "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execv(exe, argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		sleep_ms(50);
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid)
			return -ECHILD;
		progs_of(r->pid, &ps);
		if (bpf ? ps.n >= 2 : file_nonempty(r->out)) {
			sleep_ms(300); /* the rest of its set-up */
			return 0;
		}
	}
	return -ETIMEDOUT;
}

static void stop_child(pid_t pid, int sig)
{
	kill(pid, sig);
	waitpid(pid, NULL, 0);
}

static uint64_t count_lines(const char *path, const char *const words[])
{
	char line[4096];
	uint64_t n = 0;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		char w[32];

		if (!words) {
			n++;
			continue;
		}
		/* forkstat: "HH:MM:SS event pid ..." */
		if (sscanf(line, "%*s %31s", w) != 1)
			continue;
		for (int i = 0; words[i]; i++)
			if (!strcmp(w, words[i]))
				n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* ---- one measurement ------------------------------------------------------ */

static void bpf_figures(const struct progs *a, const struct progs *b,
			enum monitor_kind kind, struct result *res)
{
	if (kind == MON_EXECSNOOP) {
		/* one enter and one exit program per execve; their names
		 * are cut to the same 15 bytes, so sum their per-run
		 * times */
		uint64_t ns = 0, cnt = 0, best = 0;

		for (size_t i = 0; i < b->n; i++)
			for (size_t j = 0; j < a->n; j++)
				if (a->p[j].id == b->p[i].id) {
					uint64_t c = b->p[i].run_cnt - a->p[j].run_cnt;

					ns += b->p[i].run_ns - a->p[j].run_ns;
					cnt += c;
					best = c > best ? c : best;
				}
		res->exec_ns = best ? (double)ns / (double)best : -1;
		return;
	}
	res->exec_ns = per_run(a, b, "pc_exec");
	res->fork_ns = per_run(a, b, "pc_fork");
	res->exit_ns = per_run(a, b, "pc_exit");
}

static void read_lib_result(const char *path, struct result *res)
{
	FILE *f = fopen(path, "r");

	if (!f || fscanf(f, "%lf %lf %lf %lf %lf %lf %lf %lf", &res->events,
			 &res->lost, &res->cpu_ns, &res->wakeups,
			 &res->lat_exec50, &res->lat_exec99, &res->lat_clone50,
			 &res->lat_clone99) != 8)
		res->ran = false;
	if (f)
		fclose(f);
}

static bool probe_stop;

/* The eager consumer of pb_eager: wakes for each record. */
static void *eager_consumer(void *arg)
{
	struct ring_buffer *rb = arg;

	while (ring_buffer__poll(rb, 100) >= 0 &&
	       !__atomic_load_n(&probe_stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

static int drop_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

static void measure_probe(uint32_t execs, struct result *res)
{
	struct bench_probe *skel = bench_probe__open_and_load();
	struct ring_buffer *rb = NULL;
	struct prog_stat a[NPROBES], b[NPROBES];
	struct bpf_program *prog;
	pthread_t consumer;
	size_t i = 0;

	if (!skel || bench_probe__attach(skel)) {
		snprintf(why_not[MON_PROBE], sizeof(why_not[0]),
			 "bench_probe did not load or attach: %s", strerror(errno));
		bench_probe__destroy(skel);
		return;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.pb_eager), drop_record, NULL,
			      NULL);
	probe_stop = false;
	if (!rb || pthread_create(&consumer, NULL, eager_consumer, rb)) {
		ring_buffer__free(rb);
		bench_probe__destroy(skel);
		return;
	}
	for (i = 0; i < NPROBES; i++) {
		prog = bpf_object__find_program_by_name(skel->obj, probe_names[i]);
		prog_info(bpf_program__fd(prog), &a[i]);
	}
	res->storm_s = storm(execs);
	for (i = 0; i < NPROBES; i++) {
		prog = bpf_object__find_program_by_name(skel->obj, probe_names[i]);
		prog_info(bpf_program__fd(prog), &b[i]);
		res->probe[i] = b[i].run_cnt > a[i].run_cnt ?
			(double)(b[i].run_ns - a[i].run_ns) /
			(double)(b[i].run_cnt - a[i].run_cnt) : -1;
	}
	__atomic_store_n(&probe_stop, true, __ATOMIC_RELAXED);
	pthread_join(consumer, NULL);
	ring_buffer__free(rb);
	bench_probe__destroy(skel);
	res->ran = true;
}

static void measure(enum monitor_kind kind, uint32_t execs, struct result *res)
{
	static char *const execsnoop_argv[] = { "execsnoop", NULL };
	static char *const forkstat_argv[] = { "forkstat", "-l", "-e",
					       "fork,exec,exit", NULL };
	static const char *const forkstat_words[] = { "fork", "exec", "exit", NULL };
	struct bss_counters bss0 = { 0 }, bss1 = { 0 };
	struct running r = { 0 };
	struct progs after;
	int err = 0;

	memset(res, 0, sizeof(*res));
	res->exec_ns = res->fork_ns = res->exit_ns = -1;
	res->bpf_wakeups = res->timer_wakeups = res->timer_ns = -1;
	switch (kind) {
	case MON_NONE:
		res->storm_s = storm(execs);
		res->ran = true;
		return;
	case MON_PROBE:
		measure_probe(execs, res);
		return;
	case MON_THREAD:
	case MON_LOOP:
		err = start_lib(kind == MON_THREAD ? DRIVE_THREAD : DRIVE_LOOP, 0, &r);
		break;
	case MON_ENV:
		err = start_lib(DRIVE_THREAD,
				(size_t)bench_env("PROCCACHE_BENCH_ENV_MAX", 4096), &r);
		break;
	case MON_EXECSNOOP:
		if (access(EXECSNOOP, X_OK))
			err = -ENOENT;
		else
			err = start_tool(EXECSNOOP, execsnoop_argv, true, &r);
		break;
	case MON_FORKSTAT:
		if (access(FORKSTAT, X_OK))
			err = -ENOENT;
		else
			err = start_tool(FORKSTAT, forkstat_argv, false, &r);
		break;
	default:
		return;
	}
	if (err) {
		snprintf(why_not[kind], sizeof(why_not[0]), "%s",
			 err == -ENOENT ? "not installed (apt-get install -y libbpf-tools forkstat)" :
					  strerror(-err));
		if (r.pid > 0)
			stop_child(r.pid, SIGKILL);
		return;
	}
	progs_of(r.pid, &r.before);
	progs_read(&r.before);
	bss_read(r.pid, &bss0);
	r.cpu0 = process_cpu_ns(r.pid);

	res->storm_s = storm(execs);
	sleep_ms(SETTLE_MS);

	after = r.before;
	progs_read(&after);
	bss_read(r.pid, &bss1);
	res->cpu_ns = (double)(process_cpu_ns(r.pid) - r.cpu0);
	bpf_figures(&r.before, &after, kind, res);
	if (bss0.found && bss1.found) {
		res->bpf_wakeups = (double)(bss1.wakeups - bss0.wakeups);
		res->timer_wakeups = (double)(bss1.timer_wakeups - bss0.timer_wakeups);
		res->timer_ns = (double)(bss1.timer_ns - bss0.timer_ns);
	}
	res->ran = true;
	switch (kind) {
	case MON_THREAD:
	case MON_LOOP:
	case MON_ENV:
		stop_child(r.pid, SIGTERM);
		/* the monitor's own accounting: rusage from ready to its
		 * drained stop, and the events it handled in that time */
		read_lib_result(r.out, res);
		break;
	case MON_EXECSNOOP:
		stop_child(r.pid, SIGINT);
		res->events = (double)count_lines(r.out, NULL);
		res->events -= res->events > 0; /* its header */
		break;
	case MON_FORKSTAT:
		stop_child(r.pid, SIGINT);
		res->events = (double)count_lines(r.out, forkstat_words);
		break;
	default:
		break;
	}
}

/* ---- medians and printing ------------------------------------------------- */

static size_t nrounds;

/* Median of a field over the rounds a monitor ran; -1 when none. */
static double med(enum monitor_kind kind, size_t offset)
{
	double v[MAX_ROUNDS];
	size_t n = 0;

	for (size_t i = 0; i < nrounds; i++) {
		const struct result *r = &results[kind][i];
		double x;

		memcpy(&x, (const char *)r + offset, sizeof(x));
		if (r->ran && x >= 0)
			v[n++] = x;
	}
	return n ? bench_median(v, n) : -1;
}

#define MED(kind, field) med(kind, offsetof(struct result, field))

static bool ran(enum monitor_kind kind)
{
	for (size_t i = 0; i < nrounds; i++)
		if (results[kind][i].ran)
			return true;
	return false;
}

static void cell(char *buf, size_t len, double v, double scale, const char *fmt)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, v / scale);
}

static void print_bpf_table(void)
{
	static const enum monitor_kind rows[] = { MON_THREAD, MON_LOOP, MON_ENV,
						  MON_EXECSNOOP };
	double ours = MED(MON_THREAD, exec_ns);
	char e[32], f[32], x[32];

	printf("\nBPF time per program run (bpf_stats run_time_ns / run_cnt), ns, median of %zu rounds\n",
	       nrounds);
	printf("%-28s %10s %10s %10s %16s\n", "monitor", "exec", "fork", "exit",
	       "exec vs ours");
	if (ran(MON_PROBE)) {
		cell(e, sizeof(e), MED(MON_PROBE, probe[1]), 1, "%.0f");
		cell(f, sizeof(f), MED(MON_PROBE, probe[0]), 1, "%.0f");
		cell(x, sizeof(x), MED(MON_PROBE, probe[2]), 1, "%.0f");
		printf("%-28s %10s %10s %10s %16s\n", "empty program (baseline)", e,
		       f, x, "");
	}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum monitor_kind k = rows[i];
		double ex = MED(k, exec_ns);
		char ratio[32] = "";

		if (!ran(k)) {
			printf("%-28s %s\n", mon_names[k], why_not[k]);
			continue;
		}
		cell(e, sizeof(e), ex, 1, "%.0f");
		cell(f, sizeof(f), MED(k, fork_ns), 1, "%.0f");
		cell(x, sizeof(x), MED(k, exit_ns), 1, "%.0f");
		if (ex > 0 && ours > 0)
			snprintf(ratio, sizeof(ratio), "%.2fx", ex / ours);
		printf("%-28s %10s %10s %10s %16s\n", mon_names[k], e, f, x, ratio);
	}
	printf("(execsnoop: its execve enter + exit programs per exec; it has none on fork and exit)\n");
}

static void print_consumer_table(void)
{
	static const enum monitor_kind rows[] = { MON_NONE, MON_THREAD, MON_LOOP,
						  MON_ENV, MON_EXECSNOOP, MON_FORKSTAT };
	double ours = MED(MON_THREAD, cpu_ns) / MED(MON_THREAD, events);

	printf("\nConsumer process: CPU (user+sys) per event it handled, median of %zu rounds\n",
	       nrounds);
	printf("%-28s %8s %6s %9s %9s %8s %8s %17s %17s %8s\n", "monitor", "events",
	       "lost", "cpu ms", "ns/event", "vs ours", "wakeups",
	       "exec lat p50/p99", "clone lat p50/p99", "storm s");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum monitor_kind k = rows[i];
		double ev = MED(k, events), cpu = MED(k, cpu_ns);
		char evs[32], lost[32], cpus[32], per[32], ratio[32] = "-",
			wk[32], le[40] = "-", lc[40] = "-";

		if (!ran(k)) {
			printf("%-28s %s\n", mon_names[k], why_not[k]);
			continue;
		}
		if (k == MON_NONE) {
			printf("%-28s %8s %6s %9s %9s %8s %8s %17s %17s %8.2f\n",
			       mon_names[k], "-", "-", "-", "-", "-", "-", "-", "-",
			       MED(k, storm_s));
			continue;
		}
		cell(evs, sizeof(evs), ev, 1, "%.0f");
		cell(lost, sizeof(lost), is_lib(k) ? MED(k, lost) : -1, 1, "%.0f");
		cell(cpus, sizeof(cpus), cpu, 1e6, "%.1f");
		cell(per, sizeof(per), ev > 0 ? cpu / ev : -1, 1, "%.0f");
		if (ev > 0 && ours > 0 && ran(MON_THREAD))
			snprintf(ratio, sizeof(ratio), "%.2fx", cpu / ev / ours);
		cell(wk, sizeof(wk), k == MON_LOOP ? MED(k, wakeups) : -1, 1, "%.0f");
		if (is_lib(k)) {
			snprintf(le, sizeof(le), "%.0f/%.0f us", MED(k, lat_exec50) / 1e3,
				 MED(k, lat_exec99) / 1e3);
			snprintf(lc, sizeof(lc), "%.0f/%.0f us", MED(k, lat_clone50) / 1e3,
				 MED(k, lat_clone99) / 1e3);
		}
		printf("%-28s %8s %6s %9s %9s %8s %8s %17s %17s %8.2f\n", mon_names[k],
		       evs, lost, cpus, per, ratio, wk, le, lc, MED(k, storm_s));
	}
	printf("(events: all the monitor handled, other processes' too; execsnoop and forkstat:\n"
	       " lines they printed. wakeups: times the host loop's epoll_wait returned.)\n");
	for (size_t i = 0; i < 2; i++) {
		enum monitor_kind k = i ? MON_LOOP : MON_THREAD;

		if (MED(k, bpf_wakeups) >= 0)
			printf("%s: wake-ups asked by the programs %.0f, by the timer %.0f (timer callback %.1f us each)\n",
			       mon_names[k], MED(k, bpf_wakeups), MED(k, timer_wakeups),
			       MED(k, timer_wakeups) > 0 ?
				       MED(k, timer_ns) / MED(k, timer_wakeups) / 1e3 : 0.0);
	}
}

static void print_probe_table(void)
{
	double empty[3];

	if (!ran(MON_PROBE)) {
		printf("\nbare steps: %s\n", why_not[MON_PROBE]);
		return;
	}
	for (int i = 0; i < 3; i++)
		empty[i] = MED(MON_PROBE, probe[i]);
	printf("\nBare steps: one tp_btf program each, ns per run, median of %zu rounds;\n"
	       "'step' is the run minus the empty program on the same hook\n", nrounds);
	printf("%-16s %-6s %10s %10s  %s\n", "program", "hook", "per run", "step",
	       "what it does");
	for (size_t i = 0; i < NPROBES; i++) {
		static const char *const what[] = {
			"nothing", "nothing", "nothing",
			"the CO-RE reads of the fork handler",
			"bpf_ktime_get_boot_ns()",
			"hash lookup (hit)",
			"hash update (prealloc, 65536 entries)",
			"hash delete (hit)",
			"hash update (BPF_F_NO_PREALLOC)",
			"hash delete (BPF_F_NO_PREALLOC, hit)",
			"hash lookup (hit) + writing the value in place",
			"task storage get, F_CREATE on the new task",
			"task storage get (hit)",
			"ring reserve + submit, BPF_RB_NO_WAKEUP",
			"ring reserve + submit, consumer woken per record",
			"bpf_ringbuf_query(AVAIL_DATA)",
		};
		const char *hook = hook_of[i];
		double v = MED(MON_PROBE, probe[i]);
		double base = empty[!strcmp(hook, "exec") ? 1 : !strcmp(hook, "exit") ? 2 : 0];
		char per[32], step[32];

		cell(per, sizeof(per), v, 1, "%.0f");
		cell(step, sizeof(step), i < 3 || v < 0 || base < 0 ? -1 : v - base, 1, "%.0f");
		printf("%-16s %-6s %10s %10s  %s\n", probe_names[i], hook, per, step, what[i]);
	}
}

static void print_targets(void)
{
	struct {
		const char *what;
		double v, target;
		const char *unit;
	} t[] = {
		{ "BPF per exec (library thread)", MED(MON_THREAD, exec_ns), TARGET_EXEC_NS, "ns" },
		{ "BPF per fork (library thread)", MED(MON_THREAD, fork_ns), TARGET_FORK_NS, "ns" },
		{ "BPF per exit (library thread)", MED(MON_THREAD, exit_ns), TARGET_EXIT_NS, "ns" },
		{ "BPF per exec (host loop)", MED(MON_LOOP, exec_ns), TARGET_EXEC_NS, "ns" },
		{ "BPF per fork (host loop)", MED(MON_LOOP, fork_ns), TARGET_FORK_NS, "ns" },
		{ "BPF per exit (host loop)", MED(MON_LOOP, exit_ns), TARGET_EXIT_NS, "ns" },
		{ "consumer CPU per event (thread)",
		  MED(MON_THREAD, cpu_ns) / MED(MON_THREAD, events), TARGET_CPU_NS, "ns" },
		{ "events lost, default ring (thread)", MED(MON_THREAD, lost), 0, "" },
		{ "events lost, default ring (loop)", MED(MON_LOOP, lost), 0, "" },
	};

	printf("\n%-36s %10s %10s  %s\n", "target", "value", "limit", "verdict");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!(t[i].v >= 0)) {
			printf("%-36s %10s %10.0f  not measured\n", t[i].what, "-", t[i].target);
			continue;
		}
		printf("%-36s %8.0f%-2s %8.0f%-2s  %s\n", t[i].what, t[i].v, t[i].unit,
		       t[i].target, t[i].unit, bench_verdict(t[i].v <= t[i].target));
	}
}

/* ---- main --------------------------------------------------------------- */

/* PROCCACHE_BENCH_ONLY: a comma-separated subset of none, probe, thread,
 * loop, env, execsnoop, forkstat. */
static bool selected(enum monitor_kind k)
{
	static const char *const keys[MON_COUNT] = {
		[MON_NONE] = "none", [MON_PROBE] = "probe", [MON_THREAD] = "thread",
		[MON_LOOP] = "loop", [MON_ENV] = "env", [MON_EXECSNOOP] = "execsnoop",
		[MON_FORKSTAT] = "forkstat",
	};
	const char *only = getenv("PROCCACHE_BENCH_ONLY");
	size_t len = strlen(keys[k]);

	for (const char *p = only; p && *p; p += strcspn(p, ","), p += *p == ',')
		if (strcspn(p, ",") == len && !strncmp(p, keys[k], len))
			return true;
	return !only || !*only;
}

/* Classic tracepoints (execsnoop's) are found through tracefs: when the
 * host has none mounted, mount one in a mount namespace of the run's own,
 * which the tools it starts inherit. */
static void ensure_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events", F_OK))
		return;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		fprintf(stderr, "no tracefs, and cannot mount one: %s\n", strerror(errno));
}

static int run(void)
{
	uint32_t execs = (uint32_t)bench_env("PROCCACHE_BENCH_EXECS", 6000);
	static const enum monitor_kind order[] = { MON_NONE, MON_THREAD, MON_ENV, MON_LOOP,
						   MON_EXECSNOOP, MON_FORKSTAT,
						   MON_PROBE };

	nrounds = (size_t)bench_env("PROCCACHE_BENCH_ROUNDS", 3);
	if (nrounds > MAX_ROUNDS)
		nrounds = MAX_ROUNDS;
	if (!mkdtemp(tmpdir))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	ensure_tracefs();
	printf("BPF sensor benchmark: exec storm of %u execs of /bin/true (fork+exec+wait,\n"
	       "2 workers), once per monitor per round, %zu rounds; kernel.bpf_stats_enabled=1\n",
	       execs, nrounds);
	bench_print_machine();
	{
		size_t env_bytes = 0;

		for (char **e = environ; *e; e++)
			env_bytes += strlen(*e) + 1;
		printf("each exec's environment: %zu bytes; env capture monitor: env_max %.0f\n",
		       env_bytes, bench_env("PROCCACHE_BENCH_ENV_MAX", 4096));
	}
	fflush(stdout);
	for (size_t round = 0; round < nrounds; round++) {
		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			enum monitor_kind k = order[i];

			if (!selected(k)) {
				snprintf(why_not[k], sizeof(why_not[0]),
					 "left out (PROCCACHE_BENCH_ONLY)");
				continue;
			}
			measure(k, execs, &results[k][round]);
			fprintf(stderr, "round %zu: %-28s %s\n", round + 1, mon_names[k],
				results[k][round].ran ? "done" : why_not[k]);
		}
	}
	print_bpf_table();
	print_consumer_table();
	print_probe_table();
	print_targets();
	fflush(stdout);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return 0;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_fatal_signal };
	int status = 0, fd;
	ssize_t n;

	if (geteuid() != 0) {
		printf("SKIP: bench_sensor_bpf needs root (BPF programs, kernel.bpf_stats_enabled)\n");
		fprintf(stderr, "SKIP: bench_sensor_bpf needs root\n");
		return 77;
	}
	fd = open(STATS_SYSCTL, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, stats_saved, sizeof(stats_saved) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0 || write_sysctl(STATS_SYSCTL, "1")) {
		printf("SKIP: cannot read and set %s\n", STATS_SYSCTL);
		return 77;
	}
	stats_saved[n] = '\0';

	/* The run is a child, so that the value is restored however it ends. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	fflush(stdout);
	bench_pid = fork();
	if (bench_pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		exit(run());
	}
	while (bench_pid > 0 && waitpid(bench_pid, &status, 0) < 0 && errno == EINTR)
		;
	if (write_sysctl(STATS_SYSCTL, stats_saved))
		fprintf(stderr, "could not restore %s to %s", STATS_SYSCTL, stats_saved);
	if (bench_pid < 0)
		return 1;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "bench_sensor_bpf: the run died of signal %d\n",
			WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}
