#!/usr/bin/env bash
# NTLM logons validated by a domain controller through winbind: gss-negotiate against Debian's gss-ntlmssp, the
# same Samba AD DC (scripts/ad-env.sh), the same run, interleaved (bench/adbench.c, one process per measurement).
#
# Usage (root): scripts/bench-ad.sh [--rounds R] [--secs S] [--so PATH] [--theirs PATH] [--quick]
#   --rounds R  rounds (default 5); each runs both plugins (ABBA order) with 1 and with 8 threads
#   --secs S    seconds per measurement (default 5)
#   --so PATH   our library (default: <target>/release/libgss_negotiate.so, built; debug with --quick)
#   --theirs P  the other plugin (default: /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so)
#   --quick     1 round of 1 s on the debug library (checks that the benchmark works; numbers mean nothing)
# Prints, per plugin and thread count, medians over the rounds of: logons/s, the median and p99 latency of one
# logon (both GSS sides in one process, no network between them), the benchmark process's CPU per logon (both
# GSS sides, the plugin, libwbclient: getrusage) and the DC's CPU per logon (every process in the DC's
# namespaces but the benchmark: samba, its winbindd and their children, from /proc); then winbind connections,
# requests (2136-byte winbindd_request writes) and socket writes per logon, counted with strace -f over 10 and
# 30 logons (the difference / 20). Both plugins are initiator and acceptor (the mechglue loads one per OID).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5 secs=5 so= theirs=/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --secs) secs=$2; shift ;;
    --so) so=$2; shift ;;
    --theirs) theirs=$2; shift ;;
    --quick) quick=1; rounds=1; secs=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench-ad: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "bench-ad: needs root (scripts/ad-env.sh)" >&2; exit 2; }
[ -f "$theirs" ] || { echo "bench-ad: $theirs not found (package gss-ntlmssp)" >&2; exit 2; }
command -v strace >/dev/null || { echo "bench-ad: strace not found (package strace)" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-target}
if [ -z "$so" ]; then
  if [ "$quick" = 1 ]; then
    cargo build --lib --quiet; so=$target/debug/libgss_negotiate.so
  else
    cargo build --release --lib --quiet; so=$target/release/libgss_negotiate.so
  fi
fi
so=$(readlink -f "$so")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-ad.XXXXXX")
dir=
cleanup() {
  if [ -n "$dir" ]; then scripts/ad-env.sh stop "$dir" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
chmod 755 "$tmp"
cc -O2 -Wall -o "$tmp/adbench" bench/adbench.c -lgssapi_krb5 -lpthread
echo "ntlmssp 1.3.6.1.4.1.311.2.2.10 $so" >"$tmp/ours.conf"
echo "ntlmssp 1.3.6.1.4.1.311.2.2.10 $theirs" >"$tmp/theirs.conf"

dir=$(AD_ENV_LIFETIME=3600 scripts/ad-env.sh start 2>"$tmp/start.log") || { cat "$tmp/start.log" >&2; exit 1; }
# shellcheck disable=SC1091
. "$dir/state"
dc_net=$(readlink "/proc/$NS_PID/ns/net")
ticks=$(getconf CLK_TCK)

dc_cpu_ticks() { # user+system ticks of every process in the DC's network namespace except adbench
  local p total=0 stat rest
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$dc_net" ] || continue
    stat=$(cat "$p/stat" 2>/dev/null) || continue
    case "$stat" in *"(adbench)"*) continue ;; esac
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    total=$((total + ${12} + ${13} + ${14} + ${15}))  # utime stime cutime cstime
  done
  echo "$total"
}

bench() { # bench ours|theirs THREADS -> one adbench line
  scripts/ad-env.sh exec "$dir" env GSS_MECH_CONFIG="$tmp/$1.conf" "$tmp/adbench" --threads "$2" --secs "$secs"
}

echo "bench-ad: $(date -u '+%F %T UTC'), $(nproc) CPU(s), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench-ad: ours $so; theirs $theirs; DC $dir; $rounds round(s) of $secs s"
bench ours 1 >/dev/null; bench theirs 1 >/dev/null  # warm the DC (first logons, caches)

: >"$tmp/results.tsv"
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="ours theirs"; else order="theirs ours"; fi
  for t in 1 8; do
    for plugin in $order; do
      c0=$(dc_cpu_ticks)
      line=$(bench "$plugin" "$t")
      c1=$(dc_cpu_ticks)
      logons=$(sed -n 's/.*logons=\([0-9]*\).*/\1/p' <<<"$line")
      dc_us=$(python3 -c "print(round(($c1 - $c0) / $ticks / max($logons, 1) * 1e6))")
      printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$plugin" "$t" "$line" "$dc_us" >>"$tmp/results.tsv"
      echo "  round $r $plugin $t thread(s): $line dc_cpu_us_per_logon=$dc_us"
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

count() { # count ours|theirs N -> "connects requests writes" during N logons (plus setup and warm-up)
  scripts/ad-env.sh exec "$dir" env GSS_MECH_CONFIG="$tmp/$1.conf" strace -f -yy -o "$tmp/strace.$1.$2" \
    -e trace=connect,write,writev,sendmsg "$tmp/adbench" --count "$2" >/dev/null
  python3 - "$tmp/strace.$1.$2" <<'PY'
import re, sys
connects = requests = writes = 0
for line in open(sys.argv[1], errors="replace"):
    if " connect(" in line and "winbindd" in line and line.rstrip().endswith("= 0"):
        connects += 1
    m = re.search(r" (write|writev|sendmsg)\((\d+)<UNIX-STREAM:.*= (\d+)$", line.rstrip())
    if m and int(m.group(2)) > 2:
        writes += 1
        requests += m.group(3) == "2136"
print(connects, requests, writes)
PY
}
declare -A per
for plugin in ours theirs; do
  read -r c1 q1 w1 <<<"$(count "$plugin" 10)"
  read -r c2 q2 w2 <<<"$(count "$plugin" 30)"
  per[$plugin]=$(python3 -c "print('%.2f %.2f %.2f' % (($c2-$c1)/20, ($q2-$q1)/20, ($w2-$w1)/20))")
done

python3 - "$tmp/results.tsv" "${per[ours]}" "${per[theirs]}" "$load_end" "$secs" "$rounds" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r, plugin, t, fields, dc = line.rstrip("\n").split("\t")
    kv = dict(f.split("=") for f in fields.split())
    kv["dc_us"] = dc
    rows.setdefault((plugin, int(t)), []).append({k: float(v) for k, v in kv.items()})
med = lambda plugin, t, k: statistics.median(x[k] for x in rows[(plugin, t)])
print()
print("| threads | plugin | logons/s | median | p99 | process CPU / logon | DC CPU / logon |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for t in (1, 8):
    for plugin, label in (("ours", "gss-negotiate"), ("theirs", "gss-ntlmssp 1.2.0")):
        print("| %d | %s | %.0f | %.2f ms | %.2f ms | %.0f µs | %.0f µs |" % (
            t, label, med(plugin, t, "rate"), med(plugin, t, "median_us") / 1000, med(plugin, t, "p99_us") / 1000,
            med(plugin, t, "cpu_us_per_logon"), med(plugin, t, "dc_us")))
for t in (1, 8):
    print("ratio logons/s ours/theirs, %d thread(s): %.2f" % (t, med("ours", t, "rate") / med("theirs", t, "rate")))
print()
print("| plugin | winbind connections / logon | winbind requests / logon | socket writes / logon |")
print("| --- | ---: | ---: | ---: |")
for label, s in (("gss-negotiate", sys.argv[2]), ("gss-ntlmssp 1.2.0", sys.argv[3])):
    c, q, w = s.split()
    print("| %s | %s | %s | %s |" % (label, c, q, w))
print()
print("medians of %s round(s) of %s s; load average at the end: %s" % (sys.argv[6], sys.argv[5], sys.argv[4]))
PY
