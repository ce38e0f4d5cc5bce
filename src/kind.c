/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * kind: see kind.h. The rules here are the send-time half of DESIGN
 * "The jobs"; the enqueue-time half is each job's SQL.
 */
#include "config.h"

#include "kind.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "lang.h"
#include "util.h"

static bool
kind_confirmation_applies(const struct kind_facts *f)
{
	return f->booking_confirmed && f->course_scheduled;
}

static bool
kind_booking_cancelled_applies(const struct kind_facts *f)
{
	return !f->booking_confirmed;
}

static bool
kind_course_cancelled_applies(const struct kind_facts *f)
{
	return !f->course_scheduled;
}

/* A change notice goes while the course still differs from what the
 * delegate knew: an edit undone before it went sends nothing. */
static bool
kind_change_applies(const struct kind_facts *f)
{
	return f->booking_confirmed && f->course_scheduled &&
	    f->starts_at > f->now && f->course_changed;
}

static bool
kind_reminder_applies(const struct kind_facts *f)
{
	return f->booking_confirmed && f->course_scheduled &&
	    f->starts_at > f->now;
}

/* A digest goes to an active subscriber still on its frequency (the
 * detail is "FREQUENCY:PERIOD"), and only with posts in it. */
static bool
kind_digest_applies(const struct kind_facts *f)
{
	size_t n;

	if (!f->subscriber_active || f->detail == NULL || f->frequency == NULL)
		return false;
	n = strlen(f->frequency);
	return strncmp(f->detail, f->frequency, n) == 0 &&
	    f->detail[n] == ':' && f->post_count > 0;
}

static bool
kind_optin_applies(const struct kind_facts *f)
{
	return f->subscriber_pending;
}

/*
 * The words for "in N UNITS", per language and CLDR plural category
 * (zero, one, two, few, many, other), '#' standing for the number.
 * Welsh takes the singular after a number and mutates it as the
 * number spoken would ("2 ddiwrnod", "2 funud"); "1d" is "tomorrow".
 */
struct kind_words {
	const char *lang; /* primary language */
	const char *tomorrow, *soon;
	struct {
		char unit;
		const char *forms[6];
	} units[4];
};

static const struct kind_words kind_words[] = {
	{
	    .lang = "en",
	    .tomorrow = "tomorrow",
	    .soon = "soon",
	    .units = {
		{ 'm', { "in # minutes", "in # minute", "in # minutes",
		    "in # minutes", "in # minutes", "in # minutes" } },
		{ 'h', { "in # hours", "in # hour", "in # hours",
		    "in # hours", "in # hours", "in # hours" } },
		{ 'd', { "in # days", "in # day", "in # days", "in # days",
		    "in # days", "in # days" } },
		{ 'w', { "in # weeks", "in # week", "in # weeks",
		    "in # weeks", "in # weeks", "in # weeks" } },
	    },
	},
	{
	    .lang = "cy",
	    .tomorrow = "yfory",
	    .soon = "cyn bo hir",
	    .units = {
		{ 'm', { "ymhen # munud", "ymhen munud", "ymhen # funud",
		    "ymhen # munud", "ymhen # munud", "ymhen # munud" } },
		{ 'h', { "ymhen # awr", "ymhen awr", "ymhen # awr",
		    "ymhen # awr", "ymhen # awr", "ymhen # awr" } },
		{ 'd', { "ymhen # diwrnod", "ymhen diwrnod",
		    "ymhen # ddiwrnod", "ymhen # diwrnod", "ymhen # diwrnod",
		    "ymhen # diwrnod" } },
		{ 'w', { "ymhen # wythnos", "ymhen wythnos",
		    "ymhen # wythnos", "ymhen # wythnos", "ymhen # wythnos",
		    "ymhen # wythnos" } },
	    },
	},
};

static const struct kind_words *
kind_words_for(const char *language)
{
	char primary[LANG_TAG_MAX];

	lang_primary(language != NULL ? language : "en", primary);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(kind_words); i++)
		if (strcmp(primary, kind_words[i].lang) == 0)
			return &kind_words[i];
	return &kind_words[0];
}

/* "7d" -> "in 7 days" ("ymhen 7 diwrnod"); "1d" -> "tomorrow"
 * ("yfory"); "2h" -> "in 2 hours". */
static void
kind_offset_words(
    const char *offset, const char *language, char *out, size_t size)
{
	const struct kind_words *w = kind_words_for(language);
	const char *cat, *form, *hash;
	char *end;
	long n;
	size_t c;

	n = strtol(offset, &end, 10);
	if (n == 1 && strcmp(end, "d") == 0) {
		(void)snprintf(out, size, "%s", w->tomorrow);
		return;
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(w->units); i++) {
		if (end[0] != w->units[i].unit || end[1] != '\0' || n <= 0)
			continue;
		cat = lang_plural(language, n);
		for (c = 0; c < 6; c++)
			if (strcmp(cat, lang_plural_categories[c]) == 0)
				break;
		form = w->units[i].forms[c < 6 ? c : 5];
		hash = strchr(form, '#');
		if (hash == NULL)
			(void)snprintf(out, size, "%s", form);
		else
			(void)snprintf(out, size, "%.*s%ld%s",
			    (int)(hash - form), form, n, hash + 1);
		return;
	}
	(void)snprintf(out, size, "%s", w->soon);
}

/* reminder.offset ("7d", as configured) and reminder.when. */
static void
kind_reminder_context(json_t *ctx, const struct kind_facts *f)
{
	char words[64];

	if (f->detail == NULL)
		return;
	kind_offset_words(f->detail, f->language, words, sizeof(words));
	json_object_set_new(ctx, "reminder",
	    json_pack("{s:s,s:s}", "offset", f->detail, "when", words));
}

static const struct kind kind_table[] = {
	{
	    .name = "booking_confirmation",
	    .summary = "a booking was made: sent within seconds",
	    .job = "confirmations",
	    .about = KIND_ABOUT_BOOKING,
	    .needs = KIND_CALENDAR,
	    .applies = kind_confirmation_applies,
	},
	{
	    .name = "booking_cancelled",
	    .summary = "a confirmed booking was cancelled",
	    .job = "cancellations",
	    .about = KIND_ABOUT_BOOKING,
	    .needs = KIND_CALENDAR_CANCEL,
	    .applies = kind_booking_cancelled_applies,
	},
	{
	    .name = "course_cancelled",
	    .summary = "the course of a confirmed booking was cancelled",
	    .job = "cancellations",
	    .about = KIND_ABOUT_BOOKING,
	    .needs = KIND_CALENDAR_CANCEL,
	    .applies = kind_course_cancelled_applies,
	},
	{
	    .name = "course_changed",
	    .summary = "the time, place or joining link of a course changed",
	    .job = "changes",
	    .about = KIND_ABOUT_BOOKING,
	    .needs = KIND_CALENDAR | KIND_CHANGES,
	    .detail = "previous",
	    .applies = kind_change_applies,
	},
	{
	    .name = "course_reminder",
	    .summary = "the course is near: at each [reminders] offset",
	    .job = "reminders",
	    .about = KIND_ABOUT_BOOKING,
	    .needs = KIND_CALENDAR,
	    .detail = "offset",
	    .applies = kind_reminder_applies,
	    .context = kind_reminder_context,
	},
	{
	    .name = "blog_digest",
	    .summary = "new blog posts, weekly or monthly",
	    .job = "digests",
	    .about = KIND_ABOUT_SUBSCRIBER,
	    .bulk = true,
	    .needs = KIND_POSTS,
	    .detail = "period",
	    .applies = kind_digest_applies,
	},
	{
	    .name = "subscription_confirm",
	    .summary = "a sign-up waits for its confirmation (double opt-in)",
	    .job = "opt-in",
	    .about = KIND_ABOUT_SUBSCRIBER,
	    .needs = KIND_CONFIRM_LINK,
	    .applies = kind_optin_applies,
	},
};

/* Whether two texts differ once trimmed, NULL being "". */
static bool
kind_text_differs(const char *a, const char *b)
{
	size_t na, nb;

	a = a != NULL ? a : "";
	b = b != NULL ? b : "";
	while (isspace((unsigned char)*a))
		a++;
	while (isspace((unsigned char)*b))
		b++;
	na = strlen(a);
	nb = strlen(b);
	while (na > 0 && isspace((unsigned char)a[na - 1]))
		na--;
	while (nb > 0 && isspace((unsigned char)b[nb - 1]))
		nb--;
	return na != nb || memcmp(a, b, na) != 0;
}

/* Whether two times differ, one that cannot be read being none. */
static bool
kind_time_differs(const char *a, const char *b)
{
	time_t ta = 0, tb = 0;

	if (a == NULL || clock_parse_iso(a, &ta) != 0)
		ta = 0;
	if (b == NULL || clock_parse_iso(b, &tb) != 0)
		tb = 0;
	return ta != tb;
}

bool
kind_course_differs(const struct kind_course *was,
    const struct kind_course *now, bool *time, bool *place, bool *link)
{
	bool t = kind_time_differs(was->starts_at, now->starts_at) ||
	    kind_time_differs(was->ends_at, now->ends_at);
	bool p = kind_text_differs(was->venue, now->venue) ||
	    kind_text_differs(was->address, now->address);
	bool l = kind_text_differs(was->joining_url, now->joining_url);

	if (time != NULL)
		*time = t;
	if (place != NULL)
		*place = p;
	if (link != NULL)
		*link = l;
	return t || p || l;
}

const struct kind *
kind_find(const char *name)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(kind_table); i++)
		if (strcmp(name, kind_table[i].name) == 0)
			return &kind_table[i];
	return NULL;
}

const struct kind *
kind_at(size_t i)
{
	return i < UTIL_ARRAY_LEN(kind_table) ? &kind_table[i] : NULL;
}

size_t
kind_count(void)
{
	return UTIL_ARRAY_LEN(kind_table);
}

const char *
kind_names(const char *sep)
{
	static char names[512];
	size_t len = 0;

	names[0] = '\0';
	for (size_t i = 0; i < UTIL_ARRAY_LEN(kind_table); i++) {
		int n = snprintf(names + len, sizeof(names) - len, "%s%s",
		    i > 0 ? sep : "", kind_table[i].name);

		if (n < 0 || (size_t)n >= sizeof(names) - len)
			break;
		len += (size_t)n;
	}
	return names;
}

const char *
kind_default_detail(const struct kind *k, const struct cfg *cfg)
{
	if (k->detail == NULL || strcmp(k->detail, "offset") != 0)
		return NULL;
	return cfg->n_offsets > 0 ? cfg->offsets[0].text : "1d";
}
