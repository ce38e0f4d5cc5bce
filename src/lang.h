/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lang: the languages messages and pages are written in. A language is a
 * BCP 47 tag ("en", "cy", "cy-GB"); what a language knows (plural rules,
 * whether there is data for it at all) comes from CLDR through ICU
 * (Debian's libicu), never from tables of our own. Dates are clock.h's.
 *
 * It does not choose a message's language (compose does, from the
 * person, the course and the config) or hold any text.
 */
#ifndef FM_LANG_H
#define FM_LANG_H

#include <stdbool.h>
#include <stddef.h>

#define LANG_TAG_MAX 36 /* longest tag kept, with its NUL */

/* True if s has the shape of a BCP 47 language tag: a language of 2 or 3
 * letters, then any number of "-" subtags of 1 to 8 letters or digits
 * ("_" is read as "-"). */
bool lang_tag_valid(const char *s);

/* Copies the tag s in its usual spelling (language lower case, "-"
 * between subtags, surrounding blanks dropped) into out (LANG_TAG_MAX
 * bytes). Returns 0, or -EINVAL when s is not a tag (out is then ""). */
int lang_normalise(const char *s, char *out);

/* True if s is a valid tag whose language ICU has data for ("cy", "en";
 * not "xx"). */
bool lang_known(const char *s);

/* The ICU locale ID of tag ("cy-GB" -> "cy_GB") into out. */
void lang_locale(const char *tag, char *out, size_t size);

/* The tag's primary language ("cy-GB" -> "cy") into out (LANG_TAG_MAX). */
void lang_primary(const char *tag, char *out);

/*
 * The CLDR plural category of the count n in language tag: one of
 * "zero", "one", "two", "few", "many", "other" (a static string); "other"
 * when ICU has no rules for the language. Welsh: 0 zero, 1 one, 2 two,
 * 3 few, 6 many, 4, 5, 7 and more other. Thread-safe.
 */
const char *lang_plural(const char *tag, long n);

/* The six category names, for building "is it this one?" flags. */
extern const char *const lang_plural_categories[6];

/* The language's own name for itself ("Cymraeg", "English"), UTF-8,
 * into out; the tag itself when ICU has no name. */
void lang_native_name(const char *tag, char *out, size_t size);

#endif
