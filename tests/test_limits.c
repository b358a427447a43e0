/*
 * Inputs exactly at their size limits (docs/security.md "Limits"): the
 * size check lets them through and what reads them next says what is
 * wrong, cleanly.  test_cli checks one byte past each limit.  Sparse
 * files keep the disk use at nothing; the reads still allocate the whole
 * size (512 MiB and 1 GiB), so this test is not run under valgrind
 * (ci/valgrind.sh skips it; the ASan run covers it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_fakestore.h"
#include "testutil.h"

static char dir[64];
static ps_buf out, err;

/* A file of `size` bytes that starts with `head` (the rest is a hole). */
static void sparse(const char *path, const void *head, size_t hlen,
		   off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, head, hlen), (ssize_t)hlen);
	assert_int_equal(ftruncate(fd, size), 0);
	assert_int_equal(close(fd), 0);
}

#define run(...) tu_run(&out, &err, __VA_ARGS__)

static void no_limit_message(void)
{
	assert_null(strstr(err.ptr ? err.ptr : "", "more than the"));
	assert_null(strstr(err.ptr ? err.ptr : "", "larger than"));
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ps-limits-XXXXXX");
	assert_non_null(mkdtemp(dir));
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

/* An export of exactly 512 MiB: read in full, then refused by the .reg
 * reader (no header), never by the size check. */
static void test_export_at_limit(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/at.reg", dir);
	sparse(path, "x", 1, (off_t)PS_FAKESTORE_MAX_FILE);
	assert_int_equal(run("inspect", path, NULL), 66);
	no_limit_message();
	assert_non_null(strstr(err.ptr, "at.reg:1:"));
	unlink(path);
}

/* A hive of exactly 512 MiB: through the size check and the memfd into
 * libhivex, which refuses its empty body. */
static void test_hive_at_limit(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/NTUSER.DAT", dir);
	sparse(path, "regf", 4, (off_t)PS_FAKESTORE_MAX_FILE);
	assert_int_equal(run("inspect", path, NULL), 66);
	no_limit_message();
	assert_non_null(strstr(err.ptr, "not a valid registry hive"));
	unlink(path);
}

/* A mapping of exactly 1 GiB: read in full, then refused line by line
 * (its first line has no end within the line limit): exit 65. */
static void test_mapping_at_limit(void **state)
{
	char map[128], store[128];
	ps_regtree t;
	ps_buf b = PS_BUF_INIT;
	FILE *f;

	(void)state;
	snprintf(map, sizeof(map), "%s/at.puf", dir);
	snprintf(store, sizeof(store), "%s/u.reg", dir);
	tu_fixture(&t);
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	f = fopen(store, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b.ptr, 1, b.len, f), b.len);
	assert_int_equal(fclose(f), 0);
	ps_buf_free(&b);
	sparse(map, "SourceLegacyDN", 14, (off_t)1024 * 1024 * 1024);
	assert_int_equal(run("update", "--store", store, "--mapping", map,
			     "--dry-run", NULL), 65);
	no_limit_message();
	assert_non_null(strstr(err.ptr, "at.puf:1:"));
	unlink(map);
}

/* A CA file of exactly 4 MiB is read and refused for holding no
 * certificate, not for its size. */
static void test_ca_file_at_limit(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	sparse(path, "x", 1, (off_t)4 * 1024 * 1024);
	assert_int_equal(run("autodiscover", "a@contoso.com", "--ca-file",
			     path, NULL), 66);
	assert_null(strstr(err.ptr ? err.ptr : "", "larger than"));
	assert_non_null(strstr(err.ptr, "ca.pem"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_at_limit),
		cmocka_unit_test(test_hive_at_limit),
		cmocka_unit_test(test_mapping_at_limit),
		cmocka_unit_test(test_ca_file_at_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
