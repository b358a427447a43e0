/*
 * The Windows tests' assertions (cmocka has no mingw build in Debian):
 * each CHECK that fails prints FILE:LINE and the expression, and the test
 * program exits 1 at the end; WT_SKIP exits 77 (ctest SKIP_RETURN_CODE).
 */
#ifndef PS_WTEST_H
#define PS_WTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wt_failed, wt_checked;

#define CHECK(cond) \
	do { \
		wt_checked++; \
		if (!(cond)) { \
			wt_failed++; \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", \
				__FILE__, __LINE__, #cond); \
		} \
	} while (0)
#define CHECK_INT(a, b) \
	do { \
		long long wt_a = (long long)(a), wt_b = (long long)(b); \
		wt_checked++; \
		if (wt_a != wt_b) { \
			wt_failed++; \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s " \
				"== %lld\n", __FILE__, __LINE__, #a, wt_a, \
				#b, wt_b); \
		} \
	} while (0)
#define CHECK_STR(a, b) \
	do { \
		const char *wt_a = (a), *wt_b = (b); \
		wt_checked++; \
		if (!wt_a || !wt_b || strcmp(wt_a, wt_b)) { \
			wt_failed++; \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected " \
				"\"%s\"\n", __FILE__, __LINE__, #a, \
				wt_a ? wt_a : "(null)", \
				wt_b ? wt_b : "(null)"); \
		} \
	} while (0)
#define WT_SKIP(why) \
	do { \
		printf("skipped: %s\n", why); \
		exit(77); \
	} while (0)
/* End of main: the verdict. */
#define WT_DONE() \
	do { \
		printf("%d checks, %d failed\n", wt_checked, wt_failed); \
		return wt_failed ? 1 : 0; \
	} while (0)

#endif
