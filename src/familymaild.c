/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * familymaild: the daemon's main(). It parses the command line and hands
 * over to daemon_run(); everything else is in the library.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>
#ifdef HAVE_TCMALLOC
#include <gperftools/tcmalloc.h>
#endif

#include "cfg.h"
#include "clock.h"
#include "daemon.h"

#ifndef FAMILYMAIL_CONFIG
#define FAMILYMAIL_CONFIG "/etc/familymail/familymail.conf"
#endif

/* --version: ours, and the malloc the daemon was linked with (the
 * call also keeps tcmalloc linked where the linker drops libraries no
 * symbol is taken from). */
static void
familymaild_version(void)
{
	printf("familymaild %s\n", PACKAGE_VERSION);
#ifdef HAVE_TCMALLOC
	/* tcmalloc's malloc is an alias of tc_malloc: the same function
	 * when it is the one in use. */
	if ((void (*)(void))malloc == (void (*)(void))tc_malloc) {
		printf("malloc: tcmalloc (%s)\n", tc_version(NULL, NULL, NULL));
		return;
	}
#endif
	printf("malloc: the C library's\n");
}

static void
familymaild_usage(FILE *f)
{
	fprintf(f,
	    "usage: familymaild [-c FILE] [-f] [--once] [--now TIME]\n"
	    "  -c, --config FILE  config file (default %s)\n"
	    "  -f, --foreground   do not detach\n"
	    "      --once         run all due work, drain the queue, "
	    "exit\n"
	    "      --now TIME     pretend the clock reads TIME "
	    "(ISO-8601), for tests:\n"
	    "                     it acts on the real database (to see what "
	    "would be\n"
	    "                     sent: familymail rehearse)\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      the version\n",
	    FAMILYMAIL_CONFIG);
}

int
main(int argc, char **argv)
{
	struct daemon_opts opts = { .config_path = FAMILYMAIL_CONFIG };
	int ch, code;

	enum {
		OPT_ONCE = 256,
		OPT_NOW
	};
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "c:fhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'f':
			opts.foreground = true;
			break;
		case OPT_ONCE:
			opts.once = true;
			break;
		case OPT_NOW:
			if (clock_parse_iso(optarg, &opts.now) != 0) {
				fprintf(stderr,
				    "familymaild: --now: '%s' is not an "
				    "ISO-8601 time (2026-12-07T09:30:00Z)\n",
				    optarg);
				return 64;
			}
			opts.fake_now = true;
			break;
		case 'h':
			familymaild_usage(stdout);
			return 0;
		case 'V':
			familymaild_version();
			return 0;
		default:
			familymaild_usage(stderr);
			return 64;
		}
	}
	if (optind != argc) {
		familymaild_usage(stderr);
		return 64;
	}
	code = daemon_run(&opts);
	/* Joins libuv's worker threads while OpenSSL is still set up, so
	 * that the per-thread state they made signing tokens is freed by
	 * their exit, not lost when OpenSSL's exit handler runs first. */
	uv_library_shutdown();
	return code;
}
