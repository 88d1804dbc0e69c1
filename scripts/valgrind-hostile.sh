#!/usr/bin/env bash
# Runs the hostile-token program (tests/c/hostile.c, see tests/hostile_c_abi.rs) under valgrind memcheck,
# through MIT's mechglue with a private GSS_MECH_CONFIG naming our plugin.
#
#   scripts/valgrind-hostile.sh [full] [spnego]
#
# spnego: tests/c/hostile_spnego.c instead, through our SPNEGO interposer (the <interposer> line of
# mech.d/gss-negotiate-spnego.conf added to the private config; see tests/interposer_hostile.rs).
#
# Default: "quick" mode (positions sampled, ~900 cases, a minute or two under valgrind); `full` runs every
# position (~6,000 cases). Fails on any memory error (invalid read/write, use of uninitialised memory) and on
# any block definitely or indirectly lost whose allocation stack passes through libgss_negotiate.so.
# Leaks of MIT's own library are printed for information only.
# Needs gcc, libkrb5-dev and valgrind (scripts/install-deps.sh). CARGO_TARGET_DIR is honoured.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=quick spnego=0
for a in "$@"; do
  case "$a" in
    full) mode=full ;;
    spnego) spnego=1 ;;
    *) echo "valgrind-hostile.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
target_dir=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d "${TMPDIR:-/tmp}/gss-negotiate-vg.XXXXXX")
trap '[ -n "${KEEP_VG:-}" ] || rm -rf "$work"' EXIT

for tool in gcc valgrind; do
  command -v "$tool" >/dev/null || { echo "valgrind-hostile.sh: $tool not installed" >&2; exit 2; }
done
(cd "$root" && cargo build --lib --quiet)
so=$target_dir/debug/libgss_negotiate.so
if [ "$spnego" = 1 ]; then
  gcc -std=c11 -O1 -g -o "$work/hostile" "$root/tests/c/hostile_spnego.c" -lgssapi_krb5
else
  gcc -std=c99 -O1 -g -Wno-discarded-qualifiers -o "$work/hostile" "$root/tests/c/hostile.c" -lgssapi_krb5
fi

printf 'ntlmssp_gss_negotiate 1.3.6.1.4.1.311.2.2.10 %s\n' "$so" >"$work/mech.conf"
if [ "$spnego" = 1 ]; then
  oid=$(awk '!/^[[:space:]]*#/ && /<interposer>/ { print $2; exit }' "$root/mech.d/gss-negotiate-spnego.conf")
  printf 'spnego_gss_negotiate %s %s <interposer>\n' "$oid" "$so" >>"$work/mech.conf"
fi
printf 'TESTDOM:testuser:Passw0rd!\n' >"$work/users"
chmod 600 "$work/users"
printf '[libdefaults]\n default_realm = GSS-NEGOTIATE.INVALID\n dns_lookup_kdc = false\n dns_lookup_realm = false\n' \
  >"$work/krb5.conf"
host=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)

set +e
GSS_MECH_CONFIG=$work/mech.conf NTLM_USER_FILE=$work/users KRB5_CONFIG=$work/krb5.conf HOSTILE_STRICT=$spnego \
  valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=none --num-callers=40 --log-file="$work/vg.log" \
  "$work/hostile" "host@$host" "$( [ "$mode" = quick ] && echo quick)"
rc=$?
set -e
cat "$work/vg.log" | grep -E '^==[0-9]+== (ERROR SUMMARY|   definitely lost|   indirectly lost|   possibly lost|  total heap usage)' || true
# Loss records whose stack passes through the plugin.
ours=$(awk '/are (definitely|indirectly) lost in loss record/ {rec=$0; keep=0; next}
            rec != "" && /libgss_negotiate/ {keep=1}
            rec != "" && /^==[0-9]+== $/ {if (keep) print rec; rec=""; keep=0}' "$work/vg.log" | wc -l)
echo "valgrind-hostile.sh: mode $mode$([ "$spnego" = 1 ] && echo ", SPNEGO interposer"), exit $rc, loss records in libgss_negotiate: $ours"
if [ "$rc" -ne 0 ] || [ "$ours" -ne 0 ]; then
  grep -E -A30 'Invalid|uninitialised|are (definitely|indirectly) lost' "$work/vg.log" | head -120
  exit 1
fi
