/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon_proc: the process around the daemon, set up before the loop
 * starts: becoming [daemon] user when started as root, the lock that
 * keeps a second daemon off the database, detaching from the terminal,
 * and telling the service manager what the daemon is doing. It knows
 * nothing of the loop or the jobs (daemon.c).
 */
#ifndef FM_DAEMON_PROC_H
#define FM_DAEMON_PROC_H

/* sysexits.h's EX_TEMPFAIL: another daemon has the database. */
#define DAEMON_PROC_EX_TEMPFAIL 75

/*
 * Started as root, becomes [daemon] user from the config at
 * config_path, for good, before the templates and secret files are
 * read: the start reads them as every reload (SIGHUP) will, so a file
 * only root can read stops the start instead of failing each reload
 * later. Without that key it refuses: a daemon that reads mail from
 * anyone must not run as root by accident ("user = root" says so
 * explicitly). Started as anyone else, it does nothing. Returns the
 * exit status: 0 to go on, CFG_EX_CONFIG (a broken config, or root
 * without [daemon] user), 1 when the switch fails (logged).
 */
int daemon_proc_become_user(const char *config_path);

/*
 * Takes DATABASE.lock (database's path with ".lock" added) for the life
 * of the process, and writes the pid in it: a second daemon, or a
 * --once run beside the running one, would put the first one's
 * messages in flight back in the queue and send them twice. The lock
 * is flock(2)'s, which the kernel drops when the process ends, however
 * it ends. Returns 0 with *lock_fd (keep it open), or
 * DAEMON_PROC_EX_TEMPFAIL when another process holds it ("another
 * familymaild (pid N) is using DB" logged), or 1 (logged).
 */
int daemon_proc_lock(const char *database, int *lock_fd);

/* Forks into the background and leaves the terminal: 0 in the child
 * (the parent exits), or a negative errno. */
int daemon_proc_detach(void);

/* Tells the service manager (a unit of Type=notify) what the daemon is
 * doing ("READY=1"); nothing when built without libsystemd or not
 * started by it. */
void daemon_proc_notify(const char *state);

#endif
