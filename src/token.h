/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * token: signed tokens for the links in messages to subscribers
 * (unsubscribe, confirm, preferences). A token names one subscriber
 * for one purpose and carries an HMAC-SHA256 over the purpose, the
 * subscriber id and the subscriber's address, lower-cased, keyed with
 * the secret of [unsubscribe] secret_file: nobody without the secret
 * can make one for someone else, and a token stops working when the
 * subscriber's address changes. The text is 32 characters of base64url
 * (the id in 8 bytes and 128 bits of the MAC), safe in a URL as is.
 *
 * It does not read the secret, look subscribers up or expire tokens.
 */
#ifndef FM_TOKEN_H
#define FM_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define TOKEN_LEN 32
/* The shortest secret accepted, in bytes, and the least randomness
 * (bits) its bytes must show; 32 random bytes in base64 show about 215. */
#define TOKEN_SECRET_MIN      32
#define TOKEN_SECRET_MIN_BITS 160

/*
 * Appends the token for (purpose, subscriber_id, email) to out. Returns
 * 0, or -EINVAL for an empty secret or purpose, a NULL email or an id
 * below 1.
 */
int token_make(const void *secret, size_t secret_len, const char *purpose,
    int64_t subscriber_id, const char *email, struct buf *out);

/*
 * Reads the subscriber id out of a token without checking it: use it to
 * find the row, then token_verify() with that row. Returns 0, or
 * -EINVAL if token is not a token's shape.
 */
int token_subscriber_id(const char *token, int64_t *id);

/* HMAC-SHA256 of data (len bytes) under key (key_len bytes) into out:
 * HMAC() of libcrypto, without its lookup of the algorithm by name at
 * every call, and keyed once per thread for the key used last (both
 * cost more than a short MAC). Thread-safe.
 * 0, or -EIO if libcrypto fails. */
int token_hmac_sha256(const void *key, size_t key_len, const void *data,
    size_t len, unsigned char out[32]);

/*
 * True if token was made by token_make() with this secret for this
 * purpose, subscriber and address (compared case-insensitively). The
 * comparison takes the same time wherever the token differs.
 */
bool token_verify(const void *secret, size_t secret_len, const char *purpose,
    int64_t subscriber_id, const char *email, const char *token);

/*
 * Whether secret[0..len) is fit to sign tokens: at least
 * TOKEN_SECRET_MIN bytes whose byte frequencies show at least
 * TOKEN_SECRET_MIN_BITS bits (length times the Shannon entropy of the
 * bytes: a word, a repeated pattern or a counting string falls short,
 * 32 random bytes in base64 or hex pass). It cannot prove randomness;
 * it refuses what is plainly not random. Returns 0, or -EINVAL with
 * *why (static) saying what is wrong.
 */
int token_secret_check(const char *secret, size_t len, char **why);

#endif
