/*
 * IMAPITable over rows held in memory (profile table, message service
 * table).  Rows are read with SetColumns + QueryRows; every row's props
 * come in their own MAPIAllocateBuffer block and the row set in another,
 * as FreeProws expects.
 */
#include "provider.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../../platform/win32/ps_mapiprop.h"

typedef struct table {
	IMAPITable iface;
	LONG refs;
	ps_proplist *rows;
	size_t nrows;
	size_t pos;
	ULONG *cols;
	ULONG ncols;
} table;

static table *tb_of(IMAPITable *t)
{
	return (table *)t;
}

static HRESULT STDMETHODCALLTYPE tb_qi(IMAPITable *t, REFIID iid, LPVOID *out)
{
	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	if (fm_iid_is(iid, &fm_IID_IUnknown) ||
	    fm_iid_is(iid, &fm_IID_IMAPITable)) {
		t->lpVtbl->AddRef(t);
		*out = t;
		return S_OK;
	}
	*out = NULL;
	return MAPI_E_INTERFACE_NOT_SUPPORTED;
}

static ULONG STDMETHODCALLTYPE tb_addref(IMAPITable *t)
{
	return (ULONG)InterlockedIncrement(&tb_of(t)->refs);
}

static ULONG STDMETHODCALLTYPE tb_release(IMAPITable *t)
{
	table *tb = tb_of(t);
	LONG left = InterlockedDecrement(&tb->refs);
	size_t i;

	if (left)
		return (ULONG)left;
	for (i = 0; i < tb->nrows; i++)
		ps_proplist_free(&tb->rows[i]);
	free(tb->rows);
	free(tb->cols);
	free(tb);
	fm_object_died();
	return 0;
}

static HRESULT STDMETHODCALLTYPE tb_get_last_error(IMAPITable *t, HRESULT hr,
						   ULONG flags,
						   LPMAPIERROR *out)
{
	(void)t;
	(void)hr;
	(void)flags;
	if (out)
		*out = NULL;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_advise(IMAPITable *t, ULONG mask,
					   LPMAPIADVISESINK sink, ULONG *conn)
{
	(void)t;
	(void)mask;
	(void)sink;
	(void)conn;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_unadvise(IMAPITable *t, ULONG conn)
{
	(void)t;
	(void)conn;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_get_status(IMAPITable *t, ULONG *status,
					       ULONG *type)
{
	(void)t;
	if (status)
		*status = TBLSTAT_COMPLETE;
	if (type)
		*type = TBLTYPE_SNAPSHOT;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_set_columns(IMAPITable *t,
						LPSPropTagArray cols,
						ULONG flags)
{
	table *tb = tb_of(t);
	ULONG *c;

	(void)flags;
	if (!cols)
		return MAPI_E_INVALID_PARAMETER;
	c = malloc((cols->cValues + 1) * sizeof(*c));
	if (!c)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	memcpy(c, cols->aulPropTag, cols->cValues * sizeof(*c));
	free(tb->cols);
	tb->cols = c;
	tb->ncols = cols->cValues;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_query_columns(IMAPITable *t, ULONG flags,
						  LPSPropTagArray *out)
{
	table *tb = tb_of(t);
	LPSPropTagArray a = NULL;

	(void)flags;
	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	if (MAPIAllocateBuffer((ULONG)(sizeof(ULONG) * (tb->ncols + 1)),
			       (LPVOID *)&a) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	a->cValues = tb->ncols;
	memcpy(a->aulPropTag, tb->cols, tb->ncols * sizeof(ULONG));
	*out = a;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_get_row_count(IMAPITable *t, ULONG flags,
						  ULONG *count)
{
	(void)flags;
	if (!count)
		return MAPI_E_INVALID_PARAMETER;
	*count = (ULONG)tb_of(t)->nrows;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_seek_row(IMAPITable *t, BOOKMARK origin,
					     LONG count, LONG *sought)
{
	table *tb = tb_of(t);
	long long base, to;

	if (origin == BOOKMARK_BEGINNING)
		base = 0;
	else if (origin == BOOKMARK_CURRENT)
		base = (long long)tb->pos;
	else if (origin == BOOKMARK_END)
		base = (long long)tb->nrows;
	else
		return MAPI_E_INVALID_BOOKMARK;
	to = base + count;
	if (to < 0)
		to = 0;
	if (to > (long long)tb->nrows)
		to = (long long)tb->nrows;
	if (sought)
		*sought = (LONG)(to - base);
	tb->pos = (size_t)to;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_seek_row_approx(IMAPITable *t, ULONG num,
						    ULONG den)
{
	table *tb = tb_of(t);

	if (!den)
		return MAPI_E_INVALID_PARAMETER;
	tb->pos = (size_t)((unsigned long long)tb->nrows * num / den);
	if (tb->pos > tb->nrows)
		tb->pos = tb->nrows;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_query_position(IMAPITable *t, ULONG *row,
						   ULONG *num, ULONG *den)
{
	table *tb = tb_of(t);

	if (row)
		*row = (ULONG)tb->pos;
	if (num)
		*num = (ULONG)tb->pos;
	if (den)
		*den = (ULONG)tb->nrows;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_find_row(IMAPITable *t,
					     LPSRestriction r, BOOKMARK b,
					     ULONG flags)
{
	(void)t;
	(void)r;
	(void)b;
	(void)flags;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_restrict(IMAPITable *t, LPSRestriction r,
					     ULONG flags)
{
	(void)t;
	(void)r;
	(void)flags;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_create_bookmark(IMAPITable *t,
						    BOOKMARK *b)
{
	(void)t;
	(void)b;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_free_bookmark(IMAPITable *t, BOOKMARK b)
{
	(void)t;
	(void)b;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_sort_table(IMAPITable *t,
					       LPSSortOrderSet s, ULONG flags)
{
	(void)t;
	(void)s;
	(void)flags;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_query_sort_order(IMAPITable *t,
						     LPSSortOrderSet *s)
{
	(void)t;
	(void)s;
	return MAPI_E_NO_SUPPORT;
}

/* One cell: the row's prop with the column's id, in the column's type
 * (a PT_UNICODE string is served as PT_STRING8 when asked); PT_ERROR
 * MAPI_E_NOT_FOUND otherwise. */
static void cell(const ps_proplist *row, ULONG col, SPropValue *out,
		 void *root)
{
	ULONG type = PROP_TYPE(col);
	size_t i;

	for (i = 0; i < row->n; i++) {
		const ps_prop *p = &row->v[i];
		int n;

		if (PROP_ID(p->tag) != PROP_ID(col))
			continue;
		if (type == PT_UNSPECIFIED || PROP_TYPE(p->tag) == type) {
			if (!ps_mapiprop_decode(p, out, fm_alloc_more, root))
				return;
			break;
		}
		if (type != PT_STRING8 || PROP_TYPE(p->tag) != PT_UNICODE ||
		    p->len % 2 || p->len < 2)
			continue;
		n = WideCharToMultiByte(CP_ACP, 0, (LPCWCH)(void *)p->data,
					(int)(p->len / 2), NULL, 0, NULL,
					NULL);
		out->ulPropTag = col;
		out->Value.lpszA = n > 0 ? fm_alloc_more(root, (size_t)n) :
				   NULL;
		if (!out->Value.lpszA)
			break;
		WideCharToMultiByte(CP_ACP, 0, (LPCWCH)(void *)p->data,
				    (int)(p->len / 2), out->Value.lpszA, n,
				    NULL, NULL);
		return;
	}
	out->ulPropTag = PROP_TAG(PT_ERROR, PROP_ID(col));
	out->Value.err = MAPI_E_NOT_FOUND;
}

static HRESULT STDMETHODCALLTYPE tb_query_rows(IMAPITable *t, LONG count,
					       ULONG flags, LPSRowSet *out)
{
	table *tb = tb_of(t);
	LPSRowSet rows = NULL;
	size_t k, i;
	ULONG c;

	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	*out = NULL;
	if (count < 0)
		return MAPI_E_NO_SUPPORT;
	k = tb->nrows - tb->pos;
	if ((size_t)count < k)
		k = (size_t)count;
	if (MAPIAllocateBuffer((ULONG)(offsetof(SRowSet, aRow) +
				       (k + 1) * sizeof(SRow)),
			       (LPVOID *)&rows) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	rows->cRows = 0;
	for (i = 0; i < k; i++) {
		SPropValue *vals = NULL;

		if (MAPIAllocateBuffer((ULONG)(sizeof(SPropValue) *
					       (tb->ncols + 1)),
				       (LPVOID *)&vals) != S_OK)
			goto oom;
		for (c = 0; c < tb->ncols; c++)
			cell(&tb->rows[tb->pos + i], tb->cols[c], &vals[c],
			     vals);
		rows->aRow[i].cValues = tb->ncols;
		rows->aRow[i].lpProps = vals;
		rows->cRows++;
	}
	if (!(flags & TBL_NOADVANCE))
		tb->pos += k;
	*out = rows;
	return S_OK;
oom:
	for (i = 0; i < rows->cRows; i++)
		MAPIFreeBuffer(rows->aRow[i].lpProps);
	MAPIFreeBuffer(rows);
	return MAPI_E_NOT_ENOUGH_MEMORY;
}

static HRESULT STDMETHODCALLTYPE tb_abort(IMAPITable *t)
{
	(void)t;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_expand_row(IMAPITable *t, ULONG cb,
					       LPBYTE key, ULONG count,
					       ULONG flags, LPSRowSet *rows,
					       ULONG *more)
{
	(void)t;
	(void)cb;
	(void)key;
	(void)count;
	(void)flags;
	(void)rows;
	(void)more;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_collapse_row(IMAPITable *t, ULONG cb,
						 LPBYTE key, ULONG flags,
						 ULONG *count)
{
	(void)t;
	(void)cb;
	(void)key;
	(void)flags;
	(void)count;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_wait(IMAPITable *t, ULONG flags,
					 ULONG timeout, ULONG *status)
{
	(void)t;
	(void)flags;
	(void)timeout;
	if (status)
		*status = TBLSTAT_COMPLETE;
	return S_OK;
}

static HRESULT STDMETHODCALLTYPE tb_get_collapse(IMAPITable *t, ULONG flags,
						 ULONG cb, LPBYTE key,
						 ULONG *cbstate,
						 LPBYTE *state)
{
	(void)t;
	(void)flags;
	(void)cb;
	(void)key;
	(void)cbstate;
	(void)state;
	return MAPI_E_NO_SUPPORT;
}

static HRESULT STDMETHODCALLTYPE tb_set_collapse(IMAPITable *t, ULONG flags,
						 ULONG cb, LPBYTE state,
						 BOOKMARK *where)
{
	(void)t;
	(void)flags;
	(void)cb;
	(void)state;
	(void)where;
	return MAPI_E_NO_SUPPORT;
}

static const IMAPITableVtbl table_vtbl = {
	tb_qi, tb_addref, tb_release,
	tb_get_last_error, tb_advise, tb_unadvise, tb_get_status,
	tb_set_columns, tb_query_columns, tb_get_row_count, tb_seek_row,
	tb_seek_row_approx, tb_query_position, tb_find_row, tb_restrict,
	tb_create_bookmark, tb_free_bookmark, tb_sort_table,
	tb_query_sort_order, tb_query_rows, tb_abort, tb_expand_row,
	tb_collapse_row, tb_wait, tb_get_collapse, tb_set_collapse,
};

HRESULT fm_table_new(ps_proplist *rows, size_t nrows, const ULONG *cols,
		     ULONG ncols, ULONG flags, LPMAPITABLE *out)
{
	table *tb = calloc(1, sizeof(*tb));
	ULONG i;
	size_t r;

	if (tb)
		tb->cols = malloc((ncols + 1) * sizeof(*tb->cols));
	if (!tb || !tb->cols) {
		for (r = 0; r < nrows; r++)
			ps_proplist_free(&rows[r]);
		free(rows);
		if (tb)
			free(tb);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	/* Default columns: strings in the width the caller asked for. */
	for (i = 0; i < ncols; i++) {
		ULONG c = cols[i];

		if (PROP_TYPE(c) == PT_UNICODE && !(flags & MAPI_UNICODE))
			c = PROP_TAG(PT_STRING8, PROP_ID(c));
		tb->cols[i] = c;
	}
	tb->ncols = ncols;
	tb->iface.lpVtbl = (IMAPITableVtbl *)&table_vtbl;
	tb->refs = 1;
	tb->rows = rows;
	tb->nrows = nrows;
	fm_object_born();
	*out = &tb->iface;
	return S_OK;
}
