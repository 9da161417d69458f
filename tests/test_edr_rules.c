/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/proccache-edr's matcher on a cache fed through the public ingest
 * API (no root): one row per rule, against a known lineage
 *   init <- nginx <- sh <- curl --password=hunter2 -o /tmp/x
 * curl having LD_PRELOAD=/tmp/evil.so and PATH=/bin in its environment.
 * Each row says whether the rule matches curl's exec.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include <proccache/proccache.h>

#include "rules.h"

#define EDR_LINEAGE_MAX_TEST 64

struct row {
	const char *rule;
	bool match;
};

static const struct row rows[] = {
	{ "rule r when binary /usr/bin/curl then alert", true },
	{ "rule r when binary /usr/bin/cur then alert", false },
	{ "rule r when binary \"*/curl\" then alert", true },
	{ "rule r when binary \"*/url\" then alert", false },
	{ "rule r when binary \"*url\" then alert", true },
	{ "rule r when binary \"*/wget\" then alert", false },
	{ "rule r when binary \"/usr/*\" then alert", true },
	{ "rule r when binary \"/usr/sbin/*\" then alert", false },
	{ "rule r when binary \"/usr/*/c?rl\" then alert", true },
	{ "rule r when binary \"/usr/*/c[aeio]rl\" then alert", false },
	{ "rule r when not binary \"*/curl\" then alert", false },
	{ "rule r when arg \"--password=*\" then alert", true },
	{ "rule r when arg curl then alert", false }, /* argv[0] is not an arg */
	{ "rule r when arg \"/tmp/*\" and arg -o then alert", true },
	{ "rule r when arg \"-O\" then alert", false },
	{ "rule r when uid 1000 and euid 0 then alert", true },
	{ "rule r when uid 0 then alert", false },
	{ "rule r when not uid 0 then alert", true },
	{ "rule r when flag setuid then alert", true },
	{ "rule r when flag unlinked then alert", false },
	{ "rule r when flag memfd then alert", false },
	{ "rule r when label 5 then alert", true },
	{ "rule r when label 6 then alert", false },
	{ "rule r when ancestor 1 binary \"*/sh\" then alert", true },
	{ "rule r when ancestor 1 binary \"*/nginx\" then alert", false },
	{ "rule r when ancestor 2 binary \"*/nginx\" then alert", true },
	{ "rule r when ancestor 64 binary /sbin/init then alert", true },
	{ "rule r when ancestor 2 binary /sbin/init then alert", false },
	{ "rule r when not ancestor 3 binary \"*/nginx\" then alert", false },
	/* and-ed conditions tested cheapest first give the same answer */
	{ "rule r when ancestor 2 binary \"*/nginx\" and arg -o and label 5 and "
	  "binary \"*/curl\" and flag setuid then alert", true },
	{ "rule r when ancestor 2 binary \"*/nginx\" and arg -o and label 5 and "
	  "binary \"*/curl\" and flag setgid then alert", false },
	{ "rule r when env \"LD_PRELOAD=*\" then alert", true },
	{ "rule r when env \"LD_LIBRARY_PATH=*\" then alert", false },
	{ "rule r when env PATH=/bin then alert", true },
	{ "rule r when env \"*=/tmp/*\" then alert", true },
	{ "rule r when not env \"LD_PRELOAD=*\" then alert", false },
	{ "rule r then alert", true },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

static struct proccache_key exec_ev(struct proccache *pc, uint32_t pid,
				    uint64_t kt, struct proccache_key parent,
				    const char *binary, const char *args,
				    size_t args_len, uint32_t uid, uint32_t euid,
				    uint32_t flags)
{
	static const char curl_env[] = "LD_PRELOAD=/tmp/evil.so\0PATH=/bin";
	bool curl = !strcmp(binary, "/usr/bin/curl");
	PROCCACHE_OPTS(proccache_event, ev, .type = PROCCACHE_EVENT_EXEC,
		       .pid = pid, .ktime = kt, .parent = parent,
		       .binary = binary, .args = args, .args_len = args_len,
		       .flags = flags, .env = curl ? curl_env : NULL,
		       .env_len = curl ? sizeof(curl_env) : 0);

	ev.creds.uid = uid;
	ev.creds.euid = euid;
	cr_assert_eq(proccache__ingest(pc, &ev), 0);
	return (struct proccache_key){ .pid = pid, .ktime = kt };
}

ParameterizedTestParameters(edr_rules, match)
{
	static size_t idx[N_ROWS];

	for (size_t i = 0; i < N_ROWS; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, N_ROWS);
}

ParameterizedTest(size_t *i, edr_rules, match)
{
	static const char curl_args[] = "curl\0--password=hunter2\0-o\0/tmp/x";
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "t", .env_max = 256);
	struct proccache *pc = proccache__new(&opts);
	struct proccache_process *anc[EDR_LINEAGE_MAX_TEST];
	struct proccache_process *curl;
	struct proccache_key k = { 0 };
	struct rules_error err;
	struct ruleset *rs;
	struct subject s;

	cr_assert_not_null(pc);
	k = exec_ev(pc, 1, 10, k, "/sbin/init", NULL, 0, 0, 0, 0);
	k = exec_ev(pc, 100, 20, k, "/usr/sbin/nginx", NULL, 0, 0, 0, 0);
	k = exec_ev(pc, 200, 30, k, "/usr/bin/sh", NULL, 0, 1000, 1000, 0);
	k = exec_ev(pc, 300, 40, k, "/usr/bin/curl", curl_args,
		    sizeof(curl_args), 1000, 0, PROCCACHE_F_SETUID);
	cr_assert_eq(proccache__set_labels(pc, &k, 1u << 5, 0), 0);
	curl = proccache__lookup(pc, &k);
	cr_assert_not_null(curl);

	cr_assert_eq(rules_parse(rows[*i].rule, &rs, &err), 0,
		     "%s: %u:%u: %s", rows[*i].rule, err.line, err.col, err.msg);
	s = (struct subject){ .pc = pc, .p = curl, .anc = anc,
			      .max_anc = EDR_LINEAGE_MAX_TEST,
			      .labels = proccache_process__labels(curl) };
	cr_expect_eq(rule_matches(&rs->rules[0], &s), rows[*i].match, "%s",
		     rows[*i].rule);
	subject_done(&s);
	rules_free(rs);
	proccache_process__unref(curl);
	proccache__free(pc);
}
