/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clock: see clock.h. Times for people are formatted by ICU (Debian's
 * libicu, CLDR data) in every language, English too: day and month
 * names come from CLDR, never from tables of ours, and setlocale() is
 * never called. The local time itself comes from the C library (TZ),
 * as the digest schedules do, so a date shown and a date scheduled
 * always agree: ICU only names the fields of that local time, given to
 * it as a time in UTC.
 */
#include "config.h"

#include "clock.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/udat.h>
#include <unicode/udatpg.h>
#include <unicode/ustring.h>

#include "lang.h"
#include "util.h"

static bool clock_faked;
static time_t clock_fake_base;
static struct timespec clock_fake_start;

time_t
clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!clock_faked)
		return time(NULL);
	return clock_fake_base + (ts.tv_sec - clock_fake_start.tv_sec);
}

void
clock_set_fake(time_t t)
{
	clock_faked = true;
	clock_fake_base = t;
	clock_gettime(CLOCK_MONOTONIC, &clock_fake_start);
}

int
clock_zone_exists(const char *zone)
{
	struct stat st;
	char path[512];
	int n;

	if (zone == NULL || *zone == '\0' || zone[0] == '/' ||
	    strstr(zone, "..") != NULL)
		return 0;
	if (strcmp(zone, "UTC") == 0)
		return 1;
	n = snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
clock_set_timezone(const char *zone)
{
	char *tz;

	if (!clock_zone_exists(zone))
		return -ENOENT;
	tz = xasprintf(":%s", zone);
	setenv("TZ", tz, 1);
	free(tz);
	tzset();
	return 0;
}

static int
clock_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
clock_days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int
clock_parse_iso(const char *s, time_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	const char *p = s;
	struct tm tm;

	if (s == NULL)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	if (clock_digits(&p, 4, &y) != 0 || *p++ != '-' ||
	    clock_digits(&p, 2, &mo) != 0 || *p++ != '-' ||
	    clock_digits(&p, 2, &d) != 0)
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (clock_digits(&p, 2, &h) != 0 || *p++ != ':' ||
		    clock_digits(&p, 2, &mi) != 0)
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (clock_digits(&p, 2, &sec) != 0)
				return -EINVAL;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					return -EINVAL;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (clock_digits(&p, 2, &oh) != 0)
				return -EINVAL;
			if (*p == ':')
				p++;
			if (clock_digits(&p, 2, &om) != 0)
				return -EINVAL;
			if (oh > 23 || om > 59)
				return -EINVAL;
		}
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > clock_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - sign * (oh * 3600 + om * 60);
	return 0;
}

void
clock_format_iso(time_t t, char *out)
{
	struct tm tm;

	/* Past year 9999 there is no room: the latest time the form holds,
	 * so that the text still sorts after every earlier time. */
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, CLOCK_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		memcpy(out, "9999-12-31T23:59:59Z", CLOCK_ISO_LEN);
}

/* The RFC 5322 form is a protocol's, in English whatever the language. */
static void
clock_format_rfc5322(time_t t, char *out, size_t size)
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0 &&
	    size > 0)
		out[0] = '\0';
}

/*
 * The ICU pattern of style in language into pat. English and Welsh have
 * the house forms ("Thursday 7 December 2026, 09:30", "Dydd Iau 7
 * Rhagfyr 2026, 09:30": day, date, month, year, then the 24-hour time
 * both use); any other language gets the form CLDR gives for the same
 * fields.
 */
static int
clock_pattern(enum clock_style style, const char *locale, bool house,
    UChar *pat, int32_t cap)
{
	static const char *const house_forms[] = {
		[CLOCK_LONG] = "EEEE d MMMM y, HH:mm",
		[CLOCK_DATE] = "EEEE d MMMM y",
		[CLOCK_TIME] = "HH:mm",
		[CLOCK_SHORT] = "d MMM",
		[CLOCK_WEEKDAY] = "EEEE",
		[CLOCK_DAY] = "d MMMM y",
	};
	static const char *const skeletons[] = {
		[CLOCK_LONG] = "EEEEdMMMMyHHmm",
		[CLOCK_DATE] = "EEEEdMMMMy",
		[CLOCK_TIME] = "HHmm",
		[CLOCK_SHORT] = "dMMM",
		[CLOCK_WEEKDAY] = "EEEE",
		[CLOCK_DAY] = "dMMMMy",
	};
	UErrorCode e = U_ZERO_ERROR;
	UDateTimePatternGenerator *gen;
	UChar skel[32];
	int32_t n;

	if (house) {
		u_uastrncpy(pat, house_forms[style], cap);
		return 0;
	}
	gen = udatpg_open(locale, &e);
	if (U_FAILURE(e))
		return -EINVAL;
	u_uastrncpy(skel, skeletons[style], 32);
	n = udatpg_getBestPattern(gen, skel, -1, pat, cap, &e);
	udatpg_close(gen);
	return U_SUCCESS(e) && n > 0 && n < cap ? 0 : -EINVAL;
}

void
clock_format_local_lang(time_t t, enum clock_style style, const char *language,
    char *out, size_t size)
{
	UErrorCode e = U_ZERO_ERROR;
	char locale[64], primary[LANG_TAG_MAX];
	UChar pat[64], utc[4], text[160];
	UDateFormat *fmt;
	struct tm tm;
	int32_t n, len = 0;
	bool house;

	if (size == 0)
		return;
	out[0] = '\0';
	if (style == CLOCK_RFC5322) {
		clock_format_rfc5322(t, out, size);
		return;
	}
	if (language == NULL || !lang_tag_valid(language))
		language = "en";
	lang_primary(language, primary);
	house = strcmp(primary, "en") == 0 || strcmp(primary, "cy") == 0;
	lang_locale(language, locale, sizeof(locale));
	if (clock_pattern(style, locale, house, pat, 64) != 0)
		return;
	localtime_r(&t, &tm);
	u_uastrncpy(utc, "UTC", 4);
	fmt =
	    udat_open(UDAT_PATTERN, UDAT_PATTERN, locale, utc, -1, pat, -1, &e);
	if (U_FAILURE(e))
		return;
	/* Day names start a line or follow a comma in our forms: in the
	 * languages whose CLDR names are lower case ("lundi"), a capital. */
	udat_setContext(
	    fmt, UDISPCTX_CAPITALIZATION_FOR_BEGINNING_OF_SENTENCE, &e);
	n = udat_format(fmt, (UDate)timegm(&tm) * 1000.0, text,
	    (int32_t)(sizeof(text) / sizeof(text[0])), NULL, &e);
	udat_close(fmt);
	if (U_FAILURE(e) || n <= 0)
		return;
	u_strToUTF8(out, (int32_t)size, &len, text, n, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING ||
	    (size_t)len >= size)
		out[0] = '\0';
}

void
clock_format_local(time_t t, enum clock_style style, char *out, size_t size)
{
	clock_format_local_lang(t, style, "en", out, size);
}

/* Local midnight-based time: day d of month m (may overflow; mktime
 * normalises) at minute. */
static time_t
clock_local(int year, int mon, int mday, int minute)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year;
	tm.tm_mon = mon;
	tm.tm_mday = mday;
	tm.tm_hour = minute / 60;
	tm.tm_min = minute % 60;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

time_t
clock_last_weekly(time_t t, int wday, int minute)
{
	struct tm tm;
	time_t c;
	int back;

	localtime_r(&t, &tm);
	back = (tm.tm_wday - wday + 7) % 7;
	c = clock_local(tm.tm_year, tm.tm_mon, tm.tm_mday - back, minute);
	if (c > t)
		c = clock_local(
		    tm.tm_year, tm.tm_mon, tm.tm_mday - back - 7, minute);
	return c;
}

time_t
clock_next_weekly(time_t t, int wday, int minute)
{
	struct tm tm;
	time_t last = clock_last_weekly(t, wday, minute);

	localtime_r(&last, &tm);
	/* From the calendar date, not last + 7 days: a week with a
	 * daylight-saving change is not 604800 seconds long. */
	return clock_local(tm.tm_year, tm.tm_mon, tm.tm_mday + 7, minute);
}

time_t
clock_last_monthly(time_t t, int mday, int minute)
{
	struct tm tm;
	time_t c;

	localtime_r(&t, &tm);
	c = clock_local(tm.tm_year, tm.tm_mon, mday, minute);
	if (c > t)
		c = clock_local(tm.tm_year, tm.tm_mon - 1, mday, minute);
	return c;
}

time_t
clock_next_monthly(time_t t, int mday, int minute)
{
	struct tm tm;
	time_t last = clock_last_monthly(t, mday, minute);

	localtime_r(&last, &tm);
	return clock_local(tm.tm_year, tm.tm_mon + 1, mday, minute);
}

void
clock_week_id(time_t t, char *out, size_t size)
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(out, size, "%G-W%V", &tm) == 0 && size > 0)
		out[0] = '\0';
}

void
clock_month_id(time_t t, char *out, size_t size)
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(out, size, "%Y-%m", &tm) == 0 && size > 0)
		out[0] = '\0';
}
