#include "ps_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ps_buf_grow(ps_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return PS_ENOMEM;
	if (extra > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->ptr, cap);
	if (!p)
		goto fail;
	b->ptr = p;
	b->cap = cap;
	return 0;
fail:
	b->oom = 1;
	return ps_error_setc(PS_ENOMEM, "out of memory");
}

int ps_buf_put(ps_buf *b, const void *data, size_t len)
{
	if (ps_buf_grow(b, len) < 0)
		return PS_ENOMEM;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int ps_buf_puts(ps_buf *b, const char *s)
{
	return ps_buf_put(b, s, strlen(s));
}

int ps_buf_putc(ps_buf *b, int c)
{
	char ch = (char)c;

	return ps_buf_put(b, &ch, 1);
}

int ps_buf_printf(ps_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ps_error_set("bad format string");
	if (ps_buf_grow(b, (size_t)n) < 0)
		return PS_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int ps_buf_check(const ps_buf *b)
{
	return b->oom ? PS_ENOMEM : 0;
}

void ps_buf_clear(ps_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *ps_buf_detach(ps_buf *b)
{
	char *p;

	if (b->oom)
		return NULL;
	if (!b->ptr && ps_buf_grow(b, 0) < 0)
		return NULL;
	p = b->ptr;
	b->ptr[b->len] = '\0';
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void ps_buf_free(ps_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}
