/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transport_smtp: sends messages to one SMTP relay on K sender threads
 * ([smtp] connections), each owning one libcurl easy handle and so one
 * SMTP connection reused from message to message. The network is
 * waited on by these threads only, never by the loop.
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
 * Crash safety (transport_hold_until_committed()). A connection whose
 * server accepted a message must not end another message's data until
 * that acceptance is safe from a crash: committed by the caller, or a
 * line of the sent log (transport_log_sent(), sentlog.h), which the
 * thread appends before it hands the outcome back. With the log, the
 * connection never waits for the database. The log is two files taken
 * in turn: once the one in use passes SMTP_LOG_SWITCH bytes the other
 * takes over, and a file not in use is emptied as soon as every line in
 * it is committed. A failed write turns the log off and the holds on.
 *
 * Hand-over. All transport calls run on the loop thread. Messages go to
 * the threads through a queue under a mutex and condition variable; the
 * threads put each finished message on a done list and wake the loop with
 * one uv_async_t (sends coalesce, so the loop drains the whole list) and
 * the done callback runs on the loop thread.
 *
 * Rate limit. A token bucket on the loop thread ([smtp] rate, refilled
 * continuously, holding at most one second's worth and at least one
 * token). The transport accepts up to 2*K messages (capacity()); those
 * it cannot start yet for want of tokens it holds in its own queue and
 * releases to the threads from a timer armed for the next token. So
 * capacity() falls to 0 while rate-limited only once that queue is full,
 * and the caller is woken by the done callbacks, which the interface
 * already gives it: no "ready" callback is needed. (A thread takes the
 * next message to pipeline it only from what the bucket released.)
 *
 * Close. Stops taking messages; messages not yet started (held back by
 * the rate limit, or queued for a thread) come back as TRANSPORT_DEFER
 * with reply "shutdown"; each thread finishes the transactions it has
 * begun (with PIPELINING, the next message's may have begun with the
 * data of the last), sends QUIT and exits after telling the loop. The
 * whole close is bounded by [smtp] timeout: when it runs out, the loop
 * shuts down the sockets still open (each thread records its socket
 * under the lock, and libcurl closes it through a callback that takes
 * the same lock, so a number is never shut down after it was reused),
 * the transfers fail at once and their messages come back deferred.
 * Threads are joined from the async callback only once every thread has
 * said it is past its last lock, so pthread_join() returns at once and
 * the loop never blocks on it. Then the uv handles are closed and the
 * transport freed in their close callbacks.
 *
 * Outcomes: 2xx after the data is TRANSPORT_SENT; a 5xx answering MAIL,
 * RCPT, DATA or the data is TRANSPORT_FAIL (rcpt_rejected for RCPT);
 * every 4xx, timeout, connection or TLS failure is TRANSPORT_DEFER, and
 * so is a 5xx answering the session (greeting, EHLO, STARTTLS, AUTH) or
 * a 530 (authentication or STARTTLS required): those are about the
 * configuration, not the message, and must not fail the whole queue. A
 * connection that failed, or whose replies are out of step, is dropped
 * and opened afresh for the next message.
 *
 * It has no failover between relays, and it never touches the database.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "send/sentlog.h"
#include "send/transport.h"

#define SMTP_MAX_CONNECTIONS 64
#define SMTP_QUEUE_EXTRA     32
#define SMTP_DEFAULT_TIMEOUT 60
#define SMTP_REPLY_MAX       512         /* bytes kept of a server reply line */
#define SMTP_ADDR_MAX        254         /* RFC 5321 path, less the brackets */
#define SMTP_IN_MAX          4096        /* bytes of replies read at a time */
#define SMTP_LOG_SWITCH      (64 * 1024) /* sent-log bytes before a turn */

/* The commands of a mail transaction, to tell what a reply answered. */
enum smtp_cmd {
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_EOD, /* the message data and its final dot */
};

/* A bounded ring of messages; every ring holds at most the transport's
 * capacity, so a push never overflows. */
struct smtp_fifo {
	struct transport_msg **v;
	unsigned head, len, cap;
};

struct smtp;

struct smtp_conn {
	struct smtp *s;
	unsigned index;
	pthread_t thread;
	bool started;
	CURL *tmpl; /* the options, never performed: copied per connection */
	char errbuf[CURL_ERROR_SIZE];

	/* The connection's socket, or CURL_SOCKET_BAD; under s->lock. */
	curl_socket_t fd;

	/* The rest is this thread's alone. The open connection: its handle
	 * (NULL when there is none) and socket. */
	CURL *curl;
	curl_socket_t sock;
	int timeout_s;     /* for a reply, or for the server to read */
	uint64_t deadline; /* of the current wait, monotonic ms */
	bool pipelining;   /* the extensions its last EHLO offered */
	bool size;
	bool smtputf8;
	bool broken;     /* out of step or gone: drop it after this message */
	bool awaiting;   /* a session command has no complete reply yet */
	bool pending;    /* libcurl may hold received data */
	uint64_t ticket; /* s->pushed after this connection's last outcome */
	uint64_t hold;   /* the ticket of an acceptance not in the log, or 0 */
	int code;        /* the last complete reply's code */
	char reply[SMTP_REPLY_MAX];
	struct buf out; /* commands, or the dot-stuffed data */
	char in[SMTP_IN_MAX];
	size_t in_off, in_len;
};

struct smtp {
	struct transport base; /* first: transport_closed() frees it */
	uv_async_t async;
	uv_timer_t rate_timer;
	uv_timer_t close_timer; /* bounds the close */
	int open_handles;
	uint64_t close_ms;

	struct smtp_conn *conns;
	unsigned n_conns;
	unsigned cap;      /* messages accepted at a time: 2 * n_conns */
	unsigned inflight; /* submitted, done callback not yet run */
	bool closing;
	bool finishing;

	/* Rate limit, loop thread only. Tokens are counted in units of
	 * 1/rate_count of a token per ms: one token is rate_ms units, a
	 * millisecond adds rate_count units. */
	uint64_t rate_count; /* 0: unlimited */
	uint64_t rate_ms;
	uint64_t rate_units;
	uint64_t rate_max_units;
	uint64_t rate_last; /* uv_now() of the last refill */
	struct smtp_fifo held;

	/* Shared with the threads, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* work to take, or stop */
	pthread_cond_t gate_cond; /* acked moved, or cut */
	struct smtp_fifo work;
	struct smtp_fifo done;
	/* The commit gate: outcomes pushed to done, popped from it by the
	 * loop, and acknowledged as committed (all under lock). */
	bool gated;
	uint64_t pushed, popped, acked;
	unsigned running; /* threads not yet past their last lock */
	bool stop;
	bool cut; /* the close ran out of time */

	/* The sent log (sentlog.h), under lock: two files written in turn,
	 * so that one can be emptied while the other takes the lines. */
	int log_fd[2]; /* -1: no log */
	char *log_path[2];
	unsigned log_cur;        /* the file new lines go to */
	unsigned log_writing[2]; /* threads writing a line to each */
	uint64_t log_last[2];    /* ticket of each file's last line */
	size_t log_bytes[2];
	bool log_failed; /* a write failed: the log is off, holds are on */
	bool log_warned;
};

static pthread_once_t smtp_once = PTHREAD_ONCE_INIT;
static CURLcode smtp_global_result;

static void
smtp_global_init(void)
{
	smtp_global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
smtp_fifo_init(struct smtp_fifo *f, unsigned cap)
{
	f->v = xcalloc(cap, sizeof(struct transport_msg *));
	f->head = 0;
	f->len = 0;
	f->cap = cap;
}

static void
smtp_fifo_push(struct smtp_fifo *f, struct transport_msg *m)
{
	if (f->len == f->cap)
		abort(); /* cannot happen: see struct smtp_fifo */
	f->v[(f->head + f->len) % f->cap] = m;
	f->len++;
}

static struct transport_msg *
smtp_fifo_pop(struct smtp_fifo *f)
{
	struct transport_msg *m;

	if (f->len == 0)
		return NULL;
	m = f->v[f->head];
	f->head = (f->head + 1) % f->cap;
	f->len--;
	return m;
}

/* ------------------------------------------------ sender threads */

static uint64_t
smtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The hold (transport_hold_until_committed()) keeps back the data and
 * its final dot, the one thing a server accepts a message on, while
 * this connection's last acceptance is neither committed nor in the
 * sent log (c->hold). MAIL, RCPT and DATA overlap the wait, and a crash
 * still repeats at most one message per connection.
 */
static bool
smtp_conn_wait_committed(struct smtp_conn *c)
{
	struct smtp *s = c->s;
	bool cut;

	pthread_mutex_lock(&s->lock);
	while (s->gated && s->acked < c->hold && !s->cut)
		pthread_cond_wait(&s->gate_cond, &s->lock);
	cut = s->cut;
	pthread_mutex_unlock(&s->lock);
	return !cut;
}

static bool
smtp_line_is(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && strncasecmp(p, word, w) == 0;
}

/* Keeps the final line of a reply ("250 2.0.0 Ok: queued as X") in
 * c->code and c->reply; lines "NNN-..." are continuations. 1 for a
 * final line, 0 for a continuation, -1 for a line that is no reply. */
static int
smtp_on_reply_line(struct smtp_conn *c, const char *p, size_t n)
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
smtp_on_ehlo_line(struct smtp_conn *c, const char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n < 4 || strncmp(p, "250", 3) != 0)
		return;
	p += 4;
	n -= 4;
	if (n == 10 && smtp_line_is(p, n, "PIPELINING"))
		c->pipelining = true;
	else if (n == 8 && smtp_line_is(p, n, "SMTPUTF8"))
		c->smtputf8 = true;
	else if (smtp_line_is(p, n, "SIZE") && (n == 4 || p[4] == ' '))
		c->size = true;
}

/* Follows the session libcurl opens (greeting, EHLO, STARTTLS, AUTH):
 * the last reply, whether a command is still unanswered, and the
 * extensions of the last EHLO. */
static int
smtp_on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smtp_conn *c = arg;
	const char *p = data, *end = data + size, *nl;

	(void)h;
	switch (type) {
	case CURLINFO_HEADER_OUT:
		if (smtp_line_is(data, size, "EHLO ")) {
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
			smtp_on_ehlo_line(c, p, (size_t)(nl - p));
			if (smtp_on_reply_line(c, p, (size_t)(nl - p)) == 1)
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
smtp_on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct smtp_conn *c = arg;
	curl_socket_t fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == -1)
		return CURL_SOCKET_BAD;
	pthread_mutex_lock(&c->s->lock);
	c->fd = fd;
	pthread_mutex_unlock(&c->s->lock);
	return fd;
}

static int
smtp_on_close_socket(void *arg, curl_socket_t fd)
{
	struct smtp_conn *c = arg;
	int ret;

	pthread_mutex_lock(&c->s->lock);
	if (c->fd == fd)
		c->fd = CURL_SOCKET_BAD;
	ret = close(fd);
	pthread_mutex_unlock(&c->s->lock);
	return ret;
}

/* Ends the connection without a word: the session may be out of step
 * (a reply never came), so no QUIT is waited for. Shutting the socket
 * down first makes the QUIT libcurl sends on cleanup fail at once. */
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
		now = smtp_now_ms();
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

	c->deadline = smtp_now_ms() + (uint64_t)c->timeout_s * 1000;
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

	c->deadline = smtp_now_ms() + (uint64_t)c->timeout_s * 1000;
	for (;;) {
		p = c->in + c->in_off;
		while ((nl = memchr(p, '\n', c->in_len - c->in_off)) != NULL) {
			len = (size_t)(nl + 1 - p);
			c->in_off += len;
			r = smtp_on_reply_line(c, p, len);
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
 * EHLO, STARTTLS, AUTH); on failure m is deferred with the reply or
 * error that ended it. */
static bool
smtp_conn_open(struct smtp_conn *c, struct transport_msg *m)
{
	long rc = 0;
	int code = 0;
	CURLcode res;

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
		return true;
	}
	if (!c->awaiting) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &rc);
		code = rc > 0 && rc < 600 ? (int)rc : c->code;
	}
	/* Refused at the session (greeting, EHLO, STARTTLS, AUTH): about
	 * the configuration or the relay, never the message. */
	m->outcome = TRANSPORT_DEFER;
	if (code >= 400 && code < 600) {
		m->code = code;
		m->reply = xstrdup(c->reply);
	} else {
		m->code = 0;
		m->reply = xstrdup(c->errbuf[0] != '\0'
			? c->errbuf
			: curl_easy_strerror(
			      res != CURLE_OK ? res : CURLE_COULDNT_CONNECT));
	}
	c->sock = CURL_SOCKET_BAD;
	smtp_conn_drop(c);
	return false;
}

/* What the reply to a command of the transaction does to the message
 * (see the top of the file); false if the transaction cannot go on. */
static bool
smtp_conn_step(struct smtp_conn *c, struct transport_msg *m, enum smtp_cmd cmd)
{
	int code = c->code;

	if (cmd == SMTP_CMD_DATA ? code == 354 : code >= 200 && code < 300)
		return true;
	if (m->reply != NULL)
		return false; /* an earlier command failed: that is the outcome */
	if (code >= 500 && code != 530) {
		m->outcome = TRANSPORT_FAIL;
		m->rcpt_rejected = cmd == SMTP_CMD_RCPT;
	} else {
		m->outcome = TRANSPORT_DEFER;
	}
	/* 421: the server is closing; anything but 4xx or 5xx: out of step. */
	if (code == 421 || code < 400)
		c->broken = true;
	m->code = code;
	m->reply = xstrdup(c->reply);
	return false;
}

static bool
smtp_is_ascii(const char *s)
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
	if (c->smtputf8 && !(smtp_is_ascii(from) && smtp_is_ascii(m->rcpt)))
		buf_puts(&c->out, " SMTPUTF8");
	buf_puts(&c->out, "\r\n");
	ends[0] = c->out.len;
	buf_printf(&c->out, "RCPT TO:<%s>\r\n", m->rcpt);
	ends[1] = c->out.len;
	buf_puts(&c->out, "DATA\r\n");
	ends[2] = c->out.len;
}

/* Appends the data, dot-stuffed, and the final dot to c->out. */
static void
smtp_conn_put_data(struct smtp_conn *c, const struct buf *d)
{
	const char *p = d->data, *end = d->data + d->len, *dot;

	buf_reserve(&c->out, d->len + 8);
	if (p < end && *p == '.')
		buf_putc(&c->out, '.');
	while ((dot = memmem(p, (size_t)(end - p), "\n.", 2)) != NULL) {
		buf_append(&c->out, p, (size_t)(dot + 2 - p));
		buf_putc(&c->out, '.');
		p = dot + 2;
	}
	buf_append(&c->out, p, (size_t)(end - p));
	if (d->len > 0 && end[-1] != '\n')
		buf_puts(&c->out, "\r\n");
	buf_puts(&c->out, ".\r\n");
}

/* The next message to send, if one is waiting and the transport is not
 * stopping: taken to go with the end of this one's data. */
static struct transport_msg *
smtp_conn_take_next(struct smtp_conn *c)
{
	struct smtp *s = c->s;
	struct transport_msg *m = NULL;

	pthread_mutex_lock(&s->lock);
	if (!s->stop)
		m = smtp_fifo_pop(&s->work);
	pthread_mutex_unlock(&s->lock);
	return m;
}

/*
 * One mail transaction on the open connection. When the server offers
 * PIPELINING (RFC 2920), MAIL, RCPT and DATA go in one write, and the
 * data of a message goes with the MAIL, RCPT and DATA of the next one,
 * if one is waiting: that one is returned, its commands sent (sent is
 * then true for it) but their replies unread. Without PIPELINING the
 * commands go one at a time. A command refused ends the transaction
 * with RSET; a connection failure leaves c->broken set.
 */
static struct transport_msg *
smtp_conn_transact(struct smtp_conn *c, struct transport_msg *m, bool sent)
{
	static const enum smtp_cmd cmds[] = {
		SMTP_CMD_MAIL,
		SMTP_CMD_RCPT,
		SMTP_CMD_DATA,
	};
	struct transport_msg *next = NULL;
	size_t ends[3];
	size_t done = 0; /* bytes of c->out sent */
	bool ok = true, data_open = false;

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
		ok = smtp_conn_step(c, m, cmds[i]) && ok;
		data_open = cmds[i] == SMTP_CMD_DATA && c->code == 354;
		if (c->broken)
			return NULL;
		if (!ok && !sent && done == ends[i])
			break; /* nothing more was sent: no reply to wait for */
	}

	if (!ok) {
		/* A server that took DATA all the same gets an empty message
		 * to end it; then the transaction is reset. */
		if (data_open &&
		    (smtp_conn_write(c, ".\r\n", 3) != 0 ||
			smtp_conn_reply(c) != 0))
			return NULL;
		if (smtp_conn_write(c, "RSET\r\n", 6) != 0 ||
		    smtp_conn_reply(c) != 0 || c->code / 100 != 2)
			c->broken = true;
		return NULL;
	}

	if (!smtp_conn_wait_committed(c)) {
		smtp_conn_fail(c, "stopped before the end of the data");
		goto broken;
	}
	buf_reset(&c->out);
	smtp_conn_put_data(c, &m->data);
	if (c->pipelining && (next = smtp_conn_take_next(c)) != NULL)
		smtp_conn_put_envelope(c, next, ends);
	if (smtp_conn_write(c, c->out.data, c->out.len) != 0 ||
	    smtp_conn_reply(c) != 0)
		goto broken;
	if (smtp_conn_step(c, m, SMTP_CMD_EOD)) {
		m->outcome = TRANSPORT_SENT;
		m->code = c->code;
		m->reply = xstrdup(c->reply);
	}
	return next;

broken:
	/* No reply to the last command: the message is deferred, unless a
	 * reply before already decided it. */
	if (m->reply == NULL) {
		m->outcome = TRANSPORT_DEFER;
		m->code = 0;
		m->reply = xstrdup(c->errbuf);
	}
	return next;
}

static const char *const smtp_outcome_names[] = {
	[TRANSPORT_SENT] = "sent",
	[TRANSPORT_DEFER] = "defer",
	[TRANSPORT_FAIL] = "fail",
};

/* Sends m; sent as for smtp_conn_transact(). Returns the next message
 * taken, if any. */
static struct transport_msg *
smtp_conn_send(struct smtp_conn *c, struct transport_msg *m, bool sent)
{
	struct transport_msg *next = NULL;

	m->outcome = TRANSPORT_DEFER;
	m->code = 0;
	if (c->curl != NULL || smtp_conn_open(c, m))
		next = smtp_conn_transact(c, m, sent);
	if (c->broken)
		smtp_conn_drop(c);
	log_debug("smtp %s id=%lld conn=%u code=%d reply=\"%s\"",
	    smtp_outcome_names[m->outcome], (long long)m->id, c->index, m->code,
	    m->reply != NULL ? m->reply : "");
	return next;
}

static void smtp_shutdown_msg(struct smtp *s, struct transport_msg *m);

/* Under s->lock: hands m back to the loop. An acceptance goes into the
 * sent log first (the lock is let go meanwhile); one the log did not
 * take holds this connection's next data until it is committed. */
static void
smtp_conn_done(struct smtp_conn *c, struct transport_msg *m)
{
	struct smtp *s = c->s;
	bool accepted = m->outcome == TRANSPORT_SENT;
	unsigned k = s->log_cur;
	int w = -1;

	if (accepted && s->log_fd[0] != -1 && !s->log_failed) {
		s->log_writing[k]++;
		pthread_mutex_unlock(&s->lock);
		w = sentlog_append(s->log_fd[k], m->id, clock_now(), m->code,
		    m->message_id, m->reply);
		pthread_mutex_lock(&s->lock);
		s->log_writing[k]--;
		if (w < 0)
			s->log_failed = true;
	}
	smtp_fifo_push(&s->done, m);
	c->ticket = ++s->pushed;
	if (w > 0) {
		s->log_bytes[k] += (size_t)w;
		s->log_last[k] = c->ticket;
	}
	c->hold = accepted && w <= 0 ? c->ticket : 0;
	uv_async_send(&s->async);
}

static void *
smtp_conn_main(void *arg)
{
	struct smtp_conn *c = arg;
	struct smtp *s = c->s;
	struct transport_msg *m = NULL, *next;
	bool sent = false;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (m == NULL) {
			while (!s->stop && s->work.len == 0)
				pthread_cond_wait(&s->cond, &s->lock);
			if (s->stop)
				break;
			m = smtp_fifo_pop(&s->work);
			sent = false;
		} else if (s->stop && !sent) {
			/* Taken with the last one, whose connection was then
			 * lost: stopping, no new connection is opened. */
			smtp_shutdown_msg(s, m);
			uv_async_send(&s->async);
			m = NULL;
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		next = smtp_conn_send(c, m, sent);
		/* Its commands are on the wire only if the connection that
		 * carried them is still open; if not, it starts afresh. */
		sent = next != NULL && c->curl != NULL;
		pthread_mutex_lock(&s->lock);
		smtp_conn_done(c, m);
		m = next;
	}
	pthread_mutex_unlock(&s->lock);
	/* libcurl sends QUIT on an open connection, bounded by the
	 * timeouts. */
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
	pthread_mutex_lock(&s->lock);
	s->running--;
	pthread_mutex_unlock(&s->lock);
	uv_async_send(&s->async);
	return NULL;
}

/* ------------------------------------------------ loop thread */

static void
smtp_rate_refill(struct smtp *s)
{
	uint64_t now = uv_now(s->async.loop);
	uint64_t elapsed = now - s->rate_last;

	s->rate_last = now;
	if (elapsed >= s->rate_max_units / s->rate_count + 1) {
		s->rate_units = s->rate_max_units;
		return;
	}
	s->rate_units += elapsed * s->rate_count;
	if (s->rate_units > s->rate_max_units)
		s->rate_units = s->rate_max_units;
}

static void smtp_on_rate_timer(uv_timer_t *h);

/* Moves held messages to the threads while the rate limit allows, and
 * arms the timer for the next token if some are left. */
static void
smtp_release(struct smtp *s)
{
	uint64_t wait;

	if (s->closing || s->held.len == 0)
		return;
	if (s->rate_count > 0)
		smtp_rate_refill(s);
	pthread_mutex_lock(&s->lock);
	while (s->held.len > 0) {
		if (s->rate_count > 0) {
			if (s->rate_units < s->rate_ms)
				break;
			s->rate_units -= s->rate_ms;
		}
		smtp_fifo_push(&s->work, smtp_fifo_pop(&s->held));
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	if (s->held.len == 0) {
		uv_timer_stop(&s->rate_timer);
		return;
	}
	wait = (s->rate_ms - s->rate_units + s->rate_count - 1) / s->rate_count;
	uv_timer_start(
	    &s->rate_timer, smtp_on_rate_timer, wait > 0 ? wait : 1, 0);
}

static void
smtp_on_rate_timer(uv_timer_t *h)
{
	smtp_release(h->data);
}

static void
smtp_on_close(uv_handle_t *h)
{
	struct smtp *s = h->data;

	if (--s->open_handles > 0)
		return;
	free(s->held.v);
	free(s->work.v);
	free(s->done.v);
	free(s->log_path[0]);
	free(s->log_path[1]);
	free(s->conns);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->gate_cond);
	pthread_mutex_destroy(&s->lock);
	transport_closed(&s->base);
}

/* Under s->lock: once the file in use is big and the other empty, the
 * other takes the lines; a file not in use is emptied once every line
 * in it is committed and no thread is writing to it. */
static void
smtp_log_turn(struct smtp *s)
{
	unsigned cur = s->log_cur;

	if (s->log_fd[0] == -1)
		return;
	if (s->log_bytes[cur] >= SMTP_LOG_SWITCH && s->log_bytes[cur ^ 1] == 0)
		s->log_cur = cur ^ 1;
	for (unsigned k = 0; k < 2; k++) {
		if (k == s->log_cur || s->log_bytes[k] == 0 ||
		    s->log_writing[k] > 0 || s->acked < s->log_last[k])
			continue;
		if (ftruncate(s->log_fd[k], 0) == 0)
			s->log_bytes[k] = 0;
	}
}

/* Closes the sent log: its files go when every line is committed, or
 * stay for the next start to read. */
static void
smtp_log_close(struct smtp *s)
{
	bool all = s->acked == s->pushed;

	for (unsigned k = 0; k < 2; k++) {
		if (s->log_fd[k] == -1)
			continue;
		close(s->log_fd[k]);
		s->log_fd[k] = -1;
		if (all && unlink(s->log_path[k]) != 0)
			log_warn("smtp cannot remove %s", s->log_path[k]);
	}
}

/* Joins the threads and closes the handles once every thread has
 * exited and every message has been handed back. */
static void
smtp_try_finish(struct smtp *s)
{
	bool idle;

	if (s->finishing)
		return;
	pthread_mutex_lock(&s->lock);
	idle = s->running == 0 && s->done.len == 0;
	pthread_mutex_unlock(&s->lock);
	if (!idle)
		return;
	s->finishing = true;
	smtp_log_close(s);
	/* Each thread has passed its last lock: these return at once. */
	for (unsigned i = 0; i < s->n_conns; i++) {
		if (s->conns[i].started)
			pthread_join(s->conns[i].thread, NULL);
		if (s->conns[i].curl != NULL)
			curl_easy_cleanup(s->conns[i].curl);
		if (s->conns[i].tmpl != NULL)
			curl_easy_cleanup(s->conns[i].tmpl);
		buf_fini(&s->conns[i].out);
	}
	uv_close((uv_handle_t *)&s->async, smtp_on_close);
	uv_close((uv_handle_t *)&s->rate_timer, smtp_on_close);
	uv_close((uv_handle_t *)&s->close_timer, smtp_on_close);
}

/* The close ran out of time: the transfers still going fail now. */
static void
smtp_on_close_timer(uv_timer_t *h)
{
	struct smtp *s = h->data;
	unsigned cut = 0;

	pthread_mutex_lock(&s->lock);
	s->cut = true;
	pthread_cond_broadcast(&s->gate_cond);
	for (unsigned i = 0; i < s->n_conns; i++) {
		if (s->conns[i].fd != CURL_SOCKET_BAD) {
			shutdown(s->conns[i].fd, SHUT_RDWR);
			cut++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (cut > 0)
		log_warnx("smtp stop timed out after %llums, cut %u "
			  "connections",
		    (unsigned long long)s->close_ms, cut);
}

static void
smtp_on_async(uv_async_t *h)
{
	struct smtp *s = h->data;
	struct transport_msg *m;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		m = smtp_fifo_pop(&s->done);
		if (m != NULL)
			s->popped++;
		pthread_mutex_unlock(&s->lock);
		if (m == NULL)
			break;
		s->inflight--;
		/* May submit more, or close the transport. */
		s->base.done(m, s->base.done_arg);
	}
	if (s->log_failed && !s->log_warned) {
		s->log_warned = true;
		log_warnx("smtp cannot write the sent log %s: each message "
			  "now waits for the one before to be committed",
		    s->log_path[s->log_cur]);
	}
	if (s->closing)
		smtp_try_finish(s);
	else if (s->inflight == 0)
		uv_unref((uv_handle_t *)&s->async);
}

/* ------------------------------------------------ create */

/* Sets the options every message on a connection shares; the strings
 * are copied by libcurl. Returns CURLE_OK or the first failure. */
static CURLcode
smtp_conn_setup(
    struct smtp_conn *c, const struct cfg *cfg, const char *password)
{
	long timeout = cfg->smtp_timeout > 0 && cfg->smtp_timeout < 86400
	    ? (long)cfg->smtp_timeout
	    : SMTP_DEFAULT_TIMEOUT;
	CURL *h = c->tmpl;
	CURLcode r = CURLE_OK;

#define SMTP_SET(opt, val)                                 \
	do {                                               \
		if (r == CURLE_OK)                         \
			r = curl_easy_setopt(h, opt, val); \
	} while (0)
	SMTP_SET(CURLOPT_URL, cfg->smtp_url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SMTP_SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#endif
	/* libcurl opens the session; the transaction is ours. */
	SMTP_SET(CURLOPT_CONNECT_ONLY, 1L);
	SMTP_SET(CURLOPT_USE_SSL,
	    cfg->smtp_tls == CFG_TLS_REQUIRED ? (long)CURLUSESSL_ALL
					      : (long)CURLUSESSL_NONE);
	SMTP_SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SMTP_SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->smtp_ca_file != NULL)
		SMTP_SET(CURLOPT_CAINFO, cfg->smtp_ca_file);
	if (cfg->smtp_username != NULL) {
		SMTP_SET(CURLOPT_USERNAME, cfg->smtp_username);
		SMTP_SET(CURLOPT_PASSWORD, password);
	}
	SMTP_SET(CURLOPT_CONNECTTIMEOUT, timeout);
	SMTP_SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
	SMTP_SET(CURLOPT_NOSIGNAL, 1L);
	SMTP_SET(CURLOPT_PROXY, "");
	SMTP_SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SMTP_SET(CURLOPT_MAXCONNECTS, 1L);
	SMTP_SET(CURLOPT_OPENSOCKETFUNCTION, smtp_on_open_socket);
	SMTP_SET(CURLOPT_OPENSOCKETDATA, c);
	SMTP_SET(CURLOPT_CLOSESOCKETFUNCTION, smtp_on_close_socket);
	SMTP_SET(CURLOPT_CLOSESOCKETDATA, c);
	SMTP_SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SMTP_SET(CURLOPT_DEBUGFUNCTION, smtp_on_debug);
	SMTP_SET(CURLOPT_DEBUGDATA, c);
	SMTP_SET(CURLOPT_VERBOSE, 1L);
#undef SMTP_SET
	return r;
}

static int
smtp_start_threads(struct smtp *s)
{
	sigset_t all, old;
	int ret = 0;

	/* Signals belong to the loop thread (uv_signal_t). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; ret == 0 && i < s->n_conns; i++) {
		pthread_mutex_lock(&s->lock);
		s->running++;
		pthread_mutex_unlock(&s->lock);
		ret = -pthread_create(
		    &s->conns[i].thread, NULL, smtp_conn_main, &s->conns[i]);
		if (ret == 0) {
			s->conns[i].started = true;
			continue;
		}
		pthread_mutex_lock(&s->lock);
		s->running--;
		pthread_mutex_unlock(&s->lock);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static char *
smtp_read_password(const struct cfg *cfg, char **err)
{
	const char *why = NULL;
	char *password = NULL;
	int ret;

	if (cfg->smtp_password_file == NULL) {
		*err = xstrdup("[smtp] username is set but password_file is "
			       "not");
		return NULL;
	}
	ret = cfg_read_secret(cfg->smtp_password_file, &password, &why);
	if (ret != 0) {
		*err = xasprintf("[smtp] password_file %s: %s",
		    cfg->smtp_password_file, why != NULL ? why : "unreadable");
		return NULL;
	}
	return password;
}

static void
smtp_wipe_free(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

static struct transport *
smtp_create(uv_loop_t *loop, const struct cfg *cfg, char **err)
{
	struct smtp *s;
	char *password = NULL;
	CURLcode cr = CURLE_OK;
	int timeout_s = cfg->smtp_timeout > 0 && cfg->smtp_timeout < 86400
	    ? (int)cfg->smtp_timeout
	    : SMTP_DEFAULT_TIMEOUT;
	unsigned n;
	int ret;

	pthread_once(&smtp_once, smtp_global_init);
	if (smtp_global_result != CURLE_OK) {
		*err = xasprintf(
		    "libcurl: %s", curl_easy_strerror(smtp_global_result));
		return NULL;
	}
	if (cfg->smtp_url == NULL ||
	    (!util_strcaseprefix(cfg->smtp_url, "smtp://") &&
		!util_strcaseprefix(cfg->smtp_url, "smtps://"))) {
		*err = xstrdup("[smtp] url: must be smtp:// or smtps://");
		return NULL;
	}
	if (cfg->smtp_username != NULL) {
		password = smtp_read_password(cfg, err);
		if (password == NULL)
			return NULL;
	}
	n = cfg->smtp_connections < 1 ? 1 : (unsigned)cfg->smtp_connections;
	if (n > SMTP_MAX_CONNECTIONS)
		n = SMTP_MAX_CONNECTIONS;

	s = xcalloc(1, sizeof(*s));
	s->n_conns = n;
	/* Room for a batch beyond one message per thread, so that the
	 * sender claims and commits many at a time. */
	s->cap = 2 * n + SMTP_QUEUE_EXTRA;
	s->conns = xcalloc(n, sizeof(*s->conns));
	s->log_fd[0] = s->log_fd[1] = -1;
	smtp_fifo_init(&s->held, s->cap);
	smtp_fifo_init(&s->work, s->cap);
	smtp_fifo_init(&s->done, s->cap);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_cond_init(&s->gate_cond, NULL);
	if (cfg->smtp_rate.count > 0) {
		uint64_t per_sec =
		    cfg->smtp_rate.per_sec > 0 ? cfg->smtp_rate.per_sec : 1;
		uint64_t burst = cfg->smtp_rate.count / per_sec;

		s->rate_count = cfg->smtp_rate.count;
		s->rate_ms = per_sec * 1000;
		s->rate_max_units = (burst > 0 ? burst : 1) * s->rate_ms;
		s->rate_units = s->rate_max_units;
		s->rate_last = uv_now(loop);
	}
	for (unsigned i = 0; cr == CURLE_OK && i < n; i++) {
		s->conns[i].s = s;
		s->conns[i].index = i;
		s->conns[i].fd = CURL_SOCKET_BAD;
		s->conns[i].sock = CURL_SOCKET_BAD;
		s->conns[i].timeout_s = timeout_s;
		buf_init(&s->conns[i].out);
		s->conns[i].tmpl = curl_easy_init();
		cr = s->conns[i].tmpl == NULL
		    ? CURLE_FAILED_INIT
		    : smtp_conn_setup(&s->conns[i], cfg, password);
	}
	smtp_wipe_free(password);

	uv_async_init(loop, &s->async, smtp_on_async);
	uv_timer_init(loop, &s->rate_timer);
	uv_timer_init(loop, &s->close_timer);
	s->async.data = s;
	s->rate_timer.data = s;
	s->close_timer.data = s;
	s->open_handles = 3;
	s->close_ms = (uint64_t)timeout_s * 1000;
	uv_unref((uv_handle_t *)&s->async);
	ret = cr == CURLE_OK ? smtp_start_threads(s) : 0;
	if (cr == CURLE_OK && ret == 0)
		return &s->base;

	if (cr != CURLE_OK)
		*err = xasprintf("smtp: libcurl: %s", curl_easy_strerror(cr));
	else
		*err = xasprintf(
		    "smtp: cannot start a sender thread: %s", strerror(-ret));
	/* Unwind through the normal close: the threads started see stop
	 * and exit; the close callbacks free s (t->closed is NULL). */
	s->closing = true;
	uv_ref((uv_handle_t *)&s->async);
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	uv_async_send(&s->async);
	return NULL;
}

/* ------------------------------------------------ interface */

/* An envelope address goes into "MAIL FROM:<...>" and "RCPT TO:<...>"
 * as is: no controls, spaces or brackets, so nothing can add a command. */
static bool
smtp_addr_ok(const char *a, bool empty_ok)
{
	size_t n;

	if (a == NULL)
		return empty_ok;
	n = strlen(a);
	if (n == 0)
		return empty_ok;
	if (n > SMTP_ADDR_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)a[i];

		if (ch <= 0x20 || ch == 0x7f || ch == '<' || ch == '>')
			return false;
	}
	return true;
}

static int
smtp_submit(struct transport *t, struct transport_msg *m)
{
	struct smtp *s = (struct smtp *)t;

	if (s->closing)
		return -ESHUTDOWN;
	if (s->inflight >= s->cap)
		return -EAGAIN;
	if (!smtp_addr_ok(m->rcpt, false) ||
	    !smtp_addr_ok(m->envelope_from, true))
		return -EINVAL;
	m->outcome = TRANSPORT_DEFER;
	m->code = 0;
	free(m->reply);
	m->reply = NULL;
	m->rcpt_rejected = false;
	s->inflight++;
	uv_ref((uv_handle_t *)&s->async);
	smtp_fifo_push(&s->held, m);
	smtp_release(s);
	return 0;
}

static unsigned
smtp_capacity(const struct transport *t)
{
	const struct smtp *s = (const struct smtp *)t;

	return s->closing ? 0 : s->cap - s->inflight;
}

static void
smtp_gate(struct transport *t, bool on)
{
	struct smtp *s = (struct smtp *)t;

	pthread_mutex_lock(&s->lock);
	s->gated = on;
	pthread_cond_broadcast(&s->gate_cond);
	pthread_mutex_unlock(&s->lock);
}

/* Everything popped so far went to the done callback, whose outcomes
 * the caller has now committed. */
static void
smtp_committed(struct transport *t)
{
	struct smtp *s = (struct smtp *)t;

	pthread_mutex_lock(&s->lock);
	if (s->acked != s->popped) {
		s->acked = s->popped;
		pthread_cond_broadcast(&s->gate_cond);
	}
	smtp_log_turn(s);
	pthread_mutex_unlock(&s->lock);
}

/* Opens the two files of the sent log, numbered from a count kept for
 * the process: a transport that replaces another (a reload) writes its
 * own. */
static int
smtp_log_sent(struct transport *t, const char *database, char **err)
{
	static unsigned serial;
	struct smtp *s = (struct smtp *)t;
	int fd[2] = { -1, -1 };
	char *path[2];

	for (unsigned k = 0; k < 2; k++) {
		path[k] = sentlog_path(database, serial++);
		fd[k] = sentlog_open(path[k]);
	}
	if (fd[0] < 0 || fd[1] < 0) {
		int ret = fd[0] < 0 ? fd[0] : fd[1];

		*err = xasprintf(
		    "sent log %s: %s", path[fd[0] < 0 ? 0 : 1], strerror(-ret));
		for (unsigned k = 0; k < 2; k++) {
			if (fd[k] >= 0) {
				close(fd[k]);
				unlink(path[k]);
			}
			free(path[k]);
		}
		return ret;
	}
	pthread_mutex_lock(&s->lock);
	for (unsigned k = 0; k < 2; k++) {
		s->log_fd[k] = fd[k];
		s->log_path[k] = path[k];
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static unsigned
smtp_inflight(const struct transport *t)
{
	return ((const struct smtp *)t)->inflight;
}

/* Under s->lock: hands m back untried. It counts as pushed, as every
 * message on the done list, so that the gate's counts stay in step. */
static void
smtp_shutdown_msg(struct smtp *s, struct transport_msg *m)
{
	m->outcome = TRANSPORT_DEFER;
	m->code = 0;
	free(m->reply);
	m->reply = xstrdup("shutdown");
	m->unsent = true;
	smtp_fifo_push(&s->done, m);
	s->pushed++;
}

static void
smtp_close(struct transport *t)
{
	struct smtp *s = (struct smtp *)t;

	if (s->closing)
		return;
	s->closing = true;
	uv_timer_stop(&s->rate_timer);
	uv_timer_start(&s->close_timer, smtp_on_close_timer, s->close_ms, 0);
	uv_ref((uv_handle_t *)&s->async);
	pthread_mutex_lock(&s->lock);
	while (s->held.len > 0)
		smtp_shutdown_msg(s, smtp_fifo_pop(&s->held));
	while (s->work.len > 0)
		smtp_shutdown_msg(s, smtp_fifo_pop(&s->work));
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	/* The messages above come back from the async callback, not from
	 * inside close(). */
	uv_async_send(&s->async);
}

const struct transport_ops transport_smtp_ops = {
	.name = "smtp",
	.create = smtp_create,
	.submit = smtp_submit,
	.capacity = smtp_capacity,
	.gate = smtp_gate,
	.committed = smtp_committed,
	.log_sent = smtp_log_sent,
	.inflight = smtp_inflight,
	.close = smtp_close,
};
