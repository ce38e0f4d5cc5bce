/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dkimsign: DKIM signatures (RFC 6376) on built messages,
 * relaxed/relaxed, rsa-sha256 with the [dkim] key_file and,
 * when configured, a second signature in ed25519-sha256 (RFC 8463) with
 * ed25519_key_file. The signed header fields are the ones familymail
 * writes (dkimsign_headers in dkimsign.c); From, To, Subject, Date,
 * Message-ID, Reply-To, Content-Type, MIME-Version, List-Id and the
 * List-Unsubscribe pair are over-signed (RFC 6376 §8.15, RFC 8058 §4):
 * a copy added on the way breaks the signature.
 *
 * The keys are loaded once (a config generation) and each is checked
 * then by libopendkim verifying a signature it made; signing is safe from
 * several threads at once on one struct dkimsign. It does not build,
 * send or publish anything.
 */
#ifndef FM_DKIMSIGN_H
#define FM_DKIMSIGN_H

struct buf;
struct cfg;
struct dkimsign;

/*
 * Loads the keys [dkim] names and checks each with libopendkim. Returns
 * 0 with *out a new signer (free with dkimsign_free()), or 0 with *out
 * NULL when the config has no [dkim]; or a negative errno with *why
 * (newly allocated, the caller frees), which names the key file and the
 * problem.
 */
int dkimsign_load(const struct cfg *cfg, struct dkimsign **out, char **why);

void dkimsign_free(struct dkimsign *s);

/*
 * Signs msg, a whole message with CRLF line ends, and inserts the
 * DKIM-Signature header fields at its top (the RSA one first). Returns
 * 0, or a negative errno with *why (newly allocated) and msg unchanged.
 */
int dkimsign_message(const struct dkimsign *s, struct buf *msg, char **why);

#endif
