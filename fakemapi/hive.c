/*
 * NTUSER.DAT hives through libhivex (see ps_hive.h).
 *
 * Loading walks the hive from its root and marks every key (nk), value
 * (vk) and value data cell it reaches in a bitmap of the file's 4-byte
 * slots, so a key
 * list that points back up (a loop) or shares a cell is refused instead of
 * walked forever; value data may not add up to more than the file, which
 * bounds the memory a crafted file can make us use.  Writing opens the
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
	size_t len;          /* of the file */
	uint8_t *seen;       /* one bit per 4-byte slot of the file */
	size_t data_total;   /* value bytes loaded so far */
} loader;

/* 1 when the cell at off was reached before (marks it). */
static int seen_before(loader *L, size_t off)
{
	size_t slot = off / 4;
	uint8_t bit = (uint8_t)(1u << (slot % 8));

	if (off >= L->len)
		return 1;
	if (L->seen[slot / 8] & bit)
		return 1;
	L->seen[slot / 8] |= bit;
	return 0;
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
	loader L = { NULL, filename, len, NULL, 0 };
	ps_regtree t = { NULL, 0, 0 };
	ps_regkey *top;
	hive_node_h root;
	int rc, unclean = 0;

	rc = open_hive(&L.h, filename, data, len, 0, &unclean);
	if (rc < 0)
		return rc;
	L.seen = calloc(len / 32 + 1, 1);
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
