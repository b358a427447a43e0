/*
 * Growable byte buffer, always NUL-terminated after a successful put.
 * A failed allocation marks the buffer (oom) and every later put fails,
 * so a sequence of puts can be checked once at the end.
 */
#ifndef PS_BUF_H
#define PS_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "ps_error.h"

typedef struct ps_buf {
	char *ptr;
	size_t len;
	size_t cap;
	int oom;
} ps_buf;

#define PS_BUF_INIT { NULL, 0, 0, 0 }

int ps_buf_grow(ps_buf *b, size_t extra);
int ps_buf_put(ps_buf *b, const void *data, size_t len);
int ps_buf_puts(ps_buf *b, const char *s);
int ps_buf_putc(ps_buf *b, int c);
int ps_buf_printf(ps_buf *b, const char *fmt, ...) PS_PRINTF(2, 3);
/* PS_ENOMEM if any earlier put failed, else 0. */
int ps_buf_check(const ps_buf *b);
void ps_buf_clear(ps_buf *b);
/* Hand the storage to the caller (never NULL on success: "" for empty). */
char *ps_buf_detach(ps_buf *b);
void ps_buf_free(ps_buf *b);

#endif
