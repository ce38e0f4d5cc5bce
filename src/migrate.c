/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * migrate: see migrate.h. A step, once released, is never edited: a
 * change is a new step at the end of the list.
 */
#include "config.h"

#include "migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "log.h"
#include "util.h"

/* A column a step adds unless the table has it already. */
struct migrate_column {
	const char *table, *name, *type;
};

/* A step: SQL to run, or columns to add, or both (columns first). */
struct migrate_step {
	const char *sql;
	const struct migrate_column *columns;
};

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
 * Rows of the website's tables that familymail cannot use (a course
 * whose starts_at is not a time, a booking of a course that does not
 * exist), each reported once by table, id and reason, and skipped by
 * the jobs until it is fixed; row_checks keeps how far the checks of
 * the big tables got, so that a pass looks at new rows only.
 */
static const char migrate_v5[] =
    "CREATE TABLE unusable_rows ("
    "  tbl TEXT NOT NULL,"
    "  row_id INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  first_seen TEXT NOT NULL,"
    "  PRIMARY KEY (tbl, row_id)) WITHOUT ROWID;"
    "CREATE TABLE row_checks ("
    "  tbl TEXT PRIMARY KEY,"
    "  checked_id INTEGER NOT NULL) WITHOUT ROWID;";

/*
 * The language of a person or a course (DESIGN "Database", added
 * columns): a BCP 47 tag, NULL for the default. The website may have
 * added them first, with the same names and meaning: a column already
 * there is left as it is.
 */
static const struct migrate_column migrate_v6_columns[] = {
	{ "delegates", "language", "TEXT" },
	{ "subscribers", "language", "TEXT" },
	{ "courses", "language", "TEXT" },
	{ NULL, NULL, NULL },
};

/*
 * One owner for every bounce rule: a bounce row says whether the
 * failure was about the sender (our authentication, our IP on a
 * blocklist, relaying or a relay's policy or rate limit) and what SMTP
 * command the refusal answered. Such rows never count towards
 * suppressing the recipient; rows recorded before this step are marked
 * by their reason.
 */
static const char migrate_v7[] =
    "ALTER TABLE bounces ADD COLUMN sender_side INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE bounces ADD COLUMN command TEXT;"
    "UPDATE bounces SET sender_side = 1 WHERE reason IN ('authfailure',"
    "  'blocked', 'norelaying', 'policyviolation', 'rejected',"
    "  'securityerror', 'speeding', 'toomanyconn');";

/*
 * The history of each address and booking (events.h). Rows are looked
 * up by address and by booking; retention walks them by id, which
 * follows time, so "at" needs no index. message_id has no foreign key:
 * events outlive the messages [retention] purges.
 *
 * A message's "queued" is written by a trigger: the jobs enqueue with
 * INSERT ... SELECT, a whole digest in one statement, and the trigger
 * sees every row of it. The rest are appended by the code that makes
 * the change (events_add()).
 *
 * What messages, bounces and suppressions already hold becomes history
 * too, in the order it happened.
 *
 * The suppression list may hold, for an erased address, only a keyed
 * hash of it (reason 'erased'): the table is rebuilt for the new
 * reason, which its CHECK did not allow.
 */
static const char migrate_v8[] =
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  at TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  address TEXT COLLATE NOCASE,"
    "  booking_id INTEGER,"
    "  message_id INTEGER,"
    "  kind TEXT,"
    "  source TEXT,"
    "  detail TEXT);"
    "CREATE INDEX events_address ON events(address)"
    "  WHERE address IS NOT NULL;"
    "CREATE INDEX events_booking ON events(booking_id)"
    "  WHERE booking_id IS NOT NULL;"
    "INSERT INTO events (at, event, address, booking_id, message_id,"
    "  kind, source, detail)"
    "  SELECT at, event, address, booking_id, message_id, kind, source,"
    "  detail FROM ("
    "    SELECT created_at AS at, 0 AS seq, 'queued' AS event,"
    "    recipient AS address, booking_id, id AS message_id, kind,"
    "    'daemon' AS source, detail FROM messages"
    "  UNION ALL"
    "    SELECT sent_at, 1, 'sent', recipient, booking_id, id, kind,"
    "    'daemon', smtp_reply FROM messages"
    "    WHERE state = 'sent' AND sent_at IS NOT NULL"
    "  UNION ALL"
    "    SELECT updated_at, 1, state, recipient, booking_id, id, kind,"
    "    'daemon', last_error FROM messages"
    "    WHERE state IN ('failed', 'suppressed', 'cancelled')"
    "  UNION ALL"
    "    SELECT updated_at, 1, 'deferred', recipient, booking_id, id,"
    "    kind, 'daemon', last_error FROM messages"
    "    WHERE state = 'queued' AND attempts > 0"
    "  UNION ALL"
    "    SELECT b.received_at, 2,"
    "    CASE b.kind WHEN 'feedback' THEN 'complained'"
    "      WHEN 'delivered' THEN 'delivered' ELSE 'bounced' END,"
    "    coalesce(m.recipient, b.recipient), m.booking_id, b.message_id,"
    "    m.kind, CASE WHEN b.source = 'smtp' THEN 'relay' ELSE 'report'"
    "    END,"
    "    CASE b.kind WHEN 'feedback' THEN 'complaint'"
    "    ELSE coalesce(b.class, '-') || ' ' ||"
    "    coalesce(b.reason, 'undefined') || ' ' || coalesce(b.status, '-')"
    "    || coalesce(' ' || b.diagnostic, '') END ||"
    "    CASE WHEN b.source IS NULL OR b.source = 'smtp' THEN ''"
    "    ELSE ' (report ' || b.source || ')' END"
    "    FROM bounces b LEFT JOIN messages m ON m.id = b.message_id"
    "    WHERE b.recipient IS NOT NULL OR m.recipient IS NOT NULL"
    "  UNION ALL"
    "    SELECT created_at, 3, 'suppressed', email, NULL, NULL, NULL,"
    "    CASE reason WHEN 'manual' THEN 'admin' ELSE 'bounces' END,"
    "    reason || coalesce(': ' || detail, '') FROM suppressions"
    "  ) ORDER BY unixepoch(at), seq, message_id;"
    "CREATE TRIGGER events_queued AFTER INSERT ON messages BEGIN"
    "  INSERT INTO events (at, event, address, booking_id, message_id,"
    "  kind, source, detail) VALUES (NEW.created_at, 'queued',"
    "  NEW.recipient, NEW.booking_id, NEW.id, NEW.kind,"
    "  CASE WHEN NEW.dedupe_key LIKE 'resend:%' THEN 'admin'"
    "  ELSE 'daemon' END, NEW.detail);"
    "  END;"
    "CREATE TABLE suppressions_v8 ("
    "  email TEXT PRIMARY KEY COLLATE NOCASE,"
    "  reason TEXT NOT NULL CHECK (reason IN ('hard_bounce',"
    "    'soft_bounces','unsubscribe','complaint','manual','erased')),"
    "  detail TEXT,"
    "  created_at TEXT NOT NULL);"
    "INSERT INTO suppressions_v8 (email, reason, detail, created_at)"
    "  SELECT email, reason, detail, created_at FROM suppressions;"
    "DROP TABLE suppressions;"
    "ALTER TABLE suppressions_v8 RENAME TO suppressions;";

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
static const char migrate_v9[] =
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

/*
 * Lanes and relays. Mail about a booking is never queued behind list
 * mail: the sender claims each lane on its own, so the index of due
 * messages leads with the lane, (kind = 'blog_digest'), true for the
 * bulk lane; outbox.c repeats the expression, which must stay the same
 * letter for letter for the index to serve it, and kind.c's bulk flag
 * says the same (check_db holds the three together).
 *
 * Each message records the relay that took it ([smtp] or [smtp.NAME]);
 * relays holds what the daemon last knew of each (up, down, throttled,
 * paused, quota spent, and why) for status and /metrics; relay_usage
 * counts the messages each relay took, by minute, for its quota, so
 * that a restart does not forget what was spent.
 */
static const char migrate_v10[] =
    "DROP INDEX messages_due;"
    "CREATE INDEX messages_due"
    "  ON messages(kind = 'blog_digest', next_attempt_at)"
    "  WHERE state = 'queued';"
    "ALTER TABLE messages ADD COLUMN relay TEXT;"
    "CREATE TABLE relays ("
    "  name TEXT PRIMARY KEY,"
    "  position INTEGER NOT NULL,"
    "  state TEXT NOT NULL"
    "    CHECK (state IN ('up','down','throttled','paused','quota')),"
    "  lanes TEXT,"
    "  cause TEXT,"
    "  since TEXT NOT NULL,"
    "  next_try_at TEXT,"
    "  quota INTEGER,"
    "  quota_window INTEGER,"
    "  quota_left INTEGER,"
    "  updated_at TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE relay_usage ("
    "  relay TEXT NOT NULL,"
    "  minute INTEGER NOT NULL,"
    "  sent INTEGER NOT NULL,"
    "  PRIMARY KEY (relay, minute)) WITHOUT ROWID;";

static const struct migrate_step migrate_steps[] = {
	{ .sql = migrate_v1 },
	{ .sql = migrate_v2 },
	{ .sql = migrate_v3 },
	{ .sql = migrate_v4 },
	{ .sql = migrate_v5 },
	{ .columns = migrate_v6_columns },
	{ .sql = migrate_v7 },
	{ .sql = migrate_v8 },
	{ .sql = migrate_v9 },
	{ .sql = migrate_v10 },
};

static int
migrate_add_columns(sqlite3 *db, const struct migrate_column *cols)
{
	sqlite3_stmt *st;
	char *sql;
	int ret, rc;

	ret = db_prepare(db,
	    "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", &st);
	for (; ret == 0 && cols != NULL && cols->table != NULL; cols++) {
		sqlite3_bind_text(st, 1, cols->table, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, cols->name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			ret = db_errno(rc);
			break;
		}
		if (sqlite3_column_int(st, 0) == 0) {
			/* Names from the table above, not from input. */
			sql = xasprintf("ALTER TABLE %s ADD COLUMN %s %s",
			    cols->table, cols->name, cols->type);
			ret = db_exec(db, sql);
			free(sql);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return ret;
}

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
		if (ret == 0 && migrate_steps[version].columns != NULL)
			ret = migrate_add_columns(
			    db, migrate_steps[version].columns);
		if (ret == 0 && migrate_steps[version].sql != NULL)
			ret = db_exec(db, migrate_steps[version].sql);
		(void)snprintf(
		    sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if (ret == 0)
			ret = db_exec(db, sql);
		if (ret == 0)
			ret = db_commit(db);
		if (ret != 0) {
			/* SQLite's words, before the rollback clears them. */
			char *why = xstrdup(sqlite3_errmsg(db));

			db_rollback(db);
			log_warnx(
			    "migrate failed step=%d: %s", version + 1, why);
			free(why);
			return ret;
		}
		version++;
		applied++;
		log_info("migrate applied version=%d", version);
	}
	return applied;
}
