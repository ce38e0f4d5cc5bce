#!/bin/sh
# Installs what familymail needs from Debian's archive: to build and run
# it (default), or also to test it (--tests), benchmark it (--bench) or
# fuzz it (--fuzz: clang and libFuzzer, for `make fuzz`).
set -eu

BUILD="build-essential autoconf automake libtool pkg-config
  libuv1-dev libcurl4-gnutls-dev libsqlite3-dev libetpan-dev libinih-dev
  libjansson-dev libssl-dev libxml2-dev libsystemd-dev libhttp-parser-dev
  libical-dev check sqlite3 tzdata ca-certificates"
TESTS="python3 python3-aiosmtpd python3-icalendar openssl valgrind clang-format
  postfix mandoc chromium chromium-driver dovecot-imapd dovecot-pop3d"
BENCH="python3-pystache libsisimai-perl"
FUZZ="clang libclang-rt-14-dev"

want="$BUILD"
for arg in "$@"; do
	case "$arg" in
	--tests) want="$want $TESTS" ;;
	--bench) want="$want $TESTS $BENCH" ;;
	--fuzz) want="$want $FUZZ" ;;
	*) echo "usage: $0 [--tests] [--bench] [--fuzz]" >&2; exit 64 ;;
	esac
done

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
# postfix asks how to configure itself; only its smtp-sink and
# smtp-source tools are used, so "No configuration" is right.
echo "postfix postfix/main_mailer_type select No configuration" |
	$SUDO debconf-set-selections
# Dovecot is only started by the tests, on their own ports: keep the
# packages from starting a system service, through a policy-rc.d for
# the time of the install when none is in place.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	policy=/usr/sbin/policy-rc.d
fi
rc=0
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing >/dev/null || rc=$?
[ -z "$policy" ] || $SUDO rm -f "$policy"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	$SUDO systemctl disable --now dovecot.service >/dev/null 2>&1 || :
fi
exit $rc
