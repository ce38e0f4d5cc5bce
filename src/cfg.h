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
	uint32_t per_sec; /* the period, in seconds: 1, 60, 3600 */
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

	/* [sender] */
	char *from;          /* "Name <addr>" as written */
	char *from_name;     /* display name part, may be "" */
	char *from_addr;     /* address part */
	char *reply_to;      /* may be NULL */
	char *bounce_domain; /* envelope: bounces+TOKEN@bounce_domain */
	/* List-Id identifier without the angle brackets; by default the
	 * from address with '@' made '.': "courses.example.org". */
	char *list_id;

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
	int64_t smtp_timeout;  /* seconds, per reply */
	int64_t retry_initial; /* first deferral, seconds */
	int64_t retry_max;     /* backoff ceiling, seconds */
	int64_t retry_give_up; /* fail after this long queued; 0: never */

	/* [maildir] */
	char *maildir_path;

	/* [reminders] */
	struct cfg_reminder_offset offsets[CFG_MAX_OFFSETS];
	int n_offsets; /* sorted, largest first */

	/* [digest] */
	int weekly_wday;   /* 0 = Sunday .. 6 */
	int weekly_minute; /* minutes after local midnight */
	int monthly_mday;  /* 1..28 */
	int monthly_minute;
	int max_posts;

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

/* Parses "30s", "5m", "2h", "7d", "1w" (or a bare "0") into seconds.
 * Returns 0 or -EINVAL (also for numbers over 1000000000). */
int cfg_parse_duration(const char *s, int64_t *secs);
/* Parses "20/s", "600/m", "1000/h" (count 1..1000000), or "0"
 * (unlimited: count 0, per_sec 1). Returns 0 or -EINVAL. */
int cfg_parse_rate(const char *s, struct cfg_rate *rate);

/* Writes secs as the largest whole unit of d, h, m, s ("7d", "90m",
 * "0"): the normalised form used in cfg_reminder_offset.text. */
void cfg_format_duration(int64_t secs, char *out, size_t size);

/* Reads a secret from a *_file path: refuses a file that group or others
 * can read (-EACCES), one that is not a regular file, empty, over 4096
 * bytes or holding a NUL byte; strips one trailing newline ("\n" or
 * "\r\n"). Returns 0 and a newly allocated *secret (the caller wipes and
 * frees it), or a negative errno and *why names the problem (a static
 * string, or strerror()'s). */
int cfg_read_secret(const char *path, char **secret, const char **why);

#endif
