/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * suppress: see suppress.h. Each call prepares its one statement: the
 * list changes rarely (a bounce, an administrator), never in a loop
 * that would make that cost count.
 */
#include "config.h"

#include "suppress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "log.h"
#include "token.h"
#include "util.h"

#define SUPPRESS_EMAIL_MAX 254 /* RFC 5321's longest forward path */

static const char *const suppress_names[] = {
	[SUPPRESS_HARD_BOUNCE] = "hard_bounce",
	[SUPPRESS_SOFT_BOUNCES] = "soft_bounces",
	[SUPPRESS_UNSUBSCRIBE] = "unsubscribe",
	[SUPPRESS_COMPLAINT] = "complaint",
	[SUPPRESS_MANUAL] = "manual",
	[SUPPRESS_ERASED] = "erased",
};

/* Who puts an address on the list for a reason, for its history. */
static const char *const suppress_sources[] = {
	[SUPPRESS_HARD_BOUNCE] = "bounces",
	[SUPPRESS_SOFT_BOUNCES] = "bounces",
	[SUPPRESS_UNSUBSCRIBE] = "unsubscribe",
	[SUPPRESS_COMPLAINT] = "bounces",
	[SUPPRESS_MANUAL] = "admin",
	[SUPPRESS_ERASED] = "admin",
};

const char *
suppress_reason_name(enum suppress_reason r)
{
	if ((size_t)r >= UTIL_ARRAY_LEN(suppress_names))
		return "unknown";
	return suppress_names[r];
}

int
suppress_reason_parse(const char *s)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(suppress_names); i++)
		if (strcmp(s, suppress_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

void
suppress_entry_fini(struct suppress_entry *e)
{
	if (e == NULL)
		return;
	free(e->detail);
	e->detail = NULL;
}

static bool
suppress_email_ok(const char *email)
{
	size_t n = email != NULL ? strlen(email) : 0;

	return n > 0 && n <= SUPPRESS_EMAIL_MAX;
}

int
suppress_add(sqlite3 *db, const char *email, enum suppress_reason reason,
    const char *detail, time_t now)
{
	char now_s[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int rc, ret;

	if (!suppress_email_ok(email) ||
	    (size_t)reason >= UTIL_ARRAY_LEN(suppress_names))
		return -EINVAL;
	ret = db_savepoint(db);
	if (ret != 0)
		return ret;
	ret = db_prepare(db,
	    "INSERT INTO suppressions (email, reason, detail, created_at)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (email) DO NOTHING",
	    &st);
	if (ret != 0)
		return db_release(db, ret);
	clock_format_iso(now, now_s);
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, suppress_names[reason], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now_s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		log_warnx("suppress add rcpt=%s error=\"%s\"", email,
		    sqlite3_errmsg(db));
		ret = db_errno(rc);
	} else if (sqlite3_changes(db) == 0) {
		ret = -EEXIST;
	} else {
		log_info("suppress added rcpt=%s reason=%s", email,
		    suppress_names[reason]);
	}
	sqlite3_finalize(st);
	if (ret == 0) {
		char *why = xasprintf("%s%s%s", suppress_names[reason],
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");

		ret = events_add(db, now, EVENTS_SUPPRESSED, email, 0,
		    suppress_sources[reason], why);
		free(why);
	}
	/* -EEXIST changed nothing, and is no failure to undo. */
	if (ret == -EEXIST) {
		ret = db_release(db, 0);
		return ret != 0 ? ret : -EEXIST;
	}
	return db_release(db, ret);
}

int
suppress_remove(sqlite3 *db, const char *email)
{
	sqlite3_stmt *st;
	char *was = NULL;
	int rc, ret;

	if (!suppress_email_ok(email))
		return -ENOENT;
	ret = db_savepoint(db);
	if (ret != 0)
		return ret;
	ret = db_prepare(db,
	    "DELETE FROM suppressions WHERE email = ?1"
	    " RETURNING 'was ' || reason || coalesce(': ' || detail, '')",
	    &st);
	if (ret != 0)
		return db_release(db, ret);
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		was = xstrdup((const char *)sqlite3_column_text(st, 0));
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE) {
		log_warnx("suppress remove rcpt=%s error=\"%s\"", email,
		    sqlite3_errmsg(db));
		ret = db_errno(rc);
	} else if (was == NULL) {
		ret = -ENOENT;
	} else {
		log_info("suppress removed rcpt=%s", email);
	}
	sqlite3_finalize(st);
	if (ret == 0)
		ret = events_add(db, clock_now(), EVENTS_UNSUPPRESSED, email, 0,
		    "admin", was);
	free(was);
	if (ret == -ENOENT) {
		ret = db_release(db, 0);
		return ret != 0 ? ret : -ENOENT;
	}
	return db_release(db, ret);
}

int
suppress_find(sqlite3 *db, const char *email, struct suppress_entry *out)
{
	const unsigned char *s;
	sqlite3_stmt *st;
	int rc, ret, reason;

	if (!suppress_email_ok(email))
		return -ENOENT;
	ret = db_prepare(db,
	    "SELECT email, reason, detail, created_at FROM suppressions"
	    " WHERE email = ?1",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else if (rc != SQLITE_ROW) {
		ret = db_errno(rc);
	} else if (out != NULL) {
		memset(out, 0, sizeof(*out));
		s = sqlite3_column_text(st, 0);
		(void)snprintf(out->email, sizeof(out->email), "%s",
		    s != NULL ? (const char *)s : email);
		s = sqlite3_column_text(st, 1);
		reason =
		    suppress_reason_parse(s != NULL ? (const char *)s : "");
		/* The CHECK constraint allows nothing else. */
		out->reason = reason >= 0 ? (enum suppress_reason)reason
					  : SUPPRESS_MANUAL;
		s = sqlite3_column_text(st, 2);
		out->detail = s != NULL ? xstrdup((const char *)s) : NULL;
		s = sqlite3_column_text(st, 3);
		(void)snprintf(out->created_at, sizeof(out->created_at), "%s",
		    s != NULL ? (const char *)s : "");
	}
	sqlite3_finalize(st);
	return ret;
}

bool
suppress_is_listed(sqlite3 *db, const char *email)
{
	return suppress_find(db, email, NULL) == 0;
}

void
suppress_hash(const void *secret, size_t secret_len, const char *email,
    char out[SUPPRESS_HASH_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[32];
	unsigned int n = 32;
	size_t len = strlen(email), p;
	char *lower = xstrdup(email);

	for (size_t i = 0; i < len; i++)
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	if (token_hmac_sha256(secret, secret_len, lower, len, mac) != 0)
		n = 0;
	free(lower);
	p = strlen(SUPPRESS_HASH_PREFIX);
	memcpy(out, SUPPRESS_HASH_PREFIX, p);
	for (unsigned int i = 0; i < n && p + 2 < SUPPRESS_HASH_LEN; i++) {
		out[p++] = hex[mac[i] >> 4];
		out[p++] = hex[mac[i] & 0xf];
	}
	out[p] = '\0';
}

int
suppress_find_erased(sqlite3 *db, const void *secret, size_t secret_len,
    const char *email, struct suppress_entry *out)
{
	char hash[SUPPRESS_HASH_LEN];

	if (secret == NULL || email == NULL)
		return -ENOENT;
	suppress_hash(secret, secret_len, email, hash);
	return suppress_find(db, hash, out);
}
