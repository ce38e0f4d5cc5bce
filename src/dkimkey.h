/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dkimkey: one DKIM private key, read from its secret file and checked:
 * the type (RSA of DKIMKEY_RSA_MIN_BITS or more, or Ed25519), the public
 * half as DNS publishes it (the p= of a "v=DKIM1" TXT record), and
 * whether a published p= is that public half. The config check, the
 * signer and check-dns share it, so all three judge a key alike.
 *
 * It makes no DKIM signature (send/dkimsign.c does), only the raw
 * signature of a hash, and does no DNS. libcrypto structures stay inside
 * dkimkey.c.
 */
#ifndef FM_DKIMKEY_H
#define FM_DKIMKEY_H

#include <stdbool.h>
#include <stddef.h>

/* RSA keys shorter than this are refused (RFC 8301 asks verifiers to
 * accept 1024 bits and up; mailbox providers want 2048). */
#define DKIMKEY_RSA_MIN_BITS 2048
/* Largest key file read: an 8192-bit RSA key in PEM is about 6.4 KB. */
#define DKIMKEY_FILE_MAX (16 * 1024)

enum dkimkey_type {
	DKIMKEY_RSA,
	DKIMKEY_ED25519,
};

struct dkimkey;

/*
 * Reads the private key in the PEM file at path, with the rules of
 * every secret file: a regular file that neither group nor others can
 * read. Returns 0 and a new *key (free with dkimkey_free()); or a
 * negative errno and *why (newly allocated, the caller frees), which
 * says what is wrong without naming the path: "No such file or
 * directory", "readable by group or others (chmod 600 it)", "not a PEM
 * private key", "a public key, not the private key", "an RSA key of
 * 1024 bits (2048 or more are needed)", "an EC key (DKIM signs with RSA
 * or Ed25519)", "encrypted with a passphrase (...)".
 */
int dkimkey_load(const char *path, struct dkimkey **key, char **why);

/* Frees k, wiping the private key; dkimkey_free(NULL) does nothing. */
void dkimkey_free(struct dkimkey *k);

enum dkimkey_type dkimkey_type(const struct dkimkey *k);
/* "rsa" or "ed25519", as DKIM's k= and a= name them. */
const char *dkimkey_type_name(const struct dkimkey *k);
int dkimkey_bits(const struct dkimkey *k);

/* The TXT record to publish at SELECTOR._domainkey.DOMAIN:
 * "v=DKIM1; k=rsa; p=BASE64" (p= the DER SubjectPublicKeyInfo) or
 * "v=DKIM1; k=ed25519; p=BASE64" (the 32 bytes of the public key, RFC
 * 8463). Newly allocated. */
char *dkimkey_record(const struct dkimkey *k);

/* Room for any signature: RSA of 8192 bits makes 1024 bytes, Ed25519
 * 64. */
#define DKIMKEY_SIG_MAX 1024

/*
 * Signs hash (n bytes: for DKIM, the SHA-256 of the signed header
 * fields) with k into sig, *len its length: RSASSA-PKCS1-v1_5 with
 * SHA-256 (rsa-sha256, RFC 6376 §3.3.1; n must be 32) or PureEdDSA
 * (ed25519-sha256, RFC 8463). Returns 0, or -EIO if libcrypto fails.
 * Safe from several threads at once on one key.
 */
int dkimkey_sign(const struct dkimkey *k, const unsigned char *hash, size_t n,
    unsigned char sig[DKIMKEY_SIG_MAX], size_t *len);

/* True if p (a published p= value, base64 with any spaces) is k's
 * public key: for RSA as a SubjectPublicKeyInfo or a bare PKCS#1
 * RSAPublicKey, for Ed25519 as its 32 bytes. */
bool dkimkey_matches(const struct dkimkey *k, const char *p);

#endif
