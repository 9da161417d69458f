/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bare costs for tests/bench/bench_sensor_bpf.c: each program is an
 * otherwise empty tp_btf program on one of the sensor's hooks that does one
 * thing the sensor needs (a map operation, a ring record, a clock read...),
 * so its run time minus the empty program's is what that step costs on the
 * machine. All of them run on the same storm; bpf_stats gives each its own
 * time.
 */
#include "vmlinux_min.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

char LICENSE[] SEC("license") = "GPL";

/* UAPI values not in vmlinux_min.h. */
#define PB_MAP_TYPE_TASK_STORAGE 29
#define PB_F_NO_PREALLOC 1
#define PB_STORAGE_F_CREATE 1
#define PB_RB_NO_WAKEUP 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pc_exec_value);
} pb_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, PB_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pc_exec_value);
} pb_hash_np SEC(".maps");

struct {
	__uint(type, PB_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, PB_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pc_exec_value);
} pb_task SEC(".maps");

/* Nobody reads this one while the storm runs: records never wake anyone. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} pb_quiet SEC(".maps");

/* A thread of the benchmark consumes this one as soon as it is woken, so
 * nearly every record finds the consumer caught up and wakes it. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} pb_eager SEC(".maps");

__u64 pb_sink = 0;

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_empty_fork, struct task_struct *parent, struct task_struct *child)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pb_empty_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int pb_empty_exit(__u64 *ctx)
{
	return 0;
}

/* What handle_fork() reads besides its helpers. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_core_reads, struct task_struct *parent, struct task_struct *child)
{
	pb_sink += BPF_CORE_READ(child, tgid) + BPF_CORE_READ(child, pid) +
		   BPF_CORE_READ(child, real_parent, tgid) +
		   BPF_CORE_READ(child, start_boottime) +
		   BPF_CORE_READ(child, thread_pid, level);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_ktime, struct task_struct *parent, struct task_struct *child)
{
	pb_sink += bpf_ktime_get_boot_ns();
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_hash_lookup, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = BPF_CORE_READ(parent, tgid);

	if (bpf_map_lookup_elem(&pb_hash, &tgid))
		pb_sink++;
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_hash_update, struct task_struct *parent, struct task_struct *child)
{
	struct pc_exec_value v = {};
	__u32 tgid = BPF_CORE_READ(child, tgid);

	v.key.pid = tgid;
	bpf_map_update_elem(&pb_hash, &tgid, &v, BPF_ANY);
	return 0;
}

/* Deletes what pb_hash_update inserted: a delete that finds its entry. */
SEC("tp_btf/sched_process_exit")
int pb_hash_delete(__u64 *ctx)
{
	struct task_struct *task = (void *)ctx[0];
	__u32 tgid = BPF_CORE_READ(task, tgid);

	bpf_map_delete_elem(&pb_hash, &tgid);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_hash_upd_np, struct task_struct *parent, struct task_struct *child)
{
	struct pc_exec_value v = {};
	__u32 tgid = BPF_CORE_READ(child, tgid);

	v.key.pid = tgid;
	bpf_map_update_elem(&pb_hash_np, &tgid, &v, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int pb_hash_del_np(__u64 *ctx)
{
	struct task_struct *task = (void *)ctx[0];
	__u32 tgid = BPF_CORE_READ(task, tgid);

	bpf_map_delete_elem(&pb_hash_np, &tgid);
	return 0;
}

/* An exec rewriting the entry its fork made, through the lookup's
 * pointer instead of an update. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(pb_hash_inplace, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct pc_exec_value *v = bpf_map_lookup_elem(&pb_hash, &tgid);

	if (v) {
		v->key.ktime = 1;
		v->parent = v->key;
		v->flags = PC_EXEC_VALUE_EXEC;
	}
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_task_create, struct task_struct *parent, struct task_struct *child)
{
	struct pc_exec_value *v;

	v = bpf_task_storage_get(&pb_task, child, 0, PB_STORAGE_F_CREATE);
	if (v)
		v->key.pid = 1;
	return 0;
}

/* A lookup that finds the entry pb_task_create made for this task. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(pb_task_get, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	if (bpf_task_storage_get(&pb_task, task, 0, 0))
		pb_sink++;
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_ring_nowake, struct task_struct *parent, struct task_struct *child)
{
	struct pc_rec_clone *rec = bpf_ringbuf_reserve(&pb_quiet, sizeof(*rec), 0);

	if (!rec)
		return 0;
	rec->pid = 1;
	bpf_ringbuf_submit(rec, PB_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_ring_wake, struct task_struct *parent, struct task_struct *child)
{
	struct pc_rec_clone *rec = bpf_ringbuf_reserve(&pb_eager, sizeof(*rec), 0);

	if (!rec)
		return 0;
	rec->pid = 1;
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

/* Ring fill level, as an adaptive wake-up would read it per record. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_ring_query, struct task_struct *parent, struct task_struct *child)
{
	pb_sink += bpf_ringbuf_query(&pb_quiet, 0);
	return 0;
}
