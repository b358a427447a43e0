/*
 * Who besides administrators may change a file (docs/security.md: the
 * configuration and the mapping are deployed read-only): the file's DACL,
 * ACE by ACE.  Write-like rights granted to anyone but Administrators,
 * SYSTEM, TrustedInstaller, CREATOR OWNER or the running user when that
 * user is an administrator are reported.
 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdlib.h>
#include <string.h>

#include "ps_win32.h"
#include "../../core/ps_buf.h"
#include "../../core/ps_error.h"

#define WRITE_RIGHTS (FILE_WRITE_DATA | FILE_APPEND_DATA | WRITE_DAC | \
		      WRITE_OWNER | DELETE | GENERIC_WRITE | GENERIC_ALL)

static const char *const trusted[] = {
	"S-1-5-32-544",  /* BUILTIN\Administrators */
	"S-1-5-18",      /* NT AUTHORITY\SYSTEM */
	"S-1-3-0",       /* CREATOR OWNER (inherited to the creator) */
	"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
	                 /* NT SERVICE\TrustedInstaller */
	NULL
};

static int is_trusted(PSID sid)
{
	LPWSTR text = NULL;
	char *s;
	int i, yes = 0;

	if (!ConvertSidToStringSidW(sid, &text))
		return 0;
	s = ps_win32_utf8(text);
	LocalFree(text);
	for (i = 0; s && trusted[i] && !yes; i++)
		yes = !strcmp(s, trusted[i]);
	free(s);
	return yes;
}

/* "DOMAIN\name", or the SID as text. */
static void sid_name(PSID sid, ps_buf *out)
{
	wchar_t name[256], dom[256];
	DWORD n = 256, d = 256;
	SID_NAME_USE use;
	LPWSTR text = NULL;
	char *a, *b;

	if (LookupAccountSidW(NULL, sid, name, &n, dom, &d, &use)) {
		a = ps_win32_utf8(dom);
		b = ps_win32_utf8(name);
		if (a && b)
			ps_buf_printf(out, "%s%s%s", a, *a ? "\\" : "", b);
		free(a);
		free(b);
		return;
	}
	if (ConvertSidToStringSidW(sid, &text)) {
		a = ps_win32_utf8(text);
		if (a)
			ps_buf_puts(out, a);
		free(a);
		LocalFree(text);
	}
}

/* The current user, when that user is an administrator (their own
 * right to write is then an administrator's). */
static PSID admin_self(void)
{
	SID_IDENTIFIER_AUTHORITY nt = { SECURITY_NT_AUTHORITY };
	PSID admins = NULL, self = NULL;
	BOOL member = FALSE;
	HANDLE tok;
	DWORD n = 0;
	TOKEN_USER *tu;

	if (!AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID,
				      DOMAIN_ALIAS_RID_ADMINS, 0, 0, 0, 0, 0,
				      0, &admins))
		return NULL;
	if (!CheckTokenMembership(NULL, admins, &member))
		member = FALSE;
	FreeSid(admins);
	if (!member || !OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY,
					 &tok))
		return NULL;
	GetTokenInformation(tok, TokenUser, NULL, 0, &n);
	tu = n ? malloc(n) : NULL;
	if (tu && GetTokenInformation(tok, TokenUser, tu, n, &n)) {
		DWORD len = GetLengthSid(tu->User.Sid);

		self = malloc(len);
		if (self)
			CopySid(len, self, tu->User.Sid);
	}
	free(tu);
	CloseHandle(tok);
	return self;
}

int ps_win32_writable_by(const char *path, char **who)
{
	wchar_t *w = ps_win32_wide(path);
	PSECURITY_DESCRIPTOR sd = NULL;
	PACL dacl = NULL;
	PSID self;
	ps_buf b = PS_BUF_INIT;
	DWORD st, i;

	*who = NULL;
	if (!w)
		return PS_ERROR;
	st = GetNamedSecurityInfoW(w, SE_FILE_OBJECT,
				   DACL_SECURITY_INFORMATION, NULL, NULL,
				   &dacl, NULL, &sd);
	free(w);
	if (st != ERROR_SUCCESS)
		return ps_win32_error(PS_ERROR, st, "%s: security", path);
	if (!dacl) {
		/* No DACL at all: everyone has every right. */
		*who = _strdup("everyone (the file has no access control "
			       "list)");
		LocalFree(sd);
		return *who ? 0 : PS_ENOMEM;
	}
	self = admin_self();
	for (i = 0; i < dacl->AceCount; i++) {
		ACE_HEADER *h;
		ACCESS_ALLOWED_ACE *ace;

		if (!GetAce(dacl, i, (void **)&h) ||
		    h->AceType != ACCESS_ALLOWED_ACE_TYPE ||
		    (h->AceFlags & INHERIT_ONLY_ACE))
			continue;
		ace = (ACCESS_ALLOWED_ACE *)h;
		if (!(ace->Mask & WRITE_RIGHTS) ||
		    is_trusted((PSID)&ace->SidStart) ||
		    (self && EqualSid(self, (PSID)&ace->SidStart)))
			continue;
		if (b.len)
			ps_buf_puts(&b, ", ");
		sid_name((PSID)&ace->SidStart, &b);
	}
	LocalFree(sd);
	free(self);
	if (ps_buf_check(&b))
		return PS_ENOMEM;
	*who = b.len ? ps_buf_detach(&b) : NULL;
	ps_buf_free(&b);
	return 0;
}
