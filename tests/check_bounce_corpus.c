/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_bounce_corpus: the bounce parser over the shared corpus of real
 * bounces (SHARED_DIR/bounce-corpus, read in place, never copied), scored
 * against the labels of the reference analyser Sisimai 4.25: does it find
 * the same recipient, the same hard/soft decision, status code, reason
 * and kind? It prints the agreement per measure and per kind, and fails
 * when recipient or hard/soft agreement falls below what the parser
 * reached when this test was written.
 *
 * Counting: a label line with a recipient is one (file, recipient) pair;
 * a pair whose recipient we do not report counts against every measure
 * of that line. Status codes are compared only where the label has a
 * real one (Sisimai invents x.0.9xx codes when the message has none).
 * Files labelled "no-result" (bounces Sisimai 4.25 cannot read) are
 * unlabelled: they are reported apart and not scored.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>
#include <jansson.h>

#include "bounce/bounce.h"
#include "testutil.h"
#include "util.h"

/* What the parser reached on the corpus; agreement may not drop. */
#define CORPUS_FLOOR_RCPT     188 /* of 189 bounce lines */
#define CORPUS_FLOOR_HARDSOFT 180 /* of 189 bounce lines */
#define CORPUS_FLOOR_STATUS   133 /* of 139 lines with a real code */
#define CORPUS_FLOOR_REASON   157 /* of 189 bounce lines */

struct corpus_file {
	char *eml;
	struct bounce_report *r;
	int ret;
	bool kind_counted;
};

struct corpus_tally {
	int n;
	int ok;
};

/* The label kinds, and the kind we should report for each. */
static const struct {
	const char *label;
	enum bounce_kind kind;
} corpus_kinds[] = {
	{ "bounce", BOUNCE_KIND_BOUNCE },
	{ "feedback", BOUNCE_KIND_FEEDBACK },
	{ "vacation", BOUNCE_KIND_AUTOREPLY },
	{ "delivered", BOUNCE_KIND_DELIVERED },
	{ "not-a-bounce", BOUNCE_KIND_OTHER },
};

#define CORPUS_NKINDS (sizeof(corpus_kinds) / sizeof(corpus_kinds[0]))

struct corpus_score {
	struct corpus_tally kind[CORPUS_NKINDS];
	struct corpus_tally rcpt[CORPUS_NKINDS];
	struct corpus_tally hardsoft, status, reason;
	int unlabelled, unlabelled_found;
};

static struct corpus_file *
corpus_get(
    struct corpus_file **files, size_t *n, const char *dir, const char *eml)
{
	struct corpus_file *f;
	char *path;
	size_t i, len;
	char *data;

	for (i = 0; i < *n; i++)
		if (strcmp((*files)[i].eml, eml) == 0)
			return &(*files)[i];
	*files = xreallocarray(*files, *n + 1, sizeof(**files));
	f = &(*files)[(*n)++];
	f->eml = xstrdup(eml);
	f->r = NULL;
	f->kind_counted = false;
	path = xasprintf("%s/%s", dir, eml);
	data = tu_read_file(path, &len);
	ck_assert_msg(data != NULL, "cannot read %s", path);
	f->ret = bounce_parse(data, len, &f->r);
	ck_assert_msg(f->ret == 0, "%s: bounce_parse: %d", path, f->ret);
	free(data);
	free(path);
	return f;
}

static const struct bounce_rcpt *
corpus_rcpt(const struct bounce_report *r, const char *addr)
{
	size_t i;

	for (i = 0; i < r->n_rcpts; i++)
		if (strcasecmp(r->rcpts[i].recipient, addr) == 0)
			return &r->rcpts[i];
	return NULL;
}

static bool
corpus_pseudo_status(const char *s)
{
	/* Sisimai's made-up codes: x.0.9xx */
	return strlen(s) == 7 && strncmp(s + 1, ".0.9", 4) == 0;
}

static const char *
corpus_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Scores one label line. */
static void
corpus_score_line(struct corpus_score *sc, json_t *l, struct corpus_file *f)
{
	const char *kind = corpus_str(l, "kind");
	const char *rcpt = corpus_str(l, "recipient");
	const char *status = corpus_str(l, "deliverystatus");
	const char *reason = corpus_str(l, "reason");
	const struct bounce_rcpt *rc;
	size_t k;

	if (strcmp(kind, "no-result") == 0) {
		sc->unlabelled++;
		if (f->r->kind == BOUNCE_KIND_BOUNCE && f->r->n_rcpts > 0)
			sc->unlabelled_found++;
		return;
	}
	for (k = 0; k < CORPUS_NKINDS; k++)
		if (strcmp(kind, corpus_kinds[k].label) == 0)
			break;
	ck_assert_msg(k < CORPUS_NKINDS, "unknown label kind %s", kind);
	if (!f->kind_counted) {
		sc->kind[k].n++;
		if (f->r->kind == corpus_kinds[k].kind)
			sc->kind[k].ok++;
		else
			printf("  kind differs: %s: label %s, ours %s\n",
			    f->eml, kind, bounce_kind_name(f->r->kind));
		f->kind_counted = true;
	}
	if (rcpt == NULL)
		return;
	rc = corpus_rcpt(f->r, rcpt);
	sc->rcpt[k].n++;
	if (rc != NULL)
		sc->rcpt[k].ok++;
	else
		printf("  recipient missed: %s: %s\n", f->eml, rcpt);
	if (corpus_kinds[k].kind != BOUNCE_KIND_BOUNCE)
		return;
	sc->hardsoft.n++;
	sc->reason.n++;
	if (status != NULL && !corpus_pseudo_status(status))
		sc->status.n++;
	if (rc == NULL)
		return;
	if (rc->cls ==
	    (json_is_true(json_object_get(l, "hardbounce"))
		    ? BOUNCE_CLASS_HARD
		    : BOUNCE_CLASS_SOFT))
		sc->hardsoft.ok++;
	else
		printf("  hard/soft differs: %s: %s: label %s (%s), ours "
		       "%s (%s)\n",
		    f->eml, rcpt,
		    json_is_true(json_object_get(l, "hardbounce")) ? "hard"
								   : "soft",
		    reason, bounce_class_name(rc->cls), rc->reason);
	if (reason != NULL && strcmp(reason, rc->reason) == 0)
		sc->reason.ok++;
	if (status != NULL && !corpus_pseudo_status(status) &&
	    rc->status != NULL && strcmp(status, rc->status) == 0)
		sc->status.ok++;
}

static void
corpus_print(const char *what, const struct corpus_tally *t)
{
	if (t->n == 0)
		return;
	printf("  %-34s %4d / %-4d %5.1f%%\n", what, t->ok, t->n,
	    100.0 * t->ok / t->n);
}

START_TEST(test_bounce_corpus_agrees_with_reference_labels)
{
	char *dir = xasprintf("%s/bounce-corpus", tu_shared_dir());
	char *path = xasprintf("%s/labels.jsonl", dir);
	struct corpus_score sc;
	struct corpus_file *files = NULL;
	struct corpus_tally all_kind = { 0, 0 };
	size_t nfiles = 0, i, k;
	char line[65536];
	int nlines = 0;
	FILE *fp = fopen(path, "r");

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	memset(&sc, 0, sizeof(sc));
	printf("bounce corpus: %s\n", dir);
	while (fgets(line, sizeof(line), fp) != NULL) {
		json_error_t err;
		json_t *l = json_loads(line, 0, &err);
		struct corpus_file *f;

		ck_assert_msg(
		    l != NULL, "%s:%d: %s", path, nlines + 1, err.text);
		f = corpus_get(&files, &nfiles, dir, corpus_str(l, "eml"));
		corpus_score_line(&sc, l, f);
		json_decref(l);
		nlines++;
	}
	(void)fclose(fp);

	printf("%zu files, %d label lines (%d unlabelled no-result)\n", nfiles,
	    nlines, sc.unlabelled);
	for (k = 0; k < CORPUS_NKINDS; k++) {
		if (sc.kind[k].n == 0)
			continue;
		printf("kind %s:\n", corpus_kinds[k].label);
		corpus_print("kind (files)", &sc.kind[k]);
		corpus_print("recipient found (lines)", &sc.rcpt[k]);
		if (corpus_kinds[k].kind == BOUNCE_KIND_BOUNCE) {
			corpus_print("hard/soft decision", &sc.hardsoft);
			corpus_print(
			    "status code (real codes only)", &sc.status);
			corpus_print("reason", &sc.reason);
		}
		all_kind.n += sc.kind[k].n;
		all_kind.ok += sc.kind[k].ok;
	}
	printf("all labelled files:\n");
	corpus_print("kind (files)", &all_kind);
	printf("unlabelled (no-result, real bounces Sisimai 4.25 cannot "
	       "read):\n  %d of %d read as a bounce with a recipient\n",
	    sc.unlabelled_found, sc.unlabelled);

	ck_assert_msg(sc.rcpt[0].ok >= CORPUS_FLOOR_RCPT,
	    "recipient agreement fell to %d of %d (floor %d)", sc.rcpt[0].ok,
	    sc.rcpt[0].n, CORPUS_FLOOR_RCPT);
	ck_assert_msg(sc.hardsoft.ok >= CORPUS_FLOOR_HARDSOFT,
	    "hard/soft agreement fell to %d of %d (floor %d)", sc.hardsoft.ok,
	    sc.hardsoft.n, CORPUS_FLOOR_HARDSOFT);
	ck_assert_msg(sc.status.ok >= CORPUS_FLOOR_STATUS,
	    "status agreement fell to %d of %d (floor %d)", sc.status.ok,
	    sc.status.n, CORPUS_FLOOR_STATUS);
	ck_assert_msg(sc.reason.ok >= CORPUS_FLOOR_REASON,
	    "reason agreement fell to %d of %d (floor %d)", sc.reason.ok,
	    sc.reason.n, CORPUS_FLOOR_REASON);
	/* The shared corpus is as described in its README. */
	ck_assert_int_eq(nlines, 215);
	ck_assert_int_eq(sc.hardsoft.n, 189);

	for (i = 0; i < nfiles; i++) {
		bounce_report_free(files[i].r);
		free(files[i].eml);
	}
	free(files);
	free(path);
	free(dir);
}
END_TEST

static Suite *
bounce_corpus_suite(void)
{
	Suite *s = suite_create("bounce_corpus");
	TCase *tc = tcase_create("corpus");

	tcase_add_test(tc, test_bounce_corpus_agrees_with_reference_labels);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(bounce_corpus_suite());
}
