/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_check_config: `familymail -c FILE check-config`. Loads the config
 * as the daemon would and says "FILE: ok" (exit 0), or prints every
 * problem on stderr and exits 78 (EX_CONFIG). It checks the config file
 * and the files it names; it does not parse the templates or connect to
 * any server.
 */
#include "config.h"

#include <stdio.h>

#include "cfg.h"
#include "cmd.h"

int
cmd_check_config(int argc, char **argv, const char *config_path)
{
	struct cfg *c;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: familymail [-c FILE] check-config\n");
		return CMD_EX_USAGE;
	}
	c = cmd_load_config(config_path);
	if (c == NULL)
		return CMD_EX_CONFIG;
	printf("%s: ok\n", config_path);
	cfg_free(c);
	return 0;
}
