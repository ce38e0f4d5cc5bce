/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_bounce: bounce_parse() on whole messages, as anyone on the
 * internet can send them to the bounce mailbox. Beyond not crashing, the
 * report must keep its promises: no CR or LF in any string, a reason for
 * every recipient, a class only for bounces.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/bounce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_bounce_check_str(const char *s)
{
	if (s != NULL && strpbrk(s, "\r\n") != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounce_report *r = NULL;
	int ret;

	ret = bounce_parse((const char *)data, size, &r);
	if (ret != 0) {
		if (r != NULL || (ret != -EINVAL && ret != -EMSGSIZE))
			abort();
		return 0;
	}
	if (r == NULL || (r->n_rcpts > 0 && r->rcpts == NULL))
		abort();
	if (bounce_kind_name(r->kind) == NULL)
		abort();
	fuzz_bounce_check_str(r->verp_token);
	fuzz_bounce_check_str(r->orig_message_id);
	fuzz_bounce_check_str(r->feedback_type);
	for (size_t i = 0; i < r->n_rcpts; i++) {
		const struct bounce_rcpt *p = &r->rcpts[i];

		if (p->reason == NULL)
			abort();
		fuzz_bounce_check_str(p->recipient);
		fuzz_bounce_check_str(p->status);
		fuzz_bounce_check_str(p->action);
		fuzz_bounce_check_str(p->diagnostic);
		fuzz_bounce_check_str(p->remote_mta);
		if (p->cls != BOUNCE_CLASS_NONE &&
		    r->kind != BOUNCE_KIND_BOUNCE)
			abort();
	}
	bounce_report_free(r);
	return 0;
}
