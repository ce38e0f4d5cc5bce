/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_token: the signed link tokens (token.c) and the VERP return
 * paths (verp.c). A token must open the door for its own subscriber and
 * purpose and for nothing else; a VERP token must be random and come
 * back out of any spelling of the bounce address.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"
#include "testutil.h"
#include "token.h"
#include "util.h"
#include "verp.h"

static const char secret[] = "correct horse battery staple";
#define SECRET_LEN (sizeof(secret) - 1)

static char *
make(const char *purpose, int64_t id, const char *email)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(
	    token_make(secret, SECRET_LEN, purpose, id, email, &b), 0);
	return buf_take(&b);
}

static bool
url_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr(
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789-_",
			*s) == NULL)
			return false;
	return true;
}

START_TEST(test_token_round_trips_for_its_subscriber)
{
	char *t = make("unsubscribe", 42, "Parent@Example.org");
	int64_t id = 0;

	ck_assert_uint_eq(strlen(t), TOKEN_LEN);
	ck_assert(url_safe(t));
	ck_assert(token_verify(
	    secret, SECRET_LEN, "unsubscribe", 42, "Parent@Example.org", t));
	/* The address is compared without regard to case. */
	ck_assert(token_verify(
	    secret, SECRET_LEN, "unsubscribe", 42, "parent@example.org", t));
	ck_assert_int_eq(token_subscriber_id(t, &id), 0);
	ck_assert_int_eq(id, 42);
	free(t);
}
END_TEST

START_TEST(test_token_reads_large_subscriber_ids)
{
	char *t = make("confirm", INT64_MAX, "a@b.example");
	int64_t id = 0;

	ck_assert_int_eq(token_subscriber_id(t, &id), 0);
	ck_assert(id == INT64_MAX);
	ck_assert(token_verify(
	    secret, SECRET_LEN, "confirm", INT64_MAX, "a@b.example", t));
	free(t);
}
END_TEST

START_TEST(test_token_differs_by_purpose_subscriber_and_address)
{
	char *a = make("unsubscribe", 7, "a@b.example");
	char *b = make("confirm", 7, "a@b.example");
	char *c = make("unsubscribe", 8, "a@b.example");
	char *d = make("unsubscribe", 7, "z@b.example");

	ck_assert_str_ne(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_str_ne(a, d);
	free(a);
	free(b);
	free(c);
	free(d);
}
END_TEST

START_TEST(test_token_refuses_wrong_purpose)
{
	char *t = make("unsubscribe", 7, "a@b.example");

	ck_assert(
	    !token_verify(secret, SECRET_LEN, "confirm", 7, "a@b.example", t));
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "preferences", 7, "a@b.example", t));
	free(t);
}
END_TEST

START_TEST(test_token_refuses_another_subscriber)
{
	char *t = make("unsubscribe", 7, "a@b.example");

	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 8, "a@b.example", t));
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 6, "a@b.example", t));
	free(t);
}
END_TEST

START_TEST(test_token_dies_when_the_address_changes)
{
	char *t = make("unsubscribe", 7, "a@b.example");

	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 7, "new@b.example", t));
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 7, "a@b.example.", t));
	free(t);
}
END_TEST

START_TEST(test_token_refuses_another_secret)
{
	static const char other[] = "correct horse battery stapler";
	char *t = make("unsubscribe", 7, "a@b.example");

	ck_assert(!token_verify(
	    other, sizeof(other) - 1, "unsubscribe", 7, "a@b.example", t));
	ck_assert(!token_verify(
	    secret, SECRET_LEN - 1, "unsubscribe", 7, "a@b.example", t));
	free(t);
}
END_TEST

START_TEST(test_token_refuses_truncated_and_extended_tokens)
{
	char *t = make("unsubscribe", 7, "a@b.example");
	char *longer = xasprintf("%sA", t);
	int64_t id;

	t[TOKEN_LEN - 1] = '\0';
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 7, "a@b.example", t));
	ck_assert_int_eq(token_subscriber_id(t, &id), -EINVAL);
	t[TOKEN_LEN / 2] = '\0';
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 7, "a@b.example", t));
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 7, "a@b.example", ""));
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 7, "a@b.example", longer));
	ck_assert_int_eq(token_subscriber_id(longer, &id), -EINVAL);
	free(t);
	free(longer);
}
END_TEST

START_TEST(test_token_refuses_any_changed_character)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *t = make("unsubscribe", 7, "a@b.example");
	size_t i;

	for (i = 0; i < TOKEN_LEN; i++) {
		char saved = t[i];
		const char *pos = strchr(alphabet, saved);

		ck_assert_ptr_nonnull(pos);
		t[i] = alphabet[(size_t)(pos - alphabet + 1) % 64];
		ck_assert_msg(!token_verify(secret, SECRET_LEN, "unsubscribe",
				  7, "a@b.example", t),
		    "token with character %zu changed was accepted", i);
		t[i] = saved;
	}
	ck_assert(token_verify(
	    secret, SECRET_LEN, "unsubscribe", 7, "a@b.example", t));
	free(t);
}
END_TEST

START_TEST(test_token_refuses_garbage)
{
	static const char *const junk[] = {
		"",
		"x",
		"not a token at all, not at all!!",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"../../../../etc/passwd/../../..a",
		"%41AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	int64_t id;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(junk); i++)
		ck_assert_msg(!token_verify(secret, SECRET_LEN, "unsubscribe",
				  1, "a@b.example", junk[i]),
		    "accepted '%s'", junk[i]);
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 1, "a@b.example", NULL));
	ck_assert_int_eq(token_subscriber_id("x", &id), -EINVAL);
	ck_assert_int_eq(token_subscriber_id(NULL, &id), -EINVAL);
	/* 32 characters of the right alphabet but id 0. */
	ck_assert_int_eq(
	    token_subscriber_id("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &id),
	    -EINVAL);
	/* The top bit set would be a negative id. */
	ck_assert_int_eq(
	    token_subscriber_id("_____________AAAAAAAAAAAAAAAAAAA", &id),
	    -EINVAL);
}
END_TEST

START_TEST(test_token_refuses_a_10_kb_token)
{
	char *t = make("unsubscribe", 7, "a@b.example");
	char *big = xmalloc(10 * 1024 + 1);
	int64_t id;
	size_t i;

	/* The real token, repeated: its prefix is right. */
	for (i = 0; i < 10 * 1024; i++)
		big[i] = t[i % TOKEN_LEN];
	big[10 * 1024] = '\0';
	ck_assert(!token_verify(
	    secret, SECRET_LEN, "unsubscribe", 7, "a@b.example", big));
	ck_assert_int_eq(token_subscriber_id(big, &id), -EINVAL);
	free(big);
	free(t);
}
END_TEST

START_TEST(test_token_make_refuses_bad_arguments)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(
	    token_make(secret, 0, "unsubscribe", 1, "a@b", &b), -EINVAL);
	ck_assert_int_eq(
	    token_make(NULL, 4, "unsubscribe", 1, "a@b", &b), -EINVAL);
	ck_assert_int_eq(
	    token_make(secret, SECRET_LEN, "", 1, "a@b", &b), -EINVAL);
	ck_assert_int_eq(
	    token_make(secret, SECRET_LEN, "unsubscribe", 0, "a@b", &b),
	    -EINVAL);
	ck_assert_int_eq(
	    token_make(secret, SECRET_LEN, "unsubscribe", -5, "a@b", &b),
	    -EINVAL);
	ck_assert_int_eq(
	    token_make(secret, SECRET_LEN, "unsubscribe", 1, NULL, &b),
	    -EINVAL);
	ck_assert_uint_eq(b.len, 0);
	ck_assert(!token_verify(secret, 0, "unsubscribe", 1, "a@b",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	buf_fini(&b);
}
END_TEST

/* ------------------------------------------------------------- verp */

START_TEST(test_verp_tokens_are_16_random_lowercase_alphanumerics)
{
	char a[VERP_TOKEN_LEN + 1], b[VERP_TOKEN_LEN + 1];
	size_t i;

	ck_assert_int_eq(verp_token_new(a), 0);
	ck_assert_int_eq(verp_token_new(b), 0);
	ck_assert_uint_eq(strlen(a), VERP_TOKEN_LEN);
	ck_assert_uint_eq(strlen(b), VERP_TOKEN_LEN);
	ck_assert_str_ne(a, b);
	for (i = 0; i < VERP_TOKEN_LEN; i++)
		ck_assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789",
			      a[i]) != NULL);
}
END_TEST

START_TEST(test_verp_tokens_use_the_whole_alphabet)
{
	char t[VERP_TOKEN_LEN + 1];
	int seen[128] = { 0 };
	int i, j, kinds = 0;

	/* 200 tokens, 3,200 characters: each of the 36 should turn up
	 * (missing one by chance: about 36 * (35/36)^3200, nil). */
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(verp_token_new(t), 0);
		for (j = 0; j < VERP_TOKEN_LEN; j++)
			seen[(unsigned char)t[j] & 127]++;
	}
	for (i = 0; i < 128; i++)
		kinds += seen[i] > 0;
	ck_assert_int_eq(kinds, 36);
}
END_TEST

START_TEST(test_verp_address_is_bounces_plus_token_at_domain)
{
	char *a = verp_address("abc123", "bounces.example.org");

	ck_assert_str_eq(a, "bounces+abc123@bounces.example.org");
	free(a);
	ck_assert_ptr_null(verp_address("abc", NULL));
	ck_assert_ptr_null(verp_address(NULL, "example.org"));
	ck_assert_ptr_null(verp_address("", "example.org"));
	ck_assert_ptr_null(verp_address("a@b", "example.org"));
	ck_assert_ptr_null(verp_address("abc", "example.org>\r\nX: y"));
	ck_assert_ptr_null(verp_address("abc", "exa mple.org"));
}
END_TEST

START_TEST(test_verp_parse_reads_back_what_verp_address_wrote)
{
	char t[VERP_TOKEN_LEN + 1], got[VERP_TOKEN_MAX + 1];
	char *a;

	ck_assert_int_eq(verp_token_new(t), 0);
	a = verp_address(t, "bounces.example.org");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(verp_parse(a, got, sizeof(got)), 0);
	ck_assert_str_eq(got, t);
	free(a);
}
END_TEST

START_TEST(test_verp_parse_accepts_brackets_and_any_case)
{
	char got[VERP_TOKEN_MAX + 1];

	ck_assert_int_eq(
	    verp_parse("<bounces+k3y9@b.example>", got, sizeof(got)), 0);
	ck_assert_str_eq(got, "k3y9");
	ck_assert_int_eq(
	    verp_parse("BOUNCES+K3Y9@B.EXAMPLE", got, sizeof(got)), 0);
	ck_assert_str_eq(got, "k3y9");
	ck_assert_int_eq(
	    verp_parse("Bounces+abc@anything", got, sizeof(got)), 0);
	ck_assert_str_eq(got, "abc");
}
END_TEST

START_TEST(test_verp_parse_refuses_other_addresses)
{
	static const char *const bad[] = {
		"",
		"<>",
		"bounces@b.example",
		"bounce+abc@b.example",
		"xbounces+abc@b.example",
		"bounces+@b.example",
		"bounces+abc@",
		"bounces+abc",
		"bounces+a.b@b.example",
		"bounces+a b@b.example",
		"bounces+abc@b@c.example",
		"<bounces+abc@b.example",
		"bounces+abc@b.example>",
		"bounces+abc@b.example\r\nX: y",
		("bounces+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaa@b.example"),
	};
	char got[VERP_TOKEN_MAX + 1];
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++)
		ck_assert_msg(verp_parse(bad[i], got, sizeof(got)) == -EINVAL,
		    "accepted '%s'", bad[i]);
	ck_assert_int_eq(verp_parse(NULL, got, sizeof(got)), -EINVAL);
}
END_TEST

START_TEST(test_verp_parse_refuses_huge_addresses_and_small_buffers)
{
	char *big = xmalloc(10001);
	char got[4];

	memset(big, 'a', 10000);
	memcpy(big, "bounces+", 8);
	memcpy(big + 9000, "@x", 2);
	big[10000] = '\0';
	ck_assert_int_eq(verp_parse(big, got, sizeof(got)), -EINVAL);
	free(big);
	ck_assert_int_eq(
	    verp_parse("bounces+abcd@x.example", got, sizeof(got)), -ENOSPC);
	ck_assert_int_eq(
	    verp_parse("bounces+abc@x.example", got, sizeof(got)), 0);
	ck_assert_str_eq(got, "abc");
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");
	TCase *tv = tcase_create("verp");

	tcase_add_test(tc, test_token_round_trips_for_its_subscriber);
	tcase_add_test(tc, test_token_reads_large_subscriber_ids);
	tcase_add_test(
	    tc, test_token_differs_by_purpose_subscriber_and_address);
	tcase_add_test(tc, test_token_refuses_wrong_purpose);
	tcase_add_test(tc, test_token_refuses_another_subscriber);
	tcase_add_test(tc, test_token_dies_when_the_address_changes);
	tcase_add_test(tc, test_token_refuses_another_secret);
	tcase_add_test(tc, test_token_refuses_truncated_and_extended_tokens);
	tcase_add_test(tc, test_token_refuses_any_changed_character);
	tcase_add_test(tc, test_token_refuses_garbage);
	tcase_add_test(tc, test_token_refuses_a_10_kb_token);
	tcase_add_test(tc, test_token_make_refuses_bad_arguments);
	suite_add_tcase(s, tc);
	tcase_add_test(
	    tv, test_verp_tokens_are_16_random_lowercase_alphanumerics);
	tcase_add_test(tv, test_verp_tokens_use_the_whole_alphabet);
	tcase_add_test(tv, test_verp_address_is_bounces_plus_token_at_domain);
	tcase_add_test(tv, test_verp_parse_reads_back_what_verp_address_wrote);
	tcase_add_test(tv, test_verp_parse_accepts_brackets_and_any_case);
	tcase_add_test(tv, test_verp_parse_refuses_other_addresses);
	tcase_add_test(
	    tv, test_verp_parse_refuses_huge_addresses_and_small_buffers);
	suite_add_tcase(s, tv);
	return s;
}

int
main(void)
{
	return tu_run(token_suite());
}
