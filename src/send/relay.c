/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * relay: see relay.h. A fault of the whole relay (down, throttled) and
 * the pause of each lane are kept apart: a relay can be throttled while
 * its bulk lane is paused, and the one ending does not end the other.
 */
#include "config.h"

#include "send/relay.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct relay_pause {
	bool on;
	bool probing; /* its probe message is on its way */
	char *cause;
	time_t since;
	time_t until; /* the probe is due from then */
	int64_t backoff;
};

struct relay {
	char *name;
	/* RELAY_UP, RELAY_DOWN or RELAY_THROTTLED: the relay as a whole. */
	enum relay_state fault;
	char *cause;
	time_t since;
	time_t until; /* down: the probe is due; throttled: it ends */
	int64_t backoff;
	bool probing;
	struct relay_pause pause[RELAY_LANES];

	uint32_t quota;  /* 0: none */
	uint32_t window; /* seconds */
	uint32_t n_minutes;
	uint32_t *counts;  /* accepted in the minute of minutes[i] */
	time_t *minutes;   /* its start, or 0 */
	uint32_t reserved; /* on their way */
};

static const char *const relay_state_names[] = {
	[RELAY_UP] = "up",
	[RELAY_DOWN] = "down",
	[RELAY_THROTTLED] = "throttled",
	[RELAY_PAUSED] = "paused",
	[RELAY_QUOTA] = "quota",
};

const char *
relay_state_name(enum relay_state s)
{
	if ((size_t)s >= UTIL_ARRAY_LEN(relay_state_names))
		return "unknown";
	return relay_state_names[s];
}

struct relay *
relay_new(const char *name, uint32_t quota, uint32_t window)
{
	struct relay *r = xcalloc(1, sizeof(*r));

	r->name = xstrdup(name);
	r->fault = RELAY_UP;
	if (quota > 0 && window >= 60) {
		r->quota = quota;
		r->window = window;
		r->n_minutes = window / 60;
		r->counts = xcalloc(r->n_minutes, sizeof(*r->counts));
		r->minutes = xcalloc(r->n_minutes, sizeof(*r->minutes));
	}
	return r;
}

const char *
relay_name(const struct relay *r)
{
	return r->name;
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->cause);
	for (size_t i = 0; i < RELAY_LANES; i++)
		free(r->pause[i].cause);
	free(r->counts);
	free(r->minutes);
	free(r);
}

static void
relay_set_cause(char **at, const char *cause)
{
	free(*at);
	*at = cause != NULL ? xstrdup(cause) : NULL;
}

/* The backoff after one more fault at now: the first of a run, or
 * doubled once the wait before ran out (faults reported together by
 * several connections count as one). */
static int64_t
relay_next_backoff(int64_t backoff, time_t until, bool faulty, time_t now)
{
	if (!faulty || backoff <= 0)
		return RELAY_BACKOFF_MIN;
	if (now < until)
		return backoff;
	return backoff * 2 > RELAY_BACKOFF_MAX ? RELAY_BACKOFF_MAX
					       : backoff * 2;
}

/* When a wait of backoff seconds from a fault at now ends. The clock
 * is in whole seconds, and a fault at 12:00:00.997 must not end its
 * wait at 12:00:01: one more second makes every wait last at least its
 * backoff, wherever in its second the fault came. */
static time_t
relay_wait_end(time_t now, int64_t backoff)
{
	return now + (time_t)backoff + 1;
}

/* ------------------------------------------------------------ quota */

static int64_t
relay_quota_used(const struct relay *r, time_t now)
{
	int64_t used = 0;

	for (uint32_t i = 0; i < r->n_minutes; i++)
		if (r->minutes[i] != 0 &&
		    r->minutes[i] + (time_t)r->window > now)
			used += r->counts[i];
	return used;
}

int64_t
relay_quota_left(const struct relay *r, time_t now)
{
	int64_t left;

	if (r->quota == 0)
		return -1;
	left = (int64_t)r->quota - relay_quota_used(r, now) - r->reserved;
	return left > 0 ? left : 0;
}

void
relay_add_usage(struct relay *r, time_t minute, uint32_t n)
{
	uint32_t i;

	if (r->quota == 0 || minute <= 0)
		return;
	minute -= minute % 60;
	i = (uint32_t)((minute / 60) % r->n_minutes);
	if (r->minutes[i] != minute) {
		r->minutes[i] = minute;
		r->counts[i] = 0;
	}
	r->counts[i] += n;
}

/* When enough of the window will have passed for one more message to
 * go, or 0 when that is not in sight (nothing counted). */
static time_t
relay_quota_frees(const struct relay *r, time_t now)
{
	time_t first = 0;

	for (uint32_t i = 0; i < r->n_minutes; i++) {
		time_t end = r->minutes[i] + (time_t)r->window;

		if (r->minutes[i] != 0 && r->counts[i] > 0 && end > now &&
		    (first == 0 || end < first))
			first = end;
	}
	return first;
}

/* ------------------------------------------------------------ lanes */

bool
relay_open_for(const struct relay *r, unsigned lane, time_t now)
{
	const struct relay_pause *p = &r->pause[lane % RELAY_LANES];

	if (r->fault == RELAY_DOWN)
		return false;
	if (r->fault == RELAY_THROTTLED && now < r->until)
		return false;
	if (p->on && (p->probing || now < p->until))
		return false;
	return r->quota == 0 || relay_quota_left(r, now) > 0;
}

void
relay_reserve(struct relay *r, unsigned lane, time_t now)
{
	struct relay_pause *p = &r->pause[lane % RELAY_LANES];

	(void)now;
	r->reserved++;
	if (p->on)
		p->probing = true;
}

void
relay_settle(struct relay *r, unsigned lane, bool accepted, time_t now)
{
	struct relay_pause *p = &r->pause[lane % RELAY_LANES];

	if (r->reserved > 0)
		r->reserved--;
	if (!accepted) {
		p->probing = false;
		return;
	}
	relay_add_usage(r, now, 1);
	/* An acceptance is proof enough: also of a relay thought down
	 * while a connection opened before carried on. */
	if (r->fault != RELAY_UP) {
		r->fault = RELAY_UP;
		r->probing = false;
		r->until = 0;
		r->backoff = 0;
		r->since = now;
		relay_set_cause(&r->cause, NULL);
	}
	if (p->on)
		relay_resume(r, lane, now);
}

/* ------------------------------------------------------------ faults */

void
relay_down(struct relay *r, const char *cause, time_t now)
{
	bool faulty = r->fault != RELAY_UP;

	r->backoff = relay_next_backoff(r->backoff, r->until, faulty, now);
	if (r->fault != RELAY_DOWN)
		r->since = now;
	if (!faulty || now >= r->until)
		r->until = relay_wait_end(now, r->backoff);
	r->fault = RELAY_DOWN;
	r->probing = false;
	relay_set_cause(&r->cause, cause);
}

void
relay_throttle(struct relay *r, const char *cause, time_t now)
{
	bool faulty = r->fault != RELAY_UP;

	if (r->fault == RELAY_DOWN)
		return; /* the probe decides */
	r->backoff = relay_next_backoff(r->backoff, r->until, faulty, now);
	if (r->fault != RELAY_THROTTLED)
		r->since = now;
	if (!faulty || now >= r->until)
		r->until = relay_wait_end(now, r->backoff);
	r->fault = RELAY_THROTTLED;
	relay_set_cause(&r->cause, cause);
}

void
relay_pause(struct relay *r, unsigned lane, const char *cause, time_t now)
{
	struct relay_pause *p = &r->pause[lane % RELAY_LANES];

	p->backoff = relay_next_backoff(p->backoff, p->until, p->on, now);
	if (!p->on)
		p->since = now;
	if (!p->on || now >= p->until)
		p->until = relay_wait_end(now, p->backoff);
	p->on = true;
	p->probing = false;
	relay_set_cause(&p->cause, cause);
}

void
relay_resume(struct relay *r, unsigned lane, time_t now)
{
	struct relay_pause *p = &r->pause[lane % RELAY_LANES];

	(void)now;
	p->on = false;
	p->probing = false;
	p->backoff = 0;
	p->until = 0;
	relay_set_cause(&p->cause, NULL);
}

bool
relay_lane_probing(const struct relay *r, unsigned lane)
{
	const struct relay_pause *p = &r->pause[lane % RELAY_LANES];

	return p->on && p->probing;
}

bool
relay_lane_probe_cleared(const struct relay *r, unsigned lane, time_t now)
{
	const struct relay_pause *p = &r->pause[lane % RELAY_LANES];

	return p->on && !p->probing && now >= p->until;
}

bool
relay_probe_due(const struct relay *r, time_t now)
{
	return r->fault == RELAY_DOWN && !r->probing && now >= r->until;
}

void
relay_probing(struct relay *r)
{
	r->probing = true;
}

void
relay_probed(struct relay *r, bool ok, const char *cause, time_t now)
{
	r->probing = false;
	if (!ok) {
		relay_down(r, cause, now);
		return;
	}
	r->fault = RELAY_UP;
	r->backoff = 0;
	r->until = 0;
	r->since = now;
	relay_set_cause(&r->cause, NULL);
}

time_t
relay_next_change(const struct relay *r, time_t now)
{
	time_t next = 0;

#define RELAY_SOONER(t)                                 \
	do {                                            \
		time_t t_ = (t);                        \
		if (t_ > 0 && (next == 0 || t_ < next)) \
			next = t_ > now ? t_ : now;     \
	} while (0)
	/* A probe under way answers soon. */
	if (r->fault != RELAY_UP)
		RELAY_SOONER(r->probing ? now + RELAY_BACKOFF_MIN : r->until);
	for (size_t i = 0; i < RELAY_LANES; i++)
		if (r->pause[i].on)
			RELAY_SOONER(r->pause[i].probing
				? now + RELAY_BACKOFF_MIN
				: r->pause[i].until);
	if (r->quota > 0 && relay_quota_left(r, now) == 0)
		RELAY_SOONER(relay_quota_frees(r, now));
#undef RELAY_SOONER
	return next;
}

void
relay_get_info(const struct relay *r, time_t now, struct relay_info *out)
{
	memset(out, 0, sizeof(*out));
	out->name = r->name;
	out->quota = r->quota > 0 ? (int64_t)r->quota : -1;
	out->quota_left = relay_quota_left(r, now);
	out->quota_window = r->window;
	out->next_try = relay_next_change(r, now);
	for (size_t i = 0; i < RELAY_LANES; i++)
		out->paused[i] = r->pause[i].on;
	if (r->fault == RELAY_DOWN ||
	    (r->fault == RELAY_THROTTLED && now < r->until)) {
		out->state = r->fault;
		out->cause = r->cause;
		out->since = r->since;
		return;
	}
	for (size_t i = 0; i < RELAY_LANES; i++) {
		if (r->pause[i].on &&
		    (out->state != RELAY_PAUSED ||
			r->pause[i].since < out->since)) {
			out->state = RELAY_PAUSED;
			out->cause = r->pause[i].cause;
			out->since = r->pause[i].since;
		}
	}
	if (out->state == RELAY_PAUSED)
		return;
	if (r->quota > 0 && out->quota_left == 0) {
		out->state = RELAY_QUOTA;
		out->cause = "quota spent";
		out->since = now;
		return;
	}
	out->state = RELAY_UP;
	out->since = r->since;
}
