/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dns: the few DNS look-ups familymail makes (TXT, MX, addresses), for
 * `familymail check-dns`, through libunbound: the system's resolvers
 * (/etc/resolv.conf) or one named server. Each look-up blocks, at most
 * DNS_TIMEOUT_MS; nothing here runs on the daemon's loop. libunbound's
 * structures stay inside dns.c.
 */
#ifndef FM_DNS_H
#define FM_DNS_H

#include <stddef.h>

/* How long one look-up may take, retries included. */
#define DNS_TIMEOUT_MS 10000

struct dns;

/* One MX record: the preference and the host, lower case, without the
 * final dot ("" for RFC 7505's null MX, "."). */
struct dns_mx {
	int pref;
	char *host;
};

/*
 * A resolver. server NULL: the ones /etc/resolv.conf names; else one
 * server, "ADDRESS", "ADDRESS:PORT" or "[IPV6]:PORT" (a numeric
 * address, port 53 by default), loopback included (tests run their
 * own). Returns 0 and *out (free with dns_free()), or -EINVAL with *why
 * (newly allocated).
 */
int dns_new(const char *server, struct dns **out, char **why);
void dns_free(struct dns *d);

/*
 * The TXT records at name, each one's strings joined (RFC 7208 §3.3,
 * RFC 6376 §3.6.2.2), as *n newly allocated strings in *records (free
 * with dns_strings_free()). A name with no such record, or no name,
 * gives 0 and *n 0. Returns -EIO when the look-up itself fails
 * (SERVFAIL, REFUSED, time-out), with *why (newly allocated).
 */
int dns_txt(
    struct dns *d, const char *name, char ***records, size_t *n, char **why);
void dns_strings_free(char **s, size_t n);

/* The MX records at name, as dns_txt(); free with dns_mx_free(). */
int dns_mx(
    struct dns *d, const char *name, struct dns_mx **mx, size_t *n, char **why);
void dns_mx_free(struct dns_mx *mx, size_t n);

/* How many A and AAAA records name has, in *n; as dns_txt(). */
int dns_addresses(struct dns *d, const char *name, size_t *n, char **why);

#endif
