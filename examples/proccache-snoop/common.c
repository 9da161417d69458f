/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers both output formats share: clocks, names, lineage, arguments. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "snoop.h"

#define NSEC_PER_SEC 1000000000ull

static const char *const ns_names[SNOOP_NS_COUNT] = {
	[PROCCACHE_NS_UTS] = "uts",
	[PROCCACHE_NS_IPC] = "ipc",
	[PROCCACHE_NS_MNT] = "mnt",
	[PROCCACHE_NS_PID] = "pid",
	[PROCCACHE_NS_PID_FOR_CHILDREN] = "pid_for_children",
	[PROCCACHE_NS_NET] = "net",
	[PROCCACHE_NS_TIME] = "time",
	[PROCCACHE_NS_TIME_FOR_CHILDREN] = "time_for_children",
	[PROCCACHE_NS_CGROUP] = "cgroup",
	[PROCCACHE_NS_USER] = "user",
};

const char *snoop_ns_name(enum proccache_ns_type type)
{
	return (unsigned int)type < SNOOP_NS_COUNT ? ns_names[type] : "?";
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t snoop_boot_now(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

/*
 * pid 1's namespaces from <proc>/1/ns/<name>: stat() follows the link to
 * the nsfs inode. Unreadable ones (pid 1 may refuse even root) stay 0 and
 * are learned from the cache later.
 */
static void host_ns_from_proc(struct snoop *s)
{
	char path[PATH_MAX];
	struct stat st;
	int i;

	for (i = 0; i < SNOOP_NS_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/1/ns/%s", s->proc_prefix,
			 ns_names[i]);
		if (stat(path, &st) == 0)
			s->host_ns[i] = (uint32_t)st.st_ino;
	}
}

void snoop_init(struct snoop *s)
{
	/* Read the two clocks back to back; the offset is fixed afterwards
	 * (a later settimeofday() shifts wall time, not recorded events). */
	uint64_t real = clock_ns(CLOCK_REALTIME);
	uint64_t boot = clock_ns(CLOCK_BOOTTIME);

	s->boot_to_wall_ns = (int64_t)(real - boot);
	jw_init(&s->jw);
	host_ns_from_proc(s);
}

void snoop_fini(struct snoop *s)
{
	jw_free(&s->jw);
}

static void split_wall(const struct snoop *s, uint64_t boot_ns, time_t *sec,
		       uint32_t *nsec)
{
	int64_t wall = (int64_t)boot_ns + s->boot_to_wall_ns;

	if (wall < 0)
		wall = 0;
	*sec = (time_t)(wall / (int64_t)NSEC_PER_SEC);
	*nsec = (uint32_t)(wall % (int64_t)NSEC_PER_SEC);
}

void snoop_format_time(const struct snoop *s, uint64_t boot_ns, char *buf,
		       size_t len)
{
	struct tm tm;
	uint32_t nsec;
	time_t sec;

	split_wall(s, boot_ns, &sec, &nsec);
	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, nsec);
}

void snoop_format_proto_time(const struct snoop *s, uint64_t boot_ns,
			     char *buf, size_t len)
{
	struct tm tm;
	uint32_t nsec;
	time_t sec;
	int n;

	split_wall(s, boot_ns, &sec, &nsec);
	gmtime_r(&sec, &tm);
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= len)
		return;
	if (nsec == 0)
		snprintf(buf + n, len - (size_t)n, "Z");
	else if (nsec % 1000000 == 0)
		snprintf(buf + n, len - (size_t)n, ".%03uZ", nsec / 1000000);
	else if (nsec % 1000 == 0)
		snprintf(buf + n, len - (size_t)n, ".%06uZ", nsec / 1000);
	else
		snprintf(buf + n, len - (size_t)n, ".%09uZ", nsec);
}

void snoop_format_clock(const struct snoop *s, uint64_t boot_ns, char *buf,
			size_t len)
{
	struct tm tm;
	uint32_t nsec;
	time_t sec;

	split_wall(s, boot_ns, &sec, &nsec);
	localtime_r(&sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min,
		 tm.tm_sec, nsec / 1000000u);
}

void snoop_format_signal(int sig, char *buf, size_t len)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;

	if (sig <= 0)
		snprintf(buf, len, "%s", "");
	else if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "SIG%d", sig);
}

/*
 * Fill the namespaces of pid 1 still unknown from the cache: its entry of
 * pid 1 first (same pid namespace as the events), else kthreadd's (pid 2
 * with parent 0), which the kernel starts in the initial namespaces too;
 * pid 1 may hide its own from /proc even to root. Final once both were
 * looked at, or once the start-up /proc scan is over (snoop_started()).
 */
static void host_ns_from_cache(struct snoop *s)
{
	struct proccache_process *init = proccache__lookup_pid(s->pc, 1);
	struct proccache_process *kthreadd = proccache__lookup_pid(s->pc, 2);
	int i;

	if (kthreadd && proccache_process__parent_key(kthreadd).pid != 0) {
		proccache_process__unref(kthreadd);
		kthreadd = NULL;
	}
	for (i = 0; i < SNOOP_NS_COUNT; i++) {
		uint32_t inum = init ? proccache_process__ns(init, i) : 0;

		if (!inum && !s->host_ns[i] && kthreadd)
			inum = proccache_process__ns(kthreadd, i);
		if (inum)
			s->host_ns[i] = inum;
	}
	s->host_ns_final = init && kthreadd;
	proccache_process__unref(init);
	proccache_process__unref(kthreadd);
}

bool snoop_ns_is_host(struct snoop *s, enum proccache_ns_type type,
		      uint32_t inum)
{
	if ((unsigned int)type >= SNOOP_NS_COUNT)
		return false;
	if (!s->host_ns_final)
		host_ns_from_cache(s);
	return inum && inum == s->host_ns[type];
}

void snoop_started(struct snoop *s)
{
	if (!s->host_ns_final)
		host_ns_from_cache(s);
	s->host_ns_final = true;
}

void snoop_ancestors_put(struct proccache_process **a, int n)
{
	int i;

	for (i = 0; i < n; i++)
		proccache_process__unref(a[i]);
	free(a);
}

int snoop_ancestors(struct snoop *s, const struct proccache_process *p,
		    struct proccache_process ***ret)
{
	struct proccache_key key = proccache_process__key(p);
	struct proccache_process **a;
	int len, n;

	*ret = NULL;
	len = proccache__ancestors(s->pc, &key, NULL, 0,
				   PROCCACHE_ANCESTORS_FULL);
	if (len <= 0)
		return len;
	a = calloc((size_t)len, sizeof(*a));
	if (!a)
		return -ENOMEM;
	/* We are the ingest thread: nothing can change the chain between the
	 * two calls, so the length learned above still holds. */
	n = proccache__ancestors(s->pc, &key, a, (size_t)len,
				 PROCCACHE_ANCESTORS_FULL);
	if (n < 0) {
		free(a);
		return n;
	}
	*ret = a;
	return n;
}

char *snoop_arguments(const struct proccache_process *p)
{
	size_t args_len;
	const char *args = proccache_process__args(p, &args_len);
	int len = proccache_args_decode(args, args_len, 1, NULL, 0);
	char *out;

	if (len < 0)
		return strdup("");
	out = malloc((size_t)len + 1);
	if (out)
		proccache_args_decode(args, args_len, 1, out, (size_t)len + 1);
	return out;
}

bool snoop_next_arg(const struct proccache_process *p, bool from_argv0,
		    size_t *off, const char **arg, size_t *len)
{
	size_t args_len;
	const char *args = proccache_process__args(p, &args_len);

	if (*off == 0 && !from_argv0 && args_len)
		*off = strnlen(args, args_len) + 1;
	if (*off >= args_len)
		return false;
	*arg = args + *off;
	*len = strnlen(*arg, args_len - *off);
	*off += *len + 1;
	return true;
}

bool snoop_next_env(const struct proccache_process *p, size_t *off,
		    const char **var, size_t *len)
{
	size_t env_len;
	const char *env = proccache_process__env(p, &env_len);

	if (*off >= env_len)
		return false;
	*var = env + *off;
	*len = strnlen(*var, env_len - *off);
	*off += *len + 1;
	return true;
}

bool snoop_user_name(struct snoop *s, uint32_t uid, char *buf, size_t len)
{
	return s->users && proccache_users__user_name(s->users, uid, buf, len) >= 0;
}

bool snoop_group_name(struct snoop *s, uint32_t gid, char *buf, size_t len)
{
	return s->users && proccache_users__group_name(s->users, gid, buf, len) >= 0;
}

uint64_t snoop_event_time(const struct proccache_event *ev,
			  const struct proccache_process *p)
{
	uint64_t t = 0;

	if (ev->type == PROCCACHE_EVENT_EXIT && p)
		t = proccache_process__exit_time(p);
	else if (p)
		t = proccache_process__ktime(p);
	return t ? t : snoop_boot_now();
}
