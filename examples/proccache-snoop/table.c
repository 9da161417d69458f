/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The default output: one aligned line per event. Text from the kernel is
 * made safe for a terminal: control characters, DEL and bytes that are not
 * UTF-8 are shown as \xNN, so one event is always exactly one line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snoop.h"

#define BINARY_WIDTH 28
#define COLS "%-12s %-5s %7s %7s %6s %-28s %s" /* 28: BINARY_WIDTH */

/* Printed with the first event, so a snoop that fails to start prints
 * nothing on stdout. */
static void put_header(struct snoop *s)
{
	if (s->table_header_done)
		return;
	fprintf(s->out, COLS "\n", "TIME", "EVENT", "PID", "PPID", "UID",
		"BINARY", "ARGS / EXIT");
	s->table_header_done = true;
}

/* Writes @str made safe; returns the columns used (one per character). */
static size_t put_safe(FILE *out, const char *str, size_t len)
{
	const unsigned char *t = (const unsigned char *)str;
	size_t i = 0, width = 0;

	while (i < len) {
		size_t n = utf8_valid_len(t + i, len - i);

		if (n == 0 || t[i] < 0x20 || t[i] == 0x7f) {
			fprintf(out, "\\x%02x", t[i]);
			n = 1;
			width += 4;
		} else {
			fwrite(t + i, 1, n, out);
			width++;
		}
		i += n;
	}
	return width;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* "  <- sh(812) <- bash(640) <- systemd(1)": the whole lineage, parent on. */
static int put_ancestors(struct snoop *s, const struct proccache_process *p)
{
	struct proccache_process **chain;
	int i, n = snoop_ancestors(s, p, &chain);

	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return n;
	fputs(" ", s->out);
	for (i = 0; i < n; i++) {
		const char *bin = basename_of(proccache_process__binary(chain[i]));

		fputs(" <- ", s->out);
		put_safe(s->out, *bin ? bin : "?", strlen(*bin ? bin : "?"));
		fprintf(s->out, "(%u)", proccache_process__pid(chain[i]));
	}
	snoop_ancestors_put(chain, n);
	return 0;
}

static int put_details(struct snoop *s, const struct proccache_event *ev,
		       const struct proccache_process *p)
{
	char sig[SNOOP_SIGNAL_MAX];
	char *args;

	if (ev->type == PROCCACHE_EVENT_EXIT) {
		snoop_format_signal(proccache_process__exit_signal(p), sig,
				    sizeof(sig));
		if (*sig)
			fprintf(s->out, "signal=%s", sig);
		else
			fprintf(s->out, "status=%d",
				proccache_process__exit_code(p));
		return 0;
	}
	args = snoop_arguments(p);
	if (!args)
		return -ENOMEM;
	put_safe(s->out, args, strlen(args));
	free(args);
	return 0;
}

/*
 * The parent process, as ps shows it. The cache's parent of a re-exec is
 * the previous image of the same pid, so walk up past those (a bounded
 * walk: a pid rarely re-execs more than a few times in a row).
 */
static uint32_t parent_pid(struct snoop *s, const struct proccache_process *p)
{
	struct proccache_key key = proccache_process__key(p);
	struct proccache_process *chain[16];
	uint32_t ppid = proccache_process__parent_key(p).pid;
	int i, n;

	if (ppid != key.pid)
		return ppid;
	n = proccache__ancestors(s->pc, &key, chain, 16, 0);
	for (i = 0; i < n; i++) {
		ppid = proccache_process__pid(chain[i]);
		if (ppid != key.pid)
			break;
		ppid = proccache_process__parent_key(chain[i]).pid;
	}
	for (i = 0; i < n; i++)
		proccache_process__unref(chain[i]);
	return ppid;
}

static const char *event_name(uint32_t type)
{
	switch (type) {
	case PROCCACHE_EVENT_EXEC:
		return "exec";
	case PROCCACHE_EVENT_CLONE:
		return "clone";
	case PROCCACHE_EVENT_EXIT:
		return "exit";
	default:
		return "?";
	}
}

static void put_lost(struct snoop *s, const struct proccache_event *ev)
{
	char clock[SNOOP_TIME_MAX];

	snoop_format_clock(s, snoop_boot_now(), clock, sizeof(clock));
	put_header(s);
	fprintf(s->out, COLS "%llu events lost by the sensor\n", clock, "lost",
		"-", "-", "-", "-", "", (unsigned long long)ev->lost);
}

int snoop_table_event(struct snoop *s, const struct proccache_event *ev,
		      const struct proccache_process *p,
		      const struct proccache_process *parent)
{
	char clock[SNOOP_TIME_MAX], pid[12], ppid[12], uid[12];
	const char *bin;
	size_t width;
	uint64_t t;
	int err;

	if (ev->type == PROCCACHE_EVENT_LOST) {
		put_lost(s, ev);
		return 0;
	}
	if (!p)
		return 0;
	t = ev->type == PROCCACHE_EVENT_EXIT ? proccache_process__exit_time(p)
					     : proccache_process__ktime(p);
	snoop_format_clock(s, t ? t : snoop_boot_now(), clock, sizeof(clock));
	snprintf(pid, sizeof(pid), "%u", proccache_process__pid(p));
	snprintf(ppid, sizeof(ppid), "%u", parent_pid(s, p));
	snprintf(uid, sizeof(uid), "%u",
		 proccache_process__cred(p, PROCCACHE_CRED_EUID));

	put_header(s);
	fprintf(s->out, "%-12s %-5s %7s %7s %6s ", clock,
		event_name(ev->type), pid, ppid, uid);
	bin = proccache_process__binary(p);
	if (!*bin)
		bin = "-"; /* kernel threads, or an exe /proc would not show */
	width = put_safe(s->out, bin, strlen(bin));
	/* Pad by characters, not bytes; a longer path pushes the rest right. */
	fprintf(s->out, "%*s ",
		width < BINARY_WIDTH ? (int)(BINARY_WIDTH - width) : 0, "");
	err = put_details(s, ev, p);
	if (!err && s->ancestors)
		err = put_ancestors(s, p);
	putc('\n', s->out);
	return err;
}
