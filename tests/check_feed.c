/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_feed: the blog feed parser (RSS 2.0, Atom, broken input), storing
 * posts by URL, and the plain text made from HTML summaries.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sqlite3.h>

#include "clock.h"
#include "db.h"
#include "feed.h"
#include "htmltext.h"
#include "testutil.h"
#include "util.h"

static struct feed *
parse_file(const char *name, int *ret, const char **why)
{
	char *path = xasprintf("%s/tests/data/feed/%s", tu_srcdir(), name);
	size_t len;
	char *data = tu_read_file(path, &len);
	struct feed *f = NULL;

	ck_assert_ptr_nonnull(data);
	*ret = feed_parse(data, len, &f, why);
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
	ck_assert_str_eq(f->items[0].summary,
	    "<p>Agreeing rules <b>together</b>.</p>");
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
	const char *why = NULL;
	struct feed *f = NULL;

	if (feed_parse(doc, sizeof(doc) - 1, &f, &why) == 0) {
		for (size_t i = 0; i < f->n; i++)
			ck_assert_ptr_null(strstr(f->items[i].title, "root:"));
		feed_free(f);
	}
}
END_TEST

START_TEST(test_feed_parses_rfc822_dates)
{
	time_t t;

	ck_assert_int_eq(feed_parse_rfc822("Mon, 23 Nov 2026 08:00:00 +0100",
			     &t),
	    0);
	ck_assert_str_eq(iso(t), "2026-11-23T07:00:00Z");
	ck_assert_int_eq(feed_parse_rfc822("23 Nov 2026 08:00 EST", &t), 0);
	ck_assert_str_eq(iso(t), "2026-11-23T13:00:00Z");
	ck_assert_int_ne(feed_parse_rfc822("Mon, 23 Foo 2026 08:00:00", &t),
	    0);
	ck_assert_int_ne(feed_parse_rfc822("yesterday", &t), 0);
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

static Suite *
feed_suite(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("feed");

	tcase_add_test(tc, test_feed_reads_rss_items_with_dates_and_authors);
	tcase_add_test(tc, test_feed_reads_atom_entries_preferring_alternate_links);
	tcase_add_test(tc, test_feed_refuses_broken_and_foreign_documents);
	tcase_add_test(tc, test_feed_never_reads_external_entities);
	tcase_add_test(tc, test_feed_parses_rfc822_dates);
	tcase_add_test(tc, test_feed_stores_new_posts_once_by_url);
	tcase_add_test(tc, test_htmltext_turns_simple_html_into_readable_text);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(feed_suite());
}
