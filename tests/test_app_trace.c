/*
 * What every run leaves behind (issue 16): a log line whatever happens
 * (in the default log under the local folder when there is no other),
 * reports expanded, written atomically, with a fallback and readable
 * permission bits, the command-line conventions (CMD --help, /?,
 * --opt=value) and the no-argument run of profswitchw.exe.  Through
 * ps_app_main with the POSIX system port, in a temporary folder that is
 * also XDG_STATE_HOME (the local folder).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_app.h"
#include "ps_error.h"
#include "ps_fakestore.h"
#include "ps_posix.h"
#include "testutil.h"

typedef struct fx {
	char dir[64];
	char state[96];     /* XDG_STATE_HOME */
	char deflog[128];   /* the default log */
	char store[96], mapping[96], config[96], log[96];
	ps_buf out, err, text;
	ps_buf pristine;
} fx;

static fx F;

static const char mapping_ok[] =
	"SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com\n";

static void put_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");
	size_t len = strlen(data);

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The file's text in F.text ("" when missing). */
static const char *get_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;

	ps_buf_clear(&F.text);
	ps_buf_puts(&F.text, "");
	if (!f)
		return F.text.ptr;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ps_buf_put(&F.text, chunk, n);
	fclose(f);
	return F.text.ptr;
}

static void expect_in(const char *path, const char *text)
{
	const char *got = get_file(path);

	if (!strstr(got, text))
		fail_msg("%s lacks '%s':\n%s", path, text, got);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (unsigned)st.st_mode & 0777u;
}

#define run(...) tu_run(&F.out, &F.err, __VA_ARGS__)

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	ps_regtree t;

	(void)state;
	memset(&F, 0, sizeof(F));
	snprintf(F.dir, sizeof(F.dir), "/tmp/ps-trace-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.state, sizeof(F.state), "%s/state", F.dir);
	snprintf(F.deflog, sizeof(F.deflog), "%s/profswitch/profswitch.log",
		 F.state);
	snprintf(F.store, sizeof(F.store), "%s/u.reg", F.dir);
	snprintf(F.mapping, sizeof(F.mapping), "%s/mbm.puf", F.dir);
	snprintf(F.config, sizeof(F.config), "%s/profswitch.ini", F.dir);
	snprintf(F.log, sizeof(F.log), "%s/run.log", F.dir);
	tu_fixture(&t);
	assert_int_equal(ps_regtree_write(&t, &F.pristine), 0);
	ps_regtree_free(&t);
	setenv("XDG_STATE_HOME", F.state, 1);
	setenv("PS_TEST_WHO", "alice", 1);
	return 0;
}

static int reset(void **state)
{
	FILE *f;

	(void)state;
	rm_tree(F.state);
	unlink(F.log);
	f = fopen(F.store, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(F.pristine.ptr, 1, F.pristine.len, f),
			 F.pristine.len);
	assert_int_equal(fclose(f), 0);
	put_file(F.mapping, mapping_ok);
	put_file(F.config, "[Settings]\nOST=keep\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_tree(F.dir);
	ps_buf_free(&F.out);
	ps_buf_free(&F.err);
	ps_buf_free(&F.text);
	ps_buf_free(&F.pristine);
	return 0;
}

/* ---- 1: every run leaves a log line ------------------------------------ */

static void test_bad_config_logged_by_default(void **state)
{
	(void)state;
	put_file(F.config, "[Settings]\nOST=sometimes\n");
	assert_int_equal(run("update", "--store", F.store, "--mapping",
			     F.mapping, "--config", F.config, NULL), 64);
	expect_in(F.deflog, "ERROR: update: exit status 64: ");
	expect_in(F.deflog, "profswitch.ini:2: bad value 'sometimes' for "
		  "OST");
	expect_in(F.deflog, "bad configuration; nothing was changed.");
	/* One line, not echoed twice on stderr. */
	assert_null(strstr(F.err.ptr, "exit status"));
}

static void test_missing_config_logged(void **state)
{
	char missing[128];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope.ini", F.dir);
	assert_int_equal(run("rollback", "--store", F.store, "--config",
			     missing, NULL), 66);
	expect_in(F.deflog, "rollback: exit status 66: cannot read the "
		  "configuration: ");
	expect_in(F.deflog, "nope.ini");
}

static void test_bad_mapping_logged_in_logfile(void **state)
{
	char cfg[256];

	(void)state;
	put_file(F.mapping, "SourceLegacyDN|TargetLegacyDN\nnot-a-dn|x\n");
	snprintf(cfg, sizeof(cfg), "[Settings]\nLogFile=%s\n", F.log);
	put_file(F.config, cfg);
	assert_int_equal(run("update", "--store", F.store, "--mapping",
			     F.mapping, "--config", F.config, NULL), 65);
	/* LogFile= is known once the configuration is read. */
	expect_in(F.log, "update: exit status 65: ");
	expect_in(F.log, "bad mapping");
	assert_string_equal(get_file(F.deflog), "");
}

static void test_missing_store_logged(void **state)
{
	char missing[128];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/gone.reg", F.dir);
	assert_int_equal(run("cleanup", "--store", missing, NULL), 66);
	expect_in(F.deflog, "cleanup: exit status 66: ");
	expect_in(F.deflog, "gone.reg");
}

static void test_bad_option_logged(void **state)
{
	(void)state;
	assert_int_equal(run("update", "--store", F.store, "--bogus", NULL),
			 64);
	expect_in(F.deflog, "update: exit status 64: unknown option "
		  "'--bogus'");
	/* --log given before the bad option: the line goes there. */
	assert_int_equal(run("rehearse", "--log", F.log, "--nope", NULL), 64);
	expect_in(F.log, "rehearse: exit status 64: unknown option "
		  "'--nope'");
	assert_null(strstr(get_file(F.deflog), "--nope"));
}

static void test_no_or_unknown_command_logged(void **state)
{
	(void)state;
	assert_int_equal(run(NULL), 64);
	expect_in(F.deflog, "(no command): exit status 64: no command given");
	assert_int_equal(run("updte", "--store", F.store, NULL), 64);
	expect_in(F.deflog, "updte: exit status 64: unknown command "
		  "'updte'");
}

/* What a line says is made safe: no escape sequence reaches the log. */
static void test_log_line_sanitised(void **state)
{
	(void)state;
	assert_int_equal(run("update", "--store", F.store,
			     "--\x1b[31mred\x07", NULL), 64);
	expect_in(F.deflog, "unknown option '--?[31mred?'");
	assert_null(strchr(get_file(F.deflog), '\x1b'));
}

static void test_success_and_usage_logged(void **state)
{
	(void)state;
	assert_int_equal(run("update", "--store", F.store, "--mapping",
			     F.mapping, "--config", F.config, NULL), 0);
	expect_in(F.deflog, "INFO: update: exit status 0");
	assert_int_equal(run("rollback", "--store", F.store, "--dry-run",
			     NULL), 64);
	expect_in(F.deflog, "rollback: exit status 64: --dry-run and "
		  "--reprocess go with update");
	/* The tools run at a terminal leave nothing. */
	rm_tree(F.state);
	assert_int_equal(run("inspect", "--bogus", NULL), 64);
	assert_int_equal(run("mapping", "check", F.dir, NULL), 66);
	assert_int_equal(run("update", "--help", NULL), 0);
	assert_string_equal(get_file(F.deflog), "");
}

/* ---- 2: reports ------------------------------------------------------- */

static void test_report_expanded_and_readable(void **state)
{
	char cfg[256], host[256], want[512];

	(void)state;
	umask(077);     /* the mode is set, whatever the umask */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(cfg, sizeof(cfg), "[Settings]\nOST=keep\n"
		 "ReportFile=r-#H-%%PS_TEST_WHO%%.json\nLogFile=%s\n", F.log);
	put_file(F.config, cfg);
	assert_int_equal(run("update", "--store", F.store, "--mapping",
			     F.mapping, "--config", F.config, NULL), 0);
	/* Relative to the configuration's folder, like LogFile. */
	snprintf(want, sizeof(want), "%s/r-%s-alice.json", F.dir, host);
	expect_in(want, "\"status\": \"updated\"");
	assert_int_equal(mode_of(want), 0640);
	assert_int_equal(mode_of(F.log), 0640);
	/* --report overrides it, expanded too; ReportMode sets the bits. */
	snprintf(cfg, sizeof(cfg), "[Settings]\nOST=keep\nReportMode=0644\n"
		 "LogFile=%s\n", F.log);
	put_file(F.config, cfg);
	snprintf(want, sizeof(want), "%s/%%PS_TEST_WHO%%-#D.csv", F.dir);
	assert_int_equal(run("rollback", "--store", F.store, "--config",
			     F.config, "--report", want, NULL), 0);
	{
		char day[16], path[512];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(day, sizeof(day), "%Y%m%d", &tm);
		snprintf(path, sizeof(path), "%s/alice-%s.csv", F.dir, day);
		expect_in(path, "rolled-back");
		assert_int_equal(mode_of(path), 0644);
		unlink(path);
	}
	umask(022);
	snprintf(want, sizeof(want), "%s/r-%s-alice.json", F.dir, host);
	unlink(want);
}

static void test_report_falls_back_locally(void **state)
{
	char report[128], local[160];
	DIR *d;
	struct dirent *e;

	(void)state;
	snprintf(report, sizeof(report), "%s/no-such-share/u.json", F.dir);
	snprintf(local, sizeof(local), "%s/profswitch/u.json", F.state);
	assert_int_equal(run("update", "--store", F.store, "--mapping",
			     F.mapping, "--report", report, NULL), 0);
	expect_in(local, "\"status\": \"updated\"");
	assert_int_equal(mode_of(local), 0640);
	if (!strstr(F.err.ptr, "wrote it to "))
		fail_msg("stderr: %s", F.err.ptr);
	expect_in(F.deflog, "this report is in ");
	expect_in(F.deflog, local);
	/* Written whole: no temporary file is left beside it. */
	d = opendir(F.dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, "tmp") || strchr(e->d_name, '~'))
			fail_msg("left behind: %s", e->d_name);
	closedir(d);
}

/* ---- 3: conventions --------------------------------------------------- */

static void test_command_help(void **state)
{
	static const char *const cmds[] = {
		"update", "rollback", "cleanup", "rehearse", "inspect",
		"autodiscover", "mapping"
	};
	static const char *const forms[] = { "--help", "-h", "/?" };
	char want[64];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (j = 0; j < sizeof(forms) / sizeof(forms[0]); j++) {
			assert_int_equal(run(cmds[i], "--bogus", forms[j],
					     NULL), 0);
			snprintf(want, sizeof(want), "usage: profswitch %s",
				 cmds[i]);
			if (!strstr(F.out.ptr, want))
				fail_msg("%s %s: %s", cmds[i], forms[j],
					 F.out.ptr);
		}
	}
	assert_int_equal(run("help", "rehearse", NULL), 0);
	assert_non_null(strstr(F.out.ptr, "--jobs N"));
	assert_int_equal(run("/?", NULL), 0);
	assert_non_null(strstr(F.out.ptr, "COMMAND --help"));
	/* A testing hook, not in the user's help. */
	assert_null(strstr(F.out.ptr, "simulate-running"));
	assert_int_equal(run("update", "--help", NULL), 0);
	assert_null(strstr(F.out.ptr, "simulate-running"));
	assert_int_equal(run("frob", "--help", NULL), 64);
}

static void test_option_equals_value(void **state)
{
	char opt[160];

	(void)state;
	snprintf(opt, sizeof(opt), "--log=%s", F.log);
	assert_int_equal(run("update", "--store=", NULL), 64);
	assert_int_equal(run("update", opt, "--mapping", F.mapping,
			     "--dry-run=1", NULL), 64);
	assert_non_null(strstr(F.err.ptr, "--dry-run takes no value"));
	expect_in(F.log, "--dry-run takes no value");
	snprintf(opt, sizeof(opt), "--store=%s", F.store);
	{
		char map[160], log[160];

		snprintf(map, sizeof(map), "--mapping=%s", F.mapping);
		snprintf(log, sizeof(log), "--log=%s", F.log);
		assert_int_equal(run("update", opt, map, log,
				     "--profile=Outlook", NULL), 0);
	}
	expect_in(F.log, "update: exit status 0");
	expect_in(F.log, "a1b2-alice");
	assert_int_equal(run("update", "--frob=1", NULL), 64);
	assert_non_null(strstr(F.err.ptr, "unknown option '--frob'"));
}

/* ---- 4: profswitchw.exe with no arguments ----------------------------- */

static char *exe_dir_answer;

static int fake_exe_dir(ps_system *sys, char **out)
{
	(void)sys;
	if (!exe_dir_answer)
		return ps_error_setc(PS_ENOTFOUND, "unknown");
	*out = strdup(exe_dir_answer);
	return 0;
}

/* The store Windows would open without --store: the test's export. */
static int own_store(void *ctx, const char *path, ps_store **out)
{
	assert_null(path);
	return ps_fakestore_open(out, ctx, F.store);
}

static int run_no_args(void)
{
	ps_system *sys = NULL;
	ps_system_ops ops;
	const ps_system_ops *saved;
	ps_app_env env;
	FILE *fo = tmpfile(), *fe = tmpfile();
	char *argv[] = { (char *)"profswitchw.exe", NULL };
	int status;

	assert_non_null(fo);
	assert_non_null(fe);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	saved = sys->ops;
	ops = *saved;
	ops.exe_dir = fake_exe_dir;
	sys->ops = &ops;
	ps_posix_app_env(&env, sys, fo, fe);
	env.ini_beside_exe = 1;
	env.own_store = 1;
	env.open_store = own_store;
	status = ps_app_main(&env, 1, argv);
	sys->ops = saved;
	ps_sys_free(sys);
	fclose(fo);
	fclose(fe);
	return status;
}

static void test_ini_beside_exe(void **state)
{
	ps_system *sys = NULL;
	ps_system_ops ops;
	const ps_system_ops *saved;
	char *path = NULL, exe[128], ini[160], cfg[256];

	(void)state;
	snprintf(exe, sizeof(exe), "%s/bin", F.dir);
	snprintf(ini, sizeof(ini), "%s/profswitch.ini", exe);
	mkdir(exe, 0700);
	/* The decision: the file beside the executable, or a message
	 * saying where it was looked for. */
	assert_int_equal(ps_posix_system_new(&sys), 0);
	saved = sys->ops;
	ops = *saved;
	ops.exe_dir = fake_exe_dir;
	sys->ops = &ops;
	exe_dir_answer = exe;
	assert_int_equal(ps_app_ini_beside_exe(sys, &path), PS_ENOTFOUND);
	assert_null(path);
	assert_non_null(strstr(ps_error_last(), ini));
	snprintf(cfg, sizeof(cfg), "[Settings]\nOST=keep\nMapping=%s\n"
		 "LogFile=%s\n", F.mapping, F.log);
	put_file(ini, cfg);
	assert_int_equal(ps_app_ini_beside_exe(sys, &path), 0);
	assert_string_equal(path, ini);
	free(path);
	exe_dir_answer = NULL;
	assert_int_equal(ps_app_ini_beside_exe(sys, &path), PS_ENOTFOUND);
	sys->ops = saved;
	ps_sys_free(sys);
	/* The run: update --config that file. */
	exe_dir_answer = exe;
	assert_int_equal(run_no_args(), 0);
	expect_in(F.log, "update: exit status 0");
	expect_in(F.log, "a1b2-alice");
	/* Without it: exit 64, in the default log. */
	unlink(ini);
	assert_int_equal(run_no_args(), 64);
	expect_in(F.deflog, "(no command): exit status 64: no command "
		  "given, and no profswitch.ini beside the program");
	expect_in(F.deflog, ini);
	exe_dir_answer = NULL;
	rmdir(exe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bad_config_logged_by_default,
				       reset),
		cmocka_unit_test_setup(test_missing_config_logged, reset),
		cmocka_unit_test_setup(test_bad_mapping_logged_in_logfile,
				       reset),
		cmocka_unit_test_setup(test_missing_store_logged, reset),
		cmocka_unit_test_setup(test_bad_option_logged, reset),
		cmocka_unit_test_setup(test_no_or_unknown_command_logged,
				       reset),
		cmocka_unit_test_setup(test_log_line_sanitised, reset),
		cmocka_unit_test_setup(test_success_and_usage_logged, reset),
		cmocka_unit_test_setup(test_report_expanded_and_readable,
				       reset),
		cmocka_unit_test_setup(test_report_falls_back_locally, reset),
		cmocka_unit_test_setup(test_command_help, reset),
		cmocka_unit_test_setup(test_option_equals_value, reset),
		cmocka_unit_test_setup(test_ini_beside_exe, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
