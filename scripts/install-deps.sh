#!/usr/bin/env bash
# Install the Debian packages that building and testing gss-negotiate needs.
#
# Usage: scripts/install-deps.sh [--print] [--group NAME]... [--all]
#   (no option)    install the default groups (DEFAULT_GROUPS below)
#   --print        list the packages of the chosen groups and whether each is installed; install nothing
#   --group NAME   choose a group (repeatable); see PKG_GROUPS below
#   --all          choose every group
#
# Idempotent: packages already installed are left alone and apt is not called at all when nothing is missing.
# Needs root and apt-get (Debian 12) to install; anything else gets a clear message and exit code 2.
set -euo pipefail

# ---- package groups: add a group by adding one line here and its name to DEFAULT_GROUPS if CI needs it ----
declare -A PKG_GROUPS=(
  [build]="build-essential pkg-config libkrb5-dev binutils"
  [test]="krb5-gss-samples krb5-user gss-ntlmssp python3-gssapi valgrind coreutils"
  [interop]="gss-ntlmssp python3-gssapi python3-pip python3-venv"
  [http]="apache2 libapache2-mod-auth-gssapi krb5-kdc krb5-admin-server krb5-user curl python3-gssapi python3-requests python3-pip"
  [deb]="dpkg-dev lintian groff-base man-db util-linux gss-ntlmssp krb5-gss-samples"
  # peers' own test suites: MIT's src/tests/gssapi (apt-get source krb5 needs dpkg-dev; scripts/mit-gssapi-tests.sh
  # enables deb-src itself) and pyspnego 0.6.3's suite in a venv (scripts/pyspnego-suite.sh; pip builds krb5 with gcc;
  # its k5test-driven Kerberos tests run a private KDC)
  [suites]="dpkg-dev build-essential libkrb5-dev python3-venv python3-dev python3-gssapi gss-ntlmssp krb5-kdc krb5-admin-server krb5-user"
  # issue 11's HTTP tests through the SPNEGO interposer: Apache under libfaketime for a skewed server clock
  [interposer]="libfaketime apache2 libapache2-mod-auth-gssapi krb5-kdc krb5-admin-server krb5-user curl valgrind"
  # ThreadSanitizer on the winbind path (scripts/tsan-concurrency.sh, run by tests/ad_winbind/): Debian's own
  # Rust with std's sources (-Zbuild-std under RUSTC_BOOTSTRAP=1; rustup's nightly ships no rust-src here) and libtsan
  [tsan]="rustc-web cargo-web rust-web-src gcc libtsan2 libkrb5-dev"
  # NegoEx hand-off tests (tests/interposer_negoex.rs): MIT's NegoEx test mechanism built from Debian's krb5
  # source (scripts/negoex-mech.sh: apt-get source needs dpkg-dev; gcc against libkrb5-dev), python-gssapi peers
  [negoex]="dpkg-dev build-essential libkrb5-dev python3-gssapi valgrind"
  [ad]="samba samba-ad-dc samba-ad-provision winbind libwbclient0 libwbclient-dev smbclient ldb-tools krb5-user gss-ntlmssp krb5-gss-samples iproute2 util-linux"
)
# PyPI packages of a group, installed into Debian's /usr/bin/python3 (the one python3-gssapi is built for).
declare -A PIP_GROUPS=(
  [interop]="pyspnego==0.12.* impacket"
  [http]="pyspnego==0.12.* requests-gssapi"
)
# Order in which groups are listed/installed.
GROUP_ORDER=(build test interop http interposer negoex deb suites ad tsan)
DEFAULT_GROUPS=(build test interop http interposer negoex deb suites ad tsan)

print_only=0
chosen=()
while [ $# -gt 0 ]; do
  case "$1" in
    --print|-n) print_only=1 ;;
    --group) shift; [ $# -gt 0 ] || { echo "install-deps: --group needs a name" >&2; exit 2; }; chosen+=("$1") ;;
    --all) chosen=("${GROUP_ORDER[@]}") ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#chosen[@]} -gt 0 ] || chosen=("${DEFAULT_GROUPS[@]}")

packages=()
for g in "${chosen[@]}"; do
  if [ -z "${PKG_GROUPS[$g]+x}" ]; then
    echo "install-deps: unknown group '$g' (known: ${GROUP_ORDER[*]})" >&2
    exit 2
  fi
  # shellcheck disable=SC2206
  packages+=(${PKG_GROUPS[$g]})
done

is_installed() {
  dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

missing=()
for p in "${packages[@]}"; do
  if command -v dpkg-query >/dev/null 2>&1 && is_installed "$p"; then
    [ "$print_only" = 1 ] && echo "  installed  $p"
  else
    [ "$print_only" = 1 ] && echo "  missing    $p"
    missing+=("$p")
  fi
done

# PyPI packages of the chosen groups that /usr/bin/python3 cannot import yet (module name = distribution name
# with '-' -> '_', except pyspnego whose module is 'spnego').
pip_missing=()
for g in "${chosen[@]}"; do
  # shellcheck disable=SC2206
  for spec in ${PIP_GROUPS[$g]:-}; do
    dist="${spec%%[=<>]*}"
    mod="${dist//-/_}"; [ "$dist" = pyspnego ] && mod=spnego
    if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $mod" >/dev/null 2>&1; then
      [ "$print_only" = 1 ] && echo "  installed  pip:$spec"
    else
      [ "$print_only" = 1 ] && echo "  missing    pip:$spec"
      pip_missing+=("$spec")
    fi
  done
done

install_pip() {
  [ ${#pip_missing[@]} -gt 0 ] || return 0
  if ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    echo "install-deps: /usr/bin/python3 has no pip; install by hand: ${pip_missing[*]}" >&2
    return 2
  fi
  echo "install-deps: pip installing into /usr/bin/python3: ${pip_missing[*]}"
  /usr/bin/python3 -m pip install -q --root-user-action=ignore --break-system-packages "${pip_missing[@]}"
}

if [ "$print_only" = 1 ]; then
  echo "install-deps: groups: ${chosen[*]}; ${#missing[@]} of ${#packages[@]} packages missing, ${#pip_missing[@]} PyPI"
  exit 0
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present (groups: ${chosen[*]})"
  install_pip
  exit $?
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: must run as root to install: ${missing[*]}" >&2
  echo "install-deps: run 'sudo $0' or install them by hand" >&2
  exit 2
fi

echo "install-deps: installing (groups: ${chosen[*]}): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "install-deps: apt-get update failed; trying with the package lists already here" >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_pip
echo "install-deps: done"
