/* Helpers shared by the cmocka tests: build profiles in a fake store. */
#ifndef PS_TESTUTIL_H
#define PS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ps_fakestore.h"
#include "ps_mapping.h"
#include "ps_reg.h"

#define TU_PROFILES "HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\" \
	"16.0\\Outlook\\Profiles"

/* An empty UTF-16 export with the Outlook key. */
void tu_tree_init(ps_regtree *t);
/* Set a property value in a profile section (creates keys). */
void tu_set(ps_regtree *t, const char *profile, const char *uid,
	    uint32_t tag, const void *data, size_t len);
void tu_set_str8(ps_regtree *t, const char *profile, const char *uid,
		 uint32_t id, const char *s);
void tu_set_bin8(ps_regtree *t, const char *profile, const char *uid,
		 uint32_t id, const char *s);
void tu_set_uni(ps_regtree *t, const char *profile, const char *uid,
		uint32_t id, const char *s);
void tu_set_long(ps_regtree *t, const char *profile, const char *uid,
		 uint32_t id, uint32_t v);
/* A property value as UTF-8 (NULL when absent). Caller frees. */
char *tu_get_string(ps_regtree *t, const char *profile, const char *uid,
		    uint32_t tag);
int tu_has(ps_regtree *t, const char *profile, const char *uid,
	   uint32_t tag);
/* A file under tests/data (asserts it can be read); caller frees. */
char *tu_read_data(const char *rel, size_t *len);
/* Deep copy of a tree (through write + parse). */
void tu_tree_copy(ps_regtree *dst, const ps_regtree *src);

/*
 * The fixture used by engine tests, profile "Outlook":
 *  - Exchange account A (alice@fabrikam.com, server EXCH01) with a
 *    primary provider, a public folder provider and a delegate provider
 *    for bob (another mailbox on EXCH01);
 *  - Exchange account S (sales@fabrikam.com, server EXCH02);
 *  - a PST service.
 */
#define TU_SVC_A "1111111111111111111111111111111a"
#define TU_EMS_A "2222222222222222222222222222222a"
#define TU_PRI_A "3333333333333333333333333333333a"
#define TU_PUB_A "4444444444444444444444444444444a"
#define TU_DEL_A "5555555555555555555555555555555a"
#define TU_SVC_S "1111111111111111111111111111111b"
#define TU_EMS_S "2222222222222222222222222222222b"
#define TU_PRI_S "3333333333333333333333333333333b"
#define TU_SVC_P "1111111111111111111111111111111c"
#define TU_PST_P "3333333333333333333333333333333c"

#define TU_ALICE_SRC "/o=Fabrikam/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
#define TU_ALICE_TGT "/o=ExchangeLabs/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=a1b2-alice"
#define TU_BOB_SRC "/o=Fabrikam/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=bob"
#define TU_BOB_TGT "/o=ExchangeLabs/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=c3d4-bob"
#define TU_SALES_SRC "/o=Fabrikam/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=sales"
#define TU_SALES_TGT "/o=ExchangeLabs/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=e5f6-sales"

void tu_fixture(ps_regtree *t);
/* Run profswitch (argv: arguments after the program name, NULL-ended)
 * through ps_app_main with the Linux environment of cli/main_posix.c;
 * stdout and stderr land in out and err (cleared first). */
int tu_app(ps_buf *out, ps_buf *err, char **argv);
/* The same with the arguments listed, ending with NULL. */
int tu_run(ps_buf *out, ps_buf *err, const char *first, ...);
/* Parse a mapping from text (asserts success). */
ps_mapping *tu_mapping(const char *text);

#endif
