/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tmpl: loading templates from files and template folders (sets).
 * The parser is in tmpl_parse.c and the renderer in tmpl_render.c.
 */
#include "config.h"

#include "tmpl/tmpl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl/tmpl_int.h"
#include "util.h"

static const char *const tmpl_parts[] = { "subject", "text", "html" };
#define TMPL_NPARTS UTIL_ARRAY_LEN(tmpl_parts)

struct tmpl_named {
	char *name;
	struct tmpl *t;
};

struct tmpl_kind {
	char *name;
	struct tmpl *parts[TMPL_NPARTS];
};

struct tmpl_set {
	struct tmpl_kind *kinds; /* sorted by name */
	size_t nkinds;
	struct tmpl_named *partials; /* sorted by name */
	size_t npartials;
	struct tmpl_partials lookup;
	char *pdir; /* the partials folder, for messages; NULL if none */
};

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->file);
	free(t->src);
	free(t->names);
	free(t->nodes);
	free(t);
}

const char *
tmpl_file(const struct tmpl *t)
{
	return t->file;
}

struct tmpl *
tmpl_load(const char *path, struct tmpl_error *err)
{
	struct buf b;
	struct tmpl *t;
	int ret;

	buf_init(&b);
	ret = util_read_file(path, TMPL_MAX_SIZE, &b);
	if (ret != 0) {
		tmpl_error_set(err, path, NULL, 0, "%s",
		    ret == -EFBIG ? "template larger than 1 MiB"
				  : strerror(-ret));
		buf_fini(&b);
		return NULL;
	}
	t = tmpl_compile(path, b.data != NULL ? b.data : "", b.len, err);
	buf_fini(&b);
	return t;
}

const char *
tmpl_error_format(const struct tmpl_error *err, char *dst, size_t size)
{
	if (err->line > 0)
		(void)snprintf(dst, size, "%s:%d:%d: %s", err->file, err->line,
		    err->column, err->msg);
	else
		(void)snprintf(dst, size, "%s: %s", err->file, err->msg);
	return dst;
}

static int
tmpl_named_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tmpl_named *)a)->name,
	    ((const struct tmpl_named *)b)->name);
}

static int
tmpl_kind_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tmpl_kind *)a)->name,
	    ((const struct tmpl_kind *)b)->name);
}

static const struct tmpl *
tmpl_set_partial(void *arg, const char *name)
{
	const struct tmpl_set *s = arg;
	struct tmpl_named key = { (char *)name, NULL };
	const struct tmpl_named *found;

	if (s->npartials == 0)
		return NULL;
	found = bsearch(
	    &key, s->partials, s->npartials, sizeof(key), tmpl_named_cmp);
	return found != NULL ? found->t : NULL;
}

static const struct tmpl_kind *
tmpl_set_find(const struct tmpl_set *s, const char *kind)
{
	struct tmpl_kind key;

	if (s->nkinds == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.name = (char *)kind;
	return bsearch(&key, s->kinds, s->nkinds, sizeof(key), tmpl_kind_cmp);
}

/* The names in dir, sorted, without those starting with '.'. */
static int
tmpl_list(const char *dir, char ***names, size_t *n)
{
	DIR *d;
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	d = opendir(dir);
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap != 0 ? cap * 2 : 16;
			*names = xreallocarray(*names, cap, sizeof(**names));
		}
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	return 0;
}

static void
tmpl_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool
tmpl_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && strcmp(s + a - b, suffix) == 0;
}

/* Compiles dir/NAME.mustache as partial NAME; a missing folder is an
 * error only when `required`. */
static int
tmpl_set_read_partials(
    struct tmpl_set *s, const char *dir, bool required, struct tmpl_error *err)
{
	char **names;
	size_t n;
	int ret;

	ret = tmpl_list(dir, &names, &n);
	if (ret == -ENOENT && !required)
		return 0;
	if (ret != 0) {
		tmpl_error_set(err, dir, NULL, 0, "%s", strerror(-ret));
		return ret;
	}
	s->partials = xcalloc(n + 1, sizeof(*s->partials));
	for (size_t i = 0; i < n && ret == 0; i++) {
		char *path;
		struct tmpl *t;

		if (!tmpl_has_suffix(names[i], ".mustache"))
			continue;
		path = xasprintf("%s/%s", dir, names[i]);
		t = tmpl_load(path, err);
		free(path);
		if (t == NULL) {
			ret = -EINVAL;
			break;
		}
		names[i][strlen(names[i]) - strlen(".mustache")] = '\0';
		s->partials[s->npartials].name = xstrdup(names[i]);
		s->partials[s->npartials].t = t;
		s->npartials++;
	}
	tmpl_list_free(names, n);
	if (s->npartials > 0)
		qsort(s->partials, s->npartials, sizeof(*s->partials),
		    tmpl_named_cmp);
	return ret;
}

static int
tmpl_set_load_kind(struct tmpl_kind *k, const char *dir, const char *name,
    struct tmpl_error *err)
{
	k->name = xstrdup(name);
	for (size_t p = 0; p < TMPL_NPARTS; p++) {
		char *path =
		    xasprintf("%s/%s/%s.mustache", dir, name, tmpl_parts[p]);

		k->parts[p] = tmpl_load(path, err);
		free(path);
		if (k->parts[p] == NULL)
			return -EINVAL;
	}
	return 0;
}

int
tmpl_set_check(
    const struct tmpl_set *s, const struct tmpl *t, struct tmpl_error *err)
{
	char *msg;

	for (size_t i = 0; i < t->nnodes; i++) {
		const struct tmpl_node *n = &t->nodes[i];

		if ((n->op != TMPL_OP_PARTIAL && n->op != TMPL_OP_PARENT) ||
		    (n->flags & TMPL_NODE_DYNAMIC) != 0)
			continue;
		if (tmpl_set_partial((void *)s, n->s) != NULL)
			continue;
		if (err == NULL)
			return -ENOENT;
		(void)snprintf(err->file, sizeof(err->file), "%s", t->file);
		err->line = n->line;
		err->column = n->column;
		if (s->pdir != NULL)
			msg = xasprintf("no partial '%s' (looked for "
					"%s/%s.mustache)",
			    n->s, s->pdir, n->s);
		else
			msg = xasprintf("no partial '%s' (no partials folder "
					"given)",
			    n->s);
		(void)snprintf(err->msg, sizeof(err->msg), "%s", msg);
		free(msg);
		return -ENOENT;
	}
	return 0;
}

const struct tmpl_partials *
tmpl_set_partials(const struct tmpl_set *s)
{
	return &s->lookup;
}

static struct tmpl_set *
tmpl_set_new(const char *pdir)
{
	struct tmpl_set *s = xcalloc(1, sizeof(*s));

	s->lookup.get = tmpl_set_partial;
	s->lookup.arg = s;
	s->pdir = pdir != NULL ? xstrdup(pdir) : NULL;
	return s;
}

struct tmpl_set *
tmpl_set_load_partials(const char *dir, struct tmpl_error *err)
{
	struct tmpl_error scratch;
	struct tmpl_set *s;
	int ret = 0;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	s = tmpl_set_new(dir);
	if (dir != NULL)
		ret = tmpl_set_read_partials(s, dir, true, err);
	for (size_t i = 0; i < s->npartials && ret == 0; i++)
		ret = tmpl_set_check(s, s->partials[i].t, err);
	if (ret != 0) {
		tmpl_set_free(s);
		return NULL;
	}
	return s;
}

struct tmpl_set *
tmpl_set_load(const char *dir, struct tmpl_error *err)
{
	struct tmpl_error scratch;
	struct tmpl_set *s;
	char **names;
	size_t n;
	char *pdir;
	int ret;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	ret = tmpl_list(dir, &names, &n);
	if (ret != 0) {
		tmpl_error_set(err, dir, NULL, 0, "%s", strerror(-ret));
		return NULL;
	}
	pdir = xasprintf("%s/partials", dir);
	s = tmpl_set_new(pdir);
	ret = tmpl_set_read_partials(s, pdir, false, err);
	free(pdir);
	s->kinds = xcalloc(n + 1, sizeof(*s->kinds));
	for (size_t i = 0; i < n && ret == 0; i++) {
		char *sub;
		DIR *d;

		if (strcmp(names[i], "partials") == 0)
			continue;
		sub = xasprintf("%s/%s", dir, names[i]);
		d = opendir(sub);
		free(sub);
		if (d == NULL)
			continue; /* a file beside the folders: not a kind */
		closedir(d);
		ret = tmpl_set_load_kind(
		    &s->kinds[s->nkinds++], dir, names[i], err);
	}
	tmpl_list_free(names, n);
	if (ret == 0 && s->nkinds == 0) {
		tmpl_error_set(err, dir, NULL, 0,
		    "no message kinds (KIND/subject.mustache, text.mustache, "
		    "html.mustache)");
		ret = -ENOENT;
	}
	if (ret == 0)
		qsort(s->kinds, s->nkinds, sizeof(*s->kinds), tmpl_kind_cmp);
	for (size_t i = 0; i < s->nkinds && ret == 0; i++)
		for (size_t p = 0; p < TMPL_NPARTS && ret == 0; p++)
			ret = tmpl_set_check(s, s->kinds[i].parts[p], err);
	for (size_t i = 0; i < s->npartials && ret == 0; i++)
		ret = tmpl_set_check(s, s->partials[i].t, err);
	if (ret != 0) {
		tmpl_set_free(s);
		return NULL;
	}
	return s;
}

void
tmpl_set_free(struct tmpl_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nkinds; i++) {
		free(s->kinds[i].name);
		for (size_t p = 0; p < TMPL_NPARTS; p++)
			tmpl_free(s->kinds[i].parts[p]);
	}
	for (size_t i = 0; i < s->npartials; i++) {
		free(s->partials[i].name);
		tmpl_free(s->partials[i].t);
	}
	free(s->kinds);
	free(s->partials);
	free(s->pdir);
	free(s);
}

bool
tmpl_set_has(const struct tmpl_set *s, const char *kind)
{
	return tmpl_set_find(s, kind) != NULL;
}

size_t
tmpl_set_count(const struct tmpl_set *s)
{
	return s->nkinds;
}

const char *
tmpl_set_kind(const struct tmpl_set *s, size_t i)
{
	return s->kinds[i].name;
}

int
tmpl_set_render(const struct tmpl_set *s, const char *kind, const char *part,
    const json_t *ctx, struct buf *out)
{
	const struct tmpl_kind *k = tmpl_set_find(s, kind);

	if (k == NULL)
		return -ENOENT;
	for (size_t p = 0; p < TMPL_NPARTS; p++)
		if (strcmp(part, tmpl_parts[p]) == 0)
			return tmpl_render(k->parts[p], ctx, &s->lookup,
			    strcmp(part, "html") == 0 ? TMPL_ESCAPE_HTML
						      : TMPL_ESCAPE_NONE,
			    out);
	return -ENOENT;
}
