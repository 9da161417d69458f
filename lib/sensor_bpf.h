/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF sensor: loads bpf/proccache.bpf.c (embedded skeleton), seeds it
 * from /proc and turns its ring records into ingest events. Ingest thread
 * only. See docs/sensor-bpf.md.
 */
#ifndef PROCCACHE_SENSOR_BPF_H
#define PROCCACHE_SENSOR_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/events.h"
#include "proccache/proccache.h"
#include "sensor_backend.h"

/*
 * Load, attach, scan /proc and seed the kernel map, then ingest what the
 * ring holds so far. 0 and *@ret set, or negative errno (logged).
 */
int pc_sensor_bpf_start(struct proccache *pc, const struct pc_sensor_cfg *cfg,
			struct pc_backend **ret);

/* Room for the strings a decoded exec record points at. */
struct pc_bpf_decoder {
	size_t args_max;
	size_t env_max; /* 0: records carry no environment */
	char binary[PC_PATH_MAX + 2];
	char cwd[PC_PATH_MAX + 2];
	char container_id[PC_NAME_MAX];
};

/*
 * Decode one ring record of @size bytes into @ret. The event's strings
 * point into @d and its args into @rec: valid until the next decode or
 * until @rec is released. Every length is checked against the record's
 * own size and the limits the programs were loaded with.
 * Returns 0, or -EBADMSG for a malformed record (@ret is then untouched).
 */
int pc_bpf_decode(struct pc_bpf_decoder *d, const void *rec, size_t size,
		  struct proccache_event *ret);

/* For tests: load this program set (enum proccache_bpf_variant) instead
 * of probing, and do not fall back to another. 0: probe. Set before
 * pc_sensor_bpf_start(). */
extern uint32_t pc_sensor_bpf_force_variant;

#endif
