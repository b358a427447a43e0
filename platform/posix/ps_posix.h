/*
 * The system port on Linux/POSIX.  The fake store answers policy reads
 * and `--simulate-running` says which processes run.
 */
#ifndef PS_POSIX_H
#define PS_POSIX_H

#include <stdio.h>

#include "../../core/ps_system.h"

typedef int (*ps_policy_fn)(void *ctx, const char *key, const char *value,
			    uint32_t *type, uint8_t **data, size_t *len);

int ps_posix_system_new(ps_system **out);

/* The http port over libcurl (posix_http.c).  ca_file (may be NULL): a CA
 * trusted in addition to the system store. */
struct ps_http;
int ps_posix_http_new(const char *ca_file, struct ps_http **out);
/* The xml port over libxml2's xmlTextReader (posix_xml.c). */
struct ps_xml;
int ps_posix_xml_new(struct ps_xml **out);
/* Where get_policy reads (NULL: no policies). */
void ps_posix_set_policy_source(ps_system *sys, ps_policy_fn fn, void *ctx);
/* A system port for one rehearsal input: it reads, never writes or
 * deletes, and knows no known folders. */
void ps_posix_set_rehearsal(ps_system *sys);
/* A rehearsal's drive C: (a folder; NULL: none): where the input's
 * Windows paths are read (the OST's size, docs/rehearsal.md). */
int ps_posix_set_drive_c(ps_system *sys, const char *dir);
/* The processes list_processes reports (copied). */
int ps_posix_set_processes(ps_system *sys, const ps_strlist *names);

/* The app environment of the Linux build: the fake store (which also
 * answers policy reads) and simulated processes over `sys`.  out and err
 * are the streams the commands print to. */
struct ps_app_env;
void ps_posix_app_env(struct ps_app_env *env, ps_system *sys, FILE *out,
		      FILE *err);
/* The rehearse hooks of the app environment (posix_rehearse.c):
 * listing inputs, per-input stores, threads, progress. */
void ps_posix_rehearse_env(struct ps_app_env *env);

#endif
