/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * subscriber: what a subscriber may do with a signed link (token.h):
 * look themselves up, unsubscribe, confirm a pending subscription,
 * switch between the weekly and the monthly digest. The web pages
 * (http_pages.c) and the reader of mail to [unsubscribe] mailto call
 * the same functions, so a link and a mail have the same effect.
 *
 * Unsubscribing sets the subscriber's status to 'unsubscribed' and
 * nothing else: it is not a suppression (that would stop booking
 * confirmations to the same address too), and digests already queued
 * are cancelled at send time because compose.c sends only to active
 * subscribers. It does not render pages or read mail.
 *
 * Each change is recorded in the subscriber's history (events.h) with
 * its source: "one-click" (a mail client's List-Unsubscribe-Post),
 * "page" (the unsubscribe page's button), "preferences" (the
 * preferences page), "mailto" (mail to [unsubscribe] mailto), ...
 */
#ifndef FM_SUBSCRIBER_H
#define FM_SUBSCRIBER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct buf;

/* A subscriber as subscriber_from_token() fills it. */
struct subscriber {
	int64_t id;
	char *email;        /* owned */
	char *name;         /* owned, may be NULL */
	char status[16];    /* "pending", "active" or "unsubscribed" */
	char frequency[16]; /* "weekly" or "monthly" */
	char language[36];  /* as in the row ("cy"), "" when NULL */
};

void subscriber_fini(struct subscriber *s);

/*
 * Finds the subscriber a token names and checks the token against the
 * row for purpose ("unsubscribe", "confirm", "preferences") with the
 * secret. Returns 0 and fills *out (the caller calls subscriber_fini());
 * -EINVAL if token is not a token's shape; -ENOENT if no subscriber has
 * its id or the signature does not match (forged, another purpose, or
 * the address changed since it was made: the caller cannot tell these
 * apart, on purpose); another negative errno if the database fails.
 */
int subscriber_from_token(sqlite3 *db, const void *secret, size_t secret_len,
    const char *purpose, const char *token, struct subscriber *out);

/* Sets status 'unsubscribed', recording source. Returns 1 if it
 * changed, 0 if it already was, or a negative errno (-ENOENT: no such
 * subscriber). */
int subscriber_unsubscribe(sqlite3 *db, int64_t id, const char *source);

/* pending -> active. Returns 1 if it changed, 0 if already active,
 * -EPERM if the subscriber has unsubscribed (a late confirmation does
 * not subscribe them again), or another negative errno. */
int subscriber_confirm(sqlite3 *db, int64_t id, const char *source);

/* Sets the frequency ("weekly" or "monthly", else -EINVAL). Returns 1
 * if it changed, 0 if it already was, or a negative errno. */
int subscriber_set_frequency(
    sqlite3 *db, int64_t id, const char *frequency, const char *source);

/*
 * The whole of an unsubscribe by token, for mail to [unsubscribe]
 * mailto ("unsubscribe TOKEN" in the subject): checks the token for the
 * purpose "unsubscribe" and unsubscribes. Returns 1 if it changed, 0 if
 * the subscriber had already unsubscribed, or subscriber_from_token()'s
 * errors; nothing changes on an error. Logs and records the outcome
 * with source ("mailto").
 */
int subscriber_unsubscribe_token(sqlite3 *db, const void *secret,
    size_t secret_len, const char *token, const char *source);

/* Appends email masked for a page anyone holding the link may see:
 * "sam@example.org" -> "s****@example.org". */
void subscriber_mask_email(const char *email, struct buf *out);

#endif
