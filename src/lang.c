/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lang: see lang.h. ICU objects are opened per call: each call is a
 * few microseconds, the objects are not safe to share between sender
 * threads, and nothing is left behind to free.
 */
#include "config.h"

#include "lang.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unicode/uloc.h>
#include <unicode/upluralrules.h>
#include <unicode/ustring.h>

const char *const lang_plural_categories[6] = { "zero", "one", "two", "few",
	"many", "other" };

bool
lang_tag_valid(const char *s)
{
	size_t n = 0, sub;

	if (s == NULL || strlen(s) >= LANG_TAG_MAX)
		return false;
	while (isalpha((unsigned char)s[n]))
		n++;
	if (n < 2 || n > 3)
		return false;
	while (s[n] == '-' || s[n] == '_') {
		n++;
		for (sub = 0; isalnum((unsigned char)s[n]); sub++)
			n++;
		if (sub < 1 || sub > 8)
			return false;
	}
	return s[n] == '\0';
}

int
lang_normalise(const char *s, char *out)
{
	size_t len, i, start, sub;

	out[0] = '\0';
	if (s == NULL)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= LANG_TAG_MAX)
		return -EINVAL;
	memcpy(out, s, len);
	out[len] = '\0';
	if (!lang_tag_valid(out)) {
		out[0] = '\0';
		return -EINVAL;
	}
	/* BCP 47 is case-insensitive; the usual spelling has the language
	 * in lower case, a script in title case ("Latn"), a region in
	 * upper case ("GB"). */
	for (start = 0, sub = 0; start < len; sub++) {
		size_t n = strcspn(out + start, "-_");

		for (i = start; i < start + n; i++) {
			int c = (unsigned char)out[i];

			bool upper =
			    sub > 0 && (n == 2 || (n == 4 && i == start));

			out[i] = (char)(upper ? toupper(c) : tolower(c));
		}
		start += n;
		if (start < len)
			out[start++] = '-';
	}
	return 0;
}

void
lang_locale(const char *tag, char *out, size_t size)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n;

	n = uloc_forLanguageTag(
	    tag != NULL ? tag : "en", out, (int32_t)size, NULL, &e);
	if (U_FAILURE(e) || n <= 0 || (size_t)n >= size)
		(void)snprintf(out, size, "en");
}

void
lang_primary(const char *tag, char *out)
{
	size_t n = 0;

	while (tag != NULL && n + 1 < LANG_TAG_MAX && tag[n] != '\0' &&
	    tag[n] != '-' && tag[n] != '_') {
		out[n] = (char)tolower((unsigned char)tag[n]);
		n++;
	}
	out[n] = '\0';
}

bool
lang_known(const char *s)
{
	char locale[64];
	const char *iso3;

	if (!lang_tag_valid(s))
		return false;
	lang_locale(s, locale, sizeof(locale));
	iso3 = uloc_getISO3Language(locale);
	return iso3 != NULL && iso3[0] != '\0';
}

/* ICU's plural rules are dear to open (a resource bundle each time):
 * the last answers are kept per thread, for the same tag and count
 * (a digest asks the same question of every subscriber). */
#define LANG_PLURAL_MEMO 4

struct lang_plural_memo {
	char tag[LANG_TAG_MAX];
	long n;
	const char *category;
};

static const char *
lang_plural_select(const char *tag, long n)
{
	UErrorCode e = U_ZERO_ERROR;
	UPluralRules *rules;
	UChar key[16];
	char name[16];
	int32_t len;

	lang_locale(tag, name, sizeof(name));
	rules = uplrules_open(name, &e);
	if (U_FAILURE(e))
		return "other";
	len = uplrules_select(
	    rules, (double)n, key, (int32_t)(sizeof(key) / sizeof(key[0])), &e);
	uplrules_close(rules);
	if (U_FAILURE(e) || len <= 0 || len >= (int32_t)sizeof(name))
		return "other";
	u_austrncpy(name, key, (int32_t)sizeof(name) - 1);
	name[len] = '\0';
	for (size_t i = 0; i < 6; i++)
		if (strcmp(name, lang_plural_categories[i]) == 0)
			return lang_plural_categories[i];
	return "other";
}

const char *
lang_plural(const char *tag, long n)
{
	static _Thread_local struct lang_plural_memo memo[LANG_PLURAL_MEMO];
	static _Thread_local unsigned next;
	const char *t = tag != NULL ? tag : "";
	struct lang_plural_memo *m;

	if (strlen(t) >= LANG_TAG_MAX)
		return lang_plural_select(tag, n);
	for (size_t i = 0; i < LANG_PLURAL_MEMO; i++) {
		m = &memo[i];
		if (m->category != NULL && m->n == n && strcmp(m->tag, t) == 0)
			return m->category;
	}
	m = &memo[next++ % LANG_PLURAL_MEMO];
	m->category = lang_plural_select(tag, n);
	m->n = n;
	(void)snprintf(m->tag, sizeof(m->tag), "%s", t);
	return m->category;
}

void
lang_native_name(const char *tag, char *out, size_t size)
{
	UErrorCode e = U_ZERO_ERROR;
	char locale[64], primary[LANG_TAG_MAX];
	UChar name[64];
	int32_t n, len = 0;

	lang_primary(tag, primary);
	lang_locale(primary, locale, sizeof(locale));
	n = uloc_getDisplayLanguage(locale, locale, name,
	    (int32_t)(sizeof(name) / sizeof(name[0])), &e);
	if (U_SUCCESS(e) && n > 0)
		u_strToUTF8(out, (int32_t)size, &len, name, n, &e);
	if (U_FAILURE(e) || n <= 0 || len <= 0 || (size_t)len >= size) {
		(void)snprintf(out, size, "%s", tag);
		return;
	}
	/* ICU writes "English" but "cymraeg": a language's name used as a
	 * link or a heading starts with a capital. */
	if ((unsigned char)out[0] < 0x80)
		out[0] = (char)toupper((unsigned char)out[0]);
}
