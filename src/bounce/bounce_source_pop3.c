/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_source_pop3: the POP3 kind of bounce_source (see
 * bounce_source.h). POP3 has no flags: done items are deleted (DELE,
 * committed by QUIT) when the source deletes, and otherwise left, known
 * by their UIDL (the caller remembers what it has seen). Sizes come
 * from LIST, so a message over BOUNCE_MAX_SIZE is never downloaded.
 * Messages are read with TOP (all lines), which leaves their flags
 * alone on servers that keep any.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "bounce/bounce.h"
#include "bounce/bounce_source_int.h"
#include "util.h"

/* libetpan's result codes, mapped once. */
static int
bounce_source_pop3_errno(int r)
{
	switch (r) {
	case MAILPOP3_NO_ERROR:
		return 0;
	case MAILPOP3_ERROR_CONNECTION_REFUSED:
		return -ECONNREFUSED;
	case MAILPOP3_ERROR_BAD_USER:
	case MAILPOP3_ERROR_BAD_PASSWORD:
	case MAILPOP3_ERROR_DENIED:
	case MAILPOP3_ERROR_UNAUTHORIZED:
		return -EACCES;
	case MAILPOP3_ERROR_MEMORY:
		return -ENOMEM;
	case MAILPOP3_ERROR_STREAM:
	case MAILPOP3_ERROR_SSL:
		return -EPIPE;
	case MAILPOP3_ERROR_NO_SUCH_MESSAGE:
		return -ENOENT;
	default:
		return -EIO;
	}
}

static int
bounce_source_pop3_open(struct bounce_source *s, char **why)
{
	char *password = NULL;
	bool secured = s->tls;
	int r, ret;

	ret = bounce_source_password(s, &password, why);
	if (ret != 0)
		return ret;
	s->pop3 = mailpop3_new(0, NULL);
	if (s->pop3 == NULL) {
		ret = -ENOMEM;
		*why = xstrdup("out of memory");
		goto out;
	}
	mailpop3_set_timeout(s->pop3, BOUNCE_SOURCE_TIMEOUT);
	if (s->tls)
		r = mailpop3_ssl_connect_with_callback(s->pop3, s->host,
		    s->port != 0 ? s->port : 995, bounce_source_on_tls, s);
	else
		r = mailpop3_socket_connect(
		    s->pop3, s->host, s->port != 0 ? s->port : 110);
	ret = bounce_source_pop3_errno(r);
	if (ret != 0) {
		*why = xasprintf(
		    "cannot connect to %s (libetpan error %d)", s->host, r);
		goto out;
	}
	if (!s->tls) {
		/* pop3:// upgrades when the server takes STLS; only a
		 * loopback server may go without. */
		r = mailpop3_socket_starttls_with_callback(
		    s->pop3, bounce_source_on_tls, s);
		if (r == MAILPOP3_NO_ERROR) {
			secured = true;
		} else if (r == MAILPOP3_ERROR_STLS_NOT_SUPPORTED &&
		    s->starttls_required) {
			ret = -EPROTO;
			*why = xasprintf("%s offers no STLS: not logging in "
					 "without TLS to a host other than "
					 "loopback",
			    s->host);
			goto out;
		} else if (r != MAILPOP3_ERROR_STLS_NOT_SUPPORTED) {
			ret = bounce_source_pop3_errno(r);
			*why = xasprintf("STLS failed (libetpan error %d)", r);
			goto out;
		}
	}
	if (secured) {
		ret = bounce_source_verify_tls(s, s->pop3->pop3_stream, why);
		if (ret != 0)
			goto out;
	}
	r = mailpop3_login(s->pop3, s->user, password);
	ret = bounce_source_pop3_errno(r);
	if (ret != 0)
		*why = xasprintf("login as %s refused", s->user);
out:
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	return ret;
}

static int
bounce_source_pop3_fetch(struct bounce_source *s, bounce_source_skip_fn *skip,
    void *skip_arg, char **why)
{
	carray *msgs = NULL;
	char *data, *key;
	size_t len;
	unsigned int i;
	int r, ret;

	ret = bounce_source_pop3_open(s, why);
	if (ret != 0)
		return ret;
	r = mailpop3_list(s->pop3, &msgs);
	ret = bounce_source_pop3_errno(r);
	if (ret != 0) {
		*why = xasprintf("LIST failed (libetpan error %d)", r);
		return ret;
	}
	for (i = 0; i < carray_count(msgs) && s->n_items < s->max_items; i++) {
		struct mailpop3_msg_info *m = carray_get(msgs, i);

		if (m == NULL || m->msg_deleted)
			continue;
		/* Without UIDL a message cannot be told from the next
		 * one after a deletion: its index only holds for now. */
		if (m->msg_uidl != NULL)
			key = xasprintf("pop3:%s", m->msg_uidl);
		else
			key = xasprintf("pop3#%u", m->msg_index);
		if (skip != NULL && skip(key, skip_arg)) {
			free(key);
			continue;
		}
		if (m->msg_size > BOUNCE_MAX_SIZE) {
			bounce_source_add_error(s, key, -EMSGSIZE);
			free(key);
			continue;
		}
		/* TOP with every line, not RETR: servers such as Dovecot
		 * mark a message \Seen on RETR, and a human reply must
		 * stay as it was. */
		r = mailpop3_top(
		    s->pop3, m->msg_index, BOUNCE_MAX_SIZE, &data, &len);
		ret = bounce_source_pop3_errno(r);
		if (ret == 0) {
			bounce_source_add(s, key, data, len);
			mailpop3_top_free(data);
		}
		free(key);
		if (ret == -EPIPE || ret == -ENOMEM) {
			*why = xasprintf("RETR %u failed", m->msg_index);
			return ret;
		}
	}
	return 0;
}

static int
bounce_source_pop3_finish(struct bounce_source *s, char **why)
{
	struct mailpop3_msg_info *m;
	carray *msgs = NULL;
	const char *key;
	unsigned int i, idx;
	long num;
	size_t j;
	int n = 0, r;

	if (!s->delete)
		return 0;
	if (mailpop3_list(s->pop3, &msgs) != MAILPOP3_NO_ERROR) {
		*why = xstrdup("LIST failed");
		return -EIO;
	}
	for (j = 0; j < s->n_items; j++) {
		if (!s->items[j].done)
			continue;
		key = s->items[j].key;
		idx = 0;
		if (strncmp(key, "pop3#", 5) == 0 &&
		    util_parse_long(key + 5, 1, UINT_MAX, &num) == 0) {
			idx = (unsigned int)num;
		} else {
			for (i = 0; i < carray_count(msgs); i++) {
				m = carray_get(msgs, i);
				if (m != NULL && m->msg_uidl != NULL &&
				    strcmp(m->msg_uidl, key + 5) == 0) {
					idx = m->msg_index;
					break;
				}
			}
		}
		if (idx == 0)
			continue;
		r = mailpop3_dele(s->pop3, idx);
		if (r != MAILPOP3_NO_ERROR) {
			free(*why);
			*why = xasprintf(
			    "DELE %u failed (libetpan error %d)", idx, r);
			continue;
		}
		n++;
	}
	/* QUIT commits the deletions. */
	r = mailpop3_quit(s->pop3);
	if (r != MAILPOP3_NO_ERROR && n > 0) {
		free(*why);
		*why = xasprintf("QUIT failed: deletions not committed "
				 "(libetpan error %d)",
		    r);
		return -EIO;
	}
	return n;
}

static void
bounce_source_pop3_close(struct bounce_source *s)
{
	if (s->pop3 == NULL)
		return;
	if (s->pop3->pop3_stream != NULL)
		mailpop3_quit(s->pop3);
	mailpop3_free(s->pop3);
	s->pop3 = NULL;
}

const struct bounce_source_ops bounce_source_pop3_ops = {
	.name = "pop3",
	.fetch = bounce_source_pop3_fetch,
	.finish = bounce_source_pop3_finish,
	.close = bounce_source_pop3_close,
};
