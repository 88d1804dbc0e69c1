#!/usr/bin/env bash
# Remove what scripts/install.sh installed (same DESTDIR / --libdir / --sysconfdir), then print which
# library MIT now loads for NTLMSSP (e.g. gss-ntlmssp's, if that package is installed).
# Usage: [DESTDIR=/staging] scripts/uninstall.sh [--libdir DIR] [--sysconfdir DIR] [--prefix DIR] [--spnego]
#   --spnego   remove only the SPNEGO interposer line (back to MIT's SPNEGO; the NTLM mechanism stays)
set -euo pipefail
cd "$(dirname "$0")/.."

libdir= sysconfdir=/etc prefix=/usr/local spnego_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --libdir) libdir=$2; shift ;;
    --sysconfdir) sysconfdir=$2; shift ;;
    --prefix) prefix=$2; shift ;;
    --spnego) spnego_only=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "uninstall: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
destdir=${DESTDIR:-}
if [ -z "$libdir" ]; then
  libdir=$(pkg-config --variable=libdir krb5-gssapi 2>/dev/null || true)
  [ -n "$libdir" ] || libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
fi
if [ -z "$destdir" ] && [ "$(id -u)" != 0 ]; then
  echo "uninstall: needs root (or DESTDIR)" >&2
  exit 1
fi
spnego_conf=$destdir$sysconfdir/gss/mech.d/gss-negotiate-spnego.conf
if [ -e "$spnego_conf" ]; then rm -f "$spnego_conf"; echo "uninstall: removed $spnego_conf"; fi
if [ "$spnego_only" = 1 ]; then exit 0; fi
for f in "$destdir$sysconfdir/gss/mech.d/zz-gss-negotiate.conf" "$destdir$libdir/gss-negotiate/libgss_negotiate.so"; do
  if [ -e "$f" ]; then rm -f "$f"; echo "uninstall: removed $f"; else echo "uninstall: $f was not there"; fi
done
rmdir "$destdir$libdir/gss-negotiate" 2>/dev/null || true
rm -f "$destdir$prefix"/share/man/man1/gss-negotiate*.1 "$destdir$prefix/share/man/man5/gss-negotiate.5"
# The command goes last: the check below still uses it (or the one in the cargo target dir).
cli=$destdir$prefix/bin/gss-negotiate

if [ -n "$destdir" ]; then
  scripts/gss-mech-which.sh --root "$destdir" --libdir "$libdir" || true
else
  env -u GSS_MECH_CONFIG scripts/gss-mech-which.sh --libdir "$libdir" || true
fi
if [ -e "$cli" ]; then rm -f "$cli"; echo "uninstall: removed $cli"; fi
