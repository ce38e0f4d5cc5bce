/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transport: how a built message leaves familymail. One interface, two
 * implementations chosen by [transport] type in one place (transport.c):
 * transport_smtp.c (libcurl on sender threads) and transport_maildir.c
 * (files in a Maildir, written in the libuv thread pool).
 *
 * All functions are called on the loop thread. A transport accepts up to
 * transport_capacity() messages at a time; each submitted message comes
 * back exactly once through the done callback, on the loop thread, with
 * its outcome filled in. The transport never touches the database.
 *
 * Lanes: a message is booking mail or bulk (list) mail. Booking mail goes
 * first wherever messages wait, and bulk mail never takes the last room
 * (transport_lane_capacity()), so a confirmation is never queued behind
 * a digest.
 *
 * Relays (the smtp transport): [smtp] and each [smtp.NAME], in order. A
 * message goes to the first that can take mail now; one deferred by a
 * relay, or refused for a reason about the relay, goes to the next at
 * once. When none can take it, it comes back untried (unsent, with the
 * time to try again), no attempt spent. Each relay's state changes are
 * told through the relay callback (transport_set_relay_cb()).
 *
 * This is what callers use; struct transport and the implementations'
 * ops table are in transport_int.h, which only implementations include.
 */
#ifndef FM_TRANSPORT_H
#define FM_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <uv.h>

#include "buf.h"

struct cfg;

enum transport_outcome {
	TRANSPORT_SENT,  /* accepted (2xx), or written into the Maildir */
	TRANSPORT_DEFER, /* 4xx, timeout, dropped connection: try again */
	TRANSPORT_FAIL,  /* 5xx or a permanent local error */
};

/* What a refusal answered, as far as the transport knows. */
enum transport_step {
	TRANSPORT_STEP_NONE,    /* no reply (a local error, a lost line) */
	TRANSPORT_STEP_SESSION, /* greeting, EHLO, STARTTLS, AUTH */
	TRANSPORT_STEP_MAIL,
	TRANSPORT_STEP_RCPT,
	TRANSPORT_STEP_DATA,
	TRANSPORT_STEP_END, /* the end of the data */
};

struct transport_msg {
	int64_t id;          /* messages.id, for logs and the caller */
	char *envelope_from; /* return path (VERP), owned */
	char *rcpt;          /* envelope recipient, owned */
	struct buf data;     /* the whole message, CRLF line endings */
	char *message_id;    /* its Message-ID, owned, for the record */
	void *user;          /* the caller's, untouched */
	bool bulk;           /* list mail: the bulk lane, after booking mail */
	/* No line of data begins with a dot (mime_build()'s messages):
	 * SMTP sends it without looking for dots to double. */
	bool dot_safe;

	/* Filled in by the transport before the done callback. */
	enum transport_outcome outcome;
	int code;           /* SMTP reply code, 0 when there was none */
	char *reply;        /* last reply text or local error, owned, or NULL */
	bool rcpt_rejected; /* the failure answered RCPT TO: a bounce */
	enum transport_step step; /* what the reply in code answered */
	/* Handed back untried (never began a transaction): by close, or
	 * because no relay can take it now; reply says why. Try it again
	 * from retry_at (0: at once); no attempt was spent. */
	bool unsent;
	time_t retry_at;
	char *relay; /* the relay that took or refused it, owned, or NULL */

	/* The transport's own; callers leave them alone. */
	unsigned route_relay; /* the relay it is with */
	uint32_t route_tried; /* the relays that had it, a bit each */
	int fault;            /* what the relay did beyond this message */
};

/* Which lane a message is in, for transport_lane_capacity(). */
enum transport_lane {
	TRANSPORT_LANE_BOOKING,
	TRANSPORT_LANE_BULK,
};

/* Called once per submitted message on the loop thread; the callee owns
 * m from then on (free with transport_msg_free()). */
typedef void (*transport_done_cb)(struct transport_msg *m, void *arg);

struct transport;

/*
 * Creates the transport named by cfg->transport. done is called for each
 * finished message. Returns NULL with *err (caller frees) on failure,
 * e.g. an unreadable password file or a Maildir that cannot be created.
 */
struct transport *transport_new(uv_loop_t *loop, const struct cfg *cfg,
    transport_done_cb done, void *arg, char **err);

/* Takes m (its data and rcpt set). 0, or a negative errno if the
 * transport is closing or full, in which case m stays the caller's. */
int transport_submit(struct transport *t, struct transport_msg *m);

/* How many more messages submit() takes now (0 while rate-limited). */
unsigned transport_capacity(const struct transport *t);
/* How many more messages of lane submit() takes now: none while no
 * relay takes the lane; bulk mail leaves room for booking mail. A
 * transport without lanes answers transport_capacity(). */
unsigned transport_lane_capacity(
    const struct transport *t, enum transport_lane lane);
/* Messages submitted whose done callback has not run yet. */
unsigned transport_inflight(const struct transport *t);

/*
 * Stops taking messages, lets those in flight finish (bounded by the
 * configured timeout; unfinished ones come back as TRANSPORT_DEFER), then
 * frees the transport and calls closed(arg) on the loop thread.
 */
void transport_close(struct transport *t, void (*closed)(void *arg), void *arg);

/*
 * Crash safety: once held, a connection whose server accepted a message
 * does not end another message's data until the caller says, with
 * transport_committed(), that every outcome handed to it so far is in
 * the database (or the acceptance is in the sent log: see
 * transport_log_sent()). A crash then repeats at most one message per
 * connection. Both are no-ops for transports that need no such care.
 */
void transport_hold_until_committed(struct transport *t);
void transport_committed(struct transport *t);

/* True when an acceptance holds its connection until the caller commits
 * (held, and no sent log takes the acceptances): the caller then
 * commits outcomes as they come rather than in batches. */
bool transport_waits_for_commits(const struct transport *t);

/*
 * With the hold on: records each message the server accepts in the sent
 * log of database (sentlog.h) before the connection ends another
 * message's data, so that the connection need not wait for the commit;
 * the log is replayed at the next start (sentlog_replay()). Only an
 * acceptance the log failed to record is then held for the commit.
 * Call before the first submit. 0 (also for a transport that needs no
 * log), or -errno with *err (caller frees) if the log cannot be opened:
 * the hold alone then keeps the crash bound.
 */
int transport_log_sent(struct transport *t, const char *database, char **err);

/* What one relay looks like, for the relay callback and status. */
struct transport_relay {
	const char *name;     /* "smtp", "smtp.backup" */
	unsigned position;    /* 0 for [smtp], in the order written */
	const char *state;    /* "up", "down", "throttled", "paused", "quota" */
	bool paused[2];       /* the lanes paused (booking, bulk) */
	const char *cause;    /* why it is not up, or NULL */
	time_t since;         /* in the state since */
	time_t next_try;      /* when that may change by itself, or 0 */
	int64_t quota;        /* messages per quota_window; -1: no quota */
	int64_t quota_window; /* seconds */
	int64_t quota_left;   /* -1: no quota */
};

/*
 * changed(info, arg) is called on the loop thread when a relay changes
 * state, and more messages may then be taken: the caller should look at
 * the capacity again (transport_relay_get() gives the states before any
 * change). info's
 * strings are the transport's, valid during the call. A transport
 * without relays never calls it.
 */
void transport_set_relay_cb(struct transport *t,
    void (*changed)(const struct transport_relay *info, void *arg), void *arg);

/* The relays, for status: how many there are, and the i-th (0 or
 * -ENOENT). Transports without relays have none. */
unsigned transport_relay_count(const struct transport *t);
int transport_relay_get(
    const struct transport *t, unsigned i, struct transport_relay *out);

/*
 * The caller found that a refusal of relay is about the sender, not the
 * recipient (cause, e.g. "5.7.515 authentication"): pauses that lane of
 * the relay (loudly logged), which is probed with one message of the
 * lane after a backoff. Unknown relays are ignored. True if the lane
 * was not paused before (the refusal that paused it, not one of those
 * in flight with it, nor a probe).
 */
bool transport_pause(struct transport *t, const char *relay,
    enum transport_lane lane, const char *cause);

/* n messages the relay accepted in the minute starting at minute (unix
 * time), before this transport started: counted against its quota. */
void transport_note_usage(
    struct transport *t, const char *relay, time_t minute, unsigned n);

struct transport_msg *transport_msg_new(void);
void transport_msg_free(struct transport_msg *m);

#endif
