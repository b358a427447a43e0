/*
 * POX Autodiscover (MS-OXDSCLI): the request body, the response parser
 * (core/autodiscover.c) and the discovery client that follows candidates
 * and redirects (core/adclient.c).  docs/reference.md has the wire
 * format.
 */
#ifndef PS_AUTODISCOVER_H
#define PS_AUTODISCOVER_H

#include <stddef.h>

#include "ps_http.h"
#include "ps_str.h"
#include "ps_xml.h"

#define PS_AD_NS_REQUEST \
	"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
#define PS_AD_NS_RESPONSE \
	"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#define PS_AD_NS_OUTLOOK \
	"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

#define PS_AD_MAX_BODY (1024u * 1024u)  /* response body cap */
#define PS_AD_MAX_HOPS 10
#define PS_AD_TIMEOUT_MS 30000u         /* one request, by default */
#define PS_AD_SRV_MS 2000u              /* the DNS SRV lookup at most */

/* The request body Outlook sends, for an SMTP address, or for a legacy DN
 * when is_dn.  Caller frees. */
char *ps_ad_request_body(const char *address, int is_dn);

enum {
	PS_AD_SETTINGS = 1,      /* Action settings (or Protocol blocks) */
	PS_AD_REDIRECT_ADDR = 2,
	PS_AD_REDIRECT_URL = 3,
	PS_AD_ERROR = 4          /* Error under Response or under Account */
};

/* One <Protocol> block.  Every field NULL when absent. */
typedef struct ps_ad_protocol {
	char *type;              /* Type element or Type attribute: EXCH,
	                            EXPR, WEB, EXHTTP, mapiHttp */
	char *version;           /* Version attribute (mapiHttp) */
	char *server;
	char *server_dn;
	char *server_version;
	char *mdb_dn;
	char *auth_package;
	char *ews_url;
	char *oab_url;
	char *as_url;
	char *ssl;
	/* mapiHttp: MailStore / AddressBook Internal/ExternalUrl */
	char *mailstore_internal;
	char *mailstore_external;
	char *addressbook_internal;
	char *addressbook_external;
} ps_ad_protocol;

typedef struct ps_ad_response {
	int kind;                /* PS_AD_* */
	/* User */
	char *display_name;
	char *legacy_dn;
	char *smtp;              /* AutoDiscoverSMTPAddress */
	char *deployment_id;
	/* Account */
	char *account_type;
	char *action;
	char *redirect;          /* RedirectAddr or RedirectUrl/RedirectURL */
	char *microsoft_online;
	ps_ad_protocol *protocols;
	size_t nprotocols;
	/* Error */
	char *error_code;        /* e.g. "500" */
	char *error_message;
	char *debug_data;
} ps_ad_response;

/* Parse a response body with the xml port.  Elements are matched by
 * namespace and local name; unknown elements are skipped.  Returns 0 with
 * *out filled, or PS_EFORMAT with "reason" (not XML, DTD/entities refused,
 * not an Autodiscover response, no Response, an Action with nothing it
 * needs: redirectAddr without RedirectAddr...), PS_ELIMIT over
 * PS_AD_MAX_BODY, PS_ENOMEM.  On error *out is left zeroed. */
int ps_ad_parse(ps_xml *x, const char *body, size_t len,
		ps_ad_response *out);
void ps_ad_response_free(ps_ad_response *r);

/* First protocol of a type (case-insensitive), or NULL. */
const ps_ad_protocol *ps_ad_protocol_find(const ps_ad_response *r,
					  const char *type);

/* ---- the discovery client (core/adclient.c) ---- */

typedef struct ps_ad_opts {
	const char *url;            /* configured URL: asked first and only
	                               (then its redirects) */
	const ps_strlist *allow_hosts; /* extra hosts an HTTP redirect may
	                               point to (may be NULL) */
	unsigned timeout_ms;        /* per request; 0 = 30 s */
	unsigned budget_ms;         /* the whole discovery: every request,
	                               the SRV lookup, every answer parsed.
	                               No request starts once it is spent,
	                               and each is cut to what is left (on
	                               the http port's clock); 0 = none
	                               beyond the hop limit */
	int send_credentials;       /* credentials allowed to the user's own
	                               domain over https */
	/* One line per hop ("POST https://... -> 302 ..."); may be NULL. */
	void (*trace)(void *ctx, const char *line);
	void *trace_ctx;
} ps_ad_opts;

typedef struct ps_ad_result {
	int found;                  /* settings were found */
	int trusted;                /* every hop to them was https to the
	                               user's domain, the configured URL's
	                               host, an allowed host, or a domain a
	                               trusted server redirected the address
	                               to */
	ps_ad_response settings;    /* when found */
	char *url;                  /* URL that answered with the settings */
	char *email;                /* address finally asked (after
	                               redirectAddr) */
	char *reason;               /* when not found: why */
	ps_strlist hops;            /* every hop, as traced */
	/* readiness (RequireTargetReady, docs/autodiscover.md) */
	int answered;               /* some server gave an HTTP answer and
	                               the time budget was not used up */
	int unknown_mailbox;        /* a server said the address is not
	                               there: a POX Error with ErrorCode 500,
	                               or a v2 answer with an ErrorCode */
	char *v2_url;               /* v2: the answer's Url (when found) */
} ps_ad_result;

/* Discover settings for an SMTP address.  Returns 0 when the discovery
 * ran (found or not: see result), or PS_ENOMEM / PS_EFORMAT (address is
 * not user@domain). */
int ps_ad_discover(ps_http *http, ps_xml *xml, const char *email,
		   const ps_ad_opts *opts, ps_ad_result *out);
void ps_ad_result_free(ps_ad_result *r);

/* ---- Autodiscover v2 (JSON), the readiness check ---- */

#define PS_AD_V2_EXO "https://autodiscover-s.outlook.com"
#define PS_AD_V2_PATH "/autodiscover/autodiscover.json"
#define PS_AD_V2_MAX_BODY (64u * 1024u)

/* Ask the anonymous Autodiscover v2 endpoint for `email`:
 *     GET BASE/autodiscover/autodiscover.json?Email=E&Protocol=AutodiscoverV1
 * BASE is the scheme, host and port of opts->url when given, else
 * PS_AD_V2_EXO.  Redirects (301, 302, 303, 307, 308) are followed with the
 * POX client's limits: at most PS_AD_MAX_HOPS requests, no URL twice,
 * https only (plain http only to loopback when opts->url is on loopback),
 * a Location that is an absolute URL with a valid host name, the time
 * budget.  Credentials are never sent.  found: a 200 answer that is a
 * flat JSON object with Protocol "AutodiscoverV1" and an https Url with a
 * valid host (out->v2_url; out->url is the URL that answered).  Otherwise
 * reason says why; unknown_mailbox when the answer had an ErrorCode.
 * Returns 0 when the check ran, PS_EFORMAT for a bad address or URL,
 * PS_ENOMEM. */
int ps_ad_v2_discover(ps_http *http, const char *email,
		      const ps_ad_opts *opts, ps_ad_result *out);

#endif
