/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dkimsign: see dkimsign.h. The signatures are made by dkimsign_sig.c
 * with the keys parsed once (dkimkey). Each load has libopendkim, the
 * reference implementation, verify a signature of every key over a
 * message made to try the canonicalisation (folded and non-ASCII
 * header fields, white space at line ends, a line starting with a dot,
 * empty lines at the end): a signer it does not agree with is refused,
 * so the daemon keeps its last good one and check-config fails.
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
};

struct dkimsign {
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
	s->n_keys++;
	return 0;
}

/* A message that tries the corners of relaxed canonicalisation. */
static const char dkimsign_sample[] =
    "From: =?UTF-8?Q?Caf=C3=A9_Teulu?= <news@example.org>\r\n"
    "To: parent@example.net\r\n"
    "Subject:   A subject  with\r\n\t folded   white space \r\n"
    "Date: Thu, 03 Dec 2026 09:30:00 +0000\r\n"
    "Message-ID: <check@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "List-Unsubscribe: <https://example.org/u?t=x>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "\r\n"
    "Annwyl riant,  \t\r\n"
    ".a line that starts with a dot\r\n"
    "\r\n"
    "Diolch\t  yn fawr\r\n"
    "\r\n"
    "\r\n";

static DKIM_CBSTAT
dkimsign_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t len)
{
	const char *record = dkim_get_user_context(d);

	(void)sig;
	if (strlen(record) >= len)
		return DKIM_CBSTAT_ERROR;
	memcpy(buf, record, strlen(record) + 1);
	return DKIM_CBSTAT_CONTINUE;
}

int
dkimsign_verify(const struct buf *msg, const char *record, char **why)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM_SIGINFO *sig = NULL;
	DKIM_STAT st = DKIM_STAT_INTERNAL;
	DKIM *d = NULL;

	*why = NULL;
	if (lib != NULL &&
	    dkim_set_key_lookup(lib, dkimsign_lookup) == DKIM_STAT_OK)
		d = dkim_verify(lib, (const u_char *)"check", NULL, &st);
	if (d != NULL) {
		dkim_set_user_context(d, (void *)record);
		st = dkim_chunk(d, (u_char *)msg->data, msg->len);
		if (st == DKIM_STAT_OK)
			st = dkim_chunk(d, NULL, 0);
		if (st == DKIM_STAT_OK)
			st = dkim_eom(d, NULL);
		sig = dkim_getsignature(d);
	}
	if (st != DKIM_STAT_OK || sig == NULL || !DKIM_SIG_CHECK(sig)) {
		const char *err = d != NULL ? dkim_geterror(d) : NULL;

		*why = xasprintf("%s%s%s%s%s", dkim_getresultstr(st),
		    sig != NULL ? ": " : "",
		    sig == NULL ? ""
			: dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH
			? "the body hash does not match"
			: dkim_sig_geterrorstr(dkim_sig_geterror(sig)),
		    err != NULL ? ": " : "", err != NULL ? err : "");
	}
	if (d != NULL)
		dkim_free(d);
	if (lib != NULL)
		dkim_close(lib);
	return *why == NULL ? 0 : -EINVAL;
}

/* Signs the sample with key k alone and has libopendkim verify it. */
static int
dkimsign_check(
    const struct dkimsign *s, const struct dkimsign_key *k, char **why)
{
	const struct dkimsign_sig_job job = {
		.key = k->key,
		.domain = s->domain,
		.selector = k->selector,
		.headers = dkimsign_headers,
		.oversigned = dkimsign_oversigned,
		.now = time(NULL),
	};
	struct buf sample, msg;
	char *record = dkimkey_record(k->key), *what = NULL;
	int ret;

	buf_init(&sample);
	buf_init(&msg);
	buf_append(&sample, dkimsign_sample, sizeof(dkimsign_sample) - 1);
	ret = dkimsign_sig(&job, &sample, &msg, &what);
	if (ret == 0) {
		buf_append(&msg, sample.data, sample.len);
		ret = dkimsign_verify(&msg, record, &what);
	}
	if (ret != 0) {
		*why = xasprintf("DKIM %s key: libopendkim does not verify "
				 "its signature (%s)",
		    dkimkey_type_name(k->key), what);
		free(what);
	}
	free(record);
	buf_fini(&sample);
	buf_fini(&msg);
	return ret;
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
	ret = dkimsign_add_key(
	    s, cfg->dkim_key_file, cfg->dkim_selector, false, why);
	if (ret == 0 && cfg->dkim_ed25519_key_file != NULL)
		ret = dkimsign_add_key(s, cfg->dkim_ed25519_key_file,
		    cfg->dkim_ed25519_selector, true, why);
	for (size_t i = 0; ret == 0 && i < s->n_keys; i++)
		ret = dkimsign_check(s, &s->keys[i], why);
	if (ret != 0) {
		dkimsign_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

int
dkimsign_message(const struct dkimsign *s, struct buf *msg, char **why)
{
	struct buf sigs;
	int ret = 0;

	*why = NULL;
	buf_init(&sigs);
	for (size_t i = 0; ret == 0 && i < s->n_keys; i++) {
		const struct dkimsign_sig_job job = {
			.key = s->keys[i].key,
			.domain = s->domain,
			.selector = s->keys[i].selector,
			.headers = dkimsign_headers,
			.oversigned = dkimsign_oversigned,
			.now = time(NULL),
		};

		ret = dkimsign_sig(&job, msg, &sigs, why);
	}
	if (ret == 0) {
		struct buf signed_msg = sigs;

		buf_append(&signed_msg, msg->data, msg->len);
		sigs = *msg;
		*msg = signed_msg;
	}
	buf_fini(&sigs);
	return ret;
}
