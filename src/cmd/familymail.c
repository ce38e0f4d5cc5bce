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
#include "kind.h"
#include "util.h"

#ifndef FAMILYMAIL_CONFIG
#define FAMILYMAIL_CONFIG "/etc/familymail/familymail.conf"
#endif

/* Every command with its synopsis, what it is for, and one line for
 * each option: `familymail -h` lists the commands, `familymail COMMAND
 * -h` shows one of them. */
static const struct {
	const char *name;
	int (*fn)(int, char **, const char *);
	const char *usage;
	const char *summary;
	const char *options; /* "OPTION\tdescription" lines, or NULL */
} commands[] = {
	{ "check-config", cmd_check_config, "check-config",
	    "check the config and the templates; exit 0 or 78", NULL },
	{ "check-dns", cmd_check_dns, "check-dns [--resolver ADDRESS[:PORT]]",
	    "check SPF, DKIM, DMARC alignment and the bounce domain's MX "
	    "in the DNS; exit 0 or 1",
	    "--resolver ADDRESS[:PORT]\tthe DNS resolver to ask (default: "
	    "the system's)\n" },
	{ "migrate", cmd_migrate, "migrate",
	    "create the database or bring its schema up to date", NULL },
	{ "status", cmd_status, "status [--json]",
	    "the queue, each job's last and next run, recent failures and "
	    "bounces",
	    "--json\tone JSON object instead of tables\n" },
	{ "queue", cmd_queue,
	    "queue [--state S] [--kind K] [--to ADDR] [--booking REF] "
	    "[--limit N] [--json]",
	    "what was sent to whom and when, with the relay's reply",
	    "--state S\tonly messages in state S: queued, sending, sent, "
	    "failed, suppressed, cancelled\n"
	    "--kind K\tonly messages of kind K (listed below)\n"
	    "--to ADDR\tonly messages to ADDR\n"
	    "--booking REF\tonly messages about booking REF (its reference "
	    "or id)\n"
	    "--limit N\tat most N messages, newest first (default 50; 0: "
	    "all)\n"
	    "--json\ta JSON array with every column\n" },
	{ "history", cmd_history, "history ADDRESS|REFERENCE [--json]",
	    "everything that happened to an address or a booking, oldest "
	    "first",
	    "ADDRESS\tan email address: its messages, bounces, unsubscribes, "
	    "suppressions\n"
	    "REFERENCE\ta booking's reference (or id): its messages and its "
	    "address's suppressions\n"
	    "--json\tone JSON object a line: at, event, kind, address, "
	    "booking, source, detail\n" },
	{ "rehearse", cmd_rehearse,
	    "rehearse --until TIME [--from TIME] [--maildir DIR]",
	    "what the daemon would send until TIME, worked out on a private "
	    "copy of the database",
	    "--until TIME\tthe end of the rehearsal: 2026-12-07T09:30:00Z, "
	    "2026-12-07 or 7d from now\n"
	    "--from TIME\tits start (default: now), in the same forms\n"
	    "--maildir DIR\talso write each message into the Maildir DIR\n" },
	{ "resend", cmd_resend, "resend --booking REF [--kind KIND]",
	    "send a booking's mail again, as a new message (recorded)",
	    "--booking REF\tthe booking, by its reference (or id)\n"
	    "--kind KIND\tthe message to send again (default: the "
	    "confirmation, or the cancellation of a cancelled booking)\n"
	    "\t(the kinds about a booking are listed below)\n" },
	{ "retry", cmd_retry, "retry ID... | --failed",
	    "put failed (or, by id, suppressed) messages back in the queue",
	    "ID\ta message id, as queue shows it\n"
	    "--failed\tevery failed message\n" },
	{ "preview", cmd_preview,
	    "preview KIND --booking REF | --subscriber ID [--offset O] "
	    "[--period P]",
	    "the whole MIME message that would be sent, to stdout",
	    "KIND\tthe kind of message (the kinds are listed below)\n"
	    "--booking REF\tthe booking (reference or id), for booking_* "
	    "and course_*\n"
	    "--subscriber ID\tthe subscriber, for blog_digest and "
	    "subscription_confirm\n"
	    "--offset O\tthe reminder of course_reminder (default: the first "
	    "of [reminders] offsets)\n"
	    "--period P\tthe digest of blog_digest, weekly:2026-W48 or "
	    "monthly:2026-11 (default: the next one)\n" },
	{ "render", cmd_render,
	    "render --template FILE --data FILE.json [--partials DIR] "
	    "[--escape html|none]",
	    "render one template with JSON data (for template authors)",
	    "--template FILE\tthe Mustache template\n"
	    "--data FILE.json\tthe context, a JSON object\n"
	    "--partials DIR\twhere {{> name}} finds DIR/name.mustache\n"
	    "--escape html|none\thow {{x}} is escaped (default: html)\n" },
	{ "send-test", cmd_send_test,
	    "send-test KIND --to ADDR [--booking REF | --subscriber ID]",
	    "a real message built from real data, delivered to ADDR now",
	    "KIND\tthe kind of message (listed below)\n"
	    "--to ADDR\twhere it goes instead of the record's address\n"
	    "--booking REF\tthe booking it is built from (default: the "
	    "first)\n"
	    "--subscriber ID\tthe subscriber it is built from (default: "
	    "the first)\n" },
	{ "suppress", cmd_suppress, "suppress ADDR [--reason TEXT]",
	    "never mail ADDR again (a manual suppression)",
	    "--reason TEXT\ta note kept with it (one line)\n" },
	{ "unsuppress", cmd_unsuppress, "unsuppress ADDR",
	    "take ADDR off the suppression list, and say why it was on it",
	    NULL },
	{ "bounces", cmd_bounces,
	    "bounces [--since TIME] [--to ADDR] [--limit N] [--json]",
	    "the bounces processed, newest first",
	    "--since TIME\tonly since TIME: 2026-11-01, "
	    "2026-11-01T09:00:00Z, or 7d back\n"
	    "--to ADDR\tonly ADDR's bounces, then its suppression\n"
	    "--limit N\tat most N (default 50; 0: all)\n"
	    "--json\ta JSON array\n" },
	{ "import", cmd_import, "import subscribers FILE.csv",
	    "load subscribers from CSV (columns email, name, frequency, "
	    "status)",
	    NULL },
	{ "export", cmd_export, "export ADDRESS",
	    "all familymail holds about ADDRESS, as JSON (a subject access "
	    "request)",
	    NULL },
	{ "erase", cmd_erase, "erase ADDRESS",
	    "forget ADDRESS, keeping only a keyed hash so it is never mailed "
	    "again",
	    NULL },
	{ "parse-bounce", cmd_parse_bounce, "parse-bounce FILE...",
	    "classify bounce messages as the daemon does, one JSON line each",
	    NULL },
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
familymail_usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: familymail [-c FILE] COMMAND [ARGS]\n\n"
	    "  -c, --config FILE  the config (default %s)\n"
	    "  -h, --help         this help; familymail COMMAND -h: a "
	    "command's options\n"
	    "  -V, --version      the version\n\ncommands:\n",
	    FAMILYMAIL_CONFIG);
	for (i = 0; i < UTIL_ARRAY_LEN(commands); i++)
		fprintf(
		    f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
	    "\nfamilymail(1) says more, with the common questions and "
	    "their commands.\n");
}

/* `familymail COMMAND -h`: the synopsis, then each option on a line. */
static void
familymail_usage_command(size_t i)
{
	const char *p = commands[i].options, *tab, *nl;

	printf("usage: familymail [-c FILE] %s\n\n%s\n", commands[i].usage,
	    commands[i].summary);
	if (p != NULL)
		putchar('\n');
	while (p != NULL && *p != '\0') {
		tab = strchr(p, '\t');
		nl = strchr(p, '\n');
		if (tab == NULL || nl == NULL || tab > nl)
			break;
		printf("  %-20.*s %.*s\n", (int)(tab - p), p,
		    (int)(nl - tab - 1), tab + 1);
		p = nl + 1;
	}
	if (commands[i].options != NULL &&
	    strstr(commands[i].options, "listed below") != NULL) {
		printf("\nkinds:\n");
		for (size_t k = 0; k < kind_count(); k++)
			printf("  %-20s %s\n", kind_at(k)->name,
			    kind_at(k)->summary);
	}
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
			familymail_usage(stdout);
			return 0;
		case 'V':
			printf("familymail %s\n", PACKAGE_VERSION);
			return 0;
		default:
			familymail_usage(stderr);
			return CMD_EX_USAGE;
		}
	}
	if (optind >= argc) {
		familymail_usage(stderr);
		return CMD_EX_USAGE;
	}
	for (i = 0; i < UTIL_ARRAY_LEN(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub = optind;

			if (sub + 1 < argc &&
			    (strcmp(argv[sub + 1], "-h") == 0 ||
				strcmp(argv[sub + 1], "--help") == 0)) {
				familymail_usage_command(i);
				return familymail_flush_stdout(0);
			}
			/* Each subcommand runs getopt afresh on its argv. */
			optind = 0;
			return familymail_flush_stdout(commands[i].fn(
			    argc - sub, argv + sub, config_path));
		}
	}
	fprintf(stderr,
	    "familymail: unknown command '%s'; the commands:", argv[optind]);
	for (i = 0; i < UTIL_ARRAY_LEN(commands); i++)
		fprintf(stderr, "%s %s", i > 0 ? "," : "", commands[i].name);
	fprintf(stderr, " (familymail -h says what each does)\n");
	return CMD_EX_USAGE;
}
