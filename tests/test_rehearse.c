/*
 * `profswitch rehearse`: a fleet of exports made from the scenario inputs
 * (whose outcomes the scenarios already pin down), folders, bad inputs,
 * the CSV, JSON, HTML and text reports, and the fleet summary.
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

#include "ps_fleet.h"
#include "ps_utf.h"
#include "testutil.h"

static char dir[64];
static ps_buf out, err;

static void path_of(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", dir, rel);
}

static void mkdirs(const char *rel)
{
	char p[256], *s;

	path_of(p, sizeof(p), rel);
	for (s = p + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	mkdir(p, 0700);
}

static void read_whole(const char *path, ps_buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;

	ps_buf_clear(b);
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ps_buf_put(b, chunk, n);
	fclose(f);
	ps_buf_puts(b, "");
}

static void put(const char *rel, const void *data, size_t len)
{
	char p[256];
	FILE *f;

	path_of(p, sizeof(p), rel);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A scenario's input export, copied into the fleet. */
static void scenario(const char *name, const char *rel)
{
	char src[512];
	ps_buf b = PS_BUF_INIT;

	snprintf(src, sizeof(src), "%s/scenarios/%s/HKCU.reg", PS_SOURCE_DIR,
		 name);
	read_whole(src, &b);
	put(rel, b.ptr, b.len - 0);
	ps_buf_free(&b);
}

#define run(...) tu_run(&out, &err, __VA_ARGS__)

static const char no_outlook[] =
	"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\Software\\Fabrikam]\r\n"
	"\"Theme\"=\"dark\"\r\n\r\n";

static int setup(void **state)
{
	char p[256], target[256];
	ps_buf b = PS_BUF_INIT;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ps-rehearse-XXXXXX");
	assert_non_null(mkdtemp(dir));
	mkdirs("fleet/a");
	mkdirs("fleet/b/deep/x");
	mkdirs("fleet/c");
	mkdirs("fleet/d");
	mkdirs("empty");
	scenario("basic-update", "fleet/a/alice.reg");
	scenario("already-updated", "fleet/a/bob.reg");
	scenario("ambiguous", "fleet/b/carol.reg");
	scenario("multi-account-one", "fleet/b/deep/x/dave.reg");
	scenario("truncated-export", "fleet/c/broken.reg");
	scenario("gpo-forceostpath-vs-rename", "fleet/c/erin.reg");
	scenario("autodiscover-poisoned-detect", "fleet/c/frank.REG");
	put("fleet/c/notes.txt", "not an input\n", 13);
	/* alice's drive C: with her OST (sparse: 5 GiB + 1 byte, read
	 * for its size only); its NTUSER.DAT is not an input. */
	mkdirs("fleet/a/alice.drive_c/Users/alice/AppData/Local/Microsoft/"
	       "Outlook");
	path_of(p, sizeof(p), "fleet/a/alice.drive_c/Users/alice/AppData/"
		"Local/Microsoft/Outlook/alice@fabrikam.com.ost");
	put("fleet/a/alice.drive_c/Users/alice/AppData/Local/Microsoft/"
	    "Outlook/alice@fabrikam.com.ost", "!BDN", 4);
	assert_int_equal(truncate(p, 5368709121LL), 0);
	put("fleet/a/alice.drive_c/Users/alice/NTUSER.DAT", "regf", 4);
	put("fleet/d/nooutlook.reg", no_outlook, sizeof(no_outlook) - 1);
	/* Not followed: it would count alice twice. */
	path_of(p, sizeof(p), "fleet/c/link.reg");
	path_of(target, sizeof(target), "fleet/a/alice.reg");
	assert_int_equal(symlink(target, p), 0);
	/* The ambiguous scenario's mapping has every row the others
	 * need; the GPO scenario's configuration renames the OST. */
	snprintf(p, sizeof(p), "%s/scenarios/ambiguous/mapping.puf",
		 PS_SOURCE_DIR);
	read_whole(p, &b);
	put("mbm.puf", b.ptr, b.len);
	snprintf(p, sizeof(p), "%s/scenarios/gpo-forceostpath-vs-rename/"
		 "config.ini", PS_SOURCE_DIR);
	read_whole(p, &b);
	put("profswitch.ini", b.ptr, b.len);
	ps_buf_free(&b);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	ps_buf_free(&out);
	ps_buf_free(&err);
	return 0;
}

/* Every rehearse of the fleet: fleet/, an empty folder, a missing file. */
static const char *map_name = "mbm.puf";

static int rehearse(const char *jobs, const char *r1, const char *r2,
		    const char *r3)
{
	char fleet[256], empty[256], missing[256], map[256], cfg[256];
	char p1[256], p2[256], p3[256], logp[256];

	path_of(fleet, sizeof(fleet), "fleet");
	path_of(empty, sizeof(empty), "empty");
	path_of(missing, sizeof(missing), "missing.reg");
	path_of(map, sizeof(map), map_name);
	path_of(cfg, sizeof(cfg), "profswitch.ini");
	path_of(p1, sizeof(p1), r1);
	path_of(p2, sizeof(p2), r2);
	path_of(p3, sizeof(p3), r3);
	path_of(logp, sizeof(logp), "rehearse.log");
	return run("rehearse", fleet, empty, missing, "--mapping", map,
		   "--config", cfg, "--jobs", jobs, "--report", p1,
		   "--report", p2, "--report", p3, "--log", logp, NULL);
}

static void read_rel(const char *rel, ps_buf *b)
{
	char p[256];

	path_of(p, sizeof(p), rel);
	read_whole(p, b);
}

/* The status column (7th) of every CSV data row, joined by spaces. */
static void csv_statuses(const char *csv, ps_buf *b)
{
	const char *line = strchr(csv, '\n');

	ps_buf_clear(b);
	while (line && line[1]) {
		const char *f = line + 1;
		int field = 0, quoted = 0;
		const char *start = f;

		for (; *f && *f != '\n'; f++) {
			if (*f == '"')
				quoted = !quoted;
			if (*f == ',' && !quoted) {
				if (++field == 6)
					start = f + 1;
				if (field == 7) {
					if (b->len)
						ps_buf_putc(b, ' ');
					ps_buf_put(b, start,
						   (size_t)(f - start));
				}
			}
		}
		line = *f ? f : NULL;
	}
	ps_buf_puts(b, "");
}

static void expect(const ps_buf *b, const char *text)
{
	if (!b->ptr || !strstr(b->ptr, text))
		fail_msg("'%s' not found in:\n%.9000s", text,
			 b->ptr ? b->ptr : "");
}

static void test_fleet(void **state)
{
	ps_buf csv = PS_BUF_INIT, csv1 = PS_BUF_INIT, json = PS_BUF_INIT;
	ps_buf html = PS_BUF_INIT, st = PS_BUF_INIT, log = PS_BUF_INIT;
	ps_buf before = PS_BUF_INIT, after = PS_BUF_INIT;
	char drive[256];

	(void)state;
	read_rel("fleet/a/alice.reg", &before);
	/* The drive C: of the machine that rehearses is never a user's:
	 * dave's OST has alice's path, and stays of unknown size. */
	path_of(drive, sizeof(drive), "fleet/a/alice.drive_c");
	assert_int_equal(setenv("PROFSWITCH_DRIVE_C", drive, 1), 0);
	/* failed (bit 1) and blocked (bit 4) */
	assert_int_equal(rehearse("3", "r.csv", "r.json", "r.html"), 5);
	assert_int_equal(unsetenv("PROFSWITCH_DRIVE_C"), 0);
	read_rel("r.csv", &csv);
	csv_statuses(csv.ptr, &st);
	/* Inputs in path order, one user after the other; the link is
	 * not followed, notes.txt is not an input. */
	assert_string_equal(st.ptr,
		"would-update already-updated blocked-ambiguous "
		"blocked-ambiguous would-update not-migrated failed "
		"blocked-policy blocked-poisoned not-migrated failed failed");
	/* Excel's BOM; the input column after source_server, target_smtp */
	assert_memory_equal(csv.ptr, "\xEF\xBB\xBFhost,", 8);
	expect(&csv, ",detail,source_server,target_smtp,input,"
	       "ost_download_bytes\r\n");
	expect(&csv, ",nooutlook,,,,,not-migrated,no Outlook profile in this "
	       "input,,,");
	expect(&csv, "/fleet/d/nooutlook.reg,0\r\n");
	expect(&csv, ",broken,,,,,failed,not a valid export or hive: line ");
	expect(&csv, ",failed,no .reg export or NTUSER.DAT in this folder,,,");
	expect(&csv, ",failed,unreadable input: ");
	/* OST=rename: alice's OST is on her drive C:, dave has none. */
	expect(&csv, "25 values to set, 18 to remove\",");
	expect(&csv, ",5368709121\r\n");
	read_rel("r.json", &json);
	expect(&json, "\"ost_download\": {\"bytes\": 5368709121, "
	       "\"accounts\": 2, \"unknown\": 1}");
	read_rel("r.html", &html);
	expect(&html, "data-bytes=\"5368709121\">5.0 GiB</b>");
	/* Same report from one worker. */
	assert_int_equal(rehearse("1", "r1.csv", "r1.json", "r1.html"), 5);
	read_rel("r1.csv", &csv1);
	assert_string_equal(csv.ptr, csv1.ptr);
	/* The same from a compiled mapping, each worker with its own
	 * handle on the index. */
	{
		char txt[256], idx[256];

		path_of(txt, sizeof(txt), "mbm.puf");
		path_of(idx, sizeof(idx), "mbm.idx");
		assert_int_equal(run("mapping", "compile", txt, "-o", idx,
				     NULL), 0);
		map_name = "mbm.idx";
		assert_int_equal(rehearse("3", "r2.csv", "r2.json", "r2.html"),
				 5);
		map_name = "mbm.puf";
		read_rel("r2.csv", &csv1);
		assert_string_equal(csv.ptr, csv1.ptr);
	}
	/* A rehearsal changes nothing. */
	read_rel("fleet/a/alice.reg", &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.ptr, after.ptr, before.len);

	read_rel("r.json", &json);
	expect(&json, "\"users\": 10,\n    \"unusable_inputs\": 3,\n"
	       "    \"accounts\": 12,");
	expect(&json, "\"status\": {\"would-update\": 2, \"already-updated\": "
	       "1, \"not-migrated\": 2, \"blocked-policy\": 1, "
	       "\"blocked-ambiguous\": 2, \"blocked-poisoned\": 1, "
	       "\"failed\": 3}");
	expect(&json, "\"users_by_outcome\": {\"failed\": 3, \"blocked\": 3, "
	       "\"deferred\": 0, \"would-update\": 2, \"already-updated\": 1, "
	       "\"not-migrated\": 1}");
	expect(&json, "{\"status\": \"blocked-ambiguous\", \"reason\": "
	       "\"after the update two accounts of this profile would open "
	       "...\", \"accounts\": 2}");
	expect(&json, "\"target_domains\": [\n      {\"name\": \"contoso.com\"");
	expect(&json, "\"input\": \"");
	expect(&json, "/fleet/b/deep/x/dave.reg\", \"user\": \"dave\"");
	expect(&json, "\"exit_bits\": 5");

	read_rel("r.html", &html);
	expect(&html, "<!DOCTYPE html>");
	expect(&html, "Content-Security-Policy\" content=\"default-src 'none'");
	expect(&html, "id=\"total-users\">10<");
	expect(&html, "id=\"total-accounts\">12<");
	expect(&html, "id=\"count-blocked-ambiguous\">2<");
	expect(&html, "id=\"outcome-blocked\">3<");
	expect(&html, "id=\"attention-count\">7<");
	expect(&html, "<svg id=\"chart\"");
	expect(&html, "data-status=\"failed\" data-count=\"3\"");
	/* Self-contained: nothing is loaded from anywhere. */
	assert_null(strstr(html.ptr, " src="));
	assert_null(strstr(html.ptr, " href="));
	assert_null(strstr(html.ptr, "url("));
	assert_null(strstr(html.ptr, "<link"));
	assert_null(strstr(html.ptr, "<img"));
	assert_null(strstr(html.ptr, "<iframe"));
	assert_null(strstr(html.ptr, "@import"));

	/* The log: one line per input, in order, and the engine's own. */
	read_rel("rehearse.log", &log);
	expect(&log, "rehearse: 10 inputs, 3 workers");
	expect(&log, "/fleet/a/alice.reg (user alice): 1 rows");
	assert_true(strstr(log.ptr, "alice.reg (user") <
		    strstr(log.ptr, "bob.reg (user"));
	expect(&log, "would-update");

	/* The text summary. */
	expect(&out, "rehearsal: 10 users, 12 accounts, 3 unusable inputs");
	expect(&out, "  blocked-ambiguous         2\n");
	ps_buf_free(&csv);
	ps_buf_free(&csv1);
	ps_buf_free(&json);
	ps_buf_free(&html);
	ps_buf_free(&st);
	ps_buf_free(&log);
	ps_buf_free(&before);
	ps_buf_free(&after);
}

static void test_html_escapes(void **state)
{
	char in[256], rep[256], map[256];
	ps_buf html = PS_BUF_INIT;

	(void)state;
	mkdirs("evil");
	scenario("basic-update", "evil/<img onerror=x>.reg");
	path_of(in, sizeof(in), "evil");
	path_of(rep, sizeof(rep), "evil.html");
	path_of(map, sizeof(map), "mbm.puf");
	assert_int_equal(run("rehearse", in, "--mapping", map, "--report",
			     rep, "-q", NULL), 0);
	assert_int_equal(out.len, 0);
	read_rel("evil.html", &html);
	expect(&html, "&lt;img onerror=x&gt;");
	assert_null(strstr(html.ptr, "<img"));
	ps_buf_free(&html);
}

/* NTUSER.DAT hives in a profile share: the user is the folder's name; a
 * hive without Outlook keys and a cut hive are rows. */
static void test_hives(void **state)
{
	char cmd[4096], share[256], map[256], rep[256], src[512];
	ps_buf csv = PS_BUF_INIT, st = PS_BUF_INIT, before = PS_BUF_INIT;
	ps_buf after = PS_BUF_INIT;
	int made;

	(void)state;
	mkdirs("share/alice");
	mkdirs("share/nobody");
	mkdirs("share/zoe");
	snprintf(src, sizeof(src), "%s/scenarios/basic-update/HKCU.reg",
		 PS_SOURCE_DIR);
	snprintf(cmd, sizeof(cmd), "python3 '%s/tests/mkhive.py' '%s' "
		 "'%s/share/alice/NTUSER.DAT' && python3 '%s/tests/mkhive.py' "
		 "'%s/fleet/d/nooutlook.reg' '%s/share/nobody/ntuser.dat' && "
		 "head -c 3000 '%s/share/alice/NTUSER.DAT' > "
		 "'%s/share/zoe/NTUSER.DAT'", PS_SOURCE_DIR, src, dir,
		 PS_SOURCE_DIR, dir, dir, dir, dir);
	made = system(cmd);
	if (made != 0)
		skip();   /* no hivexregedit: ci/install-deps.sh installs it */
	read_rel("share/alice/NTUSER.DAT", &before);
	path_of(share, sizeof(share), "share");
	path_of(map, sizeof(map), "mbm.puf");
	path_of(rep, sizeof(rep), "hives.csv");
	assert_int_equal(run("rehearse", share, "--mapping", map, "--report",
			     rep, "-q", NULL), 1);
	read_rel("hives.csv", &csv);
	csv_statuses(csv.ptr, &st);
	assert_string_equal(st.ptr, "would-update not-migrated failed");
	expect(&csv, ",alice,Outlook,alice@fabrikam.com,");
	expect(&csv, ",nobody,,,,,not-migrated,no Outlook profile in this "
	       "input,,,");
	expect(&csv, ",zoe,,,,,failed,not a valid export or hive: ");
	read_rel("share/alice/NTUSER.DAT", &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.ptr, after.ptr, before.len);
	ps_buf_free(&csv);
	ps_buf_free(&st);
	ps_buf_free(&before);
	ps_buf_free(&after);
}

/* File names are not always UTF-8 (Latin-1 from a Samba share) and may
 * hold control characters: the reports stay valid UTF-8, the log keeps
 * one line per event, the terminal gets no escape codes. */
static void test_hostile_names(void **state)
{
	char in[256], map[256], csvp[256], jsonp[256], htmlp[256], logp[256];
	ps_buf b = PS_BUF_INIT;

	(void)state;
	mkdirs("names");
	scenario("basic-update", "names/m\xfcller.reg");
	scenario("basic-update", "names/x\ny\x1b[2J.reg");
	path_of(in, sizeof(in), "names");
	path_of(map, sizeof(map), "mbm.puf");
	path_of(csvp, sizeof(csvp), "names.csv");
	path_of(jsonp, sizeof(jsonp), "names.json");
	path_of(htmlp, sizeof(htmlp), "names.html");
	path_of(logp, sizeof(logp), "names.log");
	assert_int_equal(run("rehearse", in, "--mapping", map, "--report",
			     csvp, "--report", jsonp, "--report", htmlp,
			     "--log", logp, NULL), 0);
	read_rel("names.json", &b);
	assert_true(ps_utf8_valid(b.ptr, b.len));
	expect(&b, "\"user\": \"m\xc3\xbcller\"");
	expect(&b, "\"user\": \"x\\u000ay\\u001b[2J\"");
	read_rel("names.csv", &b);
	assert_true(ps_utf8_valid(b.ptr, b.len));
	expect(&b, ",m\xc3\xbcller,Outlook,");
	read_rel("names.html", &b);
	assert_true(ps_utf8_valid(b.ptr, b.len));
	expect(&b, "m\xc3\xbcller");
	read_rel("names.log", &b);
	expect(&b, "(user x?y?[2J)");
	assert_null(strstr(b.ptr, "\ny"));
	assert_null(strchr(out.ptr, 0x1b));
	ps_buf_free(&b);
}

/* What a folder walk skips is a row, never silently missing: here a
 * folder deeper than the walk goes (an unreadable one is the same row;
 * root reads every folder, so that case is not tested here). */
static void test_walk_problems(void **state)
{
	char rel[256] = "walk", in[256], map[256], rep[256];
	ps_buf csv = PS_BUF_INIT;
	int i;

	(void)state;
	for (i = 0; i < 34; i++)
		strcat(rel, "/d");
	mkdirs(rel);
	strcat(rel, "/deep.reg");
	scenario("basic-update", rel);
	scenario("basic-update", "walk/top.reg");
	path_of(in, sizeof(in), "walk");
	path_of(map, sizeof(map), "mbm.puf");
	path_of(rep, sizeof(rep), "walk.csv");
	assert_int_equal(run("rehearse", in, "--mapping", map, "--report",
			     rep, "-q", NULL), 1);
	read_rel("walk.csv", &csv);
	expect(&csv, ",failed,unreadable input: folder more than 32 levels "
	       "deep: not searched,,,");
	expect(&csv, ",top,Outlook,alice@fabrikam.com,");
	ps_buf_free(&csv);
}

static void test_usage(void **state)
{
	char map[256], fleet[256], bad[256], rep[256];

	(void)state;
	path_of(map, sizeof(map), "mbm.puf");
	path_of(fleet, sizeof(fleet), "fleet");
	path_of(rep, sizeof(rep), "never.csv");
	assert_int_equal(run("rehearse", "--mapping", map, NULL), 64);
	expect(&err, "at least one STORE");
	assert_int_equal(run("rehearse", fleet, "--mapping", map, "--store",
			     fleet, NULL), 64);
	assert_int_equal(run("rehearse", fleet, "--mapping", map, "--jobs",
			     "0", NULL), 64);
	expect(&err, "--jobs '0'");
	assert_int_equal(run("rehearse", fleet, "--mapping", map, "--report",
			     "x.txt", NULL), 64);
	expect(&err, ".csv, .json or .html");
	/* A bad mapping: exit 65 and no report. */
	put("bad.puf", "SourceLegacyDN|TargetLegacyDN\nfoo|bar|baz\n", 42);
	path_of(bad, sizeof(bad), "bad.puf");
	assert_int_equal(run("rehearse", fleet, "--mapping", bad, "--report",
			     rep, NULL), 65);
	assert_int_equal(access(rep, F_OK), -1);
}

static void test_reason(void **state)
{
	char *r;

	(void)state;
	r = ps_fleet_reason("after the update two accounts of this profile "
			    "would open /o=ExchangeLabs/ou=Exchange "
			    "Administrative Group (FYDIBOHF23SPDLT)/cn="
			    "Recipients/cn=1a2b-alice");
	assert_string_equal(r, "after the update two accounts of this "
			    "profile would open ...");
	free(r);
	r = ps_fleet_reason("poisoned: 001f6652 (MAPI/HTTP mail store internal"
			    " URL) = https://outlook.office365.com/mapi/x "
			    "points to the target; set RepairPoisoned=1");
	assert_string_equal(r, "poisoned: 001f6652 (MAPI/HTTP mail store "
			    "internal URL) = ... points to the target");
	free(r);
	r = ps_fleet_reason("not a valid export: line 96: cut, 12 bytes");
	assert_string_equal(r, "not a valid export: line N: cut, N bytes");
	free(r);
	r = ps_fleet_reason("mail for bob@fabrikam.com alice@x.org stays");
	assert_string_equal(r, "mail for ... stays");
	free(r);
	r = ps_fleet_reason("");
	assert_string_equal(r, "");
	free(r);
}

/* The summary straight from rows: servers, domains, outcomes. */
static void test_summary(void **state)
{
	ps_fleet f;
	ps_fleet_summary s;
	ps_report *r;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.v = calloc(2, sizeof(*f.v));
	assert_non_null(f.v);
	f.n = 2;
	f.v[0].input = strdup("u1.reg");
	f.v[1].input = strdup("u2.reg");
	r = &f.v[0].report;
	assert_int_equal(ps_report_add(r, "P", "a", "s", "t",
				       PS_ST_WOULD_UPDATE, "x"), 0);
	assert_int_equal(ps_report_set_origin(r, "EXCH01", "a@Contoso.COM"), 0);
	r->v[0].identities = 2;   /* two source sign-in identities */
	assert_int_equal(ps_report_add(r, "P", "b", "s", "",
				       PS_ST_NOT_MIGRATED, "y"), 0);
	assert_int_equal(ps_report_set_origin(r, "exch01", NULL), 0);
	r = &f.v[1].report;
	assert_int_equal(ps_report_add(r, "P", "c", "s", "t",
				       PS_ST_BLOCKED_POLICY, "policy X; z"), 0);
	assert_int_equal(ps_report_set_origin(r, "EXCH02", "c@contoso.com"), 0);
	assert_int_equal(ps_fleet_summarize(&f, &s), 0);
	assert_int_equal(s.users, 2);
	assert_int_equal(s.rows, 3);
	assert_int_equal(s.outcome[PS_OUT_UPDATE], 1);
	assert_int_equal(s.outcome[PS_OUT_BLOCKED], 1);
	assert_int_equal(s.nservers, 2);
	/* EXCH01 and exch01 are one server, listed first (2 rows). */
	assert_string_equal(s.servers[0].key, "EXCH01");
	assert_int_equal(s.servers[0].n, 2);
	assert_int_equal(s.servers[0].migrating, 1);
	assert_int_equal(s.servers[1].problems, 1);
	assert_int_equal(s.ndomains, 1);
	assert_string_equal(s.domains[0].key, "contoso.com");
	assert_int_equal(s.domains[0].n, 2);
	assert_int_equal(s.nreasons, 1);
	assert_string_equal(s.reasons[0].key, "policy X");
	assert_int_equal(s.exit_bits, 4);
	/* One user of two holds a source sign-in identity. */
	assert_int_equal(s.identity_users, 1);
	{
		ps_buf page = PS_BUF_INIT;

		assert_int_equal(ps_fleet_text(&f, &s, &page), 0);
		assert_non_null(strstr(page.ptr, "users with an Office sign-in "
				       "identity of the source: 1\n"));
		ps_buf_clear(&page);
		assert_int_equal(ps_fleet_json(&f, &s, &page), 0);
		assert_non_null(strstr(page.ptr,
			"\"users_with_source_identity\": 1,"));
		ps_buf_clear(&page);
		assert_int_equal(ps_fleet_html(&f, &s, &page), 0);
		assert_non_null(strstr(page.ptr, "users-source-identity"));
		ps_buf_free(&page);
	}
	ps_fleet_summary_free(&s);
	ps_fleet_free(&f);
}

/* A user on the new Outlook: counted as blocked, per status, and shown in
 * the text and HTML forms. */
static void test_summary_new_outlook(void **state)
{
	ps_fleet f;
	ps_fleet_summary s;
	ps_buf page = PS_BUF_INIT;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.v = calloc(1, sizeof(*f.v));
	assert_non_null(f.v);
	f.n = 1;
	f.v[0].input = strdup("u1.reg");
	assert_int_equal(ps_report_add(&f.v[0].report, "P", "a", "s", "t",
				       PS_ST_BLOCKED_NEW_OUTLOOK,
				       "Outlook\\Preferences\\UseNewOutlook = 1: "
				       "the user runs the new Outlook"), 0);
	assert_int_equal(ps_fleet_summarize(&f, &s), 0);
	assert_int_equal(s.status[PS_ST_BLOCKED_NEW_OUTLOOK], 1);
	assert_int_equal(s.outcome[PS_OUT_BLOCKED], 1);
	assert_int_equal(s.exit_bits, 4);
	assert_int_equal(ps_fleet_text(&f, &s, &page), 0);
	assert_non_null(strstr(page.ptr, "  blocked-new-outlook       1\n"));
	ps_buf_clear(&page);
	assert_int_equal(ps_fleet_html(&f, &s, &page), 0);
	assert_non_null(strstr(page.ptr, "blocked-new-outlook"));
	assert_non_null(strstr(page.ptr, "UseNewOutlook"));
	ps_buf_free(&page);
	ps_fleet_summary_free(&s);
	ps_fleet_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fleet),
		cmocka_unit_test(test_html_escapes),
		cmocka_unit_test(test_hives),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_walk_problems),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_summary_new_outlook),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
