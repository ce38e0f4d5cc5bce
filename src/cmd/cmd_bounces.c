/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_bounces: `familymail bounces [--since TIME] [--to ADDR]
 * [--limit N] [--json]`: the bounces processed, newest first, each with
 * its class (hard or soft), reason, status code, the diagnostic the
 * remote server gave, and the message it answers. With --to it answers
 * "why did this address stop getting the digest?", together with the
 * suppression that bounce led to, if any. It changes nothing.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "cmd/cmd_table.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "suppress.h"
#include "util.h"

#define CMD_BOUNCES_LIMIT 50

enum {
	CMD_BOUNCES_RECEIVED,
	CMD_BOUNCES_RECIPIENT,
	CMD_BOUNCES_CLASS,
	CMD_BOUNCES_REASON,
	CMD_BOUNCES_STATUS,
	CMD_BOUNCES_MESSAGE,
	CMD_BOUNCES_DIAGNOSTIC,
	CMD_BOUNCES_N_TEXT,
	CMD_BOUNCES_ID = CMD_BOUNCES_N_TEXT,
	CMD_BOUNCES_ACTION,
	CMD_BOUNCES_KIND,
	CMD_BOUNCES_N_JSON,
};

static const struct cmd_table_column cmd_bounces_cols[] = {
	[CMD_BOUNCES_RECEIVED] = { "received_at", "RECEIVED", 0, false },
	[CMD_BOUNCES_RECIPIENT] = { "recipient", "RECIPIENT", 32, false },
	[CMD_BOUNCES_CLASS] = { "class", "CLASS", 0, false },
	[CMD_BOUNCES_REASON] = { "reason", "REASON", 16, false },
	[CMD_BOUNCES_STATUS] = { "status", "STATUS", 0, false },
	[CMD_BOUNCES_MESSAGE] = { "message", "MESSAGE", 30, false },
	[CMD_BOUNCES_DIAGNOSTIC] = { "diagnostic", "DIAGNOSTIC", 0, false },
	[CMD_BOUNCES_ID] = { "id", "ID", 0, false },
	[CMD_BOUNCES_ACTION] = { "action", "ACTION", 0, false },
	[CMD_BOUNCES_KIND] = { "kind", "KIND", 0, false },
};

static const char cmd_bounces_sql[] =
    "SELECT b.received_at, b.recipient, b.class, b.reason, b.status,"
    " b.message_id, m.kind, b.diagnostic, b.id, b.action, b.kind"
    " FROM bounces b LEFT JOIN messages m ON m.id = b.message_id"
    " WHERE (?1 IS NULL OR unixepoch(b.received_at) >= ?1)"
    " AND (?2 IS NULL OR b.recipient = ?2)"
    " ORDER BY unixepoch(b.received_at) DESC, b.id DESC LIMIT ?3";

static int
cmd_bounces_usage(void)
{
	fprintf(stderr,
	    "usage: familymail bounces [--since TIME] [--to ADDR] "
	    "[--limit N] [--json]\n");
	return CMD_EX_USAGE;
}

static const char *
cmd_bounces_col(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* --since: an ISO-8601 time ("2026-11-01", "2026-11-01T09:00:00Z") or a
 * duration back from now ("7d", "12h"). */
static int
cmd_bounces_parse_since(const char *s, time_t *since)
{
	int64_t secs;

	if (clock_parse_iso(s, since) == 0)
		return 0;
	if (cfg_parse_duration(s, &secs) == 0) {
		*since = clock_now() - (time_t)secs;
		return 0;
	}
	return -1;
}

static void
cmd_bounces_row(struct cmd_table *t, sqlite3_stmt *st, bool json)
{
	const char *kind = cmd_bounces_col(st, 6);
	int64_t mid = sqlite3_column_int64(st, 5);

	cmd_table_add_row(t);
	cmd_table_set_time(t, CMD_BOUNCES_RECEIVED, cmd_bounces_col(st, 0));
	cmd_table_set_text(t, CMD_BOUNCES_RECIPIENT, cmd_bounces_col(st, 1));
	cmd_table_set_text(t, CMD_BOUNCES_CLASS, cmd_bounces_col(st, 2));
	cmd_table_set_text(t, CMD_BOUNCES_REASON, cmd_bounces_col(st, 3));
	cmd_table_set_text(t, CMD_BOUNCES_STATUS, cmd_bounces_col(st, 4));
	if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
		char *text = xasprintf("%s #%lld",
		    kind != NULL ? kind : "(deleted)", (long long)mid);

		cmd_table_set_json(t, CMD_BOUNCES_MESSAGE, text,
		    json_pack(
			"{s:I,s:s?}", "id", (json_int_t)mid, "kind", kind));
		free(text);
	}
	cmd_table_set_text(t, CMD_BOUNCES_DIAGNOSTIC, cmd_bounces_col(st, 7));
	if (!json)
		return;
	cmd_table_set_int(t, CMD_BOUNCES_ID, sqlite3_column_int64(st, 8));
	cmd_table_set_text(t, CMD_BOUNCES_ACTION, cmd_bounces_col(st, 9));
	cmd_table_set_text(t, CMD_BOUNCES_KIND, cmd_bounces_col(st, 10));
}

int
cmd_bounces(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "to", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since_arg = NULL, *to = NULL;
	struct suppress_entry se;
	struct cmd_table *t = NULL;
	sqlite3_stmt *st = NULL;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	long limit = CMD_BOUNCES_LIMIT;
	bool json = false, more = false;
	time_t since = 0;
	int ch, rc, code = 1;

	while (
	    (ch = getopt_long(argc, argv, "s:t:n:j", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			since_arg = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'n':
			if (util_parse_long(optarg, 0, INT32_MAX, &limit) !=
			    0) {
				fprintf(stderr,
				    "familymail: bounces: --limit wants a "
				    "number (0 for all), not '%s'\n",
				    optarg);
				return CMD_EX_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		default:
			return cmd_bounces_usage();
		}
	}
	if (optind != argc)
		return cmd_bounces_usage();
	if (since_arg != NULL &&
	    cmd_bounces_parse_since(since_arg, &since) != 0) {
		fprintf(stderr,
		    "familymail: bounces: --since wants a time "
		    "(2026-11-01, 2026-11-01T09:00:00Z) or a duration "
		    "(7d, 12h), not '%s'\n",
		    since_arg);
		return CMD_EX_USAGE;
	}
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	clock_set_timezone(cfg->timezone);
	if (db_open(cfg->database, false, &db) != 0 ||
	    migrate_version(db) != migrate_latest()) {
		fprintf(stderr,
		    "familymail: database %s is missing or not migrated "
		    "(run familymail migrate)\n",
		    cfg->database);
		goto out;
	}
	if (db_prepare(db, cmd_bounces_sql, &st) != 0)
		goto out;
	if (since_arg != NULL)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit + 1 : -1);
	t = cmd_table_new(
	    cmd_bounces_cols, json ? CMD_BOUNCES_N_JSON : CMD_BOUNCES_N_TEXT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (limit > 0 && cmd_table_rows(t) == (size_t)limit) {
			more = true;
			break;
		}
		cmd_bounces_row(t, st, json);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fprintf(
		    stderr, "familymail: bounces: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (json) {
		if (cmd_table_print(t, stdout, true) != 0)
			goto out;
	} else if (cmd_table_rows(t) == 0) {
		printf("no bounces%s%s\n", to != NULL ? " for " : "",
		    to != NULL ? to : "");
	} else if (cmd_table_print(t, stdout, false) != 0) {
		goto out;
	}
	/* For one address, what the bounces led to. */
	if (!json && to != NULL && suppress_find(db, to, &se) == 0) {
		printf("\n%s is suppressed (%s since %s%s%s)\n", se.email,
		    suppress_reason_name(se.reason), se.created_at,
		    se.detail != NULL ? ": " : "",
		    se.detail != NULL ? se.detail : "");
		suppress_entry_fini(&se);
	}
	if (more)
		fprintf(stderr,
		    "familymail: bounces: showing the newest %ld; --limit N "
		    "shows more (0: all)\n",
		    limit);
	code = 0;
out:
	sqlite3_finalize(st);
	cmd_table_free(t);
	db_close(db);
	cfg_free(cfg);
	return code;
}
