/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor. The proc connector says only that something happened
 * to a pid, and when (CLOCK_MONOTONIC); this file turns that into ingest
 * events by reading /proc at once (lib/procfs.h) and keying entries the way
 * the BPF sensor does. Decoded events wait in a short FIFO so that an
 * exec's /proc read is attributed to it only when it provably describes its
 * image (docs/sensor-netlink.md). Ingest thread only, except the counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "procfs.h"
#include "reconcile.h"
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
/* Connector payloads we accept: a proc_event, which may grow a little. */
#define EVENT_LEN_MAX 256
/* How long start-up waits for the subscription to be acknowledged. */
#define ACK_TIMEOUT_MS 2000

bool pc_sensor_netlink_no_filter;

enum nl_kind { NL_CLONE, NL_EXEC, NL_EXIT, NL_CREDS, NL_LOST };

/* One event waiting in the FIFO, with what /proc said when it arrived. */
struct nl_item {
	struct nl_item *next;       /* FIFO order */
	struct nl_item *later_exec; /* exec: the next exec of the same pid */
	uint64_t seqno;             /* FIFO position, for flush */
	enum nl_kind kind;
	struct pc_nl_event e;
	uint64_t boot_ts;     /* e.ts as CLOCK_BOOTTIME */
	uint64_t start_ns;    /* clone: the child's start time */
	uint64_t read_start;  /* exec: CLOCK_MONOTONIC around the /proc read */
	uint64_t read_end;
	int read_err;         /* exec, creds: 0 or the read's -errno */
	uint64_t lost;        /* lost: how many */
	struct pc_proc_info info; /* exec, creds: the read */
};

enum verdict { V_WAIT, V_IMAGE, V_NO_IMAGE };

struct pc_sensor_netlink {
	struct pc_sensor base; /* first: the sensor.c handle */
	struct pc_sensor_cfg cfg;
	int sock, epfd, timerfd;
	uint32_t port;       /* our netlink port id */
	uint32_t ctl_seq;    /* seq of our last control message */
	uint32_t ctl_ack;    /* its ack field; the kernel answers ack + 1 */
	bool acked;          /* the kernel acknowledged ctl_seq */
	uint32_t ack_err;
	bool detached;       /* stop: ingest everything, decide at once */
	int64_t boot_offset; /* CLOCK_BOOTTIME - CLOCK_MONOTONIC */
	uint64_t drops_seen; /* SK_MEMINFO_DROPS already reported */
	/* CLOCK_MONOTONIC up to which every event sent has been received, or
	 * nearly: the start of the last receive that emptied the socket, or
	 * the latest kernel stamp received, whichever is later */
	uint64_t seen_until;
	struct nl_item *head, *tail;
	uint64_t next_seqno;
	_Atomic uint64_t unfiltered;
	/* recvmmsg() room */
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_nl from[RECV_BATCH];
	char bufs[RECV_BATCH][DGRAM_MAX];
};

static struct pc_sensor_netlink *nl_of(struct pc_sensor *s)
{
	return (struct pc_sensor_netlink *)s;
}

/* ---- clocks ------------------------------------------------------------ */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The proc connector stamps events with ktime_get_ns() (CLOCK_MONOTONIC);
 * exec keys are CLOCK_BOOTTIME. The two differ by the time spent
 * suspended, so the offset is measured again on every consume call. The
 * reading is bracketed by two monotonic ones: the error is half their gap,
 * well under a microsecond.
 */
static void refresh_offset(struct pc_sensor_netlink *nl)
{
	uint64_t m0 = clock_ns(CLOCK_MONOTONIC);
	uint64_t b = clock_ns(CLOCK_BOOTTIME);
	uint64_t m1 = clock_ns(CLOCK_MONOTONIC);

	nl->boot_offset = (int64_t)(b - (m0 + (m1 - m0) / 2));
}

static uint64_t to_boot(const struct pc_sensor_netlink *nl, uint64_t mono)
{
	return mono + (uint64_t)nl->boot_offset;
}

/* ---- decoding ------------------------------------------------------------ */

/* Bytes of event_data each event type needs. */
static size_t data_needed(uint32_t what)
{
	switch (what) {
	case PROC_EVENT_NONE:
		return sizeof(__u32);
	case PROC_EVENT_FORK:
		return sizeof(struct fork_proc_event);
	case PROC_EVENT_EXEC:
		return sizeof(struct exec_proc_event);
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		return sizeof(struct id_proc_event);
	case PROC_EVENT_EXIT:
		/* kernels before 4.18 lack the parent fields */
		return offsetof(struct exit_proc_event, parent_pid);
	default:
		return 0;
	}
}

static bool pid_ok(__kernel_pid_t pid)
{
	return pid > 0 && (uint32_t)pid < PC_NL_PID_LIMIT;
}

/* The fields we use; false if they make no sense. */
static bool take_fields(const struct proc_event *pe, struct pc_nl_event *e)
{
	switch (pe->what) {
	case PROC_EVENT_NONE:
		e->err = pe->event_data.ack.err;
		return true;
	case PROC_EVENT_FORK:
		e->pid = (uint32_t)pe->event_data.fork.child_pid;
		e->tgid = (uint32_t)pe->event_data.fork.child_tgid;
		e->ppid = (uint32_t)pe->event_data.fork.parent_pid;
		e->ptgid = (uint32_t)pe->event_data.fork.parent_tgid;
		/* the parent of pid 1 and kthreadd is the idle task, pid 0 */
		return pid_ok(pe->event_data.fork.child_pid) &&
		       pid_ok(pe->event_data.fork.child_tgid) &&
		       e->ppid < PC_NL_PID_LIMIT && e->ptgid < PC_NL_PID_LIMIT;
	case PROC_EVENT_EXEC:
		e->pid = (uint32_t)pe->event_data.exec.process_pid;
		e->tgid = (uint32_t)pe->event_data.exec.process_tgid;
		return pid_ok(pe->event_data.exec.process_pid) &&
		       pid_ok(pe->event_data.exec.process_tgid);
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		e->pid = (uint32_t)pe->event_data.id.process_pid;
		e->tgid = (uint32_t)pe->event_data.id.process_tgid;
		e->id_real = pe->event_data.id.r.ruid;
		e->id_eff = pe->event_data.id.e.euid;
		return pid_ok(pe->event_data.id.process_pid) &&
		       pid_ok(pe->event_data.id.process_tgid);
	case PROC_EVENT_EXIT:
		e->pid = (uint32_t)pe->event_data.exit.process_pid;
		e->tgid = (uint32_t)pe->event_data.exit.process_tgid;
		e->exit_code = pe->event_data.exit.exit_code;
		e->exit_signal = pe->event_data.exit.exit_signal;
		return pid_ok(pe->event_data.exit.process_pid) &&
		       pid_ok(pe->event_data.exit.process_tgid) &&
		       e->exit_code <= 0xffff;
	default:
		return true; /* not used; the caller drops it */
	}
}

int pc_nl_decode(const void *buf, size_t len, uint32_t sender_port,
		 struct pc_nl_event *ret)
{
	const size_t head = offsetof(struct proc_event, event_data);
	struct proc_event pe;
	struct pc_nl_event e;
	struct nlmsghdr nlh;
	struct cn_msg cn;

	if (!buf || !ret)
		return -EINVAL;
	/* Only the kernel speaks from port 0; nobody can forge that. */
	if (sender_port != 0)
		return -EPERM;
	if (len < NLMSG_HDRLEN + sizeof(cn))
		return -EBADMSG;
	memcpy(&nlh, buf, sizeof(nlh));
	/* One message, filling the datagram: no second one hidden behind. */
	if (nlh.nlmsg_len < NLMSG_HDRLEN + sizeof(cn) || nlh.nlmsg_len > len ||
	    NLMSG_ALIGN(nlh.nlmsg_len) < len || nlh.nlmsg_type != NLMSG_DONE ||
	    nlh.nlmsg_pid != 0)
		return -EBADMSG;
	memcpy(&cn, (const char *)buf + NLMSG_HDRLEN, sizeof(cn));
	if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC ||
	    nlh.nlmsg_len != NLMSG_HDRLEN + sizeof(cn) + cn.len ||
	    cn.len < head || cn.len > EVENT_LEN_MAX)
		return -EBADMSG;
	memset(&pe, 0, sizeof(pe));
	memcpy(&pe, (const char *)buf + NLMSG_HDRLEN + sizeof(cn),
	       cn.len < sizeof(pe) ? cn.len : sizeof(pe));
	if (cn.len < head + data_needed(pe.what))
		return -EBADMSG;
	memset(&e, 0, sizeof(e));
	e.what = pe.what;
	e.seq = cn.seq;
	e.ack = cn.ack;
	e.ts = pe.timestamp_ns;
	if (!take_fields(&pe, &e))
		return -EBADMSG;
	*ret = e;
	return 0;
}

/* ---- the in-kernel filter -------------------------------------------------- */

/* Offsets in a received datagram: nlmsghdr, cn_msg, proc_event. */
#define OFF_CN NLMSG_HDRLEN
#define OFF_EV (OFF_CN + sizeof(struct cn_msg))
#define OFF_DATA (OFF_EV + offsetof(struct proc_event, event_data))
#define OFF_FORK(f) (OFF_DATA + offsetof(struct fork_proc_event, f))
#define OFF_ID(f) (OFF_DATA + offsetof(struct exec_proc_event, f))

/*
 * Classic BPF run by the kernel before a message is queued on our socket:
 * thread forks, thread exits and uid/gid changes of single threads, and the
 * event types we do not use, are dropped there and never cost us a wakeup
 * or buffer space. Anything that does not look like a proc event is let
 * through so that user space can count it. BPF_ABS loads are big-endian,
 * hence BE32() on constants; comparing two loaded fields needs none.
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BE16(x) __builtin_bswap16(x)
#define BE32(x) __builtin_bswap32(x)
#else
#define BE16(x) (x)
#define BE32(x) (x)
#endif
enum {
	F_LEN, F_LEN_OK, F_TYPE, F_TYPE_OK, F_IDX, F_IDX_OK, F_VAL, F_VAL_OK,
	F_WHAT, F_IS_FORK, F_IS_EXIT, F_IS_UID, F_IS_GID, F_IS_EXEC, F_IS_ACK,
	F_FORK_TGID, F_FORK_TAX, F_FORK_PID, F_FORK_LEADER,
	F_TGID, F_TAX, F_PID, F_LEADER,
	F_ACCEPT, F_DROP, F_COUNT
};
#define TO(from, to) ((__u8)((to) - (from) - 1))
#define JEQ(at, k, yes, no)                                                    \
	[at] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), TO(at, yes), TO(at, no))

static const struct sock_filter filter_code[F_COUNT] = {
	[F_LEN] = BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	[F_LEN_OK] = BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, OFF_FORK(child_tgid) + 4,
			      0, TO(F_LEN_OK, F_ACCEPT)),
	[F_TYPE] = BPF_STMT(BPF_LD | BPF_H | BPF_ABS,
			    offsetof(struct nlmsghdr, nlmsg_type)),
	JEQ(F_TYPE_OK, BE16(NLMSG_DONE), F_IDX, F_ACCEPT),
	[F_IDX] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			   OFF_CN + offsetof(struct cn_msg, id.idx)),
	JEQ(F_IDX_OK, BE32(CN_IDX_PROC), F_VAL, F_ACCEPT),
	[F_VAL] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			   OFF_CN + offsetof(struct cn_msg, id.val)),
	JEQ(F_VAL_OK, BE32(CN_VAL_PROC), F_WHAT, F_ACCEPT),
	[F_WHAT] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			    OFF_EV + offsetof(struct proc_event, what)),
	JEQ(F_IS_FORK, BE32(PROC_EVENT_FORK), F_FORK_TGID, F_IS_EXIT),
	JEQ(F_IS_EXIT, BE32(PROC_EVENT_EXIT), F_TGID, F_IS_UID),
	JEQ(F_IS_UID, BE32(PROC_EVENT_UID), F_TGID, F_IS_GID),
	JEQ(F_IS_GID, BE32(PROC_EVENT_GID), F_TGID, F_IS_EXEC),
	JEQ(F_IS_EXEC, BE32(PROC_EVENT_EXEC), F_ACCEPT, F_IS_ACK),
	JEQ(F_IS_ACK, BE32(PROC_EVENT_NONE), F_ACCEPT, F_DROP),
	[F_FORK_TGID] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_FORK(child_tgid)),
	[F_FORK_TAX] = BPF_STMT(BPF_MISC | BPF_TAX, 0),
	[F_FORK_PID] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_FORK(child_pid)),
	[F_FORK_LEADER] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0,
				   TO(F_FORK_LEADER, F_ACCEPT),
				   TO(F_FORK_LEADER, F_DROP)),
	/* exec, exit and id events share the pid, tgid layout */
	[F_TGID] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_ID(process_tgid)),
	[F_TAX] = BPF_STMT(BPF_MISC | BPF_TAX, 0),
	[F_PID] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_ID(process_pid)),
	[F_LEADER] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, TO(F_LEADER, F_ACCEPT),
			      TO(F_LEADER, F_DROP)),
	[F_ACCEPT] = BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
	[F_DROP] = BPF_STMT(BPF_RET | BPF_K, 0),
};

_Static_assert(offsetof(struct id_proc_event, process_tgid) ==
		       offsetof(struct exec_proc_event, process_tgid) &&
	       offsetof(struct exit_proc_event, process_tgid) ==
		       offsetof(struct exec_proc_event, process_tgid),
	       "exec, id and exit events start with pid, tgid");

static int attach_filter(int sock)
{
	struct sock_fprog prog = {
		.len = F_COUNT,
		.filter = (struct sock_filter *)filter_code,
	};

	if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		return -errno;
	return 0;
}

/* ---- the FIFO ------------------------------------------------------------ */

static struct nl_item *item_new(struct pc_sensor_netlink *nl, enum nl_kind kind,
				const struct pc_nl_event *e)
{
	struct nl_item *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	it->kind = kind;
	if (e) {
		it->e = *e;
		it->boot_ts = to_boot(nl, e->ts);
	}
	return it;
}

static void item_free(struct nl_item *it)
{
	pc_proc_info_release(&it->info);
	free(it);
}

static void push(struct pc_sensor_netlink *nl, struct nl_item *it)
{
	it->seqno = nl->next_seqno++;
	if (nl->tail)
		nl->tail->next = it;
	else
		nl->head = it;
	nl->tail = it;
}

static struct nl_item *pop(struct pc_sensor_netlink *nl)
{
	struct nl_item *it = nl->head;

	nl->head = it->next;
	if (!nl->head)
		nl->tail = NULL;
	return it;
}

/*
 * The latest queued exec of @pid, unless the pid was born again since (a
 * queued fork of it): then a later exec is another process's. An exit
 * does not end the search: an exec from a thread other than the main one
 * reports the main thread's exit first.
 */
static struct nl_item *queued_exec(struct pc_sensor_netlink *nl, uint32_t pid)
{
	struct nl_item *it, *found = NULL;

	for (it = nl->head; it; it = it->next) {
		if (it->e.tgid != pid)
			continue;
		if (it->kind == NL_EXEC)
			found = it;
		else if (it->kind == NL_CLONE)
			found = NULL;
	}
	return found;
}

/*
 * Is this main-thread exit followed by an exec of the same process? Then
 * the main thread died because another thread exec'd (de_thread() kills
 * it and gives its pid to the exec'ing thread): the process lives on.
 */
static bool exit_for_exec(const struct nl_item *x)
{
	const struct nl_item *it;

	for (it = x->next; it; it = it->next) {
		if (it->e.tgid != x->e.tgid)
			continue;
		if (it->kind == NL_EXEC)
			return true;
		if (it->kind == NL_CLONE)
			return false;
	}
	return false;
}

/* ---- what arrives -------------------------------------------------------- */

/* A new thread-group leader: its key is its /proc start time, as for a
 * scanned process. Gone already: the fork's own time, in whole ticks. */
static void on_fork(struct pc_sensor_netlink *nl, struct nl_item *it)
{
	uint64_t start;
	int err = pc_procfs_start_time(nl->cfg.proc_prefix, it->e.tgid, &start);

	/* A start after the fork event means a newer process holds the pid. */
	if (err || start > it->boot_ts)
		start = it->boot_ts - it->boot_ts % pc_tick_ns();
	it->start_ns = start;
}

static void on_exec(struct pc_sensor_netlink *nl, struct nl_item *it)
{
	struct nl_item *earlier = queued_exec(nl, it->e.tgid);

	it->read_start = clock_ns(CLOCK_MONOTONIC);
	it->read_err = pc_procfs_read(nl->cfg.proc_prefix, it->e.tgid,
				      nl->cfg.args_max, &it->info);
	it->read_end = clock_ns(CLOCK_MONOTONIC);
	if (!it->read_err && it->info.ev.start_time > it->boot_ts) {
		/* the process is gone and its pid taken by a younger one */
		pc_proc_info_release(&it->info);
		it->read_err = -ENOENT;
	}
	if (earlier)
		earlier->later_exec = it;
}

static void on_creds(struct pc_sensor_netlink *nl, struct nl_item *it)
{
	/* Only status matters; args are not worth reading. */
	it->read_err = pc_procfs_read(nl->cfg.proc_prefix, it->e.tgid, 1,
				      &it->info);
}

/* The FIFO kind of an event of the main thread we use; false for what the
 * socket filter drops (thread events, other types). */
static bool kind_of(const struct pc_nl_event *e, enum nl_kind *ret)
{
	if (e->pid != e->tgid)
		return false;
	switch (e->what) {
	case PROC_EVENT_FORK:
		*ret = NL_CLONE;
		return true;
	case PROC_EVENT_EXEC:
		*ret = NL_EXEC;
		return true;
	case PROC_EVENT_EXIT:
		*ret = NL_EXIT;
		return true;
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		*ret = NL_CREDS;
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

static int on_event(struct pc_sensor_netlink *nl, const struct pc_nl_event *e)
{
	struct nl_item *it;
	enum nl_kind kind;

	if (e->what == PROC_EVENT_NONE) {
		on_ack(nl, e);
		return 0;
	}
	if (!kind_of(e, &kind)) {
		/* What the socket filter drops; seen only without it. */
		pc_sensor_count(&nl->unfiltered, 1);
		return 0;
	}
	/* Events are queued in the order the kernel stamps them, give or
	 * take a preemption between stamp and send (PC_NL_SETTLE_NS covers
	 * it): what was sent before this stamp has been received. */
	if (e->ts > nl->seen_until)
		nl->seen_until = e->ts;
	it = item_new(nl, kind, e);
	if (!it)
		return -ENOMEM;
	if (kind == NL_CLONE)
		on_fork(nl, it);
	else if (kind == NL_EXEC)
		on_exec(nl, it);
	else if (kind == NL_CREDS)
		on_creds(nl, it);
	push(nl, it);
	pc_sensor_count(&nl->base.stats.records, 1);
	return 0;
}

/* Events the kernel could not queue for us: a LOST event in order. */
static int note_drops(struct pc_sensor_netlink *nl, bool overrun)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);
	struct nl_item *it;
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
	it = item_new(nl, NL_LOST, NULL);
	if (!it)
		return -ENOMEM;
	it->lost = lost;
	push(nl, it);
	pc_sensor_count(&nl->base.stats.lost, lost);
	pc_debug("sensor: netlink: %llu events lost", (unsigned long long)lost);
	return 0;
}

static int on_datagram(struct pc_sensor_netlink *nl, const struct mmsghdr *m,
		       const struct sockaddr_nl *from)
{
	struct pc_nl_event e;
	int err;

	if (m->msg_hdr.msg_namelen < sizeof(*from) || from->nl_family != AF_NETLINK ||
	    from->nl_pid != 0) {
		pc_sensor_count(&nl->base.stats.foreign, 1);
		return 0;
	}
	err = m->msg_hdr.msg_flags & MSG_TRUNC ?
		      -EBADMSG :
		      pc_nl_decode(m->msg_hdr.msg_iov->iov_base, m->msg_len,
				   from->nl_pid, &e);
	if (err) {
		pc_sensor_count(&nl->base.stats.malformed, 1);
		return 0;
	}
	return on_event(nl, &e);
}

/* Take up to @budget datagrams; the number taken or a fatal -errno. */
static int receive(struct pc_sensor_netlink *nl, int budget)
{
	int total = 0, i, n, err;

	while (total < budget) {
		uint64_t before = clock_ns(CLOCK_MONOTONIC);

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
				if (before > nl->seen_until)
					nl->seen_until = before;
				break;
			}
			if (errno == ENOBUFS) {
				err = note_drops(nl, true);
				if (err)
					return err;
				continue;
			}
			return -errno;
		}
		for (i = 0; i < n; i++) {
			err = on_datagram(nl, &nl->msgs[i], &nl->from[i]);
			if (err)
				return err;
		}
		total += n;
		if (n < RECV_BATCH) {
			if (before > nl->seen_until)
				nl->seen_until = before;
			break;
		}
	}
	return total;
}

/* ---- deciding what an exec's read describes ------------------------------ */

/*
 * Does @x's /proc read describe @x's image? The kernel reports an exec a
 * little after installing the image, so a read may already show the next
 * one. With Y the next exec of the process and W the settle time:
 *  - no Y, and everything sent until W after the read received: yes
 *    (Y's image came after the read);
 *  - Y reported before the read began: no;
 *  - Y's read shows the same image: no (ours was Y's, or Y's own cannot
 *    be told from it);
 *  - Y reported W or more after the read ended: yes;
 *  - otherwise the read is one of x's or Y's images: yes if Y's read is
 *    Y's image (asked the same way).
 * A comparison that cannot be made (Y exited before its read was whole)
 * answers no. @ret_wake: when to ask again.
 */
/* A read that saw a whole image: not of a process already exiting. */
static bool read_whole(const struct nl_item *it)
{
	return !it->read_err && !(it->info.ev.flags & PROCCACHE_F_VANISHED);
}

static enum verdict decide(const struct nl_item *x, uint64_t seen_until,
			   bool force, uint64_t *ret_wake)
{
	const struct nl_item *y;

	for (;; x = y) {
		if (x->read_err)
			return V_NO_IMAGE;
		y = x->later_exec;
		if (!y) {
			if (force || seen_until >= x->read_end + PC_NL_SETTLE_NS)
				return V_IMAGE;
			*ret_wake = x->read_end + PC_NL_SETTLE_NS;
			return V_WAIT;
		}
		if (y->e.ts < x->read_start)
			return V_NO_IMAGE;
		if (read_whole(y) && pc_same_image(&x->info, &y->info))
			return V_NO_IMAGE;
		if (y->e.ts >= x->read_end + PC_NL_SETTLE_NS)
			return V_IMAGE;
		if (!read_whole(y))
			return V_NO_IMAGE;
	}
}

static enum verdict decide_head(const struct pc_sensor_netlink *nl,
				const struct nl_item *x, uint64_t now,
				bool force, uint64_t *ret_wake)
{
	enum verdict v = decide(x, nl->seen_until, force, ret_wake);

	/* A chain of re-execs may not hold everything else back for long. */
	if (v == V_WAIT && now >= x->read_end + PC_NL_HOLD_MAX_NS)
		return V_NO_IMAGE;
	if (v == V_WAIT && *ret_wake > x->read_end + PC_NL_HOLD_MAX_NS)
		*ret_wake = x->read_end + PC_NL_HOLD_MAX_NS;
	return v;
}

/* ---- ingesting ----------------------------------------------------------- */

/* Subscriber errors and allocation failures stop consumption; a full cache
 * or an event the core refuses is counted by the core. */
static int ingest(struct pc_sensor_netlink *nl, const struct proccache_event *ev)
{
	int ret = proccache__ingest(nl->base.pc, ev);

	if (ret == -ENOSPC)
		return 0;
	if (ret == -EINVAL) {
		pc_sensor_count(&nl->base.stats.malformed, 1);
		pc_debug("sensor: the cache refused an event (type %u pid %u)",
			 ev->type, ev->pid);
		return 0;
	}
	return ret < 0 ? ret : 0;
}

static void event_init(struct proccache_event *ev, uint32_t type, uint32_t pid)
{
	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = type;
	ev->pid = pid;
}

static int ingest_clone(struct pc_sensor_netlink *nl, const struct nl_item *it)
{
	struct proccache_event ev;

	event_init(&ev, PROCCACHE_EVENT_CLONE, it->e.tgid);
	ev.tid = it->e.pid;
	ev.ktime = it->start_ns;
	/* The forker as it is now: its exec, if any, is in already. */
	ev.parent.pid = it->e.ptgid;
	ev.flags = PROCCACHE_F_CLONE;
	return ingest(nl, &ev);
}

static int ingest_exit(struct pc_sensor_netlink *nl, const struct nl_item *it)
{
	struct proccache_event ev;
	uint32_t code = it->e.exit_code;

	event_init(&ev, PROCCACHE_EVENT_EXIT, it->e.tgid);
	ev.tid = it->e.pid;
	ev.time = it->boot_ts;
	/* exit_code is the wait status; exit_signal is the signal the parent
	 * gets (SIGCHLD), not the one that killed the process. */
	if (code & 0x7f)
		ev.exit_signal = (int32_t)(code & 0x7f);
	else
		ev.exit_code = (int32_t)((code >> 8) & 0xff);
	return ingest(nl, &ev);
}

/*
 * What an exec replaces: the live entry of the pid if it is the same
 * process (same start), else the process's own clone key, which tells the
 * cache that the live entry is a stranger whose exit was lost.
 */
static void set_prev(struct proccache *pc, struct proccache_event *ev,
		     uint64_t start)
{
	struct proccache_process *live = pc_live_ref(pc, ev->pid);

	if (live && pc_same_start(proccache_process__start_time(live), start))
		ev->prev = proccache_process__key(live);
	else
		ev->prev = (struct proccache_key){ .pid = ev->pid, .ktime = start };
	proccache_process__unref(live);
}

/* An exec whose image we could not see keeps what the process had before
 * (@live, its entry until now): creds, caps, namespaces, cgroup and cwd
 * survive most execs. The strings stay @live's: hold it until ingested. */
static void inherit_image(const struct proccache_process *live,
			  struct proccache_event *ev)
{
	unsigned int i;

	for (i = 0; i <= PROCCACHE_CRED_AUID; i++)
		((uint32_t *)&ev->creds)[i] = proccache_process__cred(live, i);
	ev->caps.permitted = proccache_process__caps(live, PROCCACHE_CAP_PERMITTED);
	ev->caps.effective = proccache_process__caps(live, PROCCACHE_CAP_EFFECTIVE);
	ev->caps.inheritable =
		proccache_process__caps(live, PROCCACHE_CAP_INHERITABLE);
	for (i = 0; i <= PROCCACHE_NS_USER; i++)
		((uint32_t *)&ev->ns)[i] = proccache_process__ns(live, i);
	ev->cgroup_id = proccache_process__cgroup_id(live);
	ev->cwd = proccache_process__cwd(live);
	ev->container_id = proccache_process__container_id(live);
	if (!ev->nspid)
		ev->nspid = proccache_process__nspid(live);
}

static int ingest_exec(struct pc_sensor_netlink *nl, struct nl_item *it,
		       enum verdict v)
{
	struct proccache *pc = nl->base.pc;
	struct proccache_process *live = NULL;
	struct proccache_event ev;
	int err;

	if (v == V_IMAGE) {
		ev = it->info.ev;
		ev.flags &= ~(uint32_t)PROCCACHE_F_PROCFS;
		ev.flags |= PROCCACHE_F_EXECVE;
		pc_resolve_parent(pc, &ev);
	} else {
		event_init(&ev, PROCCACHE_EVENT_EXEC, it->e.tgid);
		ev.flags = PROCCACHE_F_EXECVE | PROCCACHE_F_VANISHED;
		if (!it->read_err) {
			/* the process's own facts hold; its image was another */
			ev.start_time = it->info.ev.start_time;
			ev.nspid = it->info.ev.nspid;
			ev.parent = it->info.ev.parent;
			pc_resolve_parent(pc, &ev);
		}
	}
	if (ev.flags & PROCCACHE_F_VANISHED)
		pc_sensor_count(&nl->base.stats.vanished, 1);
	ev.pid = it->e.tgid;
	ev.tid = it->e.pid;
	ev.ktime = it->boot_ts;
	if (!it->read_err)
		set_prev(pc, &ev, it->info.ev.start_time);
	if (v != V_IMAGE) {
		live = pc_live_ref(pc, ev.pid);
		if (live)
			inherit_image(live, &ev);
	}
	err = ingest(nl, &ev);
	proccache_process__unref(live);
	return err;
}

/*
 * A uid or gid change: the event carries the real and effective ids, which
 * are exact; saved and filesystem ids come from /proc (or follow the
 * effective one, as every call that reports the change sets them so).
 */
static int ingest_creds(struct pc_sensor_netlink *nl, const struct nl_item *it)
{
	struct proccache_process *live = pc_live_ref(nl->base.pc, it->e.tgid);
	bool uid = it->e.what == PROC_EVENT_UID;
	struct proccache_event ev;
	struct proccache_creds *c = &ev.creds;
	unsigned int i;

	if (!live)
		return ingest(nl, &(struct proccache_event){
					  .sz = sizeof(struct proccache_event),
					  .type = PROCCACHE_EVENT_CREDS,
					  .pid = it->e.tgid });
	event_init(&ev, PROCCACHE_EVENT_CREDS, it->e.tgid);
	for (i = 0; i <= PROCCACHE_CRED_AUID; i++)
		((uint32_t *)c)[i] = proccache_process__cred(live, i);
	proccache_process__unref(live);
	if (!it->read_err)
		*c = it->info.ev.creds;
	if (uid) {
		c->uid = it->e.id_real;
		c->euid = it->e.id_eff;
		if (it->read_err)
			c->fsuid = c->euid;
	} else {
		c->gid = it->e.id_real;
		c->egid = it->e.id_eff;
		if (it->read_err)
			c->fsgid = c->egid;
	}
	return ingest(nl, &ev);
}

static int ingest_lost(struct pc_sensor_netlink *nl, const struct nl_item *it)
{
	struct proccache_event ev;

	event_init(&ev, PROCCACHE_EVENT_LOST, 0);
	ev.lost = it->lost;
	return ingest(nl, &ev);
}

static int ingest_item(struct pc_sensor_netlink *nl, struct nl_item *it,
		       enum verdict v)
{
	switch (it->kind) {
	case NL_CLONE:
		return ingest_clone(nl, it);
	case NL_EXEC:
		return ingest_exec(nl, it, v);
	case NL_EXIT:
		return ingest_exit(nl, it);
	case NL_CREDS:
		return ingest_creds(nl, it);
	default:
		return ingest_lost(nl, it);
	}
}

/*
 * Ingest the FIFO head while it is decided, up to and including the item
 * numbered @upto. *@ret_wake is set to when the head can be decided.
 * Returns the number ingested, or a subscriber's negative value (the item
 * that got it is ingested and gone).
 */
static int ingest_ready(struct pc_sensor_netlink *nl, bool force, uint64_t upto,
			uint64_t *ret_wake)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	enum verdict v = V_IMAGE;
	struct nl_item *it;
	int n = 0, err;

	*ret_wake = 0;
	while (nl->head && nl->head->seqno <= upto) {
		it = nl->head;
		if (it->kind == NL_EXEC) {
			v = decide_head(nl, it, now, force, ret_wake);
			if (v == V_WAIT)
				break;
		} else if (it->kind == NL_EXIT) {
			/* the exec it may precede is reported a little later */
			if (!force && nl->seen_until < it->e.ts + PC_NL_SETTLE_NS &&
			    now < it->e.ts + PC_NL_HOLD_MAX_NS) {
				*ret_wake = it->e.ts + PC_NL_SETTLE_NS;
				break;
			}
			if (exit_for_exec(it)) {
				item_free(pop(nl));
				continue;
			}
		}
		pop(nl);
		err = ingest_item(nl, it, v);
		item_free(it);
		if (err)
			return err;
		n++;
	}
	return n;
}

static void arm_timer(struct pc_sensor_netlink *nl, uint64_t wake)
{
	struct itimerspec its = { 0 };

	/* 0 disarms; an absolute time in the past fires at once */
	its.it_value.tv_sec = (time_t)(wake / 1000000000u);
	its.it_value.tv_nsec = (long)(wake % 1000000000u);
	if (wake && !its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	timerfd_settime(nl->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void clear_timer(struct pc_sensor_netlink *nl)
{
	uint64_t ticks;

	if (read(nl->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		pc_debug("sensor: netlink timer: %s", strerror(errno));
}

/* ---- the running sensor -------------------------------------------------- */

static int nl_consume(struct pc_sensor *s)
{
	struct pc_sensor_netlink *nl = nl_of(s);
	uint64_t wake;
	int got, n, err;

	refresh_offset(nl);
	clear_timer(nl);
	got = receive(nl, RECV_BUDGET);
	err = got < 0 ? 0 : note_drops(nl, false);
	n = ingest_ready(nl, nl->detached, UINT64_MAX, &wake);
	arm_timer(nl, wake);
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
static int nl_flush(struct pc_sensor *s)
{
	struct pc_sensor_netlink *nl = nl_of(s);
	uint64_t upto, wake, now;
	struct timespec ts;
	int total = 0, n;

	if (!nl->tail)
		return 0;
	upto = nl->tail->seqno;
	for (;;) {
		n = receive(nl, RECV_BUDGET);
		if (n < 0)
			return n;
		n = ingest_ready(nl, nl->detached, upto, &wake);
		if (n < 0)
			return n;
		total += n;
		if (!nl->head || nl->head->seqno > upto || !wake)
			break;
		now = clock_ns(CLOCK_MONOTONIC);
		if (wake > now) {
			ts.tv_sec = (time_t)((wake - now) / 1000000000u);
			ts.tv_nsec = (long)((wake - now) % 1000000000u);
			nanosleep(&ts, NULL);
		}
	}
	n = ingest_ready(nl, nl->detached, UINT64_MAX, &wake);
	arm_timer(nl, wake);
	return n < 0 ? n : total + n;
}

static int nl_fd(struct pc_sensor *s)
{
	return nl_of(s)->epfd;
}

static int nl_exec_map_fd(const struct pc_sensor *s)
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

static void nl_detach(struct pc_sensor *s)
{
	struct pc_sensor_netlink *nl = nl_of(s);
	int err = send_control(nl, PROC_CN_MCAST_IGNORE);

	if (err)
		pc_debug("sensor: netlink: cannot unsubscribe: %s", strerror(-err));
	nl->detached = true;
}

static void nl_destroy(struct pc_sensor *s)
{
	struct pc_sensor_netlink *nl = nl_of(s);

	while (nl->head)
		item_free(pop(nl));
	if (nl->sock >= 0)
		close(nl->sock);
	if (nl->timerfd >= 0)
		close(nl->timerfd);
	if (nl->epfd >= 0)
		close(nl->epfd);
	free(nl);
}

static const struct pc_sensor_ops nl_ops = {
	.name = "netlink",
	.fd = nl_fd,
	.consume = nl_consume,
	.exec_map_fd = nl_exec_map_fd,
	.detach = nl_detach,
	.destroy = nl_destroy,
	.flush = nl_flush,
};

/* Ours, even behind reconcile.c's ops: they keep the backend's name. */
static bool is_netlink(const struct pc_sensor *s)
{
	return s && s->ops->name == nl_ops.name;
}

int pc_sensor_netlink_socket(const struct pc_sensor *s)
{
	return is_netlink(s) ? ((const struct pc_sensor_netlink *)s)->sock :
			       -ENODEV;
}

uint64_t pc_sensor_netlink_unfiltered(const struct pc_sensor *s)
{
	const struct pc_sensor_netlink *nl = (const struct pc_sensor_netlink *)s;

	return is_netlink(s) ?
		       atomic_load_explicit(&nl->unfiltered, memory_order_relaxed) :
		       0;
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
	set_rcvbuf(nl->sock, nl->cfg.netlink_rcvbuf ? nl->cfg.netlink_rcvbuf :
						      PC_NL_RCVBUF_DEFAULT);
	if (!pc_sensor_netlink_no_filter) {
		err = attach_filter(nl->sock);
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

static int open_poll_fds(struct pc_sensor_netlink *nl)
{
	struct epoll_event ev = { .events = EPOLLIN };

	nl->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	nl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (nl->timerfd < 0 || nl->epfd < 0)
		return -errno;
	ev.data.fd = nl->sock;
	if (epoll_ctl(nl->epfd, EPOLL_CTL_ADD, nl->sock, &ev))
		return -errno;
	ev.data.fd = nl->timerfd;
	if (epoll_ctl(nl->epfd, EPOLL_CTL_ADD, nl->timerfd, &ev))
		return -errno;
	return 0;
}

/* Subscribe and wait for the kernel's answer; events arriving meanwhile
 * are queued as usual. */
static int subscribe(struct pc_sensor_netlink *nl)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + ACK_TIMEOUT_MS * 1000000ull;
	struct pollfd pfd = { .fd = nl->sock, .events = POLLIN };
	uint64_t now;
	int err;

	err = send_control(nl, PROC_CN_MCAST_LISTEN);
	if (err) {
		pc_error("sensor: netlink: cannot subscribe: %s", strerror(-err));
		return err;
	}
	while (!nl->acked) {
		now = clock_ns(CLOCK_MONOTONIC);
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

struct seed_ctx {
	struct pc_sensor_netlink *nl;
	uint64_t since; /* CLOCK_BOOTTIME of the subscription */
};

/* One process from the start-up scan; those born after the subscription
 * are left to their fork event. */
static int seed_one(struct pc_proc_info *info, void *userdata)
{
	struct seed_ctx *c = userdata;
	struct proccache *pc = c->nl->base.pc;
	int err;

	if (info->ev.start_time > c->since)
		return 0;
	pc_resolve_parent(pc, &info->ev);
	err = proccache__ingest(pc, &info->ev);
	if (err < 0 && err != -ENOSPC)
		pc_debug("sensor: ingest of scanned pid %u failed: %s",
			 info->ev.pid, strerror(-err));
	pc_sensor_count(&c->nl->base.stats.scanned, 1);
	return 0;
}

static int setup(struct pc_sensor_netlink *nl)
{
	struct seed_ctx seed = { .nl = nl };
	int err;

	err = open_socket(nl);
	if (!err)
		err = open_poll_fds(nl);
	if (!err)
		err = subscribe(nl);
	if (err)
		return err;
	seed.since = clock_ns(CLOCK_BOOTTIME);
	pc_info("sensor: netlink proc connector subscribed (port %u, receive buffer %zu bytes)",
		nl->port, nl->cfg.netlink_rcvbuf ? nl->cfg.netlink_rcvbuf :
						   PC_NL_RCVBUF_DEFAULT);
	err = pc_procfs_scan(nl->cfg.proc_prefix, nl->cfg.args_max, seed_one, &seed);
	if (err < 0) {
		pc_error("sensor: cannot scan %s: %s", nl->cfg.proc_prefix,
			 strerror(-err));
		return err;
	}
	return 0;
}

int pc_sensor_netlink_start(struct proccache *pc, const struct pc_sensor_cfg *cfg,
			    struct pc_sensor **ret)
{
	struct pc_sensor_netlink *nl = calloc(1, sizeof(*nl));
	int err;

	if (!nl)
		return -ENOMEM;
	pc_sensor_init(&nl->base, &nl_ops, pc);
	nl->cfg = *cfg;
	nl->sock = nl->epfd = nl->timerfd = -1;
	refresh_offset(nl);
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
