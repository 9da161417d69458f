/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The /proc reader. Every file of one process is read through a directory
 * fd of /proc/<pid>: that fd is bound to the kernel's struct pid, so a pid
 * reused while we read fails our reads instead of answering for a stranger.
 * Re-exec mid-read is caught by comparing an image fingerprint taken before
 * and after (stat fields that change on exec, plus the exe link and inode)
 * and reading again. docs/procfs.md has the rules.
 */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "clock.h"
#include "procfs.h"

/* Task flags from include/linux/sched.h, as stat field 9 shows them. */
#define PF_FORKNOEXEC 0x00000040u
#define PF_KTHREAD 0x00200000u

#define DELETED_SUFFIX " (deleted)"

/* Large enough for stat, status and cgroup of any process we care about;
 * what does not fit is cut and only the lines we parse matter. */
#define TEXT_MAX 16384

struct procfs_ctx {
	char prefix[PATH_MAX];
	char cgroot[PATH_MAX]; /* cgroup2 mount for cgroup ids; "" if none */
};

/* The fields of /proc/<pid>/stat we use. */
struct proc_stat {
	uint32_t pid, ppid, flags;
	char state;
	uint64_t starttime; /* clock ticks since boot */
	/* Addresses of the current mm: they change on every exec (ASLR, and
	 * arg_end - arg_start is the args size), so they fingerprint the
	 * image. 0 when hidden from us or when the mm is gone. */
	uint64_t startcode, endcode, startstack, arg_start, arg_end, env_end;
	int nfields; /* fields present: older kernels print fewer */
	char comm[64];
};

/* The exe link and the file behind it, as seen at one moment. */
struct exe_mark {
	char path[PATH_MAX];
	int err; /* readlink: 0 or -errno */
	bool truncated;
	int stat_err; /* stat through the link: 0 or -errno */
	dev_t dev;
	ino_t ino;
	nlink_t nlink;
};

/* Per-read buffers, on the heap to keep callers' stacks small. */
struct read_scratch {
	struct exe_mark exe[2];
	char path[PATH_MAX];
	char text[TEXT_MAX];
};

/* -------------------------------------------------------------------- */
/* Paths and files                                                       */
/* -------------------------------------------------------------------- */

/* The one place the prefix is applied: "<prefix>" when @sub is "", else
 * "<prefix>/<sub>". */
static int proc_path(const struct procfs_ctx *ctx, const char *sub, char *buf,
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
static void find_cgroot(struct procfs_ctx *ctx)
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

static int ctx_init(struct procfs_ctx *ctx, const char *prefix, bool cgroups)
{
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
	if (cgroups)
		find_cgroot(ctx);
	return 0;
}

static int open_pid_dir(const struct procfs_ctx *ctx, uint32_t pid)
{
	char path[PATH_MAX], sub[16];
	int fd, err;

	snprintf(sub, sizeof(sub), "%u", pid);
	err = proc_path(ctx, sub, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	return fd;
}

/* /proc entries rejected as malformed, process-wide. */
static _Atomic uint64_t rejected;

uint64_t pc_procfs_rejected(void)
{
	return atomic_load_explicit(&rejected, memory_order_relaxed);
}

/* An entry that lies is skipped, never guessed at: counted and logged. */
static void reject(const struct procfs_ctx *ctx, uint32_t pid,
		   const char *why)
{
	atomic_fetch_add_explicit(&rejected, 1, memory_order_relaxed);
	pc_warn("procfs: %s/%u rejected: %s", ctx->prefix, pid, why);
}

/* A process that exited makes its files fail with one of these. */
static bool is_gone(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

/* Read @name under @dirfd into @buf, NUL terminated, cut at @len - 1.
 * Returns the length or -errno. */
static ssize_t read_text(int dirfd, const char *name, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (n < len - 1) {
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* readlinkat() into @buf, NUL terminated. A target that fills the buffer
 * may have been cut: *@truncated says so. Returns the length or -errno. */
static ssize_t read_link(int dirfd, const char *name, char *buf, size_t len,
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

/* Strict decimal or hex field [s, end) to a number. */
static bool parse_u64(const char *s, const char *end, int base, uint64_t *ret)
{
	uint64_t v = 0, d, limit = UINT64_MAX / (uint64_t)base;

	if (s >= end)
		return false;
	for (; s < end; s++) {
		if (*s >= '0' && *s <= '9')
			d = (uint64_t)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (uint64_t)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (uint64_t)(*s - 'A' + 10);
		else
			return false;
		if (v > limit || v * (uint64_t)base > UINT64_MAX - d)
			return false;
		v = v * (uint64_t)base + d;
	}
	*ret = v;
	return true;
}

static bool parse_u32(const char *s, const char *end, uint32_t *ret)
{
	uint64_t v;

	if (!parse_u64(s, end, 10, &v) || v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static const char *token_end(const char *s)
{
	while (*s && *s != ' ' && *s != '\t' && *s != '\n')
		s++;
	return s;
}

/* -------------------------------------------------------------------- */
/* stat                                                                  */
/* -------------------------------------------------------------------- */

/* Store field @field ([s, end)) of a stat line; false if malformed. */
static bool stat_field(struct proc_stat *st, int field, const char *s,
		       const char *end)
{
	switch (field) {
	case 3:
		st->state = *s;
		return end - s == 1;
	case 4:
		return parse_u32(s, end, &st->ppid);
	case 9:
		return parse_u32(s, end, &st->flags);
	case 22:
		return parse_u64(s, end, 10, &st->starttime);
	case 26:
		return parse_u64(s, end, 10, &st->startcode);
	case 27:
		return parse_u64(s, end, 10, &st->endcode);
	case 28:
		return parse_u64(s, end, 10, &st->startstack);
	case 48:
		return parse_u64(s, end, 10, &st->arg_start);
	case 49:
		return parse_u64(s, end, 10, &st->arg_end);
	case 51:
		return parse_u64(s, end, 10, &st->env_end);
	default:
		return true;
	}
}

/*
 * "pid (comm) state ppid ...". comm is whatever the task named itself:
 * spaces, parentheses and ") (" included, so it ends at the LAST ')'.
 * Fields past 22 are optional (older kernels, hand-made trees).
 */
static int parse_stat(const char *line, struct proc_stat *st)
{
	const char *lp = strchr(line, '('), *rp = strrchr(line, ')');
	const char *s, *end;
	size_t comm_len;
	int field = 3;

	memset(st, 0, sizeof(*st));
	if (!lp || !rp || rp < lp || lp == line || lp[-1] != ' ' ||
	    !parse_u32(line, lp - 1, &st->pid))
		return -EINVAL;
	comm_len = (size_t)(rp - lp - 1);
	if (comm_len >= sizeof(st->comm))
		comm_len = sizeof(st->comm) - 1;
	memcpy(st->comm, lp + 1, comm_len);
	st->comm[comm_len] = '\0';

	for (s = skip_blanks(rp + 1); *s && *s != '\n';
	     s = skip_blanks(end), field++) {
		end = token_end(s);
		if (!stat_field(st, field, s, end))
			return -EINVAL;
	}
	st->nfields = field - 1;
	return field > 22 ? 0 : -EINVAL;
}

/* What was wrong with the last stat this thread found malformed, for the
 * rejection's log line. */
static __thread char stat_problem[96];

/* Read and parse stat of the process behind @dirfd; -ENOENT once gone,
 * -EINVAL if malformed (stat_problem says why). */
static int read_stat(int dirfd, uint32_t pid, struct proc_stat *st)
{
	char line[2048];
	ssize_t n;

	n = read_text(dirfd, "stat", line, sizeof(line));
	if (n < 0)
		return is_gone((int)n) ? -ENOENT : (int)n;
	if ((size_t)n == sizeof(line) - 1)
		snprintf(stat_problem, sizeof(stat_problem),
			 "stat longer than %zu bytes", sizeof(line) - 2);
	else if (strlen(line) != (size_t)n)
		snprintf(stat_problem, sizeof(stat_problem),
			 "stat holds a NUL byte");
	else if (parse_stat(line, st))
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

/* Did the process stay on the same image between @a and @b? */
static bool same_stat_image(const struct proc_stat *a,
			    const struct proc_stat *b)
{
	return !strcmp(a->comm, b->comm) &&
	       !((a->flags ^ b->flags) & PF_FORKNOEXEC) &&
	       a->startcode == b->startcode && a->endcode == b->endcode &&
	       a->startstack == b->startstack &&
	       a->arg_start == b->arg_start && a->arg_end == b->arg_end &&
	       a->env_end == b->env_end;
}

/*
 * Between exec installing the new mm and laying out its stack, arg_end is
 * still 0 and cmdline reads empty. The field says so only when present and
 * not hidden from us; it is hidden exactly when exe is unreadable (the
 * kernel makes the same ptrace check for both).
 */
static bool exec_in_progress(const struct proc_stat *st, int exe_err)
{
	return st->nfields >= 49 && !st->arg_end && !exe_err &&
	       !(st->flags & PF_KTHREAD) && st->state != 'Z' &&
	       st->state != 'X';
}

/* -------------------------------------------------------------------- */
/* exe                                                                   */
/* -------------------------------------------------------------------- */

static void read_exe(int dirfd, struct exe_mark *m)
{
	struct stat sb;
	ssize_t n;

	n = read_link(dirfd, "exe", m->path, sizeof(m->path), &m->truncated);
	m->err = n < 0 ? (int)n : 0;
	m->dev = 0;
	m->ino = 0;
	m->nlink = 0;
	if (fstatat(dirfd, "exe", &sb, 0) < 0) {
		m->stat_err = -errno;
		return;
	}
	m->stat_err = 0;
	m->dev = sb.st_dev;
	m->ino = sb.st_ino;
	m->nlink = sb.st_nlink;
}

static bool same_exe(const struct exe_mark *a, const struct exe_mark *b)
{
	if (a->err != b->err || (!a->err && strcmp(a->path, b->path)))
		return false;
	if (a->stat_err != b->stat_err)
		return false;
	return a->stat_err || (a->dev == b->dev && a->ino == b->ino);
}

/* Fill binary, its inode and the UNLINKED / truncation flags from @m. */
static int take_exe(const struct exe_mark *m, bool kthread,
		    struct pc_proc_info *info)
{
	size_t len = strlen(m->path), slen = strlen(DELETED_SUFFIX);
	bool unlinked = false;

	if (m->err) {
		/* Kernel threads never had an image; anyone else lost it. */
		if (!kthread && is_gone(m->err))
			info->ev.flags |= PROCCACHE_F_VANISHED;
		info->binary = strdup("");
		return info->binary ? 0 : -ENOMEM;
	}
	if (len >= slen && !strcmp(m->path + len - slen, DELETED_SUFFIX)) {
		len -= slen;
		unlinked = true;
	}
	if (!strncmp(m->path, "/memfd:", 7))
		unlinked = true;
	if (!m->stat_err) {
		info->ev.binary_inode = (uint64_t)m->ino;
		info->ev.binary_nlink = (uint32_t)m->nlink;
		if (m->nlink == 0)
			unlinked = true;
	}
	if (unlinked)
		info->ev.flags |= PROCCACHE_F_UNLINKED;
	if (m->truncated)
		info->ev.flags |= PROCCACHE_F_BINARY_TRUNCATED;
	info->binary = strndup(m->path, len);
	return info->binary ? 0 : -ENOMEM;
}

/* -------------------------------------------------------------------- */
/* status, loginuid                                                      */
/* -------------------------------------------------------------------- */

/* Up to @max numbers of one status line into @ret; the count parsed. */
static int status_numbers(const char *s, int base, uint64_t *ret, int max)
{
	const char *end;
	int n = 0;

	for (s = skip_blanks(s); *s && *s != '\n' && n < max;
	     s = skip_blanks(end)) {
		end = token_end(s);
		if (!parse_u64(s, end, base, &ret[n]))
			break;
		n++;
	}
	return n;
}

/* The last number of one status line (NSpid: the innermost namespace). */
static bool status_last_number(const char *s, uint64_t *ret)
{
	const char *end;
	bool found = false;

	for (s = skip_blanks(s); *s && *s != '\n'; s = skip_blanks(end)) {
		end = token_end(s);
		if (!parse_u64(s, end, 10, ret))
			return false;
		found = true;
	}
	return found;
}

static void set_ids(uint32_t *real, uint32_t *eff, uint32_t *saved,
		    uint32_t *fs, const char *s)
{
	uint64_t v[4];

	/* an id past 32 bits is no id: not cut to one */
	if (status_numbers(s, 10, v, 4) != 4 || (v[0] | v[1] | v[2] | v[3]) >
						       UINT32_MAX)
		return;
	*real = (uint32_t)v[0];
	*eff = (uint32_t)v[1];
	*saved = (uint32_t)v[2];
	*fs = (uint32_t)v[3];
}

static void set_cap(uint64_t *cap, const char *s)
{
	uint64_t v;

	if (status_numbers(s, 16, &v, 1) == 1)
		*cap = v;
}

static const char *next_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl ? nl + 1 : s + strlen(s);
}

/* Creds, caps and nspid from status. -ESRCH if @pid is not the
 * thread-group leader. */
static int parse_status(const char *text, uint32_t pid,
			struct proccache_event *ev)
{
	struct proccache_creds *c = &ev->creds;
	const char *line, *v;
	uint64_t num;

	for (line = text; *line; line = next_line(line)) {
		v = strchr(line, ':');
		if (!v)
			continue;
		v++;
		if (!strncmp(line, "Tgid:", 5)) {
			if (status_numbers(v, 10, &num, 1) == 1 && num != pid)
				return -ESRCH;
		} else if (!strncmp(line, "Uid:", 4)) {
			set_ids(&c->uid, &c->euid, &c->suid, &c->fsuid, v);
		} else if (!strncmp(line, "Gid:", 4)) {
			set_ids(&c->gid, &c->egid, &c->sgid, &c->fsgid, v);
		} else if (!strncmp(line, "CapInh:", 7)) {
			set_cap(&ev->caps.inheritable, v);
		} else if (!strncmp(line, "CapPrm:", 7)) {
			set_cap(&ev->caps.permitted, v);
		} else if (!strncmp(line, "CapEff:", 7)) {
			set_cap(&ev->caps.effective, v);
		} else if (!strncmp(line, "NSpid:", 6)) {
			if (status_last_number(v, &num) && num <= UINT32_MAX)
				ev->nspid = (uint32_t)num;
		}
	}
	return 0;
}

static int read_status(int dirfd, uint32_t pid, struct read_scratch *s,
		       struct pc_proc_info *info)
{
	ssize_t n = read_text(dirfd, "status", s->text, sizeof(s->text));

	if (n < 0) {
		if (!is_gone((int)n))
			return (int)n;
		info->ev.flags |= PROCCACHE_F_VANISHED;
		return 0;
	}
	return parse_status(s->text, pid, &info->ev);
}

/* Unset, unreadable (no CONFIG_AUDIT) and 4294967295 all mean "none". */
static void read_loginuid(int dirfd, struct pc_proc_info *info)
{
	char buf[32];
	ssize_t n = read_text(dirfd, "loginuid", buf, sizeof(buf));
	uint32_t auid;

	info->ev.creds.auid = (uint32_t)-1;
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && parse_u32(buf, buf + n, &auid))
		info->ev.creds.auid = auid;
}

/* -------------------------------------------------------------------- */
/* cmdline, cwd, ns                                                      */
/* -------------------------------------------------------------------- */

/* Raw NUL-separated args, at most @max bytes. One byte more is asked for,
 * so that a cut shows; the buffer is NUL terminated past args_len. */
static int read_args(int dirfd, size_t max, struct pc_proc_info *info)
{
	size_t cap = max + 1 < 4096 ? max + 1 : 4096, n = 0;
	char *buf = malloc(cap + 1), *grown;
	ssize_t r;
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = openat(dirfd, "cmdline", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		goto out_err;
	}
	while (n <= max) {
		if (n == cap) {
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			grown = realloc(buf, cap + 1);
			if (!grown) {
				r = -ENOMEM;
				goto out_close;
			}
			buf = grown;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			goto out_close;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		n = max;
		info->ev.flags |= PROCCACHE_F_ARGS_TRUNCATED;
	}
	buf[n] = '\0';
	info->args = buf;
	info->args_len = n;
	return 0;

out_close:
	close(fd);
out_err:
	if (!is_gone((int)r)) {
		free(buf);
		return (int)r;
	}
	info->ev.flags |= PROCCACHE_F_VANISHED;
	buf[0] = '\0';
	info->args = buf;
	info->args_len = 0;
	return 0;
}

static int read_cwd(int dirfd, struct read_scratch *s,
		    struct pc_proc_info *info)
{
	bool truncated;
	ssize_t n;

	n = read_link(dirfd, "cwd", s->path, sizeof(s->path), &truncated);
	if (n < 0) {
		info->ev.flags |= PROCCACHE_F_CWD_ERROR;
		if (is_gone((int)n))
			info->ev.flags |= PROCCACHE_F_VANISHED;
		if (n == -ENAMETOOLONG)
			info->ev.flags |= PROCCACHE_F_CWD_TRUNCATED;
	} else if (truncated) {
		info->ev.flags |= PROCCACHE_F_CWD_TRUNCATED;
	}
	info->cwd = strdup(s->path);
	return info->cwd ? 0 : -ENOMEM;
}

/* "type:[inode]" -> inode; 0 when absent (older kernels lack some types,
 * exiting tasks lose them all). */
static uint32_t read_ns(int dirfd, const char *name)
{
	char buf[64];
	const char *lb, *rb;
	bool truncated;
	uint32_t ino;

	if (read_link(dirfd, name, buf, sizeof(buf), &truncated) < 0)
		return 0;
	lb = strchr(buf, '[');
	rb = lb ? strchr(lb, ']') : NULL;
	if (!rb || !parse_u32(lb + 1, rb, &ino))
		return 0;
	return ino;
}

static void read_all_ns(int dirfd, struct proccache_ns *ns)
{
	ns->uts = read_ns(dirfd, "ns/uts");
	ns->ipc = read_ns(dirfd, "ns/ipc");
	ns->mnt = read_ns(dirfd, "ns/mnt");
	ns->pid = read_ns(dirfd, "ns/pid");
	ns->pid_for_children = read_ns(dirfd, "ns/pid_for_children");
	ns->net = read_ns(dirfd, "ns/net");
	ns->time = read_ns(dirfd, "ns/time");
	ns->time_for_children = read_ns(dirfd, "ns/time_for_children");
	ns->cgroup = read_ns(dirfd, "ns/cgroup");
	ns->user = read_ns(dirfd, "ns/user");
}

/* -------------------------------------------------------------------- */
/* cgroup and container id                                               */
/* -------------------------------------------------------------------- */

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Longest run of lower-case hex digits in [s, end). */
static size_t longest_hex_run(const char *s, const char *end,
			      const char **ret_start)
{
	size_t best = 0, run;
	const char *p;

	for (; s < end; s = p + 1) {
		for (p = s; p < end && is_lower_hex(*p); p++)
			;
		run = (size_t)(p - s);
		if (run > best) {
			best = run;
			*ret_start = s;
		}
		if (p == end)
			break;
	}
	return best;
}

/* The container id inside one path component [s, end), or 0. */
static size_t component_container_id(const char *s, const char *end,
				     const char **ret_id)
{
	/* Runtimes' systemd scope names; "-conmon-" scopes hold the monitor,
	 * which is not inside the container. */
	static const char *const scopes[] = { "docker-", "cri-containerd-",
					      "crio-", "libpod-" };
	size_t i, plen, run;
	const char *id = NULL;

	if (end - s == 64 && longest_hex_run(s, end, &id) == 64) {
		*ret_id = s;
		return 64;
	}
	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		plen = strlen(scopes[i]);
		if ((size_t)(end - s) <= plen || strncmp(s, scopes[i], plen))
			continue;
		if (!strncmp(s + plen, "conmon-", 7))
			return 0;
		run = longest_hex_run(s + plen, end, &id);
		/* 12 (short form) to 64 digits; more is no runtime's id */
		if (run >= 12 && run <= 64) {
			*ret_id = id;
			return run;
		}
	}
	return 0;
}

int pc_container_id_from_cgroup(const char *cgroup_path, char *buf, size_t len)
{
	const char *s, *end, *id = NULL, *found = NULL;
	size_t n, found_len = 0;

	if (!cgroup_path || !buf || !len)
		return -EINVAL;
	/* The deepest match wins: nested runtimes (docker in docker, a
	 * pod's sandbox) put the innermost container last. */
	for (s = cgroup_path; *s; s = *end ? end + 1 : end) {
		end = strchr(s, '/');
		if (!end)
			end = s + strlen(s);
		n = component_container_id(s, end, &id);
		if (n) {
			found = id;
			found_len = n;
		}
	}
	if (found_len >= len)
		return -ENOSPC;
	memcpy(buf, found ? found : "", found_len);
	buf[found_len] = '\0';
	return (int)found_len;
}

/* A path that climbs out of our cgroup namespace cannot be resolved in our
 * cgroup mount. */
static bool cgroup_path_escapes(const char *path)
{
	const char *p;

	for (p = strstr(path, ".."); p; p = strstr(p + 2, ".."))
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

static uint64_t cgroup_id(const struct procfs_ctx *ctx, const char *path,
			  char *buf, size_t len)
{
	struct stat sb;
	int n;

	if (!ctx->cgroot[0] || path[0] != '/' || cgroup_path_escapes(path))
		return 0;
	n = snprintf(buf, len, "%s%s", ctx->cgroot, path);
	if (n < 0 || (size_t)n >= len || stat(buf, &sb) < 0)
		return 0;
	return (uint64_t)sb.st_ino;
}

/* An id that does not fit is no id. */
static void container_id(const char *path, char *buf, size_t len)
{
	if (pc_container_id_from_cgroup(path, buf, len) < 0)
		buf[0] = '\0';
}

/* The path of one "id:controllers:path" line, or NULL. */
static const char *cgroup_line_path(const char *line)
{
	const char *colon = strchr(line, ':');

	colon = colon ? strchr(colon + 1, ':') : NULL;
	return colon ? colon + 1 : NULL;
}

/*
 * The v2 line "0::/path" gives the cgroup id and the container id. Hosts
 * without v2, or runtimes that leave v2 at "/" on hybrid hosts, name the
 * container in a v1 hierarchy only: its first id is taken then.
 */
static int read_cgroup(const struct procfs_ctx *ctx, int dirfd,
		       struct read_scratch *s, struct pc_proc_info *info)
{
	char id[128] = "", v1_id[128] = "";
	const char *path;
	char *line, *nl;

	if (read_text(dirfd, "cgroup", s->text, sizeof(s->text)) < 0)
		s->text[0] = '\0';
	for (line = s->text; *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		path = cgroup_line_path(line);
		if (!path)
			continue;
		if (!strncmp(line, "0::", 3)) {
			container_id(path, id, sizeof(id));
			info->ev.cgroup_id = cgroup_id(ctx, path, s->path,
						       sizeof(s->path));
		} else if (!v1_id[0]) {
			container_id(path, v1_id, sizeof(v1_id));
		}
	}
	info->container_id = strdup(id[0] ? id : v1_id);
	return info->container_id ? 0 : -ENOMEM;
}

/* -------------------------------------------------------------------- */
/* One process                                                           */
/* -------------------------------------------------------------------- */

void pc_proc_info_release(struct pc_proc_info *info)
{
	if (!info)
		return;
	free(info->binary);
	free(info->args);
	free(info->cwd);
	free(info->container_id);
	memset(info, 0, sizeof(*info));
}

/* The fields that belong to the image, read between two fingerprints. */
bool pc_proc_info_same_image(const struct pc_proc_info *a,
			     const struct pc_proc_info *b)
{
	return a->ev.binary_inode == b->ev.binary_inode &&
	       a->args_len == b->args_len &&
	       !strcmp(a->binary ? a->binary : "", b->binary ? b->binary : "") &&
	       (!a->args_len || !memcmp(a->args, b->args, a->args_len));
}

static int read_fields(const struct procfs_ctx *ctx, int dirfd, uint32_t pid,
		       size_t args_max, struct read_scratch *s,
		       struct pc_proc_info *info)
{
	int err;

	err = read_status(dirfd, pid, s, info);
	if (!err) {
		read_loginuid(dirfd, info);
		err = read_args(dirfd, args_max, info);
	}
	if (!err)
		err = read_cwd(dirfd, s, info);
	if (!err) {
		read_all_ns(dirfd, &info->ev.ns);
		err = read_cgroup(ctx, dirfd, s, info);
	}
	return err;
}

/* The parent's start time, or 0 when it cannot be the parent's: a parent
 * cannot have started after its child, so a later one is a reused pid. */
static uint64_t parent_start(const struct procfs_ctx *ctx, uint32_t ppid,
			     uint64_t child_ticks)
{
	struct proc_stat st;
	int fd, err;

	if (!ppid)
		return 0;
	fd = open_pid_dir(ctx, ppid);
	if (fd < 0)
		return 0;
	err = read_stat(fd, ppid, &st);
	close(fd);
	if (err || st.starttime > child_ticks)
		return 0;
	return pc_ticks_to_ns(st.starttime);
}

static void fill_event(const struct proc_stat *st, struct pc_proc_info *info)
{
	struct proccache_event *ev = &info->ev;

	ev->sz = sizeof(*ev);
	ev->type = PROCCACHE_EVENT_EXEC;
	ev->pid = st->pid;
	ev->tid = st->pid;
	ev->ktime = pc_ticks_to_ns(st->starttime);
	ev->start_time = ev->ktime;
	ev->parent.pid = st->ppid;
	ev->flags |= PROCCACHE_F_PROCFS;
	if (!(st->flags & PF_FORKNOEXEC))
		ev->flags |= PROCCACHE_F_EXECVE;
	/* A zombie (or a dying task) has given up its image already. */
	if (st->state == 'Z' || st->state == 'X')
		ev->flags |= PROCCACHE_F_VANISHED;
	ev->binary = info->binary;
	ev->args = info->args;
	ev->args_len = info->args_len;
	ev->cwd = info->cwd;
	ev->container_id = info->container_id;
	info->ppid = st->ppid;
	memcpy(info->comm, st->comm, sizeof(info->comm));
}

/*
 * One attempt: stat and exe, the fields, exe and stat again. -EAGAIN when
 * the image changed in between (read again), -ENOENT when the process is
 * gone or its start time moved (a reused pid).
 */
static int read_once(const struct procfs_ctx *ctx, int dirfd, uint32_t pid,
		     size_t args_max, struct read_scratch *s,
		     struct pc_proc_info *info)
{
	struct proc_stat first, last;
	int err;

	err = read_stat(dirfd, pid, &first);
	if (err)
		return err;
	read_exe(dirfd, &s->exe[0]);
	err = read_fields(ctx, dirfd, pid, args_max, s, info);
	if (err)
		return err;
	read_exe(dirfd, &s->exe[1]);
	err = read_stat(dirfd, pid, &last);
	if (err)
		return err == -EINVAL ? err : -ENOENT;
	if (last.starttime != first.starttime)
		return -ENOENT;
	if (!same_stat_image(&first, &last) ||
	    !same_exe(&s->exe[0], &s->exe[1]) ||
	    exec_in_progress(&last, s->exe[1].err))
		return -EAGAIN;
	err = take_exe(&s->exe[1], last.flags & PF_KTHREAD, info);
	if (err)
		return err;
	fill_event(&last, info);
	info->ev.parent.ktime = parent_start(ctx, last.ppid, last.starttime);
	return 0;
}

static int read_ctx(const struct procfs_ctx *ctx, uint32_t pid,
		    size_t args_max, struct pc_proc_info *ret)
{
	static const struct timespec backoff = { 0, 1000000 };
	struct pc_proc_info info;
	struct read_scratch *s;
	int attempt, dirfd, err = -EAGAIN;

	if (!pid || !ret)
		return -EINVAL;
	if (!args_max)
		args_max = PC_PROCFS_ARGS_DEFAULT;
	if (args_max > SIZE_MAX / 2)
		args_max = SIZE_MAX / 2;
	dirfd = open_pid_dir(ctx, pid);
	if (dirfd < 0) {
		if (!is_gone(dirfd))
			reject(ctx, pid, strerror(-dirfd));
		return dirfd;
	}
	s = malloc(sizeof(*s));
	if (!s) {
		close(dirfd);
		return -ENOMEM;
	}
	for (attempt = 0; attempt <= PC_PROCFS_READ_RETRIES; attempt++) {
		memset(&info, 0, sizeof(info));
		err = read_once(ctx, dirfd, pid, args_max, s, &info);
		if (!err)
			break;
		pc_proc_info_release(&info);
		if (err != -EAGAIN)
			break;
		pc_debug("procfs: pid %u changed image while read, again",
			 pid);
		/* An exec takes microseconds: let it finish. */
		if (attempt < PC_PROCFS_READ_RETRIES)
			nanosleep(&backoff, NULL);
	}
	free(s);
	close(dirfd);
	if (!err)
		*ret = info;
	else if (err == -EINVAL)
		reject(ctx, pid, stat_problem);
	else if (!is_gone(err) && err != -EAGAIN && err != -ESRCH &&
		 err != -ENOMEM)
		reject(ctx, pid, strerror(-err));
	return err;
}

int pc_procfs_read(const char *prefix, uint32_t pid, size_t args_max,
		   struct pc_proc_info *ret)
{
	struct procfs_ctx ctx;
	int err = ctx_init(&ctx, prefix, true);

	return err ? err : read_ctx(&ctx, pid, args_max, ret);
}

int pc_procfs_start_time(const char *prefix, uint32_t pid, uint64_t *ret_ns)
{
	struct procfs_ctx ctx;
	struct proc_stat st;
	int fd, err;

	if (!pid || !ret_ns)
		return -EINVAL;
	err = ctx_init(&ctx, prefix, false);
	if (err)
		return err;
	fd = open_pid_dir(&ctx, pid);
	if (fd < 0)
		return fd;
	err = read_stat(fd, pid, &st);
	close(fd);
	if (err == -EINVAL)
		reject(&ctx, pid, stat_problem);
	if (err)
		return err;
	*ret_ns = pc_ticks_to_ns(st.starttime);
	return 0;
}

/* -------------------------------------------------------------------- */
/* Scan                                                                  */
/* -------------------------------------------------------------------- */

struct scan_entry {
	uint32_t pid, ppid;
	uint64_t start; /* ticks */
	uint32_t depth; /* ancestors listed with the same start tick */
};

struct scan_list {
	struct scan_entry *v;
	size_t n, cap;
};

static int cmp_entry(const void *pa, const void *pb)
{
	const struct scan_entry *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int cmp_entry_pid(const void *pa, const void *pb)
{
	const struct scan_entry *a = pa, *b = pb;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int list_push(struct scan_list *l, const struct scan_entry *e)
{
	struct scan_entry *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 256;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return 0;
}

static bool pid_name(const char *name, uint32_t *ret)
{
	return parse_u32(name, name + strlen(name), ret) && *ret;
}

/* Every numeric entry of the prefix with its start time and parent. */
static int list_pids(const struct procfs_ctx *ctx, struct scan_list *l)
{
	struct scan_entry e = { 0 };
	struct proc_stat st;
	char path[PATH_MAX];
	struct dirent *de;
	int err, fd;
	DIR *dir;

	err = proc_path(ctx, "", path, sizeof(path));
	if (err)
		return err;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (!pid_name(de->d_name, &e.pid))
			continue;
		fd = openat(dirfd(dir), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			if (!is_gone(-errno))
				reject(ctx, e.pid, strerror(errno));
			continue;
		}
		err = read_stat(fd, e.pid, &st);
		close(fd);
		if (err == -EINVAL)
			reject(ctx, e.pid, stat_problem);
		else if (err && !is_gone(err))
			reject(ctx, e.pid, strerror(-err));
		if (err)
			continue;
		e.ppid = st.ppid;
		e.start = st.starttime;
		err = list_push(l, &e);
		if (err)
			break;
	}
	closedir(dir);
	return err == -ENOMEM ? err : 0;
}

int pc_procfs_list(const char *prefix, pc_procfs_list_fn fn, void *userdata)
{
	struct scan_list l = { 0 };
	struct procfs_ctx ctx;
	int err;

	if (!fn)
		return -EINVAL;
	err = ctx_init(&ctx, prefix, false);
	if (!err)
		err = list_pids(&ctx, &l);
	for (size_t i = 0; !err && i < l.n; i++)
		err = fn(l.v[i].pid, pc_ticks_to_ns(l.v[i].start), userdata);
	free(l.v);
	return err;
}

/*
 * Sorting by start time puts parents first except within one clock tick,
 * where pid order is wrong after the pid counter wraps. Rank each entry by
 * how many of its ancestors share its tick, so those sort before it.
 */
static void rank_same_tick(struct scan_list *l)
{
	struct scan_entry *by_pid, key, *p;
	const struct scan_entry *e;
	size_t i, hops;

	by_pid = malloc(l->n * sizeof(*by_pid));
	if (!by_pid)
		return; /* start-time order alone is still nearly right */
	memcpy(by_pid, l->v, l->n * sizeof(*by_pid));
	qsort(by_pid, l->n, sizeof(*by_pid), cmp_entry_pid);
	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		/* A bad tree could loop; no real chain is longer than n. */
		for (hops = 0; hops < l->n; hops++) {
			key.pid = e->ppid;
			p = bsearch(&key, by_pid, l->n, sizeof(*by_pid),
				    cmp_entry_pid);
			if (!p || p->start != l->v[i].start ||
			    p->pid == l->v[i].pid)
				break;
			e = p;
		}
		l->v[i].depth = (uint32_t)hops;
	}
	free(by_pid);
}

/* Processes whose pid was reused after the listing started later than
 * their listed namesake; they go last, in their own order, and so do the
 * children they had meanwhile. */
struct late_list {
	struct pc_proc_info *v;
	size_t n, cap;
};

static int late_push(struct late_list *l, struct pc_proc_info *info)
{
	struct pc_proc_info *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *info;
	return 0;
}

static bool in_late(const struct late_list *l, uint32_t pid)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].ev.pid == pid)
			return true;
	return false;
}

static int cmp_info(const void *pa, const void *pb)
{
	const struct pc_proc_info *a = pa, *b = pb;

	if (a->ev.start_time != b->ev.start_time)
		return a->ev.start_time < b->ev.start_time ? -1 : 1;
	return a->ev.pid < b->ev.pid ? -1 : a->ev.pid > b->ev.pid;
}

/* Hand @info to @fn and release it; @fn's negative return stops. */
static int visit(struct pc_proc_info *info, pc_procfs_scan_fn fn,
		 void *userdata, int *count)
{
	int r = fn(info, userdata);

	pc_proc_info_release(info);
	if (r < 0)
		return r;
	(*count)++;
	return 0;
}

static int visit_late(struct late_list *late, pc_procfs_scan_fn fn,
		      void *userdata, int *count)
{
	size_t i;
	int err = 0;

	if (late->n)
		qsort(late->v, late->n, sizeof(*late->v), cmp_info);
	for (i = 0; i < late->n; i++) {
		if (!err)
			err = visit(&late->v[i], fn, userdata, count);
		else
			pc_proc_info_release(&late->v[i]);
	}
	return err;
}

static int visit_all(const struct procfs_ctx *ctx, const struct scan_list *l,
		     size_t args_max, pc_procfs_scan_fn fn, void *userdata)
{
	struct late_list late = { 0 };
	struct pc_proc_info info;
	int count = 0, err = 0;
	size_t i;

	for (i = 0; i < l->n && !err; i++) {
		err = read_ctx(ctx, l->v[i].pid, args_max, &info);
		if (err == -ENOMEM)
			break;
		if (err) {
			if (!is_gone(err))
				pc_debug("procfs: scan skips pid %u: %s",
					 l->v[i].pid, strerror(-err));
			err = 0;
			continue;
		}
		if (info.ev.start_time != pc_ticks_to_ns(l->v[i].start) ||
		    in_late(&late, info.ppid)) {
			err = late_push(&late, &info);
			if (err)
				pc_proc_info_release(&info);
			continue;
		}
		err = visit(&info, fn, userdata, &count);
	}
	if (err) {
		for (i = 0; i < late.n; i++)
			pc_proc_info_release(&late.v[i]);
	} else {
		err = visit_late(&late, fn, userdata, &count);
	}
	free(late.v);
	return err ? err : count;
}

int pc_procfs_scan(const char *prefix, size_t args_max, pc_procfs_scan_fn fn,
		   void *userdata)
{
	struct scan_list l = { 0 };
	struct procfs_ctx ctx;
	int err;

	if (!fn)
		return -EINVAL;
	err = ctx_init(&ctx, prefix, true);
	if (!err)
		err = list_pids(&ctx, &l);
	if (!err && l.n) {
		rank_same_tick(&l);
		qsort(l.v, l.n, sizeof(*l.v), cmp_entry);
		err = visit_all(&ctx, &l, args_max, fn, userdata);
	}
	free(l.v);
	return err;
}
