/*
 * The store port over Extended MAPI's profile administration
 * (docs/windows-mapi.md).
 *
 * The MAPI DLL is found as Microsoft's MAPI stub library finds it and
 * loaded with LoadLibraryW; only MAPIInitialize, MAPIUninitialize,
 * MAPIAdminProfiles and MAPIFreeBuffer are taken from it, with
 * GetProcAddress.  No MAPI utility function (HrQueryAllRows, FreeProws,
 * ...) is imported: Wine's x64 mapi32 exports them only under decorated
 * names, so rows are read with IMAPITable::QueryRows and freed here.
 *
 * Sections: MAPI has no "missing" profile section.  OpenProfileSection
 * with MAPI_MODIFY hands out a section for any UID and the section comes
 * into being when props are saved in it.  So without PS_OPEN_CREATE a
 * section that MAPI reports as MAPI_E_NOT_FOUND, or that has no
 * property at all, is PS_ENOTFOUND; with PS_OPEN_CREATE the handle MAPI
 * gives is used as it is.
 */
#include "ps_win32.h"
#include "ps_mapiprop.h"

#include <windows.h>
#include <mapix.h>
#include <mapidefs.h>
#include <mapicode.h>
#include <mapitags.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/ps_buf.h"
#include "../../core/ps_error.h"

#ifndef MAPI_FORCE_ACCESS
#define MAPI_FORCE_ACCESS ((ULONG)0x00080000)
#endif

#define ROWS_AT_ONCE 64

typedef struct mapistore {
	ps_store base;
	ps_system *sys;
	HMODULE dll;
	char *dll_name;            /* for messages (UTF-8) */
	LPMAPIINITIALIZE init;
	LPMAPIUNINITIALIZE uninit;
	LPMAPIADMINPROFILES admin_profiles;
	LPMAPIFREEBUFFER free_buffer;
	int initialized;
	LPPROFADMIN profadmin;
	/* The service admin of the last profile used (sections of one
	 * profile are opened one after the other). */
	char *svc_profile;
	LPSERVICEADMIN svcadmin;
	WCHAR outlook_key[64];     /* Software\Microsoft\Office\N\Outlook */
} mapistore;

struct ps_section {
	LPPROFSECT sect;
};

static mapistore *ms_of(ps_store *s)
{
	return (mapistore *)s;
}

/* ---- strings ---- */

/* UTF-8 -> new UTF-16 string; NULL (message set) on a bad string. */
/* UTF-16 (len units, or -1 for NUL-terminated) -> new UTF-8 string. */
static char *from_wide(const WCHAR *w, int len)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, len, NULL, 0, NULL, NULL);
	char *s;

	if (n < 0 || (n == 0 && len != 0)) {
		ps_error_setc(PS_EFORMAT, "a name is not valid UTF-16");
		return NULL;
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	WideCharToMultiByte(CP_UTF8, 0, w, len, s, n, NULL, NULL);
	s[n] = 0;
	return s;
}

/* An ANSI (code page CP_ACP) string -> new UTF-8 string. */
static char *from_ansi(const char *a)
{
	int n = MultiByteToWideChar(CP_ACP, 0, a, -1, NULL, 0);
	WCHAR *w;
	char *s;

	if (n <= 0)
		return ps_strdup("");
	w = malloc((size_t)n * sizeof(*w));
	if (!w) {
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	MultiByteToWideChar(CP_ACP, 0, a, -1, w, n);
	s = from_wide(w, -1);
	free(w);
	return s;
}

/* A string column of a row (PT_STRING8 or PT_UNICODE); NULL when the
 * column is an error or another type. */
static char *string_prop(const SPropValue *v)
{
	if (PROP_TYPE(v->ulPropTag) == PT_UNICODE && v->Value.lpszW)
		return from_wide(v->Value.lpszW, -1);
	if (PROP_TYPE(v->ulPropTag) == PT_STRING8 && v->Value.lpszA)
		return from_ansi(v->Value.lpszA);
	return NULL;
}

/* ---- errors ---- */

/* "what: MAPI_E_NOT_FOUND (0x8004010f)" as the message; code returned. */
static int PS_PRINTF(3, 4) mapi_error(int code, HRESULT hr, const char *fmt,
				      ...)
{
	char what[512];
	const char *name = ps_mapi_error_name(hr);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (name)
		return ps_error_setc(code, "%s: %s (0x%08lx)", what, name,
				     (unsigned long)hr);
	return ps_error_setc(code, "%s: error 0x%08lx", what,
			     (unsigned long)hr);
}

static int win_error(int code, DWORD err, const char *what)
{
	WCHAR buf[256];
	DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM |
				 FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0,
				 buf, sizeof(buf) / sizeof(buf[0]), NULL);
	char *msg;
	int ret;

	while (n > 0 && (buf[n - 1] == L'\r' || buf[n - 1] == L'\n' ||
			 buf[n - 1] == L' ' || buf[n - 1] == L'.'))
		n--;
	msg = n ? from_wide(buf, (int)n) : NULL;
	ret = ps_error_setc(code, "%s: %s (Windows error %lu)", what,
			    msg ? msg : "unknown error", (unsigned long)err);
	free(msg);
	return ret;
}

/* ---- rows ---- */

static void free_rows(mapistore *ms, LPSRowSet rows)
{
	ULONG i;

	if (!rows)
		return;
	for (i = 0; i < rows->cRows; i++)
		ms->free_buffer(rows->aRow[i].lpProps);
	ms->free_buffer(rows);
}

/* Called for each row of a table; nonzero stops with that code. */
typedef int (*row_fn)(mapistore *ms, const SRow *row, void *ctx);

/* Set the columns, then read every row with QueryRows. */
static int each_row(mapistore *ms, LPMAPITABLE table, const ULONG *cols,
		    ULONG ncols, const char *what, row_fn fn, void *ctx)
{
	struct {
		ULONG cValues;
		ULONG aulPropTag[8];
	} tags;
	LPSRowSet rows = NULL;
	HRESULT hr;
	ULONG i;
	int error = 0;

	tags.cValues = ncols;
	memcpy(tags.aulPropTag, cols, ncols * sizeof(ULONG));
	hr = table->lpVtbl->SetColumns(table, (LPSPropTagArray)&tags, 0);
	if (FAILED(hr))
		return mapi_error(PS_ERROR, hr, "%s: IMAPITable::SetColumns",
				  what);
	for (;;) {
		hr = table->lpVtbl->QueryRows(table, ROWS_AT_ONCE, 0, &rows);
		if (FAILED(hr))
			return mapi_error(PS_ERROR, hr,
					  "%s: IMAPITable::QueryRows", what);
		if (!rows || !rows->cRows)
			break;
		for (i = 0; i < rows->cRows && !error; i++) {
			if (rows->aRow[i].cValues < ncols)
				error = ps_error_setc(PS_ERROR, "%s: a row "
					"has %lu columns, not %lu", what,
					(unsigned long)rows->aRow[i].cValues,
					(unsigned long)ncols);
			else
				error = fn(ms, &rows->aRow[i], ctx);
		}
		free_rows(ms, rows);
		rows = NULL;
		if (error)
			return error;
	}
	free_rows(ms, rows);
	return 0;
}

/* ---- profiles ---- */

struct profile_rows {
	ps_strlist names;
	char *dflt;
};

static int profile_row(mapistore *ms, const SRow *row, void *ctx)
{
	struct profile_rows *pr = ctx;
	const SPropValue *v = row->lpProps;
	/* The Unicode name when the table has it (a name the code page
	 * cannot spell survives), else the ANSI one. */
	char *name = string_prop(PROP_TYPE(v[0].ulPropTag) == PT_UNICODE
				 ? &v[0] : &v[2]);

	(void)ms;
	if (!name)
		return ps_error_setc(PS_ERROR, "the profile table has a row "
				     "without a name");
	if (PROP_TYPE(v[1].ulPropTag) == PT_BOOLEAN && v[1].Value.b &&
	    !pr->dflt) {
		pr->dflt = ps_strdup(name);
		if (!pr->dflt) {
			free(name);
			return PS_ENOMEM;
		}
	}
	return ps_strlist_take(&pr->names, name);
}

static int read_profiles(mapistore *ms, struct profile_rows *pr)
{
	static const ULONG cols[] = { PR_DISPLAY_NAME_W, PR_DEFAULT_PROFILE,
				      PR_DISPLAY_NAME_A };
	LPMAPITABLE table = NULL;
	HRESULT hr;
	int error;

	memset(pr, 0, sizeof(*pr));
	hr = ms->profadmin->lpVtbl->GetProfileTable(ms->profadmin, 0, &table);
	if (FAILED(hr))
		return mapi_error(PS_ERROR, hr,
				  "MAPI: IProfAdmin::GetProfileTable");
	error = each_row(ms, table, cols, 3, "the profile table", profile_row,
			 pr);
	table->lpVtbl->Release(table);
	if (error) {
		ps_strlist_free(&pr->names);
		free(pr->dflt);
		pr->dflt = NULL;
	}
	return error;
}

static int ms_list_profiles(ps_store *s, ps_strlist *out)
{
	struct profile_rows pr;
	int error = read_profiles(ms_of(s), &pr);

	if (error)
		return error;
	free(pr.dflt);
	*out = pr.names;
	return 0;
}

static int ms_default_profile(ps_store *s, char **out)
{
	struct profile_rows pr;
	int error = read_profiles(ms_of(s), &pr);

	if (error)
		return error;
	ps_strlist_free(&pr.names);
	if (!pr.dflt)
		return ps_error_setc(PS_ENOTFOUND, "no default profile set");
	*out = pr.dflt;
	return 0;
}

/* The service admin of a profile (cached for the last profile).  The
 * name goes as ANSI when the code page can spell it, else as Unicode
 * with MAPI_UNICODE. */
static int service_admin(mapistore *ms, const char *profile,
			 LPSERVICEADMIN *out)
{
	LPSERVICEADMIN admin = NULL;
	WCHAR *wname;
	char *aname = NULL, *copy;
	BOOL lossy = FALSE;
	HRESULT hr;
	int n;

	if (ms->svcadmin && !strcmp(ms->svc_profile, profile)) {
		*out = ms->svcadmin;
		return 0;
	}
	wname = ps_win32_wide(profile);
	if (!wname)
		return PS_EFORMAT;
	n = WideCharToMultiByte(CP_ACP, WC_NO_BEST_FIT_CHARS, wname, -1, NULL,
				0, NULL, &lossy);
	if (n > 0 && !lossy) {
		aname = malloc((size_t)n);
		if (aname)
			WideCharToMultiByte(CP_ACP, WC_NO_BEST_FIT_CHARS,
					    wname, -1, aname, n, NULL, NULL);
	}
	copy = ps_strdup(profile);
	if (!copy) {
		free(wname);
		free(aname);
		return PS_ENOMEM;
	}
	/* LPTSTR in the headers; the flag says which one it is. */
	if (aname)
		hr = ms->profadmin->lpVtbl->AdminServices(ms->profadmin,
			(LPTSTR)(void *)aname, NULL, 0, 0, &admin);
	else
		hr = ms->profadmin->lpVtbl->AdminServices(ms->profadmin,
			(LPTSTR)wname, NULL, 0, MAPI_UNICODE, &admin);
	free(wname);
	free(aname);
	if (FAILED(hr)) {
		free(copy);
		/* AdminServices says LOGON_FAILED for a missing profile. */
		if (hr == MAPI_E_LOGON_FAILED || hr == MAPI_E_NOT_FOUND)
			return mapi_error(PS_ENOTFOUND, hr, "no profile '%s' "
					  "(IProfAdmin::AdminServices)",
					  profile);
		return mapi_error(PS_ERROR, hr, "profile '%s': "
				  "IProfAdmin::AdminServices", profile);
	}
	if (ms->svcadmin)
		ms->svcadmin->lpVtbl->Release(ms->svcadmin);
	free(ms->svc_profile);
	ms->svcadmin = admin;
	ms->svc_profile = copy;
	*out = admin;
	return 0;
}

struct service_rows {
	ps_service *v;
	size_t n, cap;
	const char *profile;
};

/* First usable string of two columns (Unicode, then ANSI), else "". */
static char *either_string(const SPropValue *a, const SPropValue *b)
{
	char *s = string_prop(a);

	if (!s)
		s = string_prop(b);
	if (!s)
		s = ps_strdup("");
	return s;
}

static int service_row(mapistore *ms, const SRow *row, void *ctx)
{
	struct service_rows *sr = ctx;
	const SPropValue *v = row->lpProps;
	ps_service *svc;

	(void)ms;
	if (PROP_TYPE(v[0].ulPropTag) != PT_BINARY ||
	    v[0].Value.bin.cb != sizeof(ps_uid))
		return ps_error_setc(PS_EFORMAT, "profile '%s': a message "
				     "service without a 16-byte "
				     "PR_SERVICE_UID", sr->profile);
	if (sr->n == sr->cap) {
		size_t cap = sr->cap ? sr->cap * 2 : 8;
		ps_service *nv = realloc(sr->v, cap * sizeof(*nv));

		if (!nv)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		sr->v = nv;
		sr->cap = cap;
	}
	svc = &sr->v[sr->n];
	memset(svc, 0, sizeof(*svc));
	memcpy(svc->uid.b, v[0].Value.bin.lpb, sizeof(svc->uid.b));
	svc->service_name = either_string(&v[1], &v[2]);
	svc->display_name = either_string(&v[3], &v[4]);
	if (!svc->service_name || !svc->display_name) {
		free(svc->service_name);
		free(svc->display_name);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	sr->n++;
	return 0;
}

static int ms_list_services(ps_store *s, const char *profile,
			    ps_service **out, size_t *count)
{
	static const ULONG cols[] = {
		PR_SERVICE_UID,
		PROP_TAG(PT_UNICODE, 0x3D09), PR_SERVICE_NAME_A,
		PR_DISPLAY_NAME_W, PR_DISPLAY_NAME_A,
	};
	mapistore *ms = ms_of(s);
	struct service_rows sr;
	LPSERVICEADMIN admin;
	LPMAPITABLE table = NULL;
	HRESULT hr;
	int error;

	error = service_admin(ms, profile, &admin);
	if (error)
		return error;
	hr = admin->lpVtbl->GetMsgServiceTable(admin, 0, &table);
	if (FAILED(hr))
		return mapi_error(PS_ERROR, hr, "profile '%s': "
				  "IMsgServiceAdmin::GetMsgServiceTable",
				  profile);
	memset(&sr, 0, sizeof(sr));
	sr.profile = profile;
	error = each_row(ms, table, cols, 5, "the message service table",
			 service_row, &sr);
	table->lpVtbl->Release(table);
	if (error) {
		ps_services_free(sr.v, sr.n);
		return error;
	}
	*out = sr.v;
	*count = sr.n;
	return 0;
}

/* ---- sections ---- */

/* Every GetProps buffer goes back with MAPIFreeBuffer. */
static int read_props(mapistore *ms, LPPROFSECT sect, ps_proplist *out)
{
	ps_proplist l = PS_PROPLIST_INIT;
	LPSPropValue vals = NULL;
	ULONG n = 0, i;
	HRESULT hr;
	int error = 0;

	hr = sect->lpVtbl->GetProps(sect, NULL, 0, &n, &vals);
	if (FAILED(hr))
		return mapi_error(PS_ERROR, hr, "IProfSect::GetProps");
	for (i = 0; i < n && !error; i++) {
		/* A value MAPI could not return, or of a type the core
		 * never reads, is left out: it stays as it is, since the
		 * core only deletes what it has read. */
		if (PROP_TYPE(vals[i].ulPropTag) == PT_ERROR ||
		    !ps_mapiprop_supported(vals[i].ulPropTag))
			continue;
		error = ps_mapiprop_to_list(&vals[i], &l);
	}
	if (vals)
		ms->free_buffer(vals);
	if (error) {
		ps_proplist_free(&l);
		return error;
	}
	*out = l;
	return 0;
}

static int ms_open_section(ps_store *s, const char *profile,
			   const ps_uid *uid, unsigned flags,
			   ps_section **out)
{
	mapistore *ms = ms_of(s);
	LPSERVICEADMIN admin;
	LPPROFSECT sect = NULL;
	MAPIUID muid;
	ps_section *sec;
	char hex[33];
	HRESULT hr;
	int error;

	error = service_admin(ms, profile, &admin);
	if (error)
		return error;
	ps_uid_format(uid, hex);
	memcpy(muid.ab, uid->b, sizeof(muid.ab));
	hr = admin->lpVtbl->OpenProfileSection(admin, &muid, NULL,
					       MAPI_MODIFY | MAPI_FORCE_ACCESS,
					       &sect);
	if (hr == MAPI_E_NOT_FOUND)
		return mapi_error(PS_ENOTFOUND, hr, "profile '%s' has no "
				  "section %s", profile, hex);
	if (FAILED(hr))
		return mapi_error(PS_ERROR, hr, "profile '%s': section %s: "
				  "IMsgServiceAdmin::OpenProfileSection",
				  profile, hex);
	if (!(flags & PS_OPEN_CREATE)) {
		LPSPropValue vals = NULL;
		ULONG n = 0;

		hr = sect->lpVtbl->GetProps(sect, NULL, 0, &n, &vals);
		if (vals)
			ms->free_buffer(vals);
		if (FAILED(hr)) {
			sect->lpVtbl->Release(sect);
			return mapi_error(PS_ERROR, hr, "profile '%s': "
					  "section %s: IProfSect::GetProps",
					  profile, hex);
		}
		if (!n) {
			sect->lpVtbl->Release(sect);
			return ps_error_setc(PS_ENOTFOUND, "profile '%s' has "
					     "no section %s (empty in MAPI)",
					     profile, hex);
		}
	}
	sec = calloc(1, sizeof(*sec));
	if (!sec) {
		sect->lpVtbl->Release(sect);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	sec->sect = sect;
	*out = sec;
	return 0;
}

static int ms_get_props(ps_store *s, ps_section *sec, ps_proplist *out)
{
	return read_props(ms_of(s), sec->sect, out);
}

/* A malloc arena for the SPropValues handed to SetProps. */
typedef struct arena {
	void **blocks;
	size_t n, cap;
} arena;

static void *arena_alloc(void *ctx, size_t n)
{
	arena *a = ctx;
	void *m;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		void **nb = realloc(a->blocks, cap * sizeof(*nb));

		if (!nb)
			return NULL;
		a->blocks = nb;
		a->cap = cap;
	}
	m = calloc(1, n ? n : 1);
	if (m)
		a->blocks[a->n++] = m;
	return m;
}

static void arena_free(arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
}

/* A problem array from SetProps or DeleteProps: 0 when every problem is
 * acceptable (MAPI_E_NOT_FOUND for DeleteProps). */
static int problems(mapistore *ms, LPSPropProblemArray p, int not_found_ok,
		    const char *what)
{
	ULONG i;
	int error = 0;

	if (!p)
		return 0;
	for (i = 0; i < p->cProblem && !error; i++) {
		if (not_found_ok && p->aProblem[i].scode == MAPI_E_NOT_FOUND)
			continue;
		error = mapi_error(PS_ERROR, p->aProblem[i].scode,
				   "%s: property %08lx", what,
				   (unsigned long)p->aProblem[i].ulPropTag);
	}
	ms->free_buffer(p);
	return error;
}

static int ms_set_props(ps_store *s, ps_section *sec, const ps_prop *props,
			size_t n)
{
	mapistore *ms = ms_of(s);
	LPSPropProblemArray probs = NULL;
	arena a = { NULL, 0, 0 };
	SPropValue *vals;
	HRESULT hr;
	size_t i;
	int error = 0;

	if (!n)
		return 0;
	if (n > 0xFFFFFFFFu / sizeof(SPropValue))
		return ps_error_setc(PS_ELIMIT, "too many properties");
	vals = calloc(n, sizeof(*vals));
	if (!vals)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; i < n && !error; i++)
		error = ps_mapiprop_decode(&props[i], &vals[i], arena_alloc,
					   &a);
	if (!error) {
		hr = sec->sect->lpVtbl->SetProps(sec->sect, (ULONG)n, vals,
						 &probs);
		if (FAILED(hr)) {
			if (probs)
				ms->free_buffer(probs);
			error = mapi_error(PS_ERROR, hr,
					   "IProfSect::SetProps");
		} else {
			error = problems(ms, probs, 0, "IProfSect::SetProps");
		}
	}
	arena_free(&a);
	free(vals);
	return error;
}

static int ms_delete_props(ps_store *s, ps_section *sec,
			   const uint32_t *tags, size_t n)
{
	mapistore *ms = ms_of(s);
	LPSPropProblemArray probs = NULL;
	LPSPropTagArray arr;
	HRESULT hr;
	size_t i;
	int error;

	if (!n)
		return 0;
	if (n > 0xFFFFFFFFu / sizeof(ULONG) - 1)
		return ps_error_setc(PS_ELIMIT, "too many properties");
	arr = malloc(sizeof(ULONG) * (n + 1));
	if (!arr)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	arr->cValues = (ULONG)n;
	for (i = 0; i < n; i++)
		arr->aulPropTag[i] = tags[i];
	hr = sec->sect->lpVtbl->DeleteProps(sec->sect, arr, &probs);
	free(arr);
	if (FAILED(hr)) {
		if (probs)
			ms->free_buffer(probs);
		return mapi_error(PS_ERROR, hr, "IProfSect::DeleteProps");
	}
	error = problems(ms, probs, 1, "IProfSect::DeleteProps");
	return error;
}

static int ms_save_section(ps_store *s, ps_section *sec)
{
	HRESULT hr = sec->sect->lpVtbl->SaveChanges(sec->sect,
						    KEEP_OPEN_READWRITE);

	(void)s;
	if (FAILED(hr))
		return mapi_error(PS_ERROR, hr, "IProfSect::SaveChanges");
	return 0;
}

static void ms_close_section(ps_store *s, ps_section *sec)
{
	(void)s;
	if (!sec)
		return;
	sec->sect->lpVtbl->Release(sec->sect);
	free(sec);
}

static int ms_owner(ps_store *s, char **user)
{
	WCHAR name[257];
	DWORD n = sizeof(name) / sizeof(name[0]);

	(void)s;
	if (!GetUserNameW(name, &n))
		return win_error(PS_ERROR, GetLastError(), "GetUserNameW");
	*user = from_wide(name, -1);
	return *user ? 0 : PS_ENOMEM;
}

/* ---- values under Outlook's key ---- */

/* Outlook's key (+ "\subkey") as a new UTF-16 string. */
static WCHAR *value_key(mapistore *ms, const char *subkey)
{
	WCHAR *sub = ps_win32_wide(subkey), *k;
	size_t a, b;

	if (!sub)
		return NULL;
	a = wcslen(ms->outlook_key);
	b = wcslen(sub);
	k = malloc((a + b + 2) * sizeof(*k));
	if (!k) {
		free(sub);
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(k, ms->outlook_key, a * sizeof(*k));
	if (b) {
		k[a] = L'\\';
		memcpy(k + a + 1, sub, b * sizeof(*k));
		a += b + 1;
	}
	k[a] = 0;
	free(sub);
	return k;
}

/* A value of HKCU\key (key is taken and freed; NULL: failed). */
static int key_get_value(WCHAR *key, const char *name, uint32_t *type,
			 uint8_t **data, size_t *len)
{
	WCHAR *wname = NULL;
	HKEY h = NULL;
	DWORD t = 0, size = 0;
	LONG rc;
	uint8_t *buf = NULL;
	int error = 0;

	if (!key || !(wname = ps_win32_wide(name))) {
		free(key);
		return PS_ERROR;
	}
	rc = RegOpenKeyExW(HKEY_CURRENT_USER, key, 0, KEY_QUERY_VALUE, &h);
	if (rc == ERROR_FILE_NOT_FOUND) {
		error = PS_ENOTFOUND;
		goto done;
	}
	if (rc != ERROR_SUCCESS) {
		error = win_error(PS_EIO, (DWORD)rc, "RegOpenKeyExW");
		goto done;
	}
	for (;;) {
		rc = RegQueryValueExW(h, wname, NULL, &t, buf, &size);
		if (rc == ERROR_FILE_NOT_FOUND) {
			error = PS_ENOTFOUND;
			goto done;
		}
		if (rc == ERROR_SUCCESS && buf)
			break;
		if (rc != ERROR_SUCCESS && rc != ERROR_MORE_DATA) {
			error = win_error(PS_EIO, (DWORD)rc,
					  "RegQueryValueExW");
			goto done;
		}
		free(buf);
		buf = malloc((size_t)size + 1);
		if (!buf) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			goto done;
		}
	}
	buf[size] = 0;
	*type = t;
	*data = buf;
	*len = size;
	buf = NULL;
done:
	if (h)
		RegCloseKey(h);
	free(buf);
	free(key);
	free(wname);
	return error;
}

/* Set a value of HKCU\key, creating the key (key is taken and freed);
 * name NULL: only create the key. */
static int key_set_value(WCHAR *key, const char *name, uint32_t type,
			 const uint8_t *data, size_t len)
{
	WCHAR *wname = NULL;
	HKEY h = NULL;
	LONG rc;
	int error = 0;

	if (!key || (name && !(wname = ps_win32_wide(name)))) {
		free(key);
		return PS_ERROR;
	}
	if (len > 0xFFFFFFFFu) {
		error = ps_error_setc(PS_ELIMIT, "value %s too large", name);
		goto done;
	}
	rc = RegCreateKeyExW(HKEY_CURRENT_USER, key, 0, NULL, 0, KEY_SET_VALUE,
			     NULL, &h, NULL);
	if (rc != ERROR_SUCCESS) {
		error = win_error(PS_EIO, (DWORD)rc, "RegCreateKeyExW");
		goto done;
	}
	rc = wname ? RegSetValueExW(h, wname, 0, type, data, (DWORD)len)
		   : ERROR_SUCCESS;
	if (rc != ERROR_SUCCESS)
		error = win_error(PS_EIO, (DWORD)rc, "RegSetValueExW");
done:
	if (h)
		RegCloseKey(h);
	free(key);
	free(wname);
	return error;
}

static int ms_get_value(ps_store *s, const char *subkey, const char *name,
			uint32_t *type, uint8_t **data, size_t *len)
{
	return key_get_value(value_key(ms_of(s), subkey), name, type, data,
			     len);
}

static int ms_set_value(ps_store *s, const char *subkey, const char *name,
			uint32_t type, const uint8_t *data, size_t len)
{
	return key_set_value(value_key(ms_of(s), subkey), name, type, data,
			     len);
}

static int ms_delete_value(ps_store *s, const char *subkey,
			   const char *name)
{
	WCHAR *key = value_key(ms_of(s), subkey), *wname = NULL;
	DWORD nval = 1, nsub = 1;
	HKEY h = NULL;
	LONG rc;
	int error = 0;

	if (!key || !(wname = ps_win32_wide(name))) {
		free(key);
		return PS_ERROR;
	}
	rc = RegOpenKeyExW(HKEY_CURRENT_USER, key, 0,
			   KEY_SET_VALUE | KEY_QUERY_VALUE, &h);
	if (rc == ERROR_FILE_NOT_FOUND)
		goto done;
	if (rc != ERROR_SUCCESS) {
		error = win_error(PS_EIO, (DWORD)rc, "RegOpenKeyExW");
		goto done;
	}
	rc = RegDeleteValueW(h, wname);
	if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND) {
		error = win_error(PS_EIO, (DWORD)rc, "RegDeleteValueW");
		goto done;
	}
	/* A subkey left empty goes too, as the fake store does. */
	if (*subkey && RegQueryInfoKeyW(h, NULL, NULL, NULL, &nsub, NULL,
					NULL, &nval, NULL, NULL, NULL,
					NULL) == ERROR_SUCCESS &&
	    !nsub && !nval) {
		RegCloseKey(h);
		h = NULL;
		RegDeleteKeyW(HKEY_CURRENT_USER, key);
	}
done:
	if (h)
		RegCloseKey(h);
	free(key);
	free(wname);
	return error;
}

/* ---- keys under Office's key (version 3) ---- */

/* Software\Microsoft\Office\N (+ "\key") as a new UTF-16 string. */
static WCHAR *office_path(mapistore *ms, const char *key)
{
	WCHAR *sub = ps_win32_wide(key), *k;
	size_t a = wcslen(ms->outlook_key), b;

	if (!sub)
		return NULL;
	/* outlook_key ends in "\Outlook" (pick_outlook_key). */
	a -= wcslen(L"\\Outlook");
	b = wcslen(sub);
	k = malloc((a + b + 2) * sizeof(*k));
	if (!k) {
		free(sub);
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(k, ms->outlook_key, a * sizeof(*k));
	if (b) {
		k[a] = L'\\';
		memcpy(k + a + 1, sub, b * sizeof(*k));
		a += b + 1;
	}
	k[a] = 0;
	free(sub);
	return k;
}

static int ms_list_key(ps_store *s, const char *key, ps_strlist *subkeys,
		       ps_strlist *values)
{
	WCHAR *path = office_path(ms_of(s), key), *name = NULL;
	DWORD nsub = 0, nval = 0, maxsub = 0, maxval = 0, i, n;
	HKEY h = NULL;
	LONG rc;
	int error = 0;

	if (!path)
		return PS_ERROR;
	rc = RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, KEY_READ, &h);
	if (rc == ERROR_FILE_NOT_FOUND) {
		error = PS_ENOTFOUND;
		goto done;
	}
	if (rc == ERROR_SUCCESS)
		rc = RegQueryInfoKeyW(h, NULL, NULL, NULL, &nsub, &maxsub,
				      NULL, &nval, &maxval, NULL, NULL,
				      NULL);
	if (rc != ERROR_SUCCESS) {
		error = win_error(PS_EIO, (DWORD)rc, "RegQueryInfoKeyW");
		goto done;
	}
	n = (maxsub > maxval ? maxsub : maxval) + 1;
	name = malloc((size_t)n * sizeof(*name));
	if (!name) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < nsub && !error; i++) {
		DWORD len = n;
		char *u;

		rc = RegEnumKeyExW(h, i, name, &len, NULL, NULL, NULL, NULL);
		if (rc != ERROR_SUCCESS) {
			error = win_error(PS_EIO, (DWORD)rc, "RegEnumKeyExW");
			break;
		}
		u = from_wide(name, (int)len);
		error = u ? ps_strlist_add(subkeys, u) : PS_ENOMEM;
		free(u);
	}
	for (i = 0; i < nval && !error; i++) {
		DWORD len = n;
		char *u;

		rc = RegEnumValueW(h, i, name, &len, NULL, NULL, NULL, NULL);
		if (rc != ERROR_SUCCESS) {
			error = win_error(PS_EIO, (DWORD)rc, "RegEnumValueW");
			break;
		}
		u = from_wide(name, (int)len);
		error = u ? ps_strlist_add(values, u) : PS_ENOMEM;
		free(u);
	}
	if (error < 0) {
		ps_strlist_free(subkeys);
		ps_strlist_free(values);
	}
done:
	if (h)
		RegCloseKey(h);
	free(name);
	free(path);
	return error;
}

static int ms_get_office_value(ps_store *s, const char *key,
			       const char *name, uint32_t *type,
			       uint8_t **data, size_t *len)
{
	return key_get_value(office_path(ms_of(s), key), name, type, data,
			     len);
}

static int ms_set_office_value(ps_store *s, const char *key,
			       const char *name, uint32_t type,
			       const uint8_t *data, size_t len)
{
	return key_set_value(office_path(ms_of(s), key), name, type, data,
			     len);
}

static int ms_delete_key(ps_store *s, const char *key)
{
	WCHAR *path = office_path(ms_of(s), key);
	LONG rc;

	if (!path)
		return PS_ERROR;
	rc = RegDeleteTreeW(HKEY_CURRENT_USER, path);
	if (rc == ERROR_SUCCESS)
		rc = RegDeleteKeyW(HKEY_CURRENT_USER, path);
	free(path);
	if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND)
		return win_error(PS_EIO, (DWORD)rc, "RegDeleteTreeW");
	return 0;
}

/* ---- open / free ---- */

static void ms_free(ps_store *s)
{
	mapistore *ms = ms_of(s);

	if (ms->svcadmin)
		ms->svcadmin->lpVtbl->Release(ms->svcadmin);
	if (ms->profadmin)
		ms->profadmin->lpVtbl->Release(ms->profadmin);
	if (ms->initialized)
		ms->uninit();
	if (ms->dll)
		FreeLibrary(ms->dll);
	free(ms->svc_profile);
	free(ms->dll_name);
	free(ms);
}

static const ps_store_ops mapistore_ops = {
	PS_STORE_OPS_VERSION,
	ms_list_profiles,
	ms_default_profile,
	ms_list_services,
	ms_open_section,
	ms_get_props,
	ms_set_props,
	ms_delete_props,
	ms_save_section,
	ms_close_section,
	NULL,            /* delete_section: the core empties the section */
	NULL,            /* flush: MAPI persists at SaveChanges */
	ms_owner,
	ms_free,
	ms_get_value,
	ms_set_value,
	ms_delete_value,
	ms_list_key,
	ms_get_office_value,
	ms_set_office_value,
	ms_delete_key,
};

/* A REG_SZ / REG_EXPAND_SZ value of HKLM (expanded); NULL when absent. */
/* A string value of HKLM\key in a registry view (0: this process's,
 * KEY_WOW64_32KEY, KEY_WOW64_64KEY), NULL when absent or empty. */
static WCHAR *hklm_string(const WCHAR *key, const WCHAR *name, REGSAM view)
{
	DWORD size = 0;
	HKEY h;
	WCHAR *v = NULL;

	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, key, 0, KEY_QUERY_VALUE | view,
			  &h) != ERROR_SUCCESS)
		return NULL;
	if (RegGetValueW(h, NULL, name, RRF_RT_REG_SZ, NULL, NULL, &size) ==
		    ERROR_SUCCESS && size >= 2 * sizeof(WCHAR) &&
	    (v = malloc(size + sizeof(WCHAR))) != NULL &&
	    (RegGetValueW(h, NULL, name, RRF_RT_REG_SZ, NULL, v, &size) !=
		     ERROR_SUCCESS || !v[0])) {
		free(v);
		v = NULL;
	}
	RegCloseKey(h);
	return v;
}

/* The default mail client's DLLPathEx in one registry view, else NULL. */
static WCHAR *client_dll_in(REGSAM view)
{
	static const WCHAR mail[] = L"Software\\Clients\\Mail";
	WCHAR *client = hklm_string(mail, NULL, view), *key, *path;
	size_t n;

	if (!client)
		return NULL;
	n = wcslen(mail) + 1 + wcslen(client) + 1;
	key = malloc(n * sizeof(*key));
	if (!key) {
		free(client);
		return NULL;
	}
	swprintf(key, n, L"%ls\\%ls", mail, client);
	path = hklm_string(key, L"DLLPathEx", view);
	free(key);
	free(client);
	return path;
}

/* The Machine field of a PE file's header, 0 when unreadable. */
static unsigned pe_machine(const WCHAR *path)
{
	HANDLE f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL,
			       OPEN_EXISTING, 0, NULL);
	uint8_t head[64], pe[6];
	DWORD got = 0;
	LONG off;
	unsigned machine = 0;

	if (f == INVALID_HANDLE_VALUE)
		return 0;
	if (ReadFile(f, head, sizeof(head), &got, NULL) &&
	    got == sizeof(head) && head[0] == 'M' && head[1] == 'Z') {
		off = (LONG)((uint32_t)head[60] | (uint32_t)head[61] << 8 |
			     (uint32_t)head[62] << 16 |
			     (uint32_t)head[63] << 24);
		if (SetFilePointer(f, off, NULL, FILE_BEGIN) !=
			    INVALID_SET_FILE_POINTER &&
		    ReadFile(f, pe, sizeof(pe), &got, NULL) &&
		    got == sizeof(pe) && !memcmp(pe, "PE\0\0", 4))
			machine = pe[4] | (unsigned)pe[5] << 8;
	}
	CloseHandle(f);
	return machine;
}

/*
 * The MAPI DLL of the default mail client (its DLLPathEx), else NULL:
 * what Microsoft's MAPI stub library reads, in this process's registry
 * view.  HKLM\\Software is redirected for 32-bit processes on 64-bit
 * Windows, and an Outlook registers in its own bitness's view: when this
 * view names none, the other view's is taken if it is a DLL of the other
 * bitness, so that such an Outlook is reported (load_failed names the
 * build to use) instead of missed.  Anything else there (a missing file,
 * a leftover of an Office removed since) is not: mapi32.dll then, as
 * before.
 */
static WCHAR *mail_client_dll(void)
{
#ifdef _WIN64
	const REGSAM other = KEY_WOW64_32KEY;
	const unsigned ours = 0x8664;
#else
	const REGSAM other = KEY_WOW64_64KEY;
	const unsigned ours = 0x014c;
#endif
	WCHAR *path = client_dll_in(0);
	unsigned m;

	if (path)
		return path;
	path = client_dll_in(other);
	m = path ? pe_machine(path) : 0;
	if (m && m != ours)
		return path;
	free(path);
	return NULL;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case 0x014c:
		return "32-bit (x86)";
	case 0x8664:
		return "64-bit (x64)";
	case 0xAA64:
		return "ARM64";
	default:
		return "another architecture";
	}
}

/* LoadLibraryW failed: say why, naming the build to use when the DLL is
 * of the other bitness. */
static int load_failed(const WCHAR *path, const char *name, DWORD err)
{
	WCHAR full[MAX_PATH];
	const WCHAR *file = path;
	unsigned m;

	if (err != ERROR_BAD_EXE_FORMAT) {
		char what[600];

		snprintf(what, sizeof(what), "MAPI is not available: cannot "
			 "load %s", name);
		return win_error(PS_ERROR, err, what);
	}
	if (!wcschr(path, L'\\') &&
	    SearchPathW(NULL, path, NULL, MAX_PATH, full, NULL))
		file = full;
	m = pe_machine(file);
	return ps_error_setc(PS_ERROR, "MAPI is not available: %s is %s "
		"MAPI (Outlook) but this profswitch is %s; run the %s build "
		"of profswitch instead", name, m ? machine_name(m) :
		"of the other bitness", sizeof(void *) == 8 ?
		"64-bit (x64)" : "32-bit (x86)", sizeof(void *) == 8 ?
		"32-bit (x86)" : "64-bit (x64)");
}

static FARPROC entry(mapistore *ms, const char *name, int *missing)
{
	FARPROC f = GetProcAddress(ms->dll, name);

	if (!f && !*missing) {
		*missing = 1;
		ps_error_setc(PS_ERROR, "MAPI is not available: %s does not "
			      "export %s", ms->dll_name, name);
	}
	return f;
}

/* The four entry points, by their plain names (__stdcall on x86 is
 * exported undecorated by mapi32 and Outlook's olmapi32). */
static int resolve(mapistore *ms)
{
	int missing = 0;

	ms->init = (LPMAPIINITIALIZE)(void (*)(void))
		entry(ms, "MAPIInitialize", &missing);
	ms->uninit = (LPMAPIUNINITIALIZE)(void (*)(void))
		entry(ms, "MAPIUninitialize", &missing);
	ms->admin_profiles = (LPMAPIADMINPROFILES)(void (*)(void))
		entry(ms, "MAPIAdminProfiles", &missing);
	ms->free_buffer = (LPMAPIFREEBUFFER)(void (*)(void))
		entry(ms, "MAPIFreeBuffer", &missing);
	return missing ? PS_ERROR : 0;
}

/* The Office version whose profiles exist (16.0, then 15.0); 16.0 when
 * none has any (older Outlook keeps profiles elsewhere). */
static void pick_outlook_key(mapistore *ms)
{
	static const WCHAR *const versions[] = { L"16.0", L"15.0", NULL };
	size_t n = sizeof(ms->outlook_key) / sizeof(ms->outlook_key[0]);
	WCHAR key[128];
	HKEY h;
	size_t i;

	for (i = 0; versions[i]; i++) {
		swprintf(key, sizeof(key) / sizeof(key[0]), L"Software\\"
			 L"Microsoft\\Office\\%ls\\Outlook\\Profiles",
			 versions[i]);
		if (RegOpenKeyExW(HKEY_CURRENT_USER, key, 0, KEY_READ, &h) ==
		    ERROR_SUCCESS) {
			RegCloseKey(h);
			break;
		}
	}
	swprintf(ms->outlook_key, n, L"Software\\Microsoft\\Office\\%ls\\"
		 L"Outlook", versions[i] ? versions[i] : L"16.0");
}

int ps_win32_mapi_open(ps_system *sys, ps_store **out)
{
	mapistore *ms = calloc(1, sizeof(*ms));
	MAPIINIT_0 mi = { MAPI_INIT_VERSION, 0 };
	WCHAR *path;
	HRESULT hr;
	int error;

	if (!ms)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	ms->base.ops = &mapistore_ops;
	ms->sys = sys;
	path = mail_client_dll();
	if (!path) {
		path = ps_win32_wide("mapi32.dll");
		if (!path) {
			free(ms);
			return PS_ENOMEM;
		}
	}
	ms->dll_name = from_wide(path, -1);
	if (!ms->dll_name) {
		free(path);
		free(ms);
		return PS_ENOMEM;
	}
	ms->dll = LoadLibraryW(path);
	if (!ms->dll) {
		error = load_failed(path, ms->dll_name, GetLastError());
		free(path);
		ms_free(&ms->base);
		return error;
	}
	free(path);
	error = resolve(ms);
	if (error) {
		ms_free(&ms->base);
		return error;
	}
	hr = ms->init(&mi);
	if (FAILED(hr)) {
		error = mapi_error(PS_ERROR, hr, "MAPI is not available: "
				   "MAPIInitialize in %s failed (is Outlook "
				   "installed and its MAPI registered?)",
				   ms->dll_name);
		ms_free(&ms->base);
		return error;
	}
	ms->initialized = 1;
	hr = ms->admin_profiles(0, &ms->profadmin);
	if (FAILED(hr) || !ms->profadmin) {
		ms->profadmin = NULL;
		error = mapi_error(PS_ERROR, hr, "MAPI is not available: "
				   "MAPIAdminProfiles in %s failed",
				   ms->dll_name);
		ms_free(&ms->base);
		return error;
	}
	pick_outlook_key(ms);
	*out = &ms->base;
	return 0;
}
