/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proccache-edr's rules (docs/proccache-edr.md): one rule per line,
 *
 *   rule NAME [when COND [and COND]...] then ACTION [and ACTION]...
 *
 * parsed into a rule set that is evaluated against every exec. A parse
 * error names its line and column; the caller keeps its old set.
 */
#ifndef EDR_RULES_H
#define EDR_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <proccache/proccache.h>

enum cond_kind {
	COND_BINARY,   /* binary GLOB */
	COND_ARG,      /* arg GLOB: any argument after argv[0] */
	COND_ENV,      /* env GLOB: any "NAME=value" of the captured environment */
	COND_UID,      /* uid N */
	COND_EUID,     /* euid N */
	COND_FLAG,     /* flag NAME */
	COND_LABEL,    /* label N (0-63) */
	COND_ANCESTOR, /* ancestor N binary GLOB: within N levels */
};

/* How a glob is matched: most are a literal, a suffix ("*\/curl") or a
 * prefix ("--password=*"), which need no fnmatch(3). */
enum glob_kind { GLOB_EXACT, GLOB_SUFFIX, GLOB_PREFIX, GLOB_FNMATCH };

struct cond {
	enum cond_kind kind;
	enum glob_kind glob_kind;
	bool negate;
	uint32_t num;   /* uid, label bit, ancestor depth */
	uint32_t flags; /* COND_FLAG: enum proccache_flags bits; 0 = memfd */
	char *glob;
	size_t lit_len; /* GLOB_SUFFIX, GLOB_PREFIX: the literal's length */
	const char *lit; /* and the literal, inside glob */
};

struct rule {
	char *name;
	struct cond *conds;
	size_t n_conds;
	bool alert;
	uint64_t add_labels;
};

struct ruleset {
	struct rule *rules;
	size_t n_rules;
	/* The deepest ancestor any rule looks at. */
	uint32_t max_depth;
};

struct rules_error {
	unsigned int line, col; /* 1-based */
	char msg[160];
};

/* Parse @text; 0 with *@ret, or -EINVAL with @err filled, or -ENOMEM. */
int rules_parse(const char *text, struct ruleset **ret,
		struct rules_error *err);
/* Read and parse the file at @path; -errno of the read (line 0). */
int rules_load(const char *path, struct ruleset **ret, struct rules_error *err);
void rules_free(struct ruleset *rs);

/* What a rule is evaluated against: the exec'd entry, its ancestors
 * (nearest first; borrowed from the cache on first use, at most @max_anc)
 * and its labels so far (earlier rules may add some). */
struct subject {
	struct proccache *pc;
	const struct proccache_process *p;
	struct proccache_process **anc;
	size_t n_anc, max_anc;
	bool anc_loaded;
	uint64_t labels;
};

/* Conditions are tested cheapest first (they are and-ed and have no side
 * effect, so the order does not change the result). */
bool rule_matches(const struct rule *r, struct subject *s);
/* Borrow @s's lineage if not yet done; release it with subject_done(). */
void subject_load_lineage(struct subject *s);
void subject_done(struct subject *s);

#endif
