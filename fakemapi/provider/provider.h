/*
 * The fake MAPI provider (fakemapi.dll): Extended MAPI's profile
 * administration entry points and COM objects over the fake profile store
 * (docs/windows-mapi.md).  Internal to the DLL.
 */
#ifndef PS_PROVIDER_H
#define PS_PROVIDER_H

#include <windows.h>
#include <mapix.h>
#include <mapidefs.h>
#include <mapicode.h>
#include <mapitags.h>

#include "../../core/ps_prop.h"
#include "../../core/ps_store.h"

/* The store and the lock every object method holds while using it. */
ps_store *fm_store(void);
void fm_lock(void);
void fm_unlock(void);
/* A live object keeps the store open past MAPIUninitialize. */
void fm_object_born(void);
void fm_object_died(void);

/* PROFSWITCH_FAKE_FAIL=Method:N: 1 when this call of `method` (counted
 * per process) is the one that must fail. */
int fm_fault(const char *method);

/* Interface ids (mapiguid.h values, defined here: nothing is imported). */
extern const IID fm_IID_IUnknown, fm_IID_IMAPIProp, fm_IID_IProfSect,
	fm_IID_IMAPITable, fm_IID_IProfAdmin, fm_IID_IMsgServiceAdmin;
int fm_iid_is(REFIID a, const IID *b);

/* MAPIAllocateMore as a ps_mapiprop_alloc (ctx: the root buffer). */
void *fm_alloc_more(void *root, size_t n);

/* A ps_store error code as a MAPI one (the message goes to stderr when
 * PROFSWITCH_FAKE_DEBUG is set). */
HRESULT fm_hresult(int error);

/* A table over rows of properties (each row a ps_proplist; strings are
 * PT_UNICODE and served as PT_STRING8 too).  Takes ownership of rows. */
HRESULT fm_table_new(ps_proplist *rows, size_t nrows, const ULONG *cols,
		     ULONG ncols, ULONG flags, LPMAPITABLE *out);

HRESULT fm_service_admin_new(const char *profile, LPSERVICEADMIN *out);
HRESULT fm_profsect_new(ps_section *sec, int writable, const char *profile,
			const ps_uid *uid, LPPROFSECT *out);
HRESULT fm_profadmin_new(LPPROFADMIN *out);

/* UTF-16 <-> UTF-8 helpers (malloc'd; NULL on failure). */
char *fm_utf8(const WCHAR *w);
char *fm_utf8_ansi(const char *a);
WCHAR *fm_wide(const char *s);

#endif
