/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_common: what the admin subcommands share: loading the config with
 * its errors printed for a person at a terminal. It holds no subcommand.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cfg.h"
#include "cmd/cmd.h"

struct cfg *
cmd_load_config(const char *config_path)
{
	struct cfg *c;
	char *errors = NULL;

	c = cfg_load(config_path, &errors);
	if (c == NULL) {
		/* One "FILE:LINE: [section] key: problem" per line, already
		 * newline-terminated. */
		fputs(errors, stderr);
		(void)fflush(stderr);
	}
	free(errors);
	return c;
}
