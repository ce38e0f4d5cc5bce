/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * checkpoint: see checkpoint.h. The worker owns its connection and the
 * result while it runs; the loop reads them in the done callback.
 */
#include "config.h"

#include "checkpoint.h"

#include <stdlib.h>

#include "db.h"
#include "log.h"
#include "util.h"

struct checkpoint {
	uv_loop_t *loop;
	sqlite3 *db; /* the loop's */
	char *path;
	sqlite3 *own; /* the worker's, opened at its first checkpoint */
	uv_work_t req;
	bool busy;
	bool again; /* the log crossed the threshold again meanwhile */
	int mark;   /* the log's size when a checkpoint was last asked for */
	int rc;
	int log_pages;
	int copied;
	checkpoint_done_fn *done;
	void *done_arg;
};

static void
checkpoint_on_work(uv_work_t *req)
{
	struct checkpoint *c = req->data;

	c->log_pages = c->copied = 0;
	if (c->own == NULL) {
		int ret = db_open(c->path, false, &c->own);

		if (ret != 0) {
			c->rc = SQLITE_CANTOPEN;
			return;
		}
	}
	c->rc = sqlite3_wal_checkpoint_v2(
	    c->own, NULL, SQLITE_CHECKPOINT_PASSIVE, &c->log_pages, &c->copied);
}

static void checkpoint_start(struct checkpoint *c);

static void
checkpoint_on_done(uv_work_t *req, int status)
{
	struct checkpoint *c = req->data;

	c->busy = false;
	if (status != 0)
		log_warnx("checkpoint cancelled: %s", uv_strerror(status));
	else if (c->rc != SQLITE_OK && c->rc != SQLITE_BUSY)
		log_warnx("checkpoint of %s failed: %s", c->path,
		    sqlite3_errstr(c->rc));
	else
		log_debug("checkpoint copied %d of %d pages", c->copied,
		    c->log_pages);
	if (c->again && status == 0) {
		c->again = false;
		checkpoint_start(c);
	}
	if (c->done != NULL)
		c->done(c->done_arg);
}

static void
checkpoint_start(struct checkpoint *c)
{
	int ret = uv_queue_work(
	    c->loop, &c->req, checkpoint_on_work, checkpoint_on_done);

	if (ret != 0) {
		log_warnx("checkpoint not started: %s", uv_strerror(ret));
		return;
	}
	c->busy = true;
}

/* sqlite3_wal_hook(): after each commit of the loop's connection, with
 * the number of pages in the log. */
static int
checkpoint_on_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct checkpoint *c = arg;

	(void)db;
	(void)name;
	/* Once per CHECKPOINT_PAGES pages written: while readers hold
	 * older pages the log cannot start again from its beginning, and
	 * its size alone would ask for a checkpoint at every commit. */
	if (pages < c->mark)
		c->mark = 0; /* it did start again */
	if (pages - c->mark < CHECKPOINT_PAGES)
		return SQLITE_OK;
	c->mark = pages;
	if (c->busy)
		c->again = true;
	else
		checkpoint_start(c);
	return SQLITE_OK;
}

struct checkpoint *
checkpoint_new(uv_loop_t *loop, sqlite3 *db, const char *path,
    checkpoint_done_fn *done, void *arg)
{
	struct checkpoint *c = xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->db = db;
	c->path = xstrdup(path);
	c->req.data = c;
	c->done = done;
	c->done_arg = arg;
	/* Replaces SQLite's own hook, the automatic checkpoint. */
	(void)sqlite3_wal_hook(db, checkpoint_on_commit, c);
	return c;
}

bool
checkpoint_busy(const struct checkpoint *c)
{
	return c->busy;
}

void
checkpoint_free(struct checkpoint *c)
{
	if (c == NULL)
		return;
	(void)sqlite3_wal_autocheckpoint(c->db, CHECKPOINT_PAGES);
	db_close(c->own);
	free(c->path);
	free(c);
}
