/*
 * POSIX implementation of the system port.
 */
#include "ps_posix.h"

#include <errno.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../core/ps_app.h"
#include "../../core/ps_buf.h"
#include "../../core/ps_error.h"
#include "../../fakemapi/ps_fakestore.h"
#include "../../fakemapi/ps_hive.h"

/* A simulated process (fake store, --simulate-running). */
typedef struct sim_process {
	char *name;
	long exit_after;     /* simulated seconds; -1 = runs on */
	int close_accept;    /* exits when asked to close */
	int gone;
} sim_process;

typedef struct posix_system {
	ps_system base;
	ps_policy_fn policy;
	void *policy_ctx;
	sim_process *procs;
	size_t nprocs;
	int simulated;       /* simulated clock and processes */
	int64_t start;       /* simulated clock: start and elapsed */
	int64_t elapsed;
	int rehearsal;       /* reads only: no writes, no known folders */
	char *drive_c;       /* a rehearsal's drive C: (its input's
	                        NAME.drive_c folder), or NULL: none */
} posix_system;

static posix_system *px_of(ps_system *s)
{
	return (posix_system *)s;
}

/* Every file profswitch replaces (the store, reports, the local XML) is
 * replaced only when it is not a symbolic link. */
#define STORE_LINK_REFUSED "is a symbolic link; profswitch refuses links " \
	"for the store so that a link cannot redirect the write"

static int native_read_file(const char *path, const char *shown, size_t max,
			    uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, error = 0;

	/* O_NOFOLLOW: a store or configuration is never read through a
	 * symbolic link someone else may have planted.  O_NONBLOCK: a FIFO
	 * put in its place does not hang the open (it is refused below as
	 * not a regular file; reads of a regular file ignore the flag). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		return ps_error_setc(PS_EIO, "%s: is a symbolic link; "
				     "profswitch refuses links for the store "
				     "and its inputs so that a link cannot "
				     "redirect what it reads or writes; give "
				     "the file itself", shown);
	if (fd < 0)
		return ps_error_setc(errno == ENOENT ? PS_ENOTFOUND : PS_EIO,
				     "%s: cannot open: %s", shown,
				     strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		error = ps_error_setc(PS_EIO, "%s: not a regular file", shown);
		goto done;
	}
	if ((uintmax_t)st.st_size > max) {
		error = ps_error_setc(PS_ELIMIT,
			"%s: %jd bytes is more than the %zu allowed", shown,
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
				shown, n < 0 ? strerror(errno) : "short file");
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

/* Make a rename or unlink durable: fsync the folder (best effort). */
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

#define TMP_MARK ".profswitch-"

/*
 * Temporaries a killed run left beside `path`: named PATH.profswitch-PID.
 * XXXXXX by native_write_file, owned by a process that no longer exists.
 * Only that exact pattern is touched, and only in the target's folder.
 */
static void remove_stale_temps(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *dir = slash ? ps_strndup(path, slash == path ? 1 :
				       (size_t)(slash - path))
			  : ps_strdup(".");
	size_t blen = strlen(base), mlen = strlen(TMP_MARK);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		const char *p = e->d_name;
		char *end;
		long pid;
		ps_buf full = PS_BUF_INIT;

		if (strncmp(p, base, blen) || strncmp(p + blen, TMP_MARK, mlen))
			continue;
		p += blen + mlen;
		pid = strtol(p, &end, 10);
		if (end == p || pid <= 0 || *end != '.' || strlen(end) != 7 ||
		    pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;       /* its writer may still be at work */
		if (ps_buf_printf(&full, "%s/%s", dir, e->d_name) == 0)
			unlink(full.ptr);
		ps_buf_free(&full);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* Write a temp file beside the target, fsync, rename over it.  The temp
 * is named after the target and this process, so that one a killed run
 * left is recognised and removed by the next write (remove_stale_temps). */
static int native_write_file(const char *path, const char *shown,
			     const void *data, size_t len, int mode)
{
	ps_buf tmp = PS_BUF_INIT;
	struct stat st;
	int fd = -1, error = 0;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return ps_error_setc(PS_EIO, "%s: " STORE_LINK_REFUSED,
				     shown);
	remove_stale_temps(path);
	if (ps_buf_printf(&tmp, "%s" TMP_MARK "%ld.XXXXXX", path,
			  (long)getpid()) < 0)
		return PS_ENOMEM;
	fd = mkstemp(tmp.ptr);
	if (fd < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot create a temporary "
				      "file beside it: %s", shown,
				      strerror(errno));
		goto done;
	}
	/* mode < 0: a replaced file keeps its mode (a new one is 0600);
	 * else these bits, whatever the umask (a report, a log). */
	if (mode >= 0 && fchmod(fd, (mode_t)mode & 0777) < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot set its mode: %s",
				      shown, strerror(errno));
		goto done;
	}
	if (mode < 0 && stat(path, &st) == 0 &&
	    fchmod(fd, st.st_mode & 07777) < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot keep its mode: %s",
				      shown, strerror(errno));
		goto done;
	}
	/* A user's NTUSER.DAT or export updated by an administrator stays
	 * the user's. */
	if (stat(path, &st) == 0 && (st.st_uid != geteuid() ||
	    st.st_gid != getegid()) && fchown(fd, st.st_uid, st.st_gid) < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot keep its owner "
				      "(%ju:%ju): %s", shown,
				      (uintmax_t)st.st_uid,
				      (uintmax_t)st.st_gid, strerror(errno));
		goto done;
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		error = ps_error_setc(PS_EIO, "%s: write failed: %s", shown,
				      strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		error = ps_error_setc(PS_EIO, "%s: write failed: %s", shown,
				      strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot replace: %s", shown,
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

/*
 * The log: appended to a regular file only.  O_NOFOLLOW: profile text is
 * never appended wherever a planted symbolic link points.  O_NONBLOCK: a
 * FIFO (or a device) put there does not hang the run while it holds the
 * store lock; it is refused as not a regular file, and the flag is
 * cleared again for the writes.  The caller falls back to the local log
 * folder (docs/guards.md).
 */
static int native_append_file(const char *path, const char *shown,
			      const void *data, size_t len, int mode)
{
	struct stat st;
	int fd, flags, error = 0;
	const int how = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
			O_NONBLOCK;

	/* mode >= 0: a file this call creates gets exactly these bits
	 * (O_EXCL tells that it was created here). */
	fd = open(path, how | O_CREAT | O_EXCL, 0600);
	if (fd >= 0 && mode >= 0 && fchmod(fd, (mode_t)mode & 0777) < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot set its mode: %s",
				      shown, strerror(errno));
		goto done;
	}
	if (fd < 0 && errno == EEXIST)
		fd = open(path, how);
	if (fd < 0 && errno == ELOOP)
		return ps_error_setc(PS_EIO, "%s: is a symbolic link; "
				     "profswitch refuses to append its log "
				     "through a link, which could point "
				     "anywhere", shown);
	/* a FIFO with no reader, or a socket */
	if (fd < 0 && errno == ENXIO)
		return ps_error_setc(PS_EIO, "%s: not a regular file",
				     shown);
	if (fd < 0)
		return ps_error_setc(PS_EIO, "%s: cannot open for append: %s",
				     shown, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		error = ps_error_setc(PS_EIO, "%s: not a regular file",
				      shown);
		goto done;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		error = ps_error_setc(PS_EIO, "%s: cannot open for append: %s",
				      shown, strerror(errno));
		goto done;
	}
	if (write_all(fd, data, len) < 0)
		error = ps_error_setc(PS_EIO, "%s: write failed: %s", shown,
				      strerror(errno));
done:
	close(fd);
	return error;
}

/* ---- Windows paths (system port v3) ------------------------------------ */

/*
 * A path that starts with a drive ("C:\...", "c:/...") names a file as the
 * user's Windows sees it.  Drive C: is the folder $PROFSWITCH_DRIVE_C, the
 * way Wine keeps drive_c: "C:\Users\alice\x.xml" is
 * "$PROFSWITCH_DRIVE_C/Users/alice/x.xml" (names stay case-sensitive).
 * Every other path is native and used as it is.
 */
typedef struct mapped {
	char *real;          /* the native path */
	char *shown;         /* for messages: "C:\x (/drive/x)" or native */
} mapped;

static void mapped_free(mapped *m)
{
	free(m->real);
	free(m->shown);
	m->real = m->shown = NULL;
}

/* 'A'..'Z' for "X:\" or "X:/", else 0. */
static int drive_letter(const char *path)
{
	int c = path[0] | 0x20;

	if (c < 'a' || c > 'z' || path[1] != ':' ||
	    (path[2] != '\\' && path[2] != '/'))
		return 0;
	return c - 'a' + 'A';
}

/* mkdir -p of the folders above the file m->real, below the drive root
 * (which must exist: it is the drive). */
static int make_parents(mapped *m, size_t rootlen)
{
	struct stat st;
	char *slash;
	int error = 0;

	if (!m->real[rootlen])
		return 0;       /* "C:\" itself */
	m->real[rootlen] = '\0';
	if (stat(m->real, &st) < 0 || !S_ISDIR(st.st_mode))
		error = ps_error_setc(PS_ENOTFOUND, "%s: drive C: is the "
				      "folder %s (PROFSWITCH_DRIVE_C), which "
				      "does not exist", m->shown, m->real);
	m->real[rootlen] = '/';
	for (slash = strchr(m->real + rootlen + 1, '/'); slash && !error;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(m->real, 0700) < 0 && errno != EEXIST)
			error = ps_error_setc(PS_EIO, "%s: cannot create the "
					      "folder %s: %s", m->shown,
					      m->real, strerror(errno));
		*slash = '/';
	}
	return error;
}

/* The native path of path; create_dirs: make the missing folders above a
 * file on drive C:.  On failure *m holds nothing. */
static int map_path(ps_system *sys, const char *path, int create_dirs,
		    mapped *m)
{
	const char *root, *p;
	ps_buf b = PS_BUF_INIT, shown = PS_BUF_INIT;
	size_t rootlen;
	int drive = drive_letter(path), error;

	m->real = m->shown = NULL;
	if (!drive) {
		m->real = ps_strdup(path);
		m->shown = ps_strdup(path);
		if (!m->real || !m->shown) {
			mapped_free(m);
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		return 0;
	}
	if (drive != 'C')
		return ps_error_setc(PS_ENOTFOUND, "%s: no drive %c: on this "
				     "system (only C:, kept in the folder "
				     "PROFSWITCH_DRIVE_C names)", path, drive);
	/* A rehearsal input has its own drive C: or none. */
	root = px_of(sys)->rehearsal ? px_of(sys)->drive_c
				     : getenv("PROFSWITCH_DRIVE_C");
	if (!root || !*root)
		return ps_error_setc(PS_ENOTFOUND, "%s: no drive C: on this "
				     "system (%s)", path, px_of(sys)->rehearsal
				     ? "no NAME.drive_c folder beside the "
				       "input" : "set PROFSWITCH_DRIVE_C");
	rootlen = strlen(root);
	while (rootlen > 1 && root[rootlen - 1] == '/')
		rootlen--;
	ps_buf_put(&b, root, rootlen);
	/* One '/' per component; repeated separators fold into one. */
	for (p = path + 3; *p;) {
		size_t n = strcspn(p, "\\/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			ps_buf_free(&b);
			return ps_error_setc(PS_ERROR, "%s: a '..' component "
					     "is refused on drive C:; give "
					     "the path without it", path);
		}
		if (n) {
			ps_buf_putc(&b, '/');
			ps_buf_put(&b, p, n);
		}
		p += n;
		p += strspn(p, "\\/");
	}
	ps_buf_printf(&shown, "%s (%s)", path, b.ptr);
	if (ps_buf_check(&b) < 0 || ps_buf_check(&shown) < 0) {
		ps_buf_free(&b);
		ps_buf_free(&shown);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	m->real = ps_buf_detach(&b);
	m->shown = ps_buf_detach(&shown);
	if (create_dirs && (error = make_parents(m, rootlen)) < 0) {
		mapped_free(m);
		return error;
	}
	return 0;
}

static int px_read_file(ps_system *sys, const char *path, size_t max,
			uint8_t **data, size_t *len)
{
	mapped m;
	int error = map_path(sys, path, 0, &m);

	(void)sys;
	if (error < 0)
		return error;
	error = native_read_file(m.real, m.shown, max, data, len);
	mapped_free(&m);
	return error;
}

static int px_write_file(ps_system *sys, const char *path, const void *data,
			 size_t len)
{
	mapped m;
	int error;

	if (px_of(sys)->rehearsal)
		return ps_error_setc(PS_EIO, "%s: a rehearsal writes nothing",
				     path);
	error = map_path(sys, path, 1, &m);
	if (error < 0)
		return error;
	error = native_write_file(m.real, m.shown, data, len, -1);
	mapped_free(&m);
	return error;
}

static int px_append_file(ps_system *sys, const char *path, const void *data,
			  size_t len)
{
	mapped m;
	int error;

	if (px_of(sys)->rehearsal)
		return ps_error_setc(PS_EIO, "%s: a rehearsal writes nothing",
				     path);
	error = map_path(sys, path, 1, &m);
	if (error < 0)
		return error;
	error = native_append_file(m.real, m.shown, data, len, -1);
	mapped_free(&m);
	return error;
}

/* Write (or append to) a file with these permission bits, through the
 * drive mapping; a rehearsal writes nothing. */
static int px_put_file(ps_system *sys, const char *path, const void *data,
		       size_t len, unsigned mode, int append)
{
	mapped m;
	int error;

	if (px_of(sys)->rehearsal)
		return ps_error_setc(PS_EIO, "%s: a rehearsal writes nothing",
				     path);
	error = map_path(sys, path, 1, &m);
	if (error < 0)
		return error;
	error = append ? native_append_file(m.real, m.shown, data, len,
					    (int)(mode & 0777))
		       : native_write_file(m.real, m.shown, data, len,
					   (int)(mode & 0777));
	mapped_free(&m);
	return error;
}

static int px_write_file_mode(ps_system *sys, const char *path,
			      const void *data, size_t len, unsigned mode)
{
	return px_put_file(sys, path, data, len, mode, 0);
}

static int px_append_file_mode(ps_system *sys, const char *path,
			       const void *data, size_t len, unsigned mode)
{
	return px_put_file(sys, path, data, len, mode, 1);
}

/* /proc/self/exe's folder (Linux). */
static int px_exe_dir(ps_system *sys, char **out)
{
	char buf[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	(void)sys;
	if (n <= 0 || (size_t)n >= sizeof(buf) - 1)
		return ps_error_setc(PS_ENOTFOUND, "the folder of the "
				     "executable is not known");
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return ps_error_setc(PS_ENOTFOUND, "the folder of the "
				     "executable is not known");
	*slash = '\0';
	*out = ps_strdup(slash == buf ? "/" : buf);
	return *out ? 0 : PS_ENOMEM;
}

static int px_known_folder(ps_system *sys, const char *name, char **out)
{
	const char *v;

	if (px_of(sys)->rehearsal)
		return ps_error_setc(PS_ENOTFOUND, "%s: no known folders in a "
				     "rehearsal", name);
	if (ps_strcasecmp(name, "LocalAppData"))
		return ps_error_setc(PS_ENOTFOUND, "%s: no such known folder "
				     "here (only LocalAppData)", name);
	v = getenv("LOCALAPPDATA");
	if (!v || !*v)
		return ps_error_setc(PS_ENOTFOUND, "LocalAppData: unknown "
				     "(set LOCALAPPDATA, e.g. to "
				     "C:\\Users\\NAME\\AppData\\Local)");
	*out = ps_strdup(v);
	return *out ? 0 : PS_ENOMEM;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int px_list_dir(ps_system *sys, const char *path, ps_strlist *out)
{
	ps_strlist l = PS_STRLIST_INIT;
	mapped m;
	DIR *d = NULL;
	int fd, error = map_path(sys, path, 0, &m);

	(void)sys;
	if (error < 0)
		return error;
	fd = open(m.real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		error = errno == ENOENT || errno == ENOTDIR
			? ps_error_setc(PS_ENOTFOUND, "%s: no such folder",
					m.shown)
			: ps_error_setc(PS_EIO, "%s: cannot list: %s",
					m.shown, strerror(errno));
		goto done;
	}
	d = fdopendir(fd);
	if (!d) {
		error = ps_error_setc(PS_EIO, "%s: cannot list: %s", m.shown,
				      strerror(errno));
		close(fd);
		goto done;
	}
	for (;;) {
		struct dirent *de;
		struct stat st;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				error = ps_error_setc(PS_EIO, "%s: cannot "
						      "list: %s", m.shown,
						      strerror(errno));
			break;
		}
		/* Regular files only: no folders, no symbolic links. */
		if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (ps_strlist_add(&l, de->d_name) < 0) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			break;
		}
	}
	if (!error) {
		if (l.n > 1)
			qsort(l.v, l.n, sizeof(*l.v), cmp_names);
		*out = l;
		l.v = NULL;
		l.n = l.cap = 0;
	}
done:
	if (d)
		closedir(d);
	ps_strlist_free(&l);
	mapped_free(&m);
	return error;
}

static int px_delete_file(ps_system *sys, const char *path)
{
	mapped m;
	int error;

	if (px_of(sys)->rehearsal)
		return ps_error_setc(PS_EIO, "%s: a rehearsal deletes nothing",
				     path);
	error = map_path(sys, path, 0, &m);
	if (error < 0)
		return error;
	if (unlink(m.real) < 0)
		error = errno == ENOENT || errno == ENOTDIR
			? ps_error_setc(PS_ENOTFOUND, "%s: no such file",
					m.shown)
			: ps_error_setc(PS_EIO, "%s: cannot delete: %s",
					m.shown, strerror(errno));
	else
		sync_parent(m.real);
	mapped_free(&m);
	return error;
}

static int px_sha256(ps_system *sys, const void *data, size_t len,
		     uint8_t out[32])
{
	unsigned int n = 0;

	(void)sys;
	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != 32)
		return ps_error_setc(PS_ERROR, "SHA-256 failed (libcrypto)");
	return 0;
}

/* ---- ranged reads (system port v5) ------------------------------------- */

typedef struct read_handle {
	int fd;
	uint64_t size;
	char *shown;
} read_handle;

static int px_open_read(ps_system *sys, const char *path, void **handle,
			uint64_t *size)
{
	read_handle *h = NULL;
	struct stat st;
	mapped m;
	int fd, error = map_path(sys, path, 0, &m);

	(void)sys;
	if (error < 0)
		return error;
	/* As native_read_file: never through a symbolic link. */
	fd = open(m.real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP) {
		error = ps_error_setc(PS_EIO, "%s: is a symbolic link; give "
				      "the file itself", m.shown);
		goto done;
	}
	if (fd < 0) {
		error = ps_error_setc(errno == ENOENT ? PS_ENOTFOUND : PS_EIO,
				      "%s: cannot open: %s", m.shown,
				      strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		error = ps_error_setc(PS_EIO, "%s: not a regular file",
				      m.shown);
		goto done;
	}
	h = malloc(sizeof(*h));
	if (!h) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	h->fd = fd;
	h->size = (uint64_t)st.st_size;
	h->shown = m.shown;
	m.shown = NULL;
	fd = -1;
	*handle = h;
	*size = h->size;
done:
	if (fd >= 0)
		close(fd);
	mapped_free(&m);
	return error;
}

static int px_read_at(ps_system *sys, void *handle, uint64_t off, void *buf,
		      size_t len)
{
	read_handle *h = handle;
	char *p = buf;

	(void)sys;
	if (off > (uint64_t)INT64_MAX - len)
		return ps_error_setc(PS_EIO, "%s: read failed: offset %llu "
				     "out of range", h->shown,
				     (unsigned long long)off);
	while (len) {
		ssize_t n = pread(h->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ps_error_setc(PS_EIO, "%s: read failed: %s",
					     h->shown, n < 0 ? strerror(errno)
					     : "short file (truncated?)");
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static void px_close_read(ps_system *sys, void *handle)
{
	read_handle *h = handle;

	(void)sys;
	close(h->fd);
	free(h->shown);
	free(h);
}

static int64_t px_now(ps_system *sys)
{
	posix_system *px = px_of(sys);

	if (px->simulated)
		return px->start + px->elapsed;
	return (int64_t)time(NULL);
}

static void px_sleep(ps_system *sys, unsigned seconds)
{
	posix_system *px = px_of(sys);
	struct timespec ts;

	if (px->simulated) {
		px->elapsed += seconds;
		return;
	}
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = 0;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int running(const posix_system *px, const sim_process *p)
{
	return !p->gone && (p->exit_after < 0 || px->elapsed < p->exit_after);
}

static int px_close_process(ps_system *sys, const char *name)
{
	posix_system *px = px_of(sys);
	size_t i;
	int found = 0;

	for (i = 0; i < px->nprocs; i++) {
		sim_process *p = &px->procs[i];

		if (!running(px, p) || ps_strcasecmp(p->name, name))
			continue;
		found = 1;
		if (p->close_accept)
			p->gone = 1;
	}
	return found ? 0 : PS_ENOTFOUND;
}

typedef struct lock_token {
	int fd;
} lock_token;

/*
 * The store lock (docs/guards.md, "One run at a time") is an flock on a
 * lock file beside the store, "DIR/.NAME.profswitch-lock", never on the
 * store itself: every run replaces the store by rename, so a lock on the
 * store's inode is a lock on a file that is soon gone, and a run starting
 * after the rename would lock the new file while another still held the
 * old one; both would write and one update would be lost.  The lock file
 * is created empty (O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600; owned like
 * the store when an administrator's run creates it), only ever opened for
 * reading, and never deleted, since another run may be waiting on it.
 */
static char *lock_file_of(const char *real)
{
	const char *slash = strrchr(real, '/');
	ps_buf b = PS_BUF_INIT;

	if (slash)
		ps_buf_printf(&b, "%.*s/.%s.profswitch-lock",
			      (int)(slash - real), real, slash + 1);
	else
		ps_buf_printf(&b, ".%s.profswitch-lock", real);
	if (ps_buf_check(&b) < 0) {
		ps_buf_free(&b);
		return NULL;
	}
	return ps_buf_detach(&b);
}

static int open_lock_file(const char *lp, const char *shown,
			  const struct stat *store)
{
	struct stat st;
	int fd = -1, tries;

	for (tries = 0; fd < 0 && tries < 3; tries++) {
		fd = open(lp, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			  O_NONBLOCK | O_CLOEXEC, 0600);
		if (fd >= 0) {
			/* An administrator's run leaves it the user's, as
			 * it leaves the store (best effort). */
			if (store->st_uid != geteuid() ||
			    store->st_gid != getegid())
				(void)!fchown(fd, store->st_uid,
					      store->st_gid);
			break;
		}
		if (errno != EEXIST)
			break;
		/* There already: open it (gone again meanwhile: retry). */
		fd = open(lp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			break;
	}
	if (fd < 0 && errno == ELOOP)
		return ps_error_setc(PS_EIO, "%s: its lock file %s is a "
				     "symbolic link; refusing it", shown, lp);
	if (fd < 0)
		return ps_error_setc(PS_EIO, "%s: cannot open its lock file "
				     "%s: %s", shown, lp, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ps_error_setc(PS_EIO, "%s: its lock file %s is not a "
				     "regular file", shown, lp);
	}
	return fd;
}

static int px_lock(ps_system *sys, const char *key, void **token)
{
	lock_token *t = NULL;
	struct stat st;
	char *lp = NULL;
	mapped m;
	int fd = -1, error = map_path(sys, key, 0, &m);

	(void)sys;
	if (error < 0)
		return error;
	if (lstat(m.real, &st) < 0) {
		error = ps_error_setc(errno == ENOENT ? PS_ENOTFOUND : PS_EIO,
				      "%s: cannot open: %s", m.shown,
				      strerror(errno));
		goto done;
	}
	if (S_ISLNK(st.st_mode)) {
		error = ps_error_setc(PS_EIO, "%s: " STORE_LINK_REFUSED,
				      m.shown);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = ps_error_setc(PS_EIO, "%s: not a regular file",
				      m.shown);
		goto done;
	}
	lp = lock_file_of(m.real);
	if (!lp) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	fd = open_lock_file(lp, m.shown, &st);
	if (fd < 0) {
		error = fd;
		fd = -1;
		goto done;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int busy = errno == EWOULDBLOCK;

		error = ps_error_setc(busy ? PS_ELOCKED : PS_EIO, "%s: %s",
				      m.shown, busy ? "another profswitch is "
				      "working on it" : strerror(errno));
		goto done;
	}
	t = malloc(sizeof(*t));
	if (!t) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	t->fd = fd;
	fd = -1;
	*token = t;
done:
	if (fd >= 0)
		close(fd);
	free(lp);
	mapped_free(&m);
	return error;
}

static void px_unlock(ps_system *sys, void *token)
{
	lock_token *t = token;

	(void)sys;
	flock(t->fd, LOCK_UN);
	close(t->fd);
	free(t);
}

static int px_start_process(ps_system *sys, const char *command, char **how)
{
	(void)sys;
	(void)command;
	/* The Linux build works on exports: it never starts Outlook. */
	*how = ps_strdup("recorded, not executed (fake store)");
	return *how ? 0 : PS_ENOMEM;
}

static int make_dir(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

static int px_local_log_dir(ps_system *sys, char **out)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	ps_buf b = PS_BUF_INIT;
	int error = 0;

	(void)sys;
	if (state && *state) {
		ps_buf_puts(&b, state);
		if (make_dir(b.ptr) < 0)
			error = -1;
	} else if (home && *home) {
		ps_buf_printf(&b, "%s/.local", home);
		if (make_dir(b.ptr) < 0)
			error = -1;
		ps_buf_puts(&b, "/state");
		if (!error && make_dir(b.ptr) < 0)
			error = -1;
	} else {
		ps_buf_free(&b);
		return ps_error_setc(PS_ENOTFOUND, "neither XDG_STATE_HOME "
				     "nor HOME is set");
	}
	ps_buf_puts(&b, "/profswitch");
	if (!error && make_dir(b.ptr) < 0)
		error = -1;
	if (error || ps_buf_check(&b)) {
		error = ps_error_setc(PS_EIO, "%s: cannot create: %s",
				      b.ptr ? b.ptr : "?", strerror(errno));
		ps_buf_free(&b);
		return error;
	}
	*out = ps_buf_detach(&b);
	return 0;
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

	for (i = 0; i < px->nprocs; i++) {
		if (!running(px, &px->procs[i]))
			continue;
		if (ps_strlist_add(&l, px->procs[i].name) < 0) {
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

static void free_procs(posix_system *px)
{
	size_t i;

	for (i = 0; i < px->nprocs; i++)
		free(px->procs[i].name);
	free(px->procs);
	px->procs = NULL;
	px->nprocs = 0;
}

static void px_free(ps_system *sys)
{
	posix_system *px = px_of(sys);

	free_procs(px);
	free(px->drive_c);
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
	px_sleep,
	px_close_process,
	px_lock,
	px_unlock,
	px_start_process,
	px_local_log_dir,
	px_known_folder,
	px_list_dir,
	px_delete_file,
	px_sha256,
	px_open_read,
	px_read_at,
	px_close_read,
	px_write_file_mode,
	px_append_file_mode,
	px_exe_dir,
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

void ps_posix_set_rehearsal(ps_system *sys)
{
	px_of(sys)->rehearsal = 1;
}

int ps_posix_set_drive_c(ps_system *sys, const char *dir)
{
	char *copy = dir ? ps_strdup(dir) : NULL;

	if (dir && !copy)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	free(px_of(sys)->drive_c);
	px_of(sys)->drive_c = copy;
	return 0;
}

void ps_posix_set_policy_source(ps_system *sys, ps_policy_fn fn, void *ctx)
{
	px_of(sys)->policy = fn;
	px_of(sys)->policy_ctx = ctx;
}

/* NAME[:exit-after=N][:close=accept|refuse] */
static int parse_spec(const char *spec, sim_process *p)
{
	const char *colon = strchr(spec, ':');
	const char *opt;
	char *end;

	memset(p, 0, sizeof(*p));
	p->exit_after = -1;
	p->name = ps_strndup(spec, colon ? (size_t)(colon - spec)
					 : strlen(spec));
	if (!p->name)
		return PS_ENOMEM;
	if (!*p->name)
		goto bad;
	for (opt = colon; opt; opt = strchr(opt + 1, ':')) {
		const char *o = opt + 1;

		if (!strncmp(o, "exit-after=", 11)) {
			errno = 0;
			p->exit_after = strtol(o + 11, &end, 10);
			if (errno || end == o + 11 || p->exit_after < 0 ||
			    (*end && *end != ':'))
				goto bad;
		} else if (!strncmp(o, "close=accept", 12) &&
			   (!o[12] || o[12] == ':')) {
			p->close_accept = 1;
		} else if (!strncmp(o, "close=refuse", 12) &&
			   (!o[12] || o[12] == ':')) {
			p->close_accept = 0;
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	free(p->name);
	p->name = NULL;
	return ps_error_setc(PS_EFORMAT, "--simulate-running '%s': expected "
			     "NAME[:exit-after=SECONDS][:close=accept|refuse]",
			     spec);
}

int ps_posix_set_processes(ps_system *sys, const ps_strlist *names)
{
	posix_system *px = px_of(sys);
	sim_process *v;
	size_t i;
	int error;

	free_procs(px);
	v = calloc(names->n + 1, sizeof(*v));
	if (!v)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; i < names->n; i++) {
		error = parse_spec(names->v[i], &v[i]);
		if (error < 0) {
			while (i-- > 0)
				free(v[i].name);
			free(v);
			return error;
		}
	}
	px->procs = v;
	px->nprocs = names->n;
	/* Simulated processes come with a simulated clock. */
	px->simulated = names->n > 0;
	px->start = (int64_t)time(NULL);
	px->elapsed = 0;
	return 0;
}

/* The fake store over --store; its policies come from the same file. */
static int open_fake(ps_system *sys, const char *path, int for_writing,
		     ps_store **out, char **warning)
{
	int error;

	if (!path)
		return ps_error_setc(PS_ERROR, "no store: on Linux give "
				     "--store with a .reg export");
	error = ps_fakestore_open(out, sys, path);
	if (error < 0)
		return error;
	/* What may not be written is refused before anything starts. */
	if (for_writing)
		error = ps_hive_check_writable(ps_fakestore_tree(*out), path);
	if (error < 0) {
		ps_store_free(*out);
		*out = NULL;
		return error;
	}
	if (warning)
		*warning = ps_hive_unclean_warning(ps_fakestore_tree(*out),
						   path);
	ps_posix_set_policy_source(sys, ps_fakestore_get_policy, *out);
	return 0;
}

static int env_open_store(void *ctx, const char *path, ps_store **out)
{
	return open_fake(ctx, path, 1, out, NULL);
}

static int env_open_store_read(void *ctx, const char *path, ps_store **out,
			       char **warning)
{
	*warning = NULL;
	return open_fake(ctx, path, 0, out, warning);
}

/* Group- or world-writable (root's own group aside). */
static int env_writable_by(void *ctx, const char *path, char **who)
{
	struct stat st;
	char buf[64];

	(void)ctx;
	*who = NULL;
	if (stat(path, &st) < 0)
		return PS_ERROR;
	if (st.st_mode & S_IWOTH)
		*who = ps_strdup("everyone (mode o+w)");
	else if ((st.st_mode & S_IWGRP) && st.st_gid != 0) {
		snprintf(buf, sizeof(buf), "group %ju (mode g+w)",
			 (uintmax_t)st.st_gid);
		*who = ps_strdup(buf);
	}
	return 0;
}

static int env_simulate_running(void *ctx, const ps_strlist *names)
{
	return ps_posix_set_processes(ctx, names);
}

static int env_open_http(void *ctx, const char *ca_file, ps_http **out)
{
	(void)ctx;
	return ps_posix_http_new(ca_file, out);
}

static int env_open_xml(void *ctx, ps_xml **out)
{
	(void)ctx;
	return ps_posix_xml_new(out);
}

void ps_posix_app_env(struct ps_app_env *env, ps_system *sys, FILE *out,
		      FILE *err)
{
	memset(env, 0, sizeof(*env));
	env->sys = sys;
	env->open_store = env_open_store;
	env->open_store_read = env_open_store_read;
	env->simulate_running = env_simulate_running;
	env->open_http = env_open_http;
	env->open_xml = env_open_xml;
	env->writable_by = env_writable_by;
	ps_posix_rehearse_env(env);
	env->ctx = sys;
	env->out = out;
	env->err = err;
}
