/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon: the owner of the libuv loop. It loads the config and the
 * templates, opens and migrates the database, wires the jobs, the
 * sender and the signal handlers to one loop, and runs it until SIGTERM
 * (or, with --once, until the due work is done and the queue drained).
 */
#ifndef FM_DAEMON_H
#define FM_DAEMON_H

#include <stdbool.h>
#include <time.h>

struct daemon_opts {
	const char *config_path;
	bool foreground; /* -f: do not detach */
	bool once;       /* --once: run due work, drain, exit */
	bool fake_now;   /* --now given */
	time_t now;
};

/* Runs the daemon; returns the process exit status (0, 78 for a broken
 * config, 1 for a failure to start). */
int daemon_run(const struct daemon_opts *opts);

#endif
