#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The demo: installs what familymail needs, builds it in build/, makes
# demo/ with a config that writes mail into a Maildir (no mail server),
# loads courses, bookings, subscribers and posts as a booking website
# would, and plays a fortnight of mail in a few seconds:
#
#   1. today: the booking confirmations and a subscription confirmation;
#   2. the website cancels a booking and a course and moves a course to
#      another room: the cancellation notices (and, in versions that send
#      one, the change notice);
#   3. a week later (familymaild --now): the weekly and monthly digests
#      and the reminders due by then.
#
# Then it starts the daemon with its web pages and prints the links of
# the messages (unsubscribe, preferences, confirmation) to open while it
# runs: until Enter when run from a terminal, otherwise it fetches each
# once and stops. Every kind of message in templates/ should appear; the
# last lines say so, or name the ones that did not.
#
# Running it again sends nothing new. Run as root, the demo runs the
# daemon and the admin tool as the account nobody (the daemon refuses to
# run as root without being told to), unless nobody cannot reach the
# tree; then it says so and uses root.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
t0=$(date +%s)
stage() {
	echo
	echo "== [$1/6] $2 ($(($(date +%s) - t0)) s)"
}

stage 1 "installing what familymail needs from Debian's archive"
sh contrib/install-deps.sh --progress
echo "all there"

stage 2 "configuring (autoreconf, configure) in $top/build"
if [ ! -x configure ]; then
	out=$(autoreconf -fi 2>&1) || { echo "$out" >&2; exit 1; }
fi
mkdir -p build
if [ ! -f build/Makefile ]; then
	# One dot a check, so that the wait shows.
	(cd build && ../configure) | awk '
	    /^checking / { n++; printf "."; if (n % 64 == 0) printf "\n" }
	    END { printf "\n%d checks\n", n }'
	[ -f build/Makefile ] || { echo "configure failed" >&2; exit 1; }
else
	echo "already configured"
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -le 2 ] || jobs=2
stage 3 "building (make -j$jobs)"
(cd build && make -j"$jobs")
bin="$top/build/src"

stage 4 "setting up $top/demo"
demo="$top/demo"
mkdir -p "$demo"
conf="$demo/familymail.conf"
# The account the daemon and the admin tool run as.
user=$(id -un)
run_as() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	user=nobody
	if id nobody >/dev/null 2>&1 &&
		runuser -u nobody -- test -r "$top/templates/partials/layout.mustache"; then
		chown nobody "$demo"
		run_as() { runuser -u nobody -- "$@"; }
		echo "run as root: the daemon and the admin tool run as 'nobody'"
	else
		user=root
		echo "run as root, and the account nobody cannot reach $top:" \
			"the daemon runs as root (it says so in its log)"
	fi
fi
chmod 700 "$demo"
group=$(id -gn "$user")
if [ ! -f "$conf" ]; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 8025)
	# Digests a few days ahead whatever today is: weekly on the weekday
	# of three days from now, monthly on the day of the month of five.
	weekday=$(date -u -d '+3 days' +%a | tr 'A-Z' 'a-z')
	monthday=$(date -u -d '+5 days' +%-d)
	[ "$monthday" -le 28 ] || monthday=1
	sed -e "s|@TEMPLATES@|$top/templates|" -e "s|@USER@|$user|" \
		-e "s|@PORT@|$port|g" -e "s|@WEEKLY@|$weekday 08:00|" \
		-e "s|@MONTHLY@|$monthday 08:00|" \
		contrib/demo/familymail.conf.in >"$conf"
	echo "wrote $conf"
fi
if [ ! -f "$demo/token-secret" ]; then
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
		>"$demo/token-secret")
	echo "wrote $demo/token-secret"
fi
# Secrets as familymail.conf(5) wants them: root's (or the account's)
# with the account's group, never readable by others.
chgrp "$group" "$conf" "$demo/token-secret"
chmod 640 "$conf" "$demo/token-secret"
port=$(sed -n 's/^listen *= *127\.0\.0\.1:\([0-9]*\).*/\1/p' "$conf")
db="$demo/familymail.db"
run_as "$bin/familymail" -c "$conf" migrate >/dev/null
run_as sqlite3 "$db" <contrib/demo/demo.sql
echo "loaded contrib/demo/demo.sql: $(run_as sqlite3 "$db" \
	"SELECT (SELECT count(*) FROM courses) || ' courses, ' ||
	 (SELECT count(*) FROM bookings) || ' bookings, ' ||
	 (SELECT count(*) FROM subscribers) || ' subscribers, ' ||
	 (SELECT count(*) FROM posts) || ' posts'")"

new="$demo/Maildir/new"
# once LABEL [--now TIME]: one run of familymaild --once, then the
# messages it wrote, by kind.
once() {
	label=$1
	shift
	before=$(run_as sqlite3 "$db" "SELECT coalesce(max(id), 0) FROM messages")
	run_as "$bin/familymaild" -c "$conf" --once "$@" \
		>"$demo/familymaild.log" 2>&1 ||
		{ cat "$demo/familymaild.log" >&2; exit 1; }
	kinds=$(run_as sqlite3 "$db" "SELECT group_concat(kind || ' x' || n, ', ')
	    FROM (SELECT kind, count(*) AS n FROM messages
	    WHERE id > $before AND state = 'sent' GROUP BY kind ORDER BY kind)")
	n=$(run_as sqlite3 "$db" "SELECT count(*) FROM messages
	    WHERE id > $before AND state = 'sent'")
	total=$(find "$new" -type f 2>/dev/null | wc -l)
	echo "$label: $n new messages ($total in the folder)${kinds:+: $kinds}"
}

stage 5 "a fortnight of mail, in three runs of familymaild --once"
once "today"
run_as sqlite3 "$db" <contrib/demo/website-edits.sql
echo "the website cancels FL-24002 and course 4, and moves course 1 to Room 3"
once "after the website's changes"
later=$(date -u -d '+8 days' +%Y-%m-%dT09:00:00Z)
once "a week later, $later (--now)" --now "$later"

stage 6 "the daemon's pages, on http://127.0.0.1:$port"
# Started as systemd would, not through runuser: as root it becomes
# [daemon] user itself, and $pid is the daemon's own, so that stopping
# it below stops the daemon (runuser would stay in between).
"$bin/familymaild" -f -c "$conf" >"$demo/familymaild.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || :' EXIT
up=no
for i in $(seq 50); do
	if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; then
		up=yes
		break
	fi
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
if [ "$up" = no ]; then
	echo "the daemon did not answer on port $port:"
	tail -5 "$demo/familymaild.log"
else
	# The links as the messages carry them (List-Unsubscribe, and the
	# preferences and confirmation links of the HTML parts, decoded).
	links=$(for f in "$new"/*; do
		sed -e ':a' -e '/=$/{N;s/=\n//;ba' -e '}' -e 's/=3D/=/g' "$f"
	done | grep -oE "http://127\.0\.0\.1:$port/(unsubscribe|preferences|confirm)\?token=[A-Za-z0-9_.~-]+" |
		sort -u)
	for what in unsubscribe preferences confirm; do
		url=$(printf '%s\n' "$links" | grep "/$what?" | head -1 || :)
		[ -n "$url" ] || continue
		if [ -t 0 ]; then
			echo "  $what: $url"
		else
			code=$(curl -s -o "$demo/page.html" -w '%{http_code}' "$url")
			title=$(sed -n 's:.*<title>\(.*\)</title>.*:\1:p' \
				"$demo/page.html" | head -1)
			echo "  $what: $url -> $code${title:+ \"$title\"}"
		fi
	done
	if [ -t 0 ]; then
		printf '%s' "open them in a browser on this machine; Enter stops the daemon "
		read -r _ || :
	fi
fi
kill $pid 2>/dev/null || :
wait $pid 2>/dev/null || :
trap - EXIT

echo
all=$(ls templates | grep -v '^partials$' | grep -v '^[a-z][a-z]$' || :)
shown=$(run_as sqlite3 "$db" "SELECT DISTINCT kind FROM messages WHERE state = 'sent'")
missing=""
for k in $all; do
	printf '%s\n' "$shown" | grep -qx "$k" || missing="$missing $k"
done
total=$(find "$new" -type f | wc -l)
if [ -z "$missing" ]; then
	echo "familymail demo: $total messages in $new, every kind there is:" \
		$(printf '%s\n' "$shown" | sort)
else
	echo "familymail demo: $total messages in $new; not shown:$missing"
fi
first=$(grep -l 'FL-24001' "$new"/* 2>/dev/null | head -1 || :)
echo "  read one:  less $first"
echo "  queue:     $bin/familymail -c $conf status"
echo "  preview:   $bin/familymail -c $conf preview blog_digest --subscriber 1"
echo "  history:   $bin/familymail -c $conf history sarah.jones@example.org"
echo "  next 30 days: $bin/familymail -c $conf rehearse --until 30d"
echo "  the tables the website writes: man $top/doc/familymail-schema.5"
echo "took $(($(date +%s) - t0)) s"
