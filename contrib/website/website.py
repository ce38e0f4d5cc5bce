#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A booking website's side of familymail, in Python with sqlite3.

Writes a booking (and its delegate) or a newsletter sign-up into the
database familymaild reads; the daemon sends the booking confirmation or
the subscription confirmation within seconds. familymail-schema(5) is
the contract: the tables, the time format, and how the website's
account and the daemon's share the database.

    website.py DB book COURSE_ID EMAIL FIRST_NAME [LAST_NAME]
    website.py DB subscribe EMAIL [NAME [weekly|monthly]]
    website.py DB cancel REFERENCE

FAMILYMAIL_LANGUAGE in the environment ("cy") is written to the
language column of the delegate or subscriber when the database has one.
"""
import os
import secrets
import sqlite3
import sys
from datetime import datetime, timezone


def connect(path):
    # isolation_level=None: no implicit transactions; each write below
    # says BEGIN IMMEDIATE itself, so it takes the write lock at once
    # (waiting up to the timeout while the daemon commits) and is short.
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def utc_now():
    """The time format of the contract: UTC ISO-8601, 'Z' at the end."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def has_column(db, table, column):
    return any(row[1] == column
               for row in db.execute(f"PRAGMA table_info({table})"))


def book(db, course_id, email, first_name, last_name=None,
         organisation=None, language=None):
    """Books a place; returns the booking's reference."""
    reference = "WEB-" + secrets.token_hex(4).upper()
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "INSERT INTO delegates (email, first_name, last_name,"
            " organisation) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (email) DO UPDATE SET"
            " first_name = excluded.first_name,"
            " last_name = coalesce(excluded.last_name, last_name),"
            " organisation = coalesce(excluded.organisation, organisation)",
            (email, first_name, last_name, organisation))
        if language and has_column(db, "delegates", "language"):
            db.execute("UPDATE delegates SET language = ? WHERE email = ?",
                       (language, email))
        db.execute(
            "INSERT INTO bookings (course_id, delegate_id, reference,"
            " status, created_at)"
            " SELECT ?, id, ?, 'confirmed', ? FROM delegates"
            " WHERE email = ?",
            (course_id, reference, utc_now(), email))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return reference


def subscribe(db, email, name=None, frequency="weekly", language=None):
    """Signs someone up, pending until they follow the link familymail
    mails them. Returns the subscriber's id and whether they are new."""
    db.execute("BEGIN IMMEDIATE")
    try:
        cur = db.execute(
            "INSERT INTO subscribers (email, name, status, frequency,"
            " created_at) VALUES (?, ?, 'pending', ?, ?)"
            " ON CONFLICT (email) DO NOTHING",
            (email, name, frequency, utc_now()))
        new = cur.rowcount == 1
        if new and language and has_column(db, "subscribers", "language"):
            db.execute("UPDATE subscribers SET language = ? WHERE email = ?",
                       (language, email))
        sid = db.execute("SELECT id FROM subscribers WHERE email = ?",
                         (email,)).fetchone()[0]
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return sid, new


def cancel(db, reference):
    """Cancels a booking: a notice goes out if it was confirmed by mail."""
    cur = db.execute("UPDATE bookings SET status = 'cancelled'"
                     " WHERE reference = ? AND status = 'confirmed'",
                     (reference,))
    return cur.rowcount == 1


def main(argv):
    if len(argv) < 3:
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 64
    db = connect(argv[1])
    language = os.environ.get("FAMILYMAIL_LANGUAGE") or None
    what, args = argv[2], argv[3:]
    try:
        if what == "book" and 3 <= len(args) <= 4:
            ref = book(db, int(args[0]), args[1], args[2],
                       args[3] if len(args) > 3 else None,
                       language=language)
            print(f"booking {ref}: course {args[0]}, {args[1]}")
        elif what == "subscribe" and 1 <= len(args) <= 3:
            sid, new = subscribe(db, args[0],
                                 args[1] if len(args) > 1 else None,
                                 args[2] if len(args) > 2 else "weekly",
                                 language=language)
            print(f"subscriber {sid}: {args[0]}, " +
                  ("pending (a confirmation message follows)" if new
                   else "already on the list"))
        elif what == "cancel" and len(args) == 1:
            done = cancel(db, args[0])
            print(f"booking {args[0]}: " +
                  ("cancelled" if done else "not found or not confirmed"))
            return 0 if done else 1
        else:
            print(__doc__.split("\n\n")[2], file=sys.stderr)
            return 64
    except sqlite3.Error as e:
        print(f"website.py: {what}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
