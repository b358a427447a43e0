/*
 * profswitch on Linux: the core over the fake profile store (.reg
 * exports) and the POSIX system port.
 */
#include <stdio.h>

#include "ps_app.h"
#include "ps_posix.h"

int main(int argc, char **argv)
{
	ps_system *sys = NULL;
	ps_app_env env;
	int status;

	if (ps_posix_system_new(&sys) < 0) {
		fputs("profswitch: out of memory\n", stderr);
		return 70;
	}
	ps_posix_app_env(&env, sys, stdout, stderr);
	status = ps_app_main(&env, argc, argv);
	ps_sys_free(sys);
	return status;
}
