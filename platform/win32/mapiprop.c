/*
 * SPropValue <-> registry encoding (ps_mapiprop.h).
 */
#include "ps_mapiprop.h"

#include <mapicode.h>
#include <mapitags.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/ps_error.h"

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Size of a fixed-size type's encoding, 0 for the others. */
static size_t fixed_size(ULONG type)
{
	switch (type) {
	case PT_I2:
	case PT_BOOLEAN:
		return 2;
	case PT_LONG:
	case PT_R4:
	case PT_ERROR:
		return 4;
	case PT_DOUBLE:
	case PT_APPTIME:
	case PT_CURRENCY:
	case PT_I8:
	case PT_SYSTIME:
		return 8;
	case PT_CLSID:
		return 16;
	default:
		return 0;
	}
}

int ps_mapiprop_supported(ULONG tag)
{
	ULONG type = PROP_TYPE(tag);

	return fixed_size(type) || type == PT_STRING8 ||
	       type == PT_UNICODE || type == PT_BINARY ||
	       type == PT_MV_STRING8 || type == PT_MV_UNICODE ||
	       type == PT_MV_BINARY;
}

static size_t wlen(const WCHAR *w)
{
	size_t n = 0;

	while (w[n])
		n++;
	return n;
}

static int put_wide(ps_buf *out, const WCHAR *w)
{
	size_t n = wlen(w) + 1, i;
	uint8_t u[2];
	int error = ps_buf_grow(out, n * 2);

	for (i = 0; !error && i < n; i++) {
		put_le(u, w[i], 2);
		error = ps_buf_put(out, u, 2);
	}
	return error;
}

/* One element of a multi-valued property. */
static int put_element(ps_buf *out, ULONG type, const SPropValue *v,
		       ULONG i)
{
	switch (type) {
	case PT_MV_STRING8:
		return ps_buf_put(out, v->Value.MVszA.lppszA[i],
				  strlen(v->Value.MVszA.lppszA[i]) + 1);
	case PT_MV_UNICODE:
		return put_wide(out, v->Value.MVszW.lppszW[i]);
	default:
		return ps_buf_put(out, v->Value.MVbin.lpbin[i].lpb,
				  v->Value.MVbin.lpbin[i].cb);
	}
}

/* The layout real profiles hold (core/ps_prop.h): u32 count, then per
 * value a u64 offset (strings) or a u64 length and a u64 offset (binary),
 * offsets from the value's start, then the values in order. */
static int encode_mv(const SPropValue *v, ULONG type, ps_buf *out)
{
	ULONG n = v->Value.MVbin.cValues, i; /* same layout for all three */
	size_t head = out->len, entry = type == PT_MV_BINARY ? 16 : 8, pos;
	uint8_t u[16];
	int error;

	for (i = 0; i < n; i++) {
		const void *elem = type == PT_MV_STRING8 ?
			(const void *)v->Value.MVszA.lppszA[i] :
			type == PT_MV_UNICODE ?
			(const void *)v->Value.MVszW.lppszW[i] :
			(const void *)v->Value.MVbin.lpbin[i].lpb;

		if (!elem && (type != PT_MV_BINARY ||
			      v->Value.MVbin.lpbin[i].cb))
			return ps_error_setc(PS_EFORMAT, "property %08lx: "
				"value %lu of %lu is NULL",
				(unsigned long)v->ulPropTag,
				(unsigned long)i, (unsigned long)n);
	}
	put_le(u, n, 4);
	error = ps_buf_put(out, u, 4);
	/* Offsets are filled in once the values are in place. */
	memset(u, 0, sizeof(u));
	for (i = 0; !error && i < n; i++)
		error = ps_buf_put(out, u, entry);
	for (i = 0; !error && i < n; i++) {
		uint8_t *slot;

		pos = out->len - head;
		error = put_element(out, type, v, i);
		if (error)
			break;
		slot = (uint8_t *)out->ptr + head + 4 + entry * (size_t)i;
		if (type == PT_MV_BINARY) {
			put_le(slot, v->Value.MVbin.lpbin[i].cb, 8);
			slot += 8;
		}
		put_le(slot, pos, 8);
	}
	return error;
}

int ps_mapiprop_encode(const SPropValue *v, ps_buf *out)
{
	ULONG type = PROP_TYPE(v->ulPropTag);
	size_t size = fixed_size(type);
	uint8_t fixed[16];

	if (size) {
		switch (type) {
		case PT_I2:
			put_le(fixed, (uint16_t)v->Value.i, 2);
			break;
		case PT_BOOLEAN:
			put_le(fixed, v->Value.b, 2);
			break;
		case PT_LONG:
			put_le(fixed, v->Value.ul, 4);
			break;
		case PT_ERROR:
			put_le(fixed, (uint32_t)v->Value.err, 4);
			break;
		case PT_R4:
			memcpy(fixed, &v->Value.flt, 4);
			break;
		case PT_DOUBLE:
		case PT_APPTIME:
			memcpy(fixed, &v->Value.dbl, 8);
			break;
		case PT_CLSID:
			if (!v->Value.lpguid)
				return ps_error_setc(PS_EFORMAT, "property "
					"%08lx: NULL GUID",
					(unsigned long)v->ulPropTag);
			memcpy(fixed, v->Value.lpguid, 16);
			break;
		default: /* PT_CURRENCY, PT_I8, PT_SYSTIME: 64 bits */
			put_le(fixed, (uint64_t)v->Value.li.QuadPart, 8);
			break;
		}
		return ps_buf_put(out, fixed, size);
	}
	switch (type) {
	case PT_STRING8:
		if (!v->Value.lpszA)
			break;
		return ps_buf_put(out, v->Value.lpszA,
				  strlen(v->Value.lpszA) + 1);
	case PT_UNICODE:
		if (!v->Value.lpszW)
			break;
		return put_wide(out, v->Value.lpszW);
	case PT_BINARY:
		if (!v->Value.bin.lpb && v->Value.bin.cb)
			break;
		return ps_buf_put(out, v->Value.bin.lpb, v->Value.bin.cb);
	case PT_MV_STRING8:
	case PT_MV_UNICODE:
	case PT_MV_BINARY:
		if (!v->Value.MVbin.lpbin && v->Value.MVbin.cValues)
			break;
		return encode_mv(v, type, out);
	default:
		return ps_error_setc(PS_EFORMAT, "property %08lx: type %04lx "
			"is not one profswitch converts",
			(unsigned long)v->ulPropTag, (unsigned long)type);
	}
	return ps_error_setc(PS_EFORMAT, "property %08lx: NULL value",
			     (unsigned long)v->ulPropTag);
}

int ps_mapiprop_to_list(const SPropValue *v, ps_proplist *l)
{
	ps_buf b = PS_BUF_INIT;
	int error = ps_mapiprop_encode(v, &b);

	if (!error)
		error = ps_proplist_set(l, v->ulPropTag, b.ptr, b.len);
	ps_buf_free(&b);
	return error;
}

/* ---- decoding ---- */

static int bad(const ps_prop *p, const char *why)
{
	char name[9];

	ps_prop_name(p->tag, name);
	return ps_error_setc(PS_EFORMAT, "property %s (%zu bytes): %s", name,
			     p->len, why);
}

/* A string element: exactly one terminating NUL (byte or unit). */
static int string_ok(const uint8_t *d, size_t len, int wide)
{
	size_t unit = wide ? 2 : 1, i;

	if (len < unit || len % unit)
		return 0;
	for (i = 0; i + unit < len; i += unit)
		if (!d[i] && (!wide || !d[i + 1]))
			return 0;
	return !d[len - unit] && (!wide || !d[len - 1]);
}

static void *copy_out(ps_mapiprop_alloc alloc, void *ctx, const void *src,
		      size_t len)
{
	void *m = alloc(ctx, len ? len : 1);

	if (m && len)
		memcpy(m, src, len);
	return m;
}

static WCHAR *wide_out(ps_mapiprop_alloc alloc, void *ctx,
		       const uint8_t *src, size_t len)
{
	WCHAR *w = alloc(ctx, len);
	size_t i;

	for (i = 0; w && i < len / 2; i++)
		w[i] = (WCHAR)get_le(src + 2 * i, 2);
	return w;
}

static int decode_mv(const ps_prop *p, SPropValue *out, ULONG type,
		     ps_mapiprop_alloc alloc, void *ctx)
{
	const uint8_t *d;
	size_t n, i, len;
	void **elems = NULL;
	SBinary *bins = NULL;

	if (ps_prop_mv_count(p, &n) < 0)
		return bad(p, "not in the multi-valued layout (count, "
			   "offsets, values)");
	if (type == PT_MV_BINARY) {
		bins = n ? alloc(ctx, n * sizeof(*bins)) : NULL;
		if (n && !bins)
			return ps_error_setc(PS_ENOMEM, "out of memory");
	} else if (n) {
		elems = alloc(ctx, n * sizeof(*elems));
		if (!elems)
			return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		if (ps_prop_mv_elem(p, i, &d, &len) < 0)
			return bad(p, "value offsets out of range");
		if (type == PT_MV_BINARY) {
			bins[i].cb = (ULONG)len;
			bins[i].lpb = copy_out(alloc, ctx, d, len);
			if (!bins[i].lpb)
				return ps_error_setc(PS_ENOMEM,
						     "out of memory");
			continue;
		}
		/* Strings: the element and its NUL (one or two bytes). */
		len += type == PT_MV_UNICODE ? 2 : 1;
		if (!string_ok(d, len, type == PT_MV_UNICODE))
			return bad(p, "a value is not one NUL-terminated "
				   "string");
		elems[i] = type == PT_MV_UNICODE ?
			(void *)wide_out(alloc, ctx, d, len) :
			copy_out(alloc, ctx, d, len);
		if (!elems[i])
			return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	out->Value.MVbin.cValues = (ULONG)n;
	if (type == PT_MV_BINARY)
		out->Value.MVbin.lpbin = bins;
	else if (type == PT_MV_STRING8)
		out->Value.MVszA.lppszA = (LPSTR *)elems;
	else
		out->Value.MVszW.lppszW = (LPWSTR *)elems;
	return 0;
}

int ps_mapiprop_decode(const ps_prop *p, SPropValue *out,
		       ps_mapiprop_alloc alloc, void *ctx)
{
	ULONG type = PROP_TYPE(p->tag);
	size_t size = fixed_size(type);
	const uint8_t *d = p->data;
	SPropValue v;
	int error;

	memset(&v, 0, sizeof(v));
	v.ulPropTag = p->tag;
	if (size) {
		if (p->len != size)
			return bad(p, "wrong size for its type");
		switch (type) {
		case PT_I2:
			v.Value.i = (short)(uint16_t)get_le(d, 2);
			break;
		case PT_BOOLEAN:
			v.Value.b = (unsigned short)get_le(d, 2);
			break;
		case PT_LONG:
			v.Value.ul = (ULONG)get_le(d, 4);
			break;
		case PT_ERROR:
			v.Value.err = (SCODE)(uint32_t)get_le(d, 4);
			break;
		case PT_R4:
			memcpy(&v.Value.flt, d, 4);
			break;
		case PT_DOUBLE:
		case PT_APPTIME:
			memcpy(&v.Value.dbl, d, 8);
			break;
		case PT_CLSID:
			v.Value.lpguid = copy_out(alloc, ctx, d, 16);
			if (!v.Value.lpguid)
				return ps_error_setc(PS_ENOMEM,
						     "out of memory");
			break;
		default:
			v.Value.li.QuadPart = (LONGLONG)get_le(d, 8);
			break;
		}
		*out = v;
		return 0;
	}
	switch (type) {
	case PT_STRING8:
		if (!string_ok(d, p->len, 0))
			return bad(p, "not one NUL-terminated string");
		v.Value.lpszA = copy_out(alloc, ctx, d, p->len);
		if (!v.Value.lpszA)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		break;
	case PT_UNICODE:
		if (!string_ok(d, p->len, 1))
			return bad(p, "not one NUL-terminated UTF-16 string");
		v.Value.lpszW = wide_out(alloc, ctx, d, p->len);
		if (!v.Value.lpszW)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		break;
	case PT_BINARY:
		if (p->len > 0xFFFFFFFFu)
			return bad(p, "larger than 4 GiB");
		v.Value.bin.cb = (ULONG)p->len;
		v.Value.bin.lpb = copy_out(alloc, ctx, d, p->len);
		if (!v.Value.bin.lpb)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		break;
	case PT_MV_STRING8:
	case PT_MV_UNICODE:
	case PT_MV_BINARY:
		error = decode_mv(p, &v, type, alloc, ctx);
		if (error)
			return error;
		break;
	default:
		return bad(p, "type not converted by profswitch");
	}
	*out = v;
	return 0;
}

/* ---- error names ---- */

#define NAME(c) { (HRESULT)(c), #c }
static const struct {
	HRESULT hr;
	const char *name;
} mapi_names[] = {
	NAME(MAPI_E_CALL_FAILED), NAME(MAPI_E_NOT_ENOUGH_MEMORY),
	NAME(MAPI_E_INVALID_PARAMETER), NAME(MAPI_E_INTERFACE_NOT_SUPPORTED),
	NAME(MAPI_E_NO_ACCESS), NAME(MAPI_E_NO_SUPPORT),
	NAME(MAPI_E_BAD_CHARWIDTH), NAME(MAPI_E_STRING_TOO_LONG),
	NAME(MAPI_E_UNKNOWN_FLAGS), NAME(MAPI_E_INVALID_ENTRYID),
	NAME(MAPI_E_INVALID_OBJECT), NAME(MAPI_E_OBJECT_CHANGED),
	NAME(MAPI_E_OBJECT_DELETED), NAME(MAPI_E_BUSY),
	NAME(MAPI_E_NOT_ENOUGH_DISK), NAME(MAPI_E_NOT_ENOUGH_RESOURCES),
	NAME(MAPI_E_NOT_FOUND), NAME(MAPI_E_VERSION),
	NAME(MAPI_E_LOGON_FAILED), NAME(MAPI_E_SESSION_LIMIT),
	NAME(MAPI_E_USER_CANCEL), NAME(MAPI_E_UNABLE_TO_ABORT),
	NAME(MAPI_E_NETWORK_ERROR), NAME(MAPI_E_DISK_ERROR),
	NAME(MAPI_E_TOO_COMPLEX), NAME(MAPI_E_BAD_COLUMN),
	NAME(MAPI_E_EXTENDED_ERROR), NAME(MAPI_E_COMPUTED),
	NAME(MAPI_E_CORRUPT_DATA), NAME(MAPI_E_UNCONFIGURED),
	NAME(MAPI_E_FAILONEPROVIDER), NAME(MAPI_E_UNKNOWN_CPID),
	NAME(MAPI_E_UNKNOWN_LCID), NAME(MAPI_E_END_OF_SESSION),
	NAME(MAPI_E_UNKNOWN_ENTRYID), NAME(MAPI_E_MISSING_REQUIRED_COLUMN),
	NAME(MAPI_W_NO_SERVICE), NAME(MAPI_E_BAD_VALUE),
	NAME(MAPI_E_INVALID_TYPE), NAME(MAPI_E_TYPE_NO_SUPPORT),
	NAME(MAPI_E_UNEXPECTED_TYPE), NAME(MAPI_E_TOO_BIG),
	NAME(MAPI_E_DECLINE_COPY), NAME(MAPI_E_UNEXPECTED_ID),
	NAME(MAPI_W_ERRORS_RETURNED), NAME(MAPI_E_UNABLE_TO_COMPLETE),
	NAME(MAPI_E_TIMEOUT), NAME(MAPI_E_TABLE_EMPTY),
	NAME(MAPI_E_TABLE_TOO_BIG), NAME(MAPI_E_INVALID_BOOKMARK),
	NAME(MAPI_W_POSITION_CHANGED), NAME(MAPI_W_APPROX_COUNT),
	NAME(MAPI_E_WAIT), NAME(MAPI_E_CANCEL), NAME(MAPI_E_NOT_ME),
	NAME(MAPI_E_CORRUPT_STORE), NAME(MAPI_E_NOT_IN_QUEUE),
	NAME(MAPI_E_NO_SUPPRESS), NAME(MAPI_E_COLLISION),
	NAME(MAPI_E_NOT_INITIALIZED), NAME(MAPI_E_NON_STANDARD),
	NAME(MAPI_E_NO_RECIPIENTS), NAME(MAPI_E_SUBMITTED),
	NAME(MAPI_E_HAS_FOLDERS), NAME(MAPI_E_HAS_MESSAGES),
	NAME(MAPI_E_FOLDER_CYCLE), NAME(MAPI_W_PARTIAL_COMPLETION),
	NAME(MAPI_E_AMBIGUOUS_RECIP), NAME(E_POINTER), NAME(E_UNEXPECTED),
};
#undef NAME

const char *ps_mapi_error_name(HRESULT hr)
{
	size_t i;

	for (i = 0; i < sizeof(mapi_names) / sizeof(mapi_names[0]); i++)
		if (mapi_names[i].hr == hr)
			return mapi_names[i].name;
	return NULL;
}
