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

#include "bounce/bounce.h"
#include "buf.h"
#include "cmd/cmd.h"
#include "util.h"

/* Length of the UTF-8 sequence at s, or 0 if it is not one. */
static size_t
cmd_parse_bounce_utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Copies the string s (short) to w; returns where it ends. */
static char *
cmd_parse_bounce_copy(char *w, const char *s)
{
	while (*s != '\0')
		*w++ = *s++;
	return w;
}

/* "key":value for a string (null for NULL); bytes that are not UTF-8
 * become '?' (file names may be anything). Written by hand rather than
 * with a JSON library: a line per recipient of many files is the
 * command's whole output, and its speed is measured. The room for the
 * worst case (every byte a \u escape) is reserved at once. */
static void
cmd_parse_bounce_str(struct buf *b, const char *key, const char *s)
{
	size_t klen = strlen(key), slen = s != NULL ? strlen(s) : 0;
	const unsigned char *p;
	char *w;

	buf_reserve(b, klen + 6 * slen + 8);
	w = b->data + b->len;
	*w++ = b->len > 1 ? ',' : '{';
	*w++ = '"';
	w = cmd_parse_bounce_copy(w, key);
	*w++ = '"';
	*w++ = ':';
	if (s == NULL) {
		w = cmd_parse_bounce_copy(w, "null");
		b->len = (size_t)(w - b->data);
		b->data[b->len] = '\0';
		return;
	}
	*w++ = '"';
	for (p = (const unsigned char *)s; *p != '\0';) {
		const unsigned char *run = p;
		size_t n;

		/* Plain ASCII, copied a run at a time. */
		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		memcpy(w, run, (size_t)(p - run));
		w += p - run;
		if (*p == '\0')
			break;
		n = cmd_parse_bounce_utf8_len(p);
		if (n == 0) {
			*w++ = '?';
			p++;
		} else if (*p == '"' || *p == '\\') {
			*w++ = '\\';
			*w++ = (char)*p++;
		} else if (*p < 0x20) {
			static const char hex[] = "0123456789abcdef";

			w = cmd_parse_bounce_copy(w, "\\u00");
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 0xf];
			p++;
		} else {
			memcpy(w, p, n);
			w += n;
			p += n;
		}
	}
	*w++ = '"';
	b->len = (size_t)(w - b->data);
	b->data[b->len] = '\0';
}

static void
cmd_parse_bounce_line(struct buf *b, const char *file,
    const struct bounce_report *r, const struct bounce_rcpt *rc)
{
	const char *cls = rc != NULL ? bounce_class_name(rc->cls) : NULL;

	buf_reset(b);
	cmd_parse_bounce_str(b, "file", file);
	cmd_parse_bounce_str(b, "recipient", rc != NULL ? rc->recipient : NULL);
	cmd_parse_bounce_str(b, "status", rc != NULL ? rc->status : NULL);
	cmd_parse_bounce_str(b, "action", rc != NULL ? rc->action : NULL);
	cmd_parse_bounce_str(b, "class", cls);
	cmd_parse_bounce_str(b, "reason", rc != NULL ? rc->reason : NULL);
	cmd_parse_bounce_str(b, "kind", bounce_kind_name(r->kind));
	cmd_parse_bounce_str(
	    b, "diagnostic", rc != NULL ? rc->diagnostic : NULL);
	cmd_parse_bounce_str(
	    b, "command", rc != NULL ? bounce_command_name(rc->command) : NULL);
	buf_puts(b,
	    rc != NULL && rc->sender_side ? ",\"sender_side\":true"
					  : ",\"sender_side\":false");
	if (r->n_dropped > 0) {
		char n[48];

		(void)snprintf(n, sizeof(n), ",\"dropped\":%zu", r->n_dropped);
		buf_puts(b, n);
	}
	buf_puts(b, "}\n");
	(void)fwrite(b->data, 1, b->len, stdout);
}

/* Parses one file and prints its lines; 0 or a negative errno. in and
 * out are buffers kept from file to file (their room is reused). */
static int
cmd_parse_bounce_file(const char *path, struct buf *in, struct buf *out)
{
	struct bounce_report *r = NULL;
	size_t i;
	int ret;

	buf_reset(in);
	ret = util_read_file(path, BOUNCE_MAX_SIZE, in);
	if (ret == -EFBIG)
		ret = -EMSGSIZE;
	if (ret == 0)
		ret = bounce_parse(in->data, in->len, &r);
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
		cmd_parse_bounce_line(out, path, r, NULL);
	for (i = 0; i < r->n_rcpts; i++)
		cmd_parse_bounce_line(out, path, r, &r->rcpts[i]);
	bounce_report_free(r);
	return 0;
}

int
cmd_parse_bounce(int argc, char **argv, const char *config_path)
{
	struct buf in, out;
	int i, first = 1, failed = 0;

	(void)config_path;
	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	if (argc <= first) {
		fprintf(stderr, "usage: familymail parse-bounce FILE...\n");
		return CMD_EX_USAGE;
	}
	buf_init(&in);
	buf_init(&out);
	for (i = first; i < argc; i++)
		if (cmd_parse_bounce_file(argv[i], &in, &out) != 0)
			failed++;
	buf_fini(&in);
	buf_fini(&out);
	if (fflush(stdout) != 0) {
		perror("familymail: parse-bounce: stdout");
		return 1;
	}
	return failed > 0 ? 1 : 0;
}
