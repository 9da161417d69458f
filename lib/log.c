/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* Logging is rare and off every hot path: a mutex keeps the callback and its
 * userdata consistent with each other. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static proccache_log_fn sink_fn;
static void *sink_userdata;

PROCCACHE_API void proccache_set_log(proccache_log_fn fn, void *userdata)
{
	pthread_mutex_lock(&sink_lock);
	sink_fn = fn;
	sink_userdata = userdata;
	pthread_mutex_unlock(&sink_lock);
}

void pc_vlog(enum proccache_log_level level, const char *fmt, va_list ap)
{
	proccache_log_fn fn;
	void *userdata;
	char line[1024];
	size_t n;

	pthread_mutex_lock(&sink_lock);
	fn = sink_fn;
	userdata = sink_userdata;
	pthread_mutex_unlock(&sink_lock);
	if (!fn)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	fn(level, line, userdata);
}

void pc_log(enum proccache_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pc_vlog(level, fmt, ap);
	va_end(ap);
}
