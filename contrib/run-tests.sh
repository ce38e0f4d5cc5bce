#!/bin/sh
# Installs what the tests need, builds familymail and runs the whole test
# suite, printing each program's Check summary and a closing count.
#   (no option)    the normal build, in build/
#   --sanitizers   AddressSanitizer and UBSan, in build-asan/
#   --all          both, one after the other (what CI runs)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=${1:-normal}
case "$mode" in
normal | --sanitizers | --all) ;;
*) echo "usage: $0 [--sanitizers | --all]" >&2; exit 64 ;;
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

# run_suite NAME DIR CONFIGURE-FLAGS...
run_suite() {
	name=$1 build=$2
	shift 2
	mkdir -p "$build"
	if ! (cd "$build" &&
		{ [ -f Makefile ] ||
			"$top/configure" --quiet "$@" SHARED_DIR="$top/../shared"; } &&
		make -s -j"$(nproc)" >/dev/null); then
		echo "$name: the build failed"
		failed=$((failed + 1))
		return
	fi
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

case "$mode" in
normal) run_suite build "$top/build" --enable-debug ;;
--sanitizers)
	run_suite asan "$top/build-asan" --enable-debug --enable-sanitizers
	;;
--all)
	run_suite build "$top/build" --enable-debug
	run_suite asan "$top/build-asan" --enable-debug --enable-sanitizers
	;;
esac
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
