/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/proccache-snoop end to end: its command line, and (as root) a
 * known process tree seen through each output: every line of the Tetragon
 * and ECS formats against the project's schemas (tests/schema/check.py),
 * then the fields' meaning (tests/test_snoop.py), and the table. The
 * snoop's own JSON writer is unit-tested here too.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonw.h"
#include "snoop.h"
#include "tetragon_args.h"

#ifndef SNOOP_PATH
#error "SNOOP_PATH must name the proccache-snoop binary"
#endif
#ifndef SNOOP_CHECKER
#error "SNOOP_CHECKER must name tests/test_snoop.py"
#endif
#ifndef SCHEMA_CHECKER
#error "SCHEMA_CHECKER must name tests/schema/check.py"
#endif

#define READY_TIMEOUT_MS 60000
#define NODE_NAME "snoop-test-node"

/* ------------------------------------------------------------------------ */
/* Running the snoop with both outputs captured                              */
/* ------------------------------------------------------------------------ */

struct capture {
	char *buf;
	size_t len;
};

/* A running snoop; a thread drains both pipes so it never blocks on them. */
struct snoop_run {
	pid_t pid;
	int out_fd, err_fd;
	pthread_t reader;
	pthread_mutex_t lock;
	struct capture out, err;
	bool eof;
};

static void capture_append(struct capture *c, const char *data, size_t n)
{
	char *p = realloc(c->buf, c->len + n + 1);

	cr_assert_not_null(p);
	memcpy(p + c->len, data, n);
	c->len += n;
	p[c->len] = '\0';
	c->buf = p;
}

static void *reader_main(void *arg)
{
	struct snoop_run *r = arg;
	struct pollfd fds[2] = {
		{ .fd = r->out_fd, .events = POLLIN },
		{ .fd = r->err_fd, .events = POLLIN },
	};
	int open_fds = 2;
	char buf[65536];

	while (open_fds > 0) {
		int i;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			n = read(fds[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			pthread_mutex_lock(&r->lock);
			capture_append(i == 0 ? &r->out : &r->err, buf, (size_t)n);
			pthread_mutex_unlock(&r->lock);
		}
	}
	pthread_mutex_lock(&r->lock);
	r->eof = true;
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void snoop_spawn(struct snoop_run *r, const char *const *args)
{
	const char *argv[16] = { SNOOP_PATH };
	int out[2], err[2];
	size_t i;

	for (i = 0; args[i]; i++) {
		cr_assert_lt(i + 2, sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = args[i];
	}
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	r->pid = fork();
	cr_assert_geq(r->pid, 0);
	if (r->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(SNOOP_PATH, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	r->out_fd = out[0];
	r->err_fd = err[0];
	cr_assert_eq(pthread_create(&r->reader, NULL, reader_main, r), 0);
}

/* Wait for the "ready" line on stderr; false if the snoop ended first. */
static bool snoop_wait_ready(struct snoop_run *r)
{
	int waited;

	for (waited = 0; waited < READY_TIMEOUT_MS; waited += 10) {
		bool ready, eof;

		pthread_mutex_lock(&r->lock);
		ready = r->err.buf && (!strncmp(r->err.buf, "ready", 5) ||
				       strstr(r->err.buf, "\nready"));
		eof = r->eof;
		pthread_mutex_unlock(&r->lock);
		if (ready)
			return true;
		if (eof)
			return false;
		usleep(10000);
	}
	cr_assert_fail("no 'ready' from proccache-snoop within %d ms; stderr:\n%s",
		       READY_TIMEOUT_MS, r->err.buf ? r->err.buf : "");
	return false;
}

/* Collect the outputs and the exit status (after a signal, if any). */
static int snoop_finish(struct snoop_run *r, int sig)
{
	int status;

	if (sig)
		kill(r->pid, sig);
	cr_assert_eq(waitpid(r->pid, &status, 0), r->pid);
	pthread_join(r->reader, NULL);
	close(r->out_fd);
	close(r->err_fd);
	if (!r->out.buf)
		capture_append(&r->out, "", 0);
	if (!r->err.buf)
		capture_append(&r->err, "", 0);
	return status;
}

static void snoop_free(struct snoop_run *r)
{
	free(r->out.buf);
	free(r->err.buf);
	pthread_mutex_destroy(&r->lock);
}

/* Run to completion (for the command-line checks). */
static int snoop_run_once(struct snoop_run *r, const char *const *args)
{
	snoop_spawn(r, args);
	return snoop_finish(r, 0);
}

static void require_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: proccache-snoop needs root to load its BPF sensor (euid %u)",
			     (unsigned int)geteuid());
}

/* ------------------------------------------------------------------------ */
/* Command line                                                              */
/* ------------------------------------------------------------------------ */

Test(snoop_cli, help_exits_0_with_usage_on_stdout, .timeout = 30)
{
	struct snoop_run r;
	int st = snoop_run_once(&r, (const char *const[]){ "--help", NULL });

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_assert_not_null(strstr(r.out.buf, "Usage: proccache-snoop"));
	cr_assert_not_null(strstr(r.out.buf, "--backend"));
	snoop_free(&r);
}

static void assert_usage_error(const char *const *args)
{
	struct snoop_run r;
	int st = snoop_run_once(&r, args);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2,
		  "%s: want exit 2, status %#x", args[0], st);
	cr_assert_not_null(strstr(r.err.buf, "Usage: proccache-snoop"),
			   "%s: no usage on stderr: %s", args[0], r.err.buf);
	cr_assert_eq(r.out.len, 0, "%s: wrote to stdout: %s", args[0], r.out.buf);
	snoop_free(&r);
}

Test(snoop_cli, unknown_option_exits_2, .timeout = 30)
{
	assert_usage_error((const char *const[]){ "--bogus", NULL });
	assert_usage_error((const char *const[]){ "-x", NULL });
	assert_usage_error((const char *const[]){ "stray", NULL });
}

Test(snoop_cli, bad_values_exit_2, .timeout = 30)
{
	assert_usage_error((const char *const[]){ "--backend", "kprobe", NULL });
	assert_usage_error((const char *const[]){ "--backend", NULL });
	assert_usage_error((const char *const[]){ "--args-max", "12x", NULL });
	assert_usage_error((const char *const[]){ "--args-max", "0", NULL });
	assert_usage_error((const char *const[]){ "--args-max", "-5", NULL });
	assert_usage_error((const char *const[]){ "--format", "xml", NULL });
	assert_usage_error((const char *const[]){ "--format", NULL });
	/* Extensions are Tetragon's format's only. */
	assert_usage_error((const char *const[]){ "--format", "ecs", "--extensions", NULL });
	assert_usage_error((const char *const[]){ "--extensions", NULL });
}

/* A failure to start: the library's reason, our summary, exit 1, no output. */
Test(snoop_cli, start_failure_exits_1_with_the_reason, .timeout = 30)
{
	struct snoop_run r;
	int st = snoop_run_once(&r, (const char *const[]){ "--args-max", "1000000",
							  NULL });

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x", st);
	cr_assert_not_null(strstr(r.err.buf, "warn: sensor: args_max"),
			   "library log missing: %s", r.err.buf);
	cr_assert_not_null(strstr(r.err.buf, "Invalid argument"), "%s", r.err.buf);
	cr_assert_eq(r.out.len, 0, "wrote to stdout: %s", r.out.buf);
	snoop_free(&r);
}

/*
 * The netlink backend comes in its own issue. Today the library returns
 * -EOPNOTSUPP for it, and the snoop must say so clearly and exit 1. Once the
 * backend lands it must instead start, report backend=netlink and stop
 * cleanly; either way the outcome is checked, never a silent fallback.
 */
Test(snoop_cli, netlink_backend_works_or_fails_clearly, .timeout = 90)
{
	struct snoop_run r;
	int st;

	snoop_spawn(&r, (const char *const[]){ "--json", "--backend", "netlink", NULL });
	if (snoop_wait_ready(&r)) {
		st = snoop_finish(&r, SIGTERM);
		cr_assert_not_null(strstr(r.err.buf, "backend=netlink"), "%s",
				   r.err.buf);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	} else {
		st = snoop_finish(&r, 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1,
			  "want exit 1, status %#x; stderr: %s", st, r.err.buf);
		cr_assert_not_null(strstr(r.err.buf, "netlink"),
				   "message does not name the backend: %s",
				   r.err.buf);
		if (geteuid() == 0)
			cr_assert_not_null(strstr(r.err.buf, "not supported"),
					   "unexpected failure: %s", r.err.buf);
	}
	snoop_free(&r);
}

/* ------------------------------------------------------------------------ */
/* A known process tree                                                      */
/* ------------------------------------------------------------------------ */

struct tree {
	pid_t echo;    /* fork + execv /bin/echo "a b" q"t \xff */
	pid_t sh_echo; /* sh -c 'exec /bin/echo ...': a re-exec */
	pid_t exit3;   /* fork + _exit(3) */
	pid_t killed;  /* /bin/sleep killed by SIGKILL */
	pid_t killed_io; /* ... by SIGIO: glibc calls it POLL, Tetragon SIGIO */
	pid_t killed_rt; /* ... by SIGRTMIN+1: no name in Tetragon's table */
	pid_t nobody;  /* fork, setuid(65534), exec /bin/true: no capabilities */
};

static pid_t spawn_argv(const char *path, char *const argv[])
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

static void wait_exit(pid_t pid, int want_code, int want_sig)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (want_sig)
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == want_sig,
			  "pid %d: status %#x", pid, st);
	else
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == want_code,
			  "pid %d: status %#x", pid, st);
}

/* True once @pid runs @path (its exec has happened). */
static bool runs(pid_t pid, const char *path)
{
	char link[64], exe[PATH_MAX], want[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0 || !realpath(path, want))
		return false;
	exe[n] = '\0';
	return !strcmp(exe, want);
}

/* /bin/sleep, killed by @sig once it runs (a signal whose default action
 * ends the process). */
static pid_t spawn_sleep_killed(int sig)
{
	char *sleep_argv[] = { "sleep", "100", NULL };
	pid_t pid = spawn_argv("/bin/sleep", sleep_argv);
	int i;

	for (i = 0; i < 500 && !runs(pid, "/bin/sleep"); i++)
		usleep(10000);
	kill(pid, sig);
	wait_exit(pid, 0, sig);
	return pid;
}

/* Every process of the tree has these in its environment: the snoop
 * keeps them only when asked (--env-max), TOKEN's value redacted
 * (--redact), as tests/test_snoop.py checks. */
#define ENV_SECRET "snoop-env-secret"

static void run_tree(struct tree *t)
{
	char *echo_argv[] = { "echo", "a b", "q\"t", "\xff", NULL };
	char *sh_argv[] = { "sh", "-c",
			    "exec /bin/echo \"a b\" 'q\"t' \"$(printf '\\377')\"",
			    NULL };

	cr_assert_eq(setenv("TOKEN", ENV_SECRET, 1), 0);
	cr_assert_eq(setenv("PC_SNOOP_ENV", "visible", 1), 0);
	t->echo = spawn_argv("/bin/echo", echo_argv);
	wait_exit(t->echo, 0, 0);
	t->sh_echo = spawn_argv("/bin/sh", sh_argv);
	wait_exit(t->sh_echo, 0, 0);

	t->exit3 = fork();
	cr_assert_geq(t->exit3, 0);
	if (t->exit3 == 0)
		_exit(3);
	wait_exit(t->exit3, 3, 0);

	t->nobody = fork();
	cr_assert_geq(t->nobody, 0);
	if (t->nobody == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(126);
		execv("/bin/true", (char *[]){ "true", NULL });
		_exit(127);
	}
	wait_exit(t->nobody, 0, 0);

	t->killed = spawn_sleep_killed(SIGKILL);
	t->killed_io = spawn_sleep_killed(SIGIO);
	t->killed_rt = spawn_sleep_killed(SIGRTMIN + 1);
}

static char *write_temp(const struct capture *c)
{
	char *path = strdup("/tmp/test_snoop.XXXXXX");
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, c->buf, c->len), (ssize_t)c->len);
	close(fd);
	return path;
}

/* tests/schema/check.py: every line against the project's schema. */
static int run_schema_check(const char *format, const char *path)
{
	char cmd[2 * PATH_MAX + 128];

	snprintf(cmd, sizeof(cmd), "python3 '%s' --format %s '%s'", SCHEMA_CHECKER,
		 format, path);
	return system(cmd);
}

/* tests/test_snoop.py: the meaning of the fields for the known tree. */
static int run_semantic_check(const char *format, const char *path,
			      const struct tree *t, const char *extra)
{
	char echo_bin[PATH_MAX], sh_bin[PATH_MAX], cmd[4 * PATH_MAX + 512];

	cr_assert_not_null(realpath("/bin/echo", echo_bin));
	cr_assert_not_null(realpath("/bin/sh", sh_bin));
	snprintf(cmd, sizeof(cmd),
		 "python3 '%s' '%s' --format %s --node-name %s --forker %d --echo %d --sh-echo %d --exit3 %d --killed %d --killed-io %d --killed-rt %d --nobody %d --echo-binary '%s' --sh-binary '%s' %s",
		 SNOOP_CHECKER, path, format, NODE_NAME, getpid(), t->echo,
		 t->sh_echo, t->exit3, t->killed, t->killed_io, t->killed_rt,
		 t->nobody, echo_bin, sh_bin, extra);
	return system(cmd);
}

/*
 * Run the snoop with @args around the known tree, then check its output:
 * every line against @schema (tests/schema/check.py), then the fields'
 * meaning as @semantic with @extra arguments (tests/test_snoop.py). The
 * output is kept in /tmp when a check fails.
 */
static void snoop_tree_check(const char *const *args, const char *schema,
			     const char *semantic, const char *extra)
{
	struct snoop_run r;
	struct tree t;
	char *path;
	int st;

	require_root();
	if (system("python3 -c 'import json' 2>/dev/null") != 0)
		cr_skip_test("SKIPPED: python3 is needed to check the JSON");
	snoop_spawn(&r, args);
	cr_assert(snoop_wait_ready(&r), "proccache-snoop did not start:\n%s",
		  r.err.buf);
	run_tree(&t);
	st = snoop_finish(&r, SIGTERM);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "snoop status %#x; stderr:\n%s", st, r.err.buf);
	cr_assert(r.out.len > 0 && r.out.buf[r.out.len - 1] == '\n',
		  "output does not end with a whole line");

	path = write_temp(&r.out);
	if (schema) {
		st = run_schema_check(schema, path);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "tests/schema/check.py --format %s rejected the output (kept in %s)",
			  schema, path);
	}
	st = run_semantic_check(semantic, path, &t, extra);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "tests/test_snoop.py --format %s %s rejected the output (kept in %s)",
		  semantic, extra, path);
	unlink(path);
	free(path);
	snoop_free(&r);
}

Test(snoop_tree, tetragon_every_line_strict_with_ancestors, .timeout = 180)
{
	snoop_tree_check((const char *const[]){ "--format", "tetragon", "--ancestors",
						"--node-name", NODE_NAME, NULL },
			 "tetragon", "tetragon", "--ancestors");
}

/* --json is the alias; without --ancestors there is no ancestors field. */
Test(snoop_tree, json_is_strict_tetragon, .timeout = 180)
{
	snoop_tree_check((const char *const[]){ "--json", "--node-name", NODE_NAME,
						NULL },
			 "tetragon", "tetragon", "");
}

/* --extensions: clone and lost events and args, nothing else unknown. */
Test(snoop_tree, tetragon_extensions, .timeout = 180)
{
	snoop_tree_check((const char *const[]){ "--format", "tetragon", "--extensions",
						"--ancestors", "--node-name",
						NODE_NAME, NULL },
			 "tetragon-ext", "tetragon-ext", "--ancestors");
}

/*
 * MERGE-DEPENDENT: Tetragon's `clone` flag on the first exec after a fork
 * comes from the entry's PROCCACHE_F_EXEC_AFTER_CLONE, which the ingest
 * sets (the "lineage in any event order" work on main). Until that is
 * merged this one test fails; everything else here passes without it.
 */
Test(snoop_tree, tetragon_clone_flag_on_first_exec_after_fork, .timeout = 180)
{
	snoop_tree_check((const char *const[]){ "--format", "tetragon",
						"--node-name", NODE_NAME, NULL },
			 NULL, "tetragon", "--clone-flag-only");
}

Test(snoop_tree, ecs_every_line_valid, .timeout = 180)
{
	snoop_tree_check((const char *const[]){ "--format", "ecs", "--node-name",
						NODE_NAME, NULL },
			 "ecs", "ecs", "");
}

/* --env-max: the environment where each format has a place for it,
 * TOKEN's value redacted (--redact), still strict. */
Test(snoop_tree, ecs_env_vars_redacted, .timeout = 180)
{
	snoop_tree_check((const char *const[]){ "--format", "ecs", "--env-max",
						"65536", "--redact", "TOKEN=*",
						"--node-name", NODE_NAME, NULL },
			 "ecs", "ecs", "--env");
}

Test(snoop_tree, tetragon_environment_variables_redacted, .timeout = 180)
{
	snoop_tree_check((const char *const[]){ "--format", "tetragon",
						"--env-max", "65536", "--redact",
						"TOKEN=*", "--node-name",
						NODE_NAME, NULL },
			 "tetragon", "tetragon", "--env");
}

Test(snoop_tree, table_shows_exec_and_exits, .timeout = 180)
{
	char want_exec[PATH_MAX + 64], echo_bin[PATH_MAX];
	struct snoop_run r;
	struct tree t;
	int st;

	require_root();
	snoop_spawn(&r, (const char *const[]){ "--ancestors", NULL });
	cr_assert(snoop_wait_ready(&r), "proccache-snoop did not start:\n%s",
		  r.err.buf);
	run_tree(&t);
	st = snoop_finish(&r, SIGTERM);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "snoop status %#x; stderr:\n%s", st, r.err.buf);

	cr_assert(!strncmp(r.out.buf, "TIME ", 5), "no header: %.80s", r.out.buf);
	cr_assert_not_null(realpath("/bin/echo", echo_bin));
	/* The invalid byte is shown as \xff; the line stays one line. */
	snprintf(want_exec, sizeof(want_exec), "%s", echo_bin);
	cr_assert_not_null(strstr(r.out.buf, want_exec));
	cr_assert_not_null(strstr(r.out.buf, "\"a b\" q\"t \\xff"),
			   "decoded args missing");
	cr_assert_not_null(strstr(r.out.buf, "status=3"));
	cr_assert_not_null(strstr(r.out.buf, "signal=SIGKILL"));
	cr_assert_not_null(strstr(r.out.buf, " <- "), "no ancestors suffix");
	snoop_free(&r);
}

/* ------------------------------------------------------------------------ */
/* The JSON writer                                                           */
/* ------------------------------------------------------------------------ */

static void assert_escapes(const char *in, size_t len, const char *want)
{
	struct jw w;

	jw_init(&w);
	jw_string_n(&w, NULL, in, len);
	cr_assert_not(jw_failed(&w));
	cr_assert_str_eq(jw_text(&w), want);
	jw_free(&w);
}

#define ESC(lit, want) assert_escapes(lit, sizeof(lit) - 1, want)

Test(jsonw, escapes_ascii)
{
	ESC("", "\"\"");
	ESC("plain text", "\"plain text\"");
	ESC("q\"t b\\s", "\"q\\\"t b\\\\s\"");
	ESC("\n\t\r\b\f", "\"\\u000a\\u0009\\u000d\\u0008\\u000c\"");
	ESC("a\0b", "\"a\\u0000b\"");
	ESC("\x1f\x7f", "\"\\u001f\\u007f\"");
	ESC("/", "\"/\"");
}

Test(jsonw, keeps_valid_utf8)
{
	ESC("caf\xc3\xa9", "\"caf\xc3\xa9\"");             /* U+00E9 */
	ESC("\xe2\x82\xac", "\"\xe2\x82\xac\"");           /* U+20AC */
	ESC("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");   /* U+1F600 */
	ESC("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");   /* U+10FFFF */
	ESC("\xe2\x80\xa8", "\"\xe2\x80\xa8\"");           /* U+2028 is valid JSON */
}

Test(jsonw, escapes_each_invalid_byte)
{
	ESC("\xff", "\"\\u00ff\"");
	ESC("\x80", "\"\\u0080\"");                       /* lone continuation */
	ESC("\xc0\xaf", "\"\\u00c0\\u00af\"");            /* overlong '/' */
	ESC("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\""); /* overlong 3 bytes */
	ESC("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""); /* surrogate D800 */
	ESC("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""); /* > 10FFFF */
	ESC("\xf5", "\"\\u00f5\"");
	ESC("\xe2\x82", "\"\\u00e2\\u0082\"");            /* cut short */
	ESC("\xe2\x82z", "\"\\u00e2\\u0082z\"");
	ESC("\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9\\u00ff\xc3\xa9\"");
}

Test(jsonw, places_commas)
{
	struct jw w;

	jw_init(&w);
	jw_object_begin(&w, NULL);
	jw_string(&w, "a", "x");
	jw_object_begin(&w, "o");
	jw_object_end(&w);
	jw_array_begin(&w, "l");
	jw_uint(&w, NULL, 1);
	jw_int(&w, NULL, -2);
	jw_object_begin(&w, NULL);
	jw_bool(&w, "t", true);
	jw_bool(&w, "f", false);
	jw_object_end(&w);
	jw_array_begin(&w, NULL);
	jw_array_end(&w);
	jw_array_end(&w);
	jw_uint(&w, "max", UINT64_MAX);
	jw_object_end(&w);
	cr_assert_str_eq(jw_text(&w),
			 "{\"a\":\"x\",\"o\":{},\"l\":[1,-2,{\"t\":true,\"f\":false},[]],"
			 "\"max\":18446744073709551615}");
	jw_reset(&w);
	jw_array_begin(&w, NULL);
	jw_array_end(&w);
	cr_assert_str_eq(jw_text(&w), "[]");
	jw_free(&w);
}

Test(jsonw, grows_for_long_strings)
{
	size_t n = 1 << 20, i;
	char *big = malloc(n);
	struct jw w;

	cr_assert_not_null(big);
	for (i = 0; i < n; i++)
		big[i] = i % 2 ? '"' : '\xff';
	jw_init(&w);
	jw_string_n(&w, NULL, big, n);
	cr_assert_not(jw_failed(&w));
	/* Each '"' becomes 2 bytes, each 0xff 6, plus the quotes. */
	cr_assert_eq(strlen(jw_text(&w)), n / 2 * 2 + n / 2 * 6 + 2);
	jw_free(&w);
	free(big);
}

/* ------------------------------------------------------------------------ */
/* Tetragon's arguments line                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Rows from Tetragon's ArgsDecoder (pkg/process/args.go) and its exec
 * tests (pkg/sensors/exec/exec_test.go: "arg1 arg2 arg3" for a program run
 * with those three, argv[0] not included), written as facts: the raw
 * buffer as the kernel lays it out and the line Tetragon exports.
 */
static const struct {
	const char *name;
	const char *raw;
	size_t len;
	const char *want;
} args_rows[] = {
#define ROW(name, raw, want) { name, raw, sizeof(raw) - 1, want }
	ROW("plain arguments", "prog\0arg1\0arg2\0arg3\0", "arg1 arg2 arg3"),
	ROW("argv[0] only", "prog\0", ""),
	ROW("nothing", "", ""),
	ROW("a quoted first argument gets a space before it", "prog\0a b\0", " \"a b\""),
	ROW("a quoted later argument", "prog\0x\0a b\0y\0", "x \"a b\" y"),
	ROW("nothing is escaped", "prog\0q\"t\0a \"b\"\0", "q\"t \"a \"b\"\""),
	ROW("only a space quotes", "prog\0a\tb\0c\nd\0", "a\tb c\nd"),
	ROW("a leading empty argument vanishes", "prog\0\0x\0", "x"),
	ROW("an empty argument later is a space", "prog\0x\0\0y\0", "x  y"),
	ROW("trailing empty arguments are dropped", "prog\0x\0\0\0", "x"),
	ROW("a last argument cut without its NUL", "prog\0x\0cu", "x cu"),
	ROW("bytes pass as they are", "prog\0\xff\0", "\xff"),
#undef ROW
};

Test(tetragon_args, renders_as_argsdecoder)
{
	size_t i;

	for (i = 0; i < sizeof(args_rows) / sizeof(args_rows[0]); i++) {
		char *got = tetragon_args_decode(args_rows[i].raw, args_rows[i].len);

		cr_assert_not_null(got);
		cr_expect_str_eq(got, args_rows[i].want, "%s: got [%s], want [%s]",
				 args_rows[i].name, got, args_rows[i].want);
		free(got);
	}
}

/* ------------------------------------------------------------------------ */
/* Tetragon's refcnt (refcnt.c), on events ingested by hand                  */
/* ------------------------------------------------------------------------ */

struct refcnt_case {
	struct snoop_refcnt *r;
	struct proccache *pc;
};

static int count_event(struct proccache *pc, const struct proccache_event *ev,
		       const struct proccache_process *p,
		       const struct proccache_process *parent, void *userdata)
{
	snoop_refcnt_event(((struct refcnt_case *)userdata)->r, ev, p);
	return 0;
}

static void ingest(struct refcnt_case *c, uint32_t type, uint32_t pid,
		   uint64_t ktime, uint32_t parent_pid)
{
	PROCCACHE_OPTS(proccache_event, ev, .type = type, .pid = pid, .tid = pid,
		       .ktime = ktime, .parent = { .pid = parent_pid },
		       .binary = "/bin/x");

	cr_assert_eq(proccache__ingest(c->pc, &ev), 0, "type %u pid %u", type, pid);
}

static uint32_t refs(struct refcnt_case *c, uint32_t pid, uint64_t ktime)
{
	struct proccache_key k = { .pid = pid, .ktime = ktime };
	struct proccache_process *p = proccache__lookup(c->pc, &k);
	uint32_t n;

	cr_assert_not_null(p, "%u/%llu not cached", pid, (unsigned long long)ktime);
	n = snoop_refcnt_get(c->r, p);
	proccache_process__unref(p);
	return n;
}

/* init(1) forks 100, which execs, re-execs, forks 101 and exits. */
Test(refcnt, counts_the_live_image_and_its_live_children)
{
	struct refcnt_case c = { .r = snoop_refcnt_new() };

	c.pc = proccache__new(NULL);
	cr_assert(c.pc && c.r);
	cr_assert_not_null(proccache__subscribe(c.pc, PROCCACHE_EVENT_EXEC |
				PROCCACHE_EVENT_CLONE | PROCCACHE_EVENT_EXIT,
				count_event, &c, NULL));
	ingest(&c, PROCCACHE_EVENT_EXEC, 1, 10, 0);
	cr_expect_eq(refs(&c, 1, 10), 1, "a live image: itself");
	ingest(&c, PROCCACHE_EVENT_CLONE, 100, 20, 1);
	cr_expect_eq(refs(&c, 100, 20), 1);
	cr_expect_eq(refs(&c, 1, 10), 2, "itself and the fork");
	ingest(&c, PROCCACHE_EVENT_EXEC, 100, 30, 0);
	cr_expect_eq(refs(&c, 100, 30), 1, "the first exec after the fork");
	cr_expect_eq(refs(&c, 1, 10), 2, "the exec replaced the fork as child");
	cr_expect_eq(refs(&c, 100, 20), 0, "the replaced fork");
	ingest(&c, PROCCACHE_EVENT_EXEC, 100, 40, 0);
	cr_expect_eq(refs(&c, 100, 40), 1, "a re-exec");
	cr_expect_eq(refs(&c, 100, 30), 1, "the replaced image: parent of the re-exec");
	cr_expect_eq(refs(&c, 1, 10), 1, "the child's live image names another parent");
	ingest(&c, PROCCACHE_EVENT_CLONE, 101, 50, 100);
	cr_expect_eq(refs(&c, 100, 40), 2);
	ingest(&c, PROCCACHE_EVENT_EXIT, 101, 0, 0);
	cr_expect_eq(refs(&c, 100, 40), 1, "its child exited");
	ingest(&c, PROCCACHE_EVENT_EXIT, 100, 0, 0);
	cr_expect_eq(refs(&c, 100, 40), 0, "exited, no live child");
	cr_expect_eq(refs(&c, 100, 30), 0, "its re-exec exited");
	cr_expect_eq(refs(&c, 1, 10), 1);
	proccache__free(c.pc);
	snoop_refcnt_free(c.r);
}
