/*
 * fakemapi.dll: the entry points (MAPIInitialize, MAPIAdminProfiles, the
 * MAPI memory functions), the store behind every object, the fault knob.
 *
 * Memory follows MAPI's rules: MAPIAllocateBuffer makes a root block,
 * MAPIAllocateMore links more blocks to a root, MAPIFreeBuffer on the
 * root frees the root and everything linked to it.
 */
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/ps_error.h"
#include "../ps_fakestore.h"
#include "ps_win32.h"

/* ---- memory ---- */

#define ROOT_MAGIC 0x544f4f52u /* "ROOT" */
#define MORE_MAGIC 0x45524f4du /* "MORE" */

typedef struct block {
	struct block *more;     /* root: first linked block; more: next */
	DWORD magic;
	DWORD pad;
} block;

/* 16-byte header keeps the caller's memory aligned for any type. */
#define HDR ((sizeof(block) + 15u) & ~(size_t)15u)

static CRITICAL_SECTION mem_lock, store_lock;

static block *block_of(void *p)
{
	return (block *)((char *)p - HDR);
}

SCODE WINAPI MAPIAllocateBuffer(ULONG cb, LPVOID *out)
{
	block *b;

	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	b = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, HDR + cb);
	if (!b) {
		*out = NULL;
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	b->magic = ROOT_MAGIC;
	*out = (char *)b + HDR;
	return S_OK;
}

SCODE WINAPI MAPIAllocateMore(ULONG cb, LPVOID root, LPVOID *out)
{
	block *r, *b;

	if (!out || !root)
		return MAPI_E_INVALID_PARAMETER;
	r = block_of(root);
	if (r->magic != ROOT_MAGIC)
		return MAPI_E_INVALID_PARAMETER;
	b = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, HDR + cb);
	if (!b) {
		*out = NULL;
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	b->magic = MORE_MAGIC;
	EnterCriticalSection(&mem_lock);
	b->more = r->more;
	r->more = b;
	LeaveCriticalSection(&mem_lock);
	*out = (char *)b + HDR;
	return S_OK;
}

ULONG WINAPI MAPIFreeBuffer(LPVOID p)
{
	block *r, *b, *next;

	if (!p)
		return S_OK;
	r = block_of(p);
	/* A linked block is freed with its root only. */
	if (r->magic != ROOT_MAGIC)
		return (ULONG)MAPI_E_INVALID_PARAMETER;
	for (b = r->more; b; b = next) {
		next = b->more;
		b->magic = 0;
		HeapFree(GetProcessHeap(), 0, b);
	}
	r->magic = 0;
	HeapFree(GetProcessHeap(), 0, r);
	return S_OK;
}

void *fm_alloc_more(void *root, size_t n)
{
	void *p = NULL;

	if (n > 0xFFFFFFF0u || MAPIAllocateMore((ULONG)n, root, &p) != S_OK)
		return NULL;
	return p;
}

/* ---- strings ---- */

WCHAR *fm_wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	WCHAR *w = n > 0 ? malloc((size_t)n * sizeof(*w)) : NULL;

	if (w)
		MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	return w;
}

char *fm_utf8(const WCHAR *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	char *s = n > 0 ? malloc((size_t)n) : NULL;

	if (s)
		WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
	return s;
}

char *fm_utf8_ansi(const char *a)
{
	int n = MultiByteToWideChar(CP_ACP, 0, a, -1, NULL, 0);
	WCHAR *w = n > 0 ? malloc((size_t)n * sizeof(*w)) : NULL;
	char *s;

	if (!w)
		return NULL;
	MultiByteToWideChar(CP_ACP, 0, a, -1, w, n);
	s = fm_utf8(w);
	free(w);
	return s;
}

/* ---- interface ids ---- */

#define MAPI_IID(l) { l, 0, 0, { 0xC0, 0, 0, 0, 0, 0, 0, 0x46 } }
const IID fm_IID_IUnknown = MAPI_IID(0x00000000);
const IID fm_IID_IMAPITable = MAPI_IID(0x00020301);
const IID fm_IID_IMAPIProp = MAPI_IID(0x00020303);
const IID fm_IID_IProfSect = MAPI_IID(0x00020304);
const IID fm_IID_IProfAdmin = MAPI_IID(0x0002031C);
const IID fm_IID_IMsgServiceAdmin = MAPI_IID(0x0002031D);

int fm_iid_is(REFIID a, const IID *b)
{
	return a && !memcmp(a, b, sizeof(*b));
}

/* ---- the store ---- */

static ps_store *store;
static ps_system *sys;   /* the Win32 system port: files for the store */
static LONG inits, objects;

ps_store *fm_store(void)
{
	return store;
}

void fm_lock(void)
{
	EnterCriticalSection(&store_lock);
}

void fm_unlock(void)
{
	LeaveCriticalSection(&store_lock);
}

static void debug(const char *what)
{
	if (GetEnvironmentVariableW(L"PROFSWITCH_FAKE_DEBUG", NULL, 0))
		fprintf(stderr, "fakemapi: %s: %s\n", what, ps_error_last());
}

HRESULT fm_hresult(int error)
{
	if (!error)
		return S_OK;
	debug("store");
	switch (error) {
	case PS_ENOTFOUND:
		return MAPI_E_NOT_FOUND;
	case PS_ENOMEM:
		return MAPI_E_NOT_ENOUGH_MEMORY;
	case PS_EFORMAT:
		return MAPI_E_CORRUPT_DATA;
	case PS_ELOCKED:
		return MAPI_E_BUSY;
	case PS_EIO:
		return MAPI_E_DISK_ERROR;
	default:
		return MAPI_E_CALL_FAILED;
	}
}

static void maybe_close(void)
{
	if (!inits && !objects && store) {
		ps_store_free(store);
		store = NULL;
		ps_sys_free(sys);
		sys = NULL;
	}
}

void fm_object_born(void)
{
	fm_lock();
	objects++;
	fm_unlock();
}

void fm_object_died(void)
{
	fm_lock();
	objects--;
	maybe_close();
	fm_unlock();
}

/* ---- fault knob ---- */

/* Calls are counted from the moment a call sees the knob's current
 * value; a call that sees it unset or changed starts the count again. */
static unsigned fault_calls;
static char fault_seen[64];

int fm_fault(const char *method)
{
	char spec[64], *colon;
	DWORD n = GetEnvironmentVariableA("PROFSWITCH_FAKE_FAIL", spec,
					  sizeof(spec));
	size_t mlen = strlen(method);
	unsigned long nth;

	if (!n || n >= sizeof(spec)) {
		fault_seen[0] = 0;
		return 0;
	}
	if (strcmp(spec, fault_seen)) {
		memcpy(fault_seen, spec, sizeof(spec));
		fault_calls = 0;
	}
	colon = strchr(spec, ':');
	if (!colon || (size_t)(colon - spec) != mlen ||
	    memcmp(spec, method, mlen))
		return 0;
	nth = strtoul(colon + 1, NULL, 10);
	return ++fault_calls == nth;
}

/* ---- entry points ---- */

HRESULT WINAPI MAPIInitialize(LPVOID init)
{
	WCHAR path[MAX_PATH * 2];
	DWORD n;
	char *p;
	int error;

	(void)init;
	fm_lock();
	if (store) {
		inits++;
		fm_unlock();
		return S_OK;
	}
	n = GetEnvironmentVariableW(L"PROFSWITCH_FAKE_STORE", path,
				    sizeof(path) / sizeof(path[0]));
	if (!n || n >= sizeof(path) / sizeof(path[0])) {
		fm_unlock();
		if (GetEnvironmentVariableW(L"PROFSWITCH_FAKE_DEBUG", NULL, 0))
			fprintf(stderr, "fakemapi: PROFSWITCH_FAKE_STORE is "
				"not set\n");
		return MAPI_E_NOT_INITIALIZED;
	}
	p = fm_utf8(path);
	error = p ? 0 : PS_ENOMEM;
	if (!error && !sys)
		error = ps_win32_system_new(&sys);
	if (!error)
		error = ps_fakestore_open(&store, sys, p);
	free(p);
	if (error) {
		store = NULL;
		debug("PROFSWITCH_FAKE_STORE");
		fm_unlock();
		return error == PS_ENOTFOUND ? MAPI_E_NOT_FOUND :
		       error == PS_EFORMAT ? MAPI_E_CORRUPT_DATA :
		       MAPI_E_CALL_FAILED;
	}
	inits++;
	fm_unlock();
	return S_OK;
}

void WINAPI MAPIUninitialize(void)
{
	fm_lock();
	if (inits > 0)
		inits--;
	maybe_close();
	fm_unlock();
}

HRESULT WINAPI MAPIAdminProfiles(ULONG flags, LPPROFADMIN *out)
{
	(void)flags;
	if (!out)
		return MAPI_E_INVALID_PARAMETER;
	*out = NULL;
	if (!store)
		return MAPI_E_NOT_INITIALIZED;
	return fm_profadmin_new(out);
}

HRESULT WINAPI MAPILogonEx(ULONG_PTR ui, LPTSTR profile, LPTSTR password,
			   ULONG flags, LPMAPISESSION *out)
{
	(void)ui;
	(void)profile;
	(void)password;
	(void)flags;
	if (out)
		*out = NULL;
	/* Sessions are not part of the fake: profile administration only. */
	return MAPI_E_LOGON_FAILED;
}

BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
	(void)dll;
	(void)reserved;
	if (reason == DLL_PROCESS_ATTACH) {
		InitializeCriticalSection(&mem_lock);
		InitializeCriticalSection(&store_lock);
	} else if (reason == DLL_PROCESS_DETACH && !reserved) {
		DeleteCriticalSection(&mem_lock);
		DeleteCriticalSection(&store_lock);
	}
	return TRUE;
}
