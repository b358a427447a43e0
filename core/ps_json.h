/*
 * A strict reader for one flat JSON object of scalar members (RFC 8259),
 * the shape of an Autodiscover v2 answer:
 *     {"Protocol":"AutodiscoverV1","Url":"https://..."}
 * Written here (docs/architecture.md, "What is written by hand"): the
 * Windows build has no JSON library and the core may include no OS header.
 *
 * Accepted: optional UTF-8 BOM and white space around one object whose
 * member values are strings, numbers, true, false or null (kept as their
 * text: "12", "true", "null").  Refused with PS_EFORMAT and "offset N:
 * reason": anything else at the top, a nested object or array, invalid
 * UTF-8, a control character or \u0000 in a string, an unpaired
 * surrogate, a bad escape or number, a name given twice, anything after
 * the object.  Over a limit: PS_ELIMIT.  The input need not be
 * NUL-terminated and may hold NUL bytes (refused).
 */
#ifndef PS_JSON_H
#define PS_JSON_H

#include <stddef.h>

#define PS_JSON_MAX_INPUT (64u * 1024u)  /* bytes */
#define PS_JSON_MAX_MEMBERS 64
#define PS_JSON_MAX_STRING (16u * 1024u) /* bytes of one name or value,
                                            decoded */

typedef struct ps_json_member {
	char *name;     /* UTF-8, NUL-terminated */
	char *value;    /* UTF-8; a number, true, false, null as written */
	int is_string;  /* the value was a JSON string */
} ps_json_member;

typedef struct ps_json_obj {
	ps_json_member *v;
	size_t n;
} ps_json_obj;

/* Parse; 0 with *out filled (caller frees with ps_json_free), or
 * PS_EFORMAT / PS_ELIMIT / PS_ENOMEM with the message set and *out
 * empty. */
int ps_json_parse_flat(const char *text, size_t len, ps_json_obj *out);
/* The string value of member `name` (ASCII case-insensitive), or NULL
 * when there is none or it is not a string. */
const char *ps_json_get(const ps_json_obj *o, const char *name);
void ps_json_free(ps_json_obj *o);

/* The string literal at text[*pos] (its opening quote), with the escapes
 * and limits above and at most max bytes decoded: 0 with *out a new
 * UTF-8 string (NULL out: checked only) and *pos just past the closing
 * quote.  PS_EFORMAT or PS_ELIMIT with *pos at the fault and *why the
 * reason alone (the message says "JSON offset N: why"), or PS_ENOMEM.
 * The caller checks the result is UTF-8 (the bytes are copied as they
 * are; escapes always give UTF-8).  For readers of other JSON shapes
 * (core/collect.c). */
int ps_json_string(const char *text, size_t len, size_t *pos, size_t max,
		   char **out, const char **why);

#endif
