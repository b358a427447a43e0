/*
 * NTUSER.DAT hives (fakemapi/hive.c): hives are made at test time from the
 * scenarios' exports by tests/mkhive.py (hivexregedit --merge), loaded and
 * compared with the parsed export, updated through the fake store, and the
 * written hive is read back by us, by hivexregedit --export and by Samba's
 * regshell.  Compaction (fakemapi/hivecompact.c): update and rollback
 * cycles leave the file bounded, a compacted hive keeps every key, value,
 * class name and security descriptor, and a hive that cannot be compacted
 * or a copy that fails a check leaves what libhivex wrote.
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

#include "ps_error.h"
#include "ps_hive.h"
#include "ps_hivecompact.h"
#include "ps_posix.h"
#include "testutil.h"

#define MKHIVE PS_SOURCE_DIR "/tests/mkhive.py"
#define SCEN PS_SOURCE_DIR "/scenarios/"
#define REAL PS_SOURCE_DIR "/../shared/real-profiles/"
#define EMS_UID "1d7c4b9e2a5f4c8e9b3d6a0f1e2c4b7a"
#define PRI_UID "0a0d020000000000c000000000000046"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/ps-test-hive-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void run(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* Make tmpdir/SUB/NTUSER.DAT from a .reg; returns its path (static). */
static const char *make_hive(const char *reg, const char *sub)
{
	static char path[256];
	char cmd[1024];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/NTUSER.DAT", tmpdir, sub);
	snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s'", MKHIVE, reg, path);
	run(cmd);
	return path;
}

static void read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	*data = malloc((size_t)n + 1);
	assert_non_null(*data);
	assert_int_equal(fread(*data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
}

static void write_bytes(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void load_reg(const char *path, ps_regtree *t)
{
	uint8_t *data;
	size_t len;

	read_file(path, &data, &len);
	if (ps_regtree_parse(t, path, data, len))
		fail_msg("%s", ps_error_last());
	free(data);
}

static void load_hive(const char *path, ps_regtree *t)
{
	uint8_t *data;
	size_t len;
	int rc;

	read_file(path, &data, &len);
	rc = ps_hive_load(t, path, data, len);
	if (rc)
		fail_msg("%s", ps_error_last());
	free(data);
}

static void assert_trees_equal(const ps_regtree *expected,
			       const ps_regtree *actual)
{
	ps_buf diff = PS_BUF_INIT;

	if (!ps_regkey_equal(expected->root, actual->root, &diff))
		fail_msg("trees differ (expected vs actual):\n%s", diff.ptr);
	ps_buf_free(&diff);
}

/* A hive made from an export loads as the same tree as the export. */
static void check_same_as_reg(const char *scenario)
{
	char reg[512];
	const char *hive;
	ps_regtree r, h;

	snprintf(reg, sizeof(reg), "%s%s/HKCU.reg", SCEN, scenario);
	hive = make_hive(reg, scenario);
	load_reg(reg, &r);
	load_hive(hive, &h);
	assert_int_equal(h.root->nsub, 1);
	assert_string_equal(h.root->sub[0]->name, "HKEY_CURRENT_USER");
	assert_trees_equal(&r, &h);
	ps_regtree_free(&r);
	ps_regtree_free(&h);
}

static void test_load_equals_export(void **state)
{
	(void)state;
	check_same_as_reg("basic-update");
	check_same_as_reg("unicode-profile-name");
	check_same_as_reg("gpo-cached-mode-enforced");
}

/* What hivexregedit --export (another reader) sees in a hive. */
static void export_with_hivex(const char *hive, ps_regtree *t)
{
	char out[300], cmd[1024];

	snprintf(out, sizeof(out), "%s/export.reg", tmpdir);
	snprintf(cmd, sizeof(cmd), "hivexregedit --export --prefix "
		 "HKEY_CURRENT_USER '%s' '\\' > '%s'", hive, out);
	uint8_t *data;
	size_t len;
	char *root;
	static const char root_line[] = "[HKEY_CURRENT_USER\\]";

	run(cmd);
	read_file(out, &data, &len);
	data[len] = 0;
	/* hivexregedit names the root "[HKEY_CURRENT_USER\\]" (prefix and
	 * the root's path "\\"); a .reg says "[HKEY_CURRENT_USER]". */
	root = strstr((char *)data, root_line);
	assert_non_null(root);
	memmove(root + 18, root + 19, len - (size_t)(root + 19 - (char *)data));
	len--;
	if (ps_regtree_parse(t, out, data, len))
		fail_msg("%s", ps_error_last());
	free(data);
}

static void test_update_written_back(void **state)
{
	const char *hive = make_hive(SCEN "basic-update/HKCU.reg", "alice");
	ps_system *sys = NULL;
	ps_store *s = NULL;
	ps_section *sec = NULL;
	ps_regtree expected, reloaded, exported, original;
	ps_uid uid;
	ps_prop p = { 0, 0, NULL, PS_FORM_DEFAULT };
	char *owner = NULL, cmd[1024], line[512], out[300];
	static const uint8_t marker[] = { 'x', 0, 0, 0 };
	static char exch99[] = "EXCH99";
	FILE *f;
	int found = 0;

	(void)state;
	load_hive(hive, &original);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_fakestore_open(&s, sys, hive), 0);
	/* The owner of .../alice/NTUSER.DAT. */
	assert_int_equal(ps_store_owner(s, &owner), 0);
	assert_string_equal(owner, "alice");
	/* Nothing changed: nothing written. */
	assert_int_equal(ps_store_flush(s), 0);
	/* A property changed, a section deleted, a value added. */
	assert_int_equal(ps_uid_parse(&uid, EMS_UID), 0);
	assert_int_equal(ps_store_open_section(s, "Outlook", &uid, 0, &sec),
			 0);
	p.tag = 0x001e660cu;
	p.data = (uint8_t *)exch99;
	p.len = 7;
	assert_int_equal(ps_store_set_props(s, sec, &p, 1), 0);
	assert_int_equal(ps_store_save_section(s, sec), 0);
	ps_store_close_section(s, sec);
	assert_int_equal(ps_uid_parse(&uid, PRI_UID), 0);
	assert_int_equal(ps_store_delete_section(s, "Outlook", &uid), 0);
	assert_int_equal(ps_store_set_value(s, "", "Marker", 1, marker,
					    sizeof(marker)), 0);
	assert_int_equal(ps_regtree_copy(&expected, ps_fakestore_tree(s)),
			 0);
	assert_false(ps_regkey_equal(original.root, expected.root, NULL));
	assert_int_equal(ps_store_flush(s), 0);
	assert_int_equal(ps_fakestore_dirty(s), 0);
	ps_store_free(s);

	/* Read back by us... */
	load_hive(hive, &reloaded);
	assert_trees_equal(&expected, &reloaded);
	/* ...by hivexregedit... */
	export_with_hivex(hive, &exported);
	assert_trees_equal(&expected, &exported);
	/* ...and by Samba's regshell, which lists the new value. */
	snprintf(out, sizeof(out), "%s/regshell.txt", tmpdir);
	snprintf(cmd, sizeof(cmd), "printf 'cd Software\\ncd Microsoft\\n"
		 "cd Office\\ncd 16.0\\ncd Outlook\\nls\\nexit\\n' | "
		 "regshell -F '%s' > '%s' 2>/dev/null", hive, out);
	run(cmd);
	f = fopen(out, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "\"Marker\" REG_SZ x"))
			found = 1;
	fclose(f);
	assert_true(found);

	ps_regtree_free(&original);
	ps_regtree_free(&expected);
	ps_regtree_free(&reloaded);
	ps_regtree_free(&exported);
	free(owner);
	ps_sys_free(sys);
}

/* A change that cannot be written leaves the file as it was. */
static void test_failed_flush_keeps_file(void **state)
{
	const char *hive = make_hive(SCEN "basic-update/HKCU.reg", "bob");
	ps_system *sys = NULL;
	ps_store *s = NULL;
	uint8_t *data, *cut, *after;
	size_t len, alen;
	static const uint8_t marker[] = { 'x', 0, 0, 0 };

	(void)state;
	read_file(hive, &data, &len);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_fakestore_open(&s, sys, hive), 0);
	assert_int_equal(ps_store_set_value(s, "", "Marker", 1, marker,
					    sizeof(marker)), 0);
	/* The file is damaged behind our back: the flush refuses it. */
	cut = malloc(len);
	assert_non_null(cut);
	memcpy(cut, data, len);
	memset(cut + 0x1000, 0, 64);
	write_bytes(hive, cut, len);
	assert_int_not_equal(ps_store_flush(s), 0);
	assert_non_null(strstr(ps_error_last(), hive));
	assert_int_equal(ps_fakestore_dirty(s), 1);
	read_file(hive, &after, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(after, cut, len);
	ps_store_free(s);
	ps_sys_free(sys);
	free(data);
	free(cut);
	free(after);
}

/* Broken hives are refused with the file's name, and left alone. */
static void check_refused(const char *path, const uint8_t *bytes,
			  size_t len, int code, const char *why)
{
	ps_system *sys = NULL;
	ps_store *s = NULL;
	uint8_t *after;
	size_t alen;

	write_bytes(path, bytes, len);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_fakestore_open(&s, sys, path), code);
	assert_null(s);
	if (strncmp(ps_error_last(), path, strlen(path)) ||
	    !strstr(ps_error_last(), why))
		fail_msg("message \"%s\" should name %s and say \"%s\"",
			 ps_error_last(), path, why);
	read_file(path, &after, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(after, bytes, len);
	free(after);
	ps_sys_free(sys);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void test_broken_hives(void **state)
{
	const char *hive = make_hive(SCEN "basic-update/HKCU.reg", "carol");
	char path[300], reg[300];
	uint8_t *data, *bad;
	size_t len;
	uint32_t root, list, child, clist;
	FILE *f;

	(void)state;
	read_file(hive, &data, &len);
	snprintf(path, sizeof(path), "%s/broken.dat", tmpdir);
	/* Cut after the header and a little of the first bin. */
	check_refused(path, data, 4200, PS_EFORMAT,
		      "not a valid registry hive");
	/* Only the magic. */
	check_refused(path, (const uint8_t *)"regf", 4, PS_EFORMAT,
		      "not a valid registry hive");
	/* fuzz_hive's finding: a value whose data cell is a key's cell
	 * (writing the key changed the value); refused when loaded. */
	{
		uint8_t *shared;
		size_t slen;

		read_file(PS_SOURCE_DIR "/tests/data/hive/shared-data-cell.dat",
			  &shared, &slen);
		check_refused(path, shared, slen, PS_EFORMAT,
			      "data cell is also another cell");
		free(shared);
	}
	/* A key whose subkey list points back at itself (a loop): root
	 * -> Software; Software's first subkey entry := Software. */
	bad = malloc(len);
	assert_non_null(bad);
	memcpy(bad, data, len);
	root = 0x1000 + le32(bad + 36);
	list = 0x1000 + le32(bad + root + 4 + 28);
	child = le32(bad + list + 4 + 4);
	clist = 0x1000 + le32(bad + 0x1000 + child + 4 + 28);
	memcpy(bad + clist + 4 + 4, &child, 4);
	check_refused(path, bad, len, PS_EFORMAT, "loops");
	free(bad);
	free(data);

	/* Deeper than PS_REG_MAX_DEPTH keys. */
	snprintf(reg, sizeof(reg), "%s/deep.reg", tmpdir);
	f = fopen(reg, "w");
	assert_non_null(f);
	fputs("Windows Registry Editor Version 5.00\r\n\r\n"
	      "[HKEY_CURRENT_USER", f);
	for (int i = 0; i < PS_REG_MAX_DEPTH + 2; i++)
		fputs("\\k", f);
	fputs("]\r\n\r\n", f);
	fclose(f);
	hive = make_hive(reg, "deep");
	read_file(hive, &data, &len);
	check_refused(path, data, len, PS_ELIMIT, "deeper");
	free(data);
}


/* The base block's checksum (offset 0x1FC): the XOR of its first 127
 * 32-bit words, which libhivex checks. */
static void fix_checksum(uint8_t *base)
{
	uint32_t x = 0;
	int i;

	for (i = 0; i < 127; i++)
		x ^= le32(base + 4 * i);
	base[0x1FC] = (uint8_t)x;
	base[0x1FD] = (uint8_t)(x >> 8);
	base[0x1FE] = (uint8_t)(x >> 16);
	base[0x1FF] = (uint8_t)(x >> 24);
}

/* For patching a hive: the file offset of the cell named at file offset
 * `at`, and fields of key (nk) and value (vk) cells. */
#define CELL(d, at) (0x1000 + (size_t)le32((d) + (at)))
#define NK_SUBKEY_LIST (4 + 28)
#define NK_SK (4 + 44)
#define NK_CLASS (4 + 48)
#define VK_LEN (4 + 4)
#define VK_DATA (4 + 8)

static void put32(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The file offset of the first cell in use with signature sig (or, sig
 * NULL, the first free cell) of at least `min` bytes; for "vk", the
 * first value whose data is in a cell of its own. */
static size_t find_cell(const uint8_t *d, size_t len, const char *sig,
			size_t min)
{
	size_t bin = 0x1000, c, n;

	while (bin + 32 <= len && !memcmp(d + bin, "hbin", 4)) {
		size_t end = bin + le32(d + bin + 8);

		for (c = bin + 32; c < end; c += n) {
			uint32_t s = le32(d + c);
			int used = (s & 0x80000000u) != 0;

			n = used ? 0u - s : s;
			assert_true(n >= 8);
			if (n < min || used != (sig != NULL))
				continue;
			if (!sig || (!memcmp(d + c + 4, sig, 2) &&
				     (strcmp(sig, "vk") ||
				      !(le32(d + c + VK_LEN) & 0x80000000u))))
				return c;
		}
		bin = end;
	}
	fail_msg("no %s cell of %zu bytes", sig ? sig : "free", min);
	return 0;
}

/* What libhivex changes when it writes must not be something the loader
 * reads as a value: fuzz_hive found a value whose data cell was the
 * security cell all keys share, so adding a key (which counts one more
 * reference in it) changed the value (tests/data/hive/sk-data-cell.dat:
 * the seed outlook2013-legacy-profile.dat with the data offset of the
 * value DefaultProfile, at 0x224C, set to 0x78, the security cell: one
 * mutation with CI's dictionary word "x\0\0\0").  The same for a
 * subkey list (libhivex moves it when it adds a key, freeing the old
 * cell), a big value's segment, a class name (freed with its key), the
 * security cells' list links, and a hive bin reaching past the end of
 * the bins the header gives (libhivex writes its first new bin there).
 * Each is refused when loaded, the file left alone. */
static void test_cells_libhivex_changes(void **state)
{
	const char *hive = make_hive(SCEN "basic-update/HKCU.reg", "hank");
	char path[300];
	uint8_t *data, *bad, *found;
	size_t len, flen, root, vk, sk, list, fc, bin, last, n;
	ps_regtree t;

	(void)state;
	read_file(hive, &data, &len);
	snprintf(path, sizeof(path), "%s/changes.dat", tmpdir);
	bad = malloc(len);
	assert_non_null(bad);
	root = 0x1000 + le32(data + 36);
	sk = CELL(data, root + NK_SK);
	list = CELL(data, root + NK_SUBKEY_LIST);

	read_file(PS_SOURCE_DIR "/tests/data/hive/sk-data-cell.dat", &found,
		  &flen);
	check_refused(path, found, flen, PS_EFORMAT,
		      "data cell is also another cell");
	free(found);

	/* A value's data := the root's subkey list (no longer than it). */
	memcpy(bad, data, len);
	vk = find_cell(bad, len, "vk", 0);
	put32(bad + vk + VK_LEN, 8);
	put32(bad + vk + VK_DATA, list - 0x1000);
	check_refused(path, bad, len, PS_EFORMAT,
		      "data cell is also another cell");

	/* The root's class name := a value's data cell. */
	memcpy(bad, data, len);
	memcpy(bad + root + NK_CLASS, bad + vk + VK_DATA, 4);
	check_refused(path, bad, len, PS_EFORMAT, "is also another cell");

	/* The security cell's next link := a value cell. */
	memcpy(bad, data, len);
	put32(bad + sk + 8, vk - 0x1000);
	check_refused(path, bad, len, PS_EFORMAT,
		      "list of security cells is broken");

	/* A value's data becomes big data (db) in one segment, the
	 * security cell: a free cell gives the segment list. */
	memcpy(bad, data, len);
	fc = find_cell(bad, len, NULL, 16);
	n = le32(bad + fc);
	put32(bad + fc, 0u - 8u);
	put32(bad + fc + 4, sk - 0x1000);
	put32(bad + fc + 8, n - 8);
	list = CELL(bad, vk + VK_DATA);
	n = 0u - le32(bad + list);       /* the data cell's size */
	assert_true(n >= 16 && n + 8 <= 0u - le32(bad + sk));
	memcpy(bad + list + 4, "db\x01\x00", 4);
	put32(bad + list + 8, fc - 0x1000);
	put32(bad + vk + VK_LEN, n);     /* more than the cell holds */
	check_refused(path, bad, len, PS_EFORMAT,
		      "segment is also another cell");

	/* The last two hive bins become one, the header still ending the
	 * bins where the second began. */
	memcpy(bad, data, len);
	for (bin = 0x1000, last = 0; bin + le32(bad + bin + 8) <
	     0x1000 + (size_t)le32(bad + 40); bin += le32(bad + bin + 8))
		last = bin;
	assert_true(last != 0);
	n = le32(bad + last + 8);
	put32(bad + last + 8, n + le32(bad + bin + 8));
	memset(bad + bin, 0, 32);
	put32(bad + bin, 32);            /* a free cell */
	put32(bad + 40, bin - 0x1000);
	fix_checksum(bad);
	check_refused(path, bad, len, PS_EFORMAT,
		      "reaches past the end of the bins");

	/* The hive as made still loads. */
	assert_int_equal(ps_hive_load(&t, hive, data, len), 0);
	ps_regtree_free(&t);
	free(bad);
	free(data);
}

/* A hive copied while Windows was writing it (the secondary sequence
 * number lags the primary: its logs hold the rest) is read as it is on
 * disk, marked unclean, and never written: inspect and rehearse read it
 * with a warning; update, rollback and cleanup refuse it, file intact. */
static void test_unclean_hive(void **state)
{
	const char *clean = make_hive(SCEN "basic-update/HKCU.reg", "erin");
	char path[320], dir[200], csv[300];
	uint8_t *data, *after, *out = NULL;
	size_t len, alen, out_len = 0, changes = 0;
	ps_regtree t, c;
	ps_regkey *k;
	ps_system *sys = NULL;
	ps_store *s = NULL;
	ps_buf o = PS_BUF_INIT, e = PS_BUF_INIT, rep = PS_BUF_INIT;
	char *w;
	static const uint8_t marker[] = { 'x', 0, 0, 0 };
	FILE *f;
	long n;

	(void)state;
	read_file(clean, &data, &len);
	load_hive(clean, &c);
	assert_int_equal(c.unclean, 0);
	assert_int_equal(ps_hive_check_writable(&c, clean), 0);
	assert_null(ps_hive_unclean_warning(&c, clean));
	snprintf(dir, sizeof(dir), "%s/frank", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/NTUSER.DAT", dir);
	data[8] = (uint8_t)(data[4] + 1);
	fix_checksum(data);
	write_bytes(path, data, len);

	/* Loaded as it is, the same tree, marked. */
	load_hive(path, &t);
	assert_int_equal(t.unclean, 1);
	assert_trees_equal(&c, &t);
	assert_int_equal(ps_hive_check_writable(&t, path), PS_EFORMAT);
	if (strncmp(ps_error_last(), path, strlen(path)) ||
	    !strstr(ps_error_last(), "not cleanly unloaded") ||
	    !strstr(ps_error_last(), "logged off"))
		fail_msg("refusal: %s", ps_error_last());
	w = ps_hive_unclean_warning(&t, path);
	assert_non_null(w);
	assert_non_null(strstr(w, "not cleanly unloaded"));
	assert_non_null(strstr(w, "read as it is on disk"));
	free(w);
	/* A copy keeps the mark; writing it is refused even so. */
	ps_regtree_free(&c);
	assert_int_equal(ps_regtree_copy(&c, &t), 0);
	assert_int_equal(c.unclean, 1);
	k = ps_regkey_find(c.root, "HKEY_CURRENT_USER");
	assert_non_null(k);
	assert_int_equal(ps_regkey_set(k, "Marker", 1, marker,
				       sizeof(marker)), 0);
	assert_int_equal(ps_hive_apply(path, data, len, &t, &c, &out,
				       &out_len, &changes), PS_EFORMAT);
	assert_null(out);
	assert_non_null(strstr(ps_error_last(), "not cleanly unloaded"));
	ps_regtree_free(&t);
	ps_regtree_free(&c);

	/* The fake store opens it; a flush of a change is refused. */
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_fakestore_open(&s, sys, path), 0);
	assert_int_equal(ps_fakestore_tree(s)->unclean, 1);
	assert_int_equal(ps_store_set_value(s, "", "Marker", 1, marker,
					    sizeof(marker)), 0);
	assert_int_equal(ps_store_flush(s), PS_EFORMAT);
	ps_store_free(s);
	ps_sys_free(sys);

	/* The command line. */
	assert_int_equal(tu_run(&o, &e, "inspect", path, NULL), 0);
	assert_non_null(strstr(o.ptr, "profile Outlook"));
	if (!e.ptr || !strstr(e.ptr, "profswitch: warning: ") ||
	    !strstr(e.ptr, "not cleanly unloaded"))
		fail_msg("inspect warns on stderr: %s", e.ptr ? e.ptr : "");
	assert_int_equal(tu_run(&o, &e, "update", "--store", path,
				"--mapping", SCEN "basic-update/mapping.puf",
				"--dry-run", NULL), 66);
	assert_non_null(strstr(e.ptr, "not cleanly unloaded"));
	assert_int_equal(tu_run(&o, &e, "update", "--store", path,
				"--mapping", SCEN "basic-update/mapping.puf",
				NULL), 66);
	assert_non_null(strstr(e.ptr, "not cleanly unloaded"));
	assert_non_null(strstr(e.ptr, "nothing was changed"));
	assert_int_equal(tu_run(&o, &e, "rollback", "--store", path, "--all",
				NULL), 66);
	assert_non_null(strstr(e.ptr, "not cleanly unloaded"));
	assert_int_equal(tu_run(&o, &e, "cleanup", "--store", path, NULL),
			 66);
	assert_non_null(strstr(e.ptr, "not cleanly unloaded"));
	snprintf(csv, sizeof(csv), "%s/fleet.csv", tmpdir);
	assert_int_equal(tu_run(&o, &e, "rehearse", dir, "--mapping",
				SCEN "basic-update/mapping.puf", "--report",
				csv, NULL), 0);
	f = fopen(csv, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_int_equal(ps_buf_grow(&rep, (size_t)n + 1), 0);
	assert_int_equal(fread(rep.ptr, 1, (size_t)n, f), (size_t)n);
	rep.ptr[n] = 0;
	fclose(f);
	/* the would-update row of the input carries the warning */
	if (!strstr(rep.ptr, "would-update") ||
	    !strstr(rep.ptr, "; warning: the hive was not cleanly unloaded"))
		fail_msg("rehearsal rows lack the warning:\n%s", rep.ptr);
	read_file(path, &after, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(after, data, len);
	free(after);
	free(data);
	ps_buf_free(&o);
	ps_buf_free(&e);
	ps_buf_free(&rep);
}

static void test_no_outlook(void **state)
{
	char reg[300];
	const char *hive;
	ps_system *sys = NULL;
	ps_store *s = NULL;
	ps_strlist names = PS_STRLIST_INIT;
	char *owner = NULL;
	FILE *f;

	(void)state;
	snprintf(reg, sizeof(reg), "%s/plain.reg", tmpdir);
	f = fopen(reg, "w");
	assert_non_null(f);
	fputs("Windows Registry Editor Version 5.00\r\n\r\n"
	      "[HKEY_CURRENT_USER\\Software\\Vendor\\App]\r\n"
	      "\"Setting\"=dword:00000001\r\n\r\n", f);
	fclose(f);
	hive = make_hive(reg, "Dave");
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_fakestore_open(&s, sys, hive), 0);
	assert_int_equal(ps_store_list_profiles(s, &names), 0);
	assert_int_equal(names.n, 0);
	assert_int_equal(ps_store_owner(s, &owner), 0);
	assert_string_equal(owner, "Dave");
	assert_non_null(ps_regkey_find(ps_fakestore_tree(s)->root,
		"HKEY_CURRENT_USER\\Software\\Vendor\\App"));
	free(owner);
	ps_strlist_free(&names);
	ps_store_free(s);
	ps_sys_free(sys);
}

/* ---- compaction ------------------------------------------------------ */

static size_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* Update and rollback, 100 times: before compaction each cycle added
 * about 28 KiB to this 24 KiB hive (2.8 MiB after 100); now the file
 * stays within a few KiB of its size and the tree is the original's. */
static void test_compaction_bounds_growth(void **state)
{
	char path[256];
	ps_buf o = PS_BUF_INIT, e = PS_BUF_INIT;
	ps_regtree before, after;
	size_t size[100], orig, first_max = 0, later_max = 0;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s",
		 make_hive(SCEN "basic-update/HKCU.reg", "gina"));
	orig = file_size(path);
	load_hive(path, &before);
	for (i = 0; i < 100; i++) {
		int rc = tu_run(&o, &e, "update", "--store", path, "--mapping",
				SCEN "basic-update/mapping.puf", "--config",
				SCEN "basic-update/config.ini", NULL);

		if (rc != 0)
			fail_msg("update %d: %d %s", i, rc, e.ptr);
		rc = tu_run(&o, &e, "rollback", "--store", path, "--all",
			    NULL);
		if (rc != 0)
			fail_msg("rollback %d: %d %s", i, rc, e.ptr);
		size[i] = file_size(path);
		if (i < 10 && size[i] > first_max)
			first_max = size[i];
		if (i >= 10 && size[i] > later_max)
			later_max = size[i];
		if (i % 25 == 0 || i == 99)
			print_message("cycle %d: %zu bytes (was %zu)\n", i + 1,
				      size[i], orig);
	}
	if (size[99] > orig + 8192 || later_max > first_max)
		fail_msg("the hive grew: %zu bytes, then %zu after 100 "
			 "cycles (largest after the 10th: %zu, before: %zu)",
			 orig, size[99], later_max, first_max);
	load_hive(path, &after);
	assert_trees_equal(&before, &after);
	ps_regtree_free(&before);
	ps_regtree_free(&after);
	ps_buf_free(&o);
	ps_buf_free(&e);
}

/* An independent reading of what no other reader here shows, per key
 * depth first in list order: name, flags, timestamp, class name, security
 * descriptor, number of values, and the kinds of its subkey lists. */
static const uint8_t *hcell(const uint8_t *d, size_t len, uint32_t rel)
{
	if (rel == 0xFFFFFFFFu || 0x1000 + (size_t)rel + 8 > len)
		fail_msg("offset 0x%x is not in the hive", rel);
	return d + 0x1000 + rel + 4;
}

static void hex(ps_buf *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ps_buf_printf(out, "%02x", p[i]);
}

static void describe_key(const uint8_t *d, size_t len, uint32_t rel,
			 int depth, ps_buf *out);

static void describe_list(const uint8_t *d, size_t len, uint32_t rel,
			  int depth, ps_buf *out)
{
	const uint8_t *p = hcell(d, len, rel);
	size_t n = (size_t)p[2] | (size_t)p[3] << 8, i;
	size_t step = p[1] == 'i' ? 4 : 8;   /* li, ri; lf, lh */

	ps_buf_printf(out, "%*slist %c%c %zu\n", depth, "", p[0], p[1], n);
	for (i = 0; i < n; i++) {
		uint32_t e = le32(p + 4 + step * i);

		if (p[0] == 'r')
			describe_list(d, len, e, depth, out);
		else
			describe_key(d, len, e, depth + 1, out);
	}
}

static void describe_key(const uint8_t *d, size_t len, uint32_t rel,
			 int depth, ps_buf *out)
{
	const uint8_t *p = hcell(d, len, rel);
	size_t nlen = (size_t)p[72] | (size_t)p[73] << 8;
	size_t clen = (size_t)p[74] | (size_t)p[75] << 8;

	assert_memory_equal(p, "nk", 2);
	ps_buf_printf(out, "%*skey ", depth, "");
	hex(out, p + 76, nlen);
	ps_buf_printf(out, " flags %02x%02x time ", p[3], p[2]);
	hex(out, p + 4, 8);
	ps_buf_printf(out, " values %u class ", le32(p + 36));
	if (le32(p + 48) != 0xFFFFFFFFu)
		hex(out, hcell(d, len, le32(p + 48)), clen);
	if (le32(p + 44) != 0xFFFFFFFFu) {
		const uint8_t *sk = hcell(d, len, le32(p + 44));

		assert_memory_equal(sk, "sk", 2);
		ps_buf_printf(out, " sd ");
		hex(out, sk + 20, le32(sk + 16));
	}
	ps_buf_printf(out, "\n");
	if (le32(p + 28) != 0xFFFFFFFFu)
		describe_list(d, len, le32(p + 28), depth, out);
}

static void describe(const uint8_t *d, size_t len, ps_buf *out)
{
	ps_buf_clear(out);
	describe_key(d, len, le32(d + 36), 0, out);
	assert_int_equal(ps_buf_check(out), 0);
}

static void assert_same_text(const char *what, const char *a, const char *b)
{
	size_t i = 0, line = 1;

	while (a[i] && a[i] == b[i])
		line += a[i++] == '\n';
	if (a[i] || b[i])
		fail_msg("%s differ from line %zu:\n%.200s\n%.200s", what,
			 line, a + i, b + i);
}

static void hivex_export(const char *hive, const char *out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "hivexregedit --export --prefix "
		 "HKEY_CURRENT_USER '%s' '\\' > '%s' 2>/dev/null", hive, out);
	run(cmd);
}

/* Compacting the hive at path keeps everything: hivexregedit exports
 * the same bytes, our loader the same tree, and keys keep their class
 * names, security descriptors, timestamps and list kinds.  Returns the
 * description (caller frees). */
static char *check_compaction_keeps(const char *path)
{
	char small[300], e1[300], e2[300];
	uint8_t *data, *out = NULL, *x1, *x2;
	size_t len, out_len = 0, n1, n2;
	ps_buf a = PS_BUF_INIT, b = PS_BUF_INIT;
	ps_regtree ta, tb;
	int rc;

	read_file(path, &data, &len);
	rc = ps_hive_compact(path, data, len, PS_HIVE_COMPACT_FORCE, NULL,
			     NULL, &out, &out_len);
	if (rc != 1)
		fail_msg("%s: not compacted (%d): %s", path, rc,
			 ps_error_last());
	print_message("%s: %zu bytes, compacted %zu\n", path, len, out_len);
	assert_true(out_len < len);
	snprintf(small, sizeof(small), "%s/compacted.dat", tmpdir);
	write_bytes(small, out, out_len);
	snprintf(e1, sizeof(e1), "%s/before.reg", tmpdir);
	snprintf(e2, sizeof(e2), "%s/after.reg", tmpdir);
	hivex_export(path, e1);
	hivex_export(small, e2);
	read_file(e1, &x1, &n1);
	read_file(e2, &x2, &n2);
	assert_true(n1 > 40);
	assert_int_equal(n1, n2);
	assert_memory_equal(x1, x2, n1);
	describe(data, len, &a);
	describe(out, out_len, &b);
	assert_same_text("key descriptions", a.ptr, b.ptr);
	assert_int_equal(ps_hive_load(&ta, path, data, len), 0);
	assert_int_equal(ps_hive_load(&tb, small, out, out_len), 0);
	assert_trees_equal(&ta, &tb);
	ps_regtree_free(&ta);
	ps_regtree_free(&tb);
	free(x1);
	free(x2);
	free(data);
	free(out);
	ps_buf_free(&b);
	return ps_buf_detach(&a);
}

static void test_compaction_keeps_contents(void **state)
{
	const char *cfreds = REAL "cfreds-data-leakage-informant-ntuser/"
			     "ntuser.dat";
	const char *bagmru = REAL "regipy-ntuser-bagmru/NTUSER_BAGMRU.DAT.xz";
	char path[300], cmd[1024], *desc;
	const char *ri;
	uint8_t *data;
	size_t len;

	(void)state;
	/* What libhivex does not write (tests/mkhive.py --rich): class
	 * names, two security descriptors, big data, an ri list. */
	snprintf(path, sizeof(path), "%s/rich", tmpdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/rich/NTUSER.DAT", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s' --rich '%s' '%s'", MKHIVE,
		 SCEN "basic-update/HKCU.reg", path);
	run(cmd);
	desc = check_compaction_keeps(path);
	ri = strstr(desc, "list ri 2\n");
	assert_non_null(ri);
	ri += strlen("list ri 2\n");
	ri += strspn(ri, " ");
	assert_memory_equal(ri, "list li ", 8);
	assert_non_null(strstr(desc, " class 50")); /* "P" in UTF-16 */
	/* Everyone: full control on the root, read on its first subkey */
	assert_non_null(strstr(desc, "3f000f00"));
	assert_non_null(strstr(desc, "19000200"));
	free(desc);

	/* Hives written by Windows, when the shared data is there. */
	if (access(cfreds, R_OK) == 0) {
		desc = check_compaction_keeps(cfreds);
		free(desc);
	} else {
		print_message("no %s: real hives not checked\n", cfreds);
	}
	if (access(bagmru, R_OK) == 0) {
		/* big data and lh lists; copied while in use, so made
		 * clean (sequence numbers equal) first */
		snprintf(path, sizeof(path), "%s/bagmru.dat", tmpdir);
		snprintf(cmd, sizeof(cmd), "python3 -c 'import lzma, sys; "
			 "sys.stdout.buffer.write(lzma.open(sys.argv[1])"
			 ".read())' '%s' > '%s'", bagmru, path);
		run(cmd);
		read_file(path, &data, &len);
		memcpy(data + 8, data + 4, 4);
		fix_checksum(data);
		write_bytes(path, data, len);
		free(data);
		desc = check_compaction_keeps(path);
		free(desc);
	} else {
		print_message("no %s: big data not checked\n", bagmru);
	}
}

/* A test's change to the compacted copy before it is checked. */
static void tamper(uint8_t *d, size_t len, void *ctx)
{
	const char *what = ctx;
	const uint8_t *root = d + 0x1000 + le32(d + 36) + 4;

	(void)len;
	if (!strcmp(what, "security descriptor"))
		d[0x1000 + le32(root + 44) + 4 + 20 + 40] ^= 1;
	else if (!strcmp(what, "class name"))
		d[0x1000 + le32(root + 48) + 4] ^= 1;
	else if (!strcmp(what, "key timestamp"))
		d[0x1000 + le32(d + 36) + 4 + 4] ^= 1;
	else if (!strcmp(what, "value data"))   /* first value, first byte */
		d[0x1000 + le32(d + 0x1000 + le32(d + 0x1000 +
		  le32(root + 40) + 4) + 4 + 8) + 4] ^= 1;
	else if (!strcmp(what, "checksum"))
		d[508] ^= 1;
	else if (!strcmp(what, "bins size"))
		d[41] ^= 1;
}

/* A copy that fails a check is not used; a hive that cannot be compacted
 * is written as libhivex left it. */
static void test_compaction_fallback(void **state)
{
	static const char *const what[] = { "security descriptor",
		"class name", "key timestamp", "value data", "checksum",
		"bins size" };
	char path[300], cmd[1024];
	uint8_t *data, *h1, *h2 = NULL, *bad, *out;
	size_t len, n1, n2 = 0, changes = 0, out_len, bins, free_bytes, i;
	uint32_t root;
	ps_regtree t0, t1;
	ps_regkey *k;
	uint8_t *blob;
	int rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/hugo", tmpdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/hugo/NTUSER.DAT", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s' --rich '%s' '%s'", MKHIVE,
		 SCEN "basic-update/HKCU.reg", path);
	run(cmd);
	read_file(path, &data, &len);
	for (i = 0; i < sizeof(what) / sizeof(*what); i++) {
		out = NULL;
		out_len = 0;
		rc = ps_hive_compact(path, data, len, PS_HIVE_COMPACT_FORCE,
				     tamper, (void *)what[i], &out, &out_len);
		if (rc != PS_EFORMAT || out || out_len ||
		    strncmp(ps_error_last(), path, strlen(path)))
			fail_msg("a damaged %s was not noticed (%d): %s",
				 what[i], rc, ps_error_last());
		print_message("damaged %s: %s\n", what[i], ps_error_last());
	}

	/* A damaged hive (the root's class name is no cell) is not
	 * compacted... */
	root = 0x1000 + le32(data + 36) + 4;
	bad = malloc(len);
	assert_non_null(bad);
	memcpy(bad, data, len);
	memcpy(bad + root + 48, "\x10\x32\x54\x06", 4);
	out = NULL;
	assert_int_equal(ps_hive_compact(path, bad, len,
					 PS_HIVE_COMPACT_FORCE, NULL, NULL,
					 &out, &out_len), PS_EFORMAT);
	assert_null(out);
	assert_non_null(strstr(ps_error_last(), "cannot compact the hive"));
	/* ...and a write that frees 100,000 bytes in it (libhivex does not
	 * read class names) gives what libhivex wrote, no smaller. */
	assert_int_equal(ps_hive_load(&t0, path, bad, len), 0);
	assert_int_equal(ps_regtree_copy(&t1, &t0), 0);
	k = ps_regkey_find(t1.root, "HKEY_CURRENT_USER");
	assert_non_null(k);
	blob = calloc(100000, 1);
	assert_non_null(blob);
	assert_int_equal(ps_regkey_set(k, "Blob", 3, blob, 100000), 0);
	free(blob);
	h1 = NULL;
	assert_int_equal(ps_hive_apply(path, bad, len, &t0, &t1, &h1, &n1,
				       &changes), 0);
	assert_non_null(h1);
	assert_true(n1 > len + 100000);
	assert_int_equal(ps_hive_apply(path, h1, n1, &t1, &t0, &h2, &n2,
				       &changes), 0);
	assert_int_equal(ps_hivec_space(path, h2, n2, &bins, &free_bytes),
			 0);
	assert_true(ps_hivec_worth(bins, free_bytes));
	assert_true(n2 >= n1);
	assert_memory_equal(h2 + root + 48, "\x10\x32\x54\x06", 4);
	ps_regtree_free(&t1);
	assert_int_equal(ps_hive_load(&t1, path, h2, n2), 0);
	assert_trees_equal(&t0, &t1);
	ps_regtree_free(&t1);
	free(h1);
	free(h2);

	/* The same write on the undamaged hive is compacted. */
	assert_int_equal(ps_regtree_copy(&t1, &t0), 0);
	k = ps_regkey_find(t1.root, "HKEY_CURRENT_USER");
	blob = calloc(100000, 1);
	assert_non_null(blob);
	assert_int_equal(ps_regkey_set(k, "Blob", 3, blob, 100000), 0);
	free(blob);
	h1 = h2 = NULL;
	assert_int_equal(ps_hive_apply(path, data, len, &t0, &t1, &h1, &n1,
				       &changes), 0);
	assert_int_equal(ps_hive_apply(path, h1, n1, &t1, &t0, &h2, &n2,
				       &changes), 0);
	print_message("100,000 bytes added and removed: %zu, %zu, %zu "
		      "bytes\n", len, n1, n2);
	assert_true(n2 <= len);
	ps_regtree_free(&t1);
	assert_int_equal(ps_hive_load(&t1, path, h2, n2), 0);
	assert_trees_equal(&t0, &t1);
	ps_regtree_free(&t0);
	ps_regtree_free(&t1);
	free(h1);
	free(h2);
	free(bad);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_equals_export),
		cmocka_unit_test(test_update_written_back),
		cmocka_unit_test(test_failed_flush_keeps_file),
		cmocka_unit_test(test_broken_hives),
		cmocka_unit_test(test_cells_libhivex_changes),
		cmocka_unit_test(test_unclean_hive),
		cmocka_unit_test(test_no_outlook),
		cmocka_unit_test(test_compaction_bounds_growth),
		cmocka_unit_test(test_compaction_keeps_contents),
		cmocka_unit_test(test_compaction_fallback),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
