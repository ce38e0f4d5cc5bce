/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_source: see bounce_source.h. This file holds what every kind
 * shares (the URL, the items, the password, TLS verification) and the
 * Maildir kind; IMAP and POP3 live in bounce_source_imap.c and
 * bounce_source_pop3.c.
 */
#include "config.h"

#include "bounce/bounce_source.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "bounce/bounce.h"
#include "bounce/bounce_source_int.h"
#include "buf.h"
#include "cfg.h"
#include "cfg_value.h"
#include "util.h"

static const struct bounce_source_ops bounce_source_maildir_ops;

/* Decodes %XX escapes of a URL part in place; %00 stays as it is. */
static void
bounce_source_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		int hi = s[0] == '%' ? util_hex_digit(s[1]) : -1;
		int lo = hi != -1 ? util_hex_digit(s[2]) : -1;

		if (lo != -1 && (hi != 0 || lo != 0)) {
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static void
bounce_source_parse_url(struct bounce_source *s)
{
	struct cfg_value_url u;
	char *why = NULL;
	const char *rest;

	if (strncmp(s->url, "maildir:", 8) == 0) {
		s->ops = &bounce_source_maildir_ops;
		s->folder = xstrdup(s->url + 8);
		s->name = xstrdup(s->url);
		return;
	}
	if (cfg_value_split_url(s->url, &u, &why) != 0) {
		free(why);
		return;
	}
	if (strcmp(u.scheme, "imaps") == 0 || strcmp(u.scheme, "imap") == 0)
		s->ops = &bounce_source_imap_ops;
	else if (strcmp(u.scheme, "pop3s") == 0 ||
	    strcmp(u.scheme, "pop3") == 0)
		s->ops = &bounce_source_pop3_ops;
	else
		return;
	s->tls = u.scheme[strlen(u.scheme) - 1] == 's';
	s->starttls_required = !s->tls && !cfg_value_is_loopback(u.host);
	/* The fields have the sizes of struct cfg_value_url's: no cut. */
	(void)snprintf(s->user, sizeof(s->user), "%s", u.user);
	bounce_source_unescape(s->user);
	(void)snprintf(s->host, sizeof(s->host), "%s", u.host);
	s->port = (unsigned short)u.port;
	/* The folder is what follows the authority: "imaps://u@h/INBOX". */
	rest = strstr(s->url, "://");
	rest = rest != NULL ? strchr(rest + 3, '/') : NULL;
	s->folder =
	    xstrdup(rest != NULL && rest[1] != '\0' ? rest + 1 : "INBOX");
	bounce_source_unescape(s->folder);
	s->name = xstrdup(s->url);
}

struct bounce_source *
bounce_source_new(
    const char *url, const char *password_file, bool delete, size_t max_items)
{
	struct bounce_source *s = xcalloc(1, sizeof(*s));

	s->url = xstrdup(url);
	s->password_file =
	    password_file != NULL ? xstrdup(password_file) : NULL;
	s->delete = delete;
	s->max_items = max_items;
	bounce_source_parse_url(s);
	if (s->name == NULL)
		s->name = xstrdup(url);
	return s;
}

void
bounce_source_free(struct bounce_source *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->ops != NULL)
		s->ops->close(s);
	for (i = 0; i < s->n_items; i++) {
		free(s->items[i].key);
		bounce_report_free(s->items[i].report);
	}
	free(s->items);
	free(s->folder);
	free(s->move_folder);
	free(s->name);
	free(s->password_file);
	free(s->url);
	free(s);
}

void
bounce_source_set_move_folder(struct bounce_source *s, const char *folder)
{
	free(s->move_folder);
	s->move_folder = folder != NULL ? xstrdup(folder) : NULL;
}

const char *
bounce_source_name(const struct bounce_source *s)
{
	return s->name;
}

size_t
bounce_source_count(const struct bounce_source *s)
{
	return s->n_items;
}

struct bounce_item *
bounce_source_item(struct bounce_source *s, size_t i)
{
	return i < s->n_items ? &s->items[i] : NULL;
}

static struct bounce_item *
bounce_source_new_item(struct bounce_source *s, const char *key)
{
	struct bounce_item *it;

	if (s->n_items == s->cap_items) {
		s->cap_items = s->cap_items != 0 ? s->cap_items * 2 : 16;
		s->items =
		    xreallocarray(s->items, s->cap_items, sizeof(*s->items));
	}
	it = &s->items[s->n_items++];
	memset(it, 0, sizeof(*it));
	it->key = xstrdup(key);
	return it;
}

void
bounce_source_add(
    struct bounce_source *s, const char *key, const char *data, size_t len)
{
	struct bounce_item *it = bounce_source_new_item(s, key);

	it->error = bounce_parse(data, len, &it->report);
}

void
bounce_source_add_error(struct bounce_source *s, const char *key, int error)
{
	bounce_source_new_item(s, key)->error = error;
}

int
bounce_source_password(struct bounce_source *s, char **password, char **why)
{
	char *w = NULL;
	int ret;

	*password = NULL;
	if (s->password_file == NULL) {
		*why = xstrdup("no password_file");
		return -EINVAL;
	}
	ret = cfg_read_secret(s->password_file, password, &w);
	if (ret != 0)
		*why = xasprintf("password_file %s: %s", s->password_file,
		    w != NULL ? w : strerror(-ret));
	free(w);
	return ret;
}

void
bounce_source_on_tls(struct mailstream_ssl_context *ctx, void *arg)
{
	struct bounce_source *s = arg;
	unsigned char addr[16];

	/* SNI carries names only, never an address. */
	if (inet_pton(AF_INET, s->host, addr) != 1 &&
	    inet_pton(AF_INET6, s->host, addr) != 1)
		mailstream_ssl_set_server_name(ctx, s->host);
}

/* Decodes the DER certificates of a libetpan chain; the first is the
 * server's own. NULL if there is none. */
static STACK_OF(X509) * bounce_source_chain(mailstream *stream)
{
	carray *chain = mailstream_get_certificate_chain(stream);
	STACK_OF(X509) * out;
	unsigned int i;

	if (chain == NULL)
		return NULL;
	out = sk_X509_new_null();
	for (i = 0; out != NULL && i < carray_count(chain); i++) {
		MMAPString *der = carray_get(chain, i);
		const unsigned char *p = (const unsigned char *)der->str;
		X509 *x = d2i_X509(NULL, &p, (long)der->len);

		if (x == NULL || sk_X509_push(out, x) == 0) {
			X509_free(x);
			sk_X509_pop_free(out, X509_free);
			out = NULL;
		}
	}
	mailstream_certificate_chain_free(chain);
	if (out != NULL && sk_X509_num(out) == 0) {
		sk_X509_free(out);
		out = NULL;
	}
	return out;
}

int
bounce_source_verify_tls(
    struct bounce_source *s, mailstream *stream, char **why)
{
	STACK_OF(X509) *chain = bounce_source_chain(stream);
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	unsigned char addr[16];
	bool is_ip;
	int ret = -EPERM;

	if (chain == NULL) {
		*why = xstrdup("TLS: the server sent no certificate");
		return -EPERM;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (store == NULL || ctx == NULL ||
	    X509_STORE_set_default_paths(store) != 1 ||
	    X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), chain) !=
		1) {
		*why = xstrdup("TLS: cannot set up certificate checks");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
	is_ip = inet_pton(AF_INET, s->host, addr) == 1 ||
	    inet_pton(AF_INET6, s->host, addr) == 1;
	if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, s->host)
		   : X509_VERIFY_PARAM_set1_host(param, s->host, 0)) != 1) {
		*why = xstrdup("TLS: cannot set the host to check");
		goto out;
	}
	if (X509_verify_cert(ctx) == 1) {
		ret = 0;
	} else {
		*why =
		    xasprintf("TLS: certificate of %s not trusted: %s", s->host,
			X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx)));
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(chain, X509_free);
	return ret;
}

int
bounce_source_fetch(struct bounce_source *s, bounce_source_skip_fn *skip,
    void *skip_arg, char **why)
{
	int ret;

	*why = NULL;
	if (s->ops == NULL) {
		*why = xasprintf("'%s' is not a bounce source", s->url);
		return -EINVAL;
	}
	if (s->fetched) {
		*why = xstrdup("fetched twice");
		return -EINVAL;
	}
	ret = s->ops->fetch(s, skip, skip_arg, why);
	if (ret == 0)
		s->fetched = true;
	else
		s->ops->close(s);
	return ret;
}

int
bounce_source_finish(struct bounce_source *s, char **why)
{
	int ret = 0;

	*why = NULL;
	if (s->ops == NULL)
		return 0;
	if (s->fetched)
		ret = s->ops->finish(s, why);
	s->ops->close(s);
	s->fetched = false;
	return ret;
}

/* ---------------------------------------------------------------- Maildir */

static int
bounce_source_maildir_fetch(struct bounce_source *s,
    bounce_source_skip_fn *skip, void *skip_arg, char **why)
{
	struct maildir_msg *m;
	struct buf b;
	char *path, *key;
	unsigned int i;
	int r;

	s->md = maildir_new(s->folder);
	if (s->md == NULL) {
		*why = xstrdup("out of memory");
		return -ENOMEM;
	}
	r = maildir_update(s->md);
	if (r != MAILDIR_NO_ERROR) {
		*why = xasprintf("cannot read the Maildir %s (libetpan error "
				 "%d)",
		    s->folder, r);
		return -EIO;
	}
	buf_init(&b);
	for (i = 0; i < carray_count(s->md->mdir_msg_list) &&
	     s->n_items < s->max_items;
	     i++) {
		m = carray_get(s->md->mdir_msg_list, i);
		if ((m->msg_flags & MAILDIR_FLAG_NEW) == 0 &&
		    (m->msg_flags &
			(MAILDIR_FLAG_SEEN | MAILDIR_FLAG_TRASHED)) != 0)
			continue;
		key = xasprintf("maildir:%s", m->msg_uid);
		if (skip != NULL && skip(key, skip_arg)) {
			free(key);
			continue;
		}
		path = maildir_message_get(s->md, m->msg_uid);
		buf_reset(&b);
		r = path != NULL ? util_read_file(path, BOUNCE_MAX_SIZE, &b)
				 : -ENOENT;
		if (r == 0)
			bounce_source_add(
			    s, key, b.data != NULL ? b.data : "", b.len);
		else if (r == -EFBIG)
			bounce_source_add_error(s, key, -EMSGSIZE);
		/* A file gone meanwhile (another reader) is simply skipped. */
		free(path);
		free(key);
	}
	buf_fini(&b);
	return 0;
}

/* The flags uid keeps once read: its own, less "new", plus S. */
static int
bounce_source_maildir_flags(struct bounce_source *s, const char *uid)
{
	struct maildir_msg *m;
	chashdatum key, value;

	key.data = (void *)uid;
	key.len = (unsigned int)strlen(uid);
	if (chash_get(s->md->mdir_msg_hash, &key, &value) != 0)
		return MAILDIR_FLAG_SEEN;
	m = value.data;
	return (m->msg_flags & ~MAILDIR_FLAG_NEW) | MAILDIR_FLAG_SEEN;
}

static int
bounce_source_maildir_finish(struct bounce_source *s, char **why)
{
	const char *uid;
	size_t i;
	int n = 0, r;

	for (i = 0; i < s->n_items; i++) {
		if (!s->items[i].done)
			continue;
		uid = s->items[i].key + strlen("maildir:");
		if (s->delete)
			r = maildir_message_remove(s->md, uid);
		else
			r = maildir_message_change_flags(
			    s->md, uid, bounce_source_maildir_flags(s, uid));
		if (r != MAILDIR_NO_ERROR) {
			free(*why);
			*why = xasprintf("cannot %s %s (libetpan error %d)",
			    s->delete ? "delete" : "mark", uid, r);
			continue;
		}
		n++;
	}
	return *why != NULL && n == 0 ? -EIO : n;
}

static void
bounce_source_maildir_close(struct bounce_source *s)
{
	if (s->md != NULL)
		maildir_free(s->md);
	s->md = NULL;
}

static const struct bounce_source_ops bounce_source_maildir_ops = {
	.name = "maildir",
	.fetch = bounce_source_maildir_fetch,
	.finish = bounce_source_maildir_finish,
	.close = bounce_source_maildir_close,
};
