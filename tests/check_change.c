/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_change: course changes through the real daemon (familymaild
 * --once --now, Maildir transport, the shipped templates, the default
 * [courses] change_window of 10 minutes), as the delegates see them: a
 * change of time, of venue, of joining link; edits within the window
 * (one notice), an edit undone within it (none), a change after the
 * course started (none), a cancelled booking (none, and its calendar
 * entry cancelled), a booking made after the change (none), notes
 * alone (none), a change between the 7-day and the 1-day reminder, and
 * changes across the October and March clock changes. Every calendar
 * entry delivered is read with libical and with python-icalendar, and
 * the two must agree: one UID per booking from confirmation to
 * cancellation, SEQUENCE rising at each change.
 *
 * Skipped (exit 77) without a python3 that has python-icalendar.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <sqlite3.h>

#include "clock.h"
#include "db.h"
#include "testmail.h"
#include "testutil.h"
#include "util.h"

#define SARAH    "sarah.jones@example.org"
#define SIAN     "sian.llyr@example.org"
#define FATIMA   "fatima@example.org"
#define TOM      "tom@example.org"
#define CONFIRM  "Your place on"
#define CHANGE   "Change to your course:"
#define REMINDER "Reminder:"
#define TITLE    "Nurturing Programme Facilitator Training"

static char *dir, *conf, *db_path, *log_path, *maildir_new;

static const char seed_sql[] =
    "INSERT INTO courses (id, title, starts_at, ends_at, venue, address,"
    " joining_url, notes) VALUES"
    " (1, '" TITLE "', '2026-12-03T09:30:00Z', '2026-12-03T16:30:00Z',"
    "  'Cardiff', 'Temple of Peace, Cathays Park, Cardiff CF10 3AP', NULL,"
    "  'Bring the course handbook.'),"
    " (2, 'Online Refresher', '2026-12-10T13:00:00Z',"
    "  '2026-12-10T15:00:00Z', 'Online', NULL,"
    "  'https://meet.example.org/refresher', NULL),"
    /* 09:30 in London the day before the clocks go back */
    " (3, 'Autumn Introduction', '2026-10-24T08:30:00Z',"
    "  '2026-10-24T15:30:00Z', 'Cardiff', 'Cathays Park, Cardiff', NULL,"
    "  NULL),"
    /* 10:00 in London the day before the clocks go forward */
    " (4, 'Spring Introduction', '2027-03-27T10:00:00Z',"
    "  '2027-03-27T16:00:00Z', 'Cardiff', 'Cathays Park, Cardiff', NULL,"
    "  NULL);"
    "INSERT INTO delegates (id, email, first_name, last_name) VALUES"
    " (1, '" SARAH "', 'Sarah', 'Jones'),"
    " (2, '" SIAN "', 'Si\xc3\xa2n', 'Ll\xc5\xb7r'),"
    " (3, '" FATIMA "', 'Fatima', 'Zahra'),"
    " (4, '" TOM "', 'Tom', 'Baker');";

static void
setup(void)
{
	struct tu_config c = { .sections = "[reminders]\noffsets = 7d, 1d\n" };
	sqlite3 *db;

	dir = tu_mkdtemp();
	conf = tu_write_config(dir, "familymail.conf", &c);
	db_path = xasprintf("%s/familymail.db", dir);
	log_path = xasprintf("%s/daemon.log", dir);
	maildir_new = xasprintf("%s/Maildir/new", dir);
	db = tu_db_new(dir);
	tu_sql(db, seed_sql);
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
	free(maildir_new);
}

/* The daemon, once, at now. */
static void
run_at(const char *now)
{
	int rc = tu_daemon_once(conf, now, log_path, 20000);

	if (rc != 0) {
		char *log = tu_read_file(log_path, NULL);

		ck_abort_msg("familymaild --now %s exited %d:\n%s", now, rc,
		    log != NULL ? log : "");
	}
}

/* What the booking website writes. */
static void
website(const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db, sql);
	db_close(db);
}

static void
book(int id, int course, int delegate, const char *created)
{
	char *sql =
	    xasprintf("INSERT INTO bookings (id, course_id, delegate_id,"
		      " reference, created_at) VALUES (%d, %d, %d,"
		      " 'FC-%d', '%s')",
		id, course, delegate, 1000 + id, created);

	website(sql);
	free(sql);
}

static long long
db_int(const char *sql)
{
	return tu_db_int(db_path, sql);
}

/* Everything delivered so far. */
struct inbox {
	struct testmail *m;
	size_t n;
};

static void
inbox_read(struct inbox *in)
{
	in->m = testmail_read_dir(maildir_new, &in->n);
}

static void
inbox_free(struct inbox *in)
{
	testmail_free(in->m, in->n);
	memset(in, 0, sizeof(*in));
}

static size_t
count(const char *to, const char *subject)
{
	struct inbox in;
	size_t n;

	inbox_read(&in);
	n = testmail_count(in.m, in.n, to, subject);
	inbox_free(&in);
	return n;
}

#define ck_has(hay, needle)                            \
	ck_assert_msg(strstr((hay), (needle)) != NULL, \
	    "'%s' missing from:\n%s", (needle), (hay))
#define ck_lacks(hay, needle)                          \
	ck_assert_msg(strstr((hay), (needle)) == NULL, \
	    "'%s' should not be in:\n%s", (needle), (hay))

/*
 * Reads every calendar entry delivered with libical and python-icalendar
 * and checks that they agree with each other and with the message: the
 * alternative and the attachment are the same entry; the method is that
 * of the MIME part; the instant python reads by the zone's name and by
 * the VTIMEZONE sent is the one libical reads. Returns python's reading
 * of each message's entry (null for a message without one), in inbox
 * order.
 */
static json_t *
entries(const struct inbox *in)
{
	const char **ics = xcalloc(in->n + 1, sizeof(*ics));
	json_t *py, *all = json_array();
	size_t k = 0;

	for (size_t i = 0; i < in->n; i++) {
		const struct testmail *m = &in->m[i];

		if (m->calendar == NULL) {
			ck_assert_ptr_null(m->attachment);
			continue;
		}
		ck_assert_msg(m->attachment != NULL, "%s: no .ics", m->file);
		ck_assert_str_eq(m->attachment, m->calendar);
		ck_assert_ptr_nonnull(m->attachment_name);
		ck_assert_ptr_nonnull(strstr(m->attachment_name, ".ics"));
		ics[k++] = m->calendar;
	}
	py = testmail_ics_python(dir, ics, k);
	k = 0;
	for (size_t i = 0; i < in->n; i++) {
		const struct testmail *m = &in->m[i];
		struct testmail_ics lib;
		json_t *o;
		char starts[CLOCK_ISO_LEN];

		if (m->calendar == NULL) {
			json_array_append_new(all, json_null());
			continue;
		}
		o = json_array_get(py, k++);
		testmail_ics_libical(m->calendar, &lib);
		ck_assert_str_eq(lib.method, m->calendar_method);
		ck_assert_str_eq(
		    json_string_value(json_object_get(o, "method")),
		    lib.method);
		ck_assert_str_eq(
		    json_string_value(json_object_get(o, "uid")), lib.uid);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(o, "sequence")),
		    lib.sequence);
		ck_assert_str_eq(json_string_value(json_array_get(
				     json_object_get(o, "attendees"), 0)) +
			strlen("mailto:"),
		    m->to);
		clock_format_iso(lib.starts, starts);
		ck_assert_str_eq(
		    json_string_value(json_object_get(o, "dtstart_utc")),
		    starts);
		ck_assert_str_eq(json_string_value(json_object_get(
				     o, "dtstart_utc_by_vtimezone")),
		    starts);
		testmail_ics_fini(&lib);
		json_array_append(all, o);
	}
	json_decref(py);
	free(ics);
	return all;
}

/* python's reading of the i-th message to `to` with subject. */
static json_t *
entry_of(const struct inbox *in, json_t *all, const char *to,
    const char *subject, size_t i)
{
	const struct testmail *m = testmail_find(in->m, in->n, to, subject, i);

	ck_assert_msg(m != NULL, "no message %zu to %s '%s'", i, to, subject);
	return json_array_get(all, (size_t)(m - in->m));
}

static const char *
field(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	ck_assert_msg(s != NULL, "no %s in %s", key, json_dumps(o, 0));
	return s;
}

static long long
seq(json_t *o)
{
	return json_integer_value(json_object_get(o, "sequence"));
}

START_TEST(test_change_of_time_sends_one_notice_after_the_window)
{
	const struct testmail *m;
	struct inbox in;
	json_t *all, *c, *n;

	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	ck_assert_uint_eq(count(SARAH, CONFIRM), 1);
	website("UPDATE courses SET starts_at = '2026-12-04T10:00:00Z',"
		" ends_at = '2026-12-04T17:00:00Z' WHERE id = 1");
	/* Seen at 10:00; the notice waits for the window to close. (The
	 * runs after it are at 10:12: --now starts a clock that goes on,
	 * and a slow start may see the edit a little after 10:00.) */
	run_at("2026-11-23T10:00:00Z");
	run_at("2026-11-23T10:09:00Z");
	ck_assert_uint_eq(count(SARAH, CHANGE), 0);
	run_at("2026-11-23T10:12:00Z");
	run_at("2026-11-23T10:30:00Z");
	ck_assert_uint_eq(count(SARAH, CHANGE), 1);

	inbox_read(&in);
	m = testmail_find(in.m, in.n, SARAH, CHANGE, 0);
	ck_assert_str_eq(m->subject, CHANGE " " TITLE ", 4 Dec");
	ck_has(m->text,
	    "When\n"
	    "  Was:  Thursday 3 December 2026, 09:30 to 16:30\n"
	    "  Now:  Friday 4 December 2026, 10:00 to 17:00\n");
	ck_lacks(m->text, "Where\n  Was:");
	ck_has(m->html, "<del>Thursday 3 December 2026, 09:30 to 16:30</del>");
	all = entries(&in);
	c = entry_of(&in, all, SARAH, CONFIRM, 0);
	n = entry_of(&in, all, SARAH, CHANGE, 0);
	/* The same entry, moved: same UID, next SEQUENCE, new time. */
	ck_assert_str_eq(field(n, "uid"), field(c, "uid"));
	ck_assert_int_eq(seq(c), 0);
	ck_assert_int_eq(seq(n), 1);
	ck_assert_str_eq(field(n, "method"), "REQUEST");
	ck_assert_str_eq(field(c, "dtstart_utc"), "2026-12-03T09:30:00Z");
	ck_assert_str_eq(field(n, "dtstart_local"), "2026-12-04T10:00:00");
	ck_assert_str_eq(field(n, "dtend_utc"), "2026-12-04T17:00:00Z");
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_change_of_venue_says_where_it_was_and_is)
{
	const struct testmail *m;
	struct inbox in;
	json_t *all, *n;

	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	website("UPDATE courses SET venue = 'Swansea',"
		" address = 'Swansea Guildhall, Swansea SA1 4PE' WHERE id = 1");
	run_at("2026-11-23T10:00:00Z");
	run_at("2026-11-23T10:12:00Z");
	inbox_read(&in);
	ck_assert_uint_eq(testmail_count(in.m, in.n, SARAH, CHANGE), 1);
	m = testmail_find(in.m, in.n, SARAH, CHANGE, 0);
	ck_has(m->text,
	    "Where\n"
	    "  Was:  Cardiff\n"
	    "        Temple of Peace, Cathays Park, Cardiff CF10 3AP\n"
	    "  Now:  Swansea\n"
	    "        Swansea Guildhall, Swansea SA1 4PE\n");
	ck_lacks(m->text, "When\n  Was:");
	ck_has(m->html, "Swansea, Swansea Guildhall, Swansea SA1 4PE");
	all = entries(&in);
	n = entry_of(&in, all, SARAH, CHANGE, 0);
	ck_assert_str_eq(
	    field(n, "location"), "Swansea Guildhall, Swansea SA1 4PE");
	ck_assert_int_eq(seq(n), 1);
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_change_of_joining_link_gives_the_new_link)
{
	const struct testmail *m;
	struct inbox in;
	json_t *all, *c, *n;

	book(3, 2, 3, "2026-11-21T09:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	website("UPDATE courses SET joining_url ="
		" 'https://meet.example.org/new-room?pwd=7' WHERE id = 2");
	run_at("2026-11-23T10:00:00Z");
	run_at("2026-11-23T10:12:00Z");
	inbox_read(&in);
	ck_assert_uint_eq(testmail_count(in.m, in.n, FATIMA, CHANGE), 1);
	m = testmail_find(in.m, in.n, FATIMA, CHANGE, 0);
	ck_has(m->text,
	    "Joining link\n"
	    "  Was:  https://meet.example.org/refresher\n"
	    "  Now:  https://meet.example.org/new-room?pwd=7\n");
	ck_has(m->html, "href=\"https://meet.example.org/new-room?pwd=7\"");
	all = entries(&in);
	c = entry_of(&in, all, FATIMA, CONFIRM, 0);
	n = entry_of(&in, all, FATIMA, CHANGE, 0);
	ck_assert_str_eq(field(c, "url"), "https://meet.example.org/refresher");
	ck_assert_str_eq(
	    field(n, "url"), "https://meet.example.org/new-room?pwd=7");
	ck_assert_str_eq(field(n, "location"), "Online");
	ck_has(field(n, "description"),
	    "Join online: https://meet.example.org/new-room?pwd=7");
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_two_edits_within_the_window_make_one_notice)
{
	const struct testmail *m;
	struct inbox in;
	json_t *all;

	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	website("UPDATE courses SET starts_at = '2026-12-04T10:00:00Z',"
		" ends_at = '2026-12-04T17:00:00Z' WHERE id = 1");
	run_at("2026-11-23T10:00:00Z");
	website("UPDATE courses SET venue = 'Swansea',"
		" address = 'Swansea Guildhall' WHERE id = 1");
	run_at("2026-11-23T10:05:00Z");
	run_at("2026-11-23T10:12:00Z");
	run_at("2026-11-23T10:20:00Z");
	inbox_read(&in);
	ck_assert_uint_eq(testmail_count(in.m, in.n, SARAH, CHANGE), 1);
	m = testmail_find(in.m, in.n, SARAH, CHANGE, 0);
	/* Both edits, each from what she was told. */
	ck_has(m->text,
	    "  Was:  Thursday 3 December 2026, 09:30 to 16:30\n"
	    "  Now:  Friday 4 December 2026, 10:00 to 17:00\n");
	ck_has(m->text, "  Was:  Cardiff\n");
	ck_has(m->text, "  Now:  Swansea\n");
	all = entries(&in);
	ck_assert_int_eq(seq(entry_of(&in, all, SARAH, CHANGE, 0)), 1);
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_an_edit_undone_within_the_window_sends_nothing)
{
	struct inbox in;
	json_t *all;

	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	website("UPDATE courses SET venue = 'Swansea' WHERE id = 1");
	run_at("2026-11-23T10:00:00Z");
	/* Back as it was, written in another shape. */
	website("UPDATE courses SET venue = 'Cardiff ',"
		" starts_at = '2026-12-03 09:30:00' WHERE id = 1");
	run_at("2026-11-23T10:05:00Z");
	run_at("2026-11-23T10:12:00Z");
	run_at("2026-11-23T11:00:00Z");
	ck_assert_uint_eq(count(NULL, CHANGE), 0);
	ck_assert_int_eq(db_int("SELECT count(*) FROM messages"
				" WHERE kind = 'course_changed'"),
	    0);
	ck_assert_int_eq(db_int("SELECT sequence FROM booking_told"
				" WHERE booking_id = 1 AND changed_at IS NULL"),
	    0);
	inbox_read(&in);
	all = entries(&in);
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_a_change_after_the_course_started_sends_nothing)
{
	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	/* The course runs late on the day. */
	website("UPDATE courses SET ends_at = '2026-12-03T17:30:00Z'"
		" WHERE id = 1");
	run_at("2026-12-03T10:00:00Z");
	run_at("2026-12-03T10:30:00Z");
	ck_assert_uint_eq(count(SARAH, CHANGE), 0);
	ck_assert_int_eq(db_int("SELECT count(*) FROM messages"
				" WHERE kind = 'course_changed'"),
	    0);
}
END_TEST

START_TEST(test_a_cancelled_booking_gets_no_notice_and_its_entry_cancelled)
{
	const struct testmail *m;
	struct inbox in;
	json_t *all, *c, *x;

	book(1, 1, 1, "2026-11-20T10:00:00Z");
	book(2, 1, 2, "2026-11-20T11:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	website("UPDATE bookings SET status = 'cancelled' WHERE id = 2;"
		"UPDATE courses SET venue = 'Swansea' WHERE id = 1");
	run_at("2026-11-23T10:00:00Z");
	run_at("2026-11-23T10:12:00Z");
	inbox_read(&in);
	ck_assert_uint_eq(testmail_count(in.m, in.n, SARAH, CHANGE), 1);
	ck_assert_uint_eq(testmail_count(in.m, in.n, SIAN, CHANGE), 0);
	ck_assert_uint_eq(
	    testmail_count(in.m, in.n, SIAN, "Booking cancelled:"), 1);
	m = testmail_find(in.m, in.n, SIAN, "Booking cancelled:", 0);
	ck_assert_str_eq(m->calendar_method, "CANCEL");
	all = entries(&in);
	c = entry_of(&in, all, SIAN, CONFIRM, 0);
	x = entry_of(&in, all, SIAN, "Booking cancelled:", 0);
	ck_assert_str_eq(field(x, "uid"), field(c, "uid"));
	ck_assert_str_eq(field(x, "method"), "CANCEL");
	ck_assert_str_eq(field(x, "status"), "CANCELLED");
	ck_assert_int_gt(seq(x), seq(c));
	/* Each booking has an entry of its own. */
	ck_assert_str_ne(field(c, "uid"),
	    field(entry_of(&in, all, SARAH, CONFIRM, 0), "uid"));
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_a_change_between_the_reminders_reaches_the_last_one)
{
	const struct testmail *m;
	struct inbox in;
	json_t *all, *r7, *n, *r1;
	char *order;

	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-26T09:31:00Z");
	ck_assert_uint_eq(count(SARAH, REMINDER), 1);
	website("UPDATE courses SET venue = 'Swansea',"
		" address = 'Swansea Guildhall, Swansea SA1 4PE' WHERE id = 1");
	run_at("2026-11-28T12:00:00Z");
	run_at("2026-11-28T12:12:00Z");
	ck_assert_uint_eq(count(SARAH, CHANGE), 1);
	run_at("2026-12-02T09:31:00Z");
	inbox_read(&in);
	ck_assert_uint_eq(testmail_count(in.m, in.n, SARAH, REMINDER), 2);
	/* The 7-day reminder, the notice, the 1-day reminder. */
	order = tu_db_text(db_path,
	    "SELECT group_concat(kind || ' ' || coalesce(detail, ''), ', ')"
	    " FROM (SELECT kind, CASE kind WHEN 'course_reminder'"
	    "  THEN detail END AS detail FROM messages WHERE booking_id = 1"
	    "  ORDER BY unixepoch(sent_at), id)");
	ck_assert_str_eq(order,
	    "booking_confirmation , course_reminder 7d, course_changed ,"
	    " course_reminder 1d");
	free(order);
	m = testmail_find(in.m, in.n, SARAH, REMINDER, 1);
	ck_has(m->subject, "starts tomorrow");
	ck_has(m->text,
	    "  Where:      Swansea\n"
	    "              Swansea Guildhall, Swansea SA1 4PE\n");
	ck_lacks(m->text, "Temple of Peace");
	all = entries(&in);
	r7 = entry_of(&in, all, SARAH, REMINDER, 0);
	n = entry_of(&in, all, SARAH, CHANGE, 0);
	r1 = entry_of(&in, all, SARAH, REMINDER, 1);
	ck_assert_str_eq(field(r7, "location"),
	    "Temple of Peace, Cathays Park, Cardiff CF10 3AP");
	ck_assert_str_eq(
	    field(r1, "location"), "Swansea Guildhall, Swansea SA1 4PE");
	ck_assert_int_eq(seq(r7), 0);
	ck_assert_int_eq(seq(n), 1);
	ck_assert_int_eq(seq(r1), 1);
	ck_assert_str_eq(field(r1, "uid"), field(r7, "uid"));
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_a_booking_made_after_the_change_gets_none)
{
	const struct testmail *m;
	struct inbox in;
	json_t *all;

	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	website("UPDATE courses SET venue = 'Swansea' WHERE id = 1");
	run_at("2026-11-23T10:00:00Z");
	book(4, 1, 4, "2026-11-23T10:02:00Z");
	run_at("2026-11-23T10:03:00Z");
	run_at("2026-11-23T10:12:00Z");
	run_at("2026-11-23T10:30:00Z");
	inbox_read(&in);
	ck_assert_uint_eq(testmail_count(in.m, in.n, SARAH, CHANGE), 1);
	ck_assert_uint_eq(testmail_count(in.m, in.n, TOM, CHANGE), 0);
	m = testmail_find(in.m, in.n, TOM, CONFIRM, 0);
	ck_assert_ptr_nonnull(m);
	ck_has(m->text, "  Where:      Swansea\n");
	all = entries(&in);
	ck_assert_int_eq(seq(entry_of(&in, all, TOM, CONFIRM, 0)), 0);
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_notes_alone_send_nothing)
{
	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	website("UPDATE courses SET notes = 'Bring a packed lunch.'"
		" WHERE id = 1");
	run_at("2026-11-23T10:00:00Z");
	run_at("2026-11-23T10:30:00Z");
	ck_assert_uint_eq(count(SARAH, CHANGE), 0);
	ck_assert_int_eq(db_int("SELECT count(*) FROM booking_told"
				" WHERE changed_at IS NOT NULL"),
	    0);
}
END_TEST

START_TEST(test_changes_across_the_clock_changes_keep_local_times)
{
	const struct testmail *m;
	struct inbox in;
	json_t *all, *c, *n;

	book(5, 3, 1, "2026-09-20T10:00:00Z");
	book(6, 4, 2, "2026-09-20T10:00:00Z");
	run_at("2026-10-01T09:00:00Z");
	/* Both move over a weekend on which the clocks change: the same
	 * hour in London, another hour in UTC. */
	website("UPDATE courses SET starts_at = '2026-10-26T09:30:00Z',"
		" ends_at = '2026-10-26T16:30:00Z' WHERE id = 3;"
		"UPDATE courses SET starts_at = '2027-03-29T09:00:00Z',"
		" ends_at = '2027-03-29T15:00:00Z' WHERE id = 4");
	run_at("2026-10-02T09:00:00Z");
	run_at("2026-10-02T09:12:00Z");
	inbox_read(&in);
	m = testmail_find(in.m, in.n, SARAH, CHANGE, 0);
	ck_assert_ptr_nonnull(m);
	ck_has(m->text,
	    "  Was:  Saturday 24 October 2026, 09:30 to 16:30\n"
	    "  Now:  Monday 26 October 2026, 09:30 to 16:30\n");
	m = testmail_find(in.m, in.n, SIAN, CHANGE, 0);
	ck_assert_ptr_nonnull(m);
	ck_has(m->text,
	    "  Was:  Saturday 27 March 2027, 10:00 to 16:00\n"
	    "  Now:  Monday 29 March 2027, 10:00 to 16:00\n");
	all = entries(&in);
	c = entry_of(&in, all, SARAH, CONFIRM, 0);
	n = entry_of(&in, all, SARAH, CHANGE, 0);
	ck_assert_str_eq(field(c, "dtstart_local"), "2026-10-24T09:30:00");
	ck_assert_str_eq(field(c, "dtstart_utc"), "2026-10-24T08:30:00Z");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(c, "dtstart_offset")), 3600);
	ck_assert_str_eq(field(n, "dtstart_local"), "2026-10-26T09:30:00");
	ck_assert_str_eq(field(n, "dtstart_utc"), "2026-10-26T09:30:00Z");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(n, "dtstart_offset")), 0);
	c = entry_of(&in, all, SIAN, CONFIRM, 0);
	n = entry_of(&in, all, SIAN, CHANGE, 0);
	ck_assert_str_eq(field(c, "dtstart_local"), "2027-03-27T10:00:00");
	ck_assert_str_eq(field(c, "dtstart_utc"), "2027-03-27T10:00:00Z");
	ck_assert_str_eq(field(n, "dtstart_local"), "2027-03-29T10:00:00");
	ck_assert_str_eq(field(n, "dtstart_utc"), "2027-03-29T09:00:00Z");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(n, "dtstart_offset")), 3600);
	json_decref(all);
	inbox_free(&in);
}
END_TEST

START_TEST(test_one_uid_from_confirmation_to_cancellation_sequence_rising)
{
	const char *subjects[] = { CONFIRM, CHANGE, CHANGE,
		"Course cancelled:" };
	size_t nth[] = { 0, 0, 1, 0 };
	struct inbox in;
	json_t *all, *first;

	book(1, 1, 1, "2026-11-20T10:00:00Z");
	run_at("2026-11-23T09:00:00Z");
	website("UPDATE courses SET venue = 'Swansea' WHERE id = 1");
	run_at("2026-11-23T10:00:00Z");
	run_at("2026-11-23T10:12:00Z");
	website("UPDATE courses SET starts_at = '2026-12-04T09:30:00Z',"
		" ends_at = '2026-12-04T16:30:00Z' WHERE id = 1");
	run_at("2026-11-24T10:00:00Z");
	run_at("2026-11-24T10:12:00Z");
	website("UPDATE courses SET status = 'cancelled' WHERE id = 1");
	run_at("2026-11-25T10:00:00Z");
	inbox_read(&in);
	ck_assert_uint_eq(testmail_count(in.m, in.n, SARAH, NULL), 4);
	all = entries(&in);
	first = entry_of(&in, all, SARAH, CONFIRM, 0);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(subjects); i++) {
		json_t *o = entry_of(&in, all, SARAH, subjects[i], nth[i]);

		ck_assert_str_eq(field(o, "uid"), field(first, "uid"));
		ck_assert_int_eq(seq(o), (long long)i);
		ck_assert_str_eq(
		    field(o, "method"), i == 3 ? "CANCEL" : "REQUEST");
	}
	ck_assert_str_eq(
	    field(entry_of(&in, all, SARAH, "Course cancelled:", 0), "status"),
	    "CANCELLED");
	json_decref(all);
	inbox_free(&in);
}
END_TEST

static Suite *
change_suite(void)
{
	Suite *s = suite_create("change");
	TCase *tc = tcase_create("change");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, test_change_of_time_sends_one_notice_after_the_window);
	tcase_add_test(tc, test_change_of_venue_says_where_it_was_and_is);
	tcase_add_test(tc, test_change_of_joining_link_gives_the_new_link);
	tcase_add_test(tc, test_two_edits_within_the_window_make_one_notice);
	tcase_add_test(tc, test_an_edit_undone_within_the_window_sends_nothing);
	tcase_add_test(
	    tc, test_a_change_after_the_course_started_sends_nothing);
	tcase_add_test(tc,
	    test_a_cancelled_booking_gets_no_notice_and_its_entry_cancelled);
	tcase_add_test(
	    tc, test_a_change_between_the_reminders_reaches_the_last_one);
	tcase_add_test(tc, test_a_booking_made_after_the_change_gets_none);
	tcase_add_test(tc, test_notes_alone_send_nothing);
	tcase_add_test(
	    tc, test_changes_across_the_clock_changes_keep_local_times);
	tcase_add_test(
	    tc, test_one_uid_from_confirmation_to_cancellation_sequence_rising);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (testmail_python() == NULL) {
		printf("SKIP: check_change needs a python3 with "
		       "python-icalendar (Debian: python3-icalendar; "
		       "contrib/install-deps.sh --tests; or set PYTHON3)\n");
		return 77;
	}
	return tu_run(change_suite());
}
