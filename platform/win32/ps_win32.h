/*
 * The Win32 adapters of the shipped binary (docs/deploying.md).  Nothing
 * Win32 is used outside platform/win32/ (and the fake MAPI provider in
 * fakemapi/provider/, which is a Windows DLL by nature).
 */
#ifndef PS_WIN32_H
#define PS_WIN32_H

#include <stdio.h>

#include "../../core/ps_http.h"
#include "../../core/ps_store.h"
#include "../../core/ps_system.h"
#include "../../core/ps_xml.h"

struct ps_app_env;

/* The system port: files (UTF-8 paths, converted to UTF-16), registry
 * policies (HKCU), Toolhelp processes, WM_CLOSE, known folders, the
 * single-instance lock, SHA-256 (BCrypt).  win32_system.c */
int ps_win32_system_new(ps_system **out);
/* Where get_policy reads: fn (the fake store's export with --store) or,
 * with fn NULL, the registry (HKCU). */
typedef int (*ps_win32_policy_fn)(void *ctx, const char *key,
				  const char *value, uint32_t *type,
				  uint8_t **data, size_t *len);
void ps_win32_set_policy_source(ps_system *sys, ps_win32_policy_fn fn,
				void *ctx);
/* Working on an export (--store): RunAfter is recorded, never started
 * (an administrator's machine must not start the user's Outlook), as in
 * the Linux build. */
void ps_win32_set_record_only(ps_system *sys);

/* Extended MAPI's profile administration as the store port
 * (win32_store.c).  The MAPI DLL is found as Microsoft's MAPI stub
 * library finds it: HKLM\Software\Clients\Mail (default) -> that
 * client's DLLPathEx, else mapi32.dll.  When MAPI cannot be loaded or
 * initialised: PS_ERROR with a message (the app exits 69); a DLL of the
 * other bitness says which build of profswitch to use instead. */
int ps_win32_mapi_open(ps_system *sys, ps_store **out);

/* WinHTTP (win32_http.c): no automatic redirects, TLS always verified;
 * ca_file (may be NULL): a PEM CA trusted in addition to the system's,
 * by checking the server's chain against it (verification is never
 * switched off). */
int ps_win32_http_new(const char *ca_file, ps_http **out);

/* XmlLite (win32_xml.c) with DTD processing prohibited. */
int ps_win32_xml_new(ps_xml **out);

/* UTF-8 <-> UTF-16 for Win32 calls (win32_util.c).  NULL on a bad
 * string or out of memory (message set).  Caller frees. */
wchar_t *ps_win32_wide(const char *utf8);
char *ps_win32_utf8(const wchar_t *wide);
/* "what: <the Windows message for code>" as the current error. */
int ps_win32_error(int code, unsigned long winerr, const char *fmt, ...);

/* Who besides Administrators, SYSTEM, TrustedInstaller and CREATOR
 * OWNER has a write-like right in the file's DACL: *who "DOMAIN\\name,
 * ..." (caller frees) or NULL.  win32_acl.c */
int ps_win32_writable_by(const char *path, char **who);

/* The app environment of the Windows build: --store PATH is a .reg
 * export (the fake store, as on Linux); no --store is real MAPI. */
void ps_win32_app_env(struct ps_app_env *env, ps_system *sys, FILE *out,
		      FILE *err);

#endif
