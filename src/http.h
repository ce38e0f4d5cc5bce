/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http: a small HTTP/1.1 server on the daemon's libuv loop, for the
 * subscriber pages and the metrics. Requests are parsed by Debian's
 * http-parser (libhttp-parser); this module adds what a server facing
 * the internet (through a reverse proxy) needs: hard caps on the request
 * line (2 KB), the headers (8 KB, else 431) and the body (4 KB, else
 * 413), a per-client rate limit (429), a deadline for a whole request
 * and for writing the answer, a cap on open connections, and one
 * request per connection (every answer says Connection: close).
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
	const char *client; /* the rate limit's key: peer address, or the
			       proxy's X-Forwarded-For from loopback */
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
 * Stops listening and closes every connection; requests still in a
 * handler are answered to nobody. Memory goes with the last close
 * callback, so the loop must run on afterwards. http_server_free(NULL)
 * does nothing.
 */
void http_server_free(struct http_server *s);

/*
 * Answers req with status, a Content-Type and body (copied); the
 * request is then gone. Safe after the client or the server closed.
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
