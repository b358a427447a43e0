/*
 * The fake profile store: a complete store-port backend over an in-memory
 * registry tree loaded from a `.reg` export, interpreted the way MAPI
 * does (docs/update-rules.md "How the engine finds accounts").
 */
#ifndef PS_FAKESTORE_H
#define PS_FAKESTORE_H

#include "../core/ps_store.h"
#include "../core/ps_system.h"
#include "ps_reg.h"

/* Largest export the fake store loads (bytes). */
#define PS_FAKESTORE_MAX_FILE (512u * 1024u * 1024u)

/*
 * Load `path` through the system port.  PS_ENOTFOUND / PS_EIO when it
 * cannot be read, PS_EFORMAT ("FILE:LINE: reason") when it is not a valid
 * export.  flush() writes it back atomically in its own encoding, and only
 * when something changed.  A file that starts with "regf" is an
 * NTUSER.DAT hive (ps_hive.h): its root is HKEY_CURRENT_USER, errors are
 * "FILE: reason", and flush() writes only the changes made since the
 * load into it with libhivex, replacing the file atomically.  A hive
 * that was not cleanly unloaded is opened as it is on disk with its
 * tree's `unclean` set (ps_hive.h): reading works, flush() of a change
 * fails (PS_EFORMAT) and leaves the file, and an opener that means to
 * write refuses it first with ps_hive_check_writable.
 */
int ps_fakestore_open(ps_store **out, ps_system *sys, const char *path);
/* A store over a tree already in memory (takes ownership of *tree's
 * contents).  With path NULL, flush() keeps changes in memory only. */
int ps_fakestore_from_tree(ps_store **out, ps_regtree *tree,
			   ps_system *sys, const char *path);
/* The tree behind a fake store (for tests and comparisons). */
ps_regtree *ps_fakestore_tree(ps_store *s);
/* 1 when a saved change has not been flushed yet. */
int ps_fakestore_dirty(ps_store *s);
/* Policy values from the same tree: key relative to HKCU.  Matches the
 * system port's get_policy method (ctx is the ps_store *). */
int ps_fakestore_get_policy(void *ctx, const char *key, const char *value,
			    uint32_t *type, uint8_t **data, size_t *len);

/* Fault injection shim over any store (SQLite's test_vfs.c is the model):
 * counts calls of the write methods in `mask` and fails the Nth one, once
 * or from then on.  Failing calls return PS_EIO and change nothing. */
#define PS_FAULT_SET_PROPS 0x01u
#define PS_FAULT_DELETE_PROPS 0x02u
#define PS_FAULT_SAVE 0x04u
#define PS_FAULT_DELETE_SECTION 0x08u
#define PS_FAULT_FLUSH 0x10u
#define PS_FAULT_VALUES 0x20u  /* set_value, delete_value, and the
                                  Office key writes (version 3) */
#define PS_FAULT_WRITES 0x3Fu

int ps_faultstore_wrap(ps_store **out, ps_store *inner);
/* nth is 1-based; 0 disarms.  persistent: fail every call from nth on. */
void ps_faultstore_arm(ps_store *s, unsigned mask, unsigned nth,
		       int persistent);
/* Calls of the armed mask's methods seen so far, and how many failed. */
unsigned ps_faultstore_calls(ps_store *s);
unsigned ps_faultstore_failed(ps_store *s);
ps_store *ps_faultstore_inner(ps_store *s);

#endif
