#!/bin/sh
# Install the Debian packages tocsin needs to build and test, only those that
# are missing.  Run as root (or say what to run otherwise).
#
#   sh tests/deps.sh         build, test, demo, bench (chromium, its driver
#                            and python3-selenium: the web console's test;
#                            the Windows agent's cross toolchain, the tools
#                            that build its sysroot and MSI, and Wine that
#                            runs its tests)
#   sh tests/deps.sh fuzz    the same plus clang (libFuzzer), for make fuzz
#   sh tests/deps.sh pkg     the same plus debhelper, lintian, mandoc (make deb)
set -eu

PKGS="gcc make pkg-config libpcre2-dev libzmq3-dev liblmdb-dev libyaml-dev
libjansson-dev libcmocka-dev libvectorscan-dev libcurl4-openssl-dev libexpat1-dev
libgnutls28-dev openssl
libevtx-dev libbfio-dev libsystemd-dev libsodium-dev libmicrohttpd-dev
bsdutils jq syslog-ng-core systemd-journal-remote
chromium chromium-driver python3-selenium fonts-dejavu-core
gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 mingw-w64-tools cmake autoconf
automake libtool dpkg-dev wine wine64 msitools wixl"
[ "${1:-}" = fuzz ] && PKGS="$PKGS clang"
# make deb / make test-deb: debhelper, and the checkers of the package test
[ "${1:-}" = pkg ] && PKGS="$PKGS debhelper dpkg-dev fakeroot lintian mandoc"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "tocsin needs these Debian packages:$missing" >&2
	echo "run as root: apt-get install -y$missing" >&2
	exit 2
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || echo "apt-get update failed; trying with the lists we have" >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
