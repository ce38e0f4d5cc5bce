/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * subscriber_queue: see subscriber_queue.h. The changes wait in one list,
 * in the order asked: first those already in the journal (durable),
 * then the new ones. A job in the thread pool takes the whole list,
 * tries to apply it in one transaction and, when the database is
 * locked, appends the new ones to the journal; only one job runs at a
 * time, so the journal is only ever touched by that job (and by
 * subscriber_queue_new() and _free(), when no job can run).
 *
 * A journal line: "v1 CHANGE ID FREQUENCY|- SOURCE", one per change.
 * The journal is removed once everything in it is in the database; a
 * crash in between applies it again, which changes nothing.
 */
#include "config.h"

#include "subscriber_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "subscriber.h"
#include "util.h"

/* How long a job waits for the website's lock before it journals. */
#define SUBSCRIBER_QUEUE_BUSY_MS 250
/* Retries while changes wait: soon after the lock is free, so that an
 * unsubscribe is in before the sender, held up by the same lock, takes
 * the next digests. */
#define SUBSCRIBER_QUEUE_RETRY_MS    500
#define SUBSCRIBER_QUEUE_JOURNAL_MAX (16 * 1024 * 1024)
#define SUBSCRIBER_QUEUE_SOURCE_MAX  16

static const char *const subscriber_queue_names[] = {
	[SUBSCRIBER_CHANGE_UNSUBSCRIBE] = "unsubscribe",
	[SUBSCRIBER_CHANGE_CONFIRM] = "confirm",
	[SUBSCRIBER_CHANGE_FREQUENCY] = "frequency",
};

struct subscriber_queue_item {
	struct subscriber_queue_item *next;
	enum subscriber_change change;
	int64_t id;
	char frequency[16]; /* "" unless SUBSCRIBER_CHANGE_FREQUENCY */
	char source[SUBSCRIBER_QUEUE_SOURCE_MAX];
	bool durable; /* in the journal */
	int result;   /* set by a job that applied it */
	/* Who waits for the outcome; NULL once told (or from the
	 * journal). */
	subscriber_queue_cb cb;
	void *arg;
};

struct subscriber_queue {
	uv_loop_t *loop;
	char *database;
	char *journal;
	sqlite3 *db; /* the jobs' connection, opened by the first */
	uv_work_t work;
	uv_timer_t retry;
	bool busy;     /* a job is in the thread pool */
	bool stopping; /* subscriber_queue_stop() was called */
	struct subscriber_queue_item *head, *tail;
	size_t n;
	uint64_t blocked_since_ms; /* 0: the last job applied */
	/* The job's items and outcome: written by the worker, read on the
	 * loop once it is done. */
	struct subscriber_queue_item **job;
	size_t job_n;
	bool job_applied;
	int job_journal_err;
	char job_reason[200];
};

static void subscriber_queue_start(struct subscriber_queue *q);
static void subscriber_queue_release(struct subscriber_queue *q);

/* ------------------------------------------------------------ journal */

static int
subscriber_queue_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Appends the items not yet durable among items[0..n) to the journal and
 * syncs it (and its folder, which may have just gained it); marks them
 * durable. Returns 0 or a negative errno (none marked then). */
static int
subscriber_queue_append(
    const char *journal, struct subscriber_queue_item *const *items, size_t n)
{
	struct buf b;
	char *dir;
	int fd, dfd, ret = 0;

	buf_init(&b);
	for (size_t i = 0; i < n; i++)
		if (!items[i]->durable)
			buf_printf(&b, "v1 %s %" PRId64 " %s %s\n",
			    subscriber_queue_names[items[i]->change],
			    items[i]->id,
			    items[i]->frequency[0] != '\0' ? items[i]->frequency
							   : "-",
			    items[i]->source);
	if (b.len == 0) {
		buf_fini(&b);
		return 0;
	}
	fd = open(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		ret = -errno;
	if (ret == 0)
		ret = subscriber_queue_write_all(fd, b.data, b.len);
	if (ret == 0 && fsync(fd) == -1)
		ret = -errno;
	if (fd != -1 && close(fd) == -1 && ret == 0)
		ret = -errno;
	buf_fini(&b);
	if (ret != 0)
		return ret;
	dir = xstrdup(journal);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	for (size_t i = 0; i < n; i++)
		items[i]->durable = true;
	return 0;
}

static struct subscriber_queue_item *
subscriber_queue_item_new(enum subscriber_change change, int64_t id,
    const char *frequency, const char *source)
{
	struct subscriber_queue_item *it = xcalloc(1, sizeof(*it));

	it->change = change;
	it->id = id;
	if (frequency != NULL)
		(void)snprintf(
		    it->frequency, sizeof(it->frequency), "%s", frequency);
	(void)snprintf(it->source, sizeof(it->source), "%s",
	    source != NULL ? source : "?");
	return it;
}

static void
subscriber_queue_push(
    struct subscriber_queue *q, struct subscriber_queue_item *it)
{
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
}

/* Splits line (changed in place) into at most max fields separated by
 * one space; returns how many. */
static size_t
subscriber_queue_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *sp;

	while (n < max) {
		fields[n++] = line;
		sp = strchr(line, ' ');
		if (sp == NULL)
			return n;
		*sp = '\0';
		line = sp + 1;
	}
	return n + 1; /* more than max */
}

/* One journal line into an item; NULL if it is not one. */
static struct subscriber_queue_item *
subscriber_queue_parse(char *line)
{
	char *f[5];
	long id;
	size_t k;
	bool freq;

	if (subscriber_queue_fields(line, f, 5) != 5 ||
	    strcmp(f[0], "v1") != 0 ||
	    util_parse_long(f[2], 1, LONG_MAX, &id) != 0 || f[4][0] == '\0' ||
	    strlen(f[4]) >= SUBSCRIBER_QUEUE_SOURCE_MAX)
		return NULL;
	for (k = 0; k < UTIL_ARRAY_LEN(subscriber_queue_names); k++)
		if (strcmp(f[1], subscriber_queue_names[k]) == 0)
			break;
	if (k == UTIL_ARRAY_LEN(subscriber_queue_names))
		return NULL;
	freq = strcmp(f[3], "weekly") == 0 || strcmp(f[3], "monthly") == 0;
	if (k == SUBSCRIBER_CHANGE_FREQUENCY ? !freq : strcmp(f[3], "-") != 0)
		return NULL;
	return subscriber_queue_item_new((enum subscriber_change)k, (int64_t)id,
	    k == SUBSCRIBER_CHANGE_FREQUENCY ? f[3] : NULL, f[4]);
}

/* Reads what a previous run left in the journal into the list. A line
 * that cannot be read (a crash mid-write leaves one without its end) is
 * logged and skipped. */
static void
subscriber_queue_load(struct subscriber_queue *q)
{
	struct subscriber_queue_item *it;
	struct buf b;
	char *line, *end, *copy;
	int lineno = 0, ret;

	buf_init(&b);
	ret = util_read_file(q->journal, SUBSCRIBER_QUEUE_JOURNAL_MAX, &b);
	if (ret == -ENOENT) {
		buf_fini(&b);
		return;
	}
	if (ret != 0) {
		log_warnx("subscriber queue cannot read %s: %s; its changes "
			  "wait for the next start",
		    q->journal, strerror(-ret));
		buf_fini(&b);
		return;
	}
	buf_putc(&b, '\0');
	for (line = b.data; *line != '\0'; line = end + 1) {
		lineno++;
		end = strchr(line, '\n');
		if (end == NULL) {
			log_warnx("subscriber queue %s:%d: unfinished line "
				  "skipped",
			    q->journal, lineno);
			break;
		}
		*end = '\0';
		copy = xstrdup(line); /* parsing cuts it up */
		it = subscriber_queue_parse(copy);
		free(copy);
		if (it == NULL) {
			log_warnx("subscriber queue %s:%d: cannot read '%s'; "
				  "skipped",
			    q->journal, lineno, line);
			continue;
		}
		it->durable = true;
		subscriber_queue_push(q, it);
	}
	buf_fini(&b);
	if (q->n > 0)
		log_notice("subscriber queue found changes=%zu in %s from the "
			   "last run; applying them",
		    q->n, q->journal);
}

/* ------------------------------------------------------------ jobs */

/* Applies the job's items in one transaction. Returns 0, or a negative
 * errno with job_reason saying why in SQLite's words. */
static int
subscriber_queue_apply(struct subscriber_queue *q)
{
	struct subscriber_queue_item *it;
	int ret;

	/* Not db_begin(): a lock held for a minute would log a warning
	 * at every try; the queue says it once. */
	ret =
	    db_errno(sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
	for (size_t i = 0; ret == 0 && i < q->job_n; i++) {
		it = q->job[i];
		switch (it->change) {
		case SUBSCRIBER_CHANGE_UNSUBSCRIBE:
			ret = subscriber_unsubscribe(q->db, it->id, it->source);
			break;
		case SUBSCRIBER_CHANGE_CONFIRM:
			ret = subscriber_confirm(q->db, it->id, it->source);
			break;
		case SUBSCRIBER_CHANGE_FREQUENCY:
			ret = subscriber_set_frequency(
			    q->db, it->id, it->frequency, it->source);
			break;
		}
		it->result = ret;
		/* Answers about the row, not failures of the database. */
		if (ret >= 0 || ret == -ENOENT || ret == -EPERM ||
		    ret == -EINVAL)
			ret = 0;
	}
	if (ret == 0)
		ret = db_errno(sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL));
	if (ret != 0) {
		(void)snprintf(q->job_reason, sizeof(q->job_reason),
		    "%s (SQLite error %d)", sqlite3_errmsg(q->db),
		    sqlite3_extended_errcode(q->db));
		db_rollback(q->db);
	}
	return ret;
}

static void
subscriber_queue_on_work(uv_work_t *w)
{
	struct subscriber_queue *q = w->data;
	bool was_journaled = false;
	int ret;

	q->job_applied = false;
	q->job_journal_err = 0;
	q->job_reason[0] = '\0';
	if (q->db == NULL) {
		ret = db_open(q->database, false, &q->db);
		if (ret != 0) {
			(void)snprintf(q->job_reason, sizeof(q->job_reason),
			    "cannot open the database: %s", strerror(-ret));
			q->db = NULL;
		} else {
			sqlite3_busy_timeout(q->db, SUBSCRIBER_QUEUE_BUSY_MS);
		}
	}
	if (q->db != NULL && subscriber_queue_apply(q) == 0) {
		q->job_applied = true;
		for (size_t i = 0; i < q->job_n; i++)
			was_journaled = was_journaled || q->job[i]->durable;
		/* All of it is in the database: the journal has done its
		 * work. Should this not reach the disk, the next start
		 * applies it again, to no effect. */
		if (was_journaled && unlink(q->journal) == -1 &&
		    errno != ENOENT)
			log_warn(
			    "subscriber queue cannot remove %s", q->journal);
		return;
	}
	q->job_journal_err =
	    subscriber_queue_append(q->journal, q->job, q->job_n);
}

static void
subscriber_queue_on_retry(uv_timer_t *t)
{
	subscriber_queue_start(t->data);
}

static void
subscriber_queue_log_applied(const struct subscriber_queue_item *it)
{
	static const char *const what[] = {
		[SUBSCRIBER_CHANGE_UNSUBSCRIBE] = "unsubscribed",
		[SUBSCRIBER_CHANGE_CONFIRM] = "confirmed",
		[SUBSCRIBER_CHANGE_FREQUENCY] = "frequency",
	};

	if (it->result < 0)
		log_info("subscriber %s not applied id=%" PRId64
			 " source=%s: %s",
		    subscriber_queue_names[it->change], it->id, it->source,
		    it->result == -ENOENT ? "no such subscriber"
			: it->result == -EPERM
			? "unsubscribed since (a late confirmation)"
			: strerror(-it->result));
	else if (it->result == 1)
		log_info("subscriber %s id=%" PRId64 "%s%s source=%s",
		    what[it->change], it->id,
		    it->frequency[0] != '\0' ? " frequency=" : "",
		    it->frequency, it->source);
	else
		log_debug("subscriber %s id=%" PRId64 " source=%s: already so",
		    subscriber_queue_names[it->change], it->id, it->source);
}

/* What is left after a job: the items it could neither apply nor
 * journal are dropped (their callers were told FAILED), the ones it
 * applied are done. */
static void
subscriber_queue_settle(struct subscriber_queue *q)
{
	struct subscriber_queue_item *rest = q->job[q->job_n - 1]->next;
	struct subscriber_queue_item *keep = NULL, *keep_tail = NULL, *it;

	for (size_t i = 0; i < q->job_n; i++) {
		it = q->job[i];
		it->next = NULL;
		if (q->job_applied || !it->durable) {
			free(it);
			q->n--;
			continue;
		}
		if (keep_tail != NULL)
			keep_tail->next = it;
		else
			keep = it;
		keep_tail = it;
	}
	if (keep_tail != NULL) {
		keep_tail->next = rest;
		q->head = keep;
	} else {
		q->head = rest;
	}
	if (rest == NULL)
		q->tail = keep_tail;
}

static void
subscriber_queue_on_done(uv_work_t *w, int status)
{
	struct subscriber_queue *q = w->data;
	uint64_t now = uv_now(q->loop);
	struct subscriber_queue_item *it;
	bool someone_waits = false;

	q->busy = false;
	if (status != 0) {
		q->job_applied = false;
		q->job_journal_err = status;
		(void)snprintf(q->job_reason, sizeof(q->job_reason), "%s",
		    uv_strerror(status));
	}
	if (q->job_applied) {
		if (q->blocked_since_ms != 0)
			log_notice("subscriber queue applied changes=%zu, "
				   "waiting since %llus ago",
			    q->job_n,
			    (unsigned long long)(now - q->blocked_since_ms) /
				1000);
		q->blocked_since_ms = 0;
	} else if (q->blocked_since_ms == 0) {
		q->blocked_since_ms = now;
		log_notice("subscriber queue cannot write changes=%zu: %s; "
			   "they are kept in %s and applied when the database "
			   "is free",
		    q->job_n, q->job_reason, q->journal);
	} else {
		log_debug("subscriber queue still waiting changes=%zu: %s",
		    q->job_n, q->job_reason);
	}
	for (size_t i = 0; i < q->job_n; i++) {
		it = q->job[i];
		if (q->job_applied) {
			subscriber_queue_log_applied(it);
			if (it->cb != NULL)
				it->cb(it->arg, SUBSCRIBER_QUEUE_APPLIED,
				    it->result);
		} else if (it->durable && it->cb != NULL) {
			log_info("subscriber %s queued id=%" PRId64
				 " source=%s",
			    subscriber_queue_names[it->change], it->id,
			    it->source);
			it->cb(it->arg, SUBSCRIBER_QUEUE_QUEUED, 0);
		} else if (!it->durable) {
			log_warnx("subscriber %s lost id=%" PRId64
				  " source=%s: the database (%s) and the "
				  "journal %s (%s) both failed; the page asked "
				  "to try again",
			    subscriber_queue_names[it->change], it->id,
			    it->source, q->job_reason, q->journal,
			    strerror(-q->job_journal_err));
			if (it->cb != NULL)
				it->cb(it->arg, SUBSCRIBER_QUEUE_FAILED, 0);
		}
		it->cb = NULL;
	}
	subscriber_queue_settle(q);
	free(q->job);
	q->job = NULL;
	q->job_n = 0;
	if (q->stopping) {
		subscriber_queue_release(q);
		return;
	}
	for (it = q->head; it != NULL; it = it->next)
		someone_waits = someone_waits || it->cb != NULL;
	if (someone_waits) {
		subscriber_queue_start(q);
	} else if (q->head != NULL) {
		uv_timer_start(&q->retry, subscriber_queue_on_retry,
		    SUBSCRIBER_QUEUE_RETRY_MS, 0);
	}
}

/* At a stop: nobody is left waiting for an answer; what is not applied
 * is journaled by subscriber_queue_free(). */
static void
subscriber_queue_release(struct subscriber_queue *q)
{
	struct subscriber_queue_item *it;

	for (it = q->head; it != NULL; it = it->next) {
		if (it->cb != NULL)
			it->cb(it->arg, SUBSCRIBER_QUEUE_QUEUED, 0);
		it->cb = NULL;
	}
}

/* Hands the whole list to a job, unless one runs (its end starts the
 * next). */
static void
subscriber_queue_start(struct subscriber_queue *q)
{
	struct subscriber_queue_item *it;
	size_t i = 0;

	if (q->busy || q->head == NULL || q->stopping)
		return;
	uv_timer_stop(&q->retry);
	q->job =
	    xreallocarray(NULL, q->n, sizeof(struct subscriber_queue_item *));
	for (it = q->head; it != NULL; it = it->next)
		q->job[i++] = it;
	q->job_n = i;
	q->work.data = q;
	if (uv_queue_work(q->loop, &q->work, subscriber_queue_on_work,
		subscriber_queue_on_done) != 0) {
		free(q->job);
		q->job = NULL;
		q->job_n = 0;
		uv_timer_start(&q->retry, subscriber_queue_on_retry,
		    SUBSCRIBER_QUEUE_RETRY_MS, 0);
		return;
	}
	q->busy = true;
}

/* ------------------------------------------------------------ API */

struct subscriber_queue *
subscriber_queue_new(uv_loop_t *loop, const char *database)
{
	struct subscriber_queue *q = xcalloc(1, sizeof(*q));

	q->loop = loop;
	q->database = xstrdup(database);
	q->journal = xasprintf("%s-changes", database);
	uv_timer_init(loop, &q->retry);
	q->retry.data = q;
	subscriber_queue_load(q);
	subscriber_queue_start(q);
	return q;
}

void
subscriber_queue_stop(struct subscriber_queue *q)
{
	if (q == NULL || q->stopping)
		return;
	q->stopping = true;
	uv_close((uv_handle_t *)&q->retry, NULL);
	if (!q->busy)
		subscriber_queue_release(q);
}

void
subscriber_queue_free(struct subscriber_queue *q)
{
	struct subscriber_queue_item *it, *next, **items;
	size_t i = 0;
	int ret;

	if (q == NULL)
		return;
	items = xreallocarray(
	    NULL, q->n + 1, sizeof(struct subscriber_queue_item *));
	for (it = q->head; it != NULL; it = it->next)
		items[i++] = it;
	ret = subscriber_queue_append(q->journal, items, i);
	if (ret != 0)
		log_warnx("subscriber queue cannot keep changes=%zu in %s: %s",
		    i, q->journal, strerror(-ret));
	else if (i > 0)
		log_notice("subscriber queue changes=%zu wait in %s for the "
			   "next start",
		    i, q->journal);
	free(items);
	for (it = q->head; it != NULL; it = next) {
		next = it->next;
		free(it);
	}
	if (q->db != NULL)
		db_close(q->db);
	free(q->job);
	free(q->database);
	free(q->journal);
	free(q);
}

void
subscriber_queue_submit(struct subscriber_queue *q,
    enum subscriber_change change, int64_t id, const char *frequency,
    const char *source, subscriber_queue_cb cb, void *arg)
{
	struct subscriber_queue_item *it =
	    subscriber_queue_item_new(change, id, frequency, source);

	it->cb = cb;
	it->arg = arg;
	subscriber_queue_push(q, it);
	subscriber_queue_start(q);
}

bool
subscriber_queue_has(
    const struct subscriber_queue *q, enum subscriber_change change, int64_t id)
{
	const struct subscriber_queue_item *it;

	for (it = q->head; it != NULL; it = it->next)
		if (it->change == change && it->id == id)
			return true;
	return false;
}

size_t
subscriber_queue_waiting(const struct subscriber_queue *q)
{
	return q->n;
}
