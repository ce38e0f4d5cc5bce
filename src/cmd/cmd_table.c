/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_table: see cmd_table.h. Each cell keeps two forms: the text shown
 * in the columns (cleaned of control characters, valid UTF-8) and the
 * JSON value. Widths are counted in terminal cells with a small table of
 * zero-width and double-width ranges, enough for names in Welsh, Arabic
 * or Chinese to line up; it is not a full Unicode width database.
 */
#include "config.h"

#include "cmd/cmd_table.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "util.h"

#define CMD_TABLE_GAP      2  /* spaces between columns */
#define CMD_TABLE_LAST_MIN 12 /* narrowest last column on a terminal */

struct cmd_table_cell {
	char *text; /* NULL: empty */
	json_t *json;
};

struct cmd_table {
	const struct cmd_table_column *cols;
	size_t n_cols;
	struct cmd_table_cell *cells; /* n_rows * n_cols */
	size_t n_rows;
	size_t cap_rows;
};

struct cmd_table *
cmd_table_new(const struct cmd_table_column *cols, size_t n)
{
	struct cmd_table *t = xcalloc(1, sizeof(*t));

	t->cols = cols;
	t->n_cols = n;
	return t;
}

void
cmd_table_free(struct cmd_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
		free(t->cells[i].text);
		json_decref(t->cells[i].json);
	}
	free(t->cells);
	free(t);
}

void
cmd_table_add_row(struct cmd_table *t)
{
	if (t->n_rows == t->cap_rows) {
		t->cap_rows = t->cap_rows == 0 ? 32 : t->cap_rows * 2;
		t->cells = xreallocarray(
		    t->cells, t->cap_rows * t->n_cols, sizeof(*t->cells));
	}
	memset(
	    &t->cells[t->n_rows * t->n_cols], 0, t->n_cols * sizeof(*t->cells));
	t->n_rows++;
}

size_t
cmd_table_rows(const struct cmd_table *t)
{
	return t->n_rows;
}

/* Decodes one UTF-8 sequence at s (n bytes left): its length, and *cp,
 * or 0 for an invalid sequence. */
static size_t
cmd_table_utf8(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len;
	unsigned c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Terminal cells taken by code point cp. */
static unsigned
cmd_table_cp_width(unsigned cp)
{
	static const struct {
		unsigned lo, hi;
	} zero[] = {
		{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd },
		{ 0x0610, 0x061a }, { 0x064b, 0x065f }, { 0x0670, 0x0670 },
		{ 0x06d6, 0x06dc }, { 0x06df, 0x06e4 }, { 0x1ab0, 0x1aff },
		{ 0x1dc0, 0x1dff }, { 0x200b, 0x200f }, { 0x202a, 0x202e },
		{ 0x2060, 0x2069 }, { 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f },
		{ 0xfe20, 0xfe2f }, { 0xfeff, 0xfeff },
	},
	  wide[] = {
		  { 0x1100, 0x115f },
		  { 0x2e80, 0x303e },
		  { 0x3041, 0x33ff },
		  { 0x3400, 0x4dbf },
		  { 0x4e00, 0x9fff },
		  { 0xa000, 0xa4cf },
		  { 0xac00, 0xd7a3 },
		  { 0xf900, 0xfaff },
		  { 0xfe30, 0xfe4f },
		  { 0xff00, 0xff60 },
		  { 0xffe0, 0xffe6 },
		  { 0x1f300, 0x1f64f },
		  { 0x1f900, 0x1f9ff },
		  { 0x20000, 0x3fffd },
	  };

	for (size_t i = 0; i < UTIL_ARRAY_LEN(zero); i++)
		if (cp >= zero[i].lo && cp <= zero[i].hi)
			return 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(wide); i++)
		if (cp >= wide[i].lo && cp <= wide[i].hi)
			return 2;
	return 1;
}

/* The text of s as it may be shown: valid UTF-8 (a bad byte becomes
 * U+FFFD), every control character a space. Newly allocated. */
static char *
cmd_table_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	struct buf b;
	unsigned cp;

	buf_init(&b);
	buf_reserve(&b, n);
	while (n > 0) {
		len = cmd_table_utf8(p, n, &cp);
		if (len == 0) {
			buf_puts(&b, "\xef\xbf\xbd");
			p++;
			n--;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			buf_putc(&b, ' ');
		else
			buf_append(&b, p, len);
		p += len;
		n -= len;
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_take(&b);
}

/* Width in terminal cells of clean text s. */
static unsigned
cmd_table_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	unsigned w = 0, cp;

	while (n > 0) {
		len = cmd_table_utf8(p, n, &cp);
		if (len == 0)
			len = 1, cp = '?';
		w += cmd_table_cp_width(cp);
		p += len;
		n -= len;
	}
	return w;
}

static struct cmd_table_cell *
cmd_table_cell(struct cmd_table *t, size_t col)
{
	struct cmd_table_cell *c;

	if (t->n_rows == 0 || col >= t->n_cols)
		abort(); /* a programming error, not a run-time one */
	c = &t->cells[(t->n_rows - 1) * t->n_cols + col];
	free(c->text);
	json_decref(c->json);
	c->text = NULL;
	c->json = NULL;
	return c;
}

void
cmd_table_set_text(struct cmd_table *t, size_t col, const char *text)
{
	struct cmd_table_cell *c = cmd_table_cell(t, col);

	if (text == NULL)
		return;
	c->text = cmd_table_clean(text);
	/* jansson refuses invalid UTF-8; the cleaned text is valid and
	 * keeps every printable character. */
	c->json = json_string(text);
	if (c->json == NULL)
		c->json = json_string(c->text);
}

void
cmd_table_set_int(struct cmd_table *t, size_t col, int64_t v)
{
	struct cmd_table_cell *c = cmd_table_cell(t, col);

	c->text = xasprintf("%lld", (long long)v);
	c->json = json_integer((json_int_t)v);
}

void
cmd_table_set_time(struct cmd_table *t, size_t col, const char *iso)
{
	struct cmd_table_cell *c;
	char local[32];
	struct tm tm;
	time_t when;

	if (iso == NULL || clock_parse_iso(iso, &when) != 0 ||
	    localtime_r(&when, &tm) == NULL ||
	    strftime(local, sizeof(local), "%Y-%m-%d %H:%M", &tm) == 0) {
		cmd_table_set_text(t, col, iso);
		return;
	}
	c = cmd_table_cell(t, col);
	c->text = xstrdup(local);
	c->json = json_string(iso);
}

void
cmd_table_set_json(
    struct cmd_table *t, size_t col, const char *text, json_t *json)
{
	struct cmd_table_cell *c = cmd_table_cell(t, col);

	c->text = text != NULL ? cmd_table_clean(text) : NULL;
	c->json = json;
}

/* Writes s cut to at most w cells, ending in "…" when cut. Returns the
 * cells written. */
static unsigned
cmd_table_put_cut(FILE *out, const char *s, unsigned w)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	unsigned used = 0, cw, cp;

	if (cmd_table_width(s) <= w) {
		fputs(s, out);
		return cmd_table_width(s);
	}
	while (n > 0) {
		len = cmd_table_utf8(p, n, &cp);
		if (len == 0)
			len = 1, cp = '?';
		cw = cmd_table_cp_width(cp);
		if (used + cw + 1 > w)
			break;
		/* Errors stick to out; main() checks stdout at exit. */
		(void)fwrite(p, 1, len, out);
		used += cw;
		p += len;
		n -= len;
	}
	if (w > 0) {
		fputs("…", out);
		used++;
	}
	return used;
}

static void
cmd_table_pad(FILE *out, unsigned n)
{
	while (n-- > 0)
		putc(' ', out);
}

static void
cmd_table_put_row(const struct cmd_table *t, FILE *out, const char *const *v,
    const unsigned *w, unsigned width)
{
	for (size_t c = 0; c < t->n_cols; c++) {
		const char *s = v[c] != NULL ? v[c] : "";
		bool last = c + 1 == t->n_cols;
		unsigned sw = cmd_table_width(s);

		if (c > 0)
			cmd_table_pad(out, CMD_TABLE_GAP);
		if (t->cols[c].right && sw < w[c])
			cmd_table_pad(out, w[c] - sw);
		if (width == 0) {
			fputs(s, out);
		} else {
			sw = cmd_table_put_cut(out, s, w[c]);
		}
		if (!t->cols[c].right && !last && sw < w[c])
			cmd_table_pad(out, w[c] - sw);
	}
	putc('\n', out);
}

int
cmd_table_print_text(const struct cmd_table *t, FILE *out, unsigned width)
{
	unsigned *w = xcalloc(t->n_cols, sizeof(*w)), used = 0;
	const char **v = xcalloc(t->n_cols, sizeof(*v));

	for (size_t c = 0; c < t->n_cols; c++) {
		w[c] = cmd_table_width(t->cols[c].title);
		for (size_t r = 0; r < t->n_rows; r++) {
			const char *s = t->cells[r * t->n_cols + c].text;
			unsigned sw = s != NULL ? cmd_table_width(s) : 0;

			if (sw > w[c])
				w[c] = sw;
		}
		if (width > 0 && t->cols[c].max > 0 && w[c] > t->cols[c].max)
			w[c] = t->cols[c].max;
		if (c + 1 < t->n_cols)
			used += w[c] + CMD_TABLE_GAP;
	}
	/* The last column (a reply, a diagnostic) takes what is left of
	 * the terminal, so that each row stays one line. */
	if (width > 0 && t->n_cols > 0) {
		unsigned left = width > used + CMD_TABLE_LAST_MIN
		    ? width - used
		    : CMD_TABLE_LAST_MIN;

		if (w[t->n_cols - 1] > left)
			w[t->n_cols - 1] = left;
	}
	for (size_t c = 0; c < t->n_cols; c++)
		v[c] = t->cols[c].title;
	cmd_table_put_row(t, out, v, w, width);
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++)
			v[c] = t->cells[r * t->n_cols + c].text;
		cmd_table_put_row(t, out, v, w, width);
	}
	free(v);
	free(w);
	return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

/* Row r as a new JSON object. */
static json_t *
cmd_table_row_json(const struct cmd_table *t, size_t r)
{
	json_t *row = json_object();

	for (size_t c = 0; c < t->n_cols; c++) {
		json_t *j = t->cells[r * t->n_cols + c].json;

		json_object_set(
		    row, t->cols[c].key, j != NULL ? j : json_null());
	}
	return row;
}

int
cmd_table_print_json_lines(const struct cmd_table *t, FILE *out)
{
	json_t *row;
	int ret = 0;

	for (size_t r = 0; ret == 0 && r < t->n_rows; r++) {
		row = cmd_table_row_json(t, r);
		ret = json_dumpf(row, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(row);
		if (ret == 0 && putc('\n', out) == EOF)
			ret = -1;
	}
	return ret == 0 && fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

static int
cmd_table_print_json(const struct cmd_table *t, FILE *out)
{
	json_t *rows = json_array();
	int ret;

	for (size_t r = 0; r < t->n_rows; r++)
		json_array_append_new(rows, cmd_table_row_json(t, r));
	ret = json_dumpf(rows, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(rows);
	if (ret == 0)
		putc('\n', out);
	return ret == 0 && fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

int
cmd_table_print(const struct cmd_table *t, FILE *out, bool json)
{
	struct winsize ws;
	unsigned width = 0;

	if (json)
		return cmd_table_print_json(t, out);
	if (isatty(fileno(out))) {
		width = 80;
		if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
			width = ws.ws_col;
	}
	return cmd_table_print_text(t, out, width);
}
