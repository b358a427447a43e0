/*
 * The command line (SPEC.md "Command line") over injected ports, so the
 * Linux and Windows mains stay a few lines each.
 */
#ifndef PS_APP_H
#define PS_APP_H

#include <stdio.h>

#include "ps_store.h"
#include "ps_http.h"
#include "ps_system.h"
#include "ps_xml.h"

typedef struct ps_app_env {
	ps_system *sys;
	/* Open the store named by --store (path NULL: the platform's own,
	 * real MAPI on Windows).  Errors: PS_ENOTFOUND / PS_EIO (cannot
	 * read), PS_EFORMAT / PS_ELIMIT (bad export), others (unavailable). */
	int (*open_store)(void *ctx, const char *path, ps_store **out);
	/* --simulate-running names (fake store only; may be NULL). */
	int (*simulate_running)(void *ctx, const ps_strlist *names);
	/* The http and xml ports (NULL: none on this platform).  ca_file
	 * (may be NULL) is a CA trusted in addition to the system's. */
	int (*open_http)(void *ctx, const char *ca_file, ps_http **out);
	int (*open_xml)(void *ctx, ps_xml **out);
	void *ctx;
	FILE *out;
	FILE *err;
} ps_app_env;

/* LogFile expansion: #H host, #D date (YYYYMMDD), #T time (HHMMSS), both
 * UTC from the system clock, %VAR% environment variables (an unset one
 * is kept as written).  Caller frees. */
char *ps_expand_path(ps_system *sys, const char *in);

/* Returns the process exit status of SPEC.md. */
int ps_app_main(ps_app_env *env, int argc, char **argv);

#endif
