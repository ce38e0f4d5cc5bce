/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transport_smtp: sends messages to SMTP relays ([smtp], then each
 * [smtp.NAME] in the order written), each on K sender threads (its
 * connections), every thread owning one connection (smtp_conn.c) reused
 * from message to message. This file is the pool around them: routing
 * between relays, the lanes, the queues, the threads, the rate limits,
 * the commit gate, the sent log and the close. The network is waited on
 * by the threads only, never by the loop; what goes over a connection,
 * and what a reply makes of a message, is smtp_conn.c's; what a relay's
 * state is (up, down, throttled, paused, quota spent) is relay.c's.
 *
 * Routing. A message goes to the first relay, in order, that takes its
 * lane now (relay_open_for()). A relay that could not open a session
 * goes down and is probed (one connection, after a backoff, by one of
 * its threads); one that refused mail for a while (421, 4.7.x) is
 * throttled for a backoff; either way the messages queued for it go to
 * the next relay at once, or, when there is none, back to the caller
 * untried (transport_msg.unsent, with the time a relay may take them
 * again), so that a broken relay costs one connection per backoff, not
 * one per message. A message a relay deferred, or could not carry
 * (SMTPUTF8), goes to the next relay that has not had it, at once;
 * when none is left, its outcome goes back. The caller pauses a lane of
 * a relay (transport_pause()) when it finds a refusal to be about the
 * sender: after a backoff one message of the lane goes as the probe,
 * and the pause ends when it is accepted, or refused for a reason the
 * caller does not find to be about the sender.
 *
 * Lanes. Each relay keeps booking mail and bulk mail apart wherever
 * messages wait (for a rate token, or for a thread), and a thread takes
 * booking mail first, also as the next message it pipelines. Bulk mail
 * never takes the last n_threads places of a relay's room, so that
 * there is always room for a confirmation.
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
 * a relay's threads through its queues under the one lock of the
 * transport and the relay's condition variable; the threads put each
 * finished message on the done list and wake the loop with one
 * uv_async_t (sends coalesce, so the loop drains the whole list), and
 * the done callback runs on the loop thread. A probe's result comes back
 * the same way, as a message with id -1 that the caller never sees.
 *
 * Rate limit. A token bucket per relay on the loop thread (its rate,
 * refilled continuously, holding at most one second's worth and at
 * least one token). Messages it cannot start yet for want of tokens
 * wait in the relay's own queues and are released to the threads from a
 * timer armed for the next token. A relay holds up to 2*K + 128
 * messages (capacity()), and a rate-limited one no more than 2*K and
 * two seconds of its rate: so capacity() falls to 0 while rate-limited
 * only once they are full, and the caller is woken by the done
 * callbacks; composed mail does not wait minutes behind a slow rate.
 *
 * Close. Stops taking messages; messages not yet started come back
 * untried with reply "shutdown"; each thread finishes the transactions
 * it has begun, sends QUIT and exits after telling the loop. The whole
 * close is bounded by the longest timeout of the relays: when it runs
 * out, the loop cuts the connections still open (smtp_conn_cut(), under
 * the lock the connections record their sockets under), the transfers
 * fail at once and their messages come back deferred. Threads are
 * joined from the async callback only once every thread has said it is
 * past its last lock, so pthread_join() returns at once and the loop
 * never blocks on it. Then the uv handles are closed and the transport
 * freed in their close callbacks.
 *
 * It never touches the database.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "send/relay.h"
#include "send/sentlog.h"
#include "send/smtp_conn.h"
#include "send/transport_int.h"
#include "util.h"

#define TRANSPORT_SMTP_MAX_CONNECTIONS 64
#define TRANSPORT_SMTP_QUEUE_EXTRA     128
#define TRANSPORT_SMTP_LANES           2
#define TRANSPORT_SMTP_PROBE_ID        (-1)

/* A rate-limited relay holds at most this many seconds of its rate
 * beyond one message per thread and the places kept for booking mail. */
#define TRANSPORT_SMTP_RATE_AHEAD_S 2

/* A bounded ring of messages; every ring holds at most what the whole
 * transport holds, so a push never overflows. */
struct transport_smtp_fifo {
	struct transport_msg **v;
	unsigned head, len, cap;
};

struct transport_smtp;
struct transport_smtp_relay;

/* A sender thread and the connection it owns. */
struct transport_smtp_thread {
	struct transport_smtp_relay *r;
	struct smtp_conn *conn;
	pthread_t thread;
	bool started;
	/* The ticket of an acceptance not in the sent log, which holds
	 * this connection's next data until it is committed, or 0. This
	 * thread's alone. */
	uint64_t hold;
};

/* One relay: its threads, queues, rate limit and state. */
struct transport_smtp_relay {
	struct transport_smtp *s;
	unsigned index;
	struct relay *state; /* loop thread */
	struct transport_smtp_thread *threads;
	unsigned n_threads;
	unsigned cap;    /* messages it holds at most: 2 * K + extra */
	unsigned active; /* messages it holds now (loop thread) */
	uv_timer_t rate_timer;
	uv_timer_t timer; /* its next change of state */

	/* Rate limit, loop thread only. Tokens are counted in units of
	 * 1/rate_count of a token per ms: one token is rate_ms units, a
	 * millisecond adds rate_count units. */
	uint64_t rate_count; /* 0: unlimited */
	uint64_t rate_ms;
	uint64_t rate_units;
	uint64_t rate_max_units;
	uint64_t rate_last; /* uv_now() of the last refill */
	struct transport_smtp_fifo held[TRANSPORT_SMTP_LANES];

	/* What was last told of it (the relay callback), loop thread. */
	enum relay_state told_state;
	bool told_paused[RELAY_LANES];
	char *told_cause;
	bool told;
	unsigned n_told;

	/* Under s->lock. */
	pthread_cond_t cond; /* work to take, a probe to make, or stop */
	struct transport_smtp_fifo work[TRANSPORT_SMTP_LANES];
	bool probe; /* a thread should open a connection */
	/* A thread found the relay failing: the others take no more of
	 * its work until the loop has taken it back, or gives it more. */
	bool halted;
};

struct transport_smtp {
	struct transport base; /* first: transport_closed() frees it */
	uv_async_t async;
	uv_timer_t close_timer; /* bounds the close */
	int open_handles;
	uint64_t close_ms;

	struct transport_smtp_relay *relays;
	unsigned n_relays;
	unsigned cap;      /* what all relays hold at most */
	unsigned inflight; /* submitted, done callback not yet run */
	bool closing;
	bool finishing;
	bool log_warned; /* the sent log failed, and the log said so */

	/* Shared with the threads, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t gate_cond; /* acked moved, or cut */
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

static unsigned
transport_smtp_lane(const struct transport_msg *m)
{
	return m->bulk ? 1 : 0;
}

/* Booking mail first. */
static struct transport_msg *
transport_smtp_pop_work(struct transport_smtp_relay *r)
{
	struct transport_msg *m = transport_smtp_fifo_pop(&r->work[0]);

	return m != NULL ? m : transport_smtp_fifo_pop(&r->work[1]);
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
	struct transport_smtp *s = th->r->s;
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
	struct transport_smtp *s = th->r->s;
	struct transport_msg *m = NULL;

	pthread_mutex_lock(&s->lock);
	if (!s->stop && !th->r->halted)
		m = transport_smtp_pop_work(th->r);
	pthread_mutex_unlock(&s->lock);
	return m;
}

static const struct smtp_conn_hooks transport_smtp_hooks = {
	.may_end_data = transport_smtp_on_may_end_data,
	.take_next = transport_smtp_on_take_next,
};

/* Under s->lock: puts m on the done list, counted as every message
 * there is, so that the gate's counts stay in step. */
static void
transport_smtp_push_done(struct transport_smtp *s, struct transport_msg *m)
{
	transport_smtp_fifo_push(&s->done, m);
	s->pushed++;
}

/* Under s->lock: hands m back untried: reply says why, retry_at when it
 * may be tried again. */
static void
transport_smtp_hand_back(struct transport_smtp *s, struct transport_msg *m,
    const char *why, time_t retry_at)
{
	m->outcome = TRANSPORT_DEFER;
	m->code = 0;
	m->step = TRANSPORT_STEP_NONE;
	free(m->reply);
	m->reply = xstrdup(why);
	m->unsent = true;
	m->retry_at = retry_at;
	m->fault = SMTP_CONN_FAULT_NONE;
	transport_smtp_push_done(s, m);
}

/* Under s->lock: hands m back to the loop. An acceptance goes into the
 * sent log first (the lock is let go meanwhile); one the log did not
 * take holds this connection's next data until it is committed. */
static void
transport_smtp_done(struct transport_smtp_thread *th, struct transport_msg *m)
{
	struct transport_smtp *s = th->r->s;
	bool accepted = m->outcome == TRANSPORT_SENT;
	uint64_t ticket;
	int file = -1;

	if (accepted && s->log != NULL) {
		pthread_mutex_unlock(&s->lock);
		file = sentlog_write(s->log, m->id, clock_now(), m->code,
		    m->message_id, relay_name(th->r->state), m->reply);
		pthread_mutex_lock(&s->lock);
	}
	transport_smtp_push_done(s, m);
	ticket = s->pushed;
	if (file >= 0)
		sentlog_written(s->log, file, ticket);
	th->hold = accepted && file < 0 ? ticket : 0;
	uv_async_send(&s->async);
}

/* With s->lock held, let go meanwhile: opens a connection for the
 * relay's probe and hands the result back. */
static void
transport_smtp_thread_probe(struct transport_smtp_thread *th)
{
	struct transport_smtp *s = th->r->s;
	struct transport_msg *p = transport_msg_new();
	char why[512];

	p->id = TRANSPORT_SMTP_PROBE_ID;
	p->route_relay = th->r->index;
	pthread_mutex_unlock(&s->lock);
	why[0] = '\0';
	if (smtp_conn_probe(th->conn, why, sizeof(why)) == 0) {
		p->outcome = TRANSPORT_SENT;
	} else {
		p->outcome = TRANSPORT_DEFER;
		p->reply = xstrdup(why);
	}
	pthread_mutex_lock(&s->lock);
	transport_smtp_push_done(s, p);
	uv_async_send(&s->async);
}

/*
 * A sender thread wakes for every reply and goes back to sleep at once:
 * left to the default policy, each wake-up preempts whatever runs, the
 * loop or a composer, and with many connections the switches cost more
 * than the sending. As SCHED_BATCH (Linux) it waits for the running
 * thread's turn to end instead: the same messages, far fewer switches,
 * and a wait measured in milliseconds. Its name shows in top -H and
 * /proc (at most 15 bytes).
 */
static void
transport_smtp_thread_setup(const struct transport_smtp_thread *th)
{
	char name[16];

#ifdef SCHED_BATCH
	struct sched_param sp = { .sched_priority = 0 };

	if (pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp) != 0)
		log_debug("smtp thread: SCHED_BATCH refused");
#endif
	(void)snprintf(name, sizeof(name), "fm-smtp%u.%u", th->r->index,
	    (unsigned)(th - th->r->threads));
	(void)pthread_setname_np(pthread_self(), name);
}

static void *
transport_smtp_thread_main(void *arg)
{
	struct transport_smtp_thread *th = arg;
	struct transport_smtp_relay *r = th->r;
	struct transport_smtp *s = r->s;
	struct transport_msg *m = NULL, *next;
	bool sent = false;

	transport_smtp_thread_setup(th);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (m == NULL) {
			while (!s->stop && !r->probe &&
			    (r->halted || r->work[0].len + r->work[1].len == 0))
				pthread_cond_wait(&r->cond, &s->lock);
			if (s->stop)
				break;
			if (r->probe) {
				r->probe = false;
				transport_smtp_thread_probe(th);
				continue;
			}
			m = transport_smtp_pop_work(r);
			sent = false;
		} else if (s->stop && !sent) {
			/* Taken with the last one, whose connection was then
			 * lost: stopping, no new connection is opened. */
			transport_smtp_hand_back(s, m, "shutdown", 0);
			uv_async_send(&s->async);
			m = NULL;
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		next = smtp_conn_send(th->conn, m, sent, &sent);
		pthread_mutex_lock(&s->lock);
		if (m->fault == SMTP_CONN_FAULT_SESSION ||
		    m->fault == SMTP_CONN_FAULT_THROTTLED ||
		    m->fault == SMTP_CONN_FAULT_BROKEN)
			r->halted = true;
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

/* ------------------------------------------------ rate limit */

static void
transport_smtp_rate_refill(struct transport_smtp_relay *r)
{
	uint64_t now = uv_now(r->s->async.loop);
	uint64_t elapsed = now - r->rate_last;

	r->rate_last = now;
	if (elapsed >= r->rate_max_units / r->rate_count + 1) {
		r->rate_units = r->rate_max_units;
		return;
	}
	r->rate_units += elapsed * r->rate_count;
	if (r->rate_units > r->rate_max_units)
		r->rate_units = r->rate_max_units;
}

static void transport_smtp_on_rate_timer(uv_timer_t *h);

/* Moves held messages to the threads, booking mail first, while the
 * rate limit allows, and arms the timer for the next token if some are
 * left. */
static void
transport_smtp_release(struct transport_smtp_relay *r)
{
	struct transport_smtp *s = r->s;
	uint64_t wait;
	unsigned lane;

	if (s->closing || r->held[0].len + r->held[1].len == 0)
		return;
	if (r->rate_count > 0)
		transport_smtp_rate_refill(r);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		lane = r->held[0].len > 0 ? 0 : 1;
		if (r->held[lane].len == 0)
			break;
		if (r->rate_count > 0) {
			if (r->rate_units < r->rate_ms)
				break;
			r->rate_units -= r->rate_ms;
		}
		transport_smtp_fifo_push(
		    &r->work[lane], transport_smtp_fifo_pop(&r->held[lane]));
		r->halted = false;
		pthread_cond_signal(&r->cond);
	}
	pthread_mutex_unlock(&s->lock);
	if (r->held[0].len + r->held[1].len == 0) {
		uv_timer_stop(&r->rate_timer);
		return;
	}
	wait = (r->rate_ms - r->rate_units + r->rate_count - 1) / r->rate_count;
	uv_timer_start(&r->rate_timer, transport_smtp_on_rate_timer,
	    wait > 0 ? wait : 1, 0);
}

static void
transport_smtp_on_rate_timer(uv_timer_t *h)
{
	transport_smtp_release(h->data);
}

/* ------------------------------------------------ routing */

static const char *
transport_smtp_relay_name(const struct transport_smtp_relay *r)
{
	return relay_name(r->state);
}

/* The first relay that takes lane now, or NULL; with skip, one that has
 * not had m. */
static struct transport_smtp_relay *
transport_smtp_pick(
    struct transport_smtp *s, unsigned lane, uint32_t skip, time_t now)
{
	for (unsigned i = 0; i < s->n_relays; i++) {
		struct transport_smtp_relay *r = &s->relays[i];

		if ((skip & (1u << i)) == 0 &&
		    relay_open_for(r->state, lane, now))
			return r;
	}
	return NULL;
}

/* When a relay may take lane again (now at the soonest), for a message
 * handed back untried. */
static time_t
transport_smtp_retry_at(const struct transport_smtp *s, time_t now)
{
	time_t best = 0, t;

	for (unsigned i = 0; i < s->n_relays; i++) {
		t = relay_next_change(s->relays[i].state, now);
		if (t > 0 && (best == 0 || t < best))
			best = t;
	}
	return best > 0 ? best : now + RELAY_BACKOFF_MAX;
}

/* Why no relay takes mail now, for the reply of a message handed back:
 * the first relay's state and cause. */
static void
transport_smtp_why_none(
    const struct transport_smtp *s, time_t now, char *out, size_t size)
{
	struct relay_info info;

	relay_get_info(s->relays[0].state, now, &info);
	(void)snprintf(out, size, "no relay takes mail now: %s %s%s%s",
	    info.name, relay_state_name(info.state),
	    info.cause != NULL ? ": " : "",
	    info.cause != NULL ? info.cause : "");
}

/* Gives m to relay r: reserved against its quota, held for its rate. */
static void
transport_smtp_assign(
    struct transport_smtp_relay *r, struct transport_msg *m, time_t now)
{
	unsigned lane = transport_smtp_lane(m);

	m->route_relay = r->index;
	r->active++;
	relay_reserve(r->state, lane, now);
	transport_smtp_fifo_push(&r->held[lane], m);
	transport_smtp_release(r);
}

/* Sends m by the first relay that takes its lane and has not had it,
 * or hands it back untried. Loop thread, not under the lock. */
static void
transport_smtp_route(
    struct transport_smtp *s, struct transport_msg *m, time_t now)
{
	struct transport_smtp_relay *r;
	char why[512];

	r = transport_smtp_pick(s, transport_smtp_lane(m), m->route_tried, now);
	if (r != NULL) {
		transport_smtp_assign(r, m, now);
		return;
	}
	transport_smtp_why_none(s, now, why, sizeof(why));
	pthread_mutex_lock(&s->lock);
	transport_smtp_hand_back(s, m, why, transport_smtp_retry_at(s, now));
	pthread_mutex_unlock(&s->lock);
	uv_async_send(&s->async);
}

/* Takes back what r holds and has not begun (its held and work queues)
 * and routes it again: r cannot take that lane (or any, lane < 0) now. */
static void
transport_smtp_drain(struct transport_smtp_relay *r, int lane, time_t now)
{
	struct transport_smtp *s = r->s;
	struct transport_smtp_fifo taken;
	struct transport_msg *m;

	transport_smtp_fifo_init(&taken, s->cap);
	pthread_mutex_lock(&s->lock);
	for (unsigned l = 0; l < TRANSPORT_SMTP_LANES; l++) {
		if (lane >= 0 && (unsigned)lane != l)
			continue;
		while ((m = transport_smtp_fifo_pop(&r->work[l])) != NULL)
			transport_smtp_fifo_push(&taken, m);
	}
	pthread_mutex_unlock(&s->lock);
	for (unsigned l = 0; l < TRANSPORT_SMTP_LANES; l++) {
		if (lane >= 0 && (unsigned)lane != l)
			continue;
		while ((m = transport_smtp_fifo_pop(&r->held[l])) != NULL)
			transport_smtp_fifo_push(&taken, m);
	}
	while ((m = transport_smtp_fifo_pop(&taken)) != NULL) {
		r->active--;
		relay_settle(r->state, transport_smtp_lane(m), false, now);
		transport_smtp_route(s, m, now);
	}
	free(taken.v);
}

/* ------------------------------------------------ relay states */

static void transport_smtp_on_relay_timer(uv_timer_t *h);

static void
transport_smtp_info(const struct transport_smtp_relay *r, time_t now,
    struct transport_relay *out)
{
	struct relay_info info;

	relay_get_info(r->state, now, &info);
	memset(out, 0, sizeof(*out));
	out->name = info.name;
	out->position = r->index;
	out->state = relay_state_name(info.state);
	for (size_t i = 0; i < 2; i++)
		out->paused[i] = info.paused[i];
	out->cause = info.cause;
	out->since = info.since;
	out->next_try = info.next_try;
	out->quota = info.quota;
	out->quota_window = info.quota_window;
	out->quota_left = info.quota_left;
}

/* Arms r's timer for its next change, tells the caller when its state
 * changed (logging it), and starts its probe when one is due. */
static void
transport_smtp_review(struct transport_smtp_relay *r, time_t now)
{
	struct transport_smtp *s = r->s;
	struct relay_info info;
	struct transport_relay out;
	char next[CLOCK_ISO_LEN];
	time_t when;
	bool changed;

	if (s->closing)
		return;
	if (relay_probe_due(r->state, now)) {
		relay_probing(r->state);
		pthread_mutex_lock(&s->lock);
		r->probe = true;
		pthread_cond_signal(&r->cond);
		pthread_mutex_unlock(&s->lock);
	}
	relay_get_info(r->state, now, &info);
	changed = !r->told || info.state != r->told_state ||
	    info.paused[0] != r->told_paused[0] ||
	    info.paused[1] != r->told_paused[1] ||
	    (info.state != RELAY_QUOTA &&
		(info.cause == NULL) != (r->told_cause == NULL)) ||
	    (info.state != RELAY_QUOTA && info.cause != NULL &&
		strcmp(info.cause, r->told_cause) != 0);
	when = relay_next_change(r->state, now);
	uv_timer_stop(&r->timer);
	if (when > 0)
		uv_timer_start(&r->timer, transport_smtp_on_relay_timer,
		    when > now ? (uint64_t)(when - now) * 1000 : 1, 0);
	if (!changed)
		return;
	clock_format_iso(when, next);
	if (info.state == RELAY_UP && r->told)
		log_notice("smtp relay %s up again after %s", info.name,
		    relay_state_name(r->told_state));
	else if (info.state == RELAY_QUOTA)
		log_notice("smtp relay %s quota spent; next=%s", info.name,
		    when > 0 ? next : "-");
	else if (info.state != RELAY_UP)
		log_warnx("smtp relay %s %s%s%s%s cause=\"%s\" next=%s",
		    info.name, relay_state_name(info.state),
		    info.state == RELAY_PAUSED ? " lanes=" : "",
		    info.state == RELAY_PAUSED && info.paused[0] ? "booking"
								 : "",
		    info.state == RELAY_PAUSED && info.paused[1]
			? (info.paused[0] ? ",bulk" : "bulk")
			: "",
		    info.cause != NULL ? info.cause : "",
		    when > 0 ? next : "-");
	r->told = true;
	r->n_told++;
	r->told_state = info.state;
	r->told_paused[0] = info.paused[0];
	r->told_paused[1] = info.paused[1];
	free(r->told_cause);
	r->told_cause = info.cause != NULL ? xstrdup(info.cause) : NULL;
	if (s->base.relay_changed != NULL) {
		transport_smtp_info(r, now, &out);
		s->base.relay_changed(&out, s->base.relay_arg);
	}
}

/* Something of the relay changed by itself (a throttle ended, a
 * paused lane's probe is due, quota came free): the caller looks at the
 * capacity again even when the state it sees is the same. */
static void
transport_smtp_on_relay_timer(uv_timer_t *h)
{
	struct transport_smtp_relay *r = h->data;
	struct transport_smtp *s = r->s;
	struct transport_relay out;
	time_t now = clock_now();
	unsigned told = r->n_told;

	transport_smtp_review(r, now);
	if (r->n_told == told && !s->closing && s->base.relay_changed != NULL) {
		transport_smtp_info(r, now, &out);
		s->base.relay_changed(&out, s->base.relay_arg);
	}
}

/* What a finished message says of its relay r. Returns true if the
 * message was not tried (refused for the relay's sake). */
static bool
transport_smtp_judge(
    struct transport_smtp_relay *r, struct transport_msg *m, time_t now)
{
	const char *why = m->reply != NULL ? m->reply : "no reply";

	switch (m->fault) {
	case SMTP_CONN_FAULT_SESSION:
		relay_down(r->state, why, now);
		transport_smtp_drain(r, -1, now);
		return true;
	case SMTP_CONN_FAULT_THROTTLED:
		relay_throttle(r->state, why, now);
		transport_smtp_drain(r, -1, now);
		return true;
	case SMTP_CONN_FAULT_BROKEN:
		relay_down(r->state, why, now);
		transport_smtp_drain(r, -1, now);
		return false;
	default:
		return false;
	}
}

/* The outcome of m from its relay: passed on to the caller, or m sent
 * by the next relay. */
static void
transport_smtp_finish(struct transport_smtp *s, struct transport_msg *m)
{
	struct transport_smtp_relay *r = &s->relays[m->route_relay];
	unsigned lane = transport_smtp_lane(m);
	time_t now = clock_now();
	bool accepted = m->outcome == TRANSPORT_SENT, untried, probe;

	r->active--;
	probe = relay_lane_probing(r->state, lane);
	relay_settle(r->state, lane, accepted, now);
	untried = transport_smtp_judge(r, m, now);
	m->route_tried |= 1u << r->index;
	free(m->relay);
	m->relay = xstrdup(transport_smtp_relay_name(r));
	if (!accepted && !m->unsent && !s->closing &&
	    (m->outcome == TRANSPORT_DEFER ||
		m->fault == SMTP_CONN_FAULT_UTF8)) {
		struct transport_smtp_relay *other =
		    transport_smtp_pick(s, lane, m->route_tried, now);

		if (other != NULL) {
			log_info("smtp id=%lld by relay %s after %s: %s",
			    (long long)m->id, transport_smtp_relay_name(other),
			    m->relay, m->reply != NULL ? m->reply : "");
			transport_smtp_assign(other, m, now);
			transport_smtp_review(r, now);
			return;
		}
		if (untried) {
			/* With the relay's own words as the reason. */
			m->unsent = true;
			m->retry_at = transport_smtp_retry_at(s, now);
		}
	}
	s->inflight--;
	/* May submit more, pause a relay, or close the transport. */
	s->base.done(m, s->base.done_arg);
	/* A paused lane's probe refused, and the caller did not pause it
	 * again: the refusal was not about the sender. */
	if (probe && relay_lane_probe_cleared(r->state, lane, now))
		relay_resume(r->state, lane, now);
	if (!s->closing)
		transport_smtp_review(r, now);
}

/* A probe's result: r up, or down for longer. */
static void
transport_smtp_probed(struct transport_smtp *s, struct transport_msg *p)
{
	struct transport_smtp_relay *r = &s->relays[p->route_relay];
	time_t now = clock_now();

	relay_probed(r->state, p->outcome == TRANSPORT_SENT, p->reply, now);
	transport_msg_free(p);
	transport_smtp_review(r, now);
}

/* ------------------------------------------------ loop thread */

static void
transport_smtp_on_close(uv_handle_t *h)
{
	struct transport_smtp *s = h->data;

	if (--s->open_handles > 0)
		return;
	for (unsigned i = 0; i < s->n_relays; i++) {
		struct transport_smtp_relay *r = &s->relays[i];

		for (unsigned l = 0; l < TRANSPORT_SMTP_LANES; l++) {
			free(r->held[l].v);
			free(r->work[l].v);
		}
		free(r->threads);
		free(r->told_cause);
		relay_free(r->state);
		pthread_cond_destroy(&r->cond);
	}
	free(s->relays);
	free(s->done.v);
	pthread_cond_destroy(&s->gate_cond);
	pthread_mutex_destroy(&s->lock);
	transport_closed(&s->base);
}

/* The handles each relay and the transport close, for the count. */
static void
transport_smtp_close_handles(struct transport_smtp *s)
{
	for (unsigned i = 0; i < s->n_relays; i++) {
		s->relays[i].rate_timer.data = s;
		s->relays[i].timer.data = s;
		uv_close((uv_handle_t *)&s->relays[i].rate_timer,
		    transport_smtp_on_close);
		uv_close((uv_handle_t *)&s->relays[i].timer,
		    transport_smtp_on_close);
	}
	uv_close((uv_handle_t *)&s->async, transport_smtp_on_close);
	uv_close((uv_handle_t *)&s->close_timer, transport_smtp_on_close);
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
	for (unsigned i = 0; i < s->n_relays; i++) {
		struct transport_smtp_relay *r = &s->relays[i];

		for (unsigned k = 0; k < r->n_threads; k++) {
			if (r->threads[k].started)
				pthread_join(r->threads[k].thread, NULL);
			smtp_conn_free(r->threads[k].conn);
		}
	}
	transport_smtp_close_handles(s);
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
	for (unsigned i = 0; i < s->n_relays; i++)
		for (unsigned k = 0; k < s->relays[i].n_threads; k++)
			if (s->relays[i].threads[k].conn != NULL &&
			    smtp_conn_cut(s->relays[i].threads[k].conn))
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
		if (m->id == TRANSPORT_SMTP_PROBE_ID) {
			transport_smtp_probed(s, m);
		} else if (m->unsent) {
			/* Handed back before any relay began it. */
			s->inflight--;
			s->base.done(m, s->base.done_arg);
		} else {
			transport_smtp_finish(s, m);
		}
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
	for (unsigned i = 0; ret == 0 && i < s->n_relays; i++) {
		struct transport_smtp_relay *r = &s->relays[i];

		for (unsigned k = 0; ret == 0 && k < r->n_threads; k++) {
			struct transport_smtp_thread *th = &r->threads[k];

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
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static char *
transport_smtp_read_password(const struct cfg_relay *relay, char **err)
{
	char *password = NULL, *why = NULL;
	int ret;

	if (relay->password_file == NULL) {
		*err = xasprintf("[%s] username is set but password_file is "
				 "not",
		    relay->name);
		return NULL;
	}
	ret = cfg_read_secret(relay->password_file, &password, &why);
	if (ret != 0) {
		*err = xasprintf("[%s] password_file %s: %s", relay->name,
		    relay->password_file, why != NULL ? why : "unreadable");
		free(why);
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

/* Sets up relay i of cfg in s->relays[i] (its threads not started).
 * 0, or -1 with *err. */
static int
transport_smtp_relay_init(struct transport_smtp *s, uv_loop_t *loop,
    const struct cfg *cfg, unsigned i, char **err)
{
	struct transport_smtp_relay *r = &s->relays[i];
	const char *at =
	    strrchr(cfg->from_addr != NULL ? cfg->from_addr : "", '@');
	struct cfg_relay relay;
	char *password = NULL, *conn_err = NULL;
	unsigned n;

	cfg_relay_get(cfg, i, &relay);
	n = relay.connections < 1 ? 1 : (unsigned)relay.connections;
	if (n > TRANSPORT_SMTP_MAX_CONNECTIONS)
		n = TRANSPORT_SMTP_MAX_CONNECTIONS;
	r->n_threads = n;
	r->threads = xcalloc(n, sizeof(*r->threads));
	/* Room for a batch beyond one message per thread, so that the
	 * sender claims and commits many at a time. */
	r->cap = 2 * n + TRANSPORT_SMTP_QUEUE_EXTRA;
	if (relay.rate.count > 0) {
		uint64_t per_sec =
		    relay.rate.per_sec > 0 ? relay.rate.per_sec : 1;
		uint64_t burst = relay.rate.count / per_sec;
		/* Composed mail waits no longer than the rate needs: at
		 * 30/min, not the minutes 128 messages would take, during
		 * which an unsubscribe or a cancellation could not stop
		 * them. */
		uint64_t ahead = relay.rate.count * TRANSPORT_SMTP_RATE_AHEAD_S;

		ahead = (ahead + per_sec - 1) / per_sec; /* at least one */
		if (ahead < TRANSPORT_SMTP_QUEUE_EXTRA)
			r->cap = 2 * n + (unsigned)ahead;

		r->rate_count = relay.rate.count;
		r->rate_ms = per_sec * 1000;
		r->rate_max_units = (burst > 0 ? burst : 1) * r->rate_ms;
		r->rate_units = r->rate_max_units;
		r->rate_last = uv_now(loop);
	}
	if ((uint64_t)smtp_conn_timeout(&relay) * 1000 > s->close_ms)
		s->close_ms = (uint64_t)smtp_conn_timeout(&relay) * 1000;
	if (relay.url == NULL ||
	    (!util_strcaseprefix(relay.url, "smtp://") &&
		!util_strcaseprefix(relay.url, "smtps://"))) {
		*err = xasprintf(
		    "[%s] url: must be smtp:// or smtps://", relay.name);
		return -1;
	}
	if (relay.username != NULL) {
		password = transport_smtp_read_password(&relay, err);
		if (password == NULL)
			return -1;
	}
	for (unsigned k = 0; conn_err == NULL && k < n; k++) {
		struct transport_smtp_thread *th = &r->threads[k];

		th->r = r;
		th->conn =
		    smtp_conn_new(&relay, at != NULL ? at + 1 : NULL, password,
			k, &s->lock, &transport_smtp_hooks, th, &conn_err);
	}
	transport_smtp_wipe_free(password);
	if (conn_err != NULL) {
		*err = xasprintf("smtp: [%s] %s", relay.name, conn_err);
		free(conn_err);
		return -1;
	}
	return 0;
}

/* What every relay has, even one whose set-up fails: so that the close
 * can unwind them all alike. */
static void
transport_smtp_relay_base(struct transport_smtp *s, uv_loop_t *loop,
    const struct cfg *cfg, unsigned i)
{
	struct transport_smtp_relay *r = &s->relays[i];
	struct cfg_relay relay;

	cfg_relay_get(cfg, i, &relay);
	r->s = s;
	r->index = i;
	r->state = relay_new(relay.name, relay.quota.count,
	    relay.quota.count > 0 ? relay.quota.per_sec : 0);
	pthread_cond_init(&r->cond, NULL);
	uv_timer_init(loop, &r->rate_timer);
	uv_timer_init(loop, &r->timer);
	r->rate_timer.data = r;
	r->timer.data = r;
	/* A relay waiting for its probe keeps nobody's loop running: the
	 * daemon has its own handles, and --once may end meanwhile. */
	uv_unref((uv_handle_t *)&r->timer);
}

static struct transport *
transport_smtp_create(uv_loop_t *loop, const struct cfg *cfg, char **err)
{
	struct transport_smtp *s;
	unsigned n_relays = (unsigned)cfg_relay_count(cfg);
	int ret = 0;

	if (smtp_conn_global_init(err) != 0)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->gate_cond, NULL);
	s->n_relays = n_relays;
	s->relays = xcalloc(n_relays, sizeof(*s->relays));
	uv_async_init(loop, &s->async, transport_smtp_on_async);
	uv_timer_init(loop, &s->close_timer);
	s->async.data = s;
	s->close_timer.data = s;
	s->open_handles = 2 + 2 * (int)n_relays;
	uv_unref((uv_handle_t *)&s->async);
	for (unsigned i = 0; i < n_relays; i++)
		transport_smtp_relay_base(s, loop, cfg, i);
	for (unsigned i = 0; ret == 0 && i < n_relays; i++)
		ret = transport_smtp_relay_init(s, loop, cfg, i, err);
	for (unsigned i = 0; i < n_relays; i++)
		s->cap += s->relays[i].cap;
	/* Every ring can hold all the transport holds: messages move
	 * between relays. */
	transport_smtp_fifo_init(&s->done, s->cap + n_relays);
	for (unsigned i = 0; i < n_relays; i++) {
		for (unsigned l = 0; l < TRANSPORT_SMTP_LANES; l++) {
			transport_smtp_fifo_init(&s->relays[i].held[l], s->cap);
			transport_smtp_fifo_init(&s->relays[i].work[l], s->cap);
		}
	}
	if (ret == 0) {
		ret = transport_smtp_start_threads(s);
		if (ret != 0)
			*err = xasprintf("smtp: cannot start a sender thread: "
					 "%s",
			    strerror(-ret));
	}
	if (ret == 0)
		return &s->base;

	/* Unwind through the normal close: the threads started see stop
	 * and exit; the close callbacks free s (t->closed is NULL). */
	s->closing = true;
	uv_ref((uv_handle_t *)&s->async);
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	for (unsigned i = 0; i < n_relays; i++)
		pthread_cond_broadcast(&s->relays[i].cond);
	pthread_mutex_unlock(&s->lock);
	uv_async_send(&s->async);
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
	if (!addr_is_wire_safe(m->rcpt, false) ||
	    !addr_is_wire_safe(m->envelope_from, true))
		return -EINVAL;
	m->outcome = TRANSPORT_DEFER;
	m->code = 0;
	m->step = TRANSPORT_STEP_NONE;
	free(m->reply);
	m->reply = NULL;
	free(m->relay);
	m->relay = NULL;
	m->rcpt_rejected = false;
	m->unsent = false;
	m->retry_at = 0;
	m->route_tried = 0;
	m->fault = SMTP_CONN_FAULT_NONE;
	s->inflight++;
	uv_ref((uv_handle_t *)&s->async);
	transport_smtp_route(s, m, clock_now());
	return 0;
}

/* The room of the first relay that takes lane now; bulk mail leaves
 * that relay's n_threads places to booking mail. */
static unsigned
transport_smtp_lane_capacity(
    const struct transport *t, enum transport_lane lane)
{
	const struct transport_smtp *s = (const struct transport_smtp *)t;
	struct transport_smtp_relay *r;
	time_t now = clock_now();
	unsigned room, keep;
	int64_t left;

	if (s->closing || s->inflight >= s->cap)
		return 0;
	r = transport_smtp_pick((struct transport_smtp *)s, lane, 0, now);
	if (r == NULL)
		return 0;
	room = r->active < r->cap ? r->cap - r->active : 0;
	keep = lane == TRANSPORT_LANE_BULK ? r->n_threads : 0;
	room = room > keep ? room - keep : 0;
	left = relay_quota_left(r->state, now);
	if (left >= 0 && (int64_t)room > left)
		room = (unsigned)left;
	if (room > s->cap - s->inflight)
		room = s->cap - s->inflight;
	return room;
}

static unsigned
transport_smtp_capacity(const struct transport *t)
{
	return transport_smtp_lane_capacity(t, TRANSPORT_LANE_BOOKING);
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
static bool
transport_smtp_waits_for_commits(const struct transport *t)
{
	const struct transport_smtp *s = (const struct transport_smtp *)t;

	/* All three are the loop thread's to write: no lock. */
	return s->gated && (s->log == NULL || s->log_warned);
}

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

static void
transport_smtp_close(struct transport *t)
{
	struct transport_smtp *s = (struct transport_smtp *)t;

	if (s->closing)
		return;
	s->closing = true;
	uv_timer_start(
	    &s->close_timer, transport_smtp_on_close_timer, s->close_ms, 0);
	uv_ref((uv_handle_t *)&s->async);
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n_relays; i++) {
		struct transport_smtp_relay *r = &s->relays[i];

		uv_timer_stop(&r->rate_timer);
		uv_timer_stop(&r->timer);
		for (unsigned l = 0; l < TRANSPORT_SMTP_LANES; l++) {
			while (r->held[l].len > 0)
				transport_smtp_hand_back(s,
				    transport_smtp_fifo_pop(&r->held[l]),
				    "shutdown", 0);
			while (r->work[l].len > 0)
				transport_smtp_hand_back(s,
				    transport_smtp_fifo_pop(&r->work[l]),
				    "shutdown", 0);
		}
		pthread_cond_broadcast(&r->cond);
	}
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	/* The messages above come back from the async callback, not from
	 * inside close(). */
	uv_async_send(&s->async);
}

static unsigned
transport_smtp_relay_count(const struct transport *t)
{
	return ((const struct transport_smtp *)t)->n_relays;
}

static int
transport_smtp_relay_get(
    const struct transport *t, unsigned i, struct transport_relay *out)
{
	const struct transport_smtp *s = (const struct transport_smtp *)t;

	if (i >= s->n_relays)
		return -ENOENT;
	transport_smtp_info(&s->relays[i], clock_now(), out);
	return 0;
}

static struct transport_smtp_relay *
transport_smtp_find(struct transport_smtp *s, const char *name)
{
	for (unsigned i = 0; name != NULL && i < s->n_relays; i++)
		if (strcmp(transport_smtp_relay_name(&s->relays[i]), name) == 0)
			return &s->relays[i];
	return NULL;
}

static bool
transport_smtp_pause(struct transport *t, const char *relay,
    enum transport_lane lane, const char *cause)
{
	struct transport_smtp *s = (struct transport_smtp *)t;
	struct transport_smtp_relay *r = transport_smtp_find(s, relay);
	time_t now = clock_now();
	struct relay_info info;
	bool was;

	if (r == NULL)
		return false;
	relay_get_info(r->state, now, &info);
	was = info.paused[lane == TRANSPORT_LANE_BULK];
	relay_pause(r->state, lane == TRANSPORT_LANE_BULK, cause, now);
	transport_smtp_drain(r, lane == TRANSPORT_LANE_BULK, now);
	transport_smtp_review(r, now);
	return !was;
}

static void
transport_smtp_note_usage(
    struct transport *t, const char *relay, time_t minute, unsigned n)
{
	struct transport_smtp *s = (struct transport_smtp *)t;
	struct transport_smtp_relay *r = transport_smtp_find(s, relay);

	if (r != NULL)
		relay_add_usage(r->state, minute, n);
}

const struct transport_ops transport_smtp_ops = {
	.name = "smtp",
	.create = transport_smtp_create,
	.submit = transport_smtp_submit,
	.capacity = transport_smtp_capacity,
	.lane_capacity = transport_smtp_lane_capacity,
	.gate = transport_smtp_gate,
	.committed = transport_smtp_committed,
	.waits_for_commits = transport_smtp_waits_for_commits,
	.log_sent = transport_smtp_log_sent,
	.inflight = transport_smtp_inflight,
	.close = transport_smtp_close,
	.relay_count = transport_smtp_relay_count,
	.relay_get = transport_smtp_relay_get,
	.pause = transport_smtp_pause,
	.note_usage = transport_smtp_note_usage,
};
