/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public sensor API: option checks, backend selection, the host's
 * consume/poll calls and the library-owned thread. Backends (sensor_bpf.c)
 * only produce events.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "opts.h"
#include "reconcile.h"
#include "sensor.h"
#include "sensor_bpf.h"
#include "sensor_netlink.h"

/* The two places that know where the cache keeps its sensor. */
static struct pc_sensor *sensor_of(const struct proccache *pc)
{
	return pc->sensor;
}

static void sensor_set(struct proccache *pc, struct pc_sensor *s)
{
	pc->sensor = s;
}

void pc_sensor_init(struct pc_sensor *s, const struct pc_sensor_ops *ops,
		    struct proccache *pc)
{
	s->ops = ops;
	s->pc = pc;
	s->stop_fd = -1;
}

static bool is_pow2(size_t v)
{
	return v && !(v & (v - 1));
}

static int parse_opts(const struct proccache_sensor_opts *opts,
		      struct pc_sensor_cfg *ret)
{
	long page = sysconf(_SC_PAGESIZE);
	struct pc_sensor_cfg cfg;

	if (!pc_opts_valid(opts, sizeof(*opts), "proccache_sensor_opts"))
		return -EINVAL;
	cfg.backend = PC_OPTS_GET(opts, backend, PROCCACHE_BACKEND_AUTO);
	cfg.ring_size = PC_OPTS_GET(opts, ring_size, 0);
	cfg.args_max = PC_OPTS_GET(opts, args_max, 0);
	cfg.proc_prefix = PC_OPTS_GET(opts, proc_prefix, NULL);
	cfg.pin_path = PC_OPTS_GET(opts, pin_path, NULL);
	cfg.reconcile_interval_ns = PC_OPTS_GET(opts, reconcile_interval_ns, 0);
	cfg.netlink_rcvbuf = PC_OPTS_GET(opts, netlink_rcvbuf, 0);
	cfg.wakeup_ns = PC_OPTS_GET(opts, wakeup_ns, 0);

	if (cfg.backend > PROCCACHE_BACKEND_NETLINK) {
		pc_warn("sensor: unknown backend %u", cfg.backend);
		return -EINVAL;
	}
	if (!cfg.ring_size)
		cfg.ring_size = PC_SENSOR_RING_DEFAULT;
	if (!is_pow2(cfg.ring_size) || cfg.ring_size % (size_t)page ||
	    cfg.ring_size > ((size_t)1 << 30)) {
		pc_warn("sensor: ring_size %zu is not a power of two multiple of the page size (at most 1 GiB)",
			cfg.ring_size);
		return -EINVAL;
	}
	if (!cfg.args_max)
		cfg.args_max = PC_SENSOR_ARGS_DEFAULT;
	if (cfg.args_max > PC_SENSOR_ARGS_LIMIT) {
		pc_warn("sensor: args_max %zu is above the limit of %zu",
			cfg.args_max, PC_SENSOR_ARGS_LIMIT);
		return -EINVAL;
	}
	if (!cfg.proc_prefix || !*cfg.proc_prefix)
		cfg.proc_prefix = "/proc";
	if (cfg.pin_path && !*cfg.pin_path)
		cfg.pin_path = NULL;
	*ret = cfg;
	return 0;
}

/*
 * An explicit backend fails with its own error; auto prefers BPF and falls
 * back to netlink, saying why in the log and in the stats.
 */
static int start_backend(struct proccache *pc, const struct pc_sensor_cfg *cfg,
			 struct pc_sensor **ret)
{
	int bpf_err = 0, err;

	if (cfg->backend != PROCCACHE_BACKEND_NETLINK) {
		err = pc_sensor_bpf_start(pc, cfg, ret);
		if (!err || cfg->backend == PROCCACHE_BACKEND_BPF) {
			if (!err)
				(*ret)->backend = PROCCACHE_BACKEND_BPF;
			return err;
		}
		bpf_err = err;
		pc_warn("sensor: BPF backend unavailable (%s); falling back to the netlink proc connector",
			strerror(-err));
	}
	err = pc_sensor_netlink_start(pc, cfg, ret);
	if (err) {
		if (bpf_err)
			pc_error("sensor: no backend could start: BPF: %s, netlink: %s",
				 strerror(-bpf_err), strerror(-err));
		return err;
	}
	(*ret)->backend = PROCCACHE_BACKEND_NETLINK;
	(*ret)->fallback_errno = bpf_err;
	pc_info("sensor: using the netlink backend (%s)",
		bpf_err ? "BPF could not be used" : "requested");
	return 0;
}

PROCCACHE_API int proccache__sensor_start(struct proccache *pc,
					  const struct proccache_sensor_opts *opts)
{
	struct pc_sensor_cfg cfg;
	struct pc_sensor *s = NULL;
	int err;

	if (!pc)
		return -EINVAL;
	if (sensor_of(pc))
		return -EALREADY;
	err = parse_opts(opts, &cfg);
	if (err)
		return err;
	err = start_backend(pc, &cfg, &s);
	if (err)
		return err;
	err = pc_reconcile_wrap(s, &cfg);
	if (err) {
		s->ops->detach(s);
		s->ops->destroy(s);
		return err;
	}
	sensor_set(pc, s);
	return 0;
}

static void drain(struct pc_sensor *s)
{
	int n;

	do
		n = s->ops->consume(s);
	while (n > 0);
}

/* Under a storm the thread wakes at most about this often. */
#define BATCH_MS 5

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *sensor_thread(void *arg)
{
	struct pc_sensor *s = arg;
	struct pollfd fds[2] = {
		{ .fd = s->ops->fd(s), .events = POLLIN },
		{ .fd = s->stop_fd, .events = POLLIN },
	};
	uint64_t last = 0;

	for (;;) {
		int n = poll(fds, 2, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!s->thread_err)
				s->thread_err = -errno;
			break;
		}
		if (fds[1].revents)
			break;
		/* A consumer that takes each record as it comes is woken by
		 * the kernel for each one (an IPI; a VM exit when virtualised),
		 * and the producing program pays for it. When the last wake-up
		 * was recent, let records gather for a moment: one wake-up per
		 * batch under a storm, no delay for a lone event. Not for the
		 * netlink sensor: its /proc reads race the next exec, and a
		 * late read leaves an exec without args. */
		if (s->backend != PROCCACHE_BACKEND_NETLINK &&
		    monotonic_ms() - last < BATCH_MS &&
		    poll(&fds[1], 1, BATCH_MS) > 0)
			break;
		last = monotonic_ms();
		n = s->ops->consume(s);
		/* The cache must stay current: note the first error, go on. */
		if (n < 0 && !s->thread_err) {
			s->thread_err = n;
			pc_warn("sensor thread: consume failed (%d), going on", n);
		}
	}
	drain(s);
	return NULL;
}

PROCCACHE_API int proccache__sensor_thread_start(struct proccache *pc)
{
	struct pc_sensor *s;
	sigset_t all, old;
	int err;

	if (!pc)
		return -EINVAL;
	s = sensor_of(pc);
	if (!s)
		return -ENODEV;
	if (s->thread_running)
		return -EALREADY;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0)
		return -errno;
	s->thread_err = 0;
	/* The thread inherits a full mask: the host's signals stay on the
	 * host's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&s->thread, NULL, sensor_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(s->stop_fd);
		s->stop_fd = -1;
		return err;
	}
	s->thread_running = true;
	return 0;
}

PROCCACHE_API int proccache__sensor_thread_stop(struct proccache *pc)
{
	struct pc_sensor *s;
	uint64_t one = 1;

	if (!pc)
		return -EINVAL;
	s = sensor_of(pc);
	if (!s)
		return -ENODEV;
	if (!s->thread_running)
		return 0;
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		pc_warn("sensor thread: cannot wake it: %s", strerror(errno));
	pthread_join(s->thread, NULL);
	s->thread_running = false;
	close(s->stop_fd);
	s->stop_fd = -1;
	return s->thread_err;
}

static void sensor_stop(struct proccache *pc)
{
	struct pc_sensor *s = sensor_of(pc);

	if (!s)
		return;
	proccache__sensor_thread_stop(pc);
	/* Stop producing, then take what the kernel wrote up to here. */
	s->ops->detach(s);
	drain(s);
	sensor_set(pc, NULL);
	s->ops->destroy(s);
}

PROCCACHE_API void proccache__sensor_stop(struct proccache *pc)
{
	if (pc)
		sensor_stop(pc);
}

void pc_sensor_free(struct proccache *pc)
{
	if (pc)
		sensor_stop(pc);
}

PROCCACHE_API int proccache__sensor_fd(struct proccache *pc)
{
	struct pc_sensor *s;

	if (!pc)
		return -EINVAL;
	s = sensor_of(pc);
	return s ? s->ops->fd(s) : -ENODEV;
}

/* The sensor the host's own loop may drive: none while the library's
 * thread is the ingest thread. */
static int host_driven(struct proccache *pc, struct pc_sensor **ret)
{
	if (!pc)
		return -EINVAL;
	*ret = sensor_of(pc);
	if (!*ret)
		return -ENODEV;
	return (*ret)->thread_running ? -EBUSY : 0;
}

PROCCACHE_API int proccache__sensor_consume(struct proccache *pc)
{
	struct pc_sensor *s;
	int err = host_driven(pc, &s);

	return err ? err : s->ops->consume(s);
}

PROCCACHE_API int proccache__sensor_poll(struct proccache *pc, int timeout_ms)
{
	struct pc_sensor *s;
	struct pollfd pfd;
	int n = host_driven(pc, &s);

	if (n)
		return n;
	pfd = (struct pollfd){ .fd = s->ops->fd(s), .events = POLLIN };
	n = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return s->ops->consume(s);
}

PROCCACHE_API const char *proccache__sensor_backend(const struct proccache *pc)
{
	const struct pc_sensor *s = pc ? sensor_of(pc) : NULL;

	return s ? s->ops->name : NULL;
}

PROCCACHE_API int proccache__sensor_exec_map_fd(const struct proccache *pc)
{
	const struct pc_sensor *s;

	if (!pc)
		return -EINVAL;
	s = sensor_of(pc);
	return s ? s->ops->exec_map_fd(s) : -ENODEV;
}

PROCCACHE_API int proccache__sensor_stats(const struct proccache *pc,
					  struct proccache_sensor_stats *ret)
{
	struct proccache_sensor_stats st;
	const struct pc_sensor *s;
	size_t sz;

	if (!pc || !ret || ret->sz < sizeof(size_t))
		return -EINVAL;
	s = sensor_of(pc);
	if (!s)
		return -ENODEV;
	memset(&st, 0, sizeof(st));
#define GET(f) st.f = atomic_load_explicit(&s->stats.f, memory_order_relaxed)
	GET(records);
	GET(malformed);
	GET(lost);
	GET(scanned);
	GET(foreign);
	GET(vanished);
	GET(reconciliations);
	GET(reconcile_exited);
	GET(reconcile_added);
	GET(reconcile_execs);
	GET(reconcile_ns);
#undef GET
	st.backend = (uint32_t)s->backend;
	st.fallback_errno = s->fallback_errno;
	st.variant = s->bpf_variant;
	sz = ret->sz < sizeof(st) ? ret->sz : sizeof(st);
	/* Only what the caller's struct has room for; its sz stays. */
	memcpy((char *)ret + sizeof(size_t), (char *)&st + sizeof(size_t),
	       sz - sizeof(size_t));
	return 0;
}
