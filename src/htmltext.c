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

#include "buf.h"

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

/* Elements whose content is not text a reader of the summary wants:
 * scripts and styles, and embedded players, forms and their captions. */
static bool
htmltext_is_skipped(const xmlNode *n)
{
	static const char *const skipped[] = { "script", "style", "head",
		"iframe", "object", "embed", "video", "audio", "noscript",
		"svg", "form", "button", "figcaption", "template" };
	const char *name = (const char *)n->name;

	if (n->type != XML_ELEMENT_NODE || name == NULL)
		return false;
	for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++)
		if (strcasecmp(name, skipped[i]) == 0)
			return true;
	return false;
}

/* url without scheme, query, fragment and trailing slashes, into out:
 * "https://b.example/p/?utm=1#more-7" and "http://b.example/p" match. */
static void
htmltext_url_key(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p != NULL ? p + 3 : url;
	n = strcspn(p, "?#");
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The words blog platforms put on a link to the post itself. */
static bool
htmltext_is_more_text(const char *text)
{
	static const char *const phrases[] = { "read more", "continue reading",
		"read the full post", "read the rest", "keep reading",
		"read full", "read the full", "view the full", "more..." };

	while (*text == ' ' || *text == '\n' || *text == '\t')
		text++;
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (strncasecmp(text, phrases[i], strlen(phrases[i])) == 0)
			return true;
	return false;
}

/*
 * True for what a blog platform adds to every item of its feed: a link
 * to the post itself that says "Read more" or "Continue reading"
 * (WordPress, Medium, Blogger themes), WordPress's "The post ...
 * appeared first on ..." paragraph, Substack's subscribe button.
 */
static bool
htmltext_is_boilerplate(const xmlNode *n, const char *post_key)
{
	const char *name = (const char *)n->name;
	xmlChar *text, *attr;
	char key[512];
	bool yes = false;

	if (n->type != XML_ELEMENT_NODE || name == NULL)
		return false;
	if (strcasecmp(name, "a") == 0 && post_key != NULL) {
		attr = xmlGetProp(n, (const xmlChar *)"href");
		if (attr != NULL) {
			htmltext_url_key((const char *)attr, key, sizeof(key));
			if (strcmp(key, post_key) == 0) {
				text = xmlNodeGetContent(n);
				yes = text != NULL &&
				    htmltext_is_more_text((const char *)text);
				xmlFree(text);
			}
		}
		xmlFree(attr);
		return yes;
	}
	if (strcasecmp(name, "p") == 0 || strcasecmp(name, "div") == 0) {
		attr = xmlGetProp(n, (const xmlChar *)"class");
		yes = attr != NULL &&
		    strstr((const char *)attr, "button-wrapper") != NULL;
		xmlFree(attr);
		if (yes)
			return true;
		text = xmlNodeGetContent(n);
		if (text != NULL) {
			const char *t = (const char *)text;

			while (*t == ' ' || *t == '\n' || *t == '\t')
				t++;
			yes = strncmp(t, "The post ", 9) == 0 &&
			    strstr(t, " appeared first on ") != NULL;
		}
		xmlFree(text);
	}
	return yes;
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

static bool
htmltext_is_br(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE && n->name != NULL &&
	    strcasecmp((const char *)n->name, "br") == 0;
}

/* One more line break, up to a blank line. */
static void
htmltext_newline(struct buf *out, size_t start)
{
	int have = 0;

	while (out->len > start && out->data[out->len - 1] == ' ')
		out->len--;
	for (size_t i = out->len; i > start && out->data[i - 1] == '\n'; i--)
		have++;
	if (out->len > start && have < 2)
		buf_putc(out, '\n');
}

/* Whether out (from start) ends where a space would be a second one. */
static bool
htmltext_wants_space(const struct buf *out, size_t start)
{
	return out->len > start && out->data[out->len - 1] != '\n' &&
	    out->data[out->len - 1] != ' ';
}

/* Appends text, runs of white space made one space; a run with a
 * blank line in it (plain text's paragraph break) makes one. */
static void
htmltext_text(struct buf *out, size_t start, const char *s)
{
	int newlines = 0;
	bool ws = false;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f') {
			ws = true;
			if (c == '\n')
				newlines++;
			continue;
		}
		if (ws && newlines >= 2)
			htmltext_break(out, start, 2);
		else if (ws && htmltext_wants_space(out, start))
			buf_putc(out, ' ');
		ws = false;
		newlines = 0;
		buf_putc(out, (char)c);
	}
	if (ws && htmltext_wants_space(out, start))
		buf_putc(out, ' ');
}

/* A trailing "[…]" or "[...]", what platforms put after an excerpt,
 * becomes an ellipsis. */
static void
htmltext_ellipsis(struct buf *out, size_t start)
{
	static const char *const marks[] = { "[\xe2\x80\xa6]", "[...]" };
	size_t len = out->len, m;

	while (len > start &&
	    (out->data[len - 1] == ' ' || out->data[len - 1] == '\n'))
		len--;
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		m = strlen(marks[i]);
		if (len - start < m ||
		    memcmp(out->data + len - m, marks[i], m) != 0)
			continue;
		len -= m;
		while (len > start && out->data[len - 1] == ' ')
			len--;
		out->len = len;
		buf_puts(out, "\xe2\x80\xa6");
		return;
	}
}

int
htmltext_to_plain(const char *html, size_t len, struct buf *out)
{
	return htmltext_summary(html, len, NULL, out);
}

int
htmltext_summary(
    const char *html, size_t len, const char *post_url, struct buf *out)
{
	char key[512];
	const char *post_key = NULL;
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
	if (post_url != NULL && *post_url != '\0') {
		htmltext_url_key(post_url, key, sizeof(key));
		post_key = key;
	}
	root = xmlDocGetRootElement(doc);
	n = root;
	while (n != NULL) {
		if (htmltext_is_boilerplate(n, post_key))
			goto next;
		if (n->type == XML_TEXT_NODE && n->content != NULL)
			htmltext_text(out, start, (const char *)n->content);
		if (htmltext_is_br(n)) {
			/* Each <br> is a line break: two make a blank line,
			 * the paragraph of editors that write no <p>. */
			htmltext_newline(out, start);
		} else if (htmltext_is_block(n)) {
			htmltext_break(out, start, htmltext_lines(n));
			if (strcasecmp((const char *)n->name, "li") == 0)
				buf_puts(out, "- ");
		}
		if (n->children != NULL && !htmltext_is_skipped(n)) {
			n = n->children;
			continue;
		}
	next:
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
	htmltext_ellipsis(out, start);
	/* Trim trailing space and breaks. */
	while (out->len > start &&
	    (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == ' '))
		out->len--;
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return 0;
}
