/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "opts.h"

/* Everything proccache__stats() reports, read from any thread. */
static void collect(struct proccache *pc, struct proccache_stats *s)
{
	const struct pc_counters *c = &pc->stats;

	memset(s, 0, sizeof(*s));
	s->sz = sizeof(*s);
#define GET(f) s->f = atomic_load_explicit(&c->f, memory_order_relaxed)
	GET(entries_live);
	GET(entries_exited);
	GET(inserts);
	GET(reclaims);
	GET(evictions_full);
	GET(refused_full);
	GET(events_exec);
	GET(events_clone);
	GET(events_exit);
	GET(events_lost);
	GET(lost);
	GET(parent_unknown);
	GET(exit_unknown);
	GET(duplicates);
	GET(out_of_order);
	GET(invalid);
	GET(pid_reuse);
	GET(events_creds);
	GET(pending);
	GET(pending_applied);
	GET(pending_expired);
	GET(adopted);
#undef GET
	s->tags_kept_bytes =
		atomic_load_explicit(&pc_tag_memo_bytes, memory_order_relaxed);
	s->tags_not_kept =
		atomic_load_explicit(&pc_tag_memo_refused, memory_order_relaxed);
	pc_reader_totals(pc, &s->lookups, &s->lookup_misses);
}

PROCCACHE_API int proccache__stats(struct proccache *pc,
				   struct proccache_stats *ret)
{
	struct proccache_stats s;
	size_t sz;

	if (!pc || !ret || ret->sz < sizeof(size_t))
		return -EINVAL;
	collect(pc, &s);
	sz = ret->sz < sizeof(s) ? ret->sz : sizeof(s);
	/* Only what the caller's struct has room for; its sz stays. */
	memcpy((char *)ret + sizeof(size_t), (char *)&s + sizeof(size_t),
	       sz - sizeof(size_t));
	return 0;
}

struct metric {
	const char *name;
	const char *type;
	const char *help;
	const char *label; /* NULL, or the label="value" pair */
	size_t offset;
};

#define M(field, type, label, help)                                            \
	{ #field, type, help, label, offsetof(struct proccache_stats, field) }

/* Families with a label share a name; HELP and TYPE are written once. */
static const struct metric metrics[] = {
	{ "entries", "gauge", "Cached process entries by state.",
	  "state=\"live\"", offsetof(struct proccache_stats, entries_live) },
	{ "entries", "gauge", NULL, "state=\"exited\"",
	  offsetof(struct proccache_stats, entries_exited) },
	M(inserts, "counter", NULL, "Entries inserted."),
	{ "removals", "counter", "Entries removed from the cache by reason.",
	  "reason=\"grace\"", offsetof(struct proccache_stats, reclaims) },
	{ "removals", "counter", NULL, "reason=\"evicted_full\"",
	  offsetof(struct proccache_stats, evictions_full) },
	M(refused_full, "counter", NULL,
	  "Inserts refused because the cache was full of live entries."),
	M(lookups, "counter", NULL, "Queries by key, exec ID, pid or ancestry."),
	M(lookup_misses, "counter", NULL, "Queries that found nothing."),
	{ "events", "counter", "Events ingested by type.", "type=\"exec\"",
	  offsetof(struct proccache_stats, events_exec) },
	{ "events", "counter", NULL, "type=\"clone\"",
	  offsetof(struct proccache_stats, events_clone) },
	{ "events", "counter", NULL, "type=\"exit\"",
	  offsetof(struct proccache_stats, events_exit) },
	{ "events", "counter", NULL, "type=\"lost\"",
	  offsetof(struct proccache_stats, events_lost) },
	{ "events", "counter", NULL, "type=\"creds\"",
	  offsetof(struct proccache_stats, events_creds) },
	M(lost, "counter", NULL, "Events the sensors reported lost."),
	M(parent_unknown, "counter", NULL,
	  "Entries whose parent was not cached."),
	M(exit_unknown, "counter", NULL, "Exits and cred changes of processes not cached."),
	M(duplicates, "counter", NULL, "Events ignored as duplicates."),
	M(out_of_order, "counter", NULL,
	  "Events that arrived out of order (stale, late clones, late execs)."),
	M(invalid, "counter", NULL, "Malformed events rejected."),
	M(pid_reuse, "counter", NULL,
	  "Live entries ended because their pid was reused (exit unseen)."),
	M(pending, "gauge", NULL, "Exits held until their exec or clone arrives."),
	M(pending_applied, "counter", NULL,
	  "Held exits applied to their entry."),
	M(pending_expired, "counter", NULL,
	  "Held exits that expired without finding their entry."),
	M(adopted, "counter", NULL,
	  "Entries linked to a parent that arrived after them."),
	M(tags_kept_bytes, "gauge", NULL,
	  "Bytes of tags kept for the next records (all caches of the process)."),
	M(tags_not_kept, "counter", NULL,
	  "Times tags were not kept for a bound (32 MiB in all, 16 KiB each)."),
};

#undef M

PROCCACHE_API int proccache__stats_prometheus(struct proccache *pc, char *buf,
					      size_t len)
{
	struct proccache_stats s;
	size_t total = 0;

	if (!pc || (!buf && len))
		return -EINVAL;
	collect(pc, &s);
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct metric *m = &metrics[i];
		uint64_t v = *(const uint64_t *)((const char *)&s + m->offset);
		size_t room = total < len ? len - total : 0;
		char *out = room ? buf + total : NULL;
		int n;

		if (m->help)
			n = snprintf(out, room,
				     "# HELP proccache_%s %s\n# TYPE proccache_%s %s\n",
				     m->name, m->help, m->name, m->type);
		else
			n = 0;
		if (n < 0)
			return -EIO;
		total += (size_t)n;
		room = total < len ? len - total : 0;
		out = room ? buf + total : NULL;
		n = snprintf(out, room, "proccache_%s%s%s%s %" PRIu64 "\n",
			     m->name, m->label ? "{" : "",
			     m->label ? m->label : "", m->label ? "}" : "", v);
		if (n < 0)
			return -EIO;
		total += (size_t)n;
	}
	if (total > INT32_MAX)
		return -EOVERFLOW;
	return (int)total;
}
