/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory under a long real exec storm, with the BPF sensor (needs root):
 *
 *   bench_storm_rss STORM_EXEC        (meson test --suite bench bench_storm_rss)
 *
 * BENCH_STORM_SECONDS (default 600) of BENCH_WORKERS (default 2) workers
 * each forking chains of storm-exec (three images per process), while the
 * library's own thread consumes the sensor with the default grace and
 * cap. Every 1/30 of the run this process's resident memory is printed
 * with the cache's size and the sensor's counters: the RSS curve. The
 * baseline is the RSS after the sensor started, before the storm; the
 * summary gives the highest RSS of each half and their ratio (flat memory:
 * the second half no higher than the first). docs/benchmarks.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proccache/proccache.h>

#define SAMPLES 30

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rss_kib(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 10) : def;
}

/* Fork chains of storm-exec until killed. */
static pid_t start_worker(const char *storm_exec)
{
	pid_t pid = fork(), child;

	if (pid != 0)
		return pid;
	for (;;) {
		child = fork();
		if (child == 0) {
			execl(storm_exec, "storm-exec", "rss", "2", (char *)NULL);
			_exit(127);
		}
		if (child < 0 || waitpid(child, NULL, 0) < 0)
			usleep(1000);
	}
}

int main(int argc, char **argv)
{
	PROCCACHE_OPTS(proccache_sensor_opts, sopts,
		       .backend = PROCCACHE_BACKEND_BPF);
	unsigned long seconds = env_ul("BENCH_STORM_SECONDS", 600);
	unsigned long workers = env_ul("BENCH_WORKERS", 2), w;
	uint64_t rss[SAMPLES], base, first = 0, second = 0, t0, due;
	struct proccache_sensor_stats ss = { .sz = sizeof(ss) };
	struct proccache_stats st = { .sz = sizeof(st) };
	struct proccache *pc;
	pid_t pids[64];
	int err, s;

	if (argc != 2) {
		fprintf(stderr, "usage: %s STORM_EXEC\n", argv[0]);
		return 2;
	}
	if (workers > 64)
		workers = 64;
	pc = proccache__new(NULL);
	if (!pc)
		return 1;
	err = proccache__sensor_start(pc, &sopts);
	if (err) {
		fprintf(stderr, "bench_storm_rss: no BPF sensor (%s), skipped\n",
			strerror(-err));
		proccache__free(pc);
		return 77;
	}
	if (proccache__sensor_thread_start(pc))
		return 1;
	base = rss_kib();
	printf("exec storm, BPF sensor: %lu s, %lu workers, chains of 3 "
	       "images\nbaseline RSS after start %llu KiB\n\n", seconds,
	       workers, (unsigned long long)base);
	printf("%8s %10s %8s %10s %10s %10s %10s %8s\n", "t (s)", "RSS KiB",
	       "x base", "cached", "inserts", "reclaims", "records", "lost");
	for (w = 0; w < workers; w++)
		pids[w] = start_worker(argv[1]);
	t0 = now_ms();
	for (s = 0; s < SAMPLES; s++) {
		due = t0 + (uint64_t)(s + 1) * seconds * 1000 / SAMPLES;
		while (now_ms() < due)
			usleep(100000);
		rss[s] = rss_kib();
		proccache__stats(pc, &st);
		proccache__sensor_stats(pc, &ss);
		printf("%8.1f %10llu %8.2f %10llu %10llu %10llu %10llu %8llu\n",
		       (double)(now_ms() - t0) / 1000,
		       (unsigned long long)rss[s], (double)rss[s] / (double)base,
		       (unsigned long long)(st.entries_live + st.entries_exited),
		       (unsigned long long)st.inserts,
		       (unsigned long long)st.reclaims,
		       (unsigned long long)ss.records,
		       (unsigned long long)ss.lost);
		fflush(stdout);
		if (s < SAMPLES / 2)
			first = rss[s] > first ? rss[s] : first;
		else
			second = rss[s] > second ? rss[s] : second;
	}
	for (w = 0; w < workers; w++) {
		kill(pids[w], SIGKILL);
		waitpid(pids[w], NULL, 0);
	}
	proccache__sensor_thread_stop(pc);
	printf("\nmax RSS first half %llu KiB, second half %llu KiB: "
	       "second / first = %.3f (%+.1f%%)\n",
	       (unsigned long long)first, (unsigned long long)second,
	       (double)second / (double)first,
	       100.0 * ((double)second - (double)first) / (double)first);
	proccache__sensor_stop(pc);
	proccache__free(pc);
	return 0;
}
