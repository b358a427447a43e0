#include "ps_str.h"

#include <stdlib.h>
#include <string.h>

#include "ps_error.h"

char *ps_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p) {
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *ps_strdup(const char *s)
{
	return ps_strndup(s, strlen(s));
}

int ps_tolower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int ps_strcasecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = ps_tolower((unsigned char)*a);
		int cb = ps_tolower((unsigned char)*b);

		if (ca != cb || !ca)
			return ca - cb;
	}
}

int ps_strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		int ca = ps_tolower((unsigned char)*a);
		int cb = ps_tolower((unsigned char)*b);

		if (ca != cb || !ca)
			return ca - cb;
	}
	return 0;
}

const char *ps_strcasestr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (!n)
		return hay;
	for (; *hay; hay++)
		if (!ps_strncasecmp(hay, needle, n))
			return hay;
	return NULL;
}

uint64_t ps_hash_nocase(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		h ^= (uint64_t)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		h *= 1099511628211ULL;
	}
	return h;
}

char *ps_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
		     s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

int ps_strlist_take(ps_strlist *l, char *s)
{
	if (!s)
		return PS_ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

int ps_strlist_add(ps_strlist *l, const char *s)
{
	return ps_strlist_take(l, ps_strdup(s));
}

int ps_strlist_contains_nocase(const ps_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!ps_strcasecmp(l->v[i], s))
			return 1;
	return 0;
}

void ps_strlist_free(ps_strlist *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ps_tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ps_uid_parse(ps_uid *out, const char *hex)
{
	size_t i;

	if (strlen(hex) != 32)
		return PS_EFORMAT;
	for (i = 0; i < 16; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hexval((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return PS_EFORMAT;
		out->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void ps_uid_format(const ps_uid *uid, char out[33])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 16; i++) {
		out[2 * i] = digits[uid->b[i] >> 4];
		out[2 * i + 1] = digits[uid->b[i] & 15];
	}
	out[32] = '\0';
}

int ps_uid_equal(const ps_uid *a, const ps_uid *b)
{
	return !memcmp(a->b, b->b, 16);
}
