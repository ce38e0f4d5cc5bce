/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cfg: reads familymail.conf into struct cfg. One table (cfg_keys) names
 * every key with its section, type, field and default; parsing, defaults
 * and the checks on disk all walk it. libinih splits the syntax; our own
 * line reader feeds it, so that every problem carries its line number and
 * over-long lines are refused instead of being cut in two.
 *
 * It is not a general INI library and keeps no state between loads: a
 * reload (SIGHUP) is a fresh cfg_load() whose result the caller swaps in.
 */
#include "config.h"

#include "cfg.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "addr.h"
#include "buf.h"
#include "cfg_value.h"
#include "dkimkey.h"
#include "lang.h"
#include "log.h"
#include "token.h"
#include "util.h"

#ifndef FAMILYMAIL_STATEDIR
#define FAMILYMAIL_STATEDIR "/var/lib/familymail"
#endif
#ifndef FAMILYMAIL_TEMPLATES
#define FAMILYMAIL_TEMPLATES "/usr/share/familymail/templates"
#endif

#define CFG_MAX_FILE       (1024 * 1024)
#define CFG_MAX_SECRET     4096
#define CFG_MAX_ERRORS     100
#define CFG_MAX_DURATION_N 1000000000
#define CFG_MAX_RATE       1000000
#define CFG_ZONEINFO       "/usr/share/zoneinfo"
#define CFG_DAY            86400
#define CFG_SECT_NONE      (-1) /* before the first section header */
#define CFG_SECT_SKIP      (-2) /* in an unknown or broken section */
#define CFG_SECT_RELAY     (-3) /* in a [smtp.NAME] section: p->child */
#define CFG_MAX_RELAYS     8
#define CFG_RELAY_NAME_MAX 32

enum cfg_section {
	CFG_S_DAEMON,
	CFG_S_SENDER,
	CFG_S_TRANSPORT,
	CFG_S_SMTP,
	CFG_S_MAILDIR,
	CFG_S_REMINDERS,
	CFG_S_COURSES,
	CFG_S_DIGEST,
	CFG_S_FEED,
	CFG_S_BOUNCES,
	CFG_S_UNSUBSCRIBE,
	CFG_S_HTTP,
	CFG_S_ORGANISATION,
	CFG_S_RETENTION,
	CFG_S_DKIM,
	CFG_S_COUNT,
};

static const char *const cfg_section_names[CFG_S_COUNT] = {
	[CFG_S_DAEMON] = "daemon",
	[CFG_S_SENDER] = "sender",
	[CFG_S_TRANSPORT] = "transport",
	[CFG_S_SMTP] = "smtp",
	[CFG_S_MAILDIR] = "maildir",
	[CFG_S_REMINDERS] = "reminders",
	[CFG_S_COURSES] = "courses",
	[CFG_S_DIGEST] = "digest",
	[CFG_S_FEED] = "feed",
	[CFG_S_BOUNCES] = "bounces",
	[CFG_S_UNSUBSCRIBE] = "unsubscribe",
	[CFG_S_HTTP] = "http",
	[CFG_S_ORGANISATION] = "organisation",
	[CFG_S_RETENTION] = "retention",
	[CFG_S_DKIM] = "dkim",
};

enum cfg_key_id {
	CFG_K_DATABASE,
	CFG_K_TEMPLATES,
	CFG_K_TIMEZONE,
	CFG_K_LOG_LEVEL,
	CFG_K_USER,
	CFG_K_LANGUAGE,
	CFG_K_BILINGUAL,
	CFG_K_FROM,
	CFG_K_REPLY_TO,
	CFG_K_BOUNCE_DOMAIN,
	CFG_K_LIST_ID,
	CFG_K_TRANSPORT,
	CFG_K_SMTP_URL,
	CFG_K_SMTP_TLS,
	CFG_K_SMTP_USERNAME,
	CFG_K_SMTP_PASSWORD_FILE,
	CFG_K_SMTP_CA_FILE,
	CFG_K_SMTP_CONNECTIONS,
	CFG_K_SMTP_RATE,
	CFG_K_SMTP_TIMEOUT,
	CFG_K_SMTP_QUOTA,
	CFG_K_SMTP_EHLO_NAME,
	CFG_K_RETRY_INITIAL,
	CFG_K_RETRY_MAX,
	CFG_K_GIVE_UP,
	CFG_K_MAILDIR_PATH,
	CFG_K_OFFSETS,
	CFG_K_CHANGE_WINDOW,
	CFG_K_WEEKLY,
	CFG_K_MONTHLY,
	CFG_K_MAX_POSTS,
	CFG_K_SUMMARY_LENGTH,
	CFG_K_FEED_URL,
	CFG_K_FEED_EVERY,
	CFG_K_BOUNCE_SOURCE,
	CFG_K_BOUNCE_PASSWORD_FILE,
	CFG_K_BOUNCE_EVERY,
	CFG_K_SOFT_LIMIT,
	CFG_K_SOFT_WINDOW,
	CFG_K_BOUNCE_DELETE,
	CFG_K_BOUNCE_FOLDER,
	CFG_K_UNSUBSCRIBE_URL,
	CFG_K_UNSUBSCRIBE_MAILTO,
	CFG_K_SECRET_FILE,
	CFG_K_CONFIRM_URL,
	CFG_K_PREFERENCES_URL,
	CFG_K_HTTP_LISTEN,
	CFG_K_ORG_NAME,
	CFG_K_ORG_ADDRESS,
	CFG_K_ORG_CHARITY_NUMBER,
	CFG_K_RETAIN_MESSAGES,
	CFG_K_RETAIN_EVENTS,
	CFG_K_DKIM_DOMAIN,
	CFG_K_DKIM_SELECTOR,
	CFG_K_DKIM_KEY_FILE,
	CFG_K_DKIM_ED25519_SELECTOR,
	CFG_K_DKIM_ED25519_KEY_FILE,
	CFG_K_HTTP_TRUSTED_PROXIES,
	CFG_K_METRICS_LISTEN,
	CFG_K_METRICS_TOKEN_FILE,
	CFG_K_COUNT,
};

enum cfg_type {
	CFG_T_STRING,   /* any text without control characters */
	CFG_T_PATH,     /* resolved against the config's folder */
	CFG_T_DIR,      /* a path that must be a folder */
	CFG_T_FILE,     /* a path that must be a readable file */
	CFG_T_SECRET,   /* a path cfg_read_secret() must accept */
	CFG_T_DURATION, /* int64_t seconds, within min..max */
	CFG_T_RATE,     /* struct cfg_rate */
	CFG_T_INT,      /* int, within min..max */
	CFG_T_ENUM,     /* int, one of names */
	CFG_T_BOOL,
	CFG_T_OFFSETS, /* [reminders] offsets into offsets, n_offsets */
	CFG_T_WEEKLY,  /* "mon 08:00" into weekly_wday, weekly_minute */
	CFG_T_MONTHLY, /* "1 08:00" into monthly_mday, monthly_minute */
	CFG_T_FROM,    /* "Name <addr>" into from, from_name, from_addr */
	CFG_T_MAILBOX, /* "Name <addr>" or "addr", kept as written */
	CFG_T_ADDR,    /* a bare address */
	CFG_T_DOMAIN,
	CFG_T_LIST_ID,
	CFG_T_URL,       /* one of schemes; with CFG_F_TOKEN, has {token} */
	CFG_T_SOURCE,    /* [bounces] source */
	CFG_T_TIMEZONE,  /* a name under the zoneinfo folder */
	CFG_T_USER,      /* an account name */
	CFG_T_LISTEN,    /* ADDRESS:PORT */
	CFG_T_LANGUAGE,  /* a BCP 47 tag ICU knows, normalised */
	CFG_T_LANGUAGES, /* [daemon] bilingual into bilingual, n_bilingual */
	CFG_T_SELECTOR,  /* a DKIM selector: labels joined by dots */
	CFG_T_DKIM_KEY,  /* a path dkimkey_load() must accept */
	CFG_T_NETS,      /* addresses and networks, kept as written */
};

#define CFG_F_REQUIRED 0x1
#define CFG_F_TOKEN    0x2
#define CFG_F_GLOBAL   0x4 /* in [smtp] only, for every relay */

struct cfg_enum {
	const char *name;
	int value;
};

struct cfg_key {
	enum cfg_section section;
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def; /* the default, as config text; NULL: none */
	int64_t min, max;
	const struct cfg_enum *names;
	const char *const *schemes;
	unsigned flags;
};

static const struct cfg_enum cfg_log_levels[] = {
	{ "debug", LOG_LEVEL_DEBUG },
	{ "info", LOG_LEVEL_INFO },
	{ "notice", LOG_LEVEL_NOTICE },
	{ "warning", LOG_LEVEL_WARNING },
	{ "error", LOG_LEVEL_ERR },
	{ NULL, 0 },
};

static const struct cfg_enum cfg_transports[] = {
	{ "smtp", CFG_TRANSPORT_SMTP },
	{ "maildir", CFG_TRANSPORT_MAILDIR },
	{ NULL, 0 },
};

static const struct cfg_enum cfg_tls_modes[] = {
	{ "required", CFG_TLS_REQUIRED },
	{ "off", CFG_TLS_OFF },
	{ NULL, 0 },
};

static const char *const cfg_smtp_schemes[] = { "smtp", "smtps", NULL };
static const char *const cfg_web_schemes[] = { "https", "http", NULL };

/* Enum fields are written through an int pointer. */
_Static_assert(sizeof(enum cfg_transport) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_tls) == sizeof(int), "enum size");

#define CFG_OFF(field) offsetof(struct cfg, field)
#define CFG_MIN        ((int64_t)60)
#define CFG_HOUR       ((int64_t)3600)
#define CFG_YEAR       ((int64_t)365 * CFG_DAY)

static const struct cfg_key cfg_keys[CFG_K_COUNT] = {
	[CFG_K_DATABASE] = { CFG_S_DAEMON, "database", CFG_T_PATH,
	    CFG_OFF(database), .def = FAMILYMAIL_STATEDIR "/familymail.db" },
	[CFG_K_TEMPLATES] = { CFG_S_DAEMON, "templates", CFG_T_DIR,
	    CFG_OFF(templates), .def = FAMILYMAIL_TEMPLATES },
	[CFG_K_TIMEZONE] = { CFG_S_DAEMON, "timezone", CFG_T_TIMEZONE,
	    CFG_OFF(timezone), .def = "Europe/London" },
	[CFG_K_LOG_LEVEL] = { CFG_S_DAEMON, "log_level", CFG_T_ENUM,
	    CFG_OFF(log_level), .def = "info", .names = cfg_log_levels },
	[CFG_K_USER] = { CFG_S_DAEMON, "user", CFG_T_USER, CFG_OFF(user) },
	[CFG_K_LANGUAGE] = { CFG_S_DAEMON, "language", CFG_T_LANGUAGE,
	    CFG_OFF(language), .def = "en" },
	[CFG_K_BILINGUAL] = { CFG_S_DAEMON, "bilingual", CFG_T_LANGUAGES,
	    CFG_OFF(bilingual) },
	[CFG_K_FROM] = { CFG_S_SENDER, "from", CFG_T_FROM, CFG_OFF(from),
	    .flags = CFG_F_REQUIRED },
	[CFG_K_REPLY_TO] = { CFG_S_SENDER, "reply_to", CFG_T_MAILBOX,
	    CFG_OFF(reply_to) },
	[CFG_K_BOUNCE_DOMAIN] = { CFG_S_SENDER, "bounce_domain", CFG_T_DOMAIN,
	    CFG_OFF(bounce_domain) },
	[CFG_K_LIST_ID] = { CFG_S_SENDER, "list_id", CFG_T_LIST_ID,
	    CFG_OFF(list_id) },
	[CFG_K_TRANSPORT] = { CFG_S_TRANSPORT, "type", CFG_T_ENUM,
	    CFG_OFF(transport), .def = "smtp", .names = cfg_transports },
	[CFG_K_SMTP_URL] = { CFG_S_SMTP, "url", CFG_T_URL, CFG_OFF(smtp_url),
	    .schemes = cfg_smtp_schemes },
	[CFG_K_SMTP_TLS] = { CFG_S_SMTP, "tls", CFG_T_ENUM, CFG_OFF(smtp_tls),
	    .def = "required", .names = cfg_tls_modes },
	[CFG_K_SMTP_USERNAME] = { CFG_S_SMTP, "username", CFG_T_STRING,
	    CFG_OFF(smtp_username) },
	[CFG_K_SMTP_PASSWORD_FILE] = { CFG_S_SMTP, "password_file",
	    CFG_T_SECRET, CFG_OFF(smtp_password_file) },
	[CFG_K_SMTP_CA_FILE] = { CFG_S_SMTP, "ca_file", CFG_T_FILE,
	    CFG_OFF(smtp_ca_file) },
	[CFG_K_SMTP_CONNECTIONS] = { CFG_S_SMTP, "connections", CFG_T_INT,
	    CFG_OFF(smtp_connections), .def = "4", .min = 1, .max = 64 },
	[CFG_K_SMTP_RATE] = { CFG_S_SMTP, "rate", CFG_T_RATE,
	    CFG_OFF(smtp_rate), .def = "0" },
	[CFG_K_SMTP_TIMEOUT] = { CFG_S_SMTP, "timeout", CFG_T_DURATION,
	    CFG_OFF(smtp_timeout), .def = "60s", .min = 1, .max = CFG_HOUR },
	[CFG_K_SMTP_QUOTA] = { CFG_S_SMTP, "quota", CFG_T_RATE,
	    CFG_OFF(smtp_quota), .def = "0" },
	[CFG_K_SMTP_EHLO_NAME] = { CFG_S_SMTP, "ehlo_name", CFG_T_DOMAIN,
	    CFG_OFF(smtp_ehlo_name) },
	[CFG_K_RETRY_INITIAL] = { CFG_S_SMTP, "retry_initial", CFG_T_DURATION,
	    CFG_OFF(retry_initial), .def = "1m", .min = 1, .max = CFG_DAY,
	    .flags = CFG_F_GLOBAL },
	[CFG_K_RETRY_MAX] = { CFG_S_SMTP, "retry_max", CFG_T_DURATION,
	    CFG_OFF(retry_max), .def = "1h", .min = 1, .max = 7 * CFG_DAY,
	    .flags = CFG_F_GLOBAL },
	[CFG_K_GIVE_UP] = { CFG_S_SMTP, "give_up", CFG_T_DURATION,
	    CFG_OFF(retry_give_up), .def = "3d", .min = 0, .max = 365 * CFG_DAY,
	    .flags = CFG_F_GLOBAL },
	[CFG_K_MAILDIR_PATH] = { CFG_S_MAILDIR, "path", CFG_T_PATH,
	    CFG_OFF(maildir_path) },
	[CFG_K_OFFSETS] = { CFG_S_REMINDERS, "offsets", CFG_T_OFFSETS,
	    CFG_OFF(offsets), .def = "7d, 1d", .min = CFG_MIN,
	    .max = 365 * CFG_DAY },
	[CFG_K_CHANGE_WINDOW] = { CFG_S_COURSES, "change_window",
	    CFG_T_DURATION, CFG_OFF(change_window), .def = "10m", .min = 0,
	    .max = CFG_DAY },
	[CFG_K_WEEKLY] = { CFG_S_DIGEST, "weekly", CFG_T_WEEKLY,
	    CFG_OFF(weekly_wday), .def = "mon 08:00" },
	[CFG_K_MONTHLY] = { CFG_S_DIGEST, "monthly", CFG_T_MONTHLY,
	    CFG_OFF(monthly_mday), .def = "1 08:00" },
	[CFG_K_MAX_POSTS] = { CFG_S_DIGEST, "max_posts", CFG_T_INT,
	    CFG_OFF(max_posts), .def = "10", .min = 1, .max = 100 },
	[CFG_K_SUMMARY_LENGTH] = { CFG_S_DIGEST, "summary_length", CFG_T_INT,
	    CFG_OFF(summary_length), .def = "400", .min = 0, .max = 20000 },
	[CFG_K_FEED_URL] = { CFG_S_FEED, "url", CFG_T_URL, CFG_OFF(feed_url),
	    .schemes = cfg_web_schemes },
	[CFG_K_FEED_EVERY] = { CFG_S_FEED, "every", CFG_T_DURATION,
	    CFG_OFF(feed_every), .def = "30m", .min = CFG_MIN,
	    .max = 7 * CFG_DAY },
	[CFG_K_BOUNCE_SOURCE] = { CFG_S_BOUNCES, "source", CFG_T_SOURCE,
	    CFG_OFF(bounce_source) },
	[CFG_K_BOUNCE_PASSWORD_FILE] = { CFG_S_BOUNCES, "password_file",
	    CFG_T_SECRET, CFG_OFF(bounce_password_file) },
	[CFG_K_BOUNCE_EVERY] = { CFG_S_BOUNCES, "every", CFG_T_DURATION,
	    CFG_OFF(bounce_every), .def = "5m", .min = 10, .max = CFG_DAY },
	[CFG_K_SOFT_LIMIT] = { CFG_S_BOUNCES, "soft_limit", CFG_T_INT,
	    CFG_OFF(soft_limit), .def = "3", .min = 1, .max = 100 },
	[CFG_K_SOFT_WINDOW] = { CFG_S_BOUNCES, "soft_window", CFG_T_DURATION,
	    CFG_OFF(soft_window), .def = "30d", .min = CFG_HOUR,
	    .max = 365 * CFG_DAY },
	[CFG_K_BOUNCE_DELETE] = { CFG_S_BOUNCES, "delete", CFG_T_BOOL,
	    CFG_OFF(bounce_delete), .def = "no" },
	[CFG_K_BOUNCE_FOLDER] = { CFG_S_BOUNCES, "folder", CFG_T_STRING,
	    CFG_OFF(bounce_folder) },
	[CFG_K_UNSUBSCRIBE_URL] = { CFG_S_UNSUBSCRIBE, "url", CFG_T_URL,
	    CFG_OFF(unsubscribe_url), .schemes = cfg_web_schemes,
	    .flags = CFG_F_TOKEN },
	[CFG_K_UNSUBSCRIBE_MAILTO] = { CFG_S_UNSUBSCRIBE, "mailto", CFG_T_ADDR,
	    CFG_OFF(unsubscribe_mailto) },
	[CFG_K_SECRET_FILE] = { CFG_S_UNSUBSCRIBE, "secret_file", CFG_T_SECRET,
	    CFG_OFF(secret_file) },
	[CFG_K_CONFIRM_URL] = { CFG_S_UNSUBSCRIBE, "confirm_url", CFG_T_URL,
	    CFG_OFF(confirm_url), .schemes = cfg_web_schemes,
	    .flags = CFG_F_TOKEN },
	[CFG_K_PREFERENCES_URL] = { CFG_S_UNSUBSCRIBE, "preferences_url",
	    CFG_T_URL, CFG_OFF(preferences_url), .schemes = cfg_web_schemes,
	    .flags = CFG_F_TOKEN },
	[CFG_K_HTTP_LISTEN] = { CFG_S_HTTP, "listen", CFG_T_LISTEN,
	    CFG_OFF(http_listen) },
	[CFG_K_ORG_NAME] = { CFG_S_ORGANISATION, "name", CFG_T_STRING,
	    CFG_OFF(org_name) },
	[CFG_K_ORG_ADDRESS] = { CFG_S_ORGANISATION, "address", CFG_T_STRING,
	    CFG_OFF(org_address) },
	[CFG_K_ORG_CHARITY_NUMBER] = { CFG_S_ORGANISATION, "charity_number",
	    CFG_T_STRING, CFG_OFF(org_charity_number) },
	[CFG_K_RETAIN_MESSAGES] = { CFG_S_RETENTION, "messages", CFG_T_DURATION,
	    CFG_OFF(retain_messages), .def = "400d", .min = 0,
	    .max = 100 * CFG_YEAR },
	[CFG_K_RETAIN_EVENTS] = { CFG_S_RETENTION, "events", CFG_T_DURATION,
	    CFG_OFF(retain_events), .def = "6y", .min = 0,
	    .max = 100 * CFG_YEAR },
	[CFG_K_DKIM_DOMAIN] = { CFG_S_DKIM, "domain", CFG_T_DOMAIN,
	    CFG_OFF(dkim_domain) },
	[CFG_K_DKIM_SELECTOR] = { CFG_S_DKIM, "selector", CFG_T_SELECTOR,
	    CFG_OFF(dkim_selector) },
	[CFG_K_DKIM_KEY_FILE] = { CFG_S_DKIM, "key_file", CFG_T_DKIM_KEY,
	    CFG_OFF(dkim_key_file) },
	[CFG_K_DKIM_ED25519_SELECTOR] = { CFG_S_DKIM, "ed25519_selector",
	    CFG_T_SELECTOR, CFG_OFF(dkim_ed25519_selector) },
	[CFG_K_DKIM_ED25519_KEY_FILE] = { CFG_S_DKIM, "ed25519_key_file",
	    CFG_T_DKIM_KEY, CFG_OFF(dkim_ed25519_key_file) },
	[CFG_K_HTTP_TRUSTED_PROXIES] = { CFG_S_HTTP, "trusted_proxies",
	    CFG_T_NETS, CFG_OFF(http_trusted_proxies) },
	[CFG_K_METRICS_LISTEN] = { CFG_S_HTTP, "metrics_listen", CFG_T_LISTEN,
	    CFG_OFF(metrics_listen) },
	[CFG_K_METRICS_TOKEN_FILE] = { CFG_S_HTTP, "metrics_token_file",
	    CFG_T_SECRET, CFG_OFF(metrics_token_file) },
};

enum cfg_state {
	CFG_UNSET,   /* not in the file */
	CFG_SET,     /* in the file, with a good value */
	CFG_DEFAULT, /* not in the file, the default applied */
	CFG_BAD,     /* in the file, with a bad value (reported) */
};

struct cfg_error {
	int line;
	size_t seq;
	char *text;
};

struct cfg_parser {
	struct cfg *c;
	const char *name; /* the path as given, for messages */
	/* A [smtp.NAME] section is read by a parser of its own (a child)
	 * into a config of its own, of which only the [smtp] keys count:
	 * relay is its section's name ("smtp.backup"), and its problems go
	 * to the parent's list. */
	struct cfg_parser *parent;
	char *relay;
	struct cfg_parser *children[CFG_MAX_RELAYS];
	size_t n_children;
	struct cfg_parser *child; /* the [smtp.NAME] section being read */
	char *dir;                /* the config file's folder */
	const char *data;         /* the file's text */
	size_t len;
	size_t pos;
	int line; /* the line last handed to inih */
	bool line_wants_pair;
	bool line_had_pair;
	int section; /* enum cfg_section, CFG_SECT_NONE or CFG_SECT_SKIP */
	int section_line[CFG_S_COUNT];
	int key_line[CFG_K_COUNT];
	enum cfg_state state[CFG_K_COUNT];
	struct cfg_error *errors;
	size_t n_errors;
	size_t n_dropped;
};

/* ------------------------------------------------------------ errors */

static void cfg_err(struct cfg_parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cfg_key_err(struct cfg_parser *p, enum cfg_key_id k,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void cfg_err_v(struct cfg_parser *p, int line, const char *prefix,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void
cfg_err_v(struct cfg_parser *p, int line, const char *prefix, const char *fmt,
    va_list ap)
{
	struct buf b;

	if (p->parent != NULL)
		p = p->parent;
	if (p->n_errors == CFG_MAX_ERRORS) {
		p->n_dropped++;
		return;
	}
	buf_init(&b);
	buf_printf(&b, "%s:%d: %s", p->name, line, prefix);
	buf_vprintf(&b, fmt, ap);
	buf_putc(&b, '\n');
	p->errors =
	    xreallocarray(p->errors, p->n_errors + 1, sizeof(*p->errors));
	p->errors[p->n_errors].line = line;
	p->errors[p->n_errors].seq = p->n_errors;
	p->errors[p->n_errors].text = buf_take(&b);
	p->n_errors++;
}

static void
cfg_err(struct cfg_parser *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_err_v(p, line, "", fmt, ap);
	va_end(ap);
}

/* The line a problem with key k is reported on: the key's own line, else
 * its section header's, else 0. */
static int
cfg_key_line(const struct cfg_parser *p, enum cfg_key_id k)
{
	if (p->key_line[k] != 0)
		return p->key_line[k];
	return p->section_line[cfg_keys[k].section];
}

static void
cfg_key_err(struct cfg_parser *p, enum cfg_key_id k, const char *fmt, ...)
{
	char prefix[96];
	va_list ap;

	(void)snprintf(prefix, sizeof(prefix), "[%s] %s: ",
	    p->relay != NULL ? p->relay
			     : cfg_section_names[cfg_keys[k].section],
	    cfg_keys[k].name);
	va_start(ap, fmt);
	cfg_err_v(p, cfg_key_line(p, k), prefix, fmt, ap);
	va_end(ap);
}

static int
cfg_error_cmp(const void *a, const void *b)
{
	const struct cfg_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *
cfg_errors_take(struct cfg_parser *p)
{
	struct buf b;
	size_t i;

	if (p->n_errors > 1)
		qsort(
		    p->errors, p->n_errors, sizeof(*p->errors), cfg_error_cmp);
	buf_init(&b);
	for (i = 0; i < p->n_errors; i++) {
		buf_puts(&b, p->errors[i].text);
		free(p->errors[i].text);
	}
	if (p->n_dropped > 0)
		buf_printf(&b, "%s: %zu more problems not shown\n", p->name,
		    p->n_dropped);
	free(p->errors);
	p->errors = NULL;
	p->n_errors = 0;
	return buf_take(&b);
}

/* ------------------------------------------------------------ values */

int
cfg_parse_duration(const char *s, int64_t *secs)
{
	int64_t n = 0, unit;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		*secs = 0;
		return 0;
	}
	for (; isdigit((unsigned char)*s); s++) {
		n = n * 10 + (*s - '0');
		if (n > CFG_MAX_DURATION_N)
			return -EINVAL;
	}
	switch (*s) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = CFG_DAY;
		break;
	case 'w':
		unit = 7 * CFG_DAY;
		break;
	case 'y':
		unit = CFG_YEAR;
		break;
	default:
		return -EINVAL;
	}
	if (s[1] != '\0')
		return -EINVAL;
	*secs = n * unit;
	return 0;
}

int
cfg_parse_rate(const char *s, struct cfg_rate *rate)
{
	uint32_t n = 0;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		rate->count = 0;
		rate->per_sec = 1;
		return 0;
	}
	for (; isdigit((unsigned char)*s); s++) {
		n = n * 10 + (uint32_t)(*s - '0');
		if (n > CFG_MAX_RATE)
			return -EINVAL;
	}
	if (n == 0 || s[0] != '/' || s[1] == '\0' || s[2] != '\0')
		return -EINVAL;
	switch (s[1]) {
	case 's':
		rate->per_sec = 1;
		break;
	case 'm':
		rate->per_sec = 60;
		break;
	case 'h':
		rate->per_sec = 3600;
		break;
	case 'd':
		rate->per_sec = CFG_DAY;
		break;
	default:
		return -EINVAL;
	}
	rate->count = n;
	return 0;
}

void
cfg_format_duration(int64_t secs, char *out, size_t size)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = { { CFG_DAY, 'd' }, { 3600, 'h' }, { 60, 'm' } };
	size_t i;

	if (secs == 0) {
		(void)snprintf(out, size, "0");
		return;
	}
	for (i = 0; i < UTIL_ARRAY_LEN(units); i++) {
		if (secs % units[i].secs == 0) {
			(void)snprintf(out, size, "%lld%c",
			    (long long)(secs / units[i].secs), units[i].unit);
			return;
		}
	}
	(void)snprintf(out, size, "%llds", (long long)secs);
}

static int
cfg_check_url(const struct cfg_key *k, const char *v, char **why)
{
	struct cfg_value_url u;
	char *uwhy = NULL;
	struct buf b;
	size_t i;

	if (strchr(v, ' ') != NULL || cfg_value_has_ctl(v)) {
		*why =
		    xasprintf("'%s' holds a space or a control character", v);
		return -EINVAL;
	}
	if (cfg_value_split_url(v, &u, &uwhy) != 0) {
		*why = xasprintf("'%s': %s", v, uwhy);
		free(uwhy);
		return -EINVAL;
	}
	for (i = 0; k->schemes[i] != NULL; i++)
		if (strcmp(u.scheme, k->schemes[i]) == 0)
			break;
	if (k->schemes[i] == NULL) {
		buf_init(&b);
		buf_printf(&b, "'%s' must start with ", v);
		for (i = 0; k->schemes[i] != NULL; i++)
			buf_printf(
			    &b, "%s%s://", i > 0 ? " or " : "", k->schemes[i]);
		*why = buf_take(&b);
		return -EINVAL;
	}
	if (u.user[0] != '\0') {
		*why = xasprintf(
		    "'%s': a user name does not belong in the url", v);
		return -EINVAL;
	}
	if ((k->flags & CFG_F_TOKEN) != 0 && strstr(v, "{token}") == NULL) {
		*why = xasprintf("'%s' does not contain {token}", v);
		return -EINVAL;
	}
	return 0;
}

static char *
cfg_resolve(const struct cfg_parser *p, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", p->dir, path);
}

static int
cfg_parse_source(struct cfg_parser *p, const char *v, char **out, char **why)
{
	struct cfg_value_url u;
	char *uwhy = NULL;
	bool tls;
	char *path;

	if (strncmp(v, "maildir:", 8) == 0) {
		if (v[8] == '\0')
			goto bad;
		path = cfg_resolve(p, v + 8);
		*out = xasprintf("maildir:%s", path);
		free(path);
		return 0;
	}
	if (strchr(v, ' ') != NULL || cfg_value_has_ctl(v) ||
	    cfg_value_split_url(v, &u, &uwhy) != 0)
		goto bad;
	/* imap:// and pop3:// are upgraded with STARTTLS (STLS), which the
	 * source insists on for a host other than loopback. */
	tls = strcmp(u.scheme, "imaps") == 0 || strcmp(u.scheme, "pop3s") == 0;
	if (!tls && strcmp(u.scheme, "imap") != 0 &&
	    strcmp(u.scheme, "pop3") != 0)
		goto bad;
	if (u.user[0] == '\0') {
		*why = xasprintf("'%s' names no account (expected "
				 "%s://USER@%s...)",
		    v, u.scheme, u.host);
		return -EINVAL;
	}
	*out = xstrdup(v);
	return 0;

bad:
	free(uwhy);
	*why = xasprintf("'%s' is not a bounce source (expected "
			 "imaps://USER@HOST/FOLDER, pop3s://USER@HOST or "
			 "maildir:PATH)",
	    v);
	return -EINVAL;
}

static int
cfg_offset_cmp(const void *a, const void *b)
{
	const struct cfg_reminder_offset *x = a, *y = b;

	return x->secs > y->secs ? -1 : x->secs < y->secs;
}

static int
cfg_parse_offsets(
    const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	struct cfg_reminder_offset tmp[CFG_MAX_OFFSETS];
	char lo[16], hi[16], *tok;
	const char *s = v, *end;
	int n = 0, i;
	size_t len;
	int64_t secs;

	if (strcmp(v, "none") == 0) {
		c->n_offsets = 0;
		return 0;
	}
	for (;;) {
		s += strspn(s, " \t");
		end = strchr(s, ',');
		len = end != NULL ? (size_t)(end - s) : strlen(s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		tok = xstrndup(s, len);
		if (cfg_parse_duration(tok, &secs) != 0) {
			*why =
			    xasprintf("bad offset '%s' (expected durations "
				      "separated by commas: 7d, 1d; or none)",
				tok);
			free(tok);
			return -EINVAL;
		}
		if (secs < k->min || secs > k->max) {
			cfg_format_duration(k->min, lo, sizeof(lo));
			cfg_format_duration(k->max, hi, sizeof(hi));
			*why = xasprintf("offset %s is out of range (%s to %s)",
			    tok, lo, hi);
			free(tok);
			return -EINVAL;
		}
		for (i = 0; i < n; i++) {
			if (tmp[i].secs == secs) {
				*why = xasprintf(
				    "offset %s repeats %s", tok, tmp[i].text);
				free(tok);
				return -EINVAL;
			}
		}
		free(tok);
		if (n == CFG_MAX_OFFSETS) {
			*why =
			    xasprintf("more than %d offsets", CFG_MAX_OFFSETS);
			return -EINVAL;
		}
		tmp[n].secs = secs;
		cfg_format_duration(secs, tmp[n].text, sizeof(tmp[n].text));
		n++;
		if (end == NULL)
			break;
		s = end + 1;
	}
	qsort(tmp, (size_t)n, sizeof(tmp[0]), cfg_offset_cmp);
	memcpy(c->offsets, tmp, sizeof(tmp[0]) * (size_t)n);
	c->n_offsets = n;
	return 0;
}

static int *
cfg_int_at(struct cfg *c, const struct cfg_key *k)
{
	return (int *)(void *)((char *)c + k->offset);
}

static int64_t *
cfg_i64_at(struct cfg *c, const struct cfg_key *k)
{
	return (int64_t *)(void *)((char *)c + k->offset);
}

static char **
cfg_str_at(struct cfg *c, const struct cfg_key *k)
{
	return (char **)(void *)((char *)c + k->offset);
}

static bool *
cfg_bool_at(struct cfg *c, const struct cfg_key *k)
{
	return (bool *)(void *)((char *)c + k->offset);
}

static struct cfg_rate *
cfg_rate_at(struct cfg *c, const struct cfg_key *k)
{
	return (struct cfg_rate *)(void *)((char *)c + k->offset);
}

static int
cfg_set_enum(const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	const struct cfg_enum *e;
	struct buf b;

	for (e = k->names; e->name != NULL; e++) {
		if (strcmp(v, e->name) == 0) {
			*cfg_int_at(c, k) = e->value;
			return 0;
		}
	}
	buf_init(&b);
	buf_printf(&b, "'%s' is not one of:", v);
	for (e = k->names; e->name != NULL; e++)
		buf_printf(&b, "%s %s", e == k->names ? "" : ",", e->name);
	*why = buf_take(&b);
	return -EINVAL;
}

static int
cfg_set_number(
    const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	char lo[16], hi[16];
	int64_t secs;
	long n;
	int ret;

	if (k->type == CFG_T_INT) {
		ret = util_parse_long(v, (long)k->min, (long)k->max, &n);
		if (ret == 0 && isdigit((unsigned char)v[0])) {
			*cfg_int_at(c, k) = (int)n;
			return 0;
		}
		if (ret == -ERANGE)
			*why = xasprintf("%s is out of range (%lld to %lld)", v,
			    (long long)k->min, (long long)k->max);
		else
			*why = xasprintf("'%s' is not a number", v);
		return -EINVAL;
	}
	if (cfg_parse_duration(v, &secs) != 0) {
		*why = xasprintf("bad duration '%s' (expected a number and a "
				 "unit: 30s, 5m, 2h, 7d, 1w, 1y)",
		    v);
		return -EINVAL;
	}
	if (secs < k->min || secs > k->max) {
		cfg_format_duration(k->min, lo, sizeof(lo));
		cfg_format_duration(k->max, hi, sizeof(hi));
		*why = xasprintf("%s is out of range (%s to %s)", v, lo, hi);
		return -EINVAL;
	}
	*cfg_i64_at(c, k) = secs;
	return 0;
}

/* "cy, en": two to CFG_MAX_LANGS different languages, each a tag ICU
 * knows. */
static int
cfg_parse_languages(const char *v, struct cfg *c, char **why)
{
	char tag[CFG_LANG_MAX], *tok;
	const char *s = v, *end;
	size_t len;
	int n = 0;

	for (;;) {
		s += strspn(s, " \t");
		end = strchr(s, ',');
		len = end != NULL ? (size_t)(end - s) : strlen(s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		tok = xstrndup(s, len);
		if (lang_normalise(tok, tag) != 0 || !lang_known(tag)) {
			*why =
			    xasprintf("'%s' is not a language code ICU knows "
				      "(expected BCP 47 tags separated by "
				      "commas: cy, en)",
				tok);
			free(tok);
			return -EINVAL;
		}
		free(tok);
		for (int i = 0; i < n; i++)
			if (strcmp(c->bilingual[i], tag) == 0) {
				*why = xasprintf("%s is named twice", tag);
				return -EINVAL;
			}
		if (n == CFG_MAX_LANGS) {
			*why =
			    xasprintf("more than %d languages", CFG_MAX_LANGS);
			return -EINVAL;
		}
		(void)snprintf(c->bilingual[n++], CFG_LANG_MAX, "%s", tag);
		if (end == NULL)
			break;
		s = end + 1;
	}
	if (n < 2) {
		*why = xasprintf("'%s' names one language; a bilingual "
				 "message has two (cy, en)",
		    v);
		return -EINVAL;
	}
	c->n_bilingual = n;
	return 0;
}

static bool
cfg_is_listen(const char *v)
{
	return cfg_value_check_listen(v) == 0;
}

/* The types whose value is a string kept as written once a check
 * accepts it, and what to say when it does not ("'VALUE' is not ..."). */
static const struct cfg_checked {
	enum cfg_type type;
	bool (*ok)(const char *v);
	const char *problem;
} cfg_checked_types[] = {
	{ CFG_T_ADDR, addr_is_valid,
	    "is not an email address (expected local@domain)" },
	{ CFG_T_DOMAIN, addr_is_domain, "is not a domain name" },
	{ CFG_T_LIST_ID, cfg_value_is_list_id,
	    "is not a list identifier (expected e.g. courses.example.org, "
	    "without angle brackets)" },
	{ CFG_T_TIMEZONE, cfg_value_is_tz_name,
	    "is not a time zone name (expected e.g. Europe/London)" },
	{ CFG_T_USER, cfg_value_is_user_name, "is not a user name" },
	{ CFG_T_SELECTOR, addr_is_domain,
	    "is not a selector (letters, digits and hyphens, labels joined "
	    "by dots: fm2026)" },
	{ CFG_T_LISTEN, cfg_is_listen,
	    "is not ADDRESS:PORT with a numeric address (expected e.g. "
	    "127.0.0.1:8025 or [::1]:8025)" },
};

static int
cfg_set_checked(
    const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	const struct cfg_checked *t = NULL;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(cfg_checked_types); i++)
		if (cfg_checked_types[i].type == k->type)
			t = &cfg_checked_types[i];
	if (t == NULL) {
		*why = xstrdup("unknown type");
		return -EINVAL;
	}
	if (!t->ok(v)) {
		*why = xasprintf("'%s' %s", v, t->problem);
		return -EINVAL;
	}
	*cfg_str_at(c, k) = xstrdup(v);
	return 0;
}

/* Text and paths (resolved against the config's folder). */
static int
cfg_set_text(const struct cfg_parser *p, const struct cfg_key *k, const char *v,
    char **why)
{
	if (cfg_value_has_ctl(v)) {
		*why = xstrdup("holds a control character");
		return -EINVAL;
	}
	*cfg_str_at(p->c, k) =
	    k->type == CFG_T_STRING ? xstrdup(v) : cfg_resolve(p, v);
	return 0;
}

static int
cfg_set_rate(enum cfg_key_id id, const struct cfg_key *k, const char *v,
    struct cfg *c, char **why)
{
	if (cfg_parse_rate(v, cfg_rate_at(c, k)) == 0)
		return 0;
	if (id == CFG_K_SMTP_QUOTA)
		*why = xasprintf("bad quota '%s' (expected 0 for none, "
				 "or a count of messages per h or d: "
				 "2000/d, 300/h)",
		    v);
	else
		*why = xasprintf("bad rate '%s' (expected 0 for no "
				 "limit, or a count per s, m, h or d: "
				 "20/s, 600/m, 1000/h, 2000/d)",
		    v);
	return -EINVAL;
}

static int
cfg_set_bool(const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
		*cfg_bool_at(c, k) = true;
		return 0;
	}
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0) {
		*cfg_bool_at(c, k) = false;
		return 0;
	}
	*why = xasprintf("'%s' is not one of: yes, no", v);
	return -EINVAL;
}

/* [digest] weekly and monthly: a day and a time. */
static int
cfg_set_schedule(
    const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	if (k->type == CFG_T_WEEKLY) {
		if (cfg_value_parse_weekly(
			v, &c->weekly_wday, &c->weekly_minute) == 0)
			return 0;
		*why = xasprintf("bad weekly time '%s' (expected a day and a "
				 "time: mon 08:00)",
		    v);
		return -EINVAL;
	}
	if (cfg_value_parse_monthly(v, &c->monthly_mday, &c->monthly_minute) ==
	    0)
		return 0;
	*why = xasprintf("bad monthly time '%s' (expected a day of the "
			 "month, 1 to 28, and a time: 1 08:00)",
	    v);
	return -EINVAL;
}

/* "Name <addr>" or "addr": [sender] from is kept in its parts too. */
static int
cfg_set_mailbox(
    const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	char *name, *addr;

	if (cfg_value_parse_mailbox(v, &name, &addr, why) != 0)
		return -EINVAL;
	if (k->type == CFG_T_FROM) {
		c->from = xstrdup(v);
		c->from_name = name;
		c->from_addr = addr;
		return 0;
	}
	free(name);
	free(addr);
	*cfg_str_at(c, k) = xstrdup(v);
	return 0;
}

static int
cfg_set_language(
    const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	char tag[CFG_LANG_MAX];

	if (lang_normalise(v, tag) != 0 || !lang_known(tag)) {
		*why = xasprintf("'%s' is not a language code ICU knows "
				 "(expected a BCP 47 tag: en, cy)",
		    v);
		return -EINVAL;
	}
	*cfg_str_at(c, k) = xstrdup(tag);
	return 0;
}

static int
cfg_set_nets(const struct cfg_key *k, const char *v, struct cfg *c, char **why)
{
	struct cfg_value_net nets[CFG_VALUE_NETS_MAX];
	size_t n;

	if (cfg_value_parse_nets(v, nets, CFG_VALUE_NETS_MAX, &n, why) != 0)
		return -EINVAL;
	*cfg_str_at(c, k) = xstrdup(v);
	return 0;
}

/* Parses v as key k's type into the config. The checks that look at the
 * disk or the system are cfg_check_system()'s. */
static int
cfg_set(struct cfg_parser *p, enum cfg_key_id id, const char *v, char **why)
{
	const struct cfg_key *k = &cfg_keys[id];
	struct cfg *c = p->c;

	switch (k->type) {
	case CFG_T_STRING:
	case CFG_T_PATH:
	case CFG_T_DIR:
	case CFG_T_FILE:
	case CFG_T_SECRET:
	case CFG_T_DKIM_KEY:
		return cfg_set_text(p, k, v, why);
	case CFG_T_DURATION:
	case CFG_T_INT:
		return cfg_set_number(k, v, c, why);
	case CFG_T_RATE:
		return cfg_set_rate(id, k, v, c, why);
	case CFG_T_ENUM:
		return cfg_set_enum(k, v, c, why);
	case CFG_T_BOOL:
		return cfg_set_bool(k, v, c, why);
	case CFG_T_OFFSETS:
		return cfg_parse_offsets(k, v, c, why);
	case CFG_T_WEEKLY:
	case CFG_T_MONTHLY:
		return cfg_set_schedule(k, v, c, why);
	case CFG_T_FROM:
	case CFG_T_MAILBOX:
		return cfg_set_mailbox(k, v, c, why);
	case CFG_T_ADDR:
	case CFG_T_DOMAIN:
	case CFG_T_LIST_ID:
	case CFG_T_TIMEZONE:
	case CFG_T_USER:
	case CFG_T_SELECTOR:
	case CFG_T_LISTEN:
		return cfg_set_checked(k, v, c, why);
	case CFG_T_URL:
		if (cfg_check_url(k, v, why) != 0)
			return -EINVAL;
		*cfg_str_at(c, k) = xstrdup(v);
		return 0;
	case CFG_T_SOURCE:
		return cfg_parse_source(p, v, cfg_str_at(c, k), why);
	case CFG_T_LANGUAGE:
		return cfg_set_language(k, v, c, why);
	case CFG_T_LANGUAGES:
		return cfg_parse_languages(v, c, why);
	case CFG_T_NETS:
		return cfg_set_nets(k, v, c, why);
	}
	*why = xstrdup("unknown type");
	return -EINVAL;
}

/* ------------------------------------------------------------ files */

/*
 * The one model for secret files: the daemon reads them as the account
 * it runs as, at start and at every reload. Such a file may be read by
 * its owner and by one group, the account's own (primary) group, never
 * by others: root:familymail 0640, or familymail's own 0600. The
 * account is (uid, gid); root may read on its behalf.
 */
static int
cfg_secret_read_as(
    const char *path, uid_t uid, gid_t gid, char **secret, const char **why)
{
	char data[CFG_MAX_SECRET + 1];
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	*secret = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		ret = -errno;
		*why = strerror(errno);
		return ret;
	}
	if (fstat(fd, &st) == -1) {
		ret = -errno;
		*why = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		*why = "not a regular file";
		goto out;
	}
	if ((st.st_mode & S_IROTH) != 0) {
		ret = -EACCES;
		*why = "readable by others (chmod 640 it, group the daemon's, "
		       "or 600)";
		goto out;
	}
	if ((st.st_mode & S_IRGRP) != 0 && st.st_gid != gid) {
		ret = -EACCES;
		*why = "readable by a group that is not the daemon's own "
		       "(chgrp it to the daemon's group, or chmod 600 it)";
		goto out;
	}
	/* Read by root on the account's behalf (check-config, preview):
	 * what root can open, the account may not. */
	if (uid != geteuid() && uid != 0 &&
	    !(st.st_uid == uid && (st.st_mode & S_IRUSR) != 0) &&
	    !(st.st_gid == gid && (st.st_mode & S_IRGRP) != 0)) {
		ret = -EACCES;
		*why = "the daemon's account cannot read it (chgrp it to the "
		       "account's group and chmod 640 it)";
		goto out;
	}
	for (;;) {
		n = read(fd, data + len, sizeof(data) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ret = -errno;
			*why = strerror(errno);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(data)) {
			ret = -EFBIG;
			*why = "larger than 4096 bytes";
			goto out;
		}
	}
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	if (len == 0) {
		ret = -EINVAL;
		*why = "empty";
	} else if (memchr(data, '\0', len) != NULL) {
		ret = -EINVAL;
		*why = "holds a NUL byte";
	} else {
		*secret = xstrndup(data, len);
	}
out:
	explicit_bzero(data, sizeof(data));
	close(fd);
	return ret;
}

int
cfg_read_secret(const char *path, char **secret, char **why)
{
	const char *w = NULL;
	int ret = cfg_secret_read_as(path, geteuid(), getegid(), secret, &w);

	if (ret != 0)
		*why = xstrdup(w);
	return ret;
}

int
cfg_read_secret_for(
    const struct cfg *c, const char *path, char **secret, char **why)
{
	struct passwd pw, *res = NULL;
	const char *w = NULL;
	char buf[4096];
	int ret;

	if (geteuid() == 0 && c->user != NULL &&
	    getpwnam_r(c->user, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL) {
		ret =
		    cfg_secret_read_as(path, pw.pw_uid, pw.pw_gid, secret, &w);
		if (ret != 0)
			*why = xstrdup(w);
		return ret;
	}
	return cfg_read_secret(path, secret, why);
}

static void
cfg_check_file(
    struct cfg_parser *p, enum cfg_key_id k, const char *path, bool want_dir)
{
	struct stat st;
	int fd;

	if (want_dir) {
		if (stat(path, &st) == -1)
			cfg_key_err(p, k, "%s: %s", path, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			cfg_key_err(p, k, "%s: not a folder", path);
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		cfg_key_err(p, k, "%s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
		cfg_key_err(p, k, "%s: not a regular file", path);
	close(fd);
}

/* Where the C library looks for time zones. */
static const char *
cfg_zoneinfo_dir(void)
{
	const char *dir = getenv("TZDIR");

	return dir != NULL && *dir != '\0' ? dir : CFG_ZONEINFO;
}

static bool
cfg_tz_exists(const char *name)
{
	const char *dir = cfg_zoneinfo_dir();
	char magic[4];
	struct stat st;
	char *path;
	bool ok = false;
	int fd;

	path = xasprintf("%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	free(path);
	if (fd == -1)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, "TZif", 4) == 0)
		ok = true;
	close(fd);
	return ok;
}

static bool
cfg_user_exists(const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	return getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL;
}

/* A DKIM key file: readable by its owner only, a private key that can
 * sign (RSA of 2048 bits or more, or Ed25519); ed25519_key_file must be
 * Ed25519, and key_file RSA when there is a second, Ed25519 key. */
static void
cfg_check_dkim_key(struct cfg_parser *p, enum cfg_key_id id)
{
	const char *path = *cfg_str_at(p->c, &cfg_keys[id]);
	struct dkimkey *key;
	char *why = NULL;

	if (dkimkey_load(path, &key, &why) != 0) {
		cfg_key_err(p, id, "%s: %s", path, why);
		free(why);
		return;
	}
	if (id == CFG_K_DKIM_ED25519_KEY_FILE &&
	    dkimkey_type(key) != DKIMKEY_ED25519)
		cfg_key_err(p, id,
		    "%s: an RSA key (ed25519_key_file takes an Ed25519 key)",
		    path);
	else if (id == CFG_K_DKIM_KEY_FILE &&
	    dkimkey_type(key) == DKIMKEY_ED25519 &&
	    p->state[CFG_K_DKIM_ED25519_KEY_FILE] == CFG_SET)
		cfg_key_err(p, id,
		    "%s: an Ed25519 key, while ed25519_key_file is set too "
		    "(key_file takes the RSA key)",
		    path);
	dkimkey_free(key);
}

/* The token secret signs every link that changes a subscription: a
 * short or guessable one lets anyone unsubscribe anyone. */
static void
cfg_check_token_secret(struct cfg_parser *p, const char *secret)
{
	const char *path = p->c->secret_file;
	char *why = NULL;

	if (token_secret_check(secret, strlen(secret), &why) == 0)
		return;
	cfg_key_err(p, CFG_K_SECRET_FILE,
	    "%s: %s; make one with: (umask 077; head -c 32 /dev/urandom | "
	    "base64 > %s)",
	    path, why, path);
	free(why);
}

/* The checks that look outside the file: files, folders, the time zone
 * database, the user database. */
static void
cfg_check_system(struct cfg_parser *p)
{
	const struct cfg_key *k;
	char *secret, *why = NULL;
	int id;

	for (id = 0; id < CFG_K_COUNT; id++) {
		k = &cfg_keys[id];
		if (p->state[id] != CFG_SET && p->state[id] != CFG_DEFAULT)
			continue;
		switch (k->type) {
		case CFG_T_DIR:
			cfg_check_file(p, id, *cfg_str_at(p->c, k), true);
			break;
		case CFG_T_FILE:
			cfg_check_file(p, id, *cfg_str_at(p->c, k), false);
			break;
		case CFG_T_SECRET:
			if (cfg_read_secret_for(p->c, *cfg_str_at(p->c, k),
				&secret, &why) != 0) {
				cfg_key_err(
				    p, id, "%s: %s", *cfg_str_at(p->c, k), why);
				free(why);
				why = NULL;
				break;
			}
			if (id == CFG_K_SECRET_FILE)
				cfg_check_token_secret(p, secret);
			if (secret != NULL)
				explicit_bzero(secret, strlen(secret));
			free(secret);
			break;
		case CFG_T_SOURCE:
			if (strncmp(p->c->bounce_source, "maildir:", 8) == 0)
				cfg_check_file(
				    p, id, p->c->bounce_source + 8, true);
			break;
		case CFG_T_TIMEZONE:
			if (!cfg_tz_exists(p->c->timezone))
				cfg_key_err(p, id, "no time zone '%s' in %s",
				    p->c->timezone, cfg_zoneinfo_dir());
			break;
		case CFG_T_USER:
			if (!cfg_user_exists(p->c->user))
				cfg_key_err(p, id, "no user '%s'", p->c->user);
			break;
		case CFG_T_DKIM_KEY:
			cfg_check_dkim_key(p, id);
			break;
		default:
			break;
		}
	}
}

/* ------------------------------------------------------------ rules */

static bool
cfg_has(const struct cfg_parser *p, enum cfg_key_id k)
{
	return p->state[k] == CFG_SET || p->state[k] == CFG_DEFAULT;
}

/* Whether key id belongs to what p reads: every key, or in a
 * [smtp.NAME] section the keys of a relay. */
static bool
cfg_key_here(const struct cfg_parser *p, int id)
{
	return p->relay == NULL ||
	    (cfg_keys[id].section == CFG_S_SMTP &&
		(cfg_keys[id].flags & CFG_F_GLOBAL) == 0);
}

static void
cfg_apply_defaults(struct cfg_parser *p)
{
	char *why = NULL;
	int id;

	for (id = 0; id < CFG_K_COUNT; id++) {
		if (p->state[id] != CFG_UNSET || cfg_keys[id].def == NULL ||
		    !cfg_key_here(p, id))
			continue;
		if (cfg_set(p, id, cfg_keys[id].def, &why) != 0) {
			cfg_key_err(p, id, "bad built-in default: %s", why);
			free(why);
			why = NULL;
			continue;
		}
		p->state[id] = CFG_DEFAULT;
	}
}

/* bounce_domain and list_id follow from the from address. */
static void
cfg_derive(struct cfg_parser *p)
{
	struct cfg *c = p->c;
	char *at;

	/* The daemon answers its own unsubscribe links: listen by default
	 * when there are links (or an [http] section), not otherwise, so a
	 * daemon that sends none opens no port. */
	if (p->state[CFG_K_HTTP_LISTEN] == CFG_UNSET &&
	    (cfg_has(p, CFG_K_UNSUBSCRIBE_URL) ||
		p->section_line[CFG_S_HTTP] != 0)) {
		c->http_listen = xstrdup("127.0.0.1:8025");
		p->state[CFG_K_HTTP_LISTEN] = CFG_DEFAULT;
	}
	if (!cfg_has(p, CFG_K_FROM))
		return;
	at = strrchr(c->from_addr, '@');
	if (p->state[CFG_K_BOUNCE_DOMAIN] == CFG_UNSET) {
		c->bounce_domain = xstrdup(at + 1);
		p->state[CFG_K_BOUNCE_DOMAIN] = CFG_DEFAULT;
	}
	if (p->state[CFG_K_LIST_ID] == CFG_UNSET) {
		c->list_id = xstrdup(c->from_addr);
		c->list_id[at - c->from_addr] = '.';
		p->state[CFG_K_LIST_ID] = CFG_DEFAULT;
	}
}

static void
cfg_require(struct cfg_parser *p, enum cfg_key_id k, const char *why)
{
	if (p->state[k] == CFG_UNSET)
		cfg_key_err(p, k, "%s", why);
}

/* [bounces] folder: an IMAP folder other than the one read, on an IMAP
 * source that does not also delete. */
static void
cfg_check_bounce_folder(struct cfg_parser *p)
{
	const struct cfg *c = p->c;
	const char *f = c->bounce_folder, *src = c->bounce_source, *rest;
	const unsigned char *q;

	if (f[0] == '\0') {
		cfg_key_err(p, CFG_K_BOUNCE_FOLDER, "is empty");
		return;
	}
	for (q = (const unsigned char *)f; *q != '\0'; q++)
		if (*q >= 0x80 || *q == '"' || *q == '\\' || *q == '*' ||
		    *q == '%') {
			cfg_key_err(p, CFG_K_BOUNCE_FOLDER,
			    "'%s': use ASCII without \", \\, * or %%", f);
			return;
		}
	if (p->state[CFG_K_BOUNCE_SOURCE] == CFG_BAD)
		return;
	if (p->state[CFG_K_BOUNCE_SOURCE] == CFG_UNSET ||
	    (strncmp(src, "imaps://", 8) != 0 &&
		strncmp(src, "imap://", 7) != 0)) {
		cfg_key_err(p, CFG_K_BOUNCE_FOLDER,
		    "only for an IMAP source (imaps:// or imap://), not %s",
		    src != NULL ? src : "none");
		return;
	}
	if (p->state[CFG_K_BOUNCE_DELETE] == CFG_SET && c->bounce_delete) {
		cfg_key_err(p, CFG_K_BOUNCE_FOLDER,
		    "contradicts delete = yes (bounces are either moved or "
		    "deleted)");
		return;
	}
	/* Moving into the folder read would bring every bounce back. */
	rest = strchr(strstr(src, "://") + 3, '/');
	rest = rest != NULL && rest[1] != '\0' ? rest + 1 : "INBOX";
	if (strcmp(rest, f) == 0 ||
	    (strcasecmp(f, "INBOX") == 0 && strcasecmp(rest, "INBOX") == 0))
		cfg_key_err(p, CFG_K_BOUNCE_FOLDER,
		    "'%s' is the folder bounces are read from", f);
}

/* [dkim]: the three keys a signature needs, the Ed25519 pair complete,
 * and d= aligned with From (RFC 7489 §3.1.1: From's domain or a parent
 * of it, never a bare top-level domain), or DMARC would not count the
 * signature. */
static void
cfg_check_dkim(struct cfg_parser *p)
{
	const struct cfg *c = p->c;
	const char *from_domain;
	size_t n, m;

	cfg_require(p, CFG_K_DKIM_DOMAIN, "required in [dkim]");
	cfg_require(p, CFG_K_DKIM_SELECTOR, "required in [dkim]");
	cfg_require(p, CFG_K_DKIM_KEY_FILE, "required in [dkim]");
	if (p->state[CFG_K_DKIM_ED25519_SELECTOR] == CFG_SET)
		cfg_require(p, CFG_K_DKIM_ED25519_KEY_FILE,
		    "required when ed25519_selector is set");
	if (p->state[CFG_K_DKIM_ED25519_KEY_FILE] == CFG_SET)
		cfg_require(p, CFG_K_DKIM_ED25519_SELECTOR,
		    "required when ed25519_key_file is set");
	if (p->state[CFG_K_DKIM_SELECTOR] == CFG_SET &&
	    p->state[CFG_K_DKIM_ED25519_SELECTOR] == CFG_SET &&
	    strcasecmp(c->dkim_selector, c->dkim_ed25519_selector) == 0)
		cfg_key_err(p, CFG_K_DKIM_ED25519_SELECTOR,
		    "'%s' is selector too: each key needs a selector of its "
		    "own",
		    c->dkim_ed25519_selector);
	if (p->state[CFG_K_DKIM_DOMAIN] != CFG_SET || !cfg_has(p, CFG_K_FROM))
		return;
	if (strchr(c->dkim_domain, '.') == NULL) {
		cfg_key_err(p, CFG_K_DKIM_DOMAIN,
		    "'%s' is a top-level domain, not the sender's",
		    c->dkim_domain);
		return;
	}
	from_domain = strrchr(c->from_addr, '@') + 1;
	n = strlen(from_domain);
	m = strlen(c->dkim_domain);
	if (strcasecmp(from_domain, c->dkim_domain) == 0 ||
	    (n > m && from_domain[n - m - 1] == '.' &&
		strcasecmp(from_domain + n - m, c->dkim_domain) == 0))
		return;
	cfg_key_err(p, CFG_K_DKIM_DOMAIN,
	    "'%s' is not aligned with [sender] from's domain %s (use %s or "
	    "a parent of it, or DMARC ignores the signature)",
	    c->dkim_domain, from_domain, from_domain);
}

/* The rules between the keys of one relay ([smtp] or [smtp.NAME]). */
static void
cfg_check_relay_rules(struct cfg_parser *p)
{
	struct cfg *c = p->c;
	struct cfg_value_url u;
	char *why = NULL;

	if (cfg_has(p, CFG_K_SMTP_URL) && cfg_has(p, CFG_K_SMTP_TLS) &&
	    c->smtp_tls == CFG_TLS_OFF &&
	    cfg_value_split_url(c->smtp_url, &u, &why) == 0) {
		if (strcmp(u.scheme, "smtps") == 0)
			cfg_key_err(p, CFG_K_SMTP_TLS,
			    "off contradicts smtps:// (implicit TLS)");
		else if (!cfg_value_is_loopback(u.host))
			cfg_key_err(p, CFG_K_SMTP_TLS,
			    "off is only allowed for a loopback host "
			    "(127.0.0.0/8, ::1, localhost), not %s",
			    u.host);
	}
	free(why);
	if (p->state[CFG_K_SMTP_USERNAME] == CFG_SET)
		cfg_require(p, CFG_K_SMTP_PASSWORD_FILE,
		    "required when username is set");
	if (p->state[CFG_K_SMTP_PASSWORD_FILE] == CFG_SET)
		cfg_require(p, CFG_K_SMTP_USERNAME,
		    "required when password_file is set");
	if (cfg_has(p, CFG_K_SMTP_QUOTA) && p->c->smtp_quota.count > 0 &&
	    p->c->smtp_quota.per_sec < 3600)
		cfg_key_err(p, CFG_K_SMTP_QUOTA,
		    "a quota is counted per hour or day (300/h, 2000/d); "
		    "rate limits a second or a minute");
}

/* The rules between keys. Only keys with good values take part, so one
 * mistake is reported once. */
static void
cfg_check_rules(struct cfg_parser *p)
{
	struct cfg *c = p->c;
	char a[16], b[16];
	int id;

	for (id = 0; id < CFG_K_COUNT; id++)
		if ((cfg_keys[id].flags & CFG_F_REQUIRED) != 0)
			cfg_require(p, id, "required key is missing");

	if (cfg_has(p, CFG_K_METRICS_LISTEN) && cfg_has(p, CFG_K_HTTP_LISTEN) &&
	    strcmp(c->metrics_listen, c->http_listen) == 0)
		cfg_key_err(p, CFG_K_METRICS_LISTEN,
		    "%s is [http] listen already (metrics_listen is a second "
		    "address, for metrics alone)",
		    c->metrics_listen);

	if (cfg_has(p, CFG_K_TRANSPORT) && c->transport == CFG_TRANSPORT_SMTP)
		cfg_require(
		    p, CFG_K_SMTP_URL, "required when [transport] type = smtp");
	if (cfg_has(p, CFG_K_TRANSPORT) &&
	    c->transport == CFG_TRANSPORT_MAILDIR)
		cfg_require(p, CFG_K_MAILDIR_PATH,
		    "required when [transport] type = maildir");

	cfg_check_relay_rules(p);
	if (cfg_has(p, CFG_K_RETRY_INITIAL) && cfg_has(p, CFG_K_RETRY_MAX) &&
	    c->retry_max < c->retry_initial) {
		cfg_format_duration(c->retry_max, a, sizeof(a));
		cfg_format_duration(c->retry_initial, b, sizeof(b));
		cfg_key_err(p, CFG_K_RETRY_MAX,
		    "%s is shorter than retry_initial (%s)", a, b);
	}

	if (p->state[CFG_K_BOUNCE_SOURCE] == CFG_SET &&
	    strncmp(c->bounce_source, "maildir:", 8) != 0)
		cfg_require(p, CFG_K_BOUNCE_PASSWORD_FILE,
		    "required when source is a mail server");
	if (p->state[CFG_K_BOUNCE_FOLDER] == CFG_SET)
		cfg_check_bounce_folder(p);

	if (p->section_line[CFG_S_UNSUBSCRIBE] != 0) {
		cfg_require(
		    p, CFG_K_UNSUBSCRIBE_URL, "required in [unsubscribe]");
		cfg_require(p, CFG_K_SECRET_FILE, "required in [unsubscribe]");
	}
	if (p->section_line[CFG_S_DKIM] != 0)
		cfg_check_dkim(p);
}

/* ------------------------------------------------------------ syntax */

static int
cfg_section_find(const char *name, size_t n)
{
	int i;

	for (i = 0; i < CFG_S_COUNT; i++)
		if (strlen(cfg_section_names[i]) == n &&
		    memcmp(cfg_section_names[i], name, n) == 0)
			return i;
	return -1;
}

/* The edit distance of a and b (insertions, deletions, substitutions,
 * and swaps of two neighbours: "levle" is one from "level"), up to 64
 * bytes each; more for longer words. */
static int
cfg_distance(const char *a, const char *b)
{
	int d[3][65], *prev2 = d[0], *prev = d[1], *cur = d[2], *t;
	size_t la = strlen(a), lb = strlen(b);

	if (la > 64 || lb > 64)
		return 100;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int v = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

/* Whether a word is near enough to a name to be a typing slip. */
static bool
cfg_near(const char *word, const char *name)
{
	size_t n = strlen(name);

	return cfg_distance(word, name) <= (n <= 4 ? 1 : n <= 8 ? 2 : 3);
}

/* Says what an unknown key may have meant: the nearest key of its
 * section, the same key in another section, or else the section's keys. */
static char *
cfg_unknown_key_hint(int section, const char *name)
{
	int best = -1, best_d = 100, d;
	struct buf b;

	for (int i = 0; i < CFG_K_COUNT; i++) {
		if ((int)cfg_keys[i].section != section)
			continue;
		d = cfg_distance(name, cfg_keys[i].name);
		if (d < best_d && cfg_near(name, cfg_keys[i].name)) {
			best = i;
			best_d = d;
		}
	}
	if (best >= 0)
		return xasprintf(" (did you mean %s?)", cfg_keys[best].name);
	for (int i = 0; i < CFG_K_COUNT; i++)
		if (strcmp(name, cfg_keys[i].name) == 0)
			return xasprintf(" (%s is a key of [%s])", name,
			    cfg_section_names[cfg_keys[i].section]);
	buf_init(&b);
	buf_printf(&b, " (the keys of [%s]:", cfg_section_names[section]);
	for (int i = 0, n = 0; i < CFG_K_COUNT; i++)
		if ((int)cfg_keys[i].section == section)
			buf_printf(
			    &b, "%s %s", n++ > 0 ? "," : "", cfg_keys[i].name);
	buf_puts(&b, ")");
	return buf_take(&b);
}

/* The same for an unknown section: the nearest one, or all of them. */
static char *
cfg_unknown_section_hint(const char *name, size_t n)
{
	char *word = xstrndup(name, n);
	struct buf b;

	for (int i = 0; i < CFG_S_COUNT; i++) {
		if (cfg_near(word, cfg_section_names[i])) {
			free(word);
			return xasprintf(
			    " (did you mean [%s]?)", cfg_section_names[i]);
		}
	}
	free(word);
	buf_init(&b);
	buf_puts(&b, " (the sections:");
	for (int i = 0; i < CFG_S_COUNT; i++)
		buf_printf(
		    &b, "%s [%s]", i > 0 ? "," : "", cfg_section_names[i]);
	buf_puts(&b, ")");
	return buf_take(&b);
}

/* What to do about an empty value, true for the key it is about. */
static const char *
cfg_empty_hint(enum cfg_key_id id)
{
	const struct cfg_key *k = &cfg_keys[id];

	if ((k->flags & CFG_F_REQUIRED) != 0)
		return "empty value (the key is required: give it a value)";
	/* Defaults worked out from other keys (cfg_apply_defaults()). */
	if (k->def != NULL || id == CFG_K_BOUNCE_DOMAIN ||
	    id == CFG_K_LIST_ID || id == CFG_K_HTTP_LISTEN)
		return "empty value (give a value, or remove the line to get "
		       "the default)";
	return "empty value (give a value, or remove the line: the key has "
	       "no default and is then unset)";
}

static int
cfg_key_find(int section, const char *name)
{
	int i;

	for (i = 0; i < CFG_K_COUNT; i++)
		if ((int)cfg_keys[i].section == section &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return i;
	return -1;
}

static void cfg_parser_init(
    struct cfg_parser *p, const char *name, const char *dir);

/* A [smtp.NAME] header (name is "smtp.NAME", n bytes): a relay read by
 * a parser of its own, into p->child. */
static void
cfg_on_relay_header(struct cfg_parser *p, const char *name, size_t n)
{
	struct cfg_parser *child;
	size_t i;

	for (i = 5; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			break;
	if (i < n || n - 5 > CFG_RELAY_NAME_MAX) {
		cfg_err(p, p->line,
		    "[%.*s]: a relay's name is letters, digits, '-' and '_', "
		    "at most %d",
		    (int)n, name, CFG_RELAY_NAME_MAX);
		return;
	}
	for (i = 0; i < p->n_children; i++) {
		if (strlen(p->children[i]->relay) == n &&
		    memcmp(p->children[i]->relay, name, n) == 0) {
			cfg_err(p, p->line,
			    "[%.*s]: section repeated (first on line %d)",
			    (int)n, name,
			    p->children[i]->section_line[CFG_S_SMTP]);
			return;
		}
	}
	if (p->n_children == CFG_MAX_RELAYS) {
		cfg_err(p, p->line, "[%.*s]: more than %d [smtp.NAME] relays",
		    (int)n, name, CFG_MAX_RELAYS);
		return;
	}
	child = xmalloc(sizeof(*child));
	cfg_parser_init(child, p->name, p->dir);
	child->parent = p;
	child->relay = xstrndup(name, n);
	child->section = CFG_S_SMTP;
	child->section_line[CFG_S_SMTP] = p->line;
	p->children[p->n_children++] = child;
	p->child = child;
	p->section = CFG_SECT_RELAY;
}

/* A section header, s[0] == '['. inih reads it too; we follow it
 * ourselves so that a broken or unknown header does not leave the keys
 * below it in the section before. */
static void
cfg_on_header(struct cfg_parser *p, const char *s, size_t n)
{
	size_t i, close = 0, a, b;
	int id;

	p->section = CFG_SECT_SKIP;
	p->child = NULL;
	for (i = 1; i < n; i++) {
		if (s[i] == ']') {
			close = i;
			break;
		}
		if (s[i] == ';' && isspace((unsigned char)s[i - 1]))
			break;
	}
	if (close == 0) {
		cfg_err(p, p->line, "missing ']' in section header");
		return;
	}
	for (i = close + 1; i < n && isspace((unsigned char)s[i]); i++)
		continue;
	if (i < n && s[i] != ';' && s[i] != '#') {
		cfg_err(p, p->line, "text after ']' in section header");
		return;
	}
	for (a = 1; a < close && isspace((unsigned char)s[a]); a++)
		continue;
	for (b = close; b > a && isspace((unsigned char)s[b - 1]); b--)
		continue;
	id = cfg_section_find(s + a, b - a);
	if (id < 0 && b - a > 5 && memcmp(s + a, "smtp.", 5) == 0) {
		cfg_on_relay_header(p, s + a, b - a);
		return;
	}
	if (id < 0) {
		char *hint = cfg_unknown_section_hint(s + a, b - a);

		cfg_err(p, p->line, "[%.*s]: unknown section%s", (int)(b - a),
		    s + a, hint);
		free(hint);
		return;
	}
	if (p->section_line[id] != 0)
		cfg_err(p, p->line, "[%s]: section repeated (first on line %d)",
		    cfg_section_names[id], p->section_line[id]);
	else
		p->section_line[id] = p->line;
	p->section = id;
}

/* Called when inih asks for the next line: a line that should have been
 * "key = value" but gave inih nothing to hand us was a syntax error. */
static void
cfg_line_done(struct cfg_parser *p)
{
	if (p->line_wants_pair && !p->line_had_pair)
		cfg_err(p, p->line,
		    "expected 'key = value', '[section]' or "
		    "a comment");
	p->line_wants_pair = false;
	p->line_had_pair = false;
}

static char *
cfg_on_read(char *str, int num, void *stream)
{
	struct cfg_parser *p = stream;
	const char *s, *nl;
	size_t n, skip, max = num > 3 ? (size_t)num - 3 : 0;

	cfg_line_done(p);
	if (p->pos >= p->len)
		return NULL;
	s = p->data + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	n = nl != NULL ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += n + (nl != NULL ? 1 : 0);
	p->line++;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (p->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	skip = 0;
	while (skip < n && isspace((unsigned char)s[skip]))
		skip++;
	if (memchr(s, '\0', n) != NULL || n > max) {
		if (memchr(s, '\0', n) != NULL)
			cfg_err(p, p->line, "line holds a NUL byte");
		else
			cfg_err(p, p->line,
			    "line too long (%zu characters, at most %zu)", n,
			    max);
		if (skip < n && s[skip] == '[')
			p->section = CFG_SECT_SKIP;
		(void)snprintf(str, (size_t)num, "\n");
		return str;
	}
	if (skip < n && s[skip] == '[')
		cfg_on_header(p, s + skip, n - skip);
	else if (skip < n && s[skip] != ';' && s[skip] != '#')
		p->line_wants_pair = true;
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int
cfg_on_pair(
    void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parser *p = user;
	const char *sect;
	char *why = NULL;
	int k;

	(void)section; /* ours is p->section, see cfg_on_header() */
	p->line_had_pair = true;
	if (p->section == CFG_SECT_SKIP)
		return 1;
	if (p->section == CFG_SECT_RELAY) {
		p->child->line = p->line;
		return cfg_on_pair(p->child, section, name, value);
	}
	if (p->section == CFG_SECT_NONE) {
		cfg_err(p, p->line, "%s: key before any [section]", name);
		return 1;
	}
	sect = p->relay != NULL ? p->relay : cfg_section_names[p->section];
	if (*name == '\0') {
		cfg_err(p, p->line, "[%s]: missing key name before '='", sect);
		return 1;
	}
	k = cfg_key_find(p->section, name);
	if (k < 0) {
		char *hint = cfg_unknown_key_hint(p->section, name);

		cfg_err(p, p->line, "[%s] %s: unknown key%s", sect, name, hint);
		free(hint);
		return 1;
	}
	if (!cfg_key_here(p, k)) {
		cfg_err(p, p->line,
		    "[%s] %s: applies to every relay: set it in [smtp]", sect,
		    name);
		return 1;
	}
	if (p->key_line[k] != 0) {
		cfg_err(p, p->line,
		    "[%s] %s: duplicate key (first set on "
		    "line %d)",
		    sect, name, p->key_line[k]);
		return 1;
	}
	p->key_line[k] = p->line;
	p->state[k] = CFG_BAD;
	if (*value == '\0')
		cfg_key_err(p, k, "%s", cfg_empty_hint(k));
	else if (cfg_set(p, k, value, &why) != 0)
		cfg_key_err(p, k, "%s", why);
	else
		p->state[k] = CFG_SET;
	free(why);
	return 1;
}

/* ------------------------------------------------------------ public */

static void
cfg_parser_init(struct cfg_parser *p, const char *name, const char *dir)
{
	memset(p, 0, sizeof(*p));
	p->c = xcalloc(1, sizeof(*p->c));
	p->name = name;
	p->dir = xstrdup(dir);
	p->section = CFG_SECT_NONE;
}

/* Moves the [smtp] keys of child's config into r, named after the
 * section. */
static void
cfg_relay_take(struct cfg_relay *r, struct cfg_parser *child)
{
	struct cfg *c = child->c;

	memset(r, 0, sizeof(*r));
	r->name = xstrdup(child->relay);
	r->url = c->smtp_url;
	r->tls = c->smtp_tls;
	r->username = c->smtp_username;
	r->password_file = c->smtp_password_file;
	r->ca_file = c->smtp_ca_file;
	r->connections = c->smtp_connections;
	r->rate = c->smtp_rate;
	r->quota = c->smtp_quota;
	r->timeout = c->smtp_timeout;
	r->ehlo_name = c->smtp_ehlo_name;
	c->smtp_url = c->smtp_username = c->smtp_password_file = NULL;
	c->smtp_ca_file = c->smtp_ehlo_name = NULL;
}

/* Checks each [smtp.NAME] section as a whole, then moves the good ones
 * into p's config, in the order written. */
static void
cfg_finish_relays(struct cfg_parser *p)
{
	struct cfg_parser *child;
	size_t i;

	for (i = 0; i < p->n_children; i++) {
		child = p->children[i];
		cfg_apply_defaults(child);
		cfg_require(child, CFG_K_SMTP_URL, "required in every relay");
		cfg_check_relay_rules(child);
		cfg_check_system(child);
	}
	if (p->n_errors > 0 || p->n_dropped > 0 || p->n_children == 0)
		return;
	p->c->relays = xcalloc(p->n_children, sizeof(*p->c->relays));
	for (i = 0; i < p->n_children; i++)
		cfg_relay_take(&p->c->relays[i], p->children[i]);
	p->c->n_relays = p->n_children;
}

static void
cfg_free_children(struct cfg_parser *p)
{
	for (size_t i = 0; i < p->n_children; i++) {
		cfg_free(p->children[i]->c);
		free(p->children[i]->relay);
		free(p->children[i]->dir);
		free(p->children[i]);
	}
	p->n_children = 0;
	p->child = NULL;
}

size_t
cfg_relay_count(const struct cfg *c)
{
	return 1 + c->n_relays;
}

void
cfg_relay_get(const struct cfg *c, size_t i, struct cfg_relay *out)
{
	if (i > 0 && i <= c->n_relays) {
		*out = c->relays[i - 1];
		return;
	}
	memset(out, 0, sizeof(*out));
	out->name = (char *)"smtp";
	out->url = c->smtp_url;
	out->tls = c->smtp_tls;
	out->username = c->smtp_username;
	out->password_file = c->smtp_password_file;
	out->ca_file = c->smtp_ca_file;
	out->connections = c->smtp_connections;
	out->rate = c->smtp_rate;
	out->quota = c->smtp_quota;
	out->timeout = c->smtp_timeout;
	out->ehlo_name = c->smtp_ehlo_name;
}

/* path made absolute against the working folder, symbolic links kept:
 * the folder relative paths start from is the one the administrator
 * named. */
static char *
cfg_absolute(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/')
		return xstrdup(path);
	cwd = getcwd(NULL, 0);
	if (cwd == NULL)
		return xstrdup(path);
	abs = xasprintf("%s/%s", cwd, path);
	free(cwd);
	return abs;
}

static char *
cfg_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

struct cfg *
cfg_load(const char *path, char **errors)
{
	struct cfg_parser p;
	struct buf text;
	char *abs, *dir;
	bool multiline;
	int ret;

	*errors = NULL;
	buf_init(&text);
	abs = cfg_absolute(path);
	dir = cfg_dirname(abs);
	cfg_parser_init(&p, path, dir);
	free(dir);
	p.c->path = abs;

	ret = util_read_file(path, CFG_MAX_FILE, &text);
	if (ret != 0) {
		cfg_err(&p, 0, "cannot read: %s",
		    ret == -EFBIG ? "larger than 1 MiB" : strerror(-ret));
		goto out;
	}
	p.data = text.data != NULL ? text.data : "";
	p.len = text.len;

	/* An indented line would otherwise continue the value above it:
	 * an indented key would vanish into the previous one. */
	multiline = ini_allow_multiline;
	ini_allow_multiline = false;
	ret = ini_parse_stream(cfg_on_read, &p, cfg_on_pair, &p);
	ini_allow_multiline = multiline;
	if (ret < 0)
		cfg_err(&p, 0, "cannot parse: out of memory");
	else if (ret > 0 && p.n_errors == 0)
		cfg_err(&p, ret, "syntax error");

	cfg_apply_defaults(&p);
	cfg_derive(&p);
	cfg_check_rules(&p);
	cfg_check_system(&p);
	cfg_finish_relays(&p);
out:
	buf_fini(&text);
	cfg_free_children(&p);
	free(p.dir);
	if (p.n_errors > 0 || p.n_dropped > 0) {
		*errors = cfg_errors_take(&p);
		cfg_free(p.c);
		return NULL;
	}
	return p.c;
}

struct cfg *
cfg_new_defaults(const char *dir)
{
	static const struct {
		enum cfg_key_id key;
		const char *value;
	} preset[] = {
		{ CFG_K_FROM, "Family Courses <courses@example.org>" },
		{ CFG_K_TRANSPORT, "maildir" },
		{ CFG_K_MAILDIR_PATH, "Maildir" },
		{ CFG_K_DATABASE, "familymail.db" },
	};
	const char *templates = getenv("FAMILYMAIL_TEMPLATES");
	struct cfg_parser p;
	char *why = NULL;
	size_t i;

	cfg_parser_init(&p, "(defaults)", dir);
	for (i = 0; i < UTIL_ARRAY_LEN(preset); i++) {
		if (cfg_set(&p, preset[i].key, preset[i].value, &why) != 0)
			abort();
		p.state[preset[i].key] = CFG_SET;
	}
	if (templates != NULL && *templates != '\0') {
		p.c->templates = xstrdup(templates);
		p.state[CFG_K_TEMPLATES] = CFG_SET;
	}
	cfg_apply_defaults(&p);
	cfg_derive(&p);
	if (p.n_errors > 0)
		abort();
	p.c->path = xasprintf("%s/familymail.conf", dir);
	free(p.dir);
	return p.c;
}

void
cfg_free(struct cfg *c)
{
	int id;

	if (c == NULL)
		return;
	for (id = 0; id < CFG_K_COUNT; id++) {
		switch (cfg_keys[id].type) {
		case CFG_T_STRING:
		case CFG_T_PATH:
		case CFG_T_DIR:
		case CFG_T_FILE:
		case CFG_T_SECRET:
		case CFG_T_FROM:
		case CFG_T_MAILBOX:
		case CFG_T_ADDR:
		case CFG_T_DOMAIN:
		case CFG_T_LIST_ID:
		case CFG_T_URL:
		case CFG_T_SOURCE:
		case CFG_T_TIMEZONE:
		case CFG_T_USER:
		case CFG_T_LISTEN:
		case CFG_T_LANGUAGE:
		case CFG_T_SELECTOR:
		case CFG_T_DKIM_KEY:
		case CFG_T_NETS:
			free(*cfg_str_at(c, &cfg_keys[id]));
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < c->n_relays; i++) {
		struct cfg_relay *r = &c->relays[i];

		free(r->name);
		free(r->url);
		free(r->username);
		free(r->password_file);
		free(r->ca_file);
		free(r->ehlo_name);
	}
	free(c->relays);
	free(c->from_name);
	free(c->from_addr);
	free(c->path);
	free(c);
}
