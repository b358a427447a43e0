/*
 * Tests for fakemapi/regtree.c and fakemapi/regfile.c: the registry tree,
 * the .reg reader and writer, and the tree comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../core/ps_error.h"
#include "../core/ps_utf.h"
#include "../fakemapi/ps_fakestore.h"
#include "../fakemapi/ps_reg.h"
#include "ps_posix.h"

#define HKCU "HKEY_CURRENT_USER"
#define OUTLOOK HKCU "\\Software\\Microsoft\\Office\\16.0\\Outlook"
#define PROFILE OUTLOOK "\\Profiles\\Outlook"
#define SERVICES_UID "9207f3e0a3b11019908b08002b2a56c2"
#define V5 "Windows Registry Editor Version 5.00\r\n\r\n"
#define R4 "REGEDIT4\r\n\r\n"
#define EN_DASH "\xE2\x80\x93"
#define U_UML "\xC3\xBC"
#define NIHON "\xE6\x97\xA5\xE6\x9C\xAC"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static uint8_t *read_data(const char *name, size_t *len)
{
	char path[1024];
	uint8_t *data;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/reg/%s", PS_SOURCE_DIR,
		 name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	data = malloc((size_t)n);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* UTF-8 text -> a UTF-16LE file with BOM. */
static void utf16_file(ps_buf *out, const char *text, size_t len)
{
	ps_buf_clear(out);
	assert_int_equal(ps_buf_put(out, "\xFF\xFE", 2), 0);
	assert_int_equal(ps_utf8_to_utf16le(out, text, len), 0);
}

static int parse_str(ps_regtree *t, const char *text, int utf16)
{
	ps_buf b = PS_BUF_INIT;
	int rc;

	if (utf16) {
		utf16_file(&b, text, strlen(text));
		rc = ps_regtree_parse(t, "test.reg", (uint8_t *)b.ptr, b.len);
	} else {
		rc = ps_regtree_parse(t, "test.reg", (const uint8_t *)text,
				      strlen(text));
	}
	ps_buf_free(&b);
	return rc;
}

static void check_error(int rc, int code, const char *file, unsigned line,
			const char *what)
{
	char want[256];

	snprintf(want, sizeof(want), "%s:%u: ", file, line);
	if (rc != code)
		fail_msg("%s: got %d (%s), expected %d", what, rc,
			 ps_error_last(), code);
	if (strncmp(ps_error_last(), want, strlen(want)))
		fail_msg("%s: message \"%s\" does not start with \"%s\"",
			 what, ps_error_last(), want);
}

static ps_regval *val(ps_regtree *t, const char *path, const char *name)
{
	ps_regkey *k = ps_regkey_find(t->root, path);

	if (!k)
		fail_msg("no key %s", path);
	return ps_regkey_value(k, name);
}

static void assert_val(ps_regtree *t, const char *path, const char *name,
		       uint32_t type, const void *data, size_t len)
{
	ps_regval *v = val(t, path, name);

	if (!v)
		fail_msg("no value \"%s\" in %s", name, path);
	assert_int_equal(v->type, type);
	assert_int_equal(v->len, len);
	if (len)
		assert_memory_equal(v->data, data, len);
}

/* Text as the registry stores it: UTF-16LE with its NUL. */
static void assert_text(ps_regtree *t, const char *path, const char *name,
			uint32_t type, const char *utf8)
{
	ps_buf b = PS_BUF_INIT;

	assert_int_equal(ps_utf8_to_utf16le(&b, utf8, strlen(utf8)), 0);
	assert_int_equal(ps_buf_put(&b, "\0", 2), 0);
	assert_val(t, path, name, type, b.ptr, b.len);
	ps_buf_free(&b);
}

static void assert_sz(ps_regtree *t, const char *path, const char *name,
		      const char *utf8)
{
	assert_text(t, path, name, 1, utf8);
}

/* write -> parse -> equal tree, and write again gives the same bytes. */
static void assert_fixed_point(const ps_regtree *t)
{
	ps_buf w1 = PS_BUF_INIT, w2 = PS_BUF_INIT, diff = PS_BUF_INIT;
	ps_regtree back;

	assert_int_equal(ps_regtree_write(t, &w1), 0);
	if (ps_regtree_parse(&back, "w1.reg", (uint8_t *)w1.ptr, w1.len))
		fail_msg("written file does not parse: %s", ps_error_last());
	assert_int_equal(back.encoding, t->encoding);
	if (!ps_regkey_equal(t->root, back.root, &diff))
		fail_msg("tree changed by write+parse:\n%s", diff.ptr);
	assert_int_equal(ps_regtree_write(&back, &w2), 0);
	assert_int_equal(w1.len, w2.len);
	assert_memory_equal(w1.ptr, w2.ptr, w1.len);
	ps_regtree_free(&back);
	ps_buf_free(&w1);
	ps_buf_free(&w2);
	ps_buf_free(&diff);
}

/* Parses a data file, checks that writing it gives the same bytes. */
static void load_and_rewrite(const char *name, ps_regtree *t)
{
	ps_buf out = PS_BUF_INIT;
	uint8_t *data;
	size_t len;

	data = read_data(name, &len);
	if (ps_regtree_parse(t, name, data, len))
		fail_msg("%s: %s", name, ps_error_last());
	assert_int_equal(ps_regtree_write(t, &out), 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.ptr, data, len);
	ps_buf_free(&out);
	free(data);
}

/* ------------------------------------------------------------------ */
/* Tree                                                                */

static void test_tree_create_find_path(void **state)
{
	ps_regtree t;
	ps_regkey *b, *k, *sw;
	char *path;

	(void)state;
	assert_int_equal(ps_regtree_init(&t, PS_REGENC_UTF16), 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\Software\\B", &b),
			 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\Software\\a", &k),
			 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\Software\\C", &k),
			 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\Software\\_x", &k),
			 0);
	sw = ps_regkey_find(t.root, HKCU "\\Software");
	assert_non_null(sw);
	/* sorted among siblings, letters folded to upper case as the
	 * registry sorts: "_" (0x5F) comes after "Z" */
	assert_int_equal(sw->nsub, 4);
	assert_string_equal(sw->sub[0]->name, "a");
	assert_string_equal(sw->sub[1]->name, "B");
	assert_string_equal(sw->sub[2]->name, "C");
	assert_string_equal(sw->sub[3]->name, "_x");
	/* case-insensitive lookup, from any key */
	assert_ptr_equal(ps_regkey_find(t.root, "hkey_current_user\\SOFTWARE"
					"\\b"), b);
	assert_ptr_equal(ps_regkey_find(sw, "B"), b);
	assert_ptr_equal(ps_regkey_find(sw, ""), sw);
	assert_null(ps_regkey_find(sw, "B\\"));
	assert_null(ps_regkey_find(sw, "nope"));
	/* creating what exists returns it */
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\software\\b", &k),
			 0);
	assert_ptr_equal(k, b);
	assert_int_equal(ps_regkey_create(sw, "B\\\\x", &k), PS_EFORMAT);
	assert_int_equal(b->nsub, 0);
	/* intermediate keys are implied, named keys are not */
	assert_int_equal(t.root->sub[0]->implied, 1);
	assert_int_equal(sw->implied, 1);
	assert_int_equal(b->implied, 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\Software", &k), 0);
	assert_int_equal(sw->implied, 0);
	assert_int_equal(ps_regkey_create(b, "d\\e", &k), 0);
	assert_int_equal(k->parent->implied, 0); /* below a named key */
	path = ps_regkey_path(k);
	assert_string_equal(path, HKCU "\\Software\\B\\d\\e");
	free(path);
	path = ps_regkey_path(t.root);
	assert_string_equal(path, "");
	free(path);
	ps_regtree_free(&t);
	ps_regtree_free(&t);
	ps_regtree_free(NULL);
}

static void test_tree_values_and_delete(void **state)
{
	ps_regtree t;
	ps_regkey *k, *sw;
	ps_regval *v;

	(void)state;
	assert_int_equal(ps_regtree_init(&t, PS_REGENC_ANSI), 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\Software\\X\\Y",
					  &k), 0);
	k = k->parent;
	assert_int_equal(ps_regkey_set(k, "One", 4, "\1\0\0\0", 4), 0);
	assert_int_equal(ps_regkey_set(k, "Two", 3, "ab", 2), 0);
	assert_int_equal(ps_regkey_set(k, "", 3, NULL, 0), 0);
	/* replacing keeps the position and the first spelling */
	assert_int_equal(ps_regkey_set(k, "ONE", 3, "xyz", 3), 0);
	assert_int_equal(k->nval, 3);
	assert_string_equal(k->vals[0].name, "One");
	assert_int_equal(k->vals[0].type, 3);
	assert_memory_equal(k->vals[0].data, "xyz", 3);
	v = ps_regkey_value(k, "");
	assert_non_null(v);
	assert_null(v->data);
	assert_int_equal(v->len, 0);
	assert_ptr_equal(ps_regkey_value(k, "two"), &k->vals[1]);
	assert_int_equal(ps_regkey_unset(k, "one"), 0);
	assert_int_equal(ps_regkey_unset(k, "one"), PS_ENOTFOUND);
	assert_string_equal(k->vals[0].name, "Two");
	assert_int_equal(k->nval, 2);
	sw = k->parent;
	assert_int_equal(ps_regkey_delete(sw, "x"), 0);  /* with Y below */
	assert_int_equal(sw->nsub, 0);
	assert_int_equal(ps_regkey_delete(sw, "x"), PS_ENOTFOUND);
	ps_regtree_free(&t);
	assert_int_equal(ps_regtree_init(&t, 9), PS_ERROR);
}

static void test_tree_limits(void **state)
{
	char path[PS_REG_MAX_PATH + 64];
	ps_regtree t;
	ps_regkey *k;
	size_t i, n;

	(void)state;
	assert_int_equal(ps_regtree_init(&t, PS_REGENC_UTF16), 0);
	/* 512 names deep is fine, 513 is not */
	n = 0;
	for (i = 0; i < PS_REG_MAX_DEPTH; i++) {
		path[n++] = 'k';
		path[n++] = '\\';
	}
	path[n - 1] = '\0';
	assert_int_equal(ps_regkey_create(t.root, path, &k), 0);
	assert_int_equal(ps_regkey_create(k, "one", &k), PS_ELIMIT);
	assert_int_equal(ps_regkey_delete(t.root, "k"), 0);
	path[n - 1] = '\\';
	path[n] = 'k';
	path[n + 1] = '\0';
	k = NULL;
	assert_int_equal(ps_regkey_create(t.root, path, &k), PS_ELIMIT);
	assert_null(k);
	assert_int_equal(t.root->nsub, 0);
	/* 4096 characters is fine, 4097 is not */
	memset(path, 'p', PS_REG_MAX_PATH);
	path[PS_REG_MAX_PATH] = '\0';
	assert_int_equal(ps_regkey_create(t.root, path, &k), 0);
	path[PS_REG_MAX_PATH] = 'p';
	path[PS_REG_MAX_PATH + 1] = '\0';
	assert_int_equal(ps_regkey_create(t.root, path, &k), PS_ELIMIT);
	assert_int_equal(t.root->nsub, 1);
	ps_regtree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static void test_parse_value_forms(void **state)
{
	static const char text[] =
		V5
		"[" HKCU "\\Software\\Test]\r\n"
		"\"str\"=\"Hello\"\r\n"
		"@=\"default\"\r\n"
		"\"dw\"=dword:0000001a\r\n"
		"\"short\"=dword:1\r\n"
		"\"max\"=DWORD:FFFFFFFF\r\n"
		"\"bin\"=hex:01,02,ff\r\n"
		"\"empty\"=hex:\r\n"
		"\"exp\"=hex(2):25,00,41,00,25,00,00,00\r\n"
		"\"multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n"
		"\"qw\"=hex(b):08,07,06,05,04,03,02,01\r\n"
		"\"none\"=hex(0):\r\n"
		"\"sz1\"=hex(1):41,00\r\n"
		"\"odd\"=hex(ffff0001):aa\r\n"
		"\"one digit\"=hex:1,a\r\n"
		"\"emptystr\"=\"\"\r\n"
		"\r\n";
	ps_regtree t;
	const char *k = HKCU "\\Software\\Test";

	(void)state;
	assert_int_equal(parse_str(&t, text, 1), 0);
	assert_int_equal(t.encoding, PS_REGENC_UTF16);
	assert_val(&t, k, "str", 1, "H\0e\0l\0l\0o\0\0", 12);
	assert_val(&t, k, "", 1, "d\0e\0f\0a\0u\0l\0t\0\0", 16);
	assert_val(&t, k, "dw", 4, "\x1a\0\0\0", 4);
	assert_val(&t, k, "short", 4, "\1\0\0\0", 4);
	assert_val(&t, k, "max", 4, "\xff\xff\xff\xff", 4);
	assert_val(&t, k, "bin", 3, "\x01\x02\xff", 3);
	assert_val(&t, k, "empty", 3, NULL, 0);
	assert_val(&t, k, "exp", 2, "%\0A\0%\0\0", 8);
	assert_val(&t, k, "multi", 7, "a\0\0\0b\0\0\0\0", 10);
	assert_val(&t, k, "qw", 11, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_val(&t, k, "none", 0, NULL, 0);
	assert_val(&t, k, "sz1", 1, "A\0", 2);
	assert_val(&t, k, "odd", 0xffff0001u, "\xaa", 1);
	assert_val(&t, k, "one digit", 3, "\x01\x0a", 2);
	assert_val(&t, k, "emptystr", 1, "\0", 2);
	assert_int_equal(ps_regkey_find(t.root, k)->nval, 15);
	assert_string_equal(ps_regkey_find(t.root, k)->vals[0].name, "str");
	ps_regtree_free(&t);
}

static void test_parse_escapes(void **state)
{
	static const char text[] =
		V5
		"[" HKCU "\\Software\\Esc]\r\n"
		"\"a\\\\b\\\"c\"=\"C:\\\\Program Files\\\\\\\"x\\\"\"\r\n"
		"\"=[]; \"=\"semi;colon \\\\\" ; a comment\r\n"
		"\r\n";
	ps_regtree t;
	const char *k = HKCU "\\Software\\Esc";

	(void)state;
	assert_int_equal(parse_str(&t, text, 0), 0);
	assert_sz(&t, k, "a\\b\"c", "C:\\Program Files\\\"x\"");
	assert_sz(&t, k, "=[]; ", "semi;colon \\");
	assert_fixed_point(&t);
	ps_regtree_free(&t);
}

static void test_parse_continuations(void **state)
{
	static const char text[] =
		V5
		"[" HKCU "\\Software\\Cont]\r\n"
		"\"std\"=hex:01,02,\\\r\n"
		"  03,04\r\n"
		"\"spaced\"=hex(7):61,00, \\\r\n"
		"\t62 , 00\r\n"
		"\"at colon\"=hex:\\\r\n"
		"  0a,0b\r\n"
		"\"gaps\"=hex:01,\\ ; comment after the backslash\r\n"
		"\r\n"
		"  ; a comment line inside the value\r\n"
		"  02,\\\r\n"
		"  03\r\n"
		"\"lf\"=hex:ff,\\\n"
		"  ee\n"
		"\"trailing comma\"=hex:05,06,\r\n"
		"\r\n";
	ps_regtree t;
	const char *k = HKCU "\\Software\\Cont";

	(void)state;
	assert_int_equal(parse_str(&t, text, 1), 0);
	assert_val(&t, k, "std", 3, "\1\2\3\4", 4);
	assert_val(&t, k, "spaced", 7, "a\0b\0", 4);
	assert_val(&t, k, "at colon", 3, "\x0a\x0b", 2);
	assert_val(&t, k, "gaps", 3, "\1\2\3", 3);
	assert_val(&t, k, "lf", 3, "\xff\xee", 2);
	assert_val(&t, k, "trailing comma", 3, "\5\6", 2);
	ps_regtree_free(&t);
}

static void test_parse_deletions(void **state)
{
	static const char text[] =
		R4
		"[" HKCU "\\Software\\Del]\r\n"
		"\"keep\"=dword:00000001\r\n"
		"\"gone\"=dword:00000002\r\n"
		"@=\"default\"\r\n"
		"\r\n"
		"[" HKCU "\\Software\\Del\\Sub\\Deeper]\r\n"
		"\"x\"=hex:01\r\n"
		"\r\n"
		"[" HKCU "\\Software\\Del\\Other]\r\n"
		"\r\n"
		"[" HKCU "\\Software\\Del]\r\n"
		"\"GONE\"=-\r\n"
		"@=-\r\n"
		"\"never there\"=-\r\n"
		"\r\n"
		"[-" HKCU "\\Software\\Del\\sub]\r\n"
		"\r\n"
		"[-" HKCU "\\Software\\Never\\There]\r\n"
		"\r\n"
		"[-" HKCU "\\Software\\Del\\Other]\r\n"
		"[" HKCU "\\Software\\Del\\Other]\r\n"
		"\"new\"=\"after re-creation\"\r\n";
	ps_regtree t;
	ps_regkey *k;

	(void)state;
	assert_int_equal(parse_str(&t, text, 0), 0);
	assert_int_equal(t.encoding, PS_REGENC_ANSI);
	k = ps_regkey_find(t.root, HKCU "\\Software\\Del");
	assert_non_null(k);
	assert_int_equal(k->nval, 1);
	assert_string_equal(k->vals[0].name, "keep");
	assert_null(ps_regkey_find(k, "Sub"));
	assert_null(ps_regkey_find(t.root, HKCU "\\Software\\Never"));
	assert_int_equal(k->nsub, 1);
	k = ps_regkey_find(k, "Other");
	assert_int_equal(k->nval, 1);
	assert_sz(&t, HKCU "\\Software\\Del\\Other", "new",
		  "after re-creation");
	ps_regtree_free(&t);
}

static void test_parse_repeated_value_overrides(void **state)
{
	static const char text[] =
		V5
		"[" HKCU "\\Software\\Rep]\r\n"
		"\"a\"=dword:00000001\r\n"
		"\"b\"=dword:00000002\r\n"
		"\"A\"=hex:ff\r\n"
		"\r\n"
		"[" HKCU "\\SOFTWARE\\rep]\r\n"
		"\"b\"=\"text\"\r\n";
	ps_regtree t;
	ps_regkey *k;

	(void)state;
	assert_int_equal(parse_str(&t, text, 0), 0);
	k = ps_regkey_find(t.root, HKCU "\\Software\\Rep");
	assert_int_equal(k->nval, 2);
	assert_string_equal(k->vals[0].name, "a");
	assert_val(&t, HKCU "\\Software\\Rep", "a", 3, "\xff", 1);
	assert_sz(&t, HKCU "\\Software\\Rep", "B", "text");
	/* the key keeps the spelling it was first read with */
	assert_string_equal(k->name, "Rep");
	assert_int_equal(k->parent->nsub, 1);
	ps_regtree_free(&t);
}

static void test_parse_lenient_forms(void **state)
{
	/* LF line ends, comments, blanks around '=', trailing comments,
	 * a version 5 header in an 8-bit file. */
	static const char text[] =
		"Windows Registry Editor Version 5.00\n"
		"; exported for a test\n"
		"\n"
		"  [" HKCU "\\Software\\Len]  ; trailing comment\n"
		"\"a\" = \"x\"\t; comment\n"
		"  \"b\"=dword:00000010;comment\n"
		"\"c\"=hex:01,02 ;comment\n"
		"\"d\"=\"M\xFCller \x80\"\n";
	ps_regtree t;
	const char *k = HKCU "\\Software\\Len";

	(void)state;
	assert_int_equal(parse_str(&t, text, 0), 0);
	/* not UTF-8 (\xFC, \x80): Windows-1252 under the version 5
	 * header, written back so */
	assert_int_equal(t.encoding, PS_REGENC_ANSI5);
	assert_sz(&t, k, "a", "x");
	assert_val(&t, k, "b", 4, "\x10\0\0\0", 4);
	assert_val(&t, k, "c", 3, "\1\2", 2);
	assert_sz(&t, k, "d", "M" U_UML "ller \xE2\x82\xAC");
	ps_regtree_free(&t);
}

static void test_parse_header_only(void **state)
{
	ps_regtree t;
	ps_buf out = PS_BUF_INIT, u = PS_BUF_INIT;

	(void)state;
	assert_int_equal(parse_str(&t, V5, 1), 0);
	assert_int_equal(t.root->nsub, 0);
	/* and writing an empty tree gives exactly that */
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	utf16_file(&u, V5, strlen(V5));
	assert_int_equal(out.len, u.len);
	assert_memory_equal(out.ptr, u.ptr, u.len);
	ps_regtree_free(&t);
	assert_int_equal(parse_str(&t, "REGEDIT4", 0), 0);
	assert_int_equal(t.root->nsub, 0);
	ps_buf_clear(&out);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	assert_string_equal(out.ptr, R4);
	ps_regtree_free(&t);
	ps_buf_free(&out);
	ps_buf_free(&u);
}

static void test_unicode_utf16_file(void **state)
{
	const char *prof = OUTLOOK "\\Profiles\\Outlook " EN_DASH " M" U_UML
			   "ller " NIHON;
	char path[512];
	ps_regtree t;
	ps_regkey *k;

	(void)state;
	load_and_rewrite("unicode_v5.reg", &t);
	assert_int_equal(t.encoding, PS_REGENC_UTF16);
	assert_sz(&t, OUTLOOK, "DefaultProfile",
		  "Outlook " EN_DASH " M" U_UML "ller " NIHON);
	assert_val(&t, OUTLOOK, "Gr\xC3\xB6\xC3\x9F" "e " U_UML, 4,
		   "\x1a\0\0\0", 4);
	k = ps_regkey_find(t.root, prof);
	assert_non_null(k);
	assert_int_equal(k->nval, 0);
	assert_int_equal(k->implied, 0);
	snprintf(path, sizeof(path), "%s\\%s", prof, SERVICES_UID);
	/* "Müller 日本 😀" with a surrogate pair, as REG_BINARY */
	assert_val(&t, path, "001f3001", 3,
		   "M\0\xfc\0l\0l\0e\0r\0 \0\xe5\x65\x2c\x67 \0"
		   "\x3d\xd8\x00\xde\0", 26);
	/* key names match case-insensitively (ASCII) */
	assert_non_null(ps_regkey_find(t.root, "hkey_current_user\\SOFTWARE"
				       "\\microsoft\\office\\16.0\\outlook"));
	ps_regtree_free(&t);
}

static void test_unicode_regedit4_file(void **state)
{
	const char *prof = OUTLOOK "\\Profiles\\Outlook " EN_DASH " M" U_UML
			   "ller";
	char path[512];
	ps_regtree t;

	(void)state;
	load_and_rewrite("unicode_r4.reg", &t);
	assert_int_equal(t.encoding, PS_REGENC_ANSI);
	assert_sz(&t, OUTLOOK, "DefaultProfile",
		  "Outlook " EN_DASH " M" U_UML "ller");
	/* REGEDIT4 hex(2) holds 8-bit text: stored as UTF-16LE */
	assert_text(&t, OUTLOOK, "ForceOSTPath", 2, "%LOCALAPPDATA%\\M"
		    U_UML "ller");
	assert_val(&t, OUTLOOK, "Gr\xC3\xB6\xC3\x9F" "e", 4, "\x1a\0\0\0",
		   4);
	assert_non_null(ps_regkey_find(t.root, prof));
	/* REG_BINARY bytes are never converted */
	snprintf(path, sizeof(path), "%s\\%s", prof, SERVICES_UID);
	assert_val(&t, path, "001e3001", 3, "M\xfcller \x80", 9);
	assert_fixed_point(&t);
	ps_regtree_free(&t);
}

static void test_utf8_bom_file(void **state)
{
	ps_regtree t, u;
	ps_buf diff = PS_BUF_INIT;
	uint8_t *data;
	size_t len;

	(void)state;
	load_and_rewrite("utf8_bom.reg", &t);
	assert_int_equal(t.encoding, PS_REGENC_UTF8);
	data = read_data("unicode_v5.reg", &len);
	assert_int_equal(ps_regtree_parse(&u, "u.reg", data, len), 0);
	if (!ps_regkey_equal(u.root, t.root, &diff))
		fail_msg("UTF-8 and UTF-16 files differ:\n%s", diff.ptr);
	assert_int_equal(diff.len, 0);
	free(data);
	ps_buf_free(&diff);
	ps_regtree_free(&t);
	ps_regtree_free(&u);
}

static void test_outlook_profile_export(void **state)
{
	static const uint8_t services[48] = {
		0xd1, 0xe2, 0x3f, 0xa1, 0xb1, 0xa0, 0x4c, 0x4a,
		0xb2, 0xc2, 0x6f, 0x0d, 0x6e, 0xc0, 0xa1, 0xb2,
		0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72,
		0x83, 0x94, 0xa5, 0xb6, 0xc7, 0xd8, 0xe9, 0xf0,
		0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81,
		0x92, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9
	};
	static const char wrapped[] =
		"\"01023d0e\"=hex:d1,e2,3f,a1,b1,a0,4c,4a,b2,c2,6f,0d,6e,c0,"
		"a1,b2,0b,1c,2d,3e,4f,\\\r\n"
		"  50,61,72,83,94,a5,b6,c7,d8,e9,f0,1a,2b,3c,4d,5e,6f,70,81,"
		"92,93,a4,b5,c6,d7,\\\r\n"
		"  e8,f9\r\n";
	ps_buf text = PS_BUF_INIT;
	uint8_t *data;
	ps_regtree t;
	ps_regkey *p;
	size_t len;

	(void)state;
	load_and_rewrite("outlook_profile.reg", &t);
	assert_val(&t, PROFILE "\\" SERVICES_UID, "01023d0e", 3, services,
		   sizeof(services));
	assert_val(&t, PROFILE "\\d1e23fa1b1a04c4ab2c26f0d6ec0a1b2",
		   "001e3d09", 3, "MSEMS", 6);
	assert_sz(&t, PROFILE "\\9375CFF0413111d3B88A00104B2A6676\\00000002",
		  "clsid", "{ED475414-B0D6-11D2-8C3B-00104B2A6676}");
	/* the hive and the keys above the export are implied; the
	 * exported key itself is named although it has no values */
	assert_int_equal(t.root->sub[0]->implied, 1);
	p = ps_regkey_find(t.root, PROFILE);
	assert_int_equal(p->implied, 0);
	assert_int_equal(p->nval, 0);
	assert_int_equal(p->parent->implied, 1);
	assert_int_equal(p->nsub, 8);
	/* the file wraps this value as regedit does: 21 + 25 + 2 bytes */
	data = read_data("outlook_profile.reg", &len);
	assert_int_equal(ps_utf16le_to_utf8(&text, data + 2, len - 2), 0);
	assert_non_null(strstr(text.ptr, wrapped));
	assert_non_null(strstr(text.ptr, V5 "[" PROFILE "]\r\n\r\n[" PROFILE
			       "\\0a0d020000000000c000000000000046]\r\n"));
	assert_null(strstr(text.ptr, "[" HKCU "]"));
	assert_fixed_point(&t);
	free(data);
	ps_buf_free(&text);
	ps_regtree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/* 70 characters: the line passes 77 after its first byte */
#define LONGNAME "0123456789012345678901234567890123456789" \
		 "012345678901234567890123456789"

static void test_write_hex_wrapping(void **state)
{
	static const char want[] =
		V5
		"[" HKCU "\\W]\r\n"
		/* 26 + 17 * 3 = 77: break after the 17th byte */
		"\"Multiple strings\"=hex(7):00,01,02,03,04,05,06,07,08,09,"
		"0a,0b,0c,0d,0e,0f,10,\\\r\n"
		"  11,12,13,14,15,16,17,18,19,1a,1b,1c,1d,1e,1f,20,21,22,23,"
		"24,25,26,27,28,29,\\\r\n"
		"  2a\r\n"
		/* 21 bytes: the line reaches 77 only with the last byte,
		 * which has no comma: no continuation */
		"\"01023d0e\"=hex:00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,"
		"0e,0f,10,11,12,13,14\r\n"
		/* 22 bytes: 15 + 21 * 3 = 78 after the 21st */
		"\"01023d0f\"=hex:00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,"
		"0e,0f,10,11,12,13,14,\\\r\n"
		"  15\r\n"
		/* a name longer than the line: break after every byte */
		"\"" LONGNAME "\"=hex:00,\\\r\n"
		"  01\r\n"
		"@=hex(4):01,02,03\r\n"
		"\"d\"=dword:deadbeef\r\n"
		"\"e\"=hex(4):\r\n"
		"\r\n";
	uint8_t data[64];
	ps_regtree t;
	ps_regkey *k;
	ps_buf out = PS_BUF_INIT, u = PS_BUF_INIT;
	int i;

	(void)state;
	for (i = 0; i < 64; i++)
		data[i] = (uint8_t)i;
	assert_int_equal(ps_regtree_init(&t, PS_REGENC_UTF16), 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\W", &k), 0);
	assert_int_equal(ps_regkey_set(k, "Multiple strings", 7, data, 43),
			 0);
	assert_int_equal(ps_regkey_set(k, "01023d0e", 3, data, 21), 0);
	assert_int_equal(ps_regkey_set(k, "01023d0f", 3, data, 22), 0);
	assert_int_equal(ps_regkey_set(k, LONGNAME, 3, data, 2), 0);
	assert_int_equal(ps_regkey_set(k, "", 4, "\1\2\3", 3), 0);
	assert_int_equal(ps_regkey_set(k, "d", 4, "\xef\xbe\xad\xde", 4), 0);
	assert_int_equal(ps_regkey_set(k, "e", 4, NULL, 0), 0);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	utf16_file(&u, want, strlen(want));
	if (out.len != u.len || memcmp(out.ptr, u.ptr, u.len)) {
		ps_buf got = PS_BUF_INIT;

		ps_utf16le_to_utf8(&got, (uint8_t *)out.ptr + 2, out.len - 2);
		fail_msg("got:\n%s\nwant:\n%s", got.ptr, want);
	}
	assert_fixed_point(&t);
	ps_regtree_free(&t);
	ps_buf_free(&out);
	ps_buf_free(&u);
}

/* Values that exercise every writer form and the wrapping boundaries. */
static void build_edge_tree(ps_regtree *t, int enc)
{
	static const char sz_nul[] = "a\0\0\0b\0\0";   /* embedded NUL */
	static const char sz_crlf[] = "a\0\r\0\n\0b\0\0\0";
	uint8_t data[300];
	char name[96];
	ps_regkey *k, *e;
	int i, n;

	for (i = 0; i < 300; i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(ps_regtree_init(t, enc), 0);
	assert_int_equal(ps_regkey_create(t->root, HKCU "\\Software\\Edge",
					  &k), 0);
	assert_int_equal(ps_regkey_create(k, "Empty\\Leaf", &e), 0);
	assert_int_equal(ps_regkey_create(t->root, "HKEY_LOCAL_MACHINE\\S",
					  &e), 0);
	assert_int_equal(ps_regkey_set(k, "q\"uo\\te", 1, "x\0\0", 4), 0);
	assert_int_equal(ps_regkey_set(k, "", 1, "M\0\xfc\0\0", 6), 0);
	assert_int_equal(ps_regkey_set(k, "nul", 1, sz_nul, 8), 0);
	assert_int_equal(ps_regkey_set(k, "crlf", 1, sz_crlf, 10), 0);
	assert_int_equal(ps_regkey_set(k, "no nul", 1, "a\0b\0", 4), 0);
	assert_int_equal(ps_regkey_set(k, "zero", 1, NULL, 0), 0);
	assert_int_equal(ps_regkey_set(k, "dw3", 4, "\1\2\3", 3), 0);
	assert_int_equal(ps_regkey_set(k, "qw", 11, data, 8), 0);
	assert_int_equal(ps_regkey_set(k, "multi", 7, "a\0\0\0\0\0", 6),
			 0);
	assert_int_equal(ps_regkey_set(k, "big type", 0xffffu, data, 5), 0);
	/* every length from 0 to 120 under names of several lengths */
	for (n = 0; n <= 120; n++) {
		snprintf(name, sizeof(name), "%.*s%d", n % 23 + 1,
			 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", n);
		assert_int_equal(ps_regkey_set(k, name, n % 5 ? 3 : 0, data,
					       (size_t)n), 0);
	}
	assert_int_equal(ps_regkey_set(k, "long", 3, data, 300), 0);
}

static void check_line_lengths(const ps_regtree *t)
{
	ps_buf out = PS_BUF_INIT, txt = PS_BUF_INIT;
	const char *line, *end;

	assert_int_equal(ps_regtree_write(t, &out), 0);
	if (t->encoding == PS_REGENC_UTF16)
		assert_int_equal(ps_utf16le_to_utf8(&txt, (uint8_t *)out.ptr +
						    2, out.len - 2), 0);
	else
		assert_int_equal(ps_cp1252_to_utf8(&txt, (uint8_t *)out.ptr,
						   out.len), 0);
	for (line = txt.ptr; *line; line = end + 2) {
		end = strstr(line, "\r\n");
		assert_non_null(end);
		/* hex lines that continue stay within 80 columns */
		if (end > line && end[-1] == '\\' && end - line > 80)
			fail_msg("line of %d characters: %.*s",
				 (int)(end - line), (int)(end - line), line);
	}
	ps_buf_free(&out);
	ps_buf_free(&txt);
}

static void test_write_round_trip_utf16(void **state)
{
	ps_regtree t;
	ps_buf out = PS_BUF_INIT, txt = PS_BUF_INIT;

	(void)state;
	build_edge_tree(&t, PS_REGENC_UTF16);
	assert_fixed_point(&t);
	check_line_lengths(&t);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	assert_int_equal(ps_utf16le_to_utf8(&txt, (uint8_t *)out.ptr + 2,
					    out.len - 2), 0);
	/* the forms chosen */
	assert_non_null(strstr(txt.ptr, "\r\n\"q\\\"uo\\\\te\"=\"x\"\r\n"));
	assert_non_null(strstr(txt.ptr, "\r\n@=\"M" U_UML "\"\r\n"));
	assert_non_null(strstr(txt.ptr, "\"nul\"=hex(1):61,00,00,00,62,00,"
			       "00,00\r\n"));
	assert_non_null(strstr(txt.ptr, "\"no nul\"=hex(1):61,00,62,00\r\n"));
	assert_non_null(strstr(txt.ptr, "\"zero\"=hex(1):\r\n"));
	assert_non_null(strstr(txt.ptr, "\"dw3\"=hex(4):01,02,03\r\n"));
	assert_non_null(strstr(txt.ptr, "\"big type\"=hex(ffff):00,07,0e,"
			       "15,1c\r\n"));
	/* keys: named empty keys are written, the implied hive is not */
	assert_non_null(strstr(txt.ptr, "[" HKCU "\\Software\\Edge\\Empty]"
			       "\r\n\r\n[" HKCU "\\Software\\Edge\\Empty"
			       "\\Leaf]\r\n\r\n"));
	assert_non_null(strstr(txt.ptr, "\r\n[HKEY_LOCAL_MACHINE\\S]\r\n"));
	assert_null(strstr(txt.ptr, "[" HKCU "]"));
	assert_null(strstr(txt.ptr, "[" HKCU "\\Software]"));
	ps_buf_free(&out);
	ps_buf_free(&txt);
	ps_regtree_free(&t);
}

static void test_write_round_trip_ansi(void **state)
{
	ps_regtree t;
	ps_regkey *k;
	ps_buf out = PS_BUF_INIT;

	(void)state;
	build_edge_tree(&t, PS_REGENC_ANSI);
	k = ps_regkey_find(t.root, HKCU "\\Software\\Edge");
	/* REGEDIT4 writes hex(2) as 8-bit text */
	assert_int_equal(ps_regkey_set(k, "exp", 2, "%\0\xfc\0%\0\0", 8),
			 0);
	assert_fixed_point(&t);
	check_line_lengths(&t);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	assert_memory_equal(out.ptr, R4, strlen(R4));
	assert_non_null(strstr(out.ptr, "\r\n\"exp\"=hex(2):25,fc,25,00\r\n"));
	assert_non_null(strstr(out.ptr, "\r\n@=\"M\xfc\"\r\n"));
	ps_buf_free(&out);
	ps_regtree_free(&t);
}

static void test_write_ansi_refuses_unrepresentable(void **state)
{
	ps_regtree t;
	ps_regkey *k;
	ps_buf out = PS_BUF_INIT;

	(void)state;
	assert_int_equal(ps_regtree_init(&t, PS_REGENC_ANSI), 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\P\\" NIHON, &k),
			 0);
	ps_buf_puts(&out, "before");
	assert_int_equal(ps_regtree_write(&t, &out), PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), NIHON));
	assert_non_null(strstr(ps_error_last(), "REGEDIT4"));
	assert_string_equal(out.ptr, "before");
	assert_int_equal(ps_regkey_delete(k->parent, NIHON), 0);
	assert_int_equal(ps_regkey_create(t.root, HKCU "\\P\\ok", &k), 0);
	/* a string value with 日 */
	assert_int_equal(ps_regkey_set(k, "s", 1, "\xe5\x65\0", 4), 0);
	assert_int_equal(ps_regtree_write(&t, &out), PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "\"s\""));
	assert_int_equal(ps_regkey_unset(k, "s"), 0);
	/* a value name with 日 */
	assert_int_equal(ps_regkey_set(k, "n" NIHON, 3, "\1", 1), 0);
	assert_int_equal(ps_regtree_write(&t, &out), PS_EFORMAT);
	assert_string_equal(out.ptr, "before");
	/* the same tree is fine as UTF-16 */
	t.encoding = PS_REGENC_UTF16;
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	assert_memory_equal(out.ptr, "before\xff\xfe", 8);
	ps_buf_free(&out);
	ps_regtree_free(&t);
}

/* ------------------------------------------------------------------ */
/* Encodings kept on write-back                                        */

/* parse -> write gives exactly the bytes, in the expected kind. */
static void assert_rewrites_exactly(const char *text, size_t len, int enc)
{
	ps_buf out = PS_BUF_INIT;
	ps_regtree t;

	if (ps_regtree_parse(&t, "keep.reg", (const uint8_t *)text, len))
		fail_msg("does not parse: %s", ps_error_last());
	if (t.encoding != enc)
		fail_msg("read as encoding %d, expected %d", t.encoding, enc);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	if (out.len != len || memcmp(out.ptr, text, len))
		fail_msg("written back differently:\n%.*s\nexpected:\n%.*s",
			 (int)out.len, out.ptr, (int)len, text);
	ps_regtree_free(&t);
	ps_buf_free(&out);
}

static void test_utf8_without_bom_kept(void **state)
{
	/* A version 5 export saved as UTF-8 without BOM (a script, an
	 * editor): its header, encoding and bytes survive a rewrite. */
	static const char text[] =
		V5
		"[" HKCU "\\Software\\M" U_UML "ller]\r\n"
		"\"Name " NIHON "\"=\"Outlook " EN_DASH " M" U_UML "ller\"\r\n"
		"\"exp\"=hex(2):25,00,fc,00,25,00,00,00\r\n"
		"\"n\"=dword:00000002\r\n\r\n";
	static const char ascii[] = V5 "[" HKCU "\\A]\r\n\"a\"=\"b\"\r\n\r\n";
	const char *k = HKCU "\\Software\\M" U_UML "ller";
	ps_regtree t;
	ps_regkey *key;
	ps_buf out = PS_BUF_INIT;

	(void)state;
	assert_rewrites_exactly(text, strlen(text), PS_REGENC_UTF8_NOBOM);
	assert_rewrites_exactly(ascii, strlen(ascii), PS_REGENC_UTF8_NOBOM);
	assert_int_equal(parse_str(&t, text, 0), 0);
	assert_sz(&t, k, "Name " NIHON, "Outlook " EN_DASH " M" U_UML "ller");
	/* the version 5 header: hex(2) is raw UTF-16LE, not 8-bit text */
	assert_val(&t, k, "exp", 2, "%\0\xfc\0%\0\0\0", 8);
	assert_fixed_point(&t);
	/* A new value with characters outside Windows-1252 is written as
	 * UTF-8, still without BOM and with the version 5 header. */
	key = ps_regkey_find(t.root, k);
	assert_int_equal(ps_regkey_set(key, "new", 1, "\xe5\x65\0\0", 4), 0);
	assert_int_equal(ps_regtree_write(&t, &out), 0);
	assert_memory_equal(out.ptr, V5, strlen(V5));
	assert_non_null(strstr(out.ptr, "\"new\"=\"\xE6\x97\xA5\"\r\n"));
	assert_true(ps_utf8_valid(out.ptr, out.len));
	ps_buf_free(&out);
	ps_regtree_free(&t);
}

static void test_ansi_version5_kept(void **state)
{
	/* A version 5 export saved as "ANSI" (Windows-1252, no BOM). */
	static const char text[] =
		V5
		"[" HKCU "\\Software\\M\xfcller]\r\n"
		"\"d\"=\"M\xfcller \x80\"\r\n"
		"\"exp\"=hex(2):25,00,fc,00,25,00,00,00\r\n\r\n";
	const char *k = HKCU "\\Software\\M" U_UML "ller";
	ps_regtree t;
	ps_regkey *key;
	ps_buf out = PS_BUF_INIT;

	(void)state;
	assert_rewrites_exactly(text, strlen(text), PS_REGENC_ANSI5);
	assert_int_equal(parse_str(&t, text, 0), 0);
	assert_sz(&t, k, "d", "M" U_UML "ller \xE2\x82\xAC");
	assert_val(&t, k, "exp", 2, "%\0\xfc\0%\0\0\0", 8);
	assert_fixed_point(&t);
	/* what Windows-1252 cannot hold is refused, naming key and value */
	key = ps_regkey_find(t.root, k);
	assert_int_equal(ps_regkey_set(key, "s", 1, "\xe5\x65\0\0", 4), 0);
	ps_buf_puts(&out, "before");
	assert_int_equal(ps_regtree_write(&t, &out), PS_EFORMAT);
	assert_string_equal(out.ptr, "before");
	assert_non_null(strstr(ps_error_last(), "key " HKCU "\\Software\\M"
			       U_UML "ller, value \"s\""));
	assert_non_null(strstr(ps_error_last(), "Windows-1252"));
	ps_buf_free(&out);
	ps_regtree_free(&t);
}

/* Through the fake store: a value a REGEDIT4 export cannot hold makes
 * flush fail with its key and value named, and the file on disk stays
 * as it was (the check runs before anything is written). */
static void test_unwritable_value_keeps_file(void **state)
{
	static const char text[] =
		R4
		"[" HKCU "\\Software\\Microsoft\\Office\\16.0\\Outlook\\"
		"Profiles\\Outlook]\r\n\r\n";
	char dir[] = "/tmp/ps-regfile-XXXXXX", path[64], cmd[128];
	ps_system *sys = NULL;
	ps_store *s = NULL;
	ps_buf now = PS_BUF_INIT;
	FILE *f;
	long n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/u.reg", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_fakestore_open(&s, sys, path), 0);
	assert_int_equal(ps_fakestore_tree(s)->encoding, PS_REGENC_ANSI);
	/* a path with 日本 under Outlook's AutoDiscover key (REG_SZ) */
	assert_int_equal(ps_store_set_value(s, "AutoDiscover", "x.xml", 1,
		(const uint8_t *)"C\0:\0\\\0\xe5\x65\x2c\x67\0\0", 12), 0);
	assert_int_equal(ps_store_flush(s), PS_EFORMAT);
	if (!strstr(ps_error_last(), "\\Outlook\\AutoDiscover, value "
		    "\"x.xml\"") || !strstr(ps_error_last(), "REGEDIT4") ||
	    !strstr(ps_error_last(), "nothing was written"))
		fail_msg("message does not name the key and value: %s",
			 ps_error_last());
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_int_equal(ps_buf_grow(&now, (size_t)n + 1), 0);
	assert_int_equal(fread(now.ptr, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_int_equal((size_t)n, strlen(text));
	assert_memory_equal(now.ptr, text, strlen(text));
	ps_store_free(s);
	ps_sys_free(sys);
	ps_buf_free(&now);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A Windows 9x registry file (CREG) is refused by name: the parser, and
 * the fake store, which gives whatever is not a hive to the parser. */
static void test_win9x_registry_refused(void **state)
{
	static const uint8_t creg[] = {
		'C', 'R', 'E', 'G', 0x00, 0x00, 0x01, 0x00,
		0x20, 0x00, 0x00, 0x00, 0xa0, 0x0a, 0x00, 0x00
	};
	char dir[] = "/tmp/ps-regfile-XXXXXX", path[64], cmd[128];
	ps_system *sys = NULL;
	ps_store *s = NULL;
	ps_regtree t;
	FILE *f;

	(void)state;
	assert_true(ps_reg_is_win9x(creg, sizeof(creg)));
	assert_false(ps_reg_is_win9x((const uint8_t *)"CRE", 3));
	assert_false(ps_reg_is_win9x((const uint8_t *)R4, strlen(R4)));
	assert_int_equal(ps_regtree_parse(&t, "SYSTEM.DAT", creg,
					  sizeof(creg)), PS_EFORMAT);
	assert_string_equal(ps_error_last(), "SYSTEM.DAT: Windows 9x "
			    "registry file: not supported (profswitch reads "
			    ".reg exports and Windows NT hives such as "
			    "NTUSER.DAT)");
	/* not "line 1: NUL character" */
	assert_null(strstr(ps_error_last(), "NUL"));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/SYSTEM.DAT", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(creg, 1, sizeof(creg), f), sizeof(creg));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(ps_posix_system_new(&sys), 0);
	assert_int_equal(ps_fakestore_open(&s, sys, path), PS_EFORMAT);
	assert_null(s);
	if (strncmp(ps_error_last(), path, strlen(path)) ||
	    !strstr(ps_error_last(), ": Windows 9x registry file: not "
		    "supported"))
		fail_msg("message: %s", ps_error_last());
	ps_sys_free(sys);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		int code;
	} cases[] = {
		{ "", 1, PS_EFORMAT },
		{ "REGEDIT5\r\n\r\n", 1, PS_EFORMAT },
		{ "regedit4\r\n", 1, PS_EFORMAT },
		{ "\r\nREGEDIT4\r\n", 1, PS_EFORMAT },
		{ R4 "\"a\"=\"b\"\r\n", 3, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01,zz\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:012\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01,,02\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01 02\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=dword:123456789\r\n", 4,
		  PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=dword:\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=dword:0x12\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=dword:12 34\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=\"abc\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=\"abc\\\"\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"abc=1\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=\"b\"c\"\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X\r\n", 3, PS_EFORMAT },
		{ R4 "[" HKCU "\\X] junk\r\n", 3, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\r\nfoo=bar\r\n", 5, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=\"C:\\temp\"\r\n", 4,
		  PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01,02\\\r\n  03\r\n", 4,
		  PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01,\\ x\r\n  03\r\n", 4,
		  PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=dword:00000001 x\r\n", 4,
		  PS_EFORMAT },
		{ R4 "[-" HKCU "\\X]\r\n\"a\"=\"b\"\r\n", 4, PS_EFORMAT },
		{ R4 "[HKEY_NOWHERE\\X]\r\n", 3, PS_EFORMAT },
		{ R4 "[Software\\X]\r\n", 3, PS_EFORMAT },
		{ R4 "[" HKCU "\\\\X]\r\n", 3, PS_EFORMAT },
		{ R4 "[" HKCU "\\X\\]\r\n", 3, PS_EFORMAT },
		{ R4 "[]\r\n", 3, PS_EFORMAT },
		{ R4 "[-]\r\n", 3, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01,\\\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01,\\\r\n\r\n;c\r\n", 6,
		  PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01,\\\r\n  zz\r\n", 5,
		  PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex:01,\\\r\n  ,02\r\n", 5,
		  PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=dword:00000001", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]", 3, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex(xyz):01\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex(7)01\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=hex(123456789):01\r\n", 4,
		  PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=str:x\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\"=-x\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n\"a\" \"b\"\r\n", 4, PS_EFORMAT },
		{ R4 "[" HKCU "\\X]\r\n@\r\n", 4, PS_EFORMAT },
		{ "\xEF\xBB\xBF" R4 "[" HKCU "\\X\xC3]\r\n", 3, PS_EFORMAT },
		{ "\xFE\xFF\0W", 1, PS_EFORMAT },
	};
	ps_regtree t, sentinel;
	char what[32];
	size_t i;
	int rc;

	(void)state;
	sentinel.root = (ps_regkey *)&sentinel;
	sentinel.encoding = 77;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = sentinel;
		rc = parse_str(&t, cases[i].text, 0);
		snprintf(what, sizeof(what), "case %zu", i);
		check_error(rc, cases[i].code, "test.reg", cases[i].line,
			    what);
		/* nothing is returned */
		assert_ptr_equal(t.root, sentinel.root);
		assert_int_equal(t.encoding, 77);
	}
	/* the same in UTF-16 files (the BE case aside) */
	for (i = 0; i + 1 < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!strncmp(cases[i].text, "\xEF\xBB\xBF", 3))
			continue;
		t = sentinel;
		rc = parse_str(&t, cases[i].text, 1);
		snprintf(what, sizeof(what), "UTF-16 case %zu", i);
		check_error(rc, cases[i].code, "test.reg", cases[i].line,
			    what);
		assert_ptr_equal(t.root, sentinel.root);
	}
}

static void test_parse_errors_in_encoding(void **state)
{
	static const char text[] = V5 "[" HKCU "\\X]\r\n\"a\"=\"b\"\r\n";
	static const uint8_t nul8[] = R4 "[" HKCU "\0]\r\n";
	ps_buf b = PS_BUF_INIT;
	ps_regtree t;
	size_t at;

	(void)state;
	/* odd byte count: a cut UTF-16 file, reported on its last line */
	utf16_file(&b, text, strlen(text));
	check_error(ps_regtree_parse(&t, "odd.reg", (uint8_t *)b.ptr,
				     b.len - 1), PS_EFORMAT, "odd.reg", 4,
		    "odd length");
	assert_non_null(strstr(ps_error_last(), "truncated"));
	/* an unpaired surrogate on line 4 */
	at = 2 + 2 * (strlen(text) - 4);   /* the "b" */
	b.ptr[at] = 0x00;
	b.ptr[at + 1] = (char)0xD8;
	check_error(ps_regtree_parse(&t, "sur.reg", (uint8_t *)b.ptr, b.len),
		    PS_EFORMAT, "sur.reg", 4, "surrogate");
	/* a NUL character on line 3 */
	utf16_file(&b, text, strlen(text));
	at = 2 + 2 * strlen(V5 "[");
	b.ptr[at] = 0;
	check_error(ps_regtree_parse(&t, "nul.reg", (uint8_t *)b.ptr, b.len),
		    PS_EFORMAT, "nul.reg", 3, "NUL");
	/* an 8-bit NUL */
	check_error(ps_regtree_parse(&t, NULL, nul8, sizeof(nul8) - 1),
		    PS_EFORMAT, "(memory)", 3, "8-bit NUL");
	ps_buf_free(&b);
}

/* Expected outcome of parsing the first cut units of a file whose code
 * units are unit(i): accepted only when the cut falls on a line end
 * outside a continuation, or right after a complete header line. */
static int cut_ok(const uint8_t *d, size_t n, int utf16, const char *hdr)
{
	size_t i, nl = (size_t)-1, plen, prev, pend;
	unsigned u;

	for (i = 0; i < n; i++) {
		u = utf16 ? (unsigned)(d[2 * i] | d[2 * i + 1] << 8) : d[i];
		if (u == '\n')
			nl = i;
	}
	plen = nl == (size_t)-1 ? n : n - nl - 1;
	/* the partial last line, without a CR */
	u = plen ? (utf16 ? (unsigned)(d[2 * (n - 1)] | d[2 * n - 1] << 8)
		   : d[n - 1]) : 0;
	if (plen && u == '\r')
		plen--;
	if (nl == (size_t)-1)
		return plen == strlen(hdr);
	if (plen)
		return 0;
	/* the last complete line must not end with a backslash */
	if (nl == 0)
		return 1;
	pend = nl;
	prev = pend - 1;
	u = utf16 ? (unsigned)(d[2 * prev] | d[2 * prev + 1] << 8) : d[prev];
	if (u == '\r' && prev > 0) {
		prev--;
		u = utf16 ? (unsigned)(d[2 * prev] | d[2 * prev + 1] << 8) :
		    d[prev];
	}
	return u != '\\';
}

static void check_cuts(const char *name, int utf16, const char *hdr)
{
	uint8_t *data;
	size_t len, cut, units;
	ps_regtree t;
	unsigned refused = 0, accepted = 0;
	int rc, want;

	data = read_data(name, &len);
	for (cut = 0; cut < len; cut++) {
		if (utf16 && (cut < 2 || cut % 2))
			want = 0;
		else if (utf16)
			want = cut_ok(data + 2, (cut - 2) / 2, 1, hdr);
		else
			want = cut_ok(data, cut, 0, hdr);
		rc = ps_regtree_parse(&t, "cut.reg", data, cut);
		if (!rc) {
			ps_regtree_free(&t);
			accepted++;
		} else {
			refused++;
			if (rc != PS_EFORMAT ||
			    strncmp(ps_error_last(), "cut.reg:", 8))
				fail_msg("%s cut at %zu: %d %s", name, cut,
					 rc, ps_error_last());
		}
		if (want != !rc)
			fail_msg("%s cut at %zu: %s (%s)", name, cut,
				 rc ? "refused" : "accepted",
				 rc ? ps_error_last() : "");
	}
	units = utf16 ? len / 2 : len;
	/* most cuts fall inside a line */
	assert_true(refused > units / 2);
	assert_true(accepted > 0);
	free(data);
}

static void test_truncated_files_refused(void **state)
{
	static const char hdr5[] = "Windows Registry Editor Version 5.00";
	ps_regtree t;
	uint8_t *data;
	size_t len;

	(void)state;
	check_cuts("outlook_profile.reg", 1, hdr5);
	check_cuts("unicode_v5.reg", 1, hdr5);
	check_cuts("unicode_r4.reg", 0, "REGEDIT4");
	/* a cut inside the continuation of 01023d0e, right after ",\\\r\n"
	 * of its first line: refused, on the last line */
	data = read_data("unicode_r4.reg", &len);
	assert_int_equal(ps_regtree_parse(&t, "r4.reg", data, 109), 0);
	ps_regtree_free(&t);
	assert_memory_equal(data + 109, "\"ForceOSTPath\"", 14);
	assert_memory_equal(data + 187, ",\\\r\n", 4);
	check_error(ps_regtree_parse(&t, "r4.reg", data, 191), PS_EFORMAT,
		    "r4.reg", 5, "mid-continuation");
	assert_non_null(strstr(ps_error_last(), "ForceOSTPath"));
	free(data);
}

static void test_parse_limits(void **state)
{
	const size_t big = PS_REG_MAX_DATA / 2;  /* UTF-16 chars */
	ps_buf b = PS_BUF_INIT;
	ps_regtree t;
	size_t i;

	(void)state;
	/* a string of 8 Mi characters is 16 MiB + 2 bytes as UTF-16 */
	ps_buf_puts(&b, R4 "[" HKCU "\\X]\r\n\"ok\"=\"y\"\r\n\"big\"=\"");
	assert_int_equal(ps_buf_grow(&b, big + 8), 0);
	memset(b.ptr + b.len, 'x', big);
	b.len += big;
	ps_buf_puts(&b, "\"\r\n");
	check_error(ps_regtree_parse(&t, "big.reg", (uint8_t *)b.ptr, b.len),
		    PS_ELIMIT, "big.reg", 5, "16 MiB");
	/* one character less fits exactly */
	ps_buf_clear(&b);
	ps_buf_puts(&b, R4 "[" HKCU "\\X]\r\n\"big\"=\"");
	assert_int_equal(ps_buf_grow(&b, big + 8), 0);
	memset(b.ptr + b.len, 'x', big - 1);
	b.len += big - 1;
	ps_buf_puts(&b, "\"\r\n");
	assert_int_equal(ps_regtree_parse(&t, "big.reg", (uint8_t *)b.ptr,
					  b.len), 0);
	assert_int_equal(val(&t, HKCU "\\X", "big")->len, PS_REG_MAX_DATA);
	ps_regtree_free(&t);
	/* 513 key names */
	ps_buf_clear(&b);
	ps_buf_puts(&b, R4 "\r\n[" HKCU);
	for (i = 1; i < PS_REG_MAX_DEPTH + 1; i++)
		ps_buf_puts(&b, "\\k");
	ps_buf_puts(&b, "]\r\n");
	check_error(ps_regtree_parse(&t, "deep.reg", (uint8_t *)b.ptr,
				     b.len), PS_ELIMIT, "deep.reg", 4,
		    "depth");
	/* 4097 characters */
	ps_buf_clear(&b);
	ps_buf_puts(&b, R4 "[" HKCU "\\");
	for (i = strlen(HKCU "\\"); i < PS_REG_MAX_PATH + 1; i++)
		ps_buf_putc(&b, 'p');
	ps_buf_puts(&b, "]\r\n");
	check_error(ps_regtree_parse(&t, "long.reg", (uint8_t *)b.ptr,
				     b.len), PS_ELIMIT, "long.reg", 3,
		    "path length");
	ps_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Comparing                                                           */

static void test_equal_ignores_order_and_case(void **state)
{
	static const char a[] =
		V5 "[" HKCU "\\S\\One]\r\n\"x\"=dword:00000001\r\n"
		"\"y\"=\"t\"\r\n\r\n[" HKCU "\\S\\Two]\r\n\r\n";
	static const char b[] =
		R4 "[hkey_current_user\\s\\TWO]\r\n\r\n"
		"[" HKCU "\\S\\one]\r\n\"Y\"=\"t\"\r\n\"X\"=dword:1\r\n";
	ps_regtree ta, tb;
	ps_buf diff = PS_BUF_INIT;

	(void)state;
	assert_int_equal(parse_str(&ta, a, 1), 0);
	assert_int_equal(parse_str(&tb, b, 0), 0);
	assert_int_equal(ps_regkey_equal(ta.root, tb.root, &diff), 1);
	assert_int_equal(diff.len, 0);
	assert_int_equal(ps_regkey_equal(tb.root, ta.root, NULL), 1);
	ps_regtree_free(&ta);
	ps_regtree_free(&tb);
}

static void test_diff_names_the_difference(void **state)
{
	ps_regtree a, b;
	ps_regkey *k;
	ps_regval *v;
	ps_buf diff = PS_BUF_INIT;
	uint8_t *data;
	size_t len;
	const char *emsmdb = PROFILE "\\3c8d5a1a6a294f9a9e1b2f3d4c5b6a79";
	static const char bob[] = "b\0o\0b\0@\0c\0o\0n\0t\0o\0s\0o\0.\0c\0o\0"
				  "m\0\0";

	(void)state;
	data = read_data("outlook_profile.reg", &len);
	assert_int_equal(ps_regtree_parse(&a, "a.reg", data, len), 0);
	assert_int_equal(ps_regtree_parse(&b, "b.reg", data, len), 0);
	/* one changed SMTP address, one changed byte, one extra value,
	 * one missing key */
	k = ps_regkey_find(b.root, emsmdb);
	assert_int_equal(ps_regkey_set(k, "001f6641", 3, bob, sizeof(bob)),
			 0);
	v = ps_regkey_value(k, "00036601");
	v->data[0] ^= 1;
	assert_int_equal(ps_regkey_set(k, "001f6642", 3, "\1", 1), 0);
	k = ps_regkey_find(b.root, PROFILE);
	assert_int_equal(ps_regkey_delete(k, "13DBB0C8AA05101A9BB000AA002FC4"
					  "5A"), 0);
	assert_int_equal(ps_regkey_equal(a.root, b.root, &diff), 0);
	assert_non_null(strstr(diff.ptr,
		"value " PROFILE "\\3c8d5a1a6a294f9a9e1b2f3d4c5b6a79 "
		"\"001f6641\": type 3 len 36 (61 00 6c 00 69 00 63 00 65 00 "
		"40 00 63 00 6f 00 6e 00 74 00 6f 00 73 00 6f 00 2e 00 63 00 "
		"6f 00 ...) \"alice@contoso.com\" != type 3 len 32 (62 00 6f "
		"00 62 00"));
	assert_non_null(strstr(diff.ptr, " 6d 00 00 00) \"bob@contoso.com\""
			       "\n"));
	assert_non_null(strstr(diff.ptr, "\"00036601\": type 3 len 4 "
			       "(80 11 00 00) != type 3 len 4 (81 11 00 00)"
			       "\n"));
	assert_non_null(strstr(diff.ptr, "extra value " PROFILE
			       "\\3c8d5a1a6a294f9a9e1b2f3d4c5b6a79 "
			       "\"001f6642\"\n"));
	assert_non_null(strstr(diff.ptr, "missing key " PROFILE
			       "\\13dbb0c8aa05101a9bb000aa002fc45a\n"));
	/* 8-bit strings are shown too */
	k = ps_regkey_find(b.root, emsmdb);
	assert_int_equal(ps_regkey_set(k, "001e6641", 3, "bob@x\0", 6), 0);
	ps_buf_clear(&diff);
	assert_int_equal(ps_regkey_equal(a.root, b.root, &diff), 0);
	assert_non_null(strstr(diff.ptr, "\"alice@contoso.com\" != type 3 "
			       "len 6 (62 6f 62 40 78 00) \"bob@x\"\n"));
	free(data);
	ps_buf_free(&diff);
	ps_regtree_free(&a);
	ps_regtree_free(&b);
}

static void test_diff_lists_at_most_twenty(void **state)
{
	ps_regtree a, b;
	ps_regkey *ka, *kb;
	ps_buf diff = PS_BUF_INIT;
	char name[16];
	size_t i, lines = 0;

	(void)state;
	assert_int_equal(ps_regtree_init(&a, PS_REGENC_UTF16), 0);
	assert_int_equal(ps_regtree_init(&b, PS_REGENC_UTF16), 0);
	assert_int_equal(ps_regkey_create(a.root, HKCU "\\K", &ka), 0);
	assert_int_equal(ps_regkey_create(b.root, HKCU "\\K", &kb), 0);
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "v%zu", i);
		assert_int_equal(ps_regkey_set(ka, name, 3, "\1", 1), 0);
		assert_int_equal(ps_regkey_set(kb, name, 3, "\2", 1), 0);
	}
	assert_int_equal(ps_regkey_set(ka, "", 3, "\1", 1), 0);
	assert_int_equal(ps_regkey_equal(ka, kb, &diff), 0);
	for (i = 0; i < diff.len; i++)
		lines += diff.ptr[i] == '\n';
	assert_int_equal(lines, 21);
	assert_non_null(strstr(diff.ptr, "value " HKCU "\\K \"v0\": type 3 "
			       "len 1 (01) != type 3 len 1 (02)\n"));
	assert_non_null(strstr(diff.ptr, "(more differences not shown)\n"));
	/* the default value is shown as @ */
	ps_buf_clear(&diff);
	assert_int_equal(ps_regkey_unset(ka, "v0"), 0);
	for (i = 1; i < 30; i++) {
		snprintf(name, sizeof(name), "v%zu", i);
		assert_int_equal(ps_regkey_set(kb, name, 3, "\1", 1), 0);
	}
	assert_int_equal(ps_regkey_equal(ka, kb, &diff), 0);
	assert_string_equal(diff.ptr, "missing value " HKCU "\\K @\n"
			    "extra value " HKCU "\\K \"v0\"\n");
	ps_buf_free(&diff);
	ps_regtree_free(&a);
	ps_regtree_free(&b);
}

/* Fuzzing found it: a bare CR inside a key line was read into the key
 * name, and the writer then refused the tree.  The reader refuses it. */
static void test_bare_cr_inside_a_line(void **state)
{
	ps_regtree t;

	(void)state;
	check_error(parse_str(&t, "Windows Registry Editor Version 5.00\r\n"
			      "\r\n[HKEY_CURRENT_USER\\Software\rX]\r\n",
			      1), PS_EFORMAT, "test.reg", 3, "key line");
	assert_non_null(strstr(ps_error_last(), "carriage return"));
	check_error(parse_str(&t, "Windows Registry Editor Version 5.00\r\n"
			      "\r\n[HKEY_CURRENT_USER\\Software]\r\n"
			      "\"a\rb\"=dword:00000001\r\n", 1),
		    PS_EFORMAT, "test.reg", 4, "value name");
}

/* Keys with many subkeys and values are found by a hash index: every
 * name is found after adds (sorted, appended), removals and a reorder,
 * in any case, and nothing removed is found. */
static void test_many_names_indexed(void **state)
{
	ps_regtree t;
	ps_regkey *root = NULL, *k;
	char name[32];
	int i;

	(void)state;
	assert_int_equal(ps_regtree_init(&t, PS_REGENC_UTF16), 0);
	assert_int_equal(ps_regkey_create(t.root, "HKEY_CURRENT_USER\\X",
					  &root), 0);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "k%05d", (i * 7919) % 3000);
		if (i % 2)
			assert_int_equal(ps_regkey_create(root, name, &k), 0);
		else
			assert_int_equal(ps_regkey_create_last(root, name,
							       &k), 0);
		snprintf(name, sizeof(name), "v%05d", i);
		assert_int_equal(ps_regkey_set(root, name, 4, "abcd", 4), 0);
	}
	assert_int_equal(root->nsub, 3000);
	assert_int_equal(ps_regkey_create_last(root, "K00007", &k),
			 PS_ERROR);
	for (i = 0; i < 3000; i += 2) {
		snprintf(name, sizeof(name), "k%05d", i);
		assert_int_equal(ps_regkey_delete(root, name), 0);
		snprintf(name, sizeof(name), "V%05d", i);
		assert_int_equal(ps_regkey_unset(root, name), 0);
	}
	/* a reorder done by hand, then told */
	{
		ps_regval tmp = root->vals[0];

		root->vals[0] = root->vals[root->nval - 1];
		root->vals[root->nval - 1] = tmp;
		ps_regkey_reindex(root);
	}
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "K%05d", i);
		if (i % 2)
			assert_non_null(ps_regkey_child(root, name));
		else
			assert_null(ps_regkey_child(root, name));
		snprintf(name, sizeof(name), "v%05d", i);
		if (i % 2)
			assert_string_equal(ps_regkey_value(root, name)->name,
					    name);
		else
			assert_null(ps_regkey_value(root, name));
	}
	assert_non_null(ps_regkey_find(t.root,
				       "hkey_current_user\\x\\k02999"));
	ps_regtree_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_create_find_path),
		cmocka_unit_test(test_tree_values_and_delete),
		cmocka_unit_test(test_tree_limits),
		cmocka_unit_test(test_parse_value_forms),
		cmocka_unit_test(test_parse_escapes),
		cmocka_unit_test(test_parse_continuations),
		cmocka_unit_test(test_parse_deletions),
		cmocka_unit_test(test_parse_repeated_value_overrides),
		cmocka_unit_test(test_parse_lenient_forms),
		cmocka_unit_test(test_parse_header_only),
		cmocka_unit_test(test_unicode_utf16_file),
		cmocka_unit_test(test_unicode_regedit4_file),
		cmocka_unit_test(test_utf8_bom_file),
		cmocka_unit_test(test_outlook_profile_export),
		cmocka_unit_test(test_write_hex_wrapping),
		cmocka_unit_test(test_write_round_trip_utf16),
		cmocka_unit_test(test_write_round_trip_ansi),
		cmocka_unit_test(test_write_ansi_refuses_unrepresentable),
		cmocka_unit_test(test_utf8_without_bom_kept),
		cmocka_unit_test(test_ansi_version5_kept),
		cmocka_unit_test(test_unwritable_value_keeps_file),
		cmocka_unit_test(test_win9x_registry_refused),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_errors_in_encoding),
		cmocka_unit_test(test_truncated_files_refused),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_equal_ignores_order_and_case),
		cmocka_unit_test(test_diff_names_the_difference),
		cmocka_unit_test(test_diff_lists_at_most_twenty),
		cmocka_unit_test(test_bare_cr_inside_a_line),
		cmocka_unit_test(test_many_names_indexed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
