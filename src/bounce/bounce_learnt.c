/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_learnt: the switch that holds out rules learnt from families
 * of the shared bounce corpus while the corpus test scores those
 * families (see bounce_int.h). Outside that test nothing is held out.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bounce/bounce_int.h"

/* ",postfix,exim," or "" */
static char bounce_learnt_held[512];

void
bounce_learnt_hold_out(const char *families)
{
	if (families == NULL || *families == '\0') {
		bounce_learnt_held[0] = '\0';
		return;
	}
	(void)snprintf(
	    bounce_learnt_held, sizeof(bounce_learnt_held), ",%s,", families);
}

bool
bounce_learnt(const char *families)
{
	const char *p = families;

	if (bounce_learnt_held[0] == '\0')
		return true;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char one[64];

		if (n > 0 && n + 3 <= sizeof(one)) {
			(void)snprintf(one, sizeof(one), ",%.*s,", (int)n, p);
			if (strstr(bounce_learnt_held, one) != NULL)
				return false;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}
