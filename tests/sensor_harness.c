/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel sensor tests' shared harness (sensor_harness.h).
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "sensor_harness.h"

extern char **environ;

struct proccache *pc;
char logbuf[1 << 16];
static size_t loglen;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen *seen;
static size_t nseen, capseen;

double time_scale(void)
{
	const char *s = getenv("PC_TEST_TIME_SCALE");
	double f = s ? strtod(s, NULL) : 1;

	return f >= 1 ? f : 1;
}

/* ---- what the callbacks saw --------------------------------------------- */

void log_sink(enum proccache_log_level level, const char *msg, void *userdata)
{
	size_t n = strlen(msg);

	(void)userdata;
	if (getenv("PC_TEST_LOG"))
		fprintf(stderr, "[%d] %s\n", level, msg);
	if (level > PROCCACHE_LOG_INFO)
		return;
	pthread_mutex_lock(&lock);
	if (loglen + n + 2 < sizeof(logbuf)) {
		memcpy(logbuf + loglen, msg, n);
		loglen += n;
		logbuf[loglen++] = '\n';
		logbuf[loglen] = '\0';
	}
	pthread_mutex_unlock(&lock);
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
	pthread_mutex_lock(&lock);
	if (nseen == capseen) {
		capseen = capseen ? capseen * 2 : 1024;
		seen = realloc(seen, capseen * sizeof(*seen));
	}
	seen[nseen++] = s;
	pthread_mutex_unlock(&lock);
	return 0;
}

size_t mark_now(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = nseen;
	pthread_mutex_unlock(&lock);
	return n;
}

size_t count_seen(uint32_t type, uint32_t pid, size_t from, size_t nth,
		  struct seen *ret)
{
	size_t count = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = from; i < nseen; i++) {
		if (!(seen[i].type & type) || (pid && seen[i].pid != pid))
			continue;
		if (count++ == nth && ret)
			*ret = seen[i];
	}
	pthread_mutex_unlock(&lock);
	return count;
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void pump_until(uint32_t type, uint32_t pid, size_t from, size_t n)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (count_seen(type, pid, from, 0, NULL) < n) {
		int r = proccache__sensor_poll(pc, 50);

		cr_assert_geq(r, 0, "sensor_poll: %s", strerror(-r));
		cr_assert_lt(now_ms(), deadline,
			     "timed out waiting for event %#x of pid %u", type, pid);
	}
}

void pump_idle(void)
{
	pump_for(pc, 150);
}

void pump_for(struct proccache *cache, unsigned int ms)
{
	for (uint64_t until = now_ms() + ms; now_ms() < until;)
		proccache__sensor_poll(cache, 20);
}

struct proccache_process *wait_live(struct proccache *cache, pid_t pid,
				    uint32_t flags)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	struct proccache_process *p;

	for (;;) {
		p = proccache__lookup_pid(cache, (uint32_t)pid);
		if (p && (proccache_process__flags(p) & flags) == flags)
			return p;
		proccache_process__unref(p);
		cr_assert_lt(now_ms(), deadline, "pid %d never became live", pid);
		proccache__sensor_poll(cache, 20);
	}
}

struct proccache_sensor_stats stats_of(struct proccache *cache)
{
	struct proccache_sensor_stats st = { .sz = sizeof(st) };

	cr_assert_eq(proccache__sensor_stats(cache, &st), 0);
	return st;
}

uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- privileges and set-up ----------------------------------------------- */

bool has_caps(bool need_sys_admin)
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

void new_cache_with(const struct proccache_opts *opts)
{
	PROCCACHE_OPTS(proccache_opts, o, .grace_ns = 600ull * 1000000000ull);

	if (opts) {
		o = *opts;
		o.grace_ns = 600ull * 1000000000ull;
	}
	proccache_set_log(log_sink, NULL);
	pc = proccache__new(&o);
	cr_assert_not_null(pc);
	cr_assert_not_null(proccache__subscribe(pc, 0x1f, on_event, NULL, NULL));
}

void new_cache(void)
{
	new_cache_with(NULL);
}

struct proccache *other_cache(void)
{
	PROCCACHE_OPTS(proccache_opts, o, .grace_ns = 600ull * 1000000000ull);
	struct proccache *cache;

	proccache_set_log(log_sink, NULL);
	cache = proccache__new(&o);
	cr_assert_not_null(cache);
	return cache;
}

struct proccache *other_started(uint32_t backend, int *ret_err)
{
	PROCCACHE_OPTS(proccache_sensor_opts, so, .backend = backend);
	struct proccache *cache = other_cache();

	*ret_err = proccache__sensor_start(cache, &so);
	return cache;
}

void start_sensor_with(const struct proccache_opts *cache_opts,
		       const struct proccache_sensor_opts *opts, const char *backend)
{
	int err;

	new_cache_with(cache_opts);
	err = proccache__sensor_start(pc, opts);
	cr_assert_eq(err, 0, "%s sensor_start: %s\n%s", backend, strerror(-err),
		     logbuf);
	cr_assert_str_eq(proccache__sensor_backend(pc), backend);
}

void start_sensor(const struct proccache_sensor_opts *opts, const char *backend)
{
	start_sensor_with(NULL, opts, backend);
}

void harness_fini(void)
{
	proccache__free(pc);
	pc = NULL;
}

/* ---- processes ----------------------------------------------------------- */

pid_t spawn_full(const char *cwd, int in_fd, const char *path, char *const argv[])
{
	return spawn_env(cwd, in_fd, path, argv, environ);
}

pid_t spawn_env(const char *cwd, int in_fd, const char *path,
		char *const argv[], char *const envp[])
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		if (in_fd >= 0)
			dup2(in_fd, STDIN_FILENO);
		if (cwd && chdir(cwd))
			_exit(126);
		execve(path, argv, envp);
		_exit(127);
	}
	return pid;
}

pid_t spawn(const char *path, char *const argv[])
{
	return spawn_full(NULL, -1, path, argv);
}

int reap(pid_t pid)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

pid_t held_sh(const char *tag, int *ret_go)
{
	char *argv[] = { "sh", "-c", "read x", (char *)tag, NULL };
	char link[64], exe[256];
	int fds[2];
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = spawn_full(NULL, fds[0], "/bin/sh", argv);
	close(fds[0]);
	*ret_go = fds[1];
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	for (int i = 0; i < 400; i++) {
		ssize_t n = readlink(link, exe, sizeof(exe) - 1);

		if (n > 0 && (exe[n] = '\0', strstr(exe, "dash")))
			break;
		usleep(5000);
	}
	return pid;
}

void release(pid_t pid, int go)
{
	cr_assert_eq(write(go, "\n", 1), 1);
	close(go);
	reap(pid);
}

struct proccache_key self_key(void)
{
	struct proccache_process *p = proccache__lookup_pid(pc, getpid());
	struct proccache_key k;

	cr_assert_not_null(p, "the test process is not cached");
	k = proccache_process__key(p);
	proccache_process__unref(p);
	return k;
}

bool key_eq(struct proccache_key a, struct proccache_key b)
{
	return a.pid == b.pid && a.ktime == b.ktime;
}

struct proccache_process *lookup(struct proccache_key k)
{
	struct proccache_process *p = proccache__lookup(pc, &k);

	cr_assert_not_null(p, "key %u/%llu is not cached", k.pid,
			   (unsigned long long)k.ktime);
	return p;
}

size_t join_args(char *const argv[], char *buf, size_t len)
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

bool args_eq(const struct proccache_process *p, const char *want, size_t want_len)
{
	size_t len;
	const char *args = proccache_process__args(p, &len);

	return len == want_len && memcmp(args, want, len) == 0;
}

struct seen the_exec(pid_t pid, size_t from)
{
	struct seen s;

	pump_until(PROCCACHE_EVENT_EXEC, pid, from, 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXEC, pid, from, 0, &s), 1);
	return s;
}

struct seen exit_of(pid_t pid, size_t from)
{
	struct seen s;

	pump_until(PROCCACHE_EVENT_EXIT, pid, from, 1);
	cr_assert_eq(count_seen(PROCCACHE_EVENT_EXIT, pid, from, 0, &s), 1);
	return s;
}

struct seen run(char *const argv[], int want_status)
{
	size_t mark = mark_now();
	pid_t pid = spawn(argv[0], argv);

	cr_assert_eq(reap(pid), want_status);
	pump_until(PROCCACHE_EVENT_EXIT, pid, mark, 1);
	return the_exec(pid, mark);
}

/* ---- the BPF sensor's exec map -------------------------------------------- */

struct pc_exec_value map_entry(pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	struct pc_exec_value v;

	cr_assert_eq(bpf_map_lookup_elem(proccache__sensor_exec_map_fd(pc), &key, &v), 0,
		     "pid %d is not in the exec map", pid);
	return v;
}

struct proccache_key map_key(struct pc_key k)
{
	return (struct proccache_key){ .ktime = k.ktime, .pid = k.pid };
}
