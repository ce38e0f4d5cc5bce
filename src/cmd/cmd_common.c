/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_common: what the admin subcommands share: loading the config with
 * its errors printed for a person at a terminal, opening the database,
 * reading the token secret, finding a booking by its reference. It
 * holds no subcommand.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "db.h"
#include "migrate.h"
#include "util.h"

struct cfg *
cmd_load_config(const char *config_path)
{
	struct cfg *c;
	char *errors = NULL;

	c = cfg_load(config_path, &errors);
	if (c == NULL) {
		/* One "FILE:LINE: [section] key: problem" per line, already
		 * newline-terminated. */
		fputs(errors, stderr);
		(void)fflush(stderr);
	}
	free(errors);
	return c;
}

sqlite3 *
cmd_open_db(const struct cfg *cfg)
{
	sqlite3 *db = NULL;

	if (db_open(cfg->database, false, &db) != 0 ||
	    migrate_version(db) != migrate_latest()) {
		fprintf(stderr,
		    "familymail: database %s is missing or not migrated "
		    "(run familymail migrate)\n",
		    cfg->database);
		db_close(db);
		return NULL;
	}
	return db;
}

char *
cmd_read_secret(const struct cfg *cfg, const char *cmd, const char *without)
{
	char *secret = NULL, *why = NULL;

	if (cfg->secret_file == NULL) {
		if (without != NULL)
			fprintf(stderr,
			    "familymail: %s: [unsubscribe] secret_file is not "
			    "set; %s\n",
			    cmd, without);
		return NULL;
	}
	if (cfg_read_secret_for(cfg, cfg->secret_file, &secret, &why) != 0) {
		if (without != NULL)
			fprintf(stderr, "familymail: %s: %s: %s; %s\n", cmd,
			    cfg->secret_file, why, without);
		free(why);
		return NULL;
	}
	return secret;
}

void
cmd_free_secret(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

int
cmd_find_booking(sqlite3 *db, const char *name, int64_t *id, char **reference)
{
	sqlite3_stmt *st;
	long n = 0;
	int rc, ret;

	/* The reference first: it is what staff and delegates know. */
	ret = db_prepare(db,
	    "SELECT id, reference, 0 AS pick FROM bookings"
	    " WHERE reference = ?1"
	    " UNION ALL SELECT id, reference, 1 FROM bookings WHERE id = ?2"
	    " ORDER BY pick LIMIT 1",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (util_parse_long(name, 1, INT64_MAX, &n) == 0)
		sqlite3_bind_int64(st, 2, n);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		if (reference != NULL)
			*reference =
			    xstrdup((const char *)sqlite3_column_text(st, 1));
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	}
	sqlite3_finalize(st);
	return ret;
}

int
cmd_address_arg(int argc, char **argv, const char *cmd, const char **addr)
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 },
	};

	if (getopt_long(argc, argv, "", longopts, NULL) != -1 ||
	    optind + 1 != argc) {
		fprintf(stderr, "usage: familymail %s ADDRESS\n", cmd);
		return CMD_EX_USAGE;
	}
	*addr = argv[optind];
	if (strchr(*addr, '@') == NULL || strlen(*addr) > 254 ||
	    strpbrk(*addr, "\r\n") != NULL) {
		fprintf(stderr,
		    "familymail: %s: '%s' is not an email address\n", cmd,
		    *addr);
		return CMD_EX_DATAERR;
	}
	return 0;
}
