/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_log: what reaches the daemon's log when a value comes from a
 * stranger. Each test writes events through log.h with stderr sent to a
 * file, and reads back the bytes an administrator's terminal would get:
 * escape sequences from a bounce's recipient, a URL path that is not
 * UTF-8, forged line breaks, bidirectional overrides. Every line must be
 * valid UTF-8 with no control character but its final newline.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "log.h"
#include "testutil.h"
#include "util.h"

static char *dir, *path;
static int saved_stderr = -1;

static void
setup(void)
{
	int fd;

	dir = tu_mkdtemp();
	path = xasprintf("%s/log", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	(void)fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	log_init(LOG_LEVEL_DEBUG);
}

static void
teardown(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	tu_rmtree(dir);
	free(dir);
	free(path);
}

/* The log so far; the caller frees. */
static char *
log_text(size_t *len)
{
	char *s = tu_read_file(path, len);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* True when s[0..n) is valid UTF-8 with no control character but
 * newlines, no DEL and no C1 control. */
static bool
clean_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		unsigned c = s[i];

		if (c == '\n') {
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (k == 0 || c > 0xf4 || i + k > n)
			return false;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		if (c == 0xc2 && s[i + 1] < 0xa0)
			return false; /* C1 */
		i += k;
	}
	return true;
}

static void
assert_has(const char *s, const char *want)
{
	ck_assert_msg(strstr(s, want) != NULL, "'%s' not in:\n%s", want, s);
}

START_TEST(test_log_escapes_terminal_sequences_from_a_bounce)
{
	/* A DSN whose recipient carries ESC sequences that would recolour
	 * the terminal, move the cursor and set its title. */
	static const char rcpt[] =
	    "\x1b[2J\x1b[1;1Hsarah@example.org\x1b]0;owned\x07\x1b[31m";
	char *s;
	size_t len;

	log_info("bounce recorded rcpt=%s class=hard", rcpt);
	s = log_text(&len);
	ck_assert(clean_utf8((unsigned char *)s, len));
	ck_assert_ptr_null(memchr(s, 0x1b, len));
	assert_has(s,
	    "bounce recorded rcpt=\\x1b[2J\\x1b[1;1Hsarah@example.org"
	    "\\x1b]0;owned\\x07\\x1b[31m class=hard\n");
	free(s);
}
END_TEST

START_TEST(test_log_escapes_bytes_that_are_not_utf8)
{
	/* A URL path as a scanner sends it: Latin-1, a lone continuation
	 * byte, an overlong '/', a surrogate, a truncated sequence. */
	static const char p[] = "/caf\xe9/\x80/\xc0\xaf/\xed\xa0\x80/\xe2\x82";
	char *s;
	size_t len;

	log_info("http GET %s status=404", p);
	s = log_text(&len);
	ck_assert(clean_utf8((unsigned char *)s, len));
	assert_has(s,
	    "http GET /caf\\xe9/\\x80/\\xc0\\xaf/\\xed\\xa0\\x80/\\xe2\\x82 "
	    "status=404\n");
	free(s);
}
END_TEST

START_TEST(test_log_keeps_one_event_on_one_line)
{
	char *s;
	size_t len, lines = 0;

	log_warnx("feed item title=%s", "Hi\r\n2026-12-01T00:00:00Z crit x");
	log_notice("subscriber name=%s", "tab\there");
	s = log_text(&len);
	for (size_t i = 0; i < len; i++)
		lines += s[i] == '\n';
	ck_assert_uint_eq(lines, 2);
	assert_has(s, "title=Hi\\r\\n2026-12-01T00:00:00Z crit x\n");
	assert_has(s, "name=tab\\there\n");
	free(s);
}
END_TEST

START_TEST(test_log_keeps_welsh_and_escapes_c1_and_bidi_controls)
{
	/* Valid UTF-8 text stays readable; a C1 CSI (U+009B) and a
	 * right-to-left override (U+202E) would not show what was sent. */
	static const char name[] = "Siôn Ŵyn \xc2\x9b"
				   "31m \xe2\x80\xae"
				   "gpj.exe";
	char *s;
	size_t len;

	log_info("delegate name=%s", name);
	s = log_text(&len);
	ck_assert(clean_utf8((unsigned char *)s, len));
	assert_has(s, "name=Siôn Ŵyn \\xc2\\x9b31m \\xe2\\x80\\xaegpj.exe\n");
	free(s);
}
END_TEST

START_TEST(test_log_escapes_the_errno_text_too_and_bounds_the_line)
{
	char *big = xmalloc(3000), *s;
	size_t len;

	memset(big, 0x1b, 2999);
	big[2999] = '\0';
	errno = ENOENT;
	log_warn("maildir open %s", "x\x1by");
	log_info("long %s", big);
	s = log_text(&len);
	ck_assert(clean_utf8((unsigned char *)s, len));
	assert_has(s, "maildir open x\\x1by: No such file or directory\n");
	ck_assert_uint_le(len, 2 * 4096);
	ck_assert_int_eq(s[len - 1], '\n');
	free(s);
	free(big);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("escape");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_log_escapes_terminal_sequences_from_a_bounce);
	tcase_add_test(tc, test_log_escapes_bytes_that_are_not_utf8);
	tcase_add_test(tc, test_log_keeps_one_event_on_one_line);
	tcase_add_test(
	    tc, test_log_keeps_welsh_and_escapes_c1_and_bidi_controls);
	tcase_add_test(
	    tc, test_log_escapes_the_errno_text_too_and_bounds_the_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(log_suite());
}
