/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_table: the rows an admin subcommand lists (messages, bounces),
 * printed either as aligned columns for a person or, with --json, as a
 * JSON array of objects for a script.
 *
 * Column widths come from the data. On a terminal a cell wider than its
 * column's limit, or than what is left of the terminal's width for the
 * last column, is cut and ends in "…"; into a pipe or a file every cell
 * is printed whole, so grep and less see everything. Control characters
 * (a line break in an SMTP reply, an escape sequence in a bounce's
 * diagnostic) are shown as spaces in the columns and never reach the
 * terminal; JSON output escapes them. It is not a general formatter:
 * one table, printed once.
 */
#ifndef FM_CMD_TABLE_H
#define FM_CMD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct cmd_table_column {
	const char *key;   /* member name in JSON */
	const char *title; /* heading on a terminal */
	unsigned max;      /* widest cell before "…" on a terminal; 0: any */
	bool right;        /* right-aligned (numbers) */
};

struct cmd_table;

/* A table of n columns; cols is borrowed and must outlive the table.
 * Never NULL; cmd_table_free(NULL) does nothing. */
struct cmd_table *cmd_table_new(const struct cmd_table_column *cols, size_t n);
void cmd_table_free(struct cmd_table *t);

/* Starts a new row; its cells are empty (JSON null) until set. */
void cmd_table_add_row(struct cmd_table *t);
/* Sets a cell of the last row. A NULL text is an empty cell (null). */
void cmd_table_set_text(struct cmd_table *t, size_t col, const char *text);
void cmd_table_set_int(struct cmd_table *t, size_t col, int64_t v);
/* A time stored as UTC ISO-8601: JSON keeps iso, the columns show it in
 * the local zone (clock_set_timezone()) as "2026-12-07 09:30". */
void cmd_table_set_time(struct cmd_table *t, size_t col, const char *iso);
/* Sets a cell to json (the table takes the reference) and shows text
 * in the columns; for values that are not a plain string or number. */
void cmd_table_set_json(
    struct cmd_table *t, size_t col, const char *text, json_t *json);

size_t cmd_table_rows(const struct cmd_table *t);

/*
 * Prints the table to out: JSON when json is true, otherwise columns,
 * cut to fit when out is a terminal. Returns 0 or -EIO.
 */
int cmd_table_print(const struct cmd_table *t, FILE *out, bool json);

/* Prints one compact JSON object a line, one line a row ("JSON lines",
 * for a script that reads as it goes). Returns 0 or -EIO. */
int cmd_table_print_json_lines(const struct cmd_table *t, FILE *out);

/* Prints the columns as on a terminal width characters wide (0: as into
 * a pipe, nothing cut). For tests and for cmd_table_print(). */
int cmd_table_print_text(const struct cmd_table *t, FILE *out, unsigned width);

#endif
