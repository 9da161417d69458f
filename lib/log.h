/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's log callback: the only way the library speaks. */
#ifndef PROCCACHE_LOG_H
#define PROCCACHE_LOG_H

#include <stdarg.h>

#include "proccache/proccache.h"

/* Format and hand one message to the host's callback, if any. Any thread. */
void pc_log(enum proccache_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pc_vlog(enum proccache_log_level level, const char *fmt, va_list ap);

#define pc_error(...) pc_log(PROCCACHE_LOG_ERROR, __VA_ARGS__)
#define pc_warn(...) pc_log(PROCCACHE_LOG_WARN, __VA_ARGS__)
#define pc_info(...) pc_log(PROCCACHE_LOG_INFO, __VA_ARGS__)
#define pc_debug(...) pc_log(PROCCACHE_LOG_DEBUG, __VA_ARGS__)

#endif
