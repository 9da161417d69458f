/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The user and group name cache: layout shared by the readers (any thread)
 * and the one resolver thread that writes. See docs/users.md.
 *
 * The table is a fixed array of slots found by open addressing within a
 * short probe window. Each slot is a seqlock: the resolver thread is its
 * only writer, and every field, the name included, is an atomic word, so a
 * reader racing a write sees a changed sequence and retries, never a torn
 * value (and TSan sees no plain access to race on). Slots are never
 * emptied again once used, only overwritten, which lets a reader stop at
 * the first empty slot of the window.
 */
#ifndef PROCCACHE_USERS_H
#define PROCCACHE_USERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "proccache/proccache.h"

/* Words of a name: PROCCACHE_USERS_NAME_MAX bytes and the NUL. */
#define PC_USERS_NAME_WORDS ((PROCCACHE_USERS_NAME_MAX + 1) / 8)

/* A slot's state, in the low bits of its meta word. */
enum pc_users_state {
	PC_USERS_EMPTY = 0,
	PC_USERS_NAME = 1,     /* the name; its length in meta >> 16 */
	PC_USERS_NEGATIVE = 2, /* no name: the errno in (meta >> 8) & 0xff */
};

struct pc_users_slot {
	atomic_uint seq;                  /* odd while the resolver writes */
	atomic_uint meta;                 /* state | errno << 8 | length << 16 */
	atomic_uint_least64_t key;        /* pc_users_key(); 0 = never used */
	atomic_uint_least64_t expires_ns; /* on the cache's clock */
	atomic_uint_least64_t name[PC_USERS_NAME_WORDS];
};

/* Requests from readers to the resolver: a small set of keys, 0 = free. */
#define PC_USERS_REQUESTS 64
/* Slots a lookup or an insert looks at from the key's home slot. */
#define PC_USERS_PROBE 8

/* A key is never 0: the kind is stored plus one above the id. */
static inline uint64_t pc_users_key(enum proccache_users_kind kind, uint32_t id)
{
	return ((uint64_t)kind + 1) << 32 | id;
}

#endif
