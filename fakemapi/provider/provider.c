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

/* ---- a minimal system port: what the fake store needs ---- */

static int sys_read_file(ps_system *sys, const char *path, size_t max,
			 uint8_t **data, size_t *len)
{
	WCHAR *w = fm_wide(path);
	HANDLE f;
	LARGE_INTEGER size;
	uint8_t *buf;
	DWORD got = 0;

	(void)sys;
	if (!w)
		return ps_error_setc(PS_EIO, "%s: bad path", path);
	f = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
			0, NULL);
	free(w);
	if (f == INVALID_HANDLE_VALUE)
		return ps_error_setc(GetLastError() == ERROR_FILE_NOT_FOUND ?
				     PS_ENOTFOUND : PS_EIO, "%s: cannot open "
				     "(Windows error %lu)", path,
				     (unsigned long)GetLastError());
	if (!GetFileSizeEx(f, &size) || size.QuadPart > (LONGLONG)max ||
	    size.QuadPart > 0x7FFFFFFF) {
		CloseHandle(f);
		return ps_error_setc(PS_ELIMIT, "%s: too large", path);
	}
	buf = malloc((size_t)size.QuadPart + 1);
	if (!buf || !ReadFile(f, buf, (DWORD)size.QuadPart, &got, NULL) ||
	    got != (DWORD)size.QuadPart) {
		free(buf);
		CloseHandle(f);
		return ps_error_setc(PS_EIO, "%s: read failed", path);
	}
	CloseHandle(f);
	buf[got] = 0;
	*data = buf;
	*len = got;
	return 0;
}

static int sys_write_file(ps_system *sys, const char *path, const void *data,
			  size_t len)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 16);
	WCHAR *w = fm_wide(path), *wt = NULL;
	HANDLE f = INVALID_HANDLE_VALUE;
	DWORD put = 0;
	int ok = 0;

	(void)sys;
	if (tmp) {
		memcpy(tmp, path, n);
		memcpy(tmp + n, ".fakemapi-tmp", 14);
		wt = fm_wide(tmp);
	}
	if (w && wt && len <= 0x7FFFFFFF)
		f = CreateFileW(wt, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
				FILE_ATTRIBUTE_NORMAL, NULL);
	if (f != INVALID_HANDLE_VALUE) {
		ok = WriteFile(f, data, (DWORD)len, &put, NULL) &&
		     put == (DWORD)len && FlushFileBuffers(f);
		CloseHandle(f);
		ok = ok && MoveFileExW(wt, w, MOVEFILE_REPLACE_EXISTING |
				       MOVEFILE_WRITE_THROUGH);
		if (!ok)
			DeleteFileW(wt);
	}
	free(tmp);
	free(w);
	free(wt);
	return ok ? 0 : ps_error_setc(PS_EIO, "%s: cannot write (Windows "
				      "error %lu)", path,
				      (unsigned long)GetLastError());
}

static int sys_append_file(ps_system *sys, const char *path,
			   const void *data, size_t len)
{
	(void)sys;
	(void)data;
	(void)len;
	return ps_error_setc(PS_EIO, "%s: not supported here", path);
}

static int64_t sys_now(ps_system *sys)
{
	FILETIME ft;
	ULARGE_INTEGER u;

	(void)sys;
	GetSystemTimeAsFileTime(&ft);
	u.LowPart = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	return (int64_t)(u.QuadPart / 10000000u) - 11644473600LL;
}

static int sys_get_env(ps_system *sys, const char *name, char **out)
{
	WCHAR *w = fm_wide(name), buf[4096];
	DWORD n;

	(void)sys;
	if (!w)
		return PS_ENOMEM;
	n = GetEnvironmentVariableW(w, buf, sizeof(buf) / sizeof(buf[0]));
	free(w);
	if (!n || n >= sizeof(buf) / sizeof(buf[0]))
		return PS_ENOTFOUND;
	*out = fm_utf8(buf);
	return *out ? 0 : PS_ENOMEM;
}

static int sys_no_name(ps_system *sys, char **out)
{
	(void)sys;
	(void)out;
	return PS_ENOTFOUND;
}

static const ps_system_ops mini_sys_ops = {
	1,
	sys_read_file,
	sys_write_file,
	sys_append_file,
	sys_now,
	sys_get_env,
	sys_no_name,
	sys_no_name,
	NULL,
	NULL,
	NULL,
	NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, NULL, NULL,
	NULL,
	NULL, NULL, NULL,
};

static ps_system mini_sys = { &mini_sys_ops };

/* ---- the store ---- */

static ps_store *store;
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

static unsigned fault_calls;

int fm_fault(const char *method)
{
	char spec[64], *colon;
	DWORD n = GetEnvironmentVariableA("PROFSWITCH_FAKE_FAIL", spec,
					  sizeof(spec));
	unsigned long nth;

	if (!n || n >= sizeof(spec))
		return 0;
	colon = strchr(spec, ':');
	if (!colon || (size_t)(colon - spec) != strlen(method) ||
	    memcmp(spec, method, strlen(method)))
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
	error = p ? ps_fakestore_open(&store, &mini_sys, p) : PS_ENOMEM;
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
