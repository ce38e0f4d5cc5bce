/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_http: familymaild's web endpoints from the outside. Each test
 * starts the real daemon on a temporary database and Maildir with
 * [http] listen on a free loopback port, and talks to it with libcurl
 * as a mail provider's one-click unsubscribe, a subscriber's browser
 * or a monitoring system would: one-click POST, a GET that changes
 * nothing, confirmation (a GET or HEAD asks, the POST confirms),
 * preferences, forged and fuzzed tokens, limits on request size and on
 * failures per client (behind a trusted proxy), /healthz and /metrics.
 * Attacks and a busy website are check_http_attack's.
 */
#include "config.h"

#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "testutil.h"
#include "token.h"
#include "util.h"

#define NOW    "2026-11-23T09:00:00Z" /* a Monday, after the weekly digest */
#define SECRET "3REucDBwIPZeZUEW6RFBIo5PZ7pS56DsWGkuyG1vFxg="

static char *dir, *db_path, *log_path;
static int port, daemon_pid;

static const char fixtures[] =
    "INSERT INTO subscribers (id, email, name, status, frequency,"
    " created_at) VALUES"
    " (1, 'sam@example.org', 'Sam', 'active', 'weekly',"
    "  '2026-09-01T00:00:00Z'),"
    " (2, 'pat@example.org', 'Pat', 'pending', 'weekly',"
    "  '2026-11-20T00:00:00Z'),"
    " (3, 'lee@example.org', 'Lee', 'active', 'monthly',"
    "  '2026-09-01T00:00:00Z');"
    "INSERT INTO posts (id, title, url, author, summary, published_at)"
    " VALUES (1, 'Bedtime without battles',"
    " 'https://blog.example.org/bedtime', 'Ruth', 'Five calm steps.',"
    " '2026-11-20T12:00:00Z');";

struct resp {
	long code;
	struct buf body;
	struct buf head;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

static void
resp_fini(struct resp *r)
{
	buf_fini(&r->body);
	buf_fini(&r->head);
}

/* One request to the daemon; body NULL for a GET (or HEAD with
 * method), header an extra header line or NULL. */
static struct resp
request(const char *method, const char *target, const char *body,
    const char *header)
{
	struct curl_slist *hdrs = NULL;
	struct resp r = { 0 };
	char *url = xasprintf("http://127.0.0.1:%d%s", port, target);
	CURL *c = curl_easy_init();
	CURLcode rc;

	buf_init(&r.body);
	buf_init(&r.head);
	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.head);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (method != NULL && strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (header != NULL)
		hdrs = curl_slist_append(hdrs, header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "%s: %s", url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
	buf_putc(&r.body, '\0');
	r.body.len--;
	buf_putc(&r.head, '\0');
	r.head.len--;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(url);
	return r;
}

static struct resp
get(const char *target)
{
	return request(NULL, target, NULL, NULL);
}

static struct resp
post(const char *target, const char *body)
{
	return request(NULL, target, body, NULL);
}

static char *
token(const char *purpose, int64_t id, const char *email)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(
	    token_make(SECRET, strlen(SECRET), purpose, id, email, &b), 0);
	return buf_take(&b);
}

static char *
page(const char *path, const char *purpose, int64_t id, const char *email)
{
	char *t = token(purpose, id, email), *s;

	s = xasprintf("/%s?token=%s", path, t);
	free(t);
	return s;
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

#define SUBSCRIBERS                                                         \
	"SELECT group_concat(id || ':' || status || ':' || frequency, ' ')" \
	" FROM (SELECT * FROM subscribers ORDER BY id)"

static void
setup(void)
{
	char *conf, *sections, *secret, *daemon;
	sqlite3 *db;

	dir = tu_mkdtemp();
	port = tu_free_port();
	secret = tu_write_file(dir, "token-secret", SECRET);
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	sections =
	    xasprintf("[unsubscribe]\n"
		      "url = http://127.0.0.1:%d/unsubscribe?token={token}\n"
		      "mailto = unsubscribe@example.org\n"
		      "secret_file = token-secret\n"
		      "\n[http]\nlisten = 127.0.0.1:%d\n"
		      "trusted_proxies = 127.0.0.1\n",
		port, port);
	{
		struct tu_config c = { .timezone = "",
			.reply_to = "",
			.bounce_domain = "",
			.sections = sections };

		conf = tu_write_config(dir, "familymail.conf", &c);
	}
	free(sections);
	db = tu_db_new(dir);
	tu_sql(db, fixtures);
	db_close(db);
	db_path = xasprintf("%s/familymail.db", dir);
	log_path = xasprintf("%s/daemon.log", dir);
	daemon = xasprintf("%s/src/familymaild", tu_builddir());
	{
		char *argv[] = { daemon, (char *)"-f", (char *)"-c", conf,
			(char *)"--now", (char *)NOW, NULL };

		daemon_pid = tu_spawn(argv, log_path);
	}
	free(daemon);
	free(conf);
	/* Ready when /healthz answers. */
	for (int waited = 0; waited < tu_timeout_ms(10000); waited += 50) {
		CURL *c = curl_easy_init();
		char *url = xasprintf("http://127.0.0.1:%d/healthz", port);
		long code = 0;

		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(c);
		free(url);
		if (code == 200)
			return;
		tu_sleep_ms(50);
	}
	ck_abort_msg("familymaild did not answer on port %d", port);
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
}

static void
assert_has(const char *s, const char *want)
{
	ck_assert_msg(strstr(s, want) != NULL, "'%s' not in:\n%s", want, s);
}

/* The links of a test message (familymail send-test) carry test
 * tokens: every page answers that it is a test link, and nothing
 * changes, whatever the method. */
START_TEST(test_http_test_links_change_nothing)
{
	static const char *const kinds[][2] = {
		{ "unsubscribe", "List-Unsubscribe=One-Click" },
		{ "confirm", "" }, { "preferences", "frequency=monthly" }
	};
	struct resp r;

	for (size_t i = 0; i < 3; i++) {
		char *purpose = xasprintf("test:%s", kinds[i][0]);
		char *target = page(kinds[i][0], purpose, i == 1 ? 2 : 1,
		    i == 1 ? "pat@example.org" : "sam@example.org");

		r = get(target);
		ck_assert_int_eq(r.code, 200);
		assert_has(r.body.data, "This is a test link");
		resp_fini(&r);
		r = post(target, kinds[i][1]);
		ck_assert_int_eq(r.code, 200);
		assert_has(r.body.data, "Nothing was changed");
		resp_fini(&r);
		free(target);
		free(purpose);
	}
	assert_db("SELECT status || ':' || frequency FROM subscribers"
		  " WHERE id = 1",
	    "active:weekly");
	assert_db("SELECT status FROM subscribers WHERE id = 2", "pending");
}
END_TEST

START_TEST(test_http_one_click_post_unsubscribes_at_once_and_again)
{
	char *target = page("unsubscribe", "unsubscribe", 1, "sam@example.org");
	struct resp r;

	r = post(target, "List-Unsubscribe=One-Click");
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "You are unsubscribed");
	assert_has(r.body.data, "s****@example.org");
	resp_fini(&r);
	assert_db(SUBSCRIBERS,
	    "1:unsubscribed:weekly 2:pending:weekly "
	    "3:active:monthly");
	/* Providers retry: the same answer, nothing else changes. */
	r = post(target, "List-Unsubscribe=One-Click");
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "already unsubscribed");
	resp_fini(&r);
	assert_db(SUBSCRIBERS,
	    "1:unsubscribed:weekly 2:pending:weekly "
	    "3:active:monthly");
	free(target);
}
END_TEST

/* `familymail history ADDRESS`, stdout and stderr together. */
static char *
history(const char *address)
{
	char *tool = xasprintf("%s/src/familymail", tu_builddir());
	char *conf = xasprintf("%s/familymail.conf", dir);
	char *out = xasprintf("%s/history.out", dir), *text;
	char *argv[] = { tool, (char *)"-c", conf, (char *)"history",
		(char *)address, NULL };

	unlink(out); /* tu_run_cmd() appends */
	ck_assert_int_eq(tu_run_cmd(argv, out, 20000), 0);
	text = tu_read_file(out, NULL);
	free(tool);
	free(conf);
	free(out);
	return text;
}

/* Each way of unsubscribing, confirming and choosing is in the history
 * with where it came from: a mail client's one-click POST, the button
 * of the unsubscribe page, the preferences page, the confirmation
 * link. */
START_TEST(test_http_changes_are_in_the_history_with_their_source)
{
	char *sam = page("unsubscribe", "unsubscribe", 1, "sam@example.org");
	char *lee = page("unsubscribe", "unsubscribe", 3, "lee@example.org");
	char *pat = page("confirm", "confirm", 2, "pat@example.org");
	char *prefs = page("preferences", "preferences", 2, "pat@example.org");
	struct resp r;
	char *h;

	r = post(sam, "List-Unsubscribe=One-Click");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	/* What the page's own button sends. */
	r = post(lee, "List-Unsubscribe=One-Click&from=page");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	r = post(pat, "");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	r = post(prefs, "frequency=monthly");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);

	h = history("sam@example.org");
	assert_has(h, "unsubscribed");
	assert_has(h, "one-click");
	free(h);
	h = history("lee@example.org");
	assert_has(h, "unsubscribed");
	assert_has(h, "page");
	ck_assert_ptr_null(strstr(h, "one-click"));
	free(h);
	h = history("pat@example.org");
	assert_has(h, "confirmed");
	assert_has(h, "preference_changed");
	assert_has(h, "preferences  monthly");
	free(h);
	free(sam);
	free(lee);
	free(pat);
	free(prefs);
}
END_TEST

START_TEST(test_http_one_click_post_accepts_multipart_and_needs_the_body)
{
	char *target = page("unsubscribe", "unsubscribe", 3, "lee@example.org");
	struct resp r;

	r = post(target, "");
	ck_assert_int_eq(r.code, 400);
	resp_fini(&r);
	r = post(target, "List-Unsubscribe=Something-Else");
	ck_assert_int_eq(r.code, 400);
	resp_fini(&r);
	assert_db("SELECT status FROM subscribers WHERE id = 3", "active");
	r = request(NULL, target,
	    "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n",
	    "Content-Type: multipart/form-data; boundary=XyZ");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	assert_db(
	    "SELECT status FROM subscribers WHERE id = 3", "unsubscribed");
	free(target);
}
END_TEST

START_TEST(test_http_get_unsubscribe_asks_and_changes_nothing)
{
	char *target = page("unsubscribe", "unsubscribe", 1, "sam@example.org");
	struct resp r;

	for (int i = 0; i < 3; i++) {
		r = get(target);
		ck_assert_int_eq(r.code, 200);
		assert_has(r.body.data, "s****@example.org");
		assert_has(r.body.data, "<form method=\"post\">");
		assert_has(r.body.data,
		    "name=\"List-Unsubscribe\" "
		    "value=\"One-Click\"");
		assert_has(r.body.data, "name=\"from\" value=\"page\"");
		assert_has(r.body.data, "Family Courses");
		assert_has(r.body.data, "name=\"viewport\"");
		ck_assert_ptr_null(strstr(r.body.data, "sam@example.org"));
		ck_assert_ptr_null(strstr(r.body.data, "<script"));
		ck_assert_ptr_null(strstr(r.body.data, "http"));
		assert_has(r.head.data,
		    "Content-Security-Policy: default-src "
		    "'none'; style-src 'unsafe-inline'; "
		    "form-action 'self'");
		assert_has(r.head.data, "X-Frame-Options: DENY");
		assert_has(r.head.data, "Referrer-Policy: no-referrer");
		assert_has(r.head.data, "Cache-Control: no-store");
		assert_has(r.head.data,
		    "Content-Type: text/html; "
		    "charset=utf-8");
		resp_fini(&r);
	}
	r = request("HEAD", target, NULL, NULL);
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	assert_db("SELECT status FROM subscribers WHERE id = 1", "active");
	free(target);
}
END_TEST

START_TEST(test_http_confirm_activates_a_pending_subscriber)
{
	char *target = page("confirm", "confirm", 2, "pat@example.org");
	char *wrong = page("confirm", "unsubscribe", 2, "pat@example.org");
	struct resp r;

	/* An unsubscribe token is not a confirmation. */
	r = get(wrong);
	ck_assert_int_eq(r.code, 404);
	resp_fini(&r);
	assert_db("SELECT status FROM subscribers WHERE id = 2", "pending");
	r = post(target, "");
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "Subscription confirmed");
	assert_has(r.body.data, "p****@example.org will now get the weekly");
	resp_fini(&r);
	assert_db("SELECT status FROM subscribers WHERE id = 2", "active");
	r = post(target, "");
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "was already confirmed");
	resp_fini(&r);
	r = get(target);
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "was already confirmed");
	resp_fini(&r);
	r = request("PUT", target, "x=1", NULL);
	ck_assert_int_eq(r.code, 405);
	resp_fini(&r);
	free(target);
	free(wrong);
}
END_TEST

/* Link scanners (Safe Links, Mimecast) open every link of a message,
 * with GET or HEAD: that must not sign anybody up. */
START_TEST(test_http_confirm_get_and_head_only_ask)
{
	char *target = page("confirm", "confirm", 2, "pat@example.org");
	struct resp r;

	for (int i = 0; i < 3; i++) {
		r = get(target);
		ck_assert_int_eq(r.code, 200);
		assert_has(r.body.data, "Confirm your subscription");
		assert_has(r.body.data, "p****@example.org");
		assert_has(r.body.data, "<form method=\"post\">");
		assert_has(r.body.data, "<button type=\"submit\">Confirm");
		ck_assert_ptr_null(strstr(r.body.data, "pat@example.org"));
		resp_fini(&r);
		r = request("HEAD", target, NULL, NULL);
		ck_assert_int_eq(r.code, 200);
		resp_fini(&r);
	}
	assert_db("SELECT status FROM subscribers WHERE id = 2", "pending");
	/* Pressing the button posts the form back. */
	r = post(target, "");
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "Subscription confirmed");
	resp_fini(&r);
	assert_db("SELECT status FROM subscribers WHERE id = 2", "active");
	free(target);
}
END_TEST

START_TEST(test_http_confirm_after_unsubscribing_keeps_them_out)
{
	char *confirm = page("confirm", "confirm", 2, "pat@example.org");
	char *unsub = page("unsubscribe", "unsubscribe", 2, "pat@example.org");
	struct resp r;

	r = post(unsub, "List-Unsubscribe=One-Click");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	r = get(confirm);
	ck_assert_int_eq(r.code, 409);
	resp_fini(&r);
	r = post(confirm, "");
	ck_assert_int_eq(r.code, 409);
	resp_fini(&r);
	assert_db(
	    "SELECT status FROM subscribers WHERE id = 2", "unsubscribed");
	free(confirm);
	free(unsub);
}
END_TEST

START_TEST(test_http_preferences_switch_frequency_and_unsubscribe)
{
	char *target = page("preferences", "preferences", 1, "sam@example.org");
	struct resp r;

	r = get(target);
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "value=\"weekly\" checked");
	assert_has(r.body.data, "value=\"monthly\">");
	resp_fini(&r);
	r = post(target, "frequency=monthly");
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "You will get the monthly digest");
	assert_has(r.body.data, "value=\"monthly\" checked");
	resp_fini(&r);
	assert_db("SELECT status || ':' || frequency FROM subscribers"
		  " WHERE id = 1",
	    "active:monthly");
	r = post(target, "frequency=daily");
	ck_assert_int_eq(r.code, 400);
	resp_fini(&r);
	assert_db("SELECT frequency FROM subscribers WHERE id = 1", "monthly");
	r = post(target, "action=unsubscribe");
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "You are unsubscribed");
	resp_fini(&r);
	assert_db("SELECT status || ':' || frequency FROM subscribers"
		  " WHERE id = 1",
	    "unsubscribed:monthly");
	free(target);
}
END_TEST

START_TEST(test_http_forged_and_fuzzed_tokens_change_nothing)
{
	char *good = token("unsubscribe", 1, "sam@example.org");
	char *before = db_text(SUBSCRIBERS), *after, *t, *target, *xff;
	struct buf other;
	struct resp r;
	int n = 0;

	/* Missing, damaged, forged: clear pages, never a change. */
	static const struct {
		const char *query;
		long code;
	} cases[] = {
		{ "", 400 },
		{ "?token=", 400 },
		{ "?token=short", 400 },
		{ "?token=%00AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 400 },
		{ "?token=%zz", 400 },
		{ "?token=AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAA", 404 },
		{ "?token=AAAAAAAAA-cAAAAAAAAAAAAAAAAAAAAA", 404 },
		{ "?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 400 },
		{ "?token=%3Cscript%3Ealert(1)%3C/script%3E", 400 },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *q = xasprintf("/unsubscribe%s", cases[i].query);

		xff = xasprintf("X-Forwarded-For: 198.51.100.%zu", i);
		r = request(NULL, q, "List-Unsubscribe=One-Click", xff);
		ck_assert_msg(r.code == cases[i].code, "%s: %ld", q, r.code);
		assert_has(r.body.data, "Nothing has been changed");
		ck_assert_ptr_null(strstr(r.body.data, "<script>"));
		resp_fini(&r);
		free(xff);
		free(q);
	}
	/* Another secret, another purpose, another address. */
	buf_init(&other);
	ck_assert_int_eq(token_make("not-the-secret", 14, "unsubscribe", 1,
			     "sam@example.org", &other),
	    0);
	t = token("preferences", 1, "sam@example.org");
	{
		const char *forged[] = { other.data, t };

		for (size_t i = 0; i < 2; i++) {
			target = xasprintf("/unsubscribe?token=%s", forged[i]);
			r = post(target, "List-Unsubscribe=One-Click");
			ck_assert_int_eq(r.code, 404);
			resp_fini(&r);
			free(target);
		}
	}
	free(t);
	buf_fini(&other);
	/* Every one-character change of a good token, in each position. */
	for (size_t i = 0; i < TOKEN_LEN; i++) {
		static const char subst[] = "A_-z9";

		for (size_t k = 0; k < sizeof(subst) - 1; k++) {
			t = xstrdup(good);
			if (t[i] == subst[k]) {
				free(t);
				continue;
			}
			t[i] = subst[k];
			target = xasprintf("/unsubscribe?token=%s", t);
			xff = xasprintf(
			    "X-Forwarded-For: 203.0.113.%d", n++ % 250);
			r = request(
			    NULL, target, "List-Unsubscribe=One-Click", xff);
			ck_assert_msg(r.code == 404 || r.code == 400, "%s: %ld",
			    t, r.code);
			resp_fini(&r);
			free(xff);
			free(target);
			free(t);
		}
	}
	after = db_text(SUBSCRIBERS);
	ck_assert_str_eq(after, before);
	ck_assert_str_eq(after,
	    "1:active:weekly 2:pending:weekly "
	    "3:active:monthly");
	free(after);
	free(before);
	free(good);
}
END_TEST

START_TEST(test_http_rejects_oversized_requests)
{
	char *big = xmalloc(9001), *hdr, *url;
	struct resp r;

	memset(big, 'a', 9000);
	big[9000] = '\0';
	hdr = xasprintf("X-Padding: %s", big);
	r = request(NULL, "/healthz", NULL, hdr);
	ck_assert_int_eq(r.code, 431);
	resp_fini(&r);
	big[6000] = '\0';
	r = post("/unsubscribe?token=x", big);
	ck_assert_int_eq(r.code, 413);
	resp_fini(&r);
	r = request(
	    NULL, "/unsubscribe?token=x", big, "Transfer-Encoding: chunked");
	ck_assert_int_eq(r.code, 413);
	resp_fini(&r);
	big[3000] = '\0';
	url = xasprintf("/unsubscribe?token=%s", big);
	r = get(url);
	ck_assert_int_eq(r.code, 414);
	resp_fini(&r);
	/* The daemon is still there. */
	r = get("/healthz");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	free(url);
	free(hdr);
	free(big);
}
END_TEST

/* Behind the proxy (a trusted proxy on loopback): failures are counted
 * per client named in X-Forwarded-For; one client's scanning does not
 * limit another, and never refuses a request that succeeds. */
START_TEST(test_http_rate_limits_one_client_not_another)
{
	char *good = page("unsubscribe", "unsubscribe", 1, "sam@example.org");
	int failed = 0, limited = 0;
	struct resp r;

	for (int i = 0; i < 60; i++) {
		r = request(NULL,
		    "/unsubscribe?token=AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAA",
		    "List-Unsubscribe=One-Click",
		    "X-Forwarded-For: 10.9.8.7, 192.0.2.44");
		if (r.code == 404)
			failed++;
		else if (r.code == 429)
			limited++;
		if (r.code == 429)
			assert_has(r.head.data, "Retry-After:");
		resp_fini(&r);
	}
	ck_assert_int_ge(failed, 40);
	ck_assert_int_ge(limited, 10);
	ck_assert_int_eq(failed + limited, 60);
	/* The same client: what succeeds still goes through. */
	r = request(NULL, "/healthz", NULL, "X-Forwarded-For: 192.0.2.44");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	r = request(NULL, good, "List-Unsubscribe=One-Click",
	    "X-Forwarded-For: 192.0.2.44");
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	assert_db(
	    "SELECT status FROM subscribers WHERE id = 1", "unsubscribed");
	/* Another client is not limited. */
	r = request(NULL, "/nowhere", NULL, "X-Forwarded-For: 192.0.2.45");
	ck_assert_int_eq(r.code, 404);
	resp_fini(&r);
	free(good);
}
END_TEST

/* A Prometheus text exposition line: comment, or name{labels} value. */
static bool
metric_line_ok(const char *line)
{
	const char *p = line;

	if (line[0] == '#')
		return strncmp(line, "# HELP ", 7) == 0 ||
		    strncmp(line, "# TYPE ", 7) == 0;
	if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
		return false;
	while (
	    (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	if (*p == '{') {
		while (*p != '}' && *p != '\0') {
			p++;
			while ((*p >= 'a' && *p <= 'z') || *p == '_')
				p++;
			if (p[0] != '=' || p[1] != '"')
				return false;
			p = strchr(p + 2, '"');
			if (p == NULL)
				return false;
			p++;
			if (*p != ',' && *p != '}')
				return false;
		}
		if (*p != '}')
			return false;
		p++;
	}
	if (*p != ' ')
		return false;
	p++;
	return strspn(p, "0123456789.") == strlen(p) && *p != '\0';
}

START_TEST(test_http_healthz_and_metrics_answer)
{
	struct resp r;
	char *line, *save = NULL;

	/* The digest and the confirmation have gone out by now. */
	for (int i = 0; i < 100; i++) {
		char *n = db_text("SELECT count(*) FROM messages"
				  " WHERE state = 'sent'");
		bool done = strcmp(n, "2") == 0;

		free(n);
		if (done)
			break;
		tu_sleep_ms(50);
	}
	r = get("/healthz");
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body.data, "ok\n");
	resp_fini(&r);
	r = get("/metrics");
	ck_assert_int_eq(r.code, 200);
	assert_has(r.head.data, "Content-Type: text/plain; version=0.0.4");
	assert_has(r.body.data,
	    "familymail_messages{kind=\"blog_digest\",state=\"sent\"} 1\n");
	assert_has(r.body.data,
	    "familymail_messages{kind=\"subscription_"
	    "confirm\",state=\"sent\"} 1\n");
	assert_has(r.body.data, "familymail_queue_oldest_age_seconds 0\n");
	assert_has(
	    r.body.data, "familymail_delivery_latency_seconds_count 2\n");
	assert_has(r.body.data,
	    "familymail_subscribers{status=\"pending\","
	    "frequency=\"weekly\"} 1\n");
	assert_has(r.body.data, "# TYPE familymail_bounces gauge\n");
	assert_has(
	    r.body.data, "familymail_unusable_rows{table=\"courses\"} 0\n");
	for (line = strtok_r(r.body.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		ck_assert_msg(metric_line_ok(line), "bad line: %s", line);
	resp_fini(&r);
	r = get("/nowhere");
	ck_assert_int_eq(r.code, 404);
	assert_has(r.body.data, "Page not found");
	resp_fini(&r);
	r = request("DELETE", "/healthz", NULL, NULL);
	ck_assert_int_eq(r.code, 405);
	resp_fini(&r);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("daemon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(
	    tc, test_http_one_click_post_unsubscribes_at_once_and_again);
	tcase_add_test(tc, test_http_test_links_change_nothing);
	tcase_add_test(
	    tc, test_http_one_click_post_accepts_multipart_and_needs_the_body);
	tcase_add_test(
	    tc, test_http_changes_are_in_the_history_with_their_source);
	tcase_add_test(tc, test_http_get_unsubscribe_asks_and_changes_nothing);
	tcase_add_test(tc, test_http_confirm_activates_a_pending_subscriber);
	tcase_add_test(tc, test_http_confirm_get_and_head_only_ask);
	tcase_add_test(
	    tc, test_http_confirm_after_unsubscribing_keeps_them_out);
	tcase_add_test(
	    tc, test_http_preferences_switch_frequency_and_unsubscribe);
	tcase_add_test(tc, test_http_forged_and_fuzzed_tokens_change_nothing);
	tcase_add_test(tc, test_http_rejects_oversized_requests);
	tcase_add_test(tc, test_http_rate_limits_one_client_not_another);
	tcase_add_test(tc, test_http_healthz_and_metrics_answer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = tu_run(http_suite());
	curl_global_cleanup();
	return rc;
}
