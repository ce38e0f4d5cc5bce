#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# exim_unpack.sh DEST: Debian's Exim (exim4-daemon-light and what it
# needs beyond a familymail test machine) unpacked under DEST, not
# installed: check_smtp runs it on a loopback port as a strict relay,
# beside Postfix, which stays the machine's MTA. Nothing is configured
# or started here. apt-get download needs the package lists (apt-get
# update) but no root.
set -eu

dest=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/exim-debs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"
apt-get download exim4-daemon-light exim4-base libidn12 >/dev/null 2>&1
mkdir -p "$dest.new"
for deb in ./*.deb; do
	dpkg-deb -x "$deb" "$dest.new"
done
[ -x "$dest.new/usr/sbin/exim4" ]
rm -rf "$dest"
mv "$dest.new" "$dest"
