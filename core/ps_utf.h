/*
 * UTF-8 <-> UTF-16LE conversion (registry strings are UTF-16LE) and
 * Windows-1252 for REGEDIT4 exports.  Written here because the core may
 * not include iconv or any OS header.
 */
#ifndef PS_UTF_H
#define PS_UTF_H

#include <stddef.h>
#include <stdint.h>

#include "ps_buf.h"

/* Appends UTF-8 for nbytes of UTF-16LE (nbytes must be even).  An unpaired
 * surrogate is PS_EFORMAT.  NUL code units are converted like others. */
int ps_utf16le_to_utf8(ps_buf *out, const uint8_t *in, size_t nbytes);
/* Appends UTF-16LE for len bytes of UTF-8; invalid UTF-8 is PS_EFORMAT. */
int ps_utf8_to_utf16le(ps_buf *out, const char *in, size_t len);
/* 1 when the bytes are valid UTF-8 (no overlongs, no surrogates). */
int ps_utf8_valid(const char *s, size_t len);
/* A copy of the NUL-terminated s that is valid UTF-8: each byte that is
 * not part of a valid sequence is taken as Latin-1 (a file name from a
 * Samba share, say).  NULL when out of memory.  Caller frees. */
char *ps_utf8_repair(const char *s);
/* s itself when it is valid UTF-8, else its repaired copy, which *copy
 * then holds for the caller to free.  NULL when out of memory. */
const char *ps_utf8_safe(const char *s, char **copy);
/*
 * Text for a terminal or a log (the one sanitiser: console table, log
 * lines, Autodiscover hop lines and settings).  Appends len bytes of s
 * with every C0 control (U+0000-U+001F: TAB, LF, CR, ESC, BEL...), DEL
 * (U+007F), C1 control (U+0080-U+009F, which some terminals obey as
 * escape sequences) and every byte that is not part of valid UTF-8
 * replaced by one '?'.  Everything else is copied as it is, backslashes
 * included, so the result is valid UTF-8 with no control character.
 * Only fails when out of memory (PS_ENOMEM).
 */
#define PS_UTF8_CLEAN_MARK '?'
int ps_utf8_sanitize(ps_buf *out, const char *s, size_t len);
/* The same for a NUL-terminated string, as a new string (caller frees);
 * NULL when out of memory. */
char *ps_utf8_clean(const char *s);
/* Windows-1252 <-> UTF-8.  Bytes 0x81 0x8D 0x8F 0x90 0x9D map to the C1
 * controls of the same value so that every byte round-trips. */
int ps_cp1252_to_utf8(ps_buf *out, const uint8_t *in, size_t len);
/* PS_EFORMAT when a character has no Windows-1252 byte. */
int ps_utf8_to_cp1252(ps_buf *out, const char *in, size_t len);
/* UTF-16LE to Windows-1252 as Windows' ANSI conversion does: a character
 * without a byte (or an unpaired surrogate) becomes '?', counted in *lost
 * when lost is not NULL.  Stops at the first NUL unit.  Only fails when
 * out of memory. */
int ps_utf16le_to_cp1252(ps_buf *out, const uint8_t *in, size_t nbytes,
			 size_t *lost);

#endif
