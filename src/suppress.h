/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * suppress: the suppression list, the addresses familymail never mails
 * again, each with why (a hard bounce, repeated soft bounces, an
 * unsubscribe, a complaint, or an administrator's decision) and since
 * when. Addresses compare without regard to case, as the table's
 * COLLATE NOCASE does.
 *
 * An address that was erased (familymail erase) is on the list only as
 * a keyed hash of it, "hmac-sha256:" and 64 hex digits (suppress_hash(),
 * keyed with the [unsubscribe] token secret), reason "erased": never
 * mailed again, and never written down again in clear.
 *
 * Each addition and removal is recorded in the address's history
 * (events.h). The list is consulted when a message is composed
 * (compose.c), so a message queued before its address was suppressed
 * is not sent. This module only keeps the list and decides nothing:
 * which bounces put an address on it is decided in one place,
 * bounce_apply.c (for reports from the bounce mailbox and refusals at
 * send time alike); the administrator adds and removes by hand. It does
 * not change subscribers or messages.
 */
#ifndef FM_SUPPRESS_H
#define FM_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <sqlite3.h>

#include "clock.h"

/* The reasons the suppressions table's CHECK allows; the names are the
 * database values. */
enum suppress_reason {
	SUPPRESS_HARD_BOUNCE,
	SUPPRESS_SOFT_BOUNCES,
	SUPPRESS_UNSUBSCRIBE,
	SUPPRESS_COMPLAINT,
	SUPPRESS_MANUAL,
	SUPPRESS_ERASED, /* the entry is suppress_hash() of the address */
};

/* "hard_bounce", ...; "unknown" for a value outside the enum. */
const char *suppress_reason_name(enum suppress_reason r);
/* The reason named s, or -EINVAL. */
int suppress_reason_parse(const char *s);

/* One entry of the list, as suppress_find() fills it. */
struct suppress_entry {
	char email[256]; /* as first recorded */
	enum suppress_reason reason;
	char *detail; /* owned (suppress_entry_fini()), may be NULL */
	char created_at[CLOCK_ISO_LEN];
};

void suppress_entry_fini(struct suppress_entry *e);

/*
 * Puts email on the list for reason, with detail (a diagnostic, the
 * administrator's note; may be NULL), recorded at now. Returns 0 when
 * added; -EEXIST when the address was already on the list, which is
 * then left as it was (the first reason and time are kept); -EINVAL for
 * an empty address or one over 254 bytes; another negative errno if the
 * database fails. The entry and its history are one change, within the
 * caller's transaction if it holds one.
 */
int suppress_add(sqlite3 *db, const char *email, enum suppress_reason reason,
    const char *detail, time_t now);

/* Takes email off the list. 0, -ENOENT if it was not on it, or another
 * negative errno. */
int suppress_remove(sqlite3 *db, const char *email);

/*
 * Looks email up. Returns 0 and fills *out (when out is not NULL; the
 * caller calls suppress_entry_fini()), -ENOENT when the address is not
 * on the list, or another negative errno.
 */
int suppress_find(sqlite3 *db, const char *email, struct suppress_entry *out);

/* True if email is on the list (false too if the database fails). */
bool suppress_is_listed(sqlite3 *db, const char *email);

#define SUPPRESS_HASH_PREFIX "hmac-sha256:"
#define SUPPRESS_HASH_LEN    (sizeof(SUPPRESS_HASH_PREFIX) - 1 + 64 + 1)

/* Writes the entry that stands for email once it is erased into out:
 * SUPPRESS_HASH_PREFIX and the hex HMAC-SHA256, keyed with secret, of
 * email in lower case (the list compares without regard to case). */
void suppress_hash(const void *secret, size_t secret_len, const char *email,
    char out[SUPPRESS_HASH_LEN]);

/* Looks up the hashed entry of email (suppress_find() of its hash).
 * -ENOENT also when secret is NULL. */
int suppress_find_erased(sqlite3 *db, const void *secret, size_t secret_len,
    const char *email, struct suppress_entry *out);

#endif
