/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * textwrap: see textwrap.h.
 */
#include "config.h"

#include "textwrap.h"

#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* Characters (UTF-8 lead bytes) in s[0..n). */
static size_t
textwrap_width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* The column continuation lines of line[0..n) start at. */
static size_t
textwrap_hang(const char *line, size_t n)
{
	size_t i = 0, j;

	while (i < n && line[i] == ' ')
		i++;
	if (i + 1 < n && (line[i] == '-' || line[i] == '*') &&
	    line[i + 1] == ' ')
		return i + 2;
	/* "  Course:     Title": the value's column, when the label is
	 * short and followed by two spaces or more. */
	for (j = i; j < n && j < i + 24 && line[j] != ' '; j++)
		continue;
	if (j > i && j < n && line[j - 1] == ':' && j + 1 < n &&
	    line[j + 1] == ' ') {
		while (j < n && line[j] == ' ')
			j++;
		if (j < n && j < 40)
			return j;
	}
	return i;
}

static void
textwrap_spaces(struct buf *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_putc(out, ' ');
}

/* One line without its newline, wrapped. */
static void
textwrap_line(const char *line, size_t n, size_t width, struct buf *out)
{
	size_t hang, col, pos, start, wlen, ww;
	bool first_word = true;

	if (textwrap_width(line, n) <= width) {
		buf_append(out, line, n);
		return;
	}
	hang = textwrap_hang(line, n);
	/* The line's own indentation is kept as it is. */
	for (pos = 0; pos < n && line[pos] == ' '; pos++)
		buf_putc(out, ' ');
	col = pos;
	while (pos < n) {
		start = pos;
		while (pos < n && line[pos] != ' ')
			pos++;
		wlen = pos - start;
		ww = textwrap_width(line + start, wlen);
		if (!first_word && col + 1 + ww > width) {
			buf_putc(out, '\n');
			textwrap_spaces(out, hang);
			col = hang;
		} else if (!first_word) {
			buf_putc(out, ' ');
			col++;
		}
		buf_append(out, line + start, wlen);
		col += ww;
		first_word = false;
		/* Spaces between words: the label's alignment is kept on
		 * the first line, otherwise one space stands for them. */
		start = pos;
		while (pos < n && line[pos] == ' ')
			pos++;
		if (pos - start > 1 && pos < n && pos == hang &&
		    col + (pos - start) < width) {
			textwrap_spaces(out, pos - start - 1);
			col += pos - start - 1;
		}
	}
}

void
textwrap(const char *text, size_t len, size_t width, struct buf *out)
{
	size_t pos = 0, n, end;
	int blank = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		end = n;
		if (end > 0 && text[pos + end - 1] == '\r')
			end--;
		if (!(end == 3 && memcmp(text + pos, "-- ", 3) == 0))
			while (end > 0 && text[pos + end - 1] == ' ')
				end--;
		if (end == 0) {
			blank++;
			if (blank == 1 && out->len > 0)
				buf_putc(out, '\n');
		} else {
			blank = 0;
			textwrap_line(text + pos, end, width, out);
			buf_putc(out, '\n');
		}
		pos += n + (nl != NULL ? 1 : 0);
	}
}

/* Length of text without a trailing "[…]" / "[...]" and the blanks
 * before it; *cut is set when there was one. */
static size_t
textwrap_strip_more(const char *text, size_t len, bool *cut)
{
	static const char *const marks[] = { "[\xe2\x80\xa6]", "[...]",
		"\xe2\x80\xa6", "..." };

	*cut = false;
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\n'))
		len--;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(marks); i++) {
		size_t m = strlen(marks[i]);

		if (len >= m && memcmp(text + len - m, marks[i], m) == 0) {
			len -= m;
			*cut = true;
			break;
		}
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\n'))
		len--;
	return len;
}

void
textwrap_cut(const char *text, size_t max, struct buf *out)
{
	size_t len, chars = 0, i, limit, sentence = 0, space = 0;
	bool more;

	len = textwrap_strip_more(text, strlen(text), &more);
	/* limit: the byte offset where the max-th character ends. */
	for (i = 0; i < len; i++) {
		if (((unsigned char)text[i] & 0xc0) != 0x80) {
			if (max > 0 && chars == max)
				break;
			chars++;
		}
	}
	limit = i;
	if (limit >= len) {
		buf_append(out, text, len);
		if (more)
			buf_puts(out, "\xe2\x80\xa6");
		return;
	}
	for (i = 1; i <= limit; i++) {
		char c = text[i - 1];

		if (i < len && (text[i] == ' ' || text[i] == '\n')) {
			if (c == '.' || c == '!' || c == '?')
				sentence = i;
			space = i;
		}
	}
	if (sentence > 0 && textwrap_width(text, sentence) >= max / 2) {
		buf_append(out, text, sentence);
		return;
	}
	if (space == 0)
		space = limit;
	while (space > 0 &&
	    (text[space - 1] == ' ' || text[space - 1] == ',' ||
		text[space - 1] == ';' || text[space - 1] == ':' ||
		text[space - 1] == '\n'))
		space--;
	while (space > 0 && ((unsigned char)text[space] & 0xc0) == 0x80)
		space--;
	buf_append(out, text, space);
	buf_puts(out, "\xe2\x80\xa6");
}
