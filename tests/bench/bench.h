/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the benchmarks share: the two designs behind one interface, the
 * fork/exec/exit churn workload, timing and the table printer.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <proccache/proccache.h>

#define BENCH_NODE "bench-node"
/* Room for any exec ID of this node with the workload's numbers. */
#define BENCH_ID_LEN 48

/* ------------------------------------------------------------------------ */
/* A design: the cache, or the rwlock table baseline                         */
/* ------------------------------------------------------------------------ */

struct design {
	const char *name;
	void *(*create)(uint32_t max_entries, uint64_t grace_ns);
	void (*destroy)(void *d);
	int (*ingest)(void *d, const struct proccache_event *ev);
	void *(*lookup)(void *d, const struct proccache_key *key);
	void *(*lookup_exec_id)(void *d, const char *exec_id);
	int (*ancestors)(void *d, const struct proccache_key *key, void **ret,
			 size_t max);
	const char *(*binary)(const void *rec);
	void (*unref)(void *rec);
};

extern const struct design design_proccache;
extern const struct design design_rwlock;        /* glibc default: readers first */
extern const struct design design_rwlock_writer; /* writer-preferring */
/* The rwlock table read with no lock and no reference: what parsing, the
 * table walk and the memory cost by themselves. Correct only while nothing
 * writes; bench_lookup runs it without a writer. */
extern const struct design design_floor;
/* The floor inside a ck_epoch section, then with a counted reference too:
 * the cost of the mechanisms the cache must use. No writer either. */
extern const struct design design_floor_epoch;
extern const struct design design_floor_epoch_ref;

/* ------------------------------------------------------------------------ */
/* Workload: FIFO churn over a working set of live, exec'd processes         */
/* ------------------------------------------------------------------------ */

/*
 * Process i is cloned (key pid_of(i), clone_ktime(i)) from a recent live
 * process (one in eight from init), then execs (exec_key(i)); it exits
 * when process i + ws is created. So ws processes are live at any time,
 * parents are pinned only while their children are cached, and pids are
 * reused (2 * ws of them).
 */
struct workload {
	uint32_t ws;
	uint64_t next; /* next process to create */
};

struct proccache_key wl_exec_key(const struct workload *wl, uint64_t i);
struct proccache_key wl_init_key(void);
/* Create init and the first ws processes. */
int wl_prefill(struct workload *wl, const struct design *ds, void *d);
/* When set, execs carry the process context (comm, pgid, sid, tty): every
 * 8th process (a child of init) leads a session on a tty of its own, the
 * others are in their parent's session. Off by default. */
extern bool wl_context;
/* One cycle: the oldest live process exits, a new one forks and execs. */
int wl_cycle(struct workload *wl, const struct design *ds, void *d);
#define WL_EVENTS_PER_CYCLE 3

/* Exec IDs of processes [0, n), BENCH_ID_LEN bytes each. */
char *wl_exec_ids(const struct workload *wl, uint64_t n);

/* One exec of a fresh process with short strings (memory benchmark). */
void wl_exec_event(struct proccache_event *ev, uint32_t pid, uint64_t ktime,
		   struct proccache_key parent);
/* Bytes of strings wl_exec_event() passes (binary, args, cwd, cid). */
size_t wl_exec_string_bytes(void);

/* ------------------------------------------------------------------------ */
/* Measuring and printing                                                    */
/* ------------------------------------------------------------------------ */

uint64_t bench_now_ns(void);
uint64_t bench_thread_cpu_ns(void);
uint64_t bench_rand(uint64_t *state);
/* A random number in [0, n), without a division. */
static inline uint64_t bench_rand_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)bench_rand(state) * n) >> 64);
}
double bench_median(double *v, size_t n);
/* Positive numbers from the environment, or the fallback. */
double bench_env(const char *name, double fallback);
const char *bench_verdict(bool met);
/* "YYYY-MM-DD, N cores, <cpu model>" */
void bench_print_machine(void);

#endif
