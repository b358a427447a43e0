/*
 * fakeautodiscover: the mock Autodiscover server used by the scenario
 * tests and the lab rehearsal (docs/mock-autodiscover.md).
 *
 * scenario.c reads DIR/autodiscover/server.ini into a fad_scenario (rules
 * tried in file order, first match wins); server.c answers requests with
 * libmicrohttpd from those rules and writes the request log; main.c is the
 * command line.
 */
#ifndef FAD_H
#define FAD_H

#include <stddef.h>
#include <stdio.h>

#include "ps_str.h"

struct MHD_Response;

enum fad_scheme {
	FAD_ANY = 0,
	FAD_HTTPS = 1,
	FAD_HTTP = 2
};

/* RequireAuth: none, Basic against [Server] Credentials, or the shape of
 * a Negotiate/NTLM handshake (server.c, docs/mock-autodiscover.md). */
enum fad_auth {
	FAD_AUTH_NONE = 0,
	FAD_AUTH_BASIC = 1,
	FAD_AUTH_WINDOWS = 2
};

/* Request bodies above this many bytes are answered with 413. */
#define FAD_MAX_BODY (64u * 1024u)

/* Longest DelayMs accepted (10 minutes). */
#define FAD_MAX_DELAY_MS 600000u

typedef struct fad_rule {
	char *name;             /* text after "Rule" in the section name */
	unsigned line;          /* line of the [Rule ...] header */
	unsigned seen;          /* FAD_K_* bits of the keys given */

	/* What it matches; NULL or FAD_ANY: anything. */
	char *method;
	int scheme;
	char *host;             /* lowercase, no port */
	char *path;
	char *email;            /* POST only: EMailAddress or LegacyDN */

	/* The answer. */
	int status;
	char *body_file;        /* as written in server.ini */
	char *body;             /* file contents, then substituted; or NULL */
	size_t body_len;
	char *content_type;     /* NULL: no Content-Type header */
	char *location;         /* NULL: no Location header */
	unsigned delay_ms;
	int drop;
	long long truncate;     /* body bytes to send; -1: whole body */
	unsigned truncate_line;
	int require_auth;       /* FAD_AUTH_* */

	struct MHD_Response *resp; /* built by fad_server_ready */
} fad_rule;

typedef struct fad_scenario {
	char *dir;              /* the autodiscover folder (Body files) */
	char *ini;              /* path of server.ini, for messages */
	ps_strlist hosts;       /* [Server] Hosts, informational */
	ps_strlist credentials; /* [Server] Credentials, "user:password" */
	fad_rule *rules;
	size_t nrules;
	size_t cap;
} fad_scenario;

#define FAD_SCENARIO_INIT { NULL, NULL, PS_STRLIST_INIT, PS_STRLIST_INIT, \
			    NULL, 0, 0 }

/*
 * Read DIR/autodiscover/server.ini, or DIR/server.ini when DIR is the
 * autodiscover folder itself, and every Body file it names.  PS_EFORMAT
 * (or PS_ENOTFOUND, PS_EIO, PS_ELIMIT, PS_ENOMEM) with "FILE:LINE: reason"
 * in ps_error_last(); sc is then half filled: free it with
 * fad_scenario_free either way.
 */
int fad_scenario_load(fad_scenario *sc, const char *dir);

/*
 * Substitute %HOST%, %PORT% and %HTTP_PORT% in every Body and Location now
 * that the ports are known (0 for a side that is off), then check what
 * depends on the final sizes (Truncate).  PS_EFORMAT with "FILE:LINE:
 * reason" or PS_ENOMEM.  Called once.
 */
int fad_scenario_bind_ports(fad_scenario *sc, unsigned https_port,
			    unsigned http_port);

void fad_scenario_free(fad_scenario *sc);

/* The whole contents of a file, NUL-terminated (*len excludes the NUL).
 * PS_ENOTFOUND, PS_EIO, PS_ELIMIT (over max bytes) or PS_ENOMEM with
 * "PATH: reason". */
int fad_read_file(char **out, size_t *len, const char *path, size_t max);

/*
 * The server: one per process, shared by the https and the http daemon.
 * Requests that arrive before fad_server_ready wait for it.
 */
typedef struct fad_server fad_server;

/* log may be NULL (no request log); the server does not close it. */
int fad_server_new(fad_server **out, fad_scenario *sc, FILE *log);

/*
 * Start a daemon on 127.0.0.1:port (0: any free port) with `threads`
 * worker threads; TLS when cert and key (PEM text) are given.  *bound is
 * the port it listens on.  PS_ERROR with a message when it cannot start.
 */
int fad_server_listen(fad_server *srv, int scheme, unsigned port,
		      const char *cert, const char *key, unsigned threads,
		      unsigned *bound);

/* Build the answers from the (port-substituted) scenario and let the
 * requests through.  ok = 0 lets them through to be closed unanswered
 * (start-up failed after the daemons were listening). */
int fad_server_ready(fad_server *srv, int ok);

/* Answer the delayed requests at once, stop the daemons, free srv
 * (NULL is fine). */
void fad_server_free(fad_server *srv);

#endif
