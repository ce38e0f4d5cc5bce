#!/bin/sh
# Installs what the tests need, builds familymail and runs the whole test
# suite, printing each program's Check summary and a closing count.
# --sanitizers builds with AddressSanitizer and UBSan in build-asan/.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh --tests

build="$top/build"
flags="--enable-debug"
if [ "${1:-}" = "--sanitizers" ]; then
	build="$top/build-asan"
	flags="--enable-debug --enable-sanitizers"
fi
if [ ! -x configure ]; then
	out=$(autoreconf -fi 2>&1) || { echo "$out" >&2; exit 1; }
fi
if [ -f Makefile ]; then
	echo "run-tests: the source tree is configured in place; " \
		"run 'make distclean' first" >&2
	exit 1
fi
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" --quiet $flags SHARED_DIR="$top/../shared"
make -s -j"$(nproc)" >/dev/null
rc=0
make -s -j"$(nproc)" check >/dev/null 2>&1 || rc=$?
passed=0
failed=0
skipped=0
for log in tests/check_*.log; do
	name=$(basename "$log" .log)
	summary=$(grep -E '^[0-9]+%: Checks: ' "$log" || true)
	result=$(sed -n 's/^:test-result: //p' "tests/$name.trs" 2>/dev/null)
	if [ -n "$summary" ]; then
		echo "$name: $summary"
	else
		echo "$name: $result (no Check summary)"
	fi
	case "$result" in
	PASS) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)); tail -3 "$log" | sed 's/^/    /' ;;
	*) failed=$((failed + 1)); sed 's/^/    /' "$log" | tail -40 ;;
	esac
done
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
