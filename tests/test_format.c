/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <proccache/proccache.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Expected lines follow LoongCollector's DecodeArgs(): an argument is quoted
 * only when it holds a space, tab or newline; inside quotes '"' and '\' get a
 * backslash and tab/newline are written as \t and \n; anything else,
 * including a lone '"', '\' or '\r', is copied as is; an empty argument adds
 * nothing but its separator.
 */
static const struct args_case {
	const char *raw;
	size_t len;
	int skip_argv0;
	const char *want;
} args_cases[] = {
#define A(raw, skip, want) { raw, sizeof(raw) - 1, skip, want }
	A("ls\0-l\0", 0, "ls -l"),
	A("echo\0hello world\0", 0, "echo \"hello world\""),
	A("sh\0-c\0echo \"hi\"\0", 0, "sh -c \"echo \\\"hi\\\"\""),
	A("a\0x\"y\0", 0, "a x\"y"),
	A("a\0C:\\dir\0", 0, "a C:\\dir"),
	A("a\0b\\ c\0", 0, "a \"b\\\\ c\""),
	A("a\0x\ty\0", 0, "a \"x\\ty\""),
	A("a\0l1\nl2\0", 0, "a \"l1\\nl2\""),
	A("a\0x\ry\0", 0, "a x\ry"),
	A("a\0x\r y\0", 0, "a \"x\r y\""),
	A("x\0a\"b c\\d\te\nf\0", 0, "x \"a\\\"b c\\\\d\\te\\nf\""),
	A(" \0", 0, "\" \""),
	A("a b", 0, "\"a b\""),
	/* empty arguments */
	A("a\0\0b\0", 0, "a  b"),
	A("\0", 0, ""),
	A("\0\0", 0, " "),
	A("\0\0\0", 0, "  "),
	A("a\0\0", 0, "a "),
	A("\0a\0", 0, " a"),
	/* final NUL missing: the argument ends at len */
	A("a\0b", 0, "a b"),
	A("lonely", 0, "lonely"),
	A("a\0b c", 0, "a \"b c\""),
	/* bytes above 0x7f are copied */
	A("caf\xc3\xa9\0\xe6\x9d\xb1 \xe4\xba\xac\0", 0,
	  "caf\xc3\xa9 \"\xe6\x9d\xb1 \xe4\xba\xac\""),
	/* skip_argv0 */
	A("/bin/ls\0-l\0/tmp\0", 1, "-l /tmp"),
	A("/bin/ls\0-l\0/tmp\0", 7, "-l /tmp"),
	A("/bin/ls\0", 1, ""),
	A("/bin/ls", 1, ""),
	A("/bin/ls\0\0", 1, ""),
	A("/bin/ls\0\0\0", 1, " "),
	A("\0x\0", 1, "x"),
	A("a b\0c d\0", 1, "\"c d\""),
	A("a b\0c d\0", 0, "\"a b\" \"c d\""),
#undef A
};

Test(format, args_table)
{
	char out[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(args_cases); i++) {
		const struct args_case *c = &args_cases[i];
		int r;

		memset(out, 'x', sizeof(out));
		r = proccache_args_decode(c->raw, c->len, c->skip_argv0, out,
					  sizeof(out));
		cr_expect_eq(r, (int)strlen(c->want), "case %zu: returned %d", i, r);
		cr_expect_str_eq(out, c->want, "case %zu", i);
	}
}

Test(format, args_len_zero)
{
	char out[4] = "xxx";

	cr_expect_eq(proccache_args_decode("ignored", 0, 0, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "");
	memcpy(out, "xxx", 4);
	cr_expect_eq(proccache_args_decode(NULL, 0, 1, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "");
	cr_expect_eq(proccache_args_decode(NULL, 0, 0, NULL, 0), 0);
}

Test(format, args_bad_arguments)
{
	char out[8] = "xxxxxxx";

	cr_expect_eq(proccache_args_decode(NULL, 1, 0, out, sizeof(out)), -EINVAL);
	cr_expect_eq(proccache_args_decode("a\0", 2, 0, NULL, 1), -EINVAL);
	cr_expect_str_eq(out, "xxxxxxx");
}

/* Every out_len from 0 to past the end: snprintf semantics, and not one byte
 * written beyond out_len. */
Test(format, args_truncation)
{
	static const char raw[] = "sh\0-c\0echo \"a b\"\0";
	const char *want = "sh -c \"echo \\\"a b\\\"\"";
	size_t full = strlen(want);
	char out[64];
	size_t n;

	for (n = 0; n <= full + 2; n++) {
		int r;

		memset(out, 'x', sizeof(out));
		r = proccache_args_decode(raw, sizeof(raw) - 1, 0, n ? out : NULL, n);
		cr_expect_eq(r, (int)full, "out_len %zu: returned %d", n, r);
		cr_expect_eq(out[n], 'x', "out_len %zu: wrote past the end", n);
		if (n == 0)
			continue;
		cr_expect_eq(strlen(out), n - 1 < full ? n - 1 : full,
			     "out_len %zu: not NUL terminated in place", n);
		cr_expect_eq(strncmp(out, want, strlen(out)), 0,
			     "out_len %zu: \"%s\" not a prefix", n, out);
	}
}

Test(format, args_truncation_out_len_one)
{
	char out[2] = "x";

	cr_expect_eq(proccache_args_decode("abc\0", 4, 0, out, 1), 3);
	cr_expect_str_eq(out, "");
	cr_expect_eq(out[1], '\0');
}

#define CAP(x) { x, #x }
/* Names and numbers straight from the kernel's uapi header. */
static const struct {
	unsigned int bit;
	const char *name;
} kernel_caps[] = {
	CAP(CAP_CHOWN), CAP(CAP_DAC_OVERRIDE), CAP(CAP_DAC_READ_SEARCH),
	CAP(CAP_FOWNER), CAP(CAP_FSETID), CAP(CAP_KILL), CAP(CAP_SETGID),
	CAP(CAP_SETUID), CAP(CAP_SETPCAP), CAP(CAP_LINUX_IMMUTABLE),
	CAP(CAP_NET_BIND_SERVICE), CAP(CAP_NET_BROADCAST), CAP(CAP_NET_ADMIN),
	CAP(CAP_NET_RAW), CAP(CAP_IPC_LOCK), CAP(CAP_IPC_OWNER),
	CAP(CAP_SYS_MODULE), CAP(CAP_SYS_RAWIO), CAP(CAP_SYS_CHROOT),
	CAP(CAP_SYS_PTRACE), CAP(CAP_SYS_PACCT), CAP(CAP_SYS_ADMIN),
	CAP(CAP_SYS_BOOT), CAP(CAP_SYS_NICE), CAP(CAP_SYS_RESOURCE),
	CAP(CAP_SYS_TIME), CAP(CAP_SYS_TTY_CONFIG), CAP(CAP_MKNOD),
	CAP(CAP_LEASE), CAP(CAP_AUDIT_WRITE), CAP(CAP_AUDIT_CONTROL),
	CAP(CAP_SETFCAP), CAP(CAP_MAC_OVERRIDE), CAP(CAP_MAC_ADMIN),
	CAP(CAP_SYSLOG), CAP(CAP_WAKE_ALARM), CAP(CAP_BLOCK_SUSPEND),
	CAP(CAP_AUDIT_READ), CAP(CAP_PERFMON), CAP(CAP_BPF),
	CAP(CAP_CHECKPOINT_RESTORE),
};
#undef CAP

Test(format, cap_names_match_kernel)
{
	size_t i;

	cr_assert_eq(ARRAY_SIZE(kernel_caps), 41);
	for (i = 0; i < ARRAY_SIZE(kernel_caps); i++) {
		const char *name = proccache_cap_name(kernel_caps[i].bit);

		cr_assert_not_null(name, "bit %u", kernel_caps[i].bit);
		cr_expect_str_eq(name, kernel_caps[i].name, "bit %u",
				 kernel_caps[i].bit);
	}
}

Test(format, cap_name_unknown)
{
	static const unsigned int unknown[] = { 41, 42, 63, 64, 1000, UINT_MAX };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(unknown); i++)
		cr_expect_null(proccache_cap_name(unknown[i]), "bit %u", unknown[i]);
}

static void expect_caps(uint64_t caps, const char *want)
{
	char buf[1024];
	int r;

	memset(buf, 'x', sizeof(buf));
	r = proccache_caps_format(caps, buf, sizeof(buf));
	cr_expect_eq(r, (int)strlen(want), "caps %#llx: returned %d",
		     (unsigned long long)caps, r);
	cr_expect_str_eq(buf, want, "caps %#llx", (unsigned long long)caps);
}

Test(format, caps_known_and_unknown_bits)
{
	expect_caps(0, "");
	expect_caps(1, "CAP_CHOWN");
	expect_caps(UINT64_C(1) << 21 | 1, "CAP_CHOWN CAP_SYS_ADMIN");
	expect_caps(UINT64_C(1) << 40, "CAP_CHECKPOINT_RESTORE");
	expect_caps(UINT64_C(1) << 41, "CAP_41");
	expect_caps(UINT64_C(1) << 63, "CAP_63");
	expect_caps(UINT64_C(1) << 39 | UINT64_C(1) << 41 | UINT64_C(1) << 63,
		    "CAP_BPF CAP_41 CAP_63");
	/* CapEff of root on a 5.9+ kernel. */
	expect_caps(UINT64_C(0x00000000a80425fb),
		    "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL "
		    "CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_NET_BIND_SERVICE "
		    "CAP_NET_RAW CAP_SYS_CHROOT CAP_MKNOD CAP_AUDIT_WRITE "
		    "CAP_SETFCAP");
}

Test(format, caps_all_bits)
{
	char want[1024] = "";
	size_t i;
	unsigned int bit;

	for (i = 0; i < ARRAY_SIZE(kernel_caps); i++) {
		if (i)
			strcat(want, " ");
		strcat(want, kernel_caps[i].name);
	}
	expect_caps(UINT64_C(0x1ffffffffff), want);

	for (bit = 41; bit < 64; bit++) {
		char unknown[16];

		snprintf(unknown, sizeof(unknown), " CAP_%u", bit);
		strcat(want, unknown);
	}
	expect_caps(UINT64_MAX, want);
}

Test(format, caps_truncation_and_bad_arguments)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	cr_expect_eq(proccache_caps_format(1, buf, 4), 9);
	cr_expect_str_eq(buf, "CAP");
	cr_expect_eq(buf[4], 'x');
	cr_expect_eq(proccache_caps_format(3, NULL, 0),
		     (int)strlen("CAP_CHOWN CAP_DAC_OVERRIDE"));
	cr_expect_eq(proccache_caps_format(1, NULL, 1), -EINVAL);
	cr_expect_eq(proccache_caps_format(0, buf, 1), 0);
	cr_expect_str_eq(buf, "");
}
