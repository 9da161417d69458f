/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --format tetragon (--json): one GetEventsResponse per line, as Tetragon's
 * exporter writes it: protobuf's JSON mapping with the proto field names,
 * fields in field-number order, default values left out, 64-bit integers as
 * strings, enums by name, wrappers as bare values, Timestamps in RFC 3339.
 * Field by field the values follow Tetragon's meaning; docs/proccache-snoop.md
 * says where each comes from and which Tetragon version this was checked
 * against (tests/schema/tetragon.json is the schema the tests hold it to).
 *
 * --extensions adds what Tetragon lacks (process_clone and lost events, an
 * args array); only then is the output not strict.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snoop.h"
#include "tetragon_args.h"

/* Tetragon's ancestors walk stops at its OLDEST_ANCESTOR_PID. */
#define OLDEST_ANCESTOR_PID 2
/* Tetragon keeps this many characters of a container ID (BpfContainerIdLength). */
#define DOCKER_ID_LEN 31
#define LAST_CAP 40

/* The lineage of the event's process as Tetragon writes it. */
struct lineage {
	struct proccache_process **chain; /* the cache's chain, parent first */
	int n;
	bool *in_init_tree; /* per chain entry */
	bool self_in_init_tree;
};

static void json_time(struct snoop *s, const char *key, uint64_t boot_ns)
{
	char t[SNOOP_TIME_MAX];

	snoop_format_proto_time(s, boot_ns, t, sizeof(t));
	jw_string(&s->jw, key, t);
}

static void json_u64_string(struct snoop *s, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	jw_string(&s->jw, key, num);
}

/*
 * Tetragon's words for the entry's flags, in the order of its flagsOrdered
 * list. "clone" is a clone that has not exec'd, or an exec that followed a
 * clone; "rootcwd" is an exec whose cwd is "/" (Tetragon's BPF writes no
 * cwd then); "inInitTree" mirrors in_init_tree.
 */
static void tetragon_flags(const struct proccache_process *p, bool init_tree,
			   char *buf, size_t len)
{
	uint32_t f = proccache_process__flags(p);
	bool bpf_exec = (f & PROCCACHE_F_EXECVE) && !(f & PROCCACHE_F_PROCFS);
	const struct {
		bool set;
		const char *word;
	} words[] = {
		{ f & PROCCACHE_F_EXECVE, "execve" },
		{ f & PROCCACHE_F_PROCFS, "procFS" },
		{ f & PROCCACHE_F_BINARY_TRUNCATED, "truncFilename" },
		{ f & PROCCACHE_F_ARGS_TRUNCATED, "truncArgs" },
		{ f & PROCCACHE_F_PARENT_UNKNOWN, "miss" },
		{ bpf_exec && !strcmp(proccache_process__cwd(p), "/"), "rootcwd" },
		{ f & PROCCACHE_F_CWD_ERROR, "errorCWD" },
		{ f & (PROCCACHE_F_CLONE | PROCCACHE_F_EXEC_AFTER_CLONE), "clone" },
		{ init_tree, "inInitTree" },
	};
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		int n;

		if (!words[i].set)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? " " : "",
			     words[i].word);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

static char *tetragon_arguments(const struct proccache_process *p)
{
	size_t len;
	const char *args = proccache_process__args(p, &len);

	return tetragon_args_decode(args, len);
}

/* Enum CapabilitiesType: the kernel's names, but value 1 is DAC_OVERRIDE. */
static const char *tetragon_cap_name(unsigned int bit)
{
	if (bit == 1)
		return "DAC_OVERRIDE";
	return bit <= LAST_CAP ? proccache_cap_name(bit) : NULL;
}

/* A repeated enum: left out when empty; bits Tetragon has no name for
 * (none on a 6.x kernel) are left out too. */
static void json_cap_set(struct snoop *s, const char *key, uint64_t caps)
{
	unsigned int bit;
	bool open = false;

	for (bit = 0; bit < 64; bit++) {
		const char *name = tetragon_cap_name(bit);

		if (!(caps & (1ull << bit)) || !name)
			continue;
		if (!open)
			jw_array_begin(&s->jw, key);
		open = true;
		jw_string(&s->jw, NULL, name);
	}
	if (open)
		jw_array_end(&s->jw);
}

static void json_caps(struct snoop *s, const struct proccache_process *p)
{
	uint64_t perm = proccache_process__caps(p, PROCCACHE_CAP_PERMITTED);
	uint64_t eff = proccache_process__caps(p, PROCCACHE_CAP_EFFECTIVE);
	uint64_t inh = proccache_process__caps(p, PROCCACHE_CAP_INHERITABLE);

	if (!perm && !eff && !inh)
		return;
	jw_object_begin(&s->jw, "cap");
	json_cap_set(s, "permitted", perm);
	json_cap_set(s, "effective", eff);
	json_cap_set(s, "inheritable", inh);
	jw_object_end(&s->jw);
}

/* Left out when the sensor knew none; inum 0 and is_host false are the
 * defaults protobuf's JSON leaves out. */
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
		if (!inum[i])
			continue;
		jw_object_begin(&s->jw, snoop_ns_name(i));
		jw_uint(&s->jw, "inum", inum[i]);
		if (snoop_ns_is_host(s, i, inum[i]))
			jw_bool(&s->jw, "is_host", true);
		jw_object_end(&s->jw);
	}
	jw_object_end(&s->jw);
}

/* google.protobuf.UInt32Value each: written even when 0. */
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
 * Only on the process of an exec event, as Tetragon does: the uid/gid a
 * set-id exec gained, why privileges changed (to root by set-id), and the
 * inode of an executable that has no link (memfd, deleted). Left out when
 * none applies.
 */
static void json_binary_properties(struct snoop *s,
				   const struct proccache_process *p)
{
	uint32_t flags = proccache_process__flags(p);
	uint32_t euid = proccache_process__cred(p, PROCCACHE_CRED_EUID);
	uint32_t egid = proccache_process__cred(p, PROCCACHE_CRED_EGID);
	uint64_t inode = proccache_process__binary_inode(p);
	bool unlinked = inode && proccache_process__binary_nlink(p) == 0;
	bool to_root_u = (flags & PROCCACHE_F_SETUID) && euid == 0;
	bool to_root_g = (flags & PROCCACHE_F_SETGID) && egid == 0;

	if (!(flags & (PROCCACHE_F_SETUID | PROCCACHE_F_SETGID)) && !unlinked)
		return;
	jw_object_begin(&s->jw, "binary_properties");
	if (flags & PROCCACHE_F_SETUID)
		jw_uint(&s->jw, "setuid", euid);
	if (flags & PROCCACHE_F_SETGID)
		jw_uint(&s->jw, "setgid", egid);
	if (to_root_u || to_root_g) {
		jw_array_begin(&s->jw, "privileges_changed");
		if (to_root_u)
			jw_string(&s->jw, NULL, "PRIVILEGES_RAISED_EXEC_FILE_SETUID");
		if (to_root_g)
			jw_string(&s->jw, NULL, "PRIVILEGES_RAISED_EXEC_FILE_SETGID");
		jw_array_end(&s->jw);
	}
	if (unlinked) {
		jw_object_begin(&s->jw, "file");
		jw_object_begin(&s->jw, "inode");
		json_u64_string(s, "number", inode);
		jw_uint(&s->jw, "links", 0);
		jw_object_end(&s->jw);
		jw_object_end(&s->jw);
	}
	jw_object_end(&s->jw);
}

/* Tetragon resolves user names for processes of the host user namespace
 * only; an unknown namespace is taken as the host's. */
static void json_user(struct snoop *s, const struct proccache_process *p)
{
	uint32_t userns = proccache_process__ns(p, PROCCACHE_NS_USER);
	char name[PROCCACHE_USERS_NAME_MAX + 1];

	if (userns && !snoop_ns_is_host(s, PROCCACHE_NS_USER, userns))
		return;
	if (!snoop_user_name(s, proccache_process__cred(p, PROCCACHE_CRED_EUID),
			     name, sizeof(name)))
		return;
	jw_object_begin(&s->jw, "user");
	jw_string(&s->jw, "name", name);
	jw_object_end(&s->jw);
}

/* --extensions: argv after argv[0]; left out when empty, as a repeated
 * field is. */
static void json_args_array(struct snoop *s, const struct proccache_process *p)
{
	const char *arg;
	size_t off = 0, n;
	bool open = false;

	while (snoop_next_arg(p, false, &off, &arg, &n)) {
		if (!open)
			jw_array_begin(&s->jw, "args");
		open = true;
		jw_string_n(&s->jw, NULL, arg, n);
	}
	if (open)
		jw_array_end(&s->jw);
}

/* Process.environment_variables (repeated EnvVar { Key, Value }), only
 * when an environment was captured (--env-max). A string without '=' is
 * a Key with no Value. */
static void json_env(struct snoop *s, const struct proccache_process *p)
{
	const char *var, *eq;
	size_t off = 0, n;
	bool open = false;

	while (snoop_next_env(p, &off, &var, &n)) {
		if (!open)
			jw_array_begin(&s->jw, "environment_variables");
		open = true;
		eq = memchr(var, '=', n);
		jw_object_begin(&s->jw, NULL);
		jw_string_n(&s->jw, "Key", var, eq ? (size_t)(eq - var) : n);
		if (eq && eq + 1 < var + n)
			jw_string_n(&s->jw, "Value", eq + 1, n - (size_t)(eq + 1 - var));
		jw_object_end(&s->jw);
	}
	if (open)
		jw_array_end(&s->jw);
}

struct process_ctx {
	const char *parent_exec_id; /* NULL: none */
	bool in_init_tree;
	bool exec_event; /* the process of an exec: binary_properties */
};

static void json_process(struct snoop *s, const char *key,
			 const struct proccache_process *p,
			 const struct process_ctx *c, const char *arguments)
{
	char flags[128], id[PROCCACHE_EXEC_ID_MAX];
	const char *docker = proccache_process__container_id(p);
	uint32_t refcnt = snoop_refcnt_get(s->refcnt, p);

	tetragon_flags(p, c->in_init_tree, flags, sizeof(flags));
	jw_object_begin(&s->jw, key);
	if (proccache_process__exec_id(p, id, sizeof(id)) >= 0)
		jw_string(&s->jw, "exec_id", id);
	jw_uint(&s->jw, "pid", proccache_process__pid(p));
	/* Tetragon's process.uid is the effective uid. */
	jw_uint(&s->jw, "uid", proccache_process__cred(p, PROCCACHE_CRED_EUID));
	if (*proccache_process__cwd(p))
		jw_string(&s->jw, "cwd", proccache_process__cwd(p));
	if (*proccache_process__binary(p))
		jw_string(&s->jw, "binary", proccache_process__binary(p));
	if (*arguments)
		jw_string(&s->jw, "arguments", arguments);
	if (*flags)
		jw_string(&s->jw, "flags", flags);
	/* The start of this execution: the exec ID's ktime. */
	json_time(s, "start_time", proccache_process__ktime(p));
	jw_uint(&s->jw, "auid", proccache_process__cred(p, PROCCACHE_CRED_AUID));
	if (strlen(docker) >= DOCKER_ID_LEN)
		jw_string_n(&s->jw, "docker", docker, DOCKER_ID_LEN);
	if (c->parent_exec_id)
		jw_string(&s->jw, "parent_exec_id", c->parent_exec_id);
	if (refcnt)
		jw_uint(&s->jw, "refcnt", refcnt);
	json_caps(s, p);
	json_ns(s, p);
	jw_uint(&s->jw, "tid", proccache_process__tid(p));
	json_creds(s, p);
	if (c->exec_event)
		json_binary_properties(s, p);
	json_user(s, p);
	jw_bool(&s->jw, "in_init_tree", c->in_init_tree);
	json_env(s, p);
	if (s->extensions)
		json_args_array(s, p);
	jw_object_end(&s->jw);
}

static int json_entry(struct snoop *s, const char *key,
		      const struct proccache_process *p, bool in_init_tree,
		      bool exec_event)
{
	char parent_id[PROCCACHE_EXEC_ID_MAX];
	struct process_ctx c = { .in_init_tree = in_init_tree,
				 .exec_event = exec_event };
	char *arguments = tetragon_arguments(p);

	if (!arguments)
		return -ENOMEM;
	if (proccache_process__parent_exec_id(p, parent_id, sizeof(parent_id)) >= 0)
		c.parent_exec_id = parent_id;
	json_process(s, key, p, &c, arguments);
	free(arguments);
	return 0;
}

/*
 * Tetragon's in_init_tree: the process has pid 1 in its pid namespace, or
 * its parent is in the tree (set at clone and kept across exec).
 */
static int lineage_get(struct snoop *s, const struct proccache_process *p,
		       struct lineage *l)
{
	int i;

	memset(l, 0, sizeof(*l));
	l->n = snoop_ancestors(s, p, &l->chain);
	if (l->n == -ENOENT)
		l->n = 0; /* reclaimed already: no lineage to show */
	if (l->n < 0)
		return l->n;
	l->in_init_tree = calloc((size_t)l->n + 1, sizeof(bool));
	if (!l->in_init_tree) {
		snoop_ancestors_put(l->chain, l->n);
		return -ENOMEM;
	}
	for (i = l->n - 1; i >= 0; i--)
		l->in_init_tree[i] = proccache_process__nspid(l->chain[i]) == 1 ||
				     l->in_init_tree[i + 1];
	l->self_in_init_tree = proccache_process__nspid(p) == 1 || l->in_init_tree[0];
	return 0;
}

static void lineage_put(struct lineage *l)
{
	snoop_ancestors_put(l->chain, l->n);
	free(l->in_init_tree);
}

static bool same_key(const struct proccache_process *a,
		     const struct proccache_process *b)
{
	struct proccache_key ka = proccache_process__key(a);
	struct proccache_key kb = proccache_process__key(b);

	return ka.pid == kb.pid && ka.ktime == kb.ktime;
}

/* The event's process and its parent. The cache's chain has Tetragon's
 * parent already: the forker for the first exec after a clone, the
 * previous image for an exec without a clone. */
static int json_process_parent(struct snoop *s, const struct proccache_process *p,
			       const struct proccache_process *parent,
			       const struct lineage *l, bool exec_event)
{
	int err = json_entry(s, "process", p, l->self_in_init_tree, exec_event);

	if (!err && parent)
		err = json_entry(s, "parent", parent,
				 l->n && same_key(l->chain[0], parent)
					 ? l->in_init_tree[0]
					 : proccache_process__nspid(parent) == 1,
				 false);
	return err;
}

/* With --ancestors, Tetragon's: from the grandparent on, walking while the
 * last one has a pid above 2; none for a process of pid 1 or 2. */
static int json_ancestors(struct snoop *s, const struct proccache_process *p,
			  const struct proccache_process *parent,
			  const struct lineage *l)
{
	int i, err = 0;

	if (!s->ancestors || !parent || l->n < 2 ||
	    proccache_process__pid(p) <= OLDEST_ANCESTOR_PID)
		return 0;
	jw_array_begin(&s->jw, "ancestors");
	for (i = 1; i < l->n && !err; i++) {
		if (proccache_process__pid(l->chain[i - 1]) <= OLDEST_ANCESTOR_PID)
			break;
		err = json_entry(s, NULL, l->chain[i], l->in_init_tree[i], false);
	}
	jw_array_end(&s->jw);
	return err;
}

/*
 * Tetragon names signals with Go's unix.SignalName(), whose Linux table has
 * 1 to 31 only (glibc's abbreviations differ at 29: POLL, not IO); any
 * other, a real-time signal, has no name and is left out.
 */
static void json_signal(struct snoop *s, int sig)
{
	static const char *const go_names[32] = {
		[1] = "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
		"SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2",
		"SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
		"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
		"SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
		"SIGSYS",
	};

	if (sig >= 1 && sig <= 31)
		jw_string(&s->jw, "signal", go_names[sig]);
}

static int json_exec(struct snoop *s, const struct proccache_process *p,
		     const struct proccache_process *parent, bool exec_event)
{
	struct lineage l;
	int err = lineage_get(s, p, &l);

	if (err)
		return err;
	err = json_process_parent(s, p, parent, &l, exec_event);
	if (!err)
		err = json_ancestors(s, p, parent, &l);
	lineage_put(&l);
	return err;
}

/* ProcessExit: process, parent, signal, status, time, then ancestors. */
static int json_exit(struct snoop *s, const struct proccache_event *ev,
		     const struct proccache_process *p,
		     const struct proccache_process *parent)
{
	int code = proccache_process__exit_code(p);
	struct lineage l;
	int err = lineage_get(s, p, &l);

	if (err)
		return err;
	err = json_process_parent(s, p, parent, &l, false);
	if (!err) {
		json_signal(s, proccache_process__exit_signal(p));
		if (code)
			jw_uint(&s->jw, "status", (uint32_t)code);
		json_time(s, "time", snoop_event_time(ev, p));
		err = json_ancestors(s, p, parent, &l);
	}
	lineage_put(&l);
	return err;
}

/* @return 1 for an event the output leaves out. */
static int json_body(struct snoop *s, const struct proccache_event *ev,
		     const struct proccache_process *p,
		     const struct proccache_process *parent)
{
	int err;

	switch (ev->type) {
	case PROCCACHE_EVENT_EXEC:
		jw_object_begin(&s->jw, "process_exec");
		err = json_exec(s, p, parent, true);
		break;
	case PROCCACHE_EVENT_CLONE:
		if (!s->extensions)
			return 1;
		jw_object_begin(&s->jw, "process_clone");
		err = json_exec(s, p, parent, false);
		break;
	case PROCCACHE_EVENT_EXIT:
		jw_object_begin(&s->jw, "process_exit");
		err = json_exit(s, ev, p, parent);
		break;
	case PROCCACHE_EVENT_LOST:
		if (!s->extensions)
			return 1;
		jw_object_begin(&s->jw, "lost");
		json_u64_string(s, "count", ev->lost);
		err = 0;
		break;
	default:
		return 1;
	}
	jw_object_end(&s->jw);
	return err;
}

int snoop_tetragon_event(struct snoop *s, const struct proccache_event *ev,
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
	json_time(s, "time", snoop_event_time(ev, p));
	jw_object_end(&s->jw);
	if (jw_failed(&s->jw))
		return -ENOMEM;
	fputs(jw_text(&s->jw), s->out);
	putc('\n', s->out);
	return 0;
}
