/*
 * The compiled mapping ("profswitch mapping compile"): an index file that
 * a lookup reads a few pages of, through the system port's ranged reads,
 * instead of the whole mapping.  Byte layout in docs/formats.md
 * ("Compiled mapping").
 *
 * Every byte a lookup uses is checked against a hash chain rooted in the
 * header: bucket -> its directory page -> the header's top table -> the
 * root hash (SHA-256 of the header up to the root).  The root hash is
 * what MappingSHA256= pins for an index.
 */
#ifndef PS_MAPIDX_H
#define PS_MAPIDX_H

#include <stddef.h>
#include <stdint.h>

#include "ps_mapping.h"
#include "ps_system.h"

#define PS_MAPIDX_MAGIC "PSMAPIDX"      /* 8 bytes, no NUL */
#define PS_MAPIDX_VERSION 2u  /* 2: TargetArchiveGuid */
#define PS_MAPIDX_TOP_SLOTS 512u        /* directory pages, at most */
#define PS_MAPIDX_DIR_SLOTS 256u        /* buckets per directory page */
#define PS_MAPIDX_SLOT_BYTES 44u        /* offset 8, length 4, SHA-256 */
#define PS_MAPIDX_HEADER_BYTES (80u + PS_MAPIDX_TOP_SLOTS * 32u + 32u)
#define PS_MAPIDX_DIR_BYTES (PS_MAPIDX_DIR_SLOTS * PS_MAPIDX_SLOT_BYTES)
#define PS_MAPIDX_MIN_BUCKETS PS_MAPIDX_DIR_SLOTS
#define PS_MAPIDX_MAX_BUCKETS (PS_MAPIDX_TOP_SLOTS * PS_MAPIDX_DIR_SLOTS)
#define PS_MAPIDX_MAX_BUCKET_BYTES (1024u * 1024u)
#define PS_MAPIDX_MAX_ROWS 10000000u

typedef struct ps_mapidx ps_mapidx;

typedef struct ps_mapidx_info {
	uint32_t version;
	uint64_t rows;                  /* source DNs (mailboxes) */
	uint64_t targets;               /* distinct target DNs */
	uint32_t buckets;
	uint32_t dir_pages;
	uint64_t size;                  /* bytes of the whole file */
	uint8_t source_sha256[32];      /* of the text mapping compiled */
	uint8_t root[32];               /* what MappingSHA256= pins */
} ps_mapidx_info;

/* 1 when data (len bytes, the start of a file) begins with the magic. */
int ps_mapidx_has_magic(const void *data, size_t len);
/* 1 when the file starts with the magic, 0 when not (or shorter than
 * it), < 0 with a message when it cannot be opened or read. */
int ps_mapidx_sniff(ps_system *sys, const char *path);

/*
 * Compile a parsed text mapping into *out (malloc'd, *outlen bytes).
 * source_sha256 is the text file's hash, stored in the header.  A source
 * DN that appears twice (case-insensitive) is refused (PS_EFORMAT);
 * PS_ELIMIT when a bucket would exceed PS_MAPIDX_MAX_BUCKET_BYTES.
 */
int ps_mapidx_compile(ps_system *sys, const ps_mapping *m,
		      const uint8_t source_sha256[32], uint8_t **out,
		      size_t *outlen, ps_mapidx_info *info);

/*
 * Open an index: reads and checks the header only (magic, version, flags,
 * sizes, the file's size, the root hash).  PS_EFORMAT with "PATH: reason"
 * when it is not a valid index; the read errors of the system port.
 */
int ps_mapidx_open(ps_mapidx **out, ps_system *sys, const char *path);
const ps_mapidx_info *ps_mapidx_get_info(const ps_mapidx *ix);
/*
 * Look a DN up (case-insensitive) among the source DNs (target = 0) or
 * the target DNs (target = 1: the first line naming it).  0 and *e, which
 * stays valid until ps_mapidx_free; PS_ENOTFOUND; or PS_EFORMAT / PS_EIO
 * with "PATH: reason" when a page cannot be read or fails its hash.
 */
int ps_mapidx_find(ps_mapidx *ix, int target, const char *dn,
		   const ps_map_entry **e);
/* The first lookup error ("PATH: reason"), kept: after it every lookup
 * fails the same way.  NULL when none. */
const char *ps_mapidx_error(const ps_mapidx *ix);
/* Read and check every directory page and bucket (mapping check). */
int ps_mapidx_verify(ps_mapidx *ix);
void ps_mapidx_free(ps_mapidx *ix);

/* Wrap an open index as the engine's ps_mapping (core/mapping.c); takes
 * ix over, also on failure. */
int ps_mapping_from_index(ps_mapping **out, ps_mapidx *ix);
/* The index behind m, or NULL for a text mapping. */
ps_mapidx *ps_mapping_index(const ps_mapping *m);

#endif
