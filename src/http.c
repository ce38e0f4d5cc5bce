/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http: see http.h. A connection goes through
 *
 *   reading -> handling -> writing -> draining -> closed
 *
 * (any state can jump to closed). After the answer is written the
 * write side is shut down and what the client still sends is read and
 * dropped for a moment: closing with unread data would reset the
 * connection, and the client could lose the answer (a 413 to a body
 * still on its way).
 *
 * A connection holds references for its two handles and one while a
 * handler has its request; it is freed at the last. The server holds
 * one for its listener and one per connection. A connection counts
 * against the slots (n_live) from its accept until it is closed, not
 * until its memory goes.
 */
#include "config.h"

#include "http.h"

#include <errno.h>
#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http_client.h"
#include "log.h"
#include "util.h"

#define HTTP_URL_MAX     2048
#define HTTP_HEADERS_MAX 8192
#define HTTP_BODY_MAX    4096
#define HTTP_VALUE_MAX   256 /* Content-Type, Authorization */
#define HTTP_CONNS_MAX   256
/* One client address may hold this many slots (a browser opens a few,
 * an office behind one address a few dozen; a proxy is not capped). */
#define HTTP_PEER_CONNS_MAX 32
#define HTTP_BACKLOG        1024
/* The request head must arrive within HTTP_HEAD_MS of the connection,
 * the whole request within HTTP_REQUEST_MS (slow clients hold a slot
 * each); the answer must be taken within HTTP_REQUEST_MS. */
#define HTTP_HEAD_MS    5000
#define HTTP_REQUEST_MS 10000
#define HTTP_DRAIN_MS   1000
/* A kind of warning is logged at most once in this many ms. */
#define HTTP_WARN_MS 10000

static const char http_security_headers[] =
    "Cache-Control: no-store\r\n"
    "Content-Security-Policy: default-src 'none'; style-src "
    "'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'\r\n"
    "X-Frame-Options: DENY\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";

enum http_state {
	HTTP_READING,
	HTTP_HANDLING,
	HTTP_WRITING,
	HTTP_DRAINING,
	HTTP_CLOSED,
};

enum http_header {
	HTTP_H_OTHER,
	HTTP_H_CONTENT_TYPE,
	HTTP_H_FORWARDED_FOR,
	HTTP_H_AUTHORIZATION,
};

/* The warnings that a flood would repeat. */
enum http_warning {
	HTTP_W_FULL,     /* every slot busy: a connection refused */
	HTTP_W_EVICTED,  /* every slot taken: a waiting one closed */
	HTTP_W_PEER_CAP, /* one address over its share */
	HTTP_W_COUNT,
};

struct http_warn_state {
	uint64_t last_ms; /* when one was last logged; 0: never */
	unsigned quiet;   /* how many since, not logged */
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t write_req;
	uv_shutdown_t shutdown_req;
	struct http_server *srv;
	struct http_conn *next, *prev;
	int refs;
	enum http_state state;
	bool peer_gone;
	http_parser parser;
	http_parser_settings settings;
	size_t header_bytes;
	bool in_value;
	enum http_header header;
	int error_status; /* set by a parser callback over a limit */
	bool message_done;
	bool head_done; /* the request line and headers have arrived */
	uint64_t accepted_ms;
	struct buf url, body, content_type, forwarded_for, authorization, out;
	char peer[HTTP_CLIENT_MAX];
	char peer_key[HTTP_CLIENT_MAX]; /* the peer, IPv6 cut to its /64 */
	char client[HTTP_CLIENT_MAX];
	char method[16];
	char *path, *query;
	struct http_request req;
	char rbuf[4096];
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t tcp;
	http_handler_fn handler;
	void *arg;
	int refs;
	int n_conns; /* with memory, closed or not */
	int n_live;  /* not closed: what the slots count */
	bool closing;
	struct http_conn *conns; /* newest first */
	struct http_client *clients;
	struct http_warn_state warn[HTTP_W_COUNT];
};

const char *
http_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	}
	return "Unknown";
}

/* ------------------------------------------------------------ lifetime */

static void
http_server_unref(struct http_server *s)
{
	if (--s->refs == 0) {
		http_client_free(s->clients);
		free(s);
	}
}

static void
http_conn_unref(struct http_conn *c)
{
	struct http_server *s = c->srv;

	if (--c->refs > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->n_conns--;
	buf_fini(&c->url);
	buf_fini(&c->body);
	buf_fini(&c->content_type);
	buf_fini(&c->forwarded_for);
	buf_fini(&c->authorization);
	buf_fini(&c->out);
	free(c->path);
	free(c->query);
	free(c);
	http_server_unref(s);
}

static void
http_conn_on_close(uv_handle_t *h)
{
	http_conn_unref(h->data);
}

static void
http_conn_close(struct http_conn *c)
{
	if (c->state == HTTP_CLOSED)
		return;
	c->state = HTTP_CLOSED;
	c->srv->n_live--;
	uv_close((uv_handle_t *)&c->tcp, http_conn_on_close);
	uv_close((uv_handle_t *)&c->timer, http_conn_on_close);
}

/* ------------------------------------------------------------ writing */

static void
http_conn_on_drain_timer(uv_timer_t *t)
{
	http_conn_close(t->data);
}

static void http_conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void http_conn_on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *b);

static void
http_conn_on_shutdown(uv_shutdown_t *req, int status)
{
	struct http_conn *c = req->data;

	if (c->state != HTTP_WRITING)
		return;
	if (status != 0 || c->peer_gone) {
		http_conn_close(c);
		return;
	}
	/* Read what the client still sends, to drop it, and its end: the
	 * connection closes as soon as the client has closed its side. */
	c->state = HTTP_DRAINING;
	uv_timer_start(&c->timer, http_conn_on_drain_timer, HTTP_DRAIN_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, http_conn_on_alloc,
		http_conn_on_read) != 0)
		http_conn_close(c);
}

static void
http_conn_on_write(uv_write_t *req, int status)
{
	struct http_conn *c = req->data;

	if (c->state != HTTP_WRITING)
		return;
	c->shutdown_req.data = c;
	if (status != 0 ||
	    uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp,
		http_conn_on_shutdown) != 0)
		http_conn_close(c);
}

static void
http_conn_on_write_timer(uv_timer_t *t)
{
	http_conn_close(t->data);
}

static void
http_conn_send(struct http_conn *c, int status, const char *content_type,
    const char *body, size_t body_len)
{
	bool head = strcmp(c->method, "HEAD") == 0;
	uv_buf_t b;

	buf_reset(&c->out);
	buf_printf(&c->out,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "%s",
	    status, http_status_text(status), content_type, body_len,
	    http_security_headers);
	if (status == 429 || status == 503)
		buf_puts(&c->out, "Retry-After: 10\r\n");
	if (status == 405)
		buf_puts(&c->out, "Allow: GET, HEAD, POST\r\n");
	if (status == 401)
		buf_puts(&c->out,
		    "WWW-Authenticate: Bearer realm=\"familymail\"\r\n");
	buf_puts(&c->out, "\r\n");
	if (!head)
		buf_append(&c->out, body, body_len);
	c->state = HTTP_WRITING;
	c->write_req.data = c;
	b = uv_buf_init(c->out.data, (unsigned int)c->out.len);
	uv_timer_start(&c->timer, http_conn_on_write_timer, HTTP_REQUEST_MS, 0);
	if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1,
		http_conn_on_write) != 0)
		http_conn_close(c);
}

static void http_conn_pick_client(struct http_conn *c);
static int http_conn_judge(struct http_conn *c, int status);

/* An answer of the server itself (a limit, a bad request). */
static void
http_conn_send_error(struct http_conn *c, int status)
{
	char text[96];
	int n;

	http_conn_pick_client(c);
	status = http_conn_judge(c, status);
	log_info("http refused client=%s status=%d", c->client, status);
	uv_read_stop((uv_stream_t *)&c->tcp);
	n = snprintf(
	    text, sizeof(text), "%d %s\n", status, http_status_text(status));
	http_conn_send(c, status, "text/plain; charset=utf-8", text, (size_t)n);
	/* The rest of the request is not wanted, but read it (draining)
	 * so that closing does not reset the connection. */
}

void
http_respond(struct http_request *req, int status, const char *content_type,
    const char *body, size_t body_len)
{
	struct http_conn *c =
	    (struct http_conn *)((char *)req - offsetof(struct http_conn, req));
	char text[96];
	int judged;

	if (c->state == HTTP_HANDLING && !c->peer_gone) {
		judged = http_conn_judge(c, status);
		log_info("http %s %s client=%s status=%d", c->method, c->path,
		    c->client, judged);
		if (judged != status) {
			int n = snprintf(text, sizeof(text), "%d %s\n", judged,
			    http_status_text(judged));

			http_conn_send(c, judged, "text/plain; charset=utf-8",
			    text, (size_t)n);
		} else {
			http_conn_send(c, status, content_type, body, body_len);
		}
	} else if (c->state == HTTP_HANDLING) {
		(void)http_conn_judge(c, status);
		http_conn_close(c);
	}
	http_conn_unref(c);
}

/* ------------------------------------------------------------ limits */

/* The status a request is answered with (http_client_judge()). */
static int
http_conn_judge(struct http_conn *c, int status)
{
	return http_client_judge(
	    c->srv->clients, c->client, status, uv_now(c->srv->loop));
}

/* Logs a warning of kind w at most once per HTTP_WARN_MS, saying how
 * many more came since the last one. */
static void
http_warn(struct http_server *s, enum http_warning w, const char *what,
    const char *peer)
{
	struct http_warn_state *st = &s->warn[w];
	uint64_t now = uv_now(s->loop);

	if (st->last_ms != 0 && now - st->last_ms < HTTP_WARN_MS) {
		st->quiet++;
		return;
	}
	log_warnx("http %s peer=%s open=%d; %u more in the last %llus", what,
	    peer, s->n_live, st->quiet,
	    (unsigned long long)(st->last_ms != 0 ? (now - st->last_ms) / 1000
						  : 0));
	st->last_ms = now;
	st->quiet = 0;
}

/* The client a request is counted against (http_client.h). */
static void
http_conn_pick_client(struct http_conn *c)
{
	http_client_pick(c->srv->clients, c->peer, c->peer_key,
	    c->forwarded_for.data, c->forwarded_for.len, c->client,
	    sizeof(c->client));
}

int
http_server_set_proxies(struct http_server *s, const char *list)
{
	return http_client_set_proxies(s->clients, list);
}

/* ------------------------------------------------------------ parsing */

static struct http_conn *
http_conn_of(http_parser *p)
{
	return p->data;
}

static int
http_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = http_conn_of(p);

	if (c->url.len + len > HTTP_URL_MAX) {
		c->error_status = 414;
		return -1;
	}
	buf_append(&c->url, at, len);
	return 0;
}

static int
http_count_header(struct http_conn *c, size_t len)
{
	c->header_bytes += len;
	if (c->header_bytes > HTTP_HEADERS_MAX) {
		c->error_status = 431;
		return -1;
	}
	return 0;
}

static int
http_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = http_conn_of(p);

	if (http_count_header(c, len) != 0)
		return -1;
	if (c->in_value || c->header_bytes == len) {
		/* A new field: the name usually arrives whole, and one
		 * split across reads is simply not recognised. */
		c->in_value = false;
		c->header = HTTP_H_OTHER;
		if (len == 12 && strncasecmp(at, "content-type", len) == 0)
			c->header = HTTP_H_CONTENT_TYPE;
		else if (len == 15 &&
		    strncasecmp(at, "x-forwarded-for", len) == 0)
			c->header = HTTP_H_FORWARDED_FOR;
		/* Several X-Forwarded-For lines make one list. */
		if (c->header == HTTP_H_FORWARDED_FOR &&
		    c->forwarded_for.len > 0)
			buf_putc(&c->forwarded_for, ',');
		else if (len == 13 &&
		    strncasecmp(at, "authorization", len) == 0)
			c->header = HTTP_H_AUTHORIZATION;
	} else {
		c->header = HTTP_H_OTHER;
	}
	return 0;
}

static int
http_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = http_conn_of(p);
	struct buf *b = NULL;

	if (http_count_header(c, len) != 0)
		return -1;
	c->in_value = true;
	if (c->header == HTTP_H_CONTENT_TYPE)
		b = &c->content_type;
	else if (c->header == HTTP_H_FORWARDED_FOR)
		b = &c->forwarded_for;
	else if (c->header == HTTP_H_AUTHORIZATION)
		b = &c->authorization;
	/* X-Forwarded-For is kept whole (the headers' cap bounds it): its
	 * end is the part a proxy wrote, and a client that pads the start
	 * must not push it out. */
	if (b != NULL &&
	    (b->len + len <= HTTP_VALUE_MAX || b == &c->forwarded_for))
		buf_append(b, at, len);
	return 0;
}

static void http_conn_on_request_timer(uv_timer_t *t);

static int
http_on_headers_complete(http_parser *p)
{
	struct http_conn *c = http_conn_of(p);
	uint64_t spent = uv_now(c->srv->loop) - c->accepted_ms;

	if ((p->flags & F_CONTENTLENGTH) != 0 &&
	    p->content_length > HTTP_BODY_MAX) {
		c->error_status = 413;
		return -1;
	}
	/* The head is in: the body has what is left of the request's
	 * time. */
	c->head_done = true;
	uv_timer_start(&c->timer, http_conn_on_request_timer,
	    spent < HTTP_REQUEST_MS ? HTTP_REQUEST_MS - spent : 1, 0);
	return 0;
}

static int
http_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = http_conn_of(p);

	if (c->body.len + len > HTTP_BODY_MAX) {
		c->error_status = 413;
		return -1;
	}
	buf_append(&c->body, at, len);
	return 0;
}

static int
http_on_message_complete(http_parser *p)
{
	struct http_conn *c = http_conn_of(p);

	c->message_done = true;
	/* One request per connection: anything after it is not read. */
	http_parser_pause(p, 1);
	return 0;
}

/* Hands a complete request to the handler. */
static void
http_conn_dispatch(struct http_conn *c)
{
	struct http_parser_url u;
	const char *url;

	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_stop(&c->timer);
	(void)snprintf(c->method, sizeof(c->method), "%s",
	    http_method_str((enum http_method)c->parser.method));
	http_conn_pick_client(c);
	buf_putc(&c->url, '\0');
	url = c->url.data;
	http_parser_url_init(&u);
	if (http_parser_parse_url(url, c->url.len - 1, 0, &u) != 0 ||
	    (u.field_set & (1 << UF_PATH)) == 0 || url[0] != '/') {
		http_conn_send_error(c, 400);
		return;
	}
	c->path = xstrndup(
	    url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
	if ((u.field_set & (1 << UF_QUERY)) != 0)
		c->query = xstrndup(url + u.field_data[UF_QUERY].off,
		    u.field_data[UF_QUERY].len);
	else
		c->query = xstrdup("");
	buf_putc(&c->content_type, '\0');
	buf_putc(&c->authorization, '\0');
	buf_putc(&c->body, '\0');
	c->req.method = c->method;
	c->req.path = c->path;
	c->req.query = c->query;
	c->req.content_type = c->content_type.data;
	c->req.authorization = c->authorization.data;
	c->req.peer = c->peer;
	c->req.body = c->body.data;
	c->req.body_len = c->body.len - 1;
	c->req.client = c->client;
	c->state = HTTP_HANDLING;
	c->refs++; /* dropped by http_respond() */
	c->srv->handler(c->srv->arg, &c->req);
}

/* ------------------------------------------------------------ reading */

static void
http_conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct http_conn *c = h->data;

	(void)suggested;
	*b = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void
http_conn_on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *b)
{
	struct http_conn *c = h->data;
	enum http_errno e;

	if (nread == 0)
		return;
	if (nread < 0) {
		c->peer_gone = true;
		uv_read_stop(h);
		if (c->state == HTTP_READING || c->state == HTTP_DRAINING)
			http_conn_close(c);
		return;
	}
	if (c->state != HTTP_READING)
		return; /* draining: dropped */
	http_parser_execute(&c->parser, &c->settings, b->base, (size_t)nread);
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (c->message_done)
		http_conn_dispatch(c);
	else if (c->error_status != 0)
		http_conn_send_error(c, c->error_status);
	else if (e != HPE_OK)
		http_conn_send_error(c, 400);
}

static void
http_conn_on_request_timer(uv_timer_t *t)
{
	struct http_conn *c = t->data;

	if (c->state != HTTP_READING)
		return;
	/* Nothing at all: a connection opened and left, closed quietly. */
	if (c->parser.nread == 0 && c->url.len == 0 && !c->head_done)
		http_conn_close(c);
	else
		http_conn_send_error(c, 408);
}

/* True if another open connection comes from c's address. */
static bool
http_server_has_sibling(const struct http_server *s, const struct http_conn *c)
{
	const struct http_conn *o;

	for (o = s->conns; o != NULL; o = o->next)
		if (o != c && o->state != HTTP_CLOSED &&
		    strcmp(o->peer_key, c->peer_key) == 0)
			return true;
	return false;
}

/*
 * Makes room for one more connection when every slot is taken: closes
 * the connection that has waited longest for its request (or is only
 * draining an answer already sent), choosing first among addresses that
 * hold several: a flood is many connections, a person is one. False
 * when every slot is busy answering.
 */
static bool
http_server_evict(struct http_server *s, const struct http_conn *newcomer)
{
	struct http_conn *c, *tail = NULL, *oldest = NULL, *victim = NULL;

	for (c = s->conns; c != NULL; c = c->next)
		tail = c; /* the list runs newest first */
	for (c = tail; c != NULL && victim == NULL; c = c->prev) {
		if (c == newcomer ||
		    (c->state != HTTP_READING && c->state != HTTP_DRAINING))
			continue;
		if (oldest == NULL)
			oldest = c;
		if (http_server_has_sibling(s, c))
			victim = c;
	}
	if (victim == NULL)
		victim = oldest;
	if (victim == NULL)
		return false;
	http_warn(s, HTTP_W_EVICTED,
	    "connections full: closed the longest waiting", victim->peer);
	http_conn_close(victim);
	return true;
}

/* How many open connections peer_key holds. */
static int
http_server_peer_conns(const struct http_server *s, const char *peer_key)
{
	const struct http_conn *c;
	int n = 0;

	/* A draining connection has had its answer: it does not count. */
	for (c = s->conns; c != NULL; c = c->next)
		if (c->state != HTTP_CLOSED && c->state != HTTP_DRAINING &&
		    strcmp(c->peer_key, peer_key) == 0)
			n++;
	return n;
}

static void
http_conn_name_peer(struct http_conn *c)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);

	(void)snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&ss, c->peer,
			    sizeof(c->peer));
		else if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer,
			    sizeof(c->peer));
	}
	http_client_key(c->peer, c->peer_key, sizeof(c->peer_key));
}

static void
http_server_on_connection(uv_stream_t *listener, int status)
{
	struct http_server *s = listener->data;
	struct http_conn *c;

	if (status != 0 || s->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->refs = 2;
	c->accepted_ms = uv_now(s->loop);
	s->refs++;
	s->n_conns++;
	s->n_live++;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	buf_init(&c->url);
	buf_init(&c->body);
	buf_init(&c->content_type);
	buf_init(&c->forwarded_for);
	buf_init(&c->authorization);
	buf_init(&c->out);
	c->tcp.data = c->timer.data = c;
	c->parser.data = c;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		http_conn_close(c);
		return;
	}
	http_conn_name_peer(c);
	/* One address over its share is refused before it can take a
	 * slot from anyone else. */
	if (!http_client_is_proxy(s->clients, c->peer) &&
	    http_server_peer_conns(s, c->peer_key) > HTTP_PEER_CONNS_MAX) {
		http_warn(s, HTTP_W_PEER_CAP,
		    "connection refused: too many open from one address",
		    c->peer);
		http_conn_close(c);
		return;
	}
	if (s->n_live > HTTP_CONNS_MAX && !http_server_evict(s, c)) {
		http_warn(s, HTTP_W_FULL,
		    "connections full: refused a connection", c->peer);
		http_conn_close(c);
		return;
	}
	http_parser_init(&c->parser, HTTP_REQUEST);
	http_parser_settings_init(&c->settings);
	c->settings.on_url = http_on_url;
	c->settings.on_header_field = http_on_header_field;
	c->settings.on_header_value = http_on_header_value;
	c->settings.on_headers_complete = http_on_headers_complete;
	c->settings.on_body = http_on_body;
	c->settings.on_message_complete = http_on_message_complete;
	uv_timer_start(&c->timer, http_conn_on_request_timer, HTTP_HEAD_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, http_conn_on_alloc,
		http_conn_on_read) != 0)
		http_conn_close(c);
}

/* ------------------------------------------------------------ server */

static int
http_parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon;
	long port;
	size_t n;

	if (listen[0] == '[') {
		colon = strstr(listen, "]:");
		if (colon == NULL)
			return -EINVAL;
		n = (size_t)(colon - listen - 1);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, listen + 1, n);
		host[n] = '\0';
		if (util_parse_long(colon + 2, 1, 65535, &port) != 0)
			return -EINVAL;
		return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss);
	}
	colon = strrchr(listen, ':');
	if (colon == NULL)
		return -EINVAL;
	n = (size_t)(colon - listen);
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, n);
	host[n] = '\0';
	if (util_parse_long(colon + 1, 1, 65535, &port) != 0)
		return -EINVAL;
	return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss);
}

static void
http_server_on_close(uv_handle_t *h)
{
	http_server_unref(h->data);
}

struct http_server *
http_server_new(uv_loop_t *loop, const char *listen, http_handler_fn handler,
    void *arg, char **err)
{
	struct sockaddr_storage ss;
	struct http_server *s;
	int ret;

	*err = NULL;
	memset(&ss, 0, sizeof(ss));
	ret = http_parse_listen(listen, &ss);
	if (ret != 0) {
		*err = xasprintf("'%s' is not ADDRESS:PORT", listen);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->clients = http_client_new();
	s->loop = loop;
	s->handler = handler;
	s->arg = arg;
	s->refs = 1;
	s->tcp.data = s;
	ret = uv_tcp_init(loop, &s->tcp);
	if (ret != 0) {
		http_client_free(s->clients);
		free(s);
		*err = xasprintf("%s", uv_strerror(ret));
		return NULL;
	}
	ret = uv_tcp_bind(&s->tcp, (const struct sockaddr *)&ss, 0);
	if (ret == 0)
		ret = uv_listen((uv_stream_t *)&s->tcp, HTTP_BACKLOG,
		    http_server_on_connection);
	if (ret != 0) {
		*err = xasprintf(
		    "cannot listen on %s: %s", listen, uv_strerror(ret));
		s->closing = true;
		uv_close((uv_handle_t *)&s->tcp, http_server_on_close);
		return NULL;
	}
	log_info("http listening on %s", listen);
	return s;
}

void
http_server_free(struct http_server *s)
{
	struct http_conn *c, *next;

	if (s == NULL)
		return;
	s->closing = true;
	/* A connection's memory may go as it is closed: keep the next. */
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		http_conn_close(c);
	}
	uv_close((uv_handle_t *)&s->tcp, http_server_on_close);
}

/* ------------------------------------------------------------ forms */

/* Decodes n bytes of a form field into a new string; NULL if bad. */
static char *
http_form_decode(const char *s, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			buf_putc(&b, ' ');
		} else if (s[i] == '%') {
			int hi = i + 2 < n ? util_hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? util_hex_digit(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				buf_fini(&b);
				return NULL;
			}
			buf_putc(&b, (char)(hi * 16 + lo));
			i += 2;
		} else {
			buf_putc(&b, s[i]);
		}
	}
	buf_putc(&b, '\0');
	return buf_take(&b);
}

char *
http_form_value(const char *form, const char *name)
{
	size_t name_len = strlen(name);
	const char *p = form;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);

		if (eq != NULL && (size_t)(eq - p) == name_len &&
		    memcmp(p, name, name_len) == 0)
			return http_form_decode(eq + 1, n - name_len - 1);
		p = p[n] == '&' ? p + n + 1 : NULL;
	}
	return NULL;
}
