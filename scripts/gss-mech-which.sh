#!/usr/bin/env bash
# Tell which library MIT krb5's mechglue will load for a mechanism OID, by reading the configuration
# the way MIT 1.20 does (src/lib/gssapi/mechglue/g_initialize.c, loadConfigFiles/addConfigEntry):
#   - if GSS_MECH_CONFIG is set, only that file; otherwise /etc/gss/mech, then /etc/gss/mech.d/*.conf in
#     sorted glob order;
#   - lines starting with '#' are comments; fields: name OID library [...];
#   - a relative library path is taken under $libdir/gss/;
#   - for an OID listed more than once, the LAST line's library is used (the first line's name is kept).
#
# Usage: scripts/gss-mech-which.sh [--root DIR] [--libdir DIR] [OID]
#   --root DIR    read DIR/etc/gss/... instead of /etc/gss/... (and ignore GSS_MECH_CONFIG)
#   OID           default 1.3.6.1.4.1.311.2.2.10 (NTLMSSP)
# Exit status: 0 if some library is configured for the OID and exists, 1 otherwise.
set -euo pipefail

root= libdir= oid=1.3.6.1.4.1.311.2.2.10
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift ;;
    --libdir) libdir=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) oid=$1 ;;
  esac
  shift
done
if [ -z "$libdir" ]; then
  libdir=$(pkg-config --variable=libdir krb5-gssapi 2>/dev/null || true)
  [ -n "$libdir" ] || libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
fi

files=()
if [ -z "$root" ] && [ -n "${GSS_MECH_CONFIG:-}" ]; then
  files=("$GSS_MECH_CONFIG")
  echo "GSS_MECH_CONFIG is set: only $GSS_MECH_CONFIG is read"
else
  [ -e "$root/etc/gss/mech" ] && files+=("$root/etc/gss/mech")
  # glob(3) sorts with the process's collation; these programs run in the C locale.
  while IFS= read -r f; do files+=("$f"); done < <(LC_ALL=C; for f in "$root"/etc/gss/mech.d/*.conf; do
    [ -e "$f" ] && echo "$f"; done)
fi

name= lib= from=
for f in "${files[@]}"; do
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '#'*) continue ;; esac
    read -r n o l _ <<<"$line" || true
    [ -n "${l:-}" ] || continue
    [ "$o" = "$oid" ] || continue
    [ -n "$name" ] || name=$n
    case "$l" in /*) lib=$l ;; *) lib=$libdir/gss/$l ;; esac
    from=$f
    echo "  $f: $n $o $l"
  done <"$f"
done

if [ -z "$lib" ]; then
  echo "No library is configured for $oid (read: ${files[*]:-nothing})"
  exit 1
fi
echo "MIT will load $lib for $oid (from $from; mechanism name '$name')"
check=$lib
[ -n "$root" ] && check=$root$lib
if [ ! -f "$check" ]; then
  echo "warning: $check does not exist: the mechanism will fail to load" >&2
  exit 1
fi
