/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * testmail: see testmail.h.
 */
#include "config.h"

#include "testmail.h"

#include <dirent.h>
#include <libical/ical.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <check.h>
#include <libetpan/libetpan.h>

#include "buf.h"
#include "testutil.h"
#include "util.h"

/* The decoded body of a single part. */
static char *
testmail_decode(struct mailmime *part)
{
	struct mailmime_data *d = part->mm_data.mm_single;
	size_t idx = 0, len;
	char *res, *copy;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(
	    mailmime_part_parse(d->dt_data.dt_text.dt_data,
		d->dt_data.dt_text.dt_length, &idx, d->dt_encoding, &res, &len),
	    MAILIMF_NO_ERROR);
	copy = xstrndup(res, len);
	mailmime_decoded_part_free(res);
	return copy;
}

/* Text as a reader sees it: line ends as LF. */
static char *
testmail_lines(char *s)
{
	char *o = s;

	for (const char *p = s; *p != '\0'; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*o++ = *p;
	*o = '\0';
	return s;
}

static void
testmail_walk(struct mailmime *mime, struct testmail *m)
{
	struct mailmime_content *ct;
	struct mailmime_single_fields *sf;
	int type;

	if (mime->mm_type == MAILMIME_MULTIPLE) {
		for (clistiter *it =
			 clist_begin(mime->mm_data.mm_multipart.mm_mp_list);
		     it != NULL; it = clist_next(it))
			testmail_walk(clist_content(it), m);
		return;
	}
	ck_assert_int_eq(mime->mm_type, MAILMIME_SINGLE);
	ct = mime->mm_content_type;
	ck_assert_int_eq(ct->ct_type->tp_type, MAILMIME_TYPE_DISCRETE_TYPE);
	type = ct->ct_type->tp_data.tp_discrete_type->dt_type;
	if (type == MAILMIME_DISCRETE_TYPE_APPLICATION &&
	    strcasecmp(ct->ct_subtype, "ics") == 0) {
		ck_assert_ptr_null(m->attachment);
		m->attachment = testmail_decode(mime);
		sf = mailmime_single_fields_new(mime->mm_mime_fields, ct);
		ck_assert_ptr_nonnull(sf);
		if (sf->fld_disposition_filename != NULL)
			m->attachment_name =
			    xstrdup(sf->fld_disposition_filename);
		mailmime_single_fields_free(sf);
		return;
	}
	ck_assert_int_eq(type, MAILMIME_DISCRETE_TYPE_TEXT);
	if (strcasecmp(ct->ct_subtype, "plain") == 0) {
		ck_assert_ptr_null(m->text);
		m->text = testmail_lines(testmail_decode(mime));
	} else if (strcasecmp(ct->ct_subtype, "html") == 0) {
		ck_assert_ptr_null(m->html);
		m->html = testmail_lines(testmail_decode(mime));
	} else if (strcasecmp(ct->ct_subtype, "calendar") == 0) {
		const char *method = mailmime_content_param_get(ct, "method");

		ck_assert_ptr_null(m->calendar);
		m->calendar = testmail_decode(mime);
		m->calendar_method = xstrdup(method != NULL ? method : "");
	} else {
		ck_abort_msg("%s: a text/%s part", m->file, ct->ct_subtype);
	}
}

static void
testmail_read(const char *path, struct testmail *m)
{
	struct mailimf_fields *fields;
	struct mailmime *root = NULL;
	struct buf crlf;
	size_t len, idx = 0;
	char *raw, *out = NULL;

	memset(m, 0, sizeof(*m));
	m->file = xstrdup(path);
	raw = tu_read_file(path, &len);
	ck_assert_ptr_nonnull(raw);
	/* libetpan parses what SMTP carries: CRLF line ends. */
	buf_init(&crlf);
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			buf_putc(&crlf, '\r');
		buf_putc(&crlf, raw[i]);
	}
	free(raw);
	ck_assert_int_eq(
	    mailmime_parse(crlf.data, crlf.len, &idx, &root), MAILIMF_NO_ERROR);
	fields = root->mm_data.mm_message.mm_fields;
	ck_assert_ptr_nonnull(fields);
	for (clistiter *it = clist_begin(fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);

		if (f->fld_type == MAILIMF_FIELD_SUBJECT) {
			struct buf unfolded;
			const char *v = f->fld_data.fld_subject->sbj_value;

			buf_init(&unfolded);
			for (; *v != '\0'; v++)
				if (*v != '\r' && *v != '\n')
					buf_putc(&unfolded, *v);
			buf_putc(&unfolded, '\0');
			idx = 0;
			ck_assert_int_eq(mailmime_encoded_phrase_parse("utf-8",
					     unfolded.data, unfolded.len - 1,
					     &idx, "utf-8", &out),
			    MAILIMF_NO_ERROR);
			m->subject = out;
			buf_fini(&unfolded);
		} else if (f->fld_type == MAILIMF_FIELD_TO) {
			struct mailimf_address *a = clist_content(clist_begin(
			    f->fld_data.fld_to->to_addr_list->ad_list));

			ck_assert_int_eq(a->ad_type, MAILIMF_ADDRESS_MAILBOX);
			m->to = xstrdup(a->ad_data.ad_mailbox->mb_addr_spec);
		}
	}
	ck_assert_msg(m->to != NULL && m->subject != NULL, "%s", path);
	testmail_walk(root->mm_data.mm_message.mm_msg_mime, m);
	mailmime_free(root);
	buf_fini(&crlf);
}

struct testmail *
testmail_read_dir(const char *dir, size_t *n)
{
	struct dirent **names;
	struct testmail *m;
	int count;

	*n = 0;
	count = scandir(dir, &names, NULL, alphasort);
	if (count < 0)
		return NULL;
	m = xcalloc((size_t)count + 1, sizeof(*m));
	for (int i = 0; i < count; i++) {
		if (names[i]->d_name[0] != '.') {
			char *p = xasprintf("%s/%s", dir, names[i]->d_name);

			testmail_read(p, &m[(*n)++]);
			free(p);
		}
		free(names[i]);
	}
	free(names);
	return m;
}

void
testmail_free(struct testmail *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].file);
		free(m[i].to);
		free(m[i].subject);
		free(m[i].text);
		free(m[i].html);
		free(m[i].calendar);
		free(m[i].calendar_method);
		free(m[i].attachment);
		free(m[i].attachment_name);
	}
	free(m);
}

static bool
testmail_matches(const struct testmail *m, const char *to, const char *subject)
{
	return (to == NULL || strcasecmp(m->to, to) == 0) &&
	    (subject == NULL ||
		strncmp(m->subject, subject, strlen(subject)) == 0);
}

size_t
testmail_count(
    const struct testmail *m, size_t n, const char *to, const char *subject)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += testmail_matches(&m[i], to, subject);
	return c;
}

const struct testmail *
testmail_find(const struct testmail *m, size_t n, const char *to,
    const char *subject, size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (testmail_matches(&m[k], to, subject) && i-- == 0)
			return &m[k];
	return NULL;
}

const char *
testmail_python(void)
{
	static bool probed;
	static char *found;
	const char *candidates[] = { getenv("PYTHON3"), "/usr/bin/python3" };
	char *script, *log;

	if (probed)
		return found;
	probed = true;
	script = xasprintf("%s/tests/ics_check.py", tu_srcdir());
	log = xasprintf("%s/tests/ics_probe.log", tu_builddir());
	for (size_t i = 0; i < UTIL_ARRAY_LEN(candidates) && found == NULL;
	     i++) {
		char *argv[] = { (char *)candidates[i], script,
			(char *)"--probe", NULL };

		if (candidates[i] == NULL || access(candidates[i], X_OK) != 0)
			continue;
		if (tu_run_cmd(argv, log, 20000) == 0)
			found = xstrdup(candidates[i]);
	}
	unlink(log);
	free(log);
	free(script);
	return found;
}

json_t *
testmail_ics_python(const char *dir, const char *const *ics, size_t n)
{
	char **argv = xcalloc(n + 3, sizeof(*argv));
	char *script = xasprintf("%s/tests/ics_check.py", tu_srcdir());
	char *out = xasprintf("%s/ics_check.out", dir), *text, *line, *save;
	json_t *all = json_array(), *o;

	ck_assert_msg(testmail_python() != NULL, "no python3 with icalendar");
	argv[0] = (char *)testmail_python();
	argv[1] = script;
	for (size_t i = 0; i < n; i++) {
		char name[32];

		(void)snprintf(name, sizeof(name), "entry-%zu.ics", i);
		argv[i + 2] = tu_write_file(dir, name, ics[i]);
	}
	ck_assert_int_eq(tu_run_cmd(argv, out, 60000), 0);
	text = tu_read_file(out, NULL);
	ck_assert_ptr_nonnull(text);
	save = NULL;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		o = json_loads(line, 0, NULL);
		ck_assert_msg(o != NULL, "ics_check.py said: %s", line);
		ck_assert_msg(json_object_get(o, "error") == NULL,
		    "python-icalendar cannot read an entry: %s", line);
		json_array_append_new(all, o);
	}
	ck_assert_uint_eq(json_array_size(all), n);
	for (size_t i = 0; i < n; i++)
		free(argv[i + 2]);
	free(argv);
	free(text);
	free(out);
	free(script);
	return all;
}

/* The instant of DTSTART or DTEND p, by the entry's VTIMEZONE zone (or
 * UTC when it has no TZID). */
static time_t
testmail_ics_time(icalproperty *p, icaltimezone *zone, char *local, size_t n)
{
	struct icaltimetype t =
	    icalvalue_get_datetime(icalproperty_get_value(p));
	icalparameter *tzid =
	    icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);

	if (local != NULL)
		(void)snprintf(local, n, "%04d%02d%02dT%02d%02d%02d", t.year,
		    t.month, t.day, t.hour, t.minute, t.second);
	if (tzid == NULL) {
		ck_assert(icaltime_is_utc(t));
		return icaltime_as_timet(t);
	}
	ck_assert_ptr_nonnull(zone);
	return icaltime_as_timet_with_zone(t, zone);
}

void
testmail_ics_libical(const char *ics, struct testmail_ics *out)
{
	icalcomponent *cal, *ev, *vtz, *c;
	icaltimezone *zone = NULL;
	icalproperty *p;
	size_t start = 0, len = strlen(ics);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < len; i++) {
		if (ics[i] != '\n')
			continue;
		ck_assert_msg(i > start && ics[i - 1] == '\r',
		    "a line without CRLF:\n%s", ics);
		ck_assert_msg(i - 1 - start <= 75, "a line of %zu octets:\n%s",
		    i - 1 - start, ics);
		start = i + 1;
	}
	ck_assert_msg(start == len, "no CRLF at the end:\n%s", ics);
	cal = icalparser_parse_string(ics);
	ck_assert_msg(cal != NULL, "libical cannot read:\n%s", ics);
	ck_assert_int_eq(icalcomponent_isa(cal), ICAL_VCALENDAR_COMPONENT);
	ck_assert_int_eq(
	    icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT), 1);
	ck_assert_int_le(
	    icalcomponent_count_components(cal, ICAL_VTIMEZONE_COMPONENT), 1);
	for (c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL;
	     c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT))
		ck_assert_msg(icalcomponent_count_properties(
				  c, ICAL_XLICERROR_PROPERTY) == 0,
		    "libical found errors in:\n%s", ics);
	p = icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY);
	ck_assert_ptr_nonnull(p);
	(void)snprintf(out->method, sizeof(out->method), "%s",
	    icalenum_method_to_string(icalproperty_get_method(p)));
	vtz = icalcomponent_get_first_component(cal, ICAL_VTIMEZONE_COMPONENT);
	if (vtz != NULL) {
		zone = icaltimezone_new();
		ck_assert_int_ne(icaltimezone_set_component(
				     zone, icalcomponent_new_clone(vtz)),
		    0);
		(void)snprintf(out->tzid, sizeof(out->tzid), "%s",
		    icaltimezone_get_tzid(zone));
	}
	ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	out->uid = xstrdup(icalcomponent_get_uid(ev));
	out->sequence = icalcomponent_get_sequence(ev);
	p = icalcomponent_get_first_property(ev, ICAL_STATUS_PROPERTY);
	if (p != NULL)
		(void)snprintf(out->status, sizeof(out->status), "%s",
		    icalproperty_status_to_string(icalproperty_get_status(p)));
	p = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
	ck_assert_ptr_nonnull(p);
	if (zone != NULL)
		ck_assert_str_eq(
		    icalparameter_get_tzid(icalproperty_get_first_parameter(
			p, ICAL_TZID_PARAMETER)),
		    out->tzid);
	out->starts = testmail_ics_time(
	    p, zone, out->starts_local, sizeof(out->starts_local));
	p = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
	if (p != NULL)
		out->ends = testmail_ics_time(p, zone, NULL, 0);
	if (zone != NULL)
		icaltimezone_free(zone, 1);
	icalcomponent_free(cal);
}

void
testmail_ics_fini(struct testmail_ics *i)
{
	free(i->uid);
	i->uid = NULL;
}
