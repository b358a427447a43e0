/*
 * The fleet report of `profswitch rehearse`: the rows of every input (one
 * user's export or hive), a summary, and the CSV, JSON, text and HTML
 * forms of it (docs/rehearsal.md).
 */
#ifndef PS_FLEET_H
#define PS_FLEET_H

#include <stddef.h>

#include "ps_buf.h"
#include "ps_report.h"

typedef struct ps_fleet_item {
	char *input;          /* the file as found */
	ps_report report;     /* its rows; report.user is the user */
	ps_buf log;           /* its log lines */
	int unusable;         /* the input could not be rehearsed: its one
	                         row says why */
	long long when;       /* fleet: the run's time (seconds since 1970,
	                         the report's "time" or the file's), 0 */
} ps_fleet_item;

/* fleet --rehearsal: one account whose rehearsal prediction and cut-over
 * result differ, or that one side lacks. */
typedef struct ps_fleet_diff {
	char *user;
	char *profile;
	char *account;
	int predicted;        /* ps_status; -1: not in the rehearsal */
	int actual;           /* ps_status; -1: no report from the user */
	char *host;           /* where it ran ("" when it did not) */
	char *input;          /* its report file ("" when none) */
} ps_fleet_diff;

typedef struct ps_fleet {
	char *host;           /* where the rehearsal ran */
	char *mapping;        /* the mapping file */
	char started[21];     /* "YYYY-MM-DDTHH:MM:SSZ" */
	double seconds;       /* wall time of the engine runs */
	unsigned workers;
	ps_fleet_item *v;
	size_t n;
	/* ---- `profswitch fleet` (core/collect.c); zero for rehearse ---- */
	int collected;        /* 1: the per-user reports of logon runs */
	char csv_delim;       /* the CSV's separator; 0: ',' */
	size_t reports;       /* report files read */
	size_t superseded;    /* older runs of a host and user, left out */
	const char *rehearsal;        /* --rehearsal FILE, or NULL */
	ps_fleet_diff *diff;  /* sorted by user, profile, account */
	size_t ndiff;
	size_t diff_same;     /* accounts where prediction and run agree */
} ps_fleet;

/* What a user's rehearsal comes to: the worst status of their rows. */
typedef enum ps_outcome {
	PS_OUT_FAILED,        /* a failed row or an unusable input */
	PS_OUT_BLOCKED,       /* blocked-*: needs an administrator */
	PS_OUT_DEFERRED,
	PS_OUT_UPDATE,        /* would-update / updated / repaired */
	PS_OUT_ALREADY,       /* already-updated */
	PS_OUT_UNTOUCHED,     /* not-migrated only */
	PS_OUT_COUNT
} ps_outcome;

typedef struct ps_fleet_count {
	char *key;            /* server, domain or reason */
	ps_status status;     /* reasons: their status */
	size_t n;             /* accounts (rows) */
	size_t migrating;     /* rows that would be or were updated */
	size_t problems;      /* rows blocked, failed or deferred */
	/* The OSTs Outlook downloads again (rows with ost_download): */
	unsigned long long ost_bytes; /* the sum of the known sizes */
	size_t ost_known;     /* rows whose size is known */
	size_t ost_unknown;   /* rows whose size is not */
} ps_fleet_count;

typedef struct ps_fleet_summary {
	size_t users, unusable, rows;
	size_t status[PS_ST_COUNT];       /* rows per status */
	size_t outcome[PS_OUT_COUNT];     /* users per outcome */
	ps_fleet_count *servers;          /* per source server, most first */
	size_t nservers;
	ps_fleet_count *domains;          /* per target SMTP domain */
	size_t ndomains;
	ps_fleet_count *reasons;          /* blocked-* and failed rows */
	size_t nreasons;
	int exit_bits;
	size_t identity_users;  /* users holding an Office sign-in
	                           identity of the source */
	/* The OSTs downloaded again, fleet-wide (as in ps_fleet_count). */
	unsigned long long ost_bytes;
	size_t ost_known, ost_unknown;
} ps_fleet_summary;

const char *ps_outcome_name(ps_outcome o);
ps_outcome ps_fleet_outcome(const ps_fleet_item *it);

/* A reason to group rows by: the detail up to its first "; ", with
 * addresses, DNs, URLs and numbers elided, so that the same cause in
 * many users' profiles is counted once. Caller frees. */
char *ps_fleet_reason(const char *detail);

int ps_fleet_summarize(const ps_fleet *f, ps_fleet_summary *s);
void ps_fleet_summary_free(ps_fleet_summary *s);

/* The report's CSV columns (docs/formats.md): the per-user report's,
 * `input` and ost_download_bytes (docs/rehearsal.md), every input's rows
 * in input order; BOM first. */
int ps_fleet_csv(const ps_fleet *f, ps_buf *out);
/* Rows (with input, source_server, target_smtp, ost_download_bytes)
 * and the summary. */
int ps_fleet_json(const ps_fleet *f, const ps_fleet_summary *s,
		  ps_buf *out);
/* The summary for a terminal. */
int ps_fleet_text(const ps_fleet *f, const ps_fleet_summary *s,
		  ps_buf *out);
/* One self-contained page: no network (a Content-Security-Policy that
 * forbids it), inline SVG, a filter that works from file://. */
int ps_fleet_html(const ps_fleet *f, const ps_fleet_summary *s,
		  ps_buf *out);

/* "12.3 GiB", "512 bytes" (binary units, one decimal). */
void ps_fleet_bytes(unsigned long long n, char *out, size_t size);

void ps_fleet_free(ps_fleet *f);

#endif
