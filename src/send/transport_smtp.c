/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transport_smtp: sends messages to one SMTP relay on K sender threads
 * ([smtp] connections), each owning one connection (smtp_conn.c) reused
 * from message to message. This file is the pool around them: the
 * queues, the threads, the rate limit, the commit gate, the sent log
 * and the close. The network is waited on by the threads only, never by
 * the loop; what goes over a connection, and what a reply makes of a
 * message, is smtp_conn.c's.
 *
 * Crash safety (transport_hold_until_committed()). A connection whose
 * server accepted a message must not end another message's data until
 * that acceptance is safe from a crash: committed by the caller, or a
 * line of the sent log (transport_log_sent(), struct sentlog), which the
 * thread appends before it hands the outcome back. With the log, the
 * connection never waits for the database. A failed write turns the log
 * off and the holds on.
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
 * cuts the connections still open (smtp_conn_cut(), under the lock the
 * connections record their sockets under), the transfers fail at once
 * and their messages come back deferred. Threads are joined from the
 * async callback only once every thread has said it is past its last
 * lock, so pthread_join() returns at once and the loop never blocks on
 * it. Then the uv handles are closed and the transport freed in their
 * close callbacks.
 *
 * It has no failover between relays, and it never touches the database.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "send/sentlog.h"
#include "send/smtp_conn.h"
#include "send/transport_int.h"

#define TRANSPORT_SMTP_MAX_CONNECTIONS 64
#define TRANSPORT_SMTP_QUEUE_EXTRA     32

/* A bounded ring of messages; every ring holds at most the transport's
 * capacity, so a push never overflows. */
struct transport_smtp_fifo {
	struct transport_msg **v;
	unsigned head, len, cap;
};

struct transport_smtp;

/* A sender thread and the connection it owns. */
struct transport_smtp_thread {
	struct transport_smtp *s;
	struct smtp_conn *conn;
	pthread_t thread;
	bool started;
	/* The ticket of an acceptance not in the sent log, which holds
	 * this connection's next data until it is committed, or 0. This
	 * thread's alone. */
	uint64_t hold;
};

struct transport_smtp {
	struct transport base; /* first: transport_closed() frees it */
	uv_async_t async;
	uv_timer_t rate_timer;
	uv_timer_t close_timer; /* bounds the close */
	int open_handles;
	uint64_t close_ms;

	struct transport_smtp_thread *threads;
	unsigned n_threads;
	unsigned cap;      /* messages accepted at a time: 2 * n_threads */
	unsigned inflight; /* submitted, done callback not yet run */
	bool closing;
	bool finishing;
	bool log_warned;

	/* Rate limit, loop thread only. Tokens are counted in units of
	 * 1/rate_count of a token per ms: one token is rate_ms units, a
	 * millisecond adds rate_count units. */
	uint64_t rate_count; /* 0: unlimited */
	uint64_t rate_ms;
	uint64_t rate_units;
	uint64_t rate_max_units;
	uint64_t rate_last; /* uv_now() of the last refill */
	struct transport_smtp_fifo held;

	/* Shared with the threads, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* work to take, or stop */
	pthread_cond_t gate_cond; /* acked moved, or cut */
	struct transport_smtp_fifo work;
	struct transport_smtp_fifo done;
	/* The commit gate: outcomes pushed to done (each one's ticket is
	 * the count after its push), popped from it by the loop, and
	 * acknowledged as committed (all under lock). */
	bool gated;
	uint64_t pushed, popped, acked;
	unsigned running; /* threads not yet past their last lock */
	bool stop;
	bool cut;            /* the close ran out of time */
	struct sentlog *log; /* NULL: no sent log */
};

static void
transport_smtp_fifo_init(struct transport_smtp_fifo *f, unsigned cap)
{
	f->v = xcalloc(cap, sizeof(struct transport_msg *));
	f->head = 0;
	f->len = 0;
	f->cap = cap;
}

static void
transport_smtp_fifo_push(struct transport_smtp_fifo *f, struct transport_msg *m)
{
	if (f->len == f->cap)
		abort(); /* cannot happen: see struct transport_smtp_fifo */
	f->v[(f->head + f->len) % f->cap] = m;
	f->len++;
}

static struct transport_msg *
transport_smtp_fifo_pop(struct transport_smtp_fifo *f)
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

/*
 * The hold (transport_hold_until_committed()) keeps back the data and
 * its final dot, the one thing a server accepts a message on, while
 * this connection's last acceptance is neither committed nor in the
 * sent log (th->hold). MAIL, RCPT and DATA overlap the wait, and a crash
 * still repeats at most one message per connection.
 */
static bool
transport_smtp_on_may_end_data(void *arg)
{
	struct transport_smtp_thread *th = arg;
	struct transport_smtp *s = th->s;
	bool cut;

	pthread_mutex_lock(&s->lock);
	while (s->gated && s->acked < th->hold && !s->cut)
		pthread_cond_wait(&s->gate_cond, &s->lock);
	cut = s->cut;
	pthread_mutex_unlock(&s->lock);
	return !cut;
}

/* The next message to send, if one is waiting and the transport is not
 * stopping: taken to go with the end of this one's data. */
static struct transport_msg *
transport_smtp_on_take_next(void *arg)
{
	struct transport_smtp_thread *th = arg;
	struct transport_smtp *s = th->s;
	struct transport_msg *m = NULL;

	pthread_mutex_lock(&s->lock);
	if (!s->stop)
		m = transport_smtp_fifo_pop(&s->work);
	pthread_mutex_unlock(&s->lock);
	return m;
}

static const struct smtp_conn_hooks transport_smtp_hooks = {
	.may_end_data = transport_smtp_on_may_end_data,
	.take_next = transport_smtp_on_take_next,
};

static void transport_smtp_shutdown_msg(
    struct transport_smtp *s, struct transport_msg *m);

/* Under s->lock: hands m back to the loop. An acceptance goes into the
 * sent log first (the lock is let go meanwhile); one the log did not
 * take holds this connection's next data until it is committed. */
static void
transport_smtp_done(struct transport_smtp_thread *th, struct transport_msg *m)
{
	struct transport_smtp *s = th->s;
	bool accepted = m->outcome == TRANSPORT_SENT;
	uint64_t ticket;
	int file = -1;

	if (accepted && s->log != NULL) {
		pthread_mutex_unlock(&s->lock);
		file = sentlog_write(s->log, m->id, clock_now(), m->code,
		    m->message_id, m->reply);
		pthread_mutex_lock(&s->lock);
	}
	transport_smtp_fifo_push(&s->done, m);
	ticket = ++s->pushed;
	if (file >= 0)
		sentlog_written(s->log, file, ticket);
	th->hold = accepted && file < 0 ? ticket : 0;
	uv_async_send(&s->async);
}

static void *
transport_smtp_thread_main(void *arg)
{
	struct transport_smtp_thread *th = arg;
	struct transport_smtp *s = th->s;
	struct transport_msg *m = NULL, *next;
	bool sent = false;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (m == NULL) {
			while (!s->stop && s->work.len == 0)
				pthread_cond_wait(&s->cond, &s->lock);
			if (s->stop)
				break;
			m = transport_smtp_fifo_pop(&s->work);
			sent = false;
		} else if (s->stop && !sent) {
			/* Taken with the last one, whose connection was then
			 * lost: stopping, no new connection is opened. */
			transport_smtp_shutdown_msg(s, m);
			uv_async_send(&s->async);
			m = NULL;
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		next = smtp_conn_send(th->conn, m, sent);
		/* Its commands are on the wire only if the connection that
		 * carried them is still open; if not, it starts afresh. */
		sent = next != NULL && smtp_conn_is_open(th->conn);
		pthread_mutex_lock(&s->lock);
		transport_smtp_done(th, m);
		m = next;
	}
	pthread_mutex_unlock(&s->lock);
	smtp_conn_quit(th->conn);
	pthread_mutex_lock(&s->lock);
	s->running--;
	pthread_mutex_unlock(&s->lock);
	uv_async_send(&s->async);
	return NULL;
}

/* ------------------------------------------------ loop thread */

static void
transport_smtp_rate_refill(struct transport_smtp *s)
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

static void transport_smtp_on_rate_timer(uv_timer_t *h);

/* Moves held messages to the threads while the rate limit allows, and
 * arms the timer for the next token if some are left. */
static void
transport_smtp_release(struct transport_smtp *s)
{
	uint64_t wait;

	if (s->closing || s->held.len == 0)
		return;
	if (s->rate_count > 0)
		transport_smtp_rate_refill(s);
	pthread_mutex_lock(&s->lock);
	while (s->held.len > 0) {
		if (s->rate_count > 0) {
			if (s->rate_units < s->rate_ms)
				break;
			s->rate_units -= s->rate_ms;
		}
		transport_smtp_fifo_push(
		    &s->work, transport_smtp_fifo_pop(&s->held));
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	if (s->held.len == 0) {
		uv_timer_stop(&s->rate_timer);
		return;
	}
	wait = (s->rate_ms - s->rate_units + s->rate_count - 1) / s->rate_count;
	uv_timer_start(&s->rate_timer, transport_smtp_on_rate_timer,
	    wait > 0 ? wait : 1, 0);
}

static void
transport_smtp_on_rate_timer(uv_timer_t *h)
{
	transport_smtp_release(h->data);
}

static void
transport_smtp_on_close(uv_handle_t *h)
{
	struct transport_smtp *s = h->data;

	if (--s->open_handles > 0)
		return;
	free(s->held.v);
	free(s->work.v);
	free(s->done.v);
	free(s->threads);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->gate_cond);
	pthread_mutex_destroy(&s->lock);
	transport_closed(&s->base);
}

/* Joins the threads and closes the handles once every thread has
 * exited and every message has been handed back. */
static void
transport_smtp_try_finish(struct transport_smtp *s)
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
	/* Its files go when every line is committed, or stay for the next
	 * start to read. */
	sentlog_free(s->log, s->acked == s->pushed);
	s->log = NULL;
	/* Each thread has passed its last lock: these return at once. */
	for (unsigned i = 0; i < s->n_threads; i++) {
		if (s->threads[i].started)
			pthread_join(s->threads[i].thread, NULL);
		smtp_conn_free(s->threads[i].conn);
	}
	uv_close((uv_handle_t *)&s->async, transport_smtp_on_close);
	uv_close((uv_handle_t *)&s->rate_timer, transport_smtp_on_close);
	uv_close((uv_handle_t *)&s->close_timer, transport_smtp_on_close);
}

/* The close ran out of time: the transfers still going fail now. */
static void
transport_smtp_on_close_timer(uv_timer_t *h)
{
	struct transport_smtp *s = h->data;
	unsigned cut = 0;

	pthread_mutex_lock(&s->lock);
	s->cut = true;
	pthread_cond_broadcast(&s->gate_cond);
	for (unsigned i = 0; i < s->n_threads; i++)
		if (s->threads[i].conn != NULL &&
		    smtp_conn_cut(s->threads[i].conn))
			cut++;
	pthread_mutex_unlock(&s->lock);
	if (cut > 0)
		log_warnx("smtp stop timed out after %llums, cut %u "
			  "connections",
		    (unsigned long long)s->close_ms, cut);
}

static void
transport_smtp_on_async(uv_async_t *h)
{
	struct transport_smtp *s = h->data;
	struct transport_msg *m;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		m = transport_smtp_fifo_pop(&s->done);
		if (m != NULL)
			s->popped++;
		pthread_mutex_unlock(&s->lock);
		if (m == NULL)
			break;
		s->inflight--;
		/* May submit more, or close the transport. */
		s->base.done(m, s->base.done_arg);
	}
	if (s->log != NULL && !s->log_warned && sentlog_failed(s->log)) {
		s->log_warned = true;
		log_warnx("smtp cannot write the sent log %s: each message "
			  "now waits for the one before to be committed",
		    sentlog_current_path(s->log));
	}
	if (s->closing)
		transport_smtp_try_finish(s);
	else if (s->inflight == 0)
		uv_unref((uv_handle_t *)&s->async);
}

/* ------------------------------------------------ create */

static int
transport_smtp_start_threads(struct transport_smtp *s)
{
	sigset_t all, old;
	int ret = 0;

	/* Signals belong to the loop thread (uv_signal_t). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; ret == 0 && i < s->n_threads; i++) {
		struct transport_smtp_thread *th = &s->threads[i];

		pthread_mutex_lock(&s->lock);
		s->running++;
		pthread_mutex_unlock(&s->lock);
		ret = -pthread_create(
		    &th->thread, NULL, transport_smtp_thread_main, th);
		if (ret == 0) {
			th->started = true;
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
transport_smtp_read_password(const struct cfg *cfg, char **err)
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
transport_smtp_wipe_free(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

static struct transport *
transport_smtp_create(uv_loop_t *loop, const struct cfg *cfg, char **err)
{
	struct transport_smtp *s;
	char *password = NULL, *conn_err = NULL;
	unsigned n;
	int ret = 0;

	if (smtp_conn_global_init(err) != 0)
		return NULL;
	if (cfg->smtp_url == NULL ||
	    (!util_strcaseprefix(cfg->smtp_url, "smtp://") &&
		!util_strcaseprefix(cfg->smtp_url, "smtps://"))) {
		*err = xstrdup("[smtp] url: must be smtp:// or smtps://");
		return NULL;
	}
	if (cfg->smtp_username != NULL) {
		password = transport_smtp_read_password(cfg, err);
		if (password == NULL)
			return NULL;
	}
	n = cfg->smtp_connections < 1 ? 1 : (unsigned)cfg->smtp_connections;
	if (n > TRANSPORT_SMTP_MAX_CONNECTIONS)
		n = TRANSPORT_SMTP_MAX_CONNECTIONS;

	s = xcalloc(1, sizeof(*s));
	s->n_threads = n;
	/* Room for a batch beyond one message per thread, so that the
	 * sender claims and commits many at a time. */
	s->cap = 2 * n + TRANSPORT_SMTP_QUEUE_EXTRA;
	s->threads = xcalloc(n, sizeof(*s->threads));
	transport_smtp_fifo_init(&s->held, s->cap);
	transport_smtp_fifo_init(&s->work, s->cap);
	transport_smtp_fifo_init(&s->done, s->cap);
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
	for (unsigned i = 0; conn_err == NULL && i < n; i++) {
		struct transport_smtp_thread *th = &s->threads[i];

		th->s = s;
		th->conn = smtp_conn_new(cfg, password, i, &s->lock,
		    &transport_smtp_hooks, th, &conn_err);
	}
	transport_smtp_wipe_free(password);

	uv_async_init(loop, &s->async, transport_smtp_on_async);
	uv_timer_init(loop, &s->rate_timer);
	uv_timer_init(loop, &s->close_timer);
	s->async.data = s;
	s->rate_timer.data = s;
	s->close_timer.data = s;
	s->open_handles = 3;
	s->close_ms = (uint64_t)smtp_conn_timeout(cfg) * 1000;
	uv_unref((uv_handle_t *)&s->async);
	if (conn_err == NULL)
		ret = transport_smtp_start_threads(s);
	if (conn_err == NULL && ret == 0)
		return &s->base;

	if (conn_err != NULL)
		*err = xasprintf("smtp: %s", conn_err);
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
	free(conn_err);
	return NULL;
}

/* ------------------------------------------------ interface */

static int
transport_smtp_submit(struct transport *t, struct transport_msg *m)
{
	struct transport_smtp *s = (struct transport_smtp *)t;

	if (s->closing)
		return -ESHUTDOWN;
	if (s->inflight >= s->cap)
		return -EAGAIN;
	if (!smtp_conn_addr_ok(m->rcpt, false) ||
	    !smtp_conn_addr_ok(m->envelope_from, true))
		return -EINVAL;
	m->outcome = TRANSPORT_DEFER;
	m->code = 0;
	free(m->reply);
	m->reply = NULL;
	m->rcpt_rejected = false;
	s->inflight++;
	uv_ref((uv_handle_t *)&s->async);
	transport_smtp_fifo_push(&s->held, m);
	transport_smtp_release(s);
	return 0;
}

static unsigned
transport_smtp_capacity(const struct transport *t)
{
	const struct transport_smtp *s = (const struct transport_smtp *)t;

	return s->closing ? 0 : s->cap - s->inflight;
}

static void
transport_smtp_gate(struct transport *t, bool on)
{
	struct transport_smtp *s = (struct transport_smtp *)t;

	pthread_mutex_lock(&s->lock);
	s->gated = on;
	pthread_cond_broadcast(&s->gate_cond);
	pthread_mutex_unlock(&s->lock);
}

/* Everything popped so far went to the done callback, whose outcomes
 * the caller has now committed. */
static void
transport_smtp_committed(struct transport *t)
{
	struct transport_smtp *s = (struct transport_smtp *)t;

	pthread_mutex_lock(&s->lock);
	if (s->acked != s->popped) {
		s->acked = s->popped;
		pthread_cond_broadcast(&s->gate_cond);
	}
	if (s->log != NULL)
		sentlog_committed(s->log, s->acked);
	pthread_mutex_unlock(&s->lock);
}

/* Opens the sent log (struct sentlog). */
static int
transport_smtp_log_sent(struct transport *t, const char *database, char **err)
{
	struct transport_smtp *s = (struct transport_smtp *)t;
	struct sentlog *log;
	int ret;

	ret = sentlog_new(database, &log, err);
	if (ret != 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	s->log = log;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static unsigned
transport_smtp_inflight(const struct transport *t)
{
	return ((const struct transport_smtp *)t)->inflight;
}

/* Under s->lock: hands m back untried. It counts as pushed, as every
 * message on the done list, so that the gate's counts stay in step. */
static void
transport_smtp_shutdown_msg(struct transport_smtp *s, struct transport_msg *m)
{
	m->outcome = TRANSPORT_DEFER;
	m->code = 0;
	free(m->reply);
	m->reply = xstrdup("shutdown");
	m->unsent = true;
	transport_smtp_fifo_push(&s->done, m);
	s->pushed++;
}

static void
transport_smtp_close(struct transport *t)
{
	struct transport_smtp *s = (struct transport_smtp *)t;

	if (s->closing)
		return;
	s->closing = true;
	uv_timer_stop(&s->rate_timer);
	uv_timer_start(
	    &s->close_timer, transport_smtp_on_close_timer, s->close_ms, 0);
	uv_ref((uv_handle_t *)&s->async);
	pthread_mutex_lock(&s->lock);
	while (s->held.len > 0)
		transport_smtp_shutdown_msg(
		    s, transport_smtp_fifo_pop(&s->held));
	while (s->work.len > 0)
		transport_smtp_shutdown_msg(
		    s, transport_smtp_fifo_pop(&s->work));
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	/* The messages above come back from the async callback, not from
	 * inside close(). */
	uv_async_send(&s->async);
}

const struct transport_ops transport_smtp_ops = {
	.name = "smtp",
	.create = transport_smtp_create,
	.submit = transport_smtp_submit,
	.capacity = transport_smtp_capacity,
	.gate = transport_smtp_gate,
	.committed = transport_smtp_committed,
	.log_sent = transport_smtp_log_sent,
	.inflight = transport_smtp_inflight,
	.close = transport_smtp_close,
};
