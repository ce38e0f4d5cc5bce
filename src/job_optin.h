/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_optin: double opt-in. Each pending subscriber gets one message of
 * kind subscription_confirm with a signed confirmation link (dedupe
 * "optin:subscriber:ID"). Whether the subscriber is still pending is
 * checked again when it is sent.
 */
#ifndef FM_JOB_OPTIN_H
#define FM_JOB_OPTIN_H

#include <time.h>

#include <sqlite3.h>

struct cfg;

/* Enqueues what is missing; the number enqueued or a negative errno. */
int job_optin_run(sqlite3 *db, const struct cfg *cfg, time_t now);

#endif
