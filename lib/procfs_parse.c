/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of /proc text: stat, status, cgroup lines and container ids.
 * Pure functions of their input (procfs_parse.h); the reading is
 * procfs_read.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "procfs_parse.h"


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

bool pc_parse_u32(const char *s, const char *end, uint32_t *ret)
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
static bool stat_field(struct pc_proc_stat *st, int field, const char *s,
		       const char *end)
{
	switch (field) {
	case 3:
		st->state = *s;
		return end - s == 1;
	case 4:
		return pc_parse_u32(s, end, &st->ppid);
	case 5:
		return pc_parse_u32(s, end, &st->pgrp);
	case 6:
		return pc_parse_u32(s, end, &st->session);
	case 7:
		return pc_parse_u32(s, end, &st->tty_nr);
	case 9:
		return pc_parse_u32(s, end, &st->flags);
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
int pc_parse_stat(const char *line, struct pc_proc_stat *st)
{
	const char *lp = strchr(line, '('), *rp = strrchr(line, ')');
	const char *s, *end;
	size_t comm_len;
	int field = 3;

	memset(st, 0, sizeof(*st));
	if (!lp || !rp || rp < lp || lp == line || lp[-1] != ' ' ||
	    !pc_parse_u32(line, lp - 1, &st->pid))
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
int pc_parse_status(const char *text, uint32_t pid,
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
bool pc_cgroup_path_escapes(const char *path)
{
	const char *p;

	for (p = strstr(path, ".."); p; p = strstr(p + 2, ".."))
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}
/* The path of one "id:controllers:path" line, or NULL. */
const char *pc_cgroup_line_path(const char *line)
{
	const char *colon = strchr(line, ':');

	colon = colon ? strchr(colon + 1, ':') : NULL;
	return colon ? colon + 1 : NULL;
}
