/*
 * Planning one profile's update (docs/update-rules.md): find the mailbox
 * units the way MAPI does, decide each unit's status, and compute for
 * every section in scope its state after the rules.  Nothing is written.
 */
#ifndef PS_PLAN_H
#define PS_PLAN_H

#include "ps_autodiscover.h"
#include "ps_config.h"
#include "ps_log.h"
#include "ps_mapping.h"
#include "ps_report.h"
#include "ps_store.h"

enum { PS_UNIT_PRIMARY = 1, PS_UNIT_DELEGATE = 2 };

typedef struct ps_secstate {
	ps_uid uid;
	int exists;
	ps_proplist before;
	ps_proplist after;
	uint32_t *written;   /* tags set or deleted by R1..R7, R9 */
	size_t nwritten, capwritten;
	int order;           /* -1: not touched by an updated unit */
} ps_secstate;

typedef struct ps_unit {
	int kind;
	ps_uid service;
	ps_uid emsmdb;
	ps_uid provider;     /* delegate units */
	ps_uid *scope;       /* sections in scope */
	size_t nscope;
	ps_uid *archives;    /* primary: its Online Archive providers */
	size_t narchives;
	char *account;
	char *dn;            /* the key DN ("" when missing) */
	char *smtp;          /* current SMTP address or NULL */
	char *server;        /* current home server (0x6602) or NULL */
	const ps_map_entry *entry;
	ps_status status;
	char *detail;
	int update;          /* selected for the rules */
	size_t nset, ndel;   /* what the rules did */
	/* docs/autodiscover.md */
	int ad_failed;       /* verification failed: exit bit 8 */
	const ps_ad_result *ad; /* verified answer (owned by the verifier) */
	const char *ad_url;  /* the configured URL asked, or NULL */
	int repair;          /* poisoned, being repaired */
	int ready_unchecked; /* RequireTargetReady in a rehearsal */
	int ad_unchecked;    /* verification due, but in a rehearsal */
	ps_strlist poison;   /* evidence of poisoning */
	size_t nidentities;  /* source sign-in identities Office cached */
	/* R6 (docs/update-rules.md): a primary unit's OST */
	char *ost_path;      /* its OST path before the update, or NULL */
	int ost_rebuilt;     /* the rules rename or remove it: Outlook
	                        downloads the mailbox again */
	char *ost_why;       /* "OST renamed: ..." when OST=keep became
	                        rename (another mailbox), else NULL */
} ps_unit;

/* A change outside the profile (docs/autodiscover.md): an Outlook
 * registry value (subkey of Outlook's key) or a file. */
typedef struct ps_valchange {
	char *subkey;
	char *name;
	int del;             /* delete instead of set */
	int fix;             /* a repair cleanup keeps (not a pin) */
	uint32_t type;       /* PS_REG_* */
	uint8_t *data;
	size_t len;
} ps_valchange;

typedef struct ps_filechange {
	char *path;
	int del;             /* delete instead of write */
	int skip;            /* the engine found it already so */
	char *data;
	size_t len;
} ps_filechange;

/* A cached Autodiscover file found on the machine. */
typedef struct ps_adcache_file {
	char *path;
	char *legacy_dn;     /* its User/LegacyDN ("" when none) */
} ps_adcache_file;

typedef struct ps_pplan {
	char *profile;
	ps_secstate *secs;
	size_t nsecs, capsecs;
	ps_unit *units;
	size_t nunits, capunits;
	int next_order;
	ps_valchange *vals;
	size_t nvals;
	ps_filechange *files;
	size_t nfiles;
	/* ResetOfficeIdentity: keys under Office's key to delete (with
	 * everything below), e.g. "Common\Identity\Identities\X". */
	ps_strlist delkeys;
} ps_pplan;

typedef struct ps_plan_opts {
	const ps_config *cfg;
	const ps_mapping *map;
	int reprocess;
	ps_log *log;
	/* Autodiscover (NULL when not available): ask for `smtp` at `url`
	 * (NULL: the address's domain).  0 with *res owned by the verifier
	 * for the whole run, or a negative fatal error. */
	int (*verify)(void *ctx, const char *smtp, const char *url,
		      const ps_ad_result **res);
	void *verify_ctx;
	/* RequireTargetReady (docs/autodiscover.md): ask the Autodiscover
	 * v2 endpoint for `smtp` (base from `url`, NULL: Exchange Online),
	 * with verify_ctx; same contract as verify.  NULL when there is no
	 * client. */
	int (*ready)(void *ctx, const char *smtp, const char *url,
		     const ps_ad_result **res);
	int rehearsal;                  /* rehearse: nothing is asked */
	const char *local_appdata;      /* known folder, or NULL */
	const ps_adcache_file *cached;  /* cached Autodiscover files */
	size_t ncached;
	/* The profile's newest committed backup generation, or NULL: a
	 * unit the mapping would move straight back to where that update
	 * moved it from is blocked, never given a new generation. */
	const struct ps_generation *last;
} ps_plan_opts;

int ps_plan_build(ps_pplan *out, ps_store *s, const char *profile,
		  const ps_plan_opts *o);
/* The DN a matched unit names after its update: the mapping line's
 * TargetLegacyDN, or the unit's own DN for a line that only moves the
 * mailbox to another server (no TargetLegacyDN, TargetServer given);
 * NULL when the line has neither or the unit is not matched. */
const char *ps_plan_target_dn(const ps_unit *u);
/* Sections whose state changes, in plan order (array of pointers into
 * the plan; caller frees the array). */
/* The REG_DWORD values SameSmtpDomain=1 sets to 1 under Outlook's
 * AutoDiscover key, NULL-terminated. */
const char *const *ps_plan_same_domain_values(void);
int ps_plan_changed(const ps_pplan *p, ps_secstate ***out, size_t *n);
/* A mailbox GUID in 8-bit text: the first 8-4-4-4-12 hex GUID directly
 * followed by '@' (a "<guid>@<domain>" server name, a MAPI/HTTP URL's
 * "MailboxId=<guid>@<domain>", the server name inside a store entry ID)
 * and not preceded by a letter or digit.  1 with the GUID in lowercase
 * in out, else 0. */
int ps_plan_find_guid(const char *text, size_t len, char out[37]);
/* A GUID as a mapping gives it (8-4-4-4-12 hex digits, optionally in
 * {}), in lowercase into out; 0, or -1 when it is not one. */
int ps_plan_norm_guid(const char *guid, char out[37]);
/* R6 across organisations: 1 when OST=keep must become rename because
 * the unit moves from src_dn to another mailbox: another organisation
 * (the DNs' /o= differ) or another mailbox GUID (src_guid, the source's
 * from the profile, and tgt_guid, the mapping's TargetMailboxGuid, both
 * known, normalised, and different); 0 when the mailbox GUIDs are equal
 * or nothing says it is another mailbox.  With 1, why says why ("target
 * in another organisation (/o=X vs /o=Y)"). */
int ps_plan_ost_other_mailbox(const char *src_dn, const char *tgt_dn,
			      const char *src_guid, const char *tgt_guid,
			      char *why, size_t size);
/* A text value (REG_SZ or REG_EXPAND_SZ, UTF-16LE) under Office's key
 * (Common\Identity\...) as UTF-8; NULL when absent, not text, or out
 * of memory.  Caller frees. */
char *ps_plan_office_text(ps_store *s, const char *key, const char *name);
int ps_proplist_same(const ps_proplist *a, const ps_proplist *b);
void ps_plan_free(ps_pplan *p);

#endif
