/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tmpl_int: the compiled form of a template, shared by the parser
 * (tmpl_parse.c), the renderer (tmpl_render.c) and the sets (tmpl.c).
 * Nothing outside those files includes it.
 *
 * A template is a flat array of nodes in document order. A container
 * (section, inverted section, parent, block) is followed by its children
 * and records in `end` the index one past its last child, so a renderer
 * walks a range and skips a container by jumping to its end. The children
 * of a parent are only the blocks it overrides.
 *
 * Indentation: a standalone partial or parent is indented by the
 * whitespace before its tag, and a standalone block is re-indented where
 * it is expanded (the spec's inheritance rules). The renderer applies
 * this at line starts, which the parser marks: a text node with
 * TMPL_NODE_BOL begins a source line (and a text node may hold several
 * lines), and a TMPL_OP_LINE node stands for a line that begins with a
 * tag. Text nodes keep each line's leading whitespace so that a block can
 * remove its own indentation (`dedent`) before adding the one of the
 * place it fills.
 */
#ifndef FM_TMPL_INT_H
#define FM_TMPL_INT_H

#include <stddef.h>

enum tmpl_op {
	TMPL_OP_TEXT,     /* s[0..len) as is */
	TMPL_OP_LINE,     /* a line starting with a tag: indentation only */
	TMPL_OP_VAR,      /* {{name}}: escaped as the render says */
	TMPL_OP_RAW,      /* {{{name}}} and {{&name}} */
	TMPL_OP_SECTION,  /* {{#name}} */
	TMPL_OP_INVERTED, /* {{^name}} */
	TMPL_OP_PARTIAL,  /* {{>name}}, {{>*name}} */
	TMPL_OP_PARENT,   /* {{<name}}, {{<*name}}: children are blocks */
	TMPL_OP_BLOCK,    /* {{$name}} */
};

#define TMPL_NODE_BOL        0x01 /* text starts at a line start */
#define TMPL_NODE_STANDALONE 0x02 /* the opening tag is standalone */
#define TMPL_NODE_DYNAMIC    0x04 /* partial/parent name is looked up */

struct tmpl_node {
	unsigned char op;
	unsigned char flags;
	/* Names of VAR, RAW, SECTION, INVERTED and dynamic PARTIAL/PARENT
	 * are split at dots: s holds nparts NUL-terminated parts one after
	 * the other; nparts 0 is the implicit iterator ".". PARTIAL, PARENT
	 * and BLOCK names are one NUL-terminated string. */
	unsigned short nparts;
	int line;
	int column;
	const char *s;
	size_t len;     /* TEXT: bytes in s */
	size_t end;     /* containers: index one past the last child */
	const char *ws; /* PARTIAL, PARENT: indentation when standalone;
			 * BLOCK: the indentation of the place it fills */
	size_t ws_len;
	size_t dedent; /* BLOCK: indentation of its own content */
};

struct tmpl {
	char *file;
	char *src;   /* a copy of the source: text nodes point into it */
	char *names; /* the names, pointed to by nodes */
	struct tmpl_node *nodes;
	size_t nnodes;
};

/* Fills err (if not NULL) with file, the line and column of src[off]
 * (none when src is NULL) and the formatted message. */
void tmpl_error_set(struct tmpl_error *err, const char *file, const char *src,
    size_t off, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
