/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_client: who an HTTP request comes from, for http.c, and what its
 * failures have cost that client.
 *
 * A client is an address: the connection's peer, or, when the peer is
 * one of the trusted proxies, the last address of X-Forwarded-For that
 * is not a trusted proxy itself (each proxy appends the address it saw,
 * so what lies to the left is the client's own word). IPv6 addresses
 * count by their /64, which one household's line usually holds whole.
 *
 * Each client has a bucket of HTTP_CLIENT_BURST failures, refilled at
 * HTTP_CLIENT_PER_SEC; a failure with the bucket empty is answered 429.
 * Successes cost nothing. Buckets live in a fixed table: a client not
 * seen for a while gives its slot to a new one (at worst it starts again
 * with a full bucket). It neither reads nor answers requests.
 */
#ifndef FM_HTTP_CLIENT_H
#define FM_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CLIENT_MAX     64 /* an address key, with its NUL */
#define HTTP_CLIENT_BURST   40.0
#define HTTP_CLIENT_PER_SEC 2.0

struct http_client;

/* A table of buckets and no trusted proxy. Never NULL. */
struct http_client *http_client_new(void);
/* http_client_free(NULL) does nothing. */
void http_client_free(struct http_client *cl);

/* Trusts list (as cfg_value_parse_nets() reads it; NULL: nobody).
 * Returns 0, or -EINVAL with nothing changed (logged). */
int http_client_set_proxies(struct http_client *cl, const char *list);

/* True if addr (numeric) is a trusted proxy. */
bool http_client_is_proxy(const struct http_client *cl, const char *addr);

/* The key addr counts under (itself, or an IPv6 /64), into out. */
void http_client_key(const char *addr, char *out, size_t size);

/*
 * The client of a request from peer (peer_key its key) carrying
 * X-Forwarded-For xff[0..xff_len) (xff_len 0: none), into out. An entry
 * that is not an address ends the walk: the request counts against the
 * last address believed (the peer, when it is the first).
 */
void http_client_pick(const struct http_client *cl, const char *peer,
    const char *peer_key, const char *xff, size_t xff_len, char *out,
    size_t size);

/*
 * The status a request of client is answered with, at now_ms: a failure
 * (400, 401, 403, 404, 405, 408, 413, 414, 431) costs one from its
 * bucket, or is 429 when the bucket is empty; anything else is status.
 */
int http_client_judge(
    struct http_client *cl, const char *client, int status, uint64_t now_ms);

#endif
