/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Syslog datagrams as they arrive on /dev/log: RFC 5424 ("<PRI>1 TIMESTAMP
 * HOST APP PROCID MSGID SD MSG") and the RFC 3164 forms local senders use
 * ("<PRI>Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG", glibc's syslog(3) without
 * the host, or only "<PRI>MSG" as Python's SysLogHandler sends it).
 */
#ifndef LOGTAG_SYSLOG_H
#define LOGTAG_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>

enum syslog_format { SYSLOG_UNKNOWN, SYSLOG_RFC3164, SYSLOG_RFC5424 };

/* A part of the datagram; absent when s is NULL (RFC 5424's "-" too). */
struct span {
	const char *s;
	size_t len;
};

struct syslog_msg {
	enum syslog_format format;
	bool malformed; /* the datagram did not follow its format */
	int facility, severity; /* -1 when there is no PRI */
	struct span timestamp, hostname, app_name, procid, msgid;
	struct span structured_data; /* RFC 5424, as written */
	struct span message;
};

/* Parse @len bytes at @buf; the spans point into @buf. Never fails: what
 * cannot be parsed is the message, and @ret->malformed says so. */
void syslog_parse(const char *buf, size_t len, struct syslog_msg *ret);

#endif
