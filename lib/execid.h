/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec key <-> exec ID string, and the strict base64 it is made of. */
#ifndef PROCCACHE_EXECID_H
#define PROCCACHE_EXECID_H

#include <stddef.h>
#include <sys/types.h>

#include "proccache/proccache.h"

/* Longest decoded exec ID: "<node>:<ktime>:<pid>" with the longest node,
 * UINT64_MAX (20 digits) and UINT32_MAX (10 digits). */
#define PC_EXEC_ID_RAW_MAX (PROCCACHE_NODE_NAME_MAX + 1 + 20 + 1 + 10)

/* Length of the padded base64 text of @n bytes, without the NUL. */
#define PC_BASE64_LEN(n) (((n) + 2) / 3 * 4)

/*
 * Encode @n bytes of @src as padded standard base64 into @dst.
 * Returns the text length, or -ENOSPC (writing nothing) if @dst_len cannot
 * hold it and its NUL.
 */
int pc_base64_encode(const void *src, size_t n, char *dst, size_t dst_len);

/*
 * Decode @n characters of padded standard base64. Only the canonical form is
 * accepted: a multiple of four characters, '=' only as the last one or two,
 * and the bits the padding leaves over all zero, so one byte string has one
 * text and two different texts never name the same exec key.
 * Returns the decoded length, -EINVAL for malformed text or -ENOSPC if it
 * does not fit in @dst_len bytes.
 */
ssize_t pc_base64_decode(const char *src, size_t n, void *dst, size_t dst_len);

/*
 * The exec key @exec_id names on node @node, as proccache_exec_id_parse()
 * and a comparison of the node would find it, for the lookups by exec ID:
 * an ID of @node is checked in place, without copying or searching its
 * node name. Returns 0, -EINVAL for a malformed ID or -ENOENT for another
 * node's.
 */
int pc_exec_id_key_on(const char *exec_id, const char *node,
		      struct proccache_key *ret_key);

#endif
