/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dkimkey: see dkimkey.h. The key is parsed once, at a config load, with
 * libcrypto, and kept parsed: parsing a PEM key costs more than the RSA
 * signature itself (about 1 ms against 0.3 ms for RSA-2048 with OpenSSL
 * 3), so a signer that parsed it per message would spend most of its
 * time there.
 */
#include "config.h"

#include "dkimkey.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "buf.h"
#include "util.h"

/* The 32 bytes of an Ed25519 public key. */
#define DKIMKEY_ED25519_LEN 32

struct dkimkey {
	EVP_PKEY *pkey;
	enum dkimkey_type type;
	int bits;
};

/* Never asks for a passphrase: OpenSSL's default would prompt on the
 * terminal, and a daemon has none. */
static int
dkimkey_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Reads the secret file: regular, owner-only, at most DKIMKEY_FILE_MAX
 * bytes. */
static int
dkimkey_read_file(const char *path, struct buf *b, char **why)
{
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		ret = -errno;
		*why = xstrdup(strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) == -1) {
		ret = -errno;
		*why = xstrdup(strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		*why = xstrdup("not a regular file");
	} else if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
		ret = -EACCES;
		*why = xstrdup("readable by group or others (chmod 600 it)");
	}
	while (ret == 0) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ret = -errno;
			*why = xstrdup(strerror(errno));
			break;
		}
		if (n == 0)
			break;
		buf_append(b, chunk, (size_t)n);
		if (b->len > DKIMKEY_FILE_MAX) {
			ret = -EFBIG;
			*why = xasprintf("larger than %d bytes: not a key",
			    DKIMKEY_FILE_MAX);
		}
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	close(fd);
	if (ret == 0 && b->len == 0) {
		ret = -EINVAL;
		*why = xstrdup("empty");
	}
	return ret;
}

/* Why text that PEM_read_bio_PrivateKey() refused is no private key. */
static char *
dkimkey_why_not(const char *text)
{
	if (strstr(text, "ENCRYPTED") != NULL)
		return xstrdup("encrypted with a passphrase (store it "
			       "unencrypted, readable by its owner only: "
			       "openssl pkey -in KEY -out KEY.pem)");
	if (strstr(text, "PUBLIC KEY-----") != NULL)
		return xstrdup("a public key, not the private key");
	if (strstr(text, "CERTIFICATE-----") != NULL)
		return xstrdup("a certificate, not the private key");
	if (strstr(text, "-----BEGIN ") == NULL)
		return xstrdup("not a PEM private key (expected "
			       "-----BEGIN PRIVATE KEY-----)");
	return xstrdup("not a private key that can be read");
}

/* Checks the key's type and size and keeps it. */
static int
dkimkey_adopt(struct dkimkey *k, EVP_PKEY *pkey, char **why)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		k->type = DKIMKEY_RSA;
		break;
	case EVP_PKEY_ED25519:
		k->type = DKIMKEY_ED25519;
		break;
	case EVP_PKEY_EC:
		*why = xstrdup("an EC key (DKIM signs with RSA or Ed25519)");
		return -EINVAL;
	default:
		*why = xasprintf("a %s key (DKIM signs with RSA or Ed25519)",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		return -EINVAL;
	}
	k->bits = EVP_PKEY_get_bits(pkey);
	if (k->type == DKIMKEY_RSA && k->bits < DKIMKEY_RSA_MIN_BITS) {
		*why =
		    xasprintf("an RSA key of %d bits (%d or more are needed)",
			k->bits, DKIMKEY_RSA_MIN_BITS);
		return -EINVAL;
	}
	k->pkey = pkey;
	return 0;
}

int
dkimkey_load(const char *path, struct dkimkey **key, char **why)
{
	struct dkimkey *k;
	EVP_PKEY *pkey = NULL;
	struct buf text;
	BIO *mem;
	int ret;

	*key = NULL;
	*why = NULL;
	buf_init(&text);
	ret = dkimkey_read_file(path, &text, why);
	if (ret != 0)
		goto out;
	buf_putc(&text, '\0');
	mem = BIO_new_mem_buf(text.data, (int)text.len - 1);
	if (mem != NULL)
		pkey = PEM_read_bio_PrivateKey(
		    mem, NULL, dkimkey_no_passphrase, NULL);
	BIO_free(mem);
	if (pkey == NULL) {
		*why = dkimkey_why_not(text.data);
		ret = -EINVAL;
		goto out;
	}
	k = xcalloc(1, sizeof(*k));
	ret = dkimkey_adopt(k, pkey, why);
	if (ret != 0) {
		EVP_PKEY_free(pkey);
		dkimkey_free(k);
		goto out;
	}
	*key = k;
out:
	if (text.data != NULL)
		OPENSSL_cleanse(text.data, text.len);
	buf_fini(&text);
	return ret;
}

void
dkimkey_free(struct dkimkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

enum dkimkey_type
dkimkey_type(const struct dkimkey *k)
{
	return k->type;
}

const char *
dkimkey_type_name(const struct dkimkey *k)
{
	return k->type == DKIMKEY_ED25519 ? "ed25519" : "rsa";
}

int
dkimkey_bits(const struct dkimkey *k)
{
	return k->bits;
}

/* The public key as DKIM's p= carries it, as bytes: newly allocated
 * into *der, its length in *len. */
static int
dkimkey_public_bytes(const struct dkimkey *k, unsigned char **der, size_t *len)
{
	unsigned char *p;
	int n;

	if (k->type == DKIMKEY_ED25519) {
		*len = DKIMKEY_ED25519_LEN;
		*der = xmalloc(*len);
		if (EVP_PKEY_get_raw_public_key(k->pkey, *der, len) != 1 ||
		    *len != DKIMKEY_ED25519_LEN) {
			free(*der);
			*der = NULL;
			return -EIO;
		}
		return 0;
	}
	n = i2d_PUBKEY(k->pkey, NULL);
	if (n <= 0)
		return -EIO;
	*der = xmalloc((size_t)n);
	p = *der;
	if (i2d_PUBKEY(k->pkey, &p) != n) {
		free(*der);
		*der = NULL;
		return -EIO;
	}
	*len = (size_t)n;
	return 0;
}

char *
dkimkey_record(const struct dkimkey *k)
{
	unsigned char *der = NULL, *b64;
	size_t len = 0;
	char *rec;

	/* Only fails if libcrypto cannot encode a key it decoded. */
	if (dkimkey_public_bytes(k, &der, &len) != 0)
		abort();
	b64 = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock(b64, der, (int)len);
	rec =
	    xasprintf("v=DKIM1; k=%s; p=%s", dkimkey_type_name(k), (char *)b64);
	free(b64);
	free(der);
	return rec;
}

/* Decodes base64 with any white space in it; NULL if it is not base64. */
static unsigned char *
dkimkey_unbase64(const char *s, size_t *len)
{
	size_t n = 0, pad = 0, cap = strlen(s);
	char *clean = xmalloc(cap + 1);
	unsigned char *out;
	int got;

	for (const char *p = s; *p != '\0'; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			clean[n++] = *p;
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0 || n > 65536) {
		free(clean);
		return NULL;
	}
	if (clean[n - 1] == '=')
		pad++;
	if (clean[n - 2] == '=')
		pad++;
	out = xmalloc(n / 4 * 3);
	got = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
	free(clean);
	if (got < 0 || (size_t)got < pad) {
		free(out);
		return NULL;
	}
	*len = (size_t)got - pad;
	return out;
}

bool
dkimkey_matches(const struct dkimkey *k, const char *p)
{
	const unsigned char *q;
	unsigned char *der;
	EVP_PKEY *pub = NULL;
	size_t len;
	bool same;

	der = dkimkey_unbase64(p, &len);
	if (der == NULL)
		return false;
	q = der;
	if (k->type == DKIMKEY_ED25519) {
		if (len == DKIMKEY_ED25519_LEN)
			pub = EVP_PKEY_new_raw_public_key(
			    EVP_PKEY_ED25519, NULL, der, len);
	} else {
		pub = d2i_PUBKEY(NULL, &q, (long)len);
		if (pub == NULL) {
			q = der;
			pub = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)len);
		}
	}
	same = pub != NULL && EVP_PKEY_eq(k->pkey, pub) == 1;
	EVP_PKEY_free(pub);
	free(der);
	return same;
}

int
dkimkey_sign(const struct dkimkey *k, const unsigned char *hash, size_t n,
    unsigned char sig[DKIMKEY_SIG_MAX], size_t *len)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int ok;

	*len = DKIMKEY_SIG_MAX;
	if (k->type == DKIMKEY_ED25519) {
		/* PureEdDSA: no digest of its own, the hash is signed as
		 * is (RFC 8463 §3). */
		md = EVP_MD_CTX_new();
		ok = md != NULL &&
		    EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
		    EVP_DigestSign(md, sig, len, hash, n) == 1;
	} else {
		/* RSASSA-PKCS1-v1_5 over a SHA-256 digest made already. */
		ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
		ok = ctx != NULL && n == 32 && EVP_PKEY_sign_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(ctx, sig, len, hash, n) == 1;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -EIO;
}
