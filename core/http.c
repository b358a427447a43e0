/*
 * The http port's wrapper: the only file that calls ps_http_ops.
 */
#include "ps_http.h"

#include <assert.h>
#include <stdlib.h>

#include "ps_error.h"

int ps_http_perform(ps_http *h, const ps_http_request *rq,
		    ps_http_response *rs)
{
	assert(h && rq && rq->url && rq->method && rs);
	return h->ops->perform(h, rq, rs);
}

void ps_http_response_free(ps_http_response *rs)
{
	if (!rs)
		return;
	free(rs->location);
	free(rs->content_type);
	free(rs->body);
	rs->location = rs->content_type = rs->body = NULL;
	rs->body_len = 0;
}

void ps_http_free(ps_http *h)
{
	if (h)
		h->ops->free(h);
}

int ps_http_resolve_srv(ps_http *h, const char *name, char **host,
			unsigned *port)
{
	assert(h && name && host && port);
	if (h->ops->version < 2 || !h->ops->resolve_srv)
		return PS_ENOTFOUND;
	return h->ops->resolve_srv(h, name, host, port);
}

long long ps_http_now_ms(ps_http *h)
{
	assert(h);
	if (h->ops->version < 3 || !h->ops->now_ms)
		return -1;
	return h->ops->now_ms(h);
}
