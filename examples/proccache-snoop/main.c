/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proccache-snoop: a live monitor of every exec, clone and exit on the host,
 * built on libproccache's public API only. It drives the sensor from its
 * own poll() loop (sensor fd + a signalfd), the way an agent embedding the
 * library would. See docs/proccache-snoop.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <proccache/proccache.h>

#include "snoop.h"

#define EXIT_USAGE 2
/* --redact patterns a command line may give. */
#define SNOOP_REDACT_MAX 16

struct options {
	enum snoop_format format;
	bool extensions;
	bool ancestors;
	bool verbose;
	uint32_t backend;
	const char *node_name;
	const char *proc_prefix;
	size_t args_max;
	size_t env_max;
	const char *redact[SNOOP_REDACT_MAX + 1]; /* NULL terminated */
	size_t nredact;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: proccache-snoop [OPTION]...\n"
		"Print every exec, clone and exit on this host as it happens.\n"
		"\n"
		"  --format FORMAT     table (default), tetragon or ecs: one JSON document\n"
		"                      per line, Tetragon's GetEventsResponse or Elastic\n"
		"                      Common Schema\n"
		"  --json              the same as --format tetragon\n"
		"  --extensions        with tetragon: add what Tetragon lacks (clone and\n"
		"                      lost events, an args array); no longer strict\n"
		"  --ancestors         add each process's full ancestry\n"
		"  --backend KIND      auto (default), bpf or netlink\n"
		"  --node-name NAME    node name in exec IDs (default: the host name)\n"
		"  --proc-prefix DIR   host /proc mount, for use in a container (default: /proc)\n"
		"  --args-max N        bytes of arguments captured per exec (default: 32768)\n"
		"  --env-max N         bytes of environment captured per exec (default: 0,\n"
		"                      none; at most 65536): process.env_vars in ecs,\n"
		"                      environment_variables in tetragon\n"
		"  --redact PATTERN    replace secrets in arguments and environment values:\n"
		"                      \"PREFIX*\" or \"NAME *\" (docs/redaction.md); repeatable\n"
		"  --verbose           also print the library's debug messages\n"
		"  -h, --help          show this help and exit\n"
		"\n"
		"Writes \"ready\" to stderr once the sensor runs; SIGINT or SIGTERM\n"
		"drains pending events and exits 0. Needs root (CAP_BPF, CAP_PERFMON).\n");
}

static bool parse_backend(const char *s, uint32_t *ret)
{
	if (!strcmp(s, "auto"))
		*ret = PROCCACHE_BACKEND_AUTO;
	else if (!strcmp(s, "bpf"))
		*ret = PROCCACHE_BACKEND_BPF;
	else if (!strcmp(s, "netlink"))
		*ret = PROCCACHE_BACKEND_NETLINK;
	else
		return false;
	return true;
}

static bool parse_format(const char *s, enum snoop_format *ret)
{
	if (!strcmp(s, "table"))
		*ret = SNOOP_FORMAT_TABLE;
	else if (!strcmp(s, "tetragon") || !strcmp(s, "json"))
		*ret = SNOOP_FORMAT_TETRAGON;
	else if (!strcmp(s, "ecs"))
		*ret = SNOOP_FORMAT_ECS;
	else
		return false;
	return true;
}

static bool parse_size(const char *s, size_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > SIZE_MAX)
		return false;
	*ret = (size_t)v;
	return true;
}

/* @return 0 to run, -1 to exit 0 (help), EXIT_USAGE on a bad command line. */
static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_JSON = 256, OPT_ANCESTORS, OPT_BACKEND, OPT_NODE_NAME,
	       OPT_PROC_PREFIX, OPT_ARGS_MAX, OPT_VERBOSE, OPT_FORMAT,
	       OPT_EXTENSIONS, OPT_ENV_MAX, OPT_REDACT };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "extensions", no_argument, NULL, OPT_EXTENSIONS },
		{ "ancestors", no_argument, NULL, OPT_ANCESTORS },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "node-name", required_argument, NULL, OPT_NODE_NAME },
		{ "proc-prefix", required_argument, NULL, OPT_PROC_PREFIX },
		{ "args-max", required_argument, NULL, OPT_ARGS_MAX },
		{ "env-max", required_argument, NULL, OPT_ENV_MAX },
		{ "redact", required_argument, NULL, OPT_REDACT },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o->format = SNOOP_FORMAT_TETRAGON;
			break;
		case OPT_FORMAT:
			if (!parse_format(optarg, &o->format)) {
				fprintf(stderr, "proccache-snoop: unknown format '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_EXTENSIONS:
			o->extensions = true;
			break;
		case OPT_ANCESTORS:
			o->ancestors = true;
			break;
		case OPT_BACKEND:
			if (!parse_backend(optarg, &o->backend)) {
				fprintf(stderr, "proccache-snoop: unknown backend '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_NODE_NAME:
			o->node_name = optarg;
			break;
		case OPT_PROC_PREFIX:
			o->proc_prefix = optarg;
			break;
		case OPT_ARGS_MAX:
			if (!parse_size(optarg, &o->args_max)) {
				fprintf(stderr, "proccache-snoop: --args-max needs a positive byte count, not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_ENV_MAX:
			if (!parse_size(optarg, &o->env_max) ||
			    o->env_max > PROCCACHE_ENV_MAX_LIMIT) {
				fprintf(stderr, "proccache-snoop: --env-max needs a byte count from 1 to %u, not '%s'\n",
					PROCCACHE_ENV_MAX_LIMIT, optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_REDACT:
			if (o->nredact == SNOOP_REDACT_MAX) {
				fprintf(stderr, "proccache-snoop: at most %d --redact patterns\n",
					SNOOP_REDACT_MAX);
				return EXIT_USAGE;
			}
			o->redact[o->nredact++] = optarg;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case 'h':
			return -1;
		default:
			return EXIT_USAGE; /* getopt said what was wrong */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "proccache-snoop: unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (o->extensions && o->format != SNOOP_FORMAT_TETRAGON) {
		fprintf(stderr, "proccache-snoop: --extensions goes with --format tetragon\n");
		return EXIT_USAGE;
	}
	return 0;
}

static void log_to_stderr(enum proccache_log_level level, const char *msg,
			  void *userdata)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const bool *verbose = userdata;

	if (level == PROCCACHE_LOG_DEBUG && !*verbose)
		return;
	fprintf(stderr, "%s: %s\n",
		(unsigned int)level < 4 ? names[level] : "log", msg);
}

static int on_event(struct proccache *pc, const struct proccache_event *ev,
		    const struct proccache_process *process,
		    const struct proccache_process *parent, void *userdata)
{
	struct snoop *s = userdata;

	snoop_refcnt_event(s->refcnt, ev, process);
	switch (s->format) {
	case SNOOP_FORMAT_TETRAGON:
		if (ev->type == PROCCACHE_EVENT_LOST && !s->extensions)
			fprintf(stderr, "proccache-snoop: the sensor lost %llu events\n",
				(unsigned long long)ev->lost);
		return snoop_tetragon_event(s, ev, process, parent);
	case SNOOP_FORMAT_ECS:
		return snoop_ecs_event(s, ev, process, parent);
	default:
		return snoop_table_event(s, ev, process, parent);
	}
}

/* SIGINT and SIGTERM arrive on an fd in the loop, never asynchronously. */
static int signals_fd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static const char *backend_name(uint32_t backend)
{
	switch (backend) {
	case PROCCACHE_BACKEND_BPF:
		return "bpf";
	case PROCCACHE_BACKEND_NETLINK:
		return "netlink";
	default:
		return "auto";
	}
}

static void report_start_error(const struct options *o, int err)
{
	if (err == -EOPNOTSUPP && o->backend == PROCCACHE_BACKEND_NETLINK) {
		fprintf(stderr,
			"proccache-snoop: the netlink backend is not available (%s); use --backend bpf or auto\n",
			strerror(-err));
		return;
	}
	fprintf(stderr, "proccache-snoop: cannot start the %s sensor: %s\n",
		backend_name(o->backend), strerror(-err));
}

static int start_sensor(struct proccache *pc, const struct options *o)
{
	PROCCACHE_OPTS(proccache_sensor_opts, sopts, .backend = o->backend,
		       .args_max = o->args_max,
		       .proc_prefix = o->proc_prefix);

	return proccache__sensor_start(pc, &sopts);
}

/*
 * One consume per wake-up takes what is pending now, then the loop looks at
 * the signalfd again: an endless exec storm cannot starve the stop signal.
 * stdout is flushed per batch, so a pipe reader sees events live while the
 * writes stay batched.
 */
static int run_loop(struct proccache *pc, int sig_fd)
{
	struct pollfd fds[2] = {
		{ .fd = proccache__sensor_fd(pc), .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};
	struct signalfd_siginfo si;

	if (fds[0].fd < 0)
		return fds[0].fd;
	for (;;) {
		int n = poll(fds, 2, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (fds[0].revents) {
			n = proccache__sensor_consume(pc);
			if (n < 0)
				return n;
			fflush(stdout);
		}
		if (fds[1].revents) {
			if (read(sig_fd, &si, sizeof(si)) < 0 && errno != EAGAIN)
				return -errno;
			return 0;
		}
	}
}

/*
 * Take what is pending until the sensor has nothing more. Bounded, for a
 * storm that never pauses: proccache__sensor_stop() then detaches and
 * delivers the rest, so nothing the kernel wrote before it is dropped.
 */
#define DRAIN_ROUNDS_MAX 64

static int drain(struct proccache *pc)
{
	int n, round = 0;

	do
		n = proccache__sensor_consume(pc);
	while (n > 0 && ++round < DRAIN_ROUNDS_MAX);
	return n < 0 ? n : 0;
}

static int run(const struct options *o, int sig_fd)
{
	PROCCACHE_OPTS(proccache_opts, copts, .node_name = o->node_name,
		       .env_max = o->env_max,
		       .redact = o->nredact ? o->redact : NULL);
	struct snoop s = {
		.out = stdout,
		.format = o->format,
		.extensions = o->extensions,
		.ancestors = o->ancestors,
		.proc_prefix = o->proc_prefix ? o->proc_prefix : "/proc",
	};
	struct proccache_sensor_stats st = { .sz = sizeof(st) };
	int err;

	s.pc = proccache__new(&copts);
	if (!s.pc) {
		fprintf(stderr, "proccache-snoop: cannot create the cache: %s\n",
			strerror(errno));
		return 1;
	}
	snoop_init(&s);
	if (s.format != SNOOP_FORMAT_TABLE) {
		/* Names are looked up as events are written, never waited for:
		 * a name not resolved yet is left out of that event. */
		s.users = proccache_users__new(NULL);
		if (!s.users)
			fprintf(stderr, "proccache-snoop: no user names: %s\n",
				strerror(errno));
		s.refcnt = snoop_refcnt_new();
		if (!s.refcnt) {
			fprintf(stderr, "proccache-snoop: out of memory\n");
			err = 1;
			goto out;
		}
		if (s.format == SNOOP_FORMAT_ECS)
			snoop_ecs_init(&s);
	}
	if (!proccache__subscribe(s.pc,
				  PROCCACHE_EVENT_EXEC | PROCCACHE_EVENT_CLONE |
					  PROCCACHE_EVENT_EXIT |
					  PROCCACHE_EVENT_LOST,
				  on_event, &s, NULL)) {
		fprintf(stderr, "proccache-snoop: cannot subscribe: %s\n",
			strerror(errno));
		err = 1;
		goto out;
	}
	/* Processes found by the /proc scan are reported as procFS execs
	 * while this runs, as Tetragon does. */
	err = start_sensor(s.pc, o);
	if (err < 0) {
		fflush(stdout);
		report_start_error(o, err);
		err = 1;
		goto out;
	}
	fflush(stdout);
	snoop_started(&s);
	proccache__sensor_stats(s.pc, &st);
	fprintf(stderr, "ready backend=%s node=%s scanned=%" PRIu64 "\n",
		proccache__sensor_backend(s.pc), proccache__node_name(s.pc),
		st.scanned);

	err = run_loop(s.pc, sig_fd);
	if (!err)
		err = drain(s.pc);
	if (err < 0) {
		fprintf(stderr, "proccache-snoop: %s\n", strerror(-err));
		err = 1;
	}
	/* Stopping detaches, then delivers what the kernel wrote until then. */
	proccache__sensor_stop(s.pc);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "proccache-snoop: writing the output: %s\n",
			strerror(errno));
		err = 1;
	}
out:
	proccache__free(s.pc);
	proccache_users__free(s.users);
	snoop_refcnt_free(s.refcnt);
	snoop_fini(&s);
	return err;
}

int main(int argc, char **argv)
{
	struct options o = { .backend = PROCCACHE_BACKEND_AUTO };
	int ret, sig_fd;

	ret = parse_args(argc, argv, &o);
	if (ret < 0) {
		usage(stdout);
		return 0;
	}
	if (ret) {
		usage(stderr);
		return ret;
	}
	proccache_set_log(log_to_stderr, &o.verbose);
	sig_fd = signals_fd();
	if (sig_fd < 0) {
		fprintf(stderr, "proccache-snoop: cannot block signals: %s\n",
			strerror(-sig_fd));
		return 1;
	}
	ret = run(&o, sig_fd);
	close(sig_fd);
	return ret;
}
