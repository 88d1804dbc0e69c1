#!/usr/bin/env bash
# Benchmarks gss-negotiate against Debian's gss-ntlmssp through MIT's libgssapi_krb5 (bench/gssbench.c).
#
# Usage: scripts/bench.sh [--quick] [--alloc] [--so PATH] [--theirs PATH] [gssbench options...]
#   (default)   cargo build --release --lib, compile bench/gssbench.c, run it: every figure for both plugins,
#               alternating them round by round in fresh child processes, medians of 5 rounds, and the ratio
#   --quick     small counts, one round, a 10,000-entry user file, the debug library (CI: checks that the
#               benchmark still works; no time is asserted)
#   --alloc     also heap allocations, bytes allocated and bytes leaked per handshake for both plugins
#               (valgrind memcheck "total heap usage" / leak summary on N and 2N handshakes, difference / N)
#   --so PATH   our library (default: <target>/release/libgss_negotiate.so, or debug with --quick)
#   --theirs P  the other plugin (default: /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so)
#   --interposer  also the SPNEGO interposer figures (issue 11), side by side in the same run: raw NTLM, SPNEGO+NTLM
#               through MIT's SPNEGO and through our interposer (the OID of mech.d/gss-negotiate-spnego.conf's
#               <interposer> line, or GSSBENCH_INTERPOSER_OID); with --alloc also allocations and leaks per
#               SPNEGO+NTLM handshake through the interposer. The ratio to raw NTLM is printed three ways: of the
#               medians, paired by round, and from a run interleaving both in one process (blocks of 16
#               handshakes; the precise one when other guests share the host). With GSSBENCH_LEGS=1 in the
#               environment the interleaved run also prints the time of each call of a handshake, raw and SPNEGO
#   --krb5      with --interposer: SPNEGO+Kerberos through MIT's SPNEGO and through our interposer against one
#               loopback MIT KDC (scripts/http-env.sh start; needs root), the same KDC and ccache for both
#   --only-interposer  only the interposer figures (and, with --alloc, only their allocation counts)
#   --instr     with --interposer: instructions per handshake (valgrind callgrind, N vs 2N handshakes in one
#               process, difference / N; independent of the machine's load): raw NTLM, SPNEGO+NTLM through MIT's
#               SPNEGO and through our interposer, and with --krb5 SPNEGO+Kerberos both ways; then raw NTLM and
#               SPNEGO+NTLM inside the interleaved run (gssbench --instr-interleaved: the same process, heap and
#               alternation as the clock's interleaved ratio, collection switched on for one kind's blocks only)
#               and their ratio. Policy: the one given with --policy FILE, else none (audit.syslog = all)
# Other options go to gssbench: --rounds N, --secs S (measuring time per figure), --no-userfile.
# Needs: cc, libkrb5-dev (gssapi headers), krb5 (libgssapi_krb5); gss-ntlmssp and valgrind for the comparisons.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 alloc=0 so= theirs=/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so
interposer=0 krb5=0 only_interposer=0 instr=0 policy=
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --alloc) alloc=1 ;;
    --so) so=$2; shift ;;
    --theirs) theirs=$2; shift ;;
    --interposer) interposer=1 ;;
    --krb5) krb5=1 ;;
    --only-interposer) interposer=1 only_interposer=1 ;;
    --instr) instr=1 ;;
    --policy) policy=$2; args+=(--policy "$2"); shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done

target=${CARGO_TARGET_DIR:-target}
if [ -z "$so" ]; then
  if [ "$quick" = 1 ]; then
    cargo build --lib --quiet
    so=$target/debug/libgss_negotiate.so
  else
    cargo build --release --lib --quiet
    so=$target/release/libgss_negotiate.so
  fi
fi
so=$(realpath "$so")
mkdir -p "$target/bench"
bin=$target/bench/gssbench
cc -O2 -Wall -Wextra -o "$bin" bench/gssbench.c -lgssapi_krb5 -lpthread

ipose_args=()
if [ "$interposer" = 1 ]; then
  oid=${GSSBENCH_INTERPOSER_OID:-$(awk '!/^[[:space:]]*#/ && /<interposer>/ { print $2; exit }' \
    mech.d/gss-negotiate-spnego.conf 2>/dev/null || true)}
  [ -n "$oid" ] || { echo "bench: no <interposer> line in mech.d/gss-negotiate-spnego.conf (set GSSBENCH_INTERPOSER_OID)" >&2; exit 2; }
  ipose_args=(--interposer "$oid")
  [ "$only_interposer" = 1 ] && ipose_args+=(--only "ipose,ikrb5" --no-userfile)
  if [ "$krb5" = 1 ]; then
    krb5_dir=$(GSS_NEGOTIATE_SO=$so HTTP_ENV_LIFETIME=1800 scripts/http-env.sh start)
    trap 'scripts/http-env.sh stop "$krb5_dir"' EXIT
    printf '%s\n' 'Passw0rd!' | KRB5_CONFIG=$krb5_dir/krb5.conf KRB5CCNAME=FILE:$krb5_dir/client/ccache \
      timeout 20 kinit testuser@GSSNEG.TEST >/dev/null
    ipose_args+=(--krb5 "$krb5_dir")
  fi
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$quick" = 1 ]; then
  "$bin" --quick --ours "$so" --theirs "$theirs" ${ipose_args[@]+"${ipose_args[@]}"} ${args[@]+"${args[@]}"}
  if [ "$interposer" = 1 ] && grep -qs 'CALLGRIND_TOGGLE_COLLECT' /usr/include/valgrind/callgrind.h; then
    # --instr's interleaved mode, run natively once: it must set up both kinds and negotiate through the interposer
    "$bin" --ours "$so" --instr-interleaved spnego 32 --interposer "$oid"
    echo "gssbench --instr-interleaved: ran"
  fi
else
  "$bin" --ours "$so" --theirs "$theirs" ${ipose_args[@]+"${ipose_args[@]}"} ${args[@]+"${args[@]}"}
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if [ "$only_interposer" = 1 ]; then
  :
elif [ "$quick" = 1 ]; then
  cargo test --quiet --bench primitives   # the test build: quick mode, no optimised rebuild
else
  cargo bench --quiet --bench primitives
fi

if [ "$instr" = 1 ] && [ "$interposer" = 1 ]; then
  n=${GSSBENCH_INSTR_N:-50}
  pol=()
  [ -n "$policy" ] && pol=(--policy "$policy")
  # instructions P N [args]: total instructions (callgrind "Collected") of N handshakes in one process
  instructions() {
    local log
    log=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$log" "$bin" --ours "$so" \
      --theirs "$theirs" ${pol[@]+"${pol[@]}"} --alloc "$@" >/dev/null
    awk '/Collected :/ { print $NF }' "$log"
    rm -f "$log"
  }
  echo
  printf '%-34s %22s\n' "per handshake (policy: ${policy:-none})" "instructions"
  rows=("raw NTLM|ours" "SPNEGO+NTLM, MIT's SPNEGO|ours --spnego" "SPNEGO+NTLM, our interposer|ipose --spnego")
  [ "$krb5" = 1 ] && rows+=("SPNEGO+Kerberos, MIT's SPNEGO|ours --spnego --krb5 $krb5_dir"
                           "SPNEGO+Kerberos, our interposer|ipose --spnego --krb5 $krb5_dir")
  for row in "${rows[@]}"; do
    name=${row%%|*}
    read -r -a a <<<"${row#*|}"
    p=${a[0]}
    rest=("${a[@]:1}" --interposer "$oid")
    i1=$(instructions "$p" "$n" "${rest[@]}")
    i2=$(instructions "$p" $((2 * n)) "${rest[@]}")
    awk -v n="$n" -v name="$name" -v i1="$i1" -v i2="$i2" 'BEGIN { printf "%-34s %22.0f\n", name, (i2-i1)/n }'
  done
  echo "(valgrind callgrind, $n vs $((2 * n)) handshakes in one process, whole process incl. MIT's mechglue)"
  # The interleaved run's own instructions: a process that runs SPNEGO only keeps another heap than the clock's
  # interleaved run, and glibc's allocator costs differ by thousands of instructions between the two.
  m=$(( (n + 15) / 16 * 16 ))
  interleaved() { # interleaved raw|spnego N: instructions of N handshakes of that kind, in their blocks only
    local log
    log=$(mktemp)
    valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=/dev/null --log-file="$log" "$bin" \
      --ours "$so" ${pol[@]+"${pol[@]}"} --instr-interleaved "$1" "$2" --interposer "$oid" >/dev/null
    awk '/Collected :/ { print $NF }' "$log"
    rm -f "$log"
  }
  r1=$(interleaved raw "$m"); r2=$(interleaved raw $((2 * m)))
  s1=$(interleaved spnego "$m"); s2=$(interleaved spnego $((2 * m)))
  awk -v m="$m" -v r1="$r1" -v r2="$r2" -v s1="$s1" -v s2="$s2" 'BEGIN {
    r = (r2 - r1) / m; s = (s2 - s1) / m
    printf "%-34s %22.0f\n", "raw NTLM, interleaved run", r
    printf "%-34s %22.0f\n", "SPNEGO+NTLM, interleaved run", s
    printf "%-34s %22.3f\n", "  raw / SPNEGO (instructions)", r / s }'
  echo "(the interleaved run of the clock ratio, $m vs $((2 * m)) handshakes of each kind, blocks of 16)"
fi

if [ "$alloc" = 1 ]; then
  command -v valgrind >/dev/null || { echo "bench: valgrind not installed, --alloc skipped" >&2; exit 0; }
  n=${GSSBENCH_ALLOC_N:-50}
  # memcheck NAME N: prints "allocs bytes leaked" for N handshakes
  memcheck() { # memcheck ours|theirs|ipose N [gssbench args...]
    local log
    log=$(mktemp)
    valgrind --tool=memcheck --leak-check=full --log-file="$log" "$bin" --ours "$so" --theirs "$theirs" \
      --alloc "$@" >/dev/null
    awk '/total heap usage:/ { gsub(",", ""); a = $(NF-6); b = $(NF-2) }
         /definitely lost:|indirectly lost:|possibly lost:/ { gsub(",", ""); l += $(NF-4) }
         END { print a + 0, b + 0, l + 0 }' "$log"
    rm -f "$log"
  }
  echo
  printf '%-12s %18s %18s %18s\n' "per handshake" "heap allocations" "bytes allocated" "bytes leaked"
  for p in ours theirs; do
    [ "$only_interposer" = 1 ] && continue
    [ "$p" = theirs ] && [ ! -r "$theirs" ] && continue
    read -r a1 b1 l1 < <(memcheck "$p" "$n")
    read -r a2 b2 l2 < <(memcheck "$p" $((2 * n)))
    name=gss-negotiate
    [ "$p" = theirs ] && name=gss-ntlmssp
    awk -v n="$n" -v name="$name" -v a1="$a1" -v a2="$a2" -v b1="$b1" -v b2="$b2" -v l1="$l1" -v l2="$l2" \
      'BEGIN { printf "%-12s %18.1f %18.1f %18.1f\n", name, (a2-a1)/n, (b2-b1)/n, (l2-l1)/n }'
  done
  [ "$only_interposer" = 1 ] || echo "(valgrind memcheck, $n vs $((2 * n)) raw handshakes in one process; leaked = definitely + indirectly + possibly lost)"
  if [ "$interposer" = 1 ]; then
    # SPNEGO handshakes: MIT's SPNEGO (config "ours") against our interposer (config "ipose"), NTLM and, with
    # --krb5, Kerberos.
    kinds=(ntlm)
    [ "$krb5" = 1 ] && kinds+=(krb5)
    for kind in "${kinds[@]}"; do
      for p in ours ipose; do
        extra=(--spnego --interposer "$oid")
        [ "$kind" = krb5 ] && extra+=(--krb5 "$krb5_dir")
        read -r a1 b1 l1 < <(memcheck "$p" "$n" "${extra[@]}")
        read -r a2 b2 l2 < <(memcheck "$p" $((2 * n)) "${extra[@]}")
        name="SPNEGO+$kind, MIT's SPNEGO"
        [ "$p" = ipose ] && name="SPNEGO+$kind, our interposer"
        awk -v n="$n" -v name="$name" -v a1="$a1" -v a2="$a2" -v b1="$b1" -v b2="$b2" -v l1="$l1" -v l2="$l2" \
          'BEGIN { printf "%-32s %18.1f %18.1f %18.1f\n", name, (a2-a1)/n, (b2-b1)/n, (l2-l1)/n }'
      done
    done
    echo "(valgrind memcheck, $n vs $((2 * n)) SPNEGO handshakes in one process, whole process incl. MIT's mechglue)"
  fi
fi
