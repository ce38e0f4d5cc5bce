/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dkimsign: see dkimsign.h. RSA signatures are libopendkim's: one
 * DKIM_LIB handle per signer holds the options (which header fields to
 * sign and over-sign); each message gets a DKIM handle of its own, so
 * threads never share one. Ed25519 signatures are made by
 * dkimsign_ed25519.c on libcrypto, because libopendkim leaks the key of
 * each Ed25519 signature it makes (see there).
 *
 * libopendkim takes the private key as text for every message and parses
 * it again each time: that parse is most of what a signature costs (see
 * bench/smtp_bench.sh), and it is why signing runs in the compose
 * workers, spread over the thread pool, and never on the loop.
 */
#include "config.h"

#include "send/dkimsign.h"

#include <sys/types.h>

#include <errno.h>
#include <opendkim/dkim.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cfg.h"
#include "dkimkey.h"
#include "send/dkimsign_int.h"
#include "util.h"

#define DKIMSIGN_FIELD "DKIM-Signature: "

/* Every header field familymail writes that a reader sees or acts on.
 * Content-Transfer-Encoding is signed too: changing it changes what the
 * body says. Received, Return-Path and other fields relays add are not. */
static const char *const dkimsign_headers[] = {
	"From",
	"To",
	"Subject",
	"Date",
	"Message-ID",
	"Reply-To",
	"MIME-Version",
	"Content-Type",
	"Content-Transfer-Encoding",
	"List-Id",
	"List-Unsubscribe",
	"List-Unsubscribe-Post",
	"Auto-Submitted",
	"Precedence",
	"Feedback-ID",
	"X-Auto-Response-Suppress",
	NULL,
};

/* Signed once more than they occur (absent ones once), so that a copy
 * added later, a second From or a forged List-Unsubscribe, breaks the
 * signature. Feedback-ID is left out: some relays add their own. */
static const char *const dkimsign_oversigned[] = {
	"From",
	"To",
	"Subject",
	"Date",
	"Message-ID",
	"Reply-To",
	"MIME-Version",
	"Content-Type",
	"List-Id",
	"List-Unsubscribe",
	"List-Unsubscribe-Post",
	NULL,
};

struct dkimsign_key {
	struct dkimkey *key;
	char *selector;
	dkim_alg_t alg;
};

struct dkimsign {
	DKIM_LIB *lib;
	char *domain;
	struct dkimsign_key keys[2];
	size_t n_keys;
};

void
dkimsign_free(struct dkimsign *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_keys; i++) {
		dkimkey_free(s->keys[i].key);
		free(s->keys[i].selector);
	}
	if (s->lib != NULL)
		dkim_close(s->lib);
	free(s->domain);
	free(s);
}

/* Loads one key: RSA or Ed25519 for key_file, Ed25519 only for
 * ed25519_key_file. */
static int
dkimsign_add_key(struct dkimsign *s, const char *path, const char *selector,
    bool ed25519_only, char **why)
{
	struct dkimsign_key *k = &s->keys[s->n_keys];
	char *what = NULL;
	int ret;

	ret = dkimkey_load(path, &k->key, &what);
	if (ret == 0 && ed25519_only &&
	    dkimkey_type(k->key) != DKIMKEY_ED25519) {
		what = xasprintf("an %s key where Ed25519 is needed",
		    dkimkey_type_name(k->key));
		dkimkey_free(k->key);
		k->key = NULL;
		ret = -EINVAL;
	}
	if (ret != 0) {
		*why = xasprintf("DKIM key %s: %s", path, what);
		free(what);
		return ret;
	}
	k->selector = xstrdup(selector);
	k->alg = dkimkey_type(k->key) == DKIMKEY_ED25519
	    ? DKIM_SIGN_ED25519SHA256
	    : DKIM_SIGN_RSASHA256;
	s->n_keys++;
	return 0;
}

int
dkimsign_load(const struct cfg *cfg, struct dkimsign **out, char **why)
{
	struct dkimsign *s;
	int ret;

	*out = NULL;
	*why = NULL;
	if (cfg->dkim_domain == NULL)
		return 0;
	s = xcalloc(1, sizeof(*s));
	s->domain = xstrdup(cfg->dkim_domain);
	s->lib = dkim_init(NULL, NULL);
	if (s->lib == NULL) {
		*why = xstrdup("DKIM: libopendkim did not start");
		dkimsign_free(s);
		return -ENOMEM;
	}
	if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
		(void *)dkimsign_headers, sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
		(void *)dkimsign_oversigned, sizeof(char **)) != DKIM_STAT_OK) {
		*why = xstrdup("DKIM: libopendkim refused the header lists");
		dkimsign_free(s);
		return -EINVAL;
	}
	ret = dkimsign_add_key(
	    s, cfg->dkim_key_file, cfg->dkim_selector, false, why);
	if (ret == 0 && cfg->dkim_ed25519_key_file != NULL)
		ret = dkimsign_add_key(s, cfg->dkim_ed25519_key_file,
		    cfg->dkim_ed25519_selector, true, why);
	if (ret != 0) {
		dkimsign_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* Appends "DKIM-Signature: ..." with CRLF line ends to out. */
static int
dkimsign_one(const struct dkimsign *s, const struct dkimsign_key *k,
    const struct buf *msg, struct buf *out, char **why)
{
	DKIM_STAT st;
	DKIM *d;
	unsigned char *hdr = NULL;
	size_t len = 0;

	if (dkimkey_type(k->key) == DKIMKEY_ED25519) {
		const struct dkimsign_ed25519_job job = {
			.key = k->key,
			.domain = s->domain,
			.selector = k->selector,
			.headers = dkimsign_headers,
			.oversigned = dkimsign_oversigned,
			.now = time(NULL),
		};

		return dkimsign_ed25519(&job, msg, out, why);
	}

	d = dkim_sign(s->lib, (const unsigned char *)"familymail", NULL,
	    (dkim_sigkey_t)dkimkey_pem(k->key),
	    (const unsigned char *)k->selector,
	    (const unsigned char *)s->domain, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, k->alg, -1, &st);
	if (d == NULL) {
		*why = xasprintf("DKIM %s: %s", dkimkey_type_name(k->key),
		    dkim_getresultstr(st));
		return -EIO;
	}
	st = dkim_chunk(d, (unsigned char *)msg->data, msg->len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	if (st == DKIM_STAT_OK)
		st = dkim_getsighdr_d(d, strlen(DKIMSIGN_FIELD), &hdr, &len);
	if (st != DKIM_STAT_OK) {
		const char *err = dkim_geterror(d);

		*why = xasprintf("DKIM %s: %s%s%s", dkimkey_type_name(k->key),
		    dkim_getresultstr(st), err != NULL ? ": " : "",
		    err != NULL ? err : "");
		dkim_free(d);
		return -EIO;
	}
	/* libopendkim folds with bare LF; the message is CRLF. */
	buf_puts(out, DKIMSIGN_FIELD);
	for (size_t i = 0; i < len; i++) {
		if (hdr[i] == '\n' && (i == 0 || hdr[i - 1] != '\r'))
			buf_putc(out, '\r');
		buf_putc(out, (char)hdr[i]);
	}
	buf_puts(out, "\r\n");
	dkim_free(d);
	return 0;
}

int
dkimsign_message(const struct dkimsign *s, struct buf *msg, char **why)
{
	struct buf sigs;
	int ret = 0;

	*why = NULL;
	buf_init(&sigs);
	for (size_t i = 0; ret == 0 && i < s->n_keys; i++)
		ret = dkimsign_one(s, &s->keys[i], msg, &sigs, why);
	if (ret == 0) {
		struct buf signed_msg = sigs;

		buf_append(&signed_msg, msg->data, msg->len);
		sigs = *msg;
		*msg = signed_msg;
	}
	buf_fini(&sigs);
	return ret;
}
