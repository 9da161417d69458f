/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every process under a /proc prefix: the bare listing with start times,
 * and the parents-first scan that reads each one (procfs_read.c). Order
 * rules: docs/procfs.md.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "procfs_read.h"

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
	return pc_parse_u32(name, name + strlen(name), ret) && *ret;
}

/* Every numeric entry of the prefix with its start time and parent. */
static int list_pids(const struct pc_procfs_ctx *ctx, struct scan_list *l)
{
	struct scan_entry e = { 0 };
	struct pc_proc_stat st;
	char path[PATH_MAX];
	struct dirent *de;
	int err, fd;
	DIR *dir;

	err = pc_procfs_path(ctx, "", path, sizeof(path));
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
			if (!pc_procfs_gone(-errno))
				pc_procfs_reject(ctx, e.pid, strerror(errno));
			continue;
		}
		err = pc_procfs_read_stat(fd, e.pid, &st);
		close(fd);
		if (err == -EINVAL)
			pc_procfs_reject(ctx, e.pid, pc_procfs_stat_problem());
		else if (err && !pc_procfs_gone(err))
			pc_procfs_reject(ctx, e.pid, strerror(-err));
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
	struct pc_procfs_ctx ctx;
	int err;

	if (!fn)
		return -EINVAL;
	err = pc_procfs_ctx_init(&ctx, prefix, false);
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

static int visit_all(const struct pc_procfs_ctx *ctx, const struct scan_list *l,
		     const struct pc_procfs_caps *caps, pc_procfs_scan_fn fn,
		     void *userdata)
{
	struct late_list late = { 0 };
	struct pc_proc_info info;
	int count = 0, err = 0;
	size_t i;

	for (i = 0; i < l->n && !err; i++) {
		err = pc_procfs_read_at(ctx, l->v[i].pid, caps, &info);
		if (err == -ENOMEM)
			break;
		if (err) {
			if (!pc_procfs_gone(err))
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

int pc_procfs_scan_env(const char *prefix, size_t args_max, size_t env_max,
		       pc_procfs_scan_fn fn, void *userdata)
{
	struct pc_procfs_caps caps = { .args_max = args_max, .env_max = env_max };
	struct scan_list l = { 0 };
	struct pc_procfs_ctx ctx;
	int err;

	if (!fn)
		return -EINVAL;
	err = pc_procfs_ctx_init(&ctx, prefix, true);
	if (!err)
		err = list_pids(&ctx, &l);
	if (!err && l.n) {
		rank_same_tick(&l);
		qsort(l.v, l.n, sizeof(*l.v), cmp_entry);
		err = visit_all(&ctx, &l, &caps, fn, userdata);
	}
	free(l.v);
	return err;
}

int pc_procfs_scan(const char *prefix, size_t args_max, pc_procfs_scan_fn fn,
		   void *userdata)
{
	return pc_procfs_scan_env(prefix, args_max, 0, fn, userdata);
}
