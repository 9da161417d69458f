/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PROCCACHE_INGEST_FIELDS_H
#define PROCCACHE_INGEST_FIELDS_H

#include <stdint.h>

#include "proccache/proccache.h"

struct pc_image;
struct pc_node;

/*
 * Put into @ev the fields of @groups (enum proccache_field) that @old has,
 * the image an exec replaces; with no @old, empty ones (creds all
 * (uint32_t)-1: no id is better than root's). The strings point into
 * @old.
 */
void pc_exec_take_fields(struct proccache_event *ev, const struct pc_image *old,
			 uint32_t groups);

/* The image of an exec whose own image could not be read (@ev flagged
 * PROCCACHE_F_VANISHED): every group and the process context taken from
 * @prev's image. NULL on allocation failure. */
struct pc_image *pc_exec_inherited_image(struct proccache *pc,
					 const struct proccache_event *ev,
					 struct pc_node *prev);

#endif
