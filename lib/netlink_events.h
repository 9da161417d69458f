/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink sensor's translation of a decided FIFO item
 * (netlink_settle.h) into one ingest event. Ingest thread only. See
 * docs/sensor-netlink.md, "Times and keys".
 */
#ifndef PROCCACHE_NETLINK_EVENTS_H
#define PROCCACHE_NETLINK_EVENTS_H

#include "netlink_settle.h"
#include "sensor_backend.h"

/*
 * Ingest @it through @b (pc_backend_ingest()); @v is an exec's verdict:
 * PC_NL_IMAGE when its /proc read describes its image, else the exec is
 * ingested flagged PROCCACHE_F_VANISHED without an image. 0 or a
 * subscriber's negative value.
 */
int pc_nl_ingest_item(struct pc_backend *b, const struct pc_nl_item *it,
		      enum pc_nl_verdict v);

#endif
