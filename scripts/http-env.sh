#!/usr/bin/env bash
# A self-contained HTTP Negotiate test environment on loopback, in one directory, touching nothing in /etc:
#   - a real MIT KDC (krb5kdc) for realm GSSNEG.TEST with testuser@GSSNEG.TEST (password Passw0rd!) and
#     HTTP/<hostname>@GSSNEG.TEST in a keytab;
#   - Apache httpd (event MPM) with mod_auth_gssapi, GssapiAllowedMech krb5 + ntlmssp, and a CGI that echoes
#     REMOTE_USER, GSS_MECH and AUTH_TYPE;
#   - an NTLM user file (TESTDOM:testuser:Passw0rd!) for the NTLM plugin, which MIT loads from a private
#     GSS_MECH_CONFIG.
#
# Usage: scripts/http-env.sh start [DIR]      create DIR (default: mktemp -d), start KDC + httpd, print DIR
#        scripts/http-env.sh stop DIR         kill every process started here and remove DIR
#                                             (HTTP_ENV_KEEP=1: keep DIR with its configs and logs)
#        scripts/http-env.sh status DIR       which processes are alive (exit 1 if one is not)
#        scripts/http-env.sh env DIR          print the client environment (source it: eval "$(... env DIR)")
#        scripts/http-env.sh kdc-stop DIR     stop only the KDC (to test Kerberos failures)
#        scripts/http-env.sh kdc-start DIR    start it again
# Environment (start):
#   GSS_NEGOTIATE_SO   the NTLMSSP plugin to load (required), e.g. <target>/debug/libgss_negotiate.so or
#                      /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so; it is copied into DIR/lib so that
#                      Apache's www-data workers can read it wherever it was built
#   HTTP_ENV_LIFETIME  seconds after which every server is killed even if nobody calls stop (default 900)
#   HTTP_ENV_HOST      host name for HTTP/<host> (default: hostname)
#   HTTP_ENV_INTERPOSER_OID  when set, Apache's mech.conf also holds "gss_negotiate_spnego <OID> <plugin>
#                      <interposer>": our SPNEGO replaces MIT's in Apache (issue 11)
#   HTTP_ENV_POLICY    a policy file (docs/policy.md) copied to DIR/policy.conf, which Apache reads through
#                      GSS_NEGOTIATE_POLICY (rewrite DIR/policy.conf to change it while Apache runs: honoured
#                      within one second, policy::RECHECK_AFTER)
#   HTTP_ENV_AUDIT=1   Apache writes audit records to DIR/logs/audit.jsonl (GSS_NEGOTIATE_AUDIT)
#   HTTP_ENV_FAKETIME  run Apache under libfaketime with FAKETIME=<value> (e.g. +2h: a server clock two hours
#                      ahead of the KDC's and the client's; package libfaketime)
#
# URLs (HTTP_URL in DIR/state): http://<host>:<port>/bound/whoami    GssapiConnectionBound On
#                                                   /unbound/whoami  the same without connection binding
#                                                   /krb5only/whoami GssapiAllowedMech krb5 only
#                                                   /credstore/whoami like /bound/, keytab from GssapiCredStore
# The other locations find the keytab through KRB5_KTNAME in Apache's environment.
# Clients connect to 127.0.0.1; use curl --resolve <host>:<port>:127.0.0.1 when <host> does not resolve.
set -euo pipefail

REALM=GSSNEG.TEST
PRINC_USER=testuser
PASSWORD='Passw0rd!'
NTLM_DOMAIN=TESTDOM
NTLMSSP_OID=1.3.6.1.4.1.311.2.2.10
MODDIR=/usr/lib/apache2/modules
# Host name whose HTTP/ principal exists in the KDC but not in Apache's keytab (clients reach it with
# curl --resolve nokey.gssneg.test:<port>:127.0.0.1).
NOKEY_HOST=nokey.gssneg.test
# Host name whose key in Apache's keytab is one version behind the KDC's (a stale kvno).
STALE_HOST=stale.gssneg.test
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1

die() { echo "http-env: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { # port_open PORT : something accepts TCP on 127.0.0.1:PORT
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || die "$1 not found ($2)"; }

load_state() {
  [ -n "${1:-}" ] || die "missing DIR"
  [ -f "$1/state" ] || die "$1/state not found (not an http-env directory)"
  # shellcheck disable=SC1091
  . "$1/state"
}

kill_group() { # kill_group PID : TERM the process group PID leads, then KILL what is left
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

cmd_stop() {
  local dir=$1
  if [ -f "$dir/state" ]; then
    load_state "$dir"
    kill_group "${HTTPD_PGID:-}"
    kill_group "${KDC_PGID:-}"
  fi
  [ "${HTTP_ENV_KEEP:-0}" = 1 ] && { echo "http-env: servers stopped, files kept in $dir"; return 0; }
  case "$dir" in /|"") die "refusing to remove '$dir'" ;; esac
  rm -rf "$dir"
}

start_kdc() { # start_kdc DIR : run krb5kdc in the foreground in its own session, bounded, and wait for it
  local dir=$1 i
  load_state "$dir"
  setsid env KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc/kdc.conf" \
    timeout -k 5 "${HTTP_ENV_LIFETIME:-900}" /usr/sbin/krb5kdc -n -r "$REALM" </dev/null >>"$dir/logs/krb5kdc.out" 2>&1 &
  local kdc_pid=$!
  sed -i "s/^KDC_PGID=.*/KDC_PGID=$kdc_pid/" "$dir/state"
  for i in $(seq 100); do port_open "$KDC_PORT" && break; kill -0 "$kdc_pid" 2>/dev/null || break; sleep 0.1; done
  port_open "$KDC_PORT" || die "KDC did not start listening on 127.0.0.1:$KDC_PORT"
}

cmd_kdc_stop() {
  load_state "$1"
  kill_group "${KDC_PGID:-}"
}

cmd_status() {
  load_state "$1"
  local rc=0
  for n in KDC HTTPD; do
    local v="${n}_PGID"
    if [ -n "${!v:-}" ] && kill -0 -- "-${!v}" 2>/dev/null; then echo "$n running (pgid ${!v})"
    else echo "$n not running"; rc=1; fi
  done
  echo "HTTP_URL=$HTTP_URL"
  return $rc
}

cmd_env() {
  load_state "$1"
  cat "$1/client.env"
}

cmd_start() {
  local dir=${1:-}
  [ -n "${GSS_NEGOTIATE_SO:-}" ] || die "set GSS_NEGOTIATE_SO to the NTLMSSP plugin to load"
  [ -f "$GSS_NEGOTIATE_SO" ] || die "GSS_NEGOTIATE_SO=$GSS_NEGOTIATE_SO is not a file"
  need /usr/sbin/krb5kdc "package krb5-kdc"
  need /usr/sbin/kdb5_util "package krb5-kdc"
  need /usr/sbin/kadmin.local "package krb5-admin-server"
  need /usr/sbin/apache2 "package apache2"
  [ -f "$MODDIR/mod_auth_gssapi.so" ] || die "$MODDIR/mod_auth_gssapi.so not found (package libapache2-mod-auth-gssapi)"
  need setsid "util-linux"
  need python3 "python3"
  [ "$(id -u)" = 0 ] || die "must run as root (Apache switches its workers to www-data)"
  [ -z "${HTTP_ENV_FAKETIME:-}" ] || [ -f "$FAKETIME_LIB" ] || die "$FAKETIME_LIB not found (package libfaketime)"
  [ -z "${HTTP_ENV_POLICY:-}" ] || [ -f "$HTTP_ENV_POLICY" ] || die "HTTP_ENV_POLICY=$HTTP_ENV_POLICY is not a file"
  id www-data >/dev/null 2>&1 || die "user www-data does not exist"

  if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/gss-negotiate-http.XXXXXX"); else mkdir -p "$dir"; fi
  dir=$(cd "$dir" && pwd -P)
  local ok=0
  trap '[ "$ok" = 1 ] || { echo "http-env: start failed; logs:" >&2; tail -n 30 "$dir"/logs/*.log >&2 2>/dev/null; cmd_stop "$dir"; }' EXIT

  local host=${HTTP_ENV_HOST:-$(hostname)} lifetime=${HTTP_ENV_LIFETIME:-900}
  local kdc_port http_port
  kdc_port=$(free_port); http_port=$(free_port)
  [ "$kdc_port" != "$http_port" ] || http_port=$(free_port)
  mkdir -p "$dir"/{kdc,lib,logs,run,cgi-bin,rcache,client}
  chmod 755 "$dir" "$dir/lib" "$dir/cgi-bin"
  chmod 700 "$dir/kdc" "$dir/client"
  chown www-data:www-data "$dir/rcache" "$dir/logs"
  cat > "$dir/state" <<EOF
HTTP_ENV_DIR=$dir
REALM=$REALM
HOST=$host
KDC_PORT=$kdc_port
HTTP_PORT=$http_port
HTTP_URL=http://$host:$http_port
KDC_PGID=
HTTPD_PGID=
EOF

  # --- the plugin, where www-data can read it ---
  local so_name; so_name=$(basename "$GSS_NEGOTIATE_SO")
  cp "$(readlink -f "$GSS_NEGOTIATE_SO")" "$dir/lib/$so_name"
  chmod 755 "$dir/lib/$so_name"
  echo "ntlmssp_plugin $NTLMSSP_OID $dir/lib/$so_name" > "$dir/mech.conf"
  if [ -n "${HTTP_ENV_INTERPOSER_OID:-}" ]; then
    echo "gss_negotiate_spnego $HTTP_ENV_INTERPOSER_OID $dir/lib/$so_name <interposer>" >> "$dir/mech.conf"
  fi
  if [ -n "${HTTP_ENV_POLICY:-}" ]; then
    cp "$HTTP_ENV_POLICY" "$dir/policy.conf"
    chmod 644 "$dir/policy.conf"
  fi
  printf '%s:%s:%s\n' "$NTLM_DOMAIN" "$PRINC_USER" "$PASSWORD" > "$dir/ntlm_users"
  chmod 644 "$dir/mech.conf"
  chown root:www-data "$dir/ntlm_users"; chmod 640 "$dir/ntlm_users"
  # The client's own user file (first entry = default NTLM credential of the client).
  printf '%s:%s:%s\n' "$NTLM_DOMAIN" "$PRINC_USER" "$PASSWORD" > "$dir/client/ntlm_users"

  # --- Kerberos: krb5.conf (clients and server), kdc.conf, database, principals, keytab ---
  cat > "$dir/krb5.conf" <<EOF
[libdefaults]
  default_realm = $REALM
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  kdc_timeout = 2000
  max_retries = 1
[realms]
  $REALM = {
    kdc = 127.0.0.1:$kdc_port
  }
[domain_realm]
  $host = $REALM
  $NOKEY_HOST = $REALM
  $STALE_HOST = $REALM
EOF
  chmod 644 "$dir/krb5.conf"
  cat > "$dir/kdc/kdc.conf" <<EOF
[kdcdefaults]
  kdc_listen = 127.0.0.1:$kdc_port
  kdc_tcp_listen = 127.0.0.1:$kdc_port
[realms]
  $REALM = {
    database_name = $dir/kdc/principal
    key_stash_file = $dir/kdc/stash
    acl_file = $dir/kdc/kadm5.acl
    kdc_listen = 127.0.0.1:$kdc_port
    kdc_tcp_listen = 127.0.0.1:$kdc_port
    max_life = 2h
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }
[logging]
  kdc = FILE:$dir/logs/kdc.log
  admin_server = FILE:$dir/logs/kadmin.log
  default = FILE:$dir/logs/krb5-default.log
EOF
  : > "$dir/kdc/kadm5.acl"
  export KRB5_CONFIG=$dir/krb5.conf KRB5_KDC_PROFILE=$dir/kdc/kdc.conf
  local master; master=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  timeout 60 /usr/sbin/kdb5_util -r "$REALM" create -s -P "$master" > "$dir/logs/kdb5_util.log" 2>&1 ||
    die "kdb5_util create failed: $(cat "$dir/logs/kdb5_util.log")"
  unset master
  kadm() { timeout 30 /usr/sbin/kadmin.local -r "$REALM" -q "$1" >> "$dir/logs/kadmin.local.log" 2>&1 || die "kadmin.local '$1' failed"; }
  kadm "addprinc -pw $PASSWORD $PRINC_USER"
  kadm "addprinc -randkey HTTP/$host"
  kadm "ktadd -k $dir/http.keytab HTTP/$host"
  # A service the KDC knows but whose key Apache does not have: Kerberos fails at the acceptor.
  kadm "addprinc -randkey HTTP/$NOKEY_HOST"
  # A service whose key in the keytab is stale: the KDC's key moves on (kvno + 1) after ktadd.
  kadm "addprinc -randkey HTTP/$STALE_HOST"
  kadm "ktadd -k $dir/http.keytab HTTP/$STALE_HOST"
  kadm "cpw -randkey HTTP/$STALE_HOST"
  chown root:www-data "$dir/http.keytab"; chmod 640 "$dir/http.keytab"

  start_kdc "$dir"

  # --- Apache ---
  cat > "$dir/cgi-bin/whoami" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
printf 'REMOTE_USER=%s\nGSS_MECH=%s\nAUTH_TYPE=%s\nREMOTE_PORT=%s\n' "$REMOTE_USER" "$GSS_MECH" "$AUTH_TYPE" "$REMOTE_PORT"
EOF
  chmod 755 "$dir/cgi-bin/whoami"
  local gss_common="AuthType GSSAPI
    AuthName \"gss-negotiate test\"
    GssapiPublishMech On
    Require valid-user"
  cat > "$dir/httpd.conf" <<EOF
# Generated by scripts/http-env.sh (test environment, loopback only)
ServerRoot "$dir"
ServerName $host
Listen 127.0.0.1:$http_port
PidFile $dir/run/httpd.pid
DefaultRuntimeDir $dir/run
User www-data
Group www-data
ErrorLog $dir/logs/error.log
LogLevel warn auth_gssapi:debug
LogFormat "%a %{remote}p %k \"%r\" %>s user=%u" conn
CustomLog $dir/logs/access.log conn
Timeout 20
KeepAlive On
KeepAliveTimeout 10
MaxKeepAliveRequests 500
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authn_core_module $MODDIR/mod_authn_core.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule authz_user_module $MODDIR/mod_authz_user.so
LoadModule alias_module $MODDIR/mod_alias.so
LoadModule cgid_module $MODDIR/mod_cgid.so
LoadModule auth_gssapi_module $MODDIR/mod_auth_gssapi.so
StartServers 2
ServerLimit 4
ThreadsPerChild 25
ThreadLimit 25
MaxRequestWorkers 100
MinSpareThreads 25
MaxSpareThreads 100
ScriptSock $dir/run/cgid.sock
ScriptAlias /bound/ $dir/cgi-bin/
ScriptAlias /unbound/ $dir/cgi-bin/
ScriptAlias /krb5only/ $dir/cgi-bin/
ScriptAlias /credstore/ $dir/cgi-bin/
<Directory "$dir/cgi-bin">
    Options +ExecCGI
</Directory>
<Location /bound/>
    $gss_common
    GssapiConnectionBound On
    GssapiAllowedMech krb5
    GssapiAllowedMech ntlmssp
</Location>
<Location /unbound/>
    $gss_common
    GssapiAllowedMech krb5
    GssapiAllowedMech ntlmssp
</Location>
<Location /credstore/>
    $gss_common
    GssapiConnectionBound On
    GssapiAllowedMech krb5
    GssapiAllowedMech ntlmssp
    GssapiCredStore keytab:$dir/http.keytab
</Location>
<Location /krb5only/>
    $gss_common
    GssapiConnectionBound On
    GssapiAllowedMech krb5
</Location>
EOF
  # The GSSAPI library reads these from the process environment (not from SetEnv/PassEnv):
  # every worker inherits them from the parent.
  setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C \
    GSS_MECH_CONFIG="$dir/mech.conf" NTLM_USER_FILE="$dir/ntlm_users" KRB5_CONFIG="$dir/krb5.conf" \
    KRB5_KTNAME="FILE:$dir/http.keytab" KRB5RCACHEDIR="$dir/rcache" \
    ${GSSNTLMSSP_DEBUG:+GSSNTLMSSP_DEBUG="$GSSNTLMSSP_DEBUG"} \
    ${HTTP_ENV_POLICY:+GSS_NEGOTIATE_POLICY="$dir/policy.conf"} \
    ${HTTP_ENV_AUDIT:+GSS_NEGOTIATE_AUDIT="$dir/logs/audit.jsonl"} \
    ${HTTP_ENV_FAKETIME:+LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$HTTP_ENV_FAKETIME" DONT_FAKE_MONOTONIC=1} \
    timeout -k 5 "$lifetime" /usr/sbin/apache2 -d "$dir" -f "$dir/httpd.conf" -DFOREGROUND \
    </dev/null >"$dir/logs/apache2.out" 2>&1 &
  local httpd_pid=$!
  sed -i "s/^HTTPD_PGID=.*/HTTPD_PGID=$httpd_pid/" "$dir/state"
  for i in $(seq 100); do port_open "$http_port" && break; kill -0 "$httpd_pid" 2>/dev/null || break; sleep 0.1; done
  port_open "$http_port" || die "httpd did not start listening on 127.0.0.1:$http_port: $(cat "$dir/logs/apache2.out")"

  cat > "$dir/client.env" <<EOF
export KRB5_CONFIG=$dir/krb5.conf
export GSS_MECH_CONFIG=$dir/mech.conf
export NTLM_USER_FILE=$dir/client/ntlm_users
export KRB5CCNAME=FILE:$dir/client/ccache
export HTTP_URL=http://$host:$http_port
export HTTP_RESOLVE=$host:$http_port:127.0.0.1
EOF
  ok=1
  trap - EXIT
  echo "$dir"
}

case "${1:-}" in
  start) cmd_start "${2:-}" ;;
  stop) [ -n "${2:-}" ] || die "usage: $0 stop DIR"; cmd_stop "$2" ;;
  status) cmd_status "${2:-}" ;;
  env) cmd_env "${2:-}" ;;
  kdc-stop) cmd_kdc_stop "${2:-}" ;;
  kdc-start) load_state "${2:-}"; kill -0 -- "-${KDC_PGID:-0}" 2>/dev/null || start_kdc "$2" ;;
  -h|--help|"") sed -n '2,30p' "$0"; [ -n "${1:-}" ] ;;
  *) die "unknown command $1 (start|stop|status|env|kdc-stop|kdc-start)" ;;
esac
