#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# valgrind.sh: `make check-valgrind`. Runs the given test programs with
# every familymaild and familymail they start under valgrind's memcheck
# (testutil's tu_execv honours FM_VALGRIND), and fails on any memcheck
# error or definitely or indirectly lost block in any of those runs, or
# on any failed test. Each argument is a test program of tests/:
#   check_NAME        as it is
#   check_NAME:CASE   only its Check test case CASE (CK_RUN_CASE)
#   check_NAME:self   the program itself under valgrind, in one process
#                     (CK_FORK=no), for tests that start no daemon
# Reports go to tests/valgrind/ in the build tree: the test's own log
# (check_NAME.log) and one vg.PID.log per program run.
#
# Environment: TOP_SRCDIR, TOP_BUILDDIR, SHARED_DIR (as for make check),
# VALGRIND (default: valgrind), VALGRIND_JOBS (programs at a time,
# default 2), VALGRIND_TIMEOUT_SCALE (how much longer every test timeout
# and wait may be under valgrind, default 10).
set -u

src=${TOP_SRCDIR:?}
build=${TOP_BUILDDIR:?}
out="$build/tests/valgrind"
vg=${VALGRIND:-valgrind}

# One program: run by xargs below, as `valgrind.sh --one ENTRY`.
if [ "${1:-}" = "--one" ]; then
	entry=$2
	name=${entry%%:*}
	case_=""
	[ "$name" = "$entry" ] || case_=${entry#*:}
	log="$out/$name.log"
	start=$(date +%s)
	if [ "$case_" = self ]; then
		CK_FORK=no $FM_VALGRIND "$build/tests/$name" >"$log" 2>&1
	elif [ -n "$case_" ]; then
		CK_RUN_CASE=$case_ "$build/tests/$name" >"$log" 2>&1
	else
		"$build/tests/$name" >"$log" 2>&1
	fi
	echo $? >"$out/$name.rc"
	echo $(($(date +%s) - start)) >"$out/$name.secs"
	exit 0
fi

if ! command -v "$vg" >/dev/null 2>&1; then
	echo "check-valgrind: $vg not found (contrib/install-deps.sh --tests)" >&2
	exit 1
fi
[ $# -gt 0 ] || { echo "usage: $0 check_NAME[:CASE|:self]..." >&2; exit 64; }
for entry in "$@"; do
	if [ ! -x "$build/tests/${entry%%:*}" ]; then
		echo "check-valgrind: tests/${entry%%:*} is not built" >&2
		exit 1
	fi
done

rm -rf "$out"
mkdir -p "$out"
supp=""
[ ! -f "$src/tests/valgrind.supp" ] ||
	supp="--suppressions=$src/tests/valgrind.supp"
# familymaild may be linked with tcmalloc: memcheck must take its malloc
# in place of the C library's to see the daemon's blocks.
FM_VALGRIND="$vg --leak-check=full --show-leak-kinds=definite,indirect
 --errors-for-leak-kinds=definite,indirect --error-exitcode=99
 --soname-synonyms=somalloc=*tcmalloc*
 --num-callers=30 --log-file=$out/vg.%p.log $supp"
FM_VALGRIND=$(echo $FM_VALGRIND)
CK_TIMEOUT_MULTIPLIER=${VALGRIND_TIMEOUT_SCALE:-10}
CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60}
export FM_VALGRIND CK_TIMEOUT_MULTIPLIER CK_DEFAULT_TIMEOUT TOP_SRCDIR \
	TOP_BUILDDIR SHARED_DIR

printf '%s\n' "$@" |
	xargs -P "${VALGRIND_JOBS:-2}" -n 1 sh "$0" --one

failed=0
for entry in "$@"; do
	name=${entry%%:*}
	rc=$(cat "$out/$name.rc" 2>/dev/null || echo "?")
	summary=$(grep -aE '^[0-9]+%: Checks: ' "$out/$name.log" || true)
	echo "valgrind $entry: ${summary:-no Check summary}" \
		"($(cat "$out/$name.secs" 2>/dev/null || echo "?") s)"
	if [ "$rc" != 0 ]; then
		failed=$((failed + 1))
		grep -a ':[FE]:' "$out/$name.log" | sed 's/^/    /' | head -20
	fi
done

# Every run's report must show no error. A run killed on purpose
# (SIGKILL) ends without a summary: it is counted apart.
runs=0
killed=0
bad=0
for report in "$out"/vg.*.log; do
	[ -f "$report" ] || continue
	if ! grep -q 'ERROR SUMMARY:' "$report"; then
		killed=$((killed + 1))
		continue
	fi
	runs=$((runs + 1))
	if grep -qE 'ERROR SUMMARY: [1-9]|(definitely|indirectly) lost: [1-9]' \
		"$report"; then
		bad=$((bad + 1))
		echo "valgrind: errors in $report:"
		sed -n 's/^==[0-9]*== Command: /    command: /p' "$report"
		# The first few in full, from the first error on.
		[ "$bad" -gt 3 ] ||
			sed -n '/Parent PID/,$p' "$report" | sed 1d |
			grep -vE '^==[0-9]+== *$|in use at exit|total heap usage|HEAP SUMMARY|rerun with' |
			head -40 | sed 's/^/    /'
	fi
done
echo "check-valgrind: $# programs, $runs runs checked by valgrind" \
	"($killed killed before the end), $bad with errors or leaks," \
	"$failed programs failed"
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$runs" -gt 0 ]
