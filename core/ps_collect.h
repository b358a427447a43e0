/*
 * `profswitch fleet`: reading back the reports profswitch writes (the
 * per-user CSV and JSON of `update --report`, the fleet CSV and JSON of
 * `rehearse` and `fleet`) into a ps_fleet, keeping the latest run of each
 * user on each machine, and comparing a rehearsal with the cut-over
 * (docs/rehearsal.md, "Collecting the logon reports").
 *
 * The readers know exactly our own formats (docs/contract.md): the CSV
 * reader is RFC 4180 with a UTF-8 BOM and `,`, `;` or TAB between fields;
 * the JSON reader is a strict one for our report objects (unknown keys
 * are skipped, depth and size are bounded).  Neither is a general parser.
 */
#ifndef PS_COLLECT_H
#define PS_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "ps_fleet.h"

/* One report file at most (a per-user report is a few KiB). */
#define PS_COLLECT_MAX_BYTES ((size_t)64 << 20)
/* Rows in one file at most. */
#define PS_COLLECT_MAX_ROWS 1000000u
/* Columns of a CSV report at most. */
#define PS_COLLECT_MAX_COLUMNS 64u
/* Nesting of a JSON report at most (ours is 4 deep). */
#define PS_COLLECT_MAX_DEPTH 16

/* Parse one report (CSV or JSON: the first character that is not a BOM
 * or white space is `{` for JSON) into items appended to *out: one item
 * per run of rows with the same host, user and input (a per-user report
 * is one item; a fleet report one per user).  Each item's input is the
 * row's `input` column when there is one, else `name`; its `when` is the
 * JSON report's "time" (0 when absent).  A report without rows is one
 * item without rows.  Bad input: PS_EFORMAT (PS_ELIMIT past a limit),
 * with "NAME: line N: reason", and *out as it was. */
int ps_collect_parse(const char *name, const uint8_t *data, size_t len,
		     ps_fleet *out);

/* An item for a report file that cannot be used: one failed row whose
 * detail is "WHY: MSG" (MSG without a leading "INPUT: "). */
int ps_collect_unusable(ps_fleet *f, const char *input, const char *why,
			const char *msg);

/* "YYYY-MM-DDTHH:MM:SSZ" to seconds since 1970; -1 when not that. */
long long ps_collect_time(const char *s);

/* Keep, of the items with the same host and user (case-insensitive), the
 * one with the latest `when` (on a tie, the later input path); the others
 * are freed and counted in f->superseded.  Unusable items and items
 * without a user are always kept.  Order is otherwise kept. */
int ps_collect_latest(ps_fleet *f);

/* Compare the rehearsal's predictions with the collected runs per (user,
 * profile, account), case-insensitive: f->diff gets every account whose
 * run differs from the prediction or that one side lacks, f->diff_same
 * counts the others, and each collected row's `predicted` is set.  A
 * prediction of would-update is met by updated, repaired-poisoned,
 * already-updated or would-update (a later logon reports
 * already-updated); any other status must be the same.  The rehearsal's
 * rows are only read (non-const for the sort's keys). */
int ps_collect_diff(ps_fleet *f, ps_fleet *rehearsal);

#endif
