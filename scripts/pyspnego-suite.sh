#!/usr/bin/env bash
# Run pyspnego 0.6.3's own test suite (tests/ of its PyPI source distribution) with NTLM through GSSAPI served by a
# plugin, for tests/pyspnego_suite.rs; or by hand.
#
# Usage: scripts/pyspnego-suite.sh [prepare | run [PLUGIN.so [OUTCOMES]]]
#   prepare  make a venv (Debian's /usr/bin/python3, --system-site-packages so python3-gssapi is seen) with
#            pyspnego 0.6.3 and what its tests import; download and unpack its sdist's tests/ (default). Every test
#            that needs pyspnego 0.6.3 uses this venv (tests/common/peers.rs pyspnego06_python); `flock` on
#            <cache>/.lock makes concurrent preparers wait for one build.
#   run      prepare, then run the suite against PLUGIN.so (default: target/debug/libgss_negotiate.so; gss-ntlmssp's
#            is /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so) in a private environment (temporary mech config,
#            inert krb5.conf; the suite writes its own NTLM_USER_FILE) and write one "OUTCOME<TAB>TEST-ID" line per
#            test to OUTCOMES (default: stdout). OUTCOME: passed, failed, error, skipped (skipped ids carry the reason
#            after a second TAB). pytest's own summary goes to stderr.
#            PYSPNEGO_SUITE_LM_COMPAT_LEVEL=N sets LM_COMPAT_LEVEL for the whole run (both sides of every test, where
#            a test does not set its own); PYSPNEGO_SUITE_SELECT=EXPR runs only the tests pytest's `-k EXPR` selects.
# Cache: $PYSPNEGO_SUITE_CACHE, else ${CARGO_TARGET_DIR:-<repo>/target}/peer-suites/pyspnego (reruns reuse it).
# Exit codes: 0 done (whatever the tests did: judging is the Rust test's job); 2 cannot run here (no Debian python3,
# venv or network to PyPI) — the message says why; 1 failure.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PYSPNEGO_SUITE_CACHE:-${CARGO_TARGET_DIR:-$here/target}/peer-suites/pyspnego}"
action="${1:-prepare}"
VERSION=0.6.3
# What the suite imports: pytest-mock (fixtures), krb5 (pyspnego's GSSAPI proxy is disabled without it),
# ruamel.yaml (test_main), k5test (its Kerberos tests make a private KDC per test with Debian's krb5-kdc and
# krb5-admin-server: Kerberos and SPNEGO through the mechglue with our plugin loaded beside krb5).
PIP_SPECS=("pyspnego==$VERSION" "pytest==9.2.0" "pytest-mock==3.17.0" "krb5==0.10.0" "ruamel.yaml==0.19.1"
           "k5test==0.10.4")
PY=/usr/bin/python3

die2() { echo "pyspnego-suite: $*" >&2; exit 2; }

prepare() {
  [ -x "$PY" ] || die2 "$PY missing (Debian package python3)"
  "$PY" -c 'import gssapi' 2>/dev/null || die2 "$PY cannot import gssapi (Debian package python3-gssapi)"
  "$PY" -c 'import venv, ensurepip' 2>/dev/null || die2 "$PY has no venv/ensurepip (Debian package python3-venv)"
  # One preparer at a time: the venv is shared by tests/pyspnego_suite.rs (parallel threads) and
  # tests/interop_pyspnego06.rs (another test binary, maybe another process at the same time), both through this
  # action. The lock stays held for a `run` (fd 9 is inherited by pytest), so no preparer rebuilds the venv under a
  # run and runs (whose k5test realms use fixed ports) never overlap.
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9
  local stamp
  stamp="$cache/.ready-$(echo "${PIP_SPECS[*]}" | md5sum | cut -c1-12)"
  if [ -f "$stamp" ] && [ -x "$cache/venv/bin/python" ] && [ -d "$cache/src/tests" ]; then return 0; fi
  rm -rf "$cache/venv" "$cache/src" "$cache/dl" "$cache"/.ready-*
  mkdir -p "$cache/dl"
  "$PY" -m venv --system-site-packages "$cache/venv" >&2
  # krb5 has no wheel for every Python: pip builds it from source (gcc, libkrb5-dev) once; pip's cache keeps the wheel.
  "$cache/venv/bin/pip" install -q --disable-pip-version-check "${PIP_SPECS[@]}" >&2 \
    || die2 "pip install ${PIP_SPECS[*]} failed (PyPI reachable? gcc and libkrb5-dev installed?)"
  "$cache/venv/bin/pip" download -q --disable-pip-version-check --no-binary :all: --no-deps \
      -d "$cache/dl" "pyspnego==$VERSION" >&2 || die2 "pip download of the pyspnego $VERSION sdist failed"
  tar -xzf "$cache/dl/pyspnego-$VERSION.tar.gz" -C "$cache/dl"
  mkdir -p "$cache/src"
  cp -a "$cache/dl/pyspnego-$VERSION/tests" "$cache/dl/pyspnego-$VERSION/setup.cfg" "$cache/src/"
  rm -rf "$cache/dl"
  "$cache/venv/bin/python" - <<'PYEOF' >&2
import spnego._gss as g, spnego
assert spnego.__file__.find("/venv/") > 0, spnego.__file__
assert g.HAS_GSSAPI, g.GSSAPI_IMP_ERR
import k5test.realm
print("pyspnego-suite: venv ready:", spnego.__file__)
PYEOF
  touch "$stamp"
}

run_suite() {
  local plugin="$1" out="${2:-/dev/stdout}" tmp
  [ -f "$plugin" ] || { echo "pyspnego-suite: no plugin $plugin (cargo build --lib first?)" >&2; exit 1; }
  tmp="$(mktemp -d)"
  echo "ntlm_under_test 1.3.6.1.4.1.311.2.2.10 $plugin" > "$tmp/mech.conf"
  printf '[libdefaults]\n default_realm = GSS-NEGOTIATE.INVALID\n dns_lookup_kdc = false\n dns_lookup_realm = false\n' \
    > "$tmp/krb5.conf"
  local level=() select=()
  [ -z "${PYSPNEGO_SUITE_LM_COMPAT_LEVEL:-}" ] || level=("LM_COMPAT_LEVEL=$PYSPNEGO_SUITE_LM_COMPAT_LEVEL")
  [ -z "${PYSPNEGO_SUITE_SELECT:-}" ] || select=(-k "$PYSPNEGO_SUITE_SELECT")
  set +e
  ( cd "$cache/src" && env -u NTLM_USER_FILE -u LM_COMPAT_LEVEL "${level[@]}" GSS_MECH_CONFIG="$tmp/mech.conf" \
      KRB5_CONFIG="$tmp/krb5.conf" KRB5CCNAME="FILE:$tmp/ccache" KRB5_KTNAME="FILE:$tmp/keytab" LC_ALL=C.UTF-8 \
      timeout 600 "$cache/venv/bin/python" -m pytest -p no:cacheprovider -q -rfE --junitxml="$tmp/junit.xml" "${select[@]}" tests >&2 )
  local rc=$?
  set -e
  if [ ! -s "$tmp/junit.xml" ]; then
    echo "pyspnego-suite: pytest wrote no junit report (exit $rc)" >&2; rm -rf "$tmp"; exit 1
  fi
  "$PY" - "$tmp/junit.xml" > "$out" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    tid = "%s::%s" % (case.get("classname"), case.get("name"))
    outcome, why = "passed", ""
    for child in case:
        if child.tag in ("failure", "error", "skipped"):
            outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
            why = (child.get("message") or "").splitlines()[0] if child.get("message") else ""
            break
    print("%s\t%s%s" % (outcome, tid, "\t" + why if outcome == "skipped" else ""))
PYEOF
  rm -rf "$tmp"
}

case "$action" in
  prepare) prepare; echo "ready: $cache" ;;
  run) prepare; run_suite "${2:-$here/target/debug/libgss_negotiate.so}" "${3:-}" ;;
  *) echo "usage: $0 [prepare | run [PLUGIN.so [OUTCOMES]]]" >&2; exit 2 ;;
esac
