/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A program outside the project: it sees only the installed headers and
 * library, found through pkg-config. Built with -std=c11 -pedantic -Werror
 * by tests/abi/check-install.sh, linked both against libproccache.so and
 * statically against libproccache.a.
 */
#include <stdio.h>
#include <string.h>

#include <proccache/proccache.h>

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "consumer: %s\n", what);
		failures++;
	}
}

static void on_log(enum proccache_log_level level, const char *msg,
		   void *userdata)
{
	(void)userdata;
	fprintf(stderr, "consumer: libproccache[%d]: %s\n", (int)level, msg);
}

static void check_exec_id(void)
{
	/* base64("consumer:1000:42"), computed outside the library. */
	static const char expected[] = "Y29uc3VtZXI6MTAwMDo0Mg==";
	const struct proccache_key key = { .ktime = 1000, .pid = 42 };
	struct proccache_key parsed = { 0 };
	char id[PROCCACHE_EXEC_ID_MAX];
	char node[PROCCACHE_NODE_NAME_MAX + 1];
	int n;

	n = proccache_exec_id_format("consumer", &key, id, sizeof(id));
	check(n == (int)strlen(expected) && strcmp(id, expected) == 0,
	      "proccache_exec_id_format gave an unexpected exec ID");
	n = proccache_exec_id_parse(expected, node, sizeof(node), &parsed);
	check(n == 0 && strcmp(node, "consumer") == 0 && parsed.pid == 42 &&
		      parsed.ktime == 1000,
	      "proccache_exec_id_parse did not round-trip");
}

static void check_cache(void)
{
	/* PROCCACHE_OPTS marks its statement expression __extension__, so
	 * this builds with -pedantic -Werror. */
	PROCCACHE_OPTS(proccache_opts, opts, .node_name = "consumer",
		       .max_entries = 16);
	struct proccache *pc;

	pc = proccache__new(NULL);
	check(pc != NULL, "proccache__new(NULL) failed");
	proccache__free(pc);

	pc = proccache__new(&opts);
	check(pc != NULL, "proccache__new(&opts) failed");
	proccache__free(pc);
}

int main(void)
{
	proccache_set_log(on_log, NULL);
	check_exec_id();
	check_cache();
	if (failures) {
		fprintf(stderr, "consumer: %d checks failed\n", failures);
		return 1;
	}
	printf("consumer: OK\n");
	return 0;
}
