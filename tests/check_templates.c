/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_templates: the default messages in templates/, read as the
 * delegates and subscribers who get them would read them. Each kind is
 * rendered from the real folder with a context shaped as compose.c
 * builds it, and the tests look at what a reader sees: the subject, the
 * course and booking details in both parts, joining links for online
 * courses, unsubscribe links only where they belong, the posts of a
 * digest in order, HTML that parses and loads nothing from elsewhere,
 * and hostile values shown as text. The last group runs
 * `familymail preview` on a database, the same path the daemon takes.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "lang.h"
#include "testutil.h"
#include "textwrap.h"
#include "tmpl/tmpl.h"
#include "util.h"

static const char *const booking_kinds[] = {
	"booking_confirmation",
	"booking_cancelled",
	"course_cancelled",
	"course_reminder",
	"course_changed",
};
#define N_BOOKING_KINDS 5
#define N_KINDS         7
static const char *const subscriber_kinds[] = {
	"blog_digest",
	"subscription_confirm",
};

#define TITLE   "Nurturing Programme Facilitator Training"
#define ADDRESS "Temple of Peace, Cathays Park, Cardiff CF10 3AP"
#define JOIN    "https://meet.example.org/refresher?pwd=a1&room=7"
#define GCAL    "https://calendar.google.com/calendar/render?action=TEMPLATE&x=1"
#define OUTLOOK "https://outlook.live.com/calendar/0/deeplink/compose?x=1"
#define UNSUB   "https://example.org/unsubscribe?token=u-tok"
#define PREFS   "https://example.org/preferences?token=p-tok"
#define CONFIRM "https://example.org/confirm?token=c-tok"
#define SCRIPT  "<script>alert(1)</script>"
#define IMGX    "\"><img src=x onerror=alert(1)>"

static struct tmpl_set *set;

static void
set_setup(void)
{
	struct tmpl_error err;
	char *path = xasprintf("%s/templates", tu_srcdir());
	char msg[600];

	set = tmpl_set_load(path, &err);
	ck_assert_msg(
	    set != NULL, "%s", tmpl_error_format(&err, msg, sizeof(msg)));
	free(path);
}

static void
set_teardown(void)
{
	tmpl_set_free(set);
	set = NULL;
}

/* ------------------------------------------------------------ contexts */

static json_t *
sender(void)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "name", "Family Courses", "email",
	    "courses@example.org", "reply_to", "bookings@example.org",
	    "reply_email", "bookings@example.org");
}

/* What compose.c adds to every context: the message's language and the
 * organisation ([organisation] in the config). */
static json_t *
shaped(json_t *ctx)
{
	json_t *posts = json_object_get(ctx, "posts"), *post;
	const char *summary;
	size_t i;

	json_object_set_new(
	    ctx, "message", json_pack("{s:s}", "language", "en"));
	json_object_set_new(ctx, "organisation",
	    json_pack("{s:s,s:s,s:s}", "name", "Family Courses", "address",
		"1 Example Street, Cardiff CF10 1AA", "charity_number",
		"1234567"));
	json_array_foreach(posts, i, post)
	{
		summary = json_string_value(json_object_get(post, "summary"));
		json_object_set_new(post, "paragraphs",
		    summary != NULL && summary[0] != '\0'
			? json_pack("[s]", summary)
			: json_array());
	}
	return ctx;
}

/* Sets PREFIX, PREFIX_date, PREFIX_time and PREFIX_short as compose.c's
 * compose_set_time() does. */
static void
set_time(json_t *obj, const char *prefix, const char *date, const char *time,
    const char *shortd)
{
	char key[32];
	char *full = xasprintf("%s, %s", date, time);

	json_object_set_new(obj, prefix, json_string(full));
	(void)snprintf(key, sizeof(key), "%s_date", prefix);
	json_object_set_new(obj, key, json_string(date));
	(void)snprintf(key, sizeof(key), "%s_time", prefix);
	json_object_set_new(obj, key, json_string(time));
	(void)snprintf(key, sizeof(key), "%s_short", prefix);
	json_object_set_new(obj, key, json_string(shortd));
	(void)snprintf(key, sizeof(key), "%s_weekday", prefix);
	json_object_set_new(
	    obj, key, json_stringn(date, (size_t)(strchr(date, ' ') - date)));
	(void)snprintf(key, sizeof(key), "%s_day", prefix);
	json_object_set_new(obj, key, json_string(strchr(date, ' ') + 1));
	free(full);
}

/* A booking on a one-day course in Cardiff, or (online) on an online
 * course with no end time. The online course keeps an old address, as a
 * course moved online might: the messages must not show it. */
static json_t *
booking_ctx(bool online)
{
	json_t *ctx, *course;

	if (online) {
		course = json_pack("{s:s,s:s,s:b,s:s,s:s,s:n,s:s,s:b}", "title",
		    "Online Refresher", "venue", "Online", "online", 1,
		    "address", "Room 4, Old Building", "joining_url", JOIN,
		    "notes", "status", "scheduled", "same_day", 0);
		set_time(course, "starts", "Thursday 10 December 2026", "13:00",
		    "10 Dec");
	} else {
		course = json_pack("{s:s,s:s,s:b,s:s,s:n,s:s,s:s,s:b}", "title",
		    TITLE, "venue", "Cardiff", "online", 0, "address", ADDRESS,
		    "joining_url", "notes",
		    "Bring the course handbook.\nLunch is provided.", "status",
		    "scheduled", "same_day", 1);
		set_time(course, "starts", "Thursday 3 December 2026", "09:30",
		    "3 Dec");
		set_time(course, "ends", "Thursday 3 December 2026", "16:30",
		    "3 Dec");
	}
	ctx = json_pack("{s:o,s:{s:s,s:s,s:s,s:s},s:o,s:{s:s,s:s},s:{s:s,s:s}}",
	    "sender", sender(), "delegate", "first_name", "Sarah", "last_name",
	    "Jones", "email", "sarah.jones@example.org", "organisation",
	    "Cardiff Family Centre", "course", course, "booking", "reference",
	    "FC-1001", "status", "confirmed", "calendar", "google_url", GCAL,
	    "outlook_url", OUTLOOK);
	ck_assert_ptr_nonnull(ctx);
	return shaped(ctx);
}

/* A change notice as compose.c builds it: the course as booking_ctx()
 * has it now; before, the in-person course was a day earlier at 10:00
 * in Swansea (time and place changed), the online one had another
 * link (link changed). */
static json_t *
change_ctx(bool online)
{
	json_t *ctx = booking_ctx(online), *prev;

	if (online) {
		prev = json_pack("{s:s,s:b,s:s,s:b}", "venue", "Online",
		    "online", 1, "joining_url", "https://meet.example.org/old",
		    "same_day", 0);
		set_time(prev, "starts", "Thursday 10 December 2026", "13:00",
		    "10 Dec");
		json_object_set_new(ctx, "changed",
		    json_pack(
			"{s:b,s:b,s:b}", "time", 0, "place", 0, "link", 1));
	} else {
		prev = json_pack("{s:s,s:b,s:s,s:b}", "venue", "Swansea",
		    "online", 0, "address", "Swansea Guildhall, SA1 4PE",
		    "same_day", 1);
		set_time(prev, "starts", "Wednesday 2 December 2026", "10:00",
		    "2 Dec");
		set_time(prev, "ends", "Wednesday 2 December 2026", "17:00",
		    "2 Dec");
		json_object_set_new(ctx, "changed",
		    json_pack(
			"{s:b,s:b,s:b}", "time", 1, "place", 1, "link", 0));
	}
	json_object_set_new(ctx, "previous", prev);
	return ctx;
}

static json_t *
reminder_ctx(bool online, const char *offset, const char *when)
{
	json_t *ctx = booking_ctx(online);

	json_object_set_new(ctx, "reminder",
	    json_pack("{s:s,s:s}", "offset", offset, "when", when));
	return ctx;
}

/* Three posts, newest first, as compose_posts() lists them. */
static json_t *
digest_ctx(void)
{
	json_t *ctx;

	ctx = json_pack("{s:o,s:{s:s,s:s,s:s,s:s},s:s,s:s,s:i,s:b,s:["
			"{s:s,s:s,s:s,s:s,s:s},"
			"{s:s,s:s,s:n,s:s,s:s},"
			"{s:s,s:s,s:s,s:s,s:s}]}",
	    "sender", sender(), "subscriber", "name", "Anna Price", "email",
	    "anna@example.org", "frequency", "weekly", "period", "week",
	    "unsubscribe_url", UNSUB, "preferences_url", PREFS, "post_count", 3,
	    "post_count_plural", 1, "posts",
	    /* newest */
	    "title", "Talking with toddlers about big feelings", "url",
	    "https://blog.example.org/big-feelings", "author", "Rhian Evans",
	    "summary",
	    "Tantrums are how small children tell us a feeling is "
	    "too big.",
	    "published", "Friday 20 November 2026",
	    /* no author */
	    "title", "Bedtime routines for the whole family", "url",
	    "https://blog.example.org/bedtime", "author", "summary",
	    "A predictable evening helps everyone.", "published",
	    "Wednesday 18 November 2026",
	    /* oldest, no summary */
	    "title", "Meet our new facilitators in Newport", "url",
	    "https://blog.example.org/newport", "author", "Family Courses team",
	    "summary", "", "published", "Monday 16 November 2026");
	ck_assert_ptr_nonnull(ctx);
	json_object_set_new(
	    json_object_get(ctx, "subscriber"), "weekly", json_true());
	json_object_set_new(
	    ctx, "post_count_form", json_pack("{s:b}", "other", 1));
	return shaped(ctx);
}

static json_t *
confirm_ctx(void)
{
	json_t *ctx;

	ctx = json_pack("{s:o,s:{s:n,s:s,s:s,s:s},s:s,s:s,s:s}", "sender",
	    sender(), "subscriber", "name", "email", "new.reader@example.org",
	    "frequency", "monthly", "period", "month", "unsubscribe_url", UNSUB,
	    "preferences_url", PREFS, "confirm_url", CONFIRM);
	ck_assert_ptr_nonnull(ctx);
	json_object_set_new(
	    json_object_get(ctx, "subscriber"), "monthly", json_true());
	return shaped(ctx);
}

static json_t *
ctx_for(const char *kind, bool online)
{
	if (strcmp(kind, "course_reminder") == 0)
		return reminder_ctx(online, "1d", "tomorrow");
	if (strcmp(kind, "blog_digest") == 0)
		return digest_ctx();
	if (strcmp(kind, "subscription_confirm") == 0)
		return confirm_ctx();
	if (strcmp(kind, "course_changed") == 0)
		return change_ctx(online);
	return booking_ctx(online);
}

/* Renders part of kind; the caller frees the result. */
static char *
render(const char *kind, const char *part, const json_t *ctx)
{
	struct buf out;
	int ret;

	buf_init(&out);
	ret = tmpl_set_render(set, kind, part, ctx, &out);
	ck_assert_msg(ret == 0, "%s/%s: %d", kind, part, ret);
	buf_putc(&out, '\0');
	return buf_take(&out);
}

/* ------------------------------------------------------------ HTML */

/* What the HTML of a message shows and does, from libxml2's parse. */
struct page {
	htmlDocPtr doc;
	char *text;          /* the text content of <body> */
	struct buf hrefs;    /* every href, one a line */
	struct buf problems; /* what should not be there, one a line */
	int imgs;
};

static void
page_problem(struct page *p, const char *what, const xmlChar *detail)
{
	buf_puts(&p->problems, what);
	if (detail != NULL) {
		buf_puts(&p->problems, ": ");
		buf_puts(&p->problems, (const char *)detail);
	}
	buf_putc(&p->problems, '\n');
}

static bool
page_is_remote(const xmlChar *v)
{
	const char *s = (const char *)v;

	while (isspace((unsigned char)*s))
		s++;
	return strncasecmp(s, "http:", 5) == 0 ||
	    strncasecmp(s, "https:", 6) == 0 || strncmp(s, "//", 2) == 0;
}

static void
page_walk(struct page *p, xmlNode *n)
{
	static const char *const banned[] = { "script", "link", "style",
		"iframe", "object", "embed", "base", "form", "frame", "video",
		"audio", "source" };

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (size_t i = 0; i < UTIL_ARRAY_LEN(banned); i++)
			if (strcasecmp((const char *)n->name, banned[i]) == 0)
				page_problem(p, "element", n->name);
		if (strcasecmp((const char *)n->name, "img") == 0) {
			p->imgs++;
			if (!xmlHasProp(n, BAD_CAST "alt"))
				page_problem(p, "img without alt", NULL);
		}
		if (strcasecmp((const char *)n->name, "table") == 0) {
			xmlChar *role = xmlGetProp(n, BAD_CAST "role");

			if (role == NULL ||
			    strcmp((const char *)role, "presentation") != 0)
				page_problem(p,
				    "layout table without "
				    "role=presentation",
				    role);
			xmlFree(role);
		}
		for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
			xmlChar *v =
			    xmlNodeListGetString(p->doc, a->children, 1);
			const char *name = (const char *)a->name;

			if (v == NULL)
				continue;
			if (strncasecmp(name, "on", 2) == 0)
				page_problem(p, "event handler", a->name);
			if ((strcasecmp(name, "src") == 0 ||
				strcasecmp(name, "background") == 0 ||
				strcasecmp(name, "srcset") == 0) &&
			    page_is_remote(v))
				page_problem(p, "remote resource", v);
			if (strcasecmp(name, "style") == 0 &&
			    (strcasestr((const char *)v, "url(") != NULL ||
				strcasestr((const char *)v, "@import") != NULL))
				page_problem(p, "style loads a resource", v);
			if (strcasecmp(name, "href") == 0) {
				buf_puts(&p->hrefs, (const char *)v);
				buf_putc(&p->hrefs, '\n');
			}
			xmlFree(v);
		}
		page_walk(p, n->children);
	}
}

/* Parses html and audits it; fails the test if it does not parse as a
 * well-formed HTML document with lang, a title and a body. */
static void
page_open(struct page *p, const char *html, const char *what)
{
	htmlParserCtxtPtr ctxt;
	xmlNode *root, *body = NULL;
	xmlChar *lang, *s;

	memset(p, 0, sizeof(*p));
	buf_init(&p->hrefs);
	buf_init(&p->problems);
	ctxt = htmlNewParserCtxt();
	ck_assert_ptr_nonnull(ctxt);
	p->doc = htmlCtxtReadMemory(ctxt, html, (int)strlen(html),
	    "message.html", "UTF-8",
	    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
	ck_assert_msg(p->doc != NULL, "%s: HTML does not parse", what);
	ck_assert_msg(
	    ctxt->wellFormed, "%s: HTML has errors (%d)", what, ctxt->errNo);
	htmlFreeParserCtxt(ctxt);
	root = xmlDocGetRootElement(p->doc);
	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq((const char *)root->name, "html");
	lang = xmlGetProp(root, BAD_CAST "lang");
	ck_assert_msg(lang != NULL &&
		(strncmp((char *)lang, "en", 2) == 0 ||
		    strncmp((char *)lang, "cy", 2) == 0),
	    "%s: no lang on <html>", what);
	xmlFree(lang);
	for (xmlNode *n = root->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "body") == 0)
			body = n;
	ck_assert_msg(body != NULL, "%s: no <body>", what);
	s = xmlNodeGetContent(body);
	p->text = xstrdup((const char *)s);
	xmlFree(s);
	page_walk(p, root);
	buf_putc(&p->hrefs, '\0');
	buf_putc(&p->problems, '\0');
	ck_assert_msg(p->problems.len == 1, "%s:\n%s", what, p->problems.data);
}

static void
page_close(struct page *p)
{
	xmlFreeDoc(p->doc);
	free(p->text);
	buf_fini(&p->hrefs);
	buf_fini(&p->problems);
}

/* Whether url is one of the page's links. */
static bool
page_links_to(const struct page *p, const char *url)
{
	size_t n = strlen(url);

	for (const char *s = p->hrefs.data; s != NULL && *s != '\0';) {
		const char *nl = strchr(s, '\n');

		if ((size_t)(nl - s) == n && memcmp(s, url, n) == 0)
			return true;
		s = nl + 1;
	}
	return false;
}

#define ck_has(hay, needle)                            \
	ck_assert_msg(strstr((hay), (needle)) != NULL, \
	    "'%s' missing from:\n%s", (needle), (hay))
#define ck_lacks(hay, needle)                          \
	ck_assert_msg(strstr((hay), (needle)) == NULL, \
	    "'%s' should not be in:\n%s", (needle), (hay))

/* Asserts that the needles appear in hay in this order. */
static void
ck_in_order(const char *hay, const char *const *needles, size_t n)
{
	const char *at = hay;

	for (size_t i = 0; i < n; i++) {
		const char *next = strstr(at, needles[i]);

		ck_assert_msg(next != NULL,
		    "'%s' missing or out of order in:\n%s", needles[i], hay);
		at = next + strlen(needles[i]);
	}
}

/* ------------------------------------------------------------ tests */

START_TEST(test_templates_have_every_kind_with_three_parts)
{
	json_t *ctx;
	char *s;

	ck_assert_uint_eq(tmpl_set_count(set), N_KINDS);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(booking_kinds); i++)
		ck_assert(tmpl_set_has(set, booking_kinds[i]));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(subscriber_kinds); i++)
		ck_assert(tmpl_set_has(set, subscriber_kinds[i]));
	for (size_t i = 0; i < tmpl_set_count(set); i++) {
		const char *kind = tmpl_set_kind(set, i);

		ctx = ctx_for(kind, false);
		s = render(kind, "subject", ctx);
		ck_assert_msg(strlen(s) > 10, "%s: subject '%s'", kind, s);
		ck_assert_msg(strpbrk(s, "\r\n") == NULL &&
			!isspace((unsigned char)s[strlen(s) - 1]),
		    "%s: subject '%s'", kind, s);
		free(s);
		s = render(kind, "text", ctx);
		ck_assert_msg(strlen(s) > 200, "%s: text '%s'", kind, s);
		ck_assert_msg(
		    strchr(s, '<') == NULL, "%s: markup in text:\n%s", kind, s);
		free(s);
		json_decref(ctx);
	}
}
END_TEST

START_TEST(test_subjects_say_what_the_message_is)
{
	static const struct {
		const char *kind;
		bool online;
		const char *subject;
	} cases[] = {
		{ "booking_confirmation", false,
		    "Your place on " TITLE ", 3 Dec" },
		{ "booking_cancelled", false,
		    "Booking cancelled: " TITLE ", 3 Dec" },
		{ "course_cancelled", true,
		    "Course cancelled: Online Refresher, 10 Dec" },
		{ "course_reminder", false,
		    "Reminder: " TITLE " starts tomorrow, 3 Dec" },
		{ "course_changed", false,
		    "Change to your course: " TITLE ", 3 Dec" },
		{ "blog_digest", false,
		    "3 new posts on the Family Courses blog this week" },
		{ "subscription_confirm", false,
		    "Please confirm your subscription to the Family Courses "
		    "blog" },
	};
	json_t *ctx;
	char *s;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		ctx = ctx_for(cases[i].kind, cases[i].online);
		s = render(cases[i].kind, "subject", ctx);
		ck_assert_str_eq(s, cases[i].subject);
		free(s);
		json_decref(ctx);
	}
	/* One post is one post. */
	ctx = digest_ctx();
	json_object_set_new(ctx, "post_count", json_integer(1));
	json_object_set_new(ctx, "post_count_plural", json_false());
	json_object_set_new(
	    json_object_get(ctx, "subscriber"), "period", json_string("month"));
	s = render("blog_digest", "subject", ctx);
	ck_assert_str_eq(s, "1 new post on the Family Courses blog this month");
	free(s);
	json_decref(ctx);
}
END_TEST

START_TEST(test_booking_messages_show_course_date_venue_and_reference)
{
	const char *kind = booking_kinds[_i];
	json_t *ctx = ctx_for(kind, false);
	char *text = render(kind, "text", ctx);
	char *html = render(kind, "html", ctx);
	struct page p;

	ck_has(text, "Dear Sarah,");
	ck_has(text, TITLE);
	ck_has(text, "Thursday 3 December 2026");
	ck_has(text, "09:30 to 16:30");
	ck_has(text, "Cardiff");
	ck_has(text, "FC-1001");
	page_open(&p, html, kind);
	ck_has(p.text, "Dear Sarah,");
	ck_has(p.text, TITLE);
	ck_has(p.text, "Thursday 3 December 2026");
	ck_has(p.text, "09:30 to 16:30");
	ck_has(p.text, "Cardiff");
	ck_has(p.text, "FC-1001");
	ck_has(p.text, "Cardiff Family Centre");
	/* The sender's details close every message: who the charity is,
	 * where it is, its number, and the address replies go to. */
	ck_has(text,
	    "Family Courses\n1 Example Street, Cardiff CF10 1AA\n"
	    "bookings@example.org\nRegistered charity number 1234567");
	ck_has(p.text, "Registered charity number 1234567");
	ck_assert(page_links_to(&p, "mailto:bookings@example.org"));
	ck_assert(!page_links_to(&p, "mailto:courses@example.org"));
	/* Paragraphs apart by one blank line, never two. */
	ck_lacks(text, "\n\n\n");
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

/* [organisation] with neither address nor charity number (the name is
 * the From name then): the footer is the name and the reply address,
 * with no empty line or paragraph where the others would be. */
START_TEST(test_footer_without_address_or_number_leaves_no_gap)
{
	const char *kind = booking_kinds[_i];
	json_t *ctx = ctx_for(kind, false);
	char *text, *html;
	struct page p;

	json_object_set_new(
	    ctx, "organisation", json_pack("{s:s}", "name", "Family Courses"));
	text = render(kind, "text", ctx);
	html = render(kind, "html", ctx);
	ck_has(text, "\nFamily Courses\nbookings@example.org\n");
	ck_lacks(text, "Registered charity number");
	ck_lacks(text, "\n\n\n");
	ck_lacks(html, "Registered charity number");
	ck_lacks(html, "<br>\n<br>");
	ck_lacks(html, "<p></p>");
	page_open(&p, html, kind);
	ck_has(p.text, "bookings@example.org");
	ck_assert(page_links_to(&p, "mailto:bookings@example.org"));
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

START_TEST(test_in_person_course_shows_address_and_notes)
{
	const char *kind = _i == 0 ? "booking_confirmation" : "course_reminder";
	json_t *ctx = ctx_for(kind, false);
	char *text = render(kind, "text", ctx);
	char *html = render(kind, "html", ctx);
	struct page p;

	ck_has(text, "  Where:      Cardiff\n              " ADDRESS "\n");
	ck_has(text, "Bring the course handbook.\nLunch is provided.");
	page_open(&p, html, kind);
	ck_has(p.text, ADDRESS);
	ck_has(p.text, "Bring the course handbook.");
	ck_lacks(p.text, "joining link");
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

START_TEST(test_online_course_shows_joining_link_and_no_address)
{
	const char *kind = _i == 0 ? "booking_confirmation" : "course_reminder";
	json_t *ctx = ctx_for(kind, true);
	char *text = render(kind, "text", ctx);
	char *html = render(kind, "html", ctx);
	struct page p;

	ck_has(text, "  Where:      Online\n  Join at:    " JOIN "\n");
	ck_lacks(text, "Room 4");
	/* No end time: the start alone. */
	ck_has(text, "  Time:       13:00\n");
	page_open(&p, html, kind);
	ck_assert_msg(page_links_to(&p, JOIN), "%s", p.hrefs.data);
	ck_has(p.text, "Join the course online");
	ck_lacks(p.text, "Room 4");
	page_close(&p);
	free(text);
	free(html);

	/* Online with no link yet: a promise, not an empty label. */
	json_object_set_new(
	    json_object_get(ctx, "course"), "joining_url", json_null());
	text = render(kind, "text", ctx);
	ck_has(text, "we will email you the joining link");
	ck_lacks(text, "Join at:");
	free(text);
	json_decref(ctx);
}
END_TEST

START_TEST(test_missing_optional_fields_leave_no_empty_labels)
{
	const char *kind = booking_kinds[_i];
	json_t *ctx = ctx_for(kind, false);
	json_t *course = json_object_get(ctx, "course");
	char *text, *html, *line, *save = NULL;
	struct page p;

	json_object_set_new(course, "notes", json_null());
	json_object_set_new(course, "address", json_string(""));
	json_object_set_new(
	    json_object_get(ctx, "delegate"), "organisation", json_null());
	json_object_set_new(
	    json_object_get(ctx, "delegate"), "last_name", json_null());
	text = render(kind, "text", ctx);
	html = render(kind, "html", ctx);
	ck_lacks(text, "Before the course");
	ck_has(text, "  Delegate:   Sarah\n  Reference:  FC-1001\n");
	ck_has(text, "  Where:      Cardiff\n  Delegate:");
	/* Every label line has a value. */
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);

		ck_assert_msg(n == 0 || line[0] != ' ' || line[n - 1] != ':',
		    "%s: empty label '%s'", kind, line);
		ck_assert_msg(n == 0 || !isspace((unsigned char)line[n - 1]) ||
			strcmp(line, "-- ") == 0,
		    "%s: trailing space in '%s'", kind, line);
	}
	page_open(&p, html, kind);
	ck_lacks(p.text, "Before the course");
	ck_lacks(html, "<br></td>");
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

START_TEST(test_cancellations_are_clear_and_offer_help)
{
	const char *kind = _i == 0 ? "booking_cancelled" : "course_cancelled";
	json_t *ctx = ctx_for(kind, true);
	char *text = render(kind, "text", ctx);
	char *html = render(kind, "html", ctx);
	struct page p;

	ck_has(text, "cancelled");
	ck_has(text, "Online Refresher");
	ck_has(text, "Thursday 10 December 2026");
	ck_has(text, "FC-1001");
	ck_has(text, "reply to");
	if (_i == 1)
		ck_has(text, "We are very sorry");
	/* A cancelled place has no joining link. */
	ck_lacks(text, "meet.example.org");
	page_open(&p, html, kind);
	ck_has(p.text, "has been cancelled");
	ck_has(p.text, "FC-1001");
	ck_assert(!page_links_to(&p, JOIN));
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

START_TEST(test_reminder_says_when_the_course_starts)
{
	json_t *ctx = reminder_ctx(false, "7d", "in 7 days");
	char *s = render("course_reminder", "subject", ctx);
	char *text = render("course_reminder", "text", ctx);
	char *html = render("course_reminder", "html", ctx);
	struct page p;

	ck_assert_str_eq(s, "Reminder: " TITLE " starts in 7 days, 3 Dec");
	ck_has(text,
	    "your course starts in 7 days, on\n"
	    "Thursday 3 December 2026, 09:30.");
	page_open(&p, html, "course_reminder");
	ck_has(p.text, "Your course starts in 7 days");
	page_close(&p);
	free(s);
	free(text);
	free(html);
	json_decref(ctx);

	/* Without a reminder object (a preview), still a sentence. */
	ctx = booking_ctx(false);
	s = render("course_reminder", "subject", ctx);
	ck_assert_str_eq(s, "Reminder: " TITLE ", 3 Dec");
	free(s);
	text = render("course_reminder", "text", ctx);
	ck_has(text, "your course starts on Thursday 3 December 2026, 09:30.");
	free(text);
	json_decref(ctx);
}
END_TEST

START_TEST(test_digest_lists_posts_newest_first_with_links)
{
	static const char *const text_order[] = {
		"Talking with toddlers about big feelings",
		"By Rhian Evans, Friday 20 November 2026",
		"Tantrums are how small children",
		"Read it: https://blog.example.org/big-feelings",
		"Bedtime routines for the whole family\n"
		"Wednesday 18 November 2026\n",
		"A predictable evening helps everyone.",
		"Read it: https://blog.example.org/bedtime",
		"Meet our new facilitators in Newport\n"
		"By Family Courses team, Monday 16 November 2026\n\n"
		"Read it: https://blog.example.org/newport",
	};
	static const char *const html_order[] = {
		"Talking with toddlers about big feelings",
		"Rhian Evans",
		"Friday 20 November 2026",
		"Tantrums are how small children",
		"Bedtime routines for the whole family",
		"Wednesday 18 November 2026",
		"Meet our new facilitators in Newport",
		"Family Courses team",
		"Monday 16 November 2026",
	};
	json_t *ctx = digest_ctx();
	char *text = render("blog_digest", "text", ctx);
	char *html = render("blog_digest", "html", ctx);
	struct page p;

	ck_has(text, "Hello Anna Price,");
	ck_in_order(text, text_order, UTIL_ARRAY_LEN(text_order));
	ck_lacks(text, "By ,");
	page_open(&p, html, "blog_digest");
	/* After the preheader, which lists the titles too. */
	ck_has(p.text, "Here is what is new");
	ck_in_order(strstr(p.text, "Here is what is new"), html_order,
	    UTIL_ARRAY_LEN(html_order));
	ck_assert(page_links_to(&p, "https://blog.example.org/big-feelings"));
	ck_assert(page_links_to(&p, "https://blog.example.org/bedtime"));
	ck_assert(page_links_to(&p, "https://blog.example.org/newport"));
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

START_TEST(test_unsubscribe_link_only_in_subscriber_messages)
{
	json_t *ctx;
	char *text, *html;
	struct page p;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(booking_kinds); i++) {
		ctx = ctx_for(booking_kinds[i], false);
		text = render(booking_kinds[i], "text", ctx);
		html = render(booking_kinds[i], "html", ctx);
		ck_assert_msg(
		    strcasestr(text, "unsubscribe") == NULL, "%s", text);
		ck_assert_msg(
		    strcasestr(html, "unsubscribe") == NULL, "%s", html);
		free(text);
		free(html);
		json_decref(ctx);
	}

	ctx = digest_ctx();
	text = render("blog_digest", "text", ctx);
	html = render("blog_digest", "html", ctx);
	ck_has(text, "Unsubscribe with one click:\n" UNSUB "\n");
	ck_has(text, PREFS);
	ck_has(text, "weekly digest");
	page_open(&p, html, "blog_digest");
	ck_assert(page_links_to(&p, UNSUB));
	ck_assert(page_links_to(&p, PREFS));
	ck_has(p.text, "Unsubscribe");
	page_close(&p);
	free(text);
	free(html);

	/* Without the links configured, no dangling words. */
	json_object_set_new(ctx, "unsubscribe_url", json_null());
	json_object_set_new(ctx, "preferences_url", json_null());
	text = render("blog_digest", "text", ctx);
	html = render("blog_digest", "html", ctx);
	ck_assert(strcasestr(text, "unsubscribe") == NULL);
	ck_assert(strcasestr(html, "unsubscribe") == NULL);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

START_TEST(test_subscription_confirm_explains_double_opt_in)
{
	json_t *ctx = confirm_ctx();
	char *text = render("subscription_confirm", "text", ctx);
	char *html = render("subscription_confirm", "html", ctx);
	struct page p;

	ck_has(text, "Hello,\n");
	ck_has(text, "new.reader@example.org");
	ck_has(text, "monthly");
	ck_has(text, "\n" CONFIRM "\n");
	ck_has(text, "confirm");
	ck_has(text, "If it was not you");
	ck_has(text, "ignore this");
	page_open(&p, html, "subscription_confirm");
	ck_assert(page_links_to(&p, CONFIRM));
	ck_has(p.text, "Yes, subscribe me");
	ck_has(p.text, "ignore this email");
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

/* Plain text written for a screen 78 columns wide: only values (URLs,
 * titles, summaries) may make a line longer. */
START_TEST(test_change_notice_shows_what_changed_before_and_after)
{
	json_t *ctx = change_ctx(false);
	char *text = render("course_changed", "text", ctx);
	char *html = render("course_changed", "html", ctx);
	static const char *const text_order[] = { "When",
		"Was:  Wednesday 2 December 2026, 10:00 to 17:00",
		"Now:  Thursday 3 December 2026, 09:30 to 16:30", "Where",
		"Was:  Swansea", "Swansea Guildhall, SA1 4PE", "Now:  Cardiff",
		ADDRESS, "Your booking stands", "Reference:  FC-1001" };
	static const char *const html_order[] = { "When", "Was",
		"Wednesday 2 December 2026, 10:00 to 17:00", "Now",
		"Thursday 3 December 2026, 09:30 to 16:30", "Where", "Was",
		"Swansea, Swansea Guildhall, SA1 4PE", "Now",
		"Cardiff, Temple of Peace, Cathays Park, Cardiff CF10 3AP",
		"Your booking stands" };
	struct page p;

	ck_in_order(text, text_order, UTIL_ARRAY_LEN(text_order));
	ck_lacks(text, "Joining link");
	ck_has(text,
	    "The calendar entry attached to this email (.ics) "
	    "replaces the one we\nsent before");
	ck_has(text, "  Google Calendar: " GCAL "\n");
	page_open(&p, html, "course_changed");
	ck_has(p.text, "Your course has changed");
	ck_in_order(p.text, html_order, UTIL_ARRAY_LEN(html_order));
	ck_lacks(p.text, "Joining link");
	ck_assert(page_links_to(&p, GCAL));
	ck_assert(page_links_to(&p, OUTLOOK));
	/* What it was is struck out. */
	ck_has(html, "<del>Wednesday 2 December 2026, 10:00 to 17:00</del>");
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);

	/* Only the link of an online course changed: only the link. */
	ctx = change_ctx(true);
	text = render("course_changed", "text", ctx);
	html = render("course_changed", "html", ctx);
	ck_has(text,
	    "Joining link\n  Was:  https://meet.example.org/old\n"
	    "  Now:  " JOIN "\n");
	ck_lacks(text, "When\n");
	ck_lacks(text, "Where\n");
	page_open(&p, html, "course_changed");
	ck_assert(page_links_to(&p, JOIN));
	ck_has(p.text, "https://meet.example.org/old");
	ck_lacks(p.text, "Was Thursday");
	page_close(&p);
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

START_TEST(test_booking_mail_offers_add_to_calendar_links)
{
	const char *kind = _i == 0 ? "booking_confirmation" : "course_reminder";
	json_t *ctx = ctx_for(kind, false);
	char *text = render(kind, "text", ctx);
	char *html = render(kind, "html", ctx);
	struct page p;

	ck_has(text,
	    "Add the course to your calendar: open the calendar "
	    "file (.ics) attached\nto this email");
	ck_has(text, "  Google Calendar: " GCAL "\n");
	ck_has(text, "  Outlook.com:     " OUTLOOK "\n");
	page_open(&p, html, kind);
	ck_has(p.text, "Add the course to your calendar");
	ck_assert(page_links_to(&p, GCAL));
	ck_assert(page_links_to(&p, OUTLOOK));
	page_close(&p);
	free(text);
	free(html);
	/* Without the links (a course without a start), not a word. */
	json_object_del(ctx, "calendar");
	text = render(kind, "text", ctx);
	html = render(kind, "html", ctx);
	ck_lacks(text, "calendar");
	ck_lacks(html, "calendar");
	free(text);
	free(html);
	json_decref(ctx);
}
END_TEST

START_TEST(test_text_lines_fit_in_78_columns)
{
	const char *kind = _i < N_BOOKING_KINDS
	    ? booking_kinds[_i]
	    : subscriber_kinds[_i - N_BOOKING_KINDS];
	json_t *ctx = ctx_for(kind, _i % 2 == 1);
	char *text = render(kind, "text", ctx);
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "://") != NULL)
			continue;
		ck_assert_msg(strlen(line) <= 78, "%s: %zu columns: %s", kind,
		    strlen(line), line);
	}
	free(text);
	json_decref(ctx);
}
END_TEST

START_TEST(test_hostile_values_are_shown_as_text_in_html)
{
	const char *kind = _i < N_BOOKING_KINDS
	    ? booking_kinds[_i]
	    : subscriber_kinds[_i - N_BOOKING_KINDS];
	json_t *ctx = ctx_for(kind, _i % 2 == 1);
	json_t *course = json_object_get(ctx, "course");
	json_t *sub = json_object_get(ctx, "subscriber");
	json_t *post;
	size_t i;
	char *html;
	struct page p;

	if (course != NULL) {
		json_object_set_new(course, "title", json_string(SCRIPT));
		json_object_set_new(course, "venue", json_string(IMGX));
		json_object_set_new(course, "address", json_string(IMGX));
		json_object_set_new(course, "notes", json_string(SCRIPT));
		json_object_set_new(course, "joining_url", json_string(IMGX));
		json_object_set_new(json_object_get(ctx, "delegate"),
		    "first_name", json_string(IMGX));
		json_object_set_new(json_object_get(ctx, "booking"),
		    "reference", json_string(SCRIPT));
	}
	if (json_object_get(ctx, "previous") != NULL) {
		json_t *prev = json_object_get(ctx, "previous");

		json_object_set_new(prev, "venue", json_string(SCRIPT));
		json_object_set_new(prev, "address", json_string(IMGX));
		json_object_set_new(prev, "joining_url", json_string(IMGX));
		json_object_set_new(ctx, "changed",
		    json_pack(
			"{s:b,s:b,s:b}", "time", 1, "place", 1, "link", 1));
	}
	if (sub != NULL) {
		json_object_set_new(sub, "name", json_string(SCRIPT));
		json_object_set_new(sub, "email", json_string(IMGX));
		json_object_set_new(ctx, "unsubscribe_url", json_string(IMGX));
		json_object_set_new(ctx, "confirm_url", json_string(IMGX));
	}
	json_array_foreach(json_object_get(ctx, "posts"), i, post)
	{
		json_object_set_new(post, "title", json_string(SCRIPT));
		json_object_set_new(post, "summary", json_string(IMGX));
		json_object_set_new(post, "author", json_string(IMGX));
		json_object_set_new(post, "url", json_string(IMGX));
	}
	html = render(kind, "html", ctx);
	/* page_open() fails on any <script>, event handler or <img>
	 * without alt; and none may appear at all. */
	page_open(&p, html, kind);
	ck_assert_int_eq(p.imgs, 0);
	ck_has(p.text, SCRIPT);
	ck_has(p.text, "onerror=alert(1)>");
	page_close(&p);
	free(html);
	json_decref(ctx);
}
END_TEST

/* ------------------------------------------------------------ languages */

static void
note_missing(void *arg, const char *file)
{
	buf_printf(arg, "%s\n", file);
}

/* The digest's subject in language for n posts, with the plural form
 * compose.c gives the templates (post_count_form). */
static char *
digest_subject(const char *lang, long n, bool monthly)
{
	json_t *ctx =
	    json_pack("{s:{s:s},s:{s:b,s:b},s:i,s:b,s:{s:b}}", "sender", "name",
		"Family Courses", "subscriber", "weekly", !monthly, "monthly",
		monthly, "post_count", (json_int_t)n, "post_count_plural",
		n != 1, "post_count_form", lang_plural(lang, n), 1);
	struct buf out;

	json_object_set_new(json_object_get(ctx, "subscriber"), "period",
	    json_string(monthly ? "month" : "week"));
	buf_init(&out);
	ck_assert_int_eq(tmpl_set_render_lang(
			     set, lang, "blog_digest", "subject", ctx, &out),
	    0);
	json_decref(ctx);
	buf_putc(&out, '\0');
	return buf_take(&out);
}

START_TEST(test_welsh_digest_subject_counts_posts_with_welsh_plurals)
{
	static const struct {
		long n;
		const char *cy, *en;
	} counts[] = {
		{ 0, "Dim cofnodion newydd", "0 new posts" },
		{ 1, "1 cofnod newydd", "1 new post" },
		{ 2, "2 gofnod newydd", "2 new posts" },
		{ 3, "3 chofnod newydd", "3 new posts" },
		{ 6, "6 chofnod newydd", "6 new posts" },
		{ 7, "7 cofnod newydd", "7 new posts" },
	};
	char *got, *want;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(counts); i++) {
		got = digest_subject("cy", counts[i].n, false);
		want = xasprintf(
		    "%s ar flog Family Courses yr wythnos hon", counts[i].cy);
		ck_assert_str_eq(got, want);
		free(got);
		free(want);
		got = digest_subject("en", counts[i].n, false);
		want = xasprintf(
		    "%s on the Family Courses blog this week", counts[i].en);
		ck_assert_str_eq(got, want);
		free(got);
		free(want);
	}
	got = digest_subject("cy", 3, true);
	ck_assert_str_eq(
	    got, "3 chofnod newydd ar flog Family Courses y mis hwn");
	free(got);
}
END_TEST

/* Every kind has Welsh files for each part, and the Welsh set names no
 * file the base set lacks a translation of. */
START_TEST(test_welsh_set_translates_every_kind_and_partial)
{
	struct buf missing;

	buf_init(&missing);
	ck_assert_str_eq(tmpl_set_match_language(set, "cy"), "cy");
	ck_assert_str_eq(tmpl_set_match_language(set, "cy-GB"), "cy");
	ck_assert_ptr_null(tmpl_set_match_language(set, "fr"));
	ck_assert_uint_eq(
	    tmpl_set_missing(set, "cy", note_missing, &missing), 0);
	buf_fini(&missing);
}
END_TEST

START_TEST(test_textwrap_wraps_at_76_and_keeps_links_whole)
{
	static const char in[] =
	    "Agreeing the rules together, before the tablet comes out, saves "
	    "most of the arguments; children keep the rules they helped to "
	    "make, and they remind each other of them.\n"
	    "\n\n\n"
	    "Read it: https://blog.example.org/2026/11/a-very-long-address-of-"
	    "a-post-that-goes-on-and-on-for-more-than-a-line?utm=1\n"
	    "  Course:     A course title long enough to need a second line "
	    "when the title goes on\n"
	    "-- \n";
	struct buf out;

	buf_init(&out);
	textwrap(in, strlen(in), TEXTWRAP_WIDTH, &out);
	buf_putc(&out, '\0');
	ck_assert_str_eq(out.data,
	    "Agreeing the rules together, before the tablet comes out, saves "
	    "most of the\n"
	    "arguments; children keep the rules they helped to make, and they "
	    "remind each\n"
	    "other of them.\n"
	    "\n"
	    "Read it:\n"
	    "https://blog.example.org/2026/11/a-very-long-address-of-a-post-"
	    "that-goes-on-and-on-for-more-than-a-line?utm=1\n"
	    "  Course:     A course title long enough to need a second line "
	    "when the\n"
	    "              title goes on\n"
	    "-- \n");
	buf_fini(&out);
}
END_TEST

/* ------------------------------------------------------------ preview */

static char *pv_dir, *pv_conf;

static void
preview_setup(void)
{
	struct tu_config c = {
		.log_level = "", .user = "", .bounce_domain = ""
	};
	char *sql, *path;
	sqlite3 *db;

	pv_dir = tu_mkdtemp();
	pv_conf = tu_write_config(pv_dir, "familymail.conf", &c);
	db = tu_db_new(pv_dir);
	path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
	sql = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(sql);
	tu_sql(db, sql);
	tu_sql(db,
	    "INSERT INTO subscribers (id, email, name, status, frequency,"
	    " created_at) VALUES"
	    " (1, 'anna@example.org', 'Anna Price', 'active', 'weekly',"
	    "  '2026-11-01T10:00:00Z'),"
	    " (2, 'new.reader@example.org', NULL, 'pending', 'monthly',"
	    "  '2026-11-22T10:00:00Z');"
	    "INSERT INTO posts (title, url, author, summary, published_at)"
	    " VALUES ('Older post', 'https://blog.example.org/older',"
	    "  'Rhian Evans', '<p>Old <b>news</b></p>',"
	    "  '2026-11-17T08:00:00Z'),"
	    " ('Newest post', 'https://blog.example.org/newest', NULL,"
	    "  'Fresh thinking', '2026-11-20T08:00:00Z');"
	    "INSERT INTO digests (frequency, period, scheduled_at, since,"
	    " until, post_count, state, created_at) VALUES ('weekly',"
	    " '2026-W48', '2026-11-23T08:00:00Z', '2026-11-16T08:00:00Z',"
	    " '2026-11-23T08:00:00Z', 2, 'enqueued',"
	    " '2026-11-23T08:00:00Z');");
	free(sql);
	free(path);
	db_close(db);
}

static void
preview_teardown(void)
{
	tu_rmtree(pv_dir);
	free(pv_dir);
	free(pv_conf);
}

/* One MIME part's body, decoded. */
static char *
part_decode(const char *body, size_t n, bool base64)
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
		/* EVP_DecodeBlock counts the padding as zero bytes. */
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
			if (body[i] == '=' && i + 1 < n &&
			    body[i + 1] == '\r' && i + 2 < n &&
			    body[i + 2] == '\n') {
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

/* A previewed message: its header and its parts, decoded. */
struct preview {
	char *raw;
	char *header;
	char *text;
	char *html;
	char *calendar;   /* the text/calendar alternative, or NULL */
	char *attachment; /* the .ics attachment, or NULL */
	char *attachment_header;
};

/* The boundary of the multipart whose Content-Type line begins at ct. */
static char *
boundary_of(const char *ct)
{
	const char *b = strstr(ct, "boundary=\"");
	size_t n;

	ck_assert_ptr_nonnull(b);
	b += strlen("boundary=\"");
	n = strcspn(b, "\"");
	ck_assert(n > 0 && n < 100);
	return xasprintf("\r\n--%.*s", (int)n, b);
}

/* The body of the part whose header begins at hdr (up to delim),
 * decoded; *hdr_out is its header. */
static char *
part_at(const char *hdr, const char *delim, char **hdr_out)
{
	const char *body = strstr(hdr, "\r\n\r\n"), *next;
	bool b64;

	ck_assert_ptr_nonnull(body);
	body += 4;
	next = strstr(body, delim);
	ck_assert_ptr_nonnull(next);
	b64 = strcasestr(hdr, "Content-Transfer-Encoding: base64") != NULL &&
	    strcasestr(hdr, "Content-Transfer-Encoding: base64") < body;
	if (hdr_out != NULL)
		*hdr_out = xstrndup(hdr, (size_t)(body - hdr));
	return part_decode(body, (size_t)(next - body), b64);
}

/* Runs `familymail preview KIND FLAG ID [--offset DETAIL]` (--period for
 * a digest's "FREQUENCY:PERIOD") and splits
 * what it prints; fails the test unless it holds a
 * multipart/alternative with a text/plain part and then a text/html
 * part, and for booking mail a text/calendar part after them and the
 * same entry as an application/ics attachment (multipart/mixed). */
static void
preview_run(struct preview *pv, const char *kind, const char *flag,
    const char *id, const char *detail)
{
	char *prog = xasprintf("%s/src/familymail", tu_builddir());
	char *out = xasprintf("%s/preview.eml", pv_dir);
	char *argv[] = { prog, (char *)"-c", pv_conf, (char *)"preview",
		(char *)kind, (char *)flag, (char *)id, (char *)"--offset",
		(char *)detail, NULL };
	const char *ct, *p, *end;
	char *delim, *outer = NULL;
	bool mixed;

	if (detail == NULL)
		argv[7] = NULL;
	else if (strchr(detail, ':') != NULL)
		argv[7] = (char *)"--period";
	unlink(out);
	memset(pv, 0, sizeof(*pv));
	ck_assert_int_eq(tu_run_cmd(argv, out, 20000), 0);
	pv->raw = tu_read_file(out, NULL);
	ck_assert_ptr_nonnull(pv->raw);
	end = strstr(pv->raw, "\r\n\r\n");
	ck_assert_msg(end != NULL, "no header end:\n%s", pv->raw);
	pv->header = xstrndup(pv->raw, (size_t)(end - pv->raw) + 2);
	mixed = strcasestr(pv->header, "\r\nContent-Type: multipart/mixed;") !=
	    NULL;
	if (mixed)
		outer = boundary_of(strcasestr(
		    pv->header, "\r\nContent-Type: multipart/mixed;"));
	ct = strcasestr(pv->raw, "\r\nContent-Type: multipart/alternative;");
	ck_assert_msg(ct != NULL, "%s", pv->header);
	ck_assert_msg(mixed || ct < end, "%s", pv->header);
	delim = boundary_of(ct);
	p = strstr(ct, "\r\n\r\n") + 2;
	for (int part = 0; part < 3; part++) {
		static const char *const types[] = { "text/plain", "text/html",
			"text/calendar" };
		const char *hdr;
		char **to[] = { &pv->text, &pv->html, &pv->calendar };

		p = strstr(p, delim);
		ck_assert_msg(p != NULL, "part %d missing:\n%s", part, pv->raw);
		if (part == 2 && strncmp(p + strlen(delim), "--", 2) == 0)
			break;
		hdr = p + strlen(delim) + 2;
		ck_assert_msg(strncasecmp(hdr, "Content-Type: ", 14) == 0 &&
			strncasecmp(
			    hdr + 14, types[part], strlen(types[part])) == 0,
		    "part %d: %.60s", part, hdr);
		*to[part] = part_at(hdr, delim, NULL);
		p = strstr(hdr, delim);
	}
	ck_assert_msg(
	    strncmp(p + strlen(delim), "--", 2) == 0, "more than three parts");
	/* Booking mail: the calendar alternative and the attachment. */
	ck_assert_msg((pv->calendar != NULL) == mixed, "%s", pv->header);
	if (mixed) {
		const char *att =
		    strcasestr(pv->raw, "\r\nContent-Type: application/ics;");

		ck_assert_msg(att != NULL, "no attachment:\n%s", pv->raw);
		pv->attachment =
		    part_at(att + 2, outer, &pv->attachment_header);
	}
	free(outer);
	free(delim);
	free(prog);
	free(out);
}

static void
preview_free(struct preview *pv)
{
	free(pv->raw);
	free(pv->header);
	free(pv->text);
	free(pv->html);
	free(pv->calendar);
	free(pv->attachment);
	free(pv->attachment_header);
}

START_TEST(test_preview_confirmation_is_multipart_with_both_parts)
{
	struct preview pv;
	struct page p;

	preview_run(&pv, "booking_confirmation", "--booking", "1", NULL);
	ck_has(pv.header, "\r\nSubject: Your place on " TITLE ", 3 Dec\r\n");
	ck_has(pv.header, "\r\nTo: Sarah Jones <sarah.jones@example.org>\r\n");
	ck_has(pv.text, "Dear Sarah,");
	ck_has(pv.text, "Thursday 3 December 2026");
	ck_has(pv.text, "09:30 to 16:30");
	ck_has(pv.text, "Temple of Peace, Cathays Park");
	ck_has(pv.text, "Bring the course handbook.");
	ck_has(pv.text, "FC-1001");
	page_open(&p, pv.html, "preview");
	ck_has(p.text, "Your place is confirmed");
	ck_has(p.text, "FC-1001");
	ck_has(p.text, "Temple of Peace, Cathays Park");
	page_close(&p);
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_online_reminder_in_utf8_shows_joining_link)
{
	struct preview pv;
	struct page p;

	preview_run(&pv, "course_reminder", "--booking", "3", "1d");
	ck_has(pv.header,
	    "\r\nSubject: Reminder: Online Refresher starts "
	    "tomorrow, 10 Dec\r\n");
	ck_has(pv.text, "Dear \xd9\x81\xd8\xa7\xd8\xb7\xd9\x85\xd8\xa9,");
	ck_has(pv.text, "Join at:    https://meet.example.org/refresher\n");
	ck_has(pv.text, "Newport Sure Start");
	page_open(&p, pv.html, "preview");
	ck_assert(page_links_to(&p, "https://meet.example.org/refresher"));
	ck_has(p.text, "Your course starts tomorrow");
	page_close(&p);
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_digest_lists_posts_newest_first)
{
	static const char *const order[] = { "Newest post", "Fresh thinking",
		"Older post", "By Rhian Evans, Tuesday 17 November 2026",
		"Old news" };
	static const char *const html_order[] = { "Newest post",
		"Friday 20 November 2026", "Fresh thinking", "Older post",
		"Rhian Evans", "Tuesday 17 November 2026", "Old news" };
	struct preview pv;
	struct page p;

	preview_run(&pv, "blog_digest", "--subscriber", "1", "weekly:2026-W48");
	ck_has(pv.header,
	    "\r\nSubject: 2 new posts on the Family Courses blog this week\r\n");
	ck_in_order(pv.text, order, UTIL_ARRAY_LEN(order));
	page_open(&p, pv.html, "preview");
	ck_has(p.text, "Here is what is new");
	ck_in_order(strstr(p.text, "Here is what is new"), html_order,
	    UTIL_ARRAY_LEN(html_order));
	ck_assert(page_links_to(&p, "https://blog.example.org/newest"));
	ck_assert(page_links_to(&p, "https://blog.example.org/older"));
	page_close(&p);
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_subscription_confirm_has_both_parts)
{
	struct preview pv;
	struct page p;

	preview_run(&pv, "subscription_confirm", "--subscriber", "2", NULL);
	ck_has(pv.header, "\r\nSubject: Please confirm your subscription");
	ck_has(pv.text, "new.reader@example.org");
	ck_has(pv.text, "ignore this");
	page_open(&p, pv.html, "preview");
	ck_has(p.text, "Please confirm your subscription");
	page_close(&p);
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_line_breaks_in_a_title_make_no_header)
{
	char *path = xasprintf("%s/familymail.db", pv_dir);
	struct preview pv;
	sqlite3 *db;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db,
	    "UPDATE courses SET title = 'Training' || char(13, 10) ||"
	    " 'Bcc: victim@example.org' || char(10) || 'X-Evil: 1'"
	    " WHERE id = 1");
	db_close(db);
	free(path);
	preview_run(&pv, "booking_confirmation", "--booking", "1", NULL);
	ck_lacks(pv.header, "\nBcc:");
	ck_lacks(pv.header, "\nX-Evil:");
	ck_has(pv.header, "Subject: Your place on Training Bcc:");
	preview_free(&pv);
}
END_TEST

/* Rewrites the preview config with extra [daemon] lines, templates in
 * dir (NULL: the source tree's) and the charity's identity. */
static void
pv_config(const char *daemon_extra, const char *templates)
{
	struct tu_config c = { .templates = templates,
		.log_level = "",
		.daemon_extra = daemon_extra,
		.user = "",
		.bounce_domain = "",
		.sections = "[organisation]\n"
			    "address = 1 Example Street, Cardiff CF10 1AA\n"
			    "charity_number = 1234567\n" };

	free(tu_write_config(pv_dir, "familymail.conf", &c));
}

static void
pv_sql(const char *sql)
{
	char *path = xasprintf("%s/familymail.db", pv_dir);
	sqlite3 *db;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db, sql);
	db_close(db);
	free(path);
}

/* The header block with folded lines joined (RFC 5322 unfolding). */
static char *
unfold(const char *header)
{
	struct buf b;

	buf_init(&b);
	for (const char *p = header; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n' &&
		    (p[2] == ' ' || p[2] == '\t')) {
			p++;
			continue;
		}
		buf_putc(&b, *p);
	}
	buf_putc(&b, '\0');
	return buf_take(&b);
}

/* No line of text over 78 characters but a link, and no two blank
 * lines in a row. */
static void
assert_text_shape(const char *text)
{
	const char *p = text;

	ck_assert_msg(
	    strstr(text, "\n\n\n") == NULL, "double blank:\n%s", text);
	while (*p != '\0') {
		size_t n = strcspn(p, "\n"), chars = 0;

		for (size_t i = 0; i < n; i++)
			chars += ((unsigned char)p[i] & 0xc0) != 0x80;
		ck_assert_msg(chars <= 78 || memchr(p, ' ', n) == NULL ||
			strstr(p, "://") != NULL,
		    "%zu characters: %.*s", chars, (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

START_TEST(test_preview_welsh_delegate_gets_welsh_booking_mail)
{
	struct preview pv;
	struct page p;
	char *h;

	pv_config(NULL, NULL);
	pv_sql("UPDATE delegates SET language = 'cy' WHERE id = 2");
	preview_run(&pv, "booking_confirmation", "--booking", "2", NULL);
	ck_has(pv.header, "\r\nSubject: Eich lle ar " TITLE ", 3 Rhag\r\n");
	ck_has(pv.header, "\r\nContent-Language: cy\r\n");
	ck_has(pv.text, "Annwyl Siân,");
	ck_has(pv.text, "Mae eich lle wedi'i gadarnhau:");
	ck_has(pv.text, "  Dyddiad:     Dydd Iau 3 Rhagfyr 2026\n");
	ck_has(pv.text, "  Amser:       09:30 tan 16:30\n");
	ck_has(pv.text, "  Cyfeirnod:   FC-1002\n");
	ck_has(pv.text, "Rhif elusen gofrestredig 1234567");
	ck_assert_ptr_null(strstr(pv.text, "Dear"));
	assert_text_shape(pv.text);
	ck_has(pv.html, "<html lang=\"cy\"");
	page_open(&p, pv.html, "cy confirmation");
	ck_has(p.text, "Mae eich lle wedi'i gadarnhau");
	ck_has(p.text, "Dydd Iau 3 Rhagfyr 2026");
	page_close(&p);
	preview_free(&pv);

	preview_run(&pv, "course_reminder", "--booking", "2", "7d");
	h = unfold(pv.header);
	ck_has(h,
	    "\r\nSubject: Nodyn atgoffa: " TITLE
	    " yn dechrau ymhen 7 diwrnod, 3 Rhag\r\n");
	free(h);
	ck_has(pv.text, "Nodyn i'ch atgoffa bod eich cwrs yn dechrau ymhen 7");
	preview_free(&pv);
	preview_run(&pv, "course_reminder", "--booking", "2", "2d");
	ck_has(pv.text, "yn dechrau ymhen 2 ddiwrnod:");
	preview_free(&pv);
	preview_run(&pv, "course_reminder", "--booking", "2", "1d");
	ck_has(pv.text, "yn dechrau yfory:");
	ck_has(pv.text, "Dydd Iau 3 Rhagfyr 2026, 09:30.");
	preview_free(&pv);

	preview_run(&pv, "booking_cancelled", "--booking", "2", NULL);
	ck_has(pv.header, "\r\nSubject: Archeb wedi'i chanslo: ");
	ck_has(pv.text, "Rydym yn cadarnhau bod eich archeb wedi'i chanslo");
	assert_text_shape(pv.text);
	preview_free(&pv);
	preview_run(&pv, "course_cancelled", "--booking", "2", NULL);
	ck_has(pv.header, "\r\nSubject: Cwrs wedi'i ganslo: ");
	ck_has(pv.text, "Mae'n ddrwg iawn gennym");
	assert_text_shape(pv.text);
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_course_language_applies_unless_the_person_has_one)
{
	struct preview pv;

	pv_config(NULL, NULL);
	pv_sql("UPDATE courses SET language = 'cy' WHERE id = 2;"
	       "UPDATE delegates SET language = 'en' WHERE id = 4");
	preview_run(&pv, "booking_confirmation", "--booking", "3", NULL);
	ck_has(pv.header, "\r\nContent-Language: cy\r\n");
	ck_has(pv.text, "Ar-lein");
	ck_has(pv.text, "Dydd Iau 10 Rhagfyr 2026");
	preview_free(&pv);
	preview_run(&pv, "booking_confirmation", "--booking", "4", NULL);
	ck_has(pv.header, "\r\nContent-Language: en\r\n");
	ck_has(pv.text, "Dear Tom,");
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_welsh_subscriber_gets_welsh_digest_and_opt_in)
{
	struct preview pv;
	struct page p;

	pv_config(NULL, NULL);
	pv_sql("UPDATE subscribers SET language = 'cy'");
	preview_run(&pv, "blog_digest", "--subscriber", "1", "weekly:2026-W48");
	ck_has(pv.header,
	    "\r\nSubject: 2 gofnod newydd ar flog Family Courses yr wythnos "
	    "hon\r\n");
	ck_has(pv.header, "\r\nContent-Language: cy\r\n");
	ck_has(pv.text, "Helo Anna Price,");
	ck_has(pv.text, "Gan Rhian Evans, Dydd Mawrth 17 Tachwedd 2026");
	ck_has(pv.text, "Dydd Gwener 20 Tachwedd 2026");
	ck_has(pv.text,
	    "Darllenwch y cofnod llawn: https://blog.example.org/newest");
	ck_has(pv.text, "crynodeb wythnosol hwn");
	assert_text_shape(pv.text);
	page_open(&p, pv.html, "cy digest");
	ck_has(p.text, "Newydd ar y blog yr wythnos hon");
	ck_has(p.text, "Old news");
	page_close(&p);
	preview_free(&pv);

	preview_run(&pv, "subscription_confirm", "--subscriber", "2", NULL);
	ck_has(pv.header,
	    "\r\nSubject: Cadarnhewch eich tanysgrifiad i flog Family "
	    "Courses\r\n");
	ck_has(pv.text, "gael e-bost\nmisol gennym");
	ck_has(pv.text, "anwybyddwch yr\ne-bost hwn");
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_confirmation_carries_its_calendar_entry)
{
	struct preview pv;

	preview_run(&pv, "booking_confirmation", "--booking", "1", NULL);
	ck_assert_ptr_nonnull(pv.calendar);
	ck_assert_ptr_nonnull(pv.attachment);
	ck_has(pv.calendar, "\r\nMETHOD:REQUEST\r\n");
	ck_has(pv.calendar, "\r\nUID:booking-1-FC-1001@example.org\r\n");
	ck_has(pv.calendar, "\r\nSEQUENCE:0\r\n");
	ck_has(
	    pv.calendar, "\r\nDTSTART;TZID=Europe/London:20261203T093000\r\n");
	ck_has(pv.calendar, "\r\nSUMMARY:" TITLE "\r\n");
	ck_has(pv.calendar,
	    "\r\nDESCRIPTION:Booking reference: FC-1001\\n"
	    "\\nBring the course handbook.\r\n");
	ck_has(pv.calendar, "\r\nSTATUS:CONFIRMED\r\n");
	ck_has(pv.header, "\r\nContent-Type: multipart/mixed;");
	ck_has(pv.raw,
	    "Content-Type: text/calendar; charset=\"utf-8\"; "
	    "method=\"REQUEST\"\r\n");
	ck_has(pv.attachment_header, "Content-Disposition: attachment;");
	ck_has(pv.attachment_header,
	    " filename=\""
	    "nurturing-programme-facilitator-training-2026-12-03.ics\"");
	ck_assert_str_eq(pv.attachment, pv.calendar);
	/* The links carry the course in UTC. */
	ck_has(pv.text, "dates=20261203T093000Z%2F20261203T163000Z");
	ck_has(pv.text, "startdt=2026-12-03T09%3A30%3A00Z");
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_change_notice_compares_with_what_was_told)
{
	char *path = xasprintf("%s/familymail.db", pv_dir);
	struct preview pv;
	struct page p;
	sqlite3 *db;

	/* Sarah was told of Swansea on the 2nd; her entry is at its
	 * second version, with the UID it was given then. */
	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO booking_told (booking_id, uid, sequence, starts_at,"
	    " ends_at, venue, address, told_at) VALUES (1,"
	    " 'kept-uid@example.org', 2, '2026-12-02T10:00:00Z',"
	    " '2026-12-02T17:00:00Z', 'Swansea', 'Swansea Guildhall',"
	    " '2026-11-20T10:00:00Z')");
	db_close(db);
	free(path);
	preview_run(&pv, "course_changed", "--booking", "1", NULL);
	/* (Folded before "Dec".) */
	ck_has(pv.header, "\r\nSubject: Change to your course: " TITLE ", 3");
	ck_has(pv.text,
	    "  Was:  Wednesday 2 December 2026, 10:00 to 17:00\n"
	    "  Now:  Thursday 3 December 2026, 09:30 to 16:30\n");
	ck_has(pv.text,
	    "  Was:  Swansea\n        Swansea Guildhall\n"
	    "  Now:  Cardiff\n");
	page_open(&p, pv.html, "preview");
	ck_has(p.text, "Your course has changed");
	page_close(&p);
	ck_assert_ptr_nonnull(pv.calendar);
	ck_has(pv.calendar, "\r\nUID:kept-uid@example.org\r\n");
	ck_has(pv.calendar, "\r\nSEQUENCE:2\r\n");
	ck_has(pv.calendar, "\r\nMETHOD:REQUEST\r\n");
	preview_free(&pv);
}
END_TEST

/* A Welsh delegate's change notice: Welsh words, Welsh dates, the
 * Welsh calendar description, the same entry. */
START_TEST(test_preview_welsh_change_notice_is_welsh)
{
	char *path = xasprintf("%s/familymail.db", pv_dir);
	struct preview pv;
	struct page p;
	sqlite3 *db;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db,
	    "UPDATE delegates SET language = 'cy' WHERE id = 1;"
	    "INSERT INTO booking_told (booking_id, uid, sequence, starts_at,"
	    " ends_at, venue, address, told_at) VALUES (1,"
	    " 'kept-uid@example.org', 2, '2026-12-02T10:00:00Z',"
	    " '2026-12-02T17:00:00Z', 'Swansea', 'Swansea Guildhall',"
	    " '2026-11-20T10:00:00Z')");
	db_close(db);
	free(path);
	preview_run(&pv, "course_changed", "--booking", "1", NULL);
	ck_has(pv.header, "\r\nContent-Language: cy\r\n");
	ck_has(pv.header, "\r\nSubject: Newid i'ch cwrs: ");
	ck_has(pv.text, "Annwyl Sarah,");
	ck_has(pv.text,
	    "  Gynt: Dydd Mercher 2 Rhagfyr 2026, 10:00 tan 17:00\n"
	    "  Nawr: Dydd Iau 3 Rhagfyr 2026, 09:30 tan 16:30\n");
	ck_has(pv.text,
	    "  Gynt: Swansea\n        Swansea Guildhall\n"
	    "  Nawr: Cardiff\n");
	ck_has(pv.text, "Gyda dymuniadau gorau,");
	ck_assert_ptr_null(strstr(pv.text, "Dear "));
	page_open(&p, pv.html, "preview");
	ck_has(p.text, "Mae eich cwrs wedi newid");
	ck_has(p.text, "Gynt");
	page_close(&p);
	ck_assert_ptr_nonnull(pv.calendar);
	ck_has(pv.calendar, "\r\nUID:kept-uid@example.org\r\n");
	ck_has(pv.calendar, "Cyfeirnod archebu: FC-1001");
	preview_free(&pv);
}
END_TEST

/* A Welsh part missing from a copy of the templates falls back to the
 * English file alone, and check-config names what is missing. */
START_TEST(test_preview_missing_welsh_file_falls_back_to_english)
{
	char *copy = xasprintf("%s/tcopy", pv_dir);
	char *src = xasprintf("%s/templates", tu_srcdir());
	char *gone =
	    xasprintf("%s/cy/booking_confirmation/text.mustache", copy);
	char *prog = xasprintf("%s/src/familymail", tu_builddir());
	char *log = xasprintf("%s/check.out", pv_dir), *out;
	char *cp[] = { (char *)"/bin/cp", (char *)"-R", src, copy, NULL };
	char *check[] = { prog, (char *)"-c", pv_conf, (char *)"check-config",
		NULL };
	struct preview pv;

	ck_assert_int_eq(tu_run_cmd(cp, NULL, 10000), 0);
	ck_assert_int_eq(unlink(gone), 0);
	pv_config("bilingual = cy, en\n", copy);
	pv_sql("UPDATE delegates SET language = 'cy' WHERE id = 2");
	preview_run(&pv, "booking_confirmation", "--booking", "2", NULL);
	/* Subject and HTML in Welsh, the text part from the English file
	 * with Welsh dates. */
	ck_has(pv.header, "\r\nSubject: Eich lle ar ");
	ck_has(pv.html, "Mae eich lle wedi'i gadarnhau");
	ck_has(pv.text, "Dear Siân,");
	ck_has(pv.text, "Dydd Iau 3 Rhagfyr 2026");
	preview_free(&pv);
	ck_assert_int_eq(tu_run_cmd(check, log, 20000), 0);
	out = tu_read_file(log, NULL);
	ck_assert_ptr_nonnull(out);
	ck_has(out,
	    "/cy/booking_confirmation/text.mustache: missing: "
	    "Cymraeg (cy) messages use ");
	ck_has(out, "1 missing translation above");
	free(out);
	free(log);
	free(prog);
	free(gone);
	free(src);
	free(copy);
}
END_TEST

START_TEST(test_preview_bilingual_message_is_welsh_then_english)
{
	struct preview pv;
	struct page p;
	const char *cy, *en;
	char *h;

	pv_config("bilingual = cy, en\n", NULL);
	preview_run(&pv, "booking_confirmation", "--booking", "1", NULL);
	ck_has(pv.header, "\r\nContent-Language: cy, en\r\n");
	h = unfold(pv.header);
	ck_has(h,
	    "\r\nSubject: Eich lle ar " TITLE ", 3 Rhag / Your place on " TITLE
	    ", 3 Dec\r\n");
	free(h);
	cy = strstr(pv.text, "Annwyl Sarah,");
	en = strstr(pv.text, "Dear Sarah,");
	ck_assert(cy != NULL && en != NULL && cy < en);
	ck_has(pv.text, "English version below");
	ck_has(pv.text, "Dydd Iau 3 Rhagfyr 2026");
	ck_has(pv.text, "Thursday 3 December 2026");
	assert_text_shape(pv.text);
	ck_has(pv.html, "<html lang=\"cy\"");
	ck_has(pv.html, "lang=\"cy\" id=\"lang-cy\"");
	ck_has(pv.html, "lang=\"en\" id=\"lang-en\"");
	ck_has(pv.html, "href=\"#lang-en\" lang=\"en\"");
	page_open(&p, pv.html, "bilingual");
	ck_has(p.text, "Mae eich lle wedi'i gadarnhau");
	ck_has(p.text, "Your place is confirmed");
	page_close(&p);
	preview_free(&pv);
	/* A delegate with a language of their own gets only theirs. */
	pv_sql("UPDATE delegates SET language = 'en' WHERE id = 1");
	preview_run(&pv, "booking_confirmation", "--booking", "1", NULL);
	ck_has(pv.header, "\r\nContent-Language: en\r\n");
	ck_assert_ptr_null(strstr(pv.text, "Annwyl"));
	preview_free(&pv);
}
END_TEST

START_TEST(test_preview_course_cancelled_cancels_the_entry)
{
	struct preview pv;

	preview_run(&pv, "course_cancelled", "--booking", "6", NULL);
	ck_assert_ptr_nonnull(pv.calendar);
	ck_assert_ptr_nonnull(pv.attachment);
	ck_has(pv.raw, "method=\"CANCEL\"\r\n");
	ck_has(pv.calendar, "\r\nMETHOD:CANCEL\r\n");
	ck_has(pv.calendar, "\r\nSTATUS:CANCELLED\r\n");
	ck_has(pv.calendar, "\r\nUID:booking-6-FC-1006@example.org\r\n");
	/* One above the entry it cancels. */
	ck_has(pv.calendar, "\r\nSEQUENCE:1\r\n");
	ck_assert_str_eq(pv.attachment, pv.calendar);
	preview_free(&pv);
}
END_TEST

static Suite *
templates_suite(void)
{
	Suite *s = suite_create("templates");
	TCase *tc;

	tc = tcase_create("kinds");
	tcase_add_checked_fixture(tc, set_setup, set_teardown);
	tcase_add_test(tc, test_templates_have_every_kind_with_three_parts);
	tcase_add_test(tc, test_subjects_say_what_the_message_is);
	tcase_add_loop_test(tc,
	    test_booking_messages_show_course_date_venue_and_reference, 0,
	    N_BOOKING_KINDS);
	tcase_add_loop_test(tc,
	    test_footer_without_address_or_number_leaves_no_gap, 0,
	    N_BOOKING_KINDS);
	tcase_add_loop_test(
	    tc, test_in_person_course_shows_address_and_notes, 0, 2);
	tcase_add_loop_test(
	    tc, test_online_course_shows_joining_link_and_no_address, 0, 2);
	tcase_add_loop_test(tc,
	    test_missing_optional_fields_leave_no_empty_labels, 0,
	    N_BOOKING_KINDS);
	tcase_add_loop_test(
	    tc, test_cancellations_are_clear_and_offer_help, 0, 2);
	tcase_add_test(tc, test_reminder_says_when_the_course_starts);
	tcase_add_test(
	    tc, test_change_notice_shows_what_changed_before_and_after);
	tcase_add_loop_test(
	    tc, test_booking_mail_offers_add_to_calendar_links, 0, 2);
	tcase_add_test(tc, test_digest_lists_posts_newest_first_with_links);
	tcase_add_test(tc, test_unsubscribe_link_only_in_subscriber_messages);
	tcase_add_test(tc, test_subscription_confirm_explains_double_opt_in);
	tcase_add_loop_test(tc, test_text_lines_fit_in_78_columns, 0, N_KINDS);
	tcase_add_loop_test(
	    tc, test_hostile_values_are_shown_as_text_in_html, 0, N_KINDS);
	tcase_add_test(
	    tc, test_welsh_digest_subject_counts_posts_with_welsh_plurals);
	tcase_add_test(tc, test_welsh_set_translates_every_kind_and_partial);
	tcase_add_test(tc, test_textwrap_wraps_at_76_and_keeps_links_whole);
	suite_add_tcase(s, tc);

	tc = tcase_create("preview");
	tcase_add_checked_fixture(tc, preview_setup, preview_teardown);
	tcase_add_test(
	    tc, test_preview_confirmation_is_multipart_with_both_parts);
	tcase_add_test(
	    tc, test_preview_online_reminder_in_utf8_shows_joining_link);
	tcase_add_test(tc, test_preview_digest_lists_posts_newest_first);
	tcase_add_test(tc, test_preview_subscription_confirm_has_both_parts);
	tcase_add_test(tc, test_preview_line_breaks_in_a_title_make_no_header);
	tcase_add_test(tc, test_preview_welsh_delegate_gets_welsh_booking_mail);
	tcase_add_test(
	    tc, test_preview_course_language_applies_unless_the_person_has_one);
	tcase_add_test(
	    tc, test_preview_welsh_subscriber_gets_welsh_digest_and_opt_in);
	tcase_add_test(
	    tc, test_preview_missing_welsh_file_falls_back_to_english);
	tcase_add_test(
	    tc, test_preview_bilingual_message_is_welsh_then_english);
	tcase_add_test(
	    tc, test_preview_confirmation_carries_its_calendar_entry);
	tcase_add_test(
	    tc, test_preview_change_notice_compares_with_what_was_told);
	tcase_add_test(tc, test_preview_course_cancelled_cancels_the_entry);
	tcase_add_test(tc, test_preview_welsh_change_notice_is_welsh);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	xmlInitParser();
	return tu_run(templates_suite());
}
