/*
 * The update planner: docs/update-rules.md in code.  Every rule works on
 * the `after` copy of a section's properties; nothing is written here.
 */
#include "ps_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_backup.h"
#include "ps_error.h"
#include "ps_system.h"
#include "ps_utf.h"

#define SERVICES_SECTION "9207f3e0a3b11019908b08002b2a56c2"

static int storable(const char *utf8);

/* ---- section cache ---------------------------------------------------- */

static ps_secstate *sec_find(ps_pplan *p, const ps_uid *uid)
{
	size_t i;

	for (i = 0; i < p->nsecs; i++)
		if (ps_uid_equal(&p->secs[i].uid, uid))
			return &p->secs[i];
	return NULL;
}

/* The cached state of a section, read from the store on first use. */
static int sec_get(ps_pplan *p, ps_store *s, const ps_uid *uid,
		   ps_secstate **out)
{
	ps_secstate *st = sec_find(p, uid);
	int error;

	if (st) {
		*out = st;
		return 0;
	}
	if (p->nsecs == p->capsecs) {
		size_t cap = p->capsecs ? p->capsecs * 2 : 16;
		ps_secstate *v = realloc(p->secs, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		p->secs = v;
		p->capsecs = cap;
	}
	st = &p->secs[p->nsecs];
	memset(st, 0, sizeof(*st));
	st->uid = *uid;
	st->order = -1;
	error = ps_store_read_section(s, p->profile, uid, &st->before);
	if (error == PS_ENOTFOUND) {
		error = 0;
	} else if (error == 0) {
		st->exists = 1;
	}
	if (error == 0)
		error = ps_proplist_copy(&st->after, &st->before);
	if (error < 0) {
		ps_proplist_free(&st->before);
		ps_proplist_free(&st->after);
		return error;
	}
	p->nsecs++;
	*out = st;
	return 0;
}

/* Pointers into p->secs move when it grows: look sections up by uid. */
static ps_secstate *sec(ps_pplan *p, const ps_uid *uid)
{
	return sec_find(p, uid);
}

static int mark_written(ps_secstate *st, uint32_t tag)
{
	size_t i;

	for (i = 0; i < st->nwritten; i++)
		if (st->written[i] == tag)
			return 0;
	if (st->nwritten == st->capwritten) {
		size_t cap = st->capwritten ? st->capwritten * 2 : 16;
		uint32_t *v = realloc(st->written, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		st->written = v;
		st->capwritten = cap;
	}
	st->written[st->nwritten++] = tag;
	return 0;
}

static int was_written(const ps_secstate *st, uint32_t tag)
{
	size_t i;

	for (i = 0; i < st->nwritten; i++)
		if (st->written[i] == tag)
			return 1;
	return 0;
}

/* ---- property helpers --------------------------------------------------- */

static int set_string(ps_unit *u, ps_secstate *st, uint32_t tag,
		      const char *utf8)
{
	uint8_t *data = NULL;
	size_t len = 0;
	ps_prop *old = ps_proplist_get(&st->after, tag);
	int error;

	error = ps_prop_encode_string(tag, utf8, &data, &len);
	if (error < 0)
		return error;
	if (!old || old->len != len || memcmp(old->data, data, len)) {
		error = ps_proplist_set(&st->after, tag, data, len);
		u->nset++;
	}
	free(data);
	if (error == 0)
		error = mark_written(st, tag);
	return error;
}

static int set_long(ps_unit *u, ps_secstate *st, uint32_t tag, uint32_t v)
{
	uint8_t b[4];
	int error;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
	error = ps_proplist_set(&st->after, tag, b, 4);
	u->nset++;
	if (error == 0)
		error = mark_written(st, tag);
	return error;
}

static int del_prop(ps_unit *u, ps_secstate *st, uint32_t tag)
{
	if (ps_proplist_remove(&st->after, tag) == 0)
		u->ndel++;
	return mark_written(st, tag);
}

/* Delete every prop with this id, whatever its type. */
static int del_id(ps_unit *u, ps_secstate *st, uint16_t id)
{
	size_t i;
	int error;

	for (i = st->after.n; i-- > 0;) {
		if (PS_PROP_ID(st->after.v[i].tag) != id)
			continue;
		error = del_prop(u, st, st->after.v[i].tag);
		if (error < 0)
			return error;
	}
	return 0;
}

/* Decoded string value of a prop, NULL when not a (valid) string. */
static char *string_value(const ps_prop *p)
{
	char *s = NULL;

	if (!PS_PROP_IS_STRING(p->tag) || ps_prop_string(p, &s) < 0)
		return NULL;
	return s;
}

static char *first_string(const ps_proplist *l, uint16_t id)
{
	ps_prop *p = ps_proplist_get(l, PS_PROP_TAG(PS_PT_UNICODE, id));

	if (!p)
		p = ps_proplist_get(l, PS_PROP_TAG(PS_PT_STRING8, id));
	return p ? string_value(p) : NULL;
}

/* Tags of the string props with this id (at most the two variants). */
static size_t string_tags(const ps_proplist *l, uint16_t id, uint32_t out[2])
{
	size_t n = 0;

	if (ps_proplist_get(l, PS_PROP_TAG(PS_PT_STRING8, id)))
		out[n++] = PS_PROP_TAG(PS_PT_STRING8, id);
	if (ps_proplist_get(l, PS_PROP_TAG(PS_PT_UNICODE, id)))
		out[n++] = PS_PROP_TAG(PS_PT_UNICODE, id);
	return n;
}

/* ---- R8: does a value still name the source? ---------------------------- */

static int boundary_ok(unsigned c)
{
	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		 (c >= '0' && c <= '9') || c == '-' || c == '.');
}

/* One 8-bit character or UTF-16LE code unit at data[i]. */
static unsigned unit_at(const uint8_t *data, size_t i, int wide)
{
	return wide ? (unsigned)data[i] | (unsigned)data[i + 1] << 8
		    : data[i];
}

static unsigned fold(unsigned c)
{
	return c < 128 ? (unsigned)ps_tolower((int)c) : c;
}

/* Search `needle` (UTF-8) in data as 8-bit text or, with wide, as
 * UTF-16LE at any byte offset; ASCII letters fold case.  With token, the
 * characters around the match must not be letters, digits, '-' or '.'. */
static int contains(const uint8_t *data, size_t len, const char *needle,
		    int wide, int token)
{
	ps_buf units = PS_BUF_INIT;
	const uint8_t *n;
	size_t nlen, step = wide ? 2 : 1, i, j;
	int found = 0;

	if (wide) {
		if (ps_utf8_to_utf16le(&units, needle, strlen(needle)) < 0) {
			ps_buf_free(&units);
			return 0;
		}
		n = (const uint8_t *)units.ptr;
		nlen = units.len;
	} else {
		n = (const uint8_t *)needle;
		nlen = strlen(needle);
	}
	for (i = 0; nlen && i + nlen <= len && !found; i++) {
		for (j = 0; j < nlen; j += step)
			if (fold(unit_at(data, i + j, wide)) !=
			    fold(unit_at(n, j, wide)))
				break;
		if (j < nlen)
			continue;
		if (token && i >= step &&
		    !boundary_ok(unit_at(data, i - step, wide)))
			continue;
		if (token && i + nlen + step <= len &&
		    !boundary_ok(unit_at(data, i + nlen, wide)))
			continue;
		found = 1;
	}
	ps_buf_free(&units);
	return found;
}

static int names_source_raw(const ps_prop *p, const ps_strlist *texts,
			    const ps_strlist *servers);

/* R8: a multi-valued string prop names the source when one of its
 * strings does; a damaged layout is searched as a whole. */
static int names_source(const ps_prop *p, const ps_strlist *texts,
			const ps_strlist *servers)
{
	uint16_t type = PS_PROP_TYPE(p->tag);
	size_t n, i;

	if ((type == PS_PT_MV_STRING8 || type == PS_PT_MV_UNICODE) &&
	    ps_prop_mv_count(p, &n) == 0) {
		for (i = 0; i < n; i++) {
			ps_prop e;
			const uint8_t *d;
			size_t len;

			e.tag = PS_PROP_TAG(type == PS_PT_MV_STRING8 ?
					    PS_PT_STRING8 : PS_PT_UNICODE,
					    PS_PROP_ID(p->tag));
			e.form = PS_FORM_DEFAULT;
			if (ps_prop_mv_elem(p, i, &d, &len) < 0)
				continue;
			e.data = (uint8_t *)(uintptr_t)d;
			e.len = len;
			if (names_source_raw(&e, texts, servers))
				return 1;
		}
		return 0;
	}
	return names_source_raw(p, texts, servers);
}

static int names_source_raw(const ps_prop *p, const ps_strlist *texts,
			    const ps_strlist *servers)
{
	uint16_t type = PS_PROP_TYPE(p->tag);
	int narrow = type == PS_PT_STRING8 || type == PS_PT_MV_STRING8 ||
		     type == PS_PT_BINARY || type == PS_PT_MV_BINARY;
	int wide = type == PS_PT_UNICODE || type == PS_PT_MV_UNICODE ||
		   type == PS_PT_BINARY || type == PS_PT_MV_BINARY;
	size_t i;

	for (i = 0; i < texts->n; i++)
		if ((narrow && contains(p->data, p->len, texts->v[i], 0, 0)) ||
		    (wide && contains(p->data, p->len, texts->v[i], 1, 0)))
			return 1;
	for (i = 0; i < servers->n; i++)
		if ((narrow && contains(p->data, p->len, servers->v[i], 0,
					1)) ||
		    (wide && contains(p->data, p->len, servers->v[i], 1, 1)))
			return 1;
	return 0;
}

/* ---- the rules ---------------------------------------------------------- */

static const uint16_t server_ids[] = {
	PS_ID_PROFILE_HOME_SERVER, PS_ID_PROFILE_HOME_SERVER_FQDN,
	PS_ID_PROFILE_UNRESOLVED_SERVER, PS_ID_PROFILE_SERVER,
	PS_ID_PROFILE_SERVER_FQDN, 0
};

/* R9: ids that hold the primary SMTP address in real profiles. */
static const uint16_t address_ids[] = {
	PS_ID_DISPLAY_NAME, PS_ID_PROFILE_UNRESOLVED_NAME,
	PS_ID_PROFILE_SMTP_6620, PS_ID_PROFILE_SMTP_663D, 0
};

static const uint16_t rediscover_ids[] = {
	PS_ID_PROFILE_HOME_SERVER_DN, PS_ID_PROFILE_HOME_SERVER_ADDRS,
	PS_ID_PROFILE_SERVER_DN, PS_ID_PROFILE_SERVER_FULL_VERSION,
	PS_ID_PROFILE_LKG_AUTODISCOVER_URL, 0x6652, 0x6653, 0x6654, 0x6655,
	PS_ID_ROH_PROXY_SERVER, PS_ID_ROH_FLAGS, PS_ID_ROH_PROXY_PRINCIPAL,
	PS_ID_ROH_PROXY_AUTH, 0
};

static int add_server_name(ps_strlist *l, const char *name,
			   const char *target)
{
	const char *dot;
	int error = 0;

	if (strlen(name) >= 3 && !(target && !ps_strcasecmp(name, target)) &&
	    !ps_strlist_contains_nocase(l, name))
		error = ps_strlist_add(l, name);
	/* A "<guid>@<domain>" name (Exchange Online) counts as a whole. */
	dot = strchr(name, '@') ? NULL : strchr(name, '.');
	if (!error && dot && dot - name >= 3) {
		char *label = ps_strndup(name, (size_t)(dot - name));

		if (!label)
			return PS_ENOMEM;
		if (!(target && !ps_strcasecmp(label, target)) &&
		    !ps_strlist_contains_nocase(l, label))
			error = ps_strlist_add(l, label);
		free(label);
	}
	return error;
}

/* R6: the new OST path for OST=rename. */
static char *renamed_ost(const char *old, const char *smtp)
{
	const char *slash = strrchr(old, '\\');
	size_t dirlen = slash ? (size_t)(slash - old) + 1 : 0;
	const char *file = old + dirlen;
	size_t stem = strlen(file);
	ps_buf b = PS_BUF_INIT;

	if (smtp && *smtp) {
		ps_buf_put(&b, old, dirlen);
		ps_buf_printf(&b, "%s.ost", smtp);
		if (!ps_buf_check(&b) && ps_strcasecmp(b.ptr, old))
			return ps_buf_detach(&b);
		ps_buf_clear(&b);
	}
	if (stem >= 4 && !ps_strcasecmp(file + stem - 4, ".ost"))
		stem -= 4;
	ps_buf_put(&b, old, dirlen);
	ps_buf_put(&b, file, stem);
	ps_buf_puts(&b, "-migrated.ost");
	return ps_buf_detach(&b);
}

/* ---- Autodiscover answers (docs/autodiscover.md) ----------------------- */

/* The server of a verified answer: EXCH, else EXPR; NULL when none or
 * not storable in an 8-bit value. */
static const char *ad_server(const ps_ad_result *r)
{
	static const char *const types[] = { "EXCH", "EXPR", NULL };
	size_t i;

	for (i = 0; types[i]; i++) {
		const ps_ad_protocol *pr = ps_ad_protocol_find(&r->settings,
							       types[i]);

		if (pr && pr->server && *pr->server && storable(pr->server))
			return pr->server;
	}
	return NULL;
}

static int set_mapihttp(ps_unit *u, ps_secstate *st)
{
	const ps_ad_protocol *pr = ps_ad_protocol_find(&u->ad->settings,
						       "mapiHttp");
	const char *v[4];
	size_t i;
	int error = 0;

	if (!pr)
		return 0;
	v[0] = pr->mailstore_internal;
	v[1] = pr->mailstore_external;
	v[2] = pr->addressbook_internal;
	v[3] = pr->addressbook_external;
	for (i = 0; i < 4 && !error; i++)
		if (v[i] && !ps_strncasecmp(v[i], "https://", 8))
			error = set_string(u, st, PS_PROP_TAG(PS_PT_UNICODE,
				(uint16_t)(PS_ID_MAPIHTTP_FIRST + i)), v[i]);
	return error;
}

static int is_archive(const ps_unit *u, const ps_uid *uid)
{
	size_t i;

	for (i = 0; i < u->narchives; i++)
		if (ps_uid_equal(&u->archives[i], uid))
			return 1;
	return 0;
}

/* R1 for an archive: SRC/guid=G -> TGT/guid=G' (G' from the mapping's
 * TargetArchiveGuid, else G); NULL when v is not SRC/guid=... */
static char *archive_dn(const char *v, const char *src, const char *tgt,
			const char *guid)
{
	size_t n = strlen(src);
	ps_buf b = PS_BUF_INIT;

	if (strlen(v) <= n + 6 || ps_strncasecmp(v, src, n) ||
	    ps_strncasecmp(v + n, "/guid=", 6))
		return NULL;
	ps_buf_printf(&b, "%s/guid=%s", tgt,
		      guid && *guid ? guid : v + n + 6);
	return ps_buf_detach(&b);
}

/* R9: the new text of an old-address value, or NULL to leave it. */
static char *new_address(const char *v, uint16_t id, const char *old,
			 const char *smtp)
{
	size_t n = strlen(v), o = strlen(old);
	ps_buf b = PS_BUF_INIT;

	if (!ps_strcasecmp(v, old))
		return ps_strdup(smtp);
	if (id != PS_ID_DISPLAY_NAME || n < o + 3 ||
	    ps_strcasecmp(v + n - o, old) || strncmp(v + n - o - 3, " - ", 3))
		return NULL;
	ps_buf_printf(&b, "%.*s%s", (int)(n - o), v, smtp);
	return ps_buf_detach(&b);
}

/* ---- R6 across organisations ------------------------------------------ */

static int hexdigit(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static int alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* 1 when s (at least 36 characters) starts with 8-4-4-4-12 hex. */
static int guid_at(const char *s)
{
	static const unsigned char groups[] = { 8, 4, 4, 4, 12 };
	size_t g, k, i = 0;

	for (g = 0; g < 5; g++) {
		if (g && s[i++] != '-')
			return 0;
		for (k = 0; k < groups[g]; k++)
			if (!hexdigit((unsigned char)s[i++]))
				return 0;
	}
	return 1;
}

static void guid_lower(const char *s, char out[37])
{
	size_t i;

	for (i = 0; i < 36; i++)
		out[i] = (char)ps_tolower((unsigned char)s[i]);
	out[36] = '\0';
}

int ps_plan_find_guid(const char *text, size_t len, char out[37])
{
	size_t i;

	for (i = 0; i + 37 <= len; i++) {
		if (text[i + 36] != '@' ||
		    (i && alnum((unsigned char)text[i - 1])) ||
		    !guid_at(text + i))
			continue;
		guid_lower(text + i, out);
		return 1;
	}
	return 0;
}

int ps_plan_norm_guid(const char *guid, char out[37])
{
	size_t n = guid ? strlen(guid) : 0;

	if (n == 38 && guid[0] == '{' && guid[37] == '}') {
		guid++;
		n -= 2;
	}
	if (n != 36 || !guid_at(guid))
		return -1;
	guid_lower(guid, out);
	return 0;
}

/* The "/o=NAME" of a DN (up to its second '/'), its length in *n. */
static const char *org_of(const char *dn, size_t *n)
{
	const char *slash;

	if (!dn || ps_strncasecmp(dn, "/o=", 3))
		return NULL;
	slash = strchr(dn + 1, '/');
	*n = slash ? (size_t)(slash - dn) : strlen(dn);
	return dn;
}

int ps_plan_ost_other_mailbox(const char *src_dn, const char *tgt_dn,
			      const char *src_guid, const char *tgt_guid,
			      char *why, size_t size)
{
	const char *so, *to;
	size_t sn = 0, tn = 0;

	if (src_guid && tgt_guid && !strcmp(src_guid, tgt_guid))
		return 0;       /* the same mailbox (ExchangeGuid kept) */
	so = org_of(src_dn, &sn);
	to = org_of(tgt_dn, &tn);
	if (so && to && (sn != tn || ps_strncasecmp(so, to, sn))) {
		snprintf(why, size, "target in another organisation "
			 "(%.*s vs %.*s)%s", (int)sn, so, (int)tn, to,
			 tgt_guid && !src_guid ? ", and the profile shows "
			 "no mailbox GUID to compare with TargetMailboxGuid"
			 : "");
		return 1;
	}
	if (src_guid && tgt_guid) {
		snprintf(why, size, "target is another mailbox (mailbox GUID "
			 "%s vs TargetMailboxGuid %s)", src_guid, tgt_guid);
		return 1;
	}
	return 0;
}

/* The source mailbox GUID a primary unit's profile shows: a MAPI/HTTP
 * URL's MailboxId (ids 6652..6655 of the emsmdb section), else a
 * "<guid>@<domain>" home server (6602, 662a, 6608), else a primary store
 * provider's server (660c, 662b) or store entry ID (0fff). */
static int source_guid(ps_pplan *p, const ps_unit *u, char out[37])
{
	static const uint16_t ems_ids[] = {
		0x6652, 0x6653, 0x6654, 0x6655, PS_ID_PROFILE_HOME_SERVER,
		PS_ID_PROFILE_HOME_SERVER_FQDN,
		PS_ID_PROFILE_UNRESOLVED_SERVER, 0
	};
	static const uint16_t prov_ids[] = {
		PS_ID_PROFILE_SERVER, PS_ID_PROFILE_SERVER_FQDN, 0
	};
	ps_secstate *st = sec(p, &u->emsmdb);
	size_t i, k;
	int found = 0;

	for (k = 0; st && ems_ids[k] && !found; k++) {
		char *v = first_string(&st->before, ems_ids[k]);

		found = v && ps_plan_find_guid(v, strlen(v), out);
		free(v);
	}
	for (i = 0; i < u->nscope && !found; i++) {
		ps_prop *tp, *eid;
		uint32_t type = 0;

		st = sec(p, &u->scope[i]);
		tp = st ? ps_proplist_get(&st->before, PS_PR_PROFILE_TYPE)
			: NULL;
		if (!tp || ps_prop_long(tp, &type) < 0 ||
		    type != PS_PROFILE_TYPE_PRIMARY)
			continue;
		for (k = 0; prov_ids[k] && !found; k++) {
			char *v = first_string(&st->before, prov_ids[k]);

			found = v && ps_plan_find_guid(v, strlen(v), out);
			free(v);
		}
		eid = ps_proplist_get(&st->before,
				      PS_PROP_TAG(PS_PT_BINARY, 0x0fff));
		if (!found && eid)
			found = ps_plan_find_guid((const char *)eid->data,
						  eid->len, out);
	}
	return found;
}

/* R6: the OST mode for this unit: OST=keep becomes rename when the
 * target is another mailbox (OSTAcrossOrganisations=rename). */
static int ost_mode(ps_pplan *p, ps_unit *u, const ps_config *cfg,
		    const char *src, const char *tgt)
{
	char sg[37], tg[37], why[512];
	ps_buf b = PS_BUF_INIT;
	int has_sg, has_tg;

	if (u->kind != PS_UNIT_PRIMARY || cfg->ost != PS_OST_KEEP ||
	    cfg->ost_across_orgs != PS_OSTORG_RENAME || !u->ost_path)
		return cfg->ost;
	has_sg = source_guid(p, u, sg);
	has_tg = ps_plan_norm_guid(u->entry->target_mailbox_guid, tg) == 0;
	if (!ps_plan_ost_other_mailbox(src, tgt, has_sg ? sg : NULL,
				       has_tg ? tg : NULL, why, sizeof(why)))
		return PS_OST_KEEP;
	ps_buf_printf(&b, "OST renamed: %s", why);
	free(u->ost_why);
	u->ost_why = ps_buf_detach(&b);
	return u->ost_why ? PS_OST_RENAME : PS_ENOMEM;
}

/* The OST path a unit's sections in scope name (emsmdb first). */
static char *unit_ost_path(ps_pplan *p, const ps_unit *u)
{
	ps_secstate *st = sec(p, &u->emsmdb);
	char *v = st ? first_string(&st->before,
				    PS_ID_PROFILE_OFFLINE_STORE_PATH) : NULL;
	size_t i;

	for (i = 0; !v && i < u->nscope; i++) {
		st = sec(p, &u->scope[i]);
		v = st ? first_string(&st->before,
				      PS_ID_PROFILE_OFFLINE_STORE_PATH)
		       : NULL;
	}
	return v;
}

static int apply_rules(ps_pplan *p, ps_unit *u, const ps_plan_opts *o)
{
	const ps_config *cfg = o->cfg;
	const ps_map_entry *m = u->entry;
	const char *src = u->dn, *tgt = ps_plan_target_dn(u);
	const char *smtp = m->target_smtp, *server = m->target_server;
	/* R8 (a)(b) scrub the source; a repaired target-DN unit too. */
	const char *scrub = u->repair ? m->source_dn : src;
	int primary = u->kind == PS_UNIT_PRIMARY;
	int same = !ps_strcasecmp(scrub, tgt);
	ps_strlist texts = PS_STRLIST_INIT, servers = PS_STRLIST_INIT;
	ps_secstate *st;
	const char *old_smtp;
	size_t i, j, k;
	uint32_t tags[2];
	int error = 0, archive, ost;

	/* R6: which OST rule applies (another mailbox: rename). */
	if (primary) {
		free(u->ost_path);
		u->ost_path = unit_ost_path(p, u);
	}
	ost = ost_mode(p, u, cfg, scrub, tgt);
	if (ost < 0)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	u->ost_rebuilt = primary && u->ost_path && ost != PS_OST_KEEP;

	/* Plan order: service section, emsmdb, providers (scope order). */
	if (primary) {
		st = sec(p, &u->service);
		if (st && st->order < 0)
			st->order = p->next_order++;
	}
	for (i = 0; i < u->nscope; i++) {
		st = sec(p, &u->scope[i]);
		if (st->order < 0)
			st->order = p->next_order++;
		st->nwritten = 0;
	}

	/* R3 with a verified answer and no TargetServer: its server. */
	if ((!server || !*server) && u->ad)
		server = ad_server(u->ad);

	/* R8 (c): the server names as the profile had them, every
	 * string variant of every server property. */
	for (i = 0; i < u->nscope && !error; i++) {
		st = sec(p, &u->scope[i]);
		for (j = 0; j < st->before.n && !error; j++) {
			const ps_prop *pr = &st->before.v[j];
			char *name;

			for (k = 0; server_ids[k]; k++)
				if (PS_PROP_ID(pr->tag) == server_ids[k])
					break;
			if (!server_ids[k])
				continue;
			name = string_value(pr);
			if (name)
				error = add_server_name(&servers, name,
							server);
			free(name);
		}
	}
	/* R8 (a) and (b). */
	if (!error && !same) {
		const char *slash = strlen(scrub) > 3
				    ? strchr(scrub + 1, '/') : NULL;

		error = ps_strlist_add(&texts, scrub);
		if (!error && slash) {
			size_t olen = (size_t)(slash - scrub) + 1;

			if (ps_strncasecmp(tgt, scrub, olen))
				error = ps_strlist_take(&texts,
						ps_strndup(scrub, olen));
		}
	}

	for (i = 0; i < u->nscope && !error; i++) {
		int is_emsmdb;

		st = sec(p, &u->scope[i]);
		is_emsmdb = primary && ps_uid_equal(&st->uid, &u->emsmdb);
		archive = primary && is_archive(u, &st->uid);
		/* R1: the DN wherever it stands; an archive's DN/guid=. */
		for (j = 0; j < st->after.n && !error; j++) {
			char *v = string_value(&st->after.v[j]), *a = NULL;

			if (v && !ps_strcasecmp(v, src))
				error = set_string(u, st, st->after.v[j].tag,
						   tgt);
			else if (v && archive &&
				 (a = archive_dn(v, src, tgt,
					m->target_archive_guid)) != NULL)
				error = set_string(u, st, st->after.v[j].tag,
						   a);
			free(a);
			free(v);
		}
		/* R2: SMTP address. */
		if (!error && smtp && *smtp) {
			size_t n = string_tags(&st->after, PS_ID_PROFILE_SMTP,
					       tags);

			for (j = 0; j < n && !error; j++) {
				char *v = string_value(ps_proplist_get(
						&st->after, tags[j]));
				ps_buf nv = PS_BUF_INIT;

				/* "SMTP:addr" keeps its prefix as written. */
				if (v && !ps_strncasecmp(v, "smtp:", 5))
					ps_buf_printf(&nv, "%.5s%s", v, smtp);
				else
					ps_buf_printf(&nv, "%s", smtp);
				free(v);
				if (!nv.ptr)
					error = ps_error_setc(PS_ENOMEM,
							"out of memory");
				else
					error = set_string(u, st, tags[j],
							   nv.ptr);
				ps_buf_free(&nv);
			}
			if (!error && !n && is_emsmdb)
				error = set_string(u, st,
					PS_PROP_TAG(PS_PT_UNICODE,
						    PS_ID_PROFILE_SMTP), smtp);
		}
		/* R3: servers. */
		for (k = 0; server_ids[k] && !error; k++) {
			for (j = st->after.n; j-- > 0 && !error;) {
				uint32_t tag = st->after.v[j].tag;

				if (PS_PROP_ID(tag) != server_ids[k])
					continue;
				if (server && *server && !archive &&
				    PS_PROP_IS_STRING(tag))
					error = set_string(u, st, tag, server);
				else
					error = del_prop(u, st, tag);
			}
		}
		/* R4: rediscovered values; a verified answer's MAPI/HTTP
		 * URLs go into the emsmdb section. */
		for (k = 0; rediscover_ids[k] && !error; k++)
			error = del_id(u, st, rediscover_ids[k]);
		if (!error && is_emsmdb && u->ad)
			error = set_mapihttp(u, st);
		/* R5: OAB. */
		if (!error && is_emsmdb && cfg->reset_oab) {
			error = del_id(u, st, PS_ID_OAB_ATTEMPTED_FULLDN);
			if (!error)
				error = del_id(u, st,
					       PS_ID_OAB_ATTEMPTED_INCRDN);
			if (!error)
				error = del_id(u, st,
					       PS_ID_PROFILE_AB_FILES_PATH);
		}
		/* R6: OST. */
		if (!error && primary && ost == PS_OST_RECREATE)
			error = del_id(u, st, PS_ID_PROFILE_OFFLINE_STORE_PATH);
		if (!error && primary && ost == PS_OST_RENAME) {
			size_t n = string_tags(&st->after,
				PS_ID_PROFILE_OFFLINE_STORE_PATH, tags);

			for (j = 0; j < n && !error; j++) {
				ps_prop *op = ps_proplist_get(&st->after,
							      tags[j]);
				char *old = string_value(op), *nw;

				if (!old)
					continue;
				nw = renamed_ost(old, smtp);
				error = nw ? set_string(u, st, tags[j], nw)
					   : PS_ENOMEM;
				free(nw);
				free(old);
			}
		}
		/* R7: cached mode. */
		if (!error && is_emsmdb && cfg->cached_mode != PS_CACHED_KEEP) {
			ps_prop *f = ps_proplist_get(&st->after,
						PS_PR_PROFILE_CONFIG_FLAGS);
			uint32_t v = 0;

			if (f && ps_prop_long(f, &v) < 0)
				f = NULL;
			if (cfg->cached_mode == PS_CACHED_ON &&
			    (!f || (v & PS_CONFIG_OST_CACHE_PRIVATE) !=
					   PS_CONFIG_OST_CACHE_PRIVATE))
				error = set_long(u, st,
					PS_PR_PROFILE_CONFIG_FLAGS,
					v | PS_CONFIG_OST_CACHE_PRIVATE);
			else if (cfg->cached_mode == PS_CACHED_OFF && f &&
				 (v & PS_CONFIG_OST_CACHE_PRIVATE))
				error = set_long(u, st,
					PS_PR_PROFILE_CONFIG_FLAGS,
					v & ~PS_CONFIG_OST_CACHE_PRIVATE);
		}
	}
	/* R9: the old primary address wherever Outlook keeps a copy. */
	old_smtp = u->smtp && *u->smtp ? u->smtp : m->source_smtp;
	for (i = 0; primary && smtp && *smtp && old_smtp && *old_smtp &&
		    i < u->nscope && !error; i++) {
		st = sec(p, &u->scope[i]);
		for (j = 0; j < st->after.n && !error; j++) {
			uint32_t tag = st->after.v[j].tag;
			char *v, *nv = NULL;

			for (k = 0; address_ids[k]; k++)
				if (PS_PROP_ID(tag) == address_ids[k])
					break;
			if (!address_ids[k] || was_written(st, tag))
				continue;
			v = string_value(&st->after.v[j]);
			if (v)
				nv = new_address(v, PS_PROP_ID(tag), old_smtp,
						 smtp);
			if (nv)
				error = set_string(u, st, tag, nv);
			free(nv);
			free(v);
		}
	}
	/* R8: scrub what still names the source. */
	for (i = 0; i < u->nscope && !error; i++) {
		st = sec(p, &u->scope[i]);
		for (j = st->after.n; j-- > 0 && !error;) {
			ps_prop *pr = &st->after.v[j];

			if (was_written(st, pr->tag))
				continue;
			if (PS_PROP_ID(pr->tag) ==
				    PS_ID_PROFILE_OFFLINE_STORE_PATH &&
			    ost == PS_OST_KEEP)
				continue;
			if (names_source(pr, &texts, &servers)) {
				char vname[9];

				ps_prop_name(pr->tag, vname);
				ps_log_msg(o->log, PS_LOG_DEBUG, p->profile,
					   u->account, "removing %s: it "
					   "still names the source", vname);
				error = del_prop(u, st, pr->tag);
			}
		}
	}
	ps_strlist_free(&texts);
	ps_strlist_free(&servers);
	return error;
}

/* ---- discovery ---------------------------------------------------------- */

static int add_unit(ps_pplan *p, ps_unit **out)
{
	if (p->nunits == p->capunits) {
		size_t cap = p->capunits ? p->capunits * 2 : 8;
		ps_unit *v = realloc(p->units, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		p->units = v;
		p->capunits = cap;
	}
	*out = &p->units[p->nunits++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

static int set_detail(ps_unit *u, ps_status st, const char *fmt, ...)
	PS_PRINTF(3, 4);

static int set_detail(ps_unit *u, ps_status st, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	u->status = st;
	free(u->detail);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	u->detail = ps_strdup(text);
	return u->detail ? 0 : PS_ENOMEM;
}

static const char *smtp_domain(const char *smtp)
{
	const char *at = smtp ? strrchr(smtp, '@') : NULL;

	return at ? at + 1 : NULL;
}

/* 1 when the text can be written to a PT_STRING8 (Windows-1252) value. */
static int storable(const char *utf8)
{
	ps_buf b = PS_BUF_INIT;
	int ok = ps_utf8_to_cp1252(&b, utf8, strlen(utf8)) == 0;

	ps_buf_free(&b);
	return ok;
}

/* A mapping line that keeps the DN and moves the mailbox to another
 * server of its organisation (no TargetLegacyDN, TargetServer given). */
static int server_move(const ps_map_entry *m)
{
	return m && !m->target_dn && m->target_server && *m->target_server;
}

const char *ps_plan_target_dn(const ps_unit *u)
{
	if (!u->entry)
		return NULL;
	if (server_move(u->entry))
		return u->dn;
	return u->entry->target_dn;
}

/*
 * 1 when the unit's mailbox is on `server` as the profile says: for an
 * account, the first of ids 6602, 662a, 6608 present in its emsmdb
 * section; for an additional mailbox, of 6602, 660c, 662b in its
 * provider section (R3 sets them all, Outlook reads them in this order).
 */
static int on_server(ps_pplan *p, const ps_unit *u, const char *server)
{
	static const uint16_t account[] = {
		PS_ID_PROFILE_HOME_SERVER, PS_ID_PROFILE_HOME_SERVER_FQDN,
		PS_ID_PROFILE_UNRESOLVED_SERVER, 0
	};
	static const uint16_t delegate[] = {
		PS_ID_PROFILE_HOME_SERVER, PS_ID_PROFILE_SERVER,
		PS_ID_PROFILE_SERVER_FQDN, 0
	};
	const uint16_t *ids = u->kind == PS_UNIT_PRIMARY ? account : delegate;
	ps_secstate *st = sec(p, u->kind == PS_UNIT_PRIMARY ? &u->emsmdb
							  : &u->provider);
	size_t k;
	int on = 0;

	for (k = 0; st && ids[k]; k++) {
		char *v = first_string(&st->before, ids[k]);

		if (v && *v)
			on = !ps_strcasecmp(v, server) ? 1 : -1;
		free(v);
		if (on)
			break;
	}
	return on > 0;
}

/* Status of a unit from the mapping (table "Status of a unit"). */
static int classify(ps_pplan *p, ps_unit *u, const ps_plan_opts *o)
{
	const ps_map_entry *src, *tgt;
	const ps_config *cfg = o->cfg;
	const char *dom;

	if (!*u->dn)
		return set_detail(u, PS_ST_NOT_MIGRATED,
				  "no mailbox DN in the profile");
	src = ps_mapping_find_source(o->map, u->dn);
	tgt = src ? NULL : ps_mapping_find_target(o->map, u->dn);
	if (!src && !tgt)
		return set_detail(u, PS_ST_NOT_MIGRATED,
				  "not in the mapping");
	if (tgt && !o->reprocess)
		return set_detail(u, PS_ST_ALREADY_UPDATED,
				  "already on the target (mapping line %u)",
				  tgt->line);
	/* A move to another server keeps the DN, so the DN cannot tell
	 * whether it was done: the server the profile names can. */
	if (server_move(src) && !o->reprocess &&
	    on_server(p, u, src->target_server))
		return set_detail(u, PS_ST_ALREADY_UPDATED,
				  "already on server %s (mapping line %u)",
				  src->target_server, src->line);
	u->entry = src ? src : tgt;
	if (cfg->processed_domains.n) {
		dom = smtp_domain(u->smtp ? u->smtp : u->entry->source_smtp);
		if (!dom)
			return set_detail(u, PS_ST_NOT_MIGRATED,
				"SMTP address unknown and ProcessedDomains "
				"is set");
		if (!ps_strlist_contains_nocase(&cfg->processed_domains, dom))
			return set_detail(u, PS_ST_NOT_MIGRATED,
				"domain %s is not in ProcessedDomains", dom);
	}
	if (!u->entry->target_dn && !server_move(u->entry))
		return set_detail(u, PS_ST_FAILED,
			"mapping line %u has no TargetLegacyDN: nothing "
			"to repoint to", u->entry->line);
	if ((u->entry->target_dn && !storable(u->entry->target_dn)) ||
	    (u->entry->target_smtp && !storable(u->entry->target_smtp)) ||
	    (u->entry->target_server && !storable(u->entry->target_server)))
		return set_detail(u, PS_ST_FAILED, "mapping line %u: a target "
			"value has characters that an 8-bit (PT_STRING8) "
			"profile value cannot hold", u->entry->line);
	u->update = 1;
	return set_detail(u, PS_ST_WOULD_UPDATE, "mapping line %u",
			  u->entry->line);
}

static char *account_name(const ps_service *svc, const ps_proplist *emsmdb)
{
	char *smtp, hex[33];
	ps_buf b = PS_BUF_INIT;

	if (svc->display_name && *svc->display_name)
		return ps_strdup(svc->display_name);
	smtp = emsmdb ? first_string(emsmdb, PS_ID_PROFILE_SMTP) : NULL;
	if (smtp && *smtp)
		return smtp;
	free(smtp);
	ps_uid_format(&svc->uid, hex);
	ps_buf_printf(&b, "Exchange %s", hex);
	return ps_buf_detach(&b);
}

static int uid_list(const ps_proplist *l, uint32_t tag, ps_uid **out,
		    size_t *n)
{
	ps_prop *p = ps_proplist_get(l, tag);
	size_t i, count = p ? p->len / 16 : 0;
	ps_uid *v = calloc(count ? count : 1, sizeof(*v));

	if (!v)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; i < count; i++)
		memcpy(v[i].b, p->data + 16 * i, 16);
	*out = v;
	*n = count;
	return 0;
}

/* "SMTP:addr" (Exchange Online profiles) -> "addr"; takes s. */
static char *strip_smtp_prefix(char *s)
{
	char *out;

	if (!s || ps_strncasecmp(s, "smtp:", 5))
		return s;
	out = ps_strdup(s + 5);
	free(s);
	return out;
}

/* Is this type-2 provider the account's Online Archive?  Its mailbox DN
 * is the account's DN followed by "/guid=" (docs/update-rules.md). */
static int is_archive_dn(const char *mailbox, const char *dn)
{
	size_t n = strlen(dn);

	return n && mailbox && strlen(mailbox) > n + 6 &&
	       !ps_strncasecmp(mailbox, dn, n) &&
	       !ps_strncasecmp(mailbox + n, "/guid=", 6);
}

static int scope_has(const ps_unit *u, const ps_uid *uid);

/* Add the account's transport (01023d02) or address-book (01023d01)
 * provider sections to the primary unit's scope: listed in the emsmdb
 * section, else in the service section; only sections that exist and
 * belong to this service (01023d0c). */
static int add_side_sections(ps_pplan *p, ps_store *s, ps_unit *u,
			     uint16_t id, char *damage, size_t dsize)
{
	uint32_t tag = PS_PROP_TAG(PS_PT_BINARY, id);
	ps_secstate *st = sec(p, &u->emsmdb);
	ps_prop *lp = st ? ps_proplist_get(&st->before, tag) : NULL;
	ps_uid uid;
	size_t i, n;
	int error;

	if (!lp) {
		st = sec(p, &u->service);
		lp = st ? ps_proplist_get(&st->before, tag) : NULL;
	}
	if (!lp)
		return 0;
	if (lp->len % 16) {
		snprintf(damage, dsize, "%04x%04x (%s providers) is %zu "
			 "bytes, not a multiple of 16", PS_PT_BINARY,
			 (unsigned)id, id == PS_ID_AB_PROVIDERS ?
			 "address-book" : "transport", lp->len);
		return 0;
	}
	n = lp->len / 16;
	for (i = 0; i < n; i++) {
		ps_prop *owner;

		st = sec(p, &u->emsmdb);
		lp = ps_proplist_get(&st->before, tag);
		if (!lp) {
			st = sec(p, &u->service);
			lp = ps_proplist_get(&st->before, tag);
		}
		memcpy(uid.b, lp->data + 16 * i, 16);
		if (scope_has(u, &uid))
			continue;
		error = sec_get(p, s, &uid, &st);
		if (error < 0)
			return error;
		owner = ps_proplist_get(&st->before, PS_PR_SERVICE_UID);
		if (!st->exists || !owner || owner->len != 16 ||
		    memcmp(owner->data, u->service.b, 16))
			continue;
		u->scope[u->nscope++] = uid;
	}
	return 0;
}

static size_t side_count(const ps_proplist *l, uint16_t id)
{
	ps_prop *lp = ps_proplist_get(l, PS_PROP_TAG(PS_PT_BINARY, id));

	return lp ? lp->len / 16 : 0;
}

static int discover_account(ps_pplan *p, ps_store *s, const ps_service *svc,
			    const ps_plan_opts *o)
{
	ps_secstate *st, *em = NULL;
	ps_uid *provs = NULL, emsmdb;
	size_t nprov = 0, i, primary_index, nside;
	ps_unit *u;
	ps_prop *ep, *pp;
	int error;
	char damage[256] = "", hex[33];

	error = sec_get(p, s, &svc->uid, &st);
	if (error < 0)
		return error;
	ep = ps_proplist_get(&st->before, PS_PR_EMSMDB_SECTION_UID);
	pp = ps_proplist_get(&st->before, PS_PR_STORE_PROVIDERS);
	nside = side_count(&st->before, PS_ID_AB_PROVIDERS) +
		side_count(&st->before, PS_ID_TRANSPORT_PROVIDERS);
	/* Structure values of the wrong size mean a damaged profile: the
	 * account is then never changed (a partial update would follow). */
	if (ep && ep->len != 16)
		snprintf(damage, sizeof(damage), "01023d15 (emsmdb section) "
			 "is %zu bytes, not 16", ep->len);
	if (pp && pp->len % 16)
		snprintf(damage, sizeof(damage), "01023d00 (store "
			 "providers) is %zu bytes, not a multiple of 16",
			 pp->len);
	error = uid_list(&st->before, PS_PR_STORE_PROVIDERS, &provs, &nprov);
	if (error < 0)
		return error;
	if (ep && ep->len == 16) {
		memcpy(emsmdb.b, ep->data, 16);
		error = sec_get(p, s, &emsmdb, &em);
		if (!error)
			nside += side_count(&em->before,
					    PS_ID_AB_PROVIDERS) +
				 side_count(&em->before,
					    PS_ID_TRANSPORT_PROVIDERS);
	}
	for (i = 0; i < nprov && !error; i++)
		error = sec_get(p, s, &provs[i], &st);
	if (error < 0)
		goto done;

	error = add_unit(p, &u);
	if (error < 0)
		goto done;
	primary_index = p->nunits - 1;
	u->kind = PS_UNIT_PRIMARY;
	u->service = svc->uid;
	em = em ? sec(p, &emsmdb) : NULL;
	u->account = account_name(svc, em ? &em->before : NULL);
	u->dn = em ? first_string(&em->before, PS_ID_PROFILE_USER) : NULL;
	u->dn = u->dn ? u->dn : ps_strdup("");
	u->smtp = em ? strip_smtp_prefix(first_string(&em->before,
						      PS_ID_PROFILE_SMTP))
		     : NULL;
	u->server = em ? first_string(&em->before, PS_ID_PROFILE_HOME_SERVER)
		       : NULL;
	/* The whole service: service, emsmdb, store providers, transport
	 * and address-book providers. */
	u->scope = calloc(nprov + nside + 2, sizeof(*u->scope));
	u->archives = calloc(nprov + 1, sizeof(*u->archives));
	if (!u->account || !u->dn || !u->scope || !u->archives) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	if (!em && damage[0]) {
		/* Which mailbox it is cannot be known: it may be migrated. */
		error = set_detail(u, PS_ST_BLOCKED_POISONED, "damaged "
				   "profile: %s; the account is not changed",
				   damage);
		goto done;
	}
	if (!em) {
		error = set_detail(u, PS_ST_NOT_MIGRATED, "the Exchange "
				   "service has no emsmdb section");
		goto done;
	}
	u->emsmdb = emsmdb;
	u->scope[u->nscope++] = svc->uid;
	if (!ps_uid_equal(&emsmdb, &svc->uid))
		u->scope[u->nscope++] = emsmdb;
	for (i = 0; i < nprov; i++) {
		ps_prop *tp;
		uint32_t type = 0;
		char *mbx;

		st = sec(p, &provs[i]);
		tp = ps_proplist_get(&st->before, PS_PR_PROFILE_TYPE);
		ps_uid_format(&provs[i], hex);
		if (!st->exists)
			snprintf(damage, sizeof(damage), "store provider "
				 "section %s is missing", hex);
		else if (tp && tp->len != 4)
			snprintf(damage, sizeof(damage), "provider %s: "
				 "0003660a is %zu bytes, not 4", hex, tp->len);
		if (!tp || ps_prop_long(tp, &type) < 0)
			continue;
		u = &p->units[primary_index];
		if (type == PS_PROFILE_TYPE_DELEGATE) {
			mbx = first_string(&st->before,
					   PS_ID_PROFILE_MAILBOX);
			if (is_archive_dn(mbx, u->dn) &&
			    !scope_has(u, &provs[i])) {
				u->scope[u->nscope++] = provs[i];
				u->archives[u->narchives++] = provs[i];
			}
			free(mbx);
			continue;
		}
		if ((type == PS_PROFILE_TYPE_PRIMARY ||
		     type == PS_PROFILE_TYPE_PUBLIC) &&
		    !scope_has(u, &provs[i]))
			u->scope[u->nscope++] = provs[i];
	}
	error = add_side_sections(p, s, &p->units[primary_index],
				  PS_ID_TRANSPORT_PROVIDERS, damage,
				  sizeof(damage));
	if (!error)
		error = add_side_sections(p, s, &p->units[primary_index],
					  PS_ID_AB_PROVIDERS, damage,
					  sizeof(damage));
	if (!error)
		error = classify(p, &p->units[primary_index], o);
	u = &p->units[primary_index];
	if (!error && damage[0] && u->update) {
		u->update = 0;
		error = set_detail(u, PS_ST_BLOCKED_POISONED, "damaged "
				   "profile: %s; the account is not changed",
				   damage);
	}

	for (i = 0; i < nprov && !error; i++) {
		ps_prop *tp;
		uint32_t type = 0;
		char *name;
		ps_buf acct = PS_BUF_INIT;

		st = sec(p, &provs[i]);
		tp = ps_proplist_get(&st->before, PS_PR_PROFILE_TYPE);
		if (!tp || ps_prop_long(tp, &type) < 0 ||
		    type != PS_PROFILE_TYPE_DELEGATE)
			continue;
		if (scope_has(&p->units[primary_index], &provs[i]))
			continue;       /* the account's archive */
		error = add_unit(p, &u);
		if (error < 0)
			break;
		u->kind = PS_UNIT_DELEGATE;
		u->service = svc->uid;
		u->emsmdb = emsmdb;
		u->provider = provs[i];
		u->dn = first_string(&st->before, PS_ID_PROFILE_MAILBOX);
		u->dn = u->dn ? u->dn : ps_strdup("");
		u->smtp = strip_smtp_prefix(first_string(&st->before,
							 PS_ID_PROFILE_SMTP));
		u->server = first_string(&st->before,
					 PS_ID_PROFILE_HOME_SERVER);
		if (!u->server && p->units[primary_index].server)
			u->server = ps_strdup(p->units[primary_index].server);
		name = first_string(&st->before, PS_ID_DISPLAY_NAME);
		ps_buf_printf(&acct, "%s / %s",
			      p->units[primary_index].account,
			      name && *name ? name : (u->dn ? u->dn : ""));
		free(name);
		u->account = ps_buf_detach(&acct);
		u->scope = calloc(1, sizeof(*u->scope));
		if (!u->dn || !u->account || !u->scope) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			break;
		}
		u->scope[u->nscope++] = provs[i];
		error = classify(p, u, o);
	}
done:
	free(provs);
	return error;
}

/* The DN a unit names after the update. */
static const char *result_dn(const ps_unit *u)
{
	return u->update ? ps_plan_target_dn(u) : u->dn;
}

static int check_ambiguous(ps_pplan *p)
{
	size_t i, j;
	int error = 0;

	for (i = 0; i < p->nunits && !error; i++) {
		ps_unit *a = &p->units[i];

		if (!a->update || !*a->dn)
			continue;
		for (j = 0; j < p->nunits && !error; j++) {
			ps_unit *b = &p->units[j];
			int clash;

			if (i == j || !*b->dn)
				continue;
			/* Two accounts, or an account and its own
			 * additional mailbox, naming one mailbox. */
			clash = (a->kind == PS_UNIT_PRIMARY &&
				 b->kind == PS_UNIT_PRIMARY) ||
				(a->kind != b->kind &&
				 ps_uid_equal(&a->service, &b->service));
			if (clash && !ps_strcasecmp(result_dn(a),
						    result_dn(b)))
				error = set_detail(a, PS_ST_BLOCKED_AMBIGUOUS,
					"after the update two accounts of "
					"this profile would open %s",
					result_dn(a));
		}
	}
	/* Blocked units are not updated (a second pass so that both sides
	 * of a clash see the other's result DN). */
	for (i = 0; i < p->nunits; i++)
		if (p->units[i].status == PS_ST_BLOCKED_AMBIGUOUS)
			p->units[i].update = 0;
	return error;
}

/* Sections that no unit may change: the profile's own bookkeeping. */
static const char *const reserved_sections[] = {
	SERVICES_SECTION,
	"0a0d020000000000c000000000000046",
	"13dbb0c8aa05101a9bb000aa002fc45a",
	"9375cff0413111d3b88a00104b2a6676",
	"70726f66737769746368000000000b01",
	NULL
};

static int scope_has(const ps_unit *u, const ps_uid *uid)
{
	size_t i;

	for (i = 0; i < u->nscope; i++)
		if (ps_uid_equal(&u->scope[i], uid))
			return 1;
	return 0;
}

/* A section in the scope of two units, or a reserved section in scope,
 * means a damaged profile: the units involved are not changed. */
static int check_shared(ps_pplan *p)
{
	size_t i, j, k;
	int error = 0;
	char hex[33];

	for (i = 0; i < p->nunits && !error; i++) {
		ps_unit *a = &p->units[i];

		for (k = 0; k < a->nscope && !error; k++) {
			const char *why = NULL;
			size_t r;

			ps_uid_format(&a->scope[k], hex);
			for (r = 0; reserved_sections[r]; r++)
				if (!ps_strcasecmp(hex, reserved_sections[r]))
					why = "is not a mailbox section";
			for (j = 0; j < p->nunits && !why; j++)
				if (j != i && scope_has(&p->units[j],
							&a->scope[k]))
					why = "belongs to two accounts";
			if (!why || !a->update)
				continue;
			a->update = 0;
			error = set_detail(a, PS_ST_BLOCKED_POISONED,
				"damaged profile: section %s %s; the account "
				"is not changed", hex, why);
		}
	}
	return error;
}


/* ---- poisoned profiles (docs/autodiscover.md) --------------------------- */

/* The host a value names: a URL's host, the part after '@' of a
 * GUID@domain server name, else the value itself; lowercase. */
static char *value_host(const char *v)
{
	const char *p = strstr(v, "://"), *end;
	char *h;
	size_t i;

	if (p) {
		p += 3;
		end = p + strcspn(p, ":/?#");
	} else {
		const char *at = strrchr(v, '@');

		p = at ? at + 1 : v;
		end = p + strlen(p);
	}
	h = ps_strndup(p, (size_t)(end - p));
	for (i = 0; h && h[i]; i++)
		h[i] = (char)ps_tolower((unsigned char)h[i]);
	return h;
}

/* Length of the longest host of a side that `host` is or is below; 0
 * when none (eu.contoso.com beats contoso.com when both sides list one). */
static size_t host_on_side(const char *host, const ps_strlist *side)
{
	size_t i, h = strlen(host), best = 0;

	for (i = 0; i < side->n; i++) {
		size_t d = strlen(side->v[i]);

		if (!d || d <= best)
			continue;
		if (!ps_strcasecmp(host, side->v[i]) ||
		    (h > d && host[h - d - 1] == '.' &&
		     !ps_strcasecmp(host + h - d, side->v[i])))
			best = d;
	}
	return best;
}

static int add_host(ps_strlist *l, const char *v)
{
	char *h;

	if (!v || !*v)
		return 0;
	h = value_host(v);
	if (!h)
		return PS_ENOMEM;
	if (!*h || ps_strlist_contains_nocase(l, h)) {
		free(h);
		return 0;
	}
	return ps_strlist_take(l, h) < 0 ? PS_ENOMEM : 0;
}

/* "/o=NAME/" of a DN (copy), or NULL. */
static char *dn_org(const char *dn)
{
	const char *slash = dn && strlen(dn) > 3 ? strchr(dn + 1, '/') : NULL;

	return slash ? ps_strndup(dn, (size_t)(slash - dn) + 1) : NULL;
}

typedef struct sides {
	ps_strlist src, tgt;  /* hosts */
	char *src_org, *tgt_org;
} sides;

static int make_sides(sides *sd, const ps_unit *u, const ps_map_entry *m,
		      int on_source, const ps_config *cfg)
{
	const char *sdom = smtp_domain(m->source_smtp ? m->source_smtp
				       : on_source ? u->smtp : NULL);
	const char *tdom = smtp_domain(m->target_smtp);
	int same = cfg->same_smtp_domain ||
		   (sdom && tdom && !ps_strcasecmp(sdom, tdom));
	int error;

	memset(sd, 0, sizeof(*sd));
	error = add_host(&sd->tgt, m->target_autodiscover_url ?
			 m->target_autodiscover_url
			 : cfg->autodiscover_target_url);
	if (!error)
		error = add_host(&sd->tgt, m->target_server);
	if (!error && !same)
		error = add_host(&sd->tgt, tdom);
	if (!error)
		error = add_host(&sd->src, cfg->autodiscover_source_url);
	if (!error && !same)
		error = add_host(&sd->src, sdom);
	sd->src_org = dn_org(m->source_dn);
	sd->tgt_org = m->target_dn ? dn_org(m->target_dn) : NULL;
	if (sd->src_org && sd->tgt_org &&
	    !ps_strcasecmp(sd->src_org, sd->tgt_org)) {
		free(sd->src_org);
		free(sd->tgt_org);
		sd->src_org = sd->tgt_org = NULL;
	}
	return error;
}

static void sides_free(sides *sd)
{
	ps_strlist_free(&sd->src);
	ps_strlist_free(&sd->tgt);
	free(sd->src_org);
	free(sd->tgt_org);
}

static const struct {
	uint16_t id;
	int kind;            /* 0 host or URL, 1 DN */
	const char *name;
} evidence_ids[] = {
	{ PS_ID_PROFILE_HOME_SERVER, 0, "home server" },
	{ PS_ID_PROFILE_HOME_SERVER_FQDN, 0, "home server FQDN" },
	{ PS_ID_PROFILE_UNRESOLVED_SERVER, 0, "unresolved server" },
	{ 0x6652, 0, "MAPI/HTTP mail store internal URL" },
	{ 0x6653, 0, "MAPI/HTTP mail store external URL" },
	{ 0x6654, 0, "MAPI/HTTP address book internal URL" },
	{ 0x6655, 0, "MAPI/HTTP address book external URL" },
	{ PS_ID_PROFILE_LKG_AUTODISCOVER_URL, 0,
	  "last known good Autodiscover URL" },
	{ PS_ID_PROFILE_HOME_SERVER_DN, 1, "home server DN" },
	{ PS_ID_PROFILE_SERVER_DN, 1, "server DN" },
	{ 0, 0, NULL }
};

static int add_evidence(ps_unit *u, const char *fmt, ...) PS_PRINTF(2, 3);
static int add_evidence(ps_unit *u, const char *fmt, ...)
{
	char text[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return ps_strlist_add(&u->poison, text) < 0 ? PS_ENOMEM : 0;
}

static int find_evidence(ps_pplan *p, ps_unit *u, const ps_map_entry *m,
			 int on_source, const ps_plan_opts *o)
{
	ps_secstate *st = sec(p, &u->emsmdb);
	const char *wrong = on_source ? "target" : "source";
	const char *other_dn = on_source ? m->target_dn : m->source_dn;
	sides sd;
	size_t i, k;
	int error;

	error = make_sides(&sd, u, m, on_source, o->cfg);
	for (i = 0; st && i < st->before.n && !error; i++) {
		const ps_prop *pr = &st->before.v[i];
		char *v, *h, vname[9];
		int hit = 0;

		for (k = 0; evidence_ids[k].id; k++)
			if (PS_PROP_ID(pr->tag) == evidence_ids[k].id)
				break;
		if (!evidence_ids[k].id || !(v = string_value(pr)))
			continue;
		if (evidence_ids[k].kind == 1) {
			const char *org = on_source ? sd.tgt_org : sd.src_org;

			hit = org && !ps_strncasecmp(v, org, strlen(org));
		} else if ((h = value_host(v)) != NULL) {
			/* the wrong side, and more precisely than the
			 * right one (a domain below the other) */
			hit = *h && host_on_side(h, on_source ? &sd.tgt
							      : &sd.src) >
				    host_on_side(h, on_source ? &sd.src
							      : &sd.tgt);
			free(h);
		} else {
			error = PS_ENOMEM;
		}
		ps_prop_name(pr->tag, vname);
		if (hit)
			error = add_evidence(u, "%s (%s) = %s points to the %s",
					     vname, evidence_ids[k].name, v,
					     wrong);
		free(v);
	}
	for (i = 0; i < o->ncached && !error && other_dn; i++)
		if (!ps_strcasecmp(o->cached[i].legacy_dn, other_dn))
			error = add_evidence(u, "cached Autodiscover file %s "
					     "names the %s mailbox",
					     o->cached[i].path, wrong);
	sides_free(&sd);
	return error;
}

static int join_poison(const ps_unit *u, char *out, size_t size)
{
	size_t i, at = 0;

	out[0] = '\0';
	for (i = 0; i < u->poison.n && at < size; i++)
		at += (size_t)snprintf(out + at, size - at, "%s%s",
				       i ? "; " : "", u->poison.v[i]);
	return 0;
}

static int check_poisoned(ps_pplan *p, const ps_plan_opts *o)
{
	size_t i;
	int error = 0;
	char text[900];

	for (i = 0; i < p->nunits && !error; i++) {
		ps_unit *u = &p->units[i];
		const ps_map_entry *m;
		int on_source;

		if (u->kind != PS_UNIT_PRIMARY)
			continue;
		if (u->update && u->status == PS_ST_WOULD_UPDATE) {
			m = u->entry;
			on_source = !ps_strcasecmp(u->dn, m->source_dn);
		} else if (u->status == PS_ST_ALREADY_UPDATED) {
			const char *dom = smtp_domain(u->smtp);

			m = ps_mapping_find_target(o->map, u->dn);
			on_source = 0;
			/* classify's other conditions, as for any update */
			if (m && o->cfg->processed_domains.n &&
			    (!dom || !ps_strlist_contains_nocase(
					&o->cfg->processed_domains, dom)))
				continue;
			if (m && m->target_dn && (!storable(m->target_dn) ||
			    (m->target_smtp && !storable(m->target_smtp)) ||
			    (m->target_server && !storable(m->target_server))))
				continue;
		} else {
			continue;
		}
		if (!m || !m->target_dn)
			continue;
		error = find_evidence(p, u, m, on_source, o);
		if (error || !u->poison.n)
			continue;
		join_poison(u, text, sizeof(text));
		ps_log_msg(o->log, PS_LOG_WARN, p->profile, u->account,
			   "poisoned by Autodiscover: %s", text);
		if (!o->cfg->repair_poisoned) {
			u->update = 0;
			error = set_detail(u, PS_ST_BLOCKED_POISONED,
				"poisoned: %s; set RepairPoisoned=1 to repair",
				text);
			continue;
		}
		u->entry = m;
		u->update = 1;
		u->repair = 1;
		error = set_detail(u, PS_ST_WOULD_UPDATE, "poisoned: %s", text);
	}
	return error;
}

/* ---- Autodiscover verification ----------------------------------------- */

static int ad_fail(ps_unit *u, const char *text)
{
	u->update = 0;
	u->ad_failed = 1;
	if (u->repair)
		return set_detail(u, PS_ST_BLOCKED_POISONED,
				  "repair refused: %s", text);
	return set_detail(u, PS_ST_FAILED, "%s", text);
}

/* RequireTargetReady: the target does not answer for the mailbox yet
 * (or could not be asked); nothing of the unit changes, retried at the
 * next run. */
static int not_ready(ps_unit *u, const char *text)
{
	u->update = 0;
	return set_detail(u, PS_ST_DEFERRED_NOT_READY, "target not ready: %s",
			  text);
}

/* The configured URL a unit's target is asked at, or NULL. */
static const char *target_url(const ps_unit *u, const ps_config *cfg)
{
	const ps_map_entry *m = u->entry;
	const char *url = m->target_autodiscover_url &&
			  *m->target_autodiscover_url
			  ? m->target_autodiscover_url
			  : cfg->autodiscover_target_url;

	return url && *url ? url : NULL;
}

/* RequireTargetReady=1 without POX verification: the anonymous
 * Autodiscover v2 endpoint must answer for the target address with an
 * AutodiscoverV1 URL that is not on the source side. */
static int check_ready(ps_pplan *p, ps_unit *u, const ps_plan_opts *o)
{
	const ps_map_entry *m = u->entry;
	const char *url = target_url(u, o->cfg);
	const ps_ad_result *res = NULL;
	char text[1000];
	char *host;
	sides sd;
	int error, source;

	if (!m->target_smtp || !*m->target_smtp) {
		snprintf(text, sizeof(text), "RequireTargetReady=1 needs "
			 "TargetSMTP (mapping line %u)", m->line);
		return ad_fail(u, text);
	}
	if (o->rehearsal) {
		u->ready_unchecked = 1;
		return 0;
	}
	if (!o->ready)
		return not_ready(u, "no Autodiscover client on this "
				 "platform to ask");
	error = o->ready(o->verify_ctx, m->target_smtp, url, &res);
	if (error < 0)
		return error;
	if (!res->found) {
		snprintf(text, sizeof(text), "Autodiscover v2 for %s: %s",
			 m->target_smtp, res->reason ? res->reason : "");
		ps_log_msg(o->log, PS_LOG_WARN, p->profile, u->account, "%s",
			   text);
		return not_ready(u, text);
	}
	host = value_host(res->v2_url);
	if (!host)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	error = make_sides(&sd, u, m, !ps_strcasecmp(u->dn, m->source_dn),
			   o->cfg);
	source = !error && host_on_side(host, &sd.src) >
			   host_on_side(host, &sd.tgt);
	sides_free(&sd);
	free(host);
	if (error < 0)
		return error;
	if (source) {
		snprintf(text, sizeof(text), "Autodiscover v2 for %s still "
			 "points to the source: %s", m->target_smtp,
			 res->v2_url);
		ps_log_msg(o->log, PS_LOG_WARN, p->profile, u->account, "%s",
			   text);
		return not_ready(u, text);
	}
	ps_log_msg(o->log, PS_LOG_INFO, p->profile, u->account,
		   "target ready: Autodiscover v2 at %s answers for %s with "
		   "%s", res->url, m->target_smtp, res->v2_url);
	return 0;
}

static int verify_units(ps_pplan *p, const ps_plan_opts *o)
{
	const ps_config *cfg = o->cfg;
	size_t i;
	int error = 0;
	char text[1000];

	for (i = 0; i < p->nunits && !error; i++) {
		ps_unit *u = &p->units[i];
		const ps_map_entry *m = u->entry;
		const ps_ad_result *res = NULL;
		const char *url, *want = ps_plan_target_dn(u);
		/* readiness decided by the POX verification below */
		int ready = cfg->require_target_ready && !u->repair;

		if (!u->update)
			continue;
		if (!(cfg->verify_autodiscover || cfg->same_smtp_domain ||
		      u->repair)) {
			if (cfg->require_target_ready)
				error = check_ready(p, u, o);
			continue;
		}
		url = target_url(u, cfg);
		if (cfg->same_smtp_domain && !url) {
			error = ad_fail(u, "SameSmtpDomain=1 needs "
				"AutodiscoverTargetURL or the mapping's "
				"TargetAutodiscoverURL");
			continue;
		}
		/* Everything plan_outside needs is checked here, before the
		 * rules change the unit's sections. */
		if (cfg->same_smtp_domain && u->kind == PS_UNIT_PRIMARY &&
		    !o->local_appdata && !o->rehearsal) {
			error = ad_fail(u, "SameSmtpDomain=1: the user's "
				       "LocalAppData folder is unknown");
			continue;
		}
		if (!m->target_smtp || !*m->target_smtp) {
			snprintf(text, sizeof(text), "Autodiscover "
				 "verification needs TargetSMTP (mapping line "
				 "%u)", m->line);
			error = ad_fail(u, text);
			continue;
		}
		/* A rehearsal asks no server (docs/rehearsal.md): the
		 * unit is planned as if the target confirmed it. */
		if (o->rehearsal) {
			u->ad_unchecked = 1;
			u->ready_unchecked = ready;
			continue;
		}
		if (!o->verify) {
			error = ad_fail(u, "no Autodiscover client on this "
				       "platform");
			continue;
		}
		error = o->verify(o->verify_ctx, m->target_smtp, url, &res);
		if (error < 0)
			break;
		if (!res->found) {
			snprintf(text, sizeof(text), "Autodiscover for %s "
				 "found no settings: %s", m->target_smtp,
				 res->reason ? res->reason : "");
			/* the address is not there yet, or no server could
			 * be reached: not ready rather than failed */
			if (ready && (!res->answered ||
				      res->unknown_mailbox))
				error = not_ready(u, text);
			else
				error = ad_fail(u, text);
		} else if (!res->trusted) {
			snprintf(text, sizeof(text), "Autodiscover for %s: "
				 "the settings came from %s, reached through a "
				 "server that is not in the user's domain, the "
				 "configured URL's host or "
				 "AutodiscoverAllowedHosts; not used",
				 m->target_smtp, res->url);
			error = ad_fail(u, text);
		} else if (ready && res->settings.legacy_dn &&
			   ps_strcasecmp(res->settings.legacy_dn, want) &&
			   !ps_strcasecmp(res->settings.legacy_dn,
					  m->source_dn)) {
			snprintf(text, sizeof(text), "Autodiscover at %s "
				 "still answers for %s with the source "
				 "LegacyDN %s", res->url, m->target_smtp,
				 m->source_dn);
			error = not_ready(u, text);
		} else if (!res->settings.legacy_dn ||
			   ps_strcasecmp(res->settings.legacy_dn, want)) {
			snprintf(text, sizeof(text), "Autodiscover URL points "
				 "to wrong Exchange server: %s returned "
				 "LegacyDN %s, the mapping says %s", res->url,
				 res->settings.legacy_dn
				 ? res->settings.legacy_dn : "(none)", want);
			error = ad_fail(u, text);
		} else {
			u->ad = res;
			u->ad_url = url;
			ps_log_msg(o->log, PS_LOG_INFO, p->profile, u->account,
				   "Autodiscover at %s confirms %s", res->url,
				   want);
		}
	}
	return error;
}

/* ---- changes outside the profile --------------------------------------- */

static int add_val(ps_pplan *p, ps_store *s, const char *name,
		   uint32_t type, const uint8_t *data, size_t len)
{
	uint32_t t = 0;
	uint8_t *old = NULL;
	size_t olen = 0, i;
	ps_valchange *v;
	int error;

	for (i = 0; i < p->nvals; i++)
		if (!ps_strcasecmp(p->vals[i].name, name))
			return 0;
	error = ps_store_get_value(s, "AutoDiscover", name, &t, &old, &olen);
	if (error == 0 && t == type && olen == len && !memcmp(old, data, len)) {
		free(old);
		return 0;
	}
	free(old);
	if (error < 0 && error != PS_ENOTFOUND)
		return error;
	v = realloc(p->vals, (p->nvals + 1) * sizeof(*v));
	if (!v)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	p->vals = v;
	v = &p->vals[p->nvals];
	memset(v, 0, sizeof(*v));
	v->subkey = ps_strdup("AutoDiscover");
	v->name = ps_strdup(name);
	v->type = type;
	v->data = malloc(len ? len : 1);
	if (!v->subkey || !v->name || !v->data) {
		free(v->subkey);
		free(v->name);
		free(v->data);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	memcpy(v->data, data, len);
	v->len = len;
	p->nvals++;
	return 0;
}

static int add_file(ps_pplan *p, const char *path, int del, const char *data)
{
	ps_filechange *f;
	size_t i;

	for (i = 0; i < p->nfiles; i++)
		if (!ps_strcasecmp(p->files[i].path, path))
			return 0;
	f = realloc(p->files, (p->nfiles + 1) * sizeof(*f));
	if (!f)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	p->files = f;
	f = &p->files[p->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = ps_strdup(path);
	f->del = del;
	f->data = del ? NULL : ps_strdup(data);
	if (!f->path || (!del && !f->data)) {
		free(f->path);
		free(f->data);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	f->len = del ? 0 : strlen(data);
	p->nfiles++;
	return 0;
}

static void xml_escape(ps_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': ps_buf_puts(b, "&amp;"); break;
		case '<': ps_buf_puts(b, "&lt;"); break;
		case '>': ps_buf_puts(b, "&gt;"); break;
		case '"': ps_buf_puts(b, "&quot;"); break;
		default: ps_buf_putc(b, *s); break;
		}
	}
}

static const char *const exclude_values[] = {
	"PreferLocalXML", "ExcludeHttpsRootDomain",
	"ExcludeHttpsAutodiscoverDomain", "ExcludeHttpRedirect",
	"ExcludeSrvRecord", "ExcludeScpLookup", "ExcludeLastKnownGoodURL",
	"ExcludeExplicitO365Endpoint", NULL
};

const char *const *ps_plan_same_domain_values(void)
{
	return exclude_values;
}

/* SameSmtpDomain=1: the local XML and the values that pin Outlook to it,
 * once per domain. */
static int plan_local_xml(ps_pplan *p, ps_store *s, ps_unit *u,
			  const ps_plan_opts *o)
{
	const char *dom = smtp_domain(u->entry->target_smtp);
	ps_buf path = PS_BUF_INIT, xml = PS_BUF_INIT, wide = PS_BUF_INIT;
	static const uint8_t one[4] = { 1, 0, 0, 0 };
	size_t i;
	int error;

	if (!o->local_appdata)   /* verify_units refused the unit */
		return ps_error_setc(PS_ERROR, "LocalAppData unknown");
	ps_buf_printf(&path, "%s\\Microsoft\\Outlook\\profswitch-",
		      o->local_appdata);
	for (i = 0; dom[i]; i++)
		ps_buf_putc(&path, ps_tolower((unsigned char)dom[i]));
	ps_buf_puts(&path, ".xml");
	ps_buf_puts(&xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
		"<Autodiscover xmlns=\"" PS_AD_NS_RESPONSE "\">\r\n"
		"  <Response xmlns=\"" PS_AD_NS_OUTLOOK "\">\r\n"
		"    <Account>\r\n"
		"      <AccountType>email</AccountType>\r\n"
		"      <Action>redirectUrl</Action>\r\n"
		"      <RedirectUrl>");
	xml_escape(&xml, u->ad_url);
	ps_buf_puts(&xml, "</RedirectUrl>\r\n"
		"    </Account>\r\n"
		"  </Response>\r\n"
		"</Autodiscover>\r\n");
	error = ps_buf_check(&path);
	if (!error)
		error = ps_buf_check(&xml);
	if (!error)
		error = ps_utf8_to_utf16le(&wide, path.ptr, path.len);
	if (!error)
		error = ps_buf_put(&wide, "\0\0", 2);
	if (!error)
		error = add_file(p, path.ptr, 0, xml.ptr);
	if (!error) {
		char *name = ps_strdup(dom);

		for (i = 0; name && name[i]; i++)
			name[i] = (char)ps_tolower((unsigned char)name[i]);
		error = name ? add_val(p, s, name, PS_REG_SZ,
				       (const uint8_t *)wide.ptr, wide.len)
			     : PS_ENOMEM;
		free(name);
	}
	for (i = 0; exclude_values[i] && !error; i++)
		error = add_val(p, s, exclude_values[i], PS_REG_DWORD, one, 4);
	ps_buf_free(&path);
	ps_buf_free(&xml);
	ps_buf_free(&wide);
	return error;
}

/* Is the unit's target Exchange Online?  Its TargetServer is Exchange
 * Online's host or its TargetLegacyDN is in the ExchangeLabs
 * organisation. */
static int target_is_exo(const ps_unit *u)
{
	static const char *const hosts[] = {
		"outlook.office365.com", "outlook.office.com", NULL
	};
	const char *srv = u->entry->target_server;
	const char *dn = u->entry->target_dn;
	size_t i;

	for (i = 0; srv && hosts[i]; i++)
		if (!ps_strcasecmp(srv, hosts[i]))
			return 1;
	return dn && !ps_strncasecmp(dn, "/o=ExchangeLabs/", 16);
}

#define O365_EXCLUSION "ExcludeExplicitO365Endpoint"

/* AutoDiscover\ExcludeExplicitO365Endpoint = 1 set by the source's
 * admins stops Outlook from asking Exchange Online: removed for a unit
 * moving there (docs/autodiscover.md), unless SameSmtpDomain pins it. */
static int plan_o365_exclusion(ps_pplan *p, ps_store *s, ps_unit *u,
			       const ps_plan_opts *o)
{
	uint32_t t = 0;
	uint8_t *old = NULL;
	size_t olen = 0, i;
	ps_valchange *v;
	int error, one;

	if (o->cfg->same_smtp_domain || !target_is_exo(u))
		return 0;
	for (i = 0; i < p->nvals; i++)
		if (!ps_strcasecmp(p->vals[i].name, O365_EXCLUSION))
			return 0;
	error = ps_store_get_value(s, "AutoDiscover", O365_EXCLUSION, &t,
				   &old, &olen);
	if (error == PS_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	one = t == PS_REG_DWORD && olen == 4 && old[0] == 1 && !old[1] &&
	      !old[2] && !old[3];
	free(old);
	if (!one)
		return 0;
	if (o->cfg->o365_exclusion == PS_O365X_KEEP) {
		ps_log_msg(o->log, PS_LOG_WARN, p->profile, u->account,
			   "AutoDiscover\\" O365_EXCLUSION " = 1 stops "
			   "Outlook from asking Exchange Online for the "
			   "target; kept (O365EndpointExclusion=keep)");
		return 0;
	}
	v = realloc(p->vals, (p->nvals + 1) * sizeof(*v));
	if (!v)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	p->vals = v;
	v = &p->vals[p->nvals];
	memset(v, 0, sizeof(*v));
	v->subkey = ps_strdup("AutoDiscover");
	v->name = ps_strdup(O365_EXCLUSION);
	v->data = malloc(1);
	if (!v->subkey || !v->name || !v->data) {
		free(v->subkey);
		free(v->name);
		free(v->data);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	v->del = 1;
	v->fix = 1;
	p->nvals++;
	ps_log_msg(o->log, PS_LOG_INFO, p->profile, u->account,
		   "AutoDiscover\\" O365_EXCLUSION " = 1 would stop "
		   "Outlook from asking Exchange Online for the target; "
		   "removed (O365EndpointExclusion=remove)");
	return 0;
}

/* ---- the Office sign-in cache (docs/update-rules.md) -------------------- */

#define IDENTITIES "Common\\Identity\\Identities"
#define ID_PROFILES "Common\\Identity\\Profiles"

char *ps_plan_office_text(ps_store *s, const char *key, const char *name)
{
	ps_buf b = PS_BUF_INIT;
	uint8_t *data = NULL;
	uint32_t type = 0;
	size_t len = 0;

	if (ps_store_get_office_value(s, key, name, &type, &data, &len) < 0)
		return NULL;
	while (len >= 2 && !data[len - 1] && !data[len - 2])
		len -= 2;
	if ((type != PS_REG_SZ && type != PS_REG_EXPAND_SZ) || len % 2 ||
	    ps_utf16le_to_utf8(&b, data, len) < 0 || ps_buf_check(&b) < 0) {
		free(data);
		ps_buf_free(&b);
		return NULL;
	}
	free(data);
	if (!b.ptr)
		return ps_strdup("");
	return ps_buf_detach(&b);
}

/* Does an address name the unit's source (and not its target)? */
static int source_address(const ps_unit *u, const char *addr)
{
	const char *src[2], *tgt = u->entry->target_smtp;
	const char *dom = smtp_domain(addr), *tdom = smtp_domain(tgt);
	size_t i;

	src[0] = u->entry->source_smtp;
	src[1] = u->smtp;
	if (!addr || !*addr || (tgt && !ps_strcasecmp(addr, tgt)))
		return 0;
	for (i = 0; i < 2; i++) {
		const char *sdom = smtp_domain(src[i]);

		if (!src[i])
			continue;
		if (!ps_strcasecmp(addr, src[i]))
			return 1;
		if (dom && sdom && !ps_strcasecmp(dom, sdom) &&
		    (!tdom || ps_strcasecmp(sdom, tdom)))
			return 1;
	}
	return 0;
}

/* Office's cached sign-in identities of the updated units' source
 * (EmailAddress or SignInName an address or domain of the source, or
 * TenantId = SourceTenantId): counted on each unit, and with
 * ResetOfficeIdentity=1 their Identities and Profiles keys planned for
 * deletion. */
static int plan_identities(ps_pplan *p, ps_store *s, const ps_plan_opts *o)
{
	ps_strlist ids = PS_STRLIST_INIT, vals = PS_STRLIST_INIT;
	ps_strlist sub = PS_STRLIST_INIT, sv = PS_STRLIST_INIT;
	ps_buf key = PS_BUF_INIT;
	size_t i, k;
	int error, any = 0;

	for (i = 0; i < p->nunits; i++)
		any |= p->units[i].update && p->units[i].kind ==
						 PS_UNIT_PRIMARY;
	if (!any)
		return 0;
	error = ps_store_list_key(s, IDENTITIES, &ids, &vals);
	if (error == PS_ENOTFOUND)
		return 0;
	for (i = 0; i < ids.n && !error; i++) {
		char *mail, *sign, *tenant;
		int hit = 0;

		ps_buf_clear(&key);
		ps_buf_printf(&key, IDENTITIES "\\%s", ids.v[i]);
		if ((error = ps_buf_check(&key)) < 0)
			break;
		mail = ps_plan_office_text(s, key.ptr, "EmailAddress");
		sign = ps_plan_office_text(s, key.ptr, "SignInName");
		tenant = ps_plan_office_text(s, key.ptr, "TenantId");
		for (k = 0; k < p->nunits; k++) {
			ps_unit *u = &p->units[k];
			int m;

			if (!u->update || u->kind != PS_UNIT_PRIMARY)
				continue;
			m = source_address(u, mail) ||
			    source_address(u, sign) ||
			    (o->cfg->source_tenant_id && tenant &&
			     !ps_strcasecmp(tenant, o->cfg->source_tenant_id));
			if (m) {
				u->nidentities++;
				hit = 1;
			}
		}
		if (hit) {
			ps_log_msg(o->log, o->cfg->reset_office_identity
				   ? PS_LOG_INFO : PS_LOG_WARN, p->profile,
				   NULL, "Office sign-in identity %s (%s) is "
				   "the source's%s", ids.v[i],
				   mail ? mail : sign ? sign : "no address",
				   o->cfg->reset_office_identity
				   ? "; removed with the update"
				   : "; kept (ResetOfficeIdentity=0)");
		}
		free(mail);
		free(sign);
		free(tenant);
		if (!hit || !o->cfg->reset_office_identity)
			continue;
		error = ps_strlist_add(&p->delkeys, key.ptr);
		ps_buf_clear(&key);
		ps_buf_printf(&key, ID_PROFILES "\\%s", ids.v[i]);
		if (!error)
			error = ps_buf_check(&key);
		if (!error) {
			int rc = ps_store_list_key(s, key.ptr, &sub, &sv);

			ps_strlist_free(&sub);
			ps_strlist_free(&sv);
			if (rc == 0)
				error = ps_strlist_add(&p->delkeys, key.ptr);
			else if (rc != PS_ENOTFOUND)
				error = rc;
		}
	}
	ps_buf_free(&key);
	ps_strlist_free(&ids);
	ps_strlist_free(&vals);
	return error;
}

static int plan_outside(ps_pplan *p, ps_store *s, const ps_plan_opts *o)
{
	size_t i, k;
	int error = 0;

	for (i = 0; i < p->nunits && !error; i++) {
		ps_unit *u = &p->units[i];

		if (!u->update)
			continue;
		if (u->repair)
			for (k = 0; k < o->ncached && !error; k++) {
				const char *other = ps_strcasecmp(u->dn,
					u->entry->source_dn) ? u->entry->source_dn
					: u->entry->target_dn;

				if (!ps_strcasecmp(o->cached[k].legacy_dn,
						   other))
					error = add_file(p, o->cached[k].path,
							 1, NULL);
			}
		if (!error && o->cfg->same_smtp_domain &&
		    u->kind == PS_UNIT_PRIMARY && u->ad && u->ad_url)
			error = plan_local_xml(p, s, u, o);
		if (!error && u->kind == PS_UNIT_PRIMARY)
			error = plan_o365_exclusion(p, s, u, o);
	}
	if (!error)
		error = plan_identities(p, s, o);
	return error;
}

/* A mapping that moves a mailbox back to the DN the last update moved
 * it from (A to B, then B to A) would flip it at every logon and grow the
 * backup each time: the unit is blocked and the admin decides (rollback
 * goes back exactly; otherwise the mapping is wrong). */
static int check_undo(ps_pplan *p, const ps_plan_opts *o)
{
	size_t i, j;
	int error = 0;

	for (i = 0; o->last && i < p->nunits && !error; i++) {
		ps_unit *u = &p->units[i];

		if (!u->update || !u->entry->target_dn)
			continue;
		for (j = 0; j < o->last->nunits; j++) {
			const ps_gen_unit *g = &o->last->units[j];

			if (ps_strcasecmp(g->target_dn, u->dn) ||
			    ps_strcasecmp(g->source_dn, u->entry->target_dn))
				continue;
			u->update = 0;
			error = set_detail(u, PS_ST_BLOCKED_AMBIGUOUS,
				"the mapping (line %u) moves this mailbox "
				"back to %s, which the update of backup "
				"generation %02x moved it from; run "
				"'profswitch rollback' to go back, or fix the "
				"mapping", u->entry->line, g->source_dn,
				o->last->number);
			break;
		}
	}
	return error;
}

int ps_plan_build(ps_pplan *out, ps_store *s, const char *profile,
		  const ps_plan_opts *o)
{
	ps_pplan p;
	ps_service *svcs = NULL;
	size_t nsvc = 0, i;
	int error;

	memset(&p, 0, sizeof(p));
	p.profile = ps_strdup(profile);
	if (!p.profile)
		return PS_ENOMEM;
	error = ps_store_list_services(s, profile, &svcs, &nsvc);
	for (i = 0; i < nsvc && !error; i++) {
		size_t k;

		for (k = 0; k < i; k++)
			if (ps_uid_equal(&svcs[k].uid, &svcs[i].uid))
				break;
		if (k < i) {
			ps_log_msg(o->log, PS_LOG_WARN, profile, NULL,
				   "service %s is listed twice; the second "
				   "entry is ignored", svcs[i].display_name);
			continue;
		}
		if (!ps_strcasecmp(svcs[i].service_name, "MSEMS"))
			error = discover_account(&p, s, &svcs[i], o);
	}
	/* Repairs join the update before the guards see it. */
	if (!error)
		error = check_poisoned(&p, o);
	if (!error)
		error = check_ambiguous(&p);
	if (!error)
		error = check_shared(&p);
	if (!error)
		error = check_undo(&p, o);
	if (!error)
		error = verify_units(&p, o);
	for (i = 0; i < p.nunits && !error; i++)
		if (p.units[i].update)
			error = apply_rules(&p, &p.units[i], o);
	if (!error)
		error = plan_outside(&p, s, o);
	ps_services_free(svcs, nsvc);
	if (error < 0) {
		ps_plan_free(&p);
		return error;
	}
	*out = p;
	return 0;
}

int ps_proplist_same(const ps_proplist *a, const ps_proplist *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		ps_prop *o = ps_proplist_get(b, a->v[i].tag);

		if (!o || o->len != a->v[i].len ||
		    memcmp(o->data, a->v[i].data, o->len))
			return 0;
	}
	return 1;
}

int ps_plan_changed(const ps_pplan *p, ps_secstate ***out, size_t *n)
{
	ps_secstate **v = calloc(p->nsecs ? p->nsecs : 1, sizeof(*v));
	size_t count = 0, i;
	int order;

	if (!v)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (order = 0; order < p->next_order; order++)
		for (i = 0; i < p->nsecs; i++)
			if (p->secs[i].order == order &&
			    !ps_proplist_same(&p->secs[i].before,
					      &p->secs[i].after))
				v[count++] = &p->secs[i];
	*out = v;
	*n = count;
	return 0;
}

void ps_plan_free(ps_pplan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nsecs; i++) {
		ps_proplist_free(&p->secs[i].before);
		ps_proplist_free(&p->secs[i].after);
		free(p->secs[i].written);
	}
	free(p->secs);
	for (i = 0; i < p->nunits; i++) {
		free(p->units[i].scope);
		free(p->units[i].archives);
		free(p->units[i].account);
		free(p->units[i].dn);
		free(p->units[i].smtp);
		free(p->units[i].server);
		free(p->units[i].detail);
		free(p->units[i].ost_path);
		free(p->units[i].ost_why);
		ps_strlist_free(&p->units[i].poison);
	}
	free(p->units);
	for (i = 0; i < p->nvals; i++) {
		free(p->vals[i].subkey);
		free(p->vals[i].name);
		free(p->vals[i].data);
	}
	free(p->vals);
	ps_strlist_free(&p->delkeys);
	for (i = 0; i < p->nfiles; i++) {
		free(p->files[i].path);
		free(p->files[i].data);
	}
	free(p->files);
	free(p->profile);
	memset(p, 0, sizeof(*p));
}
