/*
 * The in-memory registry tree (see ps_reg.h).
 *
 * Children and values live in plain arrays, in order.  A key with more
 * than INDEX_MIN of either also gets a hash index by name (open
 * addressing, ASCII case folded), built on first lookup and kept up as
 * names are added, so that a file with a million sibling keys or values
 * reads in linear time; a removal or a reorder drops it, to be built
 * again by the next lookup.  Every hit is checked against the array;
 * code that reorders or replaces an array itself calls
 * ps_regkey_reindex() (a count that no longer matches is noticed too).
 * Key paths are limited to PS_REG_MAX_DEPTH names and
 * PS_REG_MAX_PATH characters so that the recursive walks stay shallow.
 */
#include "ps_reg.h"

#include <stdlib.h>
#include <string.h>

#include "../core/ps_error.h"
#include "../core/ps_str.h"

#define INDEX_MIN 16

struct ps_regindex {
	ps_regkey **sub;        /* NULL = empty slot */
	size_t subcap, subn;    /* subcap: 0 or a power of two */
	size_t *val;            /* index into vals + 1; 0 = empty slot */
	size_t valcap, valn;
};

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 16777619u;
	}
	return h;
}

static int name_eq(const char *a, const char *b, size_t blen)
{
	return strlen(a) == blen && !ps_strncasecmp(a, b, blen);
}

static struct ps_regindex *get_index(ps_regkey *k)
{
	if (!k->index)
		k->index = calloc(1, sizeof(*k->index));
	return k->index;
}

static void drop_subs(ps_regkey *k)
{
	if (!k->index)
		return;
	free(k->index->sub);
	k->index->sub = NULL;
	k->index->subcap = k->index->subn = 0;
}

static void drop_vals(ps_regkey *k)
{
	if (!k->index)
		return;
	free(k->index->val);
	k->index->val = NULL;
	k->index->valcap = k->index->valn = 0;
}

void ps_regkey_reindex(ps_regkey *k)
{
	drop_subs(k);
	drop_vals(k);
}

/* Put a subkey in the index (room is there: load at most one half). */
static void sub_put(struct ps_regindex *ix, ps_regkey *c)
{
	size_t m = ix->subcap - 1;
	size_t i = name_hash(c->name, strlen(c->name)) & m;

	while (ix->sub[i])
		i = (i + 1) & m;
	ix->sub[i] = c;
	ix->subn++;
}

static int sub_build(ps_regkey *k)
{
	struct ps_regindex *ix = get_index(k);
	size_t cap = 64, i;

	if (!ix)
		return -1;
	while (cap < k->nsub * 2 + 2)
		cap *= 2;
	free(ix->sub);
	ix->sub = calloc(cap, sizeof(*ix->sub));
	ix->subn = 0;
	ix->subcap = ix->sub ? cap : 0;
	if (!ix->sub)
		return -1;
	for (i = 0; i < k->nsub; i++)
		sub_put(ix, k->sub[i]);
	return 0;
}

/* A new subkey: into the index when there is one. */
static void sub_added(ps_regkey *k, ps_regkey *c)
{
	struct ps_regindex *ix = k->index;

	if (!ix || !ix->sub)
		return;
	if ((ix->subn + 1) * 2 > ix->subcap) {
		if (sub_build(k) < 0)
			drop_subs(k);
		return;         /* sub_build took k->sub, c included */
	}
	sub_put(ix, c);
}

static void val_put(struct ps_regindex *ix, const ps_regval *vals, size_t at)
{
	size_t m = ix->valcap - 1;
	size_t i = name_hash(vals[at].name, strlen(vals[at].name)) & m;

	while (ix->val[i])
		i = (i + 1) & m;
	ix->val[i] = at + 1;
	ix->valn++;
}

static int val_build(ps_regkey *k)
{
	struct ps_regindex *ix = get_index(k);
	size_t cap = 64, i;

	if (!ix)
		return -1;
	while (cap < k->nval * 2 + 2)
		cap *= 2;
	free(ix->val);
	ix->val = calloc(cap, sizeof(*ix->val));
	ix->valn = 0;
	ix->valcap = ix->val ? cap : 0;
	if (!ix->val)
		return -1;
	for (i = 0; i < k->nval; i++)
		val_put(ix, k->vals, i);
	return 0;
}

static void val_added(ps_regkey *k)
{
	struct ps_regindex *ix = k->index;

	if (!ix || !ix->val)
		return;
	if ((ix->valn + 1) * 2 > ix->valcap) {
		if (val_build(k) < 0)
			drop_vals(k);
		return;
	}
	val_put(ix, k->vals, k->nval - 1);
}

static ps_regkey *key_new(const char *name, size_t len)
{
	ps_regkey *k = calloc(1, sizeof(*k));

	if (!k) {
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	k->name = ps_strndup(name, len);
	if (!k->name) {
		free(k);
		return NULL;
	}
	return k;
}

static void key_free(ps_regkey *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->nsub; i++)
		key_free(k->sub[i]);
	for (i = 0; i < k->nval; i++) {
		free(k->vals[i].name);
		free(k->vals[i].data);
	}
	free(k->sub);
	free(k->vals);
	free(k->name);
	ps_regkey_reindex(k);
	free(k->index);
	free(k);
}

int ps_regtree_init(ps_regtree *t, int encoding)
{
	ps_regkey *root;

	if (encoding < PS_REGENC_UTF16 || encoding > PS_REGENC_ANSI5)
		return ps_error_set("unknown .reg encoding %d", encoding);
	root = key_new("", 0);
	if (!root)
		return PS_ENOMEM;
	root->implied = 1;
	t->root = root;
	t->encoding = encoding;
	t->unclean = 0;
	return 0;
}

void ps_regtree_free(ps_regtree *t)
{
	if (!t)
		return;
	key_free(t->root);
	t->root = NULL;
}

/* Linear search: for small keys, and for the position of a subkey. */
static ps_regkey *child_scan(const ps_regkey *k, const char *name, size_t len,
			     size_t *at)
{
	size_t i;

	for (i = 0; i < k->nsub; i++) {
		if (name_eq(k->sub[i]->name, name, len)) {
			if (at)
				*at = i;
			return k->sub[i];
		}
	}
	return NULL;
}

/* The direct subkey named name[0..len), case-insensitively; its index in
 * *at when at is not NULL (a linear search then). */
static ps_regkey *child(const ps_regkey *kc, const char *name, size_t len,
			size_t *at)
{
	ps_regkey *k = (ps_regkey *)kc;   /* the index is a cache */
	struct ps_regindex *ix;
	size_t m, i;

	if (at || k->nsub <= INDEX_MIN)
		return child_scan(k, name, len, at);
	ix = k->index;
	if ((!ix || !ix->sub) && sub_build(k) < 0)
		return child_scan(k, name, len, at);
	ix = k->index;
	m = ix->subcap - 1;
	for (i = name_hash(name, len) & m; ix->sub[i]; i = (i + 1) & m)
		if (name_eq(ix->sub[i]->name, name, len))
			return ix->sub[i];
	return NULL;
}

ps_regkey *ps_regkey_child(const ps_regkey *k, const char *name)
{
	return child(k, name, strlen(name), NULL);
}

/* Length of the next path element starting at p (up to '\\' or NUL). */
static size_t elem_len(const char *p)
{
	const char *e = strchr(p, '\\');

	return e ? (size_t)(e - p) : strlen(p);
}

ps_regkey *ps_regkey_find(ps_regkey *from, const char *path)
{
	ps_regkey *k = from;
	const char *p = path;
	size_t n;

	if (!*p)
		return from;
	for (;;) {
		n = elem_len(p);
		if (!n)
			return NULL;
		k = child(k, p, n, NULL);
		if (!k)
			return NULL;
		if (!p[n])
			return k;
		p += n + 1;
	}
}

/* Characters (code points) of a UTF-8 string's first len bytes. */
static size_t nchars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* Checks path (relative to from) against the limits and the syntax. */
static int check_path(const ps_regkey *from, const char *path)
{
	const ps_regkey *k;
	size_t depth = 0, chars = 0, n;
	const char *p;

	for (k = from; k && k->parent; k = k->parent) {
		depth++;
		chars += nchars(k->name, strlen(k->name)) + 1;
	}
	for (p = path;; p += n + 1) {
		n = elem_len(p);
		if (!n)
			return ps_error_setc(PS_EFORMAT,
					     "empty key name in path \"%s\"",
					     path);
		depth++;
		chars += nchars(p, n) + 1;
		if (!p[n])
			break;
	}
	if (depth > PS_REG_MAX_DEPTH)
		return ps_error_setc(PS_ELIMIT,
				     "key path deeper than %d keys",
				     PS_REG_MAX_DEPTH);
	if (chars - 1 > PS_REG_MAX_PATH)
		return ps_error_setc(PS_ELIMIT,
				     "key path longer than %d characters",
				     PS_REG_MAX_PATH);
	return 0;
}

/* The registry's order of sibling names: case-insensitive with ASCII
 * letters folded to upper case (so "_x" sorts after "a", as in regedit),
 * then by bytes. */
static int order_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (ca >= 'a' && ca <= 'z')
			ca -= 'a' - 'A';
		if (cb >= 'a' && cb <= 'z')
			cb -= 'a' - 'A';
		if (ca != cb || !ca)
			return ca - cb;
	}
}

/* Inserts k among parent's subkeys before the first that sorts after
 * it. */
static int insert_sorted(ps_regkey *parent, ps_regkey *k)
{
	size_t i;

	if (parent->nsub == parent->capsub) {
		size_t cap = parent->capsub ? parent->capsub * 2 : 4;
		ps_regkey **v = realloc(parent->sub, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		parent->sub = v;
		parent->capsub = cap;
	}
	/* Keys mostly come in order (hives, sorted exports): after the
	 * last one without a scan. */
	i = parent->nsub;
	if (i && order_cmp(parent->sub[i - 1]->name, k->name) > 0)
		for (i = 0; i < parent->nsub; i++)
			if (order_cmp(parent->sub[i]->name, k->name) > 0)
				break;
	memmove(parent->sub + i + 1, parent->sub + i,
		(parent->nsub - i) * sizeof(*parent->sub));
	parent->sub[i] = k;
	parent->nsub++;
	k->parent = parent;
	sub_added(parent, k);
	return 0;
}

int ps_regkey_create_last(ps_regkey *parent, const char *name,
			  ps_regkey **out)
{
	ps_regkey *k;
	int rc;

	if (child(parent, name, strlen(name), NULL))
		return ps_error_setc(PS_ERROR, "key \"%s\" exists", name);
	rc = check_path(parent, name);
	if (rc < 0)
		return rc;
	if (strchr(name, '\\'))
		return ps_error_setc(PS_EFORMAT, "\"%s\" is not one key name",
				     name);
	if (parent->nsub == parent->capsub) {
		size_t cap = parent->capsub ? parent->capsub * 2 : 4;
		ps_regkey **v = realloc(parent->sub, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		parent->sub = v;
		parent->capsub = cap;
	}
	k = key_new(name, strlen(name));
	if (!k)
		return PS_ENOMEM;
	k->implied = parent->implied;
	k->parent = parent;
	parent->sub[parent->nsub++] = k;
	sub_added(parent, k);
	*out = k;
	return 0;
}

int ps_regkey_create(ps_regkey *from, const char *path, ps_regkey **out)
{
	ps_regkey *k = from, *next, *first = NULL;
	const char *p = path;
	size_t n, at = 0;
	int rc;

	if (!*p) {
		*out = from;
		return 0;
	}
	rc = check_path(from, path);
	if (rc < 0)
		return rc;
	for (;; p += n + 1) {
		n = elem_len(p);
		next = child(k, p, n, NULL);
		if (!next) {
			next = key_new(p, n);
			if (!next) {
				rc = PS_ENOMEM;
				goto cleanup;
			}
			/* An intermediate key is implied when its parent
			 * is: it sits above everything named so far. */
			next->implied = k->implied;
			rc = insert_sorted(k, next);
			if (rc < 0) {
				key_free(next);
				goto cleanup;
			}
			if (!first)
				first = next;
		}
		k = next;
		if (!p[n])
			break;
	}
	k->implied = 0;
	*out = k;
	return 0;
cleanup:
	/* Undo: remove the first key this call added (with what is below
	 * it), so that the tree is as it was. */
	if (first && child(first->parent, first->name, strlen(first->name),
			   &at) == first) {
		ps_regkey *parent = first->parent;

		memmove(parent->sub + at, parent->sub + at + 1,
			(parent->nsub - at - 1) * sizeof(*parent->sub));
		parent->nsub--;
		drop_subs(parent);
		key_free(first);
	}
	return rc;
}

int ps_regkey_delete(ps_regkey *parent, const char *name)
{
	ps_regkey *k;
	size_t at = 0;

	k = child(parent, name, strlen(name), &at);
	if (!k)
		return ps_error_setc(PS_ENOTFOUND, "no key \"%s\"", name);
	memmove(parent->sub + at, parent->sub + at + 1,
		(parent->nsub - at - 1) * sizeof(*parent->sub));
	parent->nsub--;
	drop_subs(parent);
	key_free(k);
	return 0;
}

static ps_regval *value_scan(const ps_regkey *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nval; i++)
		if (!ps_strcasecmp(k->vals[i].name, name))
			return &k->vals[i];
	return NULL;
}

ps_regval *ps_regkey_value(const ps_regkey *kc, const char *name)
{
	ps_regkey *k = (ps_regkey *)kc;   /* the index is a cache */
	struct ps_regindex *ix = k->index;
	size_t m, i, len = strlen(name), at;
	int rebuilt = 0;

	if (k->nval <= INDEX_MIN)
		return value_scan(k, name);
again:
	if ((!ix || !ix->val) && val_build(k) < 0)
		return value_scan(k, name);
	ix = k->index;
	m = ix->valcap - 1;
	for (i = name_hash(name, len) & m; ix->val[i]; i = (i + 1) & m) {
		at = ix->val[i] - 1;
		if (at < k->nval && !ps_strcasecmp(k->vals[at].name, name))
			return &k->vals[at];
	}
	/* Not found: right, unless the array was moved under the index
	 * (counts differ); then once more with a fresh index. */
	if (!rebuilt && ix->valn != k->nval) {
		rebuilt = 1;
		drop_vals(k);
		goto again;
	}
	return NULL;
}

int ps_regkey_set(ps_regkey *k, const char *name, uint32_t type,
		  const void *data, size_t len)
{
	ps_regval *v = ps_regkey_value(k, name);
	uint8_t *copy = NULL;
	char *vname = NULL;

	if (len) {
		if (!data)
			return ps_error_set("value \"%s\": no data", name);
		copy = malloc(len);
		if (!copy)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		memcpy(copy, data, len);
	}
	if (v) {
		free(v->data);
		v->data = copy;
		v->len = len;
		v->type = type;
		return 0;
	}
	if (k->nval == k->capval) {
		size_t cap = k->capval ? k->capval * 2 : 8;
		ps_regval *vals = realloc(k->vals, cap * sizeof(*vals));

		if (!vals)
			goto nomem;
		k->vals = vals;
		k->capval = cap;
	}
	vname = ps_strdup(name);
	if (!vname)
		goto nomem;
	v = &k->vals[k->nval++];
	v->name = vname;
	v->type = type;
	v->data = copy;
	v->len = len;
	val_added(k);
	return 0;
nomem:
	free(copy);
	return ps_error_setc(PS_ENOMEM, "out of memory");
}

int ps_regkey_unset(ps_regkey *k, const char *name)
{
	ps_regval *v = ps_regkey_value(k, name);
	size_t at;

	if (!v)
		return ps_error_setc(PS_ENOTFOUND, "no value \"%s\"", name);
	at = (size_t)(v - k->vals);
	free(v->name);
	free(v->data);
	memmove(k->vals + at, k->vals + at + 1,
		(k->nval - at - 1) * sizeof(*k->vals));
	k->nval--;
	drop_vals(k);
	return 0;
}

char *ps_regkey_path(const ps_regkey *k)
{
	const ps_regkey *a;
	size_t len = 0, n;
	char *s, *p;

	for (a = k; a && a->parent; a = a->parent)
		len += strlen(a->name) + 1;
	s = malloc(len ? len : 1);
	if (!s) {
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	/* Fill from the end: "name" preceded by '\\' except at the start. */
	p = s + (len ? len - 1 : 0);
	*p = '\0';
	for (a = k; a && a->parent; a = a->parent) {
		n = strlen(a->name);
		p -= n;
		memcpy(p, a->name, n);
		if (p > s)
			*--p = '\\';
	}
	return s;
}

/* A deep copy of k's values and subkeys into the empty key `to`. */
static int copy_into(ps_regkey *to, const ps_regkey *k)
{
	size_t i;
	int rc;

	to->implied = k->implied;
	for (i = 0; i < k->nval; i++) {
		rc = ps_regkey_set(to, k->vals[i].name, k->vals[i].type,
				   k->vals[i].data, k->vals[i].len);
		if (rc < 0)
			return rc;
	}
	if (k->nsub) {
		to->sub = calloc(k->nsub, sizeof(*to->sub));
		if (!to->sub)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		to->capsub = k->nsub;
	}
	/* Same order as the original (not re-sorted). */
	for (i = 0; i < k->nsub; i++) {
		ps_regkey *c = key_new(k->sub[i]->name,
				       strlen(k->sub[i]->name));

		if (!c)
			return PS_ENOMEM;
		c->parent = to;
		to->sub[to->nsub++] = c;
		rc = copy_into(c, k->sub[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ps_regtree_copy(ps_regtree *out, const ps_regtree *t)
{
	ps_regtree copy;
	int rc = ps_regtree_init(&copy, t->encoding);

	if (rc < 0)
		return rc;
	rc = copy_into(copy.root, t->root);
	if (rc < 0) {
		ps_regtree_free(&copy);
		return rc;
	}
	copy.unclean = t->unclean;
	*out = copy;
	return 0;
}
