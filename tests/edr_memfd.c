/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * edr-memfd NAME PATH [ARG]...: copy the executable at PATH into a memfd
 * called NAME and run it from there with fexecve(3), as fileless malware
 * does. tests/test_edr.py uses it for the memfd rule.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	struct stat st;
	int in, mfd;

	if (argc < 3) {
		fprintf(stderr, "usage: edr-memfd NAME PATH [ARG]...\n");
		return 2;
	}
	in = open(argv[2], O_RDONLY | O_CLOEXEC);
	mfd = memfd_create(argv[1], 0);
	if (in < 0 || mfd < 0 || fstat(in, &st) < 0 ||
	    sendfile(mfd, in, NULL, (size_t)st.st_size) != st.st_size) {
		perror("edr-memfd");
		return 1;
	}
	close(in);
	fexecve(mfd, argv + 2, environ);
	perror("edr-memfd: fexecve");
	return 1;
}
