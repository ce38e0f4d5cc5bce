/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sender: see sender.h. One pass ("pump") runs from a zero timer so that
 * every outcome reported in one loop iteration is committed together
 * with the next claim.
 */
#include "config.h"

#include "send/sender.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce/bounce.h"
#include "bounce/bounce_apply.h"
#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "send/compose.h"
#include "send/relay_store.h"
#include "send/transport.h"
#include "util.h"

#define SENDER_BATCH 64

/* Outcomes wait at most this long (ms) for a batch to fill. */
#define SENDER_COMMIT_MS 20

/* The quota left of relays that have one is written at most this often
 * (seconds) while they take mail; a change of state at once. */
#define SENDER_RELAYS_EVERY 5

/* Messages are composed in the thread pool by up to SENDER_COMPOSERS
 * jobs at a time, each on its own read-only connection, at most
 * SENDER_CHUNK messages a job: the loop thread only claims, hands over
 * and commits. */
#define SENDER_COMPOSERS 2
#define SENDER_POSTS_FOR 5 /* seconds a reader keeps a digest's posts */
#define SENDER_CHUNK     32

struct sender_result {
	int64_t id;
	enum outbox_state to;
	time_t next_attempt_at;
	int code;
	char *reply;
	char *error;
	char *message_id;
	char *bounce_rcpt; /* refused at RCPT: record a bounce for it */
	char *recipient;   /* the record's address changed: the new one */
	char *relay;       /* the relay that had it */
	bool untried;      /* handed back untried: no attempt spent */
};

/* Messages a relay took in one minute, not yet committed. */
struct sender_usage {
	char *relay;
	time_t minute;
	unsigned n;
};

/* A read-only connection of the sender's own, for one compose job at a
 * time. */
struct sender_reader {
	sqlite3 *db;
	struct compose_cache *cache;
	time_t cached_at; /* when its cache was last emptied */
	bool busy;
};

struct sender_job {
	uv_work_t req;
	struct sender *s;
	struct sender_reader *reader;
	time_t now;
	size_t n;
	struct outbox_item *items[SENDER_CHUNK];
	struct transport_msg *msgs[SENDER_CHUNK];
	int rets[SENDER_CHUNK];
	char *whys[SENDER_CHUNK];
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
	bool pump_later; /* armed to commit a batch that did not fill */
	bool stopping;
	void (*idle)(void *);
	void *idle_arg;
	void (*stopped)(void *);
	void *stopped_arg;
	struct sender_result *results;
	size_t n_results;
	size_t cap_results;
	uint64_t results_since; /* uv_now() of the first one uncommitted */
	struct sender_stats stats;
	uint64_t jitter_state; /* xorshift64, never 0 */
	struct sender_reader readers[SENDER_COMPOSERS];
	unsigned jobs;      /* compose jobs in the thread pool */
	unsigned composing; /* messages in them */
	unsigned composing_lane[OUTBOX_LANES];
	bool transport_gone;

	/* The relays table and relay_usage (relay_store.h), written with
	 * the outcomes: the states when one changed, the usage always. */
	struct relay_store *relays;
	bool relays_dirty;
	bool relays_cleared; /* the rows of an earlier run are gone */
	time_t relays_written;
	time_t usage_purged;
	struct sender_usage *usage;
	size_t n_usage;
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

/* A relay changed: its row is written with the next commit, and the
 * capacity may have grown. */
static void
sender_on_relay_changed(const struct transport_relay *info, void *arg)
{
	struct sender *s = arg;

	(void)info;
	s->relays_dirty = true;
	sender_kick(s);
}

static void
sender_on_usage(const char *relay, time_t minute, unsigned n, void *arg)
{
	transport_note_usage(arg, relay, minute, n);
}

static void
sender_close_readers(struct sender *s)
{
	for (size_t i = 0; i < SENDER_COMPOSERS; i++) {
		compose_cache_free(s->readers[i].cache);
		db_close(s->readers[i].db);
	}
}

/* Opens the compose connections: read-only, and not mapped (a read
 * transaction on a mapped file that another connection grew remaps it,
 * at a TLB shootdown in every thread). 0, or -1 with *err. */
static int
sender_open_readers(struct sender *s, char **err)
{
	for (size_t i = 0; i < SENDER_COMPOSERS; i++) {
		struct sender_reader *r = &s->readers[i];

		if (db_open(s->env->cfg->database, false, &r->db) != 0 ||
		    db_exec(r->db,
			"PRAGMA query_only = ON;"
			"PRAGMA mmap_size = 0") != 0) {
			*err = xasprintf("sender: cannot open database %s for "
					 "composing",
			    s->env->cfg->database);
			sender_close_readers(s);
			return -1;
		}
		r->cache = compose_cache_new(r->db, s->env->cfg);
	}
	return 0;
}

struct sender *
sender_new(uv_loop_t *loop, const struct compose_env *env,
    struct outbox *outbox, char **err)
{
	struct sender *s = xcalloc(1, sizeof(*s));
	char *why = NULL;

	s->env = env;
	if (sender_open_readers(s, err) != 0) {
		free(s);
		return NULL;
	}
	s->transport = transport_new(loop, env->cfg, sender_on_done, s, err);
	if (s->transport == NULL) {
		sender_close_readers(s);
		free(s);
		return NULL;
	}
	/* A crash repeats at most one message per connection: the one
	 * whose data was ending. The sent log spares the connections the
	 * wait for each commit that the hold alone would cost. */
	transport_hold_until_committed(s->transport);
	if (transport_log_sent(s->transport, env->cfg->database, &why) != 0) {
		log_warnx("sender %s; each message waits for the commit of "
			  "the one before instead",
		    why);
		free(why);
	}
	/* What each relay took within its quota's window before this
	 * start (a day at most). */
	s->relays = relay_store_new(env->db);
	if (s->relays == NULL ||
	    relay_store_load_usage(env->db, clock_now() - 86400,
		sender_on_usage, s->transport) != 0)
		log_warnx("sender cannot read what the relays took before: "
			  "their quotas count from now");
	transport_set_relay_cb(s->transport, sender_on_relay_changed, s);
	s->relays_dirty = true;
	s->loop = loop;
	/* Only needs to differ between daemons restarted together. */
	s->jitter_state = ((uint64_t)clock_now() << 20) ^ (uint64_t)getpid() ^
	    (uint64_t)(uintptr_t)s;
	if (s->jitter_state == 0)
		s->jitter_state = 1;
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
	if (s == NULL || (s->pump_armed && !s->pump_later) || s->stopping)
		return;
	s->pump_armed = true;
	s->pump_later = false;
	uv_timer_start(&s->pump_timer, sender_on_pump_timer, 0, 0);
}

/* A pump soon, unless one is armed already, even for later. */
static void
sender_nudge(struct sender *s)
{
	if (!s->pump_armed)
		sender_kick(s);
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
		s->results = xreallocarray(
		    s->results, s->cap_results, sizeof(*s->results));
	}
	if (s->n_results == 0)
		s->results_since = uv_now(s->loop);
	r = &s->results[s->n_results++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->to = to;
	return r;
}

/* xorshift64: the jitter of the backoff needs no better. */
static uint64_t
sender_random(struct sender *s)
{
	uint64_t x = s->jitter_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->jitter_state = x;
	return x;
}

int64_t
sender_backoff_delay(int64_t initial, int64_t max, int attempts, uint64_t r)
{
	int64_t delay = initial > 0 ? initial : 60;
	int64_t ceiling = max > delay ? max : delay;
	int64_t jitter;

	for (int i = 1; i < attempts && delay < ceiling; i++)
		delay *= 2;
	if (delay > ceiling)
		delay = ceiling;
	jitter = delay / 4;
	if (jitter > 0)
		delay += (int64_t)(r % (uint64_t)(2 * jitter + 1)) - jitter;
	return delay > 0 ? delay : 1;
}

static time_t
sender_backoff(struct sender *s, int attempts, time_t now)
{
	const struct cfg *cfg = s->env->cfg;

	return now +
	    sender_backoff_delay(
		cfg->retry_initial, cfg->retry_max, attempts, sender_random(s));
}

/* One more message taken by relay in the minute of now. */
static void
sender_count_usage(struct sender *s, const char *relay, time_t now)
{
	time_t minute = now - now % 60;

	for (size_t i = 0; i < s->n_usage; i++) {
		if (s->usage[i].minute == minute &&
		    strcmp(s->usage[i].relay, relay) == 0) {
			s->usage[i].n++;
			return;
		}
	}
	s->usage = xreallocarray(s->usage, s->n_usage + 1, sizeof(*s->usage));
	s->usage[s->n_usage].relay = xstrdup(relay);
	s->usage[s->n_usage].minute = minute;
	s->usage[s->n_usage].n = 1;
	s->n_usage++;
}

static const enum bounce_command sender_commands[] = {
	[TRANSPORT_STEP_NONE] = BOUNCE_CMD_NONE,
	[TRANSPORT_STEP_SESSION] = BOUNCE_CMD_EHLO,
	[TRANSPORT_STEP_MAIL] = BOUNCE_CMD_MAIL,
	[TRANSPORT_STEP_RCPT] = BOUNCE_CMD_RCPT,
	[TRANSPORT_STEP_DATA] = BOUNCE_CMD_DATA,
	[TRANSPORT_STEP_END] = BOUNCE_CMD_DATA,
};

/*
 * A refusal about our side, not the recipient's (our authentication,
 * our address on a blocklist, relaying refused, the relay's policy or
 * rate limit: the bounce code's verdict, bounce_classify_refusal()):
 * the lane of that relay is paused (transport_pause(): one loud line, a
 * state that status and /metrics show) and probed until it clears, and
 * the message waits: queued again untried, no attempt spent, never
 * failed. The refusal at RCPT that paused the lane is recorded as the
 * bounce code records such refusals, counted against nobody (not the
 * others in flight with it, nor each probe's). True if m was such a
 * refusal (its result added last).
 */
static bool
sender_refused_by_our_side(struct sender *s, struct transport_msg *m,
    struct outbox_item *it, time_t now)
{
	struct bounce_refusal f = {
		.message_id = it->id,
		.recipient = it->recipient,
		.reply_code = m->code,
		.reply = m->reply,
	};
	struct bounce_verdict v;
	struct sender_result *r;
	char *cause;
	bool first;

	if (m->outcome == TRANSPORT_SENT || m->code < 400 || m->reply == NULL ||
	    m->relay == NULL ||
	    (size_t)m->step >= UTIL_ARRAY_LEN(sender_commands))
		return false;
	f.command = sender_commands[m->step];
	bounce_classify_refusal(&f, &v);
	if (!v.sender_side)
		return false;
	cause = xasprintf("%s: %s", v.reason, m->reply);
	first = transport_pause(s->transport, m->relay,
	    it->lane == OUTBOX_LANE_BULK ? TRANSPORT_LANE_BULK
					 : TRANSPORT_LANE_BOOKING,
	    cause);
	r = sender_result_add(s, it->id, OUTBOX_QUEUED);
	r->untried = true;
	r->next_attempt_at = now;
	r->error = xasprintf("not sent: relay %s refused it for a reason about "
			     "us, not the recipient (%s); waiting",
	    m->relay, cause);
	/* Recorded once a pause, not at each probe. */
	if (m->rcpt_rejected && first)
		r->bounce_rcpt = xstrdup(it->recipient);
	log_notice("outbox waiting id=%lld rcpt=%s relay=%s reason=%s "
		   "reply=\"%s\"",
	    (long long)it->id, it->recipient, m->relay, v.reason, m->reply);
	free(cause);
	return true;
}

/* A message the transport never tried: stopping (due again at the next
 * start), or no relay takes mail now (due when one may). No attempt
 * spent, no backoff. */
static void
sender_record_untried(struct sender *s, const struct transport_msg *m,
    const struct outbox_item *it, time_t now)
{
	struct sender_result *r = sender_result_add(s, it->id, OUTBOX_QUEUED);

	r->untried = true;
	r->next_attempt_at = m->retry_at > now ? m->retry_at : now;
	if (s->stopping || m->reply == NULL ||
	    strcmp(m->reply, "shutdown") == 0)
		r->error = xstrdup("not sent: stopping");
	else
		r->error = xasprintf("not sent: %s", m->reply);
}

/* A temporary failure: queued again after the backoff, or failed once
 * the message is older than [smtp] give_up. */
static struct sender_result *
sender_record_deferred(struct sender *s, const struct transport_msg *m,
    const struct outbox_item *it, time_t now)
{
	const struct cfg *cfg = s->env->cfg;
	struct sender_result *r;
	char next[CLOCK_ISO_LEN];

	if (cfg->retry_give_up > 0 &&
	    now - it->created_at >= cfg->retry_give_up) {
		r = sender_result_add(s, it->id, OUTBOX_FAILED);
		r->error = xasprintf("gave up after %d attempts: %s",
		    it->attempts, m->reply != NULL ? m->reply : "");
		s->stats.failed++;
		log_warnx("outbox failed id=%lld rcpt=%s code=%d "
			  "reason=give-up attempts=%d",
		    (long long)it->id, it->recipient, m->code, it->attempts);
		return r;
	}
	r = sender_result_add(s, it->id, OUTBOX_QUEUED);
	r->next_attempt_at = sender_backoff(s, it->attempts, now);
	r->error = xstrdup(m->reply != NULL ? m->reply : "deferred");
	s->stats.deferred++;
	clock_format_iso(r->next_attempt_at, next);
	log_notice("outbox deferred id=%lld rcpt=%s code=%d "
		   "next=%s reply=\"%s\"",
	    (long long)it->id, it->recipient, m->code, next, r->error);
	return r;
}

/* The result of a message the transport tried, by its outcome. */
static struct sender_result *
sender_record_outcome(struct sender *s, const struct transport_msg *m,
    const struct outbox_item *it, time_t now)
{
	struct sender_result *r;

	switch (m->outcome) {
	case TRANSPORT_SENT:
		r = sender_result_add(s, it->id, OUTBOX_SENT);
		s->stats.sent++;
		if (m->relay != NULL)
			sender_count_usage(s, m->relay, now);
		log_info("outbox sent id=%lld kind=%s rcpt=%s code=%d "
			 "relay=%s reply=\"%s\"",
		    (long long)it->id, it->kind, it->recipient, m->code,
		    m->relay != NULL ? m->relay : "-",
		    m->reply != NULL ? m->reply : "");
		return r;
	case TRANSPORT_DEFER:
		return sender_record_deferred(s, m, it, now);
	case TRANSPORT_FAIL:
	default:
		r = sender_result_add(s, it->id, OUTBOX_FAILED);
		r->error = xstrdup(m->reply != NULL ? m->reply : "failed");
		if (m->rcpt_rejected)
			r->bounce_rcpt = xstrdup(it->recipient);
		s->stats.failed++;
		log_warnx("outbox failed id=%lld rcpt=%s code=%d reply=\"%s\"",
		    (long long)it->id, it->recipient, m->code, r->error);
		return r;
	}
}

static void
sender_on_done(struct transport_msg *m, void *arg)
{
	struct sender *s = arg;
	struct outbox_item *it = m->user;
	struct sender_result *r;
	time_t now = clock_now();
	bool moved;

	if (m->unsent) {
		sender_record_untried(s, m, it, now);
		goto out;
	}
	/* Composed for the address the record has now, which the website
	 * may have corrected since the message was queued. */
	moved = m->rcpt != NULL && strcmp(m->rcpt, it->recipient) != 0;
	if (moved) {
		log_notice("outbox recipient changed id=%lld from=%s to=%s",
		    (long long)it->id, it->recipient, m->rcpt);
		free(it->recipient);
		it->recipient = xstrdup(m->rcpt);
	}
	if (sender_refused_by_our_side(s, m, it, now))
		r = &s->results[s->n_results - 1];
	else
		r = sender_record_outcome(s, m, it, now);
	r->code = m->code;
	r->reply = m->reply != NULL ? xstrdup(m->reply) : NULL;
	r->recipient = moved ? xstrdup(it->recipient) : NULL;
	r->relay = m->relay;
	m->relay = NULL;
	r->message_id = m->message_id;
	m->message_id = NULL;
out:
	outbox_item_free(it);
	transport_msg_free(m);
	/* Stopping, commit at once: a connection holds the end of its next
	 * message's data until then (transport_hold_until_committed()). */
	if (s->n_results >= SENDER_BATCH || s->stopping)
		sender_pump(s);
	else
		sender_nudge(s);
}

static void
sender_result_fini(struct sender_result *r)
{
	free(r->reply);
	free(r->error);
	free(r->message_id);
	free(r->bounce_rcpt);
	free(r->recipient);
	free(r->relay);
}

/*
 * A recipient refused at RCPT is a bounce known at once. The bounce
 * code decides what it is and what it changes, as for a bounce that
 * comes back by mail (bounce_apply_refusal()): the one classifier, the
 * one soft-bounce count, the one suppression rule. A refusal about our
 * side (authentication, relaying, the relay's policy or rate limit)
 * counts against nobody.
 */
static int
sender_record_bounce(
    struct sender *s, const struct sender_result *r, time_t now)
{
	const struct cfg *cfg = s->env->cfg;
	const struct bounce_apply_rules rules = {
		.soft_limit = cfg->soft_limit > 0 ? cfg->soft_limit : 1,
		.soft_window = cfg->soft_window,
	};
	const struct bounce_refusal f = {
		.message_id = r->id,
		.recipient = r->bounce_rcpt,
		.reply_code = r->code,
		.reply = r->reply,
		.command = BOUNCE_CMD_RCPT,
	};
	struct bounce_verdict v;
	int ret;

	ret = bounce_apply_refusal(s->env->db, &f, &rules, now, &v, NULL);
	if (ret == 0)
		log_notice("outbox bounce id=%lld rcpt=%s class=%s reason=%s%s",
		    (long long)r->id, r->bounce_rcpt, bounce_class_name(v.cls),
		    v.reason, v.sender_side ? " side=sender" : "");
	return ret;
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
			.recipient = r->recipient,
			.relay = r->relay,
			.untried = r->untried,
		};
		int rc = outbox_transition(
		    s->outbox, r->id, OUTBOX_SENDING, r->to, now, &u);

		if (rc == 0 && r->bounce_rcpt != NULL)
			rc = sender_record_bounce(s, r, now);
		/* -ESTALE: an administrator moved it meanwhile; theirs
		 * wins. Anything else is the database failing. */
		if (rc != 0 && rc != -ESTALE)
			ret = rc;
	}
	return ret;
}

static bool
sender_relays_have_quota(const struct sender *s)
{
	struct transport_relay info;

	for (unsigned i = 0; i < transport_relay_count(s->transport); i++)
		if (transport_relay_get(s->transport, i, &info) == 0 &&
		    info.quota >= 0)
			return true;
	return false;
}

/* Writes the relays' states (when one changed) and what each took, in
 * the caller's transaction. */
static int
sender_apply_relays(struct sender *s, time_t now)
{
	struct transport_relay info;
	int ret = 0;

	if (s->relays == NULL || s->transport_gone)
		return 0;
	/* What a relay took changes its quota left: written now and then,
	 * not with every commit. */
	if (s->n_usage > 0 && sender_relays_have_quota(s) &&
	    now - s->relays_written >= SENDER_RELAYS_EVERY)
		s->relays_dirty = true;
	if (s->relays_dirty)
		s->relays_written = now;
	if (s->relays_dirty && !s->relays_cleared)
		ret = relay_store_clear(s->relays);
	for (unsigned i = 0; ret == 0 && s->relays_dirty &&
	     i < transport_relay_count(s->transport);
	     i++)
		if (transport_relay_get(s->transport, i, &info) == 0)
			ret = relay_store_put(s->relays, &info, now);
	for (size_t i = 0; ret == 0 && i < s->n_usage; i++)
		ret = relay_store_add_usage(s->relays, s->usage[i].relay,
		    s->usage[i].minute, s->usage[i].n);
	if (ret == 0 && s->n_usage > 0 && now - s->usage_purged >= 3600) {
		ret = relay_store_purge_usage(s->relays, now - 2 * 86400);
		s->usage_purged = now;
	}
	return ret;
}

/* After a commit: what sender_apply_relays() wrote is done with. */
static void
sender_relays_committed(struct sender *s)
{
	if (s->relays_dirty)
		s->relays_cleared = true;
	s->relays_dirty = false;
	for (size_t i = 0; i < s->n_usage; i++)
		free(s->usage[i].relay);
	s->n_usage = 0;
}

static void
sender_clear_results(struct sender *s)
{
	for (size_t i = 0; i < s->n_results; i++)
		sender_result_fini(&s->results[i]);
	s->n_results = 0;
}

/* Submits a composed message (ret 0), or records why it is not sent:
 * compose's verdict, or the transport refusing it. Takes it, m and
 * why. */
static void
sender_composed(struct sender *s, struct outbox_item *it,
    struct transport_msg *m, int ret, char *why, time_t now)
{
	struct sender_result *r;

	if (ret == 0 && s->stopping) {
		/* Composed while stopping: the transport takes no more. */
		r = sender_result_add(s, it->id, OUTBOX_QUEUED);
		r->next_attempt_at = now;
		free(why);
		why = xstrdup("not sent: stopping");
	} else if (ret == 0) {
		ret = transport_submit(s->transport, m);
		if (ret == 0) {
			free(why);
			return;
		}
		free(why);
		why = xasprintf("transport refused: %s", strerror(-ret));
		if (ret == -EINVAL) {
			/* An address the envelope cannot carry: retrying
			 * would not change it. */
			r = sender_result_add(s, it->id, OUTBOX_FAILED);
			s->stats.failed++;
			log_warnx("outbox failed id=%lld rcpt=%s error=\"%s\"",
			    (long long)it->id, it->recipient, why);
		} else {
			r = sender_result_add(s, it->id, OUTBOX_QUEUED);
			r->next_attempt_at = now + 1;
		}
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

/* In the thread pool: composes the job's messages on its reader, in one
 * read transaction (each statement on its own would take and drop the
 * database's locks). Nothing here writes or touches the sender. */
static void
sender_job_work(uv_work_t *req)
{
	struct sender_job *j = req->data;
	struct compose_env env = *j->s->env;
	bool txn;

	env.db = j->reader->db;
	env.cache = j->reader->cache;
	txn = db_exec(env.db, "BEGIN") == 0;
	for (size_t i = 0; i < j->n; i++)
		j->rets[i] = compose_message(
		    &env, j->items[i], j->now, j->msgs[i], &j->whys[i]);
	if (txn && db_commit(env.db) != 0)
		db_rollback(env.db);
	/* The posts of a digest are read again now and then, not for each
	 * chunk: an edit to a post reaches the copies composed a few
	 * seconds later. */
	if (j->now - j->reader->cached_at >= SENDER_POSTS_FOR) {
		compose_cache_forget(env.cache);
		j->reader->cached_at = j->now;
	}
}

static void sender_finish_if_done(struct sender *s);

static void
sender_job_done(uv_work_t *req, int status)
{
	struct sender_job *j = req->data;
	struct sender *s = j->s;

	(void)status; /* jobs are never cancelled */
	j->reader->busy = false;
	s->jobs--;
	s->composing -= (unsigned)j->n;
	for (size_t i = 0; i < j->n; i++)
		s->composing_lane[j->items[i]->lane]--;
	for (size_t i = 0; i < j->n; i++)
		sender_composed(
		    s, j->items[i], j->msgs[i], j->rets[i], j->whys[i], j->now);
	free(j);
	if (s->stopping) {
		sender_finish_if_done(s);
		return;
	}
	if (s->n_results >= SENDER_BATCH)
		sender_pump(s);
	else
		sender_kick(s);
}

/* How many messages the compose jobs can take now. */
static size_t
sender_compose_room(const struct sender *s)
{
	size_t room = 0;

	for (size_t i = 0; i < SENDER_COMPOSERS; i++)
		room += s->readers[i].busy ? 0 : SENDER_CHUNK;
	return room;
}

/* Hands claimed items (at most sender_compose_room()) to compose jobs,
 * split evenly over the free readers. */
static void
sender_dispatch(
    struct sender *s, struct outbox_item **items, size_t n, time_t now)
{
	size_t free_readers = sender_compose_room(s) / SENDER_CHUNK, done = 0;

	for (size_t i = 0; i < SENDER_COMPOSERS && done < n; i++) {
		struct sender_reader *r = &s->readers[i];
		struct sender_job *j;
		size_t take;

		if (r->busy)
			continue;
		take = (n - done + free_readers - 1) / free_readers;
		if (take > SENDER_CHUNK)
			take = SENDER_CHUNK;
		free_readers--;
		j = xcalloc(1, sizeof(*j));
		j->req.data = j;
		j->s = s;
		j->reader = r;
		j->now = now;
		j->n = take;
		for (size_t k = 0; k < take; k++) {
			j->items[k] = items[done + k];
			j->msgs[k] = transport_msg_new();
			j->msgs[k]->id = items[done + k]->id;
			j->msgs[k]->user = items[done + k];
			j->msgs[k]->bulk =
			    items[done + k]->lane == OUTBOX_LANE_BULK;
			s->composing_lane[items[done + k]->lane]++;
		}
		done += take;
		r->busy = true;
		s->jobs++;
		s->composing += (unsigned)take;
		/* Only fails for a bad argument: a bug. */
		if (uv_queue_work(s->loop, &j->req, sender_job_work,
			sender_job_done) != 0)
			abort();
	}
}

/* Arms the due timer for the next message due in a lane the transport
 * takes: a lane no relay takes now is woken by the relay callback
 * instead, or its due messages would wake the sender for nothing. */
static void
sender_arm_due(struct sender *s, time_t now)
{
	time_t when, first = 0;
	uint64_t ms;

	uv_timer_stop(&s->due_timer);
	if (s->stopping)
		return;
	for (int lane = 0; lane < OUTBOX_LANES; lane++) {
		if (outbox_next_due(s->outbox, (enum outbox_lane)lane, &when) !=
		    0)
			continue;
		if (when <= now &&
		    transport_lane_capacity(
			s->transport, (enum transport_lane)lane) == 0)
			continue;
		if (first == 0 || when < first)
			first = when;
	}
	if (first == 0)
		return;
	ms = first > now ? (uint64_t)(first - now) * 1000 : 1;
	uv_timer_start(&s->due_timer, sender_on_due_timer, ms, 0);
}

/* How many messages of lane to claim now, taken already of the other
 * lane in this pass: what the transport takes of the lane beyond what
 * is being composed for it, and what the compose jobs can take. While
 * the transport still holds three quarters of what it takes, bulk mail
 * waits to be claimed in a bigger batch: fewer, larger transactions.
 * Booking mail is claimed first, and never waits for a batch. */
static size_t
sender_want(const struct sender *s, enum outbox_lane lane, size_t taken)
{
	size_t room = sender_compose_room(s), want, inflight;
	size_t busy =
	    lane == OUTBOX_LANE_BULK ? s->composing : s->composing_lane[lane];
	unsigned cap;

	/* Stopping, the transport may be gone already. */
	if (s->stopping)
		return 0;
	inflight = transport_inflight(s->transport) + s->composing;
	cap = transport_lane_capacity(s->transport,
	    lane == OUTBOX_LANE_BULK ? TRANSPORT_LANE_BULK
				     : TRANSPORT_LANE_BOOKING);
	want = cap > busy + taken ? cap - busy - taken : 0;
	if (lane == OUTBOX_LANE_BULK && inflight > 0 &&
	    want < (want + inflight) / 4)
		want = 0;
	room = room > taken ? room - taken : 0;
	if (want > room)
		want = room;
	if (want + taken > SENDER_BATCH)
		want = SENDER_BATCH > taken ? SENDER_BATCH - taken : 0;
	return want;
}

/*
 * Outcomes are committed SENDER_BATCH at a time, or once the first has
 * waited SENDER_COMMIT_MS: a commit writes every page it touched, so
 * one of a few outcomes costs nearly what one of many does. They go at
 * once with a claim (a transaction anyway), a relay's change of state,
 * the stop, or when a connection waits for the commit. True when the
 * pump is left to the timer.
 */
static bool
sender_commit_later(struct sender *s, const size_t want[])
{
	uint64_t age;

	if (s->n_results == 0 || s->n_results >= SENDER_BATCH || want[0] > 0 ||
	    want[1] > 0 || s->relays_dirty || s->stopping ||
	    s->transport_gone || transport_waits_for_commits(s->transport))
		return false;
	age = uv_now(s->loop) - s->results_since;
	if (age >= SENDER_COMMIT_MS)
		return false;
	s->pump_armed = true;
	s->pump_later = true;
	uv_timer_start(
	    &s->pump_timer, sender_on_pump_timer, SENDER_COMMIT_MS - age, 0);
	return true;
}

static void
sender_pump(struct sender *s)
{
	struct outbox_item **items = NULL, **more = NULL;
	time_t now = clock_now();
	size_t n = 0, n_more = 0, want[OUTBOX_LANES];
	bool relays;
	int ret;

	if (s->pump_armed) {
		uv_timer_stop(&s->pump_timer);
		s->pump_armed = false;
	}
	s->pump_later = false;
	want[0] = sender_want(s, OUTBOX_LANE_BOOKING, 0);
	want[1] = sender_want(s, OUTBOX_LANE_BULK, 0);
	relays = s->relays_dirty || s->n_usage > 0;
	if (s->n_results == 0 && want[0] == 0 && want[1] == 0 && !relays)
		goto idle;
	if (sender_commit_later(s, want))
		return;
	ret = db_begin(s->env->db);
	if (ret == 0)
		ret = sender_apply_results(s, now);
	if (ret == 0)
		ret = sender_apply_relays(s, now);
	if (ret == 0 && want[0] > 0)
		ret = outbox_claim(
		    s->outbox, now, OUTBOX_LANE_BOOKING, want[0], &items, &n);
	/* Bulk mail takes the room booking mail left. */
	if (ret == 0 && want[1] > 0) {
		want[1] = sender_want(s, OUTBOX_LANE_BULK, n);
		if (want[1] > 0)
			ret = outbox_claim(s->outbox, now, OUTBOX_LANE_BULK,
			    want[1], &more, &n_more);
	}
	if (ret == 0)
		ret = db_commit(s->env->db);
	if (ret != 0) {
		/* The database is busy or failing: keep the outcomes and
		 * try again shortly rather than lose them. */
		db_rollback(s->env->db);
		for (size_t i = 0; i < n; i++)
			outbox_item_free(items[i]);
		for (size_t i = 0; i < n_more; i++)
			outbox_item_free(more[i]);
		free(items);
		free(more);
		log_warnx("sender commit failed: %s; outcomes kept, retrying "
			  "in 1s",
		    db_strerror(ret));
		uv_timer_start(&s->pump_timer, sender_on_pump_timer, 1000, 0);
		s->pump_armed = true;
		return;
	}
	if (relays)
		sender_relays_committed(s);
	if (s->n_results > 0 && !s->transport_gone)
		transport_committed(s->transport);
	sender_clear_results(s);
	if (n_more > 0) {
		items = xreallocarray(
		    items, n + n_more, sizeof(struct outbox_item *));
		memcpy(items + n, more, n_more * sizeof(struct outbox_item *));
		n += n_more;
	}
	free(more);
	if (n > 0)
		sender_dispatch(s, items, n, now);
	free(items);
	if ((want[0] > 0 && n - n_more == want[0]) ||
	    (want[1] > 0 && n_more == want[1]) || s->n_results > 0) {
		sender_kick(s);
		return;
	}
idle:
	/* Stopping, the transport may be gone already (this pump commits
	 * the last outcomes from sender_on_transport_closed()). */
	if (!s->stopping && s->jobs == 0 &&
	    transport_inflight(s->transport) == 0) {
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
	sender_close_readers(s);
	relay_store_free(s->relays);
	for (size_t i = 0; i < s->n_usage; i++)
		free(s->usage[i].relay);
	free(s->usage);
	free(s->results);
	free(s);
	if (stopped != NULL)
		stopped(arg);
}

/* Stopping: once the transport is closed and no compose job is left,
 * commits what the last messages became and frees the sender. */
static void
sender_finish_if_done(struct sender *s)
{
	if (!s->transport_gone || s->jobs > 0)
		return;
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

static void
sender_on_transport_closed(void *arg)
{
	struct sender *s = arg;

	s->transport_gone = true;
	sender_finish_if_done(s);
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
