/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* proccache-edr: the evaluator shared by main.c and the benchmark. */
#ifndef EDR_EDR_H
#define EDR_EDR_H

#include <stdio.h>

#include "jsonw.h"
#include "rules.h"

/* Longest lineage looked at and printed. */
#define EDR_LINEAGE_MAX 64

struct edr {
	struct proccache *pc;
	struct ruleset *rules;
	FILE *out; /* alerts, one JSON object per line; NULL: count only */
	struct jw jw;
	uint64_t execs, alerts, labelled;
};

/* The EXEC subscriber: evaluate every rule against @process in order;
 * print an alert for each alerting rule that matches, and give the
 * process the labels of every matching rule (so its descendants inherit
 * them, and later rules see them). */
int edr_on_exec(struct proccache *pc, const struct proccache_event *ev,
		const struct proccache_process *process,
		const struct proccache_process *parent, void *userdata);

#endif
