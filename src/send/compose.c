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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfg.h"
#include "cfg_value.h"
#include "clock.h"
#include "db.h"
#include "htmltext.h"
#include "kind.h"
#include "lang.h"
#include "log.h"
#include "outbox.h"
#include "send/calendar.h"
#include "send/compose_calendar.h"
#include "send/dkimsign.h"
#include "send/mime.h"
#include "send/transport.h"
#include "suppress.h"
#include "textwrap.h"
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
	/* sender and organisation of the contexts, made from cfg once */
	json_t *sender, *organisation;
	/* The rendered parts' buffers, kept from message to message so
	 * that each is allocated once, not grown anew every time. */
	struct buf text, html, wrapped;
};

/* The language(s) of one message: one, or those of a bilingual one in
 * their order ([daemon] bilingual). */
struct compose_lang {
	char tags[CFG_MAX_LANGS][LANG_TAG_MAX];
	int n;
};

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
	size_t n;

	if (s == NULL)
		return json_null();
	/* Most values are ASCII: valid as they are, and jansson need not
	 * check them again. */
	for (n = 0; ((const unsigned char *)s)[n] != '\0'; n++)
		if (((const unsigned char *)s)[n] >= 0x80)
			break;
	if (s[n] == '\0')
		return json_stringn_nocheck(s, n);
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
compose_set_time(
    json_t *obj, const char *prefix, const char *iso, const char *lang)
{
	static const struct {
		const char *suffix;
		enum clock_style style;
	} forms[] = {
		{ "", CLOCK_LONG },
		{ "_date", CLOCK_DATE },
		{ "_time", CLOCK_TIME },
		{ "_short", CLOCK_SHORT },
		{ "_weekday", CLOCK_WEEKDAY },
		{ "_day", CLOCK_DAY },
	};
	char key[32], text[96];
	time_t t;

	if (iso == NULL || clock_parse_iso(iso, &t) != 0)
		return;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(forms); i++) {
		(void)snprintf(
		    key, sizeof(key), "%s%s", prefix, forms[i].suffix);
		clock_format_local_lang(
		    t, forms[i].style, lang, text, sizeof(text));
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
	char *name = NULL, *addr = NULL, *why = NULL;

	compose_set(s, "name", cfg->from_name);
	compose_set(s, "email", cfg->from_addr);
	compose_set(s, "reply_to", cfg->reply_to);
	/* The address replies reach, for footers: a footer that shows
	 * one address while replies go to another misleads. */
	if (cfg->reply_to != NULL &&
	    cfg_value_parse_mailbox(cfg->reply_to, &name, &addr, &why) == 0)
		compose_set(s, "reply_email", addr);
	else
		compose_set(s, "reply_email", cfg->from_addr);
	free(name);
	free(addr);
	free(why);
	return s;
}

/* Who sends: [organisation], the name defaulting to the From name. */
static json_t *
compose_organisation(const struct cfg *cfg)
{
	json_t *o = json_object();
	const char *name = cfg->org_name != NULL ? cfg->org_name
	    : cfg->from_name != NULL && cfg->from_name[0] != '\0'
	    ? cfg->from_name
	    : NULL;

	compose_set(o, "name", name);
	if (cfg->org_address != NULL)
		compose_set(o, "address", cfg->org_address);
	if (cfg->org_charity_number != NULL)
		compose_set(o, "charity_number", cfg->org_charity_number);
	return o;
}

struct compose_cache *
compose_cache_new(sqlite3 *db, const struct cfg *cfg)
{
	struct compose_cache *c = xcalloc(1, sizeof(*c));

	c->db = db;
	c->sender = compose_sender(cfg);
	c->organisation = compose_organisation(cfg);
	buf_init(&c->text);
	buf_init(&c->html);
	buf_init(&c->wrapped);
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
	json_decref(c->sender);
	json_decref(c->organisation);
	buf_fini(&c->text);
	buf_fini(&c->html);
	buf_fini(&c->wrapped);
	free(c);
}

/* What every context has: sender, organisation (made once for the
 * cache's config, and shared: nothing writes into them), message. */
static void
compose_common(json_t *ctx, const struct compose_env *env, const char *lang)
{
	struct compose_cache *c = env->cache;
	json_t *m = json_object();

	if (c == NULL) {
		json_object_set_new(ctx, "sender", compose_sender(env->cfg));
		json_object_set_new(
		    ctx, "organisation", compose_organisation(env->cfg));
	} else {
		json_object_set(ctx, "sender", c->sender);
		json_object_set(ctx, "organisation", c->organisation);
	}
	compose_set(m, "language", lang);
	json_object_set_new(ctx, "message", m);
}

/* A language a message can be written in: the default one, or one with
 * a folder of templates. */
static bool
compose_lang_usable(const struct compose_env *env, const char *tag)
{
	char a[LANG_TAG_MAX], b[LANG_TAG_MAX];

	lang_primary(tag, a);
	lang_primary(env->cfg->language, b);
	if (strcmp(a, b) == 0)
		return true;
	return env->tmpls != NULL &&
	    tmpl_set_match_language(env->tmpls, tag) != NULL;
}

/*
 * The language of a message (DESIGN "Database"): the person's, else the
 * course's (course mail), else [daemon] bilingual's languages when set,
 * else [daemon] language. A language the daemon has no templates for is
 * replaced by the default: a message all English but its dates would
 * help nobody.
 */
static void
compose_resolve_language(const struct compose_env *env, const char *person,
    const char *course, struct compose_lang *out)
{
	const struct cfg *cfg = env->cfg;
	char tag[LANG_TAG_MAX];

	out->n = 1;
	if ((person != NULL && lang_normalise(person, tag) == 0) ||
	    (course != NULL && lang_normalise(course, tag) == 0)) {
		if (!compose_lang_usable(env, tag)) {
			log_debug("compose language=%s unknown: default %s",
			    tag, cfg->language);
			(void)snprintf(tag, sizeof(tag), "%s", cfg->language);
		}
		(void)snprintf(out->tags[0], LANG_TAG_MAX, "%s", tag);
		return;
	}
	out->n = 0;
	for (int i = 0; i < cfg->n_bilingual; i++)
		if (compose_lang_usable(env, cfg->bilingual[i]))
			(void)snprintf(out->tags[out->n++], LANG_TAG_MAX, "%s",
			    cfg->bilingual[i]);
	if (out->n >= 2)
		return;
	out->n = 1;
	(void)snprintf(out->tags[0], LANG_TAG_MAX, "%s",
	    cfg->language != NULL ? cfg->language : "en");
}

static const char compose_booking_sql[] =
    "SELECT b.reference, b.status, d.first_name, d.last_name, d.email,"
    " d.organisation, c.title, c.starts_at, c.ends_at, c.venue, c.address,"
    " c.joining_url, c.notes, c.status, c.id, d.language, c.language"
    " FROM bookings b"
    " JOIN delegates d ON d.id = b.delegate_id"
    " JOIN courses c ON c.id = b.course_id"
    " WHERE b.id = ?1";

/* The context of a message about a booking, with the facts its kind's
 * rules are checked on (state may be NULL: the context alone). */
static json_t *
compose_booking_context(const struct compose_env *env, const struct kind *kind,
    int64_t booking_id, struct kind_facts *state, const char *lang_in,
    struct compose_lang *lang, char **why)
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
		state->gone = rc == SQLITE_DONE;
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
	compose_resolve_language(
	    env, compose_col(st, 15), compose_col(st, 16), lang);
	if (lang_in == NULL)
		lang_in = lang->tags[0];
	ctx = json_object();
	compose_common(ctx, env, lang_in);
	delegate = json_object();
	compose_set(delegate, "first_name", compose_col(st, 2));
	compose_set(delegate, "last_name", compose_col(st, 3));
	compose_set(delegate, "email", compose_col(st, 4));
	compose_set(delegate, "organisation", compose_col(st, 5));
	json_object_set_new(ctx, "delegate", delegate);
	course = json_object();
	compose_set(course, "title", compose_col(st, 6));
	compose_set_time(course, "starts", compose_col(st, 7), lang_in);
	compose_set_time(course, "ends", compose_col(st, 8), lang_in);
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
	compose_stmt_done(env, st);
	return ctx;
}

static const char compose_subscriber_sql[] =
    "SELECT email, name, status, frequency, language FROM subscribers"
    " WHERE id = ?1";

/* The token of a link for purpose; a test message's names the purpose
 * "test:PURPOSE", so that it does nothing real. */
static int
compose_token(const struct compose_env *env, const char *purpose,
    int64_t subscriber_id, const char *email, struct buf *out)
{
	char test[32];

	if (env->test) {
		(void)snprintf(test, sizeof(test), "test:%s", purpose);
		purpose = test;
	}
	return token_make(
	    env->secret, env->secret_len, purpose, subscriber_id, email, out);
}

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
	if (compose_token(env, purpose, subscriber_id, email, &token) != 0) {
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

/* The summary's paragraphs (split at blank lines), for HTML parts that
 * want one <p> each. */
static json_t *
compose_paragraphs(const char *text)
{
	json_t *a = json_array();
	const char *p = text, *end;
	char *para;

	while (*p != '\0') {
		while (*p == '\n')
			p++;
		if (*p == '\0')
			break;
		end = strstr(p, "\n\n");
		if (end == NULL)
			end = p + strlen(p);
		para = xstrndup(p, (size_t)(end - p));
		json_array_append_new(a, compose_str(para));
		free(para);
		p = end;
	}
	return a;
}

/* The posts of a digest, newest first, at most max_posts, with dates in
 * lang. detail is "FREQUENCY:PERIOD", naming a row of digests. */
static json_t *
compose_posts(const struct compose_env *env, const char *detail,
    const char *lang, char **why)
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
	struct buf text, cut;
	char date[64], *key;
	const char *summary;
	time_t t;

	if (detail == NULL) {
		*why = xstrdup("digest period missing");
		return NULL;
	}
	/* The posts of one digest in one language: a bilingual digest or
	 * one with Welsh and English readers alternates between two. */
	key = xasprintf("%s %s", lang, detail);
	if (c != NULL && c->posts_detail != NULL &&
	    strcmp(c->posts_detail, key) == 0) {
		free(key);
		return json_incref(c->posts);
	}
	if (compose_stmt(env, COMPOSE_STMT_POSTS, sql, &st) != 0) {
		*why = xstrdup("database error");
		free(key);
		return NULL;
	}
	sqlite3_bind_text(st, 1, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int(
	    st, 2, env->cfg->max_posts > 0 ? env->cfg->max_posts : 10);
	posts = json_array();
	buf_init(&text);
	buf_init(&cut);
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
		buf_reset(&cut);
		if (summary != NULL)
			htmltext_summary(summary, strlen(summary),
			    compose_col(st, 1), &text);
		textwrap_cut(text.data != NULL ? text.data : "",
		    (size_t)env->cfg->summary_length, &cut);
		compose_set(post, "summary", cut.data != NULL ? cut.data : "");
		json_object_set_new(post, "paragraphs",
		    compose_paragraphs(cut.data != NULL ? cut.data : ""));
		if (clock_parse_iso(compose_col(st, 4), &t) == 0) {
			clock_format_local_lang(
			    t, CLOCK_DATE, lang, date, sizeof(date));
			compose_set(post, "published", date);
		}
		json_array_append_new(posts, post);
	}
	buf_fini(&text);
	buf_fini(&cut);
	compose_stmt_done(env, st);
	if (c != NULL) {
		compose_cache_forget(c);
		c->posts_detail = key;
		key = NULL;
		c->posts = json_incref(posts);
	}
	free(key);
	return posts;
}

/* The context of a message about a subscriber, with the facts its
 * kind's rules are checked on; state->detail names the digest. */
static json_t *
compose_subscriber_context(const struct compose_env *env,
    const struct kind *kind, int64_t subscriber_id, struct kind_facts *state,
    const char *lang_in, struct compose_lang *lang, char **why)
{
	json_t *ctx, *sub, *posts, *form;
	const char *cat;
	bool monthly;
	const char *email, *status;
	sqlite3_stmt *st;
	char *link;
	int rc;

	if (compose_stmt(env, COMPOSE_STMT_SUBSCRIBER, compose_subscriber_sql,
		&st) != 0) {
		*why = xstrdup("database error");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, subscriber_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		*why = xasprintf(
		    "subscriber id=%lld not found", (long long)subscriber_id);
		state->gone = rc == SQLITE_DONE;
		compose_stmt_done(env, st);
		return NULL;
	}
	email = compose_col(st, 0);
	status = compose_col(st, 2);
	state->subscriber_active = strcmp(status, "active") == 0;
	state->subscriber_pending = strcmp(status, "pending") == 0;
	compose_resolve_language(env, compose_col(st, 4), NULL, lang);
	if (lang_in == NULL)
		lang_in = lang->tags[0];
	ctx = json_object();
	compose_common(ctx, env, lang_in);
	sub = json_object();
	compose_set(sub, "email", email);
	compose_set(sub, "name", compose_col(st, 1));
	compose_set(sub, "frequency", compose_col(st, 3));
	/* The frequency as the word for its period ("this week"), and as
	 * flags for languages whose words for it differ by more. */
	monthly = strcmp(compose_col(st, 3), "monthly") == 0;
	compose_set(sub, "period", monthly ? "month" : "week");
	json_object_set_new(sub, "weekly", json_boolean(!monthly));
	json_object_set_new(sub, "monthly", json_boolean(monthly));
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
		posts = compose_posts(env, state->detail, lang_in, why);
		if (posts == NULL) {
			json_decref(ctx);
			return NULL;
		}
		json_object_set_new(ctx, "post_count",
		    json_integer((json_int_t)json_array_size(posts)));
		/* Mustache has no plurals: "post{{#post_count_plural}}s..."
		 * in English; in any language, post_count_form names the
		 * count's CLDR plural category ("{{#post_count_form.few}}"). */
		json_object_set_new(ctx, "post_count_plural",
		    json_boolean(json_array_size(posts) != 1));
		cat = lang_plural(lang_in, (long)json_array_size(posts));
		form = json_object();
		json_object_set_new(form, cat, json_true());
		json_object_set_new(ctx, "post_count_form", form);
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
	const char *lang;
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
	/* In the message's language, as the course's own times. */
	lang = compose_get(json_object_get(ctx, "message"), "language");
	compose_set_time(prev, "starts", was[0], lang);
	compose_set_time(prev, "ends", was[1], lang);
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
    const char *lang_in, struct compose_lang *lang, char **why)
{
	struct compose_lang scratch;
	json_t *ctx;

	if (lang == NULL)
		lang = &scratch;
	if (kind->about == KIND_ABOUT_BOOKING)
		ctx = compose_booking_context(
		    env, kind, booking_id, facts, lang_in, lang, why);
	else
		ctx = compose_subscriber_context(
		    env, kind, subscriber_id, facts, lang_in, lang, why);
	if (ctx == NULL)
		return NULL;
	facts->language = json_string_value(
	    json_object_get(json_object_get(ctx, "message"), "language"));
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
	    env, k, booking_id, subscriber_id, &facts, NULL, NULL, why);
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

/* The address the context's record has: the delegate's or the
 * subscriber's, or NULL. */
static const char *
compose_recipient(json_t *ctx)
{
	const char *email = NULL;

	json_unpack(ctx, "{s?{s?s},s?{s?s}}", "delegate", "email", &email,
	    "subscriber", "email", &email);
	return email;
}

/* On the list in clear, or erased: as its keyed hash (suppress.h). */
static bool
compose_is_suppressed(const struct compose_env *env, const char *addr)
{
	char hash[SUPPRESS_HASH_LEN];
	sqlite3_stmt *st;
	bool found = false;

	if (compose_stmt(env, COMPOSE_STMT_SUPPRESSED,
		/* Two lookups of the key, not an OR, which SQLite
		 * answers through a temporary table. */
		"SELECT 1 WHERE EXISTS (SELECT 1 FROM suppressions"
		" WHERE email = ?1) OR EXISTS (SELECT 1 FROM suppressions"
		" WHERE email = ?2)",
		&st) != 0)
		return false;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	if (env->secret != NULL) {
		suppress_hash(env->secret, env->secret_len, addr, hash);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
	}
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

/* "TOKEN.CREATED@domain": the VERP token, then the time the message was
 * queued in base 36; the same at every try. */
static char *
compose_msgid(const struct outbox_item *it, const char *domain)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char created[16];
	uint64_t t = it->created_at > 0 ? (uint64_t)it->created_at : 0;
	size_t n = sizeof(created) - 1;

	created[n] = '\0';
	do {
		created[--n] = digits[t % 36];
		t /= 36;
	} while (t > 0 && n > 0);
	return xasprintf("%s.%s@%s", it->verp_token, created + n, domain);
}

/* Renders the three parts of kind in one language, appending. */
static int
compose_render_parts(const struct compose_env *env, const char *kind,
    const char *lang, const json_t *ctx, struct buf *subject, struct buf *text,
    struct buf *html)
{
	int ret;

	ret = tmpl_set_render_lang(
	    env->tmpls, lang, kind, "subject", ctx, subject);
	if (ret == 0)
		ret = tmpl_set_render_lang(
		    env->tmpls, lang, kind, "text", ctx, text);
	if (ret == 0)
		ret = tmpl_set_render_lang(
		    env->tmpls, lang, kind, "html", ctx, html);
	return ret;
}

static void
compose_set_flag(json_t *ctx, const char *key)
{
	json_object_set_new(json_object_get(ctx, "message"), key, json_true());
}

/*
 * A bilingual message: the kind rendered in each language in turn, the
 * HTML of each as a fragment (message.fragment: the layout leaves out
 * the document around its card), then put together by the partials
 * layout_bilingual (HTML) and layout_bilingual_text, which see parts
 * (language, name, subject, text, html, read_in, first) and subject.
 * ctx is the first language's context.
 */
static int
compose_render_bilingual(const struct compose_env *env, const struct kind *kind,
    const struct outbox_item *it, json_t *ctx, const struct compose_lang *lang,
    struct buf *subject, struct buf *text, struct buf *html, char **why)
{
	json_t *parts = json_array(), *frame, *c;
	struct buf s, t, h, r;
	char name[64];
	int ret = 0;

	buf_init(&s);
	buf_init(&t);
	buf_init(&h);
	buf_init(&r);
	for (int i = 0; i < lang->n && ret == 0; i++) {
		struct kind_facts facts = { .detail = it->detail };

		c = i == 0
		    ? json_incref(ctx)
		    : compose_build_context(env, kind, it->booking_id,
			  it->subscriber_id, &facts, lang->tags[i], NULL, why);
		if (c == NULL) {
			ret = -ENOENT;
			break;
		}
		compose_set_flag(c, "fragment");
		compose_set_flag(c, "bilingual");
		buf_reset(&s);
		buf_reset(&t);
		buf_reset(&h);
		buf_reset(&r);
		ret = compose_render_parts(
		    env, kind->name, lang->tags[i], c, &s, &t, &h);
		json_decref(c);
		if (ret != 0)
			break;
		compose_one_line(&s);
		lang_native_name(lang->tags[i], name, sizeof(name));
		if (tmpl_set_render_partial(env->tmpls, lang->tags[i],
			"read_in", TMPL_ESCAPE_NONE, NULL, &r) != 0 ||
		    r.len == 0)
			buf_puts(&r, name);
		compose_one_line(&r);
		json_array_append_new(parts,
		    json_pack("{s:s,s:s,s:s%,s:s%,s:s%,s:s,s:b}", "language",
			lang->tags[i], "name", name, "subject",
			s.data != NULL ? s.data : "", s.len, "text",
			t.data != NULL ? t.data : "", t.len, "html",
			h.data != NULL ? h.data : "", h.len, "read_in",
			r.data != NULL ? r.data : "", "first", i == 0));
		if (i > 0)
			buf_puts(subject, " / ");
		buf_append(subject, s.data != NULL ? s.data : "", s.len);
	}
	buf_fini(&s);
	buf_fini(&t);
	buf_fini(&h);
	buf_fini(&r);
	if (ret != 0) {
		json_decref(parts);
		return ret;
	}
	frame = json_copy(ctx);
	json_object_set_new(frame, "parts", parts);
	json_object_set_new(frame, "subject",
	    json_string(subject->data != NULL ? subject->data : ""));
	ret = tmpl_set_render_partial(env->tmpls, lang->tags[0],
	    "layout_bilingual", TMPL_ESCAPE_HTML, frame, html);
	if (ret == 0)
		ret = tmpl_set_render_partial(env->tmpls, lang->tags[0],
		    "layout_bilingual_text", TMPL_ESCAPE_NONE, frame, text);
	if (ret == -ENOENT)
		*why = xstrdup("a bilingual message needs the partials "
			       "layout_bilingual and layout_bilingual_text");
	json_decref(frame);
	return ret;
}

/* Gmail's Feedback-ID for bulk mail, "CAMPAIGN:KIND:SENDER": the digest
 * period ("weekly-2026-W48"), the kind, and the list as the sender's
 * constant identifier; characters outside "._-" and alphanumerics
 * become '-'. */
static char *
compose_feedback_id(const struct compose_env *env, const struct outbox_item *it)
{
	char *id =
	    xasprintf("%s:%s:%s", it->detail != NULL ? it->detail : "none",
		it->kind, env->cfg->list_id);
	size_t campaign = it->detail != NULL ? strlen(it->detail) : 4;

	for (size_t i = 0; id[i] != '\0'; i++)
		if ((i < campaign || id[i] != ':') &&
		    !isalnum((unsigned char)id[i]) &&
		    strchr("._-", id[i]) == NULL)
			id[i] = '-';
	return id;
}

/* What one message is made of while it is composed: the rendered parts
 * and the strings its headers point to (struct mime_msg borrows them),
 * freed together by compose_parts_fini(). */
struct compose_parts {
	struct buf subject, text, html, token, wrapped, langs, ics;
	char *to_name;
	char *msgid_kept;
	char *unsub_url, *unsub_mailto;
	char *feedback_id;
	char *ics_name, *ics_why;
};

/* Moves from's buffer, emptied, into to; from is left empty. */
static void
compose_buf_move(struct buf *to, struct buf *from)
{
	*to = *from;
	buf_init(from);
	buf_reset(to);
}

/* The parts, with the cache's buffers when there is a cache. */
static void
compose_parts_init(struct compose_parts *pt, struct compose_cache *c)
{
	memset(pt, 0, sizeof(*pt));
	buf_init(&pt->subject);
	buf_init(&pt->text);
	buf_init(&pt->html);
	buf_init(&pt->token);
	buf_init(&pt->wrapped);
	buf_init(&pt->langs);
	buf_init(&pt->ics);
	if (c == NULL)
		return;
	compose_buf_move(&pt->text, &c->text);
	compose_buf_move(&pt->html, &c->html);
	compose_buf_move(&pt->wrapped, &c->wrapped);
}

/* Frees the parts; the cache, if any, keeps the big buffers. */
static void
compose_parts_fini(struct compose_parts *pt, struct compose_cache *c)
{
	if (c != NULL) {
		compose_buf_move(&c->text, &pt->text);
		compose_buf_move(&c->html, &pt->html);
		compose_buf_move(&c->wrapped, &pt->wrapped);
	}
	free(pt->msgid_kept);
	free(pt->feedback_id);
	free(pt->to_name);
	free(pt->unsub_url);
	free(pt->unsub_mailto);
	buf_fini(&pt->subject);
	buf_fini(&pt->text);
	buf_fini(&pt->html);
	buf_fini(&pt->token);
	buf_fini(&pt->wrapped);
	buf_fini(&pt->langs);
	buf_fini(&pt->ics);
	free(pt->ics_name);
	free(pt->ics_why);
}

/* Renders the subject, the text (wrapped) and the HTML of the message
 * into pt, in its language or languages. 0, or a negative errno with
 * *why saying which message and why. */
static int
compose_render_message(const struct compose_env *env, const struct kind *kind,
    const struct outbox_item *it, json_t *ctx, const struct compose_lang *lang,
    struct compose_parts *pt, char **why)
{
	int ret;

	if (lang->n > 1)
		ret = compose_render_bilingual(env, kind, it, ctx, lang,
		    &pt->subject, &pt->text, &pt->html, why);
	else
		ret = compose_render_parts(env, it->kind, lang->tags[0], ctx,
		    &pt->subject, &pt->text, &pt->html);
	if (ret != 0) {
		char *detail = *why;

		*why = xasprintf("message id=%lld: rendering %s failed: %s%s%s",
		    (long long)it->id, it->kind, strerror(-ret),
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");
		free(detail);
		return ret;
	}
	compose_one_line(&pt->subject);
	if (env->test) {
		char *s = buf_take(&pt->subject);

		buf_puts(&pt->subject, "[TEST] ");
		buf_puts(&pt->subject, s);
		free(s);
	}
	textwrap(pt->text.data != NULL ? pt->text.data : "", pt->text.len,
	    TEXTWRAP_WIDTH, &pt->wrapped);
	for (int i = 0; i < lang->n; i++)
		buf_printf(
		    &pt->langs, "%s%s", i > 0 ? ", " : "", lang->tags[i]);
	return 0;
}

/* The headers every message has, and its parts, into mm. */
static void
compose_fill_headers(const struct compose_env *env,
    const struct outbox_item *it, const json_t *ctx, const char *rcpt,
    time_t now, struct compose_parts *pt, struct mime_msg *mm)
{
	const char *domain = strchr(env->cfg->from_addr, '@');

	pt->to_name = compose_display_name(ctx);
	memset(mm, 0, sizeof(*mm));
	mm->from_name = env->cfg->from_name;
	mm->from_addr = env->cfg->from_addr;
	mm->reply_to = env->cfg->reply_to;
	mm->to_name = pt->to_name;
	mm->to_addr = rcpt;
	mm->subject = pt->subject.data != NULL ? pt->subject.data : "";
	mm->text = pt->wrapped.data != NULL ? pt->wrapped.data : "";
	mm->content_language = pt->langs.data;
	mm->html = pt->html.len > 0 ? pt->html.data : NULL;
	mm->date = now;
	mm->msgid_domain = domain != NULL ? domain + 1 : "localhost";
	mm->msgid_prefix = it->verp_token;
	/* One Message-ID for the life of the message, so that the copy a
	 * crash may send twice reads as the same message: the one an
	 * earlier try gave it, else one made of what never changes. */
	if (it->message_id != NULL)
		mm->msgid = it->message_id;
	else if (!env->preview && it->verp_token != NULL)
		mm->msgid = pt->msgid_kept =
		    compose_msgid(it, mm->msgid_domain);
	/* Every message is machine-made: auto-replies should not answer
	 * it (RFC 3834). */
	mm->auto_submitted = true;
}

/* The calendar entry of a kind that has one, into mm. The message
 * matters more than its calendar entry: one that cannot be made is left
 * out, and said so. */
static void
compose_add_calendar(const struct compose_env *env, const struct kind *kind,
    const struct outbox_item *it, const json_t *ctx, const char *rcpt,
    time_t now, struct compose_parts *pt, struct mime_msg *mm)
{
	bool cancel = (kind->needs & KIND_CALENDAR_CANCEL) != 0;

	if ((kind->needs & (KIND_CALENDAR | KIND_CALENDAR_CANCEL)) == 0)
		return;
	if (compose_calendar_entry(env->db, env->cfg, env->tmpls,
		it->booking_id, cancel, ctx, rcpt, now, &pt->ics, &pt->ics_name,
		&pt->ics_why) == 0) {
		mm->calendar = pt->ics.data;
		mm->calendar_method = calendar_method_name(
		    cancel ? CALENDAR_CANCEL : CALENDAR_REQUEST);
		mm->calendar_filename = pt->ics_name;
	} else {
		log_warnx("compose message id=%lld: %s; sending it "
			  "without a calendar entry",
		    (long long)it->id, pt->ics_why);
	}
}

/* The list headers (List-Id, List-Unsubscribe, Feedback-ID for bulk)
 * into mm. Booking mail is transactional: none. */
static void
compose_add_list_headers(const struct compose_env *env, const struct kind *kind,
    const struct outbox_item *it, const json_t *ctx, struct compose_parts *pt,
    struct mime_msg *mm)
{
	const char *email, *url;

	if (kind->about == KIND_ABOUT_BOOKING)
		return;
	email = json_string_value(
	    json_object_get(json_object_get(ctx, "subscriber"), "email"));
	mm->list_id = env->cfg->list_id;
	/* The context's link, made once. */
	url = json_string_value(json_object_get(ctx, "unsubscribe_url"));
	pt->unsub_url = url != NULL ? xstrdup(url) : NULL;
	if (env->cfg->unsubscribe_mailto != NULL && env->secret != NULL &&
	    compose_token(
		env, "unsubscribe", it->subscriber_id, email, &pt->token) == 0)
		pt->unsub_mailto = xasprintf("%s?subject=unsubscribe%%20%s",
		    env->cfg->unsubscribe_mailto, pt->token.data);
	mm->list_unsubscribe_url = pt->unsub_url;
	mm->list_unsubscribe_mailto = pt->unsub_mailto;
	mm->list_unsubscribe_post = pt->unsub_url != NULL;
	if (kind->bulk) {
		mm->bulk = true;
		pt->feedback_id = compose_feedback_id(env, it);
		mm->feedback_id = pt->feedback_id;
	}
}

/* Builds mm into out, signs it, and gives out its envelope. 0, or a
 * negative errno with *why saying which message and why. */
static int
compose_build(const struct compose_env *env, const struct kind *kind,
    const struct outbox_item *it, const char *rcpt, const struct mime_msg *mm,
    struct transport_msg *out, char **why)
{
	char *msgid = NULL;
	int ret;

	buf_reset(&out->data);
	ret = mime_build(mm, &out->data, &msgid);
	if (ret != 0) {
		const char *what = mime_build_problem(mm);

		*why = xasprintf("message id=%lld %s id=%lld rcpt=%s: cannot "
				 "build the message: %s",
		    (long long)it->id,
		    kind->about == KIND_ABOUT_BOOKING ? "booking"
						      : "subscriber",
		    (long long)(kind->about == KIND_ABOUT_BOOKING
			    ? it->booking_id
			    : it->subscriber_id),
		    mm->to_addr, what != NULL ? what : strerror(-ret));
		goto out;
	}
	if (env->dkim != NULL) {
		char *err = NULL;

		ret = dkimsign_message(env->dkim, &out->data, &err);
		if (ret != 0) {
			*why = xasprintf("message id=%lld: not signed: %s",
			    (long long)it->id, err);
			free(err);
			goto out;
		}
	}
	free(out->rcpt);
	out->rcpt = xstrdup(rcpt);
	free(out->envelope_from);
	out->envelope_from =
	    verp_address(it->verp_token, env->cfg->bounce_domain);
	free(out->message_id);
	out->message_id = msgid;
	msgid = NULL;
	out->dot_safe = true;
out:
	free(msgid);
	return ret;
}

int
compose_message(const struct compose_env *env, const struct outbox_item *it,
    time_t now, struct transport_msg *out, char **why)
{
	struct kind_facts facts = { .now = now, .detail = it->detail };
	const struct kind *kind;
	struct compose_lang lang;
	struct compose_parts pt;
	const char *rcpt;
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
	ctx = compose_build_context(env, kind, it->booking_id,
	    it->subscriber_id, &facts, NULL, &lang, why);
	if (ctx == NULL && facts.gone && !env->preview) {
		/* The website deleted the record: nobody to send it to. */
		return COMPOSE_CANCELLED;
	}
	if (ctx == NULL)
		return -ENOENT;
	/* The address as the record has it now: the website may have
	 * corrected it since the message was queued. A preview goes where
	 * its caller says (send-test's --to). */
	rcpt = env->preview ? NULL : compose_recipient(ctx);
	if (rcpt == NULL)
		rcpt = it->recipient;
	if (!env->preview && compose_is_suppressed(env, rcpt)) {
		json_decref(ctx);
		free(*why);
		*why = xstrdup("recipient is suppressed");
		return COMPOSE_SUPPRESSED;
	}
	if (!env->preview && !kind->applies(&facts)) {
		json_decref(ctx);
		*why = xstrdup("no longer applies");
		return COMPOSE_CANCELLED;
	}
	compose_parts_init(&pt, env->cache);
	ret = compose_render_message(env, kind, it, ctx, &lang, &pt, why);
	if (ret == 0) {
		compose_fill_headers(env, it, ctx, rcpt, now, &pt, &mm);
		compose_add_calendar(env, kind, it, ctx, rcpt, now, &pt, &mm);
		compose_add_list_headers(env, kind, it, ctx, &pt, &mm);
		ret = compose_build(env, kind, it, rcpt, &mm, out, why);
	}
	compose_parts_fini(&pt, env->cache);
	json_decref(ctx);
	return ret;
}
