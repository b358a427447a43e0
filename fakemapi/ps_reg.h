/*
 * An in-memory registry tree and the `.reg` export format.
 *
 * Names (keys and values) are UTF-8 and compare case-insensitively (ASCII
 * folding, as the registry does for the names profswitch meets).  Value
 * data is kept exactly as the registry holds it: a type (winnt.h REG_*
 * number) and raw bytes (REG_SZ is UTF-16LE with its NUL).
 *
 * Order: subkeys and values keep the order they were read in; a new value
 * is appended; a new subkey is inserted before the first sibling that
 * sorts after it (case-insensitive), so a sorted export stays sorted.
 * (Sorting folds ASCII letters to upper case, as the registry does, so
 * "_x" sorts after "a"; ps_regtree_parse places keys in file order.)
 */
#ifndef PS_REG_H
#define PS_REG_H

#include <stddef.h>
#include <stdint.h>

#include "../core/ps_buf.h"

typedef struct ps_regval {
	char *name;     /* "" is the default value (@) */
	uint32_t type;  /* REG_SZ 1, REG_EXPAND_SZ 2, REG_BINARY 3, ... */
	uint8_t *data;  /* owned, may be NULL when len == 0 */
	size_t len;
} ps_regval;

typedef struct ps_regkey ps_regkey;
struct ps_regkey {
	char *name;           /* "" for the tree's root */
	ps_regkey *parent;
	ps_regkey **sub;
	size_t nsub, capsub;
	ps_regval *vals;
	size_t nval, capval;
	/* Added for the writer: 1 when the key exists only as an ancestor
	 * of keys that were read or created (e.g. "HKEY_CURRENT_USER" for
	 * an export of HKCU\\Software\\X), 0 when a [key] line or
	 * ps_regkey_create named it.  ps_regtree_write omits an implied key
	 * that has subkeys and no values, as `reg export` never wrote it. */
	int implied;
	/* A hash index of the subkeys and values by name, built once a key
	 * has more than a few (regtree.c), so that reading a key with a
	 * million subkeys or values stays linear.  Code that reorders or
	 * replaces `vals` or `sub` itself calls ps_regkey_reindex(). */
	struct ps_regindex *index;
};

/* How a .reg file is written: its bytes and its header (see
 * ps_regtree.encoding).  A file is written back in the kind it was read
 * in, so an export keeps its header and encoding through an update. */
enum {
	PS_REGENC_UTF16 = 1,
	PS_REGENC_ANSI = 2,
	PS_REGENC_UTF8 = 3,
	PS_REGENC_UTF8_NOBOM = 4,
	PS_REGENC_ANSI5 = 5
};

/* Limits enforced by ps_regtree_parse (PS_ELIMIT, "FILE:LINE: ...") and,
 * for paths, by ps_regkey_create.  The file size is the caller's business.
 */
#define PS_REG_MAX_DATA  (16u * 1024u * 1024u) /* bytes of one value */
#define PS_REG_MAX_PATH  4096  /* characters of a full key path */
#define PS_REG_MAX_DEPTH 512   /* key names in a full key path */

typedef struct ps_regtree {
	ps_regkey *root;   /* unnamed; its children are hives such as
	                      "HKEY_CURRENT_USER" */
	int encoding;      /* PS_REGENC_UTF16: "Windows Registry Editor
	                      Version 5.00", UTF-16LE with BOM, CRLF;
	                      PS_REGENC_ANSI: "REGEDIT4", Windows-1252, CRLF;
	                      PS_REGENC_UTF8: "Windows Registry Editor
	                      Version 5.00", UTF-8 with BOM, CRLF (read from
	                      a file that starts with the UTF-8 BOM);
	                      PS_REGENC_UTF8_NOBOM: the version 5 header,
	                      UTF-8 without BOM, CRLF (read from a version 5
	                      file without BOM that is valid UTF-8, e.g. one
	                      saved by a script or an editor);
	                      PS_REGENC_ANSI5: the version 5 header,
	                      Windows-1252, CRLF (a version 5 file without
	                      BOM that is not UTF-8: Notepad's "ANSI") */
	int unclean;       /* 1: loaded from an NTUSER.DAT hive that was not
	                      cleanly unloaded (ps_hive.h): it may be read,
	                      never written back.  0 otherwise. */
} ps_regtree;

int ps_regtree_init(ps_regtree *t, int encoding);
void ps_regtree_free(ps_regtree *t);

/* A deep copy of t into *out (not freed first), same order and flags. */
int ps_regtree_copy(ps_regtree *out, const ps_regtree *t);

/* Path: backslash-separated, relative to `from`.  NULL when absent. */
ps_regkey *ps_regkey_find(ps_regkey *from, const char *path);
/* Find or create (with intermediate keys). */
int ps_regkey_create(ps_regkey *from, const char *path, ps_regkey **out);
/* Remove the named direct subkey and everything below; PS_ENOTFOUND. */
int ps_regkey_delete(ps_regkey *parent, const char *name);
ps_regval *ps_regkey_value(const ps_regkey *k, const char *name);
/* The direct subkey with this name, or NULL. */
ps_regkey *ps_regkey_child(const ps_regkey *k, const char *name);
/* Like ps_regkey_create for one name under `parent`, but a new key goes
 * after every existing subkey (file order) instead of in sorted place. */
int ps_regkey_create_last(ps_regkey *parent, const char *name,
			  ps_regkey **out);
/* Forget the name index (after changing `vals` or `sub` directly). */
void ps_regkey_reindex(ps_regkey *k);
/* Set (replacing in place when it exists, keeping its position). */
int ps_regkey_set(ps_regkey *k, const char *name, uint32_t type,
		  const void *data, size_t len);
int ps_regkey_unset(ps_regkey *k, const char *name); /* PS_ENOTFOUND */
/* The full path of a key from the root, e.g.
 * "HKEY_CURRENT_USER\\Software\\Microsoft". Caller frees. */
char *ps_regkey_path(const ps_regkey *k);

/*
 * Parse a whole `.reg` file.  Detects the encoding (UTF-16LE BOM, or
 * UTF-8/ANSI text) and the header.  Supports every form `reg export` and
 * regedit write: "name"="string" with \\ and \" escapes, @=, dword:,
 * hex:, hex(N):, line continuations with trailing backslash, ; comments,
 * blank lines, [-key] and "v"=- deletions (applied to what was read
 * before), Unicode key and value names.  On any error: PS_EFORMAT, the
 * message "FILE:LINE: reason", *out untouched.  A file that ends inside a
 * continuation or an unterminated string/key line is an error, and so is
 * one whose last key or value line has no line end (a cut file).  A
 * Windows 9x registry file (it starts with "CREG") is PS_EFORMAT "FILE:
 * Windows 9x registry file: not supported ...".  Under
 * the REGEDIT4 header, hex(1), hex(2) and hex(7) bytes are 8-bit text and
 * are stored as UTF-16LE.  Limits above: PS_ELIMIT.  On success *out is a
 * new tree (not freed first); free it with ps_regtree_free.  Details in
 * regfile.c.
 */
int ps_regtree_parse(ps_regtree *out, const char *filename,
		     const uint8_t *data, size_t len);

/* 1 when data is a Windows 9x registry file (SYSTEM.DAT or USER.DAT of
 * Windows 95 to Me: the "CREG" signature), which ps_regtree_parse
 * refuses by name. */
int ps_reg_is_win9x(const uint8_t *data, size_t len);

/*
 * Appends the file to out (out unchanged on failure).
 * Write the tree in its encoding, byte for byte as regedit does: header,
 * blank line, then for every key that has values or no subkeys... (every
 * key, depth first, in order) "[path]" then its values, then a blank
 * line; hex lines wrapped at regedit's 80-column rule.  REG_SZ values that
 * are valid UTF-16 with one trailing NUL are written as strings, others
 * as hex(1):.  Output that ps_regtree_parse reads back gives an equal tree.
 * What the tree's encoding cannot hold (a character outside Windows-1252
 * in a REGEDIT4 or ANSI5 file) is PS_EFORMAT "key K, value "V": ...",
 * found before anything is appended: a caller that writes the file only
 * after this returned 0 never replaces it with part of the tree.
 */
int ps_regtree_write(const ps_regtree *t, ps_buf *out);

/*
 * Compare two subtrees (names case-insensitive, order of subkeys and of
 * values ignored, types and data exact).  Returns 1 when equal, 0 when
 * not; when `diff` is not NULL, appends a readable description of up to
 * 20 differences, one per line, with full key paths and value names.
 * `a` is taken as the expected side: "missing key/value" is in a and not
 * in b, "extra key/value" is in b only, and "value K "v": A != B" shows
 * a's data first (type, length, first 32 bytes, and the text when the
 * data looks like a string).
 */
int ps_regkey_equal(const ps_regkey *a, const ps_regkey *b, ps_buf *diff);

#endif
