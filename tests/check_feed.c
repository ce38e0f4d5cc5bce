/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_feed: the blog feed parser (RSS 2.0, Atom, broken input), storing
 * posts by URL, and the plain text made from HTML summaries; then
 * familymaild fetching the feed over HTTP from a local server
 * (tests/servers/http_server.py on 127.0.0.1) into the posts table: by
 * URL, once, never emptied by a broken, missing or unreachable feed, and
 * in time for the digest that falls due in the same run.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "feed.h"
#include "htmltext.h"
#include "testutil.h"
#include "textwrap.h"
#include "util.h"

static struct feed *
parse_file(const char *name, int *ret, const char **why)
{
	char *path = xasprintf("%s/tests/data/feed/%s", tu_srcdir(), name);
	size_t len;
	char *data = tu_read_file(path, &len);
	struct feed *f = NULL;

	static char kept[256];
	char *w = NULL;

	ck_assert_ptr_nonnull(data);
	*ret = feed_parse(data, len, &f, &w);
	/* The reason, kept for the test to read. */
	(void)snprintf(kept, sizeof(kept), "%s", w != NULL ? w : "");
	*why = w != NULL ? kept : NULL;
	free(w);
	free(data);
	free(path);
	return f;
}

static const char *
iso(time_t t)
{
	static char out[CLOCK_ISO_LEN];

	clock_format_iso(t, out);
	return out;
}

START_TEST(test_feed_reads_rss_items_with_dates_and_authors)
{
	const char *why = NULL;
	int ret;
	struct feed *f = parse_file("rss.xml", &ret, &why);

	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(f->n, 2);
	ck_assert_uint_eq(f->skipped, 1);
	ck_assert_str_eq(f->items[0].title, "Bedtime without battles");
	ck_assert_str_eq(f->items[0].url, "https://blog.example.org/bedtime");
	ck_assert_str_eq(f->items[0].author, "Ceri Evans");
	ck_assert_ptr_nonnull(strstr(f->items[0].summary, "<em>evenings</em>"));
	ck_assert_str_eq(iso(f->items[0].published), "2026-11-20T10:00:00Z");
	ck_assert_str_eq(f->items[1].title, "Talking about feelings & worries");
	ck_assert_ptr_null(f->items[1].author);
	ck_assert_str_eq(iso(f->items[1].published), "2026-11-17T08:30:00Z");
	feed_free(f);
}
END_TEST

START_TEST(test_feed_reads_atom_entries_preferring_alternate_links)
{
	const char *why = NULL;
	int ret;
	struct feed *f = parse_file("atom.xml", &ret, &why);

	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(f->n, 2);
	ck_assert_str_eq(f->items[0].url, "https://blog.example.org/screens");
	ck_assert_str_eq(f->items[0].author, "Siân Llŷr");
	ck_assert_str_eq(iso(f->items[0].published), "2026-11-21T09:00:00Z");
	ck_assert_str_eq(
	    f->items[0].summary, "<p>Agreeing rules <b>together</b>.</p>");
	ck_assert_str_eq(f->items[1].url, "https://blog.example.org/praise");
	ck_assert_str_eq(iso(f->items[1].published), "2026-11-19T12:00:00Z");
	ck_assert_str_eq(f->items[1].summary, "Describe what you saw.");
	feed_free(f);
}
END_TEST

START_TEST(test_feed_refuses_broken_and_foreign_documents)
{
	const char *why = NULL;
	int ret;

	ck_assert_ptr_null(parse_file("broken.xml", &ret, &why));
	ck_assert_int_lt(ret, 0);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_null(parse_file("notafeed.html", &ret, &why));
	ck_assert_int_lt(ret, 0);
}
END_TEST

START_TEST(test_feed_never_reads_external_entities)
{
	static const char doc[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE rss [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
	    "<rss version=\"2.0\"><channel><item><title>&x;</title>"
	    "<link>https://blog.example.org/x</link>"
	    "<pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate>"
	    "</item></channel></rss>";
	char *why = NULL;
	struct feed *f = NULL;

	if (feed_parse(doc, sizeof(doc) - 1, &f, &why) == 0) {
		for (size_t i = 0; i < f->n; i++)
			ck_assert_ptr_null(strstr(f->items[i].title, "root:"));
		feed_free(f);
	}
	free(why);
}
END_TEST

START_TEST(test_feed_parses_rfc822_dates)
{
	time_t t;

	ck_assert_int_eq(
	    feed_parse_rfc822("Mon, 23 Nov 2026 08:00:00 +0100", &t), 0);
	ck_assert_str_eq(iso(t), "2026-11-23T07:00:00Z");
	ck_assert_int_eq(feed_parse_rfc822("23 Nov 2026 08:00 EST", &t), 0);
	ck_assert_str_eq(iso(t), "2026-11-23T13:00:00Z");
	ck_assert_int_ne(feed_parse_rfc822("Mon, 23 Foo 2026 08:00:00", &t), 0);
	ck_assert_int_ne(feed_parse_rfc822("yesterday", &t), 0);
	/* Signs and numbers too long for an int are no date. */
	ck_assert_int_ne(feed_parse_rfc822("23 Nov 2026 -1:00 GMT", &t), 0);
	ck_assert_int_ne(feed_parse_rfc822("23 Nov 2026 08:-5 GMT", &t), 0);
	ck_assert_int_ne(
	    feed_parse_rfc822("23 Nov 99999999999 08:00 GMT", &t), 0);
}
END_TEST

START_TEST(test_feed_stores_new_posts_once_by_url)
{
	char *dir = tu_mkdtemp();
	sqlite3 *db = tu_db_new(dir);
	const char *why = NULL;
	int ret;
	struct feed *f = parse_file("rss.xml", &ret, &why);

	ck_assert_int_eq(feed_store(db, f), 2);
	ck_assert_int_eq(feed_store(db, f), 0);
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM posts"), 2);
	feed_free(f);
	f = parse_file("atom.xml", &ret, &why);
	ck_assert_int_eq(feed_store(db, f), 2);
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM posts"), 4);
	feed_free(f);
	db_close(db);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static char *
plain(const char *html)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(htmltext_to_plain(html, strlen(html), &b), 0);
	return buf_take(&b);
}

START_TEST(test_htmltext_turns_simple_html_into_readable_text)
{
	char *s;

	s = plain("<p>Five small <em>changes</em>.</p><p>Try one.</p>");
	ck_assert_str_eq(s, "Five small changes.\n\nTry one.");
	free(s);
	s = plain("Plain   text\nstays  plain");
	ck_assert_str_eq(s, "Plain text stays plain");
	free(s);
	s = plain("<ul><li>One</li><li>Two</li></ul>After");
	ck_assert_str_eq(s, "- One\n- Two\n\nAfter");
	free(s);
	s = plain("Line<br>break &amp; <script>alert(1)</script>done");
	ck_assert_str_eq(s, "Line\nbreak & done");
	free(s);
	s = plain("");
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

/* ---------------------------------------------------------------- */
/* The daemon and a feed served over HTTP. */

static char *ddir, *dconf, *ddb, *dlog, *srv_dir, *srv_log;
static int srv_pid, srv_port;

static void
http_start(void)
{
	char *script =
	    xasprintf("%s/tests/servers/http_server.py", tu_srcdir());
	char *root = xasprintf("%s/tests/data/feed", tu_srcdir());
	char *argv[] = { (char *)"/usr/bin/python3", script, (char *)"--root",
		root, NULL };
	char *text, *p;

	/* One server for the test case: Python starts slowly. */
	srv_dir = tu_mkdtemp();
	srv_log = xasprintf("%s/http.log", srv_dir);
	srv_pid = tu_spawn(argv, srv_log);
	srv_port = 0;
	for (int waited = 0; srv_port == 0 && waited < 10000; waited += 20) {
		tu_sleep_ms(20);
		text = tu_read_file(srv_log, NULL);
		p = text != NULL ? strstr(text, "port ") : NULL;
		if (p != NULL && strchr(p, '\n') != NULL)
			srv_port = (int)strtol(p + 5, NULL, 10);
		free(text);
	}
	ck_assert_msg(srv_port > 0, "the HTTP server did not start");
	free(script);
	free(root);
}

static void
http_stop(void)
{
	if (srv_pid > 0) {
		kill(srv_pid, SIGTERM);
		tu_wait(srv_pid, 5000);
		srv_pid = 0;
	}
	tu_rmtree(srv_dir);
	free(srv_dir);
	free(srv_log);
}

/* Writes the config with [feed] url = path on the test server. */
static void
daemon_config(const char *path)
{
	char *sections =
	    xasprintf("[digest]\nweekly = mon 08:00\nmonthly = 1 08:00\n"
		      "\n[feed]\nurl = http://127.0.0.1:%d%s\nevery = 30m\n"
		      "\n[unsubscribe]\n"
		      "url = https://example.org/unsubscribe?token={token}\n"
		      "mailto = unsubscribe@example.org\n"
		      "secret_file = token-secret\n",
		srv_port, path);
	struct tu_config c = { .reply_to = "", .sections = sections };

	free(dconf);
	dconf = tu_write_config(ddir, "familymail.conf", &c);
	free(sections);
}

static void
daemon_setup(void)
{
	char *secret;
	sqlite3 *db;

	ddir = tu_mkdtemp();
	dconf = NULL;
	ddb = xasprintf("%s/familymail.db", ddir);
	dlog = xasprintf("%s/daemon.log", ddir);
	secret = tu_write_file(ddir, "token-secret",
	    "rR9d5Zk72bOQIPaYBpW+DfvcaHwirrJfFlvNxfg6Eu8=");
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	db = tu_db_new(ddir);
	db_close(db);
}

static void
daemon_teardown(void)
{
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(ddir);
	free(ddir);
	free(dconf);
	free(ddb);
	free(dlog);
}

/* Runs familymaild --once at now on the feed at path; returns the part
 * of the daemon's log this run wrote. */
static char *
daemon_once(const char *path, const char *now)
{
	char *daemon_path = xasprintf("%s/src/familymaild", tu_builddir());
	char *argv[] = { daemon_path, (char *)"-c", NULL, (char *)"--once",
		(char *)"--now", (char *)now, NULL };
	char *log;

	daemon_config(path);
	argv[2] = dconf;
	unlink(dlog);
	ck_assert_int_eq(tu_run_cmd(argv, dlog, 30000), 0);
	free(daemon_path);
	log = tu_read_file(dlog, NULL);
	ck_assert_ptr_nonnull(log);
	return log;
}

static char *
posts(void)
{
	sqlite3 *db;
	char *s;

	ck_assert_int_eq(db_open(ddb, false, &db), 0);
	s = tu_sql_text(db,
	    "SELECT group_concat(url || ' ' || published_at ||"
	    " ' ' || title, char(10)) FROM (SELECT * FROM posts"
	    " ORDER BY url)");
	db_close(db);
	return s;
}

#define POSTS_RSS                                                         \
	"https://blog.example.org/bedtime 2026-11-20T10:00:00Z Bedtime "  \
	"without battles\n"                                               \
	"https://blog.example.org/feelings 2026-11-17T08:30:00Z Talking " \
	"about feelings & worries"

START_TEST(test_feed_daemon_inserts_posts_by_url_once)
{
	char *log, *s;

	log = daemon_once("/rss.xml", "2026-11-22T12:00:00Z");
	ck_assert_msg(strstr(log, "new_posts=2") != NULL, "%s", log);
	free(log);
	s = posts();
	ck_assert_str_eq(s, POSTS_RSS);
	free(s);
	/* The poll, for familymail status: when, what, the next one. */
	s = tu_db_text(ddb,
	    "SELECT substr(last_run_at, 1, 16) || ' ' ||"
	    " substr(next_run_at, 1, 16) || ' ' || detail"
	    " FROM job_runs WHERE job = 'feed'");
	/* To the minute: --now's clock runs on from its start. */
	ck_assert_str_eq(s, "2026-11-22T12:00 2026-11-22T12:30 2 new posts");
	free(s);
	/* The same feed again: nothing new, nothing doubled. */
	log = daemon_once("/rss.xml", "2026-11-22T12:30:00Z");
	ck_assert_msg(strstr(log, "new_posts=0") != NULL, "%s", log);
	free(log);
	s = posts();
	ck_assert_str_eq(s, POSTS_RSS);
	free(s);
	/* A new post; one already stored is left as it was. */
	log = daemon_once("/rss-next.xml", "2026-11-22T19:00:00Z");
	ck_assert_msg(strstr(log, "new_posts=1") != NULL, "%s", log);
	free(log);
	s = posts();
	ck_assert_str_eq(s,
	    POSTS_RSS "\nhttps://blog.example.org/half-term "
		      "2026-11-22T18:00:00Z Half-term ideas");
	free(s);
	/* Atom too. */
	log = daemon_once("/atom.xml", "2026-11-22T19:30:00Z");
	ck_assert_msg(strstr(log, "new_posts=2") != NULL, "%s", log);
	free(log);
	s = posts();
	ck_assert_ptr_nonnull(strstr(s,
	    "https://blog.example.org/praise 2026-11-19T12:00:00Z Praise "
	    "that works"));
	ck_assert_ptr_nonnull(strstr(s,
	    "https://blog.example.org/screens 2026-11-21T09:00:00Z Screen "
	    "time: a calmer conversation"));
	free(s);
	log = tu_read_file(srv_log, NULL);
	ck_assert_msg(
	    strstr(log, "\"GET /rss.xml HTTP/1.1\" 200") != NULL, "%s", log);
	free(log);
}
END_TEST

/* A port on 127.0.0.1 that was free a moment ago and has no listener. */
static int
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

START_TEST(test_feed_daemon_keeps_posts_when_the_feed_fails)
{
	char *log, *s;
	int port;

	free(daemon_once("/rss.xml", "2026-11-22T12:00:00Z"));
	/* Not XML. */
	log = daemon_once("/broken.xml", "2026-11-22T12:30:00Z");
	ck_assert_msg(strstr(log, "feed rejected") != NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "/broken.xml"));
	free(log);
	s = posts();
	ck_assert_str_eq(s, POSTS_RSS);
	free(s);
	/* Missing. */
	log = daemon_once("/gone.xml", "2026-11-22T13:00:00Z");
	ck_assert_msg(strstr(log, "feed fetch failed") != NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "status=404"));
	free(log);
	s = posts();
	ck_assert_str_eq(s, POSTS_RSS);
	free(s);
	/* A failed poll is a run too, for status, with why it failed. */
	s = tu_db_text(ddb,
	    "SELECT substr(last_run_at, 1, 16) || ' ' || detail FROM job_runs"
	    " WHERE job = 'feed'");
	ck_assert_str_eq(s, "2026-11-22T13:00 failed: HTTP status 404");
	free(s);
	/* Unreachable: a port nobody listens on. */
	port = srv_port;
	srv_port = closed_port();
	log = daemon_once("/rss.xml", "2026-11-22T13:30:00Z");
	srv_port = port;
	ck_assert_msg(strstr(log, "feed fetch failed") != NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "127.0.0.1"));
	free(log);
	s = posts();
	ck_assert_str_eq(s, POSTS_RSS);
	free(s);
}
END_TEST

/* Run by cron at 08:30 on a Monday, the daemon fetches the feed and
 * sends the weekly digest in the same run: the posts published before
 * 08:00 are in it, even though they were not in the table yet. */
START_TEST(test_feed_daemon_fetches_before_the_digest_due_now)
{
	char *log, *s;
	sqlite3 *db;

	ck_assert_int_eq(db_open(ddb, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO subscribers (id, email, name, frequency,"
	    " created_at) VALUES (1, 'ann@example.org', 'Ann', 'weekly',"
	    " '2026-11-01T00:00:00Z');");
	db_close(db);
	log = daemon_once("/rss.xml", "2026-11-23T08:30:00Z");
	free(log);
	ck_assert_int_eq(db_open(ddb, false, &db), 0);
	s = tu_sql_text(db,
	    "SELECT period || ' ' || state || ' ' || "
	    "post_count FROM digests WHERE frequency = "
	    "'weekly'");
	ck_assert_str_eq(s, "2026-W48 enqueued 2");
	free(s);
	s = tu_sql_text(db, "SELECT dedupe_key || ' ' || state FROM messages");
	ck_assert_str_eq(s, "digest:weekly:2026-W48:subscriber:1 sent");
	free(s);
	db_close(db);
}
END_TEST

/* The summary a digest shows for item i of a feed file, at most max
 * characters (0: whole), as compose.c makes it. */
static char *
summary_of(const struct feed *f, size_t i, size_t max)
{
	struct buf text, cut;
	const char *html = f->items[i].summary;

	buf_init(&text);
	buf_init(&cut);
	ck_assert_ptr_nonnull(html);
	ck_assert_int_eq(
	    htmltext_summary(html, strlen(html), f->items[i].url, &text), 0);
	textwrap_cut(text.data != NULL ? text.data : "", max, &cut);
	buf_fini(&text);
	return cut.data != NULL ? buf_take(&cut) : xstrdup("");
}

static struct feed *
platform_feed(const char *name, size_t n)
{
	const char *why = NULL;
	struct feed *f;
	int ret;

	f = parse_file(name, &ret, &why);
	ck_assert_msg(ret == 0, "%s: %s", name, why != NULL ? why : "");
	ck_assert_uint_eq(f->n, n);
	return f;
}

START_TEST(test_feed_wordpress_summary_loses_read_more_and_the_post_footer)
{
	struct feed *f = platform_feed("wordpress.xml", 2);
	char *s = summary_of(f, 0, 0);

	ck_assert_str_eq(f->items[0].author, "Rhian Evans");
	/* The description, not content:encoded (the whole post). */
	ck_assert_str_eq(s,
	    "Mornings go wrong in the same few places: shoes, breakfast and "
	    "the last five minutes.\n\nLaying out clothes the night before "
	    "takes one decision away from a tired child.");
	ck_assert_ptr_null(strstr(s, "Read More"));
	ck_assert_ptr_null(strstr(s, "appeared first on"));
	free(s);
	/* "[…]" after an excerpt becomes an ellipsis. */
	s = summary_of(f, 1, 0);
	ck_assert_str_eq(
	    s + strlen(s) - strlen("grow\xe2\x80\xa6"), "grow\xe2\x80\xa6");
	ck_assert_ptr_null(strstr(s, "["));
	free(s);
	/* Cut to a length: at the end of the last sentence that fits. */
	s = summary_of(f, 1, 140);
	ck_assert_str_eq(s,
	    "Agreeing the rules together, before the tablet comes out, saves "
	    "most of the arguments. Children keep rules they helped to make.");
	free(s);
	/* Else at a word, with an ellipsis. */
	s = summary_of(f, 1, 40);
	ck_assert_str_eq(
	    s, "Agreeing the rules together, before the\xe2\x80\xa6");
	free(s);
	feed_free(f);
}
END_TEST

START_TEST(test_feed_ghost_summary_is_the_description_without_players)
{
	struct feed *f = platform_feed("ghost.xml", 1);
	char *s = summary_of(f, 0, 0), *body;
	struct buf b;

	ck_assert_str_eq(f->items[0].author, "Megan Price");
	ck_assert_str_eq(s,
	    "Five games that need nothing but a table, some paper and a "
	    "little patience.");
	free(s);
	/* content:encoded alone would lose its player, caption, script. */
	buf_init(&b);
	body = xstrdup("<p>Before.</p><figure class=\"kg-card\"><iframe "
		       "src=\"https://www.youtube.com/embed/xyz\">Your browser"
		       "</iframe><figcaption>Watch how to play</figcaption>"
		       "</figure><script>window.x = 1;</script><p>After.</p>");
	ck_assert_int_eq(htmltext_summary(body, strlen(body), NULL, &b), 0);
	ck_assert_str_eq(b.data, "Before.\n\nAfter.");
	buf_fini(&b);
	free(body);
	feed_free(f);
}
END_TEST

START_TEST(test_feed_blogger_author_is_the_name_not_the_address)
{
	struct feed *f = platform_feed("blogger.xml", 2);
	char *s = summary_of(f, 0, 0);

	ck_assert_str_eq(f->items[0].author, "William Kennedy");
	/* An address alone names nobody a reader should see. */
	ck_assert_ptr_null(f->items[1].author);
	ck_assert_str_eq(s,
	    "Seven nights, seven stories.\n\nBy Thursday they were asking "
	    "for the next chapter before tea.");
	free(s);
	feed_free(f);
}
END_TEST

START_TEST(test_feed_substack_prefers_the_subtitle_to_the_whole_post)
{
	struct feed *f = platform_feed("substack.xml", 1);
	char *s = summary_of(f, 0, 0);
	struct buf b;
	const char *post =
	    "<p>Silence.</p><p class=\"button-wrapper\"><a class=\"button "
	    "primary\" href=\"https://teenyears.substack.com/subscribe?\">"
	    "<span>Subscribe now</span></a></p><p>Open door.</p>";

	ck_assert_str_eq(f->items[0].author, "Sioned Morgan");
	ck_assert_str_eq(s,
	    "Silence at fourteen is normal. Here is how to keep the door "
	    "open.");
	free(s);
	buf_init(&b);
	ck_assert_int_eq(htmltext_summary(post, strlen(post), NULL, &b), 0);
	ck_assert_str_eq(b.data, "Silence.\n\nOpen door.");
	buf_fini(&b);
	feed_free(f);
}
END_TEST

START_TEST(test_feed_medium_snippet_loses_continue_reading)
{
	struct feed *f = platform_feed("medium.xml", 1);
	char *s = summary_of(f, 0, 0);

	ck_assert_str_eq(f->items[0].author, "Owen Lloyd");
	ck_assert_str_eq(s,
	    "Two homes can still be one family, if the adults agree on the "
	    "few things that matter.");
	free(s);
	feed_free(f);
}
END_TEST

START_TEST(test_feed_rss_author_forms)
{
	static const char doc[] =
	    "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
	    "<channel><title>t</title>"
	    "<item><title>a</title><link>https://b.example/a</link>"
	    "<pubDate>Mon, 16 Nov 2026 08:00:00 +0000</pubDate>"
	    "<author>Ann Jones &lt;ann@example.org&gt;</author></item>"
	    "<item><title>b</title><link>https://b.example/b</link>"
	    "<pubDate>Mon, 16 Nov 2026 08:00:00 +0000</pubDate>"
	    "<author>ann@example.org (Ann Jones)</author>"
	    "<dc:creator>Ann J.</dc:creator></item>"
	    "<item><title>c</title><link>https://b.example/c</link>"
	    "<pubDate>Mon, 16 Nov 2026 08:00:00 +0000</pubDate>"
	    "<author>Ann Jones</author></item>"
	    "</channel></rss>";
	char *why = NULL;
	struct feed *f = NULL;

	ck_assert_int_eq(feed_parse(doc, strlen(doc), &f, &why), 0);
	ck_assert_uint_eq(f->n, 3);
	ck_assert_str_eq(f->items[0].author, "Ann Jones");
	ck_assert_str_eq(f->items[1].author, "Ann J."); /* dc:creator wins */
	ck_assert_str_eq(f->items[2].author, "Ann Jones");
	feed_free(f);
}
END_TEST

START_TEST(test_htmltext_keeps_paragraphs_of_plain_text)
{
	const char *plain = "First paragraph,\nwrapped.\n\nSecond one.\n";
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(htmltext_to_plain(plain, strlen(plain), &b), 0);
	ck_assert_str_eq(b.data, "First paragraph, wrapped.\n\nSecond one.");
	buf_fini(&b);
}
END_TEST

/* A feed whose links would run script in a reader's mail client: the
 * posts are refused and logged, the digest carries the good one only. */
START_TEST(test_feed_daemon_refuses_script_and_data_links)
{
	char *log, *s;
	sqlite3 *db;

	ck_assert_int_eq(db_open(ddb, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO subscribers (id, email, name, frequency,"
	    " created_at) VALUES (1, 'ann@example.org', 'Ann', 'weekly',"
	    " '2026-11-01T00:00:00Z');");
	db_close(db);
	log = daemon_once("/atom-hostile.xml", "2026-11-23T08:30:00Z");
	ck_assert_msg(strstr(log, "new_posts=1") != NULL, "%s", log);
	ck_assert_msg(
	    strstr(log, "feed item refused link=\"javascript:") != NULL, "%s",
	    log);
	ck_assert_ptr_nonnull(strstr(log, "feed item refused link=\"data:"));
	ck_assert_ptr_nonnull(
	    strstr(log, "feed item refused link=\"\\tJavaScript:"));
	free(log);
	s = posts();
	ck_assert_str_eq(s,
	    "https://blog.example.org/screens 2026-11-21T09:00:00Z Screen "
	    "time: a calmer conversation");
	free(s);
	ck_assert_int_eq(db_open(ddb, false, &db), 0);
	s = tu_sql_text(db,
	    "SELECT period || ' ' || state || ' ' || post_count"
	    " FROM digests WHERE frequency = 'weekly'");
	ck_assert_str_eq(s, "2026-W48 enqueued 1");
	free(s);
	db_close(db);
}
END_TEST

static Suite *
feed_suite(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("feed");

	tcase_add_test(tc, test_feed_reads_rss_items_with_dates_and_authors);
	tcase_add_test(
	    tc, test_feed_reads_atom_entries_preferring_alternate_links);
	tcase_add_test(tc, test_feed_refuses_broken_and_foreign_documents);
	tcase_add_test(tc, test_feed_never_reads_external_entities);
	tcase_add_test(tc, test_feed_parses_rfc822_dates);
	tcase_add_test(tc, test_feed_stores_new_posts_once_by_url);
	tcase_add_test(tc, test_htmltext_turns_simple_html_into_readable_text);
	tcase_add_test(tc,
	    test_feed_wordpress_summary_loses_read_more_and_the_post_footer);
	tcase_add_test(
	    tc, test_feed_ghost_summary_is_the_description_without_players);
	tcase_add_test(
	    tc, test_feed_blogger_author_is_the_name_not_the_address);
	tcase_add_test(
	    tc, test_feed_substack_prefers_the_subtitle_to_the_whole_post);
	tcase_add_test(tc, test_feed_medium_snippet_loses_continue_reading);
	tcase_add_test(tc, test_feed_rss_author_forms);
	tcase_add_test(tc, test_htmltext_keeps_paragraphs_of_plain_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_add_unchecked_fixture(tc, http_start, http_stop);
	tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_feed_daemon_inserts_posts_by_url_once);
	tcase_add_test(tc, test_feed_daemon_keeps_posts_when_the_feed_fails);
	tcase_add_test(tc, test_feed_daemon_fetches_before_the_digest_due_now);
	tcase_add_test(tc, test_feed_daemon_refuses_script_and_data_links);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(feed_suite());
}
