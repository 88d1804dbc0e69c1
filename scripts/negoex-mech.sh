#!/usr/bin/env bash
# Build MIT krb5's NegoEx test mechanism (src/plugins/gssapi/negoextest, a GSS mechanism module that negotiates
# through NegoEx inside MIT's SPNEGO; its behaviour is driven by environment variables such as HOPS and KEY, see
# MIT's src/tests/gssapi/t_negoex.py) from Debian's krb5 source package, for tests/interposer_negoex.rs.
#
# Usage: scripts/negoex-mech.sh        fetch (apt-get source krb5 of the installed version) and build; print the .so
# Cache: $NEGOEX_MECH_CACHE, else ${CARGO_TARGET_DIR:-<repo>/target}/peer-suites/negoextest. Nothing is written to
# the repository; reruns reuse the cache. Only the module's main.c is kept and compiled (against the installed
# libgssapi_krb5/libkrb5): the one thing it takes from MIT's internal k5-int.h (a little-endian store helper) is
# supplied by a three-line header written here. The last line of the output is the path of the built .so.
# Exit codes: 0 done; 2 cannot run here (not root, no apt-get/gcc/krb5-config) — the message says why; 1 failure.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${NEGOEX_MECH_CACHE:-${CARGO_TARGET_DIR:-$here/target}/peer-suites/negoextest}"
so="$cache/gss_negoextest.so"

die2() { echo "negoex-mech: $*" >&2; exit 2; }

mkdir -p "$cache"
exec 9>"$cache/.lock"   # one fetcher/builder at a time
flock 9

if [ ! -f "$cache/src/.complete" ]; then
  command -v apt-get >/dev/null 2>&1 || die2 "apt-get not found (Debian 12 needed to fetch krb5's source)"
  command -v dpkg-source >/dev/null 2>&1 || die2 "dpkg-source missing (Debian package dpkg-dev)"
  if [ -z "$(apt-cache showsrc krb5 2>/dev/null | sed -n 's/^Package: krb5$/x/p')" ]; then
    # Enabling deb-src is scripts/mit-gssapi-tests.sh's job (same sources file); reuse it.
    [ "$(id -u)" = 0 ] || die2 "must run as root to enable deb-src (or fill $cache/src by hand)"
    "$here/scripts/mit-gssapi-tests.sh" fetch >/dev/null
  fi
  rm -rf "$cache/src" "$cache/dl"
  mkdir -p "$cache/dl"
  ver="$(dpkg-query -W -f='${source:Version}' libkrb5-dev 2>/dev/null || true)"
  ( cd "$cache/dl" && { { [ -n "$ver" ] && apt-get source -qq "krb5=$ver" >&2; } || apt-get source -qq krb5 >&2; } )
  d="$(find "$cache/dl" -maxdepth 1 -type d -name 'krb5-*' | head -1)"
  [ -n "$d" ] && [ -f "$d/src/plugins/gssapi/negoextest/main.c" ] \
    || { echo "negoex-mech: no src/plugins/gssapi/negoextest in ${d:-the source}" >&2; exit 1; }
  mkdir -p "$cache/src"
  cp -a "$d/src/plugins/gssapi/negoextest/." "$cache/src/"
  ( cd "$cache/dl" && ls -1 ./*.dsc ) > "$cache/src/.complete"
  rm -rf "$cache/dl"
fi

if [ ! -f "$so" ] || [ "$cache/src/main.c" -nt "$so" ] || [ "$0" -nt "$so" ]; then
  command -v gcc >/dev/null 2>&1 || die2 "gcc missing (Debian package build-essential)"
  command -v krb5-config >/dev/null 2>&1 || die2 "krb5-config missing (Debian package libkrb5-dev)"
  mkdir -p "$cache/inc"
  # Stand-in for krb5's internal k5-int.h: the public headers plus the one helper main.c uses.
  cat > "$cache/inc/k5-int.h" <<'H'
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <krb5/krb5.h>
static inline void store_32_le(uint32_t v, void *p)
{
    unsigned char *b = p;
    b[0] = v & 0xff; b[1] = (v >> 8) & 0xff; b[2] = (v >> 16) & 0xff; b[3] = (v >> 24) & 0xff;
}
H
  # shellcheck disable=SC2046
  gcc -shared -fPIC -O1 -w -I"$cache/inc" $(krb5-config --cflags gssapi) -o "$so.tmp" "$cache/src/main.c" \
      $(krb5-config --libs gssapi) 2> "$cache/build.log" \
    || { cat "$cache/build.log" >&2; echo "negoex-mech: build failed" >&2; exit 1; }
  mv "$so.tmp" "$so"
fi
echo "$so"
