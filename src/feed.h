/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * feed: the blog's RSS 2.0 or Atom feed, parsed with libxml2 into posts
 * and stored into the posts table by URL (a post already there is left
 * as it is). It neither fetches (feed_fetch.c does, on the loop) nor
 * decides what goes into a digest.
 *
 * The parser never loads external entities or DTDs and never expands
 * entities into the tree, so a hostile feed cannot read files or blow up
 * memory; input is capped at FEED_MAX_SIZE.
 */
#ifndef FM_FEED_H
#define FM_FEED_H

#include <stddef.h>
#include <time.h>

#include <sqlite3.h>

#define FEED_MAX_SIZE  (4 * 1024 * 1024)
#define FEED_MAX_ITEMS 1000

struct feed_item {
	char *title;
	char *url;
	char *author;  /* may be NULL */
	char *summary; /* plain text or simple HTML, may be NULL */
	time_t published;
};

struct feed {
	struct feed_item *items;
	size_t n;
	size_t skipped; /* items without a title, link or date, or with a
			   link a message may not carry */
};

/*
 * Parses an RSS 2.0 or Atom document. Returns 0 and *out (free with
 * feed_free()), or -EINVAL with *why (newly allocated, the caller frees)
 * when the document is not a
 * feed at all. Items that lack a title, link or date, and items whose
 * link is not an http, https or mailto address (logged: it would go
 * into an href), are counted in skipped, not fatal.
 */
int feed_parse(const char *data, size_t len, struct feed **out, char **why);
void feed_free(struct feed *f);

/* Inserts the items whose URL is new. Returns how many, or a negative
 * errno (nothing is inserted then: one transaction). */
int feed_store(sqlite3 *db, const struct feed *f);

/* Parses an RFC 822 date as RSS uses ("Mon, 23 Nov 2026 08:00:00
 * +0000", "GMT", zone names of RFC 822). 0 or -EINVAL. */
int feed_parse_rfc822(const char *s, time_t *out);

#endif
