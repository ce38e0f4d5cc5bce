/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_pages_text: the words of the subscriber pages, one table per
 * language (English, Welsh). A page is written from one table; its
 * sentences name the places for values as {email} (the masked address,
 * already escaped) and {frequency} (the table's word for weekly or
 * monthly), because languages order them differently. Adding a
 * language is one more table here.
 */
#ifndef FM_HTTP_PAGES_TEXT_H
#define FM_HTTP_PAGES_TEXT_H

struct http_pages_text {
	const char *lang;   /* BCP 47: the page's lang attribute */
	const char *name;   /* the language's name for itself */
	const char *nav;    /* the label of the language links */
	const char *weekly; /* the frequency words in sentences */
	const char *monthly;
	const char *not_found_title, *not_found;
	const char *incomplete_title, *incomplete;
	const char *invalid_title, *damaged, *unknown;
	const char *error_title, *lookup_failed, *save_failed;
	const char *unchanged_title, *not_one_click, *choose_frequency;
	const char *unsubscribed_title;
	const char *has_unsubscribed, *was_unsubscribed; /* {email} */
	const char *courses_unaffected;
	const char *unsubscribe_title;
	const char *unsubscribe_question; /* {email} */
	const char *unsubscribe_button, *unsubscribe_note;
	const char *ended_title, *ended;
	const char *confirmed_title;
	const char *confirmed, *was_confirmed; /* {email}, {frequency} */
	const char *preferences_title;
	const char *saved;      /* {frequency} */
	const char *digest_for; /* {email} */
	const char *how_often, *weekly_label, *monthly_label, *save_button;
};

/* The table of language tag (its primary language: "cy-GB" reads the
 * Welsh one); NULL when there is none. */
const struct http_pages_text *http_pages_text_find(const char *tag);

/* The i-th table, for i < http_pages_text_count(). */
const struct http_pages_text *http_pages_text_at(int i);
int http_pages_text_count(void);

#endif
