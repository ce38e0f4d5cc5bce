/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_poll: see bounce_poll.h. The worker functions touch only the
 * struct bounce_source and read the seen-set, which the loop leaves
 * alone while a worker runs.
 */
#include "config.h"

#include "bounce/bounce_poll.h"

#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/bounce.h"
#include "bounce/bounce_apply.h"
#include "bounce/bounce_source.h"
#include "cfg.h"
#include "clock.h"
#include "job.h"
#include "log.h"
#include "util.h"

/* The seen-set starts afresh beyond this many keys. */
#define BOUNCE_POLL_SEEN_MAX 100000

struct bounce_poll {
	uv_loop_t *loop;
	sqlite3 *db;
	uv_work_t req;
	bool busy;
	struct bounce_source *src;
	char *source_url; /* the source the seen-set is about */
	struct bounce_apply_rules rules;
	char *secret; /* a copy, for "unsubscribe TOKEN" mail */
	int result;
	char *why;
	int64_t every; /* [bounces] every, for the next run in job_runs */
	void *seen;    /* tsearch() tree of keys (char *) */
	size_t n_seen;
	bounce_poll_done_fn *done;
	void *done_arg;
};

static int
bounce_poll_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
bounce_poll_forget(struct bounce_poll *p)
{
	tdestroy(p->seen, free);
	p->seen = NULL;
	p->n_seen = 0;
}

static void
bounce_poll_remember(struct bounce_poll *p, const char *key)
{
	char *k, **found;

	if (p->n_seen >= BOUNCE_POLL_SEEN_MAX)
		bounce_poll_forget(p);
	k = xstrdup(key);
	found = tsearch(k, &p->seen, bounce_poll_cmp);
	if (found == NULL)
		abort(); /* out of memory, as xmalloc */
	if (*found != k)
		free(k);
	else
		p->n_seen++;
}

static bool
bounce_poll_skip(const char *key, void *arg)
{
	struct bounce_poll *p = arg;

	return tfind(key, &p->seen, bounce_poll_cmp) != NULL;
}

struct bounce_poll *
bounce_poll_new(uv_loop_t *loop, sqlite3 *db)
{
	struct bounce_poll *p = xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->db = db;
	p->req.data = p;
	return p;
}

static void
bounce_poll_drop_secret(struct bounce_poll *p)
{
	if (p->secret != NULL) {
		explicit_bzero(p->secret, strlen(p->secret));
		free(p->secret);
	}
	p->secret = NULL;
	p->rules.secret = NULL;
	p->rules.secret_len = 0;
}

void
bounce_poll_free(struct bounce_poll *p)
{
	if (p == NULL)
		return;
	bounce_poll_drop_secret(p);
	bounce_source_free(p->src);
	bounce_poll_forget(p);
	free(p->source_url);
	free(p->why);
	free(p);
}

bool
bounce_poll_busy(const struct bounce_poll *p)
{
	return p->busy;
}

static void
bounce_poll_end(struct bounce_poll *p)
{
	bounce_source_free(p->src);
	p->src = NULL;
	free(p->why);
	p->why = NULL;
	p->busy = false;
	p->done(p->done_arg);
}

static void
bounce_poll_on_finish_work(uv_work_t *req)
{
	struct bounce_poll *p = req->data;

	p->result = bounce_source_finish(p->src, &p->why);
}

static void
bounce_poll_on_finished(uv_work_t *req, int status)
{
	struct bounce_poll *p = req->data;

	if (status != 0 || p->result < 0)
		log_warnx("bounce source=%s cannot mark processed mail: %s",
		    bounce_source_name(p->src),
		    p->why != NULL ? p->why : "cancelled");
	else if (p->why != NULL)
		log_warnx(
		    "bounce source=%s %s", bounce_source_name(p->src), p->why);
	bounce_poll_end(p);
}

/* The poll in job_runs, for status. */
static void
bounce_poll_record(struct bounce_poll *p, time_t now, const char *what)
{
	(void)job_record_run(p->db, "bounces", now, now + p->every, what);
}

/* On the loop: records every report and picks the processed items. */
static void
bounce_poll_apply(struct bounce_poll *p)
{
	struct bounce_apply_stats st = { 0 };
	struct bounce_item *it;
	const char *name = bounce_source_name(p->src);
	size_t i, n = bounce_source_count(p->src);
	int done = 0, left = 0, failed = 0, ret;
	char *where;
	time_t now = clock_now();

	for (i = 0; i < n; i++) {
		it = bounce_source_item(p->src, i);
		if (it->report == NULL) {
			log_warnx("bounce source=%s message=%s unreadable: %s; "
				  "left in place",
			    name, it->key,
			    it->error == -EMSGSIZE ? "too large"
						   : "not a mail message");
			bounce_poll_remember(p, it->key);
			left++;
			continue;
		}
		where = xasprintf("%s %s", name, it->key);
		ret =
		    bounce_apply(p->db, it->report, where, &p->rules, now, &st);
		free(where);
		if (ret < 0) {
			/* Not remembered: tried again at the next poll. */
			log_warnx("bounce source=%s message=%s cannot be "
				  "recorded: %s",
			    name, it->key, strerror(-ret));
			failed++;
			continue;
		}
		it->done = ret == 1;
		if (ret == 1)
			done++;
		else
			left++;
		log_debug("bounce source=%s message=%s kind=%s %s", name,
		    it->key, bounce_kind_name(it->report->kind),
		    ret == 1 ? "processed" : "left");
		bounce_poll_remember(p, it->key);
	}
	log_info("bounce polled source=%s read=%zu processed=%d left=%d "
		 "failed=%d recorded=%d suppressed=%d unsubscribed=%d "
		 "duplicates=%d unmatched=%d",
	    name, n, done, left, failed, st.recorded, st.suppressed,
	    st.unsubscribed, st.duplicates, st.unmatched);
	where = xasprintf("read %zu, processed %d, left %d; %d suppressed, "
			  "%d unsubscribed, %d unmatched",
	    n, done, left, st.suppressed, st.unsubscribed, st.unmatched);
	bounce_poll_record(p, now, where);
	free(where);
}

static void
bounce_poll_on_fetch_work(uv_work_t *req)
{
	struct bounce_poll *p = req->data;

	p->result = bounce_source_fetch(p->src, bounce_poll_skip, p, &p->why);
}

static void
bounce_poll_on_fetched(uv_work_t *req, int status)
{
	struct bounce_poll *p = req->data;

	if (status != 0 || p->result < 0) {
		log_warnx("bounce poll failed source=%s error=\"%s\"; "
			  "retrying at the next poll",
		    bounce_source_name(p->src),
		    p->why != NULL ? p->why : "cancelled");
		{
			char *what = xasprintf("failed: %s",
			    p->why != NULL ? p->why : "cancelled");

			bounce_poll_record(p, clock_now(), what);
			free(what);
		}
		bounce_poll_end(p);
		return;
	}
	bounce_poll_apply(p);
	if (uv_queue_work(p->loop, &p->req, bounce_poll_on_finish_work,
		bounce_poll_on_finished) != 0) {
		log_warnx("bounce source=%s cannot mark processed mail",
		    bounce_source_name(p->src));
		bounce_poll_end(p);
	}
}

int
bounce_poll_start(struct bounce_poll *p, const struct cfg *cfg,
    const char *secret, bounce_poll_done_fn *done, void *arg)
{
	int ret;

	if (p->busy)
		return -EBUSY;
	if (cfg->bounce_source == NULL)
		return -EINVAL;
	if (p->source_url == NULL ||
	    strcmp(p->source_url, cfg->bounce_source) != 0) {
		bounce_poll_forget(p);
		free(p->source_url);
		p->source_url = xstrdup(cfg->bounce_source);
	}
	p->rules.soft_limit = cfg->soft_limit > 0 ? cfg->soft_limit : 1;
	p->rules.soft_window = cfg->soft_window;
	p->every = cfg->bounce_every;
	bounce_poll_drop_secret(p);
	if (secret != NULL) {
		p->secret = xstrdup(secret);
		p->rules.secret = p->secret;
		p->rules.secret_len = strlen(p->secret);
	}
	p->src = bounce_source_new(cfg->bounce_source,
	    cfg->bounce_password_file, cfg->bounce_delete, BOUNCE_POLL_BATCH);
	bounce_source_set_move_folder(p->src, cfg->bounce_folder);
	p->done = done;
	p->done_arg = arg;
	p->result = 0;
	ret = uv_queue_work(p->loop, &p->req, bounce_poll_on_fetch_work,
	    bounce_poll_on_fetched);
	if (ret != 0) {
		bounce_source_free(p->src);
		p->src = NULL;
		return ret;
	}
	p->busy = true;
	return 0;
}
