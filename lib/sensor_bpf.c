/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF sensor's user half: load and attach the embedded programs, scan
 * /proc and seed the kernel's tgid -> exec key map, then decode ring
 * records strictly into ingest events. Ingest thread only, except the
 * counters (sensor.h).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "proccache.skel.h"
#include "sensor_bpf.h"

#define BTF_VMLINUX "/sys/kernel/btf/vmlinux"

/* The kernel's capability numbers (linux/capability.h of 5.8+). */
#define PC_CAP_SYS_ADMIN 21
#define PC_CAP_PERFMON 38
#define PC_CAP_BPF 39

_Static_assert(sizeof(struct pc_key) == sizeof(struct proccache_key),
	       "pc_key mirrors proccache_key");
_Static_assert(sizeof(struct pc_rec_exec) % 8 == 0, "records stay aligned");
_Static_assert(PC_ENV_LIMIT == PROCCACHE_ENV_MAX_LIMIT,
	       "one ceiling for the environment capture");

uint32_t pc_sensor_bpf_force_variant;

struct pc_sensor_bpf {
	struct pc_backend base; /* first: what the runner holds */
	struct pc_sensor_cfg cfg;
	struct proccache_bpf *skel;
	struct ring_buffer *rb;
	char *pin_path;        /* owned copy; NULL when not pinned */
	uint64_t lost_seen;    /* pc_lost already reported */
	uint64_t map_errors_seen; /* pc_map_errors last warned about */
	uint64_t attach_time;  /* CLOCK_BOOTTIME ns just before attach */
	uint32_t variant;      /* enum proccache_bpf_variant loaded */
	struct pc_bpf_decoder dec;
};

/* ---- libbpf's messages go to the host's log ----------------------------- */

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	enum proccache_log_level to = level == LIBBPF_WARN ? PROCCACHE_LOG_WARN :
				      level == LIBBPF_INFO ? PROCCACHE_LOG_INFO :
							     PROCCACHE_LOG_DEBUG;
	char *msg, *line, *save = NULL;
	va_list copy;
	int len;

	/* The verifier log comes as one multi-line message of any length:
	 * one log line per line of it. */
	va_copy(copy, ap);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0 || !(msg = malloc((size_t)len + 1)))
		return 0;
	vsnprintf(msg, (size_t)len + 1, fmt, ap);
	for (line = strtok_r(msg, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		pc_log(to, "%s", line);
	free(msg);
	return 0;
}

/* ---- decoding ---------------------------------------------------------- */

static bool key_ok(const struct pc_key *k)
{
	return k->pad == 0;
}

static struct proccache_key to_key(const struct pc_key *k)
{
	return (struct proccache_key){ .ktime = k->ktime, .pid = k->pid };
}

/*
 * Join @len bytes of NUL terminated path components, leaf first, into
 * "/root/.../leaf" in @out (at least @len + 2 bytes). A cut walk lacks its
 * top: its path is written without the leading slash. False if the blob is
 * not a sequence of non-empty terminated components.
 */
static bool join_path(const char *blob, size_t len, bool cut, char *out)
{
	size_t end = len, pos = 0;

	if (len && blob[len - 1] != '\0')
		return false;
	/* Walk components from the last (the root side) to the first. */
	while (end > 0) {
		size_t start = end - 1;

		while (start > 0 && blob[start - 1] != '\0')
			start--;
		if (start == end - 1)
			return false; /* empty component */
		if (pos || !cut)
			out[pos++] = '/';
		memcpy(out + pos, blob + start, end - 1 - start);
		pos += end - 1 - start;
		end = start;
	}
	if (!pos && !cut)
		out[pos++] = '/';
	out[pos] = '\0';
	return true;
}

/* A single NUL terminated string of exactly @len bytes (or none). */
static bool one_string(const char *s, size_t len)
{
	return !len || memchr(s, '\0', len) == s + len - 1;
}

static uint32_t exec_flags(const struct pc_rec_exec *r)
{
	uint32_t f = PROCCACHE_F_EXECVE;

	if (r->flags & PC_EXEC_F_ARGS_TRUNC)
		f |= PROCCACHE_F_ARGS_TRUNCATED;
	/* A walk that failed part-way lacks its top, as a cut one does. */
	if (r->flags & (PC_EXEC_F_BINARY_TRUNC | PC_EXEC_F_BINARY_ERR))
		f |= PROCCACHE_F_BINARY_TRUNCATED;
	if (r->flags & PC_EXEC_F_CWD_TRUNC)
		f |= PROCCACHE_F_CWD_TRUNCATED;
	if (r->flags & PC_EXEC_F_CWD_ERR)
		f |= PROCCACHE_F_CWD_ERROR;
	if (r->flags & PC_EXEC_F_SETUID)
		f |= PROCCACHE_F_SETUID;
	if (r->flags & PC_EXEC_F_SETGID)
		f |= PROCCACHE_F_SETGID;
	if (r->flags & PC_EXEC_F_ENV_TRUNC)
		f |= PROCCACHE_F_ENV_TRUNC;
	if (r->nlink == 0)
		f |= PROCCACHE_F_UNLINKED;
	return f;
}

/* The binary as the exec'd name: one terminated string. */
static bool copy_raw(const char *s, size_t len, char *out)
{
	if (!one_string(s, len))
		return false;
	memcpy(out, s, len);
	out[len ? len - 1 : 0] = '\0';
	return true;
}

/* Args as the programs must have cut them, given the record's claims. */
static bool args_consistent(const struct pc_rec_exec *r, size_t args_max)
{
	bool cut = r->args_size > args_max;

	if (r->flags & PC_EXEC_F_ARGS_ERR)
		return r->args_len == 0;
	return r->args_len == (cut ? args_max : r->args_size) &&
	       cut == !!(r->flags & PC_EXEC_F_ARGS_TRUNC);
}

/* The tty as /proc/<pid>/stat's tty_nr encodes it (new_encode_dev()). */
static uint32_t tty_nr(uint32_t major, uint32_t minor)
{
	return (minor & 0xffu) | ((major & 0xfffu) << 8) |
	       ((minor & ~0xffu) << 12);
}

static void decode_context(const struct pc_rec_exec *r,
			   struct proccache_event *ev)
{
	size_t n = strnlen(r->comm, sizeof(r->comm) - 1);

	/* A task may name itself "": context unknown then, as documented. */
	memcpy(ev->comm, r->comm, n);
	ev->comm[n] = '\0';
	ev->pgid = r->pgid;
	ev->sid = r->sid;
	ev->tty = r->tty_major ? tty_nr(r->tty_major, r->tty_minor) : 0;
}

/* The environment likewise: none at all unless the programs read it. */
static bool env_consistent(const struct pc_rec_exec *r, size_t env_max)
{
	bool cut = r->env_size > env_max;

	if (!env_max)
		return !r->env_size && !r->env_len &&
		       !(r->flags & (PC_EXEC_F_ENV_TRUNC | PC_EXEC_F_ENV_ERR));
	if (r->flags & PC_EXEC_F_ENV_ERR)
		return r->env_len == 0;
	return r->env_len == (cut ? env_max : r->env_size) &&
	       cut == !!(r->flags & PC_EXEC_F_ENV_TRUNC);
}

static int decode_exec(struct pc_bpf_decoder *d, const void *rec, size_t size,
		       struct proccache_event *ev)
{
	const char *bin, *cwd, *cgroup, *args;
	struct pc_rec_exec r;
	bool raw;

	if (size < sizeof(r))
		return -EBADMSG;
	memcpy(&r, rec, sizeof(r));
	raw = r.flags & PC_EXEC_F_BINARY_RAW;
	if (size != sizeof(r) + (size_t)r.binary_len + r.cwd_len +
			    r.cgroup_len + r.args_len + r.env_len)
		return -EBADMSG;
	if (r.pid == 0 || r.tid != r.pid || r.ktime == 0 ||
	    (r.flags & ~PC_EXEC_F_KNOWN_MASK) || r.pad || !key_ok(&r.prev) ||
	    !key_ok(&r.parent) || !key_ok(&r.real_parent))
		return -EBADMSG;
	/* No more than the programs can write, given their limits. */
	if (r.binary_len > (raw ? PC_NAME_MAX : PC_PATH_MAX) ||
	    r.cwd_len > PC_PATH_MAX || r.cgroup_len > PC_NAME_MAX ||
	    !args_consistent(&r, d->args_max) ||
	    !env_consistent(&r, d->env_max))
		return -EBADMSG;

	bin = (const char *)rec + sizeof(r);
	cwd = bin + r.binary_len;
	cgroup = cwd + r.cwd_len;
	args = cgroup + r.cgroup_len;
	if (raw ? !copy_raw(bin, r.binary_len, d->binary) :
		  !join_path(bin, r.binary_len,
			     r.flags & (PC_EXEC_F_BINARY_TRUNC | PC_EXEC_F_BINARY_ERR),
			     d->binary))
		return -EBADMSG;
	if (!join_path(cwd, r.cwd_len,
		       r.flags & (PC_EXEC_F_CWD_TRUNC | PC_EXEC_F_CWD_ERR), d->cwd) ||
	    !one_string(cgroup, r.cgroup_len))
		return -EBADMSG;
	/* Nothing walked is "unknown", not "/". */
	if (!r.binary_len)
		d->binary[0] = '\0';
	if (!r.cgroup_len || pc_container_id_from_cgroup(cgroup, d->container_id,
							 sizeof(d->container_id)) < 0)
		d->container_id[0] = '\0';

	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = PROCCACHE_EVENT_EXEC;
	ev->pid = r.pid;
	ev->tid = r.tid;
	ev->nspid = r.nspid;
	ev->ktime = r.ktime;
	ev->parent = to_key(&r.parent);
	ev->prev = to_key(&r.prev);
	ev->start_time = r.start_time;
	ev->flags = exec_flags(&r);
	ev->binary = d->binary;
	ev->args = r.args_len ? args : NULL;
	ev->args_len = r.args_len;
	ev->env = r.env_len ? args + r.args_len : NULL;
	ev->env_len = r.env_len;
	ev->cwd = d->cwd;
	ev->container_id = d->container_id;
	memcpy(&ev->creds, r.creds, sizeof(ev->creds));
	ev->caps.permitted = r.caps[PROCCACHE_CAP_PERMITTED];
	ev->caps.effective = r.caps[PROCCACHE_CAP_EFFECTIVE];
	ev->caps.inheritable = r.caps[PROCCACHE_CAP_INHERITABLE];
	memcpy(&ev->ns, r.ns, sizeof(ev->ns));
	ev->cgroup_id = r.cgroup_id;
	ev->binary_inode = r.ino;
	ev->binary_nlink = r.nlink;
	decode_context(&r, ev);
	return 0;
}

static int decode_clone(const void *rec, size_t size,
			struct proccache_event *ev)
{
	struct pc_rec_clone c;

	if (size != sizeof(c))
		return -EBADMSG;
	memcpy(&c, rec, sizeof(c));
	if (c.pid == 0 || c.tid != c.pid || c.ktime == 0 || !key_ok(&c.parent))
		return -EBADMSG;
	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = PROCCACHE_EVENT_CLONE;
	ev->pid = c.pid;
	ev->tid = c.tid;
	ev->nspid = c.nspid;
	ev->ktime = c.ktime;
	ev->parent = to_key(&c.parent);
	ev->flags = PROCCACHE_F_CLONE;
	return 0;
}

/* The status is what wait(2) reports: exit code << 8, or the signal. */
static int decode_exit(const void *rec, size_t size,
		       struct proccache_event *ev)
{
	struct pc_rec_exit x;
	unsigned int sig;

	if (size != sizeof(x))
		return -EBADMSG;
	memcpy(&x, rec, sizeof(x));
	if (x.pid == 0 || x.pad || x.time == 0 || x.status > 0xffff)
		return -EBADMSG;
	sig = x.status & 0x7f;
	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = PROCCACHE_EVENT_EXIT;
	ev->pid = x.pid;
	ev->tid = x.tid;
	ev->ktime = x.ktime;
	ev->time = x.time;
	if (sig)
		ev->exit_signal = (int32_t)sig;
	else
		ev->exit_code = (int32_t)((x.status >> 8) & 0xff);
	return 0;
}

int pc_bpf_decode(struct pc_bpf_decoder *d, const void *rec, size_t size,
		  struct proccache_event *ret)
{
	struct pc_rec_hdr hdr;
	struct proccache_event ev;
	int err;

	if (!d || !rec || !ret || size < sizeof(hdr))
		return -EBADMSG;
	memcpy(&hdr, rec, sizeof(hdr));
	if (hdr.version != PC_REC_VERSION || hdr.size != size)
		return -EBADMSG;
	switch (hdr.type) {
	case PC_REC_EXEC:
		err = decode_exec(d, rec, size, &ev);
		break;
	case PC_REC_CLONE:
		err = decode_clone(rec, size, &ev);
		break;
	case PC_REC_EXIT:
		err = decode_exit(rec, size, &ev);
		break;
	default:
		err = -EBADMSG;
		break;
	}
	if (!err)
		*ret = ev;
	return err;
}

/* ---- the running sensor -------------------------------------------------- */

static struct pc_sensor_bpf *bpf_of(struct pc_backend *s)
{
	return (struct pc_sensor_bpf *)s;
}

static const struct pc_sensor_bpf *bpf_of_const(const struct pc_backend *s)
{
	return (const struct pc_sensor_bpf *)s;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct pc_sensor_bpf *b = ctx;
	struct proccache_event ev;

	if (pc_bpf_decode(&b->dec, data, size, &ev)) {
		pc_counter_add(&b->base.stats.malformed, 1);
		pc_debug("sensor: dropped a malformed %zu byte record", size);
		return 0;
	}
	pc_counter_add(&b->base.stats.records, 1);
	return pc_backend_ingest(&b->base, &ev);
}

/* Tell the cache about records the kernel side could not write. */
static int report_lost(struct pc_sensor_bpf *b)
{
	uint64_t now = __atomic_load_n(&b->skel->bss->pc_lost, __ATOMIC_RELAXED);
	struct proccache_event ev;

	if (now == b->lost_seen)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.sz = sizeof(ev);
	ev.type = PROCCACHE_EVENT_LOST;
	ev.lost = now - b->lost_seen;
	b->lost_seen = now;
	pc_counter_add(&b->base.stats.lost, ev.lost);
	return pc_backend_ingest(&b->base, &ev);
}

/* A full exec map leaves children with unknown parent keys: say so, each
 * time the count of failed updates doubles. */
static void warn_map_full(struct pc_sensor_bpf *b)
{
	uint64_t now = __atomic_load_n(&b->skel->bss->pc_map_errors,
				       __ATOMIC_RELAXED);

	if (now <= 2 * b->map_errors_seen || !now)
		return;
	b->map_errors_seen = now;
	pc_warn("sensor: the exec map is full; %llu updates failed so far",
		(unsigned long long)now);
}

static int bpf_consume(struct pc_backend *s)
{
	struct pc_sensor_bpf *b = bpf_of(s);
	int n = ring_buffer__consume(b->rb);
	int err = report_lost(b);

	warn_map_full(b);

	if (n < 0)
		return n;
	return err < 0 ? err : n;
}

/* The ring's own map fd is pollable: the runner waits on it directly, not
 * on libbpf's epoll set around it. */
static int bpf_fd(const struct pc_backend *s)
{
	return bpf_map__fd(bpf_of_const(s)->skel->maps.pc_events);
}

static int bpf_exec_map_fd(const struct pc_backend *s)
{
	return bpf_map__fd(bpf_of_const(s)->skel->maps.pc_execs);
}

static void bpf_detach(struct pc_backend *s)
{
	struct pc_sensor_bpf *b = bpf_of(s);
	libbpf_print_fn_t prev = libbpf_set_print(libbpf_to_log);

	proccache_bpf__detach(b->skel);
	libbpf_set_print(prev);
}

static void bpf_destroy(struct pc_backend *s)
{
	struct pc_sensor_bpf *b = bpf_of(s);
	libbpf_print_fn_t prev = libbpf_set_print(libbpf_to_log);

	ring_buffer__free(b->rb);
	if (b->pin_path)
		bpf_map__unpin(b->skel->maps.pc_execs, b->pin_path);
	proccache_bpf__destroy(b->skel);
	libbpf_set_print(prev);
	free(b->pin_path);
	free(b);
}

static const struct pc_backend_ops bpf_ops = {
	.fd = bpf_fd,
	.consume = bpf_consume,
	.exec_map_fd = bpf_exec_map_fd,
	.detach = bpf_detach,
	.destroy = bpf_destroy,
	/* the programs time their own wake-ups (pc_wake_ns): records wait
	 * in the ring at no cost */
	.batches = true,
};

/* ---- start-up ------------------------------------------------------------ */

static bool has_cap(const struct __user_cap_data_struct *data, unsigned int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* The BPF object needs CAP_BPF with CAP_PERFMON (5.8+), or CAP_SYS_ADMIN. */
static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0; /* cannot tell: let the kernel decide */
	if (has_cap(data, PC_CAP_SYS_ADMIN) ||
	    (has_cap(data, PC_CAP_BPF) && has_cap(data, PC_CAP_PERFMON)))
		return 0;
	return -EPERM;
}

static void log_eperm(void)
{
	pc_error("sensor: the BPF backend needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) in the initial user namespace");
}

static const char *variant_name(uint32_t variant)
{
	switch (variant) {
	case PROCCACHE_BPF_VARIANT_TP_BTF_TIMER:
		return "tp_btf, timer wake-ups";
	case PROCCACHE_BPF_VARIANT_TP_BTF:
		return "tp_btf, a wake-up per record";
	default:
		return "classic tracepoints";
	}
}

static void select_programs(struct proccache_bpf *skel, uint32_t variant)
{
	bool timer = variant == PROCCACHE_BPF_VARIANT_TP_BTF_TIMER;
	bool btf = variant == PROCCACHE_BPF_VARIANT_TP_BTF;
	bool classic = variant == PROCCACHE_BPF_VARIANT_TRACEPOINT;

	bpf_program__set_autoload(skel->progs.pc_fork_btf, timer);
	bpf_program__set_autoload(skel->progs.pc_exec_btf, timer);
	bpf_program__set_autoload(skel->progs.pc_exit_btf, timer);
	bpf_program__set_autoload(skel->progs.pc_fork_btf_k, btf);
	bpf_program__set_autoload(skel->progs.pc_exec_btf_k, btf);
	bpf_program__set_autoload(skel->progs.pc_exit_btf_k, btf);
	bpf_program__set_autoload(skel->progs.pc_fork_tp, classic);
	bpf_program__set_autoload(skel->progs.pc_exec_tp, classic);
	bpf_program__set_autoload(skel->progs.pc_exit_tp, classic);
}

/* Open, size and load one program set. */
static int load(struct pc_sensor_bpf *b, uint32_t variant)
{
	struct proccache_bpf *skel;
	int ncpus = libbpf_num_possible_cpus();
	int err;

	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;
	skel = proccache_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->pc_args_max = (uint32_t)b->cfg.args_max;
	skel->rodata->pc_env_max = (uint32_t)b->cfg.env_max;
	skel->rodata->pc_wake_ns = b->cfg.wakeup_ns ? b->cfg.wakeup_ns : PC_WAKE_NS;
	/* Pending bytes that wake the consumer at once: a batch, or a
	 * quarter of a small ring. */
	skel->rodata->pc_wake_bytes = b->cfg.ring_size / 4 < PC_WAKE_BYTES ?
					      b->cfg.ring_size / 4 : PC_WAKE_BYTES;
	err = bpf_map__set_max_entries(skel->maps.pc_events, (uint32_t)b->cfg.ring_size);
	if (!err)
		err = bpf_map__set_value_size(skel->maps.pc_scratch,
					      (uint32_t)PC_SCRATCH_SIZE(b->cfg.args_max,
								b->cfg.env_max));
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.pc_scratch, (uint32_t)ncpus);
	if (err) {
		proccache_bpf__destroy(skel);
		return err;
	}
	select_programs(skel, variant);
	err = proccache_bpf__load(skel);
	if (err) {
		proccache_bpf__destroy(skel);
		return err;
	}
	b->skel = skel;
	b->variant = variant;
	return 0;
}

/*
 * The BPF ring buffer: 0, -EOPNOTSUPP (logged), or -EPERM. libbpf's probe
 * answers "no" when bpf() itself is refused (a seccomp filter, an LSM), so
 * a "no" is checked with a map type every kernel has.
 */
static int probe_ringbuf(void)
{
	int fd;

	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0)
		return 0;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, sizeof(uint32_t),
			    sizeof(uint32_t), 1, NULL);
	if (fd < 0 && (errno == EPERM || errno == EACCES))
		return -EPERM;
	if (fd >= 0)
		close(fd);
	pc_error("sensor: this kernel has no BPF ring buffer (Linux 5.8 or later has it)");
	return -EOPNOTSUPP;
}

/*
 * The program set this kernel supports, by probing its features, never
 * its version: the deferred wake-up needs bpf_timer (5.15); everything
 * needs the BPF ring buffer (5.8). Whether tp_btf attaches is learnt by
 * loading it (libbpf cannot probe tracing programs), so load_and_attach()
 * still steps down a set when one fails.
 */
static int probe_variant(uint32_t *ret)
{
	int err = probe_ringbuf();
	int timer;

	if (err)
		return err;
	if (pc_sensor_bpf_force_variant) {
		*ret = pc_sensor_bpf_force_variant;
		return 0;
	}
	/* Timer helpers are base helpers: any program type answers. */
	timer = libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_timer_init, NULL);
	*ret = timer > 0 ? PROCCACHE_BPF_VARIANT_TP_BTF_TIMER : PROCCACHE_BPF_VARIANT_TP_BTF;
	if (timer <= 0)
		pc_info("sensor: no bpf_timer in this kernel: a wake-up per record (%s)",
			timer < 0 ? strerror(-timer) : "probed");
	return 0;
}

static int load_and_attach(struct pc_sensor_bpf *b)
{
	uint32_t variant;
	int err = probe_variant(&variant);

	if (err)
		return err;
	for (;;) {
		err = load(b, variant);
		if (!err) {
			b->attach_time = pc_clock_ns(CLOCK_BOOTTIME);
			err = proccache_bpf__attach(b->skel);
			if (err) {
				proccache_bpf__destroy(b->skel);
				b->skel = NULL;
			}
		}
		if (!err || err == -EPERM)
			return err;
		if (pc_sensor_bpf_force_variant ||
		    variant == PROCCACHE_BPF_VARIANT_TRACEPOINT) {
			pc_error("sensor: no BPF program set loads on this kernel, the last (%s) failed: %s (the libbpf and verifier log above says why)",
				 variant_name(variant), strerror(-err));
			return err;
		}
		pc_warn("sensor: the BPF programs (%s) failed to load or attach (%s); trying %s",
			variant_name(variant), strerror(-err), variant_name(variant + 1));
		variant++;
	}
}

static int pin_exec_map(struct pc_sensor_bpf *b)
{
	const char *path = b->cfg.pin_path;
	int err;

	/* The path is the host's to give: a stale pin from an earlier run is
	 * replaced. */
	if (unlink(path) < 0 && errno != ENOENT) {
		err = -errno;
		pc_error("sensor: cannot replace %s: %s", path, strerror(-err));
		return err;
	}
	err = bpf_map__pin(b->skel->maps.pc_execs, path);
	if (err) {
		pc_error("sensor: cannot pin the exec map at %s: %s", path,
			 strerror(-err));
		return err;
	}
	b->pin_path = strdup(path);
	if (!b->pin_path) {
		bpf_map__unpin(b->skel->maps.pc_execs, path);
		return -ENOMEM;
	}
	return 0;
}

static int setup(struct pc_sensor_bpf *b)
{
	int err;

	err = load_and_attach(b);
	if (err == -EPERM) {
		log_eperm();
		return err;
	}
	if (err)
		return err;
	if (b->cfg.pin_path) {
		err = pin_exec_map(b);
		if (err)
			return err;
	}
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.pc_events), on_record,
				 b, NULL);
	if (!b->rb) {
		err = -errno;
		pc_error("sensor: cannot map the ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

/*
 * One process from the start-up scan, before it is ingested: seeded in
 * the kernel map so that its children find their key there. One the
 * programs have seen already (started or exec'd since attach) is left to
 * the ring, which describes it exactly.
 */
static int seed_map(struct pc_backend *base, const struct pc_proc_info *info)
{
	struct pc_sensor_bpf *b = bpf_of(base);
	uint32_t pid = info->ev.pid;
	struct pc_exec_value v = {
		.key = { .ktime = info->ev.ktime, .pid = pid },
		.parent = { .ktime = info->ev.parent.ktime,
			    .pid = info->ev.parent.pid },
		.flags = PC_EXEC_VALUE_PROCFS,
	};

	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.pc_execs), &pid, &v,
				BPF_NOEXIST)) {
		if (errno == EEXIST)
			return -EEXIST;
		pc_debug("sensor: cannot seed pid %u: %s", pid, strerror(errno));
	}
	return 0;
}

int pc_sensor_bpf_start(struct proccache *pc, const struct pc_sensor_cfg *cfg,
			struct pc_backend **ret)
{
	struct pc_sensor_bpf *b;
	libbpf_print_fn_t prev;
	int err;

	if (access(BTF_VMLINUX, R_OK) < 0) {
		err = errno == EACCES ? -EPERM : -EOPNOTSUPP;
		if (err == -EPERM)
			log_eperm();
		else
			pc_error("sensor: no kernel BTF at " BTF_VMLINUX
				 ": the BPF backend needs a kernel built with CONFIG_DEBUG_INFO_BTF");
		return err;
	}
	if (check_privileges()) {
		log_eperm();
		return -EPERM;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pc_backend_init(&b->base, &bpf_ops, pc);
	b->cfg = *cfg;
	b->dec.args_max = cfg->args_max;
	b->dec.env_max = cfg->env_max;

	prev = libbpf_set_print(libbpf_to_log);
	err = setup(b);
	libbpf_set_print(prev);
	if (err) {
		if (b->skel)
			bpf_destroy(&b->base);
		else
			free(b);
		return err;
	}
	b->base.bpf_variant = b->variant;
	pc_info("sensor: BPF programs attached (%s), ring %zu bytes, args up to %zu bytes",
		variant_name(b->variant), cfg->ring_size, cfg->args_max);

	/* The scan's start times are cut to the tick: one of attach time
	 * or later is the programs' to report. */
	err = pc_backend_seed(&b->base, cfg, b->attach_time, seed_map);
	if (err < 0) {
		bpf_destroy(&b->base);
		return err;
	}
	/* What happened during start-up, now that the parents are in. */
	err = bpf_consume(&b->base);
	if (err < 0)
		pc_debug("sensor: first consume: %s", strerror(-err));
	*ret = &b->base;
	return 0;
}
