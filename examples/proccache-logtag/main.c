/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proccache-logtag: a syslog receiver on a Unix datagram socket (like
 * /dev/log) that writes each message as one JSON line with its syslog
 * fields and the tags of the process that sent it and of its parent. The
 * sender is the one the kernel attests (SO_PASSCRED), as it was when the
 * kernel received the datagram (SO_TIMESTAMPNS): a sender that has exited
 * or exec'd another program since is still named as it was. Public API
 * only; the sensor runs on a library thread, and this thread reads the
 * cache without a lock. See docs/tagging.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "logtag.h"

#define EXIT_USAGE 2
#define BATCH 16
#define DATAGRAM_MAX (64 * 1024)

struct options {
	const char *socket_path;
	const char *node_name;
	uint32_t backend;
	uint32_t vocab;
	unsigned long lag_ms, wait_ms, max_pending;
	bool verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: proccache-logtag --socket PATH [OPTION]...\n"
		"Receive syslog datagrams on a Unix socket and print each as one JSON\n"
		"line with the tags of the process that sent it and of its parent.\n"
		"\n"
		"  --socket PATH       the socket to create (e.g. /dev/log); replaces a socket there\n"
		"  --tags VOCAB        loongcollector (default), otel or ecs\n"
		"  --backend KIND      auto (default), bpf or netlink\n"
		"  --lag-ms N          tag a message N ms after it arrived, once the sensor\n"
		"                      has told the cache about its sender (default 20)\n"
		"  --wait-ms N         wait up to N ms for a sender the cache lacks (default 1000)\n"
		"  --max-pending N     messages held at most (default 65536)\n"
		"  --node-name NAME    node name in exec IDs (default: the host name)\n"
		"  --verbose           print the library's messages\n"
		"  -h, --help          show this help and exit\n"
		"\n"
		"Writes \"ready\" to stderr once it receives; SIGINT or SIGTERM writes what\n"
		"is pending, then the counts as one JSON line on stderr, and exits 0.\n"
		"Needs root for the sensor.\n");
}

static bool parse_ulong(const char *s, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(s, &end, 10);
	return !errno && *s && !*end;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "tags", required_argument, NULL, 't' },
		{ "backend", required_argument, NULL, 'b' },
		{ "lag-ms", required_argument, NULL, 'l' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ "max-pending", required_argument, NULL, 'm' },
		{ "node-name", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket_path = optarg;
			break;
		case 't':
			if (!strcmp(optarg, "loongcollector"))
				o->vocab = PROCCACHE_TAGS_LOONGCOLLECTOR;
			else if (!strcmp(optarg, "otel"))
				o->vocab = PROCCACHE_TAGS_OTEL;
			else if (!strcmp(optarg, "ecs"))
				o->vocab = PROCCACHE_TAGS_ECS;
			else
				return EXIT_USAGE;
			break;
		case 'b':
			if (!strcmp(optarg, "auto"))
				o->backend = PROCCACHE_BACKEND_AUTO;
			else if (!strcmp(optarg, "bpf"))
				o->backend = PROCCACHE_BACKEND_BPF;
			else if (!strcmp(optarg, "netlink"))
				o->backend = PROCCACHE_BACKEND_NETLINK;
			else
				return EXIT_USAGE;
			break;
		case 'l':
			if (!parse_ulong(optarg, &o->lag_ms))
				return EXIT_USAGE;
			break;
		case 'w':
			if (!parse_ulong(optarg, &o->wait_ms))
				return EXIT_USAGE;
			break;
		case 'm':
			if (!parse_ulong(optarg, &o->max_pending) ||
			    !o->max_pending)
				return EXIT_USAGE;
			break;
		case 'n':
			o->node_name = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	return optind == argc && o->socket_path ? 0 : EXIT_USAGE;
}

static void log_to_stderr(enum proccache_log_level level, const char *msg,
			  void *userdata)
{
	const bool *verbose = userdata;

	if (level <= PROCCACHE_LOG_WARN || *verbose)
		fprintf(stderr, "proccache: %s\n", msg);
}

/* The socket at @path, made anew, readable and writable by everyone as
 * /dev/log is, with the sender's credentials and the kernel's time on
 * every datagram. */
static int open_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1, rcvbuf = 8 << 20, fd;
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	/* Beyond rmem_max only with CAP_NET_ADMIN; the default will do. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct batch {
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	char data[BATCH][DATAGRAM_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
			 CMSG_SPACE(sizeof(struct timespec)) +
			 CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl[BATCH];
};

/* Ask for the sender's user name now: by the time its record is tagged
 * the cache's resolver thread has it (tagging itself never waits). */
static void prime_user_name(struct logtag *lt, uid_t uid)
{
	char name[PROCCACHE_USERS_NAME_MAX + 1];

	if (lt->users)
		proccache_users__user_name(lt->users, uid, name, sizeof(name));
}

/* A record of datagram @i, with what the kernel attached to it. */
static struct record *record_of(struct logtag *lt, struct batch *b, int i,
				int64_t boot_minus_wall, uint64_t seen)
{
	struct msghdr *h = &b->msgs[i].msg_hdr;
	size_t len = b->msgs[i].msg_len;
	struct record *r;

	if (len > DATAGRAM_MAX)
		len = DATAGRAM_MAX;
	r = calloc(1, sizeof(*r) + len);
	if (!r)
		return NULL;
	memcpy(r->data, b->data[i], len);
	r->len = len;
	r->truncated = h->msg_flags & MSG_TRUNC;
	r->wall_ns = clock_ns(CLOCK_REALTIME);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			r->pid = uc.pid;
			r->uid = uc.uid;
			r->gid = uc.gid;
			r->creds = true;
			prime_user_name(lt, uc.uid);
		} else if (c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			r->wall_ns = (uint64_t)ts.tv_sec * 1000000000ull +
				     (uint64_t)ts.tv_nsec;
		} else if (c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t drops;

			memcpy(&drops, CMSG_DATA(c), sizeof(drops));
			lt->n.kernel_drops = drops;
		}
	}
	/* Exec keys are CLOCK_BOOTTIME; the kernel stamped CLOCK_REALTIME. */
	r->at = (uint64_t)((int64_t)r->wall_ns + boot_minus_wall);
	r->seen = seen;
	return r;
}

/* Take every datagram waiting now (a batch at a time). */
static int receive(struct logtag *lt, int fd, struct batch *b)
{
	for (;;) {
		int64_t boot_minus_wall;
		uint64_t seen;
		int n;

		for (int i = 0; i < BATCH; i++) {
			b->iov[i] = (struct iovec){ b->data[i], DATAGRAM_MAX };
			b->msgs[i].msg_hdr = (struct msghdr){
				.msg_iov = &b->iov[i],
				.msg_iovlen = 1,
				.msg_control = b->ctl[i].buf,
				.msg_controllen = sizeof(b->ctl[i].buf),
			};
		}
		n = recvmmsg(fd, b->msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		seen = clock_ns(CLOCK_BOOTTIME);
		boot_minus_wall = (int64_t)seen - (int64_t)clock_ns(CLOCK_REALTIME);
		for (int i = 0; i < n; i++) {
			struct record *r = record_of(lt, b, i, boot_minus_wall,
						     seen);

			if (!r) {
				lt->n.received++;
				lt->n.dropped++;
				continue;
			}
			lt_push(lt, r);
		}
		if (n < BATCH)
			return 0;
	}
}

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

static int run_loop(struct logtag *lt, int sock, int sig_fd)
{
	struct pollfd fds[2] = {
		{ .fd = sock, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};
	struct batch *b = malloc(sizeof(*b));
	uint64_t due = 0;
	int err = 0;

	if (!b)
		return -ENOMEM;
	for (;;) {
		int timeout = due ? (int)((due + 999999) / 1000000) : -1;
		int n = poll(fds, 2, timeout);

		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (n > 0 && fds[0].revents) {
			err = receive(lt, sock, b);
			if (err)
				break;
		}
		due = lt_process(lt, lt_boottime_ns(), false);
		fflush(lt->out);
		if (n > 0 && fds[1].revents)
			break;
	}
	/* What arrived before the signal is written too. */
	if (!err)
		err = receive(lt, sock, b);
	free(b);
	return err;
}

static void print_counts(const struct logtag *lt)
{
	fprintf(stderr,
		"{\"received\":%" PRIu64 ",\"written\":%" PRIu64
		",\"malformed\":%" PRIu64 ",\"untagged\":%" PRIu64
		",\"late\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"kernel_drops\":%" PRIu64 "}\n",
		lt->n.received, lt->n.written, lt->n.malformed, lt->n.untagged,
		lt->n.late, lt->n.dropped, lt->n.kernel_drops);
}

static int run(const struct options *o, int sig_fd)
{
	PROCCACHE_OPTS(proccache_opts, copts, .node_name = o->node_name);
	/* Small batches: the sensor's latency is what a message waits. */
	PROCCACHE_OPTS(proccache_sensor_opts, sopts, .backend = o->backend,
		       .wakeup_ns = 2 * 1000 * 1000);
	struct logtag lt = {
		.out = stdout,
		.lag_ns = o->lag_ms * 1000000ull,
		.wait_ns = o->wait_ms * 1000000ull,
	};
	int sock = -1, err, ret = 1;

	lt.users = proccache_users__new(NULL);
	if (!lt.users)
		fprintf(stderr, "proccache-logtag: no user names: %s\n",
			strerror(errno));
	lt.tags = (struct proccache_tags_opts){ .sz = sizeof(lt.tags),
						.vocab = o->vocab,
						.users = lt.users };
	lt.pc = proccache__new(&copts);
	if (!lt.pc || lt_init(&lt, o->max_pending) < 0) {
		fprintf(stderr, "proccache-logtag: %s\n", strerror(errno));
		goto out;
	}
	err = proccache__sensor_start(lt.pc, &sopts);
	if (!err)
		err = proccache__sensor_thread_start(lt.pc);
	if (err < 0) {
		fprintf(stderr, "proccache-logtag: cannot start the sensor: %s\n",
			strerror(-err));
		goto out;
	}
	sock = open_socket(o->socket_path);
	if (sock < 0) {
		fprintf(stderr, "proccache-logtag: %s: %s\n", o->socket_path,
			strerror(-sock));
		goto out;
	}
	fprintf(stderr, "ready backend=%s socket=%s\n",
		proccache__sensor_backend(lt.pc), o->socket_path);
	err = run_loop(&lt, sock, sig_fd);
	lt_process(&lt, lt_boottime_ns(), true);
	if (err < 0)
		fprintf(stderr, "proccache-logtag: %s\n", strerror(-err));
	else if (fflush(stdout) != 0 || ferror(stdout))
		fprintf(stderr, "proccache-logtag: writing the output: %s\n",
			strerror(errno));
	else
		ret = 0;
	print_counts(&lt);
out:
	if (sock >= 0) {
		close(sock);
		unlink(o->socket_path);
	}
	if (lt.pc) {
		proccache__sensor_thread_stop(lt.pc);
		proccache__sensor_stop(lt.pc);
	}
	proccache__free(lt.pc);
	proccache_users__free(lt.users);
	lt_fini(&lt);
	return ret;
}

int main(int argc, char **argv)
{
	struct options o = { .lag_ms = 20, .wait_ms = 1000,
			     .max_pending = 65536 };
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
		fprintf(stderr, "proccache-logtag: cannot block signals: %s\n",
			strerror(-sig_fd));
		return 1;
	}
	ret = run(&o, sig_fd);
	close(sig_fd);
	return ret;
}
