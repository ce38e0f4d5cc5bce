/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_source_imap: the IMAP kind of bounce_source (see
 * bounce_source.h). Messages are read with BODY.PEEK[] (so nothing read
 * gets \Seen by being read), at most BOUNCE_MAX_SIZE + 1 bytes of each
 * (a partial fetch: a bigger message is noted, not downloaded). Done
 * items get \Seen, or \Deleted and are expunged by UID (UIDPLUS) when
 * the source deletes; without UIDPLUS they are only flagged \Deleted,
 * since a plain EXPUNGE would also remove what others flagged. With a
 * move folder they go there: UID MOVE (RFC 6851) when offered, else UID
 * COPY and \Deleted, expunged by UID where UIDPLUS allows.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "bounce/bounce.h"
#include "bounce/bounce_source_int.h"
#include "util.h"

/* libetpan's result codes, mapped once. */
static int
bounce_source_imap_errno(int r)
{
	switch (r) {
	case MAILIMAP_NO_ERROR:
	case MAILIMAP_NO_ERROR_AUTHENTICATED:
	case MAILIMAP_NO_ERROR_NON_AUTHENTICATED:
		return 0;
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
		return -ECONNREFUSED;
	case MAILIMAP_ERROR_LOGIN:
		return -EACCES;
	case MAILIMAP_ERROR_MEMORY:
		return -ENOMEM;
	case MAILIMAP_ERROR_STREAM:
		return -EPIPE;
	default:
		return -EIO;
	}
}

static struct mailimap_search_key *
bounce_source_imap_key(int type)
{
	return mailimap_search_key_new(type, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL,
	    NULL, NULL, NULL, 0, NULL, NULL, NULL);
}

/* Connects, secures and logs in. */
static int
bounce_source_imap_open(struct bounce_source *s, char **why)
{
	struct mailimap_capability_data *caps = NULL;
	char *password = NULL;
	int r, ret;
	bool starttls;

	ret = bounce_source_password(s, &password, why);
	if (ret != 0)
		return ret;
	s->imap = mailimap_new(0, NULL);
	if (s->imap == NULL) {
		ret = -ENOMEM;
		*why = xstrdup("out of memory");
		goto out;
	}
	mailimap_set_timeout(s->imap, BOUNCE_SOURCE_TIMEOUT);
	if (s->tls)
		r = mailimap_ssl_connect_with_callback(s->imap, s->host,
		    s->port != 0 ? s->port : 993, bounce_source_on_tls, s);
	else
		r = mailimap_socket_connect(
		    s->imap, s->host, s->port != 0 ? s->port : 143);
	ret = bounce_source_imap_errno(r);
	if (ret != 0) {
		*why = xasprintf(
		    "cannot connect to %s (libetpan error %d)", s->host, r);
		goto out;
	}
	/* imap:// upgrades when the server offers STARTTLS; only a
	 * loopback server may go without. */
	starttls = false;
	if (!s->tls) {
		r = mailimap_capability(s->imap, &caps);
		if (r == MAILIMAP_NO_ERROR) {
			mailimap_capability_data_free(caps);
			starttls = mailimap_has_extension(s->imap, "STARTTLS");
		}
		if (starttls) {
			r = mailimap_socket_starttls_with_callback(
			    s->imap, bounce_source_on_tls, s);
			ret = bounce_source_imap_errno(r);
			if (ret != 0) {
				*why = xasprintf("STARTTLS failed (libetpan "
						 "error %d)",
				    r);
				goto out;
			}
		} else if (s->starttls_required) {
			ret = -EPROTO;
			*why =
			    xasprintf("%s offers no STARTTLS: not logging in "
				      "without TLS to a host other than "
				      "loopback",
				s->host);
			goto out;
		}
	}
	if (s->tls || starttls) {
		ret = bounce_source_verify_tls(s, s->imap->imap_stream, why);
		if (ret != 0)
			goto out;
	}
	r = mailimap_login(s->imap, s->user, password);
	ret = bounce_source_imap_errno(r);
	if (ret != 0) {
		*why = xasprintf("login as %s refused", s->user);
		goto out;
	}
	/* What the server offers may change at login (RFC 3501 7.2.1):
	 * ask again for MOVE and UIDPLUS. Without an answer, neither is
	 * assumed. */
	r = mailimap_capability(s->imap, &caps);
	if (r == MAILIMAP_NO_ERROR)
		mailimap_capability_data_free(caps);
	r = mailimap_select(s->imap, s->folder);
	ret = bounce_source_imap_errno(r);
	if (ret != 0) {
		*why = xasprintf("cannot select folder %s", s->folder);
		goto out;
	}
	s->uidvalidity = s->imap->imap_selection_info != NULL
	    ? s->imap->imap_selection_info->sel_uidvalidity
	    : 0;
out:
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	return ret;
}

/* Reads one message by UID: 0 and *data, *len (libetpan's, freed with
 * the fetch list in *list), or a negative errno. */
static int
bounce_source_imap_get(struct bounce_source *s, uint32_t uid, clist **list,
    const char **data, size_t *len)
{
	struct mailimap_set *set = mailimap_set_new_single(uid);
	struct mailimap_fetch_type *ft;
	struct mailimap_section *sec;
	struct mailimap_fetch_att *att;
	clistiter *ci, *ai;
	int r;

	*list = NULL;
	*data = NULL;
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	sec = mailimap_section_new(NULL);
	att = mailimap_fetch_att_new_body_peek_section_partial(
	    sec, 0, BOUNCE_MAX_SIZE + 1);
	if (set == NULL || ft == NULL || sec == NULL || att == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, att) != 0) {
		if (set != NULL)
			mailimap_set_free(set);
		if (ft != NULL)
			mailimap_fetch_type_free(ft);
		if (att != NULL)
			mailimap_fetch_att_free(att);
		else if (sec != NULL)
			mailimap_section_free(sec);
		return -ENOMEM;
	}
	r = mailimap_uid_fetch(s->imap, set, ft, list);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return bounce_source_imap_errno(r);
	for (ci = clist_begin(*list); ci != NULL; ci = clist_next(ci)) {
		struct mailimap_msg_att *ma = clist_content(ci);

		for (ai = clist_begin(ma->att_list); ai != NULL;
		     ai = clist_next(ai)) {
			struct mailimap_msg_att_item *it = clist_content(ai);
			struct mailimap_msg_att_static *st;

			if (it->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			st = it->att_data.att_static;
			if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
			    st->att_data.att_body_section->sec_body_part !=
				NULL) {
				*data = st->att_data.att_body_section
					    ->sec_body_part;
				*len =
				    st->att_data.att_body_section->sec_length;
			}
		}
	}
	return *data != NULL ? 0 : -ENOENT;
}

static int
bounce_source_imap_fetch(struct bounce_source *s, bounce_source_skip_fn *skip,
    void *skip_arg, char **why)
{
	struct mailimap_search_key *key;
	clist *uids = NULL, *list;
	clistiter *ci;
	const char *data;
	char k[64];
	size_t len = 0;
	int r, ret;

	ret = bounce_source_imap_open(s, why);
	if (ret != 0)
		return ret;
	/* Kept bounces are \Seen: look only at what is not. */
	key = mailimap_search_key_new_multiple_empty();
	if (key == NULL ||
	    mailimap_search_key_multiple_add(key,
		bounce_source_imap_key(MAILIMAP_SEARCH_KEY_UNDELETED)) != 0 ||
	    (!s->delete &&mailimap_search_key_multiple_add(key,
		 bounce_source_imap_key(MAILIMAP_SEARCH_KEY_UNSEEN)) != 0)) {
		if (key != NULL)
			mailimap_search_key_free(key);
		*why = xstrdup("out of memory");
		return -ENOMEM;
	}
	r = mailimap_uid_search(s->imap, NULL, key, &uids);
	mailimap_search_key_free(key);
	ret = bounce_source_imap_errno(r);
	if (ret != 0) {
		*why = xasprintf("SEARCH failed (libetpan error %d)", r);
		return ret;
	}
	for (ci = clist_begin(uids); ci != NULL && s->n_items < s->max_items;
	     ci = clist_next(ci)) {
		uint32_t uid = *(uint32_t *)clist_content(ci);

		(void)snprintf(k, sizeof(k), "imap:%u:%u",
		    (unsigned)s->uidvalidity, (unsigned)uid);
		if (skip != NULL && skip(k, skip_arg))
			continue;
		ret = bounce_source_imap_get(s, uid, &list, &data, &len);
		if (ret == 0 && len > BOUNCE_MAX_SIZE)
			bounce_source_add_error(s, k, -EMSGSIZE);
		else if (ret == 0)
			bounce_source_add(s, k, data, len);
		if (list != NULL)
			mailimap_fetch_list_free(list);
		if (ret == -EPIPE || ret == -ENOMEM) {
			*why =
			    xasprintf("FETCH of UID %u failed", (unsigned)uid);
			mailimap_search_result_free(uids);
			return ret;
		}
		/* A message expunged meanwhile is simply skipped. */
	}
	mailimap_search_result_free(uids);
	return 0;
}

/* The text of the server's last reply, for *why. */
static const char *
bounce_source_imap_said(const struct bounce_source *s)
{
	return s->imap->imap_response != NULL ? s->imap->imap_response : "";
}

/* Adds \Deleted (deleted) or \Seen to the messages of set. */
static int
bounce_source_imap_flag(
    struct bounce_source *s, struct mailimap_set *set, bool deleted, char **why)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_flag *f =
	    deleted ? mailimap_flag_new_deleted() : mailimap_flag_new_seen();
	struct mailimap_store_att_flags *sf;
	int r, ret;

	if (fl == NULL || f == NULL || mailimap_flag_list_add(fl, f) != 0) {
		if (f != NULL)
			mailimap_flag_free(f);
		if (fl != NULL)
			mailimap_flag_list_free(fl);
		*why = xstrdup("out of memory");
		return -ENOMEM;
	}
	sf = mailimap_store_att_flags_new_add_flags_silent(fl);
	if (sf == NULL) {
		mailimap_flag_list_free(fl);
		*why = xstrdup("out of memory");
		return -ENOMEM;
	}
	r = mailimap_uid_store(s->imap, set, sf);
	mailimap_store_att_flags_free(sf);
	ret = bounce_source_imap_errno(r);
	if (ret != 0)
		*why = xasprintf("STORE failed (libetpan error %d): %s", r,
		    bounce_source_imap_said(s));
	return ret;
}

/* Expunges the messages of set, which we flagged \Deleted, by UID when
 * the server has UIDPLUS; a plain EXPUNGE would also remove what others
 * flagged, so without UIDPLUS they stay, flagged. */
static int
bounce_source_imap_expunge(
    struct bounce_source *s, struct mailimap_set *set, char **why)
{
	int r, ret;

	if (!mailimap_has_extension(s->imap, "UIDPLUS"))
		return 0;
	r = mailimap_uid_expunge(s->imap, set);
	ret = bounce_source_imap_errno(r);
	if (ret != 0)
		*why = xasprintf("UID EXPUNGE failed (libetpan error %d): %s",
		    r, bounce_source_imap_said(s));
	return ret;
}

/* Moves the messages of set to s->move_folder, creating it first. */
static int
bounce_source_imap_move(
    struct bounce_source *s, struct mailimap_set *set, char **why)
{
	const char *to = s->move_folder;
	int r, ret;

	/* A NO to CREATE is most often "already exists"; a folder that
	 * really cannot be made fails the MOVE or COPY below, with the
	 * server's own words. */
	r = mailimap_create(s->imap, to);
	if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_ERROR_CREATE) {
		*why = xasprintf("CREATE %s failed (libetpan error %d)", to, r);
		return bounce_source_imap_errno(r);
	}
	if (mailimap_has_extension(s->imap, "MOVE")) {
		r = mailimap_uid_move(s->imap, set, to);
		ret = bounce_source_imap_errno(r);
		if (ret != 0)
			*why = xasprintf("UID MOVE to %s failed (libetpan "
					 "error %d): %s",
			    to, r, bounce_source_imap_said(s));
		return ret;
	}
	r = mailimap_uid_copy(s->imap, set, to);
	ret = bounce_source_imap_errno(r);
	if (ret != 0) {
		*why = xasprintf("UID COPY to %s failed (libetpan error %d): "
				 "%s",
		    to, r, bounce_source_imap_said(s));
		return ret;
	}
	ret = bounce_source_imap_flag(s, set, true, why);
	if (ret != 0)
		return ret;
	return bounce_source_imap_expunge(s, set, why);
}

/* The UID in a key "imap:UIDVALIDITY:UID" made above, or 0 (no UID). */
static uint32_t
bounce_source_imap_key_uid(const char *key)
{
	const char *colon = strrchr(key, ':');
	long uid;

	if (strncmp(key, "imap:", 5) != 0 || colon == key + 4 ||
	    util_parse_long(colon + 1, 1, UINT32_MAX, &uid) != 0)
		return 0;
	return (uint32_t)uid;
}

static int
bounce_source_imap_finish(struct bounce_source *s, char **why)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	size_t i;
	int n = 0, ret = 0;

	if (set == NULL) {
		*why = xstrdup("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < s->n_items; i++) {
		uint32_t uid;

		if (!s->items[i].done)
			continue;
		uid = bounce_source_imap_key_uid(s->items[i].key);
		if (uid == 0)
			continue;
		if (mailimap_set_add_single(set, uid) != 0) {
			*why = xstrdup("out of memory");
			ret = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n == 0)
		goto out;
	if (s->move_folder != NULL) {
		ret = bounce_source_imap_move(s, set, why);
	} else {
		ret = bounce_source_imap_flag(s, set, s->delete, why);
		if (ret == 0 && s->delete)
			ret = bounce_source_imap_expunge(s, set, why);
	}
out:
	mailimap_set_free(set);
	return ret != 0 ? ret : n;
}

static void
bounce_source_imap_close(struct bounce_source *s)
{
	if (s->imap == NULL)
		return;
	if (s->imap->imap_stream != NULL)
		mailimap_logout(s->imap);
	mailimap_free(s->imap);
	s->imap = NULL;
}

const struct bounce_source_ops bounce_source_imap_ops = {
	.name = "imap",
	.fetch = bounce_source_imap_fetch,
	.finish = bounce_source_imap_finish,
	.close = bounce_source_imap_close,
};
