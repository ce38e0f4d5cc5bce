#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the libFuzzer targets fuzz/fuzz_*.c with clang, ASan and UBSan:
# every source of libfamilymail.la once, then each target linked against
# them, into FUZZ_OUT (default BUILDDIR/fuzz/out).
#
# `make fuzz-build` (and `make fuzz`) run it with the flags configure
# found and the library's sources (FUZZ_CPPFLAGS, FUZZ_LIBS,
# FUZZ_SOURCES); run by hand, it asks make in BUILDDIR, the configured
# build folder (default: the current folder).
#
#   fuzz/build.sh [BUILDDIR]
set -eu

srcdir=${FUZZ_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=$(cd "${1:-${FUZZ_BUILDDIR:-.}}" && pwd)
out=${FUZZ_OUT:-$builddir/fuzz/out}
CC=${FUZZ_CC:-clang}

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz/build.sh: $CC not found (contrib/install-deps.sh --fuzz)" >&2
	exit 1
fi
if [ ! -f "$builddir/config.h" ]; then
	echo "fuzz/build.sh: no config.h in $builddir (run configure)" >&2
	exit 1
fi
# The flags and sources come from the configured Makefile, so that they
# follow what configure found and what Makefile.am lists.
if [ -z "${FUZZ_LIBS+set}" ]; then
	exec ${MAKE:-make} -C "$builddir" fuzz-build
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
# FUZZ_CPPFLAGS may carry gcc's -Werror of --enable-debug: clang warns
# about other things, which must not stop the library's build here (the
# targets themselves are built with -Werror).
CFLAGS="-g -O1 -fno-omit-frame-pointer $SAN -I$builddir -I$srcdir/src
	$FUZZ_CPPFLAGS -Wall -Wextra -Wno-unused-parameter
	-Wno-missing-field-initializers -Wno-format-nonliteral -Wno-error"

sources=""
for f in $FUZZ_SOURCES; do
	case "$f" in
	*.c) sources="$sources $srcdir/$f" ;;
	esac
done

mkdir -p "$out/obj"

# Library objects, rebuilt when their source or any header is newer,
# FUZZ_JOBS (default 2) at a time.
newest_h=$(ls -t "$srcdir"/src/*.h "$srcdir"/src/*/*.h "$builddir/config.h" | head -n 1)
export CC CFLAGS
for c in $sources; do
	o="$out/obj/$(basename "$c" .c).o"
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
		echo "$c $o"
	fi
done | xargs -r -n 2 -P "${FUZZ_JOBS:-2}" sh -c \
	'echo "  CC      ${0##*/}" && $CC -fsanitize=fuzzer-no-link $CFLAGS -c "$0" -o "$1"'

objs=""
for c in $sources; do
	objs="$objs $out/obj/$(basename "$c" .c).o"
done

for t in "$srcdir"/fuzz/fuzz_*.c; do
	name=$(basename "$t" .c)
	link=$objs
	# fuzz_csv includes cmd_import.c to reach its static parser.
	[ "$name" = fuzz_csv ] &&
		link=$(echo "$objs" | sed "s|$out/obj/cmd_import.o||")
	echo "  CCLD    $name"
	# shellcheck disable=SC2086
	$CC -fsanitize=fuzzer $CFLAGS -Werror -o "$out/$name" "$t" $link \
		$FUZZ_LIBS
done
