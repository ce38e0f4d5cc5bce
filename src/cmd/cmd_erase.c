/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_erase: `familymail erase ADDRESS`, the right to erasure of UK
 * GDPR. It deletes familymail's messages, bounces and history of the
 * address in one transaction, and puts in its place one entry on the
 * suppression list: a keyed hash of the address (HMAC with the
 * [unsubscribe] token secret, suppress_hash()), so that it is never
 * mailed again and yet not written down. The erasure is recorded under
 * the hash. Deleted pages are overwritten (db.c sets secure_delete) and
 * the write-ahead log is checkpointed. The website's rows are not
 * familymail's to change: they are named, for the administrator to
 * delete in the website.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "suppress.h"
#include "util.h"

/* Runs a DELETE bound to the address; adds the rows deleted to *n. */
static int
cmd_erase_delete(sqlite3 *db, const char *sql, const char *addr, int64_t *n)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	*n += sqlite3_changes(db);
	return 0;
}

/* Deletes what familymail holds about addr and leaves its hash on the
 * suppression list, in one transaction. n[]: messages, bounces, events
 * deleted. */
static int
cmd_erase_run(
    sqlite3 *db, const char *addr, const char *hash, time_t now, int64_t n[3])
{
	int64_t listed = 0;
	char *detail;
	int ret;

	ret = db_begin(db);
	/* Bounces and events first: they name the messages. */
	if (ret == 0)
		ret = cmd_erase_delete(db,
		    "DELETE FROM bounces WHERE recipient = ?1 OR message_id IN"
		    " (SELECT id FROM messages WHERE recipient = ?1)",
		    addr, &n[1]);
	if (ret == 0)
		ret = cmd_erase_delete(db,
		    "DELETE FROM events WHERE address = ?1 OR message_id IN"
		    " (SELECT id FROM messages WHERE recipient = ?1)",
		    addr, &n[2]);
	if (ret == 0)
		ret = cmd_erase_delete(db,
		    "DELETE FROM messages WHERE recipient = ?1", addr, &n[0]);
	if (ret == 0)
		ret = cmd_erase_delete(db,
		    "DELETE FROM suppressions WHERE email = ?1", addr, &listed);
	if (ret == 0) {
		ret = suppress_add(
		    db, hash, SUPPRESS_ERASED, "by familymail erase", now);
		if (ret == -EEXIST)
			ret = 0;
	}
	if (ret == 0) {
		detail = xasprintf("erased on request: %lld message%s, %lld "
				   "bounce%s, %lld history event%s deleted",
		    (long long)n[0], n[0] == 1 ? "" : "s", (long long)n[1],
		    n[1] == 1 ? "" : "s", (long long)n[2],
		    n[2] == 1 ? "" : "s");
		ret = events_add(
		    db, now, EVENTS_ERASED, hash, 0, "admin", detail);
		free(detail);
	}
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0)
		db_rollback(db);
	return ret;
}

/* Prints the website's rows that still name addr; how many. */
static int
cmd_erase_website(sqlite3 *db, const char *addr)
{
	static const char sql[] =
	    "SELECT 'delegates id=' || id FROM delegates WHERE email = ?1"
	    " UNION ALL SELECT 'bookings ' || b.reference || ' (id=' || b.id"
	    " || ')' FROM bookings b JOIN delegates d ON d.id = b.delegate_id"
	    " WHERE d.email = ?1"
	    " UNION ALL SELECT 'subscribers id=' || id FROM subscribers"
	    " WHERE email = ?1";
	sqlite3_stmt *st;
	int n = 0;

	if (db_prepare(db, sql, &st) != 0)
		return -1;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n++ == 0)
			printf("the website's own rows still hold the address "
			       "(familymail does not change them; delete or "
			       "anonymise them in the website):\n");
		printf("  %s\n", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (n == 0)
		printf("no row of the website holds the address\n");
	return n;
}

int
cmd_erase(int argc, char **argv, const char *config_path)
{
	char hash[SUPPRESS_HASH_LEN], *secret = NULL;
	int64_t n[3] = { 0, 0, 0 };
	const char *addr = NULL;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	int code, ret, busy = 0;

	code = cmd_address_arg(argc, argv, "erase", &addr);
	if (code != 0)
		return code;
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	code = 1;
	log_init(LOG_LEVEL_WARNING);
	db = cmd_open_db(cfg);
	if (db == NULL)
		goto out;
	secret = cmd_read_secret(cfg, "erase",
	    "nothing was erased: the erased address is kept only as a hash "
	    "keyed with that secret");
	if (secret == NULL)
		goto out;
	suppress_hash(secret, strlen(secret), addr, hash);
	ret = cmd_erase_run(db, addr, hash, clock_now(), n);
	if (ret != 0) {
		fprintf(stderr, "familymail: erase: %s; nothing was erased\n",
		    ret == -EBUSY ? "the database is busy; try again"
				  : sqlite3_errmsg(db));
		goto out;
	}
	/* Out of the write-ahead log too, as far as readers allow. */
	if (sqlite3_wal_checkpoint_v2(
		db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, &busy) != SQLITE_OK)
		fprintf(stderr,
		    "familymail: erase: the write-ahead log could not be "
		    "checkpointed now (the daemon checkpoints it later)\n");
	printf("erased %s: %lld message%s, %lld bounce%s and %lld history "
	       "event%s deleted; the suppression list keeps only a keyed "
	       "hash of it, so it is never mailed again\n",
	    addr, (long long)n[0], n[0] == 1 ? "" : "s", (long long)n[1],
	    n[1] == 1 ? "" : "s", (long long)n[2], n[2] == 1 ? "" : "s");
	cmd_erase_website(db, addr);
	code = 0;
out:
	cmd_free_secret(secret);
	db_close(db);
	cfg_free(cfg);
	return code;
}
