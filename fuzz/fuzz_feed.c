/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_feed: the RSS/Atom parser on any document a blog (or whoever
 * answers at its address) may serve, and the RFC 822 date reader on any
 * text. Every item that comes back has its title, link and date, as
 * feed_parse() promises; nothing is stored.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed *f = NULL;
	char *why = NULL, *text;
	time_t t;
	int ret;

	ret = feed_parse((const char *)data, size, &f, &why);
	if (ret == 0) {
		if (f == NULL || f->n > FEED_MAX_ITEMS)
			abort();
		for (size_t i = 0; i < f->n; i++)
			if (f->items[i].title == NULL ||
			    f->items[i].url == NULL)
				abort();
		feed_free(f);
	} else if (why == NULL) {
		abort();
	}
	free(why);
	if (size < 256) {
		text = xstrndup((const char *)data, size);
		(void)feed_parse_rfc822(text, &t);
		free(text);
	}
	return 0;
}
