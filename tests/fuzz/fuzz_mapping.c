/* The mapping reader: any bytes, never a crash; a parsed mapping's
 * lookups find every entry it lists. */
#include <stdint.h>
#include <stdlib.h>

#include "ps_mapping.h"
#include "ps_str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	ps_mapping *m = NULL;
	ps_strlist errors = PS_STRLIST_INIT;
	size_t i;

	if (ps_mapping_parse(&m, "fuzz.puf", (const char *)data, len,
			     &errors) == 0) {
		for (i = 0; i < ps_mapping_count(m); i++) {
			const ps_map_entry *e = ps_mapping_entry(m, i);

			if (!ps_mapping_find_source(m, e->source_dn))
				abort();
		}
		ps_mapping_free(m);
	}
	ps_strlist_free(&errors);
	return 0;
}
