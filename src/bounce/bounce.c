/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce: the entry point of the bounce parser. It normalises the raw
 * bytes, takes the message apart (headers, MIME tree, the report, DSN
 * and feedback parts, the header of the returned message), decides what
 * kind of message it is and hands each recipient to the classifier. The
 * DSN fields are read in bounce_dsn.c, MTA prose in bounce_text.c, the
 * conventions of each MTA in bounce_mta.c, reasons in bounce_classify.c.
 *
 * The MIME walk is our own, small and bounded (depth, parts, sizes): a
 * bounce mailbox is read for every message that comes back, so the
 * parser must be fast, and it needs only the parts' types, boundaries
 * and transfer encodings. libetpan decodes encoded words of the Subject
 * (RFC 2047), and its structures live only inside this file: what
 * leaves it is struct bounce_msg (bounce_int.h) and struct
 * bounce_report (bounce.h).
 */
#include "config.h"

#include "bounce/bounce.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "bounce/bounce_int.h"
#include "buf.h"
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

/* Where in needle (n bytes) a search for it can start: a byte that is
 * the same in either case, an '@' or a ':' by preference (rare in
 * text), else any but a space; n when all are letters or spaces. */
static size_t
bounce_ci_anchor(const char *needle, size_t n)
{
	const char *p = memchr(needle, '@', n);
	size_t k;

	if (p == NULL)
		p = memchr(needle, ':', n);
	if (p != NULL)
		return (size_t)(p - needle);
	for (k = 0; k < n; k++)
		if (!isalpha((unsigned char)needle[k]) && needle[k] != ' ')
			break;
	return k;
}

const char *
bounce_ci_find(const char *hay, const char *needle)
{
	unsigned char lo = (unsigned char)tolower((unsigned char)needle[0]);
	size_t n = strlen(needle), k;
	char first[3];

	if (lo == '\0')
		return hay;
	k = bounce_ci_anchor(needle, n);
	if (k < n) {
		/* The library's scan to each place the anchor occurs: it
		 * matches itself only. */
		const char *p;

		if (strnlen(hay, k) < k)
			return NULL;
		for (p = strchr(hay + k, needle[k]); p != NULL;
		     p = strchr(p + 1, needle[k]))
			if (strncasecmp(p - k, needle, n) == 0)
				return p - k;
		return NULL;
	}
	first[0] = (char)lo;
	first[1] = (char)toupper(lo);
	first[2] = '\0';
	/* The library's scan to each place the first letter occurs, in
	 * either case. */
	for (hay = strpbrk(hay, first); hay != NULL;
	     hay = strpbrk(hay + 1, first))
		if (strncasecmp(hay + 1, needle + 1, n - 1) == 0)
			return hay;
	return NULL;
}

char *
bounce_lower(const char *s, size_t n, char *buf, size_t size)
{
	const uint64_t ones = 0x0101010101010101u;
	const uint64_t tops = 0x8080808080808080u;
	size_t i, m;

	if (size == 0)
		return buf;
	m = strnlen(s, size - 1 < n ? size - 1 : n);
	/* Eight bytes at a time: an ASCII byte is upper case when adding
	 * 0x80 - 'A' sets its top bit and adding 0x7f - 'Z' does not (the
	 * top bits cleared first, so that no sum carries into the next
	 * byte); those get 0x20. s and buf may be the same. */
	for (i = 0; i + 8 <= m; i += 8) {
		uint64_t x, low, upper;

		memcpy(&x, s + i, sizeof(x));
		low = x & ~tops;
		upper = ((low + ones * (0x80 - 'A')) ^
			    (low + ones * (0x7f - 'Z'))) &
		    ~x & tops;
		x |= upper >> 2;
		memcpy(buf + i, &x, sizeof(x));
	}
	for (; i < m; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c | 0x20);
		buf[i] = (char)c;
	}
	buf[m] = '\0';
	return buf;
}

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

/*
 * Copies the run of text at s (at most n bytes) in which no byte is below
 * ' ' (white space other than a space, NUL, controls) and no space is
 * followed by another, what folding keeps as it is, into out; returns
 * its length. Bytes above ASCII it meets are or-ed into *high. Eight
 * bytes are tested and copied at a time (a byte below 0x20, or two
 * spaces side by side, found by the borrows of one subtraction); where
 * a test is unsure the bytes are looked at one by one, so the run found
 * is exact.
 */
static size_t
bounce_fold_run(
    const unsigned char *s, size_t n, char *out, unsigned char *high)
{
	const uint64_t ones = 0x0101010101010101u;
	const uint64_t tops = 0x8080808080808080u;
	uint64_t acc = 0;
	size_t i = 0;

	while (i + 9 <= n) {
		uint64_t x, sp, low, spaces;

		memcpy(&x, s + i, sizeof(x));
		low = (x - ones * 0x20) & ~x & tops;
		sp = x ^ (ones * 0x20);
		spaces = (sp - ones) & ~sp & tops;
		if (low != 0 || (spaces & (spaces >> 8)) != 0 ||
		    (s[i + 7] == ' ' && s[i + 8] == ' '))
			break;
		memcpy(out + i, &x, sizeof(x));
		acc |= x;
		i += 8;
	}
	for (; i < n; i++) {
		if (s[i] < ' ' || (s[i] == ' ' && i + 1 < n && s[i + 1] == ' '))
			break;
		out[i] = (char)s[i];
		acc |= s[i];
	}
	if ((acc & tops) != 0)
		*high = 0x80;
	return i;
}

/* bounce_fold_text(), noting in *high whether the text kept holds bytes
 * above ASCII. */
static size_t
bounce_fold_bytes(
    char *out, const char *s, size_t n, size_t cap, unsigned char *high)
{
	const unsigned char *in = (const unsigned char *)s;
	size_t i = 0, len = 0;
	bool space = false;

	*high = 0;
	while (i < n && len < cap) {
		unsigned char c = in[i];
		size_t run;

		if (c == '\0')
			break;
		if (c == ' ' || (c >= '\t' && c <= '\r')) {
			space = len > 0;
			i++;
			continue;
		}
		if (space) {
			out[len++] = ' ';
			space = false;
			if (len >= cap)
				break;
		}
		if (c < ' ') {
			/* Other control bytes are kept as they are. */
			out[len++] = (char)c;
			i++;
			continue;
		}
		/* Words and the single spaces between them, copied whole
		 * as far as the room left; a space that ends the run is
		 * left to the loop. */
		run = bounce_fold_run(in + i,
		    n - i < cap - len ? n - i : cap - len, out + len, high);
		if (in[i + run - 1] == ' ')
			run--;
		len += run;
		i += run;
	}
	out[len] = '\0';
	return len;
}

size_t
bounce_fold_text(char *out, const char *s, size_t n, size_t cap)
{
	unsigned char high;

	return bounce_fold_bytes(out, s, n, cap, &high);
}

/*
 * Writes the n bytes at s into out folded (bounce_fold_text()), at most
 * BOUNCE_MAX_DIAG bytes (out has room for that many, or n if fewer, and
 * the NUL that ends them); bytes that are not UTF-8 become '?'. Returns
 * the length written.
 */
static size_t
bounce_fold(char *out, const char *s, size_t n)
{
	unsigned char high;
	size_t len = bounce_fold_bytes(out, s, n, BOUNCE_MAX_DIAG, &high);

	if (high != 0)
		bounce_utf8_fix(out);
	return len;
}

void
bounce_set_folded(char **dst, const char *s, size_t n)
{
	char *out;

	free(*dst);
	*dst = NULL;
	out = xmalloc((n < BOUNCE_MAX_DIAG ? n : BOUNCE_MAX_DIAG) + 1);
	if (bounce_fold(out, s, n) == 0) {
		free(out);
		return;
	}
	*dst = out;
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

/* A block of the memory that folded values are carved from. */
struct bounce_hdrs_mem {
	struct bounce_hdrs_mem *next;
	size_t used;
	size_t size;
	char data[];
};

struct bounce_hdrs_pool {
	struct bounce_hdrs_mem *mem;
};

/* n bytes from blocks of a few kilobytes rather than an allocation
 * each: a message has dozens of header fields. */
static char *
bounce_hdrs_alloc(struct bounce_hdrs_pool *pool, size_t n)
{
	struct bounce_hdrs_mem *b = pool->mem;
	char *p;

	if (b == NULL || b->size - b->used < n) {
		size_t size = n > 8192 ? n : 8192;

		b = xmalloc(sizeof(*b) + size);
		b->next = pool->mem;
		b->used = 0;
		b->size = size;
		pool->mem = b;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

const char *
bounce_hdrs_value(const struct bounce_hdrs *h, size_t i)
{
	struct bounce_hdr *hd = &h->v[i];
	size_t room;

	if (hd->value != NULL)
		return hd->value;
	/* No longer than the value as written; what folding left unused
	 * is given back. */
	room = hd->raw_len < BOUNCE_MAX_DIAG ? hd->raw_len : BOUNCE_MAX_DIAG;
	hd->value = bounce_hdrs_alloc(h->pool, room + 1);
	h->pool->mem->used -=
	    room - bounce_fold(hd->value, hd->raw, hd->raw_len);
	return hd->value;
}

/* A hash of a field name of n bytes (one or more) that names equal but
 * for case share: its length and three of its bytes, letters in lower
 * case (other bytes of equal names are the same). */
static unsigned int
bounce_hdrs_hash(const char *name, size_t n)
{
	return ((unsigned int)n * 7u + ((unsigned char)name[0] | 0x20) * 3u +
		   ((unsigned char)name[n / 2] | 0x20) * 5u +
		   ((unsigned char)name[n - 1] | 0x20)) &
	    255u;
}

const char *
bounce_hdrs_get_n(const struct bounce_hdrs *h, const char *name, size_t n)
{
	unsigned int b;
	size_t i;

	if (n == 0)
		return NULL;
	b = bounce_hdrs_hash(name, n);
	if ((h->names[b >> 6] & (uint64_t)1 << (b & 63)) == 0)
		return NULL;
	for (i = 0; i < h->n; i++)
		if (h->v[i].name_len == n &&
		    (h->v[i].name[0] | 0x20) == (name[0] | 0x20) &&
		    strncasecmp(h->v[i].name, name, n) == 0)
			return bounce_hdrs_value(h, i);
	return NULL;
}

void
bounce_hdrs_fini(struct bounce_hdrs *h)
{
	if (h->pool != NULL) {
		while (h->pool->mem != NULL) {
			struct bounce_hdrs_mem *next = h->pool->mem->next;

			free(h->pool->mem);
			h->pool->mem = next;
		}
		free(h->pool);
		h->pool = NULL;
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
	memset(h->names, 0, sizeof(h->names));
}

void
bounce_hdrs_keep(struct bounce_hdrs *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		struct bounce_hdr *hd = &h->v[i];
		char *name = bounce_hdrs_alloc(h->pool, hd->name_len);

		(void)bounce_hdrs_value(h, i);
		memcpy(name, hd->name, hd->name_len);
		hd->name = name;
		hd->raw = NULL;
		hd->raw_len = 0;
	}
}

void
bounce_hdrs_parse(struct bounce_hdrs *h, const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	if (h->pool == NULL)
		h->pool = xcalloc(1, sizeof(*h->pool));
	/* Fields up to the first line that is none (the empty line that
	 * ends a header, or anything else): "Name: value", the value
	 * going on over lines that begin with white space. */
	while (p < end && h->n < BOUNCE_MAX_HEADERS) {
		const char *colon, *v, *q, *eol;
		struct bounce_hdr *hd;
		unsigned int b;
		size_t n;

		for (colon = p;
		     colon<end && * colon> ' ' && *colon < 127 && *colon != ':';
		     colon++)
			;
		n = (size_t)(colon - p);
		while (colon < end && (*colon == ' ' || *colon == '\t'))
			colon++;
		if (n == 0 || colon >= end || *colon != ':')
			break;
		v = colon + 1;
		/* The value's last line: the next that does not begin with
		 * white space ends it. */
		q = v;
		for (;;) {
			eol = memchr(q, '\n', (size_t)(end - q));
			if (eol == NULL) {
				q = end;
				break;
			}
			q = eol + 1;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		if (h->n == h->cap) {
			h->cap = h->cap == 0 ? 32 : 2 * h->cap;
			h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
		}
		hd = &h->v[h->n++];
		hd->name = p;
		hd->name_len = n;
		b = bounce_hdrs_hash(p, n);
		h->names[b >> 6] |= (uint64_t)1 << (b & 63);
		hd->raw = v;
		hd->raw_len = (size_t)(q - v);
		hd->value = NULL;
		p = q;
	}
}

/*
 * Character set converters kept open for the life of the process, one
 * per character set that encoded words have named (up to a few): the
 * decoder opens and closes a converter for each word, and glibc unloads
 * a converter's module when its last converter closes, to load it again
 * for the next word. Kept open, the module stays loaded. Nothing here
 * changes what is decoded.
 */
#define BOUNCE_CHARSETS 16

static pthread_mutex_t bounce_charsets_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[40];
	iconv_t cd;
} bounce_charsets[BOUNCE_CHARSETS];
static size_t bounce_ncharsets;

/* Keeps a converter from the character sets of the encoded words of
 * value ("=?charset?...") open. */
static void
bounce_charsets_keep(const char *value)
{
	const char *p;

	for (p = strstr(value, "=?"); p != NULL; p = strstr(p + 2, "=?")) {
		char name[40];
		size_t n = strcspn(p + 2, "?*"), i;

		if (n == 0 || n >= sizeof(name) || p[2 + n] == '\0')
			continue;
		bounce_lower(p + 2, n, name, sizeof(name));
		(void)pthread_mutex_lock(&bounce_charsets_lock);
		for (i = 0; i < bounce_ncharsets; i++)
			if (strcmp(bounce_charsets[i].name, name) == 0)
				break;
		if (i == bounce_ncharsets && i < BOUNCE_CHARSETS) {
			memcpy(bounce_charsets[i].name, name, n + 1);
			bounce_charsets[i].cd = iconv_open("UTF-8", name);
			bounce_ncharsets++;
		}
		(void)pthread_mutex_unlock(&bounce_charsets_lock);
	}
}

/* The RFC 2047 decoded form of a header value, or a copy of it. */
static char *
bounce_decode_words(const char *value)
{
	char *out = NULL;
	size_t idx = 0;

	if (value == NULL)
		return NULL;
	if (strstr(value, "=?") == NULL) {
		/* No encoded word: nothing to decode (and no converter to
		 * open). */
		char *copy = xstrdup(value);

		bounce_utf8_fix(copy);
		return copy;
	}
	bounce_charsets_keep(value);
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

/* Where the next byte c is in data (len bytes) at or after from; len
 * if there is none. */
static size_t
bounce_normalise_next(const char *data, size_t len, size_t from, char c)
{
	const char *p = memchr(data + from, c, len - from);

	return p != NULL ? (size_t)(p - data) : len;
}

/* The lines of the normalised message that begin with 'c' or 'C', the
 * only ones bounce_count_composite() looks at, noted by
 * bounce_normalise(); when there are more than at holds, all is false
 * and the lines are searched for instead. */
#define BOUNCE_C_LINES 1024

struct bounce_c_lines {
	uint32_t at[BOUNCE_C_LINES]; /* offsets in the normalised text */
	size_t n;
	bool all;
};

/* Notes a line that begins at offset at with the byte c. */
static void
bounce_c_lines_add(struct bounce_c_lines *cl, size_t at, char c)
{
	if ((c | 0x20) != 'c')
		return;
	if (cl->n < BOUNCE_C_LINES)
		cl->at[cl->n++] = (uint32_t)at;
	else
		cl->all = false;
}

/*
 * Copies the input with every line ending made CRLF, NUL bytes made
 * spaces, lines longer than BOUNCE_MAX_LINE broken, and a leading mbox
 * "From " line dropped; notes in cl the lines that begin with 'c'.
 */
static void
bounce_normalise(
    const char *data, size_t len, struct buf *out, struct bounce_c_lines *cl)
{
	size_t i = 0, col = 0, o, cr, nul;
	char *w;

	if (len > 5 && memcmp(data, "From ", 5) == 0) {
		while (i < len && data[i] != '\n' && data[i] != '\r')
			i++;
		if (i < len && data[i] == '\r')
			i++;
		if (i < len && data[i] == '\n')
			i++;
	}
	/* At worst every byte is a lone LF made CRLF. */
	buf_reserve(out, 2 * (len - i) + 2);
	w = out->data + out->len;
	o = 0;
	/* A line's first byte is the input byte at i, the line ends only
	 * being made CRLF: known when the line begins. */
	cl->n = 0;
	cl->all = true;
	if (i < len)
		bounce_c_lines_add(cl, out->len, data[i]);
	/* Where the next CR and NUL bytes are, known until passed: most
	 * messages have LF line ends or CRLF ones, and no NUL byte. */
	cr = bounce_normalise_next(data, len, i, '\r');
	nul = bounce_normalise_next(data, len, i, '\0');
	while (i < len) {
		size_t j, room = BOUNCE_MAX_LINE - col;
		const char *lf;
		char c;

		/* A run of ordinary bytes, copied whole. */
		if (cr < i)
			cr = bounce_normalise_next(data, len, i, '\r');
		if (nul < i)
			nul = bounce_normalise_next(data, len, i, '\0');
		j = len - i < room ? len : i + room;
		if (cr < j)
			j = cr;
		if (nul < j)
			j = nul;
		lf = memchr(data + i, '\n', j - i);
		if (lf != NULL)
			j = (size_t)(lf - data);
		memcpy(w + o, data + i, j - i);
		o += j - i;
		col += j - i;
		i = j;
		if (i >= len)
			break;
		c = data[i];
		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
				i++;
			w[o++] = '\r';
			w[o++] = '\n';
			col = 0;
			i++;
			if (i < len)
				bounce_c_lines_add(cl, out->len + o, data[i]);
			continue;
		}
		/* A line too long, broken before its next byte. */
		if (col >= BOUNCE_MAX_LINE) {
			w[o++] = '\r';
			w[o++] = '\n';
			col = 0;
			bounce_c_lines_add(cl, out->len + o, data[i]);
		}
		if (c == '\0') {
			w[o++] = ' ';
			col++;
			i++;
		}
	}
	out->len += o;
	out->data[out->len] = '\0';
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

/* Whether the line at p (text up to end) is a Content-Type field naming
 * a composite type. */
static bool
bounce_is_composite(const char *p, const char *end)
{
	static const char ct[] = "content-type:";
	const char *q;

	/* The first byte and the colon before the library is asked (the
	 * caller leaves room for the name). */
	if ((*p != 'c' && *p != 'C') || p[sizeof(ct) - 2] != ':' ||
	    strncasecmp(p, ct, sizeof(ct) - 1) != 0)
		return false;
	q = p + sizeof(ct) - 1;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	return q + 9 < end &&
	    (strncasecmp(q, "multipart", 9) == 0 ||
		strncasecmp(q, "message", 7) == 0);
}

/* Counts Content-Type lines naming a composite type: a message with too
 * many is refused a MIME walk. cl: the lines that begin with 'c'. */
static size_t
bounce_count_composite(
    const char *s, size_t len, const struct bounce_c_lines *cl)
{
	const size_t ctlen = sizeof("content-type:");
	const char *p = s, *end = s + len;
	size_t n = 0, i;

	if (cl->all) {
		for (i = 0; i < cl->n && s + cl->at[i] + ctlen < end; i++)
			n += bounce_is_composite(s + cl->at[i], end);
		return n;
	}
	/* Too many to note: each line looked at. */
	while (p != NULL && p + ctlen < end) {
		n += bounce_is_composite(p, end);
		p = memchr(p, '\n', (size_t)(end - p));
		if (p != NULL)
			p++;
	}
	return n;
}

/* ------------------------------------------------------------ the tree */

/* Appends text with LF line ends and no NUL bytes, within the cap. */
static void
bounce_append_text(struct buf *b, const char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101u;
	const uint64_t tops = 0x8080808080808080u;
	size_t i, o, room;
	char *w;

	if (b->len >= BOUNCE_MAX_TEXT)
		return;
	room = BOUNCE_MAX_TEXT - b->len;
	if (n > room)
		n = room;
	buf_reserve(b, n + 1);
	w = b->data + b->len;
	for (i = 0, o = 0; i < n;) {
		size_t stop;

		/* Eight bytes copied at a time while none is CR or NUL (a
		 * zero byte of x, or of x with CR taken off each byte). */
		while (i + 8 <= n) {
			uint64_t x, c;

			memcpy(&x, s + i, sizeof(x));
			c = x ^ (ones * '\r');
			if ((((x - ones) & ~x) | ((c - ones) & ~c)) & tops)
				break;
			memcpy(w + o, &x, sizeof(x));
			i += 8;
			o += 8;
		}
		/* Then the next eight one by one: CRLF becomes LF, a lone CR
		 * too, NUL bytes (of decoded parts) spaces. */
		for (stop = i + 8; i < stop && i < n;) {
			char c = s[i];

			if (c == '\r') {
				w[o++] = '\n';
				i += i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
			} else {
				if (c == '\0')
					c = ' ';
				w[o++] = c;
				i++;
			}
		}
	}
	b->len += o;
	if (b->len > 0 && b->data[b->len - 1] != '\n' &&
	    b->len < BOUNCE_MAX_TEXT)
		b->data[b->len++] = '\n';
	b->data[b->len] = '\0';
}

static const struct {
	const char *tag;
	size_t n;
} bounce_html_breaks[] = { { "br", 2 }, { "p", 1 }, { "div", 3 }, { "tr", 2 },
	{ "li", 2 }, { "table", 5 }, { "h1", 2 }, { "h2", 2 }, { "h3", 2 },
	{ "h4", 2 }, { "td", 2 }, { "pre", 3 } };

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
				size_t l = bounce_html_breaks[k].n;

				if (j + l < n &&
				    tolower((unsigned char)s[j]) ==
					bounce_html_breaks[k].tag[0] &&
				    strncasecmp(s + j,
					bounce_html_breaks[k].tag, l) == 0 &&
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
			buf_putc(&t, s[i]);
			i++;
			continue;
		}
		{
			/* Text up to the next tag or entity, in one copy. */
			size_t j = i;

			while (j < n && s[j] != '<' && s[j] != '&')
				j++;
			buf_append(&t, s + i, j - i);
			i = j;
		}
	}
	bounce_append_text(b, t.data, t.len);
	buf_fini(&t);
}

/* ---------------------------------------------------------------- MIME */

/* One part of the message: its header and its body, inside the
 * normalised (CRLF) message. */
struct bounce_part {
	const char *hdr;
	size_t hdr_len;
	const char *body;
	size_t body_len;
	/* The first Content-Type and Content-Transfer-Encoding lines of
	 * the header, or NULL. */
	const char *ct;
	const char *cte;
};

static const char bounce_part_ct[] = "content-type";
static const char bounce_part_cte[] = "content-transfer-encoding";

/* Notes the line at q (text up to end) if it is the first of the header
 * fields of p that bounce_walk() reads. */
static void
bounce_part_note(struct bounce_part *p, const char *q, const char *end)
{
	size_t left = (size_t)(end - q);

	if (*q != 'c' && *q != 'C')
		return;
	if (p->ct == NULL && left > sizeof(bounce_part_ct) - 1 &&
	    q[sizeof(bounce_part_ct) - 1] == ':' &&
	    strncasecmp(q, bounce_part_ct, sizeof(bounce_part_ct) - 1) == 0)
		p->ct = q;
	else if (p->cte == NULL && left > sizeof(bounce_part_cte) - 1 &&
	    q[sizeof(bounce_part_cte) - 1] == ':' &&
	    strncasecmp(q, bounce_part_cte, sizeof(bounce_part_cte) - 1) == 0)
		p->cte = q;
}

/* Splits s into header and body at the first empty line (the first
 * "\r\n\r\n"), noting the fields bounce_walk() reads on the way. A part
 * that begins with an empty line has an empty header. */
static void
bounce_part_split(const char *s, size_t len, struct bounce_part *p)
{
	const char *q = s, *end = s + len;

	p->hdr = s;
	p->ct = NULL;
	p->cte = NULL;
	if (len >= 2 && s[0] == '\r' && s[1] == '\n') {
		p->hdr_len = 0;
		p->body = s + 2;
		p->body_len = len - 2;
		return;
	}
	/* From line to line: a line that ends with CRLF before one that
	 * is empty ends the header. */
	while (q < end) {
		const char *lf;

		bounce_part_note(p, q, end);
		lf = memchr(q, '\n', (size_t)(end - q));
		if (lf == NULL || end - lf < 3)
			break;
		if (lf > s && lf[-1] == '\r' && lf[1] == '\r' &&
		    lf[2] == '\n') {
			p->hdr_len = (size_t)(lf + 1 - s);
			p->body = lf + 3;
			p->body_len = len - (size_t)(p->body - s);
			return;
		}
		q = lf + 1;
	}
	p->hdr_len = len;
	p->body = s + len;
	p->body_len = 0;
}

/* The value of the field of p's header whose line is at line and whose
 * name has nlen bytes (unfolded, cut at size - 1 bytes) into out; false
 * if line is NULL. */
static bool
bounce_part_field(const struct bounce_part *p, const char *line, size_t nlen,
    char *out, size_t size)
{
	const char *end = p->hdr + p->hdr_len, *v, *eol, *next;
	size_t o = 0;
	bool space = false;

	if (line == NULL)
		return false;
	v = line + nlen + 1;
	eol = memchr(line, '\n', (size_t)(end - line));
	next = eol != NULL ? eol + 1 : end;
	/* The value and its continuation lines. */
	while (next < end && (*next == ' ' || *next == '\t')) {
		eol = memchr(next, '\n', (size_t)(end - next));
		next = eol != NULL ? eol + 1 : end;
	}
	for (; v < next && o + 1 < size; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			space = o > 0;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = false;
		if (o + 1 < size)
			out[o++] = *v;
	}
	out[o] = '\0';
	return true;
}

/* "type/subtype" of a Content-Type value, lower case, into out;
 * "text/plain" when there is none. */
static void
bounce_part_type(const char *ct, char *out, size_t size)
{
	size_t n = ct != NULL ? strcspn(ct, "; \t") : 0;

	if (n == 0 || memchr(ct, '/', n) == NULL) {
		(void)snprintf(out, size, "text/plain");
		return;
	}
	bounce_lower(ct, n, out, size);
}

/* The value of parameter name ("boundary") of a Content-Type value, or
 * false. */
static bool
bounce_part_param(const char *ct, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p;

	for (p = strchr(ct, ';'); p != NULL; p = strchr(p + 1, ';')) {
		const char *q = p + 1 + strspn(p + 1, " \t");
		size_t n;

		if (strncasecmp(q, name, nlen) != 0)
			continue;
		q += nlen;
		q += strspn(q, " \t");
		if (*q != '=')
			continue;
		q++;
		q += strspn(q, " \t");
		if (*q == '"') {
			q++;
			n = strcspn(q, "\"");
		} else {
			n = strcspn(q, "; \t");
		}
		if (n == 0 || n >= size)
			return false;
		memcpy(out, q, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

static int
bounce_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 (anything that is not of its alphabet is skipped). */
static void
bounce_b64_decode(const char *s, size_t n, struct buf *out)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t i;

	buf_reserve(out, n / 4 * 3 + 4);
	for (i = 0; i < n; i++) {
		int v = bounce_b64_value((unsigned char)s[i]);

		if (s[i] == '=')
			break;
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->data[out->len++] = (char)((acc >> bits) & 0xff);
		}
	}
	out->data[out->len] = '\0';
}

/* Decodes quoted-printable: "=XX" bytes and soft line breaks. */
static void
bounce_qp_decode(const char *s, size_t n, struct buf *out)
{
	size_t i = 0;

	buf_reserve(out, n + 1);
	while (i < n) {
		const char *eq = memchr(s + i, '=', n - i);
		size_t run = eq != NULL ? (size_t)(eq - (s + i)) : n - i;

		memcpy(out->data + out->len, s + i, run);
		out->len += run;
		i += run;
		if (i >= n)
			break;
		/* At an '=': a soft line break, a byte, or itself. */
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 3;
		} else if (i + 1 < n && s[i + 1] == '\n') {
			i += 2;
		} else if (i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			out->data[out->len++] =
			    (char)(util_hex_digit(s[i + 1]) * 16 +
				util_hex_digit(s[i + 2]));
			i += 3;
		} else {
			out->data[out->len++] = s[i++];
		}
	}
	out->data[out->len] = '\0';
}

static void
bounce_on_leaf(struct bounce_msg *m, const char *ctype, const char *s, size_t n,
    bool inner)
{
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
}

static void bounce_walk(struct bounce_msg *m, const char *s, size_t len,
    int depth, bool inner, size_t *nparts);

/* The parts of a multipart body, between its "--boundary" lines. */
static void
bounce_walk_multipart(struct bounce_msg *m, const struct bounce_part *p,
    const char *boundary, int depth, bool inner, size_t *nparts)
{
	char delim[256];
	const char *s = p->body, *end = p->body + p->body_len, *start = NULL;
	size_t dlen;

	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	if (dlen >= sizeof(delim))
		return;
	/* Each delimiter begins a line; the part before it ends with the
	 * CRLF that precedes the delimiter. The delimiter is searched for,
	 * and kept where a line begins. The normalised message is one
	 * string (no NUL byte before its end): strstr() may look past the
	 * body, whose delimiters are then all found. */
	while (s < end && *nparts < BOUNCE_MAX_PARTS) {
		const char *eol, *next;
		bool last;

		s = strstr(s, delim);
		if (s == NULL || s >= end || (size_t)(end - s) < dlen)
			break;
		if (s > p->body && s[-1] != '\n') {
			s++;
			continue;
		}
		eol = memchr(s, '\n', (size_t)(end - s));
		next = eol != NULL ? eol + 1 : end;
		last = (size_t)(end - s) >= dlen + 2 && s[dlen] == '-' &&
		    s[dlen + 1] == '-';
		if (start != NULL && s >= start) {
			size_t n = (size_t)(s - start);

			if (n >= 2 && start[n - 2] == '\r')
				n -= 2;
			bounce_walk(m, start, n, depth + 1, inner, nparts);
		}
		if (last)
			return;
		start = next;
		s = next;
	}
	/* No closing delimiter: the last part runs to the end. */
	if (start != NULL && start < end)
		bounce_walk(
		    m, start, (size_t)(end - start), depth + 1, inner, nparts);
}

/* True when the message s (header and body) is a multipart/report. */
static bool
bounce_is_report(const char *s, size_t len)
{
	struct bounce_part p;
	char ct[256], type[96];

	bounce_part_split(s, len, &p);
	if (!bounce_part_field(
		&p, p.ct, sizeof(bounce_part_ct) - 1, ct, sizeof(ct)))
		return false;
	bounce_part_type(ct, type, sizeof(type));
	return strcmp(type, "multipart/report") == 0;
}

/* Walks one entity (a header and its body); `inner` is set inside the
 * returned message, whose plain text is kept apart (origtext) and never
 * read as the report. */
static void
bounce_walk(struct bounce_msg *m, const char *s, size_t len, int depth,
    bool inner, size_t *nparts)
{
	struct bounce_part p;
	char ct[1024], type[96], cte[64], boundary[200];
	bool has_ct;

	if (depth > BOUNCE_MAX_DEPTH || *nparts >= BOUNCE_MAX_PARTS)
		return;
	(*nparts)++;
	bounce_part_split(s, len, &p);
	has_ct = bounce_part_field(
	    &p, p.ct, sizeof(bounce_part_ct) - 1, ct, sizeof(ct));
	bounce_part_type(has_ct ? ct : NULL, type, sizeof(type));
	if (strncmp(type, "multipart/", 10) == 0) {
		if (bounce_part_param(
			ct, "boundary", boundary, sizeof(boundary)))
			bounce_walk_multipart(
			    m, &p, boundary, depth, inner, nparts);
		return;
	}
	if (strcmp(type, "message/rfc822") == 0 ||
	    strcmp(type, "message/global") == 0) {
		/* A bounce forwarded inside this one: read it; otherwise
		 * the returned message: its header, and its text (a
		 * gateway may return the remote bounce here). Nothing
		 * inside a returned message is read as the report. */
		if (!inner && m->dsn.len == 0 &&
		    bounce_is_report(p.body, p.body_len)) {
			bounce_walk(
			    m, p.body, p.body_len, depth + 1, false, nparts);
		} else if (!inner && !m->has_orig) {
			bounce_hdrs_parse(&m->orig, p.body, p.body_len);
			m->has_orig = true;
			m->orig_msg = p.body;
			m->orig_msg_len = p.body_len;
		}
		return;
	}
	if (bounce_part_field(
		&p, p.cte, sizeof(bounce_part_cte) - 1, cte, sizeof(cte)) &&
	    (strncasecmp(cte, "base64", 6) == 0 ||
		strncasecmp(cte, "quoted-printable", 16) == 0)) {
		bool had_orig = m->has_orig;
		struct buf dec;

		buf_init(&dec);
		if (cte[0] == 'b' || cte[0] == 'B')
			bounce_b64_decode(p.body, p.body_len, &dec);
		else
			bounce_qp_decode(p.body, p.body_len, &dec);
		bounce_on_leaf(
		    m, type, dec.data != NULL ? dec.data : "", dec.len, inner);
		/* A header read from the decoded text must not refer to
		 * it. */
		if (m->has_orig && !had_orig)
			bounce_hdrs_keep(&m->orig);
		buf_fini(&dec);
		return;
	}
	bounce_on_leaf(m, type, p.body, p.body_len, inner);
}

void
bounce_msg_origtext(struct bounce_msg *m)
{
	size_t nparts = 0;

	if (m->origtext_read)
		return;
	m->origtext_read = true;
	if (m->orig_msg != NULL)
		bounce_walk(m, m->orig_msg, m->orig_msg_len, 1, true, &nparts);
	if (m->origtext.data == NULL)
		buf_puts(&m->origtext, "");
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
 * (mangled by some relay or anonymiser): the plain body serves better
 * than one bogus part. */
static bool
bounce_boundary_present(const char *ct, const char *s)
{
	const char *b = ct != NULL ? bounce_ci_find(ct, "boundary=") : NULL;
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

/* Fills m from the normalised message; false when it has no header. cl:
 * the lines that begin with 'c' (bounce_normalise()). */
static bool
bounce_msg_read(struct bounce_msg *m, const char *s, size_t len,
    const struct bounce_c_lines *cl)
{
	const char *ct, *rt;
	size_t nparts = 0;

	bounce_hdrs_parse(&m->top, s, len);
	if (m->top.n == 0)
		return false;
	m->subject = bounce_decode_words(bounce_hdrs_get(&m->top, "Subject"));
	ct = bounce_hdrs_get(&m->top, "Content-Type");
	rt = ct != NULL ? bounce_ci_find(ct, "report-type=") : NULL;
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
	if (bounce_count_composite(s, len, cl) <= BOUNCE_MAX_COMPOSITE &&
	    bounce_boundary_present(ct, s))
		bounce_walk(m, s, len, 0, false, &nparts);
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
	m->text_cut = bounce_text_orig_start(m->text.data);
	if (!m->has_orig) {
		/* A returned message pasted into the text (no MIME). */
		const char *o = m->text_cut;

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
	const char *lo, *up;

	if (s == NULL)
		return NULL;
	/* Each '+' that ends "bounces", in any case: the places of "s+"
	 * and of "S+", taken in order (most '+' follow no 's'). */
	lo = strstr(s, "s+");
	up = strstr(s, "S+");
	while (lo != NULL || up != NULL) {
		const char *p, *t;
		size_t n = 0;

		if (up == NULL || (lo != NULL && lo < up)) {
			p = lo + 1;
			lo = strstr(p, "s+");
		} else {
			p = up + 1;
			up = strstr(p, "S+");
		}
		t = p + 1;
		if (p - s < (ptrdiff_t)sizeof(tag) - 2 ||
		    strncasecmp(p - (sizeof(tag) - 2), tag, sizeof(tag) - 2) !=
			0)
			continue;
		p -= sizeof(tag) - 2;
		if (p > s &&
		    (isalnum((unsigned char)p[-1]) || p[-1] == '.' ||
			p[-1] == '-' || p[-1] == '_' || p[-1] == '+'))
			continue;
		while (n <= 64 && isalnum((unsigned char)t[n]))
			n++;
		if (n >= 1 && n <= 64 && t[n] == '@')
			return xstrndup(t, n);
	}
	return NULL;
}

/* False when field hd cannot hold "bounces+": no '+' follows an 's' in
 * its value as written (folding never brings two bytes together), so
 * that most fields need not be folded to be looked at. */
static bool
bounce_hdr_may_hold_verp(const struct bounce_hdr *hd)
{
	const char *p = hd->raw, *end;

	if (p == NULL)
		return true;
	end = p + hd->raw_len;
	while (p < end) {
		p = memchr(p, '+', (size_t)(end - p));
		if (p == NULL)
			return false;
		if (p > hd->raw && (p[-1] | 0x20) == 's')
			return true;
		p++;
	}
	return false;
}

static char *
bounce_find_verp(const struct bounce_msg *m, const char *raw)
{
	static const char *const top[] = { "To", "Delivered-To",
		"X-Original-To", "Envelope-To", "X-Envelope-To",
		"X-Original-Recipient", "X-Rcpt-To", "Received" };
	static const char *const orig[] = { "Return-Path", "From", "Sender" };
	bool in_raw;
	size_t i;
	char *t;

	/* The bounce's own fields are part of raw, and folding brings no
	 * two bytes together: where raw holds no "s+" in either case,
	 * neither they nor raw hold a token, and only the fields of the
	 * returned message (which may come from a decoded part) are left
	 * to look at. */
	in_raw = strstr(raw, "s+") != NULL || strstr(raw, "S+") != NULL;
	for (i = 0; in_raw && i < UTIL_ARRAY_LEN(top); i++) {
		t = bounce_verp_in(bounce_hdrs_get(&m->top, top[i]));
		if (t != NULL)
			return t;
	}
	for (i = 0; i < UTIL_ARRAY_LEN(orig); i++) {
		t = bounce_verp_in(bounce_hdrs_get(&m->orig, orig[i]));
		if (t != NULL)
			return t;
	}
	for (i = 0; in_raw && i < m->top.n; i++) {
		if (!bounce_hdr_may_hold_verp(&m->top.v[i]))
			continue;
		t = bounce_verp_in(bounce_hdrs_value(&m->top, i));
		if (t != NULL)
			return t;
	}
	/* Anywhere else: the DSN, the text, a quoted header. */
	return in_raw ? bounce_verp_in(raw) : NULL;
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
	return strlen(c) == 5 && (c[0] == '4' || c[0] == '5') && c[2] >= '1' &&
	    c[2] <= '9' && c[4] >= '1' && c[4] <= '9';
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
	for (p = bounce_ci_find(rc->diagnostic, "host "); p != NULL;
	     p = bounce_ci_find(p + 5, "host ")) {
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
bounce_finish_rcpt(
    struct bounce_msg *m, struct bounce_rcptv *v, size_t i, const char *ctx)
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
	/* The diagnostic was read for its command already (bounce_mta.c);
	 * the words around the recipient may still name it. */
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
		char *quoted;

		bounce_msg_origtext(m);
		quoted = bounce_text_quoted_errors(m, rc->recipient);

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
bounce_analyse(struct bounce_msg *m, struct bounce_report *r)
{
	struct bounce_rcptv v = { 0 };
	char **ctx = NULL;
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
	if (v.n == 0 &&
	    bounce_ci_find(m->text.data, "final-recipient:") != NULL)
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
	ctx = bounce_text_scan(m, &v);
	bounce_mta_hint(m, &v, ctx);
	for (i = 0; i < v.n; i++)
		bounce_finish_rcpt(m, &v, i, ctx[i]);
done:
	for (i = 0; ctx != NULL && i < v.n; i++)
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
	struct bounce_c_lines cl;
	struct buf norm;
	const char *id;

	*out = NULL;
	if (len > BOUNCE_MAX_SIZE)
		return -EMSGSIZE;
	if (data == NULL || len == 0)
		return -EINVAL;
	buf_init(&norm);
	bounce_normalise(data, len, &norm, &cl);
	if (norm.data == NULL || !bounce_looks_like_mail(norm.data, norm.len)) {
		buf_fini(&norm);
		return -EINVAL;
	}
	memset(&m, 0, sizeof(m));
	buf_init(&m.text);
	buf_init(&m.dsn);
	buf_init(&m.arf);
	buf_init(&m.origtext);
	if (!bounce_msg_read(&m, norm.data, norm.len, &cl)) {
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
