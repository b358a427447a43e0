/* The configuration reader: core/config.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_config.h"
#include "ps_error.h"
#include "ps_ini.h"
#include "testutil.h"

/* Parse s over the defaults into *cfg (which the caller frees). */
static int parse(ps_config *cfg, const char *s)
{
	assert_int_equal(ps_config_init(cfg), 0);
	return ps_config_parse(cfg, "c.ini", s, strlen(s));
}

/* One "[Settings]\nKEY = VALUE\n" must fail with exactly msg. */
static void expect_bad(const char *key, const char *value, const char *msg)
{
	char text[512];
	ps_config cfg;

	snprintf(text, sizeof(text), "[Settings]\n%s = %s\n", key, value);
	assert_int_equal(parse(&cfg, text), PS_EFORMAT);
	assert_string_equal(ps_error_last(), msg);
	ps_config_free(&cfg);
}

static void assert_list(const ps_strlist *l, const char *const *want,
			size_t n)
{
	size_t i;

	assert_int_equal(l->n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l->v[i], want[i]);
}

static void test_defaults(void **state)
{
	static const char *const stop[] = { "outlook.exe", "lync.exe",
					     "communicator.exe",
					     "ucmapi.exe" };
	ps_config cfg;

	(void)state;
	assert_int_equal(ps_config_init(&cfg), 0);
	assert_null(cfg.mapping);
	assert_null(cfg.log_file);
	assert_null(cfg.report_file);
	assert_int_equal(cfg.profiles_mode, PS_PROFILES_ALL);
	assert_int_equal(cfg.profiles.n, 0);
	assert_int_equal(cfg.outlook_running, PS_RUNNING_DEFER);
	assert_int_equal(cfg.wait_seconds, 60);
	assert_list(&cfg.stop_processes, stop, 4);
	assert_int_equal(cfg.ost, PS_OST_KEEP);
	assert_int_equal(cfg.reset_oab, 1);
	assert_int_equal(cfg.cached_mode, PS_CACHED_KEEP);
	assert_int_equal(cfg.same_smtp_domain, 0);
	assert_int_equal(cfg.processed_domains.n, 0);
	assert_null(cfg.autodiscover_source_url);
	assert_null(cfg.autodiscover_target_url);
	assert_int_equal(cfg.verify_autodiscover, 0);
	assert_int_equal(cfg.repair_poisoned, 0);
	assert_int_equal(cfg.new_outlook, PS_NEWOL_BLOCK);
	assert_int_equal(cfg.o365_exclusion, PS_O365X_REMOVE);
	assert_int_equal(cfg.reset_office_identity, 0);
	assert_null(cfg.source_tenant_id);
	assert_null(cfg.run_after);
	assert_int_equal(cfg.global_timeout_seconds, 300);
	ps_config_free(&cfg);
	/* Free is idempotent and accepts NULL. */
	ps_config_free(&cfg);
	ps_config_free(NULL);
}

static void test_empty_file_keeps_defaults(void **state)
{
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "; nothing\n[Settings]\n"), 0);
	assert_int_equal(cfg.wait_seconds, 60);
	assert_int_equal(cfg.stop_processes.n, 4);
	ps_config_free(&cfg);
}

static void test_full_file(void **state)
{
	static const char *const profiles[] = { "Outlook", "Archive 2019" };
	static const char *const stop[] = { "outlook.exe", "teams.exe",
					     "lync.exe" };
	static const char *const domains[] = { "contoso.com",
						"contoso.co.uk" };
	ps_config cfg;
	size_t len = 0;
	char *data = tu_read_data("config/full.ini", &len);

	(void)state;
	assert_int_equal(ps_config_init(&cfg), 0);
	assert_int_equal(ps_config_parse(&cfg, "full.ini", data, len), 0);
	assert_string_equal(cfg.mapping, "\\\\fs01\\migration$\\mapping.csv");
	assert_string_equal(cfg.log_file, "\\\\fs01\\logs$\\#H-#D-#T.log");
	assert_string_equal(cfg.report_file,
			    "%TEMP%\\profswitch-report.csv");
	assert_int_equal(cfg.profiles_mode, PS_PROFILES_NAMED);
	assert_list(&cfg.profiles, profiles, 2);
	assert_int_equal(cfg.outlook_running, PS_RUNNING_WAIT);
	assert_int_equal(cfg.wait_seconds, 120);
	assert_list(&cfg.stop_processes, stop, 3);
	assert_int_equal(cfg.ost, PS_OST_RENAME);
	assert_int_equal(cfg.reset_oab, 0);
	assert_int_equal(cfg.cached_mode, PS_CACHED_ON);
	assert_int_equal(cfg.same_smtp_domain, 1);
	assert_list(&cfg.processed_domains, domains, 2);
	assert_string_equal(cfg.autodiscover_source_url,
			    "https://autodiscover.contoso.com/autodiscover/"
			    "autodiscover.xml");
	assert_string_equal(cfg.autodiscover_target_url,
			    "https://autodiscover-s.outlook.com/autodiscover/"
			    "autodiscover.xml");
	assert_int_equal(cfg.verify_autodiscover, 1);
	assert_int_equal(cfg.repair_poisoned, 1);
	assert_string_equal(cfg.run_after,
			    "cscript //nologo \\\\fs01\\scripts$\\after.vbs");
	assert_int_equal(cfg.global_timeout_seconds, 0);
	ps_config_free(&cfg);
	free(data);
}

static void test_utf16_file(void **state)
{
	ps_config cfg;
	size_t len = 0;
	char *data = tu_read_data("config/utf16.ini", &len);

	(void)state;
	assert_int_equal(ps_config_init(&cfg), 0);
	assert_int_equal(ps_config_parse(&cfg, "utf16.ini", data, len), 0);
	assert_string_equal(cfg.mapping,
			    "C:\\Migration\\\xC3\x9C" "bersicht.csv");
	assert_int_equal(cfg.outlook_running, PS_RUNNING_CLOSE);
	assert_int_equal(cfg.wait_seconds, 5);
	ps_config_free(&cfg);
	free(data);
}

static void test_autodiscover_keys(void **state)
{
	static const char *const hosts[] = { "autodiscover-s.outlook.com",
					     "mail.contoso.com" };
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\n"
		"AutodiscoverTargetURL = https://autodiscover-s.outlook.com/"
		"autodiscover/autodiscover.xml\n"
		"AutodiscoverSourceURL = http://127.0.0.1:8080/a\n"
		"AutodiscoverAllowedHosts = Autodiscover-S.outlook.com, "
		"mail.contoso.com\n"
		"AutodiscoverCAFile = ca.pem\n"), 0);
	assert_string_equal(cfg.autodiscover_source_url,
			    "http://127.0.0.1:8080/a");
	assert_list(&cfg.autodiscover_allowed_hosts, hosts, 2);
	assert_string_equal(cfg.autodiscover_ca_file, "ca.pem");
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "[Settings]\nMappingSHA256 = "
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
		"\n"), 0);
	assert_string_equal(cfg.mapping_sha256, "ba7816bf8f01cfea414140de5dae"
			    "2223b00361a396177a9cb410ff61f20015ad");
	ps_config_free(&cfg);
	/* Empty: not pinned (the sample lists the key so). */
	assert_int_equal(parse(&cfg, "[Settings]\nMappingSHA256 =\n"), 0);
	assert_null(cfg.mapping_sha256);
	ps_config_free(&cfg);
	expect_bad("MappingSHA256", "ba7816bf", "c.ini:2: bad value "
		   "'ba7816bf' for MappingSHA256: expected 64 hexadecimal "
		   "digits (profswitch mapping check prints them)");
	expect_bad("AutodiscoverTargetURL", "ftp://x/a", "c.ini:2: bad value "
		   "'ftp://x/a' for AutodiscoverTargetURL: expected an "
		   "https:// URL such as https://autodiscover.contoso.com/"
		   "autodiscover/autodiscover.xml");
	expect_bad("AutodiscoverSourceURL", "https://user@evil.example/a",
		   "c.ini:2: bad value 'https://user@evil.example/a' for "
		   "AutodiscoverSourceURL: expected an https:// URL such as "
		   "https://autodiscover.contoso.com/autodiscover/"
		   "autodiscover.xml");
}

static void test_case_insensitive(void **state)
{
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[settings]\noutlookrunning = CLOSE\n"
			       "OST = ReCreate\ncachedmode = Off\n"
			       "PROFILES = Default\nresetoab = FALSE\n"), 0);
	assert_int_equal(cfg.outlook_running, PS_RUNNING_CLOSE);
	assert_int_equal(cfg.ost, PS_OST_RECREATE);
	assert_int_equal(cfg.cached_mode, PS_CACHED_OFF);
	assert_int_equal(cfg.profiles_mode, PS_PROFILES_DEFAULT);
	assert_int_equal(cfg.reset_oab, 0);
	ps_config_free(&cfg);
}

static void test_profiles(void **state)
{
	static const char *const names[] = { "Outlook", "Mail (old)",
					      "x" };
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nProfiles = ALL\n"), 0);
	assert_int_equal(cfg.profiles_mode, PS_PROFILES_ALL);
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "[Settings]\n"
			       "Profiles = Outlook;  Mail (old) ;x;OUTLOOK\n"),
			 0);
	assert_int_equal(cfg.profiles_mode, PS_PROFILES_NAMED);
	assert_list(&cfg.profiles, names, 3);
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "[Settings]\nProfiles = Outlook\n"), 0);
	assert_int_equal(cfg.profiles_mode, PS_PROFILES_NAMED);
	assert_list(&cfg.profiles, names, 1);
	ps_config_free(&cfg);
	expect_bad("Profiles", "Outlook;;Other",
		   "c.ini:2: bad value 'Outlook;;Other' for Profiles: "
		   "expected all, default or profile names separated by ';' "
		   "(no empty name)");
	expect_bad("Profiles", "Outlook;",
		   "c.ini:2: bad value 'Outlook;' for Profiles: expected "
		   "all, default or profile names separated by ';' (no empty "
		   "name)");
	expect_bad("Profiles", "",
		   "c.ini:2: bad value '' for Profiles: expected all, "
		   "default or profile names separated by ';' (no empty "
		   "name)");
}

static void test_choices(void **state)
{
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nOutlookRunning=defer\n"
			       "OST=keep\nCachedMode=keep\n"), 0);
	assert_int_equal(cfg.outlook_running, PS_RUNNING_DEFER);
	assert_int_equal(cfg.ost, PS_OST_KEEP);
	assert_int_equal(cfg.cached_mode, PS_CACHED_KEEP);
	ps_config_free(&cfg);
	expect_bad("OutlookRunning", "kill",
		   "c.ini:2: bad value 'kill' for OutlookRunning: expected "
		   "defer, wait or close");
	expect_bad("OST", "delete",
		   "c.ini:2: bad value 'delete' for OST: expected keep, "
		   "rename or recreate");
	expect_bad("CachedMode", "1",
		   "c.ini:2: bad value '1' for CachedMode: expected keep, on "
		   "or off");
	expect_bad("OutlookRunning", "",
		   "c.ini:2: bad value '' for OutlookRunning: expected "
		   "defer, wait or close");
	/* Issue 17's keys. */
	assert_int_equal(parse(&cfg, "[Settings]\nNewOutlook=Update\n"
			       "O365EndpointExclusion=keep\n"
			       "ResetOfficeIdentity=yes\n"
			       "SourceTenantId=3e1f5a7c-2b4d\n"), 0);
	assert_int_equal(cfg.new_outlook, PS_NEWOL_UPDATE);
	assert_int_equal(cfg.o365_exclusion, PS_O365X_KEEP);
	assert_int_equal(cfg.reset_office_identity, 1);
	assert_string_equal(cfg.source_tenant_id, "3e1f5a7c-2b4d");
	ps_config_free(&cfg);
	expect_bad("NewOutlook", "ask",
		   "c.ini:2: bad value 'ask' for NewOutlook: expected block "
		   "or update");
	expect_bad("O365EndpointExclusion", "1",
		   "c.ini:2: bad value '1' for O365EndpointExclusion: "
		   "expected remove or keep");
}

static void test_numbers(void **state)
{
	static const char *const bad_wait[] = {
		"-1", "+5", "3601", "1 0", "0x10", "10s", "", " 5 x",
		"99999999999999999999999", "1e3", "4294967296"
	};
	char msg[256];
	ps_config cfg;
	size_t i;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nWaitSeconds = 0\n"
			       "GlobalTimeoutSeconds = 86400\n"), 0);
	assert_int_equal(cfg.wait_seconds, 0);
	assert_int_equal(cfg.global_timeout_seconds, 86400);
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "[Settings]\nWaitSeconds = 3600\n"
			       "GlobalTimeoutSeconds = 007\n"), 0);
	assert_int_equal(cfg.wait_seconds, 3600);
	assert_int_equal(cfg.global_timeout_seconds, 7);
	ps_config_free(&cfg);
	for (i = 0; i < sizeof(bad_wait) / sizeof(bad_wait[0]); i++) {
		/* The INI reader trims; " 5 x" arrives as "5 x". */
		const char *shown = bad_wait[i][0] == ' ' ? "5 x" :
			bad_wait[i];

		snprintf(msg, sizeof(msg), "c.ini:2: bad value '%s' for "
			 "WaitSeconds: expected a whole number of seconds "
			 "from 0 to 3600", shown);
		expect_bad("WaitSeconds", bad_wait[i], msg);
	}
	expect_bad("GlobalTimeoutSeconds", "86401",
		   "c.ini:2: bad value '86401' for GlobalTimeoutSeconds: "
		   "expected a whole number of seconds from 0 to 86400");
	expect_bad("GlobalTimeoutSeconds", "-0",
		   "c.ini:2: bad value '-0' for GlobalTimeoutSeconds: "
		   "expected a whole number of seconds from 0 to 86400");
}

/* ReportMode: octal bits; the owner reads and writes, nobody else
 * writes or executes. */
static void test_report_mode(void **state)
{
	static const char *const bad[] = {
		"0666", "0660", "0700", "0755", "0400", "01640", "8",
		"0x1a4", "rw-r-----", "00640", "-640"
	};
	char msg[256];
	ps_config cfg;
	size_t i;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\n"), 0);
	assert_int_equal(cfg.report_mode, 0640);
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "[Settings]\nReportMode = 644\n"), 0);
	assert_int_equal(cfg.report_mode, 0644);
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "[Settings]\nreportmode = 0600\n"), 0);
	assert_int_equal(cfg.report_mode, 0600);
	ps_config_free(&cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "c.ini:2: bad value '%s' for "
			 "ReportMode: expected permission bits in octal that "
			 "let the owner read and write and nobody else "
			 "write, such as 0640, 0644 or 0600", bad[i]);
		expect_bad("ReportMode", bad[i], msg);
	}
}

static void test_booleans(void **state)
{
	static const char *const yes[] = { "1", "yes", "TRUE", "On" };
	static const char *const no[] = { "0", "No", "false", "OFF" };
	char text[256];
	ps_config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "[Settings]\nResetOAB=%s\n"
			 "SameSmtpDomain=%s\n"
			 "VerifyAutodiscover=%s\nRepairPoisoned=%s\n",
			 no[i], yes[i], yes[i], yes[i]);
		assert_int_equal(parse(&cfg, text), 0);
		assert_int_equal(cfg.reset_oab, 0);
		assert_int_equal(cfg.same_smtp_domain, 1);
		assert_int_equal(cfg.verify_autodiscover, 1);
		assert_int_equal(cfg.repair_poisoned, 1);
		ps_config_free(&cfg);
	}
	expect_bad("ResetOAB", "2",
		   "c.ini:2: bad value '2' for ResetOAB: expected 1, 0, yes, "
		   "no, true, false, on or off");
	expect_bad("RepairPoisoned", "maybe",
		   "c.ini:2: bad value 'maybe' for RepairPoisoned: expected "
		   "1, 0, yes, no, true, false, on or off");
	expect_bad("VerifyAutodiscover", "",
		   "c.ini:2: bad value '' for VerifyAutodiscover: expected "
		   "1, 0, yes, no, true, false, on or off");
}

static void test_stop_processes(void **state)
{
	static const char *const want[] = { "outlook.exe", "lync.exe",
					     "Teams.exe", "skype.exe" };
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nStopProcesses = "
			       "outlook.exe lync.exe,Teams.exe;;  skype.exe "
			       "OUTLOOK.EXE\n"), 0);
	assert_list(&cfg.stop_processes, want, 4);
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "[Settings]\nStopProcesses=lync.exe\n"),
			 0);
	assert_list(&cfg.stop_processes, want + 1, 1);
	ps_config_free(&cfg);
	expect_bad("StopProcesses", "outlook.exe C:\\bin\\x.exe",
		   "c.ini:2: bad value 'C:\\bin\\x.exe' for StopProcesses: "
		   "expected process names such as outlook.exe (not paths) "
		   "separated by spaces, commas or semicolons");
	expect_bad("StopProcesses", " , ;",
		   "c.ini:2: bad value ', ;' for StopProcesses: expected "
		   "process names such as outlook.exe separated by spaces, "
		   "commas or semicolons");
}

static void test_processed_domains(void **state)
{
	static const char *const want[] = { "contoso.com", "mail.contoso.com",
					     "fabrikam-eu.co.uk" };
	static const char *const bad[] = { "contoso", ".contoso.com",
					    "contoso.com.", "con_toso.com",
					    "a..b", "user@contoso.com" };
	char msg[512];
	ps_config cfg;
	size_t i;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nProcessedDomains = "
			       "Contoso.COM, mail.contoso.com;"
			       "Fabrikam-EU.co.uk contoso.com\n"), 0);
	assert_list(&cfg.processed_domains, want, 3);
	ps_config_free(&cfg);
	/* Empty: every domain, as by default. */
	assert_int_equal(parse(&cfg, "[Settings]\nProcessedDomains =\n"), 0);
	assert_int_equal(cfg.processed_domains.n, 0);
	ps_config_free(&cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char value[128];

		snprintf(value, sizeof(value), "contoso.com %s", bad[i]);
		snprintf(msg, sizeof(msg), "c.ini:2: bad value '%s' for "
			 "ProcessedDomains: expected SMTP domains such as "
			 "contoso.com (letters, digits, '-' and '.') "
			 "separated by spaces, commas or semicolons", bad[i]);
		expect_bad("ProcessedDomains", value, msg);
	}
}

static void test_strings(void **state)
{
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\n"
			       "Mapping = \"C:\\Program Files\\map;1.csv\"\n"
			       "LogFile =\n"
			       "ReportFile = \"\"\n"
			       "RunAfter = notepad.exe \"a b\"\n"), 0);
	assert_string_equal(cfg.mapping, "C:\\Program Files\\map;1.csv");
	assert_null(cfg.log_file);
	assert_null(cfg.report_file);
	assert_string_equal(cfg.run_after, "notepad.exe \"a b\"");
	ps_config_free(&cfg);
}

static void test_unknown_key(void **state)
{
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nMapping = m.csv\n"
			       "MappingFile = m.csv\n"), PS_EFORMAT);
	assert_string_equal(ps_error_last(), "c.ini:3: unknown key "
			    "'MappingFile' in [Settings]");
	/* What was set before the error can still be freed. */
	assert_string_equal(cfg.mapping, "m.csv");
	ps_config_free(&cfg);
}

/* ClearNicknames names a job profswitch does not do (the nickname
 * cache): refused with FILE:LINE, whatever its value, saying so and what
 * to do instead, rather than accepted and ignored. */
static void test_clear_nicknames_refused(void **state)
{
	static const char *const values[] = { "1", "yes", "0", "off", "" };
	char text[128];
	ps_config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(text, sizeof(text), "[Settings]\nOST = keep\n"
			 "clearnicknames = %s\n", values[i]);
		assert_int_equal(parse(&cfg, text), PS_EFORMAT);
		assert_non_null(strstr(ps_error_last(), "c.ini:3: "
				       "ClearNicknames is not supported: "
				       "profswitch does not clear Outlook's "
				       "nickname (autocomplete) cache; "
				       "remove the line"));
		assert_non_null(strstr(ps_error_last(),
				       "Stream_Autocomplete_*.dat"));
		ps_config_free(&cfg);
	}
}

static void test_unknown_section(void **state)
{
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nOST = keep\n\n[Setings]\n"),
			 PS_EFORMAT);
	assert_string_equal(ps_error_last(), "c.ini:4: unknown section "
			    "[Setings] (expected [Settings])");
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "Mapping = m.csv\n[Settings]\n"),
			 PS_EFORMAT);
	assert_string_equal(ps_error_last(), "c.ini:1: key 'Mapping' before "
			    "any section: put it under [Settings]");
	ps_config_free(&cfg);
}

static void test_duplicate_key(void **state)
{
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nWaitSeconds = 5\n"
			       "; again\n[SETTINGS]\nwaitseconds = 6\n"),
			 PS_EFORMAT);
	assert_string_equal(ps_error_last(), "c.ini:5: WaitSeconds is set "
			    "twice (first at line 2)");
	ps_config_free(&cfg);
	assert_int_equal(parse(&cfg, "[Settings]\nProfiles = a;b\n"
			       "StopProcesses = x.exe\nProfiles = c\n"),
			 PS_EFORMAT);
	assert_string_equal(ps_error_last(), "c.ini:4: Profiles is set "
			    "twice (first at line 2)");
	ps_config_free(&cfg);
}

static void test_ini_error_passes_through(void **state)
{
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nMapping\n"), PS_EFORMAT);
	assert_string_equal(ps_error_last(), "c.ini:2: expected key = value "
			    "or [section]");
	ps_config_free(&cfg);
}

/* A second parse (a second file) may set what the first one set. */
static void test_parse_over_previous(void **state)
{
	static const char second[] = "[Settings]\nMapping = b.csv\n"
		"Profiles = all\n";
	ps_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "[Settings]\nMapping = a.csv\n"
			       "Profiles = p1\n"), 0);
	assert_int_equal(ps_config_parse(&cfg, "d.ini", second,
					 strlen(second)), 0);
	assert_string_equal(cfg.mapping, "b.csv");
	assert_int_equal(cfg.profiles_mode, PS_PROFILES_ALL);
	assert_int_equal(cfg.profiles.n, 0);
	ps_config_free(&cfg);
}

/* Keys set in a file, whatever their section (ps_ini_cb). */
static int collect_key(void *ctx, const char *section, const char *key,
		       const char *value, unsigned line)
{
	(void)section;
	(void)value;
	(void)line;
	return ps_strlist_add(ctx, key) < 0 ? PS_ENOMEM : 0;
}

/* samples/profswitch.ini, the annotated sample shipped in the release
 * zip: it names every key this version accepts (a key added to
 * core/config.c without a line there fails here, by name), each at its
 * default, and parses. */
static void test_sample_ini(void **state)
{
	ps_strlist set = PS_STRLIST_INIT;
	ps_config cfg, def;
	size_t len = 0, i, missing = 0;
	char *data = tu_read_data("../../samples/profswitch.ini", &len);
	const char *k;

	(void)state;
	assert_int_equal(ps_ini_parse("profswitch.ini", data, len,
				      collect_key, &set), 0);
	for (i = 0; (k = ps_config_key_name(i)) != NULL; i++) {
		if (ps_strlist_contains_nocase(&set, k))
			continue;
		print_error("samples/profswitch.ini lacks the key %s\n", k);
		missing++;
	}
	assert_int_equal(missing, 0);
	assert_true(i >= 21);
	assert_int_equal(set.n, i);
	assert_int_equal(ps_config_init(&cfg), 0);
	if (ps_config_parse(&cfg, "profswitch.ini", data, len) < 0)
		fail_msg("%s", ps_error_last());
	/* Every value is the default. */
	assert_int_equal(ps_config_init(&def), 0);
	assert_null(cfg.mapping);
	assert_null(cfg.mapping_sha256);
	assert_null(cfg.log_file);
	assert_null(cfg.report_file);
	assert_int_equal(cfg.profiles_mode, def.profiles_mode);
	assert_int_equal(cfg.profiles.n, 0);
	assert_int_equal(cfg.outlook_running, def.outlook_running);
	assert_int_equal(cfg.wait_seconds, def.wait_seconds);
	assert_int_equal(cfg.stop_processes.n, def.stop_processes.n);
	for (i = 0; i < def.stop_processes.n; i++)
		assert_string_equal(cfg.stop_processes.v[i],
				    def.stop_processes.v[i]);
	assert_int_equal(cfg.ost, def.ost);
	assert_int_equal(cfg.reset_oab, def.reset_oab);
	assert_int_equal(cfg.cached_mode, def.cached_mode);
	assert_int_equal(cfg.same_smtp_domain, def.same_smtp_domain);
	assert_int_equal(cfg.processed_domains.n, 0);
	assert_null(cfg.autodiscover_source_url);
	assert_null(cfg.autodiscover_target_url);
	assert_int_equal(cfg.autodiscover_allowed_hosts.n, 0);
	assert_null(cfg.autodiscover_ca_file);
	assert_int_equal(cfg.verify_autodiscover, def.verify_autodiscover);
	assert_int_equal(cfg.repair_poisoned, def.repair_poisoned);
	assert_null(cfg.run_after);
	assert_int_equal(cfg.global_timeout_seconds,
			 def.global_timeout_seconds);
	ps_config_free(&cfg);
	ps_config_free(&def);
	ps_strlist_free(&set);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file_keeps_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_utf16_file),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_autodiscover_keys),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_report_mode),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_stop_processes),
		cmocka_unit_test(test_processed_domains),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_clear_nicknames_refused),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_ini_error_passes_through),
		cmocka_unit_test(test_parse_over_previous),
		cmocka_unit_test(test_sample_ini),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
