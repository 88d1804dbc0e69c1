#!/usr/bin/env bash
# Which library MIT krb5's mechglue loads for each mechanism, and from which file: a thin wrapper around
# `gss-negotiate check` (which reads /etc/gss/mech and mech.d/*.conf the way MIT 1.20 does, and also checks
# the plugin's version, the user file and the acceptor's names). Kept for the scripts that call it.
#
# Usage: scripts/gss-mech-which.sh [--root DIR] [--libdir DIR]
#   --root DIR    read DIR/etc/gss/... and look for the libraries under DIR (ignores GSS_MECH_CONFIG)
# Exit status: that of `gss-negotiate check` (0: gss-negotiate serves NTLMSSP and no problem was found).
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) args+=(--root "$2"); shift ;;
    --libdir) args+=(--libdir "$2"); shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "gss-mech-which: unknown argument $1 (every mechanism is listed)" >&2 ;;
  esac
  shift
done

bin=$(command -v gss-negotiate || true)
if [ -z "$bin" ]; then
  target_dir=${CARGO_TARGET_DIR:-target}
  for b in "$target_dir/release/gss-negotiate" "$target_dir/debug/gss-negotiate"; do
    [ -x "$b" ] && { bin=$b; break; }
  done
fi
if [ -z "$bin" ]; then
  echo "gss-mech-which: gss-negotiate not found; build it with 'cargo build --release --bin gss-negotiate'" >&2
  exit 1
fi
exec "$bin" check "${args[@]}"
