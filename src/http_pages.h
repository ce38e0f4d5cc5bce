/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_pages: what familymaild answers over HTTP (http.h serves it):
 *
 *   GET  /unsubscribe?token=T  a page naming the (masked) address, with
 *                              one button; a GET never unsubscribes
 *   POST /unsubscribe?token=T  body List-Unsubscribe=One-Click (RFC
 *                              8058): unsubscribes at once, idempotent
 *   GET  /confirm?token=T      a page with a Confirm button: link
 *                              scanners follow links, so a GET (or HEAD)
 *                              never confirms
 *   POST /confirm?token=T      confirms a pending subscription
 *   GET  /preferences?token=T  weekly or monthly, or unsubscribe;
 *   POST /preferences?token=T  frequency=weekly|monthly or
 *                              action=unsubscribe
 *   GET  /healthz              200 "ok": the loop answers
 *   GET  /metrics              Prometheus text format (http_metrics.h),
 *                              here or on [http] metrics_listen
 *
 * Pages are plain HTML with the charity's name ([sender] from), no
 * scripts and nothing from elsewhere; forms post back to the page's
 * own address, so the pages work under any prefix of the reverse proxy.
 * A page is in the language its address asks for (lang=cy, which its
 * language links set), else the subscriber's (subscribers.language),
 * else [daemon] language, with links to the same page in the other
 * languages the charity writes in; the words are http_text.c's, one
 * table per language. A test link (familymail send-test) answers that
 * it is one and changes nothing. A bad token answers 400 (malformed)
 * or 404 (unknown, forged) and changes nothing. There are no redirects.
 *
 * Reads (the token's subscriber) run on the loop: the database is in
 * WAL mode, where a reader never waits for a writer. Changes go through
 * subscriber_queue.h, off the loop: a change the website's lock holds
 * up is kept in a journal and the page says it takes effect within
 * minutes (202) instead of failing.
 */
#ifndef FM_HTTP_PAGES_H
#define FM_HTTP_PAGES_H

#include <stddef.h>

#include <sqlite3.h>
#include <uv.h>

struct cfg;
struct http_request;
struct http_pages;

/* Pages on db (the loop's connection, for reads; not owned): changes
 * and /metrics use connections of their own on the same file. */
struct http_pages *http_pages_new(uv_loop_t *loop, sqlite3 *db);

/* Frees p; only once the loop has finished every request (after
 * uv_run() returned). http_pages_free(NULL) does nothing. */
void http_pages_free(struct http_pages *p);

/*
 * Points p at the running config and token secret (NULL: token pages
 * answer 404). Neither is copied: call it again before the old ones are
 * freed (at a reload). Reads [http] metrics_token_file, and applies
 * [http] trusted_proxies to the listeners.
 */
void http_pages_set_config(struct http_pages *p, const struct cfg *cfg,
    const char *secret, size_t secret_len);

/*
 * Listens where the config says: [http] listen, and [http]
 * metrics_listen when set (metrics and /healthz alone there). Returns
 * 0, or -EADDRINUSE with *err newly allocated (the caller frees) and
 * nothing listening.
 */
int http_pages_listen(struct http_pages *p, char **err);

/* Stops listening and closes the connections (at a stop); changes in
 * flight are still kept. http_pages_stop(NULL) does nothing. */
void http_pages_stop(struct http_pages *p);

/* The http_handler_fn of [http] listen: arg is the struct http_pages. */
void http_pages_handle(void *arg, struct http_request *req);

#endif
