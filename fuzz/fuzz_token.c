/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_token: the signed link tokens arrive in URLs from anyone. Feeds
 * the input as a token to token_subscriber_id() and token_verify(), and
 * as a bounce address to verp_parse(). A token must never verify unless
 * it is the one token_make() writes for that subscriber.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "token.h"
#include "util.h"
#include "verp.h"

static const char fuzz_secret[] = "fuzzing secret, not a real one";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char verp[VERP_TOKEN_MAX + 1];
	char *text = xstrndup((const char *)data, size);
	int64_t id = 0;
	struct buf good;
	bool ok;

	if (token_subscriber_id(text, &id) == 0) {
		ok = token_verify(fuzz_secret, sizeof(fuzz_secret) - 1,
		    "unsubscribe", id, "parent@example.org", text);
		buf_init(&good);
		if (id >= 1 &&
		    token_make(fuzz_secret, sizeof(fuzz_secret) - 1,
			"unsubscribe", id, "parent@example.org", &good) == 0 &&
		    ok != (strcmp(good.data, text) == 0))
			abort();
		buf_fini(&good);
	} else if (token_verify(fuzz_secret, sizeof(fuzz_secret) - 1,
		       "unsubscribe", 1, "parent@example.org", text)) {
		/* A token whose id cannot be read verified. */
		abort();
	}
	if (verp_parse(text, verp, sizeof(verp)) == 0 &&
	    strlen(verp) > VERP_TOKEN_MAX)
		abort();
	free(text);
	return 0;
}
