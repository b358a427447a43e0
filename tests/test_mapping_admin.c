/*
 * The mapping files administrators have (docs/formats.md, "Mapping
 * file"): Excel's semicolon files, Get-Mailbox exports with PowerShell
 * column names, X500: and SMTP: prefixes, columns Excel pads with, rows
 * that could never repoint anything, and a row that moves a mailbox to
 * another server without changing its DN.  Parser tests call
 * ps_mapping_parse; the others run the real command line on an export
 * in a temporary folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_error.h"
#include "ps_mapping.h"
#include "ps_reg.h"
#include "testutil.h"

static char dir[64], store[128], mapping[128];

static void put_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void put_text(const char *path, const char *text)
{
	put_bytes(path, text, strlen(text));
}

/* The fixture profile (tests/testutil.h) as an export in the folder. */
static void write_store(void)
{
	ps_regtree t;
	ps_buf out = PS_BUF_INIT;

	tu_fixture(&t);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	ps_regtree_free(&t);
	put_bytes(store, out.ptr, out.len);
	ps_buf_free(&out);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ps-mapadm-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(store, sizeof(store), "%s/u.reg", dir);
	snprintf(mapping, sizeof(mapping), "%s/m.csv", dir);
	write_store();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static ps_mapping *parse_ok(const char *s)
{
	ps_mapping *m = NULL;
	int rc = ps_mapping_parse(&m, "m.csv", s, strlen(s), NULL);

	if (rc)
		fail_msg("rc %d: %s", rc, ps_error_last());
	assert_non_null(m);
	return m;
}

static void assert_opt(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_non_null(got);
	if (want)
		assert_string_equal(got, want);
}

/* The report line of the fixture's alice account, from update's stdout
 * ("" when absent). */
static int says(const ps_buf *b, const char *text)
{
	return b->ptr && strstr(b->ptr, text) != NULL;
}

/* ---- delimiters ---- */

/* Excel writes ';' in many locales, with or without a header; a DN of an
 * old organisation holds a comma, which must not split it. */
static void test_semicolon_files(void **state)
{
	ps_mapping *m;
	const ps_map_entry *e;

	(void)state;
	m = parse_ok("/o=Contoso, Inc/cn=a;/o=F/cn=a;a@f.com;srv01\r\n"
		     "/o=C/cn=b;/o=F/cn=b\r\n");
	assert_int_equal(ps_mapping_count(m), 2);
	e = ps_mapping_entry(m, 0);
	assert_string_equal(e->source_dn, "/o=Contoso, Inc/cn=a");
	assert_opt(e->target_dn, "/o=F/cn=a");
	assert_opt(e->target_smtp, "a@f.com");
	assert_opt(e->target_server, "srv01");
	assert_opt(ps_mapping_entry(m, 1)->target_dn, "/o=F/cn=b");
	ps_mapping_free(m);
	/* With a header, a comma DN in a later line stays whole. */
	m = parse_ok("TargetSMTP;SourceLegacyDN;TargetLegacyDN\n"
		     "a@f.com;/o=Contoso, Inc/cn=a;/o=F/cn=a\n");
	e = ps_mapping_entry(m, 0);
	assert_string_equal(e->source_dn, "/o=Contoso, Inc/cn=a");
	assert_opt(e->target_dn, "/o=F/cn=a");
	assert_opt(e->target_smtp, "a@f.com");
	ps_mapping_free(m);
	/* A comma file whose quoted field holds ';' stays a comma file. */
	m = parse_ok("SourceLegacyDN,TargetLegacyDN,TargetOAB\n"
		     "/o=C/cn=a,/o=F/cn=a,\"\\OAB; Sales\"\n");
	assert_opt(ps_mapping_entry(m, 0)->target_oab, "\\OAB; Sales");
	ps_mapping_free(m);
}

/* A headerless semicolon mapping used to be read as one column: every
 * line a source DN with no target, which passed check and matched
 * nothing.  Now update repoints alice with it. */
static void test_semicolon_update(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	int rc;

	(void)state;
	put_text(mapping, TU_ALICE_SRC ";" TU_ALICE_TGT
		 ";alice@contoso.com\r\n");
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	if (rc != 0 || !says(&out, "1 updated"))
		fail_msg("exit %d\n%s%s", rc, out.ptr, err.ptr);
	ps_buf_free(&out);
	ps_buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_semicolon_files),
		cmocka_unit_test_setup_teardown(test_semicolon_update, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
