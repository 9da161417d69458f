/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tags as JSON members (proccache_tags_json()), and by pid. A log
 * collector tags every record, and a process writes many: so each
 * snapshot's tags are formatted once, the first time a record names it,
 * and kept with the snapshot (its tag memo, struct pc_tag_memo); the
 * records after that are a copy. See docs/tagging.md, "Cost".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"
#include "tags.h"

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

/* A tag's key, with the comma before it unless it is the first. */
static void json_key(struct json *j, const char *key)
{
	/* Keys are the tables' own ASCII: nothing to escape. */
	put(j, j->len ? ",\"" : "\"", j->len ? 2 : 1);
	put(j, key, strlen(key));
	put(j, "\":", 2);
}

static void json_value(struct json *j, const struct tag_out *o)
{
	const struct proccache_tag *t = &o->tag;
	char num[24];
	const char *digits;

	switch (t->type) {
	case PROCCACHE_TAG_INT:
		digits = pc_tags_decimal(t->num, num);
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
}

static int json_tag(const struct proccache_tag *t, void *userdata)
{
	json_key(userdata, t->key);
	json_value(userdata, (const struct tag_out *)t);
	return 0;
}

static int json_finish(struct json *j)
{
	if (j->cap)
		j->buf[j->len < j->cap ? j->len : j->cap - 1] = '\0';
	return j->len > INT_MAX ? -EOVERFLOW : (int)j->len;
}

/* ------------------------------------------------------------------------ */
/* Tag memos                                                                 */
/* ------------------------------------------------------------------------ */

/* @p's memo if it holds the tags of @vocab with names from @users. */
static const struct pc_tag_memo *memo_of(const struct proccache_process *p,
					 uint32_t vocab,
					 const struct proccache_users *users)
{
	const struct pc_tag_memo *m;

	if (p->state == PROCCACHE_STATE_EXITED)
		return NULL;
	m = atomic_load_explicit(&p->tag_memo, memory_order_acquire);
	return m && m->vocab == vocab && m->users == users ? m : NULL;
}

/* Whether @m holds the tags of @parent as a parent. Its key, start and
 * image are all a parent's tags depend on, and the memo's reference on
 * the image keeps its address from another. */
static bool memo_has_parent(const struct pc_tag_memo *m,
			    const struct proccache_process *parent)
{
	return m->parent_image && m->parent_image == parent->image &&
	       m->parent_pid == parent->pid &&
	       m->parent_ktime == parent->ktime &&
	       m->parent_start == parent->start_time;
}

/*
 * Capability names as JSON values, shared by the memos of all caches of
 * the process: a host has few distinct sets, and they are the longest
 * tags (a root process's three sets: 1.2 KB of the 1.6 KB). Published
 * once (compare and swap on an empty slot), never changed or freed.
 */
struct caps_json {
	uint64_t caps;
	uint32_t list; /* a JSON array of names, else one string */
	uint32_t len;
	char text[];
};

#define CAPS_JSON_SLOTS 64
static _Atomic(struct caps_json *) caps_json[CAPS_JSON_SLOTS];

/* The shared JSON of capability set @o (o->caps), or NULL when the table
 * is full or without memory. */
static const struct caps_json *caps_json_of(const struct tag_out *o)
{
	uint32_t list = o->tag.type == PROCCACHE_TAG_STRINGS;
	size_t start = (size_t)((o->caps * 0x9e3779b97f4a7c15ull) >> 58);
	struct caps_json *c, *expected;

	for (size_t i = 0; i < CAPS_JSON_SLOTS; i++) {
		_Atomic(struct caps_json *) *slot =
			&caps_json[(start + i) % CAPS_JSON_SLOTS];
		struct json j = { 0 };

		c = atomic_load_explicit(slot, memory_order_acquire);
		if (c && c->caps == o->caps && c->list == list)
			return c;
		if (c)
			continue;
		json_value(&j, o); /* its length */
		c = malloc(sizeof(*c) + j.len);
		if (!c)
			return NULL;
		c->caps = o->caps;
		c->list = list;
		c->len = (uint32_t)j.len;
		j = (struct json){ .buf = c->text, .cap = j.len };
		json_value(&j, o);
		expected = NULL;
		if (atomic_compare_exchange_strong_explicit(
			    slot, &expected, c, memory_order_acq_rel,
			    memory_order_acquire))
			return c;
		free(c); /* another thread's came first: look again */
		if (expected->caps == o->caps && expected->list == list)
			return expected;
	}
	return NULL;
}

/* A memo being written: its text, and the splices it needs. */
struct memo_json {
	struct json j;
	unsigned int n;
	bool full; /* a parent pid without a splice: not to be kept */
	struct pc_tag_splice splice[PC_TAG_SPLICES];
};

static int memo_tag(const struct proccache_tag *t, void *userdata)
{
	const struct tag_out *o = (const struct tag_out *)t;
	struct memo_json *m = userdata;
	const struct caps_json *c;
	size_t at = m->j.len;

	if (o->parent_pid) {
		/* written, and again per call: the parent given is the one */
		json_tag(t, &m->j);
		if (m->n == PC_TAG_SPLICES || m->j.len - at > UINT16_MAX) {
			m->full = true;
			return 0;
		}
		m->splice[m->n++] = (struct pc_tag_splice){
			.str = t->key, .at = (uint32_t)at,
			.skip = (uint16_t)(m->j.len - at), .hole = 1,
			.hole_type = (uint8_t)t->type,
		};
	} else if (m->n < PC_TAG_SPLICES && o->caps_set &&
		   (c = caps_json_of(o))) {
		json_key(&m->j, t->key);
		m->splice[m->n++] = (struct pc_tag_splice){
			.str = c->text, .at = (uint32_t)m->j.len, .len = c->len,
		};
	} else {
		json_tag(t, &m->j);
	}
	return 0;
}

/* Write @p's tags as a process given no parent, then @parent's as its
 * parent (if given), into @text (@room bytes); the bytes both take. */
static size_t memo_write(const struct proccache_process *p,
			 const struct proccache_process *parent, uint32_t vocab,
			 struct proccache_users *users, char *text, size_t room,
			 struct memo_json *mj, size_t *ret_self_len,
			 bool *ret_incomplete)
{
	bool inc_self = false, inc_parent = false;
	struct json pj = { 0 };

	*mj = (struct memo_json){ .j = { .buf = text, .cap = room } };
	pc_tags_emit_all(p, NULL, vocab, users, memo_tag, mj, &inc_self);
	*ret_self_len = mj->j.len;
	if (parent) {
		pj = (struct json){
			.buf = text + (mj->j.len < room ? mj->j.len : room),
			.cap = mj->j.len < room ? room - mj->j.len : 0,
		};
		/* only the vocabulary's parent tags have a record */
		pc_tags_emit_all(NULL, parent, vocab, users, json_tag, &pj,
				 &inc_parent);
	}
	*ret_incomplete = inc_self || inc_parent || mj->full;
	return mj->j.len + pj.len;
}

/* Give @p a memo of its tags in @vocab and of its parent @parent's, and
 * return @p's memo; NULL, and nothing made, when @p has one of another
 * vocabulary (the first asked for is kept), it exited, a value is not
 * known yet (the next record tries again), or the memos of the process
 * hold PC_TAG_MEMO_MAX bytes. */
static const struct pc_tag_memo *
memo_make(const struct proccache_process *cp,
	  const struct proccache_process *parent, uint32_t vocab,
	  struct proccache_users *users)
{
	struct proccache_process *p = (struct proccache_process *)cp;
	struct pc_tag_memo *m, *expected = NULL;
	size_t room = PC_TAG_MEMO_ONE_MAX, used, self_len, bytes;
	struct memo_json mj;
	bool incomplete;

	if (p->state == PROCCACHE_STATE_EXITED ||
	    atomic_load_explicit(&p->tag_memo, memory_order_relaxed))
		return NULL;
	if (atomic_load_explicit(&pc_tag_memo_bytes, memory_order_relaxed) >=
	    PC_TAG_MEMO_MAX) {
		atomic_fetch_add_explicit(&pc_tag_memo_refused, 1,
					  memory_order_relaxed);
		return NULL;
	}
	m = malloc(sizeof(*m) + room);
	if (!m)
		return NULL;
	/* written once, into room for the largest memo kept, then shrunk */
	used = memo_write(p, parent, vocab, users, m->text, room, &mj,
			  &self_len, &incomplete);
	if (incomplete || used > room) {
		if (!incomplete) /* over PC_TAG_MEMO_ONE_MAX */
			atomic_fetch_add_explicit(&pc_tag_memo_refused, 1,
						  memory_order_relaxed);
		free(m);
		return NULL;
	}
	bytes = sizeof(*m) + used;
	if (used < room) {
		struct pc_tag_memo *shrunk = realloc(m, bytes);

		if (shrunk)
			m = shrunk;
	}
	m->bytes = bytes;
	m->users = users;
	m->vocab = vocab;
	m->self_len = (uint32_t)self_len;
	m->parent_len = (uint32_t)(used - self_len);
	m->n_splices = mj.n;
	memcpy(m->splice, mj.splice, mj.n * sizeof(mj.splice[0]));
	m->parent_image = parent ? pc_image_ref(parent->image) : NULL;
	m->parent_pid = parent ? parent->pid : 0;
	m->parent_ktime = parent ? parent->ktime : 0;
	m->parent_start = parent ? parent->start_time : 0;
	if (atomic_fetch_add_explicit(&pc_tag_memo_bytes, bytes,
				      memory_order_relaxed) + bytes >
	    PC_TAG_MEMO_MAX) {
		pc_tag_memo_free(m);
		atomic_fetch_add_explicit(&pc_tag_memo_refused, 1,
					  memory_order_relaxed);
		return NULL;
	}
	if (!atomic_compare_exchange_strong_explicit(&p->tag_memo, &expected, m,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		pc_tag_memo_free(m); /* another thread's came first */
	}
	return memo_of(p, vocab, users);
}

/* @p's own tags from its memo @m, with the parent pid of @parent (NULL:
 * of its parent key), into @j. */
static void memo_self(const struct proccache_process *p,
		      const struct pc_tag_memo *m,
		      const struct proccache_process *parent, struct json *j)
{
	uint32_t ppid = parent ? parent->pid : p->parent_pid;
	uint32_t pos = 0;
	char num[24];

	for (unsigned int i = 0; i < m->n_splices; i++) {
		const struct pc_tag_splice *s = &m->splice[i];
		struct tag_out o = {
			.tag = { .key = s->str, .type = s->hole_type },
			.plain = true,
		};

		put(j, m->text + pos, s->at - pos);
		pos = s->at + s->skip;
		if (!s->hole) {
			put(j, s->str, s->len);
			continue;
		}
		if (o.tag.type == PROCCACHE_TAG_INT) {
			o.tag.num = ppid;
		} else {
			o.tag.str = pc_tags_decimal(ppid, num);
			o.tag.len = (size_t)(num + 23 - o.tag.str);
		}
		json_tag(&o.tag, j);
	}
	put(j, m->text + pos, m->self_len - pos);
}

PROCCACHE_API int proccache_tags_json(const struct proccache_process *p,
				      const struct proccache_process *parent,
				      const struct proccache_tags_opts *opts,
				      char *buf, size_t len)
{
	struct json j = { .buf = buf, .cap = len };
	const struct pc_tag_memo *m;
	struct proccache_users *users;
	uint32_t vocab;
	int err;

	if (!p || (!buf && len) || pc_tags_opts(opts, &vocab, &users) < 0)
		return -EINVAL;
	/* The first record to name a snapshot formats its memo; the next
	 * ones copy it. */
	m = memo_of(p, vocab, users);
	if (!m)
		m = memo_make(p, parent, vocab, users);
	if (!m) {
		err = pc_tags_emit_all(p, parent, vocab, users, json_tag, &j,
				       NULL);
		return err < 0 ? err : json_finish(&j);
	}
	memo_self(p, m, parent, &j);
	if (parent && memo_has_parent(m, parent)) {
		if (m->parent_len) {
			put(&j, ",", j.len ? 1 : 0);
			put(&j, m->text + m->self_len, m->parent_len);
		}
	} else if (parent) {
		/* a parent adopted or changed since: written again */
		err = pc_tags_emit_all(NULL, parent, vocab, users, json_tag, &j,
				       NULL);
		if (err < 0)
			return err;
	}
	return json_finish(&j);
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
