/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * token: HMAC-SHA256 link tokens (see token.h). A token is base64url,
 * without padding, of 24 bytes: the subscriber id, 8 bytes big-endian,
 * then the first 16 bytes of
 *
 *   HMAC-SHA256(secret, "familymail-token-v1" NUL purpose NUL
 *               id (8 bytes) lower(email))
 *
 * The fields cannot run into each other: purpose holds no NUL and the
 * id has a fixed width. The version string lets a later format coexist.
 */
#include "config.h"

#include "token.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "buf.h"
#include "util.h"

#define TOKEN_ID_BYTES  8
#define TOKEN_MAC_BYTES 16
#define TOKEN_RAW_BYTES (TOKEN_ID_BYTES + TOKEN_MAC_BYTES)
/* Longest address and purpose hashed; longer ones are refused. */
#define TOKEN_EMAIL_MAX   320
#define TOKEN_PURPOSE_MAX 64

static const char token_version[] = "familymail-token-v1";
static const char token_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static bool
token_args_valid(const void *secret, size_t secret_len, const char *purpose,
    int64_t subscriber_id, const char *email)
{
	return secret != NULL && secret_len > 0 && purpose != NULL &&
	    purpose[0] != '\0' &&
	    strnlen(purpose, TOKEN_PURPOSE_MAX + 1) <= TOKEN_PURPOSE_MAX &&
	    subscriber_id > 0 && email != NULL &&
	    strnlen(email, TOKEN_EMAIL_MAX + 1) <= TOKEN_EMAIL_MAX;
}

/* HMAC, fetched once and shared by threads; each thread keeps its
 * own context keyed with the last key it used (keying costs more than
 * a short MAC), freed with the thread. */
#define TOKEN_KEY_MAX 256

struct token_keyed {
	EVP_MAC_CTX *ctx;
	size_t key_len;
	unsigned char key[TOKEN_KEY_MAX];
};

static pthread_once_t token_mac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *token_mac;
static pthread_key_t token_keyed_key;
static bool token_keyed_ok;

static void
token_keyed_free(void *p)
{
	struct token_keyed *k = p;

	EVP_MAC_CTX_free(k->ctx);
	OPENSSL_cleanse(k->key, sizeof(k->key));
	free(k);
}

static void
token_on_mac_once(void)
{
	token_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	token_keyed_ok =
	    pthread_key_create(&token_keyed_key, token_keyed_free) == 0;
}

/* This thread's context keyed with key, or NULL to key one afresh. */
static EVP_MAC_CTX *
token_keyed_ctx(const void *key, size_t key_len, const OSSL_PARAM *params)
{
	struct token_keyed *k;

	if (!token_keyed_ok || key_len > TOKEN_KEY_MAX)
		return NULL;
	k = pthread_getspecific(token_keyed_key);
	if (k == NULL) {
		k = xcalloc(1, sizeof(*k));
		if (pthread_setspecific(token_keyed_key, k) != 0) {
			free(k);
			return NULL;
		}
	}
	if (k->ctx != NULL && k->key_len == key_len &&
	    memcmp(k->key, key, key_len) == 0)
		return EVP_MAC_init(k->ctx, NULL, 0, NULL) == 1 ? k->ctx : NULL;
	EVP_MAC_CTX_free(k->ctx);
	OPENSSL_cleanse(k->key, sizeof(k->key));
	k->key_len = 0;
	k->ctx = EVP_MAC_CTX_new(token_mac);
	if (k->ctx == NULL || EVP_MAC_init(k->ctx, key, key_len, params) != 1) {
		EVP_MAC_CTX_free(k->ctx);
		k->ctx = NULL;
		return NULL;
	}
	memcpy(k->key, key, key_len);
	k->key_len = key_len;
	return k->ctx;
}

int
token_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
    unsigned char out[32])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx, *own = NULL;
	size_t n = 0;
	int ret = -EIO;

	pthread_once(&token_mac_once, token_on_mac_once);
	if (token_mac == NULL)
		return -EIO;
	ctx = token_keyed_ctx(key, key_len, params);
	if (ctx == NULL) {
		own = EVP_MAC_CTX_new(token_mac);
		if (own == NULL ||
		    EVP_MAC_init(own, key, key_len, params) != 1) {
			EVP_MAC_CTX_free(own);
			return -EIO;
		}
		ctx = own;
	}
	if (EVP_MAC_update(ctx, data, len) == 1 &&
	    EVP_MAC_final(ctx, out, &n, 32) == 1 && n == 32)
		ret = 0;
	EVP_MAC_CTX_free(own);
	return ret;
}

/* raw = id || MAC; returns 0 or -EIO if libcrypto fails. */
static int
token_raw(const void *secret, size_t secret_len, const char *purpose,
    int64_t subscriber_id, const char *email,
    unsigned char raw[TOKEN_RAW_BYTES])
{
	unsigned char mac[32];
	uint64_t id = (uint64_t)subscriber_id;
	struct buf msg;
	size_t i;
	int ret = 0;

	for (i = 0; i < TOKEN_ID_BYTES; i++)
		raw[i] = (unsigned char)(id >> (8 * (TOKEN_ID_BYTES - 1 - i)));
	buf_init(&msg);
	buf_append(&msg, token_version, sizeof(token_version));
	buf_append(&msg, purpose, strlen(purpose) + 1);
	buf_append(&msg, raw, TOKEN_ID_BYTES);
	for (i = 0; email[i] != '\0'; i++) {
		char c = email[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf_putc(&msg, c);
	}
	if (token_hmac_sha256(secret, secret_len, msg.data, msg.len, mac) != 0)
		ret = -EIO;
	else
		memcpy(raw + TOKEN_ID_BYTES, mac, TOKEN_MAC_BYTES);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(msg.data, msg.len);
	buf_fini(&msg);
	return ret;
}

/* 24 bytes make exactly 32 characters: no padding, no spare bits. */
static void
token_encode(const unsigned char raw[TOKEN_RAW_BYTES], char text[TOKEN_LEN + 1])
{
	size_t i, o = 0;

	for (i = 0; i < TOKEN_RAW_BYTES; i += 3) {
		unsigned long v = (unsigned long)raw[i] << 16 |
		    (unsigned long)raw[i + 1] << 8 | raw[i + 2];

		text[o++] = token_b64[(v >> 18) & 63];
		text[o++] = token_b64[(v >> 12) & 63];
		text[o++] = token_b64[(v >> 6) & 63];
		text[o++] = token_b64[v & 63];
	}
	text[o] = '\0';
}

static int
token_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

static int
token_decode(const char *text, unsigned char raw[TOKEN_RAW_BYTES])
{
	size_t i, o = 0;

	if (text == NULL || strnlen(text, TOKEN_LEN + 1) != TOKEN_LEN)
		return -EINVAL;
	for (i = 0; i < TOKEN_LEN; i += 4) {
		unsigned long v = 0;
		size_t k;

		for (k = 0; k < 4; k++) {
			int d = token_b64_value(text[i + k]);

			if (d < 0)
				return -EINVAL;
			v = v << 6 | (unsigned long)d;
		}
		raw[o++] = (unsigned char)(v >> 16);
		raw[o++] = (unsigned char)(v >> 8);
		raw[o++] = (unsigned char)v;
	}
	return 0;
}

int
token_make(const void *secret, size_t secret_len, const char *purpose,
    int64_t subscriber_id, const char *email, struct buf *out)
{
	unsigned char raw[TOKEN_RAW_BYTES];
	char text[TOKEN_LEN + 1];
	int ret;

	if (!token_args_valid(
		secret, secret_len, purpose, subscriber_id, email))
		return -EINVAL;
	ret = token_raw(secret, secret_len, purpose, subscriber_id, email, raw);
	if (ret != 0)
		return ret;
	token_encode(raw, text);
	buf_append(out, text, TOKEN_LEN);
	return 0;
}

int
token_subscriber_id(const char *token, int64_t *id)
{
	unsigned char raw[TOKEN_RAW_BYTES];
	uint64_t v = 0;
	size_t i;

	if (token_decode(token, raw) != 0)
		return -EINVAL;
	for (i = 0; i < TOKEN_ID_BYTES; i++)
		v = v << 8 | raw[i];
	if (v == 0 || v > (uint64_t)INT64_MAX)
		return -EINVAL;
	*id = (int64_t)v;
	return 0;
}

bool
token_verify(const void *secret, size_t secret_len, const char *purpose,
    int64_t subscriber_id, const char *email, const char *token)
{
	unsigned char want[TOKEN_RAW_BYTES], got[TOKEN_RAW_BYTES];
	bool ok;

	if (!token_args_valid(
		secret, secret_len, purpose, subscriber_id, email))
		return false;
	if (token_decode(token, got) != 0)
		return false;
	if (token_raw(
		secret, secret_len, purpose, subscriber_id, email, want) != 0)
		return false;
	ok = CRYPTO_memcmp(want, got, TOKEN_RAW_BYTES) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

int
token_secret_check(const char *secret, size_t len, char **why)
{
	size_t count[256] = { 0 };
	double bits = 0.0;
	size_t i;

	if (len < TOKEN_SECRET_MIN) {
		*why =
		    xstrdup("too short: at least 32 random bytes are needed");
		return -EINVAL;
	}
	for (i = 0; i < len; i++)
		count[(unsigned char)secret[i]]++;
	for (i = 0; i < 256; i++)
		if (count[i] > 0)
			bits -= (double)count[i] *
			    log2((double)count[i] / (double)len);
	if (bits < TOKEN_SECRET_MIN_BITS) {
		*why = xstrdup(
		    "not random (a word, a repeated pattern or a sequence)");
		return -EINVAL;
	}
	return 0;
}
