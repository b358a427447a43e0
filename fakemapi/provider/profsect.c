/*
 * IProfSect (IMAPIProp) over one fake-store section handle.  Changes stay
 * in the handle until SaveChanges, which saves the section and rewrites
 * the .reg file (the fake store's flush).  A section left without any
 * property is removed, as MAPI keeps no empty section.
 *
 * Fault knob: PROFSWITCH_FAKE_FAIL=SetProps:N makes the Nth SetProps of
 * the process set the first half of its values, then fail with
 * MAPI_E_CALL_FAILED; DeleteProps:N and SaveChanges:N fail before doing
 * anything.
 */
#include "provider.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/ps_error.h"
#include "../../platform/win32/ps_mapiprop.h"

typedef struct profsect {
	IProfSect iface;
	LONG refs;
	ps_section *sec;
	int writable;
	char *profile;
	ps_uid uid;
} profsect;

static profsect *ps_of(IProfSect *p)
{
	return (profsect *)p;
}

static HRESULT STDMETHODCALLTYPE sect_qi(IProfSect *p, REFIID iid,
					 LPVOID *out)
{
	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	if (fm_iid_is(iid, &fm_IID_IUnknown) ||
	    fm_iid_is(iid, &fm_IID_IMAPIProp) ||
	    fm_iid_is(iid, &fm_IID_IProfSect)) {
		p->lpVtbl->AddRef(p);
		*out = p;
		return S_OK;
	}
	*out = NULL;
	return MAPI_E_INTERFACE_NOT_SUPPORTED;
}

static ULONG STDMETHODCALLTYPE sect_addref(IProfSect *p)
{
	return (ULONG)InterlockedIncrement(&ps_of(p)->refs);
}

static ULONG STDMETHODCALLTYPE sect_release(IProfSect *p)
{
	profsect *s = ps_of(p);
	LONG left = InterlockedDecrement(&s->refs);

	if (left)
		return (ULONG)left;
	fm_lock();
	ps_store_close_section(fm_store(), s->sec);
	fm_unlock();
	free(s->profile);
	free(s);
	fm_object_died();
	return 0;
}

static HRESULT STDMETHODCALLTYPE sect_get_last_error(IProfSect *p,
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

static HRESULT STDMETHODCALLTYPE sect_save(IProfSect *p, ULONG flags)
{
	profsect *s = ps_of(p);
	ps_proplist left = PS_PROPLIST_INIT;
	int error;

	(void)flags;
	if (!s->writable)
		return MAPI_E_NO_ACCESS;
	if (fm_fault("SaveChanges"))
		return MAPI_E_CALL_FAILED;
	fm_lock();
	error = ps_store_save_section(fm_store(), s->sec);
	if (!error)
		error = ps_store_get_props(fm_store(), s->sec, &left);
	/* Emptied: the section goes (one that is not there is fine). */
	if (!error && !left.n &&
	    ps_store_delete_section(fm_store(), s->profile, &s->uid) ==
		    PS_ENOTFOUND)
		ps_error_clear();
	if (!error)
		error = ps_store_flush(fm_store());
	fm_unlock();
	ps_proplist_free(&left);
	return fm_hresult(error);
}

/* Decode p into *v; a value with no MAPI form is PT_ERROR. */
static int put_value(const ps_prop *p, SPropValue *v, void *root)
{
	if (!ps_mapiprop_decode(p, v, fm_alloc_more, root))
		return 0;
	v->ulPropTag = PROP_TAG(PT_ERROR, PROP_ID(p->tag));
	v->Value.err = MAPI_E_CORRUPT_DATA;
	return 1;
}

static HRESULT STDMETHODCALLTYPE sect_get_props(IProfSect *p,
						LPSPropTagArray tags,
						ULONG flags, ULONG *count,
						LPSPropValue *out)
{
	profsect *s = ps_of(p);
	ps_proplist all = PS_PROPLIST_INIT;
	SPropValue *vals = NULL;
	size_t n, i, j;
	int error, errors = 0;

	(void)flags;
	if (!count || !out)
		return MAPI_E_INVALID_PARAMETER;
	*count = 0;
	*out = NULL;
	fm_lock();
	error = ps_store_get_props(fm_store(), s->sec, &all);
	fm_unlock();
	if (error)
		return fm_hresult(error);
	n = tags ? tags->cValues : all.n;
	if (MAPIAllocateBuffer((ULONG)((n + 1) * sizeof(*vals)),
			       (LPVOID *)&vals) != S_OK) {
		ps_proplist_free(&all);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	for (i = 0; i < n; i++) {
		const ps_prop *found = NULL;

		if (!tags) {
			errors += put_value(&all.v[i], &vals[i], vals);
			continue;
		}
		for (j = 0; j < all.n && !found; j++)
			if (all.v[j].tag == tags->aulPropTag[i] ||
			    (PROP_TYPE(tags->aulPropTag[i]) ==
				     PT_UNSPECIFIED &&
			     PROP_ID(all.v[j].tag) ==
				     PROP_ID(tags->aulPropTag[i])))
				found = &all.v[j];
		if (found) {
			errors += put_value(found, &vals[i], vals);
		} else {
			vals[i].ulPropTag = PROP_TAG(PT_ERROR,
					PROP_ID(tags->aulPropTag[i]));
			vals[i].Value.err = MAPI_E_NOT_FOUND;
			errors++;
		}
	}
	ps_proplist_free(&all);
	*count = (ULONG)n;
	*out = vals;
	return errors ? MAPI_W_ERRORS_RETURNED : S_OK;
}

static HRESULT STDMETHODCALLTYPE sect_get_prop_list(IProfSect *p, ULONG flags,
						    LPSPropTagArray *out)
{
	profsect *s = ps_of(p);
	ps_proplist all = PS_PROPLIST_INIT;
	LPSPropTagArray a = NULL;
	size_t i;
	int error;

	(void)flags;
	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	fm_lock();
	error = ps_store_get_props(fm_store(), s->sec, &all);
	fm_unlock();
	if (error)
		return fm_hresult(error);
	if (MAPIAllocateBuffer((ULONG)((all.n + 1) * sizeof(ULONG)),
			       (LPVOID *)&a) != S_OK) {
		ps_proplist_free(&all);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	a->cValues = (ULONG)all.n;
	for (i = 0; i < all.n; i++)
		a->aulPropTag[i] = all.v[i].tag;
	ps_proplist_free(&all);
	*out = a;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE sect_open_property(IProfSect *p, ULONG tag,
						    LPCIID iid, ULONG opts,
						    ULONG flags,
						    LPUNKNOWN *out)
{
	(void)p;
	(void)tag;
	(void)iid;
	(void)opts;
	(void)flags;
	if (out)
		*out = NULL;
	return MAPI_E_NO_SUPPORT;
}

/* A problem array for the caller (NULL when there is none). */
static HRESULT add_problem(LPSPropProblemArray *probs, ULONG max,
			   ULONG index, ULONG tag, SCODE sc)
{
	LPSPropProblemArray a = *probs;

	if (!a) {
		if (MAPIAllocateBuffer((ULONG)(sizeof(ULONG) + sizeof(SPropProblem) *
					       (max + 1)), (LPVOID *)&a) != S_OK)
			return MAPI_E_NOT_ENOUGH_MEMORY;
		a->cProblem = 0;
		*probs = a;
	}
	a->aProblem[a->cProblem].ulIndex = index;
	a->aProblem[a->cProblem].ulPropTag = tag;
	a->aProblem[a->cProblem].scode = sc;
	a->cProblem++;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE sect_set_props(IProfSect *p, ULONG n,
						LPSPropValue vals,
						LPSPropProblemArray *out)
{
	profsect *s = ps_of(p);
	LPSPropProblemArray probs = NULL;
	ULONG i, stop = n;
	HRESULT hr = S_OK;
	int fail, error = 0;

	if (out)
		*out = NULL;
	if (n && !vals)
		return MAPI_E_INVALID_PARAMETER;
	if (!s->writable)
		return MAPI_E_NO_ACCESS;
	fail = fm_fault("SetProps");
	if (fail)
		stop = n / 2;    /* half-way, then the failure */
	fm_lock();
	for (i = 0; i < stop && !error; i++) {
		ps_buf b = PS_BUF_INIT;
		ps_prop prop = { 0, 0, NULL, PS_FORM_DEFAULT };

		if (PROP_TYPE(vals[i].ulPropTag) == PT_ERROR ||
		    ps_mapiprop_encode(&vals[i], &b) < 0) {
			ps_buf_free(&b);
			hr = add_problem(&probs, n, i, vals[i].ulPropTag,
					 MAPI_E_INVALID_TYPE);
			if (FAILED(hr))
				break;
			continue;
		}
		prop.tag = vals[i].ulPropTag;
		prop.len = b.len;
		prop.data = (uint8_t *)b.ptr;
		error = ps_store_set_props(fm_store(), s->sec, &prop, 1);
		ps_buf_free(&b);
	}
	fm_unlock();
	if (error || FAILED(hr) || fail) {
		MAPIFreeBuffer(probs);
		return error ? fm_hresult(error) :
		       FAILED(hr) ? hr : MAPI_E_CALL_FAILED;
	}
	if (out)
		*out = probs;
	else
		MAPIFreeBuffer(probs);
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE sect_delete_props(IProfSect *p,
						   LPSPropTagArray tags,
						   LPSPropProblemArray *out)
{
	profsect *s = ps_of(p);
	ps_proplist all = PS_PROPLIST_INIT;
	LPSPropProblemArray probs = NULL;
	HRESULT hr = S_OK;
	ULONG i;
	int error;

	if (out)
		*out = NULL;
	if (!tags)
		return MAPI_E_INVALID_PARAMETER;
	if (!s->writable)
		return MAPI_E_NO_ACCESS;
	if (fm_fault("DeleteProps"))
		return MAPI_E_CALL_FAILED;
	fm_lock();
	error = ps_store_get_props(fm_store(), s->sec, &all);
	for (i = 0; !error && i < tags->cValues && SUCCEEDED(hr); i++) {
		if (!ps_proplist_get(&all, tags->aulPropTag[i])) {
			hr = add_problem(&probs, tags->cValues, i,
					 tags->aulPropTag[i],
					 MAPI_E_NOT_FOUND);
			continue;
		}
		{
			uint32_t tag = tags->aulPropTag[i];

			error = ps_store_delete_props(fm_store(), s->sec,
						      &tag, 1);
		}
	}
	fm_unlock();
	ps_proplist_free(&all);
	if (error || FAILED(hr)) {
		MAPIFreeBuffer(probs);
		return error ? fm_hresult(error) : hr;
	}
	if (out)
		*out = probs;
	else
		MAPIFreeBuffer(probs);
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE sect_copy_to(IProfSect *p, ULONG ci,
					      LPCIID excl, LPSPropTagArray ex,
					      ULONG ui, LPMAPIPROGRESS prog,
					      LPCIID iid, LPVOID dst,
					      ULONG flags,
					      LPSPropProblemArray *probs)
{
	(void)p;
	(void)ci;
	(void)excl;
	(void)ex;
	(void)ui;
	(void)prog;
	(void)iid;
	(void)dst;
	(void)flags;
	(void)probs;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE sect_copy_props(IProfSect *p,
						 LPSPropTagArray inc,
						 ULONG ui,
						 LPMAPIPROGRESS prog,
						 LPCIID iid, LPVOID dst,
						 ULONG flags,
						 LPSPropProblemArray *probs)
{
	(void)p;
	(void)inc;
	(void)ui;
	(void)prog;
	(void)iid;
	(void)dst;
	(void)flags;
	(void)probs;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE sect_names_from_ids(IProfSect *p,
						     LPSPropTagArray *tags,
						     LPGUID guid, ULONG flags,
						     ULONG *n,
						     LPMAPINAMEID **names)
{
	(void)p;
	(void)tags;
	(void)guid;
	(void)flags;
	(void)n;
	(void)names;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE sect_ids_from_names(IProfSect *p, ULONG n,
						     LPMAPINAMEID *names,
						     ULONG flags,
						     LPSPropTagArray *tags)
{
	(void)p;
	(void)n;
	(void)names;
	(void)flags;
	(void)tags;
	return MAPI_E_NO_SUPPORT;
}

static const IProfSectVtbl profsect_vtbl = {
	sect_qi, sect_addref, sect_release,
	sect_get_last_error, sect_save, sect_get_props, sect_get_prop_list,
	sect_open_property, sect_set_props, sect_delete_props, sect_copy_to,
	sect_copy_props, sect_names_from_ids, sect_ids_from_names,
};

HRESULT fm_profsect_new(ps_section *sec, int writable, const char *profile,
			const ps_uid *uid, LPPROFSECT *out)
{
	profsect *s = calloc(1, sizeof(*s));

	if (!s || !(s->profile = ps_strdup(profile))) {
		free(s);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	s->uid = *uid;
	s->iface.lpVtbl = (IProfSectVtbl *)&profsect_vtbl;
	s->refs = 1;
	s->sec = sec;
	s->writable = writable;
	fm_object_born();
	*out = &s->iface;
	return S_OK;
}
