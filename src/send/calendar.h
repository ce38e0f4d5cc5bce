/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * calendar: the iCalendar object (RFC 5545) of one booking's course, as
 * an iTIP message (RFC 5546) from the organiser (the sender) to the one
 * attendee (the delegate): METHOD:REQUEST to add or update the entry,
 * METHOD:CANCEL with STATUS:CANCELLED to remove it. Times are written in
 * the configured zone with its VTIMEZONE, so that a calendar shows the
 * course at the local time it was booked for on either side of a clock
 * change. It is written by libical, whose structures stay inside
 * calendar.c.
 *
 * It does not choose the UID or SEQUENCE (the records do: compose.c),
 * read the database or render templates.
 */
#ifndef FM_CALENDAR_H
#define FM_CALENDAR_H

#include <stdint.h>
#include <time.h>

struct buf;

enum calendar_method {
	CALENDAR_REQUEST, /* add the entry, or update it */
	CALENDAR_CANCEL,  /* remove it */
};

/*
 * The entry. Strings are UTF-8 and borrowed; those marked optional may
 * be NULL. Text is written as iCalendar TEXT (line breaks, commas and
 * semicolons escaped, other control characters dropped); names in CN
 * parameters lose their double quotes and line breaks.
 */
struct calendar_entry {
	enum calendar_method method;
	const char *uid;
	long sequence; /* 0 for the first version, raised at each change */
	time_t stamp;  /* DTSTAMP: when the message is made */
	time_t starts;
	time_t ends; /* 0: no DTEND */
	/* A zone of the system's zone database ("Europe/London"): DTSTART
	 * and DTEND are local times in it, with its VTIMEZONE; NULL or
	 * "UTC": UTC times. */
	const char *timezone;
	const char *summary;
	const char *location;    /* optional */
	const char *description; /* optional */
	/* optional: the URL property, left out unless it is an http(s)
	 * URL of printable ASCII */
	const char *url;
	const char *organizer_name; /* optional */
	const char *organizer_addr;
	const char *attendee_name; /* optional */
	const char *attendee_addr;
};

/*
 * The UID of a booking's entry: "booking-ID-REFERENCE@DOMAIN", the
 * reference kept to letters, digits, '.', '-' and '_' (others become
 * '-'), domain the sender's. Made once, when the booking is first seen,
 * and kept with what the delegate was told, so that it outlives a
 * change of sender. Newly allocated.
 */
char *calendar_booking_uid(
    int64_t booking_id, const char *reference, const char *domain);

/* "REQUEST" or "CANCEL", as in METHOD and the MIME type's parameter. */
const char *calendar_method_name(enum calendar_method m);

/*
 * Appends the VCALENDAR of e to out, with CRLF line ends and lines
 * folded at 75 octets. Returns 0; -EINVAL when uid, summary, an address
 * or the start is missing, the uid, an address or the zone is not
 * printable ASCII without spaces, or a time cannot be written; -ENOENT when
 * the zone is not in the zone database; -ENOMEM or -EIO when libical
 * fails. On error out is left as it was. Safe to call from any thread.
 */
int calendar_build(const struct calendar_entry *e, struct buf *out);

#endif
