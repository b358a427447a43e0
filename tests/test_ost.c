/*
 * R6 across organisations (docs/update-rules.md): the source mailbox GUID
 * found in profile values, the decision to rename a kept OST, and the
 * fleet report's sums of the OSTs downloaded again (docs/rehearsal.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_fleet.h"
#include "ps_plan.h"
#include "ps_report.h"
#include "ps_str.h"

#define G1 "1b788828-c8a2-4681-bf6f-b1df9935415b"
#define G2 "490c6357-7637-4191-9a67-5201a6d3e8c3"
#define FAB "/o=Fabrikam/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
#define EXO "/o=ExchangeLabs/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=1a2b-alice"
#define EXO2 "/o=EXCHANGELABS/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=3c4d-alice"

static int find(const char *text, char out[37])
{
	return ps_plan_find_guid(text, strlen(text), out);
}

static void test_find_guid(void **state)
{
	/* A store entry ID as the real Exchange Online profile has it:
	 * binary, then the server "<guid>@<domain>", NUL, the DN. */
	static const char eid[] = "\0\0\0\0\x38\xa1\xbb\x10\x05\xe5\x10\x1a"
		"EMSMDB.DLL\0\0\0\0" G1 "@nist.gov\0/o=ExchangeLabs/x";
	char g[37];

	(void)state;
	/* A home server of the real profile. */
	assert_int_equal(find(G1 "@nist.gov", g), 1);
	assert_string_equal(g, G1);
	/* A MAPI/HTTP URL's MailboxId; upper case comes out lower. */
	assert_int_equal(find("https://outlook.office365.com/mapi/emsmdb/"
			      "?MailboxId=490C6357-7637-4191-9A67-"
			      "5201A6D3E8C3@contoso.com", g), 1);
	assert_string_equal(g, G2);
	assert_int_equal(ps_plan_find_guid(eid, sizeof(eid) - 1, g), 1);
	assert_string_equal(g, G1);
	/* Not a mailbox GUID: a host name, a GUID without '@', a GUID
	 * glued to a longer hex run, a bad group, a cut one. */
	assert_int_equal(find("exch01.fabrikam.local", g), 0);
	assert_int_equal(find(G1, g), 0);
	assert_int_equal(find("ab" G1 "@nist.gov", g), 0);
	assert_int_equal(find("1b788828-c8a2-4681-bf6f-b1df9935415x@a.b", g),
			 0);
	assert_int_equal(find("1b788828c8a2-4681-bf6f-b1df9935415b0@a.b", g),
			 0);
	assert_int_equal(find("@", g), 0);
	assert_int_equal(ps_plan_find_guid("", 0, g), 0);
}

static void test_norm_guid(void **state)
{
	char g[37];

	(void)state;
	assert_int_equal(ps_plan_norm_guid("{1B788828-C8A2-4681-BF6F-"
					   "B1DF9935415B}", g), 0);
	assert_string_equal(g, G1);
	assert_int_equal(ps_plan_norm_guid(G2, g), 0);
	assert_string_equal(g, G2);
	assert_int_equal(ps_plan_norm_guid(NULL, g), -1);
	assert_int_equal(ps_plan_norm_guid("", g), -1);
	assert_int_equal(ps_plan_norm_guid("{" G1, g), -1);
	assert_int_equal(ps_plan_norm_guid("1234", g), -1);
}

static void test_decision(void **state)
{
	char why[512];

	(void)state;
	/* Another organisation: rename, saying which. */
	why[0] = '\0';
	assert_int_equal(ps_plan_ost_other_mailbox(FAB, EXO, NULL, NULL,
						   why, sizeof(why)), 1);
	assert_string_equal(why, "target in another organisation "
			    "(/o=Fabrikam vs /o=ExchangeLabs)");
	/* ... and nothing to compare the mapping's GUID with. */
	assert_int_equal(ps_plan_ost_other_mailbox(FAB, EXO, NULL, G1, why,
						   sizeof(why)), 1);
	assert_non_null(strstr(why, "(/o=Fabrikam vs /o=ExchangeLabs), and "
			       "the profile shows no mailbox GUID"));
	/* The mapping says the mailbox GUID stays: kept, whatever the
	 * organisations. */
	assert_int_equal(ps_plan_ost_other_mailbox(FAB, EXO, G1, G1, why,
						   sizeof(why)), 0);
	/* Exchange Online to Exchange Online: the same /o= (any case);
	 * only the GUID tells the tenants' mailboxes apart. */
	assert_int_equal(ps_plan_ost_other_mailbox(EXO, EXO2, NULL, NULL,
						   why, sizeof(why)), 0);
	assert_int_equal(ps_plan_ost_other_mailbox(EXO, EXO2, G1, NULL, why,
						   sizeof(why)), 0);
	assert_int_equal(ps_plan_ost_other_mailbox(EXO, EXO2, G1, G2, why,
						   sizeof(why)), 1);
	assert_string_equal(why, "target is another mailbox (mailbox GUID "
			    G1 " vs TargetMailboxGuid " G2 ")");
	/* A move to another server keeps the DN. */
	assert_int_equal(ps_plan_ost_other_mailbox(FAB, FAB, NULL, NULL, why,
						   sizeof(why)), 0);
	/* An organisation name that only starts the same is another. */
	assert_int_equal(ps_plan_ost_other_mailbox("/o=Fab/cn=x",
						   "/o=Fabrikam/cn=x", NULL,
						   NULL, why, sizeof(why)), 1);
	/* A DN without /o= tells nothing. */
	assert_int_equal(ps_plan_ost_other_mailbox("cn=x", EXO, NULL, NULL,
						   why, sizeof(why)), 0);
}

/* One user's row: status, source server, target address, OST. */
static void add_row(ps_fleet_item *it, const char *server, const char *smtp,
		    ps_status st, int ost, unsigned long long bytes)
{
	assert_int_equal(ps_report_add(&it->report, "Outlook", "a", "s", "t",
				       st, "d"), 0);
	assert_int_equal(ps_report_set_origin(&it->report, server, smtp), 0);
	assert_int_equal(ps_report_set_ost(&it->report, ost, bytes), 0);
}

static const ps_fleet_count *count(const ps_fleet_count *c, size_t n,
				   const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].key, key))
			return &c[i];
	fail_msg("no count for %s", key);
	return NULL;
}

static void test_fleet_sums(void **state)
{
	ps_fleet f;
	ps_fleet_summary s;
	const ps_fleet_count *c;
	ps_buf b = PS_BUF_INIT;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.v = calloc(3, sizeof(*f.v));
	assert_non_null(f.v);
	f.n = 3;
	f.v[0].input = ps_strdup("a.reg");
	f.v[1].input = ps_strdup("b.reg");
	f.v[2].input = ps_strdup("c.reg");
	/* Site EXCH01: 5 GiB + 1 known, one unknown; EXCH02: 1000. */
	add_row(&f.v[0], "EXCH01", "a@contoso.com", PS_ST_WOULD_UPDATE,
		PS_OST_DL_KNOWN, 5368709121ull);
	add_row(&f.v[0], "EXCH01", "a2@contoso.com", PS_ST_NOT_MIGRATED,
		PS_OST_DL_NONE, 0);
	add_row(&f.v[1], "EXCH01", "b@contoso.com", PS_ST_WOULD_UPDATE,
		PS_OST_DL_UNKNOWN, 77);
	add_row(&f.v[2], "EXCH02", "c@tailspin.com", PS_ST_WOULD_UPDATE,
		PS_OST_DL_KNOWN, 1000);
	assert_int_equal(ps_fleet_summarize(&f, &s), 0);
	assert_true(s.ost_bytes == 5368710121ull);
	assert_int_equal(s.ost_known, 2);
	assert_int_equal(s.ost_unknown, 1);
	c = count(s.servers, s.nservers, "EXCH01");
	assert_true(c->ost_bytes == 5368709121ull);
	assert_int_equal(c->ost_known, 1);
	assert_int_equal(c->ost_unknown, 1);
	assert_int_equal(c->n, 3);
	c = count(s.servers, s.nservers, "EXCH02");
	assert_true(c->ost_bytes == 1000);
	assert_int_equal(c->ost_unknown, 0);
	c = count(s.domains, s.ndomains, "contoso.com");
	assert_true(c->ost_bytes == 5368709121ull);
	assert_int_equal(c->ost_unknown, 1);
	c = count(s.domains, s.ndomains, "tailspin.com");
	assert_true(c->ost_bytes == 1000);

	/* Every form says it. */
	assert_int_equal(ps_fleet_csv(&f, &b), 0);
	assert_non_null(strstr(b.ptr, ",status,detail,source_server,"
			       "target_smtp,input,ost_download_bytes\r\n"));
	assert_non_null(strstr(b.ptr, ",would-update,d,EXCH01,a@contoso.com,"
			       "a.reg,5368709121\r\n"));
	assert_non_null(strstr(b.ptr, ",not-migrated,d,EXCH01,"
			       "a2@contoso.com,a.reg,0\r\n"));
	assert_non_null(strstr(b.ptr, ",would-update,d,EXCH01,b@contoso.com,"
			       "b.reg,unknown\r\n"));
	ps_buf_clear(&b);
	assert_int_equal(ps_fleet_json(&f, &s, &b), 0);
	assert_non_null(strstr(b.ptr, "\"ost_download\": {\"bytes\": "
			       "5368710121, \"accounts\": 3, "
			       "\"unknown\": 1}"));
	assert_non_null(strstr(b.ptr, "\"name\": \"EXCH01\", \"accounts\": 3, "
			       "\"migrating\": 2, \"problems\": 0, "
			       "\"ost_download_bytes\": 5368709121, "
			       "\"ost_download_unknown\": 1}"));
	assert_non_null(strstr(b.ptr, "\"ost_download_bytes\": null}"));
	ps_buf_clear(&b);
	assert_int_equal(ps_fleet_text(&f, &s, &b), 0);
	assert_non_null(strstr(b.ptr, "OSTs downloaded again: 3 accounts, "
			       "5.0 GiB and 1 of unknown size\n"));
	assert_non_null(strstr(b.ptr, "need attention, OST 5.0 GiB + "
			       "unknown\n"));
	ps_buf_clear(&b);
	assert_int_equal(ps_fleet_html(&f, &s, &b), 0);
	assert_non_null(strstr(b.ptr, "<td class=\"n\" data-bytes=\"1000\">"
			       "1000 bytes</td>"));
	/* Per account too, in the table of every account. */
	assert_non_null(strstr(b.ptr, "<td class=\"d\">d</td><td class=\"n\">"
			       "5.0 GiB</td><td>a.reg</td>"));
	assert_non_null(strstr(b.ptr, "<td class=\"d\">d</td><td class=\"n\">"
			       "unknown</td><td>b.reg</td>"));
	ps_buf_free(&b);
	ps_fleet_summary_free(&s);
	ps_fleet_free(&f);
}

static void test_bytes(void **state)
{
	char t[32];

	(void)state;
	ps_fleet_bytes(0, t, sizeof(t));
	assert_string_equal(t, "0 bytes");
	ps_fleet_bytes(1023, t, sizeof(t));
	assert_string_equal(t, "1023 bytes");
	ps_fleet_bytes(1536, t, sizeof(t));
	assert_string_equal(t, "1.5 KiB");
	ps_fleet_bytes(3ull << 40, t, sizeof(t));
	assert_string_equal(t, "3.0 TiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_guid),
		cmocka_unit_test(test_norm_guid),
		cmocka_unit_test(test_decision),
		cmocka_unit_test(test_fleet_sums),
		cmocka_unit_test(test_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
