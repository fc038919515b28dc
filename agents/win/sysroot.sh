#!/bin/sh
# Build the mingw-w64 sysroot that tocsin-agent.exe links against: static
# Windows builds of libsodium, libzmq (CURVE), LMDB, libyaml and jansson,
# made from Debian's own source packages, at the very versions the Linux
# build uses (the installed -dev packages name them).
#
#   sh agents/win/sysroot.sh [SYSROOT]
#
# SYSROOT defaults to $TOCSIN_WIN_SYSROOT, else /var/cache/tocsin/win64-sysroot:
# outside the clone, so that every clone and CI on this machine share it.
# SYSROOT/versions records the source versions it was built from; when they
# still match, nothing is done.  The sources come from `apt-get source` with
# deb-src entries in a private, temporary apt configuration (its own sources
# file and lists, removed afterwards): the system's apt setup is not touched.
set -eu

HOST=x86_64-w64-mingw32
SYSROOT=${1:-${TOCSIN_WIN_SYSROOT:-/var/cache/tocsin/win64-sysroot}}
JOBS=${JOBS:-2}
# binary package whose source version we build : source package
LIBS="libsodium-dev:libsodium libzmq3-dev:zeromq3 liblmdb-dev:lmdb
libyaml-dev:libyaml libjansson-dev:jansson"

say() { echo "sysroot: $*"; }
die() { echo "sysroot: $*" >&2; exit 1; }

for t in $HOST-gcc $HOST-g++ cmake autoreconf dpkg-source; do
	command -v "$t" >/dev/null 2>&1 ||
	    die "$t is missing; run 'make deps' (as root)"
done

want=""
for pair in $LIBS; do
	bin=${pair%%:*} src=${pair#*:}
	v=$(dpkg-query -W -f='${source:Version}' "$bin" 2>/dev/null) ||
	    die "$bin is not installed; run 'make deps'"
	want="$want$src=$v
"
done
if [ -f "$SYSROOT/versions" ] && [ "$(cat "$SYSROOT/versions")" = "$(printf %s "$want")" ]; then
	say "up to date in $SYSROOT ($(printf %s "$want" | tr '\n' ' '))"
	exit 0
fi
say "building in $SYSROOT from the source packages:"
printf %s "$want" | sed 's/^/  /'

work=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-sysroot.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
new="$SYSROOT.new"
rm -rf "$new"
mkdir -p "$new" "$work/apt/lists/partial" "$work/apt/parts" "$work/src"

# deb-src twins of the system's Debian archive entries, in a sources file
# of our own that only this script's apt calls read.
srcs="$work/apt/sources.list"
: > "$srcs"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	sed -n 's/^[[:space:]]*deb[[:space:]]\(.*debian.*\)/deb-src \1/p' "$f" >> "$srcs"
done
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	awk 'BEGIN { RS = ""; ORS = "\n\n" }
	     /URIs:[^\n]*debian/ && /Types:[^\n]*deb/ {
		sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" \
	    > "$work/apt/parts/$(basename "$f")"
done
[ -s "$srcs" ] || ls "$work/apt/parts/"*.sources >/dev/null 2>&1 ||
    die "no Debian archive in the apt sources to take deb-src from"
APT="-o Dir::Etc::SourceList=$srcs -o Dir::Etc::SourceParts=$work/apt/parts
 -o Dir::State::Lists=$work/apt/lists -o Dir::Cache::pkgcache=
 -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root"
say "apt-get update (deb-src, temporary lists)"
# shellcheck disable=SC2086
apt-get -q $APT update >"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log" >&2; die "apt-get update of the deb-src lists failed"; }

printf %s "$want" | while IFS== read -r src v; do
	[ -n "$src" ] || continue
	say "apt-get source $src=$v"
	# shellcheck disable=SC2086
	(cd "$work/src" && apt-get -q $APT source "$src=$v" >"$work/get-$src.log" 2>&1) ||
	    { cat "$work/get-$src.log" >&2; die "apt-get source $src=$v failed"; }
done

srcdir() {
	for d in "$work/src/$1"-*/; do
		[ -d "$d" ] && { echo "${d%/}"; return; }
	done
	die "no unpacked source for $1"
}

export PKG_CONFIG_LIBDIR="$new/lib/pkgconfig"
export PKG_CONFIG_PATH=
# Windows 7 and later (_WIN32_WINNT 0x0601): cross-compiling, CMake cannot
# detect the target version and libzmq would define _WIN32_WINNT empty.
CMAKE_X="-DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_VERSION=6.1
 -DCMAKE_C_COMPILER=$HOST-gcc
 -DCMAKE_CXX_COMPILER=$HOST-g++ -DCMAKE_RC_COMPILER=$HOST-windres
 -DCMAKE_FIND_ROOT_PATH=$new -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER
 -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY
 -DCMAKE_INSTALL_PREFIX=$new -DCMAKE_BUILD_TYPE=Release"

run() {	# run LOGNAME CMD...: quiet unless it fails
	log="$work/$1.log"; shift
	"$@" >"$log" 2>&1 || { tail -40 "$log" >&2; die "failed: $*"; }
}

say "libsodium (autotools, static)"
d=$(srcdir libsodium)
(cd "$d" && run sodium-autoreconf autoreconf -fi &&
 run sodium-configure ./configure --host=$HOST --prefix="$new" \
     --disable-shared --enable-static --disable-dependency-tracking &&
 run sodium-make make -j"$JOBS" && run sodium-install make install)

say "libzmq (CMake, static, CURVE with libsodium, win32api condition variables)"
d=$(srcdir zeromq3)
mkdir -p "$d/build-w64"
# shellcheck disable=SC2086
(cd "$d/build-w64" && run zmq-cmake cmake .. $CMAKE_X \
     -DBUILD_SHARED=OFF -DBUILD_STATIC=ON -DBUILD_TESTS=OFF \
     -DWITH_LIBSODIUM=ON -DWITH_LIBSODIUM_STATIC=ON -DENABLE_CURVE=ON \
     -DWITH_TLS=OFF -DWITH_NSS=OFF -DWITH_DOCS=OFF -DWITH_PERF_TOOL=OFF \
     -DENABLE_DRAFTS=OFF -DENABLE_CPACK=OFF -DENABLE_WS=OFF \
     -DZMQ_CV_IMPL=win32api -DZMQ_WIN32_WINNT=0x0601 -DZMQ_HAVE_IPC=OFF \
     -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=OFF \
     -Dsodium_INCLUDE_DIR="$new/include" \
     -Dsodium_LIBRARY_RELEASE="$new/lib/libsodium.a" \
     -DSODIUM_INCLUDE_DIRS="$new/include" \
     -DSODIUM_LIBRARIES="$new/lib/libsodium.a" &&
 run zmq-make make -j"$JOBS" libzmq-static && run zmq-install make install)
# CMake names the static library after the toolset; give it one name.
for a in "$new"/lib/libzmq*.a; do
	[ -f "$a" ] && [ "$a" != "$new/lib/libzmq.a" ] && cp "$a" "$new/lib/libzmq.a"
done
[ -f "$new/lib/libzmq.a" ] || die "libzmq.a was not built"

say "LMDB (its own Makefile)"
d=$(srcdir lmdb)
l=$d
[ -d "$d/libraries/liblmdb" ] && l="$d/libraries/liblmdb"
(cd "$l" && run lmdb-make make CC=$HOST-gcc AR=$HOST-ar \
     XCFLAGS="-DNDEBUG" liblmdb.a)
mkdir -p "$new/include" "$new/lib"
cp "$l/lmdb.h" "$new/include/" && cp "$l/liblmdb.a" "$new/lib/"

say "libyaml (CMake, static)"
d=$(srcdir libyaml)
mkdir -p "$d/build-w64"
# shellcheck disable=SC2086
(cd "$d/build-w64" && run yaml-cmake cmake .. $CMAKE_X \
     -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF &&
 run yaml-make make -j"$JOBS" yaml && run yaml-install make install)

say "jansson (CMake, static)"
d=$(srcdir jansson)
mkdir -p "$d/build-w64"
# shellcheck disable=SC2086
(cd "$d/build-w64" && run jansson-cmake cmake .. $CMAKE_X \
     -DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_BUILD_DOCS=OFF \
     -DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON &&
 run jansson-make make -j"$JOBS" && run jansson-install make install)

printf %s "$want" > "$new/versions"
rm -rf "$SYSROOT"
mv "$new" "$SYSROOT"
say "done: $SYSROOT"
