/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file proccache.h
 * @brief libproccache: a lock-free cache of every process on the host, with
 * its lineage, fed by kernel sensors or by the host's own events.
 *
 * Threading contract (see docs/threading.md):
 *  - One writer at a time: proccache__ingest(), proccache__tick(), the
 *    sensor consume calls and subscription changes run on "the ingest
 *    thread". Callbacks are called on that thread.
 *  - Any thread may query (lookups, ancestors, iteration, stats) at any time,
 *    concurrently with the writer, without locks and without a setup call.
 *  - A query returns a counted reference to an immutable snapshot of a
 *    process. It stays valid and unchanged until proccache_process__unref(),
 *    even if the process exits or is reclaimed from the cache meanwhile.
 *    Every reference must be released before proccache__free().
 */
#ifndef PROCCACHE_PROCCACHE_H
#define PROCCACHE_PROCCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef PROCCACHE_API
#define PROCCACHE_API __attribute__((visibility("default")))
#endif

/** @brief Library version, major part. */
#define PROCCACHE_VERSION_MAJOR 1
/** @brief Library version, minor part. */
#define PROCCACHE_VERSION_MINOR 3

/**
 * @brief Declare @p NAME as a zeroed options struct of type @p TYPE with its
 * @c sz set, then apply the designated initialisers given after it.
 *
 * Uses a GNU statement expression (GCC and Clang; marked __extension__ so
 * -pedantic builds accept it) so that padding is zeroed too: the library
 * rejects a non-zero tail it does not know.
 */
#define PROCCACHE_OPTS(TYPE, NAME, ...)                                        \
	struct TYPE NAME = __extension__({                                     \
		__builtin_memset(&NAME, 0, sizeof(struct TYPE));               \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };       \
	})

/** @brief The cache. Opaque. */
struct proccache;
/** @brief An immutable, reference-counted snapshot of one process entry. */
struct proccache_process;
/** @brief A subscription handle; also the unsubscribe token. */
struct proccache_sub;

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

/** @brief Severity of a library log message. */
enum proccache_log_level {
	PROCCACHE_LOG_ERROR = 0,
	PROCCACHE_LOG_WARN = 1,
	PROCCACHE_LOG_INFO = 2,
	PROCCACHE_LOG_DEBUG = 3,
};

/** @brief Host log callback: @p msg is one line without a trailing newline. */
typedef void (*proccache_log_fn)(enum proccache_log_level level,
				 const char *msg, void *userdata);

/**
 * @brief Route the library's log messages (and libbpf's, while the library
 * calls libbpf) to @p fn. The library never writes to stderr itself; with no
 * callback set (the default) messages are dropped. Process-wide; safe to call
 * from any thread.
 */
PROCCACHE_API void proccache_set_log(proccache_log_fn fn, void *userdata);

/* ------------------------------------------------------------------------ */
/* Exec keys and exec IDs                                                    */
/* ------------------------------------------------------------------------ */

/**
 * @brief The identity of one process entry: a pid and the time its image
 * started (exec time for an exec, task start time for a clone), in
 * nanoseconds of CLOCK_BOOTTIME.
 */
struct proccache_key {
	uint64_t ktime; /**< start of this image, ns since boot */
	uint32_t pid;   /**< thread-group id in the initial pid namespace */
	uint32_t pad;   /**< must be zero */
};

/** @brief Buffer size that holds any exec ID string with its NUL. */
#define PROCCACHE_EXEC_ID_MAX 512
/** @brief Longest node name accepted in an exec ID. */
#define PROCCACHE_NODE_NAME_MAX 255

/**
 * @brief Format the exec ID of @p key on node @p node: base64 (standard
 * alphabet, padded) of "<node>:<ktime>:<pid>", the form Tetragon and
 * LoongCollector use.
 * @return the string length (excluding NUL) on success; -EINVAL on bad
 * arguments; -ENOSPC if @p len is too small (nothing useful is written).
 */
PROCCACHE_API int proccache_exec_id_format(const char *node,
					   const struct proccache_key *key,
					   char *buf, size_t len);

/**
 * @brief Strictly parse an exec ID. Rejects bad base64, missing, empty or
 * non-numeric fields, signs, leading junk, overflow and over-long node names
 * with -EINVAL. On success writes the key to @p ret_key and, if @p ret_node
 * is not NULL, the node name (NUL terminated) to it; @p node_len must then be
 * large enough (-ENOSPC otherwise). Outputs are untouched on failure.
 * @return 0 on success, -EINVAL or -ENOSPC. See docs/exec-id.md.
 */
PROCCACHE_API int proccache_exec_id_parse(const char *exec_id,
					  char *ret_node, size_t node_len,
					  struct proccache_key *ret_key);

/* ------------------------------------------------------------------------ */
/* Process entries                                                           */
/* ------------------------------------------------------------------------ */

/** @brief Flags of a process entry (Tetragon's names in docs/process-model.md). */
enum proccache_flags {
	PROCCACHE_F_EXECVE = 1u << 0,         /**< entry made by an exec */
	PROCCACHE_F_PROCFS = 1u << 1,         /**< learned from /proc, not an event */
	PROCCACHE_F_CLONE = 1u << 2,          /**< a clone that has not exec'd */
	PROCCACHE_F_ARGS_TRUNCATED = 1u << 3, /**< args cut at the capture limit */
	PROCCACHE_F_UNLINKED = 1u << 4,       /**< binary has no link (memfd, deleted) */
	PROCCACHE_F_SETUID = 1u << 5,         /**< exec gained privileges via setuid */
	PROCCACHE_F_SETGID = 1u << 6,         /**< exec gained privileges via setgid */
	PROCCACHE_F_PARENT_UNKNOWN = 1u << 7, /**< parent was not in the cache */
	PROCCACHE_F_CWD_ERROR = 1u << 8,      /**< cwd could not be read */
	PROCCACHE_F_CWD_TRUNCATED = 1u << 9,  /**< cwd cut at the capture limit */
	PROCCACHE_F_BINARY_TRUNCATED = 1u << 10, /**< binary path cut */
	PROCCACHE_F_EXIT_INFERRED = 1u << 11, /**< exit not seen, inferred */
	PROCCACHE_F_VANISHED = 1u << 12,      /**< gone before /proc could be read */
	PROCCACHE_F_EXEC_AFTER_CLONE = 1u << 13, /**< first exec after a clone (Tetragon's "clone" on an exec) */
	PROCCACHE_F_ARGS_REDACTED = 1u << 14, /**< secrets in args replaced (proccache_opts.redact) */
	PROCCACHE_F_ENV_TRUNC = 1u << 15,     /**< environment cut at proccache_opts.env_max (since 1.2) */
	PROCCACHE_F_ENV_REDACTED = 1u << 16,  /**< secrets in environment values replaced (since 1.2) */
};

/** @brief Life state of an entry. */
enum proccache_state {
	PROCCACHE_STATE_LIVE = 0,    /**< the current image of a running process */
	PROCCACHE_STATE_RETIRED = 1, /**< replaced by a later exec of the same pid */
	PROCCACHE_STATE_EXITED = 2,  /**< the process exited */
};

/** @brief Credentials, indexes for proccache_process__cred(). */
enum proccache_cred {
	PROCCACHE_CRED_UID = 0,
	PROCCACHE_CRED_GID,
	PROCCACHE_CRED_EUID,
	PROCCACHE_CRED_EGID,
	PROCCACHE_CRED_SUID,
	PROCCACHE_CRED_SGID,
	PROCCACHE_CRED_FSUID,
	PROCCACHE_CRED_FSGID,
	PROCCACHE_CRED_AUID,
};

/** @brief Capability sets, indexes for proccache_process__caps(). */
enum proccache_cap_set {
	PROCCACHE_CAP_PERMITTED = 0,
	PROCCACHE_CAP_EFFECTIVE,
	PROCCACHE_CAP_INHERITABLE,
};

/** @brief Namespaces, indexes for proccache_process__ns(). */
enum proccache_ns_type {
	PROCCACHE_NS_UTS = 0,
	PROCCACHE_NS_IPC,
	PROCCACHE_NS_MNT,
	PROCCACHE_NS_PID,
	PROCCACHE_NS_PID_FOR_CHILDREN,
	PROCCACHE_NS_NET,
	PROCCACHE_NS_TIME,
	PROCCACHE_NS_TIME_FOR_CHILDREN,
	PROCCACHE_NS_CGROUP,
	PROCCACHE_NS_USER,
};

/** @brief Credentials as carried by an ingest event (layout frozen). */
struct proccache_creds {
	uint32_t uid, gid, euid, egid, suid, sgid, fsuid, fsgid;
	uint32_t auid; /**< login uid; (uint32_t)-1 when unset */
};

/** @brief Capability sets as carried by an ingest event (layout frozen). */
struct proccache_caps {
	uint64_t permitted, effective, inheritable;
};

/** @brief Namespace inode numbers as carried by an ingest event (frozen). */
struct proccache_ns {
	uint32_t uts, ipc, mnt, pid, pid_for_children, net, time,
		time_for_children, cgroup, user;
};

/**
 * @brief Take another reference on @p p. Any thread.
 * @return @p p.
 */
PROCCACHE_API struct proccache_process *
proccache_process__ref(struct proccache_process *p);

/** @brief Release a reference. NULL is a no-op. Any thread. */
PROCCACHE_API void proccache_process__unref(struct proccache_process *p);

/** @brief The entry's exec key. */
PROCCACHE_API struct proccache_key
proccache_process__key(const struct proccache_process *p);
/** @brief The parent entry's exec key ({0,0} when unknown). */
PROCCACHE_API struct proccache_key
proccache_process__parent_key(const struct proccache_process *p);
/** @brief Process id (thread-group id), initial pid namespace. */
PROCCACHE_API uint32_t proccache_process__pid(const struct proccache_process *p);
/** @brief Thread id: == pid after an exec (the exec'ing thread becomes the
 * leader); for a clone entry the new task (== pid for a new process). An
 * exit does not change it. */
PROCCACHE_API uint32_t proccache_process__tid(const struct proccache_process *p);
/** @brief Pid as seen in the process's own pid namespace (0 if unknown). */
PROCCACHE_API uint32_t proccache_process__nspid(const struct proccache_process *p);
/** @brief Image start time, ns of CLOCK_BOOTTIME (the key's ktime). */
PROCCACHE_API uint64_t proccache_process__ktime(const struct proccache_process *p);
/** @brief Process start time (the clone's), ns of CLOCK_BOOTTIME; 0 if unknown. */
PROCCACHE_API uint64_t
proccache_process__start_time(const struct proccache_process *p);
/**
 * @brief Write the exec ID into @p buf (see proccache_exec_id_format()).
 * @return length, or negative errno.
 */
PROCCACHE_API int proccache_process__exec_id(const struct proccache_process *p,
					     char *buf, size_t len);
/** @brief Like proccache_process__exec_id() for the parent; -ENOENT if unknown. */
PROCCACHE_API int
proccache_process__parent_exec_id(const struct proccache_process *p, char *buf,
				  size_t len);
/** @brief Absolute path of the binary; "" if unknown. Never NULL. */
PROCCACHE_API const char *
proccache_process__binary(const struct proccache_process *p);
/**
 * @brief Raw arguments, argv[0] included, each NUL terminated, as the kernel
 * laid them out. @p ret_len receives the byte count (may be 0).
 */
PROCCACHE_API const char *
proccache_process__args(const struct proccache_process *p, size_t *ret_len);
/**
 * @brief Environment at exec ("NAME=value" strings, each NUL terminated, the
 * last one possibly cut), when the cache captures it (proccache_opts.env_max;
 * docs/environment.md), filtered and redacted. @p ret_len receives the byte
 * count: 0 when nothing was captured. Never NULL. Since 1.2.
 */
PROCCACHE_API const char *
proccache_process__env(const struct proccache_process *p, size_t *ret_len);
/** @brief Working directory at exec; "" if unknown. Never NULL. */
PROCCACHE_API const char *proccache_process__cwd(const struct proccache_process *p);
/** @brief One credential; (uint32_t)-1 for an invalid @p which. */
PROCCACHE_API uint32_t proccache_process__cred(const struct proccache_process *p,
					       enum proccache_cred which);
/** @brief One capability set; 0 for an invalid @p which. */
PROCCACHE_API uint64_t proccache_process__caps(const struct proccache_process *p,
					       enum proccache_cap_set which);
/** @brief One namespace inode; 0 if unknown or @p which is invalid. */
PROCCACHE_API uint32_t proccache_process__ns(const struct proccache_process *p,
					     enum proccache_ns_type which);
/** @brief Cgroup v2 id (cgroupfs inode); 0 if unknown. */
PROCCACHE_API uint64_t
proccache_process__cgroup_id(const struct proccache_process *p);
/** @brief Container id derived from the cgroup path; "" if none. Never NULL. */
PROCCACHE_API const char *
proccache_process__container_id(const struct proccache_process *p);
/** @brief Inode of the executable; 0 if unknown. */
PROCCACHE_API uint64_t
proccache_process__binary_inode(const struct proccache_process *p);
/** @brief Link count of the executable at exec. */
PROCCACHE_API uint32_t
proccache_process__binary_nlink(const struct proccache_process *p);
/** @brief Or of enum proccache_flags. */
PROCCACHE_API uint32_t proccache_process__flags(const struct proccache_process *p);
/** @brief enum proccache_state of this snapshot. */
PROCCACHE_API enum proccache_state
proccache_process__state(const struct proccache_process *p);
/** @brief Exit status (as exit(3) gave it); 0 unless exited normally. */
PROCCACHE_API int proccache_process__exit_code(const struct proccache_process *p);
/** @brief Signal that killed the process, 0 if none. */
PROCCACHE_API int proccache_process__exit_signal(const struct proccache_process *p);
/** @brief Exit time, ns of CLOCK_BOOTTIME; 0 while live. */
PROCCACHE_API uint64_t
proccache_process__exit_time(const struct proccache_process *p);

/* ------------------------------------------------------------------------ */
/* Process context: session and entry leaders (PROCCACHE_1.2)                */
/* ------------------------------------------------------------------------ */

/** @brief Major number of a tty as proccache_process__tty() encodes it
 * (the kernel's new_encode_dev(), /proc/<pid>/stat's tty_nr). */
#define PROCCACHE_TTY_MAJOR(tty) (((tty) >> 8) & 0xfffu)
/** @brief Minor number of a tty as proccache_process__tty() encodes it. */
#define PROCCACHE_TTY_MINOR(tty) (((tty) & 0xffu) | (((tty) >> 12) & 0xfff00u))

/** @brief What kind of entry leader a process descends from (ECS's
 * process.entry_meta.type; rules in docs/process-model.md). */
enum proccache_entry_type {
	PROCCACHE_ENTRY_UNKNOWN = 0,   /**< the leader is not known (yet) */
	PROCCACHE_ENTRY_INIT = 1,      /**< pid 1 of the host */
	PROCCACHE_ENTRY_KTHREAD = 2,   /**< kthreadd and the kernel threads */
	PROCCACHE_ENTRY_SSHD = 3,      /**< a session leader started by sshd */
	PROCCACHE_ENTRY_SSM = 4,       /**< a session leader started by ssm-session-worker */
	PROCCACHE_ENTRY_CONTAINER = 5, /**< pid 1 of a pid namespace */
	PROCCACHE_ENTRY_TERMINAL = 6,  /**< a session leader on a pseudo terminal */
	PROCCACHE_ENTRY_CONSOLE = 7,   /**< a session leader on a console or serial tty */
};

/** @brief Command name (the kernel's comm, at most 15 bytes); "" if
 * unknown. Never NULL. */
PROCCACHE_API const char *proccache_process__comm(const struct proccache_process *p);
/** @brief Process group id, initial pid namespace; 0 if unknown. */
PROCCACHE_API uint32_t proccache_process__pgid(const struct proccache_process *p);
/** @brief Session id, initial pid namespace; 0 if unknown (or a kernel
 * thread). */
PROCCACHE_API uint32_t proccache_process__sid(const struct proccache_process *p);
/** @brief Controlling tty, encoded as /proc/<pid>/stat's tty_nr (see
 * PROCCACHE_TTY_MAJOR(), proccache_tty_name()); 0 if none or unknown. */
PROCCACHE_API uint32_t proccache_process__tty(const struct proccache_process *p);
/**
 * @brief The session leader's entry: the image of pid == sid that the
 * process's session descends from ({0,0} when unknown). For a session
 * leader, its own key. See docs/process-model.md.
 */
PROCCACHE_API struct proccache_key
proccache_process__session_leader(const struct proccache_process *p);
/**
 * @brief The entry leader's entry: the init, kernel thread, sshd session,
 * container init, terminal or console session the process descends from
 * ({0,0} when unknown). See docs/process-model.md.
 */
PROCCACHE_API struct proccache_key
proccache_process__entry_leader(const struct proccache_process *p);
/** @brief The entry leader's type; PROCCACHE_ENTRY_UNKNOWN if unknown. */
PROCCACHE_API enum proccache_entry_type
proccache_process__entry_type(const struct proccache_process *p);
/** @brief ECS's name of an entry type ("init", "kthread", "sshd", "ssm",
 * "container", "terminal", "console", "unknown"). Never NULL. */
PROCCACHE_API const char *proccache_entry_type_name(enum proccache_entry_type t);
/**
 * @brief Name of tty @p tty (as proccache_process__tty() encodes it) into
 * @p buf: "pts/N", "ttyN", "ttySN", "console", "tty", else "MAJOR:MINOR".
 * @return the length as snprintf; -EINVAL on bad arguments or @p tty 0.
 */
PROCCACHE_API int proccache_tty_name(uint32_t tty, char *buf, size_t len);

/**
 * @brief Decode raw NUL terminated args into one line, exactly as
 * LoongCollector's DecodeArgs() does: arguments joined by one space; an
 * argument containing a space, tab or newline is wrapped in double quotes,
 * with '"' and '\' escaped by a backslash and tab and newline written as
 * \t and \n; any other argument (even one with '"', '\' or '\r') is
 * copied unchanged, and an empty one adds nothing but its separator. Bytes
 * are copied as they are (no UTF-8 check). argv[0] is skipped when
 * @p skip_argv0 is non-zero. Each NUL ends an argument, so the final NUL
 * does not add an empty one; a final argument without its NUL is taken as
 * ending at @p len. @p args may be NULL when @p len is 0.
 * @return the decoded length (excluding NUL), even if it did not fit; the
 * output is always NUL terminated when @p out_len > 0 (snprintf semantics).
 * -EINVAL on bad arguments (NULL with a non-zero length); -EOVERFLOW if the
 * length exceeds INT_MAX.
 */
PROCCACHE_API int proccache_args_decode(const char *args, size_t len,
					int skip_argv0, char *out,
					size_t out_len);

/**
 * @brief Name of capability bit @p bit ("CAP_CHOWN"...), NULL if unknown.
 */
PROCCACHE_API const char *proccache_cap_name(unsigned int bit);

/**
 * @brief Write the names of the bits set in @p caps, space separated, into
 * @p buf. Unknown bits are written as "CAP_<n>".
 * @return length as snprintf; -EINVAL on bad arguments.
 */
PROCCACHE_API int proccache_caps_format(uint64_t caps, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* The cache                                                                 */
/* ------------------------------------------------------------------------ */

/** @brief Clock callback: nanoseconds of CLOCK_BOOTTIME (or a test clock). */
typedef uint64_t (*proccache_clock_fn)(void *userdata);

/** @brief Grace value meaning "reclaim as soon as unreferenced". */
#define PROCCACHE_GRACE_NONE UINT64_MAX

/** @brief Options of proccache__new(). Fields are only ever appended. */
struct proccache_opts {
	size_t sz; /**< sizeof(struct proccache_opts), see PROCCACHE_OPTS() */
	/** Node name in exec IDs; NULL = the host name. */
	const char *node_name;
	/** Hard cap on entries; 0 = 65536. */
	uint32_t max_entries;
	/** Keep unreferenced non-live entries this long; 0 = 30 s;
	 *  PROCCACHE_GRACE_NONE = reclaim at once. */
	uint64_t grace_ns;
	/** Time source for grace and stamps; NULL = CLOCK_BOOTTIME. */
	proccache_clock_fn clock;
	void *clock_userdata;
	/** How long an exit that arrives before its exec or clone is held
	 *  for it (docs/process-model.md); 0 = 5 s. At most 4096 are held. */
	uint64_t hold_ns;
	/** Labels an exec clears; the others pass from the image it replaces
	 *  to the new one (docs/labels.md). 0 = an exec keeps all. */
	uint64_t exec_clear_labels;
	/** Redaction patterns, NULL terminated, copied ("--password=*",
	 *  "-p *", "TOKEN=*"; docs/redaction.md); NULL = none. A malformed
	 *  pattern fails creation with EINVAL. */
	const char *const *redact;
	/** Environment capture (since 1.2; docs/environment.md): bytes of
	 *  environment kept per exec, at most PROCCACHE_ENV_MAX_LIMIT; 0 =
	 *  none is captured or stored (the default). Sensors read at most
	 *  this much; longer ones are cut and flagged PROCCACHE_F_ENV_TRUNC
	 *  (redaction after the cut may lengthen a value to "***"). */
	size_t env_max;
	/** Names of the variables to keep ("LD_PRELOAD", "PATH"), NULL
	 *  terminated, copied; NULL = every variable. Applied after the cut
	 *  at env_max. A name that is empty or holds '=' fails creation with
	 *  EINVAL. Since 1.2. */
	const char *const *env_vars;
	size_t : 0;
};

/** @brief Ceiling of proccache_opts.env_max (64 KiB). */
#define PROCCACHE_ENV_MAX_LIMIT (64u * 1024)

/**
 * @brief Create a cache. Needs no privileges and starts no sensor.
 * @return the cache, or NULL with errno set (EINVAL for bad opts, ENOMEM).
 */
PROCCACHE_API struct proccache *proccache__new(const struct proccache_opts *opts);

/**
 * @brief Stop any sensor, unsubscribe everyone (calling destroy callbacks) and
 * free the cache. No other thread may use it any more; every process
 * reference must have been released. NULL is a no-op.
 */
PROCCACHE_API void proccache__free(struct proccache *pc);

/** @brief The node name used in exec IDs. Valid while @p pc lives. */
PROCCACHE_API const char *proccache__node_name(const struct proccache *pc);

/* ------------------------------------------------------------------------ */
/* Queries: any thread, lock-free                                            */
/* ------------------------------------------------------------------------ */

/**
 * @brief Look an entry up by exec key.
 * @return a reference, or NULL with errno ENOENT (EINVAL on bad arguments).
 */
PROCCACHE_API struct proccache_process *
proccache__lookup(struct proccache *pc, const struct proccache_key *key);

/**
 * @brief Look an entry up by exec ID string. An ID of another node is not
 * found (ENOENT); a malformed one fails with EINVAL.
 */
PROCCACHE_API struct proccache_process *
proccache__lookup_exec_id(struct proccache *pc, const char *exec_id);

/** @brief The live entry holding @p pid now, or NULL with errno ENOENT. */
PROCCACHE_API struct proccache_process *
proccache__lookup_pid(struct proccache *pc, uint32_t pid);

/** @brief proccache__ancestors() flag: fail unless the whole chain fits. */
#define PROCCACHE_ANCESTORS_FULL 0x1u

/**
 * @brief Store references to the ancestors of @p key, nearest first, into
 * @p ret (at most @p max). The chain ends at an entry whose parent is pid 0
 * or unknown. Without flags the chain is cut at @p max. With
 * PROCCACHE_ANCESTORS_FULL the call fails with -ENOSPC (storing nothing)
 * when the chain is longer than @p max; @p ret may then be NULL with
 * @p max 0 to learn the length.
 * @return the number stored (or the chain length, see above); -ENOENT if
 * @p key is not cached; -EINVAL on bad arguments.
 */
PROCCACHE_API int proccache__ancestors(struct proccache *pc,
				       const struct proccache_key *key,
				       struct proccache_process **ret,
				       size_t max, unsigned int flags);

/**
 * @brief Iteration callback. @p p is borrowed for the call only (take a
 * reference to keep it). A negative return stops iteration and is returned.
 */
typedef int (*proccache_iter_fn)(const struct proccache_process *p,
				 void *userdata);

/**
 * @brief Call @p fn for every cached entry (live and not). Entries inserted
 * or removed concurrently may or may not be seen; none is seen twice unless
 * the table grows meanwhile. Do not block long in @p fn: it delays
 * reclamation.
 * @return 0, or the callback's negative value.
 */
PROCCACHE_API int proccache__iterate(struct proccache *pc, proccache_iter_fn fn,
				     void *userdata);

/* ------------------------------------------------------------------------ */
/* Borrowed reads: any thread, lock-free, no reference (since 1.1)           */
/* ------------------------------------------------------------------------ */

/**
 * @brief Borrowed-read callback. @p p is the entry found, @p parent the
 * entry of its parent process or NULL when the cache has none: the nearest
 * ancestor entry of another pid (an image that an exec of the same process
 * replaced is skipped; proccache__with_ancestors() shows every image). Both
 * are borrowed: valid
 * only during the call, inside the cache's epoch section. The callback must
 * not block (it delays the reclamation of every reader's memory), must not
 * keep either pointer after it returns (take proccache_process__ref() to
 * keep one), and may call any proccache_process__*() accessor, the tag
 * writers and other queries; it must not ingest or free the cache. Its
 * return value is passed back by the call that ran it.
 */
typedef int (*proccache_borrow_fn)(const struct proccache_process *p,
				   const struct proccache_process *parent,
				   void *userdata);

/**
 * @brief Run @p fn on the entry that held @p pid at time @p at_ns (ns of
 * CLOCK_BOOTTIME) and on its parent, taking no reference. @p at_ns 0 means
 * now: the live entry. Otherwise the entry is the image that held the pid
 * then, live, exited or replaced since, as long as the cache still holds
 * it: the newest cached image of @p pid that started at or before @p at_ns,
 * unless that image had exited before @p at_ns. When the cache no longer
 * knows (the image that held the pid then was reclaimed, or was never
 * seen, or the pid was free at that time) the call fails with -ENOENT; it
 * never answers with a nearer image. See docs/tagging.md.
 * @return @p fn's return value; -ENOENT (fn not called); -EINVAL on bad
 * arguments; -ENOMEM if the thread could not get its epoch record.
 */
PROCCACHE_API int proccache__with_pid(struct proccache *pc, uint32_t pid,
				      uint64_t at_ns, proccache_borrow_fn fn,
				      void *userdata);

/**
 * @brief Run @p fn on the entry with exec key @p key and on its parent,
 * taking no reference (see proccache__with_pid()).
 * @return @p fn's return value; -ENOENT if not cached (fn not called);
 * -EINVAL on bad arguments; -ENOMEM.
 */
PROCCACHE_API int proccache__with_key(struct proccache *pc,
				      const struct proccache_key *key,
				      proccache_borrow_fn fn, void *userdata);

/**
 * @brief Run @p fn on the entry with exec ID @p exec_id and on its parent,
 * taking no reference (see proccache__with_pid()). An ID of another node
 * is not found.
 * @return @p fn's return value; -ENOENT if not cached (fn not called);
 * -EINVAL for a malformed ID or bad arguments; -ENOMEM.
 */
PROCCACHE_API int proccache__with_exec_id(struct proccache *pc,
					  const char *exec_id,
					  proccache_borrow_fn fn,
					  void *userdata);

/**
 * @brief Borrowed ancestor-walk callback: @p p is an ancestor at @p depth
 * (1 = the parent). Same rules as proccache_borrow_fn. Return 0 to go on;
 * any other value stops the walk and is passed back.
 */
typedef int (*proccache_ancestor_fn)(const struct proccache_process *p,
				     unsigned int depth, void *userdata);

/**
 * @brief Call @p fn on each ancestor of the entry with exec key @p key,
 * nearest first, taking no reference, until the chain ends (an entry whose
 * parent is pid 0 or unknown) or @p fn returns non-zero.
 * @return 0 when the chain ended; @p fn's non-zero return; -ENOENT if
 * @p key is not cached; -EINVAL on bad arguments; -ENOMEM.
 */
PROCCACHE_API int proccache__with_ancestors(struct proccache *pc,
					    const struct proccache_key *key,
					    proccache_ancestor_fn fn,
					    void *userdata);

/* ------------------------------------------------------------------------ */
/* Tags: the standard attributes of a process and its parent (since 1.1)     */
/* ------------------------------------------------------------------------ */

/** @brief Tag vocabularies: which keys, and how values are typed. */
enum proccache_tags_vocab {
	/** LoongCollector's log keys (FinalizeProcessTags): exec_id, pid,
	 *  uid, user, binary, arguments, cwd, ktime, cap.*, container.id and
	 *  parent.*; every value a string, as LoongCollector's are. */
	PROCCACHE_TAGS_LOONGCOLLECTOR = 0,
	/** OpenTelemetry process.* semantic conventions (process.pid,
	 *  process.parent_pid, process.executable.path, process.command_args,
	 *  process.owner, process.user.id, ...). The conventions define no
	 *  parent attribute but process.parent_pid. */
	PROCCACHE_TAGS_OTEL = 1,
	/** Elastic Common Schema process.* and process.parent.* fields. */
	PROCCACHE_TAGS_ECS = 2,
};

/** @brief Type of a tag's value. */
enum proccache_tag_type {
	PROCCACHE_TAG_STRING = 0,  /**< @c str, @c len bytes, NUL terminated */
	PROCCACHE_TAG_INT = 1,     /**< @c num */
	PROCCACHE_TAG_STRINGS = 2, /**< a list: @c len bytes of NUL-terminated strings */
};

/** @brief One tag, valid during the callback only. */
struct proccache_tag {
	const char *key;
	enum proccache_tag_type type;
	const char *str; /**< STRING and STRINGS */
	size_t len;      /**< bytes of @c str (without the final NUL of a STRING) */
	int64_t num;     /**< INT */
};

/** @brief Tag callback; a negative return stops and is passed back. */
typedef int (*proccache_tag_fn)(const struct proccache_tag *tag,
				void *userdata);

/** @brief The user-name cache the tag writers read (see proccache_users__new()). */
struct proccache_users;

/** @brief Options of the tag writers. Fields are only ever appended. */
struct proccache_tags_opts {
	size_t sz; /**< sizeof(struct proccache_tags_opts), see PROCCACHE_OPTS() */
	/** enum proccache_tags_vocab; 0 = LoongCollector's keys. */
	uint32_t vocab;
	uint32_t pad; /**< must be zero */
	/** User names (LoongCollector's user, OpenTelemetry's process.owner
	 *  and process.user.name, ECS's *.user.name) come from this cache,
	 *  never from a lookup that could block: a name it has not resolved
	 *  yet is left out. NULL: no user names. See docs/users.md. */
	struct proccache_users *users;
	size_t : 0;
};

/**
 * @brief Call @p fn once for each tag of @p p and of its parent @p parent
 * (NULL: the process's own tags only, plus the parent pid where the
 * vocabulary has it) in the vocabulary @p opts names (NULL: LoongCollector's).
 * Tags with nothing to say (no container id, a process still running for
 * its exit code) are left out. Any thread; allocates only for arguments
 * longer than 4 KiB; safe inside a borrowed-read callback. See
 * docs/tagging.md for every key.
 * @return the number of tags written; @p fn's negative return; -EINVAL on
 * bad arguments.
 */
PROCCACHE_API int proccache_tags_emit(const struct proccache_process *p,
				      const struct proccache_process *parent,
				      const struct proccache_tags_opts *opts,
				      proccache_tag_fn fn, void *userdata);

/**
 * @brief Write the tags of proccache_tags_emit() into @p buf as JSON object
 * members, comma separated, without the braces ("\"pid\":\"42\",..."), so
 * that they can be put into the caller's own record. Strings are escaped
 * and invalid UTF-8 replaced by U+FFFD. The first call on a snapshot that
 * has not exited keeps its tags (and those of @p parent) with it, in that
 * call's vocabulary, and the calls after copy them: at most 16 KiB a
 * snapshot and 32 MiB in all, freed with the snapshot (docs/tagging.md,
 * "Cost").
 * @return the length as snprintf (the output is cut, NUL terminated, when
 * longer than @p len); -EINVAL on bad arguments; -EOVERFLOW past INT_MAX.
 */
PROCCACHE_API int proccache_tags_json(const struct proccache_process *p,
				      const struct proccache_process *parent,
				      const struct proccache_tags_opts *opts,
				      char *buf, size_t len);

/**
 * @brief One call for a log record: the tags of the image that held @p pid
 * at @p at_ns (0 = now, see proccache__with_pid()) and of its parent,
 * through @p fn, taking no reference.
 * @return as proccache_tags_emit(); -ENOENT when the cache does not know
 * the image; -ENOMEM.
 */
PROCCACHE_API int proccache__tags_pid(struct proccache *pc, uint32_t pid,
				      uint64_t at_ns,
				      const struct proccache_tags_opts *opts,
				      proccache_tag_fn fn, void *userdata);

/**
 * @brief proccache__tags_pid() into a buffer, as proccache_tags_json().
 * @return as proccache_tags_json(); -ENOENT when the cache does not know
 * the image (@p buf untouched); -ENOMEM.
 */
PROCCACHE_API int proccache__tags_pid_json(struct proccache *pc, uint32_t pid,
					   uint64_t at_ns,
					   const struct proccache_tags_opts *opts,
					   char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Ingest: the single writer                                                 */
/* ------------------------------------------------------------------------ */

/** @brief Event types; also bits of a subscription mask. */
enum proccache_event_type {
	PROCCACHE_EVENT_EXEC = 1u << 0,
	PROCCACHE_EVENT_CLONE = 1u << 1,
	PROCCACHE_EVENT_EXIT = 1u << 2,
	PROCCACHE_EVENT_LOST = 1u << 3, /**< a sensor lost events */
	PROCCACHE_EVENT_CREDS = 1u << 4, /**< a live process changed its creds */
};

/**
 * @brief A sensor-neutral event. Zero what you do not know (see
 * docs/ingest.md for what each type reads). Fields are only ever appended.
 */
struct proccache_event {
	size_t sz; /**< sizeof(struct proccache_event) */
	uint32_t type; /**< one enum proccache_event_type */
	uint32_t pid;  /**< thread-group id */
	uint32_t tid;  /**< exec: the thread that exec'd; clone: the new task */
	uint32_t nspid;
	/** exec: exec time; clone: the child's start time; exit and creds:
	 *  the entry's key ktime, or 0 for "the live entry of pid". */
	uint64_t ktime;
	/** clone: the forking process's key; exec without a cached image
	 *  (e.g. a /proc scan): the parent's key. ktime 0 = the live entry
	 *  of parent.pid. */
	struct proccache_key parent;
	/** exec: the key of the image this exec replaces, if the sensor knows
	 *  it (ktime 0 = unknown); lets the cache tell a re-exec from a pid
	 *  reused behind a lost exit. */
	struct proccache_key prev;
	uint64_t start_time; /**< exec: the process's start time, if known */
	uint32_t flags;      /**< enum proccache_flags the sensor knows */
	uint32_t pad0;
	/* exec (and, when the parent is unknown, clone) payload */
	const char *binary;
	const char *args; /**< NUL separated; args_len bytes */
	size_t args_len;
	const char *cwd;
	const char *container_id;
	struct proccache_creds creds;
	struct proccache_caps caps;
	struct proccache_ns ns;
	uint64_t cgroup_id;
	uint64_t binary_inode;
	uint32_t binary_nlink;
	/* exit */
	int32_t exit_code;
	int32_t exit_signal;
	uint32_t pad1;
	uint64_t time; /**< exit time; 0 = now (ns of the cache clock) */
	/* lost */
	uint64_t lost; /**< number of events a sensor lost */
	/** creds: bit i set when credential i (enum proccache_cred) in
	 *  @c creds is known; the others keep the entry's values. 0 = all
	 *  known. */
	uint32_t creds_mask;
	uint32_t pad2;
	/* exec (and a clone that carries payload): the process context,
	 * since 1.2 (docs/process-model.md) */
	/** The task's comm (NUL terminated). Non-empty means that @c pgid,
	 *  @c sid and @c tty are known too; empty leaves all four unknown. */
	char comm[16];
	uint32_t pgid; /**< process group id, initial pid namespace */
	uint32_t sid;  /**< session id, initial pid namespace */
	/** Controlling tty as /proc/<pid>/stat's tty_nr encodes it (see
	 *  PROCCACHE_TTY_MAJOR()); 0 = none. */
	uint32_t tty;
	uint32_t pad3;
	/** exec (and clone) payload, since 1.2: the environment, NUL
	 *  separated like args; env_len bytes. Kept only when the cache
	 *  captures environments (proccache_opts.env_max), cut at that. */
	const char *env;
	size_t env_len;
	/** exec, since 1.4: groups of fields the sensor did not read (bits of
	 *  enum proccache_field). Ingest gives the new image the values of
	 *  the image the exec replaces as the cache has it then, else those
	 *  of the parent's image (else empty), whatever the event holds. */
	uint32_t unknown;
	uint32_t pad4;
	size_t : 0;
};

/**
 * @brief Groups of exec fields, by the /proc file they come from: bits of
 * proccache_event.unknown and proccache_sensor_opts.netlink_skip (since 1.4).
 * An exec itself changes none of them but the creds and caps (a set-ID or
 * file-capability binary, the caps of a non-root process).
 */
enum proccache_field {
	/** creds (all but auid), caps and nspid: /proc/<pid>/status */
	PROCCACHE_FIELD_CREDS = 1u << 0,
	/** creds.auid: /proc/<pid>/loginuid */
	PROCCACHE_FIELD_AUID = 1u << 1,
	/** cwd: /proc/<pid>/cwd */
	PROCCACHE_FIELD_CWD = 1u << 2,
	/** the ten namespace inodes: /proc/<pid>/ns/ */
	PROCCACHE_FIELD_NS = 1u << 3,
	/** cgroup_id and container_id: /proc/<pid>/cgroup */
	PROCCACHE_FIELD_CGROUP = 1u << 4,
	PROCCACHE_FIELD_ALL = (1u << 5) - 1,
};

/** @brief What proccache__ingest() did with an event (non-negative returns). */
enum proccache_ingest_result {
	PROCCACHE_INGEST_APPLIED = 0,   /**< the cache reflects the event */
	PROCCACHE_INGEST_DUPLICATE = 1, /**< already known; nothing changed */
	PROCCACHE_INGEST_HELD = 2,      /**< an exit held until its exec or clone arrives */
	PROCCACHE_INGEST_IGNORED = 3,   /**< older than what the cache holds, or about nothing cached */
};

/**
 * @brief Apply one event to the cache, then call the subscribers. Ingest
 * thread only. Events may arrive in any order (docs/process-model.md):
 * an exit before its exec or clone is held and applied when that arrives,
 * a parent that arrives after its children adopts them, a late clone is
 * linked to its child's exec. Anomalies are counted in the stats, never
 * fatal. Held exits that expire are handled here and in proccache__tick().
 * @return an enum proccache_ingest_result: PROCCACHE_INGEST_APPLIED (0),
 * PROCCACHE_INGEST_DUPLICATE (1), PROCCACHE_INGEST_HELD (2) or
 * PROCCACHE_INGEST_IGNORED (3, stale or about nothing cached); or it is
 * refused: -ENOSPC when the cache is full of live entries (counted),
 * -ENOMEM, -EINVAL for a malformed event; or a subscriber's negative return
 * (the cache was still updated and later subscribers were not called).
 */
PROCCACHE_API int proccache__ingest(struct proccache *pc,
				    const struct proccache_event *ev);

/**
 * @brief Reclaim entries whose grace expired and release memory retired
 * since the last call. Ingest thread only; ingest calls it too, so only a
 * host that may go long without events needs it.
 * @return the number of entries reclaimed.
 */
PROCCACHE_API int proccache__tick(struct proccache *pc);

/* ------------------------------------------------------------------------ */
/* Subscriptions                                                             */
/* ------------------------------------------------------------------------ */

/**
 * @brief Event callback, on the ingest thread, after the cache reflects the
 * event. @p process is the entry (for EXIT, its exited snapshot; NULL for
 * LOST), @p parent its parent entry or NULL. Both are borrowed for the call.
 * May query the cache and subscribe or unsubscribe (itself included); must
 * not ingest. A negative return stops dispatch and is returned by the call
 * that ingested.
 */
typedef int (*proccache_event_fn)(struct proccache *pc,
				  const struct proccache_event *ev,
				  const struct proccache_process *process,
				  const struct proccache_process *parent,
				  void *userdata);

/** @brief Called once when a subscription is gone, to free its userdata. */
typedef void (*proccache_destroy_fn)(void *userdata);

/** @brief Options of proccache__subscribe(). */
struct proccache_subscribe_opts {
	size_t sz;
	proccache_destroy_fn destroy; /**< may be NULL */
	size_t : 0;
};

/**
 * @brief Subscribe @p fn to the event types in @p mask. Ingest thread (or
 * before ingestion starts, or from a callback). A subscription made inside
 * a callback sees the next event, not the current one.
 * @return the handle, or NULL with errno set (EINVAL, ENOMEM).
 */
PROCCACHE_API struct proccache_sub *
proccache__subscribe(struct proccache *pc, uint32_t mask, proccache_event_fn fn,
		     void *userdata, const struct proccache_subscribe_opts *opts);

/**
 * @brief End a subscription: @p fn is not called again, and destroy runs
 * (at once, or after the current dispatch when called from a callback).
 * Ingest thread. NULL is a no-op.
 */
PROCCACHE_API void proccache_sub__unsubscribe(struct proccache_sub *sub);

/** @brief The userdata given at subscription. */
PROCCACHE_API void *proccache_sub__userdata(const struct proccache_sub *sub);

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */
/* ------------------------------------------------------------------------ */

/** @brief Counters; set @c sz before calling proccache__stats(). */
struct proccache_stats {
	size_t sz;
	uint64_t entries_live;
	uint64_t entries_exited; /**< exited or retired, still cached */
	uint64_t inserts;
	uint64_t reclaims;        /**< after grace */
	uint64_t evictions_full;  /**< evicted early because the cache was full */
	uint64_t refused_full;    /**< inserts refused: full of live entries */
	uint64_t lookups;
	uint64_t lookup_misses;
	uint64_t events_exec;
	uint64_t events_clone;
	uint64_t events_exit;
	uint64_t events_lost;     /**< LOST notices */
	uint64_t lost;            /**< sum of the events sensors lost */
	uint64_t parent_unknown;
	uint64_t exit_unknown;    /**< exits (and cred changes) of processes not cached */
	uint64_t duplicates;
	uint64_t out_of_order;
	uint64_t invalid;
	uint64_t pid_reuse;       /**< live entry replaced by a new one, exit unseen */
	uint64_t events_creds;
	uint64_t pending;         /**< exits held for their exec or clone now */
	uint64_t pending_applied; /**< held exits applied to their entry */
	uint64_t pending_expired; /**< held exits that never found their entry */
	uint64_t adopted;         /**< children linked to a parent that came later */
	/** Bytes of tags kept with snapshots for the next records that name
	 *  them (proccache_tags_json()), for all caches of the host process
	 *  together: at most 32 MiB. Since 1.3. */
	uint64_t tags_kept_bytes;
	/** Times a snapshot's tags were not kept for a bound: the 32 MiB of
	 *  all, or 16 KiB for one snapshot (all caches of the host process).
	 *  Their records are formatted per call. */
	uint64_t tags_not_kept;
	size_t : 0;
};

/**
 * @brief Copy the counters into @p ret (the fields its @c sz covers). Any
 * thread; the values are individually consistent, not a snapshot.
 * @return 0 or -EINVAL.
 */
PROCCACHE_API int proccache__stats(struct proccache *pc,
				   struct proccache_stats *ret);

/**
 * @brief Write the counters in the Prometheus text exposition format, with
 * HELP and TYPE lines, metric names prefixed "proccache_".
 * @return the length as snprintf (the output is cut, NUL terminated, when
 * longer than @p len); -EINVAL on bad arguments.
 */
PROCCACHE_API int proccache__stats_prometheus(struct proccache *pc, char *buf,
					      size_t len);


/* ------------------------------------------------------------------------ */
/* User and group names (PROCCACHE_1.1)                                      */
/* ------------------------------------------------------------------------ */

/**
 * @brief A bounded cache of user and group names, usable from any thread.
 * Opaque. Lookups never block: a name not cached yet is resolved by a
 * thread the object owns (getpwuid_r()/getgrgid_r(), so NSS), and the
 * lookup says -EAGAIN meanwhile. See docs/users.md.
 */
struct proccache_users;

/** @brief What a resolver is asked for. */
enum proccache_users_kind {
	PROCCACHE_USERS_USER = 0,  /**< a user id, the passwd database */
	PROCCACHE_USERS_GROUP = 1, /**< a group id, the group database */
};

/** @brief Longest name the cache keeps, without its NUL. */
#define PROCCACHE_USERS_NAME_MAX 63

/**
 * @brief Resolver callback, on the object's resolver thread: write the name
 * of @p id (NUL terminated) into @p buf of @p len bytes.
 * @return the name's length; -ENOENT when there is no such id; another
 * negative errno when the lookup failed.
 */
typedef int (*proccache_users_resolve_fn)(enum proccache_users_kind kind,
					  uint32_t id, char *buf, size_t len,
					  void *userdata);

/** @brief Options of proccache_users__new(). Fields are only ever appended. */
struct proccache_users_opts {
	size_t sz; /**< sizeof(struct proccache_users_opts), see PROCCACHE_OPTS() */
	/** Most names kept (users and groups together), rounded up to a
	 *  power of two; 0 = 1024. At most 1 << 20. */
	uint32_t capacity;
	/** Lifetime of a resolved name; 0 = 60 s. */
	uint64_t ttl_ns;
	/** Lifetime of a "no such id" or failed lookup; 0 = 5 s. */
	uint64_t negative_ttl_ns;
	/** Resolver; NULL = getpwuid_r() / getgrgid_r(). For tests and for
	 *  hosts with their own user database. */
	proccache_users_resolve_fn resolve;
	void *resolve_userdata;
	/** Clock of the lifetimes, in ns; NULL = CLOCK_MONOTONIC_COARSE. */
	proccache_clock_fn clock;
	void *clock_userdata;
	size_t : 0;
};

/**
 * @brief Create a name cache and start its resolver thread. Needs no
 * privileges.
 * @return the cache, or NULL with errno set (EINVAL for bad opts, ENOMEM,
 * or the error of creating the thread).
 */
PROCCACHE_API struct proccache_users *
proccache_users__new(const struct proccache_users_opts *opts);

/**
 * @brief Stop the resolver thread (waiting for a lookup in progress to
 * return) and free the cache. No other thread may use it any more. NULL is
 * a no-op.
 */
PROCCACHE_API void proccache_users__free(struct proccache_users *u);

/**
 * @brief The name of user @p uid, into @p buf (NUL terminated). Any thread;
 * lock-free and never blocks: a name not cached, or whose lifetime ended,
 * is queued for the resolver thread and the call returns -EAGAIN.
 * @return the name's length; -ENOENT when the user database has no such
 * user; -EAGAIN when not resolved yet; -ENOSPC when @p len is too small
 * (nothing written); -EINVAL on bad arguments; another negative errno when
 * the resolver failed (kept for the negative lifetime).
 */
PROCCACHE_API int proccache_users__user_name(struct proccache_users *u,
					     uint32_t uid, char *buf,
					     size_t len);

/**
 * @brief The name of group @p gid, as proccache_users__user_name() does
 * for users. Any thread; never blocks.
 * @return the name's length; -ENOENT, -EAGAIN, -ENOSPC, -EINVAL, or the
 * resolver's error.
 */
PROCCACHE_API int proccache_users__group_name(struct proccache_users *u,
					      uint32_t gid, char *buf,
					      size_t len);

/* ------------------------------------------------------------------------ */
/* Inherited labels (1.1)                                                    */
/* ------------------------------------------------------------------------ */

/**
 * @brief Set and clear labels of one entry: its labels become
 * (labels & ~@p clear_mask) | @p set_mask. Labels are a 64-bit set the
 * library gives no meaning to; a clone made afterwards inherits them, an
 * exec keeps them minus proccache_opts.exec_clear_labels
 * (docs/labels.md). Entries already cached (existing children) are not
 * changed. Ingest thread only (a subscriber's callback may call it); the
 * snapshots readers already hold keep their old labels.
 * @p key with ktime 0 names the live entry of key->pid.
 * @return 0; -ENOENT if the entry is not cached; -EINVAL on bad arguments;
 * -ENOMEM.
 */
PROCCACHE_API int proccache__set_labels(struct proccache *pc,
					const struct proccache_key *key,
					uint64_t set_mask, uint64_t clear_mask);

/** @brief The entry's labels (0 if none). Any thread; no lock, no call
 * into the cache. */
PROCCACHE_API uint64_t
proccache_process__labels(const struct proccache_process *p);

#ifdef __cplusplus
}
#endif

#include <proccache/sensor.h>

#endif /* PROCCACHE_PROCCACHE_H */
