/* The mapping file reader and its index: core/mapping.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "testutil.h"
#include "ps_mapping.h"

#define SRC "/o=Contoso/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn="
#define EXO "/o=ExchangeLabs/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn="
#define OLDORG "/o=Contoso, Inc/ou=First Administrative Group/" \
	"cn=Recipients/cn="

static ps_mapping *parse_file(const char *rel)
{
	ps_mapping *m = NULL;
	size_t len = 0;
	char *data = tu_read_data(rel, &len);
	int rc = ps_mapping_parse(&m, rel, data, len, NULL);

	if (rc)
		fail_msg("%s: rc %d: %s", rel, rc, ps_error_last());
	free(data);
	assert_non_null(m);
	return m;
}

static ps_mapping *parse_ok(const char *s)
{
	ps_mapping *m = NULL;
	int rc = ps_mapping_parse(&m, "m.txt", s, strlen(s), NULL);

	if (rc)
		fail_msg("rc %d: %s", rc, ps_error_last());
	assert_non_null(m);
	return m;
}

/* s must fail with PS_EFORMAT and exactly msg; *out stays untouched. */
static void expect_bad(const char *s, const char *msg)
{
	static int sentinel;
	ps_mapping *m = (ps_mapping *)(void *)&sentinel;
	ps_strlist errors = PS_STRLIST_INIT;

	assert_int_equal(ps_mapping_parse(&m, "m.txt", s, strlen(s),
					  &errors), PS_EFORMAT);
	assert_string_equal(ps_error_last(), msg);
	assert_ptr_equal(m, (ps_mapping *)(void *)&sentinel);
	assert_int_equal(errors.n, 1);
	assert_string_equal(errors.v[0], msg);
	ps_strlist_free(&errors);
}

static void assert_opt(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void assert_entry(const ps_map_entry *e, unsigned line,
			 const char *src, const char *tgt, const char *smtp,
			 const char *server)
{
	assert_non_null(e);
	assert_int_equal(e->line, line);
	assert_string_equal(e->source_dn, src);
	assert_opt(e->target_dn, tgt);
	assert_opt(e->target_smtp, smtp);
	assert_opt(e->target_server, server);
}

static void test_positional_pipe(void **state)
{
	ps_mapping *m = parse_file("mapping/positional.txt");
	const ps_map_entry *e;

	(void)state;
	assert_int_equal(ps_mapping_count(m), 4);
	assert_entry(ps_mapping_entry(m, 0), 3, SRC "alice",
		     EXO "a1b2c3-alice", "alice@fabrikam.com",
		     "outlook.office365.com");
	/* Unquoted fields are trimmed. */
	assert_entry(ps_mapping_entry(m, 1), 4, SRC "bob", EXO "d4e5f6-bob",
		     NULL, NULL);
	/* Empty columns are NULL. */
	assert_entry(ps_mapping_entry(m, 2), 6, SRC "carol", NULL,
		     "carol@fabrikam.com", "mbx02.contoso.com");
	assert_entry(ps_mapping_entry(m, 3), 7, SRC "dave", EXO "d4e5f6-bob",
		     "dave@fabrikam.com", NULL);
	e = ps_mapping_entry(m, 0);
	assert_null(e->source_smtp);
	assert_null(e->target_mailbox_guid);
	assert_null(e->target_autodiscover_url);
	assert_null(e->target_oab);
	assert_null(ps_mapping_entry(m, 4));
	/* Two sources share a target: find_target gives the first. */
	e = ps_mapping_find_target(m, EXO "d4e5f6-bob");
	assert_ptr_equal(e, ps_mapping_entry(m, 1));
	ps_mapping_free(m);
}

/* PowerShell Export-Csv: #TYPE line, every field quoted, CRLF. */
static void test_export_csv(void **state)
{
	ps_mapping *m = parse_file("mapping/export.csv");
	const ps_map_entry *e;

	(void)state;
	assert_int_equal(ps_mapping_count(m), 2);
	e = ps_mapping_entry(m, 0);
	assert_entry(e, 3, OLDORG "alice", EXO "alice", "alice@fabrikam.com",
		     NULL);
	assert_string_equal(e->source_smtp, "alice@contoso.com");
	assert_string_equal(e->target_mailbox_guid,
			    "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}");
	assert_string_equal(e->target_autodiscover_url,
			    "https://autodiscover.fabrikam.com/autodiscover/"
			    "autodiscover.xml");
	assert_string_equal(e->target_oab, "\\Global Address List");
	e = ps_mapping_entry(m, 1);
	assert_entry(e, 4, OLDORG "bob \"the builder\"", EXO "bob",
		     "bob@fabrikam.com", NULL);
	assert_null(e->source_smtp);
	assert_null(e->target_mailbox_guid);
	assert_null(e->target_autodiscover_url);
	assert_null(e->target_oab);
	assert_ptr_equal(ps_mapping_find_source(m, OLDORG "ALICE"),
			 ps_mapping_entry(m, 0));
	ps_mapping_free(m);
}

static void test_tab_header_reordered(void **state)
{
	ps_mapping *m = parse_file("mapping/tabs.tsv");
	const ps_map_entry *a, *b;

	(void)state;
	assert_int_equal(ps_mapping_count(m), 2);
	a = ps_mapping_entry(m, 0);
	b = ps_mapping_entry(m, 1);
	assert_entry(a, 2, SRC "alice", EXO "alice", "alice@fabrikam.com",
		     "mbx01.fabrikam.com");
	/* The last line has no newline. */
	assert_entry(b, 3, SRC "bob", EXO "bob", "bob@fabrikam.com",
		     "mbx01.fabrikam.com");
	/* A value repeated from the line before is stored once. */
	assert_ptr_equal(a->target_server, b->target_server);
	ps_mapping_free(m);
}

static void test_utf8_bom(void **state)
{
	ps_mapping *m = parse_file("mapping/bom-utf8.txt");
	const ps_map_entry *e;

	(void)state;
	assert_int_equal(ps_mapping_count(m), 1);
	e = ps_mapping_entry(m, 0);
	assert_entry(e, 2, SRC "zoe", EXO "zoe", NULL, NULL);
	assert_string_equal(e->target_oab, "\\Adressbuch Z\xC3\xBCrich");
	ps_mapping_free(m);
}

static void test_utf16le(void **state)
{
	ps_mapping *m = parse_file("mapping/utf16.csv");

	(void)state;
	assert_int_equal(ps_mapping_count(m), 2);
	assert_entry(ps_mapping_entry(m, 0), 3, SRC "j\xC3\xBCrgen",
		     EXO "juergen", "juergen@fabrikam.com", NULL);
	assert_entry(ps_mapping_entry(m, 1), 4, SRC "\xC3\xA9mile",
		     EXO "emile", "emile@fabrikam.com", NULL);
	assert_ptr_equal(ps_mapping_find_source(m, SRC "\xC3\xA9mile"),
			 ps_mapping_entry(m, 1));
	ps_mapping_free(m);
}

static void test_delimiters(void **state)
{
	ps_mapping *m;

	(void)state;
	/* '|' wins over the comma inside the DN. */
	m = parse_ok("/o=Contoso, Inc/cn=a|/o=Fabrikam, Ltd/cn=a|a@f.com\n");
	assert_entry(ps_mapping_entry(m, 0), 1, "/o=Contoso, Inc/cn=a",
		     "/o=Fabrikam, Ltd/cn=a", "a@f.com", NULL);
	ps_mapping_free(m);
	/* Tab wins over commas; blanks around tab fields are spaces only. */
	m = parse_ok("/o=Contoso, Inc/cn=a \t /o=F/cn=a\t\tsrv01\n");
	assert_entry(ps_mapping_entry(m, 0), 1, "/o=Contoso, Inc/cn=a",
		     "/o=F/cn=a", NULL, "srv01");
	ps_mapping_free(m);
	/* Comma, with a quoted DN holding a comma. */
	m = parse_ok("\"/o=Contoso, Inc/cn=a\", /o=F/cn=a ,a@f.com\n"
		     "/o=C/cn=b,/o=F/cn=b\n");
	assert_int_equal(ps_mapping_count(m), 2);
	assert_entry(ps_mapping_entry(m, 0), 1, "/o=Contoso, Inc/cn=a",
		     "/o=F/cn=a", "a@f.com", NULL);
	assert_entry(ps_mapping_entry(m, 1), 2, "/o=C/cn=b", "/o=F/cn=b",
		     NULL, NULL);
	ps_mapping_free(m);
	/* The first line decides: a later comma is part of the DN. */
	m = parse_ok("/o=C/cn=a|/o=F/cn=a\n/o=C/cn=b,c|/o=F/cn=b\n");
	assert_entry(ps_mapping_entry(m, 1), 2, "/o=C/cn=b,c", "/o=F/cn=b",
		     NULL, NULL);
	ps_mapping_free(m);
	/* A single column is a list of sources without targets: it could
	 * repoint nothing. */
	expect_bad("/o=C/cn=a\n", "m.txt:1: no TargetLegacyDN and no "
		   "TargetServer: nothing to repoint the mailbox to");
}

static void test_header_case_and_quotes(void **state)
{
	ps_mapping *m;

	(void)state;
	m = parse_ok("# exported\n"
		     "sourcelegacydn | \"TARGETLEGACYDN\" | targetmailboxguid"
		     " | targetautodiscoverurl\r\n"
		     "/o=C/cn=a|/o=F/cn=a|0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"
		     "|http://autodiscover.f.com/autodiscover/"
		     "autodiscover.xml\r\n");
	assert_int_equal(ps_mapping_count(m), 1);
	assert_string_equal(ps_mapping_entry(m, 0)->target_mailbox_guid,
			    "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0");
	assert_string_equal(ps_mapping_entry(m, 0)->target_autodiscover_url,
			    "http://autodiscover.f.com/autodiscover/"
			    "autodiscover.xml");
	assert_int_equal(ps_mapping_entry(m, 0)->line, 3);
	ps_mapping_free(m);
}

static void test_lookup_case_insensitive(void **state)
{
	ps_mapping *m = parse_file("mapping/positional.txt");
	const ps_map_entry *alice = ps_mapping_entry(m, 0);

	(void)state;
	assert_ptr_equal(ps_mapping_find_source(m, SRC "alice"), alice);
	assert_ptr_equal(ps_mapping_find_source(m,
		"/O=CONTOSO/OU=EXCHANGE ADMINISTRATIVE GROUP "
		"(FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=ALICE"), alice);
	assert_ptr_equal(ps_mapping_find_target(m,
		"/o=exchangelabs/ou=exchange administrative group "
		"(fydibohf23spdlt)/cn=recipients/cn=A1B2C3-ALICE"), alice);
	/* A source is not a target, and the other way round. */
	assert_null(ps_mapping_find_target(m, SRC "alice"));
	assert_null(ps_mapping_find_source(m, EXO "a1b2c3-alice"));
	/* Prefixes and near misses do not match. */
	assert_null(ps_mapping_find_source(m, SRC "alic"));
	assert_null(ps_mapping_find_source(m, SRC "alice "));
	assert_null(ps_mapping_find_source(m, ""));
	assert_null(ps_mapping_find_source(m, NULL));
	/* carol has no target DN: no entry under NULL or "". */
	assert_null(ps_mapping_find_target(m, ""));
	assert_null(ps_mapping_find_source(NULL, SRC "alice"));
	assert_null(ps_mapping_find_target(NULL, SRC "alice"));
	assert_int_equal(ps_mapping_count(NULL), 0);
	assert_null(ps_mapping_entry(NULL, 0));
	ps_mapping_free(m);
	ps_mapping_free(NULL);
}

static void test_empty_files(void **state)
{
	static const char *const inputs[] = {
		"", "\n\n", "# only a comment\r\n",
		"SourceLegacyDN|TargetLegacyDN\n",
		"\xEF\xBB\xBF", "\xFF\xFE"
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		ps_mapping *m = NULL;

		assert_int_equal(ps_mapping_parse(&m, "m.txt", inputs[i],
						  strlen(inputs[i]), NULL), 0);
		assert_non_null(m);
		assert_int_equal(ps_mapping_count(m), 0);
		assert_null(ps_mapping_find_source(m, "/o=a"));
		assert_null(ps_mapping_find_target(m, "/o=a"));
		ps_mapping_free(m);
	}
}

static void test_header_errors(void **state)
{
	(void)state;
	expect_bad("# c\nSourceLegacyDN,TargetSMTP,targetsmtp\n",
		   "m.txt:2: column TargetSMTP appears twice in the header");
	expect_bad("TargetLegacyDN|TargetSMTP\n/o=B/cn=a|a@b.com\n",
		   "m.txt:1: the header has no SourceLegacyDN column (nor "
		   "LegacyExchangeDN, SourceLegacyExchangeDN or "
		   "OldLegacyExchangeDN)");
	/* A bad header stops the reading: the bad line 2 is not reported. */
	expect_bad("SourceLegacyDN||TargetLegacyDN\nx|y|z\n",
		   "m.txt:1: empty column name in the header (column 2)");
	/* Nine columns: one of them must be a repeat. */
	expect_bad("SourceLegacyDN,TargetLegacyDN,TargetSMTP,SourceSMTP,"
		   "TargetServer,TargetMailboxGuid,TargetAutodiscoverURL,"
		   "TargetOAB,TargetOAB\n",
		   "m.txt:1: column TargetOAB appears twice in the header");
}

static void test_field_count(void **state)
{
	(void)state;
	expect_bad("/o=A/cn=a|/o=B/cn=a|a@b.com|srv|extra\n",
		   "m.txt:1: 5 fields, but a file without a header has at "
		   "most 4 (SourceLegacyDN|TargetLegacyDN|TargetSMTP|"
		   "TargetServer)");
	expect_bad("SourceLegacyDN,TargetLegacyDN\n"
		   "/o=A/cn=a,/o=B/cn=a\n"
		   "/o=A/cn=b,/o=B/cn=b,x\n",
		   "m.txt:3: 3 fields, but the header has 2 columns");
	expect_bad("/o=A/cn=a|/o=B/cn=a\n"
		   "/o=A/cn=b|/o=B/cn=b|a@b.com|s|t|u|v|w|x|y|z\n",
		   "m.txt:2: 11 fields, but a file without a header has at "
		   "most 4 (SourceLegacyDN|TargetLegacyDN|TargetSMTP|"
		   "TargetServer)");
}

static void test_dn_errors(void **state)
{
	(void)state;
	expect_bad("\n|/o=B/cn=a\n", "m.txt:2: SourceLegacyDN is empty");
	expect_bad("  \"\" |/o=B/cn=a\n", "m.txt:1: SourceLegacyDN is empty");
	expect_bad("cn=a|/o=B/cn=a\n",
		   "m.txt:1: SourceLegacyDN 'cn=a' does not start with /o=");
	expect_bad("/o=A/cn=a|o=B/cn=a\n",
		   "m.txt:1: TargetLegacyDN 'o=B/cn=a' does not start with "
		   "/o=");
	expect_bad("/o=A/cn=a\t|/o=B/cn=a\x01\n",
		   "m.txt:1: TargetLegacyDN contains a control character "
		   "(0x01)");
	expect_bad("\"/o=A/cn=a\tb\"|/o=B/cn=a\n",
		   "m.txt:1: SourceLegacyDN contains a control character "
		   "(0x09)");
	expect_bad("/o=A/cn=same|/O=a/CN=SAME\n",
		   "m.txt:1: source and target DN are the same and there is "
		   "no TargetServer: nothing to change");
}

static void test_smtp_errors(void **state)
{
	static const char *const bad[] = {
		"alice", "alice@@f.com", "@f.com", "alice@", "al ice@f.com",
		"alice@f", "alice@.f.com", "alice@f.com.", "a@b@f.com"
	};
	char line[256], msg[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "/o=A/cn=a|/o=B/cn=a|\"%s\"\n",
			 bad[i]);
		snprintf(msg, sizeof(msg), "m.txt:1: TargetSMTP '%s' is not "
			 "an SMTP address (local@domain.tld)", bad[i]);
		expect_bad(line, msg);
	}
	expect_bad("SourceLegacyDN|SourceSMTP|TargetLegacyDN\n"
		   "/o=A/cn=a|a.contoso.com\n",
		   "m.txt:2: SourceSMTP 'a.contoso.com' is not an SMTP "
		   "address (local@domain.tld)");
}

static void test_guid_and_url(void **state)
{
	static const char *const bad_guid[] = {
		"0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		"{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",
		"0f1e2d3c-4b5a-6978-87961a5b4c3d2e1f0",
		"(0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0)"
	};
	static const char *const bad_url[] = {
		"autodiscover.f.com", "ftp://f.com/", "https://", "https:/f"
	};
	char line[256], msg[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_guid) / sizeof(bad_guid[0]); i++) {
		snprintf(line, sizeof(line), "SourceLegacyDN|TargetMailboxGuid"
			 "|TargetServer\n/o=A/cn=a|%s\n", bad_guid[i]);
		snprintf(msg, sizeof(msg), "m.txt:2: TargetMailboxGuid '%s' "
			 "is not a GUID (8-4-4-4-12 hex digits)",
			 bad_guid[i]);
		expect_bad(line, msg);
	}
	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
		snprintf(line, sizeof(line), "SourceLegacyDN|"
			 "TargetAutodiscoverURL|TargetServer\n/o=A/cn=a|%s\n",
			 bad_url[i]);
		snprintf(msg, sizeof(msg), "m.txt:2: TargetAutodiscoverURL "
			 "'%s' does not start with https:// (or http://)",
			 bad_url[i]);
		expect_bad(line, msg);
	}
}

static void test_quote_and_encoding_errors(void **state)
{
	static const char nul[] = "/o=A/cn=a|/o=B/cn=a\n/o=A/cn=\0b|x\n";
	ps_mapping *m = NULL;

	(void)state;
	expect_bad("\"/o=A/cn=a|/o=B/cn=a\n",
		   "m.txt:1: unterminated quoted field");
	expect_bad("/o=A/cn=a|\"/o=B/cn=a\"x\n",
		   "m.txt:1: text after the closing quote of a quoted field");
	expect_bad("# caf\xE9: a comment is not checked\n"
		   "/o=A/cn=a|/o=B/cn=\xE9t\xE9\n",
		   "m.txt:2: not valid UTF-8: save the file as UTF-8 or "
		   "Unicode (UTF-16LE)");
	assert_int_equal(ps_mapping_parse(&m, "m.txt", nul, sizeof(nul) - 1,
					  NULL), PS_EFORMAT);
	assert_null(m);
	assert_string_equal(ps_error_last(), "m.txt:2: NUL byte in the line "
			    "(UTF-16 text without a BOM?)");
	/* UTF-16 big-endian and broken UTF-16LE are refused whole. */
	assert_int_equal(ps_mapping_parse(&m, "m.txt", "\xFE\xFF\0/", 4,
					  NULL), PS_EFORMAT);
	assert_string_equal(ps_error_last(), "m.txt: UTF-16 big-endian text "
			    "is not supported: save the file as UTF-8 or "
			    "UTF-16LE (Unicode)");
	assert_int_equal(ps_mapping_parse(&m, "m.txt", "\xFF\xFE/", 3,
					  NULL), PS_EFORMAT);
	assert_null(m);
}

static void test_duplicates(void **state)
{
	ps_mapping *m;

	(void)state;
	/* Identical repeats (DNs in any case) are kept once. */
	m = parse_ok("/o=A/cn=a|/o=B/cn=a|a@b.com\n"
		     "/o=A/cn=b|/o=B/cn=b\n"
		     "/O=A/CN=A | /o=b/cn=A | A@B.COM\n"
		     "/o=A/cn=a|/o=B/cn=a|a@b.com\n");
	assert_int_equal(ps_mapping_count(m), 2);
	assert_int_equal(ps_mapping_find_source(m, "/o=a/cn=a")->line, 1);
	ps_mapping_free(m);
	expect_bad("/o=A/cn=a|/o=B/cn=a\n# x\n/O=A/CN=A|/o=B/cn=other\n",
		   "m.txt:3: source DN '/O=A/CN=A' is mapped again, "
		   "differently (first at line 1)");
	expect_bad("/o=A/cn=a|/o=B/cn=a|a@b.com\n/o=A/cn=a|/o=B/cn=a|"
		   "z@b.com\n",
		   "m.txt:2: source DN '/o=A/cn=a' is mapped again, "
		   "differently (first at line 1)");
	expect_bad("/o=A/cn=a|/o=B/cn=a|a@b.com\n/o=A/cn=a|/o=B/cn=a\n",
		   "m.txt:2: source DN '/o=A/cn=a' is mapped again, "
		   "differently (first at line 1)");
	expect_bad("/o=A/cn=a|/o=B/cn=a||s1\n/o=A/cn=a|/o=B/cn=a||s2\n",
		   "m.txt:2: source DN '/o=A/cn=a' is mapped again, "
		   "differently (first at line 1)");
}

/* Every bad line is collected; the first is ps_error_last(). */
static void test_collect_errors(void **state)
{
	static const char *const want[] = {
		"bad.txt:3: SourceLegacyDN is empty",
		"bad.txt:4: SourceLegacyDN 'cn=nobody' does not start with "
		"/o=",
		"bad.txt:5: TargetLegacyDN '/ou=x/cn=t1' does not start with "
		"/o=",
		"bad.txt:6: TargetSMTP 's1-at-fabrikam.com' is not an SMTP "
		"address (local@domain.tld)",
		"bad.txt:7: TargetSMTP 's2@fabrikam' is not an SMTP address "
		"(local@domain.tld)",
		"bad.txt:8: source and target DN are the same and there is "
		"no TargetServer: nothing to change",
		"bad.txt:9: source DN '" SRC "ok1' is mapped again, "
		"differently (first at line 2)",
		"bad.txt:11: 5 fields, but a file without a header has at "
		"most 4 (SourceLegacyDN|TargetLegacyDN|TargetSMTP|"
		"TargetServer)",
	};
	static int sentinel;
	ps_mapping *m = (ps_mapping *)(void *)&sentinel;
	ps_strlist errors = PS_STRLIST_INIT;
	size_t len = 0, i;
	char *data = tu_read_data("mapping/bad.txt", &len);

	(void)state;
	assert_int_equal(ps_strlist_add(&errors, "earlier"), 0);
	assert_int_equal(ps_mapping_parse(&m, "bad.txt", data, len, &errors),
			 PS_EFORMAT);
	assert_ptr_equal(m, (ps_mapping *)(void *)&sentinel);
	assert_string_equal(ps_error_last(), want[0]);
	assert_int_equal(errors.n, 1 + sizeof(want) / sizeof(want[0]));
	assert_string_equal(errors.v[0], "earlier");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(errors.v[i + 1], want[i]);
	ps_strlist_free(&errors);
	/* Without a list: the same first message. */
	assert_int_equal(ps_mapping_parse(&m, "bad.txt", data, len, NULL),
			 PS_EFORMAT);
	assert_ptr_equal(m, (ps_mapping *)(void *)&sentinel);
	assert_string_equal(ps_error_last(), want[0]);
	free(data);
}

static void test_error_cap(void **state)
{
	ps_buf b = PS_BUF_INIT;
	ps_strlist errors = PS_STRLIST_INIT;
	ps_mapping *m = NULL;
	unsigned i;

	(void)state;
	for (i = 0; i < 150; i++)
		assert_int_equal(ps_buf_printf(&b, "cn=%u|/o=B/cn=%u\n", i, i),
				 0);
	assert_int_equal(ps_mapping_parse(&m, "m.txt", b.ptr, b.len, &errors),
			 PS_EFORMAT);
	assert_null(m);
	assert_int_equal(errors.n, 100);
	assert_string_equal(ps_error_last(), "m.txt:1: SourceLegacyDN 'cn=0' "
			    "does not start with /o=");
	assert_string_equal(errors.v[99], "m.txt:100: SourceLegacyDN "
			    "'cn=99' does not start with /o=");
	ps_strlist_free(&errors);
	ps_buf_free(&b);
}

static void test_long_line(void **state)
{
	ps_buf b = PS_BUF_INIT;
	ps_strlist errors = PS_STRLIST_INIT;
	ps_mapping *m = NULL;
	size_t i;

	(void)state;
	assert_int_equal(ps_buf_puts(&b, "/o=A/cn=a|/o=B/cn=a\r\n/o=A/cn="),
			 0);
	for (i = strlen("/o=A/cn="); i < 8188; i++)
		assert_int_equal(ps_buf_putc(&b, 'x'), 0);
	assert_int_equal(ps_buf_puts(&b, "|||s"), 0);
	/* 8192 bytes: accepted. */
	assert_int_equal(ps_mapping_parse(&m, "m.txt", b.ptr, b.len, NULL),
			 0);
	assert_int_equal(ps_mapping_entry(m, 1)->line, 2);
	assert_int_equal(strlen(ps_mapping_entry(m, 1)->source_dn), 8188);
	ps_mapping_free(m);
	m = NULL;
	/* 8193: PS_ELIMIT, even when collecting. */
	assert_int_equal(ps_buf_puts(&b, "x\r\n"), 0);
	assert_int_equal(ps_mapping_parse(&m, "m.txt", b.ptr, b.len, &errors),
			 PS_ELIMIT);
	assert_null(m);
	assert_string_equal(ps_error_last(),
			    "m.txt:2: line longer than 8192 bytes");
	assert_int_equal(errors.n, 1);
	assert_string_equal(errors.v[0], ps_error_last());
	ps_strlist_free(&errors);
	ps_buf_free(&b);
}

static void test_too_many_lines(void **state)
{
	size_t n = 10000001;
	char *data = malloc(n);
	ps_mapping *m = NULL;

	(void)state;
	assert_non_null(data);
	memset(data, '\n', n);
	/* Exactly the limit: fine (and empty). */
	assert_int_equal(ps_mapping_parse(&m, "m.txt", data, n - 1, NULL), 0);
	assert_int_equal(ps_mapping_count(m), 0);
	ps_mapping_free(m);
	m = NULL;
	assert_int_equal(ps_mapping_parse(&m, "m.txt", data, n, NULL),
			 PS_ELIMIT);
	assert_null(m);
	assert_string_equal(ps_error_last(),
			    "m.txt:10000001: more than 10000000 lines");
	free(data);
}

/* 200,000 lines parsed and every source and target looked up. */
static void test_large_mapping(void **state)
{
	enum { N = 200000 };
	ps_buf b = PS_BUF_INIT;
	ps_mapping *m = NULL;
	char dn[256];
	unsigned i;

	(void)state;
	assert_int_equal(ps_buf_puts(&b, "SourceLegacyDN|TargetLegacyDN|"
				     "TargetSMTP|TargetServer\n"), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(ps_buf_printf(&b, SRC "user%06u|" EXO
					       "%08x-user%06u|"
					       "user%06u@fabrikam.com|"
					       "outlook.office365.com\n",
					       i, i * 2654435761u, i, i), 0);
	assert_int_equal(ps_mapping_parse(&m, "big.txt", b.ptr, b.len, NULL),
			 0);
	ps_buf_free(&b);
	assert_int_equal(ps_mapping_count(m), N);
	for (i = 0; i < N; i++) {
		const ps_map_entry *e;

		snprintf(dn, sizeof(dn), i % 2 ? SRC "user%06u" :
			 "/O=CONTOSO/OU=EXCHANGE ADMINISTRATIVE GROUP "
			 "(FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=USER%06u", i);
		e = ps_mapping_find_source(m, dn);
		assert_non_null(e);
		assert_ptr_equal(e, ps_mapping_entry(m, i));
		assert_int_equal(e->line, i + 2);
		snprintf(dn, sizeof(dn), "user%06u@fabrikam.com", i);
		assert_string_equal(e->target_smtp, dn);
		assert_ptr_equal(ps_mapping_find_target(m, e->target_dn), e);
	}
	snprintf(dn, sizeof(dn), SRC "user%06u", (unsigned)N);
	assert_null(ps_mapping_find_source(m, dn));
	ps_mapping_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positional_pipe),
		cmocka_unit_test(test_export_csv),
		cmocka_unit_test(test_tab_header_reordered),
		cmocka_unit_test(test_utf8_bom),
		cmocka_unit_test(test_utf16le),
		cmocka_unit_test(test_delimiters),
		cmocka_unit_test(test_header_case_and_quotes),
		cmocka_unit_test(test_lookup_case_insensitive),
		cmocka_unit_test(test_empty_files),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_field_count),
		cmocka_unit_test(test_dn_errors),
		cmocka_unit_test(test_smtp_errors),
		cmocka_unit_test(test_guid_and_url),
		cmocka_unit_test(test_quote_and_encoding_errors),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_collect_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_too_many_lines),
		cmocka_unit_test(test_large_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
