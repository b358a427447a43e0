/*
 * The http port's wrapper: the only file that calls ps_http_ops.
 */
#include "ps_http.h"

#include <assert.h>
#include <stdlib.h>

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
