/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sensor runner: the public proccache__sensor_* API, backend
 * selection, and the one loop that drives a backend. It owns one epoll set
 * holding the backend's fd and one timer; each turn calls the backend's
 * consume, then reconciliation when it is due, then re-arms the timer for
 * the earlier of the backend's wake-up and the next reconciliation. The
 * host's loop (proccache__sensor_fd() + proccache__sensor_consume()) and
 * the library thread run the same turn.
 *
 * Layer: sensor runner, above the backends and reconciliation. Ingest
 * thread only, except the counters, which any thread reads.
 */
#ifndef PROCCACHE_SENSOR_PRIV_H
#define PROCCACHE_SENSOR_PRIV_H

#include "proccache/proccache.h"

struct pc_backend;

/* Sensor teardown from proccache__free(); a no-op without a sensor. */
void pc_sensor_free(struct proccache *pc);

/* For tests: the running backend, NULL if none. */
struct pc_backend *pc_sensor_backend(const struct proccache *pc);

#endif
