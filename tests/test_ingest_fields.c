/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proccache_event.unknown through the public ingest API (docs/ingest.md):
 * an exec whose sensor did not read some groups of fields takes those from
 * the image it replaces, or from its parent's when it arrives before its
 * clone, and keeps its own for the others. Every group, alone and all
 * together, in each order its events can arrive in.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include <proccache/proccache.h>

#define SEC(n) ((uint64_t)(n) * 1000000000ull)

/* Three sets of values: the parent's image, the child's first image (a
 * re-exec replaces it) and what the exec under test carries. */
struct vals {
	uint32_t base; /* creds base + i, ns base + 100 + i */
	uint32_t auid;
	uint64_t caps;
	uint64_t cgroup;
	const char *cwd, *cid;
	uint32_t nspid;
};

static const struct vals PARENT = { 1000, 500, 0x1f, 777, "/home/p",
				    "aaaaaaaaaaaa", 7 };
static const struct vals FIRST = { 3000, 700, 0x3, 999, "/srv/first",
				   "cccccccccccc", 9 };
static const struct vals EVENT = { 2000, 600, 0x2, 888, "/from/event",
				   "bbbbbbbbbbbb", 8 };

static struct proccache *pc;

static void setup(void)
{
	pc = proccache__new(NULL);
	cr_assert_not_null(pc);
}

static void teardown(void)
{
	proccache__free(pc);
}

static void fill(struct proccache_event *ev, const struct vals *v)
{
	uint32_t *creds = (uint32_t *)&ev->creds;
	uint32_t *ns = (uint32_t *)&ev->ns;

	for (unsigned int i = 0; i < PROCCACHE_CRED_AUID; i++)
		creds[i] = v->base + i;
	ev->creds.auid = v->auid;
	ev->caps.permitted = v->caps;
	ev->caps.effective = v->caps;
	for (unsigned int i = 0; i <= PROCCACHE_NS_USER; i++)
		ns[i] = v->base + 100 + i;
	ev->cgroup_id = v->cgroup;
	ev->cwd = v->cwd;
	ev->container_id = v->cid;
	ev->nspid = v->nspid;
}

static int exec(uint32_t pid, uint64_t kt, uint32_t ppid, uint64_t pkt,
		const struct vals *v, uint32_t unknown, uint32_t flags)
{
	struct proccache_event ev = {
		.sz = sizeof(ev),
		.type = PROCCACHE_EVENT_EXEC,
		.pid = pid,
		.tid = pid,
		.ktime = kt,
		.parent = { .pid = ppid, .ktime = pkt },
		.binary = "/bin/x",
		.unknown = unknown,
		.flags = flags,
	};

	fill(&ev, v);
	return proccache__ingest(pc, &ev);
}

#define CLONE_NSPID 42

static int clone(uint32_t pid, uint64_t kt, uint32_t ppid, uint64_t pkt)
{
	struct proccache_event ev = {
		.sz = sizeof(ev),
		.type = PROCCACHE_EVENT_CLONE,
		.pid = pid,
		.nspid = CLONE_NSPID,
		.tid = pid,
		.ktime = kt,
		.parent = { .pid = ppid, .ktime = pkt },
	};

	return proccache__ingest(pc, &ev);
}

/* @p's fields of group @g are @v's (NULL: empty). */
static void expect_group(const struct proccache_process *p, uint32_t g,
			 const struct vals *v, const char *what)
{
	switch (g) {
	case PROCCACHE_FIELD_CREDS:
		for (unsigned int i = 0; i < PROCCACHE_CRED_AUID; i++)
			cr_expect_eq(proccache_process__cred(p, i),
				     v ? v->base + i : (uint32_t)-1,
				     "%s: cred %u", what, i);
		cr_expect_eq(proccache_process__caps(p, PROCCACHE_CAP_EFFECTIVE),
			     v ? v->caps : 0, "%s: caps", what);
		break;
	case PROCCACHE_FIELD_AUID:
		cr_expect_eq(proccache_process__cred(p, PROCCACHE_CRED_AUID),
			     v ? v->auid : (uint32_t)-1, "%s: auid", what);
		break;
	case PROCCACHE_FIELD_CWD:
		cr_expect_str_eq(proccache_process__cwd(p), v ? v->cwd : "",
				 "%s: cwd", what);
		break;
	case PROCCACHE_FIELD_NS:
		for (unsigned int i = 0; i <= PROCCACHE_NS_USER; i++)
			cr_expect_eq(proccache_process__ns(p, i),
				     v ? v->base + 100 + i : 0, "%s: ns %u",
				     what, i);
		break;
	case PROCCACHE_FIELD_CGROUP:
		cr_expect_eq(proccache_process__cgroup_id(p), v ? v->cgroup : 0,
			     "%s: cgroup", what);
		cr_expect_str_eq(proccache_process__container_id(p),
				 v ? v->cid : "", "%s: container id", what);
		break;
	}
}

/* Groups in @unknown come from @from, the others from EVENT. The nspid
 * (from status, with the creds) is the process's own: not read, it is the
 * replaced entry's, @kept_nspid. */
static void expect_fields(uint32_t pid, uint64_t kt, uint32_t unknown,
			  const struct vals *from, uint32_t kept_nspid)
{
	struct proccache_key key = { .pid = pid, .ktime = kt };
	struct proccache_process *p = proccache__lookup(pc, &key);

	cr_assert_not_null(p, "exec %u@%llu not cached", pid,
			   (unsigned long long)kt);
	for (uint32_t g = 1; g & PROCCACHE_FIELD_ALL; g <<= 1) {
		if (unknown & g)
			expect_group(p, g, from, "not read");
		else
			expect_group(p, g, &EVENT, "read");
	}
	cr_expect_eq(proccache_process__nspid(p),
		     !(unknown & PROCCACHE_FIELD_CREDS) ? EVENT.nspid
							: kept_nspid,
		     "nspid");
	proccache_process__unref(p);
}

static const uint32_t groups[] = {
	PROCCACHE_FIELD_CREDS, PROCCACHE_FIELD_AUID, PROCCACHE_FIELD_CWD,
	PROCCACHE_FIELD_NS,    PROCCACHE_FIELD_CGROUP,
	PROCCACHE_FIELD_CWD | PROCCACHE_FIELD_NS, PROCCACHE_FIELD_ALL,
};

/* The test @name runs once per entry of groups[]. */
#define OVER_GROUPS(name)                                                      \
	ParameterizedTestParameters(fields, name)                              \
	{                                                                      \
		return cr_make_param_array(uint32_t, (void *)groups,           \
					   sizeof(groups) / sizeof(groups[0])); \
	}

OVER_GROUPS(clone_then_exec)

/* The usual order: the clone shares its parent's image, the exec takes the
 * groups it did not read from it. */
ParameterizedTest(uint32_t *g, fields, clone_then_exec, .init = setup,
		  .fini = teardown)
{
	cr_assert_eq(exec(100, SEC(1), 1, 0, &PARENT, 0, 0), 0);
	cr_assert_eq(clone(200, SEC(2), 100, SEC(1)), 0);
	cr_assert_eq(exec(200, SEC(3), 100, SEC(1), &EVENT, *g, 0), 0);
	expect_fields(200, SEC(3), *g, &PARENT, CLONE_NSPID);
}

OVER_GROUPS(exec_before_clone)

/* The exec first: no replaced image yet; the parent's gives what the
 * process had at its fork, the same entry as in the usual order. The late
 * clone changes none of it. */
ParameterizedTest(uint32_t *g, fields, exec_before_clone, .init = setup,
		  .fini = teardown)
{
	cr_assert_eq(exec(100, SEC(1), 1, 0, &PARENT, 0, 0), 0);
	cr_assert_eq(exec(200, SEC(3), 100, SEC(1), &EVENT, *g, 0), 0);
	expect_fields(200, SEC(3), *g, &PARENT, 0);
	cr_assert_geq(clone(200, SEC(2), 100, SEC(1)), 0);
	expect_fields(200, SEC(3), *g, &PARENT, 0);
}

OVER_GROUPS(re_exec)

/* A re-exec takes them from the image it replaces, not from the parent. */
ParameterizedTest(uint32_t *g, fields, re_exec, .init = setup,
		  .fini = teardown)
{
	cr_assert_eq(exec(100, SEC(1), 1, 0, &PARENT, 0, 0), 0);
	cr_assert_eq(clone(200, SEC(2), 100, SEC(1)), 0);
	cr_assert_eq(exec(200, SEC(3), 100, SEC(1), &FIRST, 0, 0), 0);
	cr_assert_eq(exec(200, SEC(4), 100, SEC(1), &EVENT, *g, 0), 0);
	expect_fields(200, SEC(4), *g, &FIRST, FIRST.nspid);
}

OVER_GROUPS(nothing_to_take_from)

/* No replaced image and no parent: empty, never the event's values and
 * never root's ids. */
ParameterizedTest(uint32_t *g, fields, nothing_to_take_from, .init = setup,
		  .fini = teardown)
{
	cr_assert_eq(exec(200, SEC(3), 0, 0, &EVENT, *g, 0), 0);
	expect_fields(200, SEC(3), *g, NULL, 0);
}

/* A vanished image keeps every group of the replaced one, whatever
 * unknown says. */
Test(fields, vanished_takes_every_group, .init = setup, .fini = teardown)
{
	struct proccache_key key = { .pid = 200, .ktime = SEC(3) };
	struct proccache_process *p;

	cr_assert_eq(exec(100, SEC(1), 1, 0, &PARENT, 0, 0), 0);
	cr_assert_eq(clone(200, SEC(2), 100, SEC(1)), 0);
	cr_assert_eq(exec(200, SEC(3), 100, SEC(1), &EVENT,
			  PROCCACHE_FIELD_CWD, PROCCACHE_F_VANISHED),
		     0);
	p = proccache__lookup(pc, &key);
	cr_assert_not_null(p);
	for (uint32_t g = 1; g & PROCCACHE_FIELD_ALL; g <<= 1)
		expect_group(p, g, &PARENT, "vanished");
	/* the process's own fact, from its stat */
	cr_expect_eq(proccache_process__nspid(p), EVENT.nspid);
	proccache_process__unref(p);
}

/* A group the library does not know: rejected, nothing cached. */
Test(fields, an_unknown_group_is_rejected, .init = setup, .fini = teardown)
{
	struct proccache_key key = { .pid = 200, .ktime = SEC(3) };

	cr_expect_eq(exec(200, SEC(3), 0, 0, &EVENT, PROCCACHE_FIELD_ALL + 1, 0),
		     -EINVAL);
	cr_expect_null(proccache__lookup(pc, &key));
}
