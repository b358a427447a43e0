/*
 * POSIX implementation of the system port.
 */
#include "ps_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../core/ps_buf.h"
#include "../../core/ps_error.h"

typedef struct posix_system {
	ps_system base;
	ps_policy_fn policy;
	void *policy_ctx;
	ps_strlist processes;
} posix_system;

static posix_system *px_of(ps_system *s)
{
	return (posix_system *)s;
}

static int px_read_file(ps_system *sys, const char *path, size_t max,
			uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, error = 0;

	(void)sys;
	/* O_NOFOLLOW: a store or configuration is never read through a
	 * symbolic link someone else may have planted. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP)
		return ps_error_setc(PS_EIO, "%s: is a symbolic link; give "
				     "the file itself", path);
	if (fd < 0)
		return ps_error_setc(errno == ENOENT ? PS_ENOTFOUND : PS_EIO,
				     "%s: cannot open: %s", path,
				     strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		error = ps_error_setc(PS_EIO, "%s: not a regular file", path);
		goto done;
	}
	if ((uintmax_t)st.st_size > max) {
		error = ps_error_setc(PS_ELIMIT,
			"%s: %jd bytes is more than the %zu allowed", path,
			(intmax_t)st.st_size, max);
		goto done;
	}
	buf = malloc((size_t)st.st_size + 2);
	if (!buf) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error = ps_error_setc(PS_EIO, "%s: read failed: %s",
				path, n < 0 ? strerror(errno) : "short file");
			goto done;
		}
		got += (size_t)n;
	}
	buf[got] = buf[got + 1] = 0;
	*data = buf;
	*len = got;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return error;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make the rename durable: fsync the folder (best effort). */
static void sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? ps_strndup(path, slash == path ? 1 :
				       (size_t)(slash - path))
			  : ps_strdup(".");
	int fd;

	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Write a temp file beside the target, fsync, rename over it. */
static int px_write_file(ps_system *sys, const char *path, const void *data,
			 size_t len)
{
	ps_buf tmp = PS_BUF_INIT;
	struct stat st;
	int fd = -1, error = 0;

	(void)sys;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return ps_error_setc(PS_EIO, "%s: is a symbolic link; refusing "
				     "to replace it", path);
	if (ps_buf_printf(&tmp, "%s.XXXXXX", path) < 0)
		return PS_ENOMEM;
	fd = mkstemp(tmp.ptr);
	if (fd < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot create a temporary "
				      "file beside it: %s", path,
				      strerror(errno));
		goto done;
	}
	if (stat(path, &st) == 0 && fchmod(fd, st.st_mode & 07777) < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot keep its mode: %s",
				      path, strerror(errno));
		goto done;
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		error = ps_error_setc(PS_EIO, "%s: write failed: %s", path,
				      strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		error = ps_error_setc(PS_EIO, "%s: write failed: %s", path,
				      strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot replace: %s", path,
				      strerror(errno));
		goto done;
	}
	sync_parent(path);
done:
	if (fd >= 0)
		close(fd);
	if (error && tmp.ptr)
		unlink(tmp.ptr);
	ps_buf_free(&tmp);
	return error;
}

static int px_append_file(ps_system *sys, const char *path, const void *data,
			  size_t len)
{
	int fd, error = 0;

	(void)sys;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ps_error_setc(PS_EIO, "%s: cannot open for append: %s",
				     path, strerror(errno));
	if (write_all(fd, data, len) < 0)
		error = ps_error_setc(PS_EIO, "%s: write failed: %s", path,
				      strerror(errno));
	close(fd);
	return error;
}

static int64_t px_now(ps_system *sys)
{
	(void)sys;
	return (int64_t)time(NULL);
}

static int px_get_env(ps_system *sys, const char *name, char **out)
{
	const char *v = getenv(name);

	(void)sys;
	if (!v)
		return PS_ENOTFOUND;
	*out = ps_strdup(v);
	return *out ? 0 : PS_ENOMEM;
}

static int px_host_name(ps_system *sys, char **out)
{
	char name[256];

	(void)sys;
	if (gethostname(name, sizeof(name)) < 0)
		return ps_error_setc(PS_EIO, "gethostname: %s",
				     strerror(errno));
	name[sizeof(name) - 1] = '\0';
	*out = ps_strdup(name);
	return *out ? 0 : PS_ENOMEM;
}

static int px_user_name(ps_system *sys, char **out)
{
	struct passwd *pw = getpwuid(getuid());
	const char *name = pw ? pw->pw_name : getenv("USER");

	(void)sys;
	*out = ps_strdup(name ? name : "");
	return *out ? 0 : PS_ENOMEM;
}

static int px_list_processes(ps_system *sys, ps_strlist *out)
{
	posix_system *px = px_of(sys);
	ps_strlist l = PS_STRLIST_INIT;
	size_t i;

	for (i = 0; i < px->processes.n; i++) {
		if (ps_strlist_add(&l, px->processes.v[i]) < 0) {
			ps_strlist_free(&l);
			return PS_ENOMEM;
		}
	}
	*out = l;
	return 0;
}

static int px_get_policy(ps_system *sys, const char *key, const char *value,
			 uint32_t *type, uint8_t **data, size_t *len)
{
	posix_system *px = px_of(sys);

	if (!px->policy)
		return PS_ENOTFOUND;
	return px->policy(px->policy_ctx, key, value, type, data, len);
}

static void px_free(ps_system *sys)
{
	posix_system *px = px_of(sys);

	ps_strlist_free(&px->processes);
	free(px);
}

static const ps_system_ops posix_ops = {
	PS_SYSTEM_OPS_VERSION,
	px_read_file,
	px_write_file,
	px_append_file,
	px_now,
	px_get_env,
	px_host_name,
	px_user_name,
	px_list_processes,
	px_get_policy,
	px_free,
};

int ps_posix_system_new(ps_system **out)
{
	posix_system *px = calloc(1, sizeof(*px));

	if (!px)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	px->base.ops = &posix_ops;
	*out = &px->base;
	return 0;
}

void ps_posix_set_policy_source(ps_system *sys, ps_policy_fn fn, void *ctx)
{
	px_of(sys)->policy = fn;
	px_of(sys)->policy_ctx = ctx;
}

int ps_posix_set_processes(ps_system *sys, const ps_strlist *names)
{
	posix_system *px = px_of(sys);
	size_t i;

	ps_strlist_free(&px->processes);
	for (i = 0; i < names->n; i++)
		if (ps_strlist_add(&px->processes, names->v[i]) < 0)
			return PS_ENOMEM;
	return 0;
}
