/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record queue and the JSON writer. A record is tagged once the sensor
 * has had time to tell the cache about its sender (the lag), as the image
 * that held the sender's pid when the kernel received the datagram: a
 * sender that exited or exec'd since is still named as it was.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logtag.h"
#include "syslog.h"

uint64_t lt_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int lt_init(struct logtag *lt, size_t max_pending)
{
	lt->q = calloc(max_pending, sizeof(*lt->q));
	lt->tagbuf_cap = 8192;
	lt->tagbuf = malloc(lt->tagbuf_cap);
	if (!lt->q || !lt->tagbuf)
		return -ENOMEM;
	lt->q_cap = max_pending;
	jw_init(&lt->jw);
	return 0;
}

void lt_fini(struct logtag *lt)
{
	for (size_t i = 0; i < lt->q_len; i++)
		free(lt->q[(lt->q_head + i) % lt->q_cap]);
	free(lt->q);
	free(lt->tagbuf);
	jw_free(&lt->jw);
}

static void span(struct jw *w, const char *key, const struct span *s)
{
	if (s->s)
		jw_string_n(w, key, s->s, s->len);
}

static const char *format_name(enum syslog_format f)
{
	return f == SYSLOG_RFC5424 ? "rfc5424"
	       : f == SYSLOG_RFC3164 ? "rfc3164"
				     : "unknown";
}

/* The tags of @r's sender into lt->tagbuf: its length, or -ENOENT. */
static int tag(struct logtag *lt, const struct record *r)
{
	int n;

	if (!r->creds || r->pid <= 0)
		return -ENOENT;
	n = proccache__tags_pid_json(lt->pc, (uint32_t)r->pid, r->at, &lt->tags,
				     lt->tagbuf, lt->tagbuf_cap);
	if (n >= 0 && (size_t)n >= lt->tagbuf_cap) {
		char *bigger = realloc(lt->tagbuf, (size_t)n + 1);

		if (!bigger)
			return -ENOMEM;
		lt->tagbuf = bigger;
		lt->tagbuf_cap = (size_t)n + 1;
		n = proccache__tags_pid_json(lt->pc, (uint32_t)r->pid, r->at,
					     &lt->tags, lt->tagbuf,
					     lt->tagbuf_cap);
	}
	return n;
}

static void iso8601(uint64_t wall_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(wall_ns / 1000000000u);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06uZ",
		 (unsigned int)(wall_ns % 1000000000u / 1000u));
}

/* One JSON line: the datagram's syslog fields, the sender as the kernel
 * attested it, and its tags (null when the cache did not know it). */
static void write_record(struct logtag *lt, const struct record *r,
			 bool tagged)
{
	struct syslog_msg m;
	struct jw *w = &lt->jw;
	char when[48];
	const char *text;
	size_t len;

	syslog_parse(r->data, r->len, &m);
	if (m.malformed || r->truncated)
		lt->n.malformed++;
	iso8601(r->wall_ns, when, sizeof(when));
	jw_reset(w);
	jw_object_begin(w, NULL);
	jw_string(w, "received", when);
	jw_uint(w, "boot_ns", r->at);
	jw_object_begin(w, "sender");
	if (r->creds) {
		jw_int(w, "pid", r->pid);
		jw_uint(w, "uid", r->uid);
		jw_uint(w, "gid", r->gid);
	}
	jw_object_end(w);
	jw_string(w, "format", format_name(m.format));
	jw_bool(w, "malformed", m.malformed || r->truncated);
	if (r->truncated)
		jw_bool(w, "truncated", true);
	if (m.facility >= 0) {
		jw_int(w, "facility", m.facility);
		jw_int(w, "severity", m.severity);
	}
	span(w, "timestamp", &m.timestamp);
	span(w, "hostname", &m.hostname);
	span(w, "app_name", &m.app_name);
	span(w, "procid", &m.procid);
	span(w, "msgid", &m.msgid);
	span(w, "structured_data", &m.structured_data);
	jw_string_n(w, "message", m.message.s ? m.message.s : "",
		    m.message.len);
	jw_object_end(w);
	if (jw_failed(w)) {
		lt->n.dropped++;
		return;
	}
	/* The tags are JSON members already: put them in before the brace. */
	text = jw_text(w);
	len = strlen(text);
	if (fprintf(lt->out, "%.*s,\"process\":%s%s%s}\n", (int)(len - 1), text,
		    tagged ? "{" : "null", tagged ? lt->tagbuf : "",
		    tagged ? "}" : "") < 0) {
		lt->n.dropped++;
		return;
	}
	lt->n.written++;
	if (!tagged)
		lt->n.untagged++;
}

static struct record *pop(struct logtag *lt)
{
	struct record *r = lt->q[lt->q_head];

	lt->q_head = (lt->q_head + 1) % lt->q_cap;
	lt->q_len--;
	return r;
}

uint64_t lt_process(struct logtag *lt, uint64_t now, bool flush)
{
	while (lt->q_len) {
		struct record *r = lt->q[lt->q_head];
		int n;

		if (!flush && now < r->seen + lt->lag_ns)
			return r->seen + lt->lag_ns - now;
		n = tag(lt, r);
		if (n == -ENOENT && !flush && now < r->seen + lt->wait_ns) {
			r->waited = true;
			return 1000000; /* look again in a millisecond */
		}
		if (n >= 0 && r->waited)
			lt->n.late++;
		write_record(lt, r, n >= 0);
		free(pop(lt));
	}
	return 0;
}

void lt_push(struct logtag *lt, struct record *r)
{
	if (lt->q_len == lt->q_cap) {
		/* Full: the oldest goes out as it is, rather than be lost. */
		struct record *old = pop(lt);
		int n = tag(lt, old);

		write_record(lt, old, n >= 0);
		free(old);
	}
	lt->q[(lt->q_head + lt->q_len) % lt->q_cap] = r;
	lt->q_len++;
	lt->n.received++;
}
