#!/usr/bin/env bash
# Fetch MIT krb5's generic GSSAPI test programs (src/tests/gssapi) from Debian's krb5 source package and build them
# against the system libraries, for tests/mit_gssapi_suite.rs; or run them by hand against a plugin.
#
# Usage: scripts/mit-gssapi-tests.sh [fetch|build|run [PLUGIN.so]]
#   fetch   enable deb-src (a sources file beside Debian's own, same mirror) and `apt-get source krb5` into the cache
#   build   fetch, then compile every program the suite uses into the cache (default)
#   run     build, then run every case of tests/data/mit_gssapi_cases.txt with the NTLM mechanism against PLUGIN.so
#           (default: the cargo-built target/debug/libgss_negotiate.so) and print each case's exit and first output
#           line; gss-ntlmssp's plugin for comparison: /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so
# Cache: $MIT_GSSAPI_CACHE, else ${CARGO_TARGET_DIR:-<repo>/target}/peer-suites/mit-gssapi. Nothing is written to the
# repository. Reruns reuse the cache (source and binaries). Prints the cache's bin directory as its last line
# ("bin: <dir>") on success.
# Exit codes: 0 done; 2 cannot run here (not root, no apt-get/gcc/krb5-config) — the message says why; 1 failure.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${MIT_GSSAPI_CACHE:-${CARGO_TARGET_DIR:-$here/target}/peer-suites/mit-gssapi}"
action="${1:-build}"
# The programs the suite builds: every program of src/tests/gssapi that compiles against the public headers
# (common.c/common.h from the same directory). Not built: t_enctypes, t_imp_cred, t_invalid, t_pcontok, t_prf and
# t_store_cred include the build tree's k5-int.h/k5-platform.h; ccinit and ccrefresh are krb5 ccache helpers.
# reload (dlopen/dlclose of libgssapi_krb5 twice, each loading the configured plugins) is built on its own below.
PROGRAMS=(t_accname t_add_cred t_bindings t_ccselect t_ciflags t_context t_credstore t_err t_export_cred
          t_export_name t_gssexts t_imp_name t_inq_cred t_inq_ctx t_inq_mechs_name t_iov t_lifetime
          t_namingexts t_oid t_s4u t_s4u2proxy_krb5 t_saslname t_spnego t_srcattrs)
# Linked into each program: points their `mech_krb5` at the NTLMSSP OID (see the file's comment).
SHIM="$here/tests/c/mit_suite_ntlm_mech.c"

die2() { echo "mit-gssapi-tests: $*" >&2; exit 2; }

# (Not `apt-cache ... | grep -q`: grep's early exit would fail the pipeline under pipefail.)
have_krb5_src() { [ -n "$(apt-cache showsrc krb5 2>/dev/null | sed -n 's/^Package: krb5$/x/p')" ]; }

enable_deb_src() {
  # Already have krb5 sources indexed?
  if have_krb5_src; then return 0; fi
  local f
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    f=/etc/apt/sources.list.d/gss-negotiate-deb-src.sources
    # Same entries (mirror, suites, components, keyring) as Debian's deb822 file, as deb-src.
    sed -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$f"
  elif [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
    f=/etc/apt/sources.list.d/gss-negotiate-deb-src.list
    sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list > "$f"
  else
    die2 "no /etc/apt/sources.list.d/debian.sources or deb line in /etc/apt/sources.list to derive deb-src from"
  fi
  echo "mit-gssapi-tests: wrote $f; apt-get update" >&2
  apt-get update -qq >&2 || echo "mit-gssapi-tests: apt-get update reported errors; trying anyway" >&2
  have_krb5_src || die2 "deb-src enabled but apt knows no krb5 source"
}

fetch() {
  mkdir -p "$cache"
  exec 9>"$cache/.lock"   # one fetcher/builder at a time
  flock 9
  if [ -f "$cache/src/.complete" ]; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || die2 "apt-get not found (Debian 12 needed to fetch krb5's source)"
  [ "$(id -u)" = 0 ] || die2 "must run as root to enable deb-src and apt-get source (or fill $cache/src by hand)"
  command -v dpkg-source >/dev/null 2>&1 || die2 "dpkg-source missing (Debian package dpkg-dev)"
  enable_deb_src
  rm -rf "$cache/src" "$cache/dl"
  mkdir -p "$cache/dl"
  # Fetch and unpack (with Debian's patches) the version matching the installed libraries where possible.
  local ver
  ver="$(dpkg-query -W -f='${source:Version}' libkrb5-dev 2>/dev/null || true)"
  ( cd "$cache/dl" && { [ -n "$ver" ] && apt-get source -qq "krb5=$ver" >&2 || apt-get source -qq krb5 >&2; } )
  local d
  d="$(find "$cache/dl" -maxdepth 1 -type d -name 'krb5-*' | head -1)"
  [ -n "$d" ] && [ -d "$d/src/tests/gssapi" ] || { echo "mit-gssapi-tests: no src/tests/gssapi in $d" >&2; exit 1; }
  mkdir -p "$cache/src"
  cp -a "$d/src/tests/gssapi/." "$cache/src/"
  ( cd "$cache/dl" && ls -1 *.dsc ) > "$cache/src/.complete"
  rm -rf "$cache/dl"   # keep only the directory the suite needs (a few hundred KiB)
}

build() {
  fetch
  command -v gcc >/dev/null 2>&1 || die2 "gcc missing (Debian package build-essential)"
  command -v krb5-config >/dev/null 2>&1 || die2 "krb5-config missing (Debian package libkrb5-dev)"
  mkdir -p "$cache/bin"
  local cflags libs p built=0 failed=()
  cflags="$(krb5-config --cflags gssapi)"
  libs="$(krb5-config --libs gssapi)"
  for p in "${PROGRAMS[@]}"; do
    [ -f "$cache/src/$p.c" ] || { failed+=("$p(no source)"); continue; }
    if [ -x "$cache/bin/$p" ] && [ "$cache/bin/$p" -nt "$cache/src/$p.c" ] && [ "$cache/bin/$p" -nt "$SHIM" ]; then built=$((built + 1)); continue; fi
    # shellcheck disable=SC2086
    if gcc -O0 -w $cflags -I"$cache/src" -o "$cache/bin/$p" "$cache/src/$p.c" "$cache/src/common.c" "$SHIM" $libs \
         2> "$cache/bin/$p.build.log"; then
      built=$((built + 1))
    else
      failed+=("$p")
    fi
  done
  # reload: no common.c, no mechanism of its own; it loads the mechglue (and so the plugin) twice via dlopen.
  if [ -x "$cache/bin/reload" ] && [ "$cache/bin/reload" -nt "$cache/src/reload.c" ]; then
    built=$((built + 1))
  elif gcc -O0 -w $cflags -o "$cache/bin/reload" "$cache/src/reload.c" -ldl 2> "$cache/bin/reload.build.log"; then
    built=$((built + 1))
  else
    failed+=(reload)
  fi
  echo "mit-gssapi-tests: $built of $((${#PROGRAMS[@]} + 1)) programs built in $cache/bin" >&2
  [ ${#failed[@]} -eq 0 ] || echo "mit-gssapi-tests: did not build: ${failed[*]} (see $cache/bin/*.build.log)" >&2
}

# Run every case of tests/data/mit_gssapi_cases.txt against $1 in a private environment (temporary mech config,
# user file TESTDOM:testuser:Passw0rd!, inert krb5.conf); print "<exit> <expected-verdict> <program args>" and the
# output's first line. Judging is tests/mit_gssapi_suite.rs's job: this is for looking (e.g. at gss-ntlmssp).
run_cases() {
  local plugin="$1" bin="$cache/bin" host line verdict code needle cmd reason
  [ -f "$plugin" ] || { echo "mit-gssapi-tests: no plugin $plugin (cargo build --lib first?)" >&2; exit 1; }
  host="$(hostname)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "ntlm_under_test 1.3.6.1.4.1.311.2.2.10 $plugin" > "$tmp/mech.conf"
  echo 'TESTDOM:testuser:Passw0rd!' > "$tmp/users"
  printf '[libdefaults]\n default_realm = GSS-NEGOTIATE.INVALID\n dns_lookup_kdc = false\n' > "$tmp/krb5.conf"
  while IFS='|' read -r verdict code needle cmd reason; do
    case "$verdict" in ''|\#*) continue ;; esac
    cmd="$(echo "$cmd" | sed -e "s|{svc}|h:host@$host|g" -e "s|{host}|$host|g" -e "s|{tmp}|$tmp|g" \
            -e 's|{user}|u:TESTDOM\\testuser|g' -e 's/^ *//; s/ *$//')"
    local envs=() words=() w
    read -r -a words <<< "$cmd"
    while [ ${#words[@]} -gt 0 ] && [[ "${words[0]}" == *=* ]]; do envs+=("${words[0]}"); words=("${words[@]:1}"); done
    set +e
    out="$(env -i PATH=/usr/bin:/bin LC_ALL=C GSS_MECH_CONFIG="$tmp/mech.conf" NTLM_USER_FILE="$tmp/users" \
           KRB5_CONFIG="$tmp/krb5.conf" KRB5CCNAME="FILE:$tmp/ccache" KRB5_KTNAME="FILE:$tmp/keytab" "${envs[@]}" \
           timeout 20 "$bin/${words[0]}" "${words[@]:1}" 2>&1 < /dev/null)"
    rc=$?
    set -e
    [ $rc = 134 ] && rc=abort
    [ $rc = 139 ] && rc=SIGSEGV
    printf '%-7s %-11s %s\n        %s\n' "$rc" "$(echo $verdict)" "$cmd" "$(echo "$out" | head -1)"
  done < "$here/tests/data/mit_gssapi_cases.txt"
}

case "$action" in
  fetch) fetch; echo "src: $cache/src" ;;
  build) build; echo "bin: $cache/bin" ;;
  run) build; run_cases "${2:-$here/target/debug/libgss_negotiate.so}" ;;
  *) echo "usage: $0 [fetch|build|run [PLUGIN.so]]" >&2; exit 2 ;;
esac
