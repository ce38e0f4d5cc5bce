/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job: see job.h.
 */
#include "config.h"

#include "job.h"

#include <errno.h>
#include <string.h>

#include "cfg.h"
#include "job_cancel.h"
#include "job_change.h"
#include "job_confirm.h"
#include "job_digest.h"
#include "job_optin.h"
#include "job_remind.h"
#include "log.h"
#include "util.h"

static const struct job job_table[] = {
	{ .name = "confirmations", .run = job_confirm_run },
	{ .name = "cancellations", .run = job_cancel_run },
	{
	    .name = "changes",
	    .run = job_change_run,
	    .next_due = job_change_next_due,
	},
	{
	    .name = "reminders",
	    .run = job_remind_run,
	    .next_due = job_remind_next_due,
	},
	{ .name = "opt-in", .run = job_optin_run, .subscribers = true },
	{
	    .name = "digests",
	    .run = job_digest_run,
	    .next_due = job_digest_next_due,
	    .last_due = job_digest_last_due,
	    .subscribers = true,
	    .reads_posts = true,
	},
};

const struct job *
job_at(size_t i)
{
	return i < UTIL_ARRAY_LEN(job_table) ? &job_table[i] : NULL;
}

size_t
job_count(void)
{
	return UTIL_ARRAY_LEN(job_table);
}

const struct job *
job_find(const char *name)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_table); i++)
		if (strcmp(name, job_table[i].name) == 0)
			return &job_table[i];
	return NULL;
}

const char *
job_off(const struct job *j, const struct cfg *cfg, bool secret)
{
	/* Mail to subscribers needs working unsubscribe links. */
	if (j->subscribers && (cfg->unsubscribe_url == NULL || !secret))
		return "off: needs [unsubscribe] url and secret_file";
	return NULL;
}

int
job_run_all(
    sqlite3 *db, const struct cfg *cfg, bool secret, bool posts, time_t now)
{
	int ret, total = 0, failed = 0, on = 0;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_table); i++) {
		const struct job *j = &job_table[i];

		if (job_off(j, cfg, secret) != NULL ||
		    (j->reads_posts && !posts))
			continue;
		on++;
		ret = j->run(db, cfg, now);
		if (ret < 0) {
			log_warnx("job %s failed: %s; retrying at the next "
				  "change or timer",
			    j->name, strerror(-ret));
			failed++;
			continue;
		}
		total += ret;
	}
	return on > 0 && failed == on ? -EIO : total;
}

int
job_next_due(
    sqlite3 *db, const struct cfg *cfg, bool secret, time_t now, time_t *when)
{
	time_t t, best = 0;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_table); i++) {
		const struct job *j = &job_table[i];

		if (j->next_due == NULL || job_off(j, cfg, secret) != NULL ||
		    j->next_due(db, cfg, now, &t) != 0)
			continue;
		if (best == 0 || t < best)
			best = t;
	}
	if (best == 0)
		return -ENOENT;
	*when = best;
	return 0;
}

bool
job_wants_feed(const struct cfg *cfg, bool secret, time_t now, time_t polled)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_table); i++) {
		const struct job *j = &job_table[i];

		if (j->reads_posts && j->last_due != NULL &&
		    job_off(j, cfg, secret) == NULL &&
		    polled < j->last_due(cfg, now))
			return true;
	}
	return false;
}
