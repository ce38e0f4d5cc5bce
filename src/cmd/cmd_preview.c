/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_preview: `familymail preview KIND --booking ID | --subscriber ID`
 * prints the whole MIME message that would be sent, from the same code
 * the daemon uses, without queueing or sending anything.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "send/compose.h"
#include "send/dkimsign.h"
#include "send/transport.h"
#include "tmpl/tmpl.h"
#include "util.h"

static int
cmd_preview_usage(void)
{
	fprintf(stderr,
	    "usage: familymail preview KIND --booking ID | --subscriber ID\n"
	    "         [--offset 7d]               (course_reminder)\n"
	    "         [--period weekly:2026-W48]  (blog_digest)\n");
	return CMD_EX_USAGE;
}

int
cmd_preview(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "booking", required_argument, NULL, 'b' },
		{ "subscriber", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'o' },
		{ "period", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct outbox_item it = { .verp_token = (char *)"preview" };
	struct compose_env env = { .preview = true };
	struct transport_msg *m = NULL;
	struct dkimsign *dkim = NULL;
	struct tmpl_set *tmpls = NULL;
	struct tmpl_error terr;
	struct cfg *cfg = NULL;
	sqlite3 *db = NULL;
	char *why = NULL, *secret = NULL;
	const char *secret_why;
	long id;
	int ch, ret, code = 1;

	while ((ch = getopt_long(argc, argv, "b:s:o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
		case 's':
			if (util_parse_long(optarg, 1, INT64_MAX, &id) != 0) {
				fprintf(stderr,
				    "familymail: preview: '%s' is "
				    "not a record id\n",
				    optarg);
				return CMD_EX_USAGE;
			}
			if (ch == 'b')
				it.booking_id = id;
			else
				it.subscriber_id = id;
			break;
		case 'o':
			it.detail = optarg;
			break;
		default:
			return cmd_preview_usage();
		}
	}
	if (optind + 1 != argc ||
	    (it.booking_id == 0) == (it.subscriber_id == 0))
		return cmd_preview_usage();
	it.kind = argv[optind];
	if (!compose_kind_known(it.kind)) {
		fprintf(stderr, "familymail: preview: unknown kind '%s'\n",
		    it.kind);
		return CMD_EX_USAGE;
	}
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	clock_set_timezone(cfg->timezone);
	if (it.detail == NULL && strcmp(it.kind, "course_reminder") == 0)
		it.detail = cfg->n_offsets > 0 ? cfg->offsets[0].text : "1d";
	tmpls = tmpl_set_load(cfg->templates, &terr);
	if (tmpls == NULL) {
		fprintf(stderr, "%s:%d:%d: %s\n", terr.file, terr.line,
		    terr.column, terr.msg);
		code = CMD_EX_CONFIG;
		goto out;
	}
	if (db_open(cfg->database, false, &db) != 0 ||
	    migrate_version(db) != migrate_latest()) {
		fprintf(stderr,
		    "familymail: database %s is missing or not migrated\n",
		    cfg->database);
		goto out;
	}
	/* With the secret the preview shows the real links and List-*
	 * headers; without it they are left out, and said so. */
	if (cfg->secret_file != NULL &&
	    cfg_read_secret(cfg->secret_file, &secret, &secret_why) != 0)
		fprintf(stderr,
		    "familymail: preview: %s: %s; showing the message "
		    "without unsubscribe links\n",
		    cfg->secret_file, secret_why);
	env.db = db;
	env.cfg = cfg;
	env.tmpls = tmpls;
	env.secret = secret;
	env.secret_len = secret != NULL ? strlen(secret) : 0;
	m = transport_msg_new();
	/* The recipient is whoever the record names now. */
	{
		json_t *ctx = compose_context(&env, it.kind, it.booking_id,
		    it.subscriber_id, it.detail, &why);
		const char *email = NULL;

		if (ctx == NULL) {
			fprintf(stderr, "familymail: preview: %s\n", why);
			code = CMD_EX_DATAERR;
			goto out;
		}
		json_unpack(ctx, "{s?{s?s},s?{s?s}}", "delegate", "email",
		    &email, "subscriber", "email", &email);
		it.recipient = xstrdup(email != NULL ? email : "");
		json_decref(ctx);
	}
	/* Signed as the daemon signs, so the message shows what is sent. */
	if (dkimsign_load(cfg, &dkim, &why) != 0) {
		fprintf(stderr, "familymail: preview: %s\n", why);
		code = CMD_EX_CONFIG;
		goto out;
	}
	env.dkim = dkim;
	ret = compose_message(&env, &it, clock_now(), m, &why);
	free(it.recipient);
	if (ret != 0) {
		fprintf(stderr, "familymail: preview: %s\n",
		    why != NULL ? why : "failed");
		code = CMD_EX_DATAERR;
		goto out;
	}
	/* A failed write shows when main() flushes stdout. */
	(void)fwrite(m->data.data, 1, m->data.len, stdout);
	code = 0;
out:
	if (secret != NULL) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	free(why);
	transport_msg_free(m);
	dkimsign_free(dkim);
	tmpl_set_free(tmpls);
	db_close(db);
	cfg_free(cfg);
	return code;
}
