/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_queue: `familymail queue [--state S] [--kind K] [--to ADDR]
 * [--booking REFERENCE] [--limit N] [--json]`: what was sent to whom and when,
 * with the server's reply, newest first. It answers "did Sarah get her
 * confirmation?" in one command (--to sarah@...), reading the database
 * the daemon uses; it changes nothing.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "cmd/cmd_table.h"
#include "db.h"
#include "kind.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "send/compose.h"
#include "util.h"

#define CMD_QUEUE_LIMIT 50 /* rows shown unless --limit says otherwise */

enum {
	CMD_QUEUE_ID,
	CMD_QUEUE_KIND,
	CMD_QUEUE_RECIPIENT,
	CMD_QUEUE_STATE,
	CMD_QUEUE_ATTEMPTS,
	CMD_QUEUE_CREATED,
	CMD_QUEUE_UPDATED,
	CMD_QUEUE_REPLY,
	CMD_QUEUE_SENT_AT,
	CMD_QUEUE_NEXT,
	CMD_QUEUE_CODE,
	CMD_QUEUE_SMTP_REPLY,
	CMD_QUEUE_ERROR,
	CMD_QUEUE_BOOKING,
	CMD_QUEUE_SUBSCRIBER,
	CMD_QUEUE_DETAIL,
	CMD_QUEUE_MESSAGE_ID,
	CMD_QUEUE_N_TEXT = CMD_QUEUE_SENT_AT, /* columns shown on a terminal */
	CMD_QUEUE_N_JSON = CMD_QUEUE_MESSAGE_ID + 1,
};

static const struct cmd_table_column cmd_queue_text_cols[] = {
	[CMD_QUEUE_ID] = { "id", "ID", 0, true },
	[CMD_QUEUE_KIND] = { "kind", "KIND", 20, false },
	[CMD_QUEUE_RECIPIENT] = { "recipient", "RECIPIENT", 32, false },
	[CMD_QUEUE_STATE] = { "state", "STATE", 0, false },
	[CMD_QUEUE_ATTEMPTS] = { "attempts", "TRIES", 0, true },
	[CMD_QUEUE_CREATED] = { "created_at", "CREATED", 0, false },
	[CMD_QUEUE_UPDATED] = { "updated_at", "SENT/UPDATED", 0, false },
	[CMD_QUEUE_REPLY] = { "reply", "REPLY / LAST ERROR", 0, false },
};

/* The JSON form keeps every column separate, under its database name. */
static const struct cmd_table_column cmd_queue_json_cols[] = {
	[CMD_QUEUE_ID] = { "id", "", 0, false },
	[CMD_QUEUE_KIND] = { "kind", "", 0, false },
	[CMD_QUEUE_RECIPIENT] = { "recipient", "", 0, false },
	[CMD_QUEUE_STATE] = { "state", "", 0, false },
	[CMD_QUEUE_ATTEMPTS] = { "attempts", "", 0, false },
	[CMD_QUEUE_CREATED] = { "created_at", "", 0, false },
	[CMD_QUEUE_UPDATED] = { "updated_at", "", 0, false },
	[CMD_QUEUE_REPLY] = { "reply", "", 0, false },
	[CMD_QUEUE_SENT_AT] = { "sent_at", "", 0, false },
	[CMD_QUEUE_NEXT] = { "next_attempt_at", "", 0, false },
	[CMD_QUEUE_CODE] = { "smtp_code", "", 0, false },
	[CMD_QUEUE_SMTP_REPLY] = { "smtp_reply", "", 0, false },
	[CMD_QUEUE_ERROR] = { "last_error", "", 0, false },
	[CMD_QUEUE_BOOKING] = { "booking_id", "", 0, false },
	[CMD_QUEUE_SUBSCRIBER] = { "subscriber_id", "", 0, false },
	[CMD_QUEUE_DETAIL] = { "detail", "", 0, false },
	[CMD_QUEUE_MESSAGE_ID] = { "message_id", "", 0, false },
};

/* Selected columns, in this order (see cmd_queue_row()). */
static const char cmd_queue_sql[] =
    "SELECT id, kind, recipient, state, attempts, created_at, updated_at,"
    " sent_at, next_attempt_at, smtp_code, smtp_reply, last_error,"
    " booking_id, subscriber_id, detail, message_id FROM messages"
    " WHERE (?1 IS NULL OR state = ?1)"
    " AND (?2 IS NULL OR kind = ?2)"
    " AND (?3 IS NULL OR recipient = ?3)"
    " AND (?4 IS NULL OR booking_id = ?4)"
    " ORDER BY id DESC LIMIT ?5";

struct cmd_queue_opts {
	const char *state;
	const char *kind;
	const char *to;
	const char *booking; /* reference or id, as given */
	long limit;
	bool json;
};

static int
cmd_queue_usage(void)
{
	fprintf(stderr,
	    "usage: familymail queue [--state S] [--kind K] "
	    "[--to ADDR] [--booking REFERENCE] [--limit N] [--json]\n");
	return CMD_EX_USAGE;
}

static const char *
cmd_queue_col(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static void
cmd_queue_set_opt_int(
    struct cmd_table *t, size_t col, sqlite3_stmt *st, int scol)
{
	if (sqlite3_column_type(st, scol) == SQLITE_NULL)
		cmd_table_set_text(t, col, NULL);
	else
		cmd_table_set_int(t, col, sqlite3_column_int64(st, scol));
}

/* What the REPLY column says: the server's reply for a sent message,
 * the last error for one that is not, and when a deferred one is tried
 * next. Newly allocated. */
static char *
cmd_queue_reply_text(sqlite3_stmt *st)
{
	const char *state = cmd_queue_col(st, 3);
	const char *next = cmd_queue_col(st, 8);
	const char *reply = cmd_queue_col(st, 10);
	const char *error = cmd_queue_col(st, 11);
	int code = sqlite3_column_int(st, 9);
	char when[32] = "";
	time_t t;
	struct buf b;

	buf_init(&b);
	if (strcmp(state, "queued") == 0 && sqlite3_column_int(st, 4) > 0 &&
	    next != NULL && clock_parse_iso(next, &t) == 0) {
		struct tm tm;

		if (localtime_r(&t, &tm) != NULL &&
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) > 0)
			buf_printf(&b, "next try %s: ", when);
	}
	if (strcmp(state, "sent") != 0 && error != NULL && *error != '\0') {
		buf_puts(&b, error);
	} else if (reply != NULL && *reply != '\0') {
		/* Replies are kept whole ("250 2.0.0 Ok: ..."); a reply
		 * without its code gets it in front. */
		if (code != 0 && strtol(reply, NULL, 10) != code)
			buf_printf(&b, "%d ", code);
		buf_puts(&b, reply);
	} else if (code != 0) {
		buf_printf(&b, "%d", code);
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_take(&b);
}

static void
cmd_queue_row(struct cmd_table *t, sqlite3_stmt *st, bool json)
{
	const char *sent = cmd_queue_col(st, 7);
	char *reply = cmd_queue_reply_text(st);

	cmd_table_add_row(t);
	cmd_table_set_int(t, CMD_QUEUE_ID, sqlite3_column_int64(st, 0));
	cmd_table_set_text(t, CMD_QUEUE_KIND, cmd_queue_col(st, 1));
	cmd_table_set_text(t, CMD_QUEUE_RECIPIENT, cmd_queue_col(st, 2));
	cmd_table_set_text(t, CMD_QUEUE_STATE, cmd_queue_col(st, 3));
	cmd_table_set_int(t, CMD_QUEUE_ATTEMPTS, sqlite3_column_int64(st, 4));
	cmd_table_set_time(t, CMD_QUEUE_CREATED, cmd_queue_col(st, 5));
	/* On a terminal: when it was sent, or else last changed. */
	cmd_table_set_time(t, CMD_QUEUE_UPDATED,
	    !json && sent != NULL ? sent : cmd_queue_col(st, 6));
	cmd_table_set_text(t, CMD_QUEUE_REPLY, reply);
	free(reply);
	if (!json)
		return;
	cmd_table_set_text(t, CMD_QUEUE_SENT_AT, sent);
	cmd_table_set_text(t, CMD_QUEUE_NEXT, cmd_queue_col(st, 8));
	cmd_queue_set_opt_int(t, CMD_QUEUE_CODE, st, 9);
	cmd_table_set_text(t, CMD_QUEUE_SMTP_REPLY, cmd_queue_col(st, 10));
	cmd_table_set_text(t, CMD_QUEUE_ERROR, cmd_queue_col(st, 11));
	cmd_queue_set_opt_int(t, CMD_QUEUE_BOOKING, st, 12);
	cmd_queue_set_opt_int(t, CMD_QUEUE_SUBSCRIBER, st, 13);
	cmd_table_set_text(t, CMD_QUEUE_DETAIL, cmd_queue_col(st, 14));
	cmd_table_set_text(t, CMD_QUEUE_MESSAGE_ID, cmd_queue_col(st, 15));
}

static int
cmd_queue_parse(int argc, char **argv, struct cmd_queue_opts *o)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'k' },
		{ "to", required_argument, NULL, 't' },
		{ "booking", required_argument, NULL, 'b' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:k:t:b:n:j", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			if (outbox_state_parse(optarg) < 0) {
				fprintf(stderr,
				    "familymail: queue: unknown state '%s' "
				    "(queued, sending, sent, failed, "
				    "suppressed, cancelled)\n",
				    optarg);
				return CMD_EX_USAGE;
			}
			o->state = optarg;
			break;
		case 'k':
			if (kind_find(optarg) == NULL) {
				fprintf(stderr,
				    "familymail: queue: unknown kind '%s' "
				    "(the kinds: %s)\n",
				    optarg, kind_names(", "));
				return CMD_EX_USAGE;
			}
			o->kind = optarg;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'b':
			o->booking = optarg;
			break;
		case 'n':
			if (util_parse_long(optarg, 0, INT32_MAX, &o->limit) !=
			    0) {
				fprintf(stderr,
				    "familymail: queue: --limit wants a "
				    "number (0 for all), not '%s'\n",
				    optarg);
				return CMD_EX_USAGE;
			}
			break;
		case 'j':
			o->json = true;
			break;
		default:
			return cmd_queue_usage();
		}
	}
	if (optind != argc)
		return cmd_queue_usage();
	return 0;
}

int
cmd_queue(int argc, char **argv, const char *config_path)
{
	struct cmd_queue_opts o = { .limit = CMD_QUEUE_LIMIT };
	struct cmd_table *t = NULL;
	sqlite3_stmt *st = NULL;
	struct cfg *cfg;
	sqlite3 *db = NULL;
	int64_t booking = 0;
	bool more = false;
	int rc, code;

	code = cmd_queue_parse(argc, argv, &o);
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
	if (o.booking != NULL &&
	    cmd_find_booking(db, o.booking, &booking, NULL) != 0) {
		fprintf(stderr,
		    "familymail: queue: no booking with reference (or id) "
		    "'%s'\n",
		    o.booking);
		goto out;
	}
	if (db_prepare(db, cmd_queue_sql, &st) != 0)
		goto out;
	sqlite3_bind_text(st, 1, o.state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, o.kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, o.to, -1, SQLITE_STATIC);
	if (booking > 0)
		sqlite3_bind_int64(st, 4, booking);
	/* One row more than shown tells whether there are more. */
	sqlite3_bind_int64(st, 5, o.limit > 0 ? o.limit + 1 : -1);
	t = o.json ? cmd_table_new(cmd_queue_json_cols, CMD_QUEUE_N_JSON)
		   : cmd_table_new(cmd_queue_text_cols, CMD_QUEUE_N_TEXT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (o.limit > 0 && cmd_table_rows(t) == (size_t)o.limit) {
			more = true;
			break;
		}
		cmd_queue_row(t, st, o.json);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fprintf(stderr, "familymail: queue: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (!o.json && cmd_table_rows(t) == 0) {
		printf("no messages match\n");
		code = 0;
		goto out;
	}
	if (cmd_table_print(t, stdout, o.json) != 0)
		goto out;
	if (more)
		fprintf(stderr,
		    "familymail: queue: showing the newest %ld; --limit N "
		    "shows more (0: all)\n",
		    o.limit);
	code = 0;
out:
	sqlite3_finalize(st);
	cmd_table_free(t);
	db_close(db);
	cfg_free(cfg);
	return code;
}
