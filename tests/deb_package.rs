//! The Debian package end to end, without changing this machine: the .deb is built (scripts/build-deb.sh,
//! cargo-deb), checked with lintian, then installed with `dpkg -i` and removed with `dpkg -r` inside a private
//! mount namespace whose /etc, /usr and /var are overlays on a tmpfs — nothing persists. In there: MIT's
//! gss-server and gss-client authenticate through the installed plugin with no GSS_MECH_CONFIG, and after
//! `dpkg -r` MIT loads gss-ntlmssp's library again. Root only (mounts, dpkg); skipped with a message otherwise.
//! `GSS_NEGOTIATE_DEB=/path/to.deb` tests that package instead of building one.
#![cfg(feature = "cli")]

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const TEST: &str = "deb_installs_serves_mit_and_removes_cleanly";

fn build_deb() -> PathBuf {
    if let Some(p) = std::env::var_os("GSS_NEGOTIATE_DEB") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/build-deb.sh"))
        .env("CARGO_TARGET_DIR", common::peers::target_dir())
        .current_dir(&root)
        .output()
        .expect("run scripts/build-deb.sh");
    assert!(
        out.status.success(),
        "build-deb.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    PathBuf::from(deb)
}

/// The script run inside the namespace. Every step prints a marker the test looks for.
const SCRIPT: &str = r#"
set -u
T=$1 DEB=$2 CLI=$3
mount -t tmpfs tmpfs "$T/ovl"
for d in etc usr var; do
  mkdir -p "$T/ovl/$d.upper" "$T/ovl/$d.work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/ovl/$d.upper,workdir=$T/ovl/$d.work" "/$d" || exit 90
done
unset GSS_MECH_CONFIG NTLM_USER_FILE
echo "== dpkg -i"
dpkg -i "$DEB" 2>&1; echo "dpkg-i-status=$?"
echo "== check after install"
"$CLI" check 2>&1; echo "check-status=$?"
echo "== pkg-config and man"
echo "pc-plugin=$(pkg-config --variable=plugin gss-negotiate)"
printf '#include <gss_negotiate.h>\nint main(void) { return 0; }\n' > "$T/pc.c"
gcc $(pkg-config --cflags --libs gss-negotiate) -o "$T/pc" "$T/pc.c" && echo "pc-compile=ok"
echo "man1=$(man -w gss-negotiate)"; echo "man5=$(man -w 5 gss-negotiate)"
echo 'TESTDOM:testuser:Passw0rd!' > "$T/users"; chmod 600 "$T/users"
host=$(cat /proc/sys/kernel/hostname)
port=$4
GSS_NEGOTIATE_DEBUG="$T/server-debug.log" NTLM_USER_FILE="$T/users" timeout 20 gss-server -port "$port" -once host > "$T/server.log" 2>&1 &
for i in $(seq 50); do grep -q starting "$T/server.log" && break; sleep 0.1; done
echo "== gss-client"
timeout 20 gss-client -port "$port" -mech "{ 1 3 6 1 4 1 311 2 2 10 }" -user 'TESTDOM\testuser' -pass 'Passw0rd!' 127.0.0.1 "host@$host" hello 2>&1
echo "client-status=$?"
wait
echo "== server log"; cat "$T/server.log"
echo "== plugin debug log"; cat "$T/server-debug.log" 2>/dev/null
echo "== dpkg -r"
dpkg -r gss-negotiate 2>&1; echo "dpkg-r-status=$?"
echo "== check after remove"
"$CLI" check 2>&1; echo "check-status=$?"
ls /etc/gss/mech.d/
dpkg -s gss-negotiate 2>&1 | grep -i '^Status' || echo "status: not installed"
echo "== end"
"#;

#[test]
fn deb_installs_serves_mit_and_removes_cleanly() {
    if !is_root() {
        skip(
            TEST,
            "needs root (private mount namespace with overlays, dpkg -i / -r)",
        );
        return;
    }
    let Some(_samples) = samples(TEST) else {
        return;
    };
    if find_program("unshare").is_none()
        || !std::path::Path::new("/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so").exists()
    {
        skip(
            TEST,
            "unshare or gss-ntlmssp missing (scripts/install-deps.sh installs both)",
        );
        return;
    }
    let deb = build_deb();
    assert!(deb.is_file(), "no package at {}", deb.display());

    // lintian: no error or warning (the one override is explained in debian/lintian-overrides).
    if let Some(lintian) = find_program("lintian") {
        let out = Command::new(lintian).arg(&deb).output().expect("lintian");
        let text = String::from_utf8_lossy(&out.stdout);
        let bad: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
            .collect();
        assert!(bad.is_empty(), "lintian:\n{text}");
    } else {
        panic!("lintian is not installed (scripts/install-deps.sh installs it)");
    }

    let mech_d = || {
        let mut v: Vec<String> = std::fs::read_dir("/etc/gss/mech.d")
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let mech_d_before = mech_d();
    let tmp = TempDir::new("deb").unwrap();
    std::fs::create_dir(tmp.path().join("ovl")).unwrap();
    let script = tmp.path().join("in-namespace.sh");
    std::fs::write(&script, SCRIPT).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh"])
        .arg(&script)
        .arg(tmp.path())
        .arg(&deb)
        .arg(env!("CARGO_BIN_EXE_gss-negotiate"))
        .arg(free_port().unwrap().to_string());
    let out = run_bounded(
        cmd,
        &tmp.path().join("namespace.log"),
        Duration::from_secs(120),
    );
    let log = &out.output;
    let part = |from: &str, to: &str| -> String {
        let a = log
            .find(from)
            .unwrap_or_else(|| panic!("no {from:?} in:\n{log}"));
        let b = log[a..].find(to).map_or(log.len(), |b| a + b);
        log[a..b].to_string()
    };
    assert!(
        log.contains("== end"),
        "namespace script did not finish:\n{log}"
    );

    let install = part("== dpkg -i", "== check after install");
    assert!(install.contains("dpkg-i-status=0"), "{install}");
    assert!(
        install.contains("MIT's mechglue now uses")
            && install.contains("/usr/lib/x86_64-linux-gnu/gss-negotiate/libgss_negotiate.so"),
        "postinst did not say which library MIT loads:\n{install}"
    );
    let pc = part("== pkg-config and man", "== gss-client");
    assert!(
        pc.contains("pc-plugin=/usr/lib/x86_64-linux-gnu/gss-negotiate/libgss_negotiate.so"),
        "{pc}"
    );
    assert!(
        pc.contains("pc-compile=ok"),
        "a C program does not compile with pkg-config's flags:\n{pc}"
    );
    assert!(
        pc.contains("man1=/usr/share/man/man1/gss-negotiate.1.gz"),
        "{pc}"
    );
    assert!(
        pc.contains("man5=/usr/share/man/man5/gss-negotiate.5.gz"),
        "{pc}"
    );
    let check = part("== check after install", "== pkg-config and man");
    assert!(
        check.contains("NTLMSSP is served by gss-negotiate"),
        "{check}"
    );
    assert!(
        check.contains("/etc/gss/mech.d/zz-gss-negotiate.conf"),
        "{check}"
    );

    let client = part("== gss-client", "== server log");
    assert!(
        client.contains("client-status=0"),
        "gss-client through the installed plugin failed:\n{log}"
    );
    let debug = part("== plugin debug log", "== dpkg -r");
    assert!(
        debug.contains("testuser"),
        "the installed gss-negotiate did not serve the acceptor:\n{log}"
    );

    let remove = part("== dpkg -r", "== check after remove");
    assert!(remove.contains("dpkg-r-status=0"), "{remove}");
    assert!(
        remove.contains("gssntlmssp.so"),
        "prerm did not say MIT now loads gss-ntlmssp:\n{remove}"
    );
    let after = part("== check after remove", "== end");
    assert!(
        after.contains("MIT loads /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so"),
        "after dpkg -r MIT does not load gss-ntlmssp:\n{after}"
    );
    assert!(
        !after.contains("zz-gss-negotiate.conf"),
        "the mech.d line survived dpkg -r:\n{after}"
    );

    // Nothing leaked out of the namespace.
    assert_eq!(
        mech_d_before,
        mech_d(),
        "/etc/gss/mech.d changed on the host"
    );
    let host_status = Command::new("dpkg")
        .args(["-s", "gss-negotiate"])
        .output()
        .unwrap();
    assert!(
        !host_status.status.success()
            || String::from_utf8_lossy(&host_status.stdout).contains("not-installed"),
        "the package is installed on the host after the test"
    );
    assert!(
        !std::path::Path::new("/usr/lib/x86_64-linux-gnu/gss-negotiate").exists(),
        "files leaked to the host"
    );
}
