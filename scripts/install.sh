#!/usr/bin/env bash
# Install gss-negotiate so that MIT krb5's mechglue loads it for NTLMSSP (1.3.6.1.4.1.311.2.2.10).
#
# Usage: [DESTDIR=/staging] scripts/install.sh [--so PATH] [--libdir DIR] [--sysconfdir DIR] [--build]
#   --so PATH         library to install (default: <cargo target dir>/release/libgss_negotiate.so)
#   --build           run `cargo build --release --lib` first
#   --libdir DIR      default: pkg-config's libdir of krb5-gssapi (Debian: /usr/lib/x86_64-linux-gnu)
#   --sysconfdir DIR  default: /etc
# Installs  $DESTDIR$libdir/gss-negotiate/libgss_negotiate.so
#           $DESTDIR$sysconfdir/gss/mech.d/zz-gss-negotiate.conf   (from mech.d/, library path filled in)
# then prints which library MIT will load for the OID (scripts/gss-mech-which.sh).
# DESTDIR stages into another root (packaging, tests); without it you need root.
set -euo pipefail
cd "$(dirname "$0")/.."

so= build=0 libdir= sysconfdir=/etc
while [ $# -gt 0 ]; do
  case "$1" in
    --so) so=$2; shift ;;
    --build) build=1 ;;
    --libdir) libdir=$2; shift ;;
    --sysconfdir) sysconfdir=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
destdir=${DESTDIR:-}

if [ -z "$libdir" ]; then
  libdir=$(pkg-config --variable=libdir krb5-gssapi 2>/dev/null || true)
  [ -n "$libdir" ] || libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
fi
if [ -z "$so" ]; then
  [ "$build" = 1 ] && cargo build --release --lib
  target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
  so=$target_dir/release/libgss_negotiate.so
fi
if [ ! -f "$so" ]; then
  echo "install: $so not found; build it with 'cargo build --release --lib' or pass --build / --so PATH" >&2
  exit 1
fi
if [ -z "$destdir" ] && [ "$(id -u)" != 0 ]; then
  echo "install: writing to $libdir and $sysconfdir needs root (or set DESTDIR to stage elsewhere)" >&2
  exit 1
fi

lib_dest=$libdir/gss-negotiate/libgss_negotiate.so
conf_dest=$sysconfdir/gss/mech.d/zz-gss-negotiate.conf
install -d -m 0755 "$destdir$libdir/gss-negotiate" "$destdir$sysconfdir/gss/mech.d"
install -m 0644 "$so" "$destdir$lib_dest"
# Fill in the library path on the (single) configuration line, keep the comments.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
awk -v lib="$lib_dest" '/^#/ || NF < 3 { print; next } { printf "%-23s %-25s %s\n", $1, $2, lib }' \
  mech.d/zz-gss-negotiate.conf >"$tmp"
install -m 0644 "$tmp" "$destdir$conf_dest"
echo "install: $so -> $destdir$lib_dest"
echo "install: mech.d/zz-gss-negotiate.conf -> $destdir$conf_dest"

if [ -n "$destdir" ]; then
  scripts/gss-mech-which.sh --root "$destdir" --libdir "$libdir" || true
  if [ "$destdir" != / ] && [ -d /etc/gss ]; then
    echo "install: staged in $destdir; /etc/gss itself was not changed"
  fi
else
  env -u GSS_MECH_CONFIG scripts/gss-mech-which.sh --libdir "$libdir" || true
fi
