#include "ps_log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ps_utf.h"

static const char *const level_names[] = { "DEBUG", "INFO", "WARN",
					   "ERROR" };

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
void ps_format_time(long long secs, char out[21])
{
	long long days = secs / 86400, rem = secs % 86400;
	long long era, doe, yoe, doy, mp, y, m, d;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	/* Clamp so the output always fits the 21 bytes. */
	y = y < 0 ? 0 : y > 9999 ? 9999 : y;
	snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u,
		 (unsigned)(rem / 3600) % 100u, (unsigned)(rem / 60) % 60u,
		 (unsigned)rem % 60u);
}

/* name="value" with quotes and backslashes escaped, so that a profile
 * called a"b cannot forge fields, and control characters made visible
 * (ps_utf8_sanitize), so that it cannot start a line or reach a
 * terminal's escape codes. */
static void put_quoted(ps_buf *b, const char *name, const char *value)
{
	ps_buf clean = PS_BUF_INIT;
	const char *v;

	ps_buf_puts(b, name);
	ps_buf_putc(b, '"');
	if (ps_utf8_sanitize(&clean, value, strlen(value)) < 0) {
		b->oom = 1;
		ps_buf_free(&clean);
		return;
	}
	for (v = clean.ptr; *v; v++) {
		if (*v == '"' || *v == '\\')
			ps_buf_putc(b, '\\');
		ps_buf_putc(b, *v);
	}
	ps_buf_putc(b, '"');
	ps_buf_free(&clean);
}

void ps_log_msg(ps_log *log, int level, const char *profile,
		const char *account, const char *fmt, ...)
{
	ps_buf line = PS_BUF_INIT, text = PS_BUF_INIT;
	char when[21];
	va_list ap;
	int n;

	/* Nothing keeps or shows this line: do not format it. */
	if (!log || (!log->path && !(log->echo && level >= log->echo_level)))
		return;
	ps_format_time((long long)ps_sys_now(log->sys), when);
	ps_buf_printf(&line, "%s %s", when, level_names[level & 3]);
	if (profile)
		put_quoted(&line, " profile=", profile);
	if (account)
		put_quoted(&line, " account=", account);
	ps_buf_puts(&line, ": ");
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0 && ps_buf_grow(&text, (size_t)n) == 0) {
		va_start(ap, fmt);
		vsnprintf(text.ptr, (size_t)n + 1, fmt, ap);
		va_end(ap);
		/* A name or value from a profile or a server cannot start a
		 * forged line or send escape codes to a terminal. */
		if (ps_utf8_sanitize(&line, text.ptr, (size_t)n) < 0)
			line.oom = 1;
	}
	ps_buf_puts(&line, "\n");
	if (!ps_buf_check(&line)) {
		if (log->echo && level >= log->echo_level)
			fputs(line.ptr, log->echo);
		if (log->path)
			ps_buf_put(&log->lines, line.ptr, line.len);
	}
	ps_buf_free(&line);
	ps_buf_free(&text);
}

void ps_print_line(FILE *out, const char *fmt, ...)
{
	ps_buf text = PS_BUF_INIT, line = PS_BUF_INIT;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || ps_buf_grow(&text, (size_t)n) < 0)
		goto done;
	va_start(ap, fmt);
	vsnprintf(text.ptr, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (ps_utf8_sanitize(&line, text.ptr, (size_t)n) == 0) {
		fputs(line.ptr, out);
		fputc('\n', out);
	}
done:
	ps_buf_free(&text);
	ps_buf_free(&line);
}

int ps_log_flush(ps_log *log)
{
	int error = 0;

	if (!log || !log->path || !log->lines.len)
		return 0;
	error = ps_sys_append_file(log->sys, log->path, log->lines.ptr,
				   log->lines.len);
	ps_buf_clear(&log->lines);
	return error;
}

void ps_log_free(ps_log *log)
{
	if (!log)
		return;
	ps_buf_free(&log->lines);
	free(log->path);
	log->path = NULL;
}
