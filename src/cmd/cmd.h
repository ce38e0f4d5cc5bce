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

#include <stdint.h>

#include <sqlite3.h>

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
int cmd_history(int argc, char **argv, const char *config_path);
int cmd_rehearse(int argc, char **argv, const char *config_path);
int cmd_resend(int argc, char **argv, const char *config_path);
int cmd_export(int argc, char **argv, const char *config_path);
int cmd_erase(int argc, char **argv, const char *config_path);

/* Loads the config for a subcommand, printing every error to stderr.
 * Returns NULL on failure (the caller exits CMD_EX_CONFIG). */
struct cfg *cmd_load_config(const char *config_path);

/* Opens cfg's database, which must be migrated. NULL after saying so on
 * stderr (the caller exits 1). */
sqlite3 *cmd_open_db(const struct cfg *cfg);

/* Reads the one ADDRESS argument of cmd (export, erase): 0 and *addr,
 * or an exit status after saying what is wrong. */
int cmd_address_arg(int argc, char **argv, const char *cmd, const char **addr);

/* Reads [unsubscribe] secret_file: the secret, or NULL when it is not
 * set or cannot be read, then saying so on stderr as "familymail: CMD:
 * ...; WITHOUT" unless without is NULL. Free with cmd_free_secret(),
 * which wipes it. */
char *cmd_read_secret(
    const struct cfg *cfg, const char *cmd, const char *without);
void cmd_free_secret(char *secret);

/* The booking name stands for: its reference ("FC-1001") or else its
 * id. 0 with *id (and *reference, newly allocated, when not NULL),
 * -ENOENT, or another negative errno. */
int cmd_find_booking(
    sqlite3 *db, const char *name, int64_t *id, char **reference);

#endif
