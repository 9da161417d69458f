/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Exec IDs are the strings Tetragon and LoongCollector put in their events:
 * base64("<node>:<ktime>:<pid>"). They come back to us from hosts, logs and
 * other agents, so parsing is strict: an ID either names exactly one exec key
 * on one node, in the one canonical spelling, or it is rejected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "execid.h"

_Static_assert(PC_BASE64_LEN(PC_EXEC_ID_RAW_MAX) < PROCCACHE_EXEC_ID_MAX,
	       "PROCCACHE_EXEC_ID_MAX must hold the longest exec ID");

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int pc_base64_encode(const void *src, size_t n, char *dst, size_t dst_len)
{
	const unsigned char *in = src;
	size_t out_len = PC_BASE64_LEN(n);
	size_t i, o = 0;

	if (out_len >= dst_len)
		return -ENOSPC;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		dst[o++] = base64_alphabet[v >> 18 & 0x3f];
		dst[o++] = base64_alphabet[v >> 12 & 0x3f];
		dst[o++] = base64_alphabet[v >> 6 & 0x3f];
		dst[o++] = base64_alphabet[v & 0x3f];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		dst[o++] = base64_alphabet[v >> 18 & 0x3f];
		dst[o++] = base64_alphabet[v >> 12 & 0x3f];
		dst[o++] = '=';
		dst[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		dst[o++] = base64_alphabet[v >> 18 & 0x3f];
		dst[o++] = base64_alphabet[v >> 12 & 0x3f];
		dst[o++] = base64_alphabet[v >> 6 & 0x3f];
		dst[o++] = '=';
	}
	dst[o] = '\0';
	return (int)o;
}

/* The 6-bit value of each standard-alphabet character, -1 for anything
 * else (including '=', '-', '_', whitespace and NUL). A table: lookups by
 * exec ID decode one on every call. */
static const signed char base64_values[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static size_t base64_padding(const char *src, size_t n)
{
	if (src[n - 1] != '=')
		return 0;
	return src[n - 2] == '=' ? 2 : 1;
}

ssize_t pc_base64_decode(const char *src, size_t n, void *dst, size_t dst_len)
{
	const unsigned char *in = (const unsigned char *)src;
	unsigned char *out = dst;
	size_t pad, out_len, full, i, o = 0;
	int32_t a, b, c, d;
	uint32_t v;

	if (n == 0)
		return 0;
	if (n % 4)
		return -EINVAL;
	pad = base64_padding(src, n);
	out_len = n / 4 * 3 - pad;
	if (out_len > dst_len)
		return -ENOSPC;

	/* Whole groups: 4 characters, 3 bytes. */
	full = pad ? n - 4 : n;
	for (i = 0; i < full; i += 4) {
		a = base64_values[in[i]];
		b = base64_values[in[i + 1]];
		c = base64_values[in[i + 2]];
		d = base64_values[in[i + 3]];
		if ((a | b | c | d) < 0)
			return -EINVAL;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    (uint32_t)d;
		out[o++] = v >> 16 & 0xff;
		out[o++] = v >> 8 & 0xff;
		out[o++] = v & 0xff;
	}
	if (!pad)
		return (ssize_t)o;

	/* The padded group: 2 or 3 characters, 1 or 2 bytes. The bits after
	 * the last whole byte must be zero, or the same bytes would have a
	 * second spelling. */
	a = base64_values[in[i]];
	b = base64_values[in[i + 1]];
	c = pad == 1 ? base64_values[in[i + 2]] : 0;
	if ((a | b | c) < 0)
		return -EINVAL;
	v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
	if ((pad == 2 && (v & 0xffff)) || (pad == 1 && (v & 0xff)))
		return -EINVAL;
	out[o++] = v >> 16 & 0xff;
	if (pad == 1)
		out[o++] = v >> 8 & 0xff;
	return (ssize_t)o;
}

/* Position of the last @c in @s[0..n), or -1. */
static ssize_t last_index_of(const char *s, size_t n, char c)
{
	while (n > 0) {
		n--;
		if (s[n] == c)
			return (ssize_t)n;
	}
	return -1;
}

/* Plain decimal only: no sign, no blank, no leading zero, nothing after. */
static int parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || (s[0] == '0' && n > 1))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned int d = (unsigned int)(unsigned char)s[i] - '0';

		if (d > 9 || __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, d, &v))
			return -EINVAL;
	}
	if (v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

struct exec_id_fields {
	const char *node;
	size_t node_len;
	uint64_t ktime;
	uint64_t pid;
};

/* Node names may contain ':' themselves, so the numbers are found from the
 * right: the last field is the pid, the one before it the ktime. */
static int split_exec_id(const char *raw, size_t n, struct exec_id_fields *f)
{
	ssize_t pid_colon, ktime_colon;

	pid_colon = last_index_of(raw, n, ':');
	if (pid_colon < 0)
		return -EINVAL;
	ktime_colon = last_index_of(raw, (size_t)pid_colon, ':');
	if (ktime_colon <= 0)
		return -EINVAL;
	if ((size_t)ktime_colon > PROCCACHE_NODE_NAME_MAX)
		return -EINVAL;
	if (parse_decimal(raw + ktime_colon + 1,
			  (size_t)(pid_colon - ktime_colon - 1), UINT64_MAX,
			  &f->ktime) < 0)
		return -EINVAL;
	if (parse_decimal(raw + pid_colon + 1, n - (size_t)pid_colon - 1,
			  UINT32_MAX, &f->pid) < 0)
		return -EINVAL;
	f->node = raw;
	f->node_len = (size_t)ktime_colon;
	return 0;
}

/* The decimal digits of @v at @out (room for 20); returns their count. */
static int put_decimal(char *out, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

PROCCACHE_API int proccache_exec_id_format(const char *node,
					   const struct proccache_key *key,
					   char *buf, size_t len)
{
	char raw[PC_EXEC_ID_RAW_MAX + 1];
	size_t node_len;
	int n, r;

	if (!node || !key || !buf || key->pad)
		return -EINVAL;
	node_len = strnlen(node, PROCCACHE_NODE_NAME_MAX + 1);
	if (node_len == 0 || node_len > PROCCACHE_NODE_NAME_MAX)
		return -EINVAL;

	/* "<node>:<ktime>:<pid>" without snprintf: tagging log records
	 * formats two exec IDs per record. */
	memcpy(raw, node, node_len);
	n = (int)node_len;
	raw[n++] = ':';
	n += put_decimal(raw + n, key->ktime);
	raw[n++] = ':';
	n += put_decimal(raw + n, key->pid);
	r = pc_base64_encode(raw, (size_t)n, buf, len);
	if (r < 0 && len > 0)
		buf[0] = '\0';
	return r;
}

PROCCACHE_API int proccache_exec_id_parse(const char *exec_id,
					  char *ret_node, size_t node_len,
					  struct proccache_key *ret_key)
{
	char raw[PC_EXEC_ID_RAW_MAX];
	struct exec_id_fields f;
	size_t id_len;
	ssize_t raw_len;

	if (!exec_id || !ret_key)
		return -EINVAL;
	id_len = strnlen(exec_id, PROCCACHE_EXEC_ID_MAX);
	if (id_len == 0 || id_len >= PROCCACHE_EXEC_ID_MAX)
		return -EINVAL;

	/* Decoding into a buffer sized for the longest valid ID also rejects
	 * anything longer: -ENOSPC here means "cannot be an exec ID". */
	raw_len = pc_base64_decode(exec_id, id_len, raw, sizeof(raw));
	if (raw_len < 0)
		return -EINVAL;
	/* A NUL anywhere else fails the decimal fields. */
	if (split_exec_id(raw, (size_t)raw_len, &f) < 0 ||
	    memchr(f.node, '\0', f.node_len))
		return -EINVAL;

	if (ret_node) {
		if (node_len <= f.node_len)
			return -ENOSPC;
		memcpy(ret_node, f.node, f.node_len);
		ret_node[f.node_len] = '\0';
	}
	*ret_key = (struct proccache_key){ .ktime = f.ktime,
					   .pid = (uint32_t)f.pid };
	return 0;
}

int pc_exec_id_key_on(const char *exec_id, const char *node,
		      struct proccache_key *ret_key)
{
	char raw[PC_EXEC_ID_RAW_MAX], other[PROCCACHE_NODE_NAME_MAX + 1];
	size_t id_len = strnlen(exec_id, PROCCACHE_EXEC_ID_MAX);
	size_t node_len = strlen(node);
	uint64_t ktime, pid;
	const char *colon;
	ssize_t n;
	int err;

	/* "<node>:<ktime>:<pid>": digits hold no ':', so the two last are
	 * the ones after the node, as split_exec_id() would find them. */
	if (id_len && id_len < PROCCACHE_EXEC_ID_MAX &&
	    (n = pc_base64_decode(exec_id, id_len, raw, sizeof(raw))) >= 0 &&
	    (size_t)n > node_len + 1 && !memcmp(raw, node, node_len) &&
	    raw[node_len] == ':' &&
	    (colon = memchr(raw + node_len + 1, ':',
			    (size_t)n - node_len - 1)) &&
	    !parse_decimal(raw + node_len + 1,
			   (size_t)(colon - raw) - node_len - 1, UINT64_MAX,
			   &ktime) &&
	    !parse_decimal(colon + 1, (size_t)(raw + n - colon - 1),
			   UINT32_MAX, &pid)) {
		*ret_key = (struct proccache_key){ .ktime = ktime,
						   .pid = (uint32_t)pid };
		return 0;
	}
	/* Anything else: the full parse says which error. */
	err = proccache_exec_id_parse(exec_id, other, sizeof(other), ret_key);
	if (err)
		return -EINVAL;
	return strcmp(other, node) ? -ENOENT : 0;
}
