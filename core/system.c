/*
 * The system port's wrapper: the only file that calls ps_system_ops.
 */
#include "ps_system.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"

int ps_sys_read_file(ps_system *sys, const char *path, size_t max,
		     uint8_t **data, size_t *len)
{
	assert(sys && path && data && len);
	return sys->ops->read_file(sys, path, max, data, len);
}

int ps_sys_write_file(ps_system *sys, const char *path, const void *data,
		      size_t len)
{
	assert(sys && path && (data || !len));
	return sys->ops->write_file(sys, path, data, len);
}

int ps_sys_append_file(ps_system *sys, const char *path, const void *data,
		       size_t len)
{
	assert(sys && path && (data || !len));
	return sys->ops->append_file(sys, path, data, len);
}

int64_t ps_sys_now(ps_system *sys)
{
	assert(sys);
	return sys->ops->now(sys);
}

int ps_sys_get_env(ps_system *sys, const char *name, char **out)
{
	assert(sys && name && out);
	return sys->ops->get_env(sys, name, out);
}

int ps_sys_host_name(ps_system *sys, char **out)
{
	assert(sys && out);
	return sys->ops->host_name(sys, out);
}

int ps_sys_user_name(ps_system *sys, char **out)
{
	assert(sys && out);
	return sys->ops->user_name(sys, out);
}

int ps_sys_list_processes(ps_system *sys, ps_strlist *out)
{
	assert(sys && out);
	if (!sys->ops->list_processes)
		return 0;
	return sys->ops->list_processes(sys, out);
}

int ps_sys_get_policy(ps_system *sys, const char *key, const char *value,
		      uint32_t *type, uint8_t **data, size_t *len)
{
	assert(sys && key && value && type && data && len);
	if (!sys->ops->get_policy)
		return PS_ENOTFOUND;
	return sys->ops->get_policy(sys, key, value, type, data, len);
}

void ps_sys_free(ps_system *sys)
{
	if (sys && sys->ops->free)
		sys->ops->free(sys);
}

/* Version-2 methods: a version-1 backend gets safe defaults. */
#define HAS(sys, method) ((sys)->ops->version >= 2 && (sys)->ops->method)

void ps_sys_sleep(ps_system *sys, unsigned seconds)
{
	assert(sys);
	if (HAS(sys, sleep) && seconds)
		sys->ops->sleep(sys, seconds);
}

int ps_sys_close_process(ps_system *sys, const char *name)
{
	assert(sys && name);
	if (!HAS(sys, close_process))
		return PS_ENOTFOUND;
	return sys->ops->close_process(sys, name);
}

int ps_sys_lock(ps_system *sys, const char *key, void **token)
{
	assert(sys && key && token);
	if (!HAS(sys, lock)) {
		*token = NULL;
		return 0;
	}
	return sys->ops->lock(sys, key, token);
}

void ps_sys_unlock(ps_system *sys, void *token)
{
	assert(sys);
	if (token && HAS(sys, unlock))
		sys->ops->unlock(sys, token);
}

int ps_sys_start_process(ps_system *sys, const char *command, char **how)
{
	assert(sys && command && how);
	if (!HAS(sys, start_process))
		return ps_error_setc(PS_ERROR, "starting programs is not "
				     "supported here");
	return sys->ops->start_process(sys, command, how);
}

int ps_sys_local_log_dir(ps_system *sys, char **out)
{
	assert(sys && out);
	if (!HAS(sys, local_log_dir))
		return PS_ENOTFOUND;
	return sys->ops->local_log_dir(sys, out);
}

/* Version-3 methods (Autodiscover files): a backend older than 3 knows no
 * folder and lists nothing. */
#define HAS3(sys, m) ((sys)->ops->version >= 3 && (sys)->ops->m)

int ps_sys_known_folder(ps_system *sys, const char *name, char **out)
{
	assert(sys && name && out);
	if (!HAS3(sys, known_folder))
		return ps_error_setc(PS_ENOTFOUND, "%s: known folders are "
				     "not supported here", name);
	return sys->ops->known_folder(sys, name, out);
}

int ps_sys_list_dir(ps_system *sys, const char *path, ps_strlist *out)
{
	assert(sys && path && out && !out->n);
	if (!HAS3(sys, list_dir))
		return ps_error_setc(PS_ENOTFOUND, "%s: listing folders is "
				     "not supported here", path);
	return sys->ops->list_dir(sys, path, out);
}

/* Not PS_ENOTFOUND: callers take that for "already gone", and a backend
 * that cannot delete has not deleted anything. */
int ps_sys_delete_file(ps_system *sys, const char *path)
{
	assert(sys && path);
	if (!HAS3(sys, delete_file))
		return ps_error_setc(PS_ERROR, "%s: cannot delete files on "
				     "this platform", path);
	return sys->ops->delete_file(sys, path);
}

int ps_sys_sha256(ps_system *sys, const void *data, size_t len,
		  uint8_t out[32])
{
	assert(sys && (data || !len) && out);
	if (sys->ops->version < 4 || !sys->ops->sha256)
		return ps_error_setc(PS_ERROR, "no SHA-256 on this platform");
	return sys->ops->sha256(sys, data, len, out);
}

/* Version-5 methods (ranged reads).  An older backend: the whole file is
 * read once through read_file and served from memory. */
#define HAS5(sys, m) ((sys)->ops->version >= 5 && (sys)->ops->m)

typedef struct whole_file {
	uint8_t *data;
	size_t len;
	char *path;          /* for messages */
} whole_file;

static int has_ranged(ps_system *sys)
{
	return HAS5(sys, open_read) && HAS5(sys, read_at) &&
	       HAS5(sys, close_read);
}

int ps_sys_open_read(ps_system *sys, const char *path, void **handle,
		     uint64_t *size)
{
	whole_file *w;
	int error;

	assert(sys && path && handle && size);
	*handle = NULL;
	if (has_ranged(sys))
		return sys->ops->open_read(sys, path, handle, size);
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = ps_strdup(path))) {
		free(w);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	error = ps_sys_read_file(sys, path, PS_SYS_DEFAULT_READ_MAX, &w->data,
				 &w->len);
	if (error < 0) {
		free(w->path);
		free(w);
		return error;
	}
	*handle = w;
	*size = w->len;
	return 0;
}

int ps_sys_read_at(ps_system *sys, void *handle, uint64_t off, void *buf,
		   size_t len)
{
	whole_file *w = handle;

	assert(sys && handle && (buf || !len));
	if (has_ranged(sys))
		return sys->ops->read_at(sys, handle, off, buf, len);
	if (off > w->len || len > w->len - off)
		return ps_error_setc(PS_EIO, "%s: read failed: %zu bytes at "
				     "%llu are past the end (%zu bytes)",
				     w->path, len, (unsigned long long)off,
				     w->len);
	if (len)
		memcpy(buf, w->data + off, len);
	return 0;
}

void ps_sys_close_read(ps_system *sys, void *handle)
{
	whole_file *w = handle;

	assert(sys);
	if (!handle)
		return;
	if (has_ranged(sys)) {
		sys->ops->close_read(sys, handle);
		return;
	}
	free(w->data);
	free(w->path);
	free(w);
}

/* Version-6 methods (reports and logs others may read, the executable's
 * folder). */
#define HAS6(sys, m) ((sys)->ops->version >= 6 && (sys)->ops->m)

int ps_sys_write_file_mode(ps_system *sys, const char *path,
			   const void *data, size_t len, unsigned mode)
{
	assert(sys && path && (data || !len));
	if (!HAS6(sys, write_file_mode))
		return ps_sys_write_file(sys, path, data, len);
	return sys->ops->write_file_mode(sys, path, data, len, mode);
}

int ps_sys_append_file_mode(ps_system *sys, const char *path,
			    const void *data, size_t len, unsigned mode)
{
	assert(sys && path && (data || !len));
	if (!HAS6(sys, append_file_mode))
		return ps_sys_append_file(sys, path, data, len);
	return sys->ops->append_file_mode(sys, path, data, len, mode);
}

int ps_sys_exe_dir(ps_system *sys, char **out)
{
	assert(sys && out);
	*out = NULL;
	if (!HAS6(sys, exe_dir))
		return ps_error_setc(PS_ENOTFOUND, "the folder of the "
				     "executable is not known on this "
				     "platform");
	return sys->ops->exe_dir(sys, out);
}

int ps_sys_file_size(ps_system *sys, const char *path, uint64_t *size)
{
	void *h = NULL;
	int error;

	assert(sys && path && size);
	if (!has_ranged(sys))
		return ps_error_setc(PS_ENOTFOUND, "%s: file sizes cannot be "
				     "read on this platform", path);
	error = sys->ops->open_read(sys, path, &h, size);
	if (error < 0)
		return error;
	sys->ops->close_read(sys, h);
	return 0;
}
