/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proccache_args_decode() (lib/format.c) on raw args: the returned length
 * is the same whatever the output size (snprintf semantics), the output is
 * always terminated, and a cut output is a prefix of the whole.
 */
#include "fuzz.h"
#include "proccache/proccache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args = malloc(size ? size : 1), *whole, cut[17];
	int skip, n, m;

	memcpy(args, data, size);
	for (skip = 0; skip < 2; skip++) {
		n = proccache_args_decode(args, size, skip, NULL, 0);
		FUZZ_CHECK(n >= 0);
		whole = malloc((size_t)n + 1);
		m = proccache_args_decode(args, size, skip, whole,
					  (size_t)n + 1);
		FUZZ_CHECK(m == n && whole[n] == '\0');
		m = proccache_args_decode(args, size, skip, cut, sizeof(cut));
		FUZZ_CHECK(m == n);
		FUZZ_CHECK(strlen(cut) == (n < 16 ? (size_t)n : 16));
		FUZZ_CHECK(!strncmp(cut, whole, strlen(cut)));
		/* At most every byte escaped, plus quotes and a separator per arg. */
		FUZZ_CHECK((size_t)n <= 2 * size + 3 * (size + 1));
		free(whole);
	}
	free(args);
	return 0;
}
