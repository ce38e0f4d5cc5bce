/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * compose_calendar: the calendar side of composing mail about a
 * booking. It reads what the delegate was last told (the booking_told
 * record that job_change.c keeps: the entry's UID and SEQUENCE, the
 * time, place and link they know), adds the add-to-calendar links to a
 * booking's template context, and builds the booking's calendar entry
 * (send/calendar.h) from that context. Used by compose.c only.
 *
 * The entry's words come from the records and the templates: SUMMARY is
 * the course title, LOCATION its venue and address, DESCRIPTION the
 * partial "calendar_description" rendered as text.
 */
#ifndef FM_COMPOSE_CALENDAR_H
#define FM_COMPOSE_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

struct buf;
struct cfg;
struct tmpl_set;

/* What the delegate of a booking was last told; strings newly
 * allocated (NULL when the column is). */
struct compose_told {
	char *uid;
	long sequence;
	char *starts_at, *ends_at, *venue, *address, *joining_url;
};

/* Reads the booking's record into t: 0, -ENOENT when it has none yet
 * (t is then all zero), -EIO on a database error. */
int compose_calendar_told(
    sqlite3 *db, int64_t booking_id, struct compose_told *t);
void compose_told_fini(struct compose_told *t);

/*
 * Adds calendar.google_url and calendar.outlook_url (links that open a
 * new event of the course in Google Calendar and Outlook.com) to ctx, a
 * booking's context with course.starts_iso set; nothing when it is not.
 */
void compose_calendar_links(json_t *ctx, const struct tmpl_set *tmpls);

/*
 * Builds the booking's entry from ctx (the message's context), for the
 * delegate at recipient: the course as it is (cancel false), or its
 * cancellation. UID and SEQUENCE come from the booking's record (a
 * cancellation raises the SEQUENCE by one); a booking without one yet
 * gets calendar_booking_uid() and SEQUENCE 0. Appends the object to ics
 * and sets *filename to the attachment's name ("title-2026-12-03.ics",
 * newly allocated). Returns 0, or a negative errno with *why (newly
 * allocated) naming the booking.
 */
int compose_calendar_entry(sqlite3 *db, const struct cfg *cfg,
    const struct tmpl_set *tmpls, int64_t booking_id, bool cancel,
    const json_t *ctx, const char *recipient, time_t now, struct buf *ics,
    char **filename, char **why);

#endif
