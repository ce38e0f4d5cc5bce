/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_status: `familymail status [--json]`: the queue by state and kind,
 * the oldest queued message, and the most recent failures, read from the
 * database the daemon uses (safe while it runs: readers do not block it
 * in WAL mode).
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cfg.h"
#include "cmd.h"
#include "db.h"
#include "log.h"
#include "migrate.h"

static const char *
cmd_status_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? (const char *)s : "";
}

int
cmd_status(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *out = NULL, *queue, *failures;
	sqlite3_stmt *st = NULL;
	struct cfg *cfg;
	sqlite3 *db = NULL;
	bool json = false;
	int ch, code = 1;

	while ((ch = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		if (ch != 'j') {
			fprintf(stderr, "usage: familymail status [--json]\n");
			return CMD_EX_USAGE;
		}
		json = true;
	}
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	if (db_open(cfg->database, false, &db) != 0 ||
	    migrate_version(db) != migrate_latest()) {
		fprintf(stderr,
		    "familymail: database %s is missing or not migrated "
		    "(run familymail migrate)\n",
		    cfg->database);
		goto out;
	}
	out = json_object();
	queue = json_array();
	failures = json_array();
	json_object_set_new(out, "queue", queue);
	json_object_set_new(out, "recent_failures", failures);
	if (db_prepare(db,
		"SELECT state, kind, count(*) FROM messages"
		" GROUP BY state, kind ORDER BY state, kind",
		&st) != 0)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(queue,
		    json_pack("{s:s,s:s,s:I}", "state", cmd_status_text(st, 0),
			"kind", cmd_status_text(st, 1), "count",
			(json_int_t)sqlite3_column_int64(st, 2)));
	sqlite3_finalize(st);
	if (db_prepare(db,
		"SELECT min(created_at) FROM messages WHERE state = 'queued'",
		&st) != 0)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		json_object_set_new(out, "oldest_queued",
		    json_string(cmd_status_text(st, 0)));
	sqlite3_finalize(st);
	if (db_prepare(db,
		"SELECT id, kind, recipient, updated_at, coalesce(last_error,"
		" smtp_reply, '') FROM messages WHERE state = 'failed'"
		" ORDER BY updated_at DESC LIMIT 10",
		&st) != 0)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(failures,
		    json_pack("{s:I,s:s,s:s,s:s,s:s}", "id",
			(json_int_t)sqlite3_column_int64(st, 0), "kind",
			cmd_status_text(st, 1), "recipient",
			cmd_status_text(st, 2), "at", cmd_status_text(st, 3),
			"error", cmd_status_text(st, 4)));
	sqlite3_finalize(st);
	st = NULL;
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		size_t i;
		json_t *row;

		printf("%-12s %-22s %8s\n", "STATE", "KIND", "COUNT");
		json_array_foreach(queue, i, row)
			printf("%-12s %-22s %8lld\n",
			    json_string_value(json_object_get(row, "state")),
			    json_string_value(json_object_get(row, "kind")),
			    (long long)json_integer_value(
				json_object_get(row, "count")));
		if (json_object_get(out, "oldest_queued") != NULL)
			printf("\noldest queued: %s\n",
			    json_string_value(
				json_object_get(out, "oldest_queued")));
		if (json_array_size(failures) > 0)
			printf("\nrecent failures:\n");
		json_array_foreach(failures, i, row)
			printf("  %lld %s %s %s: %s\n",
			    (long long)json_integer_value(
				json_object_get(row, "id")),
			    json_string_value(json_object_get(row, "at")),
			    json_string_value(json_object_get(row, "kind")),
			    json_string_value(
				json_object_get(row, "recipient")),
			    json_string_value(json_object_get(row, "error")));
	}
	code = 0;
out:
	sqlite3_finalize(st);
	json_decref(out);
	db_close(db);
	cfg_free(cfg);
	return code;
}
