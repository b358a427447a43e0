/*
 * profswitch on Linux: the core over the fake profile store (.reg
 * exports) and the POSIX system port.
 */
#include <stdio.h>

#include "ps_app.h"
#include "ps_error.h"
#include "ps_fakestore.h"
#include "ps_posix.h"

static int open_store(void *ctx, const char *path, ps_store **out)
{
	ps_system *sys = ctx;
	int error;

	if (!path)
		return ps_error_setc(PS_ERROR, "no store: on Linux give "
				     "--store with a .reg export");
	error = ps_fakestore_open(out, sys, path);
	if (error == 0)
		ps_posix_set_policy_source(sys, ps_fakestore_get_policy, *out);
	return error;
}

static int simulate_running(void *ctx, const ps_strlist *names)
{
	return ps_posix_set_processes(ctx, names);
}

int main(int argc, char **argv)
{
	ps_system *sys = NULL;
	ps_app_env env;
	int status;

	if (ps_posix_system_new(&sys) < 0) {
		fputs("profswitch: out of memory\n", stderr);
		return 70;
	}
	env.sys = sys;
	env.open_store = open_store;
	env.simulate_running = simulate_running;
	env.ctx = sys;
	env.out = stdout;
	env.err = stderr;
	status = ps_app_main(&env, argc, argv);
	ps_sys_free(sys);
	return status;
}
