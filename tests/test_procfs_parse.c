// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The /proc text parsers (lib/procfs_parse.c), on text alone: stat lines
 * (one row per case), status, cgroup lines and container ids. No /proc is
 * read; test_procfs.c covers the reads and the scan. Linked with the
 * static library: procfs_parse.h is private.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "procfs.h"
#include "procfs_parse.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* ---- stat ------------------------------------------------------------------- */

#define TAIL22 " S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 4242"

/* Arrays, not pointers: Criterion copies the rows into the process that
 * runs each one. */
struct stat_case {
	char name[48];
	char line[160];
	int ret;
	uint32_t pid, ppid;
	char state;
	uint64_t start;
	char comm[16];
};

#define OK(n, l, p, c)                                                         \
	{ .name = n, .line = l, .ret = 0, .pid = p, .ppid = 1, .state = 'S',   \
	  .start = 4242, .comm = c }
#define BAD(n, l) { .name = n, .line = l, .ret = -EINVAL }

static struct stat_case stat_cases[] = {
	OK("plain", "42 (sh)" TAIL22 "\n", 42, "sh"),
	OK("comm with spaces and parens", "42 (a ) (b)" TAIL22, 42, "a ) (b"),
	OK("comm empty", "42 ()" TAIL22, 42, ""),
	OK("exactly 22 fields", "7 (x)" TAIL22, 7, "x"),
	BAD("21 fields are too few",
	    "7 (x) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0"),
	BAD("no parenthesis", "42 sh" TAIL22),
	BAD("pid not a number", "4x2 (sh)" TAIL22),
	BAD("no blank before the comm", "42(sh)" TAIL22),
	BAD("a field not a number",
	    "42 (sh) S 1x 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 4242"),
	BAD("state of two letters",
	    "42 (sh) SS 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 4242"),
};

ParameterizedTestParameters(stat, lines)
{
	return cr_make_param_array(struct stat_case, stat_cases,
				   sizeof(stat_cases) / sizeof(stat_cases[0]));
}

ParameterizedTest(struct stat_case *c, stat, lines)
{
	struct pc_proc_stat st;

	cr_assert_eq(pc_parse_stat(c->line, &st), c->ret, "%s", c->name);
	if (c->ret)
		return;
	cr_expect_eq(st.pid, c->pid, "%s", c->name);
	cr_expect_eq(st.ppid, c->ppid, "%s", c->name);
	cr_expect_eq(st.state, c->state, "%s", c->name);
	cr_expect_eq(st.starttime, c->start, "%s", c->name);
	cr_expect_str_eq(st.comm, c->comm, "%s", c->name);
	cr_expect_eq(st.nfields, 22, "%s", c->name);
}

Test(stat, the_image_fingerprint_fields)
{
	/* fields 26-28 and 48-51 as a 6.x kernel prints them */
	const char *line =
		"9 (p) R 1 9 9 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 77 1 2 "
		"3 4096 8192 12288 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 20000 "
		"24000 30000 40000 40100 40200 50000 0";
	struct pc_proc_stat st;

	cr_assert_eq(pc_parse_stat(line, &st), 0);
	cr_expect_eq(st.startcode, 4096);
	cr_expect_eq(st.endcode, 8192);
	cr_expect_eq(st.startstack, 12288);
	cr_expect_eq(st.arg_start, 40000);
	cr_expect_eq(st.arg_end, 40100);
	cr_expect_eq(st.env_end, 50000);
	cr_expect_eq(st.nfields, 52);
}

Test(stat, the_context_fields)
{
	/* pgrp 40, session 30, tty_nr 34819 (pts/3) as a shell's stat shows */
	const char *line = "41 (a b) S 30 40 30 34819 41 4194304 1 0 0 0 0 0 "
			   "0 0 20 0 1 0 77 1 2";
	struct pc_proc_stat st;

	cr_assert_eq(pc_parse_stat(line, &st), 0);
	cr_expect_str_eq(st.comm, "a b");
	cr_expect_eq(st.pgrp, 40);
	cr_expect_eq(st.session, 30);
	cr_expect_eq(st.tty_nr, 34819);
}

/* ---- status ------------------------------------------------------------------ */

Test(status, creds_caps_and_the_innermost_nspid)
{
	const char *text = "Name:\tsh\nTgid:\t42\nPid:\t42\n"
			   "Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\n"
			   "NSpid:\t42\t7\t1\n"
			   "CapInh:\t0000000000000001\n"
			   "CapPrm:\t00000000a80425fb\n"
			   "CapEff:\t000001ffffffffff\n";
	struct proccache_event ev;

	memset(&ev, 0, sizeof(ev));
	cr_assert_eq(pc_parse_status(text, 42, &ev), 0);
	cr_expect_eq(ev.creds.uid, 1);
	cr_expect_eq(ev.creds.euid, 2);
	cr_expect_eq(ev.creds.suid, 3);
	cr_expect_eq(ev.creds.fsuid, 4);
	cr_expect_eq(ev.creds.gid, 5);
	cr_expect_eq(ev.creds.egid, 6);
	cr_expect_eq(ev.creds.sgid, 7);
	cr_expect_eq(ev.creds.fsgid, 8);
	cr_expect_eq(ev.nspid, 1);
	cr_expect_eq(ev.caps.inheritable, 1);
	cr_expect_eq(ev.caps.permitted, 0xa80425fbull);
	cr_expect_eq(ev.caps.effective, 0x1ffffffffffull);
}

Test(status, a_thread_is_not_the_process)
{
	struct proccache_event ev;

	memset(&ev, 0, sizeof(ev));
	cr_expect_eq(pc_parse_status("Tgid:\t41\nPid:\t42\n", 42, &ev), -ESRCH);
}

/* ---- cgroup lines ---------------------------------------------------------------- */

Test(cgroup, line_paths_and_escapes)
{
	cr_expect_str_eq(pc_cgroup_line_path("0::/a/b"), "/a/b");
	cr_expect_str_eq(pc_cgroup_line_path("3:cpu,cpuacct:/x:y"), "/x:y");
	cr_expect_null(pc_cgroup_line_path("0:/a"));
	cr_expect_null(pc_cgroup_line_path("junk"));
	cr_expect(pc_cgroup_path_escapes("/../x"));
	cr_expect(pc_cgroup_path_escapes("/a/.."));
	cr_expect(pc_cgroup_path_escapes(".."));
	cr_expect_not(pc_cgroup_path_escapes("/a..b/c"));
	cr_expect_not(pc_cgroup_path_escapes("/a/..b"));
	cr_expect_not(pc_cgroup_path_escapes("/"));
}

/* -------------------------------------------------------------------- */
/* Container ids                                                         */
/* -------------------------------------------------------------------- */

static void expect_id(const char *path, const char *id)
{
	char buf[128];
	int n = pc_container_id_from_cgroup(path, buf, sizeof(buf));

	cr_assert_eq(n, (int)strlen(id), "%s: %d", path, n);
	cr_assert_str_eq(buf, id, "%s", path);
}

Test(container_id, runtimes)
{
	expect_id("/docker/" ID64, ID64);
	expect_id("/system.slice/docker-" ID64 ".scope", ID64);
	expect_id("/kubepods.slice/kubepods-besteffort.slice/"
		  "kubepods-besteffort-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789"
		  ".slice/cri-containerd-" ID64 ".scope", ID64);
	expect_id("/kubepods.slice/kubepods-burstable.slice/"
		  "kubepods-burstable-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789"
		  ".slice/crio-" ID64 ".scope", ID64);
	expect_id("/machine.slice/libpod-" ID64 ".scope", ID64);
	expect_id("/user.slice/user-1000.slice/user@1000.service/user.slice/"
		  "libpod-" ID64 ".scope/container", ID64);
	expect_id("/kubepods/burstable/"
		  "pod0a1b2c3d-4e5f-6789-abcd-ef0123456789/" ID64, ID64);
	expect_id("/kubepods/besteffort/"
		  "pod0a1b2c3d-4e5f-6789-abcd-ef0123456789/" ID64 "/", ID64);
	expect_id("/system.slice/docker-0123456789ab.scope", "0123456789ab");
	/* Nested runtimes: the innermost container. */
	expect_id("/docker/" ID64 "/docker/" ID64B, ID64B);
	expect_id("/docker/" ID64 "/init.scope", ID64);
}

Test(container_id, not_containers)
{
	expect_id("/", "");
	expect_id("", "");
	expect_id("/init.scope", "");
	expect_id("/user.slice/user-1000.slice/session-3.scope", "");
	expect_id("/system.slice/sshd.service", "");
	expect_id("/system.slice/docker.service", "");
	expect_id("/kubepods/burstable/"
		  "pod0a1b2c3d-4e5f-6789-abcd-ef0123456789", "");
	expect_id("/kubepods.slice/kubepods-besteffort.slice/"
		  "kubepods-besteffort-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789"
		  ".slice", "");
	/* The monitor beside a container is not in it. */
	expect_id("/machine.slice/libpod-conmon-" ID64 ".scope", "");
	expect_id("/kubepods.slice/crio-conmon-" ID64 ".scope", "");
	/* Too short, or not hex, for an id. */
	expect_id("/system.slice/docker-0123456789a.scope", "");
	expect_id("/docker/" ID64 "0", "");
	expect_id("/system.slice/docker-xyzxyzxyzxyzxyz.scope", "");
	/* Longer than any runtime's id (found by tests/fuzz, container_id):
	 * not an id, however long the cgroup name a delegated user made. */
	expect_id("/system.slice/docker-" ID64 "0.scope", "");
	expect_id("/machine.slice/libpod-" ID64 ID64B ".scope", "");
	expect_id("/docker/" ID64 "/crio-" ID64 "abcdef.scope", ID64);
}

Test(container_id, bad_arguments)
{
	char small[64], buf[128];

	cr_assert_eq(pc_container_id_from_cgroup(NULL, buf, sizeof(buf)),
		     -EINVAL);
	cr_assert_eq(pc_container_id_from_cgroup("/", NULL, 1), -EINVAL);
	cr_assert_eq(pc_container_id_from_cgroup("/", buf, 0), -EINVAL);
	cr_assert_eq(pc_container_id_from_cgroup("/docker/" ID64, small,
						 sizeof(small)), -ENOSPC);
	cr_assert_eq(pc_container_id_from_cgroup("/docker/" ID64, buf, 65),
		     64);
}
