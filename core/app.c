/*
 * profswitch's commands.  Everything is validated before the store is
 * touched: a bad option, configuration, mapping or export changes nothing.
 */
#include "ps_app.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ps_autodiscover.h"
#include "ps_backup.h"
#include "ps_collect.h"
#include "ps_config.h"
#include "ps_engine.h"
#include "ps_error.h"
#include "ps_fleet.h"
#include "ps_log.h"
#include "ps_mapidx.h"
#include "ps_mapping.h"
#include "ps_plan.h"
#include "ps_policy.h"
#include "ps_report.h"

#ifndef PS_VERSION
#define PS_VERSION "0.0.0"
#endif

#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOINPUT 66
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70

#define MAX_CONFIG_BYTES (1u << 20)
#define MAX_MAPPING_BYTES (1024u * 1024u * 1024u)

typedef struct opts {
	const char *command;
	const char *config;
	const char *mapping;
	const char *store;
	const char *log;
	const char *report;
	const char *url;
	const char *ca_file;
	const char *jobs;
	const char *timeout;    /* autodiscover --timeout */
	const char *output;     /* mapping compile -o */
	const char *rehearsal;  /* fleet --rehearsal */
	const char *csv_delimiter;  /* --csv-delimiter */
	ps_strlist profiles;
	ps_strlist reports;        /* every --report (rehearse) */
	ps_strlist running;
	ps_strlist positional;
	int default_profile;
	int dry_run;
	int reprocess;
	int all;
	int quiet;
	int verbose;
	int v2;                 /* autodiscover --v2 */
	int help;               /* CMD --help, -h or /? */
} opts;

/* ---- help: one text for --help, CMD --help and the man page ---------- */

#define COMMON_OPTIONS \
	"  --config FILE       profswitch.ini\n" \
	"  --mapping FILE      migration mapping (overrides the config)\n" \
	"  --store PATH        the profiles to work on, rewritten in " \
	"place:\n" \
	"                      a .reg export or an NTUSER.DAT hive (hives:\n" \
	"                      Linux build); required on Linux, on Windows\n" \
	"                      the user's MAPI profiles when left out\n" \
	"  --profile NAME      only this profile (repeatable)\n" \
	"  --default-profile   only the default profile\n" \
	"  --log FILE          append the run log to FILE (default: " \
	"LogFile=,\n" \
	"                      else profswitch.log in the local folder)\n" \
	"  --report FILE       write the report (.csv or .json)\n" \
	"  --csv-delimiter D   CSV reports: , ; or tab (default ,)\n" \
	"  -q, -v              quieter, more verbose\n"

#define EXIT_STATUS_TEXT \
	"exit status: 0 done; bits 1 failed, 2 deferred, 4 blocked, " \
	"8 Autodiscover;\n" \
	"64 usage or configuration, 65 mapping, 66 unreadable input,\n" \
	"69 store unavailable, 70 internal error.\n"

static const char usage_text[] =
	"usage: profswitch COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  update    [common] [--dry-run] [--reprocess]\n"
	"  rollback  [common] [--all]\n"
	"  cleanup   [common]\n"
	"  rehearse  STORE... [--config FILE] [--mapping FILE] [--report FILE]...\n"
	"            [--jobs N] [--profile NAME | --default-profile] [--log FILE]\n"
	"  fleet     REPORTS... --report FILE... [--rehearsal FILE]\n"
	"  inspect   STORE [--config FILE] [--mapping FILE]\n"
	"  autodiscover EMAIL [--url URL] [--ca-file FILE]\n"
	"            [--timeout SECONDS] [--v2]\n"
	"  mapping check FILE | compile FILE -o OUT\n"
	"  --version | --help | COMMAND --help\n"
	"\n"
	"common options:\n"
	COMMON_OPTIONS
	"\n"
	"An option's value may follow it (--log FILE) or be joined to it\n"
	"(--log=FILE); -h and /? are --help.\n"
	"\n"
	"STORE (inspect, rehearse): a .reg export or an NTUSER.DAT hive;\n"
	"rehearse also takes folders of them (searched recursively).\n"
	"REPORTS (fleet): the .csv/.json reports of logon runs, or folders\n"
	"of them (searched recursively).\n"
	"\n"
	EXIT_STATUS_TEXT;

typedef struct cmd_help {
	const char *name;
	const char *summary;     /* one line */
	const char *text;        /* profswitch NAME --help */
} cmd_help;

static const cmd_help helps[] = {
	{ "update", "repoint the Outlook profiles to the target mailboxes",
	  "usage: profswitch update [options] [--dry-run] [--reprocess]\n"
	  "\n"
	  "Repoints each Exchange account of the selected profiles from its\n"
	  "source mailbox to the target the mapping names, after a backup of\n"
	  "every section it changes.  Every run appends its lines to the log\n"
	  "(--log, LogFile=, else profswitch.log in the local folder).\n"
	  "\n"
	  "options:\n"
	  COMMON_OPTIONS
	  "  --dry-run           say what would change; change nothing\n"
	  "  --reprocess         update accounts already updated again\n"
	  "\n"
	  EXIT_STATUS_TEXT },
	{ "rollback", "undo the last update from its backup",
	  "usage: profswitch rollback [options] [--all]\n"
	  "\n"
	  "Restores the sections the last update changed from its backup.\n"
	  "\n"
	  "options:\n"
	  COMMON_OPTIONS
	  "  --all               every backup generation, oldest state last\n"
	  "\n"
	  EXIT_STATUS_TEXT },
	{ "cleanup", "delete the backups once the migration is final",
	  "usage: profswitch cleanup [options]\n"
	  "\n"
	  "Deletes the backups that update left in the profiles.\n"
	  "\n"
	  "options:\n"
	  COMMON_OPTIONS
	  "\n"
	  EXIT_STATUS_TEXT },
	{ "rehearse", "dry-run a whole fleet of exported profiles",
	  "usage: profswitch rehearse STORE... [--config FILE] "
	  "[--mapping FILE]\n"
	  "                [--report FILE]... [--jobs N]\n"
	  "                [--profile NAME | --default-profile] [--log FILE]\n"
	  "\n"
	  "Runs update as a dry run over every STORE (a .reg export, an\n"
	  "NTUSER.DAT hive, or a folder searched recursively for them) and\n"
	  "writes one fleet report.  Nothing is written to any STORE.\n"
	  "\n"
	  "options:\n"
	  "  --config FILE       profswitch.ini (LogFile= is ignored)\n"
	  "  --mapping FILE      migration mapping (overrides the config)\n"
	  "  --report FILE       .csv, .json or .html (repeatable)\n"
	  "  --csv-delimiter D   CSV reports: , ; or tab (default ,)\n"
	  "  --jobs N            inputs at once (default: one per core)\n"
	  "  --profile NAME      only this profile (repeatable)\n"
	  "  --default-profile   only the default profile\n"
	  "  --log FILE          the run log (default: profswitch.log in the\n"
	  "                      local folder, summary lines only)\n"
	  "  -q, -v              quieter, more verbose\n"
	  "\n"
	  EXIT_STATUS_TEXT },
	{ "fleet", "collect the reports of logon runs into one fleet report",
	  "usage: profswitch fleet REPORTS... --report FILE... "
	  "[--rehearsal FILE]\n"
	  "                [--config FILE] [--csv-delimiter D] [--log FILE]\n"
	  "\n"
	  "Reads the per-user reports (.csv or .json) that update runs left,\n"
	  "or folders of them searched recursively, keeps the latest run of\n"
	  "each user on each machine, and writes the fleet report rehearse\n"
	  "writes.  A report that cannot be read is a row, not the end.\n"
	  "\n"
	  "options:\n"
	  "  --report FILE       .csv, .json or .html (repeatable)\n"
	  "  --rehearsal FILE    the rehearsal's .csv or .json report: say\n"
	  "                      what differs between rehearsal and cut-over\n"
	  "  --config FILE       profswitch.ini (CsvDelimiter=)\n"
	  "  --csv-delimiter D   CSV reports: , ; or tab (default ,)\n"
	  "  --log FILE          the run log\n"
	  "  -q                  no progress\n"
	  "\n"
	  "exit status: the bits of every row of the latest runs (1 failed,\n"
	  "2 deferred, 4 blocked, 8 Autodiscover; a broken report is a\n"
	  "failed row); 64 usage, 66 a --rehearsal that cannot be read or a\n"
	  "report that cannot be written, 70 internal error.\n" },
	{ "inspect", "show the Outlook profiles, backups and policies",
	  "usage: profswitch inspect STORE [--config FILE] [--mapping FILE]\n"
	  "\n"
	  "Shows each profile's Exchange accounts, backups and the Outlook\n"
	  "policies in force; with --config or --mapping, which planned\n"
	  "changes those policies would block.  Changes nothing.\n"
	  "STORE: a .reg export or an NTUSER.DAT hive (on Windows, left out:\n"
	  "the user's MAPI profiles).\n" },
	{ "autodiscover", "ask Autodiscover for a mailbox's settings",
	  "usage: profswitch autodiscover EMAIL [--url URL] [--ca-file FILE]\n"
	  "                    [--timeout SECONDS] [--v2]\n"
	  "\n"
	  "Follows Autodiscover for EMAIL as update would and prints the\n"
	  "settings found, each hop on the way, or why none were found\n"
	  "(exit 8).\n"
	  "\n"
	  "options:\n"
	  "  --url URL           start at this Autodiscover URL\n"
	  "  --ca-file FILE      trust this CA too (https)\n"
	  "  --timeout SECONDS   the whole discovery (default 60; 0 = only\n"
	  "                      the per-request 30 s)\n"
	  "  --v2                ask the Autodiscover v2 (JSON) endpoint,\n"
	  "                      as RequireTargetReady=1 does\n"
	  "  -q                  no hops, only the settings\n" },
	{ "mapping", "check or compile a mapping file",
	  "usage: profswitch mapping check FILE\n"
	  "       profswitch mapping compile FILE -o OUT\n"
	  "\n"
	  "check: parses FILE (a text or compiled mapping), lists errors and\n"
	  "duplicates, and prints its SHA-256 for MappingSHA256=.\n"
	  "compile: writes OUT, a compiled mapping for very large fleets.\n"
	  "\n"
	  "exit status: 0 good, 65 bad mapping, 66 unreadable.\n" },
};

#define NHELPS (sizeof(helps) / sizeof(helps[0]))

static const cmd_help *find_help(const char *command)
{
	size_t i;

	for (i = 0; command && i < NHELPS; i++)
		if (!strcmp(helps[i].name, command))
			return &helps[i];
	return NULL;
}

static int is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h") ||
	       !strcmp(arg, "/?");
}

/* roff: one line of help text, escaped (backslash, leading dot or quote,
 * hyphen-minus). */
static void man_line(FILE *out, const char *line, size_t n)
{
	size_t i;

	if (n && (line[0] == '.' || line[0] == '\''))
		fputs("\\&", out);
	for (i = 0; i < n; i++) {
		if (line[i] == '\\')
			fputs("\\e", out);
		else if (line[i] == '-')
			fputs("\\-", out);
		else
			fputc(line[i], out);
	}
	fputc('\n', out);
}

static void man_text(FILE *out, const char *text)
{
	const char *nl;

	fputs(".nf\n", out);
	for (; *text; text = nl + 1) {
		nl = strchr(text, '\n');
		if (!nl)
			nl = text + strlen(text);
		man_line(out, text, (size_t)(nl - text));
		if (!*nl)
			break;
	}
	fputs(".fi\n", out);
}

void ps_app_man_page(FILE *out)
{
	size_t i;

	fputs(".\\\" Generated by `profswitch --help-man` from the help\n"
	      ".\\\" text in core/app.c; the test docs.manpage checks\n"
	      ".\\\" that it is up to date.  Do not edit.\n", out);
	fputs(".TH PROFSWITCH 1 \"\" \"profswitch\" \"User Commands\"\n",
	      out);
	fputs(".SH NAME\nprofswitch \\- repoint Outlook MAPI profiles after "
	      "a mailbox migration\n", out);
	fputs(".SH SYNOPSIS\n", out);
	man_text(out, usage_text);
	fputs(".SH COMMANDS\n", out);
	for (i = 0; i < NHELPS; i++) {
		fprintf(out, ".SS %s\n", helps[i].name);
		man_line(out, helps[i].summary, strlen(helps[i].summary));
		man_text(out, helps[i].text);
	}
	fputs(".SH FILES\n"
	      "The default log, profswitch.log, is in the local profswitch "
	      "folder:\n"
	      ".I %LOCALAPPDATA%\\eprofswitch\\elogs\n"
	      "on Windows,\n"
	      ".I $XDG_STATE_HOME/profswitch\n"
	      "(else\n"
	      ".IR ~/.local/state/profswitch )\n"
	      "on Linux.\n", out);
	fputs(".SH SEE ALSO\n"
	      "docs/contract.md, docs/deploying.md and docs/exit-codes.md in "
	      "the profswitch sources.\n", out);
}

/* ---- messages and the trace every run leaves -------------------------- */

/* What a run said went wrong (at most TRACE_MAX messages kept). */
typedef struct ps_app_trace {
	ps_strlist msgs;
	size_t dropped;
	int logged;             /* the run wrote its last log line */
} ps_app_trace;

#define TRACE_MAX 8

static void trace_add(ps_app_env *env, const char *msg)
{
	ps_app_trace *t = env->trace;

	if (!t)
		return;
	if (t->msgs.n >= TRACE_MAX || ps_strlist_add(&t->msgs, msg) < 0)
		t->dropped++;
}

/* "profswitch: MESSAGE" on stderr, and MESSAGE in this run's trace. */
static void say(ps_app_env *env, const char *fmt, ...) PS_PRINTF(2, 3);

static void say(ps_app_env *env, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(env->err, "profswitch: %s\n", msg);
	trace_add(env, msg);
}

/* A line printed as it is (a mapping's "FILE:LINE: reason"). */
static void say_raw(ps_app_env *env, const char *line)
{
	fprintf(env->err, "%s\n", line);
	trace_add(env, line);
}

static int usage_error(ps_app_env *env, const char *fmt, ...)
	PS_PRINTF(2, 3);

static int usage_error(ps_app_env *env, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(env->err, "profswitch: %s\nTry 'profswitch --help'.\n", msg);
	trace_add(env, msg);
	return EX_USAGE;
}

static void opts_free(opts *o)
{
	ps_strlist_free(&o->profiles);
	ps_strlist_free(&o->reports);
	ps_strlist_free(&o->running);
	ps_strlist_free(&o->positional);
}

static const char *const value_opts[] = {
	"--config", "--mapping", "--store", "--log", "--report", "--profile",
	"--simulate-running", "--url", "--ca-file", "--jobs", "--timeout",
	"-o", "--rehearsal", "--csv-delimiter", NULL
};

static int takes_value(const char *arg)
{
	size_t i;

	for (i = 0; value_opts[i]; i++)
		if (!strcmp(arg, value_opts[i]))
			return 1;
	return 0;
}

/* The options that take no value. */
static int is_flag(const char *arg)
{
	static const char *const flags[] = {
		"--default-profile", "--dry-run", "--reprocess", "--all",
		"--quiet", "--verbose", "--v2", NULL
	};
	size_t i;

	for (i = 0; flags[i]; i++)
		if (!strcmp(arg, flags[i]))
			return 1;
	return 0;
}

static int parse_args(ps_app_env *env, int argc, char **argv, opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	if (argc < 2)
		return usage_error(env, "no command given");
	o->command = argv[1];
	/* CMD --help (-h, /?) wins over anything else on the line. */
	for (i = 2; i < argc; i++)
		if (is_help(argv[i])) {
			o->help = 1;
			return 0;
		}
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		char name[32];

		/* --opt=value is --opt value. */
		eq = a[0] == '-' && a[1] == '-' ? strchr(a, '=') : NULL;
		if (eq && (size_t)(eq - a) < sizeof(name)) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			if (!takes_value(name))
				return usage_error(env, is_flag(name)
						   ? "%s takes no value"
						   : "unknown option '%s'",
						   name);
			a = name;
			v = eq + 1;
		} else if (takes_value(a)) {
			if (i + 1 >= argc)
				return usage_error(env, "%s needs a value", a);
			v = argv[++i];
		}
		if (!strcmp(a, "--config"))
			o->config = v;
		else if (!strcmp(a, "--mapping"))
			o->mapping = v;
		else if (!strcmp(a, "--store"))
			o->store = v;
		else if (!strcmp(a, "--log"))
			o->log = v;
		else if (!strcmp(a, "--report")) {
			o->report = v;
			if (ps_strlist_add(&o->reports, v) < 0)
				return EX_SOFTWARE;
		} else if (!strcmp(a, "--jobs"))
			o->jobs = v;
		else if (!strcmp(a, "--url"))
			o->url = v;
		else if (!strcmp(a, "--ca-file"))
			o->ca_file = v;
		else if (!strcmp(a, "--timeout"))
			o->timeout = v;
		else if (!strcmp(a, "-o"))
			o->output = v;
		else if (!strcmp(a, "--rehearsal"))
			o->rehearsal = v;
		else if (!strcmp(a, "--csv-delimiter"))
			o->csv_delimiter = v;
		else if (!strcmp(a, "--profile")) {
			if (ps_strlist_add(&o->profiles, v) < 0)
				return EX_SOFTWARE;
		} else if (!strcmp(a, "--simulate-running")) {
			if (ps_strlist_add(&o->running, v) < 0)
				return EX_SOFTWARE;
		} else if (!strcmp(a, "--default-profile"))
			o->default_profile = 1;
		else if (!strcmp(a, "--dry-run"))
			o->dry_run = 1;
		else if (!strcmp(a, "--reprocess"))
			o->reprocess = 1;
		else if (!strcmp(a, "--all"))
			o->all = 1;
		else if (!strcmp(a, "--v2"))
			o->v2 = 1;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			o->quiet = 1;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			o->verbose = 1;
		else if (a[0] == '-' && a[1])
			return usage_error(env, "unknown option '%s'", a);
		else if (ps_strlist_add(&o->positional, a) < 0)
			return EX_SOFTWARE;
	}
	return 0;
}

/* Read a whole file through the system port; message names the file. */
static int read_input(ps_app_env *env, const char *path, size_t max,
		      uint8_t **data, size_t *len, const char *what)
{
	int error = ps_sys_read_file(env->sys, path, max, data, len);

	if (error < 0)
		say(env, "cannot read the %s: %s", what, ps_error_last());
	return error;
}

/* A path from the configuration is relative to the configuration. */
static char *config_relative(const char *config, const char *path)
{
	const char *slash = config ? strrchr(config, '/') : NULL;
	const char *bslash = config ? strrchr(config, '\\') : NULL;
	ps_buf b = PS_BUF_INIT;

	if (bslash > slash)
		slash = bslash;
	if (!slash || path[0] == '/' || path[0] == '\\' ||
	    (path[0] && path[1] == ':'))
		return ps_strdup(path);
	ps_buf_put(&b, config, (size_t)(slash - config) + 1);
	ps_buf_puts(&b, path);
	return ps_buf_detach(&b);
}

/* LogFile / --log expansion: #H host, #D date, #T time, %VAR%. */
char *ps_expand_path(ps_system *sys, const char *in)
{
	ps_buf b = PS_BUF_INIT;
	char when[21], *v = NULL;
	const char *end;

	ps_format_time((long long)ps_sys_now(sys), when);
	for (; *in; in++) {
		if (in[0] == '#' && (in[1] == 'H' || in[1] == 'h')) {
			if (ps_sys_host_name(sys, &v) == 0)
				ps_buf_puts(&b, v);
			free(v);
			v = NULL;
			in++;
		} else if (in[0] == '#' && (in[1] == 'D' || in[1] == 'd')) {
			ps_buf_printf(&b, "%.4s%.2s%.2s", when, when + 5,
				      when + 8);
			in++;
		} else if (in[0] == '#' && (in[1] == 'T' || in[1] == 't')) {
			ps_buf_printf(&b, "%.2s%.2s%.2s", when + 11,
				      when + 14, when + 17);
			in++;
		} else if (in[0] == '%' && (end = strchr(in + 1, '%')) &&
			   end > in + 1) {
			char *name = ps_strndup(in + 1, (size_t)(end - in - 1));

			if (name && ps_sys_get_env(sys, name, &v) == 0)
				ps_buf_puts(&b, v);
			else if (name)
				ps_buf_put(&b, in, (size_t)(end - in + 1));
			free(name);
			free(v);
			v = NULL;
			in = end;
		} else {
			ps_buf_putc(&b, *in);
		}
	}
	return ps_buf_detach(&b);
}

static int report_kind(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	if (n >= 4 && !ps_strcasecmp(path + n - 4, ".csv"))
		return 1;
	if (n >= 5 && !ps_strcasecmp(path + n - 5, ".json"))
		return 2;
	return 0;
}

/* The CSV separator: --csv-delimiter, else CsvDelimiter (cfg may be
 * NULL), else ','.  0 after saying what is wrong. */
static char csv_delim(ps_app_env *env, const opts *o, const ps_config *cfg)
{
	static const char delims[] = { ',', ';', '\t' };
	const char *v = o->csv_delimiter;

	if (!v)
		return cfg && (unsigned)cfg->csv_delimiter < 3
		       ? delims[cfg->csv_delimiter] : ',';
	if (!strcmp(v, ",") || !strcmp(v, ";"))
		return v[0];
	if (!ps_strcasecmp(v, "tab") || !strcmp(v, "\t"))
		return '\t';
	usage_error(env, "--csv-delimiter '%s': expected , ; or tab", v);
	return 0;
}

/* Map a store-opening error to the exit status (docs/exit-codes.md). */
static int store_error(ps_app_env *env, int error)
{
	say(env, "%s", ps_error_last());
	switch (error) {
	case PS_ENOTFOUND:
	case PS_EIO:
	case PS_EFORMAT:
	case PS_ELIMIT:
		say(env, "nothing was changed.");
		return EX_NOINPUT;
	case PS_ENOMEM:
		return EX_SOFTWARE;
	default:
		return EX_UNAVAILABLE;
	}
}

typedef struct run {
	ps_config cfg;
	ps_mapping *map;
	ps_store *store;
	ps_log log;
	ps_report report;
	char *report_path;
	ps_strlist selected;
	void *lock;
	int ran_after;
	ps_http *http;
	ps_xml *xml;
} run;

static void run_free(run *r)
{
	ps_http_free(r->http);
	ps_xml_free(r->xml);
	ps_config_free(&r->cfg);
	ps_mapping_free(r->map);
	ps_store_free(r->store);
	ps_log_free(&r->log);
	ps_report_free(&r->report);
	free(r->report_path);
	ps_strlist_free(&r->selected);
}

/* update: a selected profile without a row has no Exchange account, and
 * the terminal says so (the report has no row to say it with). */
static void say_nothing_to_update(ps_app_env *env, run *r,
				  const char *store_name)
{
	ps_strlist all = PS_STRLIST_INIT;
	size_t i, j;

	for (i = 0; i < r->selected.n; i++) {
		for (j = 0; j < r->report.n; j++)
			if (r->report.v[j].profile &&
			    !ps_strcasecmp(r->report.v[j].profile,
					   r->selected.v[i]))
				break;
		if (j < r->report.n)
			continue;
		fprintf(env->err, "profswitch: profile '%s': no Exchange "
			"account (nothing to update)\n", r->selected.v[i]);
		ps_log_msg(&r->log, PS_LOG_INFO, r->selected.v[i], NULL,
			   "no Exchange account (nothing to update)");
	}
	if (r->selected.n)
		return;
	if (ps_store_list_profiles(r->store, &all) == 0 && !all.n)
		fprintf(env->err, "profswitch: no Outlook profile in %s "
			"(nothing to update)\n", store_name);
	else
		fprintf(env->err, "profswitch: none of the selected profiles "
			"is in %s (nothing to update)\n", store_name);
	ps_strlist_free(&all);
}

/* The store lock, waiting up to WaitSeconds (and the deadline). */
static int take_lock(ps_app_env *env, run *r, const char *store,
		     long long deadline)
{
	unsigned waited = 0;
	int error;

	for (;;) {
		error = ps_sys_lock(env->sys, store, &r->lock);
		if (error != PS_ELOCKED || waited >= r->cfg.wait_seconds ||
		    (deadline && ps_sys_now(env->sys) >= deadline))
			break;
		if (!waited)
			ps_log_msg(&r->log, PS_LOG_INFO, NULL, NULL, "%s; "
				   "waiting up to %u s", ps_error_last(),
				   r->cfg.wait_seconds);
		ps_sys_sleep(env->sys, 1);
		waited++;
	}
	return error;
}

/* Another run holds the store: every selected profile is deferred. */
static int locked_rows(ps_engine *e, const ps_strlist *profiles,
		       const char *store)
{
	char detail[600];
	size_t i;
	int error = 0;

	snprintf(detail, sizeof(detail), "another profswitch is working on "
		 "%s; nothing was changed; retry at the next logon", store);
	for (i = 0; i < profiles->n && !error; i++) {
		ps_log_msg(e->log, PS_LOG_WARN, profiles->v[i], NULL, "%s",
			   detail);
		error = ps_report_add(e->report, profiles->v[i], NULL, NULL,
				      NULL, PS_ST_DEFERRED_LOCKED, detail);
	}
	return error;
}

/* RunAfter: started (or, on the fake store, recorded) once. */
static void run_after(ps_app_env *env, run *r)
{
	char *how = NULL;

	if (!r->cfg.run_after || r->ran_after)
		return;
	r->ran_after = 1;
	if (ps_sys_start_process(env->sys, r->cfg.run_after, &how) < 0) {
		ps_log_msg(&r->log, PS_LOG_ERROR, NULL, NULL, "RunAfter '%s' "
			   "could not be started: %s", r->cfg.run_after,
			   ps_error_last());
		return;
	}
	ps_log_msg(&r->log, PS_LOG_INFO, NULL, NULL, "RunAfter '%s': %s",
		   r->cfg.run_after, how);
	free(r->report.run_after);
	free(r->report.run_after_how);
	r->report.run_after = ps_strdup(r->cfg.run_after);
	r->report.run_after_how = how;
}

/* DIR and a file name, with DIR's own separator. */
static char *join_path(const char *dir, const char *base)
{
	ps_buf b = PS_BUF_INIT;
	size_t n = strlen(dir);
	int win = strchr(dir, '\\') != NULL;

	if (n && (dir[n - 1] == '/' || dir[n - 1] == '\\'))
		ps_buf_printf(&b, "%s%s", dir, base);
	else
		ps_buf_printf(&b, "%s%c%s", dir, win ? '\\' : '/', base);
	if (ps_buf_check(&b) < 0) {
		ps_buf_free(&b);
		return NULL;
	}
	return ps_buf_detach(&b);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/'), *bslash = strrchr(path, '\\');

	if (bslash > slash)
		slash = bslash;
	return slash ? slash + 1 : path;
}

/* The log of a run without --log or LogFile (or before they are known):
 * profswitch.log in the local folder.  NULL (said on stderr) when there
 * is no such folder. */
static char *default_log_path(ps_app_env *env)
{
	char *dir = NULL, *path;

	if (ps_sys_local_log_dir(env->sys, &dir) < 0) {
		fprintf(env->err, "profswitch: no local folder for the log: "
			"%s\n", ps_error_last());
		return NULL;
	}
	path = join_path(dir, "profswitch.log");
	free(dir);
	return path;
}

/* Append the log; when its folder cannot be written (a share that is not
 * reachable), write it to the local log folder instead and say so.  A
 * log file this creates gets `mode` (ReportMode; 0: the default). */
static void flush_lines(ps_app_env *env, ps_log *log, ps_report *report,
			unsigned mode)
{
	char *dir = NULL, *fallback = NULL, why[600];

	if (!mode)
		mode = PS_SYS_DEFAULT_FILE_MODE;
	if (!log->path || !log->lines.len)
		return;
	if (ps_sys_append_file_mode(env->sys, log->path, log->lines.ptr,
				    log->lines.len, mode) == 0) {
		ps_buf_clear(&log->lines);
		if (report && !report->log_path)
			report->log_path = ps_strdup(log->path);
		return;
	}
	snprintf(why, sizeof(why), "%s", ps_error_last());
	if (ps_sys_local_log_dir(env->sys, &dir) < 0 ||
	    !(fallback = join_path(dir, base_name(log->path)))) {
		fprintf(env->err, "profswitch: cannot write the log %s (%s) "
			"and there is no local folder for it: %s\n",
			log->path, why, ps_error_last());
		ps_buf_clear(&log->lines);
		free(dir);
		return;
	}
	fprintf(env->err, "profswitch: cannot write the log %s (%s); "
		"writing it to %s instead\n", log->path, why, fallback);
	ps_log_msg(log, PS_LOG_INFO, NULL, NULL, "log %s cannot be "
		   "written (%s); this log is in %s", log->path, why,
		   fallback);
	if (ps_sys_append_file_mode(env->sys, fallback, log->lines.ptr,
				    log->lines.len, mode) < 0)
		fprintf(env->err, "profswitch: cannot write the log %s "
			"either: %s\n", fallback, ps_error_last());
	ps_buf_clear(&log->lines);
	free(log->path);
	log->path = fallback;
	if (report) {
		free(report->log_path);
		report->log_path = ps_strdup(log->path);
		report->log_fallback = 1;
	}
	free(dir);
}

static void flush_log(ps_app_env *env, run *r)
{
	flush_lines(env, &r->log, &r->report, r->cfg.report_mode);
}

/* Every run's last log line (docs/contract.md): the command, its exit
 * status and what it said went wrong.  Not echoed (stderr had it). */
static void log_exit(ps_app_env *env, ps_log *log, const char *command,
		     int status)
{
	ps_app_trace *t = env->trace;
	ps_buf b = PS_BUF_INIT;
	FILE *echo = log->echo;
	size_t i;

	for (i = 0; t && i < t->msgs.n; i++)
		ps_buf_printf(&b, "%s%s", i ? "; " : "", t->msgs.v[i]);
	if (t && t->dropped)
		ps_buf_printf(&b, "; and %zu more", t->dropped);
	log->echo = NULL;
	ps_log_msg(log, status >= 64 ? PS_LOG_ERROR : PS_LOG_INFO, NULL,
		   NULL, "%s: exit status %d%s%s", command, status,
		   b.len ? ": " : "", b.len ? b.ptr : "");
	log->echo = echo;
	ps_buf_free(&b);
	if (t)
		t->logged = 1;
}

/* The report: written atomically (temp file, rename) with ReportMode;
 * when its folder cannot be written, to the local folder instead, and
 * the log says where it went. */
static int write_report(ps_app_env *env, run *r, char delim)
{
	ps_buf b = PS_BUF_INIT;
	char *dir = NULL, *fallback = NULL, why[600];
	int error;

	error = report_kind(r->report_path) == 2 ? ps_report_json(&r->report,
								  &b)
		: ps_report_csv_d(&r->report, &b, delim);
	if (!error)
		error = ps_sys_write_file_mode(env->sys, r->report_path,
					       b.ptr, b.len,
					       r->cfg.report_mode);
	if (error == 0 || error == PS_ENOMEM)
		goto done;
	snprintf(why, sizeof(why), "%s", ps_error_last());
	if (ps_sys_local_log_dir(env->sys, &dir) < 0 ||
	    !(fallback = join_path(dir, base_name(r->report_path)))) {
		say(env, "cannot write the report: %s", why);
		ps_log_msg(&r->log, PS_LOG_ERROR, NULL, NULL, "report %s not "
			   "written: %s", r->report_path, why);
		goto done;
	}
	error = ps_sys_write_file_mode(env->sys, fallback, b.ptr, b.len,
				       r->cfg.report_mode);
	if (error < 0) {
		say(env, "cannot write the report: %s; nor %s: %s", why,
		    fallback, ps_error_last());
		ps_log_msg(&r->log, PS_LOG_ERROR, NULL, NULL, "report %s not "
			   "written: %s", r->report_path, why);
		goto done;
	}
	fprintf(env->err, "profswitch: cannot write the report %s (%s); "
		"wrote it to %s instead\n", r->report_path, why, fallback);
	ps_log_msg(&r->log, PS_LOG_INFO, NULL, NULL, "report %s cannot be "
		   "written (%s); this report is in %s", r->report_path, why,
		   fallback);
done:
	if (error == PS_ENOMEM)
		say(env, "cannot write the report: %s", ps_error_last());
	free(dir);
	free(fallback);
	ps_buf_free(&b);
	return error;
}

/* docs/security.md: the configuration and the mapping are deployed
 * read-only; one that others can change is said on stderr and in the
 * log (the run goes on: the pinned hash is what refuses a change). */
static void warn_writable(ps_app_env *env, ps_log *log, const char *path,
			  const char *what)
{
	char *who = NULL;

	if (!path || !env->writable_by ||
	    env->writable_by(env->ctx, path, &who) < 0 || !who)
		return;
	fprintf(env->err, "profswitch: warning: the %s %s can be changed by "
		"%s; whoever can write it can redirect every user's mail: "
		"deploy it read-only (docs/security.md)\n", what, path, who);
	ps_log_msg(log, PS_LOG_WARN, NULL, NULL, "the %s %s can be changed "
		   "by %s (deploy it read-only)", what, path, who);
	free(who);
}

static int load_config(ps_app_env *env, const opts *o, ps_config *cfg)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int error;

	if (!o->config)
		return 0;
	error = read_input(env, o->config, MAX_CONFIG_BYTES, &data, &len,
			   "configuration");
	if (error < 0)
		return EX_NOINPUT;
	error = ps_config_parse(cfg, o->config, (const char *)data, len);
	free(data);
	if (error < 0) {
		say(env, "%s", ps_error_last());
		say(env, "bad configuration; nothing was changed.");
		return EX_USAGE;
	}
	return 0;
}

/* 32 bytes as 64 lowercase hex digits. */
static void hex32(const uint8_t h[32], char out[65])
{
	size_t i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* SHA-256 of a mapping file as 64 lowercase hex digits. */
static int mapping_hash(ps_app_env *env, const uint8_t *data, size_t len,
			char out[65])
{
	uint8_t h[32];
	int error = ps_sys_sha256(env->sys, data, len, h);

	if (error < 0)
		return error;
	hex32(h, out);
	return 0;
}

/* A pinned mapping (MappingSHA256=): a different hash is refused before
 * the mapping is used.  0, or EX_DATAERR after saying so. */
static int check_pin(ps_app_env *env, run *r, const char *path,
		     const char *found, const char *what)
{
	if (!r->cfg.mapping_sha256)
		return 0;
	if (strcmp(found, r->cfg.mapping_sha256)) {
		say(env, "mapping %s has %s %s but the configuration pins "
		    "%s (MappingSHA256); nothing was changed.", path, what,
		    found, r->cfg.mapping_sha256);
		ps_log_msg(&r->log, PS_LOG_ERROR, NULL, NULL,
			   "mapping %s refused: %s %s, expected %s "
			   "(MappingSHA256)", path, what, found,
			   r->cfg.mapping_sha256);
		return EX_DATAERR;
	}
	ps_log_msg(&r->log, PS_LOG_INFO, NULL, NULL, "mapping %s: %s %s as "
		   "pinned", path, what, found);
	return 0;
}

/* A compiled mapping: only its header is read here (and checked); the
 * lookups read the pages they need.  MappingSHA256= pins its root hash. */
static int load_index(ps_app_env *env, const char *path, run *r)
{
	ps_mapidx *ix = NULL;
	char root[65];
	int error = ps_mapidx_open(&ix, env->sys, path), status;

	if (error < 0) {
		say(env, "%s", ps_error_last());
		say(env, "bad mapping %s; nothing was changed.", path);
		return error == PS_ENOMEM ? EX_SOFTWARE
		       : error == PS_EFORMAT ? EX_DATAERR : EX_NOINPUT;
	}
	hex32(ps_mapidx_get_info(ix)->root, root);
	status = check_pin(env, r, path, root, "root hash");
	if (status) {
		ps_mapidx_free(ix);
		return status;
	}
	if (ps_mapping_from_index(&r->map, ix) < 0)
		return EX_SOFTWARE;
	ps_log_msg(&r->log, PS_LOG_INFO, NULL, NULL,
		   "mapping %s: compiled, %zu mailboxes", path,
		   ps_mapping_count(r->map));
	return 0;
}

static int load_mapping(ps_app_env *env, const opts *o, run *r)
{
	char *path;
	uint8_t *data = NULL;
	size_t len = 0, i;
	ps_strlist errors = PS_STRLIST_INIT;
	int error;

	path = o->mapping ? ps_strdup(o->mapping)
	       : r->cfg.mapping ? config_relative(o->config, r->cfg.mapping)
				: NULL;
	if (!path) {
		fputs("profswitch: no mapping: give --mapping FILE or "
		      "Mapping= in the configuration\n", env->err);
		return EX_USAGE;
	}
	warn_writable(env, &r->log, path, "mapping");
	/* A compiled mapping is told by its magic (8 bytes read). */
	error = ps_mapidx_sniff(env->sys, path);
	if (error > 0) {
		error = load_index(env, path, r);
		free(path);
		return error;
	}
	if (error == 0)
		error = read_input(env, path, MAX_MAPPING_BYTES, &data, &len,
				   "mapping");
	else
		say(env, "cannot read the mapping: %s", ps_error_last());
	if (error < 0) {
		free(path);
		return EX_NOINPUT;
	}
	/* A pinned mapping (MappingSHA256=): a different file is refused
	 * before it is even parsed. */
	if (r->cfg.mapping_sha256) {
		char found[65];

		error = mapping_hash(env, data, len, found);
		if (error == 0)
			error = check_pin(env, r, path, found, "SHA-256")
				? PS_EFORMAT : 0;
		else
			say(env, "%s", ps_error_last());
		if (error < 0) {
			free(data);
			free(path);
			return EX_DATAERR;
		}
	}
	error = ps_mapping_parse(&r->map, path, (const char *)data, len,
				 &errors);
	free(data);
	if (error < 0) {
		for (i = 0; i < errors.n; i++)
			say_raw(env, errors.v[i]);
		if (!errors.n)
			say_raw(env, ps_error_last());
		say(env, "bad mapping %s; nothing was changed.", path);
		ps_strlist_free(&errors);
		free(path);
		return EX_DATAERR;
	}
	ps_log_msg(&r->log, PS_LOG_INFO, NULL, NULL,
		   "mapping %s: %zu mailboxes", path,
		   ps_mapping_count(r->map));
	ps_strlist_free(&errors);
	free(path);
	return 0;
}

/* The log so far, after each profile (ps_engine.after_profile). */
typedef struct log_flusher {
	ps_app_env *env;
	run *r;
} log_flusher;

static void flush_log_cb(void *ctx)
{
	log_flusher *lf = ctx;

	flush_log(lf->env, lf->r);
}

static int cmd_engine(ps_app_env *env, const opts *o)
{
	run r;
	ps_engine e;
	log_flusher lf;
	/* The lock key and the name in messages: the export, or MAPI's
	 * profiles of this user. */
	const char *store_name = o->store ? o->store : PS_APP_MAPI_STORE;
	int is_update = !strcmp(o->command, "update");
	int is_rollback = !strcmp(o->command, "rollback");
	int status = 0, error, nothing = 0, locked = 0;
	long long deadline = 0;

	memset(&r, 0, sizeof(r));
	r.log.sys = env->sys;
	r.log.echo = env->err;
	r.log.echo_level = o->verbose ? PS_LOG_DEBUG
			   : o->quiet ? PS_LOG_ERROR : PS_LOG_WARN;
	if (ps_config_init(&r.cfg) < 0)
		return EX_SOFTWARE;
	/* --log is known at once; LogFile= once the configuration is read
	 * (until then, and without either, the default log). */
	if (o->log)
		r.log.path = ps_expand_path(env->sys, o->log);
	if (o->positional.n) {
		status = usage_error(env, "unexpected argument '%s'",
				     o->positional.v[0]);
		goto done;
	}
	if ((o->dry_run || o->reprocess) && !is_update) {
		status = usage_error(env, "--dry-run and --reprocess go with "
				     "update");
		goto done;
	}
	if (o->all && !is_rollback) {
		status = usage_error(env, "--all goes with rollback");
		goto done;
	}
	if (o->default_profile && o->profiles.n) {
		status = usage_error(env, "--profile and --default-profile "
				     "exclude each other");
		goto done;
	}
	status = load_config(env, o, &r.cfg);
	if (status)
		goto done;
	if (!csv_delim(env, o, &r.cfg)) {
		status = EX_USAGE;
		goto done;
	}
	if (!o->log && r.cfg.log_file) {
		char *expanded = ps_expand_path(env->sys, r.cfg.log_file);

		r.log.path = expanded ? config_relative(o->config, expanded)
				      : NULL;
		free(expanded);
	}
	if (!r.log.path)
		r.log.path = default_log_path(env);
	/* ReportFile= and --report expand as LogFile does. */
	if (o->report || r.cfg.report_file) {
		char *expanded = ps_expand_path(env->sys, o->report ? o->report
						: r.cfg.report_file);

		r.report_path = !expanded || o->report ? expanded
				: config_relative(o->config, expanded);
		if (r.report_path != expanded)
			free(expanded);
		if (!r.report_path) {
			status = EX_SOFTWARE;
			goto done;
		}
		if (!report_kind(r.report_path)) {
			status = usage_error(env, "report '%s': the name must "
					     "end in .csv or .json",
					     r.report_path);
			goto done;
		}
	}
	warn_writable(env, &r.log, o->config, "configuration");
	if (is_update) {
		status = load_mapping(env, o, &r);
		if (status)
			goto done;
	}
	if (!o->store && !env->own_store) {
		status = usage_error(env, "--store PATH is required on this "
				     "platform");
		goto done;
	}
	if (o->running.n && !env->simulate_running) {
		status = usage_error(env, "--simulate-running works only "
				     "with the fake profile store");
		goto done;
	}
	if (o->running.n) {
		error = env->simulate_running(env->ctx, &o->running);
		if (error < 0) {
			status = error == PS_EFORMAT
				? usage_error(env, "%s", ps_error_last())
				: EX_SOFTWARE;
			goto done;
		}
	}
	/* The clock starts now (simulated with --simulate-running). */
	if (r.cfg.global_timeout_seconds)
		deadline = (long long)ps_sys_now(env->sys) +
			   r.cfg.global_timeout_seconds;
	/* One writer per store: wait for another run, then defer. */
	if (!o->dry_run) {
		error = take_lock(env, &r, store_name, deadline);
		if (error == PS_ELOCKED)
			locked = 1;
		else if (error < 0 && error != PS_ENOTFOUND) {
			status = store_error(env, error);
			goto done;
		}
	}
	error = env->open_store(env->ctx, o->store, &r.store);
	if (error < 0) {
		status = store_error(env, error);
		goto done;
	}
	ps_sys_host_name(env->sys, &r.report.host);
	if (ps_store_owner(r.store, &r.report.user) < 0)
		ps_sys_user_name(env->sys, &r.report.user);

	/* Autodiscover: the xml port reads cached answers in every update;
	 * the http port only when the configuration asks the network. */
	if (is_update && env->open_xml && env->open_xml(env->ctx, &r.xml) < 0)
		r.xml = NULL;
	if (is_update && env->open_http && (r.cfg.verify_autodiscover ||
	    r.cfg.same_smtp_domain || r.cfg.repair_poisoned ||
	    r.cfg.require_target_ready)) {
		const char *ca = o->ca_file;
		char *rel = NULL;

		if (!ca && r.cfg.autodiscover_ca_file)
			ca = rel = config_relative(o->config,
						   r.cfg.autodiscover_ca_file);
		error = env->open_http(env->ctx, ca, &r.http);
		free(rel);
		if (error < 0) {
			say(env, "%s", ps_error_last());
			status = error == PS_ENOMEM ? EX_SOFTWARE
						    : EX_NOINPUT;
			goto done;
		}
	}
	memset(&e, 0, sizeof(e));
	e.store = r.store;
	e.http = r.http;
	e.xml = r.xml;
	lf.env = env;
	lf.r = &r;
	e.after_profile = flush_log_cb;
	e.after_ctx = &lf;
	e.sys = env->sys;
	e.cfg = &r.cfg;
	e.map = r.map;
	e.log = &r.log;
	e.report = &r.report;
	e.dry_run = o->dry_run;
	e.reprocess = o->reprocess;
	e.all = o->all;
	e.deadline = deadline;
	ps_log_msg(&r.log, PS_LOG_INFO, NULL, NULL, "profswitch %s %s%s on "
		   "%s", PS_VERSION, o->command, o->dry_run ? " (dry run)"
		   : "", store_name);
	error = ps_engine_profiles(&e, &o->profiles, o->default_profile,
				   &r.selected);
	if (!error && locked)
		error = locked_rows(&e, &r.selected, store_name);
	else if (!error && is_update)
		error = ps_engine_update(&e, &r.selected);
	else if (!error && is_rollback)
		error = ps_engine_rollback(&e, &r.selected, &nothing);
	else if (!error)
		error = ps_engine_cleanup(&e, &r.selected, &nothing);
	if (error < 0) {
		ps_engine_free(&e);
		say(env, "%s", ps_error_last());
		status = error == PS_ENOMEM ? EX_SOFTWARE
			 : ps_mapping_lookup_error(r.map) ? EX_DATAERR
			 : EX_UNAVAILABLE;
		goto done;
	}
	if (!locked && ps_engine_commit(&e) < 0)
		say(env, "cannot write %s: %s", store_name,
		    ps_error_last());
	ps_engine_free(&e);
	if (is_update && !locked)
		say_nothing_to_update(env, &r, store_name);
	if (is_update)
		run_after(env, &r);
	if (nothing)
		fprintf(env->err, "profswitch: nothing to %s in %s\n",
			is_rollback ? "roll back" : "clean up", store_name);
	status = ps_report_exit_bits(&r.report);
	if (!o->quiet)
		ps_report_print(env->out, &r.report);
	/* The log first, so that the report can say where it went.  A
	 * report that cannot be written is an error on stderr and in the
	 * log, but the status still says what happened to the store. */
	flush_log(env, &r);
	/* A report that cannot be written is an error on stderr and in
	 * the log, but the status still says what happened to the store. */
	if (r.report_path && !r.report.time &&
	    (r.report.time = malloc(21)) != NULL)
		ps_format_time((long long)ps_sys_now(env->sys), r.report.time);
	if (r.report_path)
		write_report(env, &r, csv_delim(env, o, &r.cfg));
done:
	/* RunAfter starts whatever the outcome, once the settings are
	 * known (docs/guards.md). */
	if (is_update && status >= 64 && r.cfg.run_after)
		run_after(env, &r);
	if (!r.log.path)
		r.log.path = default_log_path(env);
	log_exit(env, &r.log, o->command, status);
	flush_log(env, &r);
	if (r.lock)
		ps_sys_unlock(env->sys, r.lock);
	run_free(&r);
	return status;
}

/* ---- rehearse (docs/rehearsal.md) -------------------------------------- */

typedef struct rehearsal {
	ps_app_env *env;
	const opts *o;
	const ps_config *cfg;
	const ps_mapping *map;
	/* A compiled mapping caches the pages it reads, so each worker has
	 * its own handle (maps[w]); a text mapping is shared read-only. */
	ps_mapping **maps;
	unsigned nmaps;
	ps_fleet *fleet;
	int progress;           /* show progress on env->err */
	int keep_log;           /* --log: keep each input's log lines */
} rehearsal;

/* The user an input belongs to when its store cannot say: the file name
 * without extension, or the folder of an NTUSER.DAT (as the fake store
 * names its owner). */
static char *input_user(const char *path)
{
	const char *end = path + strlen(path), *base, *dot;

	while (end > path && end[-1] == '/')
		end--;
	base = end;
	while (base > path && base[-1] != '/' && base[-1] != '\\')
		base--;
	if ((size_t)(end - base) == 10 && !ps_strncasecmp(base, "NTUSER.DAT",
							   10) && base > path) {
		end = base - 1;
		base = end;
		while (base > path && base[-1] != '/' && base[-1] != '\\')
			base--;
		return ps_strndup(base, (size_t)(end - base));
	}
	for (dot = end; dot > base && *dot != '.'; dot--)
		;
	return ps_strndup(base, (size_t)((dot > base ? dot : end) - base));
}

/* msg without its leading "INPUT: " (a row names its input already). */
static const char *strip_input(const char *msg, const char *input)
{
	size_t n = strlen(input);

	if (!strncmp(msg, input, n) && msg[n] == ':')
		return msg + n + 1 + (msg[n + 1] == ' ');
	return msg;
}

/* Appends "; PREFIXTEXT" to a row's detail (unchanged when out of
 * memory). */
static void append_detail(ps_row *r, const char *prefix, const char *text)
{
	ps_buf d = PS_BUF_INIT;

	if (r->detail && *r->detail)
		ps_buf_printf(&d, "%s; ", r->detail);
	ps_buf_printf(&d, "%s%s", prefix, text);
	if (!ps_buf_check(&d)) {
		free(r->detail);
		r->detail = ps_buf_detach(&d);
	}
	ps_buf_free(&d);
}

/* A row for an input that could not be rehearsed at all. */
static void unusable(ps_fleet_item *it, const char *why, const char *msg)
{
	size_t n = strlen(it->input);
	char detail[1400];

	/* The message usually starts with the file name: the row names
	 * the input already. */
	const char *line = "";

	if (!strncmp(msg, it->input, n) && msg[n] == ':') {
		msg += n + 1 + (msg[n + 1] == ' ');
		/* "FILE:LINE: reason" */
		if (msg[0] >= '0' && msg[0] <= '9')
			line = "line ";
	}
	snprintf(detail, sizeof(detail), "%s%s%s%s", why, *msg ? ": " : "",
		 line, msg);
	it->unusable = 1;
	if (!it->report.user)
		it->report.user = input_user(it->input);
	ps_report_add(&it->report, NULL, NULL, NULL, NULL, PS_ST_FAILED,
		      detail);
}

static const char *input_error(int error)
{
	switch (error) {
	case PS_ENOTFOUND:
	case PS_EIO:
		return "unreadable input";
	case PS_ELIMIT:
		return "input too large";
	case PS_EFORMAT:
		return "not a valid export or hive";
	default:
		return "cannot open this input";
	}
}

/* One input: the engine in dry-run mode over its own store. */
static void rehearse_one(void *arg, unsigned worker, size_t i)
{
	rehearsal *rh = arg;
	ps_fleet_item *it = &rh->fleet->v[i];
	ps_store *store = NULL;
	ps_system *sys = NULL;
	ps_strlist selected = PS_STRLIST_INIT, all = PS_STRLIST_INIT;
	ps_log log;
	ps_engine e;
	char *warning = NULL;
	size_t j;
	int error;

	if (it->unusable)
		return;
	it->report.host = rh->fleet->host ? ps_strdup(rh->fleet->host) : NULL;
	error = rh->env->open_rehearsal(rh->env->ctx, it->input, &store, &sys,
					&warning);
	if (error < 0) {
		unusable(it, input_error(error), ps_error_last());
		return;
	}
	if (ps_store_owner(store, &it->report.user) < 0)
		it->report.user = NULL;
	memset(&log, 0, sizeof(log));
	log.sys = sys;
	/* Keep the lines only for --log: formatting them is a third of
	 * the engine's time per user. */
	log.path = rh->keep_log ? ps_strdup("(rehearsal)") : NULL;
	memset(&e, 0, sizeof(e));
	e.store = store;
	e.sys = sys;
	e.cfg = rh->cfg;
	e.map = worker < rh->nmaps && rh->maps[worker] ? rh->maps[worker]
						       : rh->map;
	e.log = &log;
	e.report = &it->report;
	e.dry_run = 1;
	e.rehearsal = 1;
	e.reprocess = rh->o->reprocess;
	error = ps_engine_profiles(&e, &rh->o->profiles,
				   rh->o->default_profile, &selected);
	if (!error && !selected.n) {
		error = ps_store_list_profiles(store, &all);
		if (!error)
			ps_report_add(&it->report, NULL, NULL, NULL, NULL,
				      PS_ST_NOT_MIGRATED, all.n
				      ? "none of the selected profiles is "
					"in this input"
				      : "no Outlook profile in this input");
	} else if (!error) {
		error = ps_engine_update(&e, &selected);
		/* Every user is a row: one with only PSTs, say. */
		if (!error && !it->report.n)
			ps_report_add(&it->report, NULL, NULL, NULL, NULL,
				      PS_ST_NOT_MIGRATED, "no Exchange account "
				      "in the selected profiles");
	}
	if (error < 0)
		unusable(it, "cannot rehearse", ps_error_last());
	/* Read with a warning (a hive not cleanly unloaded): every row of
	 * the input says so, since the day's update would refuse it. */
	if (warning) {
		ps_log_msg(&log, PS_LOG_WARN, NULL, NULL, "%s", warning);
		for (j = 0; j < it->report.n; j++)
			append_detail(&it->report.v[j], "warning: ",
				      strip_input(warning, it->input));
	}
	ps_engine_free(&e);
	it->log = log.lines;
	memset(&log.lines, 0, sizeof(log.lines));
	ps_log_free(&log);
	ps_strlist_free(&selected);
	ps_strlist_free(&all);
	ps_store_free(store);
	ps_sys_free(sys);
	free(warning);
}

static void format_eta(double secs, char *out, size_t size)
{
	long s = (long)(secs + 0.5);

	if (s >= 3600)
		snprintf(out, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(out, size, "%lds", s);
}

static void rehearse_progress(void *arg, size_t done, size_t n,
			      double seconds)
{
	rehearsal *rh = arg;
	double rate = seconds > 0 ? (double)done / seconds : 0;
	char eta[32] = "?";

	rh->fleet->seconds = seconds;
	if (!rh->progress)
		return;
	if (rate > 0)
		format_eta((double)(n - done) / rate, eta, sizeof(eta));
	fprintf(rh->env->err, "\r%zu/%zu inputs  %.0f/s  ETA %s   ", done, n,
		rate, eta);
	if (done == n)
		fputc('\n', rh->env->err);
	fflush(rh->env->err);
}

static int fleet_kind(const char *path)
{
	size_t n = strlen(path);

	if (n >= 5 && !ps_strcasecmp(path + n - 5, ".html"))
		return 3;
	return report_kind(path);
}

typedef struct found_input {
	const char *path;
	const char *why;       /* NULL: an input; else it cannot be used */
	const char *msg;
} found_input;

static int found_cmp(const void *a, const void *b)
{
	return strcmp(((const found_input *)a)->path,
		      ((const found_input *)b)->path);
}

static int add_item(ps_fleet *f, size_t *cap, const found_input *in)
{
	ps_fleet_item *it;

	if (f->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		ps_fleet_item *v = realloc(f->v, nc * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		f->v = v;
		*cap = nc;
	}
	it = &f->v[f->n];
	memset(it, 0, sizeof(*it));
	it->input = ps_strdup(in->path);
	if (!it->input)
		return PS_ENOMEM;
	f->n++;
	if (in->why) {
		it->report.host = f->host ? ps_strdup(f->host) : NULL;
		unusable(it, in->why, in->msg ? in->msg : "");
	}
	return 0;
}

/* Inputs: every file each argument names, in argument order, and in path
 * order within a folder; what a folder walk could not read is a row. */
static int rehearse_inputs(ps_app_env *env, const opts *o, ps_fleet *f)
{
	size_t i, j, cap = 0;
	int error = 0;

	for (i = 0; i < o->positional.n && !error; i++) {
		const char *arg = o->positional.v[i];
		ps_strlist found = PS_STRLIST_INIT, bad = PS_STRLIST_INIT;
		found_input *all = NULL, one;
		size_t n = 0;
		char msg[512] = "";

		memset(&one, 0, sizeof(one));
		one.path = arg;
		error = env->list_stores(env->ctx, arg, &found, &bad);
		if (error == PS_ENOTFOUND || error == PS_EIO) {
			snprintf(msg, sizeof(msg), "%s", ps_error_last());
			one.why = "unreadable input";
			one.msg = msg;
			error = add_item(f, &cap, &one);
		} else if (error == PS_ELIMIT) {
			say(env, "%s: split the rehearsal",
			    ps_error_last());
			error = PS_EFORMAT;
		} else if (!error && !found.n && !bad.n) {
			one.why = "no .reg export or NTUSER.DAT in this folder";
			error = add_item(f, &cap, &one);
		} else if (!error) {
			all = calloc(found.n + bad.n / 2, sizeof(*all));
			if (!all)
				error = ps_error_setc(PS_ENOMEM,
						      "out of memory");
			for (j = 0; all && j < found.n; j++)
				all[n++].path = found.v[j];
			for (j = 0; all && j + 1 < bad.n; j += 2) {
				all[n].path = bad.v[j];
				all[n].why = "unreadable input";
				all[n++].msg = bad.v[j + 1];
			}
			if (all)
				qsort(all, n, sizeof(*all), found_cmp);
			for (j = 0; all && j < n && !error; j++)
				error = add_item(f, &cap, &all[j]);
		}
		free(all);
		ps_strlist_free(&found);
		ps_strlist_free(&bad);
	}
	return error;
}

static int write_fleet(ps_app_env *env, const char *path, const ps_fleet *f,
		       const ps_fleet_summary *s, unsigned mode)
{
	ps_buf b = PS_BUF_INIT;
	int kind = fleet_kind(path), error;

	error = kind == 3 ? ps_fleet_html(f, s, &b)
		: kind == 2 ? ps_fleet_json(f, s, &b) : ps_fleet_csv(f, &b);
	if (!error)
		error = ps_sys_write_file_mode(env->sys, path, b.ptr, b.len,
					       mode);
	if (error < 0)
		say(env, "cannot write the report %s: %s", path,
		    ps_error_last());
	ps_buf_free(&b);
	return error;
}

static void rehearse_log(ps_app_env *env, run *r, const ps_fleet *f,
			 int per_input)
{
	size_t i;

	for (i = 0; i < f->n && per_input; i++) {
		const ps_fleet_item *it = &f->v[i];

		ps_log_msg(&r->log, PS_LOG_INFO, NULL, NULL, "input %s (user "
			   "%s): %zu rows", it->input, it->report.user
			   ? it->report.user : "?", it->report.n);
		if (it->log.len && r->log.path)
			ps_buf_put(&r->log.lines, it->log.ptr, it->log.len);
	}
	flush_log(env, r);
}

/* Workers 1.. of a rehearsal over a compiled mapping get their own
 * handle on the same (already checked and pinned) index. */
static int worker_maps(ps_app_env *env, const opts *o, run *r, rehearsal *rh,
		       unsigned workers)
{
	char *path;
	unsigned w;
	int error = 0;

	/* What was loaded decides, never the file as it is now: a text
	 * mapping is shared, a compiled one never is. */
	if (workers < 2 || !ps_mapping_index(r->map))
		return 0;
	path = o->mapping ? ps_strdup(o->mapping)
			  : config_relative(o->config, r->cfg.mapping);
	if (!path)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	rh->maps = calloc(workers, sizeof(*rh->maps));
	if (!rh->maps) {
		free(path);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	rh->nmaps = workers;
	for (w = 1; w < workers && !error; w++) {
		ps_mapidx *ix = NULL;

		error = ps_mapidx_open(&ix, env->sys, path);
		if (!error && memcmp(ps_mapidx_get_info(ix)->root,
				     ps_mapidx_get_info(ps_mapping_index(
					     r->map))->root, 32))
			error = ps_error_setc(PS_EFORMAT, "%s: changed during "
					      "the rehearsal", path);
		if (!error)
			error = ps_mapping_from_index(&rh->maps[w], ix);
		else
			ps_mapidx_free(ix);
	}
	free(path);
	return error;
}

static int cmd_rehearse(ps_app_env *env, const opts *o)
{
	run r;
	ps_fleet f;
	ps_fleet_summary s;
	rehearsal rh;
	ps_buf text = PS_BUF_INIT;
	unsigned workers;
	size_t i;
	int status = 0, error;

	memset(&r, 0, sizeof(r));
	memset(&f, 0, sizeof(f));
	memset(&s, 0, sizeof(s));
	memset(&rh, 0, sizeof(rh));
	r.log.sys = env->sys;
	r.log.echo = env->err;
	r.log.echo_level = o->verbose ? PS_LOG_DEBUG
			   : o->quiet ? PS_LOG_ERROR : PS_LOG_WARN;
	if (!env->list_stores || !env->open_rehearsal)
		return usage_error(env, "rehearse works on exported profiles "
				   "(the Linux build)");
	if (!o->positional.n)
		return usage_error(env, "rehearse needs at least one STORE "
				   "(a .reg export, an NTUSER.DAT hive or a "
				   "folder of them)");
	if (o->store || o->running.n || o->all || o->dry_run)
		return usage_error(env, "rehearse takes its stores as "
				   "arguments and is always a dry run "
				   "(no --store, --simulate-running, --all "
				   "or --dry-run)");
	if (o->default_profile && o->profiles.n)
		return usage_error(env, "--profile and --default-profile "
				   "exclude each other");
	for (i = 0; i < o->reports.n; i++)
		if (!fleet_kind(o->reports.v[i]))
			return usage_error(env, "report '%s': the name must "
					   "end in .csv, .json or .html",
					   o->reports.v[i]);
	workers = env->cpu_count ? env->cpu_count(env->ctx) : 1;
	if (o->jobs) {
		char *end;
		long n = strtol(o->jobs, &end, 10);

		if (*end || end == o->jobs || n < 1 || n > 256)
			return usage_error(env, "--jobs '%s': expected 1 to "
					   "256", o->jobs);
		workers = (unsigned)n;
	}
	if (!env->parallel || !workers)
		workers = 1;
	if (ps_config_init(&r.cfg) < 0)
		return EX_SOFTWARE;
	/* Only --log: LogFile is the logon log on a share.  Without --log,
	 * the default log gets the summary lines. */
	r.log.path = o->log ? ps_expand_path(env->sys, o->log)
			    : default_log_path(env);
	status = load_config(env, o, &r.cfg);
	if (status)
		goto done;
	f.csv_delim = csv_delim(env, o, &r.cfg);
	if (!f.csv_delim) {
		status = EX_USAGE;
		goto done;
	}
	status = load_mapping(env, o, &r);
	if (status)
		goto done;
	ps_sys_host_name(env->sys, &f.host);
	f.mapping = ps_strdup(o->mapping ? o->mapping : r.cfg.mapping ?
			      r.cfg.mapping : "");
	ps_format_time((long long)ps_sys_now(env->sys), f.started);
	error = rehearse_inputs(env, o, &f);
	if (error == PS_EFORMAT) {
		status = EX_USAGE;
		goto done;
	}
	if (error < 0) {
		say(env, "%s", ps_error_last());
		status = EX_SOFTWARE;
		goto done;
	}
	if (workers > f.n)
		workers = f.n ? (unsigned)f.n : 1;
	f.workers = workers;
	ps_log_msg(&r.log, PS_LOG_INFO, NULL, NULL, "profswitch %s rehearse: "
		   "%zu inputs, %u workers", PS_VERSION, f.n, workers);
	rh.env = env;
	rh.o = o;
	rh.cfg = &r.cfg;
	rh.map = r.map;
	error = worker_maps(env, o, &r, &rh, workers);
	if (error < 0) {
		say(env, "%s", ps_error_last());
		status = error == PS_ENOMEM ? EX_SOFTWARE : EX_DATAERR;
		goto done;
	}
	rh.fleet = &f;
	rh.keep_log = o->log != NULL;
	rh.progress = !o->quiet && env->is_terminal &&
		      env->is_terminal(env->ctx, env->err);
	if (env->parallel) {
		error = env->parallel(env->ctx, f.n, workers, rehearse_one,
				      rehearse_progress, &rh);
	} else {
		for (i = 0; i < f.n; i++)
			rehearse_one(&rh, 0, i);
		error = 0;
	}
	if (error < 0) {
		say(env, "%s", ps_error_last());
		status = EX_SOFTWARE;
		goto done;
	}
	for (i = 0; i <= rh.nmaps; i++) {
		const ps_mapping *m = i < rh.nmaps && rh.maps[i] ? rh.maps[i]
								: r.map;
		const char *why = ps_mapping_lookup_error(m);

		if (why) {
			say(env, "%s", why);
			say(env, "the compiled mapping failed during the "
			    "rehearsal; no report was written.");
			status = EX_DATAERR;
			goto done;
		}
	}
	if (ps_fleet_summarize(&f, &s) < 0) {
		say(env, "%s", ps_error_last());
		status = EX_SOFTWARE;
		goto done;
	}
	status = s.exit_bits;
	rehearse_log(env, &r, &f, o->log != NULL);
	for (i = 0; i < o->reports.n; i++)
		if (write_fleet(env, o->reports.v[i], &f, &s,
				r.cfg.report_mode) < 0)
			status = EX_NOINPUT;   /* asked for, not written */
	if (!o->quiet && ps_fleet_text(&f, &s, &text) == 0)
		fwrite(text.ptr, 1, text.len, env->out);
	for (i = 0; i < o->reports.n && !o->quiet; i++)
		fprintf(env->out, "report: %s\n", o->reports.v[i]);
done:
	for (i = 0; i < rh.nmaps; i++)
		ps_mapping_free(rh.maps[i]);
	free(rh.maps);
	if (!r.log.path)
		r.log.path = default_log_path(env);
	log_exit(env, &r.log, o->command, status);
	flush_log(env, &r);
	ps_buf_free(&text);
	ps_fleet_summary_free(&s);
	ps_fleet_free(&f);
	run_free(&r);
	return status;
}

/* ---- fleet: the reports of the logon runs (docs/rehearsal.md) ---------- */

typedef struct collecting {
	ps_app_env *env;
	const ps_strlist *paths;
	const int64_t *mtimes;
	ps_fleet *parts;        /* what each file held */
	ps_fleet *fleet;        /* for the progress line's time */
	int progress;
} collecting;

static const char *report_error(int error)
{
	switch (error) {
	case PS_ENOTFOUND:
	case PS_EIO:
		return "unreadable report";
	case PS_ELIMIT:
		return "report too large";
	default:
		return "not a profswitch report";
	}
}

/* One report file: read and parsed into parts[i]; a file that cannot be
 * used is a row that says why. */
static void collect_one(void *arg, unsigned worker, size_t i)
{
	collecting *c = arg;
	const char *path = c->paths->v[i];
	ps_fleet *part = &c->parts[i];
	uint8_t *data = NULL;
	size_t len = 0, j;
	int error;

	(void)worker;
	part->collected = 1;
	error = ps_sys_read_file(c->env->sys, path, PS_COLLECT_MAX_BYTES,
				 &data, &len);
	if (!error)
		error = ps_collect_parse(path, data, len, part);
	free(data);
	if (error < 0) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", ps_error_last());
		ps_collect_unusable(part, path, report_error(error), msg);
	}
	/* A fleet report (rows with their own input) is no logon run:
	 * its runs would count twice, and its time is not theirs. */
	for (j = 0; !error && j < part->n; j++)
		if (strcmp(part->v[j].input, path))
			break;
	if (!error && j < part->n) {
		ps_fleet_free(part);
		part->collected = 1;
		ps_collect_unusable(part, path, "not a logon run's report",
				    "a fleet report of rehearse or fleet");
	}
	for (j = 0; j < part->n; j++)
		if (!part->v[j].when)
			part->v[j].when = c->mtimes ? c->mtimes[i] : 0;
}

static void collect_progress(void *arg, size_t done, size_t n,
			     double seconds)
{
	collecting *c = arg;
	double rate = seconds > 0 ? (double)done / seconds : 0;
	char eta[32] = "?";

	c->fleet->seconds = seconds;
	if (!c->progress)
		return;
	if (rate > 0)
		format_eta((double)(n - done) / rate, eta, sizeof(eta));
	fprintf(c->env->err, "\r%zu/%zu reports  %.0f/s  ETA %s   ", done, n,
		rate, eta);
	if (done == n)
		fputc('\n', c->env->err);
	fflush(c->env->err);
}

/* Every report file the arguments name, with its modification time;
 * what cannot be listed is an unusable item of f. */
static int fleet_files(ps_app_env *env, const opts *o, ps_fleet *f,
		       ps_strlist *paths, int64_t **mtimes)
{
	size_t i, j, cap = 0;
	int error = 0;

	*mtimes = NULL;
	for (i = 0; i < o->positional.n && !error; i++) {
		const char *arg = o->positional.v[i];
		ps_strlist found = PS_STRLIST_INIT, bad = PS_STRLIST_INIT;
		int64_t *t = NULL;

		error = env->list_reports(env->ctx, arg, &found, &t, &bad);
		if (error == PS_ENOTFOUND || error == PS_EIO) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", ps_error_last());
			error = ps_collect_unusable(f, arg, "unreadable "
						    "folder", msg);
		} else if (error == PS_ELIMIT) {
			fprintf(env->err, "profswitch: %s: split the "
				"collection\n", ps_error_last());
			error = PS_EFORMAT;
		} else if (!error && !found.n && !bad.n) {
			error = ps_collect_unusable(f, arg, "no .csv or .json "
						    "report in this folder",
						    "");
		}
		for (j = 0; !error && j + 1 < bad.n; j += 2)
			error = ps_collect_unusable(f, bad.v[j], "unreadable "
						    "report", bad.v[j + 1]);
		if (!error && found.n && paths->n + found.n > cap) {
			size_t nc = (paths->n + found.n) * 2;
			int64_t *v = realloc(*mtimes, nc * sizeof(*v));

			if (!v)
				error = ps_error_setc(PS_ENOMEM,
						      "out of memory");
			else
				*mtimes = v;
			cap = nc;
		}
		for (j = 0; !error && j < found.n; j++) {
			/* Not this run's own reports, written there before. */
			if (ps_strlist_contains_nocase(&o->reports,
						       found.v[j]))
				continue;
			(*mtimes)[paths->n] = t ? t[j] : 0;
			error = ps_strlist_add(paths, found.v[j]);
		}
		free(t);
		ps_strlist_free(&found);
		ps_strlist_free(&bad);
	}
	return error;
}

/* Moves the items of part to the end of f. */
static int take_items(ps_fleet *f, size_t *cap, ps_fleet *part)
{
	if (f->n + part->n > *cap) {
		size_t nc = (f->n + part->n) * 2;
		ps_fleet_item *v = realloc(f->v, nc * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		f->v = v;
		*cap = nc;
	}
	if (part->n)
		memcpy(f->v + f->n, part->v, part->n * sizeof(*part->v));
	f->n += part->n;
	part->n = 0;
	return 0;
}

/* --rehearsal FILE: the fleet report rehearse wrote (CSV or JSON). */
static int load_rehearsal(ps_app_env *env, const char *path, ps_fleet *r)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int error;

	error = read_input(env, path, PS_COLLECT_MAX_BYTES, &data, &len,
			   "rehearsal report");
	if (error < 0)
		return EX_NOINPUT;
	error = ps_collect_parse(path, data, len, r);
	free(data);
	if (error < 0) {
		say(env, "%s", ps_error_last());
		say(env, "the rehearsal report cannot be read; nothing was "
		    "written.");
		return error == PS_ENOMEM ? EX_SOFTWARE : EX_NOINPUT;
	}
	return 0;
}

static int cmd_fleet(ps_app_env *env, const opts *o)
{
	ps_fleet f, reh;
	ps_fleet_summary s;
	ps_strlist paths = PS_STRLIST_INIT;
	int64_t *mtimes = NULL;
	collecting c;
	ps_buf text = PS_BUF_INIT;
	size_t i, cap;
	unsigned workers, mode;
	int status = 0, error;

	memset(&f, 0, sizeof(f));
	memset(&reh, 0, sizeof(reh));
	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	if (!env->list_reports)
		return usage_error(env, "fleet is not available on this "
				   "platform");
	if (!o->positional.n)
		return usage_error(env, "fleet needs at least one folder or "
				   "file of reports (.csv or .json)");
	if (!o->reports.n)
		return usage_error(env, "fleet needs --report FILE (.html, "
				   ".csv or .json; repeatable)");
	if (o->store || o->mapping || o->running.n || o->all ||
	    o->dry_run || o->reprocess || o->profiles.n ||
	    o->default_profile || o->jobs)
		return usage_error(env, "fleet reads reports only: it takes "
				   "folders or files, --report, --rehearsal, "
				   "--csv-delimiter, --config, -q");
	for (i = 0; i < o->reports.n; i++)
		if (!fleet_kind(o->reports.v[i]))
			return usage_error(env, "report '%s': the name must "
					   "end in .csv, .json or .html",
					   o->reports.v[i]);
	if (o->rehearsal && !report_kind(o->rehearsal))
		return usage_error(env, "--rehearsal '%s': the rehearsal's "
				   ".csv or .json report", o->rehearsal);
	{
		ps_config cfg;

		if (ps_config_init(&cfg) < 0)
			return EX_SOFTWARE;
		status = load_config(env, o, &cfg);
		f.csv_delim = status ? ',' : csv_delim(env, o, &cfg);
		mode = cfg.report_mode;
		ps_config_free(&cfg);
		if (status)
			return status;
		if (!f.csv_delim)
			return EX_USAGE;
	}
	f.collected = 1;
	f.rehearsal = o->rehearsal;
	ps_sys_host_name(env->sys, &f.host);
	ps_format_time((long long)ps_sys_now(env->sys), f.started);
	if (o->rehearsal) {
		status = load_rehearsal(env, o->rehearsal, &reh);
		if (status)
			goto done;
	}
	error = fleet_files(env, o, &f, &paths, &mtimes);
	if (error == PS_EFORMAT) {
		status = EX_USAGE;
		goto done;
	}
	if (error < 0)
		goto fail;
	f.reports = paths.n;
	if (paths.n) {
		c.parts = calloc(paths.n, sizeof(*c.parts));
		if (!c.parts) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			goto fail;
		}
	}
	c.env = env;
	c.paths = &paths;
	c.mtimes = mtimes;
	c.fleet = &f;
	c.progress = !o->quiet && env->is_terminal &&
		     env->is_terminal(env->ctx, env->err);
	workers = env->cpu_count ? env->cpu_count(env->ctx) : 1;
	if (workers > 8)
		workers = 8;    /* a share's bandwidth, not the CPUs */
	if (env->parallel && paths.n) {
		error = env->parallel(env->ctx, paths.n, workers ? workers : 1,
				      collect_one, collect_progress, &c);
		if (error < 0)
			goto fail;
	} else {
		int64_t t0 = ps_sys_now(env->sys), last = t0;

		for (i = 0; i < paths.n; i++) {
			int64_t now;

			collect_one(&c, 0, i);
			now = ps_sys_now(env->sys);
			if (now != last || i + 1 == paths.n) {
				collect_progress(&c, i + 1, paths.n,
						 (double)(now - t0));
				last = now;
			}
		}
	}
	cap = f.n;
	for (i = 0; i < paths.n; i++) {
		error = take_items(&f, &cap, &c.parts[i]);
		if (error < 0)
			goto fail;
		ps_fleet_free(&c.parts[i]);
	}
	error = ps_collect_latest(&f);
	if (!error && o->rehearsal)
		error = ps_collect_diff(&f, &reh);
	/* The differences are copies: the rehearsal's rows are not needed
	 * while the reports are written. */
	ps_fleet_free(&reh);
	if (!error)
		error = ps_fleet_summarize(&f, &s);
	if (error < 0)
		goto fail;
	status = s.exit_bits;
	for (i = 0; i < o->reports.n; i++)
		if (write_fleet(env, o->reports.v[i], &f, &s, mode) < 0)
			status = EX_NOINPUT;   /* asked for, not written */
	if (!o->quiet && ps_fleet_text(&f, &s, &text) == 0)
		fwrite(text.ptr, 1, text.len, env->out);
	for (i = 0; i < o->reports.n && !o->quiet; i++)
		fprintf(env->out, "report: %s\n", o->reports.v[i]);
	goto done;
fail:
	say(env, "%s", ps_error_last());
	status = EX_SOFTWARE;
done:
	for (i = 0; c.parts && i < paths.n; i++)
		ps_fleet_free(&c.parts[i]);
	free(c.parts);
	free(mtimes);
	ps_strlist_free(&paths);
	ps_buf_free(&text);
	ps_fleet_summary_free(&s);
	ps_fleet_free(&reh);
	f.rehearsal = NULL;
	ps_fleet_free(&f);
	return status;
}

/* ---- inspect ------------------------------------------------------------ */

static void show_string(ps_app_env *env, const ps_proplist *l, uint16_t id,
			const char *label)
{
	size_t i;
	char *v;

	for (i = 0; i < l->n; i++) {
		if (PS_PROP_ID(l->v[i].tag) != id ||
		    !PS_PROP_IS_STRING(l->v[i].tag))
			continue;
		if (ps_prop_string(&l->v[i], &v) < 0)
			continue;
		ps_print_line(env->out, "      %-20s %s", label, v);
		free(v);
		return;
	}
}

/* The first string prop with this id as UTF-8, else NULL.  Caller
 * frees. */
static char *string_prop(const ps_proplist *l, uint16_t id)
{
	size_t i;
	char *v;

	for (i = 0; i < l->n; i++)
		if (PS_PROP_ID(l->v[i].tag) == id &&
		    PS_PROP_IS_STRING(l->v[i].tag) &&
		    ps_prop_string(&l->v[i], &v) == 0)
			return v;
	return NULL;
}

static int is_hex_run(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

/* 1 when dn is `mailbox` + "/guid=" + a GUID (8-4-4-4-12 hex digits),
 * case-insensitively: a delegate provider naming that is the account's
 * Online Archive, not an additional mailbox (docs/update-rules.md). */
static int is_archive_dn(const char *dn, const char *mailbox)
{
	size_t n = mailbox ? strlen(mailbox) : 0;
	const char *g;

	if (!n || strlen(dn) != n + 6 + 36 || ps_strncasecmp(dn, mailbox, n) ||
	    ps_strncasecmp(dn + n, "/guid=", 6))
		return 0;
	g = dn + n + 6;
	return is_hex_run(g, 8) && g[8] == '-' && is_hex_run(g + 9, 4) &&
	       g[13] == '-' && is_hex_run(g + 14, 4) && g[18] == '-' &&
	       is_hex_run(g + 19, 4) && g[23] == '-' &&
	       is_hex_run(g + 24, 12);
}

/* The OST's size when the system port reaches the file (a path on a
 * drive), else "unknown" and why. */
static void show_ost_size(ps_app_env *env, const ps_proplist *em)
{
	char *path = string_prop(em, PS_ID_PROFILE_OFFLINE_STORE_PATH);
	char size[32];
	uint64_t n = 0;
	int c;

	if (!path)
		return;
	c = path[0] | 0x20;
	if (!(c >= 'a' && c <= 'z' && path[1] == ':' && path[2] == '\\'))
		ps_print_line(env->out, "      %-20s unknown (not a path on a "
			      "drive)", "OST size");
	else if (ps_sys_file_size(env->sys, path, &n) < 0)
		ps_print_line(env->out, "      %-20s unknown (%s)", "OST size",
			      ps_error_last());
	else if (n < 1024) {
		ps_print_line(env->out, "      %-20s %llu bytes", "OST size",
			      (unsigned long long)n);
	} else {
		ps_fleet_bytes(n, size, sizeof(size));
		ps_print_line(env->out, "      %-20s %llu bytes (%s)",
			      "OST size", (unsigned long long)n, size);
	}
	free(path);
}

static void inspect_profile(ps_app_env *env, ps_store *s, const char *name,
			    int is_default)
{
	ps_service *svcs = NULL;
	ps_generation *gens = NULL;
	size_t nsvc = 0, ngen = 0, i, j;
	char hex[33];

	ps_print_line(env->out, "profile %s%s", name,
		is_default ? " (default)" : "");
	if (ps_store_list_services(s, name, &svcs, &nsvc) < 0) {
		ps_print_line(env->out, "  cannot list services: %s",
			ps_error_last());
		return;
	}
	for (i = 0; i < nsvc; i++) {
		ps_proplist svc = PS_PROPLIST_INIT, em = PS_PROPLIST_INIT;
		ps_prop *p;
		char *mailbox = NULL;

		ps_uid_format(&svcs[i].uid, hex);
		ps_print_line(env->out, "  service %s  %s  \"%s\"", hex,
			svcs[i].service_name, svcs[i].display_name);
		if (ps_strcasecmp(svcs[i].service_name, "MSEMS") ||
		    ps_store_read_section(s, name, &svcs[i].uid, &svc) < 0)
			goto next;
		p = ps_proplist_get(&svc, PS_PR_EMSMDB_SECTION_UID);
		if (p && p->len == 16) {
			ps_uid uid;

			memcpy(uid.b, p->data, 16);
			if (ps_store_read_section(s, name, &uid, &em) == 0) {
				uint32_t flags = 0;
				ps_prop *f = ps_proplist_get(&em,
					PS_PR_PROFILE_CONFIG_FLAGS);

				mailbox = string_prop(&em, PS_ID_PROFILE_USER);
				show_string(env, &em, PS_ID_PROFILE_USER,
					    "mailbox DN");
				show_string(env, &em, PS_ID_PROFILE_SMTP,
					    "SMTP");
				show_string(env, &em,
					    PS_ID_PROFILE_HOME_SERVER,
					    "home server");
				show_string(env, &em,
					    PS_ID_PROFILE_HOME_SERVER_FQDN,
					    "server FQDN");
				show_string(env, &em,
					    PS_ID_PROFILE_OFFLINE_STORE_PATH,
					    "OST");
				show_ost_size(env, &em);
				if (f && ps_prop_long(f, &flags) == 0)
					ps_print_line(env->out,
						"      %-20s %s", "cached mode",
						(flags & 0x180u) == 0x180u
						? "on" : "off");
			}
		}
		p = ps_proplist_get(&svc, PS_PR_STORE_PROVIDERS);
		for (j = 0; p && j + 16 <= p->len; j += 16) {
			ps_proplist pv = PS_PROPLIST_INIT;
			ps_prop *t;
			ps_uid uid;
			uint32_t type = 0;

			memcpy(uid.b, p->data + j, 16);
			if (ps_store_read_section(s, name, &uid, &pv) < 0)
				continue;
			t = ps_proplist_get(&pv, PS_PR_PROFILE_TYPE);
			if (t && ps_prop_long(t, &type) == 0 &&
			    type == PS_PROFILE_TYPE_DELEGATE) {
				char *dn = string_prop(&pv,
						       PS_ID_PROFILE_MAILBOX);

				if (dn)
					ps_print_line(env->out,
						"      %-20s %s",
						is_archive_dn(dn, mailbox)
						? "archive"
						: "additional mailbox", dn);
				free(dn);
			}
			ps_proplist_free(&pv);
		}
next:
		free(mailbox);
		ps_proplist_free(&svc);
		ps_proplist_free(&em);
	}
	ps_services_free(svcs, nsvc);
	if (ps_backup_list(s, name, &gens, &ngen) < 0) {
		ps_print_line(env->out, "  backup: %s", ps_error_last());
		return;
	}
	for (i = 0; i < ngen; i++) {
		ps_print_line(env->out, "  backup generation %02x (%s): %zu "
			"sections", gens[i].number,
			gens[i].state == PS_GEN_PENDING ? "pending"
							: "committed",
			gens[i].nsecs);
		for (j = 0; j < gens[i].nunits; j++)
			ps_print_line(env->out, "      %s: %s -> %s",
				gens[i].units[j].account,
				gens[i].units[j].source_dn,
				gens[i].units[j].target_dn);
	}
	ps_gens_free(gens, ngen);
}

/* inspect --config/--mapping: what the update does with each OST, and
 * the size Outlook would download again. */
static int inspect_ost(ps_app_env *env, const opts *o, ps_store *s,
		       const ps_strlist *profiles)
{
	run r;
	ps_plan_opts po;
	size_t i, j;
	int status;

	memset(&r, 0, sizeof(r));
	r.log.sys = env->sys;
	if (ps_config_init(&r.cfg) < 0)
		return EX_SOFTWARE;
	status = load_config(env, o, &r.cfg);
	if (!status)
		status = load_mapping(env, o, &r);
	for (i = 0; !status && i < profiles->n; i++) {
		ps_pplan plan;

		memset(&po, 0, sizeof(po));
		po.cfg = &r.cfg;
		po.map = r.map;
		if (ps_plan_build(&plan, s, profiles->v[i], &po) < 0) {
			ps_print_line(env->out, "profile %s: cannot plan: %s",
				profiles->v[i], ps_error_last());
			continue;
		}
		for (j = 0; j < plan.nunits; j++) {
			const ps_unit *u = &plan.units[j];
			char size[48] = "unknown";
			uint64_t n = 0;
			int c;

			if (!u->update || !u->ost_path)
				continue;
			c = u->ost_path[0] | 0x20;
			if (u->ost_rebuilt && c >= 'a' && c <= 'z' &&
			    u->ost_path[1] == ':' && u->ost_path[2] == '\\' &&
			    ps_sys_file_size(env->sys, u->ost_path, &n) == 0)
				ps_fleet_bytes(n, size, sizeof(size));
			if (u->ost_rebuilt)
				ps_print_line(env->out, "profile %s: %s: %s; "
					"Outlook downloads the mailbox again "
					"(OST size %s)", profiles->v[i],
					u->account, u->ost_why ? u->ost_why
					: "OST renamed or recreated "
					  "(OST= in the configuration)", size);
			else
				ps_print_line(env->out, "profile %s: %s: OST "
					"kept", profiles->v[i], u->account);
		}
		ps_plan_free(&plan);
	}
	r.store = NULL;
	run_free(&r);
	return status;
}

/* inspect --config/--mapping: plan each profile (nothing is written)
 * and show which planned changes the policies block. */
static int inspect_conflicts(ps_app_env *env, const opts *o, ps_store *s,
			     const ps_strlist *profiles)
{
	run r;
	ps_plan_opts po;
	size_t i, j;
	int status;

	memset(&r, 0, sizeof(r));
	r.log.sys = env->sys;
	if (ps_config_init(&r.cfg) < 0)
		return EX_SOFTWARE;
	status = load_config(env, o, &r.cfg);
	if (!status)
		status = load_mapping(env, o, &r);
	for (i = 0; !status && i < profiles->n; i++) {
		ps_pplan plan;
		ps_strlist found = PS_STRLIST_INIT;

		memset(&po, 0, sizeof(po));
		po.cfg = &r.cfg;
		po.map = r.map;
		if (ps_plan_build(&plan, s, profiles->v[i], &po) < 0) {
			ps_print_line(env->out, "profile %s: cannot plan: %s",
				profiles->v[i], ps_error_last());
			continue;
		}
		if (ps_policy_conflicts(env->sys, &r.cfg, &plan, &found) == 0)
			for (j = 0; j < found.n; j++)
				ps_print_line(env->out,
					"profile %s: blocked: %s",
					profiles->v[i], found.v[j]);
		if (!found.n)
			ps_print_line(env->out, "profile %s: no planned "
				"change is blocked by a policy",
				profiles->v[i]);
		ps_strlist_free(&found);
		ps_plan_free(&plan);
	}
	r.store = NULL;
	run_free(&r);
	return status;
}

/* What decides an update besides the profiles: the new Outlook toggle
 * (guards.md) and Office's cached sign-in identities (update-rules.md),
 * shown as they are; whether they are the source's needs a mapping, so
 * update --dry-run says that. */
static void inspect_office(ps_app_env *env, ps_store *s)
{
	ps_strlist ids = PS_STRLIST_INIT, vals = PS_STRLIST_INIT;
	ps_buf key = PS_BUF_INIT;
	uint8_t *data = NULL;
	uint32_t type = 0;
	size_t len = 0, i;

	if (ps_store_get_value(s, "Preferences", "UseNewOutlook", &type,
			       &data, &len) == 0 && type == PS_REG_DWORD &&
	    len == 4) {
		uint32_t v = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
			     (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;

		ps_print_line(env->out, "new Outlook: UseNewOutlook = %u%s",
			      (unsigned)v, v == 1 ? " (the user runs the new "
			      "Outlook for Windows: update blocks, unless "
			      "NewOutlook=update)" : " (classic Outlook)");
	} else {
		ps_print_line(env->out, "new Outlook: not switched on "
			      "(no UseNewOutlook)");
	}
	free(data);
	if (ps_store_list_key(s, "Common\\Identity\\Identities", &ids,
			      &vals) < 0 || !ids.n) {
		ps_print_line(env->out, "Office sign-in identities: none");
		goto done;
	}
	ps_print_line(env->out, "Office sign-in identities: %zu", ids.n);
	for (i = 0; i < ids.n; i++) {
		char *mail, *sign, *tenant;

		ps_buf_clear(&key);
		ps_buf_printf(&key, "Common\\Identity\\Identities\\%s",
			      ids.v[i]);
		if (ps_buf_check(&key) < 0)
			break;
		mail = ps_plan_office_text(s, key.ptr, "EmailAddress");
		sign = ps_plan_office_text(s, key.ptr, "SignInName");
		tenant = ps_plan_office_text(s, key.ptr, "TenantId");
		ps_print_line(env->out, "  %s: %s%s%s", ids.v[i],
			      mail && *mail ? mail : sign && *sign ? sign
			      : "(no address)", tenant && *tenant ?
			      ", tenant " : "", tenant ? tenant : "");
		free(mail);
		free(sign);
		free(tenant);
	}
done:
	ps_buf_free(&key);
	ps_strlist_free(&ids);
	ps_strlist_free(&vals);
}

static int cmd_inspect(ps_app_env *env, const opts *o)
{
	ps_store *s = NULL;
	ps_strlist names = PS_STRLIST_INIT, pols = PS_STRLIST_INIT;
	char *def = NULL, *warning = NULL;
	const char *path = o->store;
	size_t i;
	int error, status = 0;

	if (o->positional.n == 1 && !path)
		path = o->positional.v[0];
	if ((!path && !env->own_store) || o->positional.n > 1)
		return usage_error(env, "inspect takes one STORE");
	if (env->open_store_read)
		error = env->open_store_read(env->ctx, path, &s, &warning);
	else
		error = env->open_store(env->ctx, path, &s);
	if (error < 0)
		return store_error(env, error);
	if (warning)
		fprintf(env->err, "profswitch: warning: %s\n", warning);
	free(warning);
	error = ps_store_list_profiles(s, &names);
	if (error < 0) {
		ps_store_free(s);
		return store_error(env, error);
	}
	ps_store_default_profile(s, &def);
	if (!names.n)
		ps_print_line(env->out, "no Outlook profiles in %s",
			path ? path : "the MAPI profiles");
	for (i = 0; i < names.n; i++)
		inspect_profile(env, s, names.v[i],
				def && !ps_strcasecmp(def, names.v[i]));
	inspect_office(env, s);
	/* The Outlook policies in force and what they would block. */
	ps_strlist_free(&pols);
	if (ps_policy_list(env->sys, &pols) == 0) {
		ps_print_line(env->out, "policies: %s", pols.n ? "" : "none");
		for (i = 0; i < pols.n; i++)
			ps_print_line(env->out, "  %s", pols.v[i]);
	}
	/* With a configuration and mapping: what they block in the plan. */
	if (pols.n && (o->config || o->mapping))
		status = inspect_conflicts(env, o, s, &names);
	if (!status && (o->config || o->mapping))
		status = inspect_ost(env, o, s, &names);
	ps_strlist_free(&pols);
	ps_strlist_free(&names);
	free(def);
	ps_store_free(s);
	return status;
}

/* ---- mapping check ------------------------------------------------------ */

/* Lines that repeat an earlier line's DN in column `source` (else the
 * target column); the first line wins a lookup, so these are ignored. */
static size_t print_duplicates(ps_app_env *env, const ps_mapping *m,
			       int source)
{
	size_t i, n = 0;

	for (i = 0; i < ps_mapping_count(m); i++) {
		const ps_map_entry *e = ps_mapping_entry(m, i), *first;
		const char *dn = source ? e->source_dn : e->target_dn;

		if (!dn)
			continue;
		first = source ? ps_mapping_find_source(m, dn)
			       : ps_mapping_find_target(m, dn);
		if (!first || first == e)
			continue;
		if (++n <= 20)
			fprintf(env->out, "  line %u: %s DN of line %u again: "
				"%s\n", e->line, source ? "source" : "target",
				first->line, dn);
	}
	if (n > 20)
		fprintf(env->out, "  ... and %zu more\n", n - 20);
	return n;
}

/* mapping check on a compiled mapping: every page read and checked. */
static int check_index(ps_app_env *env, const char *file)
{
	ps_mapidx *ix = NULL;
	const ps_mapidx_info *in;
	char root[65], src[65];
	int error = ps_mapidx_open(&ix, env->sys, file);

	if (error == 0)
		error = ps_mapidx_verify(ix);
	if (error < 0) {
		fprintf(env->err, "profswitch: %s\n", ps_error_last());
		ps_mapidx_free(ix);
		return error == PS_ENOMEM ? EX_SOFTWARE
		       : error == PS_EFORMAT ? EX_DATAERR : EX_NOINPUT;
	}
	in = ps_mapidx_get_info(ix);
	hex32(in->root, root);
	hex32(in->source_sha256, src);
	fprintf(env->out, "compiled mapping %s (format %u)\n", file,
		in->version);
	fprintf(env->out, "  mailboxes: %llu\n", (unsigned long long)in->rows);
	fprintf(env->out, "  target DNs: %llu\n",
		(unsigned long long)in->targets);
	fprintf(env->out, "  pages: %u buckets in %u directory pages, %llu "
		"bytes, every page checked\n", in->buckets, in->dir_pages,
		(unsigned long long)in->size);
	fprintf(env->out, "  source SHA-256: %s\n", src);
	fprintf(env->out, "  root hash: %s\n", root);
	fprintf(env->out, "  pin it: MappingSHA256=%s\n", root);
	ps_mapidx_free(ix);
	return 0;
}

/* mapping compile FILE -o OUT: parsed as mapping check parses it; OUT is
 * written (atomically) only from a good mapping. */
static int compile_mapping(ps_app_env *env, const char *file,
			   const char *outpath)
{
	ps_mapping *m = NULL;
	ps_strlist errors = PS_STRLIST_INIT;
	ps_mapidx_info in;
	uint8_t *data = NULL, *idx = NULL, h[32];
	size_t len = 0, idxlen = 0, i;
	char root[65], src[65];
	int error, status = 0;

	if (!strcmp(file, outpath))
		return usage_error(env, "mapping compile: -o %s would replace "
				   "the mapping itself", outpath);
	error = ps_mapidx_sniff(env->sys, file);
	if (error > 0) {
		fprintf(env->err, "profswitch: %s: already a compiled mapping; "
			"compile the text mapping\n", file);
		return EX_DATAERR;
	}
	if (read_input(env, file, MAX_MAPPING_BYTES, &data, &len,
		       "mapping") < 0)
		return EX_NOINPUT;
	error = ps_sys_sha256(env->sys, data, len, h);
	if (error == 0)
		error = ps_mapping_parse(&m, file, (const char *)data, len,
					 &errors);
	free(data);
	if (error < 0) {
		for (i = 0; i < errors.n; i++)
			fprintf(env->err, "%s\n", errors.v[i]);
		if (!errors.n)
			fprintf(env->err, "profswitch: %s\n", ps_error_last());
		fprintf(env->err, "profswitch: bad mapping %s; %s not "
			"written.\n", file, outpath);
		ps_strlist_free(&errors);
		return error == PS_ENOMEM ? EX_SOFTWARE : EX_DATAERR;
	}
	error = ps_mapidx_compile(env->sys, m, h, &idx, &idxlen, &in);
	if (error < 0) {
		fprintf(env->err, "profswitch: %s: %s; %s not written.\n",
			file, ps_error_last(), outpath);
		status = error == PS_ENOMEM ? EX_SOFTWARE : EX_DATAERR;
		goto done;
	}
	error = ps_sys_write_file(env->sys, outpath, idx, idxlen);
	if (error < 0) {
		fprintf(env->err, "profswitch: cannot write the compiled "
			"mapping: %s\n", ps_error_last());
		status = EX_NOINPUT;
		goto done;
	}
	hex32(in.root, root);
	hex32(in.source_sha256, src);
	fprintf(env->out, "mapping %s compiled to %s (format %u)\n", file,
		outpath, in.version);
	fprintf(env->out, "  rows: %llu\n", (unsigned long long)in.rows);
	fprintf(env->out, "  target DNs: %llu\n",
		(unsigned long long)in.targets);
	fprintf(env->out, "  pages: %u buckets in %u directory pages, %llu "
		"bytes\n", in.buckets, in.dir_pages,
		(unsigned long long)in.size);
	fprintf(env->out, "  source SHA-256: %s\n", src);
	fprintf(env->out, "  root hash: %s\n", root);
	fprintf(env->out, "  pin it: MappingSHA256=%s\n", root);
done:
	free(idx);
	ps_mapping_free(m);
	ps_strlist_free(&errors);
	return status;
}

static int cmd_mapping(ps_app_env *env, const opts *o)
{
	ps_mapping *m = NULL;
	ps_strlist errors = PS_STRLIST_INIT;
	uint8_t *data = NULL;
	size_t len = 0, i, dsrc, dtgt;
	char hash[65];
	const char *file;
	int error;

	if (o->positional.n >= 1 && !strcmp(o->positional.v[0], "compile")) {
		if (o->positional.n != 2 || !o->output)
			return usage_error(env, "usage: profswitch mapping "
					   "compile FILE -o OUT");
		return compile_mapping(env, o->positional.v[1], o->output);
	}
	if (o->positional.n != 2 || strcmp(o->positional.v[0], "check"))
		return usage_error(env, "usage: profswitch mapping check FILE");
	if (o->output)
		return usage_error(env, "-o goes with mapping compile");
	file = o->positional.v[1];
	error = ps_mapidx_sniff(env->sys, file);
	if (error > 0)
		return check_index(env, file);
	if (error < 0) {
		fprintf(env->err, "profswitch: cannot read the mapping: %s\n",
			ps_error_last());
		return EX_NOINPUT;
	}
	if (read_input(env, file, MAX_MAPPING_BYTES, &data, &len,
		       "mapping") < 0)
		return EX_NOINPUT;
	error = mapping_hash(env, data, len, hash);
	if (error == 0)
		error = ps_mapping_parse(&m, file, (const char *)data, len,
					 &errors);
	free(data);
	if (error == PS_ENOMEM || (error < 0 && !errors.n)) {
		fprintf(env->err, "profswitch: %s\n", ps_error_last());
		ps_strlist_free(&errors);
		return error == PS_ENOMEM ? EX_SOFTWARE : EX_DATAERR;
	}
	fprintf(env->out, "mapping %s\n", file);
	if (error < 0) {
		fprintf(env->out, "  %zu line(s) in error; nothing would be "
			"changed with this file:\n", errors.n);
		for (i = 0; i < errors.n; i++)
			fprintf(env->out, "  %s\n", errors.v[i]);
		ps_strlist_free(&errors);
		return EX_DATAERR;
	}
	for (i = 0; i < ps_mapping_note_count(m); i++)
		fprintf(env->out, "  %s\n", ps_mapping_note(m, i));
	fprintf(env->out, "  mailboxes: %zu\n", ps_mapping_count(m));
	dsrc = print_duplicates(env, m, 1);
	dtgt = print_duplicates(env, m, 0);
	fprintf(env->out, "  duplicate source DNs: %zu (the first line "
		"wins)\n", dsrc);
	fprintf(env->out, "  duplicate target DNs: %zu (accounts moving to "
		"one mailbox are blocked-ambiguous)\n", dtgt);
	fprintf(env->out, "  SHA-256: %s\n", hash);
	fprintf(env->out, "  pin it: MappingSHA256=%s\n", hash);
	ps_mapping_free(m);
	ps_strlist_free(&errors);
	return 0;
}

/* ---- autodiscover ------------------------------------------------------- */

/* Seconds the whole discovery may take unless --timeout says otherwise
 * (docs/autodiscover.md). */
#define AD_DEFAULT_BUDGET 60u

static void print_hop(void *ctx, const char *line)
{
	ps_app_env *env = ctx;

	ps_print_line(env->out, "%s", line);
	fflush(env->out);
}

static void print_setting(ps_app_env *env, const char *name, const char *v)
{
	if (v && *v)
		ps_print_line(env->out, "  %-28s %s", name, v);
}

static void print_settings(ps_app_env *env, const ps_ad_result *res)
{
	const ps_ad_response *s = &res->settings;
	const ps_ad_protocol *p;
	size_t i;

	ps_print_line(env->out, "settings from %s for %s%s:", res->url,
		      res->email, res->trusted ? "" : " (NOT TRUSTED: reached "
		      "through a server outside the user's domain; update "
		      "would not use them)");
	print_setting(env, "display name", s->display_name);
	print_setting(env, "LegacyDN", s->legacy_dn);
	print_setting(env, "SMTP", s->smtp);
	print_setting(env, "deployment", s->deployment_id);
	if ((p = ps_ad_protocol_find(s, "mapiHttp")) != NULL) {
		print_setting(env, "MAPI/HTTP mail store (int)",
			      p->mailstore_internal);
		print_setting(env, "MAPI/HTTP mail store (ext)",
			      p->mailstore_external);
		print_setting(env, "MAPI/HTTP address book (int)",
			      p->addressbook_internal);
		print_setting(env, "MAPI/HTTP address book (ext)",
			      p->addressbook_external);
	}
	for (i = 0; i < s->nprotocols; i++) {
		p = &s->protocols[i];
		if (!p->type || !ps_strcasecmp(p->type, "mapiHttp"))
			continue;
		ps_print_line(env->out, "  protocol %s", p->type);
		print_setting(env, "  server", p->server);
		print_setting(env, "  server DN", p->server_dn);
		print_setting(env, "  mailbox database DN", p->mdb_dn);
		print_setting(env, "  EWS", p->ews_url);
		print_setting(env, "  OAB", p->oab_url);
	}
}

static int cmd_autodiscover(ps_app_env *env, const opts *o)
{
	ps_http *http = NULL;
	ps_xml *xml = NULL;
	ps_ad_opts ao;
	ps_ad_result res;
	unsigned budget = AD_DEFAULT_BUDGET;
	int error, status;

	if (o->positional.n != 1)
		return usage_error(env, "autodiscover takes one EMAIL");
	if (o->store || o->mapping || o->config || o->profiles.n ||
	    o->dry_run || o->all || o->reprocess || o->default_profile)
		return usage_error(env, "autodiscover takes only --url, "
				   "--ca-file, --timeout and --v2");
	if (o->timeout) {
		char *end;
		long v = strtol(o->timeout, &end, 10);

		if (*end || end == o->timeout || v < 0 || v > 3600)
			return usage_error(env, "--timeout '%s': give the "
					   "seconds the whole discovery may "
					   "take, 0 to 3600", o->timeout);
		budget = (unsigned)v;
	}
	if (!env->open_http || !env->open_xml)
		return usage_error(env, "no http client on this platform");
	if ((error = env->open_http(env->ctx, o->ca_file, &http)) < 0) {
		fprintf(env->err, "profswitch: %s\n", ps_error_last());
		return error == PS_ENOTFOUND || error == PS_EIO ||
		       error == PS_ELIMIT || error == PS_EFORMAT
		       ? EX_NOINPUT : EX_SOFTWARE;
	}
	if ((error = env->open_xml(env->ctx, &xml)) < 0) {
		ps_http_free(http);
		fprintf(env->err, "profswitch: %s\n", ps_error_last());
		return EX_SOFTWARE;
	}
	memset(&ao, 0, sizeof(ao));
	ao.url = o->url;
	ao.budget_ms = budget * 1000u;
	ao.send_credentials = 1;
	ao.trace = o->quiet ? NULL : print_hop;
	ao.trace_ctx = env;
	if (o->v2) {
		ao.send_credentials = 0;
		error = ps_ad_v2_discover(http, o->positional.v[0], &ao, &res);
	} else {
		error = ps_ad_discover(http, xml, o->positional.v[0], &ao,
				       &res);
	}
	if (error == PS_EFORMAT) {
		status = usage_error(env, "%s", ps_error_last());
	} else if (error < 0) {
		fprintf(env->err, "profswitch: %s\n", ps_error_last());
		status = EX_SOFTWARE;
	} else if (res.found && o->v2) {
		ps_print_line(env->out, "AutodiscoverV1 URL: %s", res.v2_url);
		ps_print_line(env->out, "answered by: %s", res.url);
		status = 0;
	} else if (!res.found && o->v2) {
		ps_print_line(env->err, "profswitch: no Autodiscover v2 "
			      "answer for %s: %s", o->positional.v[0],
			      res.reason);
		status = 8;
	} else if (res.found) {
		print_settings(env, &res);
		status = 0;
	} else {
		ps_print_line(env->err, "profswitch: no Autodiscover settings "
			      "for %s: %s", o->positional.v[0], res.reason);
		status = 8;
	}
	if (error >= 0)
		ps_ad_result_free(&res);
	ps_xml_free(xml);
	ps_http_free(http);
	return status;
}

/* ---- the no-argument logon run and the trace ------------------------- */

int ps_app_ini_beside_exe(ps_system *sys, char **path)
{
	char *dir = NULL, *p;
	void *h = NULL;
	uint64_t size = 0;
	int error;

	*path = NULL;
	error = ps_sys_exe_dir(sys, &dir);
	if (error < 0)
		return error;
	p = join_path(dir, "profswitch.ini");
	free(dir);
	if (!p)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	error = ps_sys_open_read(sys, p, &h, &size);
	if (error == PS_ENOTFOUND)
		error = ps_error_setc(PS_ENOTFOUND, "no profswitch.ini beside "
				      "the program (looked for %s)", p);
	if (error < 0) {
		free(p);
		return error;
	}
	ps_sys_close_read(sys, h);
	*path = p;
	return 0;
}

/* Commands whose every run leaves a log line: the logon commands and
 * rehearse, and a command line that names none (a logon script's typo).
 * inspect, autodiscover and mapping are run at a terminal. */
static int is_traced(int argc, char **argv)
{
	static const char *const untraced[] = {
		"inspect", "autodiscover", "mapping", "--version",
		"--help-man", NULL
	};
	size_t i;

	if (argc < 2)
		return 1;
	for (i = 0; untraced[i]; i++)
		if (!strcmp(argv[1], untraced[i]))
			return 0;
	return 1;
}

/* The log line of a run that ended before its command had a log (a bad
 * option, an unknown command): to --log when it was given, else to the
 * default log. */
static void trace_early(ps_app_env *env, const opts *o, const char *command,
			int status)
{
	ps_log log;

	memset(&log, 0, sizeof(log));
	log.sys = env->sys;
	log.path = o->log ? ps_expand_path(env->sys, o->log)
			  : default_log_path(env);
	if (!log.path)
		return;
	log_exit(env, &log, command, status);
	flush_lines(env, &log, NULL, 0);
	ps_log_free(&log);
}

int ps_app_main(ps_app_env *caller, int argc, char **argv)
{
	ps_app_env copy = *caller, *env = &copy;
	ps_app_trace trace;
	const cmd_help *h;
	char *ini = NULL, *ini_argv[5];
	opts o;
	int status, quiet = 0;

	memset(&trace, 0, sizeof(trace));
	memset(&o, 0, sizeof(o));
	env->trace = &trace;
	/* profswitchw.exe with no arguments: profswitch.ini beside it. */
	if (argc < 2 && env->ini_beside_exe) {
		if (ps_app_ini_beside_exe(env->sys, &ini) < 0) {
			status = usage_error(env, "no command given, and %s",
					     ps_error_last());
			goto done;
		}
		ini_argv[0] = argc ? argv[0] : "profswitch";
		ini_argv[1] = "update";
		ini_argv[2] = "--config";
		ini_argv[3] = ini;
		ini_argv[4] = NULL;
		argc = 4;
		argv = ini_argv;
	}
	if (argc >= 2 && (is_help(argv[1]) || !strcmp(argv[1], "help"))) {
		h = argc >= 3 ? find_help(argv[2]) : NULL;
		fputs(h ? h->text : usage_text, env->out);
		quiet = 1;
		status = 0;
		goto done;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		fprintf(env->out, "profswitch %s\n", PS_VERSION);
		return 0;
	}
	/* Hidden: docs/profswitch.1 from the help text. */
	if (argc >= 2 && !strcmp(argv[1], "--help-man")) {
		ps_app_man_page(env->out);
		return 0;
	}
	status = parse_args(env, argc, argv, &o);
	if (status)
		goto done;
	if (o.help) {
		h = find_help(o.command);
		quiet = h != NULL;
		if (h)
			fputs(h->text, env->out);
		status = h ? 0 : usage_error(env, "unknown command '%s'",
					     o.command);
		goto done;
	}
	if (o.v2 && strcmp(o.command, "autodiscover")) {
		status = usage_error(env, "--v2 is an option of "
				     "autodiscover only");
		goto done;
	}
	if (!strcmp(o.command, "update") || !strcmp(o.command, "rollback") ||
	    !strcmp(o.command, "cleanup"))
		status = cmd_engine(env, &o);
	else if (!strcmp(o.command, "rehearse"))
		status = cmd_rehearse(env, &o);
	else if (!strcmp(o.command, "fleet"))
		status = cmd_fleet(env, &o);
	else if (!strcmp(o.command, "inspect"))
		status = cmd_inspect(env, &o);
	else if (!strcmp(o.command, "autodiscover"))
		status = cmd_autodiscover(env, &o);
	else if (!strcmp(o.command, "mapping"))
		status = cmd_mapping(env, &o);
	else
		status = usage_error(env, "unknown command '%s'", o.command);
done:
	if (!quiet && !trace.logged && is_traced(argc, argv))
		trace_early(env, &o, argc >= 2 ? argv[1] : "(no command)",
			    status);
	opts_free(&o);
	ps_strlist_free(&trace.msgs);
	free(ini);
	return status;
}
