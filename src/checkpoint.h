/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * checkpoint: the write-ahead log of the loop's connection, copied back
 * into the database file off the loop. SQLite checkpoints in the
 * connection whose commit crossed its threshold, and a checkpoint
 * writes the database file and syncs it to disk, which takes as long
 * as the disk likes (most of a second on a busy one). The loop's
 * connection therefore never checkpoints: its commits note the log's
 * size, and past CHECKPOINT_PAGES a passive checkpoint (one that never
 * waits for a reader or a writer) runs in the thread pool on a
 * connection of its own, one at a time.
 *
 * It has the shape of job_poll.h, without a start: commits start it.
 */
#ifndef FM_CHECKPOINT_H
#define FM_CHECKPOINT_H

#include <stdbool.h>

#include <sqlite3.h>
#include <uv.h>

/* SQLite's own threshold for its automatic checkpoint. */
#define CHECKPOINT_PAGES 1000

struct checkpoint;

/* Called on the loop when a checkpoint has ended. */
typedef void checkpoint_done_fn(void *arg);

/*
 * Takes the checkpoints of db, the loop's connection to the database
 * at path, off the loop: db's own automatic checkpoint is turned off.
 * done(arg), if set, is called on the loop after each checkpoint.
 * Never NULL.
 */
struct checkpoint *checkpoint_new(uv_loop_t *loop, sqlite3 *db,
    const char *path, checkpoint_done_fn *done, void *arg);

bool checkpoint_busy(const struct checkpoint *c);

/* Gives db its automatic checkpoint back and frees c; must not be
 * busy. NULL does nothing. */
void checkpoint_free(struct checkpoint *c);

#endif
