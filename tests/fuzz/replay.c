/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * main() for a fuzz target built without libFuzzer: feed it every file
 * named on the command line (directories: every file inside), once each.
 * The seed corpus and every crash input kept in it thus run as a unit
 * test in each build (suite 'fuzz-replay'). Exits non-zero when no input
 * was found, so a missing corpus cannot pass.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		perror(path);
		exit(2);
	}
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		exit(2);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 1;
}

static int run_path(const char *path)
{
	struct dirent **names;
	char sub[4096];
	struct stat sb;
	int i, n, count = 0;

	if (stat(path, &sb)) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(sb.st_mode))
		return run_file(path);
	n = scandir(path, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path,
				 names[i]->d_name);
			count += run_path(sub);
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	int i, count = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++)
		count += run_path(argv[i]);
	printf("%d inputs replayed\n", count);
	return count ? 0 : 1;
}
