/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_history: `familymail history ADDRESS|REFERENCE [--json]`:
 * everything that happened to an address or a booking, oldest first,
 * read from the events table (events.h): each message queued, sent,
 * deferred, failed or held; bounces and complaints with the report
 * they came in; unsubscribes with how they were asked for;
 * suppressions and who lifted them; resends, exports, an erasure. It
 * answers "did Sarah get her confirmation?" and "why did this address
 * stop getting the digest?" in one command.
 *
 * Beside the events it shows what the website's own rows say and when
 * (a booking made, a sign-up), marked with the source "website": those
 * rows are not familymail's, and are read, never copied. A booking's
 * history also holds what happened to its delegate's address as a
 * whole (suppressed, unsuppressed, erased), since that decides whether
 * its mail goes out. It changes nothing.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "cmd/cmd_table.h"
#include "db.h"
#include "log.h"
#include "suppress.h"
#include "util.h"

enum {
	CMD_HISTORY_AT,
	CMD_HISTORY_EVENT,
	CMD_HISTORY_KIND,
	CMD_HISTORY_ADDRESS,
	CMD_HISTORY_BOOKING,
	CMD_HISTORY_SOURCE,
	CMD_HISTORY_DETAIL,
	CMD_HISTORY_BOOKING_ID,
	CMD_HISTORY_MESSAGE_ID,
	CMD_HISTORY_N_JSON,
};

static const struct cmd_table_column cmd_history_json_cols[] = {
	[CMD_HISTORY_AT] = { "at", "", 0, false },
	[CMD_HISTORY_EVENT] = { "event", "", 0, false },
	[CMD_HISTORY_KIND] = { "kind", "", 0, false },
	[CMD_HISTORY_ADDRESS] = { "address", "", 0, false },
	[CMD_HISTORY_BOOKING] = { "booking", "", 0, false },
	[CMD_HISTORY_SOURCE] = { "source", "", 0, false },
	[CMD_HISTORY_DETAIL] = { "detail", "", 0, false },
	[CMD_HISTORY_BOOKING_ID] = { "booking_id", "", 0, false },
	[CMD_HISTORY_MESSAGE_ID] = { "message_id", "", 0, false },
};

/* On a terminal the column that is the same on every line (the address
 * of an address's history) is left out: see cmd_history_text_cols(). */
static const struct cmd_table_column cmd_history_text_cols[] = {
	{ "at", "WHEN", 0, false },
	{ "event", "EVENT", 0, false },
	{ "kind", "KIND", 20, false },
	{ "other", "", 32, false },
	{ "source", "SOURCE", 0, false },
	{ "detail", "DETAIL", 0, false },
};

/*
 * One statement for both forms: ?1 the address (or the delegate's of
 * the booking), ?2 its erased form (suppress_hash()) or NULL, ?3 the
 * booking id or NULL. Columns: at, event, kind, address, reference,
 * booking_id, message_id, source, detail, the course's start and
 * title (for a booking made), the id (order among equal times).
 */
static const char cmd_history_sql[] =
    "SELECT * FROM ("
    " SELECT e.at, e.event, e.kind, e.address, b.reference, e.booking_id,"
    " e.message_id, e.source, e.detail, NULL AS starts, NULL AS title,"
    " e.id AS n FROM events e LEFT JOIN bookings b ON b.id = e.booking_id"
    " WHERE ?3 IS NULL AND (e.address = ?1 OR e.address = ?2)"
    " UNION ALL"
    " SELECT e.at, e.event, e.kind, e.address, b.reference, e.booking_id,"
    " e.message_id, e.source, e.detail, NULL, NULL, e.id"
    " FROM events e LEFT JOIN bookings b ON b.id = e.booking_id"
    " WHERE ?3 IS NOT NULL AND e.booking_id = ?3"
    " UNION ALL"
    /* The delegate's address as a whole, in a booking's history. */
    " SELECT e.at, e.event, e.kind, e.address, NULL, NULL, NULL, e.source,"
    " e.detail, NULL, NULL, e.id FROM events e"
    " WHERE ?3 IS NOT NULL AND e.booking_id IS NULL"
    " AND e.message_id IS NULL"
    " AND e.event IN ('suppressed', 'unsuppressed', 'erased')"
    " AND (e.address = ?1 OR e.address = ?2)"
    " UNION ALL"
    /* The website's rows: a booking made, a sign-up. */
    " SELECT b.created_at, 'booked', NULL, d.email, b.reference, b.id,"
    " NULL, 'website', CASE b.status WHEN 'cancelled'"
    " THEN 'now cancelled' END, c.starts_at, c.title, 0"
    " FROM bookings b JOIN delegates d ON d.id = b.delegate_id"
    " LEFT JOIN courses c ON c.id = b.course_id"
    " WHERE (?3 IS NULL AND d.email = ?1) OR b.id = ?3"
    " UNION ALL"
    " SELECT s.created_at, 'subscribed', NULL, s.email, NULL, NULL, NULL,"
    " 'website', s.frequency || ' digest, now ' || s.status, NULL, NULL, 0"
    " FROM subscribers s WHERE ?3 IS NULL AND s.email = ?1"
    " AND NOT EXISTS (SELECT 1 FROM events x WHERE x.address = ?1"
    "   AND x.event = 'subscribed')"
    ") ORDER BY coalesce(unixepoch(at), 0), n";

struct cmd_history_opts {
	const char *name;
	bool json;
	bool address; /* name is an address, not a booking */
};

static int
cmd_history_usage(void)
{
	fprintf(
	    stderr, "usage: familymail history ADDRESS|REFERENCE [--json]\n");
	return CMD_EX_USAGE;
}

static const char *
cmd_history_col(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* The detail of a booking made: the course and when it starts. */
static char *
cmd_history_booked(sqlite3_stmt *st)
{
	const char *title = cmd_history_col(st, 10);
	const char *starts = cmd_history_col(st, 9);
	const char *also = cmd_history_col(st, 8);
	char when[64] = "";
	time_t t;

	if (starts != NULL && clock_parse_iso(starts, &t) == 0)
		clock_format_local(t, CLOCK_LONG, when, sizeof(when));
	return xasprintf("%s%s%s%s%s%s", title != NULL ? title : "a course",
	    when[0] != '\0' ? ", " : "", when, also != NULL ? " (" : "",
	    also != NULL ? also : "", also != NULL ? ")" : "");
}

static void
cmd_history_opt_int(struct cmd_table *t, size_t col, sqlite3_stmt *st, int scol)
{
	if (sqlite3_column_type(st, scol) != SQLITE_NULL)
		cmd_table_set_int(t, col, sqlite3_column_int64(st, scol));
}

static void
cmd_history_row(
    struct cmd_table *t, sqlite3_stmt *st, const struct cmd_history_opts *o)
{
	const char *event = cmd_history_col(st, 1);
	char *booked = NULL;
	const char *detail = cmd_history_col(st, 8);

	if (event != NULL && strcmp(event, "booked") == 0) {
		booked = cmd_history_booked(st);
		detail = booked;
	}
	cmd_table_add_row(t);
	cmd_table_set_time(t, CMD_HISTORY_AT, cmd_history_col(st, 0));
	cmd_table_set_text(t, CMD_HISTORY_EVENT, event);
	cmd_table_set_text(t, CMD_HISTORY_KIND, cmd_history_col(st, 2));
	if (o->json) {
		cmd_table_set_text(
		    t, CMD_HISTORY_ADDRESS, cmd_history_col(st, 3));
		cmd_table_set_text(
		    t, CMD_HISTORY_BOOKING, cmd_history_col(st, 4));
		cmd_table_set_text(
		    t, CMD_HISTORY_SOURCE, cmd_history_col(st, 7));
		cmd_table_set_text(t, CMD_HISTORY_DETAIL, detail);
		cmd_history_opt_int(t, CMD_HISTORY_BOOKING_ID, st, 5);
		cmd_history_opt_int(t, CMD_HISTORY_MESSAGE_ID, st, 6);
	} else {
		/* An address's history names the booking; a booking's, the
		 * address (it may have changed). */
		cmd_table_set_text(
		    t, 3, cmd_history_col(st, o->address ? 4 : 3));
		cmd_table_set_text(t, 4, cmd_history_col(st, 7));
		cmd_table_set_text(t, 5, detail);
	}
	free(booked);
}

static int
cmd_history_parse(int argc, char **argv, struct cmd_history_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		if (ch != 'j')
			return cmd_history_usage();
		o->json = true;
	}
	if (optind + 1 != argc || argv[optind][0] == '\0')
		return cmd_history_usage();
	o->name = argv[optind];
	o->address = strchr(o->name, '@') != NULL;
	return 0;
}

/* For a booking: its id into *id and its delegate's address into
 * *address (newly allocated). 0, or an exit status after saying why. */
static int
cmd_history_booking(sqlite3 *db, const char *name, int64_t *id, char **address)
{
	sqlite3_stmt *st;
	int ret;

	ret = cmd_find_booking(db, name, id, NULL);
	if (ret == -ENOENT) {
		fprintf(stderr,
		    "familymail: history: no booking with reference (or id) "
		    "'%s'; an address has an @\n",
		    name);
		return 1;
	}
	if (ret != 0 ||
	    db_prepare(db,
		"SELECT d.email FROM bookings b JOIN delegates d"
		" ON d.id = b.delegate_id WHERE b.id = ?1",
		&st) != 0) {
		fprintf(
		    stderr, "familymail: history: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_bind_int64(st, 1, *id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*address = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return 0;
}

int
cmd_history(int argc, char **argv, const char *config_path)
{
	struct cmd_history_opts o = { 0 };
	char hash[SUPPRESS_HASH_LEN], *address = NULL, *secret = NULL;
	struct cmd_table_column cols[UTIL_ARRAY_LEN(cmd_history_text_cols)];
	struct cmd_table *t = NULL;
	sqlite3_stmt *st = NULL;
	struct cfg *cfg;
	sqlite3 *db = NULL;
	int64_t booking = 0;
	int rc, code;

	code = cmd_history_parse(argc, argv, &o);
	if (code != 0)
		return code;
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	code = 1;
	log_init(LOG_LEVEL_WARNING);
	clock_set_timezone(cfg->timezone);
	db = cmd_open_db(cfg);
	if (db == NULL)
		goto out;
	if (o.address)
		address = xstrdup(o.name);
	else if ((code = cmd_history_booking(db, o.name, &booking, &address)) !=
	    0)
		goto out;
	code = 1;
	/* An erased address is on record only as its hash. */
	secret = cmd_read_secret(cfg, "history", NULL);
	if (secret != NULL && address != NULL)
		suppress_hash(secret, strlen(secret), address, hash);
	if (db_prepare(db, cmd_history_sql, &st) != 0)
		goto out;
	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	if (secret != NULL && address != NULL)
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	if (booking != 0)
		sqlite3_bind_int64(st, 3, booking);
	memcpy(cols, cmd_history_text_cols, sizeof(cols));
	cols[3].key = o.address ? "booking" : "address";
	cols[3].title = o.address ? "BOOKING" : "ADDRESS";
	t = o.json ? cmd_table_new(cmd_history_json_cols, CMD_HISTORY_N_JSON)
		   : cmd_table_new(cols, UTIL_ARRAY_LEN(cols));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cmd_history_row(t, st, &o);
	if (rc != SQLITE_DONE) {
		fprintf(
		    stderr, "familymail: history: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (cmd_table_rows(t) == 0) {
		if (!o.json)
			printf("nothing recorded for %s\n", o.name);
		code = 0;
		goto out;
	}
	if (o.json ? cmd_table_print_json_lines(t, stdout) != 0
		   : cmd_table_print(t, stdout, false) != 0)
		goto out;
	code = 0;
out:
	cmd_free_secret(secret);
	free(address);
	sqlite3_finalize(st);
	cmd_table_free(t);
	db_close(db);
	cfg_free(cfg);
	return code;
}
