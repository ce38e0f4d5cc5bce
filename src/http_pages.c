/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_pages: see http_pages.h. Each handler reads the token from the
 * query, looks the subscriber up with its purpose and answers one page;
 * the work is a lookup and at most one UPDATE by primary key, quick
 * enough for the loop. /metrics groups whole tables and runs in the
 * thread pool.
 */
#include "config.h"

#include "http_pages.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "http.h"
#include "http_pages_text.h"
#include "log.h"
#include "send/relay_store.h"
#include "subscriber.h"
#include "util.h"

#define HTTP_PAGES_HTML "text/html; charset=utf-8"
#define HTTP_PAGES_TEXT "text/plain; charset=utf-8"
#define HTTP_PAGES_PROM "text/plain; version=0.0.4; charset=utf-8"

struct http_pages {
	uv_loop_t *loop;
	sqlite3 *db;
	const struct cfg *cfg;
	const char *secret;
	size_t secret_len;
};

/* One /metrics request in the thread pool. */
struct http_pages_metrics {
	uv_work_t work;
	struct http_request *req;
	char *database;
	time_t now;
	struct buf text;
	int result;
};

static const char http_pages_style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "max-width:34rem;margin:0 auto;padding:1.25rem 1rem 2rem;"
    "line-height:1.5;color:#1b1b1b;background:#fff;font-size:1.05rem}"
    ".org{font-weight:600;color:#0b4f6c;margin:0 0 1.5rem;"
    "padding-bottom:.75rem;border-bottom:2px solid #e3e8ec}"
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}"
    "button{font:inherit;font-weight:600;width:100%;min-height:48px;"
    "padding:.75rem 1rem;margin-top:.5rem;border-radius:.5rem;"
    "border:2px solid #0b4f6c;background:#0b4f6c;color:#fff;"
    "cursor:pointer}"
    "button.secondary{background:#fff;color:#0b4f6c}"
    "button:focus{outline:3px solid #f2a900;outline-offset:2px}"
    "fieldset{border:1px solid #c9d2d8;border-radius:.5rem;"
    "padding:.75rem 1rem;margin:0 0 1rem}"
    "label{display:block;padding:.5rem 0}"
    "input[type=radio]{width:1.2rem;height:1.2rem;margin-right:.5rem;"
    "vertical-align:-.2rem}"
    "hr{border:0;border-top:1px solid #e3e8ec;margin:2rem 0 1rem}"
    ".note{color:#4a4a4a;font-size:.95rem}"
    ".lang ul{list-style:none;margin:-1rem 0 1.5rem;padding:0}"
    ".lang a{color:#0b4f6c;font-weight:600}";

/* ------------------------------------------------------------ html */

static void
http_pages_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_putc(b, *s);
		}
	}
}

static const char *
http_pages_org(const struct http_pages *p)
{
	if (p->cfg == NULL)
		return "familymail";
	if (p->cfg->from_name != NULL && p->cfg->from_name[0] != '\0')
		return p->cfg->from_name;
	return p->cfg->from_addr;
}

/*
 * The language of a page: the one its address asks for (lang=cy, which
 * the language links set), else the subscriber's own (s may be NULL),
 * else [daemon] language; English when none of them has a table.
 */
static const struct http_pages_text *
http_pages_lang(const struct http_pages *p, const struct http_request *req,
    const struct subscriber *s)
{
	const struct http_pages_text *tx = NULL;
	char *asked = http_form_value(req->query, "lang");

	if (asked != NULL)
		tx = http_pages_text_find(asked);
	free(asked);
	if (tx == NULL && s != NULL && s->language[0] != '\0')
		tx = http_pages_text_find(s->language);
	if (tx == NULL && p->cfg != NULL)
		tx = http_pages_text_find(p->cfg->language);
	return tx != NULL ? tx : http_pages_text_at(0);
}

/* True if the charity writes in language l: the default language, one
 * of [daemon] bilingual, or the subscriber's. */
static bool
http_pages_offers(const struct http_pages *p, const struct subscriber *s,
    const struct http_pages_text *l)
{
	if (p->cfg == NULL)
		return false;
	if (http_pages_text_find(p->cfg->language) == l)
		return true;
	for (int i = 0; i < p->cfg->n_bilingual; i++)
		if (http_pages_text_find(p->cfg->bilingual[i]) == l)
			return true;
	return s != NULL && http_pages_text_find(s->language) == l;
}

/* Links to the page in the other languages the charity writes in: the
 * same address with lang=, each link in its own language. */
static void
http_pages_lang_links(const struct http_pages *p,
    const struct http_request *req, const struct subscriber *s,
    const struct http_pages_text *tx, struct buf *b)
{
	char *token = http_form_value(req->query, "token");
	bool any = false;

	for (int i = 0; i < http_pages_text_count(); i++) {
		const struct http_pages_text *l = http_pages_text_at(i);

		if (l == tx || !http_pages_offers(p, s, l))
			continue;
		if (!any) {
			buf_puts(b, "<nav class=\"lang\" aria-label=\"");
			http_pages_escape(b, tx->nav);
			buf_puts(b, "\"><ul>");
			any = true;
		}
		buf_printf(b, "<li><a href=\"?lang=%s%s", l->lang,
		    token != NULL ? "&amp;token=" : "");
		if (token != NULL)
			http_pages_escape(b, token);
		buf_printf(
		    b, "\" lang=\"%s\" hreflang=\"%s\">", l->lang, l->lang);
		http_pages_escape(b, l->name);
		buf_puts(b, "</a></li>");
	}
	if (any)
		buf_puts(b, "</ul></nav>\n");
	free(token);
}

/* Answers a whole page in tx's language: title (plain text) and main
 * (HTML). s (may be NULL) is whom it is about. */
static void
http_pages_send(struct http_pages *p, struct http_request *req,
    const struct http_pages_text *tx, const struct subscriber *s, int status,
    const char *title, const char *main)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b,
	    "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex\">\n<title>",
	    tx->lang);
	http_pages_escape(&b, title);
	buf_puts(&b, " - ");
	http_pages_escape(&b, http_pages_org(p));
	buf_printf(&b,
	    "</title>\n<style>%s</style>\n</head>\n<body>\n"
	    "<header><p class=\"org\">",
	    http_pages_style);
	http_pages_escape(&b, http_pages_org(p));
	buf_puts(&b, "</p>\n");
	http_pages_lang_links(p, req, s, tx, &b);
	buf_puts(&b, "</header>\n<main>\n<h1>");
	http_pages_escape(&b, title);
	buf_printf(&b, "</h1>\n%s</main>\n</body>\n</html>\n", main);
	http_respond(req, status, HTTP_PAGES_HTML, b.data, b.len);
	buf_fini(&b);
}

static void
http_pages_message(struct http_pages *p, struct http_request *req,
    const struct http_pages_text *tx, int status, const char *title,
    const char *text)
{
	struct buf m;

	buf_init(&m);
	buf_puts(&m, "<p>");
	http_pages_escape(&m, text);
	buf_puts(&m, "</p>\n");
	http_pages_send(p, req, tx, NULL, status, title, m.data);
	buf_fini(&m);
}

static void
http_pages_not_found(struct http_pages *p, struct http_request *req)
{
	const struct http_pages_text *tx = http_pages_lang(p, req, NULL);

	http_pages_message(p, req, tx, 404, tx->not_found_title, tx->not_found);
}

/* Appends a sentence of tx (HTML) with {email} replaced by the masked
 * address (escaped) and {frequency} by tx's word for it. */
static void
http_pages_fill(struct buf *b, const struct http_pages_text *tx,
    const char *pattern, const char *email, const char *frequency)
{
	const char *p = pattern, *open;
	struct buf m;

	while ((open = strchr(p, '{')) != NULL) {
		buf_append(b, p, (size_t)(open - p));
		if (strncmp(open, "{email}", 7) == 0 && email != NULL) {
			buf_init(&m);
			subscriber_mask_email(email, &m);
			buf_putc(&m, '\0');
			http_pages_escape(b, m.data);
			buf_fini(&m);
			p = open + 7;
		} else if (strncmp(open, "{frequency}", 11) == 0) {
			buf_puts(b,
			    frequency != NULL &&
				    strcmp(frequency, "monthly") == 0
				? tx->monthly
				: tx->weekly);
			p = open + 11;
		} else {
			buf_putc(b, '{');
			p = open + 1;
		}
	}
	buf_puts(b, p);
}

/* ------------------------------------------------------------ tokens */

/*
 * The subscriber of the request's token for purpose, or an error page
 * already sent (returns false).
 */
static bool
http_pages_subscriber(struct http_pages *p, struct http_request *req,
    const char *purpose, struct subscriber *s)
{
	const struct http_pages_text *tx = http_pages_lang(p, req, NULL);
	char *token = http_form_value(req->query, "token");
	int ret;

	if (token == NULL || token[0] == '\0') {
		free(token);
		http_pages_message(
		    p, req, tx, 400, tx->incomplete_title, tx->incomplete);
		return false;
	}
	if (p->secret == NULL) {
		free(token);
		http_pages_not_found(p, req);
		return false;
	}
	ret = subscriber_from_token(
	    p->db, p->secret, p->secret_len, purpose, token, s);
	free(token);
	if (ret == 0)
		return true;
	if (ret == -EINVAL)
		http_pages_message(
		    p, req, tx, 400, tx->invalid_title, tx->damaged);
	else if (ret == -ENOENT)
		http_pages_message(
		    p, req, tx, 404, tx->invalid_title, tx->unknown);
	else
		http_pages_message(
		    p, req, tx, 500, tx->error_title, tx->lookup_failed);
	return false;
}

static void
http_pages_db_error(struct http_pages *p, struct http_request *req,
    const struct http_pages_text *tx)
{
	http_pages_message(p, req, tx, 500, tx->error_title, tx->save_failed);
}

static bool
http_pages_is_post(const struct http_request *req)
{
	return strcmp(req->method, "POST") == 0;
}

static bool
http_pages_is_get(const struct http_request *req)
{
	return strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0;
}

/* RFC 8058: the body names List-Unsubscribe=One-Click, sent as a form
 * (urlencoded) or as multipart/form-data. */
static bool
http_pages_one_click(const struct http_request *req)
{
	char *v;
	bool ok;

	if (strncmp(req->content_type, "multipart/form-data", 19) == 0)
		return strstr(req->body, "name=\"List-Unsubscribe\"") != NULL &&
		    strstr(req->body, "One-Click") != NULL;
	v = http_form_value(req->body, "List-Unsubscribe");
	ok = v != NULL && strcmp(v, "One-Click") == 0;
	free(v);
	return ok;
}

/* ------------------------------------------------------------ pages */

static void
http_pages_unsubscribed(struct http_pages *p, struct http_request *req,
    const struct subscriber *s, bool already)
{
	const struct http_pages_text *tx = http_pages_lang(p, req, s);
	struct buf m;

	buf_init(&m);
	buf_puts(&m, "<p>");
	http_pages_fill(&m, tx,
	    already ? tx->was_unsubscribed : tx->has_unsubscribed, s->email,
	    NULL);
	buf_puts(&m, "</p>\n<p class=\"note\">");
	http_pages_escape(&m, tx->courses_unaffected);
	buf_puts(&m, "</p>\n");
	http_pages_send(p, req, tx, s, 200, tx->unsubscribed_title, m.data);
	buf_fini(&m);
}

/* Who asked, for the history: the page's own button says so; any other
 * one-click POST is a mail client's (RFC 8058). */
static const char *
http_pages_unsubscribe_source(const struct http_request *req)
{
	char *from = http_form_value(req->body, "from");
	bool page = from != NULL && strcmp(from, "page") == 0;

	free(from);
	return page ? "page" : "one-click";
}

static void
http_pages_unsubscribe(struct http_pages *p, struct http_request *req)
{
	const struct http_pages_text *tx;
	struct subscriber s;
	struct buf m;
	int ret;

	if (!http_pages_is_get(req) && !http_pages_is_post(req)) {
		http_respond(req, 405, HTTP_PAGES_TEXT, "405\n", 4);
		return;
	}
	if (!http_pages_subscriber(p, req, "unsubscribe", &s))
		return;
	tx = http_pages_lang(p, req, &s);
	if (http_pages_is_post(req)) {
		if (!http_pages_one_click(req)) {
			http_pages_message(p, req, tx, 400, tx->unchanged_title,
			    tx->not_one_click);
		} else {
			ret = subscriber_unsubscribe(
			    p->db, s.id, http_pages_unsubscribe_source(req));
			if (ret < 0) {
				http_pages_db_error(p, req, tx);
			} else {
				log_info("subscriber %s id=%lld source=http",
				    ret == 1 ? "unsubscribed"
					     : "already unsubscribed",
				    (long long)s.id);
				http_pages_unsubscribed(p, req, &s, ret == 0);
			}
		}
		subscriber_fini(&s);
		return;
	}
	/* A GET only asks: mail scanners follow links. */
	if (strcmp(s.status, "unsubscribed") == 0) {
		http_pages_unsubscribed(p, req, &s, true);
		subscriber_fini(&s);
		return;
	}
	buf_init(&m);
	buf_puts(&m, "<p>");
	http_pages_fill(&m, tx, tx->unsubscribe_question, s.email, NULL);
	buf_puts(&m,
	    "</p>\n"
	    "<form method=\"post\">\n"
	    "<input type=\"hidden\" name=\"List-Unsubscribe\" "
	    "value=\"One-Click\">\n"
	    "<input type=\"hidden\" name=\"from\" value=\"page\">\n"
	    "<button type=\"submit\">");
	http_pages_escape(&m, tx->unsubscribe_button);
	buf_puts(&m, "</button>\n</form>\n<p class=\"note\">");
	http_pages_escape(&m, tx->unsubscribe_note);
	buf_puts(&m, "</p>\n");
	http_pages_send(p, req, tx, &s, 200, tx->unsubscribe_title, m.data);
	buf_fini(&m);
	subscriber_fini(&s);
}

static void
http_pages_confirm(struct http_pages *p, struct http_request *req)
{
	const struct http_pages_text *tx;
	struct subscriber s;
	struct buf m;
	int ret;

	if (!http_pages_is_get(req)) {
		http_respond(req, 405, HTTP_PAGES_TEXT, "405\n", 4);
		return;
	}
	if (!http_pages_subscriber(p, req, "confirm", &s))
		return;
	tx = http_pages_lang(p, req, &s);
	ret = subscriber_confirm(p->db, s.id, "page");
	if (ret == -EPERM) {
		http_pages_message(p, req, tx, 409, tx->ended_title, tx->ended);
	} else if (ret < 0) {
		http_pages_db_error(p, req, tx);
	} else {
		if (ret == 1)
			log_info("subscriber confirmed id=%lld source=http",
			    (long long)s.id);
		buf_init(&m);
		buf_puts(&m, "<p>");
		http_pages_fill(&m, tx,
		    ret == 1 ? tx->confirmed : tx->was_confirmed, s.email,
		    s.frequency);
		buf_puts(&m, "</p>\n");
		http_pages_send(
		    p, req, tx, &s, 200, tx->confirmed_title, m.data);
		buf_fini(&m);
	}
	subscriber_fini(&s);
}

static void
http_pages_radio(
    struct buf *m, const char *value, const char *label, const char *current)
{
	buf_printf(m,
	    "<label><input type=\"radio\" name=\"frequency\" value=\"%s\"%s>",
	    value, strcmp(value, current) == 0 ? " checked" : "");
	http_pages_escape(m, label);
	buf_puts(m, "</label>\n");
}

static void
http_pages_preferences_page(struct http_pages *p, struct http_request *req,
    const struct subscriber *s, const char *saved)
{
	const struct http_pages_text *tx = http_pages_lang(p, req, s);
	struct buf m;

	buf_init(&m);
	if (saved != NULL) {
		buf_puts(&m, "<p role=\"status\">");
		http_pages_fill(&m, tx, tx->saved, NULL, saved);
		buf_puts(&m, "</p>\n");
	}
	buf_puts(&m, "<p>");
	http_pages_fill(&m, tx, tx->digest_for, s->email, NULL);
	buf_puts(&m, "</p>\n<form method=\"post\">\n<fieldset>\n<legend>");
	http_pages_escape(&m, tx->how_often);
	buf_puts(&m, "</legend>\n");
	http_pages_radio(&m, "weekly", tx->weekly_label, s->frequency);
	http_pages_radio(&m, "monthly", tx->monthly_label, s->frequency);
	buf_puts(&m, "</fieldset>\n<button type=\"submit\">");
	http_pages_escape(&m, tx->save_button);
	buf_puts(&m,
	    "</button>\n</form>\n"
	    "<hr>\n<form method=\"post\">\n"
	    "<input type=\"hidden\" name=\"action\" "
	    "value=\"unsubscribe\">\n"
	    "<button type=\"submit\" class=\"secondary\">");
	http_pages_escape(&m, tx->unsubscribe_button);
	buf_puts(&m, "</button>\n</form>\n");
	http_pages_send(p, req, tx, s, 200, tx->preferences_title, m.data);
	buf_fini(&m);
}

static void
http_pages_preferences(struct http_pages *p, struct http_request *req)
{
	const struct http_pages_text *tx;
	struct subscriber s;
	char *action = NULL, *freq = NULL;
	int ret;

	if (!http_pages_is_get(req) && !http_pages_is_post(req)) {
		http_respond(req, 405, HTTP_PAGES_TEXT, "405\n", 4);
		return;
	}
	if (!http_pages_subscriber(p, req, "preferences", &s))
		return;
	tx = http_pages_lang(p, req, &s);
	if (strcmp(s.status, "unsubscribed") == 0) {
		/* Coming back takes a new sign-up (and its confirmation). */
		http_pages_unsubscribed(p, req, &s, true);
		subscriber_fini(&s);
		return;
	}
	if (!http_pages_is_post(req)) {
		http_pages_preferences_page(p, req, &s, NULL);
		subscriber_fini(&s);
		return;
	}
	action = http_form_value(req->body, "action");
	freq = http_form_value(req->body, "frequency");
	if (action != NULL && strcmp(action, "unsubscribe") == 0) {
		ret = subscriber_unsubscribe(p->db, s.id, "preferences");
		if (ret < 0) {
			http_pages_db_error(p, req, tx);
		} else {
			log_info("subscriber unsubscribed id=%lld "
				 "source=preferences",
			    (long long)s.id);
			http_pages_unsubscribed(p, req, &s, ret == 0);
		}
	} else if (freq != NULL &&
	    (strcmp(freq, "weekly") == 0 || strcmp(freq, "monthly") == 0)) {
		ret =
		    subscriber_set_frequency(p->db, s.id, freq, "preferences");
		if (ret < 0) {
			http_pages_db_error(p, req, tx);
		} else {
			if (ret == 1)
				log_info("subscriber frequency id=%lld "
					 "frequency=%s source=preferences",
				    (long long)s.id, freq);
			(void)snprintf(
			    s.frequency, sizeof(s.frequency), "%s", freq);
			http_pages_preferences_page(p, req, &s, freq);
		}
	} else {
		http_pages_message(
		    p, req, tx, 400, tx->unchanged_title, tx->choose_frequency);
	}
	free(action);
	free(freq);
	subscriber_fini(&s);
}

static void
http_pages_healthz(struct http_pages *p, struct http_request *req)
{
	if (db_scalar(p->db, "SELECT 1") == 1)
		http_respond(req, 200, HTTP_PAGES_TEXT, "ok\n", 3);
	else
		http_respond(
		    req, 503, HTTP_PAGES_TEXT, "database unavailable\n", 21);
}

/* ------------------------------------------------------------ metrics */

/* A label value with \, " and newline escaped (the text format). */
static void
http_pages_label(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

static const char *
http_pages_col(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v != NULL ? (const char *)v : "";
}

/* Writes one gauge family from a query of (label values..., count). */
static int
http_pages_family(sqlite3 *db, struct buf *b, const char *name,
    const char *help, const char *type, const char *const *labels, int n_labels,
    const char *sql)
{
	sqlite3_stmt *st;
	int ret, rc, i;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_puts(b, name);
		buf_putc(b, '{');
		for (i = 0; i < n_labels; i++) {
			buf_printf(b, "%s%s=\"", i > 0 ? "," : "", labels[i]);
			http_pages_label(b, http_pages_col(st, i));
			buf_putc(b, '"');
		}
		buf_printf(b, "} %lld\n",
		    (long long)sqlite3_column_int64(st, n_labels));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

static const int64_t http_pages_buckets[] = { 1, 5, 15, 60, 300, 900, 3600,
	21600, 86400 };

/* Queue-to-sent latency of sent messages: a histogram from the outbox
 * (created_at to sent_at), which survives restarts. */
static int
http_pages_latency(sqlite3 *db, struct buf *b)
{
	static const char sql[] =
	    "SELECT sum(l <= 1), sum(l <= 5), sum(l <= 15), sum(l <= 60),"
	    " sum(l <= 300), sum(l <= 900), sum(l <= 3600), sum(l <= 21600),"
	    " sum(l <= 86400), count(*), total(l)"
	    " FROM (SELECT max(0, strftime('%s', sent_at)"
	    "  - strftime('%s', created_at)) AS l"
	    "  FROM messages WHERE state = 'sent' AND sent_at IS NOT NULL)";
	const char *name = "familymail_delivery_latency_seconds";
	sqlite3_stmt *st;
	size_t i, n = UTIL_ARRAY_LEN(http_pages_buckets);
	int ret, rc;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_errno(rc);
	}
	buf_printf(b,
	    "# HELP %s Time from queued to sent, of sent messages.\n"
	    "# TYPE %s histogram\n",
	    name, name);
	for (i = 0; i < n; i++)
		buf_printf(b, "%s_bucket{le=\"%lld\"} %lld\n", name,
		    (long long)http_pages_buckets[i],
		    (long long)sqlite3_column_int64(st, (int)i));
	buf_printf(b,
	    "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.0f\n%s_count %lld\n", name,
	    (long long)sqlite3_column_int64(st, (int)n), name,
	    sqlite3_column_double(st, (int)n + 1), name,
	    (long long)sqlite3_column_int64(st, (int)n));
	sqlite3_finalize(st);
	return 0;
}

static int
http_pages_oldest(sqlite3 *db, struct buf *b, time_t now)
{
	const char *name = "familymail_queue_oldest_age_seconds";
	sqlite3_stmt *st;
	time_t t;
	int ret, rc;
	long long age = 0;

	ret = db_prepare(db,
	    "SELECT min(created_at) FROM messages WHERE state = 'queued'", &st);
	if (ret != 0)
		return ret;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    clock_parse_iso(http_pages_col(st, 0), &t) == 0 && t < now)
		age = (long long)(now - t);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_errno(rc);
	buf_printf(b,
	    "# HELP %s Age of the oldest queued message (0: none).\n"
	    "# TYPE %s gauge\n%s %lld\n",
	    name, name, name, age);
	return 0;
}

static void
http_pages_on_metrics_work(uv_work_t *w)
{
	struct http_pages_metrics *m = w->data;
	static const char *const kind_state[] = { "kind", "state" };
	static const char *const bounce[] = { "class", "kind" };
	static const char *const subs[] = { "status", "frequency" };
	sqlite3 *db = NULL;
	int ret;

	ret = db_open(m->database, false, &db);
	if (ret == 0)
		ret = http_pages_family(db, &m->text, "familymail_messages",
		    "Messages in the outbox by kind and state.", "gauge",
		    kind_state, 2,
		    "SELECT kind, state, count(*) FROM messages"
		    " GROUP BY kind, state ORDER BY kind, state");
	if (ret == 0)
		ret = http_pages_oldest(db, &m->text, m->now);
	if (ret == 0)
		ret = http_pages_latency(db, &m->text);
	if (ret == 0)
		ret = http_pages_family(db, &m->text, "familymail_bounces",
		    "Bounces and feedback reports processed, by class "
		    "(none: not a bounce) and kind.",
		    "gauge", bounce, 2,
		    "SELECT coalesce(class, 'none'), kind, count(*)"
		    " FROM bounces GROUP BY 1, 2 ORDER BY 1, 2");
	if (ret == 0)
		ret = http_pages_family(db, &m->text, "familymail_suppressions",
		    "Suppressed addresses by reason.", "gauge",
		    (const char *const[]){ "reason" }, 1,
		    "SELECT reason, count(*) FROM suppressions"
		    " GROUP BY reason ORDER BY reason");
	if (ret == 0)
		ret = http_pages_family(db, &m->text, "familymail_subscribers",
		    "Subscribers by status and frequency.", "gauge", subs, 2,
		    "SELECT status, frequency, count(*) FROM subscribers"
		    " GROUP BY 1, 2 ORDER BY 1, 2");
	if (ret == 0)
		ret = relay_store_metrics(db, m->now, &m->text);
	if (db != NULL)
		db_close(db);
	m->result = ret;
}

static void
http_pages_on_metrics_done(uv_work_t *w, int status)
{
	struct http_pages_metrics *m = w->data;

	if (status != 0 || m->result != 0) {
		log_warnx("http metrics failed: %s",
		    status != 0 ? uv_strerror(status) : strerror(-m->result));
		http_respond(
		    m->req, 503, HTTP_PAGES_TEXT, "database unavailable\n", 21);
	} else {
		http_respond(
		    m->req, 200, HTTP_PAGES_PROM, m->text.data, m->text.len);
	}
	buf_fini(&m->text);
	free(m->database);
	free(m);
}

static void
http_pages_metrics(struct http_pages *p, struct http_request *req)
{
	struct http_pages_metrics *m;

	if (p->cfg == NULL) {
		http_respond(req, 503, HTTP_PAGES_TEXT, "starting\n", 9);
		return;
	}
	m = xcalloc(1, sizeof(*m));
	m->work.data = m;
	m->req = req;
	m->database = xstrdup(p->cfg->database);
	m->now = clock_now();
	buf_init(&m->text);
	if (uv_queue_work(p->loop, &m->work, http_pages_on_metrics_work,
		http_pages_on_metrics_done) != 0) {
		buf_fini(&m->text);
		free(m->database);
		free(m);
		http_respond(req, 503, HTTP_PAGES_TEXT, "busy\n", 5);
	}
}

/* ------------------------------------------------------------ routing */

void
http_pages_handle(void *arg, struct http_request *req)
{
	struct http_pages *p = arg;
	const char *path = req->path;

	if (strcmp(path, "/unsubscribe") == 0) {
		http_pages_unsubscribe(p, req);
	} else if (strcmp(path, "/confirm") == 0) {
		http_pages_confirm(p, req);
	} else if (strcmp(path, "/preferences") == 0) {
		http_pages_preferences(p, req);
	} else if (strcmp(path, "/healthz") == 0) {
		if (http_pages_is_get(req))
			http_pages_healthz(p, req);
		else
			http_respond(req, 405, HTTP_PAGES_TEXT, "405\n", 4);
	} else if (strcmp(path, "/metrics") == 0) {
		if (http_pages_is_get(req))
			http_pages_metrics(p, req);
		else
			http_respond(req, 405, HTTP_PAGES_TEXT, "405\n", 4);
	} else {
		http_pages_not_found(p, req);
	}
}

struct http_pages *
http_pages_new(uv_loop_t *loop, sqlite3 *db)
{
	struct http_pages *p = xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->db = db;
	return p;
}

void
http_pages_free(struct http_pages *p)
{
	free(p);
}

void
http_pages_set_config(struct http_pages *p, const struct cfg *cfg,
    const char *secret, size_t secret_len)
{
	p->cfg = cfg;
	p->secret = secret;
	p->secret_len = secret_len;
}
