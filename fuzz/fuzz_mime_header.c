/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_mime_header: header encoding, where header injection would
 * happen. The input is split at NUL bytes into a header name and value
 * for mime_encode_header(), and the from name, to name, to address,
 * subject, Reply-To and body of a mime_build() message. Whatever the
 * values, the header block written must be lines of "Name: value" or
 * folded continuations, ended by CRLF, with only the headers mime.c
 * writes and exactly one From, To and Subject; a CR or LF that escapes
 * into it aborts. The whole message has CRLF line ends and no line over
 * 998 bytes (RFC 5322), and libetpan parses it back to the same body.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "addr.h"
#include "buf.h"
#include "send/mime.h"
#include "util.h"

#define FUZZ_MIME_FIELDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_mime_allowed[] = { "Date", "Message-ID", "From",
	"Reply-To", "To", "Subject", "Auto-Submitted", "List-Id",
	"List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Content-Language",
	"X-Auto-Response-Suppress", "Precedence", "Feedback-ID",
	"Content-Disposition", NULL };

/* Checks that s[0..len) is a header block: every line ends with CRLF
 * and is either "Name:..." or a continuation starting with a space or a
 * tab after a header line. With counts set, also checks the names
 * against fuzz_mime_allowed and counts them. Aborts otherwise. */
static void
fuzz_mime_check_block(const char *s, size_t len, unsigned *counts)
{
	size_t i = 0, n;
	bool had_header = false;

	while (i < len) {
		const char *line = s + i, *crlf;

		crlf = NULL;
		for (size_t j = i; j + 1 < len; j++) {
			if (s[j] == '\r' && s[j + 1] == '\n') {
				crlf = s + j;
				break;
			}
			if (s[j] == '\r' || s[j] == '\n')
				abort(); /* a bare CR or LF */
		}
		if (crlf == NULL)
			abort(); /* the last line is not ended */
		n = (size_t)(crlf - line);
		for (size_t j = 0; j < n; j++)
			if (line[j] == '\0')
				abort();
		if (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
			if (!had_header)
				abort();
		} else {
			size_t name_len = strspn(line,
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789-");

			if (name_len == 0 || name_len >= n ||
			    line[name_len] != ':')
				abort();
			had_header = true;
			if (counts != NULL) {
				size_t k;

				for (k = 0; fuzz_mime_allowed[k] != NULL; k++)
					if (strlen(fuzz_mime_allowed[k]) ==
						name_len &&
					    strncasecmp(fuzz_mime_allowed[k],
						line, name_len) == 0)
						break;
				if (fuzz_mime_allowed[k] == NULL)
					abort(); /* a header we never write */
				counts[k]++;
			}
		}
		i = (size_t)(crlf - s) + 2;
	}
}

/* Every line of the message ends with CRLF and is at most 998 bytes. */
static void
fuzz_mime_check_lines(const char *s, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			abort();
		if (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))
			abort();
		if (s[i] == '\n') {
			if (i - 1 - start > 998)
				abort();
			start = i + 1;
		}
	}
	if (start != len)
		abort();
}

/* The body as it must decode: each lone CR or LF made CRLF. */
static void
fuzz_mime_canonical(const char *text, struct buf *out)
{
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n') {
			buf_puts(out, "\r\n");
			p++;
		} else if (*p == '\r' || *p == '\n') {
			buf_puts(out, "\r\n");
		} else {
			buf_putc(out, *p);
		}
	}
}

/* The first text/plain leaf of mime, decoded, equals want. */
static void
fuzz_mime_check_body(const char *raw, size_t len, const char *text)
{
	struct mailmime *root = NULL, *part;
	struct mailmime_data *d;
	struct buf want;
	char *got = NULL;
	size_t idx = 0, got_len = 0;

	if (mailmime_parse(raw, len, &idx, &root) != MAILIMF_NO_ERROR)
		abort();
	if (root->mm_type != MAILMIME_MESSAGE)
		abort();
	part = root->mm_data.mm_message.mm_msg_mime;
	if (part != NULL && part->mm_type == MAILMIME_MULTIPLE)
		part = clist_content(
		    clist_begin(part->mm_data.mm_multipart.mm_mp_list));
	if (part == NULL || part->mm_type != MAILMIME_SINGLE)
		abort();
	d = part->mm_data.mm_single;
	idx = 0;
	if (mailmime_part_parse(d->dt_data.dt_text.dt_data,
		d->dt_data.dt_text.dt_length, &idx, d->dt_encoding, &got,
		&got_len) != MAILIMF_NO_ERROR)
		abort();
	buf_init(&want);
	fuzz_mime_canonical(text, &want);
	if (got_len != want.len ||
	    (want.len > 0 && memcmp(got, want.data, want.len) != 0))
		abort();
	buf_fini(&want);
	mmap_string_unref(got);
	mailmime_free(root);
}

static void
fuzz_mime_encode(const char *name, const char *value)
{
	struct buf out;

	buf_init(&out);
	buf_puts(&out, "X: kept\r\n");
	if (mime_encode_header(name, value, &out) == 0) {
		size_t nlen = strlen(name);

		if (strncmp(out.data + 9, name, nlen) != 0 ||
		    out.data[9 + nlen] != ':')
			abort();
		fuzz_mime_check_block(out.data, out.len, NULL);
		fuzz_mime_check_lines(out.data, out.len);
		/* Exactly one header was added: nothing but continuations
		 * after its first line. */
		for (size_t i = 9; i + 2 < out.len; i++)
			if (out.data[i] == '\n' && out.data[i + 1] != ' ' &&
			    out.data[i + 1] != '\t')
				abort();
	} else if (strcmp(out.data, "X: kept\r\n") != 0) {
		abort(); /* out must be unchanged on error */
	}
	buf_fini(&out);
}

static void
fuzz_mime_build(const char *const *f)
{
	struct mime_msg m = {
		.from_name = f[2],
		.from_addr = "courses@example.org",
		.reply_to = f[6][0] != '\0' ? f[6] : NULL,
		.to_name = f[3],
		.to_addr = f[4][0] != '\0' ? f[4] : "parent@example.org",
		.subject = f[5],
		.text = f[7],
		.html = f[7][0] != '\0' ? f[7] : NULL,
		.date = 1796632200,
		.msgid_domain = "example.org",
		.auto_submitted = true,
		.list_id = "courses.example.org",
		.list_unsubscribe_mailto = "unsubscribe@example.org",
		.list_unsubscribe_url = "https://example.org/u?t=abc",
		.list_unsubscribe_post = true,
	};
	unsigned counts[UTIL_ARRAY_LEN(fuzz_mime_allowed)] = { 0 };
	const char *end;
	char *msgid = NULL;
	struct buf out;

	buf_init(&out);
	if (mime_build(&m, &out, &msgid) == 0) {
		end = memmem(out.data, out.len, "\r\n\r\n", 4);
		if (end == NULL || msgid == NULL)
			abort();
		fuzz_mime_check_block(
		    out.data, (size_t)(end - out.data) + 2, counts);
		for (size_t k = 0; fuzz_mime_allowed[k] != NULL; k++)
			if (counts[k] > 1)
				abort();
		/* From, To, Subject: indexes 2, 4, 5 above. */
		if (counts[2] != 1 || counts[4] != 1 || counts[5] != 1)
			abort();
		if (!addr_is_valid(m.to_addr))
			abort();
		fuzz_mime_check_lines(out.data, out.len);
		fuzz_mime_check_body(out.data, out.len, m.text);
		free(msgid);
	} else if (msgid != NULL || out.len != 0) {
		abort();
	}
	buf_fini(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[FUZZ_MIME_FIELDS];
	char *copy = xmalloc(size + 1);
	size_t i, n = 0;

	memcpy(copy, data, size);
	copy[size] = '\0';
	f[n++] = copy;
	for (i = 0; i < size && n < FUZZ_MIME_FIELDS; i++)
		if (copy[i] == '\0')
			f[n++] = copy + i + 1;
	while (n < FUZZ_MIME_FIELDS)
		f[n++] = "";
	fuzz_mime_encode(f[0], f[1]);
	fuzz_mime_build(f);
	free(copy);
	return 0;
}
