/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_axe: every default message, in English, in Welsh and
 * bilingual, and every subscriber page, in English and Welsh, checked
 * with axe-core (WCAG 2.1 A and AA, and best practice) in headless
 * Chromium, the way an accessibility audit would. A serious or
 * critical finding fails the test; others are printed. The messages
 * are the HTML parts `familymail preview` builds from a real database;
 * the pages are those a running familymaild answers.
 *
 * It also writes screenshots at 375 and 1280 CSS pixels of a Welsh
 * booking confirmation and a bilingual digest into tests/screenshots/
 * in the build folder.
 *
 * axe-core comes from npm into the build folder (tests/axe/, not part
 * of the source tree) the first time, at the version below; Chromium
 * and chromedriver from Debian. Skipped (exit 77) when chromium,
 * chromedriver or npm is missing.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "testutil.h"
#include "token.h"
#include "util.h"

#define AXE_VERSION  "4.10.2"
#define CHROMIUM     "/usr/bin/chromium"
#define CHROMEDRIVER "/usr/bin/chromedriver"
#define SECRET       "Zq3vK8mB1xR6nT0wY5cH2jL9pF4sD7gA8eU1iO3kM6o="
#define NOW          "2026-11-23T09:00:00Z"

static char *dir, *conf, *axe_src, *shots;
static int port, daemon_pid, driver_pid, driver_port;
static char session[128];

/* ------------------------------------------------------------ webdriver */

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* A WebDriver command; returns the reply's "value" (new reference), or
 * NULL when the driver cannot be reached. */
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
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
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

/* A command on the session; fails the test on a WebDriver error.
 * Returns the value (new reference); takes body. */
static json_t *
wd_session(const char *method, const char *what, json_t *body)
{
	char *path = xasprintf("/session/%s%s", session, what);
	json_t *v = wd(method, path, body);

	ck_assert_msg(v != NULL &&
		(!json_is_object(v) || json_object_get(v, "error") == NULL),
	    "%s %s: %s", method, what,
	    v != NULL ? json_string_value(json_object_get(v, "message"))
		      : "no reply");
	json_decref(body);
	free(path);
	return v;
}

static void
open_url(const char *url)
{
	json_decref(wd_session("POST", "/url", json_pack("{s:s}", "url", url)));
}

static void
window_width(int width, int height)
{
	json_decref(wd_session("POST", "/window/rect",
	    json_pack("{s:i,s:i}", "width", width, "height", height)));
}

static void
screenshot(const char *name)
{
	json_t *v = wd_session("GET", "/screenshot", NULL);
	const char *b64 = json_string_value(v);
	unsigned char *png;
	size_t len;
	char *file;
	FILE *f;
	int n;

	ck_assert_ptr_nonnull(b64);
	len = strlen(b64);
	png = xmalloc(len / 4 * 3 + 3);
	n = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)len);
	ck_assert_int_gt(n, 8);
	n -= len > 0 && b64[len - 1] == '=' ? 1 : 0;
	n -= len > 1 && b64[len - 2] == '=' ? 1 : 0;
	file = xasprintf("%s/%s.png", shots, name);
	f = fopen(file, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(png, 1, (size_t)n, f), (size_t)n);
	ck_assert_int_eq(fclose(f), 0);
	free(file);
	free(png);
	json_decref(v);
}

/*
 * Runs axe-core on the page open now: WCAG 2.0 and 2.1, A and AA, and
 * best practice. Fails on a serious or critical finding, naming the
 * rule, its help and the first element; prints the others.
 */
static void
axe_check(const char *what)
{
	static const char run[] =
	    "var done = arguments[arguments.length - 1];"
	    "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a',"
	    " 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice',"
	    " 'experimental']}})"
	    ".then(function (r) { done(r.violations.map(function (v) {"
	    " return {id: v.id, impact: v.impact, help: v.help,"
	    " nodes: v.nodes.length,"
	    " target: v.nodes.length ? String(v.nodes[0].target) : ''}; }));"
	    " }, function (e) { done([{id: 'axe-error', impact: 'critical',"
	    " help: String(e), nodes: 0, target: ''}]); });";
	char *load = xasprintf("%s\nreturn typeof axe;", axe_src);
	json_t *v, *f;
	struct buf bad;
	size_t i;

	v = wd_session("POST", "/execute/sync",
	    json_pack("{s:s,s:[]}", "script", load, "args"));
	ck_assert_msg(
	    json_is_string(v) && strcmp(json_string_value(v), "object") == 0,
	    "%s: axe-core did not load", what);
	json_decref(v);
	free(load);
	v = wd_session("POST", "/execute/async",
	    json_pack("{s:s,s:[]}", "script", run, "args"));
	ck_assert_msg(json_is_array(v), "%s: axe gave no result", what);
	buf_init(&bad);
	json_array_foreach(v, i, f)
	{
		const char *impact =
		    json_string_value(json_object_get(f, "impact"));
		bool serious = impact != NULL &&
		    (strcmp(impact, "serious") == 0 ||
			strcmp(impact, "critical") == 0);

		fprintf(stderr, "check_axe: %s: %s %s (%lld): %s [%s]\n", what,
		    impact != NULL ? impact : "?",
		    json_string_value(json_object_get(f, "id")),
		    (long long)json_integer_value(json_object_get(f, "nodes")),
		    json_string_value(json_object_get(f, "help")),
		    json_string_value(json_object_get(f, "target")));
		if (serious)
			buf_printf(&bad, "%s: %s: %s [%s]\n", impact,
			    json_string_value(json_object_get(f, "id")),
			    json_string_value(json_object_get(f, "help")),
			    json_string_value(json_object_get(f, "target")));
	}
	ck_assert_msg(bad.len == 0, "%s:\n%s", what, bad.data);
	buf_fini(&bad);
	json_decref(v);
}

/* ------------------------------------------------------------ messages */

/* A MIME part's body, decoded (quoted-printable or base64). */
static char *
decode(const char *body, size_t n, bool base64)
{
	struct buf out;

	buf_init(&out);
	if (base64) {
		struct buf clean;
		unsigned char *dst;
		int len;

		buf_init(&clean);
		for (size_t i = 0; i < n; i++)
			if (!isspace((unsigned char)body[i]))
				buf_putc(&clean, body[i]);
		dst = xmalloc(clean.len + 1);
		len = EVP_DecodeBlock(
		    dst, (unsigned char *)clean.data, (int)clean.len);
		ck_assert_int_ge(len, 0);
		while (len > 0 && clean.len > 0 &&
		    clean.data[clean.len - 1] == '=') {
			clean.len--;
			len--;
		}
		buf_append(&out, dst, (size_t)len);
		free(dst);
		buf_fini(&clean);
	} else {
		for (size_t i = 0; i < n; i++) {
			if (body[i] == '=' && i + 2 < n &&
			    body[i + 1] == '\r' && body[i + 2] == '\n') {
				i += 2;
			} else if (body[i] == '=' && i + 2 < n &&
			    isxdigit((unsigned char)body[i + 1]) &&
			    isxdigit((unsigned char)body[i + 2])) {
				char hex[3] = { body[i + 1], body[i + 2], 0 };

				buf_putc(&out, (char)strtol(hex, NULL, 16));
				i += 2;
			} else if (body[i] != '\r') {
				buf_putc(&out, body[i]);
			}
		}
	}
	buf_putc(&out, '\0');
	return buf_take(&out);
}

/* The HTML part of `familymail -c cfg preview KIND FLAG ID [--offset D]`
 * written to dir/name.html; returns its file:// URL. */
static char *
message_page(const char *cfg, const char *name, const char *kind,
    const char *flag, const char *id, const char *detail)
{
	char *prog = xasprintf("%s/src/familymail", tu_builddir());
	char *out = xasprintf("%s/%s.eml", dir, name);
	char *html_path = xasprintf("%s/%s.html", dir, name), *url;
	char *argv[] = { prog, (char *)"-c", (char *)cfg, (char *)"preview",
		(char *)kind, (char *)flag, (char *)id, (char *)"--offset",
		(char *)detail, NULL };
	const char *part, *body, *end, *enc;
	char *raw, *html;
	FILE *f;

	if (detail == NULL)
		argv[7] = NULL;
	else if (strcmp(kind, "blog_digest") == 0)
		argv[7] = (char *)"--period";
	ck_assert_int_eq(tu_run_cmd(argv, out, 20000), 0);
	raw = tu_read_file(out, NULL);
	ck_assert_ptr_nonnull(raw);
	part = strcasestr(raw, "\r\nContent-Type: text/html");
	ck_assert_msg(part != NULL, "%s: no HTML part", name);
	body = strstr(part, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	enc = strcasestr(part, "Content-Transfer-Encoding: base64");
	body += 4;
	end = strstr(body, "\r\n--");
	ck_assert_ptr_nonnull(end);
	html = decode(body, (size_t)(end - body), enc != NULL && enc < body);
	f = fopen(html_path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(html, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	url = xasprintf("file://%s", html_path);
	free(html);
	free(raw);
	free(html_path);
	free(out);
	free(prog);
	return url;
}

static char *
write_config(const char *name, const char *daemon_extra)
{
	char *sections =
	    xasprintf("[organisation]\n"
		      "address = 1 Example Street, Cardiff CF10 1AA\n"
		      "charity_number = 1234567\n"
		      "\n[unsubscribe]\n"
		      "url = http://127.0.0.1:%d/unsubscribe?token={token}\n"
		      "mailto = unsubscribe@example.org\n"
		      "secret_file = token-secret\n"
		      "\n[http]\nlisten = 127.0.0.1:%d\n",
		port, port);
	struct tu_config c = { .log_level = "",
		.daemon_extra = daemon_extra,
		.bounce_domain = "",
		.sections = sections };
	char *path = tu_write_config(dir, name, &c);

	free(sections);
	return path;
}

/* ------------------------------------------------------------ set-up */

/* axe-core's source, installed with npm into the build folder when it
 * is not there yet. NULL (and a reason printed) when it cannot be. */
static char *
axe_load(void)
{
	char *prefix = xasprintf("%s/tests/axe", tu_builddir());
	char *file = xasprintf("%s/node_modules/axe-core/axe.min.js", prefix);
	char *src = tu_read_file(file, NULL), *log;

	if (src == NULL) {
		char *argv[] = { (char *)"npm", (char *)"install",
			(char *)"--prefix", prefix, (char *)"--no-audit",
			(char *)"--no-fund", (char *)"--silent",
			(char *)"axe-core@" AXE_VERSION, NULL };
		pid_t pid;
		int status = -1;

		mkdir(prefix, 0755);
		log = xasprintf("%s/npm.log", prefix);
		pid = fork();
		if (pid == 0) {
			execvp("npm", argv);
			_exit(127);
		}
		if (pid > 0)
			status = tu_wait(pid, 300000);
		if (status != 0)
			printf("check_axe: npm install axe-core@%s failed "
			       "(%d)\n",
			    AXE_VERSION, status);
		free(log);
		src = tu_read_file(file, NULL);
	}
	free(file);
	free(prefix);
	return src;
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
	caps = json_pack("{s:{s:{s:s,s:{s:s,s:[s,s,s,s,s,s]},s:{s:i}}}}",
	    "capabilities", "alwaysMatch", "browserName", "chrome",
	    "goog:chromeOptions", "binary", CHROMIUM, "args", "--headless=new",
	    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
	    "--allow-file-access-from-files", profile, "timeouts", "script",
	    120000);
	for (int attempt = 0; attempt < 3; attempt++) {
		v = wd("POST", "/session", caps);
		if (json_is_string(json_object_get(v, "sessionId")))
			break;
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
	char *secret, *path, *sql, *daemon, *log;
	sqlite3 *db;

	dir = tu_mkdtemp();
	shots = xasprintf("%s/tests/screenshots", tu_builddir());
	mkdir(shots, 0755);
	port = tu_free_port();
	driver_port = tu_free_port();
	secret = tu_write_file(dir, "token-secret", SECRET);
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	conf = write_config("familymail.conf", "");
	db = tu_db_new(dir);
	path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
	sql = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(sql);
	tu_sql(db, sql);
	tu_sql(db,
	    "UPDATE delegates SET language = 'cy' WHERE id = 2;"
	    "INSERT INTO subscribers (id, email, name, status, frequency,"
	    " created_at, language) VALUES"
	    " (1, 'anna@example.org', 'Anna Price', 'active', 'weekly',"
	    "  '2026-11-01T10:00:00Z', NULL),"
	    " (2, 'new.reader@example.org', NULL, 'pending', 'monthly',"
	    "  '2026-11-22T10:00:00Z', NULL),"
	    " (3, 'gwen@example.org', 'Gwen', 'active', 'weekly',"
	    "  '2026-11-01T10:00:00Z', 'cy'),"
	    " (4, 'iolo@example.org', NULL, 'pending', 'monthly',"
	    "  '2026-11-22T10:00:00Z', 'cy');"
	    "INSERT INTO posts (title, url, author, summary, published_at)"
	    " VALUES ('Calm mornings before school',"
	    "  'https://blog.example.org/mornings', 'Rhian Evans',"
	    "  '<p>Mornings go wrong in the same few places.</p>"
	    "<p>Lay out clothes the night before.</p>',"
	    "  '2026-11-17T08:00:00Z'),"
	    " ('Screen time that works for everyone',"
	    "  'https://blog.example.org/screens', NULL,"
	    "  'Agree the rules together, before the tablet comes out.',"
	    "  '2026-11-20T08:00:00Z');"
	    "INSERT INTO digests (frequency, period, scheduled_at, since,"
	    " until, post_count, state, created_at) VALUES ('weekly',"
	    " '2026-W48', '2026-11-23T08:00:00Z', '2026-11-16T08:00:00Z',"
	    " '2026-11-23T08:00:00Z', 2, 'enqueued',"
	    " '2026-11-23T08:00:00Z');");
	free(sql);
	free(path);
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
	tu_wait(daemon_pid, 5000);
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(conf);
	free(shots);
}

/* ------------------------------------------------------------ tests */

static const struct {
	const char *kind, *flag, *en_id, *cy_id, *detail;
} axe_messages[] = {
	{ "booking_confirmation", "--booking", "1", "2", NULL },
	{ "booking_confirmation", "--booking", "3", "3", NULL }, /* online */
	{ "booking_cancelled", "--booking", "1", "2", NULL },
	{ "course_cancelled", "--booking", "1", "2", NULL },
	{ "course_reminder", "--booking", "1", "2", "1d" },
	{ "blog_digest", "--subscriber", "1", "3", "weekly:2026-W48" },
	{ "subscription_confirm", "--subscriber", "2", "4", NULL },
};

START_TEST(test_axe_finds_nothing_serious_in_any_default_message)
{
	char *bilingual =
	    write_config("bilingual.conf", "bilingual = cy, en\n");
	char name[96], *url;

	window_width(1280, 900);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(axe_messages); i++) {
		/* English (no language), Welsh (the person's), and
		 * bilingual (no language, [daemon] bilingual). */
		(void)snprintf(
		    name, sizeof(name), "%s-%zu-en", axe_messages[i].kind, i);
		url = message_page(conf, name, axe_messages[i].kind,
		    axe_messages[i].flag, axe_messages[i].en_id,
		    axe_messages[i].detail);
		open_url(url);
		axe_check(name);
		free(url);
		(void)snprintf(
		    name, sizeof(name), "%s-%zu-cy", axe_messages[i].kind, i);
		url = message_page(conf, name, axe_messages[i].kind,
		    axe_messages[i].flag, axe_messages[i].cy_id,
		    axe_messages[i].detail);
		open_url(url);
		axe_check(name);
		free(url);
		(void)snprintf(name, sizeof(name), "%s-%zu-bilingual",
		    axe_messages[i].kind, i);
		url = message_page(bilingual, name, axe_messages[i].kind,
		    axe_messages[i].flag, axe_messages[i].en_id,
		    axe_messages[i].detail);
		open_url(url);
		axe_check(name);
		free(url);
	}
	/* What a reader sees, on a phone and on a desktop. */
	url = message_page(
	    conf, "shot-cy", "booking_confirmation", "--booking", "2", NULL);
	open_url(url);
	window_width(375, 1100);
	screenshot("welsh-confirmation-375");
	window_width(1280, 1100);
	screenshot("welsh-confirmation-1280");
	free(url);
	url = message_page(bilingual, "shot-bi", "blog_digest", "--subscriber",
	    "1", "weekly:2026-W48");
	open_url(url);
	window_width(375, 1400);
	screenshot("bilingual-digest-375");
	window_width(1280, 1400);
	screenshot("bilingual-digest-1280");
	free(url);
	free(bilingual);
}
END_TEST

static char *
page_url(const char *path, const char *purpose, int64_t id, const char *email,
    const char *lang)
{
	struct buf t;
	char *s;

	buf_init(&t);
	ck_assert_int_eq(
	    token_make(SECRET, strlen(SECRET), purpose, id, email, &t), 0);
	s = xasprintf("http://127.0.0.1:%d/%s?token=%s%s%s", port, path, t.data,
	    lang != NULL ? "&lang=" : "", lang != NULL ? lang : "");
	buf_fini(&t);
	return s;
}

/* Waits for familymaild's pages to answer. */
static void
wait_for_daemon(void)
{
	char *url = xasprintf("http://127.0.0.1:%d/healthz", port);

	for (int waited = 0; waited < 15000; waited += 100) {
		CURL *c = curl_easy_init();
		long code = 0;

		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(c);
		if (code == 200)
			break;
		tu_sleep_ms(100);
	}
	free(url);
}

START_TEST(test_axe_finds_nothing_serious_in_any_page)
{
	static const char *const langs[] = { NULL, "cy" };
	char *url, name[64];

	wait_for_daemon();
	window_width(1280, 900);
	for (size_t l = 0; l < UTIL_ARRAY_LEN(langs); l++) {
		const char *tag = langs[l] != NULL ? langs[l] : "en";

		url = page_url("unsubscribe", "unsubscribe", 1,
		    "anna@example.org", langs[l]);
		open_url(url);
		(void)snprintf(name, sizeof(name), "unsubscribe-%s", tag);
		axe_check(name);
		free(url);
		url = page_url("preferences", "preferences", 1,
		    "anna@example.org", langs[l]);
		open_url(url);
		(void)snprintf(name, sizeof(name), "preferences-%s", tag);
		axe_check(name);
		free(url);
		/* A forged link: the error page. */
		url = page_url("preferences", "preferences", 1,
		    "someone.else@example.org", langs[l]);
		open_url(url);
		(void)snprintf(name, sizeof(name), "invalid-%s", tag);
		axe_check(name);
		free(url);
		url = page_url(
		    "nowhere", "unsubscribe", 1, "anna@example.org", langs[l]);
		open_url(url);
		(void)snprintf(name, sizeof(name), "not-found-%s", tag);
		axe_check(name);
		free(url);
	}
	/* The confirmation page, for a Welsh subscriber (no lang=). */
	url = page_url("confirm", "confirm", 4, "iolo@example.org", NULL);
	open_url(url);
	axe_check("confirm-cy");
	free(url);
	url = page_url("confirm", "confirm", 2, "new.reader@example.org", NULL);
	open_url(url);
	axe_check("confirm-en");
	free(url);
}
END_TEST

/* True if an executable name is in a folder of PATH. */
static bool
on_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	bool found = false;

	for (p = path; p != NULL && *p != '\0' && !found; p = end) {
		char *file;

		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		file = xasprintf("%.*s/%s", (int)(end - p), p, name);
		found = access(file, X_OK) == 0;
		free(file);
		if (*end == ':')
			end++;
	}
	return found;
}

static Suite *
axe_suite(void)
{
	Suite *s = suite_create("axe");
	TCase *tc = tcase_create("chromium");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(
	    tc, test_axe_finds_nothing_serious_in_any_default_message);
	tcase_add_test(tc, test_axe_finds_nothing_serious_in_any_page);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int rc;

	if (access(CHROMIUM, X_OK) != 0 || access(CHROMEDRIVER, X_OK) != 0) {
		printf("SKIP: check_axe needs %s and %s (Debian: chromium "
		       "chromium-driver; contrib/install-deps.sh --tests)\n",
		    CHROMIUM, CHROMEDRIVER);
		return 77;
	}
	if (!on_path("npm")) {
		printf("SKIP: check_axe needs npm to install axe-core@%s "
		       "(Debian: npm; contrib/install-deps.sh --tests)\n",
		    AXE_VERSION);
		return 77;
	}
	axe_src = axe_load();
	if (axe_src == NULL) {
		printf("FAIL: check_axe: axe-core@%s could not be installed "
		       "with npm into %s/tests/axe\n",
		    AXE_VERSION, tu_builddir());
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = tu_run(axe_suite());
	curl_global_cleanup();
	free(axe_src);
	return rc;
}
