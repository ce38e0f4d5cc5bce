/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dkimsign_int: between dkimsign.c (the signer: keys, the header lists,
 * libopendkim's check) and dkimsign_sig.c (one signature field), and
 * for the tests. Not for other modules.
 */
#ifndef FM_DKIMSIGN_INT_H
#define FM_DKIMSIGN_INT_H

#include <time.h>

struct buf;
struct dkimkey;

/* What one signature is made of: names borrowed. headers and oversigned
 * are NULL-terminated lists of header field names. */
struct dkimsign_sig_job {
	const struct dkimkey *key; /* RSA or Ed25519: a= follows it */
	const char *domain;        /* d= */
	const char *selector;      /* s= */
	const char *const *headers;
	const char *const *oversigned;
	time_t now; /* t= */
};

/*
 * Appends to out a DKIM-Signature header field, relaxed/relaxed, over
 * msg (a whole message, CRLF line ends), with CRLF line ends. Returns
 * 0, or a negative errno with *why (newly allocated) and out unchanged.
 */
int dkimsign_sig(const struct dkimsign_sig_job *job, const struct buf *msg,
    struct buf *out, char **why);

/*
 * Has libopendkim verify the signature at the top of msg (a signed
 * message, CRLF line ends) with record as the DNS TXT record of its
 * key ("v=DKIM1; k=rsa; p=..."). Returns 0 when it passes; else -EINVAL
 * with *why (newly allocated) in libopendkim's words.
 */
int dkimsign_verify(const struct buf *msg, const char *record, char **why);

#endif
