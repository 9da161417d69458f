/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "syslog.h"

/* A cursor over the datagram. */
struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* "<PRI>": 1 to 3 digits, at most 191 (facility 23, severity 7). */
static bool parse_pri(struct cur *c, struct syslog_msg *m)
{
	const char *p = c->p;
	int pri = 0, digits = 0;

	if (p >= c->end || *p++ != '<')
		return false;
	while (p < c->end && is_digit(*p) && digits < 4) {
		pri = pri * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || digits > 3 || pri > 191 || p >= c->end || *p != '>')
		return false;
	c->p = p + 1;
	m->facility = pri / 8;
	m->severity = pri % 8;
	return true;
}

/* A header field of RFC 5424: printable US-ASCII up to one space; "-" is
 * the nil value. False when the field or its space is missing. */
static bool field_5424(struct cur *c, struct span *ret)
{
	const char *start = c->p;

	while (c->p < c->end && *c->p > ' ' && *c->p < 0x7f)
		c->p++;
	if (c->p == start || at_end(c) || *c->p != ' ')
		return false;
	if (c->p - start == 1 && *start == '-')
		*ret = (struct span){ NULL, 0 };
	else
		*ret = (struct span){ start, (size_t)(c->p - start) };
	c->p++;
	return true;
}

/* One or more "[id param="value" ...]" elements; '"', '\' and ']' may be
 * escaped by '\' inside a value. */
static bool structured_data(struct cur *c, struct span *ret)
{
	const char *start = c->p;

	if (!at_end(c) && *c->p == '-') {
		c->p++;
		*ret = (struct span){ NULL, 0 };
		return true;
	}
	while (!at_end(c) && *c->p == '[') {
		bool quoted = false;

		for (c->p++; !at_end(c); c->p++) {
			if (quoted && *c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			else if (*c->p == '"')
				quoted = !quoted;
			else if (!quoted && *c->p == ']')
				break;
		}
		if (at_end(c))
			return false;
		c->p++;
	}
	if (c->p == start)
		return false;
	*ret = (struct span){ start, (size_t)(c->p - start) };
	return true;
}

static void rest_is_message(struct cur *c, struct syslog_msg *m)
{
	const char *end = c->end;

	/* Senders end a datagram with a NUL (Python) or a newline. */
	while (end > c->p && (end[-1] == '\0' || end[-1] == '\n'))
		end--;
	m->message = (struct span){ c->p, (size_t)(end - c->p) };
	c->p = c->end;
}

static void parse_5424(struct cur *c, struct syslog_msg *m)
{
	struct span version;

	m->format = SYSLOG_RFC5424;
	if (!field_5424(c, &version) || !field_5424(c, &m->timestamp) ||
	    !field_5424(c, &m->hostname) || !field_5424(c, &m->app_name) ||
	    !field_5424(c, &m->procid) || !field_5424(c, &m->msgid) ||
	    !structured_data(c, &m->structured_data) ||
	    (!at_end(c) && *c->p != ' ' && *c->p != '\0' && *c->p != '\n')) {
		m->malformed = true;
		rest_is_message(c, m);
		return;
	}
	if (!at_end(c) && *c->p == ' ')
		c->p++;
	if (c->end - c->p >= 3 && !memcmp(c->p, "\xef\xbb\xbf", 3))
		c->p += 3; /* the BOM that marks a UTF-8 message */
	rest_is_message(c, m);
}

/* "Mmm dd hh:mm:ss " (a day below 10 is space padded). */
static bool timestamp_3164(struct cur *c, struct span *ret)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = c->p;
	bool month = false;

	if (c->end - p < 16 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' ||
	    p[12] != ':' || p[15] != ' ')
		return false;
	for (int i = 0; i < 12 && !month; i++)
		month = !memcmp(p, months + 3 * i, 3);
	if (!month || !(p[4] == ' ' || is_digit(p[4])) || !is_digit(p[5]) ||
	    !is_digit(p[7]) || !is_digit(p[8]) || !is_digit(p[10]) ||
	    !is_digit(p[11]) || !is_digit(p[13]) || !is_digit(p[14]))
		return false;
	*ret = (struct span){ p, 15 };
	c->p = p + 16;
	return true;
}

/* The word at @p: up to a space or the end. */
static const char *word_end(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	return p;
}

/* A tag "name:" or "name[pid]:" ending at @end (exclusive of ':'), its
 * parts into @m. */
static bool tag_3164(const char *p, const char *end, struct syslog_msg *m)
{
	const char *open;

	if (end <= p || end[-1] != ':')
		return false;
	end--;
	open = memchr(p, '[', (size_t)(end - p));
	if (!open) {
		if (end == p)
			return false;
		m->app_name = (struct span){ p, (size_t)(end - p) };
		return true;
	}
	if (end[-1] != ']' || open == p || end - open < 3)
		return false;
	for (const char *d = open + 1; d < end - 1; d++)
		if (!is_digit(*d))
			return false;
	m->app_name = (struct span){ p, (size_t)(open - p) };
	m->procid = (struct span){ open + 1, (size_t)(end - 1 - open - 1) };
	return true;
}

/* After the timestamp: "[HOST ]TAG: MSG", or a bare message. The host is
 * told from the tag by the tag's colon. */
static void parse_3164(struct cur *c, struct syslog_msg *m)
{
	bool stamped;
	const char *w1, *w2;

	m->format = SYSLOG_RFC3164;
	stamped = timestamp_3164(c, &m->timestamp);
	w1 = word_end(c->p, c->end);
	if (tag_3164(c->p, w1, m)) {
		c->p = w1 < c->end ? w1 + 1 : w1;
	} else if (stamped && w1 < c->end) {
		w2 = word_end(w1 + 1, c->end);
		if (tag_3164(w1 + 1, w2, m)) {
			m->hostname = (struct span){ c->p, (size_t)(w1 - c->p) };
			c->p = w2 < c->end ? w2 + 1 : w2;
		}
	}
	rest_is_message(c, m);
}

void syslog_parse(const char *buf, size_t len, struct syslog_msg *m)
{
	struct cur c = { buf, buf + len };

	memset(m, 0, sizeof(*m));
	m->facility = m->severity = -1;
	if (!parse_pri(&c, m)) {
		m->format = SYSLOG_UNKNOWN;
		m->malformed = true;
		rest_is_message(&c, m);
		return;
	}
	/* VERSION 1 is the only one RFC 5424 defines. */
	if (c.end - c.p >= 2 && c.p[0] == '1' && c.p[1] == ' ')
		parse_5424(&c, m);
	else
		parse_3164(&c, m);
}
