/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --format ecs: one Elastic Common Schema document per event, as Elastic
 * Defend, Beats and quark write process events: the process and its
 * parent under process.* and process.parent.*, event.kind/category/type/
 * action, host.*, ecs.version. Ids are keywords (strings), pids longs,
 * times ISO 8601. tests/schema/ecs.json is the schema the tests hold it to;
 * docs/proccache-snoop.md says which ECS version.
 *
 * The process (not its parent) carries its context: process.group_leader.pid
 * (the process group), session_leader and entry_leader (with
 * entry_meta.type) with what the cache still holds of them, and
 * process.tty.char_device when it has a controlling tty.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "snoop.h"

#define ECS_VERSION "9.4.0"

/* ------------------------------------------------------------------------ */
/* host.*, read once                                                         */
/* ------------------------------------------------------------------------ */

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* KEY=value or KEY="value" of os-release(5), quotes removed. */
static void os_release_value(const char *line, const char *key, char *buf,
			     size_t len)
{
	size_t klen = strlen(key), n;
	const char *v;

	if (strncmp(line, key, klen) || line[klen] != '=')
		return;
	v = line + klen + 1;
	n = strcspn(v, "\n");
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v++;
		n -= 2;
	}
	snprintf(buf, len, "%.*s", (int)n, v);
}

static void read_os_release(struct snoop_host *h)
{
	char line[512], id_like[128] = "";
	FILE *f = fopen("/etc/os-release", "re");

	if (!f)
		f = fopen("/usr/lib/os-release", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		os_release_value(line, "NAME", h->os_name, sizeof(h->os_name));
		os_release_value(line, "ID", h->os_platform, sizeof(h->os_platform));
		os_release_value(line, "VERSION_ID", h->os_version,
				 sizeof(h->os_version));
		os_release_value(line, "ID_LIKE", id_like, sizeof(id_like));
	}
	fclose(f);
	/* The family is the distribution this one derives from, else itself. */
	id_like[strcspn(id_like, " ")] = '\0';
	snprintf(h->os_family, sizeof(h->os_family), "%s",
		 *id_like ? id_like : h->os_platform);
}

void snoop_ecs_init(struct snoop *s)
{
	struct snoop_host *h = &s->host;
	struct utsname u;

	if (gethostname(h->hostname, sizeof(h->hostname)) < 0)
		h->hostname[0] = '\0';
	h->hostname[sizeof(h->hostname) - 1] = '\0';
	if (uname(&u) == 0) {
		snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
		snprintf(h->arch, sizeof(h->arch), "%s", u.machine);
	}
	read_line("/proc/sys/kernel/random/boot_id", h->boot_id,
		  sizeof(h->boot_id));
	read_os_release(h);
}

/* ------------------------------------------------------------------------ */
/* Documents                                                                 */
/* ------------------------------------------------------------------------ */

static void ecs_time(struct snoop *s, const char *key, uint64_t boot_ns)
{
	char t[SNOOP_TIME_MAX];

	snoop_format_time(s, boot_ns, t, sizeof(t));
	jw_string(&s->jw, key, t);
}

static void ecs_id(struct snoop *s, const char *key, uint32_t id)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", id);
	jw_string(&s->jw, key, num);
}

static void opt_string(struct snoop *s, const char *key, const char *v)
{
	if (v && *v)
		jw_string(&s->jw, key, v);
}

/* user, real_user, saved_user (and the groups): {id, name}, the name when
 * the user database answered already. */
static void ecs_ident(struct snoop *s, const char *key, uint32_t id, bool group)
{
	char name[PROCCACHE_USERS_NAME_MAX + 1];
	bool named = group ? snoop_group_name(s, id, name, sizeof(name))
			   : snoop_user_name(s, id, name, sizeof(name));

	jw_object_begin(&s->jw, key);
	ecs_id(s, "id", id);
	if (named)
		jw_string(&s->jw, "name", name);
	jw_object_end(&s->jw);
}

/* Capability names match ECS's pattern ^(CAP_[A-Z_]+|\d+)$: the kernel's
 * names, the number for a bit the library cannot name. An empty set is
 * left out, as an empty value is in ECS. */
static void ecs_cap_set(struct snoop *s, const char *key, uint64_t caps)
{
	unsigned int bit;

	if (!caps)
		return;
	jw_array_begin(&s->jw, key);
	for (bit = 0; bit < 64; bit++) {
		const char *name = proccache_cap_name(bit);
		char num[8];

		if (!(caps & (1ull << bit)))
			continue;
		if (!name) {
			snprintf(num, sizeof(num), "%u", bit);
			name = num;
		}
		jw_string(&s->jw, NULL, name);
	}
	jw_array_end(&s->jw);
}

static void ecs_thread(struct snoop *s, const struct proccache_process *p)
{
	uint64_t perm = proccache_process__caps(p, PROCCACHE_CAP_PERMITTED);
	uint64_t eff = proccache_process__caps(p, PROCCACHE_CAP_EFFECTIVE);

	jw_object_begin(&s->jw, "thread");
	jw_uint(&s->jw, "id", proccache_process__tid(p));
	if (perm || eff) {
		jw_object_begin(&s->jw, "capabilities");
		ecs_cap_set(s, "permitted", perm);
		ecs_cap_set(s, "effective", eff);
		jw_object_end(&s->jw);
	}
	jw_object_end(&s->jw);
}

/* args (argv[0] included), args_count and command_line (joined by
 * spaces); left out when no argument was captured. */
static int ecs_args(struct snoop *s, const struct proccache_process *p)
{
	size_t args_len, off = 0, n, cl_len = 0;
	const char *arg;
	char *cl;
	uint64_t count = 0;

	proccache_process__args(p, &args_len);
	if (!args_len)
		return 0;
	cl = malloc(args_len + 1);
	if (!cl)
		return -ENOMEM;
	jw_array_begin(&s->jw, "args");
	while (snoop_next_arg(p, true, &off, &arg, &n)) {
		jw_string_n(&s->jw, NULL, arg, n);
		if (cl_len)
			cl[cl_len++] = ' ';
		memcpy(cl + cl_len, arg, n);
		cl_len += n;
		count++;
	}
	jw_array_end(&s->jw);
	jw_uint(&s->jw, "args_count", count);
	jw_string_n(&s->jw, "command_line", cl, cl_len);
	free(cl);
	return 0;
}

/* process.env_vars (ECS 8.5+: an array of "NAME=value" keywords), only
 * when an environment was captured (--env-max); the process itself only:
 * ECS has no parent.env_vars. */
static void ecs_env_vars(struct snoop *s, const struct proccache_process *p)
{
	const char *var;
	size_t off = 0, n;
	bool open = false;

	while (snoop_next_env(p, &off, &var, &n)) {
		if (!open)
			jw_array_begin(&s->jw, "env_vars");
		open = true;
		jw_string_n(&s->jw, NULL, var, n);
	}
	if (open)
		jw_array_end(&s->jw);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int ecs_process_fields(struct snoop *s, const struct proccache_process *p)
{
	char id[PROCCACHE_EXEC_ID_MAX];
	const char *bin = proccache_process__binary(p);
	uint32_t nspid = proccache_process__nspid(p);
	uint64_t start = proccache_process__start_time(p);
	int err;

	jw_uint(&s->jw, "pid", proccache_process__pid(p));
	if (nspid)
		jw_uint(&s->jw, "vpid", nspid);
	if (proccache_process__exec_id(p, id, sizeof(id)) >= 0)
		jw_string(&s->jw, "entity_id", id);
	opt_string(s, "executable", bin);
	if (*bin)
		opt_string(s, "name", base_name(bin));
	err = ecs_args(s, p);
	if (err)
		return err;
	opt_string(s, "working_directory", proccache_process__cwd(p));
	ecs_time(s, "start", start ? start : proccache_process__ktime(p));
	if (proccache_process__state(p) == PROCCACHE_STATE_EXITED) {
		int sig = proccache_process__exit_signal(p);

		ecs_time(s, "end", proccache_process__exit_time(p));
		/* Killed by a signal: the shell's 128 + signal number. */
		jw_int(&s->jw, "exit_code",
		       sig ? 128 + sig : proccache_process__exit_code(p));
	}
	ecs_ident(s, "user", proccache_process__cred(p, PROCCACHE_CRED_EUID), false);
	ecs_ident(s, "group", proccache_process__cred(p, PROCCACHE_CRED_EGID), true);
	ecs_ident(s, "real_user", proccache_process__cred(p, PROCCACHE_CRED_UID), false);
	ecs_ident(s, "real_group", proccache_process__cred(p, PROCCACHE_CRED_GID), true);
	ecs_ident(s, "saved_user", proccache_process__cred(p, PROCCACHE_CRED_SUID), false);
	ecs_ident(s, "saved_group", proccache_process__cred(p, PROCCACHE_CRED_SGID), true);
	ecs_thread(s, p);
	return 0;
}

/* A leader by its exec key: pid and entity_id always, the rest when the
 * cache still holds its entry. Left out when unknown. */
static void ecs_leader(struct snoop *s, const char *key, struct proccache_key k,
		       const char *entry_type)
{
	char id[PROCCACHE_EXEC_ID_MAX];
	struct proccache_process *l;

	if (!k.pid)
		return;
	jw_object_begin(&s->jw, key);
	jw_uint(&s->jw, "pid", k.pid);
	if (proccache_exec_id_format(proccache__node_name(s->pc), &k, id,
				     sizeof(id)) >= 0)
		jw_string(&s->jw, "entity_id", id);
	l = proccache__lookup(s->pc, &k);
	if (l) {
		const char *bin = proccache_process__binary(l);

		if (proccache_process__nspid(l))
			jw_uint(&s->jw, "vpid", proccache_process__nspid(l));
		opt_string(s, "executable", bin);
		if (*bin)
			opt_string(s, "name", base_name(bin));
		ecs_time(s, "start", proccache_process__ktime(l));
		proccache_process__unref(l);
	}
	if (entry_type) {
		jw_object_begin(&s->jw, "entry_meta");
		jw_string(&s->jw, "type", entry_type);
		jw_object_end(&s->jw);
	}
	jw_object_end(&s->jw);
}

static void ecs_context(struct snoop *s, const struct proccache_process *p)
{
	uint32_t tty = proccache_process__tty(p);

	if (proccache_process__pgid(p)) {
		jw_object_begin(&s->jw, "group_leader");
		jw_uint(&s->jw, "pid", proccache_process__pgid(p));
		jw_object_end(&s->jw);
	}
	ecs_leader(s, "session_leader", proccache_process__session_leader(p),
		   NULL);
	ecs_leader(s, "entry_leader", proccache_process__entry_leader(p),
		   proccache_entry_type_name(proccache_process__entry_type(p)));
	if (tty) {
		jw_object_begin(&s->jw, "tty");
		jw_object_begin(&s->jw, "char_device");
		jw_uint(&s->jw, "major", PROCCACHE_TTY_MAJOR(tty));
		jw_uint(&s->jw, "minor", PROCCACHE_TTY_MINOR(tty));
		jw_object_end(&s->jw);
		jw_object_end(&s->jw);
	}
}

static void ecs_event(struct snoop *s, const struct proccache_event *ev)
{
	const char *type, *action;

	switch (ev->type) {
	case PROCCACHE_EVENT_EXEC:
		type = "start";
		action = "exec";
		break;
	case PROCCACHE_EVENT_CLONE:
		type = "start";
		action = "fork";
		break;
	default:
		type = "end";
		action = "end";
		break;
	}
	jw_object_begin(&s->jw, "event");
	jw_string(&s->jw, "kind", "event");
	jw_array_begin(&s->jw, "category");
	jw_string(&s->jw, NULL, "process");
	jw_array_end(&s->jw);
	jw_array_begin(&s->jw, "type");
	jw_string(&s->jw, NULL, type);
	jw_array_end(&s->jw);
	jw_string(&s->jw, "action", action);
	ecs_time(s, "created", snoop_boot_now());
	jw_object_end(&s->jw);
}

static void ecs_host(struct snoop *s)
{
	const struct snoop_host *h = &s->host;

	jw_object_begin(&s->jw, "host");
	jw_string(&s->jw, "name", proccache__node_name(s->pc));
	opt_string(s, "hostname", h->hostname);
	opt_string(s, "architecture", h->arch);
	if (*h->boot_id) {
		jw_object_begin(&s->jw, "boot");
		jw_string(&s->jw, "id", h->boot_id);
		jw_object_end(&s->jw);
	}
	jw_object_begin(&s->jw, "os");
	jw_string(&s->jw, "type", "linux");
	opt_string(s, "kernel", h->kernel);
	opt_string(s, "name", h->os_name);
	opt_string(s, "platform", h->os_platform);
	opt_string(s, "version", h->os_version);
	opt_string(s, "family", h->os_family);
	jw_object_end(&s->jw);
	jw_object_end(&s->jw);
}

/* The parent process, as ps shows it: past the earlier images of the same
 * pid that the cache chains for an exec without a clone. A reference, or
 * NULL. */
static struct proccache_process *parent_process(struct snoop *s,
						const struct proccache_process *p)
{
	struct proccache_process **chain, *found = NULL;
	int i, n = snoop_ancestors(s, p, &chain);

	for (i = 0; i < n && !found; i++)
		if (proccache_process__pid(chain[i]) != proccache_process__pid(p))
			found = proccache_process__ref(chain[i]);
	if (n > 0)
		snoop_ancestors_put(chain, n);
	return found;
}

/* Lost events, and anything else without a process, are not ECS process
 * events: the count goes to stderr. */
int snoop_ecs_event(struct snoop *s, const struct proccache_event *ev,
		    const struct proccache_process *p,
		    const struct proccache_process *cache_parent)
{
	struct proccache_process *parent;
	const char *cid;
	int err;

	if (ev->type == PROCCACHE_EVENT_LOST) {
		fprintf(stderr, "proccache-snoop: the sensor lost %llu events\n",
			(unsigned long long)ev->lost);
		return 0;
	}
	if (!p)
		return 0;
	parent = cache_parent ? parent_process(s, p) : NULL;
	jw_reset(&s->jw);
	jw_object_begin(&s->jw, NULL);
	ecs_time(s, "@timestamp", snoop_event_time(ev, p));
	jw_object_begin(&s->jw, "ecs");
	jw_string(&s->jw, "version", ECS_VERSION);
	jw_object_end(&s->jw);
	ecs_event(s, ev);
	ecs_host(s);
	jw_object_begin(&s->jw, "process");
	err = ecs_process_fields(s, p);
	if (!err) {
		ecs_context(s, p);
		ecs_env_vars(s, p);
	}
	if (!err && parent) {
		jw_object_begin(&s->jw, "parent");
		err = ecs_process_fields(s, parent);
		jw_object_end(&s->jw);
	}
	proccache_process__unref(parent);
	jw_object_end(&s->jw);
	if (err)
		return err;
	cid = proccache_process__container_id(p);
	if (*cid) {
		jw_object_begin(&s->jw, "container");
		jw_string(&s->jw, "id", cid);
		jw_object_end(&s->jw);
	}
	jw_object_end(&s->jw);
	if (jw_failed(&s->jw))
		return -ENOMEM;
	fputs(jw_text(&s->jw), s->out);
	putc('\n', s->out);
	return 0;
}
