#!/bin/sh
# Installs what the tests need, builds familymail and runs the whole test
# suite, printing each program's Check summary and a closing count.
#   (no option)    the normal build, in build/
#   --sanitizers   AddressSanitizer and UBSan, in build-asan/
#   --valgrind     the normal build, then `make check-valgrind` in it
#   --fuzz         each fuzz target for FUZZ_SECONDS (default 8), in
#                  build-fuzz/ (installs clang: install-deps.sh --fuzz)
#   --lint         `make lint` (clang-tidy, cppcheck) in build/
#   --package      the Debian package: built, lintian, installed, tried
#                  and removed on this machine (contrib/deb-test.sh;
#                  needs root, skipped otherwise)
#   --demo         the README's demo (contrib/demo.sh, not from a
#                  terminal), twice: every kind of message and every
#                  link the first time, nothing new the second (demo/
#                  is made afresh)
#   --all          all of these (what CI runs): the sanitizer suite and
#                  the fuzz step run beside the normal suite, valgrind
#                  and lint, their lines printed once they are done
# The suites count one entry per test program; valgrind, fuzz, lint and
# the package one entry each.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=${1:-normal}
case "$mode" in
normal | --sanitizers | --valgrind | --fuzz | --lint | --package | --demo | \
	--all) ;;
*)
	echo "usage: $0 [--sanitizers | --valgrind | --fuzz | --lint |" \
		"--package | --demo | --all]" >&2
	exit 64
	;;
esac
sh contrib/install-deps.sh --tests

if [ ! -x configure ]; then
	out=$(autoreconf -fi 2>&1) || { echo "$out" >&2; exit 1; }
fi
if [ -f Makefile ]; then
	echo "run-tests: the source tree is configured in place; " \
		"run 'make distclean' first" >&2
	exit 1
fi

passed=0
failed=0
skipped=0
fuzz_seconds=${FUZZ_SECONDS:-8}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
background=""

# build_tree NAME DIR CONFIGURE-FLAGS...: configures DIR once and builds
# it; on failure says so and counts it.
build_tree() {
	name=$1 build=$2
	shift 2
	mkdir -p "$build"
	if ! (cd "$build" &&
		{ [ -f Makefile ] ||
			"$top/configure" --quiet "$@" SHARED_DIR="$top/../shared"; } &&
		make -s -j"$(nproc)" >/dev/null); then
		echo "$name: the build failed"
		failed=$((failed + 1))
		return 1
	fi
}

# run_suite NAME DIR CONFIGURE-FLAGS...
run_suite() {
	name=$1 build=$2
	build_tree "$@" || return 0
	(cd "$build" && make -s -j"$(nproc)" check >/dev/null 2>&1) || true
	for log in "$build"/tests/check_*.log; do
		t=$(basename "$log" .log)
		summary=$(grep -aE '^[0-9]+%: Checks: ' "$log" || true)
		result=$(sed -n 's/^:test-result: //p' "$build/tests/$t.trs" \
			2>/dev/null)
		if [ -n "$summary" ]; then
			echo "$name $t: $summary"
		else
			echo "$name $t: $result (no Check summary)"
		fi
		case "$result" in
		PASS) passed=$((passed + 1)) ;;
		SKIP)
			skipped=$((skipped + 1))
			tail -3 "$log" | sed 's/^/    /'
			;;
		*)
			failed=$((failed + 1))
			sed 's/^/    /' "$log" | tail -40
			;;
		esac
	done
}

# step_done NAME START LOG STATUS: the closing line of one extra step
# (with its log's tail when it failed), counted once.
step_done() {
	secs=$(($(date +%s) - $2))
	if [ "$4" -eq 0 ]; then
		echo "$1: passed ($secs s)"
		passed=$((passed + 1))
	else
		echo "$1: FAILED ($secs s)"
		tail -60 "$3" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
}

# Every familymaild and familymail the end-to-end tests start, under
# valgrind's memcheck (Makefile.am, tests/valgrind.sh).
run_valgrind() {
	build=$1
	start=$(date +%s)
	[ -f "$build/Makefile" ] || build_tree build "$build" --enable-debug ||
		return 0
	log="$build/check-valgrind.log"
	rc=0
	(cd "$build" && make -s check-valgrind >"$log" 2>&1) || rc=$?
	grep -aE '^(valgrind check_|check-valgrind: )' "$log" || true
	step_done valgrind "$start" "$log" "$rc"
}

# The fuzz smoke test: every target for a few seconds, built with clang
# in a folder of its own (Makefile.am's fuzz section, fuzz/run.sh).
run_fuzz() {
	build=$1
	start=$(date +%s)
	log="$build/fuzz.log"
	mkdir -p "$build"
	rc=0
	sh contrib/install-deps.sh --fuzz >"$log" 2>&1 &&
		(cd "$build" &&
			{ [ -f Makefile ] ||
				"$top/configure" --quiet \
					SHARED_DIR="$top/../shared"; } &&
			make -s fuzz FUZZ_SECONDS="$fuzz_seconds") \
			>>"$log" 2>&1 || rc=$?
	# One line per target: its executions and coverage at the end.
	awk '
	function show() {
		if (name != "")
			printf "fuzz %s: %s runs in %s s, %s edges covered\n",
			    name, runs, secs, cov
	}
	/^fuzz: [a-z_]+ for [0-9]+s$/ {
		show(); name = $2; secs = $4; sub(/s$/, "", secs)
		runs = "?"; cov = "?"
	}
	/^stat::number_of_executed_units:/ { runs = $2 }
	/(DONE|INITED|NEW|REDUCE|pulse) +cov: / {
		for (i = 1; i < NF; i++) if ($i == "cov:") cov = $(i + 1)
	}
	END { show() }' "$log"
	step_done "fuzz ($fuzz_seconds s a target)" "$start" "$log" "$rc"
}

# make lint: clang-tidy and cppcheck over the tree.
run_lint() {
	build=$1
	start=$(date +%s)
	[ -f "$build/Makefile" ] || build_tree build "$build" --enable-debug ||
		return 0
	log="$build/lint.log"
	rc=0
	(cd "$build" && make -s lint >"$log" 2>&1) || rc=$?
	step_done lint "$start" "$log" "$rc"
}

# The Debian package, built from the tree without its tests (the suites
# above are them) and tried on this machine: contrib/deb-test.sh prints
# one line a step, lintian's summary and the files it installs.
run_package() {
	start=$(date +%s)
	log="$results/package.log"
	rc=0
	sh contrib/deb-test.sh >"$log" 2>&1 || rc=$?
	if [ "$rc" -eq 77 ]; then
		echo "package: skipped ($(cat "$log"))"
		skipped=$((skipped + 1))
		return 0
	fi
	grep -v '^deb: installs ' "$log" || true
	echo "package: installs $(grep -c '^deb: installs ' "$log" || true)" \
		"files (contrib/deb-test.sh lists them)"
	step_done package "$start" "$log" "$rc"
}

# The README's first command, as a newcomer runs it: contrib/demo.sh
# in this tree (it reuses build/), its output read as they would read
# it. Then again: a second run sends nothing new.
run_demo() {
	start=$(date +%s)
	log="$results/demo.log"
	rc=0
	why=""
	rm -rf demo
	sh contrib/demo.sh </dev/null >"$log" 2>&1 || rc=$?
	runs=$(grep -cE '^(today|after the website|a week later).*: [1-9][0-9]* new messages' "$log" || true)
	links=$(grep -cE '^  (unsubscribe|preferences|confirm): http.* -> 200 ' "$log" || true)
	if [ "$rc" -ne 0 ]; then
		why="exit $rc"
	elif [ "$runs" -ne 3 ]; then
		why="$runs of 3 runs sent mail"
	elif [ "$links" -ne 3 ]; then
		why="$links of 3 links answered 200"
	elif ! grep -q '^familymail demo: .*, every kind there is:' "$log"; then
		why="not every kind of message was sent"
	fi
	grep -E '^(today|after the website|a week later|familymail demo:)' "$log" |
		sed 's/^/demo: /'
	if [ -z "$why" ]; then
		sh contrib/demo.sh </dev/null >"$log.again" 2>&1 || rc=$?
		cat "$log.again" >>"$log"
		again=$(grep -cE ': 0 new messages' "$log.again" || true)
		[ "$rc" -eq 0 ] && [ "$again" -eq 3 ] ||
			why="the second run: exit $rc, $again of 3 runs sent nothing"
	fi
	if [ -z "$why" ] && pgrep -f "$top/demo/familymail.conf" >/dev/null; then
		why="a familymaild of the demo is still running"
	fi
	[ -z "$why" ] || { echo "demo: $why"; rc=1; }
	step_done demo "$start" "$log" "$rc"
}

# in_background NAME STEP ARGS...: runs a step beside the others; its
# lines and counts wait in $results until collect prints them. Both
# cores stay busy while a suite waits on its servers or a fuzz target
# runs on one.
in_background() {
	bg=$1
	shift
	(
		passed=0 failed=0 skipped=0
		"$@"
		echo "$passed $failed $skipped" >"$results/$bg.count"
	) >"$results/$bg.out" 2>&1 &
	background="$background $bg"
}

collect() {
	wait
	for bg in $background; do
		cat "$results/$bg.out"
		if read -r p f s <"$results/$bg.count"; then
			passed=$((passed + p))
			failed=$((failed + f))
			skipped=$((skipped + s))
		else
			echo "$bg: stopped before the end"
			failed=$((failed + 1))
		fi
	done
}

case "$mode" in
normal) run_suite build "$top/build" --enable-debug ;;
--sanitizers)
	run_suite asan "$top/build-asan" --enable-debug --enable-sanitizers
	;;
--valgrind) run_valgrind "$top/build" ;;
--fuzz) run_fuzz "$top/build-fuzz" ;;
--lint) run_lint "$top/build" ;;
--package) run_package ;;
--demo) run_demo ;;
--all)
	in_background asan run_suite asan "$top/build-asan" --enable-debug \
		--enable-sanitizers
	in_background fuzz run_fuzz "$top/build-fuzz"
	echo "run-tests: the asan suite and the fuzz step run alongside;" \
		"their lines come last"
	run_suite build "$top/build" --enable-debug
	run_valgrind "$top/build"
	run_lint "$top/build"
	run_package
	run_demo
	collect
	;;
esac
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
