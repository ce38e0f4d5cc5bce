/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_send_test: `familymail send-test KIND --to ADDR [--booking ID |
 * --subscriber ID]` builds the message of KIND about a record, as
 * `familymail preview` does, addresses it to ADDR instead, and delivers
 * it at once through the configured transport, printing what the server
 * answered. It is how an administrator checks the templates and the
 * relay end to end from one command.
 *
 * It never touches the messages table: nothing is queued, recorded or
 * retried, and a deferral is reported, not tried again. The message is
 * marked as a test: "[TEST]" before its subject, and its links and
 * List-Unsubscribe carry test tokens, which the pages answer with "this
 * is a test link; nothing was changed": whoever receives it cannot
 * unsubscribe or confirm the subscriber whose record it shows. Without a
 * record id it uses the first booking (or subscriber) in the database
 * and says which.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "addr.h"
#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "kind.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "send/compose.h"
#include "send/dkimsign.h"
#include "send/mime.h"
#include "send/transport.h"
#include "tmpl/tmpl.h"
#include "util.h"

/* The VERP token of a test message: it names no message, so a bounce
 * of it is recorded without touching any. */
#define CMD_SEND_TEST_TOKEN "sendtest"

struct cmd_send_test {
	bool done;
	bool closed;
	enum transport_outcome outcome;
	int code;
	char *reply;
};

static int
cmd_send_test_usage(void)
{
	fprintf(stderr,
	    "usage: familymail send-test KIND --to ADDR "
	    "[--booking REFERENCE | --subscriber ID]\n");
	return CMD_EX_USAGE;
}

static void
cmd_send_test_on_done(struct transport_msg *m, void *arg)
{
	struct cmd_send_test *s = arg;

	s->done = true;
	s->outcome = m->outcome;
	s->code = m->code;
	s->reply = m->reply;
	m->reply = NULL;
	transport_msg_free(m);
}

static void
cmd_send_test_on_closed(void *arg)
{
	struct cmd_send_test *s = arg;

	s->closed = true;
}

/* Runs a query that yields one integer id; 0 when there is no row. */
static int64_t
cmd_send_test_first(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t id = 0;

	if (db_prepare(db, sql, &st) != 0)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* The digest a test digest shows: the latest period prepared for the
 * subscriber's frequency, else any, as "FREQUENCY:PERIOD". Newly
 * allocated, or NULL when no digest was ever prepared. */
static char *
cmd_send_test_digest(sqlite3 *db, int64_t subscriber_id)
{
	sqlite3_stmt *st;
	char *detail = NULL;

	if (db_prepare(db,
		"SELECT g.frequency || ':' || g.period FROM digests g"
		" LEFT JOIN subscribers s ON s.id = ?1"
		" ORDER BY g.frequency = s.frequency DESC, g.scheduled_at DESC"
		" LIMIT 1",
		&st) != 0)
		return NULL;
	sqlite3_bind_int64(st, 1, subscriber_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		detail = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return detail;
}

/* Hands m to a new transport and runs a loop until the outcome is in
 * and the transport closed. 0, or 1 with the reason printed. */
static int
cmd_send_test_deliver(
    const struct cfg *cfg, struct transport_msg *m, struct cmd_send_test *s)
{
	struct transport *t;
	uv_loop_t loop;
	char *err = NULL;
	int ret, code = 0;

	ret = uv_loop_init(&loop);
	if (ret != 0) {
		fprintf(
		    stderr, "familymail: send-test: %s\n", uv_strerror(ret));
		transport_msg_free(m);
		return 1;
	}
	t = transport_new(&loop, cfg, cmd_send_test_on_done, s, &err);
	if (t == NULL) {
		fprintf(stderr, "familymail: send-test: transport: %s\n",
		    err != NULL ? err : "cannot be set up");
		free(err);
		transport_msg_free(m);
		uv_loop_close(&loop);
		return 1;
	}
	ret = transport_submit(t, m);
	if (ret != 0) {
		fprintf(stderr,
		    "familymail: send-test: the transport "
		    "refused the message: %s\n",
		    strerror(-ret));
		transport_msg_free(m);
		code = 1;
	}
	/* The done callback may not close the transport (it is still in
	 * the transport's hands then): wait for it, then close. */
	while (ret == 0 && !s->done && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	if (ret == 0 && !s->done) {
		fprintf(stderr,
		    "familymail: send-test: the transport "
		    "stopped without an outcome\n");
		code = 1;
	}
	transport_close(t, cmd_send_test_on_closed, s);
	while (!s->closed && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warnx("send-test loop still had handles at exit");
	return code;
}

int
cmd_send_test(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "booking", required_argument, NULL, 'b' },
		{ "subscriber", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct outbox_item it = { .verp_token = (char *)CMD_SEND_TEST_TOKEN };
	struct compose_env env = { .preview = true, .test = true };
	struct cmd_send_test s = { 0 };
	struct transport_msg *m = NULL;
	struct dkimsign *dkim = NULL;
	struct tmpl_set *tmpls = NULL;
	struct tmpl_error terr;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	char *why = NULL, *secret = NULL, *detail = NULL;
	const char *to = NULL, *booking = NULL;
	const struct kind *kind;
	bool booking_kind;
	long id;
	int ch, ret, code = 1;

	while ((ch = getopt_long(argc, argv, "t:b:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			to = optarg;
			break;
		case 'b':
			booking = optarg;
			break;
		case 's':
			if (util_parse_long(optarg, 1, LONG_MAX, &id) != 0) {
				fprintf(stderr,
				    "familymail: send-test: '%s' "
				    "is not a subscriber id\n",
				    optarg);
				return CMD_EX_USAGE;
			}
			it.subscriber_id = id;
			break;
		default:
			return cmd_send_test_usage();
		}
	}
	if (optind + 1 != argc || to == NULL ||
	    (booking != NULL && it.subscriber_id != 0))
		return cmd_send_test_usage();
	it.kind = argv[optind];
	kind = kind_find(it.kind);
	if (kind == NULL) {
		fprintf(stderr,
		    "familymail: send-test: unknown kind '%s' (the kinds: %s)\n",
		    it.kind, kind_names(", "));
		return CMD_EX_USAGE;
	}
	booking_kind = kind->about == KIND_ABOUT_BOOKING;
	if ((booking_kind && it.subscriber_id != 0) ||
	    (!booking_kind && booking != NULL)) {
		fprintf(stderr, "familymail: send-test: %s is about a %s\n",
		    it.kind, booking_kind ? "booking" : "subscriber");
		return CMD_EX_USAGE;
	}
	if (!addr_is_valid(to)) {
		fprintf(stderr,
		    "familymail: send-test: '%s' is not an email address\n",
		    to);
		return CMD_EX_DATAERR;
	}
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	clock_set_timezone(cfg->timezone);
	tmpls = tmpl_set_load(cfg->templates, &terr);
	if (tmpls == NULL) {
		char msg[600];

		fprintf(stderr, "familymail: send-test: %s\n",
		    tmpl_error_format(&terr, msg, sizeof(msg)));
		code = CMD_EX_CONFIG;
		goto out;
	}
	/* Without the secret the links are left out, as in preview; the
	 * test still shows the rest. */
	if (cfg->secret_file != NULL)
		secret = cmd_read_secret(cfg, "send-test",
		    "the message goes without unsubscribe links");
	if (db_open(cfg->database, false, &db) != 0 ||
	    migrate_version(db) != migrate_latest()) {
		fprintf(stderr,
		    "familymail: database %s is missing or not migrated "
		    "(run familymail migrate)\n",
		    cfg->database);
		goto out;
	}
	if (booking != NULL &&
	    cmd_find_booking(db, booking, &it.booking_id, NULL) != 0) {
		fprintf(stderr,
		    "familymail: send-test: no booking with reference (or id) "
		    "'%s'\n",
		    booking);
		code = CMD_EX_DATAERR;
		goto out;
	}
	if (booking_kind && it.booking_id == 0) {
		it.booking_id = cmd_send_test_first(
		    db, "SELECT id FROM bookings ORDER BY id LIMIT 1");
		if (it.booking_id == 0) {
			fprintf(stderr,
			    "familymail: send-test: there is no "
			    "booking in the database to show\n");
			goto out;
		}
		printf("using booking %lld, the first in the database\n",
		    (long long)it.booking_id);
	} else if (!booking_kind && it.subscriber_id == 0) {
		it.subscriber_id = cmd_send_test_first(
		    db, "SELECT id FROM subscribers ORDER BY id LIMIT 1");
		if (it.subscriber_id == 0) {
			fprintf(stderr,
			    "familymail: send-test: there is no "
			    "subscriber in the database to show\n");
			goto out;
		}
		printf("using subscriber %lld, the first in the database\n",
		    (long long)it.subscriber_id);
	}
	it.detail = (char *)kind_default_detail(kind, cfg);
	if ((kind->needs & KIND_POSTS) != 0) {
		detail = cmd_send_test_digest(db, it.subscriber_id);
		if (detail == NULL) {
			fprintf(stderr,
			    "familymail: send-test: no digest has "
			    "been prepared yet, so there are no "
			    "posts to show\n");
			goto out;
		}
		it.detail = detail;
	}
	env.db = db;
	env.cfg = cfg;
	env.tmpls = tmpls;
	env.secret = secret;
	env.secret_len = secret != NULL ? strlen(secret) : 0;
	it.recipient = (char *)to;
	m = transport_msg_new();
	/* Signed as the daemon signs, so the message shows what is sent. */
	if (dkimsign_load(cfg, &dkim, &why) != 0) {
		fprintf(stderr, "familymail: send-test: %s\n", why);
		code = CMD_EX_CONFIG;
		goto out;
	}
	env.dkim = dkim;
	ret = compose_message(&env, &it, clock_now(), m, &why);
	if (ret != 0) {
		fprintf(stderr, "familymail: send-test: %s\n",
		    why != NULL ? why : "the message could not be built");
		code = CMD_EX_DATAERR;
		goto out;
	}
	code = cmd_send_test_deliver(cfg, m, &s);
	m = NULL;
	if (code != 0)
		goto out;
	printf("%s to %s: %s", it.kind, to,
	    s.outcome == TRANSPORT_SENT        ? "sent"
		: s.outcome == TRANSPORT_DEFER ? "deferred (not retried)"
					       : "failed");
	if (s.code != 0)
		printf(", code %d", s.code);
	if (s.reply != NULL)
		printf(": %s", s.reply);
	putchar('\n');
	code = s.outcome == TRANSPORT_SENT ? 0 : 1;
out:
	free(why);
	free(detail);
	free(s.reply);
	if (secret != NULL) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	transport_msg_free(m);
	dkimsign_free(dkim);
	tmpl_set_free(tmpls);
	db_close(db);
	cfg_free(cfg);
	return code;
}
