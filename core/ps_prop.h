/*
 * MAPI property tags and values as the profile registry stores them.
 *
 * A value travels through the store port in MAPI's encoding: PT_UNICODE
 * is UTF-16LE with a terminating NUL, PT_STRING8 Windows-1252 bytes with a
 * NUL, PT_LONG 4 bytes little-endian, PT_BOOLEAN 2 bytes, PT_BINARY raw
 * bytes, multi-valued types in the profile layout (ps_prop_mv_* below).
 * Outlook keeps PT_STRING8 as a REG_SZ value (UTF-16LE text) and every
 * other type as REG_BINARY with these bytes; the fake store converts, the
 * real-MAPI adapter converts SPropValue.  `form` lets a backend say how it
 * stored a value so that a value removed and restored (rollback) gets its
 * registry form back; the core only carries it (backups keep it).
 */
#ifndef PS_PROP_H
#define PS_PROP_H

#include <stddef.h>
#include <stdint.h>

#include "ps_str.h"

#define PS_PT_LONG 0x0003u
#define PS_PT_BOOLEAN 0x000Bu
#define PS_PT_STRING8 0x001Eu
#define PS_PT_UNICODE 0x001Fu
#define PS_PT_BINARY 0x0102u
#define PS_PT_MV_STRING8 0x101Eu
#define PS_PT_MV_UNICODE 0x101Fu
#define PS_PT_MV_BINARY 0x1102u

#define PS_PROP_TAG(type, id) ((uint32_t)(id) << 16 | (uint32_t)(type))
#define PS_PROP_ID(tag) ((uint16_t)((tag) >> 16))
#define PS_PROP_TYPE(tag) ((uint16_t)((tag) & 0xFFFFu))
#define PS_PROP_IS_STRING(tag) \
	(PS_PROP_TYPE(tag) == PS_PT_STRING8 || \
	 PS_PROP_TYPE(tag) == PS_PT_UNICODE)

/* Property ids (docs/reference.md). */
#define PS_ID_PROFILE_CONFIG_FLAGS 0x6601
#define PS_ID_PROFILE_HOME_SERVER 0x6602
#define PS_ID_PROFILE_USER 0x6603
#define PS_ID_PROFILE_UNRESOLVED_NAME 0x6607
#define PS_ID_PROFILE_UNRESOLVED_SERVER 0x6608
#define PS_ID_PROFILE_TYPE 0x660A
#define PS_ID_PROFILE_MAILBOX 0x660B
#define PS_ID_PROFILE_SERVER 0x660C
#define PS_ID_PROFILE_SERVER_FQDN 0x662B  /* name unverified */
#define PS_ID_PROFILE_AB_FILES_PATH 0x660E
#define PS_ID_PROFILE_OFFLINE_STORE_PATH 0x6610
#define PS_ID_PROFILE_HOME_SERVER_DN 0x6612
#define PS_ID_PROFILE_HOME_SERVER_ADDRS 0x6613
#define PS_ID_PROFILE_SERVER_DN 0x6614
#define PS_ID_ROH_PROXY_SERVER 0x6622
#define PS_ID_ROH_FLAGS 0x6623
#define PS_ID_ROH_PROXY_PRINCIPAL 0x6625
#define PS_ID_ROH_PROXY_AUTH 0x6627
#define PS_ID_PROFILE_HOME_SERVER_FQDN 0x662A
#define PS_ID_OAB_ATTEMPTED_FULLDN 0x6635
#define PS_ID_OAB_ATTEMPTED_INCRDN 0x6636
#define PS_ID_PROFILE_SERVER_FULL_VERSION 0x663B
#define PS_ID_PROFILE_SMTP 0x6641
#define PS_ID_PROFILE_LKG_AUTODISCOVER_URL 0x664A
#define PS_ID_MAPIHTTP_FIRST 0x6652
#define PS_ID_MAPIHTTP_LAST 0x6655
#define PS_ID_DISPLAY_NAME 0x3001
#define PS_ID_SERVICE_NAME 0x3D09
#define PS_ID_SERVICE_UID 0x3D0C
#define PS_ID_SERVICES 0x3D0E
#define PS_ID_STORE_PROVIDERS 0x3D00
#define PS_ID_EMSMDB_SECTION_UID 0x3D15
#define PS_ID_AB_PROVIDERS 0x3D01
#define PS_ID_TRANSPORT_PROVIDERS 0x3D02
#define PS_ID_PROFILE_SMTP_663D 0x663D  /* primary address; name unverified */
#define PS_ID_PROFILE_SMTP_6620 0x6620  /* primary address; name unverified */

#define PS_PR_PROFILE_CONFIG_FLAGS PS_PROP_TAG(PS_PT_LONG, 0x6601)
#define PS_PR_PROFILE_TYPE PS_PROP_TAG(PS_PT_LONG, 0x660A)
#define PS_PR_SERVICE_NAME PS_PROP_TAG(PS_PT_STRING8, 0x3D09)
#define PS_PR_SERVICE_UID PS_PROP_TAG(PS_PT_BINARY, 0x3D0C)
#define PS_PR_SERVICES PS_PROP_TAG(PS_PT_BINARY, 0x3D0E)
#define PS_PR_STORE_PROVIDERS PS_PROP_TAG(PS_PT_BINARY, 0x3D00)
#define PS_PR_EMSMDB_SECTION_UID PS_PROP_TAG(PS_PT_BINARY, 0x3D15)

#define PS_PROFILE_TYPE_PRIMARY 1
#define PS_PROFILE_TYPE_DELEGATE 2
#define PS_PROFILE_TYPE_PUBLIC 3

#define PS_CONFIG_OST_CACHE_PRIVATE 0x180u

/*
 * ps_prop.form: how a backend stored a value, so that a restore can put
 * it back exactly (the core only carries it; backups keep it).  Bits 0-7:
 * the kind: 0 the usual form, PS_FORM_BINARY8 a PT_STRING8 kept as 8-bit
 * REG_BINARY (scripts write that; Outlook writes REG_SZ).  Bits 8-31: 1 +
 * the number of values that are not properties (Outlook's S010267f0)
 * before this one in the section's key; 0 when not known.
 */
#define PS_FORM_DEFAULT 0u
#define PS_FORM_BINARY8 1u
#define PS_FORM_KIND(f) ((f) & 0xFFu)
#define PS_FORM_GAP(f) ((f) >> 8)   /* 0: unknown, else 1 + count */
#define PS_FORM_MAKE(kind, gap1) ((unsigned)(kind) | (unsigned)(gap1) << 8)

typedef struct ps_prop {
	uint32_t tag;
	size_t len;
	uint8_t *data; /* owned; len bytes (+1 hidden NUL for convenience) */
	unsigned form; /* see above; kept when the value is replaced */
} ps_prop;

typedef struct ps_proplist {
	ps_prop *v;
	size_t n;
	size_t cap;
} ps_proplist;

#define PS_PROPLIST_INIT { NULL, 0, 0 }

/* Copies data.  Replaces an existing prop with the same tag (its form is
 * kept); a new prop has form 0. */
int ps_proplist_set(ps_proplist *l, uint32_t tag, const void *data,
		    size_t len);
/* Like ps_proplist_set, with p's form too. */
int ps_proplist_put(ps_proplist *l, const ps_prop *p);
ps_prop *ps_proplist_get(const ps_proplist *l, uint32_t tag);
/* The first prop with this id and one of the string types, else NULL. */
ps_prop *ps_proplist_get_id(const ps_proplist *l, uint16_t id);
int ps_proplist_remove(ps_proplist *l, uint32_t tag); /* PS_ENOTFOUND */
int ps_proplist_copy(ps_proplist *dst, const ps_proplist *src);
void ps_proplist_free(ps_proplist *l);

/* Decode a PT_STRING8 (Windows-1252) or PT_UNICODE value to UTF-8 without
 * its terminating NUL.  PS_EFORMAT for other types or bad encodings. */
int ps_prop_string(const ps_prop *p, char **out);
/* Encode UTF-8 for a string tag (PT_STRING8 or PT_UNICODE), with NUL. */
int ps_prop_encode_string(uint32_t tag, const char *utf8, uint8_t **data,
			  size_t *len);
/*
 * Multi-valued props as profiles store them: PT_MV_STRING8 / PT_MV_UNICODE
 * = u32 count, count x u64 offsets from the value's start, then the
 * NUL-terminated strings; PT_MV_BINARY = u32 count, count x (u64 length,
 * u64 offset), then the data.  ps_prop_mv_count checks the whole layout
 * (every element within the value) and gives the element count;
 * ps_prop_mv_elem gives element i's bytes (strings without their NUL).
 * PS_EFORMAT for other types or a damaged layout.
 */
int ps_prop_mv_count(const ps_prop *p, size_t *count);
int ps_prop_mv_elem(const ps_prop *p, size_t i, const uint8_t **data,
		    size_t *len);

/* PT_LONG value; PS_EFORMAT when not 4 bytes. */
int ps_prop_long(const ps_prop *p, uint32_t *out);
/* Registry value name of a tag: 8 lowercase hex digits TTTTIIII. */
void ps_prop_name(uint32_t tag, char out[9]);
/* Parse TTTTIIII (case-insensitive); PS_EFORMAT if not a tag name. */
int ps_prop_parse_name(const char *name, uint32_t *tag);

#endif
