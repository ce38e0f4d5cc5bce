/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_pages: see http_pages.h. Each handler reads the token from the
 * query, looks the subscriber up with its purpose (a read, on the loop)
 * and answers one page; a change is handed to the subscriber queue and
 * the page is answered when it says how it went.
 */
#include "config.h"

#include "http_pages.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfg.h"
#include "db.h"
#include "http.h"
#include "http_metrics.h"
#include "http_text.h"
#include "log.h"
#include "subscriber.h"
#include "subscriber_queue.h"
#include "util.h"

#define HTTP_PAGES_HTML "text/html; charset=utf-8"
#define HTTP_PAGES_TEXT "text/plain; charset=utf-8"

struct http_pages {
	uv_loop_t *loop;
	sqlite3 *db;
	const struct cfg *cfg;
	const char *secret;
	size_t secret_len;
	struct subscriber_queue *queue;
	struct http_metrics *metrics;
	struct http_server *server;         /* [http] listen */
	struct http_server *metrics_server; /* [http] metrics_listen */
};

/* A page waiting for the queue to apply its change. */
struct http_pages_change {
	struct http_pages *p;
	struct http_request *req;
	struct subscriber s;
	enum subscriber_change change;
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

/*
 * The words of a page: in the language its address asks for (lang=cy,
 * which the language links set), else the subscriber's own (s may be
 * NULL), else [daemon] language; English when none of them has a table.
 */
static const struct http_text *
http_pages_text(const struct http_pages *p, const struct http_request *req,
    const struct subscriber *s)
{
	const struct http_text *t = NULL;
	char *asked = http_form_value(req->query, "lang");

	if (asked != NULL)
		t = http_text_find(asked);
	free(asked);
	if (t == NULL && s != NULL && s->language[0] != '\0')
		t = http_text_find(s->language);
	if (t == NULL && p->cfg != NULL)
		t = http_text_find(p->cfg->language);
	return t != NULL ? t : http_text_for(NULL);
}

/* True if the charity writes in language l: the default language, one
 * of [daemon] bilingual, or the subscriber's. */
static bool
http_pages_offers(const struct http_pages *p, const struct subscriber *s,
    const struct http_text *l)
{
	if (p->cfg == NULL)
		return false;
	if (http_text_find(p->cfg->language) == l)
		return true;
	for (int i = 0; i < p->cfg->n_bilingual; i++)
		if (http_text_find(p->cfg->bilingual[i]) == l)
			return true;
	return s != NULL && http_text_find(s->language) == l;
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

/* "s****@example.org", escaped, into b. */
static void
http_pages_masked(struct buf *b, const char *email)
{
	struct buf m;

	buf_init(&m);
	subscriber_mask_email(email, &m);
	buf_putc(&m, '\0');
	http_pages_escape(b, m.data);
	buf_fini(&m);
}

static const char *
http_pages_frequency_word(const struct http_text *t, const char *frequency)
{
	return strcmp(frequency, "monthly") == 0 ? t->monthly : t->weekly;
}

/*
 * Appends text, escaped, with {email} as the masked address (in
 * <strong> when strong) and {frequency} as the word for frequency.
 */
static void
http_pages_fill(struct buf *b, const struct http_text *t, const char *text,
    const struct subscriber *s, bool strong)
{
	static const char email_mark[] = "{email}", freq_mark[] = "{frequency}";
	const char *at;
	char *piece;

	while (*text != '\0') {
		at = strchr(text, '{');
		if (at == NULL) {
			http_pages_escape(b, text);
			return;
		}
		piece = xstrndup(text, (size_t)(at - text));
		http_pages_escape(b, piece);
		free(piece);
		if (s != NULL && strncmp(at, email_mark, 7) == 0) {
			buf_puts(b, strong ? "<strong>" : "");
			http_pages_masked(b, s->email);
			buf_puts(b, strong ? "</strong>" : "");
			text = at + 7;
		} else if (s != NULL && strncmp(at, freq_mark, 11) == 0) {
			http_pages_escape(
			    b, http_pages_frequency_word(t, s->frequency));
			text = at + 11;
		} else {
			buf_puts(b, "{");
			text = at + 1;
		}
	}
}

/* <p class="...">text</p>, filled. */
static void
http_pages_para(struct buf *b, const struct http_text *t, const char *cls,
    const char *text, const struct subscriber *s, bool strong)
{
	if (cls != NULL)
		buf_printf(b, "<p class=\"%s\">", cls);
	else
		buf_puts(b, "<p>");
	http_pages_fill(b, t, text, s, strong);
	buf_puts(b, "</p>\n");
}

/* Links to the page in the other languages the charity writes in: the
 * same address with lang=, each link in its own language. */
static void
http_pages_lang_links(const struct http_pages *p,
    const struct http_request *req, const struct subscriber *s,
    const struct http_text *t, struct buf *b)
{
	char *token = http_form_value(req->query, "token");
	bool any = false;

	for (int i = 0; i < http_text_count(); i++) {
		const struct http_text *l = http_text_at(i);

		if (l == t || !http_pages_offers(p, s, l))
			continue;
		if (!any) {
			buf_puts(b, "<nav class=\"lang\" aria-label=\"");
			http_pages_escape(b, t->nav);
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

/* Answers a whole page in t's language: title (plain text) and main
 * (HTML); s (may be NULL) is whom it is about. */
static void
http_pages_send(struct http_pages *p, struct http_request *req,
    const struct http_text *t, const struct subscriber *s, int status,
    const char *title, const char *main)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"");
	http_pages_escape(&b, t->lang);
	buf_puts(&b,
	    "\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex\">\n<title>");
	http_pages_escape(&b, title);
	buf_puts(&b, " - ");
	http_pages_escape(&b, http_pages_org(p));
	buf_printf(&b,
	    "</title>\n<style>%s</style>\n</head>\n<body>\n"
	    "<header><p class=\"org\">",
	    http_pages_style);
	http_pages_escape(&b, http_pages_org(p));
	buf_puts(&b, "</p>\n");
	http_pages_lang_links(p, req, s, t, &b);
	buf_puts(&b, "</header>\n<main>\n<h1>");
	http_pages_escape(&b, title);
	buf_printf(&b, "</h1>\n%s</main>\n</body>\n</html>\n", main);
	http_respond(req, status, HTTP_PAGES_HTML, b.data, b.len);
	buf_fini(&b);
}

static void
http_pages_message(struct http_pages *p, struct http_request *req,
    const struct http_text *t, int status, const struct http_text_message *msg)
{
	struct buf m;

	buf_init(&m);
	http_pages_para(&m, t, NULL, msg->text, NULL, false);
	http_pages_send(p, req, t, NULL, status, msg->title, m.data);
	buf_fini(&m);
}

/* A form that posts back to the page's own address: hidden fields
 * (name, value pairs, NULL-ended) and one button. */
static void
http_pages_button(struct buf *m, const char *const *hidden, const char *label,
    const char *cls)
{
	buf_puts(m, "<form method=\"post\">\n");
	for (; hidden != NULL && hidden[0] != NULL; hidden += 2)
		buf_printf(m,
		    "<input type=\"hidden\" name=\"%s\" value=\"%s\">\n",
		    hidden[0], hidden[1]);
	buf_puts(m, "<button type=\"submit\"");
	if (cls != NULL)
		buf_printf(m, " class=\"%s\"", cls);
	buf_putc(m, '>');
	http_pages_escape(m, label);
	buf_puts(m, "</button>\n</form>\n");
}

/* ------------------------------------------------------------ tokens */

/*
 * The subscriber of the request's token for purpose, or a page already
 * sent (returns false): an error, or for the token of a test message
 * (familymail send-test signs its links for "test:PURPOSE") the page
 * that says so, whatever the method: nothing changes.
 */
static bool
http_pages_subscriber(struct http_pages *p, struct http_request *req,
    const char *purpose, struct subscriber *s)
{
	const struct http_text *t = http_pages_text(p, req, NULL);
	char *token = http_form_value(req->query, "token"), test[32];
	int ret;

	if (token == NULL || token[0] == '\0') {
		free(token);
		http_pages_message(p, req, t, 400, &t->error.no_token);
		return false;
	}
	if (p->secret == NULL) {
		free(token);
		http_pages_message(p, req, t, 404, &t->error.not_found);
		return false;
	}
	ret = subscriber_from_token(
	    p->db, p->secret, p->secret_len, purpose, token, s);
	if (ret == -ENOENT) {
		(void)snprintf(test, sizeof(test), "test:%s", purpose);
		if (subscriber_from_token(
			p->db, p->secret, p->secret_len, test, token, s) == 0) {
			free(token);
			t = http_pages_text(p, req, s);
			http_pages_message(p, req, t, 200, &t->error.test_link);
			subscriber_fini(s);
			return false;
		}
	}
	free(token);
	if (ret == 0)
		return true;
	if (ret == -EINVAL)
		http_pages_message(p, req, t, 400, &t->error.bad_token);
	else if (ret == -ENOENT)
		http_pages_message(p, req, t, 404, &t->error.unknown_token);
	else {
		/* The page cannot say more than "try again": the log does. */
		log_warnx("http %s subscriber lookup failed: %s", req->path,
		    db_strerror(ret));
		http_pages_message(p, req, t, 500, &t->error.lookup_failed);
	}
	return false;
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

static void
http_pages_not_allowed(struct http_request *req)
{
	http_respond(req, 405, HTTP_PAGES_TEXT, "405\n", 4);
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

enum http_pages_done {
	HTTP_PAGES_DONE,    /* changed now */
	HTTP_PAGES_ALREADY, /* it already was so */
	HTTP_PAGES_QUEUED,  /* saved; applied within minutes */
};

static void
http_pages_unsubscribed(struct http_pages *p, struct http_request *req,
    const struct subscriber *s, enum http_pages_done how)
{
	const struct http_text *t = http_pages_text(p, req, s);
	const char *text = how == HTTP_PAGES_DONE ? t->unsubscribe.done
	    : how == HTTP_PAGES_ALREADY           ? t->unsubscribe.already
						  : t->unsubscribe.queued;
	struct buf m;

	buf_init(&m);
	http_pages_para(&m, t, NULL, text, s, false);
	http_pages_para(&m, t, "note", t->unsubscribe.note, s, false);
	http_pages_send(p, req, t, s, how == HTTP_PAGES_QUEUED ? 202 : 200,
	    t->unsubscribe.done_title, m.data);
	buf_fini(&m);
}

static void
http_pages_confirmed(struct http_pages *p, struct http_request *req,
    const struct subscriber *s, enum http_pages_done how)
{
	const struct http_text *t = http_pages_text(p, req, s);
	const char *text = how == HTTP_PAGES_DONE ? t->confirm.done
	    : how == HTTP_PAGES_ALREADY           ? t->confirm.already
						  : t->confirm.queued;
	struct buf m;

	buf_init(&m);
	http_pages_para(&m, t, NULL, text, s, false);
	http_pages_send(p, req, t, s, how == HTTP_PAGES_QUEUED ? 202 : 200,
	    t->confirm.done_title, m.data);
	buf_fini(&m);
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

/* The preferences form; after a save, how it went. */
static void
http_pages_preferences_page(struct http_pages *p, struct http_request *req,
    const struct subscriber *s, bool saved, enum http_pages_done how)
{
	const struct http_text *t = http_pages_text(p, req, s);
	static const char *const unsubscribe[] = { "action", "unsubscribe",
		NULL };
	struct buf m;

	buf_init(&m);
	if (saved) {
		buf_puts(&m, "<p role=\"status\"><strong>");
		http_pages_escape(&m, t->preferences.saved_mark);
		buf_puts(&m, "</strong> ");
		http_pages_fill(&m, t,
		    how == HTTP_PAGES_QUEUED ? t->preferences.queued
					     : t->preferences.saved,
		    s, false);
		buf_puts(&m, "</p>\n");
	}
	http_pages_para(&m, t, NULL, t->preferences.intro, s, true);
	buf_puts(&m, "<form method=\"post\">\n<fieldset>\n<legend>");
	http_pages_escape(&m, t->preferences.legend);
	buf_puts(&m, "</legend>\n");
	http_pages_radio(
	    &m, "weekly", t->preferences.weekly_label, s->frequency);
	http_pages_radio(
	    &m, "monthly", t->preferences.monthly_label, s->frequency);
	buf_puts(&m, "</fieldset>\n<button type=\"submit\">");
	http_pages_escape(&m, t->preferences.save);
	buf_puts(&m, "</button>\n</form>\n<hr>\n");
	http_pages_button(
	    &m, unsubscribe, t->preferences.unsubscribe, "secondary");
	http_pages_send(p, req, t, s,
	    saved && how == HTTP_PAGES_QUEUED ? 202 : 200, t->preferences.title,
	    m.data);
	buf_fini(&m);
}

/* The queue has applied, kept or lost a page's change: the page. */
static void
http_pages_on_change(
    void *arg, enum subscriber_queue_outcome outcome, int result)
{
	struct http_pages_change *ch = arg;
	struct http_pages *p = ch->p;
	const struct http_text *t = http_pages_text(p, ch->req, &ch->s);
	enum http_pages_done how = outcome == SUBSCRIBER_QUEUE_QUEUED
	    ? HTTP_PAGES_QUEUED
	    : result == 1 ? HTTP_PAGES_DONE
			  : HTTP_PAGES_ALREADY;

	if (outcome == SUBSCRIBER_QUEUE_FAILED) {
		http_pages_message(p, ch->req, t, 503, &t->error.save_failed);
	} else if (outcome == SUBSCRIBER_QUEUE_APPLIED && result == -ENOENT) {
		http_pages_message(p, ch->req, t, 404, &t->error.unknown_token);
	} else if (ch->change == SUBSCRIBER_CHANGE_UNSUBSCRIBE) {
		http_pages_unsubscribed(p, ch->req, &ch->s, how);
	} else if (ch->change == SUBSCRIBER_CHANGE_CONFIRM) {
		if (outcome == SUBSCRIBER_QUEUE_APPLIED && result == -EPERM)
			http_pages_message(
			    p, ch->req, t, 409, &t->confirm.ended);
		else
			http_pages_confirmed(p, ch->req, &ch->s, how);
	} else {
		http_pages_preferences_page(p, ch->req, &ch->s, true, how);
	}
	subscriber_fini(&ch->s);
	free(ch);
}

/* Hands a change to the queue; the page follows its outcome. Takes s. */
static void
http_pages_change(struct http_pages *p, struct http_request *req,
    struct subscriber *s, enum subscriber_change change, const char *source)
{
	struct http_pages_change *ch = xcalloc(1, sizeof(*ch));

	ch->p = p;
	ch->req = req;
	ch->s = *s;
	ch->change = change;
	memset(s, 0, sizeof(*s));
	subscriber_queue_submit(p->queue, change, ch->s.id,
	    change == SUBSCRIBER_CHANGE_FREQUENCY ? ch->s.frequency : NULL,
	    source, http_pages_on_change, ch);
}

/* Whether s is unsubscribed, or will be once the queue has applied what
 * it holds. */
static bool
http_pages_is_unsubscribed(
    const struct http_pages *p, const struct subscriber *s)
{
	return strcmp(s->status, "unsubscribed") == 0 ||
	    subscriber_queue_has(
		p->queue, SUBSCRIBER_CHANGE_UNSUBSCRIBE, s->id);
}

/* Who asked to unsubscribe, for the history: "page" when the page's own
 * button, "one-click" for a mail client's POST. */
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
	/* The page's own button says it is the page's (for the history);
	 * any other one-click POST is a mail client's (RFC 8058). */
	static const char *const one_click[] = { "List-Unsubscribe",
		"One-Click", "from", "page", NULL };
	const struct http_text *t;
	struct subscriber s;
	struct buf m;

	if (!http_pages_is_get(req) && !http_pages_is_post(req)) {
		http_pages_not_allowed(req);
		return;
	}
	if (!http_pages_subscriber(p, req, "unsubscribe", &s))
		return;
	t = http_pages_text(p, req, &s);
	if (http_pages_is_post(req)) {
		if (!http_pages_one_click(req))
			http_pages_message(
			    p, req, t, 400, &t->unsubscribe.not_one_click);
		else
			http_pages_change(p, req, &s,
			    SUBSCRIBER_CHANGE_UNSUBSCRIBE,
			    http_pages_unsubscribe_source(req));
		subscriber_fini(&s);
		return;
	}
	/* A GET only asks: mail scanners follow links. */
	if (http_pages_is_unsubscribed(p, &s)) {
		http_pages_unsubscribed(p, req, &s, HTTP_PAGES_ALREADY);
		subscriber_fini(&s);
		return;
	}
	buf_init(&m);
	http_pages_para(&m, t, NULL, t->unsubscribe.ask, &s, true);
	http_pages_button(&m, one_click, t->unsubscribe.button, NULL);
	http_pages_para(&m, t, "note", t->unsubscribe.ask_note, &s, false);
	http_pages_send(p, req, t, &s, 200, t->unsubscribe.ask_title, m.data);
	buf_fini(&m);
	subscriber_fini(&s);
}

static void
http_pages_confirm(struct http_pages *p, struct http_request *req)
{
	const struct http_text *t;
	struct subscriber s;
	struct buf m;

	if (!http_pages_is_get(req) && !http_pages_is_post(req)) {
		http_pages_not_allowed(req);
		return;
	}
	if (!http_pages_subscriber(p, req, "confirm", &s))
		return;
	t = http_pages_text(p, req, &s);
	if (http_pages_is_unsubscribed(p, &s)) {
		http_pages_message(p, req, t, 409, &t->confirm.ended);
	} else if (http_pages_is_post(req)) {
		http_pages_change(
		    p, req, &s, SUBSCRIBER_CHANGE_CONFIRM, "page");
	} else if (strcmp(s.status, "active") == 0) {
		http_pages_confirmed(p, req, &s, HTTP_PAGES_ALREADY);
	} else {
		/* Link scanners (Safe Links, Mimecast) open every link in
		 * a message: a GET or a HEAD only asks. */
		buf_init(&m);
		http_pages_para(&m, t, NULL, t->confirm.ask, &s, true);
		http_pages_button(&m, NULL, t->confirm.button, NULL);
		http_pages_para(&m, t, "note", t->confirm.ask_note, &s, false);
		http_pages_send(
		    p, req, t, &s, 200, t->confirm.ask_title, m.data);
		buf_fini(&m);
	}
	subscriber_fini(&s);
}

static void
http_pages_preferences(struct http_pages *p, struct http_request *req)
{
	const struct http_text *t;
	struct subscriber s;
	char *action = NULL, *freq = NULL;

	if (!http_pages_is_get(req) && !http_pages_is_post(req)) {
		http_pages_not_allowed(req);
		return;
	}
	if (!http_pages_subscriber(p, req, "preferences", &s))
		return;
	t = http_pages_text(p, req, &s);
	if (http_pages_is_unsubscribed(p, &s)) {
		/* Coming back takes a new sign-up (and its confirmation). */
		http_pages_unsubscribed(p, req, &s, HTTP_PAGES_ALREADY);
		subscriber_fini(&s);
		return;
	}
	if (!http_pages_is_post(req)) {
		http_pages_preferences_page(p, req, &s, false, HTTP_PAGES_DONE);
		subscriber_fini(&s);
		return;
	}
	action = http_form_value(req->body, "action");
	freq = http_form_value(req->body, "frequency");
	if (action != NULL && strcmp(action, "unsubscribe") == 0) {
		http_pages_change(
		    p, req, &s, SUBSCRIBER_CHANGE_UNSUBSCRIBE, "preferences");
	} else if (freq != NULL &&
	    (strcmp(freq, "weekly") == 0 || strcmp(freq, "monthly") == 0)) {
		(void)snprintf(s.frequency, sizeof(s.frequency), "%s", freq);
		http_pages_change(
		    p, req, &s, SUBSCRIBER_CHANGE_FREQUENCY, "preferences");
	} else {
		http_pages_message(p, req, t, 400, &t->preferences.bad_choice);
	}
	free(action);
	free(freq);
	subscriber_fini(&s);
}

/* The loop answers: nothing here may wait for the database, which the
 * website may hold for a while. */
static void
http_pages_healthz(struct http_request *req)
{
	http_respond(req, 200, HTTP_PAGES_TEXT, "ok\n", 3);
}

/* The figures /metrics adds to each answer, at no cost. */
static void
http_pages_live_metrics(void *arg, struct buf *out)
{
	struct http_pages *p = arg;
	const char *name = "familymail_subscriber_changes_waiting";

	buf_printf(out,
	    "# HELP %s Subscriber changes asked for over HTTP, not yet in "
	    "the database (the website holds its lock).\n"
	    "# TYPE %s gauge\n%s %zu\n",
	    name, name, name, subscriber_queue_waiting(p->queue));
}

/* ------------------------------------------------------------ routing */

/* /healthz and /metrics, on either listener. */
static bool
http_pages_handle_ops(struct http_pages *p, struct http_request *req)
{
	if (strcmp(req->path, "/healthz") == 0) {
		if (http_pages_is_get(req))
			http_pages_healthz(req);
		else
			http_pages_not_allowed(req);
		return true;
	}
	if (strcmp(req->path, "/metrics") == 0) {
		if (http_pages_is_get(req))
			http_metrics_handle(p->metrics, req);
		else
			http_pages_not_allowed(req);
		return true;
	}
	return false;
}

void
http_pages_handle(void *arg, struct http_request *req)
{
	struct http_pages *p = arg;
	const char *path = req->path;

	if (strcmp(path, "/unsubscribe") == 0)
		http_pages_unsubscribe(p, req);
	else if (strcmp(path, "/confirm") == 0)
		http_pages_confirm(p, req);
	else if (strcmp(path, "/preferences") == 0)
		http_pages_preferences(p, req);
	else if (strcmp(path, "/healthz") == 0 ||
	    (p->metrics_server == NULL && strcmp(path, "/metrics") == 0))
		(void)http_pages_handle_ops(p, req);
	else
		http_pages_message(p, req, http_pages_text(p, req, NULL), 404,
		    &http_pages_text(p, req, NULL)->error.not_found);
}

/* The handler of [http] metrics_listen: metrics and health alone. */
static void
http_pages_handle_metrics(void *arg, struct http_request *req)
{
	struct http_pages *p = arg;

	if (!http_pages_handle_ops(p, req))
		http_respond(req, 404, HTTP_PAGES_TEXT, "404\n", 4);
}

/* ------------------------------------------------------------ lifetime */

struct http_pages *
http_pages_new(uv_loop_t *loop, sqlite3 *db)
{
	struct http_pages *p = xcalloc(1, sizeof(*p));
	const char *path = sqlite3_db_filename(db, "main");

	p->loop = loop;
	p->db = db;
	p->queue = subscriber_queue_new(loop, path != NULL ? path : "");
	p->metrics = http_metrics_new(loop, http_pages_live_metrics, p);
	return p;
}

void
http_pages_free(struct http_pages *p)
{
	if (p == NULL)
		return;
	subscriber_queue_free(p->queue);
	http_metrics_free(p->metrics);
	free(p);
}

void
http_pages_set_config(struct http_pages *p, const struct cfg *cfg,
    const char *secret, size_t secret_len)
{
	char *token = NULL, *why = NULL;

	p->cfg = cfg;
	p->secret = secret;
	p->secret_len = secret_len;
	if (cfg->metrics_token_file != NULL &&
	    cfg_read_secret(cfg->metrics_token_file, &token, &why) != 0) {
		/* Checked when the config was loaded: gone since. Refuse
		 * everyone rather than serve without the token. */
		log_warnx("config %s: [http] metrics_token_file %s: %s; "
			  "/metrics refuses every request",
		    cfg->path, cfg->metrics_token_file, why);
		free(why);
		token = xstrdup("\n");
	}
	http_metrics_set(p->metrics, cfg->database, token);
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (p->server != NULL)
		(void)http_server_set_proxies(
		    p->server, cfg->http_trusted_proxies);
	if (p->metrics_server != NULL)
		(void)http_server_set_proxies(
		    p->metrics_server, cfg->http_trusted_proxies);
}

int
http_pages_listen(struct http_pages *p, char **err)
{
	const struct cfg *cfg = p->cfg;

	p->server = http_server_new(
	    p->loop, cfg->http_listen, http_pages_handle, p, err);
	if (p->server == NULL)
		return -EADDRINUSE;
	if (cfg->metrics_listen != NULL) {
		p->metrics_server = http_server_new(p->loop,
		    cfg->metrics_listen, http_pages_handle_metrics, p, err);
		if (p->metrics_server == NULL) {
			http_server_free(p->server);
			p->server = NULL;
			return -EADDRINUSE;
		}
	}
	http_pages_set_config(p, cfg, p->secret, p->secret_len);
	return 0;
}

void
http_pages_stop(struct http_pages *p)
{
	if (p == NULL)
		return;
	http_server_free(p->server);
	http_server_free(p->metrics_server);
	p->server = NULL;
	p->metrics_server = NULL;
	subscriber_queue_stop(p->queue);
}
