/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The proc connector on the wire: strict decoding of one datagram, and the
 * classic BPF filter that keeps thread events and unused types out of our
 * socket. No state, no I/O but the setsockopt that attaches the filter.
 */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink_wire.h"

/* Connector payloads we accept: a proc_event, which may grow a little. */
#define EVENT_LEN_MAX 256

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

int pc_nl_attach_filter(int sock)
{
	struct sock_fprog prog = {
		.len = F_COUNT,
		.filter = (struct sock_filter *)filter_code,
	};

	if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		return -errno;
	return 0;
}
