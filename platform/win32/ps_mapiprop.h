/*
 * MAPI SPropValue <-> the store port's registry encoding of a value
 * (core/ps_prop.h).  Used by the real-MAPI adapter (win32_store.c) and by
 * the fake MAPI provider (fakemapi/provider/), so that a value read with
 * GetProps, carried through the core as bytes and written back with
 * SetProps is the same bytes the profile's registry value had.
 *
 * Single values: PT_I2 and PT_BOOLEAN 2 bytes, PT_LONG / PT_R4 / PT_ERROR
 * 4 bytes, PT_DOUBLE / PT_APPTIME / PT_CURRENCY / PT_I8 / PT_SYSTIME 8
 * bytes, all little-endian; PT_CLSID 16 bytes; PT_STRING8 the bytes and
 * one NUL; PT_UNICODE UTF-16LE and one NUL unit; PT_BINARY the bytes.
 *
 * Multi-valued PT_MV_STRING8, PT_MV_UNICODE, PT_MV_BINARY (the layout the
 * project's scenarios use, docs/windows-mapi.md; not yet checked against
 * a registry Outlook wrote): a 4-byte count N, N 4-byte offsets of the
 * values from the start of the value, then the values back to back
 * (strings each with their NUL).  Only the canonical form (first offset
 * 4 + 4N, each value right after the previous one, the last one ending
 * the data) is accepted, so that decoding and encoding again gives the
 * same bytes; anything else is PS_EFORMAT.
 */
#ifndef PS_MAPIPROP_H
#define PS_MAPIPROP_H

#include <windows.h>
#include <mapidefs.h>

#include "../../core/ps_buf.h"
#include "../../core/ps_prop.h"

/* Memory for a decoded SPropValue's pointers: MAPIAllocateMore on the
 * array's root in the provider, an arena in the adapter.  NULL when out
 * of memory. */
typedef void *(*ps_mapiprop_alloc)(void *ctx, size_t n);

/* 1 when the property type can be converted both ways. */
int ps_mapiprop_supported(ULONG tag);

/* Append the registry encoding of v to out.  PS_EFORMAT (message set)
 * for an unsupported type or a value that has no encoding (an MV string
 * array with a NULL entry, say); PS_ENOMEM. */
int ps_mapiprop_encode(const SPropValue *v, ps_buf *out);

/* Encode v into a new property of *l (replacing one with its tag). */
int ps_mapiprop_to_list(const SPropValue *v, ps_proplist *l);

/* Decode the registry value p into *out (ulPropTag = p->tag); every
 * pointer in *out comes from alloc.  PS_EFORMAT when the bytes are not
 * a value of the tag's type (odd UTF-16, no NUL, a NUL inside a string,
 * a non-canonical multi-valued layout, a wrong fixed size). */
int ps_mapiprop_decode(const ps_prop *p, SPropValue *out,
		       ps_mapiprop_alloc alloc, void *ctx);

/* "MAPI_E_NOT_FOUND" etc. for a MAPI/COM error code, else NULL. */
const char *ps_mapi_error_name(HRESULT hr);

#endif
