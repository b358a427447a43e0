/*
 * NTUSER.DAT hives without libhivex (the Windows build: Debian has no
 * mingw libhivex).  A hive is recognised and refused with what to do
 * instead; everything else about the fake store is the same.
 */
#include "ps_hive.h"

#include <string.h>

#include "../core/ps_error.h"

int ps_hive_is_hive(const uint8_t *data, size_t len)
{
	return len >= 4 && !memcmp(data, "regf", 4);
}

int ps_hive_check_writable(const ps_regtree *t, const char *filename)
{
	if (!t->unclean)
		return 0;
	return ps_error_setc(PS_EFORMAT, "%s: " PS_HIVE_UNCLEAN, filename);
}

char *ps_hive_unclean_warning(const ps_regtree *t, const char *filename)
{
	(void)t;
	(void)filename;
	return NULL;   /* this build loads no hive */
}

int ps_hive_load(ps_regtree *out, const char *filename, const uint8_t *data,
		 size_t len)
{
	(void)out;
	(void)data;
	(void)len;
	return ps_error_setc(PS_EFORMAT, "%s: an NTUSER.DAT hive; this build "
			     "reads .reg exports only (hives need the Linux "
			     "build, which has libhivex)", filename);
}

int ps_hive_apply(const char *filename, const uint8_t *data, size_t len,
		  const ps_regtree *before, const ps_regtree *after,
		  uint8_t **out, size_t *out_len, size_t *changes)
{
	(void)data;
	(void)len;
	(void)before;
	(void)after;
	(void)out;
	(void)out_len;
	(void)changes;
	return ps_error_setc(PS_ERROR, "%s: this build cannot write hives",
			     filename);
}

int ps_hive_compact(const char *filename, const uint8_t *data, size_t len,
		    int flags, ps_hive_tamper tamper, void *ctx,
		    uint8_t **out, size_t *out_len)
{
	(void)data;
	(void)len;
	(void)flags;
	(void)tamper;
	(void)ctx;
	(void)out;
	(void)out_len;
	return ps_error_setc(PS_ERROR, "%s: this build cannot write hives",
			     filename);
}
