/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A /proc that lies. The one-process reader, the scan, the pid listing,
 * reconciliation and a sensor started with proccache_sensor_opts.proc_prefix
 * run against a fake proc root holding truncated and over-long files,
 * binary garbage, fields out of range, comms with spaces, parentheses and
 * newlines, missing files, symlink loops, a pid directory that points at
 * another, a process vanishing mid-read and a hundred thousand entries.
 * Nothing crashes; nothing is attributed to the wrong process (each fake
 * process has its own binary, /fake/bin/<pid>); every rejection is counted
 * (pc_procfs_rejected(), proccache_sensor_stats.proc_rejected) and the log
 * says what was wrong.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs.h"
#include "reconcile.h"

/* Fake pids above any real one here, so a sensor's real events cannot
 * touch them (pid_max is at most 4194304). */
#define BASE 4100000u
#define GOOD BASE       /* a well-formed process */
#define VICTIM (BASE + 1) /* the process each lie is told about */
#define PARENT 1u

static char root[PATH_MAX], prefix[PATH_MAX];

/* ---- the log ------------------------------------------------------------ */

static char log_text[65536];
static size_t log_len;

static void capture_log(enum proccache_log_level level, const char *msg,
			void *userdata)
{
	int n = snprintf(log_text + log_len, sizeof(log_text) - log_len,
			 "%d %s\n", (int)level, msg);

	if (n > 0 && log_len + (size_t)n < sizeof(log_text))
		log_len += (size_t)n;
}

static bool logged(const char *what)
{
	return strstr(log_text, what) != NULL;
}

/* ---- the fake root --------------------------------------------------------- */

static void fmt(char *buf, size_t len, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < len);
}

static void put(uint32_t pid, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	fmt(path, sizeof(path), "%s/%u/%s", prefix, pid, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_str(uint32_t pid, const char *name, const char *text)
{
	put(pid, name, text, strlen(text));
}

static void link_at(uint32_t pid, const char *name, const char *target)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%u/%s", prefix, pid, name);
	unlink(path);
	cr_assert_eq(symlink(target, path), 0, "%s: %s", path, strerror(errno));
}

static void drop(uint32_t pid, const char *name)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%u/%s", prefix, pid, name);
	cr_assert_eq(unlink(path), 0, "%s: %s", path, strerror(errno));
}

/* A stat line as the kernel writes it: 52 fields, these set. */
static void stat_line(char *buf, size_t len, uint32_t pid, const char *comm,
		      uint32_t ppid, uint64_t start)
{
	fmt(buf, len,
	    "%u (%s) S %u %u %u 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 "
	    "%llu 8589312 1280 18446744073709551615 94625042345984 "
	    "94625043296173 140731889612976 0 0 0 65536 3686404 1266761467 "
	    "1 0 0 17 1 0 0 0 0 0 94625043541904 94625043590116 "
	    "94625061797888 140731889617793 %llu 140731889617798 "
	    "140731889618926 0\n",
	    pid, comm, ppid, pid, pid, (unsigned long long)start,
	    (unsigned long long)(140731889617798ull + pid % 1000));
}

/* A whole process directory, binary /fake/bin/<pid>, args "<pid>\0-x\0". */
static void add_process(uint32_t pid, uint32_t ppid, uint64_t start)
{
	char path[PATH_MAX], text[1024], comm[32];
	size_t n;

	fmt(path, sizeof(path), "%s/%u", prefix, pid);
	cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	fmt(path, sizeof(path), "%s/%u/ns", prefix, pid);
	cr_assert_eq(mkdir(path, 0755), 0);
	fmt(comm, sizeof(comm), "p%u", pid);
	stat_line(text, sizeof(text), pid, comm, ppid, start);
	put_str(pid, "stat", text);
	fmt(text, sizeof(text),
	    "Name:\t%s\nTgid:\t%u\nPid:\t%u\nPPid:\t%u\n"
	    "Uid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n"
	    "NSpid:\t%u\nCapEff:\t0000000000000000\n",
	    comm, pid, pid, ppid, pid);
	put_str(pid, "status", text);
	n = (size_t)snprintf(text, sizeof(text), "%u", pid) + 1;
	memcpy(text + n, "-x", 3);
	put(pid, "cmdline", text, n + 3);
	put_str(pid, "loginuid", "1000");
	put_str(pid, "cgroup", "0::/user.slice\n");
	fmt(path, sizeof(path), "/fake/bin/%u", pid);
	link_at(pid, "exe", path);
	link_at(pid, "cwd", "/");
	link_at(pid, "ns/pid", "pid:[4026531836]");
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static void setup_root(void)
{
	/* tmpfs when there is one: a hundred thousand entries are made */
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	fmt(root, sizeof(root), "%s/pc-hostile-XXXXXX", base);
	cr_assert_not_null(mkdtemp(root));
	fmt(prefix, sizeof(prefix), "%s/proc", root);
	cr_assert_eq(mkdir(prefix, 0755), 0);
	add_process(PARENT, 0, 10);
	add_process(GOOD, PARENT, 1000);
	add_process(VICTIM, PARENT, 2000);
	log_len = 0;
	log_text[0] = '\0';
	proccache_set_log(capture_log, NULL);
}

static void teardown_root(void)
{
	proccache_set_log(NULL, NULL);
	nftw(root, rm_entry, 64, FTW_DEPTH | FTW_PHYS);
}

static uint64_t ticks_ns(uint64_t ticks)
{
	return ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

static void expect_good(const struct pc_proc_info *info, uint32_t pid)
{
	char bin[64];

	fmt(bin, sizeof(bin), "/fake/bin/%u", pid);
	cr_assert_eq(info->ev.pid, pid);
	cr_assert_str_eq(info->binary, bin, "pid %u has %s's binary", pid,
			 info->binary);
}

/* ---- the one-process reader: stat lies -------------------------------------- */

/* No pointers: Criterion hands each row to a test process of its own. */
struct stat_lie {
	char name[32];
	char text[160]; /* of VICTIM's directory */
	size_t len;
	char log[32];   /* what the log says */
};

#define V "4100001 "
#define LIE(n, t, l) { n, t, sizeof(t) - 1, l }

static struct stat_lie stat_lies[] = {
	LIE("empty", "", "unparsable"),
	LIE("truncated", V "(sh) S 1 4100001", "unparsable"),
	LIE("no_comm", V "sh S 1", "unparsable"),
	LIE("unclosed_comm", V "(sh S 1 1 1 0 -1 4194560 100 0 0 0 1 1 0 0 20 "
	    "0 1 0 2000 1 1 1", "unparsable"),
	LIE("pid_out_of_range", "99999999999 (sh) S 1 1 1 0 -1 4194560 100 0 "
	    "0 0 1 1 0 0 20 0 1 0 2000 1 1 1", "unparsable"),
	LIE("ppid_out_of_range", V "(sh) S 4294967296 1 1 0 -1 4194560 100 0 "
	    "0 0 1 1 0 0 20 0 1 0 2000 1 1 1", "unparsable"),
	LIE("ppid_negative", V "(sh) S -1 1 1 0 -1 4194560 100 0 0 0 1 1 0 0 "
	    "20 0 1 0 2000 1 1 1", "unparsable"),
	LIE("start_overflows", V "(sh) S 1 1 1 0 -1 4194560 100 0 0 0 1 1 0 0 "
	    "20 0 1 0 18446744073709551616 1 1 1", "unparsable"),
	LIE("state_two_letters", V "(sh) SS 1 1 1 0 -1 4194560 100 0 0 0 1 1 "
	    "0 0 20 0 1 0 2000 1 1 1", "unparsable"),
	LIE("another_pid", "4100009 (sh) S 1 1 1 0 -1 4194560 100 0 0 0 1 1 0 "
	    "0 20 0 1 0 2000 1 1 1", "stat is of pid 4100009"),
	LIE("binary_garbage", "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>",
	    "NUL byte"),
	LIE("nul_after_a_good_prefix", V "(sh) S 1 1 1 0 -1 4194560 100 0 0 0 "
	    "1 1 0 0 20 0 1 0 2000 1 1 1\0 (x) Z 9", "NUL byte"),
};

ParameterizedTestParameters(hostile, stat_lie)
{
	return cr_make_param_array(struct stat_lie, stat_lies,
				   sizeof(stat_lies) / sizeof(stat_lies[0]));
}

ParameterizedTest(struct stat_lie *lie, hostile, stat_lie,
		  .init = setup_root, .fini = teardown_root)
{
	struct pc_proc_info info;
	uint64_t before = pc_procfs_rejected(), start;

	put(VICTIM, "stat", lie->text, lie->len);
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), -EINVAL,
		     "%s", lie->name);
	cr_assert_eq(pc_procfs_rejected(), before + 1, "%s: not counted",
		     lie->name);
	cr_assert(logged(lie->log), "%s: log lacks \"%s\":\n%s", lie->name,
		  lie->log, log_text);
	cr_assert_eq(pc_procfs_start_time(prefix, VICTIM, &start), -EINVAL);
	cr_assert_eq(pc_procfs_rejected(), before + 2);
}

/* An over-long stat is cut by the reader: rejected, not parsed half. */
Test(hostile, stat_over_long, .init = setup_root, .fini = teardown_root)
{
	char text[8192];
	struct pc_proc_info info;
	uint64_t before = pc_procfs_rejected();
	size_t n;

	stat_line(text, sizeof(text), VICTIM, "sh", PARENT, 2000);
	n = strlen(text) - 1;
	memset(text + n, '7', sizeof(text) - n - 2);
	text[sizeof(text) - 2] = '\n';
	put(VICTIM, "stat", text, sizeof(text) - 1);
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), -EINVAL);
	cr_assert_eq(pc_procfs_rejected(), before + 1);
	cr_assert(logged("stat longer than"), "%s", log_text);
	cr_assert(logged(prefix), "the log names the path:\n%s", log_text);
}

/* A task names itself what it likes: "a) (b\n c" is one comm, and the
 * fields after it are still the process's own. */
Test(hostile, comm_with_spaces_parentheses_newlines, .init = setup_root,
     .fini = teardown_root)
{
	static const char *const comms[] = { "a) (b\n c", "x) R 999 (", ")",
					     "(", " ", "))((" };
	struct pc_proc_info info;
	char text[1024];
	size_t i;

	for (i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		stat_line(text, sizeof(text), VICTIM, comms[i], PARENT, 2000);
		put_str(VICTIM, "stat", text);
		cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), 0,
			     "comm \"%s\"", comms[i]);
		expect_good(&info, VICTIM);
		cr_assert_str_eq(info.comm, comms[i]);
		cr_assert_eq(info.ppid, PARENT, "comm \"%s\"", comms[i]);
		cr_assert_eq(info.ev.start_time, ticks_ns(2000));
		pc_proc_info_release(&info);
	}
}

/* ---- other files -------------------------------------------------------------- */

Test(hostile, status_lies, .init = setup_root, .fini = teardown_root)
{
	struct pc_proc_info info;
	char big[20000];
	size_t i;

	/* a status of another thread group: not this process */
	put_str(VICTIM, "status", "Tgid:\t4100000\nUid:\t0\t0\t0\t0\n");
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), -ESRCH);
	/* garbage, out-of-range ids, a status longer than the reader reads:
	 * read, the unparsable lines ignored */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7919 % 251 + 1);
	memcpy(big, "Uid:\t99999999999\t1\t1\t1\nGid:\tx\ty\n", 32);
	put(VICTIM, "status", big, sizeof(big));
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), 0);
	expect_good(&info, VICTIM);
	cr_assert_eq(info.ev.creds.uid, 0, "an out-of-range uid was taken");
	pc_proc_info_release(&info);
}

Test(hostile, args_cgroup_loginuid_lies, .init = setup_root,
     .fini = teardown_root)
{
	static char big[300000];
	struct pc_proc_info info;

	memset(big, 'A', sizeof(big));
	put(VICTIM, "cmdline", big, sizeof(big));
	memset(big, '/', 40000);
	put(VICTIM, "cgroup", big, 40000);
	put_str(VICTIM, "loginuid", "-5\n");
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 4096, &info), 0);
	expect_good(&info, VICTIM);
	cr_assert_eq(info.args_len, 4096);
	cr_assert(info.ev.flags & PROCCACHE_F_ARGS_TRUNCATED);
	cr_assert_str_eq(info.container_id, "");
	cr_assert_eq(info.ev.creds.auid, (uint32_t)-1);
	pc_proc_info_release(&info);
}

Test(hostile, missing_files, .init = setup_root, .fini = teardown_root)
{
	static const char *const files[] = { "status", "cmdline", "cgroup",
					      "loginuid", "exe", "cwd",
					      "ns/pid" };
	struct pc_proc_info info;
	uint64_t before = pc_procfs_rejected(), start;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		drop(VICTIM, files[i]);
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), 0);
	cr_assert_eq(info.ev.pid, VICTIM);
	cr_assert_str_eq(info.binary, "");
	cr_assert_eq(info.args_len, 0);
	cr_assert(info.ev.flags & PROCCACHE_F_VANISHED);
	cr_assert(info.ev.flags & PROCCACHE_F_CWD_ERROR);
	pc_proc_info_release(&info);
	/* no stat: the process is gone, which is no lie */
	drop(VICTIM, "stat");
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), -ENOENT);
	cr_assert_eq(pc_procfs_start_time(prefix, VICTIM, &start), -ENOENT);
	cr_assert_eq(pc_procfs_rejected(), before);
}

Test(hostile, symlink_loops, .init = setup_root, .fini = teardown_root)
{
	struct pc_proc_info info;
	char path[PATH_MAX], target[PATH_MAX];
	uint64_t before = pc_procfs_rejected();

	fmt(target, sizeof(target), "%s/%u/exe", prefix, VICTIM);
	link_at(VICTIM, "exe", target);
	link_at(VICTIM, "cwd", "cwd");
	link_at(VICTIM, "ns/pid", "../ns/pid");
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), 0);
	cr_assert_eq(info.ev.pid, VICTIM);
	cr_assert_str_eq(info.binary, target);
	cr_assert_eq(info.ev.binary_inode, 0);
	cr_assert_eq(info.ev.ns.pid, 0);
	pc_proc_info_release(&info);

	/* a pid directory that is a loop: rejected, and said */
	fmt(path, sizeof(path), "%s/%u", prefix, BASE + 7);
	cr_assert_eq(symlink(path, path), 0);
	cr_assert_eq(pc_procfs_read(prefix, BASE + 7, 0, &info), -ELOOP);
	cr_assert_eq(pc_procfs_rejected(), before + 1);
	cr_assert(logged("symbolic links"), "%s", log_text);
}

/* /proc/<a> pointing at /proc/<b> must not make b's process a's. */
Test(hostile, pid_dir_of_another_process, .init = setup_root,
     .fini = teardown_root)
{
	struct pc_proc_info info;
	char path[PATH_MAX], target[32];
	uint64_t before = pc_procfs_rejected();

	fmt(path, sizeof(path), "%s/%u", prefix, BASE + 8);
	fmt(target, sizeof(target), "%u", GOOD);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(pc_procfs_read(prefix, BASE + 8, 0, &info), -EINVAL);
	cr_assert_eq(pc_procfs_rejected(), before + 1);
	cr_assert(logged("stat is of pid 4100000"), "%s", log_text);
}

/* ---- a process vanishing mid-read ----------------------------------------------- */

struct vanish {
	char fifo[PATH_MAX];
	uint32_t pid;
};

/* Serve the status FIFO only after the rest of the process is gone. */
static void *vanish_mid_read(void *arg)
{
	static const char *const files[] = { "stat", "cmdline", "cgroup",
					     "loginuid", "exe", "cwd",
					     "ns/pid" };
	struct vanish *v = arg;
	size_t i;
	int fd = open(v->fifo, O_WRONLY | O_CLOEXEC);

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		drop(v->pid, files[i]);
	if (fd >= 0) {
		dprintf(fd, "Tgid:\t%u\n", v->pid);
		close(fd);
	}
	return NULL;
}

Test(hostile, pid_directory_vanishes_mid_read, .init = setup_root,
     .fini = teardown_root)
{
	struct vanish v = { .pid = VICTIM };
	struct pc_proc_info info;
	uint64_t before = pc_procfs_rejected();
	pthread_t t;

	fmt(v.fifo, sizeof(v.fifo), "%s/%u/status", prefix, VICTIM);
	drop(VICTIM, "status");
	cr_assert_eq(mkfifo(v.fifo, 0600), 0);
	cr_assert_eq(pthread_create(&t, NULL, vanish_mid_read, &v), 0);
	cr_assert_eq(pc_procfs_read(prefix, VICTIM, 0, &info), -ENOENT);
	pthread_join(t, NULL);
	cr_assert_eq(pc_procfs_rejected(), before, "a vanished process is "
		     "no lie");
}

/* ---- scan, listing and reconciliation over a lying root ------------------------- */

/* Well-formed processes beside a few of each kind of lie; returns how
 * many are well formed, *@ret_bad how many lie. */
static int build_mixed(uint32_t first_bad, uint32_t *ret_bad)
{
	char path[PATH_MAX], text[1024];
	uint32_t pid = first_bad;

	add_process(pid, PARENT, 3000);
	put_str(pid++, "stat", "\x01\x02garbage");
	add_process(pid, PARENT, 3001);
	snprintf(text, sizeof(text), "%u (x) S", pid);
	put_str(pid++, "stat", text);
	add_process(pid, PARENT, 3002);
	stat_line(text, sizeof(text), GOOD, "good", PARENT, 1000);
	put_str(pid++, "stat", text);
	add_process(pid, PARENT, 3003);
	put(pid++, "stat", "1 (a)\0 S 0", 11);
	/* a pid directory that is a loop, and one that is GOOD's */
	fmt(path, sizeof(path), "%s/%u", prefix, pid++);
	cr_assert_eq(symlink(path, path), 0);
	fmt(path, sizeof(path), "%s/%u", prefix, pid++);
	fmt(text, sizeof(text), "%u", GOOD);
	cr_assert_eq(symlink(text, path), 0);
	*ret_bad = pid - first_bad;
	/* not a pid at all: ignored, not rejected */
	fmt(path, sizeof(path), "%s/self", prefix);
	cr_assert_eq(symlink("1", path), 0);
	fmt(path, sizeof(path), "%s/0", prefix);
	cr_assert_eq(mkdir(path, 0755), 0);
	/* a child of GOOD, and one whose comm lies about its parent */
	add_process(BASE + 100, GOOD, 5000);
	add_process(BASE + 101, GOOD, 5001);
	stat_line(text, sizeof(text), BASE + 101, "x) S 4100100 (", GOOD,
		  5001);
	put_str(BASE + 101, "stat", text);
	return 5;
}

struct seen_scan {
	uint32_t pids[64];
	int n;
};

static int scan_one(struct pc_proc_info *info, void *userdata)
{
	struct seen_scan *s = userdata;

	cr_assert_lt(s->n, 64);
	expect_good(info, info->ev.pid);
	if (info->ev.pid == BASE + 101)
		cr_assert_eq(info->ppid, GOOD);
	s->pids[s->n++] = info->ev.pid;
	return 0;
}

static int index_of(const struct seen_scan *s, uint32_t pid)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->pids[i] == pid)
			return i;
	return -1;
}

Test(hostile, scan_takes_only_what_is_well_formed, .init = setup_root,
     .fini = teardown_root)
{
	struct seen_scan seen = { 0 };
	uint64_t before = pc_procfs_rejected();
	uint32_t bad;
	int good = build_mixed(BASE + 10, &bad);

	cr_assert_eq(pc_procfs_scan(prefix, 0, scan_one, &seen), good);
	cr_assert_eq(pc_procfs_rejected(), before + bad);
	cr_assert_lt(index_of(&seen, PARENT), index_of(&seen, GOOD));
	cr_assert_lt(index_of(&seen, GOOD), index_of(&seen, BASE + 100));
	cr_assert(logged("rejected: stat unparsable"), "%s", log_text);
	cr_assert(logged("rejected: stat holds a NUL byte"), "%s", log_text);
	cr_assert(logged("rejected: Too many levels of symbolic links"),
		  "%s", log_text);
	cr_assert(logged("rejected: stat is of pid 4100000"), "%s", log_text);
}

Test(hostile, reconcile_adds_only_what_is_well_formed, .init = setup_root,
     .fini = teardown_root)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "hostile");
	struct pc_reconcile_result res;
	struct proccache_process *p;
	struct proccache *pc = proccache__new(&opts);
	uint64_t before = pc_procfs_rejected();
	uint32_t bad, pid;
	int good = build_mixed(BASE + 10, &bad);
	char bin[64];

	cr_assert_not_null(pc);
	cr_assert_eq(pc_reconcile_pass(pc, prefix, 0, PC_RECONCILE_FULL, NULL,
				       NULL, &res), 0);
	cr_assert_eq(res.added, (uint32_t)good);
	cr_assert_geq(pc_procfs_rejected(), before + bad);
	for (pid = BASE + 10; pid < BASE + 10 + bad; pid++) {
		p = proccache__lookup_pid(pc, pid);
		cr_assert_null(p, "pid %u was made up", pid);
	}
	for (pid = GOOD; pid <= VICTIM; pid++) {
		p = proccache__lookup_pid(pc, pid);
		cr_assert_not_null(p);
		fmt(bin, sizeof(bin), "/fake/bin/%u", pid);
		cr_assert_str_eq(proccache_process__binary(p), bin);
		proccache_process__unref(p);
	}
	/* the light pass lists the same processes */
	cr_assert_eq(pc_reconcile_pass(pc, prefix, 0, PC_RECONCILE_LIGHT, NULL,
				       NULL, &res), 0);
	cr_assert_eq(res.added + res.exited + res.execs, 0);
	proccache__free(pc);
}

/* What may change between a full pass's read and its additions: one
 * process became a zombie, one's stat turned to garbage, one's pid went
 * to another process (another start time). */
static int lie_after_read(void *userdata)
{
	int *calls = userdata;
	char text[1024], *state;

	/* the first drain comes before /proc is read, the second after */
	if (++*calls != 2)
		return 0;
	stat_line(text, sizeof(text), BASE + 20, "p", PARENT, 3000);
	state = strstr(text, ") S ");
	cr_assert_not_null(state);
	state[2] = 'Z';
	put_str(BASE + 20, "stat", text);
	put_str(BASE + 21, "stat", "garbage\n");
	stat_line(text, sizeof(text), BASE + 22, "p", PARENT, 9000);
	put_str(BASE + 22, "stat", text);
	return 0;
}

Test(hostile, full_pass_rereads_before_adding, .init = setup_root,
     .fini = teardown_root)
{
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "hostile");
	struct pc_reconcile_result res;
	struct proccache_process *p;
	struct proccache *pc = proccache__new(&opts);
	uint64_t before;
	int calls = 0;

	cr_assert_not_null(pc);
	for (uint32_t pid = BASE + 20; pid <= BASE + 22; pid++)
		add_process(pid, PARENT, 3000);
	before = pc_procfs_rejected();
	cr_assert_eq(pc_reconcile_pass(pc, prefix, 0, PC_RECONCILE_FULL,
				       lie_after_read, &calls, &res), 0);
	cr_assert_eq(calls, 2);
	cr_expect_eq(res.added, 3, "PARENT, GOOD and VICTIM, only: %u", res.added);
	for (uint32_t pid = BASE + 20; pid <= BASE + 22; pid++) {
		p = proccache__lookup_pid(pc, pid);
		cr_expect_null(p, "pid %u was added", pid);
		proccache_process__unref(p);
	}
	cr_expect_eq(pc_procfs_rejected(), before + 1, "the garbage is counted");
	cr_expect(logged("rejected: stat unparsable"), "%s", log_text);
	proccache__free(pc);
}

/* The public option: a sensor seeded from a lying proc_prefix. */
Test(hostile, sensor_proc_prefix, .init = setup_root, .fini = teardown_root,
     .timeout = 60)
{
	PROCCACHE_OPTS(proccache_sensor_opts, sopts,
		       .backend = PROCCACHE_BACKEND_NETLINK,
		       .proc_prefix = prefix);
	struct proccache_sensor_stats st = { .sz = sizeof(st) };
	struct proccache *pc = proccache__new(NULL);
	struct proccache_process *p;
	uint32_t bad;
	int err;

	build_mixed(BASE + 10, &bad);
	err = proccache__sensor_start(pc, &sopts);
	if (err == -EPERM || err == -EOPNOTSUPP) {
		proccache__free(pc);
		cr_skip_test("no proc connector here: %s", strerror(-err));
	}
	cr_assert_eq(err, 0, "%s", strerror(-err));
	cr_assert_eq(proccache__sensor_stats(pc, &st), 0);
	cr_assert_eq(st.scanned, 5);
	cr_assert_eq(st.proc_rejected, bad);
	p = proccache__lookup_pid(pc, BASE + 101);
	cr_assert_not_null(p);
	cr_assert_str_eq(proccache_process__binary(p), "/fake/bin/4100101");
	proccache_process__unref(p);
	cr_assert_null(proccache__lookup_pid(pc, BASE + 10));
	proccache__sensor_stop(pc);
	proccache__free(pc);
}

/* ---- a hundred thousand entries --------------------------------------------------- */

#define MANY 100000u

static int count_listed(uint32_t pid, uint64_t start_ns, void *userdata)
{
	(*(uint32_t *)userdata)++;
	return 0;
}

struct order {
	uint64_t last_start;
	uint32_t n;
};

static int check_order(struct pc_proc_info *info, void *userdata)
{
	struct order *o = userdata;

	cr_assert_geq(info->ev.start_time, o->last_start);
	o->last_start = info->ev.start_time;
	o->n++;
	return 0;
}

Test(hostile, a_hundred_thousand_entries, .init = setup_root,
     .fini = teardown_root, .timeout = 300)
{
	char path[PATH_MAX], text[512];
	struct order o = { 0 };
	uint64_t before;
	uint32_t i, pid, listed = 0;
	int fd;

	/* stat only (the rest missing, as of processes that vanish), one in
	 * a thousand garbage, start times out of pid order */
	for (i = 0; i < MANY; i++) {
		pid = 10 + i;
		fmt(path, sizeof(path), "%s/%u", prefix, pid);
		cr_assert_eq(mkdir(path, 0755), 0);
		if (i % 1000 == 999)
			fmt(text, sizeof(text), "%u (junk", pid);
		else
			stat_line(text, sizeof(text), pid, "w", PARENT,
				  100 + (i * 7919) % MANY);
		fmt(path, sizeof(path), "%s/%u/stat", prefix, pid);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		cr_assert_geq(fd, 0);
		cr_assert_eq(write(fd, text, strlen(text)),
			     (ssize_t)strlen(text));
		close(fd);
	}
	before = pc_procfs_rejected();
	cr_assert_eq(pc_procfs_list(prefix, count_listed, &listed), 0);
	cr_assert_eq(listed, MANY - MANY / 1000 + 3);
	cr_assert_eq(pc_procfs_rejected(), before + MANY / 1000);
	cr_assert_eq(pc_procfs_scan(prefix, 0, check_order, &o),
		     (int)(MANY - MANY / 1000 + 3));
	cr_assert_eq(o.n, MANY - MANY / 1000 + 3);
	cr_assert_eq(pc_procfs_rejected(), before + 2 * (MANY / 1000));
}
