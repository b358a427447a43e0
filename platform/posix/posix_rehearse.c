/*
 * `profswitch rehearse` on Linux: finding the inputs in folders, one
 * fake store and one read-only system port per input, and the worker
 * threads (docs/rehearsal.md).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ps_posix.h"
#include "../../core/ps_app.h"
#include "../../core/ps_error.h"
#include "../../core/ps_str.h"
#include "../../fakemapi/ps_fakestore.h"
#include "../../fakemapi/ps_hive.h"

/* Folders deeper than this are not searched (a profile share is a few
 * levels deep; a loop of bind mounts is not followed for ever). */
#define MAX_DEPTH 32
/* Inputs one rehearsal finds at most. */
#define MAX_INPUTS 1000000u

static int is_input_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && !ps_strcasecmp(name + n - 4, ".reg")) ||
	       !ps_strcasecmp(name, "NTUSER.DAT");
}

/* NAME.drive_c: the drive C: of the input NAME.reg or NAME.DAT beside
 * it (docs/rehearsal.md), never searched for inputs. */
static int is_drive_name(const char *name)
{
	size_t n = strlen(name);

	return n > 8 && !ps_strcasecmp(name + n - 8, ".drive_c");
}

/* The input's drive C: folder when it exists: its path without the
 * extension, plus ".drive_c" (a folder itself, not a link).  NULL when
 * there is none; *error on running out of memory. */
static char *drive_of(const char *input, int *error)
{
	const char *slash = strrchr(input, '/');
	const char *dot = strrchr(input, '.');
	size_t stem = dot && (!slash || dot > slash + 1)
		      ? (size_t)(dot - input) : strlen(input);
	struct stat st;
	char *dir = malloc(stem + 9);

	*error = 0;
	if (!dir) {
		*error = ps_error_setc(PS_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(dir, input, stem);
	memcpy(dir + stem, ".drive_c", 9);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* A path the walk could not read, and why (a row of the report). */
static int problem(ps_strlist *problems, const char *path, const char *fmt,
		   ...) PS_PRINTF(3, 4);

static int problem(ps_strlist *problems, const char *path, const char *fmt,
		   ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (ps_strlist_add(problems, path) < 0 ||
	    ps_strlist_add(problems, why) < 0)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	return 0;
}

static int is_report_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && !ps_strcasecmp(name + n - 4, ".csv")) ||
	       (n > 5 && !ps_strcasecmp(name + n - 5, ".json"));
}

/* What one walk looks for, and the modification times of what it found
 * (times: NULL when not wanted). */
typedef struct walk_ctx {
	int (*wanted)(const char *name);
	int64_t *times;
	size_t cap;
} walk_ctx;

static int walk_time(walk_ctx *w, size_t i, int64_t t)
{
	if (!w || !w->wanted || w->wanted == is_input_name)
		return 0;
	if (i >= w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		int64_t *v = realloc(w->times, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		w->times = v;
		w->cap = cap;
	}
	w->times[i] = t;
	return 0;
}

static int walk_in(const char *dir, int depth, ps_strlist *out,
		   ps_strlist *problems, walk_ctx *w);

static int walk(const char *dir, int depth, ps_strlist *out,
		ps_strlist *problems)
{
	return walk_in(dir, depth, out, problems, NULL);
}

static int walk_in(const char *dir, int depth, ps_strlist *out,
		   ps_strlist *problems, walk_ctx *w)
{
	DIR *d;
	struct dirent *ent;
	int error = 0;

	if (depth > MAX_DEPTH)
		return problem(problems, dir, "folder more than %d levels deep: "
			       "not searched", MAX_DEPTH);
	d = opendir(dir);
	if (!d) {
		if (!depth)
			return ps_error_setc(errno == ENOENT ? PS_ENOTFOUND
					     : PS_EIO, "%s: cannot open the "
					     "folder: %s", dir,
					     strerror(errno));
		return problem(problems, dir, "cannot open the folder: %s",
			       strerror(errno));
	}
	for (;;) {
		struct stat st;
		char *path;
		size_t len;

		errno = 0;
		ent = readdir(d);
		if (!ent) {
			if (errno)
				error = problem(problems, dir, "cannot list "
						"the folder: %s",
						strerror(errno));
			break;
		}
		if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
			continue;
		len = strlen(dir) + strlen(ent->d_name) + 2;
		path = malloc(len);
		if (!path) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			break;
		}
		snprintf(path, len, "%s%s%s", dir,
			 dir[strlen(dir) - 1] == '/' ? "" : "/", ent->d_name);
		/* lstat: symbolic links are never followed. */
		if (lstat(path, &st) < 0) {
			error = problem(problems, path, "cannot read: %s",
					strerror(errno));
			free(path);
		} else if (S_ISDIR(st.st_mode) && is_drive_name(ent->d_name)) {
			free(path);     /* an input's drive C:, not inputs */
		} else if (S_ISDIR(st.st_mode)) {
			error = walk_in(path, depth + 1, out, problems, w);
			free(path);
		} else if (S_ISREG(st.st_mode) &&
			   (w && w->wanted ? w->wanted : is_input_name)(
				   ent->d_name)) {
			if (out->n >= MAX_INPUTS) {
				free(path);
				error = ps_error_setc(PS_ELIMIT, "%s: more "
						      "than %u inputs", dir,
						      MAX_INPUTS);
			} else {
				error = walk_time(w, out->n,
						  (int64_t)st.st_mtime);
				if (!error)
					error = ps_strlist_take(out, path);
				else
					free(path);
			}
		} else {
			free(path);
		}
		if (error)
			break;
	}
	closedir(d);
	return error;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_stores(void *ctx, const char *path, ps_strlist *out,
		       ps_strlist *problems)
{
	struct stat st;
	ps_strlist l = PS_STRLIST_INIT, p = PS_STRLIST_INIT;
	int error;

	(void)ctx;
	/* A named file (or a missing one) is an input: opening it says
	 * what is wrong with it. */
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return ps_strlist_add(out, path);
	error = walk(path, 0, &l, &p);
	if (error < 0) {
		ps_strlist_free(&l);
		ps_strlist_free(&p);
		return error;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	*out = l;
	*problems = p;
	return 0;
}

typedef struct timed_path {
	char *path;
	int64_t time;
} timed_path;

static int cmp_timed(const void *a, const void *b)
{
	return strcmp(((const timed_path *)a)->path,
		      ((const timed_path *)b)->path);
}

static int list_reports(void *ctx, const char *path, ps_strlist *out,
			int64_t **mtimes, ps_strlist *problems)
{
	struct stat st;
	ps_strlist l = PS_STRLIST_INIT, p = PS_STRLIST_INIT;
	walk_ctx w;
	timed_path *tp = NULL;
	size_t i;
	int error;

	(void)ctx;
	*mtimes = NULL;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*mtimes = calloc(1, sizeof(**mtimes));
		if (!*mtimes || ps_strlist_add(out, path) < 0) {
			free(*mtimes);
			*mtimes = NULL;
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		if (!lstat(path, &st) && S_ISREG(st.st_mode))
			(*mtimes)[0] = (int64_t)st.st_mtime;
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.wanted = is_report_name;
	error = walk_in(path, 0, &l, &p, &w);
	if (!error && l.n) {
		tp = calloc(l.n, sizeof(*tp));
		if (!tp)
			error = ps_error_setc(PS_ENOMEM, "out of memory");
	}
	if (error < 0) {
		ps_strlist_free(&l);
		ps_strlist_free(&p);
		free(w.times);
		return error;
	}
	for (i = 0; i < l.n; i++) {
		tp[i].path = l.v[i];
		tp[i].time = w.times[i];
	}
	if (l.n)
		qsort(tp, l.n, sizeof(*tp), cmp_timed);
	for (i = 0; i < l.n; i++) {
		l.v[i] = tp[i].path;
		w.times[i] = tp[i].time;
	}
	free(tp);
	*out = l;
	*problems = p;
	*mtimes = w.times;
	return 0;
}

static int open_rehearsal(void *ctx, const char *path, ps_store **store,
			  ps_system **sys, char **warning)
{
	char *drive;
	int error;

	(void)ctx;
	*store = NULL;
	*warning = NULL;
	error = ps_posix_system_new(sys);
	if (error < 0)
		return error;
	ps_posix_set_rehearsal(*sys);
	drive = drive_of(path, &error);
	if (!error)
		error = ps_posix_set_drive_c(*sys, drive);
	free(drive);
	if (!error)
		error = ps_fakestore_open(store, *sys, path);
	if (error < 0) {
		ps_sys_free(*sys);
		*sys = NULL;
		return error;
	}
	/* A hive that was not cleanly unloaded is rehearsed as it is on
	 * disk, with a warning: a dry run writes nothing. */
	*warning = ps_hive_unclean_warning(ps_fakestore_tree(*store), path);
	ps_posix_set_policy_source(*sys, ps_fakestore_get_policy, *store);
	return 0;
}

/* ---- worker threads ---------------------------------------------------- */

typedef struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next, done, n;
	void (*job)(void *arg, unsigned worker, size_t i);
	void *arg;
} pool;

typedef struct worker {
	pool *p;
	unsigned id;
	pthread_t thread;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	pool *p = w->p;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->mu);
		i = p->next < p->n ? p->next++ : p->n;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			break;
		p->job(p->arg, w->id, i);
		pthread_mutex_lock(&p->mu);
		p->done++;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int parallel(void *ctx, size_t n, unsigned workers,
		    void (*job)(void *arg, unsigned worker, size_t i),
		    void (*progress)(void *arg, size_t done, size_t n,
				     double seconds),
		    void *arg)
{
	pool p;
	worker *w;
	unsigned started = 0, k;
	struct timespec t0;
	double last = 0;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&p, 0, sizeof(p));
	p.n = n;
	p.job = job;
	p.arg = arg;
	if (!workers)
		workers = 1;
	w = calloc(workers, sizeof(*w));
	if (!w)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	for (k = 0; k < workers; k++) {
		w[k].p = &p;
		w[k].id = k;
		if (pthread_create(&w[k].thread, NULL, work, &w[k]) != 0)
			break;
		started++;
	}
	if (!started) {
		/* No thread at all: this one does the work. */
		w[0].p = &p;
		w[0].id = 0;
		work(&w[0]);
	}
	pthread_mutex_lock(&p.mu);
	while (p.done < n) {
		struct timespec until;
		double now;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p.cv, &p.mu, &until);
		now = seconds_since(&t0);
		if (progress && p.done < n && now - last >= 0.25) {
			size_t done = p.done;

			last = now;
			pthread_mutex_unlock(&p.mu);
			progress(arg, done, n, now);
			pthread_mutex_lock(&p.mu);
		}
	}
	pthread_mutex_unlock(&p.mu);
	for (k = 0; k < started; k++)
		pthread_join(w[k].thread, NULL);
	if (progress)
		progress(arg, n, n, seconds_since(&t0));
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	free(w);
	return 0;
}

static unsigned cpu_count(void *ctx)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	(void)ctx;
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static int is_terminal(void *ctx, FILE *f)
{
	(void)ctx;
	return isatty(fileno(f)) == 1;
}

void ps_posix_rehearse_env(struct ps_app_env *env)
{
	env->list_stores = list_stores;
	env->open_rehearsal = open_rehearsal;
	env->parallel = parallel;
	env->cpu_count = cpu_count;
	env->is_terminal = is_terminal;
	env->list_reports = list_reports;
}
