/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_retry: `familymail retry ID... | --failed` puts failed messages
 * (or, named by id, suppressed ones) back in the queue, through
 * outbox_transition() like every change of a message's state, so the
 * daemon sends them at its next pass. It does not send anything itself
 * and does not touch messages that are queued, in flight or sent.
 *
 * A suppressed message whose address is still on the suppression list
 * is refused with the way out (unsuppress first): the sender would only
 * suppress it again.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "suppress.h"
#include "util.h"

static int
cmd_retry_usage(void)
{
	fprintf(stderr, "usage: familymail retry ID... | --failed\n");
	return CMD_EX_USAGE;
}

/* Requeues message id. Returns 0, or 1 after saying why it was not. */
static int
cmd_retry_one(
    sqlite3 *db, struct outbox *ob, sqlite3_stmt *st, int64_t id, time_t now)
{
	struct suppress_entry se;
	const char *s;
	char kind[64], rcpt[256];
	int state, ret;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		fprintf(stderr, "familymail: retry: no message with id %lld\n",
		    (long long)id);
		return 1;
	}
	s = (const char *)sqlite3_column_text(st, 0);
	(void)snprintf(kind, sizeof(kind), "%s", s != NULL ? s : "");
	s = (const char *)sqlite3_column_text(st, 1);
	(void)snprintf(rcpt, sizeof(rcpt), "%s", s != NULL ? s : "");
	s = (const char *)sqlite3_column_text(st, 2);
	state = outbox_state_parse(s != NULL ? s : "");
	sqlite3_reset(st);
	if (state != OUTBOX_FAILED && state != OUTBOX_SUPPRESSED) {
		fprintf(stderr,
		    "familymail: retry: message %lld (%s to %s) is %s; only "
		    "failed or suppressed messages can be retried\n",
		    (long long)id, kind, rcpt,
		    state >= 0 ? outbox_state_name(state) : "unknown");
		return 1;
	}
	if (state == OUTBOX_SUPPRESSED && suppress_find(db, rcpt, &se) == 0) {
		fprintf(stderr,
		    "familymail: retry: message %lld: %s is still on the "
		    "suppression list (%s since %s); run familymail "
		    "unsuppress %s first\n",
		    (long long)id, rcpt, suppress_reason_name(se.reason),
		    se.created_at, rcpt);
		suppress_entry_fini(&se);
		return 1;
	}
	ret = outbox_transition(ob, id, state, OUTBOX_QUEUED, now, NULL);
	if (ret != 0) {
		fprintf(stderr, "familymail: retry: message %lld: %s\n",
		    (long long)id,
		    ret == -ESTALE ? "its state changed meanwhile; try again"
				   : strerror(-ret));
		return 1;
	}
	printf("message %lld (%s to %s): %s -> queued\n", (long long)id, kind,
	    rcpt, outbox_state_name(state));
	return 0;
}

/* The ids of every failed message, oldest first; *n of them. */
static int64_t *
cmd_retry_failed_ids(sqlite3 *db, size_t *n)
{
	sqlite3_stmt *st;
	int64_t *ids = NULL;
	size_t cap = 0;

	*n = 0;
	if (db_prepare(db,
		"SELECT id FROM messages WHERE state = 'failed' ORDER BY id",
		&st) != 0)
		return NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			ids = xreallocarray(ids, cap, sizeof(*ids));
		}
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return ids;
}

int
cmd_retry(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "failed", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct outbox *ob = NULL;
	sqlite3_stmt *st = NULL;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	int64_t *ids = NULL;
	size_t n = 0, done = 0;
	bool all_failed = false, in_tx = false;
	time_t now;
	long id;
	int ch, code = 1, failures = 0;

	while ((ch = getopt_long(argc, argv, "f", longopts, NULL)) != -1) {
		if (ch != 'f')
			return cmd_retry_usage();
		all_failed = true;
	}
	if (all_failed == (optind < argc))
		return cmd_retry_usage();
	for (int i = optind; i < argc; i++) {
		if (util_parse_long(argv[i], 1, LONG_MAX, &id) != 0) {
			fprintf(stderr,
			    "familymail: retry: '%s' is not a message id\n",
			    argv[i]);
			return CMD_EX_USAGE;
		}
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
	ob = outbox_new(db);
	if (ob == NULL ||
	    db_prepare(db,
		"SELECT kind, recipient, state FROM messages WHERE id = ?1",
		&st) != 0)
		goto out;
	if (db_begin(db) != 0) {
		fprintf(stderr,
		    "familymail: retry: the database is busy; "
		    "try again\n");
		goto out;
	}
	in_tx = true;
	now = clock_now();
	if (all_failed) {
		ids = cmd_retry_failed_ids(db, &n);
		for (size_t i = 0; i < n; i++)
			failures += cmd_retry_one(db, ob, st, ids[i], now);
		done = n - (size_t)failures;
	} else {
		for (int i = optind; i < argc; i++) {
			util_parse_long(argv[i], 1, LONG_MAX, &id);
			if (cmd_retry_one(db, ob, st, id, now) != 0)
				failures++;
			else
				done++;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (db_commit(db) != 0) {
		fprintf(stderr,
		    "familymail: retry: could not save the "
		    "changes; nothing was requeued\n");
		goto out;
	}
	in_tx = false;
	if (all_failed && n == 0)
		printf("no failed messages\n");
	else if (done > 0)
		printf("%zu message%s queued; the daemon sends %s at its next "
		       "pass\n",
		    done, done == 1 ? "" : "s", done == 1 ? "it" : "them");
	code = failures > 0 ? 1 : 0;
out:
	if (in_tx)
		db_rollback(db);
	free(ids);
	sqlite3_finalize(st);
	outbox_free(ob);
	db_close(db);
	cfg_free(cfg);
	return code;
}
