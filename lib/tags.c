/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tags: the standard attributes of a process and its parent, in one of
 * three vocabularies, through a callback or into a JSON buffer. Each
 * vocabulary is a table of (key, field, whose); one function turns a field
 * of a snapshot into a value. Runs on any thread, typically inside a
 * borrowed-read callback: nothing here blocks or keeps a pointer.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include "clock.h"
#include "opts.h"
#include "tags.h"
#include "proccache/proccache.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SCRATCH 4096

enum field {
	F_EXEC_ID,
	F_PID,
	F_PPID,     /* the parent given, else the parent key's pid */
	F_UID,      /* real */
	F_USER,     /* the name of the real uid */
	F_EUSER,    /* the name of the effective uid */
	F_EUID,
	F_SUID,
	F_GID,
	F_EGID,
	F_SGID,
	F_BINARY,
	F_NAME,     /* basename of the binary */
	F_COMMAND,  /* argv[0] */
	F_ARGS,     /* LoongCollector's argument line, without argv[0] */
	F_CMDLINE,  /* the same with argv[0] */
	F_ARGV,     /* the list */
	F_ARGC,
	F_CWD,
	F_KTIME,
	F_START,    /* ISO 8601, UTC */
	F_END,      /* exit time, ISO 8601; exited only */
	F_EXIT_CODE, /* exited only */
	F_CAP_PERMITTED,
	F_CAP_EFFECTIVE,
	F_CAP_INHERITABLE,
	F_CONTAINER_ID, /* only when known */
};

enum whose { SELF, PARENT };

/* How a field's value is typed: as the field says, or always a string. */
enum as { NATURAL, STRING, LIST };

struct tag_def {
	const char *key;
	unsigned char field, whose, as;
};

/* LoongCollector's ProcessCacheManager::FinalizeProcessTags() keys (the
 * "log" names of its table schema), in its order; all values strings. */
static const struct tag_def loongcollector[] = {
	{ "exec_id", F_EXEC_ID, SELF, STRING },
	{ "pid", F_PID, SELF, STRING },
	{ "uid", F_UID, SELF, STRING },
	{ "user", F_USER, SELF, STRING },
	{ "binary", F_BINARY, SELF, STRING },
	{ "arguments", F_ARGS, SELF, STRING },
	{ "cwd", F_CWD, SELF, STRING },
	{ "ktime", F_KTIME, SELF, STRING },
	{ "cap.permitted", F_CAP_PERMITTED, SELF, STRING },
	{ "cap.effective", F_CAP_EFFECTIVE, SELF, STRING },
	{ "cap.inheritable", F_CAP_INHERITABLE, SELF, STRING },
	{ "container.id", F_CONTAINER_ID, SELF, STRING },
	{ "parent.exec_id", F_EXEC_ID, PARENT, STRING },
	{ "parent.pid", F_PID, PARENT, STRING },
	{ "parent.uid", F_UID, PARENT, STRING },
	{ "parent.user", F_USER, PARENT, STRING },
	{ "parent.binary", F_BINARY, PARENT, STRING },
	{ "parent.arguments", F_ARGS, PARENT, STRING },
	{ "parent.cwd", F_CWD, PARENT, STRING },
	{ "parent.ktime", F_KTIME, PARENT, STRING },
	{ "parent.container.id", F_CONTAINER_ID, PARENT, STRING },
};

/* OpenTelemetry semantic conventions, process attributes. */
static const struct tag_def otel[] = {
	{ "process.pid", F_PID, SELF, NATURAL },
	{ "process.parent_pid", F_PPID, SELF, NATURAL },
	{ "process.executable.path", F_BINARY, SELF, NATURAL },
	{ "process.executable.name", F_NAME, SELF, NATURAL },
	{ "process.command", F_COMMAND, SELF, NATURAL },
	{ "process.command_args", F_ARGV, SELF, NATURAL },
	{ "process.args_count", F_ARGC, SELF, NATURAL },
	{ "process.working_directory", F_CWD, SELF, NATURAL },
	{ "process.creation.time", F_START, SELF, NATURAL },
	{ "process.owner", F_USER, SELF, NATURAL },
	{ "process.user.name", F_EUSER, SELF, NATURAL },
	{ "process.real_user.name", F_USER, SELF, NATURAL },
	{ "process.user.id", F_EUID, SELF, NATURAL },
	{ "process.real_user.id", F_UID, SELF, NATURAL },
	{ "process.saved_user.id", F_SUID, SELF, NATURAL },
	{ "process.group.id", F_EGID, SELF, NATURAL },
	{ "process.real_group.id", F_GID, SELF, NATURAL },
	{ "process.saved_group.id", F_SGID, SELF, NATURAL },
	{ "process.exit.code", F_EXIT_CODE, SELF, NATURAL },
	{ "process.exit.time", F_END, SELF, NATURAL },
	{ "container.id", F_CONTAINER_ID, SELF, NATURAL },
};

/* Elastic Common Schema: ids are keywords (strings), capabilities lists. */
static const struct tag_def ecs[] = {
	{ "process.pid", F_PID, SELF, NATURAL },
	{ "process.entity_id", F_EXEC_ID, SELF, NATURAL },
	{ "process.executable", F_BINARY, SELF, NATURAL },
	{ "process.name", F_NAME, SELF, NATURAL },
	{ "process.args", F_ARGV, SELF, NATURAL },
	{ "process.args_count", F_ARGC, SELF, NATURAL },
	{ "process.command_line", F_CMDLINE, SELF, NATURAL },
	{ "process.working_directory", F_CWD, SELF, NATURAL },
	{ "process.start", F_START, SELF, NATURAL },
	{ "process.end", F_END, SELF, NATURAL },
	{ "process.exit_code", F_EXIT_CODE, SELF, NATURAL },
	{ "process.user.id", F_EUID, SELF, STRING },
	{ "process.user.name", F_EUSER, SELF, NATURAL },
	{ "process.real_user.id", F_UID, SELF, STRING },
	{ "process.real_user.name", F_USER, SELF, NATURAL },
	{ "process.saved_user.id", F_SUID, SELF, STRING },
	{ "process.group.id", F_EGID, SELF, STRING },
	{ "process.real_group.id", F_GID, SELF, STRING },
	{ "process.saved_group.id", F_SGID, SELF, STRING },
	{ "process.thread.capabilities.effective", F_CAP_EFFECTIVE, SELF, LIST },
	{ "process.thread.capabilities.permitted", F_CAP_PERMITTED, SELF, LIST },
	{ "container.id", F_CONTAINER_ID, SELF, NATURAL },
	{ "process.parent.pid", F_PID, PARENT, NATURAL },
	{ "process.parent.entity_id", F_EXEC_ID, PARENT, NATURAL },
	{ "process.parent.executable", F_BINARY, PARENT, NATURAL },
	{ "process.parent.name", F_NAME, PARENT, NATURAL },
	{ "process.parent.args", F_ARGV, PARENT, NATURAL },
	{ "process.parent.args_count", F_ARGC, PARENT, NATURAL },
	{ "process.parent.command_line", F_CMDLINE, PARENT, NATURAL },
	{ "process.parent.working_directory", F_CWD, PARENT, NATURAL },
	{ "process.parent.start", F_START, PARENT, NATURAL },
	{ "process.parent.user.id", F_EUID, PARENT, STRING },
	{ "process.parent.user.name", F_EUSER, PARENT, NATURAL },
	{ "process.parent.group.id", F_EGID, PARENT, STRING },
};

struct vocab {
	const struct tag_def *defs;
	size_t n;
};

static const struct vocab vocabs[] = {
	[PROCCACHE_TAGS_LOONGCOLLECTOR] = { loongcollector,
					    ARRAY_SIZE(loongcollector) },
	[PROCCACHE_TAGS_OTEL] = { otel, ARRAY_SIZE(otel) },
	[PROCCACHE_TAGS_ECS] = { ecs, ARRAY_SIZE(ecs) },
};

/* One call's state: the scratch buffer values are formatted into. */
struct emit {
	struct proccache_users *users;
	const struct proccache_process *parent; /* of the process tagged */
	char scratch[SCRATCH];
	char *heap; /* for a value longer than scratch */
	int64_t wall_minus_boot; /* ns; 0 until first needed */
	/* a value was cut for want of memory, or a user name left out
	 * because the name cache has not resolved it yet */
	bool incomplete;
};

/* CLOCK_REALTIME - CLOCK_BOOTTIME, once per emit (pc_wall_minus_boot_ns()). */
static int64_t wall_minus_boot(struct emit *e)
{
	if (!e->wall_minus_boot)
		e->wall_minus_boot = pc_wall_minus_boot_ns();
	return e->wall_minus_boot;
}

static size_t iso8601(struct emit *e, uint64_t boot_ns, char *buf, size_t len)
{
	int64_t wall = (int64_t)boot_ns + wall_minus_boot(e);
	time_t secs = (time_t)(wall / 1000000000);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, len - n, ".%03uZ",
			      (unsigned int)(wall % 1000000000 / 1000000));
	return n;
}

/* A string value formatted by @fmt into scratch, or the heap if longer. */
static int format_long(struct emit *e, struct proccache_tag *t,
		       int (*fmt)(const char *, size_t, int, char *, size_t),
		       const char *in, size_t in_len, int flag)
{
	int n = fmt(in, in_len, flag, e->scratch, sizeof(e->scratch));

	if (n < 0)
		return n;
	t->str = e->scratch;
	if ((size_t)n >= sizeof(e->scratch)) {
		free(e->heap);
		e->heap = malloc((size_t)n + 1);
		/* Without memory the value stays cut at the scratch size. */
		if (e->heap && fmt(in, in_len, flag, e->heap, (size_t)n + 1) == n) {
			t->str = e->heap;
		} else {
			n = sizeof(e->scratch) - 1;
			e->incomplete = true;
		}
	}
	t->len = (size_t)n;
	return 0;
}

/*
 * Capability names are the longest tag values (a root process: 41 names,
 * 700 bytes a set) and a host has few distinct sets, so each thread keeps
 * the last few it wrote, keyed by value. Allocated on first use, freed at
 * thread exit.
 */
#define CAPS_MEMO 4
#define CAPS_TEXT_MAX (64 * 24)

struct caps_memo {
	uint64_t caps;
	int len; /* -1: empty slot */
	char text[CAPS_TEXT_MAX];
};

static pthread_key_t memo_key;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static __thread struct caps_memo *memo;
static __thread unsigned int memo_next;

static void memo_key_init(void)
{
	if (pthread_key_create(&memo_key, free))
		memo_key = (pthread_key_t)-1;
}

/* The names of @caps, space separated, or NULL without memory. */
static const char *caps_text(uint64_t caps, size_t *ret_len)
{
	struct caps_memo *m;

	if (!memo) {
		pthread_once(&memo_once, memo_key_init);
		if (memo_key == (pthread_key_t)-1)
			return NULL;
		memo = malloc(CAPS_MEMO * sizeof(*memo));
		if (!memo)
			return NULL;
		for (int i = 0; i < CAPS_MEMO; i++)
			memo[i].len = -1;
		pthread_setspecific(memo_key, memo);
	}
	for (int i = 0; i < CAPS_MEMO; i++)
		if (memo[i].len >= 0 && memo[i].caps == caps) {
			*ret_len = (size_t)memo[i].len;
			return memo[i].text;
		}
	m = &memo[memo_next++ % CAPS_MEMO];
	m->len = proccache_caps_format(caps, m->text, sizeof(m->text));
	m->caps = caps;
	if (m->len < 0 || (size_t)m->len >= sizeof(m->text)) {
		m->len = -1;
		return NULL;
	}
	*ret_len = (size_t)m->len;
	return m->text;
}

/* Decimal digits of @v at the end of @buf[24]; returns the first. */
char *pc_tags_decimal(int64_t v, char *buf)
{
	char *p = buf + 23;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	*p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	return p;
}

/* Capability names, space separated, or NUL separated for a list. */
static int caps_fmt(const char *unused, size_t caps, int list, char *buf,
		    size_t len)
{
	int n = proccache_caps_format(caps, buf, len);

	(void)unused;
	if (list && n > 0 && (size_t)n < len)
		for (int i = 0; i < n; i++)
			if (buf[i] == ' ')
				buf[i] = '\0';
	return n;
}

static int args_fmt(const char *args, size_t len, int skip, char *buf,
		    size_t out_len)
{
	return proccache_args_decode(args, len, skip, buf, out_len);
}

/* @len bytes of @src with a NUL after them (args cut at the capture limit
 * may lack their last one). */
static int copy_terminated(struct emit *e, struct proccache_tag *t,
			   const char *src, size_t len)
{
	char *dst = e->scratch;

	if (len >= sizeof(e->scratch)) {
		free(e->heap);
		e->heap = malloc(len + 1);
		if (e->heap) {
			dst = e->heap;
		} else {
			len = sizeof(e->scratch) - 1;
			e->incomplete = true;
		}
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	t->str = dst;
	t->len = len;
	return 0;
}

static size_t argc_of(const char *args, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (!args[i] || i + 1 == len)
			n++;
	return n;
}

static uint64_t capset(const struct proccache_process *p, unsigned int f)
{
	return proccache_process__caps(
		p, f == F_CAP_PERMITTED	  ? PROCCACHE_CAP_PERMITTED
		   : f == F_CAP_EFFECTIVE ? PROCCACHE_CAP_EFFECTIVE
					  : PROCCACHE_CAP_INHERITABLE);
}

static int64_t number(const struct emit *e, const struct proccache_process *p,
		      unsigned int f)
{
	static const enum proccache_cred creds[] = {
		[F_UID] = PROCCACHE_CRED_UID,	[F_EUID] = PROCCACHE_CRED_EUID,
		[F_SUID] = PROCCACHE_CRED_SUID, [F_GID] = PROCCACHE_CRED_GID,
		[F_EGID] = PROCCACHE_CRED_EGID, [F_SGID] = PROCCACHE_CRED_SGID,
	};

	switch (f) {
	case F_PID:
		return proccache_process__pid(p);
	case F_PPID: /* the parent process, if the caller gave it */
		return e->parent ? proccache_process__pid(e->parent)
				 : proccache_process__parent_key(p).pid;
	case F_KTIME:
		return (int64_t)proccache_process__ktime(p);
	case F_EXIT_CODE:
		return proccache_process__exit_code(p);
	default:
		return proccache_process__cred(p, creds[f]);
	}
}

static void set_str(struct proccache_tag *t, const char *s)
{
	t->str = s;
	t->len = strlen(s);
}

/*
 * The value of field @f of @p into @t. Returns 0, 1 when the field has no
 * value to show, or a negative errno.
 */
static int field_value(struct emit *e, const struct proccache_process *p,
		       const struct tag_def *d, struct proccache_tag *t)
{
	unsigned int f = d->field;
	size_t args_len = 0;
	const char *args = NULL;
	const char *s;
	int n;

	if (f == F_COMMAND || f == F_ARGS || f == F_CMDLINE || f == F_ARGV ||
	    f == F_ARGC)
		args = proccache_process__args(p, &args_len);

	t->type = PROCCACHE_TAG_STRING;
	switch (f) {
	case F_EXEC_ID:
		n = proccache_process__exec_id(p, e->scratch, sizeof(e->scratch));
		if (n < 0)
			return n;
		t->str = e->scratch;
		t->len = (size_t)n;
		return 0;
	case F_BINARY:
		set_str(t, proccache_process__binary(p));
		return 0;
	case F_NAME:
		s = strrchr(proccache_process__binary(p), '/');
		set_str(t, s ? s + 1 : proccache_process__binary(p));
		return 0;
	case F_COMMAND:
		return copy_terminated(e, t, args, args ? strnlen(args, args_len)
						      : 0);
	case F_ARGS:
	case F_CMDLINE:
		return format_long(e, t, args_fmt, args, args_len, f == F_ARGS);
	case F_ARGV:
		t->type = PROCCACHE_TAG_STRINGS;
		t->str = args ? args : "";
		t->len = args_len;
		if (args_len && args[args_len - 1])
			return copy_terminated(e, t, args, args_len);
		return 0;
	case F_ARGC:
		t->type = PROCCACHE_TAG_INT;
		t->num = (int64_t)argc_of(args, args_len);
		return 0;
	case F_CWD:
		set_str(t, proccache_process__cwd(p));
		return 0;
	case F_USER:
	case F_EUSER:
		/* Never a blocking lookup: a name not resolved yet is left
		 * out, and the cache resolves it for the next record. */
		n = e->users ? proccache_users__user_name(
				       e->users,
				       proccache_process__cred(
					       p, f == F_USER ? PROCCACHE_CRED_UID
							      : PROCCACHE_CRED_EUID),
				       e->scratch, sizeof(e->scratch))
			     : -ENOENT;
		if (n < 0) {
			/* no such user is an answer; anything else may
			 * have one later */
			e->incomplete |= e->users && n != -ENOENT;
			return 1;
		}
		t->str = e->scratch;
		t->len = (size_t)n;
		return 0;
	case F_START:
	case F_END:
		if (f == F_END && proccache_process__state(p) !=
					  PROCCACHE_STATE_EXITED)
			return 1;
		t->str = e->scratch;
		t->len = iso8601(e, f == F_START ? proccache_process__start_time(p)
						 : proccache_process__exit_time(p),
				 e->scratch, sizeof(e->scratch));
		return 0;
	case F_EXIT_CODE:
		if (proccache_process__state(p) != PROCCACHE_STATE_EXITED ||
		    proccache_process__exit_signal(p))
			return 1;
		break;
	case F_CAP_PERMITTED:
	case F_CAP_EFFECTIVE:
	case F_CAP_INHERITABLE:
		if (d->as == LIST || !(s = caps_text(capset(p, f), &t->len))) {
			n = format_long(e, t, caps_fmt, NULL, capset(p, f),
					d->as == LIST);
			if (!n && d->as == LIST) {
				t->type = PROCCACHE_TAG_STRINGS;
				t->len = t->len ? t->len + 1 : 0; /* the last NUL */
			}
			return n;
		}
		t->str = s;
		return 0;
	case F_CONTAINER_ID:
		set_str(t, proccache_process__container_id(p));
		return t->len ? 0 : 1;
	default:
		break;
	}
	t->type = PROCCACHE_TAG_INT;
	t->num = number(e, p, f);
	return 0;
}

/* A string value where the definition asks for one. */
static void as_string(struct emit *e, const struct tag_def *d,
		      struct proccache_tag *t)
{
	if (d->as == STRING && t->type == PROCCACHE_TAG_INT) {
		t->type = PROCCACHE_TAG_STRING;
		t->str = pc_tags_decimal(t->num, e->scratch);
		t->len = (size_t)(e->scratch + 23 - t->str);
	}
}

static bool plain_field(unsigned int f)
{
	return f == F_EXEC_ID || f == F_START || f == F_END ||
	       f == F_CAP_PERMITTED || f == F_CAP_EFFECTIVE ||
	       f == F_CAP_INHERITABLE;
}

int pc_tags_emit_all(const struct proccache_process *p,
		     const struct proccache_process *parent, uint32_t vocab,
		     struct proccache_users *users, proccache_tag_fn fn,
		     void *userdata, bool *ret_incomplete)
{
	const struct vocab *v = &vocabs[vocab];
	struct emit e; /* not zeroed: 4 KiB of scratch */
	int count = 0, err = 0;

	e.heap = NULL;
	e.wall_minus_boot = 0;
	e.incomplete = false;
	e.users = users;
	e.parent = parent;

	for (size_t i = 0; i < v->n; i++) {
		const struct tag_def *d = &v->defs[i];
		const struct proccache_process *who = d->whose == SELF ? p : parent;
		struct tag_out o = { .tag = { .key = d->key } };

		/* A field without a value (or one that cannot be shown) is
		 * left out, not written empty. */
		if (!who || field_value(&e, who, d, &o.tag) != 0)
			continue;
		o.plain = plain_field(d->field) ||
			  o.tag.type == PROCCACHE_TAG_INT;
		o.parent_pid = d->field == F_PPID;
		o.caps_set = d->field == F_CAP_PERMITTED ||
			     d->field == F_CAP_EFFECTIVE ||
			     d->field == F_CAP_INHERITABLE;
		if (o.caps_set)
			o.caps = capset(who, d->field);
		as_string(&e, d, &o.tag);
		err = fn(&o.tag, userdata);
		if (err < 0)
			break;
		count++;
	}
	free(e.heap);
	if (ret_incomplete)
		*ret_incomplete = e.incomplete;
	return err < 0 ? err : count;
}

int pc_tags_opts(const struct proccache_tags_opts *opts, uint32_t *ret_vocab,
		 struct proccache_users **ret_users)
{
	uint32_t vocab = PC_OPTS_GET(opts, vocab, PROCCACHE_TAGS_LOONGCOLLECTOR);

	if (!pc_opts_valid(opts, sizeof(*opts), "proccache_tags_opts") ||
	    vocab >= ARRAY_SIZE(vocabs) || PC_OPTS_GET(opts, pad, 0))
		return -EINVAL;
	*ret_vocab = vocab;
	*ret_users = PC_OPTS_GET(opts, users, NULL);
	return 0;
}

PROCCACHE_API int proccache_tags_emit(const struct proccache_process *p,
				      const struct proccache_process *parent,
				      const struct proccache_tags_opts *opts,
				      proccache_tag_fn fn, void *userdata)
{
	struct proccache_users *users;
	uint32_t vocab;

	if (!p || !fn || pc_tags_opts(opts, &vocab, &users) < 0)
		return -EINVAL;
	return pc_tags_emit_all(p, parent, vocab, users, fn, userdata, NULL);
}
