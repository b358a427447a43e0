/*
 * The NTUSER.DAT hive loader (libhivex underneath; the input goes through
 * an in-memory file since libhivex opens only files), and write-back:
 * whatever loads, a key and a value added to it are written with
 * libhivex, and the written hive must load again as exactly that tree.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ps_hive.h"
#include "ps_reg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	ps_regtree t, after, back;
	ps_regkey *k;
	uint8_t *out = NULL;
	size_t out_len = 0, changes = 0;
	static const uint8_t v[] = { 1, 2, 3, 4 };

	if (ps_hive_load(&t, "fuzz.dat", data, len) < 0)
		return 0;
	if (ps_regtree_copy(&after, &t) < 0)
		abort();
	if (ps_regkey_create(after.root, "HKEY_CURRENT_USER\\ps-fuzz-key",
			     &k) < 0 ||
	    ps_regkey_set(k, "v", 3, v, sizeof(v)) < 0)
		abort();
	if (ps_hive_apply("fuzz.dat", data, len, &t, &after, &out, &out_len,
			  &changes) == 0) {
		if (!changes)
			abort();      /* a change was not written */
		if (ps_hive_load(&back, "written.dat", out, out_len) < 0)
			abort();      /* we wrote a hive we cannot read */
		if (!ps_regkey_equal(after.root, back.root, NULL))
			abort();      /* the hive holds another tree */
		ps_regtree_free(&back);
	}
	free(out);
	ps_regtree_free(&t);
	ps_regtree_free(&after);
	return 0;
}
