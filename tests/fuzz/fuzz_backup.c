/*
 * The backup generation decoder (docs/update-rules.md "Backups"): a
 * generation travels inside an export or hive that may come from anywhere.
 * Any bytes: never a crash, a leak or a read outside the input.  What it
 * accepts must be within the limits, encode again, and decode to the same
 * generation (so a rewrite of a pending generation as committed never
 * turns a valid backup into a damaged one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ps_backup.h"
#include "ps_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void same_props(const ps_proplist *a, const ps_proplist *b)
{
	size_t i;

	if (a->n != b->n)
		abort();
	for (i = 0; i < a->n; i++)
		if (a->v[i].tag != b->v[i].tag || a->v[i].len != b->v[i].len ||
		    a->v[i].form != b->v[i].form ||
		    memcmp(a->v[i].data, b->v[i].data, a->v[i].len))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	ps_generation g, again;
	ps_buf b = PS_BUF_INIT;
	size_t i;

	if (ps_gen_decode(&g, data, len) < 0)
		return 0;
	if (g.nsecs > PS_GEN_MAX_SECTIONS || g.nvals > PS_GEN_MAX_VALUES ||
	    g.nfiles > PS_GEN_MAX_FILES)
		abort();
	for (i = 0; i < g.nsecs; i++)
		if (g.secs[i].props.n > PS_GEN_MAX_PROPS)
			abort();
	/* What was read can be written again, and reads back the same. */
	if (ps_gen_encode(&g, &b) < 0 ||
	    ps_gen_decode(&again, (const uint8_t *)b.ptr, b.len) < 0)
		abort();
	if (again.state != g.state || again.nunits != g.nunits ||
	    again.nsecs != g.nsecs || again.nvals != g.nvals ||
	    again.nfiles != g.nfiles)
		abort();
	for (i = 0; i < g.nunits; i++)
		if (strcmp(again.units[i].target_dn, g.units[i].target_dn))
			abort();
	for (i = 0; i < g.nsecs; i++) {
		if (!ps_uid_equal(&again.secs[i].uid, &g.secs[i].uid))
			abort();
		same_props(&again.secs[i].props, &g.secs[i].props);
	}
	for (i = 0; i < g.nfiles; i++)
		if (strcmp(again.files[i].path, g.files[i].path) ||
		    again.files[i].len != g.files[i].len)
			abort();
	ps_buf_free(&b);
	ps_gen_free(&again);
	ps_gen_free(&g);
	return 0;
}
