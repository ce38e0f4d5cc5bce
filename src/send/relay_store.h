/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * relay_store: what the database keeps of the SMTP relays, for the
 * daemon's next start and for those who look from outside (status,
 * /metrics): the relays table (each relay's state as the daemon last
 * knew it: up, down, throttled, paused or quota spent, why, since when,
 * when it tries again, its quota) and relay_usage (the messages each
 * relay took, by the minute, for its quota).
 *
 * The daemon's sender writes it in its own transactions; readers read
 * it as it was at the last commit. It knows nothing of the network
 * (transport_smtp.c, relay.c).
 */
#ifndef FM_RELAY_STORE_H
#define FM_RELAY_STORE_H

#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct buf;
struct transport_relay;

struct relay_store;

/* Prepares the writer's statements on db (migrated). NULL on failure
 * (logged). relay_store_free(NULL) does nothing. */
struct relay_store *relay_store_new(sqlite3 *db);
void relay_store_free(struct relay_store *rs);

/* Forgets every relay (at start, before the configured ones are put
 * again). One statement; the caller holds the transaction. */
int relay_store_clear(struct relay_store *rs);

/* Records r as it is at now. One statement. 0 or a negative errno. */
int relay_store_put(
    struct relay_store *rs, const struct transport_relay *r, time_t now);

/* Adds n messages taken by relay in the minute starting at minute. One
 * statement. */
int relay_store_add_usage(
    struct relay_store *rs, const char *relay, time_t minute, unsigned n);

/* Forgets the usage of minutes before before. */
int relay_store_purge_usage(struct relay_store *rs, time_t before);

/* Calls fn for each minute of usage from since on, oldest first. 0 or
 * a negative errno. */
int relay_store_load_usage(sqlite3 *db, time_t since,
    void (*fn)(const char *relay, time_t minute, unsigned n, void *arg),
    void *arg);

/* A relay as the table has it, for status. */
struct relay_store_row {
	char *name;
	int position;
	char *state; /* "up", "down", "throttled", "paused", "quota" */
	char *lanes; /* the lanes paused, "booking,bulk", or NULL */
	char *cause;
	time_t since;
	time_t next_try;    /* 0: none */
	int64_t quota;      /* -1: none */
	int64_t quota_left; /* -1: no quota */
	time_t updated_at;
};

/* The relays in order, as the daemon last wrote them (now is kept for
 * readers that may count from it): *rows is a new array of *n
 * (relay_store_rows_free()). 0 or a negative errno. */
int relay_store_read(
    sqlite3 *db, time_t now, struct relay_store_row **rows, size_t *n);
void relay_store_rows_free(struct relay_store_row *rows, size_t n);

/* Appends the relay gauges to out (Prometheus text format):
 * familymail_relay_up, familymail_relay_state, familymail_relay_paused
 * and familymail_relay_quota_left. 0 or a negative errno. */
int relay_store_metrics(sqlite3 *db, time_t now, struct buf *out);

#endif
