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
};

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

/* True for the kinds a job knows. */
int compose_kind_known(const char *kind);

#endif
