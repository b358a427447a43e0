/*
 * Group Policy values that lock what an update changes (docs/guards.md,
 * "Group Policy conflicts").  Values are read through the system port.
 */
#ifndef PS_POLICY_H
#define PS_POLICY_H

#include "ps_config.h"
#include "ps_plan.h"
#include "ps_system.h"

/* Conflicts between a profile's plan and the policies in force: one
 * message per conflict ("policy KEY\\VALUE = V enforces X; CHANGE"). */
int ps_policy_conflicts(ps_system *sys, const ps_config *cfg,
			const ps_pplan *plan, ps_strlist *out);
/* Every Outlook policy value of the table that is set, with what it
 * enforces and which changes it would block (for inspect). */
int ps_policy_list(ps_system *sys, ps_strlist *out);

#endif
