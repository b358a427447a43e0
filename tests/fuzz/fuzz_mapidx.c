/*
 * The compiled-mapping reader: any bytes, never a crash, a leak or a read
 * outside the file.  Each input is tried twice: as it is (mostly refused
 * by the hash chain), then "resealed": the bucket, directory and root
 * hashes recomputed over the input, so that the bucket and directory
 * parsers see the mutated bytes as if they had been compiled that way.
 * A resealed index that mapping check accepts must answer every lookup
 * without an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_mapidx.h"
#include "ps_posix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* A system port serving one buffer as the file "fuzz.idx". */
typedef struct memsys {
	ps_system base;
	ps_system *posix;       /* for SHA-256 */
	const uint8_t *data;
	size_t len;
} memsys;

static int m_read_file(ps_system *s, const char *p, size_t max,
		       uint8_t **d, size_t *l)
{
	(void)s;
	(void)p;
	(void)max;
	(void)d;
	(void)l;
	return ps_error_setc(PS_EIO, "read_file is not used");
}

static int m_sha256(ps_system *s, const void *d, size_t l, uint8_t o[32])
{
	return ps_sys_sha256(((memsys *)s)->posix, d, l, o);
}

static int m_open_read(ps_system *s, const char *p, void **h, uint64_t *sz)
{
	(void)p;
	*h = s;
	*sz = ((memsys *)s)->len;
	return 0;
}

static int m_read_at(ps_system *s, void *h, uint64_t off, void *buf,
		     size_t len)
{
	memsys *m = (memsys *)s;

	(void)h;
	if (off > m->len || len > m->len - off)
		return ps_error_setc(PS_EIO, "fuzz.idx: short read");
	memcpy(buf, m->data + off, len);
	return 0;
}

static void m_close_read(ps_system *s, void *h)
{
	(void)s;
	(void)h;
}

static ps_system_ops mem_ops;
static ps_system *posix;

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Recompute every hash the reader checks, where the fields allow it. */
static void reseal(uint8_t *d, size_t len)
{
	uint32_t nb, ndir, b;

	if (len < PS_MAPIDX_HEADER_BYTES)
		return;
	nb = get32(d + 32);
	ndir = get32(d + 36);
	if (ndir > PS_MAPIDX_TOP_SLOTS || nb > ndir * PS_MAPIDX_DIR_SLOTS)
		nb = ndir * PS_MAPIDX_DIR_SLOTS;
	if (ndir > PS_MAPIDX_TOP_SLOTS)
		ndir = PS_MAPIDX_TOP_SLOTS;
	for (b = 0; b < nb; b++) {
		size_t so = PS_MAPIDX_HEADER_BYTES +
			    (size_t)(b / PS_MAPIDX_DIR_SLOTS) *
			    PS_MAPIDX_DIR_BYTES +
			    (b % PS_MAPIDX_DIR_SLOTS) * PS_MAPIDX_SLOT_BYTES;
		uint64_t off;
		uint32_t n;

		if (so + PS_MAPIDX_SLOT_BYTES > len)
			break;
		off = get64(d + so);
		n = get32(d + so + 8);
		if (off <= len && n <= len - off)
			ps_sys_sha256(posix, d + off, n, d + so + 12);
	}
	for (b = 0; b < ndir; b++) {
		size_t po = PS_MAPIDX_HEADER_BYTES +
			    (size_t)b * PS_MAPIDX_DIR_BYTES;

		if (po + PS_MAPIDX_DIR_BYTES > len)
			break;
		ps_sys_sha256(posix, d + po, PS_MAPIDX_DIR_BYTES,
			      d + 80 + b * 32u);
	}
	ps_sys_sha256(posix, d, PS_MAPIDX_HEADER_BYTES - 32,
		      d + PS_MAPIDX_HEADER_BYTES - 32);
}

static const char *const probes[] = {
	"/o=Fabrikam/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
	"cn=Recipients/cn=alice",
	"/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
	"cn=Recipients/cn=1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6-alice",
	"/O=FABRIKAM/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/"
	"CN=RECIPIENTS/CN=BOB",
	"", "/o=a"
};

static void try_one(const uint8_t *data, size_t len, int must_answer)
{
	memsys m;
	ps_mapidx *ix = NULL;
	size_t i;
	int verified;

	m.base.ops = &mem_ops;
	m.posix = posix;
	m.data = data;
	m.len = len;
	if (ps_mapidx_open(&ix, &m.base, "fuzz.idx") < 0)
		return;
	verified = ps_mapidx_verify(ix) == 0;
	ps_mapidx_free(ix);
	if (ps_mapidx_open(&ix, &m.base, "fuzz.idx") < 0)
		abort();        /* opened once, not twice */
	/* Sources first: a verified index has no bad page.  (A target
	 * record naming a missing source is only seen by a lookup, and
	 * errors are sticky.) */
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const ps_map_entry *e = NULL;
		int rc = ps_mapidx_find(ix, 0, probes[i], &e);

		if (must_answer && verified && rc < 0 && rc != PS_ENOTFOUND)
			abort();
		if ((rc == 0) != (e != NULL) || (e && !e->source_dn))
			abort();
	}
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const ps_map_entry *e = NULL;
		int rc = ps_mapidx_find(ix, 1, probes[i], &e);

		if ((rc == 0) != (e != NULL) || (e && !e->target_dn))
			abort();
	}
	ps_mapidx_free(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *copy;

	if (!posix) {
		if (ps_posix_system_new(&posix) < 0)
			abort();
		mem_ops.version = PS_SYSTEM_OPS_VERSION;
		mem_ops.read_file = m_read_file;
		mem_ops.sha256 = m_sha256;
		mem_ops.open_read = m_open_read;
		mem_ops.read_at = m_read_at;
		mem_ops.close_read = m_close_read;
	}
	try_one(data, len, 0);
	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, len);
	reseal(copy, len);
	try_one(copy, len, 1);
	free(copy);
	return 0;
}
