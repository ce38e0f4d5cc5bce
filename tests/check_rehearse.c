/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_rehearse: `familymail rehearse` from the outside. Two weeks of
 * a term are rehearsed (confirmations, reminders at 7d and 1d, a weekly
 * digest, an empty monthly one): the database file is the same, byte
 * for byte, afterwards and nothing is delivered; with --maildir the
 * messages are written there. Then familymaild --once runs at each time
 * the rehearsal named, and sends the same kinds to the same people at
 * the same times.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "testutil.h"
#include "util.h"

#define SECRET \
	"3f9a1c77e2b04d18a6c5e9f0b2d4c6a8e1f3b5d7c9a0e2f4b6d8c0a2e4f6b8d0"
/* Europe/London is UTC in December and January: local times read as
 * UTC ones. */
#define FROM  "2098-12-31T12:00:00Z"
#define UNTIL "2099-01-14T00:00:00Z"

static char *dir, *conf, *db_path;

static const char records[] =
    "INSERT INTO courses (id, title, starts_at, venue, status) VALUES"
    " (1, 'Positive Parenting', '2099-01-10T09:00:00Z', 'Cardiff',"
    " 'scheduled'),"
    " (2, 'Online Refresher', '2099-01-16T13:00:00Z', 'Online',"
    " 'scheduled');"
    "INSERT INTO delegates (id, email, first_name) VALUES"
    " (1, 'sarah@example.org', 'Sarah'), (2, 'sian@example.org', 'Sian'),"
    " (3, 'fatima@example.org', 'Fatima');"
    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
    " created_at) VALUES (1, 1, 1, 'FL-1', '2098-12-01T09:00:00Z'),"
    " (2, 1, 2, 'FL-2', '2098-12-01T10:00:00Z'),"
    " (3, 2, 3, 'FL-3', '2098-12-02T09:00:00Z');"
    "INSERT INTO subscribers (id, email, name, status, frequency,"
    " created_at) VALUES (1, 'sam@example.org', 'Sam', 'active', 'weekly',"
    " '2098-01-01T00:00:00Z'), (2, 'lee@example.org', 'Lee', 'active',"
    " 'monthly', '2098-01-01T00:00:00Z');"
    "INSERT INTO posts (title, url, published_at) VALUES ('Bedtime',"
    " 'https://blog.example.org/bedtime', '2099-01-04T12:00:00Z');";

static void
setup(void)
{
	struct tu_config c = { .log_level = "",
		.reply_to = "",
		.bounce_domain = "",
		.sections = "[unsubscribe]\n"
			    "url = https://example.org/u?token={token}\n"
			    "secret_file = token-secret\n" };
	char *secret;
	sqlite3 *db;

	dir = tu_mkdtemp();
	conf = tu_write_config(dir, "familymail.conf", &c);
	secret = tu_write_file(dir, "token-secret", SECRET "\n");
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	db = tu_db_new(dir);
	tu_sql(db, records);
	db_close(db);
	db_path = xasprintf("%s/familymail.db", dir);
}

static void
teardown(void)
{
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(conf);
	free(db_path);
}

/* Runs familymail -c conf rehearse ARGS; its stdout, exit status 0. */
static char *
rehearse(const char *maildir)
{
	char *tool = xasprintf("%s/src/familymail", tu_builddir());
	char *out = xasprintf("%s/rehearse.out", dir);
	char *argv[] = { tool, (char *)"-c", conf, (char *)"rehearse",
		(char *)"--from", (char *)FROM, (char *)"--until",
		(char *)UNTIL, (char *)"--maildir", (char *)maildir, NULL };
	char *text;
	pid_t pid;
	int st;

	if (maildir == NULL)
		argv[8] = NULL;
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd == -1)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		tu_execv(argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	text = tu_read_file(out, NULL);
	ck_assert_ptr_nonnull(text);
	free(tool);
	free(out);
	return text;
}

static int
by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "TIME KIND RECIPIENT" of each line of a rehearsal ("2099-01-05 08:00
 * blog_digest sam@example.org Subject ..."), as "2099-01-05T08:00 KIND
 * RECIPIENT", sorted, one a line. */
static char *
rehearsed(const char *text, char times[][32], size_t *n_times)
{
	char **lines = NULL;
	size_t n = 0;
	struct buf b;

	*n_times = 0;
	for (const char *p = text; *p != '\0';) {
		char day[16], hm[8], kind[32], rcpt[64];
		const char *nl = strchr(p, '\n');

		ck_assert_ptr_nonnull(nl);
		ck_assert_int_eq(
		    sscanf(p, "%15s %7s %31s %63s", day, hm, kind, rcpt), 4);
		lines = xreallocarray(lines, n + 1, sizeof(*lines));
		lines[n++] = xasprintf("%sT%s %s %s", day, hm, kind, rcpt);
		if (*n_times == 0 ||
		    strncmp(times[*n_times - 1], lines[n - 1], 16) != 0) {
			ck_assert_int_lt(*n_times, 16);
			(void)snprintf(
			    times[(*n_times)++], 32, "%.16s:00Z", lines[n - 1]);
		}
		p = nl + 1;
	}
	ck_assert_msg(n > 0, "nothing rehearsed");
	qsort(lines, n, sizeof(*lines), by_text);
	buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	buf_puts(&b, "");
	return buf_take(&b);
}

/* The same of what the daemon sent. */
static char *
sent(void)
{
	char *s = tu_db_text(db_path,
	    "SELECT group_concat(x, char(10)) || char(10) FROM (SELECT"
	    " substr(sent_at, 1, 16) || ' ' || kind || ' ' || recipient AS x"
	    " FROM messages WHERE state = 'sent' ORDER BY x)");

	return s;
}

START_TEST(test_rehearse_leaves_the_database_and_says_what_a_run_sends)
{
	char times[16][32], *before, *after, *out, *want, *got;
	char *new_dir = xasprintf("%s/Maildir/new", dir);
	char *trial = xasprintf("%s/Trial", dir);
	char *trial_new = xasprintf("%s/Trial/new", dir);
	size_t len_before, len_after, n_times, n_lines = 0;

	before = tu_read_file(db_path, &len_before);
	ck_assert_ptr_nonnull(before);
	out = rehearse(NULL);
	after = tu_read_file(db_path, &len_after);
	ck_assert_int_eq(len_after, len_before);
	ck_assert(memcmp(before, after, len_before) == 0);
	free(after);
	ck_assert_int_eq(tu_count_files(new_dir), -1);

	want = rehearsed(out, times, &n_times);
	for (const char *p = want; (p = strchr(p, '\n')) != NULL; p++)
		n_lines++;
	/* Three confirmations, the reminders due by then (Fatima's 1d one
	 * falls after UNTIL), one digest. */
	ck_assert_msg(n_lines == 3 + 5 + 1, "%s", out);
	ck_assert_ptr_nonnull(
	    strstr(want, "2099-01-05T08:00 blog_digest sam@example.org\n"));
	ck_assert_ptr_nonnull(strstr(
	    want, "2099-01-03T09:00 course_reminder sarah@example.org\n"));
	ck_assert_ptr_nonnull(strstr(
	    want, "2099-01-09T09:00 course_reminder sian@example.org\n"));
	ck_assert_ptr_nonnull(strstr(
	    want, "2099-01-09T13:00 course_reminder fatima@example.org\n"));
	ck_assert_ptr_null(strstr(want, "lee@example.org"));
	ck_assert_ptr_nonnull(strstr(out, "Reminder: Positive Parenting"));
	free(out);

	/* Into a Maildir of its own, and still nothing changed. */
	out = rehearse(trial);
	ck_assert_int_eq(tu_count_files(trial_new), (int)n_lines);
	after = tu_read_file(db_path, &len_after);
	ck_assert(
	    len_after == len_before && memcmp(before, after, len_before) == 0);
	free(after);
	free(out);

	/* The real thing, run at each of those times. */
	for (size_t i = 0; i < n_times; i++) {
		char *log = xasprintf("%s/daemon-%zu.log", dir, i);

		ck_assert_int_eq(tu_daemon_once(conf, times[i], log, 20000), 0);
		free(log);
	}
	got = sent();
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(tu_count_files(new_dir), (int)n_lines);
	free(got);
	free(want);
	free(before);
	free(new_dir);
	free(trial);
	free(trial_new);
}
END_TEST

/* With SMTP relays configured, a rehearsal still lists what would go,
 * and not one connection reaches a relay (each is a listening socket of
 * the test's own, asked afterwards whether anyone knocked). */
START_TEST(test_rehearse_contacts_no_relay)
{
	struct tu_config c = { .log_level = "",
		.reply_to = "",
		.bounce_domain = "",
		.transport = "smtp" };
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fds[2], ports[2];
	char *out;

	for (int i = 0; i < 2; i++) {
		ports[i] = tu_free_port();
		a.sin_port = htons((uint16_t)ports[i]);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(
		    bind(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
		ck_assert_int_eq(listen(fds[i], 16), 0);
	}
	c.sections = xasprintf("[smtp]\nurl = smtp://127.0.0.1:%d\n"
			       "tls = off\n"
			       "[smtp.backup]\nurl = smtp://127.0.0.1:%d\n"
			       "tls = off\n"
			       "[unsubscribe]\n"
			       "url = https://example.org/u?token={token}\n"
			       "secret_file = token-secret\n",
	    ports[0], ports[1]);
	free(conf);
	conf = tu_write_config(dir, "familymail.conf", &c);
	free((char *)c.sections);

	out = rehearse(NULL);
	ck_assert_ptr_nonnull(strstr(out, "booking_confirmation"));
	ck_assert_ptr_nonnull(strstr(out, "blog_digest"));
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(accept(fds[i], NULL, NULL) == -1 &&
			(errno == EAGAIN || errno == EWOULDBLOCK),
		    "relay %d was contacted", i);
		close(fds[i]);
	}
	ck_assert_int_eq(
	    tu_db_int(db_path, "SELECT count(*) FROM messages"), 0);
	free(out);
}
END_TEST

START_TEST(test_rehearse_refuses_times_it_cannot_read)
{
	char *tool = xasprintf("%s/src/familymail", tu_builddir());
	char *log = xasprintf("%s/bad.log", dir);
	char *a[] = { tool, (char *)"-c", conf, (char *)"rehearse",
		(char *)"--until", (char *)"tomorrowish", NULL };
	char *b[] = { tool, (char *)"-c", conf, (char *)"rehearse",
		(char *)"--from", (char *)UNTIL, (char *)"--until",
		(char *)FROM, NULL };
	char *c[] = { tool, (char *)"-c", conf, (char *)"rehearse", NULL };
	char *text;

	ck_assert_int_eq(tu_run_cmd(a, log, 10000), 64);
	ck_assert_int_eq(tu_run_cmd(b, log, 10000), 64);
	ck_assert_int_eq(tu_run_cmd(c, log, 10000), 64);
	text = tu_read_file(log, NULL);
	ck_assert_ptr_nonnull(strstr(text, "'tomorrowish' is not a time"));
	ck_assert_ptr_nonnull(strstr(text, "--until must come after"));
	free(text);
	free(log);
	free(tool);
}
END_TEST

static Suite *
rehearse_suite(void)
{
	Suite *s = suite_create("rehearse");
	TCase *tc = tcase_create("rehearse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, test_rehearse_leaves_the_database_and_says_what_a_run_sends);
	tcase_add_test(tc, test_rehearse_refuses_times_it_cannot_read);
	tcase_add_test(tc, test_rehearse_contacts_no_relay);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(rehearse_suite());
}
