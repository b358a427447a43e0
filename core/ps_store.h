/*
 * The store port: MAPI profile administration in MAPI's own terms.
 *
 * Modelled on IProfAdmin / IMsgServiceAdmin / IProfSect.  A backend embeds
 * `ps_store` first and fills `ops`.  The core never calls ops directly:
 * core/store.c wraps every method (asserts, defaults for optional methods,
 * tracing).  New methods are appended; `version` says how many exist.
 *
 * Values are in their registry encoding (ps_prop.h).  Unless said otherwise
 * a method returns 0, PS_ENOTFOUND, or another negative code with the
 * message set, and on failure leaves its out-parameters untouched.
 */
#ifndef PS_STORE_H
#define PS_STORE_H

#include <stddef.h>

#include "ps_prop.h"
#include "ps_str.h"

typedef struct ps_store ps_store;
typedef struct ps_section ps_section; /* backend-defined */

typedef struct ps_service {
	ps_uid uid;
	char *service_name;  /* PR_SERVICE_NAME, e.g. "MSEMS", "MSUPST MS" */
	char *display_name;  /* PR_DISPLAY_NAME or "" */
} ps_service;

#define PS_OPEN_CREATE 1u /* create the section when missing */

#define PS_STORE_OPS_VERSION 3

typedef struct ps_store_ops {
	int version;
	/* Names of all profiles, in the backend's order. */
	int (*list_profiles)(ps_store *s, ps_strlist *out);
	/* The default profile name; PS_ENOTFOUND when none is set. */
	int (*default_profile)(ps_store *s, char **out);
	/* Message services of a profile in profile order (PR_SERVICES).
	 * PS_ENOTFOUND when the profile does not exist.  *out is an array
	 * the caller frees with ps_services_free(). */
	int (*list_services)(ps_store *s, const char *profile,
			     ps_service **out, size_t *count);
	/* Open a profile section (IMsgServiceAdmin::OpenProfileSection with
	 * MAPI_MODIFY).  Missing section: PS_ENOTFOUND unless PS_OPEN_CREATE.
	 * The handle is released with close_section. */
	int (*open_section)(ps_store *s, const char *profile,
			    const ps_uid *uid, unsigned flags,
			    ps_section **out);
	/* All properties of the section (GetProps with no tag array). */
	int (*get_props)(ps_store *s, ps_section *sec, ps_proplist *out);
	/* SetProps: on failure none or some props may have been set in the
	 * open handle; nothing is persisted before save_section. */
	int (*set_props)(ps_store *s, ps_section *sec, const ps_prop *props,
			 size_t n);
	/* DeleteProps: missing tags are not an error. */
	int (*delete_props)(ps_store *s, ps_section *sec,
			    const uint32_t *tags, size_t n);
	/* SaveChanges: make the handle's changes part of the profile. */
	int (*save_section)(ps_store *s, ps_section *sec);
	void (*close_section)(ps_store *s, ps_section *sec);
	/* Optional: remove a whole section.  Default: delete all its props
	 * and save; a section already missing (or empty, which MAPI cannot
	 * tell apart) is not an error. */
	int (*delete_section)(ps_store *s, const char *profile,
			      const ps_uid *uid);
	/* Optional: persist everything saved so far (the fake store writes
	 * its file atomically here; real MAPI persists at save_section).
	 * Does nothing when nothing changed. */
	int (*flush)(ps_store *s);
	/* Optional: the user the store belongs to (for reports). */
	int (*owner)(ps_store *s, char **user);
	void (*free)(ps_store *s);
	/* ---- version 2 (Autodiscover, docs/autodiscover.md) ---- */
	/* Values of Outlook's own registry key, HKCU\Software\Microsoft\
	 * Office\<version>\Outlook for the version whose profiles this
	 * store uses; subkey is relative to it ("AutoDiscover").  Types are
	 * PS_REG_* (ps_system.h).  get: PS_ENOTFOUND when absent; *data is
	 * the caller's.  set creates the key.  delete of a missing value is
	 * not an error.  Changes persist like sections (at flush for the
	 * fake store, at once for the registry). */
	int (*get_value)(ps_store *s, const char *subkey, const char *name,
			 uint32_t *type, uint8_t **data, size_t *len);
	int (*set_value)(ps_store *s, const char *subkey, const char *name,
			 uint32_t type, const uint8_t *data, size_t len);
	int (*delete_value)(ps_store *s, const char *subkey,
			    const char *name);
	/* ---- version 3 (Office sign-in cache, docs/update-rules.md) ---- */
	/* Keys relative to HKCU\Software\Microsoft\Office\<version> (the
	 * parent of the Outlook key above), e.g.
	 * "Common\Identity\Identities".  list_key appends the names of
	 * the key's subkeys and of its values, in the backend's order, to
	 * the two empty lists; PS_ENOTFOUND when the key is missing (lists
	 * left empty).  get/set_office_value are get/set_value for these
	 * keys; set with name NULL only creates the key.  delete_key
	 * removes the key and everything under it; a missing key is not an
	 * error.  Changes persist like get/set_value's. */
	int (*list_key)(ps_store *s, const char *key, ps_strlist *subkeys,
			ps_strlist *values);
	int (*get_office_value)(ps_store *s, const char *key,
				const char *name, uint32_t *type,
				uint8_t **data, size_t *len);
	int (*set_office_value)(ps_store *s, const char *key,
				const char *name, uint32_t type,
				const uint8_t *data, size_t len);
	int (*delete_key)(ps_store *s, const char *key);
} ps_store_ops;

struct ps_store {
	const ps_store_ops *ops;
	/* Optional trace hook (NULL = off): called by the wrappers before
	 * every write method with its name ("set_props", ...). */
	void (*trace)(void *ctx, const char *method, const char *profile);
	void *trace_ctx;
};

/* Wrappers: the only way the core reaches a store (core/store.c). */
int ps_store_list_profiles(ps_store *s, ps_strlist *out);
int ps_store_default_profile(ps_store *s, char **out);
int ps_store_list_services(ps_store *s, const char *profile,
			   ps_service **out, size_t *count);
void ps_services_free(ps_service *v, size_t count);
int ps_store_open_section(ps_store *s, const char *profile,
			  const ps_uid *uid, unsigned flags, ps_section **out);
int ps_store_get_props(ps_store *s, ps_section *sec, ps_proplist *out);
int ps_store_set_props(ps_store *s, ps_section *sec, const ps_prop *props,
		       size_t n);
int ps_store_delete_props(ps_store *s, ps_section *sec,
			  const uint32_t *tags, size_t n);
int ps_store_save_section(ps_store *s, ps_section *sec);
void ps_store_close_section(ps_store *s, ps_section *sec);
int ps_store_delete_section(ps_store *s, const char *profile,
			    const ps_uid *uid);
int ps_store_flush(ps_store *s);
int ps_store_owner(ps_store *s, char **user);
void ps_store_free(ps_store *s);

/* Version 2; PS_ENOTFOUND (get) or PS_ERROR (set, delete) with a message
 * when the backend has no such method. */
int ps_store_get_value(ps_store *s, const char *subkey, const char *name,
		       uint32_t *type, uint8_t **data, size_t *len);
int ps_store_set_value(ps_store *s, const char *subkey, const char *name,
		       uint32_t type, const uint8_t *data, size_t len);
int ps_store_delete_value(ps_store *s, const char *subkey, const char *name);

/* Version 3; a backend without them has no such keys: list_key says
 * PS_ENOTFOUND, the writes fail with a message. */
int ps_store_list_key(ps_store *s, const char *key, ps_strlist *subkeys,
		      ps_strlist *values);
int ps_store_get_office_value(ps_store *s, const char *key,
			      const char *name, uint32_t *type,
			      uint8_t **data, size_t *len);
int ps_store_set_office_value(ps_store *s, const char *key,
			      const char *name, uint32_t type,
			      const uint8_t *data, size_t len);
int ps_store_delete_key(ps_store *s, const char *key);

/* Convenience: read all props of one section (open, get, close). */
int ps_store_read_section(ps_store *s, const char *profile,
			  const ps_uid *uid, ps_proplist *out);

#endif
