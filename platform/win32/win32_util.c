/*
 * UTF-8 <-> UTF-16 for Win32 calls, and Windows error messages.
 */
#include <windows.h>

#include <stdarg.h>
#include <stdlib.h>

#include "ps_win32.h"
#include "../../core/ps_buf.h"
#include "../../core/ps_error.h"

wchar_t *ps_win32_wide(const char *utf8)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1,
				    NULL, 0);
	wchar_t *w;

	if (n <= 0) {
		ps_error_setc(PS_EFORMAT, "not valid UTF-8: %.80s", utf8);
		return NULL;
	}
	w = malloc((size_t)n * sizeof(*w));
	if (!w) {
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n);
	return w;
}

char *ps_win32_utf8(const wchar_t *wide)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, NULL, 0, NULL,
				    NULL);
	char *s;

	if (n <= 0) {
		ps_error_setc(PS_EFORMAT, "not valid UTF-16");
		return NULL;
	}
	s = malloc((size_t)n);
	if (!s) {
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	WideCharToMultiByte(CP_UTF8, 0, wide, -1, s, n, NULL, NULL);
	return s;
}

int ps_win32_error(int code, unsigned long winerr, const char *fmt, ...)
{
	char what[768];
	wchar_t *msg = NULL;
	char *text = NULL;
	va_list ap;
	DWORD n;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER |
			   FORMAT_MESSAGE_FROM_SYSTEM |
			   FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)winerr,
			   0, (LPWSTR)&msg, 0, NULL);
	if (n && msg) {
		/* No trailing CR LF or period. */
		while (n && (msg[n - 1] == L'\r' || msg[n - 1] == L'\n' ||
			     msg[n - 1] == L' ' || msg[n - 1] == L'.'))
			msg[--n] = 0;
		text = ps_win32_utf8(msg);
	}
	if (msg)
		LocalFree(msg);
	if (text)
		ps_error_setc(code, "%s: %s (error %lu)", what, text, winerr);
	else
		ps_error_setc(code, "%s: Windows error %lu", what, winerr);
	free(text);
	return code;
}
