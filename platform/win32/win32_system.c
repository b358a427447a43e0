/*
 * The system port on Windows (ps_system.h): files through CreateFileW
 * with UTF-8 paths, policies from HKCU (or from the fake store's export
 * with --store), Toolhelp process snapshots, WM_CLOSE to a client's
 * top-level windows, known folders, a named mutex per store, SHA-256
 * from BCrypt.
 */
#include <windows.h>
#include <bcrypt.h>
#include <knownfolders.h>
#include <shlobj.h>
#include <tlhelp32.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_win32.h"
#include "../../core/ps_buf.h"
#include "../../core/ps_error.h"
#include "../../core/ps_str.h"

typedef struct win_system {
	ps_system base;
	ps_win32_policy_fn policy; /* the fake store's export; NULL: HKCU */
	int record_only;        /* RunAfter recorded, not started */
	void *policy_ctx;
} win_system;

static win_system *ws_of(ps_system *s)
{
	return (win_system *)s;
}

void ps_win32_set_policy_source(ps_system *sys, ps_win32_policy_fn fn,
				void *ctx)
{
	ws_of(sys)->policy = fn;
	ws_of(sys)->policy_ctx = ctx;
}

/* ---- files --------------------------------------------------------------- */

/* Open an existing regular file for reading; never a reparse point
 * (symbolic link, junction) someone may have planted. */
static int open_regular(const char *path, HANDLE *out, uint64_t *size)
{
	wchar_t *w = ps_win32_wide(path);
	BY_HANDLE_FILE_INFORMATION info;
	HANDLE h;
	DWORD err;

	if (!w)
		return PS_EIO;
	h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
			NULL, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT,
			NULL);
	err = GetLastError();
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return ps_win32_error(err == ERROR_FILE_NOT_FOUND ||
				      err == ERROR_PATH_NOT_FOUND
				      ? PS_ENOTFOUND : PS_EIO, err,
				      "%s: cannot open", path);
	if (!GetFileInformationByHandle(h, &info) ||
	    GetFileType(h) != FILE_TYPE_DISK ||
	    (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY |
				      FILE_ATTRIBUTE_REPARSE_POINT))) {
		CloseHandle(h);
		return ps_error_setc(PS_EIO, "%s: not a regular file (a folder,"
				     " device or link)", path);
	}
	*size = (uint64_t)info.nFileSizeHigh << 32 | info.nFileSizeLow;
	*out = h;
	return 0;
}

static int read_exact(HANDLE h, const char *path, uint64_t off, void *buf,
		      size_t len)
{
	uint8_t *p = buf;

	while (len) {
		OVERLAPPED ov;
		DWORD want = len > 0x40000000u ? 0x40000000u : (DWORD)len;
		DWORD got = 0;

		memset(&ov, 0, sizeof(ov));
		ov.Offset = (DWORD)off;
		ov.OffsetHigh = (DWORD)(off >> 32);
		if (!ReadFile(h, p, want, &got, &ov)) {
			DWORD err = GetLastError();

			if (err != ERROR_HANDLE_EOF)
				return ps_win32_error(PS_EIO, err, "%s: read "
						      "failed", path);
		}
		if (!got)
			return ps_error_setc(PS_EIO, "%s: read failed: %zu "
					     "bytes at %llu are past the end",
					     path, len,
					     (unsigned long long)off);
		p += got;
		off += got;
		len -= got;
	}
	return 0;
}

static int ws_read_file(ps_system *sys, const char *path, size_t max,
			uint8_t **data, size_t *len)
{
	HANDLE h;
	uint64_t size;
	uint8_t *buf;
	int error;

	(void)sys;
	error = open_regular(path, &h, &size);
	if (error < 0)
		return error;
	if (size > max) {
		CloseHandle(h);
		return ps_error_setc(PS_ELIMIT, "%s: %llu bytes is more than "
				     "the %zu allowed", path,
				     (unsigned long long)size, max);
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		CloseHandle(h);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	error = read_exact(h, path, 0, buf, (size_t)size);
	CloseHandle(h);
	if (error < 0) {
		free(buf);
		return error;
	}
	buf[size] = 0;
	*data = buf;
	*len = (size_t)size;
	return 0;
}

static int write_all(HANDLE h, const char *path, const void *data,
		     size_t len)
{
	const uint8_t *p = data;

	while (len) {
		DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len;
		DWORD done = 0;

		if (!WriteFile(h, p, chunk, &done, NULL) || !done)
			return ps_win32_error(PS_EIO, GetLastError(), "%s: "
					      "write failed", path);
		p += done;
		len -= done;
	}
	return 0;
}

/* The folder part of a path ("" when none). */
static wchar_t *parent_of(const wchar_t *w)
{
	const wchar_t *s = wcsrchr(w, L'\\'), *f = wcsrchr(w, L'/');
	size_t n;
	wchar_t *p;

	if (f > s)
		s = f;
	n = s ? (size_t)(s - w) : 0;
	p = malloc((n + 1) * sizeof(*p));
	if (p) {
		memcpy(p, w, n * sizeof(*p));
		p[n] = 0;
	}
	return p;
}

/* Create the missing folders above a file (mode: the user's default). */
static void make_parents(const wchar_t *file)
{
	wchar_t *dir = parent_of(file);

	if (dir && *dir && GetFileAttributesW(dir) == INVALID_FILE_ATTRIBUTES)
		SHCreateDirectoryExW(NULL, dir, NULL);
	free(dir);
}

static int ws_write_file(ps_system *sys, const char *path, const void *data,
			 size_t len)
{
	wchar_t *w = ps_win32_wide(path), *tmp = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD attr;
	size_t n;
	int error = 0;

	(void)sys;
	if (!w)
		return PS_EIO;
	attr = GetFileAttributesW(w);
	if (attr != INVALID_FILE_ATTRIBUTES &&
	    (attr & FILE_ATTRIBUTE_REPARSE_POINT)) {
		free(w);
		return ps_error_setc(PS_EIO, "%s: is a link; refusing to "
				     "replace it", path);
	}
	make_parents(w);
	n = wcslen(w);
	tmp = malloc((n + 32) * sizeof(*tmp));
	if (!tmp) {
		free(w);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	/* Beside the file, so that the rename stays on one volume. */
	_snwprintf(tmp, n + 32, L"%ls.ps%lu.tmp", w, GetCurrentProcessId());
	h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
			FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		error = ps_win32_error(PS_EIO, GetLastError(), "%s: cannot "
				       "create a temporary file beside it",
				       path);
		goto done;
	}
	error = write_all(h, path, data, len);
	if (!error && !FlushFileBuffers(h))
		error = ps_win32_error(PS_EIO, GetLastError(), "%s: write "
				       "failed", path);
	CloseHandle(h);
	if (!error && !MoveFileExW(tmp, w, MOVEFILE_REPLACE_EXISTING |
				   MOVEFILE_WRITE_THROUGH))
		error = ps_win32_error(PS_EIO, GetLastError(), "%s: cannot "
				       "replace", path);
	if (error)
		DeleteFileW(tmp);
done:
	free(tmp);
	free(w);
	return error;
}

static int ws_append_file(ps_system *sys, const char *path, const void *data,
			  size_t len)
{
	wchar_t *w = ps_win32_wide(path);
	HANDLE h;
	int error;

	(void)sys;
	if (!w)
		return PS_EIO;
	make_parents(w);
	h = CreateFileW(w, FILE_APPEND_DATA, FILE_SHARE_READ |
			FILE_SHARE_WRITE, NULL, OPEN_ALWAYS,
			FILE_ATTRIBUTE_NORMAL, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return ps_win32_error(PS_EIO, GetLastError(), "%s: cannot "
				      "open for appending", path);
	error = write_all(h, path, data, len);
	CloseHandle(h);
	return error;
}

static int ws_delete_file(ps_system *sys, const char *path)
{
	wchar_t *w = ps_win32_wide(path);
	DWORD err;

	(void)sys;
	if (!w)
		return PS_EIO;
	if (DeleteFileW(w)) {
		free(w);
		return 0;
	}
	err = GetLastError();
	free(w);
	return ps_win32_error(err == ERROR_FILE_NOT_FOUND ||
			      err == ERROR_PATH_NOT_FOUND ? PS_ENOTFOUND
			      : PS_EIO, err, "%s: cannot delete", path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ws_list_dir(ps_system *sys, const char *path, ps_strlist *out)
{
	ps_buf pat = PS_BUF_INIT;
	ps_strlist l = PS_STRLIST_INIT;
	WIN32_FIND_DATAW fd;
	wchar_t *w;
	HANDLE h;
	int error = 0;

	(void)sys;
	ps_buf_printf(&pat, "%s\\*", path);
	if (ps_buf_check(&pat))
		return PS_ENOMEM;
	w = ps_win32_wide(pat.ptr);
	ps_buf_free(&pat);
	if (!w)
		return PS_EIO;
	h = FindFirstFileW(w, &fd);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		DWORD err = GetLastError();

		if (err == ERROR_FILE_NOT_FOUND) {
			*out = l;
			return 0;
		}
		return ps_win32_error(err == ERROR_PATH_NOT_FOUND
				      ? PS_ENOTFOUND : PS_EIO, err,
				      "%s: cannot list", path);
	}
	do {
		char *name;

		if (fd.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY |
					   FILE_ATTRIBUTE_REPARSE_POINT |
					   FILE_ATTRIBUTE_DEVICE))
			continue;
		name = ps_win32_utf8(fd.cFileName);
		if (!name || ps_strlist_take(&l, name) < 0) {
			free(name);
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			break;
		}
	} while (FindNextFileW(h, &fd));
	FindClose(h);
	if (error) {
		ps_strlist_free(&l);
		return error;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	*out = l;
	return 0;
}

typedef struct read_handle {
	HANDLE h;
	char *path;
} read_handle;

static int ws_open_read(ps_system *sys, const char *path, void **handle,
			uint64_t *size)
{
	read_handle *r;
	HANDLE h;
	int error;

	(void)sys;
	error = open_regular(path, &h, size);
	if (error < 0)
		return error;
	r = malloc(sizeof(*r));
	if (r)
		r->path = _strdup(path);
	if (!r || !r->path) {
		free(r);
		CloseHandle(h);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	r->h = h;
	*handle = r;
	return 0;
}

static int ws_read_at(ps_system *sys, void *handle, uint64_t off, void *buf,
		      size_t len)
{
	read_handle *r = handle;

	(void)sys;
	return read_exact(r->h, r->path, off, buf, len);
}

static void ws_close_read(ps_system *sys, void *handle)
{
	read_handle *r = handle;

	(void)sys;
	if (!r)
		return;
	CloseHandle(r->h);
	free(r->path);
	free(r);
}

/* ---- environment, names, time -------------------------------------------- */

static int64_t ws_now(ps_system *sys)
{
	(void)sys;
	return (int64_t)time(NULL);
}

static int ws_get_env(ps_system *sys, const char *name, char **out)
{
	wchar_t *w = ps_win32_wide(name), *v;
	DWORD n;

	(void)sys;
	if (!w)
		return PS_ENOTFOUND;
	n = GetEnvironmentVariableW(w, NULL, 0);
	if (!n) {
		free(w);
		return PS_ENOTFOUND;
	}
	v = malloc((size_t)n * sizeof(*v));
	if (!v) {
		free(w);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	GetEnvironmentVariableW(w, v, n);
	free(w);
	*out = ps_win32_utf8(v);
	free(v);
	return *out ? 0 : PS_ENOMEM;
}

static int ws_host_name(ps_system *sys, char **out)
{
	wchar_t name[256];
	DWORD n = 256;

	(void)sys;
	if (!GetComputerNameExW(ComputerNameDnsHostname, name, &n) &&
	    (n = MAX_COMPUTERNAME_LENGTH + 1, !GetComputerNameW(name, &n)))
		return ps_win32_error(PS_ERROR, GetLastError(), "host name");
	*out = ps_win32_utf8(name);
	return *out ? 0 : PS_ENOMEM;
}

static int ws_user_name(ps_system *sys, char **out)
{
	wchar_t name[257];
	DWORD n = 257;

	(void)sys;
	if (!GetUserNameW(name, &n))
		return ps_win32_error(PS_ERROR, GetLastError(), "user name");
	*out = ps_win32_utf8(name);
	return *out ? 0 : PS_ENOMEM;
}

static void ws_sleep(ps_system *sys, unsigned seconds)
{
	(void)sys;
	Sleep(seconds * 1000u);
}

/* ---- processes ------------------------------------------------------------ */

/* Calls fn for every process of this session; stops when fn returns 1. */
static int each_process(int (*fn)(void *ctx, const PROCESSENTRY32W *pe),
			void *ctx)
{
	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
	PROCESSENTRY32W pe;
	DWORD mine = 0, theirs;

	if (snap == INVALID_HANDLE_VALUE)
		return ps_win32_error(PS_ERROR, GetLastError(), "process "
				      "snapshot");
	ProcessIdToSessionId(GetCurrentProcessId(), &mine);
	pe.dwSize = sizeof(pe);
	if (Process32FirstW(snap, &pe)) {
		do {
			/* The current user's session only. */
			if (ProcessIdToSessionId(pe.th32ProcessID, &theirs) &&
			    theirs != mine)
				continue;
			if (fn(ctx, &pe))
				break;
		} while (Process32NextW(snap, &pe));
	}
	CloseHandle(snap);
	return 0;
}

static int add_name(void *ctx, const PROCESSENTRY32W *pe)
{
	char *name = ps_win32_utf8(pe->szExeFile);

	if (name)
		ps_strlist_take(ctx, name);
	return 0;
}

static int ws_list_processes(ps_system *sys, ps_strlist *out)
{
	ps_strlist l = PS_STRLIST_INIT;
	int error;

	(void)sys;
	error = each_process(add_name, &l);
	if (error < 0) {
		ps_strlist_free(&l);
		return error;
	}
	*out = l;
	return 0;
}

typedef struct closing {
	const char *name;
	DWORD pid;
	int found, asked;
} closing;

static BOOL CALLBACK close_window(HWND hwnd, LPARAM lp)
{
	closing *c = (closing *)lp;
	DWORD pid = 0;

	GetWindowThreadProcessId(hwnd, &pid);
	if (pid == c->pid && GetWindow(hwnd, GW_OWNER) == NULL) {
		/* Asked, never killed: Outlook closes itself cleanly. */
		PostMessageW(hwnd, WM_CLOSE, 0, 0);
		c->asked = 1;
	}
	return TRUE;
}

static int close_matching(void *ctx, const PROCESSENTRY32W *pe)
{
	closing *c = ctx;
	char *name = ps_win32_utf8(pe->szExeFile);

	if (name && !ps_strcasecmp(name, c->name)) {
		c->found = 1;
		c->pid = pe->th32ProcessID;
		EnumWindows(close_window, (LPARAM)c);
	}
	free(name);
	return 0;
}

static int ws_close_process(ps_system *sys, const char *name)
{
	closing c;
	int error;

	(void)sys;
	memset(&c, 0, sizeof(c));
	c.name = name;
	error = each_process(close_matching, &c);
	if (error < 0)
		return error;
	if (!c.found)
		return ps_error_setc(PS_ENOTFOUND, "%s is not running", name);
	return 0;
}

void ps_win32_set_record_only(ps_system *sys)
{
	ws_of(sys)->record_only = 1;
}

static int ws_start_process(ps_system *sys, const char *command, char **how)
{
	wchar_t *w;
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;

	if (ws_of(sys)->record_only) {
		*how = _strdup("recorded, not executed (fake store)");
		return *how ? 0 : PS_ENOMEM;
	}
	w = ps_win32_wide(command);
	if (!w)
		return PS_EFORMAT;
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (!CreateProcessW(NULL, w, NULL, NULL, FALSE, CREATE_NO_WINDOW |
			    DETACHED_PROCESS, NULL, NULL, &si, &pi)) {
		DWORD err = GetLastError();

		free(w);
		return ps_win32_error(PS_ERROR, err, "cannot start '%s'",
				      command);
	}
	free(w);
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	*how = _strdup("started");
	return *how ? 0 : PS_ENOMEM;
}

/* ---- policies ------------------------------------------------------------- */

static int ws_get_policy(ps_system *sys, const char *key, const char *value,
			 uint32_t *type, uint8_t **data, size_t *len)
{
	win_system *ws = ws_of(sys);
	wchar_t *wk, *wv;
	DWORD t = 0, size = 0;
	LSTATUS st;
	uint8_t *buf;

	if (ws->policy)
		return ws->policy(ws->policy_ctx, key, value, type, data, len);
	wk = ps_win32_wide(key);
	wv = ps_win32_wide(value);
	if (!wk || !wv) {
		free(wk);
		free(wv);
		return PS_ENOTFOUND;
	}
	/* Raw data, as the registry holds it (REG_SZ stays UTF-16LE). */
	st = RegGetValueW(HKEY_CURRENT_USER, wk, wv, RRF_RT_ANY |
			  RRF_NOEXPAND, &t, NULL, &size);
	buf = st == ERROR_SUCCESS ? malloc(size + 2) : NULL;
	if (buf)
		st = RegGetValueW(HKEY_CURRENT_USER, wk, wv, RRF_RT_ANY |
				  RRF_NOEXPAND, &t, buf, &size);
	free(wk);
	free(wv);
	if (st != ERROR_SUCCESS || !buf) {
		free(buf);
		if (st == ERROR_FILE_NOT_FOUND)
			return PS_ENOTFOUND;
		return st == ERROR_SUCCESS
		       ? ps_error_setc(PS_ENOMEM, "out of memory")
		       : ps_win32_error(PS_ERROR, (unsigned long)st,
					"policy %s\\%s", key, value);
	}
	buf[size] = buf[size + 1] = 0;
	*type = t;
	*data = buf;
	*len = size;
	return 0;
}

/* ---- single instance -------------------------------------------------------- */

static int ws_lock(ps_system *sys, const char *key, void **token)
{
	wchar_t name[64];
	uint64_t h = 1469598103934665603ULL;
	const char *c;
	HANDLE m;

	(void)sys;
	/* One writer per store for this user: a session mutex named after
	 * the key (a path may not appear in a mutex name). */
	for (c = key; *c; c++) {
		h ^= (uint64_t)(unsigned char)ps_tolower((unsigned char)*c);
		h *= 1099511628211ULL;
	}
	_snwprintf(name, 64, L"Local\\profswitch-%016llx",
		   (unsigned long long)h);
	m = CreateMutexW(NULL, FALSE, name);
	if (!m)
		return ps_win32_error(PS_EIO, GetLastError(), "lock for %s",
				      key);
	/* WAIT_ABANDONED: a run that died held it; it is ours now. */
	if (WaitForSingleObject(m, 0) == WAIT_TIMEOUT) {
		CloseHandle(m);
		return ps_error_setc(PS_ELOCKED, "%s: another profswitch is "
				     "working on it", key);
	}
	*token = m;
	return 0;
}

static void ws_unlock(ps_system *sys, void *token)
{
	(void)sys;
	if (!token)
		return;
	ReleaseMutex(token);
	CloseHandle(token);
}

/* ---- folders ---------------------------------------------------------------- */

static int ws_known_folder(ps_system *sys, const char *name, char **out)
{
	PWSTR path = NULL;
	HRESULT hr;

	(void)sys;
	if (ps_strcasecmp(name, "LocalAppData"))
		return ps_error_setc(PS_ENOTFOUND, "%s: no such known folder "
				     "here (only LocalAppData)", name);
	hr = SHGetKnownFolderPath(&FOLDERID_LocalAppData, 0, NULL, &path);
	if (FAILED(hr)) {
		CoTaskMemFree(path);
		return ps_win32_error(PS_ENOTFOUND, (unsigned long)hr,
				      "known folder %s", name);
	}
	*out = ps_win32_utf8(path);
	CoTaskMemFree(path);
	return *out ? 0 : PS_ENOMEM;
}

static int ws_local_log_dir(ps_system *sys, char **out)
{
	char *base = NULL;
	ps_buf b = PS_BUF_INIT;
	wchar_t *w;
	int error = ws_known_folder(sys, "LocalAppData", &base);

	if (error < 0)
		return error;
	ps_buf_printf(&b, "%s\\profswitch\\logs", base);
	free(base);
	if (ps_buf_check(&b))
		return PS_ENOMEM;
	w = ps_win32_wide(b.ptr);
	if (w)
		SHCreateDirectoryExW(NULL, w, NULL);
	free(w);
	*out = ps_buf_detach(&b);
	return *out ? 0 : PS_ENOMEM;
}

/* ---- hashing ------------------------------------------------------------------- */

static int ws_sha256(ps_system *sys, const void *data, size_t len,
		     uint8_t out[32])
{
	BCRYPT_ALG_HANDLE alg = NULL;
	BCRYPT_HASH_HANDLE hash = NULL;
	const uint8_t *p = data;
	NTSTATUS st;

	(void)sys;
	st = BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL,
					 0);
	if (st >= 0)
		st = BCryptCreateHash(alg, &hash, NULL, 0, NULL, 0, 0);
	while (st >= 0 && len) {
		ULONG chunk = len > 0x40000000u ? 0x40000000u : (ULONG)len;

		st = BCryptHashData(hash, (PUCHAR)p, chunk, 0);
		p += chunk;
		len -= chunk;
	}
	if (st >= 0)
		st = BCryptFinishHash(hash, out, 32, 0);
	if (hash)
		BCryptDestroyHash(hash);
	if (alg)
		BCryptCloseAlgorithmProvider(alg, 0);
	return st >= 0 ? 0 : ps_error_setc(PS_ERROR, "SHA-256 (BCrypt) "
					   "failed: 0x%08lx",
					   (unsigned long)st);
}

static void ws_free(ps_system *sys)
{
	free(sys);
}

/* ---- version 6 ------------------------------------------------ */

/* Reports and logs: the mode is POSIX's; a file here gets the ACL it
 * inherits from its folder (docs/deploying.md). */
static int ws_write_file_mode(ps_system *sys, const char *path,
			      const void *data, size_t len, unsigned mode)
{
	(void)mode;
	return ws_write_file(sys, path, data, len);
}

static int ws_append_file_mode(ps_system *sys, const char *path,
			       const void *data, size_t len, unsigned mode)
{
	(void)mode;
	return ws_append_file(sys, path, data, len);
}

/* The folder of profswitch(w).exe: GetModuleFileNameW without the last
 * component. */
static int ws_exe_dir(ps_system *sys, char **out)
{
	static const DWORD max = 32768;
	wchar_t *w = malloc(max * sizeof(*w)), *slash;
	DWORD n;

	(void)sys;
	if (!w)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	n = GetModuleFileNameW(NULL, w, max);
	slash = n > 0 && n < max ? wcsrchr(w, L'\\') : NULL;
	if (!slash) {
		free(w);
		return ps_error_setc(PS_ENOTFOUND, "the folder of the "
				     "executable is not known");
	}
	*slash = L'\0';
	*out = ps_win32_utf8(w);
	free(w);
	return *out ? 0 : ps_error_setc(PS_ENOMEM, "out of memory");
}

static const ps_system_ops win_ops = {
	PS_SYSTEM_OPS_VERSION,
	ws_read_file,
	ws_write_file,
	ws_append_file,
	ws_now,
	ws_get_env,
	ws_host_name,
	ws_user_name,
	ws_list_processes,
	ws_get_policy,
	ws_free,
	ws_sleep,
	ws_close_process,
	ws_lock,
	ws_unlock,
	ws_start_process,
	ws_local_log_dir,
	ws_known_folder,
	ws_list_dir,
	ws_delete_file,
	ws_sha256,
	ws_open_read,
	ws_read_at,
	ws_close_read,
	ws_write_file_mode,
	ws_append_file_mode,
	ws_exe_dir,
};

int ps_win32_system_new(ps_system **out)
{
	win_system *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	ws->base.ops = &win_ops;
	*out = &ws->base;
	return 0;
}
