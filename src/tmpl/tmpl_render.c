/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tmpl_render: renders a compiled template (tmpl_int.h) with a JSON
 * context into a struct buf.
 *
 * All render state lives on the C stack of tmpl_render(): the context
 * stack and the chain of parents whose blocks override are linked lists
 * of frames in the callers' stack frames, so nothing is allocated per
 * value and a template may be rendered by many threads at once. The only
 * heap use is the output buffer and, for indented partials, a small
 * buffer of indentation. It neither parses nor loads templates.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl/tmpl.h"
#include "tmpl/tmpl_int.h"
#include "util.h"

/* One level of the context stack. */
struct tmpl_render_ctx {
	const json_t *v;
	const struct tmpl_render_ctx *up;
};

/* How line starts are written: indentation r->indent.data[ioff..+ilen)
 * first, and up to `dedent` characters of the line's own leading
 * whitespace dropped. */
struct tmpl_render_line {
	size_t ioff;
	size_t ilen;
	size_t dedent;
};

/* A parent being expanded: its blocks override those of the templates
 * it includes. */
struct tmpl_render_frame {
	const struct tmpl *t;
	size_t parent; /* index of the PARENT node in t */
	struct tmpl_render_line line;
	const struct tmpl_render_frame *up;
};

struct tmpl_render {
	const struct tmpl_partials *partials;
	enum tmpl_escape esc;
	struct buf *out;
	size_t limit;
	struct buf indent;
	const struct tmpl_render_frame *frames;
	int depth;
	size_t steps; /* nodes and ranges visited, up to TMPL_MAX_STEPS */
};

static int tmpl_render_nodes(struct tmpl_render *r, const struct tmpl *t,
    size_t begin, size_t end, const struct tmpl_render_ctx *ctx,
    const struct tmpl_render_line *line);

/* Bytes that HTML escaping replaces: their replacement, else NULL. */
static const char *const tmpl_render_html[256] = {
	['&'] = "&amp;",
	['<'] = "&lt;",
	['>'] = "&gt;",
	['"'] = "&quot;",
	['\''] = "&#39;",
};

static void
tmpl_render_escaped(struct buf *out, const char *s, size_t n)
{
	const char *run = s, *end = s + n, *rep;

	for (; s < end; s++) {
		rep = tmpl_render_html[(unsigned char)*s];
		if (rep == NULL)
			continue;
		buf_append(out, run, (size_t)(s - run));
		buf_puts(out, rep);
		run = s + 1;
	}
	buf_append(out, run, (size_t)(end - run));
}

static void
tmpl_render_put(struct tmpl_render *r, const char *s, size_t n, bool escape)
{
	if (escape && r->esc == TMPL_ESCAPE_HTML)
		tmpl_render_escaped(r->out, s, n);
	else
		buf_append(r->out, s, n);
}

/* The shortest text that reads back as d. */
static size_t
tmpl_render_real(double d, char *dst, size_t size)
{
	int prec, n = 0;

	if (!isfinite(d))
		return 0;
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(dst, size, "%.*g", prec, d);
		if (n > 0 && strtod(dst, NULL) == d)
			break;
	}
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static void
tmpl_render_value(struct tmpl_render *r, const json_t *v, bool escape)
{
	char num[64];
	int n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		tmpl_render_put(
		    r, json_string_value(v), json_string_length(v), escape);
		break;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		buf_append(r->out, num, (size_t)n);
		break;
	case JSON_REAL:
		buf_append(r->out, num,
		    tmpl_render_real(json_real_value(v), num, sizeof(num)));
		break;
	case JSON_TRUE:
		buf_puts(r->out, "true");
		break;
	case JSON_FALSE:
		buf_puts(r->out, "false");
		break;
	default:
		/* null, and objects and arrays, which have no text. */
		break;
	}
}

static bool
tmpl_render_truthy(const json_t *v)
{
	if (v == NULL)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_TRUE:
		return true;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	default:
		return false;
	}
}

/* Resolves a (dotted) name: the first part on the context stack, from
 * the top, the others inside what it found. NULL when missing. */
static const json_t *
tmpl_render_lookup(
    const struct tmpl_render_ctx *ctx, const char *name, unsigned nparts)
{
	const json_t *v = NULL;
	unsigned i;

	if (nparts == 0)
		return ctx != NULL ? ctx->v : NULL;
	for (; ctx != NULL; ctx = ctx->up) {
		if (json_is_object(ctx->v)) {
			v = json_object_get(ctx->v, name);
			if (v != NULL)
				break;
		}
	}
	for (i = 1; i < nparts && v != NULL; i++) {
		name += strlen(name) + 1;
		v = json_is_object(v) ? json_object_get(v, name) : NULL;
	}
	return v;
}

static void
tmpl_render_indent(struct tmpl_render *r, const struct tmpl_render_line *ln)
{
	if (ln->ilen > 0)
		buf_append(r->out, r->indent.data + ln->ioff, ln->ilen);
}

static void
tmpl_render_text(struct tmpl_render *r, const struct tmpl_node *n,
    const struct tmpl_render_line *ln)
{
	const char *p = n->s, *end = n->s + n->len, *nl;
	bool bol = (n->flags & TMPL_NODE_BOL) != 0;
	size_t k;

	if (ln->ilen == 0 && ln->dedent == 0) {
		buf_append(r->out, n->s, n->len);
		return;
	}
	while (p < end) {
		if (bol) {
			tmpl_render_indent(r, ln);
			for (k = 0; k < ln->dedent && p < end &&
			     (*p == ' ' || *p == '\t');
			     k++)
				p++;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl != NULL ? nl + 1 : end;
		buf_append(r->out, p, (size_t)(nl - p));
		p = nl;
		bol = true;
	}
}

/* Makes *dst the indentation of cur followed by ws, less the first
 * cur->dedent characters of ws. The caller truncates r->indent back to
 * dst->ioff when done. */
static void
tmpl_render_push_indent(struct tmpl_render *r,
    const struct tmpl_render_line *cur, const char *ws, size_t ws_len,
    struct tmpl_render_line *dst)
{
	size_t skip = cur->dedent < ws_len ? cur->dedent : ws_len;

	dst->ioff = r->indent.len;
	dst->ilen = cur->ilen + ws_len - skip;
	dst->dedent = 0;
	buf_reserve(&r->indent, dst->ilen);
	buf_append(&r->indent, r->indent.data + cur->ioff, cur->ilen);
	buf_append(&r->indent, ws + skip, ws_len - skip);
}

static const struct tmpl *
tmpl_render_find(struct tmpl_render *r, const struct tmpl_node *n,
    const struct tmpl_render_ctx *ctx)
{
	const json_t *v;

	if (r->partials == NULL || r->partials->get == NULL)
		return NULL;
	if ((n->flags & TMPL_NODE_DYNAMIC) == 0)
		return r->partials->get(r->partials->arg, n->s);
	v = tmpl_render_lookup(ctx, n->s, n->nparts);
	if (!json_is_string(v) || strlen(json_string_value(v)) == 0)
		return NULL;
	return r->partials->get(r->partials->arg, json_string_value(v));
}

static int
tmpl_render_partial(struct tmpl_render *r, const struct tmpl_node *n,
    const struct tmpl_render_ctx *ctx, const struct tmpl_render_line *ln)
{
	static const struct tmpl_render_line flat = { 0, 0, 0 };
	struct tmpl_render_line sub;
	const struct tmpl *p;
	int ret;

	p = tmpl_render_find(r, n, ctx);
	if (p == NULL)
		return 0;
	if ((n->flags & TMPL_NODE_STANDALONE) == 0)
		return tmpl_render_nodes(r, p, 0, p->nnodes, ctx, &flat);
	tmpl_render_push_indent(r, ln, n->ws, n->ws_len, &sub);
	ret = tmpl_render_nodes(r, p, 0, p->nnodes, ctx, &sub);
	r->indent.len = sub.ioff;
	return ret;
}

static int
tmpl_render_parent(struct tmpl_render *r, const struct tmpl *t, size_t i,
    const struct tmpl_render_ctx *ctx, const struct tmpl_render_line *ln)
{
	struct tmpl_render_frame frame;
	const struct tmpl_node *n = &t->nodes[i];
	const struct tmpl_render_frame *saved = r->frames;
	struct tmpl_render_line sub = { 0, 0, 0 };
	const struct tmpl *p;
	int ret;

	p = tmpl_render_find(r, n, ctx);
	if (p == NULL)
		return 0;
	frame.t = t;
	frame.parent = i;
	frame.line = *ln;
	frame.up = r->frames;
	if (n->flags & TMPL_NODE_STANDALONE)
		tmpl_render_push_indent(r, ln, n->ws, n->ws_len, &sub);
	else
		sub.ioff = r->indent.len;
	r->frames = &frame;
	ret = tmpl_render_nodes(r, p, 0, p->nnodes, ctx, &sub);
	r->frames = saved;
	r->indent.len = sub.ioff;
	return ret;
}

/* The override of block `name`: the one given by the outermost parent
 * wins, as in the spec's multi-level inheritance. */
static const struct tmpl_render_frame *
tmpl_render_override(
    const struct tmpl_render *r, const char *name, size_t *index)
{
	const struct tmpl_render_frame *f, *found = NULL;
	const struct tmpl_node *nodes;
	size_t j;

	for (f = r->frames; f != NULL; f = f->up) {
		nodes = f->t->nodes;
		for (j = f->parent + 1; j < nodes[f->parent].end;
		     j = nodes[j].end) {
			if (strcmp(nodes[j].s, name) == 0) {
				found = f;
				*index = j;
			}
		}
	}
	return found;
}

/*
 * A block: its override or its own content. Where the block tag stands
 * alone on its line its content is re-indented: the content's own
 * indentation (`dedent` of the block that supplies it) is replaced by
 * the indentation of this place (ws).
 */
static int
tmpl_render_block(struct tmpl_render *r, const struct tmpl *t, size_t i,
    const struct tmpl_render_ctx *ctx, const struct tmpl_render_line *ln)
{
	const struct tmpl_node *n = &t->nodes[i], *c;
	const struct tmpl_render_frame *f;
	const struct tmpl *ct = t;
	struct tmpl_render_line sub;
	size_t ci = i;
	int ret;

	f = tmpl_render_override(r, n->s, &ci);
	if (f != NULL)
		ct = f->t;
	c = &ct->nodes[ci];
	if ((n->flags & TMPL_NODE_STANDALONE) == 0) {
		if (f == NULL)
			return tmpl_render_nodes(r, t, i + 1, n->end, ctx, ln);
		sub = f->line;
		if (c->flags & TMPL_NODE_STANDALONE) {
			sub.ilen = 0;
			sub.dedent = c->dedent;
		}
		return tmpl_render_nodes(r, ct, ci + 1, c->end, ctx, &sub);
	}
	tmpl_render_push_indent(r, ln, n->ws, n->ws_len, &sub);
	sub.dedent = (c->flags & TMPL_NODE_STANDALONE) ? c->dedent : 0;
	/* Content that does not start on a line of its own (an inline
	 * override) still starts an indented line here. */
	if (ci + 1 < c->end && ct->nodes[ci + 1].op != TMPL_OP_LINE &&
	    (ct->nodes[ci + 1].flags & TMPL_NODE_BOL) == 0)
		tmpl_render_indent(r, &sub);
	ret = tmpl_render_nodes(r, ct, ci + 1, c->end, ctx, &sub);
	r->indent.len = sub.ioff;
	return ret;
}

static int
tmpl_render_section(struct tmpl_render *r, const struct tmpl *t, size_t i,
    const struct tmpl_render_ctx *ctx, const struct tmpl_render_line *ln)
{
	const struct tmpl_node *n = &t->nodes[i];
	struct tmpl_render_ctx sub;
	const json_t *v;
	size_t k, size;
	int ret = 0;

	v = tmpl_render_lookup(ctx, n->s, n->nparts);
	if (n->op == TMPL_OP_INVERTED) {
		if (tmpl_render_truthy(v))
			return 0;
		return tmpl_render_nodes(r, t, i + 1, n->end, ctx, ln);
	}
	if (!tmpl_render_truthy(v))
		return 0;
	sub.up = ctx;
	if (!json_is_array(v)) {
		sub.v = v;
		return tmpl_render_nodes(r, t, i + 1, n->end, &sub, ln);
	}
	size = json_array_size(v);
	for (k = 0; k < size && ret == 0; k++) {
		sub.v = json_array_get(v, k);
		ret = tmpl_render_nodes(r, t, i + 1, n->end, &sub, ln);
	}
	return ret;
}

static int
tmpl_render_nodes(struct tmpl_render *r, const struct tmpl *t, size_t begin,
    size_t end, const struct tmpl_render_ctx *ctx,
    const struct tmpl_render_line *ln)
{
	const struct tmpl_node *n;
	const json_t *v;
	size_t i;
	int ret = 0;

	if (r->depth >= TMPL_MAX_DEPTH)
		return -ELOOP;
	/* Nested sections over lists multiply: without a budget, a small
	 * template that writes nothing could run for ever. */
	if (++r->steps > TMPL_MAX_STEPS)
		return -EFBIG;
	r->depth++;
	for (i = begin; i < end && ret == 0; i++) {
		n = &t->nodes[i];
		if (++r->steps > TMPL_MAX_STEPS) {
			ret = -EFBIG;
			break;
		}
		switch (n->op) {
		case TMPL_OP_TEXT:
			tmpl_render_text(r, n, ln);
			break;
		case TMPL_OP_LINE:
			tmpl_render_indent(r, ln);
			break;
		case TMPL_OP_VAR:
		case TMPL_OP_RAW:
			v = tmpl_render_lookup(ctx, n->s, n->nparts);
			if (v != NULL)
				tmpl_render_value(r, v, n->op == TMPL_OP_VAR);
			break;
		case TMPL_OP_SECTION:
		case TMPL_OP_INVERTED:
			ret = tmpl_render_section(r, t, i, ctx, ln);
			i = n->end - 1;
			break;
		case TMPL_OP_PARTIAL:
			ret = tmpl_render_partial(r, n, ctx, ln);
			break;
		case TMPL_OP_PARENT:
			ret = tmpl_render_parent(r, t, i, ctx, ln);
			i = n->end - 1;
			break;
		case TMPL_OP_BLOCK:
			ret = tmpl_render_block(r, t, i, ctx, ln);
			i = n->end - 1;
			break;
		default:
			break;
		}
		if (ret == 0 && r->out->len > r->limit)
			ret = -EFBIG;
	}
	r->depth--;
	return ret;
}

int
tmpl_render(const struct tmpl *t, const json_t *ctx,
    const struct tmpl_partials *partials, enum tmpl_escape esc, struct buf *out)
{
	static const struct tmpl_render_line flat = { 0, 0, 0 };
	struct tmpl_render_ctx root = { ctx, NULL };
	struct tmpl_render r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.partials = partials;
	r.esc = esc;
	r.out = out;
	r.limit = out->len + TMPL_MAX_OUTPUT;
	buf_init(&r.indent);
	ret = tmpl_render_nodes(
	    &r, t, 0, t->nnodes, ctx != NULL ? &root : NULL, &flat);
	buf_fini(&r.indent);
	/* Leave out a valid C string even when it is empty. */
	buf_reserve(out, 0);
	out->data[out->len] = '\0';
	return ret;
}
