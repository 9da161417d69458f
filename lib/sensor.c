/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sensor runner: option checks, backend selection, and the turn that
 * drives the backend (its consume, then reconciliation when due) from the
 * host's loop or from the library thread. One epoll set: the backend's fd
 * and one timer, armed for the earlier of the backend's wake-up and the
 * next reconciliation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "log.h"
#include "opts.h"
#include "procfs.h"
#include "reconcile.h"
#include "sensor.h"
#include "sensor_bpf.h"
#include "sensor_netlink.h"

struct pc_sensor {
	struct pc_backend *b;
	enum proccache_backend backend; /* the one running */
	int fallback_errno; /* auto: why BPF was not used (negative errno) */
	uint64_t proc_rejected_base; /* pc_procfs_rejected() at start */
	/* the options' strings, owned: backends keep pointers to them */
	struct pc_sensor_cfg cfg;
	char *proc_prefix, *pin_path;

	int epfd, timerfd;
	/* when the timer is set to fire (CLOCK_MONOTONIC ns), 0 = not set or
	 * fired and taken: a turn sets and reads it only when that changes */
	uint64_t armed_at;
	bool detached;
	struct pc_reconcile rc;
	_Atomic uint64_t reconciliations, reconcile_exited, reconcile_added,
		reconcile_execs, reconcile_ns;

	/* the library thread, see proccache__sensor_thread_start() */
	pthread_t thread;
	bool thread_running;
	int stop_fd;    /* eventfd that wakes the thread to stop */
	int thread_err; /* first error it met; read after join */
};

/* ---- options ---------------------------------------------------------------- */

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
	cfg.netlink_skip = PC_OPTS_GET(opts, netlink_skip, 0);

	if (cfg.backend > PROCCACHE_BACKEND_NETLINK) {
		pc_warn("sensor: unknown backend %u", cfg.backend);
		return -EINVAL;
	}
	if (cfg.netlink_skip & ~(uint32_t)PROCCACHE_FIELD_ALL) {
		pc_warn("sensor: netlink_skip 0x%x has bits outside PROCCACHE_FIELD_ALL",
			cfg.netlink_skip);
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

/* The host may free its options once the sensor started: keep copies. */
static int own_strings(struct pc_sensor *s)
{
	s->proc_prefix = strdup(s->cfg.proc_prefix);
	if (s->cfg.pin_path)
		s->pin_path = strdup(s->cfg.pin_path);
	if (!s->proc_prefix || (s->cfg.pin_path && !s->pin_path))
		return -ENOMEM;
	s->cfg.proc_prefix = s->proc_prefix;
	s->cfg.pin_path = s->pin_path;
	return 0;
}

/* ---- the one epoll set ---------------------------------------------------- */

/*
 * Set the timer for the next deadline unless it is set for that already
 * (the netlink backend rounds its deadlines to a grid, so most turns keep
 * them). A timer left set when nothing is due any more fires once for
 * nothing, which is cheaper than a system call to unset it.
 */
static void arm(struct pc_sensor *s)
{
	uint64_t next = s->b->ops->wake_at ? s->b->ops->wake_at(s->b) : 0;
	uint64_t rc = s->detached ? 0 : pc_reconcile_due_at(&s->rc);
	int err;

	if (rc && (!next || rc < next))
		next = rc;
	if (!next || next == s->armed_at)
		return;
	err = pc_timerfd_arm(s->timerfd, next);
	if (err)
		pc_debug("sensor: cannot arm the timer: %s", strerror(-err));
	else
		s->armed_at = next;
}

/* Take the timer's expiry once it is due: until then it cannot have
 * fired, and there is nothing to read. */
static void take_timer(struct pc_sensor *s)
{
	if (s->armed_at && pc_clock_ns(CLOCK_MONOTONIC) >= s->armed_at &&
	    pc_timerfd_take(s->timerfd))
		s->armed_at = 0;
}

static int open_poll_set(struct pc_sensor *s)
{
	struct epoll_event ev = { .events = EPOLLIN };

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->epfd < 0 || s->timerfd < 0)
		return -errno;
	ev.data.u32 = 0;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->b->ops->fd(s->b), &ev))
		return -errno;
	ev.data.u32 = 1;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev))
		return -errno;
	return 0;
}

/* ---- one turn ---------------------------------------------------------------- */

/* Bring the backend's events in: as many as it has, then what it holds.
 * Under a storm the backend never runs dry: at most DRAIN_NS of it. */
#define DRAIN_NS (100ull * 1000 * 1000)

static int drain_for_pass(void *userdata)
{
	struct pc_backend *b = userdata;
	uint64_t until = pc_clock_ns(CLOCK_MONOTONIC) + DRAIN_NS;
	int n;

	do
		n = b->ops->consume(b);
	while (n > 0 && pc_clock_ns(CLOCK_MONOTONIC) < until);
	if (n < 0)
		return n;
	return b->ops->flush ? b->ops->flush(b) : 0;
}

static void count_pass(struct pc_sensor *s, const struct pc_reconcile_report *rep)
{
	pc_counter_add(&s->reconciliations, 1);
	pc_counter_add(&s->reconcile_exited, rep->res.exited);
	pc_counter_add(&s->reconcile_added, rep->res.added);
	pc_counter_add(&s->reconcile_execs, rep->res.execs);
	atomic_store_explicit(&s->reconcile_ns, rep->ns, memory_order_relaxed);
}

/* Reconcile if due; the entries it changed, or negative. */
static int reconcile_if_due(struct pc_sensor *s)
{
	struct pc_reconcile_report rep;
	uint64_t now = pc_clock_ns(CLOCK_MONOTONIC);
	int ret;

	pc_reconcile_note_loss(&s->rc, pc_counter_get(&s->b->stats.lost), now);
	if (s->detached)
		return 0;
	ret = pc_reconcile_run_due(&s->rc, s->b->pc, now, drain_for_pass, s->b,
				   &rep);
	if (!ret)
		return 0;
	count_pass(s, &rep);
	/* losses during the pass call for another one */
	pc_reconcile_note_loss(&s->rc, pc_counter_get(&s->b->stats.lost),
			       pc_clock_ns(CLOCK_MONOTONIC));
	return ret < 0 ? ret :
			 (int)(rep.res.exited + rep.res.added + rep.res.execs);
}

static int turn(struct pc_sensor *s)
{
	int n, ret;

	take_timer(s);
	n = s->b->ops->consume(s->b);
	ret = n < 0 ? 0 : reconcile_if_due(s);
	arm(s);
	if (n < 0)
		return n;
	return ret < 0 ? ret : n + ret;
}

static void drain(struct pc_sensor *s)
{
	int n;

	do
		n = s->b->ops->consume(s->b);
	while (n > 0);
}

/* ---- start and stop ------------------------------------------------------ */

/* The two places that know where the cache keeps its sensor. */
static struct pc_sensor *sensor_of(const struct proccache *pc)
{
	return pc->sensor;
}

static void sensor_set(struct proccache *pc, struct pc_sensor *s)
{
	pc->sensor = s;
}

/*
 * An explicit backend fails with its own error; auto prefers BPF and falls
 * back to netlink, saying why in the log and in the stats.
 */
static int start_backend(struct pc_sensor *s, struct proccache *pc)
{
	int bpf_err = 0, err;

	if (s->cfg.backend != PROCCACHE_BACKEND_NETLINK) {
		err = pc_sensor_bpf_start(pc, &s->cfg, &s->b);
		if (!err || s->cfg.backend == PROCCACHE_BACKEND_BPF) {
			s->backend = PROCCACHE_BACKEND_BPF;
			return err;
		}
		bpf_err = err;
		pc_warn("sensor: BPF backend unavailable (%s); falling back to the netlink proc connector",
			strerror(-err));
	}
	err = pc_sensor_netlink_start(pc, &s->cfg, &s->b);
	if (err) {
		if (bpf_err)
			pc_error("sensor: no backend could start: BPF: %s, netlink: %s",
				 strerror(-bpf_err), strerror(-err));
		return err;
	}
	s->backend = PROCCACHE_BACKEND_NETLINK;
	s->fallback_errno = bpf_err;
	pc_info("sensor: using the netlink backend (%s)",
		bpf_err ? "BPF could not be used" : "requested");
	return 0;
}

static void sensor_destroy(struct pc_sensor *s)
{
	if (s->b)
		s->b->ops->destroy(s->b);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->timerfd >= 0)
		close(s->timerfd);
	free(s->proc_prefix);
	free(s->pin_path);
	free(s);
}

PROCCACHE_API int proccache__sensor_start(struct proccache *pc,
					  const struct proccache_sensor_opts *opts)
{
	uint64_t rejected_base = pc_procfs_rejected();
	struct pc_sensor *s;
	int err;

	if (!pc)
		return -EINVAL;
	if (sensor_of(pc))
		return -EALREADY;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->epfd = s->timerfd = s->stop_fd = -1;
	s->proc_rejected_base = rejected_base;
	err = parse_opts(opts, &s->cfg);
	s->cfg.env_max = pc_cache_env_max(pc);
	if (!err)
		err = own_strings(s);
	if (!err)
		err = start_backend(s, pc);
	if (!err)
		err = open_poll_set(s);
	if (err) {
		if (s->b)
			s->b->ops->detach(s->b);
		sensor_destroy(s);
		return err;
	}
	pc_reconcile_init(&s->rc, s->cfg.proc_prefix, s->cfg.args_max,
			  s->cfg.reconcile_interval_ns,
			  pc_counter_get(&s->b->stats.lost),
			  pc_clock_ns(CLOCK_MONOTONIC));
	arm(s);
	sensor_set(pc, s);
	return 0;
}

static void sensor_stop(struct proccache *pc)
{
	struct pc_sensor *s = sensor_of(pc);

	if (!s)
		return;
	proccache__sensor_thread_stop(pc);
	/* Stop producing, then take what the kernel wrote up to here. */
	s->b->ops->detach(s->b);
	s->detached = true;
	drain(s);
	sensor_set(pc, NULL);
	sensor_destroy(s);
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

struct pc_backend *pc_sensor_backend(const struct proccache *pc)
{
	const struct pc_sensor *s = pc ? sensor_of(pc) : NULL;

	return s ? s->b : NULL;
}

/* ---- the library thread --------------------------------------------------- */

/* Under a storm the thread wakes at most about this often. */
#define BATCH_MS 5

static void *sensor_thread(void *arg)
{
	struct pc_sensor *s = arg;
	struct pollfd fds[2] = {
		{ .fd = s->epfd, .events = POLLIN },
		{ .fd = s->stop_fd, .events = POLLIN },
	};
	uint64_t last = 0, now;

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
		 * batch under a storm, no delay for a lone event. Only for a
		 * backend that says records may wait (sensor_backend.h). */
		now = pc_clock_ns(CLOCK_MONOTONIC) / 1000000;
		if (s->b->ops->batches && now - last < BATCH_MS &&
		    poll(&fds[1], 1, BATCH_MS) > 0)
			break;
		last = pc_clock_ns(CLOCK_MONOTONIC) / 1000000;
		n = turn(s);
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

/* ---- the host's loop -------------------------------------------------------- */

PROCCACHE_API int proccache__sensor_fd(struct proccache *pc)
{
	struct pc_sensor *s;

	if (!pc)
		return -EINVAL;
	s = sensor_of(pc);
	return s ? s->epfd : -ENODEV;
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

	return err ? err : turn(s);
}

PROCCACHE_API int proccache__sensor_poll(struct proccache *pc, int timeout_ms)
{
	struct pc_sensor *s;
	struct pollfd pfd;
	int n = host_driven(pc, &s);

	if (n)
		return n;
	pfd = (struct pollfd){ .fd = s->epfd, .events = POLLIN };
	n = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return turn(s);
}

/* ---- what it says about itself ------------------------------------------- */

PROCCACHE_API const char *proccache__sensor_backend(const struct proccache *pc)
{
	const struct pc_sensor *s = pc ? sensor_of(pc) : NULL;

	if (!s)
		return NULL;
	return s->backend == PROCCACHE_BACKEND_BPF ? "bpf" : "netlink";
}

PROCCACHE_API int proccache__sensor_exec_map_fd(const struct proccache *pc)
{
	const struct pc_sensor *s;

	if (!pc)
		return -EINVAL;
	s = sensor_of(pc);
	return s ? s->b->ops->exec_map_fd(s->b) : -ENODEV;
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
#define GET(from, f) st.f = pc_counter_get(&(from)->f)
	GET(&s->b->stats, records);
	GET(&s->b->stats, malformed);
	GET(&s->b->stats, lost);
	GET(&s->b->stats, scanned);
	GET(&s->b->stats, foreign);
	GET(&s->b->stats, vanished);
	GET(&s->b->stats, procfs_reads);
	GET(&s->b->stats, procfs_ns);
	GET(s, reconciliations);
	GET(s, reconcile_exited);
	GET(s, reconcile_added);
	GET(s, reconcile_execs);
	GET(s, reconcile_ns);
#undef GET
	st.proc_rejected = pc_procfs_rejected() - s->proc_rejected_base;
	st.backend = (uint32_t)s->backend;
	st.fallback_errno = s->fallback_errno;
	st.variant = s->b->bpf_variant;
	sz = ret->sz < sizeof(st) ? ret->sz : sizeof(st);
	/* Only what the caller's struct has room for; its sz stays. */
	memcpy((char *)ret + sizeof(size_t), (char *)&st + sizeof(size_t),
	       sz - sizeof(size_t));
	return 0;
}
