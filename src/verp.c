/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * verp: VERP envelope senders, bounces+TOKEN@domain (see verp.h).
 * Tokens come from getrandom(2), one character per byte kept by
 * rejection sampling so that every character is equally likely.
 */
#include "config.h"

#include "verp.h"

#include <sys/random.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "addr.h"
#include "util.h"

#define VERP_PREFIX "bounces+"
/* Longest address verp_parse() reads (RFC 5321's path limit). */
#define VERP_ADDRESS_MAX 256

static const char verp_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

int
verp_token_new(char out[VERP_TOKEN_LEN + 1])
{
	/* 252 = 7 * 36: bytes from 252 up would favour the first letters. */
	const unsigned limit = 252;
	unsigned char bytes[2 * VERP_TOKEN_LEN];
	size_t n = 0, i;

	while (n < VERP_TOKEN_LEN) {
		ssize_t got = getrandom(bytes, sizeof(bytes), 0);

		if (got == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < (size_t)got && n < VERP_TOKEN_LEN; i++)
			if (bytes[i] < limit)
				out[n++] = verp_alphabet[bytes[i] % 36];
	}
	out[n] = '\0';
	return 0;
}

static bool
verp_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static bool
verp_token_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > VERP_TOKEN_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!verp_is_alnum(s[i]))
			return false;
	return true;
}

char *
verp_address(const char *token, const char *domain)
{
	if (token == NULL || domain == NULL ||
	    !verp_token_valid(token, strnlen(token, VERP_TOKEN_MAX + 1)) ||
	    !addr_is_domain_n(domain, strnlen(domain, 254)))
		return NULL;
	return xasprintf(VERP_PREFIX "%s@%s", token, domain);
}

int
verp_parse(const char *address, char *token, size_t size)
{
	const char *p, *at, *end;
	size_t len, n, i;

	if (address == NULL)
		return -EINVAL;
	len = strnlen(address, VERP_ADDRESS_MAX + 1);
	if (len > VERP_ADDRESS_MAX)
		return -EINVAL;
	p = address;
	end = address + len;
	if (len >= 2 && p[0] == '<' && end[-1] == '>') {
		p++;
		end--;
	}
	if ((size_t)(end - p) < strlen(VERP_PREFIX) ||
	    !util_strcaseprefix(p, VERP_PREFIX))
		return -EINVAL;
	p += strlen(VERP_PREFIX);
	at = memchr(p, '@', (size_t)(end - p));
	if (at == NULL || at + 1 == end)
		return -EINVAL;
	for (i = 1; at + i < end; i++)
		if (at[i] == '@' || at[i] == '<' || at[i] == '>' ||
		    (unsigned char)at[i] <= ' ')
			return -EINVAL;
	n = (size_t)(at - p);
	if (!verp_token_valid(p, n))
		return -EINVAL;
	if (size <= n)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		token[i] = c;
	}
	token[n] = '\0';
	return 0;
}
