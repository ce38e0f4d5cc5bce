/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_tmpl: the template engine as familymail uses it: HTML escaping,
 * parse errors with their position, template folders (sets), limits,
 * hostile values, and the `familymail render` command run as a user
 * would. The Mustache spec itself is check_mustache_spec.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "buf.h"
#include "testutil.h"
#include "tmpl/tmpl.h"
#include "util.h"

/* Renders src with the JSON text data; returns the output (caller
 * frees), failing the test if it does not compile or render. */
static char *
render(const char *src, const char *data, enum tmpl_escape esc)
{
	struct tmpl_error err;
	json_error_t jerr;
	struct tmpl *t;
	struct buf out;
	json_t *ctx;
	char msg[600];
	int ret;

	ctx = json_loads(data, 0, &jerr);
	ck_assert_msg(ctx != NULL, "test data: %s", jerr.text);
	t = tmpl_compile("t.mustache", src, strlen(src), &err);
	ck_assert_msg(t != NULL, "%s", tmpl_error_format(&err, msg, 600));
	buf_init(&out);
	ret = tmpl_render(t, ctx, NULL, esc, &out);
	ck_assert_int_eq(ret, 0);
	tmpl_free(t);
	json_decref(ctx);
	return buf_take(&out);
}

/* Compiles src, which must fail; returns the formatted error. */
static char *
compile_error(const char *src)
{
	struct tmpl_error err;
	struct tmpl *t;
	char msg[600];

	t = tmpl_compile("bad.mustache", src, strlen(src), &err);
	ck_assert_msg(t == NULL, "'%s' compiled", src);
	return xstrdup(tmpl_error_format(&err, msg, sizeof(msg)));
}

#define ck_assert_render(src, data, esc, want)       \
	do {                                         \
		char *got_ = render(src, data, esc); \
		ck_assert_str_eq(got_, want);        \
		free(got_);                          \
	} while (0)

#define ck_assert_compile_error(src, want)       \
	do {                                     \
		char *got_ = compile_error(src); \
		ck_assert_str_eq(got_, want);    \
		free(got_);                      \
	} while (0)

START_TEST(test_tmpl_escapes_html_specials_in_double_braces)
{
	const char *data = "{\"x\": \"a & b < c > d \\\" e ' f\"}";

	ck_assert_render("{{x}}", data, TMPL_ESCAPE_HTML,
	    "a &amp; b &lt; c &gt; d &quot; e &#39; f");
	ck_assert_render(
	    "{{{x}}}", data, TMPL_ESCAPE_HTML, "a & b < c > d \" e ' f");
	ck_assert_render(
	    "{{& x}}", data, TMPL_ESCAPE_HTML, "a & b < c > d \" e ' f");
}
END_TEST

START_TEST(test_tmpl_escape_none_leaves_values_as_they_are)
{
	ck_assert_render("<p>{{x}}</p>", "{\"x\": \"Tom & <Jerry>\"}",
	    TMPL_ESCAPE_NONE, "<p>Tom & <Jerry></p>");
}
END_TEST

START_TEST(test_tmpl_renders_numbers_and_booleans)
{
	ck_assert_render("{{i}} {{r}} {{t}} {{n}}|",
	    "{\"i\": 42, \"r\": 1.5, \"t\": true, \"n\": null}",
	    TMPL_ESCAPE_HTML, "42 1.5 true |");
}
END_TEST

START_TEST(test_tmpl_resolves_dotted_names)
{
	const char *data = "{\"course\": {\"venue\": {\"name\": \"Hall\"}},"
			   " \"name\": \"outer\"}";

	ck_assert_render(
	    "{{course.venue.name}}", data, TMPL_ESCAPE_HTML, "Hall");
	ck_assert_render("{{#course.venue}}{{name}}{{/course.venue}}", data,
	    TMPL_ESCAPE_HTML, "Hall");
	/* A missing part ends the lookup: no falling back to "name" above. */
	ck_assert_render(
	    "[{{course.room.name}}]", data, TMPL_ESCAPE_HTML, "[]");
}
END_TEST

START_TEST(test_tmpl_escapes_hostile_values_in_html)
{
	const char *data = "{\"name\": \"<script>alert(1)</script>\","
			   " \"org\": \"\\\"><img src=x onerror=alert(1)>\"}";

	ck_assert_render("<p>{{name}}</p><a title=\"{{org}}\">x</a>", data,
	    TMPL_ESCAPE_HTML,
	    "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
	    "<a title=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\">x</a>");
}
END_TEST

START_TEST(test_tmpl_escapes_a_one_megabyte_value)
{
	size_t n = 1024 * 1024, i;
	char *big = xmalloc(n + 1);
	json_t *ctx;
	struct tmpl *t;
	struct buf out;

	for (i = 0; i < n; i++)
		big[i] = i % 2 == 0 ? '<' : 'a';
	big[n] = '\0';
	ctx = json_pack("{s:s}", "x", big);
	ck_assert_ptr_nonnull(ctx);
	t = tmpl_compile(NULL, "{{x}}", 5, NULL);
	ck_assert_ptr_nonnull(t);
	buf_init(&out);
	ck_assert_int_eq(tmpl_render(t, ctx, NULL, TMPL_ESCAPE_HTML, &out), 0);
	ck_assert_uint_eq(out.len, n / 2 * strlen("&lt;a"));
	ck_assert_ptr_null(memchr(out.data, '<', out.len));
	buf_fini(&out);
	tmpl_free(t);
	json_decref(ctx);
	free(big);
}
END_TEST

START_TEST(test_tmpl_error_names_unclosed_section)
{
	ck_assert_compile_error("Dear {{name}},\n  {{#posts}}\n{{title}}\n",
	    "bad.mustache:2:3: unclosed section 'posts'");
}
END_TEST

START_TEST(test_tmpl_error_names_mismatched_close)
{
	ck_assert_compile_error("{{#a}}\n{{#b}}x{{/a}}\n",
	    "bad.mustache:2:1: unclosed section 'b' (closing tag 'a' at 2:8)");
	ck_assert_compile_error("x\n\n   {{/a}}",
	    "bad.mustache:3:4: closing tag 'a' without an opening tag");
}
END_TEST

START_TEST(test_tmpl_error_names_bad_delimiter)
{
	char *got = compile_error("ok\nthen {{=<% = %>=}} x");

	ck_assert_msg(
	    strncmp(got, "bad.mustache:2:6: invalid set-delimiter", 39) == 0,
	    "%s", got);
	free(got);
	got = compile_error("{{=<%>=}}");
	ck_assert_msg(
	    strncmp(got, "bad.mustache:1:1: invalid set-delimiter", 39) == 0,
	    "%s", got);
	free(got);
	ck_assert_compile_error("{{=<% %>=}}\n<%x}}",
	    "bad.mustache:2:1: unclosed tag: no '%>' after '<%'");
}
END_TEST

START_TEST(test_tmpl_error_counts_columns_in_characters)
{
	/* "é" is two bytes and one column. */
	ck_assert_compile_error(
	    "café {{#x}}", "bad.mustache:1:6: unclosed section 'x'");
}
END_TEST

START_TEST(test_tmpl_load_reports_unreadable_file)
{
	struct tmpl_error err;
	char msg[600];

	ck_assert_ptr_null(tmpl_load("/nonexistent/t.mustache", &err));
	ck_assert_str_eq(tmpl_error_format(&err, msg, sizeof(msg)),
	    "/nonexistent/t.mustache: No such file or directory");
}
END_TEST

static const struct tmpl *
self_partial(void *arg, const char *name)
{
	(void)name;
	return arg;
}

START_TEST(test_tmpl_refuses_recursive_partial)
{
	struct tmpl_partials partials = { self_partial, NULL };
	struct tmpl *t;
	struct buf out;

	t = tmpl_compile("loop", "x{{>loop}}", 10, NULL);
	ck_assert_ptr_nonnull(t);
	partials.arg = t;
	buf_init(&out);
	ck_assert_int_eq(
	    tmpl_render(t, NULL, &partials, TMPL_ESCAPE_HTML, &out), -ELOOP);
	buf_fini(&out);
	tmpl_free(t);
}
END_TEST

START_TEST(test_tmpl_refuses_oversized_and_overnested_templates)
{
	struct tmpl_error err;
	struct buf src;
	char msg[600];
	struct tmpl *t;
	int i;

	buf_init(&src);
	for (i = 0; i < TMPL_MAX_SIZE; i++)
		buf_putc(&src, 'a');
	t = tmpl_compile("max", src.data, src.len, &err);
	ck_assert_ptr_nonnull(t);
	tmpl_free(t);
	buf_putc(&src, 'a');
	ck_assert_ptr_null(tmpl_compile("big", src.data, src.len, &err));
	ck_assert_str_eq(tmpl_error_format(&err, msg, sizeof(msg)),
	    "big: template larger than 1048576 bytes");

	buf_reset(&src);
	for (i = 0; i <= TMPL_MAX_NESTING; i++)
		buf_puts(&src, "{{#a}}");
	ck_assert_ptr_null(tmpl_compile("deep", src.data, src.len, &err));
	ck_assert_int_eq(err.line, 1);
	ck_assert_int_eq(err.column, 6 * TMPL_MAX_NESTING + 1);
	buf_fini(&src);
}
END_TEST

/* ------------------------------------------------------ template sets */

static char *set_dir;

static void
set_write(const char *name, const char *s)
{
	free(tu_write_file(set_dir, name, s));
}

static void
set_mkdir(const char *name)
{
	char *path = xasprintf("%s/%s", set_dir, name);

	ck_assert_int_eq(mkdir(path, 0700), 0);
	free(path);
}

/* A small valid folder: two kinds sharing a layout parent. */
static void
set_setup(void)
{
	set_dir = tu_mkdtemp();
	set_mkdir("partials");
	set_mkdir("welcome");
	set_mkdir("digest");
	set_mkdir(".git");
	set_write("README", "not a kind\n");
	set_write("partials/layout.mustache",
	    "<html><body>\n{{$body}}{{/body}}\n{{>footer}}\n</body></html>\n");
	set_write("partials/footer.mustache", "<p>{{sender.name}}</p>\n");
	/* An editor's swap file: must be ignored, it does not compile. */
	set_write("partials/.layout.mustache.swp", "{{#broken");
	set_write("welcome/subject.mustache", "Welcome, {{name}} & co");
	set_write("welcome/text.mustache", "Hello {{name}} <{{email}}>\n");
	set_write("welcome/html.mustache",
	    "{{<layout}}{{$body}}<p>Hello {{name}}</p>{{/body}}{{/layout}}");
	set_write("digest/subject.mustache", "Digest");
	set_write("digest/text.mustache", "{{#posts}}- {{title}}\n{{/posts}}");
	set_write("digest/html.mustache", "{{#posts}}{{title}}{{/posts}}");
	set_write("digest/.notes.mustache", "{{#broken");
}

static void
set_teardown(void)
{
	tu_rmtree(set_dir);
	free(set_dir);
	set_dir = NULL;
}

static char *
set_load_error(void)
{
	struct tmpl_error err;
	struct tmpl_set *s;
	char msg[600];

	s = tmpl_set_load(set_dir, &err);
	ck_assert_msg(s == NULL, "the set loaded");
	tmpl_error_format(&err, msg, sizeof(msg));
	/* Relative to the folder, so expectations read simply. */
	if (strncmp(msg, set_dir, strlen(set_dir)) == 0)
		return xstrdup(msg + strlen(set_dir) + 1);
	return xstrdup(msg);
}

START_TEST(test_tmpl_set_loads_kinds_sorted_and_ignores_dot_files)
{
	struct tmpl_error err;
	struct tmpl_set *s;
	char msg[600];

	s = tmpl_set_load(set_dir, &err);
	ck_assert_msg(
	    s != NULL, "%s", tmpl_error_format(&err, msg, sizeof(msg)));
	ck_assert_uint_eq(tmpl_set_count(s), 2);
	ck_assert_str_eq(tmpl_set_kind(s, 0), "digest");
	ck_assert_str_eq(tmpl_set_kind(s, 1), "welcome");
	ck_assert(tmpl_set_has(s, "welcome"));
	ck_assert(!tmpl_set_has(s, "partials"));
	ck_assert(!tmpl_set_has(s, ".git"));
	tmpl_set_free(s);
}
END_TEST

START_TEST(test_tmpl_set_renders_each_part_with_its_escaping)
{
	struct tmpl_set *s;
	struct buf out;
	json_t *ctx;

	s = tmpl_set_load(set_dir, NULL);
	ck_assert_ptr_nonnull(s);
	ctx = json_pack("{s:s, s:s, s:{s:s}}", "name", "Ann <\"A\">", "email",
	    "ann@example.org", "sender", "name", "Family & Co");
	buf_init(&out);
	ck_assert_int_eq(
	    tmpl_set_render(s, "welcome", "subject", ctx, &out), 0);
	ck_assert_str_eq(out.data, "Welcome, Ann <\"A\"> & co");
	buf_reset(&out);
	ck_assert_int_eq(tmpl_set_render(s, "welcome", "text", ctx, &out), 0);
	ck_assert_str_eq(out.data, "Hello Ann <\"A\"> <ann@example.org>\n");
	buf_reset(&out);
	ck_assert_int_eq(tmpl_set_render(s, "welcome", "html", ctx, &out), 0);
	ck_assert_str_eq(out.data,
	    "<html><body>\n<p>Hello Ann &lt;&quot;A&quot;&gt;</p>\n"
	    "<p>Family &amp; Co</p>\n</body></html>\n");
	buf_reset(&out);
	ck_assert_int_eq(
	    tmpl_set_render(s, "nosuch", "html", ctx, &out), -ENOENT);
	ck_assert_int_eq(
	    tmpl_set_render(s, "welcome", "footer", ctx, &out), -ENOENT);
	buf_fini(&out);
	json_decref(ctx);
	tmpl_set_free(s);
}
END_TEST

START_TEST(test_tmpl_set_names_missing_part)
{
	char *path = xasprintf("%s/digest/html.mustache", set_dir);
	char *msg;

	ck_assert_int_eq(unlink(path), 0);
	free(path);
	msg = set_load_error();
	ck_assert_str_eq(
	    msg, "digest/html.mustache: No such file or directory");
	free(msg);
}
END_TEST

START_TEST(test_tmpl_set_names_unknown_partial_with_position)
{
	char *msg, *want;

	set_write("digest/text.mustache", "Posts:\n  {{> post_line}}\n");
	msg = set_load_error();
	want = xasprintf("digest/text.mustache:2:3: no partial 'post_line' "
			 "(looked for %s/partials/post_line.mustache)",
	    set_dir);
	ck_assert_str_eq(msg, want);
	free(msg);
	free(want);
}
END_TEST

START_TEST(test_tmpl_set_names_broken_partial)
{
	char *msg;

	set_write("partials/footer.mustache", "<p>\n{{#sender}}</p>");
	msg = set_load_error();
	ck_assert_str_eq(
	    msg, "partials/footer.mustache:2:1: unclosed section 'sender'");
	free(msg);
}
END_TEST

/* ----------------------------------------------------- familymail render */

static char *
render_bin(void)
{
	return xasprintf("%s/src/familymail", tu_builddir());
}

/* Runs familymail render with args (NULL-terminated) and returns its
 * exit status; *output gets stdout and stderr together (caller frees). */
static int
render_cmd(char **output, ...)
{
	char *argv[16], *log = xasprintf("%s/render.log", set_dir);
	va_list ap;
	int n = 0, status;

	argv[n++] = render_bin();
	argv[n++] = "render";
	va_start(ap, output);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	unlink(log);
	status = tu_run_cmd(argv, log, 10000);
	*output = tu_read_file(log, NULL);
	if (*output == NULL)
		*output = xstrdup("");
	free(argv[0]);
	free(log);
	return status;
}

static char *
set_path(const char *name)
{
	return xasprintf("%s/%s", set_dir, name);
}

START_TEST(test_render_prints_html_with_layout_escaped)
{
	char *tpl = set_path("welcome/html.mustache");
	char *data = set_path("d.json");
	char *pdir = set_path("partials");
	char *out;

	set_write("d.json",
	    "{\"name\": \"<script>x</script>\", "
	    "\"sender\": {\"name\": \"St Anne's\"}}");
	ck_assert_int_eq(render_cmd(&out, "--template", tpl, "--data", data,
			     "--partials", pdir, (char *)NULL),
	    0);
	ck_assert_str_eq(out,
	    "<html><body>\n<p>Hello &lt;script&gt;x&lt;/script&gt;</p>\n"
	    "<p>St Anne&#39;s</p>\n</body></html>\n");
	free(out);
	ck_assert_int_eq(render_cmd(&out, "--escape", "none", "--template", tpl,
			     "--data", data, "--partials", pdir, (char *)NULL),
	    0);
	ck_assert_ptr_nonnull(strstr(out, "<p>Hello <script>x</script></p>"));
	free(out);
	free(tpl);
	free(data);
	free(pdir);
}
END_TEST

START_TEST(test_render_does_not_escape_text_by_default)
{
	char *tpl = set_path("welcome/text.mustache");
	char *data = set_path("d.json");
	char *out;

	set_write("d.json", "{\"name\": \"Tom & Jerry\", \"email\": \"t@x\"}");
	ck_assert_int_eq(
	    render_cmd(&out, "--template", tpl, "--data", data, (char *)NULL),
	    0);
	ck_assert_str_eq(out, "Hello Tom & Jerry <t@x>\n");
	free(out);
	ck_assert_int_eq(render_cmd(&out, "--escape=html", "--template", tpl,
			     "--data", data, (char *)NULL),
	    0);
	ck_assert_str_eq(out, "Hello Tom &amp; Jerry <t@x>\n");
	free(out);
	free(tpl);
	free(data);
}
END_TEST

START_TEST(test_render_reports_template_error_with_position)
{
	char *tpl = set_path("broken.mustache");
	char *data = set_path("d.json");
	char *pdir = set_path("partials");
	char *out, *want;

	set_write("broken.mustache", "Hello\n\t{{#posts}}\n");
	set_write("d.json", "{}");
	ck_assert_int_eq(
	    render_cmd(&out, "--template", tpl, "--data", data, (char *)NULL),
	    65);
	want = xasprintf("%s:2:2: unclosed section 'posts'\n", tpl);
	ck_assert_str_eq(out, want);
	free(want);
	free(out);

	/* A partial the template names that the folder lacks. */
	set_write("broken.mustache", "x\n {{> nothere}}");
	ck_assert_int_eq(render_cmd(&out, "--template", tpl, "--data", data,
			     "--partials", pdir, (char *)NULL),
	    65);
	want = xasprintf("%s:2:2: no partial 'nothere' (looked for "
			 "%s/nothere.mustache)\n",
	    tpl, pdir);
	ck_assert_str_eq(out, want);
	free(want);
	free(out);
	free(tpl);
	free(data);
	free(pdir);
}
END_TEST

START_TEST(test_render_reports_bad_data_and_missing_files)
{
	char *tpl = set_path("welcome/text.mustache");
	char *data = set_path("d.json");
	char *missing = set_path("nothere.json");
	char *out, *want;

	set_write("d.json", "{\"name\": \"x\",\n \"email\": }\n");
	ck_assert_int_eq(
	    render_cmd(&out, "--template", tpl, "--data", data, (char *)NULL),
	    65);
	want = xasprintf("%s:2:", data);
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
	free(want);
	free(out);

	ck_assert_int_eq(render_cmd(&out, "--template", tpl, "--data", missing,
			     (char *)NULL),
	    66);
	want = xasprintf("%s: No such file or directory\n", missing);
	ck_assert_str_eq(out, want);
	free(want);
	free(out);

	ck_assert_int_eq(render_cmd(&out, "--template", missing, "--data", data,
			     (char *)NULL),
	    66);
	free(out);
	ck_assert_int_eq(render_cmd(&out, "--template", tpl, "--data", data,
			     "--partials", missing, (char *)NULL),
	    66);
	free(out);
	free(tpl);
	free(data);
	free(missing);
}
END_TEST

START_TEST(test_render_refuses_bad_usage)
{
	char *out;

	ck_assert_int_eq(render_cmd(&out, (char *)NULL), 64);
	ck_assert_ptr_nonnull(strstr(out, "usage: familymail render"));
	free(out);
	ck_assert_int_eq(render_cmd(&out, "--template", "a", "--data", "b",
			     "--escape", "xml", (char *)NULL),
	    64);
	ck_assert_ptr_nonnull(strstr(out, "--escape must be html or none"));
	free(out);
	ck_assert_int_eq(render_cmd(&out, "--template", "a", "--data", "b",
			     "extra", (char *)NULL),
	    64);
	free(out);
}
END_TEST

/* Found by fuzzing: sections nested over a list multiply, so 40 of
 * them over four items and nothing inside ran for ever (4^40 visits)
 * while writing nothing for the output limit to stop. */
START_TEST(test_tmpl_stops_nested_sections_that_multiply)
{
	json_t *ctx =
	    json_pack("{s:[i,i,i,i],s:[]}", "list", 1, 2, 3, 4, "items");
	struct buf src, out;
	struct tmpl *t;

	buf_init(&src);
	for (int i = 0; i < 40; i++)
		buf_puts(&src, "{{#list}}");
	for (int i = 0; i < 40; i++)
		buf_puts(&src, "{{/list}}");
	t = tmpl_compile("nested", src.data, src.len, NULL);
	ck_assert_ptr_nonnull(t);
	buf_init(&out);
	ck_assert_int_eq(
	    tmpl_render(t, ctx, NULL, TMPL_ESCAPE_HTML, &out), -EFBIG);
	tmpl_free(t);
	/* A long list is no such case: 200000 items render. */
	for (int i = 0; i < 200000; i++)
		json_array_append_new(
		    json_object_get(ctx, "items"), json_integer(i % 10));
	t = tmpl_compile("items", "{{#items}}{{.}}{{/items}}", 25, NULL);
	ck_assert_ptr_nonnull(t);
	buf_reset(&out);
	ck_assert_int_eq(tmpl_render(t, ctx, NULL, TMPL_ESCAPE_HTML, &out), 0);
	ck_assert_uint_eq(out.len, 200000);
	tmpl_free(t);
	buf_fini(&out);
	buf_fini(&src);
	json_decref(ctx);
}
END_TEST

static Suite *
tmpl_suite(void)
{
	Suite *s = suite_create("tmpl");
	TCase *tc;

	tc = tcase_create("engine");
	tcase_add_test(tc, test_tmpl_escapes_html_specials_in_double_braces);
	tcase_add_test(tc, test_tmpl_escape_none_leaves_values_as_they_are);
	tcase_add_test(tc, test_tmpl_renders_numbers_and_booleans);
	tcase_add_test(tc, test_tmpl_resolves_dotted_names);
	tcase_add_test(tc, test_tmpl_escapes_hostile_values_in_html);
	tcase_add_test(tc, test_tmpl_escapes_a_one_megabyte_value);
	tcase_add_test(tc, test_tmpl_error_names_unclosed_section);
	tcase_add_test(tc, test_tmpl_error_names_mismatched_close);
	tcase_add_test(tc, test_tmpl_error_names_bad_delimiter);
	tcase_add_test(tc, test_tmpl_error_counts_columns_in_characters);
	tcase_add_test(tc, test_tmpl_load_reports_unreadable_file);
	tcase_add_test(tc, test_tmpl_refuses_recursive_partial);
	tcase_add_test(
	    tc, test_tmpl_refuses_oversized_and_overnested_templates);
	suite_add_tcase(s, tc);

	tc = tcase_create("set");
	tcase_add_checked_fixture(tc, set_setup, set_teardown);
	tcase_add_test(
	    tc, test_tmpl_set_loads_kinds_sorted_and_ignores_dot_files);
	tcase_add_test(tc, test_tmpl_set_renders_each_part_with_its_escaping);
	tcase_add_test(tc, test_tmpl_set_names_missing_part);
	tcase_add_test(tc, test_tmpl_set_names_unknown_partial_with_position);
	tcase_add_test(tc, test_tmpl_set_names_broken_partial);
	suite_add_tcase(s, tc);

	tc = tcase_create("render_cmd");
	tcase_add_checked_fixture(tc, set_setup, set_teardown);
	tcase_add_test(tc, test_render_prints_html_with_layout_escaped);
	tcase_add_test(tc, test_render_does_not_escape_text_by_default);
	tcase_add_test(tc, test_render_reports_template_error_with_position);
	tcase_add_test(tc, test_render_reports_bad_data_and_missing_files);
	tcase_add_test(tc, test_render_refuses_bad_usage);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_tmpl_stops_nested_sections_that_multiply);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(tmpl_suite());
}
