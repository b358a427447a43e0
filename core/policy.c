/*
 * The policy-to-change table of docs/guards.md.
 */
#include "ps_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_utf.h"

/* What a plan changes that a policy can lock. */
enum {
	CH_CACHED_ON = 1,     /* sets the cached-mode bits */
	CH_CACHED_OFF = 2,    /* clears them */
	CH_OST = 4,           /* changes or removes the OST path */
	CH_RPC_PROXY = 8,     /* removes RPC/HTTP proxy values */
	CH_AUTODISCOVER = 16  /* SameSmtpDomain: Outlook\AutoDiscover values */
};

typedef struct rule {
	const char *key;      /* under ...\Office\V\Outlook */
	const char *value;
	int kind;             /* how to read the value */
	const char *enforces;
	unsigned blocks;      /* CH_* it locks */
	const char *blocks_text;
} rule;

enum { K_DWORD_1, K_DWORD_0, K_ANY, K_STRING, K_NOOST, K_NOT_1 };

static const rule rules[] = {
	{ "Cached Mode", "Enable", K_DWORD_1, "cached mode on",
	  CH_CACHED_OFF, "CachedMode=off (clearing cached mode)" },
	{ "Cached Mode", "Enable", K_DWORD_0, "cached mode off",
	  CH_CACHED_ON, "CachedMode=on (setting cached mode)" },
	{ "Cached Mode", "CachedExchangeMode", K_ANY, "cached mode on",
	  CH_CACHED_OFF, "CachedMode=off (clearing cached mode)" },
	{ "", "ForceOSTPath", K_STRING, "the OST folder", CH_OST,
	  "OST=rename or OST=recreate (changing the OST path)" },
	{ "OST", "NoOST", K_NOOST, "no OST file", CH_OST,
	  "OST=rename or OST=recreate (changing the OST path)" },
	{ "RPC", "ProxyServerName", K_ANY, "the RPC/HTTP proxy",
	  CH_RPC_PROXY, "removing the account's RPC/HTTP values" },
	{ "RPC", "ProxyServerFlags", K_ANY, "the RPC/HTTP proxy",
	  CH_RPC_PROXY, "removing the account's RPC/HTTP values" },
	{ "RPC", "ProxyAuthenticationService", K_ANY, "the RPC/HTTP proxy",
	  CH_RPC_PROXY, "removing the account's RPC/HTTP values" },
	{ "AutoDiscover", "ZeroConfigExchange", K_ANY, "Autodiscover", 0,
	  "nothing profswitch changes" },
#define AD_PIN(name) \
	{ "AutoDiscover", name, K_NOT_1, "Autodiscover's " name, \
	  CH_AUTODISCOVER, "SameSmtpDomain=1 (pinning Outlook to the " \
	  "local Autodiscover XML needs " name "=1)" }
	AD_PIN("PreferLocalXML"),
	AD_PIN("ExcludeHttpsRootDomain"),
	AD_PIN("ExcludeHttpsAutodiscoverDomain"),
	AD_PIN("ExcludeHttpRedirect"),
	AD_PIN("ExcludeSrvRecord"),
	AD_PIN("ExcludeScpLookup"),
	AD_PIN("ExcludeLastKnownGoodURL"),
	AD_PIN("ExcludeExplicitO365Endpoint"),
#undef AD_PIN
};

static const char *const versions[] = { "16.0", "15.0", NULL };

/* The value when the rule applies: text for messages in *shown. */
static int rule_applies(ps_system *sys, const rule *r, const char *ver,
			char *path, size_t pathsize, char *shown,
			size_t shownsize)
{
	ps_buf key = PS_BUF_INIT, text = PS_BUF_INIT;
	uint8_t *data = NULL;
	size_t len = 0;
	uint32_t type = 0, dw = 0;
	int applies = 0, have_dw;

	ps_buf_printf(&key, "Software\\Policies\\Microsoft\\Office\\%s\\"
		      "Outlook%s%s", ver, *r->key ? "\\" : "", r->key);
	if (ps_buf_check(&key) ||
	    ps_sys_get_policy(sys, key.ptr, r->value, &type, &data, &len) < 0)
		goto done;
	have_dw = type == 4 && len == 4;
	if (have_dw)
		dw = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
		     (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	switch (r->kind) {
	case K_DWORD_1:
		applies = have_dw && dw == 1;
		break;
	case K_DWORD_0:
		applies = have_dw && dw == 0;
		break;
	case K_NOOST:
		applies = have_dw && (dw == 2 || dw == 3);
		break;
	case K_NOT_1:
		applies = !(have_dw && dw == 1);
		break;
	case K_STRING:
		applies = (type == 1 || type == 2) && len > 2 &&
			  (data[0] || data[1]);
		break;
	default:
		applies = 1;
		break;
	}
	if (!applies)
		goto done;
	snprintf(path, pathsize, "HKCU\\%s\\%s", key.ptr, r->value);
	if (have_dw) {
		snprintf(shown, shownsize, "%u", (unsigned)dw);
	} else if ((type == 1 || type == 2) && len % 2 == 0 &&
		   ps_utf16le_to_utf8(&text, data, len) == 0) {
		snprintf(shown, shownsize, "'%s'", text.ptr ? text.ptr : "");
	} else {
		snprintf(shown, shownsize, "(%zu bytes)", len);
	}
done:
	free(data);
	ps_buf_free(&key);
	ps_buf_free(&text);
	return applies;
}

static int changed_id(const ps_secstate *st, uint16_t id, int removed_only)
{
	size_t i;

	for (i = 0; i < st->before.n; i++) {
		const ps_prop *b = &st->before.v[i];
		const ps_prop *a;

		if (PS_PROP_ID(b->tag) != id)
			continue;
		a = ps_proplist_get(&st->after, b->tag);
		if (!a || (!removed_only && (a->len != b->len ||
					     memcmp(a->data, b->data, a->len))))
			return 1;
	}
	for (i = 0; !removed_only && i < st->after.n; i++)
		if (PS_PROP_ID(st->after.v[i].tag) == id &&
		    !ps_proplist_get(&st->before, st->after.v[i].tag))
			return 1;
	return 0;
}

static uint32_t cached_bits(const ps_proplist *l)
{
	ps_prop *p = ps_proplist_get(l, PS_PR_PROFILE_CONFIG_FLAGS);
	uint32_t v = 0;

	if (!p || ps_prop_long(p, &v) < 0)
		return 0;
	return v & PS_CONFIG_OST_CACHE_PRIVATE;
}

/* The CH_* a plan makes. */
static unsigned plan_changes(const ps_pplan *p)
{
	unsigned ch = 0;
	size_t i;

	for (i = 0; i < p->nvals; i++)
		if (!ps_strcasecmp(p->vals[i].subkey, "AutoDiscover") &&
		    !p->vals[i].fix)
			ch |= CH_AUTODISCOVER;
	for (i = 0; i < p->nsecs; i++) {
		const ps_secstate *st = &p->secs[i];
		uint32_t was = cached_bits(&st->before);
		uint32_t now = cached_bits(&st->after);

		if (st->order < 0)
			continue;
		if (now != was)
			ch |= now ? CH_CACHED_ON : CH_CACHED_OFF;
		if (changed_id(st, PS_ID_PROFILE_OFFLINE_STORE_PATH, 0))
			ch |= CH_OST;
		if (changed_id(st, PS_ID_ROH_PROXY_SERVER, 1) ||
		    changed_id(st, PS_ID_ROH_FLAGS, 1) ||
		    changed_id(st, PS_ID_ROH_PROXY_PRINCIPAL, 1) ||
		    changed_id(st, PS_ID_ROH_PROXY_AUTH, 1))
			ch |= CH_RPC_PROXY;
	}
	return ch;
}

/* Every rule that applies and locks something in `mask` (all rules
 * with mask 0), as a message for a plan or for inspect. */
static int collect(ps_system *sys, unsigned mask, int for_plan,
		   ps_strlist *out)
{
	char path[512], shown[256], msg[1024];
	size_t r, v;
	int error = 0;

	for (v = 0; versions[v] && !error; v++) {
		for (r = 0; r < sizeof(rules) / sizeof(rules[0]) && !error;
		     r++) {
			if ((mask && !(rules[r].blocks & mask)) ||
			    !rule_applies(sys, &rules[r], versions[v], path,
					  sizeof(path), shown, sizeof(shown)))
				continue;
			snprintf(msg, sizeof(msg), for_plan
				 ? "policy %s = %s enforces %s; the update "
				   "would be %s"
				 : "%s = %s: enforces %s; would block %s",
				 path, shown, rules[r].enforces,
				 rules[r].blocks_text);
			error = ps_strlist_add(out, msg);
		}
	}
	return error;
}

int ps_policy_conflicts(ps_system *sys, const ps_config *cfg,
			const ps_pplan *plan, ps_strlist *out)
{
	unsigned ch = plan_changes(plan);

	(void)cfg;
	if (!ch || !sys)
		return 0;
	return collect(sys, ch, 1, out);
}

int ps_policy_list(ps_system *sys, ps_strlist *out)
{
	return collect(sys, 0, 0, out);
}
