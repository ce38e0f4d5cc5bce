/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sentlog: a record, kept beside the database, of the messages a relay
 * has accepted but whose outcome may not be committed yet.
 *
 * A sender thread appends one line for each message the relay accepts,
 * before it ends another message's data on that connection. So after a
 * crash (kill -9) the messages left "sending" whose acceptance is in the
 * log are marked sent at the next start instead of being sent again,
 * and a connection need not wait for the database between messages: at
 * most the message whose data was ending at the crash, one per
 * connection, goes out twice.
 *
 * The files are <database>-sent-PID-N, mode 0600, each under an
 * exclusive flock(2) while its daemon writes it, one line per message:
 *
 *   <id> <unix time> <reply code> <Message-ID or -> <reply text>\n
 *
 * each written by one write() on a descriptor opened O_APPEND, so lines
 * from several threads never interleave, and a line cut short by a
 * crash (no newline) is ignored. The writer empties a file once every
 * line in it is committed (see transport_smtp.c); sentlog_replay()
 * reads what is left at start.
 */
#ifndef FM_SENTLOG_H
#define FM_SENTLOG_H

#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct outbox;

#define SENTLOG_LINE_MAX 512

/* This process's n-th log file of database, "<database>-sent-<pid>-<n>"
 * (caller frees). */
char *sentlog_path(const char *database, unsigned n);

/* Opens (creates) a log file for appending, and locks it: a descriptor,
 * or -errno (-EBUSY: another process holds it). */
int sentlog_open(const char *path);

/* Appends the line for message id, accepted at when with code and reply
 * (either may be empty), as one write(). The number of bytes written,
 * or -errno. */
int sentlog_append(int fd, int64_t id, time_t when, int code,
    const char *message_id, const char *reply);

/*
 * At start, before messages left sending are queued again: marks sent
 * every message that is still sending and whose acceptance a log file
 * of database records, in one transaction on db (the outbox's), and
 * removes the files. A line that cannot be read is reported (file:line)
 * and skipped; a file that a running daemon holds locked is left alone.
 * Returns how many messages were marked sent, or -errno (then the files
 * stay, for the next start).
 */
int sentlog_replay(const char *database, sqlite3 *db, struct outbox *o);

#endif
