/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon_gen: a generation of the daemon's configuration: one loaded
 * config with its templates, token secret and DKIM keys, and the
 * compose environment built from them. SIGHUP loads a new generation
 * beside the running one and the daemon swaps only when all of it
 * loaded; the old one is freed once its sender has stopped and no
 * worker reads it. It starts nothing: daemon.c gives each generation
 * its sender.
 */
#ifndef FM_DAEMON_GEN_H
#define FM_DAEMON_GEN_H

#include "send/compose.h"

struct cfg;
struct daemon;
struct dkimsign;
struct sender;
struct tmpl_set;

struct daemon_gen {
	struct cfg *cfg;
	struct tmpl_set *tmpls;
	char *secret; /* the token secret, or NULL */
	struct dkimsign *dkim;
	struct compose_env env; /* on these; env.db is the daemon's */
	struct sender *sender;  /* daemon.c's */
	struct daemon *d;       /* daemon.c's */
};

/*
 * Loads the config at config_path, its templates, the token secret and
 * the DKIM keys (a rotated key is read here, so SIGHUP brings it in).
 * Returns the generation, or NULL with every problem reported (on
 * stderr for the config, else logged) and *exit_code the status to exit
 * with at start (CFG_EX_CONFIG).
 */
struct daemon_gen *daemon_gen_load(const char *config_path, int *exit_code);

/* Frees g, wiping its secret; its sender must be gone. NULL does
 * nothing. */
void daemon_gen_free(struct daemon_gen *g);

#endif
