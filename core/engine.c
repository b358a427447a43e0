/*
 * Applying plans, the backup journal, rollback and cleanup.
 *
 * Write order for one profile: (1) a backup generation in state pending,
 * (2) every changed section, (3) the generation rewritten as committed.
 * Any failure restores the changed sections from the snapshots in memory
 * and removes the generation; if that also fails the pending generation
 * stays behind and the next run restores it before doing anything else.
 */
#include "ps_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_autodiscover.h"
#include "ps_backup.h"
#include "ps_error.h"
#include "ps_plan.h"
#include "ps_policy.h"

static uint32_t gen_tag(unsigned number)
{
	return PS_PROP_TAG(PS_PT_BINARY, PS_BACKUP_ID_BASE + number);
}

static int same_in_order(const ps_proplist *a, const ps_proplist *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->v[i].tag != b->v[i].tag || a->v[i].len != b->v[i].len ||
		    memcmp(a->v[i].data, b->v[i].data, a->v[i].len))
			return 0;
	return 1;
}

/* Make a section exactly equal to a snapshot, values in its order: when
 * anything differs, every property is deleted and set again in order. */
static int restore_section(ps_store *s, const char *profile,
			   const ps_uid *uid, const ps_proplist *snap)
{
	ps_section *sec = NULL;
	ps_proplist cur = PS_PROPLIST_INIT;
	uint32_t *dels = NULL;
	size_t i;
	int error;

	error = ps_store_open_section(s, profile, uid, PS_OPEN_CREATE, &sec);
	if (error < 0)
		return error;
	error = ps_store_get_props(s, sec, &cur);
	if (error < 0 || same_in_order(&cur, snap))
		goto done;
	dels = calloc(cur.n + 1, sizeof(*dels));
	if (!dels) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < cur.n; i++)
		dels[i] = cur.v[i].tag;
	error = ps_store_delete_props(s, sec, dels, cur.n);
	if (!error)
		error = ps_store_set_props(s, sec, snap->v, snap->n);
	if (!error)
		error = ps_store_save_section(s, sec);
done:
	free(dels);
	ps_proplist_free(&cur);
	ps_store_close_section(s, sec);
	return error;
}

/* Write one section's planned state: only the differences (changed and
 * new values in plan order, then removals). */
static int write_section(ps_store *s, const char *profile,
			 const ps_secstate *st)
{
	ps_section *sec = NULL;
	ps_prop *sets = NULL;
	uint32_t *dels = NULL;
	size_t nset = 0, ndel = 0, i;
	int error;

	sets = calloc(st->after.n + 1, sizeof(*sets));
	dels = calloc(st->before.n + 1, sizeof(*dels));
	if (!sets || !dels) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < st->after.n; i++) {
		const ps_prop *a = &st->after.v[i];
		const ps_prop *b = ps_proplist_get(&st->before, a->tag);

		if (!b || b->len != a->len || memcmp(b->data, a->data, a->len))
			sets[nset++] = *a;
	}
	for (i = 0; i < st->before.n; i++)
		if (!ps_proplist_get(&st->after, st->before.v[i].tag))
			dels[ndel++] = st->before.v[i].tag;
	error = ps_store_open_section(s, profile, &st->uid, 0, &sec);
	if (!error)
		error = ps_store_set_props(s, sec, sets, nset);
	if (!error)
		error = ps_store_delete_props(s, sec, dels, ndel);
	if (!error)
		error = ps_store_save_section(s, sec);
done:
	ps_store_close_section(s, sec);
	free(sets);
	free(dels);
	return error;
}

static int write_gen(ps_store *s, const char *profile,
		     const ps_generation *g)
{
	ps_section *sec = NULL;
	ps_buf blob = PS_BUF_INIT;
	ps_prop prop = { 0, 0, NULL, PS_FORM_DEFAULT };
	ps_uid uid;
	int error;

	error = ps_gen_encode(g, &blob);
	if (error < 0)
		goto done;
	ps_backup_uid(&uid);
	error = ps_store_open_section(s, profile, &uid, PS_OPEN_CREATE, &sec);
	if (error < 0)
		goto done;
	prop.tag = gen_tag(g->number);
	prop.len = blob.len;
	prop.data = (uint8_t *)blob.ptr;
	error = ps_store_set_props(s, sec, &prop, 1);
	if (!error)
		error = ps_store_save_section(s, sec);
done:
	ps_store_close_section(s, sec);
	ps_buf_free(&blob);
	return error;
}

/* Remove generation `number`; the section goes when it is empty. */
/* Remove one generation; the backup section goes with the last one,
 * unless keep: it was there before this run (even empty), and an update
 * that failed must leave the profile exactly as it was. */
static int remove_gen_keep(ps_store *s, const char *profile,
			   unsigned number, int keep);

static int remove_gen(ps_store *s, const char *profile, unsigned number)
{
	return remove_gen_keep(s, profile, number, 0);
}

static int remove_gen_keep(ps_store *s, const char *profile,
			   unsigned number, int keep)
{
	ps_section *sec = NULL;
	ps_proplist left = PS_PROPLIST_INIT;
	uint32_t tag = gen_tag(number);
	ps_uid uid;
	int error;

	ps_backup_uid(&uid);
	error = ps_store_open_section(s, profile, &uid, 0, &sec);
	if (error == PS_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	error = ps_store_delete_props(s, sec, &tag, 1);
	if (!error)
		error = ps_store_save_section(s, sec);
	if (!error)
		error = ps_store_get_props(s, sec, &left);
	ps_store_close_section(s, sec);
	if (!error && !left.n && !keep)
		error = ps_store_delete_section(s, profile, &uid);
	ps_proplist_free(&left);
	return error;
}

/* ---- changes outside the profile (docs/autodiscover.md) ---------------- */

/* Put the recorded values back as they were before the generation; files
 * too (cleanup: only delete the files profswitch wrote). */
static int remember_files(ps_engine *e, const ps_generation *g);
static int remember_path(ps_engine *e, const char *path);

/* Put back the whole keys a generation deleted (rollback and
 * compensation; cleanup leaves them deleted). */
static int restore_keys(ps_engine *e, const ps_generation *g)
{
	size_t i, j;
	int error = 0;

	for (i = 0; i < g->nkeys && !error; i++) {
		const ps_gen_key *k = &g->keys[i];

		if (k->top)
			error = ps_store_delete_key(e->store, k->path);
		if (!error)
			error = ps_store_set_office_value(e->store, k->path,
							  NULL, 0, NULL, 0);
		for (j = 0; j < k->nvals && !error; j++)
			error = ps_store_set_office_value(e->store, k->path,
				k->vals[j].name, k->vals[j].type,
				k->vals[j].data, k->vals[j].len);
		if (!error && k->top)
			ps_log_msg(e->log, PS_LOG_INFO, NULL, NULL,
				   "restored Office key %s", k->path);
	}
	return error;
}

static int restore_outside(ps_engine *e, const ps_generation *g,
			   int cleanup)
{
	size_t i;
	int error = 0;

	if (!cleanup)
		error = restore_keys(e, g);

	for (i = g->nvals; i-- > 0 && !error;) {
		const ps_gen_value *v = &g->vals[i];

		/* cleanup leaves a repair (a removed exclusion) as it is */
		if (cleanup && v->fix)
			continue;
		if (v->existed)
			error = ps_store_set_value(e->store, v->subkey,
						   v->name, v->type, v->data,
						   v->len);
		else
			error = ps_store_delete_value(e->store, v->subkey,
						      v->name);
	}
	for (i = g->nfiles; i-- > 0 && !error;) {
		const ps_gen_file *f = &g->files[i];

		if (cleanup && !f->written)
			continue;
		/* A store that cannot be written at the end puts it back. */
		if (e->remember && (error = remember_path(e, f->path)) < 0)
			break;
		if (f->existed && !cleanup)
			error = ps_sys_write_file(e->sys, f->path, f->data,
						  f->len);
		else if (f->written || !f->existed) {
			error = ps_sys_delete_file(e->sys, f->path);
			if (error == PS_ENOTFOUND)
				error = 0;
		}
		if (!error)
			ps_log_msg(e->log, PS_LOG_INFO, NULL, NULL, "%s %s",
				   f->existed && !cleanup ? "restored"
							  : "removed",
				   f->path);
	}
	return error;
}

/* Append a snapshot of one Office key and, after it, of its subkeys
 * (pre-order) to g->keys. */
static int snap_key(ps_engine *e, ps_generation *g, const char *path,
		    int top, unsigned depth)
{
	ps_strlist subs = PS_STRLIST_INIT, names = PS_STRLIST_INIT;
	ps_gen_key *k;
	size_t i;
	int error;

	if (depth > 16)
		return ps_error_setc(PS_ELIMIT, "Office key %s is nested too "
				     "deep to back up", path);
	error = ps_store_list_key(e->store, path, &subs, &names);
	if (error == PS_ENOTFOUND && !top)
		error = 0;
	if (error < 0)
		goto done;
	if (g->nkeys >= PS_GEN_MAX_KEYS) {
		error = ps_error_setc(PS_ELIMIT, "the update would delete more "
				      "than %u Office keys; a backup holds "
				      "no more", PS_GEN_MAX_KEYS);
		goto done;
	}
	k = realloc(g->keys, (g->nkeys + 1) * sizeof(*k));
	if (!k) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	g->keys = k;
	k = &g->keys[g->nkeys++];
	memset(k, 0, sizeof(*k));
	k->top = top;
	k->path = ps_strdup(path);
	k->vals = calloc(names.n ? names.n : 1, sizeof(*k->vals));
	if (!k->path || !k->vals) {
		error = ps_error_setc(PS_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < names.n && !error; i++) {
		ps_gen_keyval *v = &k->vals[k->nvals];

		v->name = ps_strdup(names.v[i]);
		if (!v->name) {
			error = ps_error_setc(PS_ENOMEM, "out of memory");
			break;
		}
		k->nvals++;
		error = ps_store_get_office_value(e->store, path, v->name,
						  &v->type, &v->data, &v->len);
	}
	for (i = 0; i < subs.n && !error; i++) {
		ps_buf sub = PS_BUF_INIT;

		ps_buf_printf(&sub, "%s\\%s", path, subs.v[i]);
		error = ps_buf_check(&sub);
		if (!error)
			error = snap_key(e, g, sub.ptr, 0, depth + 1);
		ps_buf_free(&sub);
	}
done:
	ps_strlist_free(&subs);
	ps_strlist_free(&names);
	return error;
}

/* Record the state before of what a plan changes outside the profile. */
static int gen_outside(ps_engine *e, const ps_pplan *p, ps_generation *g)
{
	size_t i;
	int error = 0;

	for (i = 0; i < p->delkeys.n && !error; i++) {
		error = snap_key(e, g, p->delkeys.v[i], 1, 0);
		if (error == PS_ENOTFOUND)   /* gone since the plan */
			error = 0;
	}
	if (error < 0)
		return error;

	if (p->nvals > PS_GEN_MAX_VALUES || p->nfiles > PS_GEN_MAX_FILES)
		return ps_error_setc(PS_ELIMIT, "the update would change %zu "
				     "values and %zu files outside the profile;"
				     " a backup holds at most %u of each",
				     p->nvals, p->nfiles, PS_GEN_MAX_FILES);
	g->vals = calloc(p->nvals + 1, sizeof(*g->vals));
	g->files = calloc(p->nfiles + 1, sizeof(*g->files));
	if (!g->vals || !g->files)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; i < p->nvals && !error; i++) {
		ps_gen_value *v = &g->vals[g->nvals++];

		v->subkey = ps_strdup(p->vals[i].subkey);
		v->name = ps_strdup(p->vals[i].name);
		v->fix = p->vals[i].fix;
		if (!v->subkey || !v->name)
			return PS_ENOMEM;
		error = ps_store_get_value(e->store, v->subkey, v->name,
					   &v->type, &v->data, &v->len);
		v->existed = error == 0;
		if (error == PS_ENOTFOUND)
			error = 0;
	}
	for (i = 0; i < p->nfiles && !error; i++) {
		ps_filechange *c = &p->files[i];
		ps_gen_file *f = &g->files[g->nfiles++];

		f->path = ps_strdup(c->path);
		if (!f->path)
			return PS_ENOMEM;
		f->written = !c->del;
		error = ps_sys_read_file(e->sys, f->path, 4u << 20, &f->data,
					 &f->len);
		f->existed = error == 0;
		if (error == PS_ENOTFOUND)
			error = 0;
		/* Already as wanted (another profile of this user wrote the
		 * same local XML): neither changed nor recorded. */
		if (!error && (c->del ? !f->existed : f->existed &&
			       f->len == c->len &&
			       !memcmp(f->data, c->data, c->len))) {
			c->skip = 1;
			free(f->path);
			free(f->data);
			memset(f, 0, sizeof(*f));
			g->nfiles--;
		}
	}
	return error;
}

static int has_files(const ps_pplan *p)
{
	size_t i;

	for (i = 0; i < p->nfiles; i++)
		if (!p->files[i].skip)
			return 1;
	return 0;
}

static int apply_outside(ps_engine *e, const ps_pplan *p)
{
	size_t i;
	int error = 0;

	for (i = 0; i < p->delkeys.n && !error; i++) {
		error = ps_store_delete_key(e->store, p->delkeys.v[i]);
		if (!error)
			ps_log_msg(e->log, PS_LOG_INFO, p->profile, NULL,
				   "deleted Office key %s", p->delkeys.v[i]);
	}

	for (i = 0; i < p->nvals && !error; i++) {
		const ps_valchange *v = &p->vals[i];

		error = v->del ? ps_store_delete_value(e->store, v->subkey,
						       v->name)
			       : ps_store_set_value(e->store, v->subkey,
						    v->name, v->type, v->data,
						    v->len);
	}
	for (i = 0; i < p->nfiles && !error; i++) {
		const ps_filechange *f = &p->files[i];

		if (f->skip)
			continue;
		if (f->del) {
			error = ps_sys_delete_file(e->sys, f->path);
			if (error == PS_ENOTFOUND)
				error = 0;
		} else {
			error = ps_sys_write_file(e->sys, f->path, f->data,
						  f->len);
		}
		if (!error)
			ps_log_msg(e->log, PS_LOG_INFO, p->profile, NULL,
				   "%s %s", f->del ? "deleted" : "wrote",
				   f->path);
	}
	return error;
}

/* Keep the files a committed generation changed, as they were before, so
 * that a store that cannot be written at the end takes them back too. */
static int remember_files(ps_engine *e, const ps_generation *g)
{
	ps_gen_file *v;
	size_t i;

	if (!g->nfiles)
		return 0;
	v = realloc(e->touched, (e->ntouched + g->nfiles) * sizeof(*v));
	if (!v)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	e->touched = v;
	for (i = 0; i < g->nfiles; i++) {
		const ps_gen_file *f = &g->files[i];
		ps_gen_file *c = &e->touched[e->ntouched];

		memset(c, 0, sizeof(*c));
		c->path = ps_strdup(f->path);
		c->data = malloc(f->len ? f->len : 1);
		if (!c->path || !c->data) {
			free(c->path);
			free(c->data);
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		if (f->len)
			memcpy(c->data, f->data, f->len);
		c->len = f->len;
		c->existed = f->existed;
		c->written = f->written;
		e->ntouched++;
	}
	return 0;
}

/* The file as it is now, for ps_engine_commit to put back. */
static int remember_path(ps_engine *e, const char *path)
{
	ps_generation one;
	ps_gen_file f;
	int error;

	memset(&one, 0, sizeof(one));
	memset(&f, 0, sizeof(f));
	f.path = (char *)path;
	error = ps_sys_read_file(e->sys, path, 4u << 20, &f.data, &f.len);
	if (error < 0 && error != PS_ENOTFOUND)
		return error;
	f.existed = error == 0;
	one.files = &f;
	one.nfiles = 1;
	error = remember_files(e, &one);
	free(f.data);
	return error;
}

/*
 * The only files profswitch ever writes or removes (docs/security.md): its
 * local Autodiscover XML (profswitch-DOMAIN.xml) and Outlook's cached
 * answers (*Autodiscover.xml), in LocalAppData\Microsoft\Outlook, and
 * AutoD.*.xml in its \16 folder.  A backup travels inside an export or
 * hive that may come from anywhere, so a path it names is never used as
 * it is: its file name must match one of those, its folder must be that
 * known folder, and the path used is rebuilt from the known folder.
 */
static int managed_file(ps_engine *e, const char *stored, char **out)
{
	const char *name = strrchr(stored, '\\'), *dir;
	size_t n, i;
	ps_buf b = PS_BUF_INIT;

	name = name ? name + 1 : stored;
	n = strlen(name);
	if (!n || n > 255 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr(" -_.@{}()", c)))
			return 0;
	}
	if (n > 10 && !ps_strncasecmp(name, "AutoD.", 6) &&
	    !ps_strcasecmp(name + n - 4, ".xml"))
		dir = "\\Microsoft\\Outlook\\16";
	else if ((n > 15 && !ps_strncasecmp(name, "profswitch-", 11) &&
		  !ps_strcasecmp(name + n - 4, ".xml")) ||
		 (n >= 16 && !ps_strcasecmp(name + n - 16,
					    "autodiscover.xml")))
		dir = "\\Microsoft\\Outlook";
	else
		return 0;
	if (!e->local_appdata &&
	    ps_sys_known_folder(e->sys, "LocalAppData", &e->local_appdata) < 0) {
		e->local_appdata = NULL;
		return 0;
	}
	ps_buf_printf(&b, "%s%s\\%s", e->local_appdata, dir, name);
	if (ps_buf_check(&b) < 0)
		return PS_ENOMEM;
	if (ps_strcasecmp(b.ptr, stored)) {
		ps_buf_free(&b);
		return 0;
	}
	*out = ps_buf_detach(&b);
	return 1;
}

/* A profile's backup generations (ps_backup_list); a generation that
 * names a file profswitch does not manage is damaged, never used. */
static int list_gens(ps_engine *e, const char *profile,
		     ps_generation **out, size_t *n)
{
	size_t i, j;
	int error = ps_backup_list(e->store, profile, out, n);

	for (i = 0; !error && i < *n; i++) {
		ps_generation *g = &(*out)[i];

		for (j = 0; !g->damaged && j < g->nfiles; j++) {
			char *path = NULL;
			int ok = managed_file(e, g->files[j].path, &path);

			if (ok < 0)
				return ok;
			if (!ok) {
				ps_log_msg(e->log, PS_LOG_ERROR, profile, NULL,
					   "backup generation %02x names a "
					   "file profswitch does not manage "
					   "(%s): the generation is treated "
					   "as damaged and no file is "
					   "touched", g->number,
					   g->files[j].path);
				g->damaged = 1;
				break;
			}
			free(g->files[j].path);
			g->files[j].path = path;
		}
	}
	return error;
}

/* Restore every section of a generation, then drop the generation. */
static int undo_gen(ps_engine *e, const char *profile,
		    const ps_generation *g)
{
	ps_store *s = e->store;
	size_t i;
	int error = restore_outside(e, g, 0);

	for (i = g->nsecs; i-- > 0 && !error;)
		error = restore_section(s, profile, &g->secs[i].uid,
					&g->secs[i].props);
	if (!error)
		error = remove_gen(s, profile, g->number);
	return error;
}

/* Restore interrupted (pending) generations, newest first. */
static int recover_pending(ps_engine *e, const char *profile)
{
	ps_generation *gens = NULL;
	size_t n = 0, i;
	int error;

	unsigned damaged = 0;

	error = list_gens(e, profile, &gens, &n);
	for (i = n; i-- > 0 && !error;) {
		if (gens[i].damaged)
			damaged = gens[i].number;
		if (gens[i].damaged || gens[i].state != PS_GEN_PENDING)
			continue;
		int was = e->remember;

		ps_log_msg(e->log, PS_LOG_WARN, profile, NULL,
			   "restoring backup generation %02x left by an "
			   "interrupted update", gens[i].number);
		e->remember = 1;
		error = undo_gen(e, profile, &gens[i]);
		e->remember = was;
	}
	ps_gens_free(gens, n);
	if (!error && damaged)
		error = ps_error_setc(PS_EFORMAT, "backup generation %02x of "
			"this profile is damaged, so profswitch cannot tell "
			"whether an update was interrupted; check the profile, "
			"then run 'profswitch cleanup' to remove the damaged "
			"backup", damaged);
	return error;
}

static int next_gen_number(ps_store *s, const char *profile,
			   unsigned *number)
{
	ps_generation *gens = NULL;
	size_t n = 0;
	int error;

	error = ps_backup_list(s, profile, &gens, &n);  /* numbers only */
	if (error < 0)
		return error;
	*number = n ? gens[n - 1].number + 1 : 1;
	ps_gens_free(gens, n);
	if (*number > PS_BACKUP_MAX_GEN)
		return ps_error_setc(PS_ELIMIT, "profile '%s' already holds "
				     "%u backup generations; run cleanup",
				     profile, PS_BACKUP_MAX_GEN);
	return 0;
}

/* Build the generation describing a plan (borrows the plan's strings). */
static int plan_gen(const ps_pplan *p, ps_secstate **changed, size_t n,
		    ps_generation *g)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	g->units = calloc(p->nunits + 1, sizeof(*g->units));
	g->secs = calloc(n + 1, sizeof(*g->secs));
	if (!g->units || !g->secs) {
		free(g->units);
		free(g->secs);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	for (i = 0; i < p->nunits; i++) {
		if (!p->units[i].update)
			continue;
		g->units[g->nunits].account = p->units[i].account;
		g->units[g->nunits].source_dn = p->units[i].dn;
		/* a move to another server keeps the DN */
		g->units[g->nunits].target_dn =
			p->units[i].entry->target_dn
			? p->units[i].entry->target_dn : p->units[i].dn;
		g->nunits++;
	}
	for (i = 0; i < n; i++) {
		g->secs[i].uid = changed[i]->uid;
		g->secs[i].props = changed[i]->before;
	}
	g->nsecs = n;
	return 0;
}

static int backup_exists(ps_store *s, const char *profile)
{
	ps_section *sec = NULL;
	ps_uid uid;

	ps_backup_uid(&uid);
	if (ps_store_open_section(s, profile, &uid, 0, &sec) < 0)
		return 0;
	ps_store_close_section(s, sec);
	return 1;
}

/* Apply one profile's plan; on failure try to put everything back.
 * *restored tells whether the profile is back to its earlier state. */
static int apply_plan(ps_engine *e, ps_pplan *p, int *restored)
{
	ps_secstate **changed = NULL;
	ps_generation g;
	size_t n = 0, i;
	int error, undo, had_backup = 0;
	char first[1024];

	*restored = 1;
	error = ps_plan_changed(p, &changed, &n);
	if (error < 0 || (!n && !p->nvals && !p->nfiles && !p->delkeys.n))
		goto out;
	error = plan_gen(p, changed, n, &g);
	if (error < 0)
		goto out;
	error = gen_outside(e, p, &g);
	if (error < 0 || (!n && !g.nvals && !g.nfiles && !g.nkeys))
		goto free_gen;
	/* An update that cannot be backed up does not happen. */
	error = ps_gen_check(&g);
	if (error < 0)
		goto free_gen;
	error = next_gen_number(e->store, p->profile, &g.number);
	if (error < 0)
		goto free_gen;
	had_backup = backup_exists(e->store, p->profile);
	g.state = PS_GEN_PENDING;
	error = write_gen(e->store, p->profile, &g);
	for (i = 0; i < n && !error; i++)
		error = write_section(e->store, p->profile, changed[i]);
	/* Files outside the store change only once the pending generation
	 * that can put them back is on disk: a run killed after that point
	 * leaves a pending generation the next run restores, never a
	 * written file or a deleted cached answer saved nowhere.  (A store
	 * that persists at save, real MAPI, has nothing to flush.) */
	if (!error && !e->dry_run && has_files(p))
		error = ps_store_flush(e->store);
	if (!error)
		error = apply_outside(e, p);
	if (!error) {
		g.state = PS_GEN_COMMITTED;
		error = remember_files(e, &g);
		if (!error)
			error = write_gen(e->store, p->profile, &g);
	}
	if (error < 0) {
		snprintf(first, sizeof(first), "%s", ps_error_last());
		ps_log_msg(e->log, PS_LOG_ERROR, p->profile, NULL,
			   "update failed (%s); restoring the profile",
			   first);
		undo = restore_outside(e, &g, 0);
		for (i = n; i-- > 0 && !undo;)
			undo = restore_section(e->store, p->profile,
					       &changed[i]->uid,
					       &changed[i]->before);
		if (!undo)
			undo = remove_gen_keep(e->store, p->profile, g.number,
					       had_backup);
		if (undo < 0) {
			*restored = 0;
			ps_log_msg(e->log, PS_LOG_ERROR, p->profile, NULL,
				   "restore failed too (%s); backup "
				   "generation %02x stays pending and the "
				   "next run restores it", ps_error_last(),
				   g.number);
		}
		ps_error_setc(error, "%s", first);
	}
free_gen:
	/* The generation borrowed every string and list: free the arrays;
	 * what it says outside the profile is its own. */
	free(g.units);
	free(g.secs);
	g.units = NULL;
	g.secs = NULL;
	g.nunits = g.nsecs = 0;
	ps_gen_free(&g);
out:
	free(changed);
	return error;
}

/* A dry run's row: the size of the OST Outlook will download again
 * (the old file's), when the system port reaches the file: a path on a
 * drive ("C:\..."), never a share or a relative name. */
static int report_ost(ps_engine *e, const ps_unit *u)
{
	const char *path = u->ost_path;
	uint64_t size = 0;
	int c = path[0] | 0x20;

	if (e->sys && c >= 'a' && c <= 'z' && path[1] == ':' &&
	    path[2] == '\\' && ps_sys_file_size(e->sys, path, &size) == 0)
		return ps_report_set_ost(e->report, PS_OST_DL_KNOWN, size);
	return ps_report_set_ost(e->report, PS_OST_DL_UNKNOWN, 0);
}

static int report_plan(ps_engine *e, const ps_pplan *p, int failed,
		       int restored, const char *why)
{
	size_t i;
	int error = 0;
	char detail[1400];

	for (i = 0; i < p->nunits && !error; i++) {
		const ps_unit *u = &p->units[i];
		ps_status st = u->status;
		const char *tgt = ps_plan_target_dn(u);

		snprintf(detail, sizeof(detail), "%s", u->detail ? u->detail
								 : "");
		if (u->update && e->dry_run) {
			st = PS_ST_WOULD_UPDATE;
			snprintf(detail, sizeof(detail), "%zu values to set, "
				 "%zu to remove%s%s%s%s", u->nset, u->ndel,
				 u->repair ? "; RepairPoisoned would repair: "
					   : "", u->repair ? u->detail : "",
				 u->ad_unchecked ? "; Autodiscover not "
				 "verified in a rehearsal" : "",
				 u->ready_unchecked ? "; readiness not checked "
				 "in a rehearsal" : "");
		} else if (u->update && failed) {
			st = PS_ST_FAILED;
			snprintf(detail, sizeof(detail), "%s; %s", why,
				 restored ? "the profile is as it was"
					  : "the next run restores it");
		} else if (u->update) {
			st = u->repair ? PS_ST_REPAIRED_POISONED
				       : PS_ST_UPDATED;
			snprintf(detail, sizeof(detail), "%zu values set, %zu "
				 "removed%s%s", u->nset, u->ndel,
				 u->repair ? "; was " : "",
				 u->repair ? u->detail : "");
		}
		if (u->nidentities && (st == PS_ST_UPDATED ||
				       st == PS_ST_WOULD_UPDATE)) {
			size_t at = strlen(detail);
			int reset = e->cfg->reset_office_identity;

			snprintf(detail + at, sizeof(detail) - at, "; %zu "
				 "Office sign-in identit%s of the source %s",
				 u->nidentities, u->nidentities == 1 ? "y"
				 : "ies", !reset ? "kept (ResetOfficeIdentity"
				 "=0)" : e->dry_run ? "would be removed"
				 : "removed");
		}
		/* R6: OST=keep became rename, and why. */
		if (u->update && !failed && u->ost_why) {
			size_t len = strlen(detail);

			snprintf(detail + len, sizeof(detail) - len, "; %s",
				 u->ost_why);
		}
		if (st == PS_ST_ALREADY_UPDATED || st == PS_ST_NOT_MIGRATED)
			tgt = st == PS_ST_ALREADY_UPDATED ? u->dn : NULL;
		ps_log_msg(e->log, st == PS_ST_FAILED ? PS_LOG_ERROR
			   : st == PS_ST_BLOCKED_POISONED ||
			     st == PS_ST_BLOCKED_AMBIGUOUS ? PS_LOG_WARN
			   : PS_LOG_INFO,
			   p->profile, u->account, "%s: %s (%s)",
			   ps_status_name(st), u->dn, detail);
		error = ps_report_add(e->report, p->profile, u->account,
				      u->dn, tgt, st, detail);
		if (!error && u->ad_failed)
			e->report->v[e->report->n - 1].ad_failed = 1;
		if (!error)
			e->report->v[e->report->n - 1].identities =
				u->nidentities;
		if (!error)
			error = ps_report_set_origin(e->report, u->server,
				u->entry ? u->entry->target_smtp : NULL);
		if (!error && st == PS_ST_WOULD_UPDATE && u->ost_rebuilt)
			error = report_ost(e, u);
	}
	return error;
}

/* A value for the log: strings decoded, numbers in hex, else a size. */
static void describe(const ps_prop *p, char *out, size_t size)
{
	char *text = NULL;
	uint32_t v;

	if (PS_PROP_IS_STRING(p->tag) && ps_prop_string(p, &text) == 0) {
		char *c;

		/* A value cannot forge log lines. */
		for (c = text; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = '?';
		snprintf(out, size, "'%s'", text);
		free(text);
	} else if (PS_PROP_TYPE(p->tag) == PS_PT_LONG &&
		   ps_prop_long(p, &v) == 0) {
		snprintf(out, size, "0x%08x", (unsigned)v);
	} else {
		snprintf(out, size, "%zu bytes", p->len);
	}
}

/* Log every planned change: section, value, old and new. */
static void log_changes(ps_engine *e, const ps_pplan *p)
{
	ps_secstate **changed = NULL;
	size_t n = 0, i, j;
	char uid[33], name[9], was[512], now[512];

	if (!e->log || ps_plan_changed(p, &changed, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		const ps_secstate *st = changed[i];

		ps_uid_format(&st->uid, uid);
		for (j = 0; j < st->before.n; j++) {
			const ps_prop *b = &st->before.v[j];
			const ps_prop *a = ps_proplist_get(&st->after, b->tag);

			ps_prop_name(b->tag, name);
			describe(b, was, sizeof(was));
			if (!a) {
				ps_log_msg(e->log, PS_LOG_INFO, p->profile,
					   NULL, "%s %s: remove %s%s", uid,
					   name, was, e->dry_run ?
					   " (dry run)" : "");
			} else if (a->len != b->len ||
				   memcmp(a->data, b->data, a->len)) {
				describe(a, now, sizeof(now));
				ps_log_msg(e->log, PS_LOG_INFO, p->profile,
					   NULL, "%s %s: %s -> %s%s", uid,
					   name, was, now, e->dry_run ?
					   " (dry run)" : "");
			}
		}
		for (j = 0; j < st->after.n; j++) {
			const ps_prop *a = &st->after.v[j];

			if (ps_proplist_get(&st->before, a->tag))
				continue;
			ps_prop_name(a->tag, name);
			describe(a, now, sizeof(now));
			ps_log_msg(e->log, PS_LOG_INFO, p->profile, NULL,
				   "%s %s: add %s%s", uid, name, now,
				   e->dry_run ? " (dry run)" : "");
		}
	}
	free(changed);
}

static int discard_plan(ps_pplan *plan);

/* A planned change that a policy locks blocks the whole profile. */
static int check_policies(ps_engine *e, ps_pplan *plan)
{
	ps_strlist found = PS_STRLIST_INIT;
	char detail[1200];
	size_t i;
	int error;

	error = ps_policy_conflicts(e->sys, e->cfg, plan, &found);
	if (error < 0 || !found.n)
		goto done;
	for (i = 0; i < found.n; i++)
		ps_log_msg(e->log, PS_LOG_WARN, plan->profile, NULL, "%s",
			   found.v[i]);
	snprintf(detail, sizeof(detail), "%s%s; nothing changed in this "
		 "profile", found.v[0], found.n > 1 ? " (and more: see the "
		 "log)" : "");
	for (i = 0; i < plan->nunits && !error; i++) {
		ps_unit *u = &plan->units[i];
		char *copy;

		if (!u->update)
			continue;
		copy = ps_strdup(detail);
		if (!copy) {
			error = PS_ENOMEM;
			break;
		}
		u->update = 0;
		u->status = PS_ST_BLOCKED_POLICY;
		free(u->detail);
		u->detail = copy;
	}
	if (!error)
		error = discard_plan(plan);
done:
	ps_strlist_free(&found);
	return error;
}

/* Nothing of this plan may be written. */
static int discard_plan(ps_pplan *plan)
{
	size_t i;
	int error = 0;

	for (i = 0; i < plan->nvals; i++) {
		free(plan->vals[i].subkey);
		free(plan->vals[i].name);
		free(plan->vals[i].data);
	}
	plan->nvals = 0;
	for (i = 0; i < plan->nfiles; i++) {
		free(plan->files[i].path);
		free(plan->files[i].data);
	}
	plan->nfiles = 0;
	ps_strlist_free(&plan->delkeys);
	for (i = 0; i < plan->nsecs && !error; i++) {
		ps_proplist_free(&plan->secs[i].after);
		error = ps_proplist_copy(&plan->secs[i].after,
					 &plan->secs[i].before);
	}
	return error;
}

/* The user runs the new Outlook for Windows (Outlook\Preferences
 * UseNewOutlook = 1, the toggle's value): the classic profile is not
 * what the user opens, so with NewOutlook=block every account the plan
 * would update is blocked-new-outlook and nothing changes. */
static int check_new_outlook(ps_engine *e, ps_pplan *plan)
{
	uint8_t *data = NULL;
	uint32_t type = 0;
	size_t len = 0, i;
	int error, any = 0;

	if (e->cfg->new_outlook == PS_NEWOL_UPDATE)
		return 0;
	for (i = 0; i < plan->nunits; i++)
		any |= plan->units[i].update;
	if (!any)
		return 0;
	error = ps_store_get_value(e->store, "Preferences", "UseNewOutlook",
				   &type, &data, &len);
	if (error == PS_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	any = type == PS_REG_DWORD && len == 4 && data[0] == 1 &&
	      !data[1] && !data[2] && !data[3];
	free(data);
	if (!any)
		return 0;
	ps_log_msg(e->log, PS_LOG_WARN, plan->profile, NULL,
		   "Outlook\\Preferences\\UseNewOutlook = 1: the user "
		   "runs the new Outlook for Windows; the classic profile "
		   "is not changed (NewOutlook=block)");
	for (i = 0; i < plan->nunits && !error; i++) {
		ps_unit *u = &plan->units[i];
		char *copy;

		if (!u->update)
			continue;
		copy = ps_strdup("Outlook\\Preferences\\UseNewOutlook = 1: "
			"the user runs the new Outlook for Windows, which "
			"does not open this profile; nothing changed "
			"(NewOutlook=update repoints it anyway)");
		if (!copy)
			return PS_ENOMEM;
		u->update = 0;
		u->status = PS_ST_BLOCKED_NEW_OUTLOOK;
		free(u->detail);
		u->detail = copy;
	}
	return discard_plan(plan);
}

/* A dry run restores nothing: say what a real run would do first. */
static void warn_pending(ps_engine *e, const char *profile)
{
	ps_generation *gens = NULL;
	size_t n = 0, i;

	if (list_gens(e, profile, &gens, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (gens[i].damaged || gens[i].state == PS_GEN_PENDING)
			ps_log_msg(e->log, PS_LOG_WARN, profile, NULL,
				   "backup generation %02x is %s: a real run "
				   "%s before planning", gens[i].number,
				   gens[i].damaged ? "damaged" : "pending",
				   gens[i].damaged ? "stops"
						   : "restores it");
	ps_gens_free(gens, n);
}

/* ---- Autodiscover: verification cache and cached files ----------------- */

typedef struct ad_entry {
	int v2;               /* the readiness check (Autodiscover v2) */
	char *smtp;
	char *url;            /* "" for none */
	ps_ad_result res;
} ad_entry;

struct ps_engine_ad {
	ad_entry **v;          /* each entry on its own: units keep pointers
	                          into results while the cache grows */
	size_t n;
};

static void log_hop(void *ctx, const char *line)
{
	ps_engine *e = ctx;

	ps_log_msg(e->log, PS_LOG_DEBUG, NULL, NULL, "autodiscover: %s",
		   line);
}

static int ad_ask(void *ctx, const char *smtp, const char *url,
		  const ps_ad_result **res, int v2)
{
	ps_engine *e = ctx;
	struct ps_engine_ad *c = e->ad;
	ps_ad_opts ao;
	ad_entry *v;
	size_t i;
	int error;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		e->ad = c;
	}
	for (i = 0; i < c->n; i++)
		if (c->v[i]->v2 == v2 &&
		    !ps_strcasecmp(c->v[i]->smtp, smtp) &&
		    !strcmp(c->v[i]->url, url ? url : "")) {
			*res = &c->v[i]->res;
			return 0;
		}
	{
		ad_entry **grown = realloc(c->v, (c->n + 1) * sizeof(*grown));

		if (!grown)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		c->v = grown;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	memset(&ao, 0, sizeof(ao));
	if (e->deadline) {
		long long left = e->deadline - (long long)ps_sys_now(e->sys);

		if (left <= 0) {
			/* No time left: asked nothing, found nothing. */
			v->res.reason = ps_strdup("GlobalTimeoutSeconds was "
						  "reached before Autodiscover");
			if (!v->res.reason) {
				free(v);
				return ps_error_setc(PS_ENOMEM,
						     "out of memory");
			}
			goto cached;
		}
		/* the whole discovery, every hop, in what is left */
		ao.budget_ms = left > 86400 ? 86400000u
					    : (unsigned)left * 1000u;
	}
	ao.url = url;
	ao.allow_hosts = &e->cfg->autodiscover_allowed_hosts;
	ao.send_credentials = 1;
	ao.trace = log_hop;
	ao.trace_ctx = e;
	ps_log_msg(e->log, PS_LOG_INFO, NULL, NULL, "Autodiscover%s for "
		   "%s%s%s", v2 ? " v2 (readiness)" : "", smtp,
		   url ? " at " : "", url ? url : "");
	if (v2) {
		ao.send_credentials = 0;
		error = ps_ad_v2_discover(e->http, smtp, &ao, &v->res);
	} else {
		error = ps_ad_discover(e->http, e->xml, smtp, &ao, &v->res);
	}
	if (error == PS_EFORMAT) {
		/* a bad address is this unit's failure, not the run's */
		memset(&v->res, 0, sizeof(v->res));
		v->res.reason = ps_strdup(ps_error_last());
		error = v->res.reason ? 0 : PS_ENOMEM;
	}
	if (error < 0) {
		free(v);
		return error;
	}
cached:
	v->v2 = v2;
	v->smtp = ps_strdup(smtp);
	v->url = ps_strdup(url ? url : "");
	if (!v->smtp || !v->url) {
		free(v->smtp);
		free(v->url);
		ps_ad_result_free(&v->res);
		free(v);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	c->v[c->n++] = v;
	*res = &v->res;
	return 0;
}

static int ad_verify(void *ctx, const char *smtp, const char *url,
		     const ps_ad_result **res)
{
	return ad_ask(ctx, smtp, url, res, 0);
}

static int ad_ready(void *ctx, const char *smtp, const char *url,
		    const ps_ad_result **res)
{
	return ad_ask(ctx, smtp, url, res, 1);
}

static int is_cache_name(const char *name, int in16)
{
	size_t n = strlen(name);

	if (in16)
		return n > 10 && !ps_strncasecmp(name, "AutoD.", 6) &&
		       !ps_strcasecmp(name + n - 4, ".xml");
	return n >= 16 && !ps_strcasecmp(name + n - 16, "autodiscover.xml");
}

/* The cached Autodiscover files of the user (docs/autodiscover.md). */
static int scan_cached(ps_engine *e)
{
	static const char *const dirs[] = { "\\Microsoft\\Outlook",
					    "\\Microsoft\\Outlook\\16", NULL };
	size_t d, i;
	int error = 0;

	if (ps_sys_known_folder(e->sys, "LocalAppData",
				&e->local_appdata) < 0) {
		e->local_appdata = NULL;
		return 0;
	}
	for (d = 0; dirs[d] && !error; d++) {
		ps_strlist names = PS_STRLIST_INIT;
		char dir[1024];

		snprintf(dir, sizeof(dir), "%s%s", e->local_appdata, dirs[d]);
		if (ps_sys_list_dir(e->sys, dir, &names) < 0)
			continue;
		for (i = 0; i < names.n && !error; i++) {
			ps_adcache_file *f;
			ps_ad_response r;
			uint8_t *data = NULL;
			size_t len = 0;
			char path[1400];

			if (!is_cache_name(names.v[i], d == 1))
				continue;
			snprintf(path, sizeof(path), "%s\\%s", dir,
				 names.v[i]);
			if (ps_sys_read_file(e->sys, path, PS_AD_MAX_BODY,
					     &data, &len) < 0) {
				/* Larger than an answer may be, or
				 * unreadable: it is no evidence either way,
				 * and the log says so. */
				ps_log_msg(e->log, PS_LOG_WARN, NULL, NULL,
					   "cached Autodiscover file %s not "
					   "read: %s", path, ps_error_last());
				continue;
			}
			memset(&r, 0, sizeof(r));
			if (ps_ad_parse(e->xml, (const char *)data, len,
					&r) < 0) {
				ps_log_msg(e->log, PS_LOG_DEBUG, NULL, NULL,
					   "cached Autodiscover file %s not "
					   "read: %s", path, ps_error_last());
				free(data);
				continue;
			}
			free(data);
			f = realloc(e->cached, (e->ncached + 1) * sizeof(*f));
			if (!f) {
				ps_ad_response_free(&r);
				error = ps_error_setc(PS_ENOMEM,
						      "out of memory");
				break;
			}
			e->cached = f;
			f = &e->cached[e->ncached];
			f->path = ps_strdup(path);
			f->legacy_dn = ps_strdup(r.legacy_dn ? r.legacy_dn
							     : "");
			ps_ad_response_free(&r);
			if (!f->path || !f->legacy_dn) {
				free(f->path);
				free(f->legacy_dn);
				error = ps_error_setc(PS_ENOMEM,
						      "out of memory");
				break;
			}
			e->ncached++;
		}
		ps_strlist_free(&names);
	}
	return error;
}

void ps_engine_free(ps_engine *e)
{
	size_t i;

	if (e->ad) {
		for (i = 0; i < e->ad->n; i++) {
			free(e->ad->v[i]->smtp);
			free(e->ad->v[i]->url);
			ps_ad_result_free(&e->ad->v[i]->res);
			free(e->ad->v[i]);
		}
		free(e->ad->v);
		free(e->ad);
		e->ad = NULL;
	}
	for (i = 0; i < e->ncached; i++) {
		free(e->cached[i].path);
		free(e->cached[i].legacy_dn);
	}
	free(e->cached);
	e->cached = NULL;
	e->ncached = 0;
	free(e->local_appdata);
	e->local_appdata = NULL;
	for (i = 0; i < e->ntouched; i++) {
		free(e->touched[i].path);
		free(e->touched[i].data);
	}
	free(e->touched);
	e->touched = NULL;
	e->ntouched = 0;
}

static int update_profile(ps_engine *e, const char *profile)
{
	ps_generation *gens = NULL;
	size_t ngens = 0, k;
	ps_plan_opts o;
	ps_pplan plan;
	int error, restored = 1, failed = 0;
	char why[1024] = "";

	if (!e->dry_run) {
		/* Never plan on a profile an interrupted update may have
		 * left half-changed: the error fails the whole profile. */
		error = recover_pending(e, profile);
		if (error < 0)
			return error;
	} else {
		warn_pending(e, profile);
	}
	memset(&o, 0, sizeof(o));
	o.cfg = e->cfg;
	o.map = e->map;
	o.reprocess = e->reprocess;
	o.log = e->log;
	if (e->http && e->xml)
		o.verify = ad_verify;
	if (e->http)
		o.ready = ad_ready;
	o.verify_ctx = e;
	o.rehearsal = e->rehearsal;
	o.local_appdata = e->local_appdata;
	o.cached = e->cached;
	o.ncached = e->ncached;
	error = list_gens(e, profile, &gens, &ngens);
	if (error < 0)
		return error;
	for (k = ngens; k-- > 0 && !o.last;)
		if (!gens[k].damaged && gens[k].state == PS_GEN_COMMITTED)
			o.last = &gens[k];
	error = ps_plan_build(&plan, e->store, profile, &o);
	ps_gens_free(gens, ngens);
	if (error < 0)
		return error;
	error = check_new_outlook(e, &plan);
	if (!error)
		error = check_policies(e, &plan);
	if (error < 0) {
		ps_plan_free(&plan);
		return error;
	}
	log_changes(e, &plan);
	if (!e->dry_run) {
		error = apply_plan(e, &plan, &restored);
		if (error < 0) {
			failed = 1;
			snprintf(why, sizeof(why), "%s", ps_error_last());
		}
	}
	error = report_plan(e, &plan, failed, restored, why);
	ps_plan_free(&plan);
	return error;
}

/* A profile the engine could not work on at all: one failed row, and
 * the run goes on with the next profile. */
static int profile_failed(ps_engine *e, const char *profile, int error)
{
	char detail[1100];

	if (error == PS_ENOMEM)
		return error;
	/* Damaged data needs an administrator (bit 4); anything else is a
	 * failure the next run may not have (bit 1). */
	snprintf(detail, sizeof(detail), "%s: %s",
		 error == PS_EFORMAT ? "damaged profile"
				     : "cannot process this profile",
		 ps_error_last());
	ps_log_msg(e->log, PS_LOG_ERROR, profile, NULL, "%s", detail);
	return ps_report_add(e->report, profile, NULL, NULL, NULL,
			     error == PS_EFORMAT ? PS_ST_BLOCKED_POISONED
						 : PS_ST_FAILED, detail);
}

int ps_engine_profiles(ps_engine *e, const ps_strlist *names,
		       int default_only, ps_strlist *out)
{
	ps_strlist all = PS_STRLIST_INIT, sel = PS_STRLIST_INIT;
	const ps_strlist *want = NULL;
	char *def = NULL;
	size_t i, j;
	int error;

	error = ps_store_list_profiles(e->store, &all);
	if (error < 0)
		return error;
	if (!all.n)
		ps_log_msg(e->log, PS_LOG_WARN, NULL, NULL, "no Outlook "
			   "profiles in this store");
	if (names && names->n)
		want = names;
	else if (!default_only && e->cfg->profiles_mode == PS_PROFILES_NAMED)
		want = &e->cfg->profiles;
	if (!want && (default_only ||
		      e->cfg->profiles_mode == PS_PROFILES_DEFAULT)) {
		error = ps_store_default_profile(e->store, &def);
		if (error == PS_ENOTFOUND) {
			ps_log_msg(e->log, PS_LOG_WARN, NULL, NULL,
				   "no default profile is set");
			error = 0;
		} else if (!error) {
			for (i = 0; i < all.n && !error; i++)
				if (!ps_strcasecmp(all.v[i], def))
					error = ps_strlist_add(&sel, all.v[i]);
		}
	} else if (want) {
		for (j = 0; j < want->n && !error; j++) {
			for (i = 0; i < all.n; i++)
				if (!ps_strcasecmp(all.v[i], want->v[j]))
					break;
			if (i == all.n)
				ps_log_msg(e->log, PS_LOG_WARN, want->v[j],
					   NULL, "no such profile; skipped");
			else if (!ps_strlist_contains_nocase(&sel, all.v[i]))
				error = ps_strlist_add(&sel, all.v[i]);
		}
	} else {
		for (i = 0; i < all.n && !error; i++)
			error = ps_strlist_add(&sel, all.v[i]);
	}
	free(def);
	ps_strlist_free(&all);
	if (error < 0) {
		ps_strlist_free(&sel);
		return error;
	}
	*out = sel;
	return 0;
}

/* The running processes named in StopProcesses. */
static int running_clients(ps_engine *e, ps_strlist *out)
{
	ps_strlist procs = PS_STRLIST_INIT;
	size_t i;
	int error = 0;

	if (!e->sys || ps_sys_list_processes(e->sys, &procs) < 0)
		return 0;
	for (i = 0; i < procs.n && !error; i++)
		if (ps_strlist_contains_nocase(&e->cfg->stop_processes,
					       procs.v[i]) &&
		    !ps_strlist_contains_nocase(out, procs.v[i]))
			error = ps_strlist_add(out, procs.v[i]);
	ps_strlist_free(&procs);
	return error;
}

static int timed_out(ps_engine *e)
{
	return e->deadline && e->sys && ps_sys_now(e->sys) >= e->deadline;
}

/* A deferred profile: one row per account the update would have
 * repointed (SPEC: a row per profile and account), so that the report
 * says whose mailbox is pending.  The plan is only read, with a silent
 * log and no Autodiscover.  One row for the profile, as before, when it
 * has no such account (all already updated or not in the mapping: the
 * run did not get as far as deciding that; rollback and cleanup, which
 * have no mapping) or when it cannot be planned.  *n: the rows added. */
static int defer_accounts(ps_engine *e, const char *profile, ps_status st,
			  const char *detail, size_t *n)
{
	ps_plan_opts o;
	ps_pplan plan;
	ps_log quiet;
	size_t i;
	int error = 0;

	*n = 0;
	if (!e->map)
		return 0;
	memset(&o, 0, sizeof(o));
	memset(&quiet, 0, sizeof(quiet));
	quiet.sys = e->sys;
	o.cfg = e->cfg;
	o.map = e->map;
	o.reprocess = e->reprocess;
	o.log = &quiet;
	if (ps_plan_build(&plan, e->store, profile, &o) < 0) {
		ps_log_free(&quiet);
		ps_error_clear();
		return 0;
	}
	for (i = 0; i < plan.nunits && !error; i++) {
		const ps_unit *u = &plan.units[i];

		if (!u->update)
			continue;
		ps_log_msg(e->log, PS_LOG_WARN, profile, u->account, "%s: %s",
			   ps_status_name(st), detail);
		error = ps_report_add(e->report, profile, u->account, u->dn,
				      ps_plan_target_dn(u), st, detail);
		if (!error)
			error = ps_report_set_origin(e->report, u->server,
				u->entry ? u->entry->target_smtp : NULL);
		(*n)++;
	}
	ps_plan_free(&plan);
	ps_log_free(&quiet);
	return error;
}

static int defer_all(ps_engine *e, const ps_strlist *profiles, size_t from,
		     ps_status st, const char *detail)
{
	size_t i, n;
	int error = 0;

	for (i = from; i < profiles->n && !error; i++) {
		error = defer_accounts(e, profiles->v[i], st, detail, &n);
		if (error || n)
			continue;
		ps_log_msg(e->log, PS_LOG_WARN, profiles->v[i], NULL, "%s: %s",
			   ps_status_name(st), detail);
		error = ps_report_add(e->report, profiles->v[i], NULL, NULL,
				      NULL, st, detail);
	}
	return error;
}

/*
 * Before touching any profile (docs/guards.md): MAPI clients running are
 * waited for, asked to close, or the run defers.  *go = 0 when the run
 * must not go on (rows are in the report).
 */
static int guard(ps_engine *e, const ps_strlist *profiles, int *go)
{
	ps_strlist clients = PS_STRLIST_INIT;
	unsigned waited = 0;
	size_t i;
	int error, mode = e->cfg->outlook_running;
	char detail[600];

	*go = 1;
	error = running_clients(e, &clients);
	if (error < 0 || !clients.n)
		goto done;
	if (e->dry_run) {
		ps_log_msg(e->log, PS_LOG_WARN, NULL, NULL, "%s is running: a "
			   "real run would %s", clients.v[0],
			   mode == PS_RUNNING_DEFER ? "defer"
			   : mode == PS_RUNNING_WAIT ? "wait for it"
						     : "ask it to close");
		goto done;
	}
	if (mode == PS_RUNNING_CLOSE) {
		for (i = 0; i < clients.n; i++) {
			ps_log_msg(e->log, PS_LOG_INFO, NULL, NULL, "asking %s "
				   "to close", clients.v[i]);
			ps_sys_close_process(e->sys, clients.v[i]);
		}
	}
	while (mode != PS_RUNNING_DEFER && clients.n &&
	       waited < e->cfg->wait_seconds) {
		if (timed_out(e))
			break;
		ps_sys_sleep(e->sys, 1);
		waited++;
		ps_strlist_free(&clients);
		error = running_clients(e, &clients);
		if (error < 0)
			goto done;
	}
	if (!clients.n) {
		ps_log_msg(e->log, PS_LOG_INFO, NULL, NULL, "no MAPI client "
			   "runs any more after %u s; going on", waited);
		goto done;
	}
	*go = 0;
	if (timed_out(e)) {
		snprintf(detail, sizeof(detail), "GlobalTimeoutSeconds ran out "
			 "while %s was running; nothing was changed; retry at "
			 "the next logon", clients.v[0]);
		error = defer_all(e, profiles, 0, PS_ST_DEFERRED_TIMEOUT,
				  detail);
	} else {
		snprintf(detail, sizeof(detail), "%s is running%s; nothing "
			 "was changed; retry at the next logon", clients.v[0],
			 mode == PS_RUNNING_DEFER ? "" : mode ==
			 PS_RUNNING_WAIT ? " (waited WaitSeconds)"
			 : " (asked to close, waited WaitSeconds)");
		error = defer_all(e, profiles, 0, PS_ST_DEFERRED_RUNNING,
				  detail);
	}
done:
	ps_strlist_free(&clients);
	return error;
}

/* Profiles not reached before the deadline are deferred. */
static int out_of_time(ps_engine *e, const ps_strlist *profiles, size_t i)
{
	if (!timed_out(e))
		return 0;
	return defer_all(e, profiles, i, PS_ST_DEFERRED_TIMEOUT,
			 "GlobalTimeoutSeconds ran out before this profile; "
			 "nothing was changed; retry at the next logon") < 0
		? -1 : 1;
}

/* One command over the selected profiles: the guards first, then each
 * profile while the time budget lasts.  A profile's own failure is a row;
 * only running out of memory stops the run. */
typedef int (*profile_fn)(ps_engine *e, const char *profile, int *nothing);

static int each_profile(ps_engine *e, const ps_strlist *profiles,
			profile_fn fn, int *nothing)
{
	size_t i;
	int error, go, late = 0;

	*nothing = 1;
	error = guard(e, profiles, &go);
	if (!go)
		*nothing = 0;
	for (i = 0; i < profiles->n && !error && go; i++) {
		late = out_of_time(e, profiles, i);
		if (late) {
			*nothing = 0;
			break;
		}
		error = fn(e, profiles->v[i], nothing);
		if (error < 0)
			error = profile_failed(e, profiles->v[i], error);
		if (e->after_profile)
			e->after_profile(e->after_ctx);
	}
	return late < 0 ? PS_ENOMEM : error;
}

static int update_one(ps_engine *e, const char *profile, int *nothing)
{
	*nothing = 0;
	return update_profile(e, profile);
}

static void put_back_files(ps_engine *e);

int ps_engine_update(ps_engine *e, const ps_strlist *profiles)
{
	int nothing, error;

	if (!e->local_appdata && e->xml && scan_cached(e) < 0)
		return PS_ENOMEM;

	error = each_profile(e, profiles, update_one, &nothing);
	/* A compiled mapping whose page failed its check during a lookup:
	 * the accounts it hid would be reported wrongly, so nothing of this
	 * run is kept (the caller does not commit). */
	if (error == 0 && ps_mapping_lookup_error(e->map)) {
		put_back_files(e);
		return ps_error_setc(PS_EFORMAT, "%s; nothing was changed",
				     ps_mapping_lookup_error(e->map));
	}
	return error;
}

/* The files this run changed, as they were before (newest first). */
static void put_back_files(ps_engine *e)
{
	size_t i;

	for (i = e->ntouched; i-- > 0;) {
		const ps_gen_file *f = &e->touched[i];
		int rc = f->existed ? ps_sys_write_file(e->sys, f->path,
							f->data, f->len)
				    : ps_sys_delete_file(e->sys, f->path);

		if (rc < 0 && rc != PS_ENOTFOUND)
			ps_log_msg(e->log, PS_LOG_ERROR, NULL, NULL, "%s could "
				   "not be put back: %s", f->path,
				   ps_error_last());
	}
}

int ps_engine_commit(ps_engine *e)
{
	size_t i;

	if (e->dry_run || ps_store_flush(e->store) == 0)
		return 0;
	ps_log_msg(e->log, PS_LOG_ERROR, NULL, NULL, "cannot write the "
		   "store: %s", ps_error_last());
	put_back_files(e);
	for (i = 0; i < e->report->n; i++) {
		ps_row *row = &e->report->v[i];
		char *detail;

		if (row->status != PS_ST_UPDATED &&
		    row->status != PS_ST_ROLLED_BACK &&
		    row->status != PS_ST_CLEANED &&
		    row->status != PS_ST_FAILED)
			continue;
		if (row->status == PS_ST_FAILED) {
			ps_buf b = PS_BUF_INIT;

			ps_buf_printf(&b, "%s; the store could not be written "
				      "either; nothing was changed",
				      row->detail);
			detail = ps_buf_detach(&b);
		} else {
			detail = ps_strdup("the store could not be written; "
					   "nothing was changed");
		}
		if (!detail)
			return PS_ENOMEM;
		row->status = PS_ST_FAILED;
		free(row->detail);
		row->detail = detail;
	}
	return PS_EIO;
}

static int report_gen(ps_engine *e, const char *profile,
		      const ps_generation *g, ps_status st,
		      const char *detail)
{
	size_t i;
	int error = 0;

	for (i = 0; i < g->nunits && !error; i++) {
		ps_log_msg(e->log, PS_LOG_INFO, profile, g->units[i].account,
			   "%s: %s", ps_status_name(st), detail);
		error = ps_report_add(e->report, profile,
				      g->units[i].account,
				      g->units[i].source_dn,
				      g->units[i].target_dn, st, detail);
	}
	return error;
}

/* Roll back one profile: interrupted (pending) generations first, then
 * the newest committed generation, or every one with --all. */
static int rollback_profile(ps_engine *e, const char *profile, int *nothing)
{
	ps_generation *gens = NULL;
	size_t n = 0, k;
	int error, committed = 0;
	char detail[128];

	error = list_gens(e, profile, &gens, &n);
	if (error < 0)
		return error;
	if (n)
		*nothing = 0;
	for (k = n; k-- > 0 && !error;) {
		int pending = gens[k].state == PS_GEN_PENDING;

		if (gens[k].damaged) {
			error = ps_error_setc(PS_EFORMAT, "backup generation "
				"%02x is damaged; nothing older can be rolled "
				"back ('profswitch cleanup' removes the backup)",
				gens[k].number);
			break;
		}
		if (!pending && committed && !e->all)
			continue;
		committed |= !pending;
		snprintf(detail, sizeof(detail), "restored backup generation "
			 "%02x%s", gens[k].number,
			 pending ? " (an interrupted update)" : "");
		if (!e->dry_run)
			error = undo_gen(e, profile, &gens[k]);
		if (!error)
			error = report_gen(e, profile, &gens[k],
					   PS_ST_ROLLED_BACK, detail);
	}
	ps_gens_free(gens, n);
	return error;
}

int ps_engine_rollback(ps_engine *e, const ps_strlist *profiles,
		       int *nothing)
{
	e->remember = 1;
	return each_profile(e, profiles, rollback_profile, nothing);
}

static int cleanup_profile(ps_engine *e, const char *profile, int *nothing)
{
	ps_generation *gens = NULL;
	size_t n = 0, k;
	ps_uid uid;
	int error = 0;
	char why[128];

	ps_backup_uid(&uid);
	/* Interrupted updates are restored first; a damaged generation
	 * cannot be, and cleanup (forgetting backups) removes it. */
	if (!e->dry_run)
		error = recover_pending(e, profile);
	if (error == PS_EFORMAT)
		error = 0;
	if (!error)
		error = list_gens(e, profile, &gens, &n);
	if (error < 0)
		return error;
	if (n)
		*nothing = 0;
	for (k = n; k-- > 0 && !error && !e->dry_run;)
		if (!gens[k].damaged)
			error = restore_outside(e, &gens[k], 1);
	if (n && !e->dry_run && !error)
		error = ps_store_delete_section(e->store, profile, &uid);
	for (k = 0; k < n && !error; k++) {
		if (!gens[k].damaged) {
			error = report_gen(e, profile, &gens[k], PS_ST_CLEANED,
					   "backup removed; rollback is no "
					   "longer possible");
			continue;
		}
		snprintf(why, sizeof(why), "damaged backup generation %02x "
			 "removed", gens[k].number);
		ps_log_msg(e->log, PS_LOG_WARN, profile, NULL, "%s", why);
		error = ps_report_add(e->report, profile, NULL, NULL, NULL,
				      PS_ST_CLEANED, why);
	}
	ps_gens_free(gens, n);
	return error;
}

int ps_engine_cleanup(ps_engine *e, const ps_strlist *profiles,
		      int *nothing)
{
	e->remember = 1;
	return each_profile(e, profiles, cleanup_profile, nothing);
}
