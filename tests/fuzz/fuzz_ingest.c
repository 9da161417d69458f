/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public ingest API fed arbitrary event sequences (few pids and start
 * times, so that they collide), a small cap and a test clock, with the
 * cache's invariants checked after every call through the public queries:
 *  - iteration, lookups by key and by pid and the stats agree: each entry
 *    once, one live entry per pid, the live and exited counts;
 *  - lineage: the parent an entry names is still cached (an entry is kept
 *    while a cached child names it) and every ancestor chain ends;
 *  - references: snapshots the host holds stay readable and unchanged,
 *    whatever is reclaimed or evicted meanwhile; all released, the cache
 *    frees without a leak (LSan);
 *  - environments: none kept without env_max, none longer than it (but
 *    for the redaction of a value the cut left shorter than "***": the
 *    events hold one TOKEN), and TOKEN's value never stored;
 *  - tags: the JSON of an entry and its parent is the same on every call
 *    (the first formats and keeps it, the next copy), its length the same
 *    without a buffer, and for the vocabularies whose own tags do not
 *    depend on the parent, the tags without the parent begin it.
 * Input: two header bytes (cap and env_max, grace), then 12 bytes per
 * operation.
 */
#define _GNU_SOURCE
#include <string.h>

#include "fuzz.h"
#include "proccache/proccache.h"

#define NPIDS 12
#define HELD_MAX 16
#define SEEN_MAX 4096
#define OP_SIZE 12

struct held {
	struct proccache_process *p;
	struct proccache_key key, parent;
	enum proccache_state state;
	uint32_t flags;
	char binary[32];
	size_t args_len, env_len;
};

struct seen {
	struct proccache_key key, parent;
	enum proccache_state state;
	uint32_t flags;
};

struct world {
	struct proccache *pc;
	uint64_t now;
	struct held held[HELD_MAX];
	int nheld;
	struct seen seen[SEEN_MAX];
	int nseen;
	uint32_t max_entries;
	size_t env_max;
};

static uint64_t test_clock(void *userdata)
{
	return ((struct world *)userdata)->now;
}

static int same_key(struct proccache_key a, struct proccache_key b)
{
	return a.ktime == b.ktime && a.pid == b.pid && a.pad == b.pad;
}

/* Subscribers see the entry the event is about, already in the cache. */
static int on_event(struct proccache *pc, const struct proccache_event *ev,
		    const struct proccache_process *process,
		    const struct proccache_process *parent, void *userdata)
{
	if (ev->type == PROCCACHE_EVENT_LOST) {
		FUZZ_CHECK(!process);
		return 0;
	}
	FUZZ_CHECK(process);
	FUZZ_CHECK(proccache_process__pid(process) == ev->pid);
	if (parent)
		FUZZ_CHECK(same_key(proccache_process__key(parent),
				    proccache_process__parent_key(process)));
	return 0;
}

static int collect(const struct proccache_process *p, void *userdata)
{
	struct world *w = userdata;
	struct seen *s;

	FUZZ_CHECK(w->nseen < SEEN_MAX);
	s = &w->seen[w->nseen++];
	s->key = proccache_process__key(p);
	s->parent = proccache_process__parent_key(p);
	s->state = proccache_process__state(p);
	s->flags = proccache_process__flags(p);
	FUZZ_CHECK(s->state <= PROCCACHE_STATE_EXITED);
	FUZZ_CHECK(s->key.pid == proccache_process__pid(p));
	return 0;
}

#define TAGS_MAX 65536

static int check_tags(const struct proccache_process *p,
		      const struct proccache_process *parent, void *userdata)
{
	static char a[TAGS_MAX], b[TAGS_MAX], own[TAGS_MAX];
	PROCCACHE_OPTS(proccache_tags_opts, opts,
		       .vocab = (uint32_t)(uintptr_t)userdata);
	int n = proccache_tags_json(p, parent, &opts, a, sizeof(a));
	int m = proccache_tags_json(p, parent, &opts, b, sizeof(b));
	int k;

	FUZZ_CHECK(n > 0 && n < TAGS_MAX && n == m && !memcmp(a, b, (size_t)n + 1));
	FUZZ_CHECK(proccache_tags_json(p, parent, &opts, NULL, 0) == n);
	k = proccache_tags_json(p, NULL, &opts, own, sizeof(own));
	FUZZ_CHECK(k > 0 && k < TAGS_MAX);
	/* OpenTelemetry's parent pid is the parent given, else the key's */
	if (opts.vocab != PROCCACHE_TAGS_OTEL)
		FUZZ_CHECK(k <= n && !memcmp(a, own, (size_t)k) &&
			   (k == n || a[k] == ','));
	return 0;
}

static void check_ancestors(struct world *w, const struct seen *s)
{
	struct proccache_process *chain[8];
	struct proccache_key want = s->parent;
	int n, i, len;

	len = proccache__ancestors(w->pc, &s->key, NULL, 0,
				   PROCCACHE_ANCESTORS_FULL);
	/* a chain longer than the cache would be a cycle */
	FUZZ_CHECK(len >= 0 && len <= w->nseen);
	n = proccache__ancestors(w->pc, &s->key, chain, 8, 0);
	FUZZ_CHECK(n == (len < 8 ? len : 8));
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(same_key(proccache_process__key(chain[i]), want));
		want = proccache_process__parent_key(chain[i]);
		proccache_process__unref(chain[i]);
	}
}

static void check_held(const struct held *h)
{
	size_t len;

	FUZZ_CHECK(same_key(proccache_process__key(h->p), h->key));
	FUZZ_CHECK(same_key(proccache_process__parent_key(h->p), h->parent));
	FUZZ_CHECK(proccache_process__state(h->p) == h->state);
	FUZZ_CHECK(proccache_process__flags(h->p) == h->flags);
	FUZZ_CHECK(!strncmp(proccache_process__binary(h->p), h->binary,
			    sizeof(h->binary) - 1));
	proccache_process__args(h->p, &len);
	FUZZ_CHECK(len == h->args_len);
	proccache_process__env(h->p, &len);
	FUZZ_CHECK(len == h->env_len);
}

/* What replaces a secret (lib/redact.h). */
#define PC_FUZZ_REDACTED "***"

/* What the cache keeps of an environment: the options' rules. */
static void check_env(const struct world *w, const struct proccache_process *p)
{
	size_t len;
	const char *env = proccache_process__env(p, &len);

	FUZZ_CHECK(len <= w->env_max + sizeof(PC_FUZZ_REDACTED) - 2);
	FUZZ_CHECK(env[len] == '\0');
	FUZZ_CHECK(!memmem(env, len, "s3", 2));
}

static void check_cache(struct world *w)
{
	struct proccache_stats st = { .sz = sizeof(st) };
	struct proccache_process *p;
	uint64_t live = 0;
	int i, j;

	w->nseen = 0;
	FUZZ_CHECK(proccache__iterate(w->pc, collect, w) == 0);
	for (i = 0; i < w->nseen; i++) {
		const struct seen *s = &w->seen[i];

		for (j = 0; j < i; j++)
			FUZZ_CHECK(!same_key(w->seen[j].key, s->key));
		p = proccache__lookup(w->pc, &s->key);
		FUZZ_CHECK(p && same_key(proccache_process__key(p), s->key));
		check_env(w, p);
		proccache_process__unref(p);
		FUZZ_CHECK(proccache__with_key(w->pc, &s->key, check_tags,
					       (void *)(uintptr_t)(i % 3)) == 0);
		if (s->state == PROCCACHE_STATE_LIVE) {
			live++;
			p = proccache__lookup_pid(w->pc, s->key.pid);
			FUZZ_CHECK(p && same_key(proccache_process__key(p),
						 s->key));
			proccache_process__unref(p);
		}
		/* A parent found at insert stays cached while its child is
		 * (one not found is flagged and only named). */
		if (s->parent.pid && !(s->flags & PROCCACHE_F_PARENT_UNKNOWN)) {
			p = proccache__lookup(w->pc, &s->parent);
			FUZZ_CHECK(p);
			proccache_process__unref(p);
		}
		check_ancestors(w, s);
	}
	FUZZ_CHECK(proccache__stats(w->pc, &st) == 0);
	FUZZ_CHECK(st.entries_live == live);
	FUZZ_CHECK(st.entries_live + st.entries_exited == (uint64_t)w->nseen);
	FUZZ_CHECK(live <= w->max_entries);
	for (i = 0; i < w->nheld; i++)
		check_held(&w->held[i]);
}

static void hold(struct world *w, struct proccache_process *p)
{
	struct held *h;

	if (!p)
		return;
	if (w->nheld == HELD_MAX) {
		proccache_process__unref(w->held[0].p);
		memmove(&w->held[0], &w->held[1],
			(HELD_MAX - 1) * sizeof(w->held[0]));
		w->nheld--;
	}
	h = &w->held[w->nheld++];
	h->p = p;
	h->key = proccache_process__key(p);
	h->parent = proccache_process__parent_key(p);
	h->state = proccache_process__state(p);
	h->flags = proccache_process__flags(p);
	snprintf(h->binary, sizeof(h->binary), "%s",
		 proccache_process__binary(p));
	proccache_process__args(p, &h->args_len);
	proccache_process__env(p, &h->env_len);
}

static uint64_t ktime_of(uint8_t b)
{
	return (uint64_t)b * 1000;
}

/* One operation of OP_SIZE bytes. */
static void step(struct world *w, const uint8_t *op)
{
	static const char *const binaries[] = { "/bin/sh", "", "/usr/bin/x",
						"/a b/c (deleted)" };
	static const char args[] = "sh\0-c\0echo hi\0";
	static const char env[] = "A=1\0TOKEN=s3cret\0PATH=/bin\0";
	PROCCACHE_OPTS(proccache_event, ev);
	uint32_t pid = 1 + op[1] % NPIDS;
	struct proccache_key key;
	int r;

	ev.pid = pid;
	ev.tid = op[3] & 0x80 ? pid + 1 : pid;
	ev.ktime = ktime_of(op[2]);
	ev.parent.pid = op[4] % (NPIDS + 1);
	ev.parent.ktime = ktime_of(op[5]);
	ev.prev.pid = op[6] & 0x80 ? pid : 0;
	ev.prev.ktime = ev.prev.pid ? ktime_of(op[6] & 0x7f) : 0;
	ev.start_time = ktime_of(op[7]);
	ev.flags = (uint32_t)op[8] << (op[3] & 7);
	ev.binary = op[9] & 4 ? NULL : binaries[op[9] & 3];
	ev.args = op[9] & 8 ? args : NULL;
	ev.args_len = ev.args ? (size_t)(op[9] >> 4) % sizeof(args) : 0;
	ev.env = op[9] & 0x40 ? env : NULL;
	ev.env_len = ev.env ? (size_t)op[11] % sizeof(env) : 0;
	ev.cwd = op[9] & 0x10 ? "/tmp" : NULL;
	ev.container_id = op[9] & 0x20 ? "0123456789ab" : NULL;
	ev.creds.uid = op[10];
	/* groups not read (bit 5 and up: invalid) */
	ev.unknown = (uint32_t)(op[7] ^ op[8]) & 0x3f;
	ev.exit_code = op[10];
	ev.exit_signal = op[11] & 0x7f;
	ev.time = op[11] & 0x80 ? 0 : w->now;
	ev.lost = op[10];

	switch (op[0] % 11) {
	case 0:
		ev.type = PROCCACHE_EVENT_EXEC;
		break;
	case 1:
		ev.type = PROCCACHE_EVENT_CLONE;
		break;
	case 2:
		ev.type = PROCCACHE_EVENT_EXIT;
		break;
	case 3:
		ev.type = PROCCACHE_EVENT_LOST;
		break;
	case 4:
		ev.type = PROCCACHE_EVENT_CREDS;
		break;
	case 5: /* anything: unknown types, several bits, bad pads */
		ev.type = (uint32_t)op[10] << (op[11] & 7);
		ev.pad0 = op[3] & 1;
		ev.parent.pad = op[3] & 2;
		break;
	case 6:
		hold(w, proccache__lookup_pid(w->pc, pid));
		return;
	case 7:
		key = (struct proccache_key){ .ktime = ev.ktime, .pid = pid };
		hold(w, proccache__lookup(w->pc, &key));
		return;
	case 8:
		if (w->nheld) {
			int i = op[1] % w->nheld;

			proccache_process__unref(w->held[i].p);
			w->held[i] = w->held[--w->nheld];
		}
		return;
	case 9:
		w->now += (uint64_t)op[2] << (op[3] % 24);
		return;
	default:
		FUZZ_CHECK(proccache__tick(w->pc) >= 0);
		return;
	}
	if (!ev.pid && ev.type != PROCCACHE_EVENT_LOST)
		return;
	r = proccache__ingest(w->pc, &ev);
	FUZZ_CHECK((r >= PROCCACHE_INGEST_APPLIED &&
		    r <= PROCCACHE_INGEST_IGNORED) ||
		   r == -ENOSPC || r == -EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w;
	int i;

	if (size < 2)
		return 0;
	w = calloc(1, sizeof(*w));
	w->now = 1000000000ull;
	w->max_entries = 4 + data[0] % 32;
	w->env_max = (size_t)(data[0] >> 5) * 4;
	{
		static const char *const token[] = { "TOKEN=*", NULL };
		PROCCACHE_OPTS(proccache_opts, opts, .env_max = w->env_max,
			       .redact = token,
			       .node_name = "fuzz",
			       .max_entries = w->max_entries,
			       .grace_ns = data[1] ? (uint64_t)data[1] * 1000 :
						     PROCCACHE_GRACE_NONE,
			       .clock = test_clock, .clock_userdata = w);
		w->pc = proccache__new(&opts);
	}
	FUZZ_CHECK(w->pc);
	FUZZ_CHECK(proccache__subscribe(w->pc, 0x1f, on_event, NULL, NULL));
	for (data += 2, size -= 2; size >= OP_SIZE;
	     data += OP_SIZE, size -= OP_SIZE) {
		step(w, data);
		check_cache(w);
	}
	for (i = 0; i < w->nheld; i++)
		proccache_process__unref(w->held[i].p);
	proccache__free(w->pc);
	free(w);
	return 0;
}
