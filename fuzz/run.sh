#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs one fuzz target built by fuzz/build.sh for SECONDS (default
# FUZZ_SECONDS, else 60), starting from its seeds in fuzz/corpus/NAME
# (and, for bounce, $SHARED_DIR/bounce-corpus, read only). New inputs
# go to FUZZ_OUT/corpus/NAME, crashes to FUZZ_OUT/artifacts/. Exits
# non-zero when the target crashed, leaked, hung or ran out of memory.
#
#   fuzz/run.sh NAME [SECONDS]      NAME: cfg, tmpl, bounce, feed, ...
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_OUT:-$(pwd)/fuzz/out}
name=${1:?usage: fuzz/run.sh NAME [SECONDS]}
name=${name#fuzz_}
secs=${2:-${FUZZ_SECONDS:-60}}
bin="$out/fuzz_$name"

if [ ! -x "$bin" ]; then
	echo "fuzz/run.sh: $bin not built (make fuzz-build)" >&2
	exit 1
fi
work="$out/corpus/$name"
mkdir -p "$work" "$out/artifacts"
set -- "$work" "$srcdir/fuzz/corpus/$name"
if [ "$name" = bounce ] && [ -d "${SHARED_DIR:-}/bounce-corpus" ]; then
	set -- "$@" "$SHARED_DIR/bounce-corpus"
fi
opts=""
[ -f "$srcdir/fuzz/$name.dict" ] && opts="-dict=$srcdir/fuzz/$name.dict"
[ -n "${FUZZ_MAX_LEN:-}" ] && opts="$opts -max_len=$FUZZ_MAX_LEN"

echo "fuzz: $name for ${secs}s"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-20}" \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$out/artifacts/$name-" $opts "$@"
