/*
 * UTF-8, UTF-16LE and Windows-1252 conversions.
 *
 * Every converter appends to a ps_buf and leaves it NUL-terminated (also
 * when it appended nothing).  On failure the buffer is restored
 * to the length it had on entry (the caller's earlier content stays), the
 * message says what was wrong and at which input byte, and the return is
 * PS_EFORMAT (bad input) or PS_ENOMEM.
 */
#include "ps_utf.h"

#include <string.h>

#include "ps_error.h"

/* Windows-1252 bytes 0x80..0x9F.  The five bytes the code page leaves
 * undefined map to the C1 control of the same value. */
static const uint16_t cp1252_high[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178
};

static void restore(ps_buf *b, size_t len)
{
	if (b->oom)
		return;
	b->len = len;
	if (b->ptr)
		b->ptr[len] = '\0';
}

/* Appends the UTF-8 form of a scalar value (not a surrogate). */
static int put_utf8(ps_buf *out, uint32_t cp)
{
	unsigned char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (unsigned char)(0xC0 | cp >> 6);
		s[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (unsigned char)(0xE0 | cp >> 12);
		s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		s[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		s[0] = (unsigned char)(0xF0 | cp >> 18);
		s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
		s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		s[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return ps_buf_put(out, s, n);
}

/*
 * Decodes one UTF-8 sequence at s[0..len).  Returns its length (1..4) and
 * stores the scalar value, or 0 when the bytes there are not well-formed
 * UTF-8 (overlong, surrogate, above U+10FFFF, truncated, stray byte).
 */
static size_t decode_utf8(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	uint32_t v;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;      /* overlong below U+0800 */
		else if (c == 0xED)
			hi = 0x9F;      /* U+D800..U+DFFF */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;      /* overlong below U+10000 */
		else if (c == 0xF4)
			hi = 0x8F;      /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	*cp = v;
	return n;
}

int ps_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		/* Mappings and exports are mostly ASCII. */
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = decode_utf8(p + i, len - i, &cp);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

char *ps_utf8_repair(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	ps_buf b = PS_BUF_INIT;
	uint32_t cp;

	while (i < len) {
		n = p[i] < 0x80 ? 1 : decode_utf8(p + i, len - i, &cp);
		if (n) {
			ps_buf_put(&b, p + i, n);
			i += n;
		} else {
			ps_buf_putc(&b, 0xC0 | p[i] >> 6);
			ps_buf_putc(&b, 0x80 | (p[i] & 0x3F));
			i++;
		}
	}
	return ps_buf_detach(&b);
}

const char *ps_utf8_safe(const char *s, char **copy)
{
	*copy = NULL;
	if (ps_utf8_valid(s, strlen(s)))
		return s;
	*copy = ps_utf8_repair(s);
	return *copy;
}

int ps_utf8_sanitize(ps_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = 0, run;
	uint32_t cp;

	if (ps_buf_grow(out, len) < 0)
		return PS_ENOMEM;
	while (i < len) {
		/* A run of printable ASCII or valid non-C1 characters is
		 * copied at once. */
		for (run = i; run < len; run += n) {
			if (p[run] >= 0x20 && p[run] < 0x7F) {
				n = 1;
				continue;
			}
			n = p[run] < 0x80 ? 0 : decode_utf8(p + run,
							     len - run, &cp);
			if (!n || cp <= 0x9F)
				break;
		}
		if (ps_buf_put(out, p + i, run - i) < 0)
			return PS_ENOMEM;
		if (run == len)
			break;
		/* One mark per control character (a C1 control is two
		 * bytes) or per byte of invalid UTF-8. */
		if (ps_buf_putc(out, PS_UTF8_CLEAN_MARK) < 0)
			return PS_ENOMEM;
		i = run + (n ? n : 1);
	}
	return ps_buf_put(out, "", 0);
}

char *ps_utf8_clean(const char *s)
{
	ps_buf b = PS_BUF_INIT;

	if (ps_utf8_sanitize(&b, s, strlen(s)) < 0) {
		ps_buf_free(&b);
		return NULL;
	}
	return ps_buf_detach(&b);
}

int ps_utf16le_to_utf8(ps_buf *out, const uint8_t *in, size_t nbytes)
{
	size_t start = out->len, i;
	uint32_t u, u2;
	int rc;

	if (nbytes % 2) {
		return ps_error_setc(PS_EFORMAT,
				     "invalid UTF-16: odd byte count %zu",
				     nbytes);
	}
	/* The most UTF-8 two bytes of UTF-16 can become is three. */
	if (nbytes > SIZE_MAX / 3 || ps_buf_grow(out, nbytes / 2 * 3) < 0)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; i < nbytes; i += 2) {
		u = (uint32_t)in[i] | (uint32_t)in[i + 1] << 8;
		/* ASCII straight into the room grown above, the common
		 * case of every export. */
		if (u < 0x80) {
			out->ptr[out->len++] = (char)u;
			continue;
		}
		if (u >= 0xDC00 && u <= 0xDFFF)
			goto unpaired;
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (i + 4 > nbytes)
				goto unpaired;
			u2 = (uint32_t)in[i + 2] | (uint32_t)in[i + 3] << 8;
			if (u2 < 0xDC00 || u2 > 0xDFFF)
				goto unpaired;
			u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
			i += 2;
		}
		rc = put_utf8(out, u);
		if (rc < 0)
			return rc;
	}
	return ps_buf_put(out, "", 0);
unpaired:
	restore(out, start);
	return ps_error_setc(PS_EFORMAT,
			     "invalid UTF-16: unpaired surrogate at byte %zu",
			     i);
}

static int put_unit(ps_buf *out, uint32_t u)
{
	unsigned char s[2];

	s[0] = (unsigned char)(u & 0xFF);
	s[1] = (unsigned char)(u >> 8);
	return ps_buf_put(out, s, 2);
}

int ps_utf8_to_utf16le(ps_buf *out, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t start = out->len, i = 0, n;
	uint32_t cp;
	int rc = 0;

	while (i < len) {
		n = decode_utf8(p + i, len - i, &cp);
		if (!n) {
			restore(out, start);
			return ps_error_setc(PS_EFORMAT,
					     "invalid UTF-8 at byte %zu", i);
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			rc = put_unit(out, 0xD800 | cp >> 10);
			if (!rc)
				rc = put_unit(out, 0xDC00 | (cp & 0x3FF));
		} else {
			rc = put_unit(out, cp);
		}
		if (rc < 0)
			return rc;
		i += n;
	}
	return ps_buf_put(out, "", 0);
}

int ps_cp1252_to_utf8(ps_buf *out, const uint8_t *in, size_t len)
{
	size_t i;
	uint32_t cp;
	int rc;

	if (ps_buf_grow(out, len) < 0)
		return PS_ENOMEM;
	for (i = 0; i < len; i++) {
		cp = in[i];
		if (cp >= 0x80 && cp <= 0x9F)
			cp = cp1252_high[cp - 0x80];
		rc = put_utf8(out, cp);
		if (rc < 0)
			return rc;
	}
	return ps_buf_put(out, "", 0);
}

/* The Windows-1252 byte for a scalar value, or -1 when there is none. */
static int cp1252_byte(uint32_t cp)
{
	int b;

	if (cp < 0x80 || (cp >= 0xA0 && cp <= 0xFF))
		return (int)cp;
	for (b = 0; b < 32; b++)
		if (cp1252_high[b] == cp)
			return 0x80 + b;
	return -1;
}

int ps_utf8_to_cp1252(ps_buf *out, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t start = out->len, i = 0, n;
	uint32_t cp;
	int b, rc;

	if (ps_buf_grow(out, len) < 0)
		return PS_ENOMEM;
	while (i < len) {
		n = decode_utf8(p + i, len - i, &cp);
		if (!n) {
			restore(out, start);
			return ps_error_setc(PS_EFORMAT,
					     "invalid UTF-8 at byte %zu", i);
		}
		b = cp1252_byte(cp);
		if (b < 0) {
			restore(out, start);
			return ps_error_setc(PS_EFORMAT,
					     "U+%04X at byte %zu has no "
					     "Windows-1252 character",
					     (unsigned)cp, i);
		}
		rc = ps_buf_putc(out, b);
		if (rc < 0)
			return rc;
		i += n;
	}
	return ps_buf_put(out, "", 0);
}

int ps_utf16le_to_cp1252(ps_buf *out, const uint8_t *in, size_t nbytes,
			 size_t *lost)
{
	size_t i, bad = 0;
	uint32_t u, u2;
	int b;

	if (ps_buf_grow(out, nbytes / 2 + 1) < 0)
		return PS_ENOMEM;
	for (i = 0; i + 1 < nbytes; i += 2) {
		u = (uint32_t)in[i] | (uint32_t)in[i + 1] << 8;
		if (!u)
			break;
		if (u >= 0xD800 && u <= 0xDBFF && i + 3 < nbytes) {
			u2 = (uint32_t)in[i + 2] | (uint32_t)in[i + 3] << 8;
			if (u2 >= 0xDC00 && u2 <= 0xDFFF)
				i += 2;
		}
		b = u >= 0xD800 && u <= 0xDFFF ? -1 : cp1252_byte(u);
		if (b < 0) {
			b = '?';
			bad++;
		}
		if (ps_buf_putc(out, b) < 0)
			return PS_ENOMEM;
	}
	if (lost)
		*lost = bad;
	return ps_buf_put(out, "", 0);
}
