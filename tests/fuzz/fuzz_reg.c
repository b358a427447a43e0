/*
 * The .reg reader, and the writer's round-trip property: whatever the
 * reader accepts, the writer writes, and that re-reads to the same tree
 * (and writes again to the same bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_reg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	ps_regtree t, back;
	ps_buf out = PS_BUF_INIT, again = PS_BUF_INIT;

	if (ps_regtree_parse(&t, "fuzz.reg", data, len) < 0)
		return 0;
	if (ps_regtree_write(&t, &out) < 0)
		abort();
	if (ps_regtree_parse(&back, "written.reg", (const uint8_t *)out.ptr,
			     out.len) < 0)
		abort();      /* the writer wrote something unreadable */
	if (!ps_regkey_equal(t.root, back.root, NULL))
		abort();      /* round trip changed the tree */
	if (ps_regtree_write(&back, &again) < 0 || again.len != out.len ||
	    memcmp(again.ptr, out.ptr, out.len))
		abort();      /* writing is not stable */
	ps_buf_free(&out);
	ps_buf_free(&again);
	ps_regtree_free(&t);
	ps_regtree_free(&back);
	return 0;
}
