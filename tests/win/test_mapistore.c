/*
 * The real-MAPI store adapter (win32_store.c) against the fake MAPI
 * provider (fakemapi.dll) under Wine.
 *
 *   test_mapistore HKCU.reg     the prefix has the provider registered:
 *                               tables, sections, byte-exact values, a
 *                               missing section, SetProps failing half-way
 *   test_mapistore --none       no mail client registered: a clear error
 *
 * The reference is the fake store itself, opened on the same file: what
 * the adapter reads through MAPI must be what the store holds.  cmocka
 * tests, run in order on the same stores (the group's state); without
 * the provider registered, the program exits 77 (skipped).
 */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_win32.h"
#include "ps_fakestore.h"
#include "../../core/ps_error.h"
#include "../../core/ps_prop.h"
#include "../../core/ps_str.h"

static ps_system *sys;
static char *store_path;   /* the temporary copy of HKCU.reg (UTF-8) */

/* The group's state: the store through MAPI, the fake store on the same
 * file, and its default profile. */
struct stores {
	ps_store *mapi;
	ps_store *ref;
	char *profile;
};
static struct stores stores;

/* A host path given on the command line as a Windows path. */
static WCHAR *win_path(const char *arg)
{
	size_t n = strlen(arg), i;
	WCHAR *w = calloc(n + 3, sizeof(*w));

	if (!w)
		return NULL;
	for (i = 0; i < n; i++)
		w[i + (arg[0] == '/' ? 2 : 0)] = arg[i] == '/' ? L'\\' :
						  (WCHAR)(unsigned char)arg[i];
	if (arg[0] == '/') {
		w[0] = L'Z';
		w[1] = L':';
	}
	return w;
}

static uint8_t *file_bytes(size_t *len)
{
	uint8_t *data = NULL;

	if (ps_sys_read_file(sys, store_path, 1u << 26, &data, len) < 0)
		return NULL;
	return data;
}

static ps_store *reference(void)
{
	ps_store *ref = NULL;

	if (ps_fakestore_open(&ref, sys, store_path) < 0) {
		fprintf(stderr, "reference store: %s\n", ps_error_last());
		return NULL;
	}
	return ref;
}

static int same_props(const ps_proplist *a, const ps_proplist *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		const ps_prop *p = ps_proplist_get(b, a->v[i].tag);

		if (!p || p->len != a->v[i].len ||
		    memcmp(p->data, a->v[i].data, p->len))
			return 0;
	}
	return 1;
}

/* The UIDs of a profile's sections worth comparing: services, their
 * emsmdb section and store providers. */
static size_t section_uids(ps_store *ref, const char *profile, ps_uid *out,
			   size_t max)
{
	ps_service *svcs = NULL;
	size_t n = 0, count = 0, i, j;

	if (ps_store_list_services(ref, profile, &svcs, &n) < 0)
		return 0;
	for (i = 0; i < n && count < max; i++) {
		ps_proplist l = PS_PROPLIST_INIT;
		ps_prop *p;

		out[count++] = svcs[i].uid;
		if (ps_store_read_section(ref, profile, &svcs[i].uid, &l) < 0)
			continue;
		p = ps_proplist_get(&l, PS_PR_EMSMDB_SECTION_UID);
		if (p && p->len == 16 && count < max)
			memcpy(out[count++].b, p->data, 16);
		p = ps_proplist_get(&l, PS_PR_STORE_PROVIDERS);
		for (j = 0; p && j + 16 <= p->len && count < max; j += 16)
			memcpy(out[count++].b, p->data + j, 16);
		ps_proplist_free(&l);
	}
	ps_services_free(svcs, n);
	return count;
}

static void test_tables(void **state)
{
	struct stores *st = *state;
	ps_store *s = st->mapi, *ref = st->ref;
	ps_strlist a = PS_STRLIST_INIT, b = PS_STRLIST_INIT;
	char *da = NULL, *db = NULL;
	size_t i, j;

	assert_int_equal(ps_store_list_profiles(s, &a), 0);
	assert_int_equal(ps_store_list_profiles(ref, &b), 0);
	assert_int_equal(a.n, b.n);
	assert_true(a.n > 0);
	for (i = 0; i < a.n && i < b.n; i++) {
		assert_non_null(a.v[i]);
		assert_non_null(b.v[i]);
		assert_string_equal(a.v[i], b.v[i]);
	}
	assert_int_equal(ps_store_default_profile(s, &da), 0);
	assert_int_equal(ps_store_default_profile(ref, &db), 0);
	assert_non_null(da);
	assert_non_null(db);
	assert_string_equal(da, db);
	free(da);
	free(db);
	for (i = 0; i < b.n; i++) {
		ps_service *sa = NULL, *sb = NULL;
		size_t na = 0, nb = 0;

		assert_int_equal(ps_store_list_services(s, b.v[i], &sa, &na),
				 0);
		assert_int_equal(ps_store_list_services(ref, b.v[i], &sb, &nb),
				 0);
		assert_int_equal(na, nb);
		for (j = 0; j < na && j < nb; j++) {
			assert_true(ps_uid_equal(&sa[j].uid, &sb[j].uid));
			assert_non_null(sa[j].service_name);
			assert_non_null(sb[j].service_name);
			assert_string_equal(sa[j].service_name,
					    sb[j].service_name);
			assert_non_null(sa[j].display_name);
			assert_non_null(sb[j].display_name);
			assert_string_equal(sa[j].display_name,
					    sb[j].display_name);
		}
		ps_services_free(sa, na);
		ps_services_free(sb, nb);
	}
	/* A profile that is not there: AdminServices says LOGON_FAILED. */
	{
		ps_service *sv = NULL;
		size_t n = 0;

		assert_int_equal(
			ps_store_list_services(s, "no such profile", &sv, &n),
			PS_ENOTFOUND);
		assert_true(strstr(ps_error_last(), "MAPI_E_LOGON_FAILED") !=
			    NULL);
	}
	ps_strlist_free(&a);
	ps_strlist_free(&b);
}

/* Every section read through MAPI is the store's, byte for byte; set
 * back unchanged and saved, the file does not change. */
static void test_sections(void **state)
{
	struct stores *st = *state;
	ps_store *s = st->mapi, *ref = st->ref;
	const char *profile = st->profile;
	ps_uid uids[64];
	size_t n = section_uids(ref, profile, uids, 64), i;
	uint8_t *before, *after;
	size_t blen = 0, alen = 0;

	assert_true(n >= 3);
	before = file_bytes(&blen);
	for (i = 0; i < n; i++) {
		ps_proplist a = PS_PROPLIST_INIT, b = PS_PROPLIST_INIT;
		ps_section *sec = NULL;

		if (ps_store_read_section(ref, profile, &uids[i], &b) < 0)
			continue;
		assert_int_equal(
			ps_store_open_section(s, profile, &uids[i], 0, &sec),
			0);
		assert_non_null(sec);
		assert_int_equal(ps_store_get_props(s, sec, &a), 0);
		assert_true(same_props(&a, &b));
		assert_int_equal(ps_store_set_props(s, sec, a.v, a.n), 0);
		assert_int_equal(ps_store_save_section(s, sec), 0);
		ps_store_close_section(s, sec);
		ps_proplist_free(&a);
		ps_proplist_free(&b);
	}
	after = file_bytes(&alen);
	assert_true(before && after && blen == alen &&
		    !memcmp(before, after, blen));
	free(before);
	free(after);
}

/* A section that is not there: PS_ENOTFOUND, and with PS_OPEN_CREATE an
 * empty handle that leaves nothing behind. */
static void test_missing(void **state)
{
	struct stores *st = *state;
	ps_store *s = st->mapi;
	const char *profile = st->profile;
	ps_uid uid;
	ps_section *sec = NULL;
	ps_proplist l = PS_PROPLIST_INIT;

	ps_uid_parse(&uid, "0123456789abcdef0123456789abcdef");
	assert_int_equal(ps_store_open_section(s, profile, &uid, 0, &sec),
			 PS_ENOTFOUND);
	assert_true(sec == NULL);
	assert_int_equal(
		ps_store_open_section(s, profile, &uid, PS_OPEN_CREATE, &sec),
		0);
	assert_non_null(sec);
	assert_int_equal(ps_store_get_props(s, sec, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	ps_store_close_section(s, sec);
	sec = NULL;
	assert_int_equal(ps_store_open_section(s, profile, &uid, 0, &sec),
			 PS_ENOTFOUND);
	ps_proplist_free(&l);
}

/* Multi-valued values and the other types go through SetProps and come
 * back from the file as the same bytes; a non-canonical layout is
 * refused before MAPI is called. */
/* The section of store s holds exactly props[0..n), byte for byte. */
static void expect_section(ps_store *s, const char *profile,
			   const ps_uid *uid, const ps_prop *props, size_t n)
{
	ps_proplist back = PS_PROPLIST_INIT;
	size_t i;

	assert_int_equal(ps_store_read_section(s, profile, uid, &back), 0);
	assert_int_equal(back.n, n);
	for (i = 0; i < n; i++) {
		ps_prop *p = ps_proplist_get(&back, props[i].tag);

		assert_true(p && p->len == props[i].len &&
			    !memcmp(p->data, props[i].data, p->len));
	}
	ps_proplist_free(&back);
}

static void test_values(void **state)
{
	struct stores *st = *state;
	ps_store *s = st->mapi;
	const char *profile = st->profile;
	/* The multi-valued layout of real profiles: u32 count, u64 offsets
	 * (binary: u64 length and u64 offset per value), then the values. */
	static const uint8_t mv8[] = {
		2, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 0, 0, 0, 0,
		'a', 'b', 0, 'c', 0 };
	static const uint8_t mvw[] = {
		1, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0xe9, 0, 'x', 0, 0, 0 };
	static const uint8_t mvb[] = {
		3, 0, 0, 0,
		3, 0, 0, 0, 0, 0, 0, 0, 52, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 55, 0, 0, 0, 0, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 0, 55, 0, 0, 0, 0, 0, 0, 0,
		1, 2, 3, 0xff };
	static const uint8_t bad_mv[] = {   /* its offset points past the end */
		1, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 'a', 0 };
	static const uint8_t lng[] = { 0x80, 1, 0, 0 };
	static const uint8_t bln[] = { 1, 0 };
	static const uint8_t ft[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t str8[] = { 'D', 0xe9, 'j', 0xe0, 0 };
	static const uint8_t uni[] = { 0x41, 0, 0x3a, 0xd8, 0x00, 0xdd, 0, 0 };
	ps_prop props[] = {
		{ PS_PROP_TAG(PS_PT_MV_STRING8, 0x6701), sizeof(mv8),
		  (uint8_t *)mv8, 0 },
		{ PS_PROP_TAG(PS_PT_MV_UNICODE, 0x6702), sizeof(mvw),
		  (uint8_t *)mvw, 0 },
		{ PS_PROP_TAG(PS_PT_MV_BINARY, 0x6703), sizeof(mvb),
		  (uint8_t *)mvb, 0 },
		{ PS_PROP_TAG(PS_PT_LONG, 0x6704), sizeof(lng),
		  (uint8_t *)lng, 0 },
		{ PS_PROP_TAG(PS_PT_BOOLEAN, 0x6705), sizeof(bln),
		  (uint8_t *)bln, 0 },
		{ PS_PROP_TAG(0x0040, 0x6706), sizeof(ft), (uint8_t *)ft, 0 },
		{ PS_PROP_TAG(PS_PT_STRING8, 0x6707), sizeof(str8),
		  (uint8_t *)str8, 0 },
		{ PS_PROP_TAG(PS_PT_UNICODE, 0x6708), sizeof(uni),
		  (uint8_t *)uni, 0 },
		{ PS_PROP_TAG(PS_PT_BINARY, 0x6709), 0, (uint8_t *)"", 0 },
	};
	size_t n = sizeof(props) / sizeof(props[0]);
	ps_prop bad = { PS_PROP_TAG(PS_PT_MV_STRING8, 0x670A),
			sizeof(bad_mv), (uint8_t *)bad_mv, 0 };
	ps_uid uid;
	ps_section *sec = NULL;
	ps_store *ref;

	ps_uid_parse(&uid, "fedcba9876543210fedcba9876543210");
	assert_int_equal(
		ps_store_open_section(s, profile, &uid, PS_OPEN_CREATE, &sec),
		0);
	assert_non_null(sec);
	assert_int_equal(ps_store_set_props(s, sec, props, n), 0);
	assert_int_equal(ps_store_set_props(s, sec, &bad, 1), PS_EFORMAT);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	ps_store_close_section(s, sec);
	/* On disk, as the fake store reads it. */
	ref = reference();
	assert_non_null(ref);
	expect_section(ref, profile, &uid, props, n);
	ps_store_free(ref);
	/* And through MAPI again. */
	expect_section(s, profile, &uid, props, n);
	/* Deleting every prop removes the section. */
	assert_int_equal(ps_store_delete_section(s, profile, &uid), 0);
	sec = NULL;
	assert_int_equal(ps_store_open_section(s, profile, &uid, 0, &sec),
			 PS_ENOTFOUND);
}

/* Keys under Office's key (store port version 3) on the user's real
 * registry: create, list in order, read back, delete with the subtree. */
static void test_office_keys(void **state)
{
	struct stores *st = *state;
	ps_store *s = st->mapi;
	static const char key[] =
		"Common\\Identity\\Identities\\0123abcd-ps-test_ADAL";
	static const char sub[] =
		"Common\\Identity\\Identities\\0123abcd-ps-test_ADAL\\Sub";
	static const uint8_t mail[] = { 'a', 0, '@', 0, 'b', 0, 0, 0 };
	static const uint8_t one[] = { 1, 0, 0, 0 };
	ps_strlist subs = PS_STRLIST_INIT, vals = PS_STRLIST_INIT;
	uint8_t *data = NULL;
	uint32_t type = 0;
	size_t len = 0;

	assert_int_equal(ps_store_delete_key(s, key), 0);
	assert_int_equal(ps_store_list_key(s, key, &subs, &vals),
			 PS_ENOTFOUND);
	assert_int_equal(ps_store_set_office_value(s, key, "EmailAddress",
						   1, mail, sizeof(mail)), 0);
	assert_int_equal(ps_store_set_office_value(s, key, "IdP", 4, one, 4),
			 0);
	assert_int_equal(ps_store_set_office_value(s, sub, NULL, 0, NULL, 0),
			 0);
	assert_int_equal(ps_store_list_key(s, key, &subs, &vals), 0);
	assert_int_equal(subs.n, 1);
	assert_string_equal(subs.v[0], "Sub");
	assert_int_equal(vals.n, 2);
	assert_string_equal(vals.v[0], "EmailAddress");
	assert_string_equal(vals.v[1], "IdP");
	ps_strlist_free(&subs);
	ps_strlist_free(&vals);
	assert_int_equal(ps_store_get_office_value(s, key, "EmailAddress",
						   &type, &data, &len), 0);
	assert_int_equal(type, 1);
	assert_int_equal(len, sizeof(mail));
	assert_memory_equal(data, mail, sizeof(mail));
	free(data);
	/* The key goes with its subkey; deleting it again is no error. */
	assert_int_equal(ps_store_delete_key(s, key), 0);
	assert_int_equal(ps_store_list_key(s, sub, &subs, &vals),
			 PS_ENOTFOUND);
	assert_int_equal(ps_store_list_key(s, key, &subs, &vals),
			 PS_ENOTFOUND);
	assert_int_equal(ps_store_delete_key(s, key), 0);
}

/* SetProps failing half-way (PROFSWITCH_FAKE_FAIL=SetProps:1): unsaved,
 * nothing reaches the file; then the engine's way back (delete what is
 * there, set the snapshot, save) leaves the section as it was. */
static void test_half_way(void **state)
{
	struct stores *st = *state;
	ps_store *s = st->mapi, *ref = st->ref;
	const char *profile = st->profile;
	ps_uid uids[64];
	size_t n = section_uids(ref, profile, uids, 64), i;
	ps_proplist snap = PS_PROPLIST_INIT, now = PS_PROPLIST_INIT;
	ps_prop changed[4] = { { 0, 0, NULL, PS_FORM_DEFAULT } };
	uint8_t *orig, *after;
	size_t olen = 0, alen = 0;
	ps_section *sec = NULL;
	uint32_t *tags;
	size_t j;
	int error;

	assert_true(n >= 2);  /* the input has an account to fail on */
	orig = file_bytes(&olen);
	/* The emsmdb section of the first account. */
	assert_int_equal(ps_store_open_section(s, profile, &uids[1], 0, &sec),
			 0);
	assert_non_null(sec);
	assert_int_equal(ps_store_get_props(s, sec, &snap), 0);
	assert_true(snap.n >= 4);
	/* Up to four single-valued props, each given another value. */
	for (i = 0, j = 0; i < snap.n && j < 4; i++) {
		uint16_t t = PS_PROP_TYPE(snap.v[i].tag);

		changed[j] = snap.v[i];
		if (t == PS_PT_STRING8) {
			changed[j].data = (uint8_t *)"abc";
			changed[j].len = 4;
		} else if (t == PS_PT_UNICODE) {
			changed[j].data = (uint8_t *)"a\0\0\0";
			changed[j].len = 4;
		} else if (t == PS_PT_LONG || t == PS_PT_BINARY) {
			changed[j].data = (uint8_t *)"\x7f\0\0\0";
			changed[j].len = 4;
		} else {
			continue;
		}
		j++;
	}
	assert_true(j >= 2);
	i = j;
	SetEnvironmentVariableW(L"PROFSWITCH_FAKE_FAIL", L"SetProps:1");
	error = ps_store_set_props(s, sec, changed, i);
	SetEnvironmentVariableW(L"PROFSWITCH_FAKE_FAIL", NULL);
	assert_int_equal(error, PS_ERROR);
	assert_true(strstr(ps_error_last(), "MAPI_E_CALL_FAILED") != NULL);
	/* Half of them are in the handle. */
	assert_int_equal(ps_store_get_props(s, sec, &now), 0);
	assert_true(!same_props(&now, &snap));
	ps_proplist_free(&now);
	ps_store_close_section(s, sec);
	after = file_bytes(&alen);
	assert_true(orig && after && olen == alen &&
		    !memcmp(orig, after, olen));
	free(after);
	/* Half-way, saved this time, then put back from the snapshot. */
	sec = NULL;
	assert_int_equal(ps_store_open_section(s, profile, &uids[1], 0, &sec),
			 0);
	assert_non_null(sec);
	/* A call with the knob unset restarts its count. */
	assert_int_equal(ps_store_set_props(s, sec, snap.v, 1), 0);
	SetEnvironmentVariableW(L"PROFSWITCH_FAKE_FAIL", L"SetProps:1");
	error = ps_store_set_props(s, sec, changed, i);
	SetEnvironmentVariableW(L"PROFSWITCH_FAKE_FAIL", NULL);
	assert_int_equal(error, PS_ERROR);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	assert_int_equal(ps_store_get_props(s, sec, &now), 0);
	tags = calloc(now.n + 1, sizeof(*tags));
	for (i = 0; tags && i < now.n; i++)
		tags[i] = now.v[i].tag;
	assert_int_equal(ps_store_delete_props(s, sec, tags, now.n), 0);
	assert_int_equal(ps_store_set_props(s, sec, snap.v, snap.n), 0);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	free(tags);
	ps_proplist_free(&now);
	ps_store_close_section(s, sec);
	after = file_bytes(&alen);
	assert_true(orig && after && olen == alen &&
		    !memcmp(orig, after, olen));
	free(after);
	free(orig);
	ps_proplist_free(&snap);
}

static void test_owner(void **state)
{
	struct stores *st = *state;
	char *user = NULL;

	assert_int_equal(ps_store_owner(st->mapi, &user), 0);
	assert_true(user && *user);
	free(user);
}

/* The group's setup: the reference store and its default profile. */
static int open_reference(void **state)
{
	struct stores *st = &stores;
	ps_strlist names = PS_STRLIST_INIT;

	*state = st;
	st->ref = reference();
	assert_non_null(st->ref);
	assert_int_equal(ps_store_default_profile(st->ref, &st->profile), 0);
	assert_non_null(st->profile);
	assert_int_equal(ps_store_list_profiles(st->ref, &names), 0);
	ps_strlist_free(&names);
	return 0;
}

static int close_reference(void **state)
{
	struct stores *st = *state;

	ps_store_free(st->ref);
	free(st->profile);
	return 0;
}

static void test_no_mapi(void **state)
{
	ps_store *s = NULL;
	int error = ps_win32_mapi_open(sys, &s);

	(void)state;
	printf("ps_win32_mapi_open: %d: %s\n", error, ps_error_last());
	assert_int_equal(error, PS_ERROR);
	assert_true(s == NULL);
	assert_true(strstr(ps_error_last(), "MAPI is not available") != NULL);
}

/* HKLM\\Software\\Clients\\Mail\\FakeMAPI in either registry view. */
static int provider_registered(void)
{
	static const REGSAM views[] = { KEY_WOW64_64KEY, KEY_WOW64_32KEY };
	HKEY h;
	size_t i;

	for (i = 0; i < 2; i++)
		if (RegOpenKeyExW(HKEY_LOCAL_MACHINE,
				  L"Software\\Clients\\Mail\\FakeMAPI", 0,
				  KEY_QUERY_VALUE | views[i], &h) ==
		    ERROR_SUCCESS) {
			RegCloseKey(h);
			return 1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest none_tests[] = {
		cmocka_unit_test(test_no_mapi),
	};
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_office_keys),
		cmocka_unit_test(test_half_way),
		cmocka_unit_test(test_owner),
	};
	WCHAR tmpdir[MAX_PATH], tmp[MAX_PATH], *src;
	int error;

	if (argc != 2) {
		fprintf(stderr, "usage: test_mapistore HKCU.reg | --none\n");
		return 2;
	}
	/* cmocka's messages (stderr) and ours in the order they happen */
	setvbuf(stdout, NULL, _IONBF, 0);
	if (ps_win32_system_new(&sys) < 0)
		return 2;
	if (!strcmp(argv[1], "--none"))
		return cmocka_run_group_tests_name("wine.mapistore-none",
						   none_tests, NULL, NULL);
	/* A copy of the scenario's registry: the provider rewrites it. */
	src = win_path(argv[1]);
	if (!src || !GetTempPathW(MAX_PATH, tmpdir) ||
	    !GetTempFileNameW(tmpdir, L"pst", 0, tmp) ||
	    !CopyFileW(src, tmp, FALSE)) {
		fprintf(stderr, "cannot copy %s\n", argv[1]);
		return 2;
	}
	free(src);
	store_path = ps_win32_utf8(tmp);
	SetEnvironmentVariableW(L"PROFSWITCH_FAKE_STORE", tmp);
	error = ps_win32_mapi_open(sys, &stores.mapi);
	if (error < 0) {
		fprintf(stderr, "ps_win32_mapi_open: %s\n", ps_error_last());
		if (!provider_registered()) {
			printf("skipped: the fake provider is not registered "
			       "in this prefix\n");
			return 77;
		}
		fprintf(stderr, "the fake provider is registered, but MAPI "
			"could not be opened through it\n");
		return 1;
	}
	error = cmocka_run_group_tests_name("wine.mapistore", tests,
					    open_reference, close_reference);
	ps_store_free(stores.mapi);
	DeleteFileW(tmp);
	free(store_path);
	ps_sys_free(sys);
	return error;
}
