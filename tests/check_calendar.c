/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_calendar: the calendar entries of booking mail (calendar.c),
 * read back by libical and by a second, independent parser
 * (python-icalendar, through tests/ics_check.py) as a calendar app
 * would: the course for its one attendee, local times with the zone's
 * VTIMEZONE that give the right instant on both sides of the October
 * and March clock changes, cancellations, and values that cannot add a
 * line or a property.
 *
 * Skipped (exit 77) without a python3 that has python-icalendar
 * (contrib/install-deps.sh --tests installs it).
 */
#include "config.h"

#include <errno.h>
#include <libical/ical.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "send/calendar.h"
#include "testmail.h"
#include "testutil.h"
#include "util.h"

static char *dir;

static void
setup(void)
{
	dir = tu_mkdtemp();
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(dir);
}

static time_t
at(const char *iso)
{
	time_t t;

	ck_assert_int_eq(clock_parse_iso(iso, &t), 0);
	return t;
}

static void
entry_defaults(struct calendar_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->method = CALENDAR_REQUEST;
	e->uid = "booking-1-FC-1001@example.org";
	e->stamp = at("2026-11-23T09:00:00Z");
	e->starts = at("2026-12-03T09:30:00Z");
	e->ends = at("2026-12-03T16:30:00Z");
	e->timezone = "Europe/London";
	e->summary = "Nurturing Programme Facilitator Training";
	e->location = "Temple of Peace, Cathays Park, Cardiff CF10 3AP";
	e->description = "Booking reference: FC-1001\n\nBring the handbook.";
	e->organizer_name = "Family Courses";
	e->organizer_addr = "courses@example.org";
	e->attendee_name = "Si\xc3\xa2n Ll\xc5\xb7r";
	e->attendee_addr = "sian.llyr@example.org";
}

static char *
build(const struct calendar_entry *e)
{
	struct buf b;
	int ret;

	buf_init(&b);
	ret = calendar_build(e, &b);
	ck_assert_msg(ret == 0, "calendar_build: %s", strerror(-ret));
	buf_putc(&b, '\0');
	return buf_take(&b);
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	ck_assert_msg(s != NULL, "no %s in %s", key, json_dumps(o, 0));
	return s;
}

START_TEST(test_calendar_request_carries_the_course_for_one_attendee)
{
	struct calendar_entry e;
	struct testmail_ics lib;
	json_t *py, *o;
	char *ics;

	entry_defaults(&e);
	e.sequence = 3;
	e.url = "https://meet.example.org/room?a=1&b=2";
	ics = build(&e);
	testmail_ics_libical(ics, &lib);
	ck_assert_str_eq(lib.method, "REQUEST");
	ck_assert_str_eq(lib.status, "CONFIRMED");
	ck_assert_str_eq(lib.uid, "booking-1-FC-1001@example.org");
	ck_assert_int_eq(lib.sequence, 3);
	ck_assert_str_eq(lib.tzid, "Europe/London");
	ck_assert_int_eq(lib.starts, e.starts);
	ck_assert_int_eq(lib.ends, e.ends);
	ck_assert_str_eq(lib.starts_local, "20261203T093000");
	testmail_ics_fini(&lib);

	py = testmail_ics_python(dir, (const char *[]){ ics }, 1);
	o = json_array_get(py, 0);
	ck_assert_str_eq(str(o, "method"), "REQUEST");
	ck_assert_str_eq(str(o, "version"), "2.0");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "events")), 1);
	ck_assert_str_eq(str(o, "uid"), "booking-1-FC-1001@example.org");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "sequence")), 3);
	ck_assert_str_eq(
	    str(o, "summary"), "Nurturing Programme Facilitator Training");
	ck_assert_str_eq(str(o, "location"),
	    "Temple of Peace, Cathays Park, Cardiff CF10 3AP");
	ck_assert_str_eq(str(o, "description"),
	    "Booking reference: FC-1001\n\nBring the handbook.");
	ck_assert_str_eq(
	    str(o, "url"), "https://meet.example.org/room?a=1&b=2");
	ck_assert_str_eq(str(o, "status"), "CONFIRMED");
	ck_assert_str_eq(str(o, "organizer"), "mailto:courses@example.org");
	ck_assert_str_eq(str(o, "organizer_cn"), "Family Courses");
	ck_assert_uint_eq(json_array_size(json_object_get(o, "attendees")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(
			     json_object_get(o, "attendees"), 0)),
	    "mailto:sian.llyr@example.org");
	ck_assert_str_eq(str(o, "attendee_cn"), "Si\xc3\xa2n Ll\xc5\xb7r");
	/* Booked already: accepted, and no reply asked for. */
	ck_assert_str_eq(str(o, "partstat"), "ACCEPTED");
	ck_assert_str_eq(str(o, "rsvp"), "FALSE");
	ck_assert_str_eq(str(o, "dtstart_tzid"), "Europe/London");
	ck_assert_str_eq(str(o, "dtstart_utc"), "2026-12-03T09:30:00Z");
	ck_assert_str_eq(str(o, "dtend_utc"), "2026-12-03T16:30:00Z");
	json_decref(py);
	free(ics);
}
END_TEST

/* Course times on either side of the clock changes, in London and in a
 * zone that changes on other days. Local times in the hour that comes
 * twice in October cannot be told apart in a calendar (RFC 5545 takes
 * the first); courses are held by day. */
static const struct {
	const char *zone;
	const char *utc;
	const char *local;
	int offset;
} clock_cases[] = {
	{ "Europe/London", "2026-07-07T09:30:00Z", "20260707T103000", 3600 },
	{ "Europe/London", "2026-10-24T08:30:00Z", "20261024T093000", 3600 },
	{ "Europe/London", "2026-10-25T09:30:00Z", "20261025T093000", 0 },
	{ "Europe/London", "2026-12-07T09:30:00Z", "20261207T093000", 0 },
	{ "Europe/London", "2027-03-27T10:00:00Z", "20270327T100000", 0 },
	{ "Europe/London", "2027-03-28T00:30:00Z", "20270328T003000", 0 },
	{ "Europe/London", "2027-03-28T01:30:00Z", "20270328T023000", 3600 },
	{ "Europe/London", "2027-03-28T09:00:00Z", "20270328T100000", 3600 },
	{ "America/New_York", "2026-10-30T13:00:00Z", "20261030T090000",
	    -4 * 3600 },
	{ "America/New_York", "2026-11-02T14:00:00Z", "20261102T090000",
	    -5 * 3600 },
};

START_TEST(test_calendar_times_are_local_across_the_clock_changes)
{
	const char *ics[UTIL_ARRAY_LEN(clock_cases)];
	struct calendar_entry e;
	struct testmail_ics lib;
	json_t *py, *o;
	char want[32];

	for (size_t i = 0; i < UTIL_ARRAY_LEN(clock_cases); i++) {
		entry_defaults(&e);
		e.timezone = clock_cases[i].zone;
		e.starts = at(clock_cases[i].utc);
		e.ends = e.starts + 7 * 3600;
		ics[i] = build(&e);
		testmail_ics_libical(ics[i], &lib);
		ck_assert_str_eq(lib.tzid, clock_cases[i].zone);
		ck_assert_msg(
		    strcmp(lib.starts_local, clock_cases[i].local) == 0,
		    "%s: %s, wanted %s", clock_cases[i].utc, lib.starts_local,
		    clock_cases[i].local);
		/* The VTIMEZONE sent with it gives back the instant. */
		ck_assert_msg(lib.starts == e.starts, "%s: libical reads %lld",
		    clock_cases[i].utc, (long long)lib.starts);
		ck_assert_int_eq(lib.ends, e.ends);
		testmail_ics_fini(&lib);
	}
	py = testmail_ics_python(dir, ics, UTIL_ARRAY_LEN(clock_cases));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(clock_cases); i++) {
		const char *l = clock_cases[i].local;

		o = json_array_get(py, i);
		(void)snprintf(want, sizeof(want),
		    "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", l, l + 4, l + 6, l + 9,
		    l + 11, l + 13);
		ck_assert_str_eq(str(o, "dtstart_local"), want);
		ck_assert_str_eq(str(o, "dtstart_tzid"), clock_cases[i].zone);
		/* By the zone's name, and by the rules sent with it. */
		ck_assert_str_eq(str(o, "dtstart_utc"), clock_cases[i].utc);
		ck_assert_str_eq(
		    str(o, "dtstart_utc_by_vtimezone"), clock_cases[i].utc);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(o, "dtstart_offset")),
		    clock_cases[i].offset);
		ck_assert_str_eq(json_string_value(json_array_get(
				     json_object_get(o, "vtimezones"), 0)),
		    clock_cases[i].zone);
		free((char *)ics[i]);
	}
	json_decref(py);
}
END_TEST

START_TEST(test_calendar_vtimezone_is_short_and_plainly_named)
{
	struct calendar_entry e;
	char *ics, *vtz, *end;

	entry_defaults(&e);
	ics = build(&e);
	vtz = strstr(ics, "BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\n");
	ck_assert_msg(vtz != NULL, "%s", ics);
	end = strstr(vtz, "END:VTIMEZONE\r\n");
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	/* The rules in force, once each: one move to summer time, one back,
	 * without the zone's history or an UNTIL. */
	ck_assert_ptr_nonnull(strstr(vtz, "BEGIN:DAYLIGHT\r\n"));
	ck_assert_ptr_null(strstr(
	    strstr(vtz, "BEGIN:DAYLIGHT\r\n") + 1, "BEGIN:DAYLIGHT\r\n"));
	ck_assert_ptr_nonnull(strstr(vtz, "BEGIN:STANDARD\r\n"));
	ck_assert_ptr_null(strstr(
	    strstr(vtz, "BEGIN:STANDARD\r\n") + 1, "BEGIN:STANDARD\r\n"));
	ck_assert_ptr_nonnull(
	    strstr(vtz, "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"));
	ck_assert_ptr_nonnull(
	    strstr(vtz, "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"));
	ck_assert_ptr_null(strstr(vtz, "UNTIL"));
	ck_assert_ptr_null(strstr(vtz, "freeassociation"));
	free(ics);
}
END_TEST

START_TEST(test_calendar_cancel_has_method_and_status)
{
	struct calendar_entry e;
	struct testmail_ics lib;
	json_t *py, *o;
	char *ics;

	entry_defaults(&e);
	e.method = CALENDAR_CANCEL;
	e.sequence = 2;
	ics = build(&e);
	ck_assert_str_eq(calendar_method_name(e.method), "CANCEL");
	testmail_ics_libical(ics, &lib);
	ck_assert_str_eq(lib.method, "CANCEL");
	ck_assert_str_eq(lib.status, "CANCELLED");
	ck_assert_str_eq(lib.uid, "booking-1-FC-1001@example.org");
	ck_assert_int_eq(lib.sequence, 2);
	testmail_ics_fini(&lib);
	py = testmail_ics_python(dir, (const char *[]){ ics }, 1);
	o = json_array_get(py, 0);
	ck_assert_str_eq(str(o, "method"), "CANCEL");
	ck_assert_str_eq(str(o, "status"), "CANCELLED");
	ck_assert_str_eq(str(o, "uid"), "booking-1-FC-1001@example.org");
	json_decref(py);
	free(ics);
}
END_TEST

START_TEST(test_calendar_values_are_text_and_add_no_line)
{
	struct calendar_entry e;
	icalcomponent *cal, *ev;
	json_t *py, *o;
	char *ics;

	entry_defaults(&e);
	e.summary =
	    "Course, part 1; \\ day\r\nATTENDEE:mailto:evil@example.net";
	e.location = "Room 4\x01\x1b[31m\x7f, Cardiff";
	e.description = "Line one\rLine two\r\nEND:VEVENT";
	e.attendee_name = "\"Ann\"\r\nATTENDEE:mailto:evil@example.net";
	e.url =
	    "https://meet.example.org/x\r\nATTENDEE:mailto:evil@example.net";
	ics = build(&e);
	cal = icalparser_parse_string(ics);
	ck_assert_ptr_nonnull(cal);
	ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	ck_assert_int_eq(
	    icalcomponent_count_properties(ev, ICAL_ATTENDEE_PROPERTY), 1);
	ck_assert_int_eq(
	    icalcomponent_count_properties(ev, ICAL_URL_PROPERTY), 0);
	ck_assert_int_eq(
	    icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT), 1);
	ck_assert_str_eq(icalcomponent_get_summary(ev),
	    "Course, part 1; \\ day\nATTENDEE:mailto:evil@example.net");
	ck_assert_str_eq(icalcomponent_get_location(ev), "Room 4[31m, Cardiff");
	ck_assert_str_eq(icalcomponent_get_description(ev),
	    "Line one\nLine two\nEND:VEVENT");
	icalcomponent_free(cal);
	py = testmail_ics_python(dir, (const char *[]){ ics }, 1);
	o = json_array_get(py, 0);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "attendees")), 1);
	ck_assert_str_eq(str(o, "summary"),
	    "Course, part 1; \\ day\nATTENDEE:mailto:evil@example.net");
	ck_assert_str_eq(
	    str(o, "attendee_cn"), "'Ann' ATTENDEE:mailto:evil@example.net");
	ck_assert(json_is_null(json_object_get(o, "url")));
	json_decref(py);
	free(ics);
}
END_TEST

START_TEST(test_calendar_refuses_what_it_cannot_write)
{
	static const char *const bad_addrs[] = { "", "a b@example.org",
		"a@example.org\r\nBcc: x", "caf\xc3\xa9@example.org",
		"\"a\"@example.org" };
	struct calendar_entry e;
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "before");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_addrs); i++) {
		entry_defaults(&e);
		e.attendee_addr = bad_addrs[i];
		ck_assert_int_eq(calendar_build(&e, &b), -EINVAL);
		entry_defaults(&e);
		e.organizer_addr = bad_addrs[i];
		ck_assert_int_eq(calendar_build(&e, &b), -EINVAL);
	}
	entry_defaults(&e);
	e.uid = NULL;
	ck_assert_int_eq(calendar_build(&e, &b), -EINVAL);
	entry_defaults(&e);
	e.uid = "a uid@example.org";
	ck_assert_int_eq(calendar_build(&e, &b), -EINVAL);
	entry_defaults(&e);
	e.ends = e.starts - 60;
	ck_assert_int_eq(calendar_build(&e, &b), -EINVAL);
	entry_defaults(&e);
	e.timezone = "Mars/Olympus_Mons";
	ck_assert_int_eq(calendar_build(&e, &b), -ENOENT);
	ck_assert_str_eq(b.data, "before");
	buf_fini(&b);
}
END_TEST

START_TEST(test_calendar_in_utc_writes_utc_times)
{
	struct calendar_entry e;
	struct testmail_ics lib;
	char *ics;

	entry_defaults(&e);
	e.timezone = "UTC";
	e.ends = 0;
	ics = build(&e);
	ck_assert_ptr_null(strstr(ics, "VTIMEZONE"));
	ck_assert_ptr_nonnull(strstr(ics, "\r\nDTSTART:20261203T093000Z\r\n"));
	ck_assert_ptr_null(strstr(ics, "DTEND"));
	testmail_ics_libical(ics, &lib);
	ck_assert_int_eq(lib.starts, e.starts);
	testmail_ics_fini(&lib);
	free(ics);
}
END_TEST

START_TEST(test_calendar_booking_uid_is_stable_and_safe)
{
	char *a = calendar_booking_uid(42, "FC-1001", "example.org");
	char *b = calendar_booking_uid(42, "FC-1001", "example.org");
	char *c = calendar_booking_uid(7, "FC 10/7;x@y\r\n", "example.org");

	ck_assert_str_eq(a, "booking-42-FC-1001@example.org");
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(c, "booking-7-FC-10-7-x-y--@example.org");
	free(a);
	free(b);
	free(c);
}
END_TEST

/* The senders' compose jobs build entries on two threads at once. */
static void *
build_many(void *arg)
{
	struct calendar_entry e;
	struct buf b;

	(void)arg;
	entry_defaults(&e);
	buf_init(&b);
	for (int i = 0; i < 100; i++) {
		buf_reset(&b);
		e.starts += 86400;
		e.ends += 86400;
		if (calendar_build(&e, &b) != 0 ||
		    strstr(b.data, "END:VCALENDAR\r\n") == NULL) {
			buf_fini(&b);
			return (void *)1;
		}
	}
	buf_fini(&b);
	return NULL;
}

START_TEST(test_calendar_builds_on_several_threads_at_once)
{
	pthread_t t[4];
	void *r;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(t); i++)
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, build_many, NULL), 0);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(t); i++) {
		ck_assert_int_eq(pthread_join(t[i], &r), 0);
		ck_assert_ptr_null(r);
	}
}
END_TEST

static Suite *
calendar_suite(void)
{
	Suite *s = suite_create("calendar");
	TCase *tc = tcase_create("calendar");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(
	    tc, test_calendar_request_carries_the_course_for_one_attendee);
	tcase_add_test(
	    tc, test_calendar_times_are_local_across_the_clock_changes);
	tcase_add_test(tc, test_calendar_vtimezone_is_short_and_plainly_named);
	tcase_add_test(tc, test_calendar_cancel_has_method_and_status);
	tcase_add_test(tc, test_calendar_values_are_text_and_add_no_line);
	tcase_add_test(tc, test_calendar_refuses_what_it_cannot_write);
	tcase_add_test(tc, test_calendar_in_utc_writes_utc_times);
	tcase_add_test(tc, test_calendar_booking_uid_is_stable_and_safe);
	tcase_add_test(tc, test_calendar_builds_on_several_threads_at_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (testmail_python() == NULL) {
		printf("SKIP: check_calendar needs a python3 with "
		       "python-icalendar (Debian: python3-icalendar; "
		       "contrib/install-deps.sh --tests; or set PYTHON3)\n");
		return 77;
	}
	return tu_run(calendar_suite());
}
