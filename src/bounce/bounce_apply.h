/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_apply: the one place that decides what a failure changes in the
 * database, whichever way it came: a report read from the bounce mailbox
 * (bounce_apply()) or a recipient refused at send time
 * (bounce_apply_refusal(), called by the sender). Both classify with
 * bounce_classify() (bounce.h) and then, per failure:
 *
 * - record a row of bounces, against the message it answers;
 * - a hard bounce puts the address on the suppression list at once;
 * - a soft bounce suppresses once the address had soft_limit soft
 *   bounces within soft_window. One count for both ways in: rows of
 *   class soft that answer one of our messages, leaving out delays
 *   (Action: delayed: the message may still be delivered) and
 *   failures about the sender (sender_side: our authentication, our
 *   IP on a blocklist, relaying or the relay's policy or rate limit),
 *   which say nothing about the address;
 * - an abuse report (ARF, or an Amazon SES complaint) unsubscribes the
 *   subscriber.
 *
 * Anyone can mail the bounce address, so a report acts only when it
 * answers one of our own messages (its VERP token, or the token that
 * begins our Message-ID, quoted in the returned header), and then only
 * on that message's recipient. A report that answers none of our
 * messages is recorded as unmatched (message_id NULL), logged, and acts
 * on nobody; so are the other addresses a matched report names.
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

#include "bounce/bounce.h"

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
	int unmatched;    /* reports that answer none of our messages */
};

/*
 * Applies report r at time now, in one transaction. source names where
 * it came from and must be unique to that message there (bounce_poll
 * passes "SOURCE KEY"); a report whose source was recorded before
 * changes nothing again. source may be NULL (no such check).
 * Returns 1 when r is a report (bounce, feedback, success DSN) and is
 * now recorded, matched or not: the caller may mark or delete the
 * message; 0 when r is other mail and was left alone; a negative errno
 * when the database failed (then nothing changed). st may be NULL.
 */
int bounce_apply(sqlite3 *db, const struct bounce_report *r, const char *source,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_apply_stats *st);

/* A recipient refused at send time: the relay's reply to one of our
 * messages. Strings are the caller's. */
struct bounce_refusal {
	int64_t message_id;          /* messages.id of the refused message */
	const char *recipient;       /* its envelope recipient */
	int reply_code;              /* 550 */
	const char *reply;           /* "550 5.1.1 <a@b>: User unknown" */
	enum bounce_command command; /* what the reply answered */
};

/*
 * Classifies refusal f (bounce_classify()), records it as a bounce
 * (kind bounce, action failed, source "smtp") received at now, and
 * applies its effects by the rules above. The caller holds the
 * transaction (the sender's, which also records the message's
 * outcome). Adds to *st (may be NULL) and sets *v to the verdict
 * (v may be NULL): with
 * v->sender_side the refusal is about our side (the relay's policy,
 * our authentication, relaying refused), counted against nobody.
 * Returns 0 or a negative errno.
 */
int bounce_apply_refusal(sqlite3 *db, const struct bounce_refusal *f,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_verdict *v, struct bounce_apply_stats *st);

/* The verdict bounce_apply_refusal() gives f, without recording it:
 * for the sender, which must know at once whether a refusal is about
 * our side (and pause the relay) before it commits the outcome. Pure. */
void bounce_classify_refusal(
    const struct bounce_refusal *f, struct bounce_verdict *v);

#endif
