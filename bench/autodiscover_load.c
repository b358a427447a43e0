/*
 * autodiscover_load: a small load client for the mock Autodiscover server.
 *
 *   autodiscover_load URL [-n TOTAL] [-c CONCURRENT] [--cacert FILE]
 *                     [--connect-to HOST:PORT:ADDR:PORT] [--email ADDR]
 *
 * Sends TOTAL POX Autodiscover POSTs (MS-OXDSCLI request body, the headers
 * profswitch sends) with CONCURRENT transfers in flight on one libcurl
 * multi handle; every easy handle is reused, so connections are kept
 * alive.  A transfer counts as an error unless it completes with HTTP 200
 * and a body.  Prints one line:
 *
 *   requests=N seconds=S requests_per_second=R errors=E bytes=B
 *
 * Exit 0 when there was no error, 1 otherwise, 64 for a bad command line.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct xfer {
	CURL *easy;
	size_t bytes;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *userdata)
{
	struct xfer *x = userdata;

	(void)ptr;
	x->bytes += size * n;
	return size * n;
}

static double now_s(void)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int parse_count(long *out, const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!*v || *end || n < 1 || n > 100000000L)
		return -1;
	*out = n;
	return 0;
}

static void usage(void)
{
	(void)fputs("usage: autodiscover_load URL [-n TOTAL] [-c CONCURRENT] "
		    "[--cacert FILE]\n"
		    "                         [--connect-to H:P:ADDR:P] "
		    "[--email ADDR]\n", stderr);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *cacert = NULL, *connect_to = NULL;
	const char *email = "alice@contoso.com";
	long total = 10000, conc = 16, started = 0, done = 0, errors = 0;
	struct curl_slist *headers = NULL, *resolve = NULL;
	struct xfer *x = NULL;
	CURLM *multi = NULL;
	char body[1024], anchor[300];
	unsigned long long bytes = 0;
	double t0, secs;
	int i, running, status = 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-') {
			url = a;
			continue;
		}
		if (i + 1 >= argc) {
			usage();
			return 64;
		}
		if (!strcmp(a, "-n") || !strcmp(a, "-c")) {
			if (parse_count(a[1] == 'n' ? &total : &conc,
					argv[++i])) {
				usage();
				return 64;
			}
		} else if (!strcmp(a, "--cacert")) {
			cacert = argv[++i];
		} else if (!strcmp(a, "--connect-to")) {
			connect_to = argv[++i];
		} else if (!strcmp(a, "--email")) {
			email = argv[++i];
		} else {
			usage();
			return 64;
		}
	}
	if (!url || strlen(email) > 200) {
		usage();
		return 64;
	}
	if (conc > total)
		conc = total;
	(void)snprintf(body, sizeof(body),
		       "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
		       "<Autodiscover xmlns=\"http://schemas.microsoft.com/"
		       "exchange/autodiscover/outlook/requestschema/2006\">"
		       "\r\n  <Request>\r\n    <EMailAddress>%s</EMailAddress>"
		       "\r\n    <AcceptableResponseSchema>http://schemas."
		       "microsoft.com/exchange/autodiscover/outlook/"
		       "responseschema/2006a</AcceptableResponseSchema>\r\n"
		       "  </Request>\r\n</Autodiscover>\r\n", email);
	(void)snprintf(anchor, sizeof(anchor), "X-AnchorMailbox: %s", email);

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		(void)fputs("autodiscover_load: curl_global_init failed\n",
			    stderr);
		return 1;
	}
	headers = curl_slist_append(headers,
				    "Content-Type: text/xml; charset=utf-8");
	headers = curl_slist_append(headers, "X-MapiHttpCapability: 1");
	headers = curl_slist_append(headers, anchor);
	headers = curl_slist_append(headers, "Expect:");
	if (connect_to)
		resolve = curl_slist_append(NULL, connect_to);
	multi = curl_multi_init();
	x = calloc((size_t)conc, sizeof(*x));
	if (!headers || (connect_to && !resolve) || !multi || !x) {
		(void)fputs("autodiscover_load: out of memory\n", stderr);
		goto cleanup;
	}
	(void)curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, conc);
	for (i = 0; i < conc; i++) {
		CURL *e = curl_easy_init();

		if (!e) {
			(void)fputs("autodiscover_load: curl_easy_init "
				    "failed\n", stderr);
			goto cleanup;
		}
		x[i].easy = e;
		(void)curl_easy_setopt(e, CURLOPT_URL, url);
		(void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		(void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
				       (long)strlen(body));
		(void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
		(void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
		(void)curl_easy_setopt(e, CURLOPT_WRITEDATA, &x[i]);
		(void)curl_easy_setopt(e, CURLOPT_PRIVATE, &x[i]);
		(void)curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
				       (long)CURL_HTTP_VERSION_1_1);
		(void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		(void)curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
		if (cacert)
			(void)curl_easy_setopt(e, CURLOPT_CAINFO, cacert);
		if (resolve)
			(void)curl_easy_setopt(e, CURLOPT_CONNECT_TO,
					       resolve);
	}

	t0 = now_s();
	for (i = 0; i < conc; i++, started++)
		(void)curl_multi_add_handle(multi, x[i].easy);
	while (done < total) {
		CURLMsg *m;
		int left;

		if (curl_multi_perform(multi, &running) != CURLM_OK) {
			(void)fputs("autodiscover_load: curl_multi_perform "
				    "failed\n", stderr);
			goto cleanup;
		}
		for (;;) {
			struct xfer *xf = NULL;
			long code = 0;

			m = curl_multi_info_read(multi, &left);
			if (!m)
				break;
			if (m->msg != CURLMSG_DONE)
				continue;
			(void)curl_easy_getinfo(m->easy_handle,
						CURLINFO_PRIVATE, &xf);
			(void)curl_easy_getinfo(m->easy_handle,
						CURLINFO_RESPONSE_CODE,
						&code);
			if (m->data.result != CURLE_OK || code != 200 ||
			    !xf->bytes) {
				if (errors < 5)
					(void)fprintf(stderr, "autodiscover_"
						      "load: %s (HTTP %ld)\n",
						      curl_easy_strerror(
							m->data.result),
						      code);
				errors++;
			}
			bytes += xf->bytes;
			xf->bytes = 0;
			done++;
			(void)curl_multi_remove_handle(multi, xf->easy);
			if (started < total) {
				(void)curl_multi_add_handle(multi, xf->easy);
				started++;
			}
		}
		if (done < total &&
		    curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			(void)fputs("autodiscover_load: curl_multi_poll "
				    "failed\n", stderr);
			goto cleanup;
		}
	}
	secs = now_s() - t0;
	(void)printf("requests=%ld seconds=%.3f requests_per_second=%.0f "
		     "errors=%ld bytes=%llu\n", done, secs,
		     secs > 0 ? (double)done / secs : 0.0, errors, bytes);
	status = errors ? 1 : 0;
cleanup:
	if (x) {
		for (i = 0; i < conc; i++)
			if (x[i].easy) {
				(void)curl_multi_remove_handle(multi,
							       x[i].easy);
				curl_easy_cleanup(x[i].easy);
			}
		free(x);
	}
	if (multi)
		(void)curl_multi_cleanup(multi);
	curl_slist_free_all(headers);
	curl_slist_free_all(resolve);
	curl_global_cleanup();
	return status;
}
