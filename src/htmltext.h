/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * htmltext: plain text from the simple HTML that post summaries may hold
 * (paragraphs, line breaks, lists, links, emphasis), parsed with
 * libxml2's forgiving HTML parser. Text content is kept, markup dropped,
 * paragraphs become blank lines, list items "- " lines, and runs of
 * white space one space. Plain text in gives the same text out.
 */
#ifndef FM_HTMLTEXT_H
#define FM_HTMLTEXT_H

#include <stddef.h>

#include "buf.h"

struct buf;

#define HTMLTEXT_MAX_INPUT (256 * 1024)

/* Appends the plain text of html to out. Input over HTMLTEXT_MAX_INPUT
 * is cut there. Returns 0 or a negative errno. A blank line in text is
 * a paragraph break, as <p> is; scripts, styles, embedded players
 * (iframe, object, embed, video, audio), forms and figure captions are
 * left out; a trailing "[…]" becomes "…". */
int htmltext_to_plain(const char *html, size_t len, struct buf *out);

/*
 * The same for a blog post's summary whose post is at post_url (may be
 * NULL): also leaves out what blog platforms add to every feed item, a
 * "Read more" / "Continue reading" link to the post itself (WordPress,
 * Medium, Blogger), WordPress's "The post ... appeared first on ..."
 * paragraph and Substack's subscribe button.
 */
int htmltext_summary(
    const char *html, size_t len, const char *post_url, struct buf *out);

#endif
