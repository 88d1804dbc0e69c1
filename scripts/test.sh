#!/usr/bin/env bash
# The project's test command (CI runs it through .ci/run).
#
#   1. scripts/install-deps.sh     Debian packages for the build and the interop tests (skipped with
#                                  --no-deps or GSS_TEST_NO_DEPS=1)
#   2. cargo fmt --check
#   3. cargo test --all-targets    unit, integration (incl. tests/mit_samples.rs, which drives MIT's
#                                  gss-client/gss-server against target/debug/libgss_negotiate.so), benches in test mode
#   4. cargo test --doc, then `cargo doc --no-deps` with RUSTDOCFLAGS=-D warnings (no broken or private doc
#      links; a stale link fails the run)
#   5. cargo clippy --all-targets -- -D warnings   only with --clippy or GSS_TEST_CLIPPY=1
#   6. scripts/fuzz.sh              every cargo-fuzz target for a few seconds (ASan; fails on a crash, hang, leak);
#                                  on in CI (CI=true), else with --fuzz or GSS_TEST_FUZZ=1; seconds per target
#                                  from GSS_TEST_FUZZ_SECONDS (default 5), libFuzzer seed from GSS_TEST_FUZZ_SEED
#                                  (default 1: reproducible), committed fuzz/regressions/ replayed. Installs cargo-fuzz.
#   7. scripts/bench.sh --quick    builds and runs the benchmarks once with small counts (bench/gssbench.c
#                                  through MIT's mechglue, benches/primitives.rs); times are not asserted; --interposer:
#                                  also the SPNEGO interposer figures (each SPNEGO row proven by an audit record)
#
# Options: --no-deps, --clippy, --fuzz, --no-fuzz. Environment: CARGO_TARGET_DIR is honoured; GSS_NEGOTIATE_SO makes the
# interop tests load another plugin (see tests/common/mod.rs).
# Exit status: 0 when every step passed. The last line sums the tests: "tests: N passed, N failed, N skipped".
set -uo pipefail

cd "$(dirname "$0")/.."

deps=1
clippy=${GSS_TEST_CLIPPY:-0}
fuzz=${GSS_TEST_FUZZ:-0}
[ "${CI:-}" = true ] && fuzz=${GSS_TEST_FUZZ:-1}
[ "${GSS_TEST_NO_DEPS:-0}" = 1 ] && deps=0
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    --clippy) clippy=1 ;;
    --fuzz) fuzz=1 ;;
    --no-fuzz) fuzz=0 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

log=$(mktemp "${TMPDIR:-/tmp}/gss-negotiate-test.XXXXXX")
skiplog=$(mktemp "${TMPDIR:-/tmp}/gss-negotiate-skips.XXXXXX")
trap 'rm -f "$log" "$skiplog"' EXIT
export GSS_TEST_SKIP_LOG=$skiplog
failed_steps=()
passed_steps=()

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
# disk_free: "N MiB free" on the filesystem of the target directory (CI machines may have little disk; every step
# prints it so that a "No space left on device" can be traced to the step that used the space).
disk_free() {
  local d=$target_dir
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  df -Pm "$d" | awk 'NR == 2 { print $4 " MiB free" }'
}

step() { # step NAME COMMAND... : run, record, keep going
  local name=$1; shift
  echo "==> $name: $* ($(disk_free))"
  if "$@" 2>&1 | tee -a "$log"; then
    passed_steps+=("$name")
  else
    failed_steps+=("$name")
    echo "==> $name FAILED"
  fi
}

if [ "$deps" = 1 ]; then
  if ! scripts/install-deps.sh; then
    if [ "${CI:-}" = true ]; then
      failed_steps+=(deps)
    else
      echo "test.sh: warning: dependencies could not be installed; interop tests will SKIP" >&2
    fi
  fi
fi

export CARGO_TERM_COLOR=never
# No incremental compilation caches: a whole-suite run gains nothing from them and they took ~700 MB of disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
if cargo fmt --version >/dev/null 2>&1; then
  step fmt cargo fmt --all -- --check
else
  echo "test.sh: rustfmt not installed, fmt check skipped" >&2
fi
step test cargo test --all-targets --no-fail-fast
if [ "${CI:-}" = true ]; then
  # Build trees only the test step uses (the sspi peer, the ThreadSanitizer build with its instrumented std);
  # the later steps (docs, release benchmarks, ASan fuzz builds) need the room. Rebuilt by the next test run.
  rm -rf "$target_dir/sspi-peer" "$target_dir/tsan"
  echo "test.sh: removed the sspi-peer and tsan build trees ($(disk_free))"
fi
step doctest cargo test --doc
step doc env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps
if cc --version >/dev/null 2>&1 && [ -e /usr/include/gssapi/gssapi.h ]; then
  step bench-quick scripts/bench.sh --quick --interposer
else
  echo "test.sh: no C compiler or MIT GSSAPI headers (libkrb5-dev): bench-quick skipped" >&2
fi
if [ "$clippy" = 1 ]; then
  step clippy cargo clippy --all-targets -- -D warnings
fi
if [ "$fuzz" = 1 ]; then
  if [ "${CI:-}" = true ]; then
    # The fuzz step is the last; the debug build tree (test binaries, ~1 GB) is not used by it.
    rm -rf "$target_dir/debug"
    echo "test.sh: removed the debug build tree before the fuzz builds ($(disk_free))"
  fi
  FUZZ_SEED=${GSS_TEST_FUZZ_SEED:-1} step fuzz scripts/fuzz.sh "${GSS_TEST_FUZZ_SECONDS:-5}"
fi

# Sum libtest's result lines; tests that skipped (tests/common::skip logs them) count as skipped, not passed.
read -r passed failed ignored < <(awk '
  /^test result:/ { for (i = 1; i <= NF; i++) {
      if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1); if ($(i) ~ /^ignored;?$/) g += $(i-1) } }
  END { print p+0, f+0, g+0 }' "$log")
skipped=$(sort -u "$skiplog" | grep -c . || true)
passed=$((passed - skipped))
[ "$passed" -lt 0 ] && passed=0

echo
echo "test.sh: at the end: $(disk_free)"
if [ ${#failed_steps[@]} -eq 0 ]; then
  echo "test.sh: all steps passed (${passed_steps[*]})"
else
  echo "test.sh: FAILED steps: ${failed_steps[*]} (passed: ${passed_steps[*]:-none})"
fi
echo "tests: $passed passed, $failed failed, $((skipped + ignored)) skipped"
[ ${#failed_steps[@]} -eq 0 ]
