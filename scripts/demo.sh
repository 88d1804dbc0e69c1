#!/usr/bin/env bash
# Demo: MIT's unmodified gss-client and gss-server authenticate TESTDOM\testuser with NTLM through
# gss-negotiate, first with the raw NTLMSSP mechanism, then inside MIT's SPNEGO, then inside gss-negotiate's own
# SPNEGO (the interposer line of mech.d/gss-negotiate-spnego.conf; its audit lines prove which SPNEGO ran), and
# exchange a sealed message.
#
# Then (as root) scripts/demo-http.sh: a private MIT KDC + Apache mod_auth_gssapi, and curl --negotiate
# getting in with Kerberos first, then with the NTLM fallback through this plugin.
# Then (as root) scripts/demo-ad.sh: a Samba AD domain controller in private namespaces and Apache beside it —
# Kerberos from the DC's KDC, NTLM validated by the DC through winbind, a group-restricted location. Where it
# cannot run (not root, no namespaces, Samba missing) the part is skipped and the summary says why.
#
# Usage: scripts/demo.sh [--no-deps] [--quiet] [--keep] [--no-http] [--no-ad]
#   --no-deps  do not run scripts/install-deps.sh
#   --quiet    run gss-client with -q (needed for plugins that fail its verbose mode, e.g. gss-ntlmssp)
#   --keep     keep the temporary directory (mech config, user file, logs)
#   --no-http  skip the HTTP part (scripts/demo-http.sh)
#   --no-ad    skip the domain-controller part (scripts/demo-ad.sh)
# Environment:
#   GSS_NEGOTIATE_SO=/path/to/plugin.so  use this library instead of building target/release/libgss_negotiate.so
#                                        (e.g. /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so)
# Nothing under /etc/gss is read or changed: the programs get GSS_MECH_CONFIG pointing at a temp file.
set -euo pipefail
cd "$(dirname "$0")/.."

deps=1 quiet=${GSS_DEMO_QUIET:-0} keep=0 http=1 ad=1
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    --quiet|-q) quiet=1 ;;
    --keep) keep=1 ;;
    --no-http) http=0 ;;
    --no-ad) ad=0 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $a" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }

if [ "$deps" = 1 ]; then
  say "Dependencies (Debian packages; only missing ones are installed)"
  scripts/install-deps.sh --print
  scripts/install-deps.sh
fi
for p in gss-server gss-client; do
  command -v "$p" >/dev/null || { echo "demo: $p not found (package krb5-gss-samples)" >&2; exit 1; }
done

if [ -n "${GSS_NEGOTIATE_SO:-}" ]; then
  so=$(readlink -f "$GSS_NEGOTIATE_SO")
  say "Plugin: $so (from GSS_NEGOTIATE_SO, not built)"
else
  say "Building the plugin: cargo build --release --lib"
  cargo build --release --lib
  target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
  so=$(readlink -f "$target_dir/release/libgss_negotiate.so")
  say "Plugin: $so"
fi
[ -f "$so" ] || { echo "demo: plugin $so does not exist" >&2; exit 1; }
if command -v nm >/dev/null && ! nm -D --defined-only "$so" | grep -q ' gss_accept_sec_context$'; then
  echo "demo: note: $so exports no gss_accept_sec_context: MIT cannot use it as a mechanism (expect failures)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gss-negotiate-demo.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid" 2>/dev/null || true; fi
  if [ "$keep" = 1 ]; then echo "demo: files kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

oid=1.3.6.1.4.1.311.2.2.10
mech="{ 1 3 6 1 4 1 311 2 2 10 }"
host=$(hostname)
service="host@$host"
user='TESTDOM\testuser'
pass='Passw0rd!'
msg="hello from gss-client via gss-negotiate"

echo "ntlmssp_gss_negotiate $oid $so" > "$tmp/mech.conf"
echo "TESTDOM:testuser:$pass" > "$tmp/ntlm_users"
cat > "$tmp/krb5.conf" <<'KRB5'
[libdefaults]
  default_realm = GSS-NEGOTIATE.INVALID
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
KRB5
export GSS_MECH_CONFIG=$tmp/mech.conf NTLM_USER_FILE=$tmp/ntlm_users KRB5_CONFIG=$tmp/krb5.conf
export KRB5CCNAME=FILE:$tmp/ccache KRB5_KTNAME=FILE:$tmp/keytab LC_ALL=C
say "Environment (private to this demo)"
echo "GSS_MECH_CONFIG=$GSS_MECH_CONFIG:"; sed 's/^/    /' "$GSS_MECH_CONFIG"
echo "NTLM_USER_FILE=$NTLM_USER_FILE:"; sed 's/^/    /' "$NTLM_USER_FILE"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

failures=0
run_mode() { # run_mode LABEL [gss-client mode options...]
  local label=$1; shift
  local port log_s="$tmp/server-$label.log" log_c="$tmp/client-$label.log" i
  port=$(free_port)
  say "$label: gss-server -port $port -verbose -once host"
  stdbuf -oL -eL timeout 30 gss-server -port "$port" -verbose -once host >"$log_s" 2>&1 </dev/null &
  server_pid=$!
  for i in $(seq 100); do grep -q 'starting\.\.\.' "$log_s" && break; kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
  if ! grep -q 'starting\.\.\.' "$log_s"; then
    echo "demo: gss-server did not start:"; cat "$log_s"; failures=$((failures + 1)); return
  fi
  local qflag=()
  [ "$quiet" = 1 ] && qflag=(-q)
  echo "   gss-client -port $port ${qflag[*]} $* -mech \"$mech\" -user '$user' -pass '$pass' 127.0.0.1 $service \"$msg\""
  local rc=0
  stdbuf -oL -eL timeout 20 gss-client -port "$port" "${qflag[@]}" "$@" -mech "$mech" -user "$user" -pass "$pass" \
    127.0.0.1 "$service" "$msg" >"$log_c" 2>&1 </dev/null || rc=$?
  for i in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=

  echo "-- client said:"
  grep -vE '^([0-9a-f]{2} )+$' "$log_c" | sed 's/^/    /' || true
  echo "-- server said (token dumps left out):"
  grep -vE '^(([0-9a-f]{2} ?)+|\s*)$' "$log_s" | sed 's/^/    /' || true

  local ok=1
  grep -q "Accepted connection using mechanism OID $mech" "$log_s" || { echo "   !! server did not negotiate NTLMSSP"; ok=0; }
  grep -qF "Accepted connection: \"$user\"" "$log_s" || { echo "   !! server did not accept $user"; ok=0; }
  grep -qF "Received message: \"$msg\"" "$log_s" || { echo "   !! server did not receive the message"; ok=0; }
  [ "$rc" = 0 ] || { echo "   !! gss-client exited with $rc"; ok=0; }
  if [ "$quiet" = 0 ]; then
    grep -q 'Signature verified\.' "$log_c" || { echo "   !! client did not verify the server's MIC"; ok=0; }
  fi
  if grep -q 'Warning!' "$log_c" "$log_s"; then echo "   !! a message was not encrypted"; ok=0; fi
  if [ "$ok" = 1 ]; then
    echo "-- $label: OK: mechanism $oid, server saw $(grep -o 'Accepted connection: .*' "$log_s" | cut -d' ' -f3-), message sealed, unsealed, signed back and verified${qflag:+ (client quiet)}"
  else
    echo "-- $label: FAILED"
    failures=$((failures + 1))
  fi
}

run_mode "raw-NTLMSSP"
run_mode "SPNEGO" -spnego

# Our SPNEGO: the same exchange with the interposer line added (mech.d/gss-negotiate-spnego.conf's OID). Each
# negotiation writes one JSON audit line (GSS_NEGOTIATE_AUDIT); MIT's SPNEGO above wrote none with "spnego".
spnego_oid=$(awk '!/^#/ && /<interposer>/ { print $2 }' mech.d/gss-negotiate-spnego.conf)
{ echo "ntlmssp_gss_negotiate $oid $so"; echo "spnego_gss_negotiate $spnego_oid $so <interposer>"; } > "$tmp/mech-spnego.conf"
plain_conf=$GSS_MECH_CONFIG
export GSS_MECH_CONFIG=$tmp/mech-spnego.conf GSS_NEGOTIATE_AUDIT=$tmp/audit.jsonl
say "Our SPNEGO (interposer): GSS_MECH_CONFIG=$GSS_MECH_CONFIG:"; sed 's/^/    /' "$GSS_MECH_CONFIG"
run_mode "SPNEGO-interposer" -spnego
echo "-- audit lines (GSS_NEGOTIATE_AUDIT=$GSS_NEGOTIATE_AUDIT):"
sed 's/^/    /' "$tmp/audit.jsonl" 2>/dev/null || true
if [ "$(grep -c '"protocol":"spnego"' "$tmp/audit.jsonl" 2>/dev/null || true)" = 2 ]; then
  echo "-- SPNEGO-interposer: OK: gss-negotiate's SPNEGO negotiated on both sides (one audit line each)"
else
  echo "-- SPNEGO-interposer: FAILED: expected one \"protocol\":\"spnego\" audit line per side"
  failures=$((failures + 1))
fi
export GSS_MECH_CONFIG=$plain_conf
unset GSS_NEGOTIATE_AUDIT

http_result="not run (--no-http)"
if [ "$http" = 1 ]; then
  say "HTTP Negotiate: Kerberos first, then NTLM through $so (scripts/demo-http.sh)"
  if [ "$(id -u)" != 0 ]; then
    http_result="skipped: needs root (sudo scripts/demo-http.sh)"
  elif http_args=(--no-deps) && { [ "$keep" = 0 ] || http_args+=(--keep); } &&
    GSS_NEGOTIATE_SO=$so scripts/demo-http.sh "${http_args[@]}"; then
    http_result="Kerberos, NTLM fallback and KDC-down fallback all succeeded"
  else
    http_result="FAILED"
    failures=$((failures + 1))
  fi
fi

ad_result="not run (--no-ad)"
if [ "$ad" = 1 ]; then
  say "One domain controller, both protocols: Samba AD DC + Apache (scripts/demo-ad.sh)"
  ad_args=(--no-deps)
  [ "$keep" = 0 ] || ad_args+=(--keep)
  ad_rc=0
  GSS_NEGOTIATE_SO=$so scripts/demo-ad.sh "${ad_args[@]}" 2>"$tmp/demo-ad.err" || ad_rc=$?
  case "$ad_rc" in
    0) ad_result="Kerberos from the DC, NTLM validated by the DC, group rule: all succeeded" ;;
    2) ad_result="skipped: $(sed -n 's/^demo-ad: cannot run here: //p' "$tmp/demo-ad.err" | head -n 1)"
       echo "   $ad_result" ;;
    *) cat "$tmp/demo-ad.err" >&2; ad_result="FAILED"; failures=$((failures + 1)) ;;
  esac
fi

say "Summary"
echo "demo: gss-client/gss-server: raw NTLMSSP, MIT's SPNEGO and gss-negotiate's SPNEGO exchanges with $so"
echo "demo: HTTP Negotiate (Apache + curl): $http_result"
echo "demo: Active Directory (Samba DC + Apache): $ad_result"
if [ "$failures" = 0 ]; then
  echo "demo: all parts succeeded"
else
  echo "demo: $failures part(s) FAILED"
  exit 1
fi
