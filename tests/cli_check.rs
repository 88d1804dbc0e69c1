//! `gss-negotiate check` on temporary configurations (never /etc/gss): a good setup, a gss-negotiate mech.d
//! file shadowed by a later one, GSS_MECH_CONFIG, a world-writable user file with a bad line.
#![cfg(feature = "cli")]

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

fn our_plugin() -> std::path::PathBuf {
    match plugin() {
        Plugin::Found { path, .. } => path,
        other => panic!("no plugin: {other:?}"),
    }
}

/// Runs `check --gss-dir DIR` with a clean environment plus `env`; returns (exit code, stdout).
fn check(dir: &Path, env: &[(&str, &Path)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gss-negotiate"));
    cmd.arg("check").arg("--gss-dir").arg(dir);
    for k in [
        "GSS_MECH_CONFIG",
        "NTLM_USER_FILE",
        "GSS_NEGOTIATE_LOGIN_FILE",
        "XDG_RUNTIME_DIR",
        "LM_COMPAT_LEVEL",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A gss dir with gss-ntlmssp's Debian file and ours (named `ours`), and a stand-in gss-ntlmssp library.
fn setup(tag: &str, ours: &str) -> TempDir {
    let t = TempDir::new(tag).unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("mech.d")).unwrap();
    let other = d.join("gssntlmssp.so");
    std::fs::write(&other, b"\x7fELF not gss-negotiate").unwrap();
    std::fs::write(
        d.join("mech.d/mech.ntlmssp.conf"),
        format!(
            "# NTLMSSP mechanism plugin\ngssntlmssp_v1\t1.3.6.1.4.1.311.2.2.10\t{}\n",
            other.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("mech.d").join(ours),
        format!(
            "ntlmssp_gss_negotiate 1.3.6.1.4.1.311.2.2.10 {}\n",
            our_plugin().display()
        ),
    )
    .unwrap();
    t
}

fn user_file(dir: &Path, text: &str, mode: u32) -> std::path::PathBuf {
    let p = dir.join("users");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

#[test]
fn check_passes_on_a_good_setup_and_names_file_and_version() {
    let t = setup("check-good", "zz-gss-negotiate.conf");
    let users = user_file(t.path(), "TESTDOM:alice:secret\n", 0o600);
    let (code, out) = check(t.path(), &[("NTLM_USER_FILE", &users)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NTLMSSP is served by gss-negotiate"), "{out}");
    assert!(
        out.contains(&format!("MIT loads {}", our_plugin().display())),
        "{out}"
    );
    assert!(out.contains("zz-gss-negotiate.conf:1"), "{out}");
    assert!(
        out.contains("overrides") && out.contains("mech.ntlmssp.conf:2"),
        "{out}"
    );
    assert!(
        out.contains(&format!(": gss-negotiate {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains("1 usable entries"), "{out}");
    assert!(out.contains(&format!("HTTP/{}", hostname())), "{out}");
    assert!(out.contains("No problem found."), "{out}");
}

#[test]
fn check_fails_when_a_later_mech_d_file_shadows_gss_negotiate() {
    // "aa-" sorts before mech.ntlmssp.conf: gss-ntlmssp's line comes last and wins.
    let t = setup("check-shadow", "aa-gss-negotiate.conf");
    let (code, out) = check(t.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("MIT loads") && out.contains("gssntlmssp.so"),
        "{out}"
    );
    assert!(
        out.contains("aa-gss-negotiate.conf:1 is overridden by"),
        "{out}"
    );
    assert!(
        out.contains("fix: the last file in sorted order wins: rename"),
        "{out}"
    );
    // A file that does not end in .conf is ignored by MIT, and check says so.
    std::fs::rename(
        t.path().join("mech.d/aa-gss-negotiate.conf"),
        t.path().join("mech.d/zz-gss-negotiate"),
    )
    .unwrap();
    let (code, out) = check(t.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ignored (name does not end in .conf)"),
        "{out}"
    );
    assert!(out.contains("which is not gss-negotiate"), "{out}");
}

#[test]
fn check_reads_only_gss_mech_config_when_set() {
    let t = setup("check-env", "aa-gss-negotiate.conf");
    let (code, out) = check(
        t.path(),
        &[(
            "GSS_MECH_CONFIG",
            &t.path().join("mech.d/aa-gss-negotiate.conf"),
        )],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("GSS_MECH_CONFIG is set"), "{out}");
    assert!(!out.contains("mech.ntlmssp.conf"), "{out}");
}

#[test]
fn check_fails_on_a_world_writable_user_file_with_a_bad_line() {
    let t = setup("check-users", "zz-gss-negotiate.conf");
    let users = user_file(
        t.path(),
        "TESTDOM:alice:secret\nthis line is wrong\n",
        0o666,
    );
    let (code, out) = check(t.path(), &[("NTLM_USER_FILE", &users)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("writable by everyone") && out.contains("fix: chmod 600"),
        "{out}"
    );
    assert!(out.contains("users line 2:"), "{out}");
    assert!(!out.contains("secret"), "check printed a password: {out}");
}
