#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds the Debian package from this tree and tries it on this machine,
# as an administrator would: lintian's summary; dpkg -i; the account, the
# folders and the files it installed; check-config on the shipped
# example; familymaild --once against a Maildir with a booking written by
# the shipped website example; dpkg -r (the data stays) and dpkg -P (the
# data goes). Needs root (it installs and removes the package); stops at
# the first failure with the reason.
#
#   contrib/deb-test.sh [WORKDIR]   (default: a fresh temporary folder)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-}
if [ "$(id -u)" -ne 0 ]; then
	echo "deb: needs root (it installs the package)" >&2
	exit 77
fi
if [ -z "$work" ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
log="$work/deb.log"
: >"$log"

fail() {
	echo "deb: FAILED: $*"
	exit 1
}

# say STEP: one line per step, with the seconds since the start.
start=$(date +%s)
say() {
	echo "deb: $* ($(($(date +%s) - start)) s)"
}

# dpkg waits for nobody: retry while another installer holds its lock.
dpkg_locked() {
	n=0
	while :; do
		if out=$("$@" 2>&1); then
			printf '%s\n' "$out" >>"$log"
			printf '%s\n' "$out"
			return 0
		fi
		case "$out" in
		*"lock"*)
			n=$((n + 1))
			[ "$n" -lt 180 ] || { printf '%s\n' "$out"; return 1; }
			sleep 5
			;;
		*)
			printf '%s\n' "$out" >>"$log"
			printf '%s\n' "$out"
			return 1
			;;
		esac
	done
}

sh "$top/contrib/install-deps.sh" --package >>"$log" 2>&1 ||
	fail "install-deps.sh --package (see $log)"

# ---------------------------------------------------------------- build
# A copy of the tree, without builds, so that dpkg-buildpackage writes
# its results beside the copy, not beside the tree.
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src="$work/familymail-$version"
rm -rf "$src"
mkdir -p "$src"
(cd "$top" && tar --exclude=./.git --exclude='./build*' \
	--exclude=./demo --exclude=./_build --exclude=./gen \
	--exclude=./autom4te.cache --exclude='./debian/familymail' \
	--exclude='./debian/.debhelper' -cf - .) | tar -C "$src" -xf -
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
	dpkg-buildpackage -us -uc -b) >>"$log" 2>&1 ||
	{ tail -30 "$log"; fail "dpkg-buildpackage (log: $log)"; }
deb=$(ls "$work"/familymail_"$version"_*.deb)
say "built $(basename "$deb"), $(($(stat -c %s "$deb") / 1024)) KiB"

# ---------------------------------------------------------------- lintian
lintian --tag-display-limit 0 "$deb" >"$work/lintian.txt" 2>&1 || :
grep -E '^[EWIP]: ' "$work/lintian.txt" | sed 's/^/deb: lintian: /' || :
errors=$(grep -c '^E: ' "$work/lintian.txt" || :)
warnings=$(grep -c '^W: ' "$work/lintian.txt" || :)
infos=$(grep -c '^[IP]: ' "$work/lintian.txt" || :)
say "lintian $(lintian --print-version): $errors error(s), $warnings" \
	"warning(s), $infos info(s)"
[ "$errors" -eq 0 ] || fail "lintian reports errors"

# ---------------------------------------------------------------- install
# A package left by an earlier run of this script (its marker is there)
# is purged; anyone else's is left alone, and the step fails.
marker=/var/lib/familymail/.deb-test
if dpkg-query -W -f='${Status}' familymail 2>/dev/null |
	grep -q installed; then
	[ -e "$marker" ] || fail "familymail is installed on this machine;" \
		"not replacing it (dpkg -P familymail first, if it may go)"
	dpkg_locked dpkg -P familymail >/dev/null || fail "purging an old install"
fi
out=$(dpkg_locked dpkg -i "$deb") || fail "dpkg -i: $out"
touch "$marker"
case "$out" in
*"not started: write /etc/familymail/familymail.conf"*) ;;
*) fail "dpkg -i did not say the daemon waits for a config: $out" ;;
esac
say "installed; the postinst says it waits for /etc/familymail/familymail.conf"
dpkg -L familymail | while read -r f; do
	[ -d "$f" ] || echo "deb: installs $f"
done
id familymail >/dev/null 2>&1 || fail "no account familymail"
[ "$(stat -c '%U:%G %a' /var/lib/familymail)" = "familymail:familymail 750" ] ||
	fail "/var/lib/familymail is $(stat -c '%U:%G %a' /var/lib/familymail)"
[ "$(stat -c '%U:%G %a' /etc/familymail)" = "root:familymail 2750" ] ||
	fail "/etc/familymail is $(stat -c '%U:%G %a' /etc/familymail)"
say "account familymail; /etc/familymail root:familymail 2750;" \
	"/var/lib/familymail familymail:familymail 750"

# ---------------------------------------------------------------- config
# The secret files as the unit and familymail.conf(5) want them.
for f in token-secret smtp-password imap-password; do
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"/etc/familymail/$f"
	chown root:familymail "/etc/familymail/$f"
	chmod 640 "/etc/familymail/$f"
done
out=$(familymail -c /etc/familymail/familymail.conf.example check-config 2>&1) ||
	fail "check-config on the example: $out"
say "check-config on /etc/familymail/familymail.conf.example: exit 0"
chmod 600 /etc/familymail/token-secret
if out=$(familymail -c /etc/familymail/familymail.conf.example check-config 2>&1); then
	fail "check-config accepted a secret only root can read"
fi
case "$out" in
*"token-secret: the daemon's account cannot read it"*) ;;
*) fail "check-config on a root-only secret said: $out" ;;
esac
chmod 640 /etc/familymail/token-secret
say "check-config refuses a secret only root can read"

# A config that sends into a Maildir and reaches for no server.
cat >/etc/familymail/familymail.conf <<'EOF'
[daemon]
user = familymail
[sender]
from = Family Courses <courses@example.org>
bounce_domain = bounces.example.org
[transport]
type = maildir
[maildir]
path = /var/lib/familymail/Maildir
[unsubscribe]
url = https://example.org/unsubscribe?token={token}
secret_file = /etc/familymail/token-secret
EOF
chmod 640 /etc/familymail/familymail.conf
chgrp familymail /etc/familymail/familymail.conf
# Installed again: the postinst now finds the config and migrates, as
# the daemon's account.
dpkg_locked dpkg -i "$deb" >/dev/null || fail "dpkg -i with a config"
db=/var/lib/familymail/familymail.db
[ "$(stat -c %U "$db" 2>/dev/null)" = familymail ] ||
	fail "the postinst did not make $db as familymail"
say "postinst with a config: $db made by familymail migrate, owned by familymail"

runuser -u familymail -- sqlite3 "$db" \
	"INSERT INTO courses (id, title, starts_at, venue, address)
	 VALUES (1, 'Nurturing Programme Facilitator Training',
	 strftime('%Y-%m-%dT09:30:00Z', 'now', '+14 days'), 'Cardiff',
	 'Temple of Peace, Cardiff')" || fail "writing a course"
out=$(runuser -u familymail -- python3 \
	/usr/share/doc/familymail/examples/website/website.py "$db" \
	book 1 sarah.jones@example.org Sarah Jones) ||
	fail "the shipped website example: $out"
echo "deb: website.py: $out"
out=$(familymaild -c /etc/familymail/familymail.conf --once 2>&1) ||
	fail "familymaild --once: $out"
n=$(find /var/lib/familymail/Maildir/new -type f | wc -l)
[ "$n" -eq 1 ] || fail "familymaild --once wrote $n messages, not 1: $out"
grep -q '^To: Sarah Jones <sarah.jones@example.org>' \
	/var/lib/familymail/Maildir/new/* || fail "the message is not Sarah's"
owner=$(stat -c %U /var/lib/familymail/Maildir/new/*)
[ "$owner" = familymail ] || fail "the message belongs to $owner"
say "familymaild --once (as root, running as familymail): 1 confirmation" \
	"in /var/lib/familymail/Maildir/new"
familymail -c /etc/familymail/familymail.conf status | grep '^queue:' |
	sed 's/^/deb: familymail status: /'

# ---------------------------------------------------------------- removal
dpkg_locked dpkg -r familymail >/dev/null || fail "dpkg -r"
[ ! -e /usr/sbin/familymaild ] || fail "dpkg -r left /usr/sbin/familymaild"
[ -f "$db" ] || fail "dpkg -r removed the database"
[ -f /etc/familymail/familymail.conf ] || fail "dpkg -r removed the config"
say "dpkg -r: programs gone; the database and the config stay"
dpkg_locked dpkg -P familymail >/dev/null || fail "dpkg -P"
[ ! -e /var/lib/familymail ] || fail "dpkg -P left /var/lib/familymail"
[ ! -e /etc/familymail ] || fail "dpkg -P left /etc/familymail: $(ls -A /etc/familymail)"
say "dpkg -P: /var/lib/familymail and /etc/familymail gone"
