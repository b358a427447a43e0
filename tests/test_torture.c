/*
 * Torture test (issue: "fail write i for every i in 1..K"): an update of
 * a multi-account profile makes K store writes.  For every i, fail write
 * i once, and every write from i on; after each run the export on disk
 * must equal either the original or the fully updated result, and a
 * later clean update must converge to the fully updated result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_config.h"
#include "ps_engine.h"
#include "ps_error.h"
#include "ps_posix.h"
#include "testutil.h"

#define MAP_ALL "SourceLegacyDN|TargetLegacyDN|TargetSMTP\n" \
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com\n" \
	TU_BOB_SRC "|" TU_BOB_TGT "|bob@contoso.com\n" \
	TU_SALES_SRC "|" TU_SALES_TGT "|sales@contoso.com\n"

typedef struct fixture {
	ps_system *sys;
	char dir[64];
	char path[96];
	ps_buf original_bytes;
	ps_regtree original;
	ps_regtree updated;
	ps_mapping *map;
	ps_config cfg;
} fixture;

static void write_file(const char *path, const ps_buf *b)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b->ptr, 1, b->len, f), b->len);
	assert_int_equal(fclose(f), 0);
}

static void load(fixture *fx, ps_regtree *out)
{
	uint8_t *data = NULL;
	size_t len = 0;

	assert_int_equal(ps_sys_read_file(fx->sys, fx->path, 1u << 26, &data,
					  &len), 0);
	assert_int_equal(ps_regtree_parse(out, fx->path, data, len), 0);
	free(data);
}

/* One update run on the file; faults armed when nth > 0. Returns the
 * number of write calls the run made. */
static unsigned run_update(fixture *fx, unsigned nth, int persistent,
			   ps_report *report)
{
	ps_store *inner = NULL, *s = NULL;
	ps_engine e;
	ps_strlist profiles = PS_STRLIST_INIT;
	unsigned calls;

	assert_int_equal(ps_fakestore_open(&inner, fx->sys, fx->path), 0);
	assert_int_equal(ps_faultstore_wrap(&s, inner), 0);
	ps_faultstore_arm(s, PS_FAULT_WRITES, nth, persistent);
	memset(&e, 0, sizeof(e));
	e.store = s;
	e.sys = fx->sys;
	e.cfg = &fx->cfg;
	e.map = fx->map;
	e.report = report;
	assert_int_equal(ps_engine_profiles(&e, NULL, 0, &profiles), 0);
	/* Store errors come back as rows, never as a crash. */
	assert_int_equal(ps_engine_update(&e, &profiles), 0);
	ps_engine_commit(&e);
	calls = ps_faultstore_calls(s);
	ps_strlist_free(&profiles);
	ps_store_free(s);
	return calls;
}

/* Office's sign-in cache with alice's source identity (and a subkey
 * under its profile entry) and another one that stays. */
static void add_identities(ps_regtree *t)
{
	static const char base[] = "HKEY_CURRENT_USER\\Software\\Microsoft"
				   "\\Office\\16.0\\Common\\Identity\\";
	static const uint8_t src[] = "a\0l\0i\0c\0e\0@\0f\0a\0b\0r\0i\0"
				     "k\0a\0m\0.\0c\0o\0m\0\0";
	static const uint8_t other[] = "b\0@\0x\0.\0o\0r\0g\0\0";
	static const uint8_t one[] = { 1, 0, 0, 0 };
	char path[256];
	ps_regkey *k;

	snprintf(path, sizeof(path), "%sIdentities\\A1_ADAL", base);
	assert_int_equal(ps_regkey_create(t->root, path, &k), 0);
	assert_int_equal(ps_regkey_set(k, "EmailAddress", 1, src,
				       sizeof(src)), 0);
	assert_int_equal(ps_regkey_set(k, "IdP", 4, one, 4), 0);
	snprintf(path, sizeof(path), "%sIdentities\\B2_ADAL", base);
	assert_int_equal(ps_regkey_create(t->root, path, &k), 0);
	assert_int_equal(ps_regkey_set(k, "EmailAddress", 1, other,
				       sizeof(other)), 0);
	snprintf(path, sizeof(path), "%sProfiles\\A1_ADAL\\Sub", base);
	assert_int_equal(ps_regkey_create(t->root, path, &k), 0);
	assert_int_equal(ps_regkey_set(k, "X", 4, one, 4), 0);
}

static int setup_with(void **state, int identities)
{
	fixture *fx = calloc(1, sizeof(*fx));
	ps_report r = PS_REPORT_INIT;

	assert_non_null(fx);
	assert_int_equal(ps_posix_system_new(&fx->sys), 0);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ps-torture-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/HKCU.reg", fx->dir);
	tu_fixture(&fx->original);
	if (identities)
		add_identities(&fx->original);
	assert_int_equal(ps_regtree_write(&fx->original,
					  &fx->original_bytes), 0);
	assert_int_equal(ps_config_init(&fx->cfg), 0);
	fx->cfg.reset_office_identity = identities;
	fx->map = tu_mapping(MAP_ALL);
	/* The reference: a clean run. */
	write_file(fx->path, &fx->original_bytes);
	run_update(fx, 0, 0, &r);
	assert_int_equal(ps_report_exit_bits(&r), 0);
	ps_report_free(&r);
	load(fx, &fx->updated);
	/* With identities, the clean run removed the source's only. */
	if (identities) {
		assert_null(ps_regkey_find(fx->updated.root, "HKEY_CURRENT_USER"
			"\\Software\\Microsoft\\Office\\16.0\\Common\\Identity"
			"\\Identities\\A1_ADAL"));
		assert_null(ps_regkey_find(fx->updated.root, "HKEY_CURRENT_USER"
			"\\Software\\Microsoft\\Office\\16.0\\Common\\Identity"
			"\\Profiles\\A1_ADAL"));
		assert_non_null(ps_regkey_find(fx->updated.root,
			"HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0"
			"\\Common\\Identity\\Identities\\B2_ADAL"));
	}
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0);
}

/* ResetOfficeIdentity=1: the deleted keys are part of the same
 * all-or-nothing update. */
static int setup_identities(void **state)
{
	return setup_with(state, 1);
}

static int teardown(void **state)
{
	fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	ps_buf_free(&fx->original_bytes);
	ps_regtree_free(&fx->original);
	ps_regtree_free(&fx->updated);
	ps_mapping_free(fx->map);
	ps_config_free(&fx->cfg);
	ps_sys_free(fx->sys);
	free(fx);
	return 0;
}

static void torture(fixture *fx, int persistent)
{
	ps_report r = PS_REPORT_INIT;
	unsigned k, i, failures = 0;

	write_file(fx->path, &fx->original_bytes);
	k = run_update(fx, 0, 0, &r);
	ps_report_free(&r);
	/* Backup pending + 5 sections (3 each) + commit + flush. */
	assert_true(k >= 10);
	for (i = 1; i <= k; i++) {
		ps_regtree disk;
		int orig, full;

		write_file(fx->path, &fx->original_bytes);
		run_update(fx, i, persistent, &r);
		load(fx, &disk);
		orig = ps_regkey_equal(fx->original.root, disk.root, NULL);
		full = ps_regkey_equal(fx->updated.root, disk.root, NULL);
		if (!orig && !full) {
			ps_buf d = PS_BUF_INIT;

			ps_regkey_equal(fx->original.root, disk.root, &d);
			fail_msg("write %u of %u (%s): the export is neither "
				 "the original nor the updated one:\n%s", i,
				 k, persistent ? "from then on" : "once",
				 d.ptr);
		}
		if (orig) {
			/* Every updated unit must then say failed. */
			assert_int_equal(ps_report_exit_bits(&r) & 1, 1);
			failures++;
		}
		ps_regtree_free(&disk);
		ps_report_free(&r);
		/* A later clean run converges. */
		run_update(fx, 0, 0, &r);
		assert_int_equal(ps_report_exit_bits(&r), 0);
		ps_report_free(&r);
		load(fx, &disk);
		if (!ps_regkey_equal(fx->updated.root, disk.root, NULL))
			fail_msg("write %u: a later update did not converge",
				 i);
		ps_regtree_free(&disk);
	}
	print_message("%u writes, %u runs left the original in place\n", k,
		      failures);
	/* Every injected fault hit a write that matters. */
	assert_int_equal(failures, k);
}

static void test_fail_each_write_once(void **state)
{
	torture(*state, 0);
}

static void test_fail_every_write_from_n(void **state)
{
	torture(*state, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_each_write_once),
		cmocka_unit_test(test_fail_every_write_from_n),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);

	return failed + cmocka_run_group_tests_name("identities", tests,
						    setup_identities,
						    teardown);
}
