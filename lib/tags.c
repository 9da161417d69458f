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

#include "opts.h"
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
};

/* CLOCK_REALTIME - CLOCK_BOOTTIME, to show boot times as dates. */
static int64_t wall_minus_boot(struct emit *e)
{
	struct timespec r, b;

	if (!e->wall_minus_boot) {
		clock_gettime(CLOCK_BOOTTIME, &b);
		clock_gettime(CLOCK_REALTIME, &r);
		e->wall_minus_boot =
			((int64_t)r.tv_sec - b.tv_sec) * 1000000000 +
			(r.tv_nsec - b.tv_nsec);
	}
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
		if (e->heap && fmt(in, in_len, flag, e->heap, (size_t)n + 1) == n)
			t->str = e->heap;
		else
			n = sizeof(e->scratch) - 1;
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
static char *decimal(int64_t v, char *buf)
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
		if (e->heap)
			dst = e->heap;
		else
			len = sizeof(e->scratch) - 1;
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
		if (n < 0)
			return 1;
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
		t->str = decimal(t->num, e->scratch);
		t->len = (size_t)(e->scratch + 23 - t->str);
	}
}

/* A tag as emit_all() passes it: with whether its value is known to need
 * no JSON escaping (exec IDs, numbers, dates, capability names), which
 * json_tag(), only ever called through emit_all(), reads. */
struct tag_out {
	struct proccache_tag tag;
	bool plain;
};

static bool plain_field(unsigned int f)
{
	return f == F_EXEC_ID || f == F_START || f == F_END ||
	       f == F_CAP_PERMITTED || f == F_CAP_EFFECTIVE ||
	       f == F_CAP_INHERITABLE;
}

static int emit_all(const struct proccache_process *p,
		    const struct proccache_process *parent, uint32_t vocab,
		    struct proccache_users *users, proccache_tag_fn fn,
		    void *userdata)
{
	const struct vocab *v = &vocabs[vocab];
	struct emit e; /* not zeroed: 4 KiB of scratch */
	int count = 0, err = 0;

	e.heap = NULL;
	e.wall_minus_boot = 0;
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
		as_string(&e, d, &o.tag);
		err = fn(&o.tag, userdata);
		if (err < 0)
			break;
		count++;
	}
	free(e.heap);
	return err < 0 ? err : count;
}

PROCCACHE_API int proccache_tags_emit(const struct proccache_process *p,
				      const struct proccache_process *parent,
				      const struct proccache_tags_opts *opts,
				      proccache_tag_fn fn, void *userdata)
{
	uint32_t vocab = PC_OPTS_GET(opts, vocab, PROCCACHE_TAGS_LOONGCOLLECTOR);

	if (!p || !fn || !pc_opts_valid(opts, sizeof(*opts), "proccache_tags_opts") ||
	    vocab >= ARRAY_SIZE(vocabs) || PC_OPTS_GET(opts, pad, 0))
		return -EINVAL;
	return emit_all(p, parent, vocab, PC_OPTS_GET(opts, users, NULL), fn,
			userdata);
}

/* ------------------------------------------------------------------------ */
/* JSON members                                                              */
/* ------------------------------------------------------------------------ */

/* An snprintf-like output: counts everything, stores what fits. */
struct json {
	char *buf;
	size_t cap, len;
};

static void put(struct json *j, const char *s, size_t n)
{
	if (j->len < j->cap) {
		size_t room = j->cap - j->len;

		memcpy(j->buf + j->len, s, n < room ? n : room);
	}
	j->len += n;
}

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static void put_string(struct json *j, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	put(j, "\"", 1);
	while (i < n) {
		size_t run = i, u;
		char esc[8];

		while (run < n && s[run] >= 0x20 && s[run] < 0x80 &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		put(j, str + i, run - i);
		i = run;
		if (i == n)
			break;
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			put(j, esc, 2);
			i++;
		} else if (s[i] < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			put(j, esc, 6);
			i++;
		} else if ((u = utf8_len(s + i, n - i))) {
			put(j, str + i, u);
			i += u;
		} else {
			put(j, "\\ufffd", 6);
			i++;
		}
	}
	put(j, "\"", 1);
}

static int json_tag(const struct proccache_tag *t, void *userdata)
{
	const struct tag_out *o = (const struct tag_out *)t;
	struct json *j = userdata;
	char num[24];
	const char *digits;

	/* Keys are the tables' own ASCII: nothing to escape. */
	put(j, j->len ? ",\"" : "\"", j->len ? 2 : 1);
	put(j, t->key, strlen(t->key));
	put(j, "\":", 2);
	switch (t->type) {
	case PROCCACHE_TAG_INT:
		digits = decimal(t->num, num);
		put(j, digits, (size_t)(num + 23 - digits));
		break;
	case PROCCACHE_TAG_STRINGS:
		put(j, "[", 1);
		for (size_t off = 0; off < t->len;) {
			size_t n = strnlen(t->str + off, t->len - off);

			if (off)
				put(j, ",", 1);
			put_string(j, t->str + off, n);
			off += n + 1;
		}
		put(j, "]", 1);
		break;
	default:
		if (o->plain) {
			put(j, "\"", 1);
			put(j, t->str, t->len);
			put(j, "\"", 1);
		} else {
			put_string(j, t->str, t->len);
		}
		break;
	}
	return 0;
}

static int json_finish(struct json *j)
{
	if (j->cap)
		j->buf[j->len < j->cap ? j->len : j->cap - 1] = '\0';
	return j->len > INT_MAX ? -EOVERFLOW : (int)j->len;
}

PROCCACHE_API int proccache_tags_json(const struct proccache_process *p,
				      const struct proccache_process *parent,
				      const struct proccache_tags_opts *opts,
				      char *buf, size_t len)
{
	struct json j = { .buf = buf, .cap = len };
	int err;

	if (!buf && len)
		return -EINVAL;
	err = proccache_tags_emit(p, parent, opts, json_tag, &j);
	return err < 0 ? err : json_finish(&j);
}

/* ------------------------------------------------------------------------ */
/* By pid, borrowed                                                          */
/* ------------------------------------------------------------------------ */

struct tags_call {
	const struct proccache_tags_opts *opts;
	proccache_tag_fn fn;
	void *userdata;
	char *buf;
	size_t len;
};

static int tags_borrowed(const struct proccache_process *p,
			 const struct proccache_process *parent, void *userdata)
{
	struct tags_call *c = userdata;

	return c->fn ? proccache_tags_emit(p, parent, c->opts, c->fn, c->userdata)
		     : proccache_tags_json(p, parent, c->opts, c->buf, c->len);
}

PROCCACHE_API int proccache__tags_pid(struct proccache *pc, uint32_t pid,
				      uint64_t at_ns,
				      const struct proccache_tags_opts *opts,
				      proccache_tag_fn fn, void *userdata)
{
	struct tags_call c = { .opts = opts, .fn = fn, .userdata = userdata };

	if (!fn)
		return -EINVAL;
	return proccache__with_pid(pc, pid, at_ns, tags_borrowed, &c);
}

PROCCACHE_API int proccache__tags_pid_json(struct proccache *pc, uint32_t pid,
					   uint64_t at_ns,
					   const struct proccache_tags_opts *opts,
					   char *buf, size_t len)
{
	struct tags_call c = { .opts = opts, .buf = buf, .len = len };

	if (!buf && len)
		return -EINVAL;
	return proccache__with_pid(pc, pid, at_ns, tags_borrowed, &c);
}
