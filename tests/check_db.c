/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_db: the schema and its migrations, and the outbox: dedupe keys,
 * the state machine, claiming due messages, and recovery after a crash.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>
#include <uv.h>

#include "checkpoint.h"
#include "clock.h"
#include "db.h"
#include "kind.h"
#include "migrate.h"
#include "outbox.h"
#include "send/sentlog.h"
#include "testutil.h"
#include "util.h"

static char *dir;
static sqlite3 *db;
static struct outbox *ob;
static time_t now;

static void
setup(void)
{
	dir = tu_mkdtemp();
	db = tu_db_new(dir);
	ob = outbox_new(db);
	ck_assert_ptr_nonnull(ob);
	clock_parse_iso("2026-12-01T08:00:00Z", &now);
}

static void
teardown(void)
{
	outbox_free(ob);
	db_close(db);
	tu_rmtree(dir);
	free(dir);
}

static int64_t
enqueue(const char *key, const char *rcpt, bool *created)
{
	const struct outbox_entry e = {
		.dedupe_key = key,
		.kind = "booking_confirmation",
		.recipient = rcpt,
		.booking_id = 1,
	};

	ck_assert_int_eq(outbox_enqueue(ob, &e, now, created), 0);
	return sqlite3_last_insert_rowid(db);
}

START_TEST(test_db_migration_creates_the_contract_tables_exactly)
{
	static const char *const cols[] = {
		("courses:id,title,starts_at,ends_at,venue,address,"
		 "joining_url,notes,status,language"),
		"delegates:id,email,first_name,last_name,organisation,language",
		"bookings:id,course_id,delegate_id,reference,status,created_at",
		"subscribers:id,email,name,status,frequency,created_at,language",
		"posts:id,title,url,author,summary,published_at",
	};

	ck_assert_int_eq(migrate_version(db), migrate_latest());
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cols); i++) {
		char *table = xstrdup(cols[i]), *colon = strchr(table, ':');
		char *sql, *got;

		*colon = '\0';
		sql = xasprintf("SELECT group_concat(name, ',') FROM "
				"pragma_table_info('%s')",
		    table);
		got = tu_sql_text(db, sql);
		ck_assert_str_eq(got, colon + 1);
		free(got);
		free(sql);
		free(table);
	}
	ck_assert_int_eq(tu_sql_int(db, "PRAGMA foreign_keys"), 1);
	{
		char *mode = tu_sql_text(db, "PRAGMA journal_mode");

		ck_assert_str_eq(mode, "wal");
		free(mode);
	}
}
END_TEST

/* The website may add the language columns first: the step that adds
 * them leaves them as they are. */
START_TEST(test_db_migration_keeps_language_columns_the_website_added)
{
	char *d = tu_mkdtemp(), *path = xasprintf("%s/web.db", d), *got;
	sqlite3 *w;

	ck_assert_int_eq(db_open(path, true, &w), 0);
	ck_assert_int_eq(migrate_run_to(w, 4), 4);
	tu_sql(w,
	    "ALTER TABLE subscribers ADD COLUMN language TEXT;"
	    "INSERT INTO subscribers (email, status, frequency, created_at,"
	    " language) VALUES ('a@example.org', 'active', 'weekly',"
	    " '2026-01-01T00:00:00Z', 'cy')");
	ck_assert_int_eq(migrate_run(w), migrate_latest() - 4);
	got = tu_sql_text(w, "SELECT language FROM subscribers");
	ck_assert_str_eq(got, "cy");
	free(got);
	ck_assert_int_eq(tu_sql_int(w,
			     "SELECT count(*) FROM"
			     " pragma_table_info('delegates')"
			     " WHERE name = 'language'"),
	    1);
	db_close(w);
	tu_rmtree(d);
	free(path);
	free(d);
}
END_TEST

START_TEST(test_db_migration_is_idempotent_and_keeps_data)
{
	tu_sql(db,
	    "INSERT INTO courses (title, starts_at, venue) VALUES "
	    "('A', '2026-12-07T09:30:00Z', 'Cardiff')");
	ck_assert_int_eq(migrate_run(db), 0);
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM courses"), 1);
}
END_TEST

START_TEST(test_db_migration_accepts_tables_the_website_made_first)
{
	char *d2 = tu_mkdtemp();
	char *path = xasprintf("%s/site.db", d2);
	sqlite3 *site;

	ck_assert_int_eq(db_open(path, true, &site), 0);
	tu_sql(site,
	    "CREATE TABLE courses (id INTEGER PRIMARY KEY, title "
	    "TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT, "
	    "venue TEXT NOT NULL, address TEXT, joining_url TEXT, "
	    "notes TEXT, status TEXT NOT NULL DEFAULT 'scheduled', "
	    "language TEXT);"
	    "INSERT INTO courses (title, starts_at, venue) VALUES "
	    "('Kept', '2026-12-07T09:30:00Z', 'Online');");
	ck_assert_int_eq(migrate_run(site), migrate_latest());
	ck_assert_int_eq(tu_sql_int(site,
			     "SELECT count(*) FROM courses "
			     "WHERE title = 'Kept'"),
	    1);
	db_close(site);
	tu_rmtree(d2);
	free(path);
	free(d2);
}
END_TEST

/* conn answers query from the index named index. */
static void
assert_plan_uses(sqlite3 *conn, const char *query, const char *index)
{
	char *sql = xasprintf("EXPLAIN QUERY PLAN %s", query);
	char *want = xasprintf("INDEX %s", index);
	sqlite3_stmt *st;
	const char *detail;

	ck_assert_int_eq(
	    sqlite3_prepare_v2(conn, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	detail = (const char *)sqlite3_column_text(st, 3);
	ck_assert_msg(detail != NULL && strstr(detail, want) != NULL,
	    "plan of %s: %s", query, detail != NULL ? detail : "(none)");
	sqlite3_finalize(st);
	free(want);
	free(sql);
}

START_TEST(test_db_migration_v2_indexes_bounces_of_a_v1_database)
{
	char *path = xasprintf("%s/v1.db", dir);
	sqlite3 *v1;

	/* A database left at version 1, with a bounce recorded. */
	ck_assert_int_eq(db_open(path, true, &v1), 0);
	ck_assert_int_eq(migrate_run_to(v1, 1), 1);
	tu_sql(v1,
	    "INSERT INTO bounces (kind, source, received_at) VALUES "
	    "('dsn', 'imap:1:2', '2026-11-23T09:00:00Z')");
	ck_assert_int_eq(migrate_run(v1), migrate_latest() - 1);
	ck_assert_int_eq(migrate_version(v1), migrate_latest());
	ck_assert_int_eq(tu_sql_int(v1,
			     "SELECT count(*) FROM bounces "
			     "WHERE source = 'imap:1:2'"),
	    1);
	/* The reader's question is answered from the index. */
	assert_plan_uses(v1,
	    "SELECT 1 FROM bounces WHERE source = 'imap:1:2' LIMIT 1",
	    "bounces_source");
	db_close(v1);
	free(path);
}
END_TEST

/* Version 4: sending a message (state queued, sending, sent) changes
 * no index but messages_due, and the bounce reader's fallback still
 * finds a recipient's last sent message from an index. */
START_TEST(test_db_migration_v4_keeps_state_changes_out_of_the_indexes)
{
	char *path = xasprintf("%s/v3.db", dir);
	char *names;
	sqlite3 *v3;

	ck_assert_int_eq(db_open(path, true, &v3), 0);
	ck_assert_int_eq(migrate_run_to(v3, 3), 3);
	tu_sql(v3,
	    "INSERT INTO messages (dedupe_key, kind, recipient, state,"
	    " created_at, next_attempt_at, updated_at) VALUES"
	    " ('k1', 'blog_digest', 'ann@example.net', 'sent',"
	    " '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z',"
	    " '2026-11-23T09:00:00Z')");
	ck_assert_int_eq(migrate_run(v3), migrate_latest() - 3);
	names = tu_sql_text(v3,
	    "SELECT group_concat(name, ' ') FROM (SELECT name FROM"
	    " sqlite_master WHERE type = 'index' AND tbl_name = 'messages'"
	    " AND sql IS NOT NULL ORDER BY name)");
	ck_assert_str_eq(
	    names, "messages_booking messages_due messages_recipient");
	free(names);
	assert_plan_uses(v3,
	    "SELECT id FROM messages WHERE recipient = 'ann@example.net'"
	    " AND state = 'sent' ORDER BY id DESC LIMIT 1",
	    "messages_recipient");
	ck_assert_int_eq(
	    tu_sql_int(v3,
		"SELECT count(*) FROM messages WHERE"
		" recipient = 'ann@example.net' AND state = 'sent'"),
	    1);
	db_close(v3);
	free(path);
}
END_TEST

/* The sent log after a crash: the acceptances it records mark their
 * messages sent, with the relay's reply; a message committed before the
 * crash is left as it is; a line cut short is ignored and a bad one
 * reported by file and line without stopping the others; the files go. */
START_TEST(test_sentlog_replay_marks_logged_acceptances_sent)
{
	char *dbpath = xasprintf("%s/familymail.db", dir);
	char *p0 = sentlog_path(dbpath, 0), *p1 = sentlog_path(dbpath, 7);
	char *p2 = sentlog_path(dbpath, 8);
	char *errpath = xasprintf("%s/stderr", dir), *err, *row;
	int64_t id[4];
	time_t when = now + 30;
	int fd, held, saved;

	for (int i = 0; i < 4; i++) {
		char key[16];

		(void)snprintf(key, sizeof(key), "k%d", i);
		id[i] = enqueue(key, "ann@example.net", NULL);
	}
	tu_sql(db, "UPDATE messages SET state = 'sending'");
	/* id[2] was committed as sent before the crash. */
	tu_sql(db,
	    "UPDATE messages SET state = 'sent', smtp_reply = 'first'"
	    " WHERE id = 3");
	ck_assert_int_eq(id[2], 3);

	fd = sentlog_open(p0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(sentlog_append(fd, id[0], when, 250, "a1@example.org",
			     "smtp.backup", "250 2.0.0 Ok: queued as A1\r\n"),
	    0);
	ck_assert_int_gt(
	    sentlog_append(fd, id[2], when, 250, NULL, NULL, "250 again"), 0);
	close(fd);
	fd = sentlog_open(p1);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x y z\n", 6), 6);
	ck_assert_int_gt(sentlog_append(fd, id[1], when, 251, "a2@example.org",
			     NULL, "251 forwarded"),
	    0);
	/* Cut short by the crash: no end of line. */
	ck_assert_int_eq(write(fd, "4 1795000000 250 - 250 Ok", 25), 25);
	close(fd);
	/* A daemon still running on the database holds its log. */
	held = sentlog_open(p2);
	ck_assert_int_ge(held, 0);
	ck_assert_int_gt(
	    sentlog_append(held, id[3], when, 250, NULL, NULL, "250"), 0);

	(void)fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	ck_assert_int_eq(sentlog_replay(dbpath, db, ob), 2);
	(void)fflush(stderr);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);

	row = tu_sql_text(db,
	    "SELECT group_concat(id || ' ' || state || ' ' ||"
	    " coalesce(smtp_code, '-') || ' ' || coalesce(smtp_reply, '-') ||"
	    " ' ' || coalesce(message_id, '-') || ' ' ||"
	    " coalesce(sent_at, '-') || ' ' || coalesce(relay, '-'), '|')"
	    " FROM (SELECT * FROM messages ORDER BY id)");
	ck_assert_str_eq(row,
	    "1 sent 250 250 2.0.0 Ok: queued as A1?? a1@example.org "
	    "2026-12-01T08:00:30Z smtp.backup|"
	    "2 sent 251 251 forwarded a2@example.org 2026-12-01T08:00:30Z -|"
	    "3 sent - first - - -|"
	    "4 sending - - - - -");
	free(row);
	err = tu_read_file(errpath, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "familymail.db-sent-") != NULL &&
		strstr(err, "-7:1: not a sent-log line") != NULL,
	    "stderr: %s", err);
	ck_assert_msg(
	    strstr(err, "-8: in use by a running familymaild") != NULL,
	    "stderr: %s", err);
	free(err);
	ck_assert_int_ne(access(p0, F_OK), 0);
	ck_assert_int_ne(access(p1, F_OK), 0);
	ck_assert_int_eq(access(p2, F_OK), 0);
	/* Once that daemon is gone, its log is read in turn. */
	close(held);
	ck_assert_int_eq(sentlog_replay(dbpath, db, ob), 1);
	ck_assert_int_ne(access(p2, F_OK), 0);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE"
			     " state = 'sent'"),
	    4);
	/* Nothing left: nothing to do. */
	ck_assert_int_eq(sentlog_replay(dbpath, db, ob), 0);
	free(p0);
	free(p1);
	free(p2);
	free(errpath);
	free(dbpath);
}
END_TEST

START_TEST(test_db_migration_refuses_a_newer_database)
{
	tu_sql(db, "PRAGMA user_version = 999");
	ck_assert_int_eq(migrate_run(db), -EPROTO);
}
END_TEST

START_TEST(test_outbox_keeps_one_message_per_dedupe_key)
{
	bool created;

	enqueue("confirm:booking:42", "a@example.org", &created);
	ck_assert(created);
	for (int i = 0; i < 5; i++) {
		enqueue("confirm:booking:42", "a@example.org", &created);
		ck_assert(!created);
	}
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM messages"), 1);
	enqueue("confirm:booking:43", "b@example.org", &created);
	ck_assert(created);
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM messages"), 2);
}
END_TEST

START_TEST(test_outbox_gives_each_message_its_own_verp_token)
{
	enqueue("k1", "a@example.org", NULL);
	enqueue("k2", "b@example.org", NULL);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(DISTINCT verp_token) "
			     "FROM messages WHERE "
			     "length(verp_token) = 16"),
	    2);
}
END_TEST

START_TEST(test_outbox_claims_due_messages_oldest_first)
{
	struct outbox_item **items;
	size_t n;
	int64_t a, b;

	a = enqueue("k1", "a@example.org", NULL);
	b = enqueue("k2", "b@example.org", NULL);
	ck_assert_int_eq(
	    outbox_claim(ob, now, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(items[0]->id, a);
	ck_assert_int_eq(items[1]->id, b);
	ck_assert_str_eq(items[0]->recipient, "a@example.org");
	ck_assert_int_eq(items[0]->attempts, 1);
	for (size_t i = 0; i < n; i++)
		outbox_item_free(items[i]);
	free(items);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE "
			     "state = 'sending' AND attempts = 1"),
	    2);
	ck_assert_int_eq(
	    outbox_claim(ob, now, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(items);
}
END_TEST

START_TEST(test_outbox_defers_until_next_attempt_time)
{
	struct outbox_item **items;
	const struct outbox_update u = {
		.next_attempt_at = now + 600,
		.smtp_code = 451,
		.smtp_reply = "451 4.3.0 try later",
		.error = "deferred",
	};
	size_t n;
	time_t due;
	int64_t id = enqueue("k1", "a@example.org", NULL);

	ck_assert_int_eq(
	    outbox_claim(ob, now, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	outbox_item_free(items[0]);
	free(items);
	ck_assert_int_eq(
	    outbox_transition(ob, id, OUTBOX_SENDING, OUTBOX_QUEUED, now, &u),
	    0);
	ck_assert_int_eq(
	    outbox_claim(ob, now + 599, OUTBOX_LANE_BOOKING, 10, &items, &n),
	    0);
	ck_assert_uint_eq(n, 0);
	free(items);
	ck_assert_int_eq(outbox_next_due(ob, OUTBOX_LANE_BOOKING, &due), 0);
	ck_assert_int_eq(due, now + 600);
	ck_assert_int_eq(
	    outbox_claim(ob, now + 600, OUTBOX_LANE_BOOKING, 10, &items, &n),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(items[0]->attempts, 2);
	outbox_item_free(items[0]);
	free(items);
	ck_assert_int_eq(tu_sql_int(db, "SELECT smtp_code FROM messages"), 451);
}
END_TEST

START_TEST(test_outbox_refuses_transitions_the_machine_lacks)
{
	int64_t id = enqueue("k1", "a@example.org", NULL);

	ck_assert_int_eq(
	    outbox_transition(ob, id, OUTBOX_QUEUED, OUTBOX_SENT, now, NULL),
	    -EINVAL);
	ck_assert_int_eq(
	    outbox_transition(ob, id, OUTBOX_SENDING, OUTBOX_SENT, now, NULL),
	    -ESTALE);
	ck_assert_int_eq(
	    outbox_transition(ob, id, OUTBOX_QUEUED, OUTBOX_SENDING, now, NULL),
	    0);
	ck_assert_int_eq(
	    outbox_transition(ob, id, OUTBOX_SENDING, OUTBOX_SENT, now, NULL),
	    0);
	ck_assert_int_eq(
	    outbox_transition(ob, id, OUTBOX_SENT, OUTBOX_QUEUED, now, NULL),
	    -EINVAL);
	{
		char *st = tu_sql_text(db,
		    "SELECT state || ' ' || "
		    "(sent_at IS NOT NULL) FROM "
		    "messages");

		ck_assert_str_eq(st, "sent 1");
		free(st);
	}
}
END_TEST

START_TEST(test_outbox_requeues_sending_after_crash)
{
	struct outbox_item **items;
	size_t n;

	enqueue("k1", "a@example.org", NULL);
	enqueue("k2", "b@example.org", NULL);
	ck_assert_int_eq(
	    outbox_claim(ob, now, OUTBOX_LANE_BOOKING, 1, &items, &n), 0);
	ck_assert_uint_eq(n, 1);
	outbox_item_free(items[0]);
	free(items);
	/* The process dies here; the next start recovers. */
	ck_assert_int_eq(outbox_requeue_sending(ob, now + 60), 1);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE "
			     "state = 'queued'"),
	    2);
	ck_assert_int_eq(
	    outbox_claim(ob, now + 60, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++)
		outbox_item_free(items[i]);
	free(items);
}
END_TEST

static int64_t
enqueue_kind(const char *key, const char *kind, time_t when)
{
	const struct outbox_entry e = {
		.dedupe_key = key,
		.kind = kind,
		.recipient = "ann@example.net",
		.subscriber_id = 1,
		.not_before = when,
	};

	ck_assert_int_eq(outbox_enqueue(ob, &e, now, NULL), 0);
	return sqlite3_last_insert_rowid(db);
}

/* A digest of thousands queued first does not hold up a confirmation
 * queued after it: each lane is claimed on its own, oldest first. */
/* Due first, claimed first, whatever order the rows were written in; a
 * claim of fewer than are due takes the earliest. */
START_TEST(test_outbox_claims_in_order_of_due_time_not_of_id)
{
	struct outbox_item **items;
	int64_t a, b, c;
	size_t n;

	a = enqueue_kind("o1", "booking_confirmation", now + 10);
	b = enqueue_kind("o2", "booking_confirmation", now + 5);
	c = enqueue_kind("o3", "booking_confirmation", now);
	ck_assert_int_eq(
	    outbox_claim(ob, now + 20, OUTBOX_LANE_BOOKING, 2, &items, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(items[0]->id, c);
	ck_assert_int_eq(items[1]->id, b);
	ck_assert_int_eq(items[0]->attempts, 1);
	for (size_t i = 0; i < n; i++)
		outbox_item_free(items[i]);
	free(items);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE "
			     "state = 'sending' AND last_error IS NULL"),
	    2);
	ck_assert_int_eq(
	    outbox_claim(ob, now + 20, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(items[0]->id, a);
	outbox_item_free(items[0]);
	free(items);
}
END_TEST

START_TEST(test_outbox_claims_each_lane_on_its_own)
{
	struct outbox_item **items;
	size_t n;
	time_t due;
	int64_t digest[3], confirm;
	char key[32];

	for (int i = 0; i < 3; i++) {
		(void)snprintf(key, sizeof(key), "digest:%d", i);
		digest[i] = enqueue_kind(key, "blog_digest", now);
	}
	confirm = enqueue_kind("confirm:1", "booking_confirmation", now + 5);
	ck_assert_int_eq(outbox_next_due(ob, OUTBOX_LANE_BOOKING, &due), 0);
	ck_assert_int_eq(due, now + 5);
	ck_assert_int_eq(outbox_next_due(ob, OUTBOX_LANE_BULK, &due), 0);
	ck_assert_int_eq(due, now);
	ck_assert_int_eq(
	    outbox_claim(ob, now + 5, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(items[0]->id, confirm);
	ck_assert_int_eq(items[0]->lane, OUTBOX_LANE_BOOKING);
	outbox_item_free(items[0]);
	free(items);
	ck_assert_int_eq(
	    outbox_claim(ob, now + 5, OUTBOX_LANE_BULK, 2, &items, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(items[0]->id, digest[0]);
	ck_assert_int_eq(items[1]->id, digest[1]);
	ck_assert_int_eq(items[1]->lane, OUTBOX_LANE_BULK);
	for (size_t i = 0; i < n; i++)
		outbox_item_free(items[i]);
	free(items);
	ck_assert_int_eq(
	    outbox_next_due(ob, OUTBOX_LANE_BOOKING, &due), -ENOENT);
}
END_TEST

/* Each lane's claim and next due time are answered from messages_due,
 * whose first column is the lane: the kind table's bulk flag, the
 * expression in outbox.h and the index say the same. */
START_TEST(test_outbox_lanes_agree_with_the_kind_table_and_the_index)
{
	char *sql;

	for (size_t i = 0; i < kind_count(); i++) {
		const struct kind *k = kind_at(i);

		sql = xasprintf("SELECT %s FROM (SELECT '%s' AS kind)",
		    OUTBOX_BULK_SQL, k->name);
		ck_assert_msg(tu_sql_int(db, sql) == (k->bulk ? 1 : 0),
		    "%s: the lane of the index is not the kind table's",
		    k->name);
		ck_assert_int_eq(outbox_lane_of(k->name),
		    k->bulk ? OUTBOX_LANE_BULK : OUTBOX_LANE_BOOKING);
		free(sql);
	}
	assert_plan_uses(db,
	    "SELECT id FROM messages INDEXED BY messages_due"
	    " WHERE state = 'queued' AND " OUTBOX_BULK_SQL " = 0"
	    " AND next_attempt_at <= '2026-12-01T00:00:00Z'"
	    " ORDER BY next_attempt_at, id LIMIT 5",
	    "messages_due");
	assert_plan_uses(db,
	    "SELECT min(next_attempt_at) FROM messages"
	    " WHERE state = 'queued' AND " OUTBOX_BULK_SQL " = 1",
	    "messages_due");
}
END_TEST

/* A message handed back untried (no relay could take it) spends no
 * attempt; the relay that had a message is recorded. */
START_TEST(test_outbox_untried_message_keeps_its_attempts)
{
	struct outbox_item **items;
	const struct outbox_update wait = {
		.next_attempt_at = now + 30,
		.error = "not sent: no relay takes mail now",
		.untried = true,
	};
	const struct outbox_update sent = { .relay = "smtp.backup" };
	size_t n;
	int64_t id = enqueue("k1", "a@example.org", NULL);

	ck_assert_int_eq(
	    outbox_claim(ob, now, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	outbox_item_free(items[0]);
	free(items);
	ck_assert_int_eq(outbox_transition(
			     ob, id, OUTBOX_SENDING, OUTBOX_QUEUED, now, &wait),
	    0);
	ck_assert_int_eq(tu_sql_int(db, "SELECT attempts FROM messages"), 0);
	ck_assert_int_eq(
	    outbox_claim(ob, now + 30, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	ck_assert_int_eq(items[0]->attempts, 1);
	outbox_item_free(items[0]);
	free(items);
	ck_assert_int_eq(outbox_transition(ob, id, OUTBOX_SENDING, OUTBOX_SENT,
			     now + 31, &sent),
	    0);
	{
		char *got = tu_sql_text(
		    db, "SELECT attempts || ' ' || relay FROM messages");

		ck_assert_str_eq(got, "1 smtp.backup");
		free(got);
	}
}
END_TEST

START_TEST(test_outbox_state_names_match_the_database)
{
	ck_assert_str_eq(outbox_state_name(OUTBOX_SUPPRESSED), "suppressed");
	ck_assert_int_eq(outbox_state_parse("failed"), OUTBOX_FAILED);
	ck_assert_int_eq(outbox_state_parse("deferred"), -EINVAL);
	/* The CHECK constraint refuses any other state. */
	enqueue("k1", "a@example.org", NULL);
	ck_assert_int_ne(sqlite3_exec(db, "UPDATE messages SET state = 'lost'",
			     NULL, NULL, NULL),
	    SQLITE_OK);
}
END_TEST

/* ------------------------------------------------------- checkpoint */

static uv_sem_t checkpoint_gate;

static void
checkpoint_test_block(uv_work_t *req)
{
	(void)req;
	uv_sem_wait(&checkpoint_gate);
}

static void
checkpoint_test_unblocked(uv_work_t *req, int status)
{
	(void)req;
	(void)status;
}

static off_t
checkpoint_test_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* A commit that takes the write-ahead log past the threshold does not
 * copy it into the database file itself (the loop would wait on the
 * disk): with every thread of the pool held, the file keeps its size
 * and the checkpoint waits; once the pool is free, it runs there. */
START_TEST(test_checkpoint_runs_in_the_pool_not_in_the_commit)
{
	char *path = xasprintf("%s/familymail.db", dir);
	uv_work_t blockers[4];
	struct checkpoint *c;
	uv_loop_t loop;
	off_t before;

	/* Before the pool's first use in this process: four threads. */
	ck_assert_int_eq(setenv("UV_THREADPOOL_SIZE", "4", 1), 0);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(uv_sem_init(&checkpoint_gate, 0), 0);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(blockers); i++)
		ck_assert_int_eq(
		    uv_queue_work(&loop, &blockers[i], checkpoint_test_block,
			checkpoint_test_unblocked),
		    0);
	c = checkpoint_new(&loop, db, path, NULL, NULL);
	tu_sql(db, "CREATE TABLE filler (b BLOB)");
	ck_assert(!checkpoint_busy(c));
	before = checkpoint_test_size(path);
	/* About 1,500 pages of 4 KiB. */
	tu_sql(db,
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < 3000) INSERT INTO filler SELECT randomblob(2000)"
	    " FROM n");
	ck_assert(checkpoint_busy(c));
	ck_assert_int_eq(checkpoint_test_size(path), before);

	for (size_t i = 0; i < UTIL_ARRAY_LEN(blockers); i++)
		uv_sem_post(&checkpoint_gate);
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert(!checkpoint_busy(c));
	ck_assert_int_gt(checkpoint_test_size(path), before + 3000 * 2000);
	checkpoint_free(c);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	uv_sem_destroy(&checkpoint_gate);
	free(path);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("db");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_outbox_claims_each_lane_on_its_own);
	tcase_add_test(
	    tc, test_outbox_lanes_agree_with_the_kind_table_and_the_index);
	tcase_add_test(tc, test_outbox_untried_message_keeps_its_attempts);
	tcase_add_test(
	    tc, test_db_migration_creates_the_contract_tables_exactly);
	tcase_add_test(tc, test_db_migration_is_idempotent_and_keeps_data);
	tcase_add_test(
	    tc, test_db_migration_keeps_language_columns_the_website_added);
	tcase_add_test(
	    tc, test_db_migration_accepts_tables_the_website_made_first);
	tcase_add_test(
	    tc, test_db_migration_v2_indexes_bounces_of_a_v1_database);
	tcase_add_test(
	    tc, test_db_migration_v4_keeps_state_changes_out_of_the_indexes);
	tcase_add_test(tc, test_db_migration_refuses_a_newer_database);
	tcase_add_test(tc, test_sentlog_replay_marks_logged_acceptances_sent);
	tcase_add_test(tc, test_outbox_keeps_one_message_per_dedupe_key);
	tcase_add_test(tc, test_outbox_gives_each_message_its_own_verp_token);
	tcase_add_test(tc, test_outbox_claims_due_messages_oldest_first);
	tcase_add_test(tc, test_outbox_claims_in_order_of_due_time_not_of_id);
	tcase_add_test(tc, test_outbox_defers_until_next_attempt_time);
	tcase_add_test(tc, test_outbox_refuses_transitions_the_machine_lacks);
	tcase_add_test(tc, test_outbox_requeues_sending_after_crash);
	tcase_add_test(tc, test_outbox_state_names_match_the_database);
	tcase_add_test(tc, test_checkpoint_runs_in_the_pool_not_in_the_commit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(db_suite());
}
