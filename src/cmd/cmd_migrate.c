/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_migrate: `familymail migrate` creates the database or brings its
 * schema up to this build's version.
 */
#include "config.h"

#include <stdio.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "db.h"
#include "log.h"
#include "migrate.h"

int
cmd_migrate(int argc, char **argv, const char *config_path)
{
	struct cfg *cfg;
	sqlite3 *db = NULL;
	int applied, code = 1;

	if (argc != 1) {
		fprintf(stderr, "usage: familymail migrate\n");
		return CMD_EX_USAGE;
	}
	(void)argv;
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	if (db_open(cfg->database, true, &db) != 0) {
		fprintf(stderr, "familymail: cannot open database %s\n",
		    cfg->database);
		goto out;
	}
	applied = migrate_run(db);
	if (applied < 0) {
		fprintf(
		    stderr, "familymail: migrating %s failed\n", cfg->database);
		goto out;
	}
	printf("%s: schema version %d (%d step%s applied)\n", cfg->database,
	    migrate_version(db), applied, applied == 1 ? "" : "s");
	code = 0;
out:
	db_close(db);
	cfg_free(cfg);
	return code;
}
