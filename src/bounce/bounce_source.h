/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_source: one pass over the bounce mailbox ([bounces] source):
 * an IMAP folder (imaps://, or imap:// with STARTTLS: required for a
 * host other than loopback, used when offered by a loopback one), a POP3
 * mailbox (pop3s://, pop3:// with STLS likewise) or a Maildir
 * (maildir:/path), read with libetpan. Every message not read before is
 * fetched (at most BOUNCE_MAX_SIZE bytes each) and parsed with
 * bounce_parse(); the caller decides which items were processed and
 * bounce_source_finish() then marks them (IMAP \Seen, Maildir cur/ with
 * the S flag), moves them to another IMAP folder, or deletes them. Items
 * not marked done are left exactly as they were: no flag is set on a
 * human reply or an auto-reply.
 *
 * Both bounce_source_fetch() and bounce_source_finish() block on the
 * network or the disk: they are for a worker thread, and touch nothing
 * but the struct bounce_source. This module does not touch the database
 * (bounce_apply.c does) nor the loop (bounce_poll.c does).
 *
 * TLS is verified: the server's chain against the system's trust store
 * (OpenSSL's default paths, which honour SSL_CERT_FILE) and its name
 * against the host of the URL, before the password is sent.
 */
#ifndef FM_BOUNCE_SOURCE_H
#define FM_BOUNCE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

struct bounce_report;

/* One message read from the source. */
struct bounce_item {
	/* Names the message within the source for as long as it stays
	 * there: "imap:UIDVALIDITY:UID", "pop3:UIDL", "maildir:UNIQUE". */
	char *key;
	struct bounce_report *report; /* NULL when error != 0 */
	int error; /* 0, -EMSGSIZE (too large) or -EINVAL (not mail) */
	bool done; /* set by the caller: processed, to be marked or deleted */
};

/* Called by bounce_source_fetch() for each message before it is
 * downloaded: true skips it (the caller saw it before). */
typedef bool bounce_source_skip_fn(const char *key, void *arg);

struct bounce_source;

/*
 * A pass over url (as cfg checked it), logging in with the password in
 * password_file (may be NULL for maildir:). delete: bounce_source_finish()
 * deletes done items instead of marking them. At most max_items messages
 * are fetched by one pass. Never NULL; nothing is opened yet.
 */
struct bounce_source *bounce_source_new(
    const char *url, const char *password_file, bool delete, size_t max_items);
void bounce_source_free(struct bounce_source *s);

/* IMAP only: bounce_source_finish() moves done items to folder (copied;
 * created when missing) instead of marking or deleting them. NULL: mark
 * or delete again. Other kinds ignore it (cfg refuses the combination). */
void bounce_source_set_move_folder(struct bounce_source *s, const char *folder);

/* The text of the URL without any password, for logs: "imaps://u@h/INBOX".
 * Owned by s. */
const char *bounce_source_name(const struct bounce_source *s);

/*
 * Connects (verifying TLS), logs in and reads every message not seen
 * before (IMAP: unseen and not deleted; POP3: all; Maildir: new/ and
 * cur/ without the S flag), asking skip (may be NULL) about each first.
 * Returns 0 with the items available through bounce_source_item(), or a
 * negative errno and *why (a new string the caller frees) says what
 * failed. The connection stays open for bounce_source_finish().
 */
int bounce_source_fetch(struct bounce_source *s, bounce_source_skip_fn *skip,
    void *skip_arg, char **why);

size_t bounce_source_count(const struct bounce_source *s);
/* The i-th item, owned by s; the caller may set ->done. */
struct bounce_item *bounce_source_item(struct bounce_source *s, size_t i);

/*
 * Marks or deletes the done items and closes the connection. Returns
 * the number of items handled, or a negative errno and *why (new
 * string). Without a successful fetch it only closes.
 */
int bounce_source_finish(struct bounce_source *s, char **why);

#endif
