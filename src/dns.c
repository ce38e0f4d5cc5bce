/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dns: see dns.h. libunbound resolves in a thread of its own (async
 * mode) so that a look-up can be given up after DNS_TIMEOUT_MS: its
 * synchronous call retries a silent server for minutes. Records come as
 * rdata, which is read here field by field (TXT strings, MX names); no
 * packet is built or parsed by hand.
 */
#include "config.h"

#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>

#include "buf.h"
#include "util.h"

#define DNS_CLASS_IN  1
#define DNS_TYPE_A    1
#define DNS_TYPE_MX   15
#define DNS_TYPE_TXT  16
#define DNS_TYPE_AAAA 28

struct dns {
	struct ub_ctx *ctx;
};

/* One look-up's outcome, filled by the callback. */
struct dns_query {
	bool done;
	int err;
	struct ub_result *result;
};

/* "ADDRESS", "ADDRESS:PORT" or "[IPV6]:PORT" as unbound's "ADDR@PORT". */
static int
dns_server_spec(const char *s, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *port = NULL, *end;
	long p = 53;
	size_t n;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -EINVAL;
		n = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, bin) != 1)
			return -EINVAL;
	} else if (inet_pton(AF_INET6, s, bin) == 1) {
		(void)snprintf(host, sizeof(host), "%s", s);
	} else {
		end = strchr(s, ':');
		n = end != NULL ? (size_t)(end - s) : strlen(s);
		if (end != NULL)
			port = end + 1;
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, bin) != 1)
			return -EINVAL;
	}
	if (port != NULL && util_parse_long(port, 1, 65535, &p) != 0)
		return -EINVAL;
	(void)snprintf(out, size, "%s@%ld", host, p);
	return 0;
}

int
dns_new(const char *server, struct dns **out, char **why)
{
	char spec[INET6_ADDRSTRLEN + 16];
	struct dns *d;
	int rc;

	*out = NULL;
	*why = NULL;
	if (server != NULL &&
	    dns_server_spec(server, spec, sizeof(spec)) != 0) {
		*why = xasprintf("'%s' is not ADDRESS or ADDRESS:PORT with a "
				 "numeric address (127.0.0.1:5353, "
				 "[::1]:5353)",
		    server);
		return -EINVAL;
	}
	d = xcalloc(1, sizeof(*d));
	d->ctx = ub_ctx_create();
	if (d->ctx == NULL) {
		*why = xstrdup("libunbound did not start");
		free(d);
		return -ENOMEM;
	}
	/* Queries to 127.0.0.1 are refused by default: a local resolver
	 * (systemd-resolved, a test's own server) is a fine one here. */
	rc = ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no");
	if (rc == 0)
		rc = ub_ctx_async(d->ctx, 1);
	if (rc == 0)
		rc = server != NULL ? ub_ctx_set_fwd(d->ctx, spec)
				    : ub_ctx_resolvconf(d->ctx, NULL);
	if (rc != 0) {
		*why = xasprintf("%s: %s",
		    server != NULL ? server : "/etc/resolv.conf",
		    ub_strerror(rc));
		dns_free(d);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	ub_ctx_delete(d->ctx);
	free(d);
}

static void
dns_on_result(void *arg, int err, struct ub_result *result)
{
	struct dns_query *q = arg;

	q->done = true;
	q->err = err;
	q->result = result;
}

static long long
dns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Looks up (name, type). 0 with *res (free with ub_resolve_free(); its
 * data empty for no such name or record), or -EIO with *why. */
static int
dns_query(struct dns *d, const char *name, int type, struct ub_result **res,
    char **why)
{
	struct dns_query q = { 0 };
	long long deadline = dns_now_ms() + DNS_TIMEOUT_MS, left;
	struct pollfd pfd;
	int id, rc;

	*res = NULL;
	rc = ub_resolve_async(
	    d->ctx, name, type, DNS_CLASS_IN, &q, dns_on_result, &id);
	if (rc != 0) {
		*why = xasprintf("%s", ub_strerror(rc));
		return -EIO;
	}
	while (!q.done) {
		left = deadline - dns_now_ms();
		if (left <= 0) {
			ub_cancel(d->ctx, id);
			*why = xasprintf(
			    "no answer within %d s", DNS_TIMEOUT_MS / 1000);
			return -EIO;
		}
		pfd.fd = ub_fd(d->ctx);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) > 0) {
			rc = ub_process(d->ctx);
			if (rc != 0) {
				*why = xasprintf("%s", ub_strerror(rc));
				return -EIO;
			}
		}
	}
	if (q.err != 0) {
		*why = xasprintf("%s", ub_strerror(q.err));
		return -EIO;
	}
	/* NXDOMAIN is an answer; SERVFAIL, REFUSED and the like are not. */
	if (q.result->rcode != 0 && !q.result->nxdomain) {
		*why = xasprintf("the resolver answered rcode %d%s",
		    q.result->rcode,
		    q.result->rcode == 2       ? " (SERVFAIL)"
			: q.result->rcode == 5 ? " (REFUSED)"
					       : "");
		ub_resolve_free(q.result);
		return -EIO;
	}
	*res = q.result;
	return 0;
}

int
dns_txt(struct dns *d, const char *name, char ***records, size_t *n, char **why)
{
	struct ub_result *res;
	struct buf b;
	size_t count = 0;
	int ret;

	*records = NULL;
	*n = 0;
	*why = NULL;
	ret = dns_query(d, name, DNS_TYPE_TXT, &res, why);
	if (ret != 0)
		return ret;
	while (res->havedata && res->data[count] != NULL)
		count++;
	*records = xcalloc(count + 1, sizeof(char *));
	for (size_t i = 0; i < count; i++) {
		const unsigned char *p = (const unsigned char *)res->data[i];
		size_t len = (size_t)res->len[i], at = 0;

		buf_init(&b);
		/* Character-strings: a length byte, then the bytes. A NUL
		 * inside would cut the text short: shown as '?'. */
		while (at < len) {
			size_t l = p[at++];

			if (l > len - at)
				l = len - at;
			for (size_t j = 0; j < l; j++) {
				char ch = (char)p[at + j];

				if (ch == '\0')
					ch = '?';
				buf_putc(&b, ch);
			}
			at += l;
		}
		(*records)[i] = buf_take(&b);
		if ((*records)[i] == NULL)
			(*records)[i] = xstrdup("");
	}
	*n = count;
	ub_resolve_free(res);
	return 0;
}

void
dns_strings_free(char **s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

/* A domain name in wire form (labels, uncompressed) as "a.b.example";
 * NULL if it runs past end. */
static char *
dns_wire_name(const unsigned char *p, size_t len)
{
	struct buf b;
	size_t at = 0;

	buf_init(&b);
	while (at < len && p[at] != 0) {
		size_t l = p[at++];

		if (l > 63 || l > len - at) {
			buf_fini(&b);
			return NULL;
		}
		if (b.len > 0)
			buf_putc(&b, '.');
		for (size_t j = 0; j < l; j++)
			buf_putc(&b, (char)tolower(p[at + j]));
		at += l;
	}
	if (at >= len) {
		buf_fini(&b);
		return NULL;
	}
	return b.data != NULL ? buf_take(&b) : xstrdup("");
}

int
dns_mx(
    struct dns *d, const char *name, struct dns_mx **mx, size_t *n, char **why)
{
	struct ub_result *res;
	size_t count = 0, kept = 0;
	int ret;

	*mx = NULL;
	*n = 0;
	*why = NULL;
	ret = dns_query(d, name, DNS_TYPE_MX, &res, why);
	if (ret != 0)
		return ret;
	while (res->havedata && res->data[count] != NULL)
		count++;
	*mx = xcalloc(count + 1, sizeof(**mx));
	for (size_t i = 0; i < count; i++) {
		const unsigned char *p = (const unsigned char *)res->data[i];
		size_t len = (size_t)res->len[i];
		char *host;

		if (len < 3)
			continue;
		host = dns_wire_name(p + 2, len - 2);
		if (host == NULL)
			continue;
		(*mx)[kept].pref = (p[0] << 8) | p[1];
		(*mx)[kept].host = host;
		kept++;
	}
	*n = kept;
	ub_resolve_free(res);
	return 0;
}

void
dns_mx_free(struct dns_mx *mx, size_t n)
{
	if (mx == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(mx[i].host);
	free(mx);
}

int
dns_addresses(struct dns *d, const char *name, size_t *n, char **why)
{
	static const int types[] = { DNS_TYPE_A, DNS_TYPE_AAAA };
	struct ub_result *res;
	int ret;

	*n = 0;
	*why = NULL;
	for (size_t t = 0; t < UTIL_ARRAY_LEN(types); t++) {
		ret = dns_query(d, name, types[t], &res, why);
		if (ret != 0)
			return ret;
		for (size_t i = 0; res->havedata && res->data[i] != NULL; i++)
			(*n)++;
		ub_resolve_free(res);
	}
	return 0;
}
