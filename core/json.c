/*
 * The flat JSON object reader (ps_json.h).  One pass over the bytes, no
 * recursion: a nested value is refused where it starts, so depth is 1.
 */
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_json.h"
#include "ps_str.h"
#include "ps_utf.h"

typedef struct jr {
	const unsigned char *p;
	size_t len, pos;
	size_t max;             /* the longest string, decoded */
	const char *why;        /* the last refusal's reason */
} jr;

static int fail(jr *r, const char *why)
{
	r->why = why;
	return ps_error_setc(PS_EFORMAT, "JSON offset %zu: %s", r->pos, why);
}

static void skip_ws(jr *r)
{
	while (r->pos < r->len && (r->p[r->pos] == ' ' ||
				   r->p[r->pos] == '\t' ||
				   r->p[r->pos] == '\n' ||
				   r->p[r->pos] == '\r'))
		r->pos++;
}

static int hex4(jr *r, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (r->len - r->pos < 4)
		return fail(r, "\\u needs four hex digits");
	for (i = 0; i < 4; i++) {
		unsigned char c = r->p[r->pos + i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(r, "\\u needs four hex digits");
	}
	r->pos += 4;
	*out = v;
	return 0;
}

static int put_cp(ps_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return ps_buf_put(b, u, n);
}

/* An escape after the backslash (r->pos at the letter). */
static int escape(jr *r, ps_buf *b)
{
	unsigned cp, lo;
	unsigned char c;
	int rc;

	if (r->pos >= r->len)
		return fail(r, "the input ends inside a string");
	c = r->p[r->pos++];
	switch (c) {
	case '"': return ps_buf_putc(b, '"');
	case '\\': return ps_buf_putc(b, '\\');
	case '/': return ps_buf_putc(b, '/');
	case 'b': return ps_buf_putc(b, '\b');
	case 'f': return ps_buf_putc(b, '\f');
	case 'n': return ps_buf_putc(b, '\n');
	case 'r': return ps_buf_putc(b, '\r');
	case 't': return ps_buf_putc(b, '\t');
	case 'u':
		break;
	default:
		r->pos--;
		return fail(r, "unknown escape in a string");
	}
	if ((rc = hex4(r, &cp)) < 0)
		return rc;
	if (cp == 0)
		return fail(r, "\\u0000 is not allowed");
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return fail(r, "unpaired surrogate in a string");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (r->len - r->pos < 2 || r->p[r->pos] != '\\' ||
		    r->p[r->pos + 1] != 'u')
			return fail(r, "unpaired surrogate in a string");
		r->pos += 2;
		if ((rc = hex4(r, &lo)) < 0)
			return rc;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return fail(r, "unpaired surrogate in a string");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	return put_cp(b, cp);
}

/* A string (r->pos at the opening quote); *out is a new string. */
static int string(jr *r, char **out)
{
	ps_buf b = PS_BUF_INIT;
	int rc = 0;

	r->pos++;
	for (;;) {
		unsigned char c;

		if (r->pos >= r->len) {
			rc = fail(r, "a string is not closed (the input ends "
				  "inside it)");
			break;
		}
		c = r->p[r->pos];
		if (c == '"') {
			r->pos++;
			break;
		}
		if (c < 0x20) {
			rc = fail(r, "control character in a string");
			break;
		}
		if (c == '\\') {
			r->pos++;
			rc = escape(r, &b);
		} else {
			r->pos++;
			rc = ps_buf_putc(&b, c);
		}
		if (rc < 0)
			break;
		if (b.len > r->max) {
			r->why = "a string too long";
			rc = ps_error_setc(PS_ELIMIT, "JSON offset %zu: a "
					   "string longer than %zu bytes",
					   r->pos, r->max);
			break;
		}
	}
	if (rc == 0 && (rc = ps_buf_check(&b)) == 0) {
		*out = b.len ? ps_buf_detach(&b) : ps_strdup("");
		if (!*out)
			rc = PS_ENOMEM;
	}
	ps_buf_free(&b);
	return rc;
}

/* A number, true, false or null; anything else is refused. */
static int scalar(jr *r, char **out)
{
	size_t start = r->pos, i;
	static const char *const words[] = { "true", "false", "null" };

	for (i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);

		if (r->len - r->pos >= n &&
		    !memcmp(r->p + r->pos, words[i], n)) {
			r->pos += n;
			goto done;
		}
	}
	/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	if (r->pos < r->len && r->p[r->pos] == '-')
		r->pos++;
	if (r->pos < r->len && r->p[r->pos] == '0') {
		r->pos++;
	} else if (r->pos < r->len && r->p[r->pos] >= '1' &&
		   r->p[r->pos] <= '9') {
		while (r->pos < r->len && r->p[r->pos] >= '0' &&
		       r->p[r->pos] <= '9')
			r->pos++;
	} else {
		if (r->pos < r->len && (r->p[r->pos] == '{' ||
					r->p[r->pos] == '['))
			return fail(r, "nested objects and arrays are not "
				    "read");
		return fail(r, "expected a value");
	}
	if (r->pos < r->len && r->p[r->pos] == '.') {
		r->pos++;
		if (r->pos >= r->len || r->p[r->pos] < '0' ||
		    r->p[r->pos] > '9')
			return fail(r, "bad number");
		while (r->pos < r->len && r->p[r->pos] >= '0' &&
		       r->p[r->pos] <= '9')
			r->pos++;
	}
	if (r->pos < r->len && (r->p[r->pos] == 'e' || r->p[r->pos] == 'E')) {
		r->pos++;
		if (r->pos < r->len && (r->p[r->pos] == '+' ||
					r->p[r->pos] == '-'))
			r->pos++;
		if (r->pos >= r->len || r->p[r->pos] < '0' ||
		    r->p[r->pos] > '9')
			return fail(r, "bad number");
		while (r->pos < r->len && r->p[r->pos] >= '0' &&
		       r->p[r->pos] <= '9')
			r->pos++;
	}
	if (r->pos - start > 64)
		return ps_error_setc(PS_ELIMIT, "JSON offset %zu: a number "
				     "longer than 64 characters", start);
done:
	*out = ps_strndup((const char *)r->p + start, r->pos - start);
	return *out ? 0 : PS_ENOMEM;
}

static int add(ps_json_obj *o, char *name, char *value, int is_string)
{
	ps_json_member *v = realloc(o->v, (o->n + 1) * sizeof(*v));

	if (!v) {
		free(name);
		free(value);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	o->v = v;
	v[o->n].name = name;
	v[o->n].value = value;
	v[o->n].is_string = is_string;
	o->n++;
	return 0;
}

int ps_json_parse_flat(const char *text, size_t len, ps_json_obj *out)
{
	jr r;
	ps_json_obj o = { NULL, 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > PS_JSON_MAX_INPUT)
		return ps_error_setc(PS_ELIMIT, "JSON answer larger than %u "
				     "bytes", PS_JSON_MAX_INPUT);
	memset(&r, 0, sizeof(r));
	r.p = (const unsigned char *)text;
	r.len = len;
	r.max = PS_JSON_MAX_STRING;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		r.pos = 3;
	if (memchr(text, 0, len)) {
		r.pos = (size_t)((const char *)memchr(text, 0, len) - text);
		return fail(&r, "NUL byte");
	}
	if (!ps_utf8_valid(text, len))
		return fail(&r, "not valid UTF-8");
	skip_ws(&r);
	if (r.pos >= r.len || r.p[r.pos] != '{')
		return fail(&r, r.pos >= r.len ? "empty answer"
				: "expected an object ('{')");
	r.pos++;
	skip_ws(&r);
	if (r.pos < r.len && r.p[r.pos] == '}') {
		r.pos++;
		goto end;
	}
	for (;;) {
		char *name = NULL, *value = NULL;
		size_t i;
		int is_string;

		skip_ws(&r);
		if (r.pos >= r.len || r.p[r.pos] != '"') {
			rc = fail(&r, "expected a member name");
			goto out;
		}
		if ((rc = string(&r, &name)) < 0)
			goto out;
		for (i = 0; i < o.n; i++)
			if (!ps_strcasecmp(o.v[i].name, name))
				break;
		if (i < o.n) {
			free(name);
			rc = fail(&r, "a member name given twice (names compare "
				  "case-insensitively)");
			goto out;
		}
		skip_ws(&r);
		if (r.pos >= r.len || r.p[r.pos] != ':') {
			free(name);
			rc = fail(&r, "expected ':'");
			goto out;
		}
		r.pos++;
		skip_ws(&r);
		is_string = r.pos < r.len && r.p[r.pos] == '"';
		rc = is_string ? string(&r, &value) : scalar(&r, &value);
		if (rc < 0) {
			free(name);
			goto out;
		}
		if (o.n >= PS_JSON_MAX_MEMBERS) {
			free(name);
			free(value);
			rc = ps_error_setc(PS_ELIMIT, "JSON offset %zu: more "
					   "than %d members", r.pos,
					   PS_JSON_MAX_MEMBERS);
			goto out;
		}
		if ((rc = add(&o, name, value, is_string)) < 0)
			goto out;
		skip_ws(&r);
		if (r.pos < r.len && r.p[r.pos] == ',') {
			r.pos++;
			continue;
		}
		if (r.pos < r.len && r.p[r.pos] == '}') {
			r.pos++;
			break;
		}
		rc = fail(&r, r.pos >= r.len ? "the input ends inside the "
			  "object" : "expected ',' or '}'");
		goto out;
	}
end:
	skip_ws(&r);
	if (r.pos != r.len) {
		rc = fail(&r, "something after the object");
		goto out;
	}
	*out = o;
	return 0;
out:
	ps_json_free(&o);
	return rc;
}

int ps_json_string(const char *text, size_t len, size_t *pos, size_t max,
		   char **out, const char **why)
{
	jr r;
	char *s = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	r.p = (const unsigned char *)text;
	r.len = len;
	r.pos = *pos;
	r.max = max;
	*why = NULL;
	if (out)
		*out = NULL;
	if (r.pos >= r.len || r.p[r.pos] != '"')
		rc = fail(&r, "expected a string");
	else
		rc = string(&r, &s);
	*pos = r.pos;
	*why = r.why;
	if (rc == 0 && out)
		*out = s;
	else
		free(s);
	return rc;
}

const char *ps_json_get(const ps_json_obj *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->v[i].is_string && !ps_strcasecmp(o->v[i].name, name))
			return o->v[i].value;
	return NULL;
}

void ps_json_free(ps_json_obj *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->n; i++) {
		free(o->v[i].name);
		free(o->v[i].value);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}
