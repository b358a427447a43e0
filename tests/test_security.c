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

/* Encoder and decoder share one limit: exactly at it a generation is
 * written and read back; one past it is never written. */
static void test_backup_limits_shared(void **state)
{
	ps_generation g, back;
	ps_gen_section *secs = calloc(PS_GEN_MAX_SECTIONS + 1, sizeof(*secs));
	ps_buf b = PS_BUF_INIT;
	size_t i;

	(void)state;
	assert_non_null(secs);
	memset(&g, 0, sizeof(g));
	g.state = PS_GEN_COMMITTED;
	for (i = 0; i <= PS_GEN_MAX_SECTIONS; i++) {
		secs[i].uid.b[0] = (uint8_t)i;
		secs[i].uid.b[1] = (uint8_t)(i >> 8);
		ps_proplist_set(&secs[i].props, 0x66010003, "\x80\1\0\0", 4);
	}
	for (i = 0; i < PS_GEN_MAX_PROPS - 1; i++)
		ps_proplist_set(&secs[0].props,
				PS_PROP_TAG(PS_PT_LONG, 0x1000 + i), "1234", 4);
	assert_int_equal(secs[0].props.n, PS_GEN_MAX_PROPS);
	g.secs = secs;
	g.nsecs = PS_GEN_MAX_SECTIONS;
	assert_int_equal(ps_gen_encode(&g, &b), 0);
	assert_int_equal(ps_gen_decode(&back, (uint8_t *)b.ptr, b.len), 0);
	assert_int_equal(back.nsecs, PS_GEN_MAX_SECTIONS);
	assert_int_equal(back.secs[0].props.n, PS_GEN_MAX_PROPS);
	ps_gen_free(&back);
	ps_buf_free(&b);
	/* One section too many. */
	g.nsecs = PS_GEN_MAX_SECTIONS + 1;
	assert_int_equal(ps_gen_encode(&g, &b), PS_ELIMIT);
	assert_int_equal(b.len, 0);
	assert_non_null(strstr(ps_error_last(), "at most 1024"));
	/* One property too many. */
	g.nsecs = PS_GEN_MAX_SECTIONS;
	ps_proplist_set(&secs[0].props, PS_PROP_TAG(PS_PT_LONG, 0x0FFF),
			"1234", 4);
	assert_int_equal(ps_gen_check(&g), PS_ELIMIT);
	assert_non_null(strstr(ps_error_last(), "at most 4096"));
	for (i = 0; i <= PS_GEN_MAX_SECTIONS; i++)
		ps_proplist_free(&secs[i].props);
	free(secs);
}

/* The fixture with alice's emsmdb section padded to `total` props. */
static void write_store_with_props(size_t total)
{
	ps_regtree t;
	ps_buf out = PS_BUF_INIT, path = PS_BUF_INIT;
	ps_regkey *k;
	size_t i, have = 0;
	uint32_t tag;
	FILE *fp;

	tu_fixture(&t);
	ps_buf_printf(&path, "%s\\Outlook\\%s", TU_PROFILES, TU_EMS_A);
	k = ps_regkey_find(t.root, path.ptr);
	assert_non_null(k);
	for (i = 0; i < k->nval; i++)
		if (ps_prop_parse_name(k->vals[i].name, &tag) == 0)
			have++;
	for (i = 0; have < total; i++, have++)
		tu_set(&t, "Outlook", TU_EMS_A,
		       PS_PROP_TAG(PS_PT_LONG, 0x1000 + i), "1234", 4);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	fp = fopen(store, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(out.ptr, 1, out.len, fp), out.len);
	fclose(fp);
	ps_regtree_free(&t);
	ps_buf_free(&out);
	ps_buf_free(&path);
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
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return d;
}

/* An update whose backup would be over the limit does not happen: the
 * store is untouched and the row says why; at the limit it goes through
 * and rolls back. */
static void test_update_that_cannot_be_backed_up(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	char *before, *after;
	size_t blen, alen;
	int rc;

	(void)state;
	write_store_with_props(PS_GEN_MAX_PROPS + 1);
	before = slurp(store, &blen);
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	assert_int_equal(rc & 1, 1);
	after = slurp(store, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	if (!strstr(out.ptr, "at most 4096"))
		fail_msg("no reason given:\n%s%s", out.ptr, err.ptr);
	free(before);
	free(after);

	write_store_with_props(PS_GEN_MAX_PROPS);
	before = slurp(store, &blen);
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	if (rc)
		fail_msg("update at the limit: exit %d\n%s%s", rc, out.ptr,
			 err.ptr);
	rc = tu_run(&out, &err, "rollback", "--store", store, NULL);
	if (rc)
		fail_msg("rollback at the limit: exit %d\n%s%s", rc, out.ptr,
			 err.ptr);
	after = slurp(store, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	ps_buf_free(&out);
	ps_buf_free(&err);
}

/* A mapping that never settles is refused, naming both lines. */
static void test_mapping_cycles_and_chains(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	int rc;

	(void)state;
	put_text(mapping, "SourceLegacyDN|TargetLegacyDN\n"
		 "/o=F/cn=a|/o=C/cn=a\n"
		 "/o=X/cn=keep|/o=C/cn=keep\n"
		 "/o=C/cn=a|/o=F/cn=a\n");
	rc = tu_run(&out, &err, "mapping", "check", mapping, NULL);
	assert_int_equal(rc, 65);
	assert_non_null(strstr(out.ptr, "m.puf:2: TargetLegacyDN '/o=C/cn=a' "
			       "is the SourceLegacyDN of line 4: a cycle"));
	assert_non_null(strstr(out.ptr, "m.puf:4:"));
	assert_null(strstr(out.ptr, "m.puf:3:"));
	put_text(mapping, "SourceLegacyDN|TargetLegacyDN\n"
		 "/o=F/cn=a|/o=C/cn=a\n"
		 "/o=C/cn=a|/o=D/cn=a\n");
	rc = tu_run(&out, &err, "mapping", "check", mapping, NULL);
	assert_int_equal(rc, 65);
	assert_non_null(strstr(out.ptr, "line 3: a chain"));
	/* update refuses it too, changing nothing */
	write_store_with_props(0);
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	assert_int_equal(rc, 65);
	ps_buf_free(&out);
	ps_buf_free(&err);
}

/* What a spreadsheet leaves in a mapping and makes it match nothing:
 * a no-break space in an address, a line in another delimiter. */
static void test_mapping_invisible_mistakes(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	int rc;

	(void)state;
	put_text(mapping, "SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
		 "/o=F/cn=a|/o=C/cn=a|a\xc2\xa0@contoso.com\n");
	rc = tu_run(&out, &err, "mapping", "check", mapping, NULL);
	assert_int_equal(rc, 65);
	assert_non_null(strstr(out.ptr, "m.puf:2: TargetSMTP"));
	assert_non_null(strstr(out.ptr, "no-break space"));
	put_text(mapping, "SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
		 "/o=F/cn=a|/o=C/cn=a|a@contoso.com\n"
		 "/o=F/cn=b,/o=C/cn=b,b@contoso.com\n");
	rc = tu_run(&out, &err, "mapping", "check", mapping, NULL);
	assert_int_equal(rc, 65);
	assert_non_null(strstr(out.ptr, "m.puf:3: one field, but the header "
			       "has 3 columns separated by '|'; this line "
			       "seems to use ','"));
	ps_buf_free(&out);
	ps_buf_free(&err);
}

/* A = A to B, then a new mapping B to A: the second update would undo
 * the first and add a generation at every swap; it is blocked and the
 * store stays as the first update left it. */
static void test_update_never_undoes_last_generation(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	char *before, *after;
	size_t blen, alen;
	int rc;

	(void)state;
	write_store_with_props(0);
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	assert_int_equal(rc, 0);
	before = slurp(store, &blen);
	put_text(mapping, "SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
		 TU_ALICE_TGT "|" TU_ALICE_SRC "|alice@fabrikam.com\n");
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	if (!(rc & 4) || !strstr(out.ptr, "blocked-ambiguous") ||
	    !strstr(out.ptr, "rollback"))
		fail_msg("exit %d\n%s%s", rc, out.ptr, err.ptr);
	after = slurp(store, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	ps_buf_free(&out);
	ps_buf_free(&err);
}

/* A run killed between writing its temporary copy of the store and
 * renaming it over the store (strace kills it at that rename) leaves the
 * temporary; the next run that writes the store removes it.  A
 * temporary of a process still alive is left alone. */
static void test_stale_temporaries_removed(void **state)
{
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT;
	char cmd[1024], live[256];
	FILE *f;
	int rc, n;

	(void)state;
	if (system("strace -V >/dev/null 2>&1") != 0)
		fail_msg("strace is missing (ci/install-deps.sh installs it)");
	write_store_with_props(0);
	snprintf(cmd, sizeof(cmd), "cd '%s' && strace -f -o /dev/null "
		 "-e trace=rename,renameat,renameat2 -e inject=rename,renameat,"
		 "renameat2:signal=KILL:when=1 '%s' update --store u.reg "
		 "--mapping m.puf >/dev/null 2>&1", dir, PS_PROFSWITCH);
	rc = system(cmd);
	(void)rc;
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '^u.reg.profswitch-'",
		 dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	assert_int_equal(n, 1);         /* the killed run's leftover */
	/* one that a live process (this one) owns must stay */
	snprintf(live, sizeof(live), "%s/u.reg.profswitch-%ld.abcdef", dir,
		 (long)getppid());
	put_text(live, "busy");
	rc = tu_run(&out, &err, "update", "--store", store, "--mapping",
		    mapping, NULL);
	assert_int_equal(rc, 0);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	assert_int_equal(n, 1);         /* only the live one is left */
	assert_int_equal(access(live, F_OK), 0);
	ps_buf_free(&out);
	ps_buf_free(&err);
}

/* inspect prints profile text through the one sanitiser: a display name
 * holding ESC, CR, LF or BEL cannot drive the terminal or forge lines. */
static void test_inspect_output_sanitised(void **state)
{
	ps_regtree t;
	ps_buf out = PS_BUF_INIT, err = PS_BUF_INIT, reg = PS_BUF_INIT;
	FILE *fp;
	int rc;

	(void)state;
	tu_fixture(&t);
	tu_set_uni(&t, "Outlook", TU_SVC_A, PS_ID_DISPLAY_NAME,
		   "evil\x1b[2J\r\nprofile forged\x07");
	assert_int_equal(ps_regtree_write(&t, &reg), 0);
	fp = fopen(store, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(reg.ptr, 1, reg.len, fp), reg.len);
	fclose(fp);
	rc = tu_run(&out, &err, "inspect", store, NULL);
	assert_int_equal(rc, 0);
	assert_null(strchr(out.ptr, 0x1b));
	assert_null(strchr(out.ptr, 0x07));
	assert_null(strchr(out.ptr, '\r'));
	assert_null(strstr(out.ptr, "\nprofile forged"));
	assert_non_null(strstr(out.ptr, "evil"));
	ps_regtree_free(&t);
	ps_buf_free(&reg);
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
		cmocka_unit_test(test_backup_limits_shared),
		cmocka_unit_test_setup_teardown(
			test_update_that_cannot_be_backed_up, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_mapping_cycles_and_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_mapping_invisible_mistakes, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_update_never_undoes_last_generation, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_stale_temporaries_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_inspect_output_sanitised, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
