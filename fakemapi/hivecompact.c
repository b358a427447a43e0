/*
 * Compacting REGF hives (see ps_hivecompact.h).
 *
 * The layout, as the format is publicly documented: a 4 KiB base block,
 * then hive bins ("hbin", multiples of 4 KiB) holding cells.  A cell
 * starts with its size as a signed 32-bit number, negative when in use,
 * and sizes are multiples of 8.  Offsets in cells count from the end of
 * the base block.  The cells a key reaches:
 *
 *   nk  key: +16 parent, +20 subkeys, +28 subkey list, +36 values,
 *       +40 value list, +44 security (sk), +48 class name, +72 name
 *       length, +74 class name length, +76 name
 *   li  subkey list: +2 count, +4 offsets; lf, lh: +4 (offset, hash)
 *       pairs; ri: +4 offsets of li/lf/lh lists
 *       value list: offsets of vk cells, one per value
 *   vk  value: +2 name length, +4 data length (top bit: the data is in
 *       the offset field), +8 data offset, +20 name
 *   db  big data: +2 segments, +4 offset of the list of segment cells
 *   sk  security: +4 next, +8 previous (a closed list of all of them),
 *       +12 reference count, +16 descriptor length, +20 descriptor
 *
 * (offsets within the cell after its size).  A value whose data length is
 * more than its data cell holds and whose cell says "db" has big data,
 * as libhivex reads it.  Everything is little-endian.
 */
#include "ps_hivecompact.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ps_error.h"

#define NIL 0xFFFFFFFFu
#define BASE 0x1000u       /* the base block; cells count from its end */
#define PAGE 0x1000u       /* hive bins are multiples of this */
#define HBIN_HEAD 32u
#define MAX_DEPTH 1024
#define BIG_DATA 16344u    /* longer data may be in segments */

#define WHAT_COMPACT "cannot compact the hive"
#define WHAT_COMPARE "the compacted hive differs from the original"
#define WHAT_BINS "the hive bins are damaged"

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* ---- offset map: cell offset -> number (open addressing) ------------ */

typedef struct omap {
	uint32_t *key;   /* NIL: empty */
	uint32_t *val;
	size_t cap, n;   /* cap a power of two */
} omap;

static size_t omap_slot(const omap *m, uint32_t k)
{
	return (size_t)((k * 2654435761u) >> 3) & (m->cap - 1);
}

static int omap_grow(omap *m)
{
	omap b;
	size_t i;

	b.cap = m->cap ? m->cap * 2 : 64;
	b.n = 0;
	b.key = malloc(b.cap * sizeof(*b.key));
	b.val = malloc(b.cap * sizeof(*b.val));
	if (!b.key || !b.val) {
		free(b.key);
		free(b.val);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	memset(b.key, 0xFF, b.cap * sizeof(*b.key));
	for (i = 0; i < m->cap; i++) {
		size_t s;

		if (m->key[i] == NIL)
			continue;
		s = omap_slot(&b, m->key[i]);
		while (b.key[s] != NIL)
			s = (s + 1) & (b.cap - 1);
		b.key[s] = m->key[i];
		b.val[s] = m->val[i];
		b.n++;
	}
	free(m->key);
	free(m->val);
	*m = b;
	return 0;
}

/* The slot of k, or NULL. */
static uint32_t *omap_get(const omap *m, uint32_t k)
{
	size_t s;

	if (!m->cap)
		return NULL;
	for (s = omap_slot(m, k); m->key[s] != NIL; s = (s + 1) & (m->cap - 1))
		if (m->key[s] == k)
			return &m->val[s];
	return NULL;
}

/* Add k (not in m yet) with v. */
static int omap_put(omap *m, uint32_t k, uint32_t v)
{
	size_t s;
	int rc;

	if ((m->n + 1) * 2 > m->cap && (rc = omap_grow(m)) < 0)
		return rc;
	s = omap_slot(m, k);
	while (m->key[s] != NIL)
		s = (s + 1) & (m->cap - 1);
	m->key[s] = k;
	m->val[s] = v;
	m->n++;
	return 0;
}

static void omap_free(omap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

/* ---- a hive's bins and cells ----------------------------------------- */

typedef struct hive {
	const char *file;
	const char *what;    /* what failed, for messages */
	const uint8_t *d;
	size_t len;
	size_t end;          /* file offset past the last bin */
	uint8_t *used;       /* one bit per 4-byte slot: a used cell starts */
	size_t nused;        /* cells in use */
	size_t bins;         /* bytes of hive bins */
	size_t free_bytes;   /* bytes in free cells */
} hive;

static int bad(const hive *H, const char *fmt, ...) PS_PRINTF(2, 3);

static int bad(const hive *H, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ps_error_setc(PS_EFORMAT, "%s: %s: %s", H->file, H->what, msg);
}

static int hive_open(hive *H, const char *file, const char *what,
		     const uint8_t *d, size_t len)
{
	size_t off, size;

	memset(H, 0, sizeof(*H));
	H->file = file;
	H->what = what;
	H->d = d;
	H->len = len;
	if (len < 2 * PAGE || memcmp(d, "regf", 4))
		return bad(H, "not a registry hive");
	size = rd32(d + 40);
	if (size < PAGE || size % PAGE || size > len - BASE)
		return bad(H, "the header's size of the hive bins (%zu) does "
			   "not fit the file (%zu bytes)", size, len);
	H->end = BASE + size;
	H->bins = size;
	H->used = calloc(len / 32 + 1, 1);
	if (!H->used)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (off = BASE; off < H->end;) {
		size_t bsize, c, n;

		if (memcmp(d + off, "hbin", 4))
			return bad(H, "no hive bin at 0x%zx", off);
		bsize = rd32(d + off + 8);
		if (bsize < PAGE || bsize % PAGE)
			return bad(H, "the hive bin at 0x%zx has a bad size "
				   "(%zu)", off, bsize);
		if (bsize > H->end - off)
			return bad(H, "the hive bin at 0x%zx (%zu bytes) "
				   "reaches past the end of the bins the "
				   "header gives (0x%zx)", off, bsize, H->end);
		if (rd32(d + off + 4) != off - BASE)
			return bad(H, "the hive bin at 0x%zx gives another "
				   "offset", off);
		for (c = off + HBIN_HEAD; c < off + bsize; c += n) {
			uint32_t s = rd32(d + c);
			int in_use = (s & 0x80000000u) != 0;

			n = in_use ? (uint32_t)(0u - s) : s;
			if (n < 8 || n % 4 || n > off + bsize - c)
				return bad(H, "the cell at 0x%zx has a bad "
					   "size", c);
			if (in_use) {
				H->used[c / 32] |= (uint8_t)(1u << (c / 4 % 8));
				H->nused++;
			} else {
				H->free_bytes += n;
			}
		}
		off += bsize;
	}
	return 0;
}

static void hive_close(hive *H)
{
	free(H->used);
	H->used = NULL;
}

/* The cell in use at offset rel: *p its contents (after the size), *n
 * their length. */
static int cell(const hive *H, uint32_t rel, const uint8_t **p, size_t *n)
{
	size_t o;

	if (rel >= H->end - BASE)
		return bad(H, "offset 0x%x is past the hive bins", rel);
	o = BASE + (size_t)rel;
	if (o % 4 || !(H->used[o / 32] & (1u << (o / 4 % 8))))
		return bad(H, "offset 0x%x is not a cell in use", rel);
	*p = H->d + o + 4;
	*n = (size_t)(0u - rd32(H->d + o)) - 4;
	return 0;
}

/* Bytes per entry of a subkey list with this signature (0: not one). */
static size_t list_stride(const uint8_t *p, int in_ri)
{
	if (!memcmp(p, "li", 2))
		return 4;
	if (!memcmp(p, "lf", 2) || !memcmp(p, "lh", 2))
		return 8;
	if (!memcmp(p, "ri", 2) && !in_ri)
		return 4;
	return 0;
}

int ps_hivec_space(const char *filename, const uint8_t *data, size_t len,
		   size_t *bins, size_t *free_bytes)
{
	hive H;
	int rc = hive_open(&H, filename, WHAT_COMPACT, data, len);

	if (!rc) {
		*bins = H.bins;
		*free_bytes = H.free_bytes;
	}
	hive_close(&H);
	return rc;
}

int ps_hivec_check_bins(const char *filename, const uint8_t *data,
			size_t len)
{
	hive H;
	int rc = hive_open(&H, filename, WHAT_BINS, data, len);

	hive_close(&H);
	return rc;
}

int ps_hivec_worth(size_t bins, size_t free_bytes)
{
	return free_bytes >= PS_HIVEC_MIN_FREE &&
	       (free_bytes >= PS_HIVEC_MUCH_FREE || free_bytes >= bins / 4);
}

/* ---- compaction ------------------------------------------------------- */

enum { K_NK, K_SK, K_RAW, K_VLIST, K_VK, K_DB, K_SEGS, K_LIST };

typedef struct rec {
	uint32_t old;      /* offset in the original */
	uint32_t size;     /* of the cell, with its size field */
	uint32_t newoff;   /* offset in the copy */
	uint32_t aux;      /* value list, segments: entries; sk: keys */
	uint32_t parent;   /* nk: record of its parent key, NIL: root */
	uint8_t kind;
	uint8_t listed;    /* sk: placed in the new list */
} rec;

typedef struct compactor {
	hive H;
	rec *r;
	size_t n, cap;
	omap idx;          /* old offset -> record */
	uint32_t *sks;     /* records of the sk cells, in list order */
	size_t nsk;
} compactor;

/* Record the cell at rel as `kind`; *out its record.  Security cells,
 * data and class names may be shared; any other cell reached twice, or a
 * cell reached as two kinds, is refused. */
static int add(compactor *C, int kind, uint32_t rel, uint32_t *out)
{
	const uint8_t *p;
	size_t n;
	uint32_t *found;
	rec *r;
	int rc = cell(&C->H, rel, &p, &n);

	if (rc < 0)
		return rc;
	if ((n + 4) % 8)
		return bad(&C->H, "the cell at 0x%x is not a multiple of 8 "
			   "bytes", rel);
	found = omap_get(&C->idx, rel);
	if (found) {
		if (C->r[*found].kind != kind ||
		    (kind != K_SK && kind != K_RAW))
			return bad(&C->H, "the cell at 0x%x is reached twice",
				   rel);
		*out = *found;
		return 0;
	}
	if (C->n == C->cap) {
		size_t cap = C->cap ? C->cap * 2 : 256;
		rec *nr = realloc(C->r, cap * sizeof(*nr));

		if (!nr)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		C->r = nr;
		C->cap = cap;
	}
	r = &C->r[C->n];
	memset(r, 0, sizeof(*r));
	r->old = rel;
	r->size = (uint32_t)(n + 4);
	r->parent = NIL;
	r->kind = (uint8_t)kind;
	rc = omap_put(&C->idx, rel, (uint32_t)C->n);
	if (rc < 0)
		return rc;
	*out = (uint32_t)C->n++;
	return 0;
}

static int walk_value(compactor *C, uint32_t rel)
{
	const uint8_t *p, *dp, *sp;
	size_t n, dn, sn, i;
	uint32_t len, data, nseg, segs, ri;
	int rc;

	if ((rc = add(C, K_VK, rel, &ri)) < 0 ||
	    (rc = cell(&C->H, rel, &p, &n)) < 0)
		return rc;
	if (n < 20 || memcmp(p, "vk", 2) || 20 + rd16(p + 2) > n)
		return bad(&C->H, "the value cell at 0x%x is damaged", rel);
	len = rd32(p + 4);
	data = rd32(p + 8);
	if (len & 0x80000000u)
		return 0;                       /* the data is in the cell */
	if (data == NIL)
		return len ? bad(&C->H, "the value at 0x%x has %u bytes "
				 "and no data cell", rel, len) : 0;
	if ((rc = cell(&C->H, data, &dp, &dn)) < 0)
		return rc;
	if (len <= dn)
		return add(C, K_RAW, data, &ri);
	if (dn < 8 || memcmp(dp, "db", 2))
		return bad(&C->H, "the value at 0x%x has more data than its "
			   "cell", rel);
	nseg = rd16(dp + 2);
	segs = rd32(dp + 4);
	if ((rc = add(C, K_DB, data, &ri)) < 0 ||
	    (rc = add(C, K_SEGS, segs, &ri)) < 0 ||
	    (rc = cell(&C->H, segs, &sp, &sn)) < 0)
		return rc;
	if ((size_t)nseg * 4 > sn)
		return bad(&C->H, "the segment list at 0x%x is longer than "
			   "its cell", segs);
	C->r[ri].aux = nseg;
	for (i = 0; i < nseg && !rc; i++)
		rc = add(C, K_RAW, rd32(sp + 4 * i), &ri);
	return rc;
}

/* Record the subkey list at rel and the lists an ri names. */
static int walk_list(compactor *C, uint32_t rel, int in_ri)
{
	const uint8_t *p;
	size_t n, stride, cnt, i;
	uint32_t ri;
	int rc = cell(&C->H, rel, &p, &n);

	if (rc < 0)
		return rc;
	if (n < 4 || !(stride = list_stride(p, in_ri)))
		return bad(&C->H, "the subkey list at 0x%x is of no known "
			   "kind", rel);
	cnt = rd16(p + 2);
	if (4 + stride * cnt > n)
		return bad(&C->H, "the subkey list at 0x%x is longer than "
			   "its cell", rel);
	if ((rc = add(C, K_LIST, rel, &ri)) < 0)
		return rc;
	if (!memcmp(p, "ri", 2))
		for (i = 0; i < cnt && !rc; i++)
			rc = walk_list(C, rd32(p + 4 + 4 * i), 1);
	return rc;
}

static int walk_key(compactor *C, uint32_t rel, uint32_t parent,
		    int depth);

/* Walk the subkeys the list at rel (recorded already) names. */
static int walk_children(compactor *C, uint32_t rel, uint32_t parent,
			 int depth)
{
	const uint8_t *p;
	size_t n, stride, cnt, i;
	int rc = cell(&C->H, rel, &p, &n);

	if (rc < 0)
		return rc;
	stride = list_stride(p, 0);
	cnt = rd16(p + 2);
	for (i = 0; i < cnt && !rc; i++) {
		uint32_t e = rd32(p + 4 + stride * i);

		if (!memcmp(p, "ri", 2))
			rc = walk_children(C, e, parent, depth);
		else
			rc = walk_key(C, e, parent, depth + 1);
	}
	return rc;
}

static int walk_key(compactor *C, uint32_t rel, uint32_t parent, int depth)
{
	const uint8_t *p, *vp;
	size_t n, vn, i;
	uint32_t ki, ri, nval, vl, sl, x;
	int rc;

	if (depth > MAX_DEPTH)
		return bad(&C->H, "keys nest deeper than %d", MAX_DEPTH);
	if ((rc = add(C, K_NK, rel, &ki)) < 0 ||
	    (rc = cell(&C->H, rel, &p, &n)) < 0)
		return rc;
	if (n < 76 || memcmp(p, "nk", 2) || 76 + rd16(p + 72) > n)
		return bad(&C->H, "the key cell at 0x%x is damaged", rel);
	C->r[ki].parent = parent;
	if ((x = rd32(p + 48)) != NIL && (rc = add(C, K_RAW, x, &ri)) < 0)
		return rc;
	if ((x = rd32(p + 44)) != NIL) {
		const uint8_t *sp;
		size_t sn;

		if ((rc = add(C, K_SK, x, &ri)) < 0 ||
		    (rc = cell(&C->H, x, &sp, &sn)) < 0)
			return rc;
		if (sn < 20 || memcmp(sp, "sk", 2) ||
		    rd32(sp + 16) > sn - 20)
			return bad(&C->H, "the security cell at 0x%x is "
				   "damaged", x);
		C->r[ri].aux++;
	}
	nval = rd32(p + 36);
	vl = rd32(p + 40);
	if (vl == NIL && nval)
		return bad(&C->H, "the key at 0x%x has values and no value "
			   "list", rel);
	if (vl != NIL) {
		if ((rc = add(C, K_VLIST, vl, &ri)) < 0 ||
		    (rc = cell(&C->H, vl, &vp, &vn)) < 0)
			return rc;
		if (nval > vn / 4)
			return bad(&C->H, "the value list at 0x%x is longer "
				   "than its cell", vl);
		C->r[ri].aux = nval;
		for (i = 0; i < nval && !rc; i++)
			rc = walk_value(C, rd32(vp + 4 * i));
		if (rc < 0)
			return rc;
	}
	sl = rd32(p + 28);
	if (sl == NIL)
		return rd32(p + 20) ? bad(&C->H, "the key at 0x%x has "
					  "subkeys and no subkey list", rel)
				    : 0;
	rc = walk_list(C, sl, 0);
	if (!rc)
		rc = walk_children(C, sl, ki, depth);
	return rc;
}

/* Put the security cells in the order of the original's list (which
 * must hold every one the keys name); the others in it are dropped. */
static int order_sks(compactor *C)
{
	size_t i, steps = 0, m = 0;
	uint32_t start = NIL, cur;

	for (i = 0; i < C->n; i++)
		if (C->r[i].kind == K_SK) {
			if (start == NIL)
				start = C->r[i].old;
			m++;
		}
	if (!m)
		return 0;
	C->sks = malloc(m * sizeof(*C->sks));
	if (!C->sks)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	cur = start;
	do {
		const uint8_t *p;
		size_t n;
		uint32_t *ri = omap_get(&C->idx, cur);
		int rc = cell(&C->H, cur, &p, &n);

		if (rc < 0)
			return rc;
		if (n < 20 || memcmp(p, "sk", 2))
			return bad(&C->H, "the list of security cells holds "
				   "something else at 0x%x", cur);
		if (ri && C->r[*ri].kind == K_SK && !C->r[*ri].listed) {
			C->r[*ri].listed = 1;
			C->sks[C->nsk++] = *ri;
		}
		cur = rd32(p + 4);
		if (++steps > C->H.nused)
			return bad(&C->H, "the list of security cells does "
				   "not close");
	} while (cur != start);
	if (C->nsk != m)
		return bad(&C->H, "a security cell is not in the list of "
			   "them");
	return 0;
}

typedef struct bin {
	size_t start, size;   /* file offsets */
	size_t left;          /* bytes not used yet, at its end */
} bin;

/* Bins are filled first-fit: a max-tree over what each has left finds
 * the first one a cell fits in, in O(log bins). */
static void tree_set(size_t *t, size_t leaves, size_t k, size_t v)
{
	size_t i = leaves + k;

	t[i] = v;
	for (i /= 2; i; i /= 2)
		t[i] = t[2 * i] > t[2 * i + 1] ? t[2 * i] : t[2 * i + 1];
}

static size_t tree_first(const size_t *t, size_t leaves, size_t need)
{
	size_t i = 1;

	if (t[1] < need)
		return (size_t)-1;
	while (i < leaves)
		i = t[2 * i] >= need ? 2 * i : 2 * i + 1;
	return i - leaves;
}

/* Room for twice as many bins: the bins and a tree over them. */
static int grow_bins(bin **b, size_t **t, size_t *leaves)
{
	size_t cap = *leaves ? *leaves * 2 : 64, i;
	bin *nb = realloc(*b, cap * sizeof(*nb));
	size_t *nt;

	if (!nb)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	*b = nb;
	nt = calloc(2 * cap, sizeof(*nt));
	if (!nt)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; *t && i < *leaves; i++)
		nt[cap + i] = (*t)[*leaves + i];
	for (i = cap - 1; i; i--)
		nt[i] = nt[2 * i] > nt[2 * i + 1] ? nt[2 * i] : nt[2 * i + 1];
	free(*t);
	*t = nt;
	*leaves = cap;
	return 0;
}

/* Give every record, in record order, its place in the first new bin
 * with room for it; a new bin (4 KiB, or as many 4 KiB pages as a
 * larger cell needs) when none has. */
static int lay_out(compactor *C, bin **bins, size_t *nbins, size_t *total)
{
	size_t i, n = 0, end = BASE, leaves = 0, *t = NULL;
	bin *b = NULL;
	int rc = grow_bins(&b, &t, &leaves);

	for (i = 0; i < C->n && !rc; i++) {
		size_t size = C->r[i].size, k = tree_first(t, leaves, size);

		if (k == (size_t)-1) {
			size_t bsize = (HBIN_HEAD + size + PAGE - 1) /
				       PAGE * PAGE;

			if (bsize > 0xF0000000u - end) {
				rc = bad(&C->H, "the copy would be too large");
				break;
			}
			if (n == leaves && (rc = grow_bins(&b, &t,
							   &leaves)) < 0)
				break;
			k = n++;
			b[k].start = end;
			b[k].size = bsize;
			b[k].left = bsize - HBIN_HEAD;
			end += bsize;
		}
		C->r[i].newoff = (uint32_t)(b[k].start + b[k].size -
					    b[k].left - BASE);
		b[k].left -= size;
		tree_set(t, leaves, k, b[k].left);
	}
	free(t);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*bins = b;
	*nbins = n;
	*total = end - BASE;
	return 0;
}

static uint32_t remap(const compactor *C, uint32_t old)
{
	const uint32_t *ri = omap_get(&C->idx, old);

	return ri ? C->r[*ri].newoff : NIL;   /* always found */
}

/* Rewrite the offsets in the copy of record i at c (after its size). */
static void patch(const compactor *C, size_t i, uint8_t *c)
{
	const rec *r = &C->r[i];
	size_t n = r->size - 4, k, cnt, stride;
	uint32_t len;

	switch (r->kind) {
	case K_NK:
		if (r->parent != NIL)
			wr32(c + 16, C->r[r->parent].newoff);
		for (k = 28; k <= 48; k += 4)
			if (k != 32 && k != 36 && rd32(c + k) != NIL)
				wr32(c + k, remap(C, rd32(c + k)));
		break;
	case K_VK:
		len = rd32(c + 4);
		if (!(len & 0x80000000u) && rd32(c + 8) != NIL)
			wr32(c + 8, remap(C, rd32(c + 8)));
		break;
	case K_DB:
		wr32(c + 4, remap(C, rd32(c + 4)));
		break;
	case K_VLIST:
	case K_SEGS:
		for (k = 0; k < r->aux; k++)
			wr32(c + 4 * k, remap(C, rd32(c + 4 * k)));
		memset(c + 4 * k, 0, n - 4 * k);
		break;
	case K_LIST:
		stride = list_stride(c, 0);
		cnt = rd16(c + 2);
		for (k = 0; k < cnt; k++)
			wr32(c + 4 + stride * k,
			     remap(C, rd32(c + 4 + stride * k)));
		memset(c + 4 + stride * cnt, 0, n - 4 - stride * cnt);
		break;
	default:
		break;
	}
}

/* The security cells' list links and reference counts. */
static void link_sks(const compactor *C, uint8_t *out)
{
	size_t k;

	for (k = 0; k < C->nsk; k++) {
		const rec *r = &C->r[C->sks[k]];
		const rec *next = &C->r[C->sks[(k + 1) % C->nsk]];
		const rec *prev = &C->r[C->sks[(k + C->nsk - 1) % C->nsk]];
		uint8_t *c = out + BASE + r->newoff + 4;

		wr32(c + 4, next->newoff);
		wr32(c + 8, prev->newoff);
		if (rd32(c + 12) < r->aux)
			wr32(c + 12, r->aux);
	}
}

/* XOR of the base block's first 127 words; 0 when Windows and libhivex
 * would disagree on it (Windows stores 0 as 1 and -1 as -2). */
static uint32_t checksum(const uint8_t *base)
{
	uint32_t x = 0;
	int i;

	for (i = 0; i < 127; i++)
		x ^= rd32(base + 4 * i);
	return x == 0 || x == NIL ? 0 : x;
}

static int write_copy(compactor *C, const bin *bins, size_t nbins,
		      size_t total, uint8_t **out, size_t *out_len)
{
	const uint8_t *d = C->H.d;
	uint8_t *o = calloc(BASE + total, 1);
	size_t i;
	uint32_t sum;

	if (!o)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	memcpy(o, d, BASE);
	for (i = 0; i < nbins; i++) {
		uint8_t *h = o + bins[i].start;

		memcpy(h, "hbin", 4);
		wr32(h + 4, (uint32_t)(bins[i].start - BASE));
		wr32(h + 8, (uint32_t)bins[i].size);
		if (!i)   /* the first bin's timestamp */
			memcpy(h + 20, d + BASE + 20, 8);
		if (bins[i].left)   /* one free cell */
			wr32(h + bins[i].size - bins[i].left,
			     (uint32_t)bins[i].left);
	}
	for (i = 0; i < C->n; i++) {
		const rec *r = &C->r[i];
		uint8_t *c = o + BASE + r->newoff;

		wr32(c, 0u - r->size);
		memcpy(c + 4, d + BASE + r->old + 4, r->size - 4);
		patch(C, i, c + 4);
	}
	link_sks(C, o);
	wr32(o + 36, C->r[0].newoff);
	wr32(o + 40, (uint32_t)total);
	sum = checksum(o);
	if (!sum) {
		free(o);
		return bad(&C->H, "the new base block's checksum would be "
			   "read differently by Windows and libhivex");
	}
	wr32(o + 508, sum);
	*out = o;
	*out_len = BASE + total;
	return 0;
}

int ps_hivec_compact(const char *filename, const uint8_t *data, size_t len,
		     uint8_t **out, size_t *out_len)
{
	compactor C;
	bin *bins = NULL;
	size_t nbins = 0, total = 0;
	int rc;

	memset(&C, 0, sizeof(C));
	rc = hive_open(&C.H, filename, WHAT_COMPACT, data, len);
	if (!rc)
		rc = walk_key(&C, rd32(data + 36), NIL, 0);
	if (!rc)
		rc = order_sks(&C);
	if (!rc)
		rc = lay_out(&C, &bins, &nbins, &total);
	if (!rc)
		rc = write_copy(&C, bins, nbins, total, out, out_len);
	free(bins);
	free(C.sks);
	free(C.r);
	omap_free(&C.idx);
	hive_close(&C.H);
	return rc;
}

/* ---- comparison ------------------------------------------------------- */

typedef struct cmp {
	hive A, B;
	uint8_t *seen;     /* keys of A walked (one bit per 4 bytes) */
	omap sk;           /* sk of A -> sk of B */
	omap skb;          /* sk of B -> keys naming it */
	uint32_t skb_first;
} cmp;

/* The cells at a and b, of one size. */
static int cmp_cells(cmp *K, uint32_t a, uint32_t b, const uint8_t **pa,
		     const uint8_t **pb, size_t *n)
{
	size_t na, nb;
	int rc;

	if ((rc = cell(&K->A, a, pa, &na)) < 0 ||
	    (rc = cell(&K->B, b, pb, &nb)) < 0)
		return rc;
	if (na != nb)
		return bad(&K->B, "the cell at 0x%x has %zu bytes, the "
			   "original at 0x%x %zu", b, nb, a, na);
	*n = na;
	return 0;
}

/* The cells at a and b (or both NIL) hold the same bytes. */
static int cmp_raw(cmp *K, uint32_t a, uint32_t b)
{
	const uint8_t *pa, *pb;
	size_t n;
	int rc;

	if (a == NIL || b == NIL)
		return a == b ? 0 : bad(&K->B, "a cell is missing or extra "
					"(0x%x, original 0x%x)", b, a);
	if ((rc = cmp_cells(K, a, b, &pa, &pb, &n)) < 0)
		return rc;
	return memcmp(pa, pb, n) ? bad(&K->B, "the cell at 0x%x differs "
				       "from the original at 0x%x", b, a) : 0;
}

/* Bytes [from, to) of two cells are equal. */
static int same(cmp *K, const uint8_t *pa, const uint8_t *pb, size_t from,
		size_t to, uint32_t b, const char *what)
{
	if (memcmp(pa + from, pb + from, to - from))
		return bad(&K->B, "%s at 0x%x differs from the original",
			   what, b);
	return 0;
}

static int cmp_sk(cmp *K, uint32_t a, uint32_t b)
{
	const uint8_t *pa, *pb;
	size_t n;
	uint32_t *m, *cnt;
	int rc;

	if (a == NIL || b == NIL)
		return a == b ? 0 : bad(&K->B, "a key's security cell is "
					"missing or extra (0x%x)", b);
	m = omap_get(&K->sk, a);
	if (m) {
		if (*m != b)
			return bad(&K->B, "security cells are not shared as "
				   "in the original (0x%x)", b);
		cnt = omap_get(&K->skb, b);
		(*cnt)++;
		return 0;
	}
	if (omap_get(&K->skb, b))
		return bad(&K->B, "security cells are not shared as in the "
			   "original (0x%x)", b);
	if ((rc = cmp_cells(K, a, b, &pa, &pb, &n)) < 0)
		return rc;
	if (n < 20 || memcmp(pa, "sk", 2) || rd32(pa + 16) > n - 20)
		return bad(&K->A, "the security cell at 0x%x is damaged", a);
	if ((rc = same(K, pa, pb, 0, 4, b, "the security cell")) < 0 ||
	    (rc = same(K, pa, pb, 16, 20 + rd32(pa + 16), b,
		       "the security descriptor")) < 0)
		return rc;
	if (rd32(pb + 12) < rd32(pa + 12))
		return bad(&K->B, "the security cell at 0x%x has a lower "
			   "reference count than the original", b);
	if (K->skb_first == NIL)
		K->skb_first = b;
	if ((rc = omap_put(&K->sk, a, b)) < 0 ||
	    (rc = omap_put(&K->skb, b, 1)) < 0)
		return rc;
	return 0;
}

/* B's security cells form one closed list, each counting the keys that
 * name it. */
static int cmp_sk_list(cmp *K)
{
	size_t m = K->skb.n, i;
	uint32_t cur = K->skb_first;
	omap done = { NULL, NULL, 0, 0 };
	int rc = 0;

	for (i = 0; i < m && !rc; i++) {
		const uint8_t *p, *q;
		size_t n;
		uint32_t *keys = omap_get(&K->skb, cur), next;

		if (!keys || omap_get(&done, cur)) {
			rc = bad(&K->B, "the list of security cells is not "
				 "the list of the keys' cells (at 0x%x)", cur);
			break;
		}
		if ((rc = omap_put(&done, cur, 1)) < 0 ||
		    (rc = cell(&K->B, cur, &p, &n)) < 0)
			break;
		if (rd32(p + 12) < *keys) {
			rc = bad(&K->B, "the security cell at 0x%x counts "
				 "fewer keys than name it", cur);
			break;
		}
		next = rd32(p + 4);
		if ((rc = cell(&K->B, next, &q, &n)) < 0)
			break;
		if (n < 20 || memcmp(q, "sk", 2) || rd32(q + 8) != cur)
			rc = bad(&K->B, "the list of security cells is "
				 "broken at 0x%x", next);
		cur = next;
	}
	if (!rc && m && cur != K->skb_first)
		rc = bad(&K->B, "the list of security cells does not close");
	omap_free(&done);
	return rc;
}

static int cmp_data(cmp *K, uint32_t a, uint32_t b, uint32_t len)
{
	const uint8_t *pa, *pb, *sa, *sb;
	size_t n, sn, i, nseg;
	int rc;

	if ((rc = cmp_cells(K, a, b, &pa, &pb, &n)) < 0)
		return rc;
	if (len <= n || n < 8 || memcmp(pa, "db", 2))
		return cmp_raw(K, a, b);
	if ((rc = same(K, pa, pb, 0, 4, b, "the big data cell")) < 0 ||
	    (rc = same(K, pa, pb, 8, n, b, "the big data cell")) < 0 ||
	    (rc = cmp_cells(K, rd32(pa + 4), rd32(pb + 4), &sa, &sb,
			    &sn)) < 0)
		return rc;
	nseg = rd16(pa + 2);
	if (nseg * 4 > sn)
		return bad(&K->A, "the segment list at 0x%x is longer than "
			   "its cell", rd32(pa + 4));
	for (i = 0; i < nseg && !rc; i++)
		rc = cmp_raw(K, rd32(sa + 4 * i), rd32(sb + 4 * i));
	return rc;
}

static int cmp_value(cmp *K, uint32_t a, uint32_t b)
{
	const uint8_t *pa, *pb;
	size_t n;
	uint32_t len, da, db;
	int rc;

	if ((rc = cmp_cells(K, a, b, &pa, &pb, &n)) < 0)
		return rc;
	if (n < 20 || memcmp(pa, "vk", 2) || 20 + rd16(pa + 2) > n)
		return bad(&K->A, "the value cell at 0x%x is damaged", a);
	len = rd32(pa + 4);
	if ((rc = same(K, pa, pb, 0, 8, b, "the value cell")) < 0 ||
	    (rc = same(K, pa, pb, 12, n, b, "the value cell")) < 0)
		return rc;
	if (len & 0x80000000u)
		return same(K, pa, pb, 8, 12, b, "the value's data");
	da = rd32(pa + 8);
	db = rd32(pb + 8);
	if (da == NIL || db == NIL)
		return da == db ? 0 : bad(&K->B, "the value at 0x%x has "
					  "lost or gained a data cell", b);
	return cmp_data(K, da, db, len);
}

static int cmp_key(cmp *K, uint32_t a, uint32_t b, uint32_t parent,
		   int depth);

static int cmp_list(cmp *K, uint32_t a, uint32_t b, uint32_t parent,
		    int depth, int in_ri)
{
	const uint8_t *pa, *pb;
	size_t n, stride, cnt, i;
	int rc;

	if ((rc = cmp_cells(K, a, b, &pa, &pb, &n)) < 0)
		return rc;
	if (n < 4 || !(stride = list_stride(pa, in_ri)))
		return bad(&K->A, "the subkey list at 0x%x is of no known "
			   "kind", a);
	cnt = rd16(pa + 2);
	if (4 + stride * cnt > n)
		return bad(&K->A, "the subkey list at 0x%x is longer than "
			   "its cell", a);
	if ((rc = same(K, pa, pb, 0, 4, b, "the subkey list")) < 0)
		return rc;
	for (i = 0; i < cnt && !rc; i++) {
		size_t e = 4 + stride * i;

		if (stride == 8)
			rc = same(K, pa, pb, e + 4, e + 8, b,
				  "a subkey list's hash");
		if (rc)
			break;
		if (!memcmp(pa, "ri", 2))
			rc = cmp_list(K, rd32(pa + e), rd32(pb + e), parent,
				      depth, 1);
		else
			rc = cmp_key(K, rd32(pa + e), rd32(pb + e), parent,
				     depth + 1);
	}
	return rc;
}

static int cmp_key(cmp *K, uint32_t a, uint32_t b, uint32_t parent,
		   int depth)
{
	const uint8_t *pa, *pb, *va, *vb;
	size_t n, vn, i, o = BASE + (size_t)a;
	uint32_t nval, la, lb;
	int rc;

	if (depth > MAX_DEPTH)
		return bad(&K->A, "keys nest deeper than %d", MAX_DEPTH);
	if ((rc = cmp_cells(K, a, b, &pa, &pb, &n)) < 0)
		return rc;
	if (K->seen[o / 32] & (1u << (o / 4 % 8)))
		return bad(&K->A, "the key at 0x%x is reached twice", a);
	K->seen[o / 32] |= (uint8_t)(1u << (o / 4 % 8));
	if (n < 76 || memcmp(pa, "nk", 2) || 76 + rd16(pa + 72) > n)
		return bad(&K->A, "the key cell at 0x%x is damaged", a);
	if ((rc = same(K, pa, pb, 0, 16, b, "the key cell")) < 0 ||
	    (rc = same(K, pa, pb, 20, 28, b, "the key cell")) < 0 ||
	    (rc = same(K, pa, pb, 32, 40, b, "the key cell")) < 0 ||
	    (rc = same(K, pa, pb, 52, n, b, "the key cell")) < 0)
		return rc;
	if (parent == NIL)
		rc = same(K, pa, pb, 16, 20, b, "the root key's parent");
	else if (rd32(pb + 16) != parent)
		rc = bad(&K->B, "the key at 0x%x does not name its parent",
			 b);
	if (rc < 0 ||
	    (rc = cmp_raw(K, rd32(pa + 48), rd32(pb + 48))) < 0 ||
	    (rc = cmp_sk(K, rd32(pa + 44), rd32(pb + 44))) < 0)
		return rc;
	la = rd32(pa + 40);
	lb = rd32(pb + 40);
	nval = rd32(pa + 36);
	if (la == NIL || lb == NIL) {
		if (la != lb || nval)
			return bad(&K->B, "the key at 0x%x has lost or "
				   "gained its value list", b);
	} else {
		if ((rc = cmp_cells(K, la, lb, &va, &vb, &vn)) < 0)
			return rc;
		if (nval > vn / 4)
			return bad(&K->A, "the value list at 0x%x is longer "
				   "than its cell", la);
		for (i = 0; i < nval && !rc; i++)
			rc = cmp_value(K, rd32(va + 4 * i), rd32(vb + 4 * i));
		if (rc < 0)
			return rc;
	}
	la = rd32(pa + 28);
	lb = rd32(pb + 28);
	if (la == NIL || lb == NIL)
		return la == lb ? 0 : bad(&K->B, "the key at 0x%x has lost "
					  "or gained its subkey list", b);
	return cmp_list(K, la, lb, b, depth, 0);
}

int ps_hivec_compare(const char *filename, const uint8_t *a, size_t alen,
		     const uint8_t *b, size_t blen)
{
	cmp K;
	int rc;

	memset(&K, 0, sizeof(K));
	K.skb_first = NIL;
	rc = hive_open(&K.A, filename, WHAT_COMPARE, a, alen);
	if (!rc)
		rc = hive_open(&K.B, filename, WHAT_COMPARE, b, blen);
	if (rc < 0)
		goto done;
	K.seen = calloc(alen / 32 + 1, 1);
	if (!K.seen) {
		rc = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	if (memcmp(a, b, 36) || memcmp(a + 44, b + 44, 508 - 44) ||
	    memcmp(a + 512, b + 512, BASE - 512) ||
	    memcmp(a + BASE + 20, b + BASE + 20, 8))
		rc = bad(&K.B, "the base block differs");
	else if (!checksum(b) || checksum(b) != rd32(b + 508))
		rc = bad(&K.B, "the base block's checksum is wrong");
	if (!rc)
		rc = cmp_key(&K, rd32(a + 36), rd32(b + 36), NIL, 0);
	if (!rc)
		rc = cmp_sk_list(&K);
done:
	free(K.seen);
	omap_free(&K.sk);
	omap_free(&K.skb);
	hive_close(&K.A);
	hive_close(&K.B);
	return rc;
}
