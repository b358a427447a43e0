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

static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *d;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	d = malloc((size_t)n + 1);
	assert_non_null(d);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	d[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return d;
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

/* s must fail with PS_EFORMAT and exactly msg as its only error. */
static void expect_bad(const char *s, const char *msg)
{
	ps_mapping *m = NULL;
	ps_strlist errors = PS_STRLIST_INIT;

	assert_int_equal(ps_mapping_parse(&m, "m.csv", s, strlen(s),
					  &errors), PS_EFORMAT);
	assert_null(m);
	assert_string_equal(ps_error_last(), msg);
	assert_int_equal(errors.n, 1);
	assert_string_equal(errors.v[0], msg);
	ps_strlist_free(&errors);
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

/* ---- column names, padding, prefixes ---- */

#define CON "/o=Contoso/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn="
#define EXO "/o=ExchangeLabs/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn="

/* What Windows PowerShell's Get-Mailbox | Select ... | Export-Csv writes:
 * a #TYPE line, every field quoted, PowerShell's property names, a
 * column profswitch does not read, X500: and SMTP: proxy prefixes. */
#define PS_EXPORT \
	"#TYPE Selected.Microsoft.Exchange.Data.Directory.Management." \
	"Mailbox\r\n" \
	"\"DisplayName\",\"LegacyExchangeDN\",\"TargetLegacyExchangeDN\"," \
	"\"PrimarySmtpAddress\",\"ExchangeGuid\",\"Alias\"\r\n" \
	"\"Alice Smith, Sales\",\"" CON "alice\",\"X500:" EXO "alice\"," \
	"\"SMTP:alice@fabrikam.com\"," \
	"\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\",\"alice\"\r\n" \
	"\"Bob\",\"x500:" CON "bob\",\"" EXO "bob\"," \
	"\"smtp:bob@fabrikam.com\",\"\",\"\"\r\n"

static void check_ps_export(ps_mapping *m)
{
	const ps_map_entry *e;

	assert_int_equal(ps_mapping_count(m), 2);
	e = ps_mapping_entry(m, 0);
	assert_int_equal(e->line, 3);
	assert_string_equal(e->source_dn, CON "alice");
	assert_opt(e->target_dn, EXO "alice");
	assert_opt(e->target_smtp, "alice@fabrikam.com");
	assert_opt(e->target_mailbox_guid,
		   "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	assert_null(e->source_smtp);
	e = ps_mapping_entry(m, 1);
	assert_string_equal(e->source_dn, CON "bob");
	assert_opt(e->target_dn, EXO "bob");
	assert_opt(e->target_smtp, "bob@fabrikam.com");
	assert_null(e->target_mailbox_guid);
	assert_ptr_equal(ps_mapping_find_target(m, EXO "ALICE"),
			 ps_mapping_entry(m, 0));
	/* What was read under which name, and what was left out. */
	assert_int_equal(ps_mapping_note_count(m), 2);
	assert_string_equal(ps_mapping_note(m, 0), "m.csv:2: note: columns "
			    "read as LegacyExchangeDN = SourceLegacyDN, "
			    "TargetLegacyExchangeDN = TargetLegacyDN, "
			    "PrimarySmtpAddress = TargetSMTP, ExchangeGuid = "
			    "TargetMailboxGuid");
	assert_string_equal(ps_mapping_note(m, 1), "m.csv:2: note: 2 columns "
			    "ignored (not mapping columns): 'DisplayName', "
			    "'Alias'");
	assert_null(ps_mapping_note(m, 2));
}

/* Exchange Online's server name is the mailbox GUID: a line whose
 * TargetServer names another GUID than its TargetMailboxGuid mixes two
 * mailboxes (R6 decides the OST from one); a note, no error.  Braces and
 * case do not make a difference; a server that is no GUID is not
 * compared; ten lines are named, the tenth says the rest are not. */
static void test_guid_server_disagree(void **state)
{
	ps_buf b = PS_BUF_INIT;
	ps_mapping *m;
	unsigned i;

	(void)state;
	m = parse_ok("SourceLegacyDN,TargetLegacyDN,TargetServer,"
		     "TargetMailboxGuid\n"
		     CON "a," EXO "a,6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5@x.com,"
		     "{6C1D2E3F-4A5B-4C6D-8E7F-90A1B2C3D4E5}\n"
		     CON "b," EXO "b,outlook.office365.com,"
		     "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9\n"
		     CON "c," EXO "c,6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5@x.com,"
		     "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9\n");
	assert_int_equal(ps_mapping_count(m), 3);
	assert_int_equal(ps_mapping_note_count(m), 1);
	assert_string_equal(ps_mapping_note(m, 0), "m.csv:4: note: "
			    "TargetServer '6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5"
			    "@x.com' names mailbox GUID 6c1d2e3f-4a5b-4c6d-"
			    "8e7f-90a1b2c3d4e5, but TargetMailboxGuid is "
			    "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9: the two come "
			    "from different mailboxes");
	ps_mapping_free(m);
	ps_buf_puts(&b, "SourceLegacyDN,TargetLegacyDN,TargetServer,"
		    "TargetMailboxGuid\n");
	for (i = 0; i < 12; i++)
		ps_buf_printf(&b, CON "u%u," EXO "u%u,6c1d2e3f-4a5b-4c6d-8e7f-"
			      "90a1b2c3d4e5@x.com,1f2e3d4c-5b6a-4978-8695-"
			      "a4b3c2d1e0f9\n", i, i);
	m = parse_ok(b.ptr);
	assert_int_equal(ps_mapping_note_count(m), 10);
	assert_non_null(strstr(ps_mapping_note(m, 9), "(later lines like "
			       "this one are not listed)"));
	assert_null(strstr(ps_mapping_note(m, 8), "later lines"));
	ps_mapping_free(m);
	ps_buf_free(&b);
}

static void test_powershell_export(void **state)
{
	ps_mapping *m;
	ps_buf b = PS_BUF_INIT;
	const char *p;

	(void)state;
	/* UTF-8 with a BOM (Export-Csv -Encoding UTF8) */
	m = parse_ok("\xEF\xBB\xBF" PS_EXPORT);
	check_ps_export(m);
	ps_mapping_free(m);
	/* UTF-16LE with a BOM (-Encoding Unicode) */
	assert_int_equal(ps_buf_put(&b, "\xFF\xFE", 2), 0);
	for (p = PS_EXPORT; *p; p++)
		assert_int_equal(ps_buf_put(&b, (char[2]){ *p, 0 }, 2), 0);
	m = NULL;
	assert_int_equal(ps_mapping_parse(&m, "m.csv", b.ptr, b.len, NULL),
			 0);
	check_ps_export(m);
	ps_mapping_free(m);
	ps_buf_free(&b);
	/* Every spelling of the header compares case-insensitively. */
	m = parse_ok("oldlegacyexchangedn|NEWLEGACYEXCHANGEDN|"
		     "OldPrimarySmtpAddress|NewPrimarySmtpAddress|"
		     "TargetServerName|ArchiveGuid|TargetOfflineAddressBook\n"
		     CON "a|" EXO "a|a@contoso.com|a@fabrikam.com|srv|"
		     "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}|\\GAL\n");
	assert_opt(ps_mapping_entry(m, 0)->target_dn, EXO "a");
	assert_opt(ps_mapping_entry(m, 0)->source_smtp, "a@contoso.com");
	assert_opt(ps_mapping_entry(m, 0)->target_smtp, "a@fabrikam.com");
	assert_opt(ps_mapping_entry(m, 0)->target_server, "srv");
	assert_opt(ps_mapping_entry(m, 0)->target_archive_guid,
		   "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}");
	assert_opt(ps_mapping_entry(m, 0)->target_oab, "\\GAL");
	ps_mapping_free(m);
	/* The canonical names alone: no note. */
	m = parse_ok("SourceLegacyDN|TargetLegacyDN\n" CON "a|" EXO "a\n");
	assert_int_equal(ps_mapping_note_count(m), 0);
	ps_mapping_free(m);
}

/* Excel pads every line to its widest one and keeps rows it left
 * empty; neither is an error, and neither is a column. */
static void test_excel_padding(void **state)
{
	ps_mapping *m;

	(void)state;
	m = parse_ok(";;;\r\n"
		     "SourceLegacyDN;TargetLegacyDN;;;\r\n"
		     CON "a;" EXO "a;;;\r\n"
		     ";;;;\r\n"
		     "\"\";\"\" ; ;\r\n"
		     CON "b;" EXO "b\r\n");
	assert_int_equal(ps_mapping_count(m), 2);
	assert_int_equal(ps_mapping_entry(m, 0)->line, 3);
	assert_int_equal(ps_mapping_entry(m, 1)->line, 6);
	assert_int_equal(ps_mapping_note_count(m), 0);
	ps_mapping_free(m);
	/* Without a header: four columns, then only empty fields. */
	m = parse_ok(CON "a," EXO "a,a@f.com,srv,,,,\n");
	assert_opt(ps_mapping_entry(m, 0)->target_server, "srv");
	ps_mapping_free(m);
	/* Something in a column past the header is still an error. */
	expect_bad("SourceLegacyDN;TargetLegacyDN;;\n" CON "a;" EXO "a;;x\n",
		   "m.csv:2: 4 fields, but the header has 2 columns");
	/* An empty name between two columns is one Excel does not add. */
	expect_bad("SourceLegacyDN;;TargetLegacyDN\n",
		   "m.csv:1: empty column name in the header (column 2)");
}

static void test_header_names(void **state)
{
	ps_mapping *m;
	char line[4096];
	size_t at;
	int i;

	(void)state;
	/* Two names of one column. */
	expect_bad("LegacyExchangeDN,SourceLegacyDN,TargetLegacyDN\n",
		   "m.csv:1: column SourceLegacyDN appears twice in the "
		   "header (as 'LegacyExchangeDN' and 'SourceLegacyDN')");
	expect_bad("\"PrimarySmtpAddress\",\"LegacyExchangeDN\","
		   "\"TargetSMTP\"\n",
		   "m.csv:1: column TargetSMTP appears twice in the header "
		   "(as 'PrimarySmtpAddress' and 'TargetSMTP')");
	/* The columns that were ignored are named where they matter. */
	expect_bad("DisplayName,TargetLegacyDN,LegacyDN\n",
		   "m.csv:1: the header has no SourceLegacyDN column (nor "
		   "LegacyExchangeDN, SourceLegacyExchangeDN or "
		   "OldLegacyExchangeDN); ignored: 'DisplayName', 'LegacyDN'");
	/* Get-Mailbox | Select * has hundreds of columns: ten are named. */
	at = (size_t)snprintf(line, sizeof(line), "SourceLegacyDN,"
			      "TargetLegacyDN");
	for (i = 0; i < 150; i++)
		at += (size_t)snprintf(line + at, sizeof(line) - at, ",P%d", i);
	snprintf(line + at, sizeof(line) - at, "\n" CON "a," EXO "a,x\n");
	m = parse_ok(line);
	assert_int_equal(ps_mapping_note_count(m), 1);
	assert_string_equal(ps_mapping_note(m, 0), "m.csv:1: note: 150 "
			    "columns ignored (not mapping columns): 'P0', "
			    "'P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', "
			    "'P9' and 140 more");
	assert_opt(ps_mapping_entry(m, 0)->target_dn, EXO "a");
	ps_mapping_free(m);
	/* A comma split that makes a header beats ';' inside a name. */
	m = parse_ok("SourceLegacyDN,TargetLegacyDN,Note;x\n"
		     CON "a," EXO "a,y\n");
	assert_opt(ps_mapping_entry(m, 0)->target_dn, EXO "a");
	ps_mapping_free(m);
}

/* The command line: mapping check says what it read and what it left
 * out, then update repoints alice from that export. */
static void test_export_check_and_update(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	int rc;

	(void)state;
	put_text(mapping, "#TYPE Selected.Microsoft.Exchange.Data.Directory."
		 "Management.Mailbox\r\n"
		 "\"DisplayName\",\"LegacyExchangeDN\","
		 "\"NewLegacyExchangeDN\",\"PrimarySmtpAddress\",\"\"\r\n"
		 "\"Alice\",\"X500:" TU_ALICE_SRC "\",\"" TU_ALICE_TGT "\","
		 "\"SMTP:alice@contoso.com\",\"\"\r\n");
	rc = tu_run(&out, &err, "mapping", "check", mapping, NULL);
	if (rc != 0 || !says(&out, "m.csv:2: note: columns read as "
			     "LegacyExchangeDN = SourceLegacyDN") ||
	    !says(&out, "m.csv:2: note: 1 column ignored (not mapping "
		  "columns): 'DisplayName'") ||
	    !says(&out, "mailboxes: 1"))
		fail_msg("exit %d\n%s%s", rc, out.ptr, err.ptr);
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	if (rc != 0 || !says(&out, "1 updated"))
		fail_msg("exit %d\n%s%s", rc, out.ptr, err.ptr);
	ps_buf_free(&out);
	ps_buf_free(&err);
}

/* ---- mappings that cannot repoint anything ---- */

static void test_cannot_repoint(void **state)
{
	(void)state;
	/* A header without TargetLegacyDN and TargetServer: every update
	 * would have failed. */
	expect_bad("SourceLegacyDN,TargetSMTP\n" CON "a,a@f.com\n",
		   "m.csv:1: the header has neither a TargetLegacyDN nor a "
		   "TargetServer column: no line could repoint a mailbox (an "
		   "export of one organisation is not a mapping: join the "
		   "source's and the target's)");
	expect_bad("\"DisplayName\",\"LegacyExchangeDN\","
		   "\"PrimarySmtpAddress\"\n\"A\",\"" CON "a\",\"a@f.com\"\n",
		   "m.csv:1: the header has neither a TargetLegacyDN nor a "
		   "TargetServer column: no line could repoint a mailbox (an "
		   "export of one organisation is not a mapping: join the "
		   "source's and the target's); ignored: 'DisplayName'");
	/* A line with neither, in a header file and without a header. */
	expect_bad("SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
		   CON "a|" EXO "a\n" CON "b||b@f.com\n",
		   "m.csv:3: no TargetLegacyDN and no TargetServer: nothing "
		   "to repoint the mailbox to");
	expect_bad(CON "a;;a@f.com\n", "m.csv:1: no TargetLegacyDN and no "
		   "TargetServer: nothing to repoint the mailbox to");
}

/* The command line: check fails with the line named, update changes
 * nothing and exits 65. */
static void test_cannot_repoint_cli(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	char *before, *after;
	size_t blen, alen;
	int rc;

	(void)state;
	put_text(mapping, "\"LegacyExchangeDN\",\"PrimarySmtpAddress\"\r\n"
		 "\"" TU_ALICE_SRC "\",\"alice@fabrikam.com\"\r\n");
	rc = tu_run(&out, &err, "mapping", "check", mapping, NULL);
	if (rc != 65 || !says(&out, "m.csv:1: the header has neither a "
			      "TargetLegacyDN nor a TargetServer column"))
		fail_msg("exit %d\n%s%s", rc, out.ptr, err.ptr);
	put_text(mapping, TU_ALICE_SRC "\r\n" TU_SALES_SRC ";" TU_SALES_TGT
		 "\r\n");
	rc = tu_run(&out, &err, "mapping", "check", mapping, NULL);
	if (rc != 65 || !says(&out, "m.csv:1: no TargetLegacyDN and no "
			      "TargetServer"))
		fail_msg("exit %d\n%s%s", rc, out.ptr, err.ptr);
	before = slurp(store, &blen);
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	if (rc != 65 || !says(&err, "m.csv:1: no TargetLegacyDN"))
		fail_msg("exit %d\n%s%s", rc, out.ptr, err.ptr);
	after = slurp(store, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	ps_buf_free(&out);
	ps_buf_free(&err);
}

/* ---- a move to another server that keeps the DN ---- */

static void test_server_move_lines(void **state)
{
	ps_mapping *m;
	const ps_map_entry *e;

	(void)state;
	/* TargetLegacyDN equal to the source (any case) or empty, with a
	 * TargetServer: no target DN, so never a target nor a chain. */
	m = parse_ok("SourceLegacyDN|TargetLegacyDN|TargetSMTP|TargetServer\n"
		     CON "a|" "/O=CONTOSO/ou=Exchange Administrative Group "
		     "(FYDIBOHF23SPDLT)/cn=Recipients/cn=A||exch09\n"
		     CON "b|||exch09\n"
		     CON "c||c@contoso.com|exch09\n"
		     CON "b|" CON "b||exch09\n");
	assert_int_equal(ps_mapping_count(m), 3);
	e = ps_mapping_entry(m, 0);
	assert_null(e->target_dn);
	assert_opt(e->target_server, "exch09");
	assert_null(ps_mapping_entry(m, 1)->target_dn);
	assert_opt(ps_mapping_entry(m, 2)->target_smtp, "c@contoso.com");
	assert_null(ps_mapping_find_target(m, CON "a"));
	assert_ptr_equal(ps_mapping_find_source(m, CON "a"), e);
	ps_mapping_free(m);
	/* A move onto a DN that then moves to a server settles when both
	 * name that server; otherwise the account would move twice. */
	m = parse_ok("SourceLegacyDN|TargetLegacyDN|TargetServer\n"
		     CON "old|" CON "a|exch09\n" CON "a|" CON "a|EXCH09\n");
	ps_mapping_free(m);
	expect_bad("SourceLegacyDN|TargetLegacyDN|TargetServer\n"
		   CON "old|" CON "a|exch08\n" CON "a||exch09\n",
		   "m.csv:2: TargetLegacyDN '" CON "a' is the SourceLegacyDN "
		   "of line 3: a chain (the account would move twice) never "
		   "settles; map each mailbox straight to its final target");
}

#define MAP_SERVER_MOVE "SourceLegacyDN,TargetLegacyDN,TargetServer\r\n" \
	"\"" TU_ALICE_SRC "\",\"" TU_ALICE_SRC "\",EXCH09\r\n" \
	"\"" TU_BOB_SRC "\",,EXCH09\r\n"

static char *value_of(ps_regtree *t, const char *uid, uint32_t tag)
{
	return tu_get_string(t, "Outlook", uid, tag);
}

static void assert_value(ps_regtree *t, const char *uid, uint32_t tag,
			 const char *want)
{
	char *v = value_of(t, uid, tag);

	if (!v)
		fail_msg("%s %08x: absent, want '%s'", uid, tag, want);
	assert_string_equal(v, want);
	free(v);
}

static void load_store(ps_regtree *t)
{
	size_t len;
	char *data = slurp(store, &len);

	assert_int_equal(ps_regtree_parse(t, store, (uint8_t *)data, len), 0);
	free(data);
}

/*
 * ExProfRe's core case: alice's and bob's mailboxes move from EXCH01 to
 * EXCH09 in the same organisation.  The update points alice's account
 * and the additional mailbox bob at EXCH09 (R3), drops what Outlook
 * rediscovers (R4) and keeps both DNs; a second run finds them there
 * and changes nothing; rollback gives the profile back byte for byte.
 */
static void test_server_move_update(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	char report[160], *before, *after, *rep;
	size_t blen, alen, rlen;
	ps_regtree t;
	int rc;

	(void)state;
	put_text(mapping, MAP_SERVER_MOVE);
	snprintf(report, sizeof(report), "%s/r.csv", dir);
	rc = tu_run(&out, &err, "mapping", "check", mapping, NULL);
	if (rc != 0 || !says(&out, "mailboxes: 2"))
		fail_msg("check: exit %d\n%s%s", rc, out.ptr, err.ptr);
	before = slurp(store, &blen);
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, "--report", report, NULL);
	if (rc != 0 || !says(&out, "2 updated"))
		fail_msg("update: exit %d\n%s%s", rc, out.ptr, err.ptr);
	load_store(&t);
	/* the DNs stay */
	assert_value(&t, TU_EMS_A, PS_PROP_TAG(PS_PT_STRING8, 0x6603),
		     TU_ALICE_SRC);
	assert_value(&t, TU_PRI_A, PS_PROP_TAG(PS_PT_STRING8, 0x660B),
		     TU_ALICE_SRC);
	assert_value(&t, TU_DEL_A, PS_PROP_TAG(PS_PT_STRING8, 0x660B),
		     TU_BOB_SRC);
	/* R3: every server value of the account and of bob's provider */
	assert_value(&t, TU_EMS_A, PS_PROP_TAG(PS_PT_STRING8, 0x6602),
		     "EXCH09");
	assert_value(&t, TU_EMS_A, PS_PROP_TAG(PS_PT_UNICODE, 0x662A),
		     "EXCH09");
	assert_value(&t, TU_PRI_A, PS_PROP_TAG(PS_PT_STRING8, 0x660C),
		     "EXCH09");
	assert_value(&t, TU_PUB_A, PS_PROP_TAG(PS_PT_STRING8, 0x660C),
		     "EXCH09");
	assert_value(&t, TU_DEL_A, PS_PROP_TAG(PS_PT_STRING8, 0x660C),
		     "EXCH09");
	/* R4: the old server's DN and MAPI/HTTP URL are rediscovered */
	assert_false(tu_has(&t, "Outlook", TU_EMS_A,
			    PS_PROP_TAG(PS_PT_STRING8, 0x6612)));
	assert_false(tu_has(&t, "Outlook", TU_EMS_A,
			    PS_PROP_TAG(PS_PT_UNICODE, 0x6652)));
	/* the other account is not in the mapping */
	assert_value(&t, TU_EMS_S, PS_PROP_TAG(PS_PT_STRING8, 0x6602),
		     "EXCH02");
	ps_regtree_free(&t);
	/* The report names the DN the account keeps as its target. */
	rep = slurp(report, &rlen);
	if (!strstr(rep, "\"" TU_ALICE_SRC "\"," "\"" TU_ALICE_SRC "\"") &&
	    !strstr(rep, TU_ALICE_SRC "," TU_ALICE_SRC))
		fail_msg("report:\n%s", rep);
	free(rep);

	/* Every later logon: already there, nothing written. */
	after = slurp(store, &alen);
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	if (rc != 0 || !says(&out, "2 already-updated") ||
	    says(&out, " updated,") || says(&out, "1 updated"))
		fail_msg("second update: exit %d\n%s%s", rc, out.ptr,
			 err.ptr);
	{
		size_t n;
		char *again = slurp(store, &n);

		assert_int_equal(n, alen);
		assert_memory_equal(again, after, alen);
		free(again);
	}
	/* The same with the mapping compiled. */
	{
		char idx[160];

		snprintf(idx, sizeof(idx), "%s/m.idx", dir);
		rc = tu_run(&out, &err, "mapping", "compile", mapping, "-o",
			    idx, NULL);
		assert_int_equal(rc, 0);
		rc = tu_run(&out, &err, "update", "--store", store,
			    "--mapping", idx, NULL);
		if (rc != 0 || !says(&out, "2 already-updated"))
			fail_msg("compiled: exit %d\n%s%s", rc, out.ptr,
				 err.ptr);
	}
	free(after);
	/* rollback puts the profile back exactly */
	rc = tu_run(&out, &err, "rollback", "--store", store, NULL);
	if (rc != 0)
		fail_msg("rollback: exit %d\n%s%s", rc, out.ptr, err.ptr);
	after = slurp(store, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	ps_buf_free(&out);
	ps_buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_semicolon_files),
		cmocka_unit_test_setup_teardown(test_semicolon_update, setup,
						teardown),
		cmocka_unit_test(test_powershell_export),
		cmocka_unit_test(test_guid_server_disagree),
		cmocka_unit_test(test_excel_padding),
		cmocka_unit_test(test_header_names),
		cmocka_unit_test_setup_teardown(test_export_check_and_update,
						setup, teardown),
		cmocka_unit_test(test_cannot_repoint),
		cmocka_unit_test_setup_teardown(test_cannot_repoint_cli, setup,
						teardown),
		cmocka_unit_test(test_server_move_lines),
		cmocka_unit_test_setup_teardown(test_server_move_update, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
