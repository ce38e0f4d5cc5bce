/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_relay: what the transport knows of one relay between messages
 * (relay.c), on a clock the test moves: when a broken relay is tried
 * again, how a pause is probed and ends, what a quota lets through and
 * when it comes free.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "send/relay.h"
#include "testutil.h"
#include "util.h"

#define T0 ((time_t)1795420800) /* 2026-11-23T08:00:00Z */

/* The whole second a wait of n seconds from a fault ends in: one more
 * than n, since the fault may have come late in its second. */
#define WAIT_END(n) ((n) + 1)

static const char *
state_of(const struct relay *r, time_t now)
{
	struct relay_info info;

	relay_get_info(r, now, &info);
	return relay_state_name(info.state);
}

/* Down: nothing goes; the probe is due after the backoff, which doubles
 * at each failed probe (faults reported together by several connections
 * count as one) up to RELAY_BACKOFF_MAX; a probe that opens a session
 * brings it up and ends the run. */
START_TEST(test_relay_down_is_probed_with_a_growing_backoff)
{
	struct relay *r = relay_new("smtp", 0, 0);
	time_t now = T0;
	int64_t wait = RELAY_BACKOFF_MIN;

	ck_assert(relay_open_for(r, 0, now));
	relay_down(r, "connection refused", now);
	relay_down(r, "connection refused", now); /* the second thread */
	ck_assert_str_eq(state_of(r, now), "down");
	ck_assert(!relay_open_for(r, 0, now));
	ck_assert(!relay_open_for(r, 1, now));
	for (int i = 0; i < 12; i++) {
		ck_assert(!relay_probe_due(r, now + wait));
		ck_assert_int_eq(
		    relay_next_change(r, now), now + WAIT_END(wait));
		now += WAIT_END(wait);
		ck_assert(relay_probe_due(r, now));
		relay_probing(r);
		ck_assert(!relay_probe_due(r, now));
		relay_probed(r, false, "connection refused", now);
		wait =
		    wait * 2 > RELAY_BACKOFF_MAX ? RELAY_BACKOFF_MAX : wait * 2;
	}
	ck_assert_int_eq(
	    relay_next_change(r, now), now + WAIT_END(RELAY_BACKOFF_MAX));
	now += WAIT_END(RELAY_BACKOFF_MAX);
	relay_probing(r);
	relay_probed(r, true, NULL, now);
	ck_assert_str_eq(state_of(r, now), "up");
	ck_assert(relay_open_for(r, 0, now));
	relay_down(r, "again", now);
	ck_assert_int_eq(
	    relay_next_change(r, now), now + WAIT_END(RELAY_BACKOFF_MIN));
	relay_free(r);
}
END_TEST

/* Throttled: nothing goes until the backoff ends; then the next message
 * is the probe, and its acceptance ends the throttle. */
START_TEST(test_relay_throttle_ends_with_an_acceptance)
{
	struct relay *r = relay_new("smtp", 0, 0);
	struct relay_info info;

	relay_throttle(r, "421 4.7.0 Try again later", T0);
	relay_get_info(r, T0, &info);
	ck_assert_str_eq(relay_state_name(info.state), "throttled");
	ck_assert_str_eq(info.cause, "421 4.7.0 Try again later");
	ck_assert(!relay_open_for(r, 0, T0));
	/* A fault late in second T0 waits a whole second at least. */
	ck_assert(!relay_open_for(r, 0, T0 + RELAY_BACKOFF_MIN));
	ck_assert(relay_open_for(r, 0, T0 + WAIT_END(RELAY_BACKOFF_MIN)));
	relay_reserve(r, 0, T0 + 2);
	relay_settle(r, 0, false, T0 + 2);
	relay_throttle(r, "421 4.7.0 Try again later", T0 + 2);
	ck_assert(!relay_open_for(r, 0, T0 + 4));
	ck_assert(relay_open_for(r, 0, T0 + 5));
	relay_reserve(r, 0, T0 + 5);
	relay_settle(r, 0, true, T0 + 5);
	ck_assert_str_eq(state_of(r, T0 + 5), "up");
	relay_free(r);
}
END_TEST

/* A lane paused for a refusal about us: the other lane goes on; after
 * the backoff one message of the lane goes as the probe, no other with
 * it; refused again (and paused again by the caller) it waits twice as
 * long; accepted, the pause ends. */
START_TEST(test_relay_pause_holds_one_lane_and_is_probed)
{
	struct relay *r = relay_new("smtp", 0, 0);
	struct relay_info info;

	relay_pause(r, 1, "authfailure: 550 5.7.26", T0);
	relay_get_info(r, T0, &info);
	ck_assert_str_eq(relay_state_name(info.state), "paused");
	ck_assert(!info.paused[0]);
	ck_assert(info.paused[1]);
	ck_assert_str_eq(info.cause, "authfailure: 550 5.7.26");
	ck_assert(relay_open_for(r, 0, T0));
	ck_assert(!relay_open_for(r, 1, T0));
	ck_assert(!relay_open_for(r, 1, T0 + 1));
	ck_assert(relay_open_for(r, 1, T0 + 2));
	relay_reserve(r, 1, T0 + 2); /* the probe */
	ck_assert(relay_lane_probing(r, 1));
	ck_assert(!relay_open_for(r, 1, T0 + 2));
	relay_settle(r, 1, false, T0 + 2);
	relay_pause(r, 1, "authfailure: 550 5.7.26", T0 + 2);
	ck_assert(!relay_lane_probe_cleared(r, 1, T0 + 2));
	ck_assert(!relay_open_for(r, 1, T0 + 4));
	ck_assert(relay_open_for(r, 1, T0 + 5));
	relay_reserve(r, 1, T0 + 5);
	relay_settle(r, 1, true, T0 + 5);
	ck_assert_str_eq(state_of(r, T0 + 5), "up");
	ck_assert(relay_open_for(r, 1, T0 + 5));

	/* A probe refused for another reason: the caller ends it. */
	relay_pause(r, 0, "blocked", T0 + 10);
	relay_reserve(r, 0, T0 + 12);
	relay_settle(r, 0, false, T0 + 12);
	ck_assert(relay_lane_probe_cleared(r, 0, T0 + 12));
	relay_resume(r, 0, T0 + 12);
	ck_assert_str_eq(state_of(r, T0 + 12), "up");
	relay_free(r);
}
END_TEST

/* A quota counts what was accepted in the last window, by the minute,
 * and what is on its way; the relay is "quota" when it is spent, and
 * comes free a whole window after the minute of the oldest message. */
START_TEST(test_relay_quota_counts_the_window_and_comes_free)
{
	struct relay *r = relay_new("smtp.o365", 5, 86400);
	struct relay_info info;
	time_t at = T0 + 30;

	ck_assert_int_eq(relay_quota_left(r, T0), 5);
	relay_add_usage(r, T0 - 86400, 3); /* yesterday: over */
	relay_add_usage(r, T0 - 3600, 2);  /* an hour ago */
	ck_assert_int_eq(relay_quota_left(r, T0), 3);
	relay_reserve(r, 0, at);
	relay_reserve(r, 1, at);
	ck_assert_int_eq(relay_quota_left(r, at), 1);
	relay_settle(r, 0, true, at);
	relay_settle(r, 1, false, at);
	ck_assert_int_eq(relay_quota_left(r, at), 2);
	relay_reserve(r, 0, at);
	relay_settle(r, 0, true, at);
	relay_reserve(r, 0, at);
	relay_settle(r, 0, true, at);
	ck_assert_int_eq(relay_quota_left(r, at), 0);
	ck_assert(!relay_open_for(r, 0, at));
	relay_get_info(r, at, &info);
	ck_assert_str_eq(relay_state_name(info.state), "quota");
	ck_assert_int_eq(info.quota, 5);
	ck_assert_int_eq(info.quota_left, 0);
	/* The two of an hour ago free two places a day after them. */
	ck_assert_int_eq(relay_next_change(r, at), T0 - 3600 + 86400);
	ck_assert(!relay_open_for(r, 0, T0 - 3600 + 86400 - 1));
	ck_assert(relay_open_for(r, 0, T0 - 3600 + 86400));
	ck_assert_int_eq(relay_quota_left(r, T0 - 3600 + 86400), 2);
	ck_assert_int_eq(relay_quota_left(r, T0 + 86400), 5);
	relay_free(r);
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("relay");

	tcase_add_test(tc, test_relay_down_is_probed_with_a_growing_backoff);
	tcase_add_test(tc, test_relay_throttle_ends_with_an_acceptance);
	tcase_add_test(tc, test_relay_pause_holds_one_lane_and_is_probed);
	tcase_add_test(tc, test_relay_quota_counts_the_window_and_comes_free);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(relay_suite());
}
