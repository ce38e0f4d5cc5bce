/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_month: familymaild driven through a simulated month, as cron
 * would run it (`familymaild --once --now TIME`), with the booking
 * website's changes written into the database between runs. After each
 * run the test reads the Maildir (To: and Subject: of every new file)
 * and the messages table, and asserts exactly which messages exist for
 * whom. The templates are the test's own, one line of data per subject,
 * so the assertions are on data (references, titles, venues, local
 * times, posts in order) and not on the wording of templates/.
 *
 * Config: reminders 7d, 1d; weekly digest mon 08:00, monthly 1 08:00,
 * max_posts 3, all in Europe/London. British Summer Time ends on Sunday
 * 25 October 2026 (01:00Z): before it, 08:00 local is 07:00Z; after it,
 * 08:00Z.
 *
 * Fixtures: courses C1 "Foundation" starts 2026-10-20T08:30Z (09:30 BST)
 * in Cardiff, C2 "Online Refresher" 2026-10-29T10:00Z, C3 "Group
 * Leaders" 2026-11-03T09:30Z (09:30 GMT) in Newport. Subscribers Ann
 * (weekly, active), Ben (monthly, active), Cara (weekly, pending), Dan
 * (weekly, unsubscribed), Eve (weekly, active, suppressed), Finn
 * (monthly, active).
 *
 * Timeline (Z; local in brackets):
 *  1 10-01 06:00 (07:00 BST) bookings FC-1 Sarah on C1, FC-2 Tom and
 *    FC-3 Aled on C2: three confirmations; Cara (pending) one
 *    subscription confirmation. The weekly (2026-W40, Mon 28 Sep) and
 *    monthly (2026-09) periods open with no posts: no digest.
 *  2 10-01 07:30 (08:30 BST) posts P1 (29 Sep), P2 (30 Sep); FC-4
 *    Bethan on C1: her confirmation; monthly 2026-10 to Ben and Finn
 *    with P2, P1.
 *  3 10-05 07:05 (Mon 08:05 BST) Cara confirmed; FC-5 Nia booked and
 *    cancelled before any run; posts P3, P4, P5: weekly 2026-W41 to Ann
 *    and Cara with P5, P4, P3 (five new posts, max_posts 3); Eve's is
 *    suppressed; nothing for Dan or Nia.
 *  4 10-08 12:00 FC-4 Bethan cancelled (had her confirmation): booking
 *    cancelled notice; FC-6 Owen on C2: confirmation.
 *  5 10-12 07:10 (Mon 08:10 BST) C2 cancelled: course cancelled to Tom,
 *    Aled, Owen; FC-8 Huw on C3: confirmation; no new posts: no weekly
 *    digest for 2026-W42.
 *  6 10-13 09:00 C1's 7d reminder (due 10-13 08:30) to Sarah only
 *    (Bethan cancelled); FC-7 Gwen booked at 08:45, after that due time:
 *    her confirmation, no 7d reminder.
 *  7 10-18 10:00 C1 moved to Swansea; post P6: nothing sent yet (the
 *    change notice waits for [courses] change_window, 10 minutes).
 *  8 10-19 06:59 (07:59 BST): the change notices to Sarah and Gwen (not
 *    Bethan, cancelled), from Cardiff to Swansea; 07:01 (08:01 BST): weekly
 *    2026-W43 with P6 to Ann and Cara; 08:31: C1's 1d reminder to Sarah
 *    and Gwen, naming Swansea.
 *  9 10-26 07:30 (Mon 07:30 GMT, after the change), posts P7, P8:
 *    nothing yet; 08:01 (08:01 GMT): weekly 2026-W44 with P8, P7.
 *    The daemon is then down until 11-02 10:00, over C3's 7d (10-27
 *    09:30) and 1d (11-02 09:30) reminders, the monthly digest (11-01
 *    08:00Z) and the weekly (11-02 08:00Z). Meanwhile Ann unsubscribes,
 *    FC-9 Iolo books C3 (10-28, after its 7d due time), post P9.
 * 10 11-02 10:00 monthly 2026-11 to Ben and Finn with P9, P8, P7;
 *    weekly 2026-W45 with P9 to Cara; Huw gets only the 1d reminder;
 *    Iolo a confirmation and the 1d reminder.
 * 11 11-02 10:05 nothing new; 12 11-05 09:00 (C3 started, post P10,
 *    next weekly 11-09): nothing new.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "testutil.h"
#include "token.h"
#include "util.h"

#define SECRET "AEY4/sCEJs1k22cbko3ijwB4gPpoOqCOG2bf2HFxwpQ="

static char *dir, *conf, *db_path, *log_path, *maildir;
static long long last_id;

static const struct {
	const char *path;
	const char *text;
} month_templates[] = {
	{ "booking_confirmation/subject.mustache",
	    "confirmation {{booking.reference}} {{course.title}} "
	    "{{course.starts}}" },
	{ "booking_cancelled/subject.mustache",
	    "booking-cancelled {{booking.reference}} {{course.title}}" },
	{ "course_cancelled/subject.mustache",
	    "course-cancelled {{booking.reference}} {{course.title}}" },
	{ "course_changed/subject.mustache",
	    "course-changed {{booking.reference}} {{previous.venue}} -> "
	    "{{course.venue}} {{course.starts}}" },
	{ "course_reminder/subject.mustache",
	    "reminder {{reminder.offset}} {{booking.reference}} "
	    "{{course.venue}} {{course.starts}}" },
	{ "blog_digest/subject.mustache",
	    "digest {{subscriber.frequency}}{{#posts}} | {{title}}{{/posts}}" },
	{ "subscription_confirm/subject.mustache",
	    "confirm-subscription {{subscriber.email}}" },
};

static const char month_text[] =
    "Hello {{delegate.first_name}}{{subscriber.name}}\n"
    "{{#posts}}{{title}} {{published}}\n{{/posts}}"
    "{{#confirm_url}}confirm {{{confirm_url}}}\n{{/confirm_url}}";
static const char month_html[] =
    "<p>Hello {{delegate.first_name}}{{subscriber.name}}</p>";

static void
write_templates(void)
{
	static const char *const kinds[] = { "booking_confirmation",
		"booking_cancelled", "course_cancelled", "course_changed",
		"course_reminder", "blog_digest", "subscription_confirm" };
	char *p;

	p = xasprintf("%s/templates", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/templates/partials", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(kinds); i++) {
		p = xasprintf("%s/templates/%s", dir, kinds[i]);
		ck_assert_int_eq(mkdir(p, 0700), 0);
		free(tu_write_file(p, "text.mustache", month_text));
		free(tu_write_file(p, "html.mustache", month_html));
		free(p);
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(month_templates); i++) {
		p = xasprintf("%s/templates", dir);
		free(tu_write_file(
		    p, month_templates[i].path, month_templates[i].text));
		free(p);
	}
}

/* Reminders, both digests and their links. */
static const char month_sections[] =
    "[reminders]\noffsets = 7d, 1d\n"
    "\n[digest]\nweekly = mon 08:00\n"
    "monthly = 1 08:00\nmax_posts = 3\n"
    "\n[unsubscribe]\n"
    "url = https://example.org/unsubscribe?token={token}\n"
    "mailto = unsubscribe@example.org\n"
    "secret_file = token-secret\n";

static void
setup(void)
{
	struct tu_config c = { .templates = "templates",
		.sections = month_sections };
	char *secret, *fm;
	int rc;

	dir = tu_mkdtemp();
	write_templates();
	secret = tu_write_file(dir, "token-secret", SECRET);
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	conf = tu_write_config(dir, "familymail.conf", &c);
	db_path = xasprintf("%s/familymail.db", dir);
	log_path = xasprintf("%s/daemon.log", dir);
	maildir = xasprintf("%s/Maildir", dir);
	last_id = 0;
	/* The schema, made as an administrator makes it. */
	fm = xasprintf("%s/src/familymail", tu_builddir());
	{
		char *argv[] = { fm, (char *)"-c", conf, (char *)"migrate",
			NULL };

		rc = tu_run_cmd(argv, log_path, 20000);
	}
	free(fm);
	ck_assert_int_eq(rc, 0);
}

static void
teardown(void)
{
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(conf);
	free(db_path);
	free(log_path);
	free(maildir);
}

/* What the website does: SQL on its own connection. */
static void
website(const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db, sql);
	db_close(db);
}

static char *
db_text(const char *sql)
{
	return tu_db_text(db_path, sql);
}

static void
run_daemon(const char *now)
{
	int rc = tu_daemon_once(conf, now, log_path, 30000);

	if (rc != 0) {
		char *log = tu_read_file(log_path, NULL);

		ck_abort_msg(
		    "familymaild --now %s exited %d:\n%s", now, rc, log);
	}
}

/* The value of header name in the header block hdr (unfolded), or
 * NULL; newly allocated. Lines end in LF (see read_message()). */
static char *
header(const char *hdr, const char *name)
{
	size_t n = strlen(name);
	const char *p = hdr, *eol;
	struct buf b;

	while (*p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			buf_init(&b);
			for (;;) {
				eol = strchr(p, '\n');
				if (eol == NULL)
					eol = p + strlen(p);
				buf_append(&b, p, (size_t)(eol - p));
				if (*eol == '\0' ||
				    (eol[1] != ' ' && eol[1] != '\t'))
					break;
				p = eol + 1;
			}
			return buf_take(&b);
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return NULL;
}

/* A message file with its line ends made LF (a Maildir holds local
 * line ends, SMTP would have CRLF). */
static char *
read_message(const char *path)
{
	char *s = tu_read_file(path, NULL);
	size_t j = 0;

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; s[i] != '\0'; i++)
		if (s[i] != '\r')
			s[j++] = s[i];
	s[j] = '\0';
	return s;
}

/* A copy of the header block of a message (up to the empty line). */
static char *
headers_of(const char *msg)
{
	const char *end;

	ck_assert_ptr_nonnull(msg);
	end = strstr(msg, "\n\n");
	ck_assert_ptr_nonnull(end);
	return xstrndup(msg, (size_t)(end - msg) + 1);
}

/* The body of a quoted-printable message as text: soft line breaks
 * removed, =XX decoded; enough for finding links in it. */
static char *
body_text(const char *msg)
{
	const char *p = strstr(msg, "\n\n");
	struct buf b;

	ck_assert_ptr_nonnull(p);
	buf_init(&b);
	for (p += 2; *p != '\0'; p++) {
		if (p[0] == '=' && p[1] == '\n') {
			p++;
		} else if (p[0] == '=' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			char hex[3] = { p[1], p[2], '\0' };

			buf_putc(&b, (char)strtol(hex, NULL, 16));
			p += 2;
		} else {
			buf_putc(&b, *p);
		}
	}
	return buf_take(&b);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The messages delivered since the last call, one "ADDRESS | SUBJECT"
 * line each, sorted; each file is then moved to cur/ as a mail reader
 * would. If keep is not NULL, the whole text of the first message to
 * keep_rcpt is left there (caller frees). */
static char *
new_mail(const char *keep_rcpt, char **keep)
{
	char *new_dir = xasprintf("%s/new", maildir);
	char *cur_dir = xasprintf("%s/cur", maildir);
	char *lines[64] = { NULL };
	struct dirent *e;
	size_t n = 0;
	struct buf b;
	DIR *d;

	mkdir(cur_dir, 0700);
	d = opendir(new_dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		char *path, *to_path, *hdr, *to, *subject, *lt, *gt, *text;

		if (e->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", new_dir, e->d_name);
		text = read_message(path);
		hdr = headers_of(text);
		to = header(hdr, "To");
		subject = header(hdr, "Subject");
		ck_assert_ptr_nonnull(to);
		ck_assert_ptr_nonnull(subject);
		lt = strrchr(to, '<');
		gt = strrchr(to, '>');
		if (lt != NULL && gt != NULL && gt > lt) {
			*gt = '\0';
			memmove(to, lt + 1, strlen(lt + 1) + 1);
		}
		ck_assert_uint_lt(n, UTIL_ARRAY_LEN(lines));
		lines[n++] = xasprintf("%s | %s", to, subject);
		if (keep != NULL && *keep == NULL && strcmp(to, keep_rcpt) == 0)
			*keep = text;
		else
			free(text);
		free(hdr);
		to_path = xasprintf("%s/%s", cur_dir, e->d_name);
		ck_assert_int_eq(rename(path, to_path), 0);
		free(to_path);
		free(path);
		free(to);
		free(subject);
	}
	if (d != NULL)
		closedir(d);
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(new_dir);
	free(cur_dir);
	return b.data != NULL ? buf_take(&b) : xstrdup("");
}

/* The rows added to messages since the last call, "KEY RCPT STATE",
 * sorted by key. */
static char *
new_rows(void)
{
	char *sql, *s;

	sql = xasprintf("SELECT coalesce(group_concat(line, char(10)) || "
			"char(10), '') FROM (SELECT dedupe_key || ' ' || "
			"recipient || ' ' || state AS line FROM messages "
			"WHERE id > %lld ORDER BY dedupe_key)",
	    last_id);
	s = db_text(sql);
	free(sql);
	return s;
}

static void
update_last_id(void)
{
	char *s = db_text("SELECT coalesce(max(id), 0) FROM messages");

	last_id = strtoll(s, NULL, 10);
	free(s);
}

/* One step of the month: the website's SQL (or NULL), a run at now, and
 * exactly the mail and the rows expected from it. The text of the first
 * message to keep_rcpt (may be NULL) is returned (caller frees). */
static char *
step_keep(const char *sql, const char *now, const char *want_mail,
    const char *want_rows, const char *keep_rcpt)
{
	char *mail, *rows, *kept = NULL;

	if (sql != NULL)
		website(sql);
	run_daemon(now);
	mail = new_mail(keep_rcpt, keep_rcpt != NULL ? &kept : NULL);
	rows = new_rows();
	ck_assert_msg(strcmp(mail, want_mail) == 0,
	    "at %s, mail:\n%s\nwanted:\n%s", now, mail, want_mail);
	ck_assert_msg(strcmp(rows, want_rows) == 0,
	    "at %s, messages:\n%s\nwanted:\n%s", now, rows, want_rows);
	update_last_id();
	free(mail);
	free(rows);
	return kept;
}

static void
step(const char *sql, const char *now, const char *want_mail,
    const char *want_rows)
{
	free(step_keep(sql, now, want_mail, want_rows, NULL));
}

/* The token in an https List-Unsubscribe link of a header block. */
static char *
unsubscribe_token(const char *hdr)
{
	char *v = header(hdr, "List-Unsubscribe"), *p, *end, *tok;

	ck_assert_ptr_nonnull(v);
	p = strstr(v, "<https://example.org/unsubscribe?token=");
	ck_assert_msg(p != NULL, "%s", v);
	p += strlen("<https://example.org/unsubscribe?token=");
	end = strchr(p, '>');
	ck_assert_ptr_nonnull(end);
	tok = xstrndup(p, (size_t)(end - p));
	/* The mailto form carries the same token. */
	p = strstr(v, "<mailto:unsubscribe@example.org?");
	ck_assert_msg(p != NULL, "%s", v);
	end = strchr(p, '>');
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	ck_assert_msg(strstr(p, tok) != NULL, "%s", p);
	free(v);
	return tok;
}

static const char month_fixtures[] =
    "INSERT INTO courses (id, title, starts_at, ends_at, venue, address)"
    " VALUES"
    " (1, 'Foundation', '2026-10-20T08:30:00Z', '2026-10-20T15:30:00Z',"
    "  'Cardiff', '1 Castle Street'),"
    " (2, 'Online Refresher', '2026-10-29T10:00:00Z', NULL, 'Online',"
    "  NULL),"
    " (3, 'Group Leaders', '2026-11-03T09:30:00Z', NULL, 'Newport',"
    "  '5 High Street');"
    "INSERT INTO delegates (id, email, first_name, last_name) VALUES"
    " (1, 'sarah@example.org', 'Sarah', 'Jones'),"
    " (2, 'tom@example.org', 'Tom', 'Price'),"
    " (3, 'aled@example.org', 'Aled', 'Hughes'),"
    " (4, 'bethan@example.org', 'Bethan', 'Rees'),"
    " (5, 'nia@example.org', 'Nia', 'Lewis'),"
    " (6, 'owen@example.org', 'Owen', 'Morgan'),"
    " (7, 'gwen@example.org', 'Gwen', 'Davies'),"
    " (8, 'huw@example.org', 'Huw', 'Thomas'),"
    " (9, 'iolo@example.org', 'Iolo', 'Evans');"
    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
    " created_at) VALUES"
    " (1, 1, 1, 'FC-1', '2026-09-20T10:00:00Z'),"
    " (2, 2, 2, 'FC-2', '2026-09-21T10:00:00Z'),"
    " (3, 2, 3, 'FC-3', '2026-09-22T10:00:00Z');"
    "INSERT INTO subscribers (id, email, name, status, frequency,"
    " created_at) VALUES"
    " (1, 'ann@example.org', 'Ann', 'active', 'weekly',"
    "  '2026-09-01T00:00:00Z'),"
    " (2, 'ben@example.org', 'Ben', 'active', 'monthly',"
    "  '2026-09-01T00:00:00Z'),"
    " (3, 'cara@example.org', 'Cara', 'pending', 'weekly',"
    "  '2026-09-30T00:00:00Z'),"
    " (4, 'dan@example.org', 'Dan', 'unsubscribed', 'weekly',"
    "  '2026-09-01T00:00:00Z'),"
    " (5, 'eve@example.org', 'Eve', 'active', 'weekly',"
    "  '2026-09-01T00:00:00Z'),"
    " (6, 'finn@example.org', 'Finn', 'active', 'monthly',"
    "  '2026-09-01T00:00:00Z');"
    "INSERT INTO suppressions (email, reason, created_at) VALUES"
    " ('eve@example.org', 'hard_bounce', '2026-09-15T00:00:00Z');";

static void
post(struct buf *sql, int n, const char *title, const char *published)
{
	buf_printf(sql,
	    "INSERT INTO posts (id, title, url, author, summary,"
	    " published_at) VALUES (%d, '%s', 'https://blog.example.org/p%d',"
	    " 'Ceri', 'About %s', '%s');",
	    n, title, n, title, published);
}

START_TEST(test_month_sends_each_message_once_at_the_right_time)
{
	char *msg, *hdr, *body, *tok, *v, *s;
	struct buf sql, want;

	/* 1: bookings and a pending subscriber; digests open empty. */
	msg = step_keep(month_fixtures, "2026-10-01T06:00:00Z",
	    "aled@example.org | confirmation FC-3 Online Refresher Thursday "
	    "29 October 2026, 10:00\n"
	    "cara@example.org | confirm-subscription cara@example.org\n"
	    "sarah@example.org | confirmation FC-1 Foundation Tuesday 20 "
	    "October 2026, 09:30\n"
	    "tom@example.org | confirmation FC-2 Online Refresher Thursday "
	    "29 October 2026, 10:00\n",
	    "confirm:booking:1 sarah@example.org sent\n"
	    "confirm:booking:2 tom@example.org sent\n"
	    "confirm:booking:3 aled@example.org sent\n"
	    "optin:subscriber:3 cara@example.org sent\n",
	    "cara@example.org");
	s = db_text("SELECT group_concat(frequency || ' ' || period || ' ' ||"
		    " state, ', ') FROM (SELECT * FROM digests ORDER BY id)");
	ck_assert_str_eq(s, "weekly 2026-W40 empty, monthly 2026-09 empty");
	free(s);
	/* The confirmation link is signed for Cara, for confirming. */
	buf_init(&want);
	buf_puts(&want, "https://example.org/confirm?token=");
	ck_assert_int_eq(token_make(SECRET, strlen(SECRET), "confirm", 3,
			     "cara@example.org", &want),
	    0);
	body = body_text(msg);
	ck_assert_msg(strstr(body, want.data) != NULL, "%s", body);
	buf_fini(&want);
	free(body);
	hdr = headers_of(msg);
	ck_assert_ptr_nonnull(strstr(hdr, "\nList-Unsubscribe:"));
	free(hdr);
	free(msg);

	/* 2: the monthly digest of October, a booking. */
	buf_init(&sql);
	post(&sql, 1, "Bedtime routines", "2026-09-29T10:00:00Z");
	post(&sql, 2, "Screen time", "2026-09-30T15:00:00Z");
	buf_puts(&sql,
	    "INSERT INTO bookings (id, course_id, delegate_id,"
	    " reference, created_at) VALUES (4, 1, 4, 'FC-4',"
	    " '2026-10-01T07:10:00Z');");
	msg = step_keep(sql.data, "2026-10-01T07:30:00Z",
	    "ben@example.org | digest monthly | Screen time | Bedtime "
	    "routines\n"
	    "bethan@example.org | confirmation FC-4 Foundation Tuesday 20 "
	    "October 2026, 09:30\n"
	    "finn@example.org | digest monthly | Screen time | Bedtime "
	    "routines\n",
	    "confirm:booking:4 bethan@example.org sent\n"
	    "digest:monthly:2026-10:subscriber:2 ben@example.org sent\n"
	    "digest:monthly:2026-10:subscriber:6 finn@example.org sent\n",
	    "bethan@example.org");
	buf_reset(&sql);
	/* Booking mail is transactional: no list headers. */
	hdr = headers_of(msg);
	v = header(hdr, "Auto-Submitted");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "auto-generated");
	free(v);
	ck_assert_ptr_null(strstr(hdr, "List-Unsubscribe"));
	ck_assert_ptr_null(strstr(hdr, "List-Id"));
	free(hdr);
	free(msg);

	/* 3: the weekly digest of W41: the newest three of five posts. */
	post(&sql, 3, "Tantrums", "2026-10-02T09:00:00Z");
	post(&sql, 4, "Sibling rivalry", "2026-10-03T09:00:00Z");
	post(&sql, 5, "Praise that works", "2026-10-04T20:00:00Z");
	buf_puts(&sql,
	    "UPDATE subscribers SET status = 'active' WHERE id = 3;"
	    "INSERT INTO bookings (id, course_id, delegate_id,"
	    " reference, created_at) VALUES (5, 1, 5, 'FC-5',"
	    " '2026-10-03T12:00:00Z');"
	    "UPDATE bookings SET status = 'cancelled' WHERE id = 5;");
	msg = step_keep(sql.data, "2026-10-05T07:05:00Z",
	    "ann@example.org | digest weekly | Praise that works | Sibling "
	    "rivalry | Tantrums\n"
	    "cara@example.org | digest weekly | Praise that works | Sibling "
	    "rivalry | Tantrums\n",
	    "digest:weekly:2026-W41:subscriber:1 ann@example.org sent\n"
	    "digest:weekly:2026-W41:subscriber:3 cara@example.org sent\n"
	    "digest:weekly:2026-W41:subscriber:5 eve@example.org "
	    "suppressed\n",
	    "ann@example.org");
	buf_reset(&sql);
	/* Dates of posts are local: 20:00Z on 4 October is 21:00 BST. */
	body = body_text(msg);
	ck_assert_msg(
	    strstr(body, "Praise that works Sunday 4 October 2026") != NULL,
	    "%s", body);
	free(body);
	/* Mail to a subscriber carries the list headers (RFC 2369, 8058)
	 * and a token that is Ann's and nobody else's. */
	hdr = headers_of(msg);
	v = header(hdr, "List-Id");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "<courses.example.org>");
	free(v);
	v = header(hdr, "List-Unsubscribe-Post");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "List-Unsubscribe=One-Click");
	free(v);
	/* And what keeps auto-replies quiet and names the campaign for
	 * Gmail's feedback loop (familymaild(8), Message headers). */
	v = header(hdr, "Auto-Submitted");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "auto-generated");
	free(v);
	v = header(hdr, "Precedence");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "bulk");
	free(v);
	v = header(hdr, "Feedback-ID");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "weekly-2026-W41:blog_digest:courses.example.org");
	free(v);
	tok = unsubscribe_token(hdr);
	ck_assert(token_verify(
	    SECRET, strlen(SECRET), "unsubscribe", 1, "ann@example.org", tok));
	ck_assert(!token_verify(
	    SECRET, strlen(SECRET), "unsubscribe", 3, "cara@example.org", tok));
	ck_assert(!token_verify(
	    SECRET, strlen(SECRET), "unsubscribe", 1, "cara@example.org", tok));
	ck_assert(!token_verify(
	    SECRET, strlen(SECRET), "confirm", 1, "ann@example.org", tok));
	ck_assert(!token_verify(
	    "another-secret", 14, "unsubscribe", 1, "ann@example.org", tok));
	free(tok);
	free(hdr);
	free(msg);

	/* 4: a cancelled booking that had its confirmation. */
	step("UPDATE bookings SET status = 'cancelled' WHERE id = 4;"
	     "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	     " created_at) VALUES (6, 2, 6, 'FC-6', '2026-10-08T11:00:00Z');",
	    "2026-10-08T12:00:00Z",
	    "bethan@example.org | booking-cancelled FC-4 Foundation\n"
	    "owen@example.org | confirmation FC-6 Online Refresher Thursday "
	    "29 October 2026, 10:00\n",
	    "cancel:booking:4 bethan@example.org sent\n"
	    "confirm:booking:6 owen@example.org sent\n");

	/* 5: a cancelled course; no posts for W42, so no digest. */
	step("UPDATE courses SET status = 'cancelled' WHERE id = 2;"
	     "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	     " created_at) VALUES (8, 3, 8, 'FC-8', '2026-10-10T09:00:00Z');",
	    "2026-10-12T07:10:00Z",
	    "aled@example.org | course-cancelled FC-3 Online Refresher\n"
	    "huw@example.org | confirmation FC-8 Group Leaders Tuesday 3 "
	    "November 2026, 09:30\n"
	    "owen@example.org | course-cancelled FC-6 Online Refresher\n"
	    "tom@example.org | course-cancelled FC-2 Online Refresher\n",
	    "cancel:course:2:booking:2 tom@example.org sent\n"
	    "cancel:course:2:booking:3 aled@example.org sent\n"
	    "cancel:course:2:booking:6 owen@example.org sent\n"
	    "confirm:booking:8 huw@example.org sent\n");
	s = db_text("SELECT state || ' ' || post_count FROM digests WHERE "
		    "period = '2026-W42'");
	ck_assert_str_eq(s, "empty 0");
	free(s);

	/* 6: C1's 7d reminder; Gwen booked after it fell due. */
	step("INSERT INTO bookings (id, course_id, delegate_id, reference,"
	     " created_at) VALUES (7, 1, 7, 'FC-7', '2026-10-13T08:45:00Z');",
	    "2026-10-13T09:00:00Z",
	    "gwen@example.org | confirmation FC-7 Foundation Tuesday 20 "
	    "October 2026, 09:30\n"
	    "sarah@example.org | reminder 7d FC-1 Cardiff Tuesday 20 October "
	    "2026, 09:30\n",
	    "confirm:booking:7 gwen@example.org sent\n"
	    "remind:booking:1:7d sarah@example.org sent\n");

	/* 7: the venue changes, a post appears: nothing to send yet. */
	step("UPDATE courses SET venue = 'Swansea', address = '9 Wind Street'"
	     " WHERE id = 1;"
	     "INSERT INTO posts (id, title, url, author, summary,"
	     " published_at) VALUES (6, 'Fussy eaters',"
	     " 'https://blog.example.org/p6', 'Ceri', NULL,"
	     " '2026-10-16T12:00:00Z');",
	    "2026-10-18T10:00:00Z", "", "");

	/* 8: the change window has closed; Monday 08:00 BST is 07:00Z. */
	step(NULL, "2026-10-19T06:59:00Z",
	    "gwen@example.org | course-changed FC-7 Cardiff -> Swansea "
	    "Tuesday 20 October 2026, 09:30\n"
	    "sarah@example.org | course-changed FC-1 Cardiff -> Swansea "
	    "Tuesday 20 October 2026, 09:30\n",
	    "change:booking:1:1 sarah@example.org sent\n"
	    "change:booking:7:1 gwen@example.org sent\n");
	step(NULL, "2026-10-19T07:01:00Z",
	    "ann@example.org | digest weekly | Fussy eaters\n"
	    "cara@example.org | digest weekly | Fussy eaters\n",
	    "digest:weekly:2026-W43:subscriber:1 ann@example.org sent\n"
	    "digest:weekly:2026-W43:subscriber:3 cara@example.org sent\n"
	    "digest:weekly:2026-W43:subscriber:5 eve@example.org "
	    "suppressed\n");
	/* The 1d reminder is rendered when sent: the new venue. */
	step(NULL, "2026-10-19T08:31:00Z",
	    "gwen@example.org | reminder 1d FC-7 Swansea Tuesday 20 October "
	    "2026, 09:30\n"
	    "sarah@example.org | reminder 1d FC-1 Swansea Tuesday 20 October "
	    "2026, 09:30\n",
	    "remind:booking:1:1d sarah@example.org sent\n"
	    "remind:booking:7:1d gwen@example.org sent\n");

	/* 9: after the clocks went back, Monday 08:00 is 08:00Z. */
	post(&sql, 7, "Quality time", "2026-10-21T18:00:00Z");
	post(&sql, 8, "Homework help", "2026-10-22T18:00:00Z");
	step(sql.data, "2026-10-26T07:30:00Z", "", "");
	buf_reset(&sql);
	step(NULL, "2026-10-26T08:01:00Z",
	    "ann@example.org | digest weekly | Homework help | Quality time\n"
	    "cara@example.org | digest weekly | Homework help | Quality "
	    "time\n",
	    "digest:weekly:2026-W44:subscriber:1 ann@example.org sent\n"
	    "digest:weekly:2026-W44:subscriber:3 cara@example.org sent\n"
	    "digest:weekly:2026-W44:subscriber:5 eve@example.org "
	    "suppressed\n");

	/* 10: the daemon was down for a week. */
	post(&sql, 9, "Half-term ideas", "2026-10-30T09:00:00Z");
	buf_puts(&sql,
	    "UPDATE subscribers SET status = 'unsubscribed'"
	    " WHERE id = 1;"
	    "INSERT INTO bookings (id, course_id, delegate_id,"
	    " reference, created_at) VALUES (9, 3, 9, 'FC-9',"
	    " '2026-10-28T12:00:00Z');");
	step(sql.data, "2026-11-02T10:00:00Z",
	    "ben@example.org | digest monthly | Half-term ideas | Homework "
	    "help | Quality time\n"
	    "cara@example.org | digest weekly | Half-term ideas\n"
	    "finn@example.org | digest monthly | Half-term ideas | Homework "
	    "help | Quality time\n"
	    "huw@example.org | reminder 1d FC-8 Newport Tuesday 3 November "
	    "2026, 09:30\n"
	    "iolo@example.org | confirmation FC-9 Group Leaders Tuesday 3 "
	    "November 2026, 09:30\n"
	    "iolo@example.org | reminder 1d FC-9 Newport Tuesday 3 November "
	    "2026, 09:30\n",
	    "confirm:booking:9 iolo@example.org sent\n"
	    "digest:monthly:2026-11:subscriber:2 ben@example.org sent\n"
	    "digest:monthly:2026-11:subscriber:6 finn@example.org sent\n"
	    "digest:weekly:2026-W45:subscriber:3 cara@example.org sent\n"
	    "digest:weekly:2026-W45:subscriber:5 eve@example.org "
	    "suppressed\n"
	    "remind:booking:8:1d huw@example.org sent\n"
	    "remind:booking:9:1d iolo@example.org sent\n");
	buf_reset(&sql);

	/* 11, 12: nothing is ever sent twice; no digest before its day. */
	step(NULL, "2026-11-02T10:05:00Z", "", "");
	post(&sql, 10, "Winter walks", "2026-11-04T09:00:00Z");
	step(sql.data, "2026-11-05T09:00:00Z", "", "");
	buf_fini(&sql);

	/* Each period once, at 08:00 London time: 07:00Z in summer time,
	 * 08:00Z after 25 October. */
	s = db_text(
	    "SELECT group_concat(period || ' ' || scheduled_at || ' ' ||"
	    " state || ' ' || post_count || ' ' || recipients, ', ')"
	    " FROM (SELECT * FROM digests ORDER BY scheduled_at)");
	ck_assert_str_eq(s,
	    "2026-09 2026-09-01T07:00:00Z empty 0 0, "
	    "2026-W40 2026-09-28T07:00:00Z empty 0 0, "
	    "2026-10 2026-10-01T07:00:00Z enqueued 2 2, "
	    "2026-W41 2026-10-05T07:00:00Z enqueued 5 3, "
	    "2026-W42 2026-10-12T07:00:00Z empty 0 0, "
	    "2026-W43 2026-10-19T07:00:00Z enqueued 1 3, "
	    "2026-W44 2026-10-26T08:00:00Z enqueued 2 3, "
	    "2026-11 2026-11-01T08:00:00Z enqueued 7 2, "
	    "2026-W45 2026-11-02T08:00:00Z enqueued 1 2");
	free(s);
	s = db_text("SELECT count(*) FROM messages WHERE state NOT IN "
		    "('sent', 'suppressed')");
	ck_assert_str_eq(s, "0");
	free(s);
}
END_TEST

/* A confirmation that could not go out at once (the Maildir was not
 * writable) is not sent once the booking is cancelled, and no
 * cancellation notice follows a confirmation never sent. */

/*
 * A Welsh delegate and a Welsh subscriber across the end of British
 * Summer Time (25 October 2026, 01:00Z), with the real templates: the
 * booking made in summer time names a course after the change at its
 * local (GMT) time, the reminders say "ymhen 7 diwrnod" and "yfory",
 * and a post published at 23:30Z on the Saturday (00:30 BST on the
 * Sunday) is dated Sunday in the digest sent on the Monday after.
 */
START_TEST(test_month_welsh_delegate_and_subscriber_across_the_clock_change)
{
	struct tu_config c = { .log_level = "",
		.bounce_domain = "",
		.sections =
		    "[organisation]\ncharity_number = 1234567\n"
		    "\n[reminders]\noffsets = 7d, 1d\n"
		    "\n[digest]\nweekly = mon 08:00\n"
		    "\n[unsubscribe]\n"
		    "url = https://example.org/unsubscribe?token={token}\n"
		    "secret_file = token-secret\n" };
	char *msg, *body;

	free(conf);
	conf = tu_write_config(dir, "familymail.conf", &c);

	msg = step_keep(
	    "INSERT INTO courses (id, title, starts_at, venue, address)"
	    " VALUES (1, 'Hyfforddiant Arweinwyr', '2026-10-27T09:30:00Z',"
	    " 'Caerdydd', 'Canolfan y Mileniwm');"
	    "INSERT INTO delegates (id, email, first_name, language) VALUES"
	    " (1, 'gwen@example.org', 'Gwenllian', 'cy');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at) VALUES (1, 1, 1, 'FC-CY1', '2026-10-19T08:00:00Z');"
	    "INSERT INTO subscribers (id, email, name, status, frequency,"
	    " created_at, language) VALUES (1, 'mererid@example.org',"
	    " 'Mererid', 'active', 'weekly', '2026-09-01T00:00:00Z', 'cy');",
	    "2026-10-19T09:00:00Z",
	    "gwen@example.org | Eich lle ar Hyfforddiant Arweinwyr, 27 Hyd\n",
	    "confirm:booking:1 gwen@example.org sent\n", "gwen@example.org");
	body = body_text(msg);
	ck_assert_msg(strstr(body, "Annwyl Gwenllian,") != NULL, "%s", body);
	/* Booked in summer time; the course is after the change: 09:30. */
	ck_assert_msg(
	    strstr(body, "Dydd Mawrth 27 Hydref 2026") != NULL, "%s", body);
	ck_assert_msg(strstr(body, "Amser:       09:30\n") != NULL, "%s", body);
	ck_assert_msg(
	    strstr(msg, "\nContent-Language: cy\n") != NULL, "%s", msg);
	free(body);
	free(msg);

	step(NULL, "2026-10-20T10:00:00Z",
	    "gwen@example.org | Nodyn atgoffa: Hyfforddiant Arweinwyr yn "
	    "dechrau ymhen 7 diwrnod, 27 Hyd\n",
	    "remind:booking:1:7d gwen@example.org sent\n");

	/* Monday 26 October, 08:01 GMT: the weekly digest, in Welsh. */
	msg = step_keep("INSERT INTO posts (id, title, url, author, summary,"
			" published_at) VALUES (1, 'Teithiau teuluol',"
			" 'https://blog.example.org/teithiau', 'Rhian',"
			" 'Syniadau ar gyfer yr hanner tymor.',"
			" '2026-10-24T23:30:00Z');",
	    "2026-10-26T08:01:00Z",
	    "mererid@example.org | 1 cofnod newydd ar flog Family Courses yr "
	    "wythnos hon\n",
	    "digest:weekly:2026-W44:subscriber:1 mererid@example.org sent\n",
	    "mererid@example.org");
	body = body_text(msg);
	ck_assert_msg(
	    strstr(body, "Gan Rhian, Dydd Sul 25 Hydref 2026") != NULL, "%s",
	    body);
	ck_assert_msg(
	    strstr(body, "Dad-danysgrifio ag un clic:") != NULL, "%s", body);
	free(body);
	free(msg);

	msg = step_keep(NULL, "2026-10-26T10:00:00Z",
	    "gwen@example.org | Nodyn atgoffa: Hyfforddiant Arweinwyr yn "
	    "dechrau yfory, 27 Hyd\n",
	    "remind:booking:1:1d gwen@example.org sent\n", "gwen@example.org");
	body = body_text(msg);
	ck_assert_msg(
	    strstr(body, "Dydd Mawrth 27 Hydref 2026, 09:30.") != NULL, "%s",
	    body);
	free(body);
	free(msg);
}
END_TEST

START_TEST(test_month_booking_cancelled_before_its_confirmation_gets_none)
{
	char *tmp_dir = xasprintf("%s/tmp", maildir), *s;

	website(
	    "INSERT INTO courses (id, title, starts_at, venue) VALUES"
	    " (1, 'Foundation', '2026-10-20T08:30:00Z', 'Cardiff');"
	    "INSERT INTO delegates (id, email, first_name) VALUES"
	    " (1, 'sarah@example.org', 'Sarah');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at) VALUES (1, 1, 1, 'FC-1', '2026-10-01T08:55:00Z');");
	ck_assert_int_eq(mkdir(maildir, 0700), 0);
	free(tu_write_file(maildir, "tmp", "not a folder"));
	step(NULL, "2026-10-01T09:00:00Z", "",
	    "confirm:booking:1 sarah@example.org queued\n");
	s = db_text("SELECT attempts FROM messages");
	ck_assert_str_eq(s, "1");
	free(s);
	ck_assert_int_eq(unlink(tmp_dir), 0);
	ck_assert_int_eq(mkdir(tmp_dir, 0700), 0);
	website("UPDATE bookings SET status = 'cancelled' WHERE id = 1;");
	last_id = 0;
	step(NULL, "2026-10-01T12:00:00Z", "",
	    "confirm:booking:1 sarah@example.org cancelled\n");
	free(tmp_dir);
}
END_TEST

/* The daemon stopped half-way through enqueueing a digest (the cursor
 * says subscribers up to id 2 have theirs): the rest get theirs after
 * the restart, and nobody gets two. */
START_TEST(test_month_digest_interrupted_half_way_finishes_after_restart)
{
	website("INSERT INTO subscribers (id, email, name, frequency,"
		" created_at) VALUES"
		" (1, 's1@example.org', 'One', 'weekly', '2026-09-01'),"
		" (2, 's2@example.org', 'Two', 'weekly', '2026-09-01'),"
		" (3, 's3@example.org', 'Three', 'weekly', '2026-09-01'),"
		" (4, 's4@example.org', 'Four', 'monthly', '2026-09-01'),"
		" (5, 's5@example.org', 'Five', 'weekly', '2026-09-01');"
		"INSERT INTO posts (id, title, url, published_at) VALUES"
		" (1, 'Tantrums', 'https://blog.example.org/p1',"
		"  '2026-10-02T09:00:00Z'),"
		" (2, 'Bedtime', 'https://blog.example.org/p2',"
		"  '2026-10-03T09:00:00Z');"
		/* What the interrupted run left behind. */
		"INSERT INTO digests (frequency, period, scheduled_at, since,"
		" until, post_count, state, cursor, recipients, created_at)"
		" VALUES ('weekly', '2026-W41', '2026-10-05T07:00:00Z',"
		" '2026-09-28T07:00:00Z', '2026-10-05T07:00:00Z', 2,"
		" 'enqueuing', 2, 2, '2026-10-05T07:00:00Z'),"
		" ('monthly', '2026-10', '2026-10-01T07:00:00Z',"
		" '2026-09-01T07:00:00Z', '2026-10-01T07:00:00Z', 0, 'empty',"
		" 0, 0, '2026-10-01T07:00:00Z');"
		"INSERT INTO messages (dedupe_key, kind, recipient,"
		" subscriber_id, detail, state, created_at, next_attempt_at,"
		" updated_at) VALUES"
		" ('digest:weekly:2026-W41:subscriber:1', 'blog_digest',"
		"  's1@example.org', 1, 'weekly:2026-W41', 'sent',"
		"  '2026-10-05T07:00:00Z', '2026-10-05T07:00:00Z',"
		"  '2026-10-05T07:00:00Z'),"
		" ('digest:weekly:2026-W41:subscriber:2', 'blog_digest',"
		"  's2@example.org', 2, 'weekly:2026-W41', 'queued',"
		"  '2026-10-05T07:00:00Z', '2026-10-05T07:00:00Z',"
		"  '2026-10-05T07:00:00Z');");
	update_last_id();
	step(NULL, "2026-10-05T07:20:00Z",
	    "s2@example.org | digest weekly | Bedtime | Tantrums\n"
	    "s3@example.org | digest weekly | Bedtime | Tantrums\n"
	    "s5@example.org | digest weekly | Bedtime | Tantrums\n",
	    "digest:weekly:2026-W41:subscriber:3 s3@example.org sent\n"
	    "digest:weekly:2026-W41:subscriber:5 s5@example.org sent\n");
	{
		char *s = db_text("SELECT state || ' ' || recipients || ' ' ||"
				  " (SELECT group_concat(state) FROM messages)"
				  " FROM digests WHERE period = '2026-W41'");

		ck_assert_str_eq(s, "enqueued 4 sent,sent,sent,sent");
		free(s);
	}
	step(NULL, "2026-10-05T08:00:00Z", "", "");
}
END_TEST

/* The posts a digest holds (the view digest_posts), newest first. */
static char *
digest_titles(const char *period)
{
	char *sql = xasprintf("SELECT coalesce(group_concat(title, ' | '),"
			      " '') FROM (SELECT p.title FROM digests g"
			      " JOIN digest_posts dp ON dp.digest_id = g.id"
			      " JOIN posts p ON p.id = dp.post_id"
			      " WHERE g.period = '%s'"
			      " ORDER BY p.published_at DESC)",
	    period);
	char *s = db_text(sql);

	free(sql);
	return s;
}

/* A post dated before the weekly digest of 5 October but added after it
 * was opened (a late feed, a backdated post) goes into the next weekly
 * digest, once; a post dated before that digest's own week (an archive
 * import) is not news and goes into none. Asserted on the mail sent
 * and on what the digest job decided (the view digest_posts, which the
 * sender renders). */
START_TEST(test_month_late_post_goes_into_the_next_digest_once)
{
	char *s;

	website("INSERT INTO subscribers (id, email, name, frequency,"
		" created_at) VALUES"
		" (1, 'ann@example.org', 'Ann', 'weekly', '2026-09-01'),"
		" (2, 'ben@example.org', 'Ben', 'monthly', '2026-09-01');"
		"INSERT INTO posts (id, title, url, published_at) VALUES"
		" (1, 'Tantrums', 'https://blog.example.org/p1',"
		"  '2026-10-02T09:00:00Z');");
	update_last_id();
	step(NULL, "2026-10-05T07:10:00Z",
	    "ann@example.org | digest weekly | Tantrums\n",
	    "digest:weekly:2026-W41:subscriber:1 ann@example.org sent\n");
	/* Dated in W41's week (Mon 28 Sep to Mon 5 Oct 08:00 BST), added
	 * after W41 was opened; and one from the week before. */
	website("INSERT INTO posts (id, title, url, published_at) VALUES"
		" (2, 'Bedtime', 'https://blog.example.org/p2',"
		"  '2026-10-04T09:00:00Z'),"
		" (3, 'Archive', 'https://blog.example.org/p3',"
		"  '2026-09-20T09:00:00Z');");
	step(NULL, "2026-10-05T07:30:00Z", "", "");
	/* W42 has no post of its own week, only the late one: it goes
	 * out, and holds that post. */
	step(NULL, "2026-10-12T07:10:00Z",
	    "ann@example.org | digest weekly | Bedtime\n",
	    "digest:weekly:2026-W42:subscriber:1 ann@example.org sent\n");
	s = digest_titles("2026-W41");
	ck_assert_str_eq(s, "Tantrums");
	free(s);
	s = digest_titles("2026-W42");
	ck_assert_str_eq(s, "Bedtime");
	free(s);
	/* Never twice: W43 has nothing new. The monthly of November (the
	 * daemon was down on 26 October: no W44) holds all three: Archive
	 * is dated in the September the October digest covered, and came
	 * after it. */
	run_daemon("2026-10-19T07:10:00Z");
	run_daemon("2026-11-02T08:10:00Z");
	s = db_text("SELECT group_concat(frequency || ' ' || period || ' ' ||"
		    " state || ' ' || post_count, ', ') FROM (SELECT * FROM"
		    " digests ORDER BY frequency, period)");
	ck_assert_str_eq(s,
	    "monthly 2026-10 empty 0, monthly 2026-11 enqueued 3, "
	    "weekly 2026-W41 enqueued 1, weekly 2026-W42 enqueued 1, "
	    "weekly 2026-W43 empty 0, weekly 2026-W45 empty 0");
	free(s);
	s = digest_titles("2026-11");
	ck_assert_str_eq(s, "Bedtime | Tantrums | Archive");
	free(s);
	s = db_text("SELECT count(*) FROM messages");
	ck_assert_str_eq(s, "3");
	free(s);
}
END_TEST

static int
wait_for_mail(int want, int timeout_ms)
{
	char *new_dir = xasprintf("%s/new", maildir);
	int n = 0;

	timeout_ms = tu_timeout_ms(timeout_ms);
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		n = tu_count_files(new_dir);
		if (n >= want)
			break;
		tu_sleep_ms(50);
	}
	free(new_dir);
	return n;
}

/* Left running, the daemon wakes by itself when a reminder and a digest
 * fall due (Monday 08:00 BST = 07:00Z), with no change to the database
 * to wake it. */
START_TEST(test_month_running_daemon_wakes_for_reminder_and_digest)
{
	char *daemon_path = xasprintf("%s/src/familymaild", tu_builddir());
	char *argv[] = { daemon_path, (char *)"-f", (char *)"-c", conf,
		(char *)"--now", (char *)"2026-10-19T06:59:57Z", NULL };
	char *mail;
	int pid, n;

	website("INSERT INTO courses (id, title, starts_at, venue) VALUES"
		" (1, 'Foundation', '2026-10-20T07:00:00Z', 'Cardiff');"
		"INSERT INTO delegates (id, email, first_name) VALUES"
		" (1, 'sarah@example.org', 'Sarah');"
		"INSERT INTO bookings (id, course_id, delegate_id, reference,"
		" created_at) VALUES (1, 1, 1, 'FC-1', '2026-10-14T08:55:00Z');"
		"INSERT INTO subscribers (id, email, name, frequency,"
		" created_at) VALUES (1, 'ann@example.org', 'Ann', 'weekly',"
		" '2026-09-01');"
		"INSERT INTO posts (id, title, url, published_at) VALUES"
		" (1, 'Tantrums', 'https://blog.example.org/p1',"
		"  '2026-10-16T09:00:00Z');"
		/* Last week's digest went out. */
		"INSERT INTO digests (frequency, period, scheduled_at, since,"
		" until, post_count, state, created_at) VALUES ('weekly',"
		" '2026-W42', '2026-10-12T07:00:00Z', '2026-10-05T07:00:00Z',"
		" '2026-10-12T07:00:00Z', 0, 'empty', '2026-10-12T07:00:00Z'),"
		" ('monthly', '2026-10', '2026-10-01T07:00:00Z',"
		" '2026-09-01T07:00:00Z', '2026-10-01T07:00:00Z', 0, 'empty',"
		" '2026-10-01T07:00:00Z');"
		"INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
		" state, created_at, next_attempt_at, updated_at) VALUES"
		" ('confirm:booking:1', 'booking_confirmation',"
		" 'sarah@example.org', 1, 'sent', '2026-10-14T09:00:00Z',"
		" '2026-10-14T09:00:00Z', '2026-10-14T09:00:00Z');");
	pid = tu_spawn(argv, log_path);
	n = wait_for_mail(2, 15000);
	/* Stopped before any assertion: a failed test leaves no daemon. */
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 5000), 0);
	ck_assert_int_eq(n, 2);
	mail = new_mail(NULL, NULL);
	ck_assert_str_eq(mail,
	    "ann@example.org | digest weekly | Tantrums\n"
	    "sarah@example.org | reminder 1d FC-1 Cardiff Tuesday 20 October "
	    "2026, 08:00\n");
	free(mail);
	/* Enqueued when due, not before. */
	mail = db_text("SELECT group_concat(dedupe_key || ' ' ||"
		       " (created_at >= '2026-10-19T07:00:00Z'), ', ') FROM"
		       " (SELECT * FROM messages WHERE id > 1 ORDER BY"
		       " dedupe_key)");
	ck_assert_str_eq(mail,
	    "digest:weekly:2026-W43:subscriber:1 1, "
	    "remind:booking:1:1d 1");
	free(mail);
	free(daemon_path);
}
END_TEST

/* SIGTERM while a digest to 3,000 subscribers is going out: the daemon
 * stops cleanly (exit 0), no message is left "sending", and a later run
 * sends the rest, each once. */
START_TEST(test_month_sigterm_while_sending_a_digest_stops_cleanly)
{
	char *daemon_path = xasprintf("%s/src/familymaild", tu_builddir());
	char *argv[] = { daemon_path, (char *)"-f", (char *)"-c", conf,
		(char *)"--now", (char *)"2026-10-05T07:10:00Z", NULL };
	char *new_dir = xasprintf("%s/new", maildir), *s;
	int pid, files;

	website("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM"
		" n WHERE i < 3000) INSERT INTO subscribers (id, email, name,"
		" frequency, created_at) SELECT i, 'reader' || i ||"
		" '@example.net', 'Reader ' || i, 'weekly', '2026-09-01'"
		" FROM n;"
		"INSERT INTO posts (id, title, url, published_at) VALUES"
		" (1, 'Tantrums', 'https://blog.example.org/p1',"
		"  '2026-10-02T09:00:00Z');");
	pid = tu_spawn(argv, log_path);
	files = wait_for_mail(1, 20000);
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 10000), 0);
	ck_assert_int_ge(files, 1);
	s = db_text("SELECT count(*) FROM messages WHERE state = 'sending'");
	ck_assert_str_eq(s, "0");
	free(s);
	files = tu_count_files(new_dir);
	s = db_text("SELECT count(*) FROM messages WHERE state = 'sent'");
	ck_assert_int_eq(strtol(s, NULL, 10), files);
	free(s);
	run_daemon("2026-10-05T07:20:00Z");
	ck_assert_int_eq(tu_count_files(new_dir), 3000);
	s = db_text("SELECT count(DISTINCT recipient) || ' ' || count(*) ||"
		    " ' ' || min(state) || ' ' || max(state) FROM messages");
	ck_assert_str_eq(s, "3000 3000 sent sent");
	free(s);
	free(new_dir);
	free(daemon_path);
}
END_TEST

static Suite *
month_suite(void)
{
	Suite *s = suite_create("month");
	TCase *tc = tcase_create("month");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, test_month_sends_each_message_once_at_the_right_time);
	tcase_add_test(tc,
	    test_month_welsh_delegate_and_subscriber_across_the_clock_change);
	tcase_add_test(
	    tc, test_month_booking_cancelled_before_its_confirmation_gets_none);
	tcase_add_test(
	    tc, test_month_digest_interrupted_half_way_finishes_after_restart);
	tcase_add_test(tc, test_month_late_post_goes_into_the_next_digest_once);
	tcase_add_test(
	    tc, test_month_running_daemon_wakes_for_reminder_and_digest);
	tcase_add_test(
	    tc, test_month_sigterm_while_sending_a_digest_stops_cleanly);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(month_suite());
}
