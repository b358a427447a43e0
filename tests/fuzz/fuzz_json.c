/* The flat JSON reader of the Autodiscover v2 answer: any bytes, never a
 * crash, and what it accepts is what it promises (valid UTF-8 names and
 * values with no NUL inside, no name twice). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ps_json.h"
#include "ps_str.h"
#include "ps_utf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	ps_json_obj o;
	size_t i, k;

	if (ps_json_parse_flat((const char *)data, len, &o) < 0)
		return 0;
	if (o.n > PS_JSON_MAX_MEMBERS)
		abort();
	for (i = 0; i < o.n; i++) {
		const ps_json_member *m = &o.v[i];

		if (!ps_utf8_valid(m->name, strlen(m->name)) ||
		    !ps_utf8_valid(m->value, strlen(m->value)) ||
		    strlen(m->value) > PS_JSON_MAX_STRING)
			abort();
		for (k = 0; k < i; k++)
			if (!ps_strcasecmp(o.v[k].name, m->name))
				abort();
		if (m->is_string && ps_json_get(&o, m->name) != m->value)
			abort();
	}
	ps_json_free(&o);
	return 0;
}
