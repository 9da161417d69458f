/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stress: one writer ingests millions of synthetic events (fork/exec/exit
 * churn over deep trees, pid reuse, re-exec, clones that never exec,
 * duplicates, lost exits, a small cap, a short grace on a test clock, and
 * events delivered out of order within a small window: an exit before its
 * exec or clone, an exec after its exit, a child before its parent, a clone
 * after the child's exec) while reader threads query the cache through the
 * public API
 * and hold references across many writer events, and subscribers on the
 * writer side query the cache from their callbacks and come and go.
 *
 * How it tells right from wrong without sharing state with the library:
 *  - every image's content (binary, args, cwd, creds, caps, namespaces...) is
 *    a function of the exec key that created it, and that key is written in
 *    its args, so any thread can check a snapshot on its own: a torn or freed
 *    one does not pass;
 *  - the writer publishes, per pid, the key of the cache's live entry
 *    (cleared before it ingests an event of that pid, set after): a reader
 *    that sees the same value before and after a lookup knows the entry was
 *    live the whole time, and the lookup must succeed;
 *  - a node's parent changes at most once, from none to the parent it
 *    names (a parent that arrives after its child adopts it), so its
 *    ancestor chain only grows, and only past a link whose snapshot said
 *    "parent unknown": the first ancestor is the entry's parent key, each
 *    link matches, and otherwise the FULL length is the same on every call;
 *  - a held reference is re-checked against a digest taken when it was
 *    obtained, until it is released many events later;
 *  - the writer's model predicts each ingest's return (applied, duplicate,
 *    held, ignored) and what the out-of-order cases leave in the cache;
 *  - at the end every process exits, the clock passes the hold and the
 *    grace, and the stats must show an empty cache, no held exit, and
 *    counters that match what was sent.
 *
 * Event ktimes and the test clock are one time domain, as CLOCK_BOOTTIME is
 * for a real sensor: each new image gets a ktime after the clock's now (so
 * after every exit already sent), and the clock jumps to it; images are a
 * /proc tick apart, so process start times compare as the library does.
 *
 * Environment: PROCCACHE_STRESS_EVENTS (default 2000000), PROCCACHE_STRESS_SEED.
 * Exits 1 on any violation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <proccache/proccache.h>

#define NODE_NAME "stress-node"
#define PID_SPACE 4096u           /* pids 1..PID_SPACE-1 */
#define MAX_ENTRIES 2048u         /* small: the cap and eviction paths run */
#define USER_HZ 100               /* /proc ticks per second (sysconf) */
#define KSTEP (1000000000ull / USER_HZ) /* ktime per image index: a tick */
#define KT0 1000000000ull         /* ktime of image index 0 */
#define TICK_NS (100 * KSTEP)     /* test clock per event, normal phases */
#define GRACE_NS (50 * TICK_NS)   /* ~50 events (thousands in phase 4) */
#define HOLD_NS (10 * TICK_NS)    /* exits held ~10 events for their exec */
#define MAX_DEPTH 64
#define MAX_REEXEC 3
#define N_READERS 3
#define HOLD_SLOTS 32
#define RING 4096u
#define CHAIN_MAX 1024
#define STOP_EVERY 9973u          /* the stopper subscriber's period */
#define STOP_RET (-EPROTO)
#define DYN_MAX 4
#define DEFAULT_EVENTS 2000000ull
#define PHASE_LEN 10000u
#define NORMAL_LIVE 100u
#define BURST_LIVE 2300u          /* more live processes than the cap */

#define IMAGE_FLAGS                                                            \
	(PROCCACHE_F_ARGS_TRUNCATED | PROCCACHE_F_SETUID | PROCCACHE_F_UNLINKED)

/* ------------------------------------------------------------------------ */
/* Shared state                                                              */
/* ------------------------------------------------------------------------ */

static struct proccache *pc;
static _Atomic uint64_t fake_now = KT0;
static _Atomic uint64_t events_sent;  /* sequence number of the last event */
static _Atomic uint64_t events_done;  /* the last event whose ingest returned */
static _Atomic bool writer_done;
static _Atomic uint64_t live_slot[PID_SPACE]; /* packed key of pid's live entry */
static _Atomic uint64_t ring[RING];           /* recently inserted keys */
static _Atomic uint64_t violations;

/* Totals over every thread: lookups the library must have counted. */
static _Atomic uint64_t total_lookups, total_misses;
/* Evidence that the checks ran. */
static _Atomic uint64_t n_stable_checks, n_chains, n_held_verified,
	n_iterations, n_reader_threads, n_snapshots_checked, max_chain;

static void fail_at(int line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_at(int line, const char *fmt, ...)
{
	uint64_t n = atomic_fetch_add(&violations, 1);
	char msg[512];
	va_list ap;

	if (n >= 30)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "VIOLATION (line %d, event %" PRIu64 "): %s\n", line,
		atomic_load(&events_sent), msg);
}

#define fail(...) fail_at(__LINE__, __VA_ARGS__)
#define check(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(__VA_ARGS__);                                     \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Random numbers, keys                                                      */
/* ------------------------------------------------------------------------ */

struct rng {
	uint64_t s;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t rnd(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return mix(r->s);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rnd(r) >> 32) * n) >> 32);
}

/* True with probability per_mille / 1000. */
static bool chance(struct rng *r, uint32_t per_mille)
{
	return below(r, 1000) < per_mille;
}

static struct proccache_key key_of(uint32_t pid, uint64_t idx)
{
	return (struct proccache_key){ .ktime = KT0 + idx * KSTEP, .pid = pid };
}

static bool idx_of(uint64_t ktime, uint64_t *ret)
{
	if (ktime < KT0 || (ktime - KT0) % KSTEP)
		return false;
	*ret = (ktime - KT0) / KSTEP;
	return true;
}

static uint64_t pack(uint32_t pid, uint64_t idx)
{
	return idx << 22 | pid;
}

static uint32_t packed_pid(uint64_t v)
{
	return (uint32_t)(v & ((1u << 22) - 1));
}

static uint64_t packed_idx(uint64_t v)
{
	return v >> 22;
}

static struct proccache_key unpack(uint64_t v)
{
	return key_of(packed_pid(v), packed_idx(v));
}

static bool key_eq(struct proccache_key a, struct proccache_key b)
{
	return a.pid == b.pid && a.ktime == b.ktime && a.pad == b.pad;
}

static bool key_zero(struct proccache_key k)
{
	return k.pid == 0 && k.ktime == 0;
}

/* ------------------------------------------------------------------------ */
/* Image content: a function of the key of the exec that made the image      */
/* ------------------------------------------------------------------------ */

struct image {
	char binary[32];
	char args[96];
	size_t args_len;
	char cwd[32];
	char cid[40];
	char decoded[160];
	struct proccache_creds creds;
	struct proccache_caps caps;
	struct proccache_ns ns;
	uint64_t cgroup_id, inode;
	uint32_t nlink, flags;
};

static uint32_t nspid_of(uint32_t pid)
{
	return pid + 100000u;
}

/* Exit status: a function of the process (the index of its start), since
 * an exit may reach the cache before or after the exec of the image it
 * ends. */
static int exit_code_of(uint64_t start_idx)
{
	return (int)(start_idx % 200);
}

static int exit_signal_of(uint64_t start_idx)
{
	return start_idx % 7 == 3 ? 9 : 0;
}

/* LoongCollector's DecodeArgs quoting, for the few shapes used here. */
static void decode_append(char *out, size_t len, const char *arg, bool first)
{
	size_t o = strlen(out);
	bool quote = strpbrk(arg, " \t\n") != NULL;

	if (!first)
		out[o++] = ' ';
	if (quote)
		out[o++] = '"';
	for (const char *c = arg; *c && o + 4 < len; c++) {
		if (quote && (*c == '"' || *c == '\\')) {
			out[o++] = '\\';
			out[o++] = *c;
		} else if (quote && *c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (quote && *c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *c;
		}
	}
	if (quote)
		out[o++] = '"';
	out[o] = '\0';
}

static void image_of(uint64_t idx, uint32_t pid, struct image *im)
{
	char prog[16], num_idx[24], num_pid[16];
	const char *argv[6];
	size_t argc = 0, off = 0;
	uint32_t uid = (uint32_t)(idx % 60000);
	uint32_t nsbase = 4026531835u + (uint32_t)(idx % 1000);

	memset(im, 0, sizeof(*im));
	snprintf(im->binary, sizeof(im->binary), "/usr/bin/prog%u",
		 (unsigned int)(idx % 37));
	snprintf(prog, sizeof(prog), "prog%u", (unsigned int)(idx % 37));
	snprintf(num_idx, sizeof(num_idx), "%" PRIu64, idx);
	snprintf(num_pid, sizeof(num_pid), "%" PRIu32, pid);
	argv[argc++] = prog;
	argv[argc++] = "--img";
	argv[argc++] = num_idx;
	argv[argc++] = num_pid;
	if (idx % 5 == 0)
		argv[argc++] = "two words";
	if (idx % 7 == 0)
		argv[argc++] = "tab\there";
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(im->args + off, argv[i], n);
		off += n;
		decode_append(im->decoded, sizeof(im->decoded), argv[i], i == 0);
	}
	im->args_len = off;
	if (idx % 11)
		snprintf(im->cwd, sizeof(im->cwd), "/srv/w%u",
			 (unsigned int)(idx % 13));
	if (idx % 3)
		snprintf(im->cid, sizeof(im->cid), "c0ffee%012" PRIx64,
			 (uint64_t)(mix(idx) & 0xffffffffffffull));
	im->creds = (struct proccache_creds){
		.uid = uid, .gid = uid + 1, .euid = uid + 2, .egid = uid + 3,
		.suid = uid + 4, .sgid = uid + 5, .fsuid = uid + 6,
		.fsgid = uid + 7, .auid = idx % 4 ? uid + 8 : UINT32_MAX,
	};
	im->caps.permitted = mix(idx ^ 0xc0ffee);
	im->caps.effective = im->caps.permitted & 0x3fffffffffull;
	im->caps.inheritable = idx & 1 ? 0 : 1ull << 21;
	im->ns = (struct proccache_ns){
		.uts = nsbase, .ipc = nsbase + 1, .mnt = nsbase + 2,
		.pid = nsbase + 3, .pid_for_children = nsbase + 4,
		.net = nsbase + 5, .time = nsbase + 6,
		.time_for_children = nsbase + 7, .cgroup = nsbase + 8,
		.user = nsbase + 9,
	};
	im->cgroup_id = idx * 3 + 1;
	im->inode = mix(idx) | 1;
	im->nlink = 1 + (uint32_t)(idx % 2);
	im->flags = (idx % 17 == 0 ? PROCCACHE_F_ARGS_TRUNCATED : 0) |
		    (idx % 19 == 0 ? PROCCACHE_F_SETUID : 0) |
		    (idx % 23 == 0 ? PROCCACHE_F_UNLINKED : 0);
}

/* The image key written in args: argv[2] is its index, argv[3] its pid. */
static bool image_key_in_args(const char *args, size_t len, uint64_t *ret_idx,
			      uint32_t *ret_pid)
{
	const char *tok[4];
	size_t n = 0, start = 0;
	char *end;
	unsigned long long v, p;

	for (size_t i = 0; i < len && n < 4; i++) {
		if (args[i] == '\0') {
			tok[n++] = args + start;
			start = i + 1;
		}
	}
	if (n < 4 || strcmp(tok[1], "--img") != 0)
		return false;
	errno = 0;
	v = strtoull(tok[2], &end, 10);
	if (errno || *end)
		return false;
	p = strtoull(tok[3], &end, 10);
	if (errno || *end || p == 0 || p >= PID_SPACE)
		return false;
	*ret_idx = v;
	*ret_pid = (uint32_t)p;
	return true;
}

/* ------------------------------------------------------------------------ */
/* Snapshot checks, any thread                                               */
/* ------------------------------------------------------------------------ */

static bool check_image(const struct proccache_process *p, uint64_t *ret_iidx,
			uint32_t *ret_ipid)
{
	static const enum proccache_cred creds[] = {
		PROCCACHE_CRED_UID,   PROCCACHE_CRED_GID,   PROCCACHE_CRED_EUID,
		PROCCACHE_CRED_EGID,  PROCCACHE_CRED_SUID,  PROCCACHE_CRED_SGID,
		PROCCACHE_CRED_FSUID, PROCCACHE_CRED_FSGID, PROCCACHE_CRED_AUID,
	};
	struct image im;
	const char *args;
	size_t len = 0;
	uint32_t ipid, want_cred[9];
	uint64_t iidx;
	bool ok = true;

	args = proccache_process__args(p, &len);
	if (!args || !image_key_in_args(args, len, &iidx, &ipid)) {
		fail("snapshot args carry no image key (len %zu)", len);
		return false;
	}
	image_of(iidx, ipid, &im);
	ok &= len == im.args_len && memcmp(args, im.args, len) == 0;
	ok &= strcmp(proccache_process__binary(p), im.binary) == 0;
	ok &= strcmp(proccache_process__cwd(p), im.cwd) == 0;
	ok &= strcmp(proccache_process__container_id(p), im.cid) == 0;
	memcpy(want_cred, &im.creds, sizeof(want_cred));
	for (size_t i = 0; i < 9; i++)
		ok &= proccache_process__cred(p, creds[i]) == want_cred[i];
	ok &= proccache_process__caps(p, PROCCACHE_CAP_PERMITTED) ==
	      im.caps.permitted;
	ok &= proccache_process__caps(p, PROCCACHE_CAP_EFFECTIVE) ==
	      im.caps.effective;
	ok &= proccache_process__caps(p, PROCCACHE_CAP_INHERITABLE) ==
	      im.caps.inheritable;
	ok &= proccache_process__ns(p, PROCCACHE_NS_UTS) == im.ns.uts;
	ok &= proccache_process__ns(p, PROCCACHE_NS_MNT) == im.ns.mnt;
	ok &= proccache_process__ns(p, PROCCACHE_NS_PID) == im.ns.pid;
	ok &= proccache_process__ns(p, PROCCACHE_NS_NET) == im.ns.net;
	ok &= proccache_process__ns(p, PROCCACHE_NS_USER) == im.ns.user;
	ok &= proccache_process__ns(p, PROCCACHE_NS_CGROUP) == im.ns.cgroup;
	ok &= proccache_process__cgroup_id(p) == im.cgroup_id;
	ok &= proccache_process__binary_inode(p) == im.inode;
	ok &= proccache_process__binary_nlink(p) == im.nlink;
	ok &= (proccache_process__flags(p) & IMAGE_FLAGS) == im.flags;
	if (!ok) {
		fail("image of %u:%" PRIu64 " does not match its key", ipid,
		     iidx);
		return false;
	}
	if ((iidx ^ ipid) % 8 == 0) { /* the decoder is slow-ish: a sample */
		char out[200];
		int n = proccache_args_decode(args, len, 0, out, sizeof(out));

		if (n != (int)strlen(im.decoded) || strcmp(out, im.decoded)) {
			fail("args_decode gave \"%s\" (%d), want \"%s\"", out,
			     n, im.decoded);
			return false;
		}
	}
	*ret_iidx = iidx;
	*ret_ipid = ipid;
	return true;
}

static bool check_ids(const struct proccache_process *p,
		      struct proccache_key k, struct proccache_key pk)
{
	char want[PROCCACHE_EXEC_ID_MAX], got[PROCCACHE_EXEC_ID_MAX];
	int n, m;

	n = proccache_exec_id_format(NODE_NAME, &k, want, sizeof(want));
	m = proccache_process__exec_id(p, got, sizeof(got));
	if (n <= 0 || m != n || strcmp(want, got)) {
		fail("exec id %d/%d \"%s\" want \"%s\"", m, n, got, want);
		return false;
	}
	m = proccache_process__parent_exec_id(p, got, sizeof(got));
	if (key_zero(pk)) {
		if (m != -ENOENT) {
			fail("parent exec id of a root: %d", m);
			return false;
		}
		return true;
	}
	n = proccache_exec_id_format(NODE_NAME, &pk, want, sizeof(want));
	if (n <= 0 || m != n || strcmp(want, got)) {
		fail("parent exec id %d \"%s\" want \"%s\"", m, got, want);
		return false;
	}
	return true;
}

/* Everything a snapshot says must agree with its key. */
static bool check_snapshot(const struct proccache_process *p)
{
	struct proccache_key k = proccache_process__key(p);
	struct proccache_key pk = proccache_process__parent_key(p);
	enum proccache_state st = proccache_process__state(p);
	uint32_t flags = proccache_process__flags(p), ipid;
	uint64_t idx, iidx, pidx, sidx, start = proccache_process__start_time(p);
	bool clone = flags & PROCCACHE_F_CLONE;

	atomic_fetch_add_explicit(&n_snapshots_checked, 1,
				  memory_order_relaxed);
	if (k.pad || k.pid == 0 || k.pid >= PID_SPACE || !idx_of(k.ktime, &idx)) {
		fail("bad key %u:%" PRIu64, k.pid, k.ktime);
		return false;
	}
	if (proccache_process__pid(p) != k.pid ||
	    proccache_process__ktime(p) != k.ktime ||
	    proccache_process__tid(p) != k.pid ||
	    proccache_process__nspid(p) != nspid_of(k.pid)) {
		fail("pid/tid/nspid/ktime of %u:%" PRIu64 " disagree", k.pid,
		     idx);
		return false;
	}
	if (st != PROCCACHE_STATE_LIVE && st != PROCCACHE_STATE_RETIRED &&
	    st != PROCCACHE_STATE_EXITED) {
		fail("state %d", (int)st);
		return false;
	}
	if (clone == !!(flags & PROCCACHE_F_EXECVE) ||
	    (flags & PROCCACHE_F_PROCFS)) {
		fail("flags %#x of %u:%" PRIu64, flags, k.pid, idx);
		return false;
	}
	if (!check_image(p, &iidx, &ipid))
		return false;
	if (clone ? iidx > idx : iidx != idx || ipid != k.pid) {
		fail("%s %u:%" PRIu64 " has image %u:%" PRIu64,
		     clone ? "clone" : "exec", k.pid, idx, ipid, iidx);
		return false;
	}
	/* A parent named by pid alone, not cached, keeps ktime 0; one that
	 * arrived after its child may be an image newer than the child (it
	 * started earlier: check_chain() compares the starts). */
	if (!key_zero(pk) &&
	    (pk.pad || pk.pid == 0 || pk.pid >= PID_SPACE ||
	     (pk.ktime ? !idx_of(pk.ktime, &pidx)
		       : !(flags & PROCCACHE_F_PARENT_UNKNOWN)))) {
		fail("parent key %u:%" PRIu64 " of %u:%" PRIu64, pk.pid,
		     pk.ktime, k.pid, idx);
		return false;
	}
	if (start == 0 || start > k.ktime || !idx_of(start, &sidx)) {
		fail("start time %" PRIu64 " of %u:%" PRIu64, start, k.pid, idx);
		return false;
	}
	if (st == PROCCACHE_STATE_EXITED) {
		if (!proccache_process__exit_time(p)) {
			fail("exited without exit time");
			return false;
		}
		if (!(flags & PROCCACHE_F_EXIT_INFERRED) &&
		    (proccache_process__exit_code(p) != exit_code_of(sidx) ||
		     proccache_process__exit_signal(p) != exit_signal_of(sidx))) {
			fail("exit %d/%d of %u:%" PRIu64 ", want %d/%d",
			     proccache_process__exit_code(p),
			     proccache_process__exit_signal(p), k.pid, idx,
			     exit_code_of(sidx), exit_signal_of(sidx));
			return false;
		}
	} else if (proccache_process__exit_time(p) ||
		   proccache_process__exit_code(p) ||
		   proccache_process__exit_signal(p) ||
		   (flags & PROCCACHE_F_EXIT_INFERRED)) {
		fail("exit fields on a %s snapshot",
		     st == PROCCACHE_STATE_LIVE ? "live" : "retired");
		return false;
	}
	return check_ids(p, k, pk);
}

/* What must not change in a snapshot while a reference is held. */
struct digest {
	struct proccache_key key, parent;
	const char *binary, *args, *cwd, *cid;
	size_t args_len;
	uint64_t start_time, exit_time, hash;
	uint32_t flags, state;
	int32_t exit_code, exit_signal;
};

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void digest_of(const struct proccache_process *p, struct digest *d)
{
	uint64_t h = 0xcbf29ce484222325ull, v;

	memset(d, 0, sizeof(*d));
	d->key = proccache_process__key(p);
	d->parent = proccache_process__parent_key(p);
	d->binary = proccache_process__binary(p);
	d->args = proccache_process__args(p, &d->args_len);
	d->cwd = proccache_process__cwd(p);
	d->cid = proccache_process__container_id(p);
	d->start_time = proccache_process__start_time(p);
	d->exit_time = proccache_process__exit_time(p);
	d->flags = proccache_process__flags(p);
	d->state = (uint32_t)proccache_process__state(p);
	d->exit_code = proccache_process__exit_code(p);
	d->exit_signal = proccache_process__exit_signal(p);
	h = fnv(h, d->binary, strlen(d->binary));
	h = fnv(h, d->args, d->args_len);
	h = fnv(h, d->cwd, strlen(d->cwd));
	h = fnv(h, d->cid, strlen(d->cid));
	v = proccache_process__cred(p, PROCCACHE_CRED_EUID);
	h = fnv(h, &v, sizeof(v));
	v = proccache_process__caps(p, PROCCACHE_CAP_PERMITTED);
	h = fnv(h, &v, sizeof(v));
	v = proccache_process__ns(p, PROCCACHE_NS_NET);
	h = fnv(h, &v, sizeof(v));
	d->hash = h;
}

/* ------------------------------------------------------------------------ */
/* Counted queries: the library's lookup counters must match these          */
/* ------------------------------------------------------------------------ */

struct tally {
	uint64_t lookups, misses;
};

static void tally_flush(struct tally *t)
{
	atomic_fetch_add(&total_lookups, t->lookups);
	atomic_fetch_add(&total_misses, t->misses);
	t->lookups = t->misses = 0;
}

static struct proccache_process *found(struct tally *t,
				       struct proccache_process *p,
				       const char *what)
{
	t->lookups++;
	if (!p) {
		t->misses++;
		check(errno == ENOENT, "%s: errno %d", what, errno);
	}
	return p;
}

static struct proccache_process *t_lookup(struct tally *t,
					  struct proccache_key k)
{
	return found(t, proccache__lookup(pc, &k), "lookup");
}

static struct proccache_process *t_lookup_pid(struct tally *t, uint32_t pid)
{
	return found(t, proccache__lookup_pid(pc, pid), "lookup_pid");
}

static struct proccache_process *t_lookup_exec_id(struct tally *t,
						  struct proccache_key k)
{
	char id[PROCCACHE_EXEC_ID_MAX];

	if (proccache_exec_id_format(NODE_NAME, &k, id, sizeof(id)) <= 0) {
		fail("exec_id_format");
		return NULL;
	}
	return found(t, proccache__lookup_exec_id(pc, id), "lookup_exec_id");
}

static int t_ancestors(struct tally *t, struct proccache_key k,
		       struct proccache_process **ret, size_t max,
		       unsigned int flags)
{
	int n = proccache__ancestors(pc, &k, ret, max, flags);

	t->lookups++;
	if (n == -ENOENT)
		t->misses++;
	else
		check(n >= 0 || n == -ENOSPC, "ancestors: %d", n);
	return n;
}

static void unref_all(struct proccache_process **v, int n)
{
	for (int i = 0; i < n; i++)
		proccache_process__unref(v[i]);
}

/*
 * Did a parent named @pk (by key, by start, or by pid alone) arrive as @p?
 * Its child's snapshot may predate the adoption and still say "unknown".
 */
static bool adopted_as(const struct proccache_process *p,
		       struct proccache_key pk)
{
	struct proccache_key got = proccache_process__key(p);

	return got.pid == pk.pid &&
	       (!pk.ktime ||
		proccache_process__start_time(p) / KSTEP == pk.ktime / KSTEP);
}

/*
 * The chain of @k, nearest first: its first link is @pk and each next one
 * is the parent key of the previous (or, where that snapshot said "parent
 * unknown" (@unknown for @k's), the parent it named, adopted since).
 */
static bool check_chain(struct proccache_process **v, int n,
			struct proccache_key pk, bool unknown)
{
	for (int i = 0; i < n; i++) {
		struct proccache_key got = proccache_process__key(v[i]);

		if (!key_eq(got, pk) && !(unknown && adopted_as(v[i], pk))) {
			fail("ancestor %d is %u:%" PRIu64 ", parent key says "
			     "%u:%" PRIu64, i, got.pid, got.ktime, pk.pid,
			     pk.ktime);
			return false;
		}
		if (!check_snapshot(v[i]))
			return false;
		if (i && proccache_process__start_time(v[i]) >
				 proccache_process__start_time(v[i - 1])) {
			fail("ancestor %d %u:%" PRIu64 " started after its "
			     "child %u:%" PRIu64, i, got.pid, got.ktime,
			     proccache_process__pid(v[i - 1]),
			     proccache_process__ktime(v[i - 1]));
			return false;
		}
		pk = proccache_process__parent_key(v[i]);
		unknown = proccache_process__flags(v[i]) &
			  PROCCACHE_F_PARENT_UNKNOWN;
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Readers                                                                   */
/* ------------------------------------------------------------------------ */

struct held {
	struct proccache_process *p;
	struct digest d;
	uint64_t release_at;
};

struct reader {
	pthread_t thread;
	_Atomic bool finished;
	uint64_t quota, ops;
	struct rng rng;
	struct tally tally;
	struct held held[HOLD_SLOTS];
	unsigned int held_next;
	struct proccache_stats last;
	struct proccache_process *chain[CHAIN_MAX];
};

static void hold(struct reader *r, struct proccache_process *p)
{
	struct held *h = &r->held[below(&r->rng, HOLD_SLOTS)];

	if (h->p)
		return;
	h->p = proccache_process__ref(p);
	digest_of(p, &h->d);
	/* Long enough for the entry to be retired, reclaimed or evicted. */
	h->release_at = atomic_load(&events_sent) + 2000 +
			below(&r->rng, 60000);
}

static void held_verify(struct held *h)
{
	struct digest now;

	digest_of(h->p, &now);
	if (memcmp(&now, &h->d, sizeof(now)) != 0)
		fail("held snapshot %u:%" PRIu64 " changed (state %u -> %u, "
		     "exit %d -> %d)", h->d.key.pid, h->d.key.ktime,
		     h->d.state, now.state, h->d.exit_code, now.exit_code);
	check_snapshot(h->p);
	atomic_fetch_add_explicit(&n_held_verified, 1, memory_order_relaxed);
}

static void held_step(struct reader *r)
{
	struct held *h = &r->held[r->held_next++ % HOLD_SLOTS];

	if (!h->p)
		return;
	held_verify(h);
	if (atomic_load(&events_sent) >= h->release_at) {
		proccache_process__unref(h->p);
		h->p = NULL;
	}
}

static void held_release_all(struct reader *r)
{
	for (unsigned int i = 0; i < HOLD_SLOTS; i++) {
		if (!r->held[i].p)
			continue;
		held_verify(&r->held[i]);
		proccache_process__unref(r->held[i].p);
		r->held[i].p = NULL;
	}
}

/* A found snapshot: it is the one asked for and is consistent. */
static void inspect(struct reader *r, struct proccache_process *p,
		    struct proccache_key want)
{
	struct proccache_key got = proccache_process__key(p);

	check(key_eq(got, want), "asked %u:%" PRIu64 ", got %u:%" PRIu64,
	      want.pid, want.ktime, got.pid, got.ktime);
	check_snapshot(p);
	if (below(&r->rng, 8) == 0)
		hold(r, p);
}

/*
 * Look up a key the writer says is live; if it still says so afterwards,
 * the entry was live (and cached) all along: it must be found, live.
 */
/* A pid that is likely live: one of a recently inserted key, or any. */
static uint32_t pick_pid(struct reader *r)
{
	uint64_t v = atomic_load_explicit(&ring[below(&r->rng, RING)],
					  memory_order_relaxed);

	if (v && below(&r->rng, 4))
		return packed_pid(v);
	return 1 + below(&r->rng, PID_SPACE - 1);
}

static void op_live_key(struct reader *r, bool by_exec_id)
{
	uint32_t pid = pick_pid(r);
	uint64_t v1 = atomic_load(&live_slot[pid]), v2;
	struct proccache_process *p;
	struct proccache_key k;

	if (!v1)
		return;
	k = unpack(v1);
	p = by_exec_id ? t_lookup_exec_id(&r->tally, k)
		       : t_lookup(&r->tally, k);
	v2 = atomic_load(&live_slot[pid]);
	if (v1 == v2) {
		atomic_fetch_add_explicit(&n_stable_checks, 1,
					  memory_order_relaxed);
		check(p, "live key %u:%" PRIu64 " not found", k.pid, k.ktime);
		if (p)
			check(proccache_process__state(p) ==
				      PROCCACHE_STATE_LIVE,
			      "live key %u:%" PRIu64 " has state %d", k.pid,
			      k.ktime, (int)proccache_process__state(p));
	}
	if (p) {
		inspect(r, p, k);
		proccache_process__unref(p);
	}
}

static void op_pid(struct reader *r)
{
	uint32_t pid = pick_pid(r);
	uint64_t v1 = atomic_load(&live_slot[pid]), v2;
	struct proccache_process *p = t_lookup_pid(&r->tally, pid);

	v2 = atomic_load(&live_slot[pid]);
	if (v1 && v1 == v2) {
		atomic_fetch_add_explicit(&n_stable_checks, 1,
					  memory_order_relaxed);
		check(p, "pid %u live as %" PRIu64 " not found", pid,
		      packed_idx(v1));
		if (p) {
			check(key_eq(proccache_process__key(p), unpack(v1)) &&
				      proccache_process__state(p) ==
					      PROCCACHE_STATE_LIVE,
			      "pid %u: got %" PRIu64 " state %d, want live %" PRIu64,
			      pid, proccache_process__ktime(p),
			      (int)proccache_process__state(p), packed_idx(v1));
		}
	}
	if (p) {
		check(proccache_process__pid(p) == pid, "lookup_pid(%u) gave %u",
		      pid, proccache_process__pid(p));
		check_snapshot(p);
		if (below(&r->rng, 8) == 0)
			hold(r, p);
		proccache_process__unref(p);
	}
}

/* A recently inserted key: may be live, retired, exited or gone. */
static void op_ring(struct reader *r, bool by_exec_id)
{
	uint64_t v = atomic_load_explicit(&ring[below(&r->rng, RING)],
					  memory_order_relaxed);
	struct proccache_process *p;
	struct proccache_key k;

	if (!v)
		return;
	k = unpack(v);
	p = by_exec_id ? t_lookup_exec_id(&r->tally, k)
		       : t_lookup(&r->tally, k);
	if (p) {
		inspect(r, p, k);
		proccache_process__unref(p);
	}
}

static uint64_t pick_key(struct reader *r, uint32_t *ret_pid)
{
	uint32_t pid = pick_pid(r);
	uint64_t v = atomic_load(&live_slot[pid]);

	*ret_pid = pid;
	if (!v || below(&r->rng, 4) == 0)
		v = atomic_load_explicit(&ring[below(&r->rng, RING)],
					 memory_order_relaxed);
	return v;
}

static void note_chain(int n)
{
	uint64_t m = atomic_load_explicit(&max_chain, memory_order_relaxed);

	while ((uint64_t)n > m &&
	       !atomic_compare_exchange_weak(&max_chain, &m, (uint64_t)n))
		;
	atomic_fetch_add_explicit(&n_chains, 1, memory_order_relaxed);
}

/*
 * Ancestors of a cached entry: the chain starts at its parent key, links
 * match, and since a node's parent changes at most once, from none to the
 * parent it named (adoption), the chain's length is the same on every call
 * for as long as the entry is cached, except that it may grow past a link
 * whose snapshot said "parent unknown" while an ingest runs.
 */
static void op_ancestors(struct reader *r)
{
	struct proccache_process *p, *small[8], *sentinel = (void *)&r->rng;
	struct proccache_key k, pk;
	uint32_t pid;
	uint64_t v = pick_key(r, &pid), done0;
	bool unknown, open;
	int len, n, m;

	if (!v)
		return;
	k = unpack(v);
	done0 = atomic_load(&events_done);
	p = t_lookup(&r->tally, k);
	if (!p)
		return;
	pk = proccache_process__parent_key(p);
	unknown = proccache_process__flags(p) & PROCCACHE_F_PARENT_UNKNOWN;
	proccache_process__unref(p);

	n = t_ancestors(&r->tally, k, small, 8, 0);
	if (n == -ENOENT)
		return;
	check(n >= 0 && n <= 8, "ancestors(max 8) = %d", n);
	if (n < 0)
		return;
	check_chain(small, n, pk, unknown);
	/* An uncut chain ends at a root, or where the parent is not cached
	 * yet (it may still be adopted: the chain may grow there). */
	open = n < 8 && (n ? proccache_process__flags(small[n - 1]) &
				     PROCCACHE_F_PARENT_UNKNOWN
			   : unknown);
	if (n < 8 && !open) {
		struct proccache_key end =
			n ? proccache_process__parent_key(small[n - 1]) : pk;

		check(key_zero(end), "chain of %u:%" PRIu64 " ends at %d "
		      "with a known parent %u:%" PRIu64, k.pid, k.ktime, n,
		      end.pid, end.ktime);
	}
	if (below(&r->rng, 2)) {
		unref_all(small, n);
		note_chain(n);
		return;
	}

	len = t_ancestors(&r->tally, k, NULL, 0, PROCCACHE_ANCESTORS_FULL);
	if (len == -ENOENT)
		goto out;
	check(len >= n && (n == 8 || len == n || open),
	      "FULL length %d, cut chain %d", len, n);
	if (len < 0 || len > CHAIN_MAX) {
		fail("FULL length %d", len);
		goto out;
	}
	note_chain(len);
	m = t_ancestors(&r->tally, k, r->chain, CHAIN_MAX,
			PROCCACHE_ANCESTORS_FULL);
	if (m == -ENOENT)
		goto out;
	/* It grew only where it could, while an ingest (an adoption) ran. */
	check(m == len || (m > len && (open || n == 8) &&
			   atomic_load(&events_sent) != done0),
	      "FULL gave %d, its length was %d", m, len);
	if (m > 0) {
		check_chain(r->chain, m, pk, unknown);
		for (int i = 0; i < n && i < m; i++)
			check(r->chain[i] == small[i] ||
				      key_eq(proccache_process__key(r->chain[i]),
					     proccache_process__key(small[i])),
			      "chains disagree at %d", i);
		unref_all(r->chain, m);
	}
	if (len > 1) {
		/* One short: nothing stored, -ENOSPC (max 0 asks the length). */
		for (int i = 0; i < len && i < CHAIN_MAX; i++)
			r->chain[i] = sentinel;
		m = t_ancestors(&r->tally, k, r->chain, (size_t)len - 1,
				PROCCACHE_ANCESTORS_FULL);
		check(m == -ENOSPC || m == -ENOENT, "FULL one short gave %d", m);
		for (int i = 0; i < len; i++)
			check(r->chain[i] == sentinel,
			      "FULL one short wrote slot %d", i);
	}
out:
	unref_all(small, n);
}

struct iter_ctx {
	struct reader *r;
	uint64_t seen, stop_after;
};

static int iter_cb(const struct proccache_process *p, void *userdata)
{
	struct iter_ctx *c = userdata;

	check_snapshot(p);
	if (below(&c->r->rng, 64) == 0)
		hold(c->r, (struct proccache_process *)p);
	if (++c->seen == c->stop_after)
		return -77;
	return 0;
}

static void op_iterate(struct reader *r)
{
	struct iter_ctx c = { .r = r };
	int ret;

	if (below(&r->rng, 2))
		c.stop_after = 1 + below(&r->rng, 64);
	ret = proccache__iterate(pc, iter_cb, &c);
	if (c.stop_after && c.seen == c.stop_after)
		check(ret == -77, "iterate stopped, returned %d", ret);
	else
		check(ret == 0 && (!c.stop_after || c.seen < c.stop_after),
		      "iterate returned %d after %" PRIu64, ret, c.seen);
	atomic_fetch_add_explicit(&n_iterations, 1, memory_order_relaxed);
}

#define MONOTONIC(f)                                                           \
	check(s.f >= r->last.f, "stat " #f " went back: %" PRIu64             \
	      " -> %" PRIu64, r->last.f, s.f)

static void op_stats(struct reader *r)
{
	struct proccache_stats s = { .sz = sizeof(s) }, part;
	size_t cut = offsetof(struct proccache_stats, inserts);

	check(proccache__stats(pc, &s) == 0, "stats failed");
	check(s.sz == sizeof(s), "stats changed sz");
	check(s.entries_live <= MAX_ENTRIES && s.entries_exited <= MAX_ENTRIES,
	      "entries %" PRIu64 "+%" PRIu64 " over the cap", s.entries_live,
	      s.entries_exited);
	MONOTONIC(inserts);
	MONOTONIC(reclaims);
	MONOTONIC(evictions_full);
	MONOTONIC(refused_full);
	MONOTONIC(lookups);
	MONOTONIC(lookup_misses);
	MONOTONIC(events_exec);
	MONOTONIC(events_clone);
	MONOTONIC(events_exit);
	MONOTONIC(duplicates);
	MONOTONIC(out_of_order);
	r->last = s;

	/* An older caller's smaller struct: nothing past its sz is written. */
	memset(&part, 0xa5, sizeof(part));
	part.sz = cut;
	check(proccache__stats(pc, &part) == 0, "short stats failed");
	for (size_t i = cut; i < sizeof(part); i++)
		if (((unsigned char *)&part)[i] != 0xa5) {
			fail("short stats wrote byte %zu", i);
			break;
		}
	part.sz = 2;
	check(proccache__stats(pc, &part) == -EINVAL, "tiny sz accepted");
}

/* Keys that cannot be cached, malformed IDs, another node's IDs. */
static void op_negative(struct reader *r)
{
	struct proccache_key k = key_of(1 + below(&r->rng, PID_SPACE - 1),
					below(&r->rng, 1u << 30));
	struct proccache_process *p, *one;
	char id[PROCCACHE_EXEC_ID_MAX];

	k.ktime += 1 + below(&r->rng, KSTEP - 1); /* off the grid */
	check(!t_lookup(&r->tally, k), "off-grid key found");
	check(!t_lookup_pid(&r->tally, PID_SPACE + below(&r->rng, 1000)),
	      "pid out of range found");
	check(t_ancestors(&r->tally, k, &one, 1, 0) == -ENOENT,
	      "ancestors of an off-grid key");

	errno = 0;
	p = proccache__lookup_exec_id(pc, "bm90IGJhc2U2NCE*");
	check(!p && errno == EINVAL, "malformed exec id: errno %d", errno);
	proccache_exec_id_format("other-node", &k, id, sizeof(id));
	errno = 0;
	p = proccache__lookup_exec_id(pc, id);
	check(!p && errno == ENOENT, "other node's exec id: errno %d", errno);
	check(proccache__ancestors(pc, &k, &one, 1, 0x80) == -EINVAL,
	      "unknown ancestors flag accepted");
	check(proccache__ancestors(pc, &k, NULL, 1, 0) == -EINVAL,
	      "NULL ancestors array accepted");
}

/*
 * Borrowed reads: the callback runs inside the epoch section with no
 * reference. It checks what it is given (the entry asked for, a consistent
 * snapshot, a parent that is the entry's parent), writes the tags of both
 * in a random vocabulary, and keeps nothing.
 */
struct borrow_ctx {
	struct reader *r;
	struct proccache_key want; /* pid only when by pid */
	uint64_t at;               /* by pid: the time asked for, 0 = now */
	bool by_pid;
	int calls;
	struct proccache_key got;
	char tags[4096];
};

/* Tags are formatted once per snapshot and copied after: the copy must
 * name this snapshot and the parent of this call. */
static void check_tag_pids(const char *tags, uint32_t vocab,
			   const struct proccache_process *p,
			   const struct proccache_process *parent)
{
	static const char *const fmt[3][2] = {
		{ "\"pid\":\"%u\",", ",\"parent.pid\":\"%u\"," },
		{ "\"process.pid\":%u,", ",\"process.parent_pid\":%u," },
		{ "\"process.pid\":%u,", ",\"process.parent.pid\":%u," },
	};
	uint32_t ppid = parent ? proccache_process__pid(parent)
			       : proccache_process__parent_key(p).pid;
	char want[64];

	snprintf(want, sizeof(want), fmt[vocab][0], proccache_process__pid(p));
	check(strstr(tags, want) != NULL, "tags without %s: %.300s", want, tags);
	if (!parent && vocab != PROCCACHE_TAGS_OTEL)
		return;
	snprintf(want, sizeof(want), fmt[vocab][1], ppid);
	check(strstr(tags, want) != NULL, "tags without %s: %.300s", want, tags);
}

static int borrow_cb(const struct proccache_process *p,
		     const struct proccache_process *parent, void *userdata)
{
	struct borrow_ctx *c = userdata;
	struct proccache_key k = proccache_process__key(p);
	PROCCACHE_OPTS(proccache_tags_opts, topts,
		       .vocab = below(&c->r->rng, 3));
	int n;

	c->calls++;
	c->got = k;
	if (c->by_pid)
		check(k.pid == c->want.pid && (!c->at || k.ktime <= c->at),
		      "with_pid(%u, at %" PRIu64 ") gave %u:%" PRIu64,
		      c->want.pid, c->at, k.pid, k.ktime);
	else
		check(key_eq(k, c->want), "borrowed %u:%" PRIu64 ", got %u:%" PRIu64,
		      c->want.pid, c->want.ktime, k.pid, k.ktime);
	check_snapshot(p);
	if (parent) {
		/* The parent process: the parent entry, unless that is an
		 * earlier image of the same pid (a re-exec), which is skipped. */
		struct proccache_key pk = proccache_process__parent_key(p);

		check(proccache_process__pid(parent) != k.pid &&
			      (pk.pid == k.pid ||
			       key_eq(proccache_process__key(parent), pk)),
		      "borrowed parent %u of %u:%" PRIu64 " (parent key %u)",
		      proccache_process__pid(parent), k.pid, k.ktime, pk.pid);
		check_snapshot(parent);
	}
	n = proccache_tags_json(p, parent, &topts, c->tags, sizeof(c->tags));
	check(n > 0 && strlen(c->tags) == (size_t)(n < (int)sizeof(c->tags)
							   ? n
							   : (int)sizeof(c->tags) - 1),
	      "tags of %u:%" PRIu64 ": %d", k.pid, k.ktime, n);
	if (n > 0 && n < (int)sizeof(c->tags))
		check_tag_pids(c->tags, topts.vocab, p, parent);
	return 1000 + (int)k.pid;
}

static void borrow_tally(struct reader *r, int ret, struct borrow_ctx *c)
{
	r->tally.lookups++;
	if (ret == -ENOENT) {
		r->tally.misses++;
		check(c->calls == 0, "called on a miss");
		return;
	}
	check(c->calls == 1 && ret == 1000 + (int)c->got.pid,
	      "borrowed read returned %d after %d calls", ret, c->calls);
}

/* By pid: now (the live entry, as op_pid checks it) or as of the start
 * of an image of that pid (that image or a newer one started by then). */
static void op_borrow_pid(struct reader *r)
{
	struct borrow_ctx c = { .r = r, .by_pid = true };
	uint64_t v1, v2;
	int ret;

	if (below(&r->rng, 2)) {
		c.want.pid = pick_pid(r);
	} else {
		uint64_t v = atomic_load_explicit(&ring[below(&r->rng, RING)],
						  memory_order_relaxed);

		if (!v)
			return;
		c.want.pid = packed_pid(v);
		c.at = unpack(v).ktime + below(&r->rng, 2) * KSTEP / 2;
	}
	v1 = atomic_load(&live_slot[c.want.pid]);
	ret = proccache__with_pid(pc, c.want.pid, c.at, borrow_cb, &c);
	v2 = atomic_load(&live_slot[c.want.pid]);
	borrow_tally(r, ret, &c);
	if (!c.at && v1 && v1 == v2) {
		atomic_fetch_add_explicit(&n_stable_checks, 1,
					  memory_order_relaxed);
		check(ret != -ENOENT && key_eq(c.got, unpack(v1)),
		      "with_pid(%u) now: got %" PRIu64 ", live %" PRIu64,
		      c.want.pid, c.got.ktime, packed_idx(v1));
	}
}

static void op_borrow_key(struct reader *r, bool by_exec_id)
{
	struct borrow_ctx c = { .r = r };
	char id[PROCCACHE_EXEC_ID_MAX];
	uint32_t pid;
	uint64_t v = pick_key(r, &pid), v1, v2;
	int ret;

	if (!v)
		return;
	c.want = unpack(v);
	v1 = atomic_load(&live_slot[c.want.pid]);
	if (by_exec_id) {
		if (proccache_exec_id_format(NODE_NAME, &c.want, id,
					     sizeof(id)) <= 0) {
			fail("exec_id_format");
			return;
		}
		ret = proccache__with_exec_id(pc, id, borrow_cb, &c);
	} else {
		ret = proccache__with_key(pc, &c.want, borrow_cb, &c);
	}
	v2 = atomic_load(&live_slot[c.want.pid]);
	borrow_tally(r, ret, &c);
	if (v1 == v && v2 == v)
		check(ret != -ENOENT, "live key %u:%" PRIu64 " not borrowed",
		      c.want.pid, c.want.ktime);
}

struct walk_ctx {
	struct reader *r;
	struct proccache_key next; /* the parent key the next step must have */
	struct proccache_key first; /* the first step's, checked after */
	unsigned int depth;
};

static int walk_cb(const struct proccache_process *p, unsigned int depth,
		   void *userdata)
{
	struct walk_ctx *w = userdata;

	check(depth == ++w->depth, "ancestor depth %u after %u", depth,
	      w->depth - 1);
	/* The first step follows the snapshot the walk read, which may be
	 * newer than the one looked up before it (an adoption): checked
	 * against both once the walk is over. */
	if (depth == 1)
		w->first = proccache_process__key(p);
	else
		check(key_eq(proccache_process__key(p), w->next),
		      "borrowed ancestor %u is not the parent key", depth);
	check_snapshot(p);
	w->next = proccache_process__parent_key(p);
	return w->depth == CHAIN_MAX ? -ELOOP : 0;
}

static void op_borrow_ancestors(struct reader *r)
{
	struct walk_ctx w = { .r = r };
	struct proccache_process *p;
	struct proccache_key k, before;
	uint32_t pid;
	uint64_t v = pick_key(r, &pid);
	int ret;

	if (!v)
		return;
	k = unpack(v);
	p = t_lookup(&r->tally, k);
	if (!p)
		return;
	w.next = proccache_process__parent_key(p);
	before = w.next;
	proccache_process__unref(p);
	ret = proccache__with_ancestors(pc, &k, walk_cb, &w);
	if (w.depth) {
		p = t_lookup(&r->tally, k);
		check(key_eq(w.first, before) ||
			      (p && key_eq(w.first,
					   proccache_process__parent_key(p))),
		      "borrowed ancestor 1 is not the parent key");
		proccache_process__unref(p);
	}
	r->tally.lookups++;
	if (ret == -ENOENT)
		r->tally.misses++;
	else
		check(ret == 0, "with_ancestors: %d after %u", ret, w.depth);
	note_chain((int)w.depth);
}

static void reader_op(struct reader *r)
{
	uint32_t op = below(&r->rng, 1000);

	if (op < 200)
		op_live_key(r, false);
	else if (op < 280)
		op_live_key(r, true);
	else if (op < 400)
		op_pid(r);
	else if (op < 560)
		op_ancestors(r);
	else if (op < 640)
		op_ring(r, false);
	else if (op < 700)
		op_ring(r, true);
	else if (op < 770)
		op_borrow_pid(r);
	else if (op < 820)
		op_borrow_key(r, false);
	else if (op < 850)
		op_borrow_key(r, true);
	else if (op < 880)
		op_borrow_ancestors(r);
	else if (op < 920)
		op_stats(r);
	else if (op < 998)
		op_negative(r);
	else
		op_iterate(r);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	while (!atomic_load(&writer_done) && r->ops < r->quota) {
		reader_op(r);
		held_step(r);
		r->ops++;
	}
	held_release_all(r);
	tally_flush(&r->tally);
	atomic_store(&r->finished, true);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The writer's model of the machine                                         */
/* ------------------------------------------------------------------------ */

struct mproc {
	bool alive, execd, clone_cached;
	uint8_t reexecs;
	uint16_t depth;
	uint32_t live_pos;
	uint64_t idx;       /* current image */
	uint64_t start_idx; /* the clone */
	uint64_t old_idx;   /* the image before the current one, 0 if none */
	struct proccache_key parent;
};

struct writer {
	struct rng rng;
	struct tally tally;
	uint64_t n_events, next_idx;
	struct mproc procs[PID_SPACE];
	uint32_t live[PID_SPACE], nlive;
	uint32_t freep[PID_SPACE], nfree;
	uint32_t youngest;
	uint32_t live_slots; /* pids whose live_slot is set */
	uint64_t exited_keys[64];
	unsigned int n_exited_keys;
	/* what the stats must say at the end */
	uint64_t sent_exec, sent_clone, sent_exit, sent_lost, lost_sum;
	uint64_t sent_invalid, ret_nospc, expect_reuse, stops;
	uint64_t ret_dup, ret_held, ret_ignored;
	uint64_t late_linked;   /* late clones that linked (out_of_order) */
	uint64_t late_dup;      /* ... and taught nothing: not "duplicates" */
	uint64_t late_exec;     /* execs after their exit (out_of_order) */
	uint64_t exp_applied;   /* held exits applied to their entry */
	uint64_t exp_expired;   /* held exits that can never match */
	uint64_t exp_adopted;   /* adoptions the out-of-order cases make */
	uint64_t n_disorder[4]; /* out-of-order cases run, by kind */
	uint64_t ring_pos;
	bool draining, quiet;
};

static struct writer *W;

static uint64_t test_clock(void *userdata)
{
	(void)userdata;
	return atomic_load_explicit(&fake_now, memory_order_relaxed);
}

/*
 * A new image index. Its ktime is after the clock's now, so after every
 * exit sent so far (an exit's time is at most now + 1), and the clock moves
 * to it: the image began by the time its event is ingested.
 */
static uint64_t new_idx(struct writer *w)
{
	uint64_t now = atomic_load(&fake_now);
	uint64_t idx = (now + 1 - KT0) / KSTEP + 1;

	if (idx < w->next_idx)
		idx = w->next_idx;
	w->next_idx = idx + 1;
	atomic_store(&fake_now, key_of(0, idx).ktime);
	return idx;
}

static void ev_init(struct proccache_event *ev, uint32_t type, uint32_t pid,
		    uint64_t ktime)
{
	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = type;
	ev->pid = pid;
	ev->tid = pid;
	ev->nspid = nspid_of(pid);
	ev->ktime = ktime;
}

static void ev_payload(struct proccache_event *ev, const struct image *im,
		       bool nulls)
{
	ev->binary = im->binary;
	ev->args = im->args;
	ev->args_len = im->args_len;
	/* An empty string and NULL must read back the same: "". */
	ev->cwd = nulls && !im->cwd[0] ? NULL : im->cwd;
	ev->container_id = nulls && !im->cid[0] ? NULL : im->cid;
	ev->creds = im->creds;
	ev->caps = im->caps;
	ev->ns = im->ns;
	ev->cgroup_id = im->cgroup_id;
	ev->binary_inode = im->inode;
	ev->binary_nlink = im->nlink;
	ev->flags = im->flags;
}

/*
 * Ingest one event. The pid's live slot is cleared first and set after
 * from the cache itself (lookup_pid), so readers never believe a key live
 * while it is changing. Returns the ingest result, a stopper's return
 * folded into 0, and the pid's live entry before and after.
 */
static int send(struct writer *w, const struct proccache_event *ev,
		uint64_t *ret_before, uint64_t *ret_after)
{
	struct proccache_stats s = { .sz = sizeof(s) };
	struct proccache_process *p;
	uint32_t pid = ev->pid < PID_SPACE ? ev->pid : 0;
	uint64_t before = pid ? atomic_load(&live_slot[pid]) : 0, after = 0;
	uint64_t seq;
	int ret;

	if (pid)
		atomic_store(&live_slot[pid], 0);
	seq = atomic_fetch_add(&events_sent, 1) + 1;
	ret = proccache__ingest(pc, ev);
	atomic_store(&events_done, seq);
	if (ret == STOP_RET) {
		check(seq % STOP_EVERY == 0, "stopper's return on event %" PRIu64,
		      seq);
		w->stops++;
		ret = 0;
	} else if (ret == 0 && seq % STOP_EVERY == 0 &&
		   ev->type != PROCCACHE_EVENT_LOST && !w->quiet) {
		fail("a subscriber's negative return was not passed back");
	}
	switch (ret) {
	case PROCCACHE_INGEST_DUPLICATE: w->ret_dup++; break;
	case PROCCACHE_INGEST_HELD: w->ret_held++; break;
	case PROCCACHE_INGEST_IGNORED: w->ret_ignored++; break;
	case -ENOSPC: w->ret_nospc++; break;
	default: break;
	}

	if (pid) {
		p = t_lookup_pid(&w->tally, pid);
		if (p) {
			check(proccache_process__state(p) == PROCCACHE_STATE_LIVE,
			      "pid index holds a %d entry",
			      (int)proccache_process__state(p));
			after = pack(pid, (proccache_process__ktime(p) - KT0) /
						  KSTEP);
			proccache_process__unref(p);
		}
		atomic_store(&live_slot[pid], after);
		w->live_slots += (after != 0) - (before != 0);
	}
	check(proccache__stats(pc, &s) == 0, "stats");
	check(s.entries_live == w->live_slots,
	      "stats say %" PRIu64 " live, the pid index has %u",
	      s.entries_live, w->live_slots);
	check(s.entries_live + s.entries_exited <= MAX_ENTRIES,
	      "%" PRIu64 " entries over the cap %u",
	      s.entries_live + s.entries_exited, MAX_ENTRIES);
	if (ret_before)
		*ret_before = before;
	if (ret_after)
		*ret_after = after;
	return ret;
}

static void ring_push(struct writer *w, uint64_t v)
{
	atomic_store_explicit(&ring[w->ring_pos++ % RING], v,
			      memory_order_relaxed);
}

/* A new image (exec or clone) of @pid with index @idx was ingested. */
static void expect_new(struct writer *w, int ret, uint32_t pid, uint64_t idx,
		       uint64_t before, uint64_t after, const char *what)
{
	if (ret == 0) {
		check(after == pack(pid, idx),
		      "%s %u:%" PRIu64 " applied, live entry is %" PRIu64, what,
		      pid, idx, packed_idx(after));
		ring_push(w, pack(pid, idx));
	} else if (ret == -ENOSPC) {
		check(after == before, "refused %s changed the live entry", what);
	} else {
		fail("%s %u:%" PRIu64 " returned %d", what, pid, idx, ret);
	}
}

/* An event the cache must not apply: it returns @want (or @alt). */
static void expect_unchanged(int ret, int want, int alt, uint64_t before,
			     uint64_t after, const char *what)
{
	check(ret == want || ret == alt, "%s returned %d, want %d", what, ret,
	      want);
	check(after == before, "%s (returned %d) changed the live entry", what,
	      ret);
}

static void count_sent(struct writer *w, const struct proccache_event *ev)
{
	switch (ev->type) {
	case PROCCACHE_EVENT_EXEC: w->sent_exec++; break;
	case PROCCACHE_EVENT_CLONE: w->sent_clone++; break;
	case PROCCACHE_EVENT_EXIT: w->sent_exit++; break;
	default: w->sent_lost++; w->lost_sum += ev->lost; break;
	}
}

static int send_counted(struct writer *w, const struct proccache_event *ev,
			uint64_t *before, uint64_t *after)
{
	count_sent(w, ev);
	return send(w, ev, before, after);
}

static void live_add(struct writer *w, uint32_t pid)
{
	w->procs[pid].live_pos = w->nlive;
	w->live[w->nlive++] = pid;
}

static void live_remove(struct writer *w, uint32_t pid)
{
	uint32_t pos = w->procs[pid].live_pos, last = w->live[--w->nlive];

	w->live[pos] = last;
	w->procs[last].live_pos = pos;
	w->procs[pid].alive = false;
	w->freep[w->nfree++] = pid;
}

/* Often the pid freed last (reused while its old entry is still cached). */
static uint32_t take_pid(struct writer *w)
{
	uint32_t i = chance(&w->rng, 250) ? w->nfree - 1
					  : below(&w->rng, w->nfree);
	uint32_t pid = w->freep[i];

	w->freep[i] = w->freep[--w->nfree];
	return pid;
}

static struct proccache_key model_key(struct writer *w, uint32_t pid)
{
	return key_of(pid, w->procs[pid].idx);
}

/* The process start is always known here; callers clear it where the
 * cache can take it from the image the exec replaces. */
static void build_exec(struct writer *w, struct proccache_event *ev,
		       struct image *im, uint32_t pid, uint64_t idx,
		       struct proccache_key parent, struct proccache_key prev,
		       uint64_t start_idx)
{
	ev_init(ev, PROCCACHE_EVENT_EXEC, pid, key_of(pid, idx).ktime);
	/* Now and then a thread execs: after the exec, tid == pid. */
	if (chance(&w->rng, 50))
		ev->tid = PID_SPACE + pid;
	image_of(idx, pid, im);
	ev_payload(ev, im, chance(&w->rng, 500));
	ev->parent = parent;
	ev->prev = prev;
	ev->start_time = key_of(pid, start_idx).ktime;
}

static void build_clone(struct writer *w, struct proccache_event *ev,
			struct image *im, uint32_t pid, uint64_t idx,
			struct proccache_key parent)
{
	ev_init(ev, PROCCACHE_EVENT_CLONE, pid, key_of(pid, idx).ktime);
	/* Read only when the parent is unknown. */
	image_of(idx, pid, im);
	ev_payload(ev, im, chance(&w->rng, 500));
	ev->parent = parent;
}

/* The exit of the process that started with image @start_idx. */
static void build_exit(struct writer *w, struct proccache_event *ev,
		       uint32_t pid, uint64_t ktime, uint64_t start_idx)
{
	ev_init(ev, PROCCACHE_EVENT_EXIT, pid, ktime);
	ev->exit_code = exit_code_of(start_idx);
	ev->exit_signal = exit_signal_of(start_idx);
	/* The sensor's time, or (0) the cache clock's now. */
	ev->time = chance(&w->rng, 500) ? 0 : atomic_load(&fake_now) + 1;
}

/* The start index of @pid's live entry, whatever process it is. */
static uint64_t live_start_idx(struct writer *w, uint32_t pid, uint64_t dflt)
{
	struct proccache_process *p = t_lookup_pid(&w->tally, pid);
	uint64_t idx = dflt;

	if (p) {
		if (!idx_of(proccache_process__start_time(p), &idx))
			fail("start of %u off the grid", pid);
		proccache_process__unref(p);
	}
	return idx;
}

static uint32_t pick_parent(struct writer *w)
{
	uint32_t y = w->youngest;

	if (w->nlive == 0)
		return 0;
	if (y && w->procs[y].alive && w->procs[y].depth < MAX_DEPTH &&
	    chance(&w->rng, 600))
		return y;
	for (int tries = 0; tries < 4; tries++) {
		uint32_t p = w->live[below(&w->rng, w->nlive)];

		if (w->procs[p].depth < MAX_DEPTH)
			return p;
	}
	return 1; /* init is never deeper than 0 */
}

static void resend_dup(struct writer *w, const struct proccache_event *ev,
		       const char *what)
{
	uint64_t before, after;
	int ret = send_counted(w, ev, &before, &after);

	expect_unchanged(ret, PROCCACHE_INGEST_DUPLICATE,
			 PROCCACHE_INGEST_DUPLICATE, before, after, what);
}

/* A clone after the child's exec: no entry, no callback, returns @want. */
static void send_late_clone(struct writer *w, const struct proccache_event *ev,
			    int want)
{
	uint64_t before, after;
	int ret;

	w->quiet = true; /* subscribers are not called */
	ret = send_counted(w, ev, &before, &after);
	w->quiet = false;
	expect_unchanged(ret, want, want, before, after, "late clone");
	if (ret == PROCCACHE_INGEST_APPLIED ||
	    ret == PROCCACHE_INGEST_DUPLICATE)
		w->late_linked++;
	if (ret == PROCCACHE_INGEST_DUPLICATE)
		w->late_dup++;
}

static void do_fork(struct writer *w)
{
	struct proccache_event ev;
	struct image im;
	struct proccache_key pkey = { 0 }, full;
	uint64_t before, after, cidx;
	uint32_t ppid, c;
	struct mproc *m;
	int ret;

	if (!w->nfree)
		return;
	ppid = pick_parent(w);
	c = take_pid(w);
	if (ppid)
		pkey = model_key(w, ppid);
	if (chance(&w->rng, 10)) /* a parent the cache never saw, older */
		pkey = key_of(1 + below(&w->rng, PID_SPACE - 1), new_idx(w));
	full = pkey;
	/* "The live process of pid": only now, at the fork; later events
	 * name the forker by key (its pid may be reused by then). */
	if (ppid && key_eq(pkey, model_key(w, ppid)) && chance(&w->rng, 20))
		pkey.ktime = 0;
	cidx = new_idx(w);

	m = &w->procs[c];
	*m = (struct mproc){ .alive = true, .idx = cidx, .start_idx = cidx,
			     .depth = ppid ? w->procs[ppid].depth + 1 : 0,
			     .parent = full };
	live_add(w, c);
	w->youngest = c;

	if (!atomic_load(&live_slot[c]) && chance(&w->rng, 30)) {
		/* The exec arrives before its clone: the clone comes late,
		 * links the exec to its forker and marks it. */
		uint64_t eidx = new_idx(w);

		build_exec(w, &ev, &im, c, eidx, pkey, (struct proccache_key){ 0 },
			   cidx);
		ret = send_counted(w, &ev, &before, &after);
		expect_new(w, ret, c, eidx, before, after, "early exec");
		m->idx = eidx;
		m->execd = true;
		if (ret == 0) {
			build_clone(w, &ev, &im, c, cidx, pkey);
			send_late_clone(w, &ev, PROCCACHE_INGEST_APPLIED);
			if (chance(&w->rng, 100))
				send_late_clone(w, &ev,
						PROCCACHE_INGEST_DUPLICATE);
			return;
		}
		/* Refused: the clone comes in as a plain one. */
	}
	build_clone(w, &ev, &im, c, cidx, pkey);
	ret = send_counted(w, &ev, &before, &after);
	if (ret == 0 && before)
		w->expect_reuse++; /* a lost exit, inferred now */
	expect_new(w, ret, c, cidx, before, after, "clone");
	m->clone_cached = ret == 0;
	if (ret == 0 && chance(&w->rng, 10))
		resend_dup(w, &ev, "duplicate clone");
}

static void do_exec(struct writer *w)
{
	struct proccache_event ev;
	struct image im;
	struct proccache_key prev = { 0 };
	uint64_t before, after, eidx;
	struct mproc *m;
	uint32_t x;
	int ret;

	if (!w->nlive)
		return;
	x = w->live[below(&w->rng, w->nlive)];
	m = &w->procs[x];
	if (m->execd && m->reexecs >= MAX_REEXEC)
		return;
	eidx = new_idx(w);
	if (chance(&w->rng, 800))
		prev = model_key(w, x);
	build_exec(w, &ev, &im, x, eidx, m->parent, prev, m->start_idx);
	/* Unknown start: the cache takes the replaced image's, when it has
	 * this process's. */
	if (atomic_load(&live_slot[x]) == pack(x, m->idx) &&
	    chance(&w->rng, 100))
		ev.start_time = 0;
	ret = send_counted(w, &ev, &before, &after);
	/* The live entry is another process: named by prev, or by start (an
	 * image of this process has an index from its start on). */
	if (ret == 0 && before &&
	    (prev.ktime ? before != pack(x, m->idx)
			: packed_idx(before) < m->start_idx))
		w->expect_reuse++;
	expect_new(w, ret, x, eidx, before, after, m->execd ? "re-exec" : "exec");
	m->old_idx = m->execd ? m->idx : 0;
	if (m->execd)
		m->reexecs++;
	m->execd = true;
	m->idx = eidx;
	if (ret == 0 && chance(&w->rng, 10))
		resend_dup(w, &ev, "duplicate exec");
}

/* An exec of an image since replaced: a duplicate while the old image is
 * cached, out of order once it is gone. */
static void do_stale_exec(struct writer *w)
{
	struct proccache_event ev;
	struct image im;
	struct mproc *m;
	uint64_t cur, before, after;
	uint32_t x;
	int ret;

	if (!w->nlive)
		return;
	x = w->live[below(&w->rng, w->nlive)];
	m = &w->procs[x];
	cur = atomic_load(&live_slot[x]);
	if (!m->old_idx || !cur || packed_idx(cur) <= m->old_idx)
		return;
	build_exec(w, &ev, &im, x, m->old_idx, m->parent,
		   (struct proccache_key){ 0 }, m->start_idx);
	ret = send_counted(w, &ev, &before, &after);
	expect_unchanged(ret, PROCCACHE_INGEST_DUPLICATE,
			 PROCCACHE_INGEST_IGNORED, before, after, "stale exec");
}

static void do_exit(struct writer *w, uint32_t x, bool may_lose)
{
	struct proccache_event ev;
	struct mproc *m = &w->procs[x];
	uint64_t before = atomic_load(&live_slot[x]), after, ktime = 0;
	bool mine = before == pack(x, m->idx);
	int ret;

	if (may_lose && chance(&w->rng, 5)) {
		/* Lost: the cache keeps a live entry until the pid is reused. */
		live_remove(w, x);
		return;
	}
	if (mine) {
		switch (below(&w->rng, 10)) {
		case 0: case 1: case 2: case 3:
			break; /* "the live entry of pid" */
		case 4:
			if (m->clone_cached && m->execd) {
				/* The clone's key: an older image. */
				struct proccache_process *c = t_lookup(
					&w->tally, key_of(x, m->start_idx));

				if (c && proccache_process__state(c) ==
						 PROCCACHE_STATE_RETIRED)
					ktime = key_of(x, m->start_idx).ktime;
				proccache_process__unref(c);
				break;
			}
			/* fall through */
		default:
			ktime = model_key(w, x).ktime;
			break;
		}
	} else if (!before && chance(&w->rng, 500)) {
		ktime = model_key(w, x).ktime; /* an image never cached */
	}
	/* A live entry that is not the model's image (its exec refused, or
	 * another process behind a lost exit) is ended by pid: a key would
	 * hold the exit for an exec that never comes. */
	build_exit(w, &ev, x, ktime,
		   before && !mine ? live_start_idx(w, x, m->start_idx)
				   : m->start_idx);
	ret = send_counted(w, &ev, &before, &after);
	if (before) {
		check(ret == 0 && after == 0,
		      "exit of live %u:%" PRIu64 " returned %d, live after %" PRIu64,
		      x, packed_idx(before), ret, packed_idx(after));
	} else {
		/* Held for an exec or clone that never comes: it expires. */
		expect_unchanged(ret, PROCCACHE_INGEST_HELD,
				 PROCCACHE_INGEST_HELD, before, after,
				 "exit of an uncached process");
		if (ret == PROCCACHE_INGEST_HELD)
			w->exp_expired++;
	}
	if (ret == 0 && ktime == model_key(w, x).ktime && mine)
		w->exited_keys[w->n_exited_keys++ % 64] = before;
	if (ret == 0 && !ktime && ev.time && chance(&w->rng, 50))
		resend_dup(w, &ev, "exit by pid with the same time");
	live_remove(w, x);
}

static void do_random_exit(struct writer *w)
{
	uint32_t x;

	if (w->nlive < 2)
		return;
	x = w->live[below(&w->rng, w->nlive)];
	if (x != 1)
		do_exit(w, x, true);
}

/* An exit already applied, sent again later: a duplicate while its entry
 * is cached; then out of order behind a newer process of the pid, or held
 * until it expires. */
static void do_dup_exit(struct writer *w)
{
	struct proccache_event ev;
	uint64_t v, before, after;
	int ret;

	if (!w->n_exited_keys)
		return;
	v = w->exited_keys[below(&w->rng, w->n_exited_keys < 64
						  ? w->n_exited_keys : 64)];
	ev_init(&ev, PROCCACHE_EVENT_EXIT, packed_pid(v), unpack(v).ktime);
	ret = send_counted(w, &ev, &before, &after);
	if (ret == PROCCACHE_INGEST_HELD)
		w->exp_expired++;
	else
		expect_unchanged(ret, PROCCACHE_INGEST_DUPLICATE,
				 PROCCACHE_INGEST_IGNORED, before, after,
				 "duplicate exit");
	check(after == before, "duplicate exit changed the live entry");
}

/* Held, never matched (no later process of the pid started before it). */
static void do_unknown_exit(struct writer *w)
{
	struct proccache_event ev;
	uint64_t before, after;
	uint32_t pid;
	int ret;

	if (!w->nfree)
		return;
	pid = w->freep[below(&w->rng, w->nfree)];
	if (atomic_load(&live_slot[pid]))
		return;
	ev_init(&ev, PROCCACHE_EVENT_EXIT, pid, 0);
	ret = send_counted(w, &ev, &before, &after);
	expect_unchanged(ret, PROCCACHE_INGEST_HELD, PROCCACHE_INGEST_HELD,
			 before, after, "exit of an unknown process");
	if (ret == PROCCACHE_INGEST_HELD)
		w->exp_expired++;
}

/* ------------------------------------------------------------------------ */
/* Events out of order, within a window of a few events                      */
/* ------------------------------------------------------------------------ */

/* @k is cached in @state, with the exit status of process @start_idx. */
static void expect_entry(struct writer *w, struct proccache_key k,
			 enum proccache_state state, uint64_t start_idx,
			 const char *what)
{
	struct proccache_process *p = t_lookup(&w->tally, k);

	if (!p) {
		fail("%s: %u:%" PRIu64 " not cached", what, k.pid, k.ktime);
		return;
	}
	check(proccache_process__state(p) == state,
	      "%s: %u:%" PRIu64 " in state %d, want %d", what, k.pid, k.ktime,
	      (int)proccache_process__state(p), (int)state);
	if (state == PROCCACHE_STATE_EXITED)
		check(proccache_process__exit_code(p) == exit_code_of(start_idx),
		      "%s: exit code %d, want %d", what,
		      proccache_process__exit_code(p), exit_code_of(start_idx));
	proccache_process__unref(p);
}

/* A live process whose live entry the cache agrees on, not init. */
static uint32_t pick_settled(struct writer *w)
{
	uint32_t x;

	if (w->nlive < 2)
		return 0;
	x = w->live[below(&w->rng, w->nlive)];
	if (x == 1 || atomic_load(&live_slot[x]) != pack(x, w->procs[x].idx))
		return 0;
	return x;
}

/* A free pid with no live entry (no lost exit behind it), or 0. */
static uint32_t take_clean_pid(struct writer *w)
{
	uint32_t c;

	if (!w->nfree)
		return 0;
	c = take_pid(w);
	if (atomic_load(&live_slot[c])) {
		w->freep[w->nfree++] = c;
		return 0;
	}
	return c;
}

/* The exit arrives before the exec of the image it ends: held, then
 * applied when the exec comes (subscribers see the exec, then the exit). */
static void ooo_exit_before_exec(struct writer *w)
{
	struct proccache_event ex, ev;
	struct image im;
	uint32_t x = pick_settled(w);
	struct mproc *m = &w->procs[x];
	uint64_t before, after, eidx;
	int ret;

	if (!x)
		return;
	eidx = new_idx(w);
	build_exit(w, &ex, x, key_of(x, eidx).ktime, m->start_idx);
	ret = send_counted(w, &ex, &before, &after);
	expect_unchanged(ret, PROCCACHE_INGEST_HELD, PROCCACHE_INGEST_HELD,
			 before, after, "exit before its exec");
	build_exec(w, &ev, &im, x, eidx, m->parent,
		   chance(&w->rng, 500) ? model_key(w, x)
					: (struct proccache_key){ 0 },
		   m->start_idx);
	ret = send_counted(w, &ev, &before, &after);
	check(ret == 0 && after == 0,
	      "exec %u:%" PRIu64 " with its exit held: returned %d, live %" PRIu64,
	      x, eidx, ret, packed_idx(after));
	w->exp_applied++;
	expect_entry(w, key_of(x, eidx), PROCCACHE_STATE_EXITED, m->start_idx,
		     "exec after its held exit");
	ring_push(w, pack(x, eidx));
	w->n_disorder[0]++;
	live_remove(w, x);
}

/* The exit of a new process arrives before its clone: held, then applied
 * to the clone. By key or by pid alone. */
static void ooo_exit_before_clone(struct writer *w)
{
	struct proccache_event ex, ev;
	struct image im;
	struct proccache_key pkey;
	uint32_t ppid = pick_parent(w), c = take_clean_pid(w);
	uint64_t before, after, cidx;
	int ret;

	if (!c)
		return;
	pkey = ppid ? model_key(w, ppid) : (struct proccache_key){ 0 };
	cidx = new_idx(w);
	build_exit(w, &ex, c, chance(&w->rng, 500) ? key_of(c, cidx).ktime : 0,
		   cidx);
	ret = send_counted(w, &ex, &before, &after);
	expect_unchanged(ret, PROCCACHE_INGEST_HELD, PROCCACHE_INGEST_HELD,
			 before, after, "exit before its clone");
	build_clone(w, &ev, &im, c, cidx, pkey);
	ret = send_counted(w, &ev, &before, &after);
	check(ret == 0 && after == 0,
	      "clone %u:%" PRIu64 " with its exit held: returned %d, live %" PRIu64,
	      c, cidx, ret, packed_idx(after));
	w->exp_applied++;
	expect_entry(w, key_of(c, cidx), PROCCACHE_STATE_EXITED, cidx,
		     "clone after its held exit");
	ring_push(w, pack(c, cidx));
	w->n_disorder[1]++;
	w->freep[w->nfree++] = c;
}

/* The exit is applied to the image before the exec that ended it arrives:
 * the exec becomes the exited image, the older one is retired. */
static void ooo_exec_after_exit(struct writer *w)
{
	struct proccache_event ex, ev;
	struct image im;
	uint32_t x = pick_settled(w);
	struct mproc *m = &w->procs[x];
	uint64_t before, after, eidx;
	bool by_key = chance(&w->rng, 500);
	int ret;

	if (!x)
		return;
	eidx = new_idx(w); /* the exec happened; its event is late */
	build_exit(w, &ex, x, 0, m->start_idx);
	ret = send_counted(w, &ex, &before, &after);
	check(ret == 0 && after == 0, "exit of %u before its late exec: %d", x,
	      ret);
	/* Found through prev, or through the pid's last exit. */
	build_exec(w, &ev, &im, x, eidx, m->parent,
		   by_key ? model_key(w, x) : (struct proccache_key){ 0 },
		   m->start_idx);
	ret = send_counted(w, &ev, &before, &after);
	check(ret == 0 && after == 0,
	      "exec %u:%" PRIu64 " after its exit: returned %d, live %" PRIu64,
	      x, eidx, ret, packed_idx(after));
	w->late_exec++;
	expect_entry(w, key_of(x, eidx), PROCCACHE_STATE_EXITED, m->start_idx,
		     "exec after its exit");
	expect_entry(w, model_key(w, x), PROCCACHE_STATE_RETIRED, m->start_idx,
		     "image before a late exec");
	ring_push(w, pack(x, eidx));
	w->n_disorder[2]++;
	live_remove(w, x);
}

/* A child's clone (and exec) before its parent's clone: the child waits,
 * flagged "parent unknown", and the parent adopts it on arrival. */
static void ooo_late_parent(struct writer *w)
{
	struct proccache_event ev;
	struct image im;
	struct proccache_process *p, *anc[1];
	struct proccache_key qkey, pkey, ckey;
	uint32_t q = pick_settled(w), pp, c;
	uint64_t before, after, pidx, cidx, eidx = 0;
	struct mproc *mp, *mc;
	int ret, n;

	if (!q || w->procs[q].depth >= MAX_DEPTH - 1)
		return;
	pp = take_clean_pid(w);
	if (!pp)
		return;
	c = take_clean_pid(w);
	if (!c) {
		w->freep[w->nfree++] = pp;
		return;
	}
	qkey = model_key(w, q);
	pidx = new_idx(w);
	cidx = new_idx(w);
	pkey = key_of(pp, pidx);
	build_clone(w, &ev, &im, c, cidx, pkey);
	ret = send_counted(w, &ev, &before, &after);
	expect_new(w, ret, c, cidx, before, after, "clone before its parent");
	ckey = key_of(c, cidx);
	if (chance(&w->rng, 500)) {
		/* Its exec too: it waits for the same parent. */
		eidx = new_idx(w);
		build_exec(w, &ev, &im, c, eidx, pkey,
			   chance(&w->rng, 500) ? ckey
						: (struct proccache_key){ 0 },
			   cidx);
		ret = send_counted(w, &ev, &before, &after);
		expect_new(w, ret, c, eidx, before, after,
			   "exec before its parent");
		ckey = key_of(c, eidx);
		w->exp_adopted++; /* the retired clone is adopted too */
	}
	p = t_lookup(&w->tally, ckey);
	check(p && (proccache_process__flags(p) & PROCCACHE_F_PARENT_UNKNOWN) &&
		      key_eq(proccache_process__parent_key(p), pkey),
	      "child %u waiting for its parent: not flagged", c);
	proccache_process__unref(p);

	build_clone(w, &ev, &im, pp, pidx, qkey);
	ret = send_counted(w, &ev, &before, &after);
	expect_new(w, ret, pp, pidx, before, after, "late parent");
	w->exp_adopted++;
	p = t_lookup(&w->tally, ckey);
	check(p && !(proccache_process__flags(p) & PROCCACHE_F_PARENT_UNKNOWN) &&
		      key_eq(proccache_process__parent_key(p), pkey),
	      "child %u not adopted by its late parent", c);
	proccache_process__unref(p);
	n = t_ancestors(&w->tally, ckey, anc, 1, 0);
	check(n == 1 && key_eq(proccache_process__key(anc[0]), pkey),
	      "adopted child %u: %d ancestors", c, n);
	if (n > 0)
		unref_all(anc, n);

	mp = &w->procs[pp];
	*mp = (struct mproc){ .alive = true, .idx = pidx, .start_idx = pidx,
			      .depth = w->procs[q].depth + 1, .parent = qkey,
			      .clone_cached = true };
	live_add(w, pp);
	mc = &w->procs[c];
	*mc = (struct mproc){ .alive = true, .idx = eidx ? eidx : cidx,
			      .start_idx = cidx, .depth = mp->depth + 1,
			      .parent = pkey, .execd = eidx != 0,
			      .clone_cached = true };
	live_add(w, c);
	w->n_disorder[3]++;
}

/* Only where nothing is refused or evicted: the cap would make the
 * outcome depend on which entries the cache chose to drop. */
static void do_disorder(struct writer *w)
{
	struct proccache_stats s = { .sz = sizeof(s) };

	proccache__stats(pc, &s);
	if (s.entries_live + s.entries_exited + 8 > MAX_ENTRIES)
		return;
	switch (below(&w->rng, 4)) {
	case 0: ooo_exit_before_exec(w); break;
	case 1: ooo_exit_before_clone(w); break;
	case 2: ooo_exec_after_exit(w); break;
	default: ooo_late_parent(w); break;
	}
}

static void do_invalid(struct writer *w)
{
	struct proccache_event ev;
	struct image im;
	int ret;

	build_exec(w, &ev, &im, 1 + below(&w->rng, PID_SPACE - 1), 1,
		   (struct proccache_key){ 0 }, (struct proccache_key){ 0 }, 1);
	switch (below(&w->rng, 4)) {
	case 0: ev.ktime = 0; break;
	case 1: ev.parent.pad = 1; break;
	case 2: ev.type = 0x40; break;
	default: ev.pid = 0; break;
	}
	w->sent_invalid++;
	ret = send(w, &ev, NULL, NULL);
	check(ret == -EINVAL, "invalid event returned %d", ret);
}

static void do_lost(struct writer *w)
{
	struct proccache_event ev;
	int ret;

	ev_init(&ev, PROCCACHE_EVENT_LOST, 0, 0);
	ev.pid = 0;
	ev.lost = 1 + below(&w->rng, 100);
	ret = send_counted(w, &ev, NULL, NULL);
	check(ret == 0, "LOST returned %d", ret);
}

/* ------------------------------------------------------------------------ */
/* Subscribers (writer thread)                                               */
/* ------------------------------------------------------------------------ */

#define DYN_MAGIC 0x5ab5c41be0000001ull
#define DYN_FREED 0xdeadbeefdeadbeefull

struct dyn {
	uint64_t magic;
	uint64_t created_dispatch;
	uint32_t mask;
	bool unsubscribed;
	struct proccache_sub *sub;
	uint64_t calls;
};

static struct dyn *dyn_pool[DYN_MAX];
static unsigned int n_dyn, cb_depth;
static uint64_t dyn_subscribed, dyn_unsubscribed, dyn_destroyed, dyn_calls;
/* Dispatches so far, counted by the first subscriber: one ingest can
 * dispatch two events (an exec, then the exit held for it). */
static uint64_t dispatches;
static bool freeing;

static void dyn_destroy(void *userdata)
{
	struct dyn *d = userdata;

	check(d->magic == DYN_MAGIC, "destroy of a freed subscription");
	check(d->unsubscribed || freeing, "destroy of a live subscription");
	d->magic = DYN_FREED;
	dyn_destroyed++;
	free(d);
}

static int dyn_fn(struct proccache *c, const struct proccache_event *ev,
		  const struct proccache_process *proc,
		  const struct proccache_process *parent, void *userdata);

static void dyn_add(struct writer *w)
{
	static const uint32_t masks[] = {
		PROCCACHE_EVENT_EXEC | PROCCACHE_EVENT_CLONE |
			PROCCACHE_EVENT_EXIT | PROCCACHE_EVENT_LOST,
		PROCCACHE_EVENT_EXEC,
		PROCCACHE_EVENT_EXIT | PROCCACHE_EVENT_LOST,
		PROCCACHE_EVENT_CLONE | PROCCACHE_EVENT_EXEC,
	};
	PROCCACHE_OPTS(proccache_subscribe_opts, opts, .destroy = dyn_destroy);
	struct dyn *d;

	if (n_dyn == DYN_MAX)
		return;
	d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	d->magic = DYN_MAGIC;
	d->created_dispatch = dispatches;
	d->mask = masks[below(&w->rng, 4)];
	d->sub = proccache__subscribe(pc, d->mask, dyn_fn, d, &opts);
	if (!d->sub) {
		fail("subscribe: errno %d", errno);
		free(d);
		return;
	}
	check(proccache_sub__userdata(d->sub) == d, "sub userdata");
	dyn_pool[n_dyn++] = d;
	dyn_subscribed++;
}

/* From a callback, destroy waits for the dispatch to end; outside, not. */
static void dyn_remove(unsigned int i)
{
	struct dyn *d = dyn_pool[i];
	uint64_t destroyed = dyn_destroyed;
	bool inside = cb_depth > 0;

	dyn_pool[i] = dyn_pool[--n_dyn];
	d->unsubscribed = true;
	dyn_unsubscribed++;
	proccache_sub__unsubscribe(d->sub);
	if (inside)
		check(dyn_destroyed == destroyed,
		      "destroy ran inside the dispatch");
	else
		check(dyn_destroyed == destroyed + 1,
		      "destroy did not run at unsubscribe");
}

static unsigned int dyn_find(struct dyn *d)
{
	for (unsigned int i = 0; i < n_dyn; i++)
		if (dyn_pool[i] == d)
			return i;
	return DYN_MAX;
}

static int dyn_fn(struct proccache *c, const struct proccache_event *ev,
		  const struct proccache_process *proc,
		  const struct proccache_process *parent, void *userdata)
{
	struct dyn *d = userdata;
	struct writer *w = W;
	uint32_t r;

	(void)parent;
	cb_depth++;
	check(c == pc, "callback's cache");
	check(d->magic == DYN_MAGIC, "callback on a freed subscription");
	check(!d->unsubscribed, "callback after unsubscribe");
	check(dispatches > d->created_dispatch,
	      "a subscription made during dispatch %" PRIu64 " saw it",
	      d->created_dispatch);
	check(ev->type & d->mask, "event %u outside the mask %#x", ev->type,
	      d->mask);
	d->calls++;
	dyn_calls++;
	if (proc) {
		struct proccache_process *p =
			t_lookup(&w->tally, proccache_process__key(proc));

		check(p == proc, "the event's entry is not the cached one");
		proccache_process__unref(p);
	}
	r = below(&w->rng, 4000);
	if (r < 8) {
		unsigned int i = dyn_find(d);

		if (i < DYN_MAX)
			dyn_remove(i); /* itself */
		dyn_add(w);
		d->calls++; /* still valid until the dispatch ends */
	} else if (r < 14 && n_dyn) {
		dyn_remove(below(&w->rng, n_dyn));
	} else if (r < 20) {
		dyn_add(w);
	}
	cb_depth--;
	return 0;
}

/* The first subscriber: what a callback sees is what the cache holds. */
static int check_fn(struct proccache *c, const struct proccache_event *ev,
		    const struct proccache_process *proc,
		    const struct proccache_process *parent, void *userdata)
{
	struct writer *w = userdata;
	struct proccache_process *p, *anc[2];
	struct proccache_key k;
	int n;

	cb_depth++;
	dispatches++;
	check(c == pc, "callback's cache");
	if (ev->type == PROCCACHE_EVENT_LOST) {
		check(!proc && !parent, "LOST with a process");
		goto out;
	}
	if (!proc) {
		fail("event %u without its process", ev->type);
		goto out;
	}
	/* The readers check many snapshots already; a sample here keeps the
	 * writer fast enough for a TSan run of 2 M events. */
	if (atomic_load(&events_sent) % 4 == 0)
		check_snapshot(proc);
	k = proccache_process__key(proc);
	check(k.pid == ev->pid, "callback for pid %u on event of %u", k.pid,
	      ev->pid);
	p = t_lookup(&w->tally, k);
	check(p == proc, "lookup in a callback is not the event's entry");
	proccache_process__unref(p);
	p = t_lookup_pid(&w->tally, ev->pid);
	if (ev->type == PROCCACHE_EVENT_EXIT) {
		check(proccache_process__state(proc) == PROCCACHE_STATE_EXITED,
		      "exit callback on a %d entry",
		      (int)proccache_process__state(proc));
		check(proccache_process__exit_code(proc) == ev->exit_code,
		      "exit code %d, event says %d",
		      proccache_process__exit_code(proc), ev->exit_code);
		check(!p, "pid %u still live in its exit callback", ev->pid);
	} else {
		check(k.ktime == ev->ktime, "callback key %" PRIu64
		      ", event %" PRIu64, k.ktime, ev->ktime);
		check(proccache_process__state(proc) == PROCCACHE_STATE_LIVE,
		      "new entry not live");
		check(p == proc, "lookup_pid in a callback is not the new entry");
	}
	proccache_process__unref(p);

	n = t_ancestors(&w->tally, k, anc, 2, 0);
	if (parent) {
		check(key_eq(proccache_process__key(parent),
			     proccache_process__parent_key(proc)),
		      "callback's parent is not the entry's parent key");
		check(n >= 1 && anc[0] == parent,
		      "first ancestor is not the callback's parent (%d)", n);
	} else {
		check(n == 0, "no parent in the callback, %d ancestors", n);
	}
	if (n > 0)
		unref_all(anc, n);
out:
	cb_depth--;
	return 0;
}

/* Returns a negative value now and then: ingest must pass it back. */
static int stop_fn(struct proccache *c, const struct proccache_event *ev,
		   const struct proccache_process *proc,
		   const struct proccache_process *parent, void *userdata)
{
	(void)c; (void)ev; (void)proc; (void)parent; (void)userdata;
	return atomic_load(&events_sent) % STOP_EVERY == 0 ? STOP_RET : 0;
}

/* Subscriptions changed between events. */
static void sub_churn(struct writer *w)
{
	if (n_dyn && chance(&w->rng, 500))
		dyn_remove(below(&w->rng, n_dyn));
	else
		dyn_add(w);
}

/* ------------------------------------------------------------------------ */
/* The writer                                                                */
/* ------------------------------------------------------------------------ */

static void advance_clock(struct writer *w, uint64_t seq)
{
	uint32_t phase = (uint32_t)(seq / PHASE_LEN) % 6;

	if (phase == 4)
		return; /* time barely moves (new images only): exited entries
			 * pile up to the cap */
	atomic_fetch_add_explicit(&fake_now,
				  chance(&w->rng, 2) ? 10 * GRACE_NS : TICK_NS,
				  memory_order_relaxed);
}

static bool verbose;

/* PROCCACHE_STRESS_VERBOSE=1: one line per phase, to tune the workload. */
static void trace_phase(struct writer *w, uint64_t seq)
{
	static uint64_t last_phase = UINT64_MAX;
	struct proccache_stats s = { .sz = sizeof(s) };

	if (!verbose || seq / PHASE_LEN == last_phase)
		return;
	last_phase = seq / PHASE_LEN;
	proccache__stats(pc, &s);
	printf("phase %" PRIu64 " (%" PRIu64 "): model live %u, cache live %"
	       PRIu64 " exited %" PRIu64 ", reclaims %" PRIu64 " evictions %"
	       PRIu64 " refused %" PRIu64 "\n", last_phase, last_phase % 6,
	       w->nlive, s.entries_live, s.entries_exited, s.reclaims,
	       s.evictions_full, s.refused_full);
}

static void writer_step(struct writer *w)
{
	uint64_t seq = atomic_load(&events_sent);
	bool burst = (seq / PHASE_LEN) % 6 == 5;
	uint32_t target = burst ? BURST_LIVE : NORMAL_LIVE;
	uint32_t r = below(&w->rng, 1000), fork_pm, exec_pm;

	trace_phase(w, seq);
	advance_clock(w, seq);
	if (r < 60) {
		if (r >= 40)
			do_disorder(w);
		else if (r < 8)
			do_stale_exec(w);
		else if (r < 14)
			do_dup_exit(w);
		else if (r < 19)
			do_unknown_exit(w);
		else if (r < 21)
			do_invalid(w);
		else if (r < 22)
			do_lost(w);
		else if (r < 30)
			proccache__tick(pc);
		else if (r < 32)
			sub_churn(w);
		else
			do_exec(w);
		return;
	}
	if (w->nlive < target) {
		fork_pm = burst ? 750 : 450;
		exec_pm = burst ? 200 : 250;
	} else {
		fork_pm = 250;
		exec_pm = 250;
	}
	r = below(&w->rng, 1000);
	if (r < fork_pm)
		do_fork(w);
	else if (r < fork_pm + exec_pm)
		do_exec(w);
	else
		do_random_exit(w);
}

static void writer_start(struct writer *w)
{
	struct proccache_event ev;
	struct image im;
	uint64_t before, after;
	int ret;

	for (uint32_t pid = PID_SPACE - 1; pid >= 2; pid--)
		w->freep[w->nfree++] = pid;
	w->next_idx = 1;
	if (new_idx(w) != 1)
		fail("init's image index");
	w->procs[1] = (struct mproc){ .alive = true, .execd = true, .idx = 1,
				      .start_idx = 1 };
	live_add(w, 1);
	build_exec(w, &ev, &im, 1, 1, (struct proccache_key){ 0 },
		   (struct proccache_key){ 0 }, 1);
	ret = send_counted(w, &ev, &before, &after);
	expect_new(w, ret, 1, 1, before, after, "init");
}

/*
 * Every process exits, then the clock passes the hold (every held exit
 * expires) and the grace, round after round, until the cache is empty.
 */
static void writer_drain(struct writer *w)
{
	struct proccache_stats s = { .sz = sizeof(s) };
	int rounds = 0;

	w->draining = true;
	while (w->nlive)
		do_exit(w, w->live[below(&w->rng, w->nlive)], false);
	for (uint32_t pid = 1; pid < PID_SPACE; pid++) {
		struct proccache_event ev;

		if (!atomic_load(&live_slot[pid]))
			continue;
		/* Behind a lost exit: another process, ended by pid. */
		build_exit(w, &ev, pid, 0, live_start_idx(w, pid, 0));
		check(send_counted(w, &ev, NULL, NULL) == 0,
		      "exit of a stale entry");
	}
	proccache__stats(pc, &s);
	check(s.entries_live == 0, "%" PRIu64 " live entries after every exit",
	      s.entries_live);
	while ((s.entries_exited || s.pending) && rounds++ < 100000) {
		atomic_fetch_add(&fake_now,
				 (GRACE_NS > HOLD_NS ? GRACE_NS : HOLD_NS) + 1);
		proccache__tick(pc);
		proccache__stats(pc, &s);
	}
	printf("drain: %d grace periods to empty the cache\n", rounds);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	writer_start(w);
	while (atomic_load(&events_sent) < w->n_events)
		writer_step(w);
	writer_drain(w);
	tally_flush(&w->tally);
	atomic_store(&writer_done, true);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

static struct reader *spawn_reader(struct rng *rng, bool short_lived)
{
	struct reader *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	r->rng.s = rnd(rng);
	r->quota = short_lived ? 1 + below(rng, 300)
			       : 5000 + below(rng, 100000);
	r->last.sz = sizeof(r->last);
	atomic_fetch_add(&n_reader_threads, 1);
	if (pthread_create(&r->thread, NULL, reader_main, r)) {
		perror("pthread_create");
		exit(2);
	}
	return r;
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return fallback;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0) {
		fprintf(stderr, "%s: not a positive number: %s\n", name, s);
		exit(2);
	}
	return v;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The stats after the drain must match what the writer sent. */
static void final_checks(struct writer *w)
{
	struct proccache_stats s = { .sz = sizeof(s) };
	uint64_t seen = 0;

	check(proccache__stats(pc, &s) == 0, "stats");
	printf("stats: live %" PRIu64 " exited %" PRIu64 " inserts %" PRIu64
	       " reclaims %" PRIu64 " evictions_full %" PRIu64
	       " refused_full %" PRIu64 "\n"
	       "       exec %" PRIu64 " clone %" PRIu64 " exit %" PRIu64
	       " lost %" PRIu64 "/%" PRIu64 " parent_unknown %" PRIu64
	       " exit_unknown %" PRIu64 "\n"
	       "       duplicates %" PRIu64 " out_of_order %" PRIu64
	       " invalid %" PRIu64 " pid_reuse %" PRIu64 " lookups %" PRIu64
	       " misses %" PRIu64 "\n"
	       "       held %" PRIu64 " applied %" PRIu64 " expired %" PRIu64
	       " adopted %" PRIu64 " (%" PRIu64 " by the out-of-order cases)\n"
	       "       out of order: exit before exec %" PRIu64
	       ", exit before clone %" PRIu64 ", exec after exit %" PRIu64
	       ", late parent %" PRIu64 ", late clone %" PRIu64 "\n",
	       s.entries_live, s.entries_exited, s.inserts, s.reclaims,
	       s.evictions_full, s.refused_full, s.events_exec, s.events_clone,
	       s.events_exit, s.events_lost, s.lost, s.parent_unknown,
	       s.exit_unknown, s.duplicates, s.out_of_order, s.invalid,
	       s.pid_reuse, s.lookups, s.lookup_misses, w->ret_held,
	       s.pending_applied, s.pending_expired, s.adopted, w->exp_adopted,
	       w->n_disorder[0], w->n_disorder[1], w->n_disorder[2],
	       w->n_disorder[3], w->late_linked);
	check(s.entries_live == 0 && s.entries_exited == 0,
	      "cache not empty at the end: %" PRIu64 " live, %" PRIu64 " exited",
	      s.entries_live, s.entries_exited);
	check(s.inserts == s.reclaims + s.evictions_full,
	      "inserts %" PRIu64 " != reclaims %" PRIu64 " + evictions %" PRIu64,
	      s.inserts, s.reclaims, s.evictions_full);
	check(s.events_exec == w->sent_exec && s.events_clone == w->sent_clone &&
		      s.events_exit == w->sent_exit &&
		      s.events_lost == w->sent_lost && s.lost == w->lost_sum,
	      "event counts: exec %" PRIu64 "/%" PRIu64 " clone %" PRIu64
	      "/%" PRIu64 " exit %" PRIu64 "/%" PRIu64 " lost %" PRIu64
	      "/%" PRIu64, s.events_exec, w->sent_exec, s.events_clone,
	      w->sent_clone, s.events_exit, w->sent_exit, s.events_lost,
	      w->sent_lost);
	check(s.invalid == w->sent_invalid, "invalid %" PRIu64 ", sent %" PRIu64,
	      s.invalid, w->sent_invalid);
	check(s.refused_full == w->ret_nospc,
	      "refused_full %" PRIu64 ", -ENOSPC returned %" PRIu64,
	      s.refused_full, w->ret_nospc);
	/* A late clone that links counts as out of order, one that taught
	 * nothing returns DUPLICATE without counting one. */
	check(s.duplicates == w->ret_dup - w->late_dup,
	      "duplicates %" PRIu64 ", DUPLICATE returned %" PRIu64
	      " (%" PRIu64 " by late clones)", s.duplicates, w->ret_dup,
	      w->late_dup);
	check(s.out_of_order == w->ret_ignored + w->late_linked + w->late_exec,
	      "out_of_order %" PRIu64 ", IGNORED returned %" PRIu64
	      ", late clones linked %" PRIu64 ", late execs %" PRIu64,
	      s.out_of_order, w->ret_ignored, w->late_linked, w->late_exec);
	/* Every held exit was applied or expired, as the model says. */
	check(s.pending == 0 && w->ret_held == w->exp_applied + w->exp_expired &&
		      s.pending_applied == w->exp_applied &&
		      s.pending_expired == w->exp_expired &&
		      s.exit_unknown == w->exp_expired,
	      "held %" PRIu64 " (pending %" PRIu64 "): applied %" PRIu64
	      "/%" PRIu64 ", expired %" PRIu64 "/%" PRIu64
	      ", exit_unknown %" PRIu64, w->ret_held, s.pending,
	      s.pending_applied, w->exp_applied, s.pending_expired,
	      w->exp_expired, s.exit_unknown);
	/* Refused parents that come back later adopt too: a floor. */
	check(s.adopted >= w->exp_adopted, "adopted %" PRIu64 ", want >= %"
	      PRIu64, s.adopted, w->exp_adopted);
	check(s.pid_reuse == w->expect_reuse, "pid_reuse %" PRIu64 ", want %" PRIu64,
	      s.pid_reuse, w->expect_reuse);
	check(s.lookups == atomic_load(&total_lookups) &&
		      s.lookup_misses == atomic_load(&total_misses),
	      "lookups %" PRIu64 "/%" PRIu64 " misses %" PRIu64 "/%" PRIu64,
	      s.lookups, atomic_load(&total_lookups), s.lookup_misses,
	      atomic_load(&total_misses));
	check(proccache__iterate(pc, (proccache_iter_fn)NULL, NULL) == -EINVAL,
	      "iterate without a callback");
	{
		struct iter_ctx c = { 0 };
		struct reader dummy = { .rng = { 1 } };

		c.r = &dummy;
		check(proccache__iterate(pc, iter_cb, &c) == 0, "iterate");
		seen = c.seen;
	}
	check(seen == 0, "iterate saw %" PRIu64 " entries in an empty cache",
	      seen);
	if (w->n_events >= 200000) {
		/* Proof that the paths under test ran at all. */
		check(s.evictions_full && s.refused_full && s.reclaims &&
			      s.pid_reuse && s.duplicates && s.out_of_order &&
			      s.exit_unknown && s.parent_unknown && w->stops &&
			      s.pending_applied && s.pending_expired &&
			      s.adopted && w->late_linked && w->late_exec &&
			      w->n_disorder[0] && w->n_disorder[1] &&
			      w->n_disorder[2] && w->n_disorder[3],
		      "a path never ran (evictions %" PRIu64 " refusals %" PRIu64
		      " reuse %" PRIu64 " stops %" PRIu64 ")",
		      s.evictions_full, s.refused_full, s.pid_reuse, w->stops);
		check(atomic_load(&n_stable_checks) && atomic_load(&n_chains) &&
			      atomic_load(&n_held_verified) &&
			      atomic_load(&n_iterations) && dyn_calls &&
			      atomic_load(&max_chain) >= 32,
		      "a reader check never ran (max chain %" PRIu64 ")",
		      atomic_load(&max_chain));
	}
}

int main(void)
{
	/* N_READERS long-lived readers, and one slot of short-lived ones
	 * whose epoch records are recycled all the time. */
	struct reader *readers[N_READERS + 1];
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = NODE_NAME,
		       .max_entries = MAX_ENTRIES, .grace_ns = GRACE_NS,
		       .hold_ns = HOLD_NS, .clock = test_clock);
	struct proccache_sub *check_sub, *stop_sub;
	struct rng rng = { env_u64("PROCCACHE_STRESS_SEED", 0x5eed) };
	struct timespec t0;
	pthread_t writer_thread;
	struct writer *w;
	double secs;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sysconf(_SC_CLK_TCK) != USER_HZ) {
		/* Start times compare by tick: images must be a tick apart. */
		fprintf(stderr, "USER_HZ is %ld, not %d\n",
			sysconf(_SC_CLK_TCK), USER_HZ);
		return 2;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return 2;
	W = w;
	w->rng.s = rnd(&rng);
	w->n_events = env_u64("PROCCACHE_STRESS_EVENTS", DEFAULT_EVENTS);
	verbose = getenv("PROCCACHE_STRESS_VERBOSE") != NULL;
	printf("stress_concurrency: %" PRIu64 " events, %d+1 reader threads at a "
	       "time, cap %u, grace %llu ns, hold %llu ns (test clock), "
	       "seed %" PRIu64 "\n",
	       w->n_events, N_READERS, MAX_ENTRIES, GRACE_NS, HOLD_NS, rng.s);

	pc = proccache__new(&opts);
	if (!pc) {
		perror("proccache__new");
		return 2;
	}
	check_sub = proccache__subscribe(pc, PROCCACHE_EVENT_EXEC |
					 PROCCACHE_EVENT_CLONE |
					 PROCCACHE_EVENT_EXIT |
					 PROCCACHE_EVENT_LOST,
					 check_fn, w, NULL);
	stop_sub = proccache__subscribe(pc, PROCCACHE_EVENT_EXEC |
					PROCCACHE_EVENT_CLONE |
					PROCCACHE_EVENT_EXIT,
					stop_fn, NULL, NULL);
	if (!check_sub || !stop_sub)
		return 2;
	dyn_add(w);
	dyn_add(w);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i <= N_READERS; i++)
		readers[i] = spawn_reader(&rng, i == N_READERS);
	if (pthread_create(&writer_thread, NULL, writer_main, w))
		return 2;
	while (!atomic_load(&writer_done)) {
		struct timespec pause = { 0, 2000000 };

		nanosleep(&pause, NULL);
		for (int i = 0; i <= N_READERS; i++) {
			struct reader *old = readers[i];

			if (!atomic_load(&old->finished))
				continue;
			/* The replacement starts while the old thread may
			 * still be exiting (its epoch record being freed). */
			readers[i] = spawn_reader(&rng, i == N_READERS);
			pthread_join(old->thread, NULL);
			free(old);
		}
	}
	pthread_join(writer_thread, NULL);
	for (int i = 0; i <= N_READERS; i++) {
		pthread_join(readers[i]->thread, NULL);
		free(readers[i]);
	}
	secs = seconds_since(&t0);

	final_checks(w);
	printf("readers: %" PRIu64 " threads, %" PRIu64 " snapshots checked, %"
	       PRIu64 " live-key checks, %" PRIu64 " chains (longest %" PRIu64
	       "), %" PRIu64 " held-reference checks, %" PRIu64 " iterations\n",
	       atomic_load(&n_reader_threads), atomic_load(&n_snapshots_checked),
	       atomic_load(&n_stable_checks), atomic_load(&n_chains),
	       atomic_load(&max_chain), atomic_load(&n_held_verified),
	       atomic_load(&n_iterations));
	printf("subscriptions: %" PRIu64 " made, %" PRIu64 " ended, %" PRIu64
	       " callbacks, %" PRIu64 " stopped dispatches\n",
	       dyn_subscribed + 2, dyn_unsubscribed, dyn_calls, w->stops);

	freeing = true;
	proccache_sub__unsubscribe(stop_sub);
	proccache__free(pc);
	check(dyn_destroyed == dyn_subscribed,
	      "%" PRIu64 " subscriptions, %" PRIu64 " destroyed", dyn_subscribed,
	      dyn_destroyed);
	(void)check_sub;
	free(w);

	printf("%" PRIu64 " events in %.1f s (%.0f events/s with readers "
	       "running)\n", atomic_load(&events_sent), secs,
	       (double)atomic_load(&events_sent) / secs);
	if (atomic_load(&violations)) {
		printf("FAIL: %" PRIu64 " violations\n", atomic_load(&violations));
		return 1;
	}
	printf("PASS\n");
	return 0;
}
