/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_text: every word the subscriber pages show, one struct per page,
 * one table per language (English, Welsh): a translation is one more
 * instance of struct http_text in http_text.c, and the pages' code
 * holds no text of its own.
 *
 * Strings are plain text (the pages escape them) with placeholders:
 * {email} the subscriber's masked address, {frequency} the digest's
 * frequency as the language says it (weekly, monthly).
 */
#ifndef FM_HTTP_TEXT_H
#define FM_HTTP_TEXT_H

/* A page that says one thing: a heading and a paragraph. */
struct http_text_message {
	const char *title;
	const char *text;
};

struct http_text {
	const char *lang; /* the pages' lang attribute: "en" */
	const char *name; /* the language's name for itself: "Cymraeg" */
	const char *nav;  /* the label of the language links */
	const char *weekly, *monthly;

	/* Answers to a link that does not work, or to a failure. */
	struct {
		struct http_text_message not_found;
		struct http_text_message no_token;      /* 400 */
		struct http_text_message bad_token;     /* 400 */
		struct http_text_message unknown_token; /* 404 */
		struct http_text_message lookup_failed; /* 500 */
		struct http_text_message save_failed;   /* 503 */
		/* A link of a test message (familymail send-test). */
		struct http_text_message test_link; /* 200 */
	} error;

	/* GET /unsubscribe asks; POST unsubscribes. */
	struct {
		const char *ask_title;
		const char *ask; /* {email} */
		const char *button;
		const char *ask_note;
		const char *done_title;
		const char *done;    /* {email} */
		const char *already; /* {email} */
		const char *queued;  /* {email}: saved, applied shortly */
		const char *note;
		struct http_text_message not_one_click;
	} unsubscribe;

	/* GET /confirm asks; POST confirms. */
	struct {
		const char *ask_title;
		const char *ask; /* {email}, {frequency} */
		const char *button;
		const char *ask_note;
		const char *done_title;
		const char *done;    /* {email}, {frequency} */
		const char *already; /* {email}, {frequency} */
		const char *queued;  /* {email}, {frequency} */
		struct http_text_message ended;
	} confirm;

	/* GET /preferences shows the form; POST saves it. */
	struct {
		const char *title;
		const char *intro; /* {email} */
		const char *legend;
		const char *weekly_label, *monthly_label;
		const char *save;
		const char *unsubscribe;
		const char *saved_mark;
		const char *saved;  /* {frequency} */
		const char *queued; /* {frequency} */
		struct http_text_message bad_choice;
	} preferences;
};

/* The table of language tag (its primary language: "cy-GB" reads the
 * Welsh one), or NULL when there is none. */
const struct http_text *http_text_find(const char *tag);

/* The words for lang, else English (also for NULL). Never NULL. */
const struct http_text *http_text_for(const char *lang);

/* The i-th table, for i < http_text_count(). */
const struct http_text *http_text_at(int i);
int http_text_count(void);

#endif
