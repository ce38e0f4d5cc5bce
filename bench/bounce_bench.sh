#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bounce_bench.sh: messages per second of `familymail parse-bounce` over
# the shared bounce corpus, beside the reference analyser Sisimai (Debian
# package libsisimai-perl) over the same files in the same run; prints
# both rates and their ratio.
#
# usage: bench/bounce_bench.sh [ROUNDS]
#   FAMILYMAIL  the familymail binary (default: ./src/familymail, i.e. run
#               from the build folder)
#   SHARED_DIR  the shared data folder (default: <source>/../shared)
#
# Each side is one process that reads every corpus file ROUNDS times
# (default 20), so start-up costs are paid once, as in a daemon.
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

files=$(ls "$corpus"/*.eml)
nfiles=$(echo "$files" | wc -l)
total=$((nfiles * rounds))

now() { date +%s.%N; }

# familymail: one process, every file ROUNDS times on its command line.
args=
i=0
while [ "$i" -lt "$rounds" ]; do
	args="$args $files"
	i=$((i + 1))
done
t0=$(now)
# shellcheck disable=SC2086 # the list is split on purpose
"$fm" parse-bounce $args >/dev/null
t1=$(now)

# Sisimai: one Perl process, the same files the same number of times.
t2=$(now)
perl -MSisimai -e '
	my ($rounds, @files) = @ARGV;
	for (1 .. $rounds) {
		for my $f (@files) {
			my $v = Sisimai->make($f, "delivered" => 1);
		}
	}' "$rounds" $files >/dev/null 2>&1
t3=$(now)

awk -v n="$total" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
	fm = n / (b - a); ss = n / (d - c);
	printf "bounce corpus: %d messages (%d rounds)\n", n, n / '"$nfiles"'
	printf "familymail parse-bounce: %10.0f msg/s (%.3f s)\n", fm, b - a
	printf "Sisimai %-16s %10.0f msg/s (%.3f s)\n", "(Perl):", ss, d - c
	printf "ratio familymail/Sisimai: %.1fx\n", fm / ss
}'
