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
#include "log.h"
#include "outbox.h"
#include "send/mime.h"
#include "send/transport.h"
#include "tmpl/tmpl.h"
#include "token.h"
#include "util.h"
#include "verp.h"

enum compose_about {
	COMPOSE_ABOUT_BOOKING,
	COMPOSE_ABOUT_SUBSCRIBER,
};

static const struct {
	const char *kind;
	enum compose_about about;
} compose_kinds[] = {
	{ "booking_confirmation", COMPOSE_ABOUT_BOOKING },
	{ "booking_cancelled", COMPOSE_ABOUT_BOOKING },
	{ "course_cancelled", COMPOSE_ABOUT_BOOKING },
	{ "course_reminder", COMPOSE_ABOUT_BOOKING },
	{ "blog_digest", COMPOSE_ABOUT_SUBSCRIBER },
	{ "subscription_confirm", COMPOSE_ABOUT_SUBSCRIBER },
};

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

int
compose_kind_known(const char *kind)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(compose_kinds); i++)
		if (strcmp(kind, compose_kinds[i].kind) == 0)
			return 1;
	return 0;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t
compose_utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string of s with invalid UTF-8 replaced by U+FFFD; null for
 * NULL. */
static json_t *
compose_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;
	json_t *j;
	size_t n;

	if (s == NULL)
		return json_null();
	buf_init(&b);
	while (*p != '\0') {
		n = compose_utf8_len(p);
		if (n == 0) {
			buf_puts(&b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		buf_append(&b, p, n);
		p += n;
	}
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

/*
 * Column col as a link target, or NULL when it is empty or not one a
 * message may link to (util_link_is_safe(): a javascript: or data: URL
 * the website or the feed stored). A refused link is logged with the
 * table and the row's id (column id_col) and left out of the message.
 */
static const char *
compose_link_col(sqlite3_stmt *st, int col, const char *table, int id_col,
    const char *column)
{
	const char *url = compose_col(st, col);

	if (url == NULL || url[0] == '\0')
		return NULL;
	if (util_link_is_safe(url))
		return url;
	log_warnx("compose %s id=%lld %s refused: not an http, https or "
		  "mailto link; left out of the message",
	    table, (long long)sqlite3_column_int64(st, id_col), column);
	return NULL;
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

/* "7d" -> "in 7 days"; "1d" -> "tomorrow"; "2h" -> "in 2 hours". */
static void
compose_offset_words(const char *offset, char *out, size_t size)
{
	static const struct {
		char unit;
		const char *one, *many;
	} units[] = {
		{ 'm', "minute", "minutes" },
		{ 'h', "hour", "hours" },
		{ 'd', "day", "days" },
		{ 'w', "week", "weeks" },
	};
	char *end;
	long n;

	n = strtol(offset, &end, 10);
	if (n == 1 && strcmp(end, "d") == 0) {
		(void)snprintf(out, size, "tomorrow");
		return;
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(units); i++) {
		if (end[0] == units[i].unit && end[1] == '\0' && n > 0) {
			(void)snprintf(out, size, "in %ld %s", n,
			    n == 1 ? units[i].one : units[i].many);
			return;
		}
	}
	(void)snprintf(out, size, "soon");
}

static const char compose_booking_sql[] =
    "SELECT b.reference, b.status, d.first_name, d.last_name, d.email,"
    " d.organisation, c.title, c.starts_at, c.ends_at, c.venue, c.address,"
    " c.joining_url, c.notes, c.status, c.id"
    " FROM bookings b"
    " JOIN delegates d ON d.id = b.delegate_id"
    " JOIN courses c ON c.id = b.course_id"
    " WHERE b.id = ?1";

struct compose_booking_state {
	bool booking_confirmed;
	bool course_scheduled;
	time_t starts_at;
};

static json_t *
compose_booking_context(const struct compose_env *env, const char *kind,
    int64_t booking_id, const char *detail, struct compose_booking_state *state,
    char **why)
{
	json_t *ctx = NULL, *delegate, *course, *booking, *reminder;
	const char *venue;
	sqlite3_stmt *st;
	char words[64];
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
	compose_set(course, "joining_url",
	    compose_link_col(st, 11, "courses", 14, "joining_url"));
	compose_set(course, "notes", compose_col(st, 12));
	compose_set(course, "status", compose_col(st, 13));
	json_object_set_new(ctx, "course", course);
	booking = json_object();
	compose_set(booking, "reference", compose_col(st, 0));
	compose_set(booking, "status", compose_col(st, 1));
	json_object_set_new(ctx, "booking", booking);
	if (strcmp(kind, "course_reminder") == 0 && detail != NULL) {
		reminder = json_object();
		compose_set(reminder, "offset", detail);
		compose_offset_words(detail, words, sizeof(words));
		compose_set(reminder, "when", words);
		json_object_set_new(ctx, "reminder", reminder);
	}
	compose_stmt_done(env, st);
	return ctx;
}

static const char compose_subscriber_sql[] =
    "SELECT email, name, status, frequency FROM subscribers WHERE id = ?1";

struct compose_subscriber_state {
	bool active;
	bool pending;
	char frequency[16];
};

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
	    "SELECT p.title, p.url, p.author, p.summary, p.published_at, p.id"
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
		/* A post is nothing in a digest without its link. */
		if (compose_link_col(st, 1, "posts", 5, "url") == NULL)
			continue;
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

static json_t *
compose_subscriber_context(const struct compose_env *env, const char *kind,
    int64_t subscriber_id, const char *detail,
    struct compose_subscriber_state *state, char **why)
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
	if (state != NULL) {
		state->active = strcmp(status, "active") == 0;
		state->pending = strcmp(status, "pending") == 0;
		(void)snprintf(state->frequency, sizeof(state->frequency), "%s",
		    compose_col(st, 3));
	}
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
	if (strcmp(kind, "subscription_confirm") == 0) {
		link = compose_link(env, "confirm", subscriber_id, email);
		compose_set(ctx, "confirm_url", link);
		free(link);
	}
	compose_stmt_done(env, st);
	if (strcmp(kind, "blog_digest") == 0) {
		posts = compose_posts(env, detail, why);
		if (posts == NULL) {
			json_decref(ctx);
			return NULL;
		}
		json_object_set_new(ctx, "post_count",
		    json_integer((json_int_t)json_array_size(posts)));
		/* Mustache has no plurals: "post{{#post_count_plural}}s..." */
		json_object_set_new(ctx, "post_count_plural",
		    json_boolean(json_array_size(posts) != 1));
		json_object_set_new(ctx, "posts", posts);
	}
	return ctx;
}

json_t *
compose_context(const struct compose_env *env, const char *kind,
    int64_t booking_id, int64_t subscriber_id, const char *detail, char **why)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(compose_kinds); i++) {
		if (strcmp(kind, compose_kinds[i].kind) != 0)
			continue;
		if (compose_kinds[i].about == COMPOSE_ABOUT_BOOKING)
			return compose_booking_context(
			    env, kind, booking_id, detail, NULL, why);
		return compose_subscriber_context(
		    env, kind, subscriber_id, detail, NULL, why);
	}
	*why = xasprintf("unknown message kind '%s'", kind);
	return NULL;
}

/* Whether a booking message still applies: the rules of DESIGN "The
 * jobs", checked again at send time. */
static bool
compose_booking_applies(
    const char *kind, const struct compose_booking_state *s, time_t now)
{
	if (strcmp(kind, "booking_confirmation") == 0)
		return s->booking_confirmed && s->course_scheduled;
	if (strcmp(kind, "booking_cancelled") == 0)
		return !s->booking_confirmed;
	if (strcmp(kind, "course_cancelled") == 0)
		return !s->course_scheduled;
	if (strcmp(kind, "course_reminder") == 0)
		return s->booking_confirmed && s->course_scheduled &&
		    s->starts_at > now;
	return false;
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

static int
compose_about(const char *kind)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(compose_kinds); i++)
		if (strcmp(kind, compose_kinds[i].kind) == 0)
			return (int)compose_kinds[i].about;
	return -1;
}

/* Whether a subscriber message still applies when it is sent. */
static bool
compose_subscriber_applies(
    const struct outbox_item *it, const struct compose_subscriber_state *s)
{
	size_t n = strlen(s->frequency);

	if (strcmp(it->kind, "subscription_confirm") == 0)
		return s->pending;
	/* A digest goes to an active subscriber still on its frequency. */
	return s->active && it->detail != NULL &&
	    strncmp(it->detail, s->frequency, n) == 0 && it->detail[n] == ':';
}

int
compose_message(const struct compose_env *env, const struct outbox_item *it,
    time_t now, struct transport_msg *out, char **why)
{
	struct compose_booking_state bstate;
	struct compose_subscriber_state sstate;
	struct buf subject, text, html, token;
	char *to_name = NULL, *msgid = NULL, *unsub_url = NULL;
	char *unsub_mailto = NULL;
	const char *domain;
	struct mime_msg mm;
	bool applies;
	json_t *ctx;
	int about, ret;

	*why = NULL;
	about = compose_about(it->kind);
	if (about < 0) {
		*why = xasprintf("message id=%lld: unknown kind '%s'",
		    (long long)it->id, it->kind);
		return -EINVAL;
	}
	if (!env->preview && compose_is_suppressed(env, it->recipient)) {
		*why = xstrdup("recipient is suppressed");
		return COMPOSE_SUPPRESSED;
	}
	if (about == COMPOSE_ABOUT_BOOKING) {
		ctx = compose_booking_context(
		    env, it->kind, it->booking_id, it->detail, &bstate, why);
		applies = ctx != NULL &&
		    compose_booking_applies(it->kind, &bstate, now);
	} else {
		ctx = compose_subscriber_context(
		    env, it->kind, it->subscriber_id, it->detail, &sstate, why);
		applies = ctx != NULL &&
		    compose_subscriber_applies(it, &sstate) &&
		    (strcmp(it->kind, "blog_digest") != 0 ||
			json_integer_value(json_object_get(ctx, "post_count")) >
			    0);
	}
	if (ctx == NULL)
		return -ENOENT;
	if (!env->preview && !applies) {
		json_decref(ctx);
		*why = xstrdup("no longer applies");
		return COMPOSE_CANCELLED;
	}
	buf_init(&subject);
	buf_init(&text);
	buf_init(&html);
	buf_init(&token);
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
	if (about == COMPOSE_ABOUT_BOOKING) {
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
		    about == COMPOSE_ABOUT_BOOKING ? "booking" : "subscriber",
		    (long long)(about == COMPOSE_ABOUT_BOOKING
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
	json_decref(ctx);
	return ret;
}
