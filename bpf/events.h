/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel -> user record layout of the BPF sensor, shared by
 * bpf/proccache.bpf.c and the decoder in lib/sensor_bpf.c, and the layout of
 * the tgid -> exec key map that host BPF programs may read
 * (proccache__sensor_exec_map_fd()). See docs/sensor-bpf.md.
 *
 * Every ring record starts with struct pc_rec_hdr; hdr.size is the byte
 * count of the whole record and must equal the ring sample's length. An
 * exec record carries five variable parts after its fixed part, in this
 * order, with their lengths in the fixed part: binary, cwd, cgroup name,
 * args, environment (empty unless the cache keeps environments). All integers are in host byte order.
 */
#ifndef PROCCACHE_BPF_EVENTS_H
#define PROCCACHE_BPF_EVENTS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Bumped on any incompatible change; the decoder rejects other versions. */
#define PC_REC_VERSION 2

enum pc_rec_type {
	PC_REC_CLONE = 1,
	PC_REC_EXEC = 2,
	PC_REC_EXIT = 3,
};

struct pc_rec_hdr {
	__u16 type;    /* enum pc_rec_type */
	__u16 version; /* PC_REC_VERSION */
	__u32 size;    /* bytes of the whole record, this header included */
};

/* Same layout as struct proccache_key. */
struct pc_key {
	__u64 ktime; /* ns of CLOCK_BOOTTIME: exec time, or the clone's start */
	__u32 pid;   /* tgid, initial pid namespace */
	__u32 pad;
};

/* Value of the exec map (key: __u32 tgid). */
struct pc_exec_value {
	struct pc_key key;    /* the process's current image */
	struct pc_key parent; /* the image that created it (the lineage parent) */
	__u32 flags;          /* PC_EXEC_VALUE_* */
	__u32 pad;
};

#define PC_EXEC_VALUE_CLONE (1u << 0)  /* written by the fork program */
#define PC_EXEC_VALUE_EXEC (1u << 1)   /* written by the exec program */
#define PC_EXEC_VALUE_PROCFS (1u << 2) /* seeded by user space from /proc */

struct pc_rec_clone {
	struct pc_rec_hdr hdr;
	__u32 pid;   /* the new process's tgid */
	__u32 tid;   /* == pid: only thread-group leaders are reported */
	__u32 nspid; /* pid in its own pid namespace */
	__u32 parent_tid; /* the thread that called fork/clone */
	__u64 ktime; /* task start_boottime: the clone's key */
	struct pc_key parent; /* the real parent's current image */
};

struct pc_rec_exit {
	struct pc_rec_hdr hdr;
	__u32 pid;   /* tgid */
	__u32 tid;   /* the last thread, the one that reported */
	__u64 ktime; /* key of the exiting image; 0 when the map had none */
	__u64 time;  /* exit time, ns of CLOCK_BOOTTIME */
	__u32 status; /* wait status: exit code << 8 | signal (| 0x80 core) */
	__u32 pad;
};

/* Flags of an exec record, translated to enum proccache_flags by the
 * decoder. */
#define PC_EXEC_F_ARGS_TRUNC (1u << 0)   /* args cut at args_max */
#define PC_EXEC_F_ARGS_ERR (1u << 1)     /* args could not be read */
#define PC_EXEC_F_BINARY_TRUNC (1u << 2) /* path walk hit a limit */
#define PC_EXEC_F_BINARY_ERR (1u << 3)   /* path walk failed */
#define PC_EXEC_F_BINARY_RAW (1u << 4)   /* binary is the exec'd name as given */
#define PC_EXEC_F_CWD_TRUNC (1u << 5)
#define PC_EXEC_F_CWD_ERR (1u << 6)
#define PC_EXEC_F_SETUID (1u << 7)       /* euid became the file owner */
#define PC_EXEC_F_SETGID (1u << 8)       /* egid became the file group */
#define PC_EXEC_F_ENV_TRUNC (1u << 9)    /* env cut at env_max */
#define PC_EXEC_F_ENV_ERR (1u << 10)     /* env could not be read */
#define PC_EXEC_F_KNOWN_MASK 0x7ffu

/* Indexes of pc_rec_exec.creds, .caps and .ns: the order of the public
 * enum proccache_cred / proccache_cap_set / proccache_ns_type. */
#define PC_NCREDS 9
#define PC_NCAPS 3
#define PC_NNS 10

struct pc_rec_exec {
	struct pc_rec_hdr hdr;
	__u32 pid;     /* tgid */
	__u32 tid;     /* == pid (the exec'ing thread took the leader's pid) */
	__u32 old_tid; /* the thread that called execve, before de_thread */
	__u32 nspid;
	__u64 ktime;      /* exec time: this image's key */
	__u64 start_time; /* the process's start_boottime */
	struct pc_key prev;        /* previous image of this tgid; 0 if none */
	struct pc_key parent;      /* lineage parent (see docs/sensor-bpf.md) */
	struct pc_key real_parent; /* current image of the real parent; its
				    * ktime is 0 (not looked up) when the
				    * process had an exec map entry */
	__u32 flags;               /* PC_EXEC_F_* */
	__u32 mode;                /* i_mode of the executable */
	__u32 creds[PC_NCREDS];
	__u32 nlink;               /* i_nlink of the executable */
	__u64 caps[PC_NCAPS];
	__u32 ns[PC_NNS];
	__u64 cgroup_id;           /* default-hierarchy cgroup kernfs id */
	__u64 ino;                 /* inode of the executable */
	__u32 args_size;           /* bytes of the args area in the process */
	__u32 args_len;            /* bytes of args in this record */
	__u16 binary_len;
	__u16 cwd_len;
	__u16 cgroup_len;
	__u16 pad;
	/* The process context (docs/process-model.md): ids in the initial
	 * pid namespace, 0 when the task has none; the controlling tty's
	 * device numbers, major 0 = none; the task's comm after the exec. */
	__u32 pgid;
	__u32 sid;
	__u32 tty_major;
	__u32 tty_minor;
	char comm[16];
	__u32 env_size;            /* bytes of the environment area; 0 when
				    * not looked at (env_max 0) */
	__u32 env_len;             /* bytes of env in this record */
	/* then: binary[binary_len] cwd[cwd_len] cgroup[cgroup_len]
	 * args[args_len] env[env_len]. binary and cwd are path components,
	 * each NUL terminated, leaf first (user space joins them in reverse),
	 * unless PC_EXEC_F_BINARY_RAW; cgroup is one NUL terminated name;
	 * args and env are the raw argv and envp areas. */
};

/* Bytes one path may take in a record, and the walk's depth bound. */
#define PC_PATH_MAX 4096
#define PC_PATH_DEPTH 64
/* Longest dentry or kernfs name, with its NUL. */
#define PC_NAME_MAX 256
/* Area before the args in the per-CPU scratch: binary + cwd + cgroup fit,
 * and it is a power of two so the programs can bound offsets by masking. */
#define PC_VAR_AREA 16384
/* The programs wake the consumer when this many bytes are pending, or
 * else at most once per PC_WAKE_NS (a lone burst wakes it at once); see
 * wake_flags() in proccache.bpf.c. */
#define PC_WAKE_NS (50ull * 1000 * 1000)
#define PC_WAKE_BYTES (16u * 1024)
/* After a quiet spell, records that begin within this many bytes of the
 * first one wake the consumer at once: a lone command's fork, exec and
 * exit are not held back. */
#define PC_WAKE_BURST 4096u

/* Default and ceiling of the args capture. */
#define PC_ARGS_DEFAULT (32u * 1024)
#define PC_ARGS_LIMIT (256u * 1024)

/* Ceiling of the environment capture (PROCCACHE_ENV_MAX_LIMIT); 0, the
 * default, captures none. */
#define PC_ENV_LIMIT (64u * 1024)

/* Size of one per-CPU scratch value for an args limit of ARGS and an
 * environment limit of ENV. */
#define PC_SCRATCH_SIZE(ARGS, ENV)                                             \
	(sizeof(struct pc_rec_exec) + PC_VAR_AREA + PC_NAME_MAX + (ARGS) + (ENV))

#endif
