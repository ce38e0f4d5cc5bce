/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * htmltext: see htmltext.h. The walk is iterative (no recursion on
 * attacker-chosen depth) and the parser never touches the network.
 */
#include "config.h"

#include "htmltext.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

static bool
htmltext_is_block(const xmlNode *n)
{
	static const char *const blocks[] = { "p", "div", "br", "li", "ul",
		"ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
		"tr", "table", "section", "article", "header", "footer" };
	const char *name = (const char *)n->name;

	if (n->type != XML_ELEMENT_NODE || name == NULL)
		return false;
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (strcasecmp(name, blocks[i]) == 0)
			return true;
	return false;
}

/* Line breaks around a block: one for a line break or list item, a
 * blank line for anything else. */
static int
htmltext_lines(const xmlNode *n)
{
	const char *name = (const char *)n->name;

	return strcasecmp(name, "br") == 0 || strcasecmp(name, "li") == 0 ? 1
									  : 2;
}

static bool
htmltext_is_skipped(const xmlNode *n)
{
	const char *name = (const char *)n->name;

	return n->type == XML_ELEMENT_NODE && name != NULL &&
	    (strcasecmp(name, "script") == 0 ||
		strcasecmp(name, "style") == 0 ||
		strcasecmp(name, "head") == 0);
}

/* Appends a line break unless the text already ends with enough. */
static void
htmltext_break(struct buf *out, size_t start, int lines)
{
	int have = 0;

	while (out->len > start && out->data[out->len - 1] == ' ')
		out->len--;
	for (size_t i = out->len; i > start && out->data[i - 1] == '\n'; i--)
		have++;
	if (out->len == start)
		return;
	for (; have < lines; have++)
		buf_putc(out, '\n');
}

static void
htmltext_text(struct buf *out, size_t start, const char *s)
{
	bool space = out->len > start && out->data[out->len - 1] != '\n' &&
	    out->data[out->len - 1] != ' ';

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f') {
			if (space)
				buf_putc(out, ' ');
			space = false;
			continue;
		}
		buf_putc(out, (char)c);
		space = true;
	}
}

int
htmltext_to_plain(const char *html, size_t len, struct buf *out)
{
	const int opts = HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	    HTML_PARSE_NONET | HTML_PARSE_NOBLANKS | HTML_PARSE_COMPACT;
	size_t start = out->len;
	xmlNode *n, *root;
	htmlDocPtr doc;

	if (len > HTMLTEXT_MAX_INPUT)
		len = HTMLTEXT_MAX_INPUT;
	if (len == 0)
		return 0;
	doc = htmlReadMemory(html, (int)len, NULL, "UTF-8", opts);
	if (doc == NULL)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	n = root;
	while (n != NULL) {
		if (n->type == XML_TEXT_NODE && n->content != NULL)
			htmltext_text(out, start, (const char *)n->content);
		if (htmltext_is_block(n)) {
			htmltext_break(out, start, htmltext_lines(n));
			if (strcasecmp((const char *)n->name, "li") == 0)
				buf_puts(out, "- ");
		}
		if (n->children != NULL && !htmltext_is_skipped(n)) {
			n = n->children;
			continue;
		}
		while (n != NULL && n->next == NULL) {
			n = n->parent;
			if (n == NULL || n == (xmlNode *)doc)
				n = NULL;
			else if (htmltext_is_block(n))
				htmltext_break(out, start, htmltext_lines(n));
			if (n == root)
				n = NULL;
		}
		if (n != NULL)
			n = n->next;
	}
	xmlFreeDoc(doc);
	/* Trim trailing space and breaks. */
	while (out->len > start &&
	    (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == ' '))
		out->len--;
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return 0;
}
