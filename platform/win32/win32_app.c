/*
 * The app environment of the Windows build (ps_app.h): no --store is the
 * real MAPI profile store; --store PATH is a `.reg` export through the
 * fake store, exactly as on Linux, with its policies from the export.
 */
#include <windows.h>
#include <io.h>

#include <stdlib.h>
#include <string.h>

#include "ps_win32.h"
#include "../../core/ps_app.h"
#include "../../core/ps_buf.h"
#include "../../core/ps_error.h"
#include "../../core/ps_str.h"
#include "../../fakemapi/ps_fakestore.h"

static int env_open_store(void *ctx, const char *path, ps_store **out)
{
	ps_system *sys = ctx;
	int error;

	if (!path)
		return ps_win32_mapi_open(sys, out);
	error = ps_fakestore_open(out, sys, path);
	if (error == 0) {
		ps_win32_set_policy_source(sys, ps_fakestore_get_policy, *out);
		ps_win32_set_record_only(sys);
	}
	return error;
}

static int env_writable_by(void *ctx, const char *path, char **who)
{
	(void)ctx;
	return ps_win32_writable_by(path, who);
}

static int env_open_http(void *ctx, const char *ca_file, ps_http **out)
{
	(void)ctx;
	return ps_win32_http_new(ca_file, out);
}

static int env_open_xml(void *ctx, ps_xml **out)
{
	(void)ctx;
	return ps_win32_xml_new(out);
}

/* ---- fleet: the report files under a folder ---------------------------- */

/* Folders deeper than this are not searched (as on Linux). */
#define MAX_DEPTH 32
#define MAX_REPORTS 1000000u

typedef struct found {
	ps_strlist paths;
	int64_t *times;
	size_t cap;
	ps_strlist *problems;
} found;

static int is_report_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && !ps_strcasecmp(name + n - 4, ".csv")) ||
	       (n > 5 && !ps_strcasecmp(name + n - 5, ".json"));
}

/* FILETIME (100 ns since 1601) to seconds since 1970. */
static int64_t unix_time(FILETIME ft)
{
	uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;

	return (int64_t)(t / 10000000u) - 11644473600LL;
}

static int problem(found *f, const char *path, const char *why)
{
	if (ps_strlist_add(f->problems, path) < 0 ||
	    ps_strlist_add(f->problems, why) < 0)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	return 0;
}

static int add_found(found *f, char *path, int64_t t)
{
	if (f->paths.n >= MAX_REPORTS) {
		free(path);
		return ps_error_setc(PS_ELIMIT, "more than %u reports",
				     MAX_REPORTS);
	}
	if (f->paths.n >= f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		int64_t *v = realloc(f->times, cap * sizeof(*v));

		if (!v) {
			free(path);
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		f->times = v;
		f->cap = cap;
	}
	f->times[f->paths.n] = t;
	return ps_strlist_take(&f->paths, path);
}

static int walk(found *f, const char *dir, int depth)
{
	ps_buf pat = PS_BUF_INIT;
	WIN32_FIND_DATAW fd;
	wchar_t *w;
	HANDLE h;
	int error = 0;

	if (depth > MAX_DEPTH)
		return problem(f, dir, "folder more than 32 levels deep: not "
			       "searched");
	ps_buf_printf(&pat, "%s\\*", dir);
	if (ps_buf_check(&pat))
		return ps_error_setc(PS_ENOMEM, "out of memory");
	w = ps_win32_wide(pat.ptr);
	ps_buf_free(&pat);
	if (!w)
		return PS_EIO;
	h = FindFirstFileW(w, &fd);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		DWORD err = GetLastError();

		if (err == ERROR_FILE_NOT_FOUND)
			return 0;
		if (!depth)
			return ps_win32_error(err == ERROR_PATH_NOT_FOUND
					      ? PS_ENOTFOUND : PS_EIO, err,
					      "%s: cannot open the folder",
					      dir);
		ps_win32_error(PS_EIO, err, "cannot open the folder");
		return problem(f, dir, ps_error_last());
	}
	do {
		char *name = ps_win32_utf8(fd.cFileName), *path;
		ps_buf p = PS_BUF_INIT;

		if (!name) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			break;
		}
		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    (fd.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT |
					    FILE_ATTRIBUTE_DEVICE))) {
			free(name);
			continue;
		}
		ps_buf_printf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '\\'
			      || dir[strlen(dir) - 1] == '/' ? "" : "\\",
			      name);
		path = ps_buf_check(&p) ? NULL : ps_buf_detach(&p);
		ps_buf_free(&p);
		if (!path) {
			free(name);
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			break;
		}
		if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
			error = walk(f, path, depth + 1);
			free(path);
		} else if (is_report_name(name)) {
			error = add_found(f, path,
					  unix_time(fd.ftLastWriteTime));
		} else {
			free(path);
		}
		free(name);
	} while (!error && FindNextFileW(h, &fd));
	FindClose(h);
	return error;
}

typedef struct timed {
	char *path;
	int64_t time;
} timed;

static int cmp_timed(const void *a, const void *b)
{
	return strcmp(((const timed *)a)->path, ((const timed *)b)->path);
}

static int env_list_reports(void *ctx, const char *path, ps_strlist *out,
			    int64_t **mtimes, ps_strlist *problems)
{
	WIN32_FILE_ATTRIBUTE_DATA a;
	wchar_t *w = ps_win32_wide(path);
	found f;
	timed *t = NULL;
	size_t i;
	int error, is_dir;

	(void)ctx;
	*mtimes = NULL;
	if (!w)
		return PS_EIO;
	is_dir = GetFileAttributesExW(w, GetFileExInfoStandard, &a) &&
		 (a.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) &&
		 !(a.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT);
	if (!is_dir) {
		int have = GetFileAttributesExW(w, GetFileExInfoStandard, &a);

		free(w);
		*mtimes = calloc(1, sizeof(**mtimes));
		if (!*mtimes || ps_strlist_add(out, path) < 0) {
			free(*mtimes);
			*mtimes = NULL;
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		if (have)
			(*mtimes)[0] = unix_time(a.ftLastWriteTime);
		return 0;
	}
	free(w);
	memset(&f, 0, sizeof(f));
	f.problems = problems;
	error = walk(&f, path, 0);
	if (!error && f.paths.n && !(t = calloc(f.paths.n, sizeof(*t))))
		error = ps_error_setc(PS_ENOMEM, "out of memory");
	if (error) {
		ps_strlist_free(&f.paths);
		free(f.times);
		return error;
	}
	for (i = 0; i < f.paths.n; i++) {
		t[i].path = f.paths.v[i];
		t[i].time = f.times[i];
	}
	if (f.paths.n)
		qsort(t, f.paths.n, sizeof(*t), cmp_timed);
	for (i = 0; i < f.paths.n; i++) {
		f.paths.v[i] = t[i].path;
		f.times[i] = t[i].time;
	}
	free(t);
	*out = f.paths;
	*mtimes = f.times;
	return 0;
}

static int env_is_terminal(void *ctx, FILE *f)
{
	DWORD mode;
	HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));

	(void)ctx;
	return h != INVALID_HANDLE_VALUE && GetConsoleMode(h, &mode);
}

void ps_win32_app_env(struct ps_app_env *env, ps_system *sys, FILE *out,
		      FILE *err)
{
	memset(env, 0, sizeof(*env));
	env->sys = sys;
	env->open_store = env_open_store;
	env->own_store = 1;
	env->ini_beside_exe = 1;
	env->open_http = env_open_http;
	env->open_xml = env_open_xml;
	env->writable_by = env_writable_by;
	env->list_reports = env_list_reports;
	env->is_terminal = env_is_terminal;
	env->ctx = sys;
	env->out = out;
	env->err = err;
}
