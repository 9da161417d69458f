/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The harness of the kernel sensor tests, shared by tests/test_sensor_bpf.c
 * and the real-process scenarios (tests/sensor_scenarios.c): one cache per
 * test with callbacks recording what they saw, pump and wait helpers,
 * spawn/reap, privilege checks that skip loudly, sensor start-up.
 *
 * Criterion runs each test in its own process: the state below is that
 * test's; harness_fini() (the suites' .fini) frees its cache.
 */
#ifndef TESTS_SENSOR_HARNESS_H
#define TESTS_SENSOR_HARNESS_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include "proccache/proccache.h"
#include "sensor_bpf.h"

/* Time limits are multiplied by this: PC_TEST_TIME_SCALE (default 1), set
 * where the machine is slow on purpose (tests/kernel-matrix: software
 * emulation). Limits grow; assertions stay. */
double time_scale(void);
#define SCALED_MS(ms) ((uint64_t)((ms) * time_scale()))

#define WAIT_MS SCALED_MS(10000)
#define NOBODY 65534

/* ---- what the callbacks saw --------------------------------------------- */

struct seen {
	uint32_t type, pid, tid;
	struct proccache_key key, parent;
	int32_t code, sig;
	uint32_t flags;
	uint64_t lost;
	uint64_t exit_time;
	uint64_t arrived; /* CLOCK_BOOTTIME when the callback ran */
};

/* The test's cache, and the library's log lines of level info and above. */
extern struct proccache *pc;
extern char logbuf[1 << 16];

void log_sink(enum proccache_log_level level, const char *msg, void *userdata);

/* How many events were seen so far: a mark to count from. */
size_t mark_now(void);
/* Events of @type (a mask) for @pid (0: any) since @from; copies the
 * @nth one to @ret. */
size_t count_seen(uint32_t type, uint32_t pid, size_t from, size_t nth,
		  struct seen *ret);
uint64_t now_ms(void);
/* Feed the cache until @n events of @type for @pid arrived since @from. */
void pump_until(uint32_t type, uint32_t pid, size_t from, size_t n);
/* Anything still in flight, e.g. a duplicate that must not be there
 * (longer than the netlink settle window). */
void pump_idle(void);
/* Drive @cache's sensor for @ms. */
void pump_for(struct proccache *cache, unsigned int ms);
/* Drive @cache's sensor until @pid has a live entry whose flags include
 * @flags; that entry, with a reference. */
struct proccache_process *wait_live(struct proccache *cache, pid_t pid,
				    uint32_t flags);
/* @cache's sensor counters. */
struct proccache_sensor_stats stats_of(struct proccache *cache);
uint64_t boot_ns(void);

/* ---- privileges and set-up ---------------------------------------------- */

/* CAP_SYS_ADMIN, or (unless @need_sys_admin) CAP_BPF + CAP_PERFMON. */
bool has_caps(bool need_sys_admin);

#define SKIP_UNLESS(cond, why)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "SKIPPED %s: %s\n", __func__, why);    \
			cr_skip_test("%s", why);                               \
		}                                                              \
	} while (0)

#define NEED_ROOT() SKIP_UNLESS(geteuid() == 0, "needs root to run a kernel sensor")
#define NEED_BPF()                                                             \
	SKIP_UNLESS(has_caps(false), "needs root or CAP_BPF+CAP_PERFMON to load BPF programs")
#define NEED_ADMIN()                                                           \
	SKIP_UNLESS(geteuid() == 0 && has_caps(true), "needs root (CAP_SYS_ADMIN, set-id changes)")

/* A cache keeping exited entries for the whole test, every event
 * recorded; no sensor yet. */
void new_cache(void);
/* new_cache() with @opts (NULL: the defaults; grace is always the test's). */
void new_cache_with(const struct proccache_opts *opts);
/* Another cache like it, logging to the same sink, without the recording
 * subscription; the caller frees it. */
struct proccache *other_cache(void);
/* other_cache() and a sensor of @backend (enum proccache_backend) with
 * default options: proccache__sensor_start()'s return in *@ret_err. */
struct proccache *other_started(uint32_t backend, int *ret_err);
/* new_cache() and a sensor started with @opts, which must be @backend. */
void start_sensor(const struct proccache_sensor_opts *opts, const char *backend);
/* start_sensor() on a cache made with @cache_opts (see new_cache_with()). */
void start_sensor_with(const struct proccache_opts *cache_opts,
		       const struct proccache_sensor_opts *opts, const char *backend);
void harness_fini(void);

/* ---- processes ----------------------------------------------------------- */

/* Fork and exec @path with stdout on /dev/null, stdin on @in_fd (unless
 * negative), in @cwd (unless NULL). */
pid_t spawn_full(const char *cwd, int in_fd, const char *path, char *const argv[]);
pid_t spawn(const char *path, char *const argv[]);
/* spawn_full() with the environment @envp. */
pid_t spawn_env(const char *cwd, int in_fd, const char *path,
		char *const argv[], char *const envp[]);
/* waitpid() status of @pid. */
int reap(pid_t pid);
struct proccache_key self_key(void);
bool key_eq(struct proccache_key a, struct proccache_key b);
/* The cached entry of @k, which must exist, with a reference. */
struct proccache_process *lookup(struct proccache_key k);
/* Raw args of @argv as the kernel lays them out. */
size_t join_args(char *const argv[], char *buf, size_t len);
bool args_eq(const struct proccache_process *p, const char *want, size_t want_len);
/* A child kept alive on a pipe: "sh -c 'read x' @tag", returned once it
 * runs sh. release() lets it end and reaps it. */
pid_t held_sh(const char *tag, int *ret_go);
void release(pid_t pid, int go);
/* The one exec (exit) of @pid since @from, which must come. */
struct seen the_exec(pid_t pid, size_t from);
struct seen exit_of(pid_t pid, size_t from);
/* Spawn @argv, wait for it and its exit event; return its exec. */
struct seen run(char *const argv[], int want_status);

/* ---- the BPF sensor's exec map -------------------------------------------- */

/* The map's entry of @pid, which must exist. */
struct pc_exec_value map_entry(pid_t pid);
struct proccache_key map_key(struct pc_key k);

#endif
