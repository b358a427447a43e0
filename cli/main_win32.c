/*
 * profswitch.exe and profswitchw.exe (PS_GUI: the Windows subsystem, so a
 * logon script shows no console window): the core over real MAPI and the
 * Win32 adapters (platform/win32).  Arguments arrive as UTF-16 and are
 * handed to the core as UTF-8; the console prints UTF-8.
 */
#include <windows.h>
#include <shellapi.h>

#include <stdio.h>
#include <stdlib.h>

#include "ps_app.h"
#include "ps_win32.h"

static int run(int argc, wchar_t **wargv)
{
	ps_system *sys = NULL;
	ps_app_env env;
	char **argv;
	FILE *out = stdout, *err = stderr;
	int i, status;

	argv = calloc((size_t)argc + 1, sizeof(*argv));
	if (!argv)
		return 70;
	for (i = 0; i < argc; i++) {
		argv[i] = ps_win32_utf8(wargv[i]);
		if (!argv[i]) {
			fputs("profswitch: an argument is not valid UTF-16\n",
			      stderr);
			return 64;
		}
	}
#ifdef PS_GUI
	/* No console: what would be printed is dropped (the log and the
	 * report files are what a logon run leaves). */
	out = fopen("NUL", "w");
	err = fopen("NUL", "w");
	if (!out || !err)
		return 70;
#else
	SetConsoleOutputCP(CP_UTF8);
#endif
	if (ps_win32_system_new(&sys) < 0) {
		fputs("profswitch: out of memory\n", err);
		return 70;
	}
	ps_win32_app_env(&env, sys, out, err);
	status = ps_app_main(&env, argc, argv);
	fflush(out);
	fflush(err);
	ps_sys_free(sys);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return status;
}

#ifdef PS_GUI
int WINAPI wWinMain(HINSTANCE inst, HINSTANCE prev, PWSTR cmd, int show);

int WINAPI wWinMain(HINSTANCE inst, HINSTANCE prev, PWSTR cmd, int show)
{
	int argc = 0;
	wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &argc);

	(void)inst;
	(void)prev;
	(void)cmd;
	(void)show;
	if (!wargv)
		return 70;
	return run(argc, wargv);
}
#else
int wmain(int argc, wchar_t **wargv);

int wmain(int argc, wchar_t **wargv)
{
	return run(argc, wargv);
}
#endif
