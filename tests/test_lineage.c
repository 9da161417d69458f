/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lineage rules, table driven: each scenario is a list of events and checks
 * run against a cache with a test clock. See docs/process-model.md.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proccache/proccache.h>

#define GRACE 1000u
/* How long exits are held for their exec or clone in these tests. */
#define HOLD 5000u
/* Realistic start times, seconds apart (distinct /proc ticks); the test
 * clock starts after them. */
#define SEC(n) ((uint64_t)(n) * 1000000000ull)

enum op {
	END = 0,
	EXEC,    /* pid kt ppid pkt: exec, parent named by the sensor */
	EXEC_PREV, /* pid kt ppid pkt: exec naming parent and, in arg, the
		    * ktime of the image it replaces */
	CLONE,   /* pid kt ppid pkt */
	EXIT,    /* pid kt arg=exit code */
	KILL,    /* pid kt arg=signal */
	LOST,    /* arg=count */
	ADVANCE, /* arg=ns, then tick */
	RET,     /* arg=expected return of the previous ingest */
	PARENT,  /* pid kt has parent ppid pkt ({0,0} = none) */
	STATE,   /* pid kt is in state arg */
	LIVE,    /* the live entry of pid is kt (kt 0: none) */
	GONE,    /* pid kt is not cached */
	FLAGS,   /* pid kt has all of flags arg */
	NOFLAGS, /* pid kt has none of flags arg */
	EXITCODE, /* pid kt exited with code arg */
	SIGNAL,  /* pid kt was killed by signal arg */
	DEPTH,   /* pid kt has arg ancestors */
	SAMEBIN, /* pid kt and ppid pkt share one binary string (no copy) */
	STAT,    /* stats field at offset ppid equals arg */
	EMPTY,   /* no entry cached at all */
	TID,     /* pid kt has tid arg */
	CALLS,   /* the subscriber saw exactly .calls since the last CALLS */
	CBRET,   /* the subscriber returns arg from now on */
};

struct step {
	enum op op;
	uint32_t pid;
	uint64_t kt;
	uint32_t ppid;
	uint64_t pkt;
	int64_t arg;
	/* optional event fields */
	uint64_t start; /* exec: process start time */
	uint64_t time;  /* exit: exit time */
	uint32_t tid;
	uint32_t flags;
	const char *calls; /* CALLS: the callbacks since the last CALLS */
};

struct scenario {
	const char *name;
	uint32_t max_entries;
	struct step steps[40];
};

#define S(field) (uint32_t)offsetof(struct proccache_stats, field)

static uint64_t test_now;
static char calls[512];
static int cb_ret;

static int record(struct proccache *pc, const struct proccache_event *ev,
		  const struct proccache_process *p,
		  const struct proccache_process *parent, void *userdata)
{
	const char *type = ev->type == PROCCACHE_EVENT_EXEC    ? "exec"
			   : ev->type == PROCCACHE_EVENT_CLONE ? "clone"
			   : ev->type == PROCCACHE_EVENT_EXIT  ? "exit"
							       : "other";
	size_t len = strlen(calls);

	(void)pc, (void)parent, (void)userdata;
	snprintf(calls + len, sizeof(calls) - len, "%s%s %u", len ? "," : "",
		 type, p ? proccache_process__pid(p) : 0);
	return cb_ret;
}

static uint64_t test_clock(void *userdata)
{
	(void)userdata;
	return test_now;
}

static struct proccache *new_cache(uint32_t max_entries)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "test",
		       .max_entries = max_entries, .grace_ns = GRACE,
		       .hold_ns = HOLD, .clock = test_clock);
	struct proccache *pc;

	test_now = SEC(1000);
	pc = proccache__new(&opts);
	cr_assert_not_null(pc);
	cr_assert_not_null(proccache__subscribe(
		pc, PROCCACHE_EVENT_EXEC | PROCCACHE_EVENT_CLONE |
			    PROCCACHE_EVENT_EXIT,
		record, NULL, NULL));
	calls[0] = '\0';
	cb_ret = 0;
	return pc;
}

static int ingest(struct proccache *pc, const struct step *s)
{
	char binary[64];
	PROCCACHE_OPTS(proccache_event, ev, .pid = s->pid,
		       .tid = s->tid ? s->tid : s->pid, .ktime = s->kt,
		       .binary = binary, .start_time = s->start,
		       .time = s->time, .flags = s->flags);

	snprintf(binary, sizeof(binary), "/bin/p%u-%llu", s->pid,
		 (unsigned long long)s->kt);
	switch (s->op) {
	case EXEC:
		ev.type = PROCCACHE_EVENT_EXEC;
		ev.parent = (struct proccache_key){ .pid = s->ppid, .ktime = s->pkt };
		break;
	case EXEC_PREV:
		ev.type = PROCCACHE_EVENT_EXEC;
		ev.parent = (struct proccache_key){ .pid = s->ppid, .ktime = s->pkt };
		ev.prev = (struct proccache_key){ .pid = s->pid,
						  .ktime = (uint64_t)s->arg };
		break;
	case CLONE:
		ev.type = PROCCACHE_EVENT_CLONE;
		ev.parent = (struct proccache_key){ .pid = s->ppid, .ktime = s->pkt };
		ev.binary = NULL;
		break;
	case EXIT:
		ev.type = PROCCACHE_EVENT_EXIT;
		ev.exit_code = (int32_t)s->arg;
		break;
	case KILL:
		ev.type = PROCCACHE_EVENT_EXIT;
		ev.exit_signal = (int32_t)s->arg;
		break;
	default:
		ev.type = PROCCACHE_EVENT_LOST;
		ev.lost = (uint64_t)s->arg;
		break;
	}
	return proccache__ingest(pc, &ev);
}

static struct proccache_process *get(struct proccache *pc, uint32_t pid,
				     uint64_t kt, const char *name, int i)
{
	struct proccache_key k = { .pid = pid, .ktime = kt };
	struct proccache_process *p = proccache__lookup(pc, &k);

	cr_assert_not_null(p, "%s step %d: %u/%llu not cached", name, i, pid,
			   (unsigned long long)kt);
	return p;
}

static int count_entry(const struct proccache_process *p, void *userdata)
{
	(void)p;
	(*(int *)userdata)++;
	return 0;
}

static void check(struct proccache *pc, const struct step *s, const char *name,
		  int i)
{
	struct proccache_process *p = NULL, *q, *anc[128];
	struct proccache_key pk;
	struct proccache_stats st;
	int n;

	switch (s->op) {
	case PARENT:
		p = get(pc, s->pid, s->kt, name, i);
		pk = proccache_process__parent_key(p);
		cr_expect(pk.pid == s->ppid && pk.ktime == s->pkt,
			  "%s step %d: parent of %u/%llu is %u/%llu, want %u/%llu",
			  name, i, s->pid, (unsigned long long)s->kt, pk.pid,
			  (unsigned long long)pk.ktime, s->ppid,
			  (unsigned long long)s->pkt);
		break;
	case STATE:
		p = get(pc, s->pid, s->kt, name, i);
		cr_expect_eq(proccache_process__state(p), s->arg,
			     "%s step %d: state %d want %lld", name, i,
			     proccache_process__state(p), (long long)s->arg);
		break;
	case LIVE:
		p = proccache__lookup_pid(pc, s->pid);
		if (!s->kt) {
			cr_expect_null(p, "%s step %d: pid %u still live", name,
				       i, s->pid);
			break;
		}
		cr_assert_not_null(p, "%s step %d: pid %u not live", name, i,
				   s->pid);
		cr_expect_eq(proccache_process__ktime(p), s->kt,
			     "%s step %d: live %u is %llu", name, i, s->pid,
			     (unsigned long long)proccache_process__ktime(p));
		break;
	case GONE: {
		struct proccache_key k = { .pid = s->pid, .ktime = s->kt };

		p = proccache__lookup(pc, &k);
		cr_expect_null(p, "%s step %d: %u/%llu still cached", name, i,
			       s->pid, (unsigned long long)s->kt);
		cr_expect_eq(errno, ENOENT);
		break;
	}
	case FLAGS:
	case NOFLAGS:
		p = get(pc, s->pid, s->kt, name, i);
		n = (int)(proccache_process__flags(p) & (uint32_t)s->arg);
		if (s->op == FLAGS)
			cr_expect_eq((uint32_t)n, (uint32_t)s->arg,
				     "%s step %d: flags %#x lack %#llx", name, i,
				     proccache_process__flags(p),
				     (long long)s->arg);
		else
			cr_expect_eq(n, 0, "%s step %d: flags %#x have %#llx",
				     name, i, proccache_process__flags(p),
				     (long long)s->arg);
		break;
	case EXITCODE:
		p = get(pc, s->pid, s->kt, name, i);
		cr_expect_eq(proccache_process__exit_code(p), s->arg, "%s step %d",
			     name, i);
		cr_expect_neq(proccache_process__exit_time(p), 0);
		break;
	case SIGNAL:
		p = get(pc, s->pid, s->kt, name, i);
		cr_expect_eq(proccache_process__exit_signal(p), s->arg,
			     "%s step %d", name, i);
		break;
	case DEPTH: {
		struct proccache_key k = { .pid = s->pid, .ktime = s->kt };

		n = proccache__ancestors(pc, &k, anc, 128, 0);
		cr_expect_eq(n, s->arg, "%s step %d: %d ancestors, want %lld",
			     name, i, n, (long long)s->arg);
		for (int j = 0; j < n; j++)
			proccache_process__unref(anc[j]);
		break;
	}
	case SAMEBIN:
		p = get(pc, s->pid, s->kt, name, i);
		q = get(pc, s->ppid, s->pkt, name, i);
		cr_expect_eq(proccache_process__binary(p),
			     proccache_process__binary(q),
			     "%s step %d: binary copied, not shared", name, i);
		proccache_process__unref(q);
		break;
	case STAT:
		st.sz = sizeof(st);
		cr_assert_eq(proccache__stats(pc, &st), 0);
		cr_expect_eq(*(uint64_t *)((char *)&st + s->ppid), (uint64_t)s->arg,
			     "%s step %d: stat at %u is %llu, want %lld", name,
			     i, s->ppid,
			     (unsigned long long)*(uint64_t *)((char *)&st +
							       s->ppid),
			     (long long)s->arg);
		break;
	case TID:
		p = get(pc, s->pid, s->kt, name, i);
		cr_expect_eq(proccache_process__tid(p), (uint32_t)s->arg,
			     "%s step %d: tid %u want %lld", name, i,
			     proccache_process__tid(p), (long long)s->arg);
		break;
	case CALLS:
		cr_expect_str_eq(calls, s->calls, "%s step %d: calls \"%s\"",
				 name, i, calls);
		calls[0] = '\0';
		break;
	case EMPTY:
		n = 0;
		cr_assert_eq(proccache__iterate(pc, count_entry, &n), 0);
		cr_expect_eq(n, 0, "%s step %d: %d entries left", name, i, n);
		st.sz = sizeof(st);
		proccache__stats(pc, &st);
		cr_expect_eq(st.entries_live + st.entries_exited, 0,
			     "%s step %d: stats count %llu live %llu exited",
			     name, i, (unsigned long long)st.entries_live,
			     (unsigned long long)st.entries_exited);
		break;
	default:
		cr_assert_fail("bad op %d", s->op);
	}
	proccache_process__unref(p);
}

static void run(const struct scenario *sc)
{
	struct proccache *pc = new_cache(sc->max_entries);
	int last = 0;

	for (int i = 0; sc->steps[i].op != END; i++) {
		const struct step *s = &sc->steps[i];

		switch (s->op) {
		case EXEC:
		case EXEC_PREV:
		case CLONE:
		case EXIT:
		case KILL:
		case LOST:
			test_now += 10;
			last = ingest(pc, s);
			cr_expect(last >= 0 || s[1].op == RET,
				  "%s step %d: ingest failed %d", sc->name, i,
				  last);
			break;
		case ADVANCE:
			test_now += (uint64_t)s->arg;
			proccache__tick(pc);
			break;
		case RET:
			cr_expect_eq(last, s->arg, "%s step %d: returned %d",
				     sc->name, i, last);
			break;
		case CBRET:
			cb_ret = (int)s->arg;
			break;
		default:
			check(pc, s, sc->name, i);
		}
	}
	proccache__free(pc);
}

/* Shorthands for the tables. */
#define E(p, k, pp, pk) { .op = EXEC, .pid = p, .kt = k, .ppid = pp, .pkt = pk, .arg = 0 }
#define ES(p, k, pp, pk, st) { .op = EXEC, .pid = p, .kt = k, .ppid = pp, .pkt = pk, .arg = 0, .start = st }
#define EP(p, k, pp, pk, prev) { .op = EXEC_PREV, .pid = p, .kt = k, .ppid = pp, .pkt = pk, .arg = prev }
#define EPS(p, k, pp, pk, prev, st) { .op = EXEC_PREV, .pid = p, .kt = k, .ppid = pp, .pkt = pk, .arg = prev, .start = st }
#define C(p, k, pp, pk) { .op = CLONE, .pid = p, .kt = k, .ppid = pp, .pkt = pk, .arg = 0 }
#define X(p, k, code) { .op = EXIT, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = code }
#define XT(p, k, code, t) { .op = EXIT, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = code, .time = t }
#define K(p, k, sig) { .op = KILL, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = sig }
#define ADV(ns) { .op = ADVANCE, .pid = 0, .kt = 0, .ppid = 0, .pkt = 0, .arg = ns }
#define R(v) { .op = RET, .pid = 0, .kt = 0, .ppid = 0, .pkt = 0, .arg = v }
#define PAR(p, k, pp, pk) { .op = PARENT, .pid = p, .kt = k, .ppid = pp, .pkt = pk, .arg = 0 }
#define ST(p, k, s) { .op = STATE, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = PROCCACHE_STATE_##s }
#define LV(p, k) { .op = LIVE, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = 0 }
#define GN(p, k) { .op = GONE, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = 0 }
#define FL(p, k, f) { .op = FLAGS, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = f }
#define NF(p, k, f) { .op = NOFLAGS, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = f }
#define DP(p, k, d) { .op = DEPTH, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = d }
#define CODE(p, k, c) { .op = EXITCODE, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = c }
#define TD(p, k, t) { .op = TID, .pid = p, .kt = k, .ppid = 0, .pkt = 0, .arg = t }
#define CL(str) { .op = CALLS, .calls = str }
#define CBR(v) { .op = CBRET, .pid = 0, .kt = 0, .ppid = 0, .pkt = 0, .arg = v }
#define STAT_EQ(field, v) { .op = STAT, .pid = 0, .kt = 0, .ppid = S(field), .pkt = 0, .arg = v }
#define INIT E(1, 10, 0, 0)
#define HELD R(PROCCACHE_INGEST_HELD)
#define DUP R(PROCCACHE_INGEST_DUPLICATE)
#define IGN R(PROCCACHE_INGEST_IGNORED)
#define OK R(PROCCACHE_INGEST_APPLIED)
#define EMPTY_ { .op = EMPTY, .pid = 0, .kt = 0, .ppid = 0, .pkt = 0, .arg = 0 }
#define UNKNOWN PROCCACHE_F_PARENT_UNKNOWN
#define EAC PROCCACHE_F_EXEC_AFTER_CLONE

/* The rules in order; then each disorder rule once per order its events
 * can arrive in (docs/process-model.md, "Events out of order"). */
static const struct scenario scenarios[] = {
	{ "fork_exec_reexec_exit", 0, {
		INIT, C(100, 20, 1, 10), E(100, 30, 0, 0),
		PAR(100, 30, 1, 10), ST(100, 20, RETIRED), ST(100, 30, LIVE),
		FL(100, 30, PROCCACHE_F_EXECVE | EAC),
		NF(100, 30, PROCCACHE_F_CLONE),
		E(100, 40, 0, 0), PAR(100, 40, 100, 30), ST(100, 30, RETIRED),
		NF(100, 40, EAC), LV(100, 40), DP(100, 40, 2), X(100, 0, 3),
		ST(100, 40, EXITED), CODE(100, 40, 3), LV(100, 0),
		STAT_EQ(events_exec, 3), STAT_EQ(events_clone, 1),
		STAT_EQ(entries_live, 1), STAT_EQ(entries_exited, 3),
	} },
	{ "clone_without_exec", 0, {
		INIT, C(100, 20, 1, 10), ST(100, 20, LIVE),
		FL(100, 20, PROCCACHE_F_CLONE), NF(100, 20, PROCCACHE_F_EXECVE),
		PAR(100, 20, 1, 10), { .op = SAMEBIN, .pid = 100, .kt = 20, .ppid = 1, .pkt = 10, .arg = 0 },
		LV(100, 20), K(100, 0, 9), ST(100, 20, EXITED),
		{ .op = SIGNAL, .pid = 100, .kt = 20, .ppid = 0, .pkt = 0, .arg = 9 },
	} },
	{ "clone_exec_reclaims_clone_after_grace", 0, {
		INIT, C(100, 20, 1, 10), E(100, 30, 0, 0), ST(100, 20, RETIRED),
		ADV(GRACE - 100), ST(100, 20, RETIRED), ADV(200), GN(100, 20),
		ST(100, 30, LIVE), PAR(100, 30, 1, 10),
		STAT_EQ(reclaims, 1),
	} },
	{ "orphan_parent_exits_first", 0, {
		INIT, C(100, 20, 1, 10), E(100, 30, 0, 0),
		C(200, 40, 100, 30), E(200, 50, 0, 0), X(100, 0, 0),
		ST(100, 30, EXITED), ADV(5 * GRACE), ST(100, 30, EXITED),
		PAR(200, 50, 100, 30), DP(200, 50, 2),
		X(200, 0, 0), ADV(GRACE + 1), GN(200, 50), ST(100, 30, EXITED),
		ADV(GRACE + 1), GN(100, 30), ST(1, 10, LIVE),
	} },
	{ "exit_before_children", 0, {
		INIT, C(100, 20, 1, 10), C(101, 21, 100, 20),
		C(102, 22, 100, 20), X(100, 0, 0), ADV(3 * GRACE),
		ST(100, 20, EXITED), PAR(101, 21, 100, 20), DP(102, 22, 2),
		X(101, 0, 0), ADV(GRACE + 1), GN(101, 21), ST(100, 20, EXITED),
		X(102, 0, 0), ADV(GRACE + 1), GN(102, 22), ST(100, 20, EXITED),
		ADV(GRACE + 1), GN(100, 20),
	} },
	{ "pid_reuse_new_ktime", 0, {
		INIT, C(100, 20, 1, 10), E(100, 30, 0, 0),
		C(100, 90, 1, 10), OK, ST(100, 30, EXITED),
		FL(100, 30, PROCCACHE_F_EXIT_INFERRED), LV(100, 90),
		PAR(100, 90, 1, 10), STAT_EQ(pid_reuse, 1),
	} },
	{ "pid_reuse_seen_by_exec_prev", 0, {
		INIT, C(100, 20, 1, 10), E(100, 30, 0, 0),
		EP(100, 50, 1, 10, 45),
		ST(100, 30, EXITED), FL(100, 30, PROCCACHE_F_EXIT_INFERRED),
		PAR(100, 50, 1, 10), LV(100, 50), STAT_EQ(pid_reuse, 1),
	} },
	{ "pid_reuse_seen_by_exec_start_time", 0, {
		/* a sensor that knows the process start, not the image key */
		INIT, C(100, SEC(2), 1, 10), ES(100, SEC(9), 1, 10, SEC(8)),
		ST(100, SEC(2), EXITED),
		FL(100, SEC(2), PROCCACHE_F_EXIT_INFERRED), LV(100, SEC(9)),
		PAR(100, SEC(9), 1, 10), STAT_EQ(pid_reuse, 1),
		/* the same start (cut to the /proc tick) is the same process */
		ES(100, SEC(10), 1, 10, SEC(8) + 5), ST(100, SEC(9), RETIRED),
		PAR(100, SEC(10), 100, SEC(9)), STAT_EQ(pid_reuse, 1),
	} },
	{ "exec_naming_its_previous_image", 0, {
		INIT, C(100, 20, 1, 10), EP(100, 30, 0, 0, 20),
		PAR(100, 30, 1, 10), ST(100, 20, RETIRED),
		EP(100, 40, 0, 0, 30), PAR(100, 40, 100, 30),
		STAT_EQ(pid_reuse, 0),
	} },
	{ "grace_reclaim", 0, {
		INIT, C(100, 20, 1, 10), X(100, 20, 0), ST(100, 20, EXITED),
		ADV(GRACE - 1), ST(100, 20, EXITED), ADV(20), GN(100, 20),
		STAT_EQ(reclaims, 1), STAT_EQ(entries_exited, 0),
	} },
	{ "cap_evicts_exited_oldest_first", 4, {
		INIT, C(100, 20, 1, 10), C(101, 21, 1, 10), C(102, 22, 1, 10),
		X(101, 0, 0), X(100, 0, 0),
		C(103, 23, 1, 10), OK, GN(101, 21), ST(100, 20, EXITED),
		C(104, 24, 1, 10), OK, GN(100, 20), LV(102, 22),
		C(105, 25, 1, 10), R(-ENOSPC), GN(105, 25),
		STAT_EQ(evictions_full, 2), STAT_EQ(refused_full, 1),
		LV(1, 10), LV(102, 22), LV(103, 23), LV(104, 24),
	} },
	{ "cap_keeps_exited_ancestors_of_live", 3, {
		INIT, C(100, 20, 1, 10), C(101, 21, 100, 20), X(100, 0, 0),
		C(102, 22, 1, 10), R(-ENOSPC), ST(100, 20, EXITED),
		DP(101, 21, 2), STAT_EQ(refused_full, 1),
	} },
	{ "duplicates_are_idempotent", 0, {
		INIT, E(1, 10, 0, 0), DUP, C(100, 20, 1, 10),
		C(100, 20, 1, 10), DUP, E(100, 30, 0, 0), E(100, 30, 0, 0),
		DUP, X(100, 30, 0), X(100, 30, 0), DUP,
		STAT_EQ(duplicates, 4), ADV(GRACE + 1), GN(100, 30),
		GN(100, 20), X(1, 0, 0), ADV(GRACE + 1), EMPTY_,
	} },
	{ "stale_exec_is_ignored", 0, {
		/* an older image of a pid after a newer one: not recorded as
		 * history, the newer image stays */
		INIT, C(100, SEC(2), 1, 10), E(100, SEC(5), 0, 0),
		E(100, SEC(4), 0, 0), IGN, LV(100, SEC(5)), GN(100, SEC(4)),
		ST(100, SEC(2), RETIRED), STAT_EQ(out_of_order, 1),
	} },
	{ "exit_of_an_older_process_is_ignored", 0, {
		INIT, C(100, SEC(5), 1, 10), X(100, SEC(2), 0), IGN,
		LV(100, SEC(5)), STAT_EQ(out_of_order, 1), STAT_EQ(pending, 0),
	} },
	{ "exit_naming_the_clone_key_after_exec", 0, {
		INIT, C(100, 20, 1, 10), E(100, 30, 0, 0), X(100, 20, 7), OK,
		ST(100, 30, EXITED), CODE(100, 30, 7),
	} },
	{ "exit_naming_the_start_of_an_uncached_clone", 0, {
		INIT, ES(100, SEC(3), 1, 10, SEC(2)), X(100, SEC(2), 7), OK,
		ST(100, SEC(3), EXITED), CODE(100, SEC(3), 7),
	} },
	{ "unknown_parent_is_flagged", 0, {
		C(50, 100, 40, 99), FL(50, 100, UNKNOWN),
		PAR(50, 100, 40, 99), DP(50, 100, 0),
		E(60, 100, 40, 0), FL(60, 100, UNKNOWN),
		PAR(60, 100, 40, 0), STAT_EQ(parent_unknown, 2),
		E(1, 5, 0, 0), NF(1, 5, UNKNOWN),
	} },
	/* Found by tests/fuzz (ingest): the exec of a clone whose parent
	 * was unknown showed the named parent without the flag, so the
	 * parent looked cached when it was not. */
	{ "unknown_parent_flag_survives_exec", 0, {
		C(50, 100, 40, 99), E(50, 200, 40, 99),
		FL(50, 200, PROCCACHE_F_PARENT_UNKNOWN), PAR(50, 200, 40, 99),
		DP(50, 200, 0), GN(40, 99),
		/* pid 1's parent is pid 0: none, not unknown */
		C(1, 5, 0, 0), E(1, 6, 0, 0),
		NF(1, 6, PROCCACHE_F_PARENT_UNKNOWN),
		/* a parent only the exec names, not cached: unknown too */
		C(60, 100, 0, 0), E(60, 200, 40, 99),
		FL(60, 200, PROCCACHE_F_PARENT_UNKNOWN), PAR(60, 200, 40, 99),
	} },
	{ "parent_named_by_start_time_after_it_exec_d", 0, {
		/* 100 started at 20000005 (clone key), exec'd at 30000000;
		 * a /proc reader names it by its start tick, 20000000. */
		INIT, C(100, 20000005, 1, 10), E(100, 30000000, 0, 0),
		C(200, 40000000, 100, 20000000), PAR(200, 40000000, 100, 30000000),
		NF(200, 40000000, UNKNOWN),
		/* another tick is another process: not guessed */
		C(201, 40000001, 100, 10000000), FL(201, 40000001, UNKNOWN),
	} },
	{ "lost_is_counted", 0, {
		{ .op = LOST, .pid = 0, .kt = 0, .ppid = 0, .pkt = 0, .arg = 5 }, OK, STAT_EQ(events_lost, 1),
		STAT_EQ(lost, 5),
	} },
	{ "deep_chain_unwinds_completely", 0, {
		INIT, C(2, 11, 1, 10), C(3, 12, 2, 11), C(4, 13, 3, 12),
		C(5, 14, 4, 13), C(6, 15, 5, 14), C(7, 16, 6, 15),
		C(8, 17, 7, 16), C(9, 18, 8, 17), DP(9, 18, 8),
		X(1, 0, 0), X(2, 0, 0), X(3, 0, 0), X(4, 0, 0), X(5, 0, 0),
		X(6, 0, 0), X(7, 0, 0), X(8, 0, 0), DP(9, 18, 8),
		ADV(10 * GRACE), DP(9, 18, 8), X(9, 0, 0),
		ADV(GRACE + 1), ADV(GRACE + 1), ADV(GRACE + 1), ADV(GRACE + 1),
		ADV(GRACE + 1), ADV(GRACE + 1), ADV(GRACE + 1), ADV(GRACE + 1),
		ADV(GRACE + 1), EMPTY_,
	} },
	/* ---- TID rules ---- */
	{ "tid_after_exec_is_the_pid", 0, {
		INIT, { .op = EXEC, .pid = 600, .kt = SEC(3), .ppid = 1, .pkt = 10, .arg = 0, .tid = 603 }, TD(600, SEC(3), 600),
		{ .op = CLONE, .pid = 700, .kt = SEC(4), .ppid = 1, .pkt = 10, .arg = 0, .tid = 700 }, TD(700, SEC(4), 700),
		{ .op = EXIT, .pid = 600, .kt = 0, .ppid = 0, .pkt = 0, .arg = 0, .tid = 605 }, TD(600, SEC(3), 600),
	} },
	/* ---- exit before its exec or clone, every order ---- */
	{ "exit_then_clone", 0, {
		INIT, CL("exec 1"), X(100, 0, 3), HELD, STAT_EQ(pending, 1),
		C(100, SEC(2), 1, 10), OK, ST(100, SEC(2), EXITED),
		CODE(100, SEC(2), 3), LV(100, 0), CL("clone 100,exit 100"),
		STAT_EQ(pending, 0), STAT_EQ(pending_applied, 1),
		ADV(HOLD + 1), STAT_EQ(pending_expired, 0),
	} },
	{ "clone_then_exit", 0, {
		INIT, CL("exec 1"), C(100, SEC(2), 1, 10), X(100, 0, 3), OK,
		ST(100, SEC(2), EXITED), CL("clone 100,exit 100"),
		STAT_EQ(pending_applied, 0),
	} },
	{ "exit_naming_its_key_then_clone", 0, {
		INIT, X(100, SEC(2), 3), HELD, C(100, SEC(2), 1, 10), OK,
		ST(100, SEC(2), EXITED), CODE(100, SEC(2), 3),
	} },
	{ "exit_then_exec_of_an_unknown_process", 0, {
		INIT, CL("exec 1"), X(100, SEC(3), 4), HELD,
		ES(100, SEC(3), 1, 10, SEC(2)), OK, ST(100, SEC(3), EXITED),
		CODE(100, SEC(3), 4), CL("exec 100,exit 100"),
	} },
	{ "clone_exit_exec_exit_overtakes_exec", 0, {
		/* BPF: the exit names the exec's key, which is not in yet */
		INIT, CL("exec 1"), C(100, SEC(2), 1, 10), X(100, SEC(3), 4),
		HELD, LV(100, SEC(2)), EP(100, SEC(3), 0, 0, SEC(2)), OK,
		ST(100, SEC(2), RETIRED), ST(100, SEC(3), EXITED),
		CODE(100, SEC(3), 4), PAR(100, SEC(3), 1, 10), LV(100, 0),
		CL("clone 100,exec 100,exit 100"), STAT_EQ(pending_applied, 1),
	} },
	{ "clone_exec_exit_in_order", 0, {
		INIT, CL("exec 1"), C(100, SEC(2), 1, 10),
		EP(100, SEC(3), 0, 0, SEC(2)), X(100, SEC(3), 4), OK,
		ST(100, SEC(2), RETIRED), ST(100, SEC(3), EXITED),
		CL("clone 100,exec 100,exit 100"), STAT_EQ(pending_applied, 0),
	} },
	{ "held_exit_whose_exec_was_lost", 0, {
		/* the exec never comes: at the end of the hold the exit ends
		 * the image the pid had */
		INIT, C(100, SEC(2), 1, 10), X(100, SEC(3), 4), HELD,
		ADV(HOLD - 1), LV(100, SEC(2)), ADV(2), LV(100, 0),
		ST(100, SEC(2), EXITED), CODE(100, SEC(2), 4),
		STAT_EQ(pending_applied, 1), STAT_EQ(pending, 0),
	} },
	{ "exit_twice_with_its_time_is_a_duplicate", 0, {
		INIT, C(100, SEC(2), 1, 10), XT(100, 0, 1, SEC(4)), OK,
		XT(100, 0, 1, SEC(4)), DUP, STAT_EQ(pending, 0),
		C(100, SEC(5), 1, 10), LV(100, SEC(5)),
	} },
	{ "held_exit_expires", 0, {
		X(77, 0, 1), HELD, STAT_EQ(pending, 1), ADV(HOLD + 1),
		STAT_EQ(pending, 0), STAT_EQ(pending_expired, 1),
		STAT_EQ(exit_unknown, 1), EMPTY_,
	} },
	{ "held_exit_is_not_given_to_a_later_process", 0, {
		INIT, XT(100, 0, 1, SEC(5)), HELD, C(100, SEC(6), 1, 10), OK,
		LV(100, SEC(6)), STAT_EQ(pending, 1), ADV(HOLD + 1),
		LV(100, SEC(6)), STAT_EQ(pending_expired, 1),
	} },
	{ "exec_after_its_exit_was_applied", 0, {
		/* reconciliation ended the clone (the process was gone) before
		 * the ring delivered its exec: the exec is the image that
		 * exited */
		INIT, CL("exec 1"), C(100, SEC(2), 1, 10),
		{ .op = EXIT, .pid = 100, .kt = 0, .ppid = 0, .pkt = 0, .arg = 0, .flags = PROCCACHE_F_EXIT_INFERRED },
		EP(100, SEC(3), 0, 0, SEC(2)), OK, ST(100, SEC(2), RETIRED),
		ST(100, SEC(3), EXITED), PAR(100, SEC(3), 1, 10), LV(100, 0),
		FL(100, SEC(3), PROCCACHE_F_EXIT_INFERRED),
		CL("clone 100,exit 100,exec 100,exit 100"),
		STAT_EQ(out_of_order, 1), STAT_EQ(entries_live, 1),
	} },
	{ "exec_after_its_exit_known_by_start_time", 0, {
		/* the same, from a sensor that knows no image key */
		INIT, C(100, SEC(2), 1, 10), XT(100, 0, 6, SEC(4)),
		ES(100, SEC(3), 0, 0, SEC(2)), OK, ST(100, SEC(3), EXITED),
		CODE(100, SEC(3), 6), ST(100, SEC(2), RETIRED), LV(100, 0),
	} },
	{ "exec_after_an_exit_of_another_process", 0, {
		/* the pid's last process exited before this exec: a new one */
		INIT, C(100, SEC(2), 1, 10), XT(100, 0, 6, SEC(3)),
		ES(100, SEC(4), 1, 10, SEC(4)), OK, LV(100, SEC(4)),
		ST(100, SEC(2), EXITED),
	} },
	/* A subscriber that stops the exec's dispatch does not stop the
	 * cache's update: the exit still ends the exec (found by the stress
	 * test: its stopper hit an exec with its exit held, a late exec). */
	{ "stopped_dispatch_still_applies_the_held_exit", 0, {
		INIT, X(100, SEC(3), 4), HELD, CBR(-EPROTO),
		ES(100, SEC(3), 1, 10, SEC(2)), R(-EPROTO),
		ST(100, SEC(3), EXITED), CODE(100, SEC(3), 4), LV(100, 0),
		STAT_EQ(pending, 0), STAT_EQ(pending_applied, 1),
	} },
	{ "stopped_dispatch_still_ends_the_late_exec", 0, {
		INIT, C(100, SEC(2), 1, 10), XT(100, 0, 6, SEC(4)), OK,
		CBR(-EPROTO), ES(100, SEC(3), 0, 0, SEC(2)), R(-EPROTO),
		ST(100, SEC(3), EXITED), CODE(100, SEC(3), 6),
		ST(100, SEC(2), RETIRED), LV(100, 0),
	} },
	/* ---- clone after the child's exec, every order ---- */
	{ "exec_then_clone", 0, {
		INIT, ES(100, SEC(3), 0, 0, SEC(2)), DP(100, SEC(3), 0),
		C(100, SEC(2), 1, 10), OK, GN(100, SEC(2)), LV(100, SEC(3)),
		PAR(100, SEC(3), 1, 10), DP(100, SEC(3), 1),
		FL(100, SEC(3), EAC), NF(100, SEC(3), UNKNOWN),
		STAT_EQ(out_of_order, 1), STAT_EQ(entries_live, 2),
	} },
	{ "exec_with_unknown_parent_then_clone", 0, {
		ES(100, SEC(3), 50, SEC(1), SEC(2)), FL(100, SEC(3), UNKNOWN),
		C(50, SEC(1), 0, 0), C(100, SEC(2), 50, SEC(1)), OK,
		PAR(100, SEC(3), 50, SEC(1)), NF(100, SEC(3), UNKNOWN),
		DP(100, SEC(3), 1),
	} },
	{ "exec_with_known_parent_then_clone", 0, {
		INIT, ES(100, SEC(3), 1, 10, SEC(2)), C(100, SEC(2), 1, 10), OK,
		FL(100, SEC(3), EAC), C(100, SEC(2), 1, 10), DUP,
		PAR(100, SEC(3), 1, 10),
	} },
	{ "clone_of_an_older_process_after_exec", 0, {
		INIT, ES(100, SEC(5), 1, 10, SEC(5)), C(100, SEC(2), 1, 10), IGN,
		NF(100, SEC(5), EAC), GN(100, SEC(2)), STAT_EQ(out_of_order, 1),
	} },
	/* ---- parent after its children, every order ---- */
	{ "child_then_parent", 0, {
		INIT, C(200, SEC(3), 100, SEC(2)), FL(200, SEC(3), UNKNOWN),
		DP(200, SEC(3), 0), C(100, SEC(2), 1, 10),
		NF(200, SEC(3), UNKNOWN), PAR(200, SEC(3), 100, SEC(2)),
		DP(200, SEC(3), 2), STAT_EQ(adopted, 1),
		/* kept while the child names it */
		X(100, 0, 0), ADV(5 * GRACE), ST(100, SEC(2), EXITED),
		X(200, 0, 0), ADV(GRACE + 1), GN(200, SEC(3)), ADV(GRACE + 1),
		GN(100, SEC(2)),
	} },
	{ "parent_then_child", 0, {
		INIT, C(100, SEC(2), 1, 10), C(200, SEC(3), 100, SEC(2)),
		NF(200, SEC(3), UNKNOWN), DP(200, SEC(3), 2),
		STAT_EQ(adopted, 0),
	} },
	{ "child_then_parent_from_a_proc_scan", 0, {
		/* the child names the parent's exact start; the scan keys it
		 * by its start tick */
		INIT, C(200, SEC(3), 100, SEC(2) + 1234), FL(200, SEC(3), UNKNOWN),
		{ .op = EXEC, .pid = 100, .kt = SEC(2), .ppid = 1, .pkt = 10, .arg = 0, .start = SEC(2),
		  .flags = PROCCACHE_F_PROCFS },
		PAR(200, SEC(3), 100, SEC(2)), DP(200, SEC(3), 2),
	} },
	{ "child_and_its_exec_then_parent", 0, {
		INIT, C(200, SEC(3), 100, SEC(2)), E(200, SEC(4), 0, 0),
		FL(200, SEC(4), UNKNOWN), PAR(200, SEC(4), 100, SEC(2)),
		C(100, SEC(2), 1, 10), PAR(200, SEC(4), 100, SEC(2)),
		NF(200, SEC(4), UNKNOWN), DP(200, SEC(4), 2),
		STAT_EQ(adopted, 2),
	} },
	{ "parent_named_by_pid_only_arrives_later", 0, {
		INIT, ES(200, SEC(3), 100, 0, SEC(3)), FL(200, SEC(3), UNKNOWN),
		PAR(200, SEC(3), 100, 0), C(100, SEC(2), 1, 10),
		PAR(200, SEC(3), 100, SEC(2)), DP(200, SEC(3), 2),
	} },
	{ "pid_only_parent_is_not_a_later_process", 0, {
		INIT, ES(200, SEC(3), 100, 0, SEC(3)), C(100, SEC(6), 1, 10),
		FL(200, SEC(3), UNKNOWN), PAR(200, SEC(3), 100, 0),
		STAT_EQ(adopted, 0),
	} },
	{ "adoption_never_makes_a_cycle", 0, {
		/* a host's own events: 200 names 100, then 100 names 200 */
		C(200, SEC(3), 100, SEC(2)), C(100, SEC(2), 200, SEC(3)),
		PAR(100, SEC(2), 200, SEC(3)), FL(200, SEC(3), UNKNOWN),
		DP(100, SEC(2), 1), DP(200, SEC(3), 0), STAT_EQ(adopted, 0),
		/* a late clone cannot close one either */
		ES(300, SEC(5), 0, 0, SEC(4)), C(400, SEC(6), 300, SEC(5)),
		C(300, SEC(4), 400, SEC(6)), DP(300, SEC(5), 0),
	} },
	{ "child_reclaimed_before_its_parent_came", 0, {
		INIT, C(200, SEC(3), 100, SEC(2)), X(200, 0, 0), ADV(GRACE + 1),
		GN(200, SEC(3)), C(100, SEC(2), 1, 10), STAT_EQ(adopted, 0),
		DP(100, SEC(2), 1),
	} },
};

#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* The parameter is the row's index: Criterion runs each test in a new
 * process image, where pointers from the parent's table would dangle. */
ParameterizedTestParameters(lineage, rules)
{
	static size_t rows[N_SCENARIOS];

	for (size_t i = 0; i < N_SCENARIOS; i++)
		rows[i] = i;
	return cr_make_param_array(size_t, rows, N_SCENARIOS);
}

ParameterizedTest(size_t *row, lineage, rules)
{
	cr_log_info("scenario %s", scenarios[*row].name);
	run(&scenarios[*row]);
}

Test(lineage, references_outlive_reclaim)
{
	struct proccache *pc = new_cache(0);
	struct step steps[] = { INIT, C(100, 20, 1, 10), X(100, 0, 4) };
	struct proccache_process *live, *exited;
	struct proccache_key k = { .pid = 100, .ktime = 20 };

	ingest(pc, &steps[0]);
	ingest(pc, &steps[1]);
	live = proccache__lookup(pc, &k);
	cr_assert_not_null(live);
	ingest(pc, &steps[2]);
	exited = proccache__lookup(pc, &k);
	cr_assert_not_null(exited);
	test_now += 10 * GRACE;
	cr_assert_eq(proccache__tick(pc), 1);
	cr_assert_null(proccache__lookup(pc, &k));
	/* The snapshots taken before are intact and unchanged. */
	cr_expect_eq(proccache_process__state(live), PROCCACHE_STATE_LIVE);
	cr_expect_eq(proccache_process__exit_code(live), 0);
	cr_expect_eq(proccache_process__state(exited), PROCCACHE_STATE_EXITED);
	cr_expect_eq(proccache_process__exit_code(exited), 4);
	cr_expect_str_eq(proccache_process__binary(exited), "/bin/p1-10");
	proccache_process__unref(live);
	proccache_process__unref(exited);
	proccache__free(pc);
}

Test(lineage, grace_none_reclaims_at_once)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "n",
		       .grace_ns = PROCCACHE_GRACE_NONE, .clock = test_clock);
	struct proccache *pc = proccache__new(&opts);
	struct step steps[] = { INIT, C(100, 20, 1, 10), X(100, 0, 0) };
	struct proccache_key k = { .pid = 100, .ktime = 20 };

	test_now = SEC(1000);
	cr_assert_not_null(pc);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(ingest(pc, &steps[i]), 0);
	cr_expect_null(proccache__lookup(pc, &k));
	proccache__free(pc);
}
