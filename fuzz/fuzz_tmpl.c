/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_tmpl: the Mustache parser and renderer on any template text.
 * Each input is compiled; a template that compiles is rendered twice,
 * HTML-escaped and raw, against a fixed context shaped like a message's
 * (objects, lists, numbers, falsey values, markup in strings). The
 * partial "self" is the template itself, so recursion is exercised; any
 * other partial name is a small fixed template.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "tmpl/tmpl.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_tmpl_context[] =
    "{\"sender\": {\"name\": \"Family Courses\","
    " \"email\": \"courses@example.org\"},"
    " \"delegate\": {\"first_name\": \"<script>alert(1)</script>\","
    " \"last_name\": \"O'Brien & \\\"Sons\\\"\", \"email\": \"a@b.example\","
    " \"organisation\": null},"
    " \"course\": {\"title\": \"Caf\\u00e9 course\", \"venue\": \"Online\","
    " \"starts\": \"Thursday 7 December 2026, 09:30\", \"notes\": \"\"},"
    " \"booking\": {\"reference\": \"FC-0042\"},"
    " \"posts\": [{\"title\": \"One\", \"url\": \"https://x.example/1\","
    " \"author\": \"A\"}, {\"title\": \"Two\", \"summary\": \"<b>hi</b>\"}],"
    " \"n\": 3, \"zero\": 0, \"pi\": 3.14, \"yes\": true, \"no\": false,"
    " \"none\": null, \"empty\": [], \"obj\": {}, \"list\": [1, 2, [3]],"
    " \"partial\": \"p\", \"self_name\": \"self\"}";

static json_t *fuzz_tmpl_ctx;
static struct tmpl *fuzz_tmpl_other;
static const struct tmpl *fuzz_tmpl_current;

static const struct tmpl *
fuzz_tmpl_get(void *arg, const char *name)
{
	if (strcmp(name, "self") == 0)
		return fuzz_tmpl_current;
	if (strcmp(name, "none") == 0)
		return NULL;
	return fuzz_tmpl_other;
}

static void
fuzz_tmpl_setup(void)
{
	static const char other[] = "[{{course.title}}{{$b}}def{{/b}}]\n";
	json_error_t jerr;

	fuzz_tmpl_ctx = json_loads(fuzz_tmpl_context, 0, &jerr);
	fuzz_tmpl_other = tmpl_compile("other", other, sizeof(other) - 1, NULL);
	if (fuzz_tmpl_ctx == NULL || fuzz_tmpl_other == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tmpl_partials partials = { fuzz_tmpl_get, NULL };
	struct tmpl_error err;
	struct tmpl *t;
	struct buf out;
	int ret;

	if (fuzz_tmpl_ctx == NULL)
		fuzz_tmpl_setup();
	memset(&err, 0, sizeof(err));
	t = tmpl_compile("fuzz", (const char *)data, size, &err);
	if (t == NULL) {
		if (err.msg[0] == '\0' || err.line < 0 || err.column < 0)
			abort();
		return 0;
	}
	fuzz_tmpl_current = t;
	buf_init(&out);
	ret = tmpl_render(t, fuzz_tmpl_ctx, &partials, TMPL_ESCAPE_HTML, &out);
	if (ret != 0 && ret != -ELOOP && ret != -EFBIG)
		abort();
	buf_reset(&out);
	ret = tmpl_render(t, fuzz_tmpl_ctx, &partials, TMPL_ESCAPE_NONE, &out);
	if (ret != 0 && ret != -ELOOP && ret != -EFBIG)
		abort();
	buf_fini(&out);
	fuzz_tmpl_current = NULL;
	tmpl_free(t);
	return 0;
}
