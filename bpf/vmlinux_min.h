/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel types the BPF programs read, written by hand and reduced to the
 * fields used. Every struct is marked preserve_access_index, so each field
 * access is a CO-RE relocation that libbpf resolves by name against the
 * running kernel's BTF (/sys/kernel/btf/vmlinux) at load time: offsets,
 * sizes and member order here do not have to match any kernel. Fields that
 * sit inside anonymous unions or structs in the kernel are declared flat;
 * libbpf finds them through the anonymous members.
 */
#ifndef PROCCACHE_BPF_VMLINUX_MIN_H
#define PROCCACHE_BPF_VMLINUX_MIN_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
typedef int pid_t;
typedef __u16 umode_t;
#define true 1
#define false 0

/* UAPI values (include/uapi/linux/bpf.h); stable ABI. */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct list_head {
	struct list_head *next;
	struct list_head *prev;
};

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	__u32 val;
} kuid_t;

typedef struct {
	__u32 val;
} kgid_t;

/* Before 6.3 this was __u32 cap[2]; the programs read 8 raw bytes at the
 * field's offset, which is the same value on little-endian either way. */
typedef struct {
	__u64 val;
} kernel_cap_t;

struct ns_common {
	unsigned int inum;
};

struct uts_namespace {
	struct ns_common ns;
};
struct ipc_namespace {
	struct ns_common ns;
};
struct mnt_namespace {
	struct ns_common ns;
};
struct pid_namespace {
	struct ns_common ns;
};
struct net {
	struct ns_common ns;
};
struct time_namespace {
	struct ns_common ns;
};
struct cgroup_namespace {
	struct ns_common ns;
};
struct user_namespace {
	struct ns_common ns;
};

struct nsproxy {
	struct uts_namespace *uts_ns;
	struct ipc_namespace *ipc_ns;
	struct mnt_namespace *mnt_ns;
	struct pid_namespace *pid_ns_for_children;
	struct net *net_ns;
	struct time_namespace *time_ns;
	struct time_namespace *time_ns_for_children;
	struct cgroup_namespace *cgroup_ns;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t suid;
	kgid_t sgid;
	kuid_t euid;
	kgid_t egid;
	kuid_t fsuid;
	kgid_t fsgid;
	kernel_cap_t cap_inheritable;
	kernel_cap_t cap_permitted;
	kernel_cap_t cap_effective;
	struct user_namespace *user_ns;
};

struct qstr {
	__u32 len;
	const unsigned char *name;
};

struct inode {
	umode_t i_mode;
	kuid_t i_uid;
	kgid_t i_gid;
	unsigned long i_ino;
	unsigned int i_nlink;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
};

struct vfsmount {
	struct dentry *mnt_root;
};

/* fs/mount.h: the vfsmount is embedded in struct mount. */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
};

struct fs_struct {
	struct path root;
	struct path pwd;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	unsigned long env_start;
	unsigned long env_end;
	struct file *exe_file;
};

struct kernfs_node {
	const char *name;
	__u64 id;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct css_set {
	struct cgroup *dfl_cgrp;
};

/* include/linux/pid.h; PIDTYPE_MAX has been 4 since 4.19. */
enum pid_type {
	PIDTYPE_PID,
	PIDTYPE_TGID,
	PIDTYPE_PGID,
	PIDTYPE_SID,
	PIDTYPE_MAX,
};

struct tty_driver {
	int major;
	int minor_start;
};

struct tty_struct {
	struct tty_driver *driver;
	int index;
};

struct signal_struct {
	atomic_t live;
	int group_exit_code;
	unsigned int flags;
	struct pid *pids[PIDTYPE_MAX];
	struct tty_struct *tty;
};

struct task_struct {
	int exit_code;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct list_head children;
	struct list_head sibling;
	struct pid *thread_pid;
	__u64 start_boottime;
	const struct cred *cred;
	struct fs_struct *fs;
	struct mm_struct *mm;
	struct nsproxy *nsproxy;
	struct signal_struct *signal;
	struct css_set *cgroups;
	kuid_t loginuid;
};

struct linux_binprm {
	struct file *file;
	const char *filename;
};

/* Classic tracepoint records (the fallback); fields found by name. */
struct trace_entry {
	unsigned short type;
};

struct trace_event_raw_sched_process_fork {
	struct trace_entry ent;
	pid_t parent_pid;
	pid_t child_pid;
};

struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	__u32 __data_loc_filename;
	pid_t pid;
	pid_t old_pid;
};

/* The exit record: 6.16 and later carry group_dead. */
struct trace_event_raw_sched_process_exit {
	struct trace_entry ent;
	pid_t pid;
	bool group_dead;
};

#pragma clang attribute pop

/* The tracepoint context of BPF_PROG_TYPE_TRACING programs. */
struct pt_regs;

#endif
