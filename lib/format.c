/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Human-readable renderings of process fields: the argument line and
 * capability names. The argument line matches what LoongCollector's
 * DecodeArgs() produces, so events from both agents compare equal.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proccache/proccache.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An snprintf-like output: counts everything, stores what fits, keeping
 * room for the NUL. */
struct sink {
	char *buf;
	size_t cap;
	size_t len;
};

static void sink_putc(struct sink *s, char c)
{
	if (s->len + 1 < s->cap)
		s->buf[s->len] = c;
	s->len++;
}

static void sink_write(struct sink *s, const char *str, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sink_putc(s, str[i]);
}

static int sink_finish(struct sink *s)
{
	if (s->cap > 0)
		s->buf[s->len < s->cap ? s->len : s->cap - 1] = '\0';
	if (s->len > INT_MAX)
		return -EOVERFLOW;
	return (int)s->len;
}

/* LoongCollector quotes only on blanks that would split the line; a lone
 * '"', a '\r' or an empty argument are written as they are. */
static bool arg_needs_quotes(const char *arg, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (arg[i] == ' ' || arg[i] == '\t' || arg[i] == '\n')
			return true;
	return false;
}

static void put_quoted_arg(struct sink *s, const char *arg, size_t n)
{
	size_t i;

	sink_putc(s, '"');
	for (i = 0; i < n; i++) {
		switch (arg[i]) {
		case '"':
		case '\\':
			sink_putc(s, '\\');
			sink_putc(s, arg[i]);
			break;
		case '\n':
			sink_write(s, "\\n", 2);
			break;
		case '\t':
			sink_write(s, "\\t", 2);
			break;
		default:
			sink_putc(s, arg[i]);
		}
	}
	sink_putc(s, '"');
}

static void put_arg(struct sink *s, const char *arg, size_t n)
{
	if (arg_needs_quotes(arg, n))
		put_quoted_arg(s, arg, n);
	else
		sink_write(s, arg, n);
}

/* Length of the argument at @args[off..len): up to its NUL or to @len. */
static size_t arg_len(const char *args, size_t off, size_t len)
{
	const char *nul = memchr(args + off, '\0', len - off);

	return nul ? (size_t)(nul - (args + off)) : len - off;
}

PROCCACHE_API int proccache_args_decode(const char *args, size_t len,
					int skip_argv0, char *out,
					size_t out_len)
{
	struct sink s = { .buf = out, .cap = out_len };
	bool first = true;
	size_t off = 0;

	if ((!args && len > 0) || (!out && out_len > 0))
		return -EINVAL;

	if (skip_argv0 && len > 0)
		off = arg_len(args, 0, len) + 1;
	/* Each NUL ends an argument; it separates only when more follows, so
	 * the kernel's final NUL does not make an empty last argument. An
	 * empty argument still gets its separator, as in LoongCollector. */
	while (off < len) {
		size_t n = arg_len(args, off, len);

		if (!first)
			sink_putc(&s, ' ');
		first = false;
		put_arg(&s, args + off, n);
		off += n + 1;
	}
	return sink_finish(&s);
}

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

PROCCACHE_API const char *proccache_cap_name(unsigned int bit)
{
	return bit < ARRAY_SIZE(cap_names) ? cap_names[bit] : NULL;
}

PROCCACHE_API int proccache_caps_format(uint64_t caps, char *buf, size_t len)
{
	struct sink s = { .buf = buf, .cap = len };
	unsigned int bit;

	if (!buf && len > 0)
		return -EINVAL;

	for (bit = 0; bit < 64; bit++) {
		const char *name = proccache_cap_name(bit);
		char unknown[sizeof("CAP_64")];

		if (!(caps & (UINT64_C(1) << bit)))
			continue;
		if (s.len > 0)
			sink_putc(&s, ' ');
		/* A kernel newer than this table still gets every bit shown. */
		if (!name) {
			snprintf(unknown, sizeof(unknown), "CAP_%u", bit);
			name = unknown;
		}
		sink_write(&s, name, strlen(name));
	}
	return sink_finish(&s);
}
