#!/usr/bin/env bash
# HTTP Negotiate demo: a real MIT KDC and Apache httpd + mod_auth_gssapi on loopback (scripts/http-env.sh),
# and curl --negotiate through MIT's mechglue with the gss-negotiate plugin loaded for NTLMSSP:
#   1. with a Kerberos ticket      -> Kerberos (SPNEGO picks krb5 first)
#   2. without a ticket            -> NTLM inside SPNEGO (the fallback gss-negotiate provides)
#   3. with a ticket, KDC down     -> NTLM inside SPNEGO
# then stops everything and removes the temporary directory. Nothing in /etc is read or changed.
#
# Usage: scripts/demo-http.sh [--no-deps] [--keep]
#   --no-deps  do not run scripts/install-deps.sh --group http
#   --keep     keep the temporary directory (configs, logs); the servers are stopped anyway
# Environment: GSS_NEGOTIATE_SO=/path/to/plugin.so to use that library instead of building
#              target/release/libgss_negotiate.so. Needs root (Apache's workers run as www-data).
set -euo pipefail
cd "$(dirname "$0")/.."

deps=1 keep=0
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "demo-http: unknown option $a" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "demo-http: needs root (Apache switches its workers to www-data); run: sudo $0" >&2
  exit 2
fi
if [ "$deps" = 1 ]; then
  say "Dependencies for the HTTP demo (Debian: Apache, mod_auth_gssapi, MIT KDC, curl; only missing ones are installed)"
  scripts/install-deps.sh --print --group http
  scripts/install-deps.sh --group http
fi

if [ -n "${GSS_NEGOTIATE_SO:-}" ]; then
  so=$(readlink -f "$GSS_NEGOTIATE_SO")
else
  target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
  so=$target_dir/release/libgss_negotiate.so
  if [ ! -f "$so" ]; then
    say "Building the plugin: cargo build --release --lib"
    cargo build --release --lib
  fi
  so=$(readlink -f "$so")
fi
[ -f "$so" ] || { echo "demo-http: plugin $so does not exist" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/gss-negotiate-http-demo.XXXXXX")
cleanup() {
  HTTP_ENV_KEEP=$keep scripts/http-env.sh stop "$dir" >/dev/null 2>&1 || true
  if [ "$keep" = 1 ]; then echo "demo-http: servers stopped, files kept in $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

say "Starting a private KDC and Apache on loopback (scripts/http-env.sh start $dir)"
GSS_NEGOTIATE_SO=$so HTTP_ENV_LIFETIME=300 scripts/http-env.sh start "$dir" >/dev/null
# shellcheck disable=SC1091
. "$dir/state"
eval "$(scripts/http-env.sh env "$dir")"
unset http_proxy HTTP_PROXY all_proxy ALL_PROXY
echo "   realm $REALM, KDC 127.0.0.1:$KDC_PORT, users testuser@$REALM and TESTDOM\\testuser (password Passw0rd!)"
echo "   Apache: $HTTP_URL/bound/whoami  (AuthType GSSAPI, GssapiAllowedMech krb5 + ntlmssp, GssapiConnectionBound On)"
echo "   plugin for NTLMSSP on both sides: $so (GSS_MECH_CONFIG=$GSS_MECH_CONFIG)"

# One line about a Negotiate token (RFC 4178 SPNEGO around Kerberos or MS-NLMP NTLM messages).
describe_token() {
  python3 - "$1" <<'PY'
import base64, sys
t = base64.b64decode(sys.argv[1])
KRB5 = bytes.fromhex("06092a864886f712010202")
NTLM = bytes.fromhex("060a2b06010401823702020a")
i = t.find(b"NTLMSSP\0")
inner = ""
if i >= 0 and len(t) >= i + 12:
    kind = {1: "NEGOTIATE", 2: "CHALLENGE", 3: "AUTHENTICATE"}.get(t[i + 8], "?")
    inner = "NTLM " + kind
if t.startswith(b"NTLMSSP\0"):
    print("raw " + inner)
elif t[:1] == b"\x60":
    k, n = t.find(KRB5), t.find(NTLM)
    first = "Kerberos" if k >= 0 and (n < 0 or k < n) else "NTLMSSP" if n >= 0 else "?"
    print("NegTokenInit, preferred mech %s, carrying %s" % (first, inner or "a Kerberos AP-REQ"))
elif t[:1] == b"\xa1":
    states = {0: "accept-completed", 1: "accept-incomplete", 2: "reject", 3: "request-mic"}
    st = t.find(b"\xa0\x03\x0a\x01")
    state = states.get(t[st + 4], "?") if st >= 0 and len(t) > st + 4 else "-"
    print("NegTokenResp %s%s" % (state, ", carrying " + inner if inner else ""))
else:
    print("?")
PY
}

failures=0
run() { # run LABEL EXPECTED_MECH EXPECTED_USER
  local label=$1 want_mech=$2 want_user=$3 log="$dir/client/curl.log"
  say "$label"
  echo "   \$ curl --negotiate -u : $HTTP_URL/bound/whoami"
  curl -sS -v --max-time 20 --negotiate -u : --resolve "$HTTP_RESOLVE" "$HTTP_URL/bound/whoami" >"$log" 2>&1 || true
  local legs=0 line tok
  while IFS= read -r line; do
    case "$line" in
      "> Authorization: Negotiate "*)
        legs=$((legs + 1)); tok=${line#> Authorization: Negotiate }
        echo "   > Authorization: Negotiate ${tok:0:24}...  [$(describe_token "$tok")]" ;;
      "< WWW-Authenticate: Negotiate "*)
        tok=${line#< WWW-Authenticate: Negotiate }; tok=${tok%$'\r'}
        echo "   < WWW-Authenticate: Negotiate ${tok:0:24}...  [$(describe_token "$tok")]" ;;
      "< HTTP/1.1 "*) echo "   ${line%$'\r'}" ;;
    esac
  done < "$log"
  local mech user
  mech=$(sed -n 's/^GSS_MECH=//p' "$log" | tr -d '\r')
  user=$(sed -n 's/^REMOTE_USER=//p' "$log" | tr -d '\r')
  echo "   the server saw: REMOTE_USER=$user, mechanism GSS_MECH=$mech, $legs request(s) with a token"
  if [ "$mech" = "$want_mech" ] && [ "$user" = "$want_user" ]; then
    echo "   -> OK"
  else
    echo "   -> FAILED (wanted $want_user with $want_mech); last lines of Apache's error log:"
    tail -n 5 "$dir/logs/error.log" | sed 's/^/      /'
    failures=$((failures + 1))
  fi
}

echo
echo "   \$ kinit testuser@$REALM"
printf '%s\n' 'Passw0rd!' | timeout 20 kinit "testuser@$REALM" >/dev/null
run "1. With a Kerberos ticket: Kerberos is used" "Negotiate/krb5" "testuser@$REALM"

kdestroy -q 2>/dev/null || true
echo; echo "   \$ kdestroy    # no ticket any more; the client's NTLM credential comes from NTLM_USER_FILE"
run "2. Without a ticket: NTLM inside SPNEGO" "Negotiate/NTLM" 'TESTDOM\testuser'

printf '%s\n' 'Passw0rd!' | timeout 20 kinit "testuser@$REALM" >/dev/null
scripts/http-env.sh kdc-stop "$dir"
echo; echo "   \$ kinit testuser@$REALM; <KDC stopped>    # a ticket-granting ticket, but no way to get a service ticket"
run "3. Kerberos fails (KDC down): NTLM inside SPNEGO" "Negotiate/NTLM" 'TESTDOM\testuser'

say "Summary"
if [ "$failures" = 0 ]; then
  echo "demo-http: Kerberos first, NTLM fallback: all 3 cases as expected (plugin $so)"
else
  echo "demo-http: $failures of 3 cases FAILED (plugin $so)"
  exit 1
fi
