/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_pages: what familymaild answers over HTTP (http.h serves it):
 *
 *   GET  /unsubscribe?token=T  a page naming the (masked) address, with
 *                              one button; a GET never unsubscribes
 *   POST /unsubscribe?token=T  body List-Unsubscribe=One-Click (RFC
 *                              8058): unsubscribes at once, idempotent
 *   GET  /confirm?token=T      confirms a pending subscription
 *   GET  /preferences?token=T  weekly or monthly, or unsubscribe;
 *   POST /preferences?token=T  frequency=weekly|monthly or
 *                              action=unsubscribe
 *   GET  /healthz              200 "ok" when the database answers
 *   GET  /metrics              Prometheus text format
 *
 * A page is in the subscriber's language (subscribers.language), else
 * [daemon] language, with links to the same page in the other languages
 * the charity writes in (lang=cy in the address chooses one); the words
 * are http_pages_text.c's, one table per language.
 *
 * Pages are plain HTML with the charity's name ([sender] from), no
 * scripts and nothing from elsewhere; forms post back to the page's
 * own address, so the pages work under any prefix of the reverse proxy.
 * A bad token answers 400 (malformed) or 404 (unknown, forged) and
 * changes nothing. There are no redirects. Subscriber changes go
 * through subscriber.h; this module only maps them to pages.
 */
#ifndef FM_HTTP_PAGES_H
#define FM_HTTP_PAGES_H

#include <stddef.h>

#include <sqlite3.h>
#include <uv.h>

struct cfg;
struct http_request;
struct http_pages;

/* Pages on db (the loop's connection; not owned). /metrics reads in the
 * thread pool on a connection of its own, opened per request. */
struct http_pages *http_pages_new(uv_loop_t *loop, sqlite3 *db);

/* Frees p; only once the loop has finished every request (after
 * uv_run() returned). http_pages_free(NULL) does nothing. */
void http_pages_free(struct http_pages *p);

/*
 * Points p at the running config and token secret (NULL: token pages
 * answer 404). Neither is copied: call it again before the old ones are
 * freed (at a reload).
 */
void http_pages_set_config(struct http_pages *p, const struct cfg *cfg,
    const char *secret, size_t secret_len);

/* The http_handler_fn: arg is the struct http_pages. */
void http_pages_handle(void *arg, struct http_request *req);

#endif
