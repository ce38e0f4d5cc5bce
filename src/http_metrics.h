/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_metrics: GET /metrics, the Prometheus text format (version 0.0.4).
 *
 * The figures come from grouping whole tables (the outbox by kind and
 * state, delivery latency, bounces, suppressions, subscribers; the
 * relays as the daemon last wrote them, relay_store.h), which
 * takes a second at 200,000 messages: so they are read in the thread
 * pool, on a connection of their own, at most one scan at a time, and
 * the result is kept for HTTP_METRICS_TTL_MS. A request in that time is
 * answered from it; a request that finds it old waits for the one scan
 * under way, or starts it. Any number of scrapers costs one scan every
 * 10 s at most. Live figures that cost nothing (http_metrics_live_fn)
 * are added to every answer.
 *
 * With a token (the contents of [http] metrics_token_file), a request
 * must carry "Authorization: Bearer TOKEN" or is answered 401. Where the
 * metrics are served ([http] listen or metrics_listen) is
 * http_pages.c's business.
 */
#ifndef FM_HTTP_METRICS_H
#define FM_HTTP_METRICS_H

#include <uv.h>

#define HTTP_METRICS_TTL_MS 10000

struct buf;
struct http_request;
struct http_metrics;

/* Appends live gauge families (text format) to out, on the loop. */
typedef void (*http_metrics_live_fn)(void *arg, struct buf *out);

/* Metrics for the pages on loop; live (may be NULL) adds figures to
 * each answer. Never NULL. */
struct http_metrics *http_metrics_new(
    uv_loop_t *loop, http_metrics_live_fn live, void *live_arg);

/* Frees m once the loop has finished (after uv_run() returned).
 * http_metrics_free(NULL) does nothing. */
void http_metrics_free(struct http_metrics *m);

/* Reads the database at path (copied); token NULL asks for none, else
 * the bearer token requests must carry (copied, wiped when replaced). */
void http_metrics_set(
    struct http_metrics *m, const char *database, const char *token);

/* Answers req (GET or HEAD /metrics), now or when the scan is done. */
void http_metrics_handle(struct http_metrics *m, struct http_request *req);

#endif
