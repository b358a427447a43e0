#include "ps_error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char ps_errmsg[1024];

static void ps_error_vset(const char *fmt, va_list ap) PS_PRINTF(1, 0);

static void ps_error_vset(const char *fmt, va_list ap)
{
	vsnprintf(ps_errmsg, sizeof(ps_errmsg), fmt, ap);
}

int ps_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_error_vset(fmt, ap);
	va_end(ap);
	return PS_ERROR;
}

int ps_error_setc(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_error_vset(fmt, ap);
	va_end(ap);
	return code;
}

const char *ps_error_last(void)
{
	return ps_errmsg;
}

void ps_error_clear(void)
{
	ps_errmsg[0] = '\0';
}
