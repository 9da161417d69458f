/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <proccache/proccache.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Exec IDs computed outside the library, with coreutils:
 *   printf '%s' "<node>:<ktime>:<pid>" | base64 -w0
 * (the non-ASCII one with printf 'h\xc3\xa9te:5:6'). They cover all three
 * padding lengths and both extra alphabet characters '+' and '/'.
 */
static const struct known_id {
	const char *node;
	uint64_t ktime;
	uint32_t pid;
	const char *exec_id;
} known_ids[] = {
	{ "node", 123, 45, "bm9kZToxMjM6NDU=" },
	{ "node1", 123, 45, "bm9kZTE6MTIzOjQ1" },
	{ "nod", 123, 45, "bm9kOjEyMzo0NQ==" },
	{ "k8s-worker-1", 1000000000, 1, "azhzLXdvcmtlci0xOjEwMDAwMDAwMDA6MQ==" },
	{ "my:node", 0, 0, "bXk6bm9kZTowOjA=" },
	{ "fe80::1", 42, 7, "ZmU4MDo6MTo0Mjo3" },
	{ "host", UINT64_MAX, UINT32_MAX,
	  "aG9zdDoxODQ0Njc0NDA3MzcwOTU1MTYxNTo0Mjk0OTY3Mjk1" },
	{ "h\xc3\xa9te", 5, 6, "aMOpdGU6NTo2" },
	{ "a~~", 1, 2, "YX5+OjE6Mg==" },
	{ "n??", 1, 2, "bj8/OjE6Mg==" },
};

Test(execid, format_matches_hand_computed)
{
	char buf[PROCCACHE_EXEC_ID_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_ids); i++) {
		const struct known_id *k = &known_ids[i];
		struct proccache_key key = { .ktime = k->ktime, .pid = k->pid };
		int r = proccache_exec_id_format(k->node, &key, buf, sizeof(buf));

		cr_expect_eq(r, (int)strlen(k->exec_id), "%s: returned %d", k->exec_id, r);
		cr_expect_str_eq(buf, k->exec_id);
	}
}

Test(execid, parse_matches_hand_computed)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_ids); i++) {
		const struct known_id *k = &known_ids[i];
		struct proccache_key key = { .ktime = 99, .pid = 99, .pad = 99 };
		char node[PROCCACHE_NODE_NAME_MAX + 1] = "";
		int r = proccache_exec_id_parse(k->exec_id, node, sizeof(node), &key);

		cr_expect_eq(r, 0, "%s: returned %d", k->exec_id, r);
		cr_expect_str_eq(node, k->node);
		cr_expect_eq(key.ktime, k->ktime, "%s", k->exec_id);
		cr_expect_eq(key.pid, k->pid, "%s", k->exec_id);
		cr_expect_eq(key.pad, 0, "%s: pad not cleared", k->exec_id);
	}
}

Test(execid, parse_without_node_buffer)
{
	struct proccache_key key = { 0 };

	cr_assert_eq(proccache_exec_id_parse("bm9kZToxMjM6NDU=", NULL, 0, &key), 0);
	cr_expect_eq(key.ktime, 123);
	cr_expect_eq(key.pid, 45);
}

static void round_trip(const char *node, uint64_t ktime, uint32_t pid)
{
	struct proccache_key in = { .ktime = ktime, .pid = pid };
	struct proccache_key out = { .ktime = ~ktime, .pid = ~pid };
	char id[PROCCACHE_EXEC_ID_MAX];
	char back[PROCCACHE_NODE_NAME_MAX + 1];
	int r;

	r = proccache_exec_id_format(node, &in, id, sizeof(id));
	cr_assert_gt(r, 0, "format(%s, %lu, %u) = %d", node,
		     (unsigned long)ktime, pid, r);
	cr_assert_eq(strlen(id), (size_t)r);
	r = proccache_exec_id_parse(id, back, sizeof(back), &out);
	cr_assert_eq(r, 0, "parse(%s) = %d", id, r);
	cr_expect_str_eq(back, node);
	cr_expect_eq(out.ktime, ktime, "node %s", node);
	cr_expect_eq(out.pid, pid, "node %s", node);
}

Test(execid, round_trips)
{
	static const char *const nodes[] = {
		"a", "node", "my:node", ":", "::", ":lead", "trail:", "a:1:2",
		"fe80::1", "h\xc3\xb4te-\xc3\xb1-\xe6\x9d\xb1\xe4\xba\xac",
		"with space", "tab\there", "100", "0",
	};
	static const struct proccache_key keys[] = {
		{ .ktime = 0, .pid = 0 },
		{ .ktime = 0, .pid = UINT32_MAX },
		{ .ktime = UINT64_MAX, .pid = 0 },
		{ .ktime = UINT64_MAX, .pid = UINT32_MAX },
		{ .ktime = 1, .pid = 1 },
		{ .ktime = 10, .pid = 10 },
		{ .ktime = 1234567890123456789ull, .pid = 4194304 },
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(nodes); i++)
		for (j = 0; j < ARRAY_SIZE(keys); j++)
			round_trip(nodes[i], keys[j].ktime, keys[j].pid);
}

Test(execid, round_trip_longest_node)
{
	char node[PROCCACHE_NODE_NAME_MAX + 1];
	char id[PROCCACHE_EXEC_ID_MAX];
	struct proccache_key key = { .ktime = UINT64_MAX, .pid = UINT32_MAX };
	int r;

	memset(node, 'n', PROCCACHE_NODE_NAME_MAX);
	node[PROCCACHE_NODE_NAME_MAX] = '\0';
	round_trip(node, UINT64_MAX, UINT32_MAX);

	/* The longest ID must fit PROCCACHE_EXEC_ID_MAX with its NUL. */
	r = proccache_exec_id_format(node, &key, id, sizeof(id));
	cr_assert_gt(r, 0);
	cr_expect_lt(r, PROCCACHE_EXEC_ID_MAX);
}

/* A plain base64 encoder of our own, to build hostile IDs from readable
 * text; format_matches_hand_computed keeps the library honest, this one is
 * checked by encoder_matches_hand_computed below. */
static void b64(const char *raw, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *in = (const unsigned char *)raw;
	size_t i;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*out++ = abc[v >> 18 & 63];
		*out++ = abc[v >> 12 & 63];
		*out++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*out++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*out = '\0';
}

Test(execid, encoder_matches_hand_computed)
{
	char buf[PROCCACHE_EXEC_ID_MAX];
	char raw[PROCCACHE_EXEC_ID_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_ids); i++) {
		const struct known_id *k = &known_ids[i];
		int n = snprintf(raw, sizeof(raw), "%s:%llu:%u", k->node,
				 (unsigned long long)k->ktime, k->pid);

		b64(raw, (size_t)n, buf);
		cr_expect_str_eq(buf, k->exec_id);
	}
}

#define SENTINEL_NODE "untouched"
#define SENTINEL_KTIME 0x5a5a5a5a5a5a5a5aull
#define SENTINEL_PID 0xa5a5a5a5u

/* Parse must fail with -EINVAL and leave both outputs exactly as they were. */
static void expect_rejected(const char *exec_id, const char *what)
{
	struct proccache_key key = { .ktime = SENTINEL_KTIME,
				     .pid = SENTINEL_PID, .pad = 7 };
	char node[PROCCACHE_NODE_NAME_MAX + 1];
	int r;

	memset(node, 'x', sizeof(node));
	memcpy(node, SENTINEL_NODE, sizeof(SENTINEL_NODE));
	r = proccache_exec_id_parse(exec_id, node, sizeof(node), &key);
	cr_expect_eq(r, -EINVAL, "%s: \"%s\" gave %d", what,
		     exec_id ? exec_id : "(null)", r);
	cr_expect_str_eq(node, SENTINEL_NODE, "%s: node written", what);
	cr_expect_eq(node[sizeof(node) - 1], 'x', "%s: node tail written", what);
	cr_expect_eq(key.ktime, SENTINEL_KTIME, "%s: ktime written", what);
	cr_expect_eq(key.pid, SENTINEL_PID, "%s: pid written", what);
	cr_expect_eq(key.pad, 7, "%s: pad written", what);
}

Test(execid, rejects_bad_base64)
{
	static const char *const bad[] = {
		"",
		"=",
		"==",
		"====",
		"A",
		"AA==A",
		"bm9kZToxMjM6NDU",       /* padding missing */
		"bm9kZToxMjM6NDU==",     /* one '=' too many */
		"bm9kOjEyMzo0NQ=",       /* one '=' too few */
		"bm9kOjEyMzo0NQ",        /* padding missing */
		"bm9kZToxMjM6NDU=AAAA",  /* data after padding */
		"bm9k=ToxMjM6NDU=",      /* '=' inside */
		"bm9kZToxMjM6ND=U",      /* '=' not at the end */
		"bm9kZToxMjM6NDV=",      /* non-zero leftover bits ("V" not "U") */
		"bm9kOjEyMzo0NR==",      /* non-zero leftover bits ("R" not "Q") */
		"bm9kOjEyMzo0N===",      /* three '=' */
		" bm9kZToxMjM6NDU=",     /* blanks and line ends */
		"bm9kZToxMjM6NDU= ",
		"bm9kZToxMjM6NDU=\n",
		"bm9k ZToxMjM6NDU=",
		"bm9k\nZToxMjM6NDU=",
		"bm9kZToxMjM6NDU=\r\n",
		"YX5-OjE6Mg==",          /* URL-safe alphabet */
		"bj8_OjE6Mg==",
		"bm9kZToxMjM6NDU*",      /* not base64 at all */
		"bm9kZToxMjM6NDU.",
		"bm9kZT\xc3\xa9MjM6NDU=",
		/* The same with the length kept a multiple of four. */
		" m9kZToxMjM6NDU=",
		"bm9kZToxMjM6NDU\n",
		"bm9k\tToxMjM6NDU=",
		"bm9kZToxMjM6 DU=",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_rejected(bad[i], "bad base64");
}

/* Every byte outside the standard alphabet is refused, in every position
 * of a whole group and of the padded one. */
Test(execid, rejects_every_byte_outside_the_alphabet)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";
	/* base64("node:123:45"): two whole groups, then "NDU=". */
	static const char good[] = "bm9kZToxMjM6NDU=";
	char id[sizeof(good)];

	for (unsigned int c = 1; c < 256; c++) {
		if (strchr(alphabet, (int)c))
			continue;
		for (size_t pos = 0; pos < sizeof(good) - 2; pos++) {
			memcpy(id, good, sizeof(good));
			id[pos] = (char)c;
			expect_rejected(id, "byte outside the alphabet");
		}
	}
}

/* Every alphabet character decodes to its own value: a node whose first
 * byte is (v << 2 | 1) makes an exec ID starting with character v. */
Test(execid, every_alphabet_character_decodes)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";
	struct proccache_key key = { .ktime = 987654321, .pid = 4321 }, got;
	char node[3] = { 0, 'n', 0 }, id[PROCCACHE_EXEC_ID_MAX];
	char back[PROCCACHE_NODE_NAME_MAX + 1];

	for (unsigned int v = 0; v < 64; v++) {
		node[0] = (char)(v << 2 | 1);
		cr_assert_gt(proccache_exec_id_format(node, &key, id, sizeof(id)),
			     0);
		cr_expect_eq(id[0], alphabet[v], "value %u", v);
		memset(&got, 0, sizeof(got));
		cr_expect_eq(proccache_exec_id_parse(id, back, sizeof(back),
						     &got),
			     0, "value %u: %s", v, id);
		cr_expect_str_eq(back, node);
		cr_expect_eq(got.ktime, key.ktime);
		cr_expect_eq(got.pid, key.pid);
	}
}

Test(execid, rejects_null)
{
	struct proccache_key key = { .ktime = 1, .pid = 2 };
	char node[16] = "untouched";

	expect_rejected(NULL, "NULL id");
	cr_expect_eq(proccache_exec_id_parse("bm9kZToxMjM6NDU=", node,
					     sizeof(node), NULL), -EINVAL);
	cr_expect_str_eq(node, "untouched");
	cr_expect_eq(key.ktime, 1);
}

Test(execid, rejects_bad_fields)
{
	static const struct {
		const char *raw;
		size_t len;
		const char *why;
	} bad[] = {
#define RAW(s, why) { s, sizeof(s) - 1, why }
		RAW("node", "no field"),
		RAW("node:123", "one field"),
		RAW("123:45", "node missing"),
		RAW(":123:45", "empty node"),
		RAW("::", "all empty"),
		RAW("node::45", "empty ktime"),
		RAW("node:123:", "empty pid"),
		RAW("node:123:45:", "trailing colon"),
		RAW("node:12a:45", "non-digit ktime"),
		RAW("node:123:4x", "non-digit pid"),
		RAW("node:0x10:1", "hex ktime"),
		RAW("node:1:0x10", "hex pid"),
		RAW("node:1e3:1", "exponent"),
		RAW("node:+123:45", "plus ktime"),
		RAW("node:-123:45", "minus ktime"),
		RAW("node:123:+45", "plus pid"),
		RAW("node:123:-45", "minus pid"),
		RAW("node:123:-0", "minus zero"),
		RAW("node: 123:45", "blank before ktime"),
		RAW("node:123 :45", "blank after ktime"),
		RAW("node:123: 45", "blank before pid"),
		RAW("node:123:45 ", "blank after pid"),
		RAW("node:123:45\n", "newline after pid"),
		RAW("node:\t1:2", "tab before ktime"),
		RAW("node:0123:45", "leading zero ktime"),
		RAW("node:123:045", "leading zero pid"),
		RAW("node:00:45", "double zero ktime"),
		RAW("node:123:00", "double zero pid"),
		RAW("node:1:4294967296", "pid UINT32_MAX + 1"),
		RAW("node:1:99999999999", "pid far too big"),
		RAW("node:18446744073709551616:1", "ktime UINT64_MAX + 1"),
		RAW("node:18446744073709551620:1", "ktime overflow in last digit"),
		RAW("node:99999999999999999999:1", "ktime 20 nines"),
		RAW("node:184467440737095516150:1", "ktime 21 digits"),
		RAW("node:\xef\xbc\x91:2", "fullwidth digit"),
		RAW("no\0de:1:2", "NUL in node"),
		RAW("node:1\0:2", "NUL in ktime"),
		RAW("node:1:2\0", "NUL at the end"),
		RAW("\0", "only NUL"),
#undef RAW
	};
	char id[PROCCACHE_EXEC_ID_MAX];
	char what[PROCCACHE_EXEC_ID_MAX + 64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		b64(bad[i].raw, bad[i].len, id);
		snprintf(what, sizeof(what), "%s (%s)", bad[i].why, id);
		expect_rejected(id, what);
	}
}

Test(execid, rejects_node_too_long)
{
	char raw[PROCCACHE_NODE_NAME_MAX + 16];
	char id[PROCCACHE_EXEC_ID_MAX];
	size_t n;

	/* 255 is the limit and is accepted ... */
	memset(raw, 'n', PROCCACHE_NODE_NAME_MAX);
	memcpy(raw + PROCCACHE_NODE_NAME_MAX, ":1:2", 4);
	b64(raw, PROCCACHE_NODE_NAME_MAX + 4, id);
	cr_assert_eq(proccache_exec_id_parse(id, NULL, 0,
					     &(struct proccache_key){ 0 }), 0);

	/* ... 256 is not. */
	memset(raw, 'n', PROCCACHE_NODE_NAME_MAX + 1);
	memcpy(raw + PROCCACHE_NODE_NAME_MAX + 1, ":1:2", 4);
	n = PROCCACHE_NODE_NAME_MAX + 5;
	b64(raw, n, id);
	expect_rejected(id, "node of 256 bytes");
}

Test(execid, rejects_overlong_input)
{
	char id[PROCCACHE_EXEC_ID_MAX * 2 + 1];

	/* Valid base64, too long to be an exec ID. */
	memset(id, 'A', 508);
	id[508] = '\0';
	expect_rejected(id, "508 chars");

	/* At PROCCACHE_EXEC_ID_MAX and beyond, rejected before decoding. */
	memset(id, 'A', PROCCACHE_EXEC_ID_MAX);
	id[PROCCACHE_EXEC_ID_MAX] = '\0';
	expect_rejected(id, "PROCCACHE_EXEC_ID_MAX chars");
	memset(id, 'A', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	expect_rejected(id, "twice PROCCACHE_EXEC_ID_MAX");
}

Test(execid, parse_node_buffer_too_small)
{
	struct proccache_key key = { .ktime = SENTINEL_KTIME, .pid = SENTINEL_PID };
	char node[8] = "xxxxxxx";

	/* "node" needs 5 bytes with its NUL. */
	cr_expect_eq(proccache_exec_id_parse("bm9kZToxMjM6NDU=", node, 4, &key),
		     -ENOSPC);
	cr_expect_str_eq(node, "xxxxxxx");
	cr_expect_eq(key.ktime, SENTINEL_KTIME);
	cr_expect_eq(key.pid, SENTINEL_PID);
	cr_expect_eq(proccache_exec_id_parse("bm9kZToxMjM6NDU=", node, 0, &key),
		     -ENOSPC);
	cr_expect_str_eq(node, "xxxxxxx");

	cr_assert_eq(proccache_exec_id_parse("bm9kZToxMjM6NDU=", node, 5, &key), 0);
	cr_expect_str_eq(node, "node");
	cr_expect_eq(key.ktime, 123);
}

Test(execid, parse_validates_before_enospc)
{
	struct proccache_key key = { 0 };
	char node[1];

	/* A malformed ID is -EINVAL whatever the buffer. */
	cr_expect_eq(proccache_exec_id_parse("bm9kZToxMjM6NDV=", node, 0, &key),
		     -EINVAL);
}

Test(execid, format_buffer_too_small)
{
	struct proccache_key key = { .ktime = 123, .pid = 45 };
	const char *want = "bm9kZToxMjM6NDU=";
	size_t n = strlen(want);
	char buf[32];

	memset(buf, 'x', sizeof(buf));
	cr_expect_eq(proccache_exec_id_format("node", &key, buf, n), -ENOSPC);
	cr_expect_eq(buf[0], '\0', "not emptied on -ENOSPC");
	cr_expect_eq(buf[1], 'x', "written past the emptied string");
	cr_expect_eq(proccache_exec_id_format("node", &key, buf, 1), -ENOSPC);
	memset(buf, 'x', sizeof(buf));
	cr_expect_eq(proccache_exec_id_format("node", &key, buf, 0), -ENOSPC);
	cr_expect_eq(buf[0], 'x', "written with len 0");

	cr_assert_eq(proccache_exec_id_format("node", &key, buf, n + 1), (int)n);
	cr_expect_str_eq(buf, want);
}

Test(execid, format_rejects_bad_arguments)
{
	struct proccache_key key = { .ktime = 1, .pid = 2 };
	struct proccache_key padded = { .ktime = 1, .pid = 2, .pad = 1 };
	char node[PROCCACHE_NODE_NAME_MAX + 2];
	char buf[PROCCACHE_EXEC_ID_MAX];

	cr_expect_eq(proccache_exec_id_format(NULL, &key, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(proccache_exec_id_format("n", NULL, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(proccache_exec_id_format("n", &key, NULL, sizeof(buf)), -EINVAL);
	cr_expect_eq(proccache_exec_id_format("n", &key, NULL, 0), -EINVAL);
	cr_expect_eq(proccache_exec_id_format("", &key, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(proccache_exec_id_format("n", &padded, buf, sizeof(buf)), -EINVAL);

	memset(node, 'n', PROCCACHE_NODE_NAME_MAX + 1);
	node[PROCCACHE_NODE_NAME_MAX + 1] = '\0';
	cr_expect_eq(proccache_exec_id_format(node, &key, buf, sizeof(buf)), -EINVAL);
	node[PROCCACHE_NODE_NAME_MAX] = '\0';
	cr_expect_gt(proccache_exec_id_format(node, &key, buf, sizeof(buf)), 0);
}
