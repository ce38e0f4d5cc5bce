/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * addr: the one place that says what an email address and a domain
 * name are, for the config, the MIME writer, the VERP envelope and the
 * SMTP wire. Addresses are the plain ASCII form of RFC 5322 (a
 * dot-atom, "@", letter-digit-hyphen labels) unless a function says
 * otherwise; quoted local parts and address literals are refused, as
 * no charity's list needs them and each is a way to smuggle syntax.
 *
 * Pure functions of their arguments; no allocation.
 */
#ifndef FM_ADDR_H
#define FM_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Longest address (RFC 5321's path limit less the brackets) and local
 * part. */
#define ADDR_MAX       254
#define ADDR_LOCAL_MAX 64

/* True for an RFC 5322 atext character. */
bool addr_is_atext(int c);

/* True if s[0..n) is a dot-atom: atext runs joined by single dots. */
bool addr_is_dot_atom(const char *s, size_t n);

/* True if s[0..n) is a domain name: labels of letters, digits and
 * inner hyphens, 1 to 63 bytes each, 253 bytes in all. */
bool addr_is_domain_n(const char *s, size_t n);
bool addr_is_domain(const char *s);

/* True if s[0..n) is an address: dot-atom@domain, at most ADDR_MAX
 * bytes with a local part of at most ADDR_LOCAL_MAX. */
bool addr_is_valid_n(const char *s, size_t n);
/* The same for a string; false for NULL. */
bool addr_is_valid(const char *s);

/*
 * Whether a can go on the SMTP wire between angle brackets: at most
 * ADDR_MAX bytes, no space, control character or angle bracket (UTF-8
 * is allowed: an internationalised address, RFC 6531). NULL or "" is
 * allowed when empty_ok (the null reverse path).
 */
bool addr_is_wire_safe(const char *a, bool empty_ok);

#endif
