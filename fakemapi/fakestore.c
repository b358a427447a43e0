/*
 * The fake store port over a registry tree.
 *
 * A section handle keeps a working copy of the section's properties;
 * set_props / delete_props change the copy, save_section writes it to the
 * tree (so a failed save leaves the section as it was), flush writes the
 * tree to its file atomically through the system port.
 */
#include "ps_fakestore.h"
#include "ps_hive.h"

#include <stdlib.h>
#include <string.h>

#include "../core/ps_error.h"
#include "../core/ps_utf.h"

#define SERVICES_SECTION "9207f3e0a3b11019908b08002b2a56c2"
#define REG_BINARY 3u
#define REG_SZ 1u

typedef struct fakestore {
	ps_store base;
	ps_regtree tree;
	ps_system *sys;
	char *path;
	int dirty;
	int hive;           /* path is an NTUSER.DAT hive */
	ps_regtree snap;    /* hive: the tree as in the file */
} fakestore;

struct ps_section {
	char *profile;
	ps_uid uid;
	ps_proplist props;
};

static const char *const hive_prefixes[] = { "HKEY_CURRENT_USER", NULL };

static const char *const profile_roots[] = {
	"Software\\Microsoft\\Office\\16.0\\Outlook\\Profiles",
	"Software\\Microsoft\\Office\\15.0\\Outlook\\Profiles",
	"Software\\Microsoft\\Windows NT\\CurrentVersion\\"
	"Windows Messaging Subsystem\\Profiles",
	NULL
};

static fakestore *fs_of(ps_store *s)
{
	return (fakestore *)s;
}

/* The user's hive key: HKEY_CURRENT_USER, or the single HKEY_USERS\SID. */
static ps_regkey *user_hive(fakestore *fs)
{
	ps_regkey *k = NULL, *users;
	size_t i;

	for (i = 0; hive_prefixes[i] && !k; i++)
		k = ps_regkey_find(fs->tree.root, hive_prefixes[i]);
	if (k)
		return k;
	users = ps_regkey_find(fs->tree.root, "HKEY_USERS");
	if (users && users->nsub == 1)
		return users->sub[0];
	return NULL;
}

static ps_regkey *profiles_root(fakestore *fs, int *legacy)
{
	ps_regkey *hive = user_hive(fs), *k;
	size_t i;

	if (!hive)
		return NULL;
	for (i = 0; profile_roots[i]; i++) {
		k = ps_regkey_find(hive, profile_roots[i]);
		if (k) {
			if (legacy)
				*legacy = i == 2;
			return k;
		}
	}
	return NULL;
}

static ps_regkey *profile_key(fakestore *fs, const char *profile)
{
	ps_regkey *root = profiles_root(fs, NULL);
	size_t i;

	if (!root)
		return NULL;
	for (i = 0; i < root->nsub; i++)
		if (!ps_strcasecmp(root->sub[i]->name, profile))
			return root->sub[i];
	return NULL;
}

static ps_regkey *child(ps_regkey *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nsub; i++)
		if (!ps_strcasecmp(k->sub[i]->name, name))
			return k->sub[i];
	return NULL;
}

static int fs_list_profiles(ps_store *s, ps_strlist *out)
{
	ps_regkey *root = profiles_root(fs_of(s), NULL);
	ps_strlist l = PS_STRLIST_INIT;
	size_t i;

	for (i = 0; root && i < root->nsub; i++) {
		if (ps_strlist_add(&l, root->sub[i]->name) < 0) {
			ps_strlist_free(&l);
			return PS_ENOMEM;
		}
	}
	*out = l;
	return 0;
}

static int reg_sz_value(const ps_regval *v, char **out)
{
	ps_buf b = PS_BUF_INIT;
	size_t len = v->len & ~(size_t)1;

	while (len >= 2 && !v->data[len - 1] && !v->data[len - 2])
		len -= 2;
	if (ps_utf16le_to_utf8(&b, v->data, len) < 0) {
		ps_buf_free(&b);
		return PS_EFORMAT;
	}
	*out = ps_buf_detach(&b);
	return *out ? 0 : PS_ENOMEM;
}

static int fs_default_profile(ps_store *s, char **out)
{
	fakestore *fs = fs_of(s);
	int legacy = 0;
	ps_regkey *root = profiles_root(fs, &legacy), *holder;
	ps_regval *v;

	if (!root)
		return ps_error_setc(PS_ENOTFOUND, "no Outlook profiles");
	/* 2013+: ...\Outlook\DefaultProfile; before: ...\Profiles. */
	holder = legacy ? root : root->parent;
	v = ps_regkey_value(holder, "DefaultProfile");
	if (!v || (v->type != REG_SZ && v->type != 2u))
		return ps_error_setc(PS_ENOTFOUND, "no default profile set");
	return reg_sz_value(v, out);
}

/*
 * Properties of a section key: values named TTTTIIII that are REG_BINARY
 * (the property's bytes), or REG_SZ for a PT_STRING8, which is how Outlook
 * writes those (UTF-16LE text, read as Windows-1252 bytes with a NUL the
 * way MAPI's ANSI conversion gives them).  Any other value (Outlook's
 * S010267f0, a name that is not a tag, another type) is not a property.
 */
static int value_tag(const ps_regval *v, uint32_t *tag)
{
	uint32_t t;

	if (ps_prop_parse_name(v->name, &t) < 0)
		return 0;
	if (v->type != REG_BINARY &&
	    !(v->type == REG_SZ && PS_PROP_TYPE(t) == PS_PT_STRING8))
		return 0;
	*tag = t;
	return 1;
}

/* The property a value holds (value_tag said yes): data into *b, form. */
static int value_prop(const ps_regval *v, uint32_t tag, ps_buf *b,
		      unsigned *form)
{
	*form = PS_FORM_DEFAULT;
	if (v->type == REG_SZ)
		return ps_utf16le_to_cp1252(b, v->data, v->len, NULL) < 0 ||
		       ps_buf_put(b, "", 1) < 0 ? PS_ENOMEM : 0;
	if (PS_PROP_TYPE(tag) == PS_PT_STRING8)
		*form = PS_FORM_BINARY8;
	return v->len && ps_buf_put(b, v->data, v->len) < 0 ? PS_ENOMEM : 0;
}

/* Each prop's form says how many values that are not properties stand
 * before it (ps_prop.h), so that a restore puts them back in place. */
static int key_props(const ps_regkey *k, ps_proplist *out)
{
	size_t i, others = 0;
	uint32_t tag;

	for (i = 0; i < k->nval; i++) {
		const ps_regval *v = &k->vals[i];
		ps_buf b = PS_BUF_INIT;
		ps_prop p;
		int error;

		if (!value_tag(v, &tag)) {
			others++;
			continue;
		}
		error = value_prop(v, tag, &b, &p.form);
		p.form = PS_FORM_MAKE(p.form, others + 1);
		p.tag = tag;
		p.data = (uint8_t *)b.ptr;
		p.len = b.len;
		if (!error)
			error = ps_proplist_put(out, &p);
		ps_buf_free(&b);
		if (error < 0)
			return PS_ENOMEM;
	}
	return 0;
}

/* A binary-typed property's value (service lists, UIDs). */
static ps_regval *key_prop(const ps_regkey *k, uint32_t tag)
{
	char name[9];
	ps_regval *v;

	ps_prop_name(tag, name);
	v = ps_regkey_value(k, name);
	return v && v->type == REG_BINARY ? v : NULL;
}

static int string_of(const ps_regkey *k, uint16_t id, char **out)
{
	static const uint16_t types[] = { PS_PT_UNICODE, PS_PT_STRING8 };
	ps_regval *v = NULL;
	ps_buf b = PS_BUF_INIT;
	ps_prop p;
	char name[9];
	size_t i;
	uint32_t tag = 0;
	int error;

	for (i = 0; i < 2 && !v; i++) {
		tag = PS_PROP_TAG(types[i], id);
		ps_prop_name(tag, name);
		v = ps_regkey_value(k, name);
		if (v && !value_tag(v, &tag))
			v = NULL;
	}
	if (!v || value_prop(v, tag, &b, &p.form) < 0) {
		ps_buf_free(&b);
		*out = ps_strdup("");
		return *out ? 0 : PS_ENOMEM;
	}
	p.tag = tag;
	p.data = (uint8_t *)b.ptr;
	p.len = b.len;
	error = ps_prop_string(&p, out);
	ps_buf_free(&b);
	if (error < 0) {
		*out = ps_strdup("");
		return *out ? 0 : PS_ENOMEM;
	}
	return 0;
}

static int add_service(ps_service **v, size_t *n, size_t *cap,
		       const ps_uid *uid, const ps_regkey *sec)
{
	ps_service *svc;

	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		ps_service *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		*v = nv;
		*cap = c;
	}
	svc = &(*v)[*n];
	memset(svc, 0, sizeof(*svc));
	svc->uid = *uid;
	if (!sec) {
		svc->service_name = ps_strdup("");
		svc->display_name = ps_strdup("");
	} else {
		if (string_of(sec, PS_ID_SERVICE_NAME, &svc->service_name))
			return PS_ENOMEM;
		if (string_of(sec, PS_ID_DISPLAY_NAME, &svc->display_name)) {
			free(svc->service_name);
			return PS_ENOMEM;
		}
	}
	if (!svc->service_name || !svc->display_name) {
		free(svc->service_name);
		free(svc->display_name);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	(*n)++;
	return 0;
}

static int fs_list_services(ps_store *s, const char *profile,
			    ps_service **out, size_t *count)
{
	ps_regkey *prof = profile_key(fs_of(s), profile), *svcsec;
	ps_service *v = NULL;
	size_t n = 0, cap = 0, i;
	ps_regval *list;
	ps_uid uid;
	char hex[33];
	int error = 0;

	if (!prof)
		return ps_error_setc(PS_ENOTFOUND, "no profile '%s'", profile);
	svcsec = child(prof, SERVICES_SECTION);
	list = svcsec ? key_prop(svcsec, PS_PR_SERVICES) : NULL;
	if (list && list->len % 16)
		return ps_error_setc(PS_EFORMAT, "profile '%s': 01023d0e "
				     "(service list) is %zu bytes, not a "
				     "multiple of 16", profile, list->len);
	if (list) {
		for (i = 0; i + 16 <= list->len && !error; i += 16) {
			memcpy(uid.b, list->data + i, 16);
			ps_uid_format(&uid, hex);
			error = add_service(&v, &n, &cap, &uid,
					    child(prof, hex));
		}
	} else {
		/* No service list: sections that are their own service. */
		for (i = 0; i < prof->nsub && !error; i++) {
			ps_regkey *sec = prof->sub[i];
			ps_regval *self = key_prop(sec, PS_PR_SERVICE_UID);

			if (ps_uid_parse(&uid, sec->name) < 0 || !self ||
			    self->len != 16 || memcmp(self->data, uid.b, 16))
				continue;
			error = add_service(&v, &n, &cap, &uid, sec);
		}
	}
	if (error < 0) {
		ps_services_free(v, n);
		return error;
	}
	*out = v;
	*count = n;
	return 0;
}

static int fs_open_section(ps_store *s, const char *profile,
			   const ps_uid *uid, unsigned flags,
			   ps_section **out)
{
	ps_regkey *prof = profile_key(fs_of(s), profile), *key;
	ps_section *sec;
	char hex[33];

	if (!prof)
		return ps_error_setc(PS_ENOTFOUND, "no profile '%s'", profile);
	ps_uid_format(uid, hex);
	key = child(prof, hex);
	if (!key && !(flags & PS_OPEN_CREATE))
		return ps_error_setc(PS_ENOTFOUND,
			"profile '%s' has no section %s", profile, hex);
	sec = calloc(1, sizeof(*sec));
	if (!sec)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	sec->uid = *uid;
	sec->profile = ps_strdup(prof->name);
	if (!sec->profile || (key && key_props(key, &sec->props) < 0)) {
		ps_proplist_free(&sec->props);
		free(sec->profile);
		free(sec);
		return PS_ENOMEM;
	}
	*out = sec;
	return 0;
}

static int fs_get_props(ps_store *s, ps_section *sec, ps_proplist *out)
{
	ps_proplist l = PS_PROPLIST_INIT;

	(void)s;
	if (ps_proplist_copy(&l, &sec->props) < 0) {
		ps_proplist_free(&l);
		return PS_ENOMEM;
	}
	*out = l;
	return 0;
}

static int fs_set_props(ps_store *s, ps_section *sec, const ps_prop *props,
			size_t n)
{
	size_t i;

	(void)s;
	for (i = 0; i < n; i++)
		if (ps_proplist_put(&sec->props, &props[i]) < 0)
			return PS_ENOMEM;
	return 0;
}

static int fs_delete_props(ps_store *s, ps_section *sec,
			   const uint32_t *tags, size_t n)
{
	size_t i;

	(void)s;
	for (i = 0; i < n; i++)
		ps_proplist_remove(&sec->props, tags[i]);
	return 0;
}

/* Does the value hold exactly this property (after conversion)? */
static int value_equal(const ps_regval *v, const ps_prop *p)
{
	ps_buf b = PS_BUF_INIT;
	uint32_t tag;
	unsigned form;
	int eq;

	if (!v || !value_tag(v, &tag) || tag != p->tag)
		return 0;
	if (v->type == REG_BINARY)
		return v->len == p->len &&
		       (!p->len || !memcmp(v->data, p->data, p->len));
	if (value_prop(v, tag, &b, &form) < 0)
		return 0;
	eq = b.len == p->len && (!p->len || !memcmp(b.ptr, p->data, p->len));
	ps_buf_free(&b);
	return eq;
}

/* The registry value for a property: a PT_STRING8 as REG_SZ (UTF-16LE
 * with its NUL) when `sz`, anything else as REG_BINARY with its bytes. */
static int set_value(ps_regkey *key, const char *name, const ps_prop *p,
		     int sz)
{
	ps_buf u8 = PS_BUF_INIT, u16 = PS_BUF_INIT;
	size_t len = p->len;
	int error;

	if (!sz)
		return ps_regkey_set(key, name, REG_BINARY, p->data, p->len);
	while (len && !p->data[len - 1])
		len--;
	error = ps_cp1252_to_utf8(&u8, p->data, len);
	if (!error)
		error = ps_utf8_to_utf16le(&u16, u8.ptr, u8.len);
	if (!error)
		error = ps_buf_put(&u16, "\0", 2);
	if (!error)
		error = ps_regkey_set(key, name, REG_SZ, u16.ptr, u16.len);
	ps_buf_free(&u8);
	ps_buf_free(&u16);
	return error < 0 ? PS_ENOMEM : 0;
}

/* Put the key's property values in the handle's order, so that restoring
 * a snapshot restores the order too.  Values that are not properties
 * (Outlook's S010267f0, ...) keep their order and their place among the
 * properties: before each property come as many of them as its form says
 * stood before it when it was read (a new property: after all of them). */
static int reorder_values(ps_regkey *key, const ps_proplist *props,
			  int *moved)
{
	ps_regval *v = calloc(key->nval + 1, sizeof(*v));
	size_t *others = calloc(key->nval + 1, sizeof(*others));
	size_t n = 0, i, nothers = 0, emitted = 0, gap;
	uint32_t tag;
	char name[9];

	if (!v || !others) {
		free(v);
		free(others);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	for (i = 0; i < key->nval; i++)
		if (!value_tag(&key->vals[i], &tag))
			others[nothers++] = i;
	for (i = 0; i < props->n; i++) {
		ps_regval *cur;

		ps_prop_name(props->v[i].tag, name);
		cur = ps_regkey_value(key, name);
		if (!cur)
			continue;
		gap = PS_FORM_GAP(props->v[i].form);
		gap = gap ? gap - 1 : nothers;
		while (emitted < gap && emitted < nothers)
			v[n++] = key->vals[others[emitted++]];
		v[n++] = *cur;
	}
	while (emitted < nothers)
		v[n++] = key->vals[others[emitted++]];
	free(others);
	if (n != key->nval) {
		free(v);
		return ps_error_set("internal error: section values lost");
	}
	for (i = 0; i < n; i++)
		if (v[i].name != key->vals[i].name)
			*moved = 1;
	memcpy(key->vals, v, n * sizeof(*v));
	ps_regkey_reindex(key);
	free(v);
	return 0;
}

/* A deep copy of a key's values (all or nothing). */
static int copy_vals(const ps_regkey *k, ps_regval **out)
{
	ps_regval *v = calloc(k->nval ? k->nval : 1, sizeof(*v));
	size_t i;

	if (!v)
		return PS_ENOMEM;
	for (i = 0; i < k->nval; i++) {
		v[i].name = ps_strdup(k->vals[i].name);
		v[i].type = k->vals[i].type;
		v[i].len = k->vals[i].len;
		v[i].data = k->vals[i].len ? malloc(k->vals[i].len) : NULL;
		if (!v[i].name || (k->vals[i].len && !v[i].data)) {
			for (; ; i--) {
				free(v[i].name);
				free(v[i].data);
				if (!i)
					break;
			}
			free(v);
			return PS_ENOMEM;
		}
		if (k->vals[i].len)
			memcpy(v[i].data, k->vals[i].data, k->vals[i].len);
	}
	*out = v;
	return 0;
}

static void free_vals(ps_regval *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].data);
	}
	free(v);
}

/* Put the key's values back as copy_vals saw them (takes `saved`). */
static void restore_vals(ps_regkey *k, ps_regval *saved, size_t n)
{
	free_vals(k->vals, k->nval);
	k->vals = saved;
	k->nval = n;
	ps_regkey_reindex(k);
	k->capval = n ? n : 1;
}

static int save_into(fakestore *fs, ps_section *sec, ps_regkey *key,
		     const char *hex);

/* SaveChanges: the key ends up exactly as the handle says, or, when
 * anything fails (out of memory half-way), exactly as it was. */
static int fs_save_section(ps_store *s, ps_section *sec)
{
	fakestore *fs = fs_of(s);
	ps_regkey *prof = profile_key(fs, sec->profile), *key;
	ps_regval *saved = NULL;
	size_t nsaved;
	char hex[33];
	int error, dirty = fs->dirty, created = 0;

	if (!prof)
		return ps_error_setc(PS_ENOTFOUND, "profile '%s' is gone",
				     sec->profile);
	ps_uid_format(&sec->uid, hex);
	key = child(prof, hex);
	if (!key) {
		if (!sec->props.n)
			return 0;
		if (ps_regkey_create(prof, hex, &key) < 0)
			return PS_ENOMEM;
		created = 1;
	}
	if (copy_vals(key, &saved) < 0) {
		if (created)
			ps_regkey_delete(prof, hex);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	nsaved = key->nval;
	error = save_into(fs, sec, key, hex);
	if (error < 0) {
		if (created)
			ps_regkey_delete(prof, hex);
		else
			restore_vals(key, saved, nsaved);
		if (created)
			free_vals(saved, nsaved);
		fs->dirty = dirty;
		return error;
	}
	free_vals(saved, nsaved);
	if (created)
		fs->dirty = 1;
	return 0;
}

static int save_into(fakestore *fs, ps_section *sec, ps_regkey *key,
		     const char *hex)
{
	char name[9];
	size_t i;
	uint32_t tag;
	int moved = 0;

	/* A value with a property's name but another registry type is not
	 * a property MAPI knows: never overwrite it (the caller undoes). */
	for (i = 0; i < sec->props.n; i++) {
		ps_regval *v;

		ps_prop_name(sec->props.v[i].tag, name);
		v = ps_regkey_value(key, name);
		if (v && !value_tag(v, &tag))
			return ps_error_setc(PS_EFORMAT, "section %s: value "
				"%s has registry type %u, which no property "
				"of that type has; refusing to overwrite it",
				hex, name, (unsigned)v->type);
	}
	/* Remove property values that the handle no longer has. */
	for (i = key->nval; i-- > 0;) {
		ps_regval *v = &key->vals[i];

		if (!value_tag(v, &tag) || ps_proplist_get(&sec->props, tag))
			continue;
		ps_regkey_unset(key, v->name);
		fs->dirty = 1;
	}
	/* Set what changed: in the form the value has; a new PT_STRING8
	 * as REG_SZ as Outlook writes it, unless the handle says it was
	 * 8-bit REG_BINARY (a value restored from a backup). */
	for (i = 0; i < sec->props.n; i++) {
		const ps_prop *p = &sec->props.v[i];
		ps_regval *v;
		int sz;

		ps_prop_name(p->tag, name);
		v = ps_regkey_value(key, name);
		if (value_equal(v, p))
			continue;
		if (v)
			sz = v->type == REG_SZ;
		else
			sz = PS_PROP_TYPE(p->tag) == PS_PT_STRING8 &&
			     PS_FORM_KIND(p->form) != PS_FORM_BINARY8;
		if (set_value(key, name, p, sz) < 0)
			return PS_ENOMEM;
		fs->dirty = 1;
	}
	if (reorder_values(key, &sec->props, &moved) < 0)
		return PS_ERROR;
	if (moved)
		fs->dirty = 1;
	return 0;
}

static void fs_close_section(ps_store *s, ps_section *sec)
{
	(void)s;
	ps_proplist_free(&sec->props);
	free(sec->profile);
	free(sec);
}

static int fs_delete_section(ps_store *s, const char *profile,
			     const ps_uid *uid)
{
	fakestore *fs = fs_of(s);
	ps_regkey *prof = profile_key(fs, profile);
	char hex[33];
	ps_regkey *key;
	size_t i;
	uint32_t tag;

	if (!prof)
		return ps_error_setc(PS_ENOTFOUND, "no profile '%s'", profile);
	ps_uid_format(uid, hex);
	key = child(prof, hex);
	if (!key)
		return ps_error_setc(PS_ENOTFOUND,
			"profile '%s' has no section %s", profile, hex);
	/* MAPI knows properties only: a key that also holds other values
	 * or subkeys keeps them (and so stays); only its properties go. */
	for (i = key->nval; i-- > 0;)
		if (value_tag(&key->vals[i], &tag))
			ps_regkey_unset(key, key->vals[i].name);
	if (!key->nval && !key->nsub)
		ps_regkey_delete(prof, hex);
	fs->dirty = 1;
	return 0;
}

/* Write the changes since the load (or the last flush) into the hive:
 * the file is read again, libhivex applies the difference to a copy, and
 * the system port replaces the file atomically. */
static int hive_flush(fakestore *fs)
{
	uint8_t *data = NULL, *out = NULL;
	size_t len = 0, out_len = 0, changes = 0;
	ps_regtree snap;
	int error;

	error = ps_sys_read_file(fs->sys, fs->path, PS_FAKESTORE_MAX_FILE,
				 &data, &len);
	if (error == PS_ELIMIT)
		return ps_error_setc(PS_ELIMIT, "%s: larger than the %u MiB "
				     "a hive may have", fs->path,
				     PS_FAKESTORE_MAX_FILE >> 20);
	if (error < 0)
		return error;
	error = ps_hive_apply(fs->path, data, len, &fs->snap, &fs->tree,
			      &out, &out_len, &changes);
	free(data);
	if (!error && changes)
		error = ps_sys_write_file(fs->sys, fs->path, out, out_len);
	free(out);
	if (error < 0)
		return error;
	/* The file now holds the tree: it is the next flush's base. */
	error = ps_regtree_copy(&snap, &fs->tree);
	if (error < 0)
		return error;
	ps_regtree_free(&fs->snap);
	fs->snap = snap;
	fs->dirty = 0;
	return 0;
}

static int fs_flush(ps_store *s)
{
	fakestore *fs = fs_of(s);
	ps_buf b = PS_BUF_INIT;
	int error;

	if (!fs->path)
		fs->dirty = 0;
	if (!fs->dirty)
		return 0;
	if (fs->hive)
		return hive_flush(fs);
	error = ps_regtree_write(&fs->tree, &b);
	if (!error)
		error = ps_sys_write_file(fs->sys, fs->path, b.ptr, b.len);
	ps_buf_free(&b);
	if (!error)
		fs->dirty = 0;
	return error;
}

static int fs_owner(ps_store *s, char **user)
{
	fakestore *fs = fs_of(s);
	ps_regkey *hive = user_hive(fs), *env;
	ps_regval *v = NULL;
	const char *base, *dot;

	env = hive ? ps_regkey_find(hive, "Volatile Environment") : NULL;
	if (env)
		v = ps_regkey_value(env, "USERNAME");
	if (v && v->type == REG_SZ)
		return reg_sz_value(v, user);
	if (!fs->path)
		return PS_ENOTFOUND;
	/* Else the export's file name without folder and extension. */
	base = strrchr(fs->path, '/');
	base = base ? base + 1 : fs->path;
	/* A hive has no Volatile Environment: .../Users/alice/NTUSER.DAT
	 * belongs to alice (also in a profile container's folder). */
	if (!ps_strcasecmp(base, "NTUSER.DAT") && base > fs->path + 1) {
		const char *end = base - 1, *start = end;

		while (start > fs->path && start[-1] != '/')
			start--;
		if (end > start) {
			*user = ps_strndup(start, (size_t)(end - start));
			return *user ? 0 : PS_ENOMEM;
		}
	}
	dot = strrchr(base, '.');
	*user = ps_strndup(base, dot && dot != base ? (size_t)(dot - base)
						    : strlen(base));
	return *user ? 0 : PS_ENOMEM;
}

/* A value's type and a NUL-terminated copy of its data (caller frees);
 * PS_ENOTFOUND for NULL. */
static int copy_value(const ps_regval *v, uint32_t *type, uint8_t **data,
		      size_t *len)
{
	uint8_t *copy;

	if (!v)
		return PS_ENOTFOUND;
	copy = malloc(v->len + 1);
	if (!copy)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	if (v->len)
		memcpy(copy, v->data, v->len);
	copy[v->len] = 0;
	*type = v->type;
	*data = copy;
	*len = v->len;
	return 0;
}

/* Outlook's key: the parent of the Profiles key in use (16.0 for the
 * pre-2013 layout, which has no Outlook key of its own). */
static ps_regkey *outlook_key(fakestore *fs, const char *subkey, int create)
{
	ps_regkey *hive = user_hive(fs), *root, *k = NULL;
	int legacy = 0;

	if (!hive)
		return NULL;
	root = profiles_root(fs, &legacy);
	if (root && !legacy)
		k = root->parent;
	if (!k) {
		if (!create)
			k = ps_regkey_find(hive,
				"Software\\Microsoft\\Office\\16.0\\Outlook");
		else if (ps_regkey_create(hive,
				"Software\\Microsoft\\Office\\16.0\\Outlook",
				&k) < 0)
			return NULL;
	}
	if (!k || !*subkey)
		return k;
	if (!create)
		return ps_regkey_find(k, subkey);
	if (ps_regkey_create(k, subkey, &root) < 0)
		return NULL;
	return root;
}

static int fs_get_value(ps_store *s, const char *subkey, const char *name,
			uint32_t *type, uint8_t **data, size_t *len)
{
	ps_regkey *k = outlook_key(fs_of(s), subkey, 0);
	ps_regval *v = k ? ps_regkey_value(k, name) : NULL;

	return copy_value(v, type, data, len);
}

static int fs_set_value(ps_store *s, const char *subkey, const char *name,
			uint32_t type, const uint8_t *data, size_t len)
{
	fakestore *fs = fs_of(s);
	ps_regkey *k = outlook_key(fs, subkey, 1);
	int error;

	if (!k)
		return ps_error_setc(PS_ENOMEM, "cannot create Outlook key "
				     "%s", subkey);
	error = ps_regkey_set(k, name, type, data, len);
	if (!error)
		fs->dirty = 1;
	return error;
}

static int fs_delete_value(ps_store *s, const char *subkey,
			   const char *name)
{
	fakestore *fs = fs_of(s);
	ps_regkey *k = outlook_key(fs, subkey, 0);

	if (!k || ps_regkey_unset(k, name) == PS_ENOTFOUND)
		return 0;
	fs->dirty = 1;
	/* A key profswitch emptied goes too (as reg delete leaves none). */
	if (!k->nval && !k->nsub && *subkey && k->parent)
		ps_regkey_delete(k->parent, k->name);
	return 0;
}

/* HKCU\Software\Microsoft\Office\<version>: the parent of Outlook's
 * key (16.0 when there is none), + "\key". */
static ps_regkey *office_key(fakestore *fs, const char *key, int create)
{
	ps_regkey *hive = user_hive(fs), *out_k, *k;

	if (!hive)
		return NULL;
	out_k = outlook_key(fs, "", 0);
	k = out_k ? out_k->parent
		  : ps_regkey_find(hive, "Software\\Microsoft\\Office\\16.0");
	if (!k && create &&
	    ps_regkey_create(hive, "Software\\Microsoft\\Office\\16.0", &k) < 0)
		return NULL;
	if (!k || !*key)
		return k;
	if (!create)
		return ps_regkey_find(k, key);
	if (ps_regkey_create(k, key, &out_k) < 0)
		return NULL;
	return out_k;
}

static int fs_list_key(ps_store *s, const char *key, ps_strlist *subkeys,
		       ps_strlist *values)
{
	ps_regkey *k = office_key(fs_of(s), key, 0);
	size_t i;
	int error = 0;

	if (!k)
		return PS_ENOTFOUND;
	for (i = 0; i < k->nsub && !error; i++)
		error = ps_strlist_add(subkeys, k->sub[i]->name);
	for (i = 0; i < k->nval && !error; i++)
		error = ps_strlist_add(values, k->vals[i].name);
	if (error < 0) {
		ps_strlist_free(subkeys);
		ps_strlist_free(values);
	}
	return error;
}

static int fs_get_office_value(ps_store *s, const char *key,
			       const char *name, uint32_t *type,
			       uint8_t **data, size_t *len)
{
	ps_regkey *k = office_key(fs_of(s), key, 0);

	return copy_value(k ? ps_regkey_value(k, name) : NULL, type, data,
			  len);
}

static int fs_set_office_value(ps_store *s, const char *key,
			       const char *name, uint32_t type,
			       const uint8_t *data, size_t len)
{
	fakestore *fs = fs_of(s);
	ps_regkey *k = office_key(fs, key, 1);
	int error = 0;

	if (!k)
		return ps_error_setc(PS_ENOMEM, "cannot create Office key %s",
				     key);
	if (name)
		error = ps_regkey_set(k, name, type, data, len);
	if (!error)
		fs->dirty = 1;
	return error;
}

static int fs_delete_key(ps_store *s, const char *key)
{
	fakestore *fs = fs_of(s);
	ps_regkey *k = office_key(fs, key, 0);
	int error;

	if (!k || !k->parent || !*key)
		return 0;
	error = ps_regkey_delete(k->parent, k->name);
	if (!error)
		fs->dirty = 1;
	return error == PS_ENOTFOUND ? 0 : error;
}

static void fs_free(ps_store *s)
{
	fakestore *fs = fs_of(s);

	ps_regtree_free(&fs->tree);
	ps_regtree_free(&fs->snap);
	free(fs->path);
	free(fs);
}

static const ps_store_ops fakestore_ops = {
	PS_STORE_OPS_VERSION,
	fs_list_profiles,
	fs_default_profile,
	fs_list_services,
	fs_open_section,
	fs_get_props,
	fs_set_props,
	fs_delete_props,
	fs_save_section,
	fs_close_section,
	fs_delete_section,
	fs_flush,
	fs_owner,
	fs_free,
	fs_get_value,
	fs_set_value,
	fs_delete_value,
	fs_list_key,
	fs_get_office_value,
	fs_set_office_value,
	fs_delete_key,
};

int ps_fakestore_from_tree(ps_store **out, ps_regtree *tree,
			   ps_system *sys, const char *path)
{
	fakestore *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	if (path) {
		fs->path = ps_strdup(path);
		if (!fs->path) {
			free(fs);
			return PS_ENOMEM;
		}
	}
	fs->base.ops = &fakestore_ops;
	fs->tree = *tree;
	memset(tree, 0, sizeof(*tree));
	fs->sys = sys;
	*out = &fs->base;
	return 0;
}

int ps_fakestore_open(ps_store **out, ps_system *sys, const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;
	ps_regtree tree, snap;
	int error, hive;

	error = ps_sys_read_file(sys, path, PS_FAKESTORE_MAX_FILE, &data,
				 &len);
	if (error == PS_ELIMIT)
		return ps_error_setc(PS_ELIMIT,
			"%s: larger than the %u MiB a store file may have", path,
			PS_FAKESTORE_MAX_FILE >> 20);
	if (error < 0)
		return error;
	hive = ps_hive_is_hive(data, len);
	if (hive)
		error = ps_hive_load(&tree, path, data, len);
	else
		error = ps_regtree_parse(&tree, path, data, len);
	free(data);
	if (error < 0)
		return error;
	/* A hive keeps the tree as loaded: flush writes the difference. */
	if (hive && ps_regtree_copy(&snap, &tree) < 0) {
		ps_regtree_free(&tree);
		return PS_ENOMEM;
	}
	error = ps_fakestore_from_tree(out, &tree, sys, path);
	if (error < 0) {
		ps_regtree_free(&tree);
		if (hive)
			ps_regtree_free(&snap);
		return error;
	}
	if (hive) {
		fs_of(*out)->hive = 1;
		fs_of(*out)->snap = snap;
	}
	return 0;
}

ps_regtree *ps_fakestore_tree(ps_store *s)
{
	return &fs_of(s)->tree;
}

int ps_fakestore_dirty(ps_store *s)
{
	return fs_of(s)->dirty;
}

int ps_fakestore_get_policy(void *ctx, const char *key, const char *value,
			    uint32_t *type, uint8_t **data, size_t *len)
{
	fakestore *fs = fs_of(ctx);
	ps_regkey *hive = user_hive(fs), *k;
	ps_regval *v;

	k = hive ? ps_regkey_find(hive, key) : NULL;
	v = k ? ps_regkey_value(k, value) : NULL;
	return copy_value(v, type, data, len);
}
