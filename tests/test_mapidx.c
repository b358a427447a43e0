/*
 * The compiled mapping (core/mapidx.c): compile, look up both ways,
 * refuse damage, read a bounded number of bytes, and the command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_app.h"
#include "ps_error.h"
#include "ps_mapidx.h"
#include "ps_posix.h"
#include "testutil.h"

static char dir[64];
static char path_idx[96], path_txt[96], path_store[96], path_cfg[96];
static ps_system *real;

/* ---- a counting system port: ranged reads are counted, the rest goes
 * to the POSIX port ---- */

typedef struct counting {
	ps_system base;
	ps_system *inner;
	unsigned long reads;
	unsigned long long bytes;
} counting;

static int c_read_file(ps_system *s, const char *p, size_t max,
		       uint8_t **d, size_t *l)
{
	return ps_sys_read_file(((counting *)s)->inner, p, max, d, l);
}

static int c_sha256(ps_system *s, const void *d, size_t l, uint8_t o[32])
{
	return ps_sys_sha256(((counting *)s)->inner, d, l, o);
}

static int c_open_read(ps_system *s, const char *p, void **h, uint64_t *sz)
{
	return ps_sys_open_read(((counting *)s)->inner, p, h, sz);
}

static int c_read_at(ps_system *s, void *h, uint64_t off, void *buf,
		     size_t len)
{
	counting *c = (counting *)s;

	c->reads++;
	c->bytes += len;
	return ps_sys_read_at(c->inner, h, off, buf, len);
}

static void c_close_read(ps_system *s, void *h)
{
	ps_sys_close_read(((counting *)s)->inner, h);
}

static ps_system_ops counting_ops;

static void counting_init(counting *c, int version)
{
	memset(&counting_ops, 0, sizeof(counting_ops));
	counting_ops.version = version;
	counting_ops.read_file = c_read_file;
	counting_ops.sha256 = c_sha256;
	counting_ops.open_read = c_open_read;
	counting_ops.read_at = c_read_at;
	counting_ops.close_read = c_close_read;
	memset(c, 0, sizeof(*c));
	c->base.ops = &counting_ops;
	c->inner = real;
}

/* ---- helpers ---- */

static void put_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *get_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	d = malloc((size_t)n + 1);
	assert_non_null(d);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return d;
}

/* A text mapping of n rows; every third row has no TargetLegacyDN, every
 * fifth shares the target of the row before (first line wins). */
static char *gen_mapping(size_t n)
{
	ps_buf b = PS_BUF_INIT;
	size_t i;

	ps_buf_puts(&b, "SourceLegacyDN|TargetLegacyDN|TargetSMTP|SourceSMTP|"
		    "TargetServer|TargetMailboxGuid\n");
	for (i = 0; i < n; i++) {
		size_t t = i % 5 == 4 ? i - 1 : i;

		ps_buf_printf(&b, "/o=Fabrikam/ou=Exchange Administrative "
			      "Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=u%zu|",
			      i);
		if (i % 3 != 2)
			ps_buf_printf(&b, "/o=ExchangeLabs/ou=Exchange "
				      "Administrative Group (FYDIBOHF23SPDLT)"
				      "/cn=Recipients/cn=%08zx-u%zu", t, t);
		ps_buf_printf(&b, "|u%zu@contoso.com|u%zu@fabrikam.com|"
			      "outlook.office365.com|", i, i);
		if (i % 2)
			ps_buf_printf(&b, "%08zx-0000-4000-8000-000000000000",
				      i);
		ps_buf_putc(&b, '\n');
	}
	assert_int_equal(ps_buf_check(&b), 0);
	return ps_buf_detach(&b);
}

static ps_mapping *parse_text(const char *text)
{
	ps_mapping *m = NULL;

	assert_int_equal(ps_mapping_parse(&m, "t.puf", text, strlen(text),
					  NULL), 0);
	return m;
}

/* Compile m into path_idx. */
static void compile_to_file(ps_mapping *m, ps_mapidx_info *info)
{
	uint8_t sha[32], *out = NULL;
	size_t len = 0;

	memset(sha, 0xAB, sizeof(sha));
	assert_int_equal(ps_mapidx_compile(real, m, sha, &out, &len, info), 0);
	put_file(path_idx, out, len);
	free(out);
}

static void assert_same_str(const char *a, const char *b)
{
	if (!a || !b)
		assert_true(a == b);
	else
		assert_string_equal(a, b);
}

static void assert_same_entry(const ps_map_entry *a, const ps_map_entry *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->line, b->line);
	assert_same_str(a->source_dn, b->source_dn);
	assert_same_str(a->target_dn, b->target_dn);
	assert_same_str(a->target_smtp, b->target_smtp);
	assert_same_str(a->source_smtp, b->source_smtp);
	assert_same_str(a->target_server, b->target_server);
	assert_same_str(a->target_mailbox_guid, b->target_mailbox_guid);
	assert_same_str(a->target_autodiscover_url,
			b->target_autodiscover_url);
	assert_same_str(a->target_oab, b->target_oab);
}

static ps_mapping *open_index(ps_system *sys)
{
	ps_mapidx *ix = NULL;
	ps_mapping *m = NULL;

	assert_int_equal(ps_mapidx_open(&ix, sys, path_idx), 0);
	assert_int_equal(ps_mapping_from_index(&m, ix), 0);
	return m;
}

static char *upper(const char *s)
{
	char *u = ps_strdup(s), *p;

	assert_non_null(u);
	for (p = u; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return u;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ps-mapidx-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path_idx, sizeof(path_idx), "%s/mbm.idx", dir);
	snprintf(path_txt, sizeof(path_txt), "%s/mbm.puf", dir);
	snprintf(path_store, sizeof(path_store), "%s/u.reg", dir);
	snprintf(path_cfg, sizeof(path_cfg), "%s/p.ini", dir);
	return ps_posix_system_new(&real);
}

static int teardown(void **state)
{
	(void)state;
	unlink(path_idx);
	unlink(path_txt);
	unlink(path_store);
	unlink(path_cfg);
	{
		char lockf[300];

		/* the store lock's file stays beside the store */
		snprintf(lockf, sizeof(lockf), "%s/.u.reg.profswitch-lock",
			 dir);
		unlink(lockf);
	}
	rmdir(dir);
	ps_sys_free(real);
	return 0;
}

/* ---- tests ---- */

static void test_every_row_both_ways(void **state)
{
	char *text = gen_mapping(1000);
	ps_mapping *t = parse_text(text), *m;
	ps_mapidx_info info;
	size_t i;

	(void)state;
	compile_to_file(t, &info);
	assert_int_equal(info.rows, 1000);
	m = open_index(real);
	assert_int_equal(ps_mapping_count(m), 1000);
	assert_null(ps_mapping_entry(m, 0));
	for (i = 0; i < ps_mapping_count(t); i++) {
		const ps_map_entry *e = ps_mapping_entry(t, i);
		const ps_map_entry *x = ps_mapping_find_source(m, e->source_dn);
		char *u;

		assert_same_entry(x, e);
		/* Stable: the same entry again. */
		assert_ptr_equal(ps_mapping_find_source(m, e->source_dn), x);
		u = upper(e->source_dn);
		assert_ptr_equal(ps_mapping_find_source(m, u), x);
		free(u);
		if (e->target_dn) {
			assert_same_entry(ps_mapping_find_target(m,
							e->target_dn),
					  ps_mapping_find_target(t,
							e->target_dn));
			u = upper(e->target_dn);
			assert_same_entry(ps_mapping_find_target(m, u),
					  ps_mapping_find_target(t, u));
			free(u);
			/* A target is not a source. */
			assert_null(ps_mapping_find_source(m, e->target_dn));
		}
		assert_null(ps_mapping_find_target(m, e->source_dn));
	}
	assert_null(ps_mapping_find_source(m, "/o=Fabrikam/cn=nobody"));
	assert_null(ps_mapping_find_target(m, "/o=Fabrikam/cn=nobody"));
	assert_null(ps_mapping_find_source(m, ""));
	assert_null(ps_mapping_lookup_error(m));
	assert_int_equal(ps_mapidx_verify(ps_mapping_index(m)), 0);
	ps_mapping_free(m);
	ps_mapping_free(t);
	free(text);
}

static void test_empty_mapping(void **state)
{
	ps_mapping *t = parse_text("SourceLegacyDN|TargetLegacyDN\n"), *m;
	ps_mapidx_info info;

	(void)state;
	compile_to_file(t, &info);
	assert_int_equal(info.rows, 0);
	m = open_index(real);
	assert_int_equal(ps_mapping_count(m), 0);
	assert_null(ps_mapping_find_source(m, TU_ALICE_SRC));
	assert_int_equal(ps_mapidx_verify(ps_mapping_index(m)), 0);
	ps_mapping_free(m);
	ps_mapping_free(t);
}

#define IN_ALICE ((size_t)-1)

/* Flip a bit in every copy of alice's source DN (her source record and
 * her target record, so that the lookups meet a damaged bucket). */
static void flip_alice(uint8_t *d, size_t len)
{
	size_t n = strlen(TU_ALICE_SRC), i, hits = 0;

	for (i = PS_MAPIDX_HEADER_BYTES; i + n <= len; i++)
		if (!memcmp(d + i, TU_ALICE_SRC, n)) {
			d[i + n - 1] ^= 0x01;
			hits++;
		}
	assert_true(hits >= 1);
}

/* The header, the directory page and the bucket each refuse a flipped
 * byte; the message names the file. */
static void flip_and_expect(size_t off, const char *what, int at_open)
{
	size_t len;
	uint8_t *d = get_file(path_idx, &len), *orig = malloc(len);
	ps_mapidx *ix = NULL;
	const ps_map_entry *e = NULL;
	int rc;

	assert_non_null(orig);
	memcpy(orig, d, len);
	if (off == IN_ALICE) {
		flip_alice(d, len);
	} else {
		assert_true(off < len);
		d[off] ^= 0x01;
	}
	put_file(path_idx, d, len);
	memcpy(d, orig, len);
	free(orig);
	rc = ps_mapidx_open(&ix, real, path_idx);
	if (at_open) {
		assert_int_equal(rc, PS_EFORMAT);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(ps_mapidx_find(ix, 0, TU_ALICE_SRC, &e),
				 PS_EFORMAT);
		assert_null(e);
		/* Sticky: the next lookup fails too, and verify. */
		assert_int_equal(ps_mapidx_find(ix, 1, TU_ALICE_TGT, &e),
				 PS_EFORMAT);
		assert_non_null(ps_mapidx_error(ix));
		assert_int_equal(ps_mapidx_verify(ix), PS_EFORMAT);
		ps_mapidx_free(ix);
	}
	assert_non_null(strstr(ps_error_last(), path_idx));
	assert_non_null(strstr(ps_error_last(), what));
	put_file(path_idx, d, len);
	free(d);
}

static void test_corruption_refused(void **state)
{
	ps_mapping *t = parse_text("SourceLegacyDN|TargetLegacyDN\n"
				   TU_ALICE_SRC "|" TU_ALICE_TGT "\n");
	ps_mapidx_info info;
	size_t len;
	uint8_t *d;

	(void)state;
	compile_to_file(t, &info);
	d = get_file(path_idx, &len);
	/* Row count, top table, root. */
	flip_and_expect(16, "checksum", 1);
	flip_and_expect(80, "checksum", 1);
	flip_and_expect(PS_MAPIDX_HEADER_BYTES - 1, "checksum", 1);
	/* A directory slot, then the bucket data (the last byte is in a
	 * bucket holding a record). */
	flip_and_expect(PS_MAPIDX_HEADER_BYTES + 5, "directory page 0", 0);
	flip_and_expect(IN_ALICE, "does not match its hash", 0);
	/* Wrong magic. */
	flip_and_expect(0, "not a compiled mapping", 1);
	/* Truncated, by one byte and to half the header. */
	put_file(path_idx, d, len - 1);
	{
		ps_mapidx *ix = NULL;

		assert_int_equal(ps_mapidx_open(&ix, real, path_idx),
				 PS_EFORMAT);
		assert_non_null(strstr(ps_error_last(), "header says"));
		put_file(path_idx, d, 100);
		assert_int_equal(ps_mapidx_open(&ix, real, path_idx),
				 PS_EFORMAT);
		assert_non_null(strstr(ps_error_last(), "shorter"));
		assert_null(ix);
	}
	/* Another version (1, before TargetArchiveGuid), even with a
	 * matching root: refused. */
	d[8] = 1;
	assert_int_equal(ps_sys_sha256(real, d, PS_MAPIDX_HEADER_BYTES - 32,
				       d + PS_MAPIDX_HEADER_BYTES - 32), 0);
	put_file(path_idx, d, len);
	{
		ps_mapidx *ix = NULL;

		assert_int_equal(ps_mapidx_open(&ix, real, path_idx),
				 PS_EFORMAT);
		assert_non_null(strstr(ps_error_last(), "version 1 is not "
				       "supported"));
	}
	free(d);
	ps_mapping_free(t);
}

/* A lookup in a 1,000-row and in a 200,000-row index: the same number of
 * reads, the same bytes for header and directory page, a small bucket. */
static void lookup_cost(size_t rows, unsigned long *reads,
			unsigned long long *bytes)
{
	char *text = gen_mapping(rows);
	ps_mapping *t = parse_text(text), *m;
	ps_mapidx_info info;
	counting c;
	const ps_map_entry *e;

	compile_to_file(t, &info);
	ps_mapping_free(t);
	free(text);
	counting_init(&c, PS_SYSTEM_OPS_VERSION);
	m = open_index(&c.base);
	e = ps_mapping_find_source(m, "/o=Fabrikam/ou=Exchange Administrative"
				   " Group (FYDIBOHF23SPDLT)/cn=Recipients/"
				   "cn=u777");
	assert_non_null(e);
	assert_string_equal(e->source_smtp, "u777@fabrikam.com");
	*reads = c.reads;
	*bytes = c.bytes;
	ps_mapping_free(m);
}

static void test_lookup_reads_bounded(void **state)
{
	unsigned long r1, r2;
	unsigned long long b1, b2, fixed = PS_MAPIDX_HEADER_BYTES +
					   PS_MAPIDX_DIR_BYTES;

	(void)state;
	lookup_cost(1000, &r1, &b1);
	lookup_cost(200000, &r2, &b2);
	/* Header, directory page, bucket. */
	assert_int_equal(r1, 3);
	assert_int_equal(r2, 3);
	/* Header and directory page are the same size; a bucket holds
	 * about 8 records of a few hundred bytes either way. */
	assert_true(b1 > fixed && b1 < fixed + 8192);
	assert_true(b2 > fixed && b2 < fixed + 8192);
	assert_true(b1 < 64 * 1024 && b2 < 64 * 1024);
}

/* A backend older than version 5: the whole file is read once. */
static void test_old_backend_reads_whole_file(void **state)
{
	ps_mapping *t = parse_text("SourceLegacyDN|TargetLegacyDN\n"
				   TU_ALICE_SRC "|" TU_ALICE_TGT "\n"), *m;
	ps_mapidx_info info;
	counting c;

	(void)state;
	compile_to_file(t, &info);
	counting_init(&c, 4);
	m = open_index(&c.base);
	assert_same_entry(ps_mapping_find_target(m, TU_ALICE_TGT),
			  ps_mapping_find_source(t, TU_ALICE_SRC));
	assert_int_equal(c.reads, 0);   /* never through read_at */
	ps_mapping_free(m);
	ps_mapping_free(t);
}

/* ---- command line ---- */

static ps_buf out_buf, err_buf;

static int run(const char *first, ...)
{
	char *argv[32];
	int argc = 0, status;
	va_list ap;
	const char *a;
	ps_system *sys = NULL;
	ps_app_env env;
	FILE *out = tmpfile(), *err = tmpfile();
	char chunk[4096];
	size_t n;

	argv[argc++] = (char *)"profswitch";
	va_start(ap, first);
	for (a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(ps_posix_system_new(&sys), 0);
	ps_posix_app_env(&env, sys, out, err);
	status = ps_app_main(&env, argc, argv);
	ps_buf_clear(&out_buf);
	ps_buf_clear(&err_buf);
	rewind(out);
	while ((n = fread(chunk, 1, sizeof(chunk), out)) > 0)
		ps_buf_put(&out_buf, chunk, n);
	rewind(err);
	while ((n = fread(chunk, 1, sizeof(chunk), err)) > 0)
		ps_buf_put(&err_buf, chunk, n);
	ps_buf_putc(&out_buf, 0);
	ps_buf_putc(&err_buf, 0);
	fclose(out);
	fclose(err);
	ps_sys_free(sys);
	return status;
}

static const char mapping_text[] =
	"SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com\n"
	TU_BOB_SRC "|" TU_BOB_TGT "|bob@contoso.com\n";

static void put_store(void)
{
	ps_regtree t;
	ps_buf b = PS_BUF_INIT;

	tu_fixture(&t);
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	put_file(path_store, b.ptr, b.len);
	ps_buf_free(&b);
}

/* The 64 hex digits after "pin it: MappingSHA256=" in out_buf. */
static void pinned_hash(char out[65])
{
	const char *p = strstr(out_buf.ptr, "MappingSHA256=");

	assert_non_null(p);
	memcpy(out, p + 14, 64);
	out[64] = '\0';
}

static void test_cli_compile_check_and_pin(void **state)
{
	char root[65], line[128];
	size_t before_len, after_len;
	uint8_t *before, *after;

	(void)state;
	put_file(path_txt, mapping_text, sizeof(mapping_text) - 1);
	unlink(path_idx);
	assert_int_equal(run("mapping", "compile", path_txt, NULL), 64);
	assert_int_equal(run("mapping", "compile", path_txt, "-o", path_idx,
			     NULL), 0);
	assert_non_null(strstr(out_buf.ptr, "rows: 2"));
	assert_non_null(strstr(out_buf.ptr, "source SHA-256: "));
	pinned_hash(root);
	/* check on the index: every page, the same root. */
	assert_int_equal(run("mapping", "check", path_idx, NULL), 0);
	assert_non_null(strstr(out_buf.ptr, "mailboxes: 2"));
	assert_non_null(strstr(out_buf.ptr, root));
	/* Pinned right: the update runs. */
	snprintf(line, sizeof(line), "[Settings]\nMappingSHA256=%s\n", root);
	put_file(path_cfg, line, strlen(line));
	put_store();
	assert_int_equal(run("update", "--store", path_store, "--mapping",
			     path_idx, "--config", path_cfg, "--dry-run",
			     NULL), 0);
	assert_non_null(strstr(out_buf.ptr, "would-update"));
	/* Pinned wrong: 65, nothing changed. */
	root[0] = root[0] == '0' ? '1' : '0';
	snprintf(line, sizeof(line), "[Settings]\nMappingSHA256=%s\n", root);
	put_file(path_cfg, line, strlen(line));
	before = get_file(path_store, &before_len);
	assert_int_equal(run("update", "--store", path_store, "--mapping",
			     path_idx, "--config", path_cfg, NULL), 65);
	assert_non_null(strstr(err_buf.ptr, "root hash"));
	assert_non_null(strstr(err_buf.ptr, "nothing was changed"));
	after = get_file(path_store, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);
	free(before);
	free(after);
}

static void test_cli_bad_mapping_writes_nothing(void **state)
{
	static const char bad[] = "SourceLegacyDN|TargetLegacyDN\n"
		TU_ALICE_SRC "|" TU_ALICE_TGT "\n"
		"alice@fabrikam.com|" TU_BOB_TGT "\n";

	(void)state;
	put_file(path_txt, bad, sizeof(bad) - 1);
	unlink(path_idx);
	assert_int_equal(run("mapping", "compile", path_txt, "-o", path_idx,
			     NULL), 65);
	assert_non_null(strstr(err_buf.ptr, "mbm.puf:3:"));
	assert_int_equal(access(path_idx, F_OK), -1);
}

/* A damaged index: update refuses it (65) and changes nothing; mapping
 * check names the file. */
static void test_cli_damaged_index(void **state)
{
	size_t len, before_len, after_len;
	uint8_t *d, *before, *after;

	(void)state;
	put_file(path_txt, mapping_text, sizeof(mapping_text) - 1);
	assert_int_equal(run("mapping", "compile", path_txt, "-o", path_idx,
			     NULL), 0);
	put_store();
	d = get_file(path_idx, &len);
	flip_alice(d, len);      /* in the buckets alice's lookups read */
	put_file(path_idx, d, len);
	assert_int_equal(run("mapping", "check", path_idx, NULL), 65);
	assert_non_null(strstr(err_buf.ptr, path_idx));
	before = get_file(path_store, &before_len);
	{
		int rc = run("update", "--store", path_store, "--mapping",
			     path_idx, NULL);

		after = get_file(path_store, &after_len);
		if (rc == 65) {
			assert_non_null(strstr(err_buf.ptr, "nothing was "
					       "changed"));
			assert_int_equal(before_len, after_len);
			assert_memory_equal(before, after, before_len);
		} else {
			fail_msg("damaged bucket not met (rc %d): %s", rc,
				 err_buf.ptr);
		}
		free(after);
	}
	/* Damage in the header: refused at load. */
	free(d);
	assert_int_equal(run("mapping", "compile", path_txt, "-o", path_idx,
			     NULL), 0);
	d = get_file(path_idx, &len);
	d[20] ^= 0x01;
	put_file(path_idx, d, len);
	assert_int_equal(run("update", "--store", path_store, "--mapping",
			     path_idx, NULL), 65);
	assert_non_null(strstr(err_buf.ptr, "checksum"));
	free(before);
	free(d);
}

/* update --dry-run with the index reports what it reports with the text. */
static void test_cli_dry_run_same_report(void **state)
{
	ps_buf with_text = PS_BUF_INIT;

	(void)state;
	put_file(path_txt, mapping_text, sizeof(mapping_text) - 1);
	assert_int_equal(run("mapping", "compile", path_txt, "-o", path_idx,
			     NULL), 0);
	put_store();
	assert_int_equal(run("update", "--store", path_store, "--mapping",
			     path_txt, "--dry-run", NULL), 0);
	ps_buf_puts(&with_text, out_buf.ptr);
	assert_non_null(strstr(with_text.ptr, "would-update"));
	assert_int_equal(run("update", "--store", path_store, "--mapping",
			     path_idx, "--dry-run", NULL), 0);
	assert_string_equal(out_buf.ptr, with_text.ptr);
	/* After the update, both say already-updated the same way. */
	assert_int_equal(run("update", "--store", path_store, "--mapping",
			     path_txt, NULL), 0);
	assert_int_equal(run("update", "--store", path_store, "--mapping",
			     path_txt, "--dry-run", NULL), 0);
	ps_buf_clear(&with_text);
	ps_buf_puts(&with_text, out_buf.ptr);
	assert_non_null(strstr(with_text.ptr, "already-updated"));
	assert_int_equal(run("update", "--store", path_store, "--mapping",
			     path_idx, "--dry-run", NULL), 0);
	assert_string_equal(out_buf.ptr, with_text.ptr);
	ps_buf_free(&with_text);
	ps_buf_free(&out_buf);
	ps_buf_free(&err_buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row_both_ways),
		cmocka_unit_test(test_empty_mapping),
		cmocka_unit_test(test_corruption_refused),
		cmocka_unit_test(test_lookup_reads_bounded),
		cmocka_unit_test(test_old_backend_reads_whole_file),
		cmocka_unit_test(test_cli_compile_check_and_pin),
		cmocka_unit_test(test_cli_bad_mapping_writes_nothing),
		cmocka_unit_test(test_cli_damaged_index),
		cmocka_unit_test(test_cli_dry_run_same_report),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);

	ps_buf_free(&out_buf);
	ps_buf_free(&err_buf);
	return rc;
}
