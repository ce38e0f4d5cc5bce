/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce: the entry point of the bounce parser. It normalises the raw
 * bytes, takes the message apart with libetpan (headers, MIME tree, the
 * report, DSN and feedback parts, the header of the returned message),
 * decides what kind of message it is and hands each recipient to the
 * classifier. The DSN fields are read in bounce_dsn.c, MTA prose in
 * bounce_text.c, reasons in bounce_classify.c.
 *
 * libetpan structures live only inside this file: what leaves it is
 * struct bounce_msg (bounce_int.h) and struct bounce_report (bounce.h).
 */
#include "config.h"

#include "bounce/bounce.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "bounce/bounce_int.h"
#include "util.h"

static const char *const bounce_kind_names[] = {
	[BOUNCE_KIND_BOUNCE] = "bounce",
	[BOUNCE_KIND_FEEDBACK] = "feedback",
	[BOUNCE_KIND_AUTOREPLY] = "autoreply",
	[BOUNCE_KIND_DELIVERED] = "delivered",
	[BOUNCE_KIND_OTHER] = "other",
};

const char *
bounce_kind_name(enum bounce_kind kind)
{
	if ((size_t)kind >= UTIL_ARRAY_LEN(bounce_kind_names))
		return "other";
	return bounce_kind_names[kind];
}

const char *
bounce_class_name(enum bounce_class cls)
{
	switch (cls) {
	case BOUNCE_CLASS_HARD:
		return "hard";
	case BOUNCE_CLASS_SOFT:
		return "soft";
	case BOUNCE_CLASS_NONE:
		break;
	}
	return NULL;
}

static void
bounce_rcpt_fini(struct bounce_rcpt *r)
{
	free(r->recipient);
	free(r->status);
	free(r->action);
	free(r->diagnostic);
	free(r->remote_mta);
}

void
bounce_report_free(struct bounce_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_rcpts; i++)
		bounce_rcpt_fini(&r->rcpts[i]);
	free(r->rcpts);
	free(r->verp_token);
	free(r->orig_message_id);
	free(r->feedback_type);
	free(r->unsubscribe_token);
	free(r);
}

/* ------------------------------------------------------------ helpers */

/* Replaces bytes that are not valid UTF-8 by '?', so that every string we
 * hand out can go into JSON or the database as text. */
static void
bounce_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		size_t n, i;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else {
			*p++ = '?';
			continue;
		}
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (i <= n) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

void
bounce_set_folded(char **dst, const char *s, size_t n)
{
	struct buf b;
	size_t i;
	bool space = false;

	buf_init(&b);
	for (i = 0; i < n && b.len < BOUNCE_MAX_DIAG; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			break;
		if (isspace(c)) {
			space = b.len > 0;
			continue;
		}
		if (space)
			buf_putc(&b, ' ');
		space = false;
		buf_putc(&b, (char)c);
	}
	free(*dst);
	*dst = NULL;
	if (b.len == 0) {
		buf_fini(&b);
		return;
	}
	*dst = buf_take(&b);
	bounce_utf8_fix(*dst);
}

struct bounce_rcpt *
bounce_rcptv_find(struct bounce_rcptv *v, const char *addr, size_t len)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strlen(v->v[i].recipient) == len &&
		    strncasecmp(v->v[i].recipient, addr, len) == 0)
			return &v->v[i];
	return NULL;
}

struct bounce_rcpt *
bounce_rcptv_add(struct bounce_rcptv *v, const char *addr, size_t len)
{
	struct bounce_rcpt *r;

	if (len == 0 || bounce_rcptv_find(v, addr, len) != NULL)
		return NULL;
	if (v->n >= BOUNCE_MAX_RCPTS) {
		v->dropped++;
		return NULL;
	}
	if (v->n == v->cap) {
		v->cap = v->cap == 0 ? 4 : v->cap * 2;
		v->v = xreallocarray(v->v, v->cap, sizeof(*v->v));
		v->aux = xreallocarray(v->aux, v->cap, sizeof(*v->aux));
	}
	memset(&v->aux[v->n], 0, sizeof(v->aux[v->n]));
	r = &v->v[v->n++];
	memset(r, 0, sizeof(*r));
	r->recipient = xstrndup(addr, len);
	bounce_utf8_fix(r->recipient);
	r->reason = "undefined";
	return r;
}

/* -------------------------------------------------------------- headers */

const char *
bounce_hdrs_get(const struct bounce_hdrs *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->v[i].name, name) == 0)
			return h->v[i].value;
	return NULL;
}

void
bounce_hdrs_fini(struct bounce_hdrs *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

void
bounce_hdrs_parse(struct bounce_hdrs *h, const char *s, size_t len)
{
	struct mailimf_fields *fields = NULL;
	clistiter *it;
	size_t idx = 0;

	if (mailimf_optional_fields_parse(s, len, &idx, &fields) !=
		MAILIMF_NO_ERROR ||
	    fields == NULL)
		return;
	for (it = clist_begin(fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);
		struct mailimf_optional_field *o;
		struct bounce_hdr *hd;

		if (h->n >= BOUNCE_MAX_HEADERS)
			break;
		if (f->fld_type != MAILIMF_FIELD_OPTIONAL_FIELD)
			continue;
		o = f->fld_data.fld_optional_field;
		if (o->fld_name == NULL || o->fld_value == NULL)
			continue;
		h->v = xreallocarray(h->v, h->n + 1, sizeof(*h->v));
		hd = &h->v[h->n++];
		hd->name = xstrdup(o->fld_name);
		hd->value = NULL;
		bounce_set_folded(
		    &hd->value, o->fld_value, strlen(o->fld_value));
		if (hd->value == NULL)
			hd->value = xstrdup("");
	}
	mailimf_fields_free(fields);
}

/* The RFC 2047 decoded form of a header value, or a copy of it. */
static char *
bounce_decode_words(const char *value)
{
	char *out = NULL;
	size_t idx = 0;

	if (value == NULL)
		return NULL;
	if (mailmime_encoded_phrase_parse("us-ascii", value, strlen(value),
		&idx, "utf-8", &out) != MAILIMF_NO_ERROR ||
	    out == NULL)
		return xstrdup(value);
	{
		char *copy = xstrdup(out);

		free(out);
		bounce_utf8_fix(copy);
		return copy;
	}
}

/* ----------------------------------------------------------- normalise */

/*
 * Copies the input with every line ending made CRLF (libetpan's native
 * form), NUL bytes made spaces, lines longer than BOUNCE_MAX_LINE broken,
 * and a leading mbox "From " line dropped.
 */
static void
bounce_normalise(const char *data, size_t len, struct buf *out)
{
	size_t i = 0, col = 0;

	if (len > 5 && memcmp(data, "From ", 5) == 0) {
		while (i < len && data[i] != '\n' && data[i] != '\r')
			i++;
		if (i < len && data[i] == '\r')
			i++;
		if (i < len && data[i] == '\n')
			i++;
	}
	buf_reserve(out, len - i + len / 16 + 2);
	for (; i < len; i++) {
		char c = data[i];

		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
				i++;
			buf_append(out, "\r\n", 2);
			col = 0;
			continue;
		}
		if (col >= BOUNCE_MAX_LINE) {
			buf_append(out, "\r\n", 2);
			col = 0;
		}
		if (c == '\0')
			c = ' ';
		buf_putc(out, c);
		col++;
	}
}

/* True when the input starts with a header field (name ":"). */
static bool
bounce_looks_like_mail(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':')
			return i > 0;
		if (c <= 32 || c >= 127)
			return false;
	}
	return false;
}

/* Counts Content-Type lines naming a composite type: a bound on the MIME
 * depth libetpan will recurse into. */
static size_t
bounce_count_composite(const char *s, size_t len)
{
	static const char ct[] = "content-type:";
	size_t i, n = 0;

	for (i = 0; i + sizeof(ct) < len; i++) {
		size_t j;

		if ((i > 0 && s[i - 1] != '\n') ||
		    strncasecmp(s + i, ct, sizeof(ct) - 1) != 0)
			continue;
		j = i + sizeof(ct) - 1;
		while (j < len && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j + 9 < len &&
		    (strncasecmp(s + j, "multipart", 9) == 0 ||
			strncasecmp(s + j, "message", 7) == 0))
			n++;
	}
	return n;
}

/* ------------------------------------------------------------ the tree */

/* Appends text with LF line ends and no NUL bytes, within the cap. */
static void
bounce_append_text(struct buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && b->len < BOUNCE_MAX_TEXT; i++) {
		char c = s[i];

		if (c == '\r') {
			if (i + 1 < n && s[i + 1] == '\n')
				continue;
			c = '\n';
		}
		if (c == '\0')
			c = ' ';
		buf_putc(b, c);
	}
	if (b->len > 0 && b->data[b->len - 1] != '\n' &&
	    b->len < BOUNCE_MAX_TEXT)
		buf_putc(b, '\n');
}

static const char *const bounce_html_breaks[] = { "br", "p", "div", "tr", "li",
	"table", "h1", "h2", "h3", "h4", "td", "pre" };

/* Text of an HTML part: tags dropped (block tags become line breaks),
 * a few entities decoded. Good enough to find addresses and codes. */
static void
bounce_append_html(struct buf *b, const char *s, size_t n)
{
	struct buf t;
	size_t i = 0;

	buf_init(&t);
	while (i < n) {
		if (s[i] == '<') {
			size_t j = i + 1, k;

			if (j < n && s[j] == '/')
				j++;
			for (k = 0; k < UTIL_ARRAY_LEN(bounce_html_breaks);
			     k++) {
				size_t l = strlen(bounce_html_breaks[k]);

				if (j + l < n &&
				    strncasecmp(
					s + j, bounce_html_breaks[k], l) == 0 &&
				    !isalnum((unsigned char)s[j + l])) {
					buf_putc(&t, '\n');
					break;
				}
			}
			while (i < n && s[i] != '>')
				i++;
			i++;
			continue;
		}
		if (s[i] == '&') {
			static const struct {
				const char *ent;
				char c;
			} ents[] = { { "&lt;", '<' }, { "&gt;", '>' },
				{ "&amp;", '&' }, { "&quot;", '"' },
				{ "&nbsp;", ' ' }, { "&#39;", '\'' } };
			size_t k;

			for (k = 0; k < UTIL_ARRAY_LEN(ents); k++) {
				size_t l = strlen(ents[k].ent);

				if (i + l <= n &&
				    strncasecmp(s + i, ents[k].ent, l) == 0) {
					buf_putc(&t, ents[k].c);
					i += l;
					break;
				}
			}
			if (k < UTIL_ARRAY_LEN(ents))
				continue;
		}
		buf_putc(&t, s[i]);
		i++;
	}
	bounce_append_text(b, t.data, t.len);
	buf_fini(&t);
}

/* "type/subtype" in lower case into out. */
static void
bounce_ctype(const struct mailmime *mime, char *out, size_t outlen)
{
	const struct mailmime_content *ct = mime->mm_content_type;
	const char *major = "text", *minor = "plain";
	char *p;

	if (ct != NULL && ct->ct_type != NULL) {
		const struct mailmime_type *t = ct->ct_type;

		if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
			switch (t->tp_data.tp_discrete_type->dt_type) {
			case MAILMIME_DISCRETE_TYPE_TEXT:
				major = "text";
				break;
			case MAILMIME_DISCRETE_TYPE_EXTENSION:
				major =
				    t->tp_data.tp_discrete_type->dt_extension;
				break;
			default:
				major = "binary";
				break;
			}
		} else if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE) {
			major = t->tp_data.tp_composite_type->ct_type ==
				MAILMIME_COMPOSITE_TYPE_MESSAGE
			    ? "message"
			    : "multipart";
		}
		if (ct->ct_subtype != NULL)
			minor = ct->ct_subtype;
	}
	(void)snprintf(
	    out, outlen, "%s/%s", major != NULL ? major : "x", minor);
	for (p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* The decoded body of a leaf part; *dec is set when it must be freed
 * with mailmime_decoded_part_free(). */
static bool
bounce_body(const struct mailmime *mime, const char **s, size_t *n, char **dec)
{
	const struct mailmime_data *d = mime->mm_body;
	size_t idx = 0;

	*dec = NULL;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT)
		return false;
	*s = d->dt_data.dt_text.dt_data;
	*n = d->dt_data.dt_text.dt_length;
	if (!d->dt_encoded ||
	    (d->dt_encoding != MAILMIME_MECHANISM_BASE64 &&
		d->dt_encoding != MAILMIME_MECHANISM_QUOTED_PRINTABLE))
		return true;
	if (mailmime_part_parse(*s, *n, &idx, d->dt_encoding, dec, n) !=
	    MAILIMF_NO_ERROR)
		return false;
	*s = *dec;
	return true;
}

static void
bounce_on_leaf(struct bounce_msg *m, const struct mailmime *mime, bool inner)
{
	char ctype[96];
	const char *s;
	size_t n;
	char *dec;

	bounce_ctype(mime, ctype, sizeof(ctype));
	if (!bounce_body(mime, &s, &n, &dec))
		return;
	if (inner) {
		if (strcmp(ctype, "text/plain") == 0 &&
		    m->origtext.len < BOUNCE_MAX_TEXT / 16)
			bounce_append_text(&m->origtext, s, n);
	} else if (strcmp(ctype, "message/delivery-status") == 0 ||
	    strcmp(ctype, "message/global-delivery-status") == 0) {
		bounce_append_text(&m->dsn, s, n);
		bounce_append_text(&m->dsn, "\n", 1);
	} else if (strcmp(ctype, "message/feedback-report") == 0) {
		bounce_append_text(&m->arf, s, n);
	} else if (strcmp(ctype, "text/rfc822-headers") == 0 ||
	    strcmp(ctype, "message/rfc822-headers") == 0 ||
	    strcmp(ctype, "message/global-headers") == 0) {
		if (!m->has_orig) {
			bounce_hdrs_parse(&m->orig, s, n);
			m->has_orig = true;
		}
	} else if (strcmp(ctype, "text/html") == 0) {
		bounce_append_html(&m->text, s, n);
	} else if (strncmp(ctype, "text/", 5) == 0) {
		bounce_append_text(&m->text, s, n);
	}
	if (dec != NULL)
		mailmime_decoded_part_free(dec);
}

static bool
bounce_is_report(const struct mailmime *mime)
{
	char ctype[96];

	if (mime == NULL || mime->mm_type != MAILMIME_MULTIPLE)
		return false;
	bounce_ctype(mime, ctype, sizeof(ctype));
	return strcmp(ctype, "multipart/report") == 0;
}

/* Walks the MIME tree; `inner` is set inside the returned message, whose
 * plain text is kept apart (origtext) and never read as the report. */
static void
bounce_walk(struct bounce_msg *m, const struct mailmime *mime, int depth,
    bool inner, size_t *nparts)
{
	clistiter *it;

	if (mime == NULL || depth > BOUNCE_MAX_DEPTH ||
	    *nparts >= BOUNCE_MAX_PARTS)
		return;
	(*nparts)++;
	switch (mime->mm_type) {
	case MAILMIME_SINGLE:
		bounce_on_leaf(m, mime, inner);
		break;
	case MAILMIME_MULTIPLE:
		for (it = clist_begin(mime->mm_data.mm_multipart.mm_mp_list);
		     it != NULL; it = clist_next(it))
			bounce_walk(
			    m, clist_content(it), depth + 1, inner, nparts);
		break;
	case MAILMIME_MESSAGE:
		/* The top message, or a bounce forwarded inside this one:
		 * read it (but nothing inside a returned message). */
		if (depth == 0 ||
		    (!inner && m->dsn.len == 0 &&
			bounce_is_report(
			    mime->mm_data.mm_message.mm_msg_mime))) {
			bounce_walk(m, mime->mm_data.mm_message.mm_msg_mime,
			    depth + 1, false, nparts);
		} else if (!inner && !m->has_orig && mime->mm_body != NULL &&
		    mime->mm_body->dt_type == MAILMIME_DATA_TEXT) {
			/* The returned message: its header, and its text
			 * (a gateway may return the remote bounce here). */
			bounce_hdrs_parse(&m->orig,
			    mime->mm_body->dt_data.dt_text.dt_data,
			    mime->mm_body->dt_data.dt_text.dt_length);
			m->has_orig = true;
			bounce_walk(m, mime->mm_data.mm_message.mm_msg_mime,
			    depth + 1, true, nparts);
		}
		break;
	default:
		break;
	}
}

static void
bounce_msg_fini(struct bounce_msg *m)
{
	bounce_hdrs_fini(&m->top);
	bounce_hdrs_fini(&m->orig);
	buf_fini(&m->text);
	buf_fini(&m->dsn);
	buf_fini(&m->arf);
	buf_fini(&m->origtext);
	free(m->report_type);
	free(m->subject);
}

/* False when the header declares a multipart boundary that never occurs
 * (mangled by some relay or anonymiser): libetpan would then return one
 * bogus part, the plain body serves better. */
static bool
bounce_boundary_present(const char *ct, const char *s)
{
	const char *b = ct != NULL ? strcasestr(ct, "boundary=") : NULL;
	char *delim;
	bool found;
	size_t n;

	if (b == NULL)
		return true;
	b += strlen("boundary=");
	if (*b == '"') {
		b++;
		n = strcspn(b, "\"");
	} else {
		n = strcspn(b, "; ");
	}
	if (n == 0 || n > 200)
		return true;
	delim = xasprintf("\n--%.*s", (int)n, b);
	found = strstr(s, delim) != NULL;
	free(delim);
	return found;
}

/* Fills m from the normalised message; false when it has no header. */
static bool
bounce_msg_read(struct bounce_msg *m, const char *s, size_t len)
{
	struct mailmime *mime = NULL;
	const char *ct, *rt;
	size_t idx = 0, nparts = 0;

	bounce_hdrs_parse(&m->top, s, len);
	if (m->top.n == 0)
		return false;
	m->subject = bounce_decode_words(bounce_hdrs_get(&m->top, "Subject"));
	ct = bounce_hdrs_get(&m->top, "Content-Type");
	rt = ct != NULL ? strcasestr(ct, "report-type=") : NULL;
	if (rt != NULL) {
		size_t n;

		rt += strlen("report-type=");
		if (*rt == '"')
			rt++;
		n = strcspn(rt, "\"; ");
		m->report_type = xstrndup(rt, n);
		for (n = 0; m->report_type[n] != '\0'; n++)
			m->report_type[n] =
			    (char)tolower((unsigned char)m->report_type[n]);
	}
	if (bounce_count_composite(s, len) <= BOUNCE_MAX_COMPOSITE &&
	    bounce_boundary_present(ct, s) &&
	    mailmime_parse(s, len, &idx, &mime) == MAILIMF_NO_ERROR &&
	    mime != NULL) {
		bounce_walk(m, mime, 0, false, &nparts);
		mailmime_free(mime);
	}
	if (m->text.len == 0 && m->dsn.len == 0 && m->arf.len == 0) {
		/* Not MIME we can walk: the body as plain text. */
		const char *body = strstr(s, "\r\n\r\n");

		if (body != NULL)
			bounce_append_text(
			    &m->text, body + 4, len - (size_t)(body + 4 - s));
	}
	if (m->text.data == NULL)
		buf_puts(&m->text, "");
	if (m->dsn.data == NULL)
		buf_puts(&m->dsn, "");
	if (m->arf.data == NULL)
		buf_puts(&m->arf, "");
	if (m->origtext.data == NULL)
		buf_puts(&m->origtext, "");
	if (!m->has_orig) {
		/* A returned message pasted into the text (no MIME). */
		const char *o = bounce_text_orig_start(m->text.data);

		if (o != NULL) {
			while (*o == '\n' || *o == ' ' || *o == '\t')
				o++;
			bounce_hdrs_parse(&m->orig, o, strlen(o));
			m->has_orig = m->orig.n > 0;
		}
	}
	return true;
}

/* ---------------------------------------------------------------- VERP */

/* The TOKEN of the first bounces+TOKEN@ in s, or NULL. */
static char *
bounce_verp_in(const char *s)
{
	static const char tag[] = "bounces+";
	const char *p = s;

	if (s == NULL)
		return NULL;
	while ((p = strcasestr(p, tag)) != NULL) {
		const char *t = p + sizeof(tag) - 1;
		size_t n = 0;

		if (p > s &&
		    (isalnum((unsigned char)p[-1]) || p[-1] == '.' ||
			p[-1] == '-' || p[-1] == '_' || p[-1] == '+')) {
			p = t;
			continue;
		}
		while (n <= 64 && isalnum((unsigned char)t[n]))
			n++;
		if (n >= 1 && n <= 64 && t[n] == '@')
			return xstrndup(t, n);
		p = t;
	}
	return NULL;
}

static char *
bounce_find_verp(const struct bounce_msg *m, const char *raw)
{
	static const char *const top[] = { "To", "Delivered-To",
		"X-Original-To", "Envelope-To", "X-Envelope-To",
		"X-Original-Recipient", "X-Rcpt-To", "Received" };
	static const char *const orig[] = { "Return-Path", "From", "Sender" };
	size_t i;
	char *t;

	for (i = 0; i < UTIL_ARRAY_LEN(top); i++) {
		t = bounce_verp_in(bounce_hdrs_get(&m->top, top[i]));
		if (t != NULL)
			return t;
	}
	for (i = 0; i < UTIL_ARRAY_LEN(orig); i++) {
		t = bounce_verp_in(bounce_hdrs_get(&m->orig, orig[i]));
		if (t != NULL)
			return t;
	}
	for (i = 0; i < m->top.n; i++) {
		t = bounce_verp_in(m->top.v[i].value);
		if (t != NULL)
			return t;
	}
	/* Anywhere else: the DSN, the text, a quoted header. */
	return bounce_verp_in(raw);
}

/* ------------------------------------------------------------- analyse */

static bool
bounce_action_is_success(const char *action)
{
	return action != NULL &&
	    (strcmp(action, "delivered") == 0 ||
		strcmp(action, "relayed") == 0 ||
		strcmp(action, "expanded") == 0);
}

/* The first address in a header value, or false. */
static bool
bounce_first_addr(const char *value, const char **a, size_t *n)
{
	if (value == NULL)
		return false;
	*a = bounce_text_next_addr(value, value, n);
	return *a != NULL;
}

static void
bounce_feedback(
    const struct bounce_msg *m, struct bounce_report *r, struct bounce_rcptv *v)
{
	struct bounce_hdrs f = { 0 };
	static const char *const names[] = { "Original-Rcpt-To",
		"Removal-Recipient" };
	const char *ft, *a = NULL, *line;
	struct bounce_rcpt *rc = NULL;
	size_t i, n = 0;

	bounce_hdrs_parse(&f, m->arf.data, m->arf.len);
	ft = bounce_hdrs_get(&f, "Feedback-Type");
	if (ft != NULL) {
		r->feedback_type = xstrndup(ft, strcspn(ft, " ;"));
		for (i = 0; r->feedback_type[i] != '\0'; i++)
			r->feedback_type[i] =
			    (char)tolower((unsigned char)r->feedback_type[i]);
	}
	for (i = 0; i < UTIL_ARRAY_LEN(names) && rc == NULL; i++)
		if (bounce_first_addr(bounce_hdrs_get(&f, names[i]), &a, &n))
			rc = bounce_rcptv_add(v, a, n);
	/* Hotmail's complaint reports (JMRP) name the complainant here. */
	if (rc == NULL &&
	    bounce_first_addr(
		bounce_hdrs_get(&m->orig, "X-HmXmrOriginalRecipient"), &a, &n))
		rc = bounce_rcptv_add(v, a, n);
	if (rc == NULL &&
	    bounce_first_addr(bounce_hdrs_get(&m->orig, "To"), &a, &n))
		rc = bounce_rcptv_add(v, a, n);
	if (rc != NULL) {
		rc->reason = "feedback";
		rc->cls = BOUNCE_CLASS_NONE;
		line = m->text.data;
		while (*line == '\n' || *line == ' ')
			line++;
		bounce_set_folded(&rc->diagnostic, line, strcspn(line, "\n"));
	}
	bounce_hdrs_fini(&f);
}

static void
bounce_autoreply(const struct bounce_msg *m, struct bounce_rcptv *v)
{
	struct bounce_rcpt *rc;
	const char *a;
	size_t n;

	if (!bounce_first_addr(bounce_hdrs_get(&m->top, "From"), &a, &n))
		return;
	rc = bounce_rcptv_add(v, a, n);
	if (rc == NULL)
		return;
	rc->reason = "vacation";
	rc->cls = BOUNCE_CLASS_NONE;
	if (m->subject != NULL)
		bounce_set_folded(
		    &rc->diagnostic, m->subject, strlen(m->subject));
}

/* A code that names a subject and a detail (5.1.1, not 5.0.0 nor the
 * three-digit details some servers invent). */
static bool
bounce_status_specific(const char *c)
{
	return strlen(c) == 5 && (c[0] == '4' || c[0] == '5') &&
	    c[2] >= '1' && c[2] <= '9' && c[4] >= '1' && c[4] <= '9';
}

/* The host that refused: Remote-MTA, else the one the diagnostic names
 * ("host mx.example.net[192.0.2.1] said:"); NULL if neither. */
static const char *
bounce_remote_host(const struct bounce_rcpt *rc, char *buf, size_t size)
{
	const char *p;
	size_t n;

	if (rc->remote_mta != NULL)
		return rc->remote_mta;
	if (rc->diagnostic == NULL)
		return NULL;
	for (p = strcasestr(rc->diagnostic, "host "); p != NULL;
	     p = strcasestr(p + 5, "host ")) {
		const char *h = p + 5;

		n = strspn(h,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.-");
		if (n == 0 || n >= size || memchr(h, '.', n) == NULL ||
		    (h[n] != '[' && h[n] != ' '))
			continue;
		memcpy(buf, h, n);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

/* How many times the token t occurs in s, not inside a longer number. */
static int
bounce_count_token(const char *s, const char *t)
{
	const char *p;
	size_t n = strlen(t);
	int count = 0;

	if (n == 0)
		return 0;
	for (p = strstr(s, t); p != NULL; p = strstr(p + n, t))
		count += (p == s || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n]) && p[n] != '.';
	return count;
}

/*
 * A reply of several lines, folded into one, repeats its code on each
 * ("550-5.2.1 The user ... 550-5.2.1 prevents ... 550 5.2.1 https://"):
 * keep the first, drop the others, so that the words read on.
 */
static void
bounce_diag_sweep(char *d, int reply, const char *status)
{
	char code[8];
	char *r, *w;
	int seen;

	if (reply == 0)
		return;
	(void)snprintf(code, sizeof(code), "%d", reply);
	seen = bounce_count_token(d, code) +
	    (status != NULL ? bounce_count_token(d, status) : 0);
	if (seen <= 2)
		return;
	for (r = w = d; *r != '\0';) {
		if (r > d && (r[-1] == ' ' || r[-1] == ';') &&
		    (r[0] == '4' || r[0] == '5') &&
		    isdigit((unsigned char)r[1]) &&
		    isdigit((unsigned char)r[2]) &&
		    (r[3] == '-' || r[3] == ' ')) {
			r += 4;
			if (status != NULL &&
			    strncmp(r, status, strlen(status)) == 0 &&
			    (r[strlen(status)] == ' ' ||
				r[strlen(status)] == '\0'))
				r += strlen(status);
			while (*r == ' ')
				r++;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	while (w > d && w[-1] == ' ')
		*--w = '\0';
}

/* Status, reply code, command and verdict of one failed or delivered
 * recipient; ctx is the report's text around it, or NULL. */
static void
bounce_finish_rcpt(const struct bounce_msg *m, struct bounce_rcptv *v,
    size_t i, const char *ctx)
{
	struct bounce_rcpt *rc = &v->v[i];
	const struct bounce_rcpt_aux *aux = &v->aux[i];
	struct bounce_facts f;
	struct bounce_verdict vd;
	char code[16], host[256];

	/* A precise code in the server's own words beats the report's
	 * Status field, which the reporting MTA may have guessed. */
	if (rc->diagnostic != NULL &&
	    bounce_classify_find_status(rc->diagnostic, code, sizeof(code)) &&
	    code[0] != '2' &&
	    (rc->status == NULL || bounce_status_specific(code) ||
		(rc->status[0] == code[0] &&
		    strcmp(rc->status + 1, ".0.0") == 0))) {
		free(rc->status);
		rc->status = xstrdup(code);
	}
	if (rc->reply_code == 0 && rc->diagnostic != NULL)
		rc->reply_code = bounce_classify_find_reply(rc->diagnostic);
	if (rc->diagnostic != NULL)
		bounce_diag_sweep(rc->diagnostic, rc->reply_code, rc->status);
	if (bounce_action_is_success(rc->action)) {
		rc->reason = "delivered";
		rc->cls = BOUNCE_CLASS_NONE;
		return;
	}
	if (rc->command == BOUNCE_CMD_NONE)
		rc->command = bounce_classify_command(rc->diagnostic);
	if (rc->command == BOUNCE_CMD_NONE)
		rc->command = bounce_classify_command(ctx);
	memset(&f, 0, sizeof(f));
	f.status = rc->status;
	f.reply_code = rc->reply_code;
	f.command = rc->command;
	f.action = rc->action;
	f.diagnostic = rc->diagnostic;
	f.diag_type = aux->diag_type;
	f.remote_host = bounce_remote_host(rc, host, sizeof(host));
	f.recipient = rc->recipient;
	f.mta_reason = aux->mta_reason;
	bounce_classify(&f, &vd);
	if (strcmp(vd.reason, "onhold") == 0 ||
	    strcmp(vd.reason, "undefined") == 0) {
		/* The report says nothing; a remote bounce returned inside
		 * it may. */
		char *quoted = bounce_text_quoted_errors(m, rc->recipient);

		if (quoted != NULL) {
			struct bounce_verdict q;

			f.diagnostic = quoted;
			bounce_classify(&f, &q);
			if (strcmp(q.reason, "onhold") != 0)
				vd = q;
			free(quoted);
		}
	}
	rc->reason = vd.reason;
	rc->cls = vd.cls;
	rc->sender_side = vd.sender_side;
}

static void
bounce_analyse(const struct bounce_msg *m, struct bounce_report *r)
{
	struct bounce_rcptv v = { 0 };
	char **ctx = xcalloc(BOUNCE_MAX_RCPTS, sizeof(*ctx));
	size_t i;

	r->kind = BOUNCE_KIND_OTHER;
	if (m->arf.len > 0 ||
	    (m->report_type != NULL &&
		strcmp(m->report_type, "feedback-report") == 0) ||
	    bounce_hdrs_get(&m->orig, "X-HmXmrOriginalRecipient") != NULL) {
		r->kind = BOUNCE_KIND_FEEDBACK;
		bounce_feedback(m, r, &v);
		goto done;
	}
	if (bounce_dsn_parse_ses(
		m->text.data, &v, &r->kind, &r->feedback_type) == 0) {
		if (r->kind == BOUNCE_KIND_FEEDBACK)
			goto done;
		goto finish;
	}
	if (m->dsn.len > 0)
		bounce_dsn_parse(m->dsn.data, &v);
	if (v.n == 0 && strcasestr(m->text.data, "final-recipient:") != NULL)
		bounce_dsn_parse(m->text.data, &v);
	if (v.n > 0) {
		r->kind = BOUNCE_KIND_DELIVERED;
		for (i = 0; i < v.n; i++)
			if (!bounce_action_is_success(v.v[i].action))
				r->kind = BOUNCE_KIND_BOUNCE;
	} else if (bounce_text_is_bounce(m)) {
		r->kind = BOUNCE_KIND_BOUNCE;
	} else if (bounce_text_is_autoreply(m)) {
		r->kind = BOUNCE_KIND_AUTOREPLY;
		bounce_autoreply(m, &v);
		goto done;
	} else {
		goto done;
	}
finish:
	bounce_text_scan(m, &v, ctx);
	bounce_mta_hint(m, &v, ctx);
	for (i = 0; i < v.n; i++)
		bounce_finish_rcpt(m, &v, i, ctx[i]);
done:
	for (i = 0; i < BOUNCE_MAX_RCPTS; i++)
		free(ctx[i]);
	free(ctx);
	free(v.aux);
	r->rcpts = v.v;
	r->n_rcpts = v.n;
	r->n_dropped = v.dropped;
}

/* "unsubscribe TOKEN" (any case, any spaces around) as a whole
 * subject: the request a List-Unsubscribe mailto link sends. */
static char *
bounce_unsubscribe_token(const char *subject)
{
	const char *t;
	size_t n;

	if (subject == NULL)
		return NULL;
	subject += strspn(subject, " \t");
	if (strncasecmp(subject, "unsubscribe", 11) != 0 ||
	    (subject[11] != ' ' && subject[11] != '\t'))
		return NULL;
	t = subject + 11;
	t += strspn(t, " \t");
	n = strspn(t,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_.~");
	if (n == 0 || n > 512 || t[n + strspn(t + n, " \t")] != '\0')
		return NULL;
	return xstrndup(t, n);
}

int
bounce_parse(const char *data, size_t len, struct bounce_report **out)
{
	struct bounce_msg m;
	struct bounce_report *r;
	struct buf norm;
	const char *id;

	*out = NULL;
	if (len > BOUNCE_MAX_SIZE)
		return -EMSGSIZE;
	if (data == NULL || len == 0)
		return -EINVAL;
	buf_init(&norm);
	bounce_normalise(data, len, &norm);
	if (norm.data == NULL || !bounce_looks_like_mail(norm.data, norm.len)) {
		buf_fini(&norm);
		return -EINVAL;
	}
	memset(&m, 0, sizeof(m));
	buf_init(&m.text);
	buf_init(&m.dsn);
	buf_init(&m.arf);
	buf_init(&m.origtext);
	if (!bounce_msg_read(&m, norm.data, norm.len)) {
		bounce_msg_fini(&m);
		buf_fini(&norm);
		return -EINVAL;
	}
	r = xcalloc(1, sizeof(*r));
	bounce_analyse(&m, r);
	r->verp_token = bounce_find_verp(&m, norm.data);
	if (r->kind == BOUNCE_KIND_OTHER)
		r->unsubscribe_token = bounce_unsubscribe_token(m.subject);
	id = bounce_hdrs_get(&m.orig, "Message-ID");
	if (id != NULL) {
		id += strspn(id, " <");
		bounce_set_folded(&r->orig_message_id, id, strcspn(id, "> "));
	}
	bounce_msg_fini(&m);
	buf_fini(&norm);
	*out = r;
	return 0;
}
