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
 * file holds.  On error: PS_EFORMAT or PS_ELIMIT with the message
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
 * error (PS_EFORMAT), even with nothing to change.
 */
int ps_hive_apply(const char *filename, const uint8_t *data, size_t len,
		  const ps_regtree *before, const ps_regtree *after,
		  uint8_t **out, size_t *out_len, size_t *changes);

#endif
