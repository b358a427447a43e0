/*
 * The compiled mapping (ps_mapidx.h; byte layout in docs/formats.md,
 * "Compiled mapping").
 *
 * Keys are (kind, DN): kind 1 is a source DN and its record holds the
 * whole entry; kind 2 is a target DN (the first line naming it) and its
 * record holds the target and the source DN, so that a target lookup
 * ends in the source lookup and both return the same cached entry.  Both
 * kinds hash (FNV-1a over the kind byte and the ASCII-folded DN) into one
 * table of buckets, a power of two of them; a bucket is a small blob,
 * packed one after the other.  A lookup reads the header once, then one
 * directory page (cached) and one bucket (cached, parsed into entries
 * that live until ps_mapidx_free).
 *
 * Errors during a lookup are sticky: the first one is kept and every
 * later lookup returns it, so that a caller that only looks at the end
 * (the engine, through ps_mapping_lookup_error) cannot miss it.
 */
#include "ps_mapidx.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_str.h"
#include "ps_utf.h"

#define KIND_SOURCE 1u
#define KIND_TARGET 2u
#define ABSENT 0xFFFFFFFFu
#define NFIELDS 9
#define ROOT_OFF (PS_MAPIDX_HEADER_BYTES - 32u)
#define TOP_OFF 80u
/* Average keys per bucket the compiler aims at. */
#define KEYS_PER_BUCKET 8u

/* The columns in record order (the order of ps_map_entry). */
static const size_t field_off[NFIELDS] = {
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

static const char *get_field(const ps_map_entry *e, int c)
{
	return *(char *const *)(const void *)((const char *)e + field_off[c]);
}

static char **field_ptr(ps_map_entry *e, int c)
{
	return (char **)(void *)((char *)e + field_off[c]);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* FNV-1a 64 over the kind byte then the DN with A-Z folded to a-z, the
 * halves xor-ed, the low bits taken (nbuckets is a power of two). */
static uint32_t bucket_of(unsigned kind, const char *dn, size_t len,
			  uint32_t nbuckets)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	h = (h ^ (uint8_t)kind) * 1099511628211ULL;
	for (i = 0; i < len; i++) {
		unsigned c = (unsigned char)dn[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 1099511628211ULL;
	}
	return (uint32_t)(h ^ (h >> 32)) & (nbuckets - 1);
}

static int sha(ps_system *sys, const void *data, size_t len, uint8_t out[32])
{
	return ps_sys_sha256(sys, data, len, out);
}

int ps_mapidx_has_magic(const void *data, size_t len)
{
	return len >= 8 && !memcmp(data, PS_MAPIDX_MAGIC, 8);
}

int ps_mapidx_sniff(ps_system *sys, const char *path)
{
	void *h = NULL;
	uint64_t size = 0;
	uint8_t magic[8];
	int error = ps_sys_open_read(sys, path, &h, &size);

	if (error < 0)
		return error;
	if (size >= 8)
		error = ps_sys_read_at(sys, h, 0, magic, 8);
	ps_sys_close_read(sys, h);
	if (error < 0)
		return error;
	return size >= 8 && ps_mapidx_has_magic(magic, 8);
}

/* ---- compile ------------------------------------------------------------ */

typedef struct ckey {
	uint32_t entry;
	uint32_t bucket;
	unsigned kind;
} ckey;

static uint64_t record_size(const ps_map_entry *e, unsigned kind)
{
	uint64_t n = 1 + 4;
	int c;

	if (kind == KIND_TARGET)
		return n + 4 + strlen(e->target_dn) + 4 + strlen(e->source_dn);
	for (c = 0; c < NFIELDS; c++) {
		const char *v = get_field(e, c);

		n += 4 + (v ? strlen(v) : 0);
	}
	return n;
}

static uint8_t *put_str(uint8_t *p, const char *s)
{
	size_t n;

	if (!s) {
		put32(p, ABSENT);
		return p + 4;
	}
	n = strlen(s);
	put32(p, (uint32_t)n);
	memcpy(p + 4, s, n);
	return p + 4 + n;
}

static uint8_t *put_record(uint8_t *p, const ps_map_entry *e, unsigned kind)
{
	int c;

	*p++ = (uint8_t)kind;
	put32(p, e->line);
	p += 4;
	if (kind == KIND_TARGET) {
		p = put_str(p, e->target_dn);
		return put_str(p, e->source_dn);
	}
	for (c = 0; c < NFIELDS; c++)
		p = put_str(p, get_field(e, c));
	return p;
}

static const char *key_dn(const ps_map_entry *e, unsigned kind)
{
	return kind == KIND_TARGET ? e->target_dn : e->source_dn;
}

int ps_mapidx_compile(ps_system *sys, const ps_mapping *m,
		      const uint8_t source_sha256[32], uint8_t **out,
		      size_t *outlen, ps_mapidx_info *info)
{
	size_t n = ps_mapping_count(m), nkeys = 0, i;
	ckey *keys = NULL;
	uint64_t *bsize = NULL, *cur = NULL, total = 0, data_start;
	uint32_t *bcount = NULL, nb = PS_MAPIDX_MIN_BUCKETS, ndir, b;
	uint64_t ntargets = 0;
	uint8_t *f = NULL;
	int error = 0;

	if (n > PS_MAPIDX_MAX_ROWS)
		return ps_error_setc(PS_ELIMIT, "more than %u mailboxes",
				     PS_MAPIDX_MAX_ROWS);
	keys = malloc((2 * n + 1) * sizeof(*keys));
	if (!keys)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const ps_map_entry *e = ps_mapping_entry(m, i);

		if (!e) {
			error = ps_error_setc(PS_ERROR, "only a text mapping "
					      "can be compiled");
			goto done;
		}
		if (ps_mapping_find_source(m, e->source_dn) != e) {
			error = ps_error_setc(PS_EFORMAT, "line %u: source DN "
				"'%.200s' appears again (first at line %u); "
				"an index holds one entry per source DN",
				e->line, e->source_dn,
				ps_mapping_find_source(m, e->source_dn)->line);
			goto done;
		}
		keys[nkeys].entry = (uint32_t)i;
		keys[nkeys++].kind = KIND_SOURCE;
		if (e->target_dn && ps_mapping_find_target(m, e->target_dn) == e) {
			keys[nkeys].entry = (uint32_t)i;
			keys[nkeys++].kind = KIND_TARGET;
			ntargets++;
		}
	}
	while (nb < PS_MAPIDX_MAX_BUCKETS && nb * (uint64_t)KEYS_PER_BUCKET <
	       nkeys)
		nb *= 2;
	for (;;) {
		int fits = 1;

		free(bsize);
		bsize = malloc(nb * sizeof(*bsize));
		if (!bsize) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			goto done;
		}
		for (b = 0; b < nb; b++)
			bsize[b] = 4;
		for (i = 0; i < nkeys; i++) {
			const ps_map_entry *e = ps_mapping_entry(m,
							keys[i].entry);
			const char *dn = key_dn(e, keys[i].kind);

			b = bucket_of(keys[i].kind, dn, strlen(dn), nb);
			keys[i].bucket = b;
			bsize[b] += record_size(e, keys[i].kind);
			if (bsize[b] > PS_MAPIDX_MAX_BUCKET_BYTES)
				fits = 0;
		}
		if (fits)
			break;
		if (nb >= PS_MAPIDX_MAX_BUCKETS) {
			error = ps_error_setc(PS_ELIMIT, "a bucket of the index "
				"would exceed %u bytes (too many or too long "
				"rows)", PS_MAPIDX_MAX_BUCKET_BYTES);
			goto done;
		}
		nb *= 2;
	}
	ndir = nb / PS_MAPIDX_DIR_SLOTS;
	data_start = PS_MAPIDX_HEADER_BYTES +
		     (uint64_t)ndir * PS_MAPIDX_DIR_BYTES;
	total = data_start;
	for (b = 0; b < nb; b++)
		total += bsize[b];
	if (total > SIZE_MAX) {
		error = ps_error_setc(PS_ELIMIT, "the index would be too big");
		goto done;
	}
	f = calloc(1, (size_t)total);
	cur = malloc(nb * sizeof(*cur));
	bcount = calloc(nb, sizeof(*bcount));
	if (!f || !cur || !bcount) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	/* Buckets, in bucket order, records in file order (sources first
	 * met, targets after the line that names them first). */
	for (b = 0, total = data_start; b < nb; b++) {
		cur[b] = total + 4;
		total += bsize[b];
	}
	for (i = 0; i < nkeys; i++) {
		const ps_map_entry *e = ps_mapping_entry(m, keys[i].entry);
		uint8_t *end;

		b = keys[i].bucket;
		end = put_record(f + cur[b], e, keys[i].kind);
		cur[b] = (uint64_t)(end - f);
		bcount[b]++;
	}
	/* The directory: offset, length and hash of every bucket. */
	for (b = 0, total = data_start; b < nb; b++) {
		uint8_t *slot = f + PS_MAPIDX_HEADER_BYTES +
			(uint64_t)(b / PS_MAPIDX_DIR_SLOTS) *
			PS_MAPIDX_DIR_BYTES +
			(b % PS_MAPIDX_DIR_SLOTS) * PS_MAPIDX_SLOT_BYTES;

		put32(f + total, bcount[b]);
		put64(slot, total);
		put32(slot + 8, (uint32_t)bsize[b]);
		error = sha(sys, f + total, (size_t)bsize[b], slot + 12);
		if (error < 0)
			goto done;
		total += bsize[b];
	}
	for (b = 0; b < ndir; b++) {
		error = sha(sys, f + PS_MAPIDX_HEADER_BYTES +
			    (uint64_t)b * PS_MAPIDX_DIR_BYTES,
			    PS_MAPIDX_DIR_BYTES, f + TOP_OFF + b * 32u);
		if (error < 0)
			goto done;
	}
	memcpy(f, PS_MAPIDX_MAGIC, 8);
	put32(f + 8, PS_MAPIDX_VERSION);
	put32(f + 12, 0);
	put64(f + 16, n);
	put64(f + 24, ntargets);
	put32(f + 32, nb);
	put32(f + 36, ndir);
	put64(f + 40, total);
	memcpy(f + 48, source_sha256, 32);
	error = sha(sys, f, ROOT_OFF, f + ROOT_OFF);
	if (error < 0)
		goto done;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->version = PS_MAPIDX_VERSION;
		info->rows = n;
		info->targets = ntargets;
		info->buckets = nb;
		info->dir_pages = ndir;
		info->size = total;
		memcpy(info->source_sha256, source_sha256, 32);
		memcpy(info->root, f + ROOT_OFF, 32);
	}
	*out = f;
	*outlen = (size_t)total;
	f = NULL;
done:
	free(f);
	free(cur);
	free(bcount);
	free(bsize);
	free(keys);
	return error;
}

/* ---- reader ------------------------------------------------------------- */

typedef struct pbucket {
	size_t n;
	uint8_t *kind;
	ps_map_entry *v;
	char *strings;
} pbucket;

struct ps_mapidx {
	ps_system *sys;
	void *h;
	char *path;
	ps_mapidx_info info;
	uint64_t data_start;
	uint8_t top[PS_MAPIDX_TOP_SLOTS * 32];
	uint8_t **dirs;         /* verified directory pages (lazily) */
	pbucket **bk;           /* parsed buckets (lazily) */
	int failed;             /* the first lookup error, sticky */
	char *failure;
};

static int bad(const ps_mapidx *ix, const char *what)
{
	return ps_error_setc(PS_EFORMAT, "%s: %s; not a valid compiled "
			     "mapping (corrupt, truncated or tampered): "
			     "compile it again", ix->path, what);
}

static void pbucket_free(pbucket *p)
{
	if (!p)
		return;
	free(p->kind);
	free(p->v);
	free(p->strings);
	free(p);
}

/* One string of a record: 4-byte length (ABSENT allowed when optional),
 * bytes; copied NUL-terminated to *sp.  NULL and *pos moved, or a reason. */
static const char *take_str(const uint8_t *buf, size_t len, size_t *pos,
			    int optional, char **sp, char **out)
{
	uint32_t n;

	if (len - *pos < 4)
		return "a record runs past the end of its bucket";
	n = get32(buf + *pos);
	*pos += 4;
	if (n == ABSENT) {
		*out = NULL;
		return optional ? NULL : "a required DN is absent";
	}
	if (n > len - *pos)
		return "a string runs past the end of its bucket";
	if (!n)
		return "an empty string (absent values are marked absent)";
	if (memchr(buf + *pos, '\0', n))
		return "a string holds a NUL byte";
	if (!ps_utf8_valid((const char *)buf + *pos, n))
		return "a string is not valid UTF-8";
	{
		size_t i;

		for (i = 0; i < n; i++)
			if (buf[*pos + i] < 0x20 || buf[*pos + i] == 0x7F)
				return "a string holds a control character";
	}
	memcpy(*sp, buf + *pos, n);
	(*sp)[n] = '\0';
	*out = *sp;
	*sp += n + 1;
	*pos += n;
	return NULL;
}

/* Parse bucket b (already checked against its hash). */
static int parse_bucket(const ps_mapidx *ix, uint32_t b, const uint8_t *buf,
			size_t len, pbucket **out)
{
	pbucket *p = calloc(1, sizeof(*p));
	const char *why = NULL;
	size_t pos = 4, i, count;
	char *sp;
	char msg[160];

	if (!p)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	if (len < 4) {
		pbucket_free(p);
		return bad(ix, "a bucket is shorter than its count");
	}
	count = get32(buf);
	/* The smallest record: kind, line, two 1-byte strings. */
	if (count > (len - 4) / 15) {
		snprintf(msg, sizeof(msg), "bucket %u claims %zu records in %zu "
			 "bytes", b, count, len);
		pbucket_free(p);
		return bad(ix, msg);
	}
	p->kind = malloc(count + 1);
	p->v = calloc(count + 1, sizeof(*p->v));
	p->strings = malloc(len + 1);
	if (!p->kind || !p->v || !p->strings) {
		pbucket_free(p);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	sp = p->strings;
	for (i = 0; i < count && !why; i++) {
		ps_map_entry *e = &p->v[i];
		const char *key;
		int c;

		if (len - pos < 5) {
			why = "a record runs past the end of its bucket";
			break;
		}
		p->kind[i] = buf[pos];
		e->line = get32(buf + pos + 1);
		pos += 5;
		if (!e->line) {
			why = "a record has line 0";
		} else if (p->kind[i] == KIND_SOURCE) {
			for (c = 0; c < NFIELDS && !why; c++)
				why = take_str(buf, len, &pos, c != 0, &sp,
					       field_ptr(e, c));
		} else if (p->kind[i] == KIND_TARGET) {
			why = take_str(buf, len, &pos, 0, &sp, &e->target_dn);
			if (!why)
				why = take_str(buf, len, &pos, 0, &sp,
					       &e->source_dn);
		} else {
			why = "a record of an unknown kind";
		}
		if (why)
			break;
		key = p->kind[i] == KIND_TARGET ? e->target_dn : e->source_dn;
		if (bucket_of(p->kind[i], key, strlen(key),
			      ix->info.buckets) != b)
			why = "a record is in the wrong bucket";
	}
	if (!why && pos != len)
		why = "bytes after the last record of a bucket";
	if (why) {
		snprintf(msg, sizeof(msg), "bucket %u: %s", b, why);
		pbucket_free(p);
		return bad(ix, msg);
	}
	p->n = count;
	*out = p;
	return 0;
}

int ps_mapidx_open(ps_mapidx **out, ps_system *sys, const char *path)
{
	ps_mapidx *ix = calloc(1, sizeof(*ix));
	uint8_t hdr[PS_MAPIDX_HEADER_BYTES], root[32];
	uint64_t size = 0, minsize;
	uint32_t i, flags;
	char msg[160];
	int error;

	if (!ix || !(ix->path = ps_strdup(path))) {
		free(ix);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	ix->sys = sys;
	error = ps_sys_open_read(sys, path, &ix->h, &size);
	if (error < 0)
		goto fail;
	if (size < 8 || size < PS_MAPIDX_HEADER_BYTES) {
		uint8_t magic[8];

		if (size >= 8 && ps_sys_read_at(sys, ix->h, 0, magic, 8) == 0 &&
		    ps_mapidx_has_magic(magic, 8))
			error = bad(ix, "the file is shorter than the header");
		else
			error = ps_error_setc(PS_EFORMAT, "%s: not a compiled "
					      "mapping (no %s header)", path,
					      PS_MAPIDX_MAGIC);
		goto fail;
	}
	error = ps_sys_read_at(sys, ix->h, 0, hdr, sizeof(hdr));
	if (error < 0)
		goto fail;
	if (!ps_mapidx_has_magic(hdr, 8)) {
		error = ps_error_setc(PS_EFORMAT, "%s: not a compiled mapping "
				      "(no %s header)", path, PS_MAPIDX_MAGIC);
		goto fail;
	}
	ix->info.version = get32(hdr + 8);
	if (ix->info.version != PS_MAPIDX_VERSION) {
		error = ps_error_setc(PS_EFORMAT, "%s: compiled mapping format "
				      "version %u is not supported (this "
				      "profswitch reads version %u): compile "
				      "it again with this profswitch", path,
				      ix->info.version, PS_MAPIDX_VERSION);
		goto fail;
	}
	error = sha(sys, hdr, ROOT_OFF, root);
	if (error < 0)
		goto fail;
	if (memcmp(root, hdr + ROOT_OFF, 32)) {
		error = bad(ix, "the header does not match its checksum");
		goto fail;
	}
	flags = get32(hdr + 12);
	ix->info.rows = get64(hdr + 16);
	ix->info.targets = get64(hdr + 24);
	ix->info.buckets = get32(hdr + 32);
	ix->info.dir_pages = get32(hdr + 36);
	ix->info.size = get64(hdr + 40);
	memcpy(ix->info.source_sha256, hdr + 48, 32);
	memcpy(ix->info.root, root, 32);
	memcpy(ix->top, hdr + TOP_OFF, sizeof(ix->top));
	if (flags) {
		snprintf(msg, sizeof(msg), "unknown flags 0x%08x", flags);
		error = bad(ix, msg);
		goto fail;
	}
	if (ix->info.buckets < PS_MAPIDX_MIN_BUCKETS ||
	    ix->info.buckets > PS_MAPIDX_MAX_BUCKETS ||
	    (ix->info.buckets & (ix->info.buckets - 1)) ||
	    ix->info.dir_pages != ix->info.buckets / PS_MAPIDX_DIR_SLOTS) {
		error = bad(ix, "bad bucket or directory page count");
		goto fail;
	}
	if (ix->info.rows > PS_MAPIDX_MAX_ROWS ||
	    ix->info.targets > ix->info.rows) {
		error = bad(ix, "bad row counts");
		goto fail;
	}
	for (i = ix->info.dir_pages * 32u; i < sizeof(ix->top); i++)
		if (ix->top[i]) {
			error = bad(ix, "an unused top table slot is set");
			goto fail;
		}
	ix->data_start = PS_MAPIDX_HEADER_BYTES +
			 (uint64_t)ix->info.dir_pages * PS_MAPIDX_DIR_BYTES;
	minsize = ix->data_start + 4ull * ix->info.buckets;
	if (ix->info.size != size || size < minsize) {
		snprintf(msg, sizeof(msg), "the file has %llu bytes but its "
			 "header says %llu", (unsigned long long)size,
			 (unsigned long long)ix->info.size);
		error = bad(ix, msg);
		goto fail;
	}
	*out = ix;
	return 0;
fail:
	ps_mapidx_free(ix);
	return error;
}

const ps_mapidx_info *ps_mapidx_get_info(const ps_mapidx *ix)
{
	return &ix->info;
}

/* Directory page d, read and checked once. */
static int load_dir(ps_mapidx *ix, uint32_t d, const uint8_t **page)
{
	uint8_t *p, h[32];
	int error;

	if (!ix->dirs) {
		ix->dirs = calloc(ix->info.dir_pages, sizeof(*ix->dirs));
		if (!ix->dirs)
			return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	if (ix->dirs[d]) {
		*page = ix->dirs[d];
		return 0;
	}
	p = malloc(PS_MAPIDX_DIR_BYTES);
	if (!p)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	error = ps_sys_read_at(ix->sys, ix->h, PS_MAPIDX_HEADER_BYTES +
			       (uint64_t)d * PS_MAPIDX_DIR_BYTES, p,
			       PS_MAPIDX_DIR_BYTES);
	if (error == 0)
		error = sha(ix->sys, p, PS_MAPIDX_DIR_BYTES, h);
	if (error == 0 && memcmp(h, ix->top + d * 32u, 32)) {
		char msg[96];

		snprintf(msg, sizeof(msg), "directory page %u does not match "
			 "its hash in the header", d);
		error = bad(ix, msg);
	}
	if (error < 0) {
		free(p);
		return error;
	}
	ix->dirs[d] = p;
	*page = p;
	return 0;
}

/* Read bucket b and check it against its directory slot; *buf is the
 * caller's.  expect_off: the offset it must have (verify), or 0. */
static int read_bucket(ps_mapidx *ix, uint32_t b, uint64_t expect_off,
		       uint8_t **buf, size_t *len)
{
	const uint8_t *page = NULL, *slot;
	uint64_t off;
	uint32_t n;
	uint8_t h[32], *p;
	char msg[128];
	int error = load_dir(ix, b / PS_MAPIDX_DIR_SLOTS, &page);

	if (error < 0)
		return error;
	slot = page + (b % PS_MAPIDX_DIR_SLOTS) * PS_MAPIDX_SLOT_BYTES;
	off = get64(slot);
	n = get32(slot + 8);
	if (off < ix->data_start || n < 4 ||
	    n > PS_MAPIDX_MAX_BUCKET_BYTES || off > ix->info.size ||
	    n > ix->info.size - off || (expect_off && off != expect_off)) {
		snprintf(msg, sizeof(msg), "bucket %u: offset %llu, length %u "
			 "out of place", b, (unsigned long long)off, n);
		return bad(ix, msg);
	}
	p = malloc(n);
	if (!p)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	error = ps_sys_read_at(ix->sys, ix->h, off, p, n);
	if (error == 0)
		error = sha(ix->sys, p, n, h);
	if (error == 0 && memcmp(h, slot + 12, 32)) {
		snprintf(msg, sizeof(msg), "bucket %u does not match its hash "
			 "in directory page %u", b, b / PS_MAPIDX_DIR_SLOTS);
		error = bad(ix, msg);
	}
	if (error < 0) {
		free(p);
		return error;
	}
	*buf = p;
	*len = n;
	return 0;
}

static int load_bucket(ps_mapidx *ix, uint32_t b, const pbucket **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	pbucket *p = NULL;
	int error;

	if (!ix->bk) {
		ix->bk = calloc(ix->info.buckets, sizeof(*ix->bk));
		if (!ix->bk)
			return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	if (!ix->bk[b]) {
		error = read_bucket(ix, b, 0, &buf, &len);
		if (error < 0)
			return error;
		error = parse_bucket(ix, b, buf, len, &p);
		free(buf);
		if (error < 0)
			return error;
		ix->bk[b] = p;
	}
	*out = ix->bk[b];
	return 0;
}

static int fail_sticky(ps_mapidx *ix, int error)
{
	if (error != PS_ENOMEM && !ix->failed) {
		ix->failed = error;
		ix->failure = ps_strdup(ps_error_last());
	}
	return error;
}

static int find_kind(ps_mapidx *ix, unsigned kind, const char *dn,
		     const ps_map_entry **out)
{
	const pbucket *p = NULL;
	size_t i;
	int error = load_bucket(ix, bucket_of(kind, dn, strlen(dn),
					      ix->info.buckets), &p);

	if (error < 0)
		return error;
	for (i = 0; i < p->n; i++) {
		const ps_map_entry *e = &p->v[i];

		if (p->kind[i] != kind)
			continue;
		if (!ps_strcasecmp(kind == KIND_TARGET ? e->target_dn
					: e->source_dn, dn)) {
			*out = e;
			return 0;
		}
	}
	return PS_ENOTFOUND;
}

int ps_mapidx_find(ps_mapidx *ix, int target, const char *dn,
		   const ps_map_entry **e)
{
	const ps_map_entry *t, *s;
	int error;

	*e = NULL;
	if (!dn)
		return PS_ENOTFOUND;
	if (ix->failed)
		return ps_error_setc(ix->failed, "%s",
				     ix->failure ? ix->failure : "");
	if (!target) {
		error = find_kind(ix, KIND_SOURCE, dn, e);
		return error == PS_ENOTFOUND ? error
		       : error < 0 ? fail_sticky(ix, error) : 0;
	}
	error = find_kind(ix, KIND_TARGET, dn, &t);
	if (error == PS_ENOTFOUND)
		return error;
	if (error < 0)
		return fail_sticky(ix, error);
	/* The target record names the line whose entry to return. */
	error = find_kind(ix, KIND_SOURCE, t->source_dn, &s);
	if (error == PS_ENOTFOUND || (error == 0 &&
	    (!s->target_dn || ps_strcasecmp(s->target_dn, dn) ||
	     s->line != t->line)))
		error = bad(ix, "a target DN record does not match the "
			    "source entry it names");
	if (error < 0)
		return fail_sticky(ix, error);
	*e = s;
	return 0;
}

const char *ps_mapidx_error(const ps_mapidx *ix)
{
	return ix && ix->failed ? (ix->failure ? ix->failure : "?") : NULL;
}

int ps_mapidx_verify(ps_mapidx *ix)
{
	uint64_t off = ix->data_start, rows = 0, targets = 0;
	uint32_t b;
	int error = 0;

	for (b = 0; b < ix->info.buckets && !error; b++) {
		uint8_t *buf = NULL;
		size_t len = 0, i, j;
		pbucket *p = NULL;

		error = read_bucket(ix, b, off, &buf, &len);
		if (error < 0)
			break;
		error = parse_bucket(ix, b, buf, len, &p);
		free(buf);
		if (error < 0)
			break;
		off += len;
		for (i = 0; i < p->n && !error; i++) {
			const ps_map_entry *e = &p->v[i];
			const char *k = p->kind[i] == KIND_TARGET
					? e->target_dn : e->source_dn;

			if (p->kind[i] == KIND_SOURCE)
				rows++;
			else
				targets++;
			for (j = 0; j < i; j++)
				if (p->kind[j] == p->kind[i] &&
				    !ps_strcasecmp(k, p->kind[j] == KIND_TARGET
						   ? p->v[j].target_dn
						   : p->v[j].source_dn))
					break;
			if (j < i)
				error = bad(ix, "a DN appears twice");
		}
		pbucket_free(p);
	}
	if (!error && (off != ix->info.size || rows != ix->info.rows ||
		       targets != ix->info.targets))
		error = bad(ix, "the buckets do not add up to the header's "
			    "counts and size");
	return error;
}

void ps_mapidx_free(ps_mapidx *ix)
{
	uint32_t i;

	if (!ix)
		return;
	if (ix->dirs)
		for (i = 0; i < ix->info.dir_pages; i++)
			free(ix->dirs[i]);
	if (ix->bk)
		for (i = 0; i < ix->info.buckets; i++)
			pbucket_free(ix->bk[i]);
	free(ix->dirs);
	free(ix->bk);
	if (ix->h)
		ps_sys_close_read(ix->sys, ix->h);
	free(ix->failure);
	free(ix->path);
	free(ix);
}
