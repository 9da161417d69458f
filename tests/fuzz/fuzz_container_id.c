/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Container ID from a cgroup path (pc_container_id_from_cgroup,
 * lib/procfs_parse.c). What it returns is lower-case hex, 12 to 64
 * digits, found in the path, or nothing; a buffer too small fails whole.
 */
#include "fuzz.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 1), id[80], small[13];
	int r, i;

	memcpy(path, data, size);
	path[size] = '\0';
	r = pc_container_id_from_cgroup(path, id, sizeof(id));
	FUZZ_CHECK(r >= 0 && (size_t)r == strlen(id));
	FUZZ_CHECK(r == 0 || (r >= 12 && r <= 64));
	for (i = 0; i < r; i++)
		FUZZ_CHECK((id[i] >= '0' && id[i] <= '9') ||
			   (id[i] >= 'a' && id[i] <= 'f'));
	FUZZ_CHECK(r == 0 || strstr(path, id));
	r = pc_container_id_from_cgroup(path, small, sizeof(small));
	FUZZ_CHECK(r == -ENOSPC || (r >= 0 && r < (int)sizeof(small)));
	free(path);
	return 0;
}
