/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ck_epoch.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "rwtable.h"

/* ------------------------------------------------------------------------ */
/* Designs                                                                   */
/* ------------------------------------------------------------------------ */

static void *pc_create(uint32_t max_entries, uint64_t grace_ns)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = BENCH_NODE,
		       .max_entries = max_entries, .grace_ns = grace_ns);

	return proccache__new(&opts);
}

static void pc_destroy(void *d)
{
	proccache__free(d);
}

static int pc_ingest(void *d, const struct proccache_event *ev)
{
	return proccache__ingest(d, ev);
}

static void *pc_lookup(void *d, const struct proccache_key *key)
{
	return proccache__lookup(d, key);
}

static void *pc_lookup_exec_id(void *d, const char *exec_id)
{
	return proccache__lookup_exec_id(d, exec_id);
}

static int pc_ancestors(void *d, const struct proccache_key *key, void **ret,
			size_t max)
{
	return proccache__ancestors(d, key, (struct proccache_process **)ret,
				    max, 0);
}

static const char *pc_binary(const void *rec)
{
	return proccache_process__binary(rec);
}

static void pc_unref(void *rec)
{
	proccache_process__unref(rec);
}

const struct design design_proccache = {
	.name = "proccache (lock-free)",
	.create = pc_create,
	.destroy = pc_destroy,
	.ingest = pc_ingest,
	.lookup = pc_lookup,
	.lookup_exec_id = pc_lookup_exec_id,
	.ancestors = pc_ancestors,
	.binary = pc_binary,
	.unref = pc_unref,
};

/* Buckets: twice the entries, like ck_hs's load factor of 50% at most. */
static void *rw_create_kind(uint32_t max_entries, uint64_t grace_ns,
			    bool writer_first)
{
	return rwt_new(BENCH_NODE, 2 * (size_t)max_entries, grace_ns,
		       writer_first);
}

static void *rw_create(uint32_t max_entries, uint64_t grace_ns)
{
	return rw_create_kind(max_entries, grace_ns, false);
}

static void *rw_create_writer(uint32_t max_entries, uint64_t grace_ns)
{
	return rw_create_kind(max_entries, grace_ns, true);
}

static void rw_destroy(void *d)
{
	rwt_free(d);
}

static int rw_ingest(void *d, const struct proccache_event *ev)
{
	return rwt_ingest(d, ev);
}

static void *rw_lookup(void *d, const struct proccache_key *key)
{
	return rwt_lookup(d, key);
}

static void *rw_lookup_exec_id(void *d, const char *exec_id)
{
	return rwt_lookup_exec_id(d, exec_id);
}

static int rw_ancestors(void *d, const struct proccache_key *key, void **ret,
			size_t max)
{
	return rwt_ancestors(d, key, (struct rwt_rec **)ret, max);
}

static const char *rw_binary(const void *rec)
{
	return rwt_rec_binary(rec);
}

static void rw_unref(void *rec)
{
	rwt_rec_unref(rec);
}

const struct design design_rwlock = {
	.name = "rwlock table",
	.create = rw_create,
	.destroy = rw_destroy,
	.ingest = rw_ingest,
	.lookup = rw_lookup,
	.lookup_exec_id = rw_lookup_exec_id,
	.ancestors = rw_ancestors,
	.binary = rw_binary,
	.unref = rw_unref,
};

static void *rw_peek_exec_id(void *d, const char *exec_id)
{
	return rwt_peek_exec_id(d, exec_id, false);
}

static void no_unref(void *rec)
{
	(void)rec;
}

const struct design design_floor = {
	.name = "floor: no lock, no reference",
	.create = rw_create,
	.destroy = rw_destroy,
	.ingest = rw_ingest,
	.lookup_exec_id = rw_peek_exec_id,
	.binary = rw_binary,
	.unref = no_unref,
};

/*
 * The floor inside a ck_epoch section per lookup, then with a counted
 * reference as well: what the two mechanisms the cache is built on cost by
 * themselves, on the same table. Each reader thread registers a record on
 * its first lookup in a table (tables are told apart by a serial number:
 * a new one may reuse a freed one's address).
 */
#define FE_MAX_RECORDS 16

struct floor_epoch {
	struct rwt *t;
	bool take_ref;
	uint64_t serial;
	ck_epoch_t epoch;
	_Atomic unsigned int n_records;
	ck_epoch_record_t *records[FE_MAX_RECORDS];
};

static _Atomic uint64_t fe_serials;
static __thread ck_epoch_record_t *fe_record;
static __thread uint64_t fe_record_serial;

static void *fe_create(uint32_t max_entries, uint64_t grace_ns, bool take_ref)
{
	struct floor_epoch *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->t = rw_create(max_entries, grace_ns);
	if (!f->t) {
		free(f);
		return NULL;
	}
	f->take_ref = take_ref;
	f->serial = atomic_fetch_add(&fe_serials, 1) + 1;
	ck_epoch_init(&f->epoch);
	return f;
}

static void *fe_create_epoch(uint32_t max_entries, uint64_t grace_ns)
{
	return fe_create(max_entries, grace_ns, false);
}

static void *fe_create_ref(uint32_t max_entries, uint64_t grace_ns)
{
	return fe_create(max_entries, grace_ns, true);
}

static void fe_destroy(void *d)
{
	struct floor_epoch *f = d;

	for (unsigned int i = 0; i < atomic_load(&f->n_records); i++)
		free(f->records[i]);
	rwt_free(f->t);
	free(f);
}

static int fe_ingest(void *d, const struct proccache_event *ev)
{
	return rwt_ingest(((struct floor_epoch *)d)->t, ev);
}

static ck_epoch_record_t *fe_register(struct floor_epoch *f)
{
	unsigned int i = atomic_fetch_add(&f->n_records, 1);
	ck_epoch_record_t *r;

	if (i >= FE_MAX_RECORDS) {
		fprintf(stderr, "floor: more than %d reader threads\n",
			FE_MAX_RECORDS);
		exit(2);
	}
	r = aligned_alloc(64, (sizeof(*r) + 63) & ~(size_t)63);
	if (!r)
		exit(2);
	ck_epoch_register(&f->epoch, r, NULL);
	f->records[i] = r;
	return r;
}

static void *fe_lookup_exec_id(void *d, const char *exec_id)
{
	struct floor_epoch *f = d;
	struct rwt_rec *rec;

	if (fe_record_serial != f->serial) {
		fe_record = fe_register(f);
		fe_record_serial = f->serial;
	}
	ck_epoch_begin(fe_record, NULL);
	rec = rwt_peek_exec_id(f->t, exec_id, f->take_ref);
	ck_epoch_end(fe_record, NULL);
	return rec;
}

const struct design design_floor_epoch = {
	.name = "floor + epoch section",
	.create = fe_create_epoch,
	.destroy = fe_destroy,
	.ingest = fe_ingest,
	.lookup_exec_id = fe_lookup_exec_id,
	.binary = rw_binary,
	.unref = no_unref,
};

/* The table holds a reference to each record, so with no writer this
 * never frees. */
const struct design design_floor_epoch_ref = {
	.name = "floor + epoch + reference",
	.create = fe_create_ref,
	.destroy = fe_destroy,
	.ingest = fe_ingest,
	.lookup_exec_id = fe_lookup_exec_id,
	.binary = rw_binary,
	.unref = rw_unref,
};

const struct design design_rwlock_writer = {
	.name = "rwlock table, writer-first",
	.create = rw_create_writer,
	.destroy = rw_destroy,
	.ingest = rw_ingest,
	.lookup = rw_lookup,
	.lookup_exec_id = rw_lookup_exec_id,
	.ancestors = rw_ancestors,
	.binary = rw_binary,
	.unref = rw_unref,
};

/* ------------------------------------------------------------------------ */
/* Workload                                                                  */
/* ------------------------------------------------------------------------ */

#define KT0 1000000000000ull

static const char wl_args[] = "bench\0--churn\0";

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint32_t pid_of(const struct workload *wl, uint64_t i)
{
	return 2 + (uint32_t)(i % (2ull * wl->ws));
}

static uint64_t clone_ktime(uint64_t i)
{
	return KT0 + i * 4;
}

struct proccache_key wl_init_key(void)
{
	return (struct proccache_key){ .pid = 1, .ktime = KT0 - 1000 };
}

struct proccache_key wl_exec_key(const struct workload *wl, uint64_t i)
{
	return (struct proccache_key){ .pid = pid_of(wl, i),
				       .ktime = clone_ktime(i) + 1 };
}

/* The index of a live process created shortly before i; i itself for a
 * child of init. */
static uint64_t parent_index(const struct workload *wl, uint64_t i)
{
	uint64_t span = i < wl->ws / 2 ? i : wl->ws / 2;

	if (i % 8 == 0 || span == 0)
		return i;
	return i - 1 - mix(i) % span;
}

/* A live process created shortly before i, or init. */
static struct proccache_key parent_of(const struct workload *wl, uint64_t i)
{
	uint64_t p = parent_index(wl, i);

	return p == i ? wl_init_key() : wl_exec_key(wl, p);
}

static void event_init(struct proccache_event *ev, uint32_t type,
		       struct proccache_key key)
{
	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = type;
	ev->pid = key.pid;
	ev->tid = key.pid;
	ev->ktime = key.ktime;
}

static void churn_payload(struct proccache_event *ev)
{
	ev->binary = "/usr/bin/bench";
	ev->args = wl_args;
	ev->args_len = sizeof(wl_args) - 1;
	ev->cwd = "/srv/bench";
	ev->creds = (struct proccache_creds){ .auid = UINT32_MAX };
	ev->caps.effective = ev->caps.permitted = 0x1ffffffffffull;
}

bool wl_context;

/* Session of each process created so far (its leader's pid), grown as
 * processes are created: a child is in its parent's session. */
static uint32_t *wl_sids;
static uint64_t wl_sids_cap;

static void context_payload(const struct workload *wl,
			    struct proccache_event *ev, uint64_t i)
{
	uint64_t p = parent_index(wl, i);

	if (i >= wl_sids_cap) {
		uint64_t cap = wl_sids_cap ? wl_sids_cap * 2 : 1u << 16;
		uint32_t *sids;

		while (cap <= i)
			cap *= 2;
		sids = realloc(wl_sids, cap * sizeof(*sids));
		if (!sids)
			abort();
		wl_sids = sids;
		wl_sids_cap = cap;
	}
	wl_sids[i] = p == i ? ev->pid : wl_sids[p];
	memcpy(ev->comm, "bench", sizeof("bench"));
	ev->pgid = ev->pid;
	ev->sid = wl_sids[i];
	ev->tty = (136u << 8) | (uint32_t)(wl_sids[i] % 256);
}

static int create(struct workload *wl, const struct design *ds, void *d,
		  uint64_t i)
{
	struct proccache_key parent = parent_of(wl, i);
	struct proccache_key ck = { .pid = pid_of(wl, i),
				    .ktime = clone_ktime(i) };
	struct proccache_event ev;
	int ret;

	event_init(&ev, PROCCACHE_EVENT_CLONE, ck);
	ev.parent = parent;
	ret = ds->ingest(d, &ev);
	if (ret < 0)
		return ret;
	event_init(&ev, PROCCACHE_EVENT_EXEC, wl_exec_key(wl, i));
	ev.parent = parent;
	ev.prev = ck;
	ev.start_time = ck.ktime;
	churn_payload(&ev);
	if (wl_context)
		context_payload(wl, &ev, i);
	ret = ds->ingest(d, &ev);
	return ret < 0 ? ret : 0;
}

int wl_prefill(struct workload *wl, const struct design *ds, void *d)
{
	struct proccache_event ev;
	int ret;

	event_init(&ev, PROCCACHE_EVENT_EXEC, wl_init_key());
	churn_payload(&ev);
	ev.binary = "/sbin/init";
	ret = ds->ingest(d, &ev);
	if (ret < 0)
		return ret;
	for (wl->next = 0; wl->next < wl->ws; wl->next++) {
		ret = create(wl, ds, d, wl->next);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int wl_cycle(struct workload *wl, const struct design *ds, void *d)
{
	struct proccache_event ev;
	int ret;

	event_init(&ev, PROCCACHE_EVENT_EXIT, wl_exec_key(wl, wl->next - wl->ws));
	ret = ds->ingest(d, &ev);
	if (ret < 0)
		return ret;
	ret = create(wl, ds, d, wl->next);
	wl->next++;
	return ret;
}

char *wl_exec_ids(const struct workload *wl, uint64_t n)
{
	char *ids = malloc(n * BENCH_ID_LEN);

	if (!ids)
		return NULL;
	for (uint64_t i = 0; i < n; i++) {
		struct proccache_key k = wl_exec_key(wl, i);

		if (proccache_exec_id_format(BENCH_NODE, &k,
					     ids + i * BENCH_ID_LEN,
					     BENCH_ID_LEN) < 0) {
			free(ids);
			return NULL;
		}
	}
	return ids;
}

void wl_exec_event(struct proccache_event *ev, uint32_t pid, uint64_t ktime,
		   struct proccache_key parent)
{
	event_init(ev, PROCCACHE_EVENT_EXEC,
		   (struct proccache_key){ .pid = pid, .ktime = ktime });
	ev->parent = parent;
	ev->binary = "/b";
	ev->args = "a";
	ev->args_len = 2;
	ev->cwd = "/";
}

size_t wl_exec_string_bytes(void)
{
	return sizeof("/b") + 2 + sizeof("/");
}

/* ------------------------------------------------------------------------ */
/* Measuring and printing                                                    */
/* ------------------------------------------------------------------------ */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_rand(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return mix(*state);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_env(const char *name, double fallback)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return fallback;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v <= 0) {
		fprintf(stderr, "%s: not a positive number: %s\n", name, s);
		exit(2);
	}
	return v;
}

const char *bench_verdict(bool met)
{
	return met ? "met" : "NOT MET";
}

void bench_print_machine(void)
{
	char model[128] = "unknown cpu", line[256], date[32];
	time_t t = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	strftime(date, sizeof(date), "%Y-%m-%d", localtime(&t));
	printf("machine: %s, %ld cores online, %s\n", date,
	       sysconf(_SC_NPROCESSORS_ONLN), model);
}
