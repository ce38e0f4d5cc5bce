/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * compose: see compose.h. The context is a jansson tree, the form the
 * template engine walks; strings from the database are made valid UTF-8
 * on the way in, so a bad byte in a record costs a replacement
 * character, not the message.
 */
#include "config.h"

#include "send/compose.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "htmltext.h"
#include "kind.h"
#include "log.h"
#include "outbox.h"
#include "send/calendar.h"
#include "send/compose_calendar.h"
#include "send/mime.h"
#include "send/transport.h"
#include "tmpl/tmpl.h"
#include "token.h"
#include "util.h"
#include "verp.h"

enum compose_stmt_id {
	COMPOSE_STMT_BOOKING,
	COMPOSE_STMT_SUBSCRIBER,
	COMPOSE_STMT_POSTS,
	COMPOSE_STMT_SUPPRESSED,
	COMPOSE_STMT_N,
};

struct compose_cache {
	sqlite3 *db;
	sqlite3_stmt *stmt[COMPOSE_STMT_N];
	char *posts_detail; /* the digest whose posts are in posts */
	json_t *posts;
};

struct compose_cache *
compose_cache_new(sqlite3 *db)
{
	struct compose_cache *c = xcalloc(1, sizeof(*c));

	c->db = db;
	return c;
}

void
compose_cache_forget(struct compose_cache *c)
{
	if (c == NULL)
		return;
	free(c->posts_detail);
	c->posts_detail = NULL;
	json_decref(c->posts);
	c->posts = NULL;
}

void
compose_cache_free(struct compose_cache *c)
{
	if (c == NULL)
		return;
	compose_cache_forget(c);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(c->stmt); i++)
		sqlite3_finalize(c->stmt[i]);
	free(c);
}

/* The statement sql on env->db: the cache's, prepared once, when env has
 * a cache for that connection; else a new one. Give it back with
 * compose_stmt_done(). */
static int
compose_stmt(const struct compose_env *env, enum compose_stmt_id id,
    const char *sql, sqlite3_stmt **st)
{
	struct compose_cache *c = env->cache;
	int rc;

	*st = NULL;
	if (c == NULL || c->db != env->db) {
		rc = db_prepare(env->db, sql, st);
		return rc == 0 && *st == NULL ? -EIO : rc;
	}
	if (c->stmt[id] == NULL) {
		rc = sqlite3_prepare_v3(env->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL);
		if (rc != SQLITE_OK || c->stmt[id] == NULL) {
			log_warnx(
			    "db prepare error=\"%s\"", sqlite3_errmsg(env->db));
			return -EIO;
		}
	}
	*st = c->stmt[id];
	return 0;
}

static void
compose_stmt_done(const struct compose_env *env, sqlite3_stmt *st)
{
	struct compose_cache *c = env->cache;

	if (c == NULL || c->db != env->db) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* A JSON string of s with invalid UTF-8 replaced by U+FFFD; null for
 * NULL. */
static json_t *
compose_str(const char *s)
{
	struct buf b;
	json_t *j;

	if (s == NULL)
		return json_null();
	buf_init(&b);
	util_utf8_repair(s, &b);
	j = json_stringn(b.data != NULL ? b.data : "", b.len);
	buf_fini(&b);
	return j;
}

static void
compose_set(json_t *obj, const char *key, const char *value)
{
	json_object_set_new(obj, key, compose_str(value));
}

static const char *
compose_col(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static void
compose_set_time(json_t *obj, const char *prefix, const char *iso)
{
	static const struct {
		const char *suffix;
		enum clock_style style;
	} forms[] = {
		{ "", CLOCK_LONG },
		{ "_date", CLOCK_DATE },
		{ "_time", CLOCK_TIME },
		{ "_short", CLOCK_SHORT },
	};
	char key[32], text[96];
	time_t t;

	if (iso == NULL || clock_parse_iso(iso, &t) != 0)
		return;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(forms); i++) {
		(void)snprintf(
		    key, sizeof(key), "%s%s", prefix, forms[i].suffix);
		clock_format_local(t, forms[i].style, text, sizeof(text));
		compose_set(obj, key, text);
	}
	/* PREFIX_iso: the UTC form, for links and calendars. */
	(void)snprintf(key, sizeof(key), "%s_iso", prefix);
	clock_format_iso(t, text);
	compose_set(obj, key, text);
}

static json_t *
compose_sender(const struct cfg *cfg)
{
	json_t *s = json_object();

	compose_set(s, "name", cfg->from_name);
	compose_set(s, "email", cfg->from_addr);
	compose_set(s, "reply_to", cfg->reply_to);
	return s;
}

static const char compose_booking_sql[] =
    "SELECT b.reference, b.status, d.first_name, d.last_name, d.email,"
    " d.organisation, c.title, c.starts_at, c.ends_at, c.venue, c.address,"
    " c.joining_url, c.notes, c.status, c.id"
    " FROM bookings b"
    " JOIN delegates d ON d.id = b.delegate_id"
    " JOIN courses c ON c.id = b.course_id"
    " WHERE b.id = ?1";

/* The context of a message about a booking, with the facts its kind's
 * rules are checked on (state may be NULL: the context alone). */
static json_t *
compose_booking_context(const struct compose_env *env, const struct kind *kind,
    int64_t booking_id, struct kind_facts *state, char **why)
{
	json_t *ctx = NULL, *delegate, *course, *booking;
	const char *venue;
	sqlite3_stmt *st;
	int rc;

	if (compose_stmt(env, COMPOSE_STMT_BOOKING, compose_booking_sql, &st) !=
	    0) {
		*why = xstrdup("database error");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, booking_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		*why = xasprintf(
		    "booking id=%lld not found", (long long)booking_id);
		compose_stmt_done(env, st);
		return NULL;
	}
	if (state != NULL) {
		state->booking_confirmed =
		    strcmp(compose_col(st, 1), "confirmed") == 0;
		state->course_scheduled =
		    strcmp(compose_col(st, 13), "scheduled") == 0;
		if (clock_parse_iso(compose_col(st, 7), &state->starts_at) !=
		    0) {
			*why = xasprintf("booking id=%lld: course id=%lld has "
					 "a bad starts_at '%s'",
			    (long long)booking_id,
			    (long long)sqlite3_column_int64(st, 14),
			    compose_col(st, 7));
			compose_stmt_done(env, st);
			return NULL;
		}
	}
	ctx = json_object();
	json_object_set_new(ctx, "sender", compose_sender(env->cfg));
	delegate = json_object();
	compose_set(delegate, "first_name", compose_col(st, 2));
	compose_set(delegate, "last_name", compose_col(st, 3));
	compose_set(delegate, "email", compose_col(st, 4));
	compose_set(delegate, "organisation", compose_col(st, 5));
	json_object_set_new(ctx, "delegate", delegate);
	course = json_object();
	compose_set(course, "title", compose_col(st, 6));
	compose_set_time(course, "starts", compose_col(st, 7));
	compose_set_time(course, "ends", compose_col(st, 8));
	/* Lets a template write "09:30 to 16:30" for a one-day course and
	 * the whole end date for a longer one. */
	json_object_set_new(course, "same_day",
	    json_boolean(json_object_get(course, "ends_date") != NULL &&
		json_equal(json_object_get(course, "starts_date"),
		    json_object_get(course, "ends_date"))));
	venue = compose_col(st, 9);
	compose_set(course, "venue", venue);
	json_object_set_new(course, "online",
	    json_boolean(venue != NULL && strcasecmp(venue, "Online") == 0));
	compose_set(course, "address", compose_col(st, 10));
	compose_set(course, "joining_url", compose_col(st, 11));
	compose_set(course, "notes", compose_col(st, 12));
	compose_set(course, "status", compose_col(st, 13));
	json_object_set_new(ctx, "course", course);
	booking = json_object();
	compose_set(booking, "reference", compose_col(st, 0));
	compose_set(booking, "status", compose_col(st, 1));
	json_object_set_new(ctx, "booking", booking);
	compose_stmt_done(env, st);
	return ctx;
}

static const char compose_subscriber_sql[] =
    "SELECT email, name, status, frequency FROM subscribers WHERE id = ?1";

/* The link for purpose ("unsubscribe", "confirm", "preferences"): its
 * [unsubscribe] url pattern with {token} replaced. Without a configured
 * confirm_url or preferences_url, the unsubscribe url with its
 * "unsubscribe" renamed serves (familymaild's own pages are named so). */
static char *
compose_link(const struct compose_env *env, const char *purpose,
    int64_t subscriber_id, const char *email)
{
	const struct cfg *cfg = env->cfg;
	const char *pattern = cfg->unsubscribe_url, *at;
	bool rename = false;
	struct buf token, url;

	if (strcmp(purpose, "confirm") == 0 && cfg->confirm_url != NULL)
		pattern = cfg->confirm_url;
	else if (strcmp(purpose, "preferences") == 0 &&
	    cfg->preferences_url != NULL)
		pattern = cfg->preferences_url;
	else if (strcmp(purpose, "unsubscribe") != 0)
		rename = true;
	if (pattern == NULL || env->secret == NULL)
		return NULL;
	buf_init(&token);
	if (token_make(env->secret, env->secret_len, purpose, subscriber_id,
		email, &token) != 0) {
		buf_fini(&token);
		return NULL;
	}
	buf_init(&url);
	at = rename ? strstr(pattern, "unsubscribe") : NULL;
	if (at != NULL) {
		buf_append(&url, pattern, (size_t)(at - pattern));
		buf_puts(&url, purpose);
		pattern = at + strlen("unsubscribe");
	}
	at = strstr(pattern, "{token}");
	if (at != NULL) {
		buf_append(&url, pattern, (size_t)(at - pattern));
		buf_append(&url, token.data, token.len);
		buf_puts(&url, at + strlen("{token}"));
	} else {
		buf_puts(&url, pattern);
	}
	buf_fini(&token);
	return buf_take(&url);
}

/* The posts of a digest, newest first, at most max_posts. detail is
 * "FREQUENCY:PERIOD", naming a row of digests. */
static json_t *
compose_posts(const struct compose_env *env, const char *detail, char **why)
{
	static const char sql[] =
	    "SELECT p.title, p.url, p.author, p.summary, p.published_at"
	    " FROM digests g JOIN digest_posts dp ON dp.digest_id = g.id"
	    " JOIN posts p ON p.id = dp.post_id"
	    " WHERE g.frequency || ':' || g.period = ?1"
	    " ORDER BY unixepoch(p.published_at) DESC, p.id DESC LIMIT ?2";
	struct compose_cache *c =
	    env->cache != NULL && env->cache->db == env->db ? env->cache : NULL;
	json_t *posts, *post;
	sqlite3_stmt *st;
	struct buf text;
	char date[64];
	const char *summary;
	time_t t;

	if (detail == NULL) {
		*why = xstrdup("digest period missing");
		return NULL;
	}
	if (c != NULL && c->posts_detail != NULL &&
	    strcmp(c->posts_detail, detail) == 0)
		return json_incref(c->posts);
	if (compose_stmt(env, COMPOSE_STMT_POSTS, sql, &st) != 0) {
		*why = xstrdup("database error");
		return NULL;
	}
	sqlite3_bind_text(st, 1, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int(
	    st, 2, env->cfg->max_posts > 0 ? env->cfg->max_posts : 10);
	posts = json_array();
	buf_init(&text);
	while (sqlite3_step(st) == SQLITE_ROW) {
		post = json_object();
		compose_set(post, "title", compose_col(st, 0));
		compose_set(post, "url", compose_col(st, 1));
		compose_set(post, "author", compose_col(st, 2));
		summary = compose_col(st, 3);
		buf_reset(&text);
		if (summary != NULL)
			htmltext_to_plain(summary, strlen(summary), &text);
		compose_set(
		    post, "summary", text.data != NULL ? text.data : "");
		if (clock_parse_iso(compose_col(st, 4), &t) == 0) {
			clock_format_local(t, CLOCK_DATE, date, sizeof(date));
			compose_set(post, "published", date);
		}
		json_array_append_new(posts, post);
	}
	buf_fini(&text);
	compose_stmt_done(env, st);
	if (c != NULL) {
		compose_cache_forget(c);
		c->posts_detail = xstrdup(detail);
		c->posts = json_incref(posts);
	}
	return posts;
}

/* The context of a message about a subscriber, with the facts its
 * kind's rules are checked on; state->detail names the digest. */
static json_t *
compose_subscriber_context(const struct compose_env *env,
    const struct kind *kind, int64_t subscriber_id, struct kind_facts *state,
    char **why)
{
	json_t *ctx, *sub, *posts;
	const char *email, *status;
	sqlite3_stmt *st;
	char *link;

	if (compose_stmt(env, COMPOSE_STMT_SUBSCRIBER, compose_subscriber_sql,
		&st) != 0) {
		*why = xstrdup("database error");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, subscriber_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		*why = xasprintf(
		    "subscriber id=%lld not found", (long long)subscriber_id);
		compose_stmt_done(env, st);
		return NULL;
	}
	email = compose_col(st, 0);
	status = compose_col(st, 2);
	state->subscriber_active = strcmp(status, "active") == 0;
	state->subscriber_pending = strcmp(status, "pending") == 0;
	ctx = json_object();
	json_object_set_new(ctx, "sender", compose_sender(env->cfg));
	sub = json_object();
	compose_set(sub, "email", email);
	compose_set(sub, "name", compose_col(st, 1));
	compose_set(sub, "frequency", compose_col(st, 3));
	/* The frequency as the word for its period ("this week"). */
	compose_set(sub, "period",
	    strcmp(compose_col(st, 3), "monthly") == 0 ? "month" : "week");
	json_object_set_new(ctx, "subscriber", sub);
	link = compose_link(env, "unsubscribe", subscriber_id, email);
	compose_set(ctx, "unsubscribe_url", link);
	free(link);
	link = compose_link(env, "preferences", subscriber_id, email);
	compose_set(ctx, "preferences_url", link);
	free(link);
	if ((kind->needs & KIND_CONFIRM_LINK) != 0) {
		link = compose_link(env, "confirm", subscriber_id, email);
		compose_set(ctx, "confirm_url", link);
		free(link);
	}
	compose_stmt_done(env, st);
	if ((kind->needs & KIND_POSTS) != 0) {
		posts = compose_posts(env, state->detail, why);
		if (posts == NULL) {
			json_decref(ctx);
			return NULL;
		}
		json_object_set_new(ctx, "post_count",
		    json_integer((json_int_t)json_array_size(posts)));
		/* Mustache has no plurals: "post{{#post_count_plural}}s..." */
		json_object_set_new(ctx, "post_count_plural",
		    json_boolean(json_array_size(posts) != 1));
		state->post_count = (long)json_array_size(posts);
		json_object_set_new(ctx, "posts", posts);
	}
	return ctx;
}

static const char *
compose_get(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/*
 * KIND_CHANGES: previous.* (what the delegate was told before: the
 * message's detail, a JSON object the change job wrote, or else what
 * the record says they were last told) and changed.time, .place, .link
 * against the course in ctx; facts->course_changed when any is true.
 */
static int
compose_changes(const struct compose_env *env, int64_t booking_id,
    struct kind_facts *facts, json_t *ctx, char **why)
{
	const char *keys[] = { "starts_at", "ends_at", "venue", "address",
		"joining_url" };
	const char *was[UTIL_ARRAY_LEN(keys)] = { NULL };
	json_t *detail = NULL, *prev, *course = json_object_get(ctx, "course");
	struct compose_told told;
	bool time = false, place = false, link = false;

	memset(&told, 0, sizeof(told));
	if (facts->detail != NULL) {
		detail = json_loads(facts->detail, 0, NULL);
		if (!json_is_object(detail)) {
			json_decref(detail);
			*why =
			    xasprintf("booking id=%lld: the change notice's "
				      "detail is not what it was told before",
				(long long)booking_id);
			return -EINVAL;
		}
		for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
			was[i] =
			    json_string_value(json_object_get(detail, keys[i]));
	} else if (compose_calendar_told(env->db, booking_id, &told) == 0) {
		was[0] = told.starts_at;
		was[1] = told.ends_at;
		was[2] = told.venue;
		was[3] = told.address;
		was[4] = told.joining_url;
	}
	prev = json_object();
	compose_set_time(prev, "starts", was[0]);
	compose_set_time(prev, "ends", was[1]);
	json_object_set_new(prev, "same_day",
	    json_boolean(json_object_get(prev, "ends_date") != NULL &&
		json_equal(json_object_get(prev, "starts_date"),
		    json_object_get(prev, "ends_date"))));
	compose_set(prev, "venue", was[2]);
	json_object_set_new(prev, "online",
	    json_boolean(was[2] != NULL && strcasecmp(was[2], "Online") == 0));
	compose_set(prev, "address", was[3]);
	compose_set(prev, "joining_url", was[4]);
	/* Compared as the context holds them (valid UTF-8), both sides. */
	if (was[0] != NULL) {
		struct kind_course before = {
			.starts_at = compose_get(prev, "starts_iso"),
			.ends_at = compose_get(prev, "ends_iso"),
			.venue = compose_get(prev, "venue"),
			.address = compose_get(prev, "address"),
			.joining_url = compose_get(prev, "joining_url"),
		};
		struct kind_course after = {
			.starts_at = compose_get(course, "starts_iso"),
			.ends_at = compose_get(course, "ends_iso"),
			.venue = compose_get(course, "venue"),
			.address = compose_get(course, "address"),
			.joining_url = compose_get(course, "joining_url"),
		};

		(void)kind_course_differs(
		    &before, &after, &time, &place, &link);
	}
	facts->course_changed = time || place || link;
	json_object_set_new(ctx, "previous", prev);
	json_object_set_new(ctx, "changed",
	    json_pack(
		"{s:b,s:b,s:b}", "time", time, "place", place, "link", link));
	json_decref(detail);
	compose_told_fini(&told);
	return 0;
}

/* The whole context of a message of kind, and the facts about it; the
 * frequency in facts points into the context. */
static json_t *
compose_build_context(const struct compose_env *env, const struct kind *kind,
    int64_t booking_id, int64_t subscriber_id, struct kind_facts *facts,
    char **why)
{
	json_t *ctx;

	if (kind->about == KIND_ABOUT_BOOKING)
		ctx =
		    compose_booking_context(env, kind, booking_id, facts, why);
	else
		ctx = compose_subscriber_context(
		    env, kind, subscriber_id, facts, why);
	if (ctx == NULL)
		return NULL;
	if (kind->about == KIND_ABOUT_SUBSCRIBER)
		facts->frequency = json_string_value(json_object_get(
		    json_object_get(ctx, "subscriber"), "frequency"));
	if (kind->context != NULL)
		kind->context(ctx, facts);
	if (kind->about == KIND_ABOUT_BOOKING)
		compose_calendar_links(ctx, env->tmpls);
	if ((kind->needs & KIND_CHANGES) != 0 &&
	    compose_changes(env, booking_id, facts, ctx, why) != 0) {
		json_decref(ctx);
		return NULL;
	}
	return ctx;
}

json_t *
compose_context(const struct compose_env *env, const char *kind,
    int64_t booking_id, int64_t subscriber_id, const char *detail, char **why)
{
	const struct kind *k = kind_find(kind);
	struct kind_facts facts = { .detail = detail };

	if (k == NULL) {
		*why = xasprintf("unknown message kind '%s'", kind);
		return NULL;
	}
	return compose_build_context(
	    env, k, booking_id, subscriber_id, &facts, why);
}

/* Longest subject or display name, in bytes: a longer one (a course
 * title pasted with its whole description, say) is cut there with an
 * ellipsis, so that the message still goes out (mime_build() refuses
 * header values over MIME_HEADER_MAX). */
#define COMPOSE_HEADER_MAX 256

/* Turns every run of whitespace (CR and LF included) into one space and
 * trims the ends: a subject or display name stays on one line. A value
 * over COMPOSE_HEADER_MAX bytes is cut on a character boundary (the
 * text is UTF-8). */
static void
compose_one_line(struct buf *b)
{
	size_t j = 0;
	bool space = true;

	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '\v' || c == '\f') {
			if (!space)
				b->data[j++] = ' ';
			space = true;
			continue;
		}
		b->data[j++] = (char)c;
		space = false;
	}
	if (j > 0 && b->data[j - 1] == ' ')
		j--;
	b->len = j;
	if (b->data != NULL)
		b->data[j] = '\0';
	if (j > COMPOSE_HEADER_MAX) {
		j = COMPOSE_HEADER_MAX;
		while (j > 0 && ((unsigned char)b->data[j] & 0xc0) == 0x80)
			j--;
		while (j > 0 && b->data[j - 1] == ' ')
			j--;
		b->len = j;
		b->data[j] = '\0';
		buf_puts(b, "\xe2\x80\xa6");
	}
}

static bool
compose_is_suppressed(const struct compose_env *env, const char *addr)
{
	sqlite3_stmt *st;
	bool found = false;

	if (compose_stmt(env, COMPOSE_STMT_SUPPRESSED,
		"SELECT 1 FROM suppressions WHERE email = ?1", &st) != 0)
		return false;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	compose_stmt_done(env, st);
	return found;
}

static char *
compose_display_name(const json_t *ctx)
{
	const char *first = NULL, *last = NULL, *name = NULL;
	struct buf b;

	json_unpack((json_t *)ctx, "{s?{s?s,s?s},s?{s?s}}", "delegate",
	    "first_name", &first, "last_name", &last, "subscriber", "name",
	    &name);
	buf_init(&b);
	if (first != NULL)
		buf_puts(&b, first);
	if (last != NULL) {
		buf_putc(&b, ' ');
		buf_puts(&b, last);
	}
	if (name != NULL)
		buf_puts(&b, name);
	compose_one_line(&b);
	return buf_take(&b);
}

int
compose_message(const struct compose_env *env, const struct outbox_item *it,
    time_t now, struct transport_msg *out, char **why)
{
	struct kind_facts facts = { .now = now, .detail = it->detail };
	const struct kind *kind;
	struct buf subject, text, html, token, ics;
	char *to_name = NULL, *msgid = NULL, *unsub_url = NULL;
	char *unsub_mailto = NULL, *ics_name = NULL, *ics_why = NULL;
	const char *domain;
	struct mime_msg mm;
	json_t *ctx;
	int ret;

	*why = NULL;
	kind = kind_find(it->kind);
	if (kind == NULL) {
		*why = xasprintf("message id=%lld: unknown kind '%s'",
		    (long long)it->id, it->kind);
		return -EINVAL;
	}
	if (!env->preview && compose_is_suppressed(env, it->recipient)) {
		*why = xstrdup("recipient is suppressed");
		return COMPOSE_SUPPRESSED;
	}
	ctx = compose_build_context(
	    env, kind, it->booking_id, it->subscriber_id, &facts, why);
	if (ctx == NULL)
		return -ENOENT;
	if (!env->preview && !kind->applies(&facts)) {
		json_decref(ctx);
		*why = xstrdup("no longer applies");
		return COMPOSE_CANCELLED;
	}
	buf_init(&subject);
	buf_init(&text);
	buf_init(&html);
	buf_init(&token);
	buf_init(&ics);
	ret = tmpl_set_render(env->tmpls, it->kind, "subject", ctx, &subject);
	if (ret == 0)
		ret = tmpl_set_render(env->tmpls, it->kind, "text", ctx, &text);
	if (ret == 0)
		ret = tmpl_set_render(env->tmpls, it->kind, "html", ctx, &html);
	if (ret != 0) {
		*why = xasprintf("message id=%lld: rendering %s failed: %s",
		    (long long)it->id, it->kind, strerror(-ret));
		goto out;
	}
	compose_one_line(&subject);
	to_name = compose_display_name(ctx);
	domain = strchr(env->cfg->from_addr, '@');
	memset(&mm, 0, sizeof(mm));
	mm.from_name = env->cfg->from_name;
	mm.from_addr = env->cfg->from_addr;
	mm.reply_to = env->cfg->reply_to;
	mm.to_name = to_name;
	mm.to_addr = it->recipient;
	mm.subject = subject.data != NULL ? subject.data : "";
	mm.text = text.data != NULL ? text.data : "";
	mm.html = html.len > 0 ? html.data : NULL;
	mm.date = now;
	mm.msgid_domain = domain != NULL ? domain + 1 : "localhost";
	mm.msgid_prefix = it->verp_token;
	if ((kind->needs & (KIND_CALENDAR | KIND_CALENDAR_CANCEL)) != 0) {
		/* The message matters more than its calendar entry: one
		 * that cannot be made is left out, and said so. */
		bool cancel = (kind->needs & KIND_CALENDAR_CANCEL) != 0;

		if (compose_calendar_entry(env->db, env->cfg, env->tmpls,
			it->booking_id, cancel, ctx, it->recipient, now, &ics,
			&ics_name, &ics_why) == 0) {
			mm.calendar = ics.data;
			mm.calendar_method = calendar_method_name(
			    cancel ? CALENDAR_CANCEL : CALENDAR_REQUEST);
			mm.calendar_filename = ics_name;
		} else {
			log_warnx("compose message id=%lld: %s; sending it "
				  "without a calendar entry",
			    (long long)it->id, ics_why);
		}
	}
	if (kind->about == KIND_ABOUT_BOOKING) {
		/* Transactional: no list headers, and auto-replies should
		 * not answer it (RFC 3834). */
		mm.auto_submitted = true;
	} else {
		const char *email = json_string_value(json_object_get(
		    json_object_get(ctx, "subscriber"), "email"));

		mm.list_id = env->cfg->list_id;
		/* The context's link, made once. */
		const char *url =
		    json_string_value(json_object_get(ctx, "unsubscribe_url"));

		unsub_url = url != NULL ? xstrdup(url) : NULL;
		if (env->cfg->unsubscribe_mailto != NULL &&
		    env->secret != NULL &&
		    token_make(env->secret, env->secret_len, "unsubscribe",
			it->subscriber_id, email, &token) == 0)
			unsub_mailto = xasprintf("%s?subject=unsubscribe%%20%s",
			    env->cfg->unsubscribe_mailto, token.data);
		mm.list_unsubscribe_url = unsub_url;
		mm.list_unsubscribe_mailto = unsub_mailto;
		mm.list_unsubscribe_post = unsub_url != NULL;
	}
	buf_reset(&out->data);
	ret = mime_build(&mm, &out->data, &msgid);
	if (ret != 0) {
		*why = xasprintf("message id=%lld %s id=%lld: cannot build "
				 "the message: %s (a header value with a "
				 "line break or a bad address?)",
		    (long long)it->id,
		    kind->about == KIND_ABOUT_BOOKING ? "booking"
						      : "subscriber",
		    (long long)(kind->about == KIND_ABOUT_BOOKING
			    ? it->booking_id
			    : it->subscriber_id),
		    strerror(-ret));
		goto out;
	}
	free(out->rcpt);
	out->rcpt = xstrdup(it->recipient);
	free(out->envelope_from);
	out->envelope_from =
	    verp_address(it->verp_token, env->cfg->bounce_domain);
	free(out->message_id);
	out->message_id = msgid;
	msgid = NULL;
out:
	free(msgid);
	free(to_name);
	free(unsub_url);
	free(unsub_mailto);
	buf_fini(&subject);
	buf_fini(&text);
	buf_fini(&html);
	buf_fini(&token);
	buf_fini(&ics);
	free(ics_name);
	free(ics_why);
	json_decref(ctx);
	return ret;
}
