/*
 * The run log: one line per event,
 * `TIME LEVEL profile="P" account="A": what happened and why` (quotes and
 * backslashes in names escaped; in names and text every control
 * character and invalid UTF-8 byte shown as '?', ps_utf8_sanitize).
 * Lines are collected in memory and appended to the log file by the app
 * after each profile and at the end (through the system port), so a
 * crash loses at most one profile's lines; -v also echoes them.
 * Never pass credentials to it.
 */
#ifndef PS_LOG_H
#define PS_LOG_H

#include <stdio.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_system.h"

enum { PS_LOG_DEBUG, PS_LOG_INFO, PS_LOG_WARN, PS_LOG_ERROR };

typedef struct ps_log {
	ps_system *sys;
	char *path;       /* NULL: keep nothing but the echo */
	FILE *echo;       /* NULL: no echo */
	int echo_level;   /* lowest level echoed */
	ps_buf lines;
} ps_log;

void ps_log_msg(ps_log *log, int level, const char *profile,
		const char *account, const char *fmt, ...) PS_PRINTF(5, 6);
int ps_log_flush(ps_log *log);
void ps_log_free(ps_log *log);
/* One line for a terminal: formatted, made safe with ps_utf8_sanitize
 * (no control character, valid UTF-8), then a newline.  For any line that
 * holds text from a profile or a server. */
void ps_print_line(FILE *out, const char *fmt, ...) PS_PRINTF(2, 3);
/* "YYYY-MM-DDTHH:MM:SSZ" for seconds since 1970 (out has 21 bytes). */
void ps_format_time(long long secs, char out[21]);

#endif
