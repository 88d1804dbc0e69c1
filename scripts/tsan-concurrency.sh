#!/usr/bin/env bash
# ThreadSanitizer runs of the plugin: the plugin built with -Zsanitizer=thread and -Zbuild-std (std instrumented
# too, so its futex-based locks, Once and atomics are understood), loaded by C programs built with gcc
# -fsanitize=thread (libtsan intercepts MIT's and libwbclient's pthread calls). tests/c/tsan_shim.c supplies the
# three __tsan_mem* entry points newer LLVM emits and gcc 12's libtsan lacks.
#
#   scripts/tsan-concurrency.sh [THREADS [HANDSHAKES]]          tests/c/concurrency.c (see tests/concurrency.rs),
#                                                                default 8 500
#   scripts/tsan-concurrency.sh --probe                          self-check: tests/tsan-probe's deliberate race
#                                                                must be reported, its std-synchronised twin not
#   scripts/tsan-concurrency.sh --winbind DIR [THREADS [COUNT]]  bench/adbench.c inside the Samba AD DC of
#                                                                scripts/ad-env.sh (DIR; root): COUNT logons per
#                                                                thread validated by winbind, raw and SPNEGO,
#                                                                default 8 20
#   scripts/tsan-concurrency.sh --available                      exit 0 when a toolchain below is installed
#
# Toolchain (-Zsanitizer and -Zbuild-std are unstable): rustup's nightly with its rust-src component, else
# Debian's rustc-web + cargo-web + rust-web-src (scripts/install-deps.sh --group tsan) with RUSTC_BOOTSTRAP=1
# (the unstable flags on a stable compiler whose std sources are installed). Fails on any ThreadSanitizer
# report or wrong result. Its own target dir: ${TSAN_TARGET_DIR:-$root/target/tsan} (a first build compiles
# std: a minute or two).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${TSAN_TARGET_DIR:-$root/target/tsan}
triple=x86_64-unknown-linux-gnu

# Sets CARGO (the command) when an unstable-capable toolchain with std's sources is installed.
find_toolchain() {
  local sysroot
  if sysroot=$(rustc +nightly --print sysroot 2>/dev/null) && [ -d "$sysroot/lib/rustlib/src/rust/library" ]; then
    CARGO=(cargo +nightly)
    return 0
  fi
  if [ -x /usr/bin/cargo ] && sysroot=$(/usr/bin/rustc --print sysroot 2>/dev/null) \
     && [ -d "$sysroot/lib/rustlib/src/rust/library" ]; then
    CARGO=(env RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc /usr/bin/cargo)
    return 0
  fi
  return 1
}

no_toolchain="no toolchain for ThreadSanitizer: needs rustup nightly with rust-src, or Debian's rustc-web, cargo-web and rust-web-src (scripts/install-deps.sh --group tsan)"

mode=concurrency
case "${1:-}" in
  --available) find_toolchain || { echo "tsan-concurrency.sh: $no_toolchain" >&2; exit 1; }; exit 0 ;;
  --probe) mode=probe; shift ;;
  --winbind) mode=winbind; shift; ad_dir=${1:?--winbind needs the ad-env.sh directory}; shift ;;
esac
find_toolchain || { echo "tsan-concurrency.sh: $no_toolchain" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gss-negotiate-tsan.XXXXXX")
trap '[ -n "${KEEP_TSAN:-}" ] || rm -rf "$work"' EXIT

# cargo_tsan MANIFEST: builds that package's library with the sanitizer and an instrumented std.
cargo_tsan() {
  RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=$target_dir \
    "${CARGO[@]}" build --quiet --lib -Zbuild-std --target "$triple" --manifest-path "$1"
}
# cc_tsan OUT SOURCE...: a C program under ThreadSanitizer that exports the shim to the loaded plugin.
cc_tsan() {
  local out=$1; shift
  gcc -std=gnu11 -g -O1 -fsanitize=thread -rdynamic -o "$out" "$@" "$root/tests/c/tsan_shim.c" \
    -lgssapi_krb5 -lpthread -ldl
}
# reports LOG: the number of ThreadSanitizer reports in LOG.
reports() { grep -c 'WARNING: ThreadSanitizer' "$1" || true; }
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 ${TSAN_OPTIONS:-}"

if [ "$mode" = probe ]; then
  cargo_tsan "$root/tests/tsan-probe/Cargo.toml"
  cc_tsan "$work/probe" "$root/tests/c/tsan_probe.c"
  lib=$target_dir/$triple/debug/libtsan_probe.so
  ok=1
  for kind in racy guarded; do
    set +e
    "$work/probe" "$lib" "$kind" >"$work/$kind.log" 2>&1
    rc=$?
    set -e
    n=$(reports "$work/$kind.log")
    echo "tsan-concurrency.sh --probe: $kind: exit $rc, ThreadSanitizer reports: $n"
    if [ "$kind" = racy ]; then
      # The report must name the racy function: TSan saw the instrumented Rust access.
      { [ "$n" -ge 1 ] && grep -q 'probe_racy' "$work/racy.log"; } || ok=0
    else
      { [ "$rc" -eq 0 ] && [ "$n" -eq 0 ] && grep -q 'guarded done' "$work/guarded.log"; } \
        || { ok=0; grep -v '^ ' "$work/guarded.log" | head -20; }
    fi
  done
  [ "$ok" = 1 ] || { echo "tsan-concurrency.sh --probe: the setup is not sound (see above)" >&2; exit 1; }
  exit 0
fi

cargo_tsan "$root/Cargo.toml"
so=$target_dir/$triple/debug/libgss_negotiate.so
printf 'ntlmssp_gss_negotiate 1.3.6.1.4.1.311.2.2.10 %s\n' "$so" >"$work/mech.conf"

if [ "$mode" = winbind ]; then
  threads=${1:-8}
  count=${2:-20}
  cc_tsan "$work/adbench" "$root/bench/adbench.c"
  status=0
  for spnego in "" --spnego; do
    log=$work/adbench$spnego.log
    set +e
    "$root/scripts/ad-env.sh" exec "$ad_dir" env GSS_MECH_CONFIG="$work/mech.conf" TSAN_OPTIONS="$TSAN_OPTIONS" \
      "$work/adbench" --threads "$threads" --count "$count" $spnego >"$log" 2>&1
    rc=$?
    set -e
    n=$(reports "$log")
    grep -v '^ ' "$log" | grep -v '^$' | head -20
    echo "tsan-concurrency.sh --winbind${spnego:+ (SPNEGO)}: $threads x $count, exit $rc, ThreadSanitizer reports: $n"
    { [ "$rc" -eq 0 ] && [ "$n" -eq 0 ] && grep -q "logons=$((threads * count)) " "$log"; } || status=1
  done
  exit $status
fi

threads=${1:-8}
handshakes=${2:-500}
cc_tsan "$work/concurrency" "$root/tests/c/concurrency.c"
: >"$work/users"
chmod 600 "$work/users"
printf '[libdefaults]\n default_realm = GSS-NEGOTIATE.INVALID\n dns_lookup_kdc = false\n dns_lookup_realm = false\n' \
  >"$work/krb5.conf"
host=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)

set +e
GSS_MECH_CONFIG=$work/mech.conf NTLM_USER_FILE=$work/users KRB5_CONFIG=$work/krb5.conf HANDSHAKE_HOST=$host \
  CONC_THREADS=$threads CONC_HANDSHAKES=$handshakes "$work/concurrency" >"$work/out.log" 2>&1
rc=$?
set -e
grep -vE '^   reload' "$work/out.log" | grep -v '^ ' | head -40
n=$(reports "$work/out.log")
echo "tsan-concurrency.sh: $threads x $handshakes, exit $rc, ThreadSanitizer reports: $n"
[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
