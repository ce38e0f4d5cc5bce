/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * compose: turns one outbox message into the bytes that are sent. It
 * reads the records the message is about as they are now (a reminder
 * carries today's venue), decides whether the message still applies,
 * builds the template context, renders subject, text and HTML, and
 * builds the MIME message with its envelope. It does not send.
 */
#ifndef FM_COMPOSE_H
#define FM_COMPOSE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

struct cfg;
struct compose_cache;
struct dkimsign;
struct outbox_item;
struct tmpl_set;
struct transport_msg;

struct compose_env {
	sqlite3 *db;
	const struct cfg *cfg;
	const struct tmpl_set *tmpls;
	const char *secret; /* token secret, may be NULL */
	size_t secret_len;
	bool preview; /* build even if it no longer applies or is
			 suppressed (familymail preview) */
	/* A test message (familymail send-test): "[TEST]" before the
	 * subject, and its links and List-Unsubscribe carry test tokens
	 * (token purpose "test:unsubscribe", ...), which the pages and the
	 * bounce reader recognise and act on for nobody. */
	bool test;
	/* Optional: statements kept prepared on db, and what every
	 * message of one digest shares (see compose_cache_new()). */
	struct compose_cache *cache;
	/* Optional: signs every message built (DKIM); NULL: unsigned. */
	const struct dkimsign *dkim;
};

/*
 * A cache for composing many messages on one connection, used by one
 * thread at a time: the statements compose runs, prepared once, and
 * the posts of the last digest period composed, so that a digest's
 * 100,000 copies query and convert its posts once per read
 * transaction, not once each; and the contexts' sender and organisation,
 * made once from cfg (the env's cfg wherever the cache serves). Call
 * compose_cache_forget() whenever the read transaction ends (the posts
 * may change after it); the statements are kept until
 * compose_cache_free(), which must come before db's sqlite3_close().
 */
struct compose_cache *compose_cache_new(sqlite3 *db, const struct cfg *cfg);
void compose_cache_forget(struct compose_cache *c);
void compose_cache_free(struct compose_cache *c);

/* compose_message() results besides 0 and negative errno values. */
#define COMPOSE_CANCELLED  1 /* the reason for the message went away */
#define COMPOSE_SUPPRESSED 2 /* the recipient is suppressed */

/*
 * Fills out (envelope, recipient, data, message_id) for it. Returns 0;
 * COMPOSE_CANCELLED or COMPOSE_SUPPRESSED with *why the reason; or a
 * negative errno with *why an explanation that names the record. *why
 * is newly allocated or NULL; the caller frees it.
 */
int compose_message(const struct compose_env *env, const struct outbox_item *it,
    time_t now, struct transport_msg *out, char **why);

/*
 * The template context for a message of kind about a booking or a
 * subscriber (0 for the one not used), as compose_message() would build
 * it. NULL with *why (newly allocated) if the record is missing. The
 * caller owns the reference.
 */
json_t *compose_context(const struct compose_env *env, const char *kind,
    int64_t booking_id, int64_t subscriber_id, const char *detail, char **why);

#endif
