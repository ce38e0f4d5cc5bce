/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_website: the website examples of contrib/website/ (Python's
 * sqlite3, and PHP's PDO SQLite when php is installed) against a live
 * familymaild: a booking they write gets its confirmation, a sign-up its
 * confirmation link, a cancellation its notice, each in the Maildir
 * within seconds, as familymail-schema(5) promises.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "db.h"
#include "testutil.h"
#include "util.h"

static char *dir, *db_path, *log_path, *maildir_new;
static int daemon_pid;

/* A course a fortnight ahead, as the website's own admin pages wrote it. */
static const char course_sql[] =
    "INSERT INTO courses (id, title, starts_at, ends_at, venue, address)"
    " VALUES (1, 'Nurturing Programme Facilitator Training',"
    " strftime('%Y-%m-%dT09:30:00Z', 'now', '+14 days'),"
    " strftime('%Y-%m-%dT16:30:00Z', 'now', '+14 days'),"
    " 'Cardiff', 'Temple of Peace, Cathays Park, Cardiff CF10 3AP');";

static void
setup(void)
{
	struct tu_config c = {
		.timezone = "", .reply_to = "", .bounce_domain = ""
	};
	char *conf, *sections, *secret, *daemon;
	int port = tu_free_port();
	sqlite3 *db;

	dir = tu_mkdtemp();
	secret = tu_write_file(dir, "token-secret",
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n");
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	sections =
	    xasprintf("[unsubscribe]\n"
		      "url = http://127.0.0.1:%d/unsubscribe?token={token}\n"
		      "secret_file = token-secret\n"
		      "\n[http]\nlisten = 127.0.0.1:%d\n",
		port, port);
	c.sections = sections;
	conf = tu_write_config(dir, "familymail.conf", &c);
	free(sections);
	db = tu_db_new(dir);
	tu_sql(db, course_sql);
	db_close(db);
	db_path = xasprintf("%s/familymail.db", dir);
	log_path = xasprintf("%s/daemon.log", dir);
	maildir_new = xasprintf("%s/Maildir/new", dir);
	daemon = xasprintf("%s/src/familymaild", tu_builddir());
	{
		char *argv[] = { daemon, (char *)"-f", (char *)"-c", conf,
			NULL };

		daemon_pid = tu_spawn(argv, log_path);
	}
	free(daemon);
	free(conf);
}

static void
teardown(void)
{
	kill(daemon_pid, SIGTERM);
	ck_assert_int_eq(tu_wait(daemon_pid, 5000), 0);
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(db_path);
	free(log_path);
	free(maildir_new);
}

/* Runs the example (argv[0] the interpreter, argv[1] the script under
 * contrib/website/) on the test's database with the words args; returns
 * what it printed, after asserting it exited 0. */
static char *
run_example(const char *interp, const char *script, const char *args[])
{
	char *argv[12], *out_path = xasprintf("%s/example.out", dir), *out;
	char *path = xasprintf("%s/contrib/website/%s", tu_srcdir(), script);
	int n = 0, rc;

	argv[n++] = (char *)interp;
	argv[n++] = path;
	argv[n++] = db_path;
	for (int i = 0; args[i] != NULL && n < 11; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	rc = tu_run_cmd(argv, out_path, 20000);
	out = tu_read_file(out_path, NULL);
	ck_assert_msg(rc == 0, "%s %s exited %d: %s", interp, script, rc,
	    out != NULL ? out : "");
	free(path);
	free(out_path);
	return out;
}

/* Waits until a message in the Maildir contains every one of want; returns
 * it (caller frees), or fails the test naming what arrived. */
static char *
wait_for_message(const char *const want[])
{
	for (int waited = 0; waited < tu_timeout_ms(10000); waited += 100) {
		DIR *d = opendir(maildir_new);
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL) {
			char *p, *s;
			bool all = true;

			if (e->d_name[0] == '.')
				continue;
			p = xasprintf("%s/%s", maildir_new, e->d_name);
			s = tu_read_file(p, NULL);
			free(p);
			for (int i = 0; s != NULL && want[i] != NULL; i++)
				all = all && strstr(s, want[i]) != NULL;
			if (s != NULL && all) {
				closedir(d);
				return s;
			}
			free(s);
		}
		if (d != NULL)
			closedir(d);
		tu_sleep_ms(100);
	}
	{
		char *log = tu_read_file(log_path, NULL);

		ck_abort_msg("no message with '%s' after 10 s (%d in %s); "
			     "daemon log:\n%s",
		    want[0], tu_count_files(maildir_new), maildir_new,
		    log != NULL ? log : "");
		free(log);
	}
	return NULL;
}

/* The reference the example printed: "booking WEB-XXXXXXXX: ...". */
static char *
reference_of(const char *out)
{
	const char *at = strstr(out, "booking WEB-");

	ck_assert_msg(at != NULL, "%s", out);
	at += strlen("booking ");
	return xstrndup(at, strcspn(at, ":"));
}

/* A booking, a sign-up and a cancellation written by the example, each
 * answered by the daemon. */
static void
check_example(const char *interp, const char *script)
{
	const char *book[] = { "book", "1", "sarah.jones@example.org", "Sarah",
		"Jones", NULL };
	const char *subscribe[] = { "subscribe", "pat@example.org", "Pat",
		"monthly", NULL };
	const char *cancel[] = { "cancel", NULL, NULL };
	char *out, *ref, *msg;

	out = run_example(interp, script, book);
	ref = reference_of(out);
	free(out);
	{
		const char *want[] = {
			"To: Sarah Jones <sarah.jones@example.org>",
			"Subject: ", ref, "Nurturing Programme", NULL
		};

		msg = wait_for_message(want);
		free(msg);
	}
	out = run_example(interp, script, subscribe);
	ck_assert_msg(strstr(out, "pending") != NULL, "%s", out);
	free(out);
	{
		const char *want[] = { "To: Pat <pat@example.org>",
			"/confirm?token=", NULL };

		msg = wait_for_message(want);
		free(msg);
	}
	cancel[1] = ref;
	out = run_example(interp, script, cancel);
	ck_assert_msg(strstr(out, "cancelled") != NULL, "%s", out);
	free(out);
	{
		char *sql =
		    xasprintf("SELECT count(*) FROM messages WHERE kind ="
			      " 'booking_cancelled' AND state = 'sent'");

		for (int waited = 0; waited < tu_timeout_ms(10000) &&
		     tu_db_int(db_path, sql) == 0;
		     waited += 100)
			tu_sleep_ms(100);
		ck_assert_int_eq(tu_db_int(db_path, sql), 1);
		free(sql);
	}
	/* Both sides used one database: the rows are the website's. */
	ck_assert_int_eq(
	    tu_db_int(db_path,
		"SELECT count(*) FROM bookings WHERE status = 'cancelled'"),
	    1);
	free(ref);
}

START_TEST(test_website_python_booking_and_signup_get_their_mail)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		ck_abort_msg("python3 is needed (contrib/install-deps.sh)");
	check_example("/usr/bin/python3", "website.py");
}
END_TEST

START_TEST(test_website_php_booking_and_signup_get_their_mail)
{
	if (access("/usr/bin/php", X_OK) != 0) {
		printf("skipped: php is not installed (php-cli and "
		       "php-sqlite3; contrib/install-deps.sh --tests)\n");
		return;
	}
	check_example("/usr/bin/php", "website.php");
}
END_TEST

static Suite *
website_suite(void)
{
	Suite *s = suite_create("website");
	TCase *tc = tcase_create("website");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, test_website_python_booking_and_signup_get_their_mail);
	tcase_add_test(tc, test_website_php_booking_and_signup_get_their_mail);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(website_suite());
}
