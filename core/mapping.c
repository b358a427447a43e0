/*
 * The migration mapping file (ps_mapping.h, docs/formats.md).
 *
 * Memory: entries are one array of ps_map_entry in file order; their
 * strings live in an arena of large blocks that is freed as a whole (no
 * per-string malloc).  A value equal to the previous entry's value in the
 * same column (TargetServer, TargetOAB... are often the same on every
 * line) shares its bytes.  Two hash indexes, source DN and target DN,
 * are open-addressing tables with linear probing, a power of two in size
 * and at most half full.  A slot is 8 bytes: the entry index + 1 (0 =
 * empty) and 32 bits of the case-insensitive hash, so that a probe only
 * compares strings when the hashes agree (DNs share long prefixes such as
 * "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/").
 *
 * Errors: every bad line is "FILE:LINE: reason" (one reason per line, the
 * first found).  A repeated source DN is accepted only when every column
 * of the line equals the first one (case-insensitive); the repeat is not
 * stored.  A bad header stops the reading (the columns are unknown).  The
 * limits (line length, line count) stop the reading with PS_ELIMIT and
 * that message, even after bad lines; it is appended to `errors` too.
 * What is not an error but worth saying (header names read through an
 * alias, columns ignored) goes to the mapping's notes.
 *
 * A line that keeps the DN and gives TargetServer (a move to another
 * server) is stored without a target DN: the engine's plan.c tells such
 * a unit by that (server_move) and keeps its DN.
 */
#include "ps_mapping.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_ini.h"
#include "ps_mapidx.h"
#include "ps_utf.h"

#define MAP_MAX_LINES 10000000u
#define MAP_MAX_ERRORS 100
#define MAP_BLOCK (256u * 1024u)
/* A line of n bytes has at most n + 1 fields. */
#define MAP_MAX_FIELDS (PS_INI_MAX_LINE + 2u)

enum {
	C_SOURCE_DN, C_TARGET_DN, C_TARGET_SMTP, C_SOURCE_SMTP,
	C_TARGET_SERVER, C_TARGET_GUID, C_TARGET_AD_URL, C_TARGET_OAB,
	C_TARGET_ARCHIVE_GUID, NCOLS
};

static const char *const col_names[NCOLS] = {
	"SourceLegacyDN", "TargetLegacyDN", "TargetSMTP", "SourceSMTP",
	"TargetServer", "TargetMailboxGuid", "TargetAutodiscoverURL",
	"TargetOAB", "TargetArchiveGuid"
};

static const size_t col_off[NCOLS] = {
	offsetof(ps_map_entry, source_dn),
	offsetof(ps_map_entry, target_dn),
	offsetof(ps_map_entry, target_smtp),
	offsetof(ps_map_entry, source_smtp),
	offsetof(ps_map_entry, target_server),
	offsetof(ps_map_entry, target_mailbox_guid),
	offsetof(ps_map_entry, target_autodiscover_url),
	offsetof(ps_map_entry, target_oab),
	offsetof(ps_map_entry, target_archive_guid)
};

/* The columns of a file without a header, in order. */
#define POSITIONAL_COLS 4

typedef struct block {
	struct block *next;
	size_t used;
	size_t cap;
	char data[];
} block;

typedef struct slot {
	uint32_t idx1;          /* entry index + 1; 0 = empty */
	uint32_t tag;           /* folded hash of the key */
} slot;

typedef struct dn_index {
	slot *s;
	size_t mask;            /* size - 1; size is a power of two */
	size_t n;
} dn_index;

struct ps_mapping {
	ps_map_entry *v;
	size_t n;
	size_t cap;
	block *blocks;
	dn_index src;
	dn_index tgt;
	ps_strlist notes;       /* "FILE:LINE: note: ..." (not errors) */
	ps_mapidx *idx;         /* a compiled index: nothing above is used */
};

typedef struct parser {
	const char *filename;
	ps_mapping *m;
	ps_strlist *errors;
	char *first;            /* the first bad line's message */
	unsigned nerr;
	unsigned lineno;
	int stop;               /* the header is bad: the rest is noise */
	int started;            /* delimiter and header are known */
	int header;             /* the file has a header line */
	char delim;
	unsigned ncols;
	int *cols;              /* field i is column cols[i] (-1: ignored) */
	char **f;               /* the fields of a line (MAP_MAX_FIELDS) */
	char *line;             /* PS_INI_MAX_LINE + 1 bytes */
	char *scratch;          /* as many, for trying delimiters */
	unsigned guid_mismatch; /* lines whose server and GUID disagree */
} parser;

static char **field(ps_map_entry *e, int c)
{
	return (char **)(void *)((char *)e + col_off[c]);
}

static const char *cfield(const ps_map_entry *e, int c)
{
	return *(char *const *)(const void *)((const char *)e + col_off[c]);
}

static char *arena_dup(ps_mapping *m, const char *s)
{
	size_t n = strlen(s) + 1;
	block *b = m->blocks;
	char *p;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > MAP_BLOCK ? n : MAP_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b) {
			ps_error_setc(PS_ENOMEM, "out of memory");
			return NULL;
		}
		b->next = m->blocks;
		b->used = 0;
		b->cap = cap;
		m->blocks = b;
	}
	p = b->data + b->used;
	memcpy(p, s, n);
	b->used += n;
	return p;
}

static uint32_t key_tag(const char *s)
{
	uint64_t h = ps_hash_nocase(s, strlen(s));

	return (uint32_t)(h ^ (h >> 32));
}

static int index_alloc(dn_index *ix, size_t size)
{
	ix->s = calloc(size, sizeof(*ix->s));
	if (!ix->s)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	ix->mask = size - 1;
	ix->n = 0;
	return 0;
}

static void index_put(dn_index *ix, uint32_t tag, size_t i)
{
	size_t pos = tag & ix->mask;

	while (ix->s[pos].idx1)
		pos = (pos + 1) & ix->mask;
	ix->s[pos].idx1 = (uint32_t)(i + 1);
	ix->s[pos].tag = tag;
	ix->n++;
}

/* Room for one more key while staying at most half full. */
static int index_reserve(dn_index *ix)
{
	dn_index bigger;
	size_t i;
	int rc;

	if ((ix->n + 1) * 2 <= ix->mask + 1)
		return 0;
	rc = index_alloc(&bigger, (ix->mask + 1) * 2);
	if (rc < 0)
		return rc;
	for (i = 0; i <= ix->mask; i++)
		if (ix->s[i].idx1)
			index_put(&bigger, ix->s[i].tag,
				  ix->s[i].idx1 - 1);
	free(ix->s);
	*ix = bigger;
	return 0;
}

static const ps_map_entry *index_find_tag(const ps_mapping *m,
					  const dn_index *ix, int c,
					  const char *key, uint32_t tag);

/* The first entry whose column c equals key (case-insensitive), or NULL. */
static const ps_map_entry *index_find(const ps_mapping *m, const dn_index *ix,
				      int c, const char *key)
{
	if (!m || !key || !ix->s)
		return NULL;
	return index_find_tag(m, ix, c, key, key_tag(key));
}

/* The same with the key's tag already known (parsing hashes each DN
 * once for the look-up and the insert). */
static const ps_map_entry *index_find_tag(const ps_mapping *m,
					  const dn_index *ix, int c,
					  const char *key, uint32_t tag)
{
	size_t pos;

	if (!ix->s)
		return NULL;
	pos = tag & ix->mask;
	while (ix->s[pos].idx1) {
		const ps_map_entry *e = &m->v[ix->s[pos].idx1 - 1];

		if (ix->s[pos].tag == tag && !ps_strcasecmp(cfield(e, c), key))
			return e;
		pos = (pos + 1) & ix->mask;
	}
	return NULL;
}

/* Record a bad line: "FILE:LINE: reason".  PS_EFORMAT, or PS_ENOMEM. */
static int bad_line(parser *ps, const char *fmt, ...) PS_PRINTF(2, 3);

static int bad_line(parser *ps, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "%s:%u: ", ps->filename, ps->lineno);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(msg)) {
		va_start(ap, fmt);
		(void)vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	ps->nerr++;
	if (!ps->first) {
		ps->first = ps_strdup(msg);
		if (!ps->first)
			return PS_ENOMEM;
	}
	if (ps->errors && ps_strlist_add(ps->errors, msg) < 0)
		return PS_ENOMEM;
	return ps_error_setc(PS_EFORMAT, "%s", msg);
}

static const char *delim_name(char c)
{
	switch (c) {
	case '|':
		return "'|'";
	case '\t':
		return "tabs";
	case ',':
		return "','";
	default:
		return "';'";
	}
}

static int is_blank(char c, char delim)
{
	return c == ' ' || (c == '\t' && delim != '\t');
}

/*
 * Split s in place into fields (CSV quoting: "a,b", "" for a quote).
 * Unquoted fields are trimmed, quoted ones kept as written.  Stores at
 * most maxf pointers but counts every field in *nf.  NULL, or the reason
 * the line cannot be split.
 */
static const char *split_fields(char *s, char delim, char **f,
				unsigned maxf, unsigned *nf)
{
	char *r = s;
	unsigned n = 0;

	for (;;) {
		char *start, *w;
		char c;

		while (is_blank(*r, delim))
			r++;
		if (*r == '"') {
			start = w = r++;
			for (;;) {
				if (!*r)
					return "unterminated quoted field";
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			while (is_blank(*r, delim))
				r++;
			if (*r && *r != delim)
				return "text after the closing quote of a "
				       "quoted field";
		} else {
			start = r;
			while (*r && *r != delim)
				r++;
			w = r;
			while (w > start && is_blank(w[-1], delim))
				w--;
		}
		c = *r;
		*w = '\0';
		if (n < maxf)
			f[n] = start;
		n++;
		if (!c)
			break;
		r++;
	}
	*nf = n;
	return NULL;
}

/* 1 when c occurs in s outside double quotes. */
static int has_outside_quotes(const char *s, char c)
{
	int quoted = 0;

	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == c && !quoted)
			return 1;
	}
	return 0;
}

/* A DN, possibly as an X500 proxy address ("X500:/o=..."). */
static int dn_like(const char *s)
{
	if (!ps_strncasecmp(s, "x500:", 5))
		s += 5;
	return !ps_strncasecmp(s, "/o=", 3);
}

static int column_of(const char *name);

/*
 * How well the first line s reads when split on d: 2 + the number of
 * known column names when it is a header, 1 when it reads as a mapping
 * line (a DN, then an empty field or a DN), else 0.
 */
static unsigned delim_fit(parser *ps, const char *s, char d)
{
	unsigned nf = 0, i, known = 0;

	strcpy(ps->scratch, s);
	if (split_fields(ps->scratch, d, ps->f, MAP_MAX_FIELDS, &nf))
		return 0;
	for (i = 0; i < nf; i++)
		if (column_of(ps->f[i]) >= 0)
			known++;
	if (known)
		return 2 + known;
	return nf >= 2 && dn_like(ps->f[0]) &&
	       (!*ps->f[1] || dn_like(ps->f[1]));
}

/*
 * The delimiter of the file, from its first line: of '|', tab, ';' and
 * ',' (outside quotes), the one that splits the line best (delim_fit);
 * on a tie the earlier in that order.  A legacyExchangeDN never holds '|',
 * a tab or ';' but may hold a comma (/o=Contoso, Inc/...); Excel writes
 * ';' in many locales.  A line with none of them is a single column; '|'
 * is as good as any then.
 */
static char detect_delim(parser *ps, const char *s)
{
	static const char cands[] = { '|', '\t', ';', ',' };
	char best = 0;
	unsigned i, fit, best_fit = 0;

	for (i = 0; i < sizeof(cands); i++) {
		if (!has_outside_quotes(s, cands[i]))
			continue;
		fit = delim_fit(ps, s, cands[i]);
		if (!best || fit > best_fit) {
			best = cands[i];
			best_fit = fit;
		}
	}
	return best ? best : '|';
}

/*
 * Other names a header may give a column: what Get-Mailbox and Export-Csv
 * call the properties (LegacyExchangeDN, PrimarySmtpAddress,
 * ExchangeGuid...) and the Source/Target, Old/New spellings migration
 * scripts use.  A bare property name is the side it usually comes from
 * in a mapping: LegacyExchangeDN the source, PrimarySmtpAddress and the
 * GUIDs the target (docs/formats.md, "Column names").
 */
static const struct {
	const char *name;
	int col;
} col_aliases[] = {
	{ "LegacyExchangeDN", C_SOURCE_DN },
	{ "SourceLegacyExchangeDN", C_SOURCE_DN },
	{ "OldLegacyExchangeDN", C_SOURCE_DN },
	{ "TargetLegacyExchangeDN", C_TARGET_DN },
	{ "NewLegacyExchangeDN", C_TARGET_DN },
	{ "PrimarySmtpAddress", C_TARGET_SMTP },
	{ "TargetPrimarySmtpAddress", C_TARGET_SMTP },
	{ "NewPrimarySmtpAddress", C_TARGET_SMTP },
	{ "TargetSmtpAddress", C_TARGET_SMTP },
	{ "SourcePrimarySmtpAddress", C_SOURCE_SMTP },
	{ "OldPrimarySmtpAddress", C_SOURCE_SMTP },
	{ "SourceSmtpAddress", C_SOURCE_SMTP },
	{ "TargetServerName", C_TARGET_SERVER },
	{ "NewServerName", C_TARGET_SERVER },
	{ "ExchangeGuid", C_TARGET_GUID },
	{ "TargetExchangeGuid", C_TARGET_GUID },
	{ "NewExchangeGuid", C_TARGET_GUID },
	{ "TargetOfflineAddressBook", C_TARGET_OAB },
	{ "ArchiveGuid", C_TARGET_ARCHIVE_GUID },
	{ "NewArchiveGuid", C_TARGET_ARCHIVE_GUID },
	{ NULL, 0 }
};

/* The column a header name stands for (case-insensitive), or -1. */
static int column_of(const char *name)
{
	int c;

	for (c = 0; c < NCOLS; c++)
		if (!ps_strcasecmp(name, col_names[c]))
			return c;
	for (c = 0; col_aliases[c].name; c++)
		if (!ps_strcasecmp(name, col_aliases[c].name))
			return col_aliases[c].col;
	return -1;
}

/* 1 when f looks like a header: one of its fields is a column name. */
static int is_header(char **f, unsigned nf)
{
	unsigned i;

	for (i = 0; i < nf; i++)
		if (column_of(f[i]) >= 0)
			return 1;
	return 0;
}

/* A remark on the file that is not an error (ps_mapping_note); text
 * comes from a ps_buf that may have run out of memory (NULL). */
static int add_note(parser *ps, const char *text)
{
	ps_buf b = PS_BUF_INIT;
	char *note;

	if (text)
		ps_buf_printf(&b, "%s:%u: note: %s", ps->filename, ps->lineno,
			      text);
	note = text ? ps_buf_detach(&b) : NULL;
	ps_buf_free(&b);
	if (!note || ps_strlist_take(&ps->m->notes, note) < 0)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	return 0;
}

/* At most this many names in a message that lists columns. */
#define MAP_LIST_NAMES 10

static int header_line(parser *ps, char **f, unsigned nf)
{
	int seen[NCOLS] = { 0 };
	const char *as[NCOLS] = { NULL };
	ps_buf ignored = PS_BUF_INIT, aliased = PS_BUF_INIT;
	unsigned i, nign = 0, nalias = 0;
	int rc = 0;

	ps->stop = 1;
	for (i = 0; i < nf && !rc; i++) {
		int c = column_of(f[i]);

		if (!*f[i]) {
			rc = bad_line(ps, "empty column name in the header "
				      "(column %u)", i + 1);
		} else if (c < 0) {
			/* A column profswitch does not read (DisplayName,
			 * Alias...): named in a note, its fields skipped. */
			ps->cols[i] = -1;
			if (nign++ < MAP_LIST_NAMES)
				ps_buf_printf(&ignored, "%s'%.100s'",
					      nign > 1 ? ", " : "", f[i]);
		} else if (seen[c]) {
			if (!ps_strcasecmp(as[c], f[i]))
				rc = bad_line(ps, "column %s appears twice in "
					      "the header", col_names[c]);
			else
				rc = bad_line(ps, "column %s appears twice in "
					      "the header (as '%.100s' and "
					      "'%.100s')", col_names[c], as[c],
					      f[i]);
		} else {
			seen[c] = 1;
			as[c] = f[i];
			ps->cols[i] = c;
			if (ps_strcasecmp(f[i], col_names[c]) &&
			    nalias++ < MAP_LIST_NAMES)
				ps_buf_printf(&aliased, "%s%.100s = %s",
					      nalias > 1 ? ", " : "", f[i],
					      col_names[c]);
		}
	}
	if (nign > MAP_LIST_NAMES)
		ps_buf_printf(&ignored, " and %u more", nign - MAP_LIST_NAMES);
	if (!rc && (ps_buf_check(&ignored) || ps_buf_check(&aliased)))
		rc = ps_error_setc(PS_ENOMEM, "out of memory");
	if (!rc && !seen[C_SOURCE_DN])
		rc = bad_line(ps, "the header has no %s column (nor %s, %s "
			      "or %s)%s%s", col_names[C_SOURCE_DN],
			      col_aliases[0].name, col_aliases[1].name,
			      col_aliases[2].name, nign ? "; ignored: " : "",
			      nign ? ignored.ptr : "");
	/* Without either, every line would fail at update (Get-Mailbox of
	 * one organisation alone is a list of mailboxes, not a mapping). */
	if (!rc && !seen[C_TARGET_DN] && !seen[C_TARGET_SERVER])
		rc = bad_line(ps, "the header has neither a %s nor a %s "
			      "column: no line could repoint a mailbox (an "
			      "export of one organisation is not a mapping: "
			      "join the source's and the target's)%s%s",
			      col_names[C_TARGET_DN],
			      col_names[C_TARGET_SERVER],
			      nign ? "; ignored: " : "",
			      nign ? ignored.ptr : "");
	if (!rc) {
		ps->ncols = nf;
		ps->header = 1;
		ps->stop = 0;
	}
	if (!rc && nalias) {
		ps_buf n = PS_BUF_INIT;

		ps_buf_printf(&n, "columns read as %s%s", aliased.ptr,
			      nalias > MAP_LIST_NAMES ? ", ..." : "");
		rc = add_note(ps, n.ptr);
		ps_buf_free(&n);
	}
	if (!rc && nign) {
		ps_buf n = PS_BUF_INIT;

		ps_buf_printf(&n, "%u column%s ignored (not mapping columns): "
			      "%s", nign, nign > 1 ? "s" : "", ignored.ptr);
		rc = add_note(ps, n.ptr);
		ps_buf_free(&n);
	}
	ps_buf_free(&ignored);
	ps_buf_free(&aliased);
	return rc;
}

static int valid_dn(const char *s)
{
	return !ps_strncasecmp(s, "/o=", 3);
}

/* A Unicode space in UTF-8 (no-break space U+00A0, U+2000-U+200B,
 * U+202F, U+205F, U+3000, U+FEFF): invisible in a spreadsheet, and an
 * address that holds one matches nothing.  Its name, else NULL. */
static const char *unicode_space(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (p[0] == 0xC2 && p[1] == 0xA0)
			return "a no-break space (U+00A0)";
		if (p[0] == 0xE2 && p[1] == 0x80 &&
		    ((p[2] >= 0x80 && p[2] <= 0x8B) || p[2] == 0xAF))
			return "a Unicode space (U+2000-U+200B or U+202F)";
		if ((p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) ||
		    (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) ||
		    (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF))
			return "a Unicode space (U+205F, U+3000 or U+FEFF)";
	}
	return NULL;
}

/* local@domain: one '@', no space, a dot inside the domain. */
static int valid_smtp(const char *s)
{
	const char *at = strchr(s, '@');
	const char *dom, *dot;
	size_t n;

	if (!at || at == s || strchr(at + 1, '@') || strchr(s, ' '))
		return 0;
	dom = at + 1;
	n = strlen(dom);
	dot = strchr(dom, '.');
	return dot && dom[0] != '.' && dom[n - 1] != '.';
}

static int valid_url(const char *s)
{
	if (!ps_strncasecmp(s, "https://", 8))
		return s[8] != '\0';
	if (!ps_strncasecmp(s, "http://", 7))
		return s[7] != '\0';
	return 0;
}

/* 8-4-4-4-12 hex digits, optionally in braces. */
static int valid_guid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 38 && s[0] == '{' && s[37] == '}') {
		s++;
		n -= 2;
	}
	if (n != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') ||
			     (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F'))) {
			return 0;
		}
	}
	return 1;
}

static int same_value(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !ps_strcasecmp(a, b);
}

/* Check one field's value; bad_line and its code when bad. */
static int check_field(parser *ps, int c, const char *v)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7F)
			return bad_line(ps, "%s contains a control character "
					"(0x%02X)", col_names[c], *p);
	switch (c) {
	case C_SOURCE_DN:
	case C_TARGET_DN:
		if (!valid_dn(v))
			return bad_line(ps, "%s '%.200s' does not start with "
					"/o=", col_names[c], v);
		break;
	case C_TARGET_SMTP:
	case C_SOURCE_SMTP:
		if (unicode_space(v))
			return bad_line(ps, "%s '%.200s' contains %s",
					col_names[c], v, unicode_space(v));
		if (!valid_smtp(v))
			return bad_line(ps, "%s '%.200s' is not an SMTP "
					"address (local@domain.tld)",
					col_names[c], v);
		break;
	case C_TARGET_GUID:
	case C_TARGET_ARCHIVE_GUID:
		if (!valid_guid(v))
			return bad_line(ps, "%s '%.200s' is not a GUID "
					"(8-4-4-4-12 hex digits)",
					col_names[c], v);
		break;
	case C_TARGET_AD_URL:
		if (!valid_url(v))
			return bad_line(ps, "%s '%.200s' does not start with "
					"https:// (or http://)",
					col_names[c], v);
		break;
	default:
		break;
	}
	return 0;
}

/* tag: key_tag() of the source DN. */
static int add_entry(parser *ps, const char *const *vals, uint32_t tag)
{
	ps_mapping *m = ps->m;
	const ps_map_entry *prev;
	ps_map_entry *e;
	int c, rc;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		ps_map_entry *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		m->v = v;
		m->cap = cap;
	}
	rc = index_reserve(&m->src);
	if (rc < 0)
		return rc;
	prev = m->n ? &m->v[m->n - 1] : NULL;
	e = &m->v[m->n];
	memset(e, 0, sizeof(*e));
	e->line = ps->lineno;
	for (c = 0; c < NCOLS; c++) {
		char **dst = field(e, c);
		const char *old = prev ? cfield(prev, c) : NULL;

		if (!vals[c])
			continue;
		if (c != C_SOURCE_DN && old && !strcmp(old, vals[c])) {
			*dst = (char *)old;
			continue;
		}
		*dst = arena_dup(m, vals[c]);
		if (!*dst)
			return PS_ENOMEM;
	}
	index_put(&m->src, tag, m->n);
	m->n++;
	return 0;
}

/* Exchange Online names a mailbox's server after its GUID
 * ("<guid>@<domain>"): a line whose TargetServer names another GUID than
 * its TargetMailboxGuid holds data from two mailboxes, and R6 would take
 * the OST decision from one and find the other in the profile on the
 * next run.  A note (mapping check prints it) for the first lines. */
static int check_guid_server(parser *ps, const char *const *vals)
{
	const char *srv = vals[C_TARGET_SERVER], *g = vals[C_TARGET_GUID];
	const char *at = srv ? strchr(srv, '@') : NULL;
	size_t n = g ? strlen(g) : 0;
	ps_buf b = PS_BUF_INIT;
	size_t i;
	int rc;


	if (!at || at - srv != 36 || !g)
		return 0;
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23
		    ? srv[i] != '-' : !isxdigit((unsigned char)srv[i]))
			return 0;
	if (n == 38 && g[0] == '{' && g[37] == '}') {
		g++;
		n -= 2;
	}
	if (n != 36 || !ps_strncasecmp(srv, g, 36))
		return 0;
	if (++ps->guid_mismatch > 10)
		return 0;
	ps_buf_printf(&b, "%s '%.200s' names mailbox GUID %.36s, but %s "
		      "is %.38s: the two come from different mailboxes%s",
		      col_names[C_TARGET_SERVER], srv, srv,
		      col_names[C_TARGET_GUID], vals[C_TARGET_GUID],
		      ps->guid_mismatch == 10 ? " (later lines like this one "
		      "are not listed)" : "");
	rc = add_note(ps, b.ptr);
	ps_buf_free(&b);
	return rc;
}

static int data_line(parser *ps, char *s)
{
	char **f = ps->f;
	const char *vals[NCOLS] = { NULL };
	const char *why;
	const ps_map_entry *dup;
	unsigned nf = 0, i;
	uint32_t tag;
	int c, rc;

	why = split_fields(s, ps->delim, f, MAP_MAX_FIELDS, &nf);
	if (why)
		return bad_line(ps, "%s", why);
	/* Excel pads every line with empty fields up to its widest one, and
	 * writes a row it left empty as ",,,": only up to the last field
	 * that holds something counts. */
	while (nf && !*f[nf - 1])
		nf--;
	if (!nf)
		return 0;
	if (nf > ps->ncols) {
		if (!ps->header)
			return bad_line(ps, "%u fields, but a file without "
					"a header has at most %u "
					"(%s|%s|%s|%s)",
					nf, POSITIONAL_COLS, col_names[0],
					col_names[1], col_names[2],
					col_names[4]);
		return bad_line(ps, "%u fields, but the header has %u "
				"columns", nf, ps->ncols);
	}
	/* One field where the header has several: the line may use another
	 * delimiter than the file, and would match nothing. */
	if (nf == 1 && ps->header && ps->ncols > 1) {
		static const char cands[] = { '|', '\t', ',', ';' };

		for (i = 0; i < sizeof(cands); i++)
			if (cands[i] != ps->delim && strchr(f[0], cands[i]))
				return bad_line(ps, "one field, but the header "
					"has %u columns separated by %s; this "
					"line seems to use %s (one file, one "
					"delimiter)", ps->ncols,
					delim_name(ps->delim),
					delim_name(cands[i]));
	}
	for (i = 0; i < nf; i++)
		if (*f[i] && ps->cols[i] >= 0)
			vals[ps->cols[i]] = f[i];
	/* Exchange writes proxy addresses with their type: a DN copied
	 * from EmailAddresses is "X500:/o=...", an address "SMTP:a@b". */
	for (c = 0; c < NCOLS; c++) {
		const char *pfx = c == C_SOURCE_DN || c == C_TARGET_DN
				  ? "x500:" : c == C_TARGET_SMTP ||
				  c == C_SOURCE_SMTP ? "smtp:" : NULL;

		if (pfx && vals[c] && !ps_strncasecmp(vals[c], pfx, 5))
			vals[c] += 5;
		if (vals[c] && !*vals[c])
			vals[c] = NULL;
	}
	if (!vals[C_SOURCE_DN])
		return bad_line(ps, "%s is empty", col_names[C_SOURCE_DN]);
	for (c = 0; c < NCOLS; c++) {
		if (!vals[c])
			continue;
		rc = check_field(ps, c, vals[c]);
		if (rc < 0)
			return rc;
	}
	/* The same DN with a TargetServer moves the mailbox to another
	 * server of its organisation (ExProfRe's case): such a line has no
	 * target DN, so it is never a target nor part of a chain. */
	if (vals[C_TARGET_DN] &&
	    !ps_strcasecmp(vals[C_SOURCE_DN], vals[C_TARGET_DN])) {
		if (!vals[C_TARGET_SERVER])
			return bad_line(ps, "source and target DN are the same "
					"and there is no %s: nothing to change",
					col_names[C_TARGET_SERVER]);
		vals[C_TARGET_DN] = NULL;
	}
	rc = check_guid_server(ps, vals);
	if (rc < 0)
		return rc;
	if (!vals[C_TARGET_DN] && !vals[C_TARGET_SERVER])
		return bad_line(ps, "no %s and no %s: nothing to repoint the "
				"mailbox to", col_names[C_TARGET_DN],
				col_names[C_TARGET_SERVER]);
	tag = key_tag(vals[C_SOURCE_DN]);
	dup = index_find_tag(ps->m, &ps->m->src, C_SOURCE_DN,
			     vals[C_SOURCE_DN], tag);
	if (dup) {
		for (c = 0; c < NCOLS; c++)
			if (!same_value(cfield(dup, c), vals[c]))
				break;
		if (c == NCOLS)
			return 0;
		return bad_line(ps, "source DN '%.200s' is mapped again, "
				"differently (first at line %u)",
				vals[C_SOURCE_DN], dup->line);
	}
	return add_entry(ps, vals, tag);
}

/* One line of the file (n bytes, no CR LF). */
static int one_line(parser *ps, const char *p, size_t n)
{
	char **f = ps->f;
	char *s;
	unsigned nf = 0, i;
	const char *why;

	if (n > PS_INI_MAX_LINE)
		return ps_error_setc(PS_ELIMIT, "%s:%u: line longer than %u "
				     "bytes", ps->filename, ps->lineno,
				     (unsigned)PS_INI_MAX_LINE);
	if (memchr(p, '\0', n))
		return bad_line(ps, "NUL byte in the line (UTF-16 text "
				"without a BOM?)");
	memcpy(ps->line, p, n);
	ps->line[n] = '\0';
	s = ps->line;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '#')
		return 0;
	if (!ps_utf8_valid(p, n))
		return bad_line(ps, "not valid UTF-8: save the file as UTF-8 "
				"or Unicode (UTF-16LE)");
	if (ps->started)
		return data_line(ps, s);
	ps->delim = detect_delim(ps, s);
	why = split_fields(s, ps->delim, f, MAP_MAX_FIELDS, &nf);
	/* Empty fields at the end (Excel's) are not columns, and a line of
	 * empty fields is an empty row: the next line decides. */
	while (!why && nf && !*f[nf - 1])
		nf--;
	if (!why && !nf)
		return 0;
	ps->started = 1;
	if (!why && is_header(f, nf))
		return header_line(ps, f, nf);
	/* Not a header: read it again, positionally. */
	ps->ncols = POSITIONAL_COLS;
	for (i = 0; i < POSITIONAL_COLS; i++)
		ps->cols[i] = i == 3 ? C_TARGET_SERVER : (int)i;
	memcpy(ps->line, p, n);
	ps->line[n] = '\0';
	return data_line(ps, s);
}

static int build_target_index(ps_mapping *m)
{
	size_t size = 16, i;
	int rc;

	while (size < m->n * 2)
		size *= 2;
	rc = index_alloc(&m->tgt, size);
	if (rc < 0)
		return rc;
	for (i = 0; i < m->n; i++) {
		const char *t = m->v[i].target_dn;

		uint32_t tag = t ? key_tag(t) : 0;

		if (t && !index_find_tag(m, &m->tgt, C_TARGET_DN, t, tag))
			index_put(&m->tgt, tag, i);
	}
	return 0;
}

/* A target that is also a source never settles: with A to B and B to A
 * the account flips at every logon; with A to B and B to C it moves
 * twice.  Every such pair is an error naming both lines. */
static int check_chains(const ps_mapping *m, const char *filename,
			ps_strlist *errors)
{
	size_t i;
	char *first = NULL;
	int rc = 0;

	for (i = 0; i < m->n && rc != PS_ENOMEM; i++) {
		const ps_map_entry *e = &m->v[i], *next;

		if (!e->target_dn)
			continue;
		next = index_find(m, &m->src, C_SOURCE_DN, e->target_dn);
		if (!next || next == e)
			continue;
		/* next moves its mailbox to a server: e's move settles when it
		 * goes to that server too (next finds it already there). */
		if (!next->target_dn && e->target_server &&
		    !ps_strcasecmp(e->target_server, next->target_server))
			continue;
		rc = ps_error_setc(PS_EFORMAT, "%s:%u: TargetLegacyDN "
			"'%.200s' is the SourceLegacyDN of line %u: a %s "
			"never settles; map each mailbox straight to its "
			"final target", filename, e->line, e->target_dn,
			next->line, next->target_dn && !ps_strcasecmp(
				next->target_dn, e->source_dn)
			? "cycle (the account would flip at every logon)"
			: "chain (the account would move twice)");
		if (!first && !(first = ps_strdup(ps_error_last())))
			rc = PS_ENOMEM;
		else if (errors && ps_strlist_add(errors,
						  ps_error_last()) < 0)
			rc = PS_ENOMEM;
		if (!errors)
			break;
	}
	if (rc == PS_ENOMEM)
		rc = ps_error_setc(PS_ENOMEM, "out of memory");
	else if (first)
		ps_error_setc(PS_EFORMAT, "%s", first);
	free(first);
	return rc;
}

int ps_mapping_parse(ps_mapping **out, const char *filename,
		     const char *data, size_t len, ps_strlist *errors)
{
	ps_buf utf8 = PS_BUF_INIT;
	parser ps;
	ps_mapping *m = NULL;
	const char *text = NULL, *p, *end;
	size_t textlen = 0;
	int rc;

	memset(&ps, 0, sizeof(ps));
	ps.filename = filename;
	ps.errors = errors;
	rc = ps_ini_decode(&utf8, &text, &textlen, filename, data, len);
	if (rc < 0)
		goto cleanup;
	m = calloc(1, sizeof(*m));
	ps.line = malloc(PS_INI_MAX_LINE + 1);
	ps.scratch = malloc(PS_INI_MAX_LINE + 1);
	ps.f = malloc(MAP_MAX_FIELDS * sizeof(*ps.f));
	ps.cols = malloc(MAP_MAX_FIELDS * sizeof(*ps.cols));
	if (!m || !ps.line || !ps.scratch || !ps.f || !ps.cols) {
		rc = ps_error_setc(PS_ENOMEM, "out of memory");
		goto cleanup;
	}
	ps.m = m;
	rc = index_alloc(&m->src, 1024);
	if (rc < 0)
		goto cleanup;
	p = text;
	end = text + textlen;
	while (p < end && !ps.stop) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		ps.lineno++;
		if (n && p[n - 1] == '\r')
			n--;
		if (ps.lineno > MAP_MAX_LINES)
			rc = ps_error_setc(PS_ELIMIT, "%s:%u: more than %u "
					   "lines", filename, ps.lineno,
					   MAP_MAX_LINES);
		else
			rc = one_line(&ps, p, n);
		if (rc == PS_ELIMIT && errors &&
		    ps_strlist_add(errors, ps_error_last()) < 0)
			rc = PS_ENOMEM;
		if (rc == PS_EFORMAT) {
			if (!errors || ps.nerr >= MAP_MAX_ERRORS)
				break;
		} else if (rc < 0) {
			goto cleanup;
		}
		p = nl ? nl + 1 : end;
	}
	if (ps.first) {
		rc = ps_error_setc(PS_EFORMAT, "%s", ps.first);
		goto cleanup;
	}
	rc = build_target_index(m);
	if (rc < 0)
		goto cleanup;
	rc = check_chains(m, filename, errors);
	if (rc < 0)
		goto cleanup;
	if (m->n && m->n < m->cap) {
		/* Give back what the last doubling did not use. */
		ps_map_entry *v = realloc(m->v, m->n * sizeof(*v));

		if (v) {
			m->v = v;
			m->cap = m->n;
		}
	}
	*out = m;
	m = NULL;
cleanup:
	ps_mapping_free(m);
	free(ps.line);
	free(ps.scratch);
	free(ps.f);
	free(ps.cols);
	free(ps.first);
	ps_buf_free(&utf8);
	return rc;
}

int ps_mapping_from_index(ps_mapping **out, ps_mapidx *ix)
{
	ps_mapping *m = calloc(1, sizeof(*m));

	if (!m) {
		ps_mapidx_free(ix);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	m->idx = ix;
	*out = m;
	return 0;
}

ps_mapidx *ps_mapping_index(const ps_mapping *m)
{
	return m ? m->idx : NULL;
}

static const ps_map_entry *idx_find(const ps_mapping *m, int target,
				    const char *dn)
{
	const ps_map_entry *e = NULL;

	return ps_mapidx_find(m->idx, target, dn, &e) == 0 ? e : NULL;
}

const ps_map_entry *ps_mapping_find_source(const ps_mapping *m,
					   const char *dn)
{
	if (m && m->idx)
		return idx_find(m, 0, dn);
	return m ? index_find(m, &m->src, C_SOURCE_DN, dn) : NULL;
}

const ps_map_entry *ps_mapping_find_target(const ps_mapping *m,
					   const char *dn)
{
	if (m && m->idx)
		return idx_find(m, 1, dn);
	return m ? index_find(m, &m->tgt, C_TARGET_DN, dn) : NULL;
}

size_t ps_mapping_count(const ps_mapping *m)
{
	if (m && m->idx)
		return (size_t)ps_mapidx_get_info(m->idx)->rows;
	return m ? m->n : 0;
}

const ps_map_entry *ps_mapping_entry(const ps_mapping *m, size_t i)
{
	return m && i < m->n ? &m->v[i] : NULL;
}

size_t ps_mapping_note_count(const ps_mapping *m)
{
	return m ? m->notes.n : 0;
}

const char *ps_mapping_note(const ps_mapping *m, size_t i)
{
	return m && i < m->notes.n ? m->notes.v[i] : NULL;
}

const char *ps_mapping_lookup_error(const ps_mapping *m)
{
	return m && m->idx ? ps_mapidx_error(m->idx) : NULL;
}

void ps_mapping_free(ps_mapping *m)
{
	block *b;

	if (!m)
		return;
	b = m->blocks;
	while (b) {
		block *next = b->next;

		free(b);
		b = next;
	}
	free(m->v);
	free(m->src.s);
	free(m->tgt.s);
	ps_strlist_free(&m->notes);
	ps_mapidx_free(m->idx);
	free(m);
}
