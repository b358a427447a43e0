/*
 * The Autodiscover answer: the response parser over the libxml2 xml port,
 * then the whole discovery client with the input as every server's answer
 * (an in-memory http port with a clock that advances 100 ms a request,
 * and a 10 s budget), so redirects, loops, the host-name checks and the
 * budget are reached from any document too.
 *
 * Time: ci/fuzz.sh runs this target with -timeout=2 and inputs up to
 * 1 MiB (PS_AD_MAX_BODY), so an answer that parses slowly (an element
 * with 100,000 attributes took 20 s) is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ps_autodiscover.h"
#include "ps_error.h"
#include "ps_posix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

typedef struct fuzz_http {
	ps_http base;
	const uint8_t *data;
	size_t len;
	long long now;
} fuzz_http;

static int fh_perform(ps_http *h, const ps_http_request *rq,
		      ps_http_response *rs)
{
	fuzz_http *f = (fuzz_http *)h;

	if (!rq->timeout_ms)
		abort();        /* every request is bounded */
	f->now += 100;
	if (f->len > rq->max_body)
		return ps_error_setc(PS_ELIMIT, "too large");
	memset(rs, 0, sizeof(*rs));
	rs->status = 200;
	rs->body = malloc(f->len + 1);
	if (!rs->body)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	if (f->len)
		memcpy(rs->body, f->data, f->len);
	rs->body[f->len] = '\0';
	rs->body_len = f->len;
	return 0;
}

static void fh_free(ps_http *h)
{
	(void)h;
}

static long long fh_now(ps_http *h)
{
	return ((fuzz_http *)h)->now;
}

static const ps_http_ops fh_ops = { PS_HTTP_OPS_VERSION, fh_perform,
				    fh_free, NULL, fh_now };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static ps_xml *x;
	ps_ad_response r;
	ps_ad_result res;
	ps_ad_opts o;
	fuzz_http h;

	if (!x && ps_posix_xml_new(&x) < 0)
		abort();
	if (ps_ad_parse(x, (const char *)data, len, &r) == 0) {
		if (r.kind < PS_AD_SETTINGS || r.kind > PS_AD_ERROR)
			abort();
		ps_ad_response_free(&r);
	}
	memset(&h, 0, sizeof(h));
	h.base.ops = &fh_ops;
	h.data = data;
	h.len = len;
	memset(&o, 0, sizeof(o));
	o.url = "https://autodiscover.contoso.com/autodiscover/"
		"autodiscover.xml";
	o.budget_ms = 10000;
	o.send_credentials = 1;
	if (ps_ad_discover(&h.base, x, "alice@contoso.com", &o, &res) == 0) {
		/* at most PS_AD_MAX_HOPS requests, within the budget */
		if (h.now > 100 * PS_AD_MAX_HOPS || h.now > 10000)
			abort();
		ps_ad_result_free(&res);
	}
	return 0;
}
