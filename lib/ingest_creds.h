/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PROCCACHE_INGEST_CREDS_H
#define PROCCACHE_INGEST_CREDS_H

#include "proccache/proccache.h"

/* Apply a CREDS event (ingest thread): an enum proccache_ingest_result or
 * a negative errno / subscriber return, as proccache__ingest(). */
int pc_ingest_creds(struct proccache *pc, const struct proccache_event *ev);

#endif
