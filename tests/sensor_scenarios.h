/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real-process scenarios any sensor must pass, in one table run against
 * each backend (tests/test_sensor_netlink.c runs it on netlink and on BPF).
 * They are the BPF sensor's real-process tests (test_sensor_bpf.c keeps
 * only what is BPF-specific), plus "_alive" variants where a field is
 * best-effort for a backend: there the process is kept alive so that the
 * field is exact.
 *
 * What a backend gets exactly and what only at best is declared below,
 * per backend; a best-effort check accepts the exact value or the
 * documented fallback (flagged PROCCACHE_F_VANISHED, the field empty) and
 * logs which one it saw. Nothing is skipped for being best-effort.
 *
 * Needs root: every scenario skips, saying so, without it.
 */
#ifndef TESTS_SENSOR_SCENARIOS_H
#define TESTS_SENSOR_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>

#include "proccache/proccache.h"

enum sc_accuracy {
	SC_EXACT,
	SC_BEST_EFFORT, /* exact, or the documented fallback */
	SC_NOT_TRACKED, /* the backend does not see it: the check says so */
};

struct sc_backend {
	const char *name; /* proccache__sensor_backend() */
	uint32_t backend; /* enum proccache_backend */
	/* Image fields (binary, args, cwd, creds, caps, namespaces, cgroup)
	 * of an image that exits or execs again at once. */
	enum sc_accuracy short_lived_image;
	/* PROCCACHE_F_SETUID / SETGID at exec. */
	enum sc_accuracy setid_flags;
	/* Exit time and status of a process whose threads outlive its main
	 * thread. */
	enum sc_accuracy exit_time_threads;
	/* uid/gid changes of a live process (setresuid(2) and friends). */
	enum sc_accuracy creds_change;
	/* The backend keeps the kernel's exec map (pid -> key, parent key)
	 * for host BPF programs: the scenarios check it agrees with the
	 * cache. */
	bool exec_map;
};

extern const struct sc_backend sc_bpf, sc_netlink;

/* Every scenario: X(name). */
#define SC_SCENARIOS(X)                                                        \
	X(chain_64_deep_full_ancestry)                                         \
	X(reexec_keeps_pid_new_key)                                            \
	X(clone_without_exec)                                                  \
	X(exec_from_non_leader_thread)                                         \
	X(orphan_lineage_follows_creator)                                      \
	X(child_of_process_started_before_sensor)                              \
	X(exit_codes_and_signals)                                              \
	X(multithreaded_process_exits_once)                                    \
	X(args_exact_bytes)                                                    \
	X(args_exact_bytes_alive)                                              \
	X(argv_300k_truncated_at_default)                                      \
	X(argv_300k_truncated_at_default_alive)                                \
	X(argv_300k_truncated_at_256k)                                         \
	X(argv_200k_whole_under_256k)                                          \
	X(argv_200k_whole_under_256k_alive)                                    \
	X(cwd_25_deep_spaces_non_ascii)                                        \
	X(cwd_25_deep_spaces_non_ascii_alive)                                  \
	X(exec_from_memfd_is_unlinked)                                         \
	X(exec_from_memfd_is_unlinked_alive)                                   \
	X(setuid_binary_run_by_unprivileged_user)                              \
	X(creds_caps_namespaces_cgroup)                                        \
	X(creds_caps_namespaces_cgroup_alive)                                  \
	X(creds_change_of_live_process)                                        \
	X(host_pid_reuse_gives_distinct_exec_ids)                              \
	X(library_thread_drives_the_sensor)                                    \
	X(options_may_be_freed_after_start)                                    \
	X(sensor_fd_is_one_flat_epoll_set)                                     \
	X(counters)                                                            \
	X(context_setsid_new_session)                                          \
	X(context_script_terminal_leader)                                      \
	X(context_unshare_container_leader)                                    \
	X(environment_off_by_default)                                          \
	X(environment_captured_and_redacted)                                   \
	X(environment_captured_and_redacted_alive)                             \
	X(environment_cut_at_the_cap_alive)

#define SC_DECLARE(name) void sc_##name(const struct sc_backend *b);
SC_SCENARIOS(SC_DECLARE)
#undef SC_DECLARE

/* Criterion .fini of the suites running the table. */
void sc_fini(void);

/* A set-user-ID root copy of @src, @bin, in a new directory @dir; false
 * when @dir is on a nosuid mount (nothing copied). */
bool sc_make_setuid_copy(const char *src, char *dir, size_t dirlen, char *bin,
			 size_t binlen);

#endif
