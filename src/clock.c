/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clock: see clock.h. Formatting uses the C locale's English names, which
 * is what the charity's readers expect; it never calls setlocale().
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

void
clock_format_local(time_t t, enum clock_style style, char *out, size_t size)
{
	struct tm tm;
	size_t n = 0;

	localtime_r(&t, &tm);
	/* Literal formats, so the compiler checks each one. */
	switch (style) {
	case CLOCK_LONG:
		n = strftime(out, size, "%A %-d %B %Y, %H:%M", &tm);
		break;
	case CLOCK_DATE:
		n = strftime(out, size, "%A %-d %B %Y", &tm);
		break;
	case CLOCK_TIME:
		n = strftime(out, size, "%H:%M", &tm);
		break;
	case CLOCK_SHORT:
		n = strftime(out, size, "%-d %b", &tm);
		break;
	case CLOCK_RFC5322:
		n = strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
		break;
	}
	if (n == 0 && size > 0)
		out[0] = '\0';
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
