/*
 * Hostile input that a review broke (docs/security.md): backups that
 * name files profswitch does not manage, backups over the limits,
 * mappings that never settle.  Each test runs the real command line on
 * an export in a temporary folder, with drive C: in that folder too.
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

#include "ps_backup.h"
#include "ps_error.h"
#include "ps_reg.h"
#include "testutil.h"

#define LOCAL "C:\\Users\\alice\\AppData\\Local"
#define MAP_ALICE "SourceLegacyDN|TargetLegacyDN|TargetSMTP\n" \
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com\n"

static char dir[64], store[128], mapping[128], drive[128];

static void put_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

static int exists(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", drive, rel);
	return stat(path, &st) == 0;
}

static int setup(void **state)
{
	char p[512];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ps-sec-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(store, sizeof(store), "%s/u.reg", dir);
	snprintf(mapping, sizeof(mapping), "%s/m.puf", dir);
	snprintf(drive, sizeof(drive), "%s/c", dir);
	put_text(mapping, MAP_ALICE);
	snprintf(p, sizeof(p), "mkdir -p '%s/Users/alice/AppData/Local/"
		 "Microsoft/Outlook/16' '%s/Windows'", drive, drive);
	assert_int_equal(system(p), 0);
	setenv("PROFSWITCH_DRIVE_C", drive, 1);
	setenv("LOCALAPPDATA", LOCAL, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("PROFSWITCH_DRIVE_C");
	return 0;
}

/* The fixture profile with one pending generation (an interrupted
 * update) whose trailer names `path` as a file profswitch wrote. */
static void write_store_with_pending(const char *path, int existed)
{
	ps_regtree t;
	ps_generation g;
	ps_gen_unit unit = { "alice@fabrikam.com", TU_ALICE_SRC,
			     TU_ALICE_TGT };
	ps_gen_file f;
	ps_buf blob = PS_BUF_INIT, out = PS_BUF_INIT;
	FILE *fp;

	memset(&g, 0, sizeof(g));
	memset(&f, 0, sizeof(f));
	f.path = (char *)path;
	f.existed = existed;
	f.written = 1;
	f.data = (uint8_t *)"chosen content\n";
	f.len = existed ? 15 : 0;
	g.state = PS_GEN_PENDING;
	g.units = &unit;
	g.nunits = 1;
	g.files = &f;
	g.nfiles = 1;
	assert_int_equal(ps_gen_encode(&g, &blob), 0);
	tu_fixture(&t);
	tu_set(&t, "Outlook", PS_BACKUP_SECTION,
	       PS_PROP_TAG(PS_PT_BINARY, PS_BACKUP_ID_BASE + 1), blob.ptr,
	       blob.len);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	fp = fopen(store, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(out.ptr, 1, out.len, fp), out.len);
	fclose(fp);
	ps_regtree_free(&t);
	ps_buf_free(&blob);
	ps_buf_free(&out);
}

/* A crafted pending generation cannot make update, rollback or cleanup
 * write or delete a file outside what profswitch manages. */
static void test_backup_cannot_name_any_file(void **state)
{
	static const char *const evil[] = {
		"C:\\Windows\\win.ini",
		/* a managed name, in another user's folder */
		"C:\\Users\\bob\\AppData\\Local\\Microsoft\\Outlook\\"
		"profswitch-contoso.com.xml",
		/* a managed folder, a name it never writes */
		LOCAL "\\Microsoft\\Outlook\\profile.pst",
		/* climbing out of the folder */
		LOCAL "\\Microsoft\\Outlook\\..\\..\\..\\..\\..\\Windows\\"
		"x-autodiscover.xml",
		NULL
	};
	static const char *const rel[] = {
		"Windows/win.ini",
		"Users/bob/AppData/Local/Microsoft/Outlook/"
		"profswitch-contoso.com.xml",
		"Users/alice/AppData/Local/Microsoft/Outlook/profile.pst",
		"Windows/x-autodiscover.xml",
	};
	static const char *const cmds[] = { "update", "rollback", "cleanup" };
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	char winini[512];
	size_t i, c;
	int rc;

	(void)state;
	for (i = 0; evil[i]; i++) {
		for (c = 0; c < 3; c++) {
			write_store_with_pending(evil[i], 1);
			if (c == 0)
				rc = tu_run(&out, &err, "update", "--store",
					    store, "--mapping", mapping,
					    NULL);
			else
				rc = tu_run(&out, &err, cmds[c], "--store",
					    store, NULL);
			if (exists(rel[i]))
				fail_msg("%s wrote %s named by a backup (exit "
					 "%d): %s", cmds[c], evil[i], rc,
					 err.ptr ? err.ptr : "");
			if (c < 2 && !(rc & 4) && rc != 65)
				fail_msg("%s on %s: exit %d, want blocked "
					 "(4)\n%s%s", cmds[c], evil[i], rc,
					 out.ptr ? out.ptr : "",
					 err.ptr ? err.ptr : "");
		}
	}
	/* And a file that is there is never deleted on a backup's word. */
	snprintf(winini, sizeof(winini), "%s/Windows/win.ini", drive);
	put_text(winini, "keep me\n");
	write_store_with_pending("C:\\Windows\\win.ini", 0);
	tu_run(&out, &err, "cleanup", "--store", store, NULL);
	tu_run(&out, &err, "update", "--store", store, "--mapping", mapping,
	       NULL);
	assert_true(exists("Windows/win.ini"));
	ps_buf_free(&out);
	ps_buf_free(&err);
}

/* The control: a file profswitch does manage, in its folder, is put
 * back from an interrupted update as before. */
static void test_backup_restores_managed_file(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	int rc;

	(void)state;
	write_store_with_pending(LOCAL "\\Microsoft\\Outlook\\"
				 "profswitch-contoso.com.xml", 1);
	rc = tu_run(&out, &err, "rollback", "--store", store, NULL);
	if (rc)
		fail_msg("rollback exit %d\n%s%s", rc, out.ptr, err.ptr);
	assert_true(exists("Users/alice/AppData/Local/Microsoft/Outlook/"
			   "profswitch-contoso.com.xml"));
	ps_buf_free(&out);
	ps_buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_backup_cannot_name_any_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_backup_restores_managed_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
