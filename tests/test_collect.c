/*
 * `profswitch fleet` (core/collect.c): the readers of our own CSV and
 * JSON reports, good and hostile, the latest run per host and user, the
 * rehearsal comparison, and the command on a folder of reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_collect.h"
#include "ps_config.h"
#include "ps_error.h"
#include "testutil.h"

static int parse(const char *name, const char *text, ps_fleet *f)
{
	return ps_collect_parse(name, (const uint8_t *)text, strlen(text), f);
}

static const ps_row *row(const ps_fleet *f, size_t item, size_t i)
{
	assert_true(item < f->n);
	assert_true(i < f->v[item].report.n);
	return &f->v[item].report.v[i];
}

/* ---- CSV ---------------------------------------------------------------- */

static void test_csv_good(void **state)
{
	ps_fleet f;
	ps_report r = PS_REPORT_INIT;
	ps_buf b = PS_BUF_INIT;

	(void)state;
	memset(&f, 0, sizeof(f));
	/* What update --report writes, read back field for field. */
	r.host = ps_strdup("PC01");
	r.user = ps_strdup("alice");
	assert_int_equal(ps_report_add(&r, "Outlook", "alice@fabrikam.com",
				       "/o=F/cn=alice", "/o=X/cn=a", PS_ST_UPDATED,
				       "25 values set, 22 removed \"ok\""), 0);
	assert_int_equal(ps_report_set_origin(&r, "EXCH01",
					      "alice@contoso.com"), 0);
	assert_int_equal(ps_report_add(&r, "=cmd|x", "line\r\nbreak", NULL,
				       NULL, PS_ST_FAILED, "-1"), 0);
	assert_int_equal(ps_report_csv(&r, &b), 0);
	assert_memory_equal(b.ptr, PS_CSV_BOM "host,", 8);
	assert_int_equal(ps_collect_parse("a.csv", (uint8_t *)b.ptr, b.len,
					  &f), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].input, "a.csv");
	assert_string_equal(f.v[0].report.host, "PC01");
	assert_string_equal(f.v[0].report.user, "alice");
	assert_int_equal(f.v[0].report.n, 2);
	assert_string_equal(row(&f, 0, 0)->detail,
			    "25 values set, 22 removed \"ok\"");
	assert_int_equal(row(&f, 0, 0)->status, PS_ST_UPDATED);
	assert_string_equal(row(&f, 0, 0)->source_server, "EXCH01");
	assert_string_equal(row(&f, 0, 0)->target_smtp, "alice@contoso.com");
	/* The writer's formula guard is undone, quoted CRLF kept. */
	assert_string_equal(row(&f, 0, 1)->profile, "=cmd|x");
	assert_string_equal(row(&f, 0, 1)->account, "line\r\nbreak");
	assert_string_equal(row(&f, 0, 1)->detail, "-1");
	assert_int_equal(row(&f, 0, 1)->status, PS_ST_FAILED);
	assert_null(row(&f, 0, 1)->source_server);
	ps_fleet_free(&f);
	ps_report_free(&r);
	ps_buf_free(&b);
}

static void test_csv_semicolon_tab(void **state)
{
	ps_fleet f;
	ps_report r = PS_REPORT_INIT;
	ps_buf b = PS_BUF_INIT;

	(void)state;
	memset(&f, 0, sizeof(f));
	/* Excel in a German locale: ';', a comma inside a field unquoted
	 * by Excel, columns in another order, LF only, no BOM. */
	assert_int_equal(parse("de.csv", "user;status;account;profile;host\n"
			       "bob;deferred-running;bob@x, y;Outlook;PC2\n",
			       &f), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].report.user, "bob");
	assert_string_equal(f.v[0].report.host, "PC2");
	assert_string_equal(row(&f, 0, 0)->account, "bob@x, y");
	assert_int_equal(row(&f, 0, 0)->status, PS_ST_DEFERRED_RUNNING);
	ps_fleet_free(&f);
	/* Our own writer with ';' and with TAB. */
	r.host = ps_strdup("h");
	r.user = ps_strdup("u");
	assert_int_equal(ps_report_add(&r, "P;1", "a\tb", NULL, NULL,
				       PS_ST_NOT_MIGRATED, "x,y"), 0);
	assert_int_equal(ps_report_csv_d(&r, &b, ';'), 0);
	assert_non_null(strstr(b.ptr, "h;u;\"P;1\";\"a\tb\";;;not-migrated;"
				      "\"x,y\";;\r\n"));
	assert_int_equal(ps_collect_parse("s.csv", (uint8_t *)b.ptr, b.len,
					  &f), 0);
	assert_string_equal(row(&f, 0, 0)->profile, "P;1");
	assert_string_equal(row(&f, 0, 0)->account, "a\tb");
	ps_fleet_free(&f);
	ps_buf_clear(&b);
	assert_int_equal(ps_report_csv_d(&r, &b, '\t'), 0);
	assert_non_null(strstr(b.ptr, "h\tu\t\"P;1\"\t\"a\tb\"\t"));
	assert_int_equal(ps_collect_parse("t.csv", (uint8_t *)b.ptr, b.len,
					  &f), 0);
	assert_string_equal(row(&f, 0, 0)->detail, "x,y");
	assert_string_equal(row(&f, 0, 0)->account, "a\tb");
	ps_fleet_free(&f);
	ps_report_free(&r);
	ps_buf_free(&b);
}

static void expect_bad(const char *text, size_t len, int code,
		       const char *msg)
{
	ps_fleet f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(ps_collect_parse("bad.x", (const uint8_t *)text, len,
					  &f), code);
	assert_int_equal(f.n, 0);
	if (!strstr(ps_error_last(), msg))
		fail_msg("'%s' not in '%s'", msg, ps_error_last());
	assert_non_null(strstr(ps_error_last(), "bad.x: "));
	ps_fleet_free(&f);
}

#define BAD(lit, code, msg) expect_bad(lit, sizeof(lit) - 1, code, msg)

static void test_csv_bad(void **state)
{
	static const char trunc[] = PS_CSV_BOM "profile,account,status,detail\r\n"
		"P,a,updated,\"never closed\r\n";
	static const char garbage[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0";
	char *huge;
	size_t i;

	(void)state;
	expect_bad(trunc, sizeof(trunc) - 1, PS_EFORMAT, "line 2: a quoted "
		   "field is not closed");
	expect_bad(garbage, sizeof(garbage) - 1, PS_EFORMAT, "NUL byte");
	BAD("hello world\n", PS_EFORMAT, "line 1: no profile, "
		   "account and status columns");
	BAD("profile,account,status\nP,a,exploded\n", PS_EFORMAT,
		   "line 2: unknown status 'exploded'");
	BAD("profile,account,status\nP,a\n", PS_EFORMAT,
		   "line 2: 2 fields, the header has 3");
	BAD("profile,account,status\nP,\"a\"x,updated\n",
		   PS_EFORMAT, "line 2: text after a closing quote");
	BAD("", PS_EFORMAT, "empty file");
	BAD("\xff\xfep\0r\0", PS_EFORMAT, "UTF-16");
	/* More columns than any report has. */
	huge = malloc(4096);
	assert_non_null(huge);
	strcpy(huge, "profile,account,status");
	for (i = 0; i < 80; i++)
		strcat(huge, ",x");
	expect_bad(huge, strlen(huge), PS_ELIMIT, "more than 64 fields");
	free(huge);
	/* Larger than a report can be: refused before reading a byte. */
	expect_bad("profile", PS_COLLECT_MAX_BYTES + 1, PS_ELIMIT,
		   "larger than");
}

static void test_csv_trailing(void **state)
{
	ps_fleet f;

	(void)state;
	memset(&f, 0, sizeof(f));
	/* Excel's empty trailing columns and last blank lines; the fleet
	 * CSV's rows without a status (no report yet) are skipped. */
	assert_int_equal(parse("x.csv", "profile,account,status,,\r\n"
			       "P,a,cleaned,,\r\n,b,,,\r\n\r\n", &f), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].report.n, 1);
	assert_int_equal(row(&f, 0, 0)->status, PS_ST_CLEANED);
	/* Unknown for a CSV: no host, no user; header only: no rows. */
	assert_string_equal(f.v[0].report.user, "");
	ps_fleet_free(&f);
	assert_int_equal(parse("y.csv", PS_CSV_BOM "host,user,profile,account,"
			       "status\r\n", &f), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].report.n, 0);
	ps_fleet_free(&f);
}

/* The engine's "N Office sign-in identit(y|ies) of the source" in a
 * row's detail is the row's identity count, so fleet counts the users
 * who hold one (issue 17's column) from logon reports as rehearse does. */
static void test_csv_identities(void **state)
{
	ps_fleet f;
	ps_fleet_summary s;

	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&s, 0, sizeof(s));
	assert_int_equal(parse("i.csv", "host,user,profile,account,status,"
			       "detail\r\n"
			       "PC1,alice,O,a@x,updated,\"25 values set, 22 "
			       "removed; 12 Office sign-in identities of the "
			       "source removed\"\r\n"
			       "PC1,alice,O,b@x,updated,Office sign-in "
			       "identity\r\n"
			       "PC1,alice,O,c@x,updated,\"x; 1 Office sign-in "
			       "identity of the source kept "
			       "(ResetOfficeIdentity=0)\"\r\n", &f), 0);
	assert_int_equal(row(&f, 0, 0)->identities, 12);
	assert_int_equal(row(&f, 0, 1)->identities, 0);
	assert_int_equal(row(&f, 0, 2)->identities, 1);
	assert_int_equal(ps_fleet_summarize(&f, &s), 0);
	assert_int_equal(s.identity_users, 1);
	ps_fleet_summary_free(&s);
	ps_fleet_free(&f);
}

/* ---- JSON --------------------------------------------------------------- */

static void test_json_good(void **state)
{
	ps_fleet f;
	ps_report r = PS_REPORT_INIT;
	ps_buf b = PS_BUF_INIT;

	(void)state;
	memset(&f, 0, sizeof(f));
	r.host = ps_strdup("PC\xc3\xa9");
	r.user = ps_strdup("al\"ice");
	r.time = ps_strdup("2026-03-01T07:59:58Z");
	r.log_path = ps_strdup("C:\\logs\\a.log");
	assert_int_equal(ps_report_add(&r, "Out\nlook", "a@b", "dn", "tdn",
				       PS_ST_BLOCKED_POLICY, "\x01ctl"), 0);
	r.v[0].ad_failed = 1;
	assert_int_equal(ps_report_json(&r, &b), 0);
	assert_int_equal(ps_collect_parse("a.json", (uint8_t *)b.ptr, b.len,
					  &f), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].report.host, "PC\xc3\xa9");
	assert_string_equal(f.v[0].report.user, "al\"ice");
	assert_true(f.v[0].when == ps_collect_time("2026-03-01T07:59:58Z"));
	assert_true(f.v[0].when == 1772351998LL);
	assert_string_equal(row(&f, 0, 0)->profile, "Out\nlook");
	assert_string_equal(row(&f, 0, 0)->detail, "\x01ctl");
	assert_int_equal(row(&f, 0, 0)->status, PS_ST_BLOCKED_POLICY);
	assert_int_equal(row(&f, 0, 0)->ad_failed, 1);
	assert_int_equal(ps_report_exit_bits(&f.v[0].report), 4 | 8);
	ps_fleet_free(&f);
	/* Escapes, a surrogate pair, unknown keys anywhere, no rows. */
	assert_int_equal(parse("b.json", " {\"x\": [1, -2.5e3, {\"y\": null}],"
			       " \"user\": \"\\u00e9\\ud83d\\ude00\\/\", "
			       "\"rows\": [], \"extra\": true}\n", &f), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].report.user,
			    "\xc3\xa9\xf0\x9f\x98\x80/");
	assert_int_equal(f.v[0].report.n, 0);
	ps_fleet_free(&f);
	ps_report_free(&r);
	ps_buf_free(&b);
}

static void test_json_bad(void **state)
{
	char deep[256];
	size_t i;

	(void)state;
	BAD("{\"host\": \"a\", \"rows\": [{\"status\": \"upd",
		   PS_EFORMAT, "not closed");
	BAD("{\"rows\": [{\"status\": \"updated\"}]", PS_EFORMAT,
		   "ends too soon");
	BAD("{\"rows\": [{\"profile\": \"P\"}]}", PS_EFORMAT,
		   "a row without a status");
	BAD("{\"rows\": [{\"status\": \"nope\"}]}", PS_EFORMAT,
		   "unknown status 'nope'");
	BAD("{\"rows\": [{\"status\": 3}]}", PS_EFORMAT,
		   "not a string");
	BAD("{\"host\": \"a\"}", PS_EFORMAT, "no \"rows\"");
	BAD("{\"rows\": []} {}", PS_EFORMAT, "text after");
	BAD("{\"rows\": [], \"rows\": []}", PS_EFORMAT, "twice");
	BAD("{\"user\": \"a\\u0000b\", \"rows\": []}", PS_EFORMAT,
		   "\\u0000");
	BAD("{\"user\": \"\\ud800\", \"rows\": []}", PS_EFORMAT,
		   "unpaired surrogate");
	BAD("{\"user\": \"\xff\", \"rows\": []}", PS_EFORMAT,
		   "not UTF-8");
	BAD("{\"user\": \"a\nb\", \"rows\": []}", PS_EFORMAT,
		   "line 1: control character");
	BAD("{\"x\": tru, \"rows\": []}", PS_EFORMAT,
		   "unexpected character");
	BAD("{\"x\": 01, \"rows\": []}", PS_EFORMAT, "expected");
	/* Nesting past the limit: refused, no recursion without end. */
	strcpy(deep, "{\"x\": ");
	for (i = 0; i < 100; i++)
		strcat(deep, "[");
	expect_bad(deep, strlen(deep), PS_EFORMAT, "nested too deep");
}

/* ---- latest run, unusable, rehearsal ---------------------------------- */

static void add(ps_fleet *f, const char *input, const char *host,
		const char *user, long long when, ps_status st)
{
	char text[512];
	size_t n0 = f->n;

	snprintf(text, sizeof(text), "{\"host\": \"%s\", \"user\": \"%s\", "
		 "\"rows\": [{\"profile\": \"Outlook\", \"account\": \"%s@x\","
		 " \"status\": \"%s\"}]}", host, user, user,
		 ps_status_name(st));
	assert_int_equal(parse(input, text, f), 0);
	assert_int_equal(f->n, n0 + 1);
	f->v[n0].when = when;
}

static void test_latest(void **state)
{
	ps_fleet f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.collected = 1;
	add(&f, "s/1.json", "PC1", "alice", 100, PS_ST_DEFERRED_RUNNING);
	add(&f, "s/2.json", "pc1", "ALICE", 300, PS_ST_UPDATED);
	add(&f, "s/3.json", "PC1", "alice", 200, PS_ST_FAILED);
	add(&f, "s/4.json", "PC2", "alice", 50, PS_ST_UPDATED);
	add(&f, "s/5.json", "PC1", "bob", 10, PS_ST_UPDATED);
	add(&f, "s/6.json", "PC1", "bob", 10, PS_ST_ALREADY_UPDATED);
	assert_int_equal(ps_collect_unusable(&f, "s/x.csv", "unreadable "
					     "report", "s/x.csv: denied"), 0);
	assert_int_equal(ps_collect_latest(&f), 0);
	assert_int_equal(f.superseded, 3);
	assert_int_equal(f.n, 4);
	/* Order kept; the newest per host and user (case-insensitive); on
	 * a tie the later path. */
	assert_string_equal(f.v[0].input, "s/2.json");
	assert_string_equal(f.v[1].input, "s/4.json");
	assert_string_equal(f.v[2].input, "s/6.json");
	assert_string_equal(f.v[3].input, "s/x.csv");
	assert_int_equal(f.v[3].unusable, 1);
	assert_string_equal(f.v[3].report.user, "x");
	assert_string_equal(row(&f, 3, 0)->detail,
			    "unreadable report: denied");
	ps_fleet_free(&f);
}

static void test_diff(void **state)
{
	ps_fleet f, reh;

	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&reh, 0, sizeof(reh));
	/* The rehearsal's fleet CSV: rows of several users, each with its
	 * input. */
	assert_int_equal(parse("reh.csv", PS_CSV_BOM "host,user,profile,"
		"account,source_dn,target_dn,status,detail,source_server,"
		"target_smtp,input\r\n"
		"R,alice,Outlook,alice@x,,,would-update,,,,e/alice.reg\r\n"
		"R,bob,Outlook,bob@x,,,would-update,,,,e/bob.reg\r\n"
		"R,carol,Outlook,carol@x,,,blocked-policy,,,,e/carol.reg\r\n"
		"R,dave,Outlook,dave@x,,,would-update,,,,e/dave.reg\r\n"
		"R,erin,Outlook,erin@x,,,not-migrated,,,,e/erin.reg\r\n",
		&reh), 0);
	assert_int_equal(reh.n, 5);
	assert_string_equal(reh.v[1].input, "e/bob.reg");
	f.collected = 1;
	add(&f, "s/a.json", "PC1", "Alice", 1, PS_ST_ALREADY_UPDATED);
	add(&f, "s/b.json", "PC2", "bob", 1, PS_ST_FAILED);
	add(&f, "s/c.json", "PC3", "carol", 1, PS_ST_BLOCKED_POLICY);
	add(&f, "s/e.json", "PC5", "erin", 1, PS_ST_NOT_MIGRATED);
	add(&f, "s/f.json", "PC6", "frank", 1, PS_ST_UPDATED);
	assert_int_equal(ps_collect_diff(&f, &reh), 0);
	/* alice (already-updated meets would-update), carol, erin agree */
	assert_int_equal(f.diff_same, 3);
	assert_int_equal(f.ndiff, 3);
	assert_string_equal(f.diff[0].user, "bob");
	assert_int_equal(f.diff[0].predicted, PS_ST_WOULD_UPDATE);
	assert_int_equal(f.diff[0].actual, PS_ST_FAILED);
	assert_string_equal(f.diff[0].host, "PC2");
	assert_string_equal(f.diff[1].user, "dave");
	assert_int_equal(f.diff[1].actual, -1);
	assert_string_equal(f.diff[1].input, "");
	assert_string_equal(f.diff[2].user, "frank");
	assert_int_equal(f.diff[2].predicted, -1);
	assert_int_equal(row(&f, 1, 0)->predicted, PS_ST_WOULD_UPDATE + 1);
	assert_int_equal(row(&f, 4, 0)->predicted, 0);
	ps_fleet_free(&f);
	ps_fleet_free(&reh);
}

static void test_time(void **state)
{
	(void)state;
	assert_true(ps_collect_time("1970-01-01T00:00:00Z") == 0);
	assert_true(ps_collect_time("2000-03-01T00:00:01Z") == 951868801LL);
	assert_true(ps_collect_time("2026-13-01T00:00:00Z") == -1);
	assert_true(ps_collect_time("2026-01-01 00:00:00Z") == -1);
	assert_true(ps_collect_time("") == -1);
}

/* ---- the command --------------------------------------------------------- */

static char dir[64];

static void write_file(const char *rel, const char *text, long long mtime)
{
	char p[256];
	FILE *f;
	struct timeval tv[2];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	tv[0].tv_sec = tv[1].tv_sec = (time_t)mtime;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(p, tv), 0);
}

static char *read_back(const char *rel)
{
	char p[256];
	size_t len;
	uint8_t *data = NULL;
	FILE *f;
	long n;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = calloc((size_t)n + 1, 1);
	assert_non_null(data);
	len = fread(data, 1, (size_t)n, f);
	assert_int_equal(len, (size_t)n);
	fclose(f);
	return (char *)data;
}

static void test_cli(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	char share[128], rep[3][128], reh[128], *csv, *json, *html;

	(void)state;
	strcpy(dir, "/tmp/ps-collect-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(share, sizeof(share), "%s/share", dir);
	mkdir(share, 0700);
	snprintf(share, sizeof(share), "%s/share/PC1", dir);
	mkdir(share, 0700);
	snprintf(share, sizeof(share), "%s/share", dir);
	/* alice ran twice on PC1 (CSV: no time, the file's counts), bob
	 * once (JSON time wins over the file's), one file is junk. */
	write_file("share/PC1/alice-1.csv", PS_CSV_BOM "host,user,profile,"
		   "account,status,detail,source_server,target_smtp\r\n"
		   "PC1,alice,Outlook,alice@x,deferred-running,,EXCH01,"
		   "alice@contoso.com\r\n", 1000);
	write_file("share/PC1/alice-2.csv", "host;user;profile;account;"
		   "status;detail;source_server;target_smtp\r\n"
		   "PC1;alice;Outlook;alice@x;updated;;EXCH01;"
		   "alice@contoso.com\r\n", 2000);
	write_file("share/bob.json", "{\"host\": \"PC2\", \"user\": \"bob\", "
		   "\"time\": \"2026-01-01T00:00:00Z\", \"rows\": [{\"profile\":"
		   " \"Outlook\", \"account\": \"bob@x\", \"status\": "
		   "\"blocked-ambiguous\", \"source_server\": \"EXCH02\", "
		   "\"target_smtp\": \"bob@contoso.com\"}]}", 10);
	write_file("share/junk.json", "{\"rows\": [", 10);
	write_file("share/notes.txt", "not a report", 10);
	write_file("reh.json", "{\"host\": \"R\", \"rows\": [{\"input\": "
		   "\"e/a.reg\", \"user\": \"alice\", \"profile\": \"Outlook\", "
		   "\"account\": \"alice@x\", \"status\": \"would-update\"}, "
		   "{\"input\": \"e/c.reg\", \"user\": \"carol\", \"profile\": "
		   "\"Outlook\", \"account\": \"carol@x\", \"status\": "
		   "\"would-update\"}]}", 10);
	snprintf(rep[0], sizeof(rep[0]), "%s/fleet.csv", dir);
	snprintf(rep[1], sizeof(rep[1]), "%s/fleet.json", dir);
	snprintf(rep[2], sizeof(rep[2]), "%s/fleet.html", dir);
	snprintf(reh, sizeof(reh), "%s/reh.json", dir);
	/* failed (the junk file: bit 1) and blocked (bob: bit 4) */
	assert_int_equal(tu_run(&out, &err, "fleet", share, "--report", rep[0],
				"--report", rep[1], "--report", rep[2],
				"--rehearsal", reh, "--csv-delimiter", ";",
				NULL), 5);
	assert_non_null(strstr(out.ptr, "fleet: 3 users, 3 accounts, 4 "
				       "reports (1 unusable, 1 older runs "
				       "left out"));
	assert_non_null(strstr(out.ptr, "1 accounts as predicted, 2 differ"));
	csv = read_back("fleet.csv");
	assert_memory_equal(csv, PS_CSV_BOM "host;user;", 13);
	assert_non_null(strstr(csv, ";input;ost_download_bytes;predicted\r\n"));
	assert_non_null(strstr(csv, "PC1;alice;Outlook;alice@x;;;updated;;"
				    "EXCH01;alice@contoso.com;"));
	assert_null(strstr(csv, "deferred-running"));
	assert_non_null(strstr(csv, "/share/junk.json;0;\r\n"));
	assert_non_null(strstr(csv, ";carol;Outlook;carol@x;;;;no report "
				    "from this user yet;;;;;would-update\r\n"));
	assert_non_null(strstr(csv, ";junk;;;;;failed;not a profswitch "
				    "report: line 1: the report ends too "
				    "soon"));
	assert_null(strstr(csv, "notes"));
	json = read_back("fleet.json");
	assert_non_null(strstr(json, "\"superseded_reports\": 1"));
	assert_non_null(strstr(json, "\"same\": 1, \"different\": 2"));
	assert_non_null(strstr(json, "{\"name\": \"EXCH02\", \"accounts\": 1,"
				     " \"migrating\": 0, \"problems\": 1, "
				     "\"ost_download_bytes\": 0, "
				     "\"ost_download_unknown\": 0}"));
	html = read_back("fleet.html");
	assert_non_null(strstr(html, "<title>profswitch fleet</title>"));
	assert_non_null(strstr(html, "<span id=\"diff-count\">2</span>"));
	assert_non_null(strstr(html, "<td>bob</td><td>Outlook</td><td>bob@x"
				     "</td><td>(not rehearsed)</td><td>"
				     "blocked-ambiguous</td>"));
	free(csv);
	free(json);
	free(html);
	/* Its own earlier output in the folder is not read as a run; a
	 * fleet report named there is a row that says what it is. */
	snprintf(rep[0], sizeof(rep[0]), "%s/share/fleet.csv", dir);
	assert_int_equal(tu_run(&out, &err, "fleet", share, "--report", rep[0],
				"-q", NULL), 5);
	assert_int_equal(tu_run(&out, &err, "fleet", share, "--report", rep[1],
				"-q", NULL), 5);
	json = read_back("fleet.json");
	assert_non_null(strstr(json, "not a logon run's report"));
	assert_non_null(strstr(json, "\"superseded_reports\": 1"));
	free(json);
	/* Usage. */
	assert_int_equal(tu_run(&out, &err, "fleet", share, NULL), 64);
	assert_non_null(strstr(err.ptr, "--report"));
	assert_int_equal(tu_run(&out, &err, "fleet", "--report", rep[1],
				NULL), 64);
	assert_int_equal(tu_run(&out, &err, "fleet", share, "--report", rep[1],
				"--csv-delimiter", "|", NULL), 64);
	assert_non_null(strstr(err.ptr, "expected , ; or tab"));
	assert_int_equal(tu_run(&out, &err, "fleet", share, "--report", rep[1],
				"--rehearsal", share, NULL), 64);
	/* A rehearsal report that cannot be read: nothing written. */
	assert_int_equal(tu_run(&out, &err, "fleet", share, "--report", rep[1],
				"--rehearsal", rep[0], NULL), 5);
	snprintf(reh, sizeof(reh), "%s/share/junk.json", dir);
	assert_int_equal(tu_run(&out, &err, "fleet", share, "--report", rep[1],
				"--rehearsal", reh, NULL), 66);
	assert_non_null(strstr(err.ptr, "the rehearsal report cannot be "
				       "read"));
	/* A folder that is not there: a row, not the end. */
	snprintf(share, sizeof(share), "%s/nowhere", dir);
	assert_int_equal(tu_run(&out, &err, "fleet", share, "--report", rep[1],
				"-q", NULL), 1);
	ps_buf_free(&out);
	ps_buf_free(&err);
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_delimiter_setting(void **state)
{
	static const char *const ok[] = { ",", ";", "tab", "TAB" };
	static const int want[] = { PS_CSV_COMMA, PS_CSV_SEMICOLON, PS_CSV_TAB,
				    PS_CSV_TAB };
	ps_config cfg;
	char text[64];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(ps_config_init(&cfg), 0);
		snprintf(text, sizeof(text), "[Settings]\nCsvDelimiter = %s\n",
			 ok[i]);
		assert_int_equal(ps_config_parse(&cfg, "c.ini", text,
						 strlen(text)), 0);
		assert_int_equal(cfg.csv_delimiter, want[i]);
		ps_config_free(&cfg);
	}
	assert_int_equal(ps_config_init(&cfg), 0);
	assert_int_equal(cfg.csv_delimiter, PS_CSV_COMMA);
	assert_int_equal(ps_config_parse(&cfg, "c.ini", "[Settings]\n"
					 "CsvDelimiter = |\n", 28), PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "c.ini:2"));
	ps_config_free(&cfg);
}

/* update --report with the configured separator: what fleet reads. */
static void test_update_report(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT, b = PS_BUF_INIT;
	char cmd[512], store[128], map[128], cfg[128], rep[128], js[128];
	char *csv, *json;
	ps_fleet f;

	(void)state;
	memset(&f, 0, sizeof(f));
	strcpy(dir, "/tmp/ps-collect-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp %s/scenarios/basic-update/HKCU.reg "
		 "%s/alice.reg", PS_SOURCE_DIR, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(store, sizeof(store), "%s/alice.reg", dir);
	snprintf(map, sizeof(map), "%s/scenarios/basic-update/mapping.puf",
		 PS_SOURCE_DIR);
	snprintf(cfg, sizeof(cfg), "%s/c.ini", dir);
	/* The OST policy across organisations is another test's (test_ost). */
	write_file("c.ini", "[Settings]\nCsvDelimiter = ;\n"
		   "OSTAcrossOrganisations = keep\n", 1000);
	snprintf(rep, sizeof(rep), "%s/r.csv", dir);
	snprintf(js, sizeof(js), "%s/r.json", dir);
	assert_int_equal(tu_run(&out, &err, "update", "--store", store,
				"--mapping", map, "--config", cfg, "--report",
				rep, "--dry-run", "-q", NULL), 0);
	csv = read_back("r.csv");
	assert_memory_equal(csv, PS_CSV_BOM "host;user;profile;account;"
			    "source_dn;target_dn;status;detail;source_server;"
			    "target_smtp\r\n", 90);
	assert_non_null(strstr(csv, ";would-update;\"24 values to set, 18 to "
				    "remove\";EXCH01;alice@contoso.com\r\n"));
	/* --csv-delimiter wins over the configuration. */
	assert_int_equal(tu_run(&out, &err, "update", "--store", store,
				"--mapping", map, "--config", cfg, "--report",
				rep, "--dry-run", "-q", "--csv-delimiter", "tab",
				NULL), 0);
	free(csv);
	csv = read_back("r.csv");
	assert_memory_equal(csv, PS_CSV_BOM "host\tuser\t", 13);
	assert_int_equal(ps_collect_parse("r.csv", (uint8_t *)csv,
					  strlen(csv), &f), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(row(&f, 0, 0)->status, PS_ST_WOULD_UPDATE);
	assert_string_equal(row(&f, 0, 0)->source_server, "EXCH01");
	ps_fleet_free(&f);
	assert_int_equal(tu_run(&out, &err, "update", "--store", store,
				"--mapping", map, "--report", js, "--dry-run",
				"-q", NULL), 0);
	json = read_back("r.json");
	assert_non_null(strstr(json, "\"time\": \""));
	assert_int_equal(ps_collect_parse("r.json", (uint8_t *)json,
					  strlen(json), &f), 0);
	assert_true(f.v[0].when > 1700000000LL);
	assert_string_equal(row(&f, 0, 0)->target_smtp, "alice@contoso.com");
	ps_fleet_free(&f);
	free(csv);
	free(json);
	ps_buf_free(&out);
	ps_buf_free(&err);
	ps_buf_free(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_good),
		cmocka_unit_test(test_csv_semicolon_tab),
		cmocka_unit_test(test_csv_bad),
		cmocka_unit_test(test_csv_trailing),
		cmocka_unit_test(test_csv_identities),
		cmocka_unit_test(test_json_good),
		cmocka_unit_test(test_json_bad),
		cmocka_unit_test(test_latest),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_delimiter_setting),
		cmocka_unit_test(test_update_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
