/*
 * The system port: everything the core needs from the operating system.
 * Same rules as the store port (ps_store.h): embed `ps_system` first,
 * reach it only through the wrappers in core/system.c.
 */
#ifndef PS_SYSTEM_H
#define PS_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#include "ps_str.h"

typedef struct ps_system ps_system;

#define PS_SYSTEM_OPS_VERSION 6

/* Registry value types (winnt.h numbering) for policy reads. */
#define PS_REG_SZ 1u
#define PS_REG_EXPAND_SZ 2u
#define PS_REG_BINARY 3u
#define PS_REG_DWORD 4u
#define PS_REG_MULTI_SZ 7u
#define PS_REG_QWORD 11u

typedef struct ps_system_ops {
	int version;
	/* Whole file.  PS_ENOTFOUND when absent, PS_ELIMIT when larger than
	 * max bytes, PS_EIO otherwise.  *data is NUL-terminated (extra). */
	int (*read_file)(ps_system *sys, const char *path, size_t max,
			 uint8_t **data, size_t *len);
	/* Replace a file atomically: temp file, flush, rename.  On failure
	 * the old file is untouched.  Since version 3 a missing folder
	 * above a file under a known folder is created (mode 0700). */
	int (*write_file)(ps_system *sys, const char *path, const void *data,
			  size_t len);
	/* Append to a file, creating it. */
	int (*append_file)(ps_system *sys, const char *path, const void *data,
			   size_t len);
	/* Seconds since 1970-01-01 UTC. */
	int64_t (*now)(ps_system *sys);
	/* Environment variable; PS_ENOTFOUND when unset. */
	int (*get_env)(ps_system *sys, const char *name, char **out);
	int (*host_name)(ps_system *sys, char **out);
	int (*user_name)(ps_system *sys, char **out);
	/* Image names of the current user's running processes. */
	int (*list_processes)(ps_system *sys, ps_strlist *out);
	/* A policy value: key relative to HKCU (e.g.
	 * "Software\\Policies\\Microsoft\\Office\\16.0\\Outlook\\OST"),
	 * value name; PS_ENOTFOUND when absent.  *data is owned by caller. */
	int (*get_policy)(ps_system *sys, const char *key, const char *value,
			  uint32_t *type, uint8_t **data, size_t *len);
	void (*free)(ps_system *sys);
	/* ---- version 2 (logon-time guards, docs/guards.md) ---- */
	/* Wait this many seconds (a simulated clock just advances). */
	void (*sleep)(ps_system *sys, unsigned seconds);
	/* Ask every process of the current user with this image name to
	 * close (WM_CLOSE to its top-level windows; never a kill).  0 when
	 * a request was made; PS_ENOTFOUND when none runs. */
	int (*close_process)(ps_system *sys, const char *name);
	/* Exclusive lock for one writer per store (key: the store's path
	 * or a per-user name).  PS_ELOCKED at once when another holder has
	 * it; *token is released with unlock. */
	int (*lock)(ps_system *sys, const char *key, void **token);
	void (*unlock)(ps_system *sys, void *token);
	/* Start a command and do not wait (RunAfter).  A backend that must
	 * not run anything (the fake store) records it and says so in *how
	 * ("recorded, not executed"); caller frees *how. */
	int (*start_process)(ps_system *sys, const char *command, char **how);
	/* A local folder for logs when the configured one cannot be
	 * written; created when missing. */
	int (*local_log_dir)(ps_system *sys, char **out);
	/* ---- version 3 (Autodiscover files, docs/autodiscover.md) ---- */
	/* Paths under a known folder are Windows paths ("C:\Users\...",
	 * backslashes); every method that takes a path accepts them (the
	 * POSIX backend keeps drive C: in $PROFSWITCH_DRIVE_C and refuses
	 * other drives and ".." components there).  Added after
	 * local_log_dir; a backend older than 3 gets the defaults of
	 * core/system.c. */
	/* A known folder as the user's Windows sees it: "LocalAppData"
	 * (C:\Users\NAME\AppData\Local).  PS_ENOTFOUND when unknown; *out
	 * is the caller's. */
	int (*known_folder)(ps_system *sys, const char *name, char **out);
	/* Names (not paths) of the regular files in a folder (no folders,
	 * no symbolic links), sorted by byte order, into the empty *out;
	 * PS_ENOTFOUND when the folder is missing.  On failure *out stays
	 * empty. */
	int (*list_dir)(ps_system *sys, const char *path, ps_strlist *out);
	/* Delete one file; PS_ENOTFOUND when absent (nothing deleted). */
	int (*delete_file)(ps_system *sys, const char *path);
	/* ---- version 4 (mapping integrity, docs/security.md) ---- */
	/* SHA-256 of a buffer (the platform's crypto library). */
	int (*sha256)(ps_system *sys, const void *data, size_t len,
		      uint8_t out[32]);
	/* ---- version 5 (compiled mapping, docs/formats.md) ---- */
	/* Ranged reads of one file, with the same path rules as read_file
	 * (drive C: mapping, no symbolic link, regular files only).
	 * open_read: PS_ENOTFOUND when absent, PS_EIO otherwise; *size is
	 * the file's size.  read_at reads exactly len bytes at off: a short
	 * read (past the end) is PS_EIO with a message naming the file.
	 * close_read releases the handle (NULL is fine).  A backend older
	 * than 5 gets defaults that read the whole file with read_file. */
	int (*open_read)(ps_system *sys, const char *path, void **handle,
			 uint64_t *size);
	int (*read_at)(ps_system *sys, void *handle, uint64_t off, void *buf,
		       size_t len);
	void (*close_read)(ps_system *sys, void *handle);
	/* ---- version 6 (reports and logs, docs/deploying.md) ---- */
	/* write_file and append_file for files that others may read (the
	 * report, the log): a file created, or replaced by write_file_mode,
	 * gets these permission bits (POSIX; 0640 by default, ReportMode);
	 * a Windows backend leaves the folder's inherited ACL.  A backend
	 * older than 6 gets write_file and append_file. */
	int (*write_file_mode)(ps_system *sys, const char *path,
			       const void *data, size_t len, unsigned mode);
	int (*append_file_mode)(ps_system *sys, const char *path,
				const void *data, size_t len, unsigned mode);
	/* The folder of the running executable, without a trailing
	 * separator (profswitch.ini beside profswitchw.exe).  PS_ENOTFOUND
	 * when unknown; *out is the caller's. */
	int (*exe_dir)(ps_system *sys, char **out);
} ps_system_ops;

struct ps_system {
	const ps_system_ops *ops;
};

int ps_sys_read_file(ps_system *sys, const char *path, size_t max,
		     uint8_t **data, size_t *len);
int ps_sys_write_file(ps_system *sys, const char *path, const void *data,
		      size_t len);
int ps_sys_append_file(ps_system *sys, const char *path, const void *data,
		       size_t len);
int64_t ps_sys_now(ps_system *sys);
int ps_sys_get_env(ps_system *sys, const char *name, char **out);
int ps_sys_host_name(ps_system *sys, char **out);
int ps_sys_user_name(ps_system *sys, char **out);
int ps_sys_list_processes(ps_system *sys, ps_strlist *out);
int ps_sys_get_policy(ps_system *sys, const char *key, const char *value,
		      uint32_t *type, uint8_t **data, size_t *len);
void ps_sys_free(ps_system *sys);
void ps_sys_sleep(ps_system *sys, unsigned seconds);
int ps_sys_close_process(ps_system *sys, const char *name);
int ps_sys_lock(ps_system *sys, const char *key, void **token);
void ps_sys_unlock(ps_system *sys, void *token);
int ps_sys_start_process(ps_system *sys, const char *command, char **how);
int ps_sys_local_log_dir(ps_system *sys, char **out);
int ps_sys_known_folder(ps_system *sys, const char *name, char **out);
int ps_sys_list_dir(ps_system *sys, const char *path, ps_strlist *out);
int ps_sys_delete_file(ps_system *sys, const char *path);
/* PS_ERROR with a message when the backend cannot hash. */
int ps_sys_sha256(ps_system *sys, const void *data, size_t len,
		  uint8_t out[32]);
/* Version 5; older backends: the whole file is read at open_read (at most
 * PS_SYS_DEFAULT_READ_MAX bytes) and served from memory. */
#define PS_SYS_DEFAULT_READ_MAX ((size_t)1 << 30)
int ps_sys_open_read(ps_system *sys, const char *path, void **handle,
		     uint64_t *size);
int ps_sys_read_at(ps_system *sys, void *handle, uint64_t off, void *buf,
		   size_t len);
void ps_sys_close_read(ps_system *sys, void *handle);
/* Version 6; older backends: write_file / append_file (mode ignored),
 * and exe_dir PS_ENOTFOUND. */
#define PS_SYS_DEFAULT_FILE_MODE 0640u
int ps_sys_write_file_mode(ps_system *sys, const char *path,
			   const void *data, size_t len, unsigned mode);
int ps_sys_append_file_mode(ps_system *sys, const char *path,
			    const void *data, size_t len, unsigned mode);
int ps_sys_exe_dir(ps_system *sys, char **out);
/* The size of a file, through open_read: only on a backend with ranged
 * reads (version 5), never by reading it whole.  PS_ENOTFOUND with a
 * message when it cannot be known. */
int ps_sys_file_size(ps_system *sys, const char *path, uint64_t *size);

#endif
