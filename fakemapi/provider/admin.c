/*
 * IProfAdmin and IMsgServiceAdmin over the fake store: the profile
 * table, the message service table (in PR_SERVICES order) and
 * OpenProfileSection.
 */
#include "provider.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/ps_error.h"
#include "../../core/ps_str.h"

#ifndef MAPI_FORCE_ACCESS
#define MAPI_FORCE_ACCESS ((ULONG)0x00080000)
#endif

/* A UTF-8 string as a PT_UNICODE property of a row. */
static int put_wide(ps_proplist *row, ULONG tag, const char *s)
{
	WCHAR *w = fm_wide(s);
	int error;

	if (!w)
		return PS_ENOMEM;
	error = ps_proplist_set(row, tag, w, (wcslen(w) + 1) * sizeof(*w));
	free(w);
	return error;
}

static HRESULT no_support(void)
{
	return MAPI_E_NO_SUPPORT;
}

/* ================= IMsgServiceAdmin ================= */

typedef struct svcadmin {
	IMsgServiceAdmin iface;
	LONG refs;
	char *profile;
} svcadmin;

static svcadmin *sa_of(IMsgServiceAdmin *p)
{
	return (svcadmin *)p;
}

static HRESULT STDMETHODCALLTYPE sa_qi(IMsgServiceAdmin *p, REFIID iid,
				       LPVOID *out)
{
	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	if (fm_iid_is(iid, &fm_IID_IUnknown) ||
	    fm_iid_is(iid, &fm_IID_IMsgServiceAdmin)) {
		p->lpVtbl->AddRef(p);
		*out = p;
		return S_OK;
	}
	*out = NULL;
	return MAPI_E_INTERFACE_NOT_SUPPORTED;
}

static ULONG STDMETHODCALLTYPE sa_addref(IMsgServiceAdmin *p)
{
	return (ULONG)InterlockedIncrement(&sa_of(p)->refs);
}

static ULONG STDMETHODCALLTYPE sa_release(IMsgServiceAdmin *p)
{
	svcadmin *sa = sa_of(p);
	LONG left = InterlockedDecrement(&sa->refs);

	if (left)
		return (ULONG)left;
	free(sa->profile);
	free(sa);
	fm_object_died();
	return 0;
}

static HRESULT STDMETHODCALLTYPE sa_get_last_error(IMsgServiceAdmin *p,
						   HRESULT hr, ULONG flags,
						   LPMAPIERROR *out)
{
	(void)p;
	(void)hr;
	(void)flags;
	if (out)
		*out = NULL;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE sa_get_table(IMsgServiceAdmin *p,
					      ULONG flags, LPMAPITABLE *out)
{
	static const ULONG cols[] = {
		PR_SERVICE_UID, PROP_TAG(PT_UNICODE, 0x3D09),
		PR_DISPLAY_NAME_W,
	};
	svcadmin *sa = sa_of(p);
	ps_service *svcs = NULL;
	ps_proplist *rows;
	size_t n = 0, i;
	int error;

	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	fm_lock();
	error = ps_store_list_services(fm_store(), sa->profile, &svcs, &n);
	fm_unlock();
	if (error)
		return fm_hresult(error);
	rows = calloc(n + 1, sizeof(*rows));
	for (i = 0; rows && !error && i < n; i++) {
		error = ps_proplist_set(&rows[i], PR_SERVICE_UID,
					svcs[i].uid.b, sizeof(svcs[i].uid.b));
		if (!error)
			error = put_wide(&rows[i], PROP_TAG(PT_UNICODE,
							    0x3D09),
					 svcs[i].service_name);
		if (!error)
			error = put_wide(&rows[i], PR_DISPLAY_NAME_W,
					 svcs[i].display_name);
	}
	ps_services_free(svcs, n);
	if (!rows || error) {
		for (i = 0; rows && i < n; i++)
			ps_proplist_free(&rows[i]);
		free(rows);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	return fm_table_new(rows, n, cols, 3, flags, out);
}

static HRESULT STDMETHODCALLTYPE sa_create(IMsgServiceAdmin *p, LPTSTR svc,
					   LPTSTR name, ULONG_PTR ui,
					   ULONG flags)
{
	(void)p;
	(void)svc;
	(void)name;
	(void)ui;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE sa_delete(IMsgServiceAdmin *p,
					   LPMAPIUID uid)
{
	(void)p;
	(void)uid;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE sa_copy(IMsgServiceAdmin *p, LPMAPIUID uid,
					 LPTSTR name, LPCIID a, LPCIID b,
					 LPVOID dst, ULONG_PTR ui, ULONG flags)
{
	(void)p;
	(void)uid;
	(void)name;
	(void)a;
	(void)b;
	(void)dst;
	(void)ui;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE sa_rename(IMsgServiceAdmin *p, LPMAPIUID uid,
					   ULONG flags, LPTSTR name)
{
	(void)p;
	(void)uid;
	(void)flags;
	(void)name;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE sa_configure(IMsgServiceAdmin *p,
					      LPMAPIUID uid, ULONG_PTR ui,
					      ULONG flags, ULONG n,
					      LPSPropValue props)
{
	(void)p;
	(void)uid;
	(void)ui;
	(void)flags;
	(void)n;
	(void)props;
	return no_support();
}

/* A missing section: MAPI_E_NOT_FOUND when opened read-only; with
 * MAPI_MODIFY an empty section that exists once props are saved in it
 * (docs/windows-mapi.md). */
static HRESULT STDMETHODCALLTYPE sa_open_section(IMsgServiceAdmin *p,
						 LPMAPIUID uid, LPCIID iid,
						 ULONG flags,
						 LPPROFSECT *out)
{
	svcadmin *sa = sa_of(p);
	ps_section *sec = NULL;
	ps_uid u;
	HRESULT hr;
	int error;

	if (!uid || !out)
		return MAPI_E_INVALID_PARAMETER;
	*out = NULL;
	if (iid && !fm_iid_is(iid, &fm_IID_IProfSect) &&
	    !fm_iid_is(iid, &fm_IID_IMAPIProp) &&
	    !fm_iid_is(iid, &fm_IID_IUnknown))
		return MAPI_E_INTERFACE_NOT_SUPPORTED;
	if (flags & ~(ULONG)(MAPI_MODIFY | MAPI_FORCE_ACCESS |
			     MAPI_DEFERRED_ERRORS | MAPI_UNICODE))
		return MAPI_E_UNKNOWN_FLAGS;
	memcpy(u.b, uid->ab, sizeof(u.b));
	fm_lock();
	error = ps_store_open_section(fm_store(), sa->profile, &u,
				      (flags & MAPI_MODIFY) ? PS_OPEN_CREATE
							    : 0, &sec);
	fm_unlock();
	if (error)
		return fm_hresult(error);
	hr = fm_profsect_new(sec, !!(flags & MAPI_MODIFY), sa->profile, &u,
			     out);
	if (FAILED(hr)) {
		fm_lock();
		ps_store_close_section(fm_store(), sec);
		fm_unlock();
	}
	return hr;
}

static HRESULT STDMETHODCALLTYPE sa_transport_order(IMsgServiceAdmin *p,
						    ULONG n, LPMAPIUID uids,
						    ULONG flags)
{
	(void)p;
	(void)n;
	(void)uids;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE sa_admin_providers(IMsgServiceAdmin *p,
						    LPMAPIUID uid, ULONG flags,
						    LPPROVIDERADMIN *out)
{
	(void)p;
	(void)uid;
	(void)flags;
	if (out)
		*out = NULL;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE sa_set_primary(IMsgServiceAdmin *p,
						LPMAPIUID uid, ULONG flags)
{
	(void)p;
	(void)uid;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE sa_provider_table(IMsgServiceAdmin *p,
						   ULONG flags,
						   LPMAPITABLE *out)
{
	(void)p;
	(void)flags;
	if (out)
		*out = NULL;
	return no_support();
}

static const IMsgServiceAdminVtbl svcadmin_vtbl = {
	sa_qi, sa_addref, sa_release,
	sa_get_last_error, sa_get_table, sa_create, sa_delete, sa_copy,
	sa_rename, sa_configure, sa_open_section, sa_transport_order,
	sa_admin_providers, sa_set_primary, sa_provider_table,
};

HRESULT fm_service_admin_new(const char *profile, LPSERVICEADMIN *out)
{
	svcadmin *sa = calloc(1, sizeof(*sa));

	if (!sa || !(sa->profile = ps_strdup(profile))) {
		free(sa);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	sa->iface.lpVtbl = (IMsgServiceAdminVtbl *)&svcadmin_vtbl;
	sa->refs = 1;
	fm_object_born();
	*out = &sa->iface;
	return S_OK;
}

/* ================= IProfAdmin ================= */

typedef struct profadmin {
	IProfAdmin iface;
	LONG refs;
} profadmin;

static profadmin *pa_of(IProfAdmin *p)
{
	return (profadmin *)p;
}

static HRESULT STDMETHODCALLTYPE pa_qi(IProfAdmin *p, REFIID iid, LPVOID *out)
{
	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	if (fm_iid_is(iid, &fm_IID_IUnknown) ||
	    fm_iid_is(iid, &fm_IID_IProfAdmin)) {
		p->lpVtbl->AddRef(p);
		*out = p;
		return S_OK;
	}
	*out = NULL;
	return MAPI_E_INTERFACE_NOT_SUPPORTED;
}

static ULONG STDMETHODCALLTYPE pa_addref(IProfAdmin *p)
{
	return (ULONG)InterlockedIncrement(&pa_of(p)->refs);
}

static ULONG STDMETHODCALLTYPE pa_release(IProfAdmin *p)
{
	profadmin *pa = pa_of(p);
	LONG left = InterlockedDecrement(&pa->refs);

	if (left)
		return (ULONG)left;
	free(pa);
	fm_object_died();
	return 0;
}

static HRESULT STDMETHODCALLTYPE pa_get_last_error(IProfAdmin *p, HRESULT hr,
						   ULONG flags,
						   LPMAPIERROR *out)
{
	(void)p;
	(void)hr;
	(void)flags;
	if (out)
		*out = NULL;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE pa_get_table(IProfAdmin *p, ULONG flags,
					      LPMAPITABLE *out)
{
	static const ULONG cols[] = { PR_DISPLAY_NAME_W, PR_DEFAULT_PROFILE };
	ps_strlist names = PS_STRLIST_INIT;
	ps_proplist *rows;
	char *dflt = NULL;
	size_t i;
	int error;

	(void)p;
	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	fm_lock();
	error = ps_store_list_profiles(fm_store(), &names);
	if (!error && ps_store_default_profile(fm_store(), &dflt) < 0)
		dflt = NULL;
	fm_unlock();
	if (error)
		return fm_hresult(error);
	rows = calloc(names.n + 1, sizeof(*rows));
	for (i = 0; rows && !error && i < names.n; i++) {
		uint8_t b[2] = { 0, 0 };

		b[0] = dflt && !ps_strcasecmp(dflt, names.v[i]);
		error = put_wide(&rows[i], PR_DISPLAY_NAME_W, names.v[i]);
		if (!error)
			error = ps_proplist_set(&rows[i], PR_DEFAULT_PROFILE,
						b, 2);
	}
	free(dflt);
	if (!rows || error) {
		for (i = 0; rows && i < names.n; i++)
			ps_proplist_free(&rows[i]);
		free(rows);
		ps_strlist_free(&names);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	i = names.n;
	ps_strlist_free(&names);
	return fm_table_new(rows, i, cols, 2, flags, out);
}

static HRESULT STDMETHODCALLTYPE pa_create(IProfAdmin *p, LPTSTR name,
					   LPTSTR pw, ULONG_PTR ui,
					   ULONG flags)
{
	(void)p;
	(void)name;
	(void)pw;
	(void)ui;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE pa_delete(IProfAdmin *p, LPTSTR name,
					   ULONG flags)
{
	(void)p;
	(void)name;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE pa_change_pw(IProfAdmin *p, LPTSTR name,
					      LPTSTR a, LPTSTR b, ULONG flags)
{
	(void)p;
	(void)name;
	(void)a;
	(void)b;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE pa_copy(IProfAdmin *p, LPTSTR a, LPTSTR pw,
					 LPTSTR b, ULONG_PTR ui, ULONG flags)
{
	(void)p;
	(void)a;
	(void)pw;
	(void)b;
	(void)ui;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE pa_set_default(IProfAdmin *p, LPTSTR name,
						ULONG flags)
{
	(void)p;
	(void)name;
	(void)flags;
	return no_support();
}

static HRESULT STDMETHODCALLTYPE pa_admin_services(IProfAdmin *p,
						   LPTSTR name, LPTSTR pw,
						   ULONG_PTR ui, ULONG flags,
						   LPSERVICEADMIN *out)
{
	ps_strlist names = PS_STRLIST_INIT;
	const char *found = NULL;
	char *want;
	size_t i;
	HRESULT hr;
	int error;

	(void)p;
	(void)pw;
	(void)ui;
	if (!name || !out)
		return MAPI_E_INVALID_PARAMETER;
	*out = NULL;
	/* The headers say LPTSTR; MAPI_UNICODE says which it is. */
	want = (flags & MAPI_UNICODE) ? fm_utf8((const WCHAR *)name) :
	       fm_utf8_ansi((const char *)(void *)name);
	if (!want)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	fm_lock();
	error = ps_store_list_profiles(fm_store(), &names);
	fm_unlock();
	for (i = 0; !error && i < names.n && !found; i++)
		if (!ps_strcasecmp(names.v[i], want))
			found = names.v[i];
	free(want);
	if (error)
		hr = fm_hresult(error);
	else if (!found)
		hr = MAPI_E_LOGON_FAILED;  /* what MAPI says for no profile */
	else
		hr = fm_service_admin_new(found, out);
	ps_strlist_free(&names);
	return hr;
}

static const IProfAdminVtbl profadmin_vtbl = {
	pa_qi, pa_addref, pa_release,
	pa_get_last_error, pa_get_table, pa_create, pa_delete, pa_change_pw,
	pa_copy, pa_copy /* RenameProfile: same shape */, pa_set_default,
	pa_admin_services,
};

HRESULT fm_profadmin_new(LPPROFADMIN *out)
{
	profadmin *pa = calloc(1, sizeof(*pa));

	if (!pa)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	pa->iface.lpVtbl = (IProfAdminVtbl *)&profadmin_vtbl;
	pa->refs = 1;
	fm_object_born();
	*out = &pa->iface;
	return S_OK;
}
