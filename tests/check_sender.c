/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_sender: what the sender makes of each outcome: sent, deferred
 * with exponential backoff and jitter, given up after [smtp] give_up,
 * failed (with a bounce recorded when the recipient was refused),
 * cancelled, suppressed, refused by the transport, or handed back
 * untried at stop. The real sender runs on a libuv loop over a fresh
 * database, composing real messages, and hands them to a scripted
 * transport registered for the test (transport_override()), which
 * answers each recipient as the test says; the test then reads what the
 * database, and so the admin tool, shows.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sqlite3.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "job_confirm.h"
#include "outbox.h"
#include "send/compose.h"
#include "send/sender.h"
#include "send/transport_int.h"
#include "testutil.h"
#include "tmpl/tmpl.h"
#include "util.h"

#define FAKE_CAPACITY 8
#define FAKE_MAX      64

/* ------------------------------------------------ the scripted transport */

enum fake_action {
	FAKE_ACCEPT, /* 250: sent */
	FAKE_DEFER,  /* TRANSPORT_DEFER with the rule's code and reply */
	FAKE_FAIL,   /* TRANSPORT_FAIL, rcpt_rejected as the rule says */
	FAKE_REFUSE, /* submit() refuses it: -EINVAL */
	FAKE_HOLD,   /* kept until close, then handed back untried */
};

struct fake_rule {
	const char *rcpt;
	enum fake_action action;
	int code;
	const char *reply;
	bool rcpt_rejected;
};

struct fake {
	struct transport base; /* first: transport_closed() frees it */
	uv_timer_t timer;      /* hands back what is pending */
	struct transport_msg *pending[FAKE_MAX];
	size_t n_pending;
	struct transport_msg *held[FAKE_MAX];
	size_t n_held;
	unsigned inflight;
	bool closing;
};

/* What the test scripts and what the transport saw; one test at a time
 * (each runs in its own process). */
static struct {
	const struct fake_rule *rules;
	size_t n_rules;
	unsigned submitted; /* messages taken by submit() */
	unsigned held;      /* of which kept by FAKE_HOLD */
	int64_t returned[FAKE_MAX];
	size_t n_returned;
	unsigned committed_calls;
	unsigned sending_at_commit; /* handed back, still "sending" */
} fake_seen;

static sqlite3 *db;

static const struct fake_rule *
fake_rule_for(const char *rcpt)
{
	for (size_t i = 0; i < fake_seen.n_rules; i++)
		if (strcmp(fake_seen.rules[i].rcpt, rcpt) == 0)
			return &fake_seen.rules[i];
	return NULL;
}

static void
fake_on_closed(uv_handle_t *h)
{
	struct fake *f = h->data;

	transport_closed(&f->base);
}

static void
fake_on_timer(uv_timer_t *h)
{
	struct fake *f = h->data;
	struct transport_msg *batch[FAKE_MAX];
	size_t n = f->n_pending;

	for (size_t i = 0; i < n; i++)
		batch[i] = f->pending[i];
	f->n_pending = 0;
	for (size_t i = 0; i < n; i++) {
		struct transport_msg *m = batch[i];
		const struct fake_rule *r = fake_rule_for(m->rcpt);

		if (!m->unsent && (r == NULL || r->action == FAKE_ACCEPT)) {
			m->outcome = TRANSPORT_SENT;
			m->code = 250;
			m->reply = xstrdup("250 2.0.0 Ok: queued");
		} else if (!m->unsent) {
			m->outcome = r->action == FAKE_FAIL ? TRANSPORT_FAIL
							    : TRANSPORT_DEFER;
			m->code = r->code;
			m->reply = xstrdup(r->reply);
			m->rcpt_rejected = r->rcpt_rejected;
		}
		ck_assert_uint_lt(fake_seen.n_returned, FAKE_MAX);
		fake_seen.returned[fake_seen.n_returned++] = m->id;
		f->inflight--;
		f->base.done(m, f->base.done_arg);
	}
	if (f->closing && f->inflight == 0)
		uv_close((uv_handle_t *)&f->timer, fake_on_closed);
}

static struct transport *
fake_create(uv_loop_t *loop, const struct cfg *cfg, char **err)
{
	struct fake *f = xcalloc(1, sizeof(*f));

	(void)cfg;
	(void)err;
	uv_timer_init(loop, &f->timer);
	f->timer.data = f;
	return &f->base;
}

static int
fake_submit(struct transport *t, struct transport_msg *m)
{
	struct fake *f = (struct fake *)t;
	const struct fake_rule *r = fake_rule_for(m->rcpt);

	if (f->inflight >= FAKE_CAPACITY)
		return -EAGAIN;
	if (r != NULL && r->action == FAKE_REFUSE)
		return -EINVAL;
	fake_seen.submitted++;
	f->inflight++;
	if (r != NULL && r->action == FAKE_HOLD) {
		fake_seen.held++;
		f->held[f->n_held++] = m;
		return 0;
	}
	/* Never from inside submit(): the contract says the loop thread,
	 * later. */
	f->pending[f->n_pending++] = m;
	uv_timer_start(&f->timer, fake_on_timer, 0, 0);
	return 0;
}

static unsigned
fake_capacity(const struct transport *t)
{
	const struct fake *f = (const struct fake *)t;

	return f->closing ? 0 : FAKE_CAPACITY - f->inflight;
}

static unsigned
fake_inflight(const struct transport *t)
{
	return ((const struct fake *)t)->inflight;
}

/* The sender says every outcome handed to it so far is in the database:
 * check that it is. */
static void
fake_committed(struct transport *t)
{
	(void)t;
	fake_seen.committed_calls++;
	for (size_t i = 0; i < fake_seen.n_returned; i++) {
		char *sql = xasprintf("SELECT count(*) FROM messages WHERE "
				      "id = %lld AND state = 'sending'",
		    (long long)fake_seen.returned[i]);

		fake_seen.sending_at_commit += (unsigned)tu_sql_int(db, sql);
		free(sql);
	}
}

static void
fake_close(struct transport *t)
{
	struct fake *f = (struct fake *)t;

	f->closing = true;
	for (size_t i = 0; i < f->n_held; i++) {
		struct transport_msg *m = f->held[i];

		m->outcome = TRANSPORT_DEFER;
		m->reply = xstrdup("shutdown");
		m->unsent = true;
		f->pending[f->n_pending++] = m;
	}
	f->n_held = 0;
	if (f->inflight == 0)
		uv_close((uv_handle_t *)&f->timer, fake_on_closed);
	else
		uv_timer_start(&f->timer, fake_on_timer, 0, 0);
}

static const struct transport_ops fake_ops = {
	.name = "fake",
	.create = fake_create,
	.submit = fake_submit,
	.capacity = fake_capacity,
	.inflight = fake_inflight,
	.committed = fake_committed,
	.close = fake_close,
};

/* ------------------------------------------------ fixture */

/* Three booking confirmations are queued at T: id 1 to Sarah, 2 to
 * Siân, 3 to Fatima (tests/data/e2e/bookings.sql). */
#define SARAH  "sarah.jones@example.org"
#define SIAN   "sian.llyr@example.org"
#define FATIMA "fatima@example.org"

static char *dir;
static time_t t0;
static struct cfg *cfg;
static struct tmpl_set *tmpls;
static struct compose_env env;
static struct outbox *ob;
static uv_loop_t loop;
static struct sender *snd;

static void
sender_test_on_idle(void *arg)
{
	uv_stop(arg);
}

static void
setup(void)
{
	struct tmpl_error terr;
	char *sql, *path;
	char *err = NULL;

	memset(&fake_seen, 0, sizeof(fake_seen));
	dir = tu_mkdtemp();
	db = tu_db_new(dir);
	path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
	sql = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(sql);
	tu_sql(db, sql);
	free(sql);
	free(path);
	ck_assert_int_eq(clock_set_timezone("Europe/London"), 0);
	ck_assert_int_eq(clock_parse_iso("2026-11-23T09:00:00Z", &t0), 0);
	clock_set_fake(t0);
	ck_assert_int_eq(job_confirm_run(db, NULL, t0), 3);

	cfg = cfg_new_defaults(dir);
	cfg->retry_initial = 60;
	cfg->retry_max = 300;
	cfg->retry_give_up = 0;
	path = xasprintf("%s/templates", tu_srcdir());
	tmpls = tmpl_set_load(path, &terr);
	free(path);
	ck_assert_ptr_nonnull(tmpls);
	env.db = db;
	env.cfg = cfg;
	env.tmpls = tmpls;
	env.secret = "0123456789abcdef0123456789abcdef";
	env.secret_len = strlen(env.secret);
	ob = outbox_new(db);

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	transport_override(&fake_ops);
	snd = sender_new(&loop, &env, ob, &err);
	ck_assert_msg(snd != NULL, "sender_new: %s", err != NULL ? err : "?");
	sender_set_idle_cb(snd, sender_test_on_idle, &loop);
}

static void
sender_test_on_stopped(void *arg)
{
	*(bool *)arg = true;
}

/* Stops the sender (the transport hands back what it holds) and runs
 * the loop until every handle is closed. */
static void
sender_test_stop(void)
{
	bool stopped = false;

	if (snd == NULL)
		return;
	sender_stop(snd, sender_test_on_stopped, &stopped);
	snd = NULL;
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert(stopped);
}

static void
teardown(void)
{
	sender_test_stop();
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	transport_override(NULL);
	outbox_free(ob);
	tmpl_set_free(tmpls);
	cfg_free(cfg);
	db_close(db);
	tu_rmtree(dir);
	free(dir);
}

/* Runs one pass of the sender at fake time now: everything due is
 * claimed, composed, handed to the transport and its outcome committed,
 * until nothing is due or in flight. */
static void
sender_test_run_at(time_t now)
{
	clock_set_fake(now);
	sender_kick(snd);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static void
sender_test_script(const struct fake_rule *rules, size_t n)
{
	fake_seen.rules = rules;
	fake_seen.n_rules = n;
}

static char *
sender_test_text(int64_t id, const char *expr)
{
	char *sql = xasprintf(
	    "SELECT %s FROM messages WHERE id = %lld", expr, (long long)id);
	char *v = tu_sql_text(db, sql);

	free(sql);
	return v;
}

static long long
sender_test_int(int64_t id, const char *expr)
{
	char *sql = xasprintf(
	    "SELECT %s FROM messages WHERE id = %lld", expr, (long long)id);
	long long v = tu_sql_int(db, sql);

	free(sql);
	return v;
}

static void
sender_test_assert_state(int64_t id, const char *state)
{
	char *got = sender_test_text(id, "state");

	ck_assert_msg(strcmp(got, state) == 0, "message %lld is %s, not %s",
	    (long long)id, got, state);
	free(got);
}

/* When message id is next due, as a time. */
static time_t
sender_test_next_attempt(int64_t id)
{
	char *s = sender_test_text(id, "next_attempt_at");
	time_t t = 0;

	ck_assert_int_eq(clock_parse_iso(s, &t), 0);
	free(s);
	return t;
}

/* ------------------------------------------------ backoff, pure */

START_TEST(test_sender_backoff_starts_at_retry_initial_give_or_take_a_quarter)
{
	/* 60 s, a quarter is 15: r picks one of 45..75, r % 31. */
	ck_assert_int_eq(sender_backoff_delay(60, 300, 1, 0), 45);
	ck_assert_int_eq(sender_backoff_delay(60, 300, 1, 15), 60);
	ck_assert_int_eq(sender_backoff_delay(60, 300, 1, 30), 75);
	ck_assert_int_eq(sender_backoff_delay(60, 300, 1, 31), 45);
	ck_assert_int_eq(sender_backoff_delay(60, 300, 1, UINT64_MAX),
	    45 + (int64_t)(UINT64_MAX % 31));
}
END_TEST

START_TEST(test_sender_backoff_doubles_each_attempt_up_to_retry_max)
{
	static const int64_t base[] = { 60, 120, 240, 300, 300, 300 };

	for (int a = 1; a <= 6; a++) {
		int64_t q = base[a - 1] / 4;

		ck_assert_int_eq(
		    sender_backoff_delay(60, 300, a, 0), base[a - 1] - q);
		ck_assert_int_eq(
		    sender_backoff_delay(60, 300, a, (uint64_t)q), base[a - 1]);
		ck_assert_int_eq(
		    sender_backoff_delay(60, 300, a, (uint64_t)(2 * q)),
		    base[a - 1] + q);
	}
	/* The ceiling is reached without overflow however many attempts
	 * came before. */
	ck_assert_int_eq(sender_backoff_delay(60, 86400, 100000, 0), 64800);
	ck_assert_int_eq(
	    sender_backoff_delay(60, 86400, 100000, 43200), 108000);
}
END_TEST

START_TEST(test_sender_backoff_defaults_and_never_waits_less_than_a_second)
{
	/* Unset initial: 60 s. A ceiling below it: none. */
	ck_assert_int_eq(sender_backoff_delay(0, 0, 1, 15), 60);
	ck_assert_int_eq(sender_backoff_delay(-5, 10, 3, 15), 60);
	ck_assert_int_eq(sender_backoff_delay(600, 60, 9, 150), 600);
	/* Under four seconds there is no quarter to move by. */
	ck_assert_int_eq(sender_backoff_delay(1, 1, 1, 12345), 1);
	ck_assert_int_eq(sender_backoff_delay(3, 3, 5, 12345), 3);
	ck_assert_int_eq(sender_backoff_delay(1, 8, 4, 0), 6);
}
END_TEST

/* ------------------------------------------------ through the sender */

START_TEST(test_sender_marks_accepted_messages_sent)
{
	const struct sender_stats *st;
	char *got;

	sender_test_run_at(t0);
	for (int64_t id = 1; id <= 3; id++) {
		sender_test_assert_state(id, "sent");
		ck_assert_int_eq(sender_test_int(id, "smtp_code"), 250);
	}
	got = sender_test_text(1,
	    "smtp_reply || '|' || attempts || '|' || (message_id IS NOT NULL)");
	ck_assert_str_eq(got, "250 2.0.0 Ok: queued|1|1");
	free(got);
	st = sender_stats(snd);
	ck_assert_uint_eq(st->sent, 3);
	ck_assert_uint_eq(st->deferred + st->failed, 0);
	ck_assert_uint_eq(fake_seen.submitted, 3);
	/* The transport heard of the commit, and only after it. */
	ck_assert_uint_gt(fake_seen.committed_calls, 0);
	ck_assert_uint_eq(fake_seen.sending_at_commit, 0);
}
END_TEST

START_TEST(test_sender_defers_a_4xx_with_backoff_growing_to_retry_max)
{
	static const struct fake_rule rules[] = {
		{ SARAH, FAKE_DEFER, 451, "451 4.3.0 Try again later", false },
		{ SIAN, FAKE_DEFER, 451, "451 4.3.0 Try again later", false },
		{ FATIMA, FAKE_DEFER, 421, "421 4.4.2 Timeout", false },
	};
	static const int64_t base[] = { 60, 120, 240, 300, 300 };
	bool jittered = false;
	time_t now = t0;
	char *got;

	sender_test_script(rules, UTIL_ARRAY_LEN(rules));
	for (int a = 1; a <= 5; a++) {
		time_t earliest = 0, latest = 0;

		sender_test_run_at(now);
		for (int64_t id = 1; id <= 3; id++) {
			time_t next = sender_test_next_attempt(id);
			int64_t q = base[a - 1] / 4;
			/* The clock moves on while the pass runs. */
			int64_t waited = (int64_t)(next - now);

			sender_test_assert_state(id, "queued");
			ck_assert_int_eq(sender_test_int(id, "attempts"), a);
			ck_assert_msg(waited >= base[a - 1] - q &&
				waited <= base[a - 1] + q + 2,
			    "attempt %d of message %lld waits %llds, not "
			    "%lld +/- %lld",
			    a, (long long)id, (long long)waited,
			    (long long)base[a - 1], (long long)q);
			if (earliest == 0 || next < earliest)
				earliest = next;
			if (next > latest)
				latest = next;
		}
		/* Not due before: a pass in between sends nothing. */
		sender_test_run_at(now + base[a - 1] - base[a - 1] / 4 - 1);
		ck_assert_uint_eq(fake_seen.submitted, 3u * (unsigned)a);
		/* Deferred within a second of each other, they would be
		 * due within a second of each other without jitter. */
		if (latest - earliest > 1)
			jittered = true;
		now = latest;
	}
	ck_assert_msg(jittered, "five rounds of three deferrals, no jitter");
	got = sender_test_text(3, "smtp_code || '|' || last_error");
	ck_assert_str_eq(got, "421|421 4.4.2 Timeout");
	free(got);
	ck_assert_uint_eq(sender_stats(snd)->deferred, 15);
	ck_assert_uint_eq(sender_stats(snd)->failed, 0);
}
END_TEST

START_TEST(test_sender_gives_up_on_a_deferred_message_after_give_up)
{
	static const struct fake_rule rules[] = {
		{ SARAH, FAKE_DEFER, 451, "451 4.3.0 Try again later", false },
		{ SIAN, FAKE_DEFER, 451, "451 4.3.0 Try again later", false },
		{ FATIMA, FAKE_DEFER, 451, "451 4.3.0 Try again later", false },
	};
	char *got;

	cfg->retry_give_up = 3600;
	/* Sarah's was queued two hours ago; the others just now. */
	tu_sql(db,
	    "UPDATE messages SET created_at = '2026-11-23T07:00:00Z' "
	    "WHERE id = 1");
	sender_test_script(rules, UTIL_ARRAY_LEN(rules));
	sender_test_run_at(t0);
	sender_test_assert_state(1, "failed");
	got = sender_test_text(1, "smtp_code || '|' || last_error");
	ck_assert_str_eq(
	    got, "451|gave up after 1 attempts: 451 4.3.0 Try again later");
	free(got);
	sender_test_assert_state(2, "queued");
	sender_test_assert_state(3, "queued");
	ck_assert_uint_eq(sender_stats(snd)->failed, 1);
	ck_assert_uint_eq(sender_stats(snd)->deferred, 2);

	/* Within the hour: deferred again. */
	sender_test_run_at(t0 + 3599 - 2);
	sender_test_assert_state(2, "queued");
	ck_assert_int_eq(sender_test_int(2, "attempts"), 2);
	/* An hour after it was queued, the next deferral is the last. */
	tu_sql(db,
	    "UPDATE messages SET next_attempt_at = '2026-11-23T10:00:00Z' "
	    "WHERE state = 'queued'");
	sender_test_run_at(t0 + 3600);
	sender_test_assert_state(2, "failed");
	sender_test_assert_state(3, "failed");
	got = sender_test_text(2, "last_error");
	ck_assert_str_eq(
	    got, "gave up after 3 attempts: 451 4.3.0 Try again later");
	free(got);
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM bounces"), 0);
	ck_assert_int_eq(
	    tu_sql_int(db, "SELECT count(*) FROM suppressions"), 0);
}
END_TEST

START_TEST(test_sender_fails_a_refused_recipient_and_records_a_bounce)
{
	static const struct fake_rule rules[] = {
		{ SARAH, FAKE_FAIL, 550,
		    "550 5.1.1 <sarah.jones@example.org>: Recipient address "
		    "rejected: User unknown",
		    true },
		{ SIAN, FAKE_DEFER, 450,
		    "450 4.2.0 <sian.llyr@example.org>: Recipient address "
		    "rejected: Greylisted",
		    false },
	};
	char *got;

	sender_test_script(rules, UTIL_ARRAY_LEN(rules));
	sender_test_run_at(t0);
	/* 5xx to RCPT: failed, not retried, and a bounce known at once. */
	sender_test_assert_state(1, "failed");
	got = sender_test_text(1, "smtp_code || '|' || smtp_reply");
	ck_assert_str_eq(got,
	    "550|550 5.1.1 <sarah.jones@example.org>: Recipient address "
	    "rejected: User unknown");
	free(got);
	got = tu_sql_text(db,
	    "SELECT message_id || '|' || recipient || '|' || status || '|' "
	    "|| class FROM bounces");
	ck_assert_str_eq(got, "1|sarah.jones@example.org|5.1.1|hard");
	free(got);
	got =
	    tu_sql_text(db, "SELECT email || '|' || reason FROM suppressions");
	ck_assert_str_eq(got, "sarah.jones@example.org|hard_bounce");
	free(got);
	/* 4xx to RCPT: deferred, no bounce. */
	sender_test_assert_state(2, "queued");
	ck_assert_int_eq(
	    tu_sql_int(db, "SELECT count(*) FROM bounces WHERE message_id = 2"),
	    0);
	sender_test_assert_state(3, "sent");
	ck_assert_uint_eq(sender_stats(snd)->failed, 1);
	ck_assert_uint_eq(sender_stats(snd)->deferred, 1);
	ck_assert_uint_eq(sender_stats(snd)->sent, 1);
}
END_TEST

START_TEST(test_sender_fails_a_message_refused_at_data_without_a_bounce)
{
	static const struct fake_rule rules[] = {
		{ FATIMA, FAKE_FAIL, 554, "554 5.6.0 Message content rejected",
		    false },
	};
	char *got;

	sender_test_script(rules, UTIL_ARRAY_LEN(rules));
	sender_test_run_at(t0);
	sender_test_assert_state(3, "failed");
	got = sender_test_text(3, "smtp_code || '|' || last_error");
	ck_assert_str_eq(got, "554|554 5.6.0 Message content rejected");
	free(got);
	/* The message was refused, not the address: nothing to suppress,
	 * and no retry. */
	ck_assert_int_eq(tu_sql_int(db, "SELECT count(*) FROM bounces"), 0);
	ck_assert_int_eq(
	    tu_sql_int(db, "SELECT count(*) FROM suppressions"), 0);
	sender_test_run_at(t0 + 86400);
	ck_assert_uint_eq(fake_seen.submitted, 3);
	sender_test_assert_state(3, "failed");
}
END_TEST

START_TEST(test_sender_cancels_and_suppresses_without_sending)
{
	char *got;

	/* Siân's booking was cancelled and Fatima's address suppressed
	 * after their confirmations were queued. */
	tu_sql(db, "UPDATE bookings SET status = 'cancelled' WHERE id = 2");
	tu_sql(db,
	    "INSERT INTO suppressions (email, reason, created_at) VALUES "
	    "('FATIMA@example.org', 'unsubscribe', '2026-11-22T00:00:00Z')");
	sender_test_run_at(t0);
	sender_test_assert_state(1, "sent");
	sender_test_assert_state(2, "cancelled");
	sender_test_assert_state(3, "suppressed");
	got = sender_test_text(
	    2, "coalesce(smtp_code, '-') || '|' || coalesce(sent_at, '-')");
	ck_assert_str_eq(got, "-|-");
	free(got);
	/* Only Sarah's went to the transport. */
	ck_assert_uint_eq(fake_seen.submitted, 1);
	ck_assert_uint_eq(sender_stats(snd)->cancelled, 1);
	ck_assert_uint_eq(sender_stats(snd)->suppressed, 1);
	ck_assert_uint_eq(sender_stats(snd)->sent, 1);
}
END_TEST

START_TEST(test_sender_fails_an_address_the_transport_refuses)
{
	static const struct fake_rule rules[] = {
		{ SIAN, FAKE_REFUSE, 0, NULL, false },
	};
	char *got;

	sender_test_script(rules, UTIL_ARRAY_LEN(rules));
	sender_test_run_at(t0);
	sender_test_assert_state(2, "failed");
	got = sender_test_text(2, "last_error");
	ck_assert_str_eq(got, "transport refused: Invalid argument");
	free(got);
	sender_test_assert_state(1, "sent");
	sender_test_assert_state(3, "sent");
}
END_TEST

START_TEST(test_sender_requeues_messages_handed_back_untried_at_stop)
{
	static const struct fake_rule rules[] = {
		{ SARAH, FAKE_HOLD, 0, NULL, false },
	};
	char *got;

	sender_test_script(rules, UTIL_ARRAY_LEN(rules));
	clock_set_fake(t0);
	sender_kick(snd);
	while (fake_seen.held == 0 || fake_seen.n_returned < 2)
		uv_run(&loop, UV_RUN_ONCE);
	sender_test_stop();
	/* Due again at once, with no backoff and no attempt counted
	 * against it: it was never tried. */
	sender_test_assert_state(1, "queued");
	got = sender_test_text(1, "last_error || '|' || attempts");
	ck_assert_str_eq(got, "not sent: stopping|0");
	free(got);
	ck_assert_int_le(sender_test_next_attempt(1) - t0, 2);
	sender_test_assert_state(2, "sent");
	sender_test_assert_state(3, "sent");
}
END_TEST

static Suite *
sender_suite(void)
{
	Suite *s = suite_create("sender");
	TCase *pure = tcase_create("backoff");
	TCase *tc = tcase_create("sender");

	tcase_add_test(pure,
	    test_sender_backoff_starts_at_retry_initial_give_or_take_a_quarter);
	tcase_add_test(
	    pure, test_sender_backoff_doubles_each_attempt_up_to_retry_max);
	tcase_add_test(pure,
	    test_sender_backoff_defaults_and_never_waits_less_than_a_second);
	suite_add_tcase(s, pure);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sender_marks_accepted_messages_sent);
	tcase_add_test(
	    tc, test_sender_defers_a_4xx_with_backoff_growing_to_retry_max);
	tcase_add_test(
	    tc, test_sender_gives_up_on_a_deferred_message_after_give_up);
	tcase_add_test(
	    tc, test_sender_fails_a_refused_recipient_and_records_a_bounce);
	tcase_add_test(
	    tc, test_sender_fails_a_message_refused_at_data_without_a_bounce);
	tcase_add_test(tc, test_sender_cancels_and_suppresses_without_sending);
	tcase_add_test(tc, test_sender_fails_an_address_the_transport_refuses);
	tcase_add_test(
	    tc, test_sender_requeues_messages_handed_back_untried_at_stop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(sender_suite());
}
