/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The race-checked read of one process. Every file of one process is read
 * through a directory fd of /proc/<pid>: that fd is bound to the kernel's
 * struct pid, so a pid reused while we read fails our reads instead of
 * answering for a stranger. Re-exec mid-read is caught by comparing the
 * stat fields that change on exec, read before and after everything else,
 * and reading again. The one-file reads are procfs_file.c. docs/procfs.md
 * has the rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "procfs_read.h"

#define DELETED_SUFFIX " (deleted)"

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
	struct exe_mark exe;
	char path[PATH_MAX];
	char text[TEXT_MAX];
};



/* Did the process stay on the same image between @a and @b? */
static bool same_stat_image(const struct pc_proc_stat *a,
			    const struct pc_proc_stat *b)
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
static bool exec_in_progress(const struct pc_proc_stat *st, int exe_err)
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

	n = pc_procfs_read_link(dirfd, "exe", m->path, sizeof(m->path), &m->truncated);
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

/* Fill binary, its inode and the UNLINKED / truncation flags from @m. */
static int take_exe(const struct exe_mark *m, bool kthread,
		    struct pc_proc_info *info)
{
	size_t len = strlen(m->path), slen = strlen(DELETED_SUFFIX);
	bool unlinked = false;

	if (m->err) {
		/* Kernel threads never had an image; anyone else lost it. */
		if (!kthread && pc_procfs_gone(m->err))
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


static int read_status(const struct pc_procfs_ctx *ctx, int dirfd,
		       uint32_t pid, struct read_scratch *s,
		       struct pc_proc_info *info)
{
	ssize_t n = pc_procfs_read_text(ctx, dirfd, "status", s->text, sizeof(s->text));

	if (n < 0) {
		if (!pc_procfs_gone((int)n))
			return (int)n;
		info->ev.flags |= PROCCACHE_F_VANISHED;
		return 0;
	}
	return pc_parse_status(s->text, pid, &info->ev);
}

/* Unset, unreadable (no CONFIG_AUDIT) and 4294967295 all mean "none". */
static void read_loginuid(const struct pc_procfs_ctx *ctx, int dirfd,
			  struct pc_proc_info *info)
{
	char buf[32];
	ssize_t n = pc_procfs_read_text(ctx, dirfd, "loginuid", buf, sizeof(buf));
	uint32_t auid;

	info->ev.creds.auid = (uint32_t)-1;
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && pc_parse_u32(buf, buf + n, &auid))
		info->ev.creds.auid = auid;
}

/* -------------------------------------------------------------------- */
/* cmdline, cwd, ns                                                      */
/* -------------------------------------------------------------------- */

/*
 * Raw NUL-separated text of @name (cmdline, environ), at most @max bytes,
 * into *@ret (NUL terminated past *@ret_len), *@cut set when there was
 * more. One byte more is asked for, so that a cut shows. Read into
 * @s->text first: most command lines fit, and the copy is then the one
 * allocation. A read that fails leaves nothing: -errno.
 */
static int read_raw(const struct pc_procfs_ctx *ctx, int dirfd,
		    const char *name, size_t max, struct read_scratch *s,
		    char **ret, size_t *ret_len, bool *cut)
{
	size_t first = max + 1 < sizeof(s->text) ? max + 1 : sizeof(s->text);
	char *buf = NULL;
	ssize_t r;
	size_t n;
	int fd;

	*cut = false;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = pc_procfs_read_fd(fd, s->text, first, ctx->real, 0);
	n = r < 0 ? 0 : (size_t)r;
	if (r >= 0 && n == first && n <= max) {
		/* longer than the scratch: the rest straight after it */
		buf = malloc(max + 2);
		if (!buf) {
			close(fd);
			return -ENOMEM;
		}
		memcpy(buf, s->text, n);
		r = pc_procfs_read_fd(fd, buf + n, max + 1 - n, ctx->real, n);
		n += r < 0 ? 0 : (size_t)r;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return (int)r;
	}
	if (n > max) {
		n = max;
		*cut = true;
	}
	if (!buf) {
		buf = malloc(n + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, s->text, n);
	}
	buf[n] = '\0';
	*ret = buf;
	*ret_len = n;
	return 0;
}

/* An empty, owned string for a field that could not be read. */
static int read_none(char **ret, size_t *ret_len)
{
	*ret = calloc(1, 1);
	*ret_len = 0;
	return *ret ? 0 : -ENOMEM;
}

/* Raw NUL-separated args, at most @max bytes. */
static int read_args(const struct pc_procfs_ctx *ctx, int dirfd, size_t max,
		     struct read_scratch *s, struct pc_proc_info *info)
{
	bool cut;
	int err = read_raw(ctx, dirfd, "cmdline", max, s, &info->args,
			   &info->args_len, &cut);

	if (cut)
		info->ev.flags |= PROCCACHE_F_ARGS_TRUNCATED;
	if (!err || !pc_procfs_gone(err))
		return err;
	info->ev.flags |= PROCCACHE_F_VANISHED;
	return read_none(&info->args, &info->args_len);
}

/* The environment, at most @max bytes; only when asked (@max > 0). One
 * the reader may not see (another user's process) is left empty. */
static int read_env(const struct pc_procfs_ctx *ctx, int dirfd, size_t max,
		    struct read_scratch *s, struct pc_proc_info *info)
{
	bool cut;
	int err;

	if (!max)
		return 0;
	err = read_raw(ctx, dirfd, "environ", max, s, &info->env,
		       &info->env_len, &cut);
	if (cut)
		info->ev.flags |= PROCCACHE_F_ENV_TRUNC;
	if (!err || err == -ENOMEM)
		return err;
	if (pc_procfs_gone(err))
		info->ev.flags |= PROCCACHE_F_VANISHED;
	return read_none(&info->env, &info->env_len);
}

static int read_cwd(int dirfd, struct read_scratch *s,
		    struct pc_proc_info *info)
{
	bool truncated;
	ssize_t n;

	n = pc_procfs_read_link(dirfd, "cwd", s->path, sizeof(s->path), &truncated);
	if (n < 0) {
		info->ev.flags |= PROCCACHE_F_CWD_ERROR;
		if (pc_procfs_gone((int)n))
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

	if (pc_procfs_read_link(dirfd, name, buf, sizeof(buf), &truncated) < 0)
		return 0;
	lb = strchr(buf, '[');
	rb = lb ? strchr(lb, ']') : NULL;
	if (!rb || !pc_parse_u32(lb + 1, rb, &ino))
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


static uint64_t cgroup_id(const struct pc_procfs_ctx *ctx, const char *path,
			  char *buf, size_t len)
{
	struct stat sb;
	int n;

	if (!ctx->cgroot[0] || path[0] != '/' || pc_cgroup_path_escapes(path))
		return 0;
	/* the root cgroup is the mount's root: it cannot be made anew */
	if (!path[1] && ctx->cgroot_ino)
		return ctx->cgroot_ino;
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

/*
 * The v2 line "0::/path" gives the cgroup id and the container id. Hosts
 * without v2, or runtimes that leave v2 at "/" on hybrid hosts, name the
 * container in a v1 hierarchy only: its first id is taken then.
 */
static int read_cgroup(const struct pc_procfs_ctx *ctx, int dirfd,
		       struct read_scratch *s, struct pc_proc_info *info)
{
	char id[128] = "", v1_id[128] = "";
	const char *path;
	char *line, *nl;

	if (pc_procfs_read_text(ctx, dirfd, "cgroup", s->text, sizeof(s->text)) < 0)
		s->text[0] = '\0';
	for (line = s->text; *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		path = pc_cgroup_line_path(line);
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
	free(info->env);
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

static int read_fields(const struct pc_procfs_ctx *ctx, int dirfd, uint32_t pid,
		       const struct pc_procfs_caps *caps, struct read_scratch *s,
		       struct pc_proc_info *info)
{
	uint32_t skip = caps->skip & PROCCACHE_FIELD_ALL;
	int err = 0;

	info->ev.unknown = skip;
	if (!(skip & PROCCACHE_FIELD_CREDS))
		err = read_status(ctx, dirfd, pid, s, info);
	if (!err && !(skip & PROCCACHE_FIELD_AUID))
		read_loginuid(ctx, dirfd, info);
	if (!err)
		err = read_args(ctx, dirfd, caps->args_max, s, info);
	if (!err)
		err = read_env(ctx, dirfd, caps->env_max, s, info);
	if (!err && !(skip & PROCCACHE_FIELD_CWD))
		err = read_cwd(dirfd, s, info);
	if (!err && !(skip & PROCCACHE_FIELD_NS))
		read_all_ns(dirfd, &info->ev.ns);
	if (!err && !(skip & PROCCACHE_FIELD_CGROUP))
		err = read_cgroup(ctx, dirfd, s, info);
	return err;
}

/* The parent's start time, or 0 when it cannot be the parent's: a parent
 * cannot have started after its child, so a later one is a reused pid. */
static uint64_t parent_start(const struct pc_procfs_ctx *ctx, uint32_t ppid,
			     uint64_t child_ticks)
{
	uint64_t ns;

	if (!ppid || pc_procfs_start_time_at(ctx, ppid, &ns, NULL) ||
	    ns > pc_ticks_to_ns(child_ticks))
		return 0;
	return ns;
}

static void fill_event(const struct pc_proc_stat *st, struct pc_proc_info *info)
{
	struct proccache_event *ev = &info->ev;
	const char *comm;
	size_t comm_len;

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
	ev->env = info->env;
	ev->env_len = info->env_len;
	ev->cwd = info->cwd;
	ev->container_id = info->container_id;
	info->ppid = st->ppid;
	memcpy(info->comm, st->comm, sizeof(info->comm));
	/* The context: stat is read anyway, so it costs no extra read. */
	comm = st->comm[0] ? st->comm : "?";
	comm_len = strnlen(comm, sizeof(ev->comm) - 1);
	memcpy(ev->comm, comm, comm_len);
	ev->comm[comm_len] = '\0';
	ev->pgid = st->pgrp;
	ev->sid = st->session;
	ev->tty = st->tty_nr;
}

/*
 * One attempt: stat, exe and the fields, stat again. -EAGAIN when the
 * image changed in between (read again), -ENOENT when the process is gone
 * or its start time moved (a reused pid).
 */
static int read_once(const struct pc_procfs_ctx *ctx, int dirfd, uint32_t pid,
		     const struct pc_procfs_caps *caps, unsigned int flags,
		     struct read_scratch *s, struct pc_proc_info *info)
{
	struct pc_proc_stat first, last;
	int statfd, err;

	statfd = pc_procfs_open_stat(dirfd);
	if (statfd < 0)
		return statfd;
	err = pc_procfs_stat_from_fd(statfd, pid, ctx->real, &first);
	if (!err) {
		read_exe(dirfd, &s->exe);
		err = read_fields(ctx, dirfd, pid, caps, s, info);
	}
	if (!err) {
		err = pc_procfs_restat(ctx, dirfd, statfd, pid, &last);
		if (err && err != -EINVAL)
			err = -ENOENT;
	}
	close(statfd);
	if (err)
		return err;
	if (last.starttime != first.starttime)
		return -ENOENT;
	if (!same_stat_image(&first, &last) ||
	    exec_in_progress(&last, s->exe.err))
		return -EAGAIN;
	/* Exiting by the end (do_exit() sets PF_EXITING before it lets go
	 * of the image): what was read may be half gone, as a failed exe
	 * would say. */
	if (last.flags & PF_EXITING)
		s->exe.err = -ENOENT;
	err = take_exe(&s->exe, last.flags & PF_KTHREAD, info);
	if (err)
		return err;
	fill_event(&last, info);
	if (!(flags & PC_PROCFS_READ_NO_PARENT))
		info->ev.parent.ktime = parent_start(ctx, last.ppid,
						     last.starttime);
	return 0;
}

static int read_at(const struct pc_procfs_ctx *ctx, uint32_t pid,
		   const struct pc_procfs_caps *in, unsigned int flags,
		   struct pc_proc_info *ret)
{
	static const struct timespec backoff = { 0, 1000000 };
	struct pc_procfs_caps caps = in ? *in : (struct pc_procfs_caps){ 0 };
	struct pc_proc_info info;
	struct read_scratch *s;
	int attempt, dirfd, err = -EAGAIN;

	if (!pid || !ret)
		return -EINVAL;
	if (!caps.args_max)
		caps.args_max = PC_PROCFS_ARGS_DEFAULT;
	if (caps.args_max > SIZE_MAX / 2)
		caps.args_max = SIZE_MAX / 2;
	if (caps.env_max > SIZE_MAX / 2)
		caps.env_max = SIZE_MAX / 2;
	dirfd = pc_procfs_open_pid(ctx, pid);
	if (dirfd < 0) {
		if (!pc_procfs_gone(dirfd))
			pc_procfs_reject(ctx, pid, strerror(-dirfd));
		return dirfd;
	}
	s = malloc(sizeof(*s));
	if (!s) {
		close(dirfd);
		return -ENOMEM;
	}
	for (attempt = 0; attempt <= PC_PROCFS_READ_RETRIES; attempt++) {
		memset(&info, 0, sizeof(info));
		err = read_once(ctx, dirfd, pid, &caps, flags, s, &info);
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
		pc_procfs_reject(ctx, pid, pc_procfs_stat_problem());
	else if (!pc_procfs_gone(err) && err != -EAGAIN && err != -ESRCH &&
		 err != -ENOMEM)
		pc_procfs_reject(ctx, pid, strerror(-err));
	return err;
}

int pc_procfs_read_at(const struct pc_procfs_ctx *ctx, uint32_t pid,
		      const struct pc_procfs_caps *caps, struct pc_proc_info *ret)
{
	return read_at(ctx, pid, caps, 0, ret);
}

int pc_procfs_read_env(const char *prefix, uint32_t pid, size_t args_max,
		       size_t env_max, struct pc_proc_info *ret)
{
	struct pc_procfs_caps caps = { .args_max = args_max, .env_max = env_max };
	struct pc_procfs_ctx ctx;
	int err = pc_procfs_ctx_init(&ctx, prefix, true);

	return err ? err : pc_procfs_read_at(&ctx, pid, &caps, ret);
}

int pc_procfs_read(const char *prefix, uint32_t pid, size_t args_max,
		   struct pc_proc_info *ret)
{
	return pc_procfs_read_env(prefix, pid, args_max, 0, ret);
}

int pc_procfs_reader_read(struct pc_procfs_reader *r, uint32_t pid,
			  const struct pc_procfs_caps *caps, unsigned int flags,
			  struct pc_proc_info *ret)
{
	return read_at(&r->ctx, pid, caps, flags, ret);
}

