/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The /proc reader the netlink sensor keeps (lib/procfs.h,
 * pc_procfs_reader_*): /proc opened once, pid directories opened relative
 * to it, stat read again through the same fd. On real processes: it reads
 * what pc_procfs_read() reads; a reaped process is gone; a pid reused
 * after its directory was opened is never answered for through it; stat
 * read again through its fd shows an exec that happened since.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"
#include "procfs_read.h"

/* A child that waits in pause() until killed; argv[0] is "sleeper". */
static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

/* A child exec'd into /bin/sh waiting on its stdin pipe: it execs
 * /bin/sleep when a byte arrives. */
static pid_t spawn_shell(int *ret_wfd)
{
	int p[2];
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", "read x; exec sleep 30 0.123",
		      (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	*ret_wfd = p[1];
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

/* Wait until /proc shows @pid running @comm. */
static void wait_comm(pid_t pid, const char *comm)
{
	struct pc_proc_info info;

	for (int i = 0; i < 5000; i++) {
		if (!pc_procfs_read(NULL, (uint32_t)pid, 0, &info)) {
			bool same = !strcmp(info.comm, comm);

			pc_proc_info_release(&info);
			if (same)
				return;
		}
		usleep(1000);
	}
	cr_assert_fail("pid %d never showed comm %s", pid, comm);
}

Test(procfs_reader, reads_what_a_one_off_read_reads)
{
	struct pc_procfs_reader *r;
	struct pc_proc_info a, b;
	uint64_t start, self_start;
	uint32_t ppid = 0;
	int wfd;
	pid_t pid = spawn_shell(&wfd);

	wait_comm(pid, "sh");
	cr_assert_eq(pc_procfs_reader_new(NULL, &r), 0);
	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &a), 0);
	cr_assert_eq(pc_procfs_reader_read(r, (uint32_t)pid, NULL, 0, &b), 0);
	cr_expect_str_eq(b.binary, a.binary);
	cr_expect_eq(b.args_len, a.args_len);
	cr_expect_eq(memcmp(b.args, a.args, a.args_len), 0);
	cr_expect_str_eq(b.cwd, a.cwd);
	cr_expect_str_eq(b.container_id, a.container_id);
	cr_expect_eq(memcmp(&b.ev.ns, &a.ev.ns, sizeof(a.ev.ns)), 0);
	cr_expect_eq(memcmp(&b.ev.creds, &a.ev.creds, sizeof(a.ev.creds)), 0);
	cr_expect_eq(b.ev.binary_inode, a.ev.binary_inode);
	cr_expect_eq(b.ev.cgroup_id, a.ev.cgroup_id,
		     "the root cgroup's remembered inode is the one stat gives");
	cr_expect_eq(b.ev.start_time, a.ev.start_time);
	cr_expect_eq(b.ev.flags, a.ev.flags);
	cr_expect_eq(b.ppid, (uint32_t)getpid());
	cr_assert_eq(pc_procfs_start_time(NULL, (uint32_t)getpid(), &self_start),
		     0);
	cr_expect_eq(b.ev.parent.ktime, self_start);
	pc_proc_info_release(&b);

	/* the caller finds the parent itself */
	cr_assert_eq(pc_procfs_reader_read(r, (uint32_t)pid, NULL,
					   PC_PROCFS_READ_NO_PARENT, &b), 0);
	cr_expect_eq(b.ev.parent.pid, (uint32_t)getpid());
	cr_expect_eq(b.ev.parent.ktime, 0);
	cr_assert_eq(pc_procfs_reader_start_time(r, (uint32_t)pid, &start,
						 &ppid), 0);
	cr_expect_eq(start, a.ev.start_time);
	cr_expect_eq(ppid, (uint32_t)getpid());
	pc_proc_info_release(&b);

	/* after an exec: the new image, same process */
	cr_assert_eq(write(wfd, "\n", 1), 1);
	wait_comm(pid, "sleep");
	cr_assert_eq(pc_procfs_reader_read(r, (uint32_t)pid, NULL, 0, &b), 0);
	cr_expect_str_eq(b.comm, "sleep");
	cr_expect_eq(b.ev.start_time, a.ev.start_time);
	cr_expect(memmem(b.args, b.args_len, "0.123", 6) != NULL);
	pc_proc_info_release(&b);
	pc_proc_info_release(&a);

	close(wfd);
	reap(pid);
	cr_expect_eq(pc_procfs_reader_read(r, (uint32_t)pid, NULL, 0, &b), -ENOENT);
	cr_expect_eq(pc_procfs_reader_start_time(r, (uint32_t)pid, &start,
						 NULL), -ENOENT);
	pc_procfs_reader_free(r);
}

/* Make the next fork get @pid (root: ns_last_pid). */
static bool next_pid_is(pid_t pid)
{
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	char num[16];
	int n = snprintf(num, sizeof(num), "%d", pid - 1);
	bool ok = fd >= 0 && write(fd, num, (size_t)n) == n;

	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * Rule 1 as the reader uses it: a pid directory opened relative to the
 * opened /proc is bound to its process; once that process is reaped and
 * its pid taken by another, reads through it fail, while a directory
 * opened anew reads the new holder.
 */
Test(procfs_reader, a_pid_reused_after_its_directory_was_opened_is_not_read)
{
	struct pc_procfs_ctx ctx;
	struct pc_proc_stat st;
	pid_t old, reborn = -1;
	int dirfd, fresh;

	cr_assert_eq(pc_procfs_ctx_init(&ctx, NULL, false), 0);
	cr_assert(ctx.real, "/proc is a procfs");
	ctx.procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(ctx.procfd, 0);
	old = spawn_sleeper();
	dirfd = pc_procfs_open_pid(&ctx, (uint32_t)old);
	cr_assert_geq(dirfd, 0);
	cr_assert_eq(pc_procfs_read_stat(dirfd, (uint32_t)old, &st), 0);
	reap(old);
	/* ns_last_pid races other forks on the machine: a few tries */
	for (int i = 0; i < 50 && reborn != old; i++) {
		if (reborn > 0)
			reap(reborn);
		if (geteuid() || !next_pid_is(old))
			break;
		reborn = spawn_sleeper();
	}
	if (reborn != old) {
		if (reborn > 0)
			reap(reborn);
		close(dirfd);
		close(ctx.procfd);
		cr_skip_test("cannot reuse pid %d here (needs root)", old);
	}
	cr_expect_eq(pc_procfs_read_stat(dirfd, (uint32_t)old, &st), -ENOENT,
		     "the old directory answers for the new holder");
	fresh = pc_procfs_open_pid(&ctx, (uint32_t)old);
	cr_assert_geq(fresh, 0);
	cr_expect_eq(pc_procfs_read_stat(fresh, (uint32_t)old, &st), 0);
	close(fresh);
	close(dirfd);
	reap(reborn);
	close(ctx.procfd);
}

/* Rules 2 and 3 on a procfs read stat again through the same fd (pread
 * at 0): the file is made anew, so an exec since the first read shows. */
Test(procfs_reader, stat_read_again_through_its_fd_shows_an_exec)
{
	char first[2048], again[2048];
	char path[64];
	ssize_t n;
	int wfd, fd;
	pid_t pid = spawn_shell(&wfd);

	wait_comm(pid, "sh");
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	n = pread(fd, first, sizeof(first) - 1, 0);
	cr_assert_gt(n, 0);
	first[n] = '\0';
	cr_assert_eq(write(wfd, "\n", 1), 1);
	wait_comm(pid, "sleep");
	n = pread(fd, again, sizeof(again) - 1, 0);
	cr_assert_gt(n, 0);
	again[n] = '\0';
	cr_expect(strstr(first, "(sh)") != NULL, "%s", first);
	cr_expect(strstr(again, "(sleep)") != NULL, "%s", again);
	close(fd);
	close(wfd);
	reap(pid);
}

/* A command line longer than the first read (16 KiB) is read on from
 * where that read stopped, and cut at args_max exactly. */
Test(procfs_reader, long_args_are_read_on_and_cut_exactly)
{
	static const char head[] = "sh\0-c\0read x\0sh";
	static char big[40000];
	struct pc_procfs_reader *r;
	struct pc_proc_info info;
	size_t want = sizeof(head) + sizeof(big);
	int p[2];
	pid_t pid;

	memset(big, 'a', sizeof(big) - 1);
	for (size_t i = 0; i < sizeof(big) - 1; i += 97)
		big[i] = (char)('0' + i % 10);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* sh waits on the pipe with @big in its command line */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", "read x", "sh", big, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	cr_assert_eq(pc_procfs_reader_new(NULL, &r), 0);
	/* the image is in place once cmdline shows it whole */
	for (int i = 0; i < 5000; i++) {
		cr_assert_eq(pc_procfs_reader_read(r, (uint32_t)pid,
						   &(struct pc_procfs_caps){ .args_max = 100000 }, 0,
						   &info), 0);
		if (info.args_len == want)
			break;
		pc_proc_info_release(&info);
		usleep(1000);
	}
	cr_assert_eq(info.args_len, want);
	cr_expect_eq(memcmp(info.args, head, sizeof(head)), 0);
	cr_expect_eq(memcmp(info.args + sizeof(head), big, sizeof(big)), 0);
	cr_expect_not(info.ev.flags & PROCCACHE_F_ARGS_TRUNCATED);
	pc_proc_info_release(&info);

	cr_assert_eq(pc_procfs_reader_read(r, (uint32_t)pid, NULL, 0, &info), 0);
	cr_expect_eq(info.args_len, PC_PROCFS_ARGS_DEFAULT);
	cr_expect_eq(info.args[info.args_len], '\0');
	cr_expect_eq(memcmp(info.args + sizeof(head), big,
			    PC_PROCFS_ARGS_DEFAULT - sizeof(head)), 0);
	cr_expect(info.ev.flags & PROCCACHE_F_ARGS_TRUNCATED);
	pc_proc_info_release(&info);
	pc_procfs_reader_free(r);
	close(p[1]);
	reap(pid);
}

/* A hand-made tree is no procfs: read to EOF, stat opened anew. */
Test(procfs_reader, a_prefix_that_is_no_procfs_is_read_by_name)
{
	char root[] = "/tmp/pc-reader-XXXXXX";
	struct pc_procfs_ctx ctx;

	cr_assert_not_null(mkdtemp(root));
	cr_assert_eq(pc_procfs_ctx_init(&ctx, root, false), 0);
	cr_expect_not(ctx.real);
	cr_expect_eq(ctx.procfd, -1);
	rmdir(root);
}
