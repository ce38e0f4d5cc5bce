/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_mustache_spec: runs the public Mustache spec tests on the engine.
 *
 * Every *.json file of $SHARED_DIR/mustache-spec is read at run time (the
 * spec is never copied into the tree) and each of its tests is rendered:
 * template, data and partials in, expected output compared. A failure is
 * reported by spec file and test name with what was expected and what
 * came out. One Check test per file; the required files (comments,
 * delimiters, interpolation, inverted, partials, sections, ~inheritance)
 * must pass every test, ~dynamic-names is counted apart, and ~lambdas is
 * skipped: the engine renders JSON data, which holds no code.
 */
#include "config.h"

#include <sys/mman.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "buf.h"
#include "testutil.h"
#include "tmpl/tmpl.h"
#include "util.h"

#define SPEC_MAX_FILES 32

struct spec_file {
	char name[64]; /* without ".json" */
	bool optional;
	int passed;
	int total;
};

/* Shared with the forked Check children so that main() can print the
 * totals after they have run. */
static struct spec_file *spec_files;
static int spec_nfiles;

/* The files that must pass; the others found are optional extensions. */
static const char *const spec_required[] = {
	"comments",
	"delimiters",
	"interpolation",
	"inverted",
	"partials",
	"sections",
	"~inheritance",
};

struct spec_partials {
	const char **names;
	struct tmpl **tmpls;
	size_t n;
};

static const struct tmpl *
spec_get_partial(void *arg, const char *name)
{
	const struct spec_partials *sp = arg;

	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(sp->names[i], name) == 0)
			return sp->tmpls[i];
	return NULL;
}

static const char *
spec_dir(void)
{
	static char *dir;

	if (dir == NULL)
		dir = xasprintf("%s/mustache-spec", tu_shared_dir());
	return dir;
}

/* s as a JSON string literal, so that newlines and spaces show; the
 * caller frees it. */
static char *
spec_quote(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *q = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return q != NULL ? q : xstrdup("(not UTF-8)");
}

/* Runs one test; true when it passed, else the failure is printed. */
static bool
spec_run_one(const char *file, json_t *test)
{
	const char *name = json_string_value(json_object_get(test, "name"));
	json_t *jt = json_object_get(test, "template");
	json_t *jexp = json_object_get(test, "expected");
	json_t *jparts = json_object_get(test, "partials");
	struct spec_partials sp = { NULL, NULL, 0 };
	struct tmpl_partials lookup = { spec_get_partial, &sp };
	struct tmpl_error err;
	struct tmpl *t = NULL;
	struct buf out;
	char where[512], msg[600];
	const char *key;
	json_t *val;
	bool ok = false;
	int ret;

	buf_init(&out);
	if (name == NULL || !json_is_string(jt) || !json_is_string(jexp)) {
		printf("%s: a test without name, template or expected\n", file);
		return false;
	}
	(void)snprintf(where, sizeof(where), "%s: %s", file, name);
	if (json_is_object(jparts)) {
		sp.names =
		    xcalloc(json_object_size(jparts) + 1, sizeof(*sp.names));
		sp.tmpls = xcalloc(
		    json_object_size(jparts) + 1, sizeof(struct tmpl *));
		json_object_foreach(jparts, key, val)
		{
			sp.names[sp.n] = key;
			sp.tmpls[sp.n] =
			    tmpl_compile(key, json_string_value(val),
				json_string_length(val), &err);
			if (sp.tmpls[sp.n] == NULL) {
				printf(
				    "FAIL %s: partial does not compile: %s\n",
				    where,
				    tmpl_error_format(&err, msg, sizeof(msg)));
				goto done;
			}
			sp.n++;
		}
	}
	t = tmpl_compile(
	    name, json_string_value(jt), json_string_length(jt), &err);
	if (t == NULL) {
		printf("FAIL %s: does not compile: %s\n", where,
		    tmpl_error_format(&err, msg, sizeof(msg)));
		goto done;
	}
	ret = tmpl_render(
	    t, json_object_get(test, "data"), &lookup, TMPL_ESCAPE_HTML, &out);
	if (ret != 0) {
		printf("FAIL %s: render error %d (%s)\n", where, ret,
		    strerror(-ret));
		goto done;
	}
	ok = out.len == json_string_length(jexp) &&
	    memcmp(out.data, json_string_value(jexp), out.len) == 0;
	if (!ok) {
		char *want = spec_quote(
		    json_string_value(jexp), json_string_length(jexp));
		char *got = spec_quote(out.data, out.len);

		printf("FAIL %s\n  expected: %s\n  got:      %s\n", where, want,
		    got);
		free(want);
		free(got);
	}
done:
	tmpl_free(t);
	for (size_t i = 0; i < sp.n; i++)
		tmpl_free(sp.tmpls[i]);
	free(sp.names);
	free(sp.tmpls);
	buf_fini(&out);
	return ok;
}

START_TEST(test_spec_file_passes_every_test)
{
	struct spec_file *sf = &spec_files[_i];
	json_error_t jerr;
	json_t *root, *tests;
	char *path;
	size_t i;

	path = xasprintf("%s/%s.json", spec_dir(), sf->name);
	root = json_load_file(path, 0, &jerr);
	if (root == NULL)
		ck_abort_msg("%s:%d: %s", path, jerr.line, jerr.text);
	tests = json_object_get(root, "tests");
	ck_assert_msg(json_is_array(tests), "%s: no \"tests\" array", path);
	sf->total = (int)json_array_size(tests);
	for (i = 0; i < json_array_size(tests); i++)
		if (spec_run_one(sf->name, json_array_get(tests, i)))
			sf->passed++;
	printf("mustache spec %s: %d/%d passed%s\n", sf->name, sf->passed,
	    sf->total, sf->optional ? " (optional)" : "");
	(void)fflush(stdout);
	json_decref(root);
	free(path);
	ck_assert_msg(sf->total > 0, "%s: no tests", sf->name);
	ck_assert_msg(sf->passed == sf->total, "%s: %d of %d tests failed",
	    sf->name, sf->total - sf->passed, sf->total);
}
END_TEST

START_TEST(test_spec_has_every_required_file)
{
	for (size_t r = 0; r < UTIL_ARRAY_LEN(spec_required); r++) {
		bool found = false;

		for (int i = 0; i < spec_nfiles; i++)
			if (strcmp(spec_files[i].name, spec_required[r]) == 0)
				found = true;
		ck_assert_msg(found, "%s/%s.json is missing", spec_dir(),
		    spec_required[r]);
	}
}
END_TEST

static int
spec_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct spec_file *)a)->name,
	    ((const struct spec_file *)b)->name);
}

/* Lists the spec files into spec_files (shared memory). */
static void
spec_list_files(void)
{
	struct dirent *de;
	DIR *d;
	size_t len;

	spec_files = mmap(NULL, SPEC_MAX_FILES * sizeof(*spec_files),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (spec_files == MAP_FAILED) {
		perror("mmap");
		exit(EXIT_FAILURE);
	}
	memset(spec_files, 0, SPEC_MAX_FILES * sizeof(*spec_files));
	d = opendir(spec_dir());
	if (d == NULL) {
		fprintf(stderr, "%s: cannot open: %s\n", spec_dir(),
		    strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL && spec_nfiles < SPEC_MAX_FILES) {
		struct spec_file *sf = &spec_files[spec_nfiles];

		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0 ||
		    len - 5 >= sizeof(sf->name))
			continue;
		/* Lambdas need code in the data; see main(). */
		if (strcmp(de->d_name, "~lambdas.json") == 0)
			continue;
		memcpy(sf->name, de->d_name, len - 5);
		sf->name[len - 5] = '\0';
		sf->optional = true;
		for (size_t r = 0; r < UTIL_ARRAY_LEN(spec_required); r++)
			if (strcmp(sf->name, spec_required[r]) == 0)
				sf->optional = false;
		spec_nfiles++;
	}
	closedir(d);
	qsort(spec_files, (size_t)spec_nfiles, sizeof(*spec_files),
	    spec_file_cmp);
}

static Suite *
mustache_spec_suite(void)
{
	Suite *s = suite_create("mustache_spec");
	TCase *tc = tcase_create("spec");

	tcase_add_test(tc, test_spec_has_every_required_file);
	tcase_add_loop_test(
	    tc, test_spec_file_passes_every_test, 0, spec_nfiles);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int ret, passed = 0, total = 0;

	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	spec_list_files();
	ret = tu_run(mustache_spec_suite());
	for (int i = 0; i < spec_nfiles; i++) {
		if (spec_files[i].optional) {
			printf("%s: %d/%d\n", spec_files[i].name,
			    spec_files[i].passed, spec_files[i].total);
			continue;
		}
		passed += spec_files[i].passed;
		total += spec_files[i].total;
	}
	printf("~lambdas: not run (lambdas need code in the data, which "
	       "JSON cannot hold; not supported)\n");
	printf("mustache spec: %d/%d passed\n", passed, total);
	munmap(spec_files, SPEC_MAX_FILES * sizeof(*spec_files));
	return ret;
}
