/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Capture real kernel records as seed inputs (needs root):
 *
 *   capture bpf DIR N       N BPF ring records of the sensor's programs
 *   capture netlink DIR N   N proc connector datagrams
 *
 * while it runs a few fork/exec/exit rounds of /bin/sh -c true, with a
 * small known environment (the cache keeps environments, so exec records
 * carry it). Only the records of those rounds are kept: nothing of the
 * other processes of the machine (their environments) is written. BPF: the
 * library's BPF sensor is started through the public API and this tool
 * reads its ring itself (the sensor is never consumed), so the records
 * are exactly what the programs wrote. Each record is written to
 * DIR/<kind>-<n> as raw bytes. See docs/fuzzing.md.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "proccache/proccache.h"

static const char *out_dir;
static int wanted, saved;

static void save(const char *kind, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%02d", out_dir, kind, saved++);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* The rounds' processes: the only ones whose records are kept. */
#define MAX_ROUNDS 100
static pid_t ours[MAX_ROUNDS];
static int nours;

static void churn(void)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", "TOKEN=seed", NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execle("/bin/sh", "sh", "-c", "true; exit 3", (char *)NULL, envp);
		_exit(127);
	}
	if (pid > 0 && nours < MAX_ROUNDS)
		ours[nours++] = pid;
	waitpid(pid, NULL, 0);
}

static bool is_ours(const void *data, size_t len)
{
	/* Every record type has its pid right after the 8-byte header
	 * (struct pc_rec_hdr, bpf/events.h). */
	const size_t hdr = 8;
	uint32_t pid;

	if (len < hdr + sizeof(pid))
		return false;
	memcpy(&pid, (const char *)data + hdr, sizeof(pid));
	for (int i = 0; i < nours; i++)
		if ((uint32_t)ours[i] == pid)
			return true;
	return false;
}

static int on_record(void *ctx, void *data, size_t len)
{
	if (saved < wanted && is_ours(data, len))
		save("bpf", data, len);
	return 0;
}

/* The newest ring named pc_events: the sensor just started. Other
 * sensors of the machine (other test runs, other versions) have older
 * ones. */
static int ring_fd(void)
{
	struct bpf_map_info info;
	uint32_t id = 0, len;
	int fd, best = -ENOENT;

	while (!bpf_map_get_next_id(id, &id)) {
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    !strcmp(info.name, "pc_events")) {
			if (best >= 0)
				close(best);
			best = fd;
			continue;
		}
		close(fd);
	}
	return best;
}

static int capture_bpf(void)
{
	PROCCACHE_OPTS(proccache_sensor_opts, opts,
		       .backend = PROCCACHE_BACKEND_BPF);
	PROCCACHE_OPTS(proccache_opts, copts, .env_max = FUZZ_ENV_MAX);
	struct proccache *pc = proccache__new(&copts);
	struct ring_buffer *rb;
	int fd, rounds;

	if (!pc || proccache__sensor_start(pc, &opts)) {
		fprintf(stderr, "cannot start the BPF sensor\n");
		return 1;
	}
	fd = ring_fd();
	rb = fd >= 0 ? ring_buffer__new(fd, on_record, NULL, NULL) : NULL;
	if (!rb) {
		fprintf(stderr, "cannot open the sensor's ring\n");
		return 1;
	}
	for (rounds = 0; saved < wanted && rounds < MAX_ROUNDS; rounds++) {
		churn();
		ring_buffer__poll(rb, 100);
	}
	ring_buffer__free(rb);
	close(fd);
	proccache__sensor_stop(pc);
	proccache__free(pc);
	return saved == wanted ? 0 : 1;
}

static int capture_netlink(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = CN_IDX_PROC,
				  .nl_pid = (uint32_t)getpid() };
	/* nlmsghdr, cn_msg, then the operation */
	char req[NLMSG_HDRLEN + sizeof(struct cn_msg) + sizeof(uint32_t)] = { 0 };
	struct nlmsghdr *nlh = (struct nlmsghdr *)req;
	struct cn_msg *cn = (struct cn_msg *)(req + NLMSG_HDRLEN);
	uint32_t op = PROC_CN_MCAST_LISTEN;
	char buf[4096];
	ssize_t n;
	int sock, rounds;

	sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("netlink");
		return 1;
	}
	nlh->nlmsg_len = sizeof(req);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_pid = (uint32_t)getpid();
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->len = sizeof(op);
	memcpy(cn->data, &op, sizeof(op));
	if (send(sock, req, sizeof(req), 0) < 0) {
		perror("send");
		return 1;
	}
	for (rounds = 0; saved < wanted && rounds < 100; rounds++) {
		churn();
		while (saved < wanted &&
		       (n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			save("netlink", buf, (size_t)n);
	}
	close(sock);
	return saved == wanted ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s bpf|netlink DIR N\n", argv[0]);
		return 2;
	}
	out_dir = argv[2];
	wanted = atoi(argv[3]);
	if (!strcmp(argv[1], "bpf"))
		return capture_bpf();
	if (!strcmp(argv[1], "netlink"))
		return capture_netlink();
	fprintf(stderr, "unknown kind %s\n", argv[1]);
	return 2;
}
