/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_render(int argc, char **argv, const char *config_path)
{
	(void)argc;
	(void)config_path;
	fprintf(stderr, "familymail: %s: not available yet\n", argv[0]);
	return CMD_EX_SOFTWARE;
}
