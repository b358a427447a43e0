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
	p->form = PS_FORM_DEFAULT;
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
		fresh.form = old->form;
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

int ps_proplist_put(ps_proplist *l, const ps_prop *p)
{
	ps_prop *set;

	if (ps_proplist_set(l, p->tag, p->data, p->len) < 0)
		return PS_ENOMEM;
	set = ps_proplist_get(l, p->tag);
	set->form = p->form;
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
		if (ps_proplist_put(dst, &src->v[i]) < 0)
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

/* ---- multi-valued layout ------------------------------------------------ */

static uint64_t get_u64(const uint8_t *d)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | d[i];
	return v;
}

/* Element i's offset and length (without the NUL for strings). */
static int mv_span(const ps_prop *p, size_t i, size_t *off, size_t *len)
{
	uint16_t type = PS_PROP_TYPE(p->tag);
	size_t count, head, entry;
	uint64_t o, n;

	if (type != PS_PT_MV_STRING8 && type != PS_PT_MV_UNICODE &&
	    type != PS_PT_MV_BINARY)
		return ps_error_setc(PS_EFORMAT, "property %08x is not "
				     "multi-valued", (unsigned)p->tag);
	if (p->len < 4)
		goto bad;
	count = (size_t)p->data[0] | (size_t)p->data[1] << 8 |
		(size_t)p->data[2] << 16 | (size_t)p->data[3] << 24;
	entry = type == PS_PT_MV_BINARY ? 16 : 8;
	if (count > (p->len - 4) / entry || i >= count)
		goto bad;
	head = 4 + count * entry;
	if (type == PS_PT_MV_BINARY) {
		n = get_u64(p->data + 4 + i * 16);
		o = get_u64(p->data + 4 + i * 16 + 8);
		if (o < head || o > p->len || n > p->len - o)
			goto bad;
		*off = (size_t)o;
		*len = (size_t)n;
		return 0;
	}
	o = get_u64(p->data + 4 + i * 8);
	if (o < head || o >= p->len)
		goto bad;
	*off = (size_t)o;
	if (type == PS_PT_MV_STRING8) {
		const uint8_t *z = memchr(p->data + o, 0, p->len - (size_t)o);

		if (!z)
			goto bad;
		*len = (size_t)(z - (p->data + o));
		return 0;
	}
	for (n = o; n + 1 < p->len; n += 2)
		if (!p->data[n] && !p->data[n + 1]) {
			*len = (size_t)(n - o);
			return 0;
		}
bad:
	return ps_error_setc(PS_EFORMAT, "property %08x: damaged "
			     "multi-valued layout", (unsigned)p->tag);
}

int ps_prop_mv_count(const ps_prop *p, size_t *count)
{
	size_t n, i, off, len;
	int error;

	error = mv_span(p, 0, &off, &len);
	if (error < 0) {
		/* An empty list is valid: count 0 and nothing else. */
		if (p->len >= 4 && !p->data[0] && !p->data[1] &&
		    !p->data[2] && !p->data[3] &&
		    (PS_PROP_TYPE(p->tag) & 0x1000u)) {
			*count = 0;
			return 0;
		}
		return error;
	}
	n = (size_t)p->data[0] | (size_t)p->data[1] << 8 |
	    (size_t)p->data[2] << 16 | (size_t)p->data[3] << 24;
	for (i = 1; i < n; i++) {
		error = mv_span(p, i, &off, &len);
		if (error < 0)
			return error;
	}
	*count = n;
	return 0;
}

int ps_prop_mv_elem(const ps_prop *p, size_t i, const uint8_t **data,
		    size_t *len)
{
	size_t off, n;
	int error = mv_span(p, i, &off, &n);

	if (error < 0)
		return error;
	*data = p->data + off;
	*len = n;
	return 0;
}
