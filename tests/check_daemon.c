/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_daemon: familymaild from the outside, as an administrator runs
 * it: --once on a temporary database and Maildir, a second run that
 * sends nothing new, a booking noticed while the daemon runs, SIGHUP
 * with a broken config, SIGTERM, and who it runs as.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "testutil.h"
#include "util.h"

#define NOW "2026-11-23T09:00:00Z"

static char *dir, *conf, *daemon_path, *log_path, *maildir_new;

/* The test config with extra [daemon] lines and user = user (NULL: the
 * tests' own user; "": no user line). */
static char *
config_text_as(const char *user, const char *extra)
{
	struct tu_config c = { .daemon_extra = extra, .user = user };

	return tu_config_text(&c);
}

/* Run as the tests' own user, as root or not. */
static char *
config_text(const char *extra)
{
	return config_text_as(NULL, extra);
}

static void
setup(void)
{
	char *text, *sql, *path;
	sqlite3 *db;

	dir = tu_mkdtemp();
	text = config_text("");
	conf = tu_write_file(dir, "familymail.conf", text);
	free(text);
	daemon_path = xasprintf("%s/src/familymaild", tu_builddir());
	log_path = xasprintf("%s/daemon.log", dir);
	maildir_new = xasprintf("%s/Maildir/new", dir);
	db = tu_db_new(dir);
	path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
	sql = tu_read_file(path, NULL);
	tu_sql(db, sql);
	free(sql);
	free(path);
	db_close(db);
}

static void
teardown(void)
{
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(conf);
	free(daemon_path);
	free(log_path);
	free(maildir_new);
}

static int
run_once(void)
{
	return tu_daemon_once(conf, NOW, log_path, 20000);
}

static char *
db_text(const char *sql)
{
	char *path = xasprintf("%s/familymail.db", dir);
	char *s = tu_db_text(path, sql);

	free(path);
	return s;
}

/* The contents of every file in Maildir/new, concatenated in name
 * order with a separator line. */
static char *
maildir_all(int *count)
{
	struct dirent **names;
	struct buf b;
	int n;

	buf_init(&b);
	n = scandir(maildir_new, &names, NULL, alphasort);
	*count = 0;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			char *p =
			    xasprintf("%s/%s", maildir_new, names[i]->d_name);
			char *s = tu_read_file(p, NULL);

			ck_assert(strstr(names[i]->d_name, ".eml") != NULL);
			buf_printf(&b, "=== %s\n%s", names[i]->d_name, s);
			free(s);
			free(p);
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return buf_take(&b);
}

START_TEST(test_daemon_once_delivers_one_message_per_confirmed_booking)
{
	char *all, *states;
	int n;

	ck_assert_int_eq(run_once(), 0);
	all = maildir_all(&n);
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(all,
	    "To: Sarah Jones "
	    "<sarah.jones@example.org>"));
	ck_assert_ptr_nonnull(strstr(all, "sian.llyr@example.org"));
	ck_assert_ptr_nonnull(strstr(all, "fatima@example.org"));
	ck_assert_ptr_null(strstr(all, "tom@example.org"));
	ck_assert_ptr_null(strstr(all, "old@example.org"));
	ck_assert_ptr_nonnull(strstr(all, "Return-Path: <bounces+"));
	ck_assert_ptr_nonnull(strstr(all, "@bounces.example.org>"));
	ck_assert_ptr_nonnull(strstr(all, "multipart/alternative"));
	/* The course's time in London, in the text part. */
	ck_assert_ptr_nonnull(strstr(all, "FC-1001"));
	free(all);
	states = db_text("SELECT group_concat(state, ',') FROM messages");
	ck_assert_str_eq(states, "sent,sent,sent");
	free(states);
}
END_TEST

START_TEST(test_daemon_once_twice_sends_nothing_new)
{
	char *all;
	int n;

	ck_assert_int_eq(run_once(), 0);
	ck_assert_int_eq(run_once(), 0);
	all = maildir_all(&n);
	ck_assert_int_eq(n, 3);
	free(all);
}
END_TEST

START_TEST(test_daemon_refuses_a_broken_config_with_exit_78)
{
	char *text = config_text("colour = blue\n");
	char *log;

	free(conf);
	conf = tu_write_file(dir, "familymail.conf", text);
	free(text);
	char *argv[] = { daemon_path, (char *)"-c", conf, (char *)"--once",
		NULL };
	ck_assert_int_eq(tu_run_cmd(argv, log_path, 10000), 78);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(strstr(log, "familymail.conf:6:") != NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "colour"));
	free(log);
	ck_assert_int_eq(tu_count_files(maildir_new), -1);
}
END_TEST

/* --version names the malloc in use: tcmalloc where configure found it
 * (the daemon's threads free each other's memory), proved by the
 * function the program calls, not by what it was linked with. Under
 * valgrind, memcheck's malloc is in use instead. */
START_TEST(test_daemon_version_names_the_malloc_in_use)
{
	char *argv[] = { daemon_path, (char *)"--version", NULL };
	char *out;

	ck_assert_int_eq(tu_run_cmd(argv, log_path, 10000), 0);
	out = tu_read_file(log_path, NULL);
	ck_assert_msg(strncmp(out, "familymaild " PACKAGE_VERSION "\n",
			  strlen("familymaild " PACKAGE_VERSION "\n")) == 0,
	    "%s", out);
	if (getenv("FM_VALGRIND") != NULL)
		ck_assert_ptr_nonnull(strstr(out, "\nmalloc: "));
#ifdef HAVE_TCMALLOC
	else
		ck_assert_msg(
		    strstr(out, "\nmalloc: tcmalloc (gperftools ") != NULL,
		    "%s", out);
#else
	else
		ck_assert_msg(
		    strstr(out, "\nmalloc: the C library's\n") != NULL, "%s",
		    out);
#endif
	free(out);
}
END_TEST

/* A database it cannot use is refused with the reason in words: not
 * "Invalid or incomplete multibyte or wide character" for a file that
 * is not a database, and SQLite's own words for a migration that
 * failed on a table already there. Nothing is sent. */
START_TEST(test_daemon_names_why_it_cannot_use_its_database)
{
	static const struct {
		const char *what;
		const char *want[2];
	} cases[] = {
		{ "garbage",
		    { "cannot use database",
			"the file is not a database, or is corrupt" } },
		{ "folder", { "cannot use database", "Is a directory" } },
		{ "clash",
		    { "migrate failed step=1: table messages already "
		      "exists",
			"cannot use database" } },
	};
	char *db = xasprintf("%s/familymail.db", dir);
	char *argv[] = { daemon_path, (char *)"-c", conf, (char *)"--once",
		NULL };

	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *log;

		tu_rmtree(db);
		if (strcmp(cases[i].what, "garbage") == 0) {
			free(tu_write_file(dir, "familymail.db",
			    "this is not an SQLite database, only text that "
			    "is long enough to be read as a header by it\n"));
		} else if (strcmp(cases[i].what, "folder") == 0) {
			ck_assert_int_eq(mkdir(db, 0700), 0);
		} else {
			sqlite3 *h;

			ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
			ck_assert_int_eq(
			    sqlite3_exec(h, "CREATE TABLE messages (x);", NULL,
				NULL, NULL),
			    SQLITE_OK);
			sqlite3_close(h);
		}
		unlink(log_path);
		ck_assert_int_eq(tu_run_cmd(argv, log_path, 10000), 1);
		log = tu_read_file(log_path, NULL);
		ck_assert_ptr_nonnull(log);
		for (size_t k = 0; k < 2; k++)
			ck_assert_msg(strstr(log, cases[i].want[k]) != NULL,
			    "%s: no \"%s\" in:\n%s", cases[i].what,
			    cases[i].want[k], log);
		ck_assert_ptr_null(strstr(log, "multibyte"));
		free(log);
		ck_assert_int_le(tu_count_files(maildir_new), 0);
	}
	tu_rmtree(db);
	free(db);
}
END_TEST

static int
wait_for_files(int want, int timeout_ms)
{
	int n = 0;

	timeout_ms = tu_timeout_ms(timeout_ms);
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		n = tu_count_files(maildir_new);
		if (n >= want)
			return n;
		tu_sleep_ms(50);
	}
	return n;
}

START_TEST(test_daemon_notices_a_new_booking_and_stops_on_sigterm)
{
	char *argv[] = { daemon_path, (char *)"-f", (char *)"-c", conf,
		(char *)"--now", (char *)NOW, NULL };
	char *path = xasprintf("%s/familymail.db", dir), *log;
	sqlite3 *db;
	int pid;

	pid = tu_spawn(argv, log_path);
	ck_assert_int_eq(wait_for_files(3, 10000), 3);
	/* The website books a place while the daemon runs. */
	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO bookings (id, course_id, delegate_id, "
	    "reference, created_at) VALUES (7, 2, 5, 'FC-1007', "
	    "'2026-11-23T09:05:00Z')");
	db_close(db);
	ck_assert_int_eq(wait_for_files(4, 5000), 4);
	/* A broken config on SIGHUP is reported and the old one kept. */
	{
		char *text = config_text("colour = blue\n");

		free(tu_write_file(dir, "familymail.conf", text));
		free(text);
	}
	kill(pid, SIGHUP);
	tu_sleep_ms(300);
	ck_assert_int_eq(kill(pid, 0), 0);
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 1000), 0);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(
	    strstr(log, "keeping the running config") != NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "daemon stopped"));
	free(log);
	free(path);
}
END_TEST

/* A second daemon on the same database would put the first one's
 * messages in flight back in the queue and send them twice. */
START_TEST(test_daemon_second_one_on_a_database_refuses_with_exit_75)
{
	char *argv[] = { daemon_path, (char *)"-f", (char *)"-c", conf,
		(char *)"--now", (char *)NOW, NULL };
	char *log2 = xasprintf("%s/second.log", dir), *log, *want;
	char *fm = xasprintf("%s/src/familymail", tu_builddir());
	char *status[] = { fm, (char *)"-c", conf, (char *)"status", NULL };
	int pid, pid2;

	pid = tu_spawn(argv, log_path);
	ck_assert_int_eq(wait_for_files(3, 10000), 3);
	/* A cron --once run beside it, and a second daemon. */
	ck_assert_int_eq(tu_daemon_once(conf, NOW, log2, 20000), 75);
	pid2 = tu_spawn(argv, log2);
	ck_assert_int_eq(tu_wait(pid2, 10000), 75);
	log = tu_read_file(log2, NULL);
	want = xasprintf("another familymaild (pid %d) is using ", pid);
	ck_assert_msg(strstr(log, want) != NULL, "%s", log);
	ck_assert_msg(strstr(log, "requeue") == NULL, "%s", log);
	free(want);
	free(log);
	/* The admin tool works beside the daemon. */
	ck_assert_int_eq(tu_run_cmd(status, log2, 10000), 0);
	ck_assert_int_eq(tu_count_files(maildir_new), 3);
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 5000), 0);
	/* Once it is gone, the next run may start. */
	ck_assert_int_eq(run_once(), 0);
	free(fm);
	free(log2);
}
END_TEST

START_TEST(test_daemon_keeps_its_templates_when_a_reload_finds_one_broken)
{
	char *copy = xasprintf("%s/templates", dir), *text, *log, *all;
	char *src = xasprintf("%s/templates", tu_srcdir());
	char *cp[] = { (char *)"/bin/cp", (char *)"-R", src, copy, NULL };
	char *argv[] = { daemon_path, (char *)"-f", (char *)"-c", conf,
		(char *)"--now", (char *)NOW, NULL };
	char *path = xasprintf("%s/familymail.db", dir), *tpath;
	sqlite3 *db;
	int pid, n;

	ck_assert_int_eq(tu_run_cmd(cp, log_path, 10000), 0);
	text = config_text("");
	/* The same config, with the templates from the copy. */
	{
		char *at = strstr(text, "templates = ");
		char *fixed;

		ck_assert_ptr_nonnull(at);
		fixed = xasprintf("%.*stemplates = %s\n%s", (int)(at - text),
		    text, copy, strchr(at, '\n') + 1);
		free(text);
		text = fixed;
	}
	free(conf);
	conf = tu_write_file(dir, "familymail.conf", text);
	free(text);
	argv[3] = conf;
	pid = tu_spawn(argv, log_path);
	ck_assert_int_eq(wait_for_files(3, 10000), 3);
	/* An administrator saves a template with an unclosed section. */
	tpath = xasprintf("%s/booking_confirmation", copy);
	free(tu_write_file(
	    tpath, "subject.mustache", "Your place {{#course}}on {{title}}\n"));
	kill(pid, SIGHUP);
	tu_sleep_ms(300);
	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO bookings (id, course_id, delegate_id, "
	    "reference, created_at) VALUES (7, 2, 5, 'FC-1007', "
	    "'2026-11-23T09:05:00Z')");
	db_close(db);
	ck_assert_int_eq(wait_for_files(4, 5000), 4);
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 2000), 0);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(
	    strstr(log, "booking_confirmation/subject.mustache:1:") != NULL,
	    "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "keeping the running config"));
	free(log);
	/* The new booking's confirmation used the templates still loaded. */
	all = maildir_all(&n);
	ck_assert_int_eq(n, 4);
	ck_assert_ptr_null(strstr(all, "Subject: Your place on\n"));
	ck_assert_ptr_nonnull(strstr(all, "FC-1007"));
	free(all);
	free(tpath);
	free(path);
	free(src);
	free(copy);
}
END_TEST

START_TEST(test_daemon_started_as_root_becomes_its_user)
{
	struct passwd *pw = getpwnam("nobody");
	char *own, *cfgp, *db, *argv[6];
	struct stat st;

	if (geteuid() != 0 || pw == NULL) {
		printf("skipped: needs root and a user 'nobody'\n");
		return;
	}
	/* A state folder the user owns; the config stays root's. */
	own = xasprintf("%s/state", dir);
	ck_assert_int_eq(mkdir(own, 0700), 0);
	ck_assert_int_eq(chown(own, pw->pw_uid, pw->pw_gid), 0);
	ck_assert_int_eq(chmod(dir, 0711), 0);
	db = xasprintf("%s/familymail.db", own);
	{
		struct tu_config c = { .database = db, .user = "nobody" };

		cfgp = tu_write_config(dir, "root.conf", &c);
	}
	argv[0] = daemon_path;
	argv[1] = (char *)"-c";
	argv[2] = cfgp;
	argv[3] = (char *)"--once";
	argv[4] = NULL;
	/* The Maildir (relative to the config) is not the user's: the run
	 * fails there, after the database was made by the user. */
	tu_run_cmd(argv, log_path, 20000);
	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_uint_eq(st.st_uid, pw->pw_uid);
	{
		char *log = tu_read_file(log_path, NULL);

		ck_assert_msg(
		    strstr(log, "running as user=nobody") != NULL, "%s", log);
		free(log);
	}
	free(db);
	free(cfgp);
	free(own);
}
END_TEST

/* A folder the user owns with a copy of the test database, for a daemon
 * started as root that becomes pw: the layout of the package (state
 * folder the account's, config and secrets root's). Returns the folder. */
static char *
state_dir_for(const struct passwd *pw)
{
	char *own = xasprintf("%s/state", dir), *path, *sql;
	const char *names[] = { "familymail.db", "familymail.db-wal",
		"familymail.db-shm" };
	sqlite3 *db;

	ck_assert_int_eq(mkdir(own, 0700), 0);
	db = tu_db_new(own);
	path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
	sql = tu_read_file(path, NULL);
	tu_sql(db, sql);
	free(sql);
	free(path);
	db_close(db);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path = xasprintf("%s/%s", own, names[i]);
		if (access(path, F_OK) == 0)
			ck_assert_int_eq(
			    chown(path, pw->pw_uid, pw->pw_gid), 0);
		free(path);
	}
	ck_assert_int_eq(chown(own, pw->pw_uid, pw->pw_gid), 0);
	ck_assert_int_eq(chmod(dir, 0711), 0);
	return own;
}

/* The config of a daemon started as root that becomes nobody, with its
 * database and Maildir in own, a token secret and the pages on port. */
static char *
root_config_text(const char *own, const char *from, int port)
{
	char *db = xasprintf("%s/familymail.db", own);
	char *maildir = xasprintf("%s/Maildir", own);
	char *from_line = xasprintf("%s <courses@example.org>", from);
	char *sections =
	    xasprintf("[unsubscribe]\n"
		      "url = https://example.org/unsubscribe?token={token}\n"
		      "secret_file = token-secret\n"
		      "\n[http]\nlisten = 127.0.0.1:%d\n",
		port);
	struct tu_config c = { .database = db,
		.user = "nobody",
		.from = from_line,
		.reply_to = "",
		.maildir = maildir,
		.sections = sections };
	char *text = tu_config_text(&c);

	free(db);
	free(maildir);
	free(from_line);
	free(sections);
	return text;
}

static int
wait_for_files_in(const char *folder, int want, int timeout_ms)
{
	int n = 0;

	timeout_ms = tu_timeout_ms(timeout_ms);
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		n = tu_count_files(folder);
		if (n >= want)
			return n;
		tu_sleep_ms(50);
	}
	return n;
}

/* The secrets model: secrets are root's with the daemon's group, 0640;
 * the daemon reads them as its account at start and on SIGHUP, after it
 * dropped root. */
START_TEST(test_daemon_reloads_its_secret_after_dropping_root)
{
	struct passwd *pw = getpwnam("nobody");
	char *own, *text, *cfgp, *secret, *newdir, *log, *all, *dbp;
	char *argv[] = { daemon_path, (char *)"-f", (char *)"-c", NULL,
		(char *)"--now", (char *)NOW, NULL };
	int pid, port;
	sqlite3 *db;

	if (geteuid() != 0 || pw == NULL) {
		printf("skipped: needs root and a user 'nobody'\n");
		return;
	}
	own = state_dir_for(pw);
	newdir = xasprintf("%s/Maildir/new", own);
	secret = tu_write_file(dir, "token-secret",
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n");
	ck_assert_int_eq(chown(secret, 0, pw->pw_gid), 0);
	ck_assert_int_eq(chmod(secret, 0640), 0);
	port = tu_free_port();
	text = root_config_text(own, "Family Courses", port);
	cfgp = tu_write_file(dir, "root.conf", text);
	free(text);
	argv[3] = cfgp;
	pid = tu_spawn(argv, log_path);
	ck_assert_int_eq(wait_for_files_in(newdir, 3, 10000), 3);

	/* The administrator renames the sender and reloads. */
	text = root_config_text(own, "Family Courses Reloaded", port);
	free(tu_write_file(dir, "root.conf", text));
	free(text);
	kill(pid, SIGHUP);
	for (int i = 0; i < tu_timeout_ms(5000) / 50; i++) {
		log = tu_read_file(log_path, NULL);
		if (strstr(log, "daemon reload") != NULL &&
		    (strstr(log, "daemon reloaded") != NULL ||
			strstr(log, "reload failed") != NULL)) {
			free(log);
			break;
		}
		free(log);
		tu_sleep_ms(50);
	}
	/* A booking and a sign-up after the reload: the confirmation
	 * comes from the new sender, the opt-in carries a link signed with
	 * the secret read again as nobody. */
	dbp = xasprintf("%s/familymail.db", own);
	ck_assert_int_eq(db_open(dbp, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO bookings (id, course_id, delegate_id, "
	    "reference, created_at) VALUES (7, 2, 5, 'FC-1007', "
	    "'2026-11-23T09:05:00Z');"
	    "INSERT INTO subscribers (id, email, name, status, created_at) "
	    "VALUES (1, 'parent@example.org', 'Pat', 'pending', "
	    "'2026-11-23T09:05:00Z');");
	db_close(db);
	ck_assert_int_eq(wait_for_files_in(newdir, 5, 10000), 5);
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 5000), 0);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(strstr(log, "running as user=nobody") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "daemon reloaded") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "reload failed") == NULL, "%s", log);
	free(log);
	{
		char *save = maildir_new;

		maildir_new = newdir;
		all = maildir_all(&(int){ 0 });
		maildir_new = save;
	}
	ck_assert_msg(strstr(all,
			  "From: Family Courses Reloaded "
			  "<courses@example.org>") != NULL,
	    "%s", all);
	ck_assert_ptr_nonnull(strstr(all, "FC-1007"));
	ck_assert_ptr_nonnull(strstr(all, "To: Pat <parent@example.org>"));
	ck_assert_ptr_nonnull(
	    strstr(all, "https://example.org/confirm?token="));
	free(all);
	free(dbp);
	free(cfgp);
	free(secret);
	free(newdir);
	free(own);
}
END_TEST

/* A secret only root can read would be read at start and fail on every
 * SIGHUP: the start refuses it, naming the file. */
START_TEST(test_daemon_as_root_refuses_a_secret_only_root_can_read)
{
	struct passwd *pw = getpwnam("nobody");
	char *own, *text, *cfgp, *secret, *log, *count, *dbp;
	char *argv[] = { daemon_path, (char *)"-c", NULL, (char *)"--once",
		(char *)"--now", (char *)NOW, NULL };

	if (geteuid() != 0 || pw == NULL) {
		printf("skipped: needs root and a user 'nobody'\n");
		return;
	}
	own = state_dir_for(pw);
	secret = tu_write_file(dir, "token-secret",
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n");
	ck_assert_int_eq(chmod(secret, 0600), 0);
	text = root_config_text(own, "Family Courses", tu_free_port());
	cfgp = tu_write_file(dir, "root.conf", text);
	free(text);
	argv[2] = cfgp;
	ck_assert_int_eq(tu_run_cmd(argv, log_path, 20000), 78);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(
	    strstr(log, "root.conf:20: [unsubscribe] secret_file: ") != NULL,
	    "%s", log);
	ck_assert_msg(
	    strstr(log, "the daemon's account cannot read it") != NULL, "%s",
	    log);
	free(log);
	dbp = xasprintf("%s/familymail.db", own);
	count = tu_db_text(dbp, "SELECT count(*) FROM messages");
	ck_assert_str_eq(count, "0");
	free(count);
	free(dbp);
	free(cfgp);
	free(secret);
	free(own);
}
END_TEST

START_TEST(test_daemon_as_root_refuses_to_start_without_a_user)
{
	char *text, *log, *want, *count;

	if (geteuid() != 0) {
		printf("skipped: the refusal is for root; the tests run as "
		       "%s\n",
		    tu_user());
		return;
	}
	text = config_text_as("", "");
	free(conf);
	conf = tu_write_file(dir, "familymail.conf", text);
	free(text);
	ck_assert_int_eq(run_once(), 78);
	log = tu_read_file(log_path, NULL);
	want = xasprintf("refusing to run as root: set [daemon] user (the "
			 "account to run as) in %s",
	    conf);
	ck_assert_msg(strstr(log, want) != NULL, "%s", log);
	/* Nothing was sent or even queued. */
	ck_assert_int_eq(tu_count_files(maildir_new), -1);
	count = db_text("SELECT count(*) FROM messages");
	ck_assert_str_eq(count, "0");
	free(count);
	free(want);
	free(log);
}
END_TEST

START_TEST(test_daemon_runs_as_the_user_its_config_names)
{
	char *log, *warn;
	int n;

	/* setup() names the tests' own user; as root that is "root", the
	 * explicit opt-in, which is allowed with one warning. */
	ck_assert_int_eq(run_once(), 0);
	free(maildir_all(&n));
	ck_assert_int_eq(n, 3);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(strstr(log, "refusing") == NULL, "%s", log);
	warn = strstr(log, "daemon running as root");
	if (geteuid() == 0) {
		ck_assert_msg(warn != NULL, "%s", log);
		ck_assert_msg(
		    strstr(warn + 1, "daemon running as root") == NULL, "%s",
		    log);
	} else {
		ck_assert_msg(warn == NULL, "%s", log);
	}
	free(log);
}
END_TEST

START_TEST(test_daemon_skips_a_bad_record_and_sends_the_others)
{
	char *path = xasprintf("%s/familymail.db", dir), *all, *err;
	sqlite3 *db;
	int n;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	/* An address that would add a recipient, and a name that would
	 * add a header: neither may reach the message. */
	tu_sql(db,
	    "UPDATE delegates SET email = 'evil@example.org, "
	    "victim@example.net' WHERE id = 1;"
	    "UPDATE delegates SET first_name = 'Siân' || char(13, 10) "
	    "|| 'Bcc: victim@example.net' WHERE id = 2;");
	db_close(db);
	ck_assert_int_eq(run_once(), 0);
	all = maildir_all(&n);
	ck_assert_int_eq(n, 2);
	/* The name may reach the body as text; never the header. */
	for (char *m = strstr(all, "=== "); m != NULL;
	     m = strstr(m + 4, "=== ")) {
		char *end = strstr(m, "\n\n");

		ck_assert_ptr_nonnull(end);
		*end = '\0';
		ck_assert_msg(strstr(m, "\nBcc:") == NULL, "%s", m);
		*end = '\n';
	}
	ck_assert_ptr_null(strstr(all, "victim@example.net>"));
	free(all);
	err = db_text("SELECT state || ' ' || last_error FROM messages "
		      "WHERE booking_id = 1");
	ck_assert_msg(strncmp(err, "failed ", 7) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "booking id=1"));
	/* The error says which field, not "Invalid argument". */
	ck_assert_msg(strstr(err,
			  "the recipient's address is not one plain "
			  "address") != NULL,
	    "%s", err);
	free(err);
	free(path);
}
END_TEST

/* Rows the website wrote in shapes familymail cannot use: each is
 * reported once by table, id and reason, and nothing is sent for it
 * until it is fixed; the good rows are sent as usual. */
START_TEST(test_daemon_reports_each_unusable_row_once)
{
	char *path = xasprintf("%s/familymail.db", dir), *log, *fm, *out;
	char *status_log = xasprintf("%s/status.out", dir), *p;
	sqlite3 *db;
	int n = 0;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	/* The website may write with foreign keys off. */
	tu_sql(db,
	    "PRAGMA foreign_keys = OFF;"
	    "INSERT INTO courses (id, title, starts_at, venue) VALUES"
	    " (11, 'Slashed', '20/12/2026 09:30', 'Cardiff'),"
	    " (12, 'Vague', 'tomorrow', 'Online'),"
	    " (13, 'Date only', '2026-12-23', 'Cardiff');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at) VALUES"
	    " (11, 11, 1, 'FC-1011', '2026-11-22T09:00:00Z'),"
	    " (12, 12, 2, 'FC-1012', '2026-11-22T09:00:00Z'),"
	    " (13, 13, 3, 'FC-1013', '2026-11-22T09:00:00Z'),"
	    " (14, 99, 4, 'FC-1014', '2026-11-22T09:00:00Z'),"
	    " (15, 2, 98, 'FC-1015', '2026-11-22T09:00:00Z');"
	    "INSERT INTO posts (id, title, url, published_at) VALUES"
	    " (1, 'Dated badly', 'https://blog.example.org/1', '04/12/2026');");
	db_close(db);
	ck_assert_int_eq(run_once(), 0);
	/* The three good confirmations, nothing for the others. */
	ck_assert_int_eq(tu_count_files(maildir_new), 3);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(strstr(log,
			  "rows unusable table=courses id=11 "
			  "reason=\"starts_at '20/12/2026 09:30' is "
			  "not a time") != NULL,
	    "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "table=courses id=12 "));
	ck_assert_ptr_nonnull(strstr(log,
	    "table=courses id=13 reason=\"starts_at '2026-12-23' has no "
	    "time of day\""));
	ck_assert_ptr_nonnull(strstr(log,
	    "table=bookings id=14 reason=\"course_id 99 names no course\""));
	ck_assert_ptr_nonnull(strstr(log,
	    "table=bookings id=15 "
	    "reason=\"delegate_id 98 names no "
	    "delegate\""));
	ck_assert_ptr_nonnull(strstr(log,
	    "table=posts id=1 "
	    "reason=\"published_at '04/12/2026' "
	    "is not a time"));
	free(log);
	/* Once: a second run reports nothing again. */
	free(tu_write_file(dir, "daemon.log", ""));
	ck_assert_int_eq(run_once(), 0);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(strstr(log, "rows unusable") == NULL, "%s", log);
	free(log);
	/* status lists them. */
	fm = xasprintf("%s/src/familymail", tu_builddir());
	{
		char *argv[] = { fm, (char *)"-c", conf, (char *)"status",
			NULL };

		ck_assert_int_eq(tu_run_cmd(argv, status_log, 10000), 0);
	}
	out = tu_read_file(status_log, NULL);
	ck_assert_msg(
	    strstr(out, "rows familymail cannot use") != NULL, "%s", out);
	for (p = strstr(out, "has no time of day"); p != NULL;
	     p = strstr(p + 1, "has no time of day"))
		n++;
	ck_assert_int_eq(n, 1);
	free(out);
	/* The website fixes the date: the confirmation goes, the report
	 * goes. */
	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db,
	    "UPDATE courses SET starts_at = '2026-12-23T09:30:00Z'"
	    " WHERE id = 13");
	db_close(db);
	ck_assert_int_eq(run_once(), 0);
	ck_assert_int_eq(tu_count_files(maildir_new), 4);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(
	    strstr(log, "rows fixed table=courses id=13") != NULL, "%s", log);
	free(log);
	ck_assert_int_eq(tu_db_int(path,
			     "SELECT count(*) FROM unusable_rows"
			     " WHERE tbl = 'courses' AND row_id = 13"),
	    0);
	free(fm);
	free(status_log);
	free(path);
}
END_TEST

/* A message queued before the website corrected the delegate's address
 * goes to the address the record has when it is sent, which is
 * recorded; one whose booking the website deleted goes to nobody. */
START_TEST(test_daemon_sends_a_retry_to_the_corrected_address)
{
	char *path = xasprintf("%s/familymail.db", dir), *all, *log;
	sqlite3 *db;
	int n;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
	    " course_id, attempts, created_at, next_attempt_at, updated_at)"
	    " VALUES ('confirm:booking:1', 'booking_confirmation',"
	    " 'sarah.old@example.org', 1, 1, 1, '2026-11-23T08:00:00Z',"
	    " '2026-11-23T08:30:00Z', '2026-11-23T08:00:00Z'),"
	    " ('confirm:booking:99', 'booking_confirmation',"
	    " 'gone@example.org', 99, 1, 1, '2026-11-23T08:00:00Z',"
	    " '2026-11-23T08:30:00Z', '2026-11-23T08:00:00Z');");
	db_close(db);
	ck_assert_int_eq(run_once(), 0);
	all = maildir_all(&n);
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_null(strstr(all, "sarah.old@"));
	ck_assert_ptr_null(strstr(all, "gone@"));
	ck_assert_ptr_nonnull(strstr(all, "To: Sarah Jones <sarah.jones@"));
	free(all);
	all = db_text("SELECT state || ' ' || recipient FROM messages"
		      " WHERE dedupe_key = 'confirm:booking:1'");
	ck_assert_str_eq(all, "sent sarah.jones@example.org");
	free(all);
	all = db_text("SELECT state FROM messages"
		      " WHERE dedupe_key = 'confirm:booking:99'");
	ck_assert_str_eq(all, "cancelled");
	free(all);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(strstr(log,
			  "recipient changed id=1 "
			  "from=sarah.old@example.org "
			  "to=sarah.jones@example.org") != NULL,
	    "%s", log);
	free(log);
	free(path);
}
END_TEST

/* Sets path's access and modification times to hours ago. */
static void
age_file(const char *path, int hours)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= (time_t)hours * 3600;
	ts[1] = ts[0];
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A crash left files in the Maildir's tmp/: those untouched for more
 * than 36 hours go at the next start, newer ones (a write that may be
 * in progress) and anything that is not a file stay. */
START_TEST(test_daemon_removes_stale_maildir_temp_files_at_start)
{
	static const char *const subdirs[] = { "Maildir", "Maildir/tmp",
		"Maildir/new", "Maildir/cur", "Maildir/tmp/folder" };
	char *tmp = xasprintf("%s/Maildir/tmp", dir), *p, *log;
	const char *old[] = { "1796000000.M1P9Q1.host.eml",
		"1796000001.M2P9Q2.host.eml" };
	const char *young[] = { "1796200000.M3P9Q3.host.eml",
		"1796200001.M4P9Q4.host.eml" };

	for (size_t i = 0; i < UTIL_ARRAY_LEN(subdirs); i++) {
		p = xasprintf("%s/%s", dir, subdirs[i]);
		ck_assert_int_eq(mkdir(p, 0700), 0);
		free(p);
	}
	for (size_t i = 0; i < 2; i++) {
		p = tu_write_file(tmp, old[i], "Return-Path: <x>\nSubj");
		age_file(p, i == 0 ? 37 : 24 * 30);
		free(p);
		p = tu_write_file(tmp, young[i], "Return-Path: <x>\nSubj");
		age_file(p, i == 0 ? 35 : 1);
		free(p);
	}
	p = xasprintf("%s/folder", tmp);
	age_file(p, 48);
	free(p);
	ck_assert_int_eq(run_once(), 0);
	for (size_t i = 0; i < 2; i++) {
		p = xasprintf("%s/%s", tmp, old[i]);
		ck_assert_msg(access(p, F_OK) == -1, "%s is still there", p);
		free(p);
		p = xasprintf("%s/%s", tmp, young[i]);
		ck_assert_msg(access(p, F_OK) == 0, "%s was removed", p);
		free(p);
	}
	p = xasprintf("%s/folder", tmp);
	ck_assert_int_eq(access(p, F_OK), 0);
	free(p);
	/* The messages of the run went out as usual. */
	ck_assert_int_eq(tu_count_files(maildir_new), 3);
	log = tu_read_file(log_path, NULL);
	ck_assert_ptr_nonnull(log);
	p = xasprintf("maildir removed stale temporary files folder=%s "
		      "removed=2 failed=0",
	    tmp);
	ck_assert_msg(strstr(log, p) != NULL, "no '%s' in:\n%s", p, log);
	free(p);
	free(log);
	free(tmp);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("daemon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, test_daemon_once_delivers_one_message_per_confirmed_booking);
	tcase_add_test(tc, test_daemon_once_twice_sends_nothing_new);
	tcase_add_test(tc, test_daemon_refuses_a_broken_config_with_exit_78);
	tcase_add_test(tc, test_daemon_version_names_the_malloc_in_use);
	tcase_add_test(tc, test_daemon_names_why_it_cannot_use_its_database);
	tcase_add_test(
	    tc, test_daemon_notices_a_new_booking_and_stops_on_sigterm);
	tcase_add_test(
	    tc, test_daemon_second_one_on_a_database_refuses_with_exit_75);
	tcase_add_test(
	    tc, test_daemon_keeps_its_templates_when_a_reload_finds_one_broken);
	tcase_add_test(tc, test_daemon_started_as_root_becomes_its_user);
	tcase_add_test(tc, test_daemon_as_root_refuses_to_start_without_a_user);
	tcase_add_test(tc, test_daemon_reloads_its_secret_after_dropping_root);
	tcase_add_test(
	    tc, test_daemon_as_root_refuses_a_secret_only_root_can_read);
	tcase_add_test(tc, test_daemon_runs_as_the_user_its_config_names);
	tcase_add_test(tc, test_daemon_skips_a_bad_record_and_sends_the_others);
	tcase_add_test(tc, test_daemon_reports_each_unusable_row_once);
	tcase_add_test(tc, test_daemon_sends_a_retry_to_the_corrected_address);
	tcase_add_test(
	    tc, test_daemon_removes_stale_maildir_temp_files_at_start);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(daemon_suite());
}
