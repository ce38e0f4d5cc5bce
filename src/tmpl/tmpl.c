/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tmpl: loading templates from files and template folders (sets).
 * The parser is in tmpl_parse.c and the renderer in tmpl_render.c.
 */
#include "config.h"

#include "tmpl/tmpl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "lang.h"
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

/* A language's folder (DIR/LANG/): the files it has, each over the
 * base set's file of the same name. A kind's parts may be NULL. */
struct tmpl_lang {
	char *tag;               /* the folder's name, as written */
	struct tmpl_kind *kinds; /* sorted by name */
	size_t nkinds;
	struct tmpl_named *partials; /* sorted by name */
	size_t npartials;
	struct tmpl_partials lookup; /* its partials, then the base's */
	const struct tmpl_set *base;
	char *pdir;
};

struct tmpl_set {
	struct tmpl_kind *kinds; /* sorted by name */
	size_t nkinds;
	struct tmpl_named *partials; /* sorted by name */
	size_t npartials;
	struct tmpl_partials lookup;
	char *pdir; /* the partials folder, for messages; NULL if none */
	struct tmpl_lang *langs; /* sorted by tag */
	size_t nlangs;
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
tmpl_named_find(const struct tmpl_named *v, size_t n, const char *name)
{
	struct tmpl_named key = { (char *)name, NULL };
	const struct tmpl_named *found;

	if (n == 0)
		return NULL;
	found = bsearch(&key, v, n, sizeof(key), tmpl_named_cmp);
	return found != NULL ? found->t : NULL;
}

static const struct tmpl *
tmpl_set_partial(void *arg, const char *name)
{
	const struct tmpl_set *s = arg;

	return tmpl_named_find(s->partials, s->npartials, name);
}

/* A language's partial, else the base set's of the same name. */
static const struct tmpl *
tmpl_lang_partial(void *arg, const char *name)
{
	const struct tmpl_lang *l = arg;
	const struct tmpl *t = tmpl_named_find(l->partials, l->npartials, name);

	return t != NULL ? t : tmpl_set_partial((void *)l->base, name);
}

static const struct tmpl_kind *
tmpl_kind_find(const struct tmpl_kind *v, size_t n, const char *kind)
{
	struct tmpl_kind key;

	if (n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.name = (char *)kind;
	return bsearch(&key, v, n, sizeof(key), tmpl_kind_cmp);
}

static const struct tmpl_kind *
tmpl_set_find(const struct tmpl_set *s, const char *kind)
{
	return tmpl_kind_find(s->kinds, s->nkinds, kind);
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

/* Compiles dir/NAME.mustache as partial NAME into *partials; a missing
 * folder is an error only when `required`. */
static int
tmpl_read_partials(struct tmpl_named **partials, size_t *npartials,
    const char *dir, bool required, struct tmpl_error *err)
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
	*partials = xcalloc(n + 1, sizeof(**partials));
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
		(*partials)[*npartials].name = xstrdup(names[i]);
		(*partials)[*npartials].t = t;
		(*npartials)++;
	}
	tmpl_list_free(names, n);
	if (*npartials > 0)
		qsort(
		    *partials, *npartials, sizeof(**partials), tmpl_named_cmp);
	return ret;
}

static int
tmpl_set_read_partials(
    struct tmpl_set *s, const char *dir, bool required, struct tmpl_error *err)
{
	return tmpl_read_partials(
	    &s->partials, &s->npartials, dir, required, err);
}

/* Compiles dir/name/PART.mustache; a language's folder (optional) may
 * lack any of them. */
static int
tmpl_set_load_kind(struct tmpl_kind *k, const char *dir, const char *name,
    bool optional, struct tmpl_error *err)
{
	k->name = xstrdup(name);
	for (size_t p = 0; p < TMPL_NPARTS; p++) {
		char *path =
		    xasprintf("%s/%s/%s.mustache", dir, name, tmpl_parts[p]);

		if (optional && access(path, F_OK) != 0) {
			free(path);
			continue;
		}
		k->parts[p] = tmpl_load(path, err);
		free(path);
		if (k->parts[p] == NULL)
			return -EINVAL;
	}
	return 0;
}

/* Checks the partials t names against lookup (the set's or a
 * language's); pdir names the folder looked in, for the message. */
static int
tmpl_check_names(const struct tmpl_partials *lookup, const char *pdir,
    const struct tmpl *t, struct tmpl_error *err)
{
	char *msg;

	for (size_t i = 0; i < t->nnodes; i++) {
		const struct tmpl_node *n = &t->nodes[i];

		if ((n->op != TMPL_OP_PARTIAL && n->op != TMPL_OP_PARENT) ||
		    (n->flags & TMPL_NODE_DYNAMIC) != 0)
			continue;
		if (lookup->get(lookup->arg, n->s) != NULL)
			continue;
		if (err == NULL)
			return -ENOENT;
		(void)snprintf(err->file, sizeof(err->file), "%s", t->file);
		err->line = n->line;
		err->column = n->column;
		if (pdir != NULL)
			msg = xasprintf("no partial '%s' (looked for "
					"%s/%s.mustache)",
			    n->s, pdir, n->s);
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

int
tmpl_set_check(
    const struct tmpl_set *s, const struct tmpl *t, struct tmpl_error *err)
{
	return tmpl_check_names(&s->lookup, s->pdir, t, err);
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

/* True if dir/name is a language's folder: named as a BCP 47 tag
 * ("cy", "cy-GB") and not a kind (no subject.mustache in it). */
static bool
tmpl_is_lang_dir(const char *dir, const char *name)
{
	char *path;
	bool kind;

	if (!lang_tag_valid(name))
		return false;
	path = xasprintf("%s/%s/subject.mustache", dir, name);
	kind = access(path, F_OK) == 0;
	free(path);
	return !kind;
}

static bool
tmpl_is_dir(const char *dir, const char *name)
{
	char *sub = xasprintf("%s/%s", dir, name);
	DIR *d = opendir(sub);

	free(sub);
	if (d == NULL)
		return false;
	closedir(d);
	return true;
}

static int
tmpl_lang_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct tmpl_lang *)a)->tag,
	    ((const struct tmpl_lang *)b)->tag);
}

static void
tmpl_kinds_free(struct tmpl_kind *kinds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kinds[i].name);
		for (size_t p = 0; p < TMPL_NPARTS; p++)
			tmpl_free(kinds[i].parts[p]);
	}
	free(kinds);
}

static void
tmpl_named_free(struct tmpl_named *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		tmpl_free(v[i].t);
	}
	free(v);
}

/*
 * Loads the language folder dir/tag: its partials, and a folder per kind
 * holding any of the kind's parts. A kind the base set does not have is
 * refused (a misspelt folder would otherwise be ignored in silence).
 */
static int
tmpl_lang_load(struct tmpl_lang *l, const struct tmpl_set *base,
    const char *dir, const char *tag, struct tmpl_error *err)
{
	char *ldir = xasprintf("%s/%s", dir, tag), **names;
	size_t n;
	int ret;

	l->tag = xstrdup(tag);
	l->base = base;
	l->lookup.get = tmpl_lang_partial;
	l->lookup.arg = l;
	l->pdir = xasprintf("%s/partials", ldir);
	names = NULL;
	n = 0;
	ret = tmpl_read_partials(
	    &l->partials, &l->npartials, l->pdir, false, err);
	if (ret == 0) {
		ret = tmpl_list(ldir, &names, &n);
		if (ret != 0)
			tmpl_error_set(
			    err, ldir, NULL, 0, "%s", strerror(-ret));
	}
	l->kinds = xcalloc(n + 1, sizeof(*l->kinds));
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (strcmp(names[i], "partials") == 0 ||
		    !tmpl_is_dir(ldir, names[i]))
			continue;
		if (tmpl_set_find(base, names[i]) == NULL) {
			char *path = xasprintf("%s/%s", ldir, names[i]);

			tmpl_error_set(err, path, NULL, 0,
			    "no message kind '%s' in %s to translate", names[i],
			    dir);
			free(path);
			ret = -ENOENT;
			break;
		}
		ret = tmpl_set_load_kind(
		    &l->kinds[l->nkinds++], ldir, names[i], true, err);
	}
	tmpl_list_free(names, n);
	if (ret == 0 && l->nkinds > 0)
		qsort(l->kinds, l->nkinds, sizeof(*l->kinds), tmpl_kind_cmp);
	for (size_t i = 0; i < l->nkinds && ret == 0; i++)
		for (size_t p = 0; p < TMPL_NPARTS && ret == 0; p++)
			if (l->kinds[i].parts[p] != NULL)
				ret = tmpl_check_names(&l->lookup, l->pdir,
				    l->kinds[i].parts[p], err);
	for (size_t i = 0; i < l->npartials && ret == 0; i++)
		ret = tmpl_check_names(
		    &l->lookup, l->pdir, l->partials[i].t, err);
	free(ldir);
	return ret;
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
		if (strcmp(names[i], "partials") == 0)
			continue;
		if (!tmpl_is_dir(dir, names[i]))
			continue; /* a file beside the folders: not a kind */
		if (tmpl_is_lang_dir(dir, names[i]))
			continue; /* read below, once the base is whole */
		ret = tmpl_set_load_kind(
		    &s->kinds[s->nkinds++], dir, names[i], false, err);
	}
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
	s->langs = xcalloc(n + 1, sizeof(*s->langs));
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (strcmp(names[i], "partials") == 0 ||
		    !tmpl_is_dir(dir, names[i]) ||
		    !tmpl_is_lang_dir(dir, names[i]))
			continue;
		ret = tmpl_lang_load(
		    &s->langs[s->nlangs++], s, dir, names[i], err);
	}
	tmpl_list_free(names, n);
	if (ret == 0 && s->nlangs > 1)
		qsort(s->langs, s->nlangs, sizeof(*s->langs), tmpl_lang_cmp);
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
	tmpl_kinds_free(s->kinds, s->nkinds);
	tmpl_named_free(s->partials, s->npartials);
	for (size_t i = 0; i < s->nlangs; i++) {
		tmpl_kinds_free(s->langs[i].kinds, s->langs[i].nkinds);
		tmpl_named_free(s->langs[i].partials, s->langs[i].npartials);
		free(s->langs[i].tag);
		free(s->langs[i].pdir);
	}
	free(s->langs);
	free(s->pdir);
	free(s);
}

size_t
tmpl_set_language_count(const struct tmpl_set *s)
{
	return s->nlangs;
}

const char *
tmpl_set_language(const struct tmpl_set *s, size_t i)
{
	return i < s->nlangs ? s->langs[i].tag : NULL;
}

static const struct tmpl_lang *
tmpl_set_lang(const struct tmpl_set *s, const char *tag)
{
	char primary[LANG_TAG_MAX];

	if (tag == NULL)
		return NULL;
	for (size_t i = 0; i < s->nlangs; i++)
		if (strcasecmp(s->langs[i].tag, tag) == 0)
			return &s->langs[i];
	/* "cy-GB" reads the "cy" folder when there is no "cy-GB" one. */
	lang_primary(tag, primary);
	for (size_t i = 0; i < s->nlangs; i++)
		if (strcasecmp(s->langs[i].tag, primary) == 0)
			return &s->langs[i];
	return NULL;
}

int
tmpl_set_render_partial(const struct tmpl_set *s, const char *language,
    const char *name, enum tmpl_escape esc, const json_t *ctx, struct buf *out)
{
	const struct tmpl_lang *l = tmpl_set_lang(s, language);
	const struct tmpl_partials *lookup =
	    l != NULL ? &l->lookup : &s->lookup;
	const struct tmpl *t = lookup->get(lookup->arg, name);

	if (t == NULL)
		return -ENOENT;
	return tmpl_render(t, ctx, lookup, esc, out);
}

const char *
tmpl_set_match_language(const struct tmpl_set *s, const char *tag)
{
	const struct tmpl_lang *l = tmpl_set_lang(s, tag);

	return l != NULL ? l->tag : NULL;
}

/* Whether the character at s[j] ends a tag (state 1), a comment
 * ("-->" or a conditional comment's "]>", state 2) or a character
 * reference (state 3). */
static bool
tmpl_words_close(int state, const char *s, size_t j, size_t len)
{
	(void)len;
	switch (state) {
	case 1:
		return s[j] == '>';
	case 2:
		return s[j] == '>' &&
		    ((j >= 2 && s[j - 1] == '-' && s[j - 2] == '-') ||
			(j >= 1 && s[j - 1] == ']'));
	case 3:
		return s[j] == ';' || s[j] == ' ';
	default:
		return false;
	}
}

/*
 * True if t has words of its own to translate: a letter in its text
 * outside HTML tags, comments and character references. A layout of
 * markup and names only ("layout", "button") reads the same in every
 * language, so a language folder need not copy it.
 */
static bool
tmpl_has_words(const struct tmpl *t)
{
	int state = 0; /* 0 text, 1 in a tag, 2 in a comment, 3 in a ref */

	for (size_t i = 0; i < t->nnodes; i++) {
		const struct tmpl_node *n = &t->nodes[i];

		if (n->op != TMPL_OP_TEXT)
			continue;
		for (size_t j = 0; j < n->len; j++) {
			const char *c = n->s + j;

			if (state == 0 && *c == '<' && j + 3 < n->len &&
			    strncmp(c, "<!--", 4) == 0)
				state = 2;
			else if (state == 0 && *c == '<')
				state = 1;
			else if (state == 0 && *c == '&')
				state = 3;
			else if (state == 0 &&
			    (isalpha((unsigned char)*c) ||
				(unsigned char)*c >= 0x80))
				return true;
			else if (tmpl_words_close(state, n->s, j, n->len))
				state = 0;
		}
	}
	return false;
}

size_t
tmpl_set_missing(const struct tmpl_set *s, const char *tag,
    void (*fn)(void *arg, const char *file), void *arg)
{
	const struct tmpl_lang *l = tmpl_set_lang(s, tag);
	const struct tmpl_kind *k;
	size_t missing = 0;
	char *file;

	for (size_t i = 0; i < s->nkinds; i++) {
		k = l != NULL
		    ? tmpl_kind_find(l->kinds, l->nkinds, s->kinds[i].name)
		    : NULL;
		for (size_t p = 0; p < TMPL_NPARTS; p++) {
			if (k != NULL && k->parts[p] != NULL)
				continue;
			file = xasprintf(
			    "%s/%s.mustache", s->kinds[i].name, tmpl_parts[p]);
			fn(arg, file);
			free(file);
			missing++;
		}
	}
	for (size_t i = 0; i < s->npartials; i++) {
		if (!tmpl_has_words(s->partials[i].t))
			continue;
		if (l != NULL &&
		    tmpl_named_find(
			l->partials, l->npartials, s->partials[i].name) != NULL)
			continue;
		file = xasprintf("partials/%s.mustache", s->partials[i].name);
		fn(arg, file);
		free(file);
		missing++;
	}
	return missing;
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
	return tmpl_set_render_lang(s, NULL, kind, part, ctx, out);
}

int
tmpl_set_render_lang(const struct tmpl_set *s, const char *language,
    const char *kind, const char *part, const json_t *ctx, struct buf *out)
{
	const struct tmpl_kind *k = tmpl_set_find(s, kind), *lk = NULL;
	const struct tmpl_lang *l = tmpl_set_lang(s, language);
	const struct tmpl_partials *lookup = &s->lookup;
	const struct tmpl *t;

	if (k == NULL)
		return -ENOENT;
	if (l != NULL) {
		lookup = &l->lookup;
		lk = tmpl_kind_find(l->kinds, l->nkinds, kind);
	}
	for (size_t p = 0; p < TMPL_NPARTS; p++) {
		if (strcmp(part, tmpl_parts[p]) != 0)
			continue;
		t = lk != NULL && lk->parts[p] != NULL ? lk->parts[p]
						       : k->parts[p];
		return tmpl_render(t, ctx, lookup,
		    strcmp(part, "html") == 0 ? TMPL_ESCAPE_HTML
					      : TMPL_ESCAPE_NONE,
		    out);
	}
	return -ENOENT;
}
