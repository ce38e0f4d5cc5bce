/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_job_confirm: which bookings get a confirmation, exactly once,
 * and what happens when the booking changes before it goes out.
 */
#include "config.h"

#include <stdlib.h>

#include <check.h>
#include <sqlite3.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "job_confirm.h"
#include "outbox.h"
#include "send/compose.h"
#include "send/transport.h"
#include "testutil.h"
#include "util.h"

static char *dir;
static sqlite3 *db;
static time_t now;

static void
setup(void)
{
	char *sql, *path;

	dir = tu_mkdtemp();
	db = tu_db_new(dir);
	path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
	sql = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(sql);
	tu_sql(db, sql);
	free(sql);
	free(path);
	clock_parse_iso("2026-11-23T09:00:00Z", &now);
}

static void
teardown(void)
{
	db_close(db);
	tu_rmtree(dir);
	free(dir);
}

static char *
keys(void)
{
	return tu_sql_text(db,
	    "SELECT group_concat(dedupe_key || '>' || "
	    "recipient, ' ') FROM (SELECT * FROM "
	    "messages ORDER BY id)");
}

START_TEST(test_confirm_enqueues_one_per_confirmed_booking_ahead)
{
	char *got;

	ck_assert_int_eq(job_confirm_run(db, NULL, now), 3);
	got = keys();
	/* Not 4 (cancelled), 5 (course over), 6 (course cancelled). */
	ck_assert_str_eq(got,
	    "confirm:booking:1>sarah.jones@example.org "
	    "confirm:booking:2>sian.llyr@example.org "
	    "confirm:booking:3>fatima@example.org");
	free(got);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE "
			     "kind = 'booking_confirmation' AND "
			     "state = 'queued'"),
	    3);
}
END_TEST

START_TEST(test_confirm_running_twice_adds_nothing)
{
	ck_assert_int_eq(job_confirm_run(db, NULL, now), 3);
	ck_assert_int_eq(job_confirm_run(db, NULL, now), 0);
	ck_assert_int_eq(job_confirm_run(db, NULL, now + 3600), 0);
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM messages"), 3);
}
END_TEST

START_TEST(test_confirm_picks_up_a_booking_made_later)
{
	ck_assert_int_eq(job_confirm_run(db, NULL, now), 3);
	tu_sql(db,
	    "INSERT INTO bookings (id, course_id, delegate_id, "
	    "reference, created_at) VALUES (7, 2, 5, 'FC-1007', "
	    "'2026-11-23T09:05:00Z')");
	ck_assert_int_eq(job_confirm_run(db, NULL, now + 300), 1);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE "
			     "dedupe_key = 'confirm:booking:7'"),
	    1);
}
END_TEST

START_TEST(test_confirm_gives_a_sent_confirmation_no_second_one)
{
	ck_assert_int_eq(job_confirm_run(db, NULL, now), 3);
	tu_sql(db, "UPDATE messages SET state = 'sent'");
	/* Cancelled and confirmed again: still one confirmation. */
	tu_sql(db, "UPDATE bookings SET status = 'cancelled' WHERE id = 1");
	tu_sql(db, "UPDATE bookings SET status = 'confirmed' WHERE id = 1");
	ck_assert_int_eq(job_confirm_run(db, NULL, now + 60), 0);
}
END_TEST

START_TEST(test_confirm_is_cancelled_when_booking_cancelled_before_sending)
{
	struct cfg *cfg = cfg_new_defaults(dir);
	struct compose_env env = { .db = db, .cfg = cfg };
	struct outbox *ob = outbox_new(db);
	struct outbox_item **items;
	struct transport_msg *m = transport_msg_new();
	char *why = NULL;
	size_t n;

	ck_assert_int_eq(job_confirm_run(db, NULL, now), 3);
	tu_sql(db, "UPDATE bookings SET status = 'cancelled' WHERE id = 2");
	ck_assert_int_eq(
	    outbox_claim(ob, now, OUTBOX_LANE_BOOKING, 10, &items, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(items[1]->booking_id, 2);
	ck_assert_int_eq(
	    compose_message(&env, items[1], now, m, &why), COMPOSE_CANCELLED);
	free(why);
	for (size_t i = 0; i < n; i++)
		outbox_item_free(items[i]);
	free(items);
	transport_msg_free(m);
	outbox_free(ob);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_confirm_is_suppressed_for_a_suppressed_address)
{
	struct cfg *cfg = cfg_new_defaults(dir);
	struct compose_env env = { .db = db, .cfg = cfg };
	struct outbox *ob = outbox_new(db);
	struct outbox_item **items;
	struct transport_msg *m = transport_msg_new();
	char *why = NULL;
	size_t n;

	tu_sql(db,
	    "INSERT INTO suppressions (email, reason, created_at) "
	    "VALUES ('SARAH.JONES@example.org', 'hard_bounce', "
	    "'2026-11-01T00:00:00Z')");
	ck_assert_int_eq(job_confirm_run(db, NULL, now), 3);
	ck_assert_int_eq(
	    outbox_claim(ob, now, OUTBOX_LANE_BOOKING, 1, &items, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(
	    compose_message(&env, items[0], now, m, &why), COMPOSE_SUPPRESSED);
	free(why);
	outbox_item_free(items[0]);
	free(items);
	transport_msg_free(m);
	outbox_free(ob);
	cfg_free(cfg);
}
END_TEST

/* A website import of thousands of bookings is enqueued whole, in
 * short writes of a chunk each. */
START_TEST(test_confirm_enqueues_a_big_import_whole)
{
	tu_sql(db,
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < 2500)"
	    " INSERT INTO delegates (id, email, first_name)"
	    " SELECT 100 + i, 'd' || i || '@example.org', 'D' FROM n;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < 2500)"
	    " INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at)"
	    " SELECT 100 + i, 1, 100 + i, 'IM-' || i, '2026-11-22T09:00:00Z'"
	    " FROM n;");
	ck_assert_int_eq(job_confirm_run(db, NULL, now), 2503);
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM messages"), 2503);
	ck_assert_int_eq(job_confirm_run(db, NULL, now), 0);
}
END_TEST

static Suite *
job_confirm_suite(void)
{
	Suite *s = suite_create("job_confirm");
	TCase *tc = tcase_create("job_confirm");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(
	    tc, test_confirm_enqueues_one_per_confirmed_booking_ahead);
	tcase_add_test(tc, test_confirm_running_twice_adds_nothing);
	tcase_add_test(tc, test_confirm_enqueues_a_big_import_whole);
	tcase_add_test(tc, test_confirm_picks_up_a_booking_made_later);
	tcase_add_test(
	    tc, test_confirm_gives_a_sent_confirmation_no_second_one);
	tcase_add_test(tc,
	    test_confirm_is_cancelled_when_booking_cancelled_before_sending);
	tcase_add_test(tc, test_confirm_is_suppressed_for_a_suppressed_address);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(job_confirm_suite());
}
