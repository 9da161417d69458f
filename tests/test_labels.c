/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inherited labels (docs/labels.md) through the public ingest API, one
 * Criterion test per row: a label set before or after a clone, an exec
 * after it (with the exec-clear mask), a re-exec, an exec whose clone was
 * not seen, and children adopted by a parent that arrived after them.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include <proccache/proccache.h>

/* The label an exec clears in these tests; the others pass. */
#define CLEAR 0x2u
#define SEC(n) ((uint64_t)(n) * 1000000000ull)

enum op {
	END = 0,
	EXEC,   /* pid kt ppid pkt; start = arg (0: unknown) */
	CLONE,  /* pid kt ppid pkt */
	EXIT,   /* pid kt */
	CREDS,  /* pid kt: uid becomes arg */
	SET,    /* pid kt: set arg, clear mask */
	LABELS, /* pid kt has labels arg */
};

struct step {
	enum op op;
	uint32_t pid;
	uint64_t kt;
	uint32_t ppid;
	uint64_t pkt;
	uint64_t arg;
	uint64_t mask;
};

struct scenario {
	const char *name;
	struct step steps[16];
};

#define X(p, k, pp, pk) { EXEC, p, SEC(k), pp, SEC(pk), 0, 0 }
#define XS(p, k, pp, pk, s) { EXEC, p, SEC(k), pp, SEC(pk), SEC(s), 0 }
#define C(p, k, pp, pk) { CLONE, p, SEC(k), pp, SEC(pk), 0, 0 }
#define E(p, k) { EXIT, p, SEC(k), 0, 0, 0, 0 }
#define CR(p, k, uid) { CREDS, p, SEC(k), 0, 0, uid, 0 }
#define SETL(p, k, set, clr) { SET, p, SEC(k), 0, 0, set, clr }
#define L(p, k, l) { LABELS, p, SEC(k), 0, 0, l, 0 }
/* A labelled ancestor: pid 50, exec'd at 5 s, with labels 0x3. */
#define ROOT X(50, 5, 0, 0), SETL(50, 5, 0x3, 0)

static const struct scenario scenarios[] = {
	{ "clone after the label is set: inherits",
	  { ROOT, C(100, 10, 50, 5), L(100, 10, 0x3) } },
	{ "clone before the label is set: does not",
	  { X(50, 5, 0, 0), C(100, 10, 50, 5), SETL(50, 5, 0x3, 0),
	    L(100, 10, 0), L(50, 5, 0x3) } },
	{ "exec after the clone: minus the exec-clear mask",
	  { ROOT, C(100, 10, 50, 5), X(100, 11, 50, 5), L(100, 11, 0x1),
	    L(100, 10, 0x3) } },
	{ "re-exec keeps its own labels minus the mask",
	  { ROOT, X(50, 6, 0, 0), L(50, 6, 0x1), X(50, 7, 0, 0),
	    L(50, 7, 0x1) } },
	{ "exec whose clone was not seen: from the named parent",
	  { ROOT, X(100, 11, 50, 5), L(100, 11, 0x1) } },
	{ "label set on the clone before its exec passes the exec",
	  { X(50, 5, 0, 0), C(100, 10, 50, 5), SETL(100, 10, 0x5, 0),
	    X(100, 11, 50, 5), L(100, 11, 0x5), L(50, 5, 0) } },
	{ "clear mask of a set call, and a set on an exited entry",
	  { ROOT, SETL(50, 5, 0x8, 0x1), L(50, 5, 0xa), E(50, 5),
	    SETL(50, 5, 0, 0x8), L(50, 5, 0x2) } },
	{ "exit and creds change keep the labels",
	  { ROOT, C(100, 10, 50, 5), CR(100, 10, 1000), L(100, 10, 0x3),
	    E(100, 10), L(100, 10, 0x3) } },
	{ "grandchildren: clone of a clone of an exec",
	  { ROOT, C(100, 10, 50, 5), X(100, 11, 50, 5),
	    C(101, 12, 100, 11), L(101, 12, 0x1), X(101, 13, 100, 11),
	    L(101, 13, 0x1) } },
	{ "late parent adopts a clone: the clone inherits",
	  { ROOT, C(101, 12, 100, 10), L(101, 12, 0), C(100, 10, 50, 5),
	    L(100, 10, 0x3), L(101, 12, 0x3) } },
	{ "late parent adopts an exec: inherits minus the mask",
	  { ROOT, X(101, 13, 100, 10), L(101, 13, 0), C(100, 10, 50, 5),
	    L(101, 13, 0x1) } },
	{ "adoption adds to the child's own labels",
	  { ROOT, C(101, 12, 100, 10), SETL(101, 12, 0x10, 0),
	    C(100, 10, 50, 5), L(101, 12, 0x13) } },
	{ "late clone links an exec to its forker: inherits minus the mask",
	  { ROOT, XS(101, 13, 0, 0, 12), L(101, 13, 0), C(101, 12, 50, 5),
	    L(101, 13, 0x1) } },
};

#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static uint64_t now;

static uint64_t test_clock(void *userdata)
{
	(void)userdata;
	return now;
}

static struct proccache *new_cache(void)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "test",
		       .clock = test_clock, .exec_clear_labels = CLEAR);
	struct proccache *pc;

	now = SEC(1000);
	pc = proccache__new(&opts);
	cr_assert_not_null(pc);
	return pc;
}

static int ingest(struct proccache *pc, const struct step *s)
{
	PROCCACHE_OPTS(proccache_event, ev, .pid = s->pid, .tid = s->pid,
		       .ktime = s->kt, .binary = "/bin/x",
		       .parent = { .pid = s->ppid, .ktime = s->pkt });

	switch (s->op) {
	case EXEC:
		ev.type = PROCCACHE_EVENT_EXEC;
		ev.start_time = s->arg;
		break;
	case CLONE:
		ev.type = PROCCACHE_EVENT_CLONE;
		ev.binary = NULL;
		break;
	case EXIT:
		ev.type = PROCCACHE_EVENT_EXIT;
		break;
	default:
		ev.type = PROCCACHE_EVENT_CREDS;
		ev.creds.uid = (uint32_t)s->arg;
		ev.creds_mask = 1u << PROCCACHE_CRED_UID;
		break;
	}
	return proccache__ingest(pc, &ev);
}

static void run(const struct scenario *sc)
{
	struct proccache *pc = new_cache();

	for (int i = 0; sc->steps[i].op != END; i++) {
		const struct step *s = &sc->steps[i];
		struct proccache_key k = { .pid = s->pid, .ktime = s->kt };
		struct proccache_process *p;
		int ret;

		switch (s->op) {
		case SET:
			ret = proccache__set_labels(pc, &k, s->arg, s->mask);
			cr_assert_eq(ret, 0, "%s step %d: set_labels %d",
				     sc->name, i, ret);
			break;
		case LABELS:
			p = proccache__lookup(pc, &k);
			cr_assert_not_null(p, "%s step %d: %u not cached",
					   sc->name, i, s->pid);
			cr_expect_eq(proccache_process__labels(p), s->arg,
				     "%s step %d: pid %u has labels %#llx, "
				     "want %#llx", sc->name, i, s->pid,
				     (unsigned long long)proccache_process__labels(p),
				     (unsigned long long)s->arg);
			proccache_process__unref(p);
			break;
		default:
			ret = ingest(pc, s);
			cr_assert(ret == PROCCACHE_INGEST_APPLIED,
				  "%s step %d: ingest %d", sc->name, i, ret);
			break;
		}
	}
	proccache__free(pc);
}

ParameterizedTestParameters(labels, rules)
{
	static size_t rows[N_SCENARIOS];

	for (size_t i = 0; i < N_SCENARIOS; i++)
		rows[i] = i;
	return cr_make_param_array(size_t, rows, N_SCENARIOS);
}

ParameterizedTest(size_t *row, labels, rules)
{
	cr_log_info("scenario %s", scenarios[*row].name);
	run(&scenarios[*row]);
}

Test(labels, set_labels_arguments)
{
	struct proccache *pc = new_cache();
	struct step s = X(50, 5, 0, 0);
	struct proccache_key live = { .pid = 50 }, missing = { .pid = 51 };
	struct proccache_key bad = { .pid = 50, .pad = 1 };
	struct proccache_process *p;

	cr_assert_eq(ingest(pc, &s), 0);
	cr_expect_eq(proccache__set_labels(NULL, &live, 1, 0), -EINVAL);
	cr_expect_eq(proccache__set_labels(pc, NULL, 1, 0), -EINVAL);
	cr_expect_eq(proccache__set_labels(pc, &bad, 1, 0), -EINVAL);
	cr_expect_eq(proccache__set_labels(pc, &missing, 1, 0), -ENOENT);
	/* ktime 0: the live entry of the pid */
	cr_expect_eq(proccache__set_labels(pc, &live, 1ull << 63, 0), 0);
	p = proccache__lookup_pid(pc, 50);
	cr_assert_not_null(p);
	cr_expect_eq(proccache_process__labels(p), 1ull << 63);
	proccache_process__unref(p);
	proccache__free(pc);
}

/* A snapshot taken before a change keeps its labels: snapshots are
 * immutable, the change publishes a new one. */
Test(labels, held_snapshot_unchanged)
{
	struct proccache *pc = new_cache();
	struct step s = X(50, 5, 0, 0);
	struct proccache_key k = { .pid = 50, .ktime = SEC(5) };
	struct proccache_process *before, *after;

	cr_assert_eq(ingest(pc, &s), 0);
	before = proccache__lookup(pc, &k);
	cr_assert_eq(proccache__set_labels(pc, &k, 0x4, 0), 0);
	after = proccache__lookup(pc, &k);
	cr_expect_eq(proccache_process__labels(before), 0);
	cr_expect_eq(proccache_process__labels(after), 0x4);
	cr_expect_str_eq(proccache_process__binary(after), "/bin/x");
	proccache_process__unref(before);
	proccache_process__unref(after);
	proccache__free(pc);
}

/* The EDR use: a subscriber labels an exec as it is seen; the process's
 * later clones carry the label. */
static int label_shells(struct proccache *pc, const struct proccache_event *ev,
			const struct proccache_process *p,
			const struct proccache_process *parent, void *userdata)
{
	struct proccache_key k = proccache_process__key(p);

	(void)ev, (void)parent, (void)userdata;
	if (strcmp(proccache_process__binary(p), "/bin/sh") == 0)
		return proccache__set_labels(pc, &k, 0x40, 0);
	return 0;
}

Test(labels, set_from_a_callback)
{
	struct proccache *pc = new_cache();
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 60, .ktime = SEC(6), .binary = "/bin/sh");
	struct step clone = C(61, 7, 60, 6);
	struct proccache_key k = { .pid = 61, .ktime = SEC(7) };
	struct proccache_process *p;

	cr_assert_not_null(proccache__subscribe(pc, PROCCACHE_EVENT_EXEC,
						label_shells, NULL, NULL));
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	cr_assert_eq(ingest(pc, &clone), 0);
	p = proccache__lookup(pc, &k);
	cr_assert_not_null(p);
	cr_expect_eq(proccache_process__labels(p), 0x40);
	proccache_process__unref(p);
	proccache__free(pc);
}
