/*
 * fakeautodiscover --scenario DIR [--port N] [--http-port N]
 *                  [--cert PEM --key PEM] [--log FILE] [--threads N]
 *
 * Prints "https=PORT http=PORT" once listening, then serves until SIGTERM
 * or SIGINT.  Exit 0 after a signal, 2 for a bad scenario, 64 for a bad
 * command line, 1 when it cannot start.  See docs/mock-autodiscover.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fad.h"
#include "ps_error.h"

#define EXIT_SCENARIO 2
#define EXIT_USAGE 64
#define MAX_PEM (1024u * 1024u)
#define MAX_THREADS 256u

struct options {
	const char *scenario;
	const char *cert;
	const char *key;
	const char *log;
	long port;          /* -1: not given */
	long http_port;     /* -1: off */
	unsigned threads;
};

static void usage(FILE *f)
{
	(void)fputs("usage: fakeautodiscover --scenario DIR [--port N] "
		    "[--http-port N]\n"
		    "                        [--cert PEM --key PEM] "
		    "[--log FILE] [--threads N]\n"
		    "Serves DIR/autodiscover/server.ini on 127.0.0.1: https "
		    "on --port (0 = any\nfree port) with --cert/--key, plain "
		    "http on --http-port; prints\n\"https=PORT http=PORT\" "
		    "and runs until SIGTERM or SIGINT.\n"
		    "See docs/mock-autodiscover.md.\n", f);
}

static int parse_long(long *out, const char *v, long max)
{
	long n = 0;

	if (!*v)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (*v - '0');
		if (n > max)
			return -1;
	}
	*out = n;
	return 0;
}

static int bad_usage(const char *what)
{
	(void)fprintf(stderr, "fakeautodiscover: %s (try --help)\n", what);
	return EXIT_USAGE;
}

/* 0, EXIT_USAGE, or -1 after --help. */
static int parse_args(struct options *o, int argc, char **argv)
{
	int i;

	o->port = -1;
	o->http_port = -1;
	o->threads = 4;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		long n;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return -1;
		}
		if (i + 1 >= argc) {
			(void)fprintf(stderr, "fakeautodiscover: %s: unknown "
				      "option or missing value (try "
				      "--help)\n", a);
			return EXIT_USAGE;
		}
		v = argv[++i];
		if (!strcmp(a, "--scenario")) {
			o->scenario = v;
		} else if (!strcmp(a, "--cert")) {
			o->cert = v;
		} else if (!strcmp(a, "--key")) {
			o->key = v;
		} else if (!strcmp(a, "--log")) {
			o->log = v;
		} else if (!strcmp(a, "--port") ||
			   !strcmp(a, "--http-port")) {
			if (parse_long(&n, v, 65535))
				return bad_usage("a port is a number from 0 "
						 "(any free port) to 65535");
			if (a[2] == 'p')
				o->port = n;
			else
				o->http_port = n;
		} else if (!strcmp(a, "--threads")) {
			if (parse_long(&n, v, MAX_THREADS) || n < 1)
				return bad_usage("--threads takes a number "
						 "from 1 to 256");
			o->threads = (unsigned)n;
		} else {
			(void)fprintf(stderr, "fakeautodiscover: unknown "
				      "option %s (try --help)\n", a);
			return EXIT_USAGE;
		}
	}
	if (!o->scenario)
		return bad_usage("--scenario DIR is required");
	if (!o->cert != !o->key)
		return bad_usage("--cert and --key go together");
	/* Standalone rehearsal without a certificate: --port serves plain
	 * HTTP on loopback (profswitch asks it with --url http://127.0.0.1:N/...). */
	if (o->port >= 0 && !o->cert) {
		if (o->http_port >= 0)
			return bad_usage("--port without --cert and --key is "
					 "plain HTTP; give only one of --port "
					 "and --http-port");
		(void)fprintf(stderr, "fakeautodiscover: no --cert/--key: "
			      "serving plain HTTP on 127.0.0.1 (--port)\n");
		o->http_port = o->port;
		o->port = -1;
	}
	if (!o->cert && o->http_port < 0)
		return bad_usage("nothing to serve: give --cert and --key "
				 "(https) and/or --http-port");
	return 0;
}

static FILE *open_log(const char *path)
{
	FILE *f;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f)
		(void)close(fd);
	return f;
}

static void wipe_free(char *s, size_t n)
{
	if (s) {
		explicit_bzero(s, n);
		free(s);
	}
}

int main(int argc, char **argv)
{
	struct options o;
	fad_scenario sc = FAD_SCENARIO_INIT;
	fad_server *srv = NULL;
	FILE *log = NULL;
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	unsigned https_port = 0, http_port = 0;
	sigset_t sigs;
	int rc, sig, status = 1;

	memset(&o, 0, sizeof(o));
	rc = parse_args(&o, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	xmlInitParser();
	if (fad_scenario_load(&sc, o.scenario) < 0) {
		(void)fprintf(stderr, "%s\n", ps_error_last());
		status = EXIT_SCENARIO;
		goto cleanup;
	}
	if (o.cert &&
	    (fad_read_file(&cert, &cert_len, o.cert, MAX_PEM) < 0 ||
	     fad_read_file(&key, &key_len, o.key, MAX_PEM) < 0)) {
		(void)fprintf(stderr, "fakeautodiscover: %s\n",
			      ps_error_last());
		goto cleanup;
	}
	if (o.log) {
		log = open_log(o.log);
		if (!log) {
			(void)fprintf(stderr, "fakeautodiscover: %s: cannot "
				      "open the request log: %s\n", o.log,
				      strerror(errno));
			goto cleanup;
		}
	}
	/* Every thread started from here on inherits the blocked signals;
	 * only sigwait below takes them. */
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	(void)pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (fad_server_new(&srv, &sc, log) < 0 ||
	    (cert && fad_server_listen(srv, FAD_HTTPS,
				       (unsigned)(o.port < 0 ? 0 : o.port),
				       cert, key, o.threads,
				       &https_port) < 0) ||
	    (o.http_port >= 0 &&
	     fad_server_listen(srv, FAD_HTTP, (unsigned)o.http_port, NULL,
			       NULL, o.threads, &http_port) < 0)) {
		(void)fprintf(stderr, "fakeautodiscover: %s\n",
			      ps_error_last());
		goto cleanup;
	}
	if (fad_scenario_bind_ports(&sc, https_port, http_port) < 0) {
		(void)fprintf(stderr, "%s\n", ps_error_last());
		status = EXIT_SCENARIO;
		goto cleanup;
	}
	if (fad_server_ready(srv, 1) < 0) {
		(void)fprintf(stderr, "fakeautodiscover: %s\n",
			      ps_error_last());
		goto cleanup;
	}
	(void)printf("https=%u http=%u\n", https_port, http_port);
	(void)fflush(stdout);
	do {
		if (sigwait(&sigs, &sig))
			sig = 0;
	} while (sig != SIGTERM && sig != SIGINT);
	status = 0;
cleanup:
	fad_server_free(srv);
	fad_scenario_free(&sc);
	wipe_free(key, key_len);
	free(cert);
	if (log)
		(void)fclose(log);
	xmlCleanupParser();
	return status;
}
