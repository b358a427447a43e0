/*
 * The store port's wrapper: the only file that calls ps_store_ops.
 * Asserts the contract, supplies defaults for optional methods and calls
 * the trace hook before every write.
 */
#include "ps_store.h"

#include <assert.h>
#include <stdlib.h>

#include "ps_error.h"

static void trace(ps_store *s, const char *method, const char *profile)
{
	if (s->trace)
		s->trace(s->trace_ctx, method, profile);
}

int ps_store_list_profiles(ps_store *s, ps_strlist *out)
{
	assert(s && s->ops && out);
	return s->ops->list_profiles(s, out);
}

int ps_store_default_profile(ps_store *s, char **out)
{
	assert(s && out);
	return s->ops->default_profile(s, out);
}

int ps_store_list_services(ps_store *s, const char *profile,
			   ps_service **out, size_t *count)
{
	assert(s && profile && out && count);
	return s->ops->list_services(s, profile, out, count);
}

void ps_services_free(ps_service *v, size_t count)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < count; i++) {
		free(v[i].service_name);
		free(v[i].display_name);
	}
	free(v);
}

int ps_store_open_section(ps_store *s, const char *profile,
			  const ps_uid *uid, unsigned flags, ps_section **out)
{
	assert(s && profile && uid && out);
	if (flags & PS_OPEN_CREATE)
		trace(s, "open_section(create)", profile);
	return s->ops->open_section(s, profile, uid, flags, out);
}

int ps_store_get_props(ps_store *s, ps_section *sec, ps_proplist *out)
{
	assert(s && sec && out);
	return s->ops->get_props(s, sec, out);
}

int ps_store_set_props(ps_store *s, ps_section *sec, const ps_prop *props,
		       size_t n)
{
	assert(s && sec && (props || !n));
	if (!n)
		return 0;
	trace(s, "set_props", NULL);
	return s->ops->set_props(s, sec, props, n);
}

int ps_store_delete_props(ps_store *s, ps_section *sec,
			  const uint32_t *tags, size_t n)
{
	assert(s && sec && (tags || !n));
	if (!n)
		return 0;
	trace(s, "delete_props", NULL);
	return s->ops->delete_props(s, sec, tags, n);
}

int ps_store_save_section(ps_store *s, ps_section *sec)
{
	assert(s && sec);
	trace(s, "save_section", NULL);
	return s->ops->save_section(s, sec);
}

void ps_store_close_section(ps_store *s, ps_section *sec)
{
	assert(s);
	if (sec)
		s->ops->close_section(s, sec);
}

/* Default for stores that cannot remove a section: empty it. */
static int delete_section_by_props(ps_store *s, const char *profile,
				   const ps_uid *uid)
{
	ps_section *sec = NULL;
	ps_proplist props = PS_PROPLIST_INIT;
	uint32_t *tags = NULL;
	size_t i;
	int error;

	error = s->ops->open_section(s, profile, uid, 0, &sec);
	/* Real MAPI cannot tell a missing section from an empty one, and
	 * a provider may drop a section emptied at save: gone either way. */
	if (error == PS_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	error = s->ops->get_props(s, sec, &props);
	if (error < 0)
		goto done;
	tags = calloc(props.n ? props.n : 1, sizeof(*tags));
	if (!tags) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < props.n; i++)
		tags[i] = props.v[i].tag;
	error = props.n ? s->ops->delete_props(s, sec, tags, props.n) : 0;
	if (!error)
		error = s->ops->save_section(s, sec);
done:
	free(tags);
	ps_proplist_free(&props);
	s->ops->close_section(s, sec);
	return error;
}

int ps_store_delete_section(ps_store *s, const char *profile,
			    const ps_uid *uid)
{
	assert(s && profile && uid);
	trace(s, "delete_section", profile);
	if (!s->ops->delete_section)
		return delete_section_by_props(s, profile, uid);
	return s->ops->delete_section(s, profile, uid);
}

int ps_store_flush(ps_store *s)
{
	assert(s);
	if (!s->ops->flush)
		return 0;
	trace(s, "flush", NULL);
	return s->ops->flush(s);
}

int ps_store_owner(ps_store *s, char **user)
{
	assert(s && user);
	if (!s->ops->owner)
		return PS_ENOTFOUND;
	return s->ops->owner(s, user);
}

void ps_store_free(ps_store *s)
{
	if (s)
		s->ops->free(s);
}

int ps_store_read_section(ps_store *s, const char *profile,
			  const ps_uid *uid, ps_proplist *out)
{
	ps_section *sec = NULL;
	int error;

	error = ps_store_open_section(s, profile, uid, 0, &sec);
	if (error < 0)
		return error;
	error = ps_store_get_props(s, sec, out);
	ps_store_close_section(s, sec);
	return error;
}

#define HAS2(s, m) ((s)->ops->version >= 2 && (s)->ops->m)

int ps_store_get_value(ps_store *s, const char *subkey, const char *name,
		       uint32_t *type, uint8_t **data, size_t *len)
{
	assert(s && subkey && name && type && data && len);
	if (!HAS2(s, get_value))
		return PS_ENOTFOUND;
	return s->ops->get_value(s, subkey, name, type, data, len);
}

int ps_store_set_value(ps_store *s, const char *subkey, const char *name,
		       uint32_t type, const uint8_t *data, size_t len)
{
	assert(s && subkey && name && (data || !len));
	trace(s, "set_value", "");
	if (!HAS2(s, set_value))
		return ps_error_setc(PS_ERROR, "this profile store cannot "
				     "write Outlook settings");
	return s->ops->set_value(s, subkey, name, type, data, len);
}

int ps_store_delete_value(ps_store *s, const char *subkey, const char *name)
{
	assert(s && subkey && name);
	trace(s, "delete_value", "");
	if (!HAS2(s, delete_value))
		return ps_error_setc(PS_ERROR, "this profile store cannot "
				     "write Outlook settings");
	return s->ops->delete_value(s, subkey, name);
}

#define HAS3(s, m) ((s)->ops->version >= 3 && (s)->ops->m)

int ps_store_list_key(ps_store *s, const char *key, ps_strlist *subkeys,
		      ps_strlist *values)
{
	assert(s && key && subkeys && values);
	if (!HAS3(s, list_key))
		return PS_ENOTFOUND;
	return s->ops->list_key(s, key, subkeys, values);
}

int ps_store_get_office_value(ps_store *s, const char *key,
			      const char *name, uint32_t *type,
			      uint8_t **data, size_t *len)
{
	assert(s && key && name && type && data && len);
	if (!HAS3(s, get_office_value))
		return PS_ENOTFOUND;
	return s->ops->get_office_value(s, key, name, type, data, len);
}

int ps_store_set_office_value(ps_store *s, const char *key,
			      const char *name, uint32_t type,
			      const uint8_t *data, size_t len)
{
	assert(s && key && (data || !len));
	trace(s, "set_office_value", "");
	if (!HAS3(s, set_office_value))
		return ps_error_setc(PS_ERROR, "this profile store cannot "
				     "write Office settings");
	return s->ops->set_office_value(s, key, name, type, data, len);
}

int ps_store_delete_key(ps_store *s, const char *key)
{
	assert(s && key && *key);
	trace(s, "delete_key", "");
	if (!HAS3(s, delete_key))
		return ps_error_setc(PS_ERROR, "this profile store cannot "
				     "write Office settings");
	return s->ops->delete_key(s, key);
}
