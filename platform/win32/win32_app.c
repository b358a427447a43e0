/*
 * The app environment of the Windows build (ps_app.h): no --store is the
 * real MAPI profile store; --store PATH is a `.reg` export through the
 * fake store, exactly as on Linux, with its policies from the export.
 */
#include <windows.h>

#include <string.h>

#include "ps_win32.h"
#include "../../core/ps_app.h"
#include "../../core/ps_error.h"
#include "../../fakemapi/ps_fakestore.h"

static int env_open_store(void *ctx, const char *path, ps_store **out)
{
	ps_system *sys = ctx;
	int error;

	if (!path)
		return ps_win32_mapi_open(sys, out);
	error = ps_fakestore_open(out, sys, path);
	if (error == 0) {
		ps_win32_set_policy_source(sys, ps_fakestore_get_policy, *out);
		ps_win32_set_record_only(sys);
	}
	return error;
}

static int env_writable_by(void *ctx, const char *path, char **who)
{
	(void)ctx;
	return ps_win32_writable_by(path, who);
}

static int env_open_http(void *ctx, const char *ca_file, ps_http **out)
{
	(void)ctx;
	return ps_win32_http_new(ca_file, out);
}

static int env_open_xml(void *ctx, ps_xml **out)
{
	(void)ctx;
	return ps_win32_xml_new(out);
}

void ps_win32_app_env(struct ps_app_env *env, ps_system *sys, FILE *out,
		      FILE *err)
{
	memset(env, 0, sizeof(*env));
	env->sys = sys;
	env->open_store = env_open_store;
	env->own_store = 1;
	env->ini_beside_exe = 1;
	env->open_http = env_open_http;
	env->open_xml = env_open_xml;
	env->writable_by = env_writable_by;
	env->ctx = sys;
	env->out = out;
	env->err = err;
}
