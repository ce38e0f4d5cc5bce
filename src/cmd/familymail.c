/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * familymail: the admin tool. A thin main(): global options, then one
 * subcommand from the table below; every subcommand lives in cmd_*.c.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util.h"

#ifndef FAMILYMAIL_CONFIG
#define FAMILYMAIL_CONFIG "/etc/familymail/familymail.conf"
#endif

static const struct {
	const char *name;
	int (*fn)(int, char **, const char *);
	const char *usage;
} commands[] = {
	{ "check-config", cmd_check_config, "check-config" },
	{ "check-dns", cmd_check_dns, "check-dns [--resolver ADDRESS[:PORT]]" },
	{ "migrate", cmd_migrate, "migrate" },
	{ "render", cmd_render,
	    "render --template FILE --data FILE.json [--partials DIR] "
	    "[--escape html|none]" },
	{ "preview", cmd_preview,
	    "preview KIND --booking ID | --subscriber ID" },
	{ "parse-bounce", cmd_parse_bounce, "parse-bounce FILE..." },
	{ "status", cmd_status, "status [--json]" },
	{ "queue", cmd_queue,
	    "queue [--state S] [--kind K] [--to ADDR] [--limit N] [--json]" },
	{ "retry", cmd_retry, "retry ID... | --failed" },
	{ "send-test", cmd_send_test,
	    "send-test KIND --to ADDR [--booking ID | --subscriber ID]" },
	{ "suppress", cmd_suppress, "suppress ADDR [--reason TEXT]" },
	{ "unsuppress", cmd_unsuppress, "unsuppress ADDR" },
	{ "bounces", cmd_bounces, "bounces [--since TIME] [--json]" },
	{ "import", cmd_import, "import subscribers FILE.csv" },
};

/* Output goes through stdio, whose write errors stick to the stream: one
 * check at the end makes a full disk or a closed pipe a failure. */
static int
familymail_flush_stdout(int status)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	fprintf(stderr, "familymail: writing the output failed: %s\n",
	    strerror(errno));
	return status != 0 ? status : 1;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: familymail [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < UTIL_ARRAY_LEN(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

int
main(int argc, char **argv)
{
	const char *config_path = FAMILYMAIL_CONFIG;
	size_t i;
	int ch;

	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	/* "+": stop at the subcommand; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("familymail %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return CMD_EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CMD_EX_USAGE;
	}
	for (i = 0; i < UTIL_ARRAY_LEN(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub = optind;

			/* Each subcommand runs getopt afresh on its argv. */
			optind = 0;
			return familymail_flush_stdout(commands[i].fn(
			    argc - sub, argv + sub, config_path));
		}
	}
	fprintf(stderr, "familymail: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return CMD_EX_USAGE;
}
