/*
 * Reading our own reports back (ps_collect.h): a CSV reader and a strict
 * JSON reader for exactly the objects profswitch writes, the latest run
 * per host and user, and the rehearsal comparison.
 */
#include "ps_collect.h"
#include "ps_json.h"

#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_str.h"
#include "ps_utf.h"

/* ---- rows as read ----------------------------------------------------- */

enum {
	C_HOST, C_USER, C_PROFILE, C_ACCOUNT, C_SOURCE_DN, C_TARGET_DN,
	C_STATUS, C_DETAIL, C_SOURCE_SERVER, C_TARGET_SMTP, C_INPUT,
	C_COUNT
};

static const char *const col_names[C_COUNT] = {
	"host", "user", "profile", "account", "source_dn", "target_dn",
	"status", "detail", "source_server", "target_smtp", "input",
};

/* The source sign-in identities a row's detail names (the engine writes
 * "; N Office sign-in identit(y|ies) of the source ..."), so that the
 * fleet counts the users who hold one from the logon reports too. */
static size_t detail_identities(const char *d)
{
	const char *p = d ? strstr(d, " Office sign-in identit") : NULL;
	const char *q = p;
	size_t n = 0, mul = 1;

	while (q && q > d && q[-1] >= '0' && q[-1] <= '9' && mul < 1000000) {
		q--;
		n += (size_t)(*q - '0') * mul;
		mul *= 10;
	}
	return q && q < p ? n : 0;
}

typedef struct crow {
	char *f[C_COUNT];     /* NULL: not given */
	ps_status status;
	int ad_failed;
} crow;

typedef struct cfile {
	const char *name;
	crow *v;
	size_t n, cap;
	char *host, *user, *time;  /* JSON top level */
} cfile;

static void crow_free(crow *r)
{
	int k;

	for (k = 0; k < C_COUNT; k++)
		free(r->f[k]);
	memset(r, 0, sizeof(*r));
}

static void cfile_free(cfile *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		crow_free(&c->v[i]);
	free(c->v);
	free(c->host);
	free(c->user);
	free(c->time);
}

static int cfile_push(cfile *c, crow *r)
{
	if (c->n >= PS_COLLECT_MAX_ROWS)
		return ps_error_setc(PS_ELIMIT, "%s: more than %u rows",
				     c->name, PS_COLLECT_MAX_ROWS);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		crow *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

static int status_of(const char *s, ps_status *out)
{
	int st;

	for (st = 0; st < PS_ST_COUNT; st++)
		if (!strcmp(s, ps_status_name((ps_status)st))) {
			*out = (ps_status)st;
			return 0;
		}
	return -1;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* The user when a report cannot say: the file name without extension. */
static char *name_user(const char *path)
{
	const char *base = path, *p, *dot = NULL;

	for (p = path; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	for (p = base; *p; p++)
		if (*p == '.')
			dot = p;
	return ps_strndup(base, (size_t)((dot && dot > base ? dot : p) -
					  base));
}

static int new_item(ps_fleet *f, size_t *cap)
{
	if (f->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		ps_fleet_item *v = realloc(f->v, nc * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		f->v = v;
		*cap = nc;
	}
	memset(&f->v[f->n], 0, sizeof(f->v[f->n]));
	f->n++;
	return 0;
}

static int set_item(ps_fleet_item *it, const char *input, const char *host,
		    const char *user, long long when)
{
	it->input = ps_strdup(input);
	it->report.host = ps_strdup(host);
	it->report.user = ps_strdup(user);
	it->when = when;
	if (!it->input || !it->report.host || !it->report.user)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	return 0;
}

/* The rows of one file into items of *out (appended; on failure *out is
 * as it was). */
static int cfile_items(cfile *c, ps_fleet *out)
{
	size_t n0 = out->n, cap = out->n, i;
	long long when = c->time ? ps_collect_time(c->time) : 0;
	int error = 0;

	if (when < 0)
		when = 0;
	if (!c->n) {
		error = new_item(out, &cap);
		if (!error)
			error = set_item(&out->v[out->n - 1], c->name,
					 nz(c->host), nz(c->user), when);
	}
	for (i = 0; i < c->n && !error; i++) {
		crow *r = &c->v[i];
		const char *host = r->f[C_HOST] ? r->f[C_HOST] : nz(c->host);
		const char *user = r->f[C_USER] ? r->f[C_USER] : nz(c->user);
		const char *input = r->f[C_INPUT] && *r->f[C_INPUT]
				    ? r->f[C_INPUT] : c->name;
		ps_fleet_item *it = out->n > n0 ? &out->v[out->n - 1] : NULL;
		ps_row *row;

		if (!it || strcmp(it->report.host, host) ||
		    strcmp(it->report.user, user) ||
		    strcmp(it->input, input)) {
			error = new_item(out, &cap);
			if (error)
				break;
			it = &out->v[out->n - 1];
			error = set_item(it, input, host, user, when);
			if (error)
				break;
		}
		error = ps_report_add(&it->report, r->f[C_PROFILE],
				      r->f[C_ACCOUNT], r->f[C_SOURCE_DN],
				      r->f[C_TARGET_DN], r->status,
				      r->f[C_DETAIL]);
		if (error)
			break;
		row = &it->report.v[it->report.n - 1];
		row->ad_failed = r->ad_failed;
		row->identities = detail_identities(r->f[C_DETAIL]);
		error = ps_report_set_origin(&it->report,
			r->f[C_SOURCE_SERVER] && *r->f[C_SOURCE_SERVER]
			? r->f[C_SOURCE_SERVER] : NULL,
			r->f[C_TARGET_SMTP] && *r->f[C_TARGET_SMTP]
			? r->f[C_TARGET_SMTP] : NULL);
	}
	/* 100,000 reports stay in memory together: no spare row slots. */
	for (i = n0; !error && i < out->n; i++) {
		ps_report *r = &out->v[i].report;
		ps_row *v;

		if (r->n && r->n < r->cap &&
		    (v = realloc(r->v, r->n * sizeof(*v))) != NULL) {
			r->v = v;
			r->cap = r->n;
		}
	}
	if (error) {
		for (i = n0; i < out->n; i++) {
			free(out->v[i].input);
			ps_report_free(&out->v[i].report);
		}
		out->n = n0;
		if (error == PS_ENOMEM)
			ps_error_setc(PS_ENOMEM, "out of memory");
	}
	return error;
}

/* ---- CSV ---------------------------------------------------------------- */

typedef struct csvp {
	const char *name;
	const char *p, *end;
	char delim;
	unsigned line;        /* of the current record's start */
	unsigned at;          /* line at p */
} csvp;

/* One record into fields (cleared first).  0 with *eof = 1 at the end. */
static int csv_record(csvp *c, ps_strlist *fields, ps_buf *fb, int *eof)
{
	int error;

	ps_strlist_free(fields);
	*eof = c->p >= c->end;
	if (*eof)
		return 0;
	c->line = c->at;
	for (;;) {
		int quoted = 0, neutral = 0;

		ps_buf_clear(fb);
		ps_buf_puts(fb, "");
		if (c->p < c->end && *c->p == '"') {
			quoted = 1;
			c->p++;
			for (;;) {
				if (c->p >= c->end)
					return ps_error_setc(PS_EFORMAT,
						"%s: line %u: a quoted field "
						"is not closed (a truncated "
						"file?)", c->name, c->line);
				if (*c->p == '"') {
					if (c->p + 1 < c->end &&
					    c->p[1] == '"') {
						ps_buf_putc(fb, '"');
						c->p += 2;
						continue;
					}
					c->p++;
					break;
				}
				if (!*c->p)
					goto nul;
				if (*c->p == '\n')
					c->at++;
				ps_buf_putc(fb, *c->p++);
			}
			if (c->p < c->end && *c->p != c->delim &&
			    *c->p != '\r' && *c->p != '\n')
				return ps_error_setc(PS_EFORMAT,
					"%s: line %u: text after a closing "
					"quote", c->name, c->at);
			/* The writer's "'=..." (a neutralised formula). */
			neutral = fb->len >= 2 && fb->ptr[0] == '\'' &&
				  strchr("=+-@\t\r", fb->ptr[1]);
		} else {
			while (c->p < c->end && *c->p != c->delim &&
			       *c->p != '\r' && *c->p != '\n') {
				if (!*c->p)
					goto nul;
				if (*c->p == '"')
					return ps_error_setc(PS_EFORMAT, "%s: "
						"line %u: a quote inside an "
						"unquoted field", c->name,
						c->at);
				ps_buf_putc(fb, *c->p++);
			}
		}
		if (ps_buf_check(fb))
			return ps_error_setc(PS_ENOMEM, "out of memory");
		if (fields->n >= PS_COLLECT_MAX_COLUMNS)
			return ps_error_setc(PS_ELIMIT, "%s: line %u: more "
					     "than %u fields", c->name,
					     c->line, PS_COLLECT_MAX_COLUMNS);
		error = ps_strlist_add(fields, fb->ptr + neutral);
		if (error)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		(void)quoted;
		if (c->p < c->end && *c->p == c->delim) {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '\r')
			c->p++;
		if (c->p < c->end && *c->p == '\n') {
			c->p++;
			c->at++;
		}
		return 0;
	}
nul:
	return ps_error_setc(PS_EFORMAT, "%s: line %u: a NUL byte (not a "
			     "text report)", c->name, c->at);
}

/* `,`, `;` or TAB: the one the header line has most of, outside quotes. */
static char csv_delim(const char *p, const char *end)
{
	size_t comma = 0, semi = 0, tab = 0;
	int quoted = 0;

	for (; p < end && (quoted || (*p != '\n' && *p != '\r')); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ',')
			comma++;
		else if (!quoted && *p == ';')
			semi++;
		else if (!quoted && *p == '\t')
			tab++;
	}
	if (semi > comma && semi >= tab)
		return ';';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

static int all_empty(const ps_strlist *l, size_t from)
{
	size_t i;

	for (i = from; i < l->n; i++)
		if (*l->v[i])
			return 0;
	return 1;
}

static int parse_csv(cfile *cf, const char *p, const char *end)
{
	csvp c;
	ps_strlist fields = PS_STRLIST_INIT;
	ps_buf fb = PS_BUF_INIT;
	int col[C_COUNT], eof = 0, error, k;
	size_t ncols, i;
	crow r;

	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	c.name = cf->name;
	c.p = p;
	c.end = end;
	c.at = 1;
	c.delim = csv_delim(p, end);
	for (k = 0; k < C_COUNT; k++)
		col[k] = -1;
	error = csv_record(&c, &fields, &fb, &eof);
	if (error)
		goto done;
	ncols = fields.n;
	for (i = 0; i < fields.n; i++) {
		char *name = ps_trim(fields.v[i]);

		for (k = 0; k < C_COUNT; k++)
			if (!ps_strcasecmp(name, col_names[k]) && col[k] < 0)
				col[k] = (int)i;
	}
	if (eof || col[C_STATUS] < 0 || col[C_PROFILE] < 0 ||
	    col[C_ACCOUNT] < 0) {
		error = ps_error_setc(PS_EFORMAT, "%s: line 1: no "
				      "profile, account and status columns",
				      cf->name);
		goto done;
	}
	for (;;) {
		error = csv_record(&c, &fields, &fb, &eof);
		if (error || eof)
			break;
		/* A blank line (Excel's last line, say). */
		if (fields.n <= 1 && all_empty(&fields, 0))
			continue;
		if (fields.n < ncols || !all_empty(&fields, ncols)) {
			error = ps_error_setc(PS_EFORMAT, "%s: line %u: %zu "
					      "fields, the header has %zu",
					      cf->name, c.line, fields.n,
					      ncols);
			break;
		}
		for (k = 0; k < C_COUNT && !error; k++)
			if (col[k] >= 0 && !(r.f[k] = ps_strdup(
						fields.v[col[k]])))
				error = ps_error_setc(PS_ENOMEM,
						      "out of memory");
		/* The fleet CSV's rehearsed accounts without a report. */
		if (!error && !*r.f[C_STATUS]) {
			crow_free(&r);
			continue;
		}
		if (!error && status_of(r.f[C_STATUS], &r.status) < 0) {
			char *shown = ps_utf8_clean(r.f[C_STATUS]);

			error = ps_error_setc(PS_EFORMAT, "%s: line %u: "
					      "unknown status '%.40s'",
					      cf->name, c.line,
					      shown ? shown : "?");
			free(shown);
		}
		if (!error)
			error = cfile_push(cf, &r);
		crow_free(&r);
		if (error)
			break;
	}
done:
	crow_free(&r);
	ps_strlist_free(&fields);
	ps_buf_free(&fb);
	return error;
}

/* ---- JSON (our own report objects only) ------------------------------- */

typedef struct jp {
	const char *name;
	const char *start, *p, *end;
	int depth;
} jp;

static unsigned jline(const jp *j)
{
	unsigned line = 1;
	const char *q;

	for (q = j->start; q < j->p && q < j->end; q++)
		line += *q == '\n';
	return line;
}

static int jerr(jp *j, const char *what)
{
	return ps_error_setc(PS_EFORMAT, "%s: line %u: %s", j->name,
			     jline(j), what);
}

static void jws(jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int jexpect(jp *j, char c)
{
	char msg[32];

	jws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return 0;
	}
	snprintf(msg, sizeof(msg), "expected '%c'", c);
	return jerr(j, j->p >= j->end ? "the report ends too soon (a "
		    "truncated file?)" : msg);
}

/* A string into *out (NULL: checked and skipped), decoded by the JSON
 * string reader of core/json.c; its refusal said at the line it is on. */
static int jstring(jp *j, char **out)
{
	size_t pos;
	const char *why;
	char *s = NULL;
	int error;

	if (out)
		*out = NULL;
	if (jexpect(j, '"'))
		return PS_EFORMAT;
	j->p--;
	pos = (size_t)(j->p - j->start);
	error = ps_json_string(j->start, (size_t)(j->end - j->start), &pos,
			       (size_t)(j->end - j->start), &s, &why);
	j->p = j->start + pos;
	if (error == PS_ENOMEM)
		return error;
	if (error < 0)
		return jerr(j, why ? why : "a bad string");
	if (!ps_utf8_valid(s, strlen(s))) {
		free(s);
		return jerr(j, "a string that is not UTF-8");
	}
	if (out)
		*out = s;
	else
		free(s);
	return 0;
}

static int jnumber(jp *j)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return jerr(j, "a bad number");
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jerr(j, "a bad number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jerr(j, "a bad number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p - s > 40)
		return jerr(j, "a number too long");
	return 0;
}

static int jword(jp *j, const char *w, int *val, int v)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return jerr(j, "an unexpected character");
	j->p += n;
	if (val)
		*val = v;
	return 0;
}

static int jskip(jp *j);

/* Object or array: members skipped. */
static int jskip_nested(jp *j, char close)
{
	int first = 1, error;

	if (++j->depth > PS_COLLECT_MAX_DEPTH)
		return jerr(j, "nested too deep");
	j->p++;
	for (;;) {
		jws(j);
		if (j->p < j->end && *j->p == close && first) {
			j->p++;
			break;
		}
		if (close == '}') {
			if ((error = jstring(j, NULL)) ||
			    (error = jexpect(j, ':')))
				return error;
		}
		if ((error = jskip(j)))
			return error;
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			first = 0;
			continue;
		}
		if ((error = jexpect(j, close)))
			return error;
		break;
	}
	j->depth--;
	return 0;
}

static int jskip(jp *j)
{
	jws(j);
	if (j->p >= j->end)
		return jerr(j, "the report ends too soon (a truncated file?)");
	switch (*j->p) {
	case '{': return jskip_nested(j, '}');
	case '[': return jskip_nested(j, ']');
	case '"': return jstring(j, NULL);
	case 't': return jword(j, "true", NULL, 1);
	case 'f': return jword(j, "false", NULL, 0);
	case 'n': return jword(j, "null", NULL, 0);
	default: return jnumber(j);
	}
}

/* Members of an object: cb(j, key, arg) reads each value. */
static int jobject(jp *j, int (*cb)(jp *, const char *, void *), void *arg)
{
	int error = 0, first = 1;
	char *key = NULL;

	if ((error = jexpect(j, '{')))
		return error;
	if (++j->depth > PS_COLLECT_MAX_DEPTH)
		return jerr(j, "nested too deep");
	for (;;) {
		jws(j);
		if (first && j->p < j->end && *j->p == '}') {
			j->p++;
			break;
		}
		if ((error = jstring(j, &key)) || (error = jexpect(j, ':')))
			break;
		jws(j);
		error = cb(j, key, arg);
		free(key);
		key = NULL;
		if (error)
			break;
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			first = 0;
			continue;
		}
		error = jexpect(j, '}');
		break;
	}
	free(key);
	j->depth--;
	return error;
}

typedef struct jrow {
	crow *r;
	int has_status;
} jrow;

static int row_member(jp *j, const char *key, void *arg)
{
	jrow *jr = arg;
	int k, error;

	for (k = 0; k < C_COUNT; k++) {
		if (strcmp(key, col_names[k]))
			continue;
		if (j->p >= j->end || *j->p != '"')
			return jerr(j, "a row's field is not a string");
		free(jr->r->f[k]);
		jr->r->f[k] = NULL;
		error = jstring(j, &jr->r->f[k]);
		if (error || k != C_STATUS)
			return error;
		if (status_of(jr->r->f[k], &jr->r->status) < 0) {
			char *shown = ps_utf8_clean(jr->r->f[k]);

			error = ps_error_setc(PS_EFORMAT, "%s: line %u: "
					      "unknown status '%.40s'",
					      j->name, jline(j),
					      shown ? shown : "?");
			free(shown);
			return error;
		}
		jr->has_status = 1;
		return 0;
	}
	if (!strcmp(key, "autodiscover_failed")) {
		if (j->p < j->end && *j->p == 't')
			return jword(j, "true", &jr->r->ad_failed, 1);
		return jword(j, "false", &jr->r->ad_failed, 0);
	}
	return jskip(j);
}

static int jrows(jp *j, cfile *cf)
{
	int error, first = 1;
	crow r;
	jrow jr;

	if ((error = jexpect(j, '[')))
		return error;
	if (++j->depth > PS_COLLECT_MAX_DEPTH)
		return jerr(j, "nested too deep");
	memset(&r, 0, sizeof(r));
	for (;;) {
		jws(j);
		if (first && j->p < j->end && *j->p == ']') {
			j->p++;
			break;
		}
		jr.r = &r;
		jr.has_status = 0;
		error = jobject(j, row_member, &jr);
		if (!error && !jr.has_status)
			error = jerr(j, "a row without a status");
		if (!error)
			error = cfile_push(cf, &r);
		crow_free(&r);
		if (error)
			return error;
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			first = 0;
			continue;
		}
		if ((error = jexpect(j, ']')))
			return error;
		break;
	}
	j->depth--;
	return 0;
}

typedef struct jtop {
	cfile *cf;
	int rows;
} jtop;

static int top_member(jp *j, const char *key, void *arg)
{
	jtop *t = arg;
	char **dst = !strcmp(key, "host") ? &t->cf->host
		     : !strcmp(key, "user") ? &t->cf->user
		     : !strcmp(key, "time") ? &t->cf->time : NULL;

	if (dst) {
		if (j->p >= j->end || *j->p != '"')
			return jerr(j, "host, user and time must be strings");
		free(*dst);
		*dst = NULL;
		return jstring(j, dst);
	}
	if (!strcmp(key, "rows")) {
		if (t->rows++)
			return jerr(j, "\"rows\" twice");
		return jrows(j, t->cf);
	}
	return jskip(j);
}

static int parse_json(cfile *cf, const char *p, const char *end)
{
	jp j;
	jtop t;
	int error;

	memset(&j, 0, sizeof(j));
	j.name = cf->name;
	j.start = j.p = p;
	j.end = end;
	t.cf = cf;
	t.rows = 0;
	error = jobject(&j, top_member, &t);
	if (error)
		return error;
	if (!t.rows)
		return jerr(&j, "not a profswitch report (no \"rows\")");
	jws(&j);
	if (j.p < j.end)
		return jerr(&j, "text after the report");
	return 0;
}

/* ---- one file ---------------------------------------------------------- */

int ps_collect_parse(const char *name, const uint8_t *data, size_t len,
		     ps_fleet *out)
{
	const char *p = (const char *)data, *end = p + len;
	cfile cf;
	int error;

	memset(&cf, 0, sizeof(cf));
	cf.name = name;
	if (len > PS_COLLECT_MAX_BYTES)
		return ps_error_setc(PS_ELIMIT, "%s: larger than %zu MiB",
				     name, PS_COLLECT_MAX_BYTES >> 20);
	if (len >= 3 && !memcmp(p, PS_CSV_BOM, 3))
		p += 3;
	else if (len >= 2 && ((uint8_t)p[0] == 0xFF || (uint8_t)p[0] == 0xFE))
		return ps_error_setc(PS_EFORMAT, "%s: line 1: UTF-16 (save "
				     "the report as UTF-8)", name);
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
			   *p == '\n'))
		p++;
	if (p >= end)
		return ps_error_setc(PS_EFORMAT, "%s: empty file", name);
	error = *p == '{' ? parse_json(&cf, p, end) : parse_csv(&cf, p, end);
	if (!error)
		error = cfile_items(&cf, out);
	cfile_free(&cf);
	return error;
}

int ps_collect_unusable(ps_fleet *f, const char *input, const char *why,
			const char *msg)
{
	size_t cap = f->n, n = strlen(input);
	ps_fleet_item *it;
	ps_buf d = PS_BUF_INIT;
	int error;

	if (!strncmp(msg, input, n) && msg[n] == ':')
		msg += n + 1 + (msg[n + 1] == ' ');
	error = new_item(f, &cap);
	if (error)
		return error;
	it = &f->v[f->n - 1];
	it->unusable = 1;
	it->input = ps_strdup(input);
	it->report.user = name_user(input);
	ps_buf_printf(&d, "%s%s%s", why, *msg ? ": " : "", msg);
	if (!it->input || !it->report.user || ps_buf_check(&d) ||
	    ps_report_add(&it->report, NULL, NULL, NULL, NULL, PS_ST_FAILED,
			  d.ptr) < 0) {
		ps_buf_free(&d);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	ps_buf_free(&d);
	return 0;
}

/* ---- time --------------------------------------------------------------- */

static int digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

long long ps_collect_time(const char *s)
{
	int y, mo, d, h, mi, se;
	long long yy, era, doy, doe, days;
	unsigned yoe;

	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z' ||
	    digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &se) ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	/* Days from the civil date (proleptic Gregorian). */
	yy = mo <= 2 ? y - 1 : y;
	era = yy / 400;
	yoe = (unsigned)(yy - era * 400);
	doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return days * 86400 + h * 3600 + mi * 60 + se;
}

/* ---- the latest run of each host and user ----------------------------- */

typedef struct lkey {
	char *key;            /* lowercase "host\x1fuser" */
	long long when;
	const char *input;
	size_t i;
} lkey;

static char *lower_key(const char *a, const char *b)
{
	ps_buf k = PS_BUF_INIT;
	size_t i;

	ps_buf_printf(&k, "%s%c%s", a, 0x1f, b);
	if (ps_buf_check(&k))
		return NULL;
	for (i = 0; i < k.len; i++)
		k.ptr[i] = (char)ps_tolower((unsigned char)k.ptr[i]);
	return ps_buf_detach(&k);
}

static int lkey_cmp(const void *a, const void *b)
{
	const lkey *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	c = strcmp(x->input, y->input);
	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void item_free(ps_fleet_item *it)
{
	free(it->input);
	ps_report_free(&it->report);
	ps_buf_free(&it->log);
}

int ps_collect_latest(ps_fleet *f)
{
	lkey *k = NULL;
	unsigned char *drop = NULL;
	size_t nk = 0, i, o;
	int error = 0;

	if (f->n < 2)
		return 0;
	k = calloc(f->n, sizeof(*k));
	drop = calloc(f->n, 1);
	if (!k || !drop) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < f->n; i++) {
		const ps_fleet_item *it = &f->v[i];

		if (it->unusable || !it->report.user || !*it->report.user)
			continue;
		k[nk].i = i;
		k[nk].when = it->when;
		k[nk].input = it->input;
		k[nk].key = lower_key(nz(it->report.host), it->report.user);
		if (!k[nk++].key) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			goto done;
		}
	}
	qsort(k, nk, sizeof(*k), lkey_cmp);
	for (i = 0; i + 1 < nk; i++)
		if (!strcmp(k[i].key, k[i + 1].key))
			drop[k[i].i] = 1;
	for (i = o = 0; i < f->n; i++) {
		if (drop[i]) {
			item_free(&f->v[i]);
			f->superseded++;
			continue;
		}
		f->v[o++] = f->v[i];
	}
	f->n = o;
done:
	for (i = 0; k && i < nk; i++)
		free(k[i].key);
	free(k);
	free(drop);
	return error;
}

/* ---- rehearsal and cut-over ------------------------------------------- */

typedef struct dkey {
	char *key;            /* lowercase "user\x1fprofile\x1faccount" */
	const ps_fleet_item *it;
	const ps_row *row;
} dkey;

static int dkey_cmp(const void *a, const void *b)
{
	const dkey *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	c = strcmp(nz(x->it->input), nz(y->it->input));
	if (c)
		return c;
	return x->row < y->row ? -1 : x->row > y->row;
}

static int keys_of(const ps_fleet *f, dkey **out, size_t *nout)
{
	size_t n = 0, i, j;
	dkey *k;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < f->n; i++)
		n += f->v[i].report.n;
	k = calloc(n ? n : 1, sizeof(*k));
	if (!k)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	n = 0;
	for (i = 0; i < f->n; i++) {
		const ps_fleet_item *it = &f->v[i];

		if (it->unusable && f->collected)
			continue;
		for (j = 0; j < it->report.n; j++) {
			ps_buf b = PS_BUF_INIT;
			char *kk;

			ps_buf_printf(&b, "%s%c%s", nz(it->report.user), 0x1f,
				      it->report.v[j].profile);
			kk = ps_buf_check(&b) ? NULL : ps_buf_detach(&b);
			ps_buf_free(&b);
			k[n].key = kk ? lower_key(kk, it->report.v[j].account)
				      : NULL;
			free(kk);
			k[n].it = it;
			k[n].row = &it->report.v[j];
			if (!k[n++].key) {
				for (i = 0; i < n; i++)
					free(k[i].key);
				free(k);
				return ps_error_setc(PS_ENOMEM,
						     "out of memory");
			}
		}
	}
	qsort(k, n, sizeof(*k), dkey_cmp);
	*out = k;
	*nout = n;
	return 0;
}

static int done_like(ps_status st)
{
	return st == PS_ST_WOULD_UPDATE || st == PS_ST_UPDATED ||
	       st == PS_ST_REPAIRED_POISONED || st == PS_ST_ALREADY_UPDATED;
}

static int as_predicted(ps_status predicted, ps_status actual)
{
	if (predicted == PS_ST_WOULD_UPDATE)
		return done_like(actual);
	return predicted == actual;
}

static int add_diff(ps_fleet *f, size_t *cap, const dkey *pred,
		    const dkey *act)
{
	const dkey *any = act ? act : pred;
	ps_fleet_diff *d;

	if (f->ndiff == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		ps_fleet_diff *v = realloc(f->diff, nc * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		f->diff = v;
		*cap = nc;
	}
	d = &f->diff[f->ndiff];
	memset(d, 0, sizeof(*d));
	d->user = ps_strdup(nz(any->it->report.user));
	d->profile = ps_strdup(any->row->profile);
	d->account = ps_strdup(any->row->account);
	d->predicted = pred ? (int)pred->row->status : -1;
	d->actual = act ? (int)act->row->status : -1;
	d->host = ps_strdup(act ? nz(act->it->report.host) : "");
	d->input = ps_strdup(act ? nz(act->it->input) : "");
	f->ndiff++;
	if (!d->user || !d->profile || !d->account || !d->host || !d->input)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	return 0;
}

int ps_collect_diff(ps_fleet *f, ps_fleet *rehearsal)
{
	dkey *p = NULL, *a = NULL;
	size_t np = 0, na = 0, i = 0, j = 0, cap = f->ndiff;
	int error;

	error = keys_of(rehearsal, &p, &np);
	if (!error)
		error = keys_of(f, &a, &na);
	while (!error && (i < np || j < na)) {
		int c = i >= np ? 1 : j >= na ? -1
			: strcmp(p[i].key, a[j].key);
		size_t i2 = i, j2 = j;

		if (c < 0) {
			/* Predicted, not (yet) in any report. */
			while (i2 < np && !strcmp(p[i2].key, p[i].key))
				i2++;
			error = add_diff(f, &cap, &p[i], NULL);
			i = i2;
			continue;
		}
		if (c > 0) {
			error = add_diff(f, &cap, NULL, &a[j]);
			j++;
			continue;
		}
		/* The same account: every run against the first prediction
		 * (the same user rehearsed twice is one prediction). */
		while (i2 < np && !strcmp(p[i2].key, p[i].key))
			i2++;
		while (j2 < na && !strcmp(a[j2].key, a[j].key) && !error) {
			((ps_row *)a[j2].row)->predicted =
				(int)p[i].row->status + 1;
			if (as_predicted(p[i].row->status, a[j2].row->status))
				f->diff_same++;
			else
				error = add_diff(f, &cap, &p[i], &a[j2]);
			j2++;
		}
		i = i2;
		j = j2;
	}
	for (i = 0; p && i < np; i++)
		free(p[i].key);
	for (j = 0; a && j < na; j++)
		free(a[j].key);
	free(p);
	free(a);
	return error;
}
