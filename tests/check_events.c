/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_events: the history of an address or a booking, from the
 * outside, as an administrator asks for it: unsubscribes by mailto and
 * by complaint, a hard bounce and the suppression it caused, each with
 * its source and report, in `familymail history`; resend; export, erase
 * and export again, with nothing left in the database file but a keyed
 * hash, and a new booking for the address held back; retention; and the
 * history made at the migration from what messages and bounces held.
 * The daemon runs with --now a minute ahead of the real clock, which the
 * admin tool reads; the courses are in 2099.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <sqlite3.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "migrate.h"
#include "retention.h"
#include "testutil.h"
#include "token.h"
#include "util.h"

#define SECRET \
	"3f9a1c77e2b04d18a6c5e9f0b2d4c6a8e1f3b5d7c9a0e2f4b6d8c0a2e4f6b8d0"

static char *dir, *conf, *tool, *db_path, *log_path;
static char now_iso[CLOCK_ISO_LEN];

struct run {
	int status;
	char *out;
	char *err;
};

static const char records[] =
    "INSERT INTO courses (id, title, starts_at, venue, status) VALUES"
    " (1, 'Positive Parenting', '2099-01-10T09:00:00Z', 'Cardiff',"
    " 'scheduled');"
    "INSERT INTO delegates (id, email, first_name, last_name) VALUES"
    " (1, 'sarah.jones@example.org', 'Sarah', 'Jones'),"
    " (2, 'nobody-here@example.net', 'Nobody', 'Here');"
    "INSERT INTO bookings (id, course_id, delegate_id, reference, status,"
    " created_at) VALUES"
    " (1, 1, 1, 'FL-24001', 'confirmed', '2026-11-20T10:00:00Z'),"
    " (2, 1, 2, 'FL-24002', 'confirmed', '2026-11-20T11:00:00Z');"
    "INSERT INTO subscribers (id, email, name, status, frequency,"
    " created_at) VALUES"
    " (1, 'sam@example.org', 'Sam', 'active', 'weekly',"
    " '2026-09-01T00:00:00Z'),"
    " (2, 'annoyed.reader@isp.example.net', 'Al', 'active', 'weekly',"
    " '2026-09-01T00:00:00Z');";

static void
write_conf(void)
{
	struct tu_config c = { .log_level = "info",
		.reply_to = "",
		.sections = "[bounces]\nsource = maildir:Bounces\n"
			    "\n[unsubscribe]\n"
			    "url = https://example.org/u?token={token}\n"
			    "mailto = unsubscribe@example.org\n"
			    "secret_file = token-secret\n" };

	conf = tu_write_config(dir, "familymail.conf", &c);
}

static void
setup(void)
{
	static const char *const subs[] = { "Bounces", "Bounces/new",
		"Bounces/cur", "Bounces/tmp" };
	char *secret;
	sqlite3 *db;

	dir = tu_mkdtemp();
	write_conf();
	secret = tu_write_file(dir, "token-secret", SECRET "\n");
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(subs); i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);

		ck_assert_int_eq(mkdir(p, 0700), 0);
		free(p);
	}
	tool = xasprintf("%s/src/familymail", tu_builddir());
	db_path = xasprintf("%s/familymail.db", dir);
	log_path = xasprintf("%s/daemon.log", dir);
	db = tu_db_new(dir);
	tu_sql(db, records);
	db_close(db);
	/* The admin tool reads the real clock; the daemon runs a minute
	 * after it, so what the tool queues is due. */
	clock_format_iso(time(NULL) + 60, now_iso);
}

static void
teardown(void)
{
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(conf);
	free(tool);
	free(db_path);
	free(log_path);
}

static void
run_daemon(void)
{
	int st = tu_daemon_once(conf, now_iso, log_path, 20000);
	char *log = st != 0 ? tu_read_file(log_path, NULL) : NULL;

	ck_assert_msg(st == 0, "familymaild exited %d:\n%s", st, log);
	free(log);
}

/* Runs the tool with -c conf and args, stdout and stderr apart. */
static struct run
run_tool(const char *const *args)
{
	char *argv[16], *out_path, *err_path;
	struct run r;
	size_t n = 0;
	pid_t pid;
	int st;

	argv[n++] = tool;
	argv[n++] = (char *)"-c";
	argv[n++] = conf;
	for (size_t i = 0; args[i] != NULL && n + 1 < UTIL_ARRAY_LEN(argv); i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	out_path = xasprintf("%s/stdout", dir);
	err_path = xasprintf("%s/stderr", dir);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o == -1 || e == -1 || chdir(dir) != 0)
			_exit(126);
		dup2(o, STDOUT_FILENO);
		dup2(e, STDERR_FILENO);
		tu_execv(argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	r.status = WEXITSTATUS(st);
	r.out = tu_read_file(out_path, NULL);
	r.err = tu_read_file(err_path, NULL);
	ck_assert(r.out != NULL && r.err != NULL);
	free(out_path);
	free(err_path);
	return r;
}

#define RUN(...) run_tool((const char *const[]){ __VA_ARGS__, NULL })

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void
sql(const char *s)
{
	sqlite3 *db;

	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db, s);
	db_close(db);
}

/* Puts a test message into the bounce mailbox. */
static void
deliver(const char *name, const char *text)
{
	char *sub = xasprintf("%s/Bounces/new", dir);

	free(tu_write_file(sub, name, text));
	free(sub);
}

static void
deliver_file(const char *name, const char *data_name)
{
	char *src =
	    xasprintf("%s/tests/data/bounce/%s", tu_srcdir(), data_name);
	char *s = tu_read_file(src, NULL);

	ck_assert_ptr_nonnull(s);
	deliver(name, s);
	free(s);
	free(src);
}

/* A message we sent: kind, recipient, subscriber or booking, token. */
static void
add_sent(int id, const char *kind, const char *rcpt, int subscriber,
    int booking, const char *token)
{
	char *s = xasprintf(
	    "INSERT INTO messages (id, dedupe_key, kind, recipient,"
	    " subscriber_id, booking_id, state, verp_token, created_at,"
	    " next_attempt_at, updated_at, sent_at) VALUES (%d, 'test:%d',"
	    " '%s', '%s', nullif(%d, 0), nullif(%d, 0), 'sent', '%s',"
	    " '2026-11-20T08:00:00Z', '2026-11-20T08:00:00Z',"
	    " '2026-11-20T08:00:00Z', '2026-11-20T08:00:00Z')",
	    id, id, kind, rcpt, subscriber, booking, token);

	sql(s);
	free(s);
}

/* ------------------------------------------------------------ history */

START_TEST(test_history_shows_unsubscribes_by_mailto_and_complaint)
{
	struct buf tok;
	struct run r;
	char *mail;

	buf_init(&tok);
	ck_assert_int_eq(token_make(SECRET, strlen(SECRET), "unsubscribe", 1,
			     "sam@example.org", &tok),
	    0);
	mail = xasprintf("From: Sam <sam@example.org>\r\n"
			 "To: unsubscribe@example.org\r\n"
			 "Subject: unsubscribe %s\r\n"
			 "Message-ID: <u1@mail.example.org>\r\n"
			 "\r\n"
			 "\r\n",
	    tok.data);
	deliver("1795330000.M1P1.test", mail);
	free(mail);
	buf_fini(&tok);
	add_sent(
	    40, "blog_digest", "annoyed.reader@isp.example.net", 2, 0, "arf77");
	deliver_file("1795330001.M2P1.test", "arf-abuse.eml");
	run_daemon();

	r = RUN("history", "sam@example.org");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "subscribed", "website", "weekly digest");
	TU_HAS_LINE(r.out, "unsubscribed", "mailto");
	run_free(&r);

	r = RUN("history", "annoyed.reader@isp.example.net");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "complained", "blog_digest", "report",
	    "abuse complaint (report maildir:", "1795330001.M2P1.test)");
	TU_HAS_LINE(r.out, "unsubscribed", "complaint", "abuse");
	run_free(&r);

	/* The same as JSON lines, in order. */
	r = RUN("history", "--json", "annoyed.reader@isp.example.net");
	ck_assert_int_eq(r.status, 0);
	{
		const char *p = r.out, *events[8];
		size_t n = 0;

		while (*p != '\0' && n < UTIL_ARRAY_LEN(events)) {
			json_error_t jerr;
			const char *nl = strchr(p, '\n');
			json_t *o;

			ck_assert_ptr_nonnull(nl);
			o = json_loadb(p, (size_t)(nl - p), 0, &jerr);
			ck_assert_msg(o != NULL, "%s", jerr.text);
			ck_assert_ptr_nonnull(json_object_get(o, "at"));
			ck_assert_ptr_nonnull(json_object_get(o, "kind"));
			ck_assert_ptr_nonnull(json_object_get(o, "detail"));
			ck_assert_str_eq(
			    json_string_value(json_object_get(o, "address")),
			    "annoyed.reader@isp.example.net");
			events[n++] =
			    json_string_value(json_object_get(o, "event"));
			json_decref(o);
			p = nl + 1;
		}
		ck_assert_int_ge(n, 3);
	}
	ck_assert_ptr_nonnull(strstr(r.out, "\"event\":\"queued\""));
	ck_assert(strstr(r.out, "\"event\":\"queued\"") <
	    strstr(r.out, "\"event\":\"complained\""));
	ck_assert(strstr(r.out, "\"event\":\"complained\"") <
	    strstr(r.out, "\"event\":\"unsubscribed\""));
	run_free(&r);
}
END_TEST

START_TEST(test_history_shows_a_hard_bounce_and_its_suppression_with_report)
{
	struct run r;

	add_sent(7, "booking_confirmation", "nobody-here@example.net", 0, 2,
	    "a1b2c3d4");
	deliver_file("1795330000.M1P1.test", "postfix-dsn.eml");
	run_daemon();

	r = RUN("history", "nobody-here@example.net");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "bounced", "booking_confirmation", "FL-24002",
	    "report", "hard userunknown 5.1.1",
	    "(report maildir:", "1795330000.M1P1.test)");
	TU_HAS_LINE(r.out, "suppressed", "bounces", "hard_bounce",
	    "(report maildir:", "1795330000.M1P1.test)");
	ck_assert(strstr(r.out, "bounced") < strstr(r.out, "suppressed"));
	run_free(&r);

	/* The poll itself, for status. */
	{
		char *d = tu_db_text(db_path,
		    "SELECT detail FROM job_runs WHERE job = 'bounces'");

		ck_assert_str_eq(d,
		    "read 1, processed 1, left 0; 1 suppressed, "
		    "0 unsubscribed, 0 unmatched");
		free(d);
	}

	/* The booking's history holds its address's suppression too. */
	r = RUN("history", "FL-24002");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "booked", "website", "Positive Parenting");
	TU_HAS_LINE(r.out, "bounced", "nobody-here@example.net");
	TU_HAS_LINE(r.out, "suppressed", "hard_bounce");
	run_free(&r);

	r = RUN("history", "FL-99999");
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "no booking with reference"));
	run_free(&r);
}
END_TEST

START_TEST(test_history_holds_what_the_admin_did)
{
	struct run r;

	r = RUN("suppress", "sam@example.org", "--reason", "asked by phone");
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	r = RUN("unsuppress", "sam@example.org");
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	r = RUN("history", "SAM@example.org");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "suppressed", "admin", "manual: asked by phone");
	TU_HAS_LINE(r.out, "unsuppressed", "admin", "was manual");
	run_free(&r);
}
END_TEST

/* ------------------------------------------------------------- resend */

START_TEST(test_resend_sends_once_more_and_is_in_the_history)
{
	struct run r;

	run_daemon();
	ck_assert_int_eq(tu_db_int(db_path,
			     "SELECT count(*) FROM messages WHERE"
			     " recipient = 'sarah.jones@example.org'"
			     " AND state = 'sent'"),
	    1);
	r = RUN("resend", "--booking", "FL-24001");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out,
	    "queued booking_confirmation to sarah.jones@example.org about "
	    "FL-24001"));
	run_free(&r);
	run_daemon();
	ck_assert_int_eq(tu_db_int(db_path,
			     "SELECT count(*) FROM messages WHERE"
			     " recipient = 'sarah.jones@example.org'"
			     " AND state = 'sent'"),
	    2);
	/* Once more, not again at every pass: the two confirmations and
	 * the one sent again. */
	run_daemon();
	{
		char *md = xasprintf("%s/Maildir/new", dir);

		ck_assert_int_eq(tu_count_files(md), 3);
		free(md);
	}

	r = RUN("history", "FL-24001");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "resent", "booking_confirmation", "admin");
	ck_assert_ptr_nonnull(strstr(strstr(r.out, "resent"), "sent"));
	run_free(&r);

	/* Nothing to send again, and a kind that is not about a booking. */
	r = RUN(
	    "resend", "--booking", "FL-24001", "--kind", "booking_cancelled");
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "no booking_cancelled was ever"));
	run_free(&r);
	r = RUN("resend", "--booking", "FL-24001", "--kind", "blog_digest");
	ck_assert_int_eq(r.status, 64);
	ck_assert_ptr_nonnull(strstr(r.err, "the kinds: booking_confirmation"));
	run_free(&r);
}
END_TEST

/* ------------------------------------------------------ export, erase */

/* Whether the bytes of the database files hold s anywhere. */
static bool
db_files_hold(const char *s)
{
	static const char *const ext[] = { "", "-wal" };
	bool found = false;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(ext); i++) {
		char *p = xasprintf("%s%s", db_path, ext[i]);
		size_t len = 0;
		char *data = tu_read_file(p, &len);

		if (data != NULL && len >= strlen(s) &&
		    memmem(data, len, s, strlen(s)) != NULL)
			found = true;
		free(data);
		free(p);
	}
	return found;
}

START_TEST(test_export_erase_export_leaves_only_the_hashed_suppression)
{
	json_t *j, *own, *ev;
	json_error_t jerr;
	struct run r;
	size_t i;

	run_daemon();
	r = RUN("export", "sarah.jones@example.org");
	ck_assert_int_eq(r.status, 0);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(j != NULL, "%s", jerr.text);
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(j, "website"), "delegate"),
		"first_name")),
	    "Sarah");
	own = json_object_get(j, "familymail");
	ck_assert_int_eq(json_array_size(json_object_get(own, "messages")), 1);
	ck_assert_ptr_nonnull(strstr(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(own, "messages"), 0), "text")),
	    "Dear Sarah"));
	ck_assert_int_ge(json_array_size(json_object_get(own, "events")), 2);
	ck_assert(json_is_null(json_object_get(own, "suppression")));
	json_decref(j);
	run_free(&r);

	r = RUN("erase", "sarah.jones@example.org");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "1 message, 0 bounces"));
	ck_assert_ptr_nonnull(strstr(r.out, "delegates id=1"));
	ck_assert_ptr_nonnull(strstr(r.out, "bookings FL-24001 (id=1)"));
	run_free(&r);
	/* An old spreadsheet does not bring the address back. */
	free(tu_write_file(
	    dir, "old.csv", "email,name\nsarah.jones@example.org,Sarah\n"));
	r = RUN("import", "subscribers", "old.csv");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(
	    strstr(r.err, "on the suppression list (erased)"));
	ck_assert_ptr_nonnull(strstr(r.out, "1 not added (suppressed)"));
	run_free(&r);
	/* The administrator deletes the website's rows, as told. */
	sql("DELETE FROM bookings WHERE id = 1; DELETE FROM delegates"
	    " WHERE id = 1");

	r = RUN("export", "sarah.jones@example.org");
	ck_assert_int_eq(r.status, 0);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(j != NULL, "%s", jerr.text);
	ck_assert(json_is_null(
	    json_object_get(json_object_get(j, "website"), "delegate")));
	own = json_object_get(j, "familymail");
	ck_assert_int_eq(json_array_size(json_object_get(own, "messages")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(own, "bounces")), 0);
	json_array_foreach(json_object_get(own, "events"), i, ev)
	{
		ck_assert_str_eq(
		    json_string_value(json_object_get(ev, "event")),
		    i == 0       ? "suppressed"
			: i == 1 ? "erased"
				 : "exported");
		ck_assert_ptr_nonnull(
		    strstr(json_string_value(json_object_get(ev, "address")),
			"hmac-sha256:"));
	}
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(own, "suppression"), "reason")),
	    "erased");
	ck_assert(json_is_true(
	    json_object_get(json_object_get(own, "suppression"), "hashed")));
	json_decref(j);
	run_free(&r);
	/* Nowhere in the database's bytes, deleted pages included. */
	ck_assert(!db_files_hold("sarah.jones@example.org"));

	/* She books again on the website: the booking is held back. */
	sql("INSERT INTO delegates (id, email, first_name) VALUES"
	    " (3, 'Sarah.Jones@example.org', 'Sarah');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at) VALUES (3, 1, 3, 'FL-24003',"
	    " '2026-11-23T09:00:00Z')");
	run_daemon();
	ck_assert_int_eq(tu_db_int(db_path,
			     "SELECT count(*) FROM messages WHERE"
			     " booking_id = 3 AND state = 'suppressed'"),
	    1);
	ck_assert_int_eq(tu_db_int(db_path,
			     "SELECT count(*) FROM messages WHERE"
			     " state = 'sent' AND booking_id = 3"),
	    0);
}
END_TEST

/* The hash is keyed with the token secret: without one there is no
 * erasure that keeps the address off the list for good. */
START_TEST(test_erase_refuses_without_the_secret)
{
	char *text = tu_read_file(conf, NULL);
	struct run r;

	*strstr(text, "\n[unsubscribe]") = '\0';
	free(tu_write_file(dir, "familymail.conf", text));
	free(text);
	run_daemon();
	r = RUN("erase", "sarah.jones@example.org");
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "nothing was erased"));
	run_free(&r);
	ck_assert_int_eq(tu_db_int(db_path,
			     "SELECT count(*) FROM messages WHERE"
			     " recipient = 'sarah.jones@example.org'"),
	    1);
}
END_TEST

/* ---------------------------------------------------------- retention */

START_TEST(test_retention_purges_old_rows_and_not_new_ones)
{
	struct cfg *cfg = cfg_new_defaults(dir);
	sqlite3 *db;
	time_t now;
	char *s;

	ck_assert_int_eq(clock_parse_iso("2026-11-23T09:00:00Z", &now), 0);
	cfg->retain_messages = 400 * 86400;
	cfg->retain_events = 6 * 365 * 86400;
	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO courses (id, title, starts_at, venue) VALUES"
	    " (2, 'Long ago', '2024-06-01T09:00:00Z', 'Cardiff');"
	    "INSERT INTO messages (id, dedupe_key, kind, recipient,"
	    " booking_id, course_id, state, created_at, next_attempt_at,"
	    " updated_at) VALUES"
	    /* old, about a course long over: goes */
	    " (1, 'a', 'booking_confirmation', 'old@example.org', 1, 2,"
	    " 'sent', '2024-05-01T09:00:00Z', '2024-05-01T09:00:00Z',"
	    " '2024-05-01T09:00:00Z'),"
	    /* old, about the course of 2099: kept, or it comes again */
	    " (2, 'b', 'booking_confirmation', 'ahead@example.org', 1, 1,"
	    " 'sent', '2024-05-02T09:00:00Z', '2024-05-02T09:00:00Z',"
	    " '2024-05-02T09:00:00Z'),"
	    /* old, with a bounce of last week: kept while the bounce is */
	    " (3, 'c', 'blog_digest', 'bounced@example.org', NULL, NULL,"
	    " 'sent', '2024-05-03T09:00:00Z', '2024-05-03T09:00:00Z',"
	    " '2024-05-03T09:00:00Z'),"
	    /* new: kept */
	    " (4, 'd', 'blog_digest', 'new@example.org', NULL, NULL, 'sent',"
	    " '2026-11-20T09:00:00Z', '2026-11-20T09:00:00Z',"
	    " '2026-11-20T09:00:00Z');"
	    "INSERT INTO bounces (id, message_id, recipient, kind,"
	    " received_at) VALUES"
	    " (1, 1, 'old@example.org', 'bounce', '2024-05-02T00:00:00Z'),"
	    " (2, 3, 'bounced@example.org', 'bounce', '2026-11-16T00:00:00Z');"
	    "DELETE FROM events;"
	    "INSERT INTO events (at, event, address) VALUES"
	    " ('2019-01-01T00:00:00Z', 'sent', 'ancient@example.org'),"
	    " ('2024-05-01T09:00:00Z', 'sent', 'old@example.org'),"
	    " ('2026-11-20T09:00:00Z', 'sent', 'new@example.org');");
	ck_assert_int_eq(retention_run(db, cfg, now), 0);
	s = tu_sql_text(db, "SELECT group_concat(id) FROM messages");
	ck_assert_str_eq(s, "2,3,4");
	free(s);
	s = tu_sql_text(db, "SELECT group_concat(id) FROM bounces");
	ck_assert_str_eq(s, "2");
	free(s);
	s = tu_sql_text(db, "SELECT group_concat(address) FROM events");
	ck_assert_str_eq(s, "old@example.org,new@example.org");
	free(s);
	s = tu_sql_text(db,
	    "SELECT detail FROM job_runs"
	    " WHERE job = 'retention'");
	ck_assert_str_eq(s,
	    "purged 1 messages, 1 bounces, 1 events; keeps "
	    "messages 400d, events 6y");
	free(s);
	/* Once a day: an hour later it does nothing. */
	tu_sql(db,
	    "UPDATE messages SET created_at = '2020-01-01T00:00:00Z'"
	    " WHERE id = 4");
	ck_assert_int_eq(retention_run(db, cfg, now + 3600), 0);
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM messages"), 3);
	ck_assert_int_eq(retention_run(db, cfg, now + 86400), 0);
	s = tu_sql_text(db, "SELECT group_concat(id) FROM messages");
	ck_assert_str_eq(s, "2,3");
	free(s);
	db_close(db);
	cfg_free(cfg);
}
END_TEST

/* ------------------------------------------------------------ migrate */

START_TEST(test_migration_makes_history_of_messages_and_bounces)
{
	char *path = xasprintf("%s/old.db", dir), *s;
	sqlite3 *db;

	ck_assert_int_eq(db_open(path, true, &db), 0);
	ck_assert_int_eq(migrate_run_to(db, 4), 4);
	tu_sql(db,
	    "INSERT INTO messages (id, dedupe_key, kind, recipient,"
	    " booking_id, state, attempts, created_at, next_attempt_at,"
	    " updated_at, sent_at, smtp_reply, last_error) VALUES"
	    " (1, 'confirm:booking:1', 'booking_confirmation', 'a@example.org',"
	    " 1, 'sent', 1, '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z',"
	    " '2026-11-20T10:00:07Z', '2026-11-20T10:00:07Z', '250 Ok', NULL),"
	    " (2, 'confirm:booking:2', 'booking_confirmation', 'b@example.org',"
	    " 2, 'failed', 1, '2026-11-20T11:00:00Z', '2026-11-20T11:00:00Z',"
	    " '2026-11-20T11:00:09Z', NULL, NULL, '550 5.1.1 unknown');"
	    "INSERT INTO bounces (message_id, recipient, status, class,"
	    " reason, kind, source, received_at) VALUES (1, 'a@example.org',"
	    " '5.1.1', 'hard', 'userunknown', 'bounce', 'imap 17',"
	    " '2026-11-21T08:00:00Z');"
	    "INSERT INTO suppressions VALUES ('a@example.org', 'hard_bounce',"
	    " '5.1.1', '2026-11-21T08:00:00Z');");
	ck_assert_int_eq(migrate_run(db), migrate_latest() - 4);
	s = tu_sql_text(db,
	    "SELECT group_concat(event || ' ' || address || ' ' ||"
	    " coalesce(detail, '-'), ' | ') FROM events ORDER BY id");
	ck_assert_str_eq(s,
	    "queued a@example.org - | sent a@example.org 250 Ok | "
	    "queued b@example.org - | failed b@example.org 550 5.1.1 unknown | "
	    "bounced a@example.org hard userunknown 5.1.1 (report imap 17) | "
	    "suppressed a@example.org hard_bounce: 5.1.1");
	free(s);
	/* And a message queued from now on has its "queued" too. */
	tu_sql(db,
	    "INSERT INTO messages (dedupe_key, kind, recipient,"
	    " created_at, next_attempt_at, updated_at) VALUES ('x',"
	    " 'blog_digest', 'c@example.org', '2026-11-23T09:00:00Z',"
	    " '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z')");
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM events WHERE event ="
			     " 'queued' AND address = 'c@example.org'"
			     " AND source = 'daemon'"),
	    1);
	db_close(db);
	free(path);
}
END_TEST

static Suite *
events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("history");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, test_history_shows_unsubscribes_by_mailto_and_complaint);
	tcase_add_test(tc,
	    test_history_shows_a_hard_bounce_and_its_suppression_with_report);
	tcase_add_test(tc, test_history_holds_what_the_admin_did);
	tcase_add_test(tc, test_resend_sends_once_more_and_is_in_the_history);
	tcase_add_test(
	    tc, test_export_erase_export_leaves_only_the_hashed_suppression);
	tcase_add_test(tc, test_erase_refuses_without_the_secret);
	tcase_add_test(tc, test_retention_purges_old_rows_and_not_new_ones);
	tcase_add_test(
	    tc, test_migration_makes_history_of_messages_and_bounces);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(events_suite());
}
