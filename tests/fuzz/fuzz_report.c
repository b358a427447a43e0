/* The readers of our own reports (`profswitch fleet`): any bytes, never
 * a crash, a leak or an unbounded recursion; what parses must summarise
 * and reduce to the latest runs. */
#include <stdint.h>
#include <string.h>

#include "ps_collect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	ps_fleet f, reh;
	ps_fleet_summary s;

	memset(&f, 0, sizeof(f));
	memset(&reh, 0, sizeof(reh));
	f.collected = 1;
	if (ps_collect_parse("fuzz.report", data, len, &f) == 0 &&
	    ps_collect_parse("fuzz.rehearsal", data, len, &reh) == 0) {
		ps_collect_latest(&f);
		ps_collect_diff(&f, &reh);
		if (ps_fleet_summarize(&f, &s) == 0)
			ps_fleet_summary_free(&s);
	}
	ps_fleet_free(&f);
	ps_fleet_free(&reh);
	return 0;
}
