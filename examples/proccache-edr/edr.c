/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rule evaluation on every exec, and the alert's JSON (docs/proccache-edr.md):
 *
 *   {"alert":{"rule":NAME,"time":NS,"process":PROC,"lineage":[PROC...]}}
 *
 * The alert's process also carries its context: comm, pgid, sid, tty and
 * its session and entry leaders (docs/process-model.md).
 *
 * The lineage is borrowed from the cache with proccache__ancestors(),
 * nearest first, up to the entry whose parent is unknown or pid 0, once
 * per exec and only when a rule or an alert needs it.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "edr.h"

static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{ PROCCACHE_F_EXECVE, "execve" },
	{ PROCCACHE_F_PROCFS, "procfs" },
	{ PROCCACHE_F_CLONE, "clone" },
	{ PROCCACHE_F_ARGS_TRUNCATED, "args_truncated" },
	{ PROCCACHE_F_UNLINKED, "unlinked" },
	{ PROCCACHE_F_SETUID, "setuid" },
	{ PROCCACHE_F_SETGID, "setgid" },
	{ PROCCACHE_F_PARENT_UNKNOWN, "parent_unknown" },
	{ PROCCACHE_F_EXEC_AFTER_CLONE, "exec_after_clone" },
	{ PROCCACHE_F_ARGS_REDACTED, "args_redacted" },
};

/* A leader as {"pid":N,"exec_id":ID[,"type":T]}; left out when unknown. */
static void write_leader(struct jw *w, const char *key, const char *node,
			 struct proccache_key k, const char *type)
{
	char id[PROCCACHE_EXEC_ID_MAX];

	if (!k.pid)
		return;
	jw_object_begin(w, key);
	jw_uint(w, "pid", k.pid);
	if (proccache_exec_id_format(node, &k, id, sizeof(id)) > 0)
		jw_string(w, "exec_id", id);
	if (type)
		jw_string(w, "type", type);
	jw_object_end(w);
}

static void write_context(struct jw *w, const char *node,
			  const struct proccache_process *p)
{
	char tty[32];

	jw_string(w, "comm", proccache_process__comm(p));
	jw_uint(w, "pgid", proccache_process__pgid(p));
	jw_uint(w, "sid", proccache_process__sid(p));
	if (proccache_tty_name(proccache_process__tty(p), tty, sizeof(tty)) > 0)
		jw_string(w, "tty", tty);
	write_leader(w, "session_leader", node,
		     proccache_process__session_leader(p), NULL);
	write_leader(w, "entry_leader", node, proccache_process__entry_leader(p),
		     proccache_entry_type_name(proccache_process__entry_type(p)));
}

/* With @node (the cache's node name), the context too. */
static void write_process(struct jw *w, const char *key, const char *node,
			  const struct proccache_process *p, uint64_t labels)
{
	char id[PROCCACHE_EXEC_ID_MAX];
	const char *args;
	size_t len, i = 0;

	jw_object_begin(w, key);
	if (proccache_process__exec_id(p, id, sizeof(id)) > 0)
		jw_string(w, "exec_id", id);
	if (proccache_process__parent_exec_id(p, id, sizeof(id)) > 0)
		jw_string(w, "parent_exec_id", id);
	jw_uint(w, "pid", proccache_process__pid(p));
	jw_uint(w, "uid", proccache_process__cred(p, PROCCACHE_CRED_UID));
	jw_uint(w, "euid", proccache_process__cred(p, PROCCACHE_CRED_EUID));
	jw_string(w, "binary", proccache_process__binary(p));
	jw_array_begin(w, "args");
	args = proccache_process__args(p, &len);
	while (i < len) {
		size_t alen = strnlen(args + i, len - i);

		jw_string_n(w, NULL, args + i, alen);
		i += alen + 1;
	}
	jw_array_end(w);
	jw_string(w, "cwd", proccache_process__cwd(p));
	jw_array_begin(w, "flags");
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (proccache_process__flags(p) & flag_names[i].bit)
			jw_string(w, NULL, flag_names[i].name);
	jw_array_end(w);
	jw_uint(w, "labels", labels);
	jw_uint(w, "ktime", proccache_process__ktime(p));
	if (node)
		write_context(w, node, p);
	jw_object_end(w);
}

static int print_alert(struct edr *e, const struct rule *r,
		       struct subject *s)
{
	struct jw *w = &e->jw;

	e->alerts++;
	if (!e->out)
		return 0;
	subject_load_lineage(s);
	jw_reset(w);
	jw_object_begin(w, NULL);
	jw_object_begin(w, "alert");
	jw_string(w, "rule", r->name);
	jw_uint(w, "time", proccache_process__ktime(s->p));
	write_process(w, "process", proccache__node_name(s->pc), s->p, s->labels);
	jw_array_begin(w, "lineage");
	for (size_t i = 0; i < s->n_anc; i++)
		write_process(w, NULL, NULL, s->anc[i],
			      proccache_process__labels(s->anc[i]));
	jw_array_end(w);
	jw_object_end(w);
	jw_object_end(w);
	if (jw_failed(w))
		return -ENOMEM;
	fprintf(e->out, "%s\n", jw_text(w));
	return 0;
}

int edr_on_exec(struct proccache *pc, const struct proccache_event *ev,
		const struct proccache_process *process,
		const struct proccache_process *parent, void *userdata)
{
	struct edr *e = userdata;
	struct proccache_process *anc[EDR_LINEAGE_MAX];
	struct proccache_key key = proccache_process__key(process);
	struct subject s = { .pc = pc, .p = process, .anc = anc,
			     .max_anc = EDR_LINEAGE_MAX,
			     .labels = proccache_process__labels(process) };
	uint64_t before = s.labels;
	int err = 0;

	(void)ev, (void)parent;
	e->execs++;
	if (!e->rules)
		return 0;
	for (size_t i = 0; i < e->rules->n_rules && !err; i++) {
		const struct rule *r = &e->rules->rules[i];

		if (!rule_matches(r, &s))
			continue;
		s.labels |= r->add_labels;
		if (r->alert)
			err = print_alert(e, r, &s);
	}
	subject_done(&s);
	if (s.labels != before) {
		int ret = proccache__set_labels(pc, &key, s.labels, 0);

		/* Not fatal: the cache and the other rules go on. */
		if (ret < 0 && e->out)
			fprintf(stderr, "proccache-edr: labelling pid %u: %s\n",
				key.pid, strerror(-ret));
		e->labelled += ret == 0;
	}
	return err;
}
