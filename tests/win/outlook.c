/*
 * A stand-in outlook.exe for the Wine scenarios: a top-level window that,
 * asked to close (WM_CLOSE, as profswitch asks), closes or refuses:
 *
 *   outlook.exe [--refuse] [--exit-after SECONDS] [--ready PATH]
 *
 * --ready PATH (last): a file made once the window exists.
 * --refuse: WM_CLOSE is ignored (a modal dialog would do that in the real
 * Outlook); --exit-after: it quits by itself after that long.
 */
#include <windows.h>

#include <stdlib.h>
#include <wchar.h>

static int refuse;

static LRESULT CALLBACK wndproc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
	switch (msg) {
	case WM_CLOSE:
		if (refuse)
			return 0;
		DestroyWindow(hwnd);
		return 0;
	case WM_TIMER:
		DestroyWindow(hwnd);
		return 0;
	case WM_DESTROY:
		PostQuitMessage(0);
		return 0;
	default:
		return DefWindowProcW(hwnd, msg, wp, lp);
	}
}

int WINAPI wWinMain(HINSTANCE inst, HINSTANCE prev, PWSTR cmd, int show);

int WINAPI wWinMain(HINSTANCE inst, HINSTANCE prev, PWSTR cmd, int show)
{
	WNDCLASSW wc;
	HWND hwnd;
	MSG m;
	long exit_after = -1;
	wchar_t *arg;

	(void)prev;
	(void)show;
	if (wcsstr(cmd, L"--refuse"))
		refuse = 1;
	arg = wcsstr(cmd, L"--exit-after");
	if (arg)
		exit_after = wcstol(arg + 12, NULL, 10);
	ZeroMemory(&wc, sizeof(wc));
	wc.lpfnWndProc = wndproc;
	wc.hInstance = inst;
	wc.lpszClassName = L"rctrl_renwnd32";   /* Outlook's main window */
	if (!RegisterClassW(&wc))
		return 1;
	hwnd = CreateWindowW(wc.lpszClassName, L"Inbox - Outlook",
			     WS_OVERLAPPEDWINDOW, 0, 0, 320, 200, NULL, NULL,
			     inst, NULL);
	if (!hwnd)
		return 1;
	if (exit_after >= 0)
		SetTimer(hwnd, 1, (UINT)exit_after * 1000u, NULL);
	/* --ready PATH (last argument): the window exists; the harness
	 * waits for this file before it runs profswitch. */
	arg = wcsstr(cmd, L"--ready ");
	if (arg) {
		HANDLE f = CreateFileW(arg + 8, GENERIC_WRITE, 0, NULL,
				       CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL,
				       NULL);

		if (f != INVALID_HANDLE_VALUE)
			CloseHandle(f);
	}
	while (GetMessageW(&m, NULL, 0, 0) > 0) {
		TranslateMessage(&m);
		DispatchMessageW(&m);
	}
	return 0;
}
