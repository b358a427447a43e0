/*
 * Backups, rollback, cleanup and recovery of interrupted updates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_backup.h"
#include "ps_config.h"
#include "ps_engine.h"
#include "ps_error.h"
#include "ps_prop.h"
#include "testutil.h"

#define MAP_ALICE "SourceLegacyDN|TargetLegacyDN|TargetSMTP\n" \
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com\n"
#define MAP_BOTH MAP_ALICE TU_BOB_SRC "|" TU_BOB_TGT "|bob@contoso.com\n"

typedef struct ctx {
	ps_store *store;   /* fault shim over the fake store */
	ps_config cfg;
	ps_report report;
	ps_regtree original;
} ctx;

static void ctx_open(ctx *c)
{
	ps_regtree t;
	ps_store *inner = NULL;

	memset(c, 0, sizeof(*c));
	tu_fixture(&t);
	tu_tree_copy(&c->original, &t);
	assert_int_equal(ps_fakestore_from_tree(&inner, &t, NULL, NULL), 0);
	assert_int_equal(ps_faultstore_wrap(&c->store, inner), 0);
	assert_int_equal(ps_config_init(&c->cfg), 0);
}

static void ctx_close(ctx *c)
{
	ps_store_free(c->store);
	ps_config_free(&c->cfg);
	ps_report_free(&c->report);
	ps_regtree_free(&c->original);
}

static ps_regtree *tree(ctx *c)
{
	return ps_fakestore_tree(ps_faultstore_inner(c->store));
}

enum { UPDATE, ROLLBACK, ROLLBACK_ALL, CLEANUP };

static int run(ctx *c, int what, const char *mapping, int *nothing)
{
	ps_engine e;
	ps_strlist profiles = PS_STRLIST_INIT;
	ps_mapping *map = mapping ? tu_mapping(mapping) : NULL;
	int error, dummy;

	memset(&e, 0, sizeof(e));
	e.store = c->store;
	e.cfg = &c->cfg;
	e.map = map;
	e.report = &c->report;
	e.all = what == ROLLBACK_ALL;
	ps_report_free(&c->report);
	error = ps_engine_profiles(&e, NULL, 0, &profiles);
	if (!error && what == UPDATE)
		error = ps_engine_update(&e, &profiles);
	else if (!error && what == CLEANUP)
		error = ps_engine_cleanup(&e, &profiles,
					  nothing ? nothing : &dummy);
	else if (!error)
		error = ps_engine_rollback(&e, &profiles,
					   nothing ? nothing : &dummy);
	ps_strlist_free(&profiles);
	ps_mapping_free(map);
	return error;
}

static void assert_tree(ctx *c, const ps_regtree *want)
{
	ps_buf diff = PS_BUF_INIT;

	if (!ps_regkey_equal(want->root, tree(c)->root, &diff))
		fail_msg("registry differs:\n%s", diff.ptr);
	ps_buf_free(&diff);
}

static int has_backup(ctx *c)
{
	ps_buf path = PS_BUF_INIT;
	int found;

	ps_buf_printf(&path, "%s\\Outlook\\%s", TU_PROFILES,
		      PS_BACKUP_SECTION);
	found = ps_regkey_find(tree(c)->root, path.ptr) != NULL;
	ps_buf_free(&path);
	return found;
}

static void test_rollback_restores_exactly(void **state)
{
	ctx c;

	(void)state;
	ctx_open(&c);
	assert_int_equal(run(&c, UPDATE, MAP_BOTH, NULL), 0);
	assert_true(has_backup(&c));
	assert_int_equal(run(&c, ROLLBACK_ALL, NULL, NULL), 0);
	assert_int_equal(c.report.n, 2);
	assert_int_equal(c.report.v[0].status, PS_ST_ROLLED_BACK);
	assert_string_equal(c.report.v[0].source_dn, TU_ALICE_SRC);
	assert_false(has_backup(&c));
	assert_tree(&c, &c.original);
	ctx_close(&c);
}

static void test_rollback_after_outlook_changed_things(void **state)
{
	ctx c;

	(void)state;
	ctx_open(&c);
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	/* Outlook connects to the target and caches new values. */
	tu_set_uni(tree(&c), "Outlook", TU_EMS_A, 0x6652,
		   "https://outlook.office365.com/mapi/emsmdb/");
	tu_set_uni(tree(&c), "Outlook", TU_EMS_A, 0x6641,
		   "alice.smith@contoso.com");
	assert_int_equal(run(&c, ROLLBACK, NULL, NULL), 0);
	assert_tree(&c, &c.original);
	ctx_close(&c);
}

static void test_rollback_newest_wave_only(void **state)
{
	ctx c;
	ps_regtree wave1;
	char *dn;

	(void)state;
	ctx_open(&c);
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	tu_tree_copy(&wave1, tree(&c));
	assert_int_equal(run(&c, UPDATE, MAP_BOTH, NULL), 0);
	dn = tu_get_string(tree(&c), "Outlook", TU_DEL_A,
			   PS_PROP_TAG(PS_PT_STRING8, 0x660B));
	assert_string_equal(dn, TU_BOB_TGT);
	free(dn);
	/* Without --all only wave 2 goes. */
	assert_int_equal(run(&c, ROLLBACK, NULL, NULL), 0);
	assert_int_equal(c.report.n, 1);
	assert_string_equal(c.report.v[0].source_dn, TU_BOB_SRC);
	assert_tree(&c, &wave1);
	assert_int_equal(run(&c, ROLLBACK, NULL, NULL), 0);
	assert_tree(&c, &c.original);
	ps_regtree_free(&wave1);
	ctx_close(&c);
}

static void test_cleanup_then_nothing_to_roll_back(void **state)
{
	ctx c;
	ps_regtree updated;
	int nothing = 0;

	(void)state;
	ctx_open(&c);
	assert_int_equal(run(&c, CLEANUP, NULL, &nothing), 0);
	assert_int_equal(nothing, 1);
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	assert_int_equal(run(&c, CLEANUP, NULL, &nothing), 0);
	assert_int_equal(nothing, 0);
	assert_int_equal(c.report.n, 1);
	assert_int_equal(c.report.v[0].status, PS_ST_CLEANED);
	assert_false(has_backup(&c));
	tu_tree_copy(&updated, tree(&c));
	assert_int_equal(run(&c, ROLLBACK_ALL, NULL, &nothing), 0);
	assert_int_equal(nothing, 1);
	assert_int_equal(c.report.n, 0);
	assert_tree(&c, &updated);
	ps_regtree_free(&updated);
	ctx_close(&c);
}

/* Writes fail from the 3rd on but the store is kept in memory: the
 * restore fails too and leaves a pending generation behind. */
static void make_interrupted(ctx *c)
{
	ps_faultstore_arm(c->store, PS_FAULT_SET_PROPS |
			  PS_FAULT_DELETE_PROPS | PS_FAULT_SAVE |
			  PS_FAULT_DELETE_SECTION, 3, 1);
	assert_int_equal(run(c, UPDATE, MAP_ALICE, NULL), 0);
	assert_int_equal(c->report.v[0].status, PS_ST_FAILED);
	assert_non_null(strstr(c->report.v[0].detail, "next run"));
	ps_faultstore_arm(c->store, PS_FAULT_WRITES, 0, 0);
	assert_true(has_backup(c));
}

static void test_interrupted_update_recovered_by_next_update(void **state)
{
	ctx c, ref;

	(void)state;
	ctx_open(&c);
	make_interrupted(&c);
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	assert_int_equal(c.report.v[0].status, PS_ST_UPDATED);
	/* Same result as an update that was never interrupted. */
	ctx_open(&ref);
	assert_int_equal(run(&ref, UPDATE, MAP_ALICE, NULL), 0);
	assert_tree(&c, tree(&ref));
	ctx_close(&ref);
	ctx_close(&c);
}

static void test_interrupted_update_rolled_back(void **state)
{
	ctx c;

	(void)state;
	ctx_open(&c);
	make_interrupted(&c);
	assert_int_equal(run(&c, ROLLBACK, NULL, NULL), 0);
	assert_int_equal(c.report.v[0].status, PS_ST_ROLLED_BACK);
	assert_tree(&c, &c.original);
	ctx_close(&c);
}

static void test_rollback_through_interrupted_wave(void **state)
{
	ctx c;

	(void)state;
	ctx_open(&c);
	/* Wave 1 committed, wave 2 interrupted on top of it. */
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	ps_faultstore_arm(c.store, PS_FAULT_SET_PROPS |
			  PS_FAULT_DELETE_PROPS | PS_FAULT_SAVE |
			  PS_FAULT_DELETE_SECTION, 3, 1);
	assert_int_equal(run(&c, UPDATE, MAP_BOTH, NULL), 0);
	ps_faultstore_arm(c.store, PS_FAULT_WRITES, 0, 0);
	/* One plain rollback: the interrupted wave, then wave 1. */
	assert_int_equal(run(&c, ROLLBACK, NULL, NULL), 0);
	assert_int_equal(c.report.n, 2);
	assert_non_null(strstr(c.report.v[0].detail, "interrupted"));
	assert_string_equal(c.report.v[0].source_dn, TU_BOB_SRC);
	assert_string_equal(c.report.v[1].source_dn, TU_ALICE_SRC);
	assert_tree(&c, &c.original);
	ctx_close(&c);
}

static void damage_backup(ctx *c)
{
	tu_set(tree(c), "Outlook", PS_BACKUP_SECTION,
	       PS_PROP_TAG(PS_PT_BINARY, 0x6F01), "PSB1garbage", 11);
}

/* Give the profile's one backup generation another number. */
static void renumber_gen(ctx *c, unsigned from, unsigned to)
{
	ps_buf path = PS_BUF_INIT;
	ps_regkey *k;
	ps_regval *v;
	char a[9], b[9];

	ps_buf_printf(&path, "%s\\Outlook\\%s", TU_PROFILES,
		      PS_BACKUP_SECTION);
	k = ps_regkey_find(tree(c)->root, path.ptr);
	assert_non_null(k);
	snprintf(a, sizeof(a), "0102%04x", PS_BACKUP_ID_BASE + from);
	snprintf(b, sizeof(b), "0102%04x", PS_BACKUP_ID_BASE + to);
	v = ps_regkey_value(k, a);
	assert_non_null(v);
	assert_int_equal(ps_regkey_set(k, b, v->type, v->data, v->len), 0);
	assert_int_equal(ps_regkey_unset(k, a), 0);
	ps_buf_free(&path);
}

/* docs/security.md "Limits": a profile holds at most PS_BACKUP_MAX_GEN
 * generations; the last one is made, the next update is refused with
 * what to do, and changes nothing. */
static void test_generation_limit(void **state)
{
	ctx c;
	ps_regtree before;
	char last[9];
	ps_buf path = PS_BUF_INIT;

	(void)state;
	ps_buf_printf(&path, "%s\\Outlook\\%s", TU_PROFILES,
		      PS_BACKUP_SECTION);
	snprintf(last, sizeof(last), "0102%04x",
		 PS_BACKUP_ID_BASE + PS_BACKUP_MAX_GEN);
	/* At the limit: generation 254 exists, the next wave makes 255. */
	ctx_open(&c);
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	renumber_gen(&c, 1, PS_BACKUP_MAX_GEN - 1);
	assert_int_equal(run(&c, UPDATE, MAP_BOTH, NULL), 0);
	assert_int_equal(ps_report_exit_bits(&c.report), 0);
	assert_non_null(ps_regkey_value(ps_regkey_find(tree(&c)->root,
						       path.ptr), last));
	ctx_close(&c);
	/* Past it: generation 255 exists; the next wave is refused. */
	ctx_open(&c);
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	renumber_gen(&c, 1, PS_BACKUP_MAX_GEN);
	tu_tree_copy(&before, tree(&c));
	assert_int_equal(run(&c, UPDATE, MAP_BOTH, NULL), 0);
	assert_int_equal(ps_report_exit_bits(&c.report), 1);
	{
		size_t i, failed = 0;

		for (i = 0; i < c.report.n; i++) {
			if (c.report.v[i].status != PS_ST_FAILED)
				continue;
			failed++;
			assert_non_null(strstr(c.report.v[i].detail,
					       "255 backup generations"));
			assert_non_null(strstr(c.report.v[i].detail,
					       "cleanup"));
		}
		assert_true(failed >= 1);
	}
	assert_tree(&c, &before);
	ps_regtree_free(&before);
	ctx_close(&c);
	ps_buf_free(&path);
}

static void test_damaged_backup(void **state)
{
	ctx c;
	ps_regtree damaged;
	int nothing = 1;

	(void)state;
	ctx_open(&c);
	damage_backup(&c);
	tu_tree_copy(&damaged, tree(&c));
	/* Update: the profile is blocked (bit 4) with the reason and
	 * nothing changes: it may hide an interrupted update. */
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	assert_int_equal(c.report.n, 1);
	assert_int_equal(c.report.v[0].status, PS_ST_BLOCKED_POISONED);
	assert_non_null(strstr(c.report.v[0].detail, "damaged"));
	assert_non_null(strstr(c.report.v[0].detail, "cleanup"));
	assert_int_equal(ps_report_exit_bits(&c.report), 4);
	assert_tree(&c, &damaged);
	/* Rollback cannot use it either. */
	assert_int_equal(run(&c, ROLLBACK, NULL, &nothing), 0);
	assert_int_equal(nothing, 0);
	assert_int_equal(c.report.n, 1);
	assert_int_equal(c.report.v[0].status, PS_ST_BLOCKED_POISONED);
	assert_string_equal(c.report.v[0].profile, "Outlook");
	/* Cleanup removes it; then the update goes through. */
	assert_int_equal(run(&c, CLEANUP, NULL, &nothing), 0);
	assert_int_equal(nothing, 0);
	assert_int_equal(c.report.v[0].status, PS_ST_CLEANED);
	assert_non_null(strstr(c.report.v[0].detail, "damaged"));
	assert_false(has_backup(&c));
	assert_tree(&c, &c.original);
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	assert_int_equal(c.report.v[0].status, PS_ST_UPDATED);
	ps_regtree_free(&damaged);
	ctx_close(&c);
}

/* Review finding: a valid interrupted update next to a damaged
 * generation must be restored by cleanup, not thrown away. */
static void test_cleanup_restores_pending_beside_damage(void **state)
{
	ctx c;

	(void)state;
	ctx_open(&c);
	make_interrupted(&c);
	tu_set(tree(&c), "Outlook", PS_BACKUP_SECTION,
	       PS_PROP_TAG(PS_PT_BINARY, 0x6F02), "junk", 4);
	/* Update refuses (it cannot tell what generation 02 was)... */
	assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
	assert_int_equal(c.report.v[0].status, PS_ST_BLOCKED_POISONED);
	/* ...but it already restored the valid pending generation, and
	 * cleanup removes the damaged one: back to the original. */
	assert_int_equal(run(&c, CLEANUP, NULL, NULL), 0);
	assert_false(has_backup(&c));
	assert_tree(&c, &c.original);
	ctx_close(&c);
}

static void test_generation_roundtrip_and_damage(void **state)
{
	ps_generation g, back;
	ps_gen_unit unit = { "acct", "/o=A/cn=x", "/o=B/cn=y" };
	ps_gen_section sec;
	ps_buf b = PS_BUF_INIT;
	size_t cut;

	(void)state;
	memset(&g, 0, sizeof(g));
	memset(&sec, 0, sizeof(sec));
	ps_uid_parse(&sec.uid, TU_EMS_A);
	ps_proplist_set(&sec.props, 0x6603001E, "dn", 3);
	g.state = PS_GEN_COMMITTED;
	g.units = &unit;
	g.nunits = 1;
	g.secs = &sec;
	g.nsecs = 1;
	assert_int_equal(ps_gen_encode(&g, &b), 0);
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len), 0);
	assert_string_equal(back.units[0].target_dn, "/o=B/cn=y");
	assert_int_equal(back.secs[0].props.n, 1);
	assert_memory_equal(back.secs[0].props.v[0].data, "dn", 3);
	ps_gen_free(&back);
	/* Every truncation is refused, never read past the end. */
	for (cut = 0; cut < b.len; cut++)
		assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, cut),
				 PS_EFORMAT);
	ps_proplist_free(&sec.props);
	ps_buf_free(&b);
}

/* A snapshot prop whose store kept a PT_STRING8 as REG_BINARY carries
 * its form: the generation is "PSB2" and decodes with it; without such a
 * prop it stays "PSB1".  A form on any other type is damage. */
static void test_generation_forms(void **state)
{
	ps_generation g, back;
	ps_gen_unit unit = { "acct", "/o=A/cn=x", "/o=B/cn=y" };
	ps_gen_section sec;
	ps_buf b = PS_BUF_INIT;
	ps_prop *p;

	(void)state;
	memset(&g, 0, sizeof(g));
	memset(&sec, 0, sizeof(sec));
	ps_uid_parse(&sec.uid, TU_EMS_A);
	ps_proplist_set(&sec.props, 0x6603001E, "dn", 3);
	ps_proplist_set(&sec.props, 0x6602001E, "EXCH01", 7);
	g.state = PS_GEN_COMMITTED;
	g.units = &unit;
	g.nunits = 1;
	g.secs = &sec;
	g.nsecs = 1;
	assert_int_equal(ps_gen_encode(&g, &b), 0);
	assert_memory_equal(b.ptr, "PSB1", 4);
	ps_buf_free(&b);

	ps_proplist_get(&sec.props, 0x6602001E)->form = PS_FORM_BINARY8;
	assert_int_equal(ps_gen_encode(&g, &b), 0);
	assert_memory_equal(b.ptr, "PSB2", 4);
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len), 0);
	p = ps_proplist_get(&back.secs[0].props, 0x6602001E);
	assert_non_null(p);
	assert_int_equal(p->form, PS_FORM_BINARY8);
	assert_memory_equal(p->data, "EXCH01", 7);
	assert_int_equal(PS_FORM_KIND(ps_proplist_get(&back.secs[0].props,
					 0x6603001E)->form), PS_FORM_DEFAULT);
	ps_gen_free(&back);
	ps_buf_free(&b);

	/* A value that is not a property before 6603: PSB2 too. */
	ps_proplist_get(&sec.props, 0x6602001E)->form = PS_FORM_DEFAULT;
	ps_proplist_get(&sec.props, 0x6603001E)->form =
		PS_FORM_MAKE(PS_FORM_DEFAULT, 2);
	assert_int_equal(ps_gen_encode(&g, &b), 0);
	assert_memory_equal(b.ptr, "PSB2", 4);
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len), 0);
	assert_int_equal(ps_proplist_get(&back.secs[0].props,
					 0x6603001E)->form, 0x200);
	ps_gen_free(&back);
	ps_buf_free(&b);

	ps_proplist_set(&sec.props, 0x66010003, "\x80\x01\0\0", 4);
	ps_proplist_get(&sec.props, 0x66010003)->form = PS_FORM_BINARY8;
	assert_int_equal(ps_gen_encode(&g, &b), 0);
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len),
			 PS_EFORMAT);
	ps_proplist_free(&sec.props);
	ps_buf_free(&b);
}

/* PSX1 value flags: 1 existed before, 2 a repair cleanup keeps (a removed
 * ExcludeExplicitO365Endpoint); both survive a round trip, and a flag
 * above them is damage. */
static void test_generation_value_flags(void **state)
{
	ps_generation g, back;
	ps_gen_unit unit = { "acct", "/o=A/cn=x", "/o=B/cn=y" };
	ps_gen_value vals[2];
	uint8_t one[4] = { 1, 0, 0, 0 };
	ps_buf b = PS_BUF_INIT;
	size_t at;

	(void)state;
	memset(&g, 0, sizeof(g));
	memset(vals, 0, sizeof(vals));
	vals[0].subkey = "AutoDiscover";
	vals[0].name = "ExcludeExplicitO365Endpoint";
	vals[0].existed = 1;
	vals[0].fix = 1;
	vals[0].type = 4;
	vals[0].data = one;
	vals[0].len = 4;
	vals[1].subkey = "AutoDiscover";
	vals[1].name = "PreferLocalXML";
	g.state = PS_GEN_COMMITTED;
	g.units = &unit;
	g.nunits = 1;
	g.vals = vals;
	g.nvals = 2;
	assert_int_equal(ps_gen_encode(&g, &b), 0);
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len), 0);
	assert_int_equal(back.nvals, 2);
	assert_int_equal(back.vals[0].existed, 1);
	assert_int_equal(back.vals[0].fix, 1);
	assert_memory_equal(back.vals[0].data, one, 4);
	assert_int_equal(back.vals[1].existed, 0);
	assert_int_equal(back.vals[1].fix, 0);
	ps_gen_free(&back);
	/* The first value's flags word follows its two strings. */
	for (at = 0; at + 4 <= b.len && memcmp(b.ptr + at, "PSX1", 4); at++)
		;
	assert_true(at + 4 <= b.len);
	at += 8 + 4 + strlen("AutoDiscover") + 4 +
	      strlen("ExcludeExplicitO365Endpoint");
	assert_int_equal((uint8_t)b.ptr[at], 3);
	b.ptr[at] = 4;
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len),
			 PS_EFORMAT);
	ps_buf_free(&b);
}

/* PSK1: whole Office keys an update deleted round-trip after PSX1; every
 * truncation is damage, and so is a first entry that is not a top key. */
static void test_generation_keys(void **state)
{
	ps_generation g, back;
	ps_gen_unit unit = { "acct", "/o=A/cn=x", "/o=B/cn=y" };
	ps_gen_keyval kv[2];
	ps_gen_key keys[2];
	uint8_t mail[] = { 'a', 0, '@', 0, 'b', 0, 0, 0 };
	uint8_t one[4] = { 1, 0, 0, 0 };
	ps_buf b = PS_BUF_INIT;
	size_t cut, at;

	(void)state;
	memset(&g, 0, sizeof(g));
	memset(kv, 0, sizeof(kv));
	memset(keys, 0, sizeof(keys));
	kv[0].name = "EmailAddress";
	kv[0].type = 1;
	kv[0].data = mail;
	kv[0].len = sizeof(mail);
	kv[1].name = "IdP";
	kv[1].type = 4;
	kv[1].data = one;
	kv[1].len = 4;
	keys[0].path = "Common\\Identity\\Identities\\X_ADAL";
	keys[0].top = 1;
	keys[0].vals = kv;
	keys[0].nvals = 2;
	keys[1].path = "Common\\Identity\\Identities\\X_ADAL\\Sub";
	g.state = PS_GEN_COMMITTED;
	g.units = &unit;
	g.nunits = 1;
	g.keys = keys;
	g.nkeys = 2;
	assert_int_equal(ps_gen_encode(&g, &b), 0);
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len), 0);
	assert_int_equal(back.nkeys, 2);
	assert_string_equal(back.keys[0].path, keys[0].path);
	assert_int_equal(back.keys[0].top, 1);
	assert_int_equal(back.keys[0].nvals, 2);
	assert_string_equal(back.keys[0].vals[0].name, "EmailAddress");
	assert_int_equal(back.keys[0].vals[0].len, sizeof(mail));
	assert_memory_equal(back.keys[0].vals[0].data, mail, sizeof(mail));
	assert_int_equal(back.keys[0].vals[1].type, 4);
	assert_int_equal(back.keys[1].top, 0);
	assert_int_equal(back.keys[1].nvals, 0);
	assert_int_equal(back.nvals, 0);
	assert_int_equal(back.nfiles, 0);
	ps_gen_free(&back);
	/* The first entry's top flag follows "PSK1", its count and path. */
	for (at = 0; at + 4 <= b.len && memcmp(b.ptr + at, "PSK1", 4); at++)
		;
	assert_true(at + 4 <= b.len);
	/* Every cut is damage, except at a trailer's start (a registry
	 * value is written whole, so a generation is never cut there). */
	for (cut = 0; cut < b.len; cut++) {
		int rc = ps_gen_decode(&back, (uint8_t *)b.ptr, cut);

		if (cut == at || cut == at - 12) {
			assert_int_equal(rc, 0);
			assert_int_equal(back.nkeys, 0);
			ps_gen_free(&back);
			continue;
		}
		assert_int_equal(rc, PS_EFORMAT);
	}
	at += 8 + 4 + strlen(keys[0].path);
	assert_int_equal((uint8_t)b.ptr[at], 1);
	b.ptr[at] = 0;
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len),
			 PS_EFORMAT);
	ps_buf_free(&b);
}

/* A failed update that reports "the profile is as it was" must have left
 * it so, down to a backup section key that was there before and empty,
 * or that held a value that is not a property (review finding: the key
 * was deleted while the report said nothing changed). */
static void test_failed_update_keeps_backup_key(void **state)
{
	static const uint8_t junk[] = { 1, 2, 3 };
	int variant;

	(void)state;
	for (variant = 0; variant < 2; variant++) {
		ctx c;
		ps_regtree t;
		ps_store *inner = NULL;
		ps_buf path = PS_BUF_INIT;
		ps_regkey *k = NULL;

		memset(&c, 0, sizeof(c));
		tu_fixture(&t);
		ps_buf_printf(&path, "%s\\Outlook\\%s", TU_PROFILES,
			      PS_BACKUP_SECTION);
		assert_int_equal(ps_regkey_create(t.root, path.ptr, &k), 0);
		if (variant)
			ps_regkey_set(k, "Note", 3, junk, sizeof(junk));
		ps_buf_free(&path);
		tu_tree_copy(&c.original, &t);
		assert_int_equal(ps_fakestore_from_tree(&inner, &t, NULL,
							NULL), 0);
		assert_int_equal(ps_faultstore_wrap(&c.store, inner), 0);
		assert_int_equal(ps_config_init(&c.cfg), 0);
		/* the generation is saved, the first section save fails */
		ps_faultstore_arm(c.store, PS_FAULT_SAVE, 2, 0);
		assert_int_equal(run(&c, UPDATE, MAP_ALICE, NULL), 0);
		assert_int_equal(c.report.v[0].status, PS_ST_FAILED);
		assert_non_null(strstr(c.report.v[0].detail, "as it was"));
		ps_faultstore_arm(c.store, 0, 0, 0);
		assert_tree(&c, &c.original);
		ctx_close(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollback_restores_exactly),
		cmocka_unit_test(test_rollback_after_outlook_changed_things),
		cmocka_unit_test(test_rollback_newest_wave_only),
		cmocka_unit_test(test_cleanup_then_nothing_to_roll_back),
		cmocka_unit_test(
			test_interrupted_update_recovered_by_next_update),
		cmocka_unit_test(test_interrupted_update_rolled_back),
		cmocka_unit_test(test_rollback_through_interrupted_wave),
		cmocka_unit_test(test_damaged_backup),
		cmocka_unit_test(test_generation_limit),
		cmocka_unit_test(test_cleanup_restores_pending_beside_damage),
		cmocka_unit_test(test_generation_roundtrip_and_damage),
		cmocka_unit_test(test_generation_forms),
		cmocka_unit_test(test_generation_value_flags),
		cmocka_unit_test(test_generation_keys),
		cmocka_unit_test(test_failed_update_keeps_backup_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
