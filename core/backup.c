/*
 * Encoding of backup generations (format in docs/update-rules.md).
 */
#include "ps_backup.h"

#include <stdlib.h>
#include <string.h>

#include "ps_error.h"

#define GEN_MAGIC "PSB1"
#define GEN_MAGIC_FORMS "PSB2"  /* per prop: tag, form, length, data */
#define EXTRA_MAGIC "PSX1"
#define KEYS_MAGIC "PSK1"   /* after PSX1: whole keys deleted */

void ps_backup_uid(ps_uid *out)
{
	ps_uid_parse(out, PS_BACKUP_SECTION);
}

static void put_u32(ps_buf *b, uint32_t v)
{
	uint8_t x[4];

	x[0] = (uint8_t)v;
	x[1] = (uint8_t)(v >> 8);
	x[2] = (uint8_t)(v >> 16);
	x[3] = (uint8_t)(v >> 24);
	ps_buf_put(b, x, 4);
}

static void put_str(ps_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	put_u32(b, (uint32_t)n);
	ps_buf_put(b, s ? s : "", n);
}

/* A generation larger than a registry value may be is never written. */
static int size_ok(ps_buf *out, size_t start)
{
	int error = ps_buf_check(out);

	if (error < 0 || out->len - start <= PS_GEN_MAX_BYTES)
		return error;
	error = ps_error_setc(PS_ELIMIT, "the backup of this update would "
		"take %zu bytes and a backup generation holds at most %u; "
		"nothing was changed", out->len - start, PS_GEN_MAX_BYTES);
	out->len = start;
	return error;
}

/* "PSB1" says: every prop in its usual form, with no value that is not
 * a property before it in its key.  Anything else needs "PSB2". */
static int has_forms(const ps_generation *g)
{
	size_t i, j;
	unsigned f;

	for (i = 0; i < g->nsecs; i++)
		for (j = 0; j < g->secs[i].props.n; j++) {
			f = g->secs[i].props.v[j].form;
			if (PS_FORM_KIND(f) != PS_FORM_DEFAULT ||
			    PS_FORM_GAP(f) > 1)
				return 1;
		}
	return 0;
}

static int check_counts(const ps_generation *g)
{
	size_t i;
	char hex[33];

	if (g->nsecs > PS_GEN_MAX_SECTIONS)
		return ps_error_setc(PS_ELIMIT, "the update would change %zu "
			"sections and a backup holds at most %u; nothing was "
			"changed", g->nsecs, PS_GEN_MAX_SECTIONS);
	for (i = 0; i < g->nsecs; i++) {
		if (g->secs[i].props.n <= PS_GEN_MAX_PROPS)
			continue;
		ps_uid_format(&g->secs[i].uid, hex);
		return ps_error_setc(PS_ELIMIT, "section %s has %zu "
			"properties and a backup holds at most %u per "
			"section; nothing was changed", hex,
			g->secs[i].props.n, PS_GEN_MAX_PROPS);
	}
	if (g->nvals > PS_GEN_MAX_VALUES || g->nfiles > PS_GEN_MAX_FILES)
		return ps_error_setc(PS_ELIMIT, "the update would change %zu "
			"values and %zu files outside the profile; a backup "
			"holds at most %u of each", g->nvals, g->nfiles,
			PS_GEN_MAX_VALUES);
	if (g->nkeys > PS_GEN_MAX_KEYS)
		return ps_error_setc(PS_ELIMIT, "the update would delete %zu "
			"Office keys; a backup holds at most %u", g->nkeys,
			PS_GEN_MAX_KEYS);
	for (i = 0; i < g->nkeys; i++)
		if (g->keys[i].nvals > PS_GEN_MAX_KEYVALS)
			return ps_error_setc(PS_ELIMIT, "Office key %s has "
				"%zu values; a backup holds at most %u",
				g->keys[i].path, g->keys[i].nvals,
				PS_GEN_MAX_KEYVALS);
	return 0;
}

int ps_gen_check(const ps_generation *g)
{
	ps_buf b = PS_BUF_INIT;
	int error = ps_gen_encode(g, &b);

	ps_buf_free(&b);
	return error;
}

int ps_gen_encode(const ps_generation *g, ps_buf *out)
{
	size_t i, j, start = out->len;
	int forms = has_forms(g), error = check_counts(g);

	if (error < 0)
		return error;

	ps_buf_put(out, forms ? GEN_MAGIC_FORMS : GEN_MAGIC, 4);
	put_u32(out, g->state);
	put_u32(out, (uint32_t)g->nunits);
	for (i = 0; i < g->nunits; i++) {
		put_str(out, g->units[i].account);
		put_str(out, g->units[i].source_dn);
		put_str(out, g->units[i].target_dn);
	}
	put_u32(out, (uint32_t)g->nsecs);
	for (i = 0; i < g->nsecs; i++) {
		const ps_proplist *p = &g->secs[i].props;

		ps_buf_put(out, g->secs[i].uid.b, 16);
		put_u32(out, (uint32_t)p->n);
		for (j = 0; j < p->n; j++) {
			put_u32(out, p->v[j].tag);
			if (forms)
				put_u32(out, p->v[j].form);
			put_u32(out, (uint32_t)p->v[j].len);
			ps_buf_put(out, p->v[j].data, p->v[j].len);
		}
	}
	if (!g->nvals && !g->nfiles && !g->nkeys)
		return size_ok(out, start);
	ps_buf_put(out, EXTRA_MAGIC, 4);
	put_u32(out, (uint32_t)g->nvals);
	for (i = 0; i < g->nvals; i++) {
		const ps_gen_value *v = &g->vals[i];

		put_str(out, v->subkey);
		put_str(out, v->name);
		put_u32(out, (uint32_t)v->existed | (uint32_t)v->fix << 1);
		put_u32(out, v->type);
		put_u32(out, (uint32_t)v->len);
		if (v->len)
			ps_buf_put(out, v->data, v->len);
	}
	put_u32(out, (uint32_t)g->nfiles);
	for (i = 0; i < g->nfiles; i++) {
		const ps_gen_file *f = &g->files[i];

		put_str(out, f->path);
		put_u32(out, (uint32_t)f->existed | (uint32_t)f->written << 1);
		put_u32(out, (uint32_t)f->len);
		if (f->len)
			ps_buf_put(out, f->data, f->len);
	}
	if (!g->nkeys)
		return size_ok(out, start);
	ps_buf_put(out, KEYS_MAGIC, 4);
	put_u32(out, (uint32_t)g->nkeys);
	for (i = 0; i < g->nkeys; i++) {
		const ps_gen_key *k = &g->keys[i];

		put_str(out, k->path);
		put_u32(out, (uint32_t)k->top);
		put_u32(out, (uint32_t)k->nvals);
		for (j = 0; j < k->nvals; j++) {
			put_str(out, k->vals[j].name);
			put_u32(out, k->vals[j].type);
			put_u32(out, (uint32_t)k->vals[j].len);
			if (k->vals[j].len)
				ps_buf_put(out, k->vals[j].data,
					   k->vals[j].len);
		}
	}
	return size_ok(out, start);
}

typedef struct reader {
	const uint8_t *p;
	size_t left;
} reader;

static int get_u32(reader *r, uint32_t *v)
{
	if (r->left < 4)
		return PS_EFORMAT;
	*v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
	     (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int get_bytes(reader *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return PS_EFORMAT;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static int get_str(reader *r, char **out)
{
	uint32_t n;
	const uint8_t *s;

	if (get_u32(r, &n) < 0 || get_bytes(r, n, &s) < 0)
		return PS_EFORMAT;
	*out = ps_strndup((const char *)s, n);
	return *out ? 0 : PS_ENOMEM;
}

static int get_blob(reader *r, uint8_t **out, size_t *len)
{
	uint32_t n;
	const uint8_t *b;

	if (get_u32(r, &n) < 0 || get_bytes(r, n, &b) < 0)
		return PS_EFORMAT;
	*out = malloc(n ? n : 1);
	if (!*out)
		return PS_ENOMEM;
	if (n)
		memcpy(*out, b, n);
	*len = n;
	return 0;
}

/* The "PSK1" trailer: whole keys deleted.  The first entry is a top
 * key; a path is never empty. */
static int decode_keys(ps_generation *g, reader *r)
{
	const uint8_t *bytes;
	uint32_t n, i, j, nv, top;
	int error;

	if (get_bytes(r, 4, &bytes) < 0 || memcmp(bytes, KEYS_MAGIC, 4))
		return PS_EFORMAT;
	if (get_u32(r, &n) < 0 || !n || n > PS_GEN_MAX_KEYS ||
	    n > r->left / 12)
		return PS_EFORMAT;
	g->keys = calloc(n, sizeof(*g->keys));
	if (!g->keys)
		return PS_ENOMEM;
	for (i = 0; i < n; i++) {
		ps_gen_key *k = &g->keys[i];

		g->nkeys++;
		if ((error = get_str(r, &k->path)) < 0)
			return error;
		if (!*k->path || get_u32(r, &top) < 0 || top > 1 ||
		    (!i && !top) || get_u32(r, &nv) < 0 ||
		    nv > PS_GEN_MAX_KEYVALS || nv > r->left / 12)
			return PS_EFORMAT;
		k->top = (int)top;
		k->vals = calloc(nv ? nv : 1, sizeof(*k->vals));
		if (!k->vals)
			return PS_ENOMEM;
		for (j = 0; j < nv; j++) {
			ps_gen_keyval *v = &k->vals[j];

			k->nvals++;
			if ((error = get_str(r, &v->name)) < 0)
				return error;
			if (get_u32(r, &v->type) < 0)
				return PS_EFORMAT;
			if ((error = get_blob(r, &v->data, &v->len)) < 0)
				return error;
		}
	}
	return 0;
}

/* The "PSX1" trailer: values and files changed outside the profile. */
static int decode_extra(ps_generation *g, reader *r)
{
	const uint8_t *bytes;
	uint32_t n, i, flags;
	int error;

	if (get_bytes(r, 4, &bytes) < 0 || memcmp(bytes, EXTRA_MAGIC, 4))
		return PS_EFORMAT;
	if (get_u32(r, &n) < 0 || n > PS_GEN_MAX_VALUES || n > r->left / 20)
		return PS_EFORMAT;
	g->vals = calloc(n ? n : 1, sizeof(*g->vals));
	if (!g->vals)
		return PS_ENOMEM;
	for (i = 0; i < n; i++) {
		ps_gen_value *v = &g->vals[i];

		g->nvals++;
		if ((error = get_str(r, &v->subkey)) < 0 ||
		    (error = get_str(r, &v->name)) < 0)
			return error;
		if (get_u32(r, &flags) < 0 || flags > 3 ||
		    get_u32(r, &v->type) < 0)
			return PS_EFORMAT;
		v->existed = (int)(flags & 1);
		v->fix = (int)(flags >> 1);
		if ((error = get_blob(r, &v->data, &v->len)) < 0)
			return error;
	}
	if (get_u32(r, &n) < 0 || n > PS_GEN_MAX_FILES || n > r->left / 12)
		return PS_EFORMAT;
	g->files = calloc(n ? n : 1, sizeof(*g->files));
	if (!g->files)
		return PS_ENOMEM;
	for (i = 0; i < n; i++) {
		ps_gen_file *f = &g->files[i];

		g->nfiles++;
		if ((error = get_str(r, &f->path)) < 0)
			return error;
		if (get_u32(r, &flags) < 0 || flags > 3)
			return PS_EFORMAT;
		f->existed = (int)(flags & 1);
		f->written = (int)(flags >> 1);
		if ((error = get_blob(r, &f->data, &f->len)) < 0)
			return error;
	}
	return r->left ? decode_keys(g, r) : 0;
}

int ps_gen_decode(ps_generation *out, const uint8_t *data, size_t len)
{
	ps_generation g;
	reader r = { data, len };
	const uint8_t *bytes;
	ps_uid self;
	uint32_t n, np, tag, plen, form = PS_FORM_MAKE(PS_FORM_DEFAULT, 1);
	uint32_t i, j;
	int error = PS_EFORMAT, forms;

	memset(&g, 0, sizeof(g));
	if (len > PS_GEN_MAX_BYTES || get_bytes(&r, 4, &bytes) < 0)
		goto done;
	forms = !memcmp(bytes, GEN_MAGIC_FORMS, 4);
	if (!forms && memcmp(bytes, GEN_MAGIC, 4))
		goto done;
	if (get_u32(&r, &g.state) < 0 || get_u32(&r, &n) < 0)
		goto done;
	if (g.state != PS_GEN_PENDING && g.state != PS_GEN_COMMITTED)
		goto done;
	if (n > r.left / 12)
		goto done;
	g.units = calloc(n ? n : 1, sizeof(*g.units));
	if (!g.units) {
		error = PS_ENOMEM;
		goto done;
	}
	for (i = 0; i < n; i++, g.nunits++) {
		if (get_str(&r, &g.units[i].account) < 0 ||
		    get_str(&r, &g.units[i].source_dn) < 0 ||
		    get_str(&r, &g.units[i].target_dn) < 0) {
			g.nunits++;
			goto done;
		}
	}
	if (get_u32(&r, &n) < 0 || n > r.left / 20 ||
	    n > PS_GEN_MAX_SECTIONS)
		goto done;
	g.secs = calloc(n ? n : 1, sizeof(*g.secs));
	if (!g.secs) {
		error = PS_ENOMEM;
		goto done;
	}
	for (i = 0; i < n; i++) {
		g.nsecs++;
		if (get_bytes(&r, 16, &bytes) < 0)
			goto done;
		memcpy(g.secs[i].uid.b, bytes, 16);
		ps_backup_uid(&self);
		if (ps_uid_equal(&g.secs[i].uid, &self))
			goto done;
		for (j = 0; j < i; j++)
			if (ps_uid_equal(&g.secs[j].uid, &g.secs[i].uid))
				goto done;
		if (get_u32(&r, &np) < 0 || np > PS_GEN_MAX_PROPS)
			goto done;
		for (j = 0; j < np; j++) {
			ps_prop p;

			if (get_u32(&r, &tag) < 0 ||
			    (forms && get_u32(&r, &form) < 0) ||
			    get_u32(&r, &plen) < 0 ||
			    get_bytes(&r, plen, &bytes) < 0)
				goto done;
			/* The only other kind: a PT_STRING8 kept as 8-bit
			 * REG_BINARY.  (PSB1: usual kind, nothing before.) */
			if (PS_FORM_KIND(form) > PS_FORM_BINARY8 ||
			    (PS_FORM_KIND(form) == PS_FORM_BINARY8 &&
			     PS_PROP_TYPE(tag) != PS_PT_STRING8))
				goto done;
			if (ps_proplist_get(&g.secs[i].props, tag))
				goto done;
			p.tag = tag;
			p.len = plen;
			p.data = (uint8_t *)bytes;
			p.form = form;
			if (ps_proplist_put(&g.secs[i].props, &p) < 0) {
				error = PS_ENOMEM;
				goto done;
			}
		}
	}
	if (r.left && (error = decode_extra(&g, &r)) != 0)
		goto done;
	error = PS_EFORMAT;
	if (r.left)
		goto done;
	*out = g;
	return 0;
done:
	ps_gen_free(&g);
	if (error == PS_EFORMAT)
		ps_error_setc(PS_EFORMAT, "malformed backup generation");
	return error;
}

void ps_gen_free(ps_generation *g)
{
	size_t i, j;

	if (!g)
		return;
	for (i = 0; i < g->nunits; i++) {
		free(g->units[i].account);
		free(g->units[i].source_dn);
		free(g->units[i].target_dn);
	}
	free(g->units);
	for (i = 0; i < g->nsecs; i++)
		ps_proplist_free(&g->secs[i].props);
	free(g->secs);
	for (i = 0; i < g->nkeys; i++) {
		for (j = 0; j < g->keys[i].nvals; j++) {
			free(g->keys[i].vals[j].name);
			free(g->keys[i].vals[j].data);
		}
		free(g->keys[i].vals);
		free(g->keys[i].path);
	}
	free(g->keys);
	for (i = 0; i < g->nvals; i++) {
		free(g->vals[i].subkey);
		free(g->vals[i].name);
		free(g->vals[i].data);
	}
	free(g->vals);
	for (i = 0; i < g->nfiles; i++) {
		free(g->files[i].path);
		free(g->files[i].data);
	}
	free(g->files);
	memset(g, 0, sizeof(*g));
}

void ps_gens_free(ps_generation *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		ps_gen_free(&v[i]);
	free(v);
}

int ps_backup_list(ps_store *s, const char *profile, ps_generation **out,
		   size_t *n)
{
	ps_proplist props = PS_PROPLIST_INIT;
	ps_generation *v = NULL;
	ps_uid uid;
	size_t i, count = 0;
	unsigned num;
	int error;

	ps_backup_uid(&uid);
	error = ps_store_read_section(s, profile, &uid, &props);
	if (error == PS_ENOTFOUND) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (error < 0)
		return error;
	v = calloc(props.n ? props.n : 1, sizeof(*v));
	if (!v) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	/* Ascending by number: ids are few, scan them in order. */
	for (num = 1; num <= PS_BACKUP_MAX_GEN; num++) {
		uint32_t tag = PS_PROP_TAG(PS_PT_BINARY,
					   PS_BACKUP_ID_BASE + num);
		ps_prop *p = ps_proplist_get(&props, tag);

		if (!p)
			continue;
		error = ps_gen_decode(&v[count], p->data, p->len);
		if (error == PS_EFORMAT) {
			/* Kept, flagged: callers decide what it means. */
			memset(&v[count], 0, sizeof(v[count]));
			v[count].damaged = 1;
			error = 0;
		}
		if (error < 0)
			goto done;
		v[count++].number = num;
	}
	*out = v;
	*n = count;
	v = NULL;
done:
	for (i = 0; v && i < count; i++)
		ps_gen_free(&v[i]);
	free(v);
	ps_proplist_free(&props);
	return error;
}
