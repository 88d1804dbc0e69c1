#!/usr/bin/env bash
# Runs the concurrency program (tests/c/concurrency.c, see tests/concurrency.rs) under ThreadSanitizer:
# the plugin built by nightly rustc with -Zsanitizer=thread and -Zbuild-std (std instrumented too, so its
# futex-based locks and atomics are understood), the program built by gcc -fsanitize=thread (libtsan
# intercepts MIT's pthread locks). tests/c/tsan_shim.c supplies the three __tsan_mem* entry points newer
# LLVM emits and gcc 12's libtsan lacks.
#
#   scripts/tsan-concurrency.sh [THREADS [HANDSHAKES]]     (default 8 500)
#
# Needs: rustup nightly with rust-src, gcc, libkrb5-dev. Fails on any ThreadSanitizer report or wrong result.
# Its own target dir: ${TSAN_TARGET_DIR:-$root/target-tsan} (a first build compiles std: minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${1:-8}
handshakes=${2:-500}
target_dir=${TSAN_TARGET_DIR:-$root/target-tsan}
triple=$(rustc -vV | sed -n 's/^host: //p')
work=$(mktemp -d "${TMPDIR:-/tmp}/gss-negotiate-tsan.XXXXXX")
trap '[ -n "${KEEP_TSAN:-}" ] || rm -rf "$work"' EXIT

(cd "$root" && RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=$target_dir \
  cargo +nightly build --lib --quiet -Zbuild-std --target "$triple")
so=$target_dir/$triple/debug/libgss_negotiate.so
gcc -std=c11 -g -O1 -fsanitize=thread -rdynamic -o "$work/concurrency" \
  "$root/tests/c/concurrency.c" "$root/tests/c/tsan_shim.c" -lgssapi_krb5 -lpthread

printf 'ntlmssp_gss_negotiate 1.3.6.1.4.1.311.2.2.10 %s\n' "$so" >"$work/mech.conf"
: >"$work/users"
chmod 600 "$work/users"
printf '[libdefaults]\n default_realm = GSS-NEGOTIATE.INVALID\n dns_lookup_kdc = false\n dns_lookup_realm = false\n' \
  >"$work/krb5.conf"
host=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)

set +e
GSS_MECH_CONFIG=$work/mech.conf NTLM_USER_FILE=$work/users KRB5_CONFIG=$work/krb5.conf HANDSHAKE_HOST=$host \
  CONC_THREADS=$threads CONC_HANDSHAKES=$handshakes TSAN_OPTIONS="halt_on_error=0 exitcode=66" \
  "$work/concurrency" >"$work/out.log" 2>&1
rc=$?
set -e
grep -vE '^   reload' "$work/out.log" | grep -v '^ ' | head -40
reports=$(grep -c 'WARNING: ThreadSanitizer' "$work/out.log" || true)
echo "tsan-concurrency.sh: $threads x $handshakes, exit $rc, ThreadSanitizer reports: $reports"
[ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]
