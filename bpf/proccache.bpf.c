/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF half of the sensor: fork, exec and exit of every process, written
 * to one ring buffer in one global order, and a tgid -> exec key map. See
 * docs/sensor-bpf.md for the rules; bpf/events.h for the record layout.
 *
 * Three program sets share the handlers, one loaded per kernel (the
 * loader probes which; docs/sensor-bpf.md has the table):
 *   - pc_*_btf:   tp_btf with deferred wake-ups through a bpf_timer (5.15+);
 *   - pc_*_btf_k: tp_btf with the kernel's wake-up per record, no timer and
 *                 no BPF-to-BPF call (5.8 to 5.14: the timer callback is a
 *                 subprogram, which 5.10 cannot load in tp_btf programs);
 *   - pc_*_tp:    the classic tracepoints (no tp_btf at all).
 * Kernel memory is read with CO-RE probe reads throughout, so the handlers
 * do not care which set called them. Variable lengths handed to helpers
 * are clamped by clamp() in the register the helper gets, so verifiers
 * that cannot link a tested copy to the used one (5.10, 6.1) see the
 * bound too.
 */
#include "vmlinux_min.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

/* The kernel requires a GPL-compatible license string for these helpers;
 * LGPL-2.1-or-later code may be conveyed under the GPL. */
char LICENSE[] SEC("license") = "GPL";

/* include/linux/sched/signal.h; unchanged since 2.6. */
#define SIGNAL_GROUP_EXIT 0x00000004
#define S_ISUID 0004000
#define S_ISGID 0002000
#define S_IXGRP 00010

/* UAPI values (include/uapi/linux/bpf.h, time.h) not in vmlinux_min.h. */
#define PC_RB_NO_WAKEUP 1
#define PC_RB_FORCE_WAKEUP 2
#define PC_RB_AVAIL_DATA 0
#define PC_RB_PROD_POS 3
#define PC_CLOCK_MONOTONIC 1
/* A ring record's header: bpf_ringbuf_query() counts it with the data. */
#define PC_RB_HDR 8

/* Set by the loader before load; the verifier sees them as constants. */
const volatile __u32 pc_args_max = PC_ARGS_DEFAULT;
/* Environment bytes per exec; 0: none read (the verifier drops the code). */
const volatile __u32 pc_env_max = 0;
/* Wake-ups (see wake_flags()): under load, at most one per pc_wake_ns,
 * unless this many bytes are pending. */
const volatile __u64 pc_wake_ns = PC_WAKE_NS;
const volatile __u64 pc_wake_bytes = PC_WAKE_BYTES;

/* Records the ring could not take, read by user space through the
 * skeleton's mmap of .bss. */
__u64 pc_lost = 0;
/* Exec map updates that failed (map full): parents may then be unknown. */
__u64 pc_map_errors = 0;
/* The wake-up state: CLOCK_BOOTTIME of the last wake-up (or of the arming
 * of the deferred one), the ring position where the current burst began,
 * whether the deferred wake-up is armed, and counters for the benchmark. */
__u64 pc_last_wake = 0;
__u64 pc_burst_pos = 0;
__u32 pc_timer_armed = 0;
__u32 pc_timer_ready = 0;
__u64 pc_wakeups = 0;
__u64 pc_timer_wakeups = 0;
__u64 pc_timer_ns = 0;

/* include/uapi/linux/bpf.h; opaque to programs. */
struct bpf_timer {
	__u64 __opaque[2];
} __attribute__((aligned(8)));

struct pc_waker {
	struct bpf_timer timer;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} pc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pc_exec_value);
} pc_execs SEC(".maps");

/* The deferred wake-up: one timer, armed when a record was committed
 * without waking the consumer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_waker);
} pc_wake SEC(".maps");

/* Exits before Linux 6.16: tgid -> start time of the process whose exit
 * a thread is reporting, written before the race for the exec map's entry
 * (see handle_exit()). LRU: a marker is needed only for microseconds. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} pc_exited SEC(".maps");

/* One exec record under construction per CPU. Not a per-CPU array, whose
 * values are limited to 32 KiB: a plain array indexed by CPU, sized by the
 * loader (value size for pc_args_max and pc_env_max, one entry per
 * possible CPU). The
 * tracepoints run with preemption disabled, so a CPU's slot is never used
 * by two handlers at once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PC_SCRATCH_SIZE(PC_ARGS_DEFAULT, 0));
} pc_scratch SEC(".maps");

static __always_inline void count(__u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
}

/*
 * @v, at most @max, tested and set in the one register that is then used.
 * Written in C, the compiler may test one copy and use another, or let a
 * branch on a related value (args_size > 4 GiB) leave an impossible state
 * behind; 5.10 and 6.1 verifiers then see an unbounded length. @max must
 * be a constant at load time (a .rodata value, a literal).
 */
static __always_inline __u64 clamp(__u64 v, __u64 max)
{
	asm volatile("if %[v] <= %[max] goto +1\n\t"
		     "%[v] = %[max]"
		     : [v] "+r"(v)
		     : [max] "r"(max));
	return v;
}

/*
 * Waking the consumer is the costliest thing a program here does: the
 * ring queues an irq_work that wakes the consumer's thread, and on a
 * virtualised machine that is tens of microseconds inside the program.
 * The kernel's default wakes whenever a record finds the consumer caught
 * up, which for a consumer that takes records as they come is every
 * record. Instead:
 *
 *   - a record that finds the ring empty wakes the consumer at once if
 *     the last wake-up is pc_wake_ns old or more (a burst begins), or if
 *     it begins within PC_WAKE_BURST bytes of the burst's start: a lone
 *     command (its fork, exec and exit) is delivered without delay;
 *   - pending data crossing pc_wake_bytes wakes it at once: the ring does
 *     not fill while the consumer sleeps;
 *   - every other record is committed without a wake-up, and then makes
 *     sure the timer is armed: it wakes the consumer pc_wake_ns later.
 *
 * So any record reaches a consumer blocked on the ring's fd (a host's
 * epoll loop, the library thread) within pc_wake_ns plus timer slack, and
 * under load the consumer is woken about once per pc_wake_ns. The timer
 * callback clears pc_timer_armed before it wakes; a producer reads it
 * after its commit, so a record is either seen by that wake-up or arms
 * the next one (the ring's commit and wake-up paths are full barriers).
 * tp_btf programs only: classic tracepoint programs may not use timers,
 * and keep the kernel's default.
 */
static int wake_consumer(void *map, __u32 *key, struct pc_waker *w)
{
	__u64 t0 = bpf_ktime_get_boot_ns();
	void *rec;

	pc_timer_armed = 0;
	pc_last_wake = t0;
	/* Nothing pending: the consumer came by itself. */
	if (!bpf_ringbuf_query(&pc_events, PC_RB_AVAIL_DATA))
		return 0;
	/* A discarded record is skipped by the consumer; its commit is
	 * what wakes it. */
	rec = bpf_ringbuf_reserve(&pc_events, 8, 0);
	if (rec)
		bpf_ringbuf_discard(rec, PC_RB_FORCE_WAKEUP);
	count(&pc_timer_wakeups);
	__sync_fetch_and_add(&pc_timer_ns, bpf_ktime_get_boot_ns() - t0);
	return 0;
}

/* The flags to commit a @size byte record with, at @now (CLOCK_BOOTTIME);
 * @reserved: the record is reserved already, so the ring counts it. */
static __always_inline __u64 wake_flags(__u64 now, __u64 size, bool reserved)
{
	__u64 rec = (size + PC_RB_HDR + 7) & ~7ULL;
	__u64 pending = bpf_ringbuf_query(&pc_events, PC_RB_AVAIL_DATA) +
			(reserved ? 0 : rec);

	__u64 start;

	if (pending >= pc_wake_bytes && pending - rec < pc_wake_bytes) {
		count(&pc_wakeups);
		return PC_RB_FORCE_WAKEUP;
	}
	if (pending > rec)
		return PC_RB_NO_WAKEUP; /* an earlier record woke or armed */
	/* Where this record starts in the ring's byte stream. */
	start = bpf_ringbuf_query(&pc_events, PC_RB_PROD_POS) - (reserved ? rec : 0);
	/* Signed: @now may be a little older than another CPU's wake-up. */
	if ((__s64)(now - pc_last_wake) >= (__s64)pc_wake_ns)
		pc_burst_pos = start;
	else if (start - pc_burst_pos >= PC_WAKE_BURST)
		return PC_RB_NO_WAKEUP;
	pc_last_wake = now;
	count(&pc_wakeups);
	return 0; /* the kernel wakes the consumer if it is caught up */
}

/* After a commit without a wake-up: the timer will wake the consumer.
 * Arming counts as a wake-up for the burst rule: under a steady load the
 * timer re-arms before pc_wake_ns pass, and no new burst begins. */
static __always_inline void arm_wake_timer(__u64 now)
{
	__u32 zero = 0;
	struct pc_waker *w;

	if (pc_timer_armed)
		return;
	w = bpf_map_lookup_elem(&pc_wake, &zero);
	if (!w)
		return;
	pc_timer_armed = 1;
	pc_last_wake = now;
	if (!pc_timer_ready) {
		bpf_timer_init(&w->timer, &pc_wake, PC_CLOCK_MONOTONIC);
		bpf_timer_set_callback(&w->timer, wake_consumer);
		pc_timer_ready = 1;
	}
	bpf_timer_start(&w->timer, pc_wake_ns, 0);
}

/* Commit a reserved record; @adaptive: the wake-up policy above, else the
 * kernel's default. */
static __always_inline void submit(void *rec, __u64 size, __u64 now,
				   bool adaptive)
{
	__u64 flags = adaptive ? wake_flags(now, size, true) : 0;

	bpf_ringbuf_submit(rec, flags);
	if (flags == PC_RB_NO_WAKEUP)
		arm_wake_timer(now);
}

/* Copy a record into the ring, with the same wake-up policy. 0 or the
 * helper's error. */
static __always_inline long output(void *rec, __u64 size, __u64 now,
				   bool adaptive)
{
	__u64 flags = adaptive ? wake_flags(now, size, false) : 0;
	long err = bpf_ringbuf_output(&pc_events, rec, size, flags);

	if (!err && flags == PC_RB_NO_WAKEUP)
		arm_wake_timer(now);
	return err;
}

/* The current image key of @tgid, or {tgid, 0}: "the live entry of tgid",
 * resolved by the cache. */
static __always_inline void key_of(__u32 tgid, struct pc_key *ret)
{
	struct pc_exec_value *v = bpf_map_lookup_elem(&pc_execs, &tgid);

	ret->ktime = v ? v->key.ktime : 0;
	ret->pid = tgid;
	ret->pad = 0;
}

/* Pid of @task in its own pid namespace; the namespace inode too. */
static __always_inline __u32 task_nspid(struct task_struct *task,
					__u32 *ret_pidns)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	void *upid = (void *)pid + bpf_core_field_offset(struct pid, numbers) +
		     (__u64)(level & 63) * bpf_core_type_size(struct upid);
	struct pid_namespace *ns = NULL;
	int nr = 0;

	bpf_probe_read_kernel(&nr, sizeof(nr),
			      upid + bpf_core_field_offset(struct upid, nr));
	bpf_probe_read_kernel(&ns, sizeof(ns),
			      upid + bpf_core_field_offset(struct upid, ns));
	if (ret_pidns)
		*ret_pidns = BPF_CORE_READ(ns, ns.inum);
	return nr;
}

/*
 * A length kept in the map value and read back through a volatile load:
 * the verifier then knows only its type's range, so every path through a
 * walk reaches the next step in the same state and is pruned, instead of
 * each distinct offset range being explored to the end of the program.
 */
static __always_inline __u32 reread(__u16 *len)
{
	return *(volatile __u16 *)len;
}

/*
 * Append the path of {@dentry, @vfsmnt} to @data at @base + *@lenp as NUL
 * terminated components, leaf first, stopping at the task's root
 * {@root_dentry, @root_mnt}, at the top of the mount tree, or at a
 * disconnected dentry (memfd, pipes: their dentry is its own parent).
 * Crosses mounts through struct mount. Sets @trunc in *@flags when the
 * depth or byte bound cut the walk, @err when a read failed.
 */
static __always_inline void put_path(char *data, __u32 base, __u16 *lenp,
				     struct dentry *dentry,
				     struct vfsmount *vfsmnt,
				     struct dentry *root_dentry,
				     struct vfsmount *root_mnt, __u32 *flags,
				     __u32 trunc, __u32 err)
{
	__u64 mnt_off = bpf_core_field_offset(struct mount, mnt);
	struct mount *mnt = (void *)vfsmnt - mnt_off;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	int i;

	*lenp = 0;
	for (i = 0; i < PC_PATH_DEPTH; i++) {
		const unsigned char *name;
		struct dentry *parent;
		__u32 len, pos;
		long n;

		if (dentry == root_dentry && vfsmnt == root_mnt)
			return;
		if (dentry == mnt_root) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt || !up)
				return;
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vfsmnt = (void *)up + mnt_off;
			mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
			continue;
		}
		parent = BPF_CORE_READ(dentry, d_parent);
		len = BPF_CORE_READ(dentry, d_name.len);
		name = BPF_CORE_READ(dentry, d_name.name);
		if (!parent || !name) {
			*flags |= err;
			return;
		}
		pos = reread(lenp);
		if (len >= PC_NAME_MAX || pos + len + 1 > PC_PATH_MAX) {
			*flags |= trunc;
			return;
		}
		n = bpf_probe_read_kernel_str(data + ((base + pos) & (PC_VAR_AREA - 1)),
					      (len + 1) & (2 * PC_NAME_MAX - 1), name);
		if (n <= 0) {
			*flags |= err;
			return;
		}
		*lenp = pos + n;
		if (parent == dentry)
			return;
		dentry = parent;
	}
	*flags |= trunc;
}

/* One NUL terminated string (the exec'd name, the cgroup's name). */
static __always_inline void put_name(char *data, __u32 base, __u16 *lenp,
				     const char *name)
{
	long n = bpf_probe_read_kernel_str(data + (base & (PC_VAR_AREA - 1)),
					   PC_NAME_MAX, name);

	*lenp = n > 0 ? n : 0;
}

static __always_inline void fill_creds(struct pc_rec_exec *rec,
				       struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);

	rec->creds[0] = BPF_CORE_READ(cred, uid.val);
	rec->creds[1] = BPF_CORE_READ(cred, gid.val);
	rec->creds[2] = BPF_CORE_READ(cred, euid.val);
	rec->creds[3] = BPF_CORE_READ(cred, egid.val);
	rec->creds[4] = BPF_CORE_READ(cred, suid.val);
	rec->creds[5] = BPF_CORE_READ(cred, sgid.val);
	rec->creds[6] = BPF_CORE_READ(cred, fsuid.val);
	rec->creds[7] = BPF_CORE_READ(cred, fsgid.val);
	if (bpf_core_field_exists(task->loginuid))
		rec->creds[8] = BPF_CORE_READ(task, loginuid.val);
	else
		rec->creds[8] = (__u32)-1;
	/* 8 raw bytes: kernel_cap_t is a u64 since 6.3, u32[2] before. */
	bpf_probe_read_kernel(&rec->caps[0], 8, &cred->cap_permitted);
	bpf_probe_read_kernel(&rec->caps[1], 8, &cred->cap_effective);
	bpf_probe_read_kernel(&rec->caps[2], 8, &cred->cap_inheritable);
	rec->ns[9] = BPF_CORE_READ(cred, user_ns, ns.inum);
}

static __always_inline void fill_ns(struct pc_rec_exec *rec,
				    struct task_struct *task)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);

	rec->ns[0] = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	rec->ns[1] = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	rec->ns[2] = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	/* ns[3], the active pid namespace, comes with the nspid. */
	rec->ns[4] = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
	rec->ns[5] = BPF_CORE_READ(nsp, net_ns, ns.inum);
	if (bpf_core_field_exists(nsp->time_ns)) {
		rec->ns[6] = BPF_CORE_READ(nsp, time_ns, ns.inum);
		rec->ns[7] = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
	}
	rec->ns[8] = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
}

/* Process group, session and controlling tty (docs/process-model.md). The
 * ids are the initial namespace's: numbers[0] of each struct pid. */
static __always_inline void fill_context(struct pc_rec_exec *rec,
					 struct task_struct *task)
{
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	struct pid *pgrp = BPF_CORE_READ(sig, pids[PIDTYPE_PGID]);
	struct pid *session = BPF_CORE_READ(sig, pids[PIDTYPE_SID]);
	struct tty_struct *tty = BPF_CORE_READ(sig, tty);
	struct tty_driver *driver;

	if (pgrp)
		rec->pgid = BPF_CORE_READ(pgrp, numbers[0].nr);
	if (session)
		rec->sid = BPF_CORE_READ(session, numbers[0].nr);
	if (tty) {
		driver = BPF_CORE_READ(tty, driver);
		rec->tty_major = BPF_CORE_READ(driver, major);
		rec->tty_minor = BPF_CORE_READ(driver, minor_start) +
				 BPF_CORE_READ(tty, index);
	}
	/* The exec'ing task is current, in every program set. */
	bpf_get_current_comm(rec->comm, sizeof(rec->comm));
}

/* Privileges gained by this exec: the new effective id is the file's
 * owner (group) through its set-id bit, and differs from the real id. */
static __always_inline __u32 setid_flags(const struct pc_rec_exec *rec,
					 struct inode *inode)
{
	__u32 mode = rec->mode;
	__u32 flags = 0;

	if ((mode & S_ISUID) && rec->creds[2] == BPF_CORE_READ(inode, i_uid.val) &&
	    rec->creds[2] != rec->creds[0])
		flags |= PC_EXEC_F_SETUID;
	if ((mode & S_ISGID) && (mode & S_IXGRP) &&
	    rec->creds[3] == BPF_CORE_READ(inode, i_gid.val) &&
	    rec->creds[3] != rec->creds[1])
		flags |= PC_EXEC_F_SETGID;
	return flags;
}

static __always_inline int handle_exec(struct task_struct *task, __u32 old_tid,
				       struct file *file, const char *filename,
				       bool adaptive)
{
	struct pc_exec_value *prev, value = {};
	struct task_struct *real_parent;
	struct pc_rec_exec *rec;
	struct fs_struct *fs;
	struct mm_struct *mm;
	struct inode *inode;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u64 arg_start, arg_end, args_size, len, env_start, env_size,
		env_len = 0, env_off;
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 tgid, rp_tgid, flags = 0, off;
	__u64 total;
	char *data;

	rec = bpf_map_lookup_elem(&pc_scratch, &cpu);
	if (!rec) {
		count(&pc_lost);
		return 0;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	data = (char *)(rec + 1);

	tgid = BPF_CORE_READ(task, tgid);
	rec->pid = tgid;
	rec->tid = BPF_CORE_READ(task, pid);
	rec->old_tid = old_tid;
	rec->ktime = bpf_ktime_get_boot_ns();
	rec->start_time = BPF_CORE_READ(task, start_boottime);
	rec->nspid = task_nspid(task, &rec->ns[3]);

	/* Lineage, as the cache applies it (docs/process-model.md): the first
	 * exec after a clone gets the clone's parent, the process's creator
	 * even after reparenting; a re-exec gets the image it replaces;
	 * without a previous image the real parent stands in, and only then
	 * is its key looked up (a map lookup costs a microsecond here). */
	real_parent = BPF_CORE_READ(task, real_parent);
	rp_tgid = BPF_CORE_READ(real_parent, tgid);
	prev = bpf_map_lookup_elem(&pc_execs, &tgid);
	if (prev) {
		rec->prev = prev->key;
		if (prev->flags & PC_EXEC_VALUE_CLONE)
			rec->parent = prev->parent;
		else
			rec->parent = prev->key;
		rec->real_parent.pid = rp_tgid;
	} else {
		key_of(rp_tgid, &rec->real_parent);
		rec->parent = rec->real_parent;
	}

	fill_creds(rec, task);
	fill_ns(rec, task);
	fill_context(rec, task);
	rec->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);

	inode = BPF_CORE_READ(file, f_inode);
	rec->ino = BPF_CORE_READ(inode, i_ino);
	rec->nlink = BPF_CORE_READ(inode, i_nlink);
	rec->mode = BPF_CORE_READ(inode, i_mode);
	flags |= setid_flags(rec, inode);

	fs = BPF_CORE_READ(task, fs);
	root_dentry = BPF_CORE_READ(fs, root.dentry);
	root_mnt = BPF_CORE_READ(fs, root.mnt);

	if (file)
		put_path(data, 0, &rec->binary_len,
			 BPF_CORE_READ(file, f_path.dentry),
			 BPF_CORE_READ(file, f_path.mnt), root_dentry, root_mnt,
			 &flags, PC_EXEC_F_BINARY_TRUNC, PC_EXEC_F_BINARY_ERR);
	if (!reread(&rec->binary_len) && filename) {
		put_name(data, 0, &rec->binary_len, filename);
		flags |= PC_EXEC_F_BINARY_RAW;
	}

	put_path(data, reread(&rec->binary_len), &rec->cwd_len,
		 BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt),
		 root_dentry, root_mnt, &flags, PC_EXEC_F_CWD_TRUNC,
		 PC_EXEC_F_CWD_ERR);

	put_name(data, reread(&rec->binary_len) + reread(&rec->cwd_len),
		 &rec->cgroup_len, BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, name));

	mm = BPF_CORE_READ(task, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	args_size = arg_end > arg_start ? arg_end - arg_start : 0;
	rec->args_size = args_size > 0xffffffffULL ? 0xffffffffU : args_size;
	if (args_size > pc_args_max)
		flags |= PC_EXEC_F_ARGS_TRUNC;
	len = clamp(args_size, pc_args_max);
	off = (reread(&rec->binary_len) + reread(&rec->cwd_len) +
	       reread(&rec->cgroup_len)) & (PC_VAR_AREA - 1);
	if (len && bpf_probe_read_user(data + off, len, (void *)arg_start)) {
		flags |= PC_EXEC_F_ARGS_ERR;
		len = 0;
	}
	rec->args_len = len;

	/* The environment right after the args, when asked for: envp as
	 * the exec laid it out on the new stack. */
	if (pc_env_max) {
		env_start = BPF_CORE_READ(mm, env_start);
		env_size = BPF_CORE_READ(mm, env_end);
		env_size = env_size > env_start ? env_size - env_start : 0;
		rec->env_size = env_size > 0xffffffffULL ? 0xffffffffU : env_size;
		if (env_size > pc_env_max)
			flags |= PC_EXEC_F_ENV_TRUNC;
		env_len = clamp(env_size, pc_env_max);
		env_off = clamp(off + len, PC_VAR_AREA + pc_args_max);
		if (env_len && bpf_probe_read_user(data + env_off, env_len,
						   (void *)env_start)) {
			flags |= PC_EXEC_F_ENV_ERR;
			env_len = 0;
		}
		rec->env_len = env_len;
	}
	rec->flags = flags;

	/* The entry the lookup found is rewritten in place: an update would
	 * allocate a new element and free the old one, several times the
	 * cost. Only the exec'ing thread is left in the process, so no
	 * program of its own reads the entry meanwhile. */
	if (prev) {
		prev->key.ktime = rec->ktime;
		prev->key.pid = tgid;
		prev->parent = rec->parent;
		prev->flags = PC_EXEC_VALUE_EXEC;
	} else {
		value.key.ktime = rec->ktime;
		value.key.pid = tgid;
		value.parent = rec->parent;
		value.flags = PC_EXEC_VALUE_EXEC;
		if (bpf_map_update_elem(&pc_execs, &tgid, &value, BPF_ANY))
			count(&pc_map_errors);
	}

	total = clamp(sizeof(*rec) + off + len + env_len,
		      sizeof(*rec) + PC_VAR_AREA + pc_args_max + pc_env_max);
	rec->hdr.type = PC_REC_EXEC;
	rec->hdr.version = PC_REC_VERSION;
	rec->hdr.size = total;
	if (output(rec, total, rec->ktime, adaptive))
		count(&pc_lost);
	return 0;
}

static __always_inline int handle_fork(struct task_struct *child, bool adaptive)
{
	struct pc_exec_value value = {};
	struct task_struct *real_parent;
	struct pc_rec_clone *rec;
	__u32 tgid = BPF_CORE_READ(child, tgid);

	/* New threads are not new processes. */
	if (BPF_CORE_READ(child, pid) != tgid)
		return 0;

	real_parent = BPF_CORE_READ(child, real_parent);
	value.key.ktime = BPF_CORE_READ(child, start_boottime);
	value.key.pid = tgid;
	key_of(BPF_CORE_READ(real_parent, tgid), &value.parent);
	value.flags = PC_EXEC_VALUE_CLONE;
	if (bpf_map_update_elem(&pc_execs, &tgid, &value, BPF_ANY))
		count(&pc_map_errors);

	rec = bpf_ringbuf_reserve(&pc_events, sizeof(*rec), 0);
	if (!rec) {
		count(&pc_lost);
		return 0;
	}
	rec->hdr.type = PC_REC_CLONE;
	rec->hdr.version = PC_REC_VERSION;
	rec->hdr.size = sizeof(*rec);
	rec->pid = tgid;
	rec->tid = tgid;
	rec->nspid = task_nspid(child, NULL);
	rec->parent_tid = bpf_get_current_pid_tgid();
	rec->ktime = value.key.ktime;
	rec->parent = value.parent;
	/* The child's start time stands in for "now": no clock read. */
	submit(rec, sizeof(*rec), rec->ktime, adaptive);
	return 0;
}

/*
 * One record per process, from its last thread. @group_dead is 1 or 0 when
 * the tracepoint says whether this thread ended the group, -1 when it does
 * not (before 6.16): then every thread that sees signal->live at zero
 * competes to delete the tgid from the exec map, and only the winner
 * reports. A thread that comes after the winner's delete finds no entry;
 * it tells "already reported" from "never in the map" by the pc_exited
 * marker, which every competitor writes before it tries the delete.
 */
static __always_inline int handle_exit(struct task_struct *task, int group_dead,
				       bool adaptive)
{
	struct signal_struct *signal = BPF_CORE_READ(task, signal);
	struct pc_exec_value *v;
	struct pc_rec_exit *rec;
	__u64 ktime = 0, start = 0;
	__u32 tgid, status;

	if (group_dead == 0)
		return 0;
	if (group_dead < 0 && BPF_CORE_READ(signal, live.counter) != 0)
		return 0;

	tgid = BPF_CORE_READ(task, tgid);
	if (group_dead < 0)
		start = BPF_CORE_READ(task, group_leader, start_boottime);
	v = bpf_map_lookup_elem(&pc_execs, &tgid);
	if (v) {
		ktime = v->key.ktime;
		if (group_dead < 0)
			bpf_map_update_elem(&pc_exited, &tgid, &start, BPF_ANY);
		if (bpf_map_delete_elem(&pc_execs, &tgid) && group_dead < 0)
			return 0;
	} else if (group_dead < 0) {
		__u64 *done = bpf_map_lookup_elem(&pc_exited, &tgid);

		if (done && *done == start)
			return 0;
	}

	/* What wait(2) reports for the group. */
	if (BPF_CORE_READ(signal, flags) & SIGNAL_GROUP_EXIT)
		status = BPF_CORE_READ(signal, group_exit_code);
	else
		status = BPF_CORE_READ(task, group_leader, exit_code);

	rec = bpf_ringbuf_reserve(&pc_events, sizeof(*rec), 0);
	if (!rec) {
		count(&pc_lost);
		return 0;
	}
	rec->hdr.type = PC_REC_EXIT;
	rec->hdr.version = PC_REC_VERSION;
	rec->hdr.size = sizeof(*rec);
	rec->pid = tgid;
	rec->tid = BPF_CORE_READ(task, pid);
	rec->ktime = ktime;
	rec->time = bpf_ktime_get_boot_ns();
	rec->status = status;
	rec->pad = 0;
	submit(rec, sizeof(*rec), rec->time, adaptive);
	return 0;
}

/* ---- tp_btf ---------------------------------------------------------- */

/* Linux 6.16 added group_dead to sched_process_exit, to its arguments and
 * to its classic record in one change: the record's BTF says whether the
 * second argument exists. On older kernels the branch is dead code and the
 * verifier never sees the ctx[1] load. */
static __always_inline int exit_btf(__u64 *ctx, bool adaptive)
{
	struct task_struct *task = (void *)ctx[0];

	if (bpf_core_field_exists(struct trace_event_raw_sched_process_exit, group_dead))
		return handle_exit(task, (__u8)ctx[1] ? 1 : 0, adaptive);
	return handle_exit(task, -1, adaptive);
}

/* With the deferred wake-up (bpf_timer, 5.15+). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(pc_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(child, true);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pc_exec_btf, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return handle_exec(task, old_pid, BPF_CORE_READ(bprm, file),
			   BPF_CORE_READ(bprm, filename), true);
}

SEC("tp_btf/sched_process_exit")
int pc_exit_btf(__u64 *ctx)
{
	return exit_btf(ctx, true);
}

/* The kernel's wake-ups: no timer, no subprogram. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(pc_fork_btf_k, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(child, false);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pc_exec_btf_k, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return handle_exec(task, old_pid, BPF_CORE_READ(bprm, file),
			   BPF_CORE_READ(bprm, filename), false);
}

SEC("tp_btf/sched_process_exit")
int pc_exit_btf_k(__u64 *ctx)
{
	return exit_btf(ctx, false);
}

/* ---- classic tracepoints (fallback) ----------------------------------- */

/* The new task is the newest entry of its real parent's children list:
 * the forking thread's, or its parent's with CLONE_PARENT. New threads are
 * never on a children list. */
static __always_inline struct task_struct *newest_child(struct task_struct *of,
							pid_t pid)
{
	__u64 sib = bpf_core_field_offset(struct task_struct, sibling);
	__u64 head = (__u64)of + bpf_core_field_offset(struct task_struct, children);
	struct list_head *last = BPF_CORE_READ(of, children.prev);
	struct task_struct *child = (void *)last - sib;

	if (!last || (__u64)last == head)
		return NULL;
	return BPF_CORE_READ(child, pid) == pid ? child : NULL;
}

SEC("tracepoint/sched/sched_process_fork")
int pc_fork_tp(struct trace_event_raw_sched_process_fork *ctx)
{
	struct task_struct *current = (void *)bpf_get_current_task();
	pid_t pid = BPF_CORE_READ(ctx, child_pid);
	struct task_struct *child = newest_child(current, pid);

	if (!child)
		child = newest_child(BPF_CORE_READ(current, real_parent), pid);
	return child ? handle_fork(child, false) : 0;
}

SEC("tracepoint/sched/sched_process_exec")
int pc_exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *current = (void *)bpf_get_current_task();
	__u32 loc = BPF_CORE_READ(ctx, __data_loc_filename);

	return handle_exec(current, BPF_CORE_READ(ctx, old_pid),
			   BPF_CORE_READ(current, mm, exe_file),
			   (const char *)ctx + (loc & 0xffff), false);
}

SEC("tracepoint/sched/sched_process_exit")
int pc_exit_tp(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *current = (void *)bpf_get_current_task();

	if (bpf_core_field_exists(ctx->group_dead))
		return handle_exit(current, BPF_CORE_READ(ctx, group_dead) ? 1 : 0,
				   false);
	return handle_exit(current, -1, false);
}
