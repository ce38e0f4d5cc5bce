/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon: see daemon.h. Handles are created in order and torn down in
 * reverse; every handle lives in struct daemon and memory is released
 * only after the last close callback.
 *
 * A "generation" is one loaded config with its templates and secret,
 * and the sender built from them. SIGHUP builds a new generation beside
 * the old one and swaps only when all of it loaded; the old sender then
 * finishes what it has in flight and is freed.
 */
#include "config.h"

#include "daemon.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce/bounce_poll.h"
#include "cfg.h"
#include "checkpoint.h"
#include "clock.h"
#include "daemon_gen.h"
#include "daemon_proc.h"
#include "db.h"
#include "feed_poll.h"
#include "http_pages.h"
#include "job.h"
#include "job_poll.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "send/sender.h"
#include "send/sentlog.h"
#include "util.h"

/* How long without a file event before the database is looked at
 * anyway (a filesystem without inotify, or a missed event). */
#define DAEMON_POLL_MS 30000
/* Coalesces a burst of file events into one look. */
#define DAEMON_SETTLE_MS 50
/* A job that failed (the website held the lock) runs again this soon. */
#define DAEMON_RETRY_MS 5000

struct daemon {
	uv_loop_t loop;
	const struct daemon_opts *opts;
	int lock_fd; /* DATABASE.lock, held for the life of the process */
	sqlite3 *db;
	sqlite3 *work_db;              /* the job poller's */
	struct checkpoint *checkpoint; /* of db, off the loop */
	struct outbox *outbox;
	struct daemon_gen *gen;
	uv_signal_t sig_term;
	uv_signal_t sig_int;
	uv_signal_t sig_hup;
	uv_timer_t watch_timer;
	uv_fs_event_t watch_fs;
	bool watch_fs_active;
	int64_t data_version;
	struct job_poll *jobs;
	uv_timer_t job_timer; /* the next time-based job falls due */
	bool jobs_wait_feed;  /* jobs that read posts wait for a feed poll */
	struct feed_poll *feed;
	uv_timer_t feed_timer;
	struct bounce_poll *bounce;
	uv_timer_t bounce_timer;
	bool reload_pending; /* SIGHUP during a job pass */
	int retiring;        /* old generations still stopping */
	/* The running generation's sender has stopped; the generation
	 * itself is freed after the loop, once no worker can read it. */
	bool sender_stopped;
	/* NULL: no [http] listen, or --once. */
	struct http_pages *pages;
	bool stopping;
};

/* Whether a poller is at work; the loop may end only when none is. */
static bool
daemon_busy(const struct daemon *d)
{
	return (d->jobs != NULL && job_poll_busy(d->jobs)) ||
	    (d->feed != NULL && feed_poll_busy(d->feed)) ||
	    (d->bounce != NULL && bounce_poll_busy(d->bounce));
}

static void daemon_begin_stop(struct daemon *d);

/* Ends the loop once a stop has begun and nothing is left running: the
 * sender of every generation stopped and no poller at work. */
static void
daemon_maybe_finish(struct daemon *d)
{
	if (d->stopping && d->sender_stopped && d->retiring == 0 &&
	    !daemon_busy(d) &&
	    (d->checkpoint == NULL || !checkpoint_busy(d->checkpoint)))
		uv_stop(&d->loop);
}

static void
daemon_on_checkpoint(void *arg)
{
	daemon_maybe_finish(arg);
}
static void daemon_reload(struct daemon *d);
static void daemon_run_jobs(struct daemon *d);

static void
daemon_on_idle(void *arg)
{
	struct daemon *d = arg;

	if (d->opts->once && !d->stopping && !daemon_busy(d)) {
		log_info("daemon drained, exiting (--once)");
		daemon_begin_stop(d);
	}
}

static int
daemon_start_sender(struct daemon *d, struct daemon_gen *g)
{
	char *err = NULL;

	g->env.db = d->db;
	g->sender = sender_new(&d->loop, &g->env, d->outbox, &err);
	if (g->sender == NULL) {
		log_errx("transport %s", err != NULL ? err : "failed");
		free(err);
		return -EINVAL;
	}
	sender_set_idle_cb(g->sender, daemon_on_idle, d);
	return 0;
}

static void
daemon_on_job_timer(uv_timer_t *h)
{
	daemon_run_jobs(h->data);
}

/* Arms the job timer for the earliest time-based job ahead, as the last
 * pass found it. */
static void
daemon_arm_jobs(struct daemon *d)
{
	time_t now = clock_now(), when;
	uint64_t ms;

	uv_timer_stop(&d->job_timer);
	if (d->opts->once || job_poll_next_due(d->jobs, &when) != 0)
		return;
	ms = when > now ? (uint64_t)(when - now) * 1000 : 0;
	log_debug("daemon next job in=%llus", (unsigned long long)(ms / 1000));
	uv_timer_start(&d->job_timer, daemon_on_job_timer, ms, 0);
}

static void
daemon_on_jobs_done(void *arg, int enqueued)
{
	struct daemon *d = arg;

	if (enqueued > 0)
		log_debug("daemon jobs enqueued=%d", enqueued);
	if (d->stopping) {
		daemon_maybe_finish(d);
		return;
	}
	if (d->reload_pending && !job_poll_busy(d->jobs)) {
		/* The pass read the running config; now it may go. */
		d->reload_pending = false;
		daemon_reload(d);
		return;
	}
	daemon_arm_jobs(d);
	/* A job failed (the website held the lock): soon again, not only
	 * at the next change. */
	if (enqueued < 0 && !d->opts->once &&
	    (!uv_is_active((uv_handle_t *)&d->job_timer) ||
		uv_timer_get_due_in(&d->job_timer) > JOB_RETRY_SECS * 1000))
		uv_timer_start(&d->job_timer, daemon_on_job_timer,
		    JOB_RETRY_SECS * 1000, 0);
	sender_kick(d->gen->sender);
}

static void
daemon_on_feed_done(void *arg, bool new_posts)
{
	struct daemon *d = arg;
	bool waiting = d->jobs_wait_feed;

	d->jobs_wait_feed = false;
	if (d->stopping)
		daemon_maybe_finish(d);
	else if (new_posts || waiting)
		daemon_run_jobs(d);
	else
		sender_kick(d->gen->sender);
}

static void
daemon_poll_feed(struct daemon *d)
{
	int ret;

	if (d->stopping || d->gen->cfg->feed_url == NULL)
		return;
	ret = feed_poll_start(d->feed, d->gen->cfg, daemon_on_feed_done, d);
	if (ret != 0 && ret != -EBUSY)
		log_warnx("feed cannot start a fetch url=%s: %s",
		    d->gen->cfg->feed_url, strerror(-ret));
}

static void
daemon_on_feed_timer(uv_timer_t *h)
{
	struct daemon *d = h->data;

	daemon_poll_feed(d);
	if (!d->opts->once && d->gen->cfg->feed_every > 0)
		uv_timer_start(&d->feed_timer, daemon_on_feed_timer,
		    (uint64_t)d->gen->cfg->feed_every * 1000, 0);
}

/* A bounce poll reads the mailbox in the thread pool and records on
 * the loop (bounce_poll.c); new suppressions matter to the queue. */
static void
daemon_on_bounces_done(void *arg)
{
	struct daemon *d = arg;

	if (d->stopping)
		daemon_maybe_finish(d);
	else
		sender_kick(d->gen->sender);
}

static void
daemon_on_bounce_timer(uv_timer_t *h)
{
	struct daemon *d = h->data;
	const struct cfg *cfg = d->gen->cfg;
	int ret;

	if (cfg->bounce_source == NULL || d->stopping)
		return;
	ret = bounce_poll_start(
	    d->bounce, cfg, d->gen->secret, daemon_on_bounces_done, d);
	if (ret != 0 && ret != -EBUSY)
		log_warnx("bounce cannot start a poll source=%s: %s",
		    cfg->bounce_source, uv_strerror(ret));
	if (!d->opts->once && cfg->bounce_every > 0)
		uv_timer_start(&d->bounce_timer, daemon_on_bounce_timer,
		    (uint64_t)cfg->bounce_every * 1000, 0);
}

/* Starts a pass of every job (job_poll.h); its end arms the job timer
 * and wakes the sender. A post published just before a digest's time
 * may not be in the table yet: when a job that reads posts fell due
 * since the last feed poll, the feed is polled first and those jobs
 * run when it ends, whatever its outcome; the others run now. */
static void
daemon_run_jobs(struct daemon *d)
{
	const struct cfg *cfg;
	time_t now = clock_now();
	bool secret, posts = true;
	int ret;

	if (d->stopping)
		return;
	cfg = d->gen->cfg;
	secret = d->gen->secret != NULL;
	if (cfg->feed_url != NULL &&
	    job_wants_feed(cfg, secret, now, feed_poll_polled(d->feed))) {
		daemon_poll_feed(d);
		if (feed_poll_busy(d->feed)) {
			d->jobs_wait_feed = true;
			posts = false;
		}
	}
	ret = job_poll_start(
	    d->jobs, cfg, secret, now, posts, daemon_on_jobs_done, d);
	if (ret != 0)
		log_warnx("daemon cannot start the jobs: %s; retrying at the "
			  "next change",
		    uv_strerror(ret));
}

static void
daemon_check_db(struct daemon *d)
{
	int64_t v = db_data_version(d->db);

	if (v == d->data_version)
		return;
	d->data_version = v;
	log_debug("daemon database changed data_version=%lld", (long long)v);
	daemon_run_jobs(d);
}

static void
daemon_on_watch_timer(uv_timer_t *h)
{
	struct daemon *d = h->data;

	daemon_check_db(d);
	uv_timer_start(
	    &d->watch_timer, daemon_on_watch_timer, DAEMON_POLL_MS, 0);
}

static void
daemon_on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct daemon *d = h->data;

	(void)name;
	(void)events;
	(void)status;
	/* Re-arm the watch timer to look shortly; bursts coalesce. */
	if (uv_timer_get_due_in(&d->watch_timer) > DAEMON_SETTLE_MS)
		uv_timer_start(&d->watch_timer, daemon_on_watch_timer,
		    DAEMON_SETTLE_MS, 0);
}

static void
daemon_on_old_sender_stopped(void *arg)
{
	struct daemon_gen *g = arg;
	struct daemon *d = g->d;

	daemon_gen_free(g);
	d->retiring--;
	daemon_maybe_finish(d);
}

static void
daemon_reload(struct daemon *d)
{
	struct daemon_gen *g, *old;
	int code;

	if (job_poll_busy(d->jobs)) {
		/* The pass reads the running config; reload once it is
		 * done. */
		d->reload_pending = true;
		return;
	}
	log_info("daemon reload config=%s", d->opts->config_path);
	g = daemon_gen_load(d->opts->config_path, &code);
	if (g != NULL)
		g->d = d;
	if (g == NULL) {
		log_errx("daemon reload failed; keeping the running config");
		return;
	}
	if (clock_set_timezone(g->cfg->timezone) != 0 ||
	    daemon_start_sender(d, g) != 0) {
		log_errx("daemon reload failed; keeping the running config");
		clock_set_timezone(d->gen->cfg->timezone);
		daemon_gen_free(g);
		return;
	}
	log_init(g->cfg->log_level);
	old = d->gen;
	d->gen = g;
	if (d->pages != NULL)
		http_pages_set_config(
		    d->pages, g->cfg, g->secret, g->env.secret_len);
	if (d->pages != NULL &&
	    (g->cfg->http_listen == NULL || old->cfg->http_listen == NULL ||
		strcmp(g->cfg->http_listen, old->cfg->http_listen) != 0))
		log_notice("daemon [http] listen changed; restart to apply");
	d->retiring++;
	sender_stop(old->sender, daemon_on_old_sender_stopped, old);
	daemon_run_jobs(d);
	log_info("daemon reloaded");
}

static void
daemon_on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (signum == SIGHUP) {
		if (!d->stopping) {
			daemon_proc_notify("RELOADING=1");
			daemon_reload(d);
			daemon_proc_notify("READY=1");
		}
		return;
	}
	log_info("daemon stopping signal=%s", strsignal(signum));
	daemon_begin_stop(d);
}

static void
daemon_on_sender_stopped(void *arg)
{
	struct daemon_gen *g = arg;
	struct daemon *d = g->d;

	/* A job pass may still read g->cfg: keep it
	 * until the loop has finished (freed at the end of daemon_run). */
	g->sender = NULL;
	d->sender_stopped = true;
	daemon_maybe_finish(d);
}

static void
daemon_begin_stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	daemon_proc_notify("STOPPING=1");
	uv_timer_stop(&d->watch_timer);
	uv_timer_stop(&d->job_timer);
	uv_timer_stop(&d->feed_timer);
	uv_timer_stop(&d->bounce_timer);
	http_pages_stop(d->pages);
	/* A fetch in flight is dropped; the next start polls. */
	feed_poll_stop(d->feed);
	if (d->watch_fs_active)
		uv_fs_event_stop(&d->watch_fs);
	sender_stop(d->gen->sender, daemon_on_sender_stopped, d->gen);
}

static void
daemon_on_close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* The subscriber pages; a listen address that cannot be bound stops
 * the start: unsubscribe links that do not work break the law. */
static int
daemon_start_http(struct daemon *d)
{
	char *err = NULL;

	d->pages = http_pages_new(&d->loop, d->db);
	http_pages_set_config(
	    d->pages, d->gen->cfg, d->gen->secret, d->gen->env.secret_len);
	if (http_pages_listen(d->pages, &err) != 0) {
		log_errx("config %s: [http] listen %s", d->gen->cfg->path, err);
		free(err);
		return -EADDRINUSE;
	}
	return 0;
}

/* Watches the database's folder: the website's commits touch it (the
 * WAL file), and a change there is the cue to look. Without inotify,
 * the watch timer alone looks every DAEMON_POLL_MS. */
static void
daemon_watch(struct daemon *d)
{
	char *dbdir = xstrdup(d->gen->cfg->database);

	if (uv_fs_event_init(&d->loop, &d->watch_fs) == 0 &&
	    uv_fs_event_start(
		&d->watch_fs, daemon_on_fs_event, dirname(dbdir), 0) == 0)
		d->watch_fs_active = true;
	else
		log_notice("daemon cannot watch %s; polling every %ds",
		    d->gen->cfg->database, DAEMON_POLL_MS / 1000);
	free(dbdir);
	uv_timer_start(
	    &d->watch_timer, daemon_on_watch_timer, DAEMON_POLL_MS, 0);
}

/* Why the database could not be opened: SQLite's failures in words of
 * their own (db_strerror()), the system's (a folder, a missing parent)
 * in the system's. */
static const char *
daemon_db_why(int ret)
{
	switch (ret) {
	case -EBUSY:
	case -EILSEQ:
	case -EPROTO:
	case -EEXIST:
		return db_strerror(ret);
	default:
		return strerror(-ret);
	}
}

/* Opens and migrates the database, and puts the messages a crash left
 * in flight where they belong: the sent log's acceptances are sent,
 * the rest queued again. Returns 0 or an exit status (logged). */
static int
daemon_open_db(struct daemon *d)
{
	const char *database = d->gen->cfg->database;
	const char *why = NULL;
	int ret;

	ret = daemon_proc_lock(d->gen->cfg->database, &d->lock_fd);
	if (ret != 0)
		return ret;
	ret = db_open(database, true, &d->db);
	if (ret == 0 && migrate_run(d->db) < 0) {
		ret = -EIO;
		why = "cannot migrate the schema";
	}
	if (ret == 0)
		ret = db_open(database, false, &d->work_db);
	if (ret == 0) {
		d->outbox = outbox_new(d->db);
		if (d->outbox == NULL) {
			ret = -EIO;
			why = "cannot prepare the outbox";
		}
	}
	if (ret == 0 && sentlog_replay(database, d->db, d->outbox) < 0) {
		ret = -EIO;
		why = "cannot replay the sent log";
	}
	if (ret == 0 && outbox_requeue_sending(d->outbox, clock_now()) < 0) {
		ret = -EIO;
		why = "cannot requeue messages left sending";
	}
	if (ret != 0) {
		log_errx("daemon cannot use database %s: %s", database,
		    why != NULL ? why : daemon_db_why(ret));
		return 1;
	}
	return 0;
}

/* Creates the loop's handles in order; 0 or a libuv error (logged). */
static int
daemon_start(struct daemon *d)
{
	int ret;

	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	d->watch_timer.data = d->watch_fs.data = d->job_timer.data = d;
	d->feed_timer.data = d->bounce_timer.data = d;
	ret = uv_signal_init(&d->loop, &d->sig_term);
	if (ret == 0)
		ret = uv_signal_start(&d->sig_term, daemon_on_signal, SIGTERM);
	if (ret == 0)
		ret = uv_signal_init(&d->loop, &d->sig_int);
	if (ret == 0)
		ret = uv_signal_start(&d->sig_int, daemon_on_signal, SIGINT);
	if (ret == 0)
		ret = uv_signal_init(&d->loop, &d->sig_hup);
	if (ret == 0)
		ret = uv_signal_start(&d->sig_hup, daemon_on_signal, SIGHUP);
	if (ret == 0)
		ret = uv_timer_init(&d->loop, &d->watch_timer);
	if (ret == 0)
		ret = uv_timer_init(&d->loop, &d->job_timer);
	if (ret == 0)
		ret = uv_timer_init(&d->loop, &d->feed_timer);
	if (ret == 0)
		ret = uv_timer_init(&d->loop, &d->bounce_timer);
	if (ret != 0) {
		log_errx("daemon cannot start: %s", uv_strerror(ret));
		return ret;
	}
	d->checkpoint = checkpoint_new(
	    &d->loop, d->db, d->gen->cfg->database, daemon_on_checkpoint, d);
	d->jobs = job_poll_new(&d->loop, d->work_db);
	d->feed = feed_poll_new(&d->loop);
	d->bounce = bounce_poll_new(&d->loop, d->db);
	ret = daemon_start_sender(d, d->gen);
	if (ret == 0 && !d->opts->once && d->gen->cfg->http_listen != NULL)
		ret = daemon_start_http(d);
	if (ret == 0 && !d->opts->once)
		daemon_watch(d);
	return ret;
}

int
daemon_run(const struct daemon_opts *opts)
{
	struct daemon d = { .opts = opts, .lock_fd = -1 };
	int code, ret;

	/* A reset connection must come back as an error on that send, not
	 * kill the daemon with its queue half committed. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (opts->fake_now)
		clock_set_fake(opts->now);

	code = daemon_proc_become_user(opts->config_path);
	if (code != 0)
		return code;
	d.gen = daemon_gen_load(opts->config_path, &code);
	if (d.gen == NULL)
		return code;
	d.gen->d = &d;
	log_init(d.gen->cfg->log_level);
	if (clock_set_timezone(d.gen->cfg->timezone) != 0) {
		log_errx("config %s: [daemon] timezone %s: unknown zone",
		    d.gen->cfg->path, d.gen->cfg->timezone);
		daemon_gen_free(d.gen);
		return CFG_EX_CONFIG;
	}
	code = daemon_open_db(&d);
	if (code != 0)
		goto out_db;
	/* From here the connection is the loop's: a write the website's
	 * lock holds up fails fast and is retried, never stalls the loop. */
	if (!opts->once)
		sqlite3_busy_timeout(d.db, DB_LOOP_BUSY_TIMEOUT_MS);
	code = 1;
	if (!opts->foreground && !opts->once && daemon_proc_detach() != 0) {
		log_warn("daemon detach");
		goto out_db;
	}
	ret = uv_loop_init(&d.loop);
	if (ret != 0) {
		log_errx("daemon loop init: %s", uv_strerror(ret));
		goto out_db;
	}
	if (daemon_start(&d) == 0) {
		d.data_version = db_data_version(d.db);
		log_info("daemon started version=%s config=%s transport=%s%s",
		    PACKAGE_VERSION, opts->config_path,
		    d.gen->cfg->transport == CFG_TRANSPORT_SMTP ? "smtp"
								: "maildir",
		    opts->once ? " once" : "");
		daemon_run_jobs(&d);
		daemon_on_feed_timer(&d.feed_timer);
		daemon_on_bounce_timer(&d.bounce_timer);
		daemon_proc_notify("READY=1");
		uv_run(&d.loop, UV_RUN_DEFAULT);
		code = 0;
	}
	if (d.gen->sender != NULL && !d.stopping) {
		/* Start-up failed half-way: stop what started. */
		daemon_begin_stop(&d);
		uv_run(&d.loop, UV_RUN_DEFAULT);
	}
	if (d.feed != NULL)
		feed_poll_stop(d.feed);
	uv_walk(&d.loop, daemon_on_close_walk, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	uv_loop_close(&d.loop);
	http_pages_free(d.pages);
	bounce_poll_free(d.bounce);
	feed_poll_free(d.feed);
	job_poll_free(d.jobs);
	checkpoint_free(d.checkpoint);
out_db:
	daemon_gen_free(d.gen);
	outbox_free(d.outbox);
	db_close(d.work_db);
	db_close(d.db);
	if (d.lock_fd != -1)
		close(d.lock_fd);
	if (code == 0)
		log_info("daemon stopped");
	return code;
}
