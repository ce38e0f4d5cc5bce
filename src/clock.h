/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clock: the daemon's idea of now, and times as people and the database
 * write them.
 *
 * The database stores UTC ISO-8601 text ("2026-12-07T09:30:00Z"); people
 * see local time in the configured zone. --now shifts the clock: from
 * then on clock_now() is the given time plus the real time elapsed, so a
 * daemon started in the past keeps moving. The zone is process-wide
 * (TZ): clock_set_timezone() is called on the loop thread before any
 * sender thread starts or on reload; formatting is then thread-safe.
 */
#ifndef FM_CLOCK_H
#define FM_CLOCK_H

#include <stddef.h>
#include <time.h>

#define CLOCK_ISO_LEN 21 /* "2026-12-07T09:30:00Z" and NUL */

enum clock_style {
	CLOCK_LONG,    /* "Thursday 7 December 2026, 09:30" */
	CLOCK_DATE,    /* "Thursday 7 December 2026" */
	CLOCK_TIME,    /* "09:30" */
	CLOCK_SHORT,   /* "7 Dec" */
	CLOCK_RFC5322, /* "Thu, 07 Dec 2026 09:30:00 +0000" */
	CLOCK_WEEKDAY, /* "Thursday" */
	CLOCK_DAY,     /* "7 December 2026" */
};

time_t clock_now(void);
/* Pretend the clock reads t now. */
void clock_set_fake(time_t t);

/* Selects the zone for local times, e.g. "Europe/London". 0, or -ENOENT
 * if the zone is not known to the system. */
int clock_set_timezone(const char *zone);
/* True if the zone exists in the system's zone database. */
int clock_zone_exists(const char *zone);

/*
 * Parses the forms the website may write: "2026-12-07T09:30:00Z",
 * "2026-12-07T09:30Z", "2026-12-07 09:30:00" (UTC), with an optional
 * "+01:00" offset, fractional seconds ignored, or a bare "2026-12-07"
 * (midnight UTC). 0 or -EINVAL.
 */
int clock_parse_iso(const char *s, time_t *out);
/* Writes the UTC ISO-8601 form; out has CLOCK_ISO_LEN bytes. */
void clock_format_iso(time_t t, char *out);
/*
 * Local time in the configured zone, in one of the styles above, with
 * the day and month names of language (BCP 47: "en", "cy"; NULL or not a
 * tag: "en") from CLDR through ICU: CLOCK_LONG in Welsh is "Dydd Iau 7
 * Rhagfyr 2026, 09:30". English and Welsh have the forms shown above;
 * other languages CLDR's form of the same fields. CLOCK_RFC5322 is
 * always English (a header's form). out is "" if it does not fit.
 * Thread-safe.
 */
void clock_format_local_lang(time_t t, enum clock_style style,
    const char *language, char *out, size_t size);
/* clock_format_local_lang() in English. */
void clock_format_local(
    time_t t, enum clock_style style, char *out, size_t size);

/*
 * Digest schedules in local time. A weekly schedule is a weekday (0 =
 * Sunday) and minutes after local midnight; a monthly one a day of the
 * month (1..28) and minutes. clock_last_*() give the latest occurrence
 * at or before t; clock_next_*() the earliest strictly after t. A local
 * time that does not exist (the spring gap) moves forward by the gap; one
 * that happens twice (autumn) is the first.
 */
time_t clock_last_weekly(time_t t, int wday, int minute);
time_t clock_next_weekly(time_t t, int wday, int minute);
time_t clock_last_monthly(time_t t, int mday, int minute);
time_t clock_next_monthly(time_t t, int mday, int minute);
/* The period an occurrence names: "2026-W48" (ISO week) or "2026-12". */
void clock_week_id(time_t t, char *out, size_t size);
void clock_month_id(time_t t, char *out, size_t size);

#endif
