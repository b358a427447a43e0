#include "ps_prop.h"

#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_utf.h"

static int prop_fill(ps_prop *p, uint32_t tag, const void *data, size_t len)
{
	uint8_t *copy = malloc(len + 1);

	if (!copy)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	if (len)
		memcpy(copy, data, len);
	copy[len] = 0;
	p->tag = tag;
	p->len = len;
	p->data = copy;
	return 0;
}

int ps_proplist_set(ps_proplist *l, uint32_t tag, const void *data,
		    size_t len)
{
	ps_prop *old = ps_proplist_get(l, tag);
	ps_prop fresh;

	if (prop_fill(&fresh, tag, data, len) < 0)
		return PS_ENOMEM;
	if (old) {
		free(old->data);
		*old = fresh;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		ps_prop *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(fresh.data);
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = fresh;
	return 0;
}

ps_prop *ps_proplist_get(const ps_proplist *l, uint32_t tag)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].tag == tag)
			return &l->v[i];
	return NULL;
}

ps_prop *ps_proplist_get_id(const ps_proplist *l, uint16_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (PS_PROP_ID(l->v[i].tag) == id &&
		    PS_PROP_IS_STRING(l->v[i].tag))
			return &l->v[i];
	return NULL;
}

int ps_proplist_remove(ps_proplist *l, uint32_t tag)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].tag != tag)
			continue;
		free(l->v[i].data);
		memmove(&l->v[i], &l->v[i + 1],
			(l->n - i - 1) * sizeof(l->v[0]));
		l->n--;
		return 0;
	}
	return PS_ENOTFOUND;
}

int ps_proplist_copy(ps_proplist *dst, const ps_proplist *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (ps_proplist_set(dst, src->v[i].tag, src->v[i].data,
				    src->v[i].len) < 0)
			return PS_ENOMEM;
	return 0;
}

void ps_proplist_free(ps_proplist *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].data);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

int ps_prop_string(const ps_prop *p, char **out)
{
	ps_buf b = PS_BUF_INIT;
	size_t len = p->len;
	int error;

	if (PS_PROP_TYPE(p->tag) == PS_PT_STRING8) {
		while (len && p->data[len - 1] == 0)
			len--;
		error = ps_cp1252_to_utf8(&b, p->data, len);
	} else if (PS_PROP_TYPE(p->tag) == PS_PT_UNICODE) {
		if (len % 2)
			return ps_error_setc(PS_EFORMAT,
				"property %08x: odd UTF-16 length %zu",
				(unsigned)p->tag, len);
		while (len >= 2 && !p->data[len - 1] && !p->data[len - 2])
			len -= 2;
		error = ps_utf16le_to_utf8(&b, p->data, len);
	} else {
		return ps_error_setc(PS_EFORMAT,
			"property %08x is not a string", (unsigned)p->tag);
	}
	if (error < 0) {
		ps_buf_free(&b);
		return error;
	}
	*out = ps_buf_detach(&b);
	return *out ? 0 : PS_ENOMEM;
}

int ps_prop_encode_string(uint32_t tag, const char *utf8, uint8_t **data,
			  size_t *len)
{
	ps_buf b = PS_BUF_INIT;
	int error;

	if (PS_PROP_TYPE(tag) == PS_PT_STRING8) {
		error = ps_utf8_to_cp1252(&b, utf8, strlen(utf8));
		if (!error)
			error = ps_buf_put(&b, "", 1);
	} else if (PS_PROP_TYPE(tag) == PS_PT_UNICODE) {
		error = ps_utf8_to_utf16le(&b, utf8, strlen(utf8));
		if (!error)
			error = ps_buf_put(&b, "\0", 2);
	} else {
		error = ps_error_setc(PS_EFORMAT,
			"property %08x is not a string", (unsigned)tag);
	}
	if (error < 0) {
		ps_buf_free(&b);
		return error;
	}
	*len = b.len;
	*data = (uint8_t *)ps_buf_detach(&b);
	return *data ? 0 : PS_ENOMEM;
}

int ps_prop_long(const ps_prop *p, uint32_t *out)
{
	if (p->len != 4)
		return ps_error_setc(PS_EFORMAT,
			"property %08x: expected 4 bytes, found %zu",
			(unsigned)p->tag, p->len);
	*out = (uint32_t)p->data[0] | (uint32_t)p->data[1] << 8 |
	       (uint32_t)p->data[2] << 16 | (uint32_t)p->data[3] << 24;
	return 0;
}

void ps_prop_name(uint32_t tag, char out[9])
{
	static const char digits[] = "0123456789abcdef";
	uint16_t type = PS_PROP_TYPE(tag), id = PS_PROP_ID(tag);
	int i;

	for (i = 0; i < 4; i++) {
		out[i] = digits[(type >> (12 - 4 * i)) & 15];
		out[4 + i] = digits[(id >> (12 - 4 * i)) & 15];
	}
	out[8] = '\0';
}

int ps_prop_parse_name(const char *name, uint32_t *tag)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 8; i++) {
		int c = (unsigned char)name[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return PS_EFORMAT;
		v = v << 4 | (uint32_t)d;
	}
	if (name[8])
		return PS_EFORMAT;
	/* The name is TTTTIIII: type first, then id. */
	*tag = (v & 0xFFFFu) << 16 | v >> 16;
	return 0;
}
