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
 *   <id> <unix time> <reply code> <Message-ID or -> [relay=<relay>] <reply text>\n
 *
 * each written by one write() on a descriptor opened O_APPEND, so lines
 * from several threads never interleave, and a line cut short by a
 * crash (no newline) is ignored. A running transport writes two files
 * in turn (struct sentlog): once the one in use passes 64 KiB the other
 * takes over, and a file not in use is emptied as soon as every line in
 * it is committed, so neither grows without bound. sentlog_replay()
 * reads what is left at start.
 *
 * It does not decide when a connection may go on (transport_smtp.c
 * holds a connection whose acceptance the log did not take), and it
 * writes nothing into the database but at replay.
 */
#ifndef FM_SENTLOG_H
#define FM_SENTLOG_H

#include <stdbool.h>
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

/* Appends the line for message id, accepted by relay (may be NULL) at
 * when with code and reply (either may be empty), as one write(). The
 * number of bytes written, or -errno. */
int sentlog_append(int fd, int64_t id, time_t when, int code,
    const char *message_id, const char *relay, const char *reply);

/*
 * The log a transport writes while it runs: two files of database, named
 * by sentlog_path() with numbers counted for the process (a transport
 * that replaces another on reload writes files of its own). Its
 * functions may be called from any thread; none calls back.
 *
 * Lines are numbered by tickets: the position of the message's outcome
 * in the order the transport hands outcomes back (1, 2, ...), and a file
 * is emptied only once the outcome of its last line is committed.
 */
struct sentlog;

/* Opens (creates) and locks both files: 0 with *out, or -errno with
 * *out NULL and *err (caller frees) naming the file that could not be
 * opened (-EBUSY: another process holds it). */
int sentlog_new(const char *database, struct sentlog **out, char **err);

/*
 * Appends the line for message id, accepted at when (code, reply,
 * relay and message_id as for sentlog_append()), to the file in use,
 * without
 * holding any lock of the caller's: the file written, 0 or 1, to pass to
 * sentlog_written(), or -1 when the line is not in the log: the log is
 * off, for good, since a write failed (this one or an earlier one). The
 * file is not emptied between the two calls.
 */
int sentlog_write(struct sentlog *l, int64_t id, time_t when, int code,
    const char *message_id, const char *relay, const char *reply);

/* The line sentlog_write() put into file is that of the outcome numbered
 * ticket. */
void sentlog_written(struct sentlog *l, int file, uint64_t ticket);

/* Every outcome up to the one numbered acked is committed: turns to the
 * other file once the one in use is big and the other empty, and empties
 * a file not in use whose lines are all committed. */
void sentlog_committed(struct sentlog *l, uint64_t acked);

/* True once a write failed (the log is then off). */
bool sentlog_failed(struct sentlog *l);

/* The path of the file in use, for messages; l keeps it. */
const char *sentlog_current_path(struct sentlog *l);

/* Closes both files and frees l (NULL does nothing). With all_committed
 * (every outcome handed back is committed) the files are removed; if
 * not they stay, for sentlog_replay() at the next start. */
void sentlog_free(struct sentlog *l, bool all_committed);

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
