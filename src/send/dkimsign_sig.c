/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dkimsign_sig: one DKIM-Signature header field, rsa-sha256 or
 * ed25519-sha256, relaxed/relaxed (RFC 6376, RFC 8463): the relaxed
 * canonicalisation (§3.4.2, §3.4.4), the two SHA-256 hashes and the
 * field are made here, the signature of the header hash by dkimkey with
 * the key parsed once. libopendkim reads the key again for every
 * signature it makes, which costs several times the RSA signature
 * itself, and leaks the key of each Ed25519 one: a daemon signing
 * thousands of messages an hour cannot afford either. libopendkim
 * remains the judge: dkimsign.c has it verify a signature of every key
 * at each load, and the tests check every kind with dkimpy as well.
 *
 * The header fields signed and their order in h= are libopendkim's for
 * the same lists: the fields of the list present, top to bottom, then
 * each over-signed name once more.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "buf.h"
#include "dkimkey.h"
#include "send/dkimsign_int.h"
#include "util.h"

/* Where h= and b= are folded. */
#define DKIMSIGN_SIG_WIDTH 72

/* One header field of the message: its bytes without the final CRLF. */
struct dkimsign_field {
	const char *at;
	size_t len;
	size_t name_len;
	bool used;
};

static bool
dkimsign_sig_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits the header block of msg into fields; *body points after the
 * empty line (at the end when there is none). Newly allocated. */
static struct dkimsign_field *
dkimsign_sig_fields(const char *p, size_t len, size_t *n, const char **body)
{
	struct dkimsign_field *f = NULL;
	size_t cap = 0, at = 0;

	*n = 0;
	*body = p + len;
	while (at < len) {
		size_t start = at, end;
		const char *colon;

		if (len - at >= 2 && p[at] == '\r' && p[at + 1] == '\n') {
			*body = p + at + 2;
			break;
		}
		/* The field runs to a CRLF not followed by white space. */
		for (end = at;; end += 2) {
			const char *crlf =
			    memmem(p + end, len - end, "\r\n", 2);

			if (crlf == NULL) {
				end = len;
				break;
			}
			end = (size_t)(crlf - p);
			if (end + 2 >= len || !dkimsign_sig_wsp(p[end + 2]))
				break;
		}
		colon = memchr(p + start, ':', end - start);
		if (colon != NULL) {
			if (*n == cap) {
				cap = cap == 0 ? 32 : cap * 2;
				f = xreallocarray(f, cap, sizeof(*f));
			}
			f[*n].at = p + start;
			f[*n].len = end - start;
			f[*n].name_len = (size_t)(colon - (p + start));
			f[*n].used = false;
			(*n)++;
		}
		at = end + 2 <= len ? end + 2 : len;
	}
	return f;
}

/* Whether field f is called name (case does not matter, nor white space
 * before the colon). */
static bool
dkimsign_sig_named(const struct dkimsign_field *f, const char *name)
{
	size_t n = f->name_len;

	while (n > 0 && dkimsign_sig_wsp(f->at[n - 1]))
		n--;
	return strlen(name) == n && strncasecmp(f->at, name, n) == 0;
}

/* Appends field text (name_len bytes of name, then ':' and the value)
 * in relaxed canonical form, with CRLF: the name lower case, the value
 * unfolded, runs of white space made one space, none at either end. */
static void
dkimsign_sig_canon_field(
    struct buf *out, const char *text, size_t len, size_t name_len)
{
	bool space = false, started = false;
	size_t n = name_len;

	while (n > 0 && dkimsign_sig_wsp(text[n - 1]))
		n--;
	for (size_t i = 0; i < n; i++)
		buf_putc(out, (char)tolower((unsigned char)text[i]));
	buf_putc(out, ':');
	for (size_t i = name_len + 1; i < len; i++) {
		char c = text[i];

		if (c == '\r' || c == '\n')
			continue;
		if (dkimsign_sig_wsp(c)) {
			space = true;
			continue;
		}
		if (space && started)
			buf_putc(out, ' ');
		space = false;
		started = true;
		buf_putc(out, c);
	}
	buf_puts(out, "\r\n");
}

/* Hashes the body in relaxed canonical form: runs of white space made
 * one space, none at line ends, no empty lines at the end, and a final
 * CRLF unless the body is empty. */
static int
dkimsign_sig_body_hash(const char *p, size_t len, unsigned char *md)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t empty = 0, at = 0;
	struct buf line;
	unsigned int mdlen = 0;
	int ok;

	if (ctx == NULL)
		return -ENOMEM;
	buf_init(&line);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	while (ok && at < len) {
		const char *crlf = memmem(p + at, len - at, "\r\n", 2);
		size_t l = crlf != NULL ? (size_t)(crlf - (p + at)) : len - at;
		bool space = false;

		buf_reset(&line);
		for (size_t i = 0; i < l; i++) {
			if (dkimsign_sig_wsp(p[at + i])) {
				space = true;
				continue;
			}
			if (space)
				buf_putc(&line, ' ');
			space = false;
			buf_putc(&line, p[at + i]);
		}
		if (line.len == 0) {
			empty++;
		} else {
			for (; ok && empty > 0; empty--)
				ok = EVP_DigestUpdate(ctx, "\r\n", 2) == 1;
			ok = ok &&
			    EVP_DigestUpdate(ctx, line.data, line.len) == 1 &&
			    EVP_DigestUpdate(ctx, "\r\n", 2) == 1;
		}
		at += l + (crlf != NULL ? 2 : 0);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	buf_fini(&line);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static char *
dkimsign_sig_base64(const unsigned char *p, size_t n)
{
	unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock(b64, p, (int)n);
	return (char *)b64;
}

static bool
dkimsign_sig_listed(const char *const *names, const struct dkimsign_field *f)
{
	for (size_t i = 0; names[i] != NULL; i++)
		if (dkimsign_sig_named(f, names[i]))
			return true;
	return false;
}

/* The h= names: the listed fields present, top to bottom, as written,
 * then the over-signed names. Each name is followed by ':' in *h but
 * the last; *names gets pointers into h's copy, NULL-terminated. */
static void
dkimsign_sig_hlist(const struct dkimsign_sig_job *job,
    const struct dkimsign_field *f, size_t n, struct buf *h)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = f[i].name_len;

		if (!dkimsign_sig_listed(job->headers, &f[i]))
			continue;
		while (l > 0 && dkimsign_sig_wsp(f[i].at[l - 1]))
			l--;
		if (h->len > 0)
			buf_putc(h, ':');
		buf_append(h, f[i].at, l);
	}
	for (size_t i = 0; job->oversigned[i] != NULL; i++) {
		if (h->len > 0)
			buf_putc(h, ':');
		buf_puts(h, job->oversigned[i]);
	}
}

/* Feeds the fields h names into the header hash: for each name the
 * last field of that name not taken yet (RFC 6376 §5.4.2); a name with
 * none left adds nothing. */
static int
dkimsign_sig_hash_fields(EVP_MD_CTX *ctx, struct dkimsign_field *f, size_t n,
    const char *h, struct buf *canon)
{
	const char *p = h;

	while (*p != '\0') {
		size_t l = strcspn(p, ":");
		char *name = xstrndup(p, l);

		for (size_t i = n; i-- > 0;) {
			if (f[i].used || !dkimsign_sig_named(&f[i], name))
				continue;
			f[i].used = true;
			buf_reset(canon);
			dkimsign_sig_canon_field(
			    canon, f[i].at, f[i].len, f[i].name_len);
			if (EVP_DigestUpdate(ctx, canon->data, canon->len) !=
			    1) {
				free(name);
				return -EIO;
			}
			break;
		}
		free(name);
		p += l;
		if (*p == ':')
			p++;
	}
	return 0;
}

/* Appends text to out, folding before a piece that would pass the
 * width; *col is the current column. */
static void
dkimsign_sig_fold(struct buf *out, size_t *col, const char *text, size_t n)
{
	if (*col + n > DKIMSIGN_SIG_WIDTH && *col > 1) {
		buf_puts(out, "\r\n\t ");
		*col = 2;
	}
	buf_append(out, text, n);
	*col += n;
}

int
dkimsign_sig(const struct dkimsign_sig_job *job, const struct buf *msg,
    struct buf *out, char **why)
{
	unsigned char bh[32], hash[32], sig[DKIMKEY_SIG_MAX];
	struct dkimsign_field *f;
	struct buf h, field, canon;
	EVP_MD_CTX *ctx = NULL;
	const char *body, *p;
	char *bh64 = NULL, *b64 = NULL;
	unsigned int hlen = 0;
	size_t n, col, sig_len = 0;
	int ret;

	*why = NULL;
	f = dkimsign_sig_fields(msg->data, msg->len, &n, &body);
	buf_init(&h);
	buf_init(&field);
	buf_init(&canon);
	ret = dkimsign_sig_body_hash(
	    body, (size_t)(msg->data + msg->len - body), bh);
	if (ret != 0)
		goto out;
	bh64 = dkimsign_sig_base64(bh, sizeof(bh));
	dkimsign_sig_hlist(job, f, n, &h);
	/* The field, with an empty b= as it is hashed. */
	buf_printf(&field,
	    "DKIM-Signature: v=1; a=%s-sha256; c=relaxed/relaxed; "
	    "d=%s;\r\n\ts=%s; t=%lld; bh=%s;\r\n\th=",
	    dkimkey_type_name(job->key), job->domain, job->selector,
	    (long long)job->now, bh64);
	col = 3;
	for (p = h.data; *p != '\0';) {
		size_t l = strcspn(p, ":");

		dkimsign_sig_fold(&field, &col, p, l + (p[l] == ':'));
		p += l + (p[l] == ':');
	}
	buf_puts(&field, ";\r\n\tb=");
	ctx = EVP_MD_CTX_new();
	ret = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1
	    ? dkimsign_sig_hash_fields(ctx, f, n, h.data, &canon)
	    : -EIO;
	if (ret == 0) {
		buf_reset(&canon);
		dkimsign_sig_canon_field(
		    &canon, field.data, field.len, strlen("DKIM-Signature"));
		/* Hashed without its CRLF (RFC 6376 §3.7). */
		if (EVP_DigestUpdate(ctx, canon.data, canon.len - 2) != 1 ||
		    EVP_DigestFinal_ex(ctx, hash, &hlen) != 1 || hlen != 32)
			ret = -EIO;
	}
	if (ret == 0)
		ret = dkimkey_sign(job->key, hash, sizeof(hash), sig, &sig_len);
	if (ret != 0)
		goto out;
	b64 = dkimsign_sig_base64(sig, sig_len);
	col = 3;
	for (p = b64; *p != '\0';) {
		size_t l = strlen(p) > 60 ? 60 : strlen(p);

		dkimsign_sig_fold(&field, &col, p, l);
		p += l;
	}
	buf_puts(&field, "\r\n");
	buf_append(out, field.data, field.len);
out:
	if (ret != 0)
		*why = xasprintf("DKIM %s: signing failed (%s)",
		    dkimkey_type_name(job->key), strerror(-ret));
	EVP_MD_CTX_free(ctx);
	free(bh64);
	free(b64);
	free(f);
	buf_fini(&h);
	buf_fini(&field);
	buf_fini(&canon);
	return ret;
}
