/*
 * Compacting an NTUSER.DAT hive (REGF) with our own code, no libhivex.
 *
 * libhivex never reuses a freed cell: every value it changes goes into
 * new space at the end of the file and the old cells are only marked
 * free, so a hive grows with every write (issue 15).  ps_hivec_compact
 * copies every cell reachable from the root key into fresh hive bins, in
 * a fixed order, and rewrites every offset; the free cells and anything
 * unreachable are left behind.  ps_hivec_compare checks that a compacted
 * hive holds exactly the cells of the original, up to their offsets.
 * ps_hive_compact (ps_hive.h) puts both together with libhivex and our
 * loader, and is what the writer uses.  docs/formats.md, "Compaction",
 * says what is kept and how.
 */
#ifndef PS_HIVECOMPACT_H
#define PS_HIVECOMPACT_H

#include <stddef.h>
#include <stdint.h>

/* A hive is worth compacting when its free cells hold at least
 * PS_HIVEC_MIN_FREE bytes and either PS_HIVEC_MUCH_FREE bytes or a
 * quarter of its hive bins. */
#define PS_HIVEC_MIN_FREE 4096u
#define PS_HIVEC_MUCH_FREE (64u * 1024u)

/*
 * Walk the hive bins of data: *bins is the bytes of hive bins the header
 * declares, *free_bytes the bytes in free cells.  PS_EFORMAT ("FILE:
 * cannot compact the hive: reason") when the bins or cells are not laid
 * out as the format requires.
 */
int ps_hivec_space(const char *filename, const uint8_t *data, size_t len,
		   size_t *bins, size_t *free_bytes);

/*
 * The same walk as a check: 0 when the hive bins tile the space the
 * header declares (which lies in the file) and the cells tile each bin;
 * else PS_EFORMAT "FILE: the hive bins are damaged: reason".  libhivex
 * reads a bin that reaches past the declared end, and writes its first
 * new bin there, over cells it read.
 */
int ps_hivec_check_bins(const char *filename, const uint8_t *data,
			size_t len);

/* 1 when a hive with these numbers (from ps_hivec_space) is worth
 * compacting. */
int ps_hivec_worth(size_t bins, size_t free_bytes);

/*
 * Copy every cell reachable from the root key of data into new hive bins
 * (depth first: a key, its class name, its security cell the first time
 * one is named, its value list, each value and its data, its subkey
 * lists, then its subkeys), each cell at its size, every offset in them
 * rewritten.  The base block is kept but for the root offset, the size
 * of the bins and the checksum.  *out (caller frees) is the new file.
 * PS_EFORMAT ("FILE: cannot compact the hive: reason") for anything it
 * cannot make sense of: a reference that is not a cell in use, a cell
 * reached twice as different things, a list longer than its cell, a
 * security cell outside the list of them, ...; PS_ENOMEM.
 */
int ps_hivec_compact(const char *filename, const uint8_t *data, size_t len,
		     uint8_t **out, size_t *out_len);

/*
 * 0 when hive b holds the same cells as hive a up to their offsets: the
 * same base block (but for the root offset, bins size and checksum, which
 * must be right in b), and from the root down, key by key in list order,
 * the same key cells (name, flags, timestamps, counts, ...), class names,
 * security descriptors (shared as in a, in one closed list, reference
 * counts no lower than in a or than the keys naming them), value lists,
 * values, data (big data segment by segment) and subkey list kinds and
 * hashes, every cell of the same size.  Else PS_EFORMAT "FILE: the
 * compacted hive differs from the original: what".
 */
int ps_hivec_compare(const char *filename, const uint8_t *a, size_t alen,
		     const uint8_t *b, size_t blen);

#endif
