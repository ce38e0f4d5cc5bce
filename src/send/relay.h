/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * relay: what the SMTP transport knows of one relay between messages:
 * whether it can take mail now, for which lane, why not, and when to try
 * it again; and how much of its quota is spent.
 *
 *   up         takes mail.
 *   down       a session could not be opened (connection, TLS, EHLO,
 *              AUTH, a refusal at the greeting): nothing goes to it; a
 *              connection is tried again (a probe) after a backoff.
 *   throttled  it refused mail for a while (421, 4.7.x, a refusal of
 *              MAIL on a fresh connection): nothing goes to it until the
 *              backoff ends; the next message is then the probe.
 *   paused     a lane of it (or both): a refusal about the sender (our
 *              authentication, a blocklist, the relay's policy) that the
 *              caller found; after the backoff one message of that lane
 *              goes as the probe, and its acceptance ends the pause.
 *   quota      its quota is spent: nothing goes to it until enough of the
 *              window has passed.
 *
 * Backoffs start at RELAY_BACKOFF_MIN seconds and double at each fault
 * in a row, up to RELAY_BACKOFF_MAX; a success ends the run. The clock
 * is in whole seconds, so a wait ends a second after its backoff from
 * the fault's second: it lasts at least the backoff.
 *
 * The quota counts the messages the relay accepted in the last window
 * (the quota's period, an hour or a day), by the minute: a message
 * counts from the minute it was accepted until a whole window after.
 * Messages on their way to the relay are reserved against it, so that
 * the quota is never overshot by what is in flight.
 *
 * Pure: no threads, no network, no database; the caller passes the time
 * (clock_now(), which --now moves). transport_smtp.c keeps one per relay
 * on the loop thread.
 */
#ifndef FM_RELAY_H
#define FM_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RELAY_LANES       2 /* 0: booking mail, 1: bulk (outbox.h) */
#define RELAY_BACKOFF_MIN 1
#define RELAY_BACKOFF_MAX 300

enum relay_state {
	RELAY_UP,
	RELAY_DOWN,
	RELAY_THROTTLED,
	RELAY_PAUSED,
	RELAY_QUOTA,
};

/* What one relay looks like from outside, for logs, status and
 * metrics. Strings are the relay's, valid until it next changes. */
struct relay_info {
	const char *name;
	enum relay_state state;
	bool paused[RELAY_LANES]; /* lanes paused (state paused) */
	const char *cause;        /* why it is not up, or NULL */
	time_t since;             /* when it entered the state */
	time_t next_try;          /* when that may change by itself; 0: no */
	int64_t quota;            /* messages per window; -1: no quota */
	int64_t quota_left;       /* -1: no quota */
	int64_t quota_window;     /* seconds */
};

struct relay;

/* A relay named name (copied), up, with a quota of quota messages per
 * window seconds (quota 0: none). Never NULL; relay_free(NULL) does
 * nothing. */
struct relay *relay_new(const char *name, uint32_t quota, uint32_t window);
void relay_free(struct relay *r);

/* The name given to relay_new(). */
const char *relay_name(const struct relay *r);

/* "up", "down", "throttled", "paused", "quota": the relays table's
 * values. */
const char *relay_state_name(enum relay_state s);

/* True if a message of lane may go to r at now (nothing reserved yet):
 * up, or throttled no more, or a paused lane whose probe is due (the
 * message is then the probe: see relay_reserve()), and quota left. */
bool relay_open_for(const struct relay *r, unsigned lane, time_t now);

/* A message of lane is on its way to r: reserved against the quota; if
 * it is a paused lane's probe, no other goes until its outcome. */
void relay_reserve(struct relay *r, unsigned lane, time_t now);

/*
 * The outcome of a message reserved with relay_reserve(): accepted
 * counts against the quota (at now) and ends a fault of the relay and
 * the pause of its lane; otherwise only the reservation goes (a pause
 * whose probe was refused stays until relay_pause() or relay_resume()
 * says).
 */
void relay_settle(struct relay *r, unsigned lane, bool accepted, time_t now);

/* Adds n messages accepted in the minute that starts at minute (unix
 * time, a multiple of 60), e.g. as recorded before a restart. */
void relay_add_usage(struct relay *r, time_t minute, uint32_t n);

/* Messages left in the quota at now, counting reservations; -1 without
 * a quota. */
int64_t relay_quota_left(const struct relay *r, time_t now);

/* A session could not be opened, for cause (copied): down, until a
 * probe (relay_probe_due()) opens one. */
void relay_down(struct relay *r, const char *cause, time_t now);
/* It refused mail for cause: throttled for the next backoff. */
void relay_throttle(struct relay *r, const char *cause, time_t now);
/* A refusal about the sender, for cause: lane paused, probed after the
 * next backoff. */
void relay_pause(struct relay *r, unsigned lane, const char *cause, time_t now);
/* The pause of lane is over (its probe was refused for a reason that
 * is not about the sender). */
void relay_resume(struct relay *r, unsigned lane, time_t now);

/* True while the probe message of a paused lane is on its way. */
bool relay_lane_probing(const struct relay *r, unsigned lane);
/* True when lane is paused and its probe came back refused without the
 * pause being renewed (relay_pause()) since: the refusal was not about
 * the sender, and the caller ends the pause (relay_resume()). */
bool relay_lane_probe_cleared(const struct relay *r, unsigned lane, time_t now);

/* True when r is down and its probe is due: the caller opens a
 * connection, then calls relay_probed(). */
bool relay_probe_due(const struct relay *r, time_t now);
/* The probe is under way (so it is not started twice). */
void relay_probing(struct relay *r);
/* The probe's outcome: up, or down for a longer backoff with cause. */
void relay_probed(struct relay *r, bool ok, const char *cause, time_t now);

/* The next time r changes by itself (a probe or a pause's probe due, a
 * throttle's end, quota freed; a probe under way, RELAY_BACKOFF_MIN
 * from now), or 0 if none. */
time_t relay_next_change(const struct relay *r, time_t now);

/* r as seen from outside at now. */
void relay_get_info(const struct relay *r, time_t now, struct relay_info *out);

#endif
