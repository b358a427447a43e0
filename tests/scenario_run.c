/*
 * Runs one scenario folder (docs/formats.md, "Scenario folder"):
 *
 *   scenario_run [--exe CMD] [--mock PATH] [--mkcert PATH]
 *                [--hive MKHIVE] [--skip REASON] SCENARIO_DIR
 *
 * Each [Step N] of scenario.ini runs profswitch (CMD, default
 * "profswitch"; PS_SCENARIO_WRAP prepends a wrapper such as valgrind) in
 * the scenario folder on a temporary copy of HKCU.reg, with drive C: in a
 * temporary folder seeded from files/, then checks the exit status, the
 * report rows, stdout and stderr, whether the store changed, the whole
 * registry against the expected export, the requests the mock Autodiscover
 * server received and, after the last step, the files on drive C:.
 *
 * A scenario with an autodiscover/ folder gets the mock (PATH, the
 * fakeautodiscover binary) on loopback with a throw-away CA made by the
 * tests/mkcert.sh script, for the whole run; it is stopped on every way
 * out (and dies with the runner, PR_SET_PDEATHSIG).
 *
 * --wine: CMD is the Windows build under Wine (wine_skip(), wine_link()).
 * --mapi (implies --wine): no --store: the exe finds MAPI, the fake
 * provider DLL registered in the prefix, which loads and saves the copy
 * of HKCU.reg named by PROFSWITCH_FAKE_STORE; the scenario's policy and
 * Office keys are imported into the prefix's registry for the run
 * (import_policies(), office_to_wine(), mapi_check()).
 *
 * --hive MKHIVE (tests/mkhive.py): the store is not a copy of HKCU.reg but
 * an NTUSER.DAT hive made from it, at <tmp>/HKCU/NTUSER.DAT (so its owner
 * is "HKCU", as the copy's would be); every registry check loads the hive
 * and compares it with the expected export.  --skip REASON: print the
 * reason and exit 77 (CTest's SKIP_RETURN_CODE) without running.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ps_hive.h"
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_ini.h"
#include "ps_reg.h"
#include "ps_str.h"

#define MAX_STEPS 16
#define MOCK_START_MS 10000      /* for the ports line */
#define MOCK_STOP_MS 10000       /* after SIGTERM, then SIGKILL */
#define DEFAULT_LOCALAPPDATA "C:\\Users\\alice\\AppData\\Local"

typedef struct step {
	char *command;
	int exit_status;
	int has_exit;
	ps_strlist rows;
	ps_strlist stderr_has;
	ps_strlist stdout_has;
	int unchanged;
	int locked;
	char *store;
	char *identical;         /* the store's bytes must equal this file */
	char *requests;
} step;

typedef struct scenario {
	const char *dir;
	step steps[MAX_STEPS];
	int nsteps;
	char *local_appdata;     /* [Scenario] LocalAppData; NULL: default */
	char *wine;              /* [Scenario] Wine: why not under Wine */
	char *mapi;              /* [Scenario] MAPI: why not on MAPI */
	char *ad_account;        /* [Scenario] AdAccount: USER:PASSWORD as
	                            PROFSWITCH_AD_USER/_PASSWORD; NULL */
	int wine_ntlm;           /* [Scenario] WineNtlm: Wine needs
	                            Samba's ntlm_auth */
} scenario;

/* The mock Autodiscover server of a scenario with autodiscover/. */
typedef struct mock {
	pid_t pid;               /* 0: not running */
	int out_fd;              /* its stdout (the ports line); -1 */
	char *ca;                /* the test CA, for {ca} */
	char *log;               /* its request log */
	char https_port[8];
	char http_port[8];
} mock;

static int fail_count;
/* 1 in --hive mode: the store is a hive (its encoding is not compared). */
static int hive_mode;
/* For the signal handler (0: none): the mock, the step's command. */
static volatile pid_t running_mock;
static volatile pid_t running_step;
static volatile pid_t running_lockholder; /* lockholder.exe under Wine */

static void failf(const char *name, int stepno, const char *fmt, ...)
	PS_PRINTF(3, 4);

/* stepno 0: about the scenario as a whole. */
static void failf(const char *name, int stepno, const char *fmt, ...)
{
	va_list ap;

	if (stepno > 0)
		fprintf(stderr, "FAIL %s step %d: ", name, stepno);
	else
		fprintf(stderr, "FAIL %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fail_count++;
}

/* The runner is a test program: running out of memory ends it. */
static void *must(void *p)
{
	if (!p) {
		fputs("scenario_run: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static char *join(const char *a, const char *b)
{
	ps_buf p = PS_BUF_INIT;

	ps_buf_printf(&p, "%s/%s", a, b);
	return must(ps_buf_check(&p) < 0 ? NULL : ps_buf_detach(&p));
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int on_key(void *ctx, const char *section, const char *key,
		  const char *value, unsigned line)
{
	scenario *sc = ctx;
	step *st;
	int n;

	if (!ps_strcasecmp(section, "Scenario")) {
		if (!ps_strcasecmp(key, "LocalAppData")) {
			free(sc->local_appdata);
			sc->local_appdata = must(ps_strdup(value));
		} else if (!ps_strcasecmp(key, "Wine")) {
			free(sc->wine);
			sc->wine = must(ps_strdup(value));
		} else if (!ps_strcasecmp(key, "MAPI")) {
			free(sc->mapi);
			sc->mapi = must(ps_strdup(value));
		} else if (!ps_strcasecmp(key, "AdAccount")) {
			if (!strchr(value, ':'))
				return ps_error_setc(PS_EFORMAT, "scenario.ini"
						     ":%u: AdAccount must be "
						     "USER:PASSWORD", line);
			free(sc->ad_account);
			sc->ad_account = must(ps_strdup(value));
		} else if (!ps_strcasecmp(key, "WineNtlm")) {
			sc->wine_ntlm = atoi(value) != 0;
		}
		return 0;
	}
	if (ps_strncasecmp(section, "Step ", 5) ||
	    sscanf(section + 5, "%d", &n) != 1 || n < 1 || n > MAX_STEPS)
		return ps_error_setc(PS_EFORMAT, "scenario.ini:%u: unknown "
				     "section [%s]", line, section);
	if (n > sc->nsteps)
		sc->nsteps = n;
	st = &sc->steps[n - 1];
	if (!ps_strcasecmp(key, "Command")) {
		free(st->command);
		st->command = must(ps_strdup(value));
	} else if (!ps_strcasecmp(key, "Exit")) {
		char *end;

		st->exit_status = (int)strtol(value, &end, 10);
		if (end == value || *end)
			return ps_error_setc(PS_EFORMAT, "scenario.ini:%u: "
					     "Exit must be a number", line);
		st->has_exit = 1;
	} else if (!ps_strcasecmp(key, "Row"))
		ps_strlist_add(&st->rows, value);
	else if (!ps_strcasecmp(key, "Stderr"))
		ps_strlist_add(&st->stderr_has, value);
	else if (!ps_strcasecmp(key, "Stdout"))
		ps_strlist_add(&st->stdout_has, value);
	else if (!ps_strcasecmp(key, "Locked"))
		st->locked = (int)strtol(value, NULL, 10);
	else if (!ps_strcasecmp(key, "Unchanged"))
		st->unchanged = (int)strtol(value, NULL, 10);
	else if (!ps_strcasecmp(key, "Store")) {
		free(st->store);
		st->store = must(ps_strdup(value));
	} else if (!ps_strcasecmp(key, "Identical")) {
		free(st->identical);
		st->identical = must(ps_strdup(value));
	} else if (!ps_strcasecmp(key, "Requests")) {
		free(st->requests);
		st->requests = must(ps_strdup(value));
	} else
		return ps_error_setc(PS_EFORMAT, "scenario.ini:%u: unknown "
				     "key %s", line, key);
	return 0;
}

static int read_all(const char *path, ps_buf *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ps_buf_put(out, chunk, n);
	fclose(f);
	return ps_buf_check(out);
}

static int copy_file(const char *from, const char *to)
{
	ps_buf b = PS_BUF_INIT;
	FILE *f;
	int ok;

	if (read_all(from, &b) < 0) {
		ps_buf_free(&b);
		return -1;
	}
	f = fopen(to, "wb");
	ok = f && fwrite(b.ptr, 1, b.len, f) == b.len;
	if (f && fclose(f))
		ok = 0;
	ps_buf_free(&b);
	return ok ? 0 : -1;
}

/* Split a command line on spaces; "double quotes" group words. */
static void split_words(const char *s, ps_strlist *out)
{
	ps_buf w = PS_BUF_INIT;
	int in_word = 0, quoted = 0;

	for (;; s++) {
		if (*s == '"') {
			quoted = !quoted;
			in_word = 1;
			continue;
		}
		if (!*s || (!quoted && (*s == ' ' || *s == '\t'))) {
			if (in_word)
				ps_strlist_add(out, w.ptr ? w.ptr : "");
			ps_buf_clear(&w);
			in_word = 0;
			if (!*s)
				break;
			continue;
		}
		ps_buf_putc(&w, *s);
		in_word = 1;
	}
	ps_buf_free(&w);
}

/* {name} -> value in a Command word; a NULL value is not available. */
typedef struct subst {
	const char *name;
	const char *value;
} subst;

/* The word with every {name} replaced; NULL (and *missing set) when it
 * uses one that has no value in this scenario. */
static char *substitute(const char *word, const subst *tab,
			const char **missing)
{
	ps_buf b = PS_BUF_INIT;
	size_t i, n;

	for (; *word; word++) {
		for (i = 0; tab[i].name; i++) {
			n = strlen(tab[i].name);
			if (!strncmp(word, tab[i].name, n))
				break;
		}
		if (!tab[i].name) {
			ps_buf_putc(&b, *word);
			continue;
		}
		if (!tab[i].value) {
			*missing = tab[i].name;
			ps_buf_free(&b);
			return NULL;
		}
		ps_buf_puts(&b, tab[i].value);
		word += n - 1;
	}
	return must(ps_buf_check(&b) < 0 ? NULL : ps_buf_detach(&b));
}

/*
 * Wine, rarely, ends a program before it runs (seen once in CI: exit 1 in
 * 70 ms, nothing on stdout or stderr, no report, the store untouched):
 * profswitch itself always says something when it fails.  Such a step
 * is run again once, with a note; a program that really fails that way
 * fails the second time too.
 */
static int wine_did_not_start(int status, const struct timespec *t0,
			      const char *out, const char *err,
			      const char *store, const ps_buf *before,
			      const char *report)
{
	struct timespec t1;
	struct stat so, se, sr;
	ps_buf now = PS_BUF_INIT;
	double secs;
	int same;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	if (status == 0 || secs > 0.5 || stat(out, &so) < 0 || so.st_size ||
	    stat(err, &se) < 0 || se.st_size || stat(report, &sr) == 0)
		return 0;
	read_all(store, &now);
	same = now.len == before->len &&
	       (!now.len || !memcmp(now.ptr, before->ptr, now.len));
	ps_buf_free(&now);
	return same;
}

static int run_command(const char *dir, ps_strlist *argv_list,
		       const char *out_path, const char *err_path)
{
	pid_t pid;
	int status;
	char **argv = calloc(argv_list->n + 1, sizeof(*argv));

	if (!argv)
		return -1;
	memcpy(argv, argv_list->v, argv_list->n * sizeof(*argv));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 ||
		    chdir(dir) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	free(argv);
	if (pid < 0)
		return -1;
	running_step = pid;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			running_step = 0;
			return -1;
		}
	running_step = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Compare the report's (profile, account, status) with the Row lines. */
static void check_rows(const char *name, int n, const char *report,
		       const ps_strlist *want)
{
	ps_buf b = PS_BUF_INIT, got = PS_BUF_INIT, exp = PS_BUF_INIT;
	ps_strlist fields = PS_STRLIST_INIT, rows = PS_STRLIST_INIT;
	ps_buf field = PS_BUF_INIT;
	size_t i, ncols = 0;
	const char *p;
	int quoted = 0, line = 0, col[3] = { -1, -1, -1 };

	if (read_all(report, &b) < 0) {
		failf(name, n, "no report was written (%s)", report);
		goto done;
	}
	/* A small CSV reader for our own report: UTF-8 BOM first (Excel),
	 * then the header, whose names say where profile, account and
	 * status are. */
	p = b.ptr;
	if (p && strncmp(p, "\xEF\xBB\xBF", 3)) {
		failf(name, n, "the report %s does not start with the UTF-8 "
		      "BOM", report);
		goto done;
	}
	if (p)
		p += 3;
	for (; p && *p; p++) {
		if (quoted) {
			if (*p == '"' && p[1] == '"') {
				ps_buf_putc(&field, '"');
				p++;
			} else if (*p == '"') {
				quoted = 0;
			} else {
				ps_buf_putc(&field, *p);
			}
			continue;
		}
		if (*p == '"') {
			quoted = 1;
		} else if (*p == ',') {
			ps_strlist_add(&fields, field.ptr ? field.ptr : "");
			ps_buf_clear(&field);
		} else if (*p == '\n') {
			ps_strlist_add(&fields, field.ptr ? field.ptr : "");
			ps_buf_clear(&field);
			if (!line++) {
				for (i = 0; i < fields.n; i++) {
					if (!strcmp(fields.v[i], "profile"))
						col[0] = (int)i;
					else if (!strcmp(fields.v[i],
							 "account"))
						col[1] = (int)i;
					else if (!strcmp(fields.v[i],
							 "status"))
						col[2] = (int)i;
				}
				ncols = fields.n;
			} else if (fields.n == ncols && col[0] >= 0 &&
				   col[1] >= 0 && col[2] >= 0) {
				ps_buf_clear(&got);
				ps_buf_printf(&got, "%s | %s | %s",
					      fields.v[col[0]],
					      fields.v[col[1]],
					      fields.v[col[2]]);
				ps_strlist_add(&rows, got.ptr);
			}
			ps_strlist_free(&fields);
		} else if (*p != '\r') {
			ps_buf_putc(&field, *p);
		}
	}
	ps_buf_clear(&got);
	for (i = 0; i < rows.n; i++)
		ps_buf_printf(&got, "  %s\n", rows.v[i]);
	for (i = 0; i < want->n; i++) {
		/* Normalise the spacing around '|'. */
		ps_strlist parts = PS_STRLIST_INIT;
		char *copy = ps_strdup(want->v[i]), *s = copy, *bar;

		while ((bar = strchr(s, '|'))) {
			*bar = '\0';
			ps_strlist_add(&parts, ps_trim(s));
			s = bar + 1;
		}
		ps_strlist_add(&parts, ps_trim(s));
		ps_buf_puts(&exp, "  ");
		for (size_t k = 0; k < parts.n; k++)
			ps_buf_printf(&exp, "%s%s", k ? " | " : "",
				      parts.v[k]);
		ps_buf_puts(&exp, "\n");
		ps_strlist_free(&parts);
		free(copy);
	}
	if (strcmp(got.ptr ? got.ptr : "", exp.ptr ? exp.ptr : ""))
		failf(name, n, "report rows differ\nexpected:\n%sgot:\n%s",
		      exp.ptr ? exp.ptr : "", got.ptr ? got.ptr : "");
done:
	ps_buf_free(&b);
	ps_buf_free(&got);
	ps_buf_free(&exp);
	ps_buf_free(&field);
	ps_strlist_free(&fields);
	ps_strlist_free(&rows);
}

static int load_tree(const char *path, ps_regtree *t)
{
	ps_buf b = PS_BUF_INIT;
	int error;

	if (read_all(path, &b) < 0) {
		ps_buf_free(&b);
		return ps_error_setc(PS_EIO, "%s: cannot read", path);
	}
	if (ps_hive_is_hive((const uint8_t *)b.ptr, b.len))
		error = ps_hive_load(t, path, (const uint8_t *)b.ptr, b.len);
	else
		error = ps_regtree_parse(t, path, (const uint8_t *)b.ptr,
					 b.len);
	ps_buf_free(&b);
	return error;
}

/*
 * The expected export for a step: dir/rel, or on a MAPI run the variant
 * dir/expect/mapi/NAME when the scenario has one.  A MAPI store cannot
 * tell how the registry held a value, so a backup written through MAPI
 * records no forms (PSB1), and a PT_STRING8 MAPI restores is REG_SZ
 * whatever it was: scenarios whose export shows the difference carry the
 * MAPI variant (scenarios/tools/mkscen.py).  Caller frees.
 */
static char *expected_path(const char *dir, const char *rel, int mapi)
{
	ps_buf p = PS_BUF_INIT;

	if (mapi && !strncmp(rel, "expect/", 7)) {
		ps_buf_printf(&p, "%s/expect/mapi/%s", dir, rel + 7);
		if (access(must(p.ptr), R_OK) == 0)
			return ps_buf_detach(&p);
		ps_buf_clear(&p);
	}
	ps_buf_printf(&p, "%s/%s", dir, rel);
	return must(ps_buf_detach(&p));
}

static void check_store(const char *name, int n, const char *actual,
			const char *expected)
{
	ps_regtree a, e;
	ps_buf diff = PS_BUF_INIT;

	if (load_tree(actual, &a) < 0) {
		failf(name, n, "the store no longer parses: %s",
		      ps_error_last());
		return;
	}
	if (load_tree(expected, &e) < 0) {
		failf(name, n, "expected export %s: %s", expected,
		      ps_error_last());
		ps_regtree_free(&a);
		return;
	}
	if (!hive_mode && a.encoding != e.encoding)
		failf(name, n, "store encoding changed (expected that of "
		      "%s)", expected);
	if (!ps_regkey_equal(e.root, a.root, &diff))
		failf(name, n, "registry differs from %s (expected vs "
		      "actual):\n%s", expected, diff.ptr ? diff.ptr : "");
	ps_buf_free(&diff);
	ps_regtree_free(&a);
	ps_regtree_free(&e);
}

/* Each check of a step's output stream (Stdout, Stderr). */
static int check_has(const char *name, int n, const char *what,
		     const ps_buf *text, const ps_strlist *want)
{
	size_t k;
	int failed = 0;

	for (k = 0; k < want->n; k++)
		if (!strstr(text->ptr ? text->ptr : "", want->v[k])) {
			failf(name, n, "%s lacks '%s'", what, want->v[k]);
			failed = 1;
		}
	return failed;
}

/* ---- differences, readable ------------------------------------------ */

/* One line for a diff hint: at most 200 bytes; \r, \t, other control
 * bytes as \xNN. */
static void put_line(ps_buf *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			ps_buf_puts(out, "\\r");
		else if (c == '\t')
			ps_buf_puts(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			ps_buf_printf(out, "\\x%02x", c);
		else
			ps_buf_putc(out, c);
	}
	if (n > 200)
		ps_buf_puts(out, "...");
}

/* Length of the line at s, with its '\n'. */
static size_t line_len(const char *s, size_t left)
{
	const char *nl = memchr(s, '\n', left);

	return nl ? (size_t)(nl - s) + 1 : left;
}

/* Where two different texts part, unified-style:
 *   @@ line N @@
 *    the line before
 *   -the expected line
 *   +the actual line
 * or, for binary data, the sizes and the first differing byte. */
static void diff_hint(ps_buf *out, const char *ind, const char *exp,
		      size_t elen, const char *act, size_t alen)
{
	size_t eo = 0, ao = 0, line = 1, el, al, prev = 0, prevlen = 0;

	if (memchr(exp, 0, elen) || memchr(act, 0, alen)) {
		size_t k = 0;

		while (k < elen && k < alen && exp[k] == act[k])
			k++;
		ps_buf_printf(out, "%sbinary: %zu bytes expected, %zu got; "
			      "first difference at byte %zu\n", ind, elen,
			      alen, k);
		return;
	}
	for (;;) {
		el = eo < elen ? line_len(exp + eo, elen - eo) : 0;
		al = ao < alen ? line_len(act + ao, alen - ao) : 0;
		if (!el || !al || el != al || memcmp(exp + eo, act + ao, el))
			break;
		prev = eo;
		prevlen = el;
		eo += el;
		ao += al;
		line++;
	}
	if (!el && !al)
		return;         /* equal: no hint */
	ps_buf_printf(out, "%s@@ line %zu @@\n", ind, line);
	if (prevlen) {
		ps_buf_printf(out, "%s ", ind);
		put_line(out, exp + prev, prevlen - 1);
		ps_buf_putc(out, '\n');
	}
	ps_buf_printf(out, "%s-", ind);
	if (el)
		put_line(out, exp + eo, el - (exp[eo + el - 1] == '\n'));
	else
		ps_buf_puts(out, "(end of file)");
	ps_buf_printf(out, "\n%s+", ind);
	if (al)
		put_line(out, act + ao, al - (act[ao + al - 1] == '\n'));
	else
		ps_buf_puts(out, "(end of file)");
	ps_buf_putc(out, '\n');
	if (el && al && el - (exp[eo + el - 1] == '\n') ==
	    al - (act[ao + al - 1] == '\n') &&
	    !memcmp(exp + eo, act + ao, el < al ? el : al))
		ps_buf_printf(out, "%s(only the newline at the end differs)"
			      "\n", ind);
}

/* --wine: the Windows build checks a server's chain with a HEAD probe
 * (no credentials, no body) before a request whose TLS checks it relaxed
 * (win32_http.c, probe_chain); those lines are not part of what a
 * scenario expects. */
static int wine_probes;

static void drop_head_lines(ps_buf *b)
{
	size_t r = 0, w = 0;
	int skip = 0;

	/* A record is its request line, headers and body, then ".". */
	while (b->ptr && r < b->len) {
		const char *nl = memchr(b->ptr + r, '\n', b->len - r);
		size_t n = nl ? (size_t)(nl - (b->ptr + r)) + 1 : b->len - r;

		if (!skip && !strncmp(b->ptr + r, "HEAD ", 5))
			skip = 1;
		if (!skip) {
			memmove(b->ptr + w, b->ptr + r, n);
			w += n;
		} else if (n == 2 && b->ptr[r] == '.') {
			skip = 0;
		}
		r += n;
	}
	if (b->ptr) {
		b->len = w;
		b->ptr[w] = '\0';
	}
}

/* After a step: the mock's whole request log so far must be the file. */
static void check_requests(const char *name, int n, const char *dir,
			   const char *file, const mock *m)
{
	ps_buf exp = PS_BUF_INIT, act = PS_BUF_INIT, hint = PS_BUF_INIT;
	char *path = join(dir, file);

	if (!m->log) {
		failf(name, n, "Requests = %s: the scenario has no "
		      "autodiscover/ folder, so no mock server ran", file);
		goto done;
	}
	if (read_all(path, &exp) < 0) {
		failf(name, n, "Requests = %s: cannot read %s", file, path);
		goto done;
	}
	read_all(m->log, &act);         /* none yet: no request */
	if (wine_probes)
		drop_head_lines(&act);
	if (exp.len == act.len && (!exp.len ||
				   !memcmp(exp.ptr, act.ptr, exp.len)))
		goto done;
	diff_hint(&hint, "  ", exp.ptr ? exp.ptr : "", exp.len,
		  act.ptr ? act.ptr : "", act.len);
	failf(name, n, "the requests the mock received differ from %s "
	      "(expected -, received +; all of them in %s):\n%s", file,
	      m->log, hint.ptr ? hint.ptr : "");
done:
	ps_buf_free(&exp);
	ps_buf_free(&act);
	ps_buf_free(&hint);
	free(path);
}

/* ---- drive C: --------------------------------------------------------- */

/* Copy a folder's tree (files, folders, symbolic links) into `to`. */
static int copy_tree(const char *from, const char *to, ps_buf *why)
{
	DIR *d = opendir(from);
	struct dirent *de;
	int error = 0;

	if (!d) {
		ps_buf_printf(why, "%s: cannot open: %s", from,
			      strerror(errno));
		return -1;
	}
	while (!error && (de = readdir(d)) != NULL) {
		char *src, *dst, target[4096];
		struct stat st;
		ssize_t n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		src = join(from, de->d_name);
		dst = join(to, de->d_name);
		if (lstat(src, &st) < 0) {
			error = -1;
		} else if (S_ISDIR(st.st_mode)) {
			error = mkdir(dst, 0700);
			if (!error)
				error = copy_tree(src, dst, why);
		} else if (S_ISLNK(st.st_mode)) {
			n = readlink(src, target, sizeof(target) - 1);
			error = n < 0 ? -1 : 0;
			if (!error) {
				target[n] = '\0';
				error = symlink(target, dst);
			}
		} else if (S_ISREG(st.st_mode)) {
			error = copy_file(src, dst);
			if (!error)
				error = chmod(dst, st.st_mode & 0777);
		} else {
			errno = EINVAL;
			error = -1;
		}
		if (error && !why->len)
			ps_buf_printf(why, "cannot copy %s to %s: %s", src, dst,
				      strerror(errno));
		free(src);
		free(dst);
	}
	closedir(d);
	return error;
}

/* The relative paths of everything but folders under root/rel, sorted.
 * A missing root is an empty tree. */
static void collect(const char *root, const char *rel, ps_strlist *out)
{
	char *dir = rel ? join(root, rel) : must(ps_strdup(root));
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		char *sub, *full;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = rel ? join(rel, de->d_name) : must(ps_strdup(de->d_name));
		full = join(root, sub);
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode))
			collect(root, sub, out);
		else
			ps_strlist_add(out, sub);
		free(full);
		free(sub);
	}
	if (d)
		closedir(d);
	free(dir);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file's bytes, or "symbolic link -> TARGET" for a link. */
static void load_entry(const char *path, ps_buf *out, int *is_link)
{
	struct stat st;
	char target[4096];
	ssize_t n;

	*is_link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
	if (!*is_link) {
		read_all(path, out);
		return;
	}
	n = readlink(path, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	ps_buf_printf(out, "symbolic link -> %s\n", target);
}

/* The whole tree `actual` must hold the same files, with the same bytes,
 * as `expected` (label: how the scenario names it). */
static void check_files(const char *name, const char *actual,
			const char *expected, const char *label)
{
	ps_strlist a = PS_STRLIST_INIT, e = PS_STRLIST_INIT;
	ps_buf msg = PS_BUF_INIT;
	size_t i = 0, j = 0;

	collect(actual, NULL, &a);
	collect(expected, NULL, &e);
	if (a.n > 1)
		qsort(a.v, a.n, sizeof(*a.v), cmp_str);
	if (e.n > 1)
		qsort(e.v, e.n, sizeof(*e.v), cmp_str);
	while (i < e.n || j < a.n) {
		int c = i >= e.n ? 1 : j >= a.n ? -1 : strcmp(e.v[i], a.v[j]);
		ps_buf eb = PS_BUF_INIT, ab = PS_BUF_INIT;
		char *ep, *ap;
		int el, al;

		if (c < 0) {
			ps_buf_printf(&msg, "  missing: %s\n", e.v[i++]);
			continue;
		}
		if (c > 0) {
			ps_buf_printf(&msg, "  extra:   %s\n", a.v[j++]);
			continue;
		}
		ep = join(expected, e.v[i]);
		ap = join(actual, a.v[j]);
		load_entry(ep, &eb, &el);
		load_entry(ap, &ab, &al);
		if (el != al || eb.len != ab.len ||
		    (eb.len && memcmp(eb.ptr, ab.ptr, eb.len))) {
			ps_buf_printf(&msg, "  differs: %s (expected -, "
				      "actual +)\n", e.v[i]);
			diff_hint(&msg, "    ", eb.ptr ? eb.ptr : "", eb.len,
				  ab.ptr ? ab.ptr : "", ab.len);
		}
		ps_buf_free(&eb);
		ps_buf_free(&ab);
		free(ep);
		free(ap);
		i++;
		j++;
	}
	if (msg.len)
		failf(name, 0, "the files on drive C: (%s) differ from %s:\n%s",
		      actual, label, msg.ptr);
	ps_buf_free(&msg);
	ps_strlist_free(&a);
	ps_strlist_free(&e);
}

/* rm -r without following symbolic links. */
static void remove_tree(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = join(path, de->d_name);
		remove_tree(sub);
		free(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* ---- the mock Autodiscover server ------------------------------------- */

/* [Server] Hosts of autodiscover/server.ini, read as the mock reads it
 * (a ';' after white space starts a comment; spaces or commas). */
static int on_server_key(void *ctx, const char *section, const char *key,
			 const char *value, unsigned line)
{
	ps_strlist *hosts = ctx;
	char *copy, *v, *tok, *save = NULL, *p;
	size_t n;

	(void)line;
	if (ps_strcasecmp(section, "Server") || ps_strcasecmp(key, "Hosts"))
		return 0;
	copy = must(ps_strdup(value));
	for (p = copy; *p; p++)
		if (*p == ';' && p > copy && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	v = ps_trim(copy);
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		v++;
	}
	for (p = v; *p; p++)
		*p = (char)ps_tolower((unsigned char)*p);
	for (tok = strtok_r(v, " \t,", &save); tok;
	     tok = strtok_r(NULL, " \t,", &save))
		if (!ps_strlist_contains_nocase(hosts, tok))
			ps_strlist_add(hosts, tok);
	free(copy);
	return 0;
}

/* The runner is being stopped: stop the step's command and the mock (and
 * reap the mock, SIGKILL after 2 s), then die of the same signal.  Only
 * async-signal-safe calls. */
static void on_signal(int sig)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	pid_t pid = running_mock;
	int i;

	if (running_step > 0)
		kill(running_step, SIGTERM);
	if (running_lockholder > 0)
		kill(running_lockholder, SIGTERM);
	if (pid > 0) {
		kill(pid, SIGTERM);
		for (i = 0; i < 200 && waitpid(pid, NULL, WNOHANG) == 0; i++)
			nanosleep(&tick, NULL);
		if (i == 200) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Run argv (stdout to our stderr; quiet: both to /dev/null) and wait; the
 * exit status, 127 when it cannot start, 128 + signal when killed. */
static int run_wait_to(ps_strlist *args, int quiet)
{
	char **argv = must(calloc(args->n + 1, sizeof(*argv)));
	pid_t pid;
	int status = 0;

	memcpy(argv, args->v, args->n * sizeof(*argv));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = quiet ? open("/dev/null", O_WRONLY) : -1;

		if (quiet && (null < 0 || dup2(null, 2) < 0))
			_exit(127);
		if (dup2(quiet ? null : 2, 1) < 0)
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	free(argv);
	if (pid < 0)
		return 127;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status)
				 : 128 + WTERMSIG(status);
}

static int run_wait(ps_strlist *args)
{
	return run_wait_to(args, 0);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* SIGTERM, wait (SIGKILL after MOCK_STOP_MS); its exit status, 128 +
 * signal when killed, 0 when it was not running. */
static int stop_mock(mock *m)
{
	struct timespec t0, tick = { 0, 10 * 1000 * 1000 };
	int status = 0;
	pid_t r;

	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while ((r = waitpid(m->pid, &status, WNOHANG)) == 0 ||
		       (r < 0 && errno == EINTR)) {
			if (ms_since(&t0) > MOCK_STOP_MS) {
				fprintf(stderr, "the mock Autodiscover server "
					"did not stop on SIGTERM; killing "
					"it\n");
				kill(m->pid, SIGKILL);
				while (waitpid(m->pid, &status, 0) < 0 &&
				       errno == EINTR)
					;
				break;
			}
			nanosleep(&tick, NULL);
		}
		running_mock = 0;
		m->pid = 0;
	}
	if (m->out_fd >= 0)
		close(m->out_fd);
	m->out_fd = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status)
				 : 128 + WTERMSIG(status);
}

/* Wait for the mock's "https=N http=M" line; 0, or -1 after failf. */
static int read_ports(const char *name, mock *m)
{
	char line[128];
	size_t len = 0;
	unsigned https, http;
	char *nl = NULL;
	struct timespec t0;
	int used = 0, status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!nl) {
		struct pollfd p = { m->out_fd, POLLIN, 0 };
		long left = MOCK_START_MS - ms_since(&t0);
		ssize_t n;
		int rc;

		if (left <= 0) {
			failf(name, 0, "the mock Autodiscover server did not "
			      "print 'https=N http=M' within %d s",
			      MOCK_START_MS / 1000);
			return -1;
		}
		rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;       /* the deadline is checked above */
		n = read(m->out_fd, line + len, sizeof(line) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			while (waitpid(m->pid, &status, 0) < 0 &&
			       errno == EINTR)
				;
			running_mock = 0;
			m->pid = 0;
			failf(name, 0, "the mock Autodiscover server stopped "
			      "before it listened (%s %d); its messages are "
			      "above", WIFEXITED(status) ? "exit status"
			      : "signal", WIFEXITED(status)
			      ? WEXITSTATUS(status) : WTERMSIG(status));
			return -1;
		}
		len += (size_t)n;
		line[len] = '\0';
		nl = strchr(line, '\n');
		if (!nl && len == sizeof(line) - 1)
			break;
	}
	if (nl)
		*nl = '\0';
	if (!nl || sscanf(line, "https=%u http=%u%n", &https, &http,
			  &used) != 2 || line[used] || !https || !http ||
	    https > 65535 || http > 65535) {
		failf(name, 0, "the mock Autodiscover server printed '%s', "
		      "expected 'https=N http=M'", line);
		return -1;
	}
	snprintf(m->https_port, sizeof(m->https_port), "%u", https);
	snprintf(m->http_port, sizeof(m->http_port), "%u", http);
	return 0;
}

/*
 * Certificates for the scenario's hosts, then the mock on free loopback
 * ports, then PROFSWITCH_CONNECT_TO sending every host there.  0, or -1
 * after failf (the caller stops whatever did start).
 */
static int start_mock(const char *name, const char *dir, const char *tmp,
		      const char *mock_exe, const char *mkcert, mock *m)
{
	ps_strlist hosts = PS_STRLIST_INIT, args = PS_STRLIST_INIT;
	ps_buf ini = PS_BUF_INIT, env = PS_BUF_INIT;
	char *ad = join(dir, "autodiscover"), *path = join(ad, "server.ini");
	char *certs = join(tmp, "cert"), *pem = NULL, *key = NULL;
	int fds[2] = { -1, -1 }, error = -1, status;
	pid_t runner;
	size_t i;

	if (!mock_exe || !mkcert) {
		failf(name, 0, "the scenario has an autodiscover/ folder but "
		      "no %s was found: give the runner %s",
		      !mock_exe ? "mock server" : "certificate script",
		      !mock_exe ? "--mock PATH (the fakeautodiscover binary)"
				: "--mkcert PATH (tests/mkcert.sh)");
		goto done;
	}
	/* No Hosts (or no server.ini): the mock says what is wrong. */
	if (read_all(path, &ini) == 0 &&
	    ps_ini_parse(path, ini.ptr ? ini.ptr : "", ini.len,
			 on_server_key, &hosts) < 0) {
		failf(name, 0, "%s", ps_error_last());
		goto done;
	}
	if (mkdir(certs, 0700) < 0) {
		failf(name, 0, "%s: cannot create: %s", certs,
		      strerror(errno));
		goto done;
	}
	ps_strlist_add(&args, "/bin/sh");
	ps_strlist_add(&args, mkcert);
	ps_strlist_add(&args, certs);
	for (i = 0; i < hosts.n; i++)
		ps_strlist_add(&args, hosts.v[i]);
	status = run_wait(&args);
	if (status) {
		failf(name, 0, "%s failed (exit status %d); its messages are "
		      "above", mkcert, status);
		goto done;
	}
	m->ca = join(certs, "ca.pem");
	pem = join(certs, "server.pem");
	key = join(certs, "server.key");
	m->log = join(tmp, "requests.log");
	if (pipe(fds) < 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0) {
		failf(name, 0, "pipe: %s", strerror(errno));
		goto done;
	}
	fflush(NULL);
	runner = getpid();
	m->pid = fork();
	if (m->pid == 0) {
#ifdef __linux__
		/* Never outlive the runner, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
		if (getppid() != runner || dup2(fds[1], 1) < 0)
			_exit(127);
		close(fds[1]);
		execl(mock_exe, mock_exe, "--scenario", dir, "--port", "0",
		      "--http-port", "0", "--cert", pem, "--key", key, "--log",
		      m->log, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", mock_exe,
			strerror(errno));
		_exit(127);
	}
	if (m->pid < 0) {
		m->pid = 0;
		failf(name, 0, "fork: %s", strerror(errno));
		goto done;
	}
	running_mock = m->pid;
	close(fds[1]);
	fds[1] = -1;
	m->out_fd = fds[0];
	fds[0] = -1;
	if (read_ports(name, m) < 0)
		goto done;
	for (i = 0; i < hosts.n; i++)
		ps_buf_printf(&env, "%s%s:443:127.0.0.1:%s %s:80:127.0.0.1:%s",
			      i ? " " : "", hosts.v[i], m->https_port,
			      hosts.v[i], m->http_port);
	if (hosts.n)
		setenv("PROFSWITCH_CONNECT_TO", must(env.ptr), 1);
	error = 0;
done:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	ps_strlist_free(&hosts);
	ps_strlist_free(&args);
	ps_buf_free(&ini);
	ps_buf_free(&env);
	free(ad);
	free(path);
	free(certs);
	free(pem);
	free(key);
	return error;
}

/* ---- main ------------------------------------------------------------- */

/* Hold the store lock as another profswitch would (docs/guards.md): an
 * flock on the lock file beside the store, DIR/.NAME.profswitch-lock, not
 * on the store, which every run replaces.  The fd, or -1. */
static int lock_store(const char *store)
{
	const char *slash = strrchr(store, '/');
	ps_buf b = PS_BUF_INIT;
	int fd = -1;

	if (slash)
		ps_buf_printf(&b, "%.*s/.%s.profswitch-lock",
			      (int)(slash - store), store, slash + 1);
	else
		ps_buf_printf(&b, ".%s.profswitch-lock", store);
	if (!ps_buf_check(&b))
		fd = open(b.ptr, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			  0600);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		fd = -1;
	}
	ps_buf_free(&b);
	return fd;
}

/* dirname(exe)/fakeautodiscover, when exe has a folder and that exists:
 * the build folder of CTest and of ci/valgrind.sh. */
static char *default_mock(const char *exe)
{
	const char *slash = strrchr(exe, '/');
	ps_buf b = PS_BUF_INIT;

	if (!slash)
		return NULL;
	ps_buf_put(&b, exe, (size_t)(slash - exe));
	ps_buf_puts(&b, "/fakeautodiscover");
	if (ps_buf_check(&b) < 0 || access(b.ptr, X_OK) < 0) {
		ps_buf_free(&b);
		return NULL;
	}
	return ps_buf_detach(&b);
}

/* SCENARIO_DIR/../../tests/mkcert.sh, when it exists. */
static char *default_mkcert(const char *dir)
{
	char *p = join(dir, "../../tests/mkcert.sh");

	if (access(p, R_OK) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/*
 * --wine: the exe is the Windows build under Wine (--exe "wine-run.sh
 * PREFIX profswitch.exe").  Wine's C: is the prefix's drive_c, whose user
 * folder mkprefix.sh makes C:\Users\alice (%LOCALAPPDATA% included): for
 * each run C:\Users\alice\AppData\Local\Microsoft is a symbolic link
 * to that folder of the scenario's drive (wine_link()), so files/ and
 * expect/files/ work as natively.  What this harness simulates only for
 * the Linux build cannot be checked there, and says so (exit 77):
 *  - drive C: files elsewhere than that folder;
 *  - --simulate-running: the Windows build lists real processes;
 *  - Locked= without --lockholder (lockholder.exe, which takes the
 *    Windows build's session mutex as another profswitch would);
 *  - a scenario's own [Scenario] Wine = reason.
 */
static const char *standin;      /* --standin: the stand-in outlook.exe */
static const char *lockholder;   /* --lockholder: tests/win/lockholder.exe */

/* The folder of drive C: a Wine run shares with the scenario. */
#define WINE_LINKED "Users/alice/AppData/Local/Microsoft"

/* 1 when the tree under root (none: empty) has a file outside
 * WINE_LINKED. */
static int outside_wine_link(const char *root)
{
	ps_strlist l = PS_STRLIST_INIT;
	size_t i, n = strlen(WINE_LINKED);
	int outside = 0;

	collect(root, NULL, &l);
	for (i = 0; i < l.n; i++)
		if (strncmp(l.v[i], WINE_LINKED, n) || l.v[i][n] != '/')
			outside = 1;
	ps_strlist_free(&l);
	return outside;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char *p = must(ps_strdup(path)), *c;
	int rc = 0;

	for (c = p + 1; !rc && *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			rc = -1;
		*c = '/';
	}
	if (!rc && mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/* PREFIX/drive_c/users/alice/AppData/Local/Microsoft -> the scenario's
 * drive/WINE_LINKED; the link's path (to remove at the end), or NULL
 * with *why set. */
static char *wine_link(const char *prefix, const char *drive, ps_buf *why)
{
	char *target = join(drive, WINE_LINKED);
	char *local = join(prefix, "drive_c/users/alice/AppData/Local");
	char *link = join(local, "Microsoft");
	struct stat st;

	if (!is_dir(local)) {
		ps_buf_printf(why, "%s: no such folder (the prefix was not "
			      "made by tests/win/mkprefix.sh)", local);
	} else if (make_dirs(target) < 0) {
		ps_buf_printf(why, "%s: cannot create: %s", target,
			      strerror(errno));
	} else {
		if (lstat(link, &st) == 0)
			remove_tree(link);  /* a killed run's link */
		if (symlink(target, link) < 0)
			ps_buf_printf(why, "%s: cannot link: %s", link,
				      strerror(errno));
	}
	free(target);
	free(local);
	if (why->len) {
		free(link);
		return NULL;
	}
	return link;
}

/* 1 when an executable `name` is in a folder of PATH. */
static int on_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	int found = 0;

	for (p = path ? path : ""; *p && !found; p = *end ? end + 1 : end) {
		ps_buf f = PS_BUF_INIT;

		end = p + strcspn(p, ":");
		ps_buf_printf(&f, "%.*s/%s", (int)(end - p), p, name);
		found = !ps_buf_check(&f) && end > p &&
			access(f.ptr, X_OK) == 0;
		ps_buf_free(&f);
	}
	return found;
}

static const char *wine_skip(const char *dir, const scenario *sc)
{
	static char buf[256];
	char *p;
	int i, found;

	if (sc->wine)
		return sc->wine;
	if (sc->wine_ntlm && !on_path("ntlm_auth"))
		return "Wine's NTLM runs Samba's ntlm_auth (Debian package "
		       "winbind), which is not installed";
	p = join(dir, "files");
	found = outside_wine_link(p);
	free(p);
	p = join(dir, "expect/files");
	found |= outside_wine_link(p);
	free(p);
	if (found)
		return "files on drive C: outside " WINE_LINKED " (files/, "
		       "expect/files/): only that folder of Wine's C: is "
		       "the scenario's";
	for (i = 0; i < sc->nsteps; i++) {
		const step *st = &sc->steps[i];

		if (st->command && strstr(st->command, "--simulate-running") &&
		    (!standin || !getenv("DISPLAY")))
			return "--simulate-running needs the stand-in "
			       "outlook.exe (--standin) and an X display for "
			       "its window (DISPLAY, e.g. xvfb-run)";
		if (st->locked && !lockholder) {
			snprintf(buf, sizeof(buf), "step %d: Locked= needs "
				 "--lockholder (the Windows build locks a "
				 "session mutex, not the store's flock)",
				 i + 1);
			return buf;
		}
	}
	return NULL;
}

/* ---- --mapi: the Windows build on real MAPI (the fake provider) ------- */

/* A .reg file parsed into t (0), or -1. */
static int load_reg(const char *path, ps_regtree *t)
{
	ps_buf b = PS_BUF_INIT;
	int rc = -1;

	if (read_all(path, &b) == 0 &&
	    ps_regtree_parse(t, path, (const uint8_t *)b.ptr, b.len) == 0)
		rc = 0;
	ps_buf_free(&b);
	return rc;
}

/* Drop every subkey of k but `keep` (NULL: all). */
static void keep_only(ps_regkey *k, const char *keep)
{
	size_t i = 0;

	while (k && i < k->nsub) {
		if (keep && !ps_strcasecmp(k->sub[i]->name, keep))
			i++;
		else
			ps_regkey_delete(k, k->sub[i]->name);
	}
	while (k && k->nval)
		ps_regkey_unset(k, k->vals[0].name);
}

#define OFFICE_KEY "HKEY_CURRENT_USER\\Software\\Microsoft\\Office"

/*
 * Under MAPI the profiles live in the provider's export, and Outlook's own
 * values (Office\<version>\Outlook but its Profiles, e.g. the
 * AutoDiscover pins) in Wine's registry, where the run reads and writes
 * them: office_to_wine() puts the input's there before the run,
 * mapi_result() takes them back into the provider's export to compare
 * with the expected registry.
 */

/* What of Office lives in Wine's registry: all of it, with each
 * Outlook\Profiles emptied (keep_profiles 0: the key stays, as a real
 * Outlook's does, so the exe picks the same Office version); or only the
 * profiles, the provider's part (keep_profiles 1). */
static void strip_profiles_side(ps_regkey *office, int keep_profiles)
{
	size_t i;

	for (i = 0; office && i < office->nsub; i++) {
		ps_regkey *ver = office->sub[i];

		if (keep_profiles) {
			keep_only(ver, "Outlook");
			keep_only(ps_regkey_find(ver, "Outlook"), "Profiles");
		} else {
			keep_only(ps_regkey_find(ver, "Outlook\\Profiles"),
				  NULL);
		}
	}
	while (office && keep_profiles && office->nval)
		ps_regkey_unset(office, office->vals[0].name);
}

/* Wine's side after a run: each Outlook\Profiles must still be empty
 * (profiles change through MAPI only) and is dropped; 0, or -1 when one
 * is not. */
static int drop_empty_profiles(ps_regkey *office)
{
	size_t i;
	int rc = 0;

	for (i = 0; office && i < office->nsub; i++) {
		ps_regkey *o = ps_regkey_find(office->sub[i], "Outlook");
		ps_regkey *pr = ps_regkey_find(o, "Profiles");

		if (!pr)
			continue;
		if (pr->nsub || pr->nval)
			rc = -1;
		ps_regkey_delete(o, "Profiles");
	}
	return rc;
}

/* The tree without what the provider keeps (profiles), what Wine's
 * registry holds (Office's other keys) and the policies. */
static void strip_mapi_side(ps_regtree *t)
{
	ps_regkey *k = ps_regkey_find(t->root, "HKEY_CURRENT_USER\\"
				      "Software\\Microsoft");

	if (k && ps_regkey_find(k, "Office"))
		ps_regkey_delete(k, "Office");
	k = ps_regkey_find(t->root, "HKEY_CURRENT_USER\\Software");
	if (k && ps_regkey_find(k, "Policies"))
		ps_regkey_delete(k, "Policies");
}

/*
 * --mapi: a scenario that cannot run on MAPI says why in its scenario.ini
 * ([Scenario] MAPI = reason); *why_not is then that reason.  What the
 * harness cannot reproduce on MAPI without such a reason is an error (a
 * message in *error): an input the provider cannot load, or an update
 * that changes keys outside Office and the policies, which a MAPI run
 * keeps neither in the provider's export nor in Wine's registry.
 */
static void mapi_check(const char *dir, const scenario *sc,
		       const char **why_not, const char **error)
{
	ps_regtree in, out;
	char *p = join(dir, "HKCU.reg");
	int i;

	*why_not = *error = NULL;
	if (sc->mapi) {
		*why_not = sc->mapi;
		free(p);
		return;
	}
	if (load_reg(p, &in) < 0) {
		free(p);
		*error = "HKCU.reg is not an export the provider can load; "
			 "say why the scenario cannot run on MAPI in "
			 "[Scenario] MAPI =";
		return;
	}
	free(p);
	strip_mapi_side(&in);
	for (i = 0; i <= sc->nsteps && !*error; i++) {
		const char *rel = i < sc->nsteps ? sc->steps[i].store : NULL;

		if (i == sc->nsteps)
			rel = "expect/HKCU.reg";
		if (!rel)
			continue;
		p = join(dir, rel);
		if (load_reg(p, &out) == 0) {
			strip_mapi_side(&out);
			if (!ps_regkey_equal(in.root, out.root, NULL))
				*error = "the update changes registry keys "
					 "outside Office and the policies, "
					 "which a MAPI run keeps neither in "
					 "the provider's export nor in Wine's "
					 "registry; say so in [Scenario] "
					 "MAPI =";
			ps_regtree_free(&out);
		}
		free(p);
	}
	ps_regtree_free(&in);
}

/* wine-run.sh PREFIX reg ARGS...: its exit status. */
static int wine_reg(const ps_strlist *exe_words, const char *a1,
		    const char *a2, const char *a3, const char *a4)
{
	ps_strlist args = PS_STRLIST_INIT;
	int rc;

	ps_strlist_add(&args, exe_words->v[0]);
	ps_strlist_add(&args, exe_words->v[1]);
	ps_strlist_add(&args, "reg");
	ps_strlist_add(&args, a1);
	ps_strlist_add(&args, a2);
	if (a3)
		ps_strlist_add(&args, a3);
	if (a4)
		ps_strlist_add(&args, a4);
	/* reg's own words ("The operation completed successfully") are
	 * noise; a failure is reported by the caller. */
	rc = run_wait_to(&args, 1);
	ps_strlist_free(&args);
	return rc;
}

/* Write t to path; 0 or -1. */
static int write_reg(const ps_regtree *t, const char *path)
{
	ps_buf b = PS_BUF_INIT;
	FILE *f;
	int rc = -1;

	if (ps_regtree_write(t, &b) == 0 && (f = fopen(path, "wb"))) {
		rc = fwrite(b.ptr, 1, b.len, f) == b.len ? 0 : -1;
		if (fclose(f) != 0)
			rc = -1;
	}
	ps_buf_free(&b);
	return rc;
}

/* Wine's HKCU\Software\Microsoft\Office emptied, then (!remove) given
 * the input's, profiles aside; 0 or -1. */
static int office_to_wine(const char *dir, const char *tmp,
			  const ps_strlist *exe_words, int remove)
{
	ps_regtree t;
	char *p, *file;
	int rc = 0;

	if (exe_words->n < 2)
		return -1;
	/* Absent is fine: reg delete then fails, and nothing is there. */
	wine_reg(exe_words, "delete", "HKCU\\Software\\Microsoft\\Office",
		 "/f", NULL);
	if (remove)
		return 0;
	p = join(dir, "HKCU.reg");
	if (load_reg(p, &t) < 0) {
		free(p);
		return 0;  /* mapi_check() has refused it */
	}
	free(p);
	keep_only(ps_regkey_find(t.root, "HKEY_CURRENT_USER"), "Software");
	keep_only(ps_regkey_find(t.root, "HKEY_CURRENT_USER\\Software"),
		  "Microsoft");
	keep_only(ps_regkey_find(t.root, "HKEY_CURRENT_USER\\Software\\"
				 "Microsoft"), "Office");
	strip_profiles_side(ps_regkey_find(t.root, OFFICE_KEY), 0);
	if (ps_regkey_find(t.root, OFFICE_KEY)) {
		file = join(tmp, "office-in.reg");
		rc = write_reg(&t, file) == 0 &&
		     wine_reg(exe_words, "import", file, NULL, NULL) == 0
			? 0 : -1;
		free(file);
	}
	ps_regtree_free(&t);
	return rc;
}

/* Copy src's values and subkeys into dst. */
static int graft(ps_regkey *dst, const ps_regkey *src)
{
	size_t i;
	ps_regkey *k;

	for (i = 0; i < src->nval; i++)
		if (ps_regkey_set(dst, src->vals[i].name, src->vals[i].type,
				  src->vals[i].data, src->vals[i].len) < 0)
			return -1;
	for (i = 0; i < src->nsub; i++)
		if (ps_regkey_create(dst, src->sub[i]->name, &k) < 0 ||
		    graft(k, src->sub[i]) < 0)
			return -1;
	return 0;
}

/*
 * What a MAPI run left, as one export: the provider's (its profiles) with
 * Office's other keys from Wine's registry, written to tmp/mapi-N.reg.
 * Its path; the provider's own export when that does not parse (the
 * comparison then says so).
 */
static char *mapi_result(const char *name, const char *store,
			 const char *tmp, int n, const ps_strlist *exe_words)
{
	ps_regtree r, w;
	ps_buf p = PS_BUF_INIT;
	ps_regkey *k;
	char *out;
	int ok;

	if (load_reg(store, &r) < 0)
		return must(ps_strdup(store));
	ps_buf_printf(&p, "%s/office-out-%d.reg", tmp, n);
	strip_profiles_side(ps_regkey_find(r.root, OFFICE_KEY), 1);
	/* No key: reg export fails, and Wine holds none of Office. */
	unlink(p.ptr);
	if (wine_reg(exe_words, "export", "HKCU\\Software\\Microsoft\\Office",
		     p.ptr, "/y") == 0 && load_reg(p.ptr, &w) == 0) {
		k = ps_regkey_find(w.root, OFFICE_KEY);
		if (drop_empty_profiles(k) < 0)
			failf(name, n, "Wine's registry holds profile data "
			      "under Office\\...\\Outlook\\Profiles (%s): on "
			      "MAPI, profiles may change through MAPI only",
			      p.ptr);
		ok = !k || (ps_regkey_create(r.root, OFFICE_KEY, &k) == 0 &&
			    graft(k, ps_regkey_find(w.root, OFFICE_KEY)) == 0);
		ps_regtree_free(&w);
		if (!ok) {
			fputs("scenario_run: out of memory\n", stderr);
			exit(1);
		}
	}
	ps_buf_clear(&p);
	ps_buf_printf(&p, "%s/mapi-%d.reg", tmp, n);
	out = must(ps_buf_detach(&p));
	if (write_reg(&r, out) < 0) {
		fprintf(stderr, "scenario_run: cannot write %s\n", out);
		exit(1);
	}
	ps_regtree_free(&r);
	return out;
}

/* The scenario's policy keys into Wine's registry (reg import), as a
 * user's GPO would have put them; removed again at the end. */
static int import_policies(const char *dir, const char *tmp,
			   const ps_strlist *exe_words, int remove)
{
	ps_strlist args = PS_STRLIST_INIT;
	ps_regtree t;
	ps_buf b = PS_BUF_INIT, file = PS_BUF_INIT;
	char *p = join(dir, "HKCU.reg");
	int rc = 0, has;

	if (exe_words->n < 2 || load_reg(p, &t) < 0) {
		free(p);
		return 0;
	}
	free(p);
	has = ps_regkey_find(t.root, "HKEY_CURRENT_USER\\Software\\"
			     "Policies") != NULL;
	if (has && !remove) {
		keep_only(ps_regkey_find(t.root, "HKEY_CURRENT_USER"),
			  "Software");
		keep_only(ps_regkey_find(t.root,
					 "HKEY_CURRENT_USER\\Software"),
			  "Policies");
		ps_buf_printf(&file, "%s/policies.reg", tmp);
		if (ps_regtree_write(&t, &b) == 0) {
			FILE *f = fopen(file.ptr, "wb");

			if (f) {
				fwrite(b.ptr, 1, b.len, f);
				fclose(f);
			}
		}
	}
	if (has) {
		/* wine-run.sh PREFIX reg import|delete ... */
		ps_strlist_add(&args, exe_words->v[0]);
		ps_strlist_add(&args, exe_words->v[1]);
		ps_strlist_add(&args, "reg");
		if (remove) {
			ps_strlist_add(&args, "delete");
			ps_strlist_add(&args, "HKCU\\Software\\Policies");
			ps_strlist_add(&args, "/f");
		} else {
			ps_strlist_add(&args, "import");
			ps_strlist_add(&args, file.ptr);
		}
		rc = run_wait(&args);
	}
	ps_strlist_free(&args);
	ps_buf_free(&b);
	ps_buf_free(&file);
	ps_regtree_free(&t);
	return rc;
}

/*
 * --wine with --standin: each --simulate-running NAME[:close=refuse]
 * [:exit-after=N] of a step becomes a real process, the stand-in
 * outlook.exe copied as NAME and started under Wine before the step
 * (real seconds instead of the Linux harness's simulated clock), and
 * stopped after it.
 */
#define MAX_STANDINS 8

typedef struct standins {
	pid_t pid[MAX_STANDINS];
	int n;
} standins;

static void take_running(ps_strlist *words, ps_strlist *specs)
{
	size_t i = 0, j;

	while (i + 1 < words->n) {
		if (strcmp(words->v[i], "--simulate-running")) {
			i++;
			continue;
		}
		ps_strlist_add(specs, words->v[i + 1]);
		free(words->v[i]);
		free(words->v[i + 1]);
		for (j = i; j + 2 < words->n; j++)
			words->v[j] = words->v[j + 2];
		words->n -= 2;
	}
}

/*
 * Wine's desktop process belongs to the X display (or to none) of the
 * first GUI-capable process a wine server saw: around the stand-ins the
 * prefix's server is ended and waited for, so that their desktop is this
 * run's xvfb-run display and the next test gets a fresh one.
 */
static void end_wineserver(const ps_strlist *exe_words)
{
	ps_strlist a = PS_STRLIST_INIT;
	ps_buf env = PS_BUF_INIT;

	if (exe_words->n < 2)
		return;
	ps_buf_printf(&env, "WINEPREFIX=%s", exe_words->v[1]);
	ps_strlist_add(&a, "/usr/bin/env");
	ps_strlist_add(&a, env.ptr);
	ps_strlist_add(&a, "wineserver");
	ps_strlist_add(&a, "-k");
	run_wait(&a);
	free(a.v[3]);
	a.v[3] = must(ps_strdup("-w"));
	run_wait(&a);
	ps_strlist_free(&a);
	ps_buf_free(&env);
}

/*
 * Start argv (a Windows program under Wine: wine-run.sh PREFIX PROGRAM
 * ARGS...) with "--ready Z:\...\ready" of folder dirp appended, and
 * wait until it has made that file (120 s at most: Wine's first window
 * in a prefix is slow).  Its pid, or -1.
 */
static pid_t start_wine_ready(char **argv, int argc, const char *dirp)
{
	ps_buf ready = PS_BUF_INIT, f = PS_BUF_INIT;
	struct stat st;
	char *c;
	pid_t pid;
	int waited;

	/* its ready file, as Wine sees it (Z: is /) */
	ps_buf_printf(&ready, "Z:%s/ready", dirp);
	for (c = ready.ptr; c && *c; c++)
		if (*c == '/')
			*c = '\\';
	argv[argc++] = (char *)"--ready";
	argv[argc++] = ready.ptr;
	argv[argc] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	ps_buf_printf(&f, "%s/ready", dirp);
	for (waited = 0; pid > 0 && waited < 1200 && stat(f.ptr, &st) < 0;
	     waited++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			pid = -1;  /* ended before it was ready */
		else
			usleep(100000);
	}
	ps_buf_free(&f);
	ps_buf_free(&ready);
	return pid;
}

/* SIGTERM (Wine ends the Windows process), SIGKILL after 3 s. */
static void stop_wine_pid(pid_t pid)
{
	int t;

	kill(pid, SIGTERM);
	for (t = 0; t < 30 && waitpid(pid, NULL, WNOHANG) == 0; t++)
		usleep(100000);
	if (t == 30) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* lockholder.exe holding the lock of store (NULL: MAPI's) for step n;
 * its pid once it holds it, or -1. */
static pid_t start_lockholder(const ps_strlist *exe_words, const char *tmp,
			      int n, const char *store)
{
	ps_buf dirp = PS_BUF_INIT;
	char *argv[10];
	int argc = 0;
	pid_t pid;

	if (exe_words->n < 2)
		return -1;
	ps_buf_printf(&dirp, "%s/lock-%d", tmp, n);
	mkdir(dirp.ptr, 0700);
	argv[argc++] = exe_words->v[0];
	argv[argc++] = exe_words->v[1];
	argv[argc++] = (char *)lockholder;
	if (store) {
		argv[argc++] = (char *)"--key";
		argv[argc++] = (char *)store;
	} else {
		argv[argc++] = (char *)"--mapi";
	}
	pid = start_wine_ready(argv, argc, dirp.ptr);
	running_lockholder = pid > 0 ? pid : 0;
	ps_buf_puts(&dirp, "/ready");
	if (pid > 0 && access(dirp.ptr, F_OK) < 0) {
		stop_wine_pid(pid);  /* never said it holds the lock */
		pid = -1;
		running_lockholder = 0;
	}
	ps_buf_free(&dirp);
	return pid;
}

static void start_standins(const ps_strlist *specs, const char *tmp,
			   const ps_strlist *exe_words, standins *sd)
{
	size_t i;

	sd->n = 0;
	if (specs->n)
		end_wineserver(exe_words);
	for (i = 0; i < specs->n && sd->n < MAX_STANDINS; i++) {
		const char *spec = specs->v[i], *colon = strchr(spec, ':');
		const char *ea = strstr(spec, "exit-after=");
		ps_buf name = PS_BUF_INIT, dirp = PS_BUF_INIT;
		char after[24];
		char *argv[10];
		int argc = 0;
		pid_t pid;

		ps_buf_printf(&dirp, "%s/standin-%zu", tmp, i);
		mkdir(dirp.ptr, 0700);
		ps_buf_printf(&name, "%s/%.*s", dirp.ptr,
			      (int)(colon ? (size_t)(colon - spec)
					  : strlen(spec)), spec);
		if (copy_file(standin, name.ptr) < 0) {
			ps_buf_free(&name);
			ps_buf_free(&dirp);
			continue;
		}
		argv[argc++] = exe_words->v[0];
		argv[argc++] = exe_words->v[1];
		argv[argc++] = name.ptr;
		if (strstr(spec, "close=refuse"))
			argv[argc++] = (char *)"--refuse";
		if (ea) {
			snprintf(after, sizeof(after), "%ld",
				 strtol(ea + 11, NULL, 10));
			argv[argc++] = (char *)"--exit-after";
			argv[argc++] = after;
		}
		/* Until Wine has the process and its window (Toolhelp
		 * and EnumWindows must see them when profswitch looks). */
		pid = start_wine_ready(argv, argc, dirp.ptr);
		if (pid > 0)
			sd->pid[sd->n++] = pid;
		ps_buf_free(&name);
		ps_buf_free(&dirp);
	}
}

static void stop_standins(standins *sd, const ps_strlist *exe_words)
{
	int i, had = sd->n;

	for (i = 0; i < sd->n; i++)
		stop_wine_pid(sd->pid[i]);
	sd->n = 0;
	if (had)
		end_wineserver(exe_words);
}

/* --store {store} out of a command: the store is MAPI's. */
static void drop_store_words(ps_strlist *words)
{
	size_t i, j;

	for (i = 0; i + 1 < words->n; i++) {
		if (strcmp(words->v[i], "--store"))
			continue;
		free(words->v[i]);
		free(words->v[i + 1]);
		for (j = i; j + 2 < words->n; j++)
			words->v[j] = words->v[j + 2];
		words->n -= 2;
		break;
	}
}

int main(int argc, char **argv)
{
	const char *exe = "profswitch", *dir = NULL, *name, *wrap;
	char *mock_exe = NULL, *mkcert = NULL, *drive = NULL;
	const char *mkhive = NULL, *skip = NULL;
	char *files = NULL, *expect_files = NULL, *ad = NULL;
	char tmpl[] = "/tmp/ps-scenario-XXXXXX", *tmp = NULL;
	ps_buf path = PS_BUF_INIT, ini = PS_BUF_INIT, store = PS_BUF_INIT;
	ps_buf before = PS_BUF_INIT, after = PS_BUF_INIT, why = PS_BUF_INIT;
	ps_strlist exe_words = PS_STRLIST_INIT;
	scenario sc;
	mock m;
	struct sigaction sa;
	int i, usage = 0, files_checked = 0, wine = 0, status_skip = 0;
	int mapi = 0, policies = 0, office = 0;
	char *wine_linked = NULL;

	memset(&sc, 0, sizeof(sc));
	memset(&m, 0, sizeof(m));
	m.out_fd = -1;
	for (i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--exe"))
			exe = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--mock"))
			mock_exe = must(ps_strdup(argv[++i]));
		else if (i + 1 < argc && !strcmp(argv[i], "--mkcert"))
			mkcert = must(ps_strdup(argv[++i]));
		else if (i + 1 < argc && !strcmp(argv[i], "--hive"))
			mkhive = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--skip"))
			skip = argv[++i];
		else if (!strcmp(argv[i], "--wine"))
			wine = 1;
		else if (!strcmp(argv[i], "--mapi"))
			wine = mapi = 1;
		else if (i + 1 < argc && !strcmp(argv[i], "--standin"))
			standin = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--lockholder"))
			lockholder = argv[++i];
		else if (argv[i][0] != '-' && !dir)
			dir = argv[i];
		else
			usage = 1;
	}
	if (usage || !dir) {
		fputs("usage: scenario_run [--exe CMD] [--mock PATH] "
		      "[--mkcert PATH] [--hive MKHIVE] [--skip REASON] "
		      "[--wine | --mapi] [--standin EXE] [--lockholder EXE] "
		      "SCENARIO_DIR\n",
		      stderr);
		free(mock_exe);
		free(mkcert);
		return 2;
	}
	sc.dir = dir;
	name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	if (skip) {
		printf("scenario %s: skipped: %s\n", name, skip);
		free(mock_exe);
		free(mkcert);
		return 77;
	}
	hive_mode = mkhive != NULL;
	ps_buf_printf(&path, "%s/scenario.ini", dir);
	if (read_all(path.ptr, &ini) < 0) {
		failf(name, 0, "cannot read %s: %s", path.ptr,
		      strerror(errno));
		goto done;
	}
	if (ps_ini_parse(path.ptr, ini.ptr ? ini.ptr : "", ini.len, on_key,
			 &sc) < 0) {
		failf(name, 0, "%s", ps_error_last());
		goto done;
	}
	if (!sc.nsteps) {
		failf(name, 0, "no [Step 1]");
		goto done;
	}
	wine_probes = wine;
	if (wine) {
		const char *why_not = wine_skip(dir, &sc), *error = NULL;

		if (!why_not && mapi)
			mapi_check(dir, &sc, &why_not, &error);
		if (error) {
			failf(name, 0, "%s", error);
			goto done;
		}
		if (why_not) {
			printf("scenario %s: skipped under Wine: %s\n", name,
			       why_not);
			status_skip = 1;
			goto done;
		}
	}
	tmp = mkdtemp(tmpl);
	if (!tmp) {
		failf(name, 0, "mkdtemp: %s", strerror(errno));
		goto done;
	}
	ps_buf_clear(&path);
	ps_buf_printf(&path, "%s/HKCU.reg", dir);
	if (hive_mode) {
		ps_strlist mk = PS_STRLIST_INIT;
		int status;

		ps_buf_printf(&store, "%s/HKCU", tmp);
		if (mkdir(store.ptr, 0700) < 0) {
			failf(name, 0, "%s: cannot create: %s", store.ptr,
			      strerror(errno));
			goto done;
		}
		ps_buf_puts(&store, "/NTUSER.DAT");
		ps_strlist_add(&mk, mkhive);
		ps_strlist_add(&mk, path.ptr);
		ps_strlist_add(&mk, store.ptr);
		status = run_wait(&mk);
		ps_strlist_free(&mk);
		if (status) {
			failf(name, 0, "%s could not make a hive of %s "
			      "(status %d)", mkhive, path.ptr, status);
			goto done;
		}
	} else {
		ps_buf_printf(&store, "%s/HKCU.reg", tmp);
		if (copy_file(path.ptr, store.ptr) < 0) {
			failf(name, 0, "cannot copy %s", path.ptr);
			goto done;
		}
	}
	/* Drive C: (docs/formats.md): files/ copied into <tmp>/drive_c. */
	drive = join(tmp, "drive_c");
	files = join(dir, "files");
	expect_files = join(dir, "expect/files");
	if (mkdir(drive, 0700) < 0) {
		failf(name, 0, "%s: cannot create: %s", drive,
		      strerror(errno));
		goto done;
	}
	if (is_dir(files) && copy_tree(files, drive, &why) < 0) {
		failf(name, 0, "%s", why.ptr ? why.ptr : "cannot copy files/");
		goto done;
	}
	wrap = getenv("PS_SCENARIO_WRAP");
	/* Steps run in the scenario folder: a relative CMD becomes
	 * absolute. */
	split_words(exe, &exe_words);
	if (exe_words.n && strchr(exe_words.v[0], '/') &&
	    exe_words.v[0][0] != '/') {
		char *abs = realpath(exe_words.v[0], NULL);

		if (abs) {
			free(exe_words.v[0]);
			exe_words.v[0] = abs;
		}
	}
	if (wine && exe_words.n >= 2) {
		wine_linked = wine_link(exe_words.v[1], drive, &why);
		if (!wine_linked) {
			failf(name, 0, "%s", why.ptr);
			goto done;
		}
	}
	/* A log that falls back to the local folder lands in the work
	 * folder, never in the home of whoever runs the tests. */
	setenv("XDG_STATE_HOME", tmp, 1);
	setenv("PROFSWITCH_DRIVE_C", drive, 1);
	if (!sc.local_appdata)
		setenv("LOCALAPPDATA", DEFAULT_LOCALAPPDATA, 1);
	else if (*sc.local_appdata)
		setenv("LOCALAPPDATA", sc.local_appdata, 1);
	else
		unsetenv("LOCALAPPDATA");
	/* Only what the scenario says reaches the network code. */
	unsetenv("PROFSWITCH_CONNECT_TO");
	/* No DNS SRV lookups: a scenario's hosts exist only in the mock. */
	setenv("PROFSWITCH_NO_SRV", "1", 1);
	unsetenv("PROFSWITCH_AD_USER");
	unsetenv("PROFSWITCH_AD_PASSWORD");
	if (sc.ad_account) {
		char *colon = strchr(sc.ad_account, ':');

		*colon = '\0';
		setenv("PROFSWITCH_AD_USER", sc.ad_account, 1);
		setenv("PROFSWITCH_AD_PASSWORD", colon + 1, 1);
		*colon = ':';
	}
	/* Stopped from outside (CTest's timeout, ^C): nothing is left
	 * running. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (mapi) {
		/* The provider DLL loads and saves this export (Wine maps
		 * the Linux path through drive Z:). */
		ps_buf zp = PS_BUF_INIT;
		char *c;

		ps_buf_printf(&zp, "Z:%s", store.ptr);
		for (c = zp.ptr; c && *c; c++)
			if (*c == '/')
				*c = '\\';
		setenv("PROFSWITCH_FAKE_STORE", zp.ptr, 1);
		ps_buf_free(&zp);
		if (import_policies(dir, tmp, &exe_words, 0) != 0) {
			failf(name, 0, "cannot import the policy keys into "
			      "the Wine prefix");
			goto done;
		}
		policies = 1;
		office = 1;
		if (office_to_wine(dir, tmp, &exe_words, 0) != 0) {
			failf(name, 0, "cannot import the input's Office keys "
			      "into the Wine prefix");
			goto done;
		}
	}
	ad = join(dir, "autodiscover");
	if (is_dir(ad)) {
		if (!mock_exe)
			mock_exe = default_mock(exe);
		if (!mkcert)
			mkcert = default_mkcert(dir);
		if (start_mock(name, dir, tmp, mock_exe, mkcert, &m) < 0)
			goto done;
	}
	for (i = 0; i < sc.nsteps; i++) {
		step *st = &sc.steps[i];
		ps_strlist args = PS_STRLIST_INIT, words = PS_STRLIST_INIT;
		ps_strlist running = PS_STRLIST_INIT;
		standins sd;
		ps_buf report = PS_BUF_INIT, out = PS_BUF_INIT;
		ps_buf err = PS_BUF_INIT, errtext = PS_BUF_INIT;
		ps_buf outtext = PS_BUF_INIT;
		const char *missing = NULL;
		size_t k;
		int status, failed_before = fail_count, lockfd;
		pid_t lockpid = -1;
		struct timespec t0;

		if (!st->command) {
			failf(name, i + 1, "no Command");
			continue;
		}
		ps_buf_printf(&report, "%s/report-%d.csv", tmp, i + 1);
		ps_buf_printf(&out, "%s/stdout-%d.txt", tmp, i + 1);
		ps_buf_printf(&err, "%s/stderr-%d.txt", tmp, i + 1);
		if (wrap)
			split_words(wrap, &args);
		for (k = 0; k < exe_words.n; k++)
			ps_strlist_add(&args, exe_words.v[k]);
		split_words(st->command, &words);
		if (mapi)
			drop_store_words(&words);
		if (wine && standin)
			take_running(&words, &running);
		for (k = 0; k < words.n && !missing; k++) {
			const subst tab[] = {
				{ "{store}", store.ptr },
				{ "{report}", report.ptr },
				{ "{ca}", m.ca },
				{ "{https_port}", m.pid ? m.https_port
							: NULL },
				{ "{http_port}", m.pid ? m.http_port : NULL },
				{ NULL, NULL }
			};
			char *w = substitute(words.v[k], tab, &missing);

			if (w)
				ps_strlist_take(&args, w);
		}
		if (missing) {
			failf(name, i + 1, "Command uses %s, which needs an "
			      "autodiscover/ folder (the mock server)",
			      missing);
			goto next;
		}
		ps_buf_clear(&before);
		read_all(store.ptr, &before);
		/* Locked: another profswitch holds the store meanwhile. */
		lockfd = -1;
		/* The stand-ins first: they start a fresh wine server,
		 * which would end a lock holder started before them. */
		start_standins(&running, tmp, &exe_words, &sd);
		if (st->locked && wine) {
			lockpid = start_lockholder(&exe_words, tmp, i + 1,
						   mapi ? NULL : store.ptr);
			if (lockpid < 0)
				failf(name, i + 1, "lockholder.exe did not "
				      "take the lock");
		} else if (st->locked) {
			lockfd = lock_store(store.ptr);
			if (lockfd < 0)
				failf(name, i + 1, "cannot lock the store");
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		status = run_command(dir, &args, out.ptr, err.ptr);
		/* (a step with a lock holder is never run twice) */
		if (wine && lockpid <= 0 &&
		    wine_did_not_start(status, &t0, out.ptr, err.ptr,
				       store.ptr, &before, report.ptr)) {
			fprintf(stderr, "note: %s step %d: Wine ended the exe "
				"at once (exit %d, no output, nothing "
				"written); running the step again\n", name,
				i + 1, status);
			status = run_command(dir, &args, out.ptr, err.ptr);
		}
		if (lockpid > 0 && waitpid(lockpid, NULL, WNOHANG) != 0) {
			failf(name, i + 1, "lockholder.exe ended during the "
			      "step: the lock was not held throughout");
			lockpid = -1;
		}
		stop_standins(&sd, &exe_words);
		ps_strlist_free(&running);
		if (lockfd >= 0)
			close(lockfd);
		if (lockpid > 0)
			stop_wine_pid(lockpid);
		running_lockholder = 0;
		read_all(err.ptr, &errtext);
		read_all(out.ptr, &outtext);
		ps_buf_clear(&after);
		read_all(store.ptr, &after);
		if (st->has_exit && status != st->exit_status) {
			failf(name, i + 1, "exit status %d, expected %d",
			      status, st->exit_status);
		}
		check_has(name, i + 1, "stderr", &errtext, &st->stderr_has);
		check_has(name, i + 1, "stdout", &outtext, &st->stdout_has);
		if (st->rows.n)
			check_rows(name, i + 1, report.ptr, &st->rows);
		if (st->unchanged && (before.len != after.len ||
		    memcmp(before.ptr, after.ptr, before.len)))
			failf(name, i + 1, "the store was rewritten but "
			      "must be unchanged");
		/* Byte for byte: on an export only (a hive is written by
		 * libhivex; through MAPI the store's forms and value order
		 * are MAPI's, not the export's). */
		if (st->identical && !hive_mode && !mapi) {
			ps_buf want = PS_BUF_INIT;

			ps_buf_clear(&path);
			ps_buf_printf(&path, "%s/%s", dir, st->identical);
			if (read_all(path.ptr, &want) < 0)
				failf(name, i + 1, "cannot read %s",
				      st->identical);
			else if (want.len != after.len ||
			    memcmp(want.ptr, after.ptr, want.len))
				failf(name, i + 1, "the store is not byte for "
				      "byte %s (%zu bytes, expected %zu)",
				      st->identical, after.len, want.len);
			ps_buf_free(&want);
		}
		if (st->store) {
			char *res = mapi ? mapi_result(name, store.ptr, tmp,
						       i + 1, &exe_words)
					 : must(ps_strdup(store.ptr));
			char *want = expected_path(dir, st->store, mapi);

			check_store(name, i + 1, res, want);
			free(want);
			free(res);
		}
		if (st->requests)
			check_requests(name, i + 1, dir, st->requests, &m);
		if (fail_count > failed_before && outtext.len)
			fprintf(stderr, "--- stdout of step %d:\n%s", i + 1,
				outtext.ptr);
		if (fail_count > failed_before && errtext.len)
			fprintf(stderr, "--- stderr of step %d:\n%s", i + 1,
				errtext.ptr);
next:
		ps_strlist_free(&args);
		ps_strlist_free(&words);
		ps_buf_free(&report);
		ps_buf_free(&out);
		ps_buf_free(&err);
		ps_buf_free(&errtext);
		ps_buf_free(&outtext);
	}
	if (m.pid) {
		int status = stop_mock(&m);

		if (status)
			failf(name, 0, "the mock Autodiscover server ended "
			      "with status %d on SIGTERM (expected 0); its "
			      "messages are above", status);
	}
	ps_buf_clear(&path);
	ps_buf_printf(&path, "%s/expect/HKCU.reg", dir);
	if (access(path.ptr, R_OK) == 0) {
		char *res = mapi ? mapi_result(name, store.ptr, tmp,
					       sc.nsteps + 1, &exe_words)
				 : must(ps_strdup(store.ptr));
		char *want = expected_path(dir, "expect/HKCU.reg", mapi);

		check_store(name, sc.nsteps, res, want);
		free(want);
		free(res);
	}
	/* Drive C: after the last step: expect/files/, else unchanged
	 * (files/, or nothing at all). */
	if (is_dir(expect_files))
		check_files(name, drive, expect_files, "expect/files/");
	else if (is_dir(files))
		check_files(name, drive, files, "files/ (no expect/files/: "
			    "nothing may change)");
	else
		check_files(name, drive, files, "an empty drive (no files/ "
			    "and no expect/files/)");
	files_checked = 1;
done:
	stop_mock(&m);
	if (policies)
		import_policies(dir, tmp, &exe_words, 1);
	if (office)
		office_to_wine(dir, tmp, &exe_words, 1);
	if (wine_linked) {
		unlink(wine_linked);
		free(wine_linked);
	}
	if (!fail_count && files_checked)
		printf("scenario %s: %d steps passed\n", name, sc.nsteps);
	if (tmp && !fail_count)
		remove_tree(tmp);
	else if (tmp)
		/* Keep the work folder of a failed run for inspection. */
		fprintf(stderr, "work files kept in %s\n", tmp);
	for (i = 0; i < MAX_STEPS; i++) {
		free(sc.steps[i].command);
		free(sc.steps[i].store);
		free(sc.steps[i].identical);
		free(sc.steps[i].requests);
		ps_strlist_free(&sc.steps[i].rows);
		ps_strlist_free(&sc.steps[i].stderr_has);
		ps_strlist_free(&sc.steps[i].stdout_has);
	}
	free(sc.local_appdata);
	free(sc.ad_account);
	free(sc.wine);
	free(sc.mapi);
	ps_strlist_free(&exe_words);
	free(m.ca);
	free(m.log);
	free(mock_exe);
	free(mkcert);
	free(drive);
	free(files);
	free(expect_files);
	free(ad);
	ps_buf_free(&path);
	ps_buf_free(&ini);
	ps_buf_free(&store);
	ps_buf_free(&before);
	ps_buf_free(&after);
	ps_buf_free(&why);
	return fail_count ? 1 : status_skip ? 77 : 0;
}
