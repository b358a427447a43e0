/* The INI reader: core/ini.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_ini.h"

/* Every callback appends "section|key|value|line\n" (sections "[s]@line"). */
typedef struct rec {
	ps_buf out;
	int stop_at;                    /* key count at which to fail, 0 */
	int keys;
} rec;

static int on_key(void *ctx, const char *section, const char *key,
		  const char *value, unsigned line)
{
	rec *r = ctx;

	r->keys++;
	if (r->stop_at && r->keys == r->stop_at)
		return ps_error_setc(PS_EFORMAT, "stopped at %s", key);
	return ps_buf_printf(&r->out, "%s|%s|%s|%u\n", section, key, value,
			     line);
}

static int on_section(void *ctx, const char *section, unsigned line)
{
	rec *r = ctx;

	return ps_buf_printf(&r->out, "[%s]@%u\n", section, line);
}

/* Parse s (strlen) and return the record; rc in *rcp. */
static char *run(const char *s, size_t len, int with_sections, int *rcp)
{
	rec r;

	memset(&r, 0, sizeof(r));
	*rcp = ps_ini_parse_ex("t.ini", s, len,
			       with_sections ? on_section : NULL, on_key, &r);
	return ps_buf_detach(&r.out);
}

static void expect_ok(const char *s, size_t len, const char *want)
{
	int rc = -99;
	char *got = run(s, len, 0, &rc);

	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	free(got);
}

static void expect_err(const char *s, int code, const char *msg)
{
	int rc = 0;
	char *got = run(s, strlen(s), 0, &rc);

	assert_int_equal(rc, code);
	assert_string_equal(ps_error_last(), msg);
	free(got);
}

static void test_basic(void **state)
{
	static const char s[] =
		"top = 1\n"
		"[Settings]\n"
		"Mapping=\\\\srv\\share\\map.csv\n"
		"  Key With Spaces   =   value with  spaces   \n"
		"[  Other  ]\n"
		"empty =\n"
		"eq = a=b\n";

	(void)state;
	expect_ok(s, strlen(s),
		  "|top|1|1\n"
		  "Settings|Mapping|\\\\srv\\share\\map.csv|3\n"
		  "Settings|Key With Spaces|value with  spaces|4\n"
		  "Other|empty||6\n"
		  "Other|eq|a=b|7\n");
}

static void test_quotes(void **state)
{
	static const char s[] =
		"[q]\n"
		"a = \"quoted ; not a comment\"\n"
		"b = \"\"twice\"\"\n"
		"c = \"open only\n"
		"d = \"\n"
		"e = \"\"\n"
		"f = \"  inner spaces  \"\n"
		"g = x \"y\" z\n";

	(void)state;
	expect_ok(s, strlen(s),
		  "q|a|quoted ; not a comment|2\n"
		  "q|b|\"twice\"|3\n"
		  "q|c|\"open only|4\n"
		  "q|d|\"|5\n"
		  "q|e||6\n"
		  "q|f|  inner spaces  |7\n"
		  "q|g|x \"y\" z|8\n");
}

static void test_comments_and_blank_lines(void **state)
{
	static const char s[] =
		"; comment\n"
		"# hash comment\n"
		"\n"
		"   \t\n"
		"   ; indented comment = not a key\n"
		"\t# indented hash\n"
		"[s]\n"
		"k = a ; b # c\n";

	(void)state;
	expect_ok(s, strlen(s), "s|k|a ; b # c|8\n");
}

static void test_crlf_and_no_final_newline(void **state)
{
	static const char s[] = "[s]\r\nk1 = v1\r\n\r\nk2 = v2";

	(void)state;
	expect_ok(s, strlen(s), "s|k1|v1|2\ns|k2|v2|4\n");
}

static void test_empty_input(void **state)
{
	(void)state;
	expect_ok("", 0, "");
	expect_ok("\xEF\xBB\xBF", 3, "");
	expect_ok("\xFF\xFE", 2, "");
	expect_ok("\n\n; x\n", 6, "");
}

static void test_utf8_bom(void **state)
{
	static const char s[] = "\xEF\xBB\xBF[s]\nname = Z\xC3\xBCrich\n";

	(void)state;
	expect_ok(s, strlen(s), "s|name|Z\xC3\xBCrich|2\n");
}

/* ASCII + U+00FC as UTF-16LE with a BOM, CRLF. */
static void test_utf16le_bom(void **state)
{
	static const char ascii[] = "[s]\r\nname = Z?rich\r\n";
	uint8_t u16[2 + 2 * sizeof(ascii)];
	size_t i, n = 0;

	(void)state;
	u16[n++] = 0xFF;
	u16[n++] = 0xFE;
	for (i = 0; ascii[i]; i++) {
		u16[n++] = ascii[i] == '?' ? 0xFC : (uint8_t)ascii[i];
		u16[n++] = 0;
	}
	expect_ok((const char *)u16, n, "s|name|Z\xC3\xBCrich|2\n");
	/* An odd byte count cannot be UTF-16LE. */
	{
		int rc = 0;
		char *got = run((const char *)u16, n - 1, 0, &rc);

		assert_int_equal(rc, PS_EFORMAT);
		assert_string_equal(ps_error_last(), "t.ini: UTF-16LE text "
				    "with an odd number of bytes (truncated "
				    "file?)");
		free(got);
	}
}

static void test_utf16_bad(void **state)
{
	/* BOM, then a lone high surrogate D800. */
	static const char lone[] = "\xFF\xFEk\0=\0\x00\xD8";
	static const char be[] = "\xFE\xFF\0k\0=\0v";
	int rc = 0;
	char *got;

	(void)state;
	got = run(lone, sizeof(lone) - 1, 0, &rc);
	assert_int_equal(rc, PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "t.ini: not valid UTF-16LE"));
	free(got);
	got = run(be, sizeof(be) - 1, 0, &rc);
	assert_int_equal(rc, PS_EFORMAT);
	assert_string_equal(ps_error_last(), "t.ini: UTF-16 big-endian text "
			    "is not supported: save the file as UTF-8 or "
			    "UTF-16LE (Unicode)");
	free(got);
}

static void test_section_callback(void **state)
{
	static const char s[] = "[A]\n[ B ]\nk=v\n";
	int rc = 0;
	char *got;

	(void)state;
	got = run(s, strlen(s), 1, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "[A]@1\n[B]@2\nB|k|v|3\n");
	free(got);
}

static void test_malformed_lines(void **state)
{
	(void)state;
	expect_err("[s]\nk = v\njust some words\n", PS_EFORMAT,
		   "t.ini:3: expected key = value or [section]");
	expect_err("[Settings\n", PS_EFORMAT,
		   "t.ini:1: '[' without a closing ']' at the end of the "
		   "line");
	expect_err("\n[Settings] trailing\n", PS_EFORMAT,
		   "t.ini:2: '[' without a closing ']' at the end of the "
		   "line");
	expect_err("[s]\n  = value\n", PS_EFORMAT,
		   "t.ini:2: missing key before '='");
	expect_err("[ ]\n", PS_EFORMAT, "t.ini:1: empty section name '[]'");
	expect_err("[s]\r\nk=v\r\nnope\r\n", PS_EFORMAT,
		   "t.ini:3: expected key = value or [section]");
}

static void test_nul_byte(void **state)
{
	static const char s[] = "[s]\nk = v\nx\0y = 1\n";
	int rc = 0;
	char *got;

	(void)state;
	got = run(s, sizeof(s) - 1, 0, &rc);
	assert_int_equal(rc, PS_EFORMAT);
	assert_string_equal(ps_error_last(), "t.ini:3: NUL byte in the line "
			    "(UTF-16 text without a BOM?)");
	free(got);
}

static void test_long_line(void **state)
{
	ps_buf b = PS_BUF_INIT;
	size_t i;
	int rc = 0;
	char *got;

	(void)state;
	/* Exactly PS_INI_MAX_LINE bytes (plus CR LF) is fine. */
	assert_int_equal(ps_buf_puts(&b, "[s]\r\nk="), 0);
	for (i = 2; i < PS_INI_MAX_LINE; i++)
		assert_int_equal(ps_buf_putc(&b, 'x'), 0);
	assert_int_equal(ps_buf_puts(&b, "\r\n"), 0);
	got = run(b.ptr, b.len, 0, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(strlen(got), strlen("s|k||2\n") +
			 PS_INI_MAX_LINE - 2);
	free(got);
	/* One more byte is over the limit. */
	b.len -= 2;
	assert_int_equal(ps_buf_puts(&b, "y\r\n"), 0);
	got = run(b.ptr, b.len, 0, &rc);
	assert_int_equal(rc, PS_ELIMIT);
	assert_string_equal(ps_error_last(),
			    "t.ini:2: line longer than 8192 bytes");
	free(got);
	ps_buf_free(&b);
}

static void test_callback_stops(void **state)
{
	static const char s[] = "[s]\na=1\nb=2\nc=3\n";
	rec r;
	int rc;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	rc = ps_ini_parse("t.ini", s, strlen(s), on_key, &r);
	assert_int_equal(rc, PS_EFORMAT);
	assert_string_equal(ps_error_last(), "stopped at b");
	assert_int_equal(r.keys, 2);
	assert_string_equal(r.out.ptr, "s|a|1|2\n");
	ps_buf_free(&r.out);
}

/* The decoder the mapping reader shares. */
static void test_decode(void **state)
{
	static const char u8[] = "\xEF\xBB\xBF" "abc";
	static const char u16[] = "\xFF\xFE" "a\0b\0";
	static const char plain[] = "\xEF\xBB";
	ps_buf tmp = PS_BUF_INIT;
	const char *text = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(ps_ini_decode(&tmp, &text, &n, "f", u8, 6), 0);
	assert_ptr_equal(text, u8 + 3);
	assert_int_equal(n, 3);
	assert_int_equal(ps_ini_decode(&tmp, &text, &n, "f", u16, 6), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(text, "ab", 2);
	assert_int_equal(ps_ini_decode(&tmp, &text, &n, "f", plain, 2), 0);
	assert_ptr_equal(text, plain);
	assert_int_equal(n, 2);
	/* On failure the outputs stay as they were. */
	assert_int_equal(ps_ini_decode(&tmp, &text, &n, "f", u16, 5),
			 PS_EFORMAT);
	assert_ptr_equal(text, plain);
	assert_int_equal(n, 2);
	ps_buf_free(&tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_crlf_and_no_final_newline),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_utf8_bom),
		cmocka_unit_test(test_utf16le_bom),
		cmocka_unit_test(test_utf16_bad),
		cmocka_unit_test(test_section_callback),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
