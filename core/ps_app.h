/*
 * The command line (docs/contract.md) over injected ports, so the
 * Linux and Windows mains stay a few lines each.
 */
#ifndef PS_APP_H
#define PS_APP_H

#include <stdio.h>

#include "ps_store.h"
#include "ps_http.h"
#include "ps_system.h"
#include "ps_xml.h"

/* Without --store, the name of the store in messages and the key of its
 * single-instance lock: the MAPI profiles of the user running it. */
#define PS_APP_MAPI_STORE "the MAPI profiles"

typedef struct ps_app_env {
	ps_system *sys;
	/* Open the store named by --store (path NULL: the platform's own,
	 * real MAPI on Windows).  Errors: PS_ENOTFOUND / PS_EIO (cannot
	 * read), PS_EFORMAT / PS_ELIMIT (bad export), others (unavailable). */
	int (*open_store)(void *ctx, const char *path, ps_store **out);
	/* The same for a command that only reads (inspect): a store that
	 * open_store refuses because it must not be written, but that can
	 * be read as it is (an NTUSER.DAT hive that was not cleanly
	 * unloaded), is opened, with *warning saying so (caller frees;
	 * NULL when there is nothing to say).  May be NULL: open_store. */
	int (*open_store_read)(void *ctx, const char *path, ps_store **out,
			       char **warning);
	/* 1: without --store, open_store(NULL) is the platform's own
	 * profile store (real MAPI on Windows); 0: --store is required. */
	int own_store;
	/* --simulate-running names (fake store only; may be NULL). */
	int (*simulate_running)(void *ctx, const ps_strlist *names);
	/* The http and xml ports (NULL: none on this platform).  ca_file
	 * (may be NULL) is a CA trusted in addition to the system's. */
	int (*open_http)(void *ctx, const char *ca_file, ps_http **out);
	int (*open_xml)(void *ctx, ps_xml **out);
	/* Who, besides administrators, may change this file (the
	 * configuration or the mapping: whoever can write them can point
	 * every user's Outlook anywhere).  0 with *who NULL: nobody else;
	 * 0 with *who set ("BUILTIN\\Users", "everyone", ...; caller
	 * frees): a warning; <0: cannot tell (no warning).  May be NULL. */
	int (*writable_by)(void *ctx, const char *path, char **who);
	/* ---- rehearse (docs/rehearsal.md); NULL: not on this platform --
	 * The stores one argument names: a file is itself; a folder is
	 * searched recursively (symbolic links not followed) for `.reg`
	 * files and files named NTUSER.DAT, sorted by path.  What the walk
	 * cannot read (a folder it may not open or list, one too deep, an
	 * entry it cannot stat) goes into *problems as pairs: path, then
	 * reason.  PS_ENOTFOUND / PS_EIO when the argument itself cannot be
	 * read, PS_ELIMIT past the input limit. */
	int (*list_stores)(void *ctx, const char *path, ps_strlist *out,
			   ps_strlist *problems);
	/* One input for a dry run, callable from several threads at once:
	 * its own store and a system port whose policies come from that
	 * store, with no processes, no locks, no known folders and no
	 * writes.  Release with ps_store_free and ps_sys_free.  Opens what
	 * open_store_read opens, with the same *warning (caller frees). */
	int (*open_rehearsal)(void *ctx, const char *path, ps_store **store,
			      ps_system **sys, char **warning);
	/* Run job(arg, worker, i) for every i < n on `workers` threads
	 * (worker < workers); progress(arg, done, n, seconds) runs on the
	 * calling thread at most four times a second and once at the end
	 * (progress may be NULL).  NULL hook: the app runs the jobs one by
	 * one. */
	int (*parallel)(void *ctx, size_t n, unsigned workers,
			void (*job)(void *arg, unsigned worker, size_t i),
			void (*progress)(void *arg, size_t done, size_t n,
					 double seconds),
			void *arg);
	unsigned (*cpu_count)(void *ctx);
	/* 1 when the stream is a terminal (progress is shown there). */
	int (*is_terminal)(void *ctx, FILE *f);
	/* 1 (Windows): with no arguments at all, run `update --config
	 * DIR/profswitch.ini` when that file is beside the executable
	 * (ps_sys_exe_dir); else exit 64 with a logged message. */
	int ini_beside_exe;
	/* ---- fleet (docs/rehearsal.md); NULL: not on this platform ----
	 * The report files one argument names: a file is itself (missing or
	 * not: reading it says what is wrong); a folder is searched as
	 * list_stores searches, for files whose names end in .csv or .json,
	 * sorted by path.  (*mtimes)[i] is the modification time of
	 * out->v[i] in seconds since 1970 (0: unknown); caller frees. */
	int (*list_reports)(void *ctx, const char *path, ps_strlist *out,
			    int64_t **mtimes, ps_strlist *problems);
	void *ctx;
	FILE *out;
	FILE *err;
	/* Set by ps_app_main on its own copy (callers leave it NULL): what
	 * this run said went wrong, for the log line every run writes. */
	struct ps_app_trace *trace;
} ps_app_env;

/* LogFile expansion: #H host, #D date (YYYYMMDD), #T time (HHMMSS), both
 * UTC from the system clock, %VAR% environment variables (an unset one
 * is kept as written).  Caller frees. */
char *ps_expand_path(ps_system *sys, const char *in);

/* The no-argument logon run (ini_beside_exe): *path is DIR/profswitch.ini
 * when ps_sys_exe_dir gives DIR and the file is there (caller frees);
 * else PS_ENOTFOUND with a message saying where it was looked for, or
 * the port's error for a file that is there but cannot be opened. */
int ps_app_ini_beside_exe(ps_system *sys, char **path);

/* `profswitch --help-man`: the man page (docs/profswitch.1) written from
 * the same text as --help and CMD --help. */
void ps_app_man_page(FILE *out);

/* Returns the process exit status (docs/exit-codes.md). */
int ps_app_main(ps_app_env *env, int argc, char **argv);

#endif
