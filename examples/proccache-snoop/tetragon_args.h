/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tetragon's rendering of the arguments line (no libproccache needed, so
 * tests/test_snoop.c links it alone, as it does jsonw.c). */
#ifndef SNOOP_TETRAGON_ARGS_H
#define SNOOP_TETRAGON_ARGS_H

#include <stddef.h>

/**
 * The `arguments` string Tetragon's ArgsDecoder makes of raw NUL separated
 * args (argv[0] included, as the kernel laid them out): the arguments after
 * argv[0], trailing NULs dropped; one that contains a space is wrapped in
 * double quotes with a space always before it (even first); nothing is
 * escaped; an empty argument adds nothing at the start, a space later.
 * @return a malloc'ed string, or NULL on ENOMEM.
 */
char *tetragon_args_decode(const char *args, size_t len);

#endif
