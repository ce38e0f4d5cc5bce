/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * kind: the table of message kinds. A kind is what one message is
 * about and for: its name (also its template folder), what it says to
 * whom, the job that enqueues it, whether it is list mail, when it
 * still applies at send time, and what its templates see beyond the
 * common context of its record. Everything that asks "what kinds are
 * there, and what is this one?" (compose, the daemon's jobs, status,
 * preview, send-test, queue) reads this table; adding a kind is one
 * entry here, its job (job.h) and its templates.
 *
 * It does not read the database: compose gathers the facts (struct
 * kind_facts) from the records and asks the kind what to make of them.
 */
#ifndef FM_KIND_H
#define FM_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

struct cfg;

/* The record a message of the kind is about: its context's base. */
enum kind_about {
	KIND_ABOUT_BOOKING,    /* delegate, course, booking */
	KIND_ABOUT_SUBSCRIBER, /* subscriber, links */
};

/* The records as they are when the message is sent. */
struct kind_facts {
	time_t now;
	const char *detail;   /* the message's detail column, or NULL */
	const char *language; /* the message's language ("en", "cy") */
	bool gone;            /* the record no longer exists: no context */
	/* KIND_ABOUT_BOOKING */
	bool booking_confirmed;
	bool course_scheduled;
	time_t starts_at;
	/* KIND_ABOUT_SUBSCRIBER */
	bool subscriber_active;
	bool subscriber_pending;
	const char *frequency; /* "weekly", "monthly" */
	long post_count;       /* posts in the digest (KIND_POSTS) */
	/* KIND_CHANGES: the course's time, place or joining link differs
	 * from what the delegate was told before (the notice's previous) */
	bool course_changed;
};

/* What compose adds to the base context for a kind. */
#define KIND_POSTS        0x1 /* posts, post_count: the digest detail names */
#define KIND_CONFIRM_LINK 0x2 /* confirm_url */
/* The booking's calendar entry goes with the message (send/calendar.h):
 * the course as it is now (METHOD:REQUEST), or its cancellation. */
#define KIND_CALENDAR        0x4
#define KIND_CALENDAR_CANCEL 0x8
/* previous.*, changed.*: what the delegate was told before (the detail
 * column, or what they were last told) against the course now. */
#define KIND_CHANGES 0x10

struct kind {
	const char *name;    /* "booking_confirmation": the template folder */
	const char *summary; /* one line, for help and status */
	const char *job;     /* the job that enqueues it (job.h) */
	enum kind_about about;
	/* List mail to subscribers: list headers, the bulk lane. Mail
	 * about a booking is never bulk. */
	bool bulk;
	unsigned needs; /* KIND_* flags */
	/* What the detail column holds, for usage text ("offset"), or NULL
	 * when the kind has none. */
	const char *detail;
	/* Whether a message of the kind still goes out given f; the jobs'
	 * rules (DESIGN "The jobs") checked again at send time. */
	bool (*applies)(const struct kind_facts *f);
	/* Adds the names only this kind's templates use; may be NULL. */
	void (*context)(json_t *ctx, const struct kind_facts *f);
};

/* A course's time, place and joining link as the records write them
 * (valid UTF-8; any may be NULL). */
struct kind_course {
	const char *starts_at, *ends_at;
	const char *venue, *address;
	const char *joining_url;
};

/*
 * What makes a course_changed notice: whether the time (starts_at or
 * ends_at, as instants; one that cannot be read counts as none), the
 * place (venue or address) or the joining link differs between was and
 * now, texts compared with white space at the ends trimmed and NULL as
 * "". Notes do not count. Sets the three flags (any may be NULL) and
 * returns whether any is true. The change job and compose both ask
 * this, so that what is enqueued is what is sent.
 */
bool kind_course_differs(const struct kind_course *was,
    const struct kind_course *now, bool *time, bool *place, bool *link);

/* The kind named name, or NULL. */
const struct kind *kind_find(const char *name);

/* The i-th kind, for i < kind_count(), in the table's order. */
const struct kind *kind_at(size_t i);
size_t kind_count(void);

/* The kinds' names, separated by sep ("a, b"), in a static buffer: for
 * "valid kinds are ..." messages. */
const char *kind_names(const char *sep);

/* The detail a message of k gets when none is given (preview,
 * send-test): the configured offset nearest the course for a reminder,
 * NULL when the kind has none or it cannot be guessed. */
const char *kind_default_detail(const struct kind *k, const struct cfg *cfg);

#endif
