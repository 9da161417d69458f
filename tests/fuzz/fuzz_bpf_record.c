/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF sensor's ring record decoder (pc_bpf_decode, lib/sensor_bpf.c):
 * the input is one ring sample. A record the decoder accepts must give an
 * event whose strings end inside the decoder's buffers and whose args and
 * environment lie inside the record, the environment after the args.
 */
#include <string.h>

#include "fuzz.h"
#include "sensor_bpf.h"

static struct pc_bpf_decoder dec = { .args_max = PC_ARGS_DEFAULT,
				      .env_max = FUZZ_ENV_MAX };

static void check_string(const char *s, const char *buf, size_t len)
{
	FUZZ_CHECK(s == buf);
	FUZZ_CHECK(memchr(buf, '\0', len) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly @size bytes: ASan sees any read past it. */
	uint8_t *rec = malloc(size ? size : 1);
	struct proccache_event ev;
	char line[256];

	memcpy(rec, data, size);
	memset(&ev, 0xa5, sizeof(ev));
	if (pc_bpf_decode(&dec, rec, size, &ev) == 0) {
		FUZZ_CHECK(ev.sz == sizeof(ev));
		FUZZ_CHECK(ev.pid != 0);
		switch (ev.type) {
		case PROCCACHE_EVENT_EXEC:
			FUZZ_CHECK(ev.tid == ev.pid && ev.ktime != 0);
			check_string(ev.binary, dec.binary, sizeof(dec.binary));
			check_string(ev.cwd, dec.cwd, sizeof(dec.cwd));
			check_string(ev.container_id, dec.container_id,
				     sizeof(dec.container_id));
			FUZZ_CHECK(ev.args_len <= dec.args_max);
			FUZZ_CHECK(!ev.args_len ||
				   ((const uint8_t *)ev.args >= rec &&
				    (const uint8_t *)ev.args + ev.args_len <=
					    rec + size));
			FUZZ_CHECK(ev.env_len <= dec.env_max);
			FUZZ_CHECK(!ev.env_len ||
				   ((const uint8_t *)ev.env >= rec &&
				    (const uint8_t *)ev.env + ev.env_len <=
					    rec + size &&
				    (!ev.args_len || ev.env == ev.args + ev.args_len)));
			FUZZ_CHECK(proccache_args_decode(ev.args, ev.args_len,
							 0, line,
							 sizeof(line)) >= 0);
			break;
		case PROCCACHE_EVENT_CLONE:
			FUZZ_CHECK(ev.tid == ev.pid && ev.ktime != 0);
			break;
		case PROCCACHE_EVENT_EXIT:
			FUZZ_CHECK(ev.time != 0);
			FUZZ_CHECK(ev.exit_signal >= 0 && ev.exit_signal < 128);
			FUZZ_CHECK(ev.exit_code >= 0 && ev.exit_code < 256);
			break;
		default:
			FUZZ_CHECK(!"decoded an unknown record type");
		}
	} else {
		/* -EBADMSG leaves the event untouched */
		FUZZ_CHECK(ev.sz == (size_t)0xa5a5a5a5a5a5a5a5ull);
	}
	free(rec);
	return 0;
}
