/*
 * Runs one scenario folder (docs/formats.md, "Scenario folder"):
 *
 *   scenario_run [--exe CMD] SCENARIO_DIR
 *
 * Each [Step N] of scenario.ini runs profswitch (CMD, default
 * "profswitch"; PS_SCENARIO_WRAP prepends a wrapper such as valgrind) in
 * the scenario folder on a temporary copy of HKCU.reg, then checks the
 * exit status, the report rows, stderr, whether the store changed, and the
 * whole registry against the expected export.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_ini.h"
#include "ps_reg.h"
#include "ps_str.h"

#define MAX_STEPS 16

typedef struct step {
	char *command;
	int exit_status;
	int has_exit;
	ps_strlist rows;
	ps_strlist stderr_has;
	int unchanged;
	int locked;
	char *store;
} step;

typedef struct scenario {
	const char *dir;
	step steps[MAX_STEPS];
	int nsteps;
} scenario;

static int fail_count;

static void failf(const char *name, int stepno, const char *fmt, ...)
	PS_PRINTF(3, 4);

static void failf(const char *name, int stepno, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s step %d: ", name, stepno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fail_count++;
}

static int on_key(void *ctx, const char *section, const char *key,
		  const char *value, unsigned line)
{
	scenario *sc = ctx;
	step *st;
	int n;

	if (!ps_strcasecmp(section, "Scenario"))
		return 0;
	if (ps_strncasecmp(section, "Step ", 5) ||
	    sscanf(section + 5, "%d", &n) != 1 || n < 1 || n > MAX_STEPS)
		return ps_error_setc(PS_EFORMAT, "scenario.ini:%u: unknown "
				     "section [%s]", line, section);
	if (n > sc->nsteps)
		sc->nsteps = n;
	st = &sc->steps[n - 1];
	if (!ps_strcasecmp(key, "Command")) {
		free(st->command);
		st->command = ps_strdup(value);
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
	else if (!ps_strcasecmp(key, "Locked"))
		st->locked = (int)strtol(value, NULL, 10);
	else if (!ps_strcasecmp(key, "Unchanged"))
		st->unchanged = (int)strtol(value, NULL, 10);
	else if (!ps_strcasecmp(key, "Store")) {
		free(st->store);
		st->store = ps_strdup(value);
	}
	else
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

static char *substitute(const char *word, const char *store,
			const char *report)
{
	ps_buf b = PS_BUF_INIT;

	for (; *word; word++) {
		if (!strncmp(word, "{store}", 7)) {
			ps_buf_puts(&b, store);
			word += 6;
		} else if (!strncmp(word, "{report}", 8)) {
			ps_buf_puts(&b, report);
			word += 7;
		} else {
			ps_buf_putc(&b, *word);
		}
	}
	return ps_buf_detach(&b);
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
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Compare the report's (profile, account, status) with the Row lines. */
static void check_rows(const char *name, int n, const char *report,
		       const ps_strlist *want)
{
	ps_buf b = PS_BUF_INIT, got = PS_BUF_INIT, exp = PS_BUF_INIT;
	ps_strlist fields = PS_STRLIST_INIT, rows = PS_STRLIST_INIT;
	ps_buf field = PS_BUF_INIT;
	size_t i;
	const char *p;
	int quoted = 0, line = 0;

	if (read_all(report, &b) < 0) {
		failf(name, n, "no report was written (%s)", report);
		goto done;
	}
	/* A small CSV reader for our own report. */
	for (p = b.ptr; p && *p; p++) {
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
			if (line++ && fields.n == 8) {
				ps_buf_clear(&got);
				ps_buf_printf(&got, "%s | %s | %s",
					      fields.v[2], fields.v[3],
					      fields.v[6]);
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

/* The fallback log folder ($XDG_STATE_HOME/profswitch) in the work
 * folder. */
static void remove_logs(const char *tmp)
{
	ps_buf path = PS_BUF_INIT;
	struct dirent *ent;
	DIR *d;

	ps_buf_printf(&path, "%s/profswitch", tmp);
	d = opendir(path.ptr);
	while (d && (ent = readdir(d))) {
		ps_buf file = PS_BUF_INIT;

		if (ent->d_name[0] == '.')
			continue;
		ps_buf_printf(&file, "%s/%s", path.ptr, ent->d_name);
		unlink(file.ptr);
		ps_buf_free(&file);
	}
	if (d)
		closedir(d);
	rmdir(path.ptr);
	ps_buf_free(&path);
}

static int load_tree(const char *path, ps_regtree *t)
{
	ps_buf b = PS_BUF_INIT;
	int error;

	if (read_all(path, &b) < 0) {
		ps_buf_free(&b);
		return ps_error_setc(PS_EIO, "%s: cannot read", path);
	}
	error = ps_regtree_parse(t, path, (const uint8_t *)b.ptr, b.len);
	ps_buf_free(&b);
	return error;
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
	if (a.encoding != e.encoding)
		failf(name, n, "store encoding changed (expected that of "
		      "%s)", expected);
	if (!ps_regkey_equal(e.root, a.root, &diff))
		failf(name, n, "registry differs from %s (expected vs "
		      "actual):\n%s", expected, diff.ptr ? diff.ptr : "");
	ps_buf_free(&diff);
	ps_regtree_free(&a);
	ps_regtree_free(&e);
}

int main(int argc, char **argv)
{
	const char *exe = "profswitch", *dir, *name, *wrap;
	char tmpl[] = "/tmp/ps-scenario-XXXXXX", *tmp;
	ps_buf path = PS_BUF_INIT, ini = PS_BUF_INIT, store = PS_BUF_INIT;
	ps_buf before = PS_BUF_INIT, after = PS_BUF_INIT;
	scenario sc;
	int i;

	memset(&sc, 0, sizeof(sc));
	if (argc == 4 && !strcmp(argv[1], "--exe")) {
		exe = argv[2];
		dir = argv[3];
	} else if (argc == 2) {
		dir = argv[1];
	} else {
		fputs("usage: scenario_run [--exe CMD] SCENARIO_DIR\n", stderr);
		return 2;
	}
	sc.dir = dir;
	name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	ps_buf_printf(&path, "%s/scenario.ini", dir);
	if (read_all(path.ptr, &ini) < 0 ||
	    ps_ini_parse(path.ptr, ini.ptr, ini.len, on_key, &sc) < 0) {
		fprintf(stderr, "FAIL %s: %s\n", name, ps_error_last());
		return 1;
	}
	if (!sc.nsteps) {
		fprintf(stderr, "FAIL %s: no [Step 1]\n", name);
		return 1;
	}
	tmp = mkdtemp(tmpl);
	if (!tmp) {
		fprintf(stderr, "FAIL %s: mkdtemp: %s\n", name,
			strerror(errno));
		return 1;
	}
	ps_buf_printf(&store, "%s/HKCU.reg", tmp);
	ps_buf_clear(&path);
	ps_buf_printf(&path, "%s/HKCU.reg", dir);
	if (copy_file(path.ptr, store.ptr) < 0) {
		fprintf(stderr, "FAIL %s: cannot copy %s\n", name, path.ptr);
		return 1;
	}
	wrap = getenv("PS_SCENARIO_WRAP");
	/* A log that falls back to the local folder lands in the work
	 * folder, never in the home of whoever runs the tests. */
	setenv("XDG_STATE_HOME", tmp, 1);
	for (i = 0; i < sc.nsteps; i++) {
		step *st = &sc.steps[i];
		ps_strlist args = PS_STRLIST_INIT, words = PS_STRLIST_INIT;
		ps_buf report = PS_BUF_INIT, out = PS_BUF_INIT;
		ps_buf err = PS_BUF_INIT, errtext = PS_BUF_INIT;
		size_t k;
		int status, failed_before = fail_count, lockfd;

		if (!st->command) {
			failf(name, i + 1, "no Command");
			continue;
		}
		ps_buf_printf(&report, "%s/report-%d.csv", tmp, i + 1);
		ps_buf_printf(&out, "%s/stdout-%d.txt", tmp, i + 1);
		ps_buf_printf(&err, "%s/stderr-%d.txt", tmp, i + 1);
		if (wrap)
			split_words(wrap, &args);
		split_words(exe, &args);
		split_words(st->command, &words);
		for (k = 0; k < words.n; k++)
			ps_strlist_take(&args, substitute(words.v[k],
					store.ptr, report.ptr));
		ps_buf_clear(&before);
		read_all(store.ptr, &before);
		/* Locked: another profswitch holds the store meanwhile. */
		lockfd = -1;
		if (st->locked) {
			lockfd = open(store.ptr, O_RDONLY);
			if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0)
				failf(name, i + 1, "cannot lock the store");
		}
		status = run_command(dir, &args, out.ptr, err.ptr);
		if (lockfd >= 0)
			close(lockfd);
		read_all(err.ptr, &errtext);
		ps_buf_clear(&after);
		read_all(store.ptr, &after);
		if (st->has_exit && status != st->exit_status) {
			failf(name, i + 1, "exit status %d, expected %d",
			      status, st->exit_status);
		}
		for (k = 0; k < st->stderr_has.n; k++)
			if (!strstr(errtext.ptr ? errtext.ptr : "",
				    st->stderr_has.v[k]))
				failf(name, i + 1, "stderr lacks '%s'",
				      st->stderr_has.v[k]);
		if (st->rows.n)
			check_rows(name, i + 1, report.ptr, &st->rows);
		if (st->unchanged && (before.len != after.len ||
		    memcmp(before.ptr, after.ptr, before.len)))
			failf(name, i + 1, "the store was rewritten but "
			      "must be unchanged");
		if (st->store) {
			ps_buf_clear(&path);
			ps_buf_printf(&path, "%s/%s", dir, st->store);
			check_store(name, i + 1, store.ptr, path.ptr);
		}
		if (fail_count > failed_before && errtext.len)
			fprintf(stderr, "--- stderr of step %d:\n%s", i + 1,
				errtext.ptr);
		ps_strlist_free(&args);
		ps_strlist_free(&words);
		ps_buf_free(&report);
		ps_buf_free(&out);
		ps_buf_free(&err);
		ps_buf_free(&errtext);
	}
	ps_buf_clear(&path);
	ps_buf_printf(&path, "%s/expect/HKCU.reg", dir);
	if (access(path.ptr, R_OK) == 0)
		check_store(name, sc.nsteps, store.ptr, path.ptr);
	if (!fail_count)
		printf("scenario %s: %d steps passed\n", name, sc.nsteps);
	for (i = 0; i < MAX_STEPS; i++) {
		free(sc.steps[i].command);
		free(sc.steps[i].store);
		ps_strlist_free(&sc.steps[i].rows);
		ps_strlist_free(&sc.steps[i].stderr_has);
	}
	if (!fail_count) {
		/* Keep the work folder of a failed run for inspection. */
		static const char *const files[] = { "report", "stdout",
						     "stderr" };
		for (i = 1; i <= sc.nsteps; i++) {
			for (size_t f = 0; f < 3; f++) {
				ps_buf_clear(&path);
				ps_buf_printf(&path, "%s/%s-%d.%s", tmp,
					      files[f], i, f ? "txt" : "csv");
				unlink(path.ptr);
			}
		}
		unlink(store.ptr);
		remove_logs(tmp);
		rmdir(tmp);
	} else {
		fprintf(stderr, "work files kept in %s\n", tmp);
	}
	ps_buf_free(&path);
	ps_buf_free(&ini);
	ps_buf_free(&store);
	ps_buf_free(&before);
	ps_buf_free(&after);
	return fail_count ? 1 : 0;
}
