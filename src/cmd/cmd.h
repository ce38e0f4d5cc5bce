/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd: the subcommands of the familymail admin tool, one per cmd_*.c.
 *
 * Each takes the arguments after the subcommand name (argv[0] is the
 * subcommand) and the config path given with -c (never NULL: the default
 * path when none was given). Each returns the process exit status:
 * 0 success, 1 a failure of the operation, 64 (EX_USAGE) bad arguments,
 * 78 (EX_CONFIG) a broken config.
 */
#ifndef FM_CMD_H
#define FM_CMD_H

#define CMD_EX_USAGE    64
#define CMD_EX_DATAERR  65
#define CMD_EX_NOINPUT  66
#define CMD_EX_SOFTWARE 70
#define CMD_EX_CONFIG   78

struct cfg;

int cmd_check_config(int argc, char **argv, const char *config_path);
int cmd_check_dns(int argc, char **argv, const char *config_path);
int cmd_migrate(int argc, char **argv, const char *config_path);
int cmd_render(int argc, char **argv, const char *config_path);
int cmd_preview(int argc, char **argv, const char *config_path);
int cmd_parse_bounce(int argc, char **argv, const char *config_path);
int cmd_status(int argc, char **argv, const char *config_path);
int cmd_queue(int argc, char **argv, const char *config_path);
int cmd_retry(int argc, char **argv, const char *config_path);
int cmd_send_test(int argc, char **argv, const char *config_path);
int cmd_suppress(int argc, char **argv, const char *config_path);
int cmd_unsuppress(int argc, char **argv, const char *config_path);
int cmd_bounces(int argc, char **argv, const char *config_path);
int cmd_import(int argc, char **argv, const char *config_path);

/* Loads the config for a subcommand, printing every error to stderr.
 * Returns NULL on failure (the caller exits CMD_EX_CONFIG). */
struct cfg *cmd_load_config(const char *config_path);

#endif
