/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_browser: a subscriber's phone, played by headless Chromium
 * through chromedriver's W3C WebDriver API (spoken here with libcurl and
 * jansson). familymaild sends a real weekly digest into a Maildir; the
 * test takes the unsubscribe link from its List-Unsubscribe header,
 * opens it at phone width (375 CSS pixels), presses the button and
 * checks the database; then the confirmation page (the link asks, the
 * button confirms), the preferences page and a forged link. A course
 * change notice, sent by familymaild --once after the website moved a
 * course, is opened as a phone (375 CSS pixels) and a desktop (1280)
 * show it. Screenshots of each page are written to tests/screenshots/
 * in the build folder.
 *
 * Skipped (exit 77) when chromium or chromedriver is not installed
 * (contrib/install-deps.sh --tests installs both).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "testmail.h"
#include "testutil.h"
#include "token.h"
#include "util.h"

#define NOW          "2026-11-23T09:00:00Z"
#define SECRET       "zbEzOfBVeg2OeysRjlzkgp+vPKJT3KtHaraTvKxN4+E="
#define CHROMIUM     "/usr/bin/chromium"
#define CHROMEDRIVER "/usr/bin/chromedriver"

static char *dir, *db_path, *shots;
static int port, daemon_pid, driver_pid, driver_port;
static char session[128];

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* A WebDriver command: method, path under the driver, JSON body (or
 * NULL). Returns the reply's "value" (new reference), NULL when the
 * driver cannot be reached. */
static json_t *
wd(const char *method, const char *path, json_t *body)
{
	char *url = xasprintf("http://127.0.0.1:%d%s", driver_port, path);
	struct curl_slist *hdrs = NULL;
	CURL *c = curl_easy_init();
	char *text = NULL;
	json_t *reply, *value = NULL;
	struct buf b;

	buf_init(&b);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		hdrs =
		    curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	}
	if (curl_easy_perform(c) == CURLE_OK) {
		buf_putc(&b, '\0');
		reply = json_loads(b.data, 0, NULL);
		if (reply != NULL)
			value = json_incref(json_object_get(reply, "value"));
		json_decref(reply);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(text);
	buf_fini(&b);
	free(url);
	return value;
}

static void
wd_ok(const char *method, const char *what, json_t *body)
{
	char *path = xasprintf("/session/%s%s", session, what);
	json_t *v = wd(method, path, body);

	ck_assert_msg(v != NULL && json_object_get(v, "error") == NULL,
	    "%s %s: %s", method, what,
	    v != NULL ? json_string_value(json_object_get(v, "message"))
		      : "no reply");
	json_decref(v);
	json_decref(body);
	free(path);
}

static void
open_page(const char *url)
{
	wd_ok("POST", "/url", json_pack("{s:s}", "url", url));
}

static char *
page_title(void)
{
	char *path = xasprintf("/session/%s/title", session), *s;
	json_t *v = wd("GET", path, NULL);

	ck_assert(json_is_string(v));
	s = xstrdup(json_string_value(v));
	json_decref(v);
	free(path);
	return s;
}

/* Waits for the page whose title starts with want (a click returns
 * before the page it submits has loaded). */
static void
assert_title(const char *want)
{
	char *t = NULL;

	for (int waited = 0; waited < 10000; waited += 100) {
		free(t);
		t = page_title();
		if (strncmp(t, want, strlen(want)) == 0)
			break;
		tu_sleep_ms(100);
	}
	ck_assert_msg(strncmp(t, want, strlen(want)) == 0, "title '%s'", t);
	free(t);
}

/* Clicks the first element matching a CSS selector. */
static void
click(const char *css)
{
	char *path = xasprintf("/session/%s/element", session), *what;
	json_t *q =
	    json_pack("{s:s,s:s}", "using", "css selector", "value", css);
	json_t *v = wd("POST", path, q);
	const char *id = NULL;
	void *it;

	json_decref(q);

	ck_assert_msg(json_is_object(v), "no element %s", css);
	it = json_object_iter(v);
	if (it != NULL)
		id = json_string_value(json_object_iter_value(it));
	ck_assert_msg(id != NULL, "no element %s", css);
	what = xasprintf("/element/%s/click", id);
	wd_ok("POST", what, json_object());
	free(what);
	free(path);
	json_decref(v);
}

/* Saves a PNG of the viewport as shots/name.png. */
static void
screenshot(const char *name)
{
	char *path = xasprintf("/session/%s/screenshot", session), *file;
	json_t *v = wd("GET", path, NULL);
	const char *b64;
	unsigned char *png;
	size_t len;
	int n;
	FILE *f;

	ck_assert(json_is_string(v));
	b64 = json_string_value(v);
	len = strlen(b64);
	png = xmalloc(len / 4 * 3 + 3);
	n = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)len);
	ck_assert_int_gt(n, 8);
	n -= len > 0 && b64[len - 1] == '=' ? 1 : 0;
	n -= len > 1 && b64[len - 2] == '=' ? 1 : 0;
	ck_assert(memcmp(png, "\x89PNG", 4) == 0);
	file = xasprintf("%s/%s.png", shots, name);
	f = fopen(file, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(png, 1, (size_t)n, f), (size_t)n);
	ck_assert_int_eq(fclose(f), 0);
	free(file);
	free(png);
	json_decref(v);
	free(path);
}

static char *
db_text(const char *sql)
{
	return tu_db_text(db_path, sql);
}

static void
assert_db(const char *sql, const char *want)
{
	char *got = db_text(sql);

	ck_assert_msg(
	    strcmp(got, want) == 0, "%s: got '%s', want '%s'", sql, got, want);
	free(got);
}

/* The digest to sam@ in Maildir/new, waiting for the daemon. */
static char *
digest_message(void)
{
	char *new_dir = xasprintf("%s/Maildir/new", dir), *found = NULL;

	for (int waited = 0; found == NULL && waited < 15000; waited += 100) {
		DIR *d = opendir(new_dir);
		struct dirent *e;

		while (d != NULL && found == NULL && (e = readdir(d)) != NULL) {
			char *p, *s;

			if (e->d_name[0] == '.')
				continue;
			p = xasprintf("%s/%s", new_dir, e->d_name);
			s = tu_read_file(p, NULL);
			if (s != NULL && strstr(s, "To: Sam") != NULL &&
			    strstr(s, "List-Unsubscribe:") != NULL)
				found = s;
			else
				free(s);
			free(p);
		}
		if (d != NULL)
			closedir(d);
		if (found == NULL)
			tu_sleep_ms(100);
	}
	free(new_dir);
	ck_assert_msg(found != NULL, "no digest to Sam in Maildir/new");
	return found;
}

/* The http link of the List-Unsubscribe header (unfolded). */
static char *
unsubscribe_link(const char *msg)
{
	const char *h = strstr(msg, "\nList-Unsubscribe:"), *end, *p;
	struct buf v;
	char *link, *q;

	ck_assert_ptr_nonnull(h);
	h += strlen("\nList-Unsubscribe:");
	buf_init(&v);
	for (p = h; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n' && p[1] != ' ' && p[1] != '\t')
			break;
		if (*p != '\n')
			buf_putc(&v, *p);
	}
	buf_putc(&v, '\0');
	q = strstr(v.data, "<http://127.0.0.1:");
	ck_assert_msg(q != NULL, "%s", v.data);
	end = strchr(q, '>');
	ck_assert_ptr_nonnull(end);
	link = xstrndup(q + 1, (size_t)(end - q - 1));
	buf_fini(&v);
	return link;
}

static char *
link_for(const char *path, const char *purpose, int64_t id, const char *email)
{
	struct buf t;
	char *s;

	buf_init(&t);
	ck_assert_int_eq(
	    token_make(SECRET, strlen(SECRET), purpose, id, email, &t), 0);
	s = xasprintf("http://127.0.0.1:%d/%s?token=%s", port, path, t.data);
	buf_fini(&t);
	return s;
}

static void
start_daemon(void)
{
	char *conf, *sections, *secret, *daemon, *log;
	sqlite3 *db;

	secret = tu_write_file(dir, "token-secret", SECRET);
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	sections =
	    xasprintf("[unsubscribe]\n"
		      "url = http://127.0.0.1:%d/unsubscribe?token={token}\n"
		      "mailto = unsubscribe@example.org\n"
		      "secret_file = token-secret\n"
		      "\n[http]\nlisten = 127.0.0.1:%d\n",
		port, port);
	{
		struct tu_config c = { .timezone = "",
			.log_level = "",
			.reply_to = "",
			.bounce_domain = "",
			.sections = sections };

		conf = tu_write_config(dir, "familymail.conf", &c);
	}
	free(sections);
	db = tu_db_new(dir);
	tu_sql(db,
	    "INSERT INTO subscribers (id, email, name, status, frequency,"
	    " created_at) VALUES"
	    " (1, 'sam@example.org', 'Sam', 'active', 'weekly',"
	    "  '2026-09-01T00:00:00Z'),"
	    " (2, 'pat@example.org', 'Pat', 'pending', 'weekly',"
	    "  '2026-11-20T00:00:00Z');"
	    "INSERT INTO posts (id, title, url, author, summary,"
	    " published_at) VALUES (1, 'Bedtime without battles',"
	    " 'https://blog.example.org/bedtime', 'Ruth',"
	    " 'Five calm steps.', '2026-11-20T12:00:00Z');");
	db_close(db);
	daemon = xasprintf("%s/src/familymaild", tu_builddir());
	log = xasprintf("%s/daemon.log", dir);
	{
		char *argv[] = { daemon, (char *)"-f", (char *)"-c", conf,
			(char *)"--now", (char *)NOW, NULL };

		daemon_pid = tu_spawn(argv, log);
	}
	free(log);
	free(daemon);
	free(conf);
}

static void
start_browser(void)
{
	char *log = xasprintf("%s/chromedriver.log", dir);
	char *portarg = xasprintf("--port=%d", driver_port);
	char *profile = xasprintf("--user-data-dir=%s/profile", dir);
	char *argv[] = { (char *)CHROMEDRIVER, portarg, NULL };
	json_t *caps, *v = NULL;

	driver_pid = tu_spawn(argv, log);
	for (int waited = 0; waited < 10000; waited += 100) {
		v = wd("GET", "/status", NULL);
		if (json_is_true(json_object_get(v, "ready")))
			break;
		json_decref(v);
		v = NULL;
		tu_sleep_ms(100);
	}
	ck_assert_msg(v != NULL, "chromedriver did not start");
	json_decref(v);
	caps = json_pack(
	    "{s:{s:{s:s,s:{s:s,s:[s,s,s,s,s],s:{s:{s:i,s:i,s:f}}}}}}",
	    "capabilities", "alwaysMatch", "browserName", "chrome",
	    "goog:chromeOptions", "binary", CHROMIUM, "args", "--headless=new",
	    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", profile,
	    "mobileEmulation", "deviceMetrics", "width", 375, "height", 740,
	    "pixelRatio", 2.0);
	/* Chromium sometimes exits while starting on a loaded machine;
	 * chromedriver then says so and a second start works. */
	for (int attempt = 0; attempt < 3; attempt++) {
		v = wd("POST", "/session", caps);
		if (json_is_string(json_object_get(v, "sessionId")))
			break;
		fprintf(stderr, "check_browser: no session (attempt %d): %s\n",
		    attempt + 1,
		    json_string_value(json_object_get(v, "message")));
		json_decref(v);
		v = NULL;
		tu_sleep_ms(500);
	}
	json_decref(caps);
	ck_assert_msg(v != NULL, "chromium did not start (see %s)", log);
	(void)snprintf(session, sizeof(session), "%s",
	    json_string_value(json_object_get(v, "sessionId")));
	json_decref(v);
	free(log);
	free(portarg);
	free(profile);
}

static void
setup(void)
{
	dir = tu_mkdtemp();
	db_path = xasprintf("%s/familymail.db", dir);
	shots = xasprintf("%s/tests/screenshots", tu_builddir());
	mkdir(shots, 0755);
	port = tu_free_port();
	driver_port = tu_free_port();
	start_daemon();
	start_browser();
}

static void
teardown(void)
{
	char *path = xasprintf("/session/%s", session);

	json_decref(wd("DELETE", path, NULL));
	free(path);
	kill(driver_pid, SIGTERM);
	tu_wait(driver_pid, 5000);
	kill(daemon_pid, SIGTERM);
	ck_assert_int_eq(tu_wait(daemon_pid, 5000), 0);
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(db_path);
	free(shots);
}

START_TEST(test_browser_unsubscribes_from_the_link_in_a_real_digest)
{
	char *msg = digest_message(), *link = unsubscribe_link(msg);

	open_page(link);
	assert_title("Unsubscribe - Family Courses");
	screenshot("1-unsubscribe");
	/* Opening the link changed nothing. */
	assert_db("SELECT status FROM subscribers WHERE id = 1", "active");
	click("form button[type=submit]");
	assert_title("You are unsubscribed");
	screenshot("2-unsubscribed");
	assert_db(
	    "SELECT status FROM subscribers WHERE id = 1", "unsubscribed");
	free(link);
	free(msg);
}
END_TEST

START_TEST(test_browser_confirms_and_changes_preferences)
{
	char *confirm = link_for("confirm", "confirm", 2, "pat@example.org");
	char *prefs =
	    link_for("preferences", "preferences", 2, "pat@example.org");
	char *forged = xstrdup(prefs);

	/* Opening the link only asks: link scanners open links too. */
	open_page(confirm);
	assert_title("Confirm your subscription");
	screenshot("3-confirm");
	assert_db("SELECT status FROM subscribers WHERE id = 2", "pending");
	click("form button[type=submit]");
	assert_title("Subscription confirmed");
	screenshot("3-confirmed");
	assert_db("SELECT status FROM subscribers WHERE id = 2", "active");
	open_page(prefs);
	assert_title("Your email preferences");
	screenshot("4-preferences");
	click("input[value=monthly]");
	click("form button[type=submit]");
	assert_title("Your email preferences");
	screenshot("5-preferences-saved");
	assert_db("SELECT status || ':' || frequency FROM subscribers"
		  " WHERE id = 2",
	    "active:monthly");
	forged[strlen(forged) - 3] ^= 1;
	open_page(forged);
	assert_title("This link is not valid");
	screenshot("6-invalid-link");
	assert_db("SELECT status || ':' || frequency FROM subscribers"
		  " WHERE id = 2",
	    "active:monthly");
	free(forged);
	free(prefs);
	free(confirm);
}
END_TEST

/* The page's lang attribute, as the browser reads it. */
static char *
page_lang(void)
{
	char *path = xasprintf("/session/%s/execute/sync", session), *s;
	json_t *body = json_pack("{s:s,s:[]}", "script",
	    "return document.documentElement.lang;", "args");
	json_t *v = wd("POST", path, body);

	ck_assert(json_is_string(v));
	s = xstrdup(json_string_value(v));
	json_decref(v);
	json_decref(body);
	free(path);
	return s;
}

START_TEST(test_browser_welsh_subscriber_gets_welsh_pages)
{
	char *prefs =
	    link_for("preferences", "preferences", 2, "pat@example.org");
	char *unsub =
	    link_for("unsubscribe", "unsubscribe", 2, "pat@example.org");
	char *lang;
	sqlite3 *db;

	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db,
	    "UPDATE subscribers SET status = 'active',"
	    " language = 'cy' WHERE id = 2");
	db_close(db);
	open_page(prefs);
	assert_title("Eich dewisiadau e-bost - Family Courses");
	lang = page_lang();
	ck_assert_str_eq(lang, "cy");
	free(lang);
	screenshot("7-preferences-cy");
	click("input[value=monthly]");
	click("form button[type=submit]");
	/* The page saved has the title of the page before: wait for the
	 * change itself. */
	for (int waited = 0; waited < 10000; waited += 100) {
		char *f = db_text("SELECT frequency FROM subscribers"
				  " WHERE id = 2");
		bool done = strcmp(f, "monthly") == 0;

		free(f);
		if (done)
			break;
		tu_sleep_ms(100);
	}
	assert_db("SELECT frequency FROM subscribers WHERE id = 2", "monthly");
	/* The same page in English, from the link in Welsh's page. */
	click("nav.lang a[lang=en]");
	assert_title("Your email preferences");
	lang = page_lang();
	ck_assert_str_eq(lang, "en");
	free(lang);
	open_page(unsub);
	assert_title("Dad-danysgrifio - Family Courses");
	screenshot("8-unsubscribe-cy");
	click("form button[type=submit]");
	assert_title("Rydych wedi dad-danysgrifio");
	assert_db(
	    "SELECT status FROM subscribers WHERE id = 2", "unsubscribed");
	free(unsub);
	free(prefs);
}
END_TEST

/* Runs a script in the page; its value (new reference). */
static json_t *
page_eval(const char *script)
{
	char *path = xasprintf("/session/%s/execute/sync", session);
	json_t *body = json_pack("{s:s,s:[]}", "script", script, "args");
	json_t *v = wd("POST", path, body);

	json_decref(body);
	free(path);
	ck_assert_msg(
	    v != NULL && !json_is_object(v), "script '%s' failed", script);
	return v;
}

static long long
page_number(const char *script)
{
	json_t *v = page_eval(script);
	long long n;

	ck_assert(json_is_number(v));
	n = (long long)json_number_value(v);
	json_decref(v);
	return n;
}

/* The viewport as a phone (mobile, 2 device pixels a CSS pixel) or a
 * desktop screen of width x height CSS pixels, through Chromium's
 * DevTools protocol (chromedriver's goog/cdp/execute). */
static void
set_viewport(int width, int height, bool phone)
{
	wd_ok("POST", "/goog/cdp/execute",
	    json_pack("{s:s,s:{s:i,s:i,s:f,s:b}}", "cmd",
		"Emulation.setDeviceMetricsOverride", "params", "width", width,
		"height", height, "deviceScaleFactor", phone ? 2.0 : 1.0,
		"mobile", phone));
}

/* A course change notice, as familymaild sends it: Sarah booked the
 * Cardiff course; the website then moved it to Swansea and a day
 * later. Returns the notice's HTML part. */
static char *
change_notice_html(void)
{
	char *sub = xasprintf("%s/change", dir), *conf, *log, *html;
	char *new_dir = xasprintf("%s/Maildir/new", sub), *change_db;
	struct tu_config c = { .timezone = "",
		.log_level = "",
		.reply_to = "",
		.bounce_domain = "" };
	const struct testmail *notice;
	struct testmail *m;
	sqlite3 *db;
	size_t n;

	ck_assert_int_eq(mkdir(sub, 0700), 0);
	conf = tu_write_config(sub, "familymail.conf", &c);
	log = xasprintf("%s/daemon.log", sub);
	db = tu_db_new(sub);
	tu_sql(db,
	    "INSERT INTO courses (id, title, starts_at, ends_at, venue,"
	    " address, notes) VALUES (1, 'Nurturing Programme Facilitator"
	    " Training', '2026-12-03T09:30:00Z', '2026-12-03T16:30:00Z',"
	    " 'Cardiff', 'Temple of Peace, Cathays Park, Cardiff CF10 3AP',"
	    " 'Bring the course handbook. Lunch is provided.');"
	    "INSERT INTO delegates (id, email, first_name, last_name,"
	    " organisation) VALUES (1, 'sarah.jones@example.org', 'Sarah',"
	    " 'Jones', 'Cardiff Family Centre');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at) VALUES (1, 1, 1, 'FC-1001',"
	    " '2026-11-20T10:00:00Z');");
	db_close(db);
	ck_assert_int_eq(
	    tu_daemon_once(conf, "2026-11-23T09:00:00Z", log, 20000), 0);
	change_db = xasprintf("%s/familymail.db", sub);
	ck_assert_int_eq(db_open(change_db, false, &db), 0);
	tu_sql(db,
	    "UPDATE courses SET starts_at = '2026-12-04T10:00:00Z',"
	    " ends_at = '2026-12-04T16:00:00Z', venue = 'Swansea',"
	    " address = 'Swansea Guildhall, Swansea SA1 4PE' WHERE id = 1");
	db_close(db);
	ck_assert_int_eq(
	    tu_daemon_once(conf, "2026-11-23T10:00:00Z", log, 20000), 0);
	ck_assert_int_eq(
	    tu_daemon_once(conf, "2026-11-23T10:12:00Z", log, 20000), 0);
	m = testmail_read_dir(new_dir, &n);
	notice = testmail_find(
	    m, n, "sarah.jones@example.org", "Change to your course:", 0);
	ck_assert_msg(notice != NULL, "no change notice in %s", new_dir);
	html = xstrdup(notice->html);
	testmail_free(m, n);
	free(change_db);
	free(log);
	free(conf);
	free(new_dir);
	free(sub);
	return html;
}

START_TEST(test_browser_shows_the_change_notice_on_a_phone_and_a_desktop)
{
	static const struct {
		int width;
		bool phone;
		const char *shot;
	} screens[] = {
		{ 375, true, "7-change-notice-375" },
		{ 1280, false, "8-change-notice-1280" },
	};
	char *html = change_notice_html(), *file, *url;
	json_t *v;

	file = tu_write_file(dir, "change-notice.html", html);
	url = xasprintf("file://%s", file);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(screens); i++) {
		long long height, width;

		/* (The session's phone emulation comes back with each page
		 * loaded: the screen is set after.) */
		open_page(url);
		assert_title("Change to your course: Nurturing Programme");
		set_viewport(screens[i].width, 800, screens[i].phone);
		ck_assert_int_eq(
		    page_number("return window.innerWidth;"), screens[i].width);
		/* Nothing wider than the screen: no sideways scrolling. */
		width =
		    page_number("return document.documentElement.scrollWidth;");
		ck_assert_msg(width <= screens[i].width,
		    "%d px wide: the page is %lld px", screens[i].width, width);
		/* The message column is at most 600 px, centred. */
		ck_assert_int_le(page_number("return document.querySelector("
					     "'h1').getBoundingClientRect()"
					     ".width;"),
		    600);
		v = page_eval("return document.body.innerText;");
		ck_assert(json_is_string(v));
		ck_assert_ptr_nonnull(
		    strstr(json_string_value(v), "Your course has changed"));
		ck_assert_ptr_nonnull(strstr(json_string_value(v),
		    "Thursday 3 December 2026, 09:30 to 16:30"));
		ck_assert_ptr_nonnull(strstr(json_string_value(v),
		    "Friday 4 December 2026, 10:00 to 16:00"));
		ck_assert_ptr_nonnull(strstr(json_string_value(v),
		    "Swansea, Swansea Guildhall, Swansea SA1 4PE"));
		json_decref(v);
		/* The whole message in one picture. */
		height = page_number(
		    "return Math.ceil(document.body.getBoundingClientRect()"
		    ".height);");
		set_viewport(screens[i].width, (int)height, screens[i].phone);
		screenshot(screens[i].shot);
	}
	free(url);
	free(file);
	free(html);
}
END_TEST

static Suite *
browser_suite(void)
{
	Suite *s = suite_create("browser");
	TCase *tc = tcase_create("chromium");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, test_browser_unsubscribes_from_the_link_in_a_real_digest);
	tcase_add_test(tc, test_browser_confirms_and_changes_preferences);
	tcase_add_test(tc, test_browser_welsh_subscriber_gets_welsh_pages);
	tcase_add_test(
	    tc, test_browser_shows_the_change_notice_on_a_phone_and_a_desktop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int rc;

	if (access(CHROMIUM, X_OK) != 0 || access(CHROMEDRIVER, X_OK) != 0) {
		printf("SKIP: check_browser needs %s and %s (Debian: chromium "
		       "chromium-driver; contrib/install-deps.sh --tests)\n",
		    CHROMIUM, CHROMEDRIVER);
		return 77;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = tu_run(browser_suite());
	curl_global_cleanup();
	return rc;
}
