#include "ps_report.h"

#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_str.h"
#include "ps_utf.h"

static void csv_text(ps_buf *b, const char *s, int last, char delim);
static void json_text(ps_buf *b, const char *s);

static const char *const status_names[PS_ST_COUNT] = {
	"updated", "would-update", "already-updated", "not-migrated",
	"deferred-running", "deferred-locked", "deferred-timeout",
	"blocked-policy", "blocked-ambiguous", "blocked-poisoned",
	"repaired-poisoned", "failed", "rolled-back", "cleaned",
	"deferred-not-ready", "blocked-new-outlook",
};

const char *ps_status_name(ps_status st)
{
	return (unsigned)st < PS_ST_COUNT ? status_names[st] : "?";
}

int ps_report_add(ps_report *r, const char *profile, const char *account,
		  const char *source_dn, const char *target_dn, ps_status st,
		  const char *detail)
{
	ps_row row;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		ps_row *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		r->v = v;
		r->cap = cap;
	}
	memset(&row, 0, sizeof(row));
	row.profile = ps_strdup(profile ? profile : "");
	row.account = ps_strdup(account ? account : "");
	row.source_dn = ps_strdup(source_dn ? source_dn : "");
	row.target_dn = ps_strdup(target_dn ? target_dn : "");
	row.detail = ps_strdup(detail ? detail : "");
	row.status = st;
	if (!row.profile || !row.account || !row.source_dn ||
	    !row.target_dn || !row.detail) {
		free(row.profile);
		free(row.account);
		free(row.source_dn);
		free(row.target_dn);
		free(row.detail);
		return PS_ENOMEM;
	}
	r->v[r->n++] = row;
	return 0;
}

int ps_report_set_origin(ps_report *r, const char *source_server,
			 const char *target_smtp)
{
	ps_row *row;

	if (!r->n)
		return ps_error_setc(PS_ERROR, "no row");
	row = &r->v[r->n - 1];
	if (source_server && !row->source_server &&
	    !(row->source_server = ps_strdup(source_server)))
		return ps_error_setc(PS_ENOMEM, "out of memory");
	if (target_smtp && !row->target_smtp &&
	    !(row->target_smtp = ps_strdup(target_smtp)))
		return ps_error_setc(PS_ENOMEM, "out of memory");
	return 0;
}

int ps_report_set_ost(ps_report *r, int download, unsigned long long bytes)
{
	if (!r->n)
		return ps_error_setc(PS_ERROR, "no row");
	r->v[r->n - 1].ost_download = download;
	r->v[r->n - 1].ost_bytes = download == PS_OST_DL_KNOWN ? bytes : 0;
	return 0;
}

int ps_report_exit_bits(const ps_report *r)
{
	int bits = 0;
	size_t i;

	for (i = 0; i < r->n; i++) {
		switch (r->v[i].status) {
		case PS_ST_FAILED:
			bits |= 1;
			break;
		case PS_ST_DEFERRED_RUNNING:
		case PS_ST_DEFERRED_LOCKED:
		case PS_ST_DEFERRED_TIMEOUT:
		case PS_ST_DEFERRED_NOT_READY:
			bits |= 2;
			break;
		case PS_ST_BLOCKED_POLICY:
		case PS_ST_BLOCKED_AMBIGUOUS:
		case PS_ST_BLOCKED_POISONED:
		case PS_ST_BLOCKED_NEW_OUTLOOK:
			bits |= 4;
			break;
		default:
			break;
		}
		if (r->v[i].ad_failed)
			bits |= 8;
	}
	return bits;
}

/* RFC 4180 field; also neutralises spreadsheet formulas. */
void ps_csv_field(ps_buf *b, const char *s, int last)
{
	ps_csv_field_d(b, s, last, ',');
}

void ps_csv_field_d(ps_buf *b, const char *s, int last, char delim)
{
	char *fixed;

	/* Names can come from anywhere (a Latin-1 file name): the report
	 * is UTF-8. */
	s = ps_utf8_safe(s, &fixed);
	if (!s) {
		b->oom = 1;
		return;
	}
	csv_text(b, s, last, delim);
	free(fixed);
}

static void csv_text(ps_buf *b, const char *s, int last, char delim)
{
	int quote = strpbrk(s, ",;\t\"\r\n") != NULL ||
		    strchr(s, delim) != NULL;
	/* OWASP's list: a spreadsheet would run these as a formula. */
	int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' ||
		      s[0] == '@' || s[0] == '\t' || s[0] == '\r';

	if (quote || formula) {
		ps_buf_putc(b, '"');
		if (formula)
			ps_buf_putc(b, '\'');
		for (; *s; s++) {
			if (*s == '"')
				ps_buf_putc(b, '"');
			ps_buf_putc(b, *s);
		}
		ps_buf_putc(b, '"');
	} else {
		ps_buf_puts(b, s);
	}
	if (last)
		ps_buf_puts(b, "\r\n");
	else
		ps_buf_putc(b, delim);
}

/* The header of every CSV report, columns separated by delim. */
void ps_csv_header(ps_buf *out, char delim, const char *const *cols)
{
	size_t i;

	ps_buf_puts(out, PS_CSV_BOM);
	for (i = 0; cols[i]; i++) {
		if (i)
			ps_buf_putc(out, delim);
		ps_buf_puts(out, cols[i]);
	}
	ps_buf_puts(out, "\r\n");
}

static const char *const report_cols[] = {
	"host", "user", "profile", "account", "source_dn", "target_dn",
	"status", "detail", "source_server", "target_smtp", NULL
};

int ps_report_csv(const ps_report *r, ps_buf *out)
{
	return ps_report_csv_d(r, out, ',');
}

int ps_report_csv_d(const ps_report *r, ps_buf *out, char delim)
{
	size_t i;

	ps_csv_header(out, delim, report_cols);
	for (i = 0; i < r->n; i++) {
		const ps_row *row = &r->v[i];

		ps_csv_field_d(out, r->host ? r->host : "", 0, delim);
		ps_csv_field_d(out, r->user ? r->user : "", 0, delim);
		ps_csv_field_d(out, row->profile, 0, delim);
		ps_csv_field_d(out, row->account, 0, delim);
		ps_csv_field_d(out, row->source_dn, 0, delim);
		ps_csv_field_d(out, row->target_dn, 0, delim);
		ps_csv_field_d(out, ps_status_name(row->status), 0, delim);
		ps_csv_field_d(out, row->detail, 0, delim);
		ps_csv_field_d(out, row->source_server ? row->source_server
			       : "", 0, delim);
		ps_csv_field_d(out, row->target_smtp ? row->target_smtp : "",
			       1, delim);
	}
	return ps_buf_check(out);
}

void ps_json_str(ps_buf *b, const char *s)
{
	char *fixed;

	s = ps_utf8_safe(s, &fixed);
	if (!s) {
		b->oom = 1;
		return;
	}
	json_text(b, s);
	free(fixed);
}

static void json_text(ps_buf *b, const char *s)
{
	ps_buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			ps_buf_putc(b, '\\');
			ps_buf_putc(b, c);
		} else if (c < 0x20) {
			ps_buf_printf(b, "\\u%04x", c);
		} else {
			ps_buf_putc(b, c);
		}
	}
	ps_buf_putc(b, '"');
}

int ps_report_json(const ps_report *r, ps_buf *out)
{
	size_t i, counts[PS_ST_COUNT] = { 0 };
	int first = 1, st;

	ps_buf_puts(out, "{\n  \"host\": ");
	ps_json_str(out, r->host ? r->host : "");
	ps_buf_puts(out, ",\n  \"user\": ");
	ps_json_str(out, r->user ? r->user : "");
	if (r->time) {
		ps_buf_puts(out, ",\n  \"time\": ");
		ps_json_str(out, r->time);
	}
	ps_buf_puts(out, ",\n  \"rows\": [");
	for (i = 0; i < r->n; i++) {
		const ps_row *row = &r->v[i];

		counts[row->status]++;
		ps_buf_puts(out, i ? ",\n    {" : "\n    {");
		ps_buf_puts(out, "\"profile\": ");
		ps_json_str(out, row->profile);
		ps_buf_puts(out, ", \"account\": ");
		ps_json_str(out, row->account);
		ps_buf_puts(out, ", \"source_dn\": ");
		ps_json_str(out, row->source_dn);
		ps_buf_puts(out, ", \"target_dn\": ");
		ps_json_str(out, row->target_dn);
		ps_buf_puts(out, ", \"status\": ");
		ps_json_str(out, ps_status_name(row->status));
		ps_buf_puts(out, ", \"detail\": ");
		ps_json_str(out, row->detail);
		if (row->source_server && *row->source_server) {
			ps_buf_puts(out, ", \"source_server\": ");
			ps_json_str(out, row->source_server);
		}
		if (row->target_smtp && *row->target_smtp) {
			ps_buf_puts(out, ", \"target_smtp\": ");
			ps_json_str(out, row->target_smtp);
		}
		if (row->ad_failed)
			ps_buf_puts(out, ", \"autodiscover_failed\": true");
		ps_buf_putc(out, '}');
	}
	ps_buf_puts(out, r->n ? "\n  ],\n  \"summary\": {" :
		    "],\n  \"summary\": {");
	for (st = 0; st < PS_ST_COUNT; st++) {
		if (!counts[st])
			continue;
		ps_buf_printf(out, "%s\"%s\": %zu", first ? "" : ", ",
			      ps_status_name((ps_status)st), counts[st]);
		first = 0;
	}
	ps_buf_puts(out, "},\n");
	if (r->log_path) {
		ps_buf_puts(out, "  \"log\": {\"path\": ");
		ps_json_str(out, r->log_path);
		ps_buf_printf(out, ", \"fallback\": %s},\n",
			      r->log_fallback ? "true" : "false");
	}
	if (r->run_after) {
		ps_buf_puts(out, "  \"run_after\": {\"command\": ");
		ps_json_str(out, r->run_after);
		ps_buf_puts(out, ", \"how\": ");
		ps_json_str(out, r->run_after_how ? r->run_after_how : "");
		ps_buf_puts(out, "},\n");
	}
	ps_buf_printf(out, "  \"exit_bits\": %d\n}\n",
		      ps_report_exit_bits(r));
	return ps_buf_check(out);
}

/* ---- the console table ------------------------------------------------ */

/* Characters (not bytes) of valid UTF-8. */
static size_t width_of(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void put_cell(FILE *out, const char *s, size_t width, int last)
{
	size_t w = width_of(s);

	fputs(s, out);
	if (last) {
		fputc('\n', out);
		return;
	}
	for (; w < width + 2; w++)
		fputc(' ', out);
}

void ps_report_print(FILE *out, const ps_report *r)
{
	size_t i, k, w[3] = { 7, 7, 6 }, counts[PS_ST_COUNT] = { 0 };
	char **cells;
	int st, first = 1;

	if (!r->n)
		return;
	/* profile, account, detail of every row, made safe once */
	cells = calloc(r->n * 3, sizeof(*cells));
	for (i = 0; cells && i < r->n; i++) {
		cells[3 * i] = ps_utf8_clean(r->v[i].profile);
		cells[3 * i + 1] = ps_utf8_clean(r->v[i].account);
		cells[3 * i + 2] = ps_utf8_clean(r->v[i].detail);
		for (k = 0; k < 3; k++)
			if (!cells[3 * i + k])
				goto oom;
	}
	if (!cells)
		goto oom;
	for (i = 0; i < r->n; i++) {
		size_t lp = width_of(cells[3 * i]);
		size_t la = width_of(cells[3 * i + 1]);
		size_t ls = strlen(ps_status_name(r->v[i].status));

		w[0] = lp > w[0] ? lp : w[0];
		w[1] = la > w[1] ? la : w[1];
		w[2] = ls > w[2] ? ls : w[2];
	}
	put_cell(out, "PROFILE", w[0], 0);
	put_cell(out, "ACCOUNT", w[1], 0);
	put_cell(out, "STATUS", w[2], 0);
	put_cell(out, "DETAIL", 0, 1);
	for (i = 0; i < r->n; i++) {
		counts[r->v[i].status]++;
		put_cell(out, cells[3 * i], w[0], 0);
		put_cell(out, cells[3 * i + 1], w[1], 0);
		put_cell(out, ps_status_name(r->v[i].status), w[2], 0);
		put_cell(out, cells[3 * i + 2], 0, 1);
	}
	for (st = 0; st < PS_ST_COUNT; st++) {
		if (!counts[st])
			continue;
		fprintf(out, "%s%zu %s", first ? "" : ", ", counts[st],
			ps_status_name((ps_status)st));
		first = 0;
	}
	if (!first)
		fputc('\n', out);
	goto done;
oom:
	/* Never the raw text: say what could not be shown. */
	fputs("profswitch: out of memory printing the table; the report "
	      "and the log have every row\n", out);
done:
	for (i = 0; cells && i < r->n * 3; i++)
		free(cells[i]);
	free(cells);
}

void ps_report_free(ps_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->v[i].profile);
		free(r->v[i].account);
		free(r->v[i].source_dn);
		free(r->v[i].target_dn);
		free(r->v[i].detail);
		free(r->v[i].source_server);
		free(r->v[i].target_smtp);
	}
	free(r->v);
	free(r->host);
	free(r->user);
	free(r->log_path);
	free(r->run_after);
	free(r->run_after_how);
	free(r->time);
	memset(r, 0, sizeof(*r));
}
