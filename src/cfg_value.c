/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cfg_value: the syntax of single config values: email addresses and
 * domains, URLs and their hosts, times of day, listen addresses and
 * address lists, time zone and user names. Pure string checks; it knows nothing of keys, files or
 * the system (cfg.c looks at those).
 */
#include "config.h"

#include "cfg_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "util.h"

bool
cfg_value_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

bool
cfg_value_is_list_id(const char *s)
{
	size_t n = strlen(s);

	return n <= 255 && strchr(s, '.') != NULL && addr_is_dot_atom(s, n);
}

/* Splits "Name <addr>", "\"Name\" <addr>" or "addr". */
int
cfg_value_parse_mailbox(const char *s, char **name, char **addr, char **why)
{
	const char *lt = strchr(s, '<');
	size_t n = strlen(s), i;
	char *nm, *ad;

	/* A CR before the '<' would pass as the space there, and the
	 * value is written as it is into Reply-To: refuse it here, not in
	 * every message. */
	if (cfg_value_has_ctl(s)) {
		*why = xstrdup("holds a control character");
		return -EINVAL;
	}
	if (lt == NULL) {
		if (!addr_is_valid(s))
			goto bad_addr;
		*name = xstrdup("");
		*addr = xstrdup(s);
		return 0;
	}
	if (s[n - 1] != '>' || strchr(lt + 1, '<') != NULL ||
	    strchr(lt, '>') != s + n - 1) {
		*why = xasprintf("'%s' is not an address (expected "
				 "Name <local@domain>)",
		    s);
		return -EINVAL;
	}
	ad = xstrndup(lt + 1, (size_t)(s + n - 1 - (lt + 1)));
	if (!addr_is_valid(ad)) {
		free(ad);
		goto bad_addr;
	}
	n = (size_t)(lt - s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		nm = xstrndup(s + 1, n - 2);
	else
		nm = xstrndup(s, n);
	for (i = 0; nm[i] != '\0'; i++) {
		if (nm[i] == '"' || nm[i] == '>' ||
		    (unsigned char)nm[i] < 0x20 || nm[i] == 0x7f) {
			*why = xasprintf("the name in '%s' holds a quote, '>' "
					 "or a control character",
			    s);
			free(nm);
			free(ad);
			return -EINVAL;
		}
	}
	*name = nm;
	*addr = ad;
	return 0;

bad_addr:
	*why = xasprintf("'%s' is not an email address (expected "
			 "local@domain)",
	    s);
	return -EINVAL;
}

/* Splits scheme://[user@]host[:port][/...]. Hosts are names or literal
 * addresses, IPv6 ones in brackets (stored without them). */
static int
cfg_value_split_url_at(
    const char *url, struct cfg_value_url *u, const char **why)
{
	const char *sep = strstr(url, "://"), *a, *end, *at, *h, *colon;
	size_t n;
	char port[8];
	long v;

	memset(u, 0, sizeof(*u));
	*why = "not a url (expected scheme://host)";
	if (sep == NULL || sep == url ||
	    (size_t)(sep - url) >= sizeof(u->scheme))
		return -EINVAL;
	memcpy(u->scheme, url, (size_t)(sep - url));
	a = sep + 3;
	end = a + strcspn(a, "/?#");
	at = memchr(a, '@', (size_t)(end - a));
	h = a;
	if (at != NULL) {
		n = (size_t)(at - a);
		if (memchr(a, ':', n) != NULL) {
			*why = "a password does not belong in the url";
			return -EINVAL;
		}
		if (n == 0 || n >= sizeof(u->user)) {
			*why = "bad user name in the url";
			return -EINVAL;
		}
		memcpy(u->user, a, n);
		h = at + 1;
	}
	*why = "bad host in the url";
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		struct in6_addr a6;

		if (rb == NULL || (size_t)(rb - h - 1) >= sizeof(u->host))
			return -EINVAL;
		memcpy(u->host, h + 1, (size_t)(rb - h - 1));
		if (inet_pton(AF_INET6, u->host, &a6) != 1)
			return -EINVAL;
		colon = rb + 1;
		if (colon != end && *colon != ':')
			return -EINVAL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		n = (size_t)((colon != NULL ? colon : end) - h);
		if (n == 0 || n >= sizeof(u->host))
			return -EINVAL;
		memcpy(u->host, h, n);
		if (!addr_is_domain(u->host))
			return -EINVAL;
		if (colon == NULL)
			colon = end;
	}
	if (colon != end) {
		n = (size_t)(end - colon - 1);
		*why = "bad port in the url";
		if (n == 0 || n >= sizeof(port))
			return -EINVAL;
		memcpy(port, colon + 1, n);
		port[n] = '\0';
		if (util_parse_long(port, 1, 65535, &v) != 0)
			return -EINVAL;
		u->port = v;
	}
	return 0;
}

int
cfg_value_split_url(const char *url, struct cfg_value_url *u, char **why)
{
	const char *w = NULL;
	int ret = cfg_value_split_url_at(url, u, &w);

	if (ret != 0)
		*why = xstrdup(w);
	return ret;
}

bool
cfg_value_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static int
cfg_value_parse_clock(const char *s, int *minute)
{
	long h, m;
	char hh[3];
	const char *colon = strchr(s, ':');
	size_t n = colon != NULL ? (size_t)(colon - s) : 0;

	if (n < 1 || n > 2 || strlen(colon + 1) != 2 ||
	    !isdigit((unsigned char)colon[1]) ||
	    !isdigit((unsigned char)colon[2]))
		return -EINVAL;
	memcpy(hh, s, n);
	hh[n] = '\0';
	if (!isdigit((unsigned char)hh[0]) ||
	    util_parse_long(hh, 0, 23, &h) != 0 ||
	    util_parse_long(colon + 1, 0, 59, &m) != 0)
		return -EINVAL;
	*minute = (int)(h * 60 + m);
	return 0;
}

/* Splits "WORD TIME" into word (at most size-1 bytes) and a clock time. */
static int
cfg_value_parse_day_time(const char *s, char *word, size_t size, int *minute)
{
	size_t n = strcspn(s, " \t");

	if (n == 0 || n >= size || s[n] == '\0')
		return -EINVAL;
	memcpy(word, s, n);
	word[n] = '\0';
	s += n;
	s += strspn(s, " \t");
	return cfg_value_parse_clock(s, minute);
}

int
cfg_value_parse_weekly(const char *s, int *wday, int *minute)
{
	static const char *const days[] = { "sunday", "monday", "tuesday",
		"wednesday", "thursday", "friday", "saturday" };
	char word[16];
	size_t i;

	if (cfg_value_parse_day_time(s, word, sizeof(word), minute) != 0)
		return -EINVAL;
	for (i = 0; i < UTIL_ARRAY_LEN(days); i++) {
		if (strcasecmp(word, days[i]) == 0 ||
		    (strlen(word) == 3 && strncasecmp(word, days[i], 3) == 0)) {
			*wday = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
cfg_value_parse_monthly(const char *s, int *mday, int *minute)
{
	char word[8];
	long d;

	if (cfg_value_parse_day_time(s, word, sizeof(word), minute) != 0 ||
	    util_parse_long(word, 1, 28, &d) != 0 ||
	    !isdigit((unsigned char)word[0]))
		return -EINVAL;
	*mday = (int)d;
	return 0;
}

int
cfg_value_check_listen(const char *v)
{
	char host[64];
	const char *colon;
	size_t n;
	long port;
	unsigned char a[sizeof(struct in6_addr)];
	int af = AF_INET;

	if (v[0] == '[') {
		colon = strstr(v, "]:");
		if (colon == NULL)
			return -EINVAL;
		v++;
		af = AF_INET6;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL)
			return -EINVAL;
	}
	n = (size_t)(colon - v);
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, v, n);
	host[n] = '\0';
	if (inet_pton(af, host, a) != 1)
		return -EINVAL;
	colon += af == AF_INET6 ? 2 : 1;
	if (!isdigit((unsigned char)*colon) ||
	    util_parse_long(colon, 1, 65535, &port) != 0)
		return -EINVAL;
	return 0;
}

int
cfg_value_parse_addr(const char *s, unsigned char out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -EINVAL;
}

/* One entry of a list: an address, or ADDRESS/BITS. */
static int
cfg_value_parse_net(const char *s, struct cfg_value_net *net)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	bool v4;
	long bits;

	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (cfg_value_parse_addr(addr, net->addr) != 0)
		return -EINVAL;
	v4 = strchr(addr, ':') == NULL;
	net->prefix = 128;
	if (slash == NULL)
		return 0;
	if (!isdigit((unsigned char)slash[1]) ||
	    util_parse_long(slash + 1, 0, v4 ? 32 : 128, &bits) != 0)
		return -EINVAL;
	net->prefix = (int)bits + (v4 ? 96 : 0);
	/* 10.1.2.3/8 is a mistake for 10.0.0.0/8: say so. */
	for (int i = net->prefix; i < 128; i++)
		if ((net->addr[i / 8] & (0x80 >> (i % 8))) != 0)
			return -EINVAL;
	return 0;
}

int
cfg_value_parse_nets(const char *s, struct cfg_value_net *nets, size_t max,
    size_t *n, char **why)
{
	char entry[80];
	size_t len;

	*n = 0;
	for (;;) {
		s += strspn(s, " \t,");
		if (*s == '\0')
			break;
		len = strcspn(s, " \t,");
		if (len >= sizeof(entry)) {
			*why = xasprintf("'%.*s...' is not an address", 20, s);
			return -EINVAL;
		}
		memcpy(entry, s, len);
		entry[len] = '\0';
		if (*n == max) {
			*why = xasprintf("more than %zu addresses", max);
			return -EINVAL;
		}
		if (cfg_value_parse_net(entry, &nets[*n]) != 0) {
			*why = xasprintf("'%s' is not a numeric address or a "
					 "network (expected e.g. 127.0.0.1, "
					 "::1 or 10.0.0.0/8)",
			    entry);
			return -EINVAL;
		}
		(*n)++;
		s += len;
	}
	if (*n == 0) {
		*why = xstrdup("names no address");
		return -EINVAL;
	}
	return 0;
}

static bool
cfg_value_net_has(const struct cfg_value_net *net, const unsigned char a[16])
{
	int full = net->prefix / 8, rest = net->prefix % 8;

	if (memcmp(a, net->addr, (size_t)full) != 0)
		return false;
	return rest == 0 ||
	    ((a[full] ^ net->addr[full]) & (0xff00 >> rest) & 0xff) == 0;
}

bool
cfg_value_nets_match(
    const struct cfg_value_net *nets, size_t n, const unsigned char a[16])
{
	for (size_t k = 0; k < n; k++)
		if (cfg_value_net_has(&nets[k], a))
			return true;
	return false;
}

bool
cfg_value_is_tz_name(const char *v)
{
	size_t i;

	if (v[0] == '/' || strlen(v) > 100 || strstr(v, "..") != NULL)
		return false;
	for (i = 0; v[i] != '\0'; i++)
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("/_+-", v[i]) == NULL)
			return false;
	return true;
}

bool
cfg_value_is_user_name(const char *v)
{
	size_t i;

	if (v[0] == '-' || strlen(v) > 32)
		return false;
	for (i = 0; v[i] != '\0'; i++)
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("._-", v[i]) == NULL)
			return false;
	return true;
}
