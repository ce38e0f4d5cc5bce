/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * compose_calendar: see compose_calendar.h. Everything here reads the
 * context compose.c built, so the calendar entry, the links and the
 * message's text always show the same course.
 */
#include "config.h"

#include "send/compose_calendar.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "send/calendar.h"
#include "tmpl/tmpl.h"
#include "util.h"

/* Longest title part of an attachment's file name. */
#define COMPOSE_CALENDAR_SLUG_MAX 40

static char *
compose_calendar_col(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? xstrdup((const char *)s) : NULL;
}

int
compose_calendar_told(sqlite3 *db, int64_t booking_id, struct compose_told *t)
{
	static const char sql[] =
	    "SELECT uid, sequence, starts_at, ends_at, venue, address,"
	    " joining_url FROM booking_told WHERE booking_id = ?1";
	sqlite3_stmt *st;
	int rc, ret;

	memset(t, 0, sizeof(*t));
	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, booking_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t->uid = compose_calendar_col(st, 0);
		t->sequence = (long)sqlite3_column_int64(st, 1);
		t->starts_at = compose_calendar_col(st, 2);
		t->ends_at = compose_calendar_col(st, 3);
		t->venue = compose_calendar_col(st, 4);
		t->address = compose_calendar_col(st, 5);
		t->joining_url = compose_calendar_col(st, 6);
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

void
compose_told_fini(struct compose_told *t)
{
	free(t->uid);
	free(t->starts_at);
	free(t->ends_at);
	free(t->venue);
	free(t->address);
	free(t->joining_url);
	memset(t, 0, sizeof(*t));
}

static const char *
compose_calendar_get(const json_t *ctx, const char *obj, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(ctx, obj), key));
}

static bool
compose_calendar_empty(const char *s)
{
	if (s == NULL)
		return true;
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* s with leading and trailing white space cut, appended to b. */
static void
compose_calendar_put_trimmed(struct buf *b, const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)s[0])) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	buf_append(b, s, n);
}

/* The DESCRIPTION: the partial "calendar_description" rendered as
 * text in the message's language, trimmed; without that partial (a
 * template folder copied before there was one), the course's notes.
 * Newly allocated. */
static char *
compose_calendar_description(const struct tmpl_set *tmpls, const json_t *ctx)
{
	/* The message's language: its own partial, else the base one. */
	const char *lang = compose_calendar_get(ctx, "message", "language");
	const char *notes;
	struct buf raw, b;

	buf_init(&raw);
	buf_init(&b);
	if (tmpls != NULL &&
	    tmpl_set_render_partial(tmpls, lang, "calendar_description",
		TMPL_ESCAPE_NONE, ctx, &raw) == 0)
		compose_calendar_put_trimmed(
		    &b, raw.data != NULL ? raw.data : "", raw.len);
	else if ((notes = compose_calendar_get(ctx, "course", "notes")) != NULL)
		compose_calendar_put_trimmed(&b, notes, strlen(notes));
	buf_fini(&raw);
	buf_putc(&b, '\0');
	return buf_take(&b);
}

/* The LOCATION: the venue of an online course ("Online"); else the
 * venue and the address on one line, the venue left out when the
 * address names it already. Newly allocated. */
static char *
compose_calendar_location(const json_t *ctx)
{
	const char *venue = compose_calendar_get(ctx, "course", "venue");
	const char *address = compose_calendar_get(ctx, "course", "address");
	bool online = json_is_true(
	    json_object_get(json_object_get(ctx, "course"), "online"));
	struct buf b;

	buf_init(&b);
	if (!compose_calendar_empty(venue) &&
	    (online || compose_calendar_empty(address) ||
		strcasestr(address, venue) == NULL)) {
		compose_calendar_put_trimmed(&b, venue, strlen(venue));
		if (!online && !compose_calendar_empty(address))
			buf_puts(&b, ", ");
	}
	if (!online && !compose_calendar_empty(address)) {
		/* Its lines joined with commas. */
		for (const char *p = address; *p != '\0';) {
			size_t n = strcspn(p, "\r\n");
			size_t before = b.len;

			compose_calendar_put_trimmed(&b, p, n);
			p += n;
			p += strspn(p, "\r\n");
			if (b.len > before && !compose_calendar_empty(p))
				buf_puts(&b, ", ");
		}
	}
	buf_putc(&b, '\0');
	return buf_take(&b);
}

/* Appends s percent-encoded (all but RFC 3986's unreserved). */
static void
compose_calendar_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		if (isalnum(*p) || strchr("-._~", *p) != NULL) {
			buf_putc(b, (char)*p);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[*p >> 4]);
			buf_putc(b, hex[*p & 15]);
		}
	}
}

/* The course's start and end from course.starts_iso and .ends_iso;
 * *ends is 0 when there is no end. -EINVAL without a start. */
static int
compose_calendar_times(const json_t *ctx, time_t *starts, time_t *ends)
{
	const char *s = compose_calendar_get(ctx, "course", "starts_iso");
	const char *e = compose_calendar_get(ctx, "course", "ends_iso");

	if (s == NULL || clock_parse_iso(s, starts) != 0)
		return -EINVAL;
	if (e == NULL || clock_parse_iso(e, ends) != 0 || *ends < *starts)
		*ends = 0;
	return 0;
}

void
compose_calendar_links(json_t *ctx, const struct tmpl_set *tmpls)
{
	const char *title = compose_calendar_get(ctx, "course", "title");
	char *desc, *loc, start[32], end[32], start_iso[CLOCK_ISO_LEN],
	    end_iso[CLOCK_ISO_LEN];
	time_t starts, ends;
	struct buf g, o;
	struct tm tm;

	if (title == NULL || compose_calendar_times(ctx, &starts, &ends) != 0)
		return;
	/* An event needs an end: one without is a moment at its start. */
	if (ends == 0)
		ends = starts;
	if (gmtime_r(&starts, &tm) == NULL ||
	    strftime(start, sizeof(start), "%Y%m%dT%H%M%SZ", &tm) == 0 ||
	    gmtime_r(&ends, &tm) == NULL ||
	    strftime(end, sizeof(end), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return;
	clock_format_iso(starts, start_iso);
	clock_format_iso(ends, end_iso);
	desc = compose_calendar_description(tmpls, ctx);
	loc = compose_calendar_location(ctx);
	buf_init(&g);
	buf_puts(&g,
	    "https://calendar.google.com/calendar/render"
	    "?action=TEMPLATE&text=");
	compose_calendar_urlenc(&g, title);
	buf_printf(&g, "&dates=%s%%2F%s&details=", start, end);
	compose_calendar_urlenc(&g, desc);
	buf_puts(&g, "&location=");
	compose_calendar_urlenc(&g, loc);
	buf_init(&o);
	buf_puts(&o,
	    "https://outlook.live.com/calendar/0/deeplink/compose"
	    "?path=%2Fcalendar%2Faction%2Fcompose&rru=addevent"
	    "&subject=");
	compose_calendar_urlenc(&o, title);
	buf_puts(&o, "&startdt=");
	compose_calendar_urlenc(&o, start_iso);
	buf_puts(&o, "&enddt=");
	compose_calendar_urlenc(&o, end_iso);
	buf_puts(&o, "&body=");
	compose_calendar_urlenc(&o, desc);
	buf_puts(&o, "&location=");
	compose_calendar_urlenc(&o, loc);
	json_object_set_new(ctx, "calendar",
	    json_pack(
		"{s:s,s:s}", "google_url", g.data, "outlook_url", o.data));
	buf_fini(&g);
	buf_fini(&o);
	free(desc);
	free(loc);
}

/* "nurturing-programme-2026-12-03.ics": the title in lower-case letters
 * and digits, then the local date. Newly allocated. */
static char *
compose_calendar_filename(const char *title, time_t starts)
{
	char date[16] = "";
	struct buf b;
	struct tm tm;
	size_t n = 0;
	bool dash = false;

	buf_init(&b);
	for (const char *p = title != NULL ? title : ""; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x80 && isalnum(c)) {
			if (n >= COMPOSE_CALENDAR_SLUG_MAX)
				break;
			if (dash && n > 0) {
				buf_putc(&b, '-');
				n++;
			}
			buf_putc(&b, (char)tolower(c));
			n++;
			dash = false;
		} else {
			dash = true;
		}
	}
	if (n == 0)
		buf_puts(&b, "course");
	if (localtime_r(&starts, &tm) != NULL &&
	    strftime(date, sizeof(date), "%Y-%m-%d", &tm) > 0)
		buf_printf(&b, "-%s", date);
	buf_puts(&b, ".ics");
	return buf_take(&b);
}

int
compose_calendar_entry(sqlite3 *db, const struct cfg *cfg,
    const struct tmpl_set *tmpls, int64_t booking_id, bool cancel,
    const json_t *ctx, const char *recipient, time_t now, struct buf *ics,
    char **filename, char **why)
{
	struct calendar_entry e = { .stamp = now };
	const char *first, *last, *url, *domain;
	struct compose_told told;
	char *uid = NULL, *name, *desc, *loc;
	int ret;

	*filename = NULL;
	ret = compose_calendar_told(db, booking_id, &told);
	if (ret == -EIO) {
		*why = xasprintf("booking id=%lld: cannot read what the "
				 "delegate was told",
		    (long long)booking_id);
		return ret;
	}
	if (compose_calendar_times(ctx, &e.starts, &e.ends) != 0) {
		compose_told_fini(&told);
		*why =
		    xasprintf("booking id=%lld: the course has no start time",
			(long long)booking_id);
		return -EINVAL;
	}
	if (told.uid == NULL) {
		domain = strchr(cfg->from_addr, '@');
		uid = calendar_booking_uid(booking_id,
		    compose_calendar_get(ctx, "booking", "reference"),
		    domain != NULL ? domain + 1 : NULL);
	}
	e.method = cancel ? CALENDAR_CANCEL : CALENDAR_REQUEST;
	e.uid = told.uid != NULL ? told.uid : uid;
	e.sequence = told.sequence + (cancel ? 1 : 0);
	e.timezone = cfg->timezone;
	e.summary = compose_calendar_get(ctx, "course", "title");
	loc = compose_calendar_location(ctx);
	desc = compose_calendar_description(tmpls, ctx);
	e.location = loc;
	e.description = desc;
	url = compose_calendar_get(ctx, "course", "joining_url");
	if (json_is_true(
		json_object_get(json_object_get(ctx, "course"), "online")))
		e.url = url;
	e.organizer_name = cfg->from_name;
	e.organizer_addr = cfg->from_addr;
	first = compose_calendar_get(ctx, "delegate", "first_name");
	last = compose_calendar_get(ctx, "delegate", "last_name");
	name = xasprintf("%s%s%s", first != NULL ? first : "",
	    first != NULL && last != NULL ? " " : "", last != NULL ? last : "");
	e.attendee_name = name;
	e.attendee_addr = recipient;
	ret = calendar_build(&e, ics);
	if (ret != 0)
		*why = xasprintf("booking id=%lld: cannot build its calendar "
				 "entry: %s",
		    (long long)booking_id, strerror(-ret));
	else
		*filename = compose_calendar_filename(e.summary, e.starts);
	free(name);
	free(desc);
	free(loc);
	free(uid);
	compose_told_fini(&told);
	return ret;
}
