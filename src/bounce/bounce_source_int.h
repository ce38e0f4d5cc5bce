/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_source_int: what the source kinds (bounce_source_imap.c,
 * bounce_source_pop3.c, and the Maildir code in bounce_source.c) share.
 * Not for other modules.
 */
#ifndef FM_BOUNCE_SOURCE_INT_H
#define FM_BOUNCE_SOURCE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libetpan/libetpan.h>

#include "bounce/bounce_source.h"

/* Seconds a connect or a reply may take. */
#define BOUNCE_SOURCE_TIMEOUT 60

struct bounce_source_ops {
	const char *name;
	int (*fetch)(struct bounce_source *s, bounce_source_skip_fn *skip,
	    void *skip_arg, char **why);
	int (*finish)(struct bounce_source *s, char **why);
	void (*close)(struct bounce_source *s);
};

struct bounce_source {
	const struct bounce_source_ops *ops;
	char *url;
	char *name; /* url for logs */
	char *password_file;
	bool delete;
	bool tls; /* imaps://, pop3s:// */
	/* imap://, pop3:// to a host other than loopback: no login
	 * without STARTTLS (STLS). */
	bool starttls_required;
	size_t max_items;
	char user[128];
	char host[256];
	unsigned short port;
	char *folder;      /* IMAP folder, Maildir path */
	char *move_folder; /* IMAP: done items go there; NULL: mark them */
	struct bounce_item *items;
	size_t n_items;
	size_t cap_items;
	/* The open session of the kind in use. */
	mailimap *imap;
	uint32_t uidvalidity;
	mailpop3 *pop3;
	struct maildir *md;
	bool fetched;
};

extern const struct bounce_source_ops bounce_source_imap_ops;
extern const struct bounce_source_ops bounce_source_pop3_ops;

/* Parses data (len bytes) into a new item with key (copied). */
void bounce_source_add(
    struct bounce_source *s, const char *key, const char *data, size_t len);
/* Adds an item that was too large to read. */
void bounce_source_add_error(
    struct bounce_source *s, const char *key, int error);

/* Reads the password file: 0 or a negative errno and *why. The caller
 * wipes and frees *password. */
int bounce_source_password(
    struct bounce_source *s, char **password, char **why);

/* For the *_with_callback connects: sets SNI to the host (arg: s). */
void bounce_source_on_tls(struct mailstream_ssl_context *ctx, void *arg);
/* Verifies the chain the server sent on stream against the trust store
 * and s->host. 0, or -EPERM and *why. */
int bounce_source_verify_tls(
    struct bounce_source *s, mailstream *stream, char **why);

#endif
