/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * smtp_conn: one SMTP connection to the relay and the mail transactions
 * on it, used by one thread at a time. libcurl opens the session (TCP,
 * TLS or STARTTLS with certificate checks, EHLO, AUTH); the transaction
 * (MAIL, RCPT, DATA, the dot-stuffed data) is written here over that
 * session, pipelined when the relay offers PIPELINING, and each reply
 * decides the message's outcome. The connection is kept open from
 * message to message and opened afresh after a failure.
 *
 * It is not the transport: it does not queue messages, start threads,
 * limit the rate or write the sent log; transport_smtp.c does, and
 * reaches into a transaction only through the hooks below.
 */
#ifndef FM_SMTP_CONN_H
#define FM_SMTP_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct cfg_relay;
struct smtp_conn;
struct transport_msg;

/* What a message's try says about the relay beyond the message
 * (transport_msg.fault), for the transport to act on. */
enum smtp_conn_fault {
	SMTP_CONN_FAULT_NONE,
	/* No session could be opened (connection, TLS, EHLO, AUTH, a
	 * refusal at the greeting): the message was never tried. */
	SMTP_CONN_FAULT_SESSION,
	/* The relay refuses mail for now: 421 or a refusal of MAIL on a
	 * fresh connection (the message was not tried), or a 4.7.x reply. */
	SMTP_CONN_FAULT_THROTTLED,
	/* The connection failed during the transaction (timeout, lost). */
	SMTP_CONN_FAULT_BROKEN,
	/* The message needs SMTPUTF8, which this relay does not offer. */
	SMTP_CONN_FAULT_UTF8,
};

/* What a connection asks of its owner during a transaction, on the
 * connection's thread, with no lock held. */
struct smtp_conn_hooks {
	/* Before the end of a message's data, the one thing a server
	 * accepts a message on: waits until it may go. false gives up;
	 * the message is then deferred and the connection dropped. */
	bool (*may_end_data)(void *arg);
	/* With PIPELINING, as a message's data is written: the next
	 * message to begin on this connection, or NULL. It comes back as
	 * smtp_conn_send()'s return value. */
	struct transport_msg *(*take_next)(void *arg);
};

/* Initialises libcurl once per process (later calls return the first
 * result). 0, or -1 with *err (caller frees). */
int smtp_conn_global_init(char **err);

/* The relay's timeout in seconds, or the default when it is unset or
 * out of range: every wait of a connection is bounded by it. */
int smtp_conn_timeout(const struct cfg_relay *relay);

/*
 * A connection to relay, not yet open: it opens on the first
 * smtp_conn_send(). password (may be NULL) is copied. It greets the
 * relay with EHLO and relay->ehlo_name, else the host's fully
 * qualified name, else fallback_ehlo (a domain of ours; NULL: the
 * host's short name). index names it in the logs. lock is the owner's:
 * the connection records its socket under it (see smtp_conn_cut()) and
 * libcurl closes the socket under it. hooks is copied; arg is passed to
 * them. NULL with *err (caller frees) if libcurl refuses an option.
 */
struct smtp_conn *smtp_conn_new(const struct cfg_relay *relay,
    const char *fallback_ehlo, const char *password, unsigned index,
    pthread_mutex_t *lock, const struct smtp_conn_hooks *hooks, void *arg,
    char **err);

/* Closes the connection if it is open (QUIT) and frees c, on the thread
 * that used it or once that thread is gone. NULL does nothing. */
void smtp_conn_free(struct smtp_conn *c);

/*
 * Sends m, opening the connection first if it is closed, and fills in
 * m's outcome, code and reply (transport.h). sent says that m's MAIL,
 * RCPT and DATA went out already, pipelined with the data of the message
 * before on this connection, still open. Returns the next message taken
 * through hooks->take_next, or NULL; *next_sent says whether its
 * commands went (then the connection is still open). m stays the
 * caller's.
 *
 * 2xx after the data is TRANSPORT_SENT; a 5xx answering MAIL, RCPT, DATA
 * or the data is TRANSPORT_FAIL (rcpt_rejected for RCPT); a 4xx, a
 * timeout, a connection or TLS failure is TRANSPORT_DEFER, and so is a
 * 5xx to the session (greeting, EHLO, STARTTLS, AUTH) or a 530: those
 * are about the configuration, not the message. m->fault says what the
 * try showed of the relay (enum smtp_conn_fault). A connection that
 * failed, or whose replies are out of step, is dropped.
 *
 * A connection kept from an earlier message is checked before it is
 * used (the relay may have closed it while it was idle), and a refusal
 * that is about the session rather than the message (any 4xx answering
 * MAIL, a 421, a connection found closed at the first reply) sends the
 * message again at once on a new connection, once: a relay's limit of
 * messages per connection costs nothing.
 */
struct transport_msg *smtp_conn_send(
    struct smtp_conn *c, struct transport_msg *m, bool sent, bool *next_sent);

/* True while the connection is open (after a send that kept it). */
bool smtp_conn_is_open(const struct smtp_conn *c);

/* Opens the connection if it is not open (a down relay's probe): 0, or
 * -1 with why (at most size bytes) saying what failed. */
int smtp_conn_probe(struct smtp_conn *c, char *why, size_t size);

/* Ends the connection if it is open: QUIT, and the 221 read (bounded by
 * the timeout). */
void smtp_conn_quit(struct smtp_conn *c);

/*
 * From any thread, with the lock given to smtp_conn_new() held: shuts
 * the connection's socket down if one is open, so that the transfer on
 * it fails at once. True if there was one. A socket number is never
 * shut down after libcurl closed it (and so after it was reused).
 */
bool smtp_conn_cut(struct smtp_conn *c);

#endif
