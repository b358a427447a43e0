/* The Autodiscover response parser over the libxml2 xml port. */
#include <stdint.h>
#include <stdlib.h>

#include "ps_autodiscover.h"
#include "ps_posix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static ps_xml *x;
	ps_ad_response r;

	if (!x && ps_posix_xml_new(&x) < 0)
		abort();
	if (ps_ad_parse(x, (const char *)data, len, &r) == 0) {
		if (r.kind < PS_AD_SETTINGS || r.kind > PS_AD_ERROR)
			abort();
		ps_ad_response_free(&r);
	}
	return 0;
}
