/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_resend: `familymail resend --booking REFERENCE [--kind KIND]`
 * sends a booking's mail again: "I never got my confirmation". It
 * queues a new message with a dedupe key of its own
 * ("resend:booking:42:booking_confirmation:1", then :2, ...), so the
 * first one is left as it was, and records "resent" in the booking's
 * history; the daemon renders and sends it at its next pass, from the
 * records as they are then.
 *
 * It refuses what the daemon would not send: a message whose reason is
 * gone (a confirmation of a cancelled booking) and mail to a suppressed
 * address.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "events.h"
#include "kind.h"
#include "log.h"
#include "outbox.h"
#include "suppress.h"
#include "util.h"

/* The booking as the resend needs it. */
struct cmd_resend_booking {
	int64_t id;
	char *reference;
	int64_t course_id;
	char *email;
	bool confirmed;
	bool scheduled;
	time_t starts_at;
	char *last_offset; /* the detail of its last reminder, or NULL */
};

static void
cmd_resend_booking_fini(struct cmd_resend_booking *b)
{
	free(b->reference);
	free(b->email);
	free(b->last_offset);
}

static int
cmd_resend_usage(void)
{
	fprintf(stderr,
	    "usage: familymail resend --booking REFERENCE [--kind KIND]\n");
	return CMD_EX_USAGE;
}

/* The kinds about a booking, "a, b", for messages. */
static char *
cmd_resend_kinds(void)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < kind_count(); i++) {
		if (kind_at(i)->about != KIND_ABOUT_BOOKING)
			continue;
		if (b.len > 0)
			buf_puts(&b, ", ");
		buf_puts(&b, kind_at(i)->name);
	}
	return buf_take(&b);
}

static int
cmd_resend_load(sqlite3 *db, struct cmd_resend_booking *b)
{
	sqlite3_stmt *st;
	const char *s;
	int ret, rc;

	ret = db_prepare(db,
	    "SELECT b.course_id, d.email, b.status = 'confirmed',"
	    " c.status = 'scheduled', c.starts_at,"
	    " (SELECT detail FROM messages m WHERE m.booking_id = b.id"
	    "  AND m.kind = 'course_reminder' ORDER BY m.id DESC LIMIT 1)"
	    " FROM bookings b JOIN delegates d ON d.id = b.delegate_id"
	    " JOIN courses c ON c.id = b.course_id WHERE b.id = ?1",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, b->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->course_id = sqlite3_column_int64(st, 0);
		b->email = xstrdup((const char *)sqlite3_column_text(st, 1));
		b->confirmed = sqlite3_column_int(st, 2) != 0;
		b->scheduled = sqlite3_column_int(st, 3) != 0;
		s = (const char *)sqlite3_column_text(st, 4);
		if (s == NULL || clock_parse_iso(s, &b->starts_at) != 0)
			b->starts_at = 0;
		s = (const char *)sqlite3_column_text(st, 5);
		b->last_offset = s != NULL ? xstrdup(s) : NULL;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
}

/* How many messages of kind k the booking had. */
static int64_t
cmd_resend_count(sqlite3 *db, int64_t booking, const struct kind *k)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (db_prepare(db,
		"SELECT count(*) FROM messages WHERE booking_id = ?1"
		" AND kind = ?2",
		&st) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, booking);
	sqlite3_bind_text(st, 2, k->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The next free dedupe key for another copy of kind about booking. */
static char *
cmd_resend_key(
    sqlite3 *db, const struct cmd_resend_booking *b, const struct kind *k)
{
	char *prefix =
	    xasprintf("resend:booking:%lld:%s:", (long long)b->id, k->name);
	sqlite3_stmt *st;
	int64_t n = 0;
	char *key;

	if (db_prepare(db,
		"SELECT count(*) FROM messages WHERE booking_id = ?1"
		" AND substr(dedupe_key, 1, length(?2)) = ?2",
		&st) == 0) {
		sqlite3_bind_int64(st, 1, b->id);
		sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	key = xasprintf("%s%lld", prefix, (long long)n + 1);
	free(prefix);
	return key;
}

/* Whether the address may be mailed; says why not. */
static bool
cmd_resend_allowed(sqlite3 *db, const struct cfg *cfg, const char *email)
{
	struct suppress_entry e;
	char *secret = cmd_read_secret(cfg, "resend", NULL);
	int ret;

	ret = suppress_find(db, email, &e);
	if (ret != 0 && secret != NULL)
		ret =
		    suppress_find_erased(db, secret, strlen(secret), email, &e);
	cmd_free_secret(secret);
	if (ret != 0)
		return true;
	fprintf(stderr,
	    "familymail: resend: %s is on the suppression list (%s since "
	    "%s)%s\n",
	    email, suppress_reason_name(e.reason), e.created_at,
	    e.reason == SUPPRESS_ERASED
		? "; it was erased and is never mailed again"
		: "; familymail unsuppress it first");
	suppress_entry_fini(&e);
	return false;
}

static int
cmd_resend_queue(sqlite3 *db, const struct cmd_resend_booking *b,
    const struct kind *k, const char *detail, time_t now, int64_t *id)
{
	char *key = cmd_resend_key(db, b, k), *note;
	struct outbox_entry e = {
		.dedupe_key = key,
		.kind = k->name,
		.recipient = b->email,
		.booking_id = b->id,
		.course_id = b->course_id,
		.detail = detail,
	};
	struct outbox *ob = outbox_new(db);
	int ret = ob != NULL ? db_begin(db) : -EIO;
	bool created = false;

	if (ret == 0)
		ret = outbox_enqueue(ob, &e, now, &created);
	if (ret == 0 && !created)
		ret = -EEXIST; /* another resend at the same moment */
	if (ret == 0) {
		*id = sqlite3_last_insert_rowid(db);
		note = xasprintf(
		    "sent again by hand as message %lld", (long long)*id);
		ret = events_add_message(
		    db, now, EVENTS_RESENT, *id, "admin", note);
		free(note);
	}
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0)
		db_rollback(db);
	outbox_free(ob);
	free(key);
	return ret;
}

int
cmd_resend(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "booking", required_argument, NULL, 'b' },
		{ "kind", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_resend_booking b = { 0 };
	const char *name = NULL, *detail;
	const struct kind *k = NULL;
	struct kind_facts facts;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	char *kinds;
	int64_t id = 0;
	time_t now;
	int ch, ret, code = 1;

	while ((ch = getopt_long(argc, argv, "b:k:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			name = optarg;
			break;
		case 'k':
			k = kind_find(optarg);
			if (k == NULL || k->about != KIND_ABOUT_BOOKING) {
				kinds = cmd_resend_kinds();
				fprintf(stderr,
				    "familymail: resend: '%s' is not a kind of "
				    "message about a booking (the kinds: %s)\n",
				    optarg, kinds);
				free(kinds);
				return CMD_EX_USAGE;
			}
			break;
		default:
			return cmd_resend_usage();
		}
	}
	if (optind != argc || name == NULL)
		return cmd_resend_usage();
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	clock_set_timezone(cfg->timezone);
	db = cmd_open_db(cfg);
	if (db == NULL)
		goto out;
	ret = cmd_find_booking(db, name, &b.id, &b.reference);
	if (ret == 0)
		ret = cmd_resend_load(db, &b);
	if (ret != 0) {
		fprintf(stderr, "familymail: resend: %s\n",
		    ret == -ENOENT
			? "no booking with that reference (or id), or its "
			  "course or delegate is missing"
			: sqlite3_errmsg(db));
		goto out;
	}
	if (k == NULL)
		k = kind_find(!b.confirmed ? "booking_cancelled"
			: !b.scheduled     ? "course_cancelled"
					   : "booking_confirmation");
	/* Again, not for the first time: a delegate is never told of a
	 * cancellation without having been told of the booking. */
	if (cmd_resend_count(db, b.id, k) <= 0) {
		fprintf(stderr,
		    "familymail: resend: no %s was ever sent about %s, so "
		    "there is nothing to send again (familymail history %s "
		    "shows what was)\n",
		    k->name, b.reference, b.reference);
		goto out;
	}
	detail = k->detail == NULL  ? NULL
	    : b.last_offset != NULL ? b.last_offset
				    : kind_default_detail(k, cfg);
	now = clock_now();
	facts = (struct kind_facts){ .now = now,
		.detail = detail,
		.booking_confirmed = b.confirmed,
		.course_scheduled = b.scheduled,
		.starts_at = b.starts_at };
	if (!k->applies(&facts)) {
		fprintf(stderr,
		    "familymail: resend: a %s about %s would not go out: the "
		    "booking is %s and the course %s%s\n",
		    k->name, b.reference,
		    b.confirmed ? "confirmed" : "cancelled",
		    b.scheduled ? "scheduled" : "cancelled",
		    b.starts_at <= now && b.scheduled ? ", and it has started"
						      : "");
		goto out;
	}
	if (!cmd_resend_allowed(db, cfg, b.email))
		goto out;
	ret = cmd_resend_queue(db, &b, k, detail, now, &id);
	if (ret != 0) {
		fprintf(stderr, "familymail: resend: could not queue it: %s\n",
		    ret == -EBUSY ? "the database is busy; try again"
				  : strerror(-ret));
		goto out;
	}
	printf("queued %s%s%s to %s about %s as message %lld; the daemon "
	       "sends it at its next pass\n",
	    k->name, detail != NULL ? " " : "", detail != NULL ? detail : "",
	    b.email, b.reference, (long long)id);
	code = 0;
out:
	cmd_resend_booking_fini(&b);
	db_close(db);
	cfg_free(cfg);
	return code;
}
