/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_cfg: the config file as an administrator meets it: every field
 * of a good file, the defaults, the shipped example, relative paths, and
 * each kind of mistake with the exact line check-config prints for it.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "buf.h"
#include "cfg.h"
#include "cfg_value.h"
#include "log.h"
#include "testutil.h"
#include "util.h"

static char *dir;
static char *conf;
static char *errors;

/* A token secret as the documentation says to make one. */
#define SECRET "gJY50IvdOkSSBs8D6WpmhGALftuB99tDovfBfyy+Se0="

/* The start of a config that loads: lines 1 to 8. */
#define BASE                                            \
	"[daemon]\n"                                    \
	"templates = tpl\n"                             \
	"[sender]\n"                                    \
	"from = Family Courses <courses@example.org>\n" \
	"[transport]\n"                                 \
	"type = maildir\n"                              \
	"[maildir]\n"                                   \
	"path = Maildir\n"

static void
write_secret(const char *name, const char *text, mode_t mode)
{
	char *path = tu_write_file(dir, name, text);

	ck_assert_int_eq(chmod(path, mode), 0);
	free(path);
}

static void
setup(void)
{
	char *real, *tpl;

	/* Messages name the zoneinfo folder the C library uses. */
	unsetenv("TZDIR");
	dir = tu_mkdtemp();
	/* Paths in messages are absolute and resolved: /tmp may be a link. */
	real = realpath(dir, NULL);
	ck_assert_ptr_nonnull(real);
	free(dir);
	dir = real;
	conf = xasprintf("%s/familymail.conf", dir);
	tpl = xasprintf("%s/tpl", dir);
	ck_assert_int_eq(mkdir(tpl, 0755), 0);
	free(tpl);
	write_secret("secret", SECRET "\n", 0600);
	write_secret("pw", "hunter2\r\n", 0400);
	free(tu_write_file(dir, "ca.pem", "not really a certificate\n"));
	errors = NULL;
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	free(conf);
	free(errors);
}

static struct cfg *
load(const char *text)
{
	free(errors);
	errors = NULL;
	free(tu_write_file(dir, "familymail.conf", text));
	return cfg_load(conf, &errors);
}

/* errors with every occurrence of the test folder written as DIR. */
static char *
errors_seen(void)
{
	struct buf b;
	const char *s = errors, *hit;
	size_t n = strlen(dir);

	ck_assert_ptr_nonnull(errors);
	buf_init(&b);
	while ((hit = strstr(s, dir)) != NULL) {
		buf_append(&b, s, (size_t)(hit - s));
		buf_puts(&b, "DIR");
		s = hit + n;
	}
	buf_puts(&b, s);
	return buf_take(&b);
}

/* Loads text, which must fail with exactly the lines want. */
static void
assert_errors(const char *text, const char *want)
{
	struct cfg *c = load(text);
	char *seen;

	ck_assert_ptr_null(c);
	seen = errors_seen();
	ck_assert_str_eq(seen, want);
	free(seen);
}

static struct cfg *
assert_loads(const char *text)
{
	struct cfg *c = load(text);

	ck_assert_msg(c != NULL, "errors: %s", errors);
	ck_assert_ptr_null(errors);
	return c;
}

START_TEST(test_cfg_loads_a_good_file_with_every_field)
{
	struct cfg *c;
	char *want;

	c = assert_loads("; familymail test config\n"
			 "[daemon]\n"
			 "database = /var/lib/x/fm.db\n"
			 "templates = tpl\n"
			 "timezone = America/New_York\n"
			 "log_level = debug\n"
			 "user = root\n"
			 "\n"
			 "[sender]\n"
			 "from = \"Family Courses\" <courses@example.org>\n"
			 "reply_to = Bookings <bookings@example.org>\n"
			 "bounce_domain = bounces.example.org\n"
			 "list_id = news.example.org\n"
			 "[transport]\n"
			 "type = smtp\n"
			 "[smtp]\n"
			 "url = smtps://smtp.example.org:465\n"
			 "tls = required\n"
			 "username = familymail\n"
			 "password_file = pw\n"
			 "ca_file = ca.pem\n"
			 "connections = 8\n"
			 "rate = 600/m ; ten a second\n"
			 "timeout = 2m\n"
			 "retry_initial = 30s\n"
			 "retry_max = 2h\n"
			 "give_up = 5d\n"
			 "[maildir]\n"
			 "path = out\n"
			 "[reminders]\n"
			 "offsets = 1d, 2w,3h\n"
			 "[digest]\n"
			 "weekly = Friday 17:30\n"
			 "monthly = 28 6:05\n"
			 "max_posts = 25\n"
			 "[feed]\n"
			 "url = https://blog.example.org/feed.xml\n"
			 "every = 1h\n"
			 "[bounces]\n"
			 "source = imaps://bounces@imap.example.org/INBOX\n"
			 "password_file = pw\n"
			 "every = 2m\n"
			 "soft_limit = 5\n"
			 "soft_window = 2w\n"
			 "delete = yes\n"
			 "[unsubscribe]\n"
			 "url = https://example.org/unsubscribe?token={token}\n"
			 "mailto = unsubscribe@example.org\n"
			 "secret_file = secret\n"
			 "confirm_url = https://example.org/confirm?t={token}\n"
			 "preferences_url = https://example.org/prefs/{token}\n"
			 "[http]\n"
			 "listen = [::1]:8025\n");

	ck_assert_str_eq(c->path, conf);
	ck_assert_str_eq(c->database, "/var/lib/x/fm.db");
	want = xasprintf("%s/tpl", dir);
	ck_assert_str_eq(c->templates, want);
	free(want);
	ck_assert_str_eq(c->timezone, "America/New_York");
	ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(c->user, "root");

	ck_assert_str_eq(c->from, "\"Family Courses\" <courses@example.org>");
	ck_assert_str_eq(c->from_name, "Family Courses");
	ck_assert_str_eq(c->from_addr, "courses@example.org");
	ck_assert_str_eq(c->reply_to, "Bookings <bookings@example.org>");
	ck_assert_str_eq(c->bounce_domain, "bounces.example.org");
	ck_assert_str_eq(c->list_id, "news.example.org");

	ck_assert_int_eq(c->transport, CFG_TRANSPORT_SMTP);
	ck_assert_str_eq(c->smtp_url, "smtps://smtp.example.org:465");
	ck_assert_int_eq(c->smtp_tls, CFG_TLS_REQUIRED);
	ck_assert_str_eq(c->smtp_username, "familymail");
	want = xasprintf("%s/pw", dir);
	ck_assert_str_eq(c->smtp_password_file, want);
	ck_assert_str_eq(c->bounce_password_file, want);
	free(want);
	want = xasprintf("%s/ca.pem", dir);
	ck_assert_str_eq(c->smtp_ca_file, want);
	free(want);
	ck_assert_int_eq(c->smtp_connections, 8);
	ck_assert_uint_eq(c->smtp_rate.count, 600);
	ck_assert_uint_eq(c->smtp_rate.per_sec, 60);
	ck_assert_int_eq(c->smtp_timeout, 120);
	ck_assert_int_eq(c->retry_initial, 30);
	ck_assert_int_eq(c->retry_max, 7200);
	ck_assert_int_eq(c->retry_give_up, 5 * 86400);

	want = xasprintf("%s/out", dir);
	ck_assert_str_eq(c->maildir_path, want);
	free(want);

	ck_assert_int_eq(c->n_offsets, 3);
	ck_assert_int_eq(c->offsets[0].secs, 14 * 86400);
	ck_assert_str_eq(c->offsets[0].text, "14d");
	ck_assert_int_eq(c->offsets[1].secs, 86400);
	ck_assert_str_eq(c->offsets[1].text, "1d");
	ck_assert_int_eq(c->offsets[2].secs, 3 * 3600);
	ck_assert_str_eq(c->offsets[2].text, "3h");

	ck_assert_int_eq(c->weekly_wday, 5);
	ck_assert_int_eq(c->weekly_minute, 17 * 60 + 30);
	ck_assert_int_eq(c->monthly_mday, 28);
	ck_assert_int_eq(c->monthly_minute, 6 * 60 + 5);
	ck_assert_int_eq(c->max_posts, 25);

	ck_assert_str_eq(c->feed_url, "https://blog.example.org/feed.xml");
	ck_assert_int_eq(c->feed_every, 3600);

	ck_assert_str_eq(
	    c->bounce_source, "imaps://bounces@imap.example.org/INBOX");
	ck_assert_int_eq(c->bounce_every, 120);
	ck_assert_int_eq(c->soft_limit, 5);
	ck_assert_int_eq(c->soft_window, 14 * 86400);
	ck_assert(c->bounce_delete);

	ck_assert_str_eq(c->unsubscribe_url,
	    "https://example.org/unsubscribe?token={token}");
	ck_assert_str_eq(c->unsubscribe_mailto, "unsubscribe@example.org");
	want = xasprintf("%s/secret", dir);
	ck_assert_str_eq(c->secret_file, want);
	free(want);
	ck_assert_str_eq(
	    c->confirm_url, "https://example.org/confirm?t={token}");
	ck_assert_str_eq(
	    c->preferences_url, "https://example.org/prefs/{token}");

	ck_assert_str_eq(c->http_listen, "[::1]:8025");
	cfg_free(c);
}
END_TEST

START_TEST(test_cfg_fills_in_the_documented_defaults)
{
	struct cfg *c = assert_loads(BASE);

	ck_assert_str_eq(c->database, FAMILYMAIL_STATEDIR "/familymail.db");
	ck_assert_str_eq(c->timezone, "Europe/London");
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	ck_assert_ptr_null(c->user);
	ck_assert_str_eq(c->from_name, "Family Courses");
	ck_assert_str_eq(c->from_addr, "courses@example.org");
	ck_assert_ptr_null(c->reply_to);
	ck_assert_str_eq(c->bounce_domain, "example.org");
	ck_assert_str_eq(c->list_id, "courses.example.org");
	ck_assert_int_eq(c->transport, CFG_TRANSPORT_MAILDIR);
	ck_assert_ptr_null(c->smtp_url);
	ck_assert_int_eq(c->smtp_tls, CFG_TLS_REQUIRED);
	ck_assert_int_eq(c->smtp_connections, 4);
	ck_assert_uint_eq(c->smtp_rate.count, 0);
	ck_assert_int_eq(c->smtp_timeout, 60);
	ck_assert_int_eq(c->retry_initial, 60);
	ck_assert_int_eq(c->retry_max, 3600);
	ck_assert_int_eq(c->retry_give_up, 3 * 86400);
	ck_assert_int_eq(c->n_offsets, 2);
	ck_assert_str_eq(c->offsets[0].text, "7d");
	ck_assert_int_eq(c->offsets[0].secs, 7 * 86400);
	ck_assert_str_eq(c->offsets[1].text, "1d");
	ck_assert_int_eq(c->change_window, 10 * 60);
	ck_assert_int_eq(c->weekly_wday, 1);
	ck_assert_int_eq(c->weekly_minute, 8 * 60);
	ck_assert_int_eq(c->monthly_mday, 1);
	ck_assert_int_eq(c->monthly_minute, 8 * 60);
	ck_assert_int_eq(c->max_posts, 10);
	ck_assert_ptr_null(c->feed_url);
	ck_assert_int_eq(c->feed_every, 30 * 60);
	ck_assert_ptr_null(c->bounce_source);
	ck_assert_int_eq(c->bounce_every, 5 * 60);
	ck_assert_int_eq(c->soft_limit, 3);
	ck_assert_int_eq(c->soft_window, 30 * 86400);
	ck_assert(!c->bounce_delete);
	ck_assert_ptr_null(c->unsubscribe_url);
	ck_assert_ptr_null(c->secret_file);
	ck_assert_ptr_null(c->http_listen);
	cfg_free(c);
}
END_TEST

/* The shipped example, with the files it names (which a fresh machine
 * does not have) pointed at files of the test. */
START_TEST(test_cfg_loads_the_shipped_example)
{
	char *path = xasprintf("%s/etc/familymail.conf.example", tu_srcdir());
	char *text = tu_read_file(path, NULL);
	const char *line, *next;
	struct cfg *c;
	struct buf b;
	int replaced = 0;

	ck_assert_msg(text != NULL, "cannot read %s", path);
	buf_init(&b);
	for (line = text; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		next = next != NULL ? next + 1 : line + strlen(line);
		if (strncmp(line, "password_file", 13) == 0 ||
		    strncmp(line, "secret_file", 11) == 0) {
			buf_printf(&b, "%.*s = secret\n",
			    (int)strcspn(line, " ="), line);
			replaced++;
		} else if (strncmp(line, "templates", 9) == 0) {
			buf_puts(&b, "templates = tpl\n");
			replaced++;
		} else if (strncmp(line, "user ", 5) == 0) {
			/* An account this machine has. */
			buf_printf(&b, "user = %s\n", tu_user());
			replaced++;
		} else {
			buf_append(&b, line, (size_t)(next - line));
		}
	}
	ck_assert_int_eq(replaced, 5);
	c = assert_loads(b.data);
	ck_assert_str_eq(c->from, "Family Courses <courses@example.org>");
	ck_assert_str_eq(c->bounce_domain, "bounces.example.org");
	ck_assert_int_eq(c->transport, CFG_TRANSPORT_SMTP);
	ck_assert_str_eq(c->smtp_url, "smtp://smtp.example.org:587");
	ck_assert_uint_eq(c->smtp_rate.count, 20);
	ck_assert_uint_eq(c->smtp_rate.per_sec, 1);
	ck_assert_int_eq(c->n_offsets, 2);
	ck_assert_int_eq(c->change_window, 10 * 60);
	ck_assert_str_eq(c->unsubscribe_url,
	    "https://example.org/unsubscribe?token={token}");
	ck_assert_str_eq(c->http_listen, "127.0.0.1:8025");
	ck_assert_int_eq(c->retain_messages, 400 * 86400);
	ck_assert_int_eq(c->retain_events, 6 * 365 * 86400);
	cfg_free(c);
	buf_fini(&b);
	free(text);
	free(path);
}
END_TEST

START_TEST(test_cfg_parses_good_durations)
{
	static const struct {
		const char *text;
		int64_t secs;
	} good[] = {
		{ "0", 0 },
		{ "0s", 0 },
		{ "30s", 30 },
		{ "5m", 300 },
		{ "2h", 7200 },
		{ "7d", 604800 },
		{ "1w", 604800 },
		{ "90m", 5400 },
		{ "1000000000s", 1000000000 },
	};
	int64_t secs;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(good); i++) {
		secs = -1;
		ck_assert_msg(cfg_parse_duration(good[i].text, &secs) == 0,
		    "%s refused", good[i].text);
		ck_assert_int_eq(secs, good[i].secs);
	}
}
END_TEST

START_TEST(test_cfg_refuses_bad_durations)
{
	static const char *const bad[] = { "", "5", "s", "5x", "-5m", "+5m",
		" 5m", "5m ", "1.5h", "5ms", "5M", "1000000001s", "5 m",
		"0x10s", "1h30m" };
	int64_t secs = 42;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++)
		ck_assert_msg(cfg_parse_duration(bad[i], &secs) == -EINVAL,
		    "'%s' accepted", bad[i]);
	ck_assert_int_eq(secs, 42);
}
END_TEST

START_TEST(test_cfg_parses_good_rates)
{
	static const struct {
		const char *text;
		uint32_t count, per_sec;
	} good[] = {
		{ "0", 0, 1 },
		{ "20/s", 20, 1 },
		{ "600/m", 600, 60 },
		{ "1000/h", 1000, 3600 },
		{ "2000/d", 2000, 86400 },
		{ "1000000/s", 1000000, 1 },
	};
	struct cfg_rate r;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(good); i++) {
		memset(&r, 0xff, sizeof(r));
		ck_assert_msg(cfg_parse_rate(good[i].text, &r) == 0,
		    "%s refused", good[i].text);
		ck_assert_uint_eq(r.count, good[i].count);
		ck_assert_uint_eq(r.per_sec, good[i].per_sec);
	}
}
END_TEST

START_TEST(test_cfg_refuses_bad_rates)
{
	static const char *const bad[] = { "", "20", "20/", "20/w", "0/s",
		"-1/s", "20/sec", "1000001/s", "20 /s", "/s", "20/s/",
		"2.5/s" };
	struct cfg_rate r = { 7, 7 };
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++)
		ck_assert_msg(cfg_parse_rate(bad[i], &r) == -EINVAL,
		    "'%s' accepted", bad[i]);
	ck_assert_uint_eq(r.count, 7);
}
END_TEST

START_TEST(test_cfg_formats_durations_in_the_largest_whole_unit)
{
	char s[16];

	cfg_format_duration(0, s, sizeof(s));
	ck_assert_str_eq(s, "0");
	cfg_format_duration(45, s, sizeof(s));
	ck_assert_str_eq(s, "45s");
	cfg_format_duration(5400, s, sizeof(s));
	ck_assert_str_eq(s, "90m");
	cfg_format_duration(3600, s, sizeof(s));
	ck_assert_str_eq(s, "1h");
	cfg_format_duration(7 * 86400, s, sizeof(s));
	ck_assert_str_eq(s, "7d");
}
END_TEST

START_TEST(test_cfg_resolves_relative_paths_against_the_config_folder)
{
	char *etc = xasprintf("%s/etc", dir), *want, *path;
	char *cwd = getcwd(NULL, 0);
	struct cfg *c;

	ck_assert_int_eq(mkdir(etc, 0755), 0);
	path = tu_write_file(etc, "fm.conf",
	    "[daemon]\n"
	    "database = db/fm.db\n"
	    "templates = ../tpl\n"
	    "[sender]\n"
	    "from = courses@example.org\n"
	    "[transport]\n"
	    "type = maildir\n"
	    "[maildir]\n"
	    "path = ./spool\n"
	    "[bounces]\n"
	    "source = maildir:bounces\n"
	    "[unsubscribe]\n"
	    "url = https://example.org/u/{token}\n"
	    "secret_file = ../secret\n");
	want = xasprintf("%s/bounces", etc);
	ck_assert_int_eq(mkdir(want, 0700), 0);
	free(want);

	/* From elsewhere, and by a relative path from the folder above. */
	ck_assert_int_eq(chdir("/"), 0);
	c = cfg_load(path, &errors);
	ck_assert_msg(c != NULL, "%s", errors);
	ck_assert_int_eq(chdir(dir), 0);
	cfg_free(c);
	c = cfg_load("etc/fm.conf", &errors);
	ck_assert_msg(c != NULL, "%s", errors);
	ck_assert_int_eq(chdir(cwd), 0);

	ck_assert_str_eq(c->path, path);
	want = xasprintf("%s/db/fm.db", etc);
	ck_assert_str_eq(c->database, want);
	free(want);
	want = xasprintf("%s/../tpl", etc);
	ck_assert_str_eq(c->templates, want);
	free(want);
	want = xasprintf("%s/./spool", etc);
	ck_assert_str_eq(c->maildir_path, want);
	free(want);
	want = xasprintf("maildir:%s/bounces", etc);
	ck_assert_str_eq(c->bounce_source, want);
	free(want);
	want = xasprintf("%s/../secret", etc);
	ck_assert_str_eq(c->secret_file, want);
	free(want);
	ck_assert_str_eq(c->from_name, "");
	cfg_free(c);
	free(path);
	free(etc);
	free(cwd);
}
END_TEST

START_TEST(test_cfg_reports_an_unknown_section_once)
{
	assert_errors(BASE "[smtpp]\n"
			   "url = smtp://x\n"
			   "tls = maybe\n",
	    "DIR/familymail.conf:9: [smtpp]: unknown section (did you mean "
	    "[smtp]?)\n");
}
END_TEST

START_TEST(test_cfg_reports_an_unknown_key)
{
	assert_errors(BASE "pth = elsewhere\n",
	    "DIR/familymail.conf:9: [maildir] pth: unknown key (did you mean "
	    "path?)\n");
	/* Far from every key: the keys there are. */
	assert_errors(BASE "colour = blue\n",
	    "DIR/familymail.conf:9: [maildir] colour: unknown key (the keys "
	    "of [maildir]: path)\n");
	/* A key of another section. */
	assert_errors(BASE "max_posts = 5\n",
	    "DIR/familymail.conf:9: [maildir] max_posts: unknown key "
	    "(max_posts is a key of [digest])\n");
	assert_errors(BASE "[weather]\nsky = blue\n",
	    "DIR/familymail.conf:9: [weather]: unknown section (the "
	    "sections: [daemon], [sender], [transport], [smtp], [maildir], "
	    "[reminders], [courses], [digest], [feed], [bounces], [unsubscribe], [http], "
	    "[organisation], [retention], [dkim])\n");
}
END_TEST

START_TEST(test_cfg_reports_a_duplicate_key_with_its_first_line)
{
	assert_errors(BASE "path = Other\n",
	    "DIR/familymail.conf:9: [maildir] path: duplicate key (first "
	    "set on line 8)\n");
}
END_TEST

START_TEST(test_cfg_reports_a_repeated_section)
{
	assert_errors(BASE "[daemon]\n"
			   "log_level = debug\n",
	    "DIR/familymail.conf:9: [daemon]: section repeated (first on "
	    "line 1)\n");
}
END_TEST

START_TEST(test_cfg_reports_a_bad_duration)
{
	assert_errors(BASE "[feed]\n"
			   "every = 5x\n",
	    "DIR/familymail.conf:10: [feed] every: bad duration '5x' "
	    "(expected a number and a unit: 30s, 5m, 2h, 7d, 1w, 1y)\n");
	assert_errors(BASE "[feed]\n"
			   "every = 10s\n",
	    "DIR/familymail.conf:10: [feed] every: 10s is out of range (1m "
	    "to 7d)\n");
}
END_TEST

START_TEST(test_cfg_reads_languages_and_the_organisation)
{
	struct cfg *c;

	c = assert_loads(BASE "[organisation]\n"
			      "name = Cyrsiau Teulu\n"
			      "address = 1 Example Street, Cardiff CF10 1AA\n"
			      "charity_number = 1234567\n");
	ck_assert_str_eq(c->language, "en");
	ck_assert_int_eq(c->n_bilingual, 0);
	ck_assert_str_eq(c->org_name, "Cyrsiau Teulu");
	ck_assert_str_eq(c->org_address, "1 Example Street, Cardiff CF10 1AA");
	ck_assert_str_eq(c->org_charity_number, "1234567");
	ck_assert_int_eq(c->summary_length, 400);
	cfg_free(c);
	c = assert_loads(
	    "[daemon]\ntemplates = tpl\nlanguage = CY-gb\n"
	    "bilingual = cy ,en\n"
	    "[sender]\nfrom = Family Courses <courses@example.org>\n"
	    "[transport]\ntype = maildir\n"
	    "[maildir]\npath = Maildir\n");
	ck_assert_str_eq(c->language, "cy-GB");
	ck_assert_int_eq(c->n_bilingual, 2);
	ck_assert_str_eq(c->bilingual[0], "cy");
	ck_assert_str_eq(c->bilingual[1], "en");
	ck_assert_ptr_null(c->org_address);
	cfg_free(c);
}
END_TEST

START_TEST(test_cfg_refuses_a_language_it_does_not_know)
{
	assert_errors("[daemon]\ntemplates = tpl\nlanguage = xx\n"
		      "bilingual = cy\n"
		      "[sender]\nfrom = Family Courses <courses@example.org>\n"
		      "[transport]\ntype = maildir\n"
		      "[maildir]\npath = Maildir\n",
	    "DIR/familymail.conf:3: [daemon] language: 'xx' is not a language "
	    "code ICU knows (expected a BCP 47 tag: en, cy)\n"
	    "DIR/familymail.conf:4: [daemon] bilingual: 'cy' names one "
	    "language; a bilingual message has two (cy, en)\n");
	assert_errors("[daemon]\ntemplates = tpl\nbilingual = cy, welsh\n"
		      "[sender]\nfrom = Family Courses <courses@example.org>\n"
		      "[transport]\ntype = maildir\n"
		      "[maildir]\npath = Maildir\n",
	    "DIR/familymail.conf:3: [daemon] bilingual: 'welsh' is not a "
	    "language code ICU knows (expected BCP 47 tags separated by "
	    "commas: cy, en)\n");
}
END_TEST

START_TEST(test_cfg_reports_a_bad_rate)
{
	assert_errors(BASE "[smtp]\n"
			   "rate = 20/w\n",
	    "DIR/familymail.conf:10: [smtp] rate: bad rate '20/w' (expected "
	    "0 for no limit, or a count per s, m, h or d: 20/s, 600/m, "
	    "1000/h, 2000/d)\n");
}
END_TEST

START_TEST(test_cfg_reports_a_value_outside_an_enum)
{
	assert_errors(BASE "[smtp]\n"
			   "tls = maybe\n",
	    "DIR/familymail.conf:10: [smtp] tls: 'maybe' is not one of: "
	    "required, off\n");
	assert_errors(BASE "[daemon]\n"
			   "log_level = verbose\n",
	    "DIR/familymail.conf:9: [daemon]: section repeated (first on "
	    "line 1)\n"
	    "DIR/familymail.conf:10: [daemon] log_level: 'verbose' is not "
	    "one of: debug, info, notice, warning, error\n");
}
END_TEST

START_TEST(test_cfg_reports_an_int_out_of_range)
{
	assert_errors(BASE "[smtp]\n"
			   "connections = 65\n",
	    "DIR/familymail.conf:10: [smtp] connections: 65 is out of "
	    "range (1 to 64)\n");
	assert_errors(BASE "[smtp]\n"
			   "connections = four\n",
	    "DIR/familymail.conf:10: [smtp] connections: 'four' is not a "
	    "number\n");
}
END_TEST

START_TEST(test_cfg_reports_a_missing_required_key_at_its_section)
{
	assert_errors("[daemon]\n"
		      "templates = tpl\n"
		      "[sender]\n"
		      "reply_to = a@example.org\n"
		      "[transport]\n"
		      "type = maildir\n"
		      "[maildir]\n"
		      "path = Maildir\n",
	    "DIR/familymail.conf:3: [sender] from: required key is "
	    "missing\n");
	/* No [sender] at all: line 0. */
	assert_errors("[daemon]\n"
		      "templates = tpl\n"
		      "[transport]\n"
		      "type = maildir\n"
		      "[maildir]\n"
		      "path = Maildir\n",
	    "DIR/familymail.conf:0: [sender] from: required key is "
	    "missing\n");
}
END_TEST

START_TEST(test_cfg_requires_the_url_of_the_chosen_transport)
{
	assert_errors("[daemon]\n"
		      "templates = tpl\n"
		      "[sender]\n"
		      "from = a@example.org\n",
	    "DIR/familymail.conf:0: [smtp] url: required when [transport] "
	    "type = smtp\n");
	assert_errors("[daemon]\n"
		      "templates = tpl\n"
		      "[sender]\n"
		      "from = a@example.org\n"
		      "[transport]\n"
		      "type = maildir\n"
		      "[maildir]\n",
	    "DIR/familymail.conf:7: [maildir] path: required when "
	    "[transport] type = maildir\n");
}
END_TEST

START_TEST(test_cfg_reports_a_missing_secret_file)
{
	assert_errors(BASE "[unsubscribe]\n"
			   "url = https://example.org/u/{token}\n"
			   "secret_file = nosuch\n",
	    "DIR/familymail.conf:11: [unsubscribe] secret_file: DIR/nosuch: "
	    "No such file or directory\n");
}
END_TEST

START_TEST(test_cfg_refuses_a_secret_file_others_can_read)
{
	write_secret("secret", "s3cret\n", 0644);
	assert_errors(BASE "[unsubscribe]\n"
			   "url = https://example.org/u/{token}\n"
			   "secret_file = secret\n",
	    "DIR/familymail.conf:11: [unsubscribe] secret_file: DIR/secret: "
	    "readable by others (chmod 640 it, group the daemon's, or "
	    "600)\n");
	write_secret("secret", "s3cret\n", 0604);
	assert_errors(BASE "[smtp]\n"
			   "username = fm\n"
			   "password_file = secret\n",
	    "DIR/familymail.conf:11: [smtp] password_file: DIR/secret: "
	    "readable by others (chmod 640 it, group the daemon's, or "
	    "600)\n");
}
END_TEST

/* The secrets model: root:GROUP 0640, GROUP the daemon's own group, is
 * what the systemd unit and the package set up. */
START_TEST(test_cfg_accepts_a_secret_its_own_group_may_read)
{
	write_secret("secret", "s3cret\n", 0640);
	cfg_free(assert_loads(BASE "[smtp]\n"
				   "username = fm\n"
				   "password_file = secret\n"));
}
END_TEST

START_TEST(test_cfg_refuses_a_secret_another_group_may_read)
{
	char *path = xasprintf("%s/secret", dir);

	if (geteuid() != 0) {
		printf("skipped: needs root to give a file another group\n");
		free(path);
		return;
	}
	write_secret("secret", "s3cret\n", 0640);
	ck_assert_int_eq(chown(path, 0, 65534), 0);
	assert_errors(BASE "[smtp]\n"
			   "username = fm\n"
			   "password_file = secret\n",
	    "DIR/familymail.conf:11: [smtp] password_file: DIR/secret: "
	    "readable by a group that is not the daemon's own (chgrp it to "
	    "the daemon's group, or chmod 600 it)\n");
	free(path);
}
END_TEST

/* check-config run by root judges a secret as [daemon] user will read
 * it after the switch: root's own 0600 file would stop the daemon. */
START_TEST(test_cfg_checks_secrets_as_the_daemon_user_when_root)
{
	char *path = xasprintf("%s/secret", dir);
	char *text;

	if (geteuid() != 0 || getpwnam("nobody") == NULL) {
		printf("skipped: needs root and a user 'nobody'\n");
		free(path);
		return;
	}
	text = xasprintf("[daemon]\n"
			 "templates = tpl\n"
			 "user = nobody\n"
			 "[sender]\n"
			 "from = Family Courses <courses@example.org>\n"
			 "[transport]\n"
			 "type = maildir\n"
			 "[maildir]\n"
			 "path = Maildir\n"
			 "[unsubscribe]\n"
			 "url = https://example.org/u/{token}\n"
			 "secret_file = secret\n");
	write_secret("secret", SECRET "\n", 0600);
	assert_errors(text,
	    "DIR/familymail.conf:12: [unsubscribe] secret_file: DIR/secret: "
	    "the daemon's account cannot read it (chgrp it to the account's "
	    "group and chmod 640 it)\n");
	/* root:nogroup (nobody's group) 0640 is the model. */
	ck_assert_int_eq(chown(path, 0, getpwnam("nobody")->pw_gid), 0);
	ck_assert_int_eq(chmod(path, 0640), 0);
	cfg_free(assert_loads(text));
	/* So is a file of the account's own. */
	ck_assert_int_eq(chown(path, getpwnam("nobody")->pw_uid, 0), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	cfg_free(assert_loads(text));
	free(text);
	free(path);
}
END_TEST

START_TEST(test_cfg_refuses_a_short_or_guessable_token_secret)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "x\n", "too short: at least 32 random bytes are needed" },
		{ "password\n",
		    "too short: at least 32 random bytes are needed" },
		{ "passwordpasswordpasswordpassword\n",
		    "not random (a word, a repeated pattern or a sequence)" },
		{ "0123456789abcdef0123456789abcdef\n",
		    "not random (a word, a repeated pattern or a sequence)" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		    "not random (a word, a repeated pattern or a sequence)" },
	};
	char *want;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		write_secret("short", bad[i].text, 0600);
		want = xasprintf("DIR/familymail.conf:11: [unsubscribe] "
				 "secret_file: DIR/short: %s; make one with: "
				 "(umask 077; head -c 32 /dev/urandom | base64 "
				 "> DIR/short)\n",
		    bad[i].why);
		assert_errors(BASE "[unsubscribe]\n"
				   "url = https://example.org/u/{token}\n"
				   "secret_file = short\n",
		    want);
		free(want);
	}
	/* What the message says to run, and 32 random bytes in hex. */
	write_secret(
	    "good", "9lNJDBBfUAr0v9xy0fN2iwHdmjb8Ua8nJzyNQ2iB5zU=\n", 0600);
	cfg_free(assert_loads(BASE "[unsubscribe]\n"
				   "url = https://example.org/u/{token}\n"
				   "secret_file = good\n"));
	write_secret("good",
	    "6b1f0e8c2d9a4f3e7c5b0a1d8e2f4c6b"
	    "9a3e5d7c1b0f2e4a6c8d0b2f4e6a8c0d\n",
	    0600);
	cfg_free(assert_loads(BASE "[unsubscribe]\n"
				   "url = https://example.org/u/{token}\n"
				   "secret_file = good\n"));
}
END_TEST

START_TEST(test_cfg_reports_missing_files_and_folders)
{
	assert_errors("[daemon]\n"
		      "templates = notpl\n"
		      "[sender]\n"
		      "from = a@example.org\n"
		      "[transport]\n"
		      "type = maildir\n"
		      "[maildir]\n"
		      "path = Maildir\n"
		      "[smtp]\n"
		      "ca_file = tpl\n"
		      "[bounces]\n"
		      "source = maildir:nobounces\n",
	    "DIR/familymail.conf:2: [daemon] templates: DIR/notpl: No such "
	    "file or directory\n"
	    "DIR/familymail.conf:10: [smtp] ca_file: DIR/tpl: not a regular "
	    "file\n"
	    "DIR/familymail.conf:12: [bounces] source: DIR/nobounces: No "
	    "such file or directory\n");
}
END_TEST

START_TEST(test_cfg_refuses_tls_off_for_a_remote_host)
{
	assert_errors(BASE "[smtp]\n"
			   "url = smtp://smtp.example.org:587\n"
			   "tls = off\n",
	    "DIR/familymail.conf:11: [smtp] tls: off is only allowed for a "
	    "loopback host (127.0.0.0/8, ::1, localhost), not "
	    "smtp.example.org\n");
	assert_errors(BASE "[smtp]\n"
			   "url = smtps://127.0.0.1:465\n"
			   "tls = off\n",
	    "DIR/familymail.conf:11: [smtp] tls: off contradicts smtps:// "
	    "(implicit TLS)\n");
}
END_TEST

START_TEST(test_cfg_allows_tls_off_for_a_loopback_host)
{
	static const char *const urls[] = { "smtp://127.0.0.1:2525",
		"smtp://127.8.9.10", "smtp://[::1]:2525", "smtp://localhost" };
	struct cfg *c;
	char *text;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(urls); i++) {
		text = xasprintf(BASE "[smtp]\nurl = %s\ntls = off\n", urls[i]);
		c = assert_loads(text);
		ck_assert_int_eq(c->smtp_tls, CFG_TLS_OFF);
		cfg_free(c);
		free(text);
	}
}
END_TEST

START_TEST(test_cfg_reports_every_error_of_a_file_in_line_order)
{
	assert_errors("[daemon]\n"
		      "templates = tpl\n"
		      "log_levle = debug\n"
		      "timezone = Mars/Olympus\n"
		      "[transport]\n"
		      "type = smtp\n"
		      "[smtp]\n"
		      "url = smtp://mail.example.org\n"
		      "tls = off\n"
		      "timeout = 0\n"
		      "timeout = 1m\n"
		      "rate = fast\n"
		      "username = fm\n"
		      "[reminders]\n"
		      "offsets = 7d, 1d, 24h\n"
		      "[digest]\n"
		      "monthly = 29 08:00\n"
		      "weekly = someday 08:00\n"
		      "[unsubscribe]\n"
		      "url = https://example.org/unsubscribe\n"
		      "this line is not a key\n",
	    "DIR/familymail.conf:0: [sender] from: required key is missing\n"
	    "DIR/familymail.conf:3: [daemon] log_levle: unknown key (did you "
	    "mean log_level?)\n"
	    "DIR/familymail.conf:4: [daemon] timezone: no time zone "
	    "'Mars/Olympus' in /usr/share/zoneinfo\n"
	    "DIR/familymail.conf:7: [smtp] password_file: required when "
	    "username is set\n"
	    "DIR/familymail.conf:9: [smtp] tls: off is only allowed for a "
	    "loopback host (127.0.0.0/8, ::1, localhost), not "
	    "mail.example.org\n"
	    "DIR/familymail.conf:10: [smtp] timeout: 0 is out of range (1s "
	    "to 1h)\n"
	    "DIR/familymail.conf:11: [smtp] timeout: duplicate key (first "
	    "set on line 10)\n"
	    "DIR/familymail.conf:12: [smtp] rate: bad rate 'fast' (expected "
	    "0 for no limit, or a count per s, m, h or d: 20/s, 600/m, "
	    "1000/h, 2000/d)\n"
	    "DIR/familymail.conf:15: [reminders] offsets: offset 24h repeats "
	    "1d\n"
	    "DIR/familymail.conf:17: [digest] monthly: bad monthly time '29 "
	    "08:00' (expected a day of the month, 1 to 28, and a time: 1 "
	    "08:00)\n"
	    "DIR/familymail.conf:18: [digest] weekly: bad weekly time "
	    "'someday 08:00' (expected a day and a time: mon 08:00)\n"
	    "DIR/familymail.conf:19: [unsubscribe] secret_file: required in "
	    "[unsubscribe]\n"
	    "DIR/familymail.conf:20: [unsubscribe] url: "
	    "'https://example.org/unsubscribe' does not contain {token}\n"
	    "DIR/familymail.conf:21: expected 'key = value', '[section]' or "
	    "a comment\n");
}
END_TEST

START_TEST(test_cfg_reports_syntax_errors_with_their_lines)
{
	char *text, *want, long_value[251];

	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	assert_errors("database = x\n" BASE "[feed\n"
		      "every = 5m\n"
		      "[http] listen = 127.0.0.1:80\n"
		      "listen = nowhere\n",
	    "DIR/familymail.conf:1: database: key before any [section]\n"
	    "DIR/familymail.conf:10: missing ']' in section header\n"
	    "DIR/familymail.conf:12: text after ']' in section header\n");
	text = xasprintf(
	    BASE "[feed]\nurl = https://example.org/%s\n", long_value + 20);
	want = xasprintf("DIR/familymail.conf:10: line too long (%zu "
			 "characters, at most 197)\n",
	    strlen("url = https://example.org/") + strlen(long_value + 20));
	assert_errors(text, want);
	free(text);
	free(want);
	assert_errors(BASE "path =\n",
	    "DIR/familymail.conf:9: [maildir] path: duplicate key (first "
	    "set on line 8)\n");
	assert_errors(BASE "[feed]\nevery =   ; nothing\n",
	    "DIR/familymail.conf:10: [feed] every: empty value (give a value, "
	    "or remove the line to get the default)\n");
	/* No default to fall back to: no hint that there is one. */
	assert_errors(BASE "[feed]\nurl =\n",
	    "DIR/familymail.conf:10: [feed] url: empty value (give a value, "
	    "or remove the line: the key has no default and is then "
	    "unset)\n");
}
END_TEST

START_TEST(test_cfg_reads_indented_keys_and_windows_line_ends)
{
	struct cfg *c = assert_loads("[daemon]\r\n"
				     "  templates = tpl\r\n"
				     "\tlog_level = notice\r\n"
				     "[sender]\r\n"
				     "  from = a@example.org\r\n"
				     "[transport]\r\n"
				     "type = maildir\r\n"
				     "[maildir]\r\n"
				     "path = Maildir\r\n");

	ck_assert_int_eq(c->log_level, LOG_LEVEL_NOTICE);
	ck_assert_str_eq(c->from_addr, "a@example.org");
	cfg_free(c);
}
END_TEST

START_TEST(test_cfg_reports_a_missing_config_file)
{
	struct cfg *c;
	char *path = xasprintf("%s/nosuch.conf", dir);

	c = cfg_load(path, &errors);
	ck_assert_ptr_null(c);
	free(path);
	path = errors_seen();
	ck_assert_str_eq(path,
	    "DIR/nosuch.conf:0: cannot read: No such file or directory\n");
	free(path);
}
END_TEST

/* The keys of [http] that face the proxy and the scrapers. */
START_TEST(test_cfg_reads_the_http_proxy_and_metrics_keys)
{
	struct cfg *c;
	char *want;

	c = assert_loads(BASE "[http]\n"
			      "listen = 127.0.0.1:8025\n"
			      "trusted_proxies = 127.0.0.1, ::1 10.0.0.0/8\n"
			      "metrics_listen = [::1]:9025\n"
			      "metrics_token_file = pw\n");
	ck_assert_str_eq(c->http_trusted_proxies, "127.0.0.1, ::1 10.0.0.0/8");
	ck_assert_str_eq(c->metrics_listen, "[::1]:9025");
	want = xasprintf("%s/pw", dir);
	ck_assert_str_eq(c->metrics_token_file, want);
	free(want);
	cfg_free(c);
	c = assert_loads(BASE "[http]\n");
	ck_assert_ptr_null(c->http_trusted_proxies);
	ck_assert_ptr_null(c->metrics_listen);
	ck_assert_ptr_null(c->metrics_token_file);
	cfg_free(c);
	write_secret("shared", "t0ken\n", 0644);
	assert_errors(BASE "[http]\n"
			   "trusted_proxies = nginx\n"
			   "listen = 127.0.0.1:8025\n"
			   "metrics_listen = 127.0.0.1:8025\n"
			   "metrics_token_file = shared\n",
	    "DIR/familymail.conf:10: [http] trusted_proxies: 'nginx' is not a "
	    "numeric address or a network (expected e.g. 127.0.0.1, ::1 or "
	    "10.0.0.0/8)\n"
	    "DIR/familymail.conf:12: [http] metrics_listen: 127.0.0.1:8025 is "
	    "[http] listen already (metrics_listen is a second address, for "
	    "metrics alone)\n"
	    "DIR/familymail.conf:13: [http] metrics_token_file: DIR/shared: "
	    "readable by others (chmod 640 it, group the daemon's, or "
	    "600)\n");
	/* A network whose host bits are set is a typing mistake. */
	assert_errors(BASE "[http]\n"
			   "trusted_proxies = 10.1.2.3/8\n",
	    "DIR/familymail.conf:10: [http] trusted_proxies: '10.1.2.3/8' is "
	    "not a numeric address or a network (expected e.g. 127.0.0.1, "
	    "::1 or 10.0.0.0/8)\n");
}
END_TEST

START_TEST(test_cfg_value_nets_match_addresses_and_networks)
{
	struct cfg_value_net nets[CFG_VALUE_NETS_MAX];
	static const struct {
		const char *addr;
		bool in;
	} cases[] = {
		{ "127.0.0.1", true },
		{ "::ffff:127.0.0.1", true },
		{ "127.0.0.2", false },
		{ "10.200.3.4", true },
		{ "11.0.0.1", false },
		{ "192.0.2.129", true },
		{ "192.0.2.128", false },
		{ "2001:db8:0:1::5", true },
		{ "2001:db8:0:2::5", false },
		{ "::1", false },
	};
	unsigned char a[16];
	char *why = NULL;
	size_t n;

	ck_assert_int_eq(
	    cfg_value_parse_nets("127.0.0.1,10.0.0.0/8 "
				 "192.0.2.129/32, 2001:db8:0:1::/64",
		nets, CFG_VALUE_NETS_MAX, &n, &why),
	    0);
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		ck_assert_int_eq(cfg_value_parse_addr(cases[i].addr, a), 0);
		ck_assert_msg(cfg_value_nets_match(nets, n, a) == cases[i].in,
		    "%s", cases[i].addr);
	}
	ck_assert_int_eq(cfg_value_parse_nets(
			     "10.0.0.0/33", nets, CFG_VALUE_NETS_MAX, &n, &why),
	    -EINVAL);
	free(why);
	ck_assert_int_eq(
	    cfg_value_parse_nets(" , ", nets, CFG_VALUE_NETS_MAX, &n, &why),
	    -EINVAL);
	ck_assert_str_eq(why, "names no address");
	free(why);
}
END_TEST

START_TEST(test_cfg_checks_addresses_and_urls)
{
	assert_errors(BASE "[sender]\n",
	    "DIR/familymail.conf:9: [sender]: "
	    "section repeated (first on line "
	    "3)\n");
	assert_errors("[daemon]\n"
		      "templates = tpl\n"
		      "[sender]\n"
		      "from = Family Courses courses@example.org\n"
		      "reply_to = <bookings@@example.org>\n"
		      "bounce_domain = -bad-.example.org\n"
		      "list_id = <news.example.org>\n"
		      "[transport]\n"
		      "type = maildir\n"
		      "[maildir]\n"
		      "path = Maildir\n"
		      "[feed]\n"
		      "url = ftp://blog.example.org/feed\n"
		      "[bounces]\n"
		      "source = gopher://bounces@imap.example.org/INBOX\n"
		      "[http]\n"
		      "listen = localhost:8025\n",
	    "DIR/familymail.conf:4: [sender] from: 'Family Courses "
	    "courses@example.org' is not an email address (expected "
	    "local@domain)\n"
	    "DIR/familymail.conf:5: [sender] reply_to: "
	    "'<bookings@@example.org>' is not an email address (expected "
	    "local@domain)\n"
	    "DIR/familymail.conf:6: [sender] bounce_domain: "
	    "'-bad-.example.org' is not a domain name\n"
	    "DIR/familymail.conf:7: [sender] list_id: '<news.example.org>' "
	    "is not a list identifier (expected e.g. courses.example.org, "
	    "without angle brackets)\n"
	    "DIR/familymail.conf:13: [feed] url: "
	    "'ftp://blog.example.org/feed' must start with https:// or "
	    "http://\n"
	    "DIR/familymail.conf:15: [bounces] source: "
	    "'gopher://bounces@imap.example.org/INBOX' is not a bounce "
	    "source (expected imaps://USER@HOST/FOLDER, pop3s://USER@HOST "
	    "or maildir:PATH)\n"
	    "DIR/familymail.conf:17: [http] listen: 'localhost:8025' is not "
	    "ADDRESS:PORT with a numeric address (expected e.g. "
	    "127.0.0.1:8025 or [::1]:8025)\n");
	assert_errors(BASE "[smtp]\n"
			   "url = smtp://user:pw@smtp.example.org\n"
			   "[bounces]\n"
			   "source = imaps://imap.example.org/INBOX\n",
	    "DIR/familymail.conf:10: [smtp] url: "
	    "'smtp://user:pw@smtp.example.org': a password does not belong "
	    "in the url\n"
	    "DIR/familymail.conf:12: [bounces] source: "
	    "'imaps://imap.example.org/INBOX' names no account (expected "
	    "imaps://USER@imap.example.org...)\n");
	assert_errors(BASE "[bounces]\n"
			   "source = pop3s://bounces@pop.example.org\n",
	    "DIR/familymail.conf:9: [bounces] password_file: required when "
	    "source is a mail server\n");
}
END_TEST

START_TEST(test_cfg_sorts_reminder_offsets_and_refuses_bad_ones)
{
	struct cfg *c = assert_loads(BASE "[reminders]\noffsets = none\n");

	ck_assert_int_eq(c->n_offsets, 0);
	cfg_free(c);
	c = assert_loads(BASE "[reminders]\noffsets = 1h,1w ,  2d\n");
	ck_assert_int_eq(c->n_offsets, 3);
	ck_assert_str_eq(c->offsets[0].text, "7d");
	ck_assert_str_eq(c->offsets[1].text, "2d");
	ck_assert_str_eq(c->offsets[2].text, "1h");
	cfg_free(c);
	assert_errors(BASE "[reminders]\noffsets = 1d, 2d, 3d, 4d, 5d, 6d, "
			   "7d, 8d, 9d\n",
	    "DIR/familymail.conf:10: [reminders] offsets: more than 8 "
	    "offsets\n");
	assert_errors(BASE "[reminders]\noffsets = 7d,,1d\n",
	    "DIR/familymail.conf:10: [reminders] offsets: bad offset '' "
	    "(expected durations separated by commas: 7d, 1d; or none)\n");
	assert_errors(BASE "[reminders]\noffsets = 30s\n",
	    "DIR/familymail.conf:10: [reminders] offsets: offset 30s is out "
	    "of range (1m to 365d)\n");
}
END_TEST

START_TEST(test_cfg_reads_the_change_window_and_refuses_bad_ones)
{
	struct cfg *c = assert_loads(BASE "[courses]\nchange_window = 0\n");

	ck_assert_int_eq(c->change_window, 0);
	cfg_free(c);
	c = assert_loads(BASE "[courses]\nchange_window = 2h\n");
	ck_assert_int_eq(c->change_window, 2 * 3600);
	cfg_free(c);
	assert_errors(BASE "[courses]\nchange_window = 2d\n",
	    "DIR/familymail.conf:10: [courses] change_window: 2d is out of "
	    "range (0 to 1d)\n");
	assert_errors(BASE "[courses]\nchange_window = soon\n",
	    "DIR/familymail.conf:10: [courses] change_window: bad duration "
	    "'soon' (expected a number and a unit: 30s, 5m, 2h, 7d, 1w, 1y)\n");
}
END_TEST

START_TEST(test_cfg_read_secret_strips_one_newline)
{
	char *path = xasprintf("%s/pw", dir), *secret = NULL;
	char *why = NULL;

	ck_assert_int_eq(cfg_read_secret(path, &secret, &why), 0);
	ck_assert_str_eq(secret, "hunter2");
	free(secret);
	free(path);
	write_secret("two", "line1\n\n", 0600);
	path = xasprintf("%s/two", dir);
	ck_assert_int_eq(cfg_read_secret(path, &secret, &why), 0);
	ck_assert_str_eq(secret, "line1\n");
	free(secret);
	free(path);
}
END_TEST

START_TEST(test_cfg_read_secret_refuses_empty_shared_and_odd_files)
{
	char *path, *secret = (char *)"x";
	char *why = NULL;
	char big[5000];

	write_secret("empty", "\n", 0600);
	path = xasprintf("%s/empty", dir);
	ck_assert_int_eq(cfg_read_secret(path, &secret, &why), -EINVAL);
	ck_assert_str_eq(why, "empty");
	free(why);
	ck_assert_ptr_null(secret);
	free(path);

	write_secret("shared", "s\n", 0604);
	path = xasprintf("%s/shared", dir);
	ck_assert_int_eq(cfg_read_secret(path, &secret, &why), -EACCES);
	ck_assert_str_eq(why,
	    "readable by others (chmod 640 it, group the daemon's, or 600)");
	free(why);
	free(path);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_secret("big", big, 0600);
	path = xasprintf("%s/big", dir);
	ck_assert_int_eq(cfg_read_secret(path, &secret, &why), -EFBIG);
	free(why);
	free(path);

	path = xasprintf("%s/tpl", dir);
	ck_assert_int_eq(cfg_read_secret(path, &secret, &why), -EINVAL);
	ck_assert_str_eq(why, "not a regular file");
	free(why);
	free(path);

	path = xasprintf("%s/none", dir);
	ck_assert_int_eq(cfg_read_secret(path, &secret, &why), -ENOENT);
	free(why);
	free(path);
}
END_TEST

START_TEST(test_cfg_new_defaults_gives_a_maildir_config_under_dir)
{
	struct cfg *c;
	char *want;

	setenv("FAMILYMAIL_TEMPLATES", "/somewhere/templates", 1);
	c = cfg_new_defaults(dir);
	ck_assert_int_eq(c->transport, CFG_TRANSPORT_MAILDIR);
	want = xasprintf("%s/Maildir", dir);
	ck_assert_str_eq(c->maildir_path, want);
	free(want);
	want = xasprintf("%s/familymail.db", dir);
	ck_assert_str_eq(c->database, want);
	free(want);
	ck_assert_str_eq(c->templates, "/somewhere/templates");
	ck_assert_str_eq(c->from_addr, "courses@example.org");
	ck_assert_str_eq(c->bounce_domain, "example.org");
	ck_assert_str_eq(c->timezone, "Europe/London");
	ck_assert_int_eq(c->n_offsets, 2);
	ck_assert_int_eq(c->retry_give_up, 3 * 86400);
	cfg_free(c);

	unsetenv("FAMILYMAIL_TEMPLATES");
	c = cfg_new_defaults(dir);
	ck_assert_str_eq(c->templates, FAMILYMAIL_TEMPLATES);
	cfg_free(c);
	cfg_free(NULL);
}
END_TEST

/* Runs the familymail program; returns its exit status and what it
 * wrote (the caller frees). */
static int
run_familymail(const char *config, char **out, char **err)
{
	char *prog = xasprintf("%s/src/familymail", tu_builddir());
	char *outp = xasprintf("%s/out.txt", dir);
	char *errp = xasprintf("%s/err.txt", dir);
	int status = -1, fd;
	pid_t pid;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || dup2(fd, 1) == -1)
			_exit(127);
		fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || dup2(fd, 2) == -1)
			_exit(127);
		execl(prog, prog, "-c", config, "check-config", (char *)NULL);
		_exit(126);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	*out = tu_read_file(outp, NULL);
	*err = tu_read_file(errp, NULL);
	ck_assert_ptr_nonnull(*out);
	ck_assert_ptr_nonnull(*err);
	free(prog);
	free(outp);
	free(errp);
	return WEXITSTATUS(status);
}

START_TEST(test_check_config_says_ok_or_prints_errors_and_exits_78)
{
	char *out, *err, *want, *kind;

	/* check-config also loads the template folder: give it one kind. */
	kind = xasprintf("%s/tpl/booking_confirmation", dir);
	ck_assert_int_eq(mkdir(kind, 0755), 0);
	free(tu_write_file(kind, "subject.mustache", "Booked"));
	free(tu_write_file(kind, "text.mustache", "Booked"));
	free(tu_write_file(kind, "html.mustache", "<p>Booked</p>"));
	free(kind);
	free(tu_write_file(dir, "familymail.conf", BASE));
	ck_assert_int_eq(run_familymail(conf, &out, &err), 0);
	want = xasprintf("%s: ok (1 message kind in ", conf);
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
	free(want);
	/* The kinds the folder lacks are warned of, one line each. */
	want = xasprintf("%s: warning: [daemon] templates %s/tpl has no "
			 "course_changed templates: those messages will fail\n",
	    conf, dir);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	for (const char *l = err; *l != '\0'; l = strchr(l, '\n') + 1)
		ck_assert_msg(strncmp(l, conf, strlen(conf)) == 0 &&
			strstr(l, ": warning: ") == l + strlen(conf),
		    "%s", err);
	free(want);
	free(out);
	free(err);

	free(tu_write_file(
	    dir, "familymail.conf", BASE "path = again\n[smtp]\nrate = 5\n"));
	ck_assert_int_eq(run_familymail(conf, &out, &err), CFG_EX_CONFIG);
	ck_assert_str_eq(out, "");
	want = xasprintf("%s:9: [maildir] path: duplicate key (first set on "
			 "line 8)\n"
			 "%s:11: [smtp] rate: bad rate '5' (expected 0 for no "
			 "limit, or a count per s, m, h or d: 20/s, 600/m, "
			 "1000/h, 2000/d)\n",
	    conf, conf);
	ck_assert_str_eq(err, want);
	free(want);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cfg_takes_a_bounce_folder_and_plain_imap_to_any_host)
{
	struct cfg *c;

	/* Plain imap:// to a remote host: the source then insists on
	 * STARTTLS before it logs in. */
	c = load(BASE "[bounces]\n"
		      "source = imap://bounces@imap.example.org/INBOX\n"
		      "password_file = pw\n"
		      "folder = Processed\n");
	ck_assert_msg(c != NULL, "%s", errors);
	ck_assert_str_eq(
	    c->bounce_source, "imap://bounces@imap.example.org/INBOX");
	ck_assert_str_eq(c->bounce_folder, "Processed");
	cfg_free(c);
	c = load(BASE "[bounces]\n"
		      "source = pop3://bounces@pop.example.org\n"
		      "password_file = pw\n");
	ck_assert_msg(c != NULL, "%s", errors);
	ck_assert_ptr_null(c->bounce_folder);
	cfg_free(c);
	/* The folder read may be named in the URL; another one is fine. */
	c = load(BASE "[bounces]\n"
		      "source = imaps://bounces@imap.example.org/Bounces\n"
		      "password_file = pw\n"
		      "folder = INBOX/Done\n");
	ck_assert_msg(c != NULL, "%s", errors);
	ck_assert_str_eq(c->bounce_folder, "INBOX/Done");
	cfg_free(c);
}
END_TEST

START_TEST(test_cfg_refuses_a_bounce_folder_it_cannot_use)
{
	char *md = xasprintf("%s/Bounces", dir);

	ck_assert_int_eq(mkdir(md, 0700), 0);
	free(md);
	assert_errors(BASE "[bounces]\n"
			   "source = pop3s://bounces@pop.example.org\n"
			   "password_file = pw\n"
			   "folder = Processed\n",
	    "DIR/familymail.conf:12: [bounces] folder: only for an IMAP "
	    "source (imaps:// or imap://), not "
	    "pop3s://bounces@pop.example.org\n");
	assert_errors(BASE "[bounces]\n"
			   "source = maildir:Bounces\n"
			   "folder = Processed\n",
	    "DIR/familymail.conf:11: [bounces] folder: only for an IMAP "
	    "source (imaps:// or imap://), not maildir:DIR/Bounces\n");
	assert_errors(BASE "[bounces]\n"
			   "folder = Processed\n",
	    "DIR/familymail.conf:10: [bounces] folder: only for an IMAP "
	    "source (imaps:// or imap://), not none\n");
	assert_errors(BASE "[bounces]\n"
			   "source = imaps://bounces@imap.example.org\n"
			   "password_file = pw\n"
			   "delete = yes\n"
			   "folder = Processed\n",
	    "DIR/familymail.conf:13: [bounces] folder: contradicts delete "
	    "= yes (bounces are either moved or deleted)\n");
	assert_errors(BASE "[bounces]\n"
			   "source = imaps://bounces@imap.example.org\n"
			   "password_file = pw\n"
			   "folder = inbox\n",
	    "DIR/familymail.conf:12: [bounces] folder: 'inbox' is the "
	    "folder bounces are read from\n");
	assert_errors(BASE "[bounces]\n"
			   "source = imaps://bounces@imap.example.org/Bounces\n"
			   "password_file = pw\n"
			   "folder = Bounces\n",
	    "DIR/familymail.conf:12: [bounces] folder: 'Bounces' is the "
	    "folder bounces are read from\n");
	assert_errors(BASE "[bounces]\n"
			   "source = imaps://bounces@imap.example.org\n"
			   "password_file = pw\n"
			   "folder = Trait\xc3\xa9s\n",
	    "DIR/familymail.conf:12: [bounces] folder: 'Trait\xc3\xa9s': "
	    "use ASCII without \", \\, * or %\n");
}
END_TEST

/* Found by fuzzing: a CR before the '<' of reply_to passed as the
 * space there, and every message then failed to build its Reply-To. */
START_TEST(test_cfg_refuses_a_control_character_in_a_mailbox)
{
	assert_errors("[daemon]\n"
		      "templates = tpl\n"
		      "[sender]\n"
		      "from = Family\001 Courses <courses@example.org>\n"
		      "reply_to = Bookings \r\f<bookings@example.org>\n"
		      "[transport]\n"
		      "type = maildir\n"
		      "[maildir]\n"
		      "path = Maildir\n",
	    "DIR/familymail.conf:4: [sender] from: holds a control "
	    "character\n"
	    "DIR/familymail.conf:5: [sender] reply_to: holds a control "
	    "character\n");
}
END_TEST

/* The relays after [smtp]: lines 9 on. */
#define SMTP_BASE                                       \
	"[daemon]\n"                                    \
	"templates = tpl\n"                             \
	"[sender]\n"                                    \
	"from = Family Courses <courses@example.org>\n" \
	"[transport]\n"                                 \
	"type = smtp\n"                                 \
	"[smtp]\n"                                      \
	"url = smtp://127.0.0.1:2525\n"

START_TEST(test_cfg_reads_relays_in_the_order_written_with_their_keys)
{
	struct cfg *c =
	    load(SMTP_BASE "tls = off\n"
			   "quota = 300/h\n"
			   "ehlo_name = mail.example.org\n"
			   "give_up = 1d\n"
			   "[smtp.office365]\n"
			   "url = smtp://smtp.office365.com:587\n"
			   "username = courses@example.org\n"
			   "password_file = pw\n"
			   "connections = 2\n"
			   "rate = 30/m\n"
			   "quota = 10000/d\n"
			   "[digest]\n"
			   "max_posts = 5\n"
			   "[smtp.backup]\n"
			   "url = smtps://smtp.provider.example:465\n"
			   "timeout = 2m\n");
	struct cfg_relay r;
	char *pw;

	ck_assert_msg(c != NULL, "%s", errors);
	ck_assert_uint_eq(cfg_relay_count(c), 3);
	cfg_relay_get(c, 0, &r);
	ck_assert_str_eq(r.name, "smtp");
	ck_assert_str_eq(r.url, "smtp://127.0.0.1:2525");
	ck_assert_int_eq(r.tls, CFG_TLS_OFF);
	ck_assert_uint_eq(r.quota.count, 300);
	ck_assert_uint_eq(r.quota.per_sec, 3600);
	ck_assert_str_eq(r.ehlo_name, "mail.example.org");
	cfg_relay_get(c, 1, &r);
	ck_assert_str_eq(r.name, "smtp.office365");
	ck_assert_str_eq(r.url, "smtp://smtp.office365.com:587");
	ck_assert_int_eq(r.tls, CFG_TLS_REQUIRED);
	ck_assert_str_eq(r.username, "courses@example.org");
	pw = xasprintf("%s/pw", dir);
	ck_assert_str_eq(r.password_file, pw);
	free(pw);
	ck_assert_int_eq(r.connections, 2);
	ck_assert_uint_eq(r.rate.count, 30);
	ck_assert_uint_eq(r.rate.per_sec, 60);
	ck_assert_uint_eq(r.quota.count, 10000);
	ck_assert_uint_eq(r.quota.per_sec, 86400);
	ck_assert_int_eq(r.timeout, 60);
	ck_assert_ptr_null(r.ehlo_name);
	cfg_relay_get(c, 2, &r);
	ck_assert_str_eq(r.name, "smtp.backup");
	ck_assert_int_eq(r.timeout, 120);
	ck_assert_int_eq(r.connections, 4);
	ck_assert_uint_eq(r.quota.count, 0);
	/* Keys for every relay stay [smtp]'s; other sections are read
	 * as ever between relays. */
	ck_assert_int_eq(c->retry_give_up, 86400);
	ck_assert_int_eq(c->max_posts, 5);
	cfg_free(c);
}
END_TEST

START_TEST(test_cfg_reports_each_relay_problem_under_its_section)
{
	assert_errors(SMTP_BASE "[smtp.backup]\n"
				"tls = off\n"
				"url = smtp://relay.example.net:587\n"
				"retry_max = 2h\n"
				"quota = 100/m\n"
				"rate = 5/w\n"
				"colour = blue\n"
				"[smtp.second one]\n"
				"url = smtp://a.example\n"
				"[smtp.third]\n"
				"username = me\n"
				"[smtp.backup]\n",
	    "DIR/familymail.conf:10: [smtp.backup] tls: off is only "
	    "allowed for a loopback host (127.0.0.0/8, ::1, localhost), "
	    "not relay.example.net\n"
	    "DIR/familymail.conf:12: [smtp.backup] retry_max: applies to "
	    "every relay: set it in [smtp]\n"
	    "DIR/familymail.conf:13: [smtp.backup] quota: a quota is "
	    "counted per hour or day (300/h, 2000/d); rate limits a second "
	    "or a minute\n"
	    "DIR/familymail.conf:14: [smtp.backup] rate: bad rate '5/w' "
	    "(expected 0 for no limit, or a count per s, m, h or d: 20/s, "
	    "600/m, 1000/h, 2000/d)\n"
	    "DIR/familymail.conf:15: [smtp.backup] colour: unknown key (the "
	    "keys of [smtp]: url, tls, username, password_file, ca_file, "
	    "connections, rate, timeout, quota, ehlo_name, retry_initial, "
	    "retry_max, give_up)\n"
	    "DIR/familymail.conf:16: [smtp.second one]: a relay's name is "
	    "letters, digits, '-' and '_', at most 32\n"
	    "DIR/familymail.conf:18: [smtp.third] url: required in every "
	    "relay\n"
	    "DIR/familymail.conf:18: [smtp.third] password_file: required "
	    "when username is set\n"
	    "DIR/familymail.conf:20: [smtp.backup]: section repeated (first "
	    "on line 9)\n");
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("cfg");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cfg_loads_a_good_file_with_every_field);
	tcase_add_test(tc, test_cfg_fills_in_the_documented_defaults);
	tcase_add_test(tc, test_cfg_loads_the_shipped_example);
	tcase_add_test(tc, test_cfg_parses_good_durations);
	tcase_add_test(tc, test_cfg_refuses_bad_durations);
	tcase_add_test(tc, test_cfg_parses_good_rates);
	tcase_add_test(tc, test_cfg_refuses_bad_rates);
	tcase_add_test(
	    tc, test_cfg_formats_durations_in_the_largest_whole_unit);
	tcase_add_test(
	    tc, test_cfg_resolves_relative_paths_against_the_config_folder);
	tcase_add_test(tc, test_cfg_reports_an_unknown_section_once);
	tcase_add_test(tc, test_cfg_reports_an_unknown_key);
	tcase_add_test(
	    tc, test_cfg_reports_a_duplicate_key_with_its_first_line);
	tcase_add_test(tc, test_cfg_reports_a_repeated_section);
	tcase_add_test(tc, test_cfg_reports_a_bad_duration);
	tcase_add_test(tc, test_cfg_reads_languages_and_the_organisation);
	tcase_add_test(tc, test_cfg_refuses_a_language_it_does_not_know);
	tcase_add_test(tc, test_cfg_reports_a_bad_rate);
	tcase_add_test(tc, test_cfg_reports_a_value_outside_an_enum);
	tcase_add_test(tc, test_cfg_reports_an_int_out_of_range);
	tcase_add_test(
	    tc, test_cfg_reports_a_missing_required_key_at_its_section);
	tcase_add_test(tc, test_cfg_requires_the_url_of_the_chosen_transport);
	tcase_add_test(tc, test_cfg_reports_a_missing_secret_file);
	tcase_add_test(tc, test_cfg_refuses_a_secret_file_others_can_read);
	tcase_add_test(tc, test_cfg_accepts_a_secret_its_own_group_may_read);
	tcase_add_test(tc, test_cfg_refuses_a_secret_another_group_may_read);
	tcase_add_test(
	    tc, test_cfg_checks_secrets_as_the_daemon_user_when_root);
	tcase_add_test(tc, test_cfg_refuses_a_short_or_guessable_token_secret);
	tcase_add_test(tc, test_cfg_reports_missing_files_and_folders);
	tcase_add_test(tc, test_cfg_refuses_tls_off_for_a_remote_host);
	tcase_add_test(tc, test_cfg_allows_tls_off_for_a_loopback_host);
	tcase_add_test(
	    tc, test_cfg_reports_every_error_of_a_file_in_line_order);
	tcase_add_test(tc, test_cfg_reports_syntax_errors_with_their_lines);
	tcase_add_test(tc, test_cfg_reads_indented_keys_and_windows_line_ends);
	tcase_add_test(tc, test_cfg_reports_a_missing_config_file);
	tcase_add_test(tc, test_cfg_checks_addresses_and_urls);
	tcase_add_test(tc, test_cfg_reads_the_http_proxy_and_metrics_keys);
	tcase_add_test(tc, test_cfg_value_nets_match_addresses_and_networks);
	tcase_add_test(
	    tc, test_cfg_sorts_reminder_offsets_and_refuses_bad_ones);
	tcase_add_test(
	    tc, test_cfg_reads_the_change_window_and_refuses_bad_ones);
	tcase_add_test(tc, test_cfg_read_secret_strips_one_newline);
	tcase_add_test(
	    tc, test_cfg_read_secret_refuses_empty_shared_and_odd_files);
	tcase_add_test(
	    tc, test_cfg_new_defaults_gives_a_maildir_config_under_dir);
	tcase_add_test(
	    tc, test_check_config_says_ok_or_prints_errors_and_exits_78);
	tcase_add_test(
	    tc, test_cfg_takes_a_bounce_folder_and_plain_imap_to_any_host);
	tcase_add_test(tc, test_cfg_refuses_a_bounce_folder_it_cannot_use);
	tcase_add_test(tc, test_cfg_refuses_a_control_character_in_a_mailbox);
	tcase_add_test(
	    tc, test_cfg_reads_relays_in_the_order_written_with_their_keys);
	tcase_add_test(
	    tc, test_cfg_reports_each_relay_problem_under_its_section);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(cfg_suite());
}
