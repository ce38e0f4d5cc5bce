/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cfg_value: the syntax of single config values, for cfg.c. Pure string
 * checks: no keys, no files, no look-ups. All text is ASCII; nothing here
 * allocates except where a contract says so.
 */
#ifndef FM_CFG_VALUE_H
#define FM_CFG_VALUE_H

#include <stdbool.h>
#include <stddef.h>

/* An address, or a network in CIDR form (192.0.2.0/24, fd00::/8). IPv4
 * is kept as IPv4-mapped IPv6, so one comparison serves both. */
struct cfg_value_net {
	unsigned char addr[16];
	int prefix; /* bits of addr that must match, 0..128 */
};

#define CFG_VALUE_NETS_MAX 32

/* A URL split into its parts: scheme://[user@]host[:port][/...]. */
struct cfg_value_url {
	char scheme[16];
	char user[128]; /* "" when none */
	char host[256]; /* a name or a numeric address, IPv6 unbracketed */
	long port;      /* 0 when none given */
};

/* True if s holds a byte below 0x20 or DEL. */
bool cfg_value_has_ctl(const char *s);

/* Addresses and domain names: addr.h. */
/* A List-Id identifier: a dot-atom holding a dot, no angle brackets. */
bool cfg_value_is_list_id(const char *s);

/* Splits "Name <addr>", "\"Name\" <addr>" or "addr" into newly allocated
 * *name ("" for none) and *addr (the caller frees both). Returns 0, or
 * -EINVAL and a newly allocated *why that quotes s. */
int cfg_value_parse_mailbox(
    const char *s, char **name, char **addr, char **why);

/* Splits url; returns 0, or -EINVAL and *why. A user with a password
 * ("user:pw@") is refused. The scheme is not checked. */
int cfg_value_split_url(const char *url, struct cfg_value_url *u, char **why);

/* True for "localhost", 127.0.0.0/8 and ::1. */
bool cfg_value_is_loopback(const char *host);

/* "mon 08:00" (mon..sun or monday..sunday, any case): *wday 0 = Sunday,
 * *minute after midnight. 0 or -EINVAL. */
int cfg_value_parse_weekly(const char *s, int *wday, int *minute);
/* "1 08:00": a day of the month, 1..28, and a time. 0 or -EINVAL. */
int cfg_value_parse_monthly(const char *s, int *mday, int *minute);

/* "127.0.0.1:8025" or "[::1]:8025": numeric address, port 1..65535. */
int cfg_value_check_listen(const char *s);

/*
 * Parses a list of addresses and networks separated by commas and
 * blanks ("127.0.0.1, ::1, 10.0.0.0/8") into nets (room for max) and
 * *n. Returns 0, or -EINVAL and a newly allocated *why naming the bad
 * entry (the caller frees).
 */
int cfg_value_parse_nets(const char *s, struct cfg_value_net *nets, size_t max,
    size_t *n, char **why);

/* Parses a numeric address (IPv4, IPv6 or IPv4-mapped IPv6) into its
 * 16-byte form; 0 or -EINVAL. */
int cfg_value_parse_addr(const char *s, unsigned char out[16]);

/* True if the 16-byte address a lies in one of nets. */
bool cfg_value_nets_match(
    const struct cfg_value_net *nets, size_t n, const unsigned char a[16]);

/* A name that may be looked up under the zoneinfo folder: no leading
 * '/', no "..", letters, digits and "/_+-". */
bool cfg_value_is_tz_name(const char *s);
/* A portable account name: letters, digits, "._-", not starting '-'. */
bool cfg_value_is_user_name(const char *s);

#endif
