/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * migrate: see migrate.h. A step, once released, is never edited: a
 * change is a new step at the end of the list.
 */
#include "config.h"

#include "migrate.h"

#include <errno.h>
#include <stdio.h>

#include "db.h"
#include "log.h"
#include "util.h"

static const char migrate_v1[] =
    /* The integration contract: names and meaning are fixed. */
    "CREATE TABLE IF NOT EXISTS courses ("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL,"
    "  starts_at TEXT NOT NULL,"
    "  ends_at TEXT,"
    "  venue TEXT NOT NULL,"
    "  address TEXT,"
    "  joining_url TEXT,"
    "  notes TEXT,"
    "  status TEXT NOT NULL DEFAULT 'scheduled'"
    "    CHECK (status IN ('scheduled','cancelled')));"
    "CREATE TABLE IF NOT EXISTS delegates ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  first_name TEXT NOT NULL,"
    "  last_name TEXT,"
    "  organisation TEXT);"
    "CREATE TABLE IF NOT EXISTS bookings ("
    "  id INTEGER PRIMARY KEY,"
    "  course_id INTEGER NOT NULL REFERENCES courses(id),"
    "  delegate_id INTEGER NOT NULL REFERENCES delegates(id),"
    "  reference TEXT NOT NULL UNIQUE,"
    "  status TEXT NOT NULL DEFAULT 'confirmed'"
    "    CHECK (status IN ('confirmed','cancelled')),"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS subscribers ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  name TEXT,"
    "  status TEXT NOT NULL DEFAULT 'active'"
    "    CHECK (status IN ('pending','active','unsubscribed')),"
    "  frequency TEXT NOT NULL DEFAULT 'weekly'"
    "    CHECK (frequency IN ('weekly','monthly')),"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS posts ("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL,"
    "  url TEXT NOT NULL UNIQUE,"
    "  author TEXT,"
    "  summary TEXT,"
    "  published_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS fm_bookings_course ON bookings(course_id);"
    "CREATE INDEX IF NOT EXISTS fm_bookings_delegate "
    "  ON bookings(delegate_id);"
    /* The outbox: one row per message to one recipient. 'deferred' is
     * state queued with attempts > 0 and a later next_attempt_at;
     * 'cancelled' is a message whose reason went away before it was
     * sent (a booking cancelled before its confirmation went out). */
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY,"
    "  dedupe_key TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL,"
    "  recipient TEXT NOT NULL COLLATE NOCASE,"
    "  booking_id INTEGER,"
    "  course_id INTEGER,"
    "  subscriber_id INTEGER,"
    "  detail TEXT,"
    "  state TEXT NOT NULL DEFAULT 'queued'"
    "    CHECK (state IN ('queued','sending','sent','failed',"
    "                     'suppressed','cancelled')),"
    "  verp_token TEXT NOT NULL UNIQUE"
    "    DEFAULT (lower(hex(randomblob(8)))),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL,"
    "  next_attempt_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL,"
    "  sent_at TEXT,"
    "  message_id TEXT,"
    "  smtp_code INTEGER,"
    "  smtp_reply TEXT,"
    "  last_error TEXT);"
    "CREATE INDEX messages_due ON messages(next_attempt_at)"
    "  WHERE state = 'queued';"
    "CREATE INDEX messages_booking ON messages(booking_id);"
    "CREATE INDEX messages_subscriber ON messages(subscriber_id);"
    "CREATE INDEX messages_recipient ON messages(recipient);"
    "CREATE INDEX messages_state_kind ON messages(state, kind);"
    "CREATE TABLE suppressions ("
    "  email TEXT PRIMARY KEY COLLATE NOCASE,"
    "  reason TEXT NOT NULL CHECK (reason IN ('hard_bounce',"
    "    'soft_bounces','unsubscribe','complaint','manual')),"
    "  detail TEXT,"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE bounces ("
    "  id INTEGER PRIMARY KEY,"
    "  message_id INTEGER REFERENCES messages(id),"
    "  recipient TEXT COLLATE NOCASE,"
    "  status TEXT,"
    "  action TEXT,"
    "  class TEXT CHECK (class IN ('hard','soft')),"
    "  reason TEXT,"
    "  kind TEXT NOT NULL,"
    "  diagnostic TEXT,"
    "  source TEXT,"
    "  received_at TEXT NOT NULL);"
    "CREATE INDEX bounces_recipient ON bounces(recipient, received_at);"
    "CREATE INDEX bounces_message ON bounces(message_id);"
    /* One row per digest period of a frequency: which posts it holds
     * (published after since, up to until) and how far enqueueing
     * got, so that a digest interrupted half-way finishes after a
     * restart and a period is never sent twice. */
    "CREATE TABLE digests ("
    "  id INTEGER PRIMARY KEY,"
    "  frequency TEXT NOT NULL CHECK (frequency IN ('weekly','monthly')),"
    "  period TEXT NOT NULL,"
    "  scheduled_at TEXT NOT NULL,"
    "  since TEXT NOT NULL,"
    "  until TEXT NOT NULL,"
    "  post_count INTEGER NOT NULL,"
    "  state TEXT NOT NULL"
    "    CHECK (state IN ('enqueuing','enqueued','empty')),"
    "  cursor INTEGER NOT NULL DEFAULT 0,"
    "  recipients INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL,"
    "  finished_at TEXT,"
    "  UNIQUE (frequency, period));"
    "CREATE INDEX IF NOT EXISTS fm_posts_published"
    "  ON posts(published_at);"
    "CREATE INDEX IF NOT EXISTS fm_subscribers_frequency"
    "  ON subscribers(frequency, status, id);"
    "CREATE TABLE job_runs ("
    "  job TEXT PRIMARY KEY,"
    "  last_run_at TEXT,"
    "  last_period TEXT,"
    "  next_run_at TEXT,"
    "  detail TEXT);";

/* The bounce reader asks, for every message in the mailbox, whether a
 * row already came from it (bounce_apply_seen()): without an index
 * that is a scan of the whole table per message. */
static const char migrate_v2[] =
    "CREATE INDEX bounces_source ON bounces(source);";

/*
 * Enqueueing a big digest maintained every index of messages for each
 * row. Three of them go: messages_subscriber, which no query uses;
 * messages_recipient, which only the bounce reader's last fallback (a
 * bounce with neither VERP token nor Message-ID, matched to the
 * recipient's last sent message) searches, so it now holds sent
 * messages only and costs nothing at enqueue time; and messages_booking,
 * which now leaves out the messages that name no booking (digests).
 *
 * A digest also records which posts it considered, so that a post
 * added after the previous digest was opened but dated before it (a
 * late or backdated post) goes into the next one instead of being
 * skipped: last_post_id is the highest posts.id when the digest was
 * opened, prev_post_id and late_since are the previous digest's
 * last_post_id and since (NULL for the first digest and for digests
 * opened before this step). The view digest_posts is the one statement
 * of which posts a digest holds:
 *   - posts that existed when it was opened (id <= last_post_id) and
 *     were published no later than its until, and
 *   - published after its since, or else added after the previous
 *     digest was opened (id > prev_post_id) and published after the
 *     previous digest's since (what it would have held).
 * So a post goes into one digest of a frequency at most.
 */
static const char migrate_v3[] =
    "DROP INDEX messages_subscriber;"
    "DROP INDEX messages_recipient;"
    "CREATE INDEX messages_recipient_sent ON messages(recipient)"
    "  WHERE state = 'sent';"
    "DROP INDEX messages_booking;"
    "CREATE INDEX messages_booking ON messages(booking_id)"
    "  WHERE booking_id IS NOT NULL;"
    "ALTER TABLE digests ADD COLUMN last_post_id INTEGER;"
    "ALTER TABLE digests ADD COLUMN prev_post_id INTEGER;"
    "ALTER TABLE digests ADD COLUMN late_since TEXT;"
    "CREATE VIEW digest_posts AS"
    "  SELECT g.id AS digest_id, p.id AS post_id"
    "  FROM digests g JOIN posts p"
    "  ON unixepoch(p.published_at) <= unixepoch(g.until)"
    "  AND (g.last_post_id IS NULL OR p.id <= g.last_post_id)"
    "  AND (unixepoch(p.published_at) > unixepoch(g.since)"
    "    OR (p.id > g.prev_post_id"
    "      AND unixepoch(p.published_at) > unixepoch(g.late_since)));";

/*
 * Sending, not enqueueing, is where an index costs most: each commit
 * of outcomes writes every page it touched to the WAL, and the sender
 * commits often (a connection does not end its next message until the
 * last one's outcome is committed). Two indexes changed with every
 * message sent: messages_state_kind (state moves queued, sending, sent)
 * and messages_recipient_sent (a sent message enters it, at a random
 * place). Together they doubled the pages of a commit. Both go; the
 * bounce reader's fallback gets an index on recipient again, whose
 * entries are written once, in the big transaction of an enqueue, and
 * never change. Counting messages by state (status, metrics) was a
 * scan of the whole index and is now a scan of the table.
 */
static const char migrate_v4[] =
    "DROP INDEX messages_state_kind;"
    "DROP INDEX messages_recipient_sent;"
    "CREATE INDEX messages_recipient ON messages(recipient);";

/*
 * What each delegate was last told about their course, one row per
 * booking (job_change.c keeps it): the time, place and joining link of
 * the last message that told them, so that a change is noticed and
 * described; and the booking's calendar entry, whose UID never changes
 * and whose SEQUENCE was raised at each change notice. changed_at is
 * when the course was first seen to differ from what they were told
 * (the start of the window that gathers edits into one notice), NULL
 * when it does not; notice_id the change notice that told them these
 * details, while it may still not go (an edit undone before it is
 * sent cancels it, and they then still know the notice's previous).
 */
static const char migrate_v5[] =
    "CREATE TABLE booking_told ("
    "  booking_id INTEGER PRIMARY KEY,"
    "  uid TEXT NOT NULL,"
    "  sequence INTEGER NOT NULL DEFAULT 0,"
    "  starts_at TEXT NOT NULL,"
    "  ends_at TEXT,"
    "  venue TEXT,"
    "  address TEXT,"
    "  joining_url TEXT,"
    "  told_at TEXT NOT NULL,"
    "  changed_at TEXT,"
    "  notice_id INTEGER);"
    "CREATE INDEX booking_told_changed ON booking_told(changed_at)"
    "  WHERE changed_at IS NOT NULL;";

static const char *const migrate_steps[] = {
	migrate_v1,
	migrate_v2,
	migrate_v3,
	migrate_v4,
	migrate_v5,
};

int
migrate_latest(void)
{
	return (int)UTIL_ARRAY_LEN(migrate_steps);
}

int
migrate_version(sqlite3 *db)
{
	int64_t v = db_scalar(db, "PRAGMA user_version");

	return v < 0 ? -EIO : (int)v;
}

int
migrate_run(sqlite3 *db)
{
	return migrate_run_to(db, migrate_latest());
}

int
migrate_run_to(sqlite3 *db, int target)
{
	char sql[64];
	int version, ret, applied = 0;

	if (target < 0 || target > migrate_latest())
		return -EINVAL;
	version = migrate_version(db);
	if (version < 0)
		return version;
	if (version > migrate_latest()) {
		log_warnx("migrate refused version=%d latest=%d: the database "
			  "is newer than this familymail",
		    version, migrate_latest());
		return -EPROTO;
	}
	while (version < target) {
		ret = db_begin(db);
		if (ret == 0)
			ret = db_exec(db, migrate_steps[version]);
		(void)snprintf(
		    sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if (ret == 0)
			ret = db_exec(db, sql);
		if (ret == 0)
			ret = db_commit(db);
		if (ret != 0) {
			db_rollback(db);
			log_warnx("migrate failed step=%d", version + 1);
			return ret;
		}
		version++;
		applied++;
		log_info("migrate applied version=%d", version);
	}
	return applied;
}
