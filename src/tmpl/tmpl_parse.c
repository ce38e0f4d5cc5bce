/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tmpl_parse: compiles Mustache source into the node array of tmpl_int.h.
 *
 * Three passes over the source: the tokenizer splits it into text and
 * tags (following set-delimiter tags as it goes), the standalone pass
 * finds tags alone on their line and trims that line's whitespace and
 * newline, and the builder turns tokens into nodes, checking that every
 * section is closed. Errors carry the file, line and column of the tag
 * at fault. It does not render and does not read files.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl/tmpl.h"
#include "tmpl/tmpl_int.h"
#include "util.h"

#define TMPL_PARSE_DELIM_MAX 16

enum tmpl_parse_kind {
	TMPL_PARSE_TEXT = 0,
	TMPL_PARSE_VAR = 'v',
	TMPL_PARSE_RAW = '&',
	TMPL_PARSE_TRIPLE = '{',
	TMPL_PARSE_SECTION = '#',
	TMPL_PARSE_INVERTED = '^',
	TMPL_PARSE_CLOSE = '/',
	TMPL_PARSE_COMMENT = '!',
	TMPL_PARSE_DELIMS = '=',
	TMPL_PARSE_PARTIAL = '>',
	TMPL_PARSE_PARENT = '<',
	TMPL_PARSE_BLOCK = '$',
};

struct tmpl_parse_tok {
	char kind;
	bool standalone;
	bool dynamic;
	size_t start, end; /* the whole token in the source */
	size_t a, b;       /* text: what is left after trimming; tags: name */
	size_t ls;         /* tags: start of the line the tag starts on */
	size_t before;     /* tags: end of what precedes, once trimmed */
	size_t after;      /* tags: start of what follows, once trimmed */
};

struct tmpl_parse {
	const char *file;
	const char *src;
	size_t len;
	struct tmpl_error *err;
	struct tmpl_parse_tok *toks;
	size_t ntoks;
	size_t captoks;
	char otag[TMPL_PARSE_DELIM_MAX + 1];
	char ctag[TMPL_PARSE_DELIM_MAX + 1];
	size_t olen;
	size_t clen;
	struct tmpl *t;
	size_t names_used;
	/* Line and column of cur_off, advanced as nodes are made. */
	size_t cur_off;
	int cur_line;
	int cur_col;
};

struct tmpl_parse_open {
	size_t tok;
	size_t node; /* SIZE_MAX: inside a parent, parsed but not kept */
};

static bool
tmpl_parse_is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool
tmpl_parse_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static void
tmpl_parse_linecol(const char *src, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (src[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)src[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

void
tmpl_error_set(struct tmpl_error *err, const char *file, const char *src,
    size_t off, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	(void)snprintf(err->file, sizeof(err->file), "%s",
	    file != NULL ? file : "<template>");
	err->line = 0;
	err->column = 0;
	if (src != NULL)
		tmpl_parse_linecol(src, off, &err->line, &err->column);
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* A name for messages: at most 64 bytes of it. */
#define TMPL_PARSE_NAME_FMT "'%.*s%s'"
#define TMPL_PARSE_NAME_ARGS(p, tk)                             \
	(int)((tk)->b - (tk)->a > 64 ? 64 : (tk)->b - (tk)->a), \
	    (p)->src + (tk)->a, (tk)->b - (tk)->a > 64 ? "..." : ""

static struct tmpl_parse_tok *
tmpl_parse_push(struct tmpl_parse *p, char kind, size_t start, size_t end)
{
	struct tmpl_parse_tok *tk;

	if (p->ntoks == p->captoks) {
		p->captoks = p->captoks == 0 ? 64 : p->captoks * 2;
		p->toks = xreallocarray(p->toks, p->captoks, sizeof(*p->toks));
	}
	tk = &p->toks[p->ntoks++];
	memset(tk, 0, sizeof(*tk));
	tk->kind = kind;
	tk->start = start;
	tk->end = end;
	tk->a = start;
	tk->b = end;
	tk->before = start;
	tk->after = end;
	return tk;
}

static const char *
tmpl_parse_find(const char *hay, size_t haylen, const char *needle, size_t nlen)
{
	return memmem(hay, haylen, needle, nlen);
}

/* A dotted context name: "." or parts without empty ones. */
static bool
tmpl_parse_dotted_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 1 && s[0] == '.')
		return true;
	if (s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 1; i < n; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return false;
	return true;
}

static int
tmpl_parse_delims(struct tmpl_parse *p, struct tmpl_parse_tok *tk)
{
	const char *s = p->src + tk->a, *e = p->src + tk->b;
	const char *o, *c;
	size_t olen, clen;

	o = s;
	while (s < e && !tmpl_parse_is_space(*s))
		s++;
	olen = (size_t)(s - o);
	while (s < e && tmpl_parse_is_space(*s))
		s++;
	c = s;
	while (s < e && !tmpl_parse_is_space(*s))
		s++;
	clen = (size_t)(s - c);
	if (olen == 0 || clen == 0 || s != e || olen > TMPL_PARSE_DELIM_MAX ||
	    clen > TMPL_PARSE_DELIM_MAX || memchr(o, '=', olen) != NULL ||
	    memchr(c, '=', clen) != NULL) {
		tmpl_error_set(p->err, p->file, p->src, tk->start,
		    "invalid set-delimiter tag (expected two delimiters of "
		    "1 to %d characters without spaces or '=')",
		    TMPL_PARSE_DELIM_MAX);
		return -EINVAL;
	}
	memcpy(p->otag, o, olen);
	p->otag[olen] = '\0';
	p->olen = olen;
	memcpy(p->ctag, c, clen);
	p->ctag[clen] = '\0';
	p->clen = clen;
	return 0;
}

/* Checks the name of a tag other than a comment or delimiter change. */
static int
tmpl_parse_check_name(struct tmpl_parse *p, struct tmpl_parse_tok *tk)
{
	size_t i;
	bool dotted;

	if (tk->a == tk->b) {
		tmpl_error_set(
		    p->err, p->file, p->src, tk->start, "tag without a name");
		return -EINVAL;
	}
	for (i = tk->a; i < tk->b; i++) {
		if (tmpl_parse_is_space(p->src[i]) || p->src[i] == '\0') {
			tmpl_error_set(p->err, p->file, p->src, tk->start,
			    "invalid name " TMPL_PARSE_NAME_FMT
			    " (names have no spaces)",
			    TMPL_PARSE_NAME_ARGS(p, tk));
			return -EINVAL;
		}
	}
	dotted = tk->dynamic || tk->kind == TMPL_PARSE_VAR ||
	    tk->kind == TMPL_PARSE_RAW || tk->kind == TMPL_PARSE_TRIPLE ||
	    tk->kind == TMPL_PARSE_SECTION || tk->kind == TMPL_PARSE_INVERTED;
	if (dotted && !tmpl_parse_dotted_ok(p->src + tk->a, tk->b - tk->a)) {
		tmpl_error_set(p->err, p->file, p->src, tk->start,
		    "invalid name " TMPL_PARSE_NAME_FMT
		    " (empty part between dots)",
		    TMPL_PARSE_NAME_ARGS(p, tk));
		return -EINVAL;
	}
	return 0;
}

/* Reads the tag whose opening delimiter is at start; *next is set past
 * it. */
static int
tmpl_parse_tag(struct tmpl_parse *p, size_t start, size_t *next)
{
	char close[TMPL_PARSE_DELIM_MAX + 2];
	struct tmpl_parse_tok *tk;
	const char *e;
	size_t q = start + p->olen, clen;
	char kind = TMPL_PARSE_VAR;

	if (q < p->len && strchr("&{#^/!=><$", p->src[q]) != NULL &&
	    p->src[q] != '\0') {
		kind = p->src[q];
		q++;
	}
	if (kind == TMPL_PARSE_TRIPLE || kind == TMPL_PARSE_DELIMS) {
		close[0] = kind == TMPL_PARSE_TRIPLE ? '}' : '=';
		memcpy(close + 1, p->ctag, p->clen);
		clen = p->clen + 1;
	} else {
		memcpy(close, p->ctag, p->clen);
		clen = p->clen;
	}
	e = tmpl_parse_find(p->src + q, p->len - q, close, clen);
	if (e == NULL) {
		tmpl_error_set(p->err, p->file, p->src, start,
		    "unclosed tag: no '%.*s' after '%s'", (int)clen, close,
		    p->otag);
		return -EINVAL;
	}
	tk = tmpl_parse_push(p, kind, start, (size_t)(e - p->src) + clen);
	tk->a = q;
	tk->b = (size_t)(e - p->src);
	while (tk->a < tk->b && tmpl_parse_is_space(p->src[tk->a]))
		tk->a++;
	while (tk->b > tk->a && tmpl_parse_is_space(p->src[tk->b - 1]))
		tk->b--;
	*next = tk->end;
	if (kind == TMPL_PARSE_COMMENT)
		return 0;
	if (kind == TMPL_PARSE_DELIMS)
		return tmpl_parse_delims(p, tk);
	if ((kind == TMPL_PARSE_PARTIAL || kind == TMPL_PARSE_PARENT) &&
	    tk->a < tk->b && p->src[tk->a] == '*') {
		tk->dynamic = true;
		tk->a++;
		while (tk->a < tk->b && tmpl_parse_is_space(p->src[tk->a]))
			tk->a++;
	}
	return tmpl_parse_check_name(p, tk);
}

static int
tmpl_parse_tokenize(struct tmpl_parse *p)
{
	const char *o;
	size_t pos = 0, start;
	int ret;

	while (pos < p->len) {
		o = tmpl_parse_find(
		    p->src + pos, p->len - pos, p->otag, p->olen);
		start = o != NULL ? (size_t)(o - p->src) : p->len;
		if (start > pos)
			tmpl_parse_push(p, TMPL_PARSE_TEXT, pos, start);
		if (o == NULL)
			break;
		ret = tmpl_parse_tag(p, start, &pos);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* ---------------------------------------------------------- standalone */

static bool
tmpl_parse_can_stand_alone(char kind)
{
	return strchr("#^/!=><$", kind) != NULL;
}

/* True when only spaces and tabs precede the tag on its line. */
static bool
tmpl_parse_left_clear(const struct tmpl_parse *p, struct tmpl_parse_tok *tk)
{
	size_t i = tk->start;

	while (i > 0 && p->src[i - 1] != '\n')
		i--;
	tk->ls = i;
	for (; i < tk->start; i++)
		if (!tmpl_parse_is_ws(p->src[i]))
			return false;
	return true;
}

/* True when only spaces and tabs follow pos up to the end of the line;
 * *nl is where the newline starts, *eol where the next line starts. */
static bool
tmpl_parse_right_clear(
    const struct tmpl_parse *p, size_t pos, size_t *nl, size_t *eol)
{
	while (pos < p->len && tmpl_parse_is_ws(p->src[pos]))
		pos++;
	*nl = pos;
	if (pos == p->len) {
		*eol = pos;
		return true;
	}
	if (p->src[pos] == '\n') {
		*eol = pos + 1;
		return true;
	}
	if (p->src[pos] == '\r' && pos + 1 < p->len &&
	    p->src[pos + 1] == '\n') {
		*eol = pos + 2;
		return true;
	}
	return false;
}

static bool
tmpl_parse_adjacent(const struct tmpl_parse *p, size_t i)
{
	return i + 1 < p->ntoks && p->toks[i + 1].kind != TMPL_PARSE_TEXT &&
	    p->toks[i + 1].start == p->toks[i].end;
}

/*
 * The pairs of tags that inheritance lets stand alone together on one
 * line: a parent and its first block "{{<p}}{{$b}}", a last block and its
 * parent's end "{{/b}}{{/p}}", an empty parent "{{<p}}{{/p}}", and an
 * empty block "{{$b}}{{/b}}" (which keeps its newline). open[] holds the
 * kinds of the sections open before token i.
 */
static bool
tmpl_parse_pair_ok(
    const struct tmpl_parse *p, size_t i, const char *open, size_t nopen)
{
	char k1 = p->toks[i].kind, k2 = p->toks[i + 1].kind;

	if (k1 == TMPL_PARSE_PARENT)
		return k2 == TMPL_PARSE_CLOSE || k2 == TMPL_PARSE_BLOCK;
	if (k1 == TMPL_PARSE_BLOCK)
		return k2 == TMPL_PARSE_CLOSE;
	if (k1 == TMPL_PARSE_CLOSE && k2 == TMPL_PARSE_CLOSE)
		return nopen >= 2 && open[nopen - 1] == TMPL_PARSE_BLOCK &&
		    open[nopen - 2] == TMPL_PARSE_PARENT;
	return false;
}

static void
tmpl_parse_trim_around(
    struct tmpl_parse *p, size_t first, size_t last, size_t keep_from)
{
	struct tmpl_parse_tok *prev, *next;

	if (first > 0 && p->toks[first - 1].kind == TMPL_PARSE_TEXT) {
		prev = &p->toks[first - 1];
		prev->b =
		    p->toks[first].ls > prev->a ? p->toks[first].ls : prev->a;
	}
	if (last + 1 < p->ntoks && p->toks[last + 1].kind == TMPL_PARSE_TEXT) {
		next = &p->toks[last + 1];
		next->a = keep_from < next->b ? keep_from : next->b;
	}
}

static void
tmpl_parse_track(char kind, char *open, size_t *nopen)
{
	if (kind == TMPL_PARSE_SECTION || kind == TMPL_PARSE_INVERTED ||
	    kind == TMPL_PARSE_PARENT || kind == TMPL_PARSE_BLOCK)
		open[(*nopen)++] = kind;
	else if (kind == TMPL_PARSE_CLOSE && *nopen > 0)
		(*nopen)--;
}

static void
tmpl_parse_standalone(struct tmpl_parse *p)
{
	struct tmpl_parse_tok *tk, *tk2;
	size_t i, nl, eol, nopen = 0;
	char *open;

	open = xmalloc(p->ntoks + 1);
	for (i = 0; i < p->ntoks; i++) {
		tk = &p->toks[i];
		if (tk->kind == TMPL_PARSE_TEXT)
			continue;
		if (!tmpl_parse_left_clear(p, tk)) {
			tmpl_parse_track(tk->kind, open, &nopen);
			continue;
		}
		tk2 = &p->toks[i + 1];
		if (tmpl_parse_adjacent(p, i) &&
		    tmpl_parse_pair_ok(p, i, open, nopen) &&
		    tmpl_parse_right_clear(p, tk2->end, &nl, &eol)) {
			tk2->ls = tk->ls;
			tk->standalone = true;
			tk2->standalone = true;
			tk->before = tk->ls;
			tk2->before = tk->ls;
			/* An empty block keeps its newline. */
			if (tk->kind == TMPL_PARSE_BLOCK)
				eol = nl;
			tk->after = eol;
			tk2->after = eol;
			tmpl_parse_trim_around(p, i, i + 1, eol);
			tmpl_parse_track(tk->kind, open, &nopen);
			tmpl_parse_track(tk2->kind, open, &nopen);
			i++;
			continue;
		}
		if (tmpl_parse_can_stand_alone(tk->kind) &&
		    tmpl_parse_right_clear(p, tk->end, &nl, &eol)) {
			tk->standalone = true;
			tk->before = tk->ls;
			tk->after = eol;
			tmpl_parse_trim_around(p, i, i, eol);
		}
		tmpl_parse_track(tk->kind, open, &nopen);
	}
	free(open);
}

/* ------------------------------------------------------------- builder */

static struct tmpl_node *
tmpl_parse_node(struct tmpl_parse *p, enum tmpl_op op, size_t off)
{
	struct tmpl_node *n = &p->t->nodes[p->t->nnodes++];

	for (; p->cur_off < off; p->cur_off++) {
		if (p->src[p->cur_off] == '\n') {
			p->cur_line++;
			p->cur_col = 1;
		} else if (((unsigned char)p->src[p->cur_off] & 0xc0) != 0x80) {
			p->cur_col++;
		}
	}
	memset(n, 0, sizeof(*n));
	n->op = (unsigned char)op;
	n->line = p->cur_line;
	n->column = p->cur_col;
	return n;
}

/* Copies the tag's name into the names area, split at dots when
 * `split`, and points n at it. The area is as large as the source and
 * a name with its NUL is shorter than its tag, so it never overflows. */
static void
tmpl_parse_name(struct tmpl_parse *p, struct tmpl_node *n,
    const struct tmpl_parse_tok *tk, bool split)
{
	char *d = p->t->names + p->names_used;
	size_t i, len = tk->b - tk->a;

	n->s = d;
	if (split && len == 1 && p->src[tk->a] == '.') {
		n->nparts = 0;
		*d = '\0';
		p->names_used++;
		return;
	}
	n->nparts = 1;
	for (i = 0; i < len; i++) {
		d[i] = p->src[tk->a + i];
		if (split && d[i] == '.') {
			d[i] = '\0';
			if (n->nparts < USHRT_MAX)
				n->nparts++;
		}
	}
	d[len] = '\0';
	p->names_used += len + 1;
}

static bool
tmpl_parse_at_line_start(const struct tmpl_parse *p, size_t off)
{
	return off == 0 || p->src[off - 1] == '\n';
}

/* The indentation shared by the non-blank lines of src[cs..ce), which
 * starts at a line start: its length, and where the first such line
 * starts (NULL when every line is blank). */
static size_t
tmpl_parse_common_indent(
    const struct tmpl_parse *p, size_t cs, size_t ce, const char **first)
{
	size_t pos = cs, w, k, common = 0;

	*first = NULL;
	while (pos < ce) {
		w = pos;
		while (w < ce && tmpl_parse_is_ws(p->src[w]))
			w++;
		if (w < ce && p->src[w] != '\n' && p->src[w] != '\r') {
			if (*first == NULL) {
				*first = p->src + pos;
				common = w - pos;
			} else {
				for (k = 0; k < common && k < w - pos; k++)
					if (p->src[pos + k] != (*first)[k])
						break;
				common = k;
			}
		}
		while (w < ce && p->src[w] != '\n')
			w++;
		pos = w + 1;
	}
	return common;
}

static void
tmpl_parse_close_block(struct tmpl_parse *p, struct tmpl_node *n,
    const struct tmpl_parse_tok *open, const struct tmpl_parse_tok *close)
{
	const char *first;
	size_t cs = open->after, ce = close->before;

	if (!open->standalone)
		return;
	n->dedent = ce > cs ? tmpl_parse_common_indent(p, cs, ce, &first) : 0;
	if (ce > cs && first != NULL) {
		n->ws = first;
		n->ws_len = n->dedent;
	} else {
		n->ws = p->src + open->ls;
		n->ws_len = open->start - open->ls;
	}
}

static const char *
tmpl_parse_what(char kind)
{
	switch (kind) {
	case TMPL_PARSE_BLOCK:
		return "block";
	case TMPL_PARSE_PARENT:
		return "parent";
	default:
		return "section";
	}
}

static int
tmpl_parse_close(struct tmpl_parse *p, const struct tmpl_parse_tok *tk,
    struct tmpl_parse_open *stack, size_t *depth)
{
	const struct tmpl_parse_tok *open;
	struct tmpl_node *n;
	int line, col;

	if (*depth == 0) {
		tmpl_error_set(p->err, p->file, p->src, tk->start,
		    "closing tag " TMPL_PARSE_NAME_FMT
		    " without an opening tag",
		    TMPL_PARSE_NAME_ARGS(p, tk));
		return -EINVAL;
	}
	open = &p->toks[stack[*depth - 1].tok];
	if (open->b - open->a != tk->b - tk->a ||
	    memcmp(p->src + open->a, p->src + tk->a, tk->b - tk->a) != 0) {
		tmpl_parse_linecol(p->src, tk->start, &line, &col);
		tmpl_error_set(p->err, p->file, p->src, open->start,
		    "unclosed %s " TMPL_PARSE_NAME_FMT
		    " (closing tag " TMPL_PARSE_NAME_FMT " at %d:%d)",
		    tmpl_parse_what(open->kind), TMPL_PARSE_NAME_ARGS(p, open),
		    TMPL_PARSE_NAME_ARGS(p, tk), line, col);
		return -EINVAL;
	}
	(*depth)--;
	if (stack[*depth].node == SIZE_MAX)
		return 0;
	n = &p->t->nodes[stack[*depth].node];
	n->end = p->t->nnodes;
	if (n->op == TMPL_OP_BLOCK)
		tmpl_parse_close_block(p, n, open, tk);
	return 0;
}

/* Inside a parent only its blocks count; the rest is parsed and
 * dropped, as the spec says. */
static bool
tmpl_parse_dropping(const struct tmpl_parse *p,
    const struct tmpl_parse_open *stack, size_t depth)
{
	size_t top;

	if (depth == 0)
		return false;
	top = stack[depth - 1].node;
	return top == SIZE_MAX || p->t->nodes[top].op == TMPL_OP_PARENT;
}

static int
tmpl_parse_open(struct tmpl_parse *p, size_t i, enum tmpl_op op, bool keep,
    struct tmpl_parse_open *stack, size_t *depth)
{
	const struct tmpl_parse_tok *tk = &p->toks[i];
	struct tmpl_node *n;

	if (*depth == TMPL_MAX_NESTING) {
		tmpl_error_set(p->err, p->file, p->src, tk->start,
		    "sections nested deeper than %d", TMPL_MAX_NESTING);
		return -EINVAL;
	}
	stack[*depth].tok = i;
	stack[*depth].node = SIZE_MAX;
	if (keep) {
		stack[*depth].node = p->t->nnodes;
		n = tmpl_parse_node(p, op, tk->start);
		tmpl_parse_name(p, n, tk,
		    op == TMPL_OP_SECTION || op == TMPL_OP_INVERTED ||
			tk->dynamic);
		if (tk->standalone)
			n->flags |= TMPL_NODE_STANDALONE;
		if (tk->dynamic)
			n->flags |= TMPL_NODE_DYNAMIC;
		if (op == TMPL_OP_PARENT && tk->standalone) {
			n->ws = p->src + tk->ls;
			n->ws_len = tk->start - tk->ls;
		}
	}
	(*depth)++;
	return 0;
}

static void
tmpl_parse_leaf(struct tmpl_parse *p, const struct tmpl_parse_tok *tk)
{
	struct tmpl_node *n;

	if (tk->kind == TMPL_PARSE_PARTIAL) {
		n = tmpl_parse_node(p, TMPL_OP_PARTIAL, tk->start);
		tmpl_parse_name(p, n, tk, tk->dynamic);
		if (tk->dynamic)
			n->flags |= TMPL_NODE_DYNAMIC;
		if (tk->standalone) {
			n->flags |= TMPL_NODE_STANDALONE;
			n->ws = p->src + tk->ls;
			n->ws_len = tk->start - tk->ls;
		}
	} else {
		n = tmpl_parse_node(p,
		    tk->kind == TMPL_PARSE_VAR ? TMPL_OP_VAR : TMPL_OP_RAW,
		    tk->start);
		tmpl_parse_name(p, n, tk, true);
	}
}

static int
tmpl_parse_build(struct tmpl_parse *p)
{
	struct tmpl_parse_open stack[TMPL_MAX_NESTING];
	const struct tmpl_parse_tok *tk;
	struct tmpl_node *n;
	size_t i, depth = 0;
	bool drop;
	int ret = 0;

	for (i = 0; i < p->ntoks && ret == 0; i++) {
		tk = &p->toks[i];
		drop = tmpl_parse_dropping(p, stack, depth);
		if (tk->kind == TMPL_PARSE_TEXT) {
			if (drop || tk->a >= tk->b)
				continue;
			n = tmpl_parse_node(p, TMPL_OP_TEXT, tk->a);
			n->s = p->src + tk->a;
			n->len = tk->b - tk->a;
			if (tmpl_parse_at_line_start(p, tk->a))
				n->flags |= TMPL_NODE_BOL;
			continue;
		}
		if (!drop && !tk->standalone &&
		    tmpl_parse_at_line_start(p, tk->start))
			tmpl_parse_node(p, TMPL_OP_LINE, tk->start);
		switch (tk->kind) {
		case TMPL_PARSE_COMMENT:
		case TMPL_PARSE_DELIMS:
			break;
		case TMPL_PARSE_SECTION:
			ret = tmpl_parse_open(
			    p, i, TMPL_OP_SECTION, !drop, stack, &depth);
			break;
		case TMPL_PARSE_INVERTED:
			ret = tmpl_parse_open(
			    p, i, TMPL_OP_INVERTED, !drop, stack, &depth);
			break;
		case TMPL_PARSE_PARENT:
			ret = tmpl_parse_open(
			    p, i, TMPL_OP_PARENT, !drop, stack, &depth);
			break;
		case TMPL_PARSE_BLOCK:
			/* A block directly inside a parent is an override. */
			ret = tmpl_parse_open(p, i, TMPL_OP_BLOCK,
			    !drop ||
				(depth > 0 &&
				    stack[depth - 1].node != SIZE_MAX),
			    stack, &depth);
			break;
		case TMPL_PARSE_CLOSE:
			ret = tmpl_parse_close(p, tk, stack, &depth);
			break;
		default:
			if (!drop)
				tmpl_parse_leaf(p, tk);
			break;
		}
	}
	if (ret == 0 && depth > 0) {
		tk = &p->toks[stack[depth - 1].tok];
		tmpl_error_set(p->err, p->file, p->src, tk->start,
		    "unclosed %s " TMPL_PARSE_NAME_FMT,
		    tmpl_parse_what(tk->kind), TMPL_PARSE_NAME_ARGS(p, tk));
		ret = -EINVAL;
	}
	return ret;
}

struct tmpl *
tmpl_compile(
    const char *file, const char *src, size_t len, struct tmpl_error *err)
{
	struct tmpl_parse p;
	struct tmpl *t;
	int ret;

	if (file == NULL)
		file = "<template>";
	if (len > TMPL_MAX_SIZE) {
		tmpl_error_set(err, file, NULL, 0,
		    "template larger than %d bytes", TMPL_MAX_SIZE);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->file = xstrdup(file);
	t->src = xmalloc(len + 1);
	if (len > 0)
		memcpy(t->src, src, len);
	t->src[len] = '\0';

	memset(&p, 0, sizeof(p));
	p.file = file;
	p.src = t->src;
	p.len = len;
	p.err = err;
	p.t = t;
	memcpy(p.otag, "{{", 3);
	memcpy(p.ctag, "}}", 3);
	p.olen = 2;
	p.clen = 2;
	p.cur_line = 1;
	p.cur_col = 1;

	ret = tmpl_parse_tokenize(&p);
	if (ret == 0) {
		tmpl_parse_standalone(&p);
		/* Each token makes at most two nodes (a line start and
		 * itself). */
		t->nodes = xcalloc(2 * p.ntoks + 1, sizeof(*t->nodes));
		t->names = xmalloc(len + 1);
		ret = tmpl_parse_build(&p);
	}
	free(p.toks);
	if (ret != 0) {
		tmpl_free(t);
		return NULL;
	}
	return t;
}
