/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * testmail: the messages a test's daemon delivered into a Maildir, read
 * back as a mail app reads them (libetpan's parser: recipient, decoded
 * subject, the decoded text, HTML and calendar parts and the .ics
 * attachment); and calendar entries read by python-icalendar
 * (tests/ics_check.py), a parser independent of the libical that wrote
 * them.
 */
#ifndef FM_TESTMAIL_H
#define FM_TESTMAIL_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

struct testmail {
	char *file;    /* its path */
	char *to;      /* the To address */
	char *subject; /* decoded */
	char *text;
	char *html;
	char *calendar;        /* the text/calendar part, or NULL */
	char *calendar_method; /* its method parameter */
	char *attachment;      /* the application/ics attachment, or NULL */
	char *attachment_name; /* its file name */
};

/* Every message in dir (a Maildir's new/) in file name order, *n of
 * them (0 when dir does not exist). Fails the test on a message that
 * does not parse. Free with testmail_free(). */
struct testmail *testmail_read_dir(const char *dir, size_t *n);
void testmail_free(struct testmail *m, size_t n);

/* How many of the n messages go to `to` with a subject that begins with
 * subject (NULL: any); testmail_find() returns the i-th (from 0) or
 * NULL. */
size_t testmail_count(
    const struct testmail *m, size_t n, const char *to, const char *subject);
const struct testmail *testmail_find(const struct testmail *m, size_t n,
    const char *to, const char *subject, size_t i);

/* A python3 that has python-icalendar ($PYTHON3, then Debian's), or
 * NULL; probed once. */
const char *testmail_python(void);

/* Reads each of the n iCalendar texts with tests/ics_check.py (written
 * to files under dir) and returns what it says of each, in order: an
 * array of objects (see ics_check.py). Fails the test if python cannot
 * run or says less than one line a text. */
json_t *testmail_ics_python(const char *dir, const char *const *ics, size_t n);

/* What libical reads in an entry. */
struct testmail_ics {
	char method[16];
	char status[16];
	char *uid;
	int sequence;
	/* DTSTART and DTEND as instants, by the entry's own VTIMEZONE (0
	 * when absent), and DTSTART as written ("20261203T093000"). */
	time_t starts, ends;
	char starts_local[32];
	char tzid[64];
};

/* Reads ics with libical into *out and fails the test unless it is one
 * VCALENDAR holding at most a VTIMEZONE and one VEVENT, with no parse
 * errors, every line folded to 75 octets with CRLF. Free with
 * testmail_ics_fini(). */
void testmail_ics_libical(const char *ics, struct testmail_ics *out);
void testmail_ics_fini(struct testmail_ics *i);

#endif
