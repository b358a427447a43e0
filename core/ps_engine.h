/*
 * The engine: update, rollback and cleanup over a store, profile by
 * profile, all-or-nothing per profile (docs/architecture.md).
 */
#ifndef PS_ENGINE_H
#define PS_ENGINE_H

#include "ps_config.h"
#include "ps_http.h"
#include "ps_xml.h"
#include "ps_log.h"
#include "ps_mapping.h"
#include "ps_report.h"
#include "ps_store.h"
#include "ps_system.h"

typedef struct ps_engine {
	ps_store *store;
	ps_system *sys;
	const ps_config *cfg;
	const ps_mapping *map;   /* update only */
	ps_log *log;             /* may be NULL */
	ps_report *report;
	int dry_run;
	int reprocess;
	int rehearsal;           /* rehearse: Autodiscover is never asked */
	int all;                 /* rollback --all */
	long long deadline;      /* GlobalTimeoutSeconds: 0 = none, else
	                            the clock value the run must end by */
	/* Called after each profile (may be NULL): the app writes the log
	 * so far, so that a crash later loses at most one profile's lines. */
	void (*after_profile)(void *ctx);
	void *after_ctx;
	ps_http *http;           /* Autodiscover (may be NULL) */
	ps_xml *xml;             /* cached files, Autodiscover (may be NULL) */
	/* Engine state (ps_engine_free releases it). */
	struct ps_engine_ad *ad;
	char *local_appdata;
	struct ps_adcache_file *cached;
	size_t ncached;
	struct ps_gen_file *touched;  /* files changed this run, as before */
	size_t ntouched;
	int remember;                 /* rollback/cleanup: note files first */
} ps_engine;

void ps_engine_free(ps_engine *e);

/* The profiles to work on: `names` (from --profile) when not empty, the
 * default profile with default_only, else the configuration's Profiles.
 * Names that do not exist are logged and skipped. */
int ps_engine_profiles(ps_engine *e, const ps_strlist *names,
		       int default_only, ps_strlist *out);
/* Each returns 0 when the run went through (statuses are in the report),
 * or a negative code when the store could not be read at all. */
int ps_engine_update(ps_engine *e, const ps_strlist *profiles);
/* *nothing = 1 when no selected profile had a backup. */
int ps_engine_rollback(ps_engine *e, const ps_strlist *profiles,
		       int *nothing);
int ps_engine_cleanup(ps_engine *e, const ps_strlist *profiles,
		      int *nothing);

/* Persist the run (flush the store).  When that fails, every row that
 * said updated, rolled-back or cleaned becomes failed ("nothing was
 * changed") and PS_EIO is returned. */
int ps_engine_commit(ps_engine *e);

#endif
