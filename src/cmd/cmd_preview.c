/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_preview: `familymail preview KIND --booking REFERENCE |
 * --subscriber ID` prints the whole MIME message that would be sent,
 * from the same code the daemon uses, without queueing or sending
 * anything.
 *
 * A booking is named by its reference (as staff know it) or its id. A
 * blog_digest without --period is the digest that goes out next, with
 * the posts published so far: its period is opened as the digest job
 * will open it, in a transaction that is rolled back, so the preview
 * holds exactly what that job would put in it now.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "job_digest.h"
#include "kind.h"
#include "log.h"
#include "outbox.h"
#include "send/compose.h"
#include "send/dkimsign.h"
#include "send/transport.h"
#include "tmpl/tmpl.h"
#include "util.h"

struct cmd_preview_opts {
	const char *kind_name;
	const struct kind *kind;
	const char *booking; /* reference or id, as given */
	int64_t subscriber;  /* 0: none */
	const char *offset;  /* course_reminder */
	const char *period;  /* blog_digest */
};

static int
cmd_preview_usage(void)
{
	fprintf(stderr,
	    "usage: familymail preview KIND --booking REFERENCE | "
	    "--subscriber ID\n"
	    "         [--offset 7d]               (course_reminder)\n"
	    "         [--period weekly:2026-W48]  (blog_digest; default: the "
	    "next digest)\n");
	return CMD_EX_USAGE;
}

/* The number of n digits at s, or -1. */
static int
cmd_preview_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "weekly:2026-W48" (weeks 01 to 53) or "monthly:2026-11". */
static bool
cmd_preview_period_ok(const char *p)
{
	int n;

	if (strncmp(p, "weekly:", 7) == 0 && strlen(p + 7) == 8) {
		p += 7;
		n = cmd_preview_digits(p + 6, 2);
		return cmd_preview_digits(p, 4) >= 1970 && p[4] == '-' &&
		    p[5] == 'W' && n >= 1 && n <= 53;
	}
	if (strncmp(p, "monthly:", 8) == 0 && strlen(p + 8) == 7) {
		p += 8;
		n = cmd_preview_digits(p + 5, 2);
		return cmd_preview_digits(p, 4) >= 1970 && p[4] == '-' &&
		    n >= 1 && n <= 12;
	}
	return false;
}

static int
cmd_preview_parse(int argc, char **argv, struct cmd_preview_opts *o)
{
	static const struct option longopts[] = {
		{ "booking", required_argument, NULL, 'b' },
		{ "subscriber", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'o' },
		{ "period", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t secs;
	long id;
	int ch;

	while (
	    (ch = getopt_long(argc, argv, "b:s:o:p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			o->booking = optarg;
			break;
		case 's':
			if (util_parse_long(optarg, 1, INT64_MAX, &id) != 0) {
				fprintf(stderr,
				    "familymail: preview: --subscriber wants "
				    "a subscriber's id, not '%s'\n",
				    optarg);
				return CMD_EX_USAGE;
			}
			o->subscriber = id;
			break;
		case 'o':
			if (cfg_parse_duration(optarg, &secs) != 0) {
				fprintf(stderr,
				    "familymail: preview: --offset '%s' is not "
				    "a reminder offset (7d, 1d, 2h)\n",
				    optarg);
				return CMD_EX_USAGE;
			}
			o->offset = optarg;
			break;
		case 'p':
			if (!cmd_preview_period_ok(optarg)) {
				fprintf(stderr,
				    "familymail: preview: --period '%s' is not "
				    "a digest period: weekly:YYYY-Www "
				    "(weekly:2026-W48) or monthly:YYYY-MM "
				    "(monthly:2026-11)\n",
				    optarg);
				return CMD_EX_USAGE;
			}
			o->period = optarg;
			break;
		default:
			return cmd_preview_usage();
		}
	}
	if (optind + 1 != argc)
		return cmd_preview_usage();
	o->kind_name = argv[optind];
	o->kind = kind_find(o->kind_name);
	if (o->kind == NULL) {
		fprintf(stderr,
		    "familymail: preview: unknown kind '%s' (the kinds: %s)\n",
		    o->kind_name, kind_names(", "));
		return CMD_EX_USAGE;
	}
	if (o->kind->about == KIND_ABOUT_BOOKING
		? o->booking == NULL || o->subscriber != 0
		: o->subscriber == 0 || o->booking != NULL) {
		fprintf(stderr,
		    "familymail: preview: %s is about a %s: give %s\n",
		    o->kind_name,
		    o->kind->about == KIND_ABOUT_BOOKING ? "booking"
							 : "subscriber",
		    o->kind->about == KIND_ABOUT_BOOKING
			? "--booking REFERENCE (or its id)"
			: "--subscriber ID");
		return CMD_EX_USAGE;
	}
	if ((o->offset != NULL &&
		(o->kind->detail == NULL ||
		    strcmp(o->kind->detail, "offset") != 0)) ||
	    (o->period != NULL &&
		(o->kind->detail == NULL ||
		    strcmp(o->kind->detail, "period") != 0))) {
		fprintf(stderr, "familymail: preview: %s is for %s only\n",
		    o->offset != NULL ? "--offset" : "--period",
		    o->offset != NULL ? "course_reminder" : "blog_digest");
		return CMD_EX_USAGE;
	}
	return 0;
}

/* The subscriber's frequency, into freq. 0, -ENOENT, or an errno. */
static int
cmd_preview_frequency(sqlite3 *db, int64_t id, char *freq, size_t size)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(
	    db, "SELECT frequency FROM subscribers WHERE id = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		(void)snprintf(
		    freq, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* Whether the digest period named by detail has a row. */
static bool
cmd_preview_period_exists(sqlite3 *db, const char *detail)
{
	sqlite3_stmt *st;
	bool found = false;

	if (db_prepare(db,
		"SELECT 1 FROM digests WHERE frequency || ':' || period = ?1",
		&st) != 0)
		return false;
	sqlite3_bind_text(st, 1, detail, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/*
 * For a digest without --period: opens the next one in a transaction
 * the caller rolls back, writes its detail into detail and says on
 * stderr what it is. 0, or an exit status after saying why.
 */
static int
cmd_preview_next_digest(
    sqlite3 *db, const struct cfg *cfg, int64_t sub, char *detail, size_t size)
{
	char freq[16], when[64];
	int64_t posts = 0;
	time_t at;
	int ret;

	ret = cmd_preview_frequency(db, sub, freq, sizeof(freq));
	if (ret != 0) {
		fprintf(stderr, "familymail: preview: %s\n",
		    ret == -ENOENT ? "no subscriber with that id"
				   : sqlite3_errmsg(db));
		return CMD_EX_DATAERR;
	}
	ret = db_begin(db);
	if (ret == 0)
		ret = job_digest_open_next(
		    db, cfg, freq, clock_now(), detail, size, &at, &posts);
	if (ret != 0) {
		fprintf(stderr,
		    "familymail: preview: cannot work out the next "
		    "digest: %s\n",
		    ret == -EBUSY ? "the database is busy; try again"
				  : sqlite3_errmsg(db));
		return 1;
	}
	clock_format_local(at, CLOCK_LONG, when, sizeof(when));
	if (posts > 0 && at <= clock_now())
		fprintf(stderr,
		    "familymail: preview: the next %s digest (%s) was due %s "
		    "and goes out at the daemon's next pass, with %lld "
		    "post%s\n",
		    freq, detail, when, (long long)posts,
		    posts == 1 ? "" : "s");
	else if (posts > 0)
		fprintf(stderr,
		    "familymail: preview: the next %s digest (%s), due %s, "
		    "with the %lld post%s published so far\n",
		    freq, detail, when, (long long)posts,
		    posts == 1 ? "" : "s");
	else if (posts == 0)
		fprintf(stderr,
		    "familymail: preview: the next %s digest (%s), due %s, "
		    "has no posts yet: none goes out unless posts are "
		    "published by then\n",
		    freq, detail, when);
	return 0;
}

/* Loads what compose needs: templates and, for the links, the secret. */
static int
cmd_preview_env(struct compose_env *env, const struct cfg *cfg, char **secret,
    struct dkimsign **dkim)
{
	struct tmpl_error terr;
	struct tmpl_set *tmpls;
	char *why = NULL;

	tmpls = tmpl_set_load(cfg->templates, &terr);
	if (tmpls == NULL) {
		fprintf(stderr, "%s:%d:%d: %s\n", terr.file, terr.line,
		    terr.column, terr.msg);
		return CMD_EX_CONFIG;
	}
	/* With the secret the preview shows the real links and List-*
	 * headers; without it they are left out, and said so. */
	*secret = cmd_read_secret(
	    cfg, "preview", "showing the message without unsubscribe links");
	env->cfg = cfg;
	env->tmpls = tmpls;
	env->secret = *secret;
	env->secret_len = *secret != NULL ? strlen(*secret) : 0;
	/* Signed as the daemon signs, so the message shows what is sent. */
	if (dkimsign_load(cfg, dkim, &why) != 0) {
		fprintf(stderr, "familymail: preview: %s\n", why);
		free(why);
		return CMD_EX_CONFIG;
	}
	env->dkim = *dkim;
	return 0;
}

/* Composes it and prints it; an exit status. */
static int
cmd_preview_print(const struct compose_env *env, struct outbox_item *it)
{
	struct transport_msg *m = transport_msg_new();
	const char *email = NULL;
	char *why = NULL;
	json_t *ctx;
	int ret, code = CMD_EX_DATAERR;

	/* The recipient is whoever the record names now. */
	ctx = compose_context(
	    env, it->kind, it->booking_id, it->subscriber_id, it->detail, &why);
	if (ctx == NULL) {
		fprintf(stderr, "familymail: preview: %s\n", why);
		goto out;
	}
	json_unpack(ctx, "{s?{s?s},s?{s?s}}", "delegate", "email", &email,
	    "subscriber", "email", &email);
	it->recipient = xstrdup(email != NULL ? email : "");
	json_decref(ctx);
	ret = compose_message(env, it, clock_now(), m, &why);
	free(it->recipient);
	it->recipient = NULL;
	if (ret != 0) {
		fprintf(stderr, "familymail: preview: %s\n",
		    why != NULL ? why : "failed");
		goto out;
	}
	/* A failed write shows when main() flushes stdout. */
	(void)fwrite(m->data.data, 1, m->data.len, stdout);
	code = 0;
out:
	free(why);
	transport_msg_free(m);
	return code;
}

int
cmd_preview(int argc, char **argv, const char *config_path)
{
	struct cmd_preview_opts o = { 0 };
	struct outbox_item it = { .verp_token = (char *)"preview" };
	struct compose_env env = { .preview = true };
	char detail[64], *secret = NULL;
	struct dkimsign *dkim = NULL;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	int ret, code;

	code = cmd_preview_parse(argc, argv, &o);
	if (code != 0)
		return code;
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	clock_set_timezone(cfg->timezone);
	code = cmd_preview_env(&env, cfg, &secret, &dkim);
	if (code != 0)
		goto out;
	code = 1;
	db = cmd_open_db(cfg);
	if (db == NULL)
		goto out;
	env.db = db;
	it.kind = (char *)o.kind_name;
	it.subscriber_id = o.subscriber;
	it.detail = (char *)(o.offset != NULL ? o.offset
		: o.period != NULL            ? o.period
				   : kind_default_detail(o.kind, cfg));
	if (o.booking != NULL) {
		ret = cmd_find_booking(db, o.booking, &it.booking_id, NULL);
		if (ret != 0) {
			fprintf(stderr,
			    "familymail: preview: no booking with reference "
			    "(or id) '%s'\n",
			    o.booking);
			code = CMD_EX_DATAERR;
			goto out;
		}
	}
	if (o.kind->needs & KIND_POSTS && o.period == NULL) {
		code = cmd_preview_next_digest(
		    db, cfg, o.subscriber, detail, sizeof(detail));
		if (code != 0)
			goto out;
		it.detail = detail;
	} else if (o.period != NULL &&
	    !cmd_preview_period_exists(db, o.period)) {
		fprintf(stderr,
		    "familymail: preview: there is no digest %s yet; without "
		    "--period the preview is of the next digest\n",
		    o.period);
		goto out;
	}
	code = cmd_preview_print(&env, &it);
out:
	/* The next digest's period was opened for the preview only. */
	if (db != NULL)
		db_rollback(db);
	cmd_free_secret(secret);
	dkimsign_free(dkim);
	tmpl_set_free((struct tmpl_set *)env.tmpls);
	db_close(db);
	cfg_free(cfg);
	return code;
}
