/*
 * profswitch.ini (ps_config.h): the [Settings] keys of docs/formats.md.
 *
 * String keys (Mapping, LogFile, ReportFile, AutodiscoverSourceURL,
 * AutodiscoverTargetURL, AutodiscoverCAFile, RunAfter) are stored as
 * written; an empty value means "not set" (NULL), as if the key were
 * absent, and so does an empty MappingSHA256.  An empty ProcessedDomains
 * means every domain (the default), an empty AutodiscoverAllowedHosts no
 * host.  Every other key needs a value.
 */
#include "ps_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_ini.h"

enum {
	K_STRING,       /* char *, empty = NULL */
	K_PROFILES,
	K_CHOICE,       /* int, index into choices */
	K_UINT,         /* unsigned, 0..max */
	K_BOOL,         /* int 0/1 */
	K_PROCESSES,    /* ps_strlist of process names */
	K_DOMAINS,      /* ps_strlist of lowercase domains */
	K_URL,          /* char *: an http(s) URL, empty = NULL */
	K_SHA256,       /* char *: 64 hex digits, stored lowercase */
	K_MODE          /* unsigned: permission bits in octal */
};

typedef struct key_def {
	const char *name;
	int kind;
	size_t off;                    /* offsetof(ps_config, field) */
	unsigned long max;             /* K_UINT */
	const char *const *choices;    /* K_CHOICE, NULL-terminated */
	const char *expect;            /* K_CHOICE: for the message */
} key_def;

/* The index of each name is the value of the PS_* enum it stands for. */
static const char *const running_names[] = { "defer", "wait", "close",
					      NULL };
static const char *const ost_names[] = { "keep", "rename", "recreate",
					  NULL };
static const char *const cached_names[] = { "keep", "on", "off", NULL };
static const char *const newol_names[] = { "block", "update", NULL };
static const char *const o365x_names[] = { "remove", "keep", NULL };
static const char *const ost_org_names[] = { "rename", "keep", NULL };
static const char *const delim_names[] = { ",", ";", "tab", NULL };

#define OFF(f) offsetof(ps_config, f)

static const key_def keys[] = {
	{ "Mapping", K_STRING, OFF(mapping), 0, NULL, NULL },
	{ "LogFile", K_STRING, OFF(log_file), 0, NULL, NULL },
	{ "ReportFile", K_STRING, OFF(report_file), 0, NULL, NULL },
	{ "ReportMode", K_MODE, OFF(report_mode), 0, NULL, NULL },
	{ "Profiles", K_PROFILES, OFF(profiles), 0, NULL, NULL },
	{ "OutlookRunning", K_CHOICE, OFF(outlook_running), 0,
	  running_names, "defer, wait or close" },
	{ "WaitSeconds", K_UINT, OFF(wait_seconds), 3600, NULL, NULL },
	{ "StopProcesses", K_PROCESSES, OFF(stop_processes), 0, NULL,
	  NULL },
	{ "OST", K_CHOICE, OFF(ost), 0, ost_names,
	  "keep, rename or recreate" },
	{ "ResetOAB", K_BOOL, OFF(reset_oab), 0, NULL, NULL },
	{ "CachedMode", K_CHOICE, OFF(cached_mode), 0, cached_names,
	  "keep, on or off" },
	{ "SameSmtpDomain", K_BOOL, OFF(same_smtp_domain), 0, NULL, NULL },
	{ "ProcessedDomains", K_DOMAINS, OFF(processed_domains), 0, NULL,
	  NULL },
	{ "MappingSHA256", K_SHA256, OFF(mapping_sha256), 0, NULL, NULL },
	{ "AutodiscoverSourceURL", K_URL, OFF(autodiscover_source_url), 0,
	  NULL, NULL },
	{ "AutodiscoverTargetURL", K_URL, OFF(autodiscover_target_url), 0,
	  NULL, NULL },
	{ "AutodiscoverAllowedHosts", K_DOMAINS, OFF(autodiscover_allowed_hosts),
	  0, NULL, NULL },
	{ "AutodiscoverCAFile", K_STRING, OFF(autodiscover_ca_file), 0,
	  NULL, NULL },
	{ "VerifyAutodiscover", K_BOOL, OFF(verify_autodiscover), 0, NULL,
	  NULL },
	{ "RepairPoisoned", K_BOOL, OFF(repair_poisoned), 0, NULL, NULL },
	{ "NewOutlook", K_CHOICE, OFF(new_outlook), 0, newol_names,
	  "block or update" },
	{ "O365EndpointExclusion", K_CHOICE, OFF(o365_exclusion), 0,
	  o365x_names, "remove or keep" },
	{ "ResetOfficeIdentity", K_BOOL, OFF(reset_office_identity), 0, NULL,
	  NULL },
	{ "SourceTenantId", K_STRING, OFF(source_tenant_id), 0, NULL, NULL },
	{ "RequireTargetReady", K_BOOL, OFF(require_target_ready), 0, NULL,
	  NULL },
	{ "RunAfter", K_STRING, OFF(run_after), 0, NULL, NULL },
	{ "GlobalTimeoutSeconds", K_UINT, OFF(global_timeout_seconds), 86400,
	  NULL, NULL },
	{ "OSTAcrossOrganisations", K_CHOICE, OFF(ost_across_orgs), 0,
	  ost_org_names, "rename or keep" },
	{ "CsvDelimiter", K_CHOICE, OFF(csv_delimiter), 0, delim_names,
	  ", ; or tab" },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Keys of the product's key list that this version does not act on:
 * refused whatever their value, so a configuration never asks for
 * something that silently does not happen. */
typedef struct refused_key {
	const char *name;
	const char *why;        /* what is not done, and what to do */
} refused_key;

static const refused_key refused[] = {
	{ "ClearNicknames",
	  "profswitch does not clear Outlook's nickname (autocomplete) "
	  "cache; remove the line, and if the cache must go, rename the "
	  "user's RoamCache\\Stream_Autocomplete_*.dat (the .nk2 file "
	  "before Outlook 2010) from the logon script before Outlook "
	  "starts; an X500 address with the old legacyExchangeDN on the "
	  "target mailbox keeps cached entries working" },
};

const char *ps_config_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

static const char *const default_stop[] = {
	"outlook.exe", "lync.exe", "communicator.exe", "ucmapi.exe"
};

/* Separators of StopProcesses and ProcessedDomains. */
static const char list_seps[] = " \t,;";

typedef struct parse_ctx {
	ps_config *cfg;
	const char *filename;
	unsigned seen[NKEYS];          /* line of the first setting, 0 */
} parse_ctx;

void ps_config_free(ps_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->mapping);
	free(cfg->log_file);
	free(cfg->report_file);
	ps_strlist_free(&cfg->profiles);
	ps_strlist_free(&cfg->stop_processes);
	ps_strlist_free(&cfg->processed_domains);
	free(cfg->autodiscover_source_url);
	free(cfg->autodiscover_target_url);
	free(cfg->autodiscover_ca_file);
	free(cfg->mapping_sha256);
	ps_strlist_free(&cfg->autodiscover_allowed_hosts);
	free(cfg->run_after);
	free(cfg->source_tenant_id);
	memset(cfg, 0, sizeof(*cfg));
}

int ps_config_init(ps_config *cfg)
{
	size_t i;
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->profiles_mode = PS_PROFILES_ALL;
	cfg->outlook_running = PS_RUNNING_DEFER;
	cfg->wait_seconds = 60;
	cfg->report_mode = 0640;
	cfg->ost = PS_OST_KEEP;
	cfg->ost_across_orgs = PS_OSTORG_RENAME;
	cfg->reset_oab = 1;
	cfg->cached_mode = PS_CACHED_KEEP;
	cfg->global_timeout_seconds = 300;
	for (i = 0; i < sizeof(default_stop) / sizeof(default_stop[0]); i++) {
		rc = ps_strlist_add(&cfg->stop_processes, default_stop[i]);
		if (rc < 0)
			goto cleanup;
	}
cleanup:
	if (rc < 0)
		ps_config_free(cfg);
	return rc;
}

static int bad_value(const parse_ctx *pc, unsigned line, const key_def *k,
		     const char *value, const char *expect)
{
	return ps_error_setc(PS_EFORMAT, "%s:%u: bad value '%.200s' for %s: "
			     "expected %s", pc->filename, line, value,
			     k->name, expect);
}

/* Decimal digits only: no sign, space, hex or trailing text. */
/* ReportMode: octal permission bits (0640); the owner reads and writes,
 * nobody else writes, no execute or special bits. */
static int parse_mode(unsigned long *out, const char *v)
{
	unsigned long m = 0;
	const char *p;

	if (!*v || strlen(v) > 4)
		return -1;
	for (p = v; *p; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		m = m * 8 + (unsigned long)(*p - '0');
	}
	if ((m & 0600) != 0600 || (m & ~0644ul))
		return -1;
	*out = m;
	return 0;
}

static int parse_uint(unsigned long *out, const char *s, unsigned long max)
{
	const char *p;
	char *end = NULL;
	unsigned long v;

	if (!*s)
		return -1;
	for (p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno == ERANGE || !end || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(int *out, const char *s)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!ps_strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!ps_strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int valid_domain(const char *s, size_t n)
{
	size_t i, dots = 0;

	if (!n || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (s[i - 1] == '.')
				return 0;
			dots++;
		} else if (!((c >= 'a' && c <= 'z') ||
			     (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-')) {
			return 0;
		}
	}
	return dots > 0;
}

/* http(s)://host[:port]/...: no spaces, control characters or user
 * info; the host is letters, digits, '-', '.' (or [IPv6]). */
static int valid_url(const char *s)
{
	const char *h, *end;
	size_t i;

	if (!ps_strncasecmp(s, "https://", 8))
		h = s + 8;
	else if (!ps_strncasecmp(s, "http://", 7))
		h = s + 7;
	else
		return 0;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7F ||
		    s[i] == '"' || s[i] == '\\')
			return 0;
	end = h + strcspn(h, "/?#");
	if (end == h || memchr(h, '@', (size_t)(end - h)))
		return 0;
	if (*h == '[')
		return memchr(h, ']', (size_t)(end - h)) != NULL;
	for (; h < end && *h != ':'; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '-' || *h == '.'))
			return 0;
	return 1;
}

/* A process name, not a path: no separator, quote or control character. */
static int valid_process(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7F || c == '\\' || c == '/' ||
		    c == ':' || c == '"')
			return 0;
	}
	return n > 0;
}

/* Split value on list_seps into a fresh list; validate each item. */
static int parse_list(const parse_ctx *pc, unsigned line, const key_def *k,
		      const char *value, ps_strlist *out)
{
	ps_strlist l = PS_STRLIST_INIT;
	const char *p = value;
	char *item = NULL;
	int rc = 0;

	while (*p) {
		size_t n = strcspn(p, list_seps);
		int ok;

		if (!n) {
			p++;
			continue;
		}
		ok = k->kind == K_DOMAINS ? valid_domain(p, n) :
			valid_process(p, n);
		item = ps_strndup(p, n);
		if (!item) {
			rc = PS_ENOMEM;
			goto cleanup;
		}
		if (!ok) {
			rc = bad_value(pc, line, k, item,
				       k->kind == K_DOMAINS ?
				       "SMTP domains such as contoso.com "
				       "(letters, digits, '-' and '.') "
				       "separated by spaces, commas or "
				       "semicolons" :
				       "process names such as outlook.exe "
				       "(not paths) separated by spaces, "
				       "commas or semicolons");
			goto cleanup;
		}
		if (k->kind == K_DOMAINS) {
			char *q;

			for (q = item; *q; q++)
				*q = (char)ps_tolower((unsigned char)*q);
		}
		if (ps_strlist_contains_nocase(&l, item)) {
			free(item);
		} else {
			rc = ps_strlist_take(&l, item);
			if (rc < 0) {
				item = NULL;
				goto cleanup;
			}
		}
		item = NULL;
		p += n;
	}
	if (k->kind == K_PROCESSES && !l.n) {
		rc = bad_value(pc, line, k, value, "process names such as "
			       "outlook.exe separated by spaces, commas or "
			       "semicolons");
		goto cleanup;
	}
	ps_strlist_free(out);
	*out = l;
	l.v = NULL;
	l.n = l.cap = 0;
cleanup:
	free(item);
	ps_strlist_free(&l);
	return rc;
}

static int parse_profiles(const parse_ctx *pc, unsigned line,
			  const key_def *k, const char *value)
{
	static const char expect[] = "all, default or profile names "
		"separated by ';' (no empty name)";
	ps_config *cfg = pc->cfg;
	ps_strlist l = PS_STRLIST_INIT;
	char *copy = NULL, *p;
	int rc = 0;

	if (!ps_strcasecmp(value, "all") || !ps_strcasecmp(value, "default")) {
		cfg->profiles_mode = ps_strcasecmp(value, "all") ?
			PS_PROFILES_DEFAULT : PS_PROFILES_ALL;
		ps_strlist_free(&cfg->profiles);
		return 0;
	}
	copy = ps_strdup(value);
	if (!copy) {
		rc = PS_ENOMEM;
		goto cleanup;
	}
	p = copy;
	for (;;) {
		char *semi = strchr(p, ';');
		char *name;

		if (semi)
			*semi = '\0';
		name = ps_trim(p);
		if (!*name) {
			rc = bad_value(pc, line, k, value, expect);
			goto cleanup;
		}
		if (!ps_strlist_contains_nocase(&l, name)) {
			rc = ps_strlist_add(&l, name);
			if (rc < 0)
				goto cleanup;
		}
		if (!semi)
			break;
		p = semi + 1;
	}
	ps_strlist_free(&cfg->profiles);
	cfg->profiles = l;
	cfg->profiles_mode = PS_PROFILES_NAMED;
	l.v = NULL;
	l.n = l.cap = 0;
cleanup:
	free(copy);
	ps_strlist_free(&l);
	return rc;
}

static int set_key(const parse_ctx *pc, unsigned line, const key_def *k,
		   const char *value)
{
	char *field = (char *)pc->cfg + k->off;
	unsigned long ul = 0;
	int b = 0;
	size_t i;

	switch (k->kind) {
	case K_SHA256: {
		char **sp = (char **)(void *)field;
		char *h;

		if (!*value) {          /* empty: not pinned */
			free(*sp);
			*sp = NULL;
			return 0;
		}
		for (i = 0; value[i]; i++)
			if (!((value[i] >= '0' && value[i] <= '9') ||
			      ((value[i] | 0x20) >= 'a' &&
			       (value[i] | 0x20) <= 'f')))
				break;
		if (i != 64 || value[i])
			return bad_value(pc, line, k, value, "64 hexadecimal "
					 "digits (profswitch mapping check "
					 "prints them)");
		h = ps_strdup(value);
		if (!h)
			return PS_ENOMEM;
		for (i = 0; h[i]; i++)
			h[i] = (char)ps_tolower((unsigned char)h[i]);
		free(*sp);
		*sp = h;
		return 0;
	}
	case K_URL:
		if (*value && !valid_url(value))
			return bad_value(pc, line, k, value, "an https:// URL "
					 "such as https://autodiscover.contoso"
					 ".com/autodiscover/autodiscover.xml");
		/* fall through */
	case K_STRING: {
		char **sp = (char **)(void *)field;
		char *s = NULL;

		if (*value) {
			s = ps_strdup(value);
			if (!s)
				return PS_ENOMEM;
		}
		free(*sp);
		*sp = s;
		return 0;
	}
	case K_PROFILES:
		return parse_profiles(pc, line, k, value);
	case K_CHOICE:
		for (i = 0; k->choices[i]; i++) {
			if (!ps_strcasecmp(value, k->choices[i])) {
				*(int *)(void *)field = (int)i;
				return 0;
			}
		}
		return bad_value(pc, line, k, value, k->expect);
	case K_UINT:
		if (parse_uint(&ul, value, k->max) < 0) {
			char expect[64];

			(void)snprintf(expect, sizeof(expect), "a whole "
				       "number of seconds from 0 to %lu",
				       k->max);
			return bad_value(pc, line, k, value, expect);
		}
		*(unsigned *)(void *)field = (unsigned)ul;
		return 0;
	case K_MODE:
		if (parse_mode(&ul, value) < 0)
			return bad_value(pc, line, k, value, "permission bits "
					 "in octal that let the owner read "
					 "and write and nobody else write, "
					 "such as 0640, 0644 or 0600");
		*(unsigned *)(void *)field = (unsigned)ul;
		return 0;
	case K_BOOL:
		if (parse_bool(&b, value) < 0)
			return bad_value(pc, line, k, value, "1, 0, yes, no, "
					 "true, false, on or off");
		*(int *)(void *)field = b;
		return 0;
	default:
		return parse_list(pc, line, k, value,
				  (ps_strlist *)(void *)field);
	}
}

static int on_section(void *ctx, const char *section, unsigned line)
{
	const parse_ctx *pc = ctx;

	if (ps_strcasecmp(section, "Settings"))
		return ps_error_setc(PS_EFORMAT, "%s:%u: unknown section "
				     "[%.200s] (expected [Settings])",
				     pc->filename, line, section);
	return 0;
}

static int on_key(void *ctx, const char *section, const char *key,
		  const char *value, unsigned line)
{
	parse_ctx *pc = ctx;
	size_t i;

	if (!*section)
		return ps_error_setc(PS_EFORMAT, "%s:%u: key '%.200s' before "
				     "any section: put it under [Settings]",
				     pc->filename, line, key);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (!ps_strcasecmp(key, refused[i].name))
			return ps_error_setc(PS_EFORMAT, "%s:%u: %s is not "
					     "supported: %s", pc->filename,
					     line, refused[i].name,
					     refused[i].why);
	for (i = 0; i < NKEYS; i++)
		if (!ps_strcasecmp(key, keys[i].name))
			break;
	if (i == NKEYS)
		return ps_error_setc(PS_EFORMAT, "%s:%u: unknown key '%.200s' "
				     "in [Settings]", pc->filename, line, key);
	if (pc->seen[i])
		return ps_error_setc(PS_EFORMAT, "%s:%u: %s is set twice "
				     "(first at line %u)", pc->filename, line,
				     keys[i].name, pc->seen[i]);
	pc->seen[i] = line;
	return set_key(pc, line, &keys[i], value);
}

int ps_config_parse(ps_config *cfg, const char *filename, const char *data,
		    size_t len)
{
	parse_ctx pc;

	memset(&pc, 0, sizeof(pc));
	pc.cfg = cfg;
	pc.filename = filename;
	return ps_ini_parse_ex(filename, data, len, on_section, on_key, &pc);
}
