/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * addr: see addr.h. Character classes are ASCII's, whatever the locale.
 */
#include "config.h"

#include "addr.h"

#include <string.h>

static bool
addr_is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

bool
addr_is_atext(int c)
{
	return addr_is_alnum(c) ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

bool
addr_is_dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return false;
		} else if (!addr_is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

bool
addr_is_domain_n(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (addr_is_alnum((unsigned char)s[i]) || s[i] == '-') {
			if ((label == 0 && s[i] == '-') || ++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

bool
addr_is_domain(const char *s)
{
	return s != NULL && addr_is_domain_n(s, strnlen(s, 254));
}

bool
addr_is_valid_n(const char *s, size_t n)
{
	const char *at;

	if (n > ADDR_MAX)
		return false;
	at = memchr(s, '@', n);
	if (at == NULL || at - s > ADDR_LOCAL_MAX)
		return false;
	return addr_is_dot_atom(s, (size_t)(at - s)) &&
	    addr_is_domain_n(at + 1, n - (size_t)(at - s) - 1);
}

bool
addr_is_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, ADDR_MAX + 1);
	return n <= ADDR_MAX && addr_is_valid_n(s, n);
}

bool
addr_is_wire_safe(const char *a, bool empty_ok)
{
	size_t n;

	if (a == NULL || a[0] == '\0')
		return empty_ok;
	n = strnlen(a, ADDR_MAX + 1);
	if (n > ADDR_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)a[i];

		if (ch <= 0x20 || ch == 0x7f || ch == '<' || ch == '>')
			return false;
	}
	return true;
}
