/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sender: see sender.h. One pass ("pump") runs from a zero timer so that
 * every outcome reported in one loop iteration is committed together
 * with the next claim.
 */
#include "config.h"

#include "sender.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "compose.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "transport.h"
#include "util.h"

#define SENDER_BATCH 64

struct sender_result {
	int64_t id;
	enum outbox_state to;
	time_t next_attempt_at;
	int code;
	char *reply;
	char *error;
	char *message_id;
};

struct sender {
	uv_loop_t *loop;
	const struct compose_env *env;
	struct outbox *outbox;
	struct transport *transport;
	uv_timer_t pump_timer;
	uv_timer_t due_timer;
	int open_handles;
	bool pump_armed;
	bool stopping;
	void (*idle)(void *);
	void *idle_arg;
	void (*stopped)(void *);
	void *stopped_arg;
	struct sender_result *results;
	size_t n_results;
	size_t cap_results;
	struct sender_stats stats;
};

static void sender_pump(struct sender *s);

static void
sender_on_pump_timer(uv_timer_t *h)
{
	struct sender *s = h->data;

	s->pump_armed = false;
	sender_pump(s);
}

static void
sender_on_due_timer(uv_timer_t *h)
{
	sender_kick(h->data);
}

static void sender_on_done(struct transport_msg *m, void *arg);

struct sender *
sender_new(uv_loop_t *loop, const struct compose_env *env,
    struct outbox *outbox, char **err)
{
	struct sender *s = xcalloc(1, sizeof(*s));

	s->transport = transport_new(loop, env->cfg, sender_on_done, s, err);
	if (s->transport == NULL) {
		free(s);
		return NULL;
	}
	s->loop = loop;
	s->env = env;
	s->outbox = outbox;
	uv_timer_init(loop, &s->pump_timer);
	uv_timer_init(loop, &s->due_timer);
	s->pump_timer.data = s;
	s->due_timer.data = s;
	s->open_handles = 2;
	return s;
}

void
sender_kick(struct sender *s)
{
	if (s->pump_armed || s->stopping)
		return;
	s->pump_armed = true;
	uv_timer_start(&s->pump_timer, sender_on_pump_timer, 0, 0);
}

void
sender_set_idle_cb(struct sender *s, void (*idle)(void *), void *arg)
{
	s->idle = idle;
	s->idle_arg = arg;
}

const struct sender_stats *
sender_stats(const struct sender *s)
{
	return &s->stats;
}

static struct sender_result *
sender_result_add(struct sender *s, int64_t id, enum outbox_state to)
{
	struct sender_result *r;

	if (s->n_results == s->cap_results) {
		s->cap_results = s->cap_results == 0 ? 64 : s->cap_results * 2;
		s->results = xreallocarray(s->results, s->cap_results,
		    sizeof(*s->results));
	}
	r = &s->results[s->n_results++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->to = to;
	return r;
}

/* Exponential backoff from retry_initial, doubling to retry_max, with
 * up to a quarter of jitter either way so that a relay's recovery is
 * not met by every deferred message at once. */
static time_t
sender_backoff(const struct cfg *cfg, int attempts, time_t now)
{
	int64_t delay = cfg->retry_initial > 0 ? cfg->retry_initial : 60;
	int64_t ceiling = cfg->retry_max > delay ? cfg->retry_max : delay;
	int64_t jitter;

	for (int i = 1; i < attempts && delay < ceiling; i++)
		delay *= 2;
	if (delay > ceiling)
		delay = ceiling;
	jitter = delay / 4;
	if (jitter > 0)
		delay += (int64_t)(random() % (2 * jitter + 1)) - jitter;
	return now + (delay > 0 ? delay : 1);
}

static void
sender_on_done(struct transport_msg *m, void *arg)
{
	struct sender *s = arg;
	struct outbox_item *it = m->user;
	const struct cfg *cfg = s->env->cfg;
	struct sender_result *r;
	time_t now = clock_now();

	switch (m->outcome) {
	case TRANSPORT_SENT:
		r = sender_result_add(s, it->id, OUTBOX_SENT);
		s->stats.sent++;
		log_info("outbox sent id=%lld kind=%s rcpt=%s code=%d "
			 "reply=\"%s\"",
		    (long long)it->id, it->kind, it->recipient, m->code,
		    m->reply != NULL ? m->reply : "");
		break;
	case TRANSPORT_DEFER:
		if (cfg->retry_give_up > 0 &&
		    now - it->created_at >= cfg->retry_give_up) {
			r = sender_result_add(s, it->id, OUTBOX_FAILED);
			r->error = xasprintf("gave up after %d attempts: %s",
			    it->attempts, m->reply != NULL ? m->reply : "");
			s->stats.failed++;
			log_warnx("outbox failed id=%lld rcpt=%s code=%d "
				  "reason=give-up attempts=%d",
			    (long long)it->id, it->recipient, m->code,
			    it->attempts);
			break;
		}
		r = sender_result_add(s, it->id, OUTBOX_QUEUED);
		r->next_attempt_at = sender_backoff(cfg, it->attempts, now);
		r->error = xstrdup(m->reply != NULL ? m->reply : "deferred");
		s->stats.deferred++;
		{
			char next[CLOCK_ISO_LEN];

			clock_format_iso(r->next_attempt_at, next);
			log_notice("outbox deferred id=%lld rcpt=%s code=%d "
				   "next=%s reply=\"%s\"",
			    (long long)it->id, it->recipient, m->code, next,
			    r->error);
		}
		break;
	case TRANSPORT_FAIL:
	default:
		r = sender_result_add(s, it->id, OUTBOX_FAILED);
		r->error = xstrdup(m->reply != NULL ? m->reply : "failed");
		s->stats.failed++;
		log_warnx("outbox failed id=%lld rcpt=%s code=%d reply=\"%s\"",
		    (long long)it->id, it->recipient, m->code, r->error);
		break;
	}
	r->code = m->code;
	r->reply = m->reply != NULL ? xstrdup(m->reply) : NULL;
	r->message_id = m->message_id;
	m->message_id = NULL;
	outbox_item_free(it);
	transport_msg_free(m);
	if (s->n_results >= SENDER_BATCH)
		sender_pump(s);
	else
		sender_kick(s);
}

static void
sender_result_fini(struct sender_result *r)
{
	free(r->reply);
	free(r->error);
	free(r->message_id);
}

/* Applies collected outcomes; the caller holds a transaction. */
static int
sender_apply_results(struct sender *s, time_t now)
{
	int ret = 0;

	for (size_t i = 0; i < s->n_results; i++) {
		struct sender_result *r = &s->results[i];
		const struct outbox_update u = {
			.next_attempt_at = r->next_attempt_at,
			.smtp_code = r->code,
			.smtp_reply = r->reply,
			.error = r->error,
			.message_id = r->message_id,
		};
		int rc = outbox_transition(s->outbox, r->id, OUTBOX_SENDING,
		    r->to, now, &u);

		/* -ESTALE: an administrator moved it meanwhile; theirs
		 * wins. Anything else is the database failing. */
		if (rc != 0 && rc != -ESTALE)
			ret = rc;
	}
	return ret;
}

static void
sender_clear_results(struct sender *s)
{
	for (size_t i = 0; i < s->n_results; i++)
		sender_result_fini(&s->results[i]);
	s->n_results = 0;
}

/* Composes and submits one claimed message, or records why not. */
static void
sender_dispatch(struct sender *s, struct outbox_item *it, time_t now)
{
	struct transport_msg *m = transport_msg_new();
	struct sender_result *r;
	char *why = NULL;
	int ret;

	m->id = it->id;
	m->user = it;
	ret = compose_message(s->env, it, now, m, &why);
	if (ret == 0) {
		ret = transport_submit(s->transport, m);
		if (ret == 0) {
			free(why);
			return;
		}
		why = xasprintf("transport refused: %s", strerror(-ret));
		r = sender_result_add(s, it->id, OUTBOX_QUEUED);
		r->next_attempt_at = now + 1;
	} else if (ret == COMPOSE_CANCELLED) {
		r = sender_result_add(s, it->id, OUTBOX_CANCELLED);
		s->stats.cancelled++;
		log_info("outbox cancelled id=%lld kind=%s reason=\"%s\"",
		    (long long)it->id, it->kind, why);
	} else if (ret == COMPOSE_SUPPRESSED) {
		r = sender_result_add(s, it->id, OUTBOX_SUPPRESSED);
		s->stats.suppressed++;
		log_info("outbox suppressed id=%lld kind=%s rcpt=%s",
		    (long long)it->id, it->kind, it->recipient);
	} else {
		r = sender_result_add(s, it->id, OUTBOX_FAILED);
		s->stats.failed++;
		log_warnx("outbox failed id=%lld kind=%s error=\"%s\"",
		    (long long)it->id, it->kind, why != NULL ? why : "?");
	}
	r->error = why;
	outbox_item_free(it);
	transport_msg_free(m);
}

static void
sender_arm_due(struct sender *s, time_t now)
{
	time_t when;
	uint64_t ms;

	uv_timer_stop(&s->due_timer);
	if (s->stopping || outbox_next_due(s->outbox, &when) != 0)
		return;
	ms = when > now ? (uint64_t)(when - now) * 1000 : 1;
	uv_timer_start(&s->due_timer, sender_on_due_timer, ms, 0);
}

static void
sender_pump(struct sender *s)
{
	struct outbox_item **items = NULL;
	time_t now = clock_now();
	size_t n = 0, want = 0;
	int ret;

	if (s->pump_armed) {
		uv_timer_stop(&s->pump_timer);
		s->pump_armed = false;
	}
	if (!s->stopping)
		want = transport_capacity(s->transport);
	if (want > SENDER_BATCH)
		want = SENDER_BATCH;
	if (s->n_results == 0 && want == 0)
		return;
	ret = db_begin(s->env->db);
	if (ret == 0)
		ret = sender_apply_results(s, now);
	if (ret == 0 && want > 0)
		ret = outbox_claim(s->outbox, now, want, &items, &n);
	if (ret == 0)
		ret = db_commit(s->env->db);
	if (ret != 0) {
		/* The database is busy or failing: keep the outcomes and
		 * try again shortly rather than lose them. */
		db_rollback(s->env->db);
		for (size_t i = 0; i < n; i++)
			outbox_item_free(items[i]);
		free(items);
		log_warnx("sender commit failed error=%d, retrying", ret);
		uv_timer_start(&s->pump_timer, sender_on_pump_timer, 1000, 0);
		s->pump_armed = true;
		return;
	}
	sender_clear_results(s);
	for (size_t i = 0; i < n; i++)
		sender_dispatch(s, items[i], now);
	free(items);
	if (n == want && want > 0) {
		sender_kick(s);
		return;
	}
	if (s->n_results > 0) {
		sender_kick(s);
		return;
	}
	if (transport_inflight(s->transport) == 0) {
		sender_arm_due(s, now);
		if (s->idle != NULL && !s->stopping)
			s->idle(s->idle_arg);
	}
}

static void
sender_on_close(uv_handle_t *h)
{
	struct sender *s = h->data;
	void (*stopped)(void *) = s->stopped;
	void *arg = s->stopped_arg;

	if (--s->open_handles > 0)
		return;
	free(s->results);
	free(s);
	if (stopped != NULL)
		stopped(arg);
}

static void
sender_on_transport_closed(void *arg)
{
	struct sender *s = arg;

	/* Commit what the last messages became. */
	if (s->n_results > 0)
		sender_pump(s);
	if (s->n_results > 0) {
		log_warnx("sender lost track of %zu outcomes at stop; those "
			  "messages return to the queue at the next start",
		    s->n_results);
		sender_clear_results(s);
	}
	uv_close((uv_handle_t *)&s->pump_timer, sender_on_close);
	uv_close((uv_handle_t *)&s->due_timer, sender_on_close);
}

void
sender_stop(struct sender *s, void (*stopped)(void *), void *arg)
{
	s->stopping = true;
	s->stopped = stopped;
	s->stopped_arg = arg;
	uv_timer_stop(&s->due_timer);
	transport_close(s->transport, sender_on_transport_closed, s);
}
