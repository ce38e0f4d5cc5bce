/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * textwrap: the plain-text part of a message made readable where mail
 * apps show it as it is: lines wrapped at spaces to a width, words
 * longer than the width (links) kept whole on a line of their own, no
 * runs of blank lines. It knows nothing of templates or MIME.
 */
#ifndef FM_TEXTWRAP_H
#define FM_TEXTWRAP_H

#include <stddef.h>

struct buf;

#define TEXTWRAP_WIDTH 76 /* within the 72 to 78 mail readers expect */

/*
 * Appends text[0..len) to out with each line longer than width
 * characters (UTF-8 characters, not bytes) broken at spaces. A word
 * longer than width (a URL) is never broken: it gets a line of its own.
 * A continuation line is indented like the text it continues: under the
 * value of a "  Label:   value" line, under the words of a "- item"
 * line, else as deep as the line's own indentation. Trailing spaces go
 * (but for the signature separator "-- "), and a run of blank lines
 * becomes one.
 */
void textwrap(const char *text, size_t len, size_t width, struct buf *out);

/*
 * Appends text to out cut to at most max characters (0: no limit): at
 * the end of the last sentence that fits when that keeps at least half
 * of max, else at the last space, then "…". A trailing "[…]" or "[...]"
 * (what blog platforms put after an excerpt) becomes "…". Paragraph
 * breaks are kept.
 */
void textwrap_cut(const char *text, size_t max, struct buf *out);

#endif
