/*
 * The in-memory registry tree (see ps_reg.h).
 *
 * Children and values live in plain arrays searched linearly: a profile
 * section has a few dozen values and a profile a few dozen sections.
 * Key paths are limited to PS_REG_MAX_DEPTH names and PS_REG_MAX_PATH
 * characters so that the recursive walks below stay shallow.
 */
#include "ps_reg.h"

#include <stdlib.h>
#include <string.h>

#include "../core/ps_error.h"
#include "../core/ps_str.h"

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

/* The direct subkey named name[0..len), case-insensitively; its index in
 * *at when at is not NULL. */
static ps_regkey *child(const ps_regkey *k, const char *name, size_t len,
			size_t *at)
{
	size_t i;

	for (i = 0; i < k->nsub; i++) {
		const char *n = k->sub[i]->name;

		if (strlen(n) == len && !ps_strncasecmp(n, name, len)) {
			if (at)
				*at = i;
			return k->sub[i];
		}
	}
	return NULL;
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
	for (i = 0; i < parent->nsub; i++)
		if (order_cmp(parent->sub[i]->name, k->name) > 0)
			break;
	memmove(parent->sub + i + 1, parent->sub + i,
		(parent->nsub - i) * sizeof(*parent->sub));
	parent->sub[i] = k;
	parent->nsub++;
	k->parent = parent;
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
	key_free(k);
	return 0;
}

ps_regval *ps_regkey_value(const ps_regkey *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nval; i++)
		if (!ps_strcasecmp(k->vals[i].name, name))
			return &k->vals[i];
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
