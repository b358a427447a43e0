/*
 * The system port, version 3: core/system.c (defaults for older backends)
 * and the POSIX backend's Windows paths (platform/posix/posix_system.c):
 * drive C: under $PROFSWITCH_DRIVE_C, LOCALAPPDATA, list_dir, delete_file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_posix.h"
#include "ps_system.h"

#define LAD "C:\\Users\\alice\\AppData\\Local"

/* A fresh drive C: folder per test, and the backend. */
typedef struct fixture {
	char drive[64];
	ps_system *sys;
} fixture;

static void rm_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL) {
		char sub[1024];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rm_tree(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->drive, sizeof(f->drive), "/tmp/ps-sysport-XXXXXX");
	assert_non_null(mkdtemp(f->drive));
	setenv("PROFSWITCH_DRIVE_C", f->drive, 1);
	setenv("LOCALAPPDATA", LAD, 1);
	assert_int_equal(ps_posix_system_new(&f->sys), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	ps_sys_free(f->sys);
	rm_tree(f->drive);
	unsetenv("PROFSWITCH_DRIVE_C");
	unsetenv("LOCALAPPDATA");
	free(f);
	return 0;
}

/* The native path of a file under the drive ("Users/alice/x"). */
static char *native(const fixture *f, const char *rel)
{
	ps_buf b = PS_BUF_INIT;

	ps_buf_printf(&b, "%s/%s", f->drive, rel);
	return ps_buf_detach(&b);
}

static void put_native(const fixture *f, const char *rel, const char *text)
{
	char *p = native(f, rel);
	FILE *fp = fopen(p, "wb");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	free(p);
}

static char *get_native(const fixture *f, const char *rel)
{
	ps_buf b = PS_BUF_INIT;
	char *p = native(f, rel), chunk[256];
	FILE *fp = fopen(p, "rb");
	size_t n;

	free(p);
	if (!fp)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		ps_buf_put(&b, chunk, n);
	fclose(fp);
	return ps_buf_detach(&b);
}

static void mkdir_native(const fixture *f, const char *rel)
{
	char *p = native(f, rel);

	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
}

static void assert_error_has(const char *want)
{
	if (!strstr(ps_error_last(), want))
		fail_msg("message '%s' lacks '%s'", ps_error_last(), want);
}

/* ---- mapping ------------------------------------------------------------ */

static void test_map_backslashes(void **state)
{
	fixture *f = *state;
	uint8_t *data = NULL;
	size_t len = 0;
	char *got;

	mkdir_native(f, "Users");
	put_native(f, "Users/x.txt", "hello");
	assert_int_equal(ps_sys_read_file(f->sys, "C:\\Users\\x.txt", 100,
					  &data, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);
	/* c: lowercase, forward slashes, mixed and doubled separators. */
	assert_int_equal(ps_sys_read_file(f->sys, "c:/Users/x.txt", 100,
					  &data, &len), 0);
	free(data);
	assert_int_equal(ps_sys_read_file(f->sys, "C:\\\\Users/\\x.txt", 100,
					  &data, &len), 0);
	free(data);
	assert_int_equal(ps_sys_write_file(f->sys, "C:/Users\\y.txt", "yy",
					   2), 0);
	got = get_native(f, "Users/y.txt");
	assert_non_null(got);
	assert_string_equal(got, "yy");
	free(got);
	/* Names stay case-sensitive under the drive. */
	assert_int_equal(ps_sys_read_file(f->sys, "C:\\USERS\\x.txt", 100,
					  &data, &len), PS_ENOTFOUND);
	/* The message names the Windows path and where it lives. */
	assert_error_has("C:\\USERS\\x.txt (");
	assert_error_has("/USERS/x.txt)");
}

static void test_map_trailing_slash_in_root(void **state)
{
	fixture *f = *state;
	char root[80];
	uint8_t *data = NULL;
	size_t len = 0;

	snprintf(root, sizeof(root), "%s//", f->drive);
	setenv("PROFSWITCH_DRIVE_C", root, 1);
	put_native(f, "a.txt", "a");
	assert_int_equal(ps_sys_read_file(f->sys, "C:\\a.txt", 10, &data,
					  &len), 0);
	assert_string_equal((char *)data, "a");
	free(data);
}

static void test_native_paths_unchanged(void **state)
{
	fixture *f = *state;
	char *p = native(f, "plain.txt"), *got;
	uint8_t *data = NULL;
	size_t len = 0;

	/* A native path is used as it is, PROFSWITCH_DRIVE_C or not. */
	unsetenv("PROFSWITCH_DRIVE_C");
	assert_int_equal(ps_sys_write_file(f->sys, p, "n", 1), 0);
	assert_int_equal(ps_sys_append_file(f->sys, p, "m", 1), 0);
	assert_int_equal(ps_sys_read_file(f->sys, p, 10, &data, &len), 0);
	assert_int_equal(len, 2);
	free(data);
	got = get_native(f, "plain.txt");
	assert_string_equal(got, "nm");
	free(got);
	/* A relative name with a colon later on is not a drive. */
	assert_int_equal(ps_sys_read_file(f->sys, "x:", 10, &data, &len),
			 PS_ENOTFOUND);
	free(p);
}

static void test_no_drive(void **state)
{
	fixture *f = *state;
	ps_strlist l = PS_STRLIST_INIT;
	uint8_t *data = NULL;
	size_t len = 0;
	void *token = NULL;

	unsetenv("PROFSWITCH_DRIVE_C");
	assert_int_equal(ps_sys_read_file(f->sys, "C:\\Users\\x.xml", 10,
					  &data, &len), PS_ENOTFOUND);
	assert_string_equal(ps_error_last(), "C:\\Users\\x.xml: no drive "
			    "C: on this system (set PROFSWITCH_DRIVE_C)");
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\x.xml", "x", 1),
			 PS_ENOTFOUND);
	assert_int_equal(ps_sys_append_file(f->sys, "c:/x.log", "x", 1),
			 PS_ENOTFOUND);
	assert_int_equal(ps_sys_list_dir(f->sys, "C:\\Users", &l),
			 PS_ENOTFOUND);
	assert_int_equal(l.n, 0);
	assert_int_equal(ps_sys_delete_file(f->sys, "C:\\x.xml"),
			 PS_ENOTFOUND);
	assert_int_equal(ps_sys_lock(f->sys, "C:\\HKCU.reg", &token),
			 PS_ENOTFOUND);
	/* Empty counts as unset. */
	setenv("PROFSWITCH_DRIVE_C", "", 1);
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\x.xml", "x", 1),
			 PS_ENOTFOUND);
	assert_error_has("set PROFSWITCH_DRIVE_C");
}

static void test_other_drives(void **state)
{
	fixture *f = *state;
	uint8_t *data = NULL;
	size_t len = 0;
	char *got;

	put_native(f, "x.txt", "c");
	assert_int_equal(ps_sys_read_file(f->sys, "D:\\x.txt", 10, &data,
					  &len), PS_ENOTFOUND);
	assert_error_has("D:\\x.txt: no drive D: on this system");
	assert_int_equal(ps_sys_write_file(f->sys, "z:/x.txt", "z", 1),
			 PS_ENOTFOUND);
	assert_error_has("no drive Z:");
	got = get_native(f, "x.txt");
	assert_string_equal(got, "c");
	free(got);
}

static void test_dotdot_refused(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
		"C:\\..\\etc\\passwd", "C:\\Users\\..\\..\\x",
		"C:/Users/../x", "C:\\Users\\..", "C:\\a\\..\\", NULL
	};
	ps_strlist l = PS_STRLIST_INIT;
	uint8_t *data = NULL;
	size_t len = 0, i;
	void *token = NULL;
	char *got;

	mkdir_native(f, "a");
	for (i = 0; bad[i]; i++) {
		assert_int_equal(ps_sys_read_file(f->sys, bad[i], 10, &data,
						  &len), PS_ERROR);
		assert_error_has("'..'");
		assert_int_equal(ps_sys_write_file(f->sys, bad[i], "x", 1),
				 PS_ERROR);
		assert_int_equal(ps_sys_append_file(f->sys, bad[i], "x", 1),
				 PS_ERROR);
		assert_int_equal(ps_sys_list_dir(f->sys, bad[i], &l),
				 PS_ERROR);
		assert_int_equal(ps_sys_delete_file(f->sys, bad[i]), PS_ERROR);
		assert_int_equal(ps_sys_lock(f->sys, bad[i], &token),
				 PS_ERROR);
	}
	/* "..x" and "x.." are names, "." is harmless. */
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\a\\..x", "1", 1), 0);
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\a\\.\\x..", "2", 1),
			 0);
	got = get_native(f, "a/..x");
	assert_string_equal(got, "1");
	free(got);
	got = get_native(f, "a/x..");
	assert_string_equal(got, "2");
	free(got);
}

/* ---- write, append -------------------------------------------------- */

static void test_write_creates_folders(void **state)
{
	fixture *f = *state;
	struct stat st;
	char *p, *got;

	assert_int_equal(ps_sys_write_file(f->sys, LAD "\\Microsoft\\Outlook"
					   "\\x.xml", "<x/>", 4), 0);
	got = get_native(f, "Users/alice/AppData/Local/Microsoft/Outlook/"
			 "x.xml");
	assert_non_null(got);
	assert_string_equal(got, "<x/>");
	free(got);
	p = native(f, "Users/alice/AppData");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);
	/* Existing folders are fine; an append creates them as well. */
	assert_int_equal(ps_sys_write_file(f->sys, LAD "\\y.xml", "y", 1), 0);
	assert_int_equal(ps_sys_append_file(f->sys, "C:\\Logs\\a\\b.log",
					    "l1\n", 3), 0);
	assert_int_equal(ps_sys_append_file(f->sys, "C:\\Logs\\a\\b.log",
					    "l2\n", 3), 0);
	got = get_native(f, "Logs/a/b.log");
	assert_string_equal(got, "l1\nl2\n");
	free(got);
	/* A file where a folder should be: an error, nothing written. */
	put_native(f, "Blocked", "file");
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\Blocked\\x.xml", "x",
					   1), PS_EIO);
	assert_error_has("C:\\Blocked\\x.xml (");
}

static void test_write_missing_drive_root(void **state)
{
	fixture *f = *state;
	char gone[96];
	struct stat st;

	snprintf(gone, sizeof(gone), "%s/nonexistent", f->drive);
	setenv("PROFSWITCH_DRIVE_C", gone, 1);
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\Users\\x.xml", "x", 1),
			 PS_ENOTFOUND);
	assert_error_has("(PROFSWITCH_DRIVE_C), which does not exist");
	/* The drive itself is never created. */
	assert_int_equal(stat(gone, &st), -1);
}

static void test_write_keeps_symlink_refusal(void **state)
{
	fixture *f = *state;
	char *target = native(f, "target.txt"), *link = native(f, "link.txt");
	uint8_t *data = NULL;
	size_t len = 0;
	char *got;

	put_native(f, "target.txt", "t");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\link.txt", "x", 1),
			 PS_EIO);
	assert_error_has("symbolic link");
	assert_int_equal(ps_sys_read_file(f->sys, "C:\\link.txt", 10, &data,
					  &len), PS_EIO);
	got = get_native(f, "target.txt");
	assert_string_equal(got, "t");
	free(got);
	free(target);
	free(link);
}

static void test_write_replaces_keeping_mode(void **state)
{
	fixture *f = *state;
	char *p = native(f, "m.txt"), *got;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int n = 0;

	put_native(f, "m.txt", "old");
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\m.txt", "new", 3), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	got = get_native(f, "m.txt");
	assert_string_equal(got, "new");
	free(got);
	/* No temporary file is left beside it. */
	d = opendir(f->drive);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 1);
	free(p);
}

/* ---- list_dir ------------------------------------------------------- */

static void test_list_sorted_files_only(void **state)
{
	fixture *f = *state;
	ps_strlist l = PS_STRLIST_INIT;
	char *target = native(f, "d/b"), *link = native(f, "d/link.xml");

	mkdir_native(f, "d");
	put_native(f, "d/b", "");
	put_native(f, "d/B", "");
	put_native(f, "d/a.xml", "");
	put_native(f, "d/_", "");
	put_native(f, "d/Z", "");
	put_native(f, "d/.hidden", "");
	put_native(f, "d/\xc3\xa9", "");
	mkdir_native(f, "d/sub.xml");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(ps_sys_list_dir(f->sys, "C:\\d", &l), 0);
	/* Byte order; no folder, no symbolic link. */
	assert_int_equal(l.n, 7);
	assert_string_equal(l.v[0], ".hidden");
	assert_string_equal(l.v[1], "B");
	assert_string_equal(l.v[2], "Z");
	assert_string_equal(l.v[3], "_");
	assert_string_equal(l.v[4], "a.xml");
	assert_string_equal(l.v[5], "b");
	assert_string_equal(l.v[6], "\xc3\xa9");
	ps_strlist_free(&l);
	/* A trailing separator and forward slashes name the same folder. */
	assert_int_equal(ps_sys_list_dir(f->sys, "c:/d/", &l), 0);
	assert_int_equal(l.n, 7);
	ps_strlist_free(&l);
	free(target);
	free(link);
}

static void test_list_empty_and_missing(void **state)
{
	fixture *f = *state;
	ps_strlist l = PS_STRLIST_INIT;

	mkdir_native(f, "empty");
	assert_int_equal(ps_sys_list_dir(f->sys, "C:\\empty", &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(ps_sys_list_dir(f->sys, "C:\\missing", &l),
			 PS_ENOTFOUND);
	assert_error_has("C:\\missing (");
	assert_int_equal(l.n, 0);
	/* A file is not a folder. */
	put_native(f, "file", "x");
	assert_int_equal(ps_sys_list_dir(f->sys, "C:\\file", &l),
			 PS_ENOTFOUND);
	assert_int_equal(l.n, 0);
	ps_strlist_free(&l);
}

/* ---- delete_file ---------------------------------------------------- */

static void test_delete(void **state)
{
	fixture *f = *state;
	char *p = native(f, "del.xml");
	struct stat st;

	put_native(f, "del.xml", "x");
	assert_int_equal(ps_sys_delete_file(f->sys, "C:\\del.xml"), 0);
	assert_int_equal(lstat(p, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* Absent: PS_ENOTFOUND, also below a missing folder. */
	assert_int_equal(ps_sys_delete_file(f->sys, "C:\\del.xml"),
			 PS_ENOTFOUND);
	assert_int_equal(ps_sys_delete_file(f->sys, "C:\\no\\del.xml"),
			 PS_ENOTFOUND);
	/* A folder is not deleted. */
	mkdir_native(f, "dir");
	assert_int_equal(ps_sys_delete_file(f->sys, "C:\\dir"), PS_EIO);
	assert_error_has("cannot delete");
	free(p);
	p = native(f, "dir");
	assert_int_equal(stat(p, &st), 0);
	free(p);
}

static void test_delete_symlink_not_target(void **state)
{
	fixture *f = *state;
	char *target = native(f, "keep.txt"), *link = native(f, "l.txt");
	char *got;

	put_native(f, "keep.txt", "k");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(ps_sys_delete_file(f->sys, "C:\\l.txt"), 0);
	got = get_native(f, "keep.txt");
	assert_string_equal(got, "k");
	free(got);
	free(target);
	free(link);
}

/* ---- known_folder, lock --------------------------------------------- */

static void test_known_folder(void **state)
{
	fixture *f = *state;
	char *out = NULL;

	assert_int_equal(ps_sys_known_folder(f->sys, "LocalAppData", &out),
			 0);
	assert_string_equal(out, LAD);
	free(out);
	out = NULL;
	assert_int_equal(ps_sys_known_folder(f->sys, "localappdata", &out),
			 0);
	free(out);
	out = NULL;
	assert_int_equal(ps_sys_known_folder(f->sys, "RoamingAppData", &out),
			 PS_ENOTFOUND);
	assert_null(out);
	unsetenv("LOCALAPPDATA");
	assert_int_equal(ps_sys_known_folder(f->sys, "LocalAppData", &out),
			 PS_ENOTFOUND);
	assert_error_has("set LOCALAPPDATA");
	setenv("LOCALAPPDATA", "", 1);
	assert_int_equal(ps_sys_known_folder(f->sys, "LocalAppData", &out),
			 PS_ENOTFOUND);
	assert_null(out);
}

static void test_lock_mapped(void **state)
{
	fixture *f = *state;
	ps_system *other;
	void *a = NULL, *b = NULL;

	put_native(f, "HKCU.reg", "x");
	assert_int_equal(ps_posix_system_new(&other), 0);
	assert_int_equal(ps_sys_lock(f->sys, "C:\\HKCU.reg", &a), 0);
	assert_non_null(a);
	assert_int_equal(ps_sys_lock(other, "C:\\HKCU.reg", &b), PS_ELOCKED);
	assert_error_has("another profswitch");
	ps_sys_unlock(f->sys, a);
	assert_int_equal(ps_sys_lock(other, "C:/HKCU.reg", &b), 0);
	ps_sys_unlock(other, b);
	assert_int_equal(ps_sys_lock(other, "C:\\none.reg", &b),
			 PS_ENOTFOUND);
	ps_sys_free(other);
}

/* In a child process (flock conflicts between processes, as between two
 * runs): 0 when the lock was taken (and released), PS_ELOCKED when busy,
 * else 2. */
static int child_lock(const char *path)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		ps_system *sys;
		void *t = NULL;
		int rc;

		if (ps_posix_system_new(&sys) < 0)
			_exit(2);
		rc = ps_sys_lock(sys, path, &t);
		if (rc == 0)
			ps_sys_unlock(sys, t);
		_exit(rc == 0 ? 0 : rc == PS_ELOCKED ? 1 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status) == 1
	       ? PS_ELOCKED : 2;
}

/* Issue 15 item 3: a run replaces the store by rename while it holds the
 * lock; a run starting after the rename must still find it held (a lock
 * on the store's own inode was not: both wrote, one update was lost). */
static void test_lock_survives_replace(void **state)
{
	fixture *f = *state;
	struct stat st;
	char *lockf = native(f, ".u.reg.profswitch-lock");
	void *a = NULL;

	put_native(f, "u.reg", "v1");
	assert_int_equal(ps_sys_lock(f->sys, "C:\\u.reg", &a), 0);
	assert_int_equal(child_lock("C:\\u.reg"), PS_ELOCKED);
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\u.reg", "v2", 2), 0);
	assert_int_equal(child_lock("C:\\u.reg"), PS_ELOCKED);
	assert_int_equal(ps_sys_write_file(f->sys, "C:\\u.reg", "v3", 2), 0);
	assert_int_equal(child_lock("C:\\u.reg"), PS_ELOCKED);
	ps_sys_unlock(f->sys, a);
	assert_int_equal(child_lock("C:\\u.reg"), 0);
	/* The lock file: beside the store, empty, 0600, left in place. */
	assert_int_equal(lstat(lockf, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(lockf);
}

/* Two processes contending at the same moment: exactly one holds it. */
static void test_lock_contended_by_two(void **state)
{
	fixture *f = *state;
	int go[2], done[2], res[2], i, got = 0, busy = 0;
	pid_t pid[2];
	char c;

	put_native(f, "u.reg", "v1");
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	assert_int_equal(pipe(res), 0);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			ps_system *sys;
			void *t = NULL;
			char r;

			close(go[1]);
			close(done[1]);
			if (ps_posix_system_new(&sys) < 0 ||
			    read(go[0], &c, 1) != 1)
				_exit(2);
			r = ps_sys_lock(sys, "C:\\u.reg", &t) == 0 ? 'L'
							   : 'B';
			/* hold it until the parent has both answers (the
			 * end of file on done) */
			if (write(res[1], &r, 1) != 1 ||
			    read(done[0], &c, 1) < 0)
				_exit(2);
			_exit(0);
		}
	}
	close(go[0]);
	close(done[0]);
	assert_int_equal(write(go[1], "gg", 2), 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(read(res[0], &c, 1), 1);
		got += c == 'L';
		busy += c == 'B';
	}
	close(go[1]);
	close(done[1]);
	for (i = 0; i < 2; i++)
		assert_int_equal(waitpid(pid[i], NULL, 0), pid[i]);
	close(res[0]);
	close(res[1]);
	assert_int_equal(got, 1);
	assert_int_equal(busy, 1);
}

/* A symbolic link as the store, or planted as its lock file, is refused
 * and saying why; neither target is touched. */
static void test_lock_refuses_links(void **state)
{
	fixture *f = *state;
	char *target = native(f, "real.reg"), *link = native(f, "l.reg");
	char *lockf = native(f, ".u.reg.profswitch-lock");
	char *victim = native(f, "victim");
	char *nolock = native(f, ".l.reg.profswitch-lock");
	void *t = NULL;
	struct stat st;

	put_native(f, "real.reg", "x");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(ps_sys_lock(f->sys, "C:\\l.reg", &t), PS_EIO);
	assert_error_has("l.reg (");
	assert_error_has("is a symbolic link; profswitch refuses links for "
			 "the store so that a link cannot redirect the "
			 "write");
	assert_int_equal(lstat(nolock, &st), -1);
	put_native(f, "u.reg", "v1");
	assert_int_equal(symlink(victim, lockf), 0);
	assert_int_equal(ps_sys_lock(f->sys, "C:\\u.reg", &t), PS_EIO);
	assert_error_has("lock file");
	assert_error_has("symbolic link");
	assert_int_equal(lstat(victim, &st), -1);
	free(target);
	free(link);
	free(lockf);
	free(victim);
	free(nolock);
}

/* ---- older backends (core/system.c) --------------------------------- */

static int calls;

static int never_known(ps_system *sys, const char *name, char **out)
{
	(void)sys;
	(void)name;
	(void)out;
	calls++;
	return 0;
}

static int never_list(ps_system *sys, const char *path, ps_strlist *out)
{
	(void)sys;
	(void)path;
	(void)out;
	calls++;
	return 0;
}

static int never_delete(ps_system *sys, const char *path)
{
	(void)sys;
	(void)path;
	calls++;
	return 0;
}

static void test_older_backend_defaults(void **state)
{
	ps_system_ops ops;
	ps_system sys;
	ps_strlist l = PS_STRLIST_INIT;
	char *out = NULL;

	(void)state;
	memset(&ops, 0, sizeof(ops));
	ops.known_folder = never_known;
	ops.list_dir = never_list;
	ops.delete_file = never_delete;
	sys.ops = &ops;
	calls = 0;
	/* A version-2 backend: the v3 slots are not looked at. */
	ops.version = 2;
	assert_int_equal(ps_sys_known_folder(&sys, "LocalAppData", &out),
			 PS_ENOTFOUND);
	assert_null(out);
	assert_int_equal(ps_sys_list_dir(&sys, "C:\\x", &l), PS_ENOTFOUND);
	assert_int_equal(l.n, 0);
	/* Not PS_ENOTFOUND: nothing was deleted. */
	assert_int_equal(ps_sys_delete_file(&sys, "C:\\x"), PS_ERROR);
	assert_error_has("cannot delete files");
	assert_int_equal(calls, 0);
	/* Version 3 with the methods left out. */
	ops.version = 3;
	ops.known_folder = NULL;
	ops.list_dir = NULL;
	ops.delete_file = NULL;
	assert_int_equal(ps_sys_known_folder(&sys, "LocalAppData", &out),
			 PS_ENOTFOUND);
	assert_int_equal(ps_sys_list_dir(&sys, "C:\\x", &l), PS_ENOTFOUND);
	assert_int_equal(ps_sys_delete_file(&sys, "C:\\x"), PS_ERROR);
	/* Version 3 with them: they are called. */
	ops.known_folder = never_known;
	ops.list_dir = never_list;
	ops.delete_file = never_delete;
	assert_int_equal(ps_sys_known_folder(&sys, "LocalAppData", &out), 0);
	assert_int_equal(ps_sys_list_dir(&sys, "C:\\x", &l), 0);
	assert_int_equal(ps_sys_delete_file(&sys, "C:\\x"), 0);
	assert_int_equal(calls, 3);
	/* Version 3: no hash. */
	{
		uint8_t h[32];

		assert_int_equal(ps_sys_sha256(&sys, "abc", 3, h), PS_ERROR);
		assert_error_has("no SHA-256");
	}
}

/* The POSIX port's SHA-256 (libcrypto) on the FIPS 180-2 examples. */
static void test_sha256(void **state)
{
	static const uint8_t abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
		0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
		0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
		0x15, 0xad };
	static const uint8_t empty[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb,
		0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4,
		0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
		0xb8, 0x55 };
	ps_system *sys;
	uint8_t h[32];

	(void)state;
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_sys_sha256(sys, "abc", 3, h), 0);
	assert_memory_equal(h, abc, 32);
	assert_int_equal(ps_sys_sha256(sys, "", 0, h), 0);
	assert_memory_equal(h, empty, 32);
	ps_sys_free(sys);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_map_backslashes),
		T(test_sha256),
		T(test_map_trailing_slash_in_root),
		T(test_native_paths_unchanged),
		T(test_no_drive),
		T(test_other_drives),
		T(test_dotdot_refused),
		T(test_write_creates_folders),
		T(test_write_missing_drive_root),
		T(test_write_keeps_symlink_refusal),
		T(test_write_replaces_keeping_mode),
		T(test_list_sorted_files_only),
		T(test_list_empty_and_missing),
		T(test_delete),
		T(test_delete_symlink_not_target),
		T(test_known_folder),
		T(test_lock_mapped),
		T(test_lock_survives_replace),
		T(test_lock_contended_by_two),
		T(test_lock_refuses_links),
		cmocka_unit_test(test_older_backend_defaults),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
