/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Process context through the public ingest API (docs/process-model.md,
 * "Sessions and entry leaders"), one Criterion test per row: init and
 * kernel threads, an sshd login, a terminal (script), a console login,
 * setsid, a new pid namespace, events without context, re-execs, and each
 * order in which a child and its parent can arrive.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include <proccache/proccache.h>

#define SEC(n) ((uint64_t)(n) * 1000000000ull)
/* tty_nr encodings, as /proc/<pid>/stat prints them. */
#define PTS3 ((136u << 8) | 3u)
#define TTY1 ((4u << 8) | 1u)

enum op {
	END = 0,
	EXEC,  /* pid kt ppid pkt, facts comm sid tty, nspid; a_kt: start */
	CLONE, /* pid kt ppid pkt, nspid */
	LEAD,  /* pid kt: session leader (a), entry leader (b), type */
	FACTS, /* pid kt: comm sid tty */
};

struct step {
	enum op op;
	uint32_t pid;
	uint64_t kt;
	uint32_t ppid;
	uint64_t pkt;
	const char *comm;
	uint32_t sid, tty, nspid;
	uint32_t a_pid;
	uint64_t a_kt;
	uint32_t b_pid;
	uint64_t b_kt;
	enum proccache_entry_type type;
};

struct scenario {
	const char *name;
	struct step steps[16];
};

#define X(p, k, pp, pk, c, s, t)                                               \
	{ EXEC, p, SEC(k), pp, SEC(pk), c, s, t, 0, 0, 0, 0, 0, 0 }
#define XNS(p, k, pp, pk, c, s, ns)                                            \
	{ EXEC, p, SEC(k), pp, SEC(pk), c, s, 0, ns, 0, 0, 0, 0, 0 }
/* An exec whose event carries no context (a host sensor of 1.1). */
#define XN(p, k, pp, pk)                                                       \
	{ EXEC, p, SEC(k), pp, SEC(pk), NULL, 0, 0, 0, 0, 0, 0, 0, 0 }
#define C(p, k, pp, pk) { CLONE, p, SEC(k), pp, SEC(pk), NULL, 0, 0, 0, 0, 0, 0, 0, 0 }
#define CNS(p, k, pp, pk, ns)                                                  \
	{ CLONE, p, SEC(k), pp, SEC(pk), NULL, 0, 0, ns, 0, 0, 0, 0, 0 }
#define LD(p, k, sp, sk, ep, ek, ty)                                           \
	{ LEAD, p, SEC(k), 0, 0, NULL, 0, 0, 0, sp, SEC(sk), ep, SEC(ek),      \
	  PROCCACHE_ENTRY_##ty }
#define F(p, k, c, s, t) { FACTS, p, SEC(k), 0, 0, c, s, t, 0, 0, 0, 0, 0, 0 }
#define INIT X(1, 1, 0, 0, "systemd", 1, 0)
#define SSHD X(100, 5, 1, 1, "sshd", 100, 0)

static const struct scenario scenarios[] = {
	{ "init, kthreadd and a kernel thread",
	  { INIT, X(2, 1, 0, 0, "kthreadd", 0, 0),
	    X(30, 2, 2, 1, "kworker/0:1", 0, 0), LD(1, 1, 1, 1, 1, 1, INIT),
	    LD(2, 1, 0, 0, 2, 1, KTHREAD), LD(30, 2, 0, 0, 2, 1, KTHREAD) } },
	{ "kernel thread before kthreadd",
	  { X(30, 2, 2, 1, "kworker/0:1", 0, 0),
	    LD(30, 2, 0, 0, 2, 1, KTHREAD), X(2, 1, 0, 0, "kthreadd", 0, 0),
	    LD(30, 2, 0, 0, 2, 1, KTHREAD) } },
	{ "sshd login: the shell leads, its children inherit",
	  { INIT, SSHD, X(200, 10, 100, 5, "bash", 200, PTS3),
	    C(201, 11, 200, 10), X(201, 12, 200, 10, "ls", 200, PTS3),
	    LD(100, 5, 100, 5, 1, 1, INIT), LD(200, 10, 200, 10, 200, 10, SSHD),
	    LD(201, 11, 200, 10, 200, 10, SSHD),
	    LD(201, 12, 200, 10, 200, 10, SSHD) } },
	{ "sshd command without a tty",
	  { INIT, SSHD, C(200, 9, 100, 5), X(200, 10, 100, 5, "sh", 200, 0),
	    LD(200, 10, 200, 10, 200, 10, SSHD) } },
	{ "sshd session leader re-execs: still the sshd leader",
	  { INIT, SSHD, X(200, 10, 100, 5, "bash", 200, PTS3),
	    X(200, 11, 200, 10, "top", 200, PTS3),
	    LD(200, 11, 200, 11, 200, 11, SSHD) } },
	{ "script: a terminal session below a shell of another session",
	  { INIT, X(300, 5, 1, 1, "script", 250, 0), C(301, 6, 300, 5),
	    X(301, 7, 300, 5, "sh", 301, PTS3),
	    X(302, 8, 301, 7, "cat", 301, PTS3),
	    LD(300, 5, 0, 0, 1, 1, INIT), LD(301, 6, 0, 0, 1, 1, INIT),
	    LD(301, 7, 301, 7, 301, 7, TERMINAL),
	    LD(302, 8, 301, 7, 301, 7, TERMINAL), F(302, 8, "cat", 301, PTS3) } },
	{ "console login",
	  { INIT, X(400, 5, 1, 1, "login", 400, TTY1),
	    LD(400, 5, 400, 5, 400, 5, CONSOLE) } },
	{ "setsid without a tty: a new session, the same entry",
	  { INIT, X(500, 5, 1, 1, "sleep", 500, 0),
	    LD(500, 5, 500, 5, 1, 1, INIT) } },
	{ "session leader found by pid outside the lineage",
	  { INIT, X(300, 5, 1, 1, "bash", 300, PTS3),
	    X(310, 9, 1, 1, "daemon", 300, PTS3),
	    LD(310, 9, 300, 5, 1, 1, INIT) } },
	{ "new pid namespace: its init leads a container entry",
	  { INIT, X(600, 5, 1, 1, "unshare", 1, 0), CNS(601, 6, 600, 5, 1),
	    XNS(601, 7, 600, 5, "sh", 1, 1), CNS(602, 8, 601, 7, 2),
	    LD(600, 5, 1, 1, 1, 1, INIT), LD(601, 6, 1, 1, 601, 6, CONTAINER),
	    LD(601, 7, 1, 1, 601, 7, CONTAINER),
	    LD(602, 8, 1, 1, 601, 7, CONTAINER) } },
	{ "exec without context inherits both leaders",
	  { INIT, X(300, 5, 1, 1, "bash", 300, PTS3), XN(301, 7, 300, 5),
	    LD(301, 7, 300, 5, 300, 5, TERMINAL), F(301, 7, "", 0, 0) } },
	{ "a leader re-execs without context: still the leader",
	  { INIT, X(300, 5, 1, 1, "bash", 300, PTS3), XN(300, 6, 0, 0),
	    LD(300, 6, 300, 6, 300, 6, TERMINAL) } },
	{ "child before its parent: unknown, then inherited at adoption",
	  { INIT, X(801, 12, 800, 10, "cat", 800, 0),
	    LD(801, 12, 0, 0, 0, 0, UNKNOWN),
	    X(800, 10, 1, 1, "bash", 800, 0),
	    LD(801, 12, 800, 10, 1, 1, INIT) } },
	{ "sshd after its session's shell: sshd found at adoption",
	  { INIT, X(200, 10, 100, 5, "bash", 200, PTS3),
	    LD(200, 10, 200, 10, 200, 10, TERMINAL), SSHD,
	    LD(200, 10, 200, 10, 200, 10, SSHD) } },
	{ "clone without facts before its parent takes the parent's",
	  { INIT, C(901, 12, 900, 10), F(901, 12, "", 0, 0),
	    LD(901, 12, 0, 0, 0, 0, UNKNOWN),
	    X(900, 10, 1, 1, "bash", 900, PTS3), F(901, 12, "bash", 900, PTS3),
	    LD(901, 12, 900, 10, 900, 10, TERMINAL) } },
	{ "exec before its late clone: linked, then derived",
	  { INIT, X(300, 5, 1, 1, "bash", 300, PTS3),
	    { .op = EXEC, .pid = 301, .kt = SEC(7), .comm = "ls", .sid = 300,
	      .tty = PTS3, .a_kt = SEC(6) /* start time */ },
	    LD(301, 7, 300, 5, 0, 0, UNKNOWN),
	    C(301, 6, 300, 5), LD(301, 7, 300, 5, 300, 5, TERMINAL) } },
};

#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static uint64_t test_clock(void *userdata)
{
	(void)userdata;
	return SEC(1000);
}

static struct proccache *new_cache(void)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "test",
		       .clock = test_clock);
	struct proccache *pc = proccache__new(&opts);

	cr_assert_not_null(pc);
	return pc;
}

static int ingest(struct proccache *pc, const struct step *s)
{
	PROCCACHE_OPTS(proccache_event, ev, .pid = s->pid, .tid = s->pid,
		       .ktime = s->kt, .nspid = s->nspid,
		       .parent = { .pid = s->ppid, .ktime = s->pkt });

	ev.type = s->op == EXEC ? PROCCACHE_EVENT_EXEC : PROCCACHE_EVENT_CLONE;
	if (s->op == EXEC) {
		ev.binary = "/bin/x";
		ev.start_time = s->a_kt;
	}
	if (s->comm) {
		strncpy(ev.comm, s->comm, sizeof(ev.comm) - 1);
		ev.pgid = s->pid;
		ev.sid = s->sid;
		ev.tty = s->tty;
	}
	return proccache__ingest(pc, &ev);
}

static struct proccache_process *lookup(struct proccache *pc,
					const struct scenario *sc, int i)
{
	const struct step *s = &sc->steps[i];
	struct proccache_key k = { .pid = s->pid, .ktime = s->kt };
	struct proccache_process *p = proccache__lookup(pc, &k);

	cr_assert_not_null(p, "%s step %d: %u not cached", sc->name, i, s->pid);
	return p;
}

static void check_leaders(struct proccache *pc, const struct scenario *sc,
			  int i)
{
	const struct step *s = &sc->steps[i];
	struct proccache_process *p = lookup(pc, sc, i);
	struct proccache_key sl = proccache_process__session_leader(p);
	struct proccache_key el = proccache_process__entry_leader(p);

	cr_expect(sl.pid == s->a_pid && sl.ktime == s->a_kt,
		  "%s step %d: session leader %u/%llu, want %u/%llu", sc->name,
		  i, sl.pid, (unsigned long long)sl.ktime, s->a_pid,
		  (unsigned long long)s->a_kt);
	cr_expect(el.pid == s->b_pid && el.ktime == s->b_kt,
		  "%s step %d: entry leader %u/%llu, want %u/%llu", sc->name,
		  i, el.pid, (unsigned long long)el.ktime, s->b_pid,
		  (unsigned long long)s->b_kt);
	cr_expect_eq(proccache_process__entry_type(p), s->type,
		     "%s step %d: entry type %s, want %s", sc->name, i,
		     proccache_entry_type_name(proccache_process__entry_type(p)),
		     proccache_entry_type_name(s->type));
	proccache_process__unref(p);
}

static void check_facts(struct proccache *pc, const struct scenario *sc, int i)
{
	const struct step *s = &sc->steps[i];
	struct proccache_process *p = lookup(pc, sc, i);

	cr_expect_str_eq(proccache_process__comm(p), s->comm, "%s step %d",
			 sc->name, i);
	cr_expect_eq(proccache_process__sid(p), s->sid, "%s step %d", sc->name, i);
	cr_expect_eq(proccache_process__tty(p), s->tty, "%s step %d", sc->name, i);
	proccache_process__unref(p);
}

static void run(const struct scenario *sc)
{
	struct proccache *pc = new_cache();

	for (int i = 0; sc->steps[i].op != END; i++) {
		int ret;

		switch (sc->steps[i].op) {
		case LEAD:
			check_leaders(pc, sc, i);
			break;
		case FACTS:
			check_facts(pc, sc, i);
			break;
		default:
			ret = ingest(pc, &sc->steps[i]);
			cr_assert(ret == PROCCACHE_INGEST_APPLIED,
				  "%s step %d: ingest %d", sc->name, i, ret);
			break;
		}
	}
	proccache__free(pc);
}

ParameterizedTestParameters(context, leaders)
{
	static size_t rows[N_SCENARIOS];

	for (size_t i = 0; i < N_SCENARIOS; i++)
		rows[i] = i;
	return cr_make_param_array(size_t, rows, N_SCENARIOS);
}

ParameterizedTest(size_t *row, context, leaders)
{
	cr_log_info("scenario %s", scenarios[*row].name);
	run(&scenarios[*row]);
}

/* An event of 1.1's size carries no context: all of it stays unknown. */
Test(context, old_event_size)
{
	struct proccache *pc = new_cache();
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = 7, .ktime = SEC(3), .binary = "/bin/x");
	struct proccache_key k = { .pid = 7, .ktime = SEC(3) };
	struct proccache_process *p;

	strcpy(ev.comm, "ignored");
	ev.sid = 7;
	ev.sz = offsetof(struct proccache_event, comm);
	cr_assert_eq(proccache__ingest(pc, &ev), PROCCACHE_INGEST_APPLIED);
	p = proccache__lookup(pc, &k);
	cr_assert_not_null(p);
	cr_expect_str_eq(proccache_process__comm(p), "");
	cr_expect_eq(proccache_process__sid(p), 0);
	cr_expect_eq(proccache_process__session_leader(p).pid, 0);
	proccache_process__unref(p);
	proccache__free(pc);
}

struct tty_case {
	uint32_t major, minor;
	char name[16]; /* inline: Criterion runs each test in a new image */
};

ParameterizedTestParameters(context, tty_name)
{
	static struct tty_case cases[] = {
		{ 136, 3, "pts/3" },    { 137, 4, "pts/260" },
		{ 4, 1, "tty1" },       { 4, 64, "ttyS0" },
		{ 5, 1, "console" },    { 5, 0, "tty" },
		{ 254, 300, "254:300" },
	};

	return cr_make_param_array(struct tty_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct tty_case *c, context, tty_name)
{
	/* The kernel's new_encode_dev(). */
	uint32_t tty = (c->minor & 0xffu) | (c->major << 8) |
		       ((c->minor & ~0xffu) << 12);
	char buf[32];

	cr_expect_eq(PROCCACHE_TTY_MAJOR(tty), c->major);
	cr_expect_eq(PROCCACHE_TTY_MINOR(tty), c->minor);
	cr_expect_eq(proccache_tty_name(tty, buf, sizeof(buf)),
		     (int)strlen(c->name));
	cr_expect_str_eq(buf, c->name);
}

Test(context, tty_name_arguments)
{
	char buf[4];

	cr_expect_eq(proccache_tty_name(0, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(proccache_tty_name(PTS3, NULL, 4), -EINVAL);
	cr_expect_eq(proccache_tty_name(PTS3, buf, sizeof(buf)), 5);
	cr_expect_str_eq(buf, "pts");
	cr_expect_str_eq(proccache_entry_type_name(PROCCACHE_ENTRY_CONTAINER),
			 "container");
	cr_expect_str_eq(proccache_entry_type_name((enum proccache_entry_type)99),
			 "unknown");
}
