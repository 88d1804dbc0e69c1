#!/usr/bin/env bash
# Windows-domain demo: one Samba AD domain controller (scripts/ad-env.sh: realm AD.TEST, NetBIOS domain ADTEST, in
# private network and mount namespaces on 127.0.0.2) and Apache httpd + mod_auth_gssapi beside it, with the
# gss-negotiate plugin for NTLMSSP and NO NTLM user file on the server; curl --negotiate inside the namespaces:
#   1. alice with a Kerberos ticket from the DC's KDC        -> Kerberos
#   2. alice without a ticket                                -> NTLM inside SPNEGO, validated by the DC (winbind)
#   3. /webusers/ (group ADTEST\webusers only) as alice, NTLM -> admitted (urn:gss-negotiate:groups)
#   4. /webusers/ as bob, NTLM                               -> authenticated, then refused by the group rule
#   5. alice with a wrong password, NTLM                     -> refused; the DC's reason is in Apache's log
# then stops everything and removes the temporary directory. The host's /etc and network are not touched.
#
# Usage: scripts/demo-ad.sh [--no-deps] [--keep]
#   --no-deps  do not run scripts/install-deps.sh --group ad --group http
#   --keep     keep the temporary directory (configs, logs); the servers are stopped anyway
# Environment: GSS_NEGOTIATE_SO=/path/to/plugin.so to use that library instead of target/release's.
# Exit status: 0 all cases as expected, 1 a case failed, 2 cannot run here (not root, or Samba/Apache missing).
set -euo pipefail
cd "$(dirname "$0")/.."

deps=1 keep=0
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "demo-ad: unknown option $a" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }
cannot() { echo "demo-ad: cannot run here: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || cannot "needs root (namespaces, samba, Apache's www-data workers); run: sudo $0"
if [ "$deps" = 1 ]; then
  say "Dependencies for the domain demo (Samba AD DC, winbind, Apache, mod_auth_gssapi, curl; only missing ones are installed)"
  scripts/install-deps.sh --print --group ad --group http
  scripts/install-deps.sh --group ad --group http || cannot "installing the ad/http packages failed"
fi
for p in samba samba-tool wbinfo unshare nsenter kinit curl /usr/sbin/apache2; do
  command -v "$p" >/dev/null 2>&1 || cannot "$p not found (scripts/install-deps.sh --group ad --group http)"
done
[ -f /usr/lib/apache2/modules/mod_auth_gssapi.so ] || cannot "mod_auth_gssapi not installed"
unshare --net --mount true 2>/dev/null || cannot "cannot create network/mount namespaces (a container without CAP_SYS_ADMIN?)"

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
[ -f "$so" ] || { echo "demo-ad: plugin $so does not exist" >&2; exit 1; }

dir=
cleanup() {
  [ -n "$dir" ] || return 0
  AD_ENV_KEEP=$keep scripts/ad-env.sh stop "$dir" >/dev/null 2>&1 || true
  if [ "$keep" = 1 ]; then echo "demo-ad: servers stopped, files kept in $dir"; fi
}
trap cleanup EXIT

say "Starting the domain controller (scripts/ad-env.sh start) and Apache beside it (scripts/ad-env.sh http)"
dir=$(AD_ENV_LIFETIME=600 scripts/ad-env.sh start 2>"${TMPDIR:-/tmp}/demo-ad-start.$$.log") ||
  { cat "${TMPDIR:-/tmp}/demo-ad-start.$$.log" >&2; rm -f "${TMPDIR:-/tmp}/demo-ad-start.$$.log"; exit 1; }
sed 's/^/   /' "${TMPDIR:-/tmp}/demo-ad-start.$$.log"; rm -f "${TMPDIR:-/tmp}/demo-ad-start.$$.log"
GSS_NEGOTIATE_SO=$so AD_ENV_LIFETIME=600 scripts/ad-env.sh http "$dir" 2>&1 | sed 's/^/   /'
www=$dir/www
in_ns() { scripts/ad-env.sh exec "$dir" env GSS_MECH_CONFIG="$www/mech.conf" "$@"; }
echo "   realm AD.TEST (KDC on dc1.ad.test), NetBIOS domain ADTEST; users alice (group webusers) and bob"
echo "   Apache: http://www.ad.test/whoami and /webusers/whoami (Require expr on the GROUPS name attribute)"
echo "   Apache's environment: GSS_MECH_CONFIG=$www/mech.conf, KRB5_KTNAME=$dir/http.keytab — no NTLM_USER_FILE:"
echo "   NTLM logons go to the DC through winbind (www-data is in winbindd_priv inside the namespaces)"
echo "   plugin for NTLMSSP on both sides: $so"

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
    inner = "NTLM " + {1: "NEGOTIATE", 2: "CHALLENGE", 3: "AUTHENTICATE"}.get(t[i + 8], "?")
if t[:1] == b"\x60":
    k, n = t.find(KRB5), t.find(NTLM)
    first = "Kerberos" if k >= 0 and (n < 0 or k < n) else "NTLMSSP" if n >= 0 else "?"
    print("NegTokenInit, preferred mech %s, carrying %s" % (first, inner or "a Kerberos AP-REQ"))
elif t[:1] == b"\xa1":
    states = {0: "accept-completed", 1: "accept-incomplete", 2: "reject", 3: "request-mic"}
    st = t.find(b"\xa0\x03\x0a\x01")
    state = states.get(t[st + 4], "?") if st >= 0 and len(t) > st + 4 else "-"
    print("NegTokenResp %s%s" % (state, ", carrying " + inner if inner else ""))
else:
    print("raw " + inner if inner else "?")
PY
}

failures=0
run() { # run LABEL PATH USERS_FILE|- EXPECTED_CODE EXPECTED_USER EXPECTED_MECH
  local label=$1 path=$2 users=$3 want_code=$4 want_user=$5 want_mech=$6 log=$www/curl.log env=()
  say "$label"
  if [ "$users" != - ]; then
    env=(NTLM_USER_FILE="$www/$users")
    echo "   client credential: NTLM_USER_FILE=$www/$users ($(cut -d: -f1,2 "$www/$users" | tr : '\\'))"
  fi
  echo "   \$ curl --negotiate -u : http://www.ad.test$path"
  in_ns "${env[@]}" curl -sS -v --max-time 20 --negotiate -u : "http://www.ad.test$path" >"$log" 2>&1 || true
  local line tok code=
  while IFS= read -r line; do
    case "$line" in
      "> Authorization: Negotiate "*)
        tok=${line#> Authorization: Negotiate }
        echo "   > Authorization: Negotiate ${tok:0:24}...  [$(describe_token "$tok")]" ;;
      "< WWW-Authenticate: Negotiate "*)
        tok=${line#< WWW-Authenticate: Negotiate }; tok=${tok%$'\r'}
        echo "   < WWW-Authenticate: Negotiate ${tok:0:24}...  [$(describe_token "$tok")]" ;;
      "< HTTP/1.1 "*) line=${line%$'\r'}; echo "   $line"; code=${line#< HTTP/1.1 }; code=${code%% *} ;;
    esac
  done <"$log"
  local user mech groups
  user=$(sed -n 's/^REMOTE_USER=//p' "$log" | tr -d '\r')
  mech=$(sed -n 's/^GSS_MECH=//p' "$log" | tr -d '\r')
  groups=$(sed -n 's/^GROUPS=//p' "$log" | tr -d '\r')
  if [ "$code" = 200 ]; then
    echo "   the server saw: REMOTE_USER=$user, GSS_MECH=$mech, GROUPS=${groups:-(none)}"
  else
    echo "   Apache: $(grep -oE '"GET [^"]*" [0-9]+ user=.*' "$www/logs/access.log" | tail -n 1)"
    grep -o 'NTLM: [^)]*' "$www/logs/error.log" | tail -n 1 | sed 's/^/   Apache error log: /' || true
  fi
  if [ "$code" = "$want_code" ] && { [ "$code" != 200 ] || { [ "$user" = "$want_user" ] && [ "$mech" = "$want_mech" ]; }; }; then
    echo "   -> OK"
  else
    echo "   -> FAILED (wanted HTTP $want_code${want_user:+ for $want_user with $want_mech}); Apache's error log:"
    tail -n 5 "$www/logs/error.log" | sed 's/^/      /'
    failures=$((failures + 1))
  fi
}

echo; echo "   \$ kinit alice      # the DC's KDC"
in_ns sh -c "printf '%s\n' 'Passw0rd!alice' | kinit alice >/dev/null"
run "1. alice with a Kerberos ticket from the DC: Kerberos" /whoami - 200 alice@AD.TEST Negotiate/krb5
in_ns kdestroy -q 2>/dev/null || true
echo; echo "   \$ kdestroy         # no ticket any more"
run "2. alice without a ticket: NTLM, validated by the DC through winbind" /whoami alice.users 200 'ADTEST\alice' Negotiate/NTLM
run "3. /webusers/ as alice (member of ADTEST\\webusers): admitted" /webusers/whoami alice.users 200 'ADTEST\alice' Negotiate/NTLM
run "4. /webusers/ as bob (not a member): authenticated, then refused" /webusers/whoami bob.users 401 "" ""
printf 'ADTEST:alice:not-her-password\n' >"$www/wrong.users"; chmod 600 "$www/wrong.users"
run "5. alice with a wrong password: refused by the DC" /whoami wrong.users 401 "" ""

say "Summary"
if [ "$failures" = 0 ]; then
  echo "demo-ad: one DC, both protocols: Kerberos, NTLM through winbind, the group rule: all 5 cases as expected (plugin $so)"
else
  echo "demo-ad: $failures of 5 cases FAILED (plugin $so)"
  exit 1
fi
