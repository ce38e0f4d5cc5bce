#!/bin/sh
# The demo: builds familymail, makes a demo folder with a config that uses
# the Maildir transport, loads demo courses, delegates and bookings, and
# runs the daemon once. Each confirmed booking gets its confirmation as a
# file in demo/Maildir/new. Running it again sends nothing new.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh
# Built out of tree in build/, as contrib/run-tests.sh does.
if [ ! -x configure ]; then
	out=$(autoreconf -fi 2>&1) || { echo "$out" >&2; exit 1; }
fi
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure --quiet; } &&
	make -s -j"$(nproc)" >/dev/null)
bin="$top/build/src"

demo="$top/demo"
mkdir -p "$demo"
chmod 700 "$demo"
if [ ! -f "$demo/familymail.conf" ]; then
	sed -e "s|@TEMPLATES@|$top/templates|" -e "s|@USER@|$(id -un)|" \
		contrib/demo/familymail.conf.in >"$demo/familymail.conf"
elif ! grep -q '^user' "$demo/familymail.conf"; then
	# A demo made before the daemon refused root without [daemon] user.
	sed -i "/^\[daemon\]/a user      = $(id -un)" "$demo/familymail.conf"
fi
if [ ! -f "$demo/token-secret" ]; then
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
		>"$demo/token-secret")
fi
"$bin/familymail" -c "$demo/familymail.conf" migrate >/dev/null
# Demo records, dated from today so the courses are always ahead.
# INSERT OR IGNORE: a second run leaves them as they are.
sqlite3 "$demo/familymail.db" <contrib/demo/demo.sql

"$bin/familymaild" -c "$demo/familymail.conf" --once
n=$(find "$demo/Maildir/new" -type f -name '*.eml' | wc -l)
echo
echo "familymail demo: $n message(s) in $demo/Maildir/new"
echo "  read one:      less \"\$(ls -d $demo/Maildir/new/* | head -1)\""
echo "  queue:         build/src/familymail -c $demo/familymail.conf status"
echo "  preview:       build/src/familymail -c $demo/familymail.conf preview booking_confirmation --booking FL-24001"
echo "  history:       build/src/familymail -c $demo/familymail.conf history sarah.jones@example.org"
echo "  next 30 days:  build/src/familymail -c $demo/familymail.conf rehearse --until 30d"
