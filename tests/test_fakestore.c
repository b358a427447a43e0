/*
 * The fake store as a store-port backend: the MAPI-like walk, section
 * handles, policy reads, flushing, and the fault shim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_error.h"
#include "ps_posix.h"
#include "ps_utf.h"
#include "testutil.h"

static ps_store *fixture_store(void)
{
	ps_regtree t;
	ps_store *s = NULL;

	tu_fixture(&t);
	assert_int_equal(ps_fakestore_from_tree(&s, &t, NULL, NULL), 0);
	return s;
}

static void test_profiles_and_services(void **state)
{
	ps_store *s = fixture_store();
	ps_strlist names = PS_STRLIST_INIT;
	ps_service *svcs = NULL;
	size_t n = 0;
	char *def = NULL, hex[33];

	(void)state;
	assert_int_equal(ps_store_list_profiles(s, &names), 0);
	assert_int_equal(names.n, 1);
	assert_string_equal(names.v[0], "Outlook");
	assert_int_equal(ps_store_default_profile(s, &def), 0);
	assert_string_equal(def, "Outlook");
	/* Services in PR_SERVICES order with name and display name. */
	assert_int_equal(ps_store_list_services(s, "outlook", &svcs, &n), 0);
	assert_int_equal(n, 3);
	ps_uid_format(&svcs[1].uid, hex);
	assert_string_equal(hex, TU_SVC_S);
	assert_string_equal(svcs[0].service_name, "MSEMS");
	assert_string_equal(svcs[0].display_name, "alice@fabrikam.com");
	assert_string_equal(svcs[2].service_name, "MSUPST MS");
	ps_services_free(svcs, n);
	assert_int_equal(ps_store_list_services(s, "nope", &svcs, &n),
			 PS_ENOTFOUND);
	free(def);
	ps_strlist_free(&names);
	ps_store_free(s);
}

static void test_services_without_service_list(void **state)
{
	ps_regtree t;
	ps_store *s = NULL;
	ps_service *svcs = NULL;
	size_t n = 0;
	ps_uid self;

	(void)state;
	tu_tree_init(&t);
	tu_set_str8(&t, "P", TU_SVC_A, PS_ID_SERVICE_NAME, "MSEMS");
	ps_uid_parse(&self, TU_SVC_A);
	tu_set(&t, "P", TU_SVC_A, PS_PR_SERVICE_UID, self.b, 16);
	/* A provider pointing at the service is not a service. */
	tu_set(&t, "P", TU_PRI_A, PS_PR_SERVICE_UID, self.b, 16);
	assert_int_equal(ps_fakestore_from_tree(&s, &t, NULL, NULL), 0);
	assert_int_equal(ps_store_list_services(s, "P", &svcs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(svcs[0].service_name, "MSEMS");
	ps_services_free(svcs, n);
	ps_store_free(s);
}

/* The value a section key holds under a name (NULL when absent). */
static ps_regval *raw_value(ps_regtree *t, const char *uid, const char *name)
{
	ps_buf path = PS_BUF_INIT;
	ps_regkey *k;

	ps_buf_printf(&path, "%s\\P\\%s", TU_PROFILES, uid);
	k = ps_regkey_find(t->root, path.ptr);
	ps_buf_free(&path);
	return k ? ps_regkey_value(k, name) : NULL;
}

static ps_regkey *raw_key(ps_regtree *t, const char *uid)
{
	ps_buf path = PS_BUF_INIT;
	ps_regkey *k;

	ps_buf_printf(&path, "%s\\P\\%s", TU_PROFILES, uid);
	k = ps_regkey_find(t->root, path.ptr);
	ps_buf_free(&path);
	return k;
}

/* A copy of the store's tree as saved so far. */
static void saved_tree(ps_store *s, ps_regtree *out)
{
	assert_int_equal(ps_regtree_copy(out, ps_fakestore_tree(s)), 0);
}

/* Outlook writes PT_STRING8 as REG_SZ; scripts as REG_BINARY.  Both read
 * as PT_STRING8 bytes; a changed value keeps its form, a new one is
 * REG_SZ, and a value that is only read is never rewritten. */
static void test_string8_forms(void **state)
{
	ps_regtree t, after;
	ps_store *s = NULL;
	ps_section *sec = NULL;
	ps_proplist props = PS_PROPLIST_INIT;
	ps_prop *p;
	ps_uid uid;
	ps_regval *v;
	char *text;
	static const uint8_t zoe_cyr[] = { 'Z', 0, 0x16, 0x04, 0, 0 };

	(void)state;
	tu_tree_init(&t);
	tu_set_str8(&t, "P", TU_EMS_A, PS_ID_PROFILE_USER, "/o=F/cn=alice");
	tu_set_bin8(&t, "P", TU_EMS_A, PS_ID_PROFILE_HOME_SERVER, "EXCH01");
	tu_set(&t, "P", TU_EMS_A, PS_PROP_TAG(PS_PT_STRING8, 0x6607),
	       zoe_cyr, sizeof(zoe_cyr));
	/* REG_SZ named like a PT_STRING8 but in the wrong type: a REG_SZ
	 * 001f value is no property. */
	ps_regkey_set(raw_key(&t, TU_EMS_A), "001f3001", 1, zoe_cyr,
		      sizeof(zoe_cyr));
	/* tu_set wrote 6607 as REG_BINARY; make it REG_SZ UTF-16 text with
	 * a character Windows-1252 has no byte for. */
	raw_value(&t, TU_EMS_A, "001e6607")->type = 1;
	assert_int_equal(ps_fakestore_from_tree(&s, &t, NULL, NULL), 0);
	ps_uid_parse(&uid, TU_EMS_A);
	assert_int_equal(ps_store_open_section(s, "P", &uid, 0, &sec), 0);
	assert_int_equal(ps_store_get_props(s, sec, &props), 0);
	assert_int_equal(props.n, 3);
	p = ps_proplist_get(&props, PS_PROP_TAG(PS_PT_STRING8, 0x6603));
	assert_non_null(p);
	assert_int_equal(p->len, 14);
	assert_memory_equal(p->data, "/o=F/cn=alice", 14);
	assert_int_equal(PS_FORM_KIND(p->form), PS_FORM_DEFAULT);
	p = ps_proplist_get(&props, PS_PROP_TAG(PS_PT_STRING8, 0x6602));
	assert_non_null(p);
	assert_int_equal(PS_FORM_KIND(p->form), PS_FORM_BINARY8);
	/* U+0416 has no Windows-1252 byte: '?' as Windows' ANSI view. */
	p = ps_proplist_get(&props, PS_PROP_TAG(PS_PT_STRING8, 0x6607));
	assert_non_null(p);
	assert_string_equal((char *)p->data, "Z?");
	assert_null(ps_proplist_get(&props, PS_PROP_TAG(PS_PT_UNICODE,
							0x3001)));

	/* Change both forms, add a new string, save. */
	assert_int_equal(ps_proplist_set(&props,
		PS_PROP_TAG(PS_PT_STRING8, 0x6603), "/o=C/cn=alice", 14), 0);
	assert_int_equal(ps_proplist_set(&props,
		PS_PROP_TAG(PS_PT_STRING8, 0x6602), "EXO", 4), 0);
	assert_int_equal(ps_proplist_set(&props,
		PS_PROP_TAG(PS_PT_STRING8, 0x6608), "EXO\xe9", 5), 0);
	assert_int_equal(ps_store_set_props(s, sec, props.v, props.n), 0);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	ps_store_close_section(s, sec);
	saved_tree(s, &after);
	text = tu_get_string(&after, "P", TU_EMS_A,
			     PS_PROP_TAG(PS_PT_STRING8, 0x6603));
	assert_string_equal(text, "/o=C/cn=alice");
	free(text);
	assert_int_equal(raw_value(&after, TU_EMS_A, "001e6603")->type, 1);
	v = raw_value(&after, TU_EMS_A, "001e6602");
	assert_int_equal(v->type, 3);
	assert_memory_equal(v->data, "EXO", 4);
	v = raw_value(&after, TU_EMS_A, "001e6608");
	assert_int_equal(v->type, 1);
	assert_int_equal(v->len, 10);
	assert_memory_equal(v->data, "E\0X\0O\0\xe9\0\0\0", 10);
	/* Read, not changed: the original UTF-16 stays, not "Z?". */
	v = raw_value(&after, TU_EMS_A, "001e6607");
	assert_int_equal(v->len, sizeof(zoe_cyr));
	assert_memory_equal(v->data, zoe_cyr, sizeof(zoe_cyr));
	assert_non_null(raw_value(&after, TU_EMS_A, "001f3001"));
	ps_regtree_free(&after);
	ps_proplist_free(&props);
	ps_store_free(s);
}

/* Update then restore (what rollback does: delete everything, set the
 * snapshot, save): values that are not properties keep their places,
 * a removed REG_BINARY string comes back as REG_BINARY, and the key is
 * exactly as it was, in order. */
static void test_restore_keeps_order_and_forms(void **state)
{
	ps_regtree t, after, orig;
	ps_store *s = NULL;
	ps_section *sec = NULL;
	ps_proplist snap = PS_PROPLIST_INIT, all = PS_PROPLIST_INIT;
	ps_regkey *k, *k2;
	ps_uid uid;
	uint32_t *tags;
	size_t i;
	static const uint8_t blob[] = { 0xde, 0xad, 0xbe, 0xef };

	(void)state;
	tu_tree_init(&t);
	tu_set_str8(&t, "P", TU_EMS_A, PS_ID_PROFILE_USER, "/o=F/cn=alice");
	ps_regkey_set(raw_key(&t, TU_EMS_A), "S010267f0", 3, blob,
		      sizeof(blob));
	tu_set_bin8(&t, "P", TU_EMS_A, PS_ID_PROFILE_HOME_SERVER, "EXCH01");
	tu_set_uni(&t, "P", TU_EMS_A, PS_ID_PROFILE_SMTP, "a@f.com");
	ps_regkey_set(raw_key(&t, TU_EMS_A), "LastChangeVer", 3, blob, 2);
	tu_set_str8(&t, "P", TU_EMS_A, PS_ID_PROFILE_UNRESOLVED_SERVER,
		    "EXCH01");
	assert_int_equal(ps_regtree_copy(&orig, &t), 0);
	assert_int_equal(ps_fakestore_from_tree(&s, &t, NULL, NULL), 0);
	ps_uid_parse(&uid, TU_EMS_A);

	/* The update: change the DN, drop both server values. */
	assert_int_equal(ps_store_open_section(s, "P", &uid, 0, &sec), 0);
	assert_int_equal(ps_store_get_props(s, sec, &snap), 0);
	assert_int_equal(ps_store_set_props(s, sec, &(ps_prop){
		PS_PROP_TAG(PS_PT_STRING8, 0x6603), 14,
		(uint8_t *)"/o=C/cn=alice", PS_FORM_DEFAULT }, 1), 0);
	{
		uint32_t del[] = { PS_PROP_TAG(PS_PT_STRING8, 0x6602),
				   PS_PROP_TAG(PS_PT_STRING8, 0x6608) };

		assert_int_equal(ps_store_delete_props(s, sec, del, 2), 0);
	}
	assert_int_equal(ps_store_save_section(s, sec), 0);
	ps_store_close_section(s, sec);

	/* The rollback. */
	assert_int_equal(ps_store_open_section(s, "P", &uid, 0, &sec), 0);
	assert_int_equal(ps_store_get_props(s, sec, &all), 0);
	tags = calloc(all.n + 1, sizeof(*tags));
	for (i = 0; i < all.n; i++)
		tags[i] = all.v[i].tag;
	assert_int_equal(ps_store_delete_props(s, sec, tags, all.n), 0);
	assert_int_equal(ps_store_set_props(s, sec, snap.v, snap.n), 0);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	ps_store_close_section(s, sec);
	free(tags);

	saved_tree(s, &after);
	k = raw_key(&orig, TU_EMS_A);
	k2 = raw_key(&after, TU_EMS_A);
	assert_int_equal(k2->nval, k->nval);
	for (i = 0; i < k->nval; i++) {
		assert_string_equal(k2->vals[i].name, k->vals[i].name);
		assert_int_equal(k2->vals[i].type, k->vals[i].type);
		assert_int_equal(k2->vals[i].len, k->vals[i].len);
		assert_memory_equal(k2->vals[i].data, k->vals[i].data,
				    k->vals[i].len);
	}
	ps_regtree_free(&after);
	ps_regtree_free(&orig);
	ps_proplist_free(&snap);
	ps_proplist_free(&all);
	ps_store_free(s);
}

static void test_section_changes_need_save(void **state)
{
	ps_store *s = fixture_store();
	ps_section *sec = NULL;
	ps_proplist props = PS_PROPLIST_INIT;
	ps_prop p = { PS_PROP_TAG(PS_PT_LONG, 0x6619), 4,
		      (uint8_t *)"\x07\0\0\0", PS_FORM_DEFAULT };
	uint32_t del = PS_PROP_TAG(PS_PT_STRING8, 0x6602);
	ps_uid uid;

	(void)state;
	ps_uid_parse(&uid, TU_EMS_A);
	assert_int_equal(ps_store_open_section(s, "Outlook", &uid, 0, &sec),
			 0);
	assert_int_equal(ps_store_set_props(s, sec, &p, 1), 0);
	assert_int_equal(ps_store_delete_props(s, sec, &del, 1), 0);
	/* Not saved yet: the tree is untouched. */
	assert_true(tu_has(ps_fakestore_tree(s), "Outlook", TU_EMS_A, del));
	assert_false(ps_fakestore_dirty(s));
	assert_int_equal(ps_store_save_section(s, sec), 0);
	ps_store_close_section(s, sec);
	assert_false(tu_has(ps_fakestore_tree(s), "Outlook", TU_EMS_A, del));
	assert_true(ps_fakestore_dirty(s));
	assert_int_equal(ps_store_read_section(s, "Outlook", &uid, &props),
			 0);
	assert_memory_equal(ps_proplist_get(&props, p.tag)->data, p.data, 4);
	ps_proplist_free(&props);
	/* Missing sections: not found, or created on save with CREATE. */
	ps_uid_parse(&uid, "abababababababababababababababab");
	assert_int_equal(ps_store_open_section(s, "Outlook", &uid, 0, &sec),
			 PS_ENOTFOUND);
	assert_int_equal(ps_store_open_section(s, "Outlook", &uid,
					       PS_OPEN_CREATE, &sec), 0);
	assert_int_equal(ps_store_set_props(s, sec, &p, 1), 0);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	ps_store_close_section(s, sec);
	assert_true(tu_has(ps_fakestore_tree(s), "Outlook",
			   "abababababababababababababababab", p.tag));
	assert_int_equal(ps_store_delete_section(s, "Outlook", &uid), 0);
	assert_false(tu_has(ps_fakestore_tree(s), "Outlook",
			    "abababababababababababababababab", p.tag));
	ps_store_free(s);
}

static void test_policy_from_same_tree(void **state)
{
	ps_regtree t;
	ps_regkey *k = NULL;
	ps_store *s = NULL;
	uint32_t type = 0;
	uint8_t *data = NULL;
	size_t len = 0;
	static const uint8_t two[4] = { 2, 0, 0, 0 };

	(void)state;
	tu_tree_init(&t);
	assert_int_equal(ps_regkey_create(t.root, "HKEY_CURRENT_USER\\"
		"Software\\Policies\\Microsoft\\Office\\16.0\\Outlook\\OST",
		&k), 0);
	assert_int_equal(ps_regkey_set(k, "NoOST", 4, two, 4), 0);
	assert_int_equal(ps_fakestore_from_tree(&s, &t, NULL, NULL), 0);
	assert_int_equal(ps_fakestore_get_policy(s, "Software\\Policies\\"
		"Microsoft\\Office\\16.0\\Outlook\\OST", "NoOST", &type,
		&data, &len), 0);
	assert_int_equal(type, 4);
	assert_int_equal(len, 4);
	assert_int_equal(data[0], 2);
	free(data);
	assert_int_equal(ps_fakestore_get_policy(s, "Software\\Policies\\"
		"Microsoft\\Office\\16.0\\Outlook\\OST", "Other", &type,
		&data, &len), PS_ENOTFOUND);
	ps_store_free(s);
}

static void test_flush_only_when_changed(void **state)
{
	char dir[] = "/tmp/ps-fake-XXXXXX", path[64];
	ps_system *sys = NULL;
	ps_regtree t;
	ps_buf b = PS_BUF_INIT;
	ps_store *s = NULL;
	struct stat before, after;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/u.reg", dir);
	tu_fixture(&t);
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	f = fopen(path, "wb");
	assert_int_equal(fwrite(b.ptr, 1, b.len, f), b.len);
	fclose(f);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_fakestore_open(&s, sys, path), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(ps_store_flush(s), 0);
	assert_int_equal(stat(path, &after), 0);
	/* Same inode: nothing was rewritten. */
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(ps_store_delete_section(s, "Outlook",
		&(ps_uid){ { 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
			     0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
			     0x3c } }), 0);
	assert_int_equal(ps_store_flush(s), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	ps_store_free(s);
	/* Re-read: the section is gone, the encoding kept. */
	assert_int_equal(ps_fakestore_open(&s, sys, path), 0);
	assert_int_equal(ps_fakestore_tree(s)->encoding, PS_REGENC_UTF16);
	assert_false(tu_has(ps_fakestore_tree(s), "Outlook", TU_PST_P,
			    PS_PROP_TAG(PS_PT_UNICODE, 0x6700)));
	ps_store_free(s);
	/* A truncated export is refused with FILE:LINE. */
	f = fopen(path, "wb");
	assert_int_equal(fwrite(b.ptr, 1, b.len / 2 & ~(size_t)1, f),
			 b.len / 2 & ~(size_t)1);
	fclose(f);
	assert_int_equal(ps_fakestore_open(&s, sys, path), PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "u.reg:"));
	unlink(path);
	rmdir(dir);
	ps_buf_free(&b);
	ps_sys_free(sys);
}

static void test_fault_shim(void **state)
{
	ps_store *s = NULL;
	ps_section *sec = NULL;
	ps_prop p = { PS_PROP_TAG(PS_PT_LONG, 0x6619), 4,
		      (uint8_t *)"\x07\0\0\0", PS_FORM_DEFAULT };
	ps_uid uid;

	(void)state;
	assert_int_equal(ps_faultstore_wrap(&s, fixture_store()), 0);
	ps_uid_parse(&uid, TU_EMS_A);
	ps_faultstore_arm(s, PS_FAULT_SAVE, 2, 0);
	assert_int_equal(ps_store_open_section(s, "Outlook", &uid, 0, &sec),
			 0);
	assert_int_equal(ps_store_set_props(s, sec, &p, 1), 0);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	assert_int_equal(ps_store_save_section(s, sec), PS_EIO);
	assert_non_null(strstr(ps_error_last(), "injected fault"));
	assert_int_equal(ps_store_save_section(s, sec), 0);
	/* Only the masked method is counted. */
	assert_int_equal(ps_faultstore_calls(s), 3);
	assert_int_equal(ps_faultstore_failed(s), 1);
	ps_faultstore_arm(s, PS_FAULT_WRITES, 1, 1);
	assert_int_equal(ps_store_set_props(s, sec, &p, 1), PS_EIO);
	assert_int_equal(ps_store_save_section(s, sec), PS_EIO);
	assert_int_equal(ps_store_flush(s), PS_EIO);
	assert_int_equal(ps_faultstore_failed(s), 3);
	ps_store_close_section(s, sec);
	ps_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles_and_services),
		cmocka_unit_test(test_services_without_service_list),
		cmocka_unit_test(test_section_changes_need_save),
		cmocka_unit_test(test_string8_forms),
		cmocka_unit_test(test_restore_keeps_order_and_forms),
		cmocka_unit_test(test_policy_from_same_tree),
		cmocka_unit_test(test_flush_only_when_changed),
		cmocka_unit_test(test_fault_shim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
