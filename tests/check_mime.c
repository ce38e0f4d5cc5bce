/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_mime: builds messages with mime_build() and reads them back with
 * libetpan's parser, as a mail client would: every header must decode
 * to what was given, the bodies byte for byte, the lines must be legal,
 * and no value may ever add a header or a recipient.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <check.h>
#include <libetpan/libetpan.h>

#include "addr.h"
#include "buf.h"
#include "send/mime.h"
#include "testutil.h"
#include "util.h"

/* Monday 7 December 2026, 09:30:00 UTC */
#define TEST_DATE ((time_t)1796635800)

static const char welsh[] = "Si\xc3\xa2n Ll\xc5\xb7r";
static const char arabic[] = "\xd9\x81\xd8\xa7\xd8\xb7\xd9\x85\xd8\xa9";

static void
msg_defaults(struct mime_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->from_name = "Family Courses";
	m->from_addr = "courses@example.org";
	m->to_name = "Jane Parent";
	m->to_addr = "jane@example.net";
	m->subject = "Your booking is confirmed";
	m->text = "Hello Jane,\r\n\r\nSee you on Thursday.\r\n";
	m->date = TEST_DATE;
	m->msgid_domain = "example.org";
}

/* A built message and its parse. */
struct parsed {
	struct buf raw;
	char *msgid;
	struct mailmime *root;
	struct mailimf_fields *fields;
	struct mailmime *body;
};

static void
build(const struct mime_msg *m, struct parsed *p)
{
	size_t idx = 0;
	int r;

	memset(p, 0, sizeof(*p));
	buf_init(&p->raw);
	r = mime_build(m, &p->raw, &p->msgid);
	ck_assert_msg(r == 0, "mime_build: %s", strerror(-r));
	ck_assert_ptr_nonnull(p->msgid);
	r = mailmime_parse(p->raw.data, p->raw.len, &idx, &p->root);
	ck_assert_int_eq(r, MAILIMF_NO_ERROR);
	ck_assert_int_eq(p->root->mm_type, MAILMIME_MESSAGE);
	p->fields = p->root->mm_data.mm_message.mm_fields;
	p->body = p->root->mm_data.mm_message.mm_msg_mime;
	ck_assert_ptr_nonnull(p->fields);
	ck_assert_ptr_nonnull(p->body);
}

static void
parsed_fini(struct parsed *p)
{
	mailmime_free(p->root);
	buf_fini(&p->raw);
	free(p->msgid);
}

/* mime_build() must refuse m with want, leave out alone and set no id. */
static void
assert_refused(const struct mime_msg *m, int want)
{
	struct buf out;
	char *id = (char *)"unset";
	int r;

	buf_init(&out);
	buf_puts(&out, "before");
	r = mime_build(m, &out, &id);
	ck_assert_msg(r == want, "got %d (%s), wanted %d", r,
	    r == 0 ? "built" : strerror(-r), want);
	ck_assert_str_eq(out.data, "before");
	ck_assert_ptr_null(id);
	buf_fini(&out);
}

static struct mailimf_field *
field_of(struct mailimf_fields *fields, int type)
{
	clistiter *it;

	for (it = clist_begin(fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);

		if (f->fld_type == type)
			return f;
	}
	return NULL;
}

static int
count_fields(struct mailimf_fields *fields, int type)
{
	clistiter *it;
	int n = 0;

	for (it = clist_begin(fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);

		n += f->fld_type == type;
	}
	return n;
}

/* The value of an optional (unknown to libetpan) header, or NULL. */
static const char *
optional(struct mailimf_fields *fields, const char *name)
{
	clistiter *it;

	for (it = clist_begin(fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);

		if (f->fld_type == MAILIMF_FIELD_OPTIONAL_FIELD &&
		    strcasecmp(
			f->fld_data.fld_optional_field->fld_name, name) == 0)
			return f->fld_data.fld_optional_field->fld_value;
	}
	return NULL;
}

/* Unfolds (drops each CRLF) and decodes RFC 2047 words to UTF-8. */
static char *
decode_header(const char *raw)
{
	struct buf unfolded;
	char *out = NULL;
	size_t idx = 0, i;
	int r;

	buf_init(&unfolded);
	for (i = 0; raw[i] != '\0'; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			buf_putc(&unfolded, raw[i]);
	buf_putc(&unfolded, '\0');
	r = mailmime_encoded_phrase_parse(
	    "utf-8", unfolded.data, unfolded.len - 1, &idx, "utf-8", &out);
	ck_assert_int_eq(r, MAILIMF_NO_ERROR);
	buf_fini(&unfolded);
	return out;
}

static struct mailimf_mailbox *
only_mailbox(struct mailimf_address_list *list)
{
	struct mailimf_address *a;

	ck_assert_int_eq(clist_count(list->ad_list), 1);
	a = clist_content(clist_begin(list->ad_list));
	ck_assert_int_eq(a->ad_type, MAILIMF_ADDRESS_MAILBOX);
	return a->ad_data.ad_mailbox;
}

static struct mailimf_mailbox *
to_mailbox(struct parsed *p)
{
	struct mailimf_field *f = field_of(p->fields, MAILIMF_FIELD_TO);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(count_fields(p->fields, MAILIMF_FIELD_TO), 1);
	ck_assert_int_eq(count_fields(p->fields, MAILIMF_FIELD_CC), 0);
	ck_assert_int_eq(count_fields(p->fields, MAILIMF_FIELD_BCC), 0);
	return only_mailbox(f->fld_data.fld_to->to_addr_list);
}

static void
assert_name(struct mailimf_mailbox *mb, const char *want)
{
	char *got;

	ck_assert_ptr_nonnull(mb->mb_display_name);
	got = decode_header(mb->mb_display_name);
	ck_assert_str_eq(got, want);
	free(got);
}

static void
assert_subject(struct parsed *p, const char *want)
{
	struct mailimf_field *f = field_of(p->fields, MAILIMF_FIELD_SUBJECT);
	char *got;

	ck_assert_ptr_nonnull(f);
	got = decode_header(f->fld_data.fld_subject->sbj_value);
	ck_assert_str_eq(got, want);
	free(got);
}

/* The decoded body of a single part, NUL-terminated; caller frees. */
static char *
part_body(struct mailmime *part, const char *type, int *encoding)
{
	struct mailmime_content *ct = part->mm_content_type;
	struct mailmime_data *d;
	char *res, *copy;
	size_t idx = 0, len;
	char *charset;

	ck_assert_int_eq(part->mm_type, MAILMIME_SINGLE);
	ck_assert_int_eq(ct->ct_type->tp_type, MAILMIME_TYPE_DISCRETE_TYPE);
	ck_assert_int_eq(ct->ct_type->tp_data.tp_discrete_type->dt_type,
	    MAILMIME_DISCRETE_TYPE_TEXT);
	ck_assert_str_eq(ct->ct_subtype, type);
	charset = mailmime_content_param_get(ct, "charset");
	ck_assert_ptr_nonnull(charset);
	ck_assert_int_eq(strcasecmp(charset, "utf-8"), 0);
	d = part->mm_data.mm_single;
	*encoding = d->dt_encoding;
	ck_assert(d->dt_encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE ||
	    d->dt_encoding == MAILMIME_MECHANISM_BASE64);
	ck_assert_int_eq(
	    mailmime_part_parse(d->dt_data.dt_text.dt_data,
		d->dt_data.dt_text.dt_length, &idx, d->dt_encoding, &res, &len),
	    MAILIMF_NO_ERROR);
	copy = xstrndup(res, len);
	mailmime_decoded_part_free(res);
	return copy;
}

static struct mailmime *
nth_part(struct mailmime *mp, int n)
{
	clistiter *it = clist_begin(mp->mm_data.mm_multipart.mm_mp_list);

	while (n-- > 0 && it != NULL)
		it = clist_next(it);
	ck_assert_ptr_nonnull(it);
	return clist_content(it);
}

/* Every line ends with CRLF and holds at most 998 octets; header lines
 * (up to the first empty line) fewer than 78 characters, if strict. */
static void
assert_lines(const struct buf *raw, bool strict_headers)
{
	size_t i, start = 0;
	bool in_headers = true;

	ck_assert(raw->len >= 2);
	for (i = 0; i < raw->len; i++) {
		/* No line begins with a dot: SMTP needs no dot-stuffing. */
		ck_assert_msg(i != start || raw->data[i] != '.',
		    "a line begins with a dot at %zu", i);
		if (raw->data[i] == '\r') {
			ck_assert_msg(
			    i + 1 < raw->len && raw->data[i + 1] == '\n',
			    "bare CR at %zu", i);
			ck_assert_msg(i - start <= 998,
			    "line at %zu: %zu "
			    "octets",
			    start, i - start);
			if (in_headers && strict_headers)
				ck_assert_msg(i - start < 78,
				    "header line of %zu: %.*s", i - start,
				    (int)(i - start), raw->data + start);
			if (i == start)
				in_headers = false;
			i++;
			start = i + 1;
		} else {
			ck_assert_msg(
			    raw->data[i] != '\n', "bare LF at %zu", i);
			ck_assert_msg(raw->data[i] != '\0', "NUL at %zu", i);
		}
	}
	ck_assert_msg(start == raw->len, "last line has no CRLF");
}

/* No encoded-word in the raw message is longer than 75 characters. */
static void
assert_encoded_words_short(const char *raw)
{
	const char *p = raw, *q;

	while ((p = strstr(p, "=?")) != NULL) {
		/* Skip the charset and encoding "?" separators. */
		q = strchr(p + 2, '?');
		ck_assert_ptr_nonnull(q);
		q = strchr(q + 1, '?');
		ck_assert_ptr_nonnull(q);
		q = strstr(q + 1, "?=");
		ck_assert_ptr_nonnull(q);
		ck_assert_msg(q + 2 - p <= 75, "encoded-word of %d: %.*s",
		    (int)(q + 2 - p), (int)(q + 2 - p), p);
		p = q + 2;
	}
}

/* The raw header block (up to the first empty line), NUL-terminated. */
static char *
raw_headers(const struct buf *raw)
{
	const char *end = strstr(raw->data, "\r\n\r\n");

	ck_assert_ptr_nonnull(end);
	return xstrndup(raw->data, (size_t)(end - raw->data) + 2);
}

/* ------------------------------------------------------------ tests */

START_TEST(test_mime_plain_message_has_the_headers_a_reader_expects)
{
	struct mime_msg m;
	struct parsed p;
	struct mailimf_field *f;
	struct mailimf_mailbox *mb;
	char *hdr;

	msg_defaults(&m);
	m.reply_to = "bookings@example.org";
	build(&m, &p);
	hdr = raw_headers(&p.raw);
	/* Plain ASCII stays readable. */
	ck_assert_ptr_nonnull(
	    strstr(hdr, "\r\nSubject: Your booking is confirmed\r\n"));
	ck_assert_ptr_nonnull(
	    strstr(hdr, "\r\nFrom: Family Courses <courses@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(hdr, "\r\nMIME-Version: 1.0\r\n"));
	free(hdr);

	f = field_of(p.fields, MAILIMF_FIELD_FROM);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(
	    clist_count(f->fld_data.fld_from->frm_mb_list->mb_list), 1);
	mb = clist_content(
	    clist_begin(f->fld_data.fld_from->frm_mb_list->mb_list));
	ck_assert_str_eq(mb->mb_addr_spec, "courses@example.org");
	assert_name(mb, "Family Courses");

	mb = to_mailbox(&p);
	ck_assert_str_eq(mb->mb_addr_spec, "jane@example.net");
	assert_name(mb, "Jane Parent");

	f = field_of(p.fields, MAILIMF_FIELD_REPLY_TO);
	ck_assert_ptr_nonnull(f);
	mb = only_mailbox(f->fld_data.fld_reply_to->rt_addr_list);
	ck_assert_str_eq(mb->mb_addr_spec, "bookings@example.org");
	assert_subject(&p, "Your booking is confirmed");
	assert_lines(&p.raw, true);
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_without_html_sends_one_text_plain_part)
{
	struct mime_msg m;
	struct parsed p;
	char *body;
	int enc;

	msg_defaults(&m);
	build(&m, &p);
	body = part_body(p.body, "plain", &enc);
	ck_assert_str_eq(body, m.text);
	ck_assert_int_eq(enc, MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	free(body);
	ck_assert_ptr_null(strstr(p.raw.data, "multipart"));
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_with_html_sends_text_then_html_as_alternatives)
{
	struct mime_msg m;
	struct parsed p;
	struct mailmime_content *ct;
	const char *boundary;
	char *body;
	int enc;

	msg_defaults(&m);
	m.html = "<p>Hello Jane,</p>\r\n<p>See you on <b>Thursday</b>.</p>\r\n";
	build(&m, &p);
	ck_assert_int_eq(p.body->mm_type, MAILMIME_MULTIPLE);
	ct = p.body->mm_content_type;
	ck_assert_int_eq(ct->ct_type->tp_type, MAILMIME_TYPE_COMPOSITE_TYPE);
	ck_assert_int_eq(ct->ct_type->tp_data.tp_composite_type->ct_type,
	    MAILMIME_COMPOSITE_TYPE_MULTIPART);
	ck_assert_str_eq(ct->ct_subtype, "alternative");
	ck_assert_int_eq(
	    clist_count(p.body->mm_data.mm_multipart.mm_mp_list), 2);
	/* One boundary, ours, which the parts are cut on. */
	ck_assert_int_eq(clist_count(ct->ct_parameters), 1);
	boundary = strstr(p.raw.data, "boundary=\"=_fm_");
	ck_assert_ptr_nonnull(boundary);
	ck_assert_ptr_null(strstr(boundary + 1, "boundary="));
	body = part_body(nth_part(p.body, 0), "plain", &enc);
	ck_assert_str_eq(body, m.text);
	free(body);
	body = part_body(nth_part(p.body, 1), "html", &enc);
	ck_assert_str_eq(body, m.html);
	free(body);
	assert_lines(&p.raw, true);
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_bodies_decode_back_byte_identical)
{
	struct mime_msg m;
	struct parsed p;
	struct buf text;
	char *body;
	int enc, i;

	buf_init(&text);
	buf_puts(&text,
	    "Trailing space \r\nTrailing tab\t\r\n"
	    "=equals= and =3D\r\n"
	    "From the start of a line\r\n"
	    ".\r\n"
	    "..dots\r\n");
	buf_printf(
	    &text, "%s and %s, caf\xc3\xa9 \xe2\x82\xac 5\r\n", welsh, arabic);
	for (i = 0; i < 60; i++)
		buf_puts(&text, "a long line without breaks ");
	buf_puts(&text, "\r\n");
	for (i = 0; i < 300; i++)
		buf_putc(&text, 'x');
	buf_puts(&text, "\r\n\tindented\r\n   \r\nno final line break  ");
	msg_defaults(&m);
	m.text = text.data;
	m.html = "<p>Caf\xc3\xa9</p>  \r\n<p>=</p>";
	build(&m, &p);
	body = part_body(nth_part(p.body, 0), "plain", &enc);
	ck_assert_int_eq(enc, MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	ck_assert_uint_eq(strlen(body), text.len);
	ck_assert_str_eq(body, text.data);
	free(body);
	body = part_body(nth_part(p.body, 1), "html", &enc);
	ck_assert_str_eq(body, m.html);
	free(body);
	assert_lines(&p.raw, true);
	/* No encoded line is longer than quoted-printable allows. */
	for (i = 0; i < 2; i++) {
		struct mailmime_data *d =
		    nth_part(p.body, i)->mm_data.mm_single;
		const char *s = d->dt_data.dt_text.dt_data, *e;
		size_t left = d->dt_data.dt_text.dt_length;

		while (left > 0 && (e = memchr(s, '\n', left)) != NULL) {
			ck_assert_uint_le((size_t)(e - s), 77);
			left -= (size_t)(e - s) + 1;
			s = e + 1;
		}
	}
	parsed_fini(&p);
	buf_fini(&text);
}
END_TEST

START_TEST(test_mime_uses_base64_for_mostly_non_ascii_text)
{
	struct mime_msg m;
	struct parsed p;
	struct buf text;
	char *body;
	int enc, i;

	buf_init(&text);
	for (i = 0; i < 40; i++)
		buf_printf(&text, "%s %s\r\n", arabic, arabic);
	msg_defaults(&m);
	m.text = text.data;
	build(&m, &p);
	body = part_body(p.body, "plain", &enc);
	ck_assert_int_eq(enc, MAILMIME_MECHANISM_BASE64);
	ck_assert_str_eq(body, text.data);
	free(body);
	assert_lines(&p.raw, true);
	parsed_fini(&p);
	buf_fini(&text);
}
END_TEST

/* One thread builds many messages, and keeps what libetpan wrote for
 * the last shape: each message, whatever the shape of the one before,
 * has its own structure, encodings and bodies. */
START_TEST(test_mime_messages_of_changing_shapes_in_turn_each_come_out_right)
{
	static const struct {
		bool html, b64_text, b64_html;
	} shapes[] = {
		{ true, false, false },
		{ true, false, false },
		{ false, false, false },
		{ true, true, false },
		{ true, false, true },
		{ false, true, false },
		{ true, false, false },
	};
	struct buf text, html;
	struct mime_msg m;
	struct parsed p;
	char *body;
	int enc;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(shapes); i++) {
		buf_init(&text);
		buf_init(&html);
		for (int k = 0; k < 40; k++)
			buf_printf(&text, "%s %zu\r\n",
			    shapes[i].b64_text ? arabic : "Hello", i);
		for (int k = 0; k < 40; k++)
			buf_printf(&html, "<p>%s %zu</p>\r\n",
			    shapes[i].b64_html ? arabic : "Hello", i);
		msg_defaults(&m);
		m.text = text.data;
		m.html = shapes[i].html ? html.data : NULL;
		build(&m, &p);
		if (shapes[i].html) {
			ck_assert_int_eq(p.body->mm_type, MAILMIME_MULTIPLE);
			body = part_body(nth_part(p.body, 0), "plain", &enc);
		} else {
			ck_assert_ptr_null(strstr(p.raw.data, "multipart"));
			body = part_body(p.body, "plain", &enc);
		}
		ck_assert_int_eq(enc,
		    shapes[i].b64_text ? MAILMIME_MECHANISM_BASE64
				       : MAILMIME_MECHANISM_QUOTED_PRINTABLE);
		ck_assert_str_eq(body, text.data);
		free(body);
		if (shapes[i].html) {
			body = part_body(nth_part(p.body, 1), "html", &enc);
			ck_assert_int_eq(enc,
			    shapes[i].b64_html
				? MAILMIME_MECHANISM_BASE64
				: MAILMIME_MECHANISM_QUOTED_PRINTABLE);
			ck_assert_str_eq(body, html.data);
			free(body);
		}
		assert_lines(&p.raw, true);
		parsed_fini(&p);
		buf_fini(&text);
		buf_fini(&html);
	}
}
END_TEST

START_TEST(test_mime_sends_lone_line_feeds_as_crlf)
{
	struct mime_msg m;
	struct parsed p;
	char *body;
	int enc;

	msg_defaults(&m);
	m.text = "one\ntwo\rthree\r\nfour\n";
	build(&m, &p);
	body = part_body(p.body, "plain", &enc);
	ck_assert_str_eq(body, "one\r\ntwo\r\nthree\r\nfour\r\n");
	free(body);
	assert_lines(&p.raw, true);
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_encodes_a_welsh_name_and_decodes_it_back)
{
	struct mime_msg m;
	struct parsed p;
	struct mailimf_mailbox *mb;
	char *subject = xasprintf("Croeso, %s!", welsh);
	char *hdr;

	msg_defaults(&m);
	m.to_name = welsh;
	m.to_addr = "sian@example.cymru";
	m.subject = subject;
	build(&m, &p);
	/* Only the words that need it are encoded. */
	hdr = raw_headers(&p.raw);
	ck_assert_ptr_nonnull(strstr(hdr, "\r\nSubject: Croeso, =?UTF-8?Q?"));
	assert_encoded_words_short(hdr);
	free(hdr);
	mb = to_mailbox(&p);
	ck_assert_str_eq(mb->mb_addr_spec, "sian@example.cymru");
	assert_name(mb, welsh);
	assert_subject(&p, subject);
	assert_lines(&p.raw, true);
	parsed_fini(&p);

	m.to_name = "Dr Si\xc3\xa2n Jones (Cardiff), MBE";
	build(&m, &p);
	mb = to_mailbox(&p);
	assert_name(mb, m.to_name);
	parsed_fini(&p);
	free(subject);
}
END_TEST

START_TEST(test_mime_encodes_an_arabic_name_and_decodes_it_back)
{
	struct mime_msg m;
	struct parsed p;
	struct mailimf_field *f;
	struct mailimf_mailbox *mb;

	msg_defaults(&m);
	m.to_name = arabic;
	m.from_name = arabic;
	m.subject = arabic;
	build(&m, &p);
	/* Mostly non-ASCII: base64 words. */
	ck_assert_ptr_nonnull(strstr(p.raw.data, "=?UTF-8?B?"));
	mb = to_mailbox(&p);
	assert_name(mb, arabic);
	f = field_of(p.fields, MAILIMF_FIELD_FROM);
	ck_assert_ptr_nonnull(f);
	mb = clist_content(
	    clist_begin(f->fld_data.fld_from->frm_mb_list->mb_list));
	ck_assert_str_eq(mb->mb_addr_spec, "courses@example.org");
	assert_name(mb, arabic);
	assert_subject(&p, arabic);
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_quotes_a_display_name_that_needs_it)
{
	struct mime_msg m;
	struct parsed p;
	struct mailimf_mailbox *mb;
	char *hdr;

	msg_defaults(&m);
	m.to_name = "Parent, Jane";
	build(&m, &p);
	hdr = raw_headers(&p.raw);
	ck_assert_ptr_nonnull(
	    strstr(hdr, "\r\nTo: \"Parent, Jane\" <jane@example.net>\r\n"));
	free(hdr);
	/* Still one recipient, with the comma in its name. */
	mb = to_mailbox(&p);
	ck_assert_str_eq(mb->mb_addr_spec, "jane@example.net");
	assert_name(mb, "Parent, Jane");
	parsed_fini(&p);

	m.to_name = "J. \"Bob\" Smith (Leeds) <x@evil.example>";
	build(&m, &p);
	mb = to_mailbox(&p);
	ck_assert_str_eq(mb->mb_addr_spec, "jane@example.net");
	assert_name(mb, m.to_name);
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_folds_a_200_character_subject)
{
	static const char *const words[] = { "Reminder:", "your", "course",
		"starts", "soon", "Siân", "Llŷr", "and", "friends" };
	struct mime_msg m;
	struct parsed p;
	struct buf subject;
	size_t i, chars = 0;
	char *hdr;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		buf_init(&subject);
		/* Pass 0: plain ASCII words; pass 1: with Welsh letters. */
		for (i = 0; chars < 200; i++) {
			const char *w = words[i % UTIL_ARRAY_LEN(words)];

			if (pass == 0 && i % UTIL_ARRAY_LEN(words) >= 5)
				w = "words";
			if (subject.len > 0) {
				buf_putc(&subject, ' ');
				chars++;
			}
			buf_puts(&subject, w);
			chars += strlen(w);
		}
		chars = 0;
		msg_defaults(&m);
		m.subject = subject.data;
		build(&m, &p);
		assert_lines(&p.raw, true);
		hdr = raw_headers(&p.raw);
		assert_encoded_words_short(hdr);
		free(hdr);
		assert_subject(&p, subject.data);
		/* It is folded, not one long line. */
		ck_assert_ptr_nonnull(strstr(p.raw.data, "\r\n "));
		parsed_fini(&p);
		buf_fini(&subject);
	}
}
END_TEST

START_TEST(test_mime_keeps_odd_spacing_and_lookalike_words_in_subjects)
{
	static const char *const subjects[] = {
		"two  spaces",
		" leading and trailing ",
		"tab\there",
		"=?UTF-8?B?SGFja2Vk?=",
		"50% off = cheaper? _under_score_",
		("a-very-long-word-that-does-not-fit-on-one-line-at-all-no-matter-"
		 "where-it-starts-xxxxxxxxxxxxxxxxxxxxx"),
	};
	struct mime_msg m;
	struct parsed p;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(subjects); i++) {
		msg_defaults(&m);
		m.subject = subjects[i];
		build(&m, &p);
		assert_subject(&p, subjects[i]);
		assert_lines(&p.raw, true);
		parsed_fini(&p);
	}
}
END_TEST

START_TEST(test_mime_refuses_header_values_with_line_breaks)
{
	static const char *const extra[] = {
		"X-Note: one\r\nBcc: x@evil.example", NULL
	};
	struct mime_msg m;

	msg_defaults(&m);
	m.to_name = "Eve\r\nBcc: eve@evil.example";
	assert_refused(&m, -EINVAL);
	m.to_name = "Eve\nBcc: eve@evil.example";
	assert_refused(&m, -EINVAL);
	m.to_name = "Eve\r";
	assert_refused(&m, -EINVAL);

	msg_defaults(&m);
	m.from_name = "Courses\r\nX-Injected: yes";
	assert_refused(&m, -EINVAL);

	msg_defaults(&m);
	m.subject = "Hello\r\nBcc: eve@evil.example";
	assert_refused(&m, -EINVAL);
	m.subject = "Hello\n\nbody";
	assert_refused(&m, -EINVAL);

	msg_defaults(&m);
	m.reply_to = "a@example.org\r\nBcc: eve@evil.example";
	assert_refused(&m, -EINVAL);

	msg_defaults(&m);
	m.extra_headers = extra;
	assert_refused(&m, -EINVAL);

	msg_defaults(&m);
	m.list_unsubscribe_url = "https://example.org/u\r\nBcc: x@y.example";
	assert_refused(&m, -EINVAL);
}
END_TEST

START_TEST(test_mime_refuses_text_that_is_not_utf8)
{
	struct mime_msg m;

	msg_defaults(&m);
	m.subject = "caf\xe9"; /* Latin-1 */
	assert_refused(&m, -EILSEQ);
	m.subject = "\xc0\xaf"; /* overlong '/' */
	assert_refused(&m, -EILSEQ);
	m.subject = "\xed\xa0\x80"; /* a surrogate */
	assert_refused(&m, -EILSEQ);

	msg_defaults(&m);
	m.to_name = "Si\xc3n";
	assert_refused(&m, -EILSEQ);

	msg_defaults(&m);
	m.text = "truncated \xe2\x82";
	assert_refused(&m, -EILSEQ);
	msg_defaults(&m);
	m.html = "\xff";
	assert_refused(&m, -EILSEQ);
}
END_TEST

START_TEST(test_mime_refuses_addresses_that_could_add_recipients)
{
	static const char *const bad[] = {
		"jane@example.net, eve@evil.example",
		"jane@example.net,eve@evil.example",
		"<jane@example.net>",
		"Jane <jane@example.net>",
		"jane@example.net>",
		"jane @example.net",
		"jane@example.net eve@evil.example",
		"jane@example.net;eve@evil.example",
		"\"jane\"@example.net",
		"jane@[127.0.0.1]",
		"jane",
		"@example.net",
		"jane@",
		"jane..doe@example.net",
		"jane@-example.net",
		"",
	};
	struct mime_msg m;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		ck_assert_msg(!addr_is_valid(bad[i]), "valid: '%s'", bad[i]);
		msg_defaults(&m);
		m.to_addr = bad[i];
		assert_refused(&m, -EINVAL);
		msg_defaults(&m);
		m.from_addr = bad[i];
		assert_refused(&m, -EINVAL);
	}
	ck_assert(!addr_is_valid(NULL));
	ck_assert(addr_is_valid("jane@example.net"));
	ck_assert(addr_is_valid("jane.doe+news@mail.example.co.uk"));
	ck_assert(addr_is_valid("o'brien@example.ie"));

	msg_defaults(&m);
	m.reply_to = "Bookings <a@example.org>, eve@evil.example";
	assert_refused(&m, -EINVAL);
}
END_TEST

START_TEST(test_mime_reply_to_may_carry_a_name)
{
	struct mime_msg m;
	struct parsed p;
	struct mailimf_field *f;
	struct mailimf_mailbox *mb;

	msg_defaults(&m);
	m.reply_to = "\"Bookings, Family Courses\" <bookings@example.org>";
	build(&m, &p);
	f = field_of(p.fields, MAILIMF_FIELD_REPLY_TO);
	ck_assert_ptr_nonnull(f);
	mb = only_mailbox(f->fld_data.fld_reply_to->rt_addr_list);
	ck_assert_str_eq(mb->mb_addr_spec, "bookings@example.org");
	assert_name(mb, "Bookings, Family Courses");
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_date_is_the_time_given_in_utc)
{
	struct mime_msg m;
	struct parsed p;
	struct mailimf_field *f;
	struct mailimf_date_time *dt;

	msg_defaults(&m);
	build(&m, &p);
	ck_assert_ptr_nonnull(
	    strstr(p.raw.data, "Date: Mon, 7 Dec 2026 09:30:00 +0000\r\n"));
	f = field_of(p.fields, MAILIMF_FIELD_ORIG_DATE);
	ck_assert_ptr_nonnull(f);
	dt = f->fld_data.fld_orig_date->dt_date_time;
	ck_assert_int_eq(dt->dt_year, 2026);
	ck_assert_int_eq(dt->dt_month, 12);
	ck_assert_int_eq(dt->dt_day, 7);
	ck_assert_int_eq(dt->dt_hour, 9);
	ck_assert_int_eq(dt->dt_min, 30);
	ck_assert_int_eq(dt->dt_sec, 0);
	ck_assert_int_eq(dt->dt_zone, 0);
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_message_ids_are_unique_and_match_the_header)
{
	struct mime_msg m;
	struct parsed a, b;
	struct mailimf_field *f;
	const char *at;

	msg_defaults(&m);
	build(&m, &a);
	build(&m, &b);
	ck_assert_str_ne(a.msgid, b.msgid);
	at = strchr(a.msgid, '@');
	ck_assert_ptr_nonnull(at);
	ck_assert_str_eq(at + 1, "example.org");
	ck_assert_uint_ge((size_t)(at - a.msgid), 20);
	ck_assert(a.msgid[0] != '<');
	f = field_of(a.fields, MAILIMF_FIELD_MESSAGE_ID);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->fld_data.fld_message_id->mid_value, a.msgid);
	f = field_of(b.fields, MAILIMF_FIELD_MESSAGE_ID);
	ck_assert_str_eq(f->fld_data.fld_message_id->mid_value, b.msgid);
	parsed_fini(&a);
	parsed_fini(&b);

	m.msgid_domain = "example.org>\r\nBcc: x";
	assert_refused(&m, -EINVAL);
	m.msgid_domain = NULL;
	assert_refused(&m, -EINVAL);
}
END_TEST

/* With a prefix (the VERP token), the Message-ID names its message:
 * "PREFIX.RANDOM@domain"; a prefix that is not letters and digits, or
 * too long, is refused. */
START_TEST(test_mime_message_id_begins_with_the_prefix)
{
	struct mime_msg m;
	struct parsed a;
	struct mailimf_field *f;
	char *want;

	msg_defaults(&m);
	m.msgid_prefix = "k3x9a1b2c3d4e5f6";
	build(&m, &a);
	ck_assert_msg(
	    strncmp(a.msgid, "k3x9a1b2c3d4e5f6.", 17) == 0, "%s", a.msgid);
	ck_assert_uint_ge(strcspn(a.msgid + 17, "@"), 20);
	want =
	    xasprintf("%.*s@example.org", (int)strcspn(a.msgid, "@"), a.msgid);
	ck_assert_str_eq(a.msgid, want);
	free(want);
	f = field_of(a.fields, MAILIMF_FIELD_MESSAGE_ID);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->fld_data.fld_message_id->mid_value, a.msgid);
	parsed_fini(&a);

	m.msgid_prefix = "abc>\r\nBcc: x";
	assert_refused(&m, -EINVAL);
	m.msgid_prefix = "a.b";
	assert_refused(&m, -EINVAL);
	m.msgid_prefix = "";
	assert_refused(&m, -EINVAL);
	m.msgid_prefix = "0123456789012345678901234567890123456789"
			 "01234567890123456789012345";
	assert_refused(&m, -EINVAL);
}
END_TEST

START_TEST(test_mime_writes_list_headers_only_when_asked)
{
	static const char unsub_url[] = "https://example.org/unsubscribe?token="
					"AAAAAAAAAAcbbfVbSeEiEcOrzRn1DTH1";
	static const char unsub_mailto[] =
	    "unsubscribe@example.org?subject=unsubscribe%20"
	    "AAAAAAAAAAcbbfVbSeEiEcOrzRn1DTH1";
	struct mime_msg m;
	struct parsed p;
	char *want, *got;

	msg_defaults(&m);
	build(&m, &p);
	ck_assert_ptr_null(optional(p.fields, "List-Id"));
	ck_assert_ptr_null(optional(p.fields, "List-Unsubscribe"));
	ck_assert_ptr_null(optional(p.fields, "List-Unsubscribe-Post"));
	ck_assert_ptr_null(optional(p.fields, "Auto-Submitted"));
	parsed_fini(&p);

	m.auto_submitted = true;
	build(&m, &p);
	ck_assert_str_eq(
	    optional(p.fields, "Auto-Submitted"), "auto-generated");
	ck_assert_str_eq(
	    optional(p.fields, "X-Auto-Response-Suppress"), "OOF, AutoReply");
	ck_assert_ptr_null(optional(p.fields, "List-Unsubscribe"));
	ck_assert_ptr_null(optional(p.fields, "Precedence"));
	ck_assert_ptr_null(optional(p.fields, "Feedback-ID"));
	parsed_fini(&p);

	/* Bulk mail: Precedence and Gmail's Feedback-ID. */
	m.bulk = true;
	m.feedback_id = "weekly-2026-W48:blog_digest:courses.example.org";
	build(&m, &p);
	ck_assert_str_eq(optional(p.fields, "Precedence"), "bulk");
	ck_assert_str_eq(optional(p.fields, "Feedback-ID"),
	    "weekly-2026-W48:blog_digest:courses.example.org");
	parsed_fini(&p);

	msg_defaults(&m);
	m.list_id = "courses.example.org";
	m.list_unsubscribe_mailto = unsub_mailto;
	m.list_unsubscribe_url = unsub_url;
	m.list_unsubscribe_post = true;
	build(&m, &p);
	ck_assert_str_eq(
	    optional(p.fields, "List-Id"), "<courses.example.org>");
	want = xasprintf("<mailto:%s>, <%s>", unsub_mailto, unsub_url);
	got = decode_header(optional(p.fields, "List-Unsubscribe"));
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	ck_assert_str_eq(optional(p.fields, "List-Unsubscribe-Post"),
	    "List-Unsubscribe=One-Click");
	ck_assert_ptr_null(optional(p.fields, "Auto-Submitted"));
	assert_lines(&p.raw, false);
	parsed_fini(&p);

	/* The URL alone, without one-click. */
	m.list_id = NULL;
	m.list_unsubscribe_mailto = NULL;
	m.list_unsubscribe_post = false;
	build(&m, &p);
	ck_assert_ptr_null(optional(p.fields, "List-Id"));
	want = xasprintf("<%s>", unsub_url);
	got = decode_header(optional(p.fields, "List-Unsubscribe"));
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	ck_assert_ptr_null(optional(p.fields, "List-Unsubscribe-Post"));
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_refuses_bad_list_headers)
{
	struct mime_msg m;

	msg_defaults(&m);
	m.list_unsubscribe_post = true; /* one-click needs a URL */
	m.list_unsubscribe_mailto = "unsubscribe@example.org";
	assert_refused(&m, -EINVAL);

	msg_defaults(&m);
	m.list_unsubscribe_url = "javascript:alert(1)";
	assert_refused(&m, -EINVAL);
	m.list_unsubscribe_url =
	    "https://example.org/a>, <https://evil.example";
	assert_refused(&m, -EINVAL);
	m.list_unsubscribe_url = "https://example.org/a b";
	assert_refused(&m, -EINVAL);

	msg_defaults(&m);
	m.list_unsubscribe_mailto = "a@example.org>, <mailto:b@evil.example";
	assert_refused(&m, -EINVAL);
	m.list_unsubscribe_mailto = "not an address";
	assert_refused(&m, -EINVAL);

	msg_defaults(&m);
	m.list_id = "<courses.example.org>";
	assert_refused(&m, -EINVAL);

	/* A Feedback-ID is up to four fields of "._-" and alphanumerics. */
	msg_defaults(&m);
	m.feedback_id = "a:b:c:d:e";
	assert_refused(&m, -EINVAL);
	m.feedback_id = "a::b";
	assert_refused(&m, -EINVAL);
	m.feedback_id = "a b:c";
	assert_refused(&m, -EINVAL);
	m.feedback_id = "";
	assert_refused(&m, -EINVAL);
}
END_TEST

START_TEST(test_mime_adds_extra_headers_but_not_over_its_own)
{
	static const char *const good[] = { "X-Familymail-Kind: blog_digest",
		"X-Note:caf\xc3\xa9", NULL };
	static const char *const bad[] = { "Bcc: eve@evil.example",
		"To: eve@evil.example", "content-type: text/html",
		"Content-Transfer-Encoding: 8bit", "Subject: again",
		"Bad Name: x", "NoColon", ": empty name", NULL };
	struct mime_msg m;
	struct parsed p;
	const char *const *h;
	const char *one[2] = { NULL, NULL };
	char *got;

	msg_defaults(&m);
	m.extra_headers = good;
	build(&m, &p);
	ck_assert_str_eq(
	    optional(p.fields, "X-Familymail-Kind"), "blog_digest");
	got = decode_header(optional(p.fields, "X-Note"));
	ck_assert_str_eq(got, "caf\xc3\xa9");
	free(got);
	parsed_fini(&p);

	for (h = bad; *h != NULL; h++) {
		one[0] = *h;
		m.extra_headers = one;
		assert_refused(&m, -EINVAL);
	}
}
END_TEST

START_TEST(test_mime_every_line_ends_with_crlf_and_fits_998_octets)
{
	struct mime_msg m;
	struct parsed p;
	struct buf text, url;
	char *body;
	int enc, i;

	buf_init(&text);
	buf_init(&url);
	for (i = 0; i < 5000; i++)
		buf_putc(&text, (char)('a' + i % 26));
	buf_puts(&text, "\n\r\n\n");
	buf_puts(&url, "https://example.org/unsubscribe?token=");
	for (i = 0; i < 600; i++)
		buf_putc(&url, 'T');
	msg_defaults(&m);
	m.text = text.data;
	m.html = text.data;
	m.list_unsubscribe_url = url.data;
	build(&m, &p);
	assert_lines(&p.raw, false);
	body = part_body(nth_part(p.body, 0), "plain", &enc);
	ck_assert_uint_eq(strlen(body), 5000 + 6);
	free(body);
	parsed_fini(&p);
	buf_fini(&text);
	buf_fini(&url);
}
END_TEST

START_TEST(test_mime_encode_header_folds_and_encodes)
{
	struct buf out, value;
	struct mailimf_fields *fields;
	const char *v;
	size_t idx = 0;
	char *got;
	int i;

	buf_init(&out);
	ck_assert_int_eq(mime_encode_header("Subject", "Hello there", &out), 0);
	ck_assert_str_eq(out.data, "Subject: Hello there\r\n");

	buf_reset(&out);
	buf_init(&value);
	for (i = 0; i < 12; i++)
		buf_printf(&value, "%s %s ", welsh, arabic);
	buf_puts(&value, "end");
	ck_assert_int_eq(
	    mime_encode_header("X-Long-Header-Name", value.data, &out), 0);
	buf_puts(&out, "\r\n");
	assert_lines(&out, true);
	assert_encoded_words_short(out.data);
	ck_assert_int_eq(mailimf_fields_parse(out.data, out.len, &idx, &fields),
	    MAILIMF_NO_ERROR);
	v = optional(fields, "X-Long-Header-Name");
	ck_assert_ptr_nonnull(v);
	got = decode_header(v);
	ck_assert_str_eq(got, value.data);
	free(got);
	mailimf_fields_free(fields);

	buf_reset(&out);
	ck_assert_int_eq(mime_encode_header("Bad Name", "x", &out), -EINVAL);
	ck_assert_int_eq(mime_encode_header("X-A", "a\rb", &out), -EINVAL);
	ck_assert_int_eq(mime_encode_header("X-A", "\xff", &out), -EILSEQ);
	ck_assert_uint_eq(out.len, 0);
	buf_fini(&out);
	buf_fini(&value);
}
END_TEST

START_TEST(test_mime_refuses_oversized_values)
{
	struct mime_msg m;
	char *big = xmalloc(MIME_HEADER_MAX + 2);

	memset(big, 'a', MIME_HEADER_MAX + 1);
	big[MIME_HEADER_MAX + 1] = '\0';
	msg_defaults(&m);
	m.subject = big;
	assert_refused(&m, -EMSGSIZE);
	free(big);
}
END_TEST

/* The decoded body of any single part; caller frees. */
static char *
part_decoded(struct mailmime *part)
{
	struct mailmime_data *d;
	size_t idx = 0, len;
	char *res, *copy;

	ck_assert_int_eq(part->mm_type, MAILMIME_SINGLE);
	d = part->mm_data.mm_single;
	ck_assert_int_eq(
	    mailmime_part_parse(d->dt_data.dt_text.dt_data,
		d->dt_data.dt_text.dt_length, &idx, d->dt_encoding, &res, &len),
	    MAILIMF_NO_ERROR);
	copy = xstrndup(res, len);
	mailmime_decoded_part_free(res);
	return copy;
}

static const char ics[] = "BEGIN:VCALENDAR\r\n"
			  "METHOD:REQUEST\r\n"
			  "BEGIN:VEVENT\r\n"
			  "UID:booking-1@example.org\r\n"
			  "SUMMARY:Hyfforddiant Si\xc3\xa2n\r\n"
			  "END:VEVENT\r\n"
			  "END:VCALENDAR\r\n";

START_TEST(test_mime_with_a_calendar_sends_it_as_alternative_and_attachment)
{
	struct mailmime_content *ct;
	struct mailmime *alt, *cal, *att;
	struct mailmime_disposition *dsp;
	struct mime_msg m;
	struct parsed p;
	char *body;
	int enc;

	msg_defaults(&m);
	m.html = "<p>Hello Jane,</p>\r\n";
	m.calendar = ics;
	m.calendar_method = "REQUEST";
	m.calendar_filename = "course-2026-12-07.ics";
	build(&m, &p);
	/* multipart/mixed: the alternatives, then the attachment. */
	ct = p.body->mm_content_type;
	ck_assert_int_eq(p.body->mm_type, MAILMIME_MULTIPLE);
	ck_assert_str_eq(ct->ct_subtype, "mixed");
	ck_assert_int_eq(
	    clist_count(p.body->mm_data.mm_multipart.mm_mp_list), 2);
	alt = nth_part(p.body, 0);
	ck_assert_int_eq(alt->mm_type, MAILMIME_MULTIPLE);
	ck_assert_str_eq(alt->mm_content_type->ct_subtype, "alternative");
	ck_assert_int_eq(clist_count(alt->mm_data.mm_multipart.mm_mp_list), 3);
	body = part_body(nth_part(alt, 0), "plain", &enc);
	ck_assert_str_eq(body, m.text);
	free(body);
	body = part_body(nth_part(alt, 1), "html", &enc);
	ck_assert_str_eq(body, m.html);
	free(body);
	/* The invitation: text/calendar with the method, base64. */
	cal = nth_part(alt, 2);
	body = part_body(cal, "calendar", &enc);
	ck_assert_int_eq(enc, MAILMIME_MECHANISM_BASE64);
	ck_assert_str_eq(body, ics);
	free(body);
	ck_assert_str_eq(
	    mailmime_content_param_get(cal->mm_content_type, "method"),
	    "REQUEST");
	{
		struct mailmime_single_fields *sf = mailmime_single_fields_new(
		    cal->mm_mime_fields, cal->mm_content_type);

		ck_assert_ptr_nonnull(sf);
		ck_assert_ptr_null(sf->fld_disposition);
		mailmime_single_fields_free(sf);
	}
	/* The attachment: the same object, with a file name. */
	att = nth_part(p.body, 1);
	ct = att->mm_content_type;
	ck_assert_int_eq(ct->ct_type->tp_data.tp_discrete_type->dt_type,
	    MAILMIME_DISCRETE_TYPE_APPLICATION);
	ck_assert_str_eq(ct->ct_subtype, "ics");
	ck_assert_str_eq(
	    mailmime_content_param_get(ct, "name"), "course-2026-12-07.ics");
	{
		struct mailmime_single_fields *sf = mailmime_single_fields_new(
		    att->mm_mime_fields, att->mm_content_type);

		ck_assert_ptr_nonnull(sf);
		dsp = sf->fld_disposition;
		ck_assert_ptr_nonnull(dsp);
		ck_assert_int_eq(dsp->dsp_type->dsp_type,
		    MAILMIME_DISPOSITION_TYPE_ATTACHMENT);
		ck_assert_str_eq(
		    sf->fld_disposition_filename, "course-2026-12-07.ics");
		mailmime_single_fields_free(sf);
	}
	body = part_decoded(att);
	ck_assert_str_eq(body, ics);
	free(body);
	assert_lines(&p.raw, true);
	parsed_fini(&p);
}
END_TEST

START_TEST(test_mime_refuses_a_bad_calendar_method_or_file_name)
{
	static const char *const methods[] = { "", "REQUEST;x=y", "REQ UEST",
		"REQUEST\r\nBcc: x@example.net" };
	static const char *const names[] = {
		"", ".ics", "course.txt", "a b.ics", "a\".ics", "../x.ics/",
		"course;x=y.ics", "caf\xc3\xa9.ics",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.ics"
	};
	struct mime_msg m;

	msg_defaults(&m);
	m.calendar = ics;
	m.calendar_filename = "course.ics";
	for (size_t i = 0; i < UTIL_ARRAY_LEN(methods); i++) {
		m.calendar_method = methods[i];
		assert_refused(&m, -EINVAL);
	}
	m.calendar_method = "CANCEL";
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		m.calendar_filename = names[i];
		assert_refused(&m, -EINVAL);
	}
	m.calendar_filename = "course.ics";
	m.calendar = "BEGIN:VCALENDAR\r\nSUMMARY:\xff\r\n";
	assert_refused(&m, -EILSEQ);
}
END_TEST

static Suite *
mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tb = tcase_create("build");
	TCase *th = tcase_create("headers");
	TCase *ts = tcase_create("safety");

	tcase_add_test(
	    tb, test_mime_plain_message_has_the_headers_a_reader_expects);
	tcase_add_test(tb, test_mime_without_html_sends_one_text_plain_part);
	tcase_add_test(
	    tb, test_mime_with_html_sends_text_then_html_as_alternatives);
	tcase_add_test(tb, test_mime_bodies_decode_back_byte_identical);
	tcase_add_test(tb, test_mime_uses_base64_for_mostly_non_ascii_text);
	tcase_add_test(tb,
	    test_mime_messages_of_changing_shapes_in_turn_each_come_out_right);
	tcase_add_test(tb, test_mime_sends_lone_line_feeds_as_crlf);
	tcase_add_test(tb, test_mime_date_is_the_time_given_in_utc);
	tcase_add_test(
	    tb, test_mime_message_ids_are_unique_and_match_the_header);
	tcase_add_test(tb, test_mime_message_id_begins_with_the_prefix);
	tcase_add_test(
	    tb, test_mime_every_line_ends_with_crlf_and_fits_998_octets);
	tcase_add_test(tb,
	    test_mime_with_a_calendar_sends_it_as_alternative_and_attachment);
	suite_add_tcase(s, tb);

	tcase_add_test(th, test_mime_encodes_a_welsh_name_and_decodes_it_back);
	tcase_add_test(
	    th, test_mime_encodes_an_arabic_name_and_decodes_it_back);
	tcase_add_test(th, test_mime_quotes_a_display_name_that_needs_it);
	tcase_add_test(th, test_mime_folds_a_200_character_subject);
	tcase_add_test(
	    th, test_mime_keeps_odd_spacing_and_lookalike_words_in_subjects);
	tcase_add_test(th, test_mime_reply_to_may_carry_a_name);
	tcase_add_test(th, test_mime_writes_list_headers_only_when_asked);
	tcase_add_test(th, test_mime_adds_extra_headers_but_not_over_its_own);
	tcase_add_test(th, test_mime_encode_header_folds_and_encodes);
	suite_add_tcase(s, th);

	tcase_add_test(ts, test_mime_refuses_header_values_with_line_breaks);
	tcase_add_test(ts, test_mime_refuses_text_that_is_not_utf8);
	tcase_add_test(
	    ts, test_mime_refuses_addresses_that_could_add_recipients);
	tcase_add_test(ts, test_mime_refuses_bad_list_headers);
	tcase_add_test(ts, test_mime_refuses_oversized_values);
	tcase_add_test(
	    ts, test_mime_refuses_a_bad_calendar_method_or_file_name);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	return tu_run(mime_suite());
}
