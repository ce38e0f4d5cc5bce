/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_export: the data-protection duties (UK GDPR) about one address.
 *
 * `familymail export ADDRESS` prints, as one JSON object, all that is
 * held about the address: the website's rows that name it (a delegate
 * and their bookings, a subscriber; read, as familymail always reads
 * them) and familymail's own: every message with its outcome and its
 * subject and text re-rendered from today's records (messages are not
 * stored as sent), the bounces, the history, the suppression. The
 * export is itself recorded in the history.
 *
 * `familymail erase ADDRESS` deletes familymail's messages, bounces and
 * history of the address in one transaction, and puts in its place one
 * entry on the suppression list: a keyed hash of the address (HMAC with
 * the [unsubscribe] token secret, suppress_hash()), so that it is never
 * mailed again and yet not written down. The erasure is recorded under
 * the hash. Deleted pages are overwritten (db.c sets secure_delete) and
 * the write-ahead log is checkpointed. The website's rows are not
 * familymail's to change: they are named, for the administrator to
 * delete in the website.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "send/compose.h"
#include "suppress.h"
#include "tmpl/tmpl.h"
#include "util.h"

/* A cell as JSON (text that is not valid UTF-8 with '?' for its bad
 * bytes: jansson takes UTF-8 only). */
static json_t *
cmd_export_value(sqlite3_stmt *st, int col)
{
	const char *s;
	char *copy;
	json_t *j;

	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer((json_int_t)sqlite3_column_int64(st, col));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, col));
	default:
		break;
	}
	s = (const char *)sqlite3_column_text(st, col);
	j = json_string(s != NULL ? s : "");
	if (j != NULL)
		return j;
	copy = xstrdup(s);
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j != NULL ? j : json_null();
}

/* The rows of sql (?1 the address, ?2 its hash or NULL) as an array of
 * objects named by the columns; NULL when the database fails. */
static json_t *
cmd_export_rows(
    sqlite3 *db, const char *sql, const char *addr, const char *hash)
{
	sqlite3_stmt *st;
	json_t *rows, *row;
	int rc;

	if (db_prepare(db, sql, &st) != 0)
		return NULL;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	rows = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row = json_object();
		for (int i = 0; i < sqlite3_column_count(st); i++)
			json_object_set_new(row, sqlite3_column_name(st, i),
			    cmd_export_value(st, i));
		json_array_append_new(rows, row);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(rows);
		return NULL;
	}
	return rows;
}

/* The first row of sql, or null; NULL when the database fails. */
static json_t *
cmd_export_row(sqlite3 *db, const char *sql, const char *addr, const char *hash)
{
	json_t *rows = cmd_export_rows(db, sql, addr, hash), *row;

	if (rows == NULL)
		return NULL;
	row = json_array_size(rows) > 0 ? json_incref(json_array_get(rows, 0))
					: json_null();
	json_decref(rows);
	return row;
}

/* Adds subject and text, rendered now, to each message of msgs. */
static void
cmd_export_bodies(const struct compose_env *env, json_t *msgs)
{
	struct buf subject, text;
	json_t *m, *ctx;
	char *why;
	size_t i;

	json_array_foreach(msgs, i, m)
	{
		const char *kind =
		    json_string_value(json_object_get(m, "kind"));
		const char *detail =
		    json_string_value(json_object_get(m, "detail"));

		why = NULL;
		ctx = env->tmpls != NULL && kind != NULL
		    ? compose_context(env, kind,
			  json_integer_value(json_object_get(m, "booking_id")),
			  json_integer_value(
			      json_object_get(m, "subscriber_id")),
			  detail, &why)
		    : NULL;
		buf_init(&subject);
		buf_init(&text);
		if (ctx != NULL &&
		    tmpl_set_render(
			env->tmpls, kind, "subject", ctx, &subject) == 0 &&
		    tmpl_set_render(env->tmpls, kind, "text", ctx, &text) ==
			0) {
			json_object_set_new(m, "subject",
			    json_string(
				subject.data != NULL ? subject.data : ""));
			json_object_set_new(m, "text",
			    json_string(text.data != NULL ? text.data : ""));
			json_object_set_new(m, "body_note",
			    json_string("re-rendered from the records as they "
					"are today; messages are not kept as "
					"sent"));
		} else {
			json_object_set_new(m, "body_note",
			    json_string(
				why != NULL ? why : "cannot be re-rendered"));
		}
		buf_fini(&subject);
		buf_fini(&text);
		json_decref(ctx);
		free(why);
	}
}

/* The suppression of addr, in clear or (erased) as its hash. */
static json_t *
cmd_export_suppression(sqlite3 *db, const char *addr, const char *hash)
{
	struct suppress_entry e;
	bool hashed = false;
	json_t *j;

	if (suppress_find(db, addr, &e) != 0) {
		if (hash == NULL || suppress_find(db, hash, &e) != 0)
			return json_null();
		hashed = true;
	}
	j = json_pack("{s:s,s:s?,s:s,s:b}", "reason",
	    suppress_reason_name(e.reason), "detail", e.detail, "since",
	    e.created_at, "hashed", hashed);
	if (hashed)
		json_object_set_new(j, "entry", json_string(e.email));
	suppress_entry_fini(&e);
	return j;
}

static const char cmd_export_messages_sql[] =
    "SELECT * FROM messages WHERE recipient = ?1 ORDER BY id";
static const char cmd_export_bounces_sql[] =
    "SELECT * FROM bounces WHERE recipient = ?1 OR message_id IN"
    " (SELECT id FROM messages WHERE recipient = ?1) ORDER BY id";
static const char cmd_export_events_sql[] =
    "SELECT at, event, kind, address, booking_id, message_id, source,"
    " detail FROM events WHERE address = ?1 OR address = ?2 OR message_id IN"
    " (SELECT id FROM messages WHERE recipient = ?1) ORDER BY id";

/* The whole export, or NULL when the database fails. */
static json_t *
cmd_export_build(const struct compose_env *env, const char *addr,
    const char *hash, time_t now)
{
	sqlite3 *db = env->db;
	json_t *out, *web, *own, *v;
	char at[CLOCK_ISO_LEN];

	clock_format_iso(now, at);
	out = json_pack("{s:s,s:s}", "address", addr, "exported_at", at);
	if (out == NULL)
		out = json_pack("{s:s}", "exported_at", at);
	web = json_object();
	own = json_object();
	json_object_set_new(out, "website", web);
	json_object_set_new(out, "familymail", own);
	v = cmd_export_row(
	    db, "SELECT * FROM delegates WHERE email = ?1", addr, NULL);
	if (v == NULL)
		goto fail;
	json_object_set_new(web, "delegate", v);
	v = cmd_export_rows(db,
	    "SELECT b.*, c.title AS course_title, c.starts_at AS"
	    " course_starts_at, c.venue AS course_venue FROM bookings b"
	    " JOIN delegates d ON d.id = b.delegate_id"
	    " LEFT JOIN courses c ON c.id = b.course_id"
	    " WHERE d.email = ?1 ORDER BY b.id",
	    addr, NULL);
	if (v == NULL)
		goto fail;
	json_object_set_new(web, "bookings", v);
	v = cmd_export_row(
	    db, "SELECT * FROM subscribers WHERE email = ?1", addr, NULL);
	if (v == NULL)
		goto fail;
	json_object_set_new(web, "subscriber", v);
	v = cmd_export_rows(db, cmd_export_messages_sql, addr, NULL);
	if (v == NULL)
		goto fail;
	cmd_export_bodies(env, v);
	json_object_set_new(own, "messages", v);
	v = cmd_export_rows(db, cmd_export_bounces_sql, addr, NULL);
	if (v == NULL)
		goto fail;
	json_object_set_new(own, "bounces", v);
	v = cmd_export_rows(db, cmd_export_events_sql, addr, hash);
	if (v == NULL)
		goto fail;
	json_object_set_new(own, "events", v);
	json_object_set_new(
	    own, "suppression", cmd_export_suppression(db, addr, hash));
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* Reads the address argument of export and erase: 0, or an exit
 * status after the usage. */
static int
cmd_export_args(int argc, char **argv, const char *cmd, const char **addr)
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 },
	};

	if (getopt_long(argc, argv, "", longopts, NULL) != -1 ||
	    optind + 1 != argc) {
		fprintf(stderr, "usage: familymail %s ADDRESS\n", cmd);
		return CMD_EX_USAGE;
	}
	*addr = argv[optind];
	if (strchr(*addr, '@') == NULL || strlen(*addr) > 254 ||
	    strpbrk(*addr, "\r\n") != NULL) {
		fprintf(stderr,
		    "familymail: %s: '%s' is not an email address\n", cmd,
		    *addr);
		return CMD_EX_DATAERR;
	}
	return 0;
}

int
cmd_export(int argc, char **argv, const char *config_path)
{
	struct compose_env env = { .preview = true };
	char hash[SUPPRESS_HASH_LEN], *secret = NULL;
	struct tmpl_set *tmpls = NULL;
	struct suppress_entry e;
	struct tmpl_error terr;
	const char *addr = NULL;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	json_t *out = NULL;
	bool erased = false;
	time_t now;
	int code;

	code = cmd_export_args(argc, argv, "export", &addr);
	if (code != 0)
		return code;
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	code = 1;
	log_init(LOG_LEVEL_WARNING);
	clock_set_timezone(cfg->timezone);
	db = cmd_open_db(cfg);
	if (db == NULL)
		goto out;
	secret = cmd_read_secret(cfg, "export",
	    "an erased address and unsubscribe links are left out");
	if (secret != NULL) {
		suppress_hash(secret, strlen(secret), addr, hash);
		erased = suppress_find(db, hash, &e) == 0;
		if (erased)
			suppress_entry_fini(&e);
	}
	tmpls = tmpl_set_load(cfg->templates, &terr);
	if (tmpls == NULL)
		fprintf(stderr,
		    "familymail: export: the templates do not load (%s:%d: "
		    "%s); the messages are exported without their text\n",
		    terr.file, terr.line, terr.msg);
	env.db = db;
	env.cfg = cfg;
	env.tmpls = tmpls;
	env.secret = secret;
	env.secret_len = secret != NULL ? strlen(secret) : 0;
	now = clock_now();
	out = cmd_export_build(&env, addr, secret != NULL ? hash : NULL, now);
	if (out == NULL) {
		fprintf(stderr, "familymail: export: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) !=
		0 ||
	    putchar('\n') == EOF || fflush(stdout) != 0)
		goto out;
	/* An erased address stays unwritten, even in its own history. */
	if (events_add(db, now, EVENTS_EXPORTED, erased ? hash : addr, 0,
		"admin", "familymail export") != 0)
		fprintf(stderr,
		    "familymail: export: could not record the export in the "
		    "history: %s\n",
		    sqlite3_errmsg(db));
	code = 0;
out:
	json_decref(out);
	tmpl_set_free(tmpls);
	cmd_free_secret(secret);
	db_close(db);
	cfg_free(cfg);
	return code;
}

/* Runs a DELETE bound to the address; adds the rows deleted to *n. */
static int
cmd_erase_delete(sqlite3 *db, const char *sql, const char *addr, int64_t *n)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	*n += sqlite3_changes(db);
	return 0;
}

/* Deletes what familymail holds about addr and leaves its hash on the
 * suppression list, in one transaction. n[]: messages, bounces, events
 * deleted. */
static int
cmd_erase_run(
    sqlite3 *db, const char *addr, const char *hash, time_t now, int64_t n[3])
{
	int64_t listed = 0;
	char *detail;
	int ret;

	ret = db_begin(db);
	/* Bounces and events first: they name the messages. */
	if (ret == 0)
		ret = cmd_erase_delete(db,
		    "DELETE FROM bounces WHERE recipient = ?1 OR message_id IN"
		    " (SELECT id FROM messages WHERE recipient = ?1)",
		    addr, &n[1]);
	if (ret == 0)
		ret = cmd_erase_delete(db,
		    "DELETE FROM events WHERE address = ?1 OR message_id IN"
		    " (SELECT id FROM messages WHERE recipient = ?1)",
		    addr, &n[2]);
	if (ret == 0)
		ret = cmd_erase_delete(db,
		    "DELETE FROM messages WHERE recipient = ?1", addr, &n[0]);
	if (ret == 0)
		ret = cmd_erase_delete(db,
		    "DELETE FROM suppressions WHERE email = ?1", addr, &listed);
	if (ret == 0) {
		ret = suppress_add(
		    db, hash, SUPPRESS_ERASED, "by familymail erase", now);
		if (ret == -EEXIST)
			ret = 0;
	}
	if (ret == 0) {
		detail = xasprintf("erased on request: %lld message%s, %lld "
				   "bounce%s, %lld history event%s deleted",
		    (long long)n[0], n[0] == 1 ? "" : "s", (long long)n[1],
		    n[1] == 1 ? "" : "s", (long long)n[2],
		    n[2] == 1 ? "" : "s");
		ret = events_add(
		    db, now, EVENTS_ERASED, hash, 0, "admin", detail);
		free(detail);
	}
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0)
		db_rollback(db);
	return ret;
}

/* Prints the website's rows that still name addr; how many. */
static int
cmd_erase_website(sqlite3 *db, const char *addr)
{
	static const char sql[] =
	    "SELECT 'delegates id=' || id FROM delegates WHERE email = ?1"
	    " UNION ALL SELECT 'bookings ' || b.reference || ' (id=' || b.id"
	    " || ')' FROM bookings b JOIN delegates d ON d.id = b.delegate_id"
	    " WHERE d.email = ?1"
	    " UNION ALL SELECT 'subscribers id=' || id FROM subscribers"
	    " WHERE email = ?1";
	sqlite3_stmt *st;
	int n = 0;

	if (db_prepare(db, sql, &st) != 0)
		return -1;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n++ == 0)
			printf("the website's own rows still hold the address "
			       "(familymail does not change them; delete or "
			       "anonymise them in the website):\n");
		printf("  %s\n", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (n == 0)
		printf("no row of the website holds the address\n");
	return n;
}

int
cmd_erase(int argc, char **argv, const char *config_path)
{
	char hash[SUPPRESS_HASH_LEN], *secret = NULL;
	int64_t n[3] = { 0, 0, 0 };
	const char *addr = NULL;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	int code, ret, busy = 0;

	code = cmd_export_args(argc, argv, "erase", &addr);
	if (code != 0)
		return code;
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	code = 1;
	log_init(LOG_LEVEL_WARNING);
	db = cmd_open_db(cfg);
	if (db == NULL)
		goto out;
	secret = cmd_read_secret(cfg, "erase",
	    "nothing was erased: the erased address is kept only as a hash "
	    "keyed with that secret");
	if (secret == NULL)
		goto out;
	suppress_hash(secret, strlen(secret), addr, hash);
	ret = cmd_erase_run(db, addr, hash, clock_now(), n);
	if (ret != 0) {
		fprintf(stderr, "familymail: erase: %s; nothing was erased\n",
		    ret == -EBUSY ? "the database is busy; try again"
				  : sqlite3_errmsg(db));
		goto out;
	}
	/* Out of the write-ahead log too, as far as readers allow. */
	if (sqlite3_wal_checkpoint_v2(
		db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, &busy) != SQLITE_OK)
		fprintf(stderr,
		    "familymail: erase: the write-ahead log could not be "
		    "checkpointed now (the daemon checkpoints it later)\n");
	printf("erased %s: %lld message%s, %lld bounce%s and %lld history "
	       "event%s deleted; the suppression list keeps only a keyed "
	       "hash of it, so it is never mailed again\n",
	    addr, (long long)n[0], n[0] == 1 ? "" : "s", (long long)n[1],
	    n[1] == 1 ? "" : "s", (long long)n[2], n[2] == 1 ? "" : "s");
	cmd_erase_website(db, addr);
	code = 0;
out:
	cmd_free_secret(secret);
	db_close(db);
	cfg_free(cfg);
	return code;
}
