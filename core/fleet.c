/*
 * The fleet report of `profswitch rehearse` (docs/rehearsal.md).
 */
#include "ps_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_str.h"
#include "ps_utf.h"

static const char *const outcome_names[PS_OUT_COUNT] = {
	"failed", "blocked", "deferred", "would-update", "already-updated",
	"not-migrated",
};

const char *ps_outcome_name(ps_outcome o)
{
	return (unsigned)o < PS_OUT_COUNT ? outcome_names[o] : "?";
}

static int is_blocked(ps_status st)
{
	return st == PS_ST_BLOCKED_POLICY || st == PS_ST_BLOCKED_AMBIGUOUS ||
	       st == PS_ST_BLOCKED_POISONED || st == PS_ST_BLOCKED_NEW_OUTLOOK;
}

static int is_deferred(ps_status st)
{
	return st == PS_ST_DEFERRED_RUNNING || st == PS_ST_DEFERRED_LOCKED ||
	       st == PS_ST_DEFERRED_TIMEOUT || st == PS_ST_DEFERRED_NOT_READY;
}

static int is_migrating(ps_status st)
{
	return st == PS_ST_WOULD_UPDATE || st == PS_ST_UPDATED ||
	       st == PS_ST_REPAIRED_POISONED;
}

static ps_outcome row_outcome(ps_status st)
{
	if (st == PS_ST_FAILED)
		return PS_OUT_FAILED;
	if (is_blocked(st))
		return PS_OUT_BLOCKED;
	if (is_deferred(st))
		return PS_OUT_DEFERRED;
	if (is_migrating(st))
		return PS_OUT_UPDATE;
	if (st == PS_ST_ALREADY_UPDATED)
		return PS_OUT_ALREADY;
	return PS_OUT_UNTOUCHED;
}

ps_outcome ps_fleet_outcome(const ps_fleet_item *it)
{
	ps_outcome worst = PS_OUT_UNTOUCHED;
	size_t i;

	if (it->unusable)
		return PS_OUT_FAILED;
	for (i = 0; i < it->report.n; i++) {
		ps_outcome o = row_outcome(it->report.v[i].status);

		if (o < worst)
			worst = o;
	}
	return worst;
}

static int elide(const char *tok, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (tok[i] == '@' || (i + 3 <= len && !memcmp(tok + i, "://",
							     3)))
			return 1;
	return 0;
}

static int has_nocase(const char *tok, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (!ps_strncasecmp(tok + i, needle, n))
			return 1;
	return 0;
}

static int all_digits(const char *tok, size_t len)
{
	size_t i;

	if (!len)
		return 0;
	for (i = 0; i < len; i++)
		if (tok[i] < '0' || tok[i] > '9')
			return 0;
	return 1;
}

char *ps_fleet_reason(const char *detail)
{
	const char *semi = strstr(detail, "; ");
	const char *end = semi ? semi : detail + strlen(detail);
	const char *p = detail;
	ps_buf b = PS_BUF_INIT;
	int elided = 0, in_dn = 0;

	while (p < end) {
		const char *tok = p;
		size_t len, core;

		while (p < end && *p != ' ')
			p++;
		len = (size_t)(p - tok);
		/* A legacyExchangeDN has spaces ("/o=X/ou=Exchange
		 * Administrative Group (...)/cn=Recipients/cn=alice"): it is
		 * elided from its /o= to the token with its first /cn=. */
		if (!in_dn && len > 3 && !ps_strncasecmp(tok, "/o=", 3))
			in_dn = 8;
		if (in_dn) {
			in_dn--;
			if (has_nocase(tok, len, "/cn="))
				in_dn = 0;
			if (!elided)
				ps_buf_puts(&b, b.len ? " ..." : "...");
			elided = 1;
			while (p < end && *p == ' ')
				p++;
			continue;
		}
		/* Trailing punctuation stays: "line 12:" -> "line N:". */
		core = len;
		while (core && strchr(":,.)", tok[core - 1]))
			core--;
		if (len && elide(tok, len)) {
			if (!elided)
				ps_buf_puts(&b, b.len ? " ..." : "...");
			elided = 1;
		} else if (len) {
			if (b.len)
				ps_buf_putc(&b, ' ');
			if (all_digits(tok, core)) {
				ps_buf_putc(&b, 'N');
				ps_buf_put(&b, tok + core, len - core);
			} else {
				ps_buf_put(&b, tok, len);
			}
			elided = 0;
		}
		while (p < end && *p == ' ')
			p++;
	}
	if (ps_buf_puts(&b, "") < 0 || ps_buf_check(&b)) {
		ps_buf_free(&b);
		ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	return ps_buf_detach(&b);
}

/* ---- summary ------------------------------------------------------------ */

typedef struct keyed {
	char *key;          /* owned */
	ps_status status;   /* 0 for servers and domains */
	ps_status row;      /* the row's status */
	int ost;            /* the row's ost_download */
	unsigned long long ost_bytes;
} keyed;

/* Count a row's OST download into the sums. */
static void add_ost(int ost, unsigned long long bytes,
		    unsigned long long *sum, size_t *known, size_t *unknown)
{
	if (ost == PS_OST_DL_KNOWN) {
		*sum += bytes;
		(*known)++;
	} else if (ost == PS_OST_DL_UNKNOWN) {
		(*unknown)++;
	}
}

static int keyed_cmp(const void *a, const void *b)
{
	const keyed *x = a, *y = b;
	int c = ps_strcasecmp(x->key, y->key);

	if (c)
		return c;
	return (int)x->status - (int)y->status;
}

static int count_cmp(const void *a, const void *b)
{
	const ps_fleet_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	if (x->status != y->status)
		return (int)x->status - (int)y->status;
	return ps_strcasecmp(x->key, y->key);
}

/* Group the keyed rows: one count per (key, status), most rows first.
 * Takes the keys. */
static int group(keyed *k, size_t n, ps_fleet_count **out, size_t *nout)
{
	ps_fleet_count *c = NULL;
	size_t i, m = 0;

	*out = NULL;
	*nout = 0;
	if (!n)
		return 0;
	qsort(k, n, sizeof(*k), keyed_cmp);
	c = calloc(n, sizeof(*c));
	if (!c)
		goto oom;
	for (i = 0; i < n; i++) {
		if (!m || k[i].status != c[m - 1].status ||
		    ps_strcasecmp(k[i].key, c[m - 1].key)) {
			c[m].key = k[i].key;
			c[m].status = k[i].status;
			k[i].key = NULL;
			m++;
		}
		c[m - 1].n++;
		if (is_migrating(k[i].row))
			c[m - 1].migrating++;
		if (is_blocked(k[i].row) || is_deferred(k[i].row) ||
		    k[i].row == PS_ST_FAILED)
			c[m - 1].problems++;
		add_ost(k[i].ost, k[i].ost_bytes, &c[m - 1].ost_bytes,
			&c[m - 1].ost_known, &c[m - 1].ost_unknown);
	}
	qsort(c, m, sizeof(*c), count_cmp);
	for (i = 0; i < n; i++)
		free(k[i].key);
	*out = c;
	*nout = m;
	return 0;
oom:
	for (i = 0; i < n; i++)
		free(k[i].key);
	return ps_error_setc(PS_ENOMEM, "out of memory");
}

static char *lower_domain(const char *smtp)
{
	const char *at = strrchr(smtp, '@');
	char *d, *c;

	if (!at || !at[1])
		return NULL;
	d = ps_strdup(at + 1);
	for (c = d; c && *c; c++)
		*c = (char)ps_tolower((unsigned char)*c);
	return d;
}

int ps_fleet_summarize(const ps_fleet *f, ps_fleet_summary *s)
{
	keyed *srv = NULL, *dom = NULL, *why = NULL;
	size_t nsrv = 0, ndom = 0, nwhy = 0, rows = 0, i, j;
	int error = 0;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < f->n; i++)
		rows += f->v[i].report.n;
	if (rows) {
		srv = calloc(rows, sizeof(*srv));
		dom = calloc(rows, sizeof(*dom));
		why = calloc(rows, sizeof(*why));
		if (!srv || !dom || !why) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			goto done;
		}
	}
	s->users = f->n;
	s->rows = rows;
	for (i = 0; i < f->n; i++) {
		const ps_fleet_item *it = &f->v[i];

		s->outcome[ps_fleet_outcome(it)]++;
		if (it->unusable)
			s->unusable++;
		s->exit_bits |= ps_report_exit_bits(&it->report);
		for (j = 0; j < it->report.n; j++)
			if (it->report.v[j].identities) {
				s->identity_users++;
				break;
			}
		for (j = 0; j < it->report.n; j++) {
			const ps_row *r = &it->report.v[j];

			s->status[r->status]++;
			add_ost(r->ost_download, r->ost_bytes, &s->ost_bytes,
				&s->ost_known, &s->ost_unknown);
			if (r->source_server && *r->source_server) {
				srv[nsrv].row = r->status;
				srv[nsrv].ost = r->ost_download;
				srv[nsrv].ost_bytes = r->ost_bytes;
				if (!(srv[nsrv++].key =
				      ps_strdup(r->source_server)))
					error = PS_ENOMEM;
			}
			if (r->target_smtp && *r->target_smtp &&
			    (is_migrating(r->status) ||
			     r->status == PS_ST_ALREADY_UPDATED ||
			     is_blocked(r->status) || is_deferred(r->status) ||
			     r->status == PS_ST_FAILED)) {
				dom[ndom].row = r->status;
				dom[ndom].ost = r->ost_download;
				dom[ndom].ost_bytes = r->ost_bytes;
				if (!(dom[ndom++].key =
				      lower_domain(r->target_smtp)))
					ndom--;
			}
			if (is_blocked(r->status) || r->status ==
			    PS_ST_FAILED) {
				why[nwhy].row = r->status;
				why[nwhy].status = r->status;
				if (!(why[nwhy++].key =
				      ps_fleet_reason(r->detail)))
					error = PS_ENOMEM;
			}
		}
	}
	if (error) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	error = group(srv, nsrv, &s->servers, &s->nservers);
	nsrv = 0;
	if (!error)
		error = group(dom, ndom, &s->domains, &s->ndomains);
	ndom = 0;
	if (!error)
		error = group(why, nwhy, &s->reasons, &s->nreasons);
	nwhy = 0;
done:
	for (i = 0; i < nsrv; i++)
		free(srv[i].key);
	for (i = 0; i < ndom; i++)
		free(dom[i].key);
	for (i = 0; i < nwhy; i++)
		free(why[i].key);
	free(srv);
	free(dom);
	free(why);
	if (error)
		ps_fleet_summary_free(s);
	return error;
}

static void counts_free(ps_fleet_count *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(c[i].key);
	free(c);
}

void ps_fleet_summary_free(ps_fleet_summary *s)
{
	counts_free(s->servers, s->nservers);
	counts_free(s->domains, s->ndomains);
	counts_free(s->reasons, s->nreasons);
	memset(s, 0, sizeof(*s));
}

/* ---- CSV, JSON, text ------------------------------------------------- */

static const char *user_of(const ps_fleet_item *it)
{
	return it->report.user ? it->report.user : "";
}

void ps_fleet_bytes(unsigned long long n, char *out, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB",
					     "PiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(out, size, "%llu bytes", n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(out, size, "%.1f %s", v, units[u]);
}

/* A row's OST download: the bytes, "unknown", or 0 (none). */
static void ost_field(ps_buf *out, const ps_row *r, int last, char d)
{
	char n[24];

	if (r->ost_download == PS_OST_DL_UNKNOWN)
		snprintf(n, sizeof(n), "unknown");
	else
		snprintf(n, sizeof(n), "%llu", r->ost_download ==
			 PS_OST_DL_KNOWN ? r->ost_bytes : 0ull);
	ps_csv_field_d(out, n, last, d);
}

static const char *const fleet_cols[] = {
	"host", "user", "profile", "account", "source_dn", "target_dn",
	"status", "detail", "source_server", "target_smtp", "input",
	"ost_download_bytes", "predicted", NULL
};

static const char *host_of(const ps_fleet *f, const ps_fleet_item *it)
{
	if (it->report.host)
		return it->report.host;
	return f->host && !f->collected ? f->host : "";
}

int ps_fleet_csv(const ps_fleet *f, ps_buf *out)
{
	char d = f->csv_delim ? f->csv_delim : ',';
	size_t i, j;

	const char *cols[sizeof(fleet_cols) / sizeof(fleet_cols[0])];

	/* `predicted` only with a rehearsal to compare with. */
	memcpy(cols, fleet_cols, sizeof(cols));
	if (!f->rehearsal)
		cols[sizeof(cols) / sizeof(cols[0]) - 2] = NULL;
	ps_csv_header(out, d, cols);
	for (i = 0; i < f->n; i++) {
		const ps_fleet_item *it = &f->v[i];

		for (j = 0; j < it->report.n; j++) {
			const ps_row *r = &it->report.v[j];

			ps_csv_field_d(out, host_of(f, it), 0, d);
			ps_csv_field_d(out, user_of(it), 0, d);
			ps_csv_field_d(out, r->profile, 0, d);
			ps_csv_field_d(out, r->account, 0, d);
			ps_csv_field_d(out, r->source_dn, 0, d);
			ps_csv_field_d(out, r->target_dn, 0, d);
			ps_csv_field_d(out, ps_status_name(r->status), 0, d);
			ps_csv_field_d(out, r->detail, 0, d);
			ps_csv_field_d(out, r->source_server ?
				       r->source_server : "", 0, d);
			ps_csv_field_d(out, r->target_smtp ? r->target_smtp
				       : "", 0, d);
			ps_csv_field_d(out, it->input, 0, d);
			ost_field(out, r, !f->rehearsal, d);
			if (f->rehearsal)
				ps_csv_field_d(out, r->predicted ? ps_status_name(
					(ps_status)(r->predicted - 1)) : "", 1,
					d);
		}
	}
	/* Rehearsed accounts with no report yet: no status. */
	for (i = 0; f->rehearsal && i < f->ndiff; i++) {
		const ps_fleet_diff *x = &f->diff[i];

		if (x->actual >= 0)
			continue;
		ps_csv_field_d(out, "", 0, d);
		ps_csv_field_d(out, x->user, 0, d);
		ps_csv_field_d(out, x->profile, 0, d);
		ps_csv_field_d(out, x->account, 0, d);
		ps_csv_field_d(out, "", 0, d);
		ps_csv_field_d(out, "", 0, d);
		ps_csv_field_d(out, "", 0, d);
		ps_csv_field_d(out, "no report from this user yet", 0, d);
		ps_csv_field_d(out, "", 0, d);
		ps_csv_field_d(out, "", 0, d);
		ps_csv_field_d(out, "", 0, d);
		ps_csv_field_d(out, "", 0, d);   /* ost_download_bytes */
		ps_csv_field_d(out, ps_status_name((ps_status)x->predicted), 1,
			       d);
	}
	return ps_buf_check(out);
}

static const char *diff_status(int st, const char *none)
{
	return st < 0 ? none : ps_status_name((ps_status)st);
}

static const char no_plan[] = "(not rehearsed)";
static const char no_run[] = "(no report)";

static void json_counts(ps_buf *out, const char *name,
			const ps_fleet_count *c, size_t n, int reasons)
{
	size_t i;

	ps_buf_printf(out, "    \"%s\": [", name);
	for (i = 0; i < n; i++) {
		ps_buf_puts(out, i ? ",\n      {" : "\n      {");
		if (reasons) {
			ps_buf_puts(out, "\"status\": ");
			ps_json_str(out, ps_status_name(c[i].status));
			ps_buf_puts(out, ", \"reason\": ");
			ps_json_str(out, c[i].key);
			ps_buf_printf(out, ", \"accounts\": %zu}", c[i].n);
		} else {
			ps_buf_puts(out, "\"name\": ");
			ps_json_str(out, c[i].key);
			ps_buf_printf(out, ", \"accounts\": %zu, \"migrating\":"
				      " %zu, \"problems\": %zu, "
				      "\"ost_download_bytes\": %llu, "
				      "\"ost_download_unknown\": %zu}", c[i].n,
				      c[i].migrating, c[i].problems,
				      c[i].ost_bytes, c[i].ost_unknown);
		}
	}
	ps_buf_puts(out, n ? "\n    ]" : "]");
}

int ps_fleet_json(const ps_fleet *f, const ps_fleet_summary *s,
		  ps_buf *out)
{
	size_t i, j;
	int st, first = 1;

	ps_buf_puts(out, "{\n  \"host\": ");
	ps_json_str(out, f->host ? f->host : "");
	ps_buf_puts(out, ",\n  \"mapping\": ");
	ps_json_str(out, f->mapping ? f->mapping : "");
	ps_buf_puts(out, ",\n  \"started\": ");
	ps_json_str(out, f->started);
	if (f->collected)
		ps_buf_printf(out, ",\n  \"kind\": \"fleet\",\n  "
			      "\"reports\": %zu,\n  \"superseded_reports\": "
			      "%zu", f->reports, f->superseded);
	ps_buf_printf(out, ",\n  \"inputs\": %zu,\n  \"rows\": [", f->n);
	first = 1;
	for (i = 0; i < f->n; i++) {
		const ps_fleet_item *it = &f->v[i];

		for (j = 0; j < it->report.n; j++) {
			const ps_row *r = &it->report.v[j];

			ps_buf_puts(out, first ? "\n    {" : ",\n    {");
			first = 0;
			ps_buf_puts(out, "\"input\": ");
			ps_json_str(out, it->input);
			if (f->collected) {
				ps_buf_puts(out, ", \"host\": ");
				ps_json_str(out, host_of(f, it));
			}
			ps_buf_puts(out, ", \"user\": ");
			ps_json_str(out, user_of(it));
			ps_buf_puts(out, ", \"profile\": ");
			ps_json_str(out, r->profile);
			ps_buf_puts(out, ", \"account\": ");
			ps_json_str(out, r->account);
			ps_buf_puts(out, ", \"source_dn\": ");
			ps_json_str(out, r->source_dn);
			ps_buf_puts(out, ", \"target_dn\": ");
			ps_json_str(out, r->target_dn);
			ps_buf_puts(out, ", \"source_server\": ");
			ps_json_str(out, r->source_server ? r->source_server
							  : "");
			ps_buf_puts(out, ", \"target_smtp\": ");
			ps_json_str(out, r->target_smtp ? r->target_smtp : "");
			ps_buf_puts(out, ", \"status\": ");
			ps_json_str(out, ps_status_name(r->status));
			ps_buf_puts(out, ", \"detail\": ");
			ps_json_str(out, r->detail);
			/* null: downloaded again, size unknown */
			ps_buf_puts(out, ", \"ost_download_bytes\": ");
			if (r->ost_download == PS_OST_DL_UNKNOWN)
				ps_buf_puts(out, "null");
			else
				ps_buf_printf(out, "%llu", r->ost_download ==
					      PS_OST_DL_KNOWN ? r->ost_bytes
					      : 0ull);
			ps_buf_putc(out, '}');
		}
	}
	ps_buf_puts(out, first ? "],\n" : "\n  ],\n");
	ps_buf_printf(out, "  \"summary\": {\n    \"users\": %zu,\n"
		      "    \"unusable_inputs\": %zu,\n    \"accounts\": %zu,\n"
		      "    \"status\": {", s->users, s->unusable, s->rows);
	first = 1;
	for (st = 0; st < PS_ST_COUNT; st++) {
		if (!s->status[st])
			continue;
		ps_buf_printf(out, "%s\"%s\": %zu", first ? "" : ", ",
			      ps_status_name((ps_status)st), s->status[st]);
		first = 0;
	}
	ps_buf_printf(out, "},\n    \"users_with_source_identity\": %zu",
		      s->identity_users);
	ps_buf_puts(out, ",\n    \"users_by_outcome\": {");
	for (st = 0; st < PS_OUT_COUNT; st++)
		ps_buf_printf(out, "%s\"%s\": %zu", st ? ", " : "",
			      ps_outcome_name((ps_outcome)st), s->outcome[st]);
	ps_buf_printf(out, "},\n    \"ost_download\": {\"bytes\": %llu, "
		      "\"accounts\": %zu, \"unknown\": %zu},\n",
		      s->ost_bytes, s->ost_known + s->ost_unknown,
		      s->ost_unknown);
	json_counts(out, "source_servers", s->servers, s->nservers, 0);
	ps_buf_puts(out, ",\n");
	json_counts(out, "target_domains", s->domains, s->ndomains, 0);
	ps_buf_puts(out, ",\n");
	json_counts(out, "top_reasons", s->reasons,
		    s->nreasons < 20 ? s->nreasons : 20, 1);
	ps_buf_puts(out, "\n  },\n");
	if (f->rehearsal) {
		ps_buf_puts(out, "  \"rehearsal\": {\"file\": ");
		ps_json_str(out, f->rehearsal);
		ps_buf_printf(out, ", \"same\": %zu, \"different\": %zu, "
			      "\"accounts\": [", f->diff_same, f->ndiff);
		for (i = 0; i < f->ndiff; i++) {
			const ps_fleet_diff *d = &f->diff[i];

			ps_buf_puts(out, i ? ",\n    {" : "\n    {");
			ps_buf_puts(out, "\"user\": ");
			ps_json_str(out, d->user);
			ps_buf_puts(out, ", \"profile\": ");
			ps_json_str(out, d->profile);
			ps_buf_puts(out, ", \"account\": ");
			ps_json_str(out, d->account);
			ps_buf_puts(out, ", \"predicted\": ");
			ps_json_str(out, diff_status(d->predicted, ""));
			ps_buf_puts(out, ", \"actual\": ");
			ps_json_str(out, diff_status(d->actual, ""));
			ps_buf_puts(out, ", \"host\": ");
			ps_json_str(out, d->host);
			ps_buf_puts(out, ", \"input\": ");
			ps_json_str(out, d->input);
			ps_buf_putc(out, '}');
		}
		ps_buf_puts(out, f->ndiff ? "\n  ]},\n" : "]},\n");
	}
	ps_buf_printf(out, "  \"exit_bits\": %d\n}\n", s->exit_bits);
	return ps_buf_check(out);
}

static void text_counts(ps_buf *out, const char *title,
			const ps_fleet_count *c, size_t n)
{
	size_t i;

	if (!n)
		return;
	ps_buf_printf(out, "%s:\n", title);
	for (i = 0; i < n && i < 10; i++) {
		char size[32];

		ps_buf_printf(out, "  %-32s %6zu accounts, %zu migrating, %zu "
			      "need attention", c[i].key, c[i].n,
			      c[i].migrating, c[i].problems);
		ps_fleet_bytes(c[i].ost_bytes, size, sizeof(size));
		if (c[i].ost_known || c[i].ost_unknown)
			ps_buf_printf(out, ", OST %s%s", size,
				      c[i].ost_unknown ? " + unknown" : "");
		ps_buf_putc(out, '\n');
	}
	if (n > 10)
		ps_buf_printf(out, "  (%zu more in the JSON and HTML "
			      "reports)\n", n - 10);
}

int ps_fleet_text(const ps_fleet *f, const ps_fleet_summary *s,
		  ps_buf *out)
{
	size_t i, start = out->len;
	int st;

	if (f->collected)
		ps_buf_printf(out, "fleet: %zu users, %zu accounts, %zu "
			      "reports (%zu unusable, %zu older runs left "
			      "out; %.1f s)\n", s->users, s->rows, f->reports,
			      s->unusable, f->superseded, f->seconds);
	else
		ps_buf_printf(out, "rehearsal: %zu users, %zu accounts, %zu "
			      "unusable inputs (%.1f s, %u workers)\n",
			      s->users, s->rows, s->unusable, f->seconds,
			      f->workers);
	ps_buf_puts(out, "users:");
	for (st = 0; st < PS_OUT_COUNT; st++)
		ps_buf_printf(out, "%s %zu %s", st ? "," : "",
			      s->outcome[st], ps_outcome_name((ps_outcome)st));
	ps_buf_printf(out, "\nusers with an Office sign-in identity of the "
		      "source: %zu\n", s->identity_users);
	ps_buf_puts(out, "accounts by status:\n");
	for (st = 0; st < PS_ST_COUNT; st++)
		if (s->status[st])
			ps_buf_printf(out, "  %-20s %6zu\n",
				      ps_status_name((ps_status)st),
				      s->status[st]);
	if (s->ost_known || s->ost_unknown) {
		char size[32];

		ps_fleet_bytes(s->ost_bytes, size, sizeof(size));
		ps_buf_printf(out, "OSTs downloaded again: %zu accounts, %s",
			      s->ost_known + s->ost_unknown, size);
		if (s->ost_unknown)
			ps_buf_printf(out, " and %zu of unknown size",
				      s->ost_unknown);
		ps_buf_putc(out, '\n');
	}
	text_counts(out, "source servers", s->servers, s->nservers);
	text_counts(out, "target domains", s->domains, s->ndomains);
	if (s->nreasons)
		ps_buf_puts(out, "top reasons (blocked and failed):\n");
	for (i = 0; i < s->nreasons && i < 10; i++)
		ps_buf_printf(out, "  %6zu  %-18s %s\n", s->reasons[i].n,
			      ps_status_name(s->reasons[i].status),
			      s->reasons[i].key);
	if (f->rehearsal)
		ps_buf_printf(out, "rehearsal vs cut-over: %zu accounts as "
			      "predicted, %zu differ (in the reports)\n",
			      f->diff_same, f->ndiff);
	/* For a terminal: server names and reasons come from profiles. */
	for (i = start; !out->oom && i < out->len; i++)
		if (((unsigned char)out->ptr[i] < 0x20 &&
		     out->ptr[i] != '\n') || out->ptr[i] == 0x7f)
			out->ptr[i] = '?';
	return ps_buf_check(out);
}

/* ---- HTML ----------------------------------------------------------- */

static void html(ps_buf *b, const char *s)
{
	char *fixed;

	/* The page is UTF-8 (a Latin-1 file name is taken as such). */
	s = ps_utf8_safe(s, &fixed);
	if (!s) {
		b->oom = 1;
		return;
	}
	for (; *s; s++) {
		switch (*s) {
		case '&': ps_buf_puts(b, "&amp;"); break;
		case '<': ps_buf_puts(b, "&lt;"); break;
		case '>': ps_buf_puts(b, "&gt;"); break;
		case '"': ps_buf_puts(b, "&quot;"); break;
		case '\'': ps_buf_puts(b, "&#39;"); break;
		default: ps_buf_putc(b, *s);
		}
	}
	free(fixed);
}

/* Bar colours by status (and outcome), colour-blind safe (Okabe-Ito). */
static const char *status_colour(ps_status st)
{
	if (is_migrating(st))
		return "#009E73";
	if (st == PS_ST_ALREADY_UPDATED)
		return "#56B4E9";
	if (st == PS_ST_NOT_MIGRATED)
		return "#999999";
	if (is_deferred(st))
		return "#F0E442";
	if (st == PS_ST_FAILED)
		return "#D55E00";
	if (is_blocked(st))
		return "#E69F00";
	return "#0072B2";
}

static const char page_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	"'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
	"<meta name=\"viewport\" content=\"width=device-width\">\n"
	"<title>profswitch ";

static const char page_head2[] =
	"</title>\n<style>\n"
	"body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\n"
	"h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .4em}\n"
	".meta{color:#555}\n"
	"table{border-collapse:collapse;margin:.4em 0}\n"
	"th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;"
	"vertical-align:top}\n"
	"th{background:#f0f0f0}td.n{text-align:right}\n"
	".tiles{display:flex;flex-wrap:wrap;gap:1em}\n"
	".tile{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;"
	"min-width:9em}\n"
	".tile b{display:block;font-size:1.8em}\n"
	".st{padding:0 .4em;border-radius:3px;color:#000;white-space:nowrap}\n"
	"#filter{font-size:1em;padding:.3em;width:24em}\n"
	"td.d{max-width:48em;word-break:break-word}\n"
	"</style>\n</head>\n<body>\n";

static const char page_script[] =
	"<script>\n"
	"(function(){\n"
	"var box=document.getElementById('filter');\n"
	"var rows=document.querySelectorAll('#rows tbody tr');\n"
	"var shown=document.getElementById('shown');\n"
	"function apply(){\n"
	" var q=box.value.toLowerCase(),n=0;\n"
	" for(var i=0;i<rows.length;i++){\n"
	"  var hit=rows[i].textContent.toLowerCase().indexOf(q)>=0;\n"
	"  rows[i].style.display=hit?'':'none';if(hit)n++;\n"
	" }\n"
	" shown.textContent=String(n);\n"
	"}\n"
	"box.addEventListener('input',apply);\n"
	"var m=/[#&]q=([^&]*)/.exec(location.hash);\n"
	"if(m){try{box.value=decodeURIComponent(m[1]);}"
	"catch(e){box.value=m[1];}}\n"
	"apply();\n"
	"})();\n"
	"</script>\n";

/* Rows in the page's full table at most; the CSV and JSON have all. */
#define HTML_MAX_ROWS 20000u

static void html_tile(ps_buf *out, const char *id, const char *label,
		      size_t n)
{
	ps_buf_printf(out, "<div class=\"tile\"><b id=\"%s\">%zu</b>%s</div>\n",
		      id, n, label);
}

static void html_chart(ps_buf *out, const ps_fleet_summary *s)
{
	size_t max = 1, bars = 0;
	int st;
	unsigned y = 0;

	for (st = 0; st < PS_ST_COUNT; st++) {
		if (!s->status[st])
			continue;
		bars++;
		if (s->status[st] > max)
			max = s->status[st];
	}
	ps_buf_printf(out, "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/"
		      "svg\" width=\"720\" height=\"%zu\" role=\"img\" "
		      "aria-label=\"accounts by status\">\n",
		      bars * 28 + 8);
	for (st = 0; st < PS_ST_COUNT; st++) {
		size_t n = s->status[st];
		unsigned w;

		if (!n)
			continue;
		w = (unsigned)((double)n / (double)max * 440.0);
		if (w < 2)
			w = 2;
		ps_buf_printf(out, "<g class=\"bar\" data-status=\"%s\" "
			      "data-count=\"%zu\"><text x=\"150\" y=\"%u\" "
			      "text-anchor=\"end\" font-size=\"13\">%s</text>"
			      "<rect x=\"160\" y=\"%u\" width=\"%u\" "
			      "height=\"20\" fill=\"%s\"/><text x=\"%u\" "
			      "y=\"%u\" font-size=\"13\">%zu</text></g>\n",
			      ps_status_name((ps_status)st), n, y + 19,
			      ps_status_name((ps_status)st), y + 4, w,
			      status_colour((ps_status)st), 166 + w, y + 19,
			      n);
		y += 28;
	}
	ps_buf_puts(out, "</svg>\n");
}

static void html_counts(ps_buf *out, const char *id, const char *what,
			const ps_fleet_count *c, size_t n)
{
	size_t i;

	ps_buf_printf(out, "<table id=\"%s\"><thead><tr><th>%s</th>"
		      "<th>accounts</th><th>migrating</th><th>need "
		      "attention</th><th>OST downloaded again</th></tr>"
		      "</thead><tbody>\n", id, what);
	for (i = 0; i < n && i < 50; i++) {
		char size[32];

		ps_fleet_bytes(c[i].ost_bytes, size, sizeof(size));
		ps_buf_puts(out, "<tr><td>");
		html(out, c[i].key);
		ps_buf_printf(out, "</td><td class=\"n\">%zu</td><td class="
			      "\"n\">%zu</td><td class=\"n\">%zu</td><td "
			      "class=\"n\" data-bytes=\"%llu\">%s%s</td>"
			      "</tr>\n", c[i].n, c[i].migrating,
			      c[i].problems, c[i].ost_bytes,
			      c[i].ost_known || c[i].ost_unknown ? size : "",
			      c[i].ost_unknown ? " + unknown" : "");
	}
	ps_buf_puts(out, "</tbody></table>\n");
	if (n > 50)
		ps_buf_printf(out, "<p>%zu more in the JSON report.</p>\n",
			      n - 50);
}

static void html_row(ps_buf *out, const ps_fleet_item *it, const ps_row *r)
{
	ps_buf_puts(out, "<tr><td>");
	html(out, user_of(it));
	ps_buf_puts(out, "</td><td>");
	html(out, r->profile);
	ps_buf_puts(out, "</td><td>");
	html(out, r->account);
	ps_buf_printf(out, "</td><td><span class=\"st\" style=\"background:"
		      "%s\">%s</span></td><td class=\"d\">",
		      status_colour(r->status), ps_status_name(r->status));
	html(out, r->detail);
	ps_buf_puts(out, "</td><td class=\"n\">");
	if (r->ost_download == PS_OST_DL_KNOWN && r->ost_bytes) {
		char size[32];

		ps_fleet_bytes(r->ost_bytes, size, sizeof(size));
		ps_buf_puts(out, size);
	} else if (r->ost_download == PS_OST_DL_UNKNOWN) {
		ps_buf_puts(out, "unknown");
	}
	ps_buf_puts(out, "</td><td>");
	html(out, it->input);
	ps_buf_puts(out, "</td></tr>\n");
}

static const char row_head[] =
	"<thead><tr><th>user</th><th>profile</th><th>account</th>"
	"<th>status</th><th>detail</th><th>OST downloaded again</th>"
	"<th>input</th></tr></thead><tbody>\n";

int ps_fleet_html(const ps_fleet *f, const ps_fleet_summary *s,
		  ps_buf *out)
{
	size_t i, j, shown = 0, attention = 0;
	int st;

	ps_buf_puts(out, page_head);
	ps_buf_puts(out, f->collected ? "fleet" : "rehearsal");
	ps_buf_puts(out, page_head2);
	if (f->collected) {
		ps_buf_printf(out, "<h1>Fleet: %zu users</h1>\n<p class=\""
			      "meta\">profswitch fleet on ", s->users);
		html(out, f->host ? f->host : "");
		ps_buf_printf(out, ", %s: <span id=\"reports\">%zu</span> "
			      "reports, the latest run of each user on each "
			      "machine (<span id=\"superseded\">%zu</span> "
			      "older runs left out)", f->started, f->reports,
			      f->superseded);
	} else {
		ps_buf_printf(out, "<h1>Rehearsal: %zu users</h1>\n<p class="
			      "\"meta\">profswitch rehearse on ", s->users);
		html(out, f->host ? f->host : "");
		ps_buf_printf(out, ", started %s, %.1f s; mapping ",
			      f->started, f->seconds);
		html(out, f->mapping ? f->mapping : "");
	}
	ps_buf_printf(out, ". Exit status bits: <span id=\"exit-bits\">%d"
		      "</span>.</p>\n", s->exit_bits);

	ps_buf_puts(out, "<h2>Totals</h2>\n<div class=\"tiles\">\n");
	html_tile(out, "total-users", "users", s->users);
	html_tile(out, "total-accounts", "accounts", s->rows);
	html_tile(out, "users-would-update", "users to update",
		  s->outcome[PS_OUT_UPDATE]);
	html_tile(out, "users-blocked", "users blocked",
		  s->outcome[PS_OUT_BLOCKED]);
	html_tile(out, "users-failed", "users failed",
		  s->outcome[PS_OUT_FAILED]);
	html_tile(out, "unusable-inputs", "unusable inputs", s->unusable);
	html_tile(out, "users-source-identity", "users with a source sign-in "
		  "identity", s->identity_users);
	{
		char size[32];

		ps_fleet_bytes(s->ost_bytes, size, sizeof(size));
		ps_buf_printf(out, "<div class=\"tile\"><b id=\"ost-download"
			      "\" data-bytes=\"%llu\">%s</b>OSTs downloaded "
			      "again (%zu accounts, <span id=\"ost-unknown\">"
			      "%zu</span> of unknown size)</div>\n",
			      s->ost_bytes, size, s->ost_known +
			      s->ost_unknown, s->ost_unknown);
	}
	ps_buf_puts(out, "</div>\n<table id=\"outcomes\"><thead><tr><th>users"
		    " whose worst account is</th><th>users</th></tr></thead>"
		    "<tbody>\n");
	for (st = 0; st < PS_OUT_COUNT; st++)
		ps_buf_printf(out, "<tr><td>%s</td><td class=\"n\" id=\"outcome"
			      "-%s\">%zu</td></tr>\n",
			      ps_outcome_name((ps_outcome)st),
			      ps_outcome_name((ps_outcome)st), s->outcome[st]);
	ps_buf_puts(out, "</tbody></table>\n");

	ps_buf_puts(out, "<h2>Accounts by status</h2>\n");
	html_chart(out, s);
	ps_buf_puts(out, "<table id=\"statuses\"><thead><tr><th>status</th>"
		    "<th>accounts</th></tr></thead><tbody>\n");
	for (st = 0; st < PS_ST_COUNT; st++)
		if (s->status[st])
			ps_buf_printf(out, "<tr><td>%s</td><td class=\"n\" "
				      "id=\"count-%s\">%zu</td></tr>\n",
				      ps_status_name((ps_status)st),
				      ps_status_name((ps_status)st),
				      s->status[st]);
	ps_buf_puts(out, "</tbody></table>\n");

	ps_buf_puts(out, "<h2>Top reasons (blocked and failed)</h2>\n"
		    "<table id=\"reasons\"><thead><tr><th>accounts</th><th>"
		    "status</th><th>reason</th></tr></thead><tbody>\n");
	for (i = 0; i < s->nreasons && i < 20; i++) {
		ps_buf_printf(out, "<tr><td class=\"n\">%zu</td><td>%s</td>"
			      "<td class=\"d\">", s->reasons[i].n,
			      ps_status_name(s->reasons[i].status));
		html(out, s->reasons[i].key);
		ps_buf_puts(out, "</td></tr>\n");
	}
	ps_buf_puts(out, "</tbody></table>\n");

	ps_buf_puts(out, "<h2>Users who need an administrator</h2>\n"
		    "<table id=\"attention\">");
	ps_buf_puts(out, row_head);
	for (i = 0; i < f->n; i++) {
		const ps_fleet_item *it = &f->v[i];

		for (j = 0; j < it->report.n; j++) {
			ps_status rs = it->report.v[j].status;

			if (!is_blocked(rs) && rs != PS_ST_FAILED)
				continue;
			if (attention++ < HTML_MAX_ROWS)
				html_row(out, it, &it->report.v[j]);
		}
	}
	ps_buf_printf(out, "</tbody></table>\n<p><span id=\"attention-count\">"
		      "%zu</span> accounts.</p>\n", attention);

	if (f->rehearsal) {
		ps_buf_puts(out, "<h2>Rehearsal and cut-over</h2>\n<p>Against"
			    " ");
		html(out, f->rehearsal);
		ps_buf_printf(out, ": <span id=\"diff-same\">%zu</span> "
			      "accounts as predicted, <span id=\"diff-count\">"
			      "%zu</span> not.</p>\n<table id=\"diff\"><thead>"
			      "<tr><th>user</th><th>profile</th><th>account"
			      "</th><th>predicted</th><th>actual</th><th>host"
			      "</th><th>input</th></tr></thead><tbody>\n",
			      f->diff_same, f->ndiff);
		for (i = 0; i < f->ndiff && i < HTML_MAX_ROWS; i++) {
			const ps_fleet_diff *d = &f->diff[i];

			ps_buf_puts(out, "<tr><td>");
			html(out, d->user);
			ps_buf_puts(out, "</td><td>");
			html(out, d->profile);
			ps_buf_puts(out, "</td><td>");
			html(out, d->account);
			ps_buf_printf(out, "</td><td>%s</td><td>%s</td><td>",
				      diff_status(d->predicted, no_plan),
				      diff_status(d->actual, no_run));
			html(out, d->host);
			ps_buf_puts(out, "</td><td>");
			html(out, d->input);
			ps_buf_puts(out, "</td></tr>\n");
		}
		ps_buf_puts(out, "</tbody></table>\n");
		if (f->ndiff > HTML_MAX_ROWS)
			ps_buf_printf(out, "<p>The first %u; the JSON report "
				      "has every one.</p>\n", HTML_MAX_ROWS);
	}

	ps_buf_puts(out, "<h2>Source servers</h2>\n");
	html_counts(out, "servers", "server", s->servers, s->nservers);
	ps_buf_puts(out, "<h2>Target domains</h2>\n");
	html_counts(out, "domains", "domain", s->domains, s->ndomains);

	ps_buf_puts(out, "<h2>Every account</h2>\n<p><input id=\"filter\" "
		    "type=\"search\" placeholder=\"filter: user, status, "
		    "server...\" aria-label=\"filter\"> <span id=\"shown\">"
		    "</span> shown.</p>\n<table id=\"rows\">");
	ps_buf_puts(out, row_head);
	for (i = 0; i < f->n && shown < HTML_MAX_ROWS; i++) {
		const ps_fleet_item *it = &f->v[i];

		for (j = 0; j < it->report.n && shown < HTML_MAX_ROWS; j++) {
			html_row(out, it, &it->report.v[j]);
			shown++;
		}
	}
	ps_buf_puts(out, "</tbody></table>\n");
	if (shown < s->rows)
		ps_buf_printf(out, "<p>The first %zu of %zu accounts; the CSV "
			      "and JSON reports have every one.</p>\n", shown,
			      s->rows);
	ps_buf_puts(out, page_script);
	ps_buf_puts(out, "</body>\n</html>\n");
	return ps_buf_check(out);
}

void ps_fleet_free(ps_fleet *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->v[i].input);
		ps_report_free(&f->v[i].report);
		ps_buf_free(&f->v[i].log);
	}
	free(f->v);
	free(f->host);
	free(f->mapping);
	for (i = 0; i < f->ndiff; i++) {
		free(f->diff[i].user);
		free(f->diff[i].profile);
		free(f->diff[i].account);
		free(f->diff[i].host);
		free(f->diff[i].input);
	}
	free(f->diff);
	memset(f, 0, sizeof(*f));
}
