/*
 * The command line through ps_app_main with the real POSIX system port
 * and the fake store, on files in a temporary folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_app.h"
#include "ps_error.h"
#include "ps_posix.h"
#include "ps_prop.h"
#include "testutil.h"

typedef struct cli {
	char dir[64];
	char store[96], mapping[96], config[96], report[96], log[96];
	ps_buf out, err;
	ps_buf original;   /* what the store must still hold */
	ps_buf pristine;   /* the fixture export */
} cli;

static cli C;

static void put_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void get_file(const char *path, ps_buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;

	ps_buf_clear(b);
	if (!f)
		return;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ps_buf_put(b, chunk, n);
	fclose(f);
}

#define run(...) tu_run(&C.out, &C.err, __VA_ARGS__)

static int store_unchanged(void)
{
	ps_buf now = PS_BUF_INIT;
	int same;

	get_file(C.store, &now);
	same = now.len == C.original.len &&
	       !memcmp(now.ptr, C.original.ptr, now.len);
	ps_buf_free(&now);
	return same;
}

static void expect_err(const char *text)
{
	if (!C.err.ptr || !strstr(C.err.ptr, text))
		fail_msg("stderr lacks '%s':\n%s", text,
			 C.err.ptr ? C.err.ptr : "");
}

static const char mapping_ok[] =
	"SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com\n";

static int setup(void **state)
{
	ps_regtree t;

	(void)state;
	memset(&C, 0, sizeof(C));
	snprintf(C.dir, sizeof(C.dir), "/tmp/ps-cli-XXXXXX");
	assert_non_null(mkdtemp(C.dir));
	snprintf(C.store, sizeof(C.store), "%s/u.reg", C.dir);
	snprintf(C.mapping, sizeof(C.mapping), "%s/mbm.puf", C.dir);
	snprintf(C.config, sizeof(C.config), "%s/profswitch.ini", C.dir);
	snprintf(C.report, sizeof(C.report), "%s/report.json", C.dir);
	snprintf(C.log, sizeof(C.log), "%s/run.log", C.dir);
	tu_fixture(&t);
	assert_int_equal(ps_regtree_write(&t, &C.pristine), 0);
	ps_regtree_free(&t);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	ps_buf_clear(&C.original);
	ps_buf_put(&C.original, C.pristine.ptr, C.pristine.len);
	put_file(C.store, C.original.ptr, C.original.len);
	put_file(C.mapping, mapping_ok, sizeof(mapping_ok) - 1);
	put_file(C.config, "[Settings]\r\nOST=keep\r\n", 22);
	unlink(C.report);
	unlink(C.log);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(C.store);
	unlink(C.mapping);
	unlink(C.config);
	unlink(C.report);
	unlink(C.log);
	{
		char lockf[128];

		snprintf(lockf, sizeof(lockf), "%s/.u.reg.profswitch-lock",
			 C.dir);
		unlink(lockf);
	}
	rmdir(C.dir);
	ps_buf_free(&C.out);
	ps_buf_free(&C.err);
	ps_buf_free(&C.original);
	ps_buf_free(&C.pristine);
	return 0;
}

static void test_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run(NULL), 64);
	assert_int_equal(run("frobnicate", NULL), 64);
	expect_err("unknown command 'frobnicate'");
	assert_int_equal(run("update", "--store", C.store, "--bogus", NULL),
			 64);
	expect_err("unknown option '--bogus'");
	assert_int_equal(run("rollback", "--store", C.store, "--dry-run",
			     NULL), 64);
	assert_int_equal(run("update", "--store", C.store, NULL), 64);
	expect_err("no mapping");
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--report", "x.txt", NULL), 64);
	expect_err(".csv or .json");
	assert_int_equal(run("update", "--mapping", C.mapping, NULL), 64);
	expect_err("--store");
	assert_true(store_unchanged());
	assert_int_equal(run("--version", NULL), 0);
	assert_non_null(strstr(C.out.ptr, "profswitch "));
}

static void test_bad_config_changes_nothing(void **state)
{
	static const char bad[] = "[Settings]\nOST=sometimes\n";

	(void)state;
	put_file(C.config, bad, sizeof(bad) - 1);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, NULL), 64);
	expect_err("profswitch.ini:2:");
	expect_err("OST");
	assert_true(store_unchanged());
}

/* --help says what --store and STORE take: exports and hives, folders
 * for rehearse. */
static void test_help_names_stores(void **state)
{
	(void)state;
	assert_int_equal(run("--help", NULL), 0);
	assert_non_null(strstr(C.out.ptr, "--store PATH"));
	assert_non_null(strstr(C.out.ptr, "a .reg export or an NTUSER.DAT "
			       "hive"));
	assert_non_null(strstr(C.out.ptr, "rehearse also takes folders"));
}

/* A key the tool does not act on is refused, not ignored: exit 64. */
static void test_clear_nicknames_exit_64(void **state)
{
	static const char cfg[] = "[Settings]\nOST=keep\nClearNicknames=1\n";

	(void)state;
	put_file(C.config, cfg, sizeof(cfg) - 1);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, NULL), 64);
	expect_err("profswitch.ini:3: ClearNicknames is not supported");
	expect_err("nothing was changed");
	assert_true(store_unchanged());
}

static void test_bad_mapping_changes_nothing(void **state)
{
	static const char bad[] = "SourceLegacyDN|TargetLegacyDN\n"
		TU_ALICE_SRC "|" TU_ALICE_TGT "\n"
		"alice@fabrikam.com|" TU_BOB_TGT "\n";

	(void)state;
	put_file(C.mapping, bad, sizeof(bad) - 1);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, NULL), 65);
	expect_err("mbm.puf:3:");
	assert_true(store_unchanged());
}

static void test_unreadable_inputs(void **state)
{
	(void)state;
	assert_int_equal(run("update", "--store", "/nonexistent/u.reg",
			     "--mapping", C.mapping, NULL), 66);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     "/nonexistent/m.puf", NULL), 66);
	put_file(C.store, C.original.ptr, C.original.len - 7);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, NULL), 66);
	expect_err("u.reg:");
	expect_err("nothing was changed");
}

static void test_outlook_running_defers(void **state)
{
	(void)state;
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--simulate-running", "OUTLOOK.EXE",
			     "--report", C.report, NULL), 2);
	assert_non_null(strstr(C.out.ptr, "deferred-running"));
	assert_true(store_unchanged());
	/* Not a MAPI client: no effect. */
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--simulate-running", "notepad.exe",
			     NULL), 0);
	assert_false(store_unchanged());
}

static void put_config(const char *text)
{
	put_file(C.config, text, strlen(text));
}

static int guarded(const char *spec)
{
	return run("update", "--store", C.store, "--mapping", C.mapping,
		   "--config", C.config, "--simulate-running", spec,
		   "--report", C.report, NULL);
}

static void test_guard_wait_and_close(void **state)
{
	(void)state;
	put_config("[Settings]\nOutlookRunning=wait\nWaitSeconds=60\n");
	assert_int_equal(guarded("outlook.exe:exit-after=20"), 0);
	assert_false(store_unchanged());
	assert_non_null(strstr(C.out.ptr, "updated"));

	reset(NULL);
	put_config("[Settings]\nOutlookRunning=wait\nWaitSeconds=10\n");
	assert_int_equal(guarded("outlook.exe:exit-after=30"), 2);
	assert_non_null(strstr(C.out.ptr, "deferred-running"));
	assert_true(store_unchanged());

	reset(NULL);
	put_config("[Settings]\nOutlookRunning=close\nWaitSeconds=10\n");
	assert_int_equal(guarded("OUTLOOK.EXE:close=accept"), 0);
	assert_false(store_unchanged());

	reset(NULL);
	put_config("[Settings]\nOutlookRunning=close\nWaitSeconds=10\n");
	assert_int_equal(guarded("outlook.exe:close=refuse"), 2);
	assert_true(store_unchanged());
}

static void test_guard_global_timeout(void **state)
{
	(void)state;
	put_config("[Settings]\nOutlookRunning=wait\nWaitSeconds=60\n"
		   "GlobalTimeoutSeconds=5\n");
	assert_int_equal(guarded("outlook.exe:exit-after=30"), 2);
	assert_non_null(strstr(C.out.ptr, "deferred-timeout"));
	assert_true(store_unchanged());
}

static void test_guard_bad_spec(void **state)
{
	(void)state;
	assert_int_equal(guarded("outlook.exe:exit-after=soon"), 64);
	expect_err("NAME[:exit-after=SECONDS]");
	assert_true(store_unchanged());
}

/* The store lock is an flock on the lock file beside the store
 * (docs/guards.md), held here as another run would hold it. */
static int hold_lock(void)
{
	char lockf[128];
	int fd;

	snprintf(lockf, sizeof(lockf), "%s/.u.reg.profswitch-lock", C.dir);
	fd = open(lockf, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	return fd;
}

static void test_locked_store_defers(void **state)
{
	int fd = hold_lock();

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	put_config("[Settings]\nWaitSeconds=0\n");
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, NULL), 2);
	assert_non_null(strstr(C.out.ptr, "deferred-locked"));
	assert_true(store_unchanged());
	/* A dry run does not need the lock. */
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--dry-run", NULL), 0);
	close(fd);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, NULL), 0);
	assert_false(store_unchanged());
}

static void test_run_after_and_log_fallback(void **state)
{
	ps_buf b = PS_BUF_INIT, path = PS_BUF_INIT;

	(void)state;
	setenv("XDG_STATE_HOME", C.dir, 1);
	put_config("[Settings]\nRunAfter=outlook.exe /recycle\n"
		   "LogFile=/nonexistent-share/logs/run.log\n");
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, "--report",
			     C.report, NULL), 0);
	expect_err("cannot write the log /nonexistent-share/logs/run.log");
	get_file(C.report, &b);
	assert_non_null(strstr(b.ptr, "\"fallback\": true"));
	assert_non_null(strstr(b.ptr, "\"command\": \"outlook.exe "
				      "/recycle\""));
	assert_non_null(strstr(b.ptr, "not executed"));
	ps_buf_printf(&path, "%s/profswitch/run.log", C.dir);
	get_file(path.ptr, &b);
	assert_non_null(strstr(b.ptr, "RunAfter 'outlook.exe /recycle'"));
	unlink(path.ptr);
	ps_buf_clear(&path);
	ps_buf_printf(&path, "%s/profswitch", C.dir);
	rmdir(path.ptr);
	/* A bad mapping still starts RunAfter: the user gets Outlook. */
	put_file(C.mapping, "junk\n", 5);
	put_config("[Settings]\nRunAfter=outlook.exe\n");
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, "-v", NULL), 65);
	expect_err("RunAfter 'outlook.exe'");
	ps_buf_free(&b);
	ps_buf_free(&path);
}

/* LogFile through a symbolic link: refused (profile text would be
 * appended wherever it points), the log goes to the local folder. */
static void test_log_symlink_refused(void **state)
{
	ps_buf b = PS_BUF_INIT, path = PS_BUF_INIT, cfg = PS_BUF_INIT;
	char target[128], link[128];

	(void)state;
	setenv("XDG_STATE_HOME", C.dir, 1);
	snprintf(target, sizeof(target), "%s/victim.txt", C.dir);
	snprintf(link, sizeof(link), "%s/link.log", C.dir);
	put_file(target, "precious\n", 9);
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	ps_buf_printf(&cfg, "[Settings]\nLogFile=%s\n", link);
	put_config(cfg.ptr);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, "--report",
			     C.report, NULL), 0);
	expect_err("link.log: is a symbolic link");
	get_file(target, &b);
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.ptr, "precious\n", 9);
	get_file(C.report, &b);
	assert_non_null(strstr(b.ptr, "\"fallback\": true"));
	ps_buf_printf(&path, "%s/profswitch/link.log", C.dir);
	get_file(path.ptr, &b);
	assert_non_null(strstr(b.ptr, "exit status 0"));
	unlink(path.ptr);
	ps_buf_clear(&path);
	ps_buf_printf(&path, "%s/profswitch", C.dir);
	rmdir(path.ptr);
	unlink(link);
	unlink(target);
	ps_buf_free(&b);
	ps_buf_free(&path);
	ps_buf_free(&cfg);
}

static void on_alarm(int sig)
{
	(void)sig;
	/* A hang is a failure, not a stuck test suite. */
	_exit(99);
}

/* A FIFO as LogFile or as --ca-file is refused at once (no reader or
 * writer would ever come): nothing waits while the store is locked. */
static void test_log_and_ca_fifo_refused(void **state)
{
	ps_buf b = PS_BUF_INIT, path = PS_BUF_INIT, cfg = PS_BUF_INIT;
	char fifo[128];

	(void)state;
	setenv("XDG_STATE_HOME", C.dir, 1);
	snprintf(fifo, sizeof(fifo), "%s/fifo.log", C.dir);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	ps_buf_printf(&cfg, "[Settings]\nLogFile=%s\n", fifo);
	put_config(cfg.ptr);
	signal(SIGALRM, on_alarm);
	alarm(20);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, NULL), 0);
	expect_err("fifo.log: not a regular file");
	assert_false(store_unchanged());
	ps_buf_printf(&path, "%s/profswitch/fifo.log", C.dir);
	get_file(path.ptr, &b);
	assert_non_null(strstr(b.ptr, "exit status 0"));
	unlink(path.ptr);
	ps_buf_clear(&path);
	ps_buf_printf(&path, "%s/profswitch", C.dir);
	rmdir(path.ptr);
	/* --ca-file: refused before any request. */
	assert_int_equal(run("autodiscover", "alice@contoso.com", "--url",
			     "http://127.0.0.1:9/autodiscover/autodiscover"
			     ".xml", "--ca-file", fifo, NULL), 66);
	expect_err("fifo.log: not a regular file");
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	unlink(fifo);
	ps_buf_free(&b);
	ps_buf_free(&path);
	ps_buf_free(&cfg);
}

static void test_inspect_policies(void **state)
{
	ps_regtree t;
	ps_regkey *k = NULL;
	ps_buf b = PS_BUF_INIT;
	uint8_t one[4] = { 1, 0, 0, 0 };

	(void)state;
	tu_fixture(&t);
	assert_int_equal(ps_regkey_create(t.root, "HKEY_CURRENT_USER\\"
		"Software\\Policies\\Microsoft\\Office\\16.0\\"
		"Outlook\\Cached Mode", &k), 0);
	ps_regkey_set(k, "Enable", 4, one, 4);
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	put_file(C.store, b.ptr, b.len);
	put_config("[Settings]\nCachedMode=off\n");
	assert_int_equal(run("inspect", C.store, NULL), 0);
	assert_non_null(strstr(C.out.ptr, "Cached Mode\\Enable = 1: "
				      "enforces cached mode on"));
	assert_null(strstr(C.out.ptr, "profile Outlook: blocked"));
	assert_int_equal(run("inspect", C.store, "--config", C.config,
			     "--mapping", C.mapping, NULL), 0);
	assert_non_null(strstr(C.out.ptr, "profile Outlook: blocked: policy"));
	/* And the update itself is blocked, nothing written. */
	get_file(C.store, &C.original);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, NULL), 4);
	assert_non_null(strstr(C.out.ptr, "blocked-policy"));
	assert_true(store_unchanged());
	ps_buf_free(&b);
}

/* Raw bytes a hostile profile can put in an account name: none of them
 * may reach the terminal (stdout table, stderr echo) or the log. */
static int has_control(const ps_buf *b, int newlines_ok)
{
	size_t i;

	for (i = 0; b->ptr && i < b->len; i++) {
		unsigned char c = (unsigned char)b->ptr[i];

		if ((c < 0x20 && !(newlines_ok && c == '\n')) || c == 0x7f)
			return 1;
		if (c == 0xC2 && i + 1 < b->len &&
		    (unsigned char)b->ptr[i + 1] <= 0x9F)
			return 1;
	}
	return 0;
}

static void test_hostile_account_name_sanitised(void **state)
{
	static const char evil[] = "ali\x1b[2J\x1b]0;pwn\ace\r\nX\t\xC2\x9B"
		"31m";
	ps_buf logtext = PS_BUF_INIT;
	ps_regtree t;
	ps_buf b = PS_BUF_INIT;

	(void)state;
	tu_fixture(&t);
	tu_set_uni(&t, "Outlook", TU_SVC_A, PS_ID_DISPLAY_NAME, evil);
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	put_file(C.store, b.ptr, b.len);
	ps_buf_free(&b);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--dry-run", "-v", "--log", C.log,
			     NULL), 0);
	/* One table row per unit, with the name made visible. */
	assert_non_null(strstr(C.out.ptr, "ali?[2J?]0;pwn?ce??X??31m  "));
	assert_false(has_control(&C.out, 1));
	assert_false(has_control(&C.err, 1));
	get_file(C.log, &logtext);
	assert_non_null(strstr(logtext.ptr, "account=\"ali?[2J?]0;pwn?ce??X"
			       "??31m\""));
	assert_false(has_control(&logtext, 1));
	ps_buf_free(&logtext);
}

static void test_symlinked_store_refused(void **state)
{
	char link[128];

	(void)state;
	snprintf(link, sizeof(link), "%s/link.reg", C.dir);
	unlink(link);
	assert_int_equal(symlink(C.store, link), 0);
	assert_int_equal(run("update", "--store", link, "--mapping",
			     C.mapping, NULL), 66);
	expect_err("link.reg: is a symbolic link; profswitch refuses links "
		   "for the store so that a link cannot redirect the write");
	assert_true(store_unchanged());
	/* A dry run (no lock) reads it: refused the same way. */
	assert_int_equal(run("update", "--store", link, "--mapping",
			     C.mapping, "--dry-run", NULL), 66);
	expect_err("link.reg: is a symbolic link; profswitch refuses links");
	unlink(link);
}

/* An administrator's update keeps the user's ownership of the store;
 * a FIFO in the store's place is refused at once, not waited on. */
static void test_store_owner_kept_and_fifo_refused(void **state)
{
	struct stat st;
	char fifo[128];

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo.reg", C.dir);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(run("update", "--store", fifo, "--mapping",
			     C.mapping, NULL), 66);
	expect_err("not a regular file");
	unlink(fifo);
	if (geteuid() != 0)
		skip();   /* only root can give the store to someone else */
	assert_int_equal(chown(C.store, 65534, 65534), 0);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, NULL), 0);
	assert_false(store_unchanged());
	assert_int_equal(stat(C.store, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65534);
}

/* A configuration or mapping others can change is a warning on stderr
 * and in the log; the run goes on (MappingSHA256 is what refuses). */
static void test_writable_inputs_warned(void **state)
{
	ps_buf log = PS_BUF_INIT;

	(void)state;
	assert_int_equal(chmod(C.config, 0666), 0);
	assert_int_equal(chmod(C.mapping, 0664), 0);
	if (getegid() == 0)
		assert_int_equal(chown(C.mapping, (uid_t)-1, 65534), 0);
	assert_int_equal(run("update", "--store", C.store, "--config",
			     C.config, "--mapping", C.mapping, "--log", C.log,
			     "--dry-run", NULL), 0);
	expect_err("warning: the configuration");
	expect_err("can be changed by everyone (mode o+w)");
	expect_err("warning: the mapping");
	expect_err("(mode g+w)");
	get_file(C.log, &log);
	ps_buf_puts(&log, "");
	assert_non_null(strstr(log.ptr, "WARN: the configuration"));
	ps_buf_free(&log);
	/* Read-only for others: no warning. */
	assert_int_equal(chmod(C.config, 0644), 0);
	assert_int_equal(chmod(C.mapping, 0644), 0);
	assert_int_equal(run("update", "--store", C.store, "--config",
			     C.config, "--mapping", C.mapping, "--dry-run",
			     NULL), 0);
	assert_null(strstr(C.err.ptr ? C.err.ptr : "", "warning: the"));
}

static void test_update_json_report_and_log(void **state)
{
	ps_buf b = PS_BUF_INIT;

	(void)state;
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--config", C.config, "--report",
			     C.report, "--log", C.log, NULL), 0);
	assert_false(store_unchanged());
	get_file(C.report, &b);
	assert_non_null(strstr(b.ptr, "\"status\": \"updated\""));
	assert_non_null(strstr(b.ptr, "\"updated\": 1"));
	assert_non_null(strstr(b.ptr, "\"exit_bits\": 0"));
	get_file(C.log, &b);
	assert_non_null(strstr(b.ptr, "account=\"alice@fabrikam.com\": "
				      "updated"));
	/* Second run: already updated, the store is not rewritten. */
	get_file(C.store, &C.original);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--report", C.report, NULL), 0);
	assert_true(store_unchanged());
	assert_non_null(strstr(C.out.ptr, "already-updated"));
	/* Inspect shows the new DN and the backup generation. */
	assert_int_equal(run("inspect", C.store, NULL), 0);
	assert_non_null(strstr(C.out.ptr, TU_ALICE_TGT));
	assert_non_null(strstr(C.out.ptr, "backup generation 01 "
				      "(committed)"));
	/* Rollback, then nothing left to roll back. */
	assert_int_equal(run("rollback", "--store", C.store, "--all", NULL),
			 0);
	assert_int_equal(run("rollback", "--store", C.store, NULL), 0);
	expect_err("nothing to roll back");
	ps_buf_free(&b);
}

static void test_named_and_default_profiles(void **state)
{
	(void)state;
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--profile", "Other", "--dry-run",
			     NULL), 0);
	assert_null(strstr(C.out.ptr ? C.out.ptr : "", "would-update"));
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--default-profile", "--dry-run",
			     NULL), 0);
	assert_non_null(strstr(C.out.ptr, "would-update"));
	assert_true(store_unchanged());
}

/* A sparse file of `size` bytes (reading it would take long; the limit
 * is checked before). */
static void sparse(const char *path, off_t size)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), size), 0);
	assert_int_equal(fclose(f), 0);
}

/* docs/security.md "Limits": the configuration at its 1 MiB limit and
 * one byte past it; the mapping, an export and a CA file one byte past
 * theirs.  A clear message, exit 66, nothing changed. */
static void test_input_size_limits(void **state)
{
	ps_buf ini = PS_BUF_INIT;
	char big[128];
	size_t i;

	(void)state;
	ps_buf_puts(&ini, "[Settings]\n");
	while (1048576 - ini.len > 1024) {
		ps_buf_putc(&ini, ';');
		for (i = 0; i < 1022; i++)
			ps_buf_putc(&ini, 'x');
		ps_buf_putc(&ini, '\n');
	}
	ps_buf_putc(&ini, ';');
	while (ini.len < 1048575)
		ps_buf_putc(&ini, 'y');
	ps_buf_putc(&ini, '\n');
	assert_int_equal(ini.len, 1048576);
	put_file(C.config, ini.ptr, ini.len);
	assert_int_equal(run("update", "--store", C.store, "--config",
			     C.config, "--mapping", C.mapping, "--dry-run",
			     NULL), 0);
	ps_buf_putc(&ini, '\n');
	put_file(C.config, ini.ptr, ini.len);
	assert_int_equal(run("update", "--store", C.store, "--config",
			     C.config, "--mapping", C.mapping, NULL), 66);
	assert_non_null(strstr(C.err.ptr, "1048577 bytes is more than the "
			       "1048576 allowed"));
	ps_buf_free(&ini);

	sparse(C.mapping, (off_t)1024 * 1024 * 1024 + 1);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, NULL), 66);
	assert_non_null(strstr(C.err.ptr, "1073741825 bytes is more than the "
			       "1073741824 allowed"));
	snprintf(big, sizeof(big), "%s/big.reg", C.dir);
	sparse(big, (off_t)512 * 1024 * 1024 + 1);
	assert_int_equal(run("inspect", big, NULL), 66);
	assert_non_null(strstr(C.err.ptr, "larger than the 512 MiB"));
	unlink(big);
	snprintf(big, sizeof(big), "%s/big.pem", C.dir);
	sparse(big, (off_t)4 * 1024 * 1024 + 1);
	assert_int_equal(run("autodiscover", "a@contoso.com", "--ca-file", big,
			     NULL), 66);
	assert_non_null(strstr(C.err.ptr, "CA file larger than 4194304"));
	unlink(big);
	get_file(C.store, &C.out);
	assert_int_equal(C.out.len, C.original.len);
	assert_memory_equal(C.out.ptr, C.original.ptr, C.original.len);
}


/* update says on the terminal which selected profiles have no Exchange
 * account: the report has no row to say it with. */
static void test_update_says_no_exchange_account(void **state)
{
	ps_regtree t;
	ps_buf b = PS_BUF_INIT;
	static const uint8_t pst_uid[16] = {
		0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
		0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x3d
	};

	(void)state;
	tu_fixture(&t);
	/* profile "Home": one PST service only */
	tu_set(&t, "Home", "9207f3e0a3b11019908b08002b2a56c2",
	       PS_PROP_TAG(PS_PT_BINARY, 0x3d0e), pst_uid, 16);
	tu_set_str8(&t, "Home", "3333333333333333333333333333333d", 0x3d09,
		    "MSUPST MS");
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	put_file(C.store, b.ptr, b.len);
	get_file(C.store, &C.original);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--dry-run", NULL), 0);
	expect_err("profswitch: profile 'Home': no Exchange account "
		   "(nothing to update)");
	assert_null(strstr(C.err.ptr, "profile 'Outlook'"));
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, "--profile", "Home", NULL), 0);
	expect_err("profswitch: profile 'Home': no Exchange account "
		   "(nothing to update)");
	assert_true(store_unchanged());
	/* a store without any profile */
	ps_buf_clear(&b);
	tu_tree_init(&t);
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	put_file(C.store, b.ptr, b.len);
	assert_int_equal(run("update", "--store", C.store, "--mapping",
			     C.mapping, NULL), 0);
	expect_err("no Outlook profile in ");
	expect_err("(nothing to update)");
	ps_buf_free(&b);
}

/* inspect labels the Online Archive (a delegate provider whose DN is the
 * account's mailbox DN + "/guid=" + a GUID) as archive, and only that. */
static void test_inspect_labels_archive(void **state)
{
	ps_regtree t;
	ps_buf b = PS_BUF_INIT;
	static const uint8_t provs[5 * 16] = {
		/* TU_PRI_A, TU_PUB_A, TU_DEL_A, then two more */
		0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
		0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x3a,
		0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
		0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x4a,
		0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
		0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x5a,
		0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x6a,
		0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77,
		0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x7a
	};
	/* the DN in another case, as Exchange may write it */
	static const char archive[] = "/O=FABRIKAM/ou=Exchange Administrative "
		"Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
		"/GUID=490C6357-7637-4191-9a67-5201a6d3e8c3";
#define NOT_GUID TU_ALICE_SRC "/guid=not-a-guid"

	(void)state;
	tu_fixture(&t);
	tu_set(&t, "Outlook", TU_SVC_A, PS_PROP_TAG(PS_PT_BINARY, 0x3d00),
	       provs, sizeof(provs));
	tu_set_long(&t, "Outlook", "6666666666666666666666666666666a",
		    0x660a, 2);
	tu_set_str8(&t, "Outlook", "6666666666666666666666666666666a",
		    0x660b, archive);
	tu_set_long(&t, "Outlook", "7777777777777777777777777777777a",
		    0x660a, 2);
	tu_set_uni(&t, "Outlook", "7777777777777777777777777777777a",
		   0x660b, NOT_GUID);
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	put_file(C.store, b.ptr, b.len);
	assert_int_equal(run("inspect", C.store, NULL), 0);
	if (!strstr(C.out.ptr, "      archive              ") ||
	    !strstr(C.out.ptr, archive))
		fail_msg("no archive line:\n%s", C.out.ptr);
	assert_null(strstr(C.out.ptr, "additional mailbox   /O=FABRIKAM"));
	/* bob and the look-alike stay additional mailboxes */
	assert_non_null(strstr(C.out.ptr, "additional mailbox   "
			       TU_BOB_SRC "\n"));
	assert_non_null(strstr(C.out.ptr, "additional mailbox   " NOT_GUID));
	ps_buf_free(&b);
#undef NOT_GUID
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_usage_errors, reset),
		cmocka_unit_test_setup(test_bad_config_changes_nothing, reset),
		cmocka_unit_test_setup(test_clear_nicknames_exit_64, reset),
		cmocka_unit_test_setup(test_help_names_stores, reset),
		cmocka_unit_test_setup(test_bad_mapping_changes_nothing, reset),
		cmocka_unit_test_setup(test_unreadable_inputs, reset),
		cmocka_unit_test_setup(test_outlook_running_defers, reset),
		cmocka_unit_test_setup(test_guard_wait_and_close, reset),
		cmocka_unit_test_setup(test_guard_global_timeout, reset),
		cmocka_unit_test_setup(test_guard_bad_spec, reset),
		cmocka_unit_test_setup(test_locked_store_defers, reset),
		cmocka_unit_test_setup(test_run_after_and_log_fallback, reset),
		cmocka_unit_test_setup(test_log_symlink_refused, reset),
		cmocka_unit_test_setup(test_log_and_ca_fifo_refused, reset),
		cmocka_unit_test_setup(test_inspect_policies, reset),
		cmocka_unit_test_setup(test_symlinked_store_refused, reset),
		cmocka_unit_test_setup(test_hostile_account_name_sanitised,
				       reset),
		cmocka_unit_test_setup(test_store_owner_kept_and_fifo_refused,
				       reset),
		cmocka_unit_test_setup(test_writable_inputs_warned, reset),
		cmocka_unit_test_setup(test_update_json_report_and_log, reset),
		cmocka_unit_test_setup(test_named_and_default_profiles, reset),
		cmocka_unit_test_setup(test_input_size_limits, reset),
		cmocka_unit_test_setup(test_update_says_no_exchange_account,
				       reset),
		cmocka_unit_test_setup(test_inspect_labels_archive, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
