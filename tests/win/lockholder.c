/*
 * The other profswitch of the Locked= scenarios under Wine: it takes the
 * store's single-instance lock through the Windows build's own system
 * port (the session mutex), says so, and holds it until it is killed:
 *
 *   lockholder.exe --key KEY --ready PATH
 *
 * KEY: what profswitch locks, the --store argument as given, or
 * PS_APP_MAPI_STORE on MAPI (--mapi instead of --key).  PATH: a file
 * made once the lock is held.
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "../../core/ps_app.h"
#include "../../core/ps_error.h"
#include "../../platform/win32/ps_win32.h"

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
	ps_system *sys = NULL;
	const wchar_t *ready = NULL;
	char *key = NULL;
	void *token = NULL;
	HANDLE f;
	int i;

	for (i = 1; i < argc; i++) {
		if (!wcscmp(argv[i], L"--mapi") && !key) {
			key = _strdup(PS_APP_MAPI_STORE);
		} else if (i + 1 < argc && !wcscmp(argv[i], L"--key") &&
			   !key) {
			key = ps_win32_utf8(argv[++i]);
		} else if (i + 1 < argc && !wcscmp(argv[i], L"--ready")) {
			ready = argv[++i];
		} else {
			fputs("usage: lockholder (--key KEY | --mapi) "
			      "--ready PATH\n", stderr);
			return 2;
		}
	}
	if (!key || !ready) {
		fputs("usage: lockholder (--key KEY | --mapi) --ready PATH\n",
		      stderr);
		return 2;
	}
	if (ps_win32_system_new(&sys) < 0 ||
	    ps_sys_lock(sys, key, &token) < 0) {
		fprintf(stderr, "lockholder: %s\n", ps_error_last());
		return 1;
	}
	f = CreateFileW(ready, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
			FILE_ATTRIBUTE_NORMAL, NULL);
	if (f == INVALID_HANDLE_VALUE) {
		fprintf(stderr, "lockholder: cannot create the ready file "
			"(error %lu)\n", (unsigned long)GetLastError());
		return 1;
	}
	CloseHandle(f);
	Sleep(INFINITE);
	return 0;
}
