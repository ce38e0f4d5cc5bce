/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mime: the outgoing message (see mime.h).
 *
 * The headers that carry people's text (From, To, Reply-To, Subject,
 * extra headers) are encoded and folded here, word by word: libetpan's
 * writer would fold them itself, but it collapses runs of spaces, puts
 * encoded-words of a several-word name inside a quoted string (where
 * readers must not decode them) and never folds a quoted name, so a
 * long one runs past 78 characters. Date and Message-ID are written by libetpan's IMF writer,
 * and the MIME tree (MIME-Version, Content-*, boundaries, base64) by its
 * MIME writer. The bodies are encoded here, quoted-printable or base64,
 * and put in the place libetpan's writer leaves for them (a marker it
 * writes as it is): libetpan 1.9.4 doubles the last space or tab before
 * a line break when it encodes quoted-printable itself, and its writer
 * goes byte by byte, which cost a tenth of composing a message.
 */
#include "config.h"

#include "send/mime.h"

#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "addr.h"
#include "buf.h"
#include "util.h"

/* Header lines are folded to at most this many characters before the
 * CRLF (RFC 5322 asks for fewer than 78). */
#define MIME_LINE_MAX 76
/* An encoded-word is at most 75 characters (RFC 2047, 2). */
#define MIME_EW_MAX 75
/* "=?UTF-8?Q?" and "?=" */
#define MIME_EW_OVERHEAD 12
/* The smallest encoded-word worth starting on a line: one 4-byte
 * character in Q encoding; with less room left, fold first. */
#define MIME_EW_MIN (MIME_EW_OVERHEAD + 12)
/* A word written as is (not encoded) fits on a folded line. */
#define MIME_WORD_MAX (MIME_LINE_MAX - 1)
/* Longest URL or mailto value in List-Unsubscribe: its line stays well
 * under the 998-octet limit (URLs are not folded). */
#define MIME_URL_MAX  900
#define MIME_NAME_MAX 64
/* Random characters (5 bits each) of a Message-ID and a boundary. */
#define MIME_RANDOM_LEN 26
/* Longest Message-ID prefix (a VERP token: verp.h's VERP_TOKEN_MAX). */
#define MIME_MSGID_PREFIX_MAX    64
#define MIME_BOUNDARY_RANDOM_LEN 20
/* Longest attachment file name. */
#define MIME_FILENAME_MAX 64

static const char mime_base32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Headers that mime_build() writes or that must come from it only. */
static const char *const mime_reserved_headers[] = {
	"auto-submitted",
	"bcc",
	"cc",
	"date",
	"feedback-id",
	"from",
	"list-id",
	"list-unsubscribe",
	"list-unsubscribe-post",
	"message-id",
	"mime-version",
	"precedence",
	"reply-to",
	"return-path",
	"sender",
	"subject",
	"to",
	"x-auto-response-suppress",
};

/* ------------------------------------------------------------ checks */

/* Length of the UTF-8 sequence at s (n bytes left), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t
mime_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static bool
mime_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;
	uint64_t w;

	while (i < n) {
		/* ASCII, the most of any text, eight bytes at a time. */
		if (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & UINT64_C(0x8080808080808080)) == 0) {
				i += 8;
				continue;
			}
		}
		k = mime_utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* A header value: bounded, no CR, LF or other control but TAB, UTF-8. */
static int
mime_value_check(const char *s)
{
	size_t n, i;

	if (s == NULL)
		return -EINVAL;
	n = strnlen(s, MIME_HEADER_MAX + 1);
	if (n > MIME_HEADER_MAX)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
	}
	return mime_utf8_valid(s, n) ? 0 : -EILSEQ;
}

static bool
mime_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static bool
mime_header_name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > MIME_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!mime_is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* URL characters that need no quoting inside <...> in a header. */
static bool
mime_url_chars_valid(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr("<>\"\\`", c) != NULL)
			return false;
	}
	return true;
}

/* A Feedback-ID: one to four fields of letters, digits and "._-",
 * joined by ':', none empty, at most 255 characters. */
static bool
mime_feedback_id_valid(const char *s)
{
	size_t n = strnlen(s, 256), fields = 1;

	if (n == 0 || n > 255 || s[0] == ':' || s[n - 1] == ':')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ':') {
			if (s[i + 1] == ':' || ++fields > 4)
				return false;
		} else if (!mime_is_alnum(s[i]) &&
		    strchr("._-", s[i]) == NULL) {
			return false;
		}
	}
	return true;
}

/* ---------------------------------------------------- header writing */

/* One header being written: out and the column of its current line. */
struct mime_line {
	struct buf *out;
	size_t col;
};

static void
mime_line_begin(struct mime_line *l, struct buf *out, const char *name)
{
	l->out = out;
	buf_puts(out, name);
	buf_putc(out, ':');
	l->col = strlen(name) + 1;
}

/* Writes a space and the word, or folds (CRLF and a space) if the word
 * would not fit on this line: unfolding gives the space back. */
static void
mime_line_word(struct mime_line *l, const char *w, size_t n)
{
	if (l->col + 1 + n > MIME_LINE_MAX) {
		buf_puts(l->out, "\r\n ");
		l->col = 1;
	} else {
		buf_putc(l->out, ' ');
		l->col++;
	}
	buf_append(l->out, w, n);
	l->col += n;
}

static void
mime_line_end(struct mime_line *l)
{
	buf_puts(l->out, "\r\n");
}

/* Q encoding as allowed in a phrase (RFC 2047, 5 (3)), which is also
 * valid in unstructured text. */
static bool
mime_q_literal(unsigned char c)
{
	return mime_is_alnum((char)c) || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

static size_t
mime_q_cost(unsigned char c)
{
	return mime_q_literal(c) || c == ' ' ? 1 : 3;
}

/* Base64 when Q would be over a quarter longer (mostly non-ASCII). */
static bool
mime_ew_prefer_b(const char *s, size_t n)
{
	size_t q = 0, b = (n + 2) / 3 * 4, i;

	for (i = 0; i < n; i++)
		q += mime_q_cost((unsigned char)s[i]);
	return q * 4 > b * 5;
}

static void
mime_b64_append(struct buf *out, const unsigned char *s, size_t n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned long)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		buf_putc(out, alphabet[(v >> 18) & 63]);
		buf_putc(out, alphabet[(v >> 12) & 63]);
		/* (char): ?: promotes its char operands to int. */
		buf_putc(
		    out, (char)(i + 1 < n ? alphabet[(v >> 6) & 63] : '='));
		buf_putc(out, (char)(i + 2 < n ? alphabet[v & 63] : '='));
	}
}

/*
 * Writes s (valid UTF-8) as encoded-words, each sized to the room left
 * on the line and never splitting a character. Whitespace between
 * encoded-words is not part of the text (RFC 2047, 6.2), so the folds
 * add nothing when decoded.
 */
static void
mime_line_encoded(struct mime_line *l, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	bool b = mime_ew_prefer_b(s, n);
	struct buf word;
	size_t i = 0;

	buf_init(&word);
	while (i < n) {
		size_t room, cap, j = i, cost = 0;

		if (l->col + 1 + MIME_EW_MIN > MIME_LINE_MAX)
			room = MIME_LINE_MAX - 1;
		else
			room = MIME_LINE_MAX - l->col - 1;
		if (room > MIME_EW_MAX)
			room = MIME_EW_MAX;
		cap = room - MIME_EW_OVERHEAD;
		while (j < n) {
			size_t k = mime_utf8_seq(u + j, n - j), c = 0, t;

			if (k == 0) /* not reached: values are checked */
				k = 1;

			if (b) {
				c = (j + k - i + 2) / 3 * 4;
			} else {
				for (t = 0; t < k; t++)
					c += mime_q_cost(u[j + t]);
				c += cost;
			}
			if (c > cap)
				break;
			cost = c;
			j += k;
		}
		buf_reset(&word);
		buf_puts(&word, b ? "=?UTF-8?B?" : "=?UTF-8?Q?");
		if (b) {
			mime_b64_append(&word, u + i, j - i);
		} else {
			for (; i < j; i++) {
				if (u[i] == ' ')
					buf_putc(&word, '_');
				else if (mime_q_literal(u[i]))
					buf_putc(&word, (char)u[i]);
				else
					buf_printf(&word, "=%02X", u[i]);
			}
		}
		buf_puts(&word, "?=");
		mime_line_word(l, word.data, word.len);
		i = j;
	}
	buf_fini(&word);
}

/* True if the words of s are separated by single spaces, with none at
 * either end: then a fold or an encoded-word boundary can stand where
 * each space is without changing the text. */
static bool
mime_simple_spacing(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (i = 1; i < n; i++)
		if (s[i] == ' ' && s[i - 1] == ' ')
			return false;
	return true;
}

/*
 * True if the word w can be written as it is: printable ASCII, short
 * enough for a line, not something a reader would take for an
 * encoded-word, and with atoms, an atom (a display name word that
 * needs no quotes).
 */
static bool
mime_word_plain(const char *w, size_t n, bool atoms)
{
	size_t i;

	if (n == 0 || n > MIME_WORD_MAX - 2)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c < 0x21 || c > 0x7e || (atoms && !addr_is_atext(c)))
			return false;
		if (c == '?' && i > 0 && w[i - 1] == '=')
			return false;
	}
	return true;
}

static size_t
mime_word_end(const char *s, size_t n, size_t i)
{
	const char *sp = memchr(s + i, ' ', n - i);

	return sp != NULL ? (size_t)(sp - s) : n;
}

/*
 * Writes s word by word: plain words as they are, each run of other
 * words as encoded-words that hold the spaces inside the run. Between a
 * plain word and an encoded-word the space is part of the text, and it
 * stays. With odd spacing the whole of s is encoded.
 */
static void
mime_line_mixed(struct mime_line *l, const char *s, size_t n, bool atoms)
{
	size_t i = 0;

	if (!mime_simple_spacing(s, n)) {
		mime_line_encoded(l, s, n);
		return;
	}
	while (i < n) {
		size_t end = mime_word_end(s, n, i), run_end;

		if (mime_word_plain(s + i, end - i, atoms)) {
			mime_line_word(l, s + i, end - i);
			i = end + 1;
			continue;
		}
		run_end = end;
		while (run_end < n) {
			size_t next = run_end + 1;
			size_t next_end = mime_word_end(s, n, next);

			if (mime_word_plain(s + next, next_end - next, atoms))
				break;
			run_end = next_end;
		}
		mime_line_encoded(l, s + i, run_end - i);
		i = run_end + 1;
	}
}

/* An ASCII display name with specials, as one quoted string whose
 * spaces may fold (mime_simple_spacing() holds). */
static void
mime_line_quoted(struct mime_line *l, const char *s, size_t n)
{
	struct buf word;
	size_t i = 0;

	buf_init(&word);
	while (i < n) {
		size_t end = mime_word_end(s, n, i), k;

		buf_reset(&word);
		if (i == 0)
			buf_putc(&word, '"');
		for (k = i; k < end; k++) {
			if (s[k] == '"' || s[k] == '\\')
				buf_putc(&word, '\\');
			buf_putc(&word, s[k]);
		}
		if (end == n)
			buf_putc(&word, '"');
		mime_line_word(l, word.data, word.len);
		i = end + 1;
	}
	buf_fini(&word);
}

/* Unstructured text (a subject). */
static void
mime_line_text(struct mime_line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > 0)
		mime_line_mixed(l, s, n, false);
}

/* A display name: atoms as they are; other printable ASCII in quotes;
 * else atoms as they are and the rest encoded (encoded-words are never
 * put inside quotes, where readers must not decode them). */
static void
mime_line_phrase(struct mime_line *l, const char *s, size_t n)
{
	bool ascii = mime_simple_spacing(s, n), atoms = ascii;
	size_t i, end;

	for (i = 0; ascii && i < n; i = end + 1) {
		end = mime_word_end(s, n, i);
		ascii = mime_word_plain(s + i, end - i, false);
		atoms = atoms && mime_word_plain(s + i, end - i, true);
	}
	if (ascii && !atoms)
		mime_line_quoted(l, s, n);
	else
		mime_line_mixed(l, s, n, true);
}

/* "Name: display name <addr>", or the bare address without a name. */
static int
mime_put_mailbox(struct buf *out, const char *header, const char *name,
    size_t name_len, const char *addr, size_t addr_len)
{
	struct mime_line l;
	struct buf word;

	if (!addr_is_valid_n(addr, addr_len))
		return -EINVAL;
	mime_line_begin(&l, out, header);
	if (name_len == 0) {
		mime_line_word(&l, addr, addr_len);
	} else {
		mime_line_phrase(&l, name, name_len);
		buf_init(&word);
		buf_putc(&word, '<');
		buf_append(&word, addr, addr_len);
		buf_putc(&word, '>');
		mime_line_word(&l, word.data, word.len);
		buf_fini(&word);
	}
	mime_line_end(&l);
	return 0;
}

static int
mime_put_address(
    struct buf *out, const char *header, const char *name, const char *addr)
{
	int ret;

	if (name != NULL) {
		ret = mime_value_check(name);
		if (ret != 0)
			return ret;
	}
	if (addr == NULL)
		return -EINVAL;
	ret = mime_value_check(addr);
	if (ret != 0)
		return ret;
	return mime_put_mailbox(out, header, name != NULL ? name : "",
	    name != NULL ? strlen(name) : 0, addr, strlen(addr));
}

/* reply_to is "addr" or "Name <addr>", the name maybe in quotes. */
static int
mime_put_reply_to(struct buf *out, const char *value)
{
	const char *lt, *name;
	size_t n, name_len, k;
	struct buf unq;
	int ret;

	ret = mime_value_check(value);
	if (ret != 0)
		return ret;
	n = strlen(value);
	lt = strchr(value, '<');
	if (lt == NULL)
		return mime_put_mailbox(out, "Reply-To", "", 0, value, n);
	if (n < 2 || value[n - 1] != '>' || lt != strrchr(value, '<'))
		return -EINVAL;
	name = value;
	name_len = (size_t)(lt - value);
	while (name_len > 0 && (*name == ' ' || *name == '\t')) {
		name++;
		name_len--;
	}
	while (name_len > 0 &&
	    (name[name_len - 1] == ' ' || name[name_len - 1] == '\t'))
		name_len--;
	buf_init(&unq);
	if (name_len >= 2 && name[0] == '"' && name[name_len - 1] == '"') {
		for (k = 1; k + 1 < name_len; k++) {
			if (name[k] == '\\' && k + 2 < name_len)
				k++;
			buf_putc(&unq, name[k]);
		}
		name = unq.data != NULL ? unq.data : "";
		name_len = unq.len;
	}
	ret = mime_put_mailbox(out, "Reply-To", name, name_len, lt + 1,
	    (size_t)(value + n - 1 - (lt + 1)));
	buf_fini(&unq);
	return ret;
}

int
mime_encode_header(const char *name, const char *value, struct buf *out)
{
	struct mime_line l;
	int ret;

	if (name == NULL || !mime_header_name_valid(name, strlen(name)))
		return -EINVAL;
	ret = mime_value_check(value);
	if (ret != 0)
		return ret;
	mime_line_begin(&l, out, name);
	mime_line_text(&l, value);
	mime_line_end(&l);
	return 0;
}

static bool
mime_header_reserved(const char *name, size_t n)
{
	size_t i;

	if (n >= 8 && strncasecmp(name, "content-", 8) == 0)
		return true;
	for (i = 0; i < UTIL_ARRAY_LEN(mime_reserved_headers); i++)
		if (strlen(mime_reserved_headers[i]) == n &&
		    strncasecmp(name, mime_reserved_headers[i], n) == 0)
			return true;
	return false;
}

/* One "Name: value" of extra_headers. */
static int
mime_put_extra(struct buf *out, const char *line)
{
	const char *colon = strchr(line, ':'), *value;
	char *name;
	int ret;

	if (colon == NULL ||
	    !mime_header_name_valid(line, (size_t)(colon - line)) ||
	    mime_header_reserved(line, (size_t)(colon - line)))
		return -EINVAL;
	value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	name = xstrndup(line, (size_t)(colon - line));
	ret = mime_encode_header(name, value, out);
	free(name);
	return ret;
}

static int
mime_put_list_headers(struct buf *out, const struct mime_msg *m)
{
	const char *mailto = m->list_unsubscribe_mailto;
	const char *url = m->list_unsubscribe_url;
	struct mime_line l;
	struct buf word;
	size_t n;

	if (m->list_id != NULL) {
		n = strnlen(m->list_id, 256);
		if (n > 255 || !addr_is_dot_atom(m->list_id, n))
			return -EINVAL;
		buf_printf(out, "List-Id: <%s>\r\n", m->list_id);
	}
	if (mailto != NULL) {
		const char *q;

		n = strnlen(mailto, MIME_URL_MAX + 1);
		q = memchr(mailto, '?', n);
		if (n > MIME_URL_MAX || !mime_url_chars_valid(mailto, n) ||
		    memchr(mailto, ',', n) != NULL ||
		    !addr_is_valid_n(
			mailto, q != NULL ? (size_t)(q - mailto) : n))
			return -EINVAL;
	}
	if (url != NULL) {
		n = strnlen(url, MIME_URL_MAX + 1);
		if (n > MIME_URL_MAX || !mime_url_chars_valid(url, n) ||
		    (!util_strcaseprefix(url, "https://") &&
			!util_strcaseprefix(url, "http://")) ||
		    strchr(url, ',') != NULL)
			return -EINVAL;
	}
	/* RFC 8058: one-click needs the URL to post to. */
	if (m->list_unsubscribe_post && url == NULL)
		return -EINVAL;
	if (mailto == NULL && url == NULL)
		return 0;
	buf_init(&word);
	mime_line_begin(&l, out, "List-Unsubscribe");
	if (mailto != NULL) {
		buf_printf(
		    &word, "<mailto:%s>%s", mailto, url != NULL ? "," : "");
		mime_line_word(&l, word.data, word.len);
	}
	if (url != NULL) {
		buf_reset(&word);
		buf_printf(&word, "<%s>", url);
		mime_line_word(&l, word.data, word.len);
	}
	mime_line_end(&l);
	buf_fini(&word);
	if (m->list_unsubscribe_post)
		buf_puts(out,
		    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
	return 0;
}

/* ------------------------------------------------------------ bodies */

static int
mime_body_check(const char *s)
{
	size_t n;

	if (s == NULL)
		return -EINVAL;
	n = strnlen(s, MIME_BODY_MAX + 1);
	if (n > MIME_BODY_MAX)
		return -EMSGSIZE;
	return mime_utf8_valid(s, n) ? 0 : -EILSEQ;
}

/* Text with every line end made CRLF, the canonical form of text/\*. */
static void
mime_canonical(const char *s, struct buf *out)
{
	size_t n = strlen(s), i, run;
	char *o;

	/* At most every byte becomes CRLF; copy runs between line ends. */
	buf_reserve(out, 2 * n);
	o = out->data + out->len;
	for (i = 0; i < n;) {
		run = strcspn(s + i, "\r\n");
		memcpy(o, s + i, run);
		o += run;
		i += run;
		if (i == n)
			break;
		*o++ = '\r';
		*o++ = '\n';
		i += s[i] == '\r' && s[i + 1] == '\n' ? 2 : 1;
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

static bool
mime_qp_literal(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != '=') || c == ' ' || c == '\t';
}

/* Bytes quoted-printable writes as they are anywhere but at the start
 * of a line: printable ASCII but '=', and space and tab unless at a
 * line end (mime_qp_run() leaves such a one to the careful path). */
static bool mime_qp_plain[256];

static void
mime_qp_init(void)
{
	for (unsigned c = 0; c < 256; c++)
		mime_qp_plain[c] =
		    (c >= 0x20 && c <= 0x7e && c != '=') || c == '\t';
}

#define MIME_ONES  0x0101010101010101ULL
#define MIME_HIGHS 0x8080808080808080ULL

/* Whether the 8 bytes at s are all printable ASCII or space, none '=':
 * no byte below 0x20, none above 0x7e, none equal to '='. */
static bool
mime_qp_plain8(const char *s)
{
	uint64_t x, eq;

	memcpy(&x, s, sizeof(x));
	eq = x ^ (MIME_ONES * '=');
	return ((((x - MIME_ONES * 0x20) & ~x) |            /* below 0x20 */
		    ((x + MIME_ONES * (0x7f - 0x7e)) | x) | /* above 0x7e */
		    ((eq - MIME_ONES) & ~eq)) &             /* '=' */
		   MIME_HIGHS) == 0;
}

/* The end of the run of plain bytes from i, at most to lim: eight at a
 * time while it can, then one by one. A space or tab that ends the
 * text or a line is not part of it: it must be encoded. */
static size_t
mime_qp_run(const char *s, size_t n, size_t i, size_t lim)
{
	size_t k = i;

	while (k + 8 <= lim && mime_qp_plain8(s + k))
		k += 8;
	while (k < lim && mime_qp_plain[(unsigned char)s[k]])
		k++;
	if (k > i && (s[k - 1] == ' ' || s[k - 1] == '\t') &&
	    (k == n || s[k] == '\r'))
		k--;
	return k;
}

static pthread_once_t mime_qp_once = PTHREAD_ONCE_INIT;

/*
 * Quoted-printable (RFC 2045, 6.7) of canonical text: lines of at most
 * 76 characters, whitespace at a line end encoded, and, at the start
 * of a line, '.' and the F of "From " encoded so that neither SMTP nor
 * an mbox can change the text. The result ends with CRLF (a soft line
 * break when the text did not end with one).
 */
static void
mime_qp_encode(const char *s, size_t n, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, col = 0;
	char *o;

	/* Worst case: every byte as =XX, a soft break every 25 of them,
	 * and the closing one; written in place, not byte by byte. */
	buf_reserve(out, 3 * n + 3 * (n / 25 + 1) + 3);
	o = out->data + out->len;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		bool last, enc;
		size_t len;

		/* A run of plain bytes inside a line, with room left on
		 * it, copied at once; a space or tab only when something but
		 * a line end follows. */
		if (col > 0 && col < 75) {
			size_t lim = i + (75 - col), k;

			k = mime_qp_run(s, n, i, lim < n ? lim : n);
			if (k > i) {
				memcpy(o, s + i, k - i);
				o += k - i;
				col += k - i;
				i = k;
				continue;
			}
		}
		if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
			i += 2;
			continue;
		}
		last = i + 1 == n ||
		    (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');
		for (;;) {
			enc = !mime_qp_literal(c) ||
			    ((c == ' ' || c == '\t') && last) ||
			    (col == 0 && c == '.') ||
			    (col == 0 && n - i >= 5 &&
				memcmp(s + i, "From ", 5) == 0);
			len = enc ? 3 : 1;
			/* Keep room for the '=' of a soft break. */
			if (col + len <= (last ? 76 : 75) || col == 0)
				break;
			*o++ = '=';
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
		if (enc) {
			*o++ = '=';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
		col += len;
		i++;
	}
	if (col > 0) {
		*o++ = '=';
		*o++ = '\r';
		*o++ = '\n';
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

/* ----------------------------------------------------------- libetpan */

static int
mime_etpan_error(int r)
{
	return r == MAILIMF_ERROR_MEMORY ? -ENOMEM : -EIO;
}

/* Random bytes come from getrandom(2) in blocks kept per thread: one
 * system call for a dozen messages, not two for each. */
#define MIME_RANDOM_POOL 512

static int
mime_random(char *out, size_t n)
{
	static _Thread_local unsigned char pool[MIME_RANDOM_POOL];
	static _Thread_local size_t left;
	size_t got = 0;

	while (got < n) {
		if (left == 0) {
			ssize_t r = getrandom(pool, sizeof(pool), 0);

			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1)
				return -errno;
			left = (size_t)r;
		}
		/* Each byte is used once, then wiped. */
		out[got++] = mime_base32[pool[--left] & 31];
		pool[left] = 0;
	}
	out[n] = '\0';
	return 0;
}

/* A text part holding body (canonical text that outlives the part). */
/* Base64 (RFC 2045, 6.8) of n bytes in lines of 76 and CRLF. */
static void
mime_base64_encode(const char *s, size_t n, struct buf *out)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	size_t i, col = 0;
	char *o;

	buf_reserve(out, (n + 2) / 3 * 4 + ((n + 2) / 3 * 4 / 76 + 1) * 2);
	o = out->data + out->len;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v =
		    (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
		col += 4;
		if (col == 76) {
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 |
		    (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = (char)(i + 1 < n ? b64[(v >> 6) & 63] : '=');
		*o++ = '=';
		col += 4;
	}
	if (col > 0) {
		*o++ = '\r';
		*o++ = '\n';
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

/* The marker libetpan writes where the encoded body of part i goes. */
#define MIME_BODY_MARK     "=_fmbody%u_=\r\n"
#define MIME_BODY_MARK_MAX 24

/*
 * Canonical body encoded into encoded: quoted-printable, unless that is
 * over a quarter longer than base64 (text mostly beyond ASCII). Returns
 * the mechanism (MAILMIME_MECHANISM_*).
 */
static int
mime_encode_text(const struct buf *body, struct buf *encoded)
{
	size_t b64_len = (body->len + 2) / 3 * 4;

	pthread_once(&mime_qp_once, mime_qp_init);
	mime_qp_encode(body->data, body->len, encoded);
	b64_len += (b64_len / 76 + 1) * 2;
	if (encoded->len * 4 <= b64_len * 5)
		return MAILMIME_MECHANISM_QUOTED_PRINTABLE;
	buf_reset(encoded);
	mime_base64_encode(body->data, body->len, encoded);
	return MAILMIME_MECHANISM_BASE64;
}

/*
 * The text/SUBTYPE part of a body encoded (mime_encode_text()) by mech
 * into encoded. libetpan gets marker i as its data, to be replaced by
 * encoded once the tree is written (mime_put_body()).
 */
static struct mailmime *
mime_text_part(const char *subtype, int mech, struct buf *encoded, unsigned i)
{
	struct mailmime_content *content;
	struct mailmime_fields *fields;
	struct mailmime_data *data;
	struct mailmime *part;
	char type[64], mark[MIME_BODY_MARK_MAX];
	int n;

	(void)snprintf(type, sizeof(type), "text/%s; charset=utf-8", subtype);
	content = mailmime_content_new_with_str(type);
	if (content == NULL)
		return NULL;
	fields = mailmime_fields_new_encoding(mech);
	if (fields == NULL) {
		mailmime_content_free(content);
		return NULL;
	}
	part = mailmime_new_empty(content, fields);
	if (part == NULL) {
		mailmime_fields_free(fields);
		mailmime_content_free(content);
		return NULL;
	}
	n = snprintf(mark, sizeof(mark), MIME_BODY_MARK, i);
	/* libetpan keeps the pointer: the marker must outlive the tree,
	 * so it is written into encoded's spare room, past its end. */
	buf_reserve(encoded, (size_t)n + 1);
	memcpy(encoded->data + encoded->len + 1, mark, (size_t)n);
	data = mailmime_data_new_data(
	    mech, 1, encoded->data + encoded->len + 1, (size_t)n);
	if (data == NULL) {
		mailmime_free(part);
		return NULL;
	}
	part->mm_data.mm_single = data;
	return part;
}

/* A multipart of type with our boundary. libetpan's own
 * (mailmime_new_empty()) is made from the host name, the time and
 * random() at two system calls a message; ours holds "=_", which
 * quoted-printable and base64 text can never contain, and is short
 * enough to keep the Content-Type line under 78 characters. */
static struct mailmime *
mime_multipart_new(const char *type)
{
	char rnd[MIME_BOUNDARY_RANDOM_LEN + 1];
	struct mailmime_content *content;
	struct mailmime_parameter *param;
	struct mailmime_fields *fields;
	struct mailmime *mp;
	char *name, *value;
	clist *parts;

	if (mime_random(rnd, MIME_BOUNDARY_RANDOM_LEN) != 0)
		return NULL;
	content = mailmime_content_new_with_str(type);
	if (content == NULL)
		return NULL;
	if (content->ct_parameters == NULL)
		content->ct_parameters = clist_new();
	name = xstrdup("boundary");
	value = xasprintf("=_fm_%s", rnd);
	param = mailmime_parameter_new(name, value);
	if (param == NULL) {
		free(name);
		free(value);
		mailmime_content_free(content);
		return NULL;
	}
	if (content->ct_parameters == NULL ||
	    clist_append(content->ct_parameters, param) < 0) {
		mailmime_parameter_free(param);
		mailmime_content_free(content);
		return NULL;
	}
	/* Not mailmime_new_empty(), which adds a boundary of its own. */
	fields = mailmime_fields_new_empty();
	parts = clist_new();
	mp = fields == NULL || parts == NULL
	    ? NULL
	    : mailmime_new(MAILMIME_MULTIPLE, NULL, 0, fields, content, NULL,
		  NULL, NULL, parts, NULL, NULL);
	if (mp == NULL) {
		if (parts != NULL)
			clist_free(parts);
		if (fields != NULL)
			mailmime_fields_free(fields);
		mailmime_content_free(content);
	}
	return mp;
}

/* Date and Message-ID, written by libetpan's IMF writer. */
static int
mime_put_date_msgid(struct buf *out, time_t date, const char *msgid)
{
	struct mailimf_date_time *dt;
	struct mailimf_fields *fields;
	MMAPString *s;
	struct tm tm;
	char *id;
	int col = 0, r;

	if (gmtime_r(&date, &tm) == NULL)
		return -EINVAL;
	fields = mailimf_fields_new_empty();
	if (fields == NULL)
		return -ENOMEM;
	dt = mailimf_date_time_new(tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, 0);
	id = strdup(msgid);
	if (dt == NULL || id == NULL) {
		if (dt != NULL)
			mailimf_date_time_free(dt);
		free(id);
		mailimf_fields_free(fields);
		return -ENOMEM;
	}
	/* NOLINTBEGIN(clang-analyzer-unix.Malloc): fields owns dt and id;
	 * the analyzer takes libetpan for a system library that keeps none
	 * of the pointers it is given. */
	r = mailimf_fields_add_data(fields, dt, NULL, NULL, NULL, NULL, NULL,
	    NULL, id, NULL, NULL, NULL);
	if (r != MAILIMF_NO_ERROR) {
		/* On failure libetpan keeps only the fields it added: the
		 * Message-ID always comes back, the date unless added. */
		if (clist_isempty(fields->fld_list))
			mailimf_date_time_free(dt);
		free(id);
		mailimf_fields_free(fields);
		return mime_etpan_error(r);
	}
	s = mmap_string_new("");
	if (s == NULL) {
		mailimf_fields_free(fields);
		return -ENOMEM;
	}
	r = mailimf_fields_write_mem(s, &col, fields);
	if (r == MAILIMF_NO_ERROR)
		buf_append(out, s->str, s->len);
	mmap_string_free(s);
	mailimf_fields_free(fields);
	/* NOLINTEND(clang-analyzer-unix.Malloc) */
	return r == MAILIMF_NO_ERROR ? 0 : mime_etpan_error(r);
}

/* Appends the tree libetpan wrote (tree, n bytes) to out with each
 * body's marker replaced by the body: -EIO if a marker is missing. */
static int
mime_splice_bodies(struct buf *out, const char *tree, size_t n,
    const struct buf *text, const struct buf *html)
{
	const struct buf *bodies[2] = { text, html };
	const char *p = tree, *end = tree + n, *at;
	char mark[MIME_BODY_MARK_MAX];
	int len;

	buf_reserve(out, n + text->len + (html != NULL ? html->len : 0));
	for (unsigned i = 0; i < 2 && bodies[i] != NULL; i++) {
		len = snprintf(mark, sizeof(mark), MIME_BODY_MARK, i);
		at = memmem(p, (size_t)(end - p), mark, (size_t)len);
		if (at == NULL)
			return -EIO;
		buf_append(out, p, (size_t)(at - p));
		buf_append(out, bodies[i]->data, bodies[i]->len);
		p = at + len;
	}
	buf_append(out, p, (size_t)(end - p));
	return 0;
}

/* A part in base64 holding body (which outlives the part): the
 * calendar alternative, or with a file name an attachment. */
static struct mailmime *
mime_base64_part(const char *type, const struct buf *body, const char *filename)
{
	struct mailmime_content *content;
	struct mailmime_fields *fields;
	struct mailmime_data *data;
	struct mailmime *part;
	char *name;

	content = mailmime_content_new_with_str(type);
	if (content == NULL)
		return NULL;
	/* NOLINTBEGIN(clang-analyzer-unix.Malloc): fields owns name once
	 * made; the analyzer takes libetpan for a system library that keeps
	 * none of the pointers it is given. */
	if (filename != NULL) {
		name = strdup(filename);
		fields = name == NULL
		    ? NULL
		    : mailmime_fields_new_filename(
			  MAILMIME_DISPOSITION_TYPE_ATTACHMENT, name,
			  MAILMIME_MECHANISM_BASE64);
		if (fields == NULL)
			free(name);
	} else {
		fields =
		    mailmime_fields_new_encoding(MAILMIME_MECHANISM_BASE64);
	}
	if (fields == NULL) {
		mailmime_content_free(content);
		return NULL;
	}
	part = mailmime_new_empty(content, fields);
	if (part == NULL) {
		mailmime_fields_free(fields);
		mailmime_content_free(content);
		return NULL;
	}
	data = mailmime_data_new_data(
	    MAILMIME_MECHANISM_BASE64, 0, body->data, body->len);
	if (data == NULL) {
		mailmime_free(part);
		return NULL;
	}
	part->mm_data.mm_single = data;
	return part;
	/* NOLINTEND(clang-analyzer-unix.Malloc) */
}

/* Adds part (NULL: out of memory) to parent; on failure frees it. */
static int
mime_add(struct mailmime *parent, struct mailmime *part)
{
	int r;

	if (part == NULL)
		return -ENOMEM;
	r = mailmime_smart_add_part(parent, part);
	if (r != MAILIMF_NO_ERROR) {
		mailmime_free(part);
		return mime_etpan_error(r);
	}
	return 0;
}

/*
 * The skeleton of a body without a calendar, kept per thread: what
 * libetpan wrote for one shape (an HTML part or not, each part's
 * encoding), with the markers where the bodies go. Writing it costs a
 * third of a digest's body, and every message of a digest has the same
 * shape. Its boundaries ("=_fm_" and random letters) can serve many
 * messages, as quoted-printable and base64 never hold "=_"; they are
 * drawn afresh every MIME_SKEL_USES messages all the same.
 */
#define MIME_SKEL_USES 1000

struct mime_skel {
	unsigned shape; /* 0: none kept */
	unsigned uses;
	struct buf tree;
};

static pthread_once_t mime_skel_once = PTHREAD_ONCE_INIT;
static pthread_key_t mime_skel_key;
static bool mime_skel_ok;

static void
mime_skel_free(void *p)
{
	struct mime_skel *sk = p;

	buf_fini(&sk->tree);
	free(sk);
}

static void
mime_skel_on_once(void)
{
	mime_skel_ok = pthread_key_create(&mime_skel_key, mime_skel_free) == 0;
}

/* This thread's skeleton, or NULL (then the tree is written each time). */
static struct mime_skel *
mime_skel_get(void)
{
	struct mime_skel *sk;

	pthread_once(&mime_skel_once, mime_skel_on_once);
	if (!mime_skel_ok)
		return NULL;
	sk = pthread_getspecific(mime_skel_key);
	if (sk == NULL) {
		sk = xcalloc(1, sizeof(*sk));
		buf_init(&sk->tree);
		if (pthread_setspecific(mime_skel_key, sk) != 0) {
			free(sk);
			return NULL;
		}
	}
	return sk;
}

/*
 * MIME-Version, Content-* and the bodies, by libetpan's MIME writer:
 * text alone; or multipart/alternative of text, HTML (when given) and
 * the calendar (when given); with a calendar, all that inside a
 * multipart/mixed whose second part is the calendar as an attachment.
 */
static int
mime_put_body(struct buf *out, const struct buf *text, const struct buf *html,
    const struct buf *cal, const struct mime_msg *m)
{
	struct buf text_qp, html_qp;
	struct mailmime *root = NULL, *mixed = NULL, *alt = NULL;
	struct mime_skel *sk = NULL;
	MMAPString *s = NULL;
	char *type = NULL;
	int col = 0, r, ret = -ENOMEM, text_mech, html_mech = 0;
	unsigned shape;

	buf_init(&text_qp);
	buf_init(&html_qp);
	text_mech = mime_encode_text(text, &text_qp);
	if (html != NULL)
		html_mech = mime_encode_text(html, &html_qp);
	/* Every message of a digest has the same shape: the skeleton
	 * libetpan wrote for the first serves the next ones. */
	shape = 1u | (html != NULL ? 2u : 0u) |
	    (text_mech == MAILMIME_MECHANISM_BASE64 ? 4u : 0u) |
	    (html_mech == MAILMIME_MECHANISM_BASE64 ? 8u : 0u);
	if (cal == NULL)
		sk = mime_skel_get();
	if (sk != NULL && sk->shape == shape && sk->uses < MIME_SKEL_USES) {
		sk->uses++;
		ret = mime_splice_bodies(out, sk->tree.data, sk->tree.len,
		    &text_qp, html != NULL ? &html_qp : NULL);
		goto out;
	}
	root = mailmime_new_message_data(NULL);
	if (root == NULL)
		goto out;
	if (cal != NULL) {
		mixed = mime_multipart_new("multipart/mixed");
		ret = mime_add(root, mixed);
		if (ret != 0)
			goto out;
	}
	if (html != NULL || cal != NULL) {
		alt = mime_multipart_new("multipart/alternative");
		ret = mime_add(mixed != NULL ? mixed : root, alt);
		if (ret != 0)
			goto out;
	}
	ret = mime_add(alt != NULL ? alt : root,
	    mime_text_part("plain", text_mech, &text_qp, 0));
	if (ret == 0 && html != NULL)
		ret = mime_add(
		    alt, mime_text_part("html", html_mech, &html_qp, 1));
	if (ret == 0 && cal != NULL) {
		/* Last of the alternatives, as Outlook sends it: the part
		 * mail apps read as the invitation (RFC 6047: method as in
		 * the object). */
		type = xasprintf("text/calendar; charset=utf-8; method=%s",
		    m->calendar_method);
		ret = mime_add(alt, mime_base64_part(type, cal, NULL));
		free(type);
		/* The same object to keep or open by hand. Not text/calendar:
		 * a second calendar part would be a second invitation to
		 * the apps that read attachments too. */
		type = xasprintf(
		    "application/ics; name=\"%s\"", m->calendar_filename);
		if (ret == 0)
			ret = mime_add(mixed,
			    mime_base64_part(type, cal, m->calendar_filename));
	}
	if (ret != 0)
		goto out;
	ret = -ENOMEM;
	s = mmap_string_new("");
	if (s == NULL)
		goto out;
	r = mailmime_write_mem(s, &col, root);
	if (r != MAILIMF_NO_ERROR) {
		ret = mime_etpan_error(r);
		goto out;
	}
	ret = mime_splice_bodies(
	    out, s->str, s->len, &text_qp, html != NULL ? &html_qp : NULL);
	if (ret == 0 && sk != NULL) {
		buf_reset(&sk->tree);
		buf_append(&sk->tree, s->str, s->len);
		sk->shape = shape;
		sk->uses = 1;
	}
out:
	free(type);
	if (s != NULL)
		mmap_string_free(s);
	if (root != NULL)
		mailmime_free(root);
	buf_fini(&text_qp);
	buf_fini(&html_qp);
	return ret;
}

/* ------------------------------------------------------------- build */

/* A Message-ID given by the caller: "local@domain", the local part of
 * letters, digits, '.', '-' and '_'. */
static bool
mime_msgid_valid(const char *id)
{
	const char *at = strchr(id, '@');
	size_t n;

	if (at == NULL || at == id ||
	    (size_t)(at - id) > 2 * MIME_MSGID_PREFIX_MAX)
		return false;
	for (const char *p = id; p < at; p++)
		if (!mime_is_alnum(*p) && *p != '.' && *p != '-' && *p != '_')
			return false;
	n = strnlen(at + 1, 254);
	return addr_is_domain_n(at + 1, n);
}

/* Content-Language (RFC 3282): language tags separated by ", ". */
static int
mime_content_language_check(const char *v)
{
	if (*v == '\0')
		return -EINVAL;
	for (; *v != '\0'; v++)
		if (!mime_is_alnum(*v) && *v != '-' && *v != ',' && *v != ' ')
			return -EINVAL;
	return 0;
}

/* A method is a word of letters; a file name, letters, digits and
 * ".-_" ending in ".ics", written as is in the MIME parameters. */
static int
mime_calendar_check(const struct mime_msg *m)
{
	const char *f = m->calendar_filename, *meth = m->calendar_method;
	size_t n;

	if (meth == NULL || f == NULL)
		return -EINVAL;
	n = strnlen(meth, 17);
	if (n == 0 || n > 16)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((meth[i] >= 'A' && meth[i] <= 'Z') ||
			(meth[i] >= 'a' && meth[i] <= 'z')))
			return -EINVAL;
	n = strnlen(f, MIME_FILENAME_MAX + 1);
	if (n < 5 || n > MIME_FILENAME_MAX || strcmp(f + n - 4, ".ics") != 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!mime_is_alnum(f[i]) && strchr(".-_", f[i]) == NULL)
			return -EINVAL;
	return mime_body_check(m->calendar);
}

static int
mime_check_msg(const struct mime_msg *m)
{
	const char *const *h;
	int ret;

	if (m->from_addr == NULL || m->to_addr == NULL || m->subject == NULL ||
	    m->msgid_domain == NULL ||
	    !addr_is_domain_n(m->msgid_domain, strnlen(m->msgid_domain, 254)))
		return -EINVAL;
	if (m->msgid != NULL && !mime_msgid_valid(m->msgid))
		return -EINVAL;
	if (m->msgid_prefix != NULL) {
		size_t n = strnlen(m->msgid_prefix, MIME_MSGID_PREFIX_MAX + 1);

		if (n == 0 || n > MIME_MSGID_PREFIX_MAX)
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (!mime_is_alnum(m->msgid_prefix[i]))
				return -EINVAL;
	}
	if (m->feedback_id != NULL && !mime_feedback_id_valid(m->feedback_id))
		return -EINVAL;
	ret = mime_value_check(m->subject);
	if (ret == 0 && m->content_language != NULL)
		ret = mime_content_language_check(m->content_language);
	if (ret == 0)
		ret = mime_body_check(m->text);
	if (ret == 0 && m->html != NULL)
		ret = mime_body_check(m->html);
	for (h = m->extra_headers; ret == 0 && h != NULL && *h != NULL; h++)
		ret = mime_value_check(*h);
	if (ret == 0 && m->calendar != NULL)
		ret = mime_calendar_check(m);
	return ret;
}

const char *
mime_build_problem(const struct mime_msg *m)
{
	struct buf b;
	const char *what = NULL;

	if (m->from_addr == NULL || m->to_addr == NULL || m->subject == NULL)
		return "a From or To address or the subject is missing";
	if (mime_check_msg(m) != 0) {
		if (mime_value_check(m->subject) != 0)
			return "the subject holds a line break or is not UTF-8";
		if (mime_body_check(m->text) != 0)
			return "the text part is not UTF-8 or holds a NUL";
		if (m->html != NULL && mime_body_check(m->html) != 0)
			return "the HTML part is not UTF-8 or holds a NUL";
		if (m->calendar != NULL && mime_calendar_check(m) != 0)
			return "the calendar entry";
		if (m->feedback_id != NULL &&
		    !mime_feedback_id_valid(m->feedback_id))
			return "the Feedback-ID";
		return "the Message-ID's domain or prefix";
	}
	buf_init(&b);
	if (mime_put_address(&b, "From", m->from_name, m->from_addr) != 0)
		what = "the From name or address";
	else if (m->reply_to != NULL && mime_put_reply_to(&b, m->reply_to) != 0)
		what = "the Reply-To address";
	else if (!addr_is_valid(m->to_addr))
		what = "the recipient's address is not one plain address "
		       "(local@domain)";
	else if (mime_put_address(&b, "To", m->to_name, m->to_addr) != 0)
		what = "the recipient's name";
	else if (mime_encode_header("Subject", m->subject, &b) != 0)
		what = "the subject is too long to encode";
	else if (mime_put_list_headers(&b, m) != 0)
		what = "the List-Id or an unsubscribe link";
	buf_fini(&b);
	return what;
}

int
mime_build(const struct mime_msg *m, struct buf *out, char **message_id)
{
	char rnd[MIME_RANDOM_LEN + 1];
	struct buf text, html, cal;
	size_t start;
	const char *const *h;
	char *msgid = NULL;
	int ret;

	*message_id = NULL;
	ret = mime_check_msg(m);
	if (ret != 0)
		return ret;
	buf_init(&text);
	buf_init(&html);
	buf_init(&cal);
	mime_canonical(m->text, &text);
	if (m->html != NULL)
		mime_canonical(m->html, &html);
	if (m->calendar != NULL)
		mime_canonical(m->calendar, &cal);
	/* Written where it goes, in room for the headers and the encoded
	 * bodies; a failure takes it back out. */
	start = out->len;
	buf_reserve(out, 2048 + (text.len + html.len + cal.len) * 5 / 4);
	ret = mime_random(rnd, MIME_RANDOM_LEN);
	if (ret != 0)
		goto out;
	if (m->msgid != NULL)
		msgid = xstrdup(m->msgid);
	else if (m->msgid_prefix != NULL)
		msgid = xasprintf(
		    "%s.%s@%s", m->msgid_prefix, rnd, m->msgid_domain);
	else
		msgid = xasprintf("%s@%s", rnd, m->msgid_domain);
	ret = mime_put_date_msgid(out, m->date, msgid);
	if (ret == 0)
		ret = mime_put_address(out, "From", m->from_name, m->from_addr);
	if (ret == 0 && m->reply_to != NULL)
		ret = mime_put_reply_to(out, m->reply_to);
	if (ret == 0)
		ret = mime_put_address(out, "To", m->to_name, m->to_addr);
	if (ret == 0)
		ret = mime_encode_header("Subject", m->subject, out);
	if (ret == 0 && m->auto_submitted)
		buf_puts(out,
		    "Auto-Submitted: auto-generated\r\n"
		    "X-Auto-Response-Suppress: OOF, AutoReply\r\n");
	if (ret == 0 && m->bulk)
		buf_puts(out, "Precedence: bulk\r\n");
	if (ret == 0 && m->feedback_id != NULL)
		buf_printf(out, "Feedback-ID: %s\r\n", m->feedback_id);
	if (ret == 0 && m->content_language != NULL)
		ret = mime_encode_header(
		    "Content-Language", m->content_language, out);
	if (ret == 0)
		ret = mime_put_list_headers(out, m);
	for (h = m->extra_headers; ret == 0 && h != NULL && *h != NULL; h++)
		ret = mime_put_extra(out, *h);
	if (ret != 0)
		goto out;
	ret = mime_put_body(out, &text, m->html != NULL ? &html : NULL,
	    m->calendar != NULL ? &cal : NULL, m);
	if (ret != 0)
		goto out;
	*message_id = msgid;
	msgid = NULL;
out:
	if (ret != 0 && out->len > start) {
		out->len = start;
		out->data[start] = '\0';
	}
	free(msgid);
	buf_fini(&text);
	buf_fini(&html);
	buf_fini(&cal);
	return ret;
}
