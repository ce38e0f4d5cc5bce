/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_bounce_corpus: the bounce parser over the shared corpus of real
 * bounces (SHARED_DIR/bounce-corpus, read in place, never copied), scored
 * against the labels of the reference analyser Sisimai 4.25: does it find
 * the same recipient, the same hard/soft decision and the same reason?
 *
 * The corpus is small, and rules written while looking at it would learn
 * its examples rather than the mail they will meet. So it is scored as
 * held-out folds: the files are split into five folds by MTA family (all
 * of a family, and of its close relatives, in one fold), and each fold
 * is parsed with every rule that was learnt from its own families
 * switched off (bounce_learnt_hold_out(), bounce_int.h): the figures
 * printed per fold and in total are those of mail the rules were not
 * written against. Rules that come from elsewhere (the reason
 * definitions of the reference analyser and the formats of the MTAs it
 * knows, RFC 3463) are never held out. CORPUS_DETAIL=all (or a list of
 * fold numbers, "2,5") prints each disagreement of those folds;
 * CORPUS_IN_SAMPLE=1 holds nothing out, to see the rules on the
 * examples they were written for.
 *
 * Counting: a label line with a recipient is one (file, recipient) pair;
 * a pair whose recipient we do not report counts against every measure
 * of that line. Files labelled "no-result" (bounces Sisimai 4.25 cannot
 * read) are unlabelled: they are reported apart and not scored. Two
 * reasons Sisimai 4.25 did not have yet count as the older name they
 * replace: "speeding" as "toomanyconn", "authfailure" as the
 * "securityerror", "blocked" or "policyviolation" (DMARC) an SPF, DKIM
 * or DMARC failure got then.
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
#include "bounce/bounce_int.h"
#include "buf.h"
#include "testutil.h"
#include "util.h"

#define CORPUS_FOLDS 5

/* What the held-out folds must reach, in per cent of bounce lines. */
#define CORPUS_MIN_RCPT     95.0
#define CORPUS_MIN_HARDSOFT 95.0
#define CORPUS_MIN_REASON   85.0

struct corpus_tally {
	int n;
	int ok;
};

struct corpus_score {
	struct corpus_tally rcpt, hardsoft, reason, status, kind;
};

struct corpus_file {
	char *eml;
	const char *family;
	int fold;
	struct bounce_report *r;
	bool kind_counted;
};

/* Families that are one MTA, or one provider, under several names. */
static const struct {
	const char *name;
	const char *family;
} corpus_relatives[] = {
	{ "v5sendmail", "sendmail" },
	{ "office365", "microsoft" },
	{ "outlook", "microsoft" },
	{ "exchange2003", "microsoft" },
	{ "exchange2007", "microsoft" },
	{ "gmail", "google" },
	{ "google", "google" },
	{ "googlegroups", "google" },
	{ "gsuite", "google" },
	{ "googleworkspace", "google" },
	{ "amazonses", "amazon" },
	{ "receivingses", "amazon" },
	{ "amazonworkmail", "amazon" },
	{ "ezweb", "kddi" },
	{ "kddi", "kddi" },
	{ "yahoo", "yahoo" },
	{ "aol", "yahoo" },
	{ "verizon", "yahoo" },
	{ "zoho", "zoho" },
};

/* "eml/lhost-postfix-07.eml" -> "postfix"; interned in a small table. */
static const char *
corpus_family(const char *eml)
{
	static char names[128][48];
	static size_t n;
	char f[48];
	const char *p = strrchr(eml, '/');
	size_t len, i;

	p = p != NULL ? p + 1 : eml;
	if (strncmp(p, "lhost-", 6) == 0 || strncmp(p, "rhost-", 6) == 0)
		p += 6;
	len = strcspn(p, ".");
	while (len > 0 && p[len - 1] >= '0' && p[len - 1] <= '9')
		len--;
	if (len > 0 && p[len - 1] == '-')
		len--;
	if (len >= sizeof(f))
		len = sizeof(f) - 1;
	memcpy(f, p, len);
	f[len] = '\0';
	for (i = 0; i < UTIL_ARRAY_LEN(corpus_relatives); i++)
		if (strcmp(f, corpus_relatives[i].name) == 0)
			(void)snprintf(
			    f, sizeof(f), "%s", corpus_relatives[i].family);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], f) == 0)
			return names[i];
	ck_assert_uint_lt(n, UTIL_ARRAY_LEN(names));
	(void)snprintf(names[n], sizeof(names[n]), "%s", f);
	return names[n++];
}

static const char *
corpus_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool
corpus_pseudo_status(const char *s)
{
	/* Sisimai's made-up codes: x.0.9xx */
	return strlen(s) == 7 && strncmp(s + 1, ".0.9", 4) == 0;
}

static bool
corpus_same_reason(const char *label, const char *ours)
{
	if (strcmp(label, ours) == 0)
		return true;
	if (strcmp(ours, "speeding") == 0)
		return strcmp(label, "toomanyconn") == 0;
	if (strcmp(ours, "authfailure") == 0)
		return strcmp(label, "securityerror") == 0 ||
		    strcmp(label, "blocked") == 0 ||
		    strcmp(label, "policyviolation") == 0;
	return false;
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

static void
corpus_count(struct corpus_tally *t, bool ok)
{
	t->n++;
	t->ok += ok;
}

/* CORPUS_IN_SAMPLE set (non-empty): hold nothing out. */
static bool
corpus_in_sample(void)
{
	const char *v = getenv("CORPUS_IN_SAMPLE");

	return v != NULL && *v != '\0';
}

static bool
corpus_detail(int fold)
{
	const char *d = getenv("CORPUS_DETAIL");
	char num[16];

	if (d == NULL || *d == '\0')
		return false;
	if (strcmp(d, "all") == 0)
		return true;
	(void)snprintf(num, sizeof(num), "%d", fold + 1);
	for (const char *p = d; *p != '\0';
	     p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, num, strlen(num)) == 0 &&
		    (p[strlen(num)] == ',' || p[strlen(num)] == '\0'))
			return true;
	return false;
}

/* Scores one label line into sc. */
static void
corpus_score_line(struct corpus_score *sc, json_t *l, struct corpus_file *f,
    int *unlabelled, int *unlabelled_found)
{
	const char *kind = corpus_str(l, "kind");
	const char *rcpt = corpus_str(l, "recipient");
	const char *status = corpus_str(l, "deliverystatus");
	const char *reason = corpus_str(l, "reason");
	bool hard = json_is_true(json_object_get(l, "hardbounce"));
	bool show = corpus_detail(f->fold);
	enum bounce_kind want;
	const struct bounce_rcpt *rc;

	if (strcmp(kind, "no-result") == 0) {
		(*unlabelled)++;
		*unlabelled_found +=
		    f->r->kind == BOUNCE_KIND_BOUNCE && f->r->n_rcpts > 0;
		return;
	}
	if (strcmp(kind, "bounce") == 0)
		want = BOUNCE_KIND_BOUNCE;
	else if (strcmp(kind, "feedback") == 0)
		want = BOUNCE_KIND_FEEDBACK;
	else if (strcmp(kind, "vacation") == 0)
		want = BOUNCE_KIND_AUTOREPLY;
	else if (strcmp(kind, "delivered") == 0)
		want = BOUNCE_KIND_DELIVERED;
	else
		want = BOUNCE_KIND_OTHER;
	if (!f->kind_counted) {
		corpus_count(&sc->kind, f->r->kind == want);
		if (show && f->r->kind != want)
			printf(
			    "  fold %d kind differs: %s: label %s, ours %s\n",
			    f->fold + 1, f->eml, kind,
			    bounce_kind_name(f->r->kind));
		f->kind_counted = true;
	}
	if (want != BOUNCE_KIND_BOUNCE || rcpt == NULL)
		return;
	rc = corpus_rcpt(f->r, rcpt);
	corpus_count(&sc->rcpt, rc != NULL);
	if (rc == NULL) {
		corpus_count(&sc->hardsoft, false);
		corpus_count(&sc->reason, false);
		if (show)
			printf("  fold %d recipient missed: %s: %s\n",
			    f->fold + 1, f->eml, rcpt);
		return;
	}
	corpus_count(&sc->hardsoft,
	    rc->cls == (hard ? BOUNCE_CLASS_HARD : BOUNCE_CLASS_SOFT));
	corpus_count(&sc->reason,
	    reason != NULL && corpus_same_reason(reason, rc->reason));
	if (status != NULL && !corpus_pseudo_status(status))
		corpus_count(&sc->status,
		    rc->status != NULL && strcmp(status, rc->status) == 0);
	if (show &&
	    (reason == NULL || !corpus_same_reason(reason, rc->reason) ||
		rc->cls != (hard ? BOUNCE_CLASS_HARD : BOUNCE_CLASS_SOFT)))
		printf("  fold %d differs: %s: %s: label %s %s (%s %s), ours "
		       "%s %s (%s %s)\n",
		    f->fold + 1, f->eml, rcpt, hard ? "hard" : "soft",
		    reason != NULL ? reason : "-",
		    status != NULL ? status : "-",
		    corpus_str(l, "smtpcommand") != NULL
			? corpus_str(l, "smtpcommand")
			: "-",
		    bounce_class_name(rc->cls), rc->reason,
		    rc->status != NULL ? rc->status : "-",
		    bounce_command_name(rc->command) != NULL
			? bounce_command_name(rc->command)
			: "-");
}

static void
corpus_print(const char *what, const struct corpus_tally *t)
{
	if (t->n == 0)
		return;
	printf("  %-30s %4d / %-4d %5.1f%%\n", what, t->ok, t->n,
	    100.0 * t->ok / t->n);
}

static void
corpus_add(struct corpus_tally *to, const struct corpus_tally *t)
{
	to->n += t->n;
	to->ok += t->ok;
}

static double
corpus_pct(const struct corpus_tally *t)
{
	return t->n > 0 ? 100.0 * t->ok / t->n : 0.0;
}

/*
 * The folds: families by number of bounce lines, largest first, each
 * into the fold that has the fewest lines so far (the first of equals).
 * Deterministic, and a family never straddles two folds.
 */
static void
corpus_make_folds(struct corpus_file *files, size_t nfiles, json_t **lines,
    size_t nlines, struct corpus_file **line_file)
{
	const char *fam[128];
	int size[128], fold_of[128], fold_size[CORPUS_FOLDS] = { 0 };
	size_t nfam = 0, i, j;

	for (i = 0; i < nfiles; i++) {
		for (j = 0; j < nfam && fam[j] != files[i].family; j++)
			;
		if (j == nfam) {
			ck_assert_uint_lt(nfam, UTIL_ARRAY_LEN(fam));
			fam[nfam] = files[i].family;
			size[nfam++] = 0;
		}
	}
	for (i = 0; i < nlines; i++) {
		if (strcmp(corpus_str(lines[i], "kind"), "bounce") != 0)
			continue;
		for (j = 0; fam[j] != line_file[i]->family; j++)
			;
		size[j]++;
	}
	for (;;) {
		size_t best = nfam;
		int k, small = 0;

		for (j = 0; j < nfam; j++)
			if (size[j] >= 0 &&
			    (best == nfam || size[j] > size[best] ||
				(size[j] == size[best] &&
				    strcmp(fam[j], fam[best]) < 0)))
				best = j;
		if (best == nfam)
			break;
		for (k = 1; k < CORPUS_FOLDS; k++)
			if (fold_size[k] < fold_size[small])
				small = k;
		fold_of[best] = small;
		fold_size[small] += size[best];
		size[best] = -1;
	}
	for (i = 0; i < nfiles; i++)
		for (j = 0; j < nfam; j++)
			if (fam[j] == files[i].family)
				files[i].fold = fold_of[j];
}

START_TEST(test_bounce_corpus_agrees_with_reference_on_held_out_folds)
{
	char *dir = xasprintf("%s/bounce-corpus", tu_shared_dir());
	char *path = xasprintf("%s/labels.jsonl", dir);
	struct corpus_score fold[CORPUS_FOLDS], all;
	struct corpus_file *files = NULL;
	struct corpus_file **line_file = NULL;
	json_t **lines = NULL;
	size_t cap = 0;
	size_t nfiles = 0, nlines = 0, i, j;
	int unlabelled = 0, unlabelled_found = 0, k;
	char buf[65536];
	FILE *fp = fopen(path, "r");

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	memset(fold, 0, sizeof(fold));
	memset(&all, 0, sizeof(all));
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		json_error_t err;
		json_t *l = json_loads(buf, 0, &err);
		const char *eml;

		ck_assert_msg(
		    l != NULL, "%s:%zu: %s", path, nlines + 1, err.text);
		eml = corpus_str(l, "eml");
		ck_assert_msg(eml != NULL, "%s:%zu: no eml", path, nlines + 1);
		for (j = 0; j < nfiles && strcmp(files[j].eml, eml) != 0; j++)
			;
		if (j == nfiles) {
			files =
			    xreallocarray(files, nfiles + 1, sizeof(*files));
			memset(&files[nfiles], 0, sizeof(*files));
			files[nfiles].eml = xstrdup(eml);
			files[nfiles].family = corpus_family(eml);
			nfiles++;
		}
		if (nlines == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			lines = xreallocarray(lines, cap, sizeof(json_t *));
			line_file = xreallocarray(
			    line_file, cap, sizeof(struct corpus_file *));
		}
		lines[nlines] = l;
		line_file[nlines] = (struct corpus_file *)(uintptr_t)j;
		nlines++;
	}
	(void)fclose(fp);
	for (i = 0; i < nlines; i++)
		line_file[i] = &files[(uintptr_t)line_file[i]];
	corpus_make_folds(files, nfiles, lines, nlines, line_file);

	/* Each fold parsed with the rules learnt from its families held
	 * out. */
	for (k = 0; k < CORPUS_FOLDS; k++) {
		struct buf held;

		buf_init(&held);
		buf_putc(&held, ',');
		for (i = 0; i < nfiles; i++) {
			char *one = xasprintf(",%s,", files[i].family);

			if (files[i].fold == k &&
			    strstr(held.data, one) == NULL) {
				buf_puts(&held, files[i].family);
				buf_putc(&held, ',');
			}
			free(one);
		}
		/* CORPUS_IN_SAMPLE=1 holds nothing out: the figures of
		 * the rules on the mail they were written against, to
		 * check that a rule does what it was written for. */
		if (!corpus_in_sample())
			bounce_learnt_hold_out(held.data + 1);
		for (i = 0; i < nfiles; i++) {
			char *p;
			size_t len;
			char *data;

			if (files[i].fold != k)
				continue;
			p = xasprintf("%s/%s", dir, files[i].eml);
			data = tu_read_file(p, &len);
			ck_assert_msg(data != NULL, "cannot read %s", p);
			ck_assert_msg(bounce_parse(data, len, &files[i].r) == 0,
			    "%s: bounce_parse failed", p);
			free(data);
			free(p);
		}
		bounce_learnt_hold_out(NULL);
		buf_fini(&held);
	}
	printf("bounce corpus: %s: %zu files, %zu label lines\n", dir, nfiles,
	    nlines);
	for (i = 0; i < nlines; i++)
		corpus_score_line(&fold[line_file[i]->fold], lines[i],
		    line_file[i], &unlabelled, &unlabelled_found);

	for (k = 0; k < CORPUS_FOLDS; k++) {
		const char *seen[64];
		size_t nseen = 0;

		printf("fold %d%s:", k + 1,
		    !corpus_in_sample() ? ", held out" : " (in sample)");
		for (i = 0; i < nfiles; i++) {
			if (files[i].fold != k)
				continue;
			for (j = 0; j < nseen && seen[j] != files[i].family;
			     j++)
				;
			if (j == nseen && nseen < UTIL_ARRAY_LEN(seen)) {
				seen[nseen++] = files[i].family;
				printf(" %s", files[i].family);
			}
		}
		printf("\n");
		corpus_print("recipient found", &fold[k].rcpt);
		corpus_print("hard/soft", &fold[k].hardsoft);
		corpus_print("reason", &fold[k].reason);
		corpus_add(&all.rcpt, &fold[k].rcpt);
		corpus_add(&all.hardsoft, &fold[k].hardsoft);
		corpus_add(&all.reason, &fold[k].reason);
		corpus_add(&all.status, &fold[k].status);
		corpus_add(&all.kind, &fold[k].kind);
	}
	printf(!corpus_in_sample()
		? "all folds, each held out:\n"
		: "all folds, IN SAMPLE (nothing held out):\n");
	corpus_print("recipient found", &all.rcpt);
	corpus_print("hard/soft", &all.hardsoft);
	corpus_print("reason", &all.reason);
	corpus_print("status code (real codes)", &all.status);
	corpus_print("kind (labelled files)", &all.kind);
	printf("unlabelled (no-result: real bounces Sisimai 4.25 cannot "
	       "read): %d of %d read as a bounce with a recipient\n",
	    unlabelled_found, unlabelled);

	(void)fflush(stdout);
	/* The shared corpus is as its README describes. */
	ck_assert_uint_eq(nlines, 215);
	ck_assert_int_eq(all.hardsoft.n, 189);
	ck_assert_msg(corpus_pct(&all.rcpt) >= CORPUS_MIN_RCPT,
	    "recipient agreement %.1f%% < %.1f%%", corpus_pct(&all.rcpt),
	    CORPUS_MIN_RCPT);
	ck_assert_msg(corpus_pct(&all.hardsoft) >= CORPUS_MIN_HARDSOFT,
	    "hard/soft agreement %.1f%% < %.1f%%", corpus_pct(&all.hardsoft),
	    CORPUS_MIN_HARDSOFT);
	ck_assert_msg(corpus_pct(&all.reason) >= CORPUS_MIN_REASON,
	    "reason agreement %.1f%% < %.1f%%", corpus_pct(&all.reason),
	    CORPUS_MIN_REASON);

	for (i = 0; i < nlines; i++)
		json_decref(lines[i]);
	for (i = 0; i < nfiles; i++) {
		bounce_report_free(files[i].r);
		free(files[i].eml);
	}
	free(lines);
	free(line_file);
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

	tcase_add_test(
	    tc, test_bounce_corpus_agrees_with_reference_on_held_out_folds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(bounce_corpus_suite());
}
