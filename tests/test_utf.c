/* Tests for core/ps_utf.c: UTF-16LE, UTF-8 and Windows-1252. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../core/ps_error.h"
#include "../core/ps_utf.h"

static void assert_bytes(const ps_buf *b, const void *want, size_t n)
{
	assert_int_equal(b->len, n);
	assert_memory_equal(b->ptr, want, n);
	assert_int_equal(b->ptr[n], '\0');
}

static void test_utf16_to_utf8(void **state)
{
	/* "Aé€" U+1F600, then a NUL code unit and "z" */
	static const uint8_t in[] = {
		0x41, 0x00, 0xE9, 0x00, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE,
		0x00, 0x00, 0x7A, 0x00
	};
	static const char want[] = "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"
				   "\0z";
	ps_buf b = PS_BUF_INIT;

	(void)state;
	assert_int_equal(ps_utf16le_to_utf8(&b, in, sizeof(in)), 0);
	assert_bytes(&b, want, sizeof(want) - 1);
	ps_buf_free(&b);
}

/* The ASCII fast path writes into room grown up front: text that
 * grows most (three UTF-8 bytes per unit) then ASCII must still fit,
 * appended to a buffer that already holds something. */
static void test_utf16_worst_growth(void **state)
{
	uint8_t in[2 * 300];
	ps_buf out = PS_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 200; i++) {      /* U+65E5, three bytes each */
		in[2 * i] = 0xE5;
		in[2 * i + 1] = 0x65;
	}
	for (; i < 300; i++) {
		in[2 * i] = 'a';
		in[2 * i + 1] = 0;
	}
	ps_buf_puts(&out, "x");
	assert_int_equal(ps_utf16le_to_utf8(&out, in, sizeof(in)), 0);
	assert_int_equal(out.len, 1 + 200 * 3 + 100);
	assert_memory_equal(out.ptr + 1, "\xE6\x97\xA5", 3);
	assert_int_equal(out.ptr[out.len - 1], 'a');
	assert_int_equal(out.ptr[out.len], '\0');
	ps_buf_free(&out);
}

static void test_utf16_rejects_unpaired(void **state)
{
	static const uint8_t lone_high_end[] = { 0x41, 0x00, 0x3D, 0xD8 };
	static const uint8_t high_then_a[] = { 0x3D, 0xD8, 0x41, 0x00 };
	static const uint8_t lone_low[] = { 0x00, 0xDE, 0x41, 0x00 };
	static const uint8_t odd[] = { 0x41, 0x00, 0x42 };
	ps_buf b = PS_BUF_INIT;

	(void)state;
	ps_buf_puts(&b, "keep");
	assert_int_equal(ps_utf16le_to_utf8(&b, lone_high_end, 4),
			 PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "unpaired surrogate"));
	assert_int_equal(ps_utf16le_to_utf8(&b, high_then_a, 4), PS_EFORMAT);
	assert_int_equal(ps_utf16le_to_utf8(&b, lone_low, 4), PS_EFORMAT);
	assert_int_equal(ps_utf16le_to_utf8(&b, odd, 3), PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "odd"));
	/* the caller's earlier content is left as it was */
	assert_bytes(&b, "keep", 4);
	ps_buf_free(&b);
}

static void test_utf8_to_utf16(void **state)
{
	static const char in[] = "M\xC3\xBCller \xE6\x97\xA5\xF0\x9F\x98\x80";
	static const uint8_t want[] = {
		0x4D, 0x00, 0xFC, 0x00, 0x6C, 0x00, 0x6C, 0x00, 0x65, 0x00,
		0x72, 0x00, 0x20, 0x00, 0xE5, 0x65, 0x3D, 0xD8, 0x00, 0xDE
	};
	ps_buf b = PS_BUF_INIT, back = PS_BUF_INIT;

	(void)state;
	assert_int_equal(ps_utf8_to_utf16le(&b, in, strlen(in)), 0);
	assert_bytes(&b, want, sizeof(want));
	assert_int_equal(ps_utf16le_to_utf8(&back, (uint8_t *)b.ptr, b.len),
			 0);
	assert_string_equal(back.ptr, in);
	/* an embedded NUL is a character like the others */
	ps_buf_clear(&b);
	assert_int_equal(ps_utf8_to_utf16le(&b, "a\0b", 3), 0);
	assert_bytes(&b, "a\0\0\0b\0", 6);
	/* invalid input leaves the buffer alone */
	ps_buf_clear(&b);
	ps_buf_puts(&b, "xy");
	assert_int_equal(ps_utf8_to_utf16le(&b, "ok\xC0\x80", 4),
			 PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "byte 2"));
	assert_bytes(&b, "xy", 2);
	ps_buf_free(&b);
	ps_buf_free(&back);
}

static void test_utf8_valid(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		int ok;
	} cases[] = {
		{ "", 0, 1 },
		{ "plain ascii", 11, 1 },
		{ "\0", 1, 1 },
		{ "\xC3\xBC", 2, 1 },             /* ü */
		{ "\xEF\xBF\xBF", 3, 1 },         /* U+FFFF */
		{ "\xF4\x8F\xBF\xBF", 4, 1 },     /* U+10FFFF */
		{ "\xC0\x80", 2, 0 },             /* overlong NUL */
		{ "\xC1\xBF", 2, 0 },             /* overlong */
		{ "\xE0\x80\x80", 3, 0 },         /* overlong */
		{ "\xE0\x9F\xBF", 3, 0 },         /* overlong U+07FF */
		{ "\xF0\x80\x80\x80", 4, 0 },     /* overlong */
		{ "\xF0\x8F\xBF\xBF", 4, 0 },     /* overlong U+FFFF */
		{ "\xED\xA0\x80", 3, 0 },         /* U+D800 */
		{ "\xED\xBF\xBF", 3, 0 },         /* U+DFFF */
		{ "\xF4\x90\x80\x80", 4, 0 },     /* U+110000 */
		{ "\xF5\x80\x80\x80", 4, 0 },
		{ "\xFF", 1, 0 },
		{ "\x80", 1, 0 },                 /* stray continuation */
		{ "\xC3", 1, 0 },                 /* truncated */
		{ "\xE6\x97", 2, 0 },             /* truncated */
		{ "\xC3\x41", 2, 0 },             /* bad continuation */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (ps_utf8_valid(cases[i].s, cases[i].n) != cases[i].ok)
			fail_msg("case %zu: expected %d", i, cases[i].ok);
	}
}

static void test_cp1252_to_utf8(void **state)
{
	static const struct {
		uint8_t in;
		const char *out;
	} cases[] = {
		{ 0x41, "A" },
		{ 0x80, "\xE2\x82\xAC" },         /* € */
		{ 0x81, "\xC2\x81" },             /* undefined: U+0081 */
		{ 0x8D, "\xC2\x8D" },
		{ 0x8F, "\xC2\x8F" },
		{ 0x90, "\xC2\x90" },
		{ 0x9D, "\xC2\x9D" },
		{ 0x8A, "\xC5\xA0" },             /* Š */
		{ 0x92, "\xE2\x80\x99" },         /* ’ */
		{ 0x96, "\xE2\x80\x93" },         /* – */
		{ 0x99, "\xE2\x84\xA2" },         /* ™ */
		{ 0x9F, "\xC5\xB8" },             /* Ÿ */
		{ 0xA0, "\xC2\xA0" },
		{ 0xFC, "\xC3\xBC" },             /* ü */
		{ 0xFF, "\xC3\xBF" },
	};
	ps_buf b = PS_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ps_buf_clear(&b);
		assert_int_equal(ps_cp1252_to_utf8(&b, &cases[i].in, 1), 0);
		assert_string_equal(b.ptr, cases[i].out);
	}
	ps_buf_free(&b);
}

static void test_cp1252_every_byte_round_trips(void **state)
{
	ps_buf u = PS_BUF_INIT, back = PS_BUF_INIT;
	uint8_t all[256];
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	assert_int_equal(ps_cp1252_to_utf8(&u, all, sizeof(all)), 0);
	assert_true(ps_utf8_valid(u.ptr, u.len));
	assert_int_equal(ps_utf8_to_cp1252(&back, u.ptr, u.len), 0);
	assert_bytes(&back, all, sizeof(all));
	ps_buf_free(&u);
	ps_buf_free(&back);
}

static void test_utf8_to_cp1252_refuses(void **state)
{
	ps_buf b = PS_BUF_INIT;

	(void)state;
	assert_int_equal(ps_utf8_to_cp1252(&b, "\xE2\x80\x93\xE2\x82\xAC",
					   6), 0);
	assert_bytes(&b, "\x96\x80", 2);
	ps_buf_clear(&b);
	/* 日 has no Windows-1252 byte */
	assert_int_equal(ps_utf8_to_cp1252(&b, "ab\xE6\x97\xA5", 5),
			 PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "U+65E5"));
	assert_int_equal(b.len, 0);
	/* U+0080 is not one of the five pass-through C1 controls */
	assert_int_equal(ps_utf8_to_cp1252(&b, "\xC2\x80", 2), PS_EFORMAT);
	assert_int_equal(ps_utf8_to_cp1252(&b, "\xC3", 1), PS_EFORMAT);
	ps_buf_free(&b);
}

static void test_empty_input_is_terminated(void **state)
{
	ps_buf a = PS_BUF_INIT, b = PS_BUF_INIT, c = PS_BUF_INIT,
	       d = PS_BUF_INIT;

	(void)state;
	assert_int_equal(ps_utf16le_to_utf8(&a, (const uint8_t *)"", 0), 0);
	assert_int_equal(ps_utf8_to_utf16le(&b, "", 0), 0);
	assert_int_equal(ps_cp1252_to_utf8(&c, (const uint8_t *)"", 0), 0);
	assert_int_equal(ps_utf8_to_cp1252(&d, "", 0), 0);
	assert_non_null(a.ptr);
	assert_string_equal(a.ptr, "");
	assert_string_equal(b.ptr, "");
	assert_string_equal(c.ptr, "");
	assert_string_equal(d.ptr, "");
	ps_buf_free(&a);
	ps_buf_free(&b);
	ps_buf_free(&c);
	ps_buf_free(&d);
}

/* The one sanitiser for terminals and logs: C0, DEL, C1 and invalid
 * UTF-8 become one '?' each; everything else stays, byte for byte. */
static void test_sanitize(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "plain ASCII \\ \"x\"", 17, "plain ASCII \\ \"x\"" },
		{ "a\nb\rc\td", 7, "a?b?c?d" },
		{ "\x1b[2J\a\x7f", 6, "?[2J??" },
		{ "x\0y", 3, "x?y" },
		/* U+0085 (NEL) and U+009B (CSI) are C1 controls */
		{ "a\xC2\x85" "b\xC2\x9B" "31m", 9, "a?b?31m" },
		/* U+00A0 and U+00E9 are not */
		{ "\xC2\xA0\xC3\xA9", 4, "\xC2\xA0\xC3\xA9" },
		{ "\xE6\x97\xA5\xF0\x9F\x93\xA7", 7,
		  "\xE6\x97\xA5\xF0\x9F\x93\xA7" },
		/* invalid: a lone byte, an overlong, a surrogate, a cut */
		{ "m\xFCller", 6, "m?ller" },
		{ "\xC0\x80", 2, "??" },
		{ "\xED\xA0\x80", 3, "???" },
		{ "ab\xE6\x97", 4, "ab??" },
		{ "", 0, "" },
	};
	ps_buf b = PS_BUF_INIT;
	char *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ps_buf_clear(&b);
		assert_int_equal(ps_utf8_sanitize(&b, cases[i].in,
						  cases[i].len), 0);
		assert_string_equal(b.ptr, cases[i].out);
		assert_true(ps_utf8_valid(b.ptr, b.len));
	}
	/* Appends, keeping what the buffer held. */
	ps_buf_clear(&b);
	ps_buf_puts(&b, "\x1b");
	assert_int_equal(ps_utf8_sanitize(&b, "\x1b", 1), 0);
	assert_memory_equal(b.ptr, "\x1b?", 3);
	c = ps_utf8_clean("a\x1b\xC2\x9Bz");
	assert_string_equal(c, "a??z");
	free(c);
	ps_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf16_to_utf8),
		cmocka_unit_test(test_utf16_worst_growth),
		cmocka_unit_test(test_utf16_rejects_unpaired),
		cmocka_unit_test(test_utf8_to_utf16),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_cp1252_to_utf8),
		cmocka_unit_test(test_cp1252_every_byte_round_trips),
		cmocka_unit_test(test_utf8_to_cp1252_refuses),
		cmocka_unit_test(test_empty_input_is_terminated),
		cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
