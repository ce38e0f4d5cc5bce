/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * smtp_conn: one connection's life; see smtp_conn.h for what it is and
 * is not.
 *
 * Session and transaction. libcurl opens the connection and holds the
 * session: TCP, implicit TLS or STARTTLS with certificate checks, EHLO,
 * AUTH (curl_easy_perform() with CURLOPT_CONNECT_ONLY). The mail
 * transaction then goes over that connection with curl_easy_send() and
 * curl_easy_recv(), which encrypt as the session requires. libcurl's own
 * transfer costs four round trips a message (MAIL, RCPT, DATA, the
 * data) and a dozen system calls for each; on a relay that offers
 * PIPELINING (RFC 2920) this sends MAIL, RCPT and DATA in one write and
 * the data of a message together with MAIL, RCPT and DATA of the next
 * one waiting: one round trip a message. Without PIPELINING commands go
 * one at a time. Lines of the data that start with a dot are doubled.
 * No upload buffer is allocated (CURLOPT_UPLOAD_BUFFERSIZE mattered for
 * libcurl's own transfer only): the dot-stuffed copy is kept per
 * connection and written as it is.
 *
 * The session libcurl holds is followed through its debug callback (the
 * last reply, the extensions EHLO offered); every wait for the server is
 * a poll() bounded by [smtp] timeout. The socket number is recorded
 * under the owner's lock from libcurl's open and close callbacks, so that
 * the owner can cut a connection from another thread (smtp_conn_cut())
 * without ever shutting down a number already reused.
 *
 * Outcomes: see smtp_conn_send(). A connection that failed, or whose
 * replies are out of step, is dropped and opened afresh for the next
 * message. A connection kept from message to message is checked before
 * it is used again: a relay that closed it while it was idle has left a
 * 421 or the end of the stream to read, which a poll() that waits for
 * nothing finds; one idle for SMTP_CONN_IDLE_CHECK_MS is asked with NOOP
 * (a connection lost without a word answers nothing). A connection is
 * ended with QUIT, and its 221 is read. libcurl gives EHLO the path of
 * the URL: the configured name, else the host's fully qualified name.
 */
#include "config.h"

#include "send/smtp_conn.h"

#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "addr.h"
#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "send/transport.h"
#include "util.h"

#define SMTP_CONN_DEFAULT_TIMEOUT 60
#define SMTP_CONN_REPLY_MAX       512  /* bytes kept of a server reply line */
#define SMTP_CONN_IN_MAX          4096 /* bytes of replies read at a time */
#define SMTP_CONN_IDLE_CHECK_MS   30000
#define SMTP_CONN_QUIT_MAX_S      10 /* the longest wait for the 221 */

/* The commands of a mail transaction, to tell what a reply answered. */
enum smtp_conn_cmd {
	SMTP_CONN_CMD_MAIL,
	SMTP_CONN_CMD_RCPT,
	SMTP_CONN_CMD_DATA,
	SMTP_CONN_CMD_EOD, /* the message data and its final dot */
};

struct smtp_conn {
	unsigned index;
	char *url_base; /* scheme://host:port of the relay */
	char *ehlo;     /* configured, or NULL */
	char *fallback_ehlo;
	bool url_set; /* the URL, with the EHLO name, is on tmpl */
	struct smtp_conn_hooks hooks;
	void *arg;
	pthread_mutex_t *lock; /* the owner's */
	CURL *tmpl; /* the options, never performed: copied per connection */
	char errbuf[CURL_ERROR_SIZE];

	/* The connection's socket, or CURL_SOCKET_BAD; under *lock. */
	curl_socket_t fd;

	/* The rest is the using thread's alone. The open connection: its
	 * handle (NULL when there is none) and socket. */
	CURL *curl;
	curl_socket_t sock;
	int timeout_s;     /* for a reply, or for the server to read */
	uint64_t deadline; /* of the current wait, monotonic ms */
	bool pipelining;   /* the extensions its last EHLO offered */
	bool size;
	bool smtputf8;
	bool broken;    /* out of step or gone: drop it after this message */
	bool again;     /* refused for the session: open another, send again */
	bool reused;    /* the transaction began on a connection kept open */
	bool got_reply; /* a reply of the transaction came */
	uint64_t last_used; /* monotonic ms the last transaction ended */
	int quit_code;      /* the reply to the last QUIT, for tests' logs */
	bool awaiting;      /* a session command has no complete reply yet */
	bool pending;       /* libcurl may hold received data */
	unsigned carried;   /* transactions on the open connection */
	int code;           /* the last complete reply's code */
	char reply[SMTP_CONN_REPLY_MAX];
	struct buf out; /* commands, or the dot-stuffed data */
	char in[SMTP_CONN_IN_MAX];
	size_t in_off, in_len;
};

static pthread_once_t smtp_conn_once = PTHREAD_ONCE_INIT;
static CURLcode smtp_conn_global_result;

static void
smtp_conn_on_once(void)
{
	smtp_conn_global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
smtp_conn_global_init(char **err)
{
	pthread_once(&smtp_conn_once, smtp_conn_on_once);
	if (smtp_conn_global_result == CURLE_OK)
		return 0;
	*err = xasprintf(
	    "libcurl: %s", curl_easy_strerror(smtp_conn_global_result));
	return -1;
}

int
smtp_conn_timeout(const struct cfg_relay *relay)
{
	return relay->timeout > 0 && relay->timeout < 86400
	    ? (int)relay->timeout
	    : SMTP_CONN_DEFAULT_TIMEOUT;
}

static pthread_once_t smtp_conn_fqdn_once = PTHREAD_ONCE_INIT;
static char smtp_conn_fqdn[256];

/* The host's fully qualified name, if its resolver knows one (a name
 * with a dot); looked up once, on a sender thread, never on the loop. */
static void
smtp_conn_on_fqdn_once(void)
{
	struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *res = NULL;
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		return;
	host[sizeof(host) - 1] = '\0';
	if (strchr(host, '.') == NULL &&
	    getaddrinfo(host, NULL, &hints, &res) == 0 && res != NULL &&
	    res->ai_canonname != NULL)
		(void)snprintf(host, sizeof(host), "%s", res->ai_canonname);
	if (res != NULL)
		freeaddrinfo(res);
	if (strchr(host, '.') != NULL && strlen(host) < sizeof(smtp_conn_fqdn))
		memcpy(smtp_conn_fqdn, host, strlen(host) + 1);
}

/* Puts the relay's URL with the EHLO name as its path on tmpl. */
static void
smtp_conn_set_url(struct smtp_conn *c)
{
	const char *name = c->ehlo;
	char *url;

	if (c->url_set)
		return;
	if (name == NULL) {
		pthread_once(&smtp_conn_fqdn_once, smtp_conn_on_fqdn_once);
		name = smtp_conn_fqdn[0] != '\0' ? smtp_conn_fqdn
						 : c->fallback_ehlo;
	}
	url = name != NULL ? xasprintf("%s/%s", c->url_base, name)
			   : xstrdup(c->url_base);
	if (curl_easy_setopt(c->tmpl, CURLOPT_URL, url) == CURLE_OK)
		c->url_set = true;
	log_debug("smtp conn=%u url=%s", c->index, url);
	free(url);
}

static uint64_t
smtp_conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool
smtp_conn_line_is(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && strncasecmp(p, word, w) == 0;
}

/* Keeps the final line of a reply ("250 2.0.0 Ok: queued as X") in
 * c->code and c->reply; lines "NNN-..." are continuations. 1 for a
 * final line, 0 for a continuation, -1 for a line that is no reply. */
static int
smtp_conn_reply_line(struct smtp_conn *c, const char *p, size_t n)
{
	size_t k;

	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n < 3 || p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9' || (n > 3 && p[3] != ' ' && p[3] != '-'))
		return -1;
	if (n > 3 && p[3] == '-')
		return 0;
	c->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (n > sizeof(c->reply) - 1)
		n = sizeof(c->reply) - 1;
	for (k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)p[k];

		c->reply[k] = (char)(ch < 0x20 || ch == 0x7f ? '?' : ch);
	}
	c->reply[k] = '\0';
	return 1;
}

/* An EHLO reply line "250-PIPELINING" or "250 SIZE 10240000": notes the
 * extensions the transaction uses. */
static void
smtp_conn_ehlo_line(struct smtp_conn *c, const char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n < 4 || strncmp(p, "250", 3) != 0)
		return;
	p += 4;
	n -= 4;
	if (n == 10 && smtp_conn_line_is(p, n, "PIPELINING"))
		c->pipelining = true;
	else if (n == 8 && smtp_conn_line_is(p, n, "SMTPUTF8"))
		c->smtputf8 = true;
	else if (smtp_conn_line_is(p, n, "SIZE") && (n == 4 || p[4] == ' '))
		c->size = true;
}

/* Follows the session libcurl opens (greeting, EHLO, STARTTLS, AUTH):
 * the last reply, whether a command is still unanswered, and the
 * extensions of the last EHLO. */
static int
smtp_conn_on_debug(
    CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smtp_conn *c = arg;
	const char *p = data, *end = data + size, *nl;

	(void)h;
	switch (type) {
	case CURLINFO_HEADER_OUT:
		if (smtp_conn_line_is(data, size, "EHLO ")) {
			c->pipelining = false;
			c->size = false;
			c->smtputf8 = false;
		}
		c->awaiting = true;
		break;
	case CURLINFO_HEADER_IN:
		while (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			nl = nl == NULL ? end : nl + 1;
			smtp_conn_ehlo_line(c, p, (size_t)(nl - p));
			if (smtp_conn_reply_line(c, p, (size_t)(nl - p)) == 1)
				c->awaiting = false;
			p = nl;
		}
		break;
	default:
		break;
	}
	return 0;
}

static curl_socket_t
smtp_conn_on_open_socket(
    void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct smtp_conn *c = arg;
	curl_socket_t fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == -1)
		return CURL_SOCKET_BAD;
	pthread_mutex_lock(c->lock);
	c->fd = fd;
	pthread_mutex_unlock(c->lock);
	return fd;
}

static int
smtp_conn_on_close_socket(void *arg, curl_socket_t fd)
{
	struct smtp_conn *c = arg;
	int ret;

	pthread_mutex_lock(c->lock);
	if (c->fd == fd)
		c->fd = CURL_SOCKET_BAD;
	ret = close(fd);
	pthread_mutex_unlock(c->lock);
	return ret;
}

/* Ends the connection without a word: the session may be out of step
 * (a reply never came), so no QUIT is waited for. The socket is shut
 * down first, so that nothing libcurl may still send on cleanup waits. */
static void
smtp_conn_drop(struct smtp_conn *c)
{
	if (c->curl == NULL)
		return;
	if (c->sock != CURL_SOCKET_BAD)
		shutdown(c->sock, SHUT_RDWR);
	curl_easy_cleanup(c->curl);
	c->curl = NULL;
	c->sock = CURL_SOCKET_BAD;
	c->broken = false;
}

/* A failure of the connection itself: the message is deferred with
 * reason (a local error, no reply) and the connection dropped after. */
static int smtp_conn_fail(struct smtp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
smtp_conn_fail(struct smtp_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(c->errbuf, sizeof(c->errbuf), fmt, ap);
	va_end(ap);
	c->broken = true;
	return -1;
}

/* Waits until the socket is ready for events, or c->deadline. */
static int
smtp_conn_poll(struct smtp_conn *c, short events)
{
	struct pollfd pfd = { .fd = c->sock, .events = events };
	uint64_t now;
	int r;

	for (;;) {
		now = smtp_conn_now_ms();
		if (now >= c->deadline)
			break;
		r = poll(&pfd, 1, (int)(c->deadline - now));
		if (r > 0)
			return 0;
		if (r == 0)
			break;
		if (errno != EINTR)
			return smtp_conn_fail(c, "poll: %s", strerror(errno));
	}
	return smtp_conn_fail(c, "timed out after %ds %s", c->timeout_s,
	    events == POLLIN ? "waiting for a reply" : "sending");
}

/* Sends n bytes, all of them. */
static int
smtp_conn_write(struct smtp_conn *c, const char *p, size_t n)
{
	size_t sent;
	CURLcode r;

	c->deadline = smtp_conn_now_ms() + (uint64_t)c->timeout_s * 1000;
	while (n > 0) {
		sent = 0;
		r = curl_easy_send(c->curl, p, n, &sent);
		if (r == CURLE_AGAIN) {
			if (smtp_conn_poll(c, POLLOUT) != 0)
				return -1;
			continue;
		}
		if (r != CURLE_OK)
			return smtp_conn_fail(
			    c, "sending: %s", curl_easy_strerror(r));
		p += sent;
		n -= sent;
	}
	/* Everything the server said before is read: the next reply can
	 * only come after this, so wait for the socket before reading. */
	c->pending = false;
	return 0;
}

/* Reads more of the server's replies into c->in. While earlier reads
 * brought data, libcurl may hold more (a TLS record), so it is asked
 * before the socket is waited on. */
static int
smtp_conn_fill(struct smtp_conn *c)
{
	size_t n;
	CURLcode r;

	for (;;) {
		if (!c->pending && smtp_conn_poll(c, POLLIN) != 0)
			return -1;
		n = 0;
		r = curl_easy_recv(
		    c->curl, c->in + c->in_len, sizeof(c->in) - c->in_len, &n);
		if (r == CURLE_AGAIN) {
			c->pending = false;
			continue;
		}
		if (r != CURLE_OK)
			return smtp_conn_fail(
			    c, "receiving: %s", curl_easy_strerror(r));
		if (n == 0)
			return smtp_conn_fail(
			    c, "the server closed the connection");
		c->in_len += n;
		c->pending = true;
		return 0;
	}
}

/* Reads the next whole reply into c->code and c->reply. */
static int
smtp_conn_reply(struct smtp_conn *c)
{
	char *p, *nl;
	size_t len;
	int r;

	c->deadline = smtp_conn_now_ms() + (uint64_t)c->timeout_s * 1000;
	for (;;) {
		p = c->in + c->in_off;
		while ((nl = memchr(p, '\n', c->in_len - c->in_off)) != NULL) {
			len = (size_t)(nl + 1 - p);
			c->in_off += len;
			r = smtp_conn_reply_line(c, p, len);
			if (r == 1)
				return 0;
			if (r < 0)
				return smtp_conn_fail(c, "not an SMTP reply");
			p = nl + 1;
		}
		len = c->in_len - c->in_off;
		memmove(c->in, p, len);
		c->in_len = len;
		c->in_off = 0;
		if (len == sizeof(c->in))
			return smtp_conn_fail(c, "a reply line too long");
		if (smtp_conn_fill(c) != 0)
			return -1;
	}
}

/* Opens the connection: libcurl connects and holds the session (TLS,
 * EHLO, STARTTLS, AUTH). On failure, *code is the reply that refused
 * the session (0 for none) and why the reply or the error that ended
 * it. */
static bool
smtp_conn_open(struct smtp_conn *c, int *code, char *why, size_t size)
{
	long rc = 0;
	CURLcode res;

	*code = 0;
	smtp_conn_set_url(c);
	c->curl = curl_easy_duphandle(c->tmpl);
	if (c->curl == NULL)
		abort(); /* out of memory, as xmalloc() */
	c->awaiting = false;
	c->code = 0;
	c->reply[0] = '\0';
	c->errbuf[0] = '\0';
	c->pipelining = c->size = c->smtputf8 = false;
	res = curl_easy_perform(c->curl);
	if (res == CURLE_OK)
		res =
		    curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &c->sock);
	if (res == CURLE_OK && c->sock != CURL_SOCKET_BAD) {
		/* The transaction is ours from here: nothing to trace. */
		curl_easy_setopt(c->curl, CURLOPT_VERBOSE, 0L);
		c->in_len = c->in_off = 0;
		c->pending = false;
		c->carried = 0;
		c->last_used = smtp_conn_now_ms();
		return true;
	}
	if (!c->awaiting) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &rc);
		*code = rc > 0 && rc < 600 ? (int)rc : c->code;
	}
	if (*code < 400 || *code >= 600)
		*code = 0;
	(void)snprintf(why, size, "%s",
	    *code != 0 ? c->reply
		: c->errbuf[0] != '\0'
		? c->errbuf
		: curl_easy_strerror(
		      res != CURLE_OK ? res : CURLE_COULDNT_CONNECT));
	c->sock = CURL_SOCKET_BAD;
	smtp_conn_drop(c);
	return false;
}

/* Opens the connection for m; on failure m is deferred with the reply
 * or error that ended the session (greeting, EHLO, STARTTLS, AUTH):
 * about the configuration or the relay, never the message. */
static bool
smtp_conn_open_for(struct smtp_conn *c, struct transport_msg *m)
{
	char why[CURL_ERROR_SIZE + SMTP_CONN_REPLY_MAX];
	int code;

	if (smtp_conn_open(c, &code, why, sizeof(why)))
		return true;
	m->outcome = TRANSPORT_DEFER;
	m->code = code;
	m->step = code != 0 ? TRANSPORT_STEP_SESSION : TRANSPORT_STEP_NONE;
	free(m->reply);
	m->reply = xstrdup(why);
	m->fault = SMTP_CONN_FAULT_SESSION;
	return false;
}

int
smtp_conn_probe(struct smtp_conn *c, char *why, size_t size)
{
	int code;

	if (c->curl != NULL)
		return 0;
	return smtp_conn_open(c, &code, why, size) ? 0 : -1;
}

/* Sends QUIT and reads its reply, bounded, then ends the connection. */
static void
smtp_conn_close(struct smtp_conn *c)
{
	int timeout = c->timeout_s;

	if (c->curl == NULL)
		return;
	c->quit_code = 0;
	if (!c->broken) {
		if (c->timeout_s > SMTP_CONN_QUIT_MAX_S)
			c->timeout_s = SMTP_CONN_QUIT_MAX_S;
		if (smtp_conn_write(c, "QUIT\r\n", 6) == 0 &&
		    smtp_conn_reply(c) == 0)
			c->quit_code = c->code;
		c->timeout_s = timeout;
		log_debug("smtp quit conn=%u code=%d", c->index, c->quit_code);
	}
	c->broken = true;
	smtp_conn_drop(c);
}

/*
 * Whether the connection kept open can take the next transaction: the
 * relay has said nothing since (a 421 or the end of the stream is
 * waiting if it closed it while idle), and, after a long idle spell,
 * answers NOOP.
 */
static bool
smtp_conn_still_open(struct smtp_conn *c)
{
	struct pollfd pfd = { .fd = c->sock, .events = POLLIN };
	char byte[SMTP_CONN_REPLY_MAX];
	size_t n = 0;
	CURLcode r;

	if (c->in_off < c->in_len)
		return false; /* a reply nobody asked for: out of step */
	if (poll(&pfd, 1, 0) == 1) {
		r = curl_easy_recv(c->curl, byte, sizeof(byte), &n);
		if (r != CURLE_AGAIN) {
			const char *nl = memchr(byte, '\n', n);
			size_t len = nl != NULL ? (size_t)(nl - byte) : n;

			while (len > 0 && byte[len - 1] == '\r')
				len--;
			log_info("smtp conn=%u closed while idle: \"%.*s\"",
			    c->index, (int)len, r == CURLE_OK ? byte : "");
			c->broken = true;
			return false;
		}
	}
	if (smtp_conn_now_ms() - c->last_used < SMTP_CONN_IDLE_CHECK_MS)
		return true;
	if (smtp_conn_write(c, "NOOP\r\n", 6) != 0 || smtp_conn_reply(c) != 0 ||
	    c->code / 100 != 2) {
		log_info("smtp conn=%u idle connection gone: %s", c->index,
		    c->code != 0 ? c->reply : c->errbuf);
		return false;
	}
	return true;
}

static const enum transport_step smtp_conn_steps[] = {
	[SMTP_CONN_CMD_MAIL] = TRANSPORT_STEP_MAIL,
	[SMTP_CONN_CMD_RCPT] = TRANSPORT_STEP_RCPT,
	[SMTP_CONN_CMD_DATA] = TRANSPORT_STEP_DATA,
	[SMTP_CONN_CMD_EOD] = TRANSPORT_STEP_END,
};

/* True for a reply whose enhanced status code is 4.7.x (RFC 3463: a
 * temporary refusal for policy or security), how relays say they
 * throttle: "450 4.7.0 ..." or "421 4.7.28 ...". */
static bool
smtp_conn_is_throttle(const char *reply)
{
	return strlen(reply) >= 8 && reply[0] == '4' && reply[3] == ' ' &&
	    strncmp(reply + 4, "4.7.", 4) == 0;
}

/* What the reply to a command of the transaction does to the message
 * (see the top of the file); false if the transaction cannot go on. A
 * refusal of the session rather than the message (any 4xx answering
 * MAIL, a 421) sets c->again. */
static bool
smtp_conn_step(
    struct smtp_conn *c, struct transport_msg *m, enum smtp_conn_cmd cmd)
{
	int code = c->code;

	if (cmd == SMTP_CONN_CMD_DATA ? code == 354 : code >= 200 && code < 300)
		return true;
	if (code == 421 || (cmd == SMTP_CONN_CMD_MAIL && code / 100 == 4))
		c->again = true;
	/* 421: the server is closing; anything but 4xx or 5xx: out of step. */
	if (code == 421 || code < 400)
		c->broken = true;
	if (m->reply != NULL)
		return false; /* an earlier command failed: that is the outcome */
	if (code >= 500 && code != 530) {
		m->outcome = TRANSPORT_FAIL;
		m->rcpt_rejected = cmd == SMTP_CONN_CMD_RCPT;
	} else {
		m->outcome = TRANSPORT_DEFER;
		if (smtp_conn_is_throttle(c->reply))
			m->fault = SMTP_CONN_FAULT_THROTTLED;
	}
	m->code = code;
	m->step = smtp_conn_steps[cmd];
	m->reply = xstrdup(c->reply);
	return false;
}

static bool
smtp_conn_is_ascii(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Appends MAIL, RCPT and DATA for m to c->out; ends[i] is where each
 * command ends. */
static void
smtp_conn_put_envelope(
    struct smtp_conn *c, const struct transport_msg *m, size_t ends[3])
{
	const char *from = m->envelope_from != NULL ? m->envelope_from : "";

	buf_printf(&c->out, "MAIL FROM:<%s>", from);
	if (c->size)
		buf_printf(&c->out, " SIZE=%zu", m->data.len);
	if (c->smtputf8 &&
	    !(smtp_conn_is_ascii(from) && smtp_conn_is_ascii(m->rcpt)))
		buf_puts(&c->out, " SMTPUTF8");
	buf_puts(&c->out, "\r\n");
	ends[0] = c->out.len;
	buf_printf(&c->out, "RCPT TO:<%s>\r\n", m->rcpt);
	ends[1] = c->out.len;
	buf_puts(&c->out, "DATA\r\n");
	ends[2] = c->out.len;
}

/* Appends the data, dot-stuffed unless it has no line that begins
 * with a dot, and the final dot to c->out. */
static void
smtp_conn_put_data(struct smtp_conn *c, const struct buf *d, bool dot_safe)
{
	const char *p = d->data, *end = d->data + d->len, *dot;

	buf_reserve(&c->out, d->len + 8);
	if (p < end && *p == '.')
		buf_putc(&c->out, '.');
	while (!dot_safe &&
	    (dot = memmem(p, (size_t)(end - p), "\n.", 2)) != NULL) {
		buf_append(&c->out, p, (size_t)(dot + 2 - p));
		buf_putc(&c->out, '.');
		p = dot + 2;
	}
	buf_append(&c->out, p, (size_t)(end - p));
	if (d->len > 0 && end[-1] != '\n')
		buf_puts(&c->out, "\r\n");
	buf_puts(&c->out, ".\r\n");
}

/* True if m's envelope can go over this connection: an address beyond
 * ASCII needs SMTPUTF8 (RFC 6531), if the relay offers it. */
static bool
smtp_conn_can_carry(const struct smtp_conn *c, const struct transport_msg *m)
{
	return c->smtputf8 ||
	    (smtp_conn_is_ascii(m->envelope_from) &&
		smtp_conn_is_ascii(m->rcpt));
}

/*
 * One mail transaction on the open connection. When the server offers
 * PIPELINING (RFC 2920), MAIL, RCPT and DATA go in one write, and the
 * data of a message goes with the MAIL, RCPT and DATA of the next one,
 * if one is waiting: that one is returned, with *next_sent true when
 * its commands went (their replies unread). Without PIPELINING the
 * commands go one at a time. A command refused ends the transaction
 * with RSET, or, refused for the session (c->again), with QUIT; a
 * connection failure leaves c->broken set, and c->again too when the
 * transaction began on a kept connection and no reply came: the relay
 * had closed it.
 */
static struct transport_msg *
smtp_conn_transact(
    struct smtp_conn *c, struct transport_msg *m, bool sent, bool *next_sent)
{
	static const enum smtp_conn_cmd cmds[] = {
		SMTP_CONN_CMD_MAIL,
		SMTP_CONN_CMD_RCPT,
		SMTP_CONN_CMD_DATA,
	};
	struct transport_msg *next = NULL;
	size_t ends[3];
	size_t done = 0; /* bytes of c->out sent */
	bool ok = true, data_open = false;

	*next_sent = false;
	c->again = false;
	c->got_reply = false;
	c->carried++;
	if (!sent) {
		buf_reset(&c->out);
		smtp_conn_put_envelope(c, m, ends);
	}
	for (size_t i = 0; i < 3; i++) {
		if (!sent && done < ends[i]) {
			size_t upto = c->pipelining ? ends[2] : ends[i];

			if (smtp_conn_write(c, c->out.data + done, upto - done))
				goto broken;
			done = upto;
		}
		if (smtp_conn_reply(c) != 0)
			goto broken;
		c->got_reply = true;
		ok = smtp_conn_step(c, m, cmds[i]) && ok;
		data_open = cmds[i] == SMTP_CONN_CMD_DATA && c->code == 354;
		if (c->broken)
			return NULL;
		if (!ok && !sent && done == ends[i])
			break; /* nothing more was sent: no reply to wait for */
	}

	if (!ok) {
		/* A server that took DATA all the same gets an empty message
		 * to end it; then the transaction is reset, or the session
		 * ended when it was refused for the session. */
		if (data_open &&
		    (smtp_conn_write(c, ".\r\n", 3) != 0 ||
			smtp_conn_reply(c) != 0))
			return NULL;
		if (c->again) {
			smtp_conn_close(c);
			return NULL;
		}
		if (smtp_conn_write(c, "RSET\r\n", 6) != 0 ||
		    smtp_conn_reply(c) != 0 || c->code / 100 != 2)
			c->broken = true;
		return NULL;
	}

	if (!c->hooks.may_end_data(c->arg)) {
		smtp_conn_fail(c, "stopped before the end of the data");
		goto broken;
	}
	buf_reset(&c->out);
	smtp_conn_put_data(c, &m->data, m->dot_safe);
	if (c->pipelining && (next = c->hooks.take_next(c->arg)) != NULL &&
	    smtp_conn_can_carry(c, next)) {
		smtp_conn_put_envelope(c, next, ends);
		*next_sent = true;
	}
	if (smtp_conn_write(c, c->out.data, c->out.len) != 0 ||
	    smtp_conn_reply(c) != 0)
		goto broken;
	if (smtp_conn_step(c, m, SMTP_CONN_CMD_EOD)) {
		m->outcome = TRANSPORT_SENT;
		m->code = c->code;
		m->step = TRANSPORT_STEP_END;
		m->reply = xstrdup(c->reply);
	}
	if (c->broken)
		*next_sent = false;
	return next;

broken:
	if (!c->got_reply && c->reused)
		c->again = true;
	*next_sent = false;
	/* No reply to the last command: the message is deferred, unless a
	 * reply before already decided it. */
	if (m->reply == NULL) {
		m->outcome = TRANSPORT_DEFER;
		m->code = 0;
		m->step = TRANSPORT_STEP_NONE;
		m->reply = xstrdup(c->errbuf);
		if (!c->again)
			m->fault = SMTP_CONN_FAULT_BROKEN;
	}
	return next;
}

static const char *const smtp_conn_outcome_names[] = {
	[TRANSPORT_SENT] = "sent",
	[TRANSPORT_DEFER] = "defer",
	[TRANSPORT_FAIL] = "fail",
};

static void
smtp_conn_reset_outcome(struct transport_msg *m)
{
	m->outcome = TRANSPORT_DEFER;
	m->code = 0;
	m->step = TRANSPORT_STEP_NONE;
	m->rcpt_rejected = false;
	m->fault = SMTP_CONN_FAULT_NONE;
	free(m->reply);
	m->reply = NULL;
}

struct transport_msg *
smtp_conn_send(
    struct smtp_conn *c, struct transport_msg *m, bool sent, bool *next_sent)
{
	struct transport_msg *next = NULL;
	bool retried = false;

	*next_sent = false;
	for (;;) {
		smtp_conn_reset_outcome(m);
		if (c->curl != NULL && !sent && !smtp_conn_still_open(c))
			smtp_conn_drop(c);
		c->reused = c->curl != NULL && c->carried > 0;
		if (c->curl == NULL && !smtp_conn_open_for(c, m))
			break;
		if (!smtp_conn_can_carry(c, m)) {
			/* Nothing was sent for it: the connection goes on. */
			m->outcome = TRANSPORT_FAIL;
			m->fault = SMTP_CONN_FAULT_UTF8;
			m->reply =
			    xasprintf("the relay does not offer SMTPUTF8, "
				      "which the address %s needs "
				      "(it has letters beyond ASCII)",
				smtp_conn_is_ascii(m->rcpt) ? m->envelope_from
							    : m->rcpt);
			break;
		}
		next = smtp_conn_transact(c, m, sent, next_sent);
		c->last_used = smtp_conn_now_ms();
		if (c->again && c->broken)
			smtp_conn_drop(c);
		/* Refused for the session on a connection that carried mail
		 * before (a limit of messages per connection, an idle
		 * connection the relay closed): once more, at once, on a
		 * new one. On a fresh one the relay refuses mail for now. */
		if (c->again && c->reused && !retried && next == NULL) {
			log_info("smtp again id=%lld conn=%u code=%d "
				 "reply=\"%s\"",
			    (long long)m->id, c->index, m->code,
			    m->reply != NULL ? m->reply : "");
			retried = true;
			sent = false;
			smtp_conn_drop(c);
			continue;
		}
		if (c->again && m->outcome != TRANSPORT_SENT)
			m->fault = SMTP_CONN_FAULT_THROTTLED;
		break;
	}
	if (c->broken)
		smtp_conn_drop(c);
	log_debug("smtp %s id=%lld conn=%u code=%d reply=\"%s\"",
	    smtp_conn_outcome_names[m->outcome], (long long)m->id, c->index,
	    m->code, m->reply != NULL ? m->reply : "");
	return next;
}

bool
smtp_conn_is_open(const struct smtp_conn *c)
{
	return c->curl != NULL;
}

void
smtp_conn_quit(struct smtp_conn *c)
{
	smtp_conn_close(c);
}

bool
smtp_conn_cut(struct smtp_conn *c)
{
	if (c->fd == CURL_SOCKET_BAD)
		return false;
	shutdown(c->fd, SHUT_RDWR);
	return true;
}

/* Sets the options every message on a connection shares; the strings
 * are copied by libcurl. Returns CURLE_OK or the first failure. */
static CURLcode
smtp_conn_setup(
    struct smtp_conn *c, const struct cfg_relay *relay, const char *password)
{
	long timeout = smtp_conn_timeout(relay);
	CURL *h = c->tmpl;
	CURLcode r = CURLE_OK;

#define SMTP_CONN_SET(opt, val)                            \
	do {                                               \
		if (r == CURLE_OK)                         \
			r = curl_easy_setopt(h, opt, val); \
	} while (0)
	SMTP_CONN_SET(CURLOPT_URL, c->url_base);
#if LIBCURL_VERSION_NUM >= 0x075500
	SMTP_CONN_SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#endif
	/* libcurl opens the session; the transaction is ours. */
	SMTP_CONN_SET(CURLOPT_CONNECT_ONLY, 1L);
	SMTP_CONN_SET(CURLOPT_USE_SSL,
	    relay->tls == CFG_TLS_REQUIRED ? (long)CURLUSESSL_ALL
					   : (long)CURLUSESSL_NONE);
	SMTP_CONN_SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SMTP_CONN_SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (relay->ca_file != NULL)
		SMTP_CONN_SET(CURLOPT_CAINFO, relay->ca_file);
	if (relay->username != NULL) {
		SMTP_CONN_SET(CURLOPT_USERNAME, relay->username);
		SMTP_CONN_SET(CURLOPT_PASSWORD, password);
	}
	SMTP_CONN_SET(CURLOPT_CONNECTTIMEOUT, timeout);
	SMTP_CONN_SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
	SMTP_CONN_SET(CURLOPT_NOSIGNAL, 1L);
	SMTP_CONN_SET(CURLOPT_PROXY, "");
	SMTP_CONN_SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SMTP_CONN_SET(CURLOPT_MAXCONNECTS, 1L);
	SMTP_CONN_SET(CURLOPT_OPENSOCKETFUNCTION, smtp_conn_on_open_socket);
	SMTP_CONN_SET(CURLOPT_OPENSOCKETDATA, c);
	SMTP_CONN_SET(CURLOPT_CLOSESOCKETFUNCTION, smtp_conn_on_close_socket);
	SMTP_CONN_SET(CURLOPT_CLOSESOCKETDATA, c);
	SMTP_CONN_SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SMTP_CONN_SET(CURLOPT_DEBUGFUNCTION, smtp_conn_on_debug);
	SMTP_CONN_SET(CURLOPT_DEBUGDATA, c);
	SMTP_CONN_SET(CURLOPT_VERBOSE, 1L);
#undef SMTP_CONN_SET
	return r;
}

/* "scheme://authority" of url, without a path: libcurl takes the path
 * for the EHLO name. */
static char *
smtp_conn_url_base(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n = strlen(url);

	if (p != NULL)
		n = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
	return xstrndup(url, n);
}

struct smtp_conn *
smtp_conn_new(const struct cfg_relay *relay, const char *fallback_ehlo,
    const char *password, unsigned index, pthread_mutex_t *lock,
    const struct smtp_conn_hooks *hooks, void *arg, char **err)
{
	struct smtp_conn *c = xcalloc(1, sizeof(*c));
	CURLcode r;

	c->index = index;
	c->url_base = smtp_conn_url_base(relay->url != NULL ? relay->url : "");
	c->ehlo = relay->ehlo_name != NULL ? xstrdup(relay->ehlo_name) : NULL;
	c->fallback_ehlo =
	    fallback_ehlo != NULL ? xstrdup(fallback_ehlo) : NULL;
	c->hooks = *hooks;
	c->arg = arg;
	c->lock = lock;
	c->fd = CURL_SOCKET_BAD;
	c->sock = CURL_SOCKET_BAD;
	c->timeout_s = smtp_conn_timeout(relay);
	buf_init(&c->out);
	c->tmpl = curl_easy_init();
	r = c->tmpl == NULL ? CURLE_FAILED_INIT
			    : smtp_conn_setup(c, relay, password);
	if (r == CURLE_OK)
		return c;
	*err = xasprintf("libcurl: %s", curl_easy_strerror(r));
	smtp_conn_free(c);
	return NULL;
}

void
smtp_conn_free(struct smtp_conn *c)
{
	if (c == NULL)
		return;
	smtp_conn_quit(c);
	if (c->tmpl != NULL)
		curl_easy_cleanup(c->tmpl);
	buf_fini(&c->out);
	free(c->url_base);
	free(c->ehlo);
	free(c->fallback_ehlo);
	free(c);
}
