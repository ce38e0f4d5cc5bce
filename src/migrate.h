/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * migrate: the database schema, as forward-only steps numbered by
 * PRAGMA user_version. Step 1 creates the tables the booking website
 * writes (only if they are missing: the website may have made them) and
 * the tables familymail owns; step 2 indexes bounces by source; step 3
 * narrows the outbox's indexes and records which posts each digest
 * considered (see migrate.c). Each step runs in its own transaction.
 */
#ifndef FM_MIGRATE_H
#define FM_MIGRATE_H

#include <sqlite3.h>

/* The schema version this build writes. */
int migrate_latest(void);
/* The database's version, or a negative errno. */
int migrate_version(sqlite3 *db);
/*
 * Applies every missing step. Returns the number applied (0 when the
 * schema was current) or a negative errno; -EPROTO when the database is
 * newer than this build (never downgraded).
 */
int migrate_run(sqlite3 *db);
/* As migrate_run(), but stops at version (at most migrate_latest()):
 * for tests that need a database as an older familymail left it. */
int migrate_run_to(sqlite3 *db, int version);

#endif
