/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor. The proc connector says only that something happened
 * to a pid, and when (CLOCK_MONOTONIC); this file owns the socket, reads
 * /proc at once (lib/procfs.h) and turns each event into an ingest event
 * carrying what the kernel and /proc said: the parent's pid and start
 * time, the process's start time. It never reads the cache: ingest decides
 * which entry is the parent and which image an exec replaces. Decoding is
 * netlink_wire.c, the settle FIFO netlink_settle.c. Ingest thread only,
 * except the counters. See docs/sensor-netlink.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "netlink_events.h"
#include "netlink_settle.h"
#include "sensor_netlink.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

/* Datagrams taken per recvmmsg() and per consume call. */
#define RECV_BATCH 32
#define RECV_BUDGET 1024
/* A kernel datagram is 76 bytes; larger ones are refused, not truncated
 * into something that looks valid. */
#define DGRAM_MAX 512
/* How long start-up waits for the subscription to be acknowledged. */
#define ACK_TIMEOUT_MS 2000
/* The settle timer is coalesced: a decision due at t is taken at the
 * first wake-up after t, and the timer is set for t + WAKE_SLACK_NS
 * rounded up to WAKE_GRID_NS. Under a storm the socket's own wake-ups
 * come first and take the decisions; the timer fires when it is quiet. */
#define WAKE_SLACK_NS 1000000ull
#define WAKE_GRID_NS 1000000ull
/* Parents' start times remembered (direct-mapped by pid). */
#define PARENT_SLOTS 1024

bool pc_sensor_netlink_no_filter;

struct pc_sensor_netlink {
	struct pc_backend base; /* first: what the runner holds */
	const struct pc_sensor_cfg *cfg; /* the runner's, outlives us */
	int sock;
	uint32_t port;       /* our netlink port id */
	uint32_t ctl_seq;    /* seq of our last control message */
	uint32_t ctl_ack;    /* its ack field; the kernel answers ack + 1 */
	bool acked;          /* the kernel acknowledged ctl_seq */
	uint32_t ack_err;
	bool detached;       /* stop: ingest everything, decide at once */
	int64_t boot_offset; /* CLOCK_BOOTTIME - CLOCK_MONOTONIC */
	uint64_t drops_seen; /* SK_MEMINFO_DROPS already reported */
	uint64_t wake;       /* CLOCK_MONOTONIC: the FIFO head's decision; 0 */
	bool congested;      /* ENOBUFS seen, the socket not emptied since */
	struct pc_nl_fifo q;
	struct pc_procfs_reader *rd; /* /proc opened once */
	struct pc_procfs_caps caps;  /* what an exec reads: args, environment */
	/* start time of the process holding a pid, as read from /proc;
	 * forgotten when the pid forks anew, exits, or events are lost */
	struct parent_slot {
		uint32_t pid;
		uint64_t start_ns;
	} parents[PARENT_SLOTS];
	_Atomic uint64_t unfiltered;
	/* recvmmsg() room */
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_nl from[RECV_BATCH];
	char bufs[RECV_BATCH][DGRAM_MAX];
	struct pc_nl_event evs[RECV_BATCH]; /* decoded; what == NONE: none */
};

static struct pc_sensor_netlink *nl_of(struct pc_backend *s)
{
	return (struct pc_sensor_netlink *)s;
}

static const struct pc_sensor_netlink *nl_of_const(const struct pc_backend *s)
{
	return (const struct pc_sensor_netlink *)s;
}

/* ---- clocks ------------------------------------------------------------ */

/*
 * The proc connector stamps events with ktime_get_ns() (CLOCK_MONOTONIC);
 * exec keys are CLOCK_BOOTTIME. The two differ by the time spent
 * suspended, so the offset is measured again on every consume call. The
 * reading is bracketed by two monotonic ones: the error is half their gap,
 * well under a microsecond.
 */
static void refresh_offset(struct pc_sensor_netlink *nl)
{
	uint64_t m0 = pc_clock_ns(CLOCK_MONOTONIC);
	uint64_t b = pc_clock_ns(CLOCK_BOOTTIME);
	uint64_t m1 = pc_clock_ns(CLOCK_MONOTONIC);

	nl->boot_offset = (int64_t)(b - (m0 + (m1 - m0) / 2));
}

static uint64_t to_boot(const struct pc_sensor_netlink *nl, uint64_t mono)
{
	return mono + (uint64_t)nl->boot_offset;
}

/* ---- parents' start times --------------------------------------------------- */

/*
 * A child's /proc parent is the process holding its ppid when the child is
 * read; a pid changes holder only by an exit and a fork, both reported
 * before anything the new holder's children do, and both forget the pid
 * here. So a remembered start time is the holder's; the rule that a parent
 * cannot have started after its child still applies to it.
 */
static struct parent_slot *parent_slot(struct pc_sensor_netlink *nl,
				       uint32_t pid)
{
	return &nl->parents[pid % PARENT_SLOTS];
}

static void parent_forget(struct pc_sensor_netlink *nl, uint32_t pid)
{
	struct parent_slot *ps = parent_slot(nl, pid);

	if (ps->pid == pid)
		ps->pid = 0;
}

static uint64_t parent_start(struct pc_sensor_netlink *nl, uint32_t ppid,
			     uint64_t child_start)
{
	struct parent_slot *ps = parent_slot(nl, ppid);
	uint64_t start;

	if (!ppid)
		return 0;
	if (ps->pid == ppid) {
		start = ps->start_ns;
	} else {
		uint64_t t0 = pc_clock_ns(CLOCK_MONOTONIC);
		int err = pc_procfs_reader_start_time(nl->rd, ppid, &start, NULL);

		pc_backend_read_done(&nl->base, t0);
		if (err)
			return 0;
		ps->pid = ppid;
		ps->start_ns = start;
	}
	return start > child_start ? 0 : start;
}

/* ---- what arrives -------------------------------------------------------- */

/* A new thread-group leader: its key is its /proc start time, as for a
 * scanned process. Gone already: the fork's own time, in whole ticks. */
static void on_fork(struct pc_sensor_netlink *nl, struct pc_nl_item *it)
{
	uint64_t start, t0 = pc_clock_ns(CLOCK_MONOTONIC);
	int err = pc_procfs_reader_start_time(nl->rd, it->e.tgid, &start,
					      NULL);

	pc_backend_read_done(&nl->base, t0);
	/* A start after the fork event means a newer process holds the pid. */
	if (err || start > it->boot_ts)
		start = it->boot_ts - it->boot_ts % pc_tick_ns();
	it->start_ns = start;
}

/*
 * An exec whose process exec'd again before we got to it: its image is
 * gone, and the settle rules would not attribute a read of it anyway (the
 * next exec was reported before the read began). Only the process's own
 * facts are read: its start time and parent.
 */
static void on_exec_overtaken(struct pc_sensor_netlink *nl,
			      struct pc_nl_item *it)
{
	struct proccache_event *ev = &it->info.ev;
	uint64_t start;
	uint32_t ppid;

	it->overtaken = true;
	it->read_start = pc_clock_ns(CLOCK_MONOTONIC);
	it->read_err = pc_procfs_reader_start_time(nl->rd, it->e.tgid, &start,
						   &ppid);
	pc_backend_read_done(&nl->base, it->read_start);
	it->read_end = it->read_start;
	if (!it->read_err && start > it->boot_ts)
		it->read_err = -ENOENT;
	if (it->read_err)
		return;
	ev->flags = PROCCACHE_F_VANISHED;
	ev->start_time = start;
	ev->parent.pid = ppid;
	ev->parent.ktime = parent_start(nl, ppid, start);
	it->info.ppid = ppid;
}

static void on_exec(struct pc_sensor_netlink *nl, struct pc_nl_item *it)
{
	it->read_start = pc_clock_ns(CLOCK_MONOTONIC);
	/* environ is opened only when the cache keeps environments */
	it->read_err = pc_procfs_reader_read(nl->rd, it->e.tgid, &nl->caps,
					     PC_PROCFS_READ_NO_PARENT, &it->info);
	it->read_end = pc_backend_read_done(&nl->base, it->read_start);
	if (!it->read_err && it->info.ev.start_time > it->boot_ts) {
		/* the process is gone and its pid taken by a younger one */
		pc_proc_info_release(&it->info);
		it->read_err = -ENOENT;
	}
	if (!it->read_err)
		it->info.ev.parent.ktime = parent_start(
			nl, it->info.ppid, it->info.ev.start_time);
}

static void on_creds(struct pc_sensor_netlink *nl, struct pc_nl_item *it)
{
	/* Only status and loginuid matter (lib/netlink_events.c takes the
	 * creds alone); args, cwd, namespaces, cgroup and the parent are not
	 * worth reading: 14 system calls fewer. */
	static const struct pc_procfs_caps status_only = {
		.args_max = 1,
		.skip = PROCCACHE_FIELD_CWD | PROCCACHE_FIELD_NS |
			PROCCACHE_FIELD_CGROUP,
	};
	uint64_t t0 = pc_clock_ns(CLOCK_MONOTONIC);

	it->read_err = pc_procfs_reader_read(nl->rd, it->e.tgid, &status_only,
					     PC_PROCFS_READ_NO_PARENT,
					     &it->info);
	pc_backend_read_done(&nl->base, t0);
}

/* The FIFO kind of an event of the main thread we use; false for what the
 * socket filter drops (thread events, other types). */
static bool kind_of(const struct pc_nl_event *e, enum pc_nl_kind *ret)
{
	if (e->pid != e->tgid)
		return false;
	switch (e->what) {
	case PROC_EVENT_FORK:
		*ret = PC_NL_CLONE;
		return true;
	case PROC_EVENT_EXEC:
		*ret = PC_NL_EXEC;
		return true;
	case PROC_EVENT_EXIT:
		*ret = PC_NL_EXIT;
		return true;
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		*ret = PC_NL_CREDS;
		return true;
	default:
		return false;
	}
}

static void on_ack(struct pc_sensor_netlink *nl, const struct pc_nl_event *e)
{
	/* Acknowledgements are multicast: other listeners' are not ours.
	 * The kernel renumbers seq; only ack identifies the request. */
	if (e->ack == nl->ctl_ack + 1) {
		nl->acked = true;
		nl->ack_err = e->err;
	}
}

/* @overtaken: a later exec of the same process was received already. */
static int on_event(struct pc_sensor_netlink *nl, const struct pc_nl_event *e,
		    bool overtaken)
{
	struct pc_nl_item *it;
	enum pc_nl_kind kind;

	if (e->what == PROC_EVENT_NONE) {
		on_ack(nl, e);
		return 0;
	}
	if (!kind_of(e, &kind)) {
		/* What the socket filter drops; seen only without it. */
		pc_counter_add(&nl->unfiltered, 1);
		return 0;
	}
	/* Events are queued in the order the kernel stamps them, give or
	 * take a preemption between stamp and send (PC_NL_SETTLE_NS covers
	 * it): what was sent before this stamp has been received. */
	pc_nl_fifo_seen(&nl->q, e->ts);
	it = pc_nl_item_new(kind);
	if (!it)
		return -ENOMEM;
	it->e = *e;
	it->boot_ts = to_boot(nl, e->ts);
	if (kind == PC_NL_CLONE || kind == PC_NL_EXIT)
		parent_forget(nl, e->tgid);
	if (kind == PC_NL_CLONE)
		on_fork(nl, it);
	else if (kind == PC_NL_EXEC && overtaken)
		on_exec_overtaken(nl, it);
	else if (kind == PC_NL_EXEC)
		on_exec(nl, it);
	else if (kind == PC_NL_CREDS)
		on_creds(nl, it);
	pc_nl_fifo_push(&nl->q, it);
	pc_counter_add(&nl->base.stats.records, 1);
	return 0;
}

/* Events the kernel could not queue for us: a LOST event in order. */
static int note_drops(struct pc_sensor_netlink *nl, bool overrun)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);
	struct pc_nl_item *it;
	uint64_t drops, lost;

	memset(mem, 0, sizeof(mem));
	if (getsockopt(nl->sock, SOL_SOCKET, SO_MEMINFO, mem, &len) ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		drops = nl->drops_seen + (overrun ? 1 : 0);
	else
		drops = mem[SK_MEMINFO_DROPS];
	/* The kernel's counter is 32 bits wide and wraps. */
	lost = (uint32_t)(drops - nl->drops_seen);
	if (!lost && overrun)
		lost = 1;
	nl->drops_seen = drops;
	if (!lost)
		return 0;
	/* a pid may have changed holder unseen */
	memset(nl->parents, 0, sizeof(nl->parents));
	it = pc_nl_item_new(PC_NL_LOST);
	if (!it)
		return -ENOMEM;
	it->lost = lost;
	pc_nl_fifo_push(&nl->q, it);
	pc_counter_add(&nl->base.stats.lost, lost);
	pc_debug("sensor: netlink: %llu events lost", (unsigned long long)lost);
	return 0;
}

/* Decode datagram @i of the last receive into nl->evs[i]; false (and
 * counted) when it is foreign or malformed. */
static bool decode(struct pc_sensor_netlink *nl, int i)
{
	const struct mmsghdr *m = &nl->msgs[i];
	const struct sockaddr_nl *from = &nl->from[i];
	int err;

	if (m->msg_hdr.msg_namelen < sizeof(*from) ||
	    from->nl_family != AF_NETLINK || from->nl_pid != 0) {
		pc_counter_add(&nl->base.stats.foreign, 1);
		return false;
	}
	err = m->msg_hdr.msg_flags & MSG_TRUNC ?
		      -EBADMSG :
		      pc_nl_decode(m->msg_hdr.msg_iov->iov_base, m->msg_len,
				   from->nl_pid, &nl->evs[i]);
	if (err) {
		pc_counter_add(&nl->base.stats.malformed, 1);
		return false;
	}
	return true;
}

/*
 * Is the exec nl->evs[i] followed, in this receive, by another exec of the
 * same process (no fork of its pid in between, as the settle FIFO links
 * them)? Only the main thread's events count, as in kind_of().
 */
static bool overtaken(const struct pc_sensor_netlink *nl, const bool *ok,
		      int i, int n)
{
	const struct pc_nl_event *x = &nl->evs[i], *e;

	if (x->what != PROC_EVENT_EXEC || x->pid != x->tgid)
		return false;
	for (int j = i + 1; j < n; j++) {
		e = &nl->evs[j];
		if (!ok[j] || e->tgid != x->tgid || e->pid != e->tgid)
			continue;
		if (e->what == PROC_EVENT_EXEC)
			return true;
		if (e->what == PROC_EVENT_FORK)
			return false;
	}
	return false;
}

/* The @n datagrams of the last receive, in order. */
static int on_datagrams(struct pc_sensor_netlink *nl, int n)
{
	bool ok[RECV_BATCH];
	int i, err;

	for (i = 0; i < n; i++)
		ok[i] = decode(nl, i);
	for (i = 0; i < n; i++) {
		if (!ok[i])
			continue;
		err = on_event(nl, &nl->evs[i], overtaken(nl, ok, i, n));
		if (err)
			return err;
	}
	return 0;
}

/* Take up to @budget datagrams; the number taken or a fatal -errno. */
static int receive(struct pc_sensor_netlink *nl, int budget)
{
	int total = 0, i, n, err;

	while (total < budget) {
		uint64_t before = pc_clock_ns(CLOCK_MONOTONIC);

		for (i = 0; i < RECV_BATCH; i++) {
			nl->iov[i] = (struct iovec){ nl->bufs[i], DGRAM_MAX };
			nl->msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &nl->from[i],
				.msg_namelen = sizeof(nl->from[i]),
				.msg_iov = &nl->iov[i],
				.msg_iovlen = 1,
			};
		}
		n = recvmmsg(nl->sock, nl->msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				pc_nl_fifo_seen(&nl->q, before);
				break;
			}
			if (errno == ENOBUFS) {
				nl->congested = true;
				err = note_drops(nl, true);
				if (err)
					return err;
				continue;
			}
			return -errno;
		}
		err = on_datagrams(nl, n);
		if (err)
			return err;
		total += n;
		if (n < RECV_BATCH) {
			pc_nl_fifo_seen(&nl->q, before);
			break;
		}
	}
	return total;
}

/* ---- ingesting ----------------------------------------------------------- */

/*
 * Ingest the FIFO head while it is decided, up to and including the item
 * numbered @upto; nl->wake is set to when the head can be decided.
 * Returns the number ingested, or a subscriber's negative value (the item
 * that got it is ingested and gone).
 */
static int ingest_ready(struct pc_sensor_netlink *nl, bool force, uint64_t upto)
{
	uint64_t now = pc_clock_ns(CLOCK_MONOTONIC);
	enum pc_nl_verdict v;
	struct pc_nl_item *it;
	int n = 0, err;

	while ((it = pc_nl_fifo_next(&nl->q, now, force, upto, &v, &nl->wake))) {
		err = pc_nl_ingest_item(&nl->base, it, v);
		pc_nl_item_free(it);
		if (err)
			return err;
		n++;
	}
	return n;
}

/* ---- the running sensor -------------------------------------------------- */

static int nl_consume(struct pc_backend *s)
{
	struct pc_sensor_netlink *nl = nl_of(s);
	int got, n, err;

	refresh_offset(nl);
	got = receive(nl, RECV_BUDGET);
	err = 0;
	if (got >= 0 && nl->congested) {
		/* Drops start with ENOBUFS and may go on unreported until the
		 * socket is empty; read the counter until then. */
		nl->congested = got >= RECV_BUDGET;
		err = note_drops(nl, false);
	}
	n = ingest_ready(nl, nl->detached, UINT64_MAX);
	if (got < 0)
		return got;
	if (err < 0)
		return err;
	return n;
}

/*
 * Ingest everything queued now, waiting out the settle time of execs
 * still undecided (at most PC_NL_SETTLE_NS, receiving meanwhile so that a
 * later exec is not missed). Used before reconciling with /proc.
 */
static int nl_flush(struct pc_backend *s)
{
	struct pc_sensor_netlink *nl = nl_of(s);
	uint64_t upto, now;
	struct timespec ts;
	int total = 0, n;

	if (!nl->q.tail)
		return 0;
	upto = nl->q.tail->seqno;
	for (;;) {
		n = receive(nl, RECV_BUDGET);
		if (n < 0)
			return n;
		n = ingest_ready(nl, nl->detached, upto);
		if (n < 0)
			return n;
		total += n;
		if (!nl->q.head || nl->q.head->seqno > upto || !nl->wake)
			break;
		now = pc_clock_ns(CLOCK_MONOTONIC);
		if (nl->wake > now) {
			ts.tv_sec = (time_t)((nl->wake - now) / PC_NS_PER_SEC);
			ts.tv_nsec = (long)((nl->wake - now) % PC_NS_PER_SEC);
			nanosleep(&ts, NULL);
		}
	}
	n = ingest_ready(nl, nl->detached, UINT64_MAX);
	return n < 0 ? n : total + n;
}

static int nl_fd(const struct pc_backend *s)
{
	return nl_of_const(s)->sock;
}

static uint64_t nl_wake_at(const struct pc_backend *s)
{
	uint64_t w = nl_of_const(s)->wake;

	if (!w)
		return 0;
	w += WAKE_SLACK_NS;
	return w - w % WAKE_GRID_NS + WAKE_GRID_NS;
}

static int nl_exec_map_fd(const struct pc_backend *s)
{
	return -ENODEV;
}

static int send_control(struct pc_sensor_netlink *nl, enum proc_cn_mcast_op op)
{
	char req[NLMSG_HDRLEN + sizeof(struct cn_msg) + sizeof(uint32_t)];
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct nlmsghdr nlh = { 0 };
	struct cn_msg cn = { 0 };
	uint32_t op32 = op;

	nl->ctl_seq++;
	/* Others send ack 0 and get 1 back: ours must stand apart. */
	nl->ctl_ack = (nl->port * 2654435761u + nl->ctl_seq) | 0x10000u;
	nl->acked = false;
	nlh.nlmsg_len = sizeof(req);
	nlh.nlmsg_type = NLMSG_DONE;
	nlh.nlmsg_pid = nl->port;
	nlh.nlmsg_seq = nl->ctl_seq;
	cn.id.idx = CN_IDX_PROC;
	cn.id.val = CN_VAL_PROC;
	cn.seq = nl->ctl_seq;
	cn.ack = nl->ctl_ack;
	cn.len = sizeof(op32);
	memcpy(req, &nlh, sizeof(nlh));
	memcpy(req + NLMSG_HDRLEN, &cn, sizeof(cn));
	memcpy(req + NLMSG_HDRLEN + sizeof(cn), &op32, sizeof(op32));
	if (sendto(nl->sock, req, sizeof(req), 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

static void nl_detach(struct pc_backend *s)
{
	struct pc_sensor_netlink *nl = nl_of(s);
	int err = send_control(nl, PROC_CN_MCAST_IGNORE);

	if (err)
		pc_debug("sensor: netlink: cannot unsubscribe: %s", strerror(-err));
	nl->detached = true;
}

static void nl_destroy(struct pc_backend *s)
{
	struct pc_sensor_netlink *nl = nl_of(s);

	pc_nl_fifo_clear(&nl->q);
	pc_procfs_reader_free(nl->rd);
	if (nl->sock >= 0)
		close(nl->sock);
	free(nl);
}

static const struct pc_backend_ops nl_ops = {
	.fd = nl_fd,
	.consume = nl_consume,
	.wake_at = nl_wake_at,
	.flush = nl_flush,
	.exec_map_fd = nl_exec_map_fd,
	.detach = nl_detach,
	.destroy = nl_destroy,
	/* consume reads /proc: a late read races the next exec and leaves
	 * an exec without args */
	.batches = false,
};

static bool is_netlink(const struct pc_backend *s)
{
	return s && s->ops == &nl_ops;
}

int pc_sensor_netlink_socket(const struct pc_backend *s)
{
	return is_netlink(s) ? nl_of_const(s)->sock : -ENODEV;
}

uint64_t pc_sensor_netlink_unfiltered(const struct pc_backend *s)
{
	return is_netlink(s) ? pc_counter_get(&nl_of_const(s)->unfiltered) : 0;
}

/* ---- start-up ------------------------------------------------------------ */

static void set_rcvbuf(int sock, size_t want)
{
	int v = want > (size_t)INT32_MAX / 2 ? INT32_MAX / 2 : (int)want;

	/* Beyond net.core.rmem_max only with CAP_NET_ADMIN; else the most
	 * the host allows. */
	if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) &&
	    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)))
		pc_warn("sensor: netlink: cannot size the receive buffer: %s",
			strerror(errno));
}

static int open_socket(struct pc_sensor_netlink *nl)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK,
				    .nl_groups = CN_IDX_PROC };
	socklen_t len = sizeof(addr);
	int err;

	nl->sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  NETLINK_CONNECTOR);
	if (nl->sock < 0) {
		err = -errno;
		if (err == -EPROTONOSUPPORT || err == -EAFNOSUPPORT) {
			pc_error("sensor: netlink: this kernel has no connector (CONFIG_CONNECTOR)");
			return -EOPNOTSUPP;
		}
		pc_error("sensor: netlink: socket: %s", strerror(-err));
		return err;
	}
	set_rcvbuf(nl->sock, nl->cfg->netlink_rcvbuf ? nl->cfg->netlink_rcvbuf :
						       PC_NL_RCVBUF_DEFAULT);
	if (!pc_sensor_netlink_no_filter) {
		err = pc_nl_attach_filter(nl->sock);
		if (err)
			pc_warn("sensor: netlink: no socket filter (%s): thread events are dropped in user space",
				strerror(-err));
	}
	if (bind(nl->sock, (struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		if (err == -EPERM || err == -EACCES) {
			pc_error("sensor: netlink: listening to the proc connector needs CAP_NET_ADMIN on this kernel");
			return -EPERM;
		}
		pc_error("sensor: netlink: bind: %s", strerror(-err));
		return err;
	}
	if (getsockname(nl->sock, (struct sockaddr *)&addr, &len))
		return -errno;
	nl->port = addr.nl_pid;
	return 0;
}

/* Subscribe and wait for the kernel's answer; events arriving meanwhile
 * are queued as usual. */
static int subscribe(struct pc_sensor_netlink *nl)
{
	uint64_t deadline = pc_clock_ns(CLOCK_MONOTONIC) + ACK_TIMEOUT_MS * 1000000ull;
	struct pollfd pfd = { .fd = nl->sock, .events = POLLIN };
	uint64_t now;
	int err;

	err = send_control(nl, PROC_CN_MCAST_LISTEN);
	if (err) {
		pc_error("sensor: netlink: cannot subscribe: %s", strerror(-err));
		return err;
	}
	while (!nl->acked) {
		now = pc_clock_ns(CLOCK_MONOTONIC);
		if (now >= deadline) {
			pc_error("sensor: netlink: the kernel did not acknowledge the subscription: no proc connector (CONFIG_PROC_EVENTS), or not in the initial pid and user namespaces");
			return -EOPNOTSUPP;
		}
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) < 0 &&
		    errno != EINTR)
			return -errno;
		err = receive(nl, RECV_BUDGET);
		if (err < 0)
			return err;
	}
	if (nl->ack_err) {
		pc_error("sensor: netlink: the kernel refused the subscription: %s",
			 strerror((int)nl->ack_err));
		return nl->ack_err == EPERM ? -EPERM : -(int)nl->ack_err;
	}
	return 0;
}

static int setup(struct pc_sensor_netlink *nl)
{
	uint64_t since;
	int err;

	err = open_socket(nl);
	if (!err)
		err = subscribe(nl);
	if (err)
		return err;
	since = pc_clock_ns(CLOCK_BOOTTIME);
	pc_info("sensor: netlink proc connector subscribed (port %u, receive buffer %zu bytes)",
		nl->port, nl->cfg->netlink_rcvbuf ? nl->cfg->netlink_rcvbuf :
						    PC_NL_RCVBUF_DEFAULT);
	/* Those born after the subscription are left to their fork event. */
	return pc_backend_seed(&nl->base, nl->cfg, since, NULL);
}

int pc_sensor_netlink_start(struct proccache *pc, const struct pc_sensor_cfg *cfg,
			    struct pc_backend **ret)
{
	struct pc_sensor_netlink *nl = calloc(1, sizeof(*nl));
	int err;

	if (!nl)
		return -ENOMEM;
	pc_backend_init(&nl->base, &nl_ops, pc);
	nl->cfg = cfg;
	nl->caps = (struct pc_procfs_caps){ .args_max = cfg->args_max,
					    .env_max = cfg->env_max,
					    .skip = cfg->netlink_skip };
	nl->sock = -1;
	refresh_offset(nl);
	err = pc_procfs_reader_new(cfg->proc_prefix, &nl->rd);
	if (!err)
		err = setup(nl);
	if (err) {
		if (nl->port)
			send_control(nl, PROC_CN_MCAST_IGNORE);
		nl_destroy(&nl->base);
		return err;
	}
	/* What happened during start-up, now that the parents are in. */
	err = nl_consume(&nl->base);
	if (err < 0)
		pc_debug("sensor: first consume: %s", strerror(-err));
	*ret = &nl->base;
	return 0;
}
