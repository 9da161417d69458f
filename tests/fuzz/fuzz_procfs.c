/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The /proc parsers (lib/procfs_parse.c) as the reads use them
 * (lib/procfs_read.c, lib/procfs_scan.c): each target drives the
 * closest callable functions, pc_procfs_read(), _start_time(), _list()
 * and _scan(), on a fake proc root whose one file is the fuzz input; the
 * other files are a real process's, in their shape. PROC_FILE (set by
 * tests/fuzz/meson.build) names the file: stat, status, cgroup, cmdline,
 * loginuid, or "links": the input's lines are the targets of the exe, cwd
 * and ns/ symlinks.
 *
 * Whatever the file says: no crash; a read that succeeds is of pid
 * FAKE_PID (never another process), with every string set and the args
 * within the cap; a failed read leaves its output untouched; the scan
 * hands over only the processes the tree holds.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "procfs.h"

#ifndef PROC_FILE
#error "PROC_FILE must name the file the input becomes"
#endif

#define FAKE_PID 4242
#define PARENT_PID 1
#define ARGS_MAX 512

static char root[256], prefix[512], piddir[1024];

/* Shapes taken from this machine's /proc (pid and parent rewritten). */
static const char stat_text[] =
	"4242 (bash) S 1 4242 4242 34816 4242 4194560 1311 5478 0 0 2 1 "
	"3 2 20 0 1 0 1803 8589312 1280 18446744073709551615 "
	"94625042345984 94625043296173 140731889612976 0 0 0 65536 3686404 "
	"1266761467 1 0 0 17 1 0 0 0 0 0 94625043541904 94625043590116 "
	"94625061797888 140731889617793 140731889617798 140731889617798 "
	"140731889618926 0\n";
static const char parent_stat[] =
	"1 (init) S 0 1 1 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 5 "
	"1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0\n";
static const char status_text[] =
	"Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n"
	"Ngid:\t0\nPid:\t4242\nPPid:\t1\nTracerPid:\t0\n"
	"Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
	"FDSize:\t256\nGroups:\t24 27 1000 \nNStgid:\t4242\nNSpid:\t4242\n"
	"CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
	"CapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\n";
static const char cgroup_text[] =
	"0::/system.slice/docker-"
	"4c1e2f9fbd3a1c2d4e5f60718293a4b5c6d7e8f901a2b3c4d5e6f708192a3b4c"
	".scope\n";
static const char cmdline_text[] = "-bash\0--login\0";
static const char *const ns_names[] = {
	"uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time",
	"time_for_children", "cgroup", "user",
};

static void put(const char *dir, const char *name, const void *data,
		size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(len == 0 || write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void link_to(const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	FUZZ_CHECK(symlink(target, path) == 0);
}

static void default_links(void)
{
	char name[64], target[64];
	size_t i;

	link_to(piddir, "exe", "/bin/sh");
	link_to(piddir, "cwd", "/tmp");
	for (i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++) {
		snprintf(name, sizeof(name), "ns/%s", ns_names[i]);
		snprintf(target, sizeof(target), "%s:[%zu]", ns_names[i],
			 4026531835 + i);
		link_to(piddir, name, target);
	}
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[2048];
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof(root), "%s/pc-fuzz-procfs-XXXXXX",
		 tmp ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(root));
	atexit(cleanup);
	snprintf(prefix, sizeof(prefix), "%s/proc", root);
	FUZZ_CHECK(mkdir(prefix, 0755) == 0);
	snprintf(dir, sizeof(dir), "%s/%d", prefix, PARENT_PID);
	FUZZ_CHECK(mkdir(dir, 0755) == 0);
	put(dir, "stat", parent_stat, sizeof(parent_stat) - 1);
	snprintf(piddir, sizeof(piddir), "%s/%d", prefix, FAKE_PID);
	FUZZ_CHECK(mkdir(piddir, 0755) == 0);
	snprintf(dir, sizeof(dir), "%s/ns", piddir);
	FUZZ_CHECK(mkdir(dir, 0755) == 0);
	put(piddir, "stat", stat_text, sizeof(stat_text) - 1);
	put(piddir, "status", status_text, sizeof(status_text) - 1);
	put(piddir, "cgroup", cgroup_text, sizeof(cgroup_text) - 1);
	put(piddir, "cmdline", cmdline_text, sizeof(cmdline_text) - 1);
	put(piddir, "loginuid", "1000", 4);
	default_links();
	return 0;
}

/* Input lines become the exe, cwd and ns link targets, in that order. */
static void fuzz_links(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "exe", "cwd", "ns/pid", "ns/mnt",
					     "ns/user" };
	char target[PATH_MAX];
	const uint8_t *end = data + size, *nl;
	size_t i, n;

	default_links();
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && data < end; i++) {
		nl = memchr(data, '\n', (size_t)(end - data));
		n = (size_t)((nl ? nl : end) - data);
		if (n >= sizeof(target))
			n = sizeof(target) - 1;
		memcpy(target, data, n);
		target[n] = '\0';
		/* symlink(2) takes no empty target and stops at a NUL */
		if (target[0])
			link_to(piddir, names[i], target);
		data = nl ? nl + 1 : end;
	}
}

static void check_info(const struct pc_proc_info *info)
{
	const struct proccache_event *ev = &info->ev;
	size_t i, n;

	FUZZ_CHECK(ev->pid == FAKE_PID && ev->tid == FAKE_PID);
	FUZZ_CHECK(ev->type == PROCCACHE_EVENT_EXEC && ev->sz == sizeof(*ev));
	FUZZ_CHECK(ev->flags & PROCCACHE_F_PROCFS);
	FUZZ_CHECK(info->binary && info->args && info->cwd &&
		   info->container_id);
	FUZZ_CHECK(ev->binary == info->binary && ev->args == info->args &&
		   ev->cwd == info->cwd &&
		   ev->container_id == info->container_id);
	FUZZ_CHECK(info->args_len <= ARGS_MAX && ev->args_len == info->args_len);
	FUZZ_CHECK(info->args[info->args_len] == '\0');
	FUZZ_CHECK(memchr(info->comm, '\0', sizeof(info->comm)));
	FUZZ_CHECK(ev->parent.pid == info->ppid);
	/* A parent never started after its child. */
	FUZZ_CHECK(ev->parent.ktime <= ev->start_time);
	n = strlen(info->container_id);
	FUZZ_CHECK(n == 0 || (n >= 12 && n <= 64));
	for (i = 0; i < n; i++)
		FUZZ_CHECK((info->container_id[i] >= '0' &&
			    info->container_id[i] <= '9') ||
			   (info->container_id[i] >= 'a' &&
			    info->container_id[i] <= 'f'));
}

static int scan_one(struct pc_proc_info *info, void *userdata)
{
	int *count = userdata;

	FUZZ_CHECK(info->ev.pid == FAKE_PID || info->ev.pid == PARENT_PID);
	if (info->ev.pid == FAKE_PID)
		check_info(info);
	(*count)++;
	return 0;
}

static int list_one(uint32_t pid, uint64_t start_ns, void *userdata)
{
	FUZZ_CHECK(pid == FAKE_PID || pid == PARENT_PID);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_proc_info info, untouched;
	uint64_t start = 0;
	int r, count = 0;

	if (!strcmp(PROC_FILE, "links"))
		fuzz_links(data, size);
	else
		put(piddir, PROC_FILE, data, size);

	memset(&info, 0x6b, sizeof(info));
	untouched = info;
	r = pc_procfs_read(prefix, FAKE_PID, ARGS_MAX, &info);
	if (r == 0) {
		check_info(&info);
		pc_proc_info_release(&info);
	} else {
		FUZZ_CHECK(r == -EINVAL || r == -ESRCH || r == -EAGAIN ||
			   r == -ENOENT || r == -ELOOP || r == -ENAMETOOLONG);
		FUZZ_CHECK(!memcmp(&info, &untouched, sizeof(info)));
	}
	r = pc_procfs_start_time(prefix, FAKE_PID, &start);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	FUZZ_CHECK(pc_procfs_list(prefix, list_one, NULL) == 0);
	r = pc_procfs_scan(prefix, ARGS_MAX, scan_one, &count);
	FUZZ_CHECK(r >= 1 && r == count);
	return 0;
}
