/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * feed_poll: see feed_poll.h. The worker touches only the fetched body,
 * its own connection and the result fields, which the loop leaves alone
 * while it runs.
 */
#include "config.h"

#include "feed_poll.h"

#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "feed.h"
#include "fetch.h"
#include "job.h"
#include "log.h"
#include "util.h"

/* How long one fetch of the feed may take. */
#define FEED_POLL_TIMEOUT 60

struct feed_poll {
	uv_loop_t *loop;
	struct fetch *fetch; /* created at the first poll */
	uv_work_t req;
	bool busy;    /* fetching, parsing or storing */
	bool storing; /* the body is in the thread pool */
	char *url;    /* the poll's, copied from the config */
	char *database;
	struct buf body;   /* the fetched feed, for the worker */
	int result;        /* new posts, or a negative errno */
	char *why;         /* newly allocated, or NULL */
	char *fetch_error; /* the fetch failed: only the run is recorded */
	int64_t every;     /* [feed] every, for the next run in job_runs */
	time_t started;    /* when the poll in flight began */
	time_t polled;     /* when the last finished poll began */
	feed_poll_done_fn *done;
	void *done_arg;
};

struct feed_poll *
feed_poll_new(uv_loop_t *loop)
{
	struct feed_poll *p = xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->req.data = p;
	buf_init(&p->body);
	return p;
}

void
feed_poll_free(struct feed_poll *p)
{
	if (p == NULL)
		return;
	if (p->fetch != NULL)
		fetch_free(p->fetch);
	buf_fini(&p->body);
	free(p->url);
	free(p->why);
	free(p->database);
	free(p->fetch_error);
	free(p);
}

bool
feed_poll_busy(const struct feed_poll *p)
{
	return p->busy;
}

time_t
feed_poll_polled(const struct feed_poll *p)
{
	return p->polled;
}

static void
feed_poll_end(struct feed_poll *p, bool new_posts)
{
	p->busy = false;
	p->storing = false;
	p->polled = p->started;
	buf_reset(&p->body);
	free(p->fetch_error);
	p->fetch_error = NULL;
	p->done(p->done_arg, new_posts);
}

/* The poll in job_runs, for status: what it found, or why not. */
static void
feed_poll_record(struct feed_poll *p, sqlite3 *db)
{
	char *what = p->fetch_error != NULL ? xstrdup(p->fetch_error)
	    : p->result < 0
	    ? xasprintf("rejected: %s", p->why != NULL ? p->why : "?")
	    : xasprintf("%d new post%s", p->result, p->result == 1 ? "" : "s");

	(void)job_record_run(
	    db, "feed", p->started, p->started + p->every, what);
	free(what);
}

static void
feed_poll_on_work(uv_work_t *req)
{
	struct feed_poll *p = req->data;
	struct feed *feed = NULL;
	sqlite3 *db = NULL;

	free(p->why);
	p->why = NULL;
	p->result = 0;
	if (p->fetch_error == NULL)
		p->result =
		    feed_parse(p->body.data, p->body.len, &feed, &p->why);
	if (db_open(p->database, false, &db) != 0) {
		if (p->result == 0 && p->fetch_error == NULL) {
			p->result = -EIO;
			p->why = xstrdup("database error");
		}
		feed_free(feed);
		return;
	}
	if (p->result == 0 && feed != NULL) {
		p->result = feed_store(db, feed);
		if (p->result < 0)
			p->why = xstrdup("database error");
	}
	feed_poll_record(p, db);
	db_close(db);
	feed_free(feed);
}

static void
feed_poll_on_stored(uv_work_t *req, int status)
{
	struct feed_poll *p = req->data;

	/* A failed fetch was logged when it failed. */
	if (p->fetch_error == NULL && (status != 0 || p->result < 0))
		log_warnx("feed rejected url=%s error=\"%s\"; posts kept, "
			  "retrying at the next poll",
		    p->url, p->why != NULL ? p->why : "?");
	else if (p->fetch_error == NULL)
		log_info("feed polled url=%s new_posts=%d", p->url, p->result);
	feed_poll_end(p, status == 0 && p->result > 0);
}

static void
feed_poll_on_fetched(
    void *arg, int err, long status, const struct buf *body, const char *errmsg)
{
	struct feed_poll *p = arg;

	if (err != 0 || status != 200) {
		if (err != 0)
			log_warnx("feed fetch failed url=%s error=\"%s\"; "
				  "retrying at the next poll",
			    p->url, errmsg);
		else
			log_warnx("feed fetch failed url=%s status=%ld; "
				  "retrying at the next poll",
			    p->url, status);
		/* The worker records the failed run, then it ends. */
		p->fetch_error = err != 0
		    ? xasprintf("failed: %s", errmsg != NULL ? errmsg : "?")
		    : xasprintf("failed: HTTP status %ld", status);
	}
	buf_reset(&p->body);
	if (p->fetch_error == NULL)
		buf_append(&p->body, body->data, body->len);
	if (uv_queue_work(p->loop, &p->req, feed_poll_on_work,
		feed_poll_on_stored) != 0) {
		log_warnx("feed cannot store url=%s; retrying at the next poll",
		    p->url);
		feed_poll_end(p, false);
		return;
	}
	p->storing = true;
}

int
feed_poll_start(struct feed_poll *p, const struct cfg *cfg,
    feed_poll_done_fn *done, void *arg)
{
	int ret;

	if (p->busy)
		return -EBUSY;
	if (cfg->feed_url == NULL)
		return -EINVAL;
	free(p->url);
	p->url = xstrdup(cfg->feed_url);
	free(p->database);
	p->database = xstrdup(cfg->database);
	p->every = cfg->feed_every;
	if (p->fetch == NULL)
		p->fetch = fetch_new(p->loop);
	if (p->fetch == NULL)
		return -ENOMEM;
	p->done = done;
	p->done_arg = arg;
	ret = fetch_get(p->fetch, p->url, FEED_MAX_SIZE, FEED_POLL_TIMEOUT,
	    feed_poll_on_fetched, p);
	if (ret != 0)
		return ret;
	p->busy = true;
	p->started = clock_now();
	return 0;
}

void
feed_poll_stop(struct feed_poll *p)
{
	if (p->fetch == NULL || (p->busy && p->storing))
		return;
	/* Freeing the fetch aborts a transfer in flight without its
	 * callback. */
	fetch_free(p->fetch);
	p->fetch = NULL;
	p->busy = false;
}
