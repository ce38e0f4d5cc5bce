/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_export: `familymail export ADDRESS`, the subject access request of
 * UK GDPR.
 *
 * `familymail export ADDRESS` prints, as one JSON object, all that is
 * held about the address: the website's rows that name it (a delegate
 * and their bookings, a subscriber; read, as familymail always reads
 * them) and familymail's own: every message with its outcome and its
 * subject and text re-rendered from today's records (messages are not
 * stored as sent), the bounces, the history, the suppression. The
 * export is itself recorded in the history. Its counterpart, erase, is
 * cmd_erase.c.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
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

	code = cmd_address_arg(argc, argv, "export", &addr);
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
