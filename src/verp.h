/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * verp: the envelope sender that names its message (VERP),
 * bounces+TOKEN@domain. TOKEN is random and unguessable, so a bounce
 * is matched to the message it answers, and a forged bounce cannot name
 * another message. The caller stores the token with the message; this
 * module only makes, formats and reads tokens. The outbox makes its own
 * (messages.verp_token: 64 random bits in hex; a digest puts a prefix
 * that grows from chunk to chunk in front, so that its tokens go into
 * the index in order: see job_digest.c); any token of 1 to
 * VERP_TOKEN_MAX letters and digits works here.
 */
#ifndef FM_VERP_H
#define FM_VERP_H

#include <stddef.h>

/* Length of a new token: 16 characters of [a-z0-9], about 82 bits. */
#define VERP_TOKEN_LEN 16
/* Longest token verp_address() and verp_parse() accept. */
#define VERP_TOKEN_MAX 64

/* Fills out with a new random token and a NUL. Returns 0 or a negative
 * errno from getrandom(2). */
int verp_token_new(char out[VERP_TOKEN_LEN + 1]);

/* "bounces+TOKEN@domain", newly allocated (the caller frees it); NULL
 * if token is not 1 to VERP_TOKEN_MAX letters and digits or domain is
 * not a domain name. */
char *verp_address(const char *token, const char *domain);

/*
 * Copies TOKEN, lower-cased, out of "bounces+TOKEN@domain" (the prefix
 * in any case, the whole address optionally in angle brackets) into
 * token (size bytes with the NUL). Returns 0, -EINVAL if address is not
 * of that form or TOKEN is not 1 to VERP_TOKEN_MAX letters and digits,
 * -ENOSPC if size is too small.
 */
int verp_parse(const char *address, char *token, size_t size);

#endif
