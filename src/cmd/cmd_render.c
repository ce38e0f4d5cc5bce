/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_render: `familymail render --template FILE --data FILE.json
 * [--partials DIR] [--escape html|none]`, the engine the daemon uses, run
 * on one template for template authors: the output goes to stdout, and
 * every problem to stderr as "FILE:LINE:COL: message". A partial or
 * parent {{> name}} is DIR/name.mustache; every file of DIR is compiled
 * first, and a name the template uses that DIR lacks is an error (as it
 * is when the daemon loads its templates). It needs no config and
 * touches no database.
 *
 * Exit status: 0, 64 bad arguments, 65 a template or data file that does
 * not parse, a missing partial or a render that fails, 66 a file or
 * folder that cannot be read, 1 stdout cannot be written.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cmd/cmd.h"
#include "tmpl/tmpl.h"
#include "util.h"

/* The largest data file read, as a guard against a wrong path. */
#define CMD_RENDER_MAX_DATA (64 * 1024 * 1024)

static void
cmd_render_usage(void)
{
	fprintf(stderr,
	    "usage: familymail render --template FILE --data FILE.json "
	    "[--partials DIR] [--escape html|none]\n"
	    "  {{> name}} and {{< name}} read DIR/name.mustache.\n"
	    "  --escape defaults to html when FILE ends in \"html.mustache\" "
	    "or \".html\",\n"
	    "  and to none otherwise (subjects and text parts).\n");
}

static bool
cmd_render_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Prints a tmpl error; returns the exit status it calls for. */
static int
cmd_render_tmpl_error(const struct tmpl_error *err)
{
	char msg[sizeof(err->file) + sizeof(err->msg) + 32];

	fprintf(stderr, "%s\n", tmpl_error_format(err, msg, sizeof(msg)));
	/* Line 0: about a file or folder as a whole, which could not be
	 * read. */
	return err->line == 0 ? CMD_EX_NOINPUT : CMD_EX_DATAERR;
}

/* Reads into b what --template or --data names; prints why not and
 * returns the exit status for it. */
static int
cmd_render_read(const char *path, size_t max, struct buf *b)
{
	int ret = util_read_file(path, max, b);

	if (ret == 0)
		return 0;
	if (ret == -EFBIG) {
		fprintf(stderr, "%s: larger than %zu bytes\n", path, max);
		return CMD_EX_DATAERR;
	}
	fprintf(stderr, "%s: %s\n", path, strerror(-ret));
	return CMD_EX_NOINPUT;
}

/* Reads and parses the data file; NULL after printing why, with *status
 * set. */
static json_t *
cmd_render_data(const char *path, int *status)
{
	json_error_t jerr;
	struct buf b;
	json_t *data;

	buf_init(&b);
	*status = cmd_render_read(path, CMD_RENDER_MAX_DATA, &b);
	if (*status != 0) {
		buf_fini(&b);
		return NULL;
	}
	data = json_loadb(b.data != NULL ? b.data : "", b.len,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	buf_fini(&b);
	if (data == NULL) {
		/* jansson counts the column of an end of file from 0. */
		fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line,
		    jerr.column > 0 ? jerr.column : 1, jerr.text);
		*status = CMD_EX_DATAERR;
	}
	return data;
}

int
cmd_render(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "template", required_argument, NULL, 't' },
		{ "data", required_argument, NULL, 'd' },
		{ "partials", required_argument, NULL, 'p' },
		{ "escape", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tpath = NULL, *dpath = NULL, *pdir = NULL, *escape = NULL;
	struct tmpl_set *partials = NULL;
	struct tmpl *t = NULL;
	struct tmpl_error err;
	enum tmpl_escape esc;
	json_t *data = NULL;
	struct buf out;
	int ch, ret, status = 0;

	(void)config_path;
	while (
	    (ch = getopt_long(argc, argv, "t:d:p:e:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			tpath = optarg;
			break;
		case 'd':
			dpath = optarg;
			break;
		case 'p':
			pdir = optarg;
			break;
		case 'e':
			escape = optarg;
			break;
		case 'h':
			cmd_render_usage();
			return 0;
		default:
			cmd_render_usage();
			return CMD_EX_USAGE;
		}
	}
	if (optind < argc || tpath == NULL || dpath == NULL) {
		if (optind < argc)
			fprintf(stderr,
			    "familymail: render: unexpected argument '%s'\n",
			    argv[optind]);
		else
			fprintf(stderr,
			    "familymail: render: --template and "
			    "--data are required\n");
		cmd_render_usage();
		return CMD_EX_USAGE;
	}
	if (escape == NULL)
		esc = cmd_render_ends_with(tpath, "html.mustache") ||
			cmd_render_ends_with(tpath, ".html")
		    ? TMPL_ESCAPE_HTML
		    : TMPL_ESCAPE_NONE;
	else if (strcmp(escape, "html") == 0)
		esc = TMPL_ESCAPE_HTML;
	else if (strcmp(escape, "none") == 0)
		esc = TMPL_ESCAPE_NONE;
	else {
		fprintf(stderr,
		    "familymail: render: --escape must be html or none, not "
		    "'%s'\n",
		    escape);
		return CMD_EX_USAGE;
	}

	buf_init(&out);
	status = cmd_render_read(tpath, TMPL_MAX_SIZE, &out);
	if (status == 0) {
		t = tmpl_compile(
		    tpath, out.data != NULL ? out.data : "", out.len, &err);
		if (t == NULL)
			status = cmd_render_tmpl_error(&err);
	}
	buf_fini(&out);
	if (t == NULL)
		goto done;
	partials = tmpl_set_load_partials(pdir, &err);
	if (partials == NULL) {
		status = cmd_render_tmpl_error(&err);
		goto done;
	}
	if (tmpl_set_check(partials, t, &err) != 0) {
		status = CMD_EX_DATAERR;
		cmd_render_tmpl_error(&err);
		goto done;
	}
	data = cmd_render_data(dpath, &status);
	if (data == NULL)
		goto done;

	buf_init(&out);
	ret = tmpl_render(t, data, tmpl_set_partials(partials), esc, &out);
	if (ret != 0) {
		fprintf(stderr, "%s: %s\n", tpath,
		    ret == -ELOOP ? "partials, parents or sections nested too "
				    "deeply (a partial that includes itself?)"
				  : "output larger than 64 MiB");
		status = CMD_EX_DATAERR;
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) {
		perror("familymail: render: stdout");
		status = 1;
	}
	buf_fini(&out);
done:
	json_decref(data);
	tmpl_set_free(partials);
	tmpl_free(t);
	return status;
}
