/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --json: one object per line in Tetragon's export shape. Member names and
 * nesting follow Tetragon's Process message (docs/proccache-snoop.md lists
 * each field and where it comes from).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snoop.h"

static void json_time(struct snoop *s, const char *key, uint64_t boot_ns)
{
	char t[SNOOP_TIME_MAX];

	snoop_format_time(s, boot_ns, t, sizeof(t));
	jw_string(&s->jw, key, t);
}

static void json_exec_id(struct snoop *s, const struct proccache_process *p)
{
	char id[PROCCACHE_EXEC_ID_MAX];

	if (proccache_process__exec_id(p, id, sizeof(id)) >= 0)
		jw_string(&s->jw, "exec_id", id);
}

/* Omitted when the parent is unknown (flag "miss"). */
static void json_parent_exec_id(struct snoop *s,
				const struct proccache_process *p)
{
	char id[PROCCACHE_EXEC_ID_MAX];

	if (proccache_process__parent_exec_id(p, id, sizeof(id)) >= 0)
		jw_string(&s->jw, "parent_exec_id", id);
}

/* "args": argv after argv[0], split on the NULs; a last argument without
 * its NUL (cut at the capture limit) ends at the buffer's end. */
static void json_args_array(struct snoop *s, const struct proccache_process *p)
{
	size_t len, off, n;
	const char *args = proccache_process__args(p, &len);

	jw_array_begin(&s->jw, "args");
	off = len ? strnlen(args, len) + 1 : 0;
	while (off < len) {
		n = strnlen(args + off, len - off);
		jw_string_n(&s->jw, NULL, args + off, n);
		off += n + 1;
	}
	jw_array_end(&s->jw);
}

static void json_cap_set(struct snoop *s, const char *key, uint64_t caps)
{
	unsigned int bit;

	jw_array_begin(&s->jw, key);
	for (bit = 0; bit < 64; bit++) {
		const char *name;
		char unknown[16];

		if (!(caps & (1ull << bit)))
			continue;
		name = proccache_cap_name(bit);
		if (!name) {
			snprintf(unknown, sizeof(unknown), "CAP_%u", bit);
			name = unknown;
		}
		jw_string(&s->jw, NULL, name);
	}
	jw_array_end(&s->jw);
}

static void json_caps(struct snoop *s, const struct proccache_process *p)
{
	jw_object_begin(&s->jw, "cap");
	json_cap_set(s, "permitted",
		     proccache_process__caps(p, PROCCACHE_CAP_PERMITTED));
	json_cap_set(s, "effective",
		     proccache_process__caps(p, PROCCACHE_CAP_EFFECTIVE));
	json_cap_set(s, "inheritable",
		     proccache_process__caps(p, PROCCACHE_CAP_INHERITABLE));
	jw_object_end(&s->jw);
}

/* Omitted altogether when the sensor knew none of them. */
static void json_ns(struct snoop *s, const struct proccache_process *p)
{
	uint32_t inum[SNOOP_NS_COUNT];
	bool any = false;
	int i;

	for (i = 0; i < SNOOP_NS_COUNT; i++) {
		inum[i] = proccache_process__ns(p, i);
		any |= inum[i] != 0;
	}
	if (!any)
		return;
	jw_object_begin(&s->jw, "ns");
	for (i = 0; i < SNOOP_NS_COUNT; i++) {
		jw_object_begin(&s->jw, snoop_ns_name(i));
		jw_uint(&s->jw, "inum", inum[i]);
		jw_bool(&s->jw, "is_host", snoop_ns_is_host(s, i, inum[i]));
		jw_object_end(&s->jw);
	}
	jw_object_end(&s->jw);
}

static void json_creds(struct snoop *s, const struct proccache_process *p)
{
	static const struct {
		enum proccache_cred which;
		const char *name;
	} creds[] = {
		{ PROCCACHE_CRED_UID, "uid" },     { PROCCACHE_CRED_GID, "gid" },
		{ PROCCACHE_CRED_EUID, "euid" },   { PROCCACHE_CRED_EGID, "egid" },
		{ PROCCACHE_CRED_SUID, "suid" },   { PROCCACHE_CRED_SGID, "sgid" },
		{ PROCCACHE_CRED_FSUID, "fsuid" }, { PROCCACHE_CRED_FSGID, "fsgid" },
	};
	size_t i;

	jw_object_begin(&s->jw, "process_credentials");
	for (i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
		jw_uint(&s->jw, creds[i].name,
			proccache_process__cred(p, creds[i].which));
	jw_object_end(&s->jw);
}

/*
 * Tetragon puts the credential a setuid/setgid exec gained under setuid and
 * setgid, and the executable's inode under file. Protobuf's JSON mapping
 * writes a uint64 (the inode number) as a string; we do the same so that
 * consumers of Tetragon's output parse ours unchanged.
 */
static void json_binary_properties(struct snoop *s,
				   const struct proccache_process *p)
{
	uint32_t flags = proccache_process__flags(p);
	uint64_t inode = proccache_process__binary_inode(p);
	char number[24];

	if (!(flags & (PROCCACHE_F_SETUID | PROCCACHE_F_SETGID)) && !inode)
		return;
	jw_object_begin(&s->jw, "binary_properties");
	if (flags & PROCCACHE_F_SETUID)
		jw_uint(&s->jw, "setuid",
			proccache_process__cred(p, PROCCACHE_CRED_EUID));
	if (flags & PROCCACHE_F_SETGID)
		jw_uint(&s->jw, "setgid",
			proccache_process__cred(p, PROCCACHE_CRED_EGID));
	if (inode) {
		snprintf(number, sizeof(number), "%llu",
			 (unsigned long long)inode);
		jw_object_begin(&s->jw, "file");
		jw_object_begin(&s->jw, "inode");
		jw_string(&s->jw, "number", number);
		jw_uint(&s->jw, "links", proccache_process__binary_nlink(p));
		jw_object_end(&s->jw);
		jw_object_end(&s->jw);
	}
	jw_object_end(&s->jw);
}

static int json_process(struct snoop *s, const char *key,
			const struct proccache_process *p)
{
	char flags[SNOOP_FLAGS_MAX];
	uint64_t start = proccache_process__start_time(p);
	const char *docker = proccache_process__container_id(p);
	char *arguments = snoop_arguments(p);

	if (!arguments)
		return -ENOMEM;
	snoop_format_flags(proccache_process__flags(p), flags, sizeof(flags));

	jw_object_begin(&s->jw, key);
	json_exec_id(s, p);
	jw_uint(&s->jw, "pid", proccache_process__pid(p));
	/* Tetragon's process.uid is the effective uid. */
	jw_uint(&s->jw, "uid", proccache_process__cred(p, PROCCACHE_CRED_EUID));
	jw_string(&s->jw, "cwd", proccache_process__cwd(p));
	jw_string(&s->jw, "binary", proccache_process__binary(p));
	jw_string(&s->jw, "arguments", arguments);
	jw_string(&s->jw, "flags", flags);
	json_time(s, "start_time", start ? start : proccache_process__ktime(p));
	jw_uint(&s->jw, "auid", proccache_process__cred(p, PROCCACHE_CRED_AUID));
	if (*docker)
		jw_string(&s->jw, "docker", docker);
	json_parent_exec_id(s, p);
	json_caps(s, p);
	json_ns(s, p);
	jw_uint(&s->jw, "tid", proccache_process__tid(p));
	json_creds(s, p);
	json_binary_properties(s, p);
	json_args_array(s, p);
	jw_object_end(&s->jw);
	free(arguments);
	return 0;
}

/* Tetragon's ancestors are those beyond the immediate parent, which the
 * event already carries: the chain is written from the grandparent on. */
static int json_ancestors(struct snoop *s, const struct proccache_process *p,
			  bool parent_written)
{
	struct proccache_process **chain;
	int n = snoop_ancestors(s, p, &chain);
	int i, err = 0;

	if (n == -ENOENT)
		n = 0; /* reclaimed already: nothing to show */
	if (n < 0)
		return n;
	jw_array_begin(&s->jw, "ancestors");
	for (i = parent_written ? 1 : 0; i < n && !err; i++)
		err = json_process(s, NULL, chain[i]);
	jw_array_end(&s->jw);
	snoop_ancestors_put(chain, n);
	return err;
}

static int json_lineage(struct snoop *s, const struct proccache_process *p,
			const struct proccache_process *parent)
{
	int err = json_process(s, "process", p);

	if (!err && parent)
		err = json_process(s, "parent", parent);
	if (!err && s->ancestors)
		err = json_ancestors(s, p, parent != NULL);
	return err;
}

static uint64_t event_time(const struct proccache_event *ev,
			   const struct proccache_process *p)
{
	uint64_t t = 0;

	if (ev->type == PROCCACHE_EVENT_EXIT)
		t = proccache_process__exit_time(p);
	else if (p)
		t = proccache_process__ktime(p);
	return t ? t : snoop_boot_now();
}

static int json_body(struct snoop *s, const struct proccache_event *ev,
		     const struct proccache_process *p,
		     const struct proccache_process *parent)
{
	char sig[SNOOP_SIGNAL_MAX];
	int err;

	switch (ev->type) {
	case PROCCACHE_EVENT_EXEC:
		jw_object_begin(&s->jw, "process_exec");
		err = json_lineage(s, p, parent);
		break;
	case PROCCACHE_EVENT_CLONE:
		jw_object_begin(&s->jw, "process_clone");
		err = json_lineage(s, p, parent);
		break;
	case PROCCACHE_EVENT_EXIT:
		jw_object_begin(&s->jw, "process_exit");
		err = json_lineage(s, p, parent);
		/* Tetragon omits an empty signal. */
		snoop_format_signal(proccache_process__exit_signal(p), sig,
				    sizeof(sig));
		if (*sig)
			jw_string(&s->jw, "signal", sig);
		jw_uint(&s->jw, "status",
			(uint32_t)proccache_process__exit_code(p));
		json_time(s, "time", event_time(ev, p));
		break;
	case PROCCACHE_EVENT_LOST:
		jw_object_begin(&s->jw, "lost");
		jw_uint(&s->jw, "count", ev->lost);
		err = 0;
		break;
	default:
		return 1; /* not subscribed to anything else */
	}
	jw_object_end(&s->jw);
	return err;
}

int snoop_json_event(struct snoop *s, const struct proccache_event *ev,
		     const struct proccache_process *p,
		     const struct proccache_process *parent)
{
	int err;

	if (ev->type != PROCCACHE_EVENT_LOST && !p)
		return 0;
	jw_reset(&s->jw);
	jw_object_begin(&s->jw, NULL);
	err = json_body(s, ev, p, parent);
	if (err)
		return err > 0 ? 0 : err;
	jw_string(&s->jw, "node_name", proccache__node_name(s->pc));
	json_time(s, "time", event_time(ev, p));
	jw_object_end(&s->jw);
	if (jw_failed(&s->jw))
		return -ENOMEM;
	fputs(jw_text(&s->jw), s->out);
	putc('\n', s->out);
	return 0;
}
