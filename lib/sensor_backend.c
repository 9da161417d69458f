/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the sensor backends share (sensor_backend.h). Ingest thread only. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "sensor_backend.h"

void pc_backend_init(struct pc_backend *b, const struct pc_backend_ops *ops,
		     struct proccache *pc)
{
	b->ops = ops;
	b->pc = pc;
}

int pc_backend_ingest(struct pc_backend *b, const struct proccache_event *ev)
{
	int ret = proccache__ingest(b->pc, ev);

	if (ret == -ENOSPC)
		return 0;
	if (ret == -EINVAL) {
		pc_counter_add(&b->stats.malformed, 1);
		pc_debug("sensor: the cache refused an event (type %u pid %u)",
			 ev->type, ev->pid);
		return 0;
	}
	return ret < 0 ? ret : 0;
}

struct seed_ctx {
	struct pc_backend *b;
	uint64_t since;
	int (*also)(struct pc_backend *b, const struct pc_proc_info *info);
};

static int seed_one(struct pc_proc_info *info, void *userdata)
{
	struct seed_ctx *c = userdata;
	int err;

	/* /proc start times are cut to the tick: a process that started in
	 * the tick of @since may be either side of it; the events and the
	 * core's duplicate check sort that out. */
	if (info->ev.start_time >= c->since)
		return 0;
	if (c->also && c->also(c->b, info) < 0)
		return 0;
	err = proccache__ingest(c->b->pc, &info->ev);
	if (err < 0 && err != -ENOSPC)
		pc_debug("sensor: ingest of scanned pid %u failed: %s",
			 info->ev.pid, strerror(-err));
	pc_counter_add(&c->b->stats.scanned, 1);
	return 0;
}

int pc_backend_seed(struct pc_backend *b, const struct pc_sensor_cfg *cfg,
		    uint64_t since,
		    int (*also)(struct pc_backend *b, const struct pc_proc_info *info))
{
	struct seed_ctx c = { .b = b, .since = since, .also = also };
	int err = pc_procfs_scan_env(cfg->proc_prefix, cfg->args_max,
				     cfg->env_max, seed_one, &c);

	if (err < 0) {
		pc_error("sensor: cannot scan %s: %s", cfg->proc_prefix,
			 strerror(-err));
		return err;
	}
	return 0;
}
