#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and fails on any crash, hang, leak or OOM.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default: $FUZZ_SECONDS, else 10 — the CI setting). A release run is longer, e.g.
#   FUZZ_SECONDS=1800 scripts/fuzz.sh            # 30 min per target, ~6.5 h for the 13 targets
# TARGETs default to all of `cargo fuzz list`.
#
# Works on a STABLE toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer=address, sancov passes), which
# stable rustc accepts with RUSTC_BOOTSTRAP=1; this script sets it when the active rustc is not a nightly.
# cargo-fuzz itself is installed from crates.io (`cargo install cargo-fuzz --locked`) when missing.
#
# Each target runs under AddressSanitizer with debug assertions (integer overflow panics), libFuzzer's
# -timeout (one input taking longer is a hang), -rss_limit_mb / -malloc_limit_mb (OOM) and leak detection.
# Inputs found are kept in fuzz/corpus/<target>/ (seeded by fuzz/seed-corpus.sh on the first run); a crashing
# input is written to fuzz/artifacts/<target>/ and reproduced with `cargo fuzz run <target> <file>`.
# Output: one log per target under $FUZZ_LOG_DIR (default target/fuzz-logs) and a summary table of
# executions and coverage (cov = edges, ft = features) per target, also written to $FUZZ_LOG_DIR/summary.txt.
# Every input under fuzz/regressions/<target>/ (inputs that once found a bug, committed) is replayed first.
# FUZZ_SEED=N fixes libFuzzer's random seed so that a run explores the same inputs on every machine (test.sh sets
# it in CI, so that CI is a reproducible regression check; long exploratory runs leave it unset).
# Exit status: 0 when every target ran its time without a finding.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_dir=$root/fuzz
seconds=${FUZZ_SECONDS:-10}
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
case "${1:-}" in -h|--help) sed -n '2,25p' "$0"; exit 0 ;; esac

base_target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$base_target/fuzz
log_dir=${FUZZ_LOG_DIR:-$base_target/fuzz-logs}
mkdir -p "$log_dir"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz from crates.io"
  if ! cargo install cargo-fuzz --locked; then
    echo "fuzz.sh: cargo-fuzz could not be installed" >&2
    exit 1
  fi
fi
if ! rustc --version | grep -q nightly; then
  export RUSTC_BOOTSTRAP=1
fi

cd "$fuzz_dir" || exit 1
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

missing_seeds=0
for t in "${targets[@]}"; do
  [ -d "corpus/$t" ] || missing_seeds=1
done
if [ "$missing_seeds" = 1 ]; then
  SEED_TARGET_DIR=$base_target/fuzz-seeds sh ./seed-corpus.sh || echo "fuzz.sh: warning: seeding failed" >&2
fi

echo "==> building ${#targets[@]} fuzz targets (ASan, debug assertions)"
if ! cargo fuzz build -a >"$log_dir/build.log" 2>&1; then
  tail -40 "$log_dir/build.log"
  echo "fuzz.sh: build failed" >&2
  exit 1
fi

summary=$log_dir/summary.txt
printf '%-22s %6s %12s %9s %6s %6s %7s  %s\n' target secs execs exec/s cov ft corpus result >"$summary"
failed=()
total_execs=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log=$log_dir/$t.log
  echo "==> $t: ${seconds}s"
  start=$(date +%s)
  dirs=("corpus/$t")
  [ -d "regressions/$t" ] && dirs+=("regressions/$t")
  seed_arg=()
  [ -n "${FUZZ_SEED:-}" ] && seed_arg=(-seed="$FUZZ_SEED")
  cargo fuzz run -a "$t" "${dirs[@]}" -- "${seed_arg[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -detect_leaks=1 -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '#[0-9]+.*cov: [0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  result=ok
  if [ $rc -ne 0 ]; then
    why=$(grep -m1 -oE 'panicked at [^ ]+|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-z-]+' "$log")
    result="FAIL(${why:-exit $rc})"
    failed+=("$t")
    grep -m1 -A12 -E '^==[0-9]+==ERROR|panicked at|^ALARM' "$log" | sed 's/^/    /'
    grep -m1 -E 'Test unit written to' "$log" | sed 's/^/    /'
  fi
  total_execs=$((total_execs + ${execs:-0}))
  printf '%-22s %6s %12s %9s %6s %6s %7s  %s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$result" >>"$summary"
done

echo
cat "$summary"
echo "total: ${#targets[@]} targets, $total_execs executions, ${seconds}s each"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs in fuzz/artifacts/<target>/, logs in $log_dir)"
  exit 1
fi
echo "fuzz.sh: all targets passed"
