/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * feed: see feed.h.
 */
#include "config.h"

#include "feed.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define FEED_ATOM_NS "http://www.w3.org/2005/Atom"

static bool
feed_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name != NULL &&
	    strcmp((const char *)n->name, name) == 0;
}

/* The element's text, trimmed; NULL when empty. */
static char *
feed_text(const xmlNode *n)
{
	xmlChar *s = xmlNodeGetContent(n);
	const char *p, *end;
	char *out = NULL;

	if (s == NULL)
		return NULL;
	p = (const char *)s;
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (end > p)
		out = xstrndup(p, (size_t)(end - p));
	xmlFree(s);
	return out;
}

static void
feed_take(char **dst, char *s)
{
	if (*dst == NULL)
		*dst = s;
	else
		free(s);
}

static const struct {
	const char *name;
	int minutes;
} feed_zones[] = {
	{ "UT", 0 },
	{ "GMT", 0 },
	{ "Z", 0 },
	{ "EST", -300 },
	{ "EDT", -240 },
	{ "CST", -360 },
	{ "CDT", -300 },
	{ "MST", -420 },
	{ "MDT", -360 },
	{ "PST", -480 },
	{ "PDT", -420 },
	{ "BST", 60 },
};

/* Reads a number of 1 to width digits at *p, after any blanks, and
 * moves *p past it; more digits than width are no number. */
static bool
feed_scan_num(const char **p, int width, int *out)
{
	const char *s = *p;
	int v = 0, n = 0;

	while (isspace((unsigned char)*s))
		s++;
	for (; n < width && isdigit((unsigned char)s[n]); n++)
		v = v * 10 + (s[n] - '0');
	if (n == 0 || isdigit((unsigned char)s[n]))
		return false;
	*out = v;
	*p = s + n;
	return true;
}

int
feed_parse_rfc822(const char *s, time_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int day, year, h, mi, sec = 0, off = 0, k;
	char mon[4], zone[8] = "";
	const char *p = s, *m;
	struct tm tm;

	if (s == NULL)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	/* An optional weekday: "Mon, ". */
	if (isalpha((unsigned char)*p)) {
		while (isalpha((unsigned char)*p))
			p++;
		if (*p == ',')
			p++;
	}
	/* "7 Dec 2026 09:30[:00]" */
	if (!feed_scan_num(&p, 9, &day))
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	for (k = 0; k < 3 && *p != '\0' && !isspace((unsigned char)*p); k++)
		mon[k] = *p++;
	mon[k] = '\0';
	if (k == 0 || !feed_scan_num(&p, 9, &year) ||
	    !feed_scan_num(&p, 9, &h) || *p != ':')
		return -EINVAL;
	p++;
	if (!feed_scan_num(&p, 9, &mi))
		return -EINVAL;
	if (*p == ':') {
		p++;
		if (!feed_scan_num(&p, 9, &sec))
			return -EINVAL;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-') {
		const char *z = p + 1;
		int hhmm;

		if (!feed_scan_num(&z, 4, &hhmm))
			return -EINVAL;
		off = (hhmm / 100) * 60 + hhmm % 100;
		if (*p == '-')
			off = -off;
	} else if (*p != '\0') {
		size_t i;

		if (sscanf(p, "%7s", zone) != 1)
			return -EINVAL;
		for (i = 0; i < UTIL_ARRAY_LEN(feed_zones); i++)
			if (strcasecmp(zone, feed_zones[i].name) == 0)
				break;
		if (i == UTIL_ARRAY_LEN(feed_zones))
			return -EINVAL;
		off = feed_zones[i].minutes;
	}
	m = strstr(months, mon);
	if (strlen(mon) != 3 || m == NULL || (m - months) % 3 != 0)
		return -EINVAL;
	if (year < 100)
		year += year < 70 ? 2000 : 1900;
	if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60 || year < 1970)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - off * 60;
	return 0;
}

static void
feed_item_free(struct feed_item *it)
{
	free(it->title);
	free(it->url);
	free(it->author);
	free(it->summary);
}

static void
feed_add(struct feed *f, struct feed_item *it, bool dated)
{
	if (it->title == NULL || it->url == NULL || !dated ||
	    f->n >= FEED_MAX_ITEMS || strlen(it->url) > 2048) {
		feed_item_free(it);
		f->skipped++;
		return;
	}
	/* The link goes into the digest's href: a javascript: or data:
	 * URL would run in the reader's mail client. */
	if (!util_link_is_safe(it->url)) {
		log_warnx("feed item refused link=\"%s\" title=\"%s\": not "
			  "an http, https or mailto link",
		    it->url, it->title);
		feed_item_free(it);
		f->skipped++;
		return;
	}
	f->items = xreallocarray(f->items, f->n + 1, sizeof(*f->items));
	f->items[f->n++] = *it;
}

/*
 * A person's name from RSS author, which should be an address: "email
 * (Name)" (RSS 2.0's own example; Blogger writes "noreply@blogger.com
 * (William Kennedy)") gives Name, "Name <email>" Name; a bare address
 * names nobody a reader should see (NULL); anything else is a name.
 * Takes s.
 */
static char *
feed_author_name(char *s)
{
	char *open, *close, *out = NULL;

	if (s == NULL)
		return NULL;
	open = strchr(s, '(');
	close = open != NULL ? strrchr(open, ')') : NULL;
	if (open != NULL && close != NULL && close > open + 1) {
		out = xstrndup(open + 1, (size_t)(close - open - 1));
	} else if ((open = strchr(s, '<')) != NULL && open > s) {
		while (open > s && open[-1] == ' ')
			open--;
		out = xstrndup(s, (size_t)(open - s));
	} else if (strchr(s, '@') == NULL) {
		out = xstrdup(s);
	}
	free(s);
	if (out != NULL && (out[0] == '\0' || strchr(out, '@') != NULL)) {
		free(out);
		out = NULL;
	}
	return out;
}

static void
feed_rss_item(struct feed *f, const xmlNode *item)
{
	struct feed_item it = { 0 };
	char *creator = NULL, *author = NULL, *content = NULL;
	bool dated = false;
	char *s;

	for (const xmlNode *c = item->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (feed_is(c, "title")) {
			feed_take(&it.title, feed_text(c));
		} else if (feed_is(c, "link")) {
			feed_take(&it.url, feed_text(c));
		} else if (feed_is(c, "creator")) {
			feed_take(&creator, feed_text(c));
		} else if (feed_is(c, "author")) {
			feed_take(&author, feed_author_name(feed_text(c)));
		} else if (feed_is(c, "description")) {
			feed_take(&it.summary, feed_text(c));
		} else if (feed_is(c, "encoded")) {
			/* content:encoded, the whole post: the summary only
			 * when the item has no description. */
			feed_take(&content, feed_text(c));
		} else if (feed_is(c, "pubDate") || feed_is(c, "date")) {
			s = feed_text(c);
			if (!dated && s != NULL &&
			    (feed_parse_rfc822(s, &it.published) == 0 ||
				clock_parse_iso(s, &it.published) == 0))
				dated = true;
			free(s);
		}
	}
	/* dc:creator is a name; RSS author an address, perhaps with one. */
	it.author = creator != NULL ? creator : author;
	if (creator != NULL)
		free(author);
	feed_take(&it.summary, content);
	feed_add(f, &it, dated);
}

static void
feed_atom_entry(struct feed *f, const xmlNode *entry)
{
	struct feed_item it = { 0 };
	bool dated = false, published = false;
	xmlChar *rel, *href;
	char *s;

	for (const xmlNode *c = entry->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (feed_is(c, "title")) {
			feed_take(&it.title, feed_text(c));
		} else if (feed_is(c, "link")) {
			rel = xmlGetProp(c, (const xmlChar *)"rel");
			href = xmlGetProp(c, (const xmlChar *)"href");
			if (href != NULL &&
			    (rel == NULL ||
				strcmp((const char *)rel, "alternate") == 0))
				feed_take(&it.url, xstrdup((const char *)href));
			xmlFree(rel);
			xmlFree(href);
		} else if (feed_is(c, "author")) {
			for (const xmlNode *a = c->children; a != NULL;
			     a = a->next)
				if (feed_is(a, "name"))
					feed_take(&it.author, feed_text(a));
		} else if (feed_is(c, "summary")) {
			free(it.summary);
			it.summary = feed_text(c);
		} else if (feed_is(c, "content")) {
			feed_take(&it.summary, feed_text(c));
		} else if (feed_is(c, "published") ||
		    (feed_is(c, "updated") && !published)) {
			s = feed_text(c);
			if (s != NULL &&
			    clock_parse_iso(s, &it.published) == 0) {
				dated = true;
				published = feed_is(c, "published");
			}
			free(s);
		}
	}
	feed_add(f, &it, dated);
}

static int
feed_parse_at(const char *data, size_t len, struct feed **out, const char **why)
{
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | XML_PARSE_NOBLANKS;
	struct feed *f;
	xmlNode *root;
	xmlDoc *doc;

	*out = NULL;
	if (len > FEED_MAX_SIZE) {
		*why = "feed larger than 4 MB";
		return -EFBIG;
	}
	doc = xmlReadMemory(data, (int)len, NULL, NULL, opts);
	if (doc == NULL) {
		*why = "not well-formed XML";
		return -EINVAL;
	}
	root = xmlDocGetRootElement(doc);
	f = xcalloc(1, sizeof(*f));
	if (root != NULL && feed_is(root, "rss")) {
		for (xmlNode *ch = root->children; ch != NULL; ch = ch->next)
			if (feed_is(ch, "channel"))
				for (xmlNode *c = ch->children; c != NULL;
				     c = c->next)
					if (feed_is(c, "item"))
						feed_rss_item(f, c);
	} else if (root != NULL && feed_is(root, "feed")) {
		for (xmlNode *c = root->children; c != NULL; c = c->next)
			if (feed_is(c, "entry"))
				feed_atom_entry(f, c);
	} else {
		xmlFreeDoc(doc);
		free(f);
		*why = "neither RSS 2.0 nor Atom";
		return -EINVAL;
	}
	xmlFreeDoc(doc);
	*out = f;
	return 0;
}

int
feed_parse(const char *data, size_t len, struct feed **out, char **why)
{
	const char *w = NULL;
	int ret = feed_parse_at(data, len, out, &w);

	if (ret != 0)
		*why = xstrdup(w != NULL ? w : "cannot be read");
	return ret;
}

void
feed_free(struct feed *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++)
		feed_item_free(&f->items[i]);
	free(f->items);
	free(f);
}

int
feed_store(sqlite3 *db, const struct feed *f)
{
	static const char sql[] =
	    "INSERT INTO posts (title, url, author, summary, published_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (url) DO NOTHING";
	char when[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int ret, rc, added = 0;

	ret = db_begin(db);
	if (ret != 0)
		return ret;
	ret = db_prepare(db, sql, &st);
	for (size_t i = 0; ret == 0 && i < f->n; i++) {
		const struct feed_item *it = &f->items[i];

		clock_format_iso(it->published, when);
		sqlite3_bind_text(st, 1, it->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, it->url, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, it->author, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, it->summary, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, when, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			ret = db_errno(rc);
		else
			added += sqlite3_changes(db);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0) {
		db_rollback(db);
		return ret;
	}
	return added;
}
