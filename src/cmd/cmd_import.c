/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_import: `familymail import subscribers FILE.csv` loads a list of
 * subscribers exported from a spreadsheet or a CRM.
 *
 * The file is CSV (RFC 4180: commas, fields in double quotes when they
 * hold a comma, a quote or a line break, quotes doubled inside; CRLF or
 * LF; UTF-8, with or without a byte order mark) whose first line names
 * the columns: email (required), name, frequency, status, in any order.
 *
 * The whole file is checked before anything is written, and every
 * problem is reported as "FILE:LINE: problem"; one bad line and nothing
 * is imported (exit 65), so a file is never half in. Then, in one
 * transaction, new addresses are added and known ones updated, with
 * three rules that protect people: an unsubscribed subscriber is left
 * alone (an old export never resubscribes anyone), an existing
 * subscriber's status only moves to unsubscribed or from pending to
 * active, and an address on the suppression list is never made active
 * (a new one is not added). It does not send the opt-in message to
 * pending subscribers: the daemon's opt-in job does.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "send/mime.h"
#include "suppress.h"
#include "util.h"

#define CMD_IMPORT_FILE_MAX (64u * 1024 * 1024) /* bytes of a CSV file */
#define CMD_IMPORT_LINE_MAX 4096                /* bytes of one line */
#define CMD_IMPORT_NAME_MAX 200                 /* bytes of a name */
#define CMD_IMPORT_PROGRESS 500                 /* rows between updates */

enum cmd_import_col {
	CMD_IMPORT_EMAIL,
	CMD_IMPORT_NAME,
	CMD_IMPORT_FREQUENCY,
	CMD_IMPORT_STATUS,
	CMD_IMPORT_N_COLS,
};

static const char *const cmd_import_col_names[] = {
	[CMD_IMPORT_EMAIL] = "email",
	[CMD_IMPORT_NAME] = "name",
	[CMD_IMPORT_FREQUENCY] = "frequency",
	[CMD_IMPORT_STATUS] = "status",
};

/* The reader's position in the file. */
struct cmd_import_csv {
	const char *data;
	size_t len;
	size_t pos;
	unsigned line; /* physical line at pos, from 1 */
};

/* One record as read: its fields, unquoted. */
struct cmd_import_record {
	unsigned line; /* where it starts */
	char **fields;
	size_t n;
	size_t cap;
	bool quoted;         /* some field was quoted */
	bool too_long;       /* a physical line over CMD_IMPORT_LINE_MAX */
	const char *problem; /* the first syntax problem, or NULL */
};

/* One checked row, ready to import. Strings are owned; NULL: not given. */
struct cmd_import_row {
	unsigned line;
	char *email;
	char *key; /* email lower-cased, for duplicates */
	char *name;
	const char *frequency; /* static: "weekly", "monthly" */
	const char *status;    /* static: "pending", ... */
};

struct cmd_import_problem {
	unsigned line;
	size_t seq;
	char *msg;
};

struct cmd_import {
	const char *path;
	const char *secret; /* the token secret: erased addresses, or NULL */
	int col_of[CMD_IMPORT_N_COLS]; /* field index of each column, -1 */
	size_t n_header;
	struct cmd_import_row *rows;
	size_t n_rows;
	size_t cap_rows;
	struct cmd_import_problem *problems;
	size_t n_problems;
	size_t cap_problems;
};

struct cmd_import_counts {
	size_t added;
	size_t updated;
	size_t unchanged;
	size_t kept_unsubscribed;
	size_t suppressed;
};

static void cmd_import_problem(struct cmd_import *im, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
cmd_import_problem(struct cmd_import *im, unsigned line, const char *fmt, ...)
{
	struct cmd_import_problem *p;
	struct buf b;
	va_list ap;

	if (im->n_problems == im->cap_problems) {
		im->cap_problems =
		    im->cap_problems == 0 ? 16 : im->cap_problems * 2;
		im->problems = xreallocarray(
		    im->problems, im->cap_problems, sizeof(*im->problems));
	}
	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	p = &im->problems[im->n_problems];
	p->line = line;
	p->seq = im->n_problems++;
	p->msg = buf_take(&b);
}

static void
cmd_import_record_reset(struct cmd_import_record *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->fields[i]);
	r->n = 0;
	r->quoted = false;
	r->too_long = false;
	r->problem = NULL;
}

static void
cmd_import_record_fini(struct cmd_import_record *r)
{
	cmd_import_record_reset(r);
	free(r->fields);
}

static void
cmd_import_record_push(struct cmd_import_record *r, struct buf *field)
{
	if (r->n == r->cap) {
		r->cap = r->cap == 0 ? 8 : r->cap * 2;
		r->fields =
		    xreallocarray(r->fields, r->cap, sizeof(*r->fields));
	}
	if (field->data == NULL)
		buf_puts(field, "");
	r->fields[r->n++] = buf_take(field);
}

/*
 * Reads the next record (RFC 4180) into r. Returns true if there was
 * one. Syntax problems are noted in r and reading goes on to the end of
 * the record, so the next one starts where it should.
 */
static bool
cmd_import_read(struct cmd_import_csv *c, struct cmd_import_record *r)
{
	/* blank: the field so far is only spaces (kept as it grows, so
	 * that a line of stray quotes costs linear time). */
	bool in_quotes = false, after_quote = false, blank = true;
	size_t line_bytes = 0;
	struct buf field;
	char ch;

	cmd_import_record_reset(r);
	if (c->pos >= c->len)
		return false;
	r->line = c->line;
	buf_init(&field);
	while (c->pos < c->len) {
		ch = c->data[c->pos++];
		if (++line_bytes > CMD_IMPORT_LINE_MAX)
			r->too_long = true;
		if (ch == '\0' && r->problem == NULL)
			r->problem = "a NUL byte (is this a text file?)";
		if (in_quotes) {
			if (ch == '"' && c->pos < c->len &&
			    c->data[c->pos] == '"') {
				buf_putc(&field, '"');
				c->pos++;
				line_bytes++;
			} else if (ch == '"') {
				in_quotes = false;
				after_quote = true;
			} else {
				if (ch == '\n') {
					c->line++;
					line_bytes = 0;
				}
				buf_putc(&field, ch);
			}
			continue;
		}
		if (ch == ',') {
			cmd_import_record_push(r, &field);
			after_quote = false;
			blank = true;
			continue;
		}
		if (ch == '\n' ||
		    (ch == '\r' && c->pos < c->len &&
			c->data[c->pos] == '\n')) {
			if (ch == '\r')
				c->pos++;
			c->line++;
			cmd_import_record_push(r, &field);
			return true;
		}
		if (ch == '"') {
			/* Only a field's first character (after spaces,
			 * which some programs write) may open quotes. */
			if (blank && !after_quote) {
				buf_reset(&field);
				in_quotes = true;
				r->quoted = true;
				continue;
			}
			if (r->problem == NULL)
				r->problem = "a quote inside a field that does "
					     "not start with one (quote the "
					     "whole field and double the "
					     "quote)";
		} else if (after_quote && ch != ' ' && ch != '\r' &&
		    r->problem == NULL) {
			r->problem = "text after a closing quote";
		}
		if (ch != ' ')
			blank = false;
		buf_putc(&field, ch);
	}
	if (in_quotes && r->problem == NULL)
		r->problem = "a quoted field is not closed before the end "
			     "of the file";
	cmd_import_record_push(r, &field);
	return true;
}

static bool
cmd_import_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	unsigned cp;

	while (*p != '\0') {
		if (p[0] < 0x80) {
			p++;
			continue;
		}
		if (p[0] >= 0xc2 && p[0] <= 0xdf)
			n = 2, cp = p[0] & 0x1f;
		else if (p[0] >= 0xe0 && p[0] <= 0xef)
			n = 3, cp = p[0] & 0x0f;
		else if (p[0] >= 0xf0 && p[0] <= 0xf4)
			n = 4, cp = p[0] & 0x07;
		else
			return false;
		for (size_t i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n;
	}
	return true;
}

static bool
cmd_import_has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* Strips spaces and tabs at both ends, in place. */
static char *
cmd_import_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* s as it can be quoted in a message: control characters as '?', at
 * most 60 bytes. Newly allocated. */
static char *
cmd_import_show(const char *s)
{
	size_t n = strlen(s);
	char *out = xstrndup(s, n > 60 ? 60 : n);

	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

/* The header: which field holds which column. 0, or -EINVAL after
 * recording the problems. */
static int
cmd_import_header(struct cmd_import *im, struct cmd_import_record *r)
{
	int ret = 0;

	for (size_t c = 0; c < CMD_IMPORT_N_COLS; c++)
		im->col_of[c] = -1;
	if (r->problem != NULL) {
		cmd_import_problem(im, r->line, "%s", r->problem);
		return -EINVAL;
	}
	im->n_header = r->n;
	for (size_t i = 0; i < r->n; i++) {
		char *name = cmd_import_trim(r->fields[i]), *shown;
		size_t c;

		for (c = 0; c < CMD_IMPORT_N_COLS; c++)
			if (strcasecmp(name, cmd_import_col_names[c]) == 0)
				break;
		if (c == CMD_IMPORT_N_COLS) {
			shown = cmd_import_show(name);
			cmd_import_problem(im, r->line,
			    "unknown column '%s' (the columns are email, "
			    "name, frequency and status)",
			    shown);
			free(shown);
			ret = -EINVAL;
		} else if (im->col_of[c] >= 0) {
			cmd_import_problem(im, r->line, "column '%s' twice",
			    cmd_import_col_names[c]);
			ret = -EINVAL;
		} else {
			im->col_of[c] = (int)i;
		}
	}
	if (im->col_of[CMD_IMPORT_EMAIL] < 0) {
		cmd_import_problem(im, r->line,
		    "no email column (the first line must name the "
		    "columns, e.g. email,name,frequency)");
		ret = -EINVAL;
	}
	return ret;
}

/* The value of column c in r, trimmed, or NULL when the file has no
 * such column or the cell is empty. */
static char *
cmd_import_cell(
    struct cmd_import *im, struct cmd_import_record *r, enum cmd_import_col c)
{
	char *s;

	if (im->col_of[c] < 0)
		return NULL;
	s = cmd_import_trim(r->fields[im->col_of[c]]);
	return *s != '\0' ? s : NULL;
}

static const char *
cmd_import_one_of(const char *s, const char *const *allowed)
{
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcasecmp(s, allowed[i]) == 0)
			return allowed[i];
	return NULL;
}

/* Checks one data record; a good one is added to im->rows. */
static void
cmd_import_check(struct cmd_import *im, struct cmd_import_record *r)
{
	static const char *const frequencies[] = { "weekly", "monthly", NULL };
	static const char *const statuses[] = { "pending", "active",
		"unsubscribed", NULL };
	struct cmd_import_row row = { .line = r->line };
	char *email, *name, *freq, *status, *shown;
	size_t before = im->n_problems;

	if (r->too_long) {
		cmd_import_problem(im, r->line, "line too long (over %d bytes)",
		    CMD_IMPORT_LINE_MAX);
		return;
	}
	if (r->problem != NULL) {
		cmd_import_problem(im, r->line, "%s", r->problem);
		return;
	}
	if (r->n != im->n_header) {
		cmd_import_problem(im, r->line,
		    "%zu field%s where the header names %zu (a comma in a "
		    "name needs quotes)",
		    r->n, r->n == 1 ? "" : "s", im->n_header);
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (!cmd_import_utf8_valid(r->fields[i])) {
			cmd_import_problem(im, r->line,
			    "not valid UTF-8 (save the file as UTF-8)");
			return;
		}
	}
	email = cmd_import_cell(im, r, CMD_IMPORT_EMAIL);
	name = cmd_import_cell(im, r, CMD_IMPORT_NAME);
	freq = cmd_import_cell(im, r, CMD_IMPORT_FREQUENCY);
	status = cmd_import_cell(im, r, CMD_IMPORT_STATUS);
	if (email == NULL) {
		cmd_import_problem(im, r->line, "no email address");
	} else if (!addr_is_valid(email)) {
		shown = cmd_import_show(email);
		cmd_import_problem(im, r->line, "bad address '%s'", shown);
		free(shown);
	}
	if (name != NULL && cmd_import_has_control(name))
		cmd_import_problem(im, r->line,
		    "the name has a line break or another control character");
	else if (name != NULL && strlen(name) > CMD_IMPORT_NAME_MAX)
		cmd_import_problem(im, r->line,
		    "the name is longer than %d bytes", CMD_IMPORT_NAME_MAX);
	if (freq != NULL) {
		row.frequency = cmd_import_one_of(freq, frequencies);
		if (row.frequency == NULL) {
			shown = cmd_import_show(freq);
			cmd_import_problem(im, r->line,
			    "unknown frequency '%s' (weekly or monthly)",
			    shown);
			free(shown);
		}
	}
	if (status != NULL) {
		row.status = cmd_import_one_of(status, statuses);
		if (row.status == NULL) {
			shown = cmd_import_show(status);
			cmd_import_problem(im, r->line,
			    "unknown status '%s' (pending, active or "
			    "unsubscribed)",
			    shown);
			free(shown);
		}
	}
	if (im->n_problems != before)
		return;
	row.email = xstrdup(email);
	row.key = xstrdup(email);
	for (char *p = row.key; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	row.name = name != NULL ? xstrdup(name) : NULL;
	if (im->n_rows == im->cap_rows) {
		im->cap_rows = im->cap_rows == 0 ? 64 : im->cap_rows * 2;
		im->rows =
		    xreallocarray(im->rows, im->cap_rows, sizeof(*im->rows));
	}
	im->rows[im->n_rows++] = row;
}

static int
cmd_import_by_key(const void *a, const void *b)
{
	const struct cmd_import_row *const *x = a, *const *y = b;
	int c = strcmp((*x)->key, (*y)->key);

	if (c != 0)
		return c;
	return (*x)->line < (*y)->line ? -1 : (*x)->line > (*y)->line;
}

/* Reports every address that appears twice, at its later lines. */
static void
cmd_import_find_duplicates(struct cmd_import *im)
{
	struct cmd_import_row **v;
	size_t first = 0;

	if (im->n_rows < 2)
		return;
	v = xreallocarray(NULL, im->n_rows, sizeof(struct cmd_import_row *));
	for (size_t i = 0; i < im->n_rows; i++)
		v[i] = &im->rows[i];
	qsort(
	    v, im->n_rows, sizeof(struct cmd_import_row *), cmd_import_by_key);
	for (size_t i = 1; i < im->n_rows; i++) {
		if (strcmp(v[i]->key, v[first]->key) != 0) {
			first = i;
			continue;
		}
		cmd_import_problem(im, v[i]->line,
		    "duplicate address %s (also on line %u)", v[i]->email,
		    v[first]->line);
	}
	free(v);
}

static int
cmd_import_by_line(const void *a, const void *b)
{
	const struct cmd_import_problem *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads and checks the whole file into im. 0 if every line is good;
 * the problems are in im otherwise. */
static int
cmd_import_load(struct cmd_import *im, const struct buf *file)
{
	struct cmd_import_csv c = { file->data, file->len, 0, 1 };
	struct cmd_import_record r = { 0 };
	bool header = false;

	/* A spreadsheet's "CSV UTF-8" starts with a byte order mark. */
	if (c.len >= 3 && memcmp(c.data, "\xef\xbb\xbf", 3) == 0)
		c.pos = 3;
	while (cmd_import_read(&c, &r)) {
		/* Blank lines (often one at the end) are no records. */
		if (r.n == 1 && !r.quoted && r.problem == NULL &&
		    *cmd_import_trim(r.fields[0]) == '\0')
			continue;
		if (!header) {
			header = true;
			if (cmd_import_header(im, &r) != 0)
				break;
			continue;
		}
		cmd_import_check(im, &r);
	}
	cmd_import_record_fini(&r);
	if (!header)
		cmd_import_problem(im, 1,
		    "the file is empty (the first line "
		    "must name the columns)");
	cmd_import_find_duplicates(im);
	if (im->n_problems > 1)
		qsort(im->problems, im->n_problems, sizeof(*im->problems),
		    cmd_import_by_line);
	return im->n_problems == 0 ? 0 : -EINVAL;
}

enum {
	CMD_IMPORT_ST_FIND,
	CMD_IMPORT_ST_INSERT,
	CMD_IMPORT_ST_UPDATE,
	CMD_IMPORT_ST_SUPPRESSED,
	CMD_IMPORT_ST_COUNT,
};

static const char *const cmd_import_sql[] = {
	[CMD_IMPORT_ST_FIND] = "SELECT id, name, frequency, status"
			       " FROM subscribers WHERE email = ?1",
	[CMD_IMPORT_ST_INSERT] = "INSERT INTO subscribers (email, name, status,"
				 " frequency, created_at)"
				 " VALUES (?1, ?2, ?3, ?4, ?5)",
	[CMD_IMPORT_ST_UPDATE] = "UPDATE subscribers SET name = ?2,"
				 " frequency = ?3, status = ?4 WHERE id = ?1",
	/* An erased address is on the list as its hash (suppress.h). */
	[CMD_IMPORT_ST_SUPPRESSED] = "SELECT reason FROM suppressions"
				     " WHERE email = ?1 OR email = ?2",
};

static bool
cmd_import_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
cmd_import_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* Records what the import did to email in its history. */
static int
cmd_import_record(sqlite3_stmt *st, const char *now, enum events_type type,
    const char *email, const char *detail)
{
	time_t t;

	if (clock_parse_iso(now, &t) != 0)
		t = clock_now();
	return events_add(
	    sqlite3_db_handle(st), t, type, email, 0, "import", detail);
}

/* The row's address as the suppression list knows it (by the address,
 * or by the keyed hash an erasure left): why it is on it (owned), or
 * NULL. */
static char *
cmd_import_suppressed(const struct cmd_import *im, sqlite3_stmt *st,
    const struct cmd_import_row *row)
{
	char hash[SUPPRESS_HASH_LEN];
	char *suppressed = NULL;

	sqlite3_bind_text(st, 1, row->email, -1, SQLITE_STATIC);
	if (im->secret != NULL) {
		suppress_hash(im->secret, strlen(im->secret), row->email, hash);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		suppressed = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return suppressed;
}

/* A subscriber as the database has it before the import. */
struct cmd_import_old {
	int64_t id;
	char *name; /* owned; NULL: none */
	char freq[16];
	char status[16];
};

/* Looks the row's address up: true and old filled when it is known. */
static bool
cmd_import_find(sqlite3_stmt *f, const struct cmd_import_row *row,
    struct cmd_import_old *old)
{
	bool exists;

	sqlite3_bind_text(f, 1, row->email, -1, SQLITE_STATIC);
	exists = sqlite3_step(f) == SQLITE_ROW;
	if (exists) {
		const char *s;

		old->id = sqlite3_column_int64(f, 0);
		s = (const char *)sqlite3_column_text(f, 1);
		old->name = s != NULL ? xstrdup(s) : NULL;
		s = (const char *)sqlite3_column_text(f, 2);
		(void)snprintf(
		    old->freq, sizeof(old->freq), "%s", s != NULL ? s : "");
		s = (const char *)sqlite3_column_text(f, 3);
		(void)snprintf(
		    old->status, sizeof(old->status), "%s", s != NULL ? s : "");
	}
	sqlite3_reset(f);
	return exists;
}

/* Adds a new address, unless it is suppressed (then only an
 * unsubscribed row is added). 0 or a negative errno. */
static int
cmd_import_add(const struct cmd_import *im, sqlite3_stmt *ins,
    const struct cmd_import_row *row, const char *now, const char *suppressed,
    struct cmd_import_counts *n)
{
	const char *status = row->status != NULL ? row->status : "active";
	int ret;

	if (suppressed != NULL && strcmp(status, "unsubscribed") != 0) {
		fprintf(stderr,
		    "%s:%u: %s is on the suppression list (%s): not "
		    "added\n",
		    im->path, row->line, row->email, suppressed);
		n->suppressed++;
		return 0;
	}
	sqlite3_bind_text(ins, 1, row->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, row->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4,
	    row->frequency != NULL ? row->frequency : "weekly", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(ins, 5, now, -1, SQLITE_STATIC);
	ret = cmd_import_step_done(ins);
	if (ret == 0) {
		n->added++;
		ret = cmd_import_record(ins, now,
		    strcmp(status, "unsubscribed") == 0 ? EVENTS_UNSUBSCRIBED
							: EVENTS_SUBSCRIBED,
		    row->email, status);
	}
	return ret;
}

/* Updates a known subscriber by the rules that protect people (see the
 * top of the file). 0 or a negative errno. */
static int
cmd_import_update(const struct cmd_import *im, sqlite3_stmt *up,
    const struct cmd_import_row *row, const char *now, const char *suppressed,
    const struct cmd_import_old *old, struct cmd_import_counts *n)
{
	const char *freq, *status;
	int ret;

	if (strcmp(old->status, "unsubscribed") == 0) {
		n->kept_unsubscribed++;
		return 0;
	}
	/* An existing subscriber's status moves only to unsubscribed, or
	 * from pending to active; never to active when suppressed. */
	status = old->status;
	if (row->status != NULL && strcmp(row->status, "unsubscribed") == 0)
		status = row->status;
	if (row->status != NULL && strcmp(row->status, "active") == 0 &&
	    strcmp(old->status, "pending") == 0) {
		if (suppressed == NULL)
			status = row->status;
		else
			fprintf(stderr,
			    "%s:%u: %s is on the suppression list (%s): left "
			    "%s, not made active\n",
			    im->path, row->line, row->email, suppressed,
			    old->status);
	}
	freq = row->frequency != NULL ? row->frequency : old->freq;
	if ((row->name == NULL || cmd_import_same(row->name, old->name)) &&
	    strcmp(freq, old->freq) == 0 && strcmp(status, old->status) == 0) {
		n->unchanged++;
		return 0;
	}
	sqlite3_bind_int64(up, 1, old->id);
	sqlite3_bind_text(up, 2, row->name != NULL ? row->name : old->name, -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(up, 3, freq, -1, SQLITE_STATIC);
	sqlite3_bind_text(up, 4, status, -1, SQLITE_STATIC);
	ret = cmd_import_step_done(up);
	if (ret == 0)
		n->updated++;
	if (ret == 0 && strcmp(status, old->status) != 0)
		ret = cmd_import_record(up, now,
		    strcmp(status, "unsubscribed") == 0 ? EVENTS_UNSUBSCRIBED
							: EVENTS_CONFIRMED,
		    row->email, NULL);
	if (ret == 0 && strcmp(freq, old->freq) != 0)
		ret = cmd_import_record(
		    up, now, EVENTS_PREFERENCE_CHANGED, row->email, freq);
	return ret;
}

/* Applies one row. 0 or a negative errno (the database failed). */
static int
cmd_import_apply(struct cmd_import *im, sqlite3_stmt **st,
    const struct cmd_import_row *row, const char *now,
    struct cmd_import_counts *n)
{
	struct cmd_import_old old = { .id = 0, .name = NULL };
	char *suppressed;
	int ret;

	suppressed =
	    cmd_import_suppressed(im, st[CMD_IMPORT_ST_SUPPRESSED], row);
	if (cmd_import_find(st[CMD_IMPORT_ST_FIND], row, &old))
		ret = cmd_import_update(im, st[CMD_IMPORT_ST_UPDATE], row, now,
		    suppressed, &old, n);
	else
		ret = cmd_import_add(
		    im, st[CMD_IMPORT_ST_INSERT], row, now, suppressed, n);
	free(old.name);
	free(suppressed);
	return ret;
}

/* Writes every row in one transaction. 0 or a negative errno, after
 * which nothing was written. */
static int
cmd_import_write(
    struct cmd_import *im, sqlite3 *db, struct cmd_import_counts *n)
{
	sqlite3_stmt *st[CMD_IMPORT_ST_COUNT] = { NULL };
	char now[CLOCK_ISO_LEN];
	bool progress = isatty(STDERR_FILENO);
	int ret = 0;

	clock_format_iso(clock_now(), now);
	for (int i = 0; ret == 0 && i < CMD_IMPORT_ST_COUNT; i++)
		ret = db_prepare(db, cmd_import_sql[i], &st[i]);
	if (ret == 0)
		ret = db_begin(db);
	for (size_t i = 0; ret == 0 && i < im->n_rows; i++) {
		ret = cmd_import_apply(im, st, &im->rows[i], now, n);
		if (ret != 0)
			fprintf(stderr, "%s:%u: %s: %s\n", im->path,
			    im->rows[i].line, im->rows[i].email,
			    sqlite3_errmsg(db));
		if (progress && (i + 1) % CMD_IMPORT_PROGRESS == 0)
			fprintf(stderr, "\rimporting: %zu of %zu", i + 1,
			    im->n_rows);
	}
	if (progress && im->n_rows >= CMD_IMPORT_PROGRESS)
		fprintf(stderr, "\r%40s\r", "");
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0)
		db_rollback(db);
	for (int i = 0; i < CMD_IMPORT_ST_COUNT; i++)
		sqlite3_finalize(st[i]);
	return ret;
}

static void
cmd_import_fini(struct cmd_import *im)
{
	for (size_t i = 0; i < im->n_rows; i++) {
		free(im->rows[i].email);
		free(im->rows[i].key);
		free(im->rows[i].name);
	}
	free(im->rows);
	for (size_t i = 0; i < im->n_problems; i++)
		free(im->problems[i].msg);
	free(im->problems);
}

static int
cmd_import_usage(void)
{
	fprintf(stderr,
	    "usage: familymail import subscribers FILE.csv\n"
	    "  FILE.csv: a header line naming the columns email "
	    "(required), name,\n  frequency (weekly|monthly), "
	    "status (pending|active|unsubscribed)\n");
	return CMD_EX_USAGE;
}

int
cmd_import(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_import im = { 0 };
	struct cmd_import_counts n = { 0 };
	struct cfg *cfg = NULL;
	char *secret = NULL;
	sqlite3 *db = NULL;
	struct buf file;
	int ret, code = 1;

	if (getopt_long(argc, argv, "", longopts, NULL) != -1 ||
	    optind + 2 != argc || strcmp(argv[optind], "subscribers") != 0)
		return cmd_import_usage();
	im.path = argv[optind + 1];
	buf_init(&file);
	ret = util_read_file(im.path, CMD_IMPORT_FILE_MAX, &file);
	if (ret != 0) {
		fprintf(stderr, "familymail: import: %s: %s\n", im.path,
		    ret == -EFBIG ? "too big (over 64 MB)" : strerror(-ret));
		buf_fini(&file);
		return ret == -EFBIG ? CMD_EX_DATAERR : CMD_EX_NOINPUT;
	}
	if (cmd_import_load(&im, &file) != 0) {
		for (size_t i = 0; i < im.n_problems; i++)
			fprintf(stderr, "%s:%u: %s\n", im.path,
			    im.problems[i].line, im.problems[i].msg);
		fprintf(stderr,
		    "familymail: import: %zu problem%s in %s; nothing was "
		    "imported\n",
		    im.n_problems, im.n_problems == 1 ? "" : "s", im.path);
		code = CMD_EX_DATAERR;
		goto out;
	}
	cfg = cmd_load_config(config_path);
	if (cfg == NULL) {
		code = CMD_EX_CONFIG;
		goto out;
	}
	log_init(LOG_LEVEL_WARNING);
	db = cmd_open_db(cfg);
	if (db == NULL)
		goto out;
	secret = cmd_read_secret(cfg, "import", NULL);
	im.secret = secret;
	if (cmd_import_write(&im, db, &n) != 0) {
		fprintf(stderr,
		    "familymail: import: %s: the database "
		    "refused the import; nothing was imported\n",
		    im.path);
		goto out;
	}
	printf("%s: %zu added, %zu updated, %zu unchanged, %zu kept "
	       "unsubscribed, %zu not added (suppressed)\n",
	    im.path, n.added, n.updated, n.unchanged, n.kept_unsubscribed,
	    n.suppressed);
	code = 0;
out:
	cmd_free_secret(secret);
	cmd_import_fini(&im);
	buf_fini(&file);
	db_close(db);
	cfg_free(cfg);
	return code;
}
