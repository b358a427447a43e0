/*
 * NTUSER.DAT registry hives (REGF files), read and written with libhivex.
 *
 * A hive's root key is the user's HKEY_CURRENT_USER: loaded, it becomes a
 * ps_regtree whose single top key is "HKEY_CURRENT_USER".  Names are
 * converted to UTF-8; value data is kept raw with its registry type.
 * Both functions work on the file's bytes (read and written by the caller
 * through the system port); libhivex only opens files, so they go through
 * a private temporary file (TMPDIR or /tmp, mode 0600, removed at once).
 */
#ifndef PS_HIVE_H
#define PS_HIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ps_reg.h"

/* 1 when data starts with the REGF magic "regf". */
int ps_hive_is_hive(const uint8_t *data, size_t len);

/*
 * Load a hive.  Enforces the ps_reg.h limits (depth, path, value size)
 * and refuses a hive that is not valid REGF, whose keys loop or are
 * shared, that has two subkeys or values of one name, a key name that is
 * empty or holds a backslash, or whose value data add up to more than the
 * file holds; one where a cell libhivex changes when it writes (a key, a
 * list, a security cell) is also read as something else (a value's
 * data), and a clean one whose hive bins do not tile the space its header
 * gives them.  On error: PS_EFORMAT or PS_ELIMIT with the message
 * "FILE: reason", *out untouched.  On success *out is a new tree (not
 * freed first; encoding PS_REGENC_UTF16).
 *
 * A hive that was not cleanly unloaded (the two sequence numbers of its
 * header differ: its transaction logs NTUSER.DAT.LOG1/LOG2 hold changes
 * that are not in the file) is loaded as it is on disk, with
 * out->unclean = 1.  It may be read (inspect, rehearse) but is never
 * written: ps_hive_apply refuses it, and whoever opens a store to change
 * it refuses it first with ps_hive_check_writable.
 */
int ps_hive_load(ps_regtree *out, const char *filename, const uint8_t *data,
		 size_t len);

#define PS_HIVE_UNCLEAN "the hive was not cleanly unloaded (the sequence " \
	"numbers in its header differ: its transaction logs hold changes " \
	"that are not in the file)"

/* 0 when the tree (from ps_hive_load, or a store's tree) may be written
 * back; for an unclean hive PS_EFORMAT with the message "FILE: the hive
 * was not cleanly unloaded (...); it is not changed: copy it again after
 * the user has logged off ...". */
int ps_hive_check_writable(const ps_regtree *t, const char *filename);
/* For an unclean tree, the warning to show when it is read anyway:
 * "FILE: the hive was not cleanly unloaded (...); read as it is on disk,
 * ...".  NULL for a clean tree (or out of memory).  Caller frees. */
char *ps_hive_unclean_warning(const ps_regtree *t, const char *filename);

/*
 * Apply the difference between `before` (the tree as loaded from this
 * hive) and `after` to the hive bytes `data`: values of a key whose value
 * list changed are replaced (hivex_node_set_values), keys only in
 * `before` deleted, keys only in `after` added.  Nothing else in the hive
 * changes.  Returns the new file in *out (caller frees) and in *changes
 * the number of keys touched (0: nothing to write).  On error the message
 * is "FILE: reason" and nothing is returned; an unclean hive is always an
 * error (PS_EFORMAT), even with nothing to change.  What libhivex wrote
 * is compacted (ps_hive_compact) when it holds much free space.
 */
int ps_hive_apply(const char *filename, const uint8_t *data, size_t len,
		  const ps_regtree *before, const ps_regtree *after,
		  uint8_t **out, size_t *out_len, size_t *changes);

/*
 * Compaction (issue 15: libhivex never reuses a freed cell, so every
 * write made the file larger).  When the hive `data` is worth it (its
 * free cells hold at least 4 KiB and either 64 KiB or a quarter of its
 * hive bins; PS_HIVE_COMPACT_FORCE: always), its reachable cells are
 * copied into fresh bins by ps_hivec_compact (ps_hivecompact.h) and the
 * copy is verified before it is used: ps_hivec_compare finds the same
 * cells up to their offsets (keys, class names, security descriptors,
 * values, data, list kinds), and libhivex and ps_hive_load read it as
 * the same tree as `data`.  Returns 1 with the copy in *out (caller
 * frees), 0 when the hive was not worth compacting (or the copy would
 * not be smaller), or an error (PS_EFORMAT "FILE: reason", PS_ENOMEM)
 * when the hive could not be compacted or the copy failed a check;
 * *out is set only on 1.  `tamper` is NULL but in tests, which use it to
 * damage the copy before it is checked.  ps_hive_apply compacts what it
 * writes this way and, on any error, writes the hive as libhivex left
 * it.
 */
#define PS_HIVE_COMPACT_FORCE 1
typedef void (*ps_hive_tamper)(uint8_t *data, size_t len, void *ctx);
int ps_hive_compact(const char *filename, const uint8_t *data, size_t len,
		    int flags, ps_hive_tamper tamper, void *ctx,
		    uint8_t **out, size_t *out_len);

#endif
