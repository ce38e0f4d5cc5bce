/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_rehearse: `familymail rehearse --until TIME [--from TIME]
 * [--maildir DIR]`: what the daemon would send between now (or FROM)
 * and TIME, one line a message: when, kind, recipient, subject.
 *
 * It is worked out on a private copy of the database (db_copy(): the
 * real one is read on a read-only connection, so it stays byte for
 * byte as it was), with the daemon's own code: at each time a job falls
 * due (job_next_due()) or a queued message comes due, the clock is set
 * to it, every job runs (job_run_all()), and every due message is
 * composed (compose_message()) and, with --maildir, written into DIR
 * by the Maildir transport; the copy records the outcome, so the next
 * step sees what the daemon would have seen. No relay is contacted and
 * no bounce mailbox read; posts are the ones in the database now (the
 * feed is not fetched). The copy is deleted at the end.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "send/compose.h"
#include "send/transport.h"
#include "tmpl/tmpl.h"
#include "util.h"

#define CMD_REHEARSE_BATCH     200    /* messages claimed at a time */
#define CMD_REHEARSE_MAX_STEPS 100000 /* times visited, a safety bound */

struct cmd_rehearse {
	struct compose_env env;
	struct outbox *ob;
	bool secret;
	/* --maildir */
	uv_loop_t loop;
	bool loop_open;
	struct cfg maildir_cfg;
	struct transport *md;
	bool md_done;
	enum transport_outcome md_outcome;
	char *md_reply;
	/* what it found */
	unsigned long sent;
	unsigned long held; /* cancelled or suppressed */
	unsigned long failed;
};

static int
cmd_rehearse_usage(void)
{
	fprintf(stderr,
	    "usage: familymail rehearse --until TIME [--from TIME] "
	    "[--maildir DIR]\n"
	    "  TIME: 2026-12-07T09:30:00Z, 2026-12-07, or a duration from "
	    "now such as 7d\n");
	return CMD_EX_USAGE;
}

/* An ISO-8601 time, or a duration after base ("7d", "12h"). */
static int
cmd_rehearse_parse_time(const char *s, time_t base, time_t *out)
{
	int64_t secs;

	if (clock_parse_iso(s, out) == 0)
		return 0;
	if (cfg_parse_duration(s, &secs) == 0) {
		*out = base + (time_t)secs;
		return 0;
	}
	return -EINVAL;
}

static void
cmd_rehearse_local(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
		clock_format_iso(t, out);
}

/* The subject the message gets, on one line, newly allocated. */
static char *
cmd_rehearse_subject(const struct cmd_rehearse *r, const struct outbox_item *it)
{
	char *why = NULL;
	struct buf b;
	json_t *ctx;

	buf_init(&b);
	ctx = compose_context(&r->env, it->kind, it->booking_id,
	    it->subscriber_id, it->detail, &why);
	if (ctx == NULL ||
	    tmpl_set_render(r->env.tmpls, it->kind, "subject", ctx, &b) != 0)
		buf_puts(&b, "?");
	json_decref(ctx);
	free(why);
	if (b.data == NULL)
		buf_puts(&b, "");
	for (char *p = b.data; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	return buf_take(&b);
}

static void
cmd_rehearse_on_written(struct transport_msg *m, void *arg)
{
	struct cmd_rehearse *r = arg;

	r->md_done = true;
	r->md_outcome = m->outcome;
	free(r->md_reply);
	r->md_reply = m->reply;
	m->reply = NULL;
	transport_msg_free(m);
}

/* Writes m (taken) into the Maildir, waiting for it. 0 or -EIO (said). */
static int
cmd_rehearse_write(struct cmd_rehearse *r, struct transport_msg *m)
{
	int ret;

	r->md_done = false;
	ret = transport_submit(r->md, m);
	if (ret != 0) {
		transport_msg_free(m);
		fprintf(stderr, "familymail: rehearse: --maildir: %s\n",
		    strerror(-ret));
		return -EIO;
	}
	while (!r->md_done)
		uv_run(&r->loop, UV_RUN_ONCE);
	if (r->md_outcome != TRANSPORT_SENT) {
		fprintf(stderr, "familymail: rehearse: --maildir: %s\n",
		    r->md_reply != NULL ? r->md_reply : "cannot write");
		return -EIO;
	}
	return 0;
}

/* One claimed message: composed as the sender would, printed, written
 * into the Maildir, and its outcome recorded in the copy. */
static int
cmd_rehearse_one(struct cmd_rehearse *r, struct outbox_item *it, time_t now)
{
	struct transport_msg *m = transport_msg_new();
	struct outbox_update u = { 0 };
	enum outbox_state to = OUTBOX_SENT;
	char when[32], *why = NULL, *subject;
	int ret;

	ret = compose_message(&r->env, it, now, m, &why);
	if (ret == 0) {
		subject = cmd_rehearse_subject(r, it);
		cmd_rehearse_local(now, when, sizeof(when));
		printf("%s  %-20s  %s  %s\n", when, it->kind, it->recipient,
		    subject);
		free(subject);
		r->sent++;
		u.smtp_reply = "rehearsal";
		if (r->md != NULL) {
			ret = cmd_rehearse_write(r, m);
			m = NULL;
			if (ret != 0) {
				free(why);
				return ret;
			}
		}
	} else if (ret == COMPOSE_CANCELLED || ret == COMPOSE_SUPPRESSED) {
		to = ret == COMPOSE_CANCELLED ? OUTBOX_CANCELLED
					      : OUTBOX_SUPPRESSED;
		r->held++;
	} else {
		to = OUTBOX_FAILED;
		fprintf(stderr,
		    "familymail: rehearse: message %lld would "
		    "fail: %s\n",
		    (long long)it->id, why != NULL ? why : "?");
		r->failed++;
	}
	u.error = why;
	ret = outbox_transition(r->ob, it->id, OUTBOX_SENDING, to, now, &u);
	transport_msg_free(m);
	free(why);
	return ret;
}

/* Sends, in the copy, every message due at now. */
static int
cmd_rehearse_drain(struct cmd_rehearse *r, time_t now)
{
	struct outbox_item **items = NULL;
	sqlite3 *db = r->env.db;
	size_t n = 0;
	int ret = 0;

	/* Booking mail first, as the daemon sends it. */
	for (int lane = 0; ret == 0 && lane < OUTBOX_LANES; lane++) {
		do {
			n = 0;
			ret = db_begin(db);
			if (ret == 0)
				ret = outbox_claim(r->ob, now,
				    (enum outbox_lane)lane, CMD_REHEARSE_BATCH,
				    &items, &n);
			for (size_t i = 0; i < n; i++) {
				if (ret == 0)
					ret =
					    cmd_rehearse_one(r, items[i], now);
				outbox_item_free(items[i]);
			}
			free(items);
			items = NULL;
			if (ret == 0)
				ret = db_commit(db);
			if (ret != 0)
				db_rollback(db);
		} while (ret == 0 && n == CMD_REHEARSE_BATCH);
	}
	return ret;
}

/* The next time anything falls due after now: a job's time, or a queued
 * message's. 0 and *when, or -ENOENT. */
static int
cmd_rehearse_next(struct cmd_rehearse *r, time_t now, time_t *when)
{
	time_t job = 0, msg = 0;
	bool has_job, has_msg;

	has_job =
	    job_next_due(r->env.db, r->env.cfg, r->secret, now, &job) == 0;
	has_msg = false;
	for (int lane = 0; lane < OUTBOX_LANES; lane++) {
		time_t t;

		if (outbox_next_due(r->ob, (enum outbox_lane)lane, &t) == 0 &&
		    (!has_msg || t < msg)) {
			msg = t;
			has_msg = true;
		}
	}
	if (!has_job && !has_msg)
		return -ENOENT;
	if (has_job && has_msg)
		*when = job < msg ? job : msg;
	else
		*when = has_job ? job : msg;
	/* A message deferred into the past is due at once, not again. */
	if (*when <= now)
		*when = now + 1;
	return 0;
}

static int
cmd_rehearse_run(struct cmd_rehearse *r, time_t from, time_t until)
{
	time_t t = from;
	int ret = 0, steps = 0;

	while (ret == 0 && t <= until) {
		if (++steps > CMD_REHEARSE_MAX_STEPS) {
			fprintf(stderr,
			    "familymail: rehearse: stopped after %d steps\n",
			    CMD_REHEARSE_MAX_STEPS);
			return -E2BIG;
		}
		clock_set_fake(t);
		if (job_run_all(r->env.db, r->env.cfg, r->secret, true, t) < 0)
			fprintf(stderr,
			    "familymail: rehearse: the jobs failed at a step; "
			    "see above\n");
		ret = cmd_rehearse_drain(r, t);
		if (ret == 0 && cmd_rehearse_next(r, t, &t) != 0)
			break;
	}
	return ret;
}

static void
cmd_rehearse_on_closed(void *arg)
{
	(void)arg;
}

/* The Maildir transport of --maildir, on a loop of our own. */
static int
cmd_rehearse_open_maildir(
    struct cmd_rehearse *r, const struct cfg *cfg, const char *dir)
{
	char *err = NULL;

	if (uv_loop_init(&r->loop) != 0)
		return -EIO;
	r->loop_open = true;
	r->maildir_cfg = *cfg;
	r->maildir_cfg.transport = CFG_TRANSPORT_MAILDIR;
	r->maildir_cfg.maildir_path = (char *)dir;
	r->md = transport_new(
	    &r->loop, &r->maildir_cfg, cmd_rehearse_on_written, r, &err);
	if (r->md == NULL) {
		fprintf(stderr, "familymail: rehearse: --maildir %s: %s\n", dir,
		    err != NULL ? err : "cannot be used");
		free(err);
		return -EIO;
	}
	return 0;
}

static void
cmd_rehearse_close_maildir(struct cmd_rehearse *r)
{
	if (r->md != NULL) {
		transport_close(r->md, cmd_rehearse_on_closed, NULL);
		r->md = NULL;
	}
	if (r->loop_open) {
		uv_run(&r->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&r->loop);
		r->loop_open = false;
	}
	free(r->md_reply);
	r->md_reply = NULL;
}

/* A folder of our own for the copy; its path, newly allocated. */
static char *
cmd_rehearse_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/familymail-rehearse.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");

	if (mkdtemp(dir) == NULL) {
		fprintf(stderr,
		    "familymail: rehearse: cannot make a private folder in "
		    "%s: %s\n",
		    tmp != NULL && *tmp != '\0' ? tmp : "/tmp",
		    strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

static void
cmd_rehearse_remove_copy(const char *dir, const char *copy)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-journal" };
	char *p;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(ext); i++) {
		p = xasprintf("%s%s", copy, ext[i]);
		(void)unlink(p);
		free(p);
	}
	(void)rmdir(dir);
}

struct cmd_rehearse_opts {
	time_t from;
	time_t until;
	const char *maildir;
};

static int
cmd_rehearse_parse(int argc, char **argv, struct cmd_rehearse_opts *o)
{
	static const struct option longopts[] = {
		{ "until", required_argument, NULL, 'u' },
		{ "from", required_argument, NULL, 'f' },
		{ "maildir", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *until = NULL;
	time_t now = clock_now();
	int ch;

	while ((ch = getopt_long(argc, argv, "u:f:m:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			until = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'm':
			o->maildir = optarg;
			break;
		default:
			return cmd_rehearse_usage();
		}
	}
	if (optind != argc || until == NULL)
		return cmd_rehearse_usage();
	o->from = now;
	if (from != NULL && cmd_rehearse_parse_time(from, now, &o->from) != 0) {
		fprintf(stderr,
		    "familymail: rehearse: --from '%s' is not a time "
		    "(2026-12-07T09:30:00Z, 2026-12-07) or a duration (7d)\n",
		    from);
		return CMD_EX_USAGE;
	}
	if (cmd_rehearse_parse_time(until, o->from, &o->until) != 0) {
		fprintf(stderr,
		    "familymail: rehearse: --until '%s' is not a time "
		    "(2026-12-07T09:30:00Z, 2026-12-07) or a duration (7d)\n",
		    until);
		return CMD_EX_USAGE;
	}
	if (o->until <= o->from) {
		fprintf(stderr,
		    "familymail: rehearse: --until must come after the "
		    "start\n");
		return CMD_EX_USAGE;
	}
	return 0;
}

int
cmd_rehearse(int argc, char **argv, const char *config_path)
{
	struct cmd_rehearse_opts o = { 0 };
	struct cmd_rehearse r = { .env = { .preview = false } };
	char *dir = NULL, *copy = NULL, *secret = NULL;
	char a[32], b[32];
	struct tmpl_error terr;
	struct cfg *cfg;
	sqlite3 *db = NULL;
	int code, ret;

	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	clock_set_timezone(cfg->timezone);
	code = cmd_rehearse_parse(argc, argv, &o);
	if (code != 0) {
		cfg_free(cfg);
		return code;
	}
	code = 1;
	log_init(LOG_LEVEL_ERR);
	r.env.cfg = cfg;
	r.env.tmpls = tmpl_set_load(cfg->templates, &terr);
	if (r.env.tmpls == NULL) {
		char msg[600];

		fprintf(stderr, "familymail: rehearse: %s\n",
		    tmpl_error_format(&terr, msg, sizeof(msg)));
		code = CMD_EX_CONFIG;
		goto out;
	}
	secret = cmd_read_secret(cfg, "rehearse",
	    "mail to subscribers is left out, as the daemon would");
	r.secret = secret != NULL;
	r.env.secret = secret;
	r.env.secret_len = secret != NULL ? strlen(secret) : 0;
	dir = cmd_rehearse_tmpdir();
	if (dir == NULL)
		goto out;
	copy = xasprintf("%s/familymail.db", dir);
	ret = db_copy(cfg->database, copy);
	if (ret == 0)
		ret = db_open(copy, false, &db);
	if (ret == 0 && migrate_run(db) < 0)
		ret = -EIO;
	if (ret != 0) {
		fprintf(stderr,
		    "familymail: rehearse: cannot copy the database %s: %s\n",
		    cfg->database, strerror(-ret));
		goto out;
	}
	r.env.db = db;
	r.ob = outbox_new(db);
	if (r.ob == NULL)
		goto out;
	if (o.maildir != NULL &&
	    cmd_rehearse_open_maildir(&r, cfg, o.maildir) != 0)
		goto out;
	cmd_rehearse_local(o.from, a, sizeof(a));
	cmd_rehearse_local(o.until, b, sizeof(b));
	fprintf(stderr,
	    "rehearsing %s to %s on a private copy of %s: no mail leaves, "
	    "the database is not changed, posts are those already in it\n",
	    a, b, cfg->database);
	ret = cmd_rehearse_run(&r, o.from, o.until);
	cmd_rehearse_close_maildir(&r);
	if (ret != 0) {
		if (ret != -EIO && ret != -E2BIG)
			fprintf(stderr, "familymail: rehearse: %s\n",
			    sqlite3_errmsg(db));
		goto out;
	}
	fprintf(stderr, "%lu message%s would be sent%s%s", r.sent,
	    r.sent == 1 ? "" : "s", o.maildir != NULL ? " (written into " : "",
	    o.maildir != NULL ? o.maildir : "");
	fprintf(stderr,
	    "%s; %lu held (cancelled or suppressed), %lu would "
	    "fail\n",
	    o.maildir != NULL ? ")" : "", r.held, r.failed);
	code = r.failed > 0 ? 1 : 0;
out:
	cmd_rehearse_close_maildir(&r);
	outbox_free(r.ob);
	db_close(db);
	if (copy != NULL)
		cmd_rehearse_remove_copy(dir, copy);
	free(copy);
	free(dir);
	cmd_free_secret(secret);
	tmpl_set_free((struct tmpl_set *)r.env.tmpls);
	cfg_free(cfg);
	return code;
}
