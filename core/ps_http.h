/*
 * The http port (placeholder).  It arrives with the Autodiscover issue:
 * one POST/GET with headers and a timeout, no automatic redirects, TLS
 * always verified.  The struct exists now so that ports keep their place
 * and version numbering; no core code uses it yet.
 */
#ifndef PS_HTTP_H
#define PS_HTTP_H

typedef struct ps_http ps_http;

#define PS_HTTP_OPS_VERSION 0

typedef struct ps_http_ops {
	int version;
} ps_http_ops;

struct ps_http {
	const ps_http_ops *ops;
};

#endif
