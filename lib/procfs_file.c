/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Part of the one-process reader (procfs_read.h): the prefix applied in one
 * place, pid directories and files opened under it, one file read whole,
 * stat read and read again, start times, rejections, and the reader that
 * keeps /proc open for the netlink sensor. docs/procfs.md has the rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "procfs_read.h"

/* -------------------------------------------------------------------- */
/* Paths and files                                                       */
/* -------------------------------------------------------------------- */

/* The one place the prefix is applied: "<prefix>" when @sub is "", else
 * "<prefix>/<sub>". */
int pc_procfs_path(const struct pc_procfs_ctx *ctx, const char *sub, char *buf,
		     size_t len)
{
	int n = snprintf(buf, len, "%s%s%s", ctx->prefix, *sub ? "/" : "", sub);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/*
 * Cgroup paths in /proc/<pid>/cgroup are relative to the reader's cgroup
 * namespace, so for "/proc" the reader's own cgroup2 mount resolves them.
 * For "<root>/proc" we assume the host's /sys is beside it, at
 * "<root>/sys". Hybrid (v1 + v2) hosts mount v2 at .../unified.
 */
static void find_cgroot(struct pc_procfs_ctx *ctx)
{
	static const char *const mounts[] = { "/sys/fs/cgroup",
					      "/sys/fs/cgroup/unified" };
	const char *slash = strrchr(ctx->prefix, '/');
	int root_len = 0;
	size_t i;
	int n;

	if (strcmp(ctx->prefix, "/proc") && slash)
		root_len = (int)(slash - ctx->prefix);
	for (i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		n = snprintf(ctx->cgroot, sizeof(ctx->cgroot), "%.*s%s",
			     root_len, ctx->prefix, mounts[i]);
		if (n > 0 && (size_t)n < sizeof(ctx->cgroot) &&
		    is_cgroup2(ctx->cgroot))
			return;
	}
	ctx->cgroot[0] = '\0';
}

int pc_procfs_ctx_init(struct pc_procfs_ctx *ctx, const char *prefix, bool cgroups)
{
	struct statfs sfs;
	size_t len;

	if (!prefix || !*prefix)
		prefix = "/proc";
	len = strlen(prefix);
	while (len > 1 && prefix[len - 1] == '/')
		len--;
	if (len >= sizeof(ctx->prefix))
		return -ENAMETOOLONG;
	memcpy(ctx->prefix, prefix, len);
	ctx->prefix[len] = '\0';
	ctx->cgroot[0] = '\0';
	ctx->cgroot_ino = 0;
	ctx->procfd = -1;
	ctx->real = statfs(ctx->prefix, &sfs) == 0 &&
		    sfs.f_type == PROC_SUPER_MAGIC;
	if (cgroups)
		find_cgroot(ctx);
	return 0;
}

/* Open "<pid>" or "<pid>/<name>" under the prefix: relative to the
 * reader's fd of it when there is one. */
static int open_under(const struct pc_procfs_ctx *ctx, uint32_t pid,
		      const char *name, int flags)
{
	char path[PATH_MAX], sub[64];
	int fd, err;

	snprintf(sub, sizeof(sub), "%u%s%s", pid, *name ? "/" : "", name);
	if (ctx->procfd >= 0) {
		fd = openat(ctx->procfd, sub, flags | O_CLOEXEC);
	} else {
		err = pc_procfs_path(ctx, sub, path, sizeof(path));
		if (err)
			return err;
		fd = open(path, flags | O_CLOEXEC);
	}
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	return fd;
}

int pc_procfs_open_pid(const struct pc_procfs_ctx *ctx, uint32_t pid)
{
	return open_under(ctx, pid, "", O_RDONLY | O_DIRECTORY);
}

/* /proc entries rejected as malformed, process-wide. */
static _Atomic uint64_t rejected;

uint64_t pc_procfs_rejected(void)
{
	return atomic_load_explicit(&rejected, memory_order_relaxed);
}

void pc_procfs_reject(const struct pc_procfs_ctx *ctx, uint32_t pid,
		      const char *why)
{
	atomic_fetch_add_explicit(&rejected, 1, memory_order_relaxed);
	pc_warn("procfs: %s/%u rejected: %s", ctx->prefix, pid, why);
}

/* A process that exited makes its files fail with one of these. */
bool pc_procfs_gone(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

/*
 * Read the file behind @fd from @off into @buf, cut at @len bytes.
 * On a procfs (@real) a read shorter than asked is the end of the file
 * (its files are made whole at the first read, or, for cmdline, copied
 * until the end), so it takes one read, and a pread at 0 makes the file
 * anew; a hand-made tree (FIFOs included) is read to EOF from where @fd
 * stands. Returns the length or -errno.
 */
ssize_t pc_procfs_read_fd(int fd, char *buf, size_t len, bool real, size_t off)
{
	size_t n = 0, want;
	ssize_t r;

	while (n < len) {
		want = len - n;
		r = real ? pread(fd, buf + n, want, (off_t)(off + n)) :
			   read(fd, buf + n, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		n += (size_t)r;
		if (r == 0 || (real && (size_t)r < want))
			break;
	}
	return (ssize_t)n;
}

/* Read @name under @dirfd into @buf, NUL terminated, cut at @len - 1.
 * Returns the length or -errno. */
ssize_t pc_procfs_read_text(const struct pc_procfs_ctx *ctx, int dirfd,
			 const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = pc_procfs_read_fd(fd, buf, len - 1, ctx->real, 0);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

/* readlinkat() into @buf, NUL terminated. A target that fills the buffer
 * may have been cut: *@truncated says so. Returns the length or -errno. */
ssize_t pc_procfs_read_link(int dirfd, const char *name, char *buf, size_t len,
			 bool *truncated)
{
	ssize_t n = readlinkat(dirfd, name, buf, len);

	*truncated = false;
	if (n < 0) {
		buf[0] = '\0';
		return -errno;
	}
	if ((size_t)n == len) {
		*truncated = true;
		n--;
	}
	buf[n] = '\0';
	return n;
}
/* What was wrong with the last stat this thread found malformed, for the
 * rejection's log line. */
static __thread char stat_problem[96];

const char *pc_procfs_stat_problem(void)
{
	return stat_problem;
}

/* Parse stat read from @fd (see pc_procfs_read_fd() for @real); as
 * pc_procfs_read_stat(). */
int pc_procfs_stat_from_fd(int fd, uint32_t pid, bool real,
			struct pc_proc_stat *st)
{
	char line[2048];
	ssize_t n = pc_procfs_read_fd(fd, line, sizeof(line) - 1, real, 0);

	if (n < 0)
		return pc_procfs_gone((int)n) ? -ENOENT : (int)n;
	line[n] = '\0';
	if ((size_t)n == sizeof(line) - 1)
		snprintf(stat_problem, sizeof(stat_problem),
			 "stat longer than %zu bytes", sizeof(line) - 2);
	else if (strlen(line) != (size_t)n)
		snprintf(stat_problem, sizeof(stat_problem),
			 "stat holds a NUL byte");
	else if (pc_parse_stat(line, st))
		snprintf(stat_problem, sizeof(stat_problem),
			 "stat unparsable (fields missing or out of range)");
	else if (st->pid != pid)
		snprintf(stat_problem, sizeof(stat_problem),
			 "stat is of pid %u", st->pid);
	else
		return 0;
	pc_debug("procfs: pid %u: %s", pid, stat_problem);
	return -EINVAL;
}

int pc_procfs_open_stat(int dirfd)
{
	int fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return pc_procfs_gone(-errno) ? -ENOENT : -errno;
	return fd;
}

int pc_procfs_read_stat(int dirfd, uint32_t pid, struct pc_proc_stat *st)
{
	int fd = pc_procfs_open_stat(dirfd), err;

	if (fd < 0)
		return fd;
	err = pc_procfs_stat_from_fd(fd, pid, false, st);
	close(fd);
	return err;
}

/* stat again, for the end of a read: through the same fd on a procfs,
 * else opened anew (a hand-made tree changes by replacing files). */
int pc_procfs_restat(const struct pc_procfs_ctx *ctx, int dirfd, int statfd,
		  uint32_t pid, struct pc_proc_stat *st)
{
	return ctx->real ? pc_procfs_stat_from_fd(statfd, pid, true, st) :
			   pc_procfs_read_stat(dirfd, pid, st);
}
/* The start time of @pid from its stat, opened by name: one open, one
 * read, one close. -EINVAL (not logged here) when stat is malformed. */
int pc_procfs_start_time_at(const struct pc_procfs_ctx *ctx, uint32_t pid,
			 uint64_t *ret_ns, uint32_t *ret_ppid)
{
	struct pc_proc_stat st;
	int fd = open_under(ctx, pid, "stat", O_RDONLY | O_NOCTTY), err;

	if (fd < 0)
		return fd;
	err = pc_procfs_stat_from_fd(fd, pid, ctx->real, &st);
	close(fd);
	if (!err)
		*ret_ns = pc_ticks_to_ns(st.starttime);
	if (!err && ret_ppid)
		*ret_ppid = st.ppid;
	return err;
}

int pc_procfs_start_time(const char *prefix, uint32_t pid, uint64_t *ret_ns)
{
	struct pc_procfs_ctx ctx;
	int err;

	if (!pid || !ret_ns)
		return -EINVAL;
	err = pc_procfs_ctx_init(&ctx, prefix, false);
	if (!err)
		err = pc_procfs_start_time_at(&ctx, pid, ret_ns, NULL);
	if (err == -EINVAL)
		pc_procfs_reject(&ctx, pid, stat_problem);
	return err;
}

bool pc_procfs_running(const char *prefix, uint32_t pid, uint64_t start_ns)
{
	struct pc_procfs_ctx ctx;
	struct pc_proc_stat st;
	int fd, err;

	if (!pid || pc_procfs_ctx_init(&ctx, prefix, false))
		return false;
	fd = open_under(&ctx, pid, "stat", O_RDONLY | O_NOCTTY);
	if (fd < 0)
		return false;
	err = pc_procfs_stat_from_fd(fd, pid, ctx.real, &st);
	close(fd);
	if (err == -EINVAL)
		pc_procfs_reject(&ctx, pid, stat_problem);
	return !err && st.state != 'Z' && st.state != 'X' &&
	       pc_same_start(pc_ticks_to_ns(st.starttime), start_ns);
}

/* -------------------------------------------------------------------- */
/* A reader                                                              */
/* -------------------------------------------------------------------- */

int pc_procfs_reader_new(const char *prefix, struct pc_procfs_reader **ret)
{
	struct pc_procfs_reader *r = malloc(sizeof(*r));
	struct stat sb;
	int err;

	if (!r)
		return -ENOMEM;
	err = pc_procfs_ctx_init(&r->ctx, prefix, true);
	if (!err) {
		r->ctx.procfd = open(r->ctx.prefix,
				     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->ctx.procfd < 0)
			err = -errno;
	}
	if (!err && r->ctx.cgroot[0] && !stat(r->ctx.cgroot, &sb))
		r->ctx.cgroot_ino = (uint64_t)sb.st_ino;
	if (err) {
		free(r);
		return err;
	}
	*ret = r;
	return 0;
}

void pc_procfs_reader_free(struct pc_procfs_reader *r)
{
	if (!r)
		return;
	close(r->ctx.procfd);
	free(r);
}

int pc_procfs_reader_start_time(struct pc_procfs_reader *r, uint32_t pid,
				uint64_t *ret_ns, uint32_t *ret_ppid)
{
	int err;

	if (!pid || !ret_ns)
		return -EINVAL;
	err = pc_procfs_start_time_at(&r->ctx, pid, ret_ns, ret_ppid);
	if (err == -EINVAL)
		pc_procfs_reject(&r->ctx, pid, stat_problem);
	return err;
}
