#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_prop.h"
#include "ps_utf.h"
#include "ps_app.h"
#include "ps_posix.h"

static ps_regkey *section_key(ps_regtree *t, const char *profile,
			      const char *uid)
{
	ps_buf path = PS_BUF_INIT;
	ps_regkey *k = NULL;

	ps_buf_printf(&path, "%s\\%s\\%s", TU_PROFILES, profile, uid);
	assert_int_equal(ps_regkey_create(t->root, path.ptr, &k), 0);
	ps_buf_free(&path);
	return k;
}

void tu_tree_init(ps_regtree *t)
{
	ps_regkey *k = NULL;
	static const uint8_t name[] = { 'O', 0, 'u', 0, 't', 0, 'l', 0,
					'o', 0, 'o', 0, 'k', 0, 0, 0 };

	assert_int_equal(ps_regtree_init(t, PS_REGENC_UTF16), 0);
	assert_int_equal(ps_regkey_create(t->root, TU_PROFILES, &k), 0);
	ps_regkey_set(k->parent, "DefaultProfile", 1, name, sizeof(name));
}

void tu_set(ps_regtree *t, const char *profile, const char *uid,
	    uint32_t tag, const void *data, size_t len)
{
	char name[9];

	ps_prop_name(tag, name);
	assert_int_equal(ps_regkey_set(section_key(t, profile, uid), name, 3,
				       data, len), 0);
}

/* PT_STRING8 as Outlook writes it: a REG_SZ value (UTF-16LE + NUL). */
void tu_set_str8(ps_regtree *t, const char *profile, const char *uid,
		 uint32_t id, const char *s)
{
	ps_buf b = PS_BUF_INIT;
	char name[9];

	assert_int_equal(ps_utf8_to_utf16le(&b, s, strlen(s)), 0);
	ps_buf_put(&b, "\0", 2);
	ps_prop_name(PS_PROP_TAG(PS_PT_STRING8, id), name);
	assert_int_equal(ps_regkey_set(section_key(t, profile, uid), name, 1,
				       b.ptr, b.len), 0);
	ps_buf_free(&b);
}

/* PT_STRING8 as some scripts write it: REG_BINARY 8-bit text + NUL. */
void tu_set_bin8(ps_regtree *t, const char *profile, const char *uid,
		 uint32_t id, const char *s)
{
	tu_set(t, profile, uid, PS_PROP_TAG(PS_PT_STRING8, id), s,
	       strlen(s) + 1);
}

void tu_set_uni(ps_regtree *t, const char *profile, const char *uid,
		uint32_t id, const char *s)
{
	ps_buf b = PS_BUF_INIT;

	assert_int_equal(ps_utf8_to_utf16le(&b, s, strlen(s)), 0);
	ps_buf_put(&b, "\0", 2);
	tu_set(t, profile, uid, PS_PROP_TAG(PS_PT_UNICODE, id), b.ptr, b.len);
	ps_buf_free(&b);
}

void tu_set_long(ps_regtree *t, const char *profile, const char *uid,
		 uint32_t id, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	tu_set(t, profile, uid, PS_PROP_TAG(PS_PT_LONG, id), b, 4);
}

static ps_regval *find_value(ps_regtree *t, const char *profile,
			     const char *uid, uint32_t tag)
{
	ps_buf path = PS_BUF_INIT;
	ps_regkey *k;
	char name[9];

	ps_buf_printf(&path, "%s\\%s\\%s", TU_PROFILES, profile, uid);
	k = ps_regkey_find(t->root, path.ptr);
	ps_buf_free(&path);
	ps_prop_name(tag, name);
	return k ? ps_regkey_value(k, name) : NULL;
}

char *tu_get_string(ps_regtree *t, const char *profile, const char *uid,
		    uint32_t tag)
{
	ps_regval *v = find_value(t, profile, uid, tag);
	ps_prop p = { 0, 0, NULL, PS_FORM_DEFAULT };
	char *s = NULL;

	if (!v)
		return NULL;
	if (v->type == 1) {     /* REG_SZ: a PT_STRING8 as Outlook keeps it */
		ps_buf b = PS_BUF_INIT;
		size_t len = v->len;

		assert_int_equal(PS_PROP_TYPE(tag), PS_PT_STRING8);
		while (len >= 2 && !v->data[len - 1] && !v->data[len - 2])
			len -= 2;
		assert_int_equal(ps_utf16le_to_utf8(&b, v->data, len), 0);
		return ps_buf_detach(&b);
	}
	p.tag = tag;
	p.data = v->data;
	p.len = v->len;
	assert_int_equal(ps_prop_string(&p, &s), 0);
	return s;
}

int tu_has(ps_regtree *t, const char *profile, const char *uid,
	   uint32_t tag)
{
	return find_value(t, profile, uid, tag) != NULL;
}

char *tu_read_data(const char *rel, size_t *len)
{
	char path[1024];
	char *p = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/%s", PS_SOURCE_DIR, rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

void tu_tree_copy(ps_regtree *dst, const ps_regtree *src)
{
	ps_buf b = PS_BUF_INIT;

	assert_int_equal(ps_regtree_write(src, &b), 0);
	assert_int_equal(ps_regtree_parse(dst, "copy.reg",
					  (const uint8_t *)b.ptr, b.len), 0);
	ps_buf_free(&b);
}

static void set_uids(ps_regtree *t, const char *profile, const char *uid,
		     uint32_t id, const char *const *uids)
{
	uint8_t data[16 * 8];
	size_t n = 0;
	ps_uid u;

	for (; *uids; uids++, n++) {
		assert_int_equal(ps_uid_parse(&u, *uids), 0);
		memcpy(data + 16 * n, u.b, 16);
	}
	tu_set(t, profile, uid, PS_PROP_TAG(PS_PT_BINARY, id), data, 16 * n);
}

static void exchange_service(ps_regtree *t, const char *svc,
			     const char *ems, const char *smtp,
			     const char *const *provs)
{
	const char *one[2] = { ems, NULL };

	tu_set_str8(t, "Outlook", svc, PS_ID_SERVICE_NAME, "MSEMS");
	tu_set_uni(t, "Outlook", svc, PS_ID_DISPLAY_NAME, smtp);
	set_uids(t, "Outlook", svc, PS_ID_EMSMDB_SECTION_UID, one);
	set_uids(t, "Outlook", svc, PS_ID_STORE_PROVIDERS, provs);
}

static void mailbox(ps_regtree *t, const char *ems, const char *dn,
		    const char *smtp, const char *server, const char *fqdn,
		    const char *ost)
{
	ps_buf b = PS_BUF_INIT;

	tu_set_str8(t, "Outlook", ems, PS_ID_PROFILE_USER, dn);
	tu_set_str8(t, "Outlook", ems, PS_ID_PROFILE_SMTP, smtp);
	tu_set_uni(t, "Outlook", ems, PS_ID_PROFILE_SMTP, smtp);
	tu_set_str8(t, "Outlook", ems, PS_ID_PROFILE_HOME_SERVER, server);
	tu_set_uni(t, "Outlook", ems, PS_ID_PROFILE_HOME_SERVER_FQDN, fqdn);
	ps_buf_printf(&b, "/o=Fabrikam/ou=Exchange Administrative Group "
		      "(FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=%s",
		      server);
	tu_set_str8(t, "Outlook", ems, PS_ID_PROFILE_HOME_SERVER_DN, b.ptr);
	tu_set_long(t, "Outlook", ems, PS_ID_PROFILE_CONFIG_FLAGS, 0x1180);
	tu_set_uni(t, "Outlook", ems, PS_ID_PROFILE_OFFLINE_STORE_PATH, ost);
	ps_buf_clear(&b);
	ps_buf_printf(&b, "https://%s/mapi/emsmdb/?MailboxId=x", fqdn);
	tu_set_uni(t, "Outlook", ems, 0x6652, b.ptr);
	tu_set_long(t, "Outlook", ems, PS_ID_OAB_ATTEMPTED_FULLDN, 3);
	/* Not a rule's property, but it names the server: R8 removes it. */
	tu_set_uni(t, "Outlook", ems, 0x6620, fqdn);
	/* Unrelated values that must survive. */
	tu_set_long(t, "Outlook", ems, 0x6619, 9);
	ps_buf_free(&b);
}

static void provider(ps_regtree *t, const char *uid, const char *svc,
		     uint32_t type, const char *dn, const char *server,
		     const char *name)
{
	const char *one[2] = { svc, NULL };

	tu_set_long(t, "Outlook", uid, PS_ID_PROFILE_TYPE, type);
	if (dn)
		tu_set_str8(t, "Outlook", uid, PS_ID_PROFILE_MAILBOX, dn);
	tu_set_str8(t, "Outlook", uid, PS_ID_PROFILE_SERVER, server);
	tu_set_uni(t, "Outlook", uid, PS_ID_DISPLAY_NAME, name);
	set_uids(t, "Outlook", uid, PS_ID_SERVICE_UID, one);
}

void tu_fixture(ps_regtree *t)
{
	const char *services[] = { TU_SVC_A, TU_SVC_S, TU_SVC_P, NULL };
	const char *provs_a[] = { TU_PRI_A, TU_PUB_A, TU_DEL_A, NULL };
	const char *provs_s[] = { TU_PRI_S, NULL };
	const char *provs_p[] = { TU_PST_P, NULL };

	tu_tree_init(t);
	set_uids(t, "Outlook", "9207f3e0a3b11019908b08002b2a56c2",
		 PS_ID_SERVICES, services);
	exchange_service(t, TU_SVC_A, TU_EMS_A, "alice@fabrikam.com",
			 provs_a);
	mailbox(t, TU_EMS_A, TU_ALICE_SRC, "alice@fabrikam.com", "EXCH01",
		"exch01.fabrikam.local",
		"C:\\Users\\alice\\AppData\\Local\\Microsoft\\Outlook\\"
		"alice@fabrikam.com.ost");
	provider(t, TU_PRI_A, TU_SVC_A, 1, TU_ALICE_SRC, "EXCH01",
		 "Mailbox - Alice Smith");
	provider(t, TU_PUB_A, TU_SVC_A, 3, NULL, "EXCH01",
		 "Public Folders - alice@fabrikam.com");
	provider(t, TU_DEL_A, TU_SVC_A, 2, TU_BOB_SRC, "EXCH01",
		 "Mailbox - Bob Jones");
	exchange_service(t, TU_SVC_S, TU_EMS_S, "sales@fabrikam.com",
			 provs_s);
	mailbox(t, TU_EMS_S, TU_SALES_SRC, "sales@fabrikam.com", "EXCH02",
		"exch02.fabrikam.local",
		"C:\\Users\\alice\\AppData\\Local\\Microsoft\\Outlook\\"
		"sales@fabrikam.com.ost");
	provider(t, TU_PRI_S, TU_SVC_S, 1, TU_SALES_SRC, "EXCH02",
		 "Mailbox - Sales");
	tu_set_str8(t, "Outlook", TU_SVC_P, PS_ID_SERVICE_NAME, "MSUPST MS");
	tu_set_uni(t, "Outlook", TU_SVC_P, PS_ID_DISPLAY_NAME, "Archive");
	set_uids(t, "Outlook", TU_SVC_P, PS_ID_STORE_PROVIDERS, provs_p);
	tu_set_uni(t, "Outlook", TU_PST_P, 0x6700,
		   "C:\\Users\\alice\\Documents\\archive.pst");
}

ps_mapping *tu_mapping(const char *text)
{
	ps_mapping *m = NULL;
	int error = ps_mapping_parse(&m, "test.puf", text, strlen(text),
				     NULL);

	if (error)
		fail_msg("mapping: %s", ps_error_last());
	return m;
}

static void slurp(FILE *f, ps_buf *b)
{
	char chunk[4096];
	size_t n;

	ps_buf_clear(b);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ps_buf_put(b, chunk, n);
	fclose(f);
}

int tu_app(ps_buf *out, ps_buf *err, char **argv)
{
	char *args[64];
	int argc = 0, status;
	ps_system *sys = NULL;
	ps_app_env env;
	FILE *fo = tmpfile(), *fe = tmpfile();

	assert_non_null(fo);
	assert_non_null(fe);
	args[argc++] = (char *)"profswitch";
	while (argv[argc - 1] && argc < 63) {
		args[argc] = argv[argc - 1];
		argc++;
	}
	args[argc] = NULL;
	assert_int_equal(ps_posix_system_new(&sys), 0);
	ps_posix_app_env(&env, sys, fo, fe);
	status = ps_app_main(&env, argc, args);
	slurp(fo, out);
	slurp(fe, err);
	ps_sys_free(sys);
	return status;
}

int tu_run(ps_buf *out, ps_buf *err, const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	const char *a;

	va_start(ap, first);
	for (a = first; a && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return tu_app(out, err, argv);
}
