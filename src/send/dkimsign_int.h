/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dkimsign_int: between dkimsign.c (the signer, libopendkim for RSA) and
 * dkimsign_ed25519.c (Ed25519 signatures on libcrypto). Not for other
 * modules.
 */
#ifndef FM_DKIMSIGN_INT_H
#define FM_DKIMSIGN_INT_H

#include <time.h>

struct buf;
struct dkimkey;

/* What one Ed25519 signature is made of: names borrowed. headers and
 * oversigned are NULL-terminated lists of header field names. */
struct dkimsign_ed25519_job {
	const struct dkimkey *key; /* an Ed25519 key */
	const char *domain;        /* d= */
	const char *selector;      /* s= */
	const char *const *headers;
	const char *const *oversigned;
	time_t now; /* t= */
};

/*
 * Appends to out an ed25519-sha256 DKIM-Signature header field (RFC
 * 8463), relaxed/relaxed, over msg (a whole message, CRLF line ends),
 * with CRLF line ends. Returns 0, or a negative errno with *why (newly
 * allocated) and out unchanged.
 */
int dkimsign_ed25519(const struct dkimsign_ed25519_job *job,
    const struct buf *msg, struct buf *out, char **why);

#endif
