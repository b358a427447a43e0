/*
 * The mock's scenario: server.ini (docs/mock-autodiscover.md) and the Body
 * files it names.
 */
#include "fad.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_ini.h"

/* Largest server.ini and Body file read. */
#define FAD_MAX_FILE (16u * 1024u * 1024u)

enum {
	K_METHOD = 1u << 0,
	K_SCHEME = 1u << 1,
	K_HOST = 1u << 2,
	K_PATH = 1u << 3,
	K_EMAIL = 1u << 4,
	K_STATUS = 1u << 5,
	K_BODY = 1u << 6,
	K_CTYPE = 1u << 7,
	K_LOCATION = 1u << 8,
	K_DELAY = 1u << 9,
	K_DROP = 1u << 10,
	K_TRUNCATE = 1u << 11,
	K_AUTH = 1u << 12
};

static const struct {
	const char *name;
	unsigned bit;
} rule_keys[] = {
	{ "Method", K_METHOD }, { "Scheme", K_SCHEME }, { "Host", K_HOST },
	{ "Path", K_PATH }, { "Email", K_EMAIL }, { "Status", K_STATUS },
	{ "Body", K_BODY }, { "ContentType", K_CTYPE },
	{ "Location", K_LOCATION }, { "DelayMs", K_DELAY },
	{ "Drop", K_DROP }, { "Truncate", K_TRUNCATE },
	{ "RequireAuth", K_AUTH }
};

#define DEFAULT_CONTENT_TYPE "text/xml; charset=utf-8"

enum { IN_NONE, IN_SERVER, IN_RULE };

struct load_ctx {
	fad_scenario *sc;
	int in;
};

int fad_read_file(char **out, size_t *len, const char *path, size_t max)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ps_error_setc(errno == ENOENT ? PS_ENOTFOUND : PS_EIO,
				     "%s: cannot open: %s", path,
				     strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = ps_error_setc(PS_EIO, "%s: cannot stat: %s", path,
				   strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ps_error_setc(PS_EIO, "%s: not a regular file", path);
		goto cleanup;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = ps_error_setc(PS_ELIMIT, "%s: larger than %zu bytes",
				   path, max);
		goto cleanup;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		rc = ps_error_setc(PS_ENOMEM, "out of memory");
		goto cleanup;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ps_error_setc(PS_EIO, "%s: read failed: %s",
					   path, strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;  /* shrank meanwhile: take what is there */
		got += (size_t)n;
	}
	data[got] = '\0';
	*out = data;
	*len = got;
	data = NULL;
	rc = 0;
cleanup:
	free(data);
	(void)close(fd);
	return rc;
}

/* Decimal digits only, at most max. */
static int parse_num(unsigned long long *out, const char *v,
		     unsigned long long max)
{
	unsigned long long n = 0;

	if (!*v)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (unsigned)(*v - '0');
		if (n > max)
			return -1;
	}
	*out = n;
	return 0;
}

static int parse_bool(int *out, const char *v)
{
	if (!strcmp(v, "1")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "0")) {
		*out = 0;
		return 0;
	}
	return -1;
}

static char *lowercase_dup(const char *v)
{
	char *s = ps_strdup(v), *p;

	if (s)
		for (p = s; *p; p++)
			*p = (char)ps_tolower((unsigned char)*p);
	return s;
}

static int set_str(char **field, const char *v)
{
	char *s = ps_strdup(v);

	if (!s)
		return PS_ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

static int section_cb(void *vctx, const char *section, unsigned line)
{
	struct load_ctx *ctx = vctx;
	fad_scenario *sc = ctx->sc;
	fad_rule *r;
	const char *name;
	size_t i;

	if (!ps_strcasecmp(section, "Server")) {
		ctx->in = IN_SERVER;
		return 0;
	}
	if (ps_strncasecmp(section, "Rule", 4) ||
	    (section[4] && section[4] != ' ' && section[4] != '\t'))
		return ps_error_setc(PS_EFORMAT, "%s:%u: unknown section "
				     "[%s]: use [Server] or [Rule NAME]",
				     sc->ini, line, section);
	name = section + 4;
	while (*name == ' ' || *name == '\t')
		name++;
	for (i = 0; i < sc->nrules; i++)
		if (!strcmp(sc->rules[i].name, name))
			return ps_error_setc(PS_EFORMAT, "%s:%u: a second "
					     "[Rule %s] (the first is on line "
					     "%u): give each rule its own "
					     "name", sc->ini, line, name,
					     sc->rules[i].line);
	if (sc->nrules == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 8;
		fad_rule *v = realloc(sc->rules, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		sc->rules = v;
		sc->cap = cap;
	}
	r = &sc->rules[sc->nrules];
	memset(r, 0, sizeof(*r));
	r->line = line;
	r->status = 200;
	r->truncate = -1;
	r->name = ps_strdup(name);
	if (!r->name)
		return PS_ENOMEM;
	sc->nrules++;
	ctx->in = IN_RULE;
	return 0;
}

static int server_key(struct load_ctx *ctx, const char *key,
		      const char *value, unsigned line)
{
	fad_scenario *sc = ctx->sc;

	if (!ps_strcasecmp(key, "Hosts")) {
		char *copy = lowercase_dup(value), *tok, *save = NULL;
		int rc = 0;

		if (!copy)
			return PS_ENOMEM;
		for (tok = strtok_r(copy, " \t,", &save); tok && !rc;
		     tok = strtok_r(NULL, " \t,", &save))
			rc = ps_strlist_add(&sc->hosts, tok);
		free(copy);
		return rc;
	}
	if (!ps_strcasecmp(key, "Credentials")) {
		const char *colon = strchr(value, ':');

		if (!colon || colon == value)
			return ps_error_setc(PS_EFORMAT, "%s:%u: Credentials "
					     "must be USER:PASSWORD",
					     sc->ini, line);
		return ps_strlist_add(&sc->credentials, value);
	}
	return ps_error_setc(PS_EFORMAT, "%s:%u: unknown key '%s' in "
			     "[Server]: use Hosts or Credentials", sc->ini,
			     line, key);
}

static int load_body(fad_scenario *sc, fad_rule *r, const char *value,
		     unsigned line)
{
	ps_buf path = PS_BUF_INIT;
	char why[512];
	int rc;

	if (value[0] == '/')
		(void)ps_buf_puts(&path, value);
	else
		(void)ps_buf_printf(&path, "%s/%s", sc->dir, value);
	rc = ps_buf_check(&path);
	if (rc < 0)
		goto cleanup;
	free(r->body);
	r->body = NULL;
	rc = fad_read_file(&r->body, &r->body_len, path.ptr, FAD_MAX_FILE);
	if (rc == PS_ENOMEM)
		goto cleanup;
	if (rc < 0) {
		/* The message buffer is also the destination: copy first. */
		(void)snprintf(why, sizeof(why), "%s", ps_error_last());
		rc = ps_error_setc(rc, "%s:%u: Body: %s", sc->ini, line, why);
		goto cleanup;
	}
	rc = set_str(&r->body_file, value);
cleanup:
	ps_buf_free(&path);
	return rc;
}

static int rule_key(struct load_ctx *ctx, const char *key, const char *value,
		    unsigned line)
{
	fad_scenario *sc = ctx->sc;
	fad_rule *r = &sc->rules[sc->nrules - 1];
	unsigned long long n;
	unsigned bit = 0;
	size_t i;

	for (i = 0; i < sizeof(rule_keys) / sizeof(rule_keys[0]); i++)
		if (!ps_strcasecmp(key, rule_keys[i].name))
			bit = rule_keys[i].bit;
	if (!bit)
		return ps_error_setc(PS_EFORMAT, "%s:%u: unknown key '%s' in "
				     "[Rule %s]: see docs/mock-autodiscover.md",
				     sc->ini, line, key, r->name);
	if (r->seen & bit)
		return ps_error_setc(PS_EFORMAT, "%s:%u: %s given twice in "
				     "[Rule %s]", sc->ini, line, key,
				     r->name);
	r->seen |= bit;
	if (!*value && bit != K_CTYPE)
		return ps_error_setc(PS_EFORMAT, "%s:%u: empty value for %s",
				     sc->ini, line, key);
	switch (bit) {
	case K_METHOD:
		for (i = 0; value[i]; i++)
			if (!((value[i] >= 'A' && value[i] <= 'Z') ||
			      (value[i] >= 'a' && value[i] <= 'z')))
				break;
		if (strcmp(value, "*") && value[i])
			return ps_error_setc(PS_EFORMAT, "%s:%u: Method must "
					     "be a method name (POST, GET) or "
					     "*", sc->ini, line);
		return strcmp(value, "*") ? set_str(&r->method, value) : 0;
	case K_SCHEME:
		if (!ps_strcasecmp(value, "https"))
			r->scheme = FAD_HTTPS;
		else if (!ps_strcasecmp(value, "http"))
			r->scheme = FAD_HTTP;
		else if (!strcmp(value, "*"))
			r->scheme = FAD_ANY;
		else
			return ps_error_setc(PS_EFORMAT, "%s:%u: Scheme must "
					     "be https, http or *", sc->ini,
					     line);
		return 0;
	case K_HOST:
		if (value[0] != '[' && strchr(value, ':'))
			return ps_error_setc(PS_EFORMAT, "%s:%u: Host is a "
					     "host name without a port",
					     sc->ini, line);
		r->host = lowercase_dup(value);
		return r->host ? 0 : PS_ENOMEM;
	case K_PATH:
		if (value[0] != '/' || strchr(value, '?'))
			return ps_error_setc(PS_EFORMAT, "%s:%u: Path must "
					     "start with '/' and have no "
					     "query", sc->ini, line);
		return set_str(&r->path, value);
	case K_EMAIL:
		return set_str(&r->email, value);
	case K_STATUS:
		if (parse_num(&n, value, 599) || n < 200)
			return ps_error_setc(PS_EFORMAT, "%s:%u: Status must "
					     "be a number from 200 to 599",
					     sc->ini, line);
		r->status = (int)n;
		return 0;
	case K_BODY:
		return load_body(sc, r, value, line);
	case K_CTYPE:
		if (!*value)
			return 0;  /* ContentType = : no header */
		return set_str(&r->content_type, value);
	case K_LOCATION:
		return set_str(&r->location, value);
	case K_DELAY:
		if (parse_num(&n, value, FAD_MAX_DELAY_MS))
			return ps_error_setc(PS_EFORMAT, "%s:%u: DelayMs must "
					     "be a number of milliseconds "
					     "from 0 to %u", sc->ini, line,
					     FAD_MAX_DELAY_MS);
		r->delay_ms = (unsigned)n;
		return 0;
	case K_DROP:
		if (parse_bool(&r->drop, value))
			return ps_error_setc(PS_EFORMAT, "%s:%u: Drop must be "
					     "0 or 1", sc->ini, line);
		return 0;
	case K_TRUNCATE:
		if (parse_num(&n, value, FAD_MAX_FILE))
			return ps_error_setc(PS_EFORMAT, "%s:%u: Truncate must "
					     "be a number of bytes", sc->ini,
					     line);
		r->truncate = (long long)n;
		r->truncate_line = line;
		return 0;
	default: /* K_AUTH */
		if (!ps_strcasecmp(value, "windows")) {
			r->require_auth = FAD_AUTH_WINDOWS;
			return 0;
		}
		if (parse_bool(&r->require_auth, value))
			return ps_error_setc(PS_EFORMAT, "%s:%u: RequireAuth "
					     "must be 0, 1 (Basic) or windows "
					     "(Negotiate/NTLM)", sc->ini, line);
		return 0;
	}
}

/*
 * A ';' after a space or a tab starts a comment (as in the examples of
 * docs/mock-autodiscover.md); "text/xml; charset=utf-8" keeps its ';'.
 */
static char *strip_comment(char *v)
{
	char *p;
	size_t n;

	for (p = v; *p; p++)
		if (*p == ';' && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	v = ps_trim(v);
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		v++;
	}
	return v;
}

static int key_cb(void *vctx, const char *section, const char *key,
		  const char *value, unsigned line)
{
	struct load_ctx *ctx = vctx;
	char *copy = NULL;
	int rc;

	(void)section;
	if (ctx->in == IN_NONE)
		return ps_error_setc(PS_EFORMAT, "%s:%u: '%s' before any "
				     "section: put it under [Server] or "
				     "[Rule NAME]", ctx->sc->ini, line, key);
	copy = ps_strdup(value);
	if (!copy)
		return PS_ENOMEM;
	if (ctx->in == IN_SERVER)
		rc = server_key(ctx, key, strip_comment(copy), line);
	else
		rc = rule_key(ctx, key, strip_comment(copy), line);
	free(copy);
	return rc;
}

/* What can only be checked once the whole file is read. */
static int check_rules(fad_scenario *sc)
{
	size_t i;

	for (i = 0; i < sc->nrules; i++) {
		fad_rule *r = &sc->rules[i];

		if (r->truncate >= 0 && !r->body)
			return ps_error_setc(PS_EFORMAT, "%s:%u: Truncate "
					     "needs a Body in [Rule %s]",
					     sc->ini, r->truncate_line,
					     r->name);
		if (r->require_auth == FAD_AUTH_BASIC &&
		    !sc->credentials.n)
			return ps_error_setc(PS_EFORMAT, "%s:%u: [Rule %s] has "
					     "RequireAuth = 1 but [Server] "
					     "has no Credentials", sc->ini,
					     r->line, r->name);
		if (r->body && !(r->seen & K_CTYPE)) {
			r->content_type = ps_strdup(DEFAULT_CONTENT_TYPE);
			if (!r->content_type)
				return PS_ENOMEM;
		}
	}
	return 0;
}

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fad_scenario_load(fad_scenario *sc, const char *dir)
{
	struct load_ctx ctx = { sc, IN_NONE };
	ps_buf path = PS_BUF_INIT;
	char *data = NULL;
	size_t len = 0;
	int rc;

	(void)ps_buf_printf(&path, "%s/autodiscover/server.ini", dir);
	rc = ps_buf_check(&path);
	if (rc < 0)
		goto cleanup;
	if (is_file(path.ptr)) {
		ps_buf_clear(&path);
		(void)ps_buf_printf(&path, "%s/autodiscover", dir);
	} else {
		ps_buf_clear(&path);
		(void)ps_buf_printf(&path, "%s/server.ini", dir);
		if (!ps_buf_check(&path) && !is_file(path.ptr)) {
			rc = ps_error_setc(PS_ENOTFOUND, "%s: neither "
					   "autodiscover/server.ini nor "
					   "server.ini found there: give the "
					   "scenario folder or its "
					   "autodiscover folder", dir);
			goto cleanup;
		}
		ps_buf_clear(&path);
		(void)ps_buf_puts(&path, dir);
	}
	rc = ps_buf_check(&path);
	if (rc < 0)
		goto cleanup;
	sc->dir = ps_buf_detach(&path);
	(void)ps_buf_printf(&path, "%s/server.ini", sc->dir);
	rc = ps_buf_check(&path);
	if (rc < 0)
		goto cleanup;
	sc->ini = ps_buf_detach(&path);
	rc = fad_read_file(&data, &len, sc->ini, FAD_MAX_FILE);
	if (rc < 0)
		goto cleanup;
	rc = ps_ini_parse_ex(sc->ini, data, len, section_cb, key_cb, &ctx);
	if (rc < 0)
		goto cleanup;
	rc = check_rules(sc);
cleanup:
	if (rc == PS_ENOMEM && !*ps_error_last())
		(void)ps_error_setc(PS_ENOMEM, "out of memory");
	free(data);
	ps_buf_free(&path);
	return rc;
}

/* Replace %HOST%, %PORT% and %HTTP_PORT% in (*text, *len). */
static int substitute(char **text, size_t *len, unsigned https_port,
		      unsigned http_port)
{
	static const char *const names[] = { "%HOST%", "%PORT%",
					     "%HTTP_PORT%" };
	ps_buf out = PS_BUF_INIT;
	const char *p = *text, *end = *text + *len;
	char *done;
	int rc;

	while (p < end) {
		const char *pct = memchr(p, '%', (size_t)(end - p));
		size_t i, n = 0;

		if (!pct) {
			(void)ps_buf_put(&out, p, (size_t)(end - p));
			break;
		}
		(void)ps_buf_put(&out, p, (size_t)(pct - p));
		for (i = 0; i < 3; i++) {
			n = strlen(names[i]);
			if ((size_t)(end - pct) >= n &&
			    !memcmp(pct, names[i], n))
				break;
		}
		if (i == 0)
			(void)ps_buf_puts(&out, "127.0.0.1");
		else if (i == 1)
			(void)ps_buf_printf(&out, "%u", https_port);
		else if (i == 2)
			(void)ps_buf_printf(&out, "%u", http_port);
		else {
			(void)ps_buf_putc(&out, '%');
			n = 1;
		}
		p = pct + n;
	}
	rc = ps_buf_check(&out);
	if (rc < 0) {
		ps_buf_free(&out);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	*len = out.len;
	done = ps_buf_detach(&out);
	free(*text);
	*text = done;
	return 0;
}

int fad_scenario_bind_ports(fad_scenario *sc, unsigned https_port,
			    unsigned http_port)
{
	size_t i;
	int rc;

	for (i = 0; i < sc->nrules; i++) {
		fad_rule *r = &sc->rules[i];

		if (r->body) {
			rc = substitute(&r->body, &r->body_len, https_port,
					http_port);
			if (rc < 0)
				return rc;
		}
		if (r->location) {
			size_t n = strlen(r->location);

			rc = substitute(&r->location, &n, https_port,
					http_port);
			if (rc < 0)
				return rc;
		}
		if (r->truncate >= 0 &&
		    (unsigned long long)r->truncate >= r->body_len)
			return ps_error_setc(PS_EFORMAT, "%s:%u: Truncate = "
					     "%lld is not shorter than the "
					     "Body '%s' (%zu bytes after "
					     "substitution)", sc->ini,
					     r->truncate_line, r->truncate,
					     r->body_file, r->body_len);
	}
	return 0;
}

void fad_scenario_free(fad_scenario *sc)
{
	size_t i;

	if (!sc)
		return;
	for (i = 0; i < sc->nrules; i++) {
		fad_rule *r = &sc->rules[i];

		free(r->name);
		free(r->method);
		free(r->host);
		free(r->path);
		free(r->email);
		free(r->body_file);
		free(r->body);
		free(r->content_type);
		free(r->location);
	}
	free(sc->rules);
	free(sc->dir);
	free(sc->ini);
	ps_strlist_free(&sc->hosts);
	ps_strlist_free(&sc->credentials);
	memset(sc, 0, sizeof(*sc));
}
