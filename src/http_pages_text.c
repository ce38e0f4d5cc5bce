/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_pages_text: see http_pages_text.h. The Welsh was written for
 * this project; a Welsh speaker should review it before use (README).
 */
#include "config.h"

#include "http_pages_text.h"

#include <string.h>

#include "lang.h"

static const struct http_pages_text http_pages_text_table[] = {
	{
	    .lang = "en",
	    .name = "English",
	    .nav = "Language",
	    .weekly = "weekly",
	    .monthly = "monthly",
	    .not_found_title = "Page not found",
	    .not_found = "There is no page at this address.",
	    .incomplete_title = "This link is incomplete",
	    .incomplete = "The address has no token. Please open the link "
			  "from your email again, or copy all of it into the "
			  "address bar. Nothing has been changed.",
	    .invalid_title = "This link is not valid",
	    .damaged = "The link is damaged: part of it may be missing. "
		       "Please open it from your email again. Nothing has "
		       "been changed.",
	    .unknown = "This link does not match a subscription, or no "
		       "longer works. Nothing has been changed.",
	    .error_title = "Something went wrong",
	    .lookup_failed = "We could not look up your subscription just "
			     "now. Please try again in a few minutes.",
	    .save_failed = "We could not save the change just now. Please "
			   "try again in a few minutes.",
	    .unchanged_title = "Nothing was changed",
	    .not_one_click = "The request did not ask to unsubscribe "
			     "(List-Unsubscribe=One-Click).",
	    .choose_frequency =
		"Please choose weekly or monthly, then press Save.",
	    .unsubscribed_title = "You are unsubscribed",
	    .has_unsubscribed = "{email} has been unsubscribed and will get "
				"no more digests from us.",
	    .was_unsubscribed = "{email} was already unsubscribed and will "
				"get no more digests from us.",
	    .courses_unaffected =
		"Emails about courses you have booked are not affected.",
	    .unsubscribe_title = "Unsubscribe",
	    .unsubscribe_question =
		"Stop sending the blog digest to <strong>{email}</strong>?",
	    .unsubscribe_button = "Unsubscribe",
	    .unsubscribe_note = "If you do not want to unsubscribe, close "
				"this page: nothing changes until you press "
				"the button.",
	    .ended_title = "This subscription was ended",
	    .ended = "This address has unsubscribed since the confirmation "
		     "was sent, so it stays unsubscribed.",
	    .confirmed_title = "Subscription confirmed",
	    .confirmed = "Thank you. {email} will now get the {frequency} "
			 "digest of new posts from our blog.",
	    .was_confirmed = "Thank you. {email} was already confirmed and "
			     "will get the {frequency} digest of new posts "
			     "from our blog.",
	    .preferences_title = "Your email preferences",
	    .saved = "<strong>Saved.</strong> You will get the {frequency} "
		     "digest.",
	    .digest_for = "Digest of new blog posts for <strong>{email}"
			  "</strong>.",
	    .how_often = "How often?",
	    .weekly_label = "Weekly",
	    .monthly_label = "Monthly",
	    .save_button = "Save",
	},
	{
	    .lang = "cy",
	    .name = "Cymraeg",
	    .nav = "Iaith",
	    .weekly = "wythnosol",
	    .monthly = "misol",
	    .not_found_title = "Heb ddod o hyd i'r dudalen",
	    .not_found = "Nid oes tudalen yn y cyfeiriad hwn.",
	    .incomplete_title = "Nid yw'r ddolen hon yn gyflawn",
	    .incomplete = "Nid oes tocyn yn y cyfeiriad. Agorwch y ddolen "
			  "o'ch e-bost eto, neu copïwch y cyfan ohoni i'r "
			  "bar cyfeiriad. Nid oes dim wedi newid.",
	    .invalid_title = "Nid yw'r ddolen hon yn ddilys",
	    .damaged = "Mae'r ddolen wedi'i difrodi: efallai fod rhan ohoni "
		       "ar goll. Agorwch hi o'ch e-bost eto. Nid oes dim "
		       "wedi newid.",
	    .unknown = "Nid yw'r ddolen hon yn cyfateb i danysgrifiad, neu "
		       "nid yw'n gweithio mwyach. Nid oes dim wedi newid.",
	    .error_title = "Aeth rhywbeth o'i le",
	    .lookup_failed = "Nid oeddem yn gallu dod o hyd i'ch tanysgrifiad "
			     "ar hyn o bryd. Rhowch gynnig arall arni ymhen "
			     "ychydig funudau.",
	    .save_failed = "Nid oeddem yn gallu cadw'r newid ar hyn o bryd. "
			   "Rhowch gynnig arall arni ymhen ychydig funudau.",
	    .unchanged_title = "Ni newidiwyd dim",
	    .not_one_click = "Nid oedd y cais yn gofyn am ddad-danysgrifio "
			     "(List-Unsubscribe=One-Click).",
	    .choose_frequency =
		"Dewiswch wythnosol neu fisol, yna pwyswch Cadw.",
	    .unsubscribed_title = "Rydych wedi dad-danysgrifio",
	    .has_unsubscribed = "Mae {email} wedi'i ddad-danysgrifio ac ni "
				"fydd yn cael rhagor o grynodebau gennym.",
	    .was_unsubscribed = "Roedd {email} wedi'i ddad-danysgrifio eisoes "
				"ac ni fydd yn cael rhagor o grynodebau "
				"gennym.",
	    .courses_unaffected = "Nid yw hyn yn effeithio ar e-byst am "
				  "gyrsiau rydych wedi'u harchebu.",
	    .unsubscribe_title = "Dad-danysgrifio",
	    .unsubscribe_question = "Peidio ag anfon crynodeb y blog at "
				    "<strong>{email}</strong>?",
	    .unsubscribe_button = "Dad-danysgrifio",
	    .unsubscribe_note = "Os nad ydych am ddad-danysgrifio, caewch y "
				"dudalen hon: ni fydd dim yn newid nes i chi "
				"bwyso'r botwm.",
	    .ended_title = "Daeth y tanysgrifiad hwn i ben",
	    .ended = "Mae'r cyfeiriad hwn wedi dad-danysgrifio ers anfon y "
		     "cadarnhad, felly nid yw wedi'i danysgrifio.",
	    .confirmed_title = "Tanysgrifiad wedi'i gadarnhau",
	    .confirmed = "Diolch. Bydd {email} yn cael crynodeb {frequency} "
			 "o gofnodion newydd ein blog o hyn ymlaen.",
	    .was_confirmed = "Diolch. Roedd {email} wedi'i gadarnhau eisoes, "
			     "a bydd yn cael crynodeb {frequency} o "
			     "gofnodion newydd ein blog.",
	    .preferences_title = "Eich dewisiadau e-bost",
	    .saved = "<strong>Wedi'i gadw.</strong> Byddwch yn cael y "
		     "crynodeb {frequency}.",
	    .digest_for = "Crynodeb o gofnodion newydd y blog i <strong>"
			  "{email}</strong>.",
	    .how_often = "Pa mor aml?",
	    .weekly_label = "Wythnosol",
	    .monthly_label = "Misol",
	    .save_button = "Cadw",
	},
};

const struct http_pages_text *
http_pages_text_find(const char *tag)
{
	char primary[LANG_TAG_MAX];

	if (tag == NULL || !lang_tag_valid(tag))
		return NULL;
	lang_primary(tag, primary);
	for (int i = 0; i < http_pages_text_count(); i++)
		if (strcmp(primary, http_pages_text_table[i].lang) == 0)
			return &http_pages_text_table[i];
	return NULL;
}

const struct http_pages_text *
http_pages_text_at(int i)
{
	return i >= 0 && i < http_pages_text_count() ? &http_pages_text_table[i]
						     : NULL;
}

int
http_pages_text_count(void)
{
	return (int)(sizeof(http_pages_text_table) /
	    sizeof(http_pages_text_table[0]));
}
