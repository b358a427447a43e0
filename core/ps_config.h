/*
 * profswitch.ini: the `[Settings]` keys of docs/formats.md.  Keys are
 * case-insensitive.
 */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

#include "ps_str.h"

enum { PS_PROFILES_ALL, PS_PROFILES_DEFAULT, PS_PROFILES_NAMED };
enum { PS_RUNNING_DEFER, PS_RUNNING_WAIT, PS_RUNNING_CLOSE };
enum { PS_OST_KEEP, PS_OST_RENAME, PS_OST_RECREATE };
enum { PS_CACHED_KEEP, PS_CACHED_ON, PS_CACHED_OFF };
enum { PS_NEWOL_BLOCK, PS_NEWOL_UPDATE };
enum { PS_O365X_REMOVE, PS_O365X_KEEP };
/* OSTAcrossOrganisations (docs/update-rules.md R6). */
enum { PS_OSTORG_RENAME, PS_OSTORG_KEEP };
enum { PS_CSV_COMMA, PS_CSV_SEMICOLON, PS_CSV_TAB };

typedef struct ps_config {
	char *mapping;                 /* NULL = not set */
	char *mapping_sha256;          /* pinned hash, lowercase hex, or NULL */
	char *log_file;
	char *report_file;
	unsigned report_mode;          /* default 0640 (ReportMode) */
	int profiles_mode;             /* PS_PROFILES_* (default ALL) */
	ps_strlist profiles;           /* names when PS_PROFILES_NAMED */
	int outlook_running;           /* default DEFER */
	unsigned wait_seconds;         /* default 60 */
	ps_strlist stop_processes;     /* default outlook.exe lync.exe
	                                  communicator.exe ucmapi.exe */
	int ost;                       /* default KEEP */
	int reset_oab;                 /* default 1 */
	int cached_mode;               /* default KEEP */
	int same_smtp_domain;          /* default 0 */
	ps_strlist processed_domains;  /* empty = every domain */
	char *autodiscover_source_url;
	char *autodiscover_target_url;
	char *autodiscover_ca_file;    /* a CA trusted for Autodiscover too */
	ps_strlist autodiscover_allowed_hosts; /* hosts an HTTP redirect may
	                                  name besides the user's domain */
	int verify_autodiscover;       /* default 0 */
	int repair_poisoned;           /* default 0 */
	int new_outlook;               /* PS_NEWOL_* (default BLOCK) */
	int o365_exclusion;            /* PS_O365X_* (default REMOVE) */
	int reset_office_identity;     /* default 0 */
	char *source_tenant_id;        /* NULL = not set */
	int require_target_ready;      /* default 0: repoint only when the
	                                  target answers for the mailbox */
	char *run_after;
	unsigned global_timeout_seconds; /* default 300; 0 = none */
	int ost_across_orgs;           /* PS_OSTORG_* (default RENAME):
	                                  OST=keep for another mailbox */
	int csv_delimiter;             /* PS_CSV_*: CSV reports' separator
	                                  (default COMMA) */
} ps_config;

/* Defaults. Returns PS_ENOMEM only. */
int ps_config_init(ps_config *cfg);
/* Parse over the defaults already in cfg.  Unknown section or key, bad
 * value, duplicate key: PS_EFORMAT with "FILE:LINE: reason". */
int ps_config_parse(ps_config *cfg, const char *filename, const char *data,
		    size_t len);
void ps_config_free(ps_config *cfg);
/* The i-th key this version accepts (as the docs spell it), in a fixed
 * order; NULL past the last.  samples/profswitch.ini lists them all. */
const char *ps_config_key_name(size_t i);

#endif
