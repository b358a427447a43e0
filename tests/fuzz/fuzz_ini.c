/* The INI reader under the configuration: any bytes, never a crash. */
#include <stdint.h>

#include "ps_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	ps_config cfg;

	if (ps_config_init(&cfg) < 0)
		return 0;
	ps_config_parse(&cfg, "fuzz.ini", (const char *)data, len);
	ps_config_free(&cfg);
	return 0;
}
