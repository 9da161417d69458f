/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every fuzz target shares: the libFuzzer entry points and a check
 * that aborts (a crash libFuzzer reports and minimises) when an invariant
 * breaks. Built with -Dfuzzing=true the targets link libFuzzer; otherwise
 * replay.c gives them a main() that runs the seed corpus once, as a test.
 */
#ifndef PROCCACHE_FUZZ_H
#define PROCCACHE_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* env_max of the BPF records captured as seeds (capture.c) and of the
 * decoder that replays them (fuzz_bpf_record.c). */
#define FUZZ_ENV_MAX 4096

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
