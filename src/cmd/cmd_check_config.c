/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_check_config: `familymail -c FILE check-config`. Loads the config
 * and the template folder it names as the daemon would, and says
 * "FILE: ok" (exit 0), or prints every problem on stderr and exits 78
 * (EX_CONFIG): each config problem as "FILE:LINE: [section] key:
 * problem", a template that does not parse as "FILE:LINE:COL: problem".
 * It does not open the database or connect to any server.
 *
 * It also reports, on stdout, every template a language lacks (the
 * default language when it has a folder of its own, each language of
 * [daemon] bilingual, each language folder): its messages fall back to
 * the base set's file, in the base set's language, which the daemon
 * does quietly and the administrator should know about. These are
 * warnings: they do not change the exit status. A language code that
 * is not one is a config error ([daemon] language, bilingual).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cmd/cmd.h"
#include "kind.h"
#include "lang.h"
#include "tmpl/tmpl.h"

struct cmd_check_missing {
	const char *dir;
	const char *folder; /* the language's folder name */
	const char *lang;
	size_t n;
};

static void
cmd_check_config_on_missing(void *arg, const char *file)
{
	struct cmd_check_missing *m = arg;
	char name[64];

	lang_native_name(m->lang, name, sizeof(name));
	printf("%s/%s/%s: missing: %s (%s) messages use %s/%s\n", m->dir,
	    m->folder, file, name, m->lang, m->dir, file);
	m->n++;
}

/* Reports what language lang lacks; returns how many files. */
static size_t
cmd_check_config_language(const struct cfg *c, const struct tmpl_set *t,
    const char *lang, const char *why)
{
	struct cmd_check_missing m = { .dir = c->templates, .lang = lang };
	char a[LANG_TAG_MAX], b[LANG_TAG_MAX];

	m.folder = tmpl_set_match_language(t, lang);
	if (m.folder == NULL) {
		lang_primary(lang, a);
		lang_primary(c->language, b);
		if (strcmp(a, b) == 0)
			return 0; /* the base set is in the default language */
		printf("%s/%s: missing: no templates for %s (%s): its messages "
		       "use the default set, in %s\n",
		    c->templates, lang, lang, why, c->language);
		return 1;
	}
	return tmpl_set_missing(t, lang, cmd_check_config_on_missing, &m);
}

int
cmd_check_config(int argc, char **argv, const char *config_path)
{
	struct tmpl_set *tmpls;
	struct tmpl_error err;
	size_t missing;
	char msg[600];
	struct cfg *c;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: familymail [-c FILE] check-config\n");
		return CMD_EX_USAGE;
	}
	c = cmd_load_config(config_path);
	if (c == NULL)
		return CMD_EX_CONFIG;
	tmpls = tmpl_set_load(c->templates, &err);
	if (tmpls == NULL) {
		fprintf(stderr, "%s\n%s: [daemon] templates %s: unusable\n",
		    tmpl_error_format(&err, msg, sizeof(msg)), config_path,
		    c->templates);
		cfg_free(c);
		return CMD_EX_CONFIG;
	}
	for (size_t i = 0; i < kind_count(); i++)
		if (!tmpl_set_has(tmpls, kind_at(i)->name))
			fprintf(stderr,
			    "%s: warning: [daemon] templates %s has no %s "
			    "templates: those messages will fail\n",
			    config_path, c->templates, kind_at(i)->name);
	missing = cmd_check_config_language(
	    c, tmpls, c->language, "[daemon] language");
	for (int i = 0; i < c->n_bilingual; i++)
		if (strcasecmp(c->bilingual[i], c->language) != 0)
			missing += cmd_check_config_language(
			    c, tmpls, c->bilingual[i], "[daemon] bilingual");
	for (size_t i = 0; i < tmpl_set_language_count(tmpls); i++) {
		const char *l = tmpl_set_language(tmpls, i);
		bool named = strcasecmp(l, c->language) == 0;

		for (int j = 0; j < c->n_bilingual && !named; j++)
			named = strcasecmp(l, c->bilingual[j]) == 0;
		if (!named)
			missing += cmd_check_config_language(
			    c, tmpls, l, "a templates folder");
	}
	printf("%s: ok (%zu message kind%s in %s", config_path,
	    tmpl_set_count(tmpls), tmpl_set_count(tmpls) == 1 ? "" : "s",
	    c->templates);
	for (size_t i = 0; i < tmpl_set_language_count(tmpls); i++)
		printf("%s%s", i == 0 ? "; languages: " : ", ",
		    tmpl_set_language(tmpls, i));
	if (missing > 0)
		printf("; %zu missing translation%s above", missing,
		    missing == 1 ? "" : "s");
	printf(")\n");
	tmpl_set_free(tmpls);
	cfg_free(c);
	return 0;
}
