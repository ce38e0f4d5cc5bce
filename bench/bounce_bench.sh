#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bounce_bench.sh: messages per second of `familymail parse-bounce` over
# the shared bounce corpus, beside the reference analyser Sisimai (Debian
# package libsisimai-perl) over the same files in the same run; prints
# both rates and their ratio, with and without process start-up.
#
# usage: bench/bounce_bench.sh [ROUNDS]
#   FAMILYMAIL  the familymail binary (default: ./src/familymail, i.e. run
#               from the build folder; build without --enable-debug, which
#               compiles with -O0)
#   SHARED_DIR  the shared data folder (default: <source>/../shared)
#   RUNS        runs of each measure, the best kept (default 3)
#
# Each side is one process that reads every corpus file ROUNDS times
# (default 20): "with start-up" is that whole run. "Without start-up"
# takes off what the same process spends to start and read one small
# message, which for Sisimai is loading Perl and its modules and for
# familymail the dynamic linker. Times are CPU times (user + system) of
# each process, so that other work on the machine weighs on neither
# side, each the best of three runs (RUNS); the wall-clock time of the
# best run is printed too. On a machine shared with other work the
# ratios move by a few per cent from run to run.
#
# With valgrind installed (INSTR=0 leaves this out), familymail's
# instructions per message are printed too, as callgrind counts them over
# one pass of the corpus, less those of the start-up run: unlike times,
# they do not move with the machine's load.
set -eu

rounds=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
shared=${SHARED_DIR:-$here/../../shared}
corpus=$shared/bounce-corpus/eml
fm=${FAMILYMAIL:-./src/familymail}

[ -d "$corpus" ] || { echo "bounce_bench: no corpus at $corpus" >&2; exit 1; }
[ -x "$fm" ] || { echo "bounce_bench: no familymail at $fm (set FAMILYMAIL)" >&2; exit 1; }
perl -MSisimai -e 1 2>/dev/null || {
	echo "bounce_bench: Sisimai missing (apt-get install libsisimai-perl)" >&2
	exit 1
}

files=("$corpus"/*.eml)
nfiles=${#files[@]}
total=$((nfiles * rounds))
small=$corpus/rfc3834-01.eml

args=()
for ((i = 0; i < rounds; i++)); do
	args+=("${files[@]}")
done

# cpu CMD...: runs CMD, prints "CPU WALL" in seconds.
cpu() {
	local TIMEFORMAT='%U %S %R' t
	t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
	awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.4f %.4f\n", a[1] + a[2], a[3] }'
}

# best CMD...: "CPU WALL" of the run with the least CPU time of RUNS.
best() {
	local i
	for ((i = 0; i < ${RUNS:-3}; i++)); do
		cpu "$@"
	done | sort -g | head -1
}

sisimai() {
	perl -MSisimai -e '
		my ($rounds, @files) = @ARGV;
		for (1 .. $rounds) {
			for my $f (@files) {
				my $v = Sisimai->make($f, "delivered" => 1);
			}
		}' "$@"
}

read -r fm_cpu fm_wall < <(best "$fm" parse-bounce "${args[@]}")
read -r ss_cpu ss_wall < <(best sisimai "$rounds" "${files[@]}")
fm_start=$(best "$fm" parse-bounce "$small" | cut -d' ' -f1)
ss_start=$(best sisimai 1 "$small" | cut -d' ' -f1)

# instr FILE...: instructions callgrind counts for parse-bounce FILE...
instr() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null \
	    "$fm" parse-bounce "$@" 2>&1 >/dev/null |
	    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

fm_instr=0 fm_instr_start=0
if [ "${INSTR:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
	fm_instr=$(instr "${files[@]}")
	fm_instr_start=$(instr "$small")
fi

awk -v n="$total" -v nf="$nfiles" \
    -v fc="$fm_cpu" -v fw="$fm_wall" -v fs="$fm_start" \
    -v sc="$ss_cpu" -v sw="$ss_wall" -v ss="$ss_start" \
    -v fi="${fm_instr:-0}" -v fis="${fm_instr_start:-0}" 'BEGIN {
	printf "bounce corpus: %d messages (%d files, %d rounds)\n", n, nf, n / nf
	printf "%-28s %10s %10s %12s\n", "", "cpu s", "wall s", "start-up s"
	printf "%-28s %10.3f %10.3f %12.3f\n", "familymail parse-bounce", fc, fw, fs
	printf "%-28s %10.3f %10.3f %12.3f\n", "Sisimai (Perl)", sc, sw, ss
	fr = n / fc; sr = n / sc
	printf "with start-up:    familymail %8.0f msg/s, Sisimai %7.0f msg/s, ratio %.1fx\n", fr, sr, fr / sr
	if (fc > fs && sc > ss) {
		fr = n / (fc - fs); sr = n / (sc - ss)
		printf "without start-up: familymail %8.0f msg/s, Sisimai %7.0f msg/s, ratio %.1fx\n", fr, sr, fr / sr
	}
	if (fi > fis && fis > 0)
		printf "familymail instructions (callgrind): %.0f a message, %.0f to start\n", (fi - fis) / nf, fis
}'
