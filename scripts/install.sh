#!/usr/bin/env bash
# Install gss-negotiate so that MIT krb5's mechglue loads it for NTLMSSP (1.3.6.1.4.1.311.2.2.10).
#
# On Debian, prefer the package (scripts/build-deb.sh, then dpkg -i); this script is for other systems.
#
# Usage: [DESTDIR=/staging] scripts/install.sh [--so PATH] [--libdir DIR] [--sysconfdir DIR] [--prefix DIR] [--build]
#                                              [--spnego]
#   --so PATH         library to install (default: <cargo target dir>/release/libgss_negotiate.so; the target
#                     dir is $CARGO_TARGET_DIR when set, as cargo itself uses it)
#   --build           run `cargo build --release --lib --bins` first
#   --libdir DIR      default: pkg-config's libdir of krb5-gssapi (Debian: /usr/lib/x86_64-linux-gnu)
#   --sysconfdir DIR  default: /etc
#   --prefix DIR      for the command and its man pages, default /usr/local
#   --spnego          also install the SPNEGO interposer line (opt-in: our SPNEGO replaces MIT's built-in one
#                     in every program; remove it with scripts/uninstall.sh --spnego)
# Installs  $DESTDIR$libdir/gss-negotiate/libgss_negotiate.so
#           $DESTDIR$sysconfdir/gss/mech.d/zz-gss-negotiate.conf   (from mech.d/, library path filled in)
#           $DESTDIR$sysconfdir/gss/mech.d/gss-negotiate-spnego.conf   (with --spnego)
#           $DESTDIR$prefix/bin/gss-negotiate and its man pages, when the command was built
# then prints which library MIT will load for the OID (gss-negotiate check).
# DESTDIR stages into another root (packaging, tests); without it you need root.
set -euo pipefail
cd "$(dirname "$0")/.."

so= build=0 libdir= sysconfdir=/etc prefix=/usr/local spnego=0
while [ $# -gt 0 ]; do
  case "$1" in
    --so) so=$2; shift ;;
    --build) build=1 ;;
    --libdir) libdir=$2; shift ;;
    --sysconfdir) sysconfdir=$2; shift ;;
    --prefix) prefix=$2; shift ;;
    --spnego) spnego=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "install: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
destdir=${DESTDIR:-}

if [ -z "$libdir" ]; then
  libdir=$(pkg-config --variable=libdir krb5-gssapi 2>/dev/null || true)
  [ -n "$libdir" ] || libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
fi
[ "$build" = 1 ] && cargo build --release --lib --bins
target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
[ -n "$so" ] || so=$target_dir/release/libgss_negotiate.so
cli=$target_dir/release/gss-negotiate
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
if [ "$spnego" = 1 ]; then
  # The interposer line: name, OID, library, <interposer>.
  spnego_dest=$sysconfdir/gss/mech.d/gss-negotiate-spnego.conf
  awk -v lib="$lib_dest" '/^#/ || NF < 4 { print; next } { printf "%-27s %-28s %s  %s\n", $1, $2, lib, $4 }' \
    mech.d/gss-negotiate-spnego.conf >"$tmp"
  install -m 0644 "$tmp" "$destdir$spnego_dest"
  echo "install: mech.d/gss-negotiate-spnego.conf -> $destdir$spnego_dest (SPNEGO interposer)"
fi
if [ -x "$cli" ]; then
  install -d -m 0755 "$destdir$prefix/bin" "$destdir$prefix/share/man/man1" "$destdir$prefix/share/man/man5"
  install -m 0755 "$cli" "$destdir$prefix/bin/gss-negotiate"
  mandir=$(mktemp -d)
  trap 'rm -rf "$tmp" "$mandir"' EXIT
  "$cli" man "$mandir" >/dev/null
  install -m 0644 "$mandir"/*.1 "$destdir$prefix/share/man/man1/"
  install -m 0644 "$mandir"/*.5 "$destdir$prefix/share/man/man5/"
  echo "install: $cli -> $destdir$prefix/bin/gss-negotiate (and man pages under $destdir$prefix/share/man)"
else
  echo "install: $cli not built; the gss-negotiate command is not installed (cargo build --release --bins)"
fi

if [ -n "$destdir" ]; then
  CARGO_TARGET_DIR=$target_dir scripts/gss-mech-which.sh --root "$destdir" --libdir "$libdir" || true
  if [ "$destdir" != / ] && [ -d /etc/gss ]; then
    echo "install: staged in $destdir; /etc/gss itself was not changed"
  fi
else
  env -u GSS_MECH_CONFIG CARGO_TARGET_DIR="$target_dir" scripts/gss-mech-which.sh --libdir "$libdir" || true
fi
