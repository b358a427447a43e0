/*
 * The CSV report as a spreadsheet opens it: text that a spreadsheet would
 * run as a formula is quoted with a leading apostrophe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ps_report.h"

static void test_csv_neutralises_formulas(void **state)
{
	static const char *const cases[][2] = {
		{ "=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"" },
		{ "+1", "\"'+1\"" },
		{ "-1", "\"'-1\"" },
		{ "@SUM(A1)", "\"'@SUM(A1)\"" },
		{ "\t=1", "\"'\t=1\"" },
		{ "\r=1", "\"'\r=1\"" },
		{ "a,b", "\"a,b\"" },
		{ "plain", "plain" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ps_report r = PS_REPORT_INIT;
		ps_buf out = PS_BUF_INIT;
		const char *row;

		assert_int_equal(ps_report_add(&r, "P", "A", "S", "T",
					       PS_ST_UPDATED, cases[i][0]), 0);
		assert_int_equal(ps_report_csv(&r, &out), 0);
		row = strstr(out.ptr, "\r\n") + 2;
		assert_non_null(strstr(row, cases[i][1]));
		ps_buf_free(&out);
		ps_report_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_neutralises_formulas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
