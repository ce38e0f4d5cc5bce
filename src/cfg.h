/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cfg: the one INI config file, parsed into struct cfg through a table of
 * typed keys. It is not a general INI library (libinih reads the syntax);
 * it knows familymail's sections and keys, their types and defaults.
 *
 * Errors are collected, not stopped at: cfg_load() reports every problem
 * as "FILE:LINE: [section] key: problem" so an administrator fixes them
 * in one pass. LINE is the line of the key; for a key that is missing
 * (required, or required by another key), the line of its section header,
 * or 0 when the section is missing too. A problem with a section as a
 * whole reads "FILE:LINE: [section]: problem", one with a line outside
 * any section or with the file itself "FILE:LINE: problem" (LINE 0 for
 * the file). FILE is the path as given to cfg_load(). The lines come
 * sorted by LINE, in the order found within one line.
 */
#ifndef FM_CFG_H
#define FM_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_EX_CONFIG   78 /* sysexits.h EX_CONFIG */
#define CFG_MAX_OFFSETS 8
#define CFG_MAX_LANGS   4 /* languages of [daemon] bilingual */
#define CFG_LANG_MAX    36

enum cfg_transport {
	CFG_TRANSPORT_SMTP,
	CFG_TRANSPORT_MAILDIR,
};

enum cfg_tls {
	CFG_TLS_REQUIRED,
	CFG_TLS_OFF,
};

struct cfg_rate {
	uint32_t count;   /* 0: unlimited */
	uint32_t per_sec; /* the period, in seconds: 1, 60, 3600, 86400 */
};

/*
 * One SMTP relay: [smtp] (named "smtp"), or a [smtp.NAME] section
 * (named "smtp.NAME"). The relays are tried in the order written, [smtp]
 * first (cfg_relay_get()).
 */
struct cfg_relay {
	char *name; /* the section: "smtp", "smtp.backup" */
	char *url;
	enum cfg_tls tls;
	char *username;
	char *password_file;
	char *ca_file; /* optional extra CA bundle (tests) */
	int connections;
	struct cfg_rate rate;
	struct cfg_rate quota; /* messages per period; count 0: no quota */
	int64_t timeout;       /* seconds, per reply */
	char *ehlo_name;       /* NULL: the host's fully qualified name */
};

struct cfg_reminder_offset {
	int64_t secs;  /* the offset before the course starts */
	char text[16]; /* as written in config, normalised: "7d" */
};

struct cfg {
	char *path; /* the file this was read from (absolute) */

	/* [daemon] */
	char *database;
	char *templates;
	char *timezone;
	int log_level;
	char *user; /* drop privileges to this user when started as root */
	/* The default language of messages and pages (BCP 47, normalised:
	 * "en", "cy"): the language of the templates folder's own files. */
	char *language;
	/* [daemon] bilingual: the languages of one bilingual message, in
	 * order ("cy, en": Welsh first), for recipients with no language
	 * of their own; n_bilingual is 0 when not set. */
	char bilingual[CFG_MAX_LANGS][CFG_LANG_MAX];
	int n_bilingual;

	/* [sender] */
	char *from;          /* "Name <addr>" as written */
	char *from_name;     /* display name part, may be "" */
	char *from_addr;     /* address part */
	char *reply_to;      /* may be NULL */
	char *bounce_domain; /* envelope: bounces+TOKEN@bounce_domain */
	/* List-Id identifier without the angle brackets; by default the
	 * from address with '@' made '.': "courses.example.org". */
	char *list_id;

	/* [organisation]: who sends, in every message's footer. Each may
	 * be NULL (not shown). */
	char *org_name;           /* "Family Courses" */
	char *org_address;        /* postal address, one line */
	char *org_charity_number; /* "1234567" */

	/* [transport] */
	enum cfg_transport transport;

	/* [smtp] */
	char *smtp_url;
	enum cfg_tls smtp_tls;
	char *smtp_username;
	char *smtp_password_file;
	char *smtp_ca_file; /* optional extra CA bundle (tests) */
	int smtp_connections;
	struct cfg_rate smtp_rate;
	int64_t smtp_timeout;       /* seconds, per reply */
	struct cfg_rate smtp_quota; /* count 0: none */
	char *smtp_ehlo_name;       /* NULL: the host's fully qualified name */
	/* [smtp] and [smtp.NAME] alike (the keys above, and these three
	 * in [smtp] only, for every relay): */
	int64_t retry_initial; /* first deferral, seconds */
	int64_t retry_max;     /* backoff ceiling, seconds */
	int64_t retry_give_up; /* fail after this long queued; 0: never */

	/* [smtp.NAME]: the relays after [smtp], in the order written (see
	 * cfg_relay_get()). */
	struct cfg_relay *relays;
	size_t n_relays;

	/* [maildir] */
	char *maildir_path;

	/* [reminders] */
	struct cfg_reminder_offset offsets[CFG_MAX_OFFSETS];
	int n_offsets; /* sorted, largest first */

	/* [courses] */
	/* Edits of a course's time, place or joining link within this many
	 * seconds of the first make one change notice (0: none waits). */
	int64_t change_window;

	/* [digest] */
	int weekly_wday;   /* 0 = Sunday .. 6 */
	int weekly_minute; /* minutes after local midnight */
	int monthly_mday;  /* 1..28 */
	int monthly_minute;
	int max_posts;
	/* Longest post summary in a digest, in characters; 0: whole. */
	int summary_length;

	/* [feed] */
	char *feed_url; /* NULL: no feed */
	int64_t feed_every;

	/* [bounces] */
	/* imaps://user@host/FOLDER, pop3s://user@host or maildir:/abs/path
	 * (a relative maildir: path is resolved); NULL: no bounce work. */
	char *bounce_source;
	char *bounce_password_file;
	int64_t bounce_every;
	int soft_limit;
	int64_t soft_window;
	/* Delete processed bounces; false (the default): keep them, marked
	 * as read where the source can (IMAP \Seen, Maildir cur/). */
	bool bounce_delete;
	/* IMAP only: the folder processed bounces are moved to (created
	 * when missing); NULL: mark or delete them as bounce_delete says. */
	char *bounce_folder;

	/* [unsubscribe] */
	char *unsubscribe_url;    /* contains "{token}" */
	char *unsubscribe_mailto; /* address */
	char *secret_file;
	/* Both contain "{token}"; NULL when not configured. */
	char *confirm_url; /* double opt-in confirmation link */
	char *preferences_url;

	/* [http] */
	char *http_listen; /* NULL: no HTTP server */
	/* The peers whose X-Forwarded-For is believed, as written (checked
	 * by cfg_value_parse_nets()); NULL: nobody's. */
	char *http_trusted_proxies;
	/* /metrics (and /healthz) on a listener of their own; NULL: on
	 * http_listen. */
	char *metrics_listen;
	/* A bearer token /metrics asks for; NULL: none asked. */
	char *metrics_token_file;

	/* [retention]: seconds; 0 keeps them for ever */
	int64_t retain_messages; /* messages and bounces */
	int64_t retain_events;   /* the history */
	/* [dkim]: all NULL when the section is absent (nothing signed) */
	char *dkim_domain;           /* d=: From's domain or a parent of it */
	char *dkim_selector;         /* s= of the key_file signature */
	char *dkim_key_file;         /* RSA (2048 bits or more) or Ed25519 */
	char *dkim_ed25519_selector; /* a second signature, or NULL */
	char *dkim_ed25519_key_file;
};

/*
 * Reads and checks the config file at path. On success returns a new
 * struct cfg (free with cfg_free()) and *errors is NULL. On failure
 * returns NULL and *errors is a newly allocated string of one line per
 * problem, each "FILE:LINE: [section] key: problem" (the caller frees).
 */
struct cfg *cfg_load(const char *path, char **errors);

/* A config of built-in defaults only, with relative paths resolved
 * against dir (tests use it): transport maildir at dir/Maildir, database
 * dir/familymail.db, templates $FAMILYMAIL_TEMPLATES if set (else the
 * installed ones), from "Family Courses <courses@example.org>". Nothing
 * is checked on disk. Never NULL; free with cfg_free(). */
struct cfg *cfg_new_defaults(const char *dir);

/* Frees c and every string in it; cfg_free(NULL) does nothing. */
void cfg_free(struct cfg *c);

/* Parses "30s", "5m", "2h", "7d", "1w", "1y" (365 days), or a bare
 * "0", into seconds.
 * Returns 0 or -EINVAL (also for numbers over 1000000000). */
int cfg_parse_duration(const char *s, int64_t *secs);
/* Parses "20/s", "600/m", "1000/h", "2000/d" (count 1..1000000), or
 * "0" (unlimited: count 0, per_sec 1). Returns 0 or -EINVAL. */
int cfg_parse_rate(const char *s, struct cfg_rate *rate);

/* How many SMTP relays c names: [smtp] and each [smtp.NAME]. */
size_t cfg_relay_count(const struct cfg *c);

/* The i-th relay (i < cfg_relay_count()), 0 being [smtp], into *out:
 * its strings are c's, valid while c is. */
void cfg_relay_get(const struct cfg *c, size_t i, struct cfg_relay *out);

/* Writes secs as the largest whole unit of d, h, m, s ("7d", "90m",
 * "0"): the normalised form used in cfg_reminder_offset.text. */
void cfg_format_duration(int64_t secs, char *out, size_t size);

/* Reads a secret from a *_file path, as the account running this
 * process will: the file may be readable by its owner and by the
 * account's own (effective) group, never by others (-EACCES). Refuses
 * one that is not a regular file, empty, over 4096 bytes or holding a
 * NUL byte; strips one trailing newline ("\n" or "\r\n"). Returns 0 and
 * a newly allocated *secret (the caller wipes and frees it), or a
 * negative errno and *why names the problem (a static string, or
 * strerror()'s). */
int cfg_read_secret(const char *path, char **secret, char **why);
/* The same for the account c's daemon runs as: run by root with
 * [daemon] user set, that account's (its group, and whether it could
 * read the file at all: -EACCES when only root could); otherwise
 * cfg_read_secret(). For the admin tool and check-config. */
int cfg_read_secret_for(
    const struct cfg *c, const char *path, char **secret, char **why);

#endif
