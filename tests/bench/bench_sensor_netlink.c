/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor beside the BPF sensor and Debian's forkstat, in the
 * same run, watching the same exec storm: CPU per event, events seen and
 * lost, and the share of execs whose args went to the right image.
 *
 *   bench_sensor_netlink STORM_EXEC
 *
 * STORM_EXEC is tests/bench/storm_exec.c, built static. Workers fork and
 * exec it as chains of BENCH_CHAIN + 1 images (each with its own args),
 * BENCH_ITERS times each, BENCH_WORKERS workers. Two storms run: images
 * that exec again at once (the worst case for a reader of /proc), then
 * images that live BENCH_PAUSE_US (default 2000) first, like short
 * commands (BENCH_STORM=fast or slow runs only one). The netlink sensor runs
 * twice: reading every field, and as "nl-lean" with
 * proccache_sensor_opts.netlink_skip = BENCH_SKIP (default
 * PROCCACHE_FIELD_ALL: binary and args, no creds, cwd, namespaces...).
 * Every monitor runs in its own process; its CPU is its user +
 * system time while the storm runs (kernel-side costs, such as the BPF
 * programs or the connector's sends, are charged to the storm, alike for
 * all). Needs root; skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proccache/proccache.h>

#define MAX_CHAIN 16

static const char *storm_exec;
static uint32_t lean_skip = PROCCACHE_FIELD_ALL;
static char tmpdir[] = "/tmp/bench-sensor-XXXXXX";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double env_or(const char *name, double fallback)
{
	const char *s = getenv(name);
	double v = s ? strtod(s, NULL) : 0;

	return v > 0 ? v : fallback;
}

static uint64_t rusage_ns(const struct rusage *ru)
{
	return (uint64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000u;
}

/* ---- a monitor built on the library ------------------------------------- */

struct lib_monitor {
	FILE *out;
};

static int on_exec(struct proccache *pc, const struct proccache_event *ev,
		   const struct proccache_process *p,
		   const struct proccache_process *parent, void *userdata)
{
	struct lib_monitor *m = userdata;
	char line[512];
	const char *args;
	size_t len;

	if (!p || (proccache_process__flags(p) & PROCCACHE_F_PROCFS))
		return 0;
	args = proccache_process__args(p, &len);
	proccache_args_decode(args, len, 0, line, sizeof(line));
	fprintf(m->out, "E %u %u %s\n", ev->pid,
		(proccache_process__flags(p) & PROCCACHE_F_VANISHED) ? 1 : 0,
		line);
	return 0;
}

/* The child: run the sensor until SIGTERM, then write what it saw to
 * @path. */
static int lib_monitor_main(uint32_t backend, uint32_t skip, int ready_fd,
			    const char *path)
{
	PROCCACHE_OPTS(proccache_sensor_opts, opts, .backend = backend,
		       .netlink_skip = skip);
	PROCCACHE_OPTS(proccache_sensor_stats, st);
	struct lib_monitor m;
	struct proccache *pc = proccache__new(NULL);
	struct pollfd fds[2];
	struct rusage r0, r1;
	uint64_t start;
	sigset_t term;
	int err, stop_fd;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	stop_fd = signalfd(-1, &term, SFD_CLOEXEC);
	m.out = fopen(path, "w");
	if (!pc || !m.out)
		return 1;
	err = proccache__sensor_start(pc, &opts);
	if (err) {
		fprintf(m.out, "X %s\n", strerror(-err));
		fclose(m.out);
		return 0;
	}
	proccache__subscribe(pc, PROCCACHE_EVENT_EXEC, on_exec, &m, NULL);
	getrusage(RUSAGE_SELF, &r0);
	start = now_ns();
	if (write(ready_fd, "r", 1) != 1)
		return 1;
	fds[0] = (struct pollfd){ .fd = proccache__sensor_fd(pc), .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		err = proccache__sensor_consume(pc);
		if (err < 0)
			break;
	}
	/* what the kernel queued before the storm ended (other processes
	 * keep the sensor busy: a bounded wait) */
	for (uint64_t until = now_ns() + 1000000000u; now_ns() < until;)
		if (proccache__sensor_poll(pc, 100) < 0)
			break;
	getrusage(RUSAGE_SELF, &r1);
	proccache__sensor_stats(pc, &st);
	fprintf(m.out, "S %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		" %" PRIu64 " %" PRIu64 "\n",
		proccache__sensor_backend(pc), st.records, st.lost, st.vanished,
		rusage_ns(&r1) - rusage_ns(&r0), now_ns() - start,
		st.procfs_reads, st.procfs_ns);
	proccache__sensor_stop(pc);
	proccache__free(pc);
	fclose(m.out);
	return 0;
}

struct monitor {
	const char *name;
	pid_t pid;
	char path[256];
	bool failed;
	bool forkstat;
	char why[128];
	uint64_t records, lost, vanished, cpu_ns;
	/* netlink: /proc reads for events and their wall time */
	uint64_t procfs_reads, procfs_ns;
	/* args attribution on storm execs */
	uint64_t seen_execs, correct, wrong, unattributed, unverifiable;
};

static int start_lib_monitor(struct monitor *m, uint32_t backend, uint32_t skip)
{
	int ready[2];
	char c;

	snprintf(m->path, sizeof(m->path), "%s/%s.out", tmpdir, m->name);
	if (pipe(ready))
		return -errno;
	m->pid = fork();
	if (m->pid < 0)
		return -errno;
	if (m->pid == 0) {
		close(ready[0]);
		_exit(lib_monitor_main(backend, skip, ready[1], m->path));
	}
	close(ready[1]);
	/* a failed start closes the pipe without a byte */
	if (read(ready[0], &c, 1) != 1)
		m->failed = true;
	close(ready[0]);
	return 0;
}

static int start_forkstat(struct monitor *m)
{
	snprintf(m->path, sizeof(m->path), "%s/forkstat.out", tmpdir);
	if (access("/usr/bin/forkstat", X_OK)) {
		m->failed = true;
		snprintf(m->why, sizeof(m->why), "not installed (apt install forkstat)");
		return 0;
	}
	m->pid = fork();
	if (m->pid < 0)
		return -errno;
	if (m->pid == 0) {
		if (!freopen(m->path, "w", stdout))
			_exit(127);
		execl("/usr/bin/forkstat", "forkstat", "-l", "-e", "fork,exec,exit",
		      (char *)NULL);
		_exit(127);
	}
	m->forkstat = true;
	usleep(500000); /* its subscription and header */
	return 0;
}

/* The library monitors report their CPU during the storm themselves;
 * forkstat's is all it used (its start-up is a few syscalls). */
static void stop_monitor(struct monitor *m)
{
	struct rusage ru;
	int status;

	if (m->pid <= 0)
		return;
	kill(m->pid, m->forkstat ? SIGINT : SIGTERM);
	if (wait4(m->pid, &status, 0, &ru) < 0)
		return;
	if (m->forkstat)
		m->cpu_ns = rusage_ns(&ru);
}

/* ---- the storm ------------------------------------------------------------ */

/* One forked chain: its pid, and its tag "w.i". */
struct chain {
	pid_t pid;
	uint32_t w, i;
	uint64_t t;
};

static int worker(uint32_t w, uint32_t iters, uint32_t chain, const char *pause,
		  const char *path)
{
	FILE *out = fopen(path, "w");
	char tag[32], n[16];
	pid_t pid;
	uint32_t i;

	if (!out)
		return 1;
	snprintf(n, sizeof(n), "%u", chain);
	for (i = 0; i < iters; i++) {
		snprintf(tag, sizeof(tag), "%u.%u", w, i);
		pid = fork();
		if (pid == 0) {
			execl(storm_exec, "storm-exec", tag, n, pause, (char *)NULL);
			_exit(127);
		}
		if (pid < 0)
			continue;
		fprintf(out, "%d %u %u %" PRIu64 "\n", pid, w, i, now_ns());
		waitpid(pid, NULL, 0);
	}
	fclose(out);
	return 0;
}

static int cmp_chain(const void *pa, const void *pb)
{
	const struct chain *a = pa, *b = pb;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->t < b->t ? -1 : a->t > b->t;
}

static struct chain *read_chains(uint32_t workers, size_t *ret_n)
{
	struct chain *v = NULL, c;
	size_t n = 0, cap = 0;
	char path[300];
	FILE *f;

	for (uint32_t w = 0; w < workers; w++) {
		snprintf(path, sizeof(path), "%s/worker%u", tmpdir, w);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fscanf(f, "%d %u %u %" SCNu64, &c.pid, &c.w, &c.i, &c.t) == 4) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4096;
				v = realloc(v, cap * sizeof(*v));
				if (!v)
					exit(1);
			}
			v[n++] = c;
		}
		fclose(f);
	}
	qsort(v, n, sizeof(*v), cmp_chain);
	*ret_n = n;
	return v;
}

/* ---- attribution ------------------------------------------------------------ */

/* One exec a monitor reported for a storm pid, in its order. */
struct seen {
	pid_t pid;
	uint32_t order;
	bool vanished;
	char tag[32];
	int n; /* -1: args not of a storm image */
};

static int cmp_seen(const void *pa, const void *pb)
{
	const struct seen *a = pa, *b = pb;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* "…storm-exec TAG N" at the end of a command line */
static void parse_args(const char *args, struct seen *s)
{
	const char *p = strstr(args, "storm-exec ");

	s->n = -1;
	s->tag[0] = '\0';
	if (p && sscanf(p, "storm-exec %31s %d", s->tag, &s->n) != 2)
		s->n = -1;
}

static bool is_storm_pid(const struct chain *c, size_t n, pid_t pid)
{
	struct chain probe = { .pid = pid };
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c[mid].pid < probe.pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && c[lo].pid == pid;
}

/*
 * Truth: pid P ran chains c1, c2... (in fork order), each as images
 * N, N-1 ... 0 of its tag. A monitor that saw every exec of P is checked
 * image by image; one that missed some of P's execs cannot be lined up
 * and its P execs are counted unverifiable.
 */
static void judge(struct monitor *m, struct seen *s, size_t ns,
		  const struct chain *c, size_t nc, uint32_t chain)
{
	size_t i = 0, j = 0;

	qsort(s, ns, sizeof(*s), cmp_seen);
	while (i < ns) {
		pid_t pid = s[i].pid;
		size_t si = i, ci = j, k, chains;

		while (i < ns && s[i].pid == pid)
			i++;
		while (j < nc && c[j].pid < pid)
			j++;
		ci = j;
		while (j < nc && c[j].pid == pid)
			j++;
		chains = j - ci;
		m->seen_execs += i - si;
		if (i - si != chains * (chain + 1)) {
			m->unverifiable += i - si;
			continue;
		}
		for (k = si; k < i; k++) {
			size_t img = k - si;
			const struct chain *want = &c[ci + img / (chain + 1)];
			char tag[32];

			snprintf(tag, sizeof(tag), "%u.%u", want->w, want->i);
			if (s[k].vanished || s[k].n < 0)
				m->unattributed++;
			else if (s[k].n == (int)(chain - img % (chain + 1)) &&
				 !strcmp(s[k].tag, tag))
				m->correct++;
			else {
				m->wrong++;
				if (getenv("BENCH_VERBOSE"))
					printf("%s: pid %d image %zu: want %s %u, got %s %d\n",
					       m->name, pid, img, tag,
					       chain - (uint32_t)(img % (chain + 1)),
					       s[k].tag, s[k].n);
			}
		}
	}
}

static void analyse_lib(struct monitor *m, const struct chain *c, size_t nc,
			uint32_t chain)
{
	struct seen *s = NULL;
	size_t ns = 0, cap = 0;
	char line[1024], backend[32];
	uint32_t order = 0;
	FILE *f = fopen(m->path, "r");

	if (!f) {
		m->failed = true;
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		int pid, van, off = 0;

		if (line[0] == 'X') {
			m->failed = true;
			line[strcspn(line, "\n")] = '\0';
			snprintf(m->why, sizeof(m->why), "%.100s", line + 2);
		} else if (line[0] == 'S') {
			sscanf(line, "S %31s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			       " %*u %" SCNu64 " %" SCNu64,
			       backend, &m->records, &m->lost, &m->vanished, &m->cpu_ns,
			       &m->procfs_reads, &m->procfs_ns);
		} else if (sscanf(line, "E %d %d %n", &pid, &van, &off) == 2 &&
			   is_storm_pid(c, nc, pid)) {
			if (ns == cap) {
				cap = cap ? cap * 2 : 4096;
				s = realloc(s, cap * sizeof(*s));
				if (!s)
					exit(1);
			}
			s[ns] = (struct seen){ .pid = pid, .order = order++,
					       .vanished = van };
			parse_args(line + off, &s[ns]);
			ns++;
		}
	}
	fclose(f);
	judge(m, s, ns, c, nc, chain);
	free(s);
}

static void analyse_forkstat(struct monitor *m, const struct chain *c, size_t nc,
			     uint32_t chain)
{
	struct seen *s = NULL;
	size_t ns = 0, cap = 0;
	char line[1024], ev[16], info[16];
	uint32_t order = 0;
	FILE *f = fopen(m->path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		int pid, off = 0;

		if (sscanf(line, "%*s %15s %d %n", ev, &pid, &off) != 2)
			continue;
		/* a fork is two lines, "parent" and "child": one event */
		if ((!strcmp(ev, "fork") &&
		     sscanf(line + off, "%15s", info) == 1 &&
		     !strcmp(info, "child")) ||
		    !strcmp(ev, "exit") || !strcmp(ev, "exec"))
			m->records++;
		if (strcmp(ev, "exec") || !is_storm_pid(c, nc, pid))
			continue;
		if (ns == cap) {
			cap = cap ? cap * 2 : 4096;
			s = realloc(s, cap * sizeof(*s));
			if (!s)
				exit(1);
		}
		s[ns] = (struct seen){ .pid = pid, .order = order++ };
		parse_args(line + off, &s[ns]);
		ns++;
	}
	fclose(f);
	judge(m, s, ns, c, nc, chain);
	free(s);
}

/* ---- the run -------------------------------------------------------------- */

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0;
}

static void print_row(const struct monitor *m, const struct monitor *base,
		      uint64_t expected_events, uint64_t expected_execs)
{
	double per = m->records ? (double)m->cpu_ns / (double)m->records : 0;
	double base_per = base && base->records && !base->failed ?
				  (double)base->cpu_ns / (double)base->records : 0;

	if (m->failed) {
		printf("%-9s  not run: %s\n", m->name, m->why);
		return;
	}
	printf("%-9s %8" PRIu64 " %8" PRIu64 " %7.2f %8.0f %6.2f %8.3f%% %7.3f%% %7.3f%% %7.3f%%\n",
	       m->name, m->records, m->lost, (double)m->cpu_ns / 1e9, per,
	       base_per ? per / base_per : 0,
	       pct(m->correct, expected_execs), pct(m->wrong, expected_execs),
	       pct(m->unattributed, expected_execs),
	       pct(expected_execs > m->seen_execs ? expected_execs - m->seen_execs : 0,
		   expected_execs));
	(void)expected_events;
}

/* A netlink monitor's /proc reads (proccache_sensor_stats). Wall time,
 * preemption included: it overstates their CPU, most where the storm takes
 * both cores (docs/benchmarks.md). */
static void print_reads(const struct monitor *m, const struct monitor *base)
{
	if (m->failed || !m->procfs_reads || !m->records)
		return;
	printf("%s: %" PRIu64 " /proc reads of %.1f us each (wall): %.0f ns/event",
	       m->name, m->procfs_reads,
	       (double)m->procfs_ns / (double)m->procfs_reads / 1e3,
	       (double)m->procfs_ns / (double)m->records);
	if (base && !base->failed && base->records && base->cpu_ns)
		printf(", %.2f of forkstat's CPU per event",
		       ((double)m->procfs_ns / (double)m->records) /
			       ((double)base->cpu_ns / (double)base->records));
	printf("\n");
}

static void remove_tmpdir(uint32_t workers)
{
	static const char *const outs[] = { "netlink.out", "nl-lean.out", "bpf.out",
					    "forkstat.out" };
	char path[300];

	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, outs[i]);
		unlink(path);
	}
	for (uint32_t w = 0; w < workers; w++) {
		snprintf(path, sizeof(path), "%s/worker%u", tmpdir, w);
		unlink(path);
	}
	rmdir(tmpdir);
}

static void run_storm(uint32_t workers, uint32_t iters, uint32_t chain,
		      uint32_t pause_us)
{
	struct monitor mons[4] = {
		{ .name = "netlink" }, { .name = "nl-lean" }, { .name = "bpf" },
		{ .name = "forkstat" },
	};
	const int nmons = 4, fk = 3;
	uint64_t t0, t1, expected_execs, expected_events;
	struct chain *chains;
	size_t nchains;
	char path[300], pause[16];

	snprintf(pause, sizeof(pause), "%u", pause_us);
	start_lib_monitor(&mons[0], PROCCACHE_BACKEND_NETLINK, 0);
	start_lib_monitor(&mons[1], PROCCACHE_BACKEND_NETLINK, lean_skip);
	start_lib_monitor(&mons[2], PROCCACHE_BACKEND_BPF, 0);
	start_forkstat(&mons[fk]);

	t0 = now_ns();
	for (uint32_t w = 0; w < workers; w++) {
		snprintf(path, sizeof(path), "%s/worker%u", tmpdir, w);
		if (fork() == 0)
			_exit(worker(w, iters, chain, pause, path));
	}
	for (uint32_t w = 0; w < workers; w++)
		wait(NULL);
	t1 = now_ns();
	sleep(2); /* let every monitor catch up */
	for (int i = 0; i < nmons; i++)
		stop_monitor(&mons[i]);

	chains = read_chains(workers, &nchains);
	expected_execs = (uint64_t)nchains * (chain + 1);
	expected_events = (uint64_t)nchains * (chain + 3); /* + fork, exit */
	for (int i = 0; i < fk; i++)
		analyse_lib(&mons[i], chains, nchains, chain);
	analyse_forkstat(&mons[fk], chains, nchains, chain);

	printf("\nstorm: images living %u us: %u workers x %u chains of %u execs = %" PRIu64
	       " execs (%" PRIu64 " fork/exec/exit events) in %.2f s (%.0f execs/s), %ld cores\n",
	       pause_us, workers, iters, chain + 1, expected_execs, expected_events,
	       (double)(t1 - t0) / 1e9,
	       (double)expected_execs / ((double)(t1 - t0) / 1e9),
	       sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
	printf("%-9s %8s %8s %7s %8s %6s %9s %8s %8s %8s\n", "monitor", "events",
	       "lost", "cpu s", "ns/event", "ratio", "args ok", "wrong", "no args",
	       "missed");
	for (int i = 0; i < nmons; i++)
		print_row(&mons[i], &mons[fk], expected_events, expected_execs);
	for (int i = 0; i < nmons; i++)
		print_reads(&mons[i], &mons[fk]);
	for (int i = 0; i < nmons; i++)
		if (mons[i].unverifiable)
			printf("%s: %" PRIu64 " execs of pids with missed execs not lined up\n",
			       mons[i].name, mons[i].unverifiable);
	fflush(stdout);
	free(chains);
}

int main(int argc, char **argv)
{
	uint32_t workers = (uint32_t)env_or("BENCH_WORKERS", 2);
	uint32_t iters = (uint32_t)env_or("BENCH_ITERS", 1500);
	uint32_t chain = (uint32_t)env_or("BENCH_CHAIN", 3);
	uint32_t pause_us = (uint32_t)env_or("BENCH_PAUSE_US", 2000);
	const char *only = getenv("BENCH_STORM"); /* "fast" or "slow": one */

	if (argc != 2) {
		fprintf(stderr, "usage: %s STORM_EXEC\n", argv[0]);
		return 2;
	}
	storm_exec = argv[1];
	lean_skip = (uint32_t)env_or("BENCH_SKIP", PROCCACHE_FIELD_ALL);
	if (geteuid() != 0) {
		printf("SKIP: the sensors need root\n");
		return 77;
	}
	if (chain > MAX_CHAIN)
		chain = MAX_CHAIN;
	if (!mkdtemp(tmpdir))
		return 1;
	signal(SIGPIPE, SIG_IGN);

	printf("sensor benchmark: the netlink sensor beside the BPF sensor and forkstat\n");
	printf("events = all events the monitor handled (other processes too; a fork is one);\n"
	       "cpu = its user+sys; nl-lean = the netlink sensor with netlink_skip 0x%x\n",
	       lean_skip);
	printf("args: share of the storm's execs with the right args, wrong args, no args\n"
	       "(exec reported, image unknown), and not reported at all; ratio: ns/event\n"
	       "against forkstat in the same run\n");
	fflush(stdout); /* the monitors are forked: no buffered copy */
	if (!only || !strcmp(only, "fast"))
		run_storm(workers, iters, chain, 0);
	if (!only || !strcmp(only, "slow"))
		run_storm(workers, iters / 3 ? iters / 3 : 1, chain, pause_us);
	remove_tmpdir(workers);
	return 0;
}
