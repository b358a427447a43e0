/*
 * NTUSER.DAT hives through libhivex (see ps_hive.h).
 *
 * Loading walks the hive from its root and marks every cell it reaches
 * in a map of the file's 4-byte slots: keys (nk), values (vk), value
 * data (with a big value's segment list and segments), value lists and
 * subkey lists (lf, lh, li, ri) must each be reached once and as one
 * thing; security cells (sk, with their list neighbours) and class
 * names may be shared, but only among cells of their own kind.  So a key
 * list that points back up (a loop) is refused instead of walked
 * forever, and so is a hive where what libhivex changes when it writes
 * (a key, a list it moves, a security cell's reference count or list
 * links) is also something we read as a value: writing would change
 * that value behind our back.  Value data may not add up to more than
 * the file, which bounds the memory a crafted file can make us use.
 * Writing opens the
 * same bytes with HIVEX_OPEN_WRITE, applies only the difference between
 * two trees and commits to an anonymous in-memory file (memfd) whose bytes
 * go back to the caller (who replaces the hive atomically through the
 * system port); when what libhivex wrote holds much free space (libhivex
 * never reuses a freed cell), it is first compacted by hivecompact.c and
 * checked before it is used.  A hive whose header sequence numbers
 * differ (changes still in its transaction logs) is loaded as it is on
 * disk, its tree marked `unclean`, and never written: ps_hive_apply
 * refuses it, and ps_hive_check_writable lets a caller refuse it before
 * it starts.
 */
#define _GNU_SOURCE  /* memfd_create */
#include "ps_hive.h"

#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/ps_error.h"
#include "../core/ps_str.h"
#include "ps_hivecompact.h"

#define HKCU "HKEY_CURRENT_USER"

int ps_hive_is_hive(const uint8_t *data, size_t len)
{
	return len >= 4 && !memcmp(data, "regf", 4);
}

int ps_hive_check_writable(const ps_regtree *t, const char *filename)
{
	if (!t->unclean)
		return 0;
	return ps_error_setc(PS_EFORMAT, "%s: " PS_HIVE_UNCLEAN "; it is not "
			     "changed: copy it again after the user has "
			     "logged off (inspect and rehearse read it as "
			     "it is)", filename);
}

char *ps_hive_unclean_warning(const ps_regtree *t, const char *filename)
{
	ps_buf b = PS_BUF_INIT;

	if (!t->unclean)
		return NULL;
	ps_buf_printf(&b, "%s: " PS_HIVE_UNCLEAN "; read as it is on disk, "
		      "which may be out of date (update, rollback and "
		      "cleanup refuse it)", filename);
	if (ps_buf_check(&b) < 0) {
		ps_buf_free(&b);
		return NULL;
	}
	return ps_buf_detach(&b);
}

/* ---- anonymous in-memory files ---------------------------------------
 * libhivex opens only files by name.  A user's hive never lands in a
 * temporary folder: it goes into a memfd (memfd_create, no name in any
 * file system), which libhivex opens as /proc/self/fd/N. */

static int mem_file(const char *filename, char *path, size_t n, int *fd)
{
	*fd = memfd_create("profswitch-hive", MFD_CLOEXEC);
	if (*fd < 0)
		return ps_error_setc(PS_ERROR, "%s: cannot make an in-memory "
				     "file for libhivex: %s", filename,
				     strerror(errno));
	snprintf(path, n, "/proc/self/fd/%d", *fd);
	return 0;
}

/* A memfd holding data; *fd is the caller's to close. */
static int write_temp(const char *filename, const uint8_t *data, size_t len,
		      char *path, size_t n, int *fd)
{
	size_t done = 0;
	int rc = mem_file(filename, path, n, fd);

	if (rc < 0)
		return rc;
	while (done < len) {
		ssize_t w = write(*fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = ps_error_setc(PS_ERROR, "%s: cannot copy the hive "
					   "to memory: %s", filename,
					   strerror(errno));
			close(*fd);
			*fd = -1;
			return rc;
		}
		done += (size_t)w;
	}
	return 0;
}

/* What libhivex wrote into the memfd. */
static int read_temp(const char *filename, int fd, uint8_t **out,
		     size_t *out_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t done = 0, len;
	int rc = 0;

	if (fstat(fd, &st) < 0 || st.st_size < 0) {
		return ps_error_setc(PS_EIO, "%s: cannot read the written "
				     "hive: %s", filename, strerror(errno));
	}
	len = (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	while (done < len) {
		ssize_t r = pread(fd, buf + done, len - done, (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = ps_error_setc(PS_EIO, "%s: cannot read the "
					   "written hive", filename);
			goto done;
		}
		done += (size_t)r;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
done:
	free(buf);
	return rc;
}

/* The base block's primary and secondary sequence numbers differ while a
 * write is in flight: the rest is in NTUSER.DAT.LOG1/LOG2, which Windows
 * replays at the next load (over any change of ours). */
static int is_unclean(const uint8_t *data, size_t len)
{
	return len >= 12 && memcmp(data + 4, data + 8, 4);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Open a copy of data in libhivex; the copy is removed at once.  An
 * unclean hive is refused when writing (unclean NULL), else *unclean
 * says whether it is one. */
static int open_hive(hive_h **out, const char *filename, const uint8_t *data,
		     size_t len, int flags, int *unclean)
{
	char path[64];
	hive_h *h;
	int rc, err, fd;

	if (!ps_hive_is_hive(data, len))
		return ps_error_setc(PS_EFORMAT, "%s: not a registry hive "
				     "(no \"regf\" signature)", filename);
	if (is_unclean(data, len) && !unclean)
		return ps_error_setc(PS_EFORMAT, "%s: the hive was not "
				     "cleanly unloaded (sequence numbers %u "
				     "and %u differ: its transaction logs "
				     "hold changes that are not in the "
				     "file), so it is not written; copy it "
				     "again after the user has logged off",
				     filename, (unsigned)le32(data + 4),
				     (unsigned)le32(data + 8));
	if (unclean)
		*unclean = is_unclean(data, len);
	rc = write_temp(filename, data, len, path, sizeof(path), &fd);
	if (rc < 0)
		return rc;
	h = hivex_open(path, flags);
	err = errno;
	close(fd);
	if (!h)
		return ps_error_setc(PS_EFORMAT, "%s: not a valid registry "
				     "hive (libhivex: %s)", filename,
				     strerror(err));
	*out = h;
	return 0;
}

/* ---- loading --------------------------------------------------------- */

typedef struct loader {
	hive_h *h;
	const char *file;
	const uint8_t *d;    /* the file */
	size_t len;          /* of the file */
	uint8_t *seen;       /* two bits per 4-byte slot: what a cell was
				reached as (enum cell_kind) */
	size_t data_total;   /* value bytes loaded so far */
} loader;

/* What a cell was reached as: CELL_OWN cells (keys, values, data, lists)
 * once; security cells and class names many times, each only as itself. */
enum cell_kind { CELL_NONE, CELL_OWN, CELL_SK, CELL_CLASS };

#define NIL 0xFFFFFFFFu
#define HBIN_BASE 0x1000u   /* cell offsets count from the base block's end */

/* 1 when the cell at off (a file offset) was reached before as anything
 * but `kind`, or was reached before and kind is CELL_OWN, or is outside
 * the file; else marks it. */
static int reached_before(loader *L, size_t off, enum cell_kind kind)
{
	size_t slot = off / 4;
	unsigned shift = (unsigned)(slot % 4) * 2, was;

	if (off >= L->len || off % 4)
		return 1;
	was = (L->seen[slot / 4] >> shift) & 3u;
	if (was)
		return kind == CELL_OWN || was != (unsigned)kind;
	L->seen[slot / 4] |= (uint8_t)((unsigned)kind << shift);
	return 0;
}

static int seen_before(loader *L, size_t off)
{
	return reached_before(L, off, CELL_OWN);
}

static unsigned reached_as(const loader *L, size_t off)
{
	size_t slot = off / 4;

	return off < L->len ? (L->seen[slot / 4] >> (slot % 4 * 2)) & 3u : 0;
}

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

/* The cell a hive offset (rel, as stored in a cell) names: *off its file
 * offset, *size its size field (in use: its length) when it lies in the
 * file; 0 when it does not, or is not on a 4-byte boundary (libhivex
 * takes no cell there). */
static int cell_at(const loader *L, uint32_t rel, size_t *off, size_t *size)
{
	uint32_t s;

	if (rel == NIL || rel % 4 || rel > L->len ||
	    L->len - rel < HBIN_BASE + 8)
		return 0;
	*off = HBIN_BASE + (size_t)rel;
	s = le32(L->d + *off);
	*size = s & 0x80000000u ? (size_t)(0u - s) : s;
	return *size >= 8 && *size <= L->len - *off;
}

static int key_error(loader *L, int code, const ps_regkey *k,
		     const char *what)
{
	char *path = ps_regkey_path(k);
	/* The reason first: a path may be thousands of characters. */
	int rc = ps_error_setc(code, "%s: %s (key %.160s%s)", L->file, what,
			       path ? path : "?",
			       path && strlen(path) > 160 ? "..." : "");

	free(path);
	return rc;
}

/* The fields of a key cell (nk) we read, as offsets in the cell. */
#define NK_SUBKEYS 24
#define NK_SUBKEY_LIST 32
#define NK_VALUE_LIST 44
#define NK_SK 48
#define NK_CLASS 52
#define NK_FIXED 80         /* the cell up to its name */

/* Mark the subkey list at rel and, for an ri, the lists it names.  A
 * list libhivex does not take is left to it to refuse. */
static int mark_list(loader *L, const ps_regkey *k, uint32_t rel, int in_ri)
{
	size_t off, size, stride, n, i;
	const uint8_t *p;
	int rc = 0;

	if (!cell_at(L, rel, &off, &size))
		return 0;
	p = L->d + off + 4;
	if (!memcmp(p, "lf", 2) || !memcmp(p, "lh", 2))
		stride = 8;
	else if (!memcmp(p, "li", 2) || (!in_ri && !memcmp(p, "ri", 2)))
		stride = 4;
	else
		return 0;
	n = rd16(p + 2);
	if (8 + stride * n > size)
		return key_error(L, PS_EFORMAT, k, "a subkey list is longer "
				 "than its cell (the hive is damaged)");
	if (seen_before(L, off))
		return key_error(L, PS_EFORMAT, k, "a subkey list is also "
				 "another cell (the hive is damaged)");
	if (!memcmp(p, "ri", 2))
		for (i = 0; i < n && !rc; i++)
			rc = mark_list(L, k, le32(p + 4 + 4 * i), 1);
	return rc;
}

/* Mark the security cell at rel and its neighbours in the list of them
 * (libhivex changes the neighbours' links when it deletes one). */
static int mark_sk(loader *L, const ps_regkey *k, uint32_t rel)
{
	size_t off, size, n, noff, nsize;
	const uint8_t *p;

	if (!cell_at(L, rel, &off, &size) || memcmp(L->d + off + 4, "sk", 2))
		return 0;   /* libhivex refuses to add a key under it */
	if (reached_as(L, off) == CELL_SK)
		return 0;
	if (size < 20 || reached_before(L, off, CELL_SK))
		return key_error(L, PS_EFORMAT, k, "its security cell is "
				 "also another cell (the hive is damaged)");
	p = L->d + off + 4;
	for (n = 4; n <= 8; n += 4)
		if (!cell_at(L, le32(p + n), &noff, &nsize) || nsize < 20 ||
		    memcmp(L->d + noff + 4, "sk", 2) ||
		    reached_before(L, noff, CELL_SK))
			return key_error(L, PS_EFORMAT, k, "the list of "
					 "security cells is broken (the hive "
					 "is damaged)");
	return 0;
}

/* Mark what key `node` names besides values and subkeys: its security
 * cell, class name and subkey list. */
static int mark_key(loader *L, hive_node_h node, const ps_regkey *k)
{
	const uint8_t *p = L->d + node;
	size_t off, size;
	uint32_t rel;
	int rc;

	if (!cell_at(L, (uint32_t)(node - HBIN_BASE), &off, &size) ||
	    size < NK_FIXED)
		return key_error(L, PS_EFORMAT, k, "its key cell is too short "
				 "(the hive is damaged)");
	if ((rc = mark_sk(L, k, le32(p + NK_SK))) < 0)
		return rc;
	rel = le32(p + NK_CLASS);
	if (cell_at(L, rel, &off, &size) &&
	    reached_before(L, off, CELL_CLASS))
		return key_error(L, PS_EFORMAT, k, "its class name is also "
				 "another cell (the hive is damaged)");
	if (!le32(p + NK_SUBKEYS))
		return 0;   /* libhivex reads no list */
	return mark_list(L, k, le32(p + NK_SUBKEY_LIST), 0);
}

/* A big value's data cell (db): mark its segment list and segments. */
static int mark_big_data(loader *L, const ps_regkey *k, size_t db,
			 size_t len)
{
	size_t size, off, lsize, i, n, soff, ssize;
	const uint8_t *p = L->d + db + 4;

	if (!cell_at(L, (uint32_t)(db - HBIN_BASE), &off, &size) ||
	    len <= size - 4 || size < 12 || memcmp(p, "db", 2))
		return 0;   /* not big data (or libhivex refuses it) */
	n = rd16(p + 2);
	if (!cell_at(L, le32(p + 4), &off, &lsize))
		return 0;
	if (4 + 4 * n > lsize)
		return key_error(L, PS_EFORMAT, k, "a big value's segment "
				 "list is longer than its cell (the hive "
				 "is damaged)");
	if (seen_before(L, off))
		return key_error(L, PS_EFORMAT, k, "a big value's segment "
				 "list is also another cell (the hive is "
				 "damaged)");
	for (i = 0; i < n; i++)
		if (cell_at(L, le32(L->d + off + 4 + 4 * i), &soff, &ssize) &&
		    seen_before(L, soff))
			return key_error(L, PS_EFORMAT, k, "a big value's "
					 "segment is also another cell (the "
					 "hive is damaged)");
	return 0;
}

static int load_values(loader *L, hive_node_h node, ps_regkey *k)
{
	hive_value_h *vals = hivex_node_values(L->h, node);
	char *name = NULL, *data = NULL;
	size_t i, len;
	hive_type t;
	int rc = 0;

	if (!vals)
		return key_error(L, PS_EFORMAT, k, "cannot read its values "
				 "(the hive is damaged)");
	if (vals[0]) {
		size_t off, size;

		if (cell_at(L, le32(L->d + node + NK_VALUE_LIST), &off,
			    &size) && seen_before(L, off)) {
			free(vals);
			return key_error(L, PS_EFORMAT, k, "its value list is "
					 "also another cell (the hive is "
					 "damaged)");
		}
	}
	for (i = 0; vals[i] && !rc; i++) {
		if (seen_before(L, vals[i])) {
			rc = key_error(L, PS_EFORMAT, k, "a value cell is "
				       "used twice (the hive is damaged)");
			break;
		}
		name = hivex_value_key(L->h, vals[i]);
		if (!name || hivex_value_type(L->h, vals[i], &t, &len) < 0) {
			rc = key_error(L, PS_EFORMAT, k, "cannot read a "
				       "value (the hive is damaged)");
			break;
		}
		if (len > PS_REG_MAX_DATA) {
			char msg[160];

			snprintf(msg, sizeof(msg), "value \"%.64s\" has %zu "
				 "bytes, more than the %u a value may have",
				 name, len, PS_REG_MAX_DATA);
			rc = key_error(L, PS_ELIMIT, k, msg);
			break;
		}
		L->data_total += len;
		if (L->data_total > L->len) {
			rc = key_error(L, PS_EFORMAT, k, "value data add up "
				       "to more than the file holds (the "
				       "hive is damaged)");
			break;
		}
		if (ps_regkey_value(k, name)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "two values named "
				 "\"%.64s\"", name);
			rc = key_error(L, PS_EFORMAT, k, msg);
			break;
		}
		/* The data cell is the value's own: one that is also a key,
		 * a value or another value's data would change with it. */
		{
			size_t dlen = 0;
			hive_value_h cell = hivex_value_data_cell_offset(
				L->h, vals[i], &dlen);

			if (cell && seen_before(L, cell)) {
				rc = key_error(L, PS_EFORMAT, k, "a value's "
					       "data cell is also another "
					       "cell (the hive is damaged)");
				break;
			}
			if (cell && (rc = mark_big_data(L, k, cell, len)) < 0)
				break;
		}
		data = hivex_value_value(L->h, vals[i], &t, &len);
		if (!data || len > PS_REG_MAX_DATA) {
			rc = key_error(L, PS_EFORMAT, k, "cannot read a "
				       "value's data (the hive is damaged)");
			break;
		}
		rc = ps_regkey_set(k, name, (uint32_t)t, data, len);
		free(name);
		free(data);
		name = NULL;
		data = NULL;
	}
	free(name);
	free(data);
	free(vals);
	return rc;
}

/* Load node's values and subkeys into k, which is `depth` names deep and
 * whose full path has `chars` characters. */
static int load_key(loader *L, hive_node_h node, ps_regkey *k, size_t depth,
		    size_t chars)
{
	hive_node_h *subs = NULL;
	char *name = NULL;
	size_t i;
	int rc;

	rc = mark_key(L, node, k);
	if (rc < 0)
		return rc;
	rc = load_values(L, node, k);
	if (rc < 0)
		return rc;
	subs = hivex_node_children(L->h, node);
	if (!subs)
		return key_error(L, PS_EFORMAT, k, "cannot read its subkeys "
				 "(the hive is damaged)");
	for (i = 0; subs[i]; i++) {
		ps_regkey *c;
		size_t n, nch = 0, j;

		if (seen_before(L, subs[i])) {
			rc = key_error(L, PS_EFORMAT, k, "a subkey is reached "
				       "twice (the hive loops or is "
				       "damaged)");
			break;
		}
		name = hivex_node_name(L->h, subs[i]);
		if (!name) {
			rc = key_error(L, PS_EFORMAT, k, "cannot read a "
				       "subkey's name (the hive is damaged)");
			break;
		}
		n = strlen(name);
		for (j = 0; j < n; j++)
			if (((unsigned char)name[j] & 0xC0) != 0x80)
				nch++;
		if (!n || strchr(name, '\\')) {
			rc = key_error(L, PS_EFORMAT, k, "a subkey name is "
				       "empty or holds a backslash");
			break;
		}
		if (depth + 1 > PS_REG_MAX_DEPTH) {
			rc = key_error(L, PS_ELIMIT, k, "keys nest deeper "
				       "than " "the limit of 512 names");
			break;
		}
		if (chars + 1 + nch > PS_REG_MAX_PATH) {
			rc = key_error(L, PS_ELIMIT, k, "a subkey's path is "
				       "longer than the limit of 4096 "
				       "characters");
			break;
		}
		if (ps_regkey_find(k, name)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "two subkeys named "
				 "\"%.64s\"", name);
			rc = key_error(L, PS_EFORMAT, k, msg);
			break;
		}
		rc = ps_regkey_create(k, name, &c);
		if (rc < 0)
			break;
		free(name);
		name = NULL;
		rc = load_key(L, subs[i], c, depth + 1, chars + 1 + nch);
		if (rc < 0)
			break;
	}
	free(name);
	free(subs);
	return rc;
}

int ps_hive_load(ps_regtree *out, const char *filename, const uint8_t *data,
		 size_t len)
{
	loader L = { NULL, filename, data, len, NULL, 0 };
	ps_regtree t = { NULL, 0, 0 };
	ps_regkey *top;
	hive_node_h root;
	int rc, unclean = 0;

	rc = open_hive(&L.h, filename, data, len, 0, &unclean);
	if (rc < 0)
		return rc;
	/* Bins past the header's end of them: libhivex reads their cells
	 * but writes its first new bin over them.  (An unclean hive is
	 * never written, and its header may lag its bins.) */
	if (!unclean && (rc = ps_hivec_check_bins(filename, data, len)) < 0)
		goto done;
	L.seen = calloc(len / 16 + 1, 1);
	if (!L.seen) {
		rc = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	root = hivex_root(L.h);
	if (!root) {
		rc = ps_error_setc(PS_EFORMAT, "%s: the hive has no root key",
				   filename);
		goto done;
	}
	seen_before(&L, root);
	rc = ps_regtree_init(&t, PS_REGENC_UTF16);
	if (!rc)
		rc = ps_regkey_create(t.root, HKCU, &top);
	if (!rc)
		rc = load_key(&L, root, top, 1, strlen(HKCU));
	if (rc < 0) {
		ps_regtree_free(&t);
		goto done;
	}
	t.unclean = unclean;
	*out = t;
done:
	free(L.seen);
	hivex_close(L.h);
	return rc;
}

/* ---- writing --------------------------------------------------------- */

typedef struct writer {
	hive_h *h;
	const char *file;
	size_t changes;
} writer;

static int hive_error(writer *W, const ps_regkey *k, const char *what)
{
	char *path = ps_regkey_path(k);
	int rc = ps_error_setc(PS_EIO, "%s: key %s: %s (libhivex: %s)",
			       W->file, path ? path : "?", what,
			       strerror(errno));

	free(path);
	return rc;
}

/* 1 when a and b have the same values in the same order. */
static int values_same(const ps_regkey *a, const ps_regkey *b)
{
	size_t i;

	if (a->nval != b->nval)
		return 0;
	for (i = 0; i < a->nval; i++) {
		const ps_regval *x = &a->vals[i], *y = &b->vals[i];

		if (strcmp(x->name, y->name) || x->type != y->type ||
		    x->len != y->len ||
		    (x->len && memcmp(x->data, y->data, x->len)))
			return 0;
	}
	return 1;
}

static int set_values(writer *W, hive_node_h node, const ps_regkey *k)
{
	hive_set_value *v = calloc(k->nval + 1, sizeof(*v));
	size_t i;
	int rc = 0;

	if (!v)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; i < k->nval; i++) {
		v[i].key = k->vals[i].name;
		v[i].t = (hive_type)k->vals[i].type;
		v[i].len = k->vals[i].len;
		v[i].value = (char *)k->vals[i].data;
	}
	if (hivex_node_set_values(W->h, node, k->nval, v, 0) < 0)
		rc = hive_error(W, k, "cannot set its values");
	free(v);
	W->changes++;
	return rc;
}

static const ps_regkey *sub_named(const ps_regkey *k, const char *name)
{
	return ps_regkey_child(k, name);
}

/* Add k (values and subkeys) under parent. */
static int add_key(writer *W, hive_node_h parent, const ps_regkey *k)
{
	hive_node_h node = hivex_node_add_child(W->h, parent, k->name);
	size_t i;
	int rc = 0;

	if (!node)
		return hive_error(W, k, "cannot add it");
	W->changes++;
	if (k->nval)
		rc = set_values(W, node, k);
	for (i = 0; i < k->nsub && !rc; i++)
		rc = add_key(W, node, k->sub[i]);
	return rc;
}

static int apply_key(writer *W, hive_node_h node, const ps_regkey *before,
		     const ps_regkey *after)
{
	size_t i;
	int rc = 0;

	if (!values_same(before, after))
		rc = set_values(W, node, after);
	for (i = 0; i < before->nsub && !rc; i++) {
		const ps_regkey *b = before->sub[i];
		const ps_regkey *a = sub_named(after, b->name);
		hive_node_h c = hivex_node_get_child(W->h, node, b->name);

		if (!c) {
			rc = ps_error_setc(PS_EIO, "%s: key %s is no longer "
					   "in the hive (changed since it "
					   "was loaded?)", W->file, b->name);
			break;
		}
		if (!a) {
			if (hivex_node_delete_child(W->h, c) < 0)
				rc = hive_error(W, b, "cannot delete it");
			W->changes++;
		} else {
			rc = apply_key(W, c, b, a);
		}
	}
	for (i = 0; i < after->nsub && !rc; i++)
		if (!sub_named(before, after->sub[i]->name))
			rc = add_key(W, node, after->sub[i]);
	return rc;
}

/* ---- compaction ------------------------------------------------------ */

/* libhivex and our loader read b as the same tree as a. */
static int same_tree(const char *filename, const uint8_t *a, size_t alen,
		     const uint8_t *b, size_t blen)
{
	ps_regtree ta, tb;
	ps_buf diff = PS_BUF_INIT;
	char why[256];
	int rc = ps_hive_load(&ta, filename, a, alen);

	if (rc < 0)
		return rc;
	rc = ps_hive_load(&tb, filename, b, blen);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s", ps_error_last());
		ps_regtree_free(&ta);
		return ps_error_setc(PS_EFORMAT, "%s: the compacted hive does "
				     "not load (%s)", filename, why);
	}
	if (ta.unclean != tb.unclean ||
	    !ps_regkey_equal(ta.root, tb.root, &diff)) {
		const char *d = diff.ptr ? diff.ptr : "";

		rc = ps_error_setc(PS_EFORMAT, "%s: the compacted hive loads "
				   "as another tree: %.*s", filename,
				   (int)strcspn(d, "\n"), d);
	}
	ps_buf_free(&diff);
	ps_regtree_free(&ta);
	ps_regtree_free(&tb);
	return rc;
}

int ps_hive_compact(const char *filename, const uint8_t *data, size_t len,
		    int flags, ps_hive_tamper tamper, void *ctx,
		    uint8_t **out, size_t *out_len)
{
	uint8_t *c = NULL;
	size_t bins, free_bytes, clen = 0;
	int rc = ps_hivec_space(filename, data, len, &bins, &free_bytes);

	if (rc < 0)
		return rc;
	if (!(flags & PS_HIVE_COMPACT_FORCE) &&
	    !ps_hivec_worth(bins, free_bytes))
		return 0;
	rc = ps_hivec_compact(filename, data, len, &c, &clen);
	if (rc < 0)
		return rc;
	if (clen >= len && !(flags & PS_HIVE_COMPACT_FORCE)) {
		free(c);
		return 0;
	}
	if (tamper)
		tamper(c, clen, ctx);
	rc = ps_hivec_compare(filename, data, len, c, clen);
	if (!rc)
		rc = same_tree(filename, data, len, c, clen);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	*out_len = clen;
	return 1;
}

/* Replace what libhivex wrote by its compacted copy when that is worth
 * it and passes every check; else (a note, not an error) keep it. */
static void compact_output(const char *filename, uint8_t **out,
			   size_t *out_len)
{
	uint8_t *c = NULL;
	size_t clen = 0;

	if (ps_hive_compact(filename, *out, *out_len, 0, NULL, NULL, &c,
			    &clen) == 1) {
		free(*out);
		*out = c;
		*out_len = clen;
	} else {
		ps_error_clear();
	}
}

int ps_hive_apply(const char *filename, const uint8_t *data, size_t len,
		  const ps_regtree *before, const ps_regtree *after,
		  uint8_t **out, size_t *out_len, size_t *changes)
{
	writer W = { NULL, filename, 0 };
	const ps_regkey *b = sub_named(before->root, HKCU);
	const ps_regkey *a = sub_named(after->root, HKCU);
	char path[64];
	int rc, fd;

	if (!a || !b)
		return ps_error_setc(PS_ERROR, "%s: no %s key to write back",
				     filename, HKCU);
	rc = open_hive(&W.h, filename, data, len, HIVEX_OPEN_WRITE, NULL);
	if (rc < 0)
		return rc;
	rc = apply_key(&W, hivex_root(W.h), b, a);
	if (rc < 0 || !W.changes)
		goto done;
	rc = mem_file(filename, path, sizeof(path), &fd);
	if (rc < 0)
		goto done;
	if (hivex_commit(W.h, path, 0) < 0)
		rc = ps_error_setc(PS_EIO, "%s: libhivex cannot write the "
				   "hive: %s", filename, strerror(errno));
	else
		rc = read_temp(filename, fd, out, out_len);
	close(fd);
	if (!rc)
		compact_output(filename, out, out_len);
done:
	hivex_close(W.h);
	if (!rc)
		*changes = W.changes;
	return rc;
}
