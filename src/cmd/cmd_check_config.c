/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_check_config: `familymail -c FILE check-config`. Loads the config
 * and the template folder it names as the daemon would, and says
 * "FILE: ok" (exit 0), or prints every problem on stderr and exits 78
 * (EX_CONFIG): each config problem as "FILE:LINE: [section] key:
 * problem", a template that does not parse as "FILE:LINE:COL: problem".
 * It does not open the database or connect to any server.
 */
#include "config.h"

#include <stdio.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "kind.h"
#include "tmpl/tmpl.h"

int
cmd_check_config(int argc, char **argv, const char *config_path)
{
	struct tmpl_set *tmpls;
	struct tmpl_error err;
	char msg[600];
	struct cfg *c;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: familymail [-c FILE] check-config\n");
		return CMD_EX_USAGE;
	}
	c = cmd_load_config(config_path);
	if (c == NULL)
		return CMD_EX_CONFIG;
	tmpls = tmpl_set_load(c->templates, &err);
	if (tmpls == NULL) {
		fprintf(stderr, "%s\n%s: [daemon] templates %s: unusable\n",
		    tmpl_error_format(&err, msg, sizeof(msg)), config_path,
		    c->templates);
		cfg_free(c);
		return CMD_EX_CONFIG;
	}
	for (size_t i = 0; i < kind_count(); i++)
		if (!tmpl_set_has(tmpls, kind_at(i)->name))
			fprintf(stderr,
			    "%s: warning: [daemon] templates %s has no %s "
			    "templates: those messages will fail\n",
			    config_path, c->templates, kind_at(i)->name);
	printf("%s: ok (%zu message kind%s in %s)\n", config_path,
	    tmpl_set_count(tmpls), tmpl_set_count(tmpls) == 1 ? "" : "s",
	    c->templates);
	tmpl_set_free(tmpls);
	cfg_free(c);
	return 0;
}
