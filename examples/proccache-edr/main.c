/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proccache-edr: a lineage rule engine on libproccache's public API
 * (docs/proccache-edr.md). It evaluates a rules file against every exec
 * the sensor sees, prints alerts as JSON lines with the process's whole
 * lineage, and labels processes so that rules can match their
 * descendants. SIGHUP reloads the rules (a bad file is refused, with the
 * line and column of the error, and the old rules stay).
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

#include "edr.h"

#define EXIT_USAGE 2
#define REDACT_MAX 32

struct options {
	const char *rules_path;
	bool check;
	uint32_t backend;
	uint64_t exec_clear_labels;
	const char *redact[REDACT_MAX + 1];
	size_t n_redact;
	size_t env_max;
	const char *env_vars[REDACT_MAX + 1];
	size_t n_env_vars;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: proccache-edr --rules FILE [OPTION]...\n"
		"Evaluate lineage rules on every exec; print alerts as JSON lines.\n"
		"\n"
		"  --rules FILE          the rules (docs/proccache-edr.md); SIGHUP reloads it\n"
		"  --check               parse the rules file, report, and exit\n"
		"  --backend KIND        auto (default), bpf or netlink\n"
		"  --exec-clear-labels N labels (a 64-bit mask) an exec does not pass on\n"
		"  --redact PATTERN      redact arguments (\"--password=*\", \"-p *\") and\n"
		"                        environment values (\"TOKEN=*\"); repeatable\n"
		"  --env-max N           bytes of environment captured per exec, for env\n"
		"                        conditions (default 0: none; at most 65536)\n"
		"  --env-var NAME        keep only these variables (e.g. LD_PRELOAD); repeatable\n"
		"  -h, --help            show this help and exit\n"
		"\n"
		"Writes \"ready\" to stderr once the sensor runs; SIGINT or SIGTERM\n"
		"drains pending events and exits 0. Needs root.\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_RULES = 256, OPT_CHECK, OPT_BACKEND, OPT_CLEAR, OPT_REDACT,
	       OPT_ENV_MAX, OPT_ENV_VAR };
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "exec-clear-labels", required_argument, NULL, OPT_CLEAR },
		{ "redact", required_argument, NULL, OPT_REDACT },
		{ "env-max", required_argument, NULL, OPT_ENV_MAX },
		{ "env-var", required_argument, NULL, OPT_ENV_VAR },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_RULES:
			o->rules_path = optarg;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case OPT_BACKEND:
			if (!strcmp(optarg, "bpf"))
				o->backend = PROCCACHE_BACKEND_BPF;
			else if (!strcmp(optarg, "netlink"))
				o->backend = PROCCACHE_BACKEND_NETLINK;
			else if (strcmp(optarg, "auto")) {
				fprintf(stderr, "proccache-edr: unknown backend '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_CLEAR:
			errno = 0;
			o->exec_clear_labels = strtoull(optarg, &end, 0);
			if (errno || *end || *optarg == '-') {
				fprintf(stderr, "proccache-edr: bad label mask '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_REDACT:
			if (o->n_redact == REDACT_MAX) {
				fprintf(stderr, "proccache-edr: at most %d --redact\n",
					REDACT_MAX);
				return EXIT_USAGE;
			}
			o->redact[o->n_redact++] = optarg;
			break;
		case OPT_ENV_MAX:
			errno = 0;
			o->env_max = strtoull(optarg, &end, 10);
			if (errno || *end || *optarg < '0' || *optarg > '9' ||
			    o->env_max > PROCCACHE_ENV_MAX_LIMIT) {
				fprintf(stderr, "proccache-edr: bad --env-max '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_ENV_VAR:
			if (o->n_env_vars == REDACT_MAX) {
				fprintf(stderr, "proccache-edr: at most %d --env-var\n",
					REDACT_MAX);
				return EXIT_USAGE;
			}
			o->env_vars[o->n_env_vars++] = optarg;
			break;
		case 'h':
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !o->rules_path) {
		fprintf(stderr, optind < argc ? "proccache-edr: unexpected argument '%s'\n"
					      : "proccache-edr: --rules is required%s\n",
			optind < argc ? argv[optind] : "");
		return EXIT_USAGE;
	}
	return 0;
}

static void log_to_stderr(enum proccache_log_level level, const char *msg,
			  void *userdata)
{
	(void)userdata;
	if (level <= PROCCACHE_LOG_WARN)
		fprintf(stderr, "proccache-edr: %s\n", msg);
}

/* Load the rules; on error say where and return it (the caller keeps
 * what it had). */
static int load(const char *path, struct ruleset **ret)
{
	struct rules_error err;
	int e = rules_load(path, ret, &err);

	if (e && err.line)
		fprintf(stderr, "%s:%u:%u: %s\n", path, err.line, err.col,
			err.msg);
	else if (e)
		fprintf(stderr, "%s: %s\n", path, err.msg);
	return e;
}

static void reload(struct edr *e, const char *path)
{
	struct ruleset *rs;

	if (load(path, &rs)) {
		fprintf(stderr, "proccache-edr: keeping the old rules (%zu)\n",
			e->rules->n_rules);
		return;
	}
	rules_free(e->rules);
	e->rules = rs;
	fprintf(stderr, "proccache-edr: reloaded %zu rules\n", rs->n_rules);
}

static int signals_fd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* Until SIGINT or SIGTERM; SIGHUP reloads between two batches of events,
 * so one exec is judged by one rule set. */
static int run_loop(struct edr *e, const char *path, int sig_fd)
{
	struct pollfd fds[2] = {
		{ .fd = proccache__sensor_fd(e->pc), .events = POLLIN },
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
			n = proccache__sensor_consume(e->pc);
			if (n < 0)
				return n;
			fflush(e->out);
		}
		if (!fds[1].revents)
			continue;
		if (read(sig_fd, &si, sizeof(si)) < 0) {
			if (errno == EAGAIN)
				continue;
			return -errno;
		}
		if (si.ssi_signo != SIGHUP)
			return 0;
		reload(e, path);
	}
}

static int run(const struct options *o, int sig_fd)
{
	PROCCACHE_OPTS(proccache_opts, copts,
		       .exec_clear_labels = o->exec_clear_labels,
		       .redact = o->n_redact ? o->redact : NULL,
		       .env_max = o->env_max,
		       .env_vars = o->n_env_vars ? o->env_vars : NULL);
	PROCCACHE_OPTS(proccache_sensor_opts, sopts, .backend = o->backend);
	struct edr e = { .out = stdout };
	int err = 1, ret;

	if (load(o->rules_path, &e.rules))
		return 1;
	jw_init(&e.jw);
	e.pc = proccache__new(&copts);
	if (!e.pc) {
		fprintf(stderr, "proccache-edr: cannot create the cache: %s\n",
			strerror(errno));
		goto out;
	}
	if (!proccache__subscribe(e.pc, PROCCACHE_EVENT_EXEC, edr_on_exec, &e,
				  NULL)) {
		fprintf(stderr, "proccache-edr: cannot subscribe: %s\n",
			strerror(errno));
		goto out;
	}
	/* The start-up scan's processes are judged too (flag procfs). */
	ret = proccache__sensor_start(e.pc, &sopts);
	if (ret < 0) {
		fprintf(stderr, "proccache-edr: cannot start the sensor: %s\n",
			strerror(-ret));
		goto out;
	}
	fflush(stdout);
	fprintf(stderr, "ready backend=%s rules=%zu\n",
		proccache__sensor_backend(e.pc), e.rules->n_rules);
	ret = run_loop(&e, o->rules_path, sig_fd);
	while (ret >= 0 && proccache__sensor_consume(e.pc) > 0)
		;
	proccache__sensor_stop(e.pc);
	if (ret < 0)
		fprintf(stderr, "proccache-edr: %s\n", strerror(-ret));
	fprintf(stderr, "execs=%" PRIu64 " alerts=%" PRIu64 " labelled=%" PRIu64 "\n",
		e.execs, e.alerts, e.labelled);
	err = ret < 0 || fflush(stdout) != 0;
out:
	proccache__free(e.pc);
	rules_free(e.rules);
	jw_free(&e.jw);
	return err;
}

int main(int argc, char **argv)
{
	struct options o = { .backend = PROCCACHE_BACKEND_AUTO };
	struct ruleset *rs;
	int ret, sig_fd;

	ret = parse_args(argc, argv, &o);
	if (ret) {
		usage(ret < 0 ? stdout : stderr);
		return ret < 0 ? 0 : ret;
	}
	proccache_set_log(log_to_stderr, NULL);
	if (o.check) {
		if (load(o.rules_path, &rs))
			return 1;
		printf("%s: %zu rules\n", o.rules_path, rs->n_rules);
		rules_free(rs);
		return 0;
	}
	sig_fd = signals_fd();
	if (sig_fd < 0) {
		fprintf(stderr, "proccache-edr: cannot block signals: %s\n",
			strerror(-sig_fd));
		return 1;
	}
	ret = run(&o, sig_fd);
	close(sig_fd);
	return ret;
}
