/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_cmd: the familymail admin tool from the outside, as an
 * administrator runs it: each subcommand's output and exit status on a
 * temporary config, database and Maildir; the CSV import's error report
 * (every bad line by number, nothing half imported) and its rules for
 * existing subscribers; suppress and unsuppress; status --json read back
 * with jansson; and the man pages through mandoc -Tlint when installed.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
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
#include "db.h"
#include "migrate.h"
#include "testutil.h"
#include "token.h"
#include "util.h"

static char *dir, *conf, *tool, *db_path;

/* What one run of the tool left: exit status, stdout and stderr. */
struct run {
	int status;
	char *out;
	char *err;
};

/* Writes the config with the templates in templates (NULL: the source
 * tree's), extra [daemon] lines and extra sections (NULL for none). */
static void
write_config(const char *templates, const char *extra, const char *sections)
{
	struct tu_config c = { .templates = templates,
		.log_level = "info",
		.daemon_extra = extra,
		.user = "",
		.sections = sections };

	free(conf);
	conf = tu_write_config(dir, "familymail.conf", &c);
}

static void
setup_bare(void)
{
	dir = tu_mkdtemp();
	conf = NULL;
	write_config(NULL, NULL, NULL);
	tool = xasprintf("%s/src/familymail", tu_builddir());
	db_path = xasprintf("%s/familymail.db", dir);
}

/* A migrated database with the end-to-end bookings and a queue with one
 * message in each interesting state. */
static void
setup(void)
{
	char *path, *sql;
	sqlite3 *db;

	setup_bare();
	db = tu_db_new(dir);
	path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
	sql = tu_read_file(path, NULL);
	tu_sql(db, sql);
	free(sql);
	free(path);
	/* Reminders fall due at a time that does not depend on today's
	 * date: every course far ahead, the nearest on 2099-01-10. */
	tu_sql(db,
	    "UPDATE courses SET starts_at = '2099-06-' || (10 + id) ||"
	    " 'T09:00:00Z';"
	    "INSERT INTO courses (id, title, starts_at, venue, status)"
	    " VALUES (9, 'Far Future', '2099-01-10T09:00:00Z', 'Online',"
	    " 'scheduled');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " status, created_at) VALUES (9, 9, 4, 'FC-9009', 'confirmed',"
	    " '2026-11-01T09:00:00Z');"
	    "INSERT INTO messages (id, dedupe_key, kind, recipient,"
	    " booking_id, state, attempts, created_at, next_attempt_at,"
	    " updated_at, sent_at, smtp_code, smtp_reply, last_error) VALUES"
	    " (1, 'confirm:booking:1', 'booking_confirmation',"
	    " 'sarah.jones@example.org', 1, 'sent', 1,"
	    " '2026-11-20T10:00:05Z', '2026-11-20T10:00:05Z',"
	    " '2026-11-20T10:00:07Z', '2026-11-20T10:00:07Z', 250,"
	    " '250 2.0.0 Ok: queued as 4XyZ1', NULL),"
	    " (2, 'confirm:booking:2', 'booking_confirmation',"
	    " 'sian.llyr@example.org', 2, 'failed', 1,"
	    " '2026-11-20T11:00:05Z', '2026-11-20T11:00:05Z',"
	    " '2026-11-20T11:00:09Z', NULL, 550,"
	    " '550 5.1.1 <sian.llyr@example.org>: mailbox unknown',"
	    " 'rejected: 550 5.1.1 mailbox unknown'),"
	    " (3, 'confirm:booking:3', 'booking_confirmation',"
	    " 'fatima@example.org', 3, 'queued', 0,"
	    " '2026-11-21T09:00:05Z', '2026-11-21T09:00:05Z',"
	    " '2026-11-21T09:00:05Z', NULL, NULL, NULL, NULL),"
	    " (4, 'remind:booking:1:7d', 'course_reminder',"
	    " 'sarah.jones@example.org', 1, 'queued', 2,"
	    " '2026-11-22T09:00:00Z', '2026-11-22T10:00:00Z',"
	    " '2026-11-22T09:30:00Z', NULL, 451,"
	    " '451 4.7.1 try again later', 'deferred: 451 try again later');"
	    "INSERT INTO bounces (id, message_id, recipient, status, action,"
	    " class, reason, kind, diagnostic, received_at) VALUES"
	    " (1, 2, 'sian.llyr@example.org', '5.1.1', 'failed', 'hard',"
	    " 'no_mailbox', 'bounce', 'smtp; 550 5.1.1 user unknown',"
	    " '2026-11-20T11:05:00Z');");
	db_close(db);
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
}

/* Runs the tool with -c conf (unless args start with "-") and the
 * given arguments, stdout and stderr to files of their own. */
static struct run
run_tool(const char *const *args)
{
	char *argv[32], *out_path, *err_path;
	struct run r;
	size_t n = 0;
	pid_t pid;
	int st;

	argv[n++] = tool;
	if (args[0] == NULL || args[0][0] != '-') {
		argv[n++] = (char *)"-c";
		argv[n++] = conf;
	}
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
assert_has(const char *text, const char *what)
{
	ck_assert_msg(
	    strstr(text, what) != NULL, "'%s' not in:\n%s", what, text);
}

static void
assert_lacks(const char *text, const char *what)
{
	ck_assert_msg(
	    strstr(text, what) == NULL, "'%s' is in:\n%s", what, text);
}

static long long
db_int(const char *sql)
{
	return tu_db_int(db_path, sql);
}

static char *
db_text(const char *sql)
{
	return tu_db_text(db_path, sql);
}

static void
db_run(const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db, sql);
	db_close(db);
}

/* ------------------------------------------------------------ general */

START_TEST(test_tool_rejects_unknown_command_with_usage)
{
	struct run r = RUN("frobnicate");

	ck_assert_int_eq(r.status, 64);
	assert_has(r.err,
	    "unknown command 'frobnicate'; the commands: "
	    "check-config, check-dns, migrate, status,");
	assert_has(r.err, "familymail -h says what each does");
	run_free(&r);
	r = RUN("--version");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "familymail " PACKAGE_VERSION);
	run_free(&r);
}
END_TEST

START_TEST(test_help_lists_every_command_and_each_option)
{
	static const char *const names[] = { "check-config", "migrate",
		"status", "queue", "history", "rehearse", "resend", "retry",
		"preview", "render", "send-test", "suppress", "unsuppress",
		"bounces", "import", "export", "erase", "parse-bounce" };
	struct run r = RUN("-h");

	ck_assert_int_eq(r.status, 0);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		char *line = xasprintf("\n  %s ", names[i]);

		assert_has(r.out, line);
		free(line);
	}
	assert_has(r.out, "-c, --config FILE");
	run_free(&r);
	r = RUN("queue", "-h");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "usage: familymail [-c FILE] queue [--state S]");
	assert_has(r.out, "\n  --booking REF        only messages about");
	assert_has(r.out,
	    "queued, sending, sent, failed, suppressed, "
	    "cancelled\n");
	assert_has(r.out, "\n  --json ");
	assert_has(r.out, "kinds:\n  booking_confirmation ");
	run_free(&r);
	r = RUN("rehearse", "--help");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "\n  --until TIME ");
	assert_has(r.out, "\n  --from TIME ");
	assert_has(r.out, "\n  --maildir DIR ");
	run_free(&r);
}
END_TEST

/* The long options a source file's option tables (longopts) name, but
 * help, as "\n"-separated names into out. */
static void
long_options_of(const char *file, struct buf *out)
{
	char *path = xasprintf("%s/src/cmd/%s", tu_srcdir(), file);
	char *src = tu_read_file(path, NULL), *p, *q;

	ck_assert_msg(src != NULL, "cannot read %s", path);
	for (p = src; (p = strstr(p, "longopts[] = {")) != NULL;) {
		char *end = strstr(p, "{ NULL");

		ck_assert_ptr_nonnull(end);
		while ((q = strstr(p, "{ \"")) != NULL && q < end) {
			size_t n;

			q += 3;
			n = strcspn(q, "\"");
			if (n != 4 || strncmp(q, "help", 4) != 0) {
				buf_append(out, q, n);
				buf_putc(out, '\n');
			}
			p = q + n;
		}
		p = end;
	}
	free(src);
	free(path);
}

/* Every option a command's parser takes is in its -h and in
 * familymail(1): one added to the code without a word for it fails. */
START_TEST(test_help_and_man_page_name_every_option_of_every_command)
{
	static const struct {
		const char *file;
		const char *cmds[3];
	} files[] = {
		{ "cmd_bounces.c", { "bounces" } },
		{ "cmd_check_dns.c", { "check-dns" } },
		{ "cmd_history.c", { "history" } },
		{ "cmd_import.c", { "import" } },
		{ "cmd_preview.c", { "preview" } },
		{ "cmd_queue.c", { "queue" } },
		{ "cmd_rehearse.c", { "rehearse" } },
		{ "cmd_render.c", { "render" } },
		{ "cmd_resend.c", { "resend" } },
		{ "cmd_retry.c", { "retry" } },
		{ "cmd_send_test.c", { "send-test" } },
		{ "cmd_status.c", { "status" } },
		{ "cmd_suppress.c", { "suppress", "unsuppress" } },
		{ "cmd_check_config.c", { "check-config" } },
		{ "cmd_export.c", { "export" } },
		{ "cmd_erase.c", { "erase" } },
		{ "cmd_migrate.c", { "migrate" } },
		{ "cmd_parse_bounce.c", { "parse-bounce" } },
	};
	char *man_path = xasprintf("%s/doc/familymail.1", tu_srcdir());
	char *man = tu_read_file(man_path, NULL);
	size_t checked = 0;

	ck_assert_ptr_nonnull(man);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(files); i++) {
		struct buf help, names;
		char *name, *save = NULL;

		buf_init(&help);
		buf_init(&names);
		buf_puts(&help, "");
		for (size_t c = 0; c < 3 && files[i].cmds[c] != NULL; c++) {
			struct run r = RUN(files[i].cmds[c], "-h");
			char *usage = xasprintf(
			    "usage: familymail [-c FILE] %s", files[i].cmds[c]);

			ck_assert_int_eq(r.status, 0);
			assert_has(r.out, usage);
			buf_puts(&help, r.out);
			free(usage);
			run_free(&r);
		}
		long_options_of(files[i].file, &names);
		for (name = names.data != NULL
			 ? strtok_r(names.data, "\n", &save)
			 : NULL;
		     name != NULL; name = strtok_r(NULL, "\n", &save)) {
			char *opt = xasprintf("--%s", name);
			char *fl = xasprintf("Fl -%s", name);

			ck_assert_msg(strstr(help.data, opt) != NULL,
			    "%s -h does not name %s", files[i].cmds[0], opt);
			ck_assert_msg(strstr(man, fl) != NULL,
			    "familymail(1) does not name %s", opt);
			checked++;
			free(opt);
			free(fl);
		}
		buf_fini(&help);
		buf_fini(&names);
	}
	/* The tables were read: queue alone takes six. */
	ck_assert_uint_ge(checked, 20);
	free(man);
	free(man_path);
}
END_TEST

/* ------------------------------------------------------- check-config */

START_TEST(test_check_config_accepts_a_good_config)
{
	struct run r = RUN("check-config");

	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, ": ok");
	ck_assert_str_eq(r.err, "");
	run_free(&r);
}
END_TEST

START_TEST(test_check_config_names_line_and_key_of_each_problem)
{
	struct run r;

	write_config("templates", "colour = blue\nlog_level = loud\n", NULL);
	r = RUN("check-config");
	ck_assert_int_eq(r.status, 78);
	assert_has(r.err, "familymail.conf:6: [daemon] colour");
	assert_has(r.err, "familymail.conf:7: [daemon] log_level");
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}
END_TEST

START_TEST(test_check_config_reports_a_template_parse_error)
{
	char *src, *tdir;
	struct run r;

	/* A copy of the templates with one broken subject. */
	src = xasprintf("cp -r '%s/templates' '%s/tpl' && printf "
			"'Booked: {{#course}}{{title}}\\n' > "
			"'%s/tpl/booking_confirmation/subject.mustache'",
	    tu_srcdir(), dir, dir);
	/* NOLINTNEXTLINE(cert-env33-c): test's own command */
	ck_assert_int_eq(system(src), 0);
	free(src);
	tdir = xasprintf("%s/tpl", dir);
	write_config(tdir, NULL, NULL);
	r = RUN("check-config");
	ck_assert_int_eq(r.status, 78);
	assert_has(r.err, "booking_confirmation/subject.mustache:1:");
	assert_has(r.err, "course");
	run_free(&r);
	free(tdir);
}
END_TEST

START_TEST(test_check_config_warns_of_kinds_without_templates)
{
	char *src, *tdir;
	struct run r;

	/* A copy made before there were change notices. */
	src = xasprintf(
	    "cp -r '%s/templates' '%s/tpl' && "
	    "rm -r '%s/tpl/course_changed' '%s/tpl/cy/course_changed'",
	    tu_srcdir(), dir, dir, dir);
	/* NOLINTNEXTLINE(cert-env33-c): test's own command */
	ck_assert_int_eq(system(src), 0);
	free(src);
	tdir = xasprintf("%s/tpl", dir);
	write_config(tdir, NULL, NULL);
	r = RUN("check-config");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, ": ok (6 message kinds in ");
	assert_has(r.err, "warning: [daemon] templates ");
	assert_has(r.err,
	    " has no course_changed templates: those messages "
	    "will fail\n");
	run_free(&r);
	free(tdir);
}
END_TEST

/* ------------------------------------------------------------ migrate */

START_TEST(test_migrate_creates_then_leaves_the_schema)
{
	struct run r = RUN("migrate");

	ck_assert_int_eq(r.status, 0);
	{
		char *want = xasprintf("schema version %d (%d steps applied)",
		    migrate_latest(), migrate_latest());

		assert_has(r.out, want);
		free(want);
	}
	run_free(&r);
	ck_assert_int_eq(db_int("SELECT count(*) FROM messages"), 0);
	r = RUN("migrate");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "(0 steps applied)");
	run_free(&r);
	r = RUN("migrate", "now");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
}
END_TEST

/* ------------------------------------------------------------- status */

START_TEST(test_status_without_database_says_to_migrate)
{
	struct run r = RUN("status");

	ck_assert_int_eq(r.status, 1);
	assert_has(r.err, "run familymail migrate");
	run_free(&r);
}
END_TEST

START_TEST(test_status_json_holds_queue_jobs_failures_and_bounces)
{
	json_t *j, *v;
	json_error_t jerr;
	struct run r = RUN("status", "--json");
	size_t i;
	bool reminders = false, kinds = false;

	ck_assert_int_eq(r.status, 0);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(j != NULL, "not JSON: %s\n%s", jerr.text, r.out);
	v = json_object_get(j, "totals");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "queued")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "sent")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "failed")), 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(v, "cancelled")), 0);
	json_array_foreach(json_object_get(j, "queue"), i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "state")),
			"queued") == 0 &&
		    strcmp(json_string_value(json_object_get(v, "kind")),
			"course_reminder") == 0 &&
		    json_integer_value(json_object_get(v, "count")) == 1)
			kinds = true;
	}
	ck_assert(kinds);
	v = json_object_get(j, "oldest_queued");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "id")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(v, "recipient")),
	    "fatima@example.org");
	json_array_foreach(json_object_get(j, "jobs"), i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "job")),
			"reminders") != 0)
			continue;
		reminders = true;
		/* The course of 2099-01-10 09:00, 7 days ahead. */
		ck_assert_str_eq(
		    json_string_value(json_object_get(v, "next_run")),
		    "2099-01-03T09:00:00Z");
	}
	ck_assert(reminders);
	v = json_array_get(json_object_get(j, "jobs"), 0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(v, "job")), "confirmations");
	ck_assert_str_eq(json_string_value(json_object_get(v, "last_run")),
	    "2026-11-21T09:00:05Z");
	v = json_array_get(json_object_get(j, "recent_failures"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "id")), 2);
	assert_has(
	    json_string_value(json_object_get(v, "error")), "mailbox unknown");
	ck_assert_int_eq(
	    json_array_size(json_object_get(j, "recent_failures")), 1);
	v = json_array_get(json_object_get(j, "recent_bounces"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "recipient")),
	    "sian.llyr@example.org");
	ck_assert_str_eq(
	    json_string_value(json_object_get(v, "class")), "hard");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(j, "suppressed_addresses")), 0);
	json_decref(j);
	run_free(&r);
}
END_TEST

/* A run with --now in the future leaves times after now: they are no
 * "last run". The pollers' runs come from job_runs. */
START_TEST(test_status_never_shows_a_future_last_run)
{
	json_t *j, *v;
	json_error_t jerr;
	struct run r;
	size_t i;
	bool seen = false;
	sqlite3 *db;

	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
	    " created_at, next_attempt_at, updated_at) VALUES"
	    " ('confirm:booking:9', 'booking_confirmation', 'tom@example.org',"
	    " 9, '2099-01-01T09:00:00Z', '2099-01-01T09:00:00Z',"
	    " '2099-01-01T09:00:00Z');"
	    "INSERT INTO job_runs (job, last_run_at, next_run_at, detail)"
	    " VALUES ('bounces', '2026-11-23T09:00:00Z',"
	    " '2026-11-23T09:05:00Z', 'read 2, processed 1'),"
	    " ('retention', '2099-01-01T09:00:00Z', '2099-01-02T09:00:00Z',"
	    " 'purged 0 messages');");
	db_close(db);
	r = RUN("status", "--json");
	ck_assert_int_eq(r.status, 0);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(j != NULL, "not JSON: %s\n%s", jerr.text, r.out);
	json_array_foreach(json_object_get(j, "jobs"), i, v)
	{
		const char *job = json_string_value(json_object_get(v, "job"));
		const char *last =
		    json_string_value(json_object_get(v, "last_run"));

		ck_assert_msg(last == NULL || strncmp(last, "2099", 4) != 0,
		    "%s: last run %s", job, last);
		if (strcmp(job, "confirmations") == 0)
			ck_assert_str_eq(last, "2026-11-21T09:00:05Z");
		if (strcmp(job, "bounces") == 0) {
			ck_assert_str_eq(last, "2026-11-23T09:00:00Z");
			ck_assert_str_eq(
			    json_string_value(json_object_get(v, "next_run")),
			    "2026-11-23T09:05:00Z");
			seen = true;
		}
	}
	ck_assert(seen);
	json_decref(j);
	run_free(&r);
}
END_TEST

START_TEST(test_queue_and_preview_take_a_booking_reference)
{
	struct run r = RUN("queue", "--booking", "FC-1001");

	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "course_reminder");
	assert_has(r.out, "booking_confirmation");
	ck_assert_ptr_null(strstr(r.out, "fatima"));
	run_free(&r);
	r = RUN("queue", "--booking", "FC-0000");
	ck_assert_int_eq(r.status, 1);
	assert_has(r.err, "no booking with reference (or id) 'FC-0000'");
	run_free(&r);
	r = RUN("preview", "booking_confirmation", "--booking", "FC-1001");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "To: Sarah Jones <sarah.jones@example.org>");
	run_free(&r);
	/* The wrong kind of record is said, not "id=0 not found". */
	r = RUN("preview", "booking_confirmation", "--subscriber", "1");
	ck_assert_int_eq(r.status, 64);
	assert_has(r.err,
	    "booking_confirmation is about a booking: give "
	    "--booking REFERENCE");
	run_free(&r);
}
END_TEST

/* Without --period, the digest that goes out next, with the posts
 * waiting for it; and nothing of it is left in the database. */
START_TEST(test_preview_digest_is_the_next_one_and_refuses_a_bad_period)
{
	struct run r;
	sqlite3 *db;

	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO subscribers (id, email, name, status, frequency,"
	    " created_at) VALUES (1, 'sam@example.org', 'Sam', 'active',"
	    " 'weekly', '2026-01-01T00:00:00Z');"
	    "INSERT INTO posts (title, url, published_at) VALUES"
	    " ('Bedtime without battles', 'https://blog.example.org/b',"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 minutes')),"
	    " ('Screen time', 'https://blog.example.org/s',"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minutes'));");
	db_close(db);
	r = RUN("preview", "blog_digest", "--subscriber", "1");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "Subject: 2 new posts");
	assert_has(r.out, "Bedtime without battles");
	assert_has(r.out, "Screen time");
	assert_has(r.err, "the next weekly digest (weekly:");
	assert_has(r.err, "2 posts");
	run_free(&r);
	ck_assert_int_eq(db_int("SELECT count(*) FROM digests"), 0);

	r = RUN("preview", "blog_digest", "--subscriber", "1", "--period",
	    "garbage");
	ck_assert_int_eq(r.status, 64);
	assert_has(r.err,
	    "'garbage' is not a digest period: "
	    "weekly:YYYY-Www");
	run_free(&r);
	r = RUN("preview", "blog_digest", "--subscriber", "1", "--period",
	    "weekly:2099-W01");
	ck_assert_int_eq(r.status, 1);
	assert_has(r.err, "there is no digest weekly:2099-W01 yet");
	run_free(&r);
}
END_TEST

START_TEST(test_status_text_shows_aligned_tables)
{
	struct run r = RUN("status");

	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "queue: queued 2 sending 0 sent 1 failed 1");
	assert_has(r.out, "STATE   KIND                  COUNT\n");
	assert_has(r.out, "queued  course_reminder           1\n");
	assert_has(r.out,
	    "oldest queued: #3 booking_confirmation to "
	    "fatima@example.org, queued 2026-11-21 09:00");
	/* Local time: 2099-01-03 09:00 UTC is 09:00 GMT in winter. */
	assert_has(r.out, "2099-01-03 09:00  offsets 7d, 1d");
	assert_has(r.out, "recent failures:");
	assert_has(r.out, "rejected: 550 5.1.1 mailbox unknown");
	assert_has(r.out, "recent bounces:");
	run_free(&r);
	r = RUN("status", "extra");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
}
END_TEST

/* The deliverability report, on days counted back from today (UTC):
 * yesterday 1,000 sent with 2 complaints (0.2%, over the 0.1% to stay
 * under), today 200 with 1 (0.5%, over Gmail's 0.3%); delays, reports
 * that answer none of our messages and days out of the window do not
 * count. */
START_TEST(test_status_reports_deliverability_per_day)
{
	char today[16], yesterday[16], *want;
	time_t now = time(NULL);
	struct tm tm;
	json_error_t jerr;
	json_t *j, *d, *day;
	struct run r;
	sqlite3 *db;

	ck_assert_uint_eq(
	    strftime(today, sizeof(today), "%Y-%m-%d", gmtime_r(&now, &tm)),
	    10);
	now -= 86400;
	ck_assert_uint_eq(strftime(yesterday, sizeof(yesterday), "%Y-%m-%d",
			      gmtime_r(&now, &tm)),
	    10);
	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db,
	    "DELETE FROM bounces; DELETE FROM messages;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    "  WHERE i < 1230)"
	    " INSERT INTO messages (id, dedupe_key, kind, recipient, state,"
	    " created_at, next_attempt_at, updated_at, sent_at)"
	    " SELECT i, 'k' || i, 'blog_digest', 'r' || i || '@example.net',"
	    " 'sent', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z',"
	    " '2026-01-01T00:00:00Z',"
	    " CASE WHEN i <= 1000 THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now',"
	    "   '-1 day')"
	    "  WHEN i <= 1200 THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
	    "  ELSE strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-20 days') END"
	    " FROM n;"
	    "INSERT INTO bounces (message_id, recipient, action, class,"
	    " reason, kind, received_at) VALUES"
	    " (1, 'r1@example.net', 'failed', 'hard', 'no_mailbox', 'bounce',"
	    "  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')),"
	    " (2, 'r2@example.net', 'failed', 'hard', 'no_mailbox', 'bounce',"
	    "  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')),"
	    " (3, 'r3@example.net', 'failed', 'soft', 'mailbox_full',"
	    "  'bounce', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')),"
	    " (4, 'r4@example.net', 'delayed', 'soft', 'expired', 'bounce',"
	    "  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')),"
	    " (5, 'r5@example.net', NULL, NULL, 'feedback', 'feedback',"
	    "  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')),"
	    " (6, 'r6@example.net', NULL, NULL, 'feedback', 'feedback',"
	    "  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')),"
	    " (NULL, 'x@example.net', NULL, NULL, 'feedback', 'feedback',"
	    "  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')),"
	    " (1100, 'r1100@example.net', NULL, NULL, 'feedback', 'feedback',"
	    "  strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),"
	    " (1201, 'r1201@example.net', 'failed', 'hard', 'no_mailbox',"
	    "  'bounce', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-20 days'));");
	db_close(db);
	r = RUN("status");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out,
	    "deliverability, last 14 days (complaint rate against Gmail's "
	    "0.3% limit):\n"
	    "DAY (UTC)   SENT  HARD  SOFT  COMPLAINTS   RATE\n");
	want = xasprintf("%s   200     0     0           1  0.50%%\n"
			 "%s  1000     2     1           2  0.20%%\n"
			 "in all: 1200 sent, 3 complaints (0.25%%)\n"
			 "warning: %s: complaint rate 0.50%% is above Gmail's "
			 "0.3%% limit: expect mail to go to spam or be "
			 "refused\n"
			 "warning: %s: complaint rate 0.20%% is above 0.1%% "
			 "(Gmail's limit is 0.3%%)\n"
			 "warning: last 14 days: complaint rate 0.25%% is "
			 "above 0.1%% (Gmail's limit is 0.3%%)\n",
	    today, yesterday, today, yesterday);
	assert_has(r.out, want);
	free(want);
	run_free(&r);
	r = RUN("status", "--json");
	ck_assert_int_eq(r.status, 0);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(j != NULL, "not JSON: %s", jerr.text);
	d = json_object_get(j, "deliverability");
	ck_assert_int_eq(json_array_size(json_object_get(d, "days")), 2);
	day = json_array_get(json_object_get(d, "days"), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(day, "day")), yesterday);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(day, "sent")), 1000);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(day, "hard_bounces")), 2);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(day, "soft_bounces")), 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(day, "complaints")), 2);
	ck_assert(json_real_value(
		      json_object_get(day, "complaint_rate_percent")) == 0.2);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "sent")), 1200);
	ck_assert_int_eq(json_array_size(json_object_get(d, "warnings")), 3);
	json_decref(j);
	run_free(&r);
}
END_TEST

/* -------------------------------------------------------------- queue */

START_TEST(test_queue_to_address_shows_what_was_sent_with_the_reply)
{
	struct run r = RUN("queue", "--to", "Sarah.Jones@example.org");

	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "booking_confirmation");
	assert_has(r.out, "250 2.0.0 Ok: queued as 4XyZ1");
	assert_has(r.out, "course_reminder");
	assert_has(r.out, "next try 2026-11-22 10:00: deferred: 451");
	assert_lacks(r.out, "fatima@example.org");
	run_free(&r);
}
END_TEST

START_TEST(test_queue_filters_by_state_and_kind)
{
	struct run r = RUN("queue", "--state", "failed");

	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "sian.llyr@example.org");
	assert_lacks(r.out, "sarah.jones@example.org");
	run_free(&r);
	r = RUN("queue", "--kind", "course_reminder", "--state", "queued");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "sarah.jones@example.org");
	assert_lacks(r.out, "fatima@example.org");
	run_free(&r);
	r = RUN("queue", "--to", "nobody@example.org");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "no messages match\n");
	run_free(&r);
	r = RUN("queue", "--state", "lost");
	ck_assert_int_eq(r.status, 64);
	assert_has(r.err, "unknown state 'lost'");
	run_free(&r);
	r = RUN("queue", "--kind", "spam");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
}
END_TEST

START_TEST(test_queue_json_keeps_every_column)
{
	json_error_t jerr;
	json_t *j, *m;
	struct run r = RUN("queue", "--json", "--state", "sent");

	ck_assert_int_eq(r.status, 0);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(json_is_array(j), "%s", r.out);
	ck_assert_int_eq(json_array_size(j), 1);
	m = json_array_get(j, 0);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(m, "smtp_code")), 250);
	ck_assert_str_eq(json_string_value(json_object_get(m, "sent_at")),
	    "2026-11-20T10:00:07Z");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(m, "booking_id")), 1);
	json_decref(j);
	run_free(&r);
	r = RUN("queue", "--limit", "1");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.err, "showing the newest 1");
	run_free(&r);
}
END_TEST

/* -------------------------------------------------------------- retry */

START_TEST(test_retry_failed_requeues_only_failed_messages)
{
	struct run r = RUN("retry", "--failed");
	char *s;

	ck_assert_int_eq(r.status, 0);
	assert_has(r.out,
	    "message 2 (booking_confirmation to "
	    "sian.llyr@example.org): failed -> queued");
	assert_has(r.out, "1 message queued");
	run_free(&r);
	s = db_text("SELECT state || ',' || coalesce(last_error, '-')"
		    " FROM messages WHERE id = 2");
	ck_assert_str_eq(s, "queued,-");
	free(s);
	r = RUN("retry", "--failed");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "no failed messages\n");
	run_free(&r);
}
END_TEST

START_TEST(test_retry_refuses_sent_and_unknown_messages)
{
	struct run r = RUN("retry", "1");
	char *s;

	ck_assert_int_eq(r.status, 1);
	assert_has(r.err,
	    "message 1 (booking_confirmation to "
	    "sarah.jones@example.org) is sent");
	run_free(&r);
	r = RUN("retry", "99");
	ck_assert_int_eq(r.status, 1);
	assert_has(r.err, "no message with id 99");
	run_free(&r);
	r = RUN("retry");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
	r = RUN("retry", "2", "--failed");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
	r = RUN("retry", "two");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
	s = db_text("SELECT group_concat(state) FROM"
		    " (SELECT state FROM messages ORDER BY id)");
	ck_assert_str_eq(s, "sent,failed,queued,queued");
	free(s);
}
END_TEST

START_TEST(test_retry_of_suppressed_message_waits_for_unsuppress)
{
	struct run r;

	db_run("UPDATE messages SET state = 'suppressed' WHERE id = 2;"
	       "INSERT INTO suppressions (email, reason, created_at) VALUES"
	       " ('sian.llyr@example.org', 'hard_bounce',"
	       " '2026-11-20T11:05:00Z');");
	r = RUN("retry", "2");
	ck_assert_int_eq(r.status, 1);
	assert_has(r.err, "familymail unsuppress sian.llyr@example.org");
	run_free(&r);
	r = RUN("unsuppress", "sian.llyr@example.org");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "reason: hard_bounce");
	assert_has(r.out, "1 message to it stays suppressed");
	run_free(&r);
	r = RUN("retry", "2");
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	ck_assert_int_eq(db_int("SELECT state = 'queued' FROM messages"
				" WHERE id = 2"),
	    1);
}
END_TEST

/* ------------------------------------------------- suppress/unsuppress */

START_TEST(test_suppress_adds_a_manual_entry_once)
{
	struct run r =
	    RUN("suppress", "Tom@Example.org", "--reason", "asked by phone");
	char *s;

	ck_assert_int_eq(r.status, 0);
	assert_has(r.out,
	    "suppressed Tom@Example.org (manual: asked by "
	    "phone)");
	run_free(&r);
	s = db_text("SELECT reason || '|' || detail FROM suppressions"
		    " WHERE email = 'tom@example.org'");
	ck_assert_str_eq(s, "manual|asked by phone");
	free(s);
	r = RUN("suppress", "tom@example.org");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "was already suppressed; left as it was");
	assert_has(r.out, "detail: asked by phone");
	run_free(&r);
	ck_assert_int_eq(db_int("SELECT count(*) FROM suppressions"), 1);
	r = RUN("status", "--json");
	assert_has(r.out, "\"suppressed_addresses\": 1");
	run_free(&r);
	r = RUN("suppress", "not an address");
	ck_assert_int_eq(r.status, 65);
	run_free(&r);
	r = RUN("suppress");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
}
END_TEST

START_TEST(test_unsuppress_removes_the_entry_and_says_why_it_was_there)
{
	struct run r;

	db_run("INSERT INTO suppressions (email, reason, detail, created_at)"
	       " VALUES ('sian.llyr@example.org', 'soft_bounces',"
	       " '3 soft bounces in 30d', '2026-11-20T11:05:00Z');");
	r = RUN("unsuppress", "SIAN.LLYR@example.org");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "unsuppressed sian.llyr@example.org");
	assert_has(r.out, "reason: soft_bounces");
	assert_has(r.out, "detail: 3 soft bounces in 30d");
	run_free(&r);
	ck_assert_int_eq(db_int("SELECT count(*) FROM suppressions"), 0);
	r = RUN("unsuppress", "sian.llyr@example.org");
	ck_assert_int_eq(r.status, 1);
	assert_has(r.err, "is not suppressed");
	run_free(&r);
}
END_TEST

/* ------------------------------------------------------------ bounces */

START_TEST(test_bounces_for_an_address_show_the_diagnostic)
{
	struct run r;
	json_error_t jerr;
	json_t *j;

	db_run("INSERT INTO suppressions (email, reason, detail, created_at)"
	       " VALUES ('sian.llyr@example.org', 'hard_bounce', '5.1.1',"
	       " '2026-11-20T11:05:00Z');");
	r = RUN("bounces", "--to", "sian.llyr@example.org");
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "RECEIVED");
	assert_has(r.out, "smtp; 550 5.1.1 user unknown");
	assert_has(r.out, "booking_confirmation #2");
	assert_has(r.out, "is suppressed (hard_bounce since");
	run_free(&r);
	r = RUN("bounces", "--since", "2026-11-21");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "no bounces\n");
	run_free(&r);
	r = RUN("bounces", "--json");
	ck_assert_int_eq(r.status, 0);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(json_is_array(j), "%s", r.out);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(j, 0), "status")),
	    "5.1.1");
	json_decref(j);
	run_free(&r);
	r = RUN("bounces", "--since", "last tuesday");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
}
END_TEST

/* ------------------------------------------------------------- import */

START_TEST(test_import_reports_every_bad_line_and_imports_nothing)
{
	char *csv;
	struct run r;

	csv = tu_write_file(dir, "list.csv",
	    "email,name,frequency\n"
	    "ann@example.org,Ann,weekly\n"
	    "not-an-address,Bob,weekly\n"
	    "cat@example.org,\"Cat, the cook\",monthly\n"
	    "dan@example.org,Dan,daily\n"
	    "\"eve@example.org,Eve,weekly\n");
	r = RUN("import", "subscribers", csv);
	ck_assert_int_eq(r.status, 65);
	assert_has(r.err, "list.csv:3: bad address 'not-an-address'");
	assert_has(r.err, "list.csv:5: unknown frequency 'daily'");
	assert_has(r.err, "list.csv:6: a quoted field is not closed");
	assert_has(r.err, "3 problems in");
	assert_has(r.err, "nothing was imported");
	assert_lacks(r.err, "list.csv:2:");
	assert_lacks(r.err, "list.csv:4:");
	ck_assert_str_eq(r.out, "");
	run_free(&r);
	ck_assert_int_eq(db_int("SELECT count(*) FROM subscribers"), 0);
	free(csv);
}
END_TEST

START_TEST(test_import_reports_duplicates_and_bad_headers)
{
	char *csv;
	struct run r;

	csv = tu_write_file(dir, "dup.csv",
	    "Email,Name\r\n"
	    "ann@example.org,Ann\r\n"
	    "bob@example.org,Bob\r\n"
	    "ANN@example.org,Ann again\r\n");
	r = RUN("import", "subscribers", csv);
	ck_assert_int_eq(r.status, 65);
	assert_has(r.err,
	    "dup.csv:4: duplicate address ANN@example.org "
	    "(also on line 2)");
	run_free(&r);
	free(csv);
	csv = tu_write_file(dir, "head.csv", "mail,name\nann@example.org,A\n");
	r = RUN("import", "subscribers", csv);
	ck_assert_int_eq(r.status, 65);
	assert_has(r.err, "head.csv:1: unknown column 'mail'");
	assert_has(r.err, "head.csv:1: no email column");
	run_free(&r);
	free(csv);
	ck_assert_int_eq(db_int("SELECT count(*) FROM subscribers"), 0);
	r = RUN("import", "subscribers", "/nonexistent/list.csv");
	ck_assert_int_eq(r.status, 66);
	run_free(&r);
	r = RUN("import", "delegates", "x.csv");
	ck_assert_int_eq(r.status, 64);
	run_free(&r);
}
END_TEST

START_TEST(test_import_updates_existing_and_never_resubscribes)
{
	char *csv, *s;
	struct run r;

	db_run("INSERT INTO subscribers (id, email, name, status, frequency,"
	       " created_at) VALUES"
	       " (1, 'ann@example.org', 'Ann Old', 'active', 'weekly',"
	       "  '2026-01-01T00:00:00Z'),"
	       " (2, 'gone@example.org', 'Gone', 'unsubscribed', 'weekly',"
	       "  '2026-01-01T00:00:00Z'),"
	       " (3, 'pam@example.org', 'Pam', 'pending', 'weekly',"
	       "  '2026-01-01T00:00:00Z');"
	       "INSERT INTO suppressions (email, reason, created_at) VALUES"
	       " ('bounced@example.org', 'hard_bounce',"
	       "  '2026-11-01T00:00:00Z');");
	csv = tu_write_file(dir, "list.csv",
	    "\xef\xbb\xbf"
	    "email,name,frequency,status\n"
	    "ANN@example.org,Ann New,monthly,active\n"
	    "gone@example.org,Gone,weekly,active\n"
	    "pam@example.org,Pam,weekly,active\n"
	    "new@example.org,\"Nia \"\"Newbie\"\" Jones\",,\n"
	    "bounced@example.org,Bounced,weekly,active\n"
	    "\n");
	r = RUN("import", "subscribers", csv);
	ck_assert_msg(r.status == 0, "%s", r.err);
	assert_has(r.out,
	    "1 added, 2 updated, 0 unchanged, 1 kept "
	    "unsubscribed, 1 not added (suppressed)");
	assert_has(r.err,
	    "list.csv:6: bounced@example.org is on the "
	    "suppression list");
	run_free(&r);
	s = db_text("SELECT group_concat(email || '|' || name || '|' ||"
		    " status || '|' || frequency, ';') FROM"
		    " (SELECT * FROM subscribers ORDER BY id)");
	ck_assert_str_eq(s,
	    "ann@example.org|Ann New|active|monthly;"
	    "gone@example.org|Gone|unsubscribed|weekly;"
	    "pam@example.org|Pam|active|weekly;"
	    "new@example.org|Nia \"Newbie\" Jones|active|weekly");
	free(s);
	/* The same file again changes nothing. */
	r = RUN("import", "subscribers", csv);
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "0 added, 0 updated, 3 unchanged");
	run_free(&r);
	ck_assert_int_eq(db_int("SELECT count(*) FROM subscribers"), 4);
	free(csv);

	/* Each change is in the address's history, from the import. */
	csv = tu_write_file(
	    dir, "leavers.csv", "email,status\nann@example.org,unsubscribed\n");
	r = RUN("import", "subscribers", csv);
	ck_assert_msg(r.status == 0, "%s", r.err);
	run_free(&r);
	free(csv);
	r = RUN("history", "ann@example.org");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "preference_changed", "import");
	TU_HAS_LINE(r.out, "unsubscribed", "import");
	run_free(&r);
	r = RUN("history", "new@example.org");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "subscribed", "import");
	run_free(&r);
	r = RUN("history", "pam@example.org");
	ck_assert_int_eq(r.status, 0);
	TU_HAS_LINE(r.out, "confirmed", "import");
	run_free(&r);
}
END_TEST

START_TEST(test_import_shows_no_progress_into_a_pipe)
{
	struct buf b;
	struct run r;
	char *csv;

	buf_init(&b);
	buf_puts(&b, "email\n");
	for (int i = 0; i < 1200; i++)
		buf_printf(&b, "person%d@example.org\n", i);
	csv = tu_write_file(dir, "big.csv", b.data);
	buf_fini(&b);
	r = RUN("import", "subscribers", csv);
	ck_assert_int_eq(r.status, 0);
	assert_has(r.out, "1200 added");
	ck_assert_str_eq(r.err, "");
	run_free(&r);
	ck_assert_int_eq(db_int("SELECT count(*) FROM subscribers"), 1200);
	free(csv);
}
END_TEST

/* A line of stray quotes after a long field used to cost time
 * quadratic in its length (each quote rescanned the field): 2 MB took
 * hours. */
START_TEST(test_import_reads_a_line_of_stray_quotes_in_linear_time)
{
	struct timespec t0, t1;
	struct buf b;
	struct run r;
	char *csv;

	buf_init(&b);
	buf_puts(&b, "email\nann@example.org");
	for (int i = 0; i < 1024 * 1024; i++)
		buf_putc(&b, 'a');
	for (int i = 0; i < 1024 * 1024; i++)
		buf_putc(&b, '"');
	buf_putc(&b, '\n');
	csv = tu_write_file(dir, "quotes.csv", b.data);
	buf_fini(&b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = RUN("import", "subscribers", csv);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(r.status, 65);
	assert_has(r.err, "quotes.csv:2: line too long");
	run_free(&r);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 20);
	free(csv);
}
END_TEST

/* ---------------------------------------------------------- send-test */

START_TEST(test_send_test_delivers_to_the_address_and_records_nothing)
{
	char *path, *dirpath, *mail;
	struct run r = RUN("send-test", "booking_confirmation", "--to",
	    "admin@example.net", "--booking", "1");

	ck_assert_msg(r.status == 0, "%s", r.err);
	assert_has(r.out, "booking_confirmation to admin@example.net: sent");
	run_free(&r);
	dirpath = xasprintf("%s/Maildir/new", dir);
	ck_assert_int_eq(tu_count_files(dirpath), 1);
	path = xasprintf("cd '%s' && cat * > ../../one.eml", dirpath);
	/* NOLINTNEXTLINE(cert-env33-c): test's own command */
	ck_assert_int_eq(system(path), 0);
	free(path);
	path = xasprintf("%s/one.eml", dir);
	mail = tu_read_file(path, NULL);
	assert_has(mail, "To: admin@example.net");
	assert_has(mail, "FC-1001");
	assert_lacks(mail, "To: sarah.jones@example.org");
	free(mail);
	free(path);
	free(dirpath);
	ck_assert_int_eq(db_int("SELECT count(*) FROM messages"), 4);
}
END_TEST

/* A test message shows a real subscriber's record, but its links must
 * not act on her: they carry test tokens. */
START_TEST(test_send_test_links_are_inert_test_links)
{
	static const char secret[] =
	    "c2VjcmV0IHRva2VuIGtleSBmb3IgdGVzdHMsIDMyKyBieXRlcw==";
	char *path, *dirpath, *mail, *tok;
	struct run r;

	free(tu_write_file(dir, "token-secret", secret));
	path = xasprintf("%s/token-secret", dir);
	ck_assert_int_eq(chmod(path, 0600), 0);
	free(path);
	write_config(NULL, NULL,
	    "[unsubscribe]\n"
	    "url = https://example.org/unsubscribe?token={token}\n"
	    "mailto = unsubscribe@example.org\n"
	    "secret_file = token-secret\n");
	db_run("INSERT INTO subscribers (id, email, name, status,"
	       " created_at) VALUES (1, 'jo@example.org', 'Jo',"
	       " 'pending', '2026-11-20T00:00:00Z')");
	r = RUN("send-test", "subscription_confirm", "--to",
	    "admin@example.net", "--subscriber", "1");
	ck_assert_msg(r.status == 0, "%s", r.err);
	run_free(&r);
	dirpath = xasprintf("%s/Maildir/new", dir);
	path = xasprintf("cd '%s' && cat * > ../../one.eml", dirpath);
	/* NOLINTNEXTLINE(cert-env33-c): test's own command */
	ck_assert_int_eq(system(path), 0);
	free(path);
	path = xasprintf("%s/one.eml", dir);
	mail = tu_read_file(path, NULL);
	assert_has(mail, "Subject: [TEST] ");
	tok = strstr(mail, "unsubscribe?token=");
	ck_assert_ptr_nonnull(tok);
	tok += strlen("unsubscribe?token=");
	tok[TOKEN_LEN] = '\0';
	ck_assert(!token_verify(
	    secret, strlen(secret), "unsubscribe", 1, "jo@example.org", tok));
	ck_assert(token_verify(secret, strlen(secret), "test:unsubscribe", 1,
	    "jo@example.org", tok));
	free(mail);
	free(path);
	free(dirpath);
}
END_TEST

START_TEST(test_send_test_checks_its_arguments)
{
	struct run r = RUN("send-test", "booking_confirmation");

	ck_assert_int_eq(r.status, 64);
	run_free(&r);
	r = RUN("send-test", "love_letter", "--to", "a@example.org");
	ck_assert_int_eq(r.status, 64);
	assert_has(r.err, "unknown kind 'love_letter'");
	run_free(&r);
	r = RUN("send-test", "booking_confirmation", "--to", "a@example.org",
	    "--subscriber", "1");
	ck_assert_int_eq(r.status, 64);
	assert_has(r.err, "is about a booking");
	run_free(&r);
	r = RUN("send-test", "booking_confirmation", "--to", "nobody");
	ck_assert_int_eq(r.status, 65);
	run_free(&r);
}
END_TEST

/* ---------------------------------------------------------- man pages */

START_TEST(test_man_pages_pass_mandoc_lint)
{
	static const char *const pages[] = { "doc/familymail.1",
		"doc/familymail.conf.5", "doc/familymail-templates.5",
		"doc/familymail-schema.5", "doc/familymaild.8" };
	char *page, *cmd, *out;
	size_t len;
	int rc;

	if (access("/usr/bin/mandoc", X_OK) != 0) {
		fprintf(stderr, "mandoc not installed: man pages not linted\n");
		return;
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(pages); i++) {
		page = xasprintf("%s/%s", tu_srcdir(), pages[i]);
		ck_assert_msg(access(page, R_OK) == 0, "%s missing", page);
		cmd = xasprintf("/usr/bin/mandoc -Tlint -Wwarning '%s' > "
				"'%s/lint' 2>&1",
		    page, dir);
		/* NOLINTNEXTLINE(cert-env33-c): test's own command */
		rc = system(cmd);
		free(cmd);
		cmd = xasprintf("%s/lint", dir);
		out = tu_read_file(cmd, &len);
		ck_assert_msg(rc == 0 && len == 0, "%s:\n%s", pages[i], out);
		free(out);
		free(cmd);
		free(page);
	}
}
END_TEST

static Suite *
cmd_suite(void)
{
	Suite *s = suite_create("cmd");
	TCase *tc;

	tc = tcase_create("bare");
	tcase_add_checked_fixture(tc, setup_bare, teardown);
	tcase_add_test(tc, test_tool_rejects_unknown_command_with_usage);
	tcase_add_test(tc, test_help_lists_every_command_and_each_option);
	tcase_add_test(
	    tc, test_help_and_man_page_name_every_option_of_every_command);
	tcase_add_test(tc, test_check_config_accepts_a_good_config);
	tcase_add_test(
	    tc, test_check_config_names_line_and_key_of_each_problem);
	tcase_add_test(tc, test_check_config_reports_a_template_parse_error);
	tcase_add_test(tc, test_check_config_warns_of_kinds_without_templates);
	tcase_add_test(tc, test_migrate_creates_then_leaves_the_schema);
	tcase_add_test(tc, test_status_without_database_says_to_migrate);
	tcase_add_test(tc, test_man_pages_pass_mandoc_lint);
	suite_add_tcase(s, tc);

	tc = tcase_create("database");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(
	    tc, test_status_json_holds_queue_jobs_failures_and_bounces);
	tcase_add_test(tc, test_status_text_shows_aligned_tables);
	tcase_add_test(tc, test_status_never_shows_a_future_last_run);
	tcase_add_test(tc, test_queue_and_preview_take_a_booking_reference);
	tcase_add_test(
	    tc, test_preview_digest_is_the_next_one_and_refuses_a_bad_period);
	tcase_add_test(tc, test_status_reports_deliverability_per_day);
	tcase_add_test(
	    tc, test_queue_to_address_shows_what_was_sent_with_the_reply);
	tcase_add_test(tc, test_queue_filters_by_state_and_kind);
	tcase_add_test(tc, test_queue_json_keeps_every_column);
	tcase_add_test(tc, test_retry_failed_requeues_only_failed_messages);
	tcase_add_test(tc, test_retry_refuses_sent_and_unknown_messages);
	tcase_add_test(
	    tc, test_retry_of_suppressed_message_waits_for_unsuppress);
	tcase_add_test(tc, test_suppress_adds_a_manual_entry_once);
	tcase_add_test(
	    tc, test_unsuppress_removes_the_entry_and_says_why_it_was_there);
	tcase_add_test(tc, test_bounces_for_an_address_show_the_diagnostic);
	tcase_add_test(
	    tc, test_import_reports_every_bad_line_and_imports_nothing);
	tcase_add_test(tc, test_import_reports_duplicates_and_bad_headers);
	tcase_add_test(tc, test_import_updates_existing_and_never_resubscribes);
	tcase_add_test(tc, test_import_shows_no_progress_into_a_pipe);
	tcase_add_test(
	    tc, test_send_test_delivers_to_the_address_and_records_nothing);
	tcase_add_test(tc, test_send_test_checks_its_arguments);
	tcase_add_test(tc, test_send_test_links_are_inert_test_links);
	tcase_add_test(
	    tc, test_import_reads_a_line_of_stray_quotes_in_linear_time);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(cmd_suite());
}
