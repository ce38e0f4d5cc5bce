/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tmpl: the Mustache template engine and the template sets of familymail.
 *
 * Templates follow the Mustache spec (comments, set delimiters,
 * interpolation, sections, inverted sections, partials, inheritance with
 * blocks {{$name}} and parents {{<name}}, dynamic partials {{>*name}}).
 * Lambdas are not supported: the data is JSON (jansson's json_t), which
 * holds no code. A template is compiled once into an immutable form that
 * any number of threads may render at the same time; rendering appends to
 * a struct buf and allocates nothing per value.
 *
 * Falsey values for sections are those of JavaScript's !!value, as the
 * spec's example has it: a missing name, null, false, 0, 0.0, "" and [].
 * Everything else, {} included, is truthy.
 *
 * This module is not the place for dates, URLs or other formatting: the
 * callers build the context with values ready to print. It never reads
 * the database, and HTML escaping is its only knowledge of the output.
 */
#ifndef FM_TMPL_H
#define FM_TMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct buf;

/* Limits: a template over TMPL_MAX_SIZE bytes or nested deeper than
 * TMPL_MAX_NESTING sections/blocks is refused when compiled; a render
 * whose recursion (sections, partials, parents, blocks) goes deeper than
 * TMPL_MAX_DEPTH fails with -ELOOP, and one that would write more than
 * TMPL_MAX_OUTPUT bytes or visit more than TMPL_MAX_STEPS template nodes
 * (sections nested over lists multiply) fails with -EFBIG. */
#define TMPL_MAX_SIZE    (1024 * 1024)
#define TMPL_MAX_NESTING 100
#define TMPL_MAX_DEPTH   256
#define TMPL_MAX_OUTPUT  (64 * 1024 * 1024)
#define TMPL_MAX_STEPS   (16 * 1024 * 1024)

struct tmpl;
struct tmpl_set;

/* Where and why a template was refused. line and column count from 1
 * (the column in characters); both are 0 when the error is about the
 * file as a whole (cannot be read, too large). */
struct tmpl_error {
	char file[256];
	int line;
	int column;
	char msg[256];
};

enum tmpl_escape {
	TMPL_ESCAPE_NONE,
	TMPL_ESCAPE_HTML, /* {{x}} escapes & < > " ' ; {{{x}}} and {{&x}} do not */
};

/* How a render finds the partials and parents it names: get() returns
 * the compiled template for a name, or NULL when there is none (which
 * renders as the empty string, as the spec says). The template must stay
 * alive until the render returns. */
struct tmpl_partials {
	const struct tmpl *(*get)(void *arg, const char *name);
	void *arg;
};

/*
 * Compiles src[0..len) (need not be NUL-terminated). file names the
 * template in errors and may be NULL. Returns the template (free with
 * tmpl_free) or NULL with *err filled (err may be NULL).
 */
struct tmpl *tmpl_compile(
    const char *file, const char *src, size_t len, struct tmpl_error *err);

/* Reads and compiles the file at path. NULL with *err filled when it
 * cannot be read, is larger than TMPL_MAX_SIZE, or does not compile. */
struct tmpl *tmpl_load(const char *path, struct tmpl_error *err);

void tmpl_free(struct tmpl *t);

/* The name given to tmpl_compile ("<template>" if none). */
const char *tmpl_file(const struct tmpl *t);

/*
 * Renders t with ctx as the root of the context stack (NULL renders as
 * an empty context), appending to out. partials may be NULL (no
 * partials). Returns 0, -ELOOP when recursion goes deeper than
 * TMPL_MAX_DEPTH, or -EFBIG when the output would pass TMPL_MAX_OUTPUT
 * or the render would visit more than TMPL_MAX_STEPS nodes; on error out
 * holds what had been rendered.
 */
int tmpl_render(const struct tmpl *t, const json_t *ctx,
    const struct tmpl_partials *partials, enum tmpl_escape esc,
    struct buf *out);

/*
 * Formats err as "file:line:col: msg" (or "file: msg" when line is 0)
 * into dst, truncating to size. Returns dst.
 */
const char *tmpl_error_format(
    const struct tmpl_error *err, char *dst, size_t size);

/*
 * A template folder: DIR/<kind>/{subject,text,html}.mustache for each
 * folder under DIR other than "partials", and DIR/partials/NAME.mustache
 * as partial (and parent) NAME. Everything is compiled at load, and every
 * partial or parent a template names must exist. Returns the set (free
 * with tmpl_set_free) or NULL with *err naming the first problem. Files
 * and folders whose names start with '.' are ignored.
 *
 * A folder named as a BCP 47 language tag ("cy", "cy-GB") that holds no
 * subject.mustache is a language's: DIR/cy/<kind>/PART.mustache and
 * DIR/cy/partials/NAME.mustache are the Welsh files, each used in place
 * of the base file of the same name; what the folder lacks falls back,
 * file by file, to the base set (partials too: a Welsh kind's template
 * that names "layout" gets DIR/cy/partials/layout.mustache if there is
 * one, else DIR/partials/layout.mustache). A kind folder in a language
 * folder must name a kind of the base set.
 */
struct tmpl_set *tmpl_set_load(const char *dir, struct tmpl_error *err);
void tmpl_set_free(struct tmpl_set *s);

/*
 * A set of partials only: every DIR/NAME.mustache as partial NAME (dir
 * may be NULL: no partials), for rendering one template outside a
 * template folder (`familymail render`). Returns the set (free with
 * tmpl_set_free) or NULL with *err naming the first file that cannot be
 * read or does not compile. Such a set has no kinds.
 */
struct tmpl_set *tmpl_set_load_partials(
    const char *dir, struct tmpl_error *err);

/* Checks that every partial or parent t names (other than dynamic
 * names) is in s: 0, or -ENOENT with *err at the tag that names it. */
int tmpl_set_check(
    const struct tmpl_set *s, const struct tmpl *t, struct tmpl_error *err);

/* The partials of s, for tmpl_render(); valid while s is. */
const struct tmpl_partials *tmpl_set_partials(const struct tmpl_set *s);

bool tmpl_set_has(const struct tmpl_set *s, const char *kind);
/* The kinds, sorted by name: kind i for i < tmpl_set_count(s). */
size_t tmpl_set_count(const struct tmpl_set *s);
const char *tmpl_set_kind(const struct tmpl_set *s, size_t i);

/*
 * Renders part "subject", "text" or "html" of kind with ctx, appending to
 * out; html is HTML-escaped, the others are not. Returns 0, -ENOENT for
 * an unknown kind or part, or tmpl_render()'s errors. The set is
 * immutable: threads may render from it at the same time.
 */
int tmpl_set_render(const struct tmpl_set *s, const char *kind,
    const char *part, const json_t *ctx, struct buf *out);

/* The same with the files of language (a tag, matched as
 * tmpl_set_match_language() does; NULL or one without a folder: the
 * base set's files). */
int tmpl_set_render_lang(const struct tmpl_set *s, const char *language,
    const char *kind, const char *part, const json_t *ctx, struct buf *out);

/* Renders the partial name as language sees it (its own, else the base
 * set's) with ctx and esc, appending to out: for frames around rendered
 * parts. 0, -ENOENT when there is no such partial, or tmpl_render()'s
 * errors. */
int tmpl_set_render_partial(const struct tmpl_set *s, const char *language,
    const char *name, enum tmpl_escape esc, const json_t *ctx, struct buf *out);

/* The language folders, sorted: tag i for i < tmpl_set_language_count(). */
size_t tmpl_set_language_count(const struct tmpl_set *s);
const char *tmpl_set_language(const struct tmpl_set *s, size_t i);

/* The folder's tag that serves tag: the same tag (any case), else the
 * folder of its primary language ("cy-GB" -> "cy"); NULL when none does
 * (messages in tag then use the base set). Valid while s is. */
const char *tmpl_set_match_language(const struct tmpl_set *s, const char *tag);

/*
 * Calls fn(arg, FILE) for each file of the base set that language tag
 * has no file of its own for, FILE relative to the folder
 * ("course_changed/text.mustache", "partials/course_details.mustache"):
 * what its messages take from the base set. A partial with no words of
 * its own (markup and names only, as "layout") is not counted: it reads
 * the same in every language. Returns how many.
 */
size_t tmpl_set_missing(const struct tmpl_set *s, const char *tag,
    void (*fn)(void *arg, const char *file), void *arg);

#endif
