/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_confirm: the booking confirmation job. Every confirmed booking on
 * a scheduled course that has not started gets one message of kind
 * booking_confirmation, dedupe key "confirm:booking:ID". It only
 * enqueues: whether the booking is still confirmed when the message goes
 * out is checked again at send time (compose.c).
 */
#ifndef FM_JOB_CONFIRM_H
#define FM_JOB_CONFIRM_H

#include <time.h>

#include <sqlite3.h>

struct cfg;

/* Enqueues what is missing at now. Returns the number of new messages,
 * or a negative errno. */
int job_confirm_run(sqlite3 *db, const struct cfg *cfg, time_t now);

#endif
