/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One link of an exec chain for the sensor benchmark and tests:
 *   storm-exec TAG N [USEC]
 * re-executes itself as "storm-exec TAG N-1 [USEC]" until N is 0, then
 * exits 0; with USEC, each image first sleeps that long (a short command's
 * life). Every image of one process has its own args, so a monitor that
 * reads args late, from the next image, is caught. Built static: an exec
 * costs the kernel's work only.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char next[24];
	long n, usec;
	int i;

	if (argc != 3 && argc != 4)
		return 2;
	n = strtol(argv[2], NULL, 10);
	usec = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
	if (usec > 0) {
		struct timespec ts = { usec / 1000000, usec % 1000000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (n <= 0)
		return 0;
	/* "%ld" by hand: the static binary stays small without stdio */
	i = (int)sizeof(next) - 1;
	next[i] = '\0';
	for (n--; i > 0 && (n > 0 || i == (int)sizeof(next) - 1); n /= 10)
		next[--i] = (char)('0' + n % 10);
	execv("/proc/self/exe",
	      (char *[]){ argv[0], argv[1], next + i, argc == 4 ? argv[3] : NULL,
			  NULL });
	return 127;
}
