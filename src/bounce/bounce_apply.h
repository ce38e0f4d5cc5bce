/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_apply: what a report read from the bounce mailbox changes in
 * the database. Each failed recipient becomes a row of bounces, against
 * the message it answers (found by the VERP token, else the returned
 * Message-ID, else the last message sent to the recipient); a hard
 * bounce puts the address on the suppression list at once, soft bounces
 * once there were soft_limit of them within soft_window (delays, which
 * may still end in delivery, do not count); an abuse report (ARF)
 * unsubscribes the subscriber. A success DSN is recorded, with no
 * effect. Human replies, auto-replies and other mail change nothing.
 *
 * It does not read mailboxes (bounce_source.c) nor parse (bounce.c);
 * every job already skips suppressed addresses when it composes
 * (compose.c), leaving such messages in state suppressed.
 */
#ifndef FM_BOUNCE_APPLY_H
#define FM_BOUNCE_APPLY_H

#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct bounce_report;

struct bounce_apply_rules {
	int soft_limit;      /* soft bounces that suppress (>= 1) */
	int64_t soft_window; /* ... within this many seconds */
	/* [unsubscribe] secret: acts on "unsubscribe TOKEN" mail when set */
	const void *secret;
	size_t secret_len;
};

/* What one call did, added to the caller's counts. */
struct bounce_apply_stats {
	int recorded;     /* rows added to bounces */
	int suppressed;   /* addresses newly suppressed */
	int unsubscribed; /* subscribers unsubscribed by a complaint */
	int duplicates;   /* reports recorded before, skipped */
};

/*
 * Applies report r at time now, in one transaction. source names where
 * it came from and must be unique to that message there (bounce_poll
 * passes "SOURCE KEY"); a report whose source was recorded before
 * changes nothing again. source may be NULL (no such check).
 * Returns 1 when r is a report (bounce, feedback, success DSN) and is
 * now recorded: the caller may mark or delete the message; 0 when r is
 * other mail and was left alone; a negative errno when the database
 * failed (then nothing changed). st may be NULL.
 */
int bounce_apply(sqlite3 *db, const struct bounce_report *r, const char *source,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_apply_stats *st);

#endif
