/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_client: see http_client.h. The bucket table is open addressing
 * over a few probes: a client's slot is found by a hash of its key, and
 * a new client takes the least recently seen of the probed slots.
 */
#include "config.h"

#include "http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_value.h"
#include "log.h"
#include "util.h"

#define HTTP_CLIENT_SLOTS 256
#define HTTP_CLIENT_PROBE 8

struct http_client_slot {
	char key[HTTP_CLIENT_MAX];
	double tokens;
	uint64_t last_ms;
};

struct http_client {
	struct cfg_value_net proxies[CFG_VALUE_NETS_MAX];
	size_t n_proxies;
	struct http_client_slot slots[HTTP_CLIENT_SLOTS];
};

struct http_client *
http_client_new(void)
{
	return xcalloc(1, sizeof(struct http_client));
}

void
http_client_free(struct http_client *cl)
{
	free(cl);
}

int
http_client_set_proxies(struct http_client *cl, const char *list)
{
	struct cfg_value_net nets[CFG_VALUE_NETS_MAX];
	char *why = NULL;
	size_t n = 0;

	if (list != NULL &&
	    cfg_value_parse_nets(list, nets, CFG_VALUE_NETS_MAX, &n, &why) !=
		0) {
		log_warnx("http trusted proxies '%s': %s", list, why);
		free(why);
		return -EINVAL;
	}
	memcpy(cl->proxies, nets, n * sizeof(nets[0]));
	cl->n_proxies = n;
	return 0;
}

bool
http_client_is_proxy(const struct http_client *cl, const char *addr)
{
	unsigned char a[16];

	return cl->n_proxies > 0 && cfg_value_parse_addr(addr, a) == 0 &&
	    cfg_value_nets_match(cl->proxies, cl->n_proxies, a);
}

void
http_client_key(const char *addr, char *out, size_t size)
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	(void)snprintf(out, size, "%s", addr);
	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, &a6) != 1 ||
	    IN6_IS_ADDR_V4MAPPED(&a6))
		return;
	memset(a6.s6_addr + 8, 0, 8);
	if (inet_ntop(AF_INET6, &a6, text, sizeof(text)) != NULL)
		(void)snprintf(out, size, "%s/64", text);
}

void
http_client_pick(const struct http_client *cl, const char *peer,
    const char *peer_key, const char *xff, size_t xff_len, char *out,
    size_t size)
{
	const char *end = xff + xff_len;
	char entry[HTTP_CLIENT_MAX];
	unsigned char a[16];
	size_t n;

	(void)snprintf(out, size, "%s", peer_key);
	if (xff_len == 0 || !http_client_is_proxy(cl, peer))
		return;
	while (end > xff) {
		const char *start = end;

		while (start > xff && start[-1] != ',')
			start--;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		n = (size_t)(end - start);
		while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(entry))
			return;
		memcpy(entry, start, n);
		entry[n] = '\0';
		if (cfg_value_parse_addr(entry, a) != 0)
			return;
		http_client_key(entry, out, size);
		if (!cfg_value_nets_match(cl->proxies, cl->n_proxies, a))
			return;
		/* A proxy: the entry before it is further out. */
		end = start;
		while (end > xff && end[-1] != ',')
			end--;
		if (end > xff)
			end--;
	}
}

static uint64_t
http_client_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The bucket of key, refilled for the time since it was last seen. */
static struct http_client_slot *
http_client_slot(struct http_client *cl, const char *key, uint64_t now)
{
	uint64_t h = http_client_hash(key);
	struct http_client_slot *slot = NULL, *oldest = NULL;
	size_t i;

	for (i = 0; i < HTTP_CLIENT_PROBE; i++) {
		struct http_client_slot *r =
		    &cl->slots[(h + i) % HTTP_CLIENT_SLOTS];

		if (strcmp(r->key, key) == 0) {
			slot = r;
			break;
		}
		if (oldest == NULL || r->last_ms < oldest->last_ms)
			oldest = r;
	}
	if (slot == NULL) {
		slot = oldest;
		(void)snprintf(slot->key, sizeof(slot->key), "%s", key);
		slot->tokens = HTTP_CLIENT_BURST;
		slot->last_ms = now;
	}
	slot->tokens +=
	    (double)(now - slot->last_ms) / 1000.0 * HTTP_CLIENT_PER_SEC;
	if (slot->tokens > HTTP_CLIENT_BURST)
		slot->tokens = HTTP_CLIENT_BURST;
	slot->last_ms = now;
	return slot;
}

/* The answers that count against a client: it asked for something that
 * is not there or sent something we cannot read. A conflict (409) or a
 * failure of ours (5xx) is not the client's doing. */
static bool
http_client_is_failure(int status)
{
	switch (status) {
	case 400:
	case 401:
	case 403:
	case 404:
	case 405:
	case 408:
	case 413:
	case 414:
	case 431:
		return true;
	}
	return false;
}

int
http_client_judge(
    struct http_client *cl, const char *client, int status, uint64_t now_ms)
{
	struct http_client_slot *slot;

	if (!http_client_is_failure(status))
		return status;
	slot = http_client_slot(cl, client, now_ms);
	if (slot->tokens < 1.0)
		return 429;
	slot->tokens -= 1.0;
	return status;
}
