/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The /proc reader against the live /proc (this process, children with
 * known args and cwd, exits, exec of deleted and memfd binaries, the scan
 * order) and against hand-made trees under a prefix (parsing, races staged
 * with a FIFO for cmdline).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

#define HELPER_ARG "--procfs-test-helper"
#define READY_ENV "PROCFS_TEST_READY_FD"

#define PF_FORKNOEXEC 0x00000040u
#define PF_KTHREAD 0x00200000u

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

extern char **environ;

static int saved_argc;
static char **saved_argv;

/*
 * glibc hands main's arguments to ELF constructors. Children exec this
 * same binary with HELPER_ARG; they signal readiness from here (the exec
 * is complete, args laid out) and wait to be killed, never reaching
 * Criterion's main.
 */
__attribute__((constructor)) static void helper_main(int argc, char **argv)
{
	const char *fd = getenv(READY_ENV);

	saved_argc = argc;
	saved_argv = argv;
	if (argc < 2 || strcmp(argv[1], HELPER_ARG))
		return;
	if (fd) {
		if (write(atoi(fd), "r", 1) != 1)
			_exit(126);
		close(atoi(fd));
	}
	for (;;)
		pause();
}

/* -------------------------------------------------------------------- */
/* Helpers                                                               */
/* -------------------------------------------------------------------- */

/* snprintf that fails the test instead of cutting a path. */
__attribute__((format(printf, 3, 4))) static void
fmt_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < len, "path too long: %s", buf);
}

/* Block until the child wrote its ready byte (or died: EOF). */
static void wait_ready(int fd)
{
	char c;

	cr_assert_eq(read(fd, &c, 1), 1, "helper did not start");
	close(fd);
}

/* In the child: die with the test, report readiness through @ready_w. */
static void child_setup(int ready_r, int ready_w)
{
	char num[16];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(ready_r);
	fmt_path(num, sizeof(num), "%d", ready_w);
	setenv(READY_ENV, num, 1);
}

/* Exec @path (or @exec_fd if >= 0) with @argv in @cwd; returns when the
 * helper runs. */
static pid_t spawn_exec(const char *path, int exec_fd, char *const argv[],
			const char *cwd)
{
	int p[2];
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		child_setup(p[0], p[1]);
		if (cwd && chdir(cwd))
			_exit(127);
		if (exec_fd >= 0)
			syscall(SYS_execveat, exec_fd, "", argv, environ,
				AT_EMPTY_PATH);
		else
			execve(path, argv, environ);
		_exit(127);
	}
	close(p[1]);
	wait_ready(p[0]);
	return pid;
}

/* A child that forks without exec'ing and waits. */
static pid_t spawn_fork(void)
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

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static char *self_exe(void)
{
	char *path = realpath("/proc/self/exe", NULL);

	cr_assert_not_null(path);
	return path;
}

/* argv as the kernel lays it out: each argument NUL terminated. */
static size_t join_args(char *const argv[], char *buf, size_t len)
{
	size_t n = 0, l;

	for (; *argv; argv++) {
		l = strlen(*argv) + 1;
		cr_assert_leq(n + l, len);
		memcpy(buf + n, *argv, l);
		n += l;
	}
	return n;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t ns_inode(const char *pid, const char *type)
{
	char path[128];
	struct stat sb;

	fmt_path(path, sizeof(path), "/proc/%s/ns/%s", pid, type);
	return stat(path, &sb) ? 0 : (uint32_t)sb.st_ino;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static void copy_fd(int from, int to)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(from, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(to, buf, (size_t)n), n);
	cr_assert_eq(n, 0);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/pc procfs XXXXXX", *dir = mkdtemp(tmpl);

	cr_assert_not_null(dir);
	return strdup(dir);
}

static void rm_rf(const char *path)
{
	char cmd[PATH_MAX + 32];

	fmt_path(cmd, sizeof(cmd), "rm -rf -- '%s'", path);
	cr_assert_eq(system(cmd), 0);
}

/* -------------------------------------------------------------------- */
/* The live /proc                                                        */
/* -------------------------------------------------------------------- */

Test(procfs_live, self_matches_what_the_process_knows)
{
	struct pc_proc_info info, again;
	char expect[65536], cwd[PATH_MAX], *exe = self_exe();
	uid_t r, e, s;
	gid_t gr, ge, gs;
	struct __user_cap_header_struct hdr = { .version =
						_LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2];
	size_t len = join_args(saved_argv, expect, sizeof(expect));
	struct stat sb;

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)getpid(), 0, &info), 0);
	cr_assert_eq(info.ev.sz, sizeof(info.ev));
	cr_assert_eq(info.ev.type, PROCCACHE_EVENT_EXEC);
	cr_assert_eq(info.ev.pid, (uint32_t)getpid());
	cr_assert_eq(info.ev.tid, (uint32_t)getpid());
	cr_assert_eq(info.ev.nspid, (uint32_t)getpid());
	cr_assert_eq(info.ppid, (uint32_t)getppid());
	cr_assert_eq(info.ev.parent.pid, (uint32_t)getppid());
	cr_assert(info.ev.flags & PROCCACHE_F_PROCFS);
	cr_assert_eq(info.ev.flags & (PROCCACHE_F_VANISHED |
				      PROCCACHE_F_UNLINKED |
				      PROCCACHE_F_ARGS_TRUNCATED |
				      PROCCACHE_F_CWD_ERROR), 0);

	cr_assert_eq(info.args_len, len);
	cr_assert_eq(info.ev.args_len, len);
	cr_assert_eq(memcmp(info.args, expect, len), 0);
	cr_assert_eq(info.ev.args, info.args);
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_str_eq(info.cwd, cwd);
	cr_assert_str_eq(info.binary, exe);
	cr_assert_eq(stat(exe, &sb), 0);
	cr_assert_eq(info.ev.binary_inode, (uint64_t)sb.st_ino);
	cr_assert_eq(info.ev.binary_nlink, (uint32_t)sb.st_nlink);

	cr_assert_eq(getresuid(&r, &e, &s), 0);
	cr_assert_eq(getresgid(&gr, &ge, &gs), 0);
	cr_assert_eq(info.ev.creds.uid, r);
	cr_assert_eq(info.ev.creds.euid, e);
	cr_assert_eq(info.ev.creds.suid, s);
	cr_assert_eq(info.ev.creds.fsuid, (uint32_t)setfsuid((uid_t)-1));
	cr_assert_eq(info.ev.creds.gid, gr);
	cr_assert_eq(info.ev.creds.egid, ge);
	cr_assert_eq(info.ev.creds.sgid, gs);
	cr_assert_eq(info.ev.creds.fsgid, (uint32_t)setfsgid((gid_t)-1));
	cr_assert_eq(syscall(SYS_capget, &hdr, caps), 0);
	cr_assert_eq(info.ev.caps.effective,
		     caps[0].effective | (uint64_t)caps[1].effective << 32);
	cr_assert_eq(info.ev.caps.permitted,
		     caps[0].permitted | (uint64_t)caps[1].permitted << 32);
	cr_assert_eq(info.ev.caps.inheritable,
		     caps[0].inheritable | (uint64_t)caps[1].inheritable << 32);

	cr_assert_eq(info.ev.ns.uts, ns_inode("self", "uts"));
	cr_assert_eq(info.ev.ns.ipc, ns_inode("self", "ipc"));
	cr_assert_eq(info.ev.ns.mnt, ns_inode("self", "mnt"));
	cr_assert_eq(info.ev.ns.pid, ns_inode("self", "pid"));
	cr_assert_eq(info.ev.ns.pid_for_children,
		     ns_inode("self", "pid_for_children"));
	cr_assert_eq(info.ev.ns.net, ns_inode("self", "net"));
	cr_assert_eq(info.ev.ns.time, ns_inode("self", "time"));
	cr_assert_eq(info.ev.ns.time_for_children,
		     ns_inode("self", "time_for_children"));
	cr_assert_eq(info.ev.ns.cgroup, ns_inode("self", "cgroup"));
	cr_assert_eq(info.ev.ns.user, ns_inode("self", "user"));
	cr_assert_neq(info.ev.ns.mnt, 0);

	/* The exec key of a pre-existing process must not move. */
	cr_assert_eq(info.ev.ktime, info.ev.start_time);
	cr_assert_gt(info.ev.ktime, 0);
	cr_assert_leq(info.ev.ktime, boottime_ns());
	cr_assert_eq(pc_procfs_read("/proc/", (uint32_t)getpid(), 0, &again),
		     0);
	cr_assert_eq(again.ev.ktime, info.ev.ktime);
	cr_assert_leq(info.ev.parent.ktime, info.ev.ktime);
	pc_proc_info_release(&again);
	pc_proc_info_release(&info);
	cr_assert_null(info.binary);
	free(exe);
}

/* The cgroup2 mount point, from mountinfo: an independent derivation. */
static int cgroup2_mount(char *buf, size_t len)
{
	char line[4096], mnt[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	cr_assert_not_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		if (!strstr(line, " - cgroup2 "))
			continue;
		cr_assert_eq(sscanf(line, "%*s %*s %*s %*s %4095s", mnt), 1);
		fmt_path(buf, len, "%s", mnt);
		found = !strcmp(mnt, "/sys/fs/cgroup") ||
			!strcmp(mnt, "/sys/fs/cgroup/unified");
	}
	fclose(f);
	return found;
}

Test(procfs_live, self_cgroup)
{
	char mnt[PATH_MAX], line[4096], path[2 * PATH_MAX], id[128];
	struct pc_proc_info info;
	const char *cg = NULL;
	struct stat sb;
	FILE *f;

	f = fopen("/proc/self/cgroup", "re");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			cg = line + 3;
			break;
		}
	fclose(f);
	if (!cg || !cgroup2_mount(mnt, sizeof(mnt)))
		cr_skip_test("no cgroup2 hierarchy here");
	fmt_path(path, sizeof(path), "%s%s", mnt, cg);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_geq(pc_container_id_from_cgroup(cg, id, sizeof(id)), 0);

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)getpid(), 0, &info), 0);
	cr_assert_eq(info.ev.cgroup_id, (uint64_t)sb.st_ino);
	cr_assert_neq(info.ev.cgroup_id, 0);
	cr_assert_str_eq(info.container_id, id);
	cr_assert_eq(info.ev.container_id, info.container_id);
	pc_proc_info_release(&info);
}

Test(procfs_live, loginuid_as_the_kernel_says)
{
	struct pc_proc_info info;
	char buf[32] = "";
	uint32_t expect = (uint32_t)-1;
	FILE *f = fopen("/proc/self/loginuid", "re");

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			expect = (uint32_t)strtoul(buf, NULL, 10);
		fclose(f);
	}
	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)getpid(), 0, &info), 0);
	cr_assert_eq(info.ev.creds.auid, expect);
	pc_proc_info_release(&info);
}

/* Arguments that trip naive readers: spaces, an empty one, a long one,
 * non-ASCII. */
static char big_arg[5001];
static char *child_argv[] = { "pc helper", HELPER_ARG, "two words", "",
			      big_arg, "\xc3\xbcn\xc3\xaf", NULL };

static void init_big_arg(void)
{
	memset(big_arg, 'x', sizeof(big_arg) - 1);
	big_arg[sizeof(big_arg) - 1] = '\0';
}

/* A temp dir whose name has spaces and non-ASCII. */
static char *make_odd_cwd(char **ret_top)
{
	char *top = make_tmpdir(), path[PATH_MAX];

	fmt_path(path, sizeof(path), "%s/d\xc3\xadr \xc3\xbc \xe2\x98\x83",
		 top);
	cr_assert_eq(mkdir(path, 0755), 0);
	*ret_top = top;
	return realpath(path, NULL);
}

Test(procfs_live, child_args_cwd_parent)
{
	char expect[16384], *top, *cwd, *exe = self_exe();
	struct pc_proc_info info;
	uint64_t before, after, self_start, hz_ns;
	size_t len;
	pid_t pid;

	init_big_arg();
	len = join_args(child_argv, expect, sizeof(expect));
	cwd = make_odd_cwd(&top);
	hz_ns = 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
	before = boottime_ns();
	pid = spawn_exec(exe, -1, child_argv, cwd);
	after = boottime_ns();

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &info), 0);
	cr_assert_eq(info.args_len, len);
	cr_assert_eq(memcmp(info.args, expect, len), 0);
	cr_assert_eq(info.args[len], '\0');
	cr_assert_str_eq(info.cwd, cwd);
	cr_assert_str_eq(info.binary, exe);
	cr_assert(info.ev.flags & PROCCACHE_F_EXECVE);
	cr_assert(info.ev.flags & PROCCACHE_F_PROCFS);
	cr_assert_eq(info.ev.flags & PROCCACHE_F_ARGS_TRUNCATED, 0);
	cr_assert_eq(info.ppid, (uint32_t)getpid());
	cr_assert_eq(pc_procfs_start_time(NULL, (uint32_t)getpid(),
					  &self_start), 0);
	cr_assert_eq(info.ev.parent.ktime, self_start);
	/* stat counts clock ticks: the start lands on the tick before. */
	cr_assert_geq(info.ev.start_time + hz_ns, before);
	cr_assert_leq(info.ev.start_time, after);
	pc_proc_info_release(&info);

	kill_child(pid);
	rm_rf(top);
	free(cwd);
	free(top);
	free(exe);
}

Test(procfs_live, args_max_truncates)
{
	char expect[16384], *exe = self_exe();
	struct pc_proc_info info;
	size_t len;
	pid_t pid;

	init_big_arg();
	len = join_args(child_argv, expect, sizeof(expect));
	pid = spawn_exec(exe, -1, child_argv, NULL);

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 20, &info), 0);
	cr_assert_eq(info.args_len, 20);
	cr_assert_eq(info.ev.args_len, 20);
	cr_assert_eq(memcmp(info.args, expect, 20), 0);
	cr_assert(info.ev.flags & PROCCACHE_F_ARGS_TRUNCATED);
	pc_proc_info_release(&info);

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, len - 1, &info), 0);
	cr_assert_eq(info.args_len, len - 1);
	cr_assert(info.ev.flags & PROCCACHE_F_ARGS_TRUNCATED);
	pc_proc_info_release(&info);

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, len, &info), 0);
	cr_assert_eq(info.args_len, len);
	cr_assert_eq(info.ev.flags & PROCCACHE_F_ARGS_TRUNCATED, 0);
	cr_assert_eq(memcmp(info.args, expect, len), 0);
	pc_proc_info_release(&info);

	kill_child(pid);
	free(exe);
}

/* A child exec'd with a known environment: environ is read inside the
 * same read, only when asked, and cut at env_max. */
Test(procfs_live, environment_when_asked)
{
	static const char known[] = "A=1\0TOKEN=s3cret\0" READY_ENV "=";
	char *exe = self_exe();
	struct pc_proc_info info;
	pid_t pid;

	cr_assert_eq(clearenv(), 0);
	cr_assert_eq(setenv("A", "1", 1), 0);
	cr_assert_eq(setenv("TOKEN", "s3cret", 1), 0);
	pid = spawn_exec(exe, -1, child_argv, NULL);

	/* Not asked: environ is not read. */
	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &info), 0);
	cr_expect_null(info.env);
	cr_expect_eq(info.ev.env_len, 0);
	pc_proc_info_release(&info);

	cr_assert_eq(pc_procfs_read_env(NULL, (uint32_t)pid, 0, 4096, &info),
		     0);
	cr_assert_gt(info.env_len, sizeof(known) - 1);
	cr_expect_eq(memcmp(info.env, known, sizeof(known) - 1), 0);
	cr_expect_eq(info.env[info.env_len - 1], '\0');
	cr_expect_eq(info.env[info.env_len], '\0');
	cr_expect_eq(info.ev.env, info.env);
	cr_expect_eq(info.ev.env_len, info.env_len);
	cr_expect_eq(info.ev.flags & PROCCACHE_F_ENV_TRUNC, 0);
	pc_proc_info_release(&info);

	/* Larger than the cap: cut there, flagged. */
	cr_assert_eq(pc_procfs_read_env(NULL, (uint32_t)pid, 0, 9, &info), 0);
	cr_expect_eq(info.env_len, 9);
	cr_expect_eq(memcmp(info.env, "A=1\0TOKEN", 9), 0);
	cr_expect(info.ev.flags & PROCCACHE_F_ENV_TRUNC);
	pc_proc_info_release(&info);

	kill_child(pid);
	free(exe);
}

/* The scan reads environments too when asked. */
static int find_env_visit(struct pc_proc_info *info, void *userdata)
{
	pid_t *pid = userdata;

	if (info->ev.pid == (uint32_t)*pid) {
		cr_expect_not_null(info->env);
		cr_expect(info->env && !strcmp(info->env, "PC_SCAN_ENV=yes"));
		*pid = 0;
	}
	return 0;
}

Test(procfs_live, scan_reads_environment)
{
	char *exe = self_exe();
	pid_t pid, seen;

	cr_assert_eq(clearenv(), 0);
	cr_assert_eq(setenv("PC_SCAN_ENV", "yes", 1), 0);
	pid = spawn_exec(exe, -1, child_argv, NULL);
	seen = pid;
	cr_assert_gt(pc_procfs_scan_env(NULL, 0, 1024, find_env_visit, &seen),
		     0);
	cr_expect_eq(seen, 0, "the child was not visited");
	kill_child(pid);
	free(exe);
}

Test(procfs_live, fork_without_exec_is_not_execve)
{
	struct pc_proc_info self, child;
	pid_t pid = spawn_fork();

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)getpid(), 0, &self), 0);
	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &child), 0);
	cr_assert_eq(child.ev.flags & PROCCACHE_F_EXECVE, 0);
	cr_assert(child.ev.flags & PROCCACHE_F_PROCFS);
	/* Same image as the parent until it execs. */
	cr_assert_str_eq(child.binary, self.binary);
	cr_assert_eq(child.args_len, self.args_len);
	cr_assert_eq(memcmp(child.args, self.args, self.args_len), 0);
	pc_proc_info_release(&self);
	pc_proc_info_release(&child);
	kill_child(pid);
}

Test(procfs_live, exited_child_is_gone)
{
	struct pc_proc_info info = { .ppid = 77 };
	uint64_t ns = 77;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &info), -ENOENT);
	cr_assert_eq(pc_procfs_start_time(NULL, (uint32_t)pid, &ns), -ENOENT);
	/* Outputs are untouched on failure. */
	cr_assert_eq(info.ppid, 77);
	cr_assert_eq(ns, 77);
}

Test(procfs_live, zombie_has_vanished_fields)
{
	struct pc_proc_info info;
	siginfo_t si;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(3);
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &info), 0);
	cr_assert(info.ev.flags & PROCCACHE_F_VANISHED);
	cr_assert_str_eq(info.binary, "");
	cr_assert_eq(info.args_len, 0);
	pc_proc_info_release(&info);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &info), -ENOENT);
}

static void *idle_thread(void *arg)
{
	*(volatile pid_t *)arg = gettid();
	for (;;)
		pause();
	return NULL;
}

static pid_t start_idle_thread(void)
{
	static volatile pid_t tid;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, idle_thread, (void *)&tid), 0);
	while (!tid)
		usleep(1000);
	return tid;
}

Test(procfs_live, thread_is_not_a_process)
{
	struct pc_proc_info info;
	pid_t tid = start_idle_thread();

	cr_assert_neq(tid, getpid());
	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)tid, 0, &info), -ESRCH);
}

Test(procfs_live, kernel_thread_is_kept)
{
	struct pc_proc_info info;

	if (pc_procfs_read(NULL, 2, 0, &info) || strcmp(info.comm, "kthreadd"))
		cr_skip_test("pid 2 is not kthreadd in this pid namespace");
	cr_assert_str_eq(info.binary, "");
	cr_assert_eq(info.ppid, 0);
	cr_assert_eq(info.ev.parent.pid, 0);
	cr_assert_eq(info.ev.parent.ktime, 0);
	cr_assert_eq(info.ev.flags & PROCCACHE_F_VANISHED, 0);
	cr_assert_eq(info.ev.flags & PROCCACHE_F_EXECVE, 0);
	cr_assert_eq(info.args_len, 0);
	pc_proc_info_release(&info);
}

Test(procfs_live, deleted_binary_is_unlinked)
{
	char *top = make_tmpdir(), path[PATH_MAX];
	char *argv[] = { "deleted", HELPER_ARG, NULL };
	struct pc_proc_info info;
	int in, out;
	pid_t pid;

	fmt_path(path, sizeof(path), "%s/pc bin", top);
	in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	out = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	cr_assert(in >= 0 && out >= 0);
	copy_fd(in, out);
	close(in);
	close(out);
	pid = spawn_exec(path, -1, argv, NULL);
	cr_assert_eq(unlink(path), 0);

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &info), 0);
	cr_assert_str_eq(info.binary, path);
	cr_assert(info.ev.flags & PROCCACHE_F_UNLINKED);
	cr_assert_eq(info.ev.binary_nlink, 0);
	cr_assert_neq(info.ev.binary_inode, 0);
	pc_proc_info_release(&info);
	kill_child(pid);
	rm_rf(top);
	free(top);
}

Test(procfs_live, memfd_binary_is_unlinked)
{
	char *argv[] = { "memfd", HELPER_ARG, NULL };
	struct pc_proc_info info;
	struct stat sb;
	int in, mfd;
	pid_t pid;

	mfd = memfd_create("pc-test", 0);
	cr_assert_geq(mfd, 0);
	in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(in, 0);
	copy_fd(in, mfd);
	close(in);
	cr_assert_eq(fstat(mfd, &sb), 0);
	pid = spawn_exec(NULL, mfd, argv, NULL);

	cr_assert_eq(pc_procfs_read(NULL, (uint32_t)pid, 0, &info), 0);
	cr_assert_str_eq(info.binary, "/memfd:pc-test");
	cr_assert(info.ev.flags & PROCCACHE_F_UNLINKED);
	cr_assert_eq(info.ev.binary_inode, (uint64_t)sb.st_ino);
	cr_assert_eq(info.ev.binary_nlink, 0);
	pc_proc_info_release(&info);
	kill_child(pid);
	close(mfd);
}

/* -------------------------------------------------------------------- */
/* The scan on the live /proc                                            */
/* -------------------------------------------------------------------- */

struct visit_log {
	uint32_t pids[1 << 16];
	size_t n;
	int not_leader;
	int stop_after;
};

static int thread_group_of(uint32_t pid)
{
	char path[64], line[256];
	int tgid = -1;
	FILE *f;

	fmt_path(path, sizeof(path), "/proc/%u/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static int log_visit(struct pc_proc_info *info, void *userdata)
{
	struct visit_log *log = userdata;
	int tgid = thread_group_of(info->ev.pid);

	if (tgid >= 0 && (uint32_t)tgid != info->ev.pid)
		log->not_leader++;
	cr_assert_lt(log->n, sizeof(log->pids) / sizeof(log->pids[0]));
	log->pids[log->n++] = info->ev.pid;
	if (log->stop_after && (int)log->n == log->stop_after)
		return -42;
	return 0;
}

static long index_of(const struct visit_log *log, pid_t pid)
{
	size_t i;

	for (i = 0; i < log->n; i++)
		if (log->pids[i] == (uint32_t)pid)
			return (long)i;
	return -1;
}

/* A child that forks a grandchild; both wait. Returns the grandchild. */
static pid_t spawn_family(pid_t *ret_child)
{
	int p[2];
	pid_t child, grandchild = 0;

	cr_assert_eq(pipe(p), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		grandchild = fork();
		if (grandchild == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		if (write(p[1], &grandchild, sizeof(grandchild)) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	cr_assert_eq(read(p[0], &grandchild, sizeof(grandchild)),
		     sizeof(grandchild));
	close(p[0]);
	close(p[1]);
	*ret_child = child;
	return grandchild;
}

Test(procfs_scan, live_parents_first_leaders_only)
{
	static struct visit_log log;
	pid_t child, grandchild, tid;
	long self_i, child_i, grand_i;
	int n;

	tid = start_idle_thread();
	grandchild = spawn_family(&child);
	n = pc_procfs_scan(NULL, 0, log_visit, &log);
	cr_assert_gt(n, 0);
	cr_assert_eq((size_t)n, log.n);
	self_i = index_of(&log, getpid());
	child_i = index_of(&log, child);
	grand_i = index_of(&log, grandchild);
	cr_assert_geq(self_i, 0);
	cr_assert_gt(child_i, self_i);
	cr_assert_gt(grand_i, child_i);
	cr_assert_eq(index_of(&log, tid), -1);
	cr_assert_eq(log.not_leader, 0);
	kill_child(grandchild);
	kill_child(child);
}

Test(procfs_scan, callback_stops_the_scan)
{
	static struct visit_log log = { .stop_after = 3 };

	cr_assert_eq(pc_procfs_scan(NULL, 0, log_visit, &log), -42);
	cr_assert_eq(log.n, 3);
}

Test(procfs_scan, missing_prefix)
{
	static struct visit_log log;

	cr_assert_eq(pc_procfs_scan("/nonexistent/proc", 0, log_visit, &log),
		     -ENOENT);
	cr_assert_eq(pc_procfs_scan(NULL, 0, NULL, NULL), -EINVAL);
	cr_assert_eq(log.n, 0);
}

struct list_log {
	int calls, stop_after;
	uint32_t want_pid;
	uint64_t want_start;
	bool found;
};

static int log_listed(uint32_t pid, uint64_t start_ns, void *userdata)
{
	struct list_log *l = userdata;

	l->calls++;
	if (pid == l->want_pid) {
		l->found = true;
		cr_expect_eq(start_ns, l->want_start, "start %llu, want %llu",
			     (unsigned long long)start_ns,
			     (unsigned long long)l->want_start);
	}
	return l->stop_after && l->calls == l->stop_after ? -42 : 0;
}

Test(procfs_scan, list_gives_pids_and_start_times)
{
	struct list_log log = { .want_pid = (uint32_t)getpid() };
	struct list_log stop = { .stop_after = 2 };

	cr_assert_eq(pc_procfs_start_time(NULL, log.want_pid, &log.want_start), 0);
	cr_assert_eq(pc_procfs_list(NULL, log_listed, &log), 0);
	cr_expect(log.found, "the test process was not listed");
	cr_expect_gt(log.calls, 1);
	cr_expect_eq(pc_procfs_list(NULL, log_listed, &stop), -42);
	cr_expect_eq(stop.calls, 2);
	cr_expect_eq(pc_procfs_list("/nonexistent/proc", log_listed, &log),
		     -ENOENT);
	cr_expect_eq(pc_procfs_list(NULL, NULL, NULL), -EINVAL);
}

Test(procfs_scan, empty_prefix)
{
	static struct visit_log log;
	char *top = make_tmpdir();

	cr_assert_eq(pc_procfs_scan(top, 0, log_visit, &log), 0);
	cr_assert_eq(log.n, 0);
	rm_rf(top);
	free(top);
}

/* -------------------------------------------------------------------- */
/* A hand-made tree under a prefix                                       */
/* -------------------------------------------------------------------- */

struct fake_proc {
	uint32_t pid, ppid, flags;
	const char *comm;
	char state;
	uint64_t start, arg_start, arg_end;
};

static void fake_stat_line(const struct fake_proc *p, char *buf, size_t len)
{
	/* 52 fields as a 6.x kernel prints them; only some matter. */
	fmt_path(buf, len,
		 "%u (%s) %c %u %u %u 0 -1 %u 10 0 0 0 3 4 0 0 20 0 1 0 "
		 "%llu 1000 100 18446744073709551615 4096 8192 140000 0 0 0 "
		 "0 0 0 0 0 0 17 1 0 0 0 0 0 9000 9100 9200 %llu %llu "
		 "%llu %llu 0\n",
		 p->pid, p->comm, p->state, p->ppid, p->pid, p->pid, p->flags,
		 (unsigned long long)p->start,
		 (unsigned long long)p->arg_start,
		 (unsigned long long)p->arg_end,
		 (unsigned long long)p->arg_end,
		 (unsigned long long)p->arg_end + 100);
}

static void fake_dir(const char *root, uint32_t pid, char *dir, size_t len)
{
	fmt_path(dir, len, "%s/proc/%u", root, pid);
	mkdir(dir, 0755);
}

static void fake_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];

	fmt_path(path, sizeof(path), "%s/%s", dir, name);
	write_str(path, text);
}

static void fake_process(const char *root, const struct fake_proc *p,
			 uint32_t tgid)
{
	char dir[PATH_MAX], line[1024];

	fake_dir(root, p->pid, dir, sizeof(dir));
	fake_stat_line(p, line, sizeof(line));
	fake_file(dir, "stat", line);
	fmt_path(line, sizeof(line),
		 "Name:\t%s\nTgid:\t%u\nPid:\t%u\nPPid:\t%u\n"
		 "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
		 p->comm, tgid, p->pid, p->ppid);
	fake_file(dir, "status", line);
}

static void fake_link(const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX];

	fmt_path(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path,
		     strerror(errno));
}

/* The rich process: every file a real one has, with awkward values. */
static const struct fake_proc rich = {
	.pid = 4242, .ppid = 1, .flags = 0x400100, .state = 'S',
	.comm = "a) (b c) Z 9", .start = 1234, .arg_start = 1000,
	.arg_end = 1011,
};

static const char rich_args[] = "prog\0-x\0a b\0";

static void build_rich(const char *root)
{
	char dir[PATH_MAX], path[PATH_MAX];

	fake_process(root, &rich, rich.pid);
	fake_dir(root, rich.pid, dir, sizeof(dir));
	fake_file(dir, "status",
		  "Name:\ta) (b c) Z 9\nUmask:\t0022\nState:\tS (sleeping)\n"
		  "Tgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t1\n"
		  "Uid:\t1000\t1001\t1002\t1003\n"
		  "Gid:\t2000\t2001\t2002\t2003\n"
		  "NStgid:\t4242\t17\nNSpid:\t4242\t17\n"
		  "CapInh:\t0000000000000001\nCapPrm:\t00000000a80425fb\n"
		  "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n");
	fake_file(dir, "loginuid", "1000");
	fmt_path(path, sizeof(path), "%s/cmdline", dir);
	write_file(path, rich_args, sizeof(rich_args) - 1);
	/* v2 names the container; a v1 hierarchy disagreeing loses. */
	fake_file(dir, "cgroup",
		  "1:name=systemd:/docker/" ID64B "\n"
		  "0::/system.slice/docker-" ID64 ".scope\n");

	fmt_path(path, sizeof(path), "%s/bin", root);
	mkdir(path, 0755);
	fmt_path(path, sizeof(path), "%s/bin/prog (deleted)", root);
	write_str(path, "#!/bin/true\n");
	fake_link(dir, "exe", path);
	fmt_path(path, sizeof(path), "%s/work dir", root);
	mkdir(path, 0755);
	fake_link(dir, "cwd", path);
	fmt_path(path, sizeof(path), "%s/ns", dir);
	mkdir(path, 0755);
	fake_link(dir, "ns/uts", "uts:[4026531838]");
	fake_link(dir, "ns/pid", "pid:[4026531836]");
	fake_link(dir, "ns/net", "net:[99]");
	fake_link(dir, "ns/time", "time:[bogus]");
}

/* init, kthreadd, a thread's entry and a family started in one tick. */
static void build_tree(const char *root)
{
	static const struct fake_proc init = { .pid = 1, .comm = "init",
		.state = 'S', .flags = 0x400100, .start = 1,
		.arg_start = 10, .arg_end = 20 };
	static const struct fake_proc kthreadd = { .pid = 2, .comm = "kthreadd",
		.state = 'S', .flags = PF_KTHREAD | PF_FORKNOEXEC,
		.start = 1 };
	static const struct fake_proc early = { .pid = 7000, .ppid = 1,
		.comm = "early", .state = 'S', .start = 100 };
	static const struct fake_proc tick_parent = { .pid = 60, .ppid = 1,
		.comm = "p", .state = 'S', .start = 900 };
	static const struct fake_proc tick_child = { .pid = 50, .ppid = 60,
		.comm = "c", .state = 'S', .start = 900 };
	/* Claims a parent that started after it: a reused parent pid. */
	static const struct fake_proc orphan = { .pid = 80, .ppid = 7000,
		.comm = "o", .state = 'S', .start = 50 };
	static const struct fake_proc thread = { .pid = 4300, .ppid = 1,
		.comm = "thr", .state = 'S', .start = 1300 };
	char path[PATH_MAX], dir[PATH_MAX];

	fmt_path(path, sizeof(path), "%s/proc", root);
	cr_assert_eq(mkdir(path, 0755), 0);
	fake_process(root, &init, 1);
	fake_process(root, &kthreadd, 2);
	fake_dir(root, 2, dir, sizeof(dir));
	fake_link(dir, "cwd", "/");
	fake_file(dir, "cmdline", "");
	fake_process(root, &early, early.pid);
	fake_dir(root, early.pid, dir, sizeof(dir));
	fake_file(dir, "cgroup",
		  "2:cpu,cpuacct:/\n1:memory:/docker/" ID64B "\n");
	fake_process(root, &orphan, orphan.pid);
	fake_process(root, &tick_parent, tick_parent.pid);
	fake_process(root, &tick_child, tick_child.pid);
	fake_process(root, &thread, rich.pid);
	build_rich(root);
	fmt_path(path, sizeof(path), "%s/proc/self", root);
	cr_assert_eq(symlink("4242", path), 0);
	fmt_path(path, sizeof(path), "%s/proc/sys", root);
	cr_assert_eq(mkdir(path, 0755), 0);
}

static uint64_t ticks_ns(uint64_t ticks)
{
	return ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

static char *fake_root;
static char fake_prefix[PATH_MAX];

static void fake_setup(void)
{
	fake_root = make_tmpdir();
	fmt_path(fake_prefix, sizeof(fake_prefix), "%s/proc", fake_root);
	build_tree(fake_root);
}

static void fake_teardown(void)
{
	rm_rf(fake_root);
	free(fake_root);
}

TestSuite(procfs_fake, .init = fake_setup, .fini = fake_teardown);

Test(procfs_fake, parses_every_file)
{
	char exe[PATH_MAX], cwd[PATH_MAX];
	struct pc_proc_info info;
	struct stat sb;

	fmt_path(exe, sizeof(exe), "%s/bin/prog (deleted)", fake_root);
	cr_assert_eq(stat(exe, &sb), 0);
	fmt_path(exe, sizeof(exe), "%s/bin/prog", fake_root);
	fmt_path(cwd, sizeof(cwd), "%s/work dir", fake_root);

	cr_assert_eq(pc_procfs_read(fake_prefix, 4242, 0, &info), 0);
	cr_assert_str_eq(info.comm, "a) (b c) Z 9");
	cr_assert_eq(info.ev.pid, 4242);
	cr_assert_eq(info.ev.tid, 4242);
	cr_assert_eq(info.ev.nspid, 17);
	cr_assert_eq(info.ppid, 1);
	cr_assert_eq(info.ev.parent.pid, 1);
	cr_assert_eq(info.ev.parent.ktime, ticks_ns(1));
	cr_assert_eq(info.ev.ktime, ticks_ns(1234));
	cr_assert_eq(info.ev.start_time, ticks_ns(1234));
	cr_assert_eq(info.ev.flags,
		     PROCCACHE_F_PROCFS | PROCCACHE_F_EXECVE |
		     PROCCACHE_F_UNLINKED);

	cr_assert_eq(info.ev.creds.uid, 1000);
	cr_assert_eq(info.ev.creds.euid, 1001);
	cr_assert_eq(info.ev.creds.suid, 1002);
	cr_assert_eq(info.ev.creds.fsuid, 1003);
	cr_assert_eq(info.ev.creds.gid, 2000);
	cr_assert_eq(info.ev.creds.egid, 2001);
	cr_assert_eq(info.ev.creds.sgid, 2002);
	cr_assert_eq(info.ev.creds.fsgid, 2003);
	cr_assert_eq(info.ev.creds.auid, 1000);
	cr_assert_eq(info.ev.caps.inheritable, 1);
	cr_assert_eq(info.ev.caps.permitted, 0xa80425fbull);
	cr_assert_eq(info.ev.caps.effective, 0x1ffffffffffull);

	cr_assert_eq(info.args_len, sizeof(rich_args) - 1);
	cr_assert_eq(memcmp(info.args, rich_args, info.args_len), 0);
	cr_assert_str_eq(info.binary, exe);
	cr_assert_eq(info.ev.binary_inode, (uint64_t)sb.st_ino);
	cr_assert_eq(info.ev.binary_nlink, 1);
	cr_assert_str_eq(info.cwd, cwd);

	cr_assert_eq(info.ev.ns.uts, 4026531838u);
	cr_assert_eq(info.ev.ns.pid, 4026531836u);
	cr_assert_eq(info.ev.ns.net, 99);
	cr_assert_eq(info.ev.ns.time, 0);
	cr_assert_eq(info.ev.ns.mnt, 0);

	cr_assert_str_eq(info.container_id, ID64);
	/* No cgroup2 mount beside the fake /proc. */
	cr_assert_eq(info.ev.cgroup_id, 0);

	cr_assert_eq(info.ev.binary, info.binary);
	cr_assert_eq(info.ev.cwd, info.cwd);
	cr_assert_eq(info.ev.container_id, info.container_id);
	pc_proc_info_release(&info);
}

Test(procfs_fake, kernel_thread_and_unreadable_fields)
{
	struct pc_proc_info info;

	cr_assert_eq(pc_procfs_read(fake_prefix, 2, 0, &info), 0);
	cr_assert_str_eq(info.binary, "");
	cr_assert_str_eq(info.cwd, "/");
	cr_assert_eq(info.args_len, 0);
	cr_assert_eq(info.ev.flags, PROCCACHE_F_PROCFS);
	cr_assert_eq(info.ppid, 0);
	cr_assert_eq(info.ev.parent.ktime, 0);
	cr_assert_eq(info.ev.creds.auid, (uint32_t)-1);
	pc_proc_info_release(&info);

	/* A user process without exe or cwd lost them: it is exiting. */
	cr_assert_eq(pc_procfs_read(fake_prefix, 7000, 0, &info), 0);
	cr_assert_str_eq(info.binary, "");
	cr_assert_str_eq(info.cwd, "");
	cr_assert(info.ev.flags & PROCCACHE_F_VANISHED);
	cr_assert(info.ev.flags & PROCCACHE_F_CWD_ERROR);
	pc_proc_info_release(&info);

	/* No cgroup file at all. */
	cr_assert_eq(pc_procfs_read(fake_prefix, 60, 0, &info), 0);
	cr_assert_str_eq(info.container_id, "");
	cr_assert_eq(info.ev.cgroup_id, 0);
	pc_proc_info_release(&info);
}

/* exe is read once, before the rest: a process that began to exit during
 * the read says so in its last stat (PF_EXITING), and is taken as
 * vanished, its binary left empty, as a failed exe would leave it. */
Test(procfs_fake, exiting_by_the_last_stat_is_vanished)
{
	const struct fake_proc p = { .pid = 7100, .ppid = 1, .comm = "dying",
		.state = 'R', .flags = 0x4, .start = 4000, .arg_start = 100,
		.arg_end = 110 };
	struct pc_proc_info info;
	char dir[PATH_MAX];

	fake_process(fake_root, &p, p.pid);
	fake_dir(fake_root, p.pid, dir, sizeof(dir));
	fake_link(dir, "exe", "/bin/true");
	fake_link(dir, "cwd", "/");
	fake_file(dir, "cmdline", "dying");
	cr_assert_eq(pc_procfs_read(fake_prefix, p.pid, 0, &info), 0);
	cr_expect(info.ev.flags & PROCCACHE_F_VANISHED);
	cr_expect_str_eq(info.binary, "");
	pc_proc_info_release(&info);

	/* the same process not exiting keeps its binary */
	fake_file(dir, "stat", "");
	{
		struct fake_proc live = p;
		char line[1024];

		live.flags = 0;
		fake_stat_line(&live, line, sizeof(line));
		fake_file(dir, "stat", line);
	}
	cr_assert_eq(pc_procfs_read(fake_prefix, p.pid, 0, &info), 0);
	cr_expect_not(info.ev.flags & PROCCACHE_F_VANISHED);
	cr_expect_str_eq(info.binary, "/bin/true");
	pc_proc_info_release(&info);
}

Test(procfs_fake, v1_only_cgroup_names_the_container)
{
	struct pc_proc_info info;

	cr_assert_eq(pc_procfs_read(fake_prefix, 7000, 0, &info), 0);
	cr_assert_str_eq(info.container_id, ID64B);
	cr_assert_eq(info.ev.cgroup_id, 0);
	pc_proc_info_release(&info);
}

Test(procfs_fake, implausible_parent_start_is_dropped)
{
	struct pc_proc_info info;

	cr_assert_eq(pc_procfs_read(fake_prefix, 80, 0, &info), 0);
	cr_assert_eq(info.ppid, 7000);
	cr_assert_eq(info.ev.parent.pid, 7000);
	cr_assert_eq(info.ev.parent.ktime, 0);
	pc_proc_info_release(&info);

	cr_assert_eq(pc_procfs_read(fake_prefix, 50, 0, &info), 0);
	cr_assert_eq(info.ev.parent.ktime, ticks_ns(900));
	pc_proc_info_release(&info);
}

Test(procfs_fake, thread_entry_and_missing_pid)
{
	struct pc_proc_info info;
	uint64_t ns;

	cr_assert_eq(pc_procfs_read(fake_prefix, 4300, 0, &info), -ESRCH);
	cr_assert_eq(pc_procfs_read(fake_prefix, 12345, 0, &info), -ENOENT);
	cr_assert_eq(pc_procfs_start_time(fake_prefix, 12345, &ns), -ENOENT);
	cr_assert_eq(pc_procfs_start_time(fake_prefix, 4242, &ns), 0);
	cr_assert_eq(ns, ticks_ns(1234));
}

/* Found by tests/test_procfs_hostile.c: an id past 32 bits was cut to
 * one (4294967296 read as uid 0). */
Test(procfs_fake, ids_past_32_bits_are_not_cut)
{
	const struct fake_proc p = { .pid = 33, .ppid = 1, .state = 'S',
				     .comm = "ids", .start = 7,
				     .arg_start = 1000, .arg_end = 1004 };
	char dir[PATH_MAX], line[1024];
	struct pc_proc_info info;

	fake_process(fake_root, &p, 33);
	fake_dir(fake_root, 33, dir, sizeof(dir));
	fake_file(dir, "status", "Tgid:\t33\nUid:\t4294967296\t7\t7\t7\n"
				 "Gid:\t5\t5\t5\t5\n");
	cr_assert_eq(pc_procfs_read(fake_prefix, 33, 0, &info), 0);
	cr_assert_eq(info.ev.creds.uid, 0);
	cr_assert_eq(info.ev.creds.euid, 0);
	cr_assert_eq(info.ev.creds.gid, 5);
	pc_proc_info_release(&info);
	fmt_path(line, sizeof(line), "Tgid:\t33\nUid:\t%u\t7\t7\t7\n",
		 UINT32_MAX);
	fake_file(dir, "status", line);
	cr_assert_eq(pc_procfs_read(fake_prefix, 33, 0, &info), 0);
	cr_assert_eq(info.ev.creds.uid, UINT32_MAX);
	cr_assert_eq(info.ev.creds.euid, 7);
	pc_proc_info_release(&info);
}

Test(procfs_fake, malformed_stat)
{
	char dir[PATH_MAX];
	struct pc_proc_info info;
	uint64_t ns;

	fake_dir(fake_root, 31, dir, sizeof(dir));
	fake_file(dir, "stat", "31 (short) S 1 2 3\n");
	cr_assert_eq(pc_procfs_read(fake_prefix, 31, 0, &info), -EINVAL);
	fake_file(dir, "stat", "32 (other) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
			       "20 0 1 0 5 0\n");
	cr_assert_eq(pc_procfs_start_time(fake_prefix, 31, &ns), -EINVAL);
	fake_file(dir, "stat", "31 no-parens S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
			       "20 0 1 0 5 0\n");
	cr_assert_eq(pc_procfs_start_time(fake_prefix, 31, &ns), -EINVAL);
	fake_file(dir, "stat", "31 (ok) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
			       "20 0 1 0 x5 0\n");
	cr_assert_eq(pc_procfs_start_time(fake_prefix, 31, &ns), -EINVAL);
	fake_file(dir, "stat", "31 (ok) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
			       "20 0 1 0 5\n");
	cr_assert_eq(pc_procfs_start_time(fake_prefix, 31, &ns), 0);
	cr_assert_eq(ns, ticks_ns(5));
}

Test(procfs_fake, scan_order)
{
	static const uint32_t expect[] = { 1, 2, 80, 7000, 60, 50, 4242 };
	static struct visit_log log;
	size_t i;

	cr_assert_eq(pc_procfs_scan(fake_prefix, 0, log_visit, &log), 7);
	cr_assert_eq(log.n, 7);
	for (i = 0; i < log.n; i++)
		cr_assert_eq(log.pids[i], expect[i], "position %zu: %u", i,
			     log.pids[i]);
}

/* -------------------------------------------------------------------- */
/* Races staged with a FIFO as cmdline                                   */
/* -------------------------------------------------------------------- */

/*
 * Each round the reader opens cmdline, the stager swaps in the next stat
 * (as an exec or a pid reuse would change it), then serves the round's
 * args. The reader must notice and read again, or give up. Every round
 * gets a fresh FIFO, so that a round's writer never meets the previous
 * round's reader.
 */
struct stage {
	char dir[PATH_MAX];   /* the process whose cmdline is the FIFO */
	char swap[PATH_MAX];  /* the process whose stat changes; "" = dir */
	const char *initial; /* stat before round 0; NULL = a settled one */
	const char *stats[8]; /* stat after round i; NULL = unchanged */
	const char *args[8];
	int rounds;
	int served;
};

static int open_fifo_writer(const char *path)
{
	int fd, i;

	for (i = 0; i < 10000; i++) {
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 || errno != ENXIO)
			return fd;
		usleep(1000);
	}
	return -1;
}

static void swap_stat(const char *dir, const char *text)
{
	char tmp[PATH_MAX], path[PATH_MAX];

	fmt_path(tmp, sizeof(tmp), "%s/stat.new", dir);
	fmt_path(path, sizeof(path), "%s/stat", dir);
	write_str(tmp, text);
	rename(tmp, path);
}

static void *stager(void *arg)
{
	struct stage *st = arg;
	char path[PATH_MAX];
	int i, fd;

	fmt_path(path, sizeof(path), "%s/cmdline", st->dir);
	for (i = 0; i < st->rounds; i++) {
		fd = open_fifo_writer(path);
		if (fd < 0)
			break;
		if (unlink(path) || mkfifo(path, 0644))
			break;
		if (st->stats[i])
			swap_stat(st->swap[0] ? st->swap : st->dir,
				  st->stats[i]);
		if (write(fd, st->args[i], strlen(st->args[i]) + 1) < 0)
			break;
		close(fd);
		st->served++;
	}
	return NULL;
}

static void stat_text(const char *comm, uint64_t start, uint64_t arg_start,
		      char *buf, size_t len)
{
	const struct fake_proc p = { .pid = 5000, .ppid = 1, .comm = comm,
		.state = 'S', .start = start, .arg_start = arg_start,
		.arg_end = arg_start + 10 };

	fake_stat_line(&p, buf, len);
}

static int staged_read(struct stage *st, struct pc_proc_info *info)
{
	char path[PATH_MAX], first[1024];
	pthread_t t;
	int err;

	fake_dir(fake_root, 5000, st->dir, sizeof(st->dir));
	stat_text("old", 4000, 100, first, sizeof(first));
	fake_file(st->dir, "stat", st->initial ? st->initial : first);
	fake_file(st->dir, "status", "Tgid:\t5000\n");
	fmt_path(path, sizeof(path), "%s/cmdline", st->dir);
	cr_assert_eq(mkfifo(path, 0644), 0);
	cr_assert_eq(pthread_create(&t, NULL, stager, st), 0);
	err = pc_procfs_read(fake_prefix, 5000, 0, info);
	pthread_join(t, NULL);
	return err;
}

Test(procfs_race, exec_mid_read_is_read_again, .init = fake_setup,
     .fini = fake_teardown, .timeout = 20)
{
	static struct stage st = { .rounds = 2, .args = { "old", "new" } };
	struct pc_proc_info info;
	char changed[1024];

	stat_text("new", 4000, 300, changed, sizeof(changed));
	st.stats[0] = changed;
	cr_assert_eq(staged_read(&st, &info), 0);
	cr_assert_eq(st.served, 2);
	cr_assert_str_eq(info.comm, "new");
	cr_assert_eq(info.args_len, 4);
	cr_assert_str_eq(info.args, "new");
	cr_assert_eq(info.ev.ktime, ticks_ns(4000));
	pc_proc_info_release(&info);
}

Test(procfs_race, args_layout_change_is_an_exec, .init = fake_setup,
     .fini = fake_teardown, .timeout = 20)
{
	static struct stage st = { .rounds = 2, .args = { "old", "new" } };
	struct pc_proc_info info;
	char changed[1024];

	/* Same comm, same binary: only the new stack layout tells. */
	stat_text("old", 4000, 200, changed, sizeof(changed));
	st.stats[0] = changed;
	cr_assert_eq(staged_read(&st, &info), 0);
	cr_assert_eq(st.served, 2);
	cr_assert_str_eq(info.args, "new");
	pc_proc_info_release(&info);
}

Test(procfs_race, reused_pid_is_gone, .init = fake_setup,
     .fini = fake_teardown, .timeout = 20)
{
	static struct stage st = { .rounds = 1, .args = { "stranger" } };
	struct pc_proc_info info = { .ppid = 77 };
	char reused[1024];

	stat_text("old", 4100, 100, reused, sizeof(reused));
	st.stats[0] = reused;
	cr_assert_eq(staged_read(&st, &info), -ENOENT);
	cr_assert_eq(st.served, 1);
	cr_assert_eq(info.ppid, 77);
}

Test(procfs_race, endless_exec_gives_up, .init = fake_setup,
     .fini = fake_teardown, .timeout = 20)
{
	static struct stage st = { .rounds = PC_PROCFS_READ_RETRIES + 1 };
	static char texts[8][1024];
	struct pc_proc_info info;
	int i;

	cr_assert_leq(st.rounds, 8);
	for (i = 0; i < st.rounds; i++) {
		stat_text(i % 2 ? "old" : "new", 4000, 1000 + 100 * (uint64_t)i,
			  texts[i], sizeof(texts[i]));
		st.stats[i] = texts[i];
		st.args[i] = "args";
	}
	cr_assert_eq(staged_read(&st, &info), -EAGAIN);
	cr_assert_eq(st.served, st.rounds);
}

Test(procfs_race, exec_in_progress_is_read_again, .init = fake_setup,
     .fini = fake_teardown, .timeout = 20)
{
	static struct stage st = { .rounds = 3, .args = { "", "", "done" } };
	struct pc_proc_info info;
	char path[PATH_MAX], midway[1024], settled[1024];
	const struct fake_proc p = { .pid = 5000, .ppid = 1, .comm = "old",
		.state = 'S', .start = 4000 };

	/* New mm, stack not laid out yet: arg_end 0 with exe readable, the
	 * same before and after the first read; then the layout appears. */
	fake_dir(fake_root, 5000, path, sizeof(path));
	fmt_path(path, sizeof(path), "%s/proc/5000/exe", fake_root);
	cr_assert_eq(symlink("/proc/self/exe", path), 0);
	fake_stat_line(&p, midway, sizeof(midway));
	stat_text("old", 4000, 100, settled, sizeof(settled));
	st.initial = midway;
	st.stats[1] = settled;
	cr_assert_eq(staged_read(&st, &info), 0);
	cr_assert_eq(st.served, 3);
	cr_assert_str_eq(info.args, "done");
	pc_proc_info_release(&info);
}


Test(procfs_race, scan_puts_reused_pids_last, .init = fake_setup,
     .fini = fake_teardown, .timeout = 20)
{
	static const uint32_t expect[] = { 1, 2, 80, 7000, 4242, 50, 60, 61 };
	static struct stage st = { .rounds = 1, .args = { "early" } };
	static const struct fake_proc newborn = { .pid = 61, .ppid = 60,
		.comm = "n", .state = 'S', .start = 2000 };
	static const struct fake_proc reused = { .pid = 60, .ppid = 1,
		.comm = "r", .state = 'S', .start = 2000 };
	static struct visit_log log;
	char path[PATH_MAX], text[1024];
	pthread_t t;
	size_t i;

	/* While the scan reads pid 7000, pid 60 is reused by a process
	 * that has a child, 61, listed already. */
	fake_process(fake_root, &newborn, newborn.pid);
	fake_dir(fake_root, 7000, st.dir, sizeof(st.dir));
	fake_dir(fake_root, 60, st.swap, sizeof(st.swap));
	fake_stat_line(&reused, text, sizeof(text));
	st.stats[0] = text;
	fmt_path(path, sizeof(path), "%s/cmdline", st.dir);
	cr_assert_eq(mkfifo(path, 0644), 0);
	cr_assert_eq(pthread_create(&t, NULL, stager, &st), 0);
	cr_assert_eq(pc_procfs_scan(fake_prefix, 0, log_visit, &log), 8);
	pthread_join(t, NULL);
	cr_assert_eq(st.served, 1);
	cr_assert_eq(log.n, 8);
	for (i = 0; i < log.n; i++)
		cr_assert_eq(log.pids[i], expect[i], "position %zu: %u", i,
			     log.pids[i]);
}
