/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_suppress: `familymail suppress ADDR [--reason TEXT]` puts an
 * address on the suppression list by hand (reason "manual", TEXT the
 * note kept with it); `familymail unsuppress ADDR` takes one off, for
 * whatever reason it was put there, and says what that reason was.
 *
 * Both go through suppress.c. Neither touches messages: a queued message
 * to a suppressed address is marked suppressed when the daemon comes to
 * send it, and messages already suppressed stay so until retried
 * (familymail retry ID), which this command points to.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "send/mime.h"
#include "suppress.h"

#define CMD_SUPPRESS_NOTE_MAX 1000 /* bytes of an administrator's note */

static int
cmd_suppress_open(const struct cfg *cfg, sqlite3 **db)
{
	if (db_open(cfg->database, false, db) != 0 ||
	    migrate_version(*db) != migrate_latest()) {
		fprintf(stderr,
		    "familymail: database %s is missing or not migrated "
		    "(run familymail migrate)\n",
		    cfg->database);
		return -ENOENT;
	}
	return 0;
}

static void
cmd_suppress_describe(const struct suppress_entry *e)
{
	printf("  reason: %s\n  since:  %s\n", suppress_reason_name(e->reason),
	    e->created_at);
	if (e->detail != NULL && *e->detail != '\0')
		printf("  detail: %s\n", e->detail);
}

int
cmd_suppress(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct suppress_entry e;
	const char *addr, *note = NULL;
	struct cfg *cfg;
	sqlite3 *db = NULL;
	int ch, ret, code = 1;

	while ((ch = getopt_long(argc, argv, "r:", longopts, NULL)) != -1) {
		if (ch != 'r') {
			fprintf(stderr,
			    "usage: familymail suppress ADDR "
			    "[--reason TEXT]\n");
			return CMD_EX_USAGE;
		}
		note = optarg;
	}
	if (optind + 1 != argc) {
		fprintf(stderr,
		    "usage: familymail suppress ADDR [--reason TEXT]\n");
		return CMD_EX_USAGE;
	}
	addr = argv[optind];
	if (!addr_is_valid(addr)) {
		fprintf(stderr,
		    "familymail: suppress: '%s' is not an email address\n",
		    addr);
		return CMD_EX_DATAERR;
	}
	if (note != NULL &&
	    (strlen(note) > CMD_SUPPRESS_NOTE_MAX ||
		strpbrk(note, "\r\n") != NULL)) {
		fprintf(stderr,
		    "familymail: suppress: --reason must be one "
		    "line of at most 1000 bytes\n");
		return CMD_EX_DATAERR;
	}
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	if (cmd_suppress_open(cfg, &db) != 0)
		goto out;
	ret = suppress_add(db, addr, SUPPRESS_MANUAL, note, clock_now());
	if (ret == -EEXIST && suppress_find(db, addr, &e) == 0) {
		printf("%s was already suppressed; left as it was:\n", e.email);
		cmd_suppress_describe(&e);
		suppress_entry_fini(&e);
		code = 0;
	} else if (ret != 0) {
		fprintf(stderr, "familymail: suppress: %s: %s\n", addr,
		    strerror(-ret));
	} else {
		printf("suppressed %s (manual%s%s): no more mail goes to it\n",
		    addr, note != NULL ? ": " : "", note != NULL ? note : "");
		code = 0;
	}
out:
	db_close(db);
	cfg_free(cfg);
	return code;
}

/* How many messages to addr are in state suppressed; -1 on error. */
static int64_t
cmd_suppress_count_messages(sqlite3 *db, const char *addr)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (db_prepare(db,
		"SELECT count(*) FROM messages WHERE recipient = ?1"
		" AND state = 'suppressed'",
		&st) != 0)
		return -1;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int
cmd_unsuppress(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 },
	};
	struct suppress_entry e;
	const char *addr;
	struct cfg *cfg;
	sqlite3 *db = NULL;
	int64_t held;
	int ret, code = 1;

	if (getopt_long(argc, argv, "", longopts, NULL) != -1 ||
	    optind + 1 != argc) {
		fprintf(stderr, "usage: familymail unsuppress ADDR\n");
		return CMD_EX_USAGE;
	}
	addr = argv[optind];
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	if (cmd_suppress_open(cfg, &db) != 0)
		goto out;
	ret = suppress_find(db, addr, &e);
	if (ret == -ENOENT) {
		/* Not validated before the look-up: an odd address that a
		 * bounce put on the list must still come off it. */
		if (!addr_is_valid(addr)) {
			fprintf(stderr,
			    "familymail: unsuppress: '%s' is not "
			    "an email address\n",
			    addr);
			code = CMD_EX_DATAERR;
		} else {
			fprintf(stderr,
			    "familymail: unsuppress: %s is not "
			    "suppressed\n",
			    addr);
		}
		goto out;
	}
	if (ret != 0) {
		fprintf(stderr, "familymail: unsuppress: %s: %s\n", addr,
		    strerror(-ret));
		goto out;
	}
	ret = suppress_remove(db, addr);
	if (ret != 0) {
		fprintf(stderr, "familymail: unsuppress: %s: %s\n", addr,
		    strerror(-ret));
		suppress_entry_fini(&e);
		goto out;
	}
	printf("unsuppressed %s; it was suppressed:\n", e.email);
	cmd_suppress_describe(&e);
	suppress_entry_fini(&e);
	held = cmd_suppress_count_messages(db, addr);
	if (held > 0)
		printf("%lld message%s to it stay%s suppressed; familymail "
		       "queue --to %s --state suppressed lists %s, familymail "
		       "retry ID sends %s\n",
		    (long long)held, held == 1 ? "" : "s", held == 1 ? "s" : "",
		    addr, held == 1 ? "it" : "them", held == 1 ? "it" : "them");
	code = 0;
out:
	db_close(db);
	cfg_free(cfg);
	return code;
}
