/*
 * The run's report: one row per (profile, mailbox unit), written as CSV
 * (docs/contract.md column order) or JSON, and the exit status derived
 * from it.
 */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "ps_buf.h"

typedef enum ps_status {
	PS_ST_UPDATED,
	PS_ST_WOULD_UPDATE,
	PS_ST_ALREADY_UPDATED,
	PS_ST_NOT_MIGRATED,
	PS_ST_DEFERRED_RUNNING,
	PS_ST_DEFERRED_LOCKED,
	PS_ST_DEFERRED_TIMEOUT,
	PS_ST_BLOCKED_POLICY,
	PS_ST_BLOCKED_AMBIGUOUS,
	PS_ST_BLOCKED_POISONED,
	PS_ST_REPAIRED_POISONED,
	PS_ST_FAILED,
	PS_ST_ROLLED_BACK,
	PS_ST_CLEANED,
	PS_ST_DEFERRED_NOT_READY, /* RequireTargetReady: target not answering yet */
	PS_ST_BLOCKED_NEW_OUTLOOK, /* the user runs the new Outlook */
	PS_ST_COUNT
} ps_status;

typedef struct ps_row {
	char *profile;
	char *account;
	char *source_dn;
	char *target_dn;
	ps_status status;
	char *detail;
	int ad_failed;        /* Autodiscover verification failed: bit 8 */
	/* For the fleet report (rehearse); NULL when unknown.  Not in the
	 * CSV or JSON of one run. */
	char *source_server;  /* the account's home server before */
	char *target_smtp;    /* the mapping's TargetSMTP */
	size_t identities;    /* Office sign-in identities of the source
	                         the user's registry holds (0: none) */
	/* The OST Outlook downloads again (R6 renames or removes it; dry
	 * runs only): PS_OST_DL_NONE, _KNOWN (ost_bytes: the old file's
	 * size) or _UNKNOWN (the file cannot be reached). */
	int ost_download;
	unsigned long long ost_bytes;
	int predicted;        /* fleet --rehearsal: the rehearsal's status
	                         + 1; 0: not rehearsed */
} ps_row;

enum { PS_OST_DL_NONE, PS_OST_DL_KNOWN, PS_OST_DL_UNKNOWN };

typedef struct ps_report {
	char *host;
	char *user;
	ps_row *v;
	size_t n;
	size_t cap;
	char *log_path;       /* where the log went (JSON "log") */
	int log_fallback;     /* 1: the local folder, not LogFile */
	char *run_after;      /* RunAfter command (JSON "run_after") */
	char *run_after_how;  /* "started", "recorded, not executed" */
	char *time;           /* when the run ended, "YYYY-MM-DDTHH:MM:SSZ"
	                         (JSON "time"; the fleet's latest run) */
} ps_report;

#define PS_REPORT_INIT { NULL, NULL, NULL, 0, 0, NULL, 0, NULL, NULL, \
			 NULL }

/* UTF-8 byte order mark: every CSV report starts with it (Excel reads
 * the file as UTF-8 only then). */
#define PS_CSV_BOM "\xEF\xBB\xBF"

const char *ps_status_name(ps_status st);
/* NULL strings are stored as "". */
int ps_report_add(ps_report *r, const char *profile, const char *account,
		  const char *source_dn, const char *target_dn, ps_status st,
		  const char *detail);
/* Exit bits (docs/exit-codes.md): 1 failed, 2 deferred, 4 blocked, 8
 * Autodiscover verification failed (rows with ad_failed). */
int ps_report_exit_bits(const ps_report *r);
/* Set the last row's fleet fields (copies; NULL leaves one unset). */
int ps_report_set_origin(ps_report *r, const char *source_server,
			 const char *target_smtp);
/* Set the last row's OST download (PS_OST_DL_*, bytes when known). */
int ps_report_set_ost(ps_report *r, int download, unsigned long long bytes);
/* BOM, header, one line per row (docs/contract.md), separated by ','
 * or by delim (',', ';' or '\t': --csv-delimiter). */
int ps_report_csv(const ps_report *r, ps_buf *out);
int ps_report_csv_d(const ps_report *r, ps_buf *out, char delim);
/* One CSV field (RFC 4180, spreadsheet formulas neutralised) and its
 * separator: "," (or delim) or, when last, CRLF.  A field with any of
 * , ; TAB " CR LF is quoted, whatever the delimiter. */
void ps_csv_field(ps_buf *b, const char *s, int last);
void ps_csv_field_d(ps_buf *b, const char *s, int last, char delim);
/* PS_CSV_BOM, then the NULL-terminated column names and CRLF. */
void ps_csv_header(ps_buf *out, char delim, const char *const *cols);
/* A JSON string literal, control characters escaped. */
void ps_json_str(ps_buf *b, const char *s);
int ps_report_json(const ps_report *r, ps_buf *out);
/* The console table: a PROFILE ACCOUNT STATUS DETAIL header, one line
 * per row, then the count of each status ("1 updated, 2 not-migrated").
 * Every field goes through ps_utf8_sanitize (no control character from a
 * profile reaches the terminal); columns are padded by characters.
 * Nothing at all for a report with no rows. */
void ps_report_print(FILE *out, const ps_report *r);
void ps_report_free(ps_report *r);

#endif
