/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * calendar: see calendar.h.
 *
 * The VTIMEZONE comes from libical's reading of the system's zone file,
 * cut down (icaltimezone_truncate_vtimezone(), in the form Outlook
 * reads) to the rules in force from the course onwards: a handful of
 * lines, where the zone's whole history since 1847 would be hundreds.
 * Local times are worked out by libical from that same zone, so the
 * times written and the VTIMEZONE sent with them always agree.
 *
 * libical keeps state of its own (its error flag, the zone folder it
 * looks in, temporary buffers, the changes a zone has worked out), so
 * one lock runs one build at a time: booking mail is a few messages a
 * minute, not a digest's thousands, and a build takes well under a
 * millisecond once its zone is known.
 */
#include "config.h"

#include "send/calendar.h"

#include <errno.h>
#include <libical/ical.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

static pthread_mutex_t calendar_lock = PTHREAD_MUTEX_INITIALIZER;

char *
calendar_booking_uid(
    int64_t booking_id, const char *reference, const char *domain)
{
	char *uid = xasprintf("booking-%lld-%s@%s", (long long)booking_id,
	    reference != NULL ? reference : "",
	    domain != NULL && *domain != '\0' ? domain : "localhost");
	char *at = strrchr(uid, '@');

	for (char *p = strchr(uid, '-') + 1; p < at; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
			*p == '_'))
			*p = '-';
	return uid;
}

const char *
calendar_method_name(enum calendar_method m)
{
	return m == CALENDAR_CANCEL ? "CANCEL" : "REQUEST";
}

/* s as iCalendar TEXT wants it before escaping: line breaks as LF,
 * other control characters dropped. */
static char *
calendar_text(const char *s)
{
	struct buf b;

	buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		if (*p == '\r') {
			buf_putc(&b, '\n');
			if (p[1] == '\n')
				p++;
		} else if (*p == '\n' || *p == '\t' ||
		    (*p >= 0x20 && *p != 0x7f))
			buf_putc(&b, (char)*p);
	}
	buf_putc(&b, '\0');
	return buf_take(&b);
}

/* A name for a CN parameter: one line, no double quotes (a quoted
 * parameter value cannot hold them, RFC 5545 3.1). */
static char *
calendar_param(const char *s)
{
	char *t = calendar_text(s);

	for (char *p = t; *p != '\0'; p++)
		if (*p == '"' || *p == '\n' || *p == '\t')
			*p = *p == '"' ? '\'' : ' ';
	return t;
}

static bool
calendar_is_utc(const char *zone)
{
	return zone == NULL || strcmp(zone, "UTC") == 0 ||
	    strcmp(zone, "Etc/UTC") == 0;
}

static void
calendar_add_text(icalcomponent *ev, icalproperty_kind kind, const char *v)
{
	icalproperty *p;
	char *t;

	if (v == NULL || *v == '\0')
		return;
	t = calendar_text(v);
	p = icalproperty_new(kind);
	icalproperty_set_value(p, icalvalue_new_text(t));
	icalcomponent_add_property(ev, p);
	free(t);
}

/* ORGANIZER or ATTENDEE: mailto:addr with CN=name. */
static icalproperty *
calendar_address(icalproperty_kind kind, const char *name, const char *addr)
{
	char *uri = xasprintf("mailto:%s", addr);
	icalproperty *p = icalproperty_new(kind);

	icalproperty_set_value(p, icalvalue_new_caladdress(uri));
	free(uri);
	if (name != NULL && *name != '\0') {
		char *cn = calendar_param(name);

		icalproperty_add_parameter(p, icalparameter_new_cn(cn));
		free(cn);
	}
	return p;
}

/* DTSTART or DTEND at t: local time in zone with TZID, or UTC. */
static icalproperty *
calendar_time(
    icalproperty_kind kind, time_t t, icaltimezone *zone, const char *tzid)
{
	icalproperty *p = icalproperty_new(kind);
	struct icaltimetype tt;

	if (zone == NULL) {
		tt = icaltime_from_timet_with_zone(
		    t, 0, icaltimezone_get_utc_timezone());
		icalproperty_set_value(p, icalvalue_new_datetime(tt));
		return p;
	}
	tt = icaltime_from_timet_with_zone(t, 0, zone);
	/* Written as a local ("floating") value; TZID names its zone. */
	tt.zone = NULL;
	icalproperty_set_value(p, icalvalue_new_datetime(tt));
	icalproperty_add_parameter(p, icalparameter_new_tzid(tzid));
	return p;
}

/* What makes two observances of a VTIMEZONE the same rule: kind,
 * offsets, name and RRULE, less the RRULE's UNTIL (into *until). NULL
 * for an observance that is not one plain RRULE. */
static char *
calendar_rule_key(icalcomponent *obs, struct icaltimetype *until)
{
	icalproperty *p, *name;
	struct icalrecurrencetype r;
	char *rule, *key;

	p = icalcomponent_get_first_property(obs, ICAL_RRULE_PROPERTY);
	if (p == NULL ||
	    icalcomponent_get_next_property(obs, ICAL_RRULE_PROPERTY) != NULL ||
	    icalcomponent_get_first_property(obs, ICAL_RDATE_PROPERTY) != NULL)
		return NULL;
	r = icalproperty_get_rrule(p);
	*until = r.until;
	r.until = icaltime_null_time();
	rule = icalrecurrencetype_as_string_r(&r);
	if (rule == NULL)
		return NULL;
	name = icalcomponent_get_first_property(obs, ICAL_TZNAME_PROPERTY);
	key = xasprintf("%d %d %d %s %s", (int)icalcomponent_isa(obs),
	    icalcomponent_get_first_property(obs, ICAL_TZOFFSETFROM_PROPERTY) !=
		    NULL
		? icalproperty_get_tzoffsetfrom(
		      icalcomponent_get_first_property(
			  obs, ICAL_TZOFFSETFROM_PROPERTY))
		: 0,
	    icalcomponent_get_first_property(obs, ICAL_TZOFFSETTO_PROPERTY) !=
		    NULL
		? icalproperty_get_tzoffsetto(icalcomponent_get_first_property(
		      obs, ICAL_TZOFFSETTO_PROPERTY))
		: 0,
	    name != NULL ? icalproperty_get_tzname(name) : "", rule);
	free(rule);
	return key;
}

/*
 * Zone files list the transitions up to 2037 and give the rule for the
 * years after apart, so libical writes each rule twice: once with an
 * UNTIL in 2037, once from 2037 on. One rule without UNTIL says the
 * same, in half the lines, and is what simpler readers expect (some
 * refuse an UNTIL in UTC beside a local DTSTART, which RFC 5545 asks
 * for). Joined only when the second starts within a year of the
 * first's UNTIL with the same offsets, name and rule.
 */
static void
calendar_join_rules(icalcomponent *vtz)
{
	icalcomponent *obs[16], *c;
	struct icaltimetype until[16], none;
	char *keys[16];
	size_t n = 0;

	for (c = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT);
	     c != NULL && n < UTIL_ARRAY_LEN(obs);
	     c = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT)) {
		obs[n] = c;
		keys[n] = calendar_rule_key(c, &until[n]);
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		if (keys[i] == NULL || icaltime_is_null_time(until[i]))
			continue;
		for (size_t j = 0; j < n; j++) {
			struct icaltimetype start;
			icalproperty *p;
			struct icalrecurrencetype r;

			if (j == i || obs[j] == NULL || keys[j] == NULL ||
			    !icaltime_is_null_time(until[j]) ||
			    strcmp(keys[i], keys[j]) != 0)
				continue;
			start = icalcomponent_get_dtstart(obs[j]);
			if (start.year < until[i].year ||
			    start.year > until[i].year + 1)
				continue;
			p = icalcomponent_get_first_property(
			    obs[i], ICAL_RRULE_PROPERTY);
			r = icalproperty_get_rrule(p);
			none = icaltime_null_time();
			r.until = none;
			icalproperty_set_rrule(p, r);
			icalcomponent_remove_component(vtz, obs[j]);
			icalcomponent_free(obs[j]);
			obs[j] = NULL;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
}

/* Zones read so far: libical works out a zone's changes from its
 * first year each time a new zone converts a time (milliseconds), so
 * each is read once and kept for the life of the process. */
#define CALENDAR_ZONES 4

static struct {
	char *name;
	icaltimezone *zone;  /* for converting times */
	icalcomponent *full; /* its whole VTIMEZONE */
} calendar_zones[CALENDAR_ZONES];

static int
calendar_zone(const char *tzid)
{
	icalcomponent *full;
	icaltimezone *zone;
	size_t i;

	for (i = 0; i < CALENDAR_ZONES && calendar_zones[i].name != NULL; i++)
		if (strcmp(calendar_zones[i].name, tzid) == 0)
			return (int)i;
	full = icaltzutil_fetch_timezone(tzid);
	if (full == NULL)
		return -ENOENT;
	zone = icaltimezone_new();
	if (zone == NULL ||
	    icaltimezone_set_component(zone, icalcomponent_new_clone(full)) ==
		0) {
		if (zone != NULL)
			icaltimezone_free(zone, 1);
		icalcomponent_free(full);
		return -ENOMEM;
	}
	if (i == CALENDAR_ZONES) {
		/* Only reloads with other zones get here: the last makes
		 * room. */
		i--;
		free(calendar_zones[i].name);
		icaltimezone_free(calendar_zones[i].zone, 1);
		icalcomponent_free(calendar_zones[i].full);
	}
	calendar_zones[i].name = xstrdup(tzid);
	calendar_zones[i].zone = zone;
	calendar_zones[i].full = full;
	return (int)i;
}

/* The zone's VTIMEZONE with TZID tzid, from the rules in force at from
 * onwards, and in *zone the zone for converting times (kept here). NULL
 * with *err when the zone is unknown. */
static icalcomponent *
calendar_vtimezone(const char *tzid, time_t from, icaltimezone **zone, int *err)
{
	icalcomponent *vtz;
	icalproperty *p;
	int i = calendar_zone(tzid);

	*zone = NULL;
	if (i < 0) {
		*err = i;
		return NULL;
	}
	vtz = icalcomponent_new_clone(calendar_zones[i].full);
	icaltimezone_truncate_vtimezone(vtz,
	    icaltime_from_timet_with_zone(
		from, 0, icaltimezone_get_utc_timezone()),
	    icaltime_null_time(), 1);
	calendar_join_rules(vtz);
	/* libical names system zones "/freeassociation.sourceforge.net/
	 * Europe/London"; the plain name is what calendars recognise. */
	p = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
	if (p != NULL)
		icalproperty_set_tzid(p, tzid);
	*zone = calendar_zones[i].zone;
	return vtz;
}

/* Written as they are (URI values are not escaped): printable ASCII
 * without spaces or quotes, so that a value can never end its line. */
static bool
calendar_uri_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '"')
			return false;
	return true;
}

static int
calendar_check(const struct calendar_entry *e)
{
	if (e->uid == NULL || !calendar_uri_ok(e->uid) || e->summary == NULL ||
	    !calendar_uri_ok(e->organizer_addr) ||
	    !calendar_uri_ok(e->attendee_addr) ||
	    (e->timezone != NULL && !calendar_uri_ok(e->timezone)) ||
	    e->starts <= 0 || e->sequence < 0 ||
	    (e->ends != 0 && e->ends < e->starts))
		return -EINVAL;
	return 0;
}

static int
calendar_build_locked(const struct calendar_entry *e, struct buf *out)
{
	icalcomponent *cal = NULL, *ev, *vtz = NULL;
	icaltimezone *zone = NULL;
	const char *tzid = e->timezone;
	icalproperty *p;
	char *prodid, *s;
	int ret = 0;

	icalerror_clear_errno();
	if (!calendar_is_utc(tzid)) {
		/* A day's margin: the rules in force at the start. */
		vtz = calendar_vtimezone(tzid, e->starts - 86400, &zone, &ret);
		if (vtz == NULL)
			return ret;
	}
	cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
	ev = icalcomponent_new(ICAL_VEVENT_COMPONENT);
	if (cal == NULL || ev == NULL) {
		if (ev != NULL)
			icalcomponent_free(ev);
		ret = -ENOMEM;
		goto out;
	}
	prodid = xasprintf(
	    "-//%s//%s %s//EN", PACKAGE_NAME, PACKAGE_NAME, PACKAGE_VERSION);
	icalcomponent_add_property(cal, icalproperty_new_prodid(prodid));
	free(prodid);
	icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
	icalcomponent_add_property(cal,
	    icalproperty_new_method(e->method == CALENDAR_CANCEL
		    ? ICAL_METHOD_CANCEL
		    : ICAL_METHOD_REQUEST));
	if (vtz != NULL) {
		icalcomponent_add_component(cal, vtz);
		vtz = NULL;
	}
	icalcomponent_add_property(ev, icalproperty_new_uid(e->uid));
	icalcomponent_add_property(
	    ev, icalproperty_new_sequence((int)e->sequence));
	icalcomponent_add_property(ev,
	    icalproperty_new_dtstamp(icaltime_from_timet_with_zone(
		e->stamp, 0, icaltimezone_get_utc_timezone())));
	icalcomponent_add_property(
	    ev, calendar_time(ICAL_DTSTART_PROPERTY, e->starts, zone, tzid));
	if (e->ends != 0)
		icalcomponent_add_property(ev,
		    calendar_time(ICAL_DTEND_PROPERTY, e->ends, zone, tzid));
	calendar_add_text(ev, ICAL_SUMMARY_PROPERTY, e->summary);
	calendar_add_text(ev, ICAL_LOCATION_PROPERTY, e->location);
	calendar_add_text(ev, ICAL_DESCRIPTION_PROPERTY, e->description);
	/* A joining link that is not a plain http(s) URL stays in the
	 * description only. */
	if (calendar_uri_ok(e->url) &&
	    (strncmp(e->url, "https://", 8) == 0 ||
		strncmp(e->url, "http://", 7) == 0))
		icalcomponent_add_property(ev, icalproperty_new_url(e->url));
	icalcomponent_add_property(ev,
	    calendar_address(
		ICAL_ORGANIZER_PROPERTY, e->organizer_name, e->organizer_addr));
	/* The delegate booked: the entry is theirs already, and no reply
	 * is asked for. */
	p = calendar_address(
	    ICAL_ATTENDEE_PROPERTY, e->attendee_name, e->attendee_addr);
	icalproperty_add_parameter(
	    p, icalparameter_new_cutype(ICAL_CUTYPE_INDIVIDUAL));
	icalproperty_add_parameter(
	    p, icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
	icalproperty_add_parameter(
	    p, icalparameter_new_partstat(ICAL_PARTSTAT_ACCEPTED));
	icalproperty_add_parameter(p, icalparameter_new_rsvp(ICAL_RSVP_FALSE));
	icalcomponent_add_property(ev, p);
	icalcomponent_add_property(ev,
	    icalproperty_new_status(e->method == CALENDAR_CANCEL
		    ? ICAL_STATUS_CANCELLED
		    : ICAL_STATUS_CONFIRMED));
	icalcomponent_add_property(
	    ev, icalproperty_new_transp(ICAL_TRANSP_OPAQUE));
	icalcomponent_add_component(cal, ev);
	if (icalerrno != ICAL_NO_ERROR) {
		ret = icalerrno == ICAL_NEWFAILED_ERROR ? -ENOMEM : -EINVAL;
		goto out;
	}
	s = icalcomponent_as_ical_string_r(cal);
	if (s == NULL) {
		ret = -EIO;
		goto out;
	}
	buf_puts(out, s);
	free(s);
out:
	if (vtz != NULL)
		icalcomponent_free(vtz);
	if (cal != NULL)
		icalcomponent_free(cal);
	return ret;
}

int
calendar_build(const struct calendar_entry *e, struct buf *out)
{
	int ret = calendar_check(e);

	if (ret != 0)
		return ret;
	pthread_mutex_lock(&calendar_lock);
	ret = calendar_build_locked(e, out);
	pthread_mutex_unlock(&calendar_lock);
	return ret;
}
