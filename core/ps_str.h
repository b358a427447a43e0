/* Small string helpers shared by the core and the fake store. */
#ifndef PS_STR_H
#define PS_STR_H

#include <stddef.h>
#include <stdint.h>

char *ps_strdup(const char *s);            /* NULL on OOM (message set) */
char *ps_strndup(const char *s, size_t n);
/* ASCII case-insensitive comparisons (DNs, key names, value names). */
int ps_strcasecmp(const char *a, const char *b);
int ps_strncasecmp(const char *a, const char *b, size_t n);
/* Case-insensitive ASCII substring search; NULL when absent. */
const char *ps_strcasestr(const char *hay, const char *needle);
int ps_tolower(int c);
/* FNV-1a over the ASCII-lowercased bytes. */
uint64_t ps_hash_nocase(const char *s, size_t len);
/* Trim ASCII white space in place at both ends; returns s advanced. */
char *ps_trim(char *s);

typedef struct ps_strlist {
	char **v;
	size_t n;
	size_t cap;
} ps_strlist;

#define PS_STRLIST_INIT { NULL, 0, 0 }

int ps_strlist_add(ps_strlist *l, const char *s);     /* copies s */
int ps_strlist_take(ps_strlist *l, char *s);          /* owns s */
int ps_strlist_contains_nocase(const ps_strlist *l, const char *s);
void ps_strlist_free(ps_strlist *l);

/* 16-byte MAPI UID and its 32-hex-digit registry spelling. */
typedef struct ps_uid {
	uint8_t b[16];
} ps_uid;

int ps_uid_parse(ps_uid *out, const char *hex); /* 0 or PS_EFORMAT */
void ps_uid_format(const ps_uid *uid, char out[33]); /* lowercase */
int ps_uid_equal(const ps_uid *a, const ps_uid *b);

#endif
