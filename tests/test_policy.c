/*
 * The policy-to-change table (docs/guards.md) and LogFile expansion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_app.h"
#include "ps_config.h"
#include "ps_error.h"
#include "ps_plan.h"
#include "ps_policy.h"
#include "ps_posix.h"
#include "ps_utf.h"
#include "testutil.h"

#define POL "HKEY_CURRENT_USER\\Software\\Policies\\Microsoft\\Office\\"

#define MAP_ALICE "SourceLegacyDN|TargetLegacyDN|TargetSMTP\n" \
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com\n"

typedef struct pol {
	const char *key;    /* below POL */
	const char *value;
	uint32_t type;
	uint32_t dword;
	const char *text;   /* REG_SZ when set */
} pol;

/* When set, the emsmdb section's 00036601 (config flags) value. */
static uint32_t g_flags;

/* Conflicts for the fixture profile with one policy and a config. */
static size_t conflicts(const pol *p, void (*tweak)(ps_config *),
			int with_proxy, ps_strlist *found)
{
	ps_regtree t;
	ps_store *s = NULL;
	ps_system *sys = NULL;
	ps_config cfg;
	ps_mapping *map = tu_mapping(MAP_ALICE);
	ps_plan_opts o;
	ps_pplan plan;
	ps_regkey *k = NULL;
	ps_buf path = PS_BUF_INIT;

	tu_fixture(&t);
	if (g_flags)
		tu_set_long(&t, "Outlook", TU_EMS_A, PS_ID_PROFILE_CONFIG_FLAGS,
			    g_flags);
	if (with_proxy)
		tu_set_uni(&t, "Outlook", TU_EMS_A, 0x6622,
			   "mail.fabrikam.com");
	if (p) {
		ps_buf_printf(&path, POL "%s", p->key);
		assert_int_equal(ps_regkey_create(t.root, path.ptr, &k), 0);
		if (p->text) {
			ps_buf v = PS_BUF_INIT;

			assert_int_equal(ps_utf8_to_utf16le(&v, p->text,
						strlen(p->text)), 0);
			ps_buf_put(&v, "\0", 2);
			ps_regkey_set(k, p->value, p->type, v.ptr, v.len);
			ps_buf_free(&v);
		} else {
			uint8_t b[4] = { (uint8_t)p->dword, 0, 0, 0 };

			ps_regkey_set(k, p->value, p->type, b, 4);
		}
	}
	assert_int_equal(ps_fakestore_from_tree(&s, &t, NULL, NULL), 0);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	ps_posix_set_policy_source(sys, ps_fakestore_get_policy, s);
	assert_int_equal(ps_config_init(&cfg), 0);
	if (tweak)
		tweak(&cfg);
	memset(&o, 0, sizeof(o));
	o.cfg = &cfg;
	o.map = map;
	assert_int_equal(ps_plan_build(&plan, s, "Outlook", &o), 0);
	assert_int_equal(ps_policy_conflicts(sys, &cfg, &plan, found), 0);
	ps_plan_free(&plan);
	ps_config_free(&cfg);
	ps_mapping_free(map);
	ps_sys_free(sys);
	ps_store_free(s);
	ps_buf_free(&path);
	return found->n;
}

static void cached_off(ps_config *c) { c->cached_mode = PS_CACHED_OFF; }
static void cached_on(ps_config *c) { c->cached_mode = PS_CACHED_ON; }
static void ost_rename(ps_config *c) { c->ost = PS_OST_RENAME; }
static void ost_recreate(ps_config *c) { c->ost = PS_OST_RECREATE; }
static void keep_across_orgs(ps_config *c)
{
	c->ost_across_orgs = PS_OSTORG_KEEP;
}

static void expect(const pol *p, void (*tweak)(ps_config *), int proxy,
		   size_t n, const char *text)
{
	ps_strlist found = PS_STRLIST_INIT;

	if (conflicts(p, tweak, proxy, &found) != n)
		fail_msg("%s\\%s: %zu conflicts, expected %zu (%s)",
			 p ? p->key : "-", p ? p->value : "-", found.n, n,
			 found.n ? found.v[0] : "");
	if (text)
		assert_non_null(strstr(found.v[0], text));
	ps_strlist_free(&found);
}

static void test_cached_mode(void **state)
{
	pol on = { "16.0\\Outlook\\Cached Mode", "Enable", 4, 1, NULL };
	pol off = { "16.0\\Outlook\\Cached Mode", "Enable", 4, 0, NULL };
	pol mode = { "16.0\\Outlook\\Cached Mode", "CachedExchangeMode", 4,
		     2, NULL };

	(void)state;
	/* The fixture has cached mode on (0x1180). */
	expect(&on, cached_off, 0, 1, "Cached Mode\\Enable = 1 enforces "
	       "cached mode on");
	expect(&on, NULL, 0, 0, NULL);          /* CachedMode=keep */
	expect(&on, cached_on, 0, 0, NULL);     /* already on: no change */
	expect(&off, cached_off, 0, 0, NULL);   /* agrees with the policy */
	expect(&mode, cached_off, 0, 1, "CachedExchangeMode");
	expect(NULL, cached_off, 0, 0, NULL);   /* no policy at all */
}

static void test_cached_on_against_enable_0(void **state)
{
	pol off = { "16.0\\Outlook\\Cached Mode", "Enable", 4, 0, NULL };

	(void)state;
	/* A profile in online mode: CachedMode=on would set the bits. */
	g_flags = 0x1000;
	expect(&off, cached_on, 0, 1, "enforces cached mode off");
	expect(&off, NULL, 0, 0, NULL);
	g_flags = 0;
	/* The fixture is cached already: nothing to set, no conflict. */
	expect(&off, cached_on, 0, 0, NULL);
}

static void test_ost(void **state)
{
	pol force = { "16.0\\Outlook", "ForceOSTPath", 2, 0,
		      "D:\\OST" };
	pol noost = { "16.0\\Outlook\\OST", "NoOST", 4, 2, NULL };
	pol noost1 = { "16.0\\Outlook\\OST", "NoOST", 4, 1, NULL };

	(void)state;
	expect(&force, ost_rename, 0, 1, "ForceOSTPath = 'D:\\OST'");
	expect(&force, ost_recreate, 0, 1, "OST folder");
	/* OST=keep, but the target is in another organisation: the OST
	 * is renamed all the same, which the policy locks. */
	expect(&force, NULL, 0, 1, "ForceOSTPath");
	expect(&force, keep_across_orgs, 0, 0, NULL);   /* OST=keep */
	expect(&noost, ost_recreate, 0, 1, "NoOST = 2");
	expect(&noost1, ost_recreate, 0, 0, NULL);
}

static void test_rpc_proxy(void **state)
{
	pol proxy = { "16.0\\Outlook\\RPC", "ProxyServerName", 1, 0,
		      "mail.fabrikam.com" };

	(void)state;
	/* Only when the update removes the account's proxy values. */
	expect(&proxy, NULL, 1, 1, "RPC/HTTP");
	expect(&proxy, NULL, 0, 0, NULL);
}

static void test_outlook_2013_path(void **state)
{
	pol on = { "15.0\\Outlook\\Cached Mode", "Enable", 4, 1, NULL };

	(void)state;
	expect(&on, cached_off, 0, 1, "15.0");
}

static void test_policy_list(void **state)
{
	ps_regtree t;
	ps_regkey *k = NULL;
	ps_store *s = NULL;
	ps_system *sys = NULL;
	ps_strlist l = PS_STRLIST_INIT;
	uint8_t one[4] = { 1, 0, 0, 0 };

	(void)state;
	tu_tree_init(&t);
	assert_int_equal(ps_regkey_create(t.root, POL "16.0\\Outlook\\"
					  "Cached Mode", &k), 0);
	ps_regkey_set(k, "Enable", 4, one, 4);
	assert_int_equal(ps_fakestore_from_tree(&s, &t, NULL, NULL), 0);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	ps_posix_set_policy_source(sys, ps_fakestore_get_policy, s);
	assert_int_equal(ps_policy_list(sys, &l), 0);
	assert_int_equal(l.n, 1);
	assert_non_null(strstr(l.v[0], "would block CachedMode=off"));
	ps_strlist_free(&l);
	ps_sys_free(sys);
	ps_store_free(s);
}

static void test_expand_path(void **state)
{
	ps_system *sys = NULL;
	char *host = NULL, *out;
	ps_buf want = PS_BUF_INIT;
	size_t i;

	(void)state;
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_sys_host_name(sys, &host), 0);
	setenv("PS_TEST_SHARE", "/srv/logs", 1);
	unsetenv("PS_TEST_UNSET");
	out = ps_expand_path(sys, "%PS_TEST_SHARE%/#H/#D-#T.log");
	ps_buf_printf(&want, "/srv/logs/%s/", host);
	assert_memory_equal(out, want.ptr, want.len);
	/* YYYYMMDD-HHMMSS.log */
	assert_int_equal(strlen(out), want.len + 19);
	for (i = 0; i < 15; i++)
		if (i != 8)
			assert_true(out[want.len + i] >= '0' &&
				    out[want.len + i] <= '9');
	assert_int_equal(out[want.len + 8], '-');
	assert_string_equal(out + want.len + 15, ".log");
	free(out);
	/* Unset variables and lone characters stay as written. */
	out = ps_expand_path(sys, "%PS_TEST_UNSET%\\50%#x");
	assert_string_equal(out, "%PS_TEST_UNSET%\\50%#x");
	free(out);
	free(host);
	ps_buf_free(&want);
	ps_sys_free(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cached_mode),
		cmocka_unit_test(test_cached_on_against_enable_0),
		cmocka_unit_test(test_ost),
		cmocka_unit_test(test_rpc_proxy),
		cmocka_unit_test(test_outlook_2013_path),
		cmocka_unit_test(test_policy_list),
		cmocka_unit_test(test_expand_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
