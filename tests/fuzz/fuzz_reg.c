/*
 * The .reg reader, and the writer's round-trip property: whatever the
 * reader accepts, the writer writes, and that re-reads to the same tree.
 * Writing is also a fixed point from the second write on: a written file
 * re-read and written again gives the same bytes.  (The first write may
 * differ from the second in keys that existed only as ancestors of named
 * keys: which of those an export names depends on its first key line.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_reg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* Write t, re-read it into back (asserting both work). */
static void write_read(const ps_regtree *t, ps_buf *out, ps_regtree *back)
{
	if (ps_regtree_write(t, out) < 0)
		abort();      /* the reader accepted what cannot be written */
	if (ps_regtree_parse(back, "written.reg", (const uint8_t *)out->ptr,
			     out->len) < 0)
		abort();      /* the writer wrote something unreadable */
	if (!ps_regkey_equal(t->root, back->root, NULL))
		abort();      /* the round trip changed the tree */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	ps_regtree t, back, again;
	ps_buf out = PS_BUF_INIT, out2 = PS_BUF_INIT, out3 = PS_BUF_INIT;

	if (ps_regtree_parse(&t, "fuzz.reg", data, len) < 0)
		return 0;
	write_read(&t, &out, &back);
	write_read(&back, &out2, &again);
	if (ps_regtree_write(&again, &out3) < 0 || out3.len != out2.len ||
	    memcmp(out3.ptr, out2.ptr, out2.len))
		abort();      /* writing is not a fixed point */
	ps_buf_free(&out);
	ps_buf_free(&out2);
	ps_buf_free(&out3);
	ps_regtree_free(&t);
	ps_regtree_free(&back);
	ps_regtree_free(&again);
	return 0;
}
