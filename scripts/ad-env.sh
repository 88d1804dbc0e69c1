#!/usr/bin/env bash
# A Samba Active Directory domain controller on loopback, in one temporary directory and its own network, mount and
# UTS namespaces — nothing on the host's network or in the host's /etc is touched:
#   - realm AD.TEST, NetBIOS domain ADTEST, DC dc1.ad.test at 127.0.0.2 (an address on the namespace's private
#     loopback; the namespace has no other interface);
#   - users (password of each: Passw0rd!<name>, e.g. alice / Passw0rd!alice):
#       alice   member of the group webusers        bob        plain user
#       carol   disabled                            dave       account expired
#       mallory locked out (lockoutTime = start)    erin       must change password at next logon
#       frank   logon hours: none allowed           grace      may log on only from workstation OTHERPC
#   - HTTP/www.ad.test (account httpsvc) and its keytab DIR/http.keytab;
#   - samba (with its KDC, LDAP and winbindd). Inside the namespace /etc/samba, /var/lib/samba, /var/cache/samba,
#     /run/samba, /var/log/samba, /etc/krb5.conf and /etc/hosts are bind-mounted from DIR, so libwbclient (which
#     always talks to /run/samba/winbindd) and every Samba/MIT tool find the DC with their defaults.
# Provisioning takes seconds, so it is done once into a template (AD_ENV_CACHE, default
# /var/cache/gss-negotiate-test) that each start copies.
#
# Usage (as root): scripts/ad-env.sh start [DIR]     create DIR (default: mktemp -d), start the DC, print DIR
#                  scripts/ad-env.sh stop DIR        stop samba and the namespaces, remove DIR (AD_ENV_KEEP=1 keeps it)
#                  scripts/ad-env.sh status DIR      exit 0 when the namespaces, samba and winbindd answer
#                  scripts/ad-env.sh exec DIR CMD... run CMD inside the namespaces (KRB5_CONFIG, and
#                                                    KRB5CCNAME=DIR/krb5cc, set)
#                  scripts/ad-env.sh samba-stop DIR  stop only samba (to test a DC that went away)
#                  scripts/ad-env.sh samba-start DIR start it again
#                  scripts/ad-env.sh ntlm-auth DIR V set the DC's `ntlm auth` (Samba's default ntlmv2-only; yes
#                                                    accepts NTLMv1 too) and restart samba
#                  scripts/ad-env.sh template        (re)provision the template only
#                  scripts/ad-env.sh http DIR        start Apache + mod_auth_gssapi inside the namespaces, serving
#                                                    http://www.ad.test/ (127.0.0.2:80) with HTTP/www.ad.test's
#                                                    keytab and the NTLM plugin GSS_NEGOTIATE_SO (required) —
#                                                    no NTLM user file: NTLM goes to the DC through winbind;
#                                                    /whoami (krb5 + ntlmssp), /webusers/whoami (group webusers
#                                                    only, from the urn:gss-negotiate:groups name attribute).
#                                                    Clients run with exec (KRB5CCNAME=DIR/krb5cc); source
#                                                    DIR/www/client.env for GSS_MECH_CONFIG; NTLM credentials
#                                                    in NTLM_USER_FILE=DIR/www/alice.users or bob.users
# Environment: AD_ENV_LIFETIME  seconds after which the namespaces are torn down even without stop (default 1800)
#              AD_ENV_CACHE     template cache directory
set -euo pipefail

REALM=AD.TEST
DOMAIN=ADTEST
DNSDOMAIN=ad.test
DC_IP=127.0.0.2
DC_HOST=dc1
ADMINPASS='Adm1nPassw0rd!'
CACHE=${AD_ENV_CACHE:-/var/cache/gss-negotiate-test}
# The template depends on the Samba version and on this script's user list.
TEMPLATE_VERSION=2
BIND_DIRS=(etc:/etc/samba lib:/var/lib/samba cache:/var/cache/samba run:/run/samba log:/var/log/samba)

die() { echo "ad-env: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found ($2; scripts/install-deps.sh --group ad)"; }
now_ms() { date +%s%3N; }

check_prereqs() {
  [ "$(id -u)" = 0 ] || die "needs root (namespaces and bind mounts)"
  need samba "package samba-ad-dc"
  need samba-tool "package samba-ad-provision"
  need wbinfo "package winbind"
  need unshare "package util-linux"
  need nsenter "package util-linux"
  need ip "package iproute2"
  need ldbmodify "package ldb-tools"
}

template_dir() {
  local ver
  ver=$(samba -V | tr -cd '0-9A-Za-z.-')
  echo "$CACHE/ad-template-$REALM-$ver-v$TEMPLATE_VERSION"
}

# new_namespaces DIR: a holder process in fresh net+mount+uts namespaces with DIR's directories bind-mounted over
# the Samba paths; prints its pid.
new_namespaces() {
  local dir=$1 pid pair sub target
  for pair in "${BIND_DIRS[@]}"; do mkdir -p "$dir/${pair%%:*}" "${pair#*:}"; done
  unshare --net --mount --uts --propagation private sleep "${AD_ENV_LIFETIME:-1800}" >/dev/null 2>&1 &
  pid=$!
  # Wait until the holder has entered its namespaces.
  for _ in $(seq 100); do
    [ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.01
  done
  local mounts="ip link set lo up && ip addr add $DC_IP/8 dev lo && hostname $DC_HOST.$DNSDOMAIN"
  for pair in "${BIND_DIRS[@]}"; do
    sub=${pair%%:*}; target=${pair#*:}
    mounts+=" && mount --bind '$dir/$sub' '$target'"
  done
  mounts+=" && mount --bind '$dir/krb5.conf' /etc/krb5.conf && mount --bind '$dir/hosts' /etc/hosts"
  write_client_files "$dir"
  nsenter -t "$pid" -n -m -u -- sh -c "$mounts" || { kill "$pid" 2>/dev/null; die "namespace setup failed"; }
  echo "$pid"
}

write_client_files() {
  local dir=$1
  cat >"$dir/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_realm = false
	dns_lookup_kdc = false
	dns_canonicalize_hostname = false
	rdns = false
[realms]
	$REALM = {
		kdc = $DC_IP
		admin_server = $DC_IP
	}
[domain_realm]
	.$DNSDOMAIN = $REALM
	$DNSDOMAIN = $REALM
EOF
  cat >"$dir/hosts" <<EOF
127.0.0.1 localhost
$DC_IP $DC_HOST.$DNSDOMAIN $DC_HOST www.$DNSDOMAIN www
EOF
}

in_ns() { # in_ns PID CMD...
  local pid=$1; shift
  nsenter -t "$pid" -n -m -u -- env KRB5_CONFIG=/etc/krb5.conf "$@"
}

# provision_into DIR PID: provision the domain and create the users in DIR (namespaces of PID; samba not running).
provision_into() {
  local dir=$1 pid=$2 u
  rm -f "$dir/etc/smb.conf"
  in_ns "$pid" samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
    --dns-backend=SAMBA_INTERNAL --adminpass="$ADMINPASS" --host-name="$DC_HOST" --host-ip="$DC_IP" \
    --use-rfc2307 --option="interfaces = $DC_IP/8" --option="bind interfaces only = yes" \
    --option="dns forwarder = $DC_IP" >"$dir/provision.log" 2>&1 \
    || { tail -20 "$dir/provision.log" >&2; die "provisioning failed (log: $dir/provision.log)"; }
  # Simple passwords; a high lockout threshold so tests' wrong passwords never lock an account, and a long
  # lockout duration so mallory's lockoutTime (set at each start) keeps her locked out.
  in_ns "$pid" samba-tool domain passwordsettings set --complexity=off --history-length=0 --min-pwd-length=1 \
    --min-pwd-age=0 --max-pwd-age=0 --account-lockout-threshold=1000 --account-lockout-duration=99999 \
    --reset-account-lockout-after=99999 >>"$dir/provision.log" 2>&1
  for u in alice bob carol dave mallory frank grace; do
    in_ns "$pid" samba-tool user create "$u" "Passw0rd!$u" >>"$dir/provision.log" 2>&1
  done
  in_ns "$pid" samba-tool user create erin "Passw0rd!erin" --must-change-at-next-login >>"$dir/provision.log" 2>&1
  in_ns "$pid" samba-tool group add webusers >>"$dir/provision.log" 2>&1
  in_ns "$pid" samba-tool group addmembers webusers alice >>"$dir/provision.log" 2>&1
  in_ns "$pid" samba-tool user disable carol >>"$dir/provision.log" 2>&1
  local basedn="DC=${DNSDOMAIN//./,DC=}"
  # dave: accountExpires = 1 (a FILETIME in 1601: long past). frank: logonHours all zero. grace: OTHERPC only.
  in_ns "$pid" ldbmodify -H /var/lib/samba/private/sam.ldb >>"$dir/provision.log" 2>&1 <<EOF
dn: CN=dave,CN=Users,$basedn
changetype: modify
replace: accountExpires
accountExpires: 1

dn: CN=frank,CN=Users,$basedn
changetype: modify
replace: logonHours
logonHours:: AAAAAAAAAAAAAAAAAAAAAAAAAAAA

dn: CN=grace,CN=Users,$basedn
changetype: modify
replace: userWorkstations
userWorkstations: OTHERPC
EOF
  in_ns "$pid" samba-tool user create httpsvc --random-password >>"$dir/provision.log" 2>&1
  in_ns "$pid" samba-tool spn add "HTTP/www.$DNSDOMAIN" httpsvc >>"$dir/provision.log" 2>&1
  in_ns "$pid" samba-tool domain exportkeytab /var/lib/samba/http.keytab \
    --principal="HTTP/www.$DNSDOMAIN" >>"$dir/provision.log" 2>&1
  # The SPN's entry carries only the RC4 key; the account's entries add its AES keys (MIT's acceptor, with no
  # acceptor name, tries every keytab entry of the ticket's enctype).
  in_ns "$pid" samba-tool domain exportkeytab /var/lib/samba/http.keytab \
    --principal=httpsvc >>"$dir/provision.log" 2>&1
}

cmd_template() {
  check_prereqs
  local tpl work pid t0
  tpl=$(template_dir)
  t0=$(now_ms)
  work=$(mktemp -d "$CACHE/.provision.XXXXXX" 2>/dev/null || { mkdir -p "$CACHE"; mktemp -d "$CACHE/.provision.XXXXXX"; })
  pid=$(new_namespaces "$work")
  if ! provision_into "$work" "$pid"; then kill "$pid"; exit 1; fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work/run" "$work/log" "$tpl"
  mv "$work" "$tpl"
  echo "ad-env: provisioned template $tpl in $(( $(now_ms) - t0 )) ms" >&2
}

load_state() {
  [ -n "${1:-}" ] || die "missing DIR"
  [ -f "$1/state" ] || die "$1/state not found (not an ad-env directory)"
  # shellcheck disable=SC1091
  . "$1/state"
  [ -n "${NS_PID:-}" ] && kill -0 "$NS_PID" 2>/dev/null || die "the namespaces of $1 are gone"
}

samba_start() { # samba_start DIR PID
  local dir=$1 pid=$2 basedn="DC=${DNSDOMAIN//./,DC=}" ft
  # mallory: locked out from now on (FILETIME = 100 ns ticks since 1601).
  ft=$(( ($(date +%s) + 11644473600) * 10000000 ))
  in_ns "$pid" ldbmodify -H /var/lib/samba/private/sam.ldb >/dev/null <<EOF
dn: CN=mallory,CN=Users,$basedn
changetype: modify
replace: lockoutTime
lockoutTime: $ft
EOF
  in_ns "$pid" samba -D
  local i
  for i in $(seq 300); do
    if in_ns "$pid" wbinfo -P >/dev/null 2>&1 && in_ns "$pid" wbinfo -a "bob%Passw0rd!bob" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  die "samba did not answer through winbind within 30 s (logs: $dir/log)"
}

samba_stop() { # samba_stop DIR
  local dir=$1 spid
  spid=$(cat "$dir/run/samba.pid" 2>/dev/null || true)
  [ -n "$spid" ] || return 0
  kill "$spid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$spid" 2>/dev/null || true
  rm -f "$dir/run/samba.pid"
}

cmd_start() {
  check_prereqs
  local dir=${1:-} tpl t0 t1 pid
  [ -n "$dir" ] || dir=$(mktemp -d /tmp/ad-env.XXXXXX)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  tpl=$(template_dir)
  [ -d "$tpl" ] || cmd_template
  t0=$(now_ms)
  cp -a "$tpl/." "$dir/"
  pid=$(new_namespaces "$dir")
  cp "$dir/lib/http.keytab" "$dir/http.keytab"
  cat >"$dir/state" <<EOF
NS_PID=$pid
REALM=$REALM
DOMAIN=$DOMAIN
DC_IP=$DC_IP
KEYTAB=$dir/http.keytab
EOF
  t1=$(now_ms)
  samba_start "$dir" "$pid"
  echo "ad-env: template copied and namespaces ready in $(( t1 - t0 )) ms, samba answering after $(( $(now_ms) - t0 )) ms" >&2
  echo "$dir"
}

MODDIR=/usr/lib/apache2/modules
NTLMSSP_OID=1.3.6.1.4.1.311.2.2.10

# cmd_http DIR: Apache with mod_auth_gssapi inside DIR's namespaces (see the usage above).
cmd_http() {
  local dir=$1 www so i
  load_state "$dir"
  [ -n "${GSS_NEGOTIATE_SO:-}" ] && [ -f "$GSS_NEGOTIATE_SO" ] || die "set GSS_NEGOTIATE_SO to the NTLMSSP plugin"
  need /usr/sbin/apache2 "package apache2"
  [ -f "$MODDIR/mod_auth_gssapi.so" ] || die "$MODDIR/mod_auth_gssapi.so not found (package libapache2-mod-auth-gssapi)"
  need curl "package curl"
  id www-data >/dev/null 2>&1 || die "user www-data does not exist"
  getent group winbindd_priv >/dev/null || die "group winbindd_priv does not exist (package winbind)"
  www=$dir/www
  mkdir -p "$www"/{lib,logs,run,cgi-bin,rcache}
  chmod 755 "$dir" "$www" "$www/lib" "$www/cgi-bin"
  chown www-data:www-data "$www/logs" "$www/rcache"
  so=$(basename "$GSS_NEGOTIATE_SO")
  cp "$(readlink -f "$GSS_NEGOTIATE_SO")" "$www/lib/$so"
  chmod 755 "$www/lib/$so"
  echo "ntlmssp_plugin $NTLMSSP_OID $www/lib/$so" >"$www/mech.conf"
  chmod 644 "$www/mech.conf"
  chown root:www-data "$dir/http.keytab"; chmod 640 "$dir/http.keytab"
  # Client-side NTLM credentials (the server has no user file).
  printf '%s:alice:Passw0rd!alice\n' "$DOMAIN" >"$www/alice.users"
  printf '%s:bob:Passw0rd!bob\n' "$DOMAIN" >"$www/bob.users"
  chmod 600 "$www"/alice.users "$www"/bob.users
  printf 'export GSS_MECH_CONFIG=%s\nexport HTTP_URL=http://www.%s\n' "$www/mech.conf" "$DNSDOMAIN" >"$www/client.env"
  # The response-level logon goes over winbindd's privileged pipe: www-data must be in winbindd_priv. Only the
  # namespace's /etc/group says so (a copy bind-mounted there); the host's is untouched.
  awk -F: -v OFS=: '$1 == "winbindd_priv" { $4 = ($4 == "" ? "www-data" : $4 ",www-data") } { print }' \
    /etc/group >"$www/group"
  chmod 644 "$www/group"
  nsenter -t "$NS_PID" -m -- sh -c "mountpoint -q /etc/group || mount --bind '$www/group' /etc/group"
  # ... and the pipe's directory must belong to that group, as Debian's winbind package sets it on a member
  # server (samba creates it root:root, 0750, in this private directory).
  chgrp winbindd_priv "$dir/lib/winbindd_privileged"
  cat >"$www/cgi-bin/whoami" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
printf 'REMOTE_USER=%s\nGSS_MECH=%s\nGROUPS=%s\nSIDS=%s\n' "$REMOTE_USER" "$GSS_MECH" "$GROUPS" "$SIDS"
CGI
  chmod 755 "$www/cgi-bin/whoami"
  cat >"$www/httpd.conf" <<CONF
# Generated by scripts/ad-env.sh http (test environment, inside private namespaces)
ServerRoot "$www"
ServerName www.$DNSDOMAIN
Listen $DC_IP:80
PidFile $www/run/httpd.pid
DefaultRuntimeDir $www/run
User www-data
Group www-data
ErrorLog $www/logs/error.log
LogLevel warn auth_gssapi:debug
LogFormat "%a \"%r\" %>s user=%u" short
CustomLog $www/logs/access.log short
KeepAlive On
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authn_core_module $MODDIR/mod_authn_core.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule authz_user_module $MODDIR/mod_authz_user.so
LoadModule alias_module $MODDIR/mod_alias.so
LoadModule cgid_module $MODDIR/mod_cgid.so
LoadModule auth_gssapi_module $MODDIR/mod_auth_gssapi.so
StartServers 1
ServerLimit 2
ThreadsPerChild 16
ThreadLimit 16
MaxRequestWorkers 32
MinSpareThreads 8
MaxSpareThreads 32
ScriptSock $www/run/cgid.sock
ScriptAlias /whoami $www/cgi-bin/whoami
ScriptAlias /webusers/whoami $www/cgi-bin/whoami
<Directory "$www/cgi-bin">
    Options +ExecCGI
</Directory>
<Location />
    AuthType GSSAPI
    AuthName "AD.TEST"
    GssapiAllowedMech krb5
    GssapiAllowedMech ntlmssp
    GssapiPublishMech On
    # NTLM takes two round trips on one connection.
    GssapiConnectionBound On
    GssapiNameAttributes GROUPS urn:gss-negotiate:groups
    GssapiNameAttributes SIDS urn:gssntlmssp:sids
    Require valid-user
</Location>
# Members of ADTEST\webusers only: the group names come from the urn:gss-negotiate:groups name attribute
# (GROUPS above). The expression names REMOTE_USER, so Apache authenticates before evaluating it.
<Location /webusers/>
    Require expr "-n %{REMOTE_USER} && %{reqenv:GROUPS} =~ /(^|,)$DOMAIN\\\\webusers(,|\$)/"
</Location>
CONF
  nsenter -t "$NS_PID" -n -m -u -- setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C \
    GSS_MECH_CONFIG="$www/mech.conf" KRB5_CONFIG=/etc/krb5.conf KRB5_KTNAME="FILE:$dir/http.keytab" \
    KRB5RCACHEDIR="$www/rcache" ${GSS_NEGOTIATE_DEBUG:+GSS_NEGOTIATE_DEBUG="$GSS_NEGOTIATE_DEBUG"} \
    timeout -k 5 "${AD_ENV_LIFETIME:-1800}" /usr/sbin/apache2 -d "$www" -f "$www/httpd.conf" -DFOREGROUND \
    </dev/null >"$www/logs/apache2.out" 2>&1 &
  echo "HTTPD_PID=$!" >>"$dir/state"
  for i in $(seq 100); do
    nsenter -t "$NS_PID" -n -- timeout 1 bash -c "exec 3<>/dev/tcp/$DC_IP/80" 2>/dev/null && break
    sleep 0.1
  done
  [ "$i" -lt 100 ] || die "Apache did not listen on $DC_IP:80: $(tail -5 "$www/logs/apache2.out" "$www/logs/error.log" 2>/dev/null)"
  echo "ad-env: Apache serving http://www.$DNSDOMAIN/ in the namespaces (logs: $www/logs)" >&2
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] && [ -f "$dir/state" ] || die "missing or unknown DIR"
  # shellcheck disable=SC1091
  . "$dir/state"
  if [ -n "${HTTPD_PID:-}" ]; then
    kill -TERM -- "-$HTTPD_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 -- "-$HTTPD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$HTTPD_PID" 2>/dev/null || true
  fi
  samba_stop "$dir"
  if [ -n "${NS_PID:-}" ]; then kill "$NS_PID" 2>/dev/null || true; fi
  [ "${AD_ENV_KEEP:-0}" = 1 ] || rm -rf "$dir"
}

cmd_ntlm_auth() { # cmd_ntlm_auth DIR VALUE
  local dir=$1 value=${2:-}
  case "$value" in
    yes|no|ntlmv1-permitted|ntlmv2-only|mschapv2-and-ntlmv2-only|disabled) ;;
    *) die "ntlm-auth needs one of yes, no, ntlmv1-permitted, ntlmv2-only, mschapv2-and-ntlmv2-only, disabled" ;;
  esac
  sed -i '/^[[:space:]]*ntlm auth[[:space:]]*=/d' "$dir/etc/smb.conf"
  sed -i "s/^\[global\]\$/[global]\n\tntlm auth = $value/" "$dir/etc/smb.conf"
  grep -q "ntlm auth = $value" "$dir/etc/smb.conf" || die "no [global] section in $dir/etc/smb.conf"
  samba_stop "$dir"
  samba_start "$dir" "$NS_PID"
}

cmd_status() {
  load_state "${1:-}"
  in_ns "$NS_PID" wbinfo -P >/dev/null 2>&1 || { echo "ad-env: winbindd does not answer" >&2; return 1; }
  echo "ad-env: namespaces (holder $NS_PID), samba and winbindd up" >&2
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  exec) shift; d=${1:-}; shift || true; load_state "$d"; [ $# -gt 0 ] || die "exec needs a command"
        cd "$d"
        # exec: the caller's child process becomes the command itself (nsenter enters and execs), so killing
        # that pid stops the command.
        exec nsenter -t "$NS_PID" -n -m -u -- env KRB5_CONFIG=/etc/krb5.conf KRB5CCNAME="FILE:$d/krb5cc" "$@" ;;
  samba-stop) shift; load_state "${1:-}"; samba_stop "$1" ;;
  samba-start) shift; load_state "${1:-}"; samba_start "$1" "$NS_PID" ;;
  ntlm-auth) shift; load_state "${1:-}"; cmd_ntlm_auth "$1" "${2:-}" ;;
  template) shift; cmd_template ;;
  http) shift; cmd_http "${1:-}" ;;
  *) sed -n '2,38p' "$0"; exit 2 ;;
esac
