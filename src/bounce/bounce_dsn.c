/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_dsn: reads the fields of an RFC 3464 delivery-status body: one
 * per-message group (Reporting-MTA, ...) then one group per recipient
 * (Final-Recipient, Original-Recipient, Action, Status, Diagnostic-Code,
 * Remote-MTA), groups separated by blank lines; and the JSON
 * notifications of Amazon SES (SNS), the other machine-readable report.
 *
 * It is forgiving, as real DSNs need: folded fields, missing blank lines
 * between recipients, address types other than rfc822, angle brackets.
 * It does not classify (bounce_classify.c) nor look at prose
 * (bounce_text.c).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "bounce/bounce_int.h"
#include "buf.h"
#include "util.h"

/* One recipient group while it is being read. */
struct bounce_dsn_group {
	char *final;
	char *original;
	char *action;
	char *status;
	char *diag;
	char *remote;
	char diag_type[16]; /* "smtp", "x-unix", ... or "" */
};

static void
bounce_dsn_group_fini(struct bounce_dsn_group *g)
{
	free(g->final);
	free(g->original);
	free(g->action);
	free(g->status);
	free(g->diag);
	free(g->remote);
	memset(g, 0, sizeof(*g));
}

/* The value after "type;" (rfc822; dns; smtp; ...), or all of it. */
static const char *
bounce_dsn_typed(const char *v)
{
	const char *semi, *p;

	while (isspace((unsigned char)*v))
		v++;
	semi = strchr(v, ';');
	if (semi == NULL)
		return v;
	for (p = v; p < semi; p++)
		if (isspace((unsigned char)*p) || *p == '<' || *p == '@')
			return v;
	semi++;
	while (isspace((unsigned char)*semi))
		semi++;
	return semi;
}

static void
bounce_dsn_set(char **dst, const char *v)
{
	free(*dst);
	*dst = NULL;
	/* NULL for an entry without the field: an SES complaint's
	 * recipients carry no action. */
	if (v != NULL)
		bounce_set_folded(dst, v, strlen(v));
}

/* The type word before "type;" in v, lower case, into out; "" when v
 * has none. */
static void
bounce_dsn_type(const char *v, char *out, size_t size)
{
	const char *t = bounce_dsn_typed(v);
	size_t n = 0;

	out[0] = '\0';
	while (isspace((unsigned char)*v))
		v++;
	if (t == v)
		return;
	while (n + 1 < size && v[n] != ';' && !isspace((unsigned char)v[n])) {
		out[n] = (char)tolower((unsigned char)v[n]);
		n++;
	}
	out[n] = '\0';
}

/* Adds the group's recipient to v, or fills gaps of an entry already
 * there for the same address. */
static bool
bounce_dsn_commit(struct bounce_dsn_group *g, struct bounce_rcptv *v)
{
	const char *src[2] = { g->final, g->original };
	const char *a = NULL;
	struct bounce_rcpt *r;
	size_t i, n = 0;
	char code[16];

	for (i = 0; i < 2 && a == NULL; i++)
		if (src[i] != NULL)
			a = bounce_text_next_addr(src[i], src[i], &n);
	if (a == NULL) {
		bounce_dsn_group_fini(g);
		return false;
	}
	r = bounce_rcptv_find(v, a, n);
	if (r == NULL)
		r = bounce_rcptv_add(v, a, n);
	if (r == NULL) {
		bounce_dsn_group_fini(g);
		return false;
	}
	if (r->action == NULL && g->action != NULL) {
		r->action = g->action;
		g->action = NULL;
		for (i = 0; r->action[i] != '\0'; i++)
			r->action[i] =
			    (char)tolower((unsigned char)r->action[i]);
		r->action[strcspn(r->action, " (")] = '\0';
	}
	if (r->status == NULL && g->status != NULL &&
	    bounce_classify_find_status(g->status, code, sizeof(code)))
		r->status = xstrdup(code);
	if (r->diagnostic == NULL && g->diag != NULL) {
		r->diagnostic = g->diag;
		g->diag = NULL;
		memcpy(v->aux[r - v->v].diag_type, g->diag_type,
		    sizeof(g->diag_type));
	}
	if (r->remote_mta == NULL && g->remote != NULL) {
		r->remote_mta = g->remote;
		g->remote = NULL;
	}
	bounce_dsn_group_fini(g);
	return true;
}

/* Handles one complete field of the current group. */
static void
bounce_dsn_field(struct bounce_dsn_group *g, struct bounce_rcptv *v,
    const char *name, const char *value)
{
	const char *tv = bounce_dsn_typed(value);

	if (strcasecmp(name, "Final-Recipient") == 0 ||
	    strcasecmp(name, "X-Actual-Recipient") == 0) {
		/* A second recipient without a blank line before it. */
		if (g->final != NULL &&
		    strcasecmp(name, "Final-Recipient") == 0)
			bounce_dsn_commit(g, v);
		if (g->final == NULL)
			bounce_dsn_set(&g->final, tv);
	} else if (strcasecmp(name, "Original-Recipient") == 0) {
		if (g->original != NULL)
			bounce_dsn_commit(g, v);
		bounce_dsn_set(&g->original, tv);
	} else if (strcasecmp(name, "Action") == 0) {
		bounce_dsn_set(&g->action, value);
	} else if (strcasecmp(name, "Status") == 0) {
		bounce_dsn_set(&g->status, value);
	} else if (strcasecmp(name, "Diagnostic-Code") == 0) {
		bounce_dsn_set(&g->diag, tv);
		bounce_dsn_type(value, g->diag_type, sizeof(g->diag_type));
	} else if (strcasecmp(name, "Remote-MTA") == 0) {
		bounce_dsn_set(&g->remote, tv);
	}
}

size_t
bounce_dsn_parse(const char *text, struct bounce_rcptv *v)
{
	struct bounce_dsn_group g = { 0 };
	struct buf name, value;
	const char *p = text;
	size_t found = 0, before = v->n;

	buf_init(&name);
	buf_init(&value);
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);
		const char *colon;
		bool blank = true;
		size_t i;

		for (i = 0; i < n; i++)
			if (!isspace((unsigned char)p[i]))
				blank = false;
		if ((p[0] == ' ' || p[0] == '\t') && !blank && name.len > 0) {
			/* Continuation of the field being read. */
			if (value.len < BOUNCE_MAX_DIAG * 2) {
				buf_putc(&value, ' ');
				buf_append(&value, p, n);
			}
		} else {
			if (name.len > 0)
				bounce_dsn_field(&g, v, name.data, value.data);
			buf_reset(&name);
			buf_reset(&value);
			colon = memchr(p, ':', n);
			if (blank) {
				if (g.final != NULL || g.original != NULL)
					bounce_dsn_commit(&g, v);
				bounce_dsn_group_fini(&g);
			} else if (colon != NULL && colon > p) {
				buf_append(&name, p, (size_t)(colon - p));
				buf_append(&value, colon + 1,
				    n - (size_t)(colon + 1 - p));
			}
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	if (name.len > 0)
		bounce_dsn_field(&g, v, name.data, value.data);
	if (g.final != NULL || g.original != NULL)
		bounce_dsn_commit(&g, v);
	bounce_dsn_group_fini(&g);
	buf_fini(&name);
	buf_fini(&value);
	found = v->n - before;
	return found;
}

/* ------------------------------------------------- Amazon SES (JSON) */

static const char *
bounce_dsn_json_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* One recipient object of an SES notification. */
static void
bounce_dsn_ses_rcpt(
    json_t *o, const char *addr_key, const char *action, struct bounce_rcptv *v)
{
	const char *a = json_is_string(o) ? json_string_value(o)
					  : bounce_dsn_json_str(o, addr_key);
	const char *p, *s;
	struct bounce_rcpt *r;
	size_t n;
	char code[16];

	if (a == NULL)
		return;
	p = bounce_text_next_addr(a, a, &n);
	if (p == NULL)
		return;
	r = bounce_rcptv_add(v, p, n);
	if (r == NULL)
		return;
	s = json_is_object(o) ? bounce_dsn_json_str(o, "action") : NULL;
	bounce_dsn_set(&r->action, s != NULL ? s : action);
	s = json_is_object(o) ? bounce_dsn_json_str(o, "status") : NULL;
	if (s != NULL && bounce_classify_find_status(s, code, sizeof(code)))
		r->status = xstrdup(code);
	s = json_is_object(o) ? bounce_dsn_json_str(o, "diagnosticCode") : NULL;
	if (s != NULL)
		bounce_dsn_set(&r->diagnostic, bounce_dsn_typed(s));
}

int
bounce_dsn_parse_ses(const char *text, struct bounce_rcptv *v,
    enum bounce_kind *kind, char **feedback_type)
{
	const char *p = text + strspn(text, " \t\n");
	json_t *root, *o, *list, *e;
	const char *type;
	char *flat;
	size_t i;

	if (*p != '{' || strstr(p, "\"notificationType\"") == NULL)
		return -1;
	/* SNS wraps long lines, even inside strings; JSON needs none. */
	flat = xstrdup(p);
	for (i = 0; flat[i] != '\0'; i++)
		if (flat[i] == '\n')
			flat[i] = ' ';
	root = json_loads(flat, JSON_DISABLE_EOF_CHECK, NULL);
	free(flat);
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	type = bounce_dsn_json_str(root, "notificationType");
	if (type == NULL)
		type = "";
	if (strcmp(type, "Bounce") == 0) {
		*kind = BOUNCE_KIND_BOUNCE;
		o = json_object_get(root, "bounce");
		list = json_object_get(o, "bouncedRecipients");
		json_array_foreach(list, i, e)
		    bounce_dsn_ses_rcpt(e, "emailAddress", "failed", v);
	} else if (strcmp(type, "Complaint") == 0) {
		*kind = BOUNCE_KIND_FEEDBACK;
		o = json_object_get(root, "complaint");
		if (bounce_dsn_json_str(o, "complaintFeedbackType") != NULL)
			*feedback_type = xstrdup(
			    bounce_dsn_json_str(o, "complaintFeedbackType"));
		else
			*feedback_type = xstrdup("abuse");
		list = json_object_get(o, "complainedRecipients");
		json_array_foreach(list, i, e)
		    bounce_dsn_ses_rcpt(e, "emailAddress", NULL, v);
		for (i = 0; i < v->n; i++) {
			v->v[i].reason = "feedback";
			v->v[i].cls = BOUNCE_CLASS_NONE;
		}
	} else if (strcmp(type, "Delivery") == 0) {
		*kind = BOUNCE_KIND_DELIVERED;
		o = json_object_get(root, "delivery");
		list = json_object_get(o, "recipients");
		json_array_foreach(list, i, e)
		    bounce_dsn_ses_rcpt(e, "emailAddress", "delivered", v);
	} else {
		json_decref(root);
		return -1;
	}
	json_decref(root);
	return 0;
}
