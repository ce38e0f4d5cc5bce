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
 * This is what callers use; struct transport and the implementations'
 * ops table are in transport_int.h, which only implementations include.
 */
#ifndef FM_TRANSPORT_H
#define FM_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "util.h"

struct cfg;

enum transport_outcome {
	TRANSPORT_SENT,  /* accepted (2xx), or written into the Maildir */
	TRANSPORT_DEFER, /* 4xx, timeout, dropped connection: try again */
	TRANSPORT_FAIL,  /* 5xx or a permanent local error */
};

struct transport_msg {
	int64_t id;          /* messages.id, for logs and the caller */
	char *envelope_from; /* return path (VERP), owned */
	char *rcpt;          /* envelope recipient, owned */
	struct buf data;     /* the whole message, CRLF line endings */
	char *message_id;    /* its Message-ID, owned, for the record */
	void *user;          /* the caller's, untouched */

	/* Filled in by the transport before the done callback. */
	enum transport_outcome outcome;
	int code;           /* SMTP reply code, 0 when there was none */
	char *reply;        /* last reply text or local error, owned, or NULL */
	bool rcpt_rejected; /* the failure answered RCPT TO: a bounce */
	bool unsent;        /* handed back by close, never tried */
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

struct transport_msg *transport_msg_new(void);
void transport_msg_free(struct transport_msg *m);

#endif
