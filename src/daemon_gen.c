/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon_gen: see daemon_gen.h.
 */
#include "config.h"

#include "daemon_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "kind.h"
#include "log.h"
#include "send/dkimsign.h"
#include "tmpl/tmpl.h"
#include "util.h"

void
daemon_gen_free(struct daemon_gen *g)
{
	if (g == NULL)
		return;
	tmpl_set_free(g->tmpls);
	dkimsign_free(g->dkim);
	if (g->secret != NULL) {
		explicit_bzero(g->secret, strlen(g->secret));
		free(g->secret);
	}
	cfg_free(g->cfg);
	free(g);
}

struct daemon_gen *
daemon_gen_load(const char *config_path, int *exit_code)
{
	struct daemon_gen *g = xcalloc(1, sizeof(*g));
	struct tmpl_error terr;
	char *why = NULL;
	char *errors = NULL, *err = NULL;

	*exit_code = CFG_EX_CONFIG;
	g->cfg = cfg_load(config_path, &errors);
	if (g->cfg == NULL) {
		fputs(errors != NULL ? errors : "config: unknown error\n",
		    stderr);
		free(errors);
		goto fail;
	}
	g->tmpls = tmpl_set_load(g->cfg->templates, &terr);
	if (g->tmpls == NULL) {
		char msg[600];

		log_errx(
		    "templates %s", tmpl_error_format(&terr, msg, sizeof(msg)));
		goto fail;
	}
	/* A folder copied before a kind existed has no templates for it:
	 * those messages would fail one by one. */
	for (size_t i = 0; i < kind_count(); i++)
		if (!tmpl_set_has(g->tmpls, kind_at(i)->name))
			log_warnx(
			    "templates %s: no %s templates: those "
			    "messages will fail (copy its folder from the "
			    "installed templates)",
			    g->cfg->templates, kind_at(i)->name);
	if (g->cfg->secret_file != NULL &&
	    cfg_read_secret(g->cfg->secret_file, &g->secret, &why) != 0) {
		log_errx("config %s: [unsubscribe] secret_file %s: %s",
		    g->cfg->path, g->cfg->secret_file, why);
		free(why);
		goto fail;
	}
	/* A rotated key is read here, so SIGHUP brings it in. */
	if (dkimsign_load(g->cfg, &g->dkim, &err) != 0) {
		log_errx("config %s: [dkim] %s", g->cfg->path, err);
		free(err);
		goto fail;
	}
	g->env.dkim = g->dkim;
	g->env.cfg = g->cfg;
	g->env.tmpls = g->tmpls;
	g->env.secret = g->secret;
	g->env.secret_len = g->secret != NULL ? strlen(g->secret) : 0;
	*exit_code = 0;
	return g;
fail:
	daemon_gen_free(g);
	return NULL;
}
