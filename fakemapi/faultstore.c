/*
 * Fault injection over any store port backend, after SQLite's
 * test_vfs.c: the shim forwards every method to the wrapped store and
 * fails the Nth call (once, or from then on) of the write methods in the
 * armed mask.  A failed call returns PS_EIO without reaching the backend.
 */
#include "ps_fakestore.h"

#include <stdlib.h>

#include "../core/ps_error.h"

typedef struct faultstore {
	ps_store base;
	ps_store *inner;
	unsigned mask;
	unsigned nth;
	int persistent;
	unsigned calls;
	unsigned failed;
} faultstore;

static faultstore *fault_of(ps_store *s)
{
	return (faultstore *)s;
}

/* Count a call of `method`; 1 when it must fail. */
static int should_fail(faultstore *f, unsigned method, const char *name)
{
	if (!(f->mask & method))
		return 0;
	f->calls++;
	if (!f->nth)
		return 0;
	if (f->calls == f->nth || (f->persistent && f->calls > f->nth)) {
		f->failed++;
		ps_error_setc(PS_EIO, "injected fault: %s (write %u)", name,
			      f->calls);
		return 1;
	}
	return 0;
}

static int f_list_profiles(ps_store *s, ps_strlist *out)
{
	return fault_of(s)->inner->ops->list_profiles(fault_of(s)->inner,
						      out);
}

static int f_default_profile(ps_store *s, char **out)
{
	return fault_of(s)->inner->ops->default_profile(fault_of(s)->inner,
							out);
}

static int f_list_services(ps_store *s, const char *profile,
			   ps_service **out, size_t *count)
{
	ps_store *in = fault_of(s)->inner;

	return in->ops->list_services(in, profile, out, count);
}

static int f_open_section(ps_store *s, const char *profile,
			  const ps_uid *uid, unsigned flags, ps_section **out)
{
	ps_store *in = fault_of(s)->inner;

	return in->ops->open_section(in, profile, uid, flags, out);
}

static int f_get_props(ps_store *s, ps_section *sec, ps_proplist *out)
{
	ps_store *in = fault_of(s)->inner;

	return in->ops->get_props(in, sec, out);
}

static int f_set_props(ps_store *s, ps_section *sec, const ps_prop *props,
		       size_t n)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_SET_PROPS, "set_props"))
		return PS_EIO;
	return f->inner->ops->set_props(f->inner, sec, props, n);
}

static int f_delete_props(ps_store *s, ps_section *sec, const uint32_t *tags,
			  size_t n)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_DELETE_PROPS, "delete_props"))
		return PS_EIO;
	return f->inner->ops->delete_props(f->inner, sec, tags, n);
}

static int f_save_section(ps_store *s, ps_section *sec)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_SAVE, "save_section"))
		return PS_EIO;
	return f->inner->ops->save_section(f->inner, sec);
}

static void f_close_section(ps_store *s, ps_section *sec)
{
	ps_store *in = fault_of(s)->inner;

	in->ops->close_section(in, sec);
}

static int f_delete_section(ps_store *s, const char *profile,
			    const ps_uid *uid)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_DELETE_SECTION, "delete_section"))
		return PS_EIO;
	/* Through the wrapper so that a backend without the method gets
	 * the default behaviour. */
	return ps_store_delete_section(f->inner, profile, uid);
}

static int f_flush(ps_store *s)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_FLUSH, "flush"))
		return PS_EIO;
	return ps_store_flush(f->inner);
}

static int f_owner(ps_store *s, char **user)
{
	return ps_store_owner(fault_of(s)->inner, user);
}

static int f_get_value(ps_store *s, const char *subkey, const char *name,
		       uint32_t *type, uint8_t **data, size_t *len)
{
	return ps_store_get_value(fault_of(s)->inner, subkey, name, type,
				  data, len);
}

static int f_set_value(ps_store *s, const char *subkey, const char *name,
		       uint32_t type, const uint8_t *data, size_t len)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_VALUES, "set_value"))
		return PS_EIO;
	return ps_store_set_value(f->inner, subkey, name, type, data, len);
}

static int f_delete_value(ps_store *s, const char *subkey, const char *name)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_VALUES, "delete_value"))
		return PS_EIO;
	return ps_store_delete_value(f->inner, subkey, name);
}

static int f_list_key(ps_store *s, const char *key, ps_strlist *subkeys,
		      ps_strlist *values)
{
	return ps_store_list_key(fault_of(s)->inner, key, subkeys, values);
}

static int f_get_office_value(ps_store *s, const char *key,
			      const char *name, uint32_t *type,
			      uint8_t **data, size_t *len)
{
	return ps_store_get_office_value(fault_of(s)->inner, key, name, type,
					 data, len);
}

static int f_set_office_value(ps_store *s, const char *key,
			      const char *name, uint32_t type,
			      const uint8_t *data, size_t len)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_VALUES, "set_office_value"))
		return PS_EIO;
	return ps_store_set_office_value(f->inner, key, name, type, data,
					 len);
}

static int f_delete_key(ps_store *s, const char *key)
{
	faultstore *f = fault_of(s);

	if (should_fail(f, PS_FAULT_VALUES, "delete_key"))
		return PS_EIO;
	return ps_store_delete_key(f->inner, key);
}

static void f_free(ps_store *s)
{
	faultstore *f = fault_of(s);

	ps_store_free(f->inner);
	free(f);
}

static const ps_store_ops faultstore_ops = {
	PS_STORE_OPS_VERSION,
	f_list_profiles,
	f_default_profile,
	f_list_services,
	f_open_section,
	f_get_props,
	f_set_props,
	f_delete_props,
	f_save_section,
	f_close_section,
	f_delete_section,
	f_flush,
	f_owner,
	f_free,
	f_get_value,
	f_set_value,
	f_delete_value,
	f_list_key,
	f_get_office_value,
	f_set_office_value,
	f_delete_key,
};

int ps_faultstore_wrap(ps_store **out, ps_store *inner)
{
	faultstore *f = calloc(1, sizeof(*f));

	if (!f)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	f->base.ops = &faultstore_ops;
	f->inner = inner;
	f->mask = PS_FAULT_WRITES;
	*out = &f->base;
	return 0;
}

void ps_faultstore_arm(ps_store *s, unsigned mask, unsigned nth,
		       int persistent)
{
	faultstore *f = fault_of(s);

	f->mask = mask;
	f->nth = nth;
	f->persistent = persistent;
	f->calls = 0;
	f->failed = 0;
}

unsigned ps_faultstore_calls(ps_store *s)
{
	return fault_of(s)->calls;
}

unsigned ps_faultstore_failed(ps_store *s)
{
	return fault_of(s)->failed;
}

ps_store *ps_faultstore_inner(ps_store *s)
{
	return fault_of(s)->inner;
}
