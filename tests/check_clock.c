/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_clock: parsing the database's times and showing them to people
 * in Europe/London, across both daylight-saving changes.
 */
#include "config.h"

#include <stdio.h>

#include <check.h>

#include "clock.h"
#include "lang.h"
#include "testutil.h"

static time_t
parse(const char *s)
{
	time_t t = 0;

	ck_assert_msg(clock_parse_iso(s, &t) == 0, "parse %s", s);
	return t;
}

static const char *
local(const char *iso, enum clock_style style)
{
	static char out[96];

	clock_format_local(parse(iso), style, out, sizeof(out));
	return out;
}

START_TEST(test_clock_parses_the_forms_the_website_writes)
{
	time_t z = parse("2026-12-07T09:30:00Z");

	ck_assert_int_eq(z, 1796635800);
	ck_assert_int_eq(parse("2026-12-07T09:30Z"), z);
	ck_assert_int_eq(parse("2026-12-07 09:30:00"), z);
	ck_assert_int_eq(parse("2026-12-07T09:30:00.250Z"), z);
	ck_assert_int_eq(parse("2026-12-07T10:30:00+01:00"), z);
	ck_assert_int_eq(parse("2026-12-07T04:30:00-0500"), z);
	ck_assert_int_eq(parse("2026-12-07"), z - 9 * 3600 - 30 * 60);
}
END_TEST

START_TEST(test_clock_refuses_what_is_not_a_time)
{
	static const char *const bad[] = { "", "tomorrow", "2026-13-01",
		"2026-02-29T10:00:00Z", "2026-12-07T25:00:00Z",
		"2026-12-07T09:30:00Zjunk", "2026-12-7T09:30:00Z",
		"2026-12-07T09:30:00+1" };
	time_t t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(
		    clock_parse_iso(bad[i], &t) != 0, "accepted %s", bad[i]);
	ck_assert_int_eq(clock_parse_iso("2028-02-29T10:00:00Z", &t), 0);
}
END_TEST

START_TEST(test_clock_formats_iso_in_utc)
{
	char out[CLOCK_ISO_LEN];

	clock_format_iso(parse("2026-07-01T10:00:00+01:00"), out);
	ck_assert_str_eq(out, "2026-07-01T09:00:00Z");
}
END_TEST

START_TEST(test_clock_shows_london_time_across_the_autumn_change)
{
	ck_assert_int_eq(clock_set_timezone("Europe/London"), 0);
	/* British Summer Time ends at 01:00 UTC on 25 October 2026. */
	ck_assert_str_eq(local("2026-10-24T09:30:00Z", CLOCK_LONG),
	    "Saturday 24 October 2026, 10:30");
	ck_assert_str_eq(local("2026-10-26T09:30:00Z", CLOCK_LONG),
	    "Monday 26 October 2026, 09:30");
	ck_assert_str_eq(local("2026-10-25T00:59:59Z", CLOCK_TIME), "01:59");
	ck_assert_str_eq(local("2026-10-25T01:00:00Z", CLOCK_TIME), "01:00");
}
END_TEST

START_TEST(test_clock_shows_london_time_across_the_spring_change)
{
	ck_assert_int_eq(clock_set_timezone("Europe/London"), 0);
	/* It begins at 01:00 UTC on 29 March 2026. */
	ck_assert_str_eq(local("2026-03-29T00:30:00Z", CLOCK_TIME), "00:30");
	ck_assert_str_eq(local("2026-03-29T01:30:00Z", CLOCK_TIME), "02:30");
	ck_assert_str_eq(local("2026-03-30T08:00:00Z", CLOCK_LONG),
	    "Monday 30 March 2026, 09:00");
}
END_TEST

START_TEST(test_clock_offers_date_time_and_short_forms)
{
	ck_assert_int_eq(clock_set_timezone("Europe/London"), 0);
	ck_assert_str_eq(local("2026-12-03T09:30:00Z", CLOCK_LONG),
	    "Thursday 3 December 2026, 09:30");
	ck_assert_str_eq(local("2026-12-03T09:30:00Z", CLOCK_DATE),
	    "Thursday 3 December 2026");
	ck_assert_str_eq(local("2026-12-03T09:30:00Z", CLOCK_SHORT), "3 Dec");
	ck_assert_str_eq(local("2026-12-03T09:30:00Z", CLOCK_RFC5322),
	    "Thu, 03 Dec 2026 09:30:00 +0000");
}
END_TEST

START_TEST(test_clock_refuses_an_unknown_zone)
{
	ck_assert_int_eq(clock_set_timezone("Europe/Atlantis"), -2);
	ck_assert_int_eq(clock_set_timezone("../../etc/passwd"), -2);
	ck_assert_int_eq(clock_set_timezone("America/New_York"), 0);
	ck_assert_str_eq(local("2026-12-03T14:30:00Z", CLOCK_TIME), "09:30");
}
END_TEST

START_TEST(test_clock_now_moves_on_from_a_faked_time)
{
	time_t t = parse("2026-12-01T08:00:00Z");

	clock_set_fake(t);
	ck_assert_int_ge(clock_now(), t);
	ck_assert_int_le(clock_now(), t + 5);
}
END_TEST

static const char *
iso(time_t t)
{
	static char out[CLOCK_ISO_LEN];

	clock_format_iso(t, out);
	return out;
}

START_TEST(test_clock_weekly_schedule_keeps_local_time_across_dst)
{
	char id[16];
	time_t t;

	ck_assert_int_eq(clock_set_timezone("Europe/London"), 0);
	/* Monday 08:00 London: 07:00Z in summer, 08:00Z in winter. */
	t = clock_next_weekly(parse("2026-10-20T12:00:00Z"), 1, 8 * 60);
	ck_assert_str_eq(iso(t), "2026-10-26T08:00:00Z");
	ck_assert_str_eq(
	    iso(clock_last_weekly(t - 1, 1, 8 * 60)), "2026-10-19T07:00:00Z");
	ck_assert_str_eq(
	    iso(clock_last_weekly(t, 1, 8 * 60)), "2026-10-26T08:00:00Z");
	clock_week_id(t, id, sizeof(id));
	ck_assert_str_eq(id, "2026-W44");
	/* Spring: Sunday 01:30 does not exist on 29 March; it moves on. */
	t = clock_next_weekly(parse("2026-03-28T12:00:00Z"), 0, 90);
	ck_assert_str_eq(iso(t), "2026-03-29T01:30:00Z");
}
END_TEST

START_TEST(test_clock_monthly_schedule_finds_last_and_next)
{
	char id[16];
	time_t t = parse("2026-11-23T12:00:00Z");

	ck_assert_int_eq(clock_set_timezone("Europe/London"), 0);
	ck_assert_str_eq(
	    iso(clock_last_monthly(t, 1, 8 * 60)), "2026-11-01T08:00:00Z");
	ck_assert_str_eq(
	    iso(clock_next_monthly(t, 1, 8 * 60)), "2026-12-01T08:00:00Z");
	ck_assert_str_eq(
	    iso(clock_next_monthly(parse("2026-12-15T00:00:00Z"), 1, 8 * 60)),
	    "2027-01-01T08:00:00Z");
	/* 1 April is in summer time. */
	ck_assert_str_eq(
	    iso(clock_next_monthly(parse("2026-03-02T00:00:00Z"), 1, 8 * 60)),
	    "2026-04-01T07:00:00Z");
	clock_month_id(parse("2026-12-01T08:00:00Z"), id, sizeof(id));
	ck_assert_str_eq(id, "2026-12");
}
END_TEST

static const char *
local_lang(const char *iso, enum clock_style style, const char *lang)
{
	static char out[96];

	clock_format_local_lang(parse(iso), style, lang, out, sizeof(out));
	return out;
}

/* Every month and every weekday, in Welsh and English, from CLDR through
 * ICU: the 7th of each month of 2027 at 09:30 local time (GMT in winter,
 * BST in summer: the time shown is the local one). */
START_TEST(test_clock_names_every_month_and_weekday_in_welsh_and_english)
{
	static const struct {
		const char *utc, *cy, *en;
	} days[] = {
		{ "2027-01-07T09:30:00Z", "Dydd Iau 7 Ionawr 2027, 09:30",
		    "Thursday 7 January 2027, 09:30" },
		{ "2027-02-07T09:30:00Z", "Dydd Sul 7 Chwefror 2027, 09:30",
		    "Sunday 7 February 2027, 09:30" },
		{ "2027-03-07T09:30:00Z", "Dydd Sul 7 Mawrth 2027, 09:30",
		    "Sunday 7 March 2027, 09:30" },
		{ "2027-04-07T08:30:00Z", "Dydd Mercher 7 Ebrill 2027, 09:30",
		    "Wednesday 7 April 2027, 09:30" },
		{ "2027-05-07T08:30:00Z", "Dydd Gwener 7 Mai 2027, 09:30",
		    "Friday 7 May 2027, 09:30" },
		{ "2027-06-07T08:30:00Z", "Dydd Llun 7 Mehefin 2027, 09:30",
		    "Monday 7 June 2027, 09:30" },
		{ "2027-07-07T08:30:00Z",
		    "Dydd Mercher 7 Gorffennaf 2027, 09:30",
		    "Wednesday 7 July 2027, 09:30" },
		{ "2027-08-07T08:30:00Z", "Dydd Sadwrn 7 Awst 2027, 09:30",
		    "Saturday 7 August 2027, 09:30" },
		{ "2027-09-07T08:30:00Z", "Dydd Mawrth 7 Medi 2027, 09:30",
		    "Tuesday 7 September 2027, 09:30" },
		{ "2027-10-07T08:30:00Z", "Dydd Iau 7 Hydref 2027, 09:30",
		    "Thursday 7 October 2027, 09:30" },
		{ "2027-11-07T09:30:00Z", "Dydd Sul 7 Tachwedd 2027, 09:30",
		    "Sunday 7 November 2027, 09:30" },
		{ "2027-12-07T09:30:00Z", "Dydd Mawrth 7 Rhagfyr 2027, 09:30",
		    "Tuesday 7 December 2027, 09:30" },
	};
	static const char *const cy_days[] = { "Dydd Llun", "Dydd Mawrth",
		"Dydd Mercher", "Dydd Iau", "Dydd Gwener", "Dydd Sadwrn",
		"Dydd Sul" };
	char iso[32];

	ck_assert_int_eq(clock_set_timezone("Europe/London"), 0);
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		ck_assert_str_eq(
		    local_lang(days[i].utc, CLOCK_LONG, "cy"), days[i].cy);
		ck_assert_str_eq(
		    local_lang(days[i].utc, CLOCK_LONG, "en"), days[i].en);
	}
	/* Monday 6 to Sunday 12 December 2027. */
	for (int d = 0; d < 7; d++) {
		(void)snprintf(
		    iso, sizeof(iso), "2027-12-%02dT12:00:00Z", 6 + d);
		ck_assert_str_eq(
		    local_lang(iso, CLOCK_WEEKDAY, "cy"), cy_days[d]);
	}
	/* The issue's own example, and the other forms in Welsh. */
	ck_assert_str_eq(local_lang("2026-12-03T09:30:00Z", CLOCK_LONG, "cy"),
	    "Dydd Iau 3 Rhagfyr 2026, 09:30");
	ck_assert_str_eq(local_lang("2026-12-03T09:30:00Z", CLOCK_DATE, "cy"),
	    "Dydd Iau 3 Rhagfyr 2026");
	ck_assert_str_eq(
	    local_lang("2026-12-03T09:30:00Z", CLOCK_SHORT, "cy"), "3 Rhag");
	ck_assert_str_eq(local_lang("2026-12-03T09:30:00Z", CLOCK_DAY, "cy"),
	    "3 Rhagfyr 2026");
	/* 24-hour times in both. */
	ck_assert_str_eq(
	    local_lang("2026-12-03T17:05:00Z", CLOCK_TIME, "cy"), "17:05");
	ck_assert_str_eq(
	    local_lang("2026-12-03T17:05:00Z", CLOCK_TIME, "en"), "17:05");
	/* A region is read with its language; no tag is English. */
	ck_assert_str_eq(
	    local_lang("2026-12-03T09:30:00Z", CLOCK_DATE, "cy-GB"),
	    "Dydd Iau 3 Rhagfyr 2026");
	ck_assert_str_eq(local_lang("2026-12-03T09:30:00Z", CLOCK_DATE, NULL),
	    "Thursday 3 December 2026");
}
END_TEST

START_TEST(test_lang_plural_categories_of_welsh_and_english)
{
	static const struct {
		long n;
		const char *cy, *en;
	} counts[] = {
		{ 0, "zero", "other" },
		{ 1, "one", "one" },
		{ 2, "two", "other" },
		{ 3, "few", "other" },
		{ 4, "other", "other" },
		{ 6, "many", "other" },
		{ 7, "other", "other" },
		{ 11, "other", "other" },
	};

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		ck_assert_str_eq(lang_plural("cy", counts[i].n), counts[i].cy);
		ck_assert_str_eq(lang_plural("en", counts[i].n), counts[i].en);
	}
	ck_assert(lang_known("cy"));
	ck_assert(lang_known("en-GB"));
	ck_assert(!lang_known("xx"));
	ck_assert(!lang_known("welsh"));
	ck_assert(!lang_known("c"));
}
END_TEST

static Suite *
clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");

	tcase_add_test(tc, test_clock_parses_the_forms_the_website_writes);
	tcase_add_test(tc, test_clock_refuses_what_is_not_a_time);
	tcase_add_test(tc, test_clock_formats_iso_in_utc);
	tcase_add_test(
	    tc, test_clock_shows_london_time_across_the_autumn_change);
	tcase_add_test(
	    tc, test_clock_shows_london_time_across_the_spring_change);
	tcase_add_test(tc, test_clock_offers_date_time_and_short_forms);
	tcase_add_test(
	    tc, test_clock_names_every_month_and_weekday_in_welsh_and_english);
	tcase_add_test(tc, test_lang_plural_categories_of_welsh_and_english);
	tcase_add_test(tc, test_clock_refuses_an_unknown_zone);
	tcase_add_test(tc, test_clock_now_moves_on_from_a_faked_time);
	tcase_add_test(
	    tc, test_clock_weekly_schedule_keeps_local_time_across_dst);
	tcase_add_test(tc, test_clock_monthly_schedule_finds_last_and_next);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(clock_suite());
}
