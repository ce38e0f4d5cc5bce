/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_text: see http_text.h. The Welsh was written for this project;
 * a Welsh speaker should review it before use (README).
 */
#include "config.h"

#include "http_text.h"

#include <stddef.h>
#include <string.h>

#include "lang.h"
#include "util.h"

static const struct http_text http_text_table[] = { {
	.lang = "en",
	.name = "English",
	.nav = "Language",
	.weekly = "weekly",
	.monthly = "monthly",
	.error = {
	    .not_found = { "Page not found",
		"There is no page at this address." },
	    .no_token = { "This link is incomplete",
		"The address has no token. Please open the link from your "
		"email again, or copy all of it into the address bar. "
		"Nothing has been changed." },
	    .bad_token = { "This link is not valid",
		"The link is damaged: part of it may be missing. Please open "
		"it from your email again. Nothing has been changed." },
	    .unknown_token = { "This link is not valid",
		"This link does not match a subscription, or no longer "
		"works. Nothing has been changed." },
	    .lookup_failed = { "Something went wrong",
		"We could not look up your subscription just now. Please try "
		"again in a few minutes." },
	    .save_failed = { "Something went wrong",
		"We could not save the change just now. Nothing has been "
		"changed. Please try again in a few minutes." },
	    .test_link = { "This is a test link",
		"This link comes from a test message (familymail send-test). "
		"Nothing was changed." },
	},
	.unsubscribe = {
	    .ask_title = "Unsubscribe",
	    .ask = "Stop sending the blog digest to {email}?",
	    .button = "Unsubscribe",
	    .ask_note = "If you do not want to unsubscribe, close this page: "
			"nothing changes until you press the button.",
	    .done_title = "You are unsubscribed",
	    .done = "{email} has been unsubscribed and will get no more "
		    "digests from us.",
	    .already = "{email} was already unsubscribed and will get no "
		       "more digests from us.",
	    .queued = "{email} is unsubscribed: your request is saved and "
		      "takes effect within a few minutes. You will get no "
		      "more digests from us.",
	    .note = "Emails about courses you have booked are not affected.",
	    .not_one_click = { "Nothing was changed",
		"The request did not ask to unsubscribe "
		"(List-Unsubscribe=One-Click)." },
	},
	.confirm = {
	    .ask_title = "Confirm your subscription",
	    .ask = "Send the {frequency} digest of new posts from our blog "
		   "to {email}?",
	    .button = "Confirm",
	    .ask_note = "If you did not ask for it, close this page: nothing "
			"happens until you press the button.",
	    .done_title = "Subscription confirmed",
	    .done = "Thank you. {email} will now get the {frequency} digest "
		    "of new posts from our blog.",
	    .already = "Thank you. {email} was already confirmed and will "
		       "get the {frequency} digest of new posts from our "
		       "blog.",
	    .queued = "Thank you. Your confirmation is saved: {email} will "
		      "get the {frequency} digest of new posts from our "
		      "blog.",
	    .ended = { "This subscription was ended",
		"This address has unsubscribed since the confirmation was "
		"sent, so it stays unsubscribed." },
	},
	.preferences = {
	    .title = "Your email preferences",
	    .intro = "Digest of new blog posts for {email}.",
	    .legend = "How often?",
	    .weekly_label = "Weekly",
	    .monthly_label = "Monthly",
	    .save = "Save",
	    .unsubscribe = "Unsubscribe",
	    .saved_mark = "Saved.",
	    .saved = "You will get the {frequency} digest.",
	    .queued = "Your change takes effect within a few minutes: you "
		      "will get the {frequency} digest.",
	    .bad_choice = { "Nothing was changed",
		"Please choose weekly or monthly, then press Save." },
	},
}, {
	.lang = "cy",
	.name = "Cymraeg",
	.nav = "Iaith",
	.weekly = "wythnosol",
	.monthly = "misol",
	.error = {
	    .not_found = { "Heb ddod o hyd i'r dudalen",
		"Nid oes tudalen yn y cyfeiriad hwn." },
	    .no_token = { "Nid yw'r ddolen hon yn gyflawn",
		"Nid oes tocyn yn y cyfeiriad. Agorwch y ddolen o'ch e-bost "
		"eto, neu copïwch y cyfan ohoni i'r bar cyfeiriad. Nid oes "
		"dim wedi newid." },
	    .bad_token = { "Nid yw'r ddolen hon yn ddilys",
		"Mae'r ddolen wedi'i difrodi: efallai fod rhan ohoni ar "
		"goll. Agorwch hi o'ch e-bost eto. Nid oes dim wedi newid." },
	    .unknown_token = { "Nid yw'r ddolen hon yn ddilys",
		"Nid yw'r ddolen hon yn cyfateb i danysgrifiad, neu nid yw'n "
		"gweithio mwyach. Nid oes dim wedi newid." },
	    .lookup_failed = { "Aeth rhywbeth o'i le",
		"Nid oeddem yn gallu dod o hyd i'ch tanysgrifiad ar hyn o "
		"bryd. Rhowch gynnig arall arni ymhen ychydig funudau." },
	    .save_failed = { "Aeth rhywbeth o'i le",
		"Nid oeddem yn gallu cadw'r newid ar hyn o bryd. Nid oes dim "
		"wedi newid. Rhowch gynnig arall arni ymhen ychydig "
		"funudau." },
	    .test_link = { "Dolen brawf yw hon",
		"Daw'r ddolen hon o neges brawf (familymail send-test). Nid "
		"oes dim wedi newid." },
	},
	.unsubscribe = {
	    .ask_title = "Dad-danysgrifio",
	    .ask = "Peidio ag anfon crynodeb y blog at {email}?",
	    .button = "Dad-danysgrifio",
	    .ask_note = "Os nad ydych am ddad-danysgrifio, caewch y dudalen "
			"hon: ni fydd dim yn newid nes i chi bwyso'r botwm.",
	    .done_title = "Rydych wedi dad-danysgrifio",
	    .done = "Mae {email} wedi'i ddad-danysgrifio ac ni fydd yn cael "
		    "rhagor o grynodebau gennym.",
	    .already = "Roedd {email} wedi'i ddad-danysgrifio eisoes ac ni "
		       "fydd yn cael rhagor o grynodebau gennym.",
	    .queued = "Mae {email} wedi'i ddad-danysgrifio: mae eich cais "
		      "wedi'i gadw a bydd yn dod i rym o fewn ychydig "
		      "funudau. Ni fydd yn cael rhagor o grynodebau gennym.",
	    .note = "Nid yw hyn yn effeithio ar e-byst am gyrsiau rydych "
		    "wedi'u harchebu.",
	    .not_one_click = { "Ni newidiwyd dim",
		"Nid oedd y cais yn gofyn am ddad-danysgrifio "
		"(List-Unsubscribe=One-Click)." },
	},
	.confirm = {
	    .ask_title = "Cadarnhewch eich tanysgrifiad",
	    .ask = "Anfon y crynodeb {frequency} o gofnodion newydd ein blog "
		   "at {email}?",
	    .button = "Cadarnhau",
	    .ask_note = "Os na wnaethoch ofyn amdano, caewch y dudalen hon: ni "
			"fydd dim yn digwydd nes i chi bwyso'r botwm.",
	    .done_title = "Tanysgrifiad wedi'i gadarnhau",
	    .done = "Diolch. Bydd {email} yn cael y crynodeb {frequency} o "
		    "gofnodion newydd ein blog o hyn ymlaen.",
	    .already = "Diolch. Roedd {email} wedi'i gadarnhau eisoes, a "
		       "bydd yn cael y crynodeb {frequency} o gofnodion "
		       "newydd ein blog.",
	    .queued = "Diolch. Mae eich cadarnhad wedi'i gadw: bydd {email} "
		      "yn cael y crynodeb {frequency} o gofnodion newydd ein "
		      "blog.",
	    .ended = { "Daeth y tanysgrifiad hwn i ben",
		"Mae'r cyfeiriad hwn wedi dad-danysgrifio ers anfon y "
		"cadarnhad, felly nid yw wedi'i danysgrifio." },
	},
	.preferences = {
	    .title = "Eich dewisiadau e-bost",
	    .intro = "Crynodeb o gofnodion newydd y blog i {email}.",
	    .legend = "Pa mor aml?",
	    .weekly_label = "Wythnosol",
	    .monthly_label = "Misol",
	    .save = "Cadw",
	    .unsubscribe = "Dad-danysgrifio",
	    .saved_mark = "Wedi'i gadw.",
	    .saved = "Byddwch yn cael y crynodeb {frequency}.",
	    .queued = "Bydd eich newid yn dod i rym o fewn ychydig funudau: "
		      "byddwch yn cael y crynodeb {frequency}.",
	    .bad_choice = { "Ni newidiwyd dim",
		"Dewiswch wythnosol neu fisol, yna pwyswch Cadw." },
	},
} };

const struct http_text *
http_text_find(const char *tag)
{
	char primary[LANG_TAG_MAX];

	if (tag == NULL || !lang_tag_valid(tag))
		return NULL;
	lang_primary(tag, primary);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(http_text_table); i++)
		if (strcmp(primary, http_text_table[i].lang) == 0)
			return &http_text_table[i];
	return NULL;
}

const struct http_text *
http_text_for(const char *lang)
{
	const struct http_text *t = http_text_find(lang);

	return t != NULL ? t : &http_text_table[0];
}

const struct http_text *
http_text_at(int i)
{
	return i >= 0 && i < http_text_count() ? &http_text_table[i] : NULL;
}

int
http_text_count(void)
{
	return (int)UTIL_ARRAY_LEN(http_text_table);
}
