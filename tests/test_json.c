/*
 * The flat JSON reader (core/json.c): what an Autodiscover v2 answer
 * holds is read, and every hostile or malformed input is refused with
 * its offset, never half-read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_error.h"
#include "ps_json.h"

static int parse(const char *s, ps_json_obj *o)
{
	return ps_json_parse_flat(s, strlen(s), o);
}

static void test_v2_answer(void **state)
{
	ps_json_obj o;

	(void)state;
	assert_int_equal(parse("{\"Protocol\":\"AutodiscoverV1\",\"Url\":"
			       "\"https://outlook.office365.com/autodiscover"
			       "/autodiscover.xml\"}", &o), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(ps_json_get(&o, "Protocol"), "AutodiscoverV1");
	/* names compare case-insensitively */
	assert_string_equal(ps_json_get(&o, "url"),
			    "https://outlook.office365.com/autodiscover/"
			    "autodiscover.xml");
	assert_null(ps_json_get(&o, "ErrorCode"));
	ps_json_free(&o);
}

static void test_escapes_bom_scalars(void **state)
{
	ps_json_obj o;

	(void)state;
	assert_int_equal(parse("\xEF\xBB\xBF {\r\n \"a\" : \"\\u00e9\\ud83d"
			       "\\ude00\\n\\t\\\"\\\\\\/\" ,\n \"n\": -12.5e+3,"
			       " \"t\": true, \"z\": null }\n", &o), 0);
	assert_int_equal(o.n, 4);
	assert_string_equal(ps_json_get(&o, "a"),
			    "\xC3\xA9\xF0\x9F\x98\x80\n\t\"\\/");
	/* scalars keep their text but are not strings for ps_json_get */
	assert_string_equal(o.v[1].value, "-12.5e+3");
	assert_false(o.v[1].is_string);
	assert_string_equal(o.v[2].value, "true");
	assert_null(ps_json_get(&o, "z"));
	ps_json_free(&o);
	assert_int_equal(parse("{}", &o), 0);
	assert_int_equal(o.n, 0);
	ps_json_free(&o);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *in;
		const char *why;
	} bad[] = {
		{ "", "empty answer" },
		{ "[1]", "expected an object" },
		{ "{\"a\":{\"b\":\"c\"}}", "nested objects" },
		{ "{\"a\":[1]}", "nested objects" },
		{ "{\"a\":\"x\",\"A\":\"y\"}", "given twice" },
		{ "{\"a\":\"\\ud800\"}", "unpaired surrogate" },
		{ "{\"a\":\"\\udc00\"}", "unpaired surrogate" },
		{ "{\"a\":\"\\u0000\"}", "\\u0000" },
		{ "{\"a\":\"\\x\"}", "unknown escape" },
		{ "{\"a\":\"\\u12\"}", "four hex digits" },
		{ "{\"a\":\"x\ty\"}", "control character" },
		{ "{\"a\":\"x\"", "ends inside the object" },
		{ "{\"a\":\"x", "a string is not closed" },
		{ "{\"a\":\"x\"} {}", "something after the object" },
		{ "{\"a\":\"x\",}", "expected a member name" },
		{ "{\"a\" \"x\"}", "expected ':'" },
		{ "{\"a\":01}", "expected ',' or '}'" },
		{ "{\"a\":1.}", "bad number" },
		{ "{\"a\":tru}", "expected a value" },
		{ "{'a':'x'}", "expected a member name" },
		{ "{\"a\":\"\xC0\xAF\"}", "not valid UTF-8" },
		{ "{\"a\":\"\xED\xA0\x80\"}", "not valid UTF-8" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ps_json_obj o;
		int rc = parse(bad[i].in, &o);

		if (rc != PS_EFORMAT ||
		    !strstr(ps_error_last(), bad[i].why))
			fail_msg("input %zu '%s': rc %d, '%s' (wanted '%s')",
				 i, bad[i].in, rc, ps_error_last(),
				 bad[i].why);
		assert_int_equal(o.n, 0);
		assert_null(o.v);
	}
	/* a NUL byte inside */
	{
		ps_json_obj o;

		assert_int_equal(ps_json_parse_flat("{\"a\":\"x\0\"}", 9, &o),
				 PS_EFORMAT);
		assert_non_null(strstr(ps_error_last(), "offset 7: NUL"));
	}
}

static void test_limits(void **state)
{
	ps_json_obj o;
	size_t n = PS_JSON_MAX_STRING + 16, i;
	char *s = malloc(n + 16);

	(void)state;
	assert_non_null(s);
	/* a string over the cap */
	memcpy(s, "{\"a\":\"", 6);
	memset(s + 6, 'x', n);
	memcpy(s + 6 + n, "\"}", 3);
	assert_int_equal(parse(s, &o), PS_ELIMIT);
	free(s);
	/* too many members */
	s = malloc(PS_JSON_MAX_MEMBERS * 16 + 64);
	assert_non_null(s);
	strcpy(s, "{");
	for (i = 0; i <= PS_JSON_MAX_MEMBERS; i++)
		sprintf(s + strlen(s), "%s\"m%zu\":1", i ? "," : "", i);
	strcat(s, "}");
	assert_int_equal(parse(s, &o), PS_ELIMIT);
	assert_non_null(strstr(ps_error_last(), "members"));
	free(s);
	/* the whole input */
	s = calloc(1, PS_JSON_MAX_INPUT + 2);
	assert_non_null(s);
	memset(s, ' ', PS_JSON_MAX_INPUT + 1);
	s[0] = '{';
	s[PS_JSON_MAX_INPUT] = '}';
	assert_int_equal(parse(s, &o), PS_ELIMIT);
	/* exactly at the cap is read */
	s[PS_JSON_MAX_INPUT] = ' ';
	s[PS_JSON_MAX_INPUT - 1] = '}';
	assert_int_equal(ps_json_parse_flat(s, PS_JSON_MAX_INPUT, &o), 0);
	ps_json_free(&o);
	free(s);
	/* deep nesting is refused at the first level, not recursed */
	s = malloc(200001);
	assert_non_null(s);
	memcpy(s, "{\"a\":", 5);
	memset(s + 5, '[', 200000 - 5);
	s[200000] = 0;
	assert_int_equal(ps_json_parse_flat(s, 60000, &o), PS_EFORMAT);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_answer),
		cmocka_unit_test(test_escapes_bom_scalars),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
