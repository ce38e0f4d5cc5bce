/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_text: see http_text.h. English is the one language so far; a
 * translation is another struct http_text below and a line in
 * http_text_for().
 */
#include "config.h"

#include "http_text.h"

#include <stddef.h>

static const struct http_text http_text_en = {
	.lang = "en",
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
};

const struct http_text *
http_text_for(const char *lang)
{
	(void)lang;
	return &http_text_en;
}
