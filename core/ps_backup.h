/*
 * Backup generations kept inside each profile (docs/update-rules.md,
 * "Backups"): section PS_BACKUP_SECTION, one PT_BINARY 01026fNN per run
 * that changed the profile.
 */
#ifndef PS_BACKUP_H
#define PS_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "ps_buf.h"
#include "ps_prop.h"
#include "ps_store.h"

#define PS_BACKUP_SECTION "70726f66737769746368000000000b01"
#define PS_BACKUP_ID_BASE 0x6F00u
#define PS_BACKUP_MAX_GEN 0xFFu
#define PS_GEN_PENDING 1u
#define PS_GEN_COMMITTED 2u
/* One set of limits for writing and reading a generation: a generation
 * over them is never written (the update that needs it does not happen)
 * and is damaged when read.  PS_GEN_MAX_BYTES is the largest registry
 * value the fake store reads back from an export (PS_REG_MAX_DATA). */
#define PS_GEN_MAX_SECTIONS 1024u
#define PS_GEN_MAX_PROPS 4096u
#define PS_GEN_MAX_BYTES (16u * 1024u * 1024u)

typedef struct ps_gen_unit {
	char *account;
	char *source_dn;
	char *target_dn;
} ps_gen_unit;

typedef struct ps_gen_section {
	ps_uid uid;
	ps_proplist props;
} ps_gen_section;

/* What an update changed outside the profile (trailer "PSX1"). */
typedef struct ps_gen_value {
	char *subkey;             /* under Outlook's key */
	char *name;
	int existed;              /* 0: absent before */
	int fix;                  /* 1: cleanup keeps the change (flag 2) */
	uint32_t type;
	uint8_t *data;
	size_t len;
} ps_gen_value;

typedef struct ps_gen_file {
	char *path;
	int existed;              /* 0: absent before */
	int written;              /* 1: profswitch wrote it, 0: deleted it */
	uint8_t *data;            /* content before */
	size_t len;
} ps_gen_file;

#define PS_GEN_MAX_VALUES 256u
#define PS_GEN_MAX_FILES 256u

/* A whole key an update deleted (trailer "PSK1"): the key under Office's
 * key and each of its values, in registry order; its subkeys follow as
 * entries of their own (top = 0), in pre-order. */
typedef struct ps_gen_keyval {
	char *name;
	uint32_t type;
	uint8_t *data;
	size_t len;
} ps_gen_keyval;

typedef struct ps_gen_key {
	char *path;               /* relative to Office's key */
	int top;                  /* 1: the deleted key itself */
	ps_gen_keyval *vals;
	size_t nvals;
} ps_gen_key;

#define PS_GEN_MAX_KEYS 1024u
#define PS_GEN_MAX_KEYVALS 4096u

typedef struct ps_generation {
	unsigned number;          /* NN of 01026fNN */
	uint32_t state;           /* PS_GEN_PENDING or PS_GEN_COMMITTED */
	int damaged;              /* could not be decoded: no content */
	ps_gen_unit *units;
	size_t nunits;
	ps_gen_section *secs;
	size_t nsecs;
	ps_gen_value *vals;
	size_t nvals;
	ps_gen_file *files;
	size_t nfiles;
	ps_gen_key *keys;
	size_t nkeys;
} ps_generation;

void ps_backup_uid(ps_uid *out);
/* PS_ELIMIT, with a message naming the section, when g cannot be written
 * within the limits above (ps_gen_encode checks it too). */
int ps_gen_check(const ps_generation *g);
int ps_gen_encode(const ps_generation *g, ps_buf *out);
/* PS_EFORMAT on anything malformed (never reads out of bounds), over
 * the limits above, or listing a section twice or the backup section. */
int ps_gen_decode(ps_generation *out, const uint8_t *data, size_t len);
void ps_gen_free(ps_generation *g);
void ps_gens_free(ps_generation *v, size_t n);
/* The profile's generations, ascending by number (none: *n = 0).  A
 * generation that cannot be decoded is returned with `damaged` set. */
int ps_backup_list(ps_store *s, const char *profile, ps_generation **out,
		   size_t *n);

#endif
