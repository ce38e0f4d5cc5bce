/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_poll: see job_poll.h. The worker reads the pass's arguments and
 * writes its results; the loop touches neither while it runs.
 */
#include "config.h"

#include "job_poll.h"

#include <errno.h>
#include <stdlib.h>

#include "job.h"
#include "util.h"

struct job_pass {
	const struct cfg *cfg;
	bool secret;
	bool posts;
	time_t now;
};

struct job_poll {
	uv_loop_t *loop;
	sqlite3 *db;
	uv_work_t req;
	bool busy;
	struct job_pass pass; /* the one running */
	bool again;           /* another pass is asked for */
	struct job_pass next; /* and its arguments */
	int result;
	int next_due_result; /* job_next_due(), after the last pass */
	time_t next_due;
	job_poll_done_fn *done;
	void *done_arg;
};

struct job_poll *
job_poll_new(uv_loop_t *loop, sqlite3 *db)
{
	struct job_poll *p = xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->db = db;
	p->req.data = p;
	p->next_due_result = -ENOENT;
	return p;
}

void
job_poll_free(struct job_poll *p)
{
	free(p);
}

bool
job_poll_busy(const struct job_poll *p)
{
	return p->busy;
}

int
job_poll_next_due(const struct job_poll *p, time_t *when)
{
	if (p->next_due_result == 0)
		*when = p->next_due;
	return p->next_due_result;
}

static void
job_poll_on_work(uv_work_t *req)
{
	struct job_poll *p = req->data;
	const struct job_pass *a = &p->pass;

	p->result = job_run_all(p->db, a->cfg, a->secret, a->posts, a->now);
	p->next_due_result =
	    job_next_due(p->db, a->cfg, a->secret, a->now, &p->next_due);
}

static int job_poll_queue(struct job_poll *p);

static void
job_poll_on_done(uv_work_t *req, int status)
{
	struct job_poll *p = req->data;
	int result = status != 0 ? -ECANCELED : p->result;

	p->busy = false;
	if (p->again) {
		p->again = false;
		p->pass = p->next;
		/* Fails only on bad arguments; the next change runs it. */
		(void)job_poll_queue(p);
	}
	p->done(p->done_arg, result);
}

static int
job_poll_queue(struct job_poll *p)
{
	int ret;

	ret =
	    uv_queue_work(p->loop, &p->req, job_poll_on_work, job_poll_on_done);
	if (ret == 0)
		p->busy = true;
	return ret;
}

int
job_poll_start(struct job_poll *p, const struct cfg *cfg, bool secret,
    time_t now, bool posts, job_poll_done_fn *done, void *arg)
{
	struct job_pass a = {
		.cfg = cfg, .secret = secret, .posts = posts, .now = now
	};

	p->done = done;
	p->done_arg = arg;
	if (p->busy) {
		if (p->again)
			a.posts = a.posts || p->next.posts;
		p->next = a;
		p->again = true;
		return 0;
	}
	p->pass = a;
	return job_poll_queue(p);
}
