/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_parse_bounce: `familymail parse-bounce FILE...`, the bounce parser
 * the daemon uses, run on files: one JSON line per (file, recipient) on
 * stdout, for administrators who want to know what a bounce says and for
 * comparing the parser with others. Beside the keys DESIGN names, each
 * line says which SMTP command the refusal answered ("command") and
 * whether it is about the sender ("sender_side"); a report cut at
 * BOUNCE_MAX_RCPTS recipients says how many it left out ("dropped",
 * and a warning on stderr). It needs no config and touches no
 * database.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bounce/bounce.h"
#include "cmd/cmd.h"
#include "util.h"

/* A JSON string, null for NULL; bytes that are not UTF-8 become '?'
 * (file names may be anything). */
static json_t *
cmd_parse_bounce_str(const char *s)
{
	json_t *j;
	char *copy;
	size_t i;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	if (j != NULL)
		return j;
	copy = xstrdup(s);
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j != NULL ? j : json_null();
}

static void
cmd_parse_bounce_line(const char *file, const struct bounce_report *r,
    const struct bounce_rcpt *rc)
{
	json_t *o = json_object();
	const char *cls = rc != NULL ? bounce_class_name(rc->cls) : NULL;

	json_object_set_new(o, "file", cmd_parse_bounce_str(file));
	json_object_set_new(o, "recipient",
	    cmd_parse_bounce_str(rc != NULL ? rc->recipient : NULL));
	json_object_set_new(
	    o, "status", cmd_parse_bounce_str(rc != NULL ? rc->status : NULL));
	json_object_set_new(
	    o, "action", cmd_parse_bounce_str(rc != NULL ? rc->action : NULL));
	json_object_set_new(o, "class", cmd_parse_bounce_str(cls));
	json_object_set_new(
	    o, "reason", cmd_parse_bounce_str(rc != NULL ? rc->reason : NULL));
	json_object_set_new(
	    o, "kind", cmd_parse_bounce_str(bounce_kind_name(r->kind)));
	json_object_set_new(o, "diagnostic",
	    cmd_parse_bounce_str(rc != NULL ? rc->diagnostic : NULL));
	json_object_set_new(o, "command",
	    cmd_parse_bounce_str(
		rc != NULL ? bounce_command_name(rc->command) : NULL));
	json_object_set_new(o, "sender_side",
	    json_boolean(rc != NULL && rc->sender_side));
	if (r->n_dropped > 0)
		json_object_set_new(
		    o, "dropped", json_integer((json_int_t)r->n_dropped));
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(o);
}

/* Parses one file and prints its lines; 0 or a negative errno. */
static int
cmd_parse_bounce_file(const char *path)
{
	struct bounce_report *r = NULL;
	struct buf b;
	size_t i;
	int ret;

	buf_init(&b);
	ret = util_read_file(path, BOUNCE_MAX_SIZE, &b);
	if (ret == -EFBIG)
		ret = -EMSGSIZE;
	if (ret == 0)
		ret = bounce_parse(b.data, b.len, &r);
	buf_fini(&b);
	if (ret != 0) {
		fprintf(stderr, "familymail: parse-bounce: %s: %s\n", path,
		    ret == -EINVAL ? "not a mail message" : strerror(-ret));
		return ret;
	}
	if (r->n_dropped > 0)
		fprintf(stderr,
		    "familymail: parse-bounce: %s: the report names %zu "
		    "recipients more than the %d read; they are left out "
		    "(\"dropped\" in its lines)\n",
		    path, r->n_dropped, BOUNCE_MAX_RCPTS);
	if (r->n_rcpts == 0)
		cmd_parse_bounce_line(path, r, NULL);
	for (i = 0; i < r->n_rcpts; i++)
		cmd_parse_bounce_line(path, r, &r->rcpts[i]);
	bounce_report_free(r);
	return 0;
}

int
cmd_parse_bounce(int argc, char **argv, const char *config_path)
{
	int i, first = 1, failed = 0;

	(void)config_path;
	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	if (argc <= first) {
		fprintf(stderr, "usage: familymail parse-bounce FILE...\n");
		return CMD_EX_USAGE;
	}
	for (i = first; i < argc; i++)
		if (cmd_parse_bounce_file(argv[i]) != 0)
			failed++;
	if (fflush(stdout) != 0) {
		perror("familymail: parse-bounce: stdout");
		return 1;
	}
	return failed > 0 ? 1 : 0;
}
