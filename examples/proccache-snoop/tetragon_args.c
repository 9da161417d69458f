/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tetragon_args.h"

#include <stdlib.h>
#include <string.h>

char *tetragon_args_decode(const char *args, size_t args_len)
{
	size_t off = 0, len = 0, n;
	const char *a;
	char *out;

	while (args_len && args[args_len - 1] == '\0')
		args_len--;
	/* Each argument adds at most 3 bytes to its own: " \"" and '"'. */
	out = malloc(4 * args_len + 4);
	if (!out)
		return NULL;
	if (args_len)
		off = strnlen(args, args_len) + 1; /* argv[0] */
	while (off < args_len) {
		a = args + off;
		n = strnlen(a, args_len - off);
		off += n + 1;
		if (memchr(a, ' ', n)) {
			memcpy(out + len, " \"", 2);
			memcpy(out + len + 2, a, n);
			out[len + 2 + n] = '"';
			len += n + 3;
		} else {
			if (len)
				out[len++] = ' ';
			memcpy(out + len, a, n);
			len += n;
		}
	}
	out[len] = '\0';
	return out;
}
