/*
 * bench_autodiscover_parse [RUNS]
 *
 * Prints how long ps_ad_parse (core/autodiscover.c over the libxml2 xml
 * port) takes on answers of 1 MiB (PS_AD_MAX_BODY), the largest it
 * accepts, each built in a different shape: one huge text value, many
 * elements, many comments in a value, many attributes on one element
 * (refused before libxml2 sees it), the same in Protocol, and a plain
 * settings answer padded with white space.  Each shape is parsed RUNS
 * times (default 5); the best and the worst time are printed, in
 * milliseconds.  docs/performance.md has the figures and the command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_autodiscover.h"
#include "ps_buf.h"
#include "ps_error.h"
#include "ps_posix.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" \
	"<Autodiscover xmlns=\"" PS_AD_NS_RESPONSE "\">\n" \
	"<Response xmlns=\"" PS_AD_NS_OUTLOOK "\">\n"
#define SETTINGS "<User><LegacyDN>/o=T/cn=alice</LegacyDN></User>" \
	"<Account><Action>settings</Action><Protocol><Type>EXCH</Type>" \
	"<Server>6c1d2e3f@contoso.com</Server></Protocol></Account>"
#define TAIL "</Response></Autodiscover>\n"

typedef struct shape {
	const char *name;
	const char *open;      /* after HEAD */
	const char *unit;      /* repeated; with a counter and after when */
	const char *after;     /* after is not NULL (unique names) */
	const char *close;     /* before TAIL */
} shape;

static const shape shapes[] = {
	{ "one 1 MiB value", SETTINGS "<User><DisplayName>", "x", NULL,
	  "</DisplayName></User>" },
	{ "many elements", SETTINGS "<User>", "<Unknown>x</Unknown>", NULL,
	  "</User>" },
	{ "many comments in a value", SETTINGS "<User><DisplayName>",
	  "x<!---->", NULL, "</DisplayName></User>" },
	{ "attributes on one element", SETTINGS "<User><X",
	  " a", "=\"\"", "/></User>" },
	{ "attributes on Protocol", "<Account><Action>settings</Action>"
	  "<Protocol", " a", "=\"\"", "/></Account>" },
	{ "32 attributes per element", SETTINGS "<User>",
	  "<X a1='' a2='' a3='' a4='' a5='' a6='' a7='' a8='' a9='' b1='' "
	  "b2='' b3='' b4='' b5='' b6='' b7='' b8='' b9='' c1='' c2='' "
	  "c3='' c4='' c5='' c6='' c7='' c8='' c9='' d1='' d2='' d3='' "
	  "d4='' d5=''/>", NULL, "</User>" },
	{ "namespace declarations", SETTINGS "<User><X",
	  " xmlns:p", "=\"u\"", "/></User>" },
	{ "white space", SETTINGS, "\n", NULL, "" },
};

static char *build(const shape *s, size_t size)
{
	ps_buf b = PS_BUF_INIT;
	size_t tail = strlen(s->close) + strlen(TAIL) + 32;
	unsigned k = 0;

	ps_buf_puts(&b, HEAD);
	ps_buf_puts(&b, s->open);
	while (b.len + tail + strlen(s->unit) + 16 < size) {
		ps_buf_puts(&b, s->unit);
		if (s->after)
			ps_buf_printf(&b, "%u%s", k++, s->after);
	}
	ps_buf_puts(&b, s->close);
	ps_buf_puts(&b, TAIL);
	if (ps_buf_check(&b) < 0) {
		fputs("out of memory\n", stderr);
		exit(70);
	}
	return ps_buf_detach(&b);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	ps_xml *x = NULL;
	size_t i;
	int r;

	if (runs < 1 || ps_posix_xml_new(&x) < 0) {
		fputs("usage: bench_autodiscover_parse [RUNS]\n", stderr);
		return 64;
	}
	printf("%-28s %9s %8s %8s  %s\n", "answer (1 MiB)", "bytes",
	       "best ms", "worst ms", "result");
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		char *body = build(&shapes[i], PS_AD_MAX_BODY);
		size_t len = strlen(body);
		double best = 0, worst = 0;
		char result[80] = "";

		for (r = 0; r < runs; r++) {
			ps_ad_response ad;
			double t0 = now_ms(), t;
			int rc = ps_ad_parse(x, body, len, &ad);

			t = now_ms() - t0;
			if (!r || t < best)
				best = t;
			if (t > worst)
				worst = t;
			if (rc == 0) {
				snprintf(result, sizeof(result), "parsed");
				ps_ad_response_free(&ad);
			} else {
				snprintf(result, sizeof(result), "refused: "
					 "%.60s", ps_error_last());
			}
		}
		printf("%-28s %9zu %8.1f %8.1f  %s\n", shapes[i].name, len,
		       best, worst, result);
		free(body);
	}
	ps_xml_free(x);
	return 0;
}
