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
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "bounce/bounce_poll.h"
#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "feed.h"
#include "fetch.h"
#include "http_pages.h"
#include "job_cancel.h"
#include "job_confirm.h"
#include "job_digest.h"
#include "job_optin.h"
#include "job_remind.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "send/compose.h"
#include "send/sender.h"
#include "send/sentlog.h"
#include "tmpl/tmpl.h"
#include "util.h"

/* How long without a file event before the database is looked at
 * anyway (a filesystem without inotify, or a missed event). */
#define DAEMON_POLL_MS 30000
/* Coalesces a burst of file events into one look. */
#define DAEMON_SETTLE_MS 50
/* A job that failed (the website held the lock) runs again this soon. */
#define DAEMON_RETRY_MS 5000

struct daemon_gen {
	struct cfg *cfg;
	struct tmpl_set *tmpls;
	char *secret;
	struct compose_env env;
	struct sender *sender;
	struct daemon *d;
};

struct daemon {
	uv_loop_t loop;
	const struct daemon_opts *opts;
	sqlite3 *db;
	sqlite3 *work_db; /* used by one thread-pool job at a time */
	struct outbox *outbox;
	struct daemon_gen *gen;
	uv_signal_t sig_term;
	uv_signal_t sig_int;
	uv_signal_t sig_hup;
	uv_timer_t watch_timer;
	uv_timer_t job_timer; /* the next time-based job falls due */
	uv_fs_event_t watch_fs;
	bool watch_fs_active;
	int64_t data_version;
	struct fetch *fetch;
	uv_timer_t feed_timer;
	uv_work_t feed_req;
	struct buf feed_body; /* the fetched feed, for the worker */
	int feed_result;
	const char *feed_why;
	bool feed_busy;         /* fetching or storing */
	time_t feed_started;    /* when the poll in flight began */
	time_t feed_polled;     /* when the last finished poll began */
	bool digest_waits_feed; /* a due digest waits for that poll */
	struct bounce_poll *bounce_poll;
	uv_timer_t bounce_timer;
	uv_work_t digest_req;
	bool digest_busy;  /* digest_req is in the thread pool */
	bool digest_again; /* asked for while busy: run once more */
	bool reload_pending;
	time_t digest_now;
	int digest_result;
	int retiring; /* old generations still stopping */
	/* The running generation's sender has stopped; the generation
	 * itself is freed after the loop, once no worker can read it. */
	bool sender_stopped;
	/* NULL: no [http] listen, or --once. */
	struct http_pages *pages;
	bool stopping;
};

static void daemon_begin_stop(struct daemon *d);

/* Ends the loop once a stop has begun and nothing is left running: the
 * sender of every generation stopped and no thread-pool job pending. */
static void
daemon_maybe_finish(struct daemon *d)
{
	if (d->stopping && d->sender_stopped && d->retiring == 0 &&
	    !d->digest_busy && !d->feed_busy &&
	    (d->bounce_poll == NULL || !bounce_poll_busy(d->bounce_poll)))
		uv_stop(&d->loop);
}
static void daemon_reload(struct daemon *d);
static void daemon_run_jobs(struct daemon *d);

static void
daemon_gen_free(struct daemon_gen *g)
{
	if (g == NULL)
		return;
	tmpl_set_free(g->tmpls);
	if (g->secret != NULL) {
		explicit_bzero(g->secret, strlen(g->secret));
		free(g->secret);
	}
	cfg_free(g->cfg);
	free(g);
}

/* Loads config, templates and secret. NULL on any error (reported). */
static struct daemon_gen *
daemon_gen_load(struct daemon *d, int *exit_code)
{
	struct daemon_gen *g = xcalloc(1, sizeof(*g));
	struct tmpl_error terr;
	const char *why = NULL;
	char *errors = NULL;

	g->d = d;
	*exit_code = CFG_EX_CONFIG;
	g->cfg = cfg_load(d->opts->config_path, &errors);
	if (g->cfg == NULL) {
		fputs(errors != NULL ? errors : "config: unknown error\n",
		    stderr);
		free(errors);
		goto fail;
	}
	g->tmpls = tmpl_set_load(g->cfg->templates, &terr);
	if (g->tmpls == NULL) {
		char msg[600];

		log_errx(
		    "templates %s", tmpl_error_format(&terr, msg, sizeof(msg)));
		goto fail;
	}
	if (g->cfg->secret_file != NULL &&
	    cfg_read_secret(g->cfg->secret_file, &g->secret, &why) != 0) {
		log_errx("config %s: [unsubscribe] secret_file %s: %s",
		    g->cfg->path, g->cfg->secret_file, why);
		goto fail;
	}
	g->env.db = d->db;
	g->env.cfg = g->cfg;
	g->env.tmpls = g->tmpls;
	g->env.secret = g->secret;
	g->env.secret_len = g->secret != NULL ? strlen(g->secret) : 0;
	*exit_code = 0;
	return g;
fail:
	daemon_gen_free(g);
	return NULL;
}

static void
daemon_on_idle(void *arg)
{
	struct daemon *d = arg;

	if (d->opts->once && !d->stopping && !d->digest_busy && !d->feed_busy &&
	    (d->bounce_poll == NULL || !bounce_poll_busy(d->bounce_poll))) {
		log_info("daemon drained, exiting (--once)");
		daemon_begin_stop(d);
	}
}

static int
daemon_gen_start(struct daemon *d, struct daemon_gen *g)
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

/* Arms the job timer for the earliest time-based job ahead. */
static void
daemon_arm_jobs(struct daemon *d, time_t now)
{
	time_t when, digest;
	uint64_t ms;

	uv_timer_stop(&d->job_timer);
	if (d->opts->once)
		return;
	digest = job_digest_next_due(d->gen->cfg, now);
	if (job_remind_next_due(d->db, d->gen->cfg, now, &when) != 0 ||
	    digest < when)
		when = digest;
	ms = when > now ? (uint64_t)(when - now) * 1000 : 0;
	log_debug("daemon next job in=%llus", (unsigned long long)(ms / 1000));
	uv_timer_start(&d->job_timer, daemon_on_job_timer, ms, 0);
}

/* The feed is parsed and stored in the thread pool on a connection of
 * its own: a big feed takes longer to parse than a loop callback may. */
static void
daemon_on_feed_work(uv_work_t *req)
{
	struct daemon *d = req->data;
	struct feed *feed = NULL;
	sqlite3 *db;

	d->feed_why = NULL;
	d->feed_result = feed_parse(
	    d->feed_body.data, d->feed_body.len, &feed, &d->feed_why);
	if (d->feed_result != 0)
		return;
	d->feed_result = db_open(d->gen->cfg->database, false, &db);
	if (d->feed_result == 0) {
		d->feed_result = feed_store(db, feed);
		if (d->feed_result < 0)
			d->feed_why = "database error";
		db_close(db);
	}
	feed_free(feed);
}

/* A feed poll has ended (stored, refused or failed): runs the jobs if
 * it brought posts or a digest was waiting for it, else wakes the
 * sender. */
static void
daemon_feed_finished(struct daemon *d, bool new_posts)
{
	bool waiting = d->digest_waits_feed;

	d->feed_polled = d->feed_started;
	d->digest_waits_feed = false;
	if (d->stopping) {
		daemon_maybe_finish(d);
		return;
	}
	if (d->reload_pending && !d->digest_busy) {
		/* A SIGHUP came while the feed was in flight; the reload
		 * runs the jobs. */
		d->reload_pending = false;
		daemon_reload(d);
		return;
	}
	if (new_posts || waiting)
		daemon_run_jobs(d);
	else
		sender_kick(d->gen->sender);
}

static void
daemon_on_feed_stored(uv_work_t *req, int status)
{
	struct daemon *d = req->data;

	d->feed_busy = false;
	buf_reset(&d->feed_body);
	if (status != 0 || d->feed_result < 0)
		log_warnx("feed rejected url=%s error=\"%s\"; posts kept, "
			  "retrying at the next poll",
		    d->gen->cfg->feed_url,
		    d->feed_why != NULL ? d->feed_why : "?");
	else
		log_info("feed polled url=%s new_posts=%d",
		    d->gen->cfg->feed_url, d->feed_result);
	daemon_feed_finished(d, status == 0 && d->feed_result > 0);
}

static void
daemon_on_feed_fetched(
    void *arg, int err, long status, const struct buf *body, const char *errmsg)
{
	struct daemon *d = arg;

	if (err != 0 || status != 200) {
		d->feed_busy = false;
		if (err != 0)
			log_warnx("feed fetch failed url=%s error=\"%s\"; "
				  "retrying at the next poll",
			    d->gen->cfg->feed_url, errmsg);
		else
			log_warnx("feed fetch failed url=%s status=%ld; "
				  "retrying at the next poll",
			    d->gen->cfg->feed_url, status);
		daemon_feed_finished(d, false);
		return;
	}
	buf_reset(&d->feed_body);
	buf_append(&d->feed_body, body->data, body->len);
	d->feed_req.data = d;
	if (uv_queue_work(&d->loop, &d->feed_req, daemon_on_feed_work,
		daemon_on_feed_stored) != 0) {
		d->feed_busy = false;
		buf_reset(&d->feed_body);
		daemon_feed_finished(d, false);
	}
}

static void
daemon_poll_feed(struct daemon *d)
{
	const struct cfg *cfg = d->gen->cfg;

	if (cfg->feed_url == NULL || d->feed_busy || d->stopping)
		return;
	if (d->fetch == NULL)
		d->fetch = fetch_new(&d->loop);
	if (d->fetch == NULL ||
	    fetch_get(d->fetch, cfg->feed_url, FEED_MAX_SIZE, 60,
		daemon_on_feed_fetched, d) != 0) {
		log_warnx("feed cannot start a fetch url=%s", cfg->feed_url);
		return;
	}
	d->feed_busy = true;
	d->feed_started = clock_now();
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
	    d->bounce_poll, cfg, d->gen->secret, daemon_on_bounces_done, d);
	if (ret != 0 && ret != -EBUSY)
		log_warnx("bounce cannot start a poll source=%s: %s",
		    cfg->bounce_source, uv_strerror(ret));
	if (!d->opts->once && cfg->bounce_every > 0)
		uv_timer_start(&d->bounce_timer, daemon_on_bounce_timer,
		    (uint64_t)cfg->bounce_every * 1000, 0);
}

/* The digest job runs in the thread pool: enqueueing a large list takes
 * longer than a loop callback may. It has its own connection, and the
 * config it reads is the generation's, which outlives the work (a reload
 * waits: see daemon_reload()). */
static void
daemon_on_digest_work(uv_work_t *req)
{
	struct daemon *d = req->data;

	d->digest_result =
	    job_digest_run(d->work_db, d->gen->cfg, d->digest_now);
}

static void daemon_start_digest(struct daemon *d, time_t now);

static void
daemon_on_digest_done(uv_work_t *req, int status)
{
	struct daemon *d = req->data;

	d->digest_busy = false;
	if (status != 0 || d->digest_result < 0)
		log_warnx("job digest failed; retrying at the next run");
	else if (d->digest_result > 0)
		log_info("job digest enqueued=%d", d->digest_result);
	if (d->stopping) {
		daemon_maybe_finish(d);
		return;
	}
	if (d->reload_pending) {
		d->reload_pending = false;
		daemon_reload(d);
	}
	if (d->digest_again) {
		d->digest_again = false;
		daemon_start_digest(d, clock_now());
	}
	sender_kick(d->gen->sender);
}

static void
daemon_start_digest(struct daemon *d, time_t now)
{
	if (d->digest_busy) {
		d->digest_again = true;
		return;
	}
	d->digest_req.data = d;
	d->digest_now = now;
	if (uv_queue_work(&d->loop, &d->digest_req, daemon_on_digest_work,
		daemon_on_digest_done) == 0)
		d->digest_busy = true;
}

/* Runs every job that may have work now, then wakes the sender. Jobs
 * only enqueue; a failed job is retried at the next change or timer. */
static void
daemon_run_jobs(struct daemon *d)
{
	const struct cfg *cfg;
	time_t now = clock_now();
	bool failed = false;

	if (d->stopping)
		return;
	cfg = d->gen->cfg;
	if (job_confirm_run(d->db, now) < 0) {
		log_warnx("job confirm failed; retrying in 5s");
		failed = true;
	}
	if (job_cancel_run(d->db, now) < 0) {
		log_warnx("job cancel failed; retrying in 5s");
		failed = true;
	}
	if (job_remind_run(d->db, cfg, now) < 0) {
		log_warnx("job remind failed; retrying in 5s");
		failed = true;
	}
	/* Mail to subscribers needs working unsubscribe links. */
	if (cfg->unsubscribe_url != NULL && d->gen->secret != NULL) {
		if (job_optin_run(d->db, now) < 0)
			log_warnx("job optin failed; retrying at the next "
				  "change");
		/* A post published just before a digest's time may not be
		 * in the table yet: poll the feed first, and open the
		 * digest when that poll has finished, whatever its
		 * outcome. */
		if (cfg->feed_url != NULL &&
		    d->feed_polled < job_digest_last_due(cfg, now))
			daemon_poll_feed(d);
		if (cfg->feed_url != NULL && d->feed_busy &&
		    d->feed_polled < job_digest_last_due(cfg, now))
			d->digest_waits_feed = true;
		else
			daemon_start_digest(d, now);
	}
	daemon_arm_jobs(d, now);
	if (failed && !d->opts->once)
		uv_timer_start(
		    &d->job_timer, daemon_on_job_timer, DAEMON_RETRY_MS, 0);
	sender_kick(d->gen->sender);
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

	if (d->digest_busy || d->feed_busy) {
		/* The workers read the running config; reload once they
		 * are done. */
		d->reload_pending = true;
		return;
	}
	log_info("daemon reload config=%s", d->opts->config_path);
	g = daemon_gen_load(d, &code);
	if (g == NULL) {
		log_errx("daemon reload failed; keeping the running config");
		return;
	}
	if (clock_set_timezone(g->cfg->timezone) != 0 ||
	    daemon_gen_start(d, g) != 0) {
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

/* Tells the service manager (a unit of Type=notify) what the daemon is
 * doing; nothing when built without libsystemd or not started by it. */
static void
daemon_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

static void
daemon_on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (signum == SIGHUP) {
		if (!d->stopping) {
			daemon_notify("RELOADING=1");
			daemon_reload(d);
			daemon_notify("READY=1");
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

	/* A digest, feed or bounce worker may still read g->cfg: keep it
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
	daemon_notify("STOPPING=1");
	uv_timer_stop(&d->watch_timer);
	uv_timer_stop(&d->job_timer);
	uv_timer_stop(&d->feed_timer);
	uv_timer_stop(&d->bounce_timer);
	http_pages_stop(d->pages);
	if (d->fetch != NULL && d->feed_busy && d->feed_body.len == 0) {
		/* A fetch in flight is dropped; the next start polls. */
		fetch_free(d->fetch);
		d->fetch = NULL;
		d->feed_busy = false;
	}
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

static int
daemon_detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid == -1)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

/*
 * Started as root, the daemon becomes [daemon] user (and its groups) for
 * good, before anything is opened, so that the database, the Maildir and
 * every later reload belong to it. Without that key it refuses to start:
 * a daemon that reads mail from anyone must not run as root by accident.
 * "user = root" is the explicit way to do so anyway. Started as anyone
 * else, it runs as itself. Returns the exit status: 0 to go on,
 * CFG_EX_CONFIG without the key, 1 when the switch fails (logged).
 */
static int
daemon_switch_user(const struct cfg *cfg)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (cfg->user == NULL) {
		log_errx("daemon refusing to run as root: set [daemon] user "
			 "(the account to run as) in %s",
		    cfg->path);
		return CFG_EX_CONFIG;
	}
	errno = 0;
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		log_errx("config %s: [daemon] user %s: no such user", cfg->path,
		    cfg->user);
		return 1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("daemon running as root, as [daemon] user = %s in %s "
			  "asks",
		    cfg->user, cfg->path);
		return 0;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_at(LOG_LEVEL_ERR, true, "daemon cannot become user %s",
		    cfg->user);
		return 1;
	}
	/* Check it cannot come back. */
	if (setuid(0) == 0) {
		log_errx("daemon could become root again after switching to "
			 "%s; refusing to run",
		    cfg->user);
		return 1;
	}
	log_info("daemon running as user=%s uid=%u", pw->pw_name,
	    (unsigned)pw->pw_uid);
	return 0;
}

int
daemon_run(const struct daemon_opts *opts)
{
	struct daemon d = { .opts = opts };
	char *dbdir = NULL;
	int code, ret;

	/* A reset connection must come back as an error on that send, not
	 * kill the daemon with its queue half committed. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (opts->fake_now)
		clock_set_fake(opts->now);

	d.gen = daemon_gen_load(&d, &code);
	if (d.gen == NULL)
		return code;
	log_init(d.gen->cfg->log_level);
	if (clock_set_timezone(d.gen->cfg->timezone) != 0) {
		log_errx("config %s: [daemon] timezone %s: unknown zone",
		    d.gen->cfg->path, d.gen->cfg->timezone);
		daemon_gen_free(d.gen);
		return CFG_EX_CONFIG;
	}
	code = daemon_switch_user(d.gen->cfg);
	if (code != 0) {
		daemon_gen_free(d.gen);
		return code;
	}
	code = 1;
	ret = db_open(d.gen->cfg->database, true, &d.db);
	if (ret == 0)
		ret = migrate_run(d.db) < 0 ? -EIO : 0;
	if (ret == 0)
		ret = db_open(d.gen->cfg->database, false, &d.work_db);
	if (ret == 0) {
		d.outbox = outbox_new(d.db);
		if (d.outbox == NULL)
			ret = -EIO;
	}
	/* Messages a relay accepted before a crash are sent, not queued
	 * again: the sent log first, then what is left sending. */
	if (ret == 0)
		ret = sentlog_replay(d.gen->cfg->database, d.db, d.outbox) < 0
		    ? -EIO
		    : 0;
	if (ret == 0)
		ret = outbox_requeue_sending(d.outbox, clock_now()) < 0 ? -EIO
									: 0;
	if (ret != 0) {
		log_errx("daemon cannot use database %s", d.gen->cfg->database);
		goto out_db;
	}
	/* From here the connection is the loop's: a write the website's
	 * lock holds up fails fast and is retried, never stalls the loop. */
	if (!opts->once)
		sqlite3_busy_timeout(d.db, DB_LOOP_BUSY_TIMEOUT_MS);
	if (!opts->foreground && !opts->once && daemon_detach() != 0) {
		log_warn("daemon detach");
		goto out_db;
	}

	ret = uv_loop_init(&d.loop);
	if (ret != 0) {
		log_errx("daemon loop init: %s", uv_strerror(ret));
		goto out_db;
	}
	d.sig_term.data = d.sig_int.data = d.sig_hup.data = &d;
	d.watch_timer.data = d.watch_fs.data = d.job_timer.data = &d;
	d.feed_timer.data = &d;
	d.bounce_timer.data = &d;
	buf_init(&d.feed_body);
	ret = uv_signal_init(&d.loop, &d.sig_term);
	if (ret == 0)
		ret = uv_signal_start(&d.sig_term, daemon_on_signal, SIGTERM);
	if (ret == 0)
		ret = uv_signal_init(&d.loop, &d.sig_int);
	if (ret == 0)
		ret = uv_signal_start(&d.sig_int, daemon_on_signal, SIGINT);
	if (ret == 0)
		ret = uv_signal_init(&d.loop, &d.sig_hup);
	if (ret == 0)
		ret = uv_signal_start(&d.sig_hup, daemon_on_signal, SIGHUP);
	if (ret == 0)
		ret = uv_timer_init(&d.loop, &d.watch_timer);
	if (ret == 0)
		ret = uv_timer_init(&d.loop, &d.job_timer);
	if (ret == 0)
		ret = uv_timer_init(&d.loop, &d.feed_timer);
	if (ret == 0)
		ret = uv_timer_init(&d.loop, &d.bounce_timer);
	if (ret == 0)
		d.bounce_poll = bounce_poll_new(&d.loop, d.db);
	if (ret == 0)
		ret = daemon_gen_start(&d, d.gen);
	if (ret == 0 && !opts->once && d.gen->cfg->http_listen != NULL)
		ret = daemon_start_http(&d);
	if (ret != 0)
		goto out_loop;

	if (!opts->once) {
		/* The website's commits touch the database's folder (the
		 * WAL file): a change there is the cue to look. */
		dbdir = xstrdup(d.gen->cfg->database);
		if (uv_fs_event_init(&d.loop, &d.watch_fs) == 0 &&
		    uv_fs_event_start(&d.watch_fs, daemon_on_fs_event,
			dirname(dbdir), 0) == 0)
			d.watch_fs_active = true;
		else
			log_notice("daemon cannot watch %s; polling every "
				   "%ds",
			    d.gen->cfg->database, DAEMON_POLL_MS / 1000);
		free(dbdir);
		uv_timer_start(
		    &d.watch_timer, daemon_on_watch_timer, DAEMON_POLL_MS, 0);
	}
	d.data_version = db_data_version(d.db);
	log_info("daemon started version=%s config=%s transport=%s%s",
	    PACKAGE_VERSION, opts->config_path,
	    d.gen->cfg->transport == CFG_TRANSPORT_SMTP ? "smtp" : "maildir",
	    opts->once ? " once" : "");
	daemon_run_jobs(&d);
	daemon_on_feed_timer(&d.feed_timer);
	daemon_on_bounce_timer(&d.bounce_timer);
	daemon_notify("READY=1");
	uv_run(&d.loop, UV_RUN_DEFAULT);
	code = 0;

out_loop:
	if (d.gen != NULL && d.gen->sender != NULL && !d.stopping) {
		/* Start-up failed half-way: stop what started. */
		daemon_begin_stop(&d);
		uv_run(&d.loop, UV_RUN_DEFAULT);
	}
	if (d.fetch != NULL) {
		fetch_free(d.fetch);
		d.fetch = NULL;
	}
	uv_walk(&d.loop, daemon_on_close_walk, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	uv_loop_close(&d.loop);
	http_pages_free(d.pages);
	bounce_poll_free(d.bounce_poll);
out_db:
	daemon_gen_free(d.gen);
	buf_fini(&d.feed_body);
	outbox_free(d.outbox);
	db_close(d.work_db);
	db_close(d.db);
	if (code == 0)
		log_info("daemon stopped");
	return code;
}
