/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http: a small HTTP/1.1 server on the daemon's libuv loop, for the
 * subscriber pages and the metrics. Requests are parsed by Debian's
 * http-parser (libhttp-parser); this module adds what a server facing
 * the internet (through a reverse proxy) needs:
 *
 * - hard caps on the request line (2 KB), the headers (8 KB, else 431)
 *   and the body (4 KB, else 413);
 * - deadlines: the request head (request line and headers) within 5 s
 *   of the connection, the whole request within 10 s, the answer taken
 *   within 10 s;
 * - connection slots: 256 in all, 32 for one client address (a /64 for
 *   IPv6; trusted proxies are not capped); when all are taken, the
 *   connection that has waited longest for its request is closed to make
 *   room (first among addresses that hold several), and a new connection
 *   is refused only when every slot is busy answering;
 * - a rate limit on failures, not on successes: each client has a
 *   bucket of 40 failures refilled at 2 a second, and once it is empty
 *   a request that would fail (a bad token, an unknown page, a bad
 *   request: 400, 401, 403, 404, 405, 408, 413, 414, 431) is answered
 *   429 instead. A request that succeeds is never refused, so a valid
 *   one-click unsubscribe goes through whatever else the same address
 *   sent;
 * - the client of a request is its peer, or, when the peer is one of the
 *   trusted proxies (http_server_set_proxies()), the last address of
 *   X-Forwarded-For that is not a trusted proxy: X-Forwarded-For from
 *   anyone else is ignored;
 * - warnings about refused or evicted connections at most once every
 *   10 s, with a count of what happened meanwhile;
 * - one request per connection (every answer says Connection: close).
 *
 * Every answer carries the security headers of the pages (a
 * Content-Security-Policy that allows no scripts and no outside
 * resources, no framing, no referrer, no caching). It is not a general
 * web server: no TLS (the proxy has it), no files, no redirects.
 */
#ifndef FM_HTTP_H
#define FM_HTTP_H

#include <stddef.h>

#include <uv.h>

struct http_server;

/* One request, valid until http_respond() is called for it. */
struct http_request {
	const char *method;       /* "GET", "POST", ... */
	const char *path;         /* percent-encoded, without the query */
	const char *query;        /* after '?', "" when none */
	const char *content_type; /* "" when none */
	const char *body;         /* NUL-terminated; body_len bytes */
	size_t body_len;
	const char *authorization; /* "" when none */
	const char *peer;          /* the connection's address */
	const char *client;        /* the peer, or the client a trusted proxy
			       named in X-Forwarded-For */
};

/*
 * Called on the loop for each complete request within the limits. The
 * handler must call http_respond() exactly once, now or later (from
 * another loop callback, e.g. after uv_queue_work); the request stays
 * valid until then even if the client has gone.
 */
typedef void (*http_handler_fn)(void *arg, struct http_request *req);

/*
 * Listens on listen ("127.0.0.1:8025", "[::1]:8025") on loop. Returns
 * the server, or NULL with *err a newly allocated reason (the caller
 * frees) if the address is bad or cannot be bound.
 */
struct http_server *http_server_new(uv_loop_t *loop, const char *listen,
    http_handler_fn handler, void *arg, char **err);

/*
 * Believes X-Forwarded-For from these peers: list is as
 * cfg_value_parse_nets() reads it ("127.0.0.1, ::1, 10.0.0.0/8"), or NULL
 * for nobody (the default). Returns 0, or -EINVAL (nothing changed).
 */
int http_server_set_proxies(struct http_server *s, const char *list);

/*
 * Stops listening and closes every connection; requests still in a
 * handler are answered to nobody. Memory goes with the last close
 * callback, so the loop must run on afterwards. http_server_free(NULL)
 * does nothing.
 */
void http_server_free(struct http_server *s);

/*
 * Answers req with status, a Content-Type and body (copied); the
 * request is then gone. Safe after the client or the server closed. A
 * failure status from a client over its limit goes out as 429 (see
 * above); 401 carries WWW-Authenticate: Bearer, 405 Allow, 429 and 503
 * Retry-After.
 */
void http_respond(struct http_request *req, int status,
    const char *content_type, const char *body, size_t body_len);

/* The reason phrase of status ("Not Found"); "Unknown" for others. */
const char *http_status_text(int status);

/*
 * Looks name up in a query string or a form body
 * (application/x-www-form-urlencoded) and decodes it ('+' and %XX).
 * Returns a newly allocated value (the caller frees), or NULL when
 * absent or not decodable (a %00, a bad escape).
 */
char *http_form_value(const char *form, const char *name);

#endif
