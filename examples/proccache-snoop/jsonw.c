/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	if (w->buf)
		w->buf[0] = '\0';
	w->need_comma = false;
	w->failed = false;
}

void jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

bool jw_failed(const struct jw *w)
{
	return w->failed;
}

const char *jw_text(const struct jw *w)
{
	return w->buf ? w->buf : "";
}

/* Room for @more bytes plus the NUL; doubles so appends stay amortised O(1). */
static bool reserve(struct jw *w, size_t more)
{
	size_t need, cap;
	char *p;

	if (w->failed)
		return false;
	if (more > SIZE_MAX - w->len - 1)
		goto fail;
	need = w->len + more + 1;
	if (need <= w->cap)
		return true;
	cap = w->cap ? w->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(w->buf, cap);
	if (!p)
		goto fail;
	w->buf = p;
	w->cap = cap;
	return true;
fail:
	w->failed = true;
	return false;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void putc_(struct jw *w, char c)
{
	put(w, &c, 1);
}

size_t utf8_valid_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0; /* continuation byte, overlong lead (c0, c1) or > f4 */
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static void put_byte_escape(struct jw *w, unsigned char c)
{
	char esc[7];

	snprintf(esc, sizeof(esc), "\\u%04x", c);
	put(w, esc, 6);
}

static void put_escaped(struct jw *w, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	putc_(w, '"');
	while (i < len) {
		unsigned char c = s[i];
		size_t run = i;

		/* Copy the longest stretch that needs no escaping at once. */
		while (run < len && s[run] >= 0x20 && s[run] < 0x7f &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			put(w, str + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			put(w, esc, 2);
			i++;
		} else if (c < 0x80) {
			put_byte_escape(w, c); /* control character or DEL */
			i++;
		} else {
			size_t n = utf8_valid_len(s + i, len - i);

			if (n) {
				put(w, str + i, n);
				i += n;
			} else {
				put_byte_escape(w, c);
				i++;
			}
		}
	}
	putc_(w, '"');
}

/* Comma (if a value precedes at this level) and "key": */
static void begin_value(struct jw *w, const char *key)
{
	if (w->need_comma)
		putc_(w, ',');
	if (key) {
		put_escaped(w, key, strlen(key));
		putc_(w, ':');
	}
	w->need_comma = true;
}

void jw_object_begin(struct jw *w, const char *key)
{
	begin_value(w, key);
	putc_(w, '{');
	w->need_comma = false;
}

void jw_object_end(struct jw *w)
{
	putc_(w, '}');
	w->need_comma = true;
}

void jw_array_begin(struct jw *w, const char *key)
{
	begin_value(w, key);
	putc_(w, '[');
	w->need_comma = false;
}

void jw_array_end(struct jw *w)
{
	putc_(w, ']');
	w->need_comma = true;
}

void jw_string_n(struct jw *w, const char *key, const char *s, size_t len)
{
	begin_value(w, key);
	put_escaped(w, s, len);
}

void jw_string(struct jw *w, const char *key, const char *s)
{
	jw_string_n(w, key, s ? s : "", s ? strlen(s) : 0);
}

void jw_uint(struct jw *w, const char *key, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	begin_value(w, key);
	put(w, num, (size_t)n);
}

void jw_int(struct jw *w, const char *key, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	begin_value(w, key);
	put(w, num, (size_t)n);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	begin_value(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}
