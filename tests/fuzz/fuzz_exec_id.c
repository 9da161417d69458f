/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Exec IDs both ways (lib/execid.c). First byte even: the rest is an exec
 * ID string; one the parser accepts must format back to exactly itself
 * (one key, one text). Odd: the rest is a key (12 bytes) and a node name;
 * what formats must parse back to the same node and key. And the lookups'
 * check of an ID against a node (pc_exec_id_key_on()) answers as parsing
 * and comparing the node, for any text and for the base64 of any bytes.
 */
#include "execid.h"
#include "fuzz.h"

static void key_on_as_parse(const char *id)
{
	static const char *const nodes[] = { "n", "a:b", "node-1" };
	char node[PROCCACHE_NODE_NAME_MAX + 1];
	struct proccache_key want, got;
	int r = proccache_exec_id_parse(id, node, sizeof(node), &want);

	FUZZ_CHECK(r == 0 || r == -EINVAL);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		int w = r ? r : strcmp(node, nodes[i]) ? -ENOENT : 0;

		FUZZ_CHECK(pc_exec_id_key_on(id, nodes[i], &got) == w);
		FUZZ_CHECK(w || (got.ktime == want.ktime && got.pid == want.pid));
	}
	if (!r) {
		FUZZ_CHECK(pc_exec_id_key_on(id, node, &got) == 0);
		FUZZ_CHECK(got.ktime == want.ktime && got.pid == want.pid);
	}
}

static void parse_then_format(const uint8_t *data, size_t size)
{
	char id[PROCCACHE_EXEC_ID_MAX + 8], node[PROCCACHE_NODE_NAME_MAX + 1];
	char again[PROCCACHE_EXEC_ID_MAX];
	struct proccache_key key;
	int r;

	if (size >= sizeof(id))
		size = sizeof(id) - 1;
	memcpy(id, data, size);
	id[size] = '\0';
	key_on_as_parse(id);
	r = proccache_exec_id_parse(id, node, sizeof(node), &key);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r)
		return;
	FUZZ_CHECK(key.pad == 0);
	r = proccache_exec_id_format(node, &key, again, sizeof(again));
	FUZZ_CHECK(r > 0 && (size_t)r == strlen(id));
	FUZZ_CHECK(!strcmp(again, id));
}

static void format_then_parse(const uint8_t *data, size_t size)
{
	char node[PROCCACHE_NODE_NAME_MAX + 16], back[PROCCACHE_NODE_NAME_MAX + 1];
	char id[PROCCACHE_EXEC_ID_MAX], small[8];
	struct proccache_key key = { 0 }, parsed;
	size_t n;
	int r;

	if (size < 12)
		return;
	memcpy(&key.ktime, data, 8);
	memcpy(&key.pid, data + 8, 4);
	n = size - 12 < sizeof(node) - 1 ? size - 12 : sizeof(node) - 1;
	memcpy(node, data + 12, n);
	node[n] = '\0';
	r = proccache_exec_id_format(node, &key, id, sizeof(id));
	FUZZ_CHECK(r == -EINVAL || (r > 0 && (size_t)r == strlen(id)));
	if (r < 0)
		return;
	FUZZ_CHECK(proccache_exec_id_parse(id, back, sizeof(back), &parsed) == 0);
	FUZZ_CHECK(!strcmp(back, node));
	FUZZ_CHECK(parsed.ktime == key.ktime && parsed.pid == key.pid &&
		   parsed.pad == 0);
	/* Too small a buffer fails whole, never a cut ID. */
	r = proccache_exec_id_format(node, &key, small, sizeof(small));
	FUZZ_CHECK(r == -ENOSPC && small[0] == '\0');
}

/* The base64 under both: decode(encode(x)) == x. */
static void base64_round_trip(const uint8_t *data, size_t size)
{
	char text[PC_BASE64_LEN(64) + 1];
	uint8_t back[64];
	ssize_t n;
	int r;

	if (size > sizeof(back))
		size = sizeof(back);
	r = pc_base64_encode(data, size, text, sizeof(text));
	FUZZ_CHECK(r == (int)PC_BASE64_LEN(size));
	key_on_as_parse(text);
	n = pc_base64_decode(text, (size_t)r, back, sizeof(back));
	FUZZ_CHECK(n == (ssize_t)size && !memcmp(back, data, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		format_then_parse(data + 1, size - 1);
	else
		parse_then_format(data + 1, size - 1);
	base64_round_trip(data + 1, size - 1);
	return 0;
}
