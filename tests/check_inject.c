/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_inject: hostile values in every column the booking website
 * writes, sent through every kind of message by the real daemon
 * (familymaild --once --now, Maildir transport, the shipped templates).
 *
 * Each payload (CR/LF, a lone LF or CR, NUL and other controls, <script>,
 * an attribute breakout, 100 KB, invalid UTF-8, SQL metacharacters, an
 * address list hidden in a name) fills every text column of one delegate,
 * three courses, three bookings, two subscribers and one post. The
 * website then cancels one course and one booking per payload and moves
 * a third course, and the daemon runs again. Every file written must
 * then have only the headers familymail writes, one To with the one
 * recipient it was delivered to, a MIME structure libetpan parses back,
 * HTML with the values escaped, calendar entries that libical reads as
 * one event for that one attendee, and UTF-8 everywhere. Rows whose address is itself hostile fail with an
 * error naming the record; everything else goes out.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <libical/ical.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>
#include <libetpan/libetpan.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "testutil.h"
#include "util.h"

#define NOW1     "2026-11-23T09:00:00Z" /* Monday: weekly digest at 08:00 */
#define NOW2     "2026-11-23T10:00:00Z"
#define SECRET   "8+oYas5SOSyVE+bcJNFF9SzHcAXqQ7StY5DfUwZkrRw="
#define LONG_LEN (100 * 1024)

struct payload {
	const char *name;
	const char *s;
	size_t len;
};

static const char nul_payload[] = "Ann\0Bcc: evil@example.net\x01\x1b[31m\x7f";

static struct payload payloads[] = {
	{ "crlf", "Ann\r\nBcc: evil@example.net\r\n\r\n<b>body</b>", 0 },
	{ "lf-cr", "Ann\nTo: evil@example.net\rX-Injected: yes", 0 },
	{ "nul", nul_payload, sizeof(nul_payload) - 1 },
	{ "script", "<script>alert(1)</script>", 0 },
	{ "attribute", "\"><img src=x onerror=alert(1)>", 0 },
	{ "long", NULL, 0 }, /* made in setup() */
	{ "utf8", "Caf\xc3\x28 \xff\xfe \xed\xa0\x80 \xc0\xaf end", 0 },
	{ "sql", "'); DROP TABLE bookings;--", 0 },
	{ "addresses",
	    "=?utf-8?q?Bcc=3A_evil=40example=2Enet?= \"q\" <evil@example.net>, "
	    "evil2@example.net;",
	    0 },
};
#define N_PAYLOADS (sizeof(payloads) / sizeof(payloads[0]))

/* Records whose address is hostile: their messages must fail, naming
 * the record, and nobody else's may. */
#define BAD_ID 100
static const char *const bad_delegate_emails[] = {
	"victim@example.org\r\nBcc: evil@example.net",
	"victim2@example.org, evil@example.net",
};
static const char *const bad_subscriber_emails[] = {
	"<evil@example.net>",
	"victim3@example.org\nBcc: evil@example.net",
};

static char *dir, *conf, *db_path, *log_path, *new_dir;
static char *long_payload;

static const char *const allowed_headers[] = { "Return-Path", "Delivered-To",
	"Date", "Message-ID", "From", "Reply-To", "To", "Subject",
	"Auto-Submitted", "Content-Language", "List-Id", "List-Unsubscribe",
	"List-Unsubscribe-Post", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "X-Auto-Response-Suppress", "Precedence",
	"Feedback-ID", NULL };

/* The long payload: lines of text with markup, a CRLF now and then, and
 * multi-byte characters, to LONG_LEN bytes (cut on a character). */
static char *
make_long(void)
{
	static const char unit[] = "Llanfair caf\xc3\xa9 <script>x</script> "
				   "\"quoted\" & more\r\n";
	struct buf b;

	buf_init(&b);
	while (b.len + sizeof(unit) - 1 <= LONG_LEN)
		buf_puts(&b, unit);
	while (b.len < LONG_LEN)
		buf_putc(&b, 'x');
	return buf_take(&b);
}

static void
bind_payload(sqlite3_stmt *st, int col, size_t k, const char *suffix)
{
	struct buf b;

	buf_init(&b);
	buf_append(&b, payloads[k].s, payloads[k].len);
	if (suffix != NULL)
		buf_puts(&b, suffix);
	ck_assert_int_eq(
	    sqlite3_bind_text(st, col, b.data, (int)b.len, SQLITE_TRANSIENT),
	    SQLITE_OK);
	buf_fini(&b);
}

/* A payload inside a link: links must start http(s)://, or they are
 * left out of messages, so the payload follows a good prefix. */
static void
bind_link_payload(
    sqlite3_stmt *st, int col, size_t k, const char *prefix, const char *suffix)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, prefix);
	buf_append(&b, payloads[k].s, payloads[k].len);
	if (suffix != NULL)
		buf_puts(&b, suffix);
	ck_assert_int_eq(
	    sqlite3_bind_text(st, col, b.data, (int)b.len, SQLITE_TRANSIENT),
	    SQLITE_OK);
	buf_fini(&b);
}

static void
step_reset(sqlite3 *db, sqlite3_stmt *st)
{
	ck_assert_msg(
	    sqlite3_step(st) == SQLITE_DONE, "%s", sqlite3_errmsg(db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static sqlite3_stmt *
prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
	    "%s", sqlite3_errmsg(db));
	return st;
}

/* What the website writes, with bound parameters (so that the payloads
 * reach the columns as they are). Course 3k+1 starts tomorrow (the 1d
 * reminder is due), 3k+2 and 3k+3 in December; booking i is on course
 * i, for delegate k+1. Subscribers 2k+1 are pending, 2k+2 weekly and
 * active. Post k+1 was published last week. */
static void
website_writes(sqlite3 *db)
{
	sqlite3_stmt *course, *delegate, *booking, *subscriber, *post;
	char ref[32], email[64];

	course = prepare(db,
	    "INSERT INTO courses (id, title, starts_at, venue, address,"
	    " joining_url, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	delegate = prepare(db,
	    "INSERT INTO delegates (id, email, first_name, last_name,"
	    " organisation) VALUES (?1, ?2, ?3, ?4, ?5)");
	booking = prepare(db,
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, '2026-11-01T10:00:00Z')");
	subscriber = prepare(db,
	    "INSERT INTO subscribers (id, email, name, status, frequency,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, 'weekly',"
	    " '2026-11-01T10:00:00Z')");
	post = prepare(db,
	    "INSERT INTO posts (id, title, url, author, summary,"
	    " published_at) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " '2026-11-20T10:00:00Z')");
	for (size_t k = 0; k < N_PAYLOADS; k++) {
		sqlite3_bind_int64(delegate, 1, (sqlite3_int64)k + 1);
		(void)snprintf(
		    email, sizeof(email), "delegate%zu@example.org", k);
		sqlite3_bind_text(delegate, 2, email, -1, SQLITE_TRANSIENT);
		for (int c = 3; c <= 5; c++)
			bind_payload(delegate, c, k, NULL);
		step_reset(db, delegate);
		for (int j = 1; j <= 3; j++) {
			sqlite3_int64 id = (sqlite3_int64)k * 3 + j;

			sqlite3_bind_int64(course, 1, id);
			bind_payload(course, 2, k, NULL);
			sqlite3_bind_text(course, 3,
			    j == 1 ? "2026-11-24T08:30:00Z"
				   : "2026-12-10T09:30:00Z",
			    -1, SQLITE_STATIC);
			for (int c = 4; c <= 7; c++)
				if (c == 6)
					bind_link_payload(course, c, k,
					    "https://meet.example.org/", NULL);
				else
					bind_payload(course, c, k, NULL);
			step_reset(db, course);
			sqlite3_bind_int64(booking, 1, id);
			sqlite3_bind_int64(booking, 2, id);
			sqlite3_bind_int64(booking, 3, (sqlite3_int64)k + 1);
			(void)snprintf(
			    ref, sizeof(ref), "-%lld", (long long)id);
			bind_payload(booking, 4, k, ref);
			step_reset(db, booking);
		}
		for (int j = 1; j <= 2; j++) {
			sqlite3_bind_int64(
			    subscriber, 1, (sqlite3_int64)k * 2 + j);
			(void)snprintf(email, sizeof(email),
			    "subscriber%zu.%d@example.org", k, j);
			sqlite3_bind_text(
			    subscriber, 2, email, -1, SQLITE_TRANSIENT);
			bind_payload(subscriber, 3, k, NULL);
			sqlite3_bind_text(subscriber, 4,
			    j == 1 ? "pending" : "active", -1, SQLITE_STATIC);
			step_reset(db, subscriber);
		}
		(void)snprintf(ref, sizeof(ref), "#%zu", k);
		sqlite3_bind_int64(post, 1, (sqlite3_int64)k + 1);
		bind_payload(post, 2, k, NULL);
		bind_link_payload(post, 3, k, "https://blog.example.org/", ref);
		bind_payload(post, 4, k, NULL);
		bind_payload(post, 5, k, NULL);
		step_reset(db, post);
	}
	/* The hostile addresses: bookings on course 1, and a pending and
	 * an active subscriber. */
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_delegate_emails); i++) {
		sqlite3_int64 id = BAD_ID + (sqlite3_int64)i;

		sqlite3_bind_int64(delegate, 1, id);
		sqlite3_bind_text(
		    delegate, 2, bad_delegate_emails[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(delegate, 3, "Victim", -1, SQLITE_STATIC);
		step_reset(db, delegate);
		sqlite3_bind_int64(booking, 1, id);
		sqlite3_bind_int64(booking, 2, 1);
		sqlite3_bind_int64(booking, 3, id);
		(void)snprintf(ref, sizeof(ref), "BAD-%lld", (long long)id);
		sqlite3_bind_text(booking, 4, ref, -1, SQLITE_TRANSIENT);
		step_reset(db, booking);
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_subscriber_emails); i++) {
		sqlite3_bind_int64(subscriber, 1, BAD_ID + (sqlite3_int64)i);
		sqlite3_bind_text(
		    subscriber, 2, bad_subscriber_emails[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(subscriber, 3, "Victim", -1, SQLITE_STATIC);
		sqlite3_bind_text(subscriber, 4, i == 0 ? "pending" : "active",
		    -1, SQLITE_STATIC);
		step_reset(db, subscriber);
	}
	sqlite3_finalize(course);
	sqlite3_finalize(delegate);
	sqlite3_finalize(booking);
	sqlite3_finalize(subscriber);
	sqlite3_finalize(post);
}

/* After the common config: every kind on, with its links. */
static const char conf_sections[] =
    "[reminders]\noffsets = 7d, 1d\n"
    "\n[courses]\nchange_window = 0\n"
    "\n[digest]\nweekly = mon 08:00\nmonthly = 1 08:00\n"
    "\n[unsubscribe]\n"
    "url = https://example.org/unsubscribe?token={token}\n"
    "mailto = unsubscribe@example.org\n"
    "secret_file = token-secret\n"
    "confirm_url = https://example.org/confirm?token={token}\n";

static void
setup(void)
{
	struct tu_config c = { .sections = conf_sections };
	char *secret;
	sqlite3 *db;

	long_payload = make_long();
	for (size_t k = 0; k < N_PAYLOADS; k++) {
		if (strcmp(payloads[k].name, "long") == 0)
			payloads[k].s = long_payload;
		if (payloads[k].len == 0)
			payloads[k].len = strlen(payloads[k].s);
	}
	dir = tu_mkdtemp();
	secret = tu_write_file(dir, "token-secret", SECRET);
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	conf = tu_write_config(dir, "familymail.conf", &c);
	db_path = xasprintf("%s/familymail.db", dir);
	log_path = xasprintf("%s/daemon.log", dir);
	new_dir = xasprintf("%s/Maildir/new", dir);
	db = tu_db_new(dir);
	website_writes(db);
	db_close(db);
}

static void
teardown(void)
{
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(conf);
	free(db_path);
	free(log_path);
	free(new_dir);
	free(long_payload);
}

static void
run_daemon(const char *now)
{
	int rc = tu_daemon_once(conf, now, log_path, 50000);

	if (rc != 0) {
		char *log = tu_read_file(log_path, NULL);

		ck_abort_msg(
		    "familymaild --now %s exited %d:\n%s", now, rc, log);
	}
}

static void
website(const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db, sql);
	db_close(db);
}

static long long
db_int(const char *sql)
{
	return tu_db_int(db_path, sql);
}

static char *
db_text(const char *sql)
{
	return tu_db_text(db_path, sql);
}

static bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned cp;
		size_t n;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 2, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 3, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 4, cp = *p & 0x07;
		else
			return false;
		if ((size_t)(end - p) < n)
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
allowed_header(const char *line, size_t name_len)
{
	for (size_t i = 0; allowed_headers[i] != NULL; i++)
		if (strlen(allowed_headers[i]) == name_len &&
		    strncasecmp(allowed_headers[i], line, name_len) == 0)
			return true;
	return false;
}

/* The header block of file: lines of "Name: value" with the names
 * familymail writes, or folded continuations; no CR; one To. Returns
 * the Delivered-To value (newly allocated). */
static char *
check_header_block(const char *file, const char *msg, size_t hdr_len)
{
	const char *p = msg, *end = msg + hdr_len, *eol;
	char *delivered_to = NULL;
	int n_to = 0;

	ck_assert_msg(memchr(msg, '\r', hdr_len) == NULL,
	    "%s: a CR in the header block", file);
	while (p < end) {
		size_t n, name_len;

		eol = memchr(p, '\n', (size_t)(end - p));
		ck_assert_ptr_nonnull(eol);
		n = (size_t)(eol - p);
		if (p[0] == ' ' || p[0] == '\t') {
			ck_assert_msg(p != msg, "%s: starts folded", file);
		} else {
			name_len = strspn(p,
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789-");
			ck_assert_msg(
			    name_len > 0 && name_len < n && p[name_len] == ':',
			    "%s: not a header line: %.*s", file, (int)n, p);
			ck_assert_msg(allowed_header(p, name_len),
			    "%s: unexpected header: %.*s", file, (int)n, p);
			if (name_len == 2 && strncasecmp(p, "To", 2) == 0)
				n_to++;
			if (name_len == 12 &&
			    strncasecmp(p, "Delivered-To", 12) == 0) {
				ck_assert_ptr_null(delivered_to);
				delivered_to = xstrndup(p + 14, n - 14);
			}
		}
		p = eol + 1;
	}
	ck_assert_msg(n_to == 1, "%s: %d To headers", file, n_to);
	ck_assert_ptr_nonnull(delivered_to);
	return delivered_to;
}

static int
count_fields(struct mailimf_fields *fields, int type)
{
	int n = 0;

	for (clistiter *it = clist_begin(fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);

		n += f->fld_type == type;
	}
	return n;
}

static struct mailimf_field *
field_of(struct mailimf_fields *fields, int type)
{
	for (clistiter *it = clist_begin(fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);

		if (f->fld_type == type)
			return f;
	}
	return NULL;
}

/* Unfolds and decodes an RFC 2047 header value to UTF-8. */
static char *
decode_header(const char *raw)
{
	struct buf unfolded;
	char *out = NULL;
	size_t idx = 0;

	buf_init(&unfolded);
	for (size_t i = 0; raw[i] != '\0'; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			buf_putc(&unfolded, raw[i]);
	buf_putc(&unfolded, '\0');
	ck_assert_int_eq(mailmime_encoded_phrase_parse("utf-8", unfolded.data,
			     unfolded.len - 1, &idx, "utf-8", &out),
	    MAILIMF_NO_ERROR);
	buf_fini(&unfolded);
	return out;
}

struct parts {
	const char *rcpt;
	int n_text, n_html, n_calendar;
};

static int
count_props(icalcomponent *c, icalproperty_kind kind)
{
	return icalcomponent_count_properties(c, kind);
}

/* A calendar entry (the text/calendar alternative or the attachment):
 * folded lines, and to libical one VEVENT with one UID, the sender as
 * organiser and the recipient as the one attendee, no parse errors, no
 * property a value could have added. */
static void
check_calendar(
    const char *file, const char *ics, size_t len, const struct parts *seen)
{
	icalcomponent *cal, *ev, *c;
	icalproperty *p;
	char *text = xstrndup(ics, len), *want;
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (ics[i] != '\n')
			continue;
		ck_assert_msg(i > start && ics[i - 1] == '\r',
		    "%s: a calendar line without CRLF", file);
		ck_assert_msg(i - 1 - start <= 75,
		    "%s: a calendar line of %zu octets", file, i - 1 - start);
		start = i + 1;
	}
	cal = icalparser_parse_string(text);
	ck_assert_msg(cal != NULL, "%s: libical cannot read the entry", file);
	ck_assert_int_eq(icalcomponent_isa(cal), ICAL_VCALENDAR_COMPONENT);
	ck_assert_int_eq(
	    icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT), 1);
	ck_assert_int_eq(
	    icalcomponent_count_components(cal, ICAL_ANY_COMPONENT), 2);
	ck_assert_int_eq(count_props(cal, ICAL_METHOD_PROPERTY), 1);
	ck_assert_int_eq(count_props(cal, ICAL_ANY_PROPERTY), 4);
	for (c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL;
	     c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT))
		ck_assert_msg(count_props(c, ICAL_XLICERROR_PROPERTY) == 0,
		    "%s: libical found errors in:\n%s", file, text);
	ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	ck_assert_int_eq(count_props(ev, ICAL_UID_PROPERTY), 1);
	ck_assert_int_eq(count_props(ev, ICAL_ORGANIZER_PROPERTY), 1);
	ck_assert_int_eq(count_props(ev, ICAL_ATTENDEE_PROPERTY), 1);
	ck_assert_int_eq(count_props(ev, ICAL_SUMMARY_PROPERTY), 1);
	ck_assert_int_eq(count_props(ev, ICAL_X_PROPERTY), 0);
	ck_assert_int_le(count_props(ev, ICAL_ANY_PROPERTY), 16);
	p = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY);
	want = xasprintf("mailto:%s", seen->rcpt);
	ck_assert_str_eq(icalproperty_get_attendee(p), want);
	free(want);
	p = icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY);
	ck_assert_str_eq(
	    icalproperty_get_organizer(p), "mailto:courses@example.org");
	icalcomponent_free(cal);
	free(text);
}

/* Links a message must never carry, in any case. */
static const char *const bad_schemes[] = {
	"javascript:", "vbscript:", "data:text"
};

/* Every href in html is an http, https or mailto link. */
static void
check_hrefs(const char *file, const char *html)
{
	const char *p = html;

	while ((p = strcasestr(p, "href=")) != NULL) {
		p += 5;
		if (*p == '"' || *p == '\'')
			p++;
		ck_assert_msg(strncasecmp(p, "https://", 8) == 0 ||
			strncasecmp(p, "http://", 7) == 0 ||
			strncasecmp(p, "mailto:", 7) == 0,
		    "%s: href=%.40s", file, p);
	}
}

/* Decodes each leaf of mime and checks it: UTF-8, no script or data
 * link, and in HTML no markup that came from a value unescaped. */
static void
check_parts(const char *file, const char *msg, struct mailmime *mime,
    struct parts *seen)
{
	struct mailmime_data *data;
	struct mailmime_type *type;
	char *decoded = NULL;
	size_t idx = 0, len = 0;
	bool html, calendar;

	if (mime->mm_type == MAILMIME_MULTIPLE) {
		for (clistiter *it =
			 clist_begin(mime->mm_data.mm_multipart.mm_mp_list);
		     it != NULL; it = clist_next(it))
			check_parts(file, msg, clist_content(it), seen);
		return;
	}
	ck_assert_msg(mime->mm_type == MAILMIME_SINGLE, "%s: a part of type %d",
	    file, mime->mm_type);
	type = mime->mm_content_type->ct_type;
	ck_assert_int_eq(type->tp_type, MAILMIME_TYPE_DISCRETE_TYPE);
	/* Text, HTML, the calendar entry and its attachment. */
	if (type->tp_data.tp_discrete_type->dt_type ==
	    MAILMIME_DISCRETE_TYPE_APPLICATION) {
		ck_assert_str_eq(mime->mm_content_type->ct_subtype, "ics");
		calendar = true;
	} else {
		ck_assert_int_eq(type->tp_data.tp_discrete_type->dt_type,
		    MAILMIME_DISCRETE_TYPE_TEXT);
		calendar = strcasecmp(mime->mm_content_type->ct_subtype,
			       "calendar") == 0;
	}
	html = strcasecmp(mime->mm_content_type->ct_subtype, "html") == 0;
	if (calendar)
		seen->n_calendar++;
	else if (html)
		seen->n_html++;
	else
		seen->n_text++;
	data = mime->mm_data.mm_single;
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(data->dt_type, MAILMIME_DATA_TEXT);
	ck_assert_int_eq(mailmime_part_parse(data->dt_data.dt_text.dt_data,
			     data->dt_data.dt_text.dt_length, &idx,
			     data->dt_encoding, &decoded, &len),
	    MAILIMF_NO_ERROR);
	ck_assert_msg(
	    utf8_valid(decoded, len), "%s: a part is not UTF-8", file);
	ck_assert_msg(
	    memchr(decoded, '\0', len) == NULL, "%s: a NUL in a part", file);
	{
		char *h = xstrndup(decoded, len);

		if (html) {
			ck_assert_msg(strcasestr(h, "<script") == NULL,
			    "%s: <script> in the HTML", file);
			ck_assert_msg(strcasestr(h, "<img src=x") == NULL,
			    "%s: <img onerror> in the HTML", file);
			check_hrefs(file, h);
		}
		for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_schemes); i++)
			ck_assert_msg(strcasestr(h, bad_schemes[i]) == NULL,
			    "%s: %s in a part", file, bad_schemes[i]);
		free(h);
	}
	if (calendar)
		check_calendar(file, decoded, len, seen);
	mmap_string_unref(decoded);
}

/* Every check on one delivered file; returns its Delivered-To. */
static char *
check_message(const char *file)
{
	struct mailimf_address_list *to;
	struct mailimf_mailbox *mb;
	struct mailimf_address *a;
	struct mailimf_fields *fields;
	struct mailimf_field *f;
	struct mailmime *root = NULL;
	struct parts seen = { NULL, 0, 0, 0 };
	char *raw, *rcpt, *subject, *name;
	const char *hdr_end;
	size_t len, idx = 0;
	struct buf crlf;

	raw = tu_read_file(file, &len);
	ck_assert_ptr_nonnull(raw);
	ck_assert_msg(strlen(raw) == len, "%s: a NUL byte", file);
	ck_assert_msg(utf8_valid(raw, len), "%s: not UTF-8", file);
	hdr_end = strstr(raw, "\n\n");
	ck_assert_ptr_nonnull(hdr_end);
	rcpt = check_header_block(file, raw, (size_t)(hdr_end - raw) + 1);

	/* libetpan parses what SMTP would carry: CRLF line ends. */
	buf_init(&crlf);
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\n')
			buf_putc(&crlf, '\r');
		buf_putc(&crlf, raw[i]);
	}
	ck_assert_int_eq(
	    mailmime_parse(crlf.data, crlf.len, &idx, &root), MAILIMF_NO_ERROR);
	ck_assert_int_eq(root->mm_type, MAILMIME_MESSAGE);
	fields = root->mm_data.mm_message.mm_fields;
	ck_assert_ptr_nonnull(fields);
	ck_assert_int_eq(count_fields(fields, MAILIMF_FIELD_TO), 1);
	ck_assert_int_eq(count_fields(fields, MAILIMF_FIELD_CC), 0);
	ck_assert_int_eq(count_fields(fields, MAILIMF_FIELD_BCC), 0);
	ck_assert_int_eq(count_fields(fields, MAILIMF_FIELD_SUBJECT), 1);
	to = field_of(fields, MAILIMF_FIELD_TO)->fld_data.fld_to->to_addr_list;
	ck_assert_msg(clist_count(to->ad_list) == 1, "%s: %d recipients", file,
	    clist_count(to->ad_list));
	a = clist_content(clist_begin(to->ad_list));
	ck_assert_int_eq(a->ad_type, MAILIMF_ADDRESS_MAILBOX);
	mb = a->ad_data.ad_mailbox;
	ck_assert_msg(strcmp(mb->mb_addr_spec, rcpt) == 0,
	    "%s: To <%s>, delivered to %s", file, mb->mb_addr_spec, rcpt);
	if (mb->mb_display_name != NULL) {
		name = decode_header(mb->mb_display_name);
		ck_assert_msg(utf8_valid(name, strlen(name)) &&
			strpbrk(name, "\r\n") == NULL,
		    "%s: display name '%s'", file, name);
		free(name);
	}
	f = field_of(fields, MAILIMF_FIELD_SUBJECT);
	subject = decode_header(f->fld_data.fld_subject->sbj_value);
	ck_assert_msg(utf8_valid(subject, strlen(subject)) &&
		strpbrk(subject, "\r\n") == NULL,
	    "%s: subject '%s'", file, subject);
	free(subject);
	ck_assert_ptr_nonnull(root->mm_data.mm_message.mm_msg_mime);
	seen.rcpt = rcpt;
	check_parts(file, raw, root->mm_data.mm_message.mm_msg_mime, &seen);
	ck_assert_msg(seen.n_text == 1 && seen.n_html == 1,
	    "%s: %d text and %d HTML parts", file, seen.n_text, seen.n_html);
	/* Mail about a booking carries its entry twice. */
	ck_assert_msg(
	    seen.n_calendar == (strncmp(rcpt, "delegate", 8) == 0 ? 2 : 0),
	    "%s: %d calendar parts", file, seen.n_calendar);
	mailmime_free(root);
	buf_fini(&crlf);
	free(raw);
	return rcpt;
}

/* Checks every file in Maildir/new; returns how many there are. Each
 * is delivered to one of the addresses the test wrote, never to a
 * hostile one. */
static int
check_maildir(void)
{
	struct dirent **names;
	int n, count = 0;

	n = scandir(new_dir, &names, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			char *p = xasprintf("%s/%s", new_dir, names[i]->d_name);
			char *rcpt = check_message(p);

			ck_assert_msg(strncmp(rcpt, "delegate", 8) == 0 ||
				strncmp(rcpt, "subscriber", 10) == 0,
			    "%s: delivered to %s", p, rcpt);
			ck_assert_ptr_nonnull(strstr(rcpt, "@example.org"));
			free(rcpt);
			free(p);
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

static long long
sent(const char *kind)
{
	char *sql = xasprintf("SELECT count(*) FROM messages WHERE kind = '%s'"
			      " AND state = 'sent'",
	    kind);
	long long n = db_int(sql);

	free(sql);
	return n;
}

START_TEST(test_inject_every_kind_of_message_keeps_values_in_place)
{
	char *states;
	int files;

	run_daemon(NOW1);
	website("UPDATE courses SET status = 'cancelled'"
		" WHERE id % 3 = 2 AND id < 100;"
		"UPDATE bookings SET status = 'cancelled'"
		" WHERE id % 3 = 0 AND id < 100;"
		"UPDATE courses SET address = 'Moved: ' || address"
		" WHERE id % 3 = 1 AND id < 100;");
	run_daemon(NOW2);
	ck_assert_int_eq(sent("booking_confirmation"), 3 * N_PAYLOADS);
	ck_assert_int_eq(sent("course_reminder"), N_PAYLOADS);
	ck_assert_int_eq(sent("booking_cancelled"), N_PAYLOADS);
	ck_assert_int_eq(sent("course_cancelled"), N_PAYLOADS);
	ck_assert_int_eq(sent("course_changed"), N_PAYLOADS);
	ck_assert_int_eq(sent("subscription_confirm"), N_PAYLOADS);
	ck_assert_int_eq(sent("blog_digest"), N_PAYLOADS);
	states = db_text("SELECT group_concat(DISTINCT state) FROM messages"
			 " WHERE coalesce(booking_id, subscriber_id) < 100");
	ck_assert_str_eq(states, "sent");
	free(states);
	files = check_maildir();
	ck_assert_int_eq(files, 9 * N_PAYLOADS);
	/* The SQL in the values was data all along. */
	ck_assert_int_eq(db_int("SELECT count(*) FROM bookings"),
	    3 * N_PAYLOADS + UTIL_ARRAY_LEN(bad_delegate_emails));
}
END_TEST

START_TEST(test_inject_hostile_addresses_fail_naming_the_record)
{
	char *log, *want, *state;

	run_daemon(NOW1);
	log = tu_read_file(log_path, NULL);
	ck_assert_ptr_nonnull(log);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_delegate_emails); i++) {
		char *sql = xasprintf("SELECT group_concat(DISTINCT state)"
				      " FROM messages WHERE booking_id = %zu",
		    BAD_ID + i);

		state = db_text(sql);
		ck_assert_msg(strcmp(state, "failed") == 0,
		    "booking %zu: state '%s'", BAD_ID + i, state);
		free(state);
		free(sql);
		want = xasprintf("booking id=%zu", BAD_ID + i);
		ck_assert_msg(
		    strstr(log, want) != NULL, "no '%s' in:\n%s", want, log);
		free(want);
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_subscriber_emails); i++) {
		char *sql =
		    xasprintf("SELECT group_concat(DISTINCT state)"
			      " FROM messages WHERE subscriber_id = %zu",
			BAD_ID + i);

		state = db_text(sql);
		ck_assert_msg(strcmp(state, "failed") == 0,
		    "subscriber %zu: state '%s'", BAD_ID + i, state);
		free(state);
		free(sql);
		want = xasprintf("subscriber id=%zu", BAD_ID + i);
		ck_assert_msg(
		    strstr(log, want) != NULL, "no '%s' in:\n%s", want, log);
		free(want);
	}
	/* A hostile address never reaches a log line as a line break. */
	ck_assert_ptr_null(strstr(log, "\nBcc:"));
	free(log);
	/* Everybody else got theirs. */
	ck_assert_int_eq(sent("booking_confirmation"), 3 * N_PAYLOADS);
	ck_assert_int_eq(check_maildir(), 6 * N_PAYLOADS);
}
END_TEST

/* The website (or the feed) stored links that run script in the
 * reader's mail client; the messages go out without them, and the log
 * names each row. */
START_TEST(test_inject_script_and_data_links_never_reach_an_href)
{
	static const char *const refused[] = { "courses id=200 joining_url",
		"courses id=201 joining_url", "courses id=202 joining_url",
		"posts id=200 url", "posts id=201 url", "posts id=202 url" };
	char *log, *want;

	website(
	    "INSERT INTO courses (id, title, starts_at, venue,"
	    " joining_url) VALUES"
	    " (200, 'Online A', '2026-12-10T09:30:00Z', 'Online',"
	    "  'javascript:alert(document.cookie)'),"
	    " (201, 'Online B', '2026-12-10T09:30:00Z', 'Online',"
	    "  ' JaVaScRiPt:alert(1)'),"
	    " (202, 'Online C', '2026-12-10T09:30:00Z', 'Online',"
	    "  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='),"
	    " (203, 'Online D', '2026-12-10T09:30:00Z', 'Online',"
	    "  'https://meet.example.org/join/203');"
	    "INSERT INTO delegates (id, email, first_name) VALUES"
	    " (200, 'delegate200@example.org', 'Dee');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at) SELECT id, id, 200, 'LINK-' || id,"
	    " '2026-11-01T10:00:00Z' FROM courses WHERE id >= 200;"
	    "INSERT INTO posts (id, title, url, published_at) VALUES"
	    " (200, 'Data', 'data:text/html,<script>alert(1)</script>',"
	    "  '2026-11-21T10:00:00Z'),"
	    " (201, 'Script', 'javascript:alert(2)',"
	    "  '2026-11-21T10:00:00Z'),"
	    " (202, 'VB', 'VBScript:MsgBox(1)', '2026-11-21T10:00:00Z');");
	run_daemon(NOW1);
	/* Everything went out: the confirmations without the link. */
	ck_assert_int_eq(check_maildir(), 6 * N_PAYLOADS + 4);
	ck_assert_int_eq(db_int("SELECT count(*) FROM messages WHERE"
				" booking_id >= 200 AND state = 'sent'"),
	    4);
	ck_assert_int_eq(db_int("SELECT count(*) FROM messages WHERE"
				" kind = 'blog_digest' AND state = 'sent'"),
	    N_PAYLOADS);
	log = tu_read_file(log_path, NULL);
	ck_assert_ptr_nonnull(log);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(refused); i++) {
		want = xasprintf("compose %s refused", refused[i]);
		ck_assert_msg(
		    strstr(log, want) != NULL, "no '%s' in:\n%s", want, log);
		free(want);
	}
	ck_assert_ptr_null(strstr(log, "id=203 joining_url"));
	free(log);
}
END_TEST

static Suite *
inject_suite(void)
{
	Suite *s = suite_create("inject");
	TCase *tc = tcase_create("hostile values");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, test_inject_every_kind_of_message_keeps_values_in_place);
	tcase_add_test(
	    tc, test_inject_hostile_addresses_fail_naming_the_record);
	tcase_add_test(
	    tc, test_inject_script_and_data_links_never_reach_an_href);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(inject_suite());
}
