/*
 * The migration mapping: which source mailbox (legacyExchangeDN) moved to
 * which target.  Format in docs/formats.md.  Lookups are by
 * case-insensitive DN through a hash index (source and target side).
 */
#ifndef PS_MAPPING_H
#define PS_MAPPING_H

#include <stddef.h>

#include "ps_str.h"

typedef struct ps_map_entry {
	char *source_dn;                /* never NULL */
	char *target_dn;                /* NULL when the column is absent/empty */
	char *target_smtp;
	char *source_smtp;
	char *target_server;
	char *target_mailbox_guid;
	char *target_autodiscover_url;
	char *target_oab;
	char *target_archive_guid;      /* docs/update-rules.md R1 */
	unsigned line;                  /* 1-based line in the file */
} ps_map_entry;

/*
 * A ps_mapping is either a parsed text mapping (everything in memory) or
 * a compiled index (ps_mapidx.h) opened lazily through the system port:
 * its lookups read and cache the few pages they need, and the entries they
 * return stay valid until ps_mapping_free.  For an index,
 * ps_mapping_entry() returns NULL (the rows are not loaded); count works.
 */
typedef struct ps_mapping ps_mapping;

/*
 * Parse a whole mapping file already in memory (UTF-8 with or without BOM,
 * or UTF-16LE with BOM).  `filename` is used in messages only.
 * On any bad line: PS_EFORMAT, *out untouched, ps_error_last() is the first
 * "FILE:LINE: reason", and when `errors` is not NULL every bad line's
 * message is appended to it (at most 100).
 */
int ps_mapping_parse(ps_mapping **out, const char *filename,
		     const char *data, size_t len, ps_strlist *errors);
const ps_map_entry *ps_mapping_find_source(const ps_mapping *m,
					   const char *dn);
const ps_map_entry *ps_mapping_find_target(const ps_mapping *m,
					   const char *dn);
size_t ps_mapping_count(const ps_mapping *m);
const ps_map_entry *ps_mapping_entry(const ps_mapping *m, size_t i);
/* Remarks on a text mapping that are not errors, "FILE:LINE: note: ..."
 * in file order: header columns read under another name (an alias such
 * as LegacyExchangeDN), columns ignored.  None for a compiled index. */
size_t ps_mapping_note_count(const ps_mapping *m);
const char *ps_mapping_note(const ps_mapping *m, size_t i);
/* A compiled index's lookup that failed (a page unreadable or not
 * matching its hash): that lookup and every later one found nothing and
 * this is "PATH: reason"; NULL otherwise (always for a text mapping). */
const char *ps_mapping_lookup_error(const ps_mapping *m);
void ps_mapping_free(ps_mapping *m);

#endif
