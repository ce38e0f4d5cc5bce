#!/bin/sh
# Installs what familymail needs from Debian's archive: to build and run
# it (default), or also to test it (--tests), benchmark it (--bench),
# fuzz it (--fuzz: clang and libFuzzer, for `make fuzz`) or build and
# check its Debian package (--package: contrib/deb-test.sh). --progress
# shows apt's own lines while it installs (the demo uses it).
set -eu

BUILD="build-essential autoconf automake libtool pkg-config
  libuv1-dev libcurl4-gnutls-dev libsqlite3-dev libetpan-dev libinih-dev
  libjansson-dev libssl-dev libxml2-dev libsystemd-dev libhttp-parser-dev
  libicu-dev libopendkim-dev libunbound-dev libpsl-dev libical-dev
  libgoogle-perftools-dev
  check sqlite3 tzdata ca-certificates curl"
TESTS="python3 python3-aiosmtpd python3-icalendar openssl valgrind clang-format
  postfix mandoc chromium chromium-driver dovecot-imapd dovecot-pop3d
  php-cli php-sqlite3 python3-dkim python3-nacl nsd spamassassin
  libnss-wrapper"
BENCH="python3-pystache libsisimai-perl"
FUZZ="clang libclang-rt-14-dev"
PACKAGE="debhelper dpkg-dev fakeroot lintian python3"

want="$BUILD"
progress=no
for arg in "$@"; do
	case "$arg" in
	--progress) progress=yes ;;
	--tests) want="$want $TESTS" ;;
	--bench) want="$want $TESTS $BENCH" ;;
	--fuzz) want="$want $FUZZ" ;;
	--package) want="$want $PACKAGE" ;;
	*)
		echo "usage: $0 [--tests] [--bench] [--fuzz] [--package]" \
			"[--progress]" >&2
		exit 64
		;;
	esac
done

# npm installs axe-core for tests/check_axe into the build folder. A
# Node.js from elsewhere may bring its own npm: Debian's is installed only
# when there is no npm at all.
case " $want " in
*" chromium "*) command -v npm >/dev/null 2>&1 || want="$want npm" ;;
esac

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
# Dovecot and nsd are only started by the tests, on their own ports:
# keep the packages from starting a system service, through a
# policy-rc.d for the time of the install when none is in place.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	policy=/usr/sbin/policy-rc.d
fi
rc=0
if [ "$progress" = yes ]; then
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing |
		grep --line-buffered -E '^(Get|Unpacking|Setting up)' || :
	for p in $missing; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "ok installed" || rc=1
	done
else
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null || rc=$?
fi
[ -z "$policy" ] || $SUDO rm -f "$policy"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	$SUDO systemctl disable --now dovecot.service >/dev/null 2>&1 || :
	$SUDO systemctl disable --now nsd.service >/dev/null 2>&1 || :
fi
exit $rc
