/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small JSON writer that builds one document in a growable buffer.
 *
 * Strings are arbitrary bytes: the output is always valid UTF-8 JSON. Valid
 * UTF-8 sequences are copied, control characters, '"', '\\' and DEL are
 * escaped, and every byte that is not part of a valid UTF-8 sequence is
 * written as \u00XX of its value (Latin-1 style; docs/proccache-snoop.md).
 *
 * Commas are placed by the writer: after a value or a closed container the
 * next value gets one, after an opening bracket it does not. A failed
 * allocation is remembered and reported by jw_failed(); later calls are
 * no-ops, so a caller checks once per document.
 */
#ifndef SNOOP_JSONW_H
#define SNOOP_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw {
	char *buf;
	size_t len;
	size_t cap;
	bool need_comma;
	bool failed;
};

/** Empty writer; needs no allocation until first use. */
void jw_init(struct jw *w);
/** Start a new document, keeping the buffer. */
void jw_reset(struct jw *w);
void jw_free(struct jw *w);
/** True if an allocation failed since the last reset. */
bool jw_failed(const struct jw *w);
/** The document so far, NUL terminated (never NULL after a write). */
const char *jw_text(const struct jw *w);

/*
 * In every call below, @key names the member inside an object; pass NULL
 * for a top-level value or an array element.
 */
void jw_object_begin(struct jw *w, const char *key);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w, const char *key);
void jw_array_end(struct jw *w);
void jw_string(struct jw *w, const char *key, const char *s);
/** A string of @len arbitrary bytes (NULs included, escaped). */
void jw_string_n(struct jw *w, const char *key, const char *s, size_t len);
void jw_uint(struct jw *w, const char *key, uint64_t v);
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, bool v);

/**
 * Length of the valid UTF-8 sequence at @s (at most @len bytes available),
 * or 0 if the byte at @s does not start one. Rejects overlong forms,
 * surrogates and code points above U+10FFFF. Shared with the table output.
 */
size_t utf8_valid_len(const unsigned char *s, size_t len);

#endif /* SNOOP_JSONW_H */
